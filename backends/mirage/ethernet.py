"""Ethernet II framing (IEEE 802.3 clause 3.2.6 "Length/Type" >= 0x0600 is a type)."""

from __future__ import annotations

import random
import struct

from .errors import PacketError

HEADER_LEN = 14
TYPE_IPV4 = 0x0800
TYPE_ARP = 0x0806
TYPE_IPV6 = 0x86DD
BROADCAST = b"\xff" * 6

_HEADER = struct.Struct("!6s6sH")


def header(dst: bytes, src: bytes, ethertype: int) -> bytes:
    """The 14-byte header: destination MAC, source MAC, EtherType."""
    return _HEADER.pack(dst, src, ethertype)


def parse(frame: bytes | memoryview) -> tuple[bytes, bytes, int]:
    """``(dst, src, ethertype)`` of a frame; :class:`PacketError` if it is too short."""
    if len(frame) < HEADER_LEN:
        raise PacketError(f"ethernet: frame of {len(frame)} bytes is shorter than a header")
    dst, src, ethertype = _HEADER.unpack_from(frame)
    if ethertype < 0x0600:
        raise PacketError(f"ethernet: 802.3 length field {ethertype} (only Ethernet II)")
    return dst, src, ethertype


def mac_to_str(mac: bytes) -> str:
    """``02:00:5e:10:00:01`` form."""
    return ":".join(f"{b:02x}" for b in mac)


def parse_mac(text: str) -> bytes:
    """Six bytes from ``aa:bb:cc:dd:ee:ff`` (or with dashes)."""
    parts = text.replace("-", ":").split(":")
    if len(parts) != 6 or not all(len(p) == 2 for p in parts):
        raise ValueError(f"not a MAC address: {text!r}")
    try:
        return bytes(int(p, 16) for p in parts)
    except ValueError:
        raise ValueError(f"not a MAC address: {text!r}") from None


def random_mac(rng: random.Random | None = None) -> bytes:
    """A random locally administered unicast MAC (IEEE 802: bit 1 set, bit 0 clear)."""
    rng = rng or random.Random()
    first = (rng.randrange(256) & 0xFC) | 0x02
    return bytes([first]) + bytes(rng.randrange(256) for _ in range(5))


def is_multicast(mac: bytes) -> bool:
    """Group addresses (broadcast included) have the low bit of the first octet set."""
    return bool(mac[0] & 1)
