"""Receive buffers kept as a deque of the chunks that arrived (no IO, no copies needed)."""

from __future__ import annotations

from collections import deque


def take(chunks: deque[bytes], max_bytes: int) -> bytes:
    """Remove and return up to ``max_bytes`` from the front of a non-empty ``chunks``.

    A chunk that fits whole is returned as it is (no copy); only when a read spans several
    chunks, or splits one, are bytes joined or sliced.
    """
    first = chunks[0]
    if len(first) > max_bytes:
        chunks[0] = first[max_bytes:]
        return first[:max_bytes]
    chunks.popleft()
    if len(first) == max_bytes or not chunks:
        return first
    parts = [first]
    room = max_bytes - len(first)
    while chunks and room > 0:
        nxt = chunks[0]
        if len(nxt) <= room:
            parts.append(chunks.popleft())
            room -= len(nxt)
        else:
            parts.append(nxt[:room])
            chunks[0] = nxt[room:]
            room = 0
    return b"".join(parts)
