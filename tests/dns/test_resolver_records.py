"""Typed RDATA (dns.records): parsing from messages, presentation text, encoding, errors."""

from __future__ import annotations

import struct

import dnslib
import pytest

from dns import records as rd
from dns import wire


def in_message(rtype: int, rdata_parts: list[bytes | tuple[bytes, ...]]) -> wire.RR:
    """A response carrying one record whose RDATA names may be compressed."""
    b = wire.MessageBuilder(1, wire.QR)
    owner = wire.name_from_text("host.example.test.")
    b.add_question(owner, rtype)
    b.add_rr(wire.SECTION_ANSWER, owner, rtype, wire.CLASS_IN, 60, rdata_parts)
    msg = wire.Message.parse(b.finish())
    return msg.answer[0]


def parse(rr: wire.RR) -> rd.Rdata:
    return rd.parse_rdata(rr.rtype, rr.message, rr.rdata_offset, rr.rdata_length)


def n(text: str) -> tuple[bytes, ...]:
    return wire.name_from_text(text)


def test_compressed_names_in_rdata() -> None:
    rr = in_message(wire.TYPE_MX, [b"\x00\x0a", n("mail.example.test.")])
    assert rr.rdata_length < 2 + len(wire.encode_name(n("mail.example.test.")))  # compressed
    mx = parse(rr)
    assert mx == rd.MXRecord(10, "mail.example.test.")
    assert mx.to_text() == "10 mail.example.test."
    soa = parse(
        in_message(
            wire.TYPE_SOA,
            [
                n("ns1.example.test."),
                n("hostmaster.example.test."),
                struct.pack("!IIIII", 7, 3600, 900, 604800, 60),
            ],
        )
    )
    assert soa.to_text() == "ns1.example.test. hostmaster.example.test. 7 3600 900 604800 60"
    cname = parse(in_message(wire.TYPE_CNAME, [n("www.example.test.")]))
    assert cname == rd.CNAMERecord("www.example.test.")


@pytest.mark.parametrize(
    ("record", "text"),
    [
        (rd.ARecord("192.0.2.1"), "192.0.2.1"),
        (rd.AAAARecord("2001:db8::1"), "2001:db8::1"),
        (rd.NSRecord("ns1.example."), "ns1.example."),
        (rd.PTRRecord("host.example."), "host.example."),
        (rd.DNAMERecord("new.example."), "new.example."),
        (rd.MXRecord(5, "."), "5 ."),
        (
            rd.TXTRecord((b'say "hi"', b"back\\slash", b"\x00\xff", b"")),
            '"say \\"hi\\"" "back\\\\slash" "\\000\\255" ""',
        ),
        (rd.SOARecord("a.", "b.c.", 1, 2, 3, 4, 5), "a. b.c. 1 2 3 4 5"),
        (rd.SRVRecord(0, 100, 443, "srv.example."), "0 100 443 srv.example."),
        (rd.CAARecord(128, "issuewild", b";"), '128 issuewild ";"'),
        (rd.SVCBRecord(0, "alias.example.", ()), "0 alias.example."),
        (
            rd.HTTPSRecord(
                1,
                ".",
                ((1, b"\x02h2\x02h3"), (3, b"\x01\xbb"), (4, bytes([192, 0, 2, 1, 192, 0, 2, 2]))),
            ),
            '1 . alpn="h2,h3" port=443 ipv4hint=192.0.2.1,192.0.2.2',
        ),
        (
            rd.HTTPSRecord(
                2,
                "svc.example.",
                (
                    (0, b"\x00\x01"),
                    (1, b"\x02h2"),
                    (2, b""),
                    (6, bytes(15) + b"\x01"),
                    (5, b"\x01\x02"),
                ),
            ),
            None,
        ),
        (rd.Generic(65280, b"\x01\x02"), "\\# 2 0102"),
    ],
)
def test_text_and_wire_round_trip(record: rd.Rdata, text: str | None) -> None:
    if text is not None:
        assert record.to_text() == text
    data = record.to_wire()
    rtype = record.type_code if isinstance(record, rd.Generic) else record.rtype
    if isinstance(record, rd.HTTPSRecord) and record.priority == 2:
        # Keys out of order (6 before 5) must be rejected when parsed.
        with pytest.raises(rd.RdataError, match="increasing"):
            rd.parse_rdata(rtype, data, 0, len(data))
        return
    assert rd.parse_rdata(rtype, data, 0, len(data)) == record


