"""The loader's short ways for big zones (issue 17 item 2) give what the general way gives.

A line of plain words is read from its words (``rdtypes.from_words``, one reader per type),
its owner's key made by the parser; any other line goes through the lexer and
``rdtypes.from_text``. The same file read both ways must make the same zone, and a bad line
the same error. A node keeps its RRsets in a tuple (``Node.get``, ``Node.sig``); big RRsets
are deduplicated through a set. How fast and how small: bench/dns_zone.py, against NSD."""

from __future__ import annotations

import ipaddress
import logging
import pathlib
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dns import rdtypes, wire
from dns.rdtypes import Token
from dns.zone import Zone, ZoneError, load_zone_file, parse_zone_text

ZONES = pathlib.Path(__file__).parent / "zones"
GOOD = sorted(ZONES.glob("*.zone"))


def records(zone: Zone) -> list[tuple[tuple[bytes, ...], int, int, list[bytes]]]:
    """Every RRset of ``zone`` as AXFR would send it, names as written."""
    return [(rs.name, rs.rtype, rs.ttl, list(rs.rdatas)) for rs in zone.rrsets()]


def through_the_lexer(text: str) -> str:
    """``text`` with a comment after each line: no line is plain words any more, so each
    goes the general way (lexer, tokens, from_text), with the same meaning."""
    return "".join(
        line + (" ;\n" if not line.endswith("\\") else "\n") for line in text.split("\n")
    )


