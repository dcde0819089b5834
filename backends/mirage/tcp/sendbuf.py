"""The send buffer and the SACK scoreboard (RFC 2018, RFC 6675 section 3).

Sequence numbers here are unwrapped integers (see :mod:`.seq`).
"""

from __future__ import annotations

import bisect

from .seq import unwrap

DUPTHRESH = 3
"""RFC 6675 2 / RFC 5681 3.2: duplicate ACKs (or SACKed segments) that signal a loss."""


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

    def lost_below(self, mss: int) -> int:
        """The sequence number below which every unSACKed octet IsLost (RFC 6675 4):
        DupThresh discontiguous SACKed blocks lie above it, or more than
        (DupThresh - 1) * SMSS SACKed bytes. 0 when nothing is lost yet."""
        above = 0
        for count, (left, right) in enumerate(reversed(self.blocks), 1):
            above += right - left
            if count >= DUPTHRESH or above > (DUPTHRESH - 1) * mss:
                return left
        return 0

    def first_hole_lost(self, mss: int) -> bool:
        """RFC 6675 IsLost(SND.UNA)."""
        return bool(self.blocks) and self.lost_below(mss) > 0

    def pipe(self, una: int, high: int, mss: int) -> int:
        """RFC 6675 SetPipe(): the octets still in the network between SND.UNA and
        SND.MAX (``high``): each unSACKed octet not deemed lost counts once, and each one
        retransmitted (below HighRxt) once more."""
        lost = self.lost_below(mss)
        rxt = self.high_rxt
        total = 0
        start = una
        for left, right in [*self.blocks, [high, high]]:
            if left > start:  # the unSACKed range [start, left)
                total += left - max(start, min(left, lost))
                if rxt > start:
                    total += min(left, rxt) - start
            if right > start:
                start = right
        return total

    def next_hole(self, una: int, mss: int, *, lost_only: bool = True) -> tuple[int, int] | None:
        """RFC 6675 NextSeg(): ``(seq, length)`` of at most one SMSS from the first
        unSACKed octet above HighRxt that is lost (rule 1), or, with ``lost_only`` False,
        that merely has SACKed data above it (rule 3)."""
        blocks = self.blocks
        if not blocks:
            return None
        limit = self.lost_below(mss) if lost_only else blocks[-1][0]
        start = max(self.high_rxt, una)
        for left, right in blocks:
            if start >= limit:
                return None
            if left > start:
                return start, min(mss, left - start)
            if right > start:
                start = right
        return None

    def rescue(self, una: int, high: int, mss: int) -> tuple[int, int] | None:
        """RFC 6675 NextSeg() rule 4: one segment that ends at the highest unSACKed
        octet below SND.MAX (``high``), or None if everything there is SACKed."""
        end = high
        for left, right in reversed(self.blocks):
            if right < end:
                break
            end = min(end, left)
        if end <= una or end <= self.high_rxt:
            # Nothing unSACKed that was not retransmitted already: the rule is for a tail
            # that no SACK can reveal, not for resending the repair just sent (a D-SACK
            # reported exactly that duplicate whenever the only hole was the first one).
            return None
        return max(una, end - mss), min(mss, end - una)

    def clear(self) -> None:
        """RFC 2018 8 / RFC 6675 5.1: after a timeout, forget what was SACKed."""
        self.blocks.clear()
        self.high_rxt = 0
