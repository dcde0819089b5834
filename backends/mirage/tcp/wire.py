"""The TCP header (RFC 9293 3.1): build and check segments over any :class:`Family`."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from .. import checksum
from ..errors import PacketError
from .family import IPV4, Family
from .seq import MASK

HEADER_LEN = 20

FIN = 0x01
SYN = 0x02
RST = 0x04
PSH = 0x08
ACK = 0x10

_HEADER = struct.Struct("!HHIIBBHHH")


def segment(
    src: int,
    dst: int,
    sport: int,
    dport: int,
    seq: int,
    ack: int,
    flags: int,
    window: int,
    payload: bytes | bytearray = b"",
    options: bytes = b"",
    family: Family = IPV4,
) -> bytes:
    """A TCP segment with its checksum over the family's pseudo-header (RFC 9293 3.1)."""
    offset = (HEADER_LEN + len(options)) // 4
    head = _HEADER.pack(sport, dport, seq & MASK, ack & MASK, offset << 4, flags, window, 0, 0)
    head += options
    total = family.pseudo_sum(src, dst, len(head) + len(payload)) + checksum.partial(head)
    if payload:
        total += checksum.partial(payload)
    csum = checksum.finish(total)
    return b"".join((head[:16], csum.to_bytes(2, "big"), head[18:], payload))


@dataclass(slots=True)
class Segment:
    """A received segment, 32-bit fields as on the wire."""

    sport: int
    dport: int
    seq: int
    ack: int
    flags: int
    window: int
    options: memoryview
    payload: memoryview


def parse(src: int, dst: int, data: memoryview, family: Family = IPV4) -> Segment:
    """Check and parse a segment; :class:`PacketError` names the problem."""
    if len(data) < HEADER_LEN:
        raise PacketError(f"tcp: segment of {len(data)} bytes is shorter than a header")
    sport, dport, seq, ack, off, flags, window, _csum, _urg = _HEADER.unpack_from(data)
    hlen = (off >> 4) * 4
    if hlen < HEADER_LEN or hlen > len(data):
        raise PacketError(f"tcp: data offset {hlen} with {len(data)} bytes")
    total = family.pseudo_sum(src, dst, len(data)) + checksum.partial(data)
    if not checksum.verify(total):
        raise PacketError("tcp: bad checksum")
    return Segment(sport, dport, seq, ack, flags, window, data[HEADER_LEN:hlen], data[hlen:])
