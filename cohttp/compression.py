"""HTTP content codings: negotiation, a response policy, streaming compression, bounded decoding.

Pure functions and small classes, no IO; the server, the static file server and the client
call them (RFC 9110 section 8.4 and 12.5.3):

* Server side, per response: :meth:`Policy.decide` looks at the request's Accept-Encoding
  and Range, and the response's status and fields, and returns a :class:`Decision`;
  :meth:`Decision.apply` then sets Content-Encoding, adds ``Vary: Accept-Encoding`` and
  weakens a strong ETag, and :func:`compress_bytes`, :func:`compress_iter` or
  :func:`compress_aiter` compress the body (streaming bodies compress as they stream).
  Remove Content-Length when the body is compressed on the fly (or recompute it)::

      decision = policy.decide(request.headers, response.status, response.headers, size)
      if decision.coding is not None:
          body = compress_bytes(decision.coding, body)
      decision.apply(response.headers)

  :func:`compress_response` does all of it for one handler's response (bytes, a stream,
  or a file), :func:`compressing` wraps a whole handler, ``ServerConfig(compression=
  Policy())`` (``cohttp serve --gzip``) turns it on for a server, and
  :class:`CompressionMiddleware` wraps an ASGI application.

* Client side: :class:`Decoder` undoes a response's Content-Encoding (stacked values
  included) with a limit on the decoded size: past ``max_size`` it raises
  :class:`DecodedTooLarge` having produced at most that many bytes (a 1 KB body that
  inflates to 1 GB costs ``max_size`` bytes, not 1 GB).

gzip and deflate come from the standard library; ``br`` and ``zstd`` are offered when
the optional ``brotli`` / ``zstandard`` packages are importable (extras ``brotli`` and
``zstd``).
"""

from __future__ import annotations

import importlib
import re
import zlib
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from .codec import parse_number
from .headers import Headers
from .types import FileBody, Request, Response, _bytes_of


def _optional(module: str) -> Any:
    """An optional extra's module, or None where it is not installed."""
    try:
        return importlib.import_module(module)
    except ImportError:  # pragma: no cover - depends on the environment
        return None


_brotli = _optional("brotli")  # extra "brotli"
_zstd = _optional("zstandard")  # extra "zstd"

AVAILABLE: tuple[str, ...] = tuple(
    c for c, ok in (("zstd", _zstd), ("br", _brotli), ("gzip", True), ("deflate", True)) if ok
)
"""The codings this process can produce and decode, in the server's order of preference."""

_ALIASES = {"x-gzip": "gzip"}  # RFC 9110 8.4.1.3

_QVALUE = re.compile(r"(?:0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?)")
"""RFC 9110 12.4.2: ``qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )``;
ASCII digits only, at most three decimals."""
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]++")


def parse_qvalue(text: str) -> int | None:
    """A qvalue in thousandths (``"0.5"`` → 500), or None if it is not one."""
    if _QVALUE.fullmatch(text) is None:
        return None
    whole, _, decimals = text.partition(".")
    return int(whole) * 1000 + int((decimals + "000")[:3])


def parse_accept_encoding(values: str | Iterable[str]) -> dict[str, int]:
    """Accept-Encoding (RFC 9110 12.5.3) as ``{coding: q in thousandths}``.

    Codings are lowercased (``x-gzip`` is ``gzip``); ``*`` and ``identity`` appear as
    given. An element that is not ``token [; q=qvalue]`` is ignored, so a malformed
    element never makes a coding acceptable; a repeated coding keeps its first weight.
    """
    if isinstance(values, str):
        values = [values]
    out: dict[str, int] = {}
    for value in values:
        for element in value.split(","):
            name, *params = (p.strip(" \t") for p in element.split(";"))
            if not name:
                continue
            if _TOKEN.fullmatch(name) is None:
                continue
            q: int | None = 1000
            for param in params:
                key, eq, val = param.partition("=")
                if key.strip(" \t").lower() == "q" and eq:
                    q = parse_qvalue(val.strip(" \t"))
                else:
                    q = None  # Accept-Encoding has no other parameters
                if q is None:
                    break
            if q is None:
                continue
            coding = name.lower()
            out.setdefault(_ALIASES.get(coding, coding), q)
    return out


