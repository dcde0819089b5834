"""TCP options (RFC 9293 3.1, 3.2): parse and serialise.

MSS (kind 2, RFC 9293 3.7.1), window scale (kind 3, RFC 7323 2), SACK-permitted and SACK
(kinds 4 and 5, RFC 2018), timestamps (kind 8, RFC 7323 3). A malformed option (a length
under 2 or past the end) ends the scan and the rest is ignored (RFC 9293 3.1).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import NamedTuple

from .seq import HALF, MASK

NOP = 1
END = 0
KIND_MSS = 2
KIND_WSCALE = 3
KIND_SACK_PERMITTED = 4
KIND_SACK = 5
KIND_TIMESTAMP = 8

MAX_WSCALE = 14
"""RFC 7323 2.3: a larger shift is read as 14."""

TIMESTAMP_LEN = 12
"""Bytes a NOP-aligned timestamps option takes in every segment (RFC 7323 appendix A)."""

_TS = struct.Struct("!II")
_TS_FULL = struct.Struct("!III")
_TS_HEAD = 0x0101080A
"""NOP, NOP, kind 8, length 10: the layout RFC 7323 appendix A recommends, as one word."""
_TS_HEAD_BYTES = _TS_HEAD.to_bytes(4, "big")


class SynOptions(NamedTuple):
    """What a SYN (or SYN-ACK) offered."""

    mss: int | None
    wscale: int | None
    sack_permitted: bool
    timestamp: tuple[int, int] | None
    """``(TSval, TSecr)`` if the timestamps option was present (RFC 7323 3.2)."""


def _scan(opts: memoryview) -> Iterator[tuple[int, int, int]]:
    """``(kind, offset, length)`` of each well-formed option in order."""
    i, n = 0, len(opts)
    while i < n:
        kind = opts[i]
        if kind == END:
            return
        if kind == NOP:
            i += 1
            continue
        if i + 1 >= n:
            return
        length = opts[i + 1]
        if length < 2 or i + length > n:
            return  # RFC 9293 3.1: a malformed length; ignore the rest
        yield kind, i, length
        i += length


def parse_options(opts: memoryview) -> SynOptions:
    """The options of a SYN."""
    mss = wscale = None
    sack = False
    ts = None
    for kind, i, length in _scan(opts):
        if kind == KIND_MSS and length == 4:
            mss = (opts[i + 2] << 8) | opts[i + 3]
        elif kind == KIND_WSCALE and length == 3:
            wscale = min(opts[i + 2], MAX_WSCALE)
        elif kind == KIND_SACK_PERMITTED and length == 2:
            sack = True
        elif kind == KIND_TIMESTAMP and length == 10:
            ts = _TS.unpack_from(opts, i + 2)
    return SynOptions(mss, wscale, sack, ts)


_SACK_AFTER_TS = {n: struct.Struct(f"!{2 * n}I") for n in range(1, 5)}
"""The blocks of a SACK option of 1-4 blocks, read as one run of words."""


def parse_sack(opts: memoryview) -> list[tuple[int, int]]:
    """The (32-bit) blocks of a SACK option (RFC 2018 3), or none.

    The layout Linux and we send (the aligned timestamps option, then NOP, NOP, kind 5)
    is read without a scan."""
    n = len(opts)
    if n >= 24 and opts[12] == NOP and opts[13] == NOP and opts[14] == KIND_SACK:
        length = opts[15]
        count, rest = divmod(length - 2, 8)
        if not rest and 1 <= count <= 4 and 14 + length <= n and opts[:4] == _TS_HEAD_BYTES:
            words = _SACK_AFTER_TS[count].unpack_from(opts, 16)
            return [(words[j], words[j + 1]) for j in range(0, 2 * count, 2)]
    for kind, i, length in _scan(opts):
        if kind == KIND_SACK and length >= 10 and (length - 2) % 8 == 0:
            raw = bytes(opts[i + 2 : i + length])
            return [
                (int.from_bytes(raw[j : j + 4], "big"), int.from_bytes(raw[j + 4 : j + 8], "big"))
                for j in range(0, len(raw), 8)
            ]
    return []


def is_dsack(blocks: list[tuple[int, int]], ack: int) -> bool:
    """Whether the first of a segment's SACK ``blocks`` is a D-SACK (RFC 2883 4, checked
    as RFC 3708 3.2 does): it lies at or below the cumulative ``ack``, or inside the second
    block. 32-bit sequence numbers, compared modulo 2**32."""
    left, right = blocks[0]
    if (ack - right) & MASK < HALF:
        return True
    if len(blocks) > 1:
        left2, right2 = blocks[1]
        return (left - left2) & MASK < HALF and (right2 - right) & MASK < HALF
    return False


def parse_timestamp(opts: memoryview) -> tuple[int, int] | None:
    """``(TSval, TSecr)`` of a timestamps option (RFC 7323 3.2), or None.

    The layout every common stack sends (NOP, NOP, kind 8 first) is read without a scan.
    """
    if len(opts) >= 12:
        head, tsval, tsecr = _TS_FULL.unpack_from(opts)
        if head == _TS_HEAD:
            return tsval, tsecr
    for kind, i, length in _scan(opts):
        if kind == KIND_TIMESTAMP and length == 10:
            return _TS.unpack_from(opts, i + 2)
    return None


def syn_options(
    mss: int, wscale: int | None, sack: bool = False, timestamp: tuple[int, int] | None = None
) -> bytes:
    """MSS, then window scale (RFC 7323 2.2), SACK-permitted (RFC 2018 2) and timestamps
    (RFC 7323 3.2) when offered, NOP-padded to 32-bit boundaries."""
    out = b"\x02\x04" + mss.to_bytes(2, "big")
    if wscale is not None:
        out += b"\x01\x03\x03" + bytes([wscale])
    if sack:
        out += b"\x01\x01\x04\x02"
    if timestamp is not None:
        out += timestamp_option(*timestamp)
    return out


def timestamp_option(tsval: int, tsecr: int) -> bytes:
    """The timestamps option, NOP-aligned (RFC 7323 appendix A)."""
    return _TS_FULL.pack(_TS_HEAD, tsval & MASK, tsecr & MASK)


def sack_option(blocks: list[tuple[int, int]]) -> bytes:
    """A SACK option (RFC 2018 3) for up to four blocks (three beside a timestamp),
    NOP-aligned."""
    out = bytearray(b"\x01\x01\x05")
    out.append(2 + 8 * len(blocks))
    for left, right in blocks:
        out += (left & MASK).to_bytes(4, "big") + (right & MASK).to_bytes(4, "big")
    return bytes(out)
