"""UDP (RFC 768): header and checksum over the IPv4 pseudo-header."""

from __future__ import annotations

import struct

from . import checksum
from .errors import PacketError
from .ipv4 import PROTO_UDP

HEADER_LEN = 8
MAX_PAYLOAD = 65507  # 65535 - 20 (IPv4 header) - 8 (UDP header)

_HEAD = struct.Struct("!HHHH")
_PSEUDO = struct.Struct("!IIHH")


def datagram(src: int, dst: int, sport: int, dport: int, payload: bytes) -> bytes:
    """A UDP header plus payload, checksummed (RFC 768: a zero result is sent as 0xFFFF,
    which :func:`checksum.finish` never returns 0 already guarantees)."""
    length = HEADER_LEN + len(payload)
    head = _HEAD.pack(sport, dport, length, 0)
    total = checksum.partial(_PSEUDO.pack(src, dst, PROTO_UDP, length) + head)
    total += checksum.partial(payload)
    return _HEAD.pack(sport, dport, length, checksum.finish(total)) + payload


def parse(src: int, dst: int, data: memoryview) -> tuple[int, int, memoryview]:
    """``(sport, dport, payload)``; checks length and (unless zero) the checksum."""
    if len(data) < HEADER_LEN:
        raise PacketError(f"udp: datagram of {len(data)} bytes is shorter than a header")
    sport, dport, length, csum = _HEAD.unpack_from(data)
    if length < HEADER_LEN or length > len(data):
        raise PacketError(f"udp: length field {length} with {len(data)} bytes")
    data = data[:length]
    if csum != 0:  # RFC 768: zero means the sender computed no checksum
        total = checksum.partial(_PSEUDO.pack(src, dst, PROTO_UDP, length)) + checksum.partial(data)
        if not checksum.verify(total):
            raise PacketError("udp: bad checksum")
    return sport, dport, data[HEADER_LEN:]