def choose_encoding(
    accept: str | Iterable[str] | None, available: Iterable[str] = AVAILABLE
) -> str | None:
    """The coding to answer with, or None for none (identity).

    Without Accept-Encoding no coding is used (RFC 9110 12.5.3 allows any, but a client
    that did not ask may not decode). Among ``available`` the highest q wins, ties going
    to the order of ``available``; ``*`` stands for every coding not named; q=0 excludes.
    An implicit identity never beats a listed coding; an explicit ``identity;q=X`` beats
    codings with a lower q. When everything is excluded, including identity
    (``identity;q=0`` or ``*;q=0``), the answer is still None: the RFC's advice is then an
    unencoded response (12.5.3), which the caller may turn into a 406 instead.
    """
    if accept is None:
        return None
    weights = parse_accept_encoding(accept)
    star = weights.get("*")
    best: str | None = None
    best_q = 0
    for coding in available:
        q = weights.get(coding, star if star is not None else 0)
        if q > best_q:
            best, best_q = coding, q
    if best is not None and "identity" in weights and weights["identity"] > best_q:
        return None
    return best


# -- policy ----------------------------------------------------------------------------

COMPRESSIBLE_TYPES = frozenset(
    {
        "text/*",
        "application/json",
        "application/*+json",
        "application/javascript",
        "application/xml",
        "application/*+xml",
        "application/wasm",
        "image/svg+xml",
        "image/x-icon",
        "font/ttf",
        "font/otf",
    }
)
"""Media types worth compressing; ``type/*`` and ``type/*+suffix`` are patterns."""


def _type_matches(media_type: str, patterns: frozenset[str]) -> bool:
    if media_type in patterns:
        return True
    main, _, sub = media_type.partition("/")
    if f"{main}/*" in patterns:
        return True
    _, plus, suffix = sub.rpartition("+")
    return bool(plus) and f"{main}/*+{suffix}" in patterns


@dataclass(frozen=True, slots=True)
class Decision:
    """What :meth:`Policy.decide` concluded for one response."""

    coding: str | None
    """The coding to apply, or None."""
    vary: bool
    """Whether the outcome depended on Accept-Encoding (then caches must know: Vary)."""

    def apply(self, headers: Headers) -> None:
        """Set the response fields: Content-Encoding, Vary, a weak ETag (RFC 9110 8.8.3).

        Content-Length is left alone: remove or recompute it when the body is compressed.
        """
        if self.vary:
            add_vary(headers, "Accept-Encoding")
        if self.coding is None:
            return
        headers.set("Content-Encoding", self.coding)
        etag = headers.get("ETag")
        if etag is not None and etag.startswith('"'):
            # Another representation, not byte-identical to the one the strong tag names
            # (RFC 9110 8.8.1, 8.8.3): weakened, as nginx's gzip filter does since 1.7.3
            # (Apache suffixes "-gzip" instead, which breaks If-None-Match on its own
            # tags). If-None-Match compares weakly (13.1.2), so revalidation still works.
            headers.set("ETag", "W/" + etag)


def add_vary(headers: Headers, name: str) -> None:
    """Add ``name`` to the Vary field unless it is there already or Vary is ``*``."""
    present = [
        v.strip(" \t").lower() for value in headers.get_all("Vary") for v in value.split(",")
    ]
    if "*" in present or name.lower() in present:
        return
    headers.add("Vary", name)


