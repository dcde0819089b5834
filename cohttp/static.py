"""A static file server with virtual hosts.

::

    site = cohttp.static.VirtualHosts(
        {"www.ocaml.test": "examples/site/www.ocaml.test",
         "opam.ocaml.test": "examples/site/opam.ocaml.test"},
        default="examples/site/default",
    )
    server = cohttp.Server(site)

:class:`StaticFiles` serves one document root: index files, an HTML directory listing,
MIME types, ``Range`` (206, several ranges as multipart/byteranges, 416), ``If-Range``,
``ETag`` with ``If-None-Match``, ``Last-Modified`` with ``If-Modified-Since``, HEAD, and
precompressed ``.br``/``.gz`` siblings. Paths never escape the root: ``..`` segments
(encoded or not), encoded slashes and NUL are refused, and a symbolic link whose target lies
outside the root is answered 404 like a missing file.

Small files are answered from memory (a bounded cache, checked against the disk at most
once a second by default: see :class:`StaticFiles`); the others are sent as
:class:`~cohttp.types.FileBody`, which the server sends with ``sendfile`` on kernel flows
and reads in a worker thread elsewhere (mirage, TLS).
"""

from __future__ import annotations

import html
import mimetypes
import os
import secrets
import stat as _stat
import time
from collections.abc import AsyncIterator, Iterable, Mapping
from email.utils import formatdate
from pathlib import Path

from uri import UriError, pct_decode_bytes, pct_encode

from ._filecache import CachedFile, Field, FileCache, Variant, file_key, read_small
from .codec import parse_http_date, parse_number
from .compression import Policy, choose_encoding, compress_response
from .headers import Headers
from .server import Handler
from .types import FileBody, Request, Response

_TEXT_TYPES = ("text/", "application/javascript", "application/json", "image/svg+xml")
_EXTRA_TYPES = {
    ".md": "text/markdown",
    ".ml": "text/x-ocaml",
    ".mli": "text/x-ocaml",
    ".opam": "text/plain",
    ".webp": "image/webp",
    ".wasm": "application/wasm",
}


def content_type(path: str) -> str:
    """The MIME type for a file name (``application/octet-stream`` if unknown)."""
    ext = os.path.splitext(path)[1].lower()
    ctype = _EXTRA_TYPES.get(ext) or mimetypes.guess_type(path, strict=False)[0]
    if ctype is None:
        return "application/octet-stream"
    if ctype.startswith(_TEXT_TYPES):
        return ctype + "; charset=utf-8"
    return ctype


def _error(status: int, message: str, headers: Iterable[tuple[str, str]] = ()) -> Response:
    h = Headers([("content-type", "text/plain; charset=utf-8"), *headers])
    return Response(status, (message + "\n").encode("utf-8"), h)


def _etag_matches(header: str, etag: str) -> bool:
    """Weak comparison of ``etag`` against an If-None-Match list (RFC 9110 13.1.2)."""
    if header.strip() == "*":
        return True
    bare = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == bare for tag in header.split(","))


def _not_modified_since(header: str, mtime: float) -> bool:
    """Whether If-Modified-Since ``header`` says the client's copy is current.

    RFC 9110 13.1.3: an invalid date is ignored, and so is a date later than the
    server's clock (the client's clock is wrong, its copy may be stale).
    """
    when = parse_http_date(header)
    if when is None or when > time.time():
        return False
    return int(mtime) <= when


MAX_RANGES = 16
"""Range specs accepted in one request; a header with more is ignored (RFC 9110 14.2)."""


