"""dns.wire: names, limits, headers, whole messages and the builder (no IO)."""

from __future__ import annotations

import dnslib
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dns import wire

LABEL = st.text("abcXYZ09-_", min_size=1, max_size=20).map(str.encode)
NAMES = st.lists(LABEL, min_size=0, max_size=6).map(tuple)


def test_name_text_round_trip_with_escapes() -> None:
    name = wire.name_from_text(r"a\.b.C\032d.\255x.example.")
    assert name == (b"a.b", b"C d", b"\xffx", b"example")
    assert wire.name_to_text(name) == r"a\.b.C\ d.\255x.example."
    assert wire.name_from_text(wire.name_to_text(name)) == name
    assert wire.name_from_text("@", (b"o",)) == (b"o",)
    assert wire.name_from_text("www", (b"Example", b"com")) == (b"www", b"Example", b"com")
    assert wire.name_from_text(".") == ()


@pytest.mark.parametrize("text", ["a..b.", "x", "\\", "a\\99", "a\\300."])
def test_bad_text_names(text: str) -> None:
    with pytest.raises(wire.BadName):
        wire.name_from_text(text)


def test_text_limits() -> None:
    with pytest.raises(wire.LabelTooLong):
        wire.name_from_text("a" * 64 + ".")
    wire.name_from_text("a" * 63 + ".")
    long_ok = ".".join(["a" * 63] * 3 + ["a" * 61]) + "."
    assert len(wire.encode_name(wire.name_from_text(long_ok))) == 255
    with pytest.raises(wire.NameTooLong):
        wire.name_from_text(".".join(["a" * 63] * 3 + ["a" * 62]) + ".")


def test_name_key_is_case_insensitive_and_keeps_original() -> None:
    a = wire.name_from_text("WwW.ExAmple.COM.")
    assert wire.name_key(a) == wire.name_key(wire.name_from_text("www.example.com."))
    assert wire.name_key(a) == b"\x03www\x07example\x03com\x00"
    assert a[0] == b"WwW"
    assert wire.is_subdomain(a, (b"com",)) and not wire.is_subdomain((b"com",), a)


def _msg(body: bytes) -> bytes:
    return wire.pack_header(1, 0, 1) + body


def test_decode_name_compression_and_limits() -> None:
    body = b"\x03foo\x00" + b"\x03bar\xc0\x0c"
    msg = _msg(body)
    assert wire.decode_name(msg, 12) == ((b"foo",), 17)
    assert wire.decode_name(msg, 17) == ((b"bar", b"foo"), 23)
    # Forward pointer, self pointer, pointer loop, pointer into the header.
    with pytest.raises(wire.BadPointer):
        wire.decode_name(_msg(b"\xc0\x0e\x00"), 12)
    with pytest.raises(wire.BadPointer):
        wire.decode_name(_msg(b"\xc0\x0c"), 12)
    with pytest.raises(wire.BadPointer):
        wire.decode_name(_msg(b"\x01a\xc0\x0c"), 12)
    with pytest.raises(wire.BadPointer):
        wire.decode_name(_msg(b"\xc0\x02"), 12)
    with pytest.raises(wire.BadLabelType):
        wire.decode_name(_msg(b"\x41abc\x00"), 12)
    with pytest.raises(wire.BadLabelType):
        wire.decode_name(_msg(b"\x81abc\x00"), 12)
    with pytest.raises(wire.TruncatedMessage):
        wire.decode_name(_msg(b"\x05ab"), 12)
    with pytest.raises(wire.TruncatedMessage):
        wire.decode_name(_msg(b"\x01a"), 12)
    with pytest.raises(wire.TruncatedMessage):
        wire.decode_name(_msg(b"\xc0"), 12)
    # Over 255 octets through compression: each name adds 64 octets to the one before.
    body = b"\x3f" + b"a" * 63 + b"\x00"
    offsets = [12]
    for _ in range(4):
        prev = offsets[-1]
        offsets.append(12 + len(body))
        body += b"\x3f" + b"a" * 63 + bytes((0xC0 | prev >> 8, prev & 0xFF))
    msg = _msg(body)
    assert len(wire.decode_name(msg, offsets[2])[0]) == 3
    with pytest.raises(wire.NameTooLong):
        wire.decode_name(msg, offsets[4])


def test_jump_cap() -> None:
    # A chain of 70 pointers, each to the one before, ending at a root name.
    body = b"\x00"
    offsets = [12]
    for _ in range(70):
        prev = offsets[-1]
        offsets.append(12 + len(body))
        body += bytes((0xC0 | prev >> 8, prev & 0xFF))
    msg = _msg(body)
    assert wire.decode_name(msg, offsets[wire.MAX_POINTERS])[0] == ()
    with pytest.raises(wire.TooManyPointers):
        wire.decode_name(msg, offsets[70])


@settings(max_examples=200, deadline=None)
@given(names=st.lists(NAMES, min_size=1, max_size=8), qid=st.integers(0, 0xFFFF))
def test_builder_round_trip_against_dnslib(names: list[wire.Name], qid: int) -> None:
    b = wire.MessageBuilder(qid, wire.QR | wire.AA)
    b.add_question(names[0], wire.TYPE_MX)
    for n in names[1:]:
        b.add_rr(wire.SECTION_ANSWER, names[0], wire.TYPE_MX, wire.CLASS_IN, 60, [b"\x00\x05", n])
    for n in names[1:]:
        b.add_rr(wire.SECTION_AUTHORITY, n, wire.TYPE_NS, wire.CLASS_IN, 60, [names[0]])
    data = b.finish()
    msg = wire.Message.parse(data, strict=True)
    assert msg.id == qid and msg.aa and msg.qr
    assert msg.question == [wire.Question(names[0], wire.TYPE_MX, wire.CLASS_IN)]
    for rr, n in zip(msg.answer, names[1:], strict=True):
        assert rr.name == names[0]
        assert wire.decode_name(data, rr.rdata_offset + 2)[0] == n
    for rr, n in zip(msg.authority, names[1:], strict=True):
        assert rr.name == n and wire.decode_name(data, rr.rdata_offset)[0] == names[0]
    # dnslib reads what we wrote the same way.
    theirs = dnslib.DNSRecord.parse(data)
    assert str(theirs.q.qname) == wire.name_to_text(names[0])
    for rr, n in zip(theirs.rr, names[1:], strict=True):
        assert str(rr.rdata.label) == wire.name_to_text(n)