@dataclass(frozen=True, slots=True)
class Policy:
    """When a response gets compressed.

    Never for a body under ``min_size`` bytes (when the size is known), a media type
    outside ``content_types``, a status without content or a partial one (206, or any
    response with Content-Range: ranges count bytes of the unencoded representation), an
    answer to a Range request, a response that already has a Content-Encoding (never twice), or
    ``Cache-Control: no-transform`` (RFC 9111 5.2.2.6).
    """

    min_size: int = 256
    """nginx's ``gzip_min_length`` is 20; below a few hundred bytes the coding's own
    overhead (18 bytes of gzip framing) eats most of the gain."""
    content_types: frozenset[str] = COMPRESSIBLE_TYPES
    codings: tuple[str, ...] = AVAILABLE
    level: int | None = None
    """The compression level; None: each coding's default (gzip 6 as nginx's
    ``gzip_comp_level`` advice, br 4, zstd 3)."""

    def __post_init__(self) -> None:
        unknown = [c for c in self.codings if c not in AVAILABLE]
        if unknown:
            raise ValueError(
                f"cannot compress with {', '.join(unknown)}; available: {', '.join(AVAILABLE)}"
            )
        if self.min_size < 0:
            raise ValueError("Policy.min_size must be >= 0")

    def compressible(self, content_type: str | None, size: int | None) -> bool:
        """Whether a body of this Content-Type and size (None: unknown) gets compressed
        for a client that accepts a coding."""
        media_type = (content_type or "").split(";")[0].strip(" \t").lower()
        if not _type_matches(media_type, self.content_types):
            return False
        return size is None or size >= self.min_size

    def decide(
        self,
        request_headers: Headers,
        status: int,
        response_headers: Headers,
        size: int | None = None,
    ) -> Decision:
        """Decide for one response; ``size`` is the body's length when known."""
        if status < 200 or status in (204, 206, 304) or "content-range" in response_headers:
            return Decision(None, False)
        if "range" in request_headers:
            # A handler that ignored Range answers 200 with the whole representation; left
            # unencoded, the client's next Range still counts the bytes it has.
            return Decision(None, False)
        encoding = response_headers.get("Content-Encoding")
        if encoding is not None and encoding.strip(" \t").lower() != "identity":
            return Decision(None, False)
        cache_control = response_headers.get_list("Cache-Control")
        if any(d.strip(" \t").lower() == "no-transform" for d in cache_control):
            return Decision(None, False)
        if not self.compressible(response_headers.get("Content-Type"), size):
            return Decision(None, False)
        accept = request_headers.get_all("Accept-Encoding")
        return Decision(choose_encoding(accept or None, self.codings), True)


# -- compressing -----------------------------------------------------------------------


class Encoder(Protocol):
    """A streaming compressor: feed chunks, then finish."""

    def compress(self, data: bytes) -> bytes:
        """Compress a chunk; may return b"" while the coder buffers."""
        ...

    def flush(self) -> bytes:
        """Everything so far, decodable now (for streamed responses)."""
        ...

    def finish(self) -> bytes:
        """The end of the stream."""
        ...


class _ZlibEncoder:
    __slots__ = ("_z",)

    def __init__(self, wbits: int, level: int) -> None:
        self._z = zlib.compressobj(level, zlib.DEFLATED, wbits)

    def compress(self, data: bytes) -> bytes:
        return self._z.compress(data)

    def flush(self) -> bytes:
        return self._z.flush(zlib.Z_SYNC_FLUSH)

    def finish(self) -> bytes:
        return self._z.flush(zlib.Z_FINISH)


class _BrotliEncoder:
    __slots__ = ("_c",)

    def __init__(self, level: int) -> None:
        assert _brotli is not None
        self._c = _brotli.Compressor(quality=level)

    def compress(self, data: bytes) -> bytes:
        return bytes(self._c.process(data))

    def flush(self) -> bytes:
        return bytes(self._c.flush())

    def finish(self) -> bytes:
        return bytes(self._c.finish())