def parse_ranges(
    header: str, size: int, max_ranges: int = MAX_RANGES
) -> list[tuple[int, int]] | str | None:
    """Parse a ``bytes`` Range header against a ``size``-byte representation.

    Returns the ranges to send as ``(first, last)`` pairs (inclusive), sorted, with
    overlapping and adjacent ones merged (RFC 9110 14.6 lets a server coalesce them);
    ``None`` to ignore the header and send the whole representation (another unit, an
    invalid range-spec, or more than ``max_ranges`` specs: RFC 9110 14.2's guard against
    abuse); or ``"unsatisfiable"`` (416) when no spec overlaps the representation.
    """
    unit, _, range_set = header.partition("=")
    if unit.strip().lower() != "bytes":
        return None
    specs = [spec for spec in range_set.split(",") if spec.strip(" \t")]  # 5.6.1: empties
    if not specs or len(specs) > max_ranges:
        return None
    ranges: list[tuple[int, int]] = []
    for spec in specs:
        first_s, dash, last_s = spec.strip(" \t").partition("-")
        if not dash:
            return None
        # 1*DIGIT, ASCII only and at most 18 of them; anything else makes the range-spec
        # invalid, and an invalid Range is ignored (RFC 9110 14.2): the whole file, 200.
        first = parse_number(first_s) if first_s else -1
        last = parse_number(last_s) if last_s else -1
        if first is None or last is None:
            return None
        if first < 0:  # suffix-range: the last `last` bytes
            if last < 0:
                return None
            if last > 0 and size > 0:
                ranges.append((max(0, size - last), size - 1))
        elif last >= 0 and last < first:
            return None  # invalid range-spec: ignore the header
        elif first < size:
            ranges.append((first, size - 1 if last < 0 else min(last, size - 1)))
    if not ranges:
        return "unsatisfiable"
    ranges.sort()
    merged = [ranges[0]]
    for first, last in ranges[1:]:
        top_first, top_last = merged[-1]
        if first <= top_last + 1:
            merged[-1] = (top_first, max(top_last, last))
        else:
            merged.append((first, last))
    return merged


