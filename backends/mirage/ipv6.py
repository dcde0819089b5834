"""IPv6 (RFC 8200): the fixed header, the extension-header chain, source fragmentation
and bounded reassembly. A host: no forwarding (RFC 8200 §4: only the destination
processes extension headers, a host never routes).

Addresses are 128-bit integers, as IPv4's are 32-bit ones, so TCP's tables and the
pseudo-header arithmetic (:mod:`.tcp.family`) see one kind of value.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from .errors import PacketError
from .sched import Scheduler, Timer

HEADER_LEN = 40
MIN_MTU = 1280  # RFC 8200 §5: every link carries 1280-byte packets
MAX_PAYLOAD = 65535
DEFAULT_HOP_LIMIT = 64

HOPOPT = 0
TCP = 6
UDP = 17
ROUTING = 43
FRAGMENT = 44
ESP = 50
AH = 51
ICMPV6 = 58
NO_NEXT = 59
DSTOPTS = 60

LOOPBACK = 1  # ::1 (RFC 4291 §2.5.3)
UNSPECIFIED = 0
ALL_NODES = 0xFF02 << 112 | 1  # ff02::1 (RFC 4291 §2.7.1)
ALL_ROUTERS = 0xFF02 << 112 | 2  # ff02::2
ALL_MLDV2_ROUTERS = 0xFF02 << 112 | 0x16  # ff02::16 (RFC 3810 §5.2.14)
LINK_LOCAL_PREFIX = 0xFE80 << 112
V4_MAPPED = 0xFFFF << 32  # ::ffff:0:0/96 (RFC 4291 §2.5.5.2)
MAX_EXTENSION_HEADERS = 8
"""More headers than this in one packet is an attack, not a use (RFC 9098 §3)."""

_FIXED = struct.Struct("!IHBB16s16s")
_FRAG = struct.Struct("!BBHI")


def is_multicast(addr: int) -> bool:
    """ff00::/8 (RFC 4291 §2.7)."""
    return addr >> 120 == 0xFF


def is_link_local(addr: int) -> bool:
    """fe80::/10 (RFC 4291 §2.5.6)."""
    return addr >> 118 == 0xFE80 >> 6


def is_v4_mapped(addr: int) -> bool:
    """::ffff:a.b.c.d, how a dual-stack socket names an IPv4 peer (RFC 4291 §2.5.5.2)."""
    return addr >> 32 == 0xFFFF


def solicited_node(addr: int) -> int:
    """ff02::1:ffXX:XXXX, the low 24 bits of ``addr`` (RFC 4291 §2.7.1)."""
    return 0xFF02 << 112 | 1 << 32 | 0xFF << 24 | (addr & 0xFFFFFF)


def multicast_mac(addr: int) -> bytes:
    """33:33 and the group's low 32 bits (RFC 2464 §7)."""
    return b"\x33\x33" + (addr & 0xFFFFFFFF).to_bytes(4, "big")


def to_int(text: str) -> int:
    """128-bit integer of an IPv6 literal; ValueError names a bad one."""
    try:
        return int(ipaddress.IPv6Address(text))
    except ValueError:
        raise ValueError(f"not an IPv6 address: {text!r}") from None


def to_text(value: int) -> str:
    """RFC 5952 text of a 128-bit integer."""
    return str(ipaddress.IPv6Address(value))


def parse_interface(text: str) -> tuple[int, int]:
    """``(address, prefix_len)`` from ``2001:db8::2/64``."""
    addr, sep, plen = text.partition("/")
    if not sep:
        raise ValueError(f"interface address needs a prefix length, like 2001:db8::2/64: {text!r}")
    if not (plen.isascii() and plen.isdigit()) or len(plen) > 3 or not 0 < int(plen) <= 128:
        raise ValueError(f"prefix length must be 1..128 in {text!r}")
    return to_int(addr), int(plen)


def header(src: int, dst: int, next_header: int, payload_len: int, hop_limit: int) -> bytes:
    """The 40-byte fixed header (RFC 8200 §3), traffic class and flow label zero."""
    return _FIXED.pack(
        6 << 28,
        payload_len,
        next_header,
        hop_limit,
        src.to_bytes(16, "big"),
        dst.to_bytes(16, "big"),
    )


class ParameterProblem(PacketError):
    """A packet the destination must discard and answer with an ICMPv6 Parameter
    Problem (RFC 4443 §3.4): ``code`` and ``pointer`` (an offset into the packet)."""

    def __init__(self, message: str, code: int, pointer: int) -> None:
        super().__init__(message)
        self.code = code
        self.pointer = pointer


PP_HEADER = 0  # erroneous header field encountered
PP_NEXT_HEADER = 1  # unrecognized Next Header type
PP_OPTION = 2  # unrecognized IPv6 option


