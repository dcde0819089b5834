"""The static server's cache: what a request path resolved to, and small files' bytes.

The counterpart of nginx's ``open_file_cache``: an entry remembers the file a request path
led to (after the root containment checks), its identity ``(device, inode, size, mtime)``,
its response fields prebuilt, its bytes when it is small, and the same for its
precompressed siblings. :class:`FileCache` is a bounded LRU (entries and bytes); the static
server decides when an entry is stale (:attr:`CachedFile.checked`).
"""

from __future__ import annotations

import os
from collections import OrderedDict
from email.utils import formatdate

Key = tuple[int, int, int, int]
"""A file's identity: ``(st_dev, st_ino, st_size, st_mtime_ns)``. Any change to the file
(rewritten in place, even with the same size; replaced by another inode) changes it."""

Field = tuple[str, str, str]
"""A response field as :class:`~cohttp.headers.Headers` keeps it: (lower name, name, value)."""


def file_key(st: os.stat_result) -> Key:
    """The identity of the file ``st`` describes."""
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def etag_of(st: os.stat_result) -> str:
    """A strong entity tag from the modification time and size (as nginx forms its own)."""
    return f'"{st.st_mtime_ns:x}-{st.st_size:x}"'


class Variant:
    """One representation of a file: the file itself, or a precompressed sibling of it."""

    __slots__ = ("body", "coding", "compressed", "etag", "fields", "key", "path", "size")

    def __init__(
        self, path: str, st: os.stat_result, coding: str | None, fields: list[Field]
    ) -> None:
        self.path = path
        self.key = file_key(st)
        self.size = st.st_size
        self.coding = coding
        self.etag = etag_of(st)
        self.fields = [*fields, ("etag", "etag", self.etag)]
        """Content-Type, ETag, Last-Modified, ...: everything but the framing."""
        if coding is not None:
            self.fields.append(("content-encoding", "content-encoding", coding))
        self.body: bytes | None = None
        """The whole file when it is small enough to keep in memory."""
        self.compressed: dict[str, bytes] = {}
        """``body`` compressed on the fly, by coding (kept once made; see
        :meth:`FileCache.charge`)."""


class CachedFile:
    """What a request path leads to: the file's representations and when they were checked.

    ``identity`` is the file; ``encoded`` maps a content coding (``br``, ``gzip``) to a
    precompressed sibling, in the server's order of preference. ``key`` covers the file
    and its siblings: when it differs on revalidation, the entry is rebuilt.
    """

    __slots__ = ("checked", "encoded", "identity", "key", "last_modified", "mtime")

    def __init__(
        self,
        identity: Variant,
        encoded: dict[str, Variant],
        mtime: float,
        checked: float,
    ) -> None:
        self.identity = identity
        self.encoded = encoded
        self.mtime = mtime
        self.last_modified = formatdate(mtime, usegmt=True)
        self.key = (identity.key, *[(c, v.key) for c, v in encoded.items()])
        self.checked = checked
        """When the path was last resolved and the files stat'ed (the server's clock)."""

    @property
    def cost(self) -> int:
        """The bytes this entry keeps in memory."""
        return sum(len(v.body) for v in (self.identity, *self.encoded.values()) if v.body)


def read_small(variant: Variant, limit: int) -> None:
    """Keep ``variant``'s bytes in memory if the file has at most ``limit`` bytes.

    The bytes are kept only if the file read is the one that was stat'ed: same identity
    before and after reading (a file being rewritten is served from disk until it settles).
    """
    if variant.size > limit:
        return
    try:
        fd = os.open(variant.path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return
    try:
        if file_key(os.fstat(fd)) != variant.key:
            return
        parts = []
        left = variant.size
        while left > 0:
            piece = os.read(fd, left)
            if not piece:
                return
            parts.append(piece)
            left -= len(piece)
        if os.read(fd, 1) or file_key(os.fstat(fd)) != variant.key:
            return
        variant.body = b"".join(parts)
    except OSError:
        return
    finally:
        os.close(fd)


class FileCache:
    """A bounded LRU of :class:`CachedFile` by request path.

    At most ``max_entries`` entries, and at most ``max_bytes`` bytes of file contents held
    among them; the least recently used entries go first.
    """

    def __init__(self, max_entries: int = 1024, max_bytes: int = 16 << 20) -> None:
        if max_entries < 1 or max_bytes < 0:
            raise ValueError("the cache needs room for at least one entry")
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.bytes = 0
        """The bytes of file contents held now."""
        self._entries: OrderedDict[str, CachedFile] = OrderedDict()
        self._costs: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, path: str) -> CachedFile | None:
        """The entry for ``path`` (now the most recently used), or None."""
        entry = self._entries.get(path)
        if entry is not None:
            self._entries.move_to_end(path)
        return entry

    def put(self, path: str, entry: CachedFile) -> None:
        """Remember ``entry`` for ``path``, evicting the least recently used beyond bounds."""
        self.discard(path)
        cost = entry.cost
        if cost > self.max_bytes:
            return
        self._entries[path] = entry
        self._costs[path] = cost
        self.bytes += cost
        while len(self._entries) > self.max_entries or self.bytes > self.max_bytes:
            old, _ = self._entries.popitem(last=False)
            self.bytes -= self._costs.pop(old)

    def charge(self, path: str, extra: int) -> None:
        """Count ``extra`` more bytes held by ``path``'s entry (its bytes compressed on
        the fly), evicting the least recently used beyond bounds; ``path`` itself goes
        if it alone no longer fits."""
        cost = self._costs.get(path)
        if cost is None:
            return
        if cost + extra > self.max_bytes:
            self.discard(path)
            return
        self._costs[path] = cost + extra
        self.bytes += extra
        self._entries.move_to_end(path)
        while self.bytes > self.max_bytes:
            old, _ = self._entries.popitem(last=False)
            self.bytes -= self._costs.pop(old)

    def discard(self, path: str) -> None:
        """Forget ``path`` if it is cached."""
        if self._entries.pop(path, None) is not None:
            self.bytes -= self._costs.pop(path)


__all__ = ["CachedFile", "FileCache", "Key", "Variant", "etag_of", "file_key", "read_small"]
