"""backends.addresses: inet_pton's speed, ipaddress's rules (checked differentially)."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from backends import addresses
from backends.addresses import ipv4_to_bytes, ipv6_to_bytes

V4_FUNCTIONS = [ipv4_to_bytes, addresses._ipv4_checked, addresses._ipv4_pton]
V6_FUNCTIONS = [ipv6_to_bytes, addresses._ipv6_checked, addresses._ipv6_pton]


def _outcome(convert: Callable[[str], bytes], text: str) -> bytes | None:
    """The bytes, or None for a ValueError (anything else fails the test)."""
    try:
        return convert(text)
    except ValueError:
        return None


def _oracle4(text: str) -> bytes | None:
    return _outcome(lambda t: ipaddress.IPv4Address(t).packed, text)


def _oracle6(text: str) -> bytes | None:
    if "%" in text:
        return None  # a zone id: refused, though ipaddress takes it
    return _outcome(lambda t: ipaddress.IPv6Address(t).packed, text)


def test_the_fast_way_is_taken_here() -> None:
    # On Linux (glibc, musl) inet_pton refuses every lenient form: the fast way is used.
    assert ipv4_to_bytes is addresses._ipv4_pton
    assert ipv6_to_bytes is addresses._ipv6_pton


@pytest.mark.parametrize("convert", V4_FUNCTIONS)
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("192.0.2.1", b"\xc0\x00\x02\x01"),
        ("0.0.0.0", bytes(4)),
        ("255.255.255.255", b"\xff" * 4),
        ("01.2.3.4", None),  # a leading zero: octal to some readers (RFC 6943 §3.1.1)
        ("1.2.3.04", None),
        ("1.2.3", None),
        ("1", None),
        ("0x1.2.3.4", None),
        ("256.1.1.1", None),
        ("1.2.3.4.", None),
        (" 1.2.3.4", None),
        ("1.2.3.4\x00", None),
        ("1.2.3.\ud800", None),
        ("1.2.3.\u0661", None),  # an Arabic-Indic digit
        ("", None),
    ],
)
def test_ipv4_cases(convert: Callable[[str], bytes], text: str, expected: bytes | None) -> None:
    assert _outcome(convert, text) == expected == _oracle4(text)


@pytest.mark.parametrize("convert", V6_FUNCTIONS)
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2001:db8::1", bytes.fromhex("20010db8000000000000000000000001")),
        ("::", bytes(16)),
        ("::ffff:192.0.2.1", bytes.fromhex("00000000000000000000ffffc0000201")),
        ("1:2:3:4:5:6:7::", bytes.fromhex("00010002000300040005000600070000")),
        ("1:2:3:4:5:6:1.2.3.4", bytes.fromhex("00010002000300040005000601020304")),
        ("ABCD:EF01::", bytes.fromhex("abcdef01" + "00" * 12)),
        ("fe80::1%eth0", None),  # a zone id (RFC 4007 §11)
        ("fe80::1%1", None),
        ("::1.2.3.04", None),
        ("1::2::3", None),
        ("12345::", None),
        ("1:2:3:4:5:6:7:8:9", None),
        ("1:2:3:4:5:6:7:1.2.3.4", None),
        (":1::", None),
        ("::1 ", None),
        ("::1\x00", None),
        ("::\ud800", None),
        ("", None),
    ],
)
def test_ipv6_cases(convert: Callable[[str], bytes], text: str, expected: bytes | None) -> None:
    assert _outcome(convert, text) == expected
    assert _outcome(convert, text) == _oracle6(text)


def test_errors_say_what_is_wrong() -> None:
    with pytest.raises(ValueError, match="Leading zeros are not permitted"):
        ipv4_to_bytes("192.0.2.01")
    with pytest.raises(ValueError, match="zone id"):
        ipv6_to_bytes("fe80::1%eth0")
    with pytest.raises(ValueError, match="At most 4 characters"):
        ipv6_to_bytes("12345::")


_V4_CHARS = st.sampled_from("0123456789.x% -\x00\u0661")
_V6_CHARS = st.sampled_from("0123456789abcdefABCDEFg:.:%x -\x00")


@st.composite
def _ipv4_like(draw: st.DrawFn) -> str:
    """Dotted quads, some valid, some bent: leading zeros, big octets, missing parts."""
    if draw(st.booleans()):
        return draw(st.text(_V4_CHARS, max_size=18))
    octets = draw(st.lists(st.integers(0, 300), min_size=1, max_size=5))
    parts = [
        draw(st.sampled_from(["", "0", "00"])) + str(o) if draw(st.booleans()) else str(o)
        for o in octets
    ]
    return ".".join(parts)


@st.composite
def _ipv6_like(draw: st.DrawFn) -> str:
    """IPv6 text, some valid, some bent: too many groups, long groups, two ``::``, an
    embedded dotted quad, a zone id."""
    if draw(st.booleans()):
        return draw(st.text(_V6_CHARS, max_size=45))
    groups = draw(
        st.lists(st.text(st.sampled_from("0123456789abcdefABCDEF"), max_size=5), max_size=9)
    )
    text = ":".join(groups)
    if draw(st.booleans()):
        at = draw(st.integers(0, len(text)))
        text = text[:at] + "::" + text[at:]
    if draw(st.booleans()):
        text += ":" + draw(_ipv4_like())
    if draw(st.booleans()):
        text += "%" + draw(st.sampled_from(["eth0", "1", ""]))
    return text


@settings(max_examples=800, deadline=None)
@given(_ipv4_like())
@example("1.2.3.4")
def test_ipv4_agrees_with_ipaddress(text: str) -> None:
    expected = _oracle4(text)
    for convert in V4_FUNCTIONS:
        assert _outcome(convert, text) == expected, (convert, text)


@settings(max_examples=800, deadline=None)
@given(_ipv6_like())
@example("::")
@example("0::0:0:0:0:0:0:0")
def test_ipv6_agrees_with_ipaddress(text: str) -> None:
    expected = _oracle6(text)
    for convert in V6_FUNCTIONS:
        assert _outcome(convert, text) == expected, (convert, text)


@settings(max_examples=500, deadline=None)
@given(st.ip_addresses())
def test_every_address_round_trips(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> None:
    convert = ipv4_to_bytes if address.version == 4 else ipv6_to_bytes
    assert convert(str(address)) == address.packed
    assert convert(address.exploded) == address.packed
