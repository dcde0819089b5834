"""IPv4 (RFC 791): header build/parse with checksum, fragmentation on send, and bounded
reassembly on receive. No forwarding and no options (RFC 1122 3.2.1.8: options received
are ignored, which is what skipping IHL beyond 20 bytes does).
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass

from . import checksum
from .errors import PacketError
from .sched import Scheduler

HEADER_LEN = 20
MAX_PACKET = 65535
PROTO_ICMP = 1
PROTO_TCP = 6
PROTO_UDP = 17
LOOPBACK = 0x7F000001  # 127.0.0.1
DEFAULT_TTL = 64  # RFC 1700 / RFC 1122 3.2.1.7 recommends the "assigned numbers" value

_HEADER = struct.Struct("!BBHHHBBHII")
_FLAG_DF = 0x4000
_FLAG_MF = 0x2000
_OFFSET_MASK = 0x1FFF


def ip_to_int(text: str) -> int:
    """32-bit integer of a dotted-quad literal; ValueError names a bad one."""
    try:
        return int(ipaddress.IPv4Address(text))
    except ValueError:
        raise ValueError(f"not an IPv4 address: {text!r}") from None


def int_to_ip(value: int) -> str:
    """Dotted-quad text of a 32-bit integer."""
    return f"{value >> 24}.{(value >> 16) & 255}.{(value >> 8) & 255}.{value & 255}"


def parse_interface(text: str) -> tuple[int, int]:
    """``(address, prefix_len)`` from ``A.B.C.D/N``."""
    if "/" not in text:
        raise ValueError(f"interface address needs a prefix length, like 10.0.0.2/24: {text!r}")
    addr, _, plen = text.partition("/")
    if not (plen.isascii() and plen.isdigit() and len(plen) <= 2):  # ASCII digits only
        raise ValueError(f"bad prefix length in {text!r}")
    prefix = int(plen)
    if not 0 < prefix <= 32:
        raise ValueError(f"prefix length must be 1..32 in {text!r}")
    return ip_to_int(addr), prefix


def netmask(prefix: int) -> int:
    """The 32-bit mask of a prefix length."""
    return (0xFFFFFFFF << (32 - prefix)) & 0xFFFFFFFF


def is_loopback(ip: int) -> bool:
    """127.0.0.0/8 (RFC 1122 3.2.1.3 (g))."""
    return ip >> 24 == 127


def header(
    src: int,
    dst: int,
    proto: int,
    payload_len: int,
    ident: int,
    *,
    ttl: int = DEFAULT_TTL,
    df: bool = False,
    more: bool = False,
    offset: int = 0,
) -> bytes:
    """A 20-byte header with its checksum (RFC 791 section 3.1)."""
    flags = (_FLAG_DF if df else 0) | (_FLAG_MF if more else 0) | (offset >> 3)
    raw = _HEADER.pack(0x45, 0, HEADER_LEN + payload_len, ident, flags, ttl, proto, 0, src, dst)
    csum = checksum.checksum(raw)
    return raw[:10] + csum.to_bytes(2, "big") + raw[12:]


def header_sum(src: int, dst: int, proto: int, *, ttl: int = DEFAULT_TTL, df: bool = False) -> int:
    """The checksum's partial sum (RFC 1071) over the fields of a fragment-free header
    that stay the same from packet to packet: :func:`header_from_sum` adds the length
    and identification and finishes it, for a sender that writes many packets to one
    destination."""
    return (
        0x4500
        + (_FLAG_DF if df else 0)
        + (ttl << 8 | proto)
        + (src >> 16)
        + (src & 0xFFFF)
        + (dst >> 16)
        + (dst & 0xFFFF)
    ) % 0xFFFF


def header_from_sum(
    base: int, src: int, dst: int, proto: int, payload_len: int, ident: int, *,
    ttl: int = DEFAULT_TTL, df: bool = False,
) -> bytes:  # fmt: skip
    """What :func:`header` makes for the same fields, from their :func:`header_sum`."""
    total = HEADER_LEN + payload_len
    csum = 0xFFFF - (base + total + ident) % 0xFFFF
    return _HEADER.pack(0x45, 0, total, ident, _FLAG_DF if df else 0, ttl, proto, csum, src, dst)


@dataclass(slots=True)
class Packet:
    """A parsed IPv4 header and its payload (a view into the frame)."""

    src: int
    dst: int
    proto: int
    ttl: int
    ident: int
    more: bool
    offset: int
    header: memoryview
    payload: memoryview


def parse(data: memoryview) -> Packet:
    """Parse and check one packet; :class:`PacketError` names what is wrong."""
    if len(data) < HEADER_LEN:
        raise PacketError(f"ipv4: packet of {len(data)} bytes is shorter than a header")
    vihl, _tos, total, ident, flags, ttl, proto, _csum, src, dst = _HEADER.unpack_from(data)
    if vihl >> 4 != 4:
        raise PacketError(f"ipv4: version {vihl >> 4}")
    ihl = (vihl & 15) * 4
    if ihl < HEADER_LEN or ihl > len(data):
        raise PacketError(f"ipv4: header length {ihl} with {len(data)} bytes")
    if total < ihl or total > len(data):
        raise PacketError(f"ipv4: total length {total} with {len(data)} bytes received")
    if not checksum.verify(checksum.partial(data[:ihl])):
        raise PacketError("ipv4: bad header checksum")
    return Packet(
        src,
        dst,
        proto,
        ttl,
        ident,
        bool(flags & _FLAG_MF),
        (flags & _OFFSET_MASK) << 3,
        data[:ihl],
        data[ihl:total],  # Ethernet padding after total length is dropped here
    )


def fragment(src: int, dst: int, proto: int, payload: bytes, ident: int, mtu: int) -> list[bytes]:
    """Split a payload into packets that fit ``mtu`` (RFC 791 "Fragmentation")."""
    if HEADER_LEN + len(payload) <= mtu:
        return [header(src, dst, proto, len(payload), ident) + payload]
    step = ((mtu - HEADER_LEN) // 8) * 8  # every fragment but the last: multiple of 8
    if step <= 0:
        raise ValueError(f"MTU {mtu} too small to fragment")
    out = []
    view = memoryview(payload)
    for off in range(0, len(payload), step):
        chunk = view[off : off + step]
        more = off + step < len(payload)
        out.append(header(src, dst, proto, len(chunk), ident, more=more, offset=off) + bytes(chunk))
    return out


@dataclass
class _Partial:
    key: tuple[int, int, int, int]
    expires: float
    pieces: dict[int, bytes]
    received: int = 0
    total: int | None = None


class Reassembler:
    """Bounded fragment reassembly (RFC 791 section 3.2, RFC 815).

    At most ``max_datagrams`` in progress (the oldest is evicted), each expiring after
    ``timeout`` seconds, none over 65535 bytes. Overlapping fragments discard the whole
    datagram: they are only ever sent by attackers (the rule RFC 5722 sets for IPv6).
    """

    def __init__(self, sched: Scheduler, *, timeout: float = 30.0, max_datagrams: int = 64):
        self.sched = sched
        self.timeout = timeout
        self.max_datagrams = max_datagrams
        self._partials: dict[tuple[int, int, int, int], _Partial] = {}
        self.dropped = 0

    def add(self, pkt: Packet) -> bytes | None:
        """Add a fragment; returns the whole payload once every piece is in."""
        now = self.sched.now()
        key = (pkt.src, pkt.dst, pkt.proto, pkt.ident)
        partials = self._partials
        for k in [k for k, p in partials.items() if p.expires < now]:
            del partials[k]  # RFC 791: the reassembly timer ran out
            self.dropped += 1
        part = partials.get(key)
        if part is None:
            if len(partials) >= self.max_datagrams:
                del partials[next(iter(partials))]
                self.dropped += 1
            part = partials[key] = _Partial(key, now + self.timeout, {})
        start = pkt.offset
        data = bytes(pkt.payload)
        end = start + len(data)
        if end > MAX_PACKET - HEADER_LEN or (pkt.more and len(data) % 8):
            del partials[key]
            self.dropped += 1
            return None
        if not pkt.more:
            if part.total is not None and part.total != end:
                del partials[key]
                self.dropped += 1
                return None
            part.total = end
        if start in part.pieces and len(part.pieces[start]) == len(data):
            return None  # a duplicate
        for s, piece in part.pieces.items():
            if s < end and start < s + len(piece):
                del partials[key]  # overlap: drop it all
                self.dropped += 1
                return None
        part.pieces[start] = data
        part.received += len(data)
        if part.total is None or part.received != part.total:
            return None
        del partials[key]
        return b"".join(part.pieces[s] for s in sorted(part.pieces))
