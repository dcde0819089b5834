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
    partial: bool = False,
) -> bytes:
    """A TCP segment with its checksum over the family's pseudo-header (RFC 9293 3.1).

    ``partial``: for a device that completes checksums (``VIRTIO_NET_HDR_F_NEEDS_CSUM``),
    the field holds only the pseudo-header's sum, uncomplemented, the length being the
    whole segment's (what Linux's TCP leaves for such a device, and what its TSO adjusts
    per piece); the device adds the header and text and complements."""
    offset = (HEADER_LEN + len(options)) // 4
    length = HEADER_LEN + len(options) + len(payload)
    if partial:
        csum = family.pseudo_sum(src, dst, length)
        head = _HEADER.pack(
            sport, dport, seq & MASK, ack & MASK, offset << 4, flags, window, csum, 0
        )
        return b"".join((head, options, payload)) if options or payload else head
    head = _HEADER.pack(sport, dport, seq & MASK, ack & MASK, offset << 4, flags, window, 0, 0)
    head += options
    total = family.pseudo_sum(src, dst, length) + checksum.partial(head)
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


def parse(
    src: int, dst: int, data: memoryview, family: Family = IPV4, verify: bool = True
) -> Segment:
    """Check and parse a segment; :class:`PacketError` names the problem. ``verify=False``:
    the device vouched for the checksum (it may be a partial one), so it is not summed."""
    if len(data) < HEADER_LEN:
        raise PacketError(f"tcp: segment of {len(data)} bytes is shorter than a header")
    sport, dport, seq, ack, off, flags, window, _csum, _urg = _HEADER.unpack_from(data)
    hlen = (off >> 4) * 4
    if hlen < HEADER_LEN or hlen > len(data):
        raise PacketError(f"tcp: data offset {hlen} with {len(data)} bytes")
    if verify and not checksum.verify(
        family.pseudo_sum(src, dst, len(data)) + checksum.partial(data)
    ):
        raise PacketError("tcp: bad checksum")
    return Segment(sport, dport, seq, ack, flags, window, data[HEADER_LEN:hlen], data[hlen:])
