"""The address family a TCP runs over, as a value (mirage-tcpip's ``Flow.Make(IP)``).

TCP depends on its network layer in two places only: the pseudo-header its checksum
covers (RFC 9293 3.1 for IPv4, RFC 8200 8.1 for IPv6) and how an address is written in
messages. A :class:`Family` carries both; addresses are integers in every family (32-bit
for IPv4, 128-bit for IPv6), so the connection tables and the state machine never look
inside one.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Callable
from dataclasses import dataclass

from ..ipv4 import PROTO_TCP, int_to_ip

_PSEUDO4 = struct.Struct("!IIHH")


@dataclass(frozen=True, slots=True)
class Family:
    """One network layer as TCP sees it."""

    name: str
    address_bits: int
    """Addresses are integers below ``2**address_bits``."""
    pseudo_header: Callable[[int, int, int], bytes]
    """``pseudo_header(src, dst, tcp_length)``: the bytes the checksum covers first."""
    format: Callable[[int], str]
    """An address as text, for ``repr`` and error messages."""
    bracket: bool = False
    """Whether ``address:port`` needs the address in brackets (RFC 3986 3.2.2)."""

    def endpoint(self, address: int, port: int) -> str:
        """``address:port`` as text."""
        text = self.format(address)
        return f"[{text}]:{port}" if self.bracket else f"{text}:{port}"


def _ipv4_pseudo(src: int, dst: int, length: int) -> bytes:
    """RFC 9293 3.1: source, destination, zero, protocol, TCP length."""
    return _PSEUDO4.pack(src, dst, PROTO_TCP, length)


def _ipv6_pseudo(src: int, dst: int, length: int) -> bytes:
    """RFC 8200 8.1: source, destination, upper-layer length (32 bits), 3 zero bytes and
    the next header."""
    return (
        src.to_bytes(16, "big") + dst.to_bytes(16, "big") + struct.pack("!IxxxB", length, PROTO_TCP)
    )


def _ipv6_text(value: int) -> str:
    return str(ipaddress.IPv6Address(value))


IPV4 = Family("IPv4", 32, _ipv4_pseudo, int_to_ip)
IPV6 = Family("IPv6", 128, _ipv6_pseudo, _ipv6_text, bracket=True)
