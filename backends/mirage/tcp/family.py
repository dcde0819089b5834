"""The address family a TCP runs over, as a value (mirage-tcpip's ``Flow.Make(IP)``).

TCP depends on its network layer in two places only: the pseudo-header its checksum
covers (RFC 9293 3.1 for IPv4, RFC 8200 8.1 for IPv6) and how an address is written in
messages. A :class:`Family` carries both; addresses are integers in every family (32-bit
for IPv4, 128-bit for IPv6), so the connection tables and the state machine never look
inside one.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass

from ..ipv4 import PROTO_TCP, int_to_ip

_FOLD = 0xFFFF


@dataclass(frozen=True, slots=True)
class Family:
    """One network layer as TCP sees it."""

    name: str
    address_bits: int
    """Addresses are integers below ``2**address_bits``."""
    pseudo_sum: Callable[[int, int, int], int]
    """``pseudo_sum(src, dst, tcp_length)``: the pseudo-header's one's complement sum,
    mod 0xFFFF, as :func:`backends.mirage.checksum.partial` would give for its bytes."""
    format: Callable[[int], str]
    """An address as text, for ``repr`` and error messages."""
    ip_header: int = 20
    """The network header's fixed length (RFC 791: 20, RFC 8200: 40): what a segment
    handed to an offloading device must leave room for below its 64 KB."""
    bracket: bool = False
    """Whether ``address:port`` needs the address in brackets (RFC 3986 3.2.2)."""

    def endpoint(self, address: int, port: int) -> str:
        """``address:port`` as text."""
        text = self.format(address)
        return f"[{text}]:{port}" if self.bracket else f"{text}:{port}"


def _pseudo_sum(src: int, dst: int, length: int) -> int:
    """Both pseudo-headers (RFC 9293 3.1: source, destination, zero, protocol, 16-bit TCP
    length; RFC 8200 8.1: source, destination, 32-bit length, three zero bytes, next
    header) place every field on a 16-bit boundary. Since 2**16 = 1 (mod 0xFFFF), the
    sum of the big-endian words is the sum of the fields themselves, mod 0xFFFF: no bytes
    need be built."""
    return (src + dst + length + PROTO_TCP) % _FOLD


def _ipv6_text(value: int) -> str:
    return str(ipaddress.IPv6Address(value))


IPV4 = Family("IPv4", 32, _pseudo_sum, int_to_ip)
IPV6 = Family("IPv6", 128, _pseudo_sum, _ipv6_text, ip_header=40, bracket=True)
