"""The send buffer and the SACK scoreboard (RFC 2018, RFC 6675 section 3).

Sequence numbers here are unwrapped integers (see :mod:`.seq`).
"""

from __future__ import annotations

import bisect

from .seq import unwrap


class SendBuffer:
    """Data queued by the application and not yet acknowledged, from sequence ``seq``."""

    __slots__ = ("data", "seq")

    def __init__(self, seq: int) -> None:
        self.data = bytearray()
        self.seq = seq
        """Sequence number of ``data[0]``."""

    def __len__(self) -> int:
        return len(self.data)

    @property
    def end(self) -> int:
        """The sequence number after the last byte queued."""
        return self.seq + len(self.data)

    def slice(self, seq: int, n: int) -> bytearray:
        """``n`` bytes (or fewer, at the end) from sequence number ``seq``."""
        off = seq - self.seq
        return self.data[off : off + n]

    def release(self, ack: int) -> int:
        """Drop what ``ack`` acknowledges; returns how many bytes were freed."""
        end = self.seq + len(self.data)
        upto = ack if ack < end else end
        n = upto - self.seq
        if n > 0:
            del self.data[:n]
            self.seq = upto
            return n
        return 0


class Scoreboard:
    """What the peer has SACKed above SND.UNA, as merged ``[start, end)`` ranges, and
    HighRxt (RFC 6675 section 3)."""

    __slots__ = ("blocks", "high_rxt")

    def __init__(self) -> None:
        self.blocks: list[list[int]] = []
        self.high_rxt = 0
        """RFC 6675 HighRxt: the end of the last hole retransmitted."""

    def __bool__(self) -> bool:
        return bool(self.blocks)

    def update(self, blocks: list[tuple[int, int]], una: int, high: int) -> bool:
        """Merge 32-bit SACK blocks; True if the scoreboard grew. Blocks outside
        SND.UNA..SND.MAX (``una``..``high``) are ignored (RFC 2018 3, RFC 6675 5.1)."""
        sacked = self.blocks
        grew = False
        for left32, right32 in blocks:
            left = unwrap(left32, una)
            right = unwrap(right32, una)
            if not una <= left < right <= high:
                continue
            i = bisect.bisect_left(sacked, [left, left])
            if i > 0 and sacked[i - 1][1] >= left:
                i -= 1
            j = i
            start, end = left, right
            covered = 0
            while j < len(sacked) and sacked[j][0] <= end:
                covered += sacked[j][1] - sacked[j][0]
                start = min(start, sacked[j][0])
                end = max(end, sacked[j][1])
                j += 1
            if end - start > covered:
                grew = True
            sacked[i:j] = [[start, end]]
        return grew

    def acked(self, una: int) -> None:
        """SND.UNA advanced to ``una``: drop what lies below it."""
        sacked = self.blocks
        while sacked and sacked[0][1] <= una:
            del sacked[0]
        if sacked and sacked[0][0] < una:
            sacked[0][0] = una

    def sacked_bytes(self) -> int:
        """Bytes SACKed in all."""
        return sum(r - left for left, r in self.blocks)

    def highest(self) -> int:
        """The right edge of the highest block (0 if none)."""
        return self.blocks[-1][1] if self.blocks else 0

    def first_hole_lost(self, mss: int) -> bool:
        """RFC 6675 IsLost(SND.UNA): more than (DupThresh - 1) * SMSS bytes SACKed above."""
        return bool(self.blocks) and self.sacked_bytes() > 2 * mss

    def next_hole(self, una: int, mss: int) -> tuple[int, int] | None:
        """RFC 6675 NextSeg rule 1: ``(seq, length)`` of the first hole above HighRxt with
        more than DupThresh - 1 segments' worth SACKed above it (IsLost), at most one MSS."""
        start = max(self.high_rxt, una)
        above = 0
        for left, right in self.blocks:
            if right > start:
                above += right - max(left, start)
        for left, right in self.blocks:
            if right <= start:
                continue
            if left > start:
                if above <= 2 * mss:
                    return None
                return start, min(mss, left - start)
            above -= right - start
            start = right
        return None

    def clear(self) -> None:
        """RFC 2018 8 / RFC 6675 5.1: after a timeout, forget what was SACKed."""
        self.blocks.clear()
        self.high_rxt = 0