@dataclass(slots=True)
class Fragment:
    """The Fragment header of a packet (RFC 8200 §4.5)."""

    ident: int
    offset: int
    more: bool
    next_header: int
    """The header that starts the fragmentable part."""


@dataclass(slots=True)
class Packet:
    """A parsed IPv6 packet: the upper-layer protocol and its payload (a view)."""

    src: int
    dst: int
    next_header: int
    hop_limit: int
    packet: memoryview
    """The whole packet (header to payload-length end), quoted in ICMPv6 errors."""
    payload: memoryview
    fragment: Fragment | None


def _options(data: memoryview, start: int, end: int, multicast: bool) -> None:
    """Walk the TLV options of a Hop-by-Hop or Destination Options header (RFC 8200
    §4.2): Pad1, PadN and unknown options by the two high bits of their type."""
    i = start
    while i < end:
        kind = data[i]
        if kind == 0:  # Pad1
            i += 1
            continue
        if i + 2 > end or i + 2 + data[i + 1] > end:
            raise ParameterProblem("ipv6: option runs past its header", PP_HEADER, i)
        if kind != 1:
            action = kind >> 6
            if action == 1:
                raise PacketError(f"ipv6: unknown option {kind} (discard)")
            if action == 2 or (action == 3 and not multicast):
                raise ParameterProblem(f"ipv6: unknown option {kind}", PP_OPTION, i)
            if action == 3:
                raise PacketError(f"ipv6: unknown option {kind} to a multicast group")
        i += 2 + data[i + 1]


def walk(
    data: memoryview, next_header: int, offset: int, dst: int
) -> tuple[int, int, Fragment | None]:
    """Follow the extension headers from ``offset`` (RFC 8200 §4.1):
    ``(upper protocol, its offset, fragment header or None)``. Stops at a Fragment
    header: what follows it is walked again after reassembly."""
    count = 0
    first = offset == HEADER_LEN
    end = len(data)
    while True:
        if next_header not in (HOPOPT, ROUTING, FRAGMENT, DSTOPTS):
            return next_header, offset, None  # an upper layer (or ESP/AH: not ours to open)
        count += 1
        if count > MAX_EXTENSION_HEADERS:
            raise PacketError(f"ipv6: more than {MAX_EXTENSION_HEADERS} extension headers")
        if offset + 8 > end:
            raise ParameterProblem("ipv6: truncated extension header", PP_HEADER, offset)
        nh = data[offset]
        if next_header == FRAGMENT:
            _, _, off_flags, ident = _FRAG.unpack_from(data, offset)
            return nh, offset + 8, Fragment(ident, off_flags & 0xFFF8, bool(off_flags & 1), nh)
        length = (data[offset + 1] + 1) * 8
        if offset + length > end:
            raise ParameterProblem("ipv6: extension header past the packet", PP_HEADER, offset + 1)
        if next_header == HOPOPT:
            if not first:  # RFC 8200 §4.1: only immediately after the fixed header
                raise ParameterProblem("ipv6: misplaced hop-by-hop", PP_NEXT_HEADER, 6)
            _options(data, offset + 2, offset + length, is_multicast(dst))
        elif next_header == DSTOPTS:
            _options(data, offset + 2, offset + length, is_multicast(dst))
        else:  # ROUTING, RFC 8200 §4.4: we know no routing type (type 0 is gone, RFC 5095)
            if data[offset + 3]:  # segments left
                raise ParameterProblem("ipv6: unknown routing type", PP_HEADER, offset + 2)
        first = False
        next_header = nh
        offset += length


def parse(data: memoryview) -> Packet:
    """Check one packet and walk its extension headers; :class:`PacketError` (or its
    :class:`ParameterProblem`) names what is wrong."""
    if len(data) < HEADER_LEN:
        raise PacketError(f"ipv6: packet of {len(data)} bytes is shorter than a header")
    vtcfl, plen, nh, hops, src, dst = _FIXED.unpack_from(data)
    if vtcfl >> 28 != 6:
        raise PacketError(f"ipv6: version {vtcfl >> 28}")
    if HEADER_LEN + plen > len(data):
        raise PacketError(f"ipv6: payload length {plen} with {len(data) - HEADER_LEN} bytes")
    if plen == 0 and nh == HOPOPT:
        raise PacketError("ipv6: jumbograms are not supported (RFC 2675)")
    data = data[: HEADER_LEN + plen]  # link padding dropped
    s = int.from_bytes(src, "big")
    d = int.from_bytes(dst, "big")
    proto, at, frag = walk(data, nh, HEADER_LEN, d)
    if frag is not None:
        if frag.more and (len(data) - at) % 8:
            # RFC 8200 §4.5: not a multiple of 8 octets and M set; point at payload length
            raise ParameterProblem("ipv6: fragment length not a multiple of 8", PP_HEADER, 4)
        if frag.offset + len(data) - at > MAX_PAYLOAD:
            raise ParameterProblem("ipv6: fragment past 65535 bytes", PP_HEADER, at - 6)
        if frag.offset == 0 and not frag.more:
            # an atomic fragment (RFC 6946 §4): processed on its own, never reassembled
            proto, at, nested = walk(data, frag.next_header, at, d)
            if nested is not None:
                raise PacketError("ipv6: a fragment header inside a fragment")
            frag = None
    return Packet(s, d, proto, hops, data, data[at:], frag)


