"""UDP (RFC 768): header and checksum over the IPv4 (RFC 768) or IPv6 (RFC 8200 §8.1)
pseudo-header.

Both pseudo-headers place each field on a 16-bit boundary, so their one's complement sum
is the sum of the field values mod 0xFFFF (2**16 = 1 mod 0xFFFF): addresses of either
width go in as integers and no pseudo-header bytes are built.
"""

from __future__ import annotations

import struct

from . import checksum
from .errors import PacketError
from .ipv4 import PROTO_UDP

HEADER_LEN = 8
MAX_PAYLOAD = 65507  # 65535 - 20 (IPv4 header) - 8 (UDP header)

_HEAD = struct.Struct("!HHHH")
_FOLD = 0xFFFF


def datagram(src: int, dst: int, sport: int, dport: int, payload: bytes) -> bytes:
    """A UDP header plus payload, checksummed (RFC 768: a zero result is sent as 0xFFFF,
    which :func:`checksum.finish` never returns 0 already guarantees; RFC 8200 §8.1
    makes the checksum mandatory over IPv6)."""
    length = HEADER_LEN + len(payload)
    head = _HEAD.pack(sport, dport, length, 0)
    total = (src + dst + PROTO_UDP + length) % _FOLD + checksum.partial(head)
    total += checksum.partial(payload)
    return _HEAD.pack(sport, dport, length, checksum.finish(total)) + payload


def parse(
    src: int, dst: int, data: memoryview, *, ipv6: bool = False, verify: bool = True
) -> tuple[int, int, memoryview]:
    """``(sport, dport, payload)``; checks length and the checksum (a zero checksum means
    none over IPv4, RFC 768, and is an error over IPv6, RFC 8200 §8.1). ``verify=False``:
    the device vouched for the checksum (it may be a partial one, VIRTIO_NET_HDR_F_NEEDS_CSUM)."""
    if len(data) < HEADER_LEN:
        raise PacketError(f"udp: datagram of {len(data)} bytes is shorter than a header")
    sport, dport, length, csum = _HEAD.unpack_from(data)
    if length < HEADER_LEN or length > len(data):
        raise PacketError(f"udp: length field {length} with {len(data)} bytes")
    data = data[:length]
    if not verify:
        pass
    elif csum == 0:
        if ipv6:
            raise PacketError("udp: zero checksum over IPv6")
    else:
        total = (src + dst + PROTO_UDP + length) % _FOLD + checksum.partial(data)
        if not checksum.verify(total):
            raise PacketError("udp: bad checksum")
    return sport, dport, data[HEADER_LEN:]
