"""ICMPv6 (RFC 4443): messages checksummed over the IPv6 pseudo-header, echo, and the
error messages a host sends, with the rules of RFC 4443 §2.4 on when not to send one.
Rate limiting is :class:`.icmp.RateLimit` (a token bucket, RFC 4443 §2.4 (f)).
"""

from __future__ import annotations

import struct

from . import checksum
from .errors import PacketError
from .ipv6 import ICMPV6, MIN_MTU, UNSPECIFIED, is_multicast

DEST_UNREACHABLE = 1
PACKET_TOO_BIG = 2
TIME_EXCEEDED = 3
PARAMETER_PROBLEM = 4
ECHO_REQUEST = 128
ECHO_REPLY = 129
MLD_QUERY = 130
MLDV2_REPORT = 143
ROUTER_SOLICITATION = 133
ROUTER_ADVERTISEMENT = 134
NEIGHBOR_SOLICITATION = 135
NEIGHBOR_ADVERTISEMENT = 136
REDIRECT = 137

CODE_NO_ROUTE = 0
CODE_ADDRESS_UNREACHABLE = 3
CODE_PORT_UNREACHABLE = 4
CODE_REASSEMBLY_TIME_EXCEEDED = 1

_HEAD = struct.Struct("!BBH")
_FOLD = 0xFFFF


def pseudo_sum(src: int, dst: int, length: int, next_header: int = ICMPV6) -> int:
    """RFC 8200 §8.1's pseudo-header sum, mod 0xFFFF (every field is 16-bit aligned, so
    the sum of its words is the sum of the field values)."""
    return (src + dst + length + next_header) % _FOLD


def message(src: int, dst: int, kind: int, code: int, body: bytes) -> bytes:
    """An ICMPv6 message: type, code, checksum over pseudo-header and message (RFC 4443 §2.3)."""
    raw = _HEAD.pack(kind, code, 0) + body
    csum = checksum.finish(pseudo_sum(src, dst, len(raw)) + checksum.partial(raw))
    return raw[:2] + csum.to_bytes(2, "big") + raw[4:]


def parse(src: int, dst: int, data: memoryview) -> tuple[int, int, memoryview]:
    """``(type, code, body after the checksum)``; the checksum is checked."""
    if len(data) < 4:
        raise PacketError(f"icmpv6: message of {len(data)} bytes is shorter than 4")
    if not checksum.verify(pseudo_sum(src, dst, len(data)) + checksum.partial(data)):
        raise PacketError("icmpv6: bad checksum")
    kind, code, _ = _HEAD.unpack_from(data)
    return kind, code, data[4:]


def is_error(kind: int) -> bool:
    """Types 0-127 are errors (RFC 4443 §2.1); errors are never answered with errors."""
    return kind < 128


def may_answer(src: int, dst: int, kind: int, code: int) -> bool:
    """RFC 4443 §2.4 (e): no error to an unspecified or multicast source, nor to a packet
    sent to a multicast group except Packet Too Big and Parameter Problem code 2."""
    if src == UNSPECIFIED or is_multicast(src):
        return False
    if is_multicast(dst):
        return kind == PACKET_TOO_BIG or (kind == PARAMETER_PROBLEM and code == 2)
    return True


def error(src: int, dst: int, kind: int, code: int, param: int, invoking: bytes) -> bytes:
    """An error message quoting as much of the invoking packet as fits in the minimum
    MTU (RFC 4443 §2.4 (c)): 40 (IPv6) + 8 (ICMPv6 header) before it."""
    room = MIN_MTU - 40 - 8
    return message(src, dst, kind, code, param.to_bytes(4, "big") + invoking[:room])


def echo_reply(src: int, dst: int, body: memoryview) -> bytes:
    """The reply to an echo request: identifier, sequence and data unchanged (RFC 4443 §4.2)."""
    return message(src, dst, ECHO_REPLY, 0, bytes(body))