def test_agrees_with_dnslib_packing() -> None:
    """dnslib (a runtime dependency) packs a response; we parse every record of it."""
    reply = dnslib.DNSRecord(
        dnslib.DNSHeader(id=9, qr=1, aa=1), q=dnslib.DNSQuestion("example.test", dnslib.QTYPE.ANY)
    )
    reply.add_answer(
        *dnslib.RR.fromZone(
            "example.test. 60 IN A 192.0.2.7\n"
            "example.test. 60 IN AAAA 2001:db8::7\n"
            "example.test. 60 IN MX 10 mx.example.test.\n"
            'example.test. 60 IN TXT "v=spf1 -all"\n'
            "example.test. 60 IN SOA ns.example.test. root.example.test. 9 1 2 3 4\n"
            "_x._tcp.example.test. 60 IN SRV 1 2 3 t.example.test.\n"
            "example.test. 60 IN NS ns.example.test.\n"
            '_c.example.test. 60 IN CAA 0 issue "ca.example"\n'
        )
    )
    msg = wire.Message.parse(reply.pack())
    texts = [parse(rr).to_text() for rr in msg.answer]
    assert texts == [
        "192.0.2.7",
        "2001:db8::7",
        "10 mx.example.test.",
        '"v=spf1 -all"',
        "ns.example.test. root.example.test. 9 1 2 3 4",
        "1 2 3 t.example.test.",
        "ns.example.test.",
        '0 issue "ca.example"',
    ]


@pytest.mark.parametrize(
    ("rtype", "data", "problem"),
    [
        (wire.TYPE_A, b"\x01\x02\x03", "expected 4"),
        (wire.TYPE_AAAA, b"\x00" * 15, "expected 16"),
        (wire.TYPE_MX, b"\x00", "too short"),
        (wire.TYPE_MX, b"\x00\x01\x00\x00", "after the exchange"),
        (wire.TYPE_TXT, b"", "empty"),
        (wire.TYPE_TXT, b"\x05abc", "runs past"),
        (wire.TYPE_SOA, b"\x00\x00" + b"\x00" * 19, "expected 20"),
        (wire.TYPE_SRV, b"\x00" * 6, "too short"),
        (wire.TYPE_CAA, b"\x00\x00", "tag length"),
        (wire.TYPE_CAA, b"\x00\x02i-x", "alphanumeric"),
        (wire.TYPE_CNAME, b"\x03www", "bad name"),
        (wire.TYPE_CNAME, b"\x00\x00", "after the name"),
        (wire.TYPE_HTTPS, b"\x00\x01\x00\x00\x03\x00\x01", "runs past"),
        (wire.TYPE_HTTPS, b"\x00\x01\x00\x00\x04\x00\x03\x01\x02\x03", "multiple of 4"),
        (wire.TYPE_HTTPS, b"\x00\x01\x00\x00\x02\x00\x01\x00", "no-default-alpn"),
    ],
)
def test_malformed_rdata_is_rejected(rtype: int, data: bytes, problem: str) -> None:
    with pytest.raises(rd.RdataError, match=problem):
        rd.parse_rdata(rtype, data, 0, len(data))


def test_rdata_past_the_message_is_rejected() -> None:
    with pytest.raises(rd.RdataError, match="past the end"):
        rd.parse_rdata(wire.TYPE_A, b"\x01\x02", 0, 4)


def test_type_names() -> None:
    assert rd.type_from_text("https") == 65
    assert rd.type_to_text(65280) == "TYPE65280"
    assert rd.type_from_text("TYPE65280") == 65280
    with pytest.raises(ValueError, match="unknown record type"):
        rd.type_from_text("BOGUS")


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=300, deadline=None)
@given(rtype=st.sampled_from(sorted(rd.RDATA_CLASSES)), data=st.binary(max_size=80))
def test_random_rdata_parses_or_raises_rdata_error(rtype: int, data: bytes) -> None:
    """Whatever the bytes, parsing gives a record or RdataError, and a parsed record
    re-encodes to RDATA that parses back to the same record."""
    message = b"\x00" * 12 + data
    try:
        record = rd.parse_rdata(rtype, message, 12, len(data))
    except rd.RdataError:
        return
    record.to_text()
    again = record.to_wire()
    assert rd.parse_rdata(rtype, b"\x00" * 12 + again, 12, len(again)) == record
