"""Receive reassembly: text that arrived beyond a gap, held until the gap fills.

Segments are trimmed to the receive window before they get here (RFC 9293 3.10.7.4), and
the bytes held are bounded besides (``limit``), so a peer that sends overlapping copies at
shifting offsets cannot make the queue outgrow the window. Dropping an out-of-order
segment is always safe: the peer still has it and sends it again.
"""

from __future__ import annotations

import bisect
from collections import deque

_ENTRY_COST = 64
"""Bytes charged per held segment beside its text, so empty FIN segments count too."""


class Reassembly:
    """The out-of-order queue and the merged ranges it covers (for SACK, RFC 2018)."""

    __slots__ = ("held", "latest", "limit", "ranges", "segments")

    def __init__(self, limit: int) -> None:
        self.segments: dict[int, tuple[bytes, bool]] = {}
        """start -> (text, whether the peer's FIN follows it)."""
        self.ranges: list[list[int]] = []
        """Merged ``[start, end)`` of the text held, sorted."""
        self.latest = 0
        """Start of the most recent out-of-order segment (RFC 2018 4: its block first)."""
        self.limit = limit
        self.held = 0

    def __bool__(self) -> bool:
        return bool(self.segments)

    def add(self, seq: int, data: bytes, fin: bool) -> bool:
        """Hold ``data`` that starts at ``seq``; False if it was dropped for the bound."""
        segments = self.segments
        old = segments.get(seq)
        if old is None or len(old[0]) < len(data) or (fin and not old[1]):
            cost = len(data) + _ENTRY_COST - (len(old[0]) + _ENTRY_COST if old else 0)
            if self.held + cost > self.limit:
                return False
            self.held += cost
            segments[seq] = (data, fin)
        if data:
            self._add_range(seq, seq + len(data))
        return True

    def holds(self, start: int, end: int) -> bool:
        """Whether all of ``[start, end)`` is held already."""
        ranges = self.ranges
        i = bisect.bisect_left(ranges, [start + 1, 0]) - 1  # the last range from <= start
        return i >= 0 and end <= ranges[i][1]

    def _add_range(self, start: int, end: int) -> None:
        self.latest = start
        ranges = self.ranges
        i = bisect.bisect_left(ranges, [start, start])
        if i > 0 and ranges[i - 1][1] >= start:
            i -= 1
        j = i
        while j < len(ranges) and ranges[j][0] <= end:
            start = min(start, ranges[j][0])
            end = max(end, ranges[j][1])
            j += 1
        ranges[i:j] = [[start, end]]

    def pull(self, rcv_nxt: int, out: deque[bytes]) -> tuple[int, bool]:
        """Append the text that now follows ``rcv_nxt`` to ``out``; returns the new
        RCV.NXT (before any FIN) and whether the peer's FIN ends it."""
        segments = self.segments
        fin_reached = False
        for start in sorted(segments):
            if start > rcv_nxt:
                break
            data, fin = segments.pop(start)
            self.held -= len(data) + _ENTRY_COST
            end = start + len(data)
            if end > rcv_nxt:
                out.append(data[rcv_nxt - start :])
                rcv_nxt = end
            if fin and end == rcv_nxt:
                self.clear()
                fin_reached = True
                break
        ranges = self.ranges
        while ranges and ranges[0][1] <= rcv_nxt:
            del ranges[0]
        if not segments:
            ranges.clear()
        return rcv_nxt, fin_reached

    def sack_blocks(self) -> list[tuple[int, int]]:
        """Up to four blocks, the one holding the latest segment first, then the most
        recent others (RFC 2018 4)."""
        ranges = self.ranges
        latest = self.latest
        first = None
        for r in ranges:
            if r[0] <= latest < r[1]:
                first = r
                break
        blocks = [(first[0], first[1])] if first is not None else []
        for r in reversed(ranges):
            if len(blocks) == 4:
                break
            if r is not first:
                blocks.append((r[0], r[1]))
        return blocks

    def clear(self) -> None:
        """Forget everything held."""
        self.segments.clear()
        self.ranges.clear()
        self.held = 0
