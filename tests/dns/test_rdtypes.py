"""One class per record type (issue 17 item 1): ``dns.rdtypes`` owns text <-> wire, the
names that may be compressed (RFC 3597 §4) and the DNSSEC canonical form (RFC 4034 §6.2).
How each type prints is checked against dig in tests/interop/test_dns_presentation_dig.py."""

from __future__ import annotations

import pathlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dns import rdtypes, records, wire
from dns.rdtypes import Token
from dns.zone import load_zone_file, parse_zone_text, tokenize

ZONES = pathlib.Path(__file__).parent / "zones"
GOOD = sorted(ZONES.glob("*.zone"))


def record_set(zone_rrsets: object) -> set[tuple[str, int, int, bytes]]:
    return {
        (wire.name_to_text(wire.name_lower(rs.name)), rs.rtype, rs.ttl, rd)
        for rs in zone_rrsets  # type: ignore[attr-defined]
        for rd in rs.rdatas
    }


@pytest.mark.parametrize("path", GOOD, ids=[p.name for p in GOOD])
def test_printed_records_load_back_to_the_same_bytes(path: pathlib.Path) -> None:
    """Every record of the corpus, printed by its class and read back by its class."""
    zone = load_zone_file(str(path))
    lines = [
        f"{wire.name_to_text(rs.name)} {rs.ttl} IN {wire.type_to_text(rs.rtype)} "
        f"{rdtypes.to_text(rs.rtype, rd)}"
        for rs in zone.rrsets()
        for rd in rs.rdatas
    ]
    again = parse_zone_text("\n".join(lines) + "\n", origin=zone.origin)
    assert record_set(again.rrsets()) == record_set(zone.rrsets())
    unknown = [line for line in lines if " \\# " in line and " TYPE" not in line]
    assert unknown == [line for line in lines if " NULL " in line]  # only NULL has no text


def test_the_rfc_1035_types_alone_are_compressible() -> None:
    compressible = {t for t, cls in rdtypes.TYPES.items() if cls.compressible}
    assert compressible == {
        wire.TYPE_NS,
        wire.TYPE_MD,
        wire.TYPE_MF,
        wire.TYPE_CNAME,
        wire.TYPE_SOA,
        wire.TYPE_MB,
        wire.TYPE_MG,
        wire.TYPE_MR,
        wire.TYPE_PTR,
        wire.TYPE_MINFO,
        wire.TYPE_MX,
    }


def rdata(rtype: int, text: str) -> bytes:
    """``text`` split into words as a master file is (quotes, escapes), then encoded."""
    (entry,) = tokenize(text + "\n")
    return rdtypes.from_text(rtype, entry.tokens, wire.ROOT)


def test_parts_split_out_the_names_of_compressible_types_only() -> None:
    soa = rdata(wire.TYPE_SOA, "ns.example. host.example. 1 2 3 4 5")
    mname, rname, rest = rdtypes.parts(wire.TYPE_SOA, soa)
    assert mname == (b"ns", b"example") and rname == (b"host", b"example")
    assert rest == bytes.fromhex("00000001 00000002 00000003 00000004 00000005")
    mx = rdata(wire.TYPE_MX, "10 Mail.Example.")
    assert rdtypes.parts(wire.TYPE_MX, mx) == (b"\x00\x0a", (b"Mail", b"Example"))
    srv = rdata(wire.TYPE_SRV, "0 5 5060 sip.example.")
    assert rdtypes.parts(wire.TYPE_SRV, srv) == (srv,)  # RFC 2782: never compressed
    dname = rdata(wire.TYPE_DNAME, "target.example.")
    assert rdtypes.parts(wire.TYPE_DNAME, dname) == (dname,)


@pytest.mark.parametrize(
    "rtype,text,canonical",
    [
        (wire.TYPE_MX, "10 Mail.EXAMPLE.", "10 mail.example."),
        (
            wire.TYPE_SOA,
            "NS.Example. Host.Example. 1 2 3 4 5",
            "ns.example. host.example. 1 2 3 4 5",
        ),
        (wire.TYPE_SRV, "0 5 5060 SIP.Example.", "0 5 5060 sip.example."),
        (wire.TYPE_NAPTR, '1 2 "S" "X" "" Repl.Example.', '1 2 "S" "X" "" repl.example.'),
        (
            wire.TYPE_RRSIG,
            "A 13 2 300 20300101000000 20240101000000 1 Signer.EXAMPLE. AAAA",
            "A 13 2 300 20300101000000 20240101000000 1 signer.example. AAAA",
        ),
        # RFC 6840 §5.1: NSEC's next name keeps its case; TXT is not a name at all.
        (wire.TYPE_NSEC, "Next.Example. A RRSIG", "Next.Example. A RRSIG"),
        (wire.TYPE_TXT, '"Mixed Case"', '"Mixed Case"'),
    ],
)
def test_canonical_form_lowercases_the_names_rfc_4034_lists(
    rtype: int, text: str, canonical: str
) -> None:
    assert rdtypes.to_text(rtype, rdtypes.canonical(rtype, rdata(rtype, text))) == canonical