class _ZstdEncoder:
    __slots__ = ("_c",)

    def __init__(self, level: int) -> None:
        assert _zstd is not None
        self._c = _zstd.ZstdCompressor(level=level).compressobj()

    def compress(self, data: bytes) -> bytes:
        return bytes(self._c.compress(data))

    def flush(self) -> bytes:
        assert _zstd is not None
        return bytes(self._c.flush(_zstd.COMPRESSOBJ_FLUSH_BLOCK))

    def finish(self) -> bytes:
        return bytes(self._c.flush())


_DEFAULT_LEVELS = {"gzip": 6, "deflate": 6, "br": 4, "zstd": 3}


def encoder(coding: str, level: int | None = None) -> Encoder:
    """A streaming compressor for ``coding`` (one of :data:`AVAILABLE`)."""
    if coding not in AVAILABLE:
        raise ValueError(f"cannot compress with {coding!r}; available: {', '.join(AVAILABLE)}")
    lvl = _DEFAULT_LEVELS[coding] if level is None else level
    if coding == "gzip":
        return _ZlibEncoder(16 + 15, lvl)
    if coding == "deflate":
        return _ZlibEncoder(15, lvl)  # RFC 9110 8.4.1.2: the zlib format, not raw deflate
    if coding == "br":
        return _BrotliEncoder(lvl)
    return _ZstdEncoder(lvl)


def compress_bytes(coding: str, data: bytes, level: int | None = None) -> bytes:
    """The whole body compressed at once."""
    enc = encoder(coding, level)
    return enc.compress(data) + enc.finish()


def compress_iter(
    coding: str, chunks: Iterable[bytes], *, level: int | None = None, flush: bool = True
) -> Iterator[bytes]:
    """Compress a body as it is produced; with ``flush``, each chunk is sent decodable."""
    enc = encoder(coding, level)
    for chunk in chunks:
        out = enc.compress(chunk) + (enc.flush() if flush else b"")
        if out:
            yield out
    yield enc.finish()


async def compress_aiter(
    coding: str, chunks: AsyncIterable[bytes], *, level: int | None = None, flush: bool = True
) -> AsyncIterator[bytes]:
    """:func:`compress_iter` for an asynchronous body."""
    enc = encoder(coding, level)
    async for chunk in chunks:
        out = enc.compress(chunk) + (enc.flush() if flush else b"")
        if out:
            yield out
    yield enc.finish()


async def _compress_file(coding: str, body: FileBody, level: int | None) -> AsyncIterator[bytes]:
    """A file's bytes compressed as they are read, one ``chunk_size`` piece at a time.

    The reads are plain blocking reads between yields, as nginx reads without aio: a
    piece of a local file costs far less than compressing it, which must hold the event
    loop anyway (zlib at level 6 runs at some 50 MB/s, the disk cache at GB/s).
    """
    enc = encoder(coding, level)
    with open(body.path, "rb") as f:
        if body.offset:
            f.seek(body.offset)
        left = body.length
        while left is None or left > 0:
            piece = f.read(body.chunk_size if left is None else min(body.chunk_size, left))
            if not piece:
                break
            if left is not None:
                left -= len(piece)
            out = enc.compress(piece)
            if out:
                yield out
    yield enc.finish()


