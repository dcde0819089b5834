"""Messages: :class:`Request`, :class:`Response`, their bodies, :class:`Method`, :class:`Version`.

A body to *send* is one of (:data:`Body`):

* ``bytes`` (or ``bytearray``/``memoryview``/``str``, UTF-8): framed with Content-Length;
* an async iterable of ``bytes``: streamed, chunked on HTTP/1.1 unless a Content-Length
  field says how long it is;
* a :class:`FileBody`: a file (or a byte range of one) streamed from disk.

A body *received* (a server's request, a client's response) is an :class:`IncomingBody`:
an async iterator of ``bytes`` pieces with ``await read()`` to take it whole and
``trailers`` once it is finished.
"""

from __future__ import annotations

import enum
import json as _json
import os
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .codec import absolute_form_parts
from .headers import Headers
from .status import reason_phrase


class Method(enum.StrEnum):
    """The methods of RFC 9110 section 9 (and PATCH, RFC 5789); any token is allowed too."""

    GET = "GET"
    HEAD = "HEAD"
    POST = "POST"
    PUT = "PUT"
    DELETE = "DELETE"
    CONNECT = "CONNECT"
    OPTIONS = "OPTIONS"
    TRACE = "TRACE"
    PATCH = "PATCH"


class Version(enum.StrEnum):
    """HTTP versions this package speaks."""

    HTTP_1_0 = "HTTP/1.0"
    HTTP_1_1 = "HTTP/1.1"


@dataclass(slots=True)
class FileBody:
    """Send ``length`` bytes of the file at ``path`` starting at ``offset``.

    ``length=None`` means to the end of the file (taken from ``os.stat`` when sending).
    The file is read in ``chunk_size`` pieces in a worker thread, never on the event loop.
    """

    path: str | os.PathLike[str]
    offset: int = 0
    length: int | None = None
    chunk_size: int = 256 * 1024

    def resolved_length(self) -> int:
        """The number of bytes this body sends."""
        if self.length is not None:
            return self.length
        return max(0, os.stat(self.path).st_size - self.offset)


class IncomingBody:
    """A received body: iterate for pieces, or ``await read()`` for all of it.

    Reading is lazy: nothing is read from the connection before the application asks, which
    gives backpressure (and lets a server hold back ``100 Continue`` until then). A body can
    be consumed once.
    """

    __slots__ = ("_consumed", "trailers")

    def __init__(self) -> None:
        self.trailers: Headers = Headers()
        """Trailer fields, filled in once the body has been read to the end."""
        self._consumed = False

    async def _next(self) -> bytes | None:
        """The next piece, or None at the end (implemented by server and client)."""
        raise NotImplementedError

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[bytes]:
        if self._consumed:
            raise RuntimeError("this body was already consumed")
        self._consumed = True
        while (piece := await self._next()) is not None:
            yield piece

    async def read(self) -> bytes:
        """The whole body (bounded by the parser's ``Limits.max_body``)."""
        return b"".join([piece async for piece in self])

    @property
    def consumed(self) -> bool:
        """Whether iteration over this body has started."""
        return self._consumed


class _BytesBody(IncomingBody):
    """An already complete body (used when a server test builds a Request by hand)."""

    __slots__ = ("_data",)

    def __init__(self, data: bytes) -> None:
        super().__init__()
        self._data: bytes | None = data

    async def _next(self) -> bytes | None:
        data, self._data = self._data, None
        return data or None


Body = bytes | bytearray | memoryview | str | AsyncIterable[bytes] | FileBody | IncomingBody | None
"""What a message body may be (see the module documentation)."""

HeadersArg = Headers | Mapping[str, str] | Iterable[tuple[str, str]] | None
"""What ``headers=`` accepts: a :class:`Headers`, a mapping or ``(name, value)`` pairs."""


def _headers(value: HeadersArg) -> Headers:
    if value.__class__ is Headers:
        return value
    return Headers(value)


def _bytes_of(body: Body) -> bytes | None:
    """The body as bytes if it is already in memory, else None."""
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, (bytearray, memoryview)):
        return bytes(body)
    if isinstance(body, str):
        return body.encode("utf-8")
    return None


async def read_body(body: Body) -> bytes:
    """Collect any :data:`Body` into bytes (a :class:`FileBody` is read synchronously)."""
    data = _bytes_of(body)
    if data is not None:
        return data
    if isinstance(body, FileBody):
        with open(body.path, "rb") as f:
            f.seek(body.offset)
            return f.read(body.resolved_length())
    assert body is not None and not isinstance(body, (bytes, bytearray, memoryview, str))
    return b"".join([bytes(piece) async for piece in body])


