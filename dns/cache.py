"""A bounded, TTL-respecting answer cache with negative caching (RFC 2308).

The resolver keys entries by ``(name, type, class)`` with the name lower-cased and
absolute. A positive entry lives for the smallest TTL of the answer's records; a negative
one (NXDOMAIN or NODATA) for ``min(SOA TTL, SOA MINIMUM)`` (RFC 2308 section 5), capped by
:attr:`Cache.max_negative_ttl`. When full, the least recently used entry goes. Time comes
from the caller (the backend's monotonic clock), so the cache has no clock of its own and
tests can drive it.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Generic, TypeVar

V = TypeVar("V")

CacheKey = tuple[str, int, int]
"""``(lower-case absolute name, rtype, rclass)``."""


class Cache(Generic[V]):
    """An LRU cache of resolver results that expire with their TTL.

    Args:
        max_entries: entries kept at most (least recently used evicted first).
        max_ttl: cap on a positive entry's lifetime in seconds (RFC 8767 suggests a week;
            the default, one day, is what most resolvers use).
        max_negative_ttl: cap on a negative entry's lifetime (RFC 2308: 3 hours).
    """

    def __init__(
        self,
        max_entries: int = 10_000,
        *,
        max_ttl: int = 86_400,
        max_negative_ttl: int = 10_800,
    ) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be at least 1, got {max_entries}")
        self.max_entries = max_entries
        self.max_ttl = max_ttl
        self.max_negative_ttl = max_negative_ttl
        self._entries: OrderedDict[CacheKey, tuple[float, V]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(name: str, rtype: int, rclass: int = 1) -> CacheKey:
        """The cache key for a question: the name lower-cased, with its trailing dot."""
        name = name.lower()
        if not name.endswith("."):
            name += "."
        return (name, rtype, rclass)

    def get(self, key: CacheKey, now: float) -> tuple[V, int] | None:
        """The live entry for ``key`` and its remaining TTL in whole seconds, or None."""
        entry = self._entries.get(key)
        if entry is None:
            self.misses += 1
            return None
        expires, value = entry
        if now >= expires:
            del self._entries[key]
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return value, int(expires - now)

    def put(self, key: CacheKey, value: V, ttl: int, now: float, *, negative: bool = False) -> None:
        """Store ``value`` for ``ttl`` seconds (capped); a TTL of 0 is not cached."""
        cap = self.max_negative_ttl if negative else self.max_ttl
        ttl = min(ttl, cap)
        if ttl <= 0:
            self._entries.pop(key, None)
            return
        self._entries[key] = (now + ttl, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def purge(self, now: float) -> int:
        """Drop every expired entry; return how many went."""
        dead = [k for k, (expires, _) in self._entries.items() if now >= expires]
        for k in dead:
            del self._entries[k]
        return len(dead)

    def clear(self) -> None:
        """Forget everything."""
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries


__all__ = ["Cache", "CacheKey"]
