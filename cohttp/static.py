"""A static file server with virtual hosts.

::

    site = cohttp.static.VirtualHosts(
        {"www.ocaml.test": "examples/site/www.ocaml.test",
         "opam.ocaml.test": "examples/site/opam.ocaml.test"},
        default="examples/site/default",
    )
    server = cohttp.Server(site)

:class:`StaticFiles` serves one document root: index files, an HTML directory listing,
MIME types, ``Range`` (206/416), ``ETag`` with ``If-None-Match``, ``Last-Modified`` with
``If-Modified-Since``, HEAD. Paths never escape the root: ``..`` segments (encoded or not),
encoded slashes and NUL are refused, and a symbolic link whose target lies outside the root
is answered 404 like a missing file.

Files are sent as :class:`~cohttp.types.FileBody`, read in a worker thread by the server.
Metadata (``stat``) is read on the event loop: it is one system call on a local disk.
"""

from __future__ import annotations

import html
import mimetypes
import os
import stat as _stat
import time
from collections.abc import Iterable, Mapping
from email.utils import formatdate
from pathlib import Path

from uri import UriError, pct_decode_bytes, pct_encode

from .codec import parse_http_date, parse_number
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


def _etag(st: os.stat_result) -> str:
    return f'"{st.st_mtime_ns:x}-{st.st_size:x}"'


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


def parse_range(header: str, size: int) -> tuple[int, int] | str | None:
    """Parse a single ``bytes`` range against a ``size``-byte representation.

    Returns ``(first, last)`` (inclusive), ``None`` to ignore the header (not bytes, or
    several ranges: the whole file is sent instead), or ``"unsatisfiable"`` (416).
    """
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or not spec or "," in spec:
        return None
    first_s, dash, last_s = spec.strip().partition("-")
    if not dash:
        return None
    first_s, last_s = first_s.strip(), last_s.strip()
    # 1*DIGIT, ASCII only and at most 18 of them; anything else makes the range-spec
    # invalid, and an invalid Range is ignored (RFC 9110 14.2): the whole file, 200.
    first = parse_number(first_s) if first_s else -1
    last = parse_number(last_s) if last_s else -1
    if first is None or last is None:
        return None
    if first < 0:
        if last < 0:
            return None
        if last == 0 or size == 0:
            return "unsatisfiable"
        return max(0, size - last), size - 1
    if last < 0:
        last = size - 1
    elif last < first:
        return None  # invalid range-spec: ignore the header
    if first >= size:
        return "unsatisfiable"
    return first, min(last, size - 1)


class StaticFiles:
    """A handler serving the files under ``root``.

    ``index``: file names tried for a directory; ``listing``: an HTML listing when none
    exists (else 404); ``cache_control``: sent with every file (``None`` for none).
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        index: Iterable[str] = ("index.html", "index.htm"),
        listing: bool = True,
        cache_control: str | None = "no-cache",
    ) -> None:
        real = os.path.realpath(root)
        if not os.path.isdir(real):
            raise NotADirectoryError(f"document root {os.fspath(root)!r} is not a directory")
        self.root = real
        self.index = tuple(index)
        self.listing = listing
        self.cache_control = cache_control

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
        candidate = os.path.join(self.root, *segments)
        real = os.path.realpath(candidate)
        if real != self.root and not real.startswith(self.root + os.sep):
            return _error(404, "not found")  # a symlink pointing out of the root
        return real, segments

    def respond(self, request: Request) -> Response:
        """The response for ``request`` (synchronous: only ``stat`` and ``listdir``)."""
        if request.method not in ("GET", "HEAD"):
            return _error(405, f"method {request.method} not allowed", [("allow", "GET, HEAD")])
        resolved = self.resolve(request.path)
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
            if not request.path.endswith("/"):
                location = request.path + "/" + (f"?{request.query}" if request.query else "")
                return Response(301, b"", {"location": location})
            for name in self.index:
                index_path = os.path.join(real, name)
                try:
                    ist = os.stat(index_path)
                except OSError:
                    continue
                if _stat.S_ISREG(ist.st_mode) and os.path.realpath(index_path).startswith(
                    self.root + os.sep
                ):
                    return self._file(request, index_path, ist)
            if self.listing:
                return self._listing(request, real, segments)
            return _error(404, "not found")
        if not _stat.S_ISREG(st.st_mode):
            return _error(404, "not found")
        return self._file(request, real, st)

    def _file(self, request: Request, path: str, st: os.stat_result) -> Response:
        etag = _etag(st)
        headers = Headers(
            [
                ("content-type", content_type(path)),
                ("etag", etag),
                ("last-modified", formatdate(st.st_mtime, usegmt=True)),
                ("accept-ranges", "bytes"),
            ]
        )
        if self.cache_control:
            headers.add("cache-control", self.cache_control)
        h = request.headers
        inm = h.get("if-none-match")
        if inm is not None:
            if _etag_matches(inm, etag):
                return Response(304, b"", headers)
        else:
            ims = h.get("if-modified-since")
            if ims is not None and _not_modified_since(ims, st.st_mtime):
                return Response(304, b"", headers)
        size = st.st_size
        range_header = h.get("range")
        if range_header is not None and request.method == "GET":
            if_range = h.get("if-range")
            honour = True
            if if_range is not None:
                if if_range.startswith(('"', 'W/"')):
                    honour = if_range == etag  # strong comparison (RFC 9110 13.1.5)
                else:
                    honour = if_range == headers["last-modified"]
            parsed = parse_range(range_header, size) if honour else None
            if parsed == "unsatisfiable":
                headers.add("content-range", f"bytes */{size}")
                headers.set("content-type", "text/plain; charset=utf-8")
                return Response(416, b"range not satisfiable\n", headers)
            if isinstance(parsed, tuple):
                first, last = parsed
                headers.add("content-range", f"bytes {first}-{last}/{size}")
                return Response(206, FileBody(path, first, last - first + 1), headers)
        if size == 0:
            return Response(200, b"", headers)
        return Response(200, FileBody(path, 0, size), headers)

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


__all__ = ["StaticFiles", "VirtualHosts", "content_type", "parse_range"]
