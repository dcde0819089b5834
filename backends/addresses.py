"""IP address text to bytes, by the operating system's ``inet_pton``, held to :mod:`ipaddress`'s
rules.

Protocol code may not touch :mod:`socket` (design.md), yet converting an address is an OS
facility, and ``inet_pton`` reads one several times faster than :mod:`ipaddress` (a zone of
a million A and AAAA records reads them all). What the two functions here accept, and the
bytes they give, are :mod:`ipaddress`'s: RFC 791 dotted quads of four decimal octets with
no leading zeros; RFC 4291 §2.2 IPv6 text (hex groups, one ``::``, an embedded dotted quad
at the end). They refuse, beyond that, an IPv6 zone id (``fe80::1%eth0``, RFC 4007 §11):
it names a link of this host, and has no place in an address that travels or is stored.

``inet_pton`` is the fast way only: what it refuses goes to :mod:`ipaddress`, which names
the mistake in its error (or, for a form that the C library does not read, gives the
bytes). Where the C library's ``inet_pton`` accepts a form :mod:`ipaddress` refuses (an
octet with a leading zero, which some C libraries read), checked once at import, the
functions use :mod:`ipaddress` alone.

    >>> ipv4_to_bytes("192.0.2.1")
    b'\\xc0\\x00\\x02\\x01'
    >>> ipv6_to_bytes("2001:db8::1").hex()
    '20010db8000000000000000000000001'
"""

from __future__ import annotations

import ipaddress
import socket

__all__ = ["ipv4_to_bytes", "ipv6_to_bytes"]


def _ipv4_checked(text: str) -> bytes:
    return ipaddress.IPv4Address(text).packed


def _ipv6_checked(text: str) -> bytes:
    if "%" in text:
        raise ipaddress.AddressValueError(
            f"a zone id (after '%') has no place in this address: {text[:60]!r}"
        )
    return ipaddress.IPv6Address(text).packed


_LENIENT_FORMS: dict[int, tuple[str, ...]] = {
    socket.AF_INET: ("01.2.3.4", "1.2.3.04", "1.2.3", "1", "0x1.2.3.4", "1.2.3.4.", " 1.2.3.4"),
    socket.AF_INET6: ("fe80::1%1", "::1.2.3.04", "1:2:3:4:5:6:7:8:9", "12345::", "::1 "),
}
"""Forms that :mod:`ipaddress` refuses (or that must be refused) and that some C library's
``inet_pton`` might read: if this one reads any, it is not used for that family."""


def _strict_pton(family: int) -> bool:
    for text in _LENIENT_FORMS[family]:
        try:
            _pton(family, text)
        except (OSError, ValueError):
            continue
        return False
    return True


def _ipv4_pton(text: str) -> bytes:
    try:
        return _pton(_AF_INET, text)
    except (OSError, ValueError):  # ValueError: a NUL, or a lone surrogate
        return _ipv4_checked(text)


def _ipv6_pton(text: str) -> bytes:
    try:
        return _pton(_AF_INET6, text)
    except (OSError, ValueError):
        return _ipv6_checked(text)


_pton = socket.inet_pton  # Unix and Windows alike
_AF_INET = socket.AF_INET
_AF_INET6 = socket.AF_INET6

ipv4_to_bytes = _ipv4_pton if _strict_pton(_AF_INET) else _ipv4_checked
"""The 4 bytes of a dotted-quad IPv4 address (as :class:`ipaddress.IPv4Address` reads it);
:class:`ValueError` (:class:`ipaddress.AddressValueError`) naming what is wrong."""
ipv6_to_bytes = _ipv6_pton if _strict_pton(_AF_INET6) else _ipv6_checked
"""The 16 bytes of an IPv6 address (as :class:`ipaddress.IPv6Address` reads it, without a
zone id); :class:`ValueError` (:class:`ipaddress.AddressValueError`) naming what is wrong."""
