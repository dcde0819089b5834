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


Order = tuple[int, int]
"""When a segment was sent, as RACK compares transmissions (RFC 8985 6.2 step 2, by
order rather than clock): SND.MAX at the time, then a count of retransmissions. New
data leaves in sequence order, so an original segment ending at ``end`` is
``(end, -1)``: after every retransmission made while SND.MAX was below ``end``."""


class Scoreboard:
    """What the peer has SACKed above SND.UNA, as merged ``[start, end)`` ranges, and
    HighRxt (RFC 6675 section 3); with :attr:`rack`, RACK's loss rules (RFC 8985)."""

    __slots__ = (
        "_count",
        "blocks",
        "delivered",
        "high_rxt",
        "rack",
        "reordering_seen",
        "retransmits",
    )

    def __init__(self) -> None:
        self.blocks: list[list[int]] = []
        self.high_rxt = 0
        """RFC 6675 HighRxt: the end of the last hole retransmitted."""
        self.rack = False
        """RFC 8985 6.2 with a zero reordering window (what it sets during recovery while
        no reordering has been seen): every unSACKed octet sent before a SACKed one,
        which in sequence order is every hole below the highest SACK block, is lost
        without waiting for DupThresh SACKed segments above it (RFC 6675 IsLost)."""
        self.reordering_seen = False
        """RFC 8985 RACK.reordering_seen: a segment never retransmitted was SACKed below
        data SACKed before it. From then on, RFC 6675's IsLost alone decides."""
        self.retransmits: dict[int, tuple[int, Order]] = {}
        """Retransmitted ranges not yet acknowledged: start -> (end, when sent)."""
        self.delivered: Order = (0, -1)
        """RFC 8985 RACK.xmit_ts as an :data:`Order`: the latest transmission known to
        have arrived."""
        self._count = 0

    def __bool__(self) -> bool:
        return bool(self.blocks)

    def update(self, blocks: list[tuple[int, int]], una: int, high: int) -> int:
        """Merge 32-bit SACK blocks; returns how many bytes were SACKed anew (0: the
        scoreboard did not grow). Blocks outside SND.UNA..SND.MAX (``una``..``high``)
        are ignored (RFC 2018 3, RFC 6675 5.1)."""
        sacked = self.blocks
        grew = 0
        fack = sacked[-1][1] if sacked else 0  # RFC 8985 RACK.fack, before this ACK
        seen = []
        for left32, right32 in blocks:
            left = unwrap(left32, una)
            right = unwrap(right32, una)
            if not una <= left < right <= high:
                continue
            seen.append((left, right))
            if sacked:
                top = sacked[-1]
                if top[0] <= left <= top[1]:
                    # the common case, in O(1): the highest block grows at its right
                    # edge (or is reported again); nothing lies above it to merge, and
                    # what grows lies above RACK.fack, so it is no reordering
                    if right > top[1]:
                        grew += right - top[1]
                        top[1] = right
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
                grew += end - start - covered
                if right <= fack and not self._retransmitted(left):
                    # SACKed only after data sent later, and never retransmitted: the
                    # network reordered it (RFC 8985 6.2 step 3)
                    self.reordering_seen = True
            sacked[i:j] = [[start, end]]
        if seen:
            self._arrived(seen)
        return grew

    def _retransmitted(self, seq: int) -> bool:
        if seq < self.high_rxt:
            return True
        return any(start <= seq < end for start, (end, _) in self.retransmits.items())

    def sent_again(self, start: int, end: int, snd_max: int) -> None:
        """``[start, end)`` was retransmitted now, with SND.MAX at ``snd_max``."""
        self._count += 1
        self.retransmits[start] = (end, (snd_max, self._count))

    def _arrived(self, blocks: list[tuple[int, int]]) -> None:
        """RFC 8985 6.2 step 2 for an ACK's SACK ``blocks`` (unwrapped, a D-SACK one
        included): the latest transmission known delivered. SACKed
        original data counts by its end; a retransmitted range counts when a block
        covers it (the copy that arrived may be the original, which would only make a
        later retransmission look late: RFC 8985 uses TSecr to tell, a 1 ms clock
        cannot)."""
        best = self.delivered
        top = self.highest()
        if (top, -1) > best:
            best = (top, -1)
        for start, (end, when) in self.retransmits.items():
            if when > best and any(left <= start and end <= right for left, right in blocks):
                best = when
        self.delivered = best

    def lost_retransmits(self, una: int) -> list[tuple[int, int]]:
        """Retransmitted ranges above ``una`` still unSACKed although something sent
        after them arrived (RFC 8985 6.2 step 5 with a zero reordering window): the
        retransmission was lost too."""
        if not self.rack:
            return []
        delivered = self.delivered
        lost = []
        for start, (end, when) in self.retransmits.items():
            if when < delivered and start >= una and not self.covers(start, end):
                lost.append((start, end))
        return lost

    def covers(self, start: int, end: int) -> bool:
        """Whether ``[start, end)`` lies inside one SACK block."""
        i = bisect.bisect_right(self.blocks, [start, 1 << 62]) - 1
        return i >= 0 and self.blocks[i][1] >= end

    def acked(self, una: int) -> int:
        """SND.UNA advanced to ``una``: drop what lies below it; returns how many of the
        bytes now acknowledged had been SACKed before."""
        sacked = self.blocks
        was = 0
        while sacked and sacked[0][1] <= una:
            was += sacked[0][1] - sacked[0][0]
            del sacked[0]
        if sacked and sacked[0][0] < una:
            was += una - sacked[0][0]
            sacked[0][0] = una
        retransmits = self.retransmits
        if retransmits:
            for start in [s for s, (e, _) in retransmits.items() if e <= una]:
                del retransmits[start]
        return was

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
        if self.rack and self.blocks:
            return self.blocks[-1][0]
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
        self.rack = False
        self.retransmits.clear()
        self.delivered = (0, -1)