def message_with(rdata_bytes: bytes, rtype: int) -> tuple[bytes, int, int]:
    """A message whose question name is ``example.`` and whose one answer has
    ``rdata_bytes`` (which may point at offset 12); return it, rdata offset, length."""
    question = wire.encode_name((b"example",)) + b"\x00\x01\x00\x01"
    header = bytes.fromhex("1234 8400 0001 0001 0000 0000")
    rr = b"\xc0\x0c" + rtype.to_bytes(2, "big") + b"\x00\x01\x00\x00\x00\x3c"
    rr += len(rdata_bytes).to_bytes(2, "big")
    message = header + question + rr + rdata_bytes
    return message, len(message) - len(rdata_bytes), len(rdata_bytes)


def test_names_compressed_by_a_sender_are_expanded() -> None:
    """RFC 3597 §4: a receiver decompresses the names of the types it knows, also where
    the sender should not have compressed (NAPTR)."""
    naptr = b"\x00\x01\x00\x02\x01S\x01X\x00" + b"\x04repl\xc0\x0c"
    message, offset, length = message_with(naptr, wire.TYPE_NAPTR)
    parsed = records.parse_rdata(wire.TYPE_NAPTR, message, offset, length)
    assert parsed.to_text() == '1 2 "S" "X" "" repl.example.'
    assert parsed.to_wire() == b"\x00\x01\x00\x02\x01S\x01X\x00" + b"\x04repl\x07example\x00"


@pytest.mark.parametrize(
    "rtype,data",
    [
        (wire.TYPE_NSEC3, bytes.fromhex("01 00 0000 05 aabb")),  # salt runs past the end
        (wire.TYPE_DS, bytes.fromhex("0001 08")),  # no digest type
        (wire.TYPE_NSEC, b"\x00" + bytes.fromhex("00 21") + b"\x00" * 33),  # window of 33
        (wire.TYPE_RRSIG, b"\x00\x01" + b"\x00" * 5),  # stops in the original TTL
    ],
)
def test_rdata_that_does_not_fit_its_type_is_refused(rtype: int, data: bytes) -> None:
    message, offset, length = message_with(data, rtype)
    with pytest.raises(records.RdataError, match=wire.type_to_text(rtype)):
        records.parse_rdata(rtype, message, offset, length)
    # Printed, it falls back to the RFC 3597 form rather than guessing.
    assert rdtypes.to_text(rtype, data).startswith("\\# ")


@pytest.mark.parametrize(
    "text,hexdata",
    [
        # RFC 1876 §3 arithmetic: 2^31 +- thousandths of a second of arc; altitude from
        # 100 km below the WGS 84 spheroid, in cm; sizes as digit and power of ten.
        (
            "52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000m 10m",
            "000016138b3cf018810cbce0009895b8",
        ),
        ("42 21 54.000 N 71 6 18.000 W -24.00m 30m 10000m 10m", "0033161389172dd070be15f000988d20"),
    ],
)
def test_loc_both_ways(text: str, hexdata: str) -> None:
    assert rdata(wire.TYPE_LOC, text).hex() == hexdata
    assert rdtypes.to_text(wire.TYPE_LOC, bytes.fromhex(hexdata)) == text


@pytest.mark.parametrize(
    "rtype,text,problem",
    [
        (wire.TYPE_LOC, "91 0 0 N 0 0 0 E 0m", "LOC degrees"),
        (wire.TYPE_LOC, "1 2 3 N 4 5 6 E 0m 15m", "power of ten"),
        (wire.TYPE_CAA, "0 is-sue x", "CAA tag"),
        (wire.TYPE_NSEC3PARAM, "1 0 ² -", "NSEC3PARAM iterations"),
        (65280, "abc", "\\#"),  # an unknown type has only the RFC 3597 form
    ],
)
def test_bad_text_names_the_field(rtype: int, text: str, problem: str) -> None:
    with pytest.raises(ValueError) as caught:
        rdata(rtype, text)
    assert problem in str(caught.value)


WORDS = st.sampled_from(
    [
        "0",
        "1",
        "65535",
        "65536",
        "-",
        "N",
        "S",
        "E",
        "W",
        "1m",
        "10.5",
        "a",
        "a.b.",
        ".",
        "@",
        "\\#",
        "AAAA",
        "A",
        "RRSIG",
        "TYPE65534",
        "20300101000000",
        "AwEAAQ==",
        "ab",
        "zz",
        "h2",
        "alpn=h2",
        "port=1",
        "key7=x",
        "²",
        "",
        "1.2.3.4",
        "::1",
        "\\046",
        '"q"',
    ]
)


@settings(max_examples=300, deadline=None)
@given(rtype=st.sampled_from(sorted(rdtypes.TYPES)), words=st.lists(WORDS, max_size=10))
def test_any_words_give_rdata_or_a_value_error(rtype: int, words: list[str]) -> None:
    """Whatever the words, a type's class gives bytes or a ValueError naming the problem;
    bytes it gives print as text that reads back to the same bytes."""
    tokens = [Token(w) for w in words]
    try:
        data = rdtypes.from_text(rtype, tokens, wire.ROOT)
    except ValueError as exc:
        assert str(exc)
        return
    text = rdtypes.to_text(rtype, data)
    (entry,) = tokenize(f"x {text}\n")
    assert rdtypes.from_text(rtype, entry.tokens[1:], wire.ROOT) == data
