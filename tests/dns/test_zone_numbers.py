"""Every number in zone text is ASCII digits of bounded length (issue 12 item 4): Unicode
digits that ``str.isdigit()`` and ``int()`` accept ('²', '٣', '１') and numbers thousands of
digits long are a :class:`ZoneError` naming the field and line, never a value or a builtin
exception."""

from __future__ import annotations

import pytest

from dns import wire
from dns.server import parse_hostport
from dns.zone import ZoneError, parse_ttl, parse_zone_text

HEAD = """$ORIGIN n.test.
$TTL 300
@ SOA ns hostmaster 1 7200 3600 1209600 300
@ NS ns
ns A 192.0.2.1
"""
LINE = HEAD.count("\n") + 1

BAD_NUMBERS = ["²", "٣", "１", "9" * 5000, "-1", "+1", "0x10", "1_0"]

# (zone line with {N} for the number, what the error must say)
FIELDS = [
    ("$TTL {N}", "TTL"),
    ("www {N} IN A 192.0.2.2", ""),  # not a TTL, so not a type either
    ("www 1h{N}m A 192.0.2.2", ""),
    ("www MX {N} mail", "MX preference"),
    ("www SRV {N} 0 80 host", "SRV priority"),
    ("www SRV 0 {N} 80 host", "SRV weight"),
    ("www SRV 0 0 {N} host", "SRV port"),
    ('www CAA {N} issue "ca.example"', "CAA flags"),
    ('www NAPTR {N} 10 "S" "SIP+D2U" "" host', "NAPTR order"),
    ("www DS {N} 8 2 abcd", "DS key tag"),
    ("www TLSA 3 1 {N} abcd", "TLSA matching type"),
    ("www SSHFP {N} 1 abcd", "SSHFP algorithm"),
    ("www DNSKEY {N} 3 8 AwEAAQ==", "DNSKEY flags"),
    ("www TYPE{N} \\# 0", "type number"),
    ("www CLASS{N} A 192.0.2.2", ""),
    ("www TYPE65280 \\# {N} 00", "RFC 3597 length"),
    ("sub SOA ns hostmaster {N} 1 2 3 4", "SOA serial"),
    ("sub SOA ns hostmaster 1 {N} 2 3 4", "TTL"),
    ("$GENERATE 1-{N} h$ A 192.0.2.$", "$GENERATE"),
    ("$GENERATE 1-3/{N} h$ A 192.0.2.$", "$GENERATE"),
    ("$GENERATE 1-3 h${0,{N},d} A 192.0.2.$", "$GENERATE"),
]


@pytest.mark.parametrize("bad", BAD_NUMBERS, ids=lambda b: f"{b[:8]!r}x{len(b)}")
@pytest.mark.parametrize("line,what", FIELDS, ids=[f[0] for f in FIELDS])
def test_a_number_that_is_not_ascii_digits_is_a_zone_error(line: str, what: str, bad: str) -> None:
    text = HEAD + line.replace("{N}", bad) + "\n"
    with pytest.raises(ZoneError) as caught:
        parse_zone_text(text, filename="n.zone")
    assert caught.value.line == LINE and caught.value.filename == "n.zone"
    assert what in caught.value.message
    assert len(str(caught.value)) < 200  # the 5,000 digits are not echoed back


@pytest.mark.parametrize(
    "line",
    [
        "$TTL 0003600",
        "www 1H30M IN A 192.0.2.2",
        "www MX 00010 mail",
        "www SRV 0 0 65535 host",
        'www CAA 128 issue "ca.example"',
        "www TYPE65280 \\# 1 00",
    ],
)
def test_the_same_fields_in_ascii_digits_load(line: str) -> None:
    parse_zone_text(HEAD + line + "\n")


def test_ttl_forms() -> None:
    assert parse_ttl("3600") == 3600
    assert parse_ttl("1h30m") == 5400
    assert parse_ttl("1W2d3H4m5s") == 604800 + 2 * 86400 + 3 * 3600 + 4 * 60 + 5
    assert parse_ttl("1h30") == 3630
    for bad in ["", "h", "1x", "1hh", "٣", "1h٣", "4294967296", "9" * 21, "1h 2m"]:
        with pytest.raises(ValueError):
            parse_ttl(bad)


def test_type_class_and_port_numbers_are_ascii() -> None:
    assert wire.type_from_text("TYPE65280") == 65280
    assert wire.class_from_text("CLASS3") == 3
    for text in ["TYPE٣", "TYPE²", "TYPE65536", "TYPE" + "1" * 30]:
        with pytest.raises(ValueError):
            wire.type_from_text(text)
    with pytest.raises(ValueError):
        wire.class_from_text("CLASS١")
    assert parse_hostport("[::1]:5300") == ("::1", 5300)
    assert parse_hostport("127.0.0.1:53") == ("127.0.0.1", 53)
    for text in ["127.0.0.1:٥٣", "127.0.0.1:65536", "[::1]:", "[::1]:5" + "0" * 30]:
        with pytest.raises(ValueError):
            parse_hostport(text)


def test_name_escapes_are_three_ascii_digits() -> None:
    assert wire.name_from_text("a\\065b.test.") == (b"aAb", b"test")
    for text in ["a\\256.test.", "a\\06.test.", "a\\0٦5.test."]:
        with pytest.raises(wire.BadName):
            wire.name_from_text(text)