class Request:
    """An HTTP request: what a server handler receives and what a client sends.

    ``target`` is the request target as sent (``/path?query``); :attr:`path` and
    :attr:`query` split it. An absolute-form target (``http://host/path?query``, which a
    server must accept, RFC 9112 3.2.2) is split the same way, and then :attr:`host` is
    its authority. On a server, ``body`` is an :class:`IncomingBody`, ``remote`` the
    peer's address and ``scheme`` ``"https"`` for a request that came over TLS.
    """

    __slots__ = ("body", "headers", "method", "remote", "scheme", "stream", "target", "version")

    def __init__(
        self,
        method: str,
        target: str,
        headers: HeadersArg = None,
        body: Body = None,
        *,
        version: str = "HTTP/1.1",
        remote: tuple[str, int] | None = None,
    ) -> None:
        self.method = method
        self.target = target
        self.headers = _headers(headers)
        self.body: Body = body
        self.version = version
        self.remote = remote
        self.scheme = "http"
        self.stream: Any = None
        """On a server, the connection's :class:`~cohttp.server.ResponseStream`: a handler
        may write its response through it and return :data:`~cohttp.server.STREAMED`."""

    @property
    def path(self) -> str:
        """The target up to ``?`` (still percent-encoded; ``/`` first in every form but
        ``*`` and CONNECT's authority-form)."""
        target = self._origin_form()
        q = target.find("?")
        return target if q < 0 else target[:q]

    @property
    def query(self) -> str:
        """The target after ``?`` (empty if none)."""
        target = self._origin_form()
        q = target.find("?")
        return "" if q < 0 else target[q + 1 :]

    @property
    def host(self) -> str:
        """The host to route by, with its port if any (empty if none was sent).

        The Host field's value, except for an absolute-form target: then its authority,
        and the Host field is ignored (RFC 9112 3.2.2).
        """
        target = self.target
        if target[:1] != "/" and "://" in target:
            return absolute_form_parts(target)[0]
        return self.headers.get("host", "")

    def _origin_form(self) -> str:
        target = self.target
        if target[:1] != "/" and "://" in target:
            return absolute_form_parts(target)[1]
        return target

    async def read(self) -> bytes:
        """The whole body as bytes."""
        return await read_body(self.body)

    async def text(self, encoding: str = "utf-8") -> str:
        """The whole body decoded."""
        return (await self.read()).decode(encoding)

    async def json(self) -> Any:
        """The whole body parsed as JSON."""
        return _json.loads(await self.read())

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.target} {self.version}>"


class Response:
    """An HTTP response: what a server handler returns and what a client receives.

    >>> Response(200, b"hello", headers={"content-type": "text/plain"}).status
    200

    ``reason`` defaults to the registry's phrase. Framing fields (Content-Length,
    Transfer-Encoding, Connection) are set by the server from the body; a Content-Length
    field given with a streamed body declares its length instead of chunking it.
    """

    __slots__ = ("_reason", "body", "headers", "status", "version")

    def __init__(
        self,
        status: int = 200,
        body: Body = b"",
        headers: HeadersArg = None,
        *,
        reason: str | None = None,
        version: str = "HTTP/1.1",
    ) -> None:
        if not isinstance(status, int) or not 100 <= status <= 599:
            raise ValueError(f"status must be an int in 100..599, got {status!r}")
        self.status = status
        self.body: Body = body
        self.headers = _headers(headers)
        self._reason = reason
        self.version = version

    @property
    def reason(self) -> str:
        """The reason phrase (the registry's unless one was given)."""
        return self._reason if self._reason is not None else reason_phrase(self.status)

    @reason.setter
    def reason(self, value: str | None) -> None:
        self._reason = value

    @classmethod
    def text(cls, text: str, status: int = 200, headers: HeadersArg = None) -> Response:
        """A ``text/plain; charset=utf-8`` response."""
        h = _headers(headers).copy()
        h.setdefault("content-type", "text/plain; charset=utf-8")
        return cls(status, text.encode("utf-8"), h)

    @classmethod
    def html(cls, html: str, status: int = 200, headers: HeadersArg = None) -> Response:
        """A ``text/html; charset=utf-8`` response."""
        h = _headers(headers).copy()
        h.setdefault("content-type", "text/html; charset=utf-8")
        return cls(status, html.encode("utf-8"), h)

    @classmethod
    def json(cls, value: Any, status: int = 200, headers: HeadersArg = None) -> Response:
        """An ``application/json`` response."""
        h = _headers(headers).copy()
        h.setdefault("content-type", "application/json")
        return cls(status, _json.dumps(value).encode("utf-8"), h)

    async def read(self) -> bytes:
        """The whole body as bytes."""
        return await read_body(self.body)

    async def text_body(self, encoding: str = "utf-8") -> str:
        """The whole body decoded."""
        return (await self.read()).decode(encoding)

    async def json_body(self) -> Any:
        """The whole body parsed as JSON."""
        return _json.loads(await self.read())

    def __repr__(self) -> str:
        return f"<Response {self.status} {self.reason}>"


__all__ = [
    "Body",
    "FileBody",
    "HeadersArg",
    "IncomingBody",
    "Method",
    "Request",
    "Response",
    "Version",
    "read_body",
]