def compress_response(
    request: Request,
    response: Response,
    policy: Policy,
    *,
    memo: dict[str, bytes] | None = None,
) -> Response:
    """Compress ``response`` for ``request`` when ``policy`` says so; returns it, changed.

    The fields come from :meth:`Decision.apply` (Content-Encoding, Vary, a weak ETag) and
    Content-Length goes (the server frames the new body). An in-memory body is compressed
    at once (``memo``, a per-representation dict, keeps the result by coding for the next
    request: the static server's cache passes one); a file is compressed as it is read; a
    stream as it streams, each piece flushed so a client can decode what has come
    (server-sent events stay live). A HEAD gets the fields a GET would: an in-memory body
    is still compressed for its Content-Length, a file or stream is never read.
    """
    body = response.body
    headers = response.headers
    data = _bytes_of(body)
    size: int | None
    if data is not None:
        size = len(data)
    elif isinstance(body, FileBody):
        size = body.length
    else:
        size = parse_number(headers.get("Content-Length", ""))
    decision = policy.decide(request.headers, response.status, headers, size)
    decision.apply(headers)
    coding = decision.coding
    if coding is None:
        return response
    headers.remove("Content-Length")
    if data is not None:
        compressed = None if memo is None else memo.get(coding)
        if compressed is None:
            compressed = compress_bytes(coding, data, policy.level)
            if memo is not None:
                memo[coding] = compressed
        response.body = compressed
    elif isinstance(body, FileBody):
        response.body = _compress_file(coding, body, policy.level)
    else:
        assert body is not None and not isinstance(body, (bytes, bytearray, memoryview, str))
        response.body = compress_aiter(coding, body, level=policy.level)
    return response


def compressing(
    handler: Callable[[Request], Awaitable[Response]], policy: Policy | None = None
) -> Callable[[Request], Awaitable[Response]]:
    """A handler answering as ``handler`` does, its responses compressed by ``policy``.

    A response the handler wrote itself through ``request.stream`` (returning
    ``STREAMED``), or a connection it took over, is left alone.
    """
    pol = Policy() if policy is None else policy

    async def compressed(request: Request) -> Response:
        response = await handler(request)
        stream = request.stream
        if stream is not None and stream.status:
            return response
        return compress_response(request, response, pol)

    compressed.__wrapped__ = handler  # type: ignore[attr-defined]
    return compressed


class CompressionMiddleware:
    """An ASGI middleware: the app's HTTP responses compressed by ``policy``.

    For ``cohttp run`` (or any ASGI server)::

        app = CompressionMiddleware(app, Policy(min_size=512))

    The decision waits for the first body message: a body sent whole is compressed whole
    (its Content-Length set anew), a streamed one (``more_body``) piece by piece, each
    piece flushed so what was sent can be decoded (server-sent events stay live).
    WebSocket and lifespan scopes pass through.
    """

    def __init__(self, app: Callable[..., Awaitable[None]], policy: Policy | None = None) -> None:
        self.app = app
        self.policy = Policy() if policy is None else policy

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """The ASGI application interface."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_headers = Headers(
            [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope.get("headers", ())]
        )
        policy = self.policy
        start: Any = None
        enc: Encoder | None = None
        decided = False

        async def compressing_send(message: Any) -> None:
            nonlocal start, enc, decided
            kind = message["type"]
            if kind == "http.response.start" and not decided:
                start = message
                return
            if decided or start is None:
                if enc is not None and kind == "http.response.body":
                    more = message.get("more_body", False)
                    out = enc.compress(message.get("body", b""))
                    out += enc.flush() if more else enc.finish()
                    await send({"type": kind, "body": out, "more_body": more})
                    return
                await send(message)
                return
            decided = True
            if kind != "http.response.body":  # an extension's message: send as it is
                await send(start)
                await send(message)
                return
            body = message.get("body", b"")
            more = message.get("more_body", False)
            headers = Headers(
                [(k.decode("latin-1"), v.decode("latin-1")) for k, v in start.get("headers", ())]
            )
            size = parse_number(headers.get("Content-Length", "")) if more else len(body)
            decision = policy.decide(request_headers, start["status"], headers, size)
            decision.apply(headers)
            coding = decision.coding
            if coding is not None:
                headers.remove("Content-Length")
                if more:
                    enc = encoder(coding, policy.level)
                    body = enc.compress(body) + enc.flush()
                else:
                    body = compress_bytes(coding, body, policy.level)
                    headers.set("Content-Length", str(len(body)))
            await send(
                {
                    **start,
                    "headers": [
                        (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers
                    ],
                }
            )
            await send({"type": kind, "body": body, "more_body": more})

        await self.app(scope, receive, compressing_send)


# -- decoding --------------------------------------------------------------------------


class DecodingError(ValueError):
    """A Content-Encoding that cannot be undone: unknown, corrupt or truncated."""


class DecodedTooLarge(DecodingError):
    """Decoding would produce more than the limit; at most the limit was produced."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the decoded body exceeds the limit of {limit} bytes")
        self.limit = limit