@pytest.mark.parametrize("path", GOOD, ids=[p.name for p in GOOD])
def test_plain_lines_load_as_the_general_way_loads_them(
    path: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    fast = load_zone_file(str(path))
    general = tmp_path / path.name
    general.write_text(through_the_lexer(path.read_text()))
    for sub in (ZONES / "include").glob("*"):  # $INCLUDEs are relative to the file
        (tmp_path / "include").mkdir(exist_ok=True)
        (tmp_path / "include" / sub.name).write_text(through_the_lexer(sub.read_text()))
    slow = load_zone_file(str(general))
    assert records(fast) == records(slow)
    assert fast.nodes.keys() == slow.nodes.keys()
    assert fast.cuts == slow.cuts
    counted = sum(len(rs.rdatas) for node in fast.nodes.values() for rs in node.sets)
    assert fast.record_count() == slow.record_count() == counted


BAD_LINES = [
    ("host A 192.0.2.01", "Leading zeros"),
    ("host A 192.0.2.1 192.0.2.2", "A takes 1 field"),
    ("host 300 300 A 192.0.2.1", "unknown record type '300'"),
    ("host IN IN A 192.0.2.1", "unknown record type 'IN'"),
    ("host CH A 192.0.2.1", "class CH: only IN is served"),
    ("host AXFR x", "AXFR is not a type a zone can hold"),
    ("host 300 IN", "record without a type"),
    ("host MX 10", "MX takes 2 fields"),
    ("host MX x mail", "MX preference 'x' is not a decimal number"),
    ("host AAAA 2001:db8::g", "AAAA"),
    (f"{'a' * 64} A 192.0.2.1", "label of 64 octets"),
    (f"{'a' * 63}.{'b' * 63}.{'c' * 63}.{'d' * 50} A 192.0.2.1", "is over 255 octets"),
    ("host CNAME a..b", "empty label"),
    ("host TXT", "at least one is needed"),
    ("host FOO 1", "unknown record type 'FOO'"),
]


@pytest.mark.parametrize(("line", "problem"), BAD_LINES)
def test_a_bad_plain_line_gets_the_general_ways_error(line: str, problem: str) -> None:
    head = "$ORIGIN example.test.\n$TTL 300\n@ SOA ns h 1 2 3 4 5\n@ NS ns\n"
    errors = []
    for text in (f"{head}{line}\n", through_the_lexer(f"{head}{line}")):
        with pytest.raises(ZoneError) as info:
            parse_zone_text(text)
        errors.append(str(info.value))
    assert errors[0] == errors[1]
    assert problem in errors[0] and errors[0].startswith("<zone>:5: ")


def test_the_longest_single_label_owners_are_the_limits() -> None:
    origin = ".".join(["o" * 63] * 3) + "."  # 193 octets on the wire
    head = f"$ORIGIN {origin}\n$TTL 300\n@ SOA ns h 1 2 3 4 5\n@ NS ns\n"
    zone = parse_zone_text(f"{head}{'a' * 61} A 192.0.2.1\n")  # 255 octets
    assert max(len(wire.encode_name(node.name)) for node in zone.nodes.values()) == 255
    with pytest.raises(ZoneError, match="is over 255 octets"):
        parse_zone_text(f"{head}{'a' * 62} A 192.0.2.1\n")
    with pytest.raises(ZoneError, match="label of 64 octets"):
        parse_zone_text(f"$ORIGIN t.\n$TTL 1\n@ SOA ns h 1 2 3 4 5\n{'a' * 64} A 192.0.2.1\n")


def test_an_owner_in_capitals_keeps_its_case_and_shares_the_key() -> None:
    zone = parse_zone_text(
        "$ORIGIN Example.TEST.\n$TTL 300\n@ SOA ns h 1 2 3 4 5\n@ NS ns\n"
        "WWW A 192.0.2.1\nwww AAAA 2001:db8::1\n\\087ww TXT x\n"
    )
    node = zone.nodes[(b"www", b"example", b"test")]
    assert node.name == (b"WWW", b"Example", b"TEST")
    assert [rs.rtype for rs in node.sets] == [wire.TYPE_A, wire.TYPE_AAAA, wire.TYPE_TXT]


SIGNED = """\
$ORIGIN s.test.
$TTL 300
@ SOA ns h 1 2 3 4 5
@ NS ns
ns A 192.0.2.1
ns 60 RRSIG A 13 3 60 20300101000000 20200101000000 1 s.test. AAAA
ns 90 RRSIG NSEC 13 3 90 20300101000000 20200101000000 1 s.test. AAAA
ns 90 NSEC s.test. A RRSIG NSEC
ns 60 RRSIG A 13 3 60 20300101000000 20200101000000 2 s.test. BBBB
"""


def test_a_node_gives_its_rrsets_and_signatures_by_type() -> None:
    zone = parse_zone_text(SIGNED)
    node = zone.nodes[(b"ns", b"s", b"test")]
    a = node.get(wire.TYPE_A)
    assert a is not None and a.rdatas == [bytes([192, 0, 2, 1])]
    assert node.get(wire.TYPE_AAAA) is None
    assert [rs.rtype for rs in node.sets] == [wire.TYPE_A, wire.TYPE_RRSIG, wire.TYPE_NSEC]
    assert node.rrsets == {rs.rtype: rs for rs in node.sets}
    sig_a, sig_nsec = node.sig(wire.TYPE_A), node.sig(wire.TYPE_NSEC)
    assert sig_a is not None and sig_nsec is not None
    assert (sig_a.ttl, len(sig_a.rdatas)) == (60, 2)  # RFC 4034 §3: the covered set's TTL
    assert (sig_nsec.ttl, len(sig_nsec.rdatas)) == (90, 1)
    assert node.sig(wire.TYPE_AAAA) is None
    assert node.sigs == {wire.TYPE_A: sig_a, wire.TYPE_NSEC: sig_nsec}
    rrsig = node.get(wire.TYPE_RRSIG)
    assert rrsig is not None and len(rrsig.rdatas) == 3  # every signature at the name
    assert zone.nodes[(b"s", b"test")].sigs is None


def test_a_big_rrset_loses_its_duplicates_in_file_order(caplog: pytest.LogCaptureFixture) -> None:
    addresses = [f"10.0.{i >> 8}.{i & 255}" for i in range(3000)]
    lines = [f"big A {a}" for a in addresses] + [f"big A {a}" for a in addresses[::7]]
    text = "$ORIGIN b.test.\n$TTL 300\n@ SOA ns h 1 2 3 4 5\n@ NS ns\n" + "\n".join(lines)
    with caplog.at_level(logging.WARNING, logger="dns.zone"):
        zone = parse_zone_text(text + "\n")
    rrset = zone.nodes[(b"big", b"b", b"test")].get(wire.TYPE_A)
    assert rrset is not None
    assert rrset.rdatas == [bytes(map(int, a.split("."))) for a in addresses]
    assert zone.record_count() == 3000 + 1 + 1


def test_a_file_not_in_utf8_is_named_when_read_as_it_is_parsed(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "latin1.zone"
    head = "$ORIGIN l.test.\n$TTL 300\n@ SOA ns h 1 2 3 4 5\n@ NS ns\n"
    path.write_bytes(head.encode() + b"".join(b"h%d A 10.0.0.1\n" % i for i in range(20000)))
    path.write_bytes(path.read_bytes() + b'x TXT "caf\xe9"\n')
    with pytest.raises(ZoneError, match=r"latin1\.zone: not UTF-8 \(invalid"):
        load_zone_file(str(path))


PLAIN_WORDS = st.sampled_from(
    [
        "0",
        "1",
        "10",
        "65535",
        "65536",
        "4294967296",
        "-1",
        "x",
        "mail",
        "mail.example.",
        "@",
        "a..b",
        "A",
        "NS",
        "RRSIG",
        "TYPE65534",
        "8",
        "13",
        "SHA-256",
        "RSASHA256",
        "20300101000000",
        "20301301000000",
        "AwEAAQ==",
        "AwEAAQ=",
        "ab",
        "abcd",
        "zz",
        "-",
        "h2",
        "alpn=h2",
        "port=1",
        "1.2.3.4",
        "1.2.3.04",
        "::1",
        "fe80::1%eth0",
        "2001:db8::1:2:3:4:5:6",
        "1h",
        "²",
        "N",
        "E",
        "52",
        "22.3",
        "1m",
    ]
)


@settings(max_examples=600, deadline=None)
@given(rtype=st.sampled_from(sorted(rdtypes.TYPES)), words=st.lists(PLAIN_WORDS, max_size=9))
def test_words_read_as_tokens_are_read(rtype: int, words: list[str]) -> None:
    """A type's reader of plain words gives the bytes, or the error, of its from_text."""
    origin = wire.name_from_text("o.test.")

    def outcome(read: Callable[[list[str], wire.Name], bytes]) -> bytes | str:
        try:
            return read(words, origin)
        except ValueError as exc:
            return f"{type(exc).__name__}: {exc}"

    expected = outcome(lambda w, o: rdtypes.from_text(rtype, [Token(x) for x in w], o))
    assert outcome(rdtypes.for_type(rtype).word_reader()) == expected
    assert outcome(lambda w, o: rdtypes.from_words(rtype, w, o)) == expected


ADDRESSES = [
    "::",
    "::1",
    "1::",
    "2001:db8::1",
    "2001:DB8:0:0:0:0:0:1",
    "1:2:3:4:5:6:7::",
    "::2:3:4:5:6:7:8",
    "1:2:3:4:5:6:7:8",
    "1::2:3:4:5:6:7:8",
    "1:2:3:4:5:6:7:8:9",
    "1:2:3:4:5:6:7",
    ":::",
    ":1::",
    "1::2::3",
    "12345::",
    "0000:0000::ffff",
    "::ffff:192.0.2.1",
    "fe80::1%eth0",
    "1:",
    ":",
    "g::",
    "10.1.2.3",
    "10.1.2.03",
    "256.1.2.3",
    "1.2.3",
    "٣.1.2.3",
]


@pytest.mark.parametrize("text", ADDRESSES)
def test_addresses_read_as_ipaddress_reads_them(text: str) -> None:
    for rtype, kind in (
        (wire.TYPE_A, ipaddress.IPv4Address),
        (wire.TYPE_AAAA, ipaddress.IPv6Address),
    ):
        try:
            expected: bytes | None = kind(text).packed
        except ValueError:
            expected = None
        if "%" in text:  # a zone id (RFC 4007 §11) is no part of RFC 3596 §2.4's text
            expected = None
        try:
            got: bytes | None = rdtypes.from_words(rtype, [text], None)
        except ValueError:
            got = None
        assert got == expected, (rtype, text)


def test_the_longest_absolute_single_label_owners_and_targets_are_the_limits() -> None:
    """A one-label name under the origin written absolute (as signers write owners and
    NSEC next names) is made the short way, with the lengths checked as the general way
    checks them."""
    origin = ".".join(["o" * 63] * 3) + "."  # 193 octets on the wire
    head = f"$ORIGIN {origin}\n$TTL 300\n@ SOA ns h 1 2 3 4 5\n@ NS ns\n"
    zone = parse_zone_text(f"{head}{'a' * 61}.{origin} CNAME {'b' * 61}.{origin}\n")
    node = zone.nodes[(b"a" * 61, *[b"o" * 63] * 3)]
    cname = node.get(wire.TYPE_CNAME)
    assert cname is not None
    assert cname.rdatas == [wire.encode_name((b"b" * 61, *[b"o" * 63] * 3))]
    for line in (
        f"{'a' * 62}.{origin} A 192.0.2.1",
        f"x CNAME {'b' * 62}.{origin}",
        f"x CNAME {'b' * 62}",
    ):
        with pytest.raises(ZoneError, match="is over 255 octets"):
            parse_zone_text(f"{head}{line}\n")
    with pytest.raises(ZoneError, match="label of 64 octets"):
        parse_zone_text(f"$ORIGIN t.\n$TTL 1\n@ SOA ns h 1 2 3 4 5\n{'a' * 64}.t. A 192.0.2.1\n")
    with pytest.raises(ZoneError, match="label of 64 octets"):
        parse_zone_text(f"$ORIGIN t.\n$TTL 1\n@ SOA ns h 1 2 3 4 5\nx NS {'a' * 64}.t.\n")


LABELS = st.text(alphabet="aZ09-_*.@\\", min_size=0, max_size=70)


@settings(max_examples=400, deadline=None)
@given(label=LABELS, origin=st.sampled_from(["o.test.", "O.Test.", ".", "a\\.b.test."]))
def test_names_in_rdata_read_the_short_way_are_what_the_general_way_reads(
    label: str, origin: str
) -> None:
    """rdtypes.name_wire (one label under the origin, relative or absolute, made from the
    origin's wire form) gives wire.name_from_text's name, or its error."""
    base = wire.name_from_text(origin)
    for text in (label, f"{label}.{origin}" if origin != "." else f"{label}."):
        try:
            expected: bytes | str = wire.encode_name(wire.name_from_text(text, base))
        except ValueError as exc:
            expected = type(exc).__name__
        try:
            got: bytes | str = rdtypes.name_wire(text, base)
        except ValueError as exc:
            got = type(exc).__name__
        assert got == expected, text


QUOTED_LINE_PARTS = st.lists(
    st.one_of(
        st.sampled_from(["w", "10", "a=b", "x:y", "TXT", "\t", "  "]),
        st.text(alphabet='ab ="\t', max_size=8).map(lambda t: '"' + t + '"'),
        st.just('"'),
        st.just('a"b c"'),
    ),
    max_size=8,
)


@settings(max_examples=500, deadline=None)
@given(parts=QUOTED_LINE_PARTS, glue=st.sampled_from([" ", "", "\t"]))
def test_a_line_of_words_and_quoted_strings_splits_as_the_scanner_splits_it(
    parts: list[str], glue: str
) -> None:
    """The lexer's split of a line of words and quoted strings (str.split on the quotes)
    gives the words, quoted positions and errors of its character-by-character scan."""
    from dns.zone import _Lexer

    line = glue.join(parts)

    def outcome(scan: bool) -> tuple[object, ...]:
        lexer = _Lexer("<zone>")
        try:
            if scan:
                lexer.words, lexer.quoted = [], []
                lexer._scan(line, 1)
                return (lexer.words, lexer.quoted)
            got = lexer.feed(line, 1)
            return (lexer.words, lexer.quoted) if got is None else (got[2], got[3])
        except ZoneError as exc:
            return (str(exc),)

    assert outcome(scan=False) == outcome(scan=True)


QUOTED_RECORDS = [
    ('host MX "10" mail', wire.TYPE_MX),
    ('host MX 10 "mail"', wire.TYPE_MX),
    ('host TXT "a b" c "" "d;e"', wire.TYPE_TXT),
    ('host TXT "\\#" 1 00', wire.TYPE_TXT),
    ('host SRV "1" 2 3 "t.example."', wire.TYPE_SRV),
    ('host CAA 0 issue "ca.example; x=y"', wire.TYPE_CAA),
    ('host HINFO "PC Intel" "Linux 6"', wire.TYPE_HINFO),
    ('host SVCB 1 . alpn="h2,h3" port="53"', wire.TYPE_SVCB),
]


@pytest.mark.parametrize(("line", "rtype"), QUOTED_RECORDS)
def test_quoted_words_are_read_as_from_text_reads_their_tokens(line: str, rtype: int) -> None:
    """A quoted word goes to the type's word reader only where quotes change nothing (a
    type read field by field); the bytes are those of rdtypes.from_text on the tokens,
    quoted ones marked (a quoted \\# is not RFC 3597's)."""
    from dns.zone import _Lexer, _tokens

    origin = wire.name_from_text("example.test.")
    head = "$ORIGIN example.test.\n$TTL 300\n@ SOA ns h 1 2 3 4 5\n@ NS ns\n"
    zone = parse_zone_text(f"{head}{line}\n")
    got = zone.nodes[(b"host", b"example", b"test")].get(rtype)
    assert got is not None
    lexed = _Lexer("<zone>").feed(line, 1)
    assert lexed is not None
    tokens = _tokens(lexed[2], lexed[3])[2:]
    assert got.rdatas == [rdtypes.from_text(rtype, tokens, origin)]


@settings(max_examples=400, deadline=None)
@given(label=LABELS, origin=st.sampled_from(["o.test.", "O.Test.", ".", "a\\.b.test."]))
def test_owners_read_the_short_way_are_what_the_general_way_reads(label: str, origin: str) -> None:
    """The parser's owner names under the origin (relative or absolute, one label or more,
    made without name_from_text) and their keys are name_from_text's, or its error."""
    from dns.zone import _Parser, key_of

    base = wire.name_from_text(origin)
    parser = _Parser(base, None)
    for text in (label, f"{label}.{origin}" if origin != "." else f"{label}."):
        try:
            name = wire.name_from_text(text, base)
            expected: object = (name, key_of(name))
        except ValueError as exc:
            expected = type(exc).__name__
        try:
            got: object = parser._owner(text, base)
        except ValueError as exc:
            got = type(exc).__name__
        assert got == expected, text


def test_the_longest_names_of_two_labels_under_the_origin_are_the_limits() -> None:
    origin = ".".join(["o" * 63] * 3) + "."  # 193 octets on the wire
    head = f"$ORIGIN {origin}\n$TTL 300\n@ SOA ns h 1 2 3 4 5\n@ NS ns\n"
    fits = f"x.{'b' * 59}"  # 2 + 60 + 193 = 255 octets
    zone = parse_zone_text(f"{head}{fits} CNAME {fits}\nalias.{origin} CNAME {fits}.{origin}\n")
    names = [rs.rdatas[0] for rs in zone.rrsets() if rs.rtype == wire.TYPE_CNAME]
    assert [len(n) for n in names] == [255, 255]
    assert max(len(wire.encode_name(node.name)) for node in zone.nodes.values()) == 255
    over = f"x.{'b' * 60}"
    for line in (f"{over} A 192.0.2.1", f"y CNAME {over}", f"{over}.{origin} A 192.0.2.1"):
        with pytest.raises(ZoneError, match="is over 255 octets"):
            parse_zone_text(f"{head}{line}\n")
    with pytest.raises(ZoneError, match="label of 64 octets"):
        parse_zone_text(f"{head}x.{'b' * 64} A 192.0.2.1\n")
    with pytest.raises(ZoneError, match="label of 64 octets"):
        parse_zone_text(f"{head}y CNAME x.{'b' * 64}\n")


def test_many_ipv6_addresses_read_as_ipaddress_reads_them() -> None:
    """AAAA text is read by backends.addresses (inet_pton held to ipaddress's rules): many
    distinct addresses, and bad ones among them, give ipaddress's bytes and refusals."""
    texts = [f"2001:db8::{i:x}:{i * 7 & 0xFFFF:X}" for i in range(rdtypes._MEMO_MAX + 500)]
    texts += ["2001:db8::12345", "2001:db8:::1", "1:2:3:4:5:6:7:8:9", ":1::", "abcd::0ffff"]
    for text in texts:
        try:
            expected: bytes | None = ipaddress.IPv6Address(text).packed
        except ValueError:
            expected = None
        try:
            got: bytes | None = rdtypes.from_words(wire.TYPE_AAAA, [text], None)
        except ValueError:
            got = None
        assert got == expected, text


def _built_from_rows(path: pathlib.Path) -> Zone:
    """The zone at ``path`` as the parser's rows make it through Zone._build (the way
    Zone(records) and directives' records go), without the parser building it itself."""
    from dns.zone import _Parser

    parser = _Parser(None, None)
    with open(path, encoding="utf-8", newline="\n") as f:
        rows = list(parser.parse(f, str(path), 0, (str(path.resolve()),)))
    assert parser.sink is None
    apex = next(row[0] for row in rows if row[2] == wire.TYPE_SOA)
    zone = Zone._building(apex, parser.files, str(path))
    zone._build(rows)
    zone._finish()
    return zone


@pytest.mark.parametrize("path", GOOD, ids=[p.name for p in GOOD])
def test_the_parser_builds_the_zone_as_its_rows_build_it(
    path: pathlib.Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The parser puts records into their nodes itself (from the first SOA on, when no
    origin is given); Zone._build makes the same zone from the same records, with the same
    warnings (outside the zone, occluded, differing TTLs)."""
    with caplog.at_level(logging.WARNING, logger="dns.zone"):
        built = load_zone_file(str(path))
        warned = [r.getMessage() for r in caplog.records]
        caplog.clear()
        rows = _built_from_rows(path)
        assert [r.getMessage() for r in caplog.records] == warned
    assert records(built) == records(rows)
    assert built.nodes.keys() == rows.nodes.keys()
    assert [n.name for n in built.nodes.values()] == [n.name for n in rows.nodes.values()]
    assert built.cuts == rows.cuts
    assert built.record_count() == rows.record_count()


def test_records_outside_the_zone_are_each_left_out_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    text = (
        "$ORIGIN example.test.\n$TTL 300\n@ SOA ns h 1 2 3 4 5\n@ NS ns\n"
        "$ORIGIN other.test.\nwww A 192.0.2.1\n AAAA 2001:db8::1\n"
        "$ORIGIN example.test.\nwww A 192.0.2.2\n"
    )
    with caplog.at_level(logging.WARNING, logger="dns.zone"):
        zone = parse_zone_text(text, "example.test.")
    outside = [r.getMessage() for r in caplog.records if "outside the zone" in r.getMessage()]
    assert outside == [
        "<zone>:6: ignoring www.other.test.: it is outside the zone example.test.",
        "<zone>:7: ignoring www.other.test.: it is outside the zone example.test.",
    ]
    assert zone.record_count() == 3
    www = zone.nodes[(b"www", b"example", b"test")].get(wire.TYPE_A)
    assert www is not None and www.rdatas == [bytes([192, 0, 2, 2])]


def test_a_loaded_zone_is_in_the_collectors_oldest_generation() -> None:
    """The objects built while the collector was off go to its oldest generation: no young
    collection walks them after the load. The collector is left as it was."""
    import gc

    from dns.zone import Node

    lines = [f"h{i} A 192.0.2.{i % 250}\n AAAA 2001:db8::{i:x}\n" for i in range(2000)]
    text = "$TTL 300\n@ SOA ns h 1 2 3 4 5\n@ NS ns\n" + "".join(lines)
    assert gc.isenabled()
    zone = parse_zone_text(text, "example.test.")
    assert gc.isenabled()
    young = gc.get_objects(generation=0) + gc.get_objects(generation=1)
    assert not [o for o in young if isinstance(o, Node)]
    assert len(zone.nodes) == 2001
    gc.disable()
    try:
        parse_zone_text(text, "example.test.")
        assert not gc.isenabled()
    finally:
        gc.enable()