class StaticFiles:
    """A handler serving the files under ``root``.

    ``index``: file names tried for a directory; ``listing``: an HTML listing when none
    exists (else 404); ``cache_control``: sent with every file (``None`` for none).

    The cache (nginx's ``open_file_cache``): what a request path resolved to is remembered,
    with the response fields prebuilt and, for files of at most ``cache_file_size`` bytes,
    the bytes themselves (at most ``cache_entries`` paths and ``cache_bytes`` bytes, least
    recently used first out). A hit makes no system call. An entry is checked again (the
    path resolved, the file and its siblings stat'ed, the file re-read if its
    ``(device, inode, size, mtime)`` changed) once ``revalidate`` seconds have passed since
    its last check: a change on disk (rewritten, replaced, deleted, a symbolic link moved)
    is seen within ``revalidate`` seconds (nginx's ``open_file_cache_valid``; 0: at every
    request). A small file is read on the event loop when it is missed, as nginx reads
    without aio; larger ones are sent by the server (``sendfile`` on kernel flows).

    ``precompressed``: serve ``file.br`` or ``file.gz`` instead of ``file`` to a client
    that accepts that coding (Accept-Encoding, by q-value; br first on a tie), when the
    sibling is a regular file inside the root and not older than the file (nginx's
    ``gzip_static``); never for a Range request. Responses for a file that has such a
    sibling carry ``Vary: Accept-Encoding``.

    ``compress``: a :class:`~cohttp.compression.Policy` to compress responses on the fly
    (nginx's ``gzip on``; ``cohttp serve --gzip``) when no precompressed sibling serves
    the client: a cached file's compressed bytes are kept beside it (made once per coding,
    counted against ``cache_bytes``), a larger file is compressed as it is read. Never for
    a Range request (ranges count bytes of the file as it is); the ETag is weakened.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        index: Iterable[str] = ("index.html", "index.htm"),
        listing: bool = True,
        cache_control: str | None = "no-cache",
        precompressed: bool = True,
        revalidate: float = 1.0,
        cache_entries: int = 1024,
        cache_bytes: int = 16 << 20,
        cache_file_size: int = 256 << 10,
        compress: Policy | None = None,
    ) -> None:
        real = os.path.realpath(root)
        if not os.path.isdir(real):
            raise NotADirectoryError(f"document root {os.fspath(root)!r} is not a directory")
        self.root = real
        self.index = tuple(index)
        self.listing = listing
        self.cache_control = cache_control
        self.precompressed = precompressed
        self.revalidate = revalidate
        self.cache_file_size = cache_file_size
        self.cache = FileCache(cache_entries, cache_bytes)
        self.compress = compress

    async def __call__(self, request: Request) -> Response:
        """Serve ``request`` (the :data:`~cohttp.server.Handler` protocol)."""
        return self.respond(request)

    def resolve(self, path: str) -> tuple[str, list[str]] | Response:
        """Map a percent-encoded request path to a real path inside the root.

        Returns ``(real path, decoded segments)`` or the error response to send.
        """
        if not path.startswith("/"):
            return _error(400, "the request target must be an absolute path")
        segments: list[str] = []
        for raw in path.split("/")[1:]:
            try:
                segment = pct_decode_bytes(raw).decode("utf-8")
            except (UriError, UnicodeDecodeError):
                return _error(400, "the path is not valid percent-encoded UTF-8")
            if "/" in segment or "\x00" in segment or "\\" in segment:
                return _error(404, "not found")  # encoded separators or NUL: never a file
            if segment in ("", "."):
                continue
            if segment == "..":
                return _error(404, "not found")  # no climbing, encoded or not
            segments.append(segment)
        real = os.path.realpath(os.path.join(self.root, *segments))
        if not self._inside(real):
            return _error(404, "not found")  # a symlink pointing out of the root
        return real, segments

    def _inside(self, real: str) -> bool:
        return real == self.root or real.startswith(self.root + os.sep)

    def respond(self, request: Request) -> Response:
        """The response for ``request`` (synchronous: see the class's note on the cache)."""
        method = request.method
        if method != "GET" and method != "HEAD":
            return _error(405, f"method {method} not allowed", [("allow", "GET, HEAD")])
        path = request.path
        entry = self.cache.get(path)
        if entry is None or _clock() - entry.checked >= self.revalidate:
            found = self._lookup(request, path, entry)
            if isinstance(found, Response):
                if self.compress is not None:  # a listing
                    return compress_response(request, found, self.compress)
                return found
            entry = found
        return self._serve(request, entry, path)

    def _lookup(self, request: Request, path: str, old: CachedFile | None) -> CachedFile | Response:
        """Resolve ``path`` afresh: the entry to serve (cached), or a response (not cached)."""
        found = self._find(request, path)
        if isinstance(found, Response):
            self.cache.discard(path)
            return found
        real, st = found
        siblings = self._siblings(real, st) if self.precompressed else []
        now = _clock()
        key = (file_key(st), *[(coding, file_key(s)) for coding, _, s in siblings])
        if old is not None and old.key == key and old.identity.path == real:
            old.checked = now
            return old
        fields = [("content-type", "content-type", content_type(real))]
        fields.append(("last-modified", "last-modified", formatdate(st.st_mtime, usegmt=True)))
        fields.append(("accept-ranges", "accept-ranges", "bytes"))
        if self.cache_control:
            fields.append(("cache-control", "cache-control", self.cache_control))
        policy = self.compress
        if siblings or (policy is not None and policy.compressible(fields[0][2], st.st_size)):
            fields.append(("vary", "vary", "Accept-Encoding"))
        identity = Variant(real, st, None, fields)
        encoded = {coding: Variant(p, s, coding, fields) for coding, p, s in siblings}
        for variant in (identity, *encoded.values()):
            read_small(variant, self.cache_file_size)
        entry = CachedFile(identity, encoded, st.st_mtime, now)
        self.cache.put(path, entry)
        return entry

    def _find(self, request: Request, path: str) -> tuple[str, os.stat_result] | Response:
        """The regular file ``path`` names (a directory's index file), or the response."""
        resolved = self.resolve(path)
        if isinstance(resolved, Response):
            return resolved
        real, segments = resolved
        try:
            st = os.stat(real)
        except (FileNotFoundError, NotADirectoryError):
            return _error(404, "not found")
        except PermissionError:
            return _error(403, "forbidden")
        except OSError as exc:
            return _error(500, f"cannot read the file: {exc.strerror}")
        if _stat.S_ISDIR(st.st_mode):
            if not path.endswith("/"):
                location = path + "/" + (f"?{request.query}" if request.query else "")
                return Response(301, b"", {"location": location})
            for name in self.index:
                index_path = os.path.join(real, name)
                try:
                    ist = os.stat(index_path)
                except OSError:
                    continue
                if _stat.S_ISREG(ist.st_mode) and self._inside(os.path.realpath(index_path)):
                    return index_path, ist
            if self.listing:
                return self._listing(request, real, segments)
            return _error(404, "not found")
        if not _stat.S_ISREG(st.st_mode):
            return _error(404, "not found")
        return real, st

    def _siblings(self, real: str, st: os.stat_result) -> list[tuple[str, str, os.stat_result]]:
        """The precompressed siblings of ``real`` worth serving: (coding, path, stat)."""
        found = []
        for coding, suffix in _SIBLINGS:
            sibling = real + suffix
            try:
                sst = os.stat(sibling)
            except OSError:
                continue
            if (
                _stat.S_ISREG(sst.st_mode)
                and sst.st_mtime_ns >= st.st_mtime_ns  # not older than the file
                and self._inside(os.path.realpath(sibling))
            ):
                found.append((coding, sibling, sst))
        return found

    def _serve(self, request: Request, entry: CachedFile, path: str) -> Response:
        h = request.headers
        variant = entry.identity
        if not _may_negotiate(h):  # the common request: no condition, range nor codings
            if variant.body is not None:
                return _response(200, variant.body, variant.fields)
            return _response(200, FileBody(variant.path, 0, variant.size), variant.fields)
        range_header = h.get("range") if request.method == "GET" else None
        if entry.encoded and range_header is None:
            coding = choose_encoding(h.get("accept-encoding"), entry.encoded)
            if coding is not None:
                variant = entry.encoded[coding]
        policy = self.compress
        if (
            policy is not None
            and variant is entry.identity
            and range_header is None
            and "accept-encoding" in h
            and policy.compressible(variant.fields[0][2], variant.size)  # content-type
        ):
            return self._compressed(request, entry, path, policy)
        inm = h.get("if-none-match")
        if inm is not None:
            if _etag_matches(inm, variant.etag):
                return _response(304, b"", variant.fields)
        else:
            ims = h.get("if-modified-since")
            if ims is not None and _not_modified_since(ims, entry.mtime):
                return _response(304, b"", variant.fields)
        if range_header is not None:
            if_range = h.get("if-range")
            honour = True
            if if_range is not None:
                if if_range.startswith(('"', 'W/"')):
                    honour = if_range == variant.etag  # strong comparison (RFC 9110 13.1.5)
                else:
                    honour = if_range == entry.last_modified
            if honour:
                ranges = parse_ranges(range_header, variant.size)
                if ranges is not None:
                    return self._partial(variant, ranges)
        if variant.body is not None:
            return _response(200, variant.body, variant.fields)
        return _response(200, FileBody(variant.path, 0, variant.size), variant.fields)

    def _compressed(
        self, request: Request, entry: CachedFile, path: str, policy: Policy
    ) -> Response:
        """The file compressed on the fly for a client that may accept it (or not)."""
        variant = entry.identity
        h = request.headers
        inm = h.get("if-none-match")
        ims = h.get("if-modified-since")
        if (inm is not None and _etag_matches(inm, variant.etag)) or (
            inm is None and ims is not None and _not_modified_since(ims, entry.mtime)
        ):
            # If-None-Match compares weakly: the tag held may be the weakened one. The 304
            # carries the ETag the 200 would have (RFC 9110 15.4.5).
            headers = Headers._trusted(list(variant.fields))
            if choose_encoding(h.get_all("accept-encoding"), policy.codings) is not None:
                headers.set("etag", "W/" + variant.etag)
            return Response(304, b"", headers)
        body: bytes | FileBody
        body = variant.body if variant.body is not None else FileBody(variant.path, 0, variant.size)
        response = Response(200, body, Headers._trusted(list(variant.fields)))
        if variant.body is None:
            return compress_response(request, response, policy)
        memo = variant.compressed
        held = len(memo)
        compress_response(request, response, policy, memo=memo)
        if len(memo) != held:  # made now: kept with the entry, and counted
            self.cache.charge(path, len(response.body))  # type: ignore[arg-type]
        return response

    def _partial(self, variant: Variant, ranges: list[tuple[int, int]] | str) -> Response:
        """206 with one range or multipart/byteranges (RFC 9110 14.6), or 416."""
        size = variant.size
        headers = Headers._trusted(list(variant.fields))
        if isinstance(ranges, str):
            # RFC 9110 15.5.17: a 416 says the current length in Content-Range.
            headers.set("content-type", "text/plain; charset=utf-8")
            headers.add("content-range", f"bytes */{size}")
            return Response(416, b"range not satisfiable\n", headers)
        if len(ranges) == 1:
            first, last = ranges[0]
            headers.add("content-range", f"bytes {first}-{last}/{size}")
            if variant.body is not None:
                return Response(206, variant.body[first : last + 1], headers)
            return Response(206, FileBody(variant.path, first, last - first + 1), headers)
        boundary = secrets.token_hex(16)
        ctype = headers["content-type"]
        heads = [
            (
                f"--{boundary}\r\ncontent-type: {ctype}\r\n"
                f"content-range: bytes {first}-{last}/{size}\r\n\r\n"
            ).encode("latin-1")
            for first, last in ranges
        ]
        tail = f"--{boundary}--\r\n".encode("latin-1")
        headers.set("content-type", f"multipart/byteranges; boundary={boundary}")
        if variant.body is not None:
            body = variant.body
            parts = []
            for head, (first, last) in zip(heads, ranges, strict=True):
                parts += [head, body[first : last + 1], b"\r\n"]
            return Response(206, b"".join([*parts, tail]), headers)
        length = sum(
            len(hd) + last - first + 3 for hd, (first, last) in zip(heads, ranges, strict=True)
        )
        headers.set("content-length", str(length + len(tail)))
        return Response(206, _multipart_from_disk(variant, heads, ranges, tail), headers)

    def _listing(self, request: Request, real: str, segments: list[str]) -> Response:
        try:
            names = sorted(os.listdir(real))
        except OSError:
            return _error(403, "forbidden")
        title = html.escape("/" + "/".join(segments) + ("/" if segments else ""))
        rows = []
        if segments:
            rows.append('<li><a href="../">../</a></li>')
        for name in names:
            full = os.path.join(real, name)
            try:
                st = os.stat(full)
            except OSError:
                continue  # a dangling symlink
            if not os.path.realpath(full).startswith(self.root + os.sep):
                continue
            is_dir = _stat.S_ISDIR(st.st_mode)
            href = pct_encode(name, "path_segment") + ("/" if is_dir else "")
            label = html.escape(name) + ("/" if is_dir else "")
            size = "" if is_dir else f" <small>({st.st_size} bytes)</small>"
            rows.append(f'<li><a href="{href}">{label}</a>{size}</li>')
        body = (
            f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>Index of {title}'
            f"</title></head>\n<body><h1>Index of {title}</h1>\n<ul>\n"
            + "\n".join(rows)
            + "\n</ul>\n</body></html>\n"
        )
        return Response.html(body)


_NEGOTIATING = frozenset(
    {"range", "if-range", "if-none-match", "if-modified-since", "accept-encoding"}
)
"""Request fields that can change which response a file gets."""


def _may_negotiate(headers: Headers) -> bool:
    """Whether the request may have a field in :data:`_NEGOTIATING` (False: it has none).

    The parser's field block, while unsplit, is searched as it is (splitting it into
    fields is most of the cost of looking): a name followed by its colon, anywhere; a
    value that happens to hold such text only sends the request down the general path.
    """
    block = headers._unsplit()
    if block is not None:
        low = block.lower()
        return (
            "range:" in low  # and if-range:
            or "if-none-match:" in low
            or "if-modified-since:" in low
            or "accept-encoding:" in low
        )
    return any(item[0] in _NEGOTIATING for item in headers._items)


_new = object.__new__


def _response(status: int, body: bytes | FileBody, fields: list[Field]) -> Response:
    """A Response around prebuilt, already validated fields (a copy of them: the caller
    may change its headers), without :class:`Response`'s checks and conversions."""
    response: Response = _new(Response)
    response.status = status
    response.body = body
    response.headers = Headers._trusted(list(fields))
    response._reason = None
    response.version = "HTTP/1.1"
    return response


_SIBLINGS = (("br", ".br"), ("gzip", ".gz"))
"""Precompressed sibling suffixes, in order of preference on equal q-values."""
_clock = time.monotonic
_PIECE = 64 * 1024


async def _multipart_from_disk(
    variant: Variant, heads: list[bytes], ranges: list[tuple[int, int]], tail: bytes
) -> AsyncIterator[bytes]:
    """The parts of a multipart/byteranges body read from the file (too big to cache).

    Read on the event loop in 64 KiB pieces (several ranges of a large file are rare: a
    download manager's, not a page's); the file must still be the one the head described.
    """
    fd = os.open(variant.path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        if file_key(os.fstat(fd)) != variant.key:
            raise OSError(f"{variant.path} changed while being sent")
        for head, (first, last) in zip(heads, ranges, strict=True):
            yield head
            offset = first
            while offset <= last:
                piece = os.pread(fd, min(_PIECE, last + 1 - offset), offset)
                if not piece:
                    raise OSError(f"{variant.path} shrank while being sent")
                offset += len(piece)
                yield piece
            yield b"\r\n"
        yield tail
    finally:
        os.close(fd)


class VirtualHosts:
    """Dispatch on the Host field: one handler (or document root) per host name.

    ``hosts`` maps a host name (case-insensitive, without port) to a handler or a directory
    (served by :class:`StaticFiles`); ``default`` answers other hosts (404 if ``None``).
    """

    def __init__(
        self,
        hosts: Mapping[str, Handler | str | os.PathLike[str]],
        default: Handler | str | os.PathLike[str] | None = None,
    ) -> None:
        self.hosts: dict[str, Handler] = {
            name.lower().rstrip("."): _as_handler(target) for name, target in hosts.items()
        }
        self.default = _as_handler(default) if default is not None else None

    @staticmethod
    def host_name(request: Request) -> str:
        """The Host field without its port, lowercased (IPv6 literals keep brackets)."""
        host = request.host.lower()
        if host.startswith("["):
            return host[: host.find("]") + 1]
        return host.rsplit(":", 1)[0].rstrip(".") if ":" in host else host.rstrip(".")

    async def __call__(self, request: Request) -> Response:
        """Serve ``request`` with the handler of its host."""
        handler = self.hosts.get(self.host_name(request), self.default)
        if handler is None:
            return _error(404, f"no site for host {request.host!r}")
        return await handler(request)


def _as_handler(target: Handler | str | os.PathLike[str]) -> Handler:
    if isinstance(target, (str, os.PathLike)):
        return StaticFiles(Path(target))
    return target


__all__ = ["MAX_RANGES", "StaticFiles", "VirtualHosts", "content_type", "parse_ranges"]