def fragment(
    src: int, dst: int, next_header: int, payload: bytes, ident: int, mtu: int, hop_limit: int
) -> list[bytes]:
    """Source fragmentation to ``mtu`` (RFC 8200 §4.5): each piece but the last a
    multiple of 8 octets, each with a Fragment header."""
    step = ((mtu - HEADER_LEN - 8) // 8) * 8
    if step <= 0:
        raise ValueError(f"MTU {mtu} too small to fragment")
    out = []
    view = memoryview(payload)
    for off in range(0, len(payload), step):
        chunk = view[off : off + step]
        more = off + step < len(payload)
        frag = _FRAG.pack(next_header, 0, off | more, ident)
        out.append(header(src, dst, FRAGMENT, 8 + len(chunk), hop_limit) + frag + bytes(chunk))
    return out


@dataclass
class _Partial:
    timer: Timer | None
    pieces: dict[int, bytes]
    next_header: int = -1
    received: int = 0
    total: int | None = None
    first: bytes | None = None
    """The packet that carried offset 0, quoted if reassembly times out."""


class Reassembler:
    """Bounded reassembly (RFC 8200 §4.5): at most ``max_datagrams`` in progress (the
    oldest goes), each given up ``timeout`` seconds (60 in the RFC) after its first
    fragment arrived, overlapping fragments discard the whole datagram (RFC 5722).
    ``dropped`` counts every loss; ``on_timeout(first fragment)`` lets the stack send
    Time Exceeded code 1 when the offset-0 fragment had come (RFC 8200 §4.5)."""

    def __init__(
        self,
        sched: Scheduler,
        *,
        timeout: float = 60.0,
        max_datagrams: int = 64,
        on_timeout: Callable[[bytes], None] | None = None,
    ):
        self.sched = sched
        self.timeout = timeout
        self.max_datagrams = max_datagrams
        self.on_timeout = on_timeout
        self._partials: dict[tuple[int, int, int], _Partial] = {}
        self.dropped = 0

    def _drop(self, key: tuple[int, int, int]) -> None:
        part = self._partials.pop(key)
        if part.timer is not None:
            part.timer.stop()
        self.dropped += 1

    def _expire(self, key: tuple[int, int, int], part: _Partial) -> None:
        if self._partials.get(key) is not part:
            return
        del self._partials[key]
        self.dropped += 1
        if part.first is not None and self.on_timeout is not None:
            self.on_timeout(part.first)

    def __len__(self) -> int:
        return len(self._partials)

    def add(self, pkt: Packet) -> tuple[int, bytes] | None:
        """Add a fragment; ``(next header, fragmentable part)`` once all are in."""
        frag = pkt.fragment
        assert frag is not None
        partials = self._partials
        key = (pkt.src, pkt.dst, frag.ident)
        part = partials.get(key)
        if part is None:
            if len(partials) >= self.max_datagrams:
                self._drop(next(iter(partials)))
            part = partials[key] = _Partial(None, {})
            part.timer = self.sched.call_later(self.timeout, partial(self._expire, key, part))
        data = bytes(pkt.payload)
        start = frag.offset
        end = start + len(data)
        if not frag.more:
            if part.total is not None and part.total != end:
                self._drop(key)
                return None
            part.total = end
        if part.total is not None and end > part.total:
            self._drop(key)
            return None
        for s, piece in part.pieces.items():
            if s < end and start < s + len(piece):
                if s == start and piece == data:
                    return None  # an exact duplicate
                self._drop(key)  # RFC 5722: overlap discards the datagram
                return None
        if start == 0:
            part.next_header = frag.next_header
            part.first = bytes(pkt.packet)
        part.pieces[start] = data
        part.received += len(data)
        if part.total is None or part.received != part.total or part.next_header < 0:
            return None
        del partials[key]
        if part.timer is not None:
            part.timer.stop()
        return part.next_header, b"".join(part.pieces[s] for s in sorted(part.pieces))