@settings(max_examples=200, deadline=None)
@given(
    names=st.lists(
        st.lists(st.binary(min_size=1, max_size=63), max_size=3).map(tuple), min_size=1, max_size=6
    )
)
def test_binary_labels_round_trip(names: list[wire.Name]) -> None:
    b = wire.MessageBuilder(1, 0)
    for n in names:
        b.add_question(n, wire.TYPE_A)
    msg = wire.Message.parse(b.finish(), strict=True)
    # Compression points a name at an earlier one equal to it up to ASCII case (DNS names
    # compare so, RFC 4343), so a later name may come back in the earlier one's case.
    assert msg.question[0].name == names[0]
    assert [_folded(q.name) for q in msg.question] == [_folded(n) for n in names]
    for n in names:
        assert wire.name_from_text(wire.name_to_text(n)) == n


def _folded(name: wire.Name) -> tuple[bytes, ...]:
    return tuple(label.lower() for label in name)


def test_builder_overflow_and_rollback() -> None:
    n = wire.name_from_text("x.example.")
    b = wire.MessageBuilder(1, wire.QR, max_size=60)
    b.add_question(n, wire.TYPE_A)
    b.add_rr(wire.SECTION_ANSWER, n, wire.TYPE_A, 1, 1, b"\x01\x02\x03\x04")
    before = len(b)
    mark = b.mark()
    with pytest.raises(wire.Overflow):
        for _ in range(10):
            b.add_rr(wire.SECTION_ANSWER, n, wire.TYPE_A, 1, 1, b"\x01\x02\x03\x04")
    b.rollback(mark)
    assert len(b) == before and b.counts == (1, 1, 0, 0)
    msg = wire.Message.parse(b.finish(), strict=True)
    assert len(msg.answer) == 1


def test_edns_parse_and_errors() -> None:
    q = wire.build_query(
        (b"a",),
        wire.TYPE_A,
        msg_id=9,
        edns_payload=4096,
        do=True,
        options=[(10, b"12345678"), (65001, b"")],
    )
    msg = wire.Message.parse(q)
    assert msg.edns == wire.Edns(4096, 0, 0, True, 0x8000, ((10, b"12345678"), (65001, b"")))
    assert msg.additional == [] and msg.opt_offset > 12
    opt = q[msg.opt_offset :]
    hdr = bytearray(q[:12])
    hdr[11] = 2
    with pytest.raises(wire.DuplicateOpt):
        wire.Message.parse(bytes(hdr) + q[12:] + opt)
    bad_owner = b"\x01a\x00" + opt[1:]
    with pytest.raises(wire.BadOpt):
        wire.Message.parse(q[: msg.opt_offset] + bad_owner)
    truncated_opt = bytearray(opt)
    truncated_opt[10] = 20  # rdlength 20 with 12 bytes of options: overruns the message
    with pytest.raises(wire.TruncatedMessage):
        wire.Message.parse(q[: msg.opt_offset] + bytes(truncated_opt))
    b = wire.MessageBuilder(1, wire.QR)
    b.set_edns(1232)
    b.rcode = wire.RCODE_BADVERS
    r = wire.Message.parse(b.finish())
    assert r.rcode == wire.RCODE_BADVERS and r.flags & 0xF == 0


def test_header_and_counts() -> None:
    with pytest.raises(wire.TruncatedMessage):
        wire.parse_header(b"\x00" * 11)
    h = wire.parse_header(wire.pack_header(5, wire.make_flags(qr=True, opcode=4, rcode=3), 1))
    assert (h.id, h.qr, h.opcode, h.rcode, h.qdcount) == (5, True, 4, 3, 1)
    # Counts claiming more than there is.
    with pytest.raises(wire.TruncatedMessage):
        wire.Message.parse(wire.pack_header(1, 0, 2) + b"\x00\x00\x01\x00\x01")
    with pytest.raises(wire.TrailingData):
        wire.Message.parse(wire.pack_header(1, 0, 0) + b"x", strict=True)


def test_types_and_classes() -> None:
    assert wire.type_from_text("aaaa") == 28 and wire.type_to_text(28) == "AAAA"
    assert wire.type_from_text("TYPE65280") == 65280 and wire.type_to_text(65280) == "TYPE65280"
    assert wire.class_from_text("in") == 1 and wire.class_to_text(3) == "CH"
    with pytest.raises(ValueError):
        wire.type_from_text("BOGUS")


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=300))
def test_parse_random_bytes_only_raises_wire_errors(data: bytes) -> None:
    try:
        wire.Message.parse(data)
    except wire.WireError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=40), st.integers(0, 40))
def test_mutated_query_only_raises_wire_errors(noise: bytes, at: int) -> None:
    q = bytearray(
        wire.build_query(wire.name_from_text("www.example.com."), wire.TYPE_A, edns_payload=1232)
    )
    q[at % len(q) : at % len(q) + len(noise)] = noise
    try:
        msg = wire.Message.parse(bytes(q))
    except wire.WireError:
        return
    for rr in msg.answer + msg.authority + msg.additional:
        assert rr.end <= len(q)