class _Stage(Protocol):
    def feed(self, data: bytes, limit: int) -> bytes: ...

    def finish(self) -> None: ...


class _ZlibStage:
    """gzip (members in sequence, RFC 1952 2.2) or deflate (zlib format; raw deflate, as
    some servers wrongly send, is recognised by its missing header)."""

    __slots__ = ("_gzip", "_z")

    def __init__(self, gzip: bool) -> None:
        self._gzip = gzip
        self._z: Any = None

    def _new(self, first: bytes) -> Any:
        if self._gzip:
            return zlib.decompressobj(16 + 15)
        zlib_header = (
            len(first) >= 2 and (first[0] & 0x0F) == 8 and (first[0] << 8 | first[1]) % 31 == 0
        )
        return zlib.decompressobj(15 if zlib_header else -15)

    def feed(self, data: bytes, limit: int) -> bytes:
        out = b""
        while data:
            z = self._z
            if z is None:
                z = self._z = self._new(data)
            try:
                chunk = z.decompress(data, limit - len(out) + 1)
            except zlib.error as exc:
                raise DecodingError(f"corrupt {'gzip' if self._gzip else 'deflate'} data: {exc}")
            out += chunk
            if len(out) > limit:
                raise DecodedTooLarge(limit)
            if z.eof:
                data = z.unused_data
                self._z = None
                if not self._gzip and data:
                    raise DecodingError("data after the end of the deflate stream")
            else:
                data = b""
        return out

    def finish(self) -> None:
        if self._z is not None:
            raise DecodingError(f"truncated {'gzip' if self._gzip else 'deflate'} data")


class _BrotliStage:
    __slots__ = ("_d", "_started")

    def __init__(self) -> None:
        assert _brotli is not None
        self._d = _brotli.Decompressor()
        self._started = False

    def feed(self, data: bytes, limit: int) -> bytes:
        assert _brotli is not None
        self._started = True
        try:
            out = bytes(self._d.process(data, output_buffer_limit=limit + 1))
            while len(out) <= limit and not self._d.can_accept_more_data():
                out += bytes(self._d.process(b"", output_buffer_limit=limit - len(out) + 1))
        except _brotli.error as exc:
            raise DecodingError(f"corrupt br data: {exc}") from None
        if len(out) > limit:
            raise DecodedTooLarge(limit)
        return out

    def finish(self) -> None:
        if not self._d.is_finished():
            raise DecodingError("truncated br data")


class _ZstdStage:
    """zstandard's decompressobj has no output bound, so input goes in slices small
    enough that their output cannot pass the limit: one byte of input yields at most one
    128 KiB block, so the limit may be passed by at most that much before the error."""

    __slots__ = ("_d",)

    def __init__(self) -> None:
        assert _zstd is not None
        self._d: Any = _zstd.ZstdDecompressor().decompressobj()

    def feed(self, data: bytes, limit: int) -> bytes:
        assert _zstd is not None
        out = bytearray()
        view = memoryview(data)
        pos = 0
        while pos < len(view):
            if self._d.eof:  # another frame follows (RFC 8878 allows concatenation)
                self._d = _zstd.ZstdDecompressor().decompressobj()
            step = max(1, (limit - len(out)) >> 17)
            try:
                out += self._d.decompress(view[pos : pos + step])
            except _zstd.ZstdError as exc:
                raise DecodingError(f"corrupt zstd data: {exc}") from None
            pos += step
            if len(out) > limit:
                raise DecodedTooLarge(limit)
        return bytes(out)

    def finish(self) -> None:
        if not self._d.eof:
            raise DecodingError("truncated zstd data")


