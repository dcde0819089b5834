"""Whatever a zone file holds, loading it ends in a zone or a :class:`ZoneError` with a line
number: never a builtin exception (issue 12 items 4 and 6). Lines are built from the pieces
the presentation formats are made of (digits of every script, escapes, quotes, commas,
SvcParams, ``$GENERATE`` modifiers), long ones included."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from dns import wire
from dns.zone import ZoneError, parse_zone_text

HEAD = """$ORIGIN f.test.
$TTL 300
@ SOA ns hostmaster 1 3600 600 86400 300
@ NS ns
ns A 192.0.2.1
"""

PIECES = [
    "0",
    "1",
    "7",
    "255",
    "256",
    "65535",
    "65536",
    "4294967296",
    "9" * 30,
    "٣",
    "²",
    "１",
    "-",
    "+",
    ".",
    ",",
    "=",
    "\\",
    "\\\\",
    "\\0",
    "\\256",
    "\\065",
    '"',
    "(",
    ")",
    ";",
    "$",
    "${",
    "}",
    "${1,2,x}",
    "${-3}",
    "${0,9,n}",
    "${9999999999}",
    "@",
    "*",
    "h2",
    "alpn=",
    "mandatory=",
    "port=",
    "ipv4hint=",
    "ipv6hint=",
    "ech=",
    "key65535=",
    "key0=",
    "no-default-alpn",
    "dohpath=",
    "AwEAAQ==",
    "AA",
    "abcd",
    "2001:db8::1",
    "192.0.2.1",
    "1h",
    "30m",
    "2W",
    "\\#",
    " ",
    "\t",
    "x" * 300,
    "SHA-256",
    "RSASHA256",
    "A",
    "NS",
]
TYPES = [
    "A",
    "AAAA",
    "NS",
    "MX",
    "TXT",
    "SOA",
    "SRV",
    "NAPTR",
    "CAA",
    "SSHFP",
    "DS",
    "TLSA",
    "DNSKEY",
    "SVCB",
    "HTTPS",
    "RRSIG",
    "NSEC",
    "NSEC3",
    "NSEC3PARAM",
    "URI",
    "ZONEMD",
    "CSYNC",
    "CERT",
    "OPENPGPKEY",
    "LOC",
    "HINFO",
    "TYPE65280",
    "CLASS1",
    "IN",
    "300",
]

words = st.lists(st.sampled_from(PIECES), min_size=1, max_size=6).map("".join)
lines = st.one_of(
    st.builds(
        lambda owner, rtype, rest: f"{owner} {rtype} {' '.join(rest)}",
        words,
        st.sampled_from(TYPES),
        st.lists(words, max_size=8),
    ),
    st.builds(
        lambda r, lhs, rtype, rhs: f"$GENERATE {r} {lhs} {rtype} {rhs}",
        words,
        words,
        st.sampled_from(TYPES),
        words,
    ),
    st.builds(
        lambda d, rest: f"{d} {' '.join(rest)}",
        st.sampled_from(["$TTL", "$ORIGIN"]),
        st.lists(words, max_size=2),
    ),
)


@settings(max_examples=600, deadline=None)
@given(st.lists(lines, min_size=1, max_size=4))
def test_any_zone_text_loads_or_is_a_zone_error(body: list[str]) -> None:
    text = HEAD + "\n".join(body) + "\n"
    try:
        zone = parse_zone_text(text, filename="f.zone")
    except ZoneError as exc:
        assert exc.filename == "f.zone" and exc.line >= 1
        assert len(str(exc)) < 2000
    else:
        assert zone.origin == wire.name_from_text("f.test.")