def _stage(coding: str) -> _Stage:
    if coding in ("gzip", "x-gzip"):
        return _ZlibStage(True)
    if coding == "deflate":
        return _ZlibStage(False)
    if coding == "br" and _brotli is not None:
        return _BrotliStage()
    if coding == "zstd" and _zstd is not None:
        return _ZstdStage()
    raise DecodingError(f"unsupported content coding {coding!r}")


def parse_content_encoding(values: str | Iterable[str]) -> list[str]:
    """The codings of Content-Encoding in the order they were applied (RFC 9110 8.4)."""
    if isinstance(values, str):
        values = [values]
    codings = [c.strip(" \t").lower() for v in values for c in v.split(",")]
    return [c for c in codings if c and c != "identity"]


class Decoder:
    """Undo a response's Content-Encoding incrementally, with a limit on the output.

    ``content_encoding`` is the field's value(s); stacked codings (``gzip, br``: gzip
    applied first) are undone last-first. Each :meth:`feed` returns decoded bytes; the
    total never exceeds ``max_size`` (:class:`DecodedTooLarge` instead), and neither does
    any intermediate stage. :meth:`finish` checks the streams ended.
    """

    __slots__ = ("_produced", "_stages", "max_size")

    def __init__(self, content_encoding: str | Iterable[str], max_size: int) -> None:
        self.max_size = max_size
        self._stages = [_stage(c) for c in reversed(parse_content_encoding(content_encoding))]
        self._produced = 0

    def feed(self, data: bytes) -> bytes:
        """Decode the next piece of the body."""
        last = len(self._stages) - 1
        for i, stage in enumerate(self._stages):
            if not data:
                return b""
            try:
                data = stage.feed(data, self.max_size - (self._produced if i == last else 0))
            except DecodedTooLarge:
                raise DecodedTooLarge(self.max_size) from None  # the limit, not what was left
        self._produced += len(data)
        if self._produced > self.max_size:  # identity: no stage counted it
            raise DecodedTooLarge(self.max_size)
        return data

    def finish(self) -> None:
        """End of the body; :class:`DecodingError` if a stream was cut short."""
        for stage in self._stages:
            stage.finish()


def decode_bytes(content_encoding: str | Iterable[str], data: bytes, max_size: int) -> bytes:
    """A whole body decoded at once, at most ``max_size`` bytes."""
    dec = Decoder(content_encoding, max_size)
    out = dec.feed(data)
    dec.finish()
    return out


ACCEPT_ENCODING = ", ".join(AVAILABLE)
"""The Accept-Encoding a client that decodes (``cohttp get --compressed``) sends."""


async def decode_aiter(
    content_encoding: str | Iterable[str] | None, chunks: AsyncIterable[bytes], max_size: int
) -> AsyncIterator[bytes]:
    """A received body's pieces decoded as they arrive, at most ``max_size`` bytes in all.

    ``content_encoding`` is the response's field (None or empty: the pieces pass as they
    are, still counted against ``max_size``). Raises :class:`DecodedTooLarge` past the
    limit, having produced at most ``max_size`` bytes, and :class:`DecodingError` for a
    corrupt or cut-short body.
    """
    decoder = Decoder(content_encoding or (), max_size)
    async for piece in chunks:
        out = decoder.feed(piece)
        if out:
            yield out
    decoder.finish()


__all__ = [
    "ACCEPT_ENCODING",
    "AVAILABLE",
    "COMPRESSIBLE_TYPES",
    "CompressionMiddleware",
    "Decision",
    "DecodedTooLarge",
    "Decoder",
    "DecodingError",
    "Encoder",
    "Policy",
    "add_vary",
    "choose_encoding",
    "compress_aiter",
    "compress_bytes",
    "compress_iter",
    "compress_response",
    "compressing",
    "decode_aiter",
    "decode_bytes",
    "encoder",
    "parse_accept_encoding",
    "parse_content_encoding",
    "parse_qvalue",
]
