"""The HTTP/1.1 server, written once over :class:`backends.Backend`.

::

    import backends, cohttp

    async def hello(request: cohttp.Request) -> cohttp.Response:
        return cohttp.Response.text("hello\\n")

    async def main(net: backends.Backend) -> None:
        server = cohttp.Server(hello)
        await server.serve(net, "127.0.0.1", 8080)

    backends.run(main, backend="trio")

A driver: :mod:`cohttp.codec` parses the requests and frames the responses
(:func:`~cohttp.codec.encode_response`); this module moves the bytes, keeps the deadlines
and calls the handler. A handler returns a :class:`~cohttp.types.Response`, or writes its
response itself through ``request.stream`` (a :class:`ResponseStream`: what the ASGI
bridge does) and returns :data:`STREAMED`; :meth:`ResponseStream.take_over` hands the
connection to another protocol after an Upgrade.

One task per connection and no other task per request: a connection reads big chunks,
parses every complete request in them, calls the handler for each in order and writes the
responses of a pipelined batch in one ``write``. Deadlines (slowloris, keep-alive idle,
slow readers) are one timestamp per connection checked by a single timer task; a connection
past its deadline is cancelled through one cancel scope it holds for its whole life.

HTTPS: ``Server(handler, tls=context)`` (a server :class:`ssl.SSLContext`, such as
:func:`backends.tls.server_context` makes) runs a TLS handshake on every accepted
connection (:func:`backends.tls.wrap_server`, over any backend) within
``tls_handshake_timeout``, a deadline trickled bytes do not extend, then serves HTTP/1.1
over it; ``request.scheme`` is ``"https"``. ALPN offers :data:`ALPN_PROTOCOLS` (RFC 7301);
what is served after the handshake is decided in one place, :meth:`Server._serve`.
A handshake that fails is logged and its connection closed; the others keep being served.
"""

from __future__ import annotations

import logging
import math
import os
import ssl
import time
from collections.abc import AsyncIterable, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from backends import Backend, Flow, Listener, NetworkError
from backends.interface import CancelScope, Event
from backends.tls import TLSFlow, wrap_server

from . import codec
from .codec import (
    _NO_TRAILERS,
    NEED_DATA,
    NO_BODY,
    Data,
    EndOfMessage,
    Limits,
    LocalProtocolError,
    ProtocolError,
    RequestHead,
    RequestParser,
    date_line,
)
from .compression import Policy, compressing
from .headers import Headers
from .types import FileBody, IncomingBody, Request, Response
from .ws.app import unhandled_upgrade

log = logging.getLogger("cohttp.server")
access_log = logging.getLogger("cohttp.access")

Handler = Callable[[Request], Awaitable[Response]]
"""An application: ``async def handler(request) -> Response``."""

READ_SIZE = 256 * 1024
FLUSH_AT = 64 * 1024
DRAIN_LIMIT = 1024 * 1024
"""Unread request body a server reads and discards to keep a connection; more: close."""

ALPN_PROTOCOLS = ("http/1.1",)
"""What an HTTPS server offers in ALPN (RFC 7301) by default."""

ALPN_HTTP2 = ("h2", "http/1.1")
"""What it offers with ``ServerConfig(http2=True)``: ``h2`` first (RFC 9113 3.2), served
by :func:`cohttp.h2.server.serve_h2`, HTTP/1.1 for clients without it."""

_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """Timeouts (seconds) and limits of a :class:`Server`.

    ``header_timeout``: to receive a whole request head, from its first byte (and, on a new
    connection, from the accept); a slowloris client is answered 408 and disconnected.
    ``body_timeout``: to receive a whole request body, from when the handler first asks
    for it; bytes trickling in do not extend it, nor does draining an unread rest after
    the response.
    ``idle_timeout``: how long a keep-alive connection may wait for its next request.
    ``write_timeout``: how long one write may block on a peer that does not read.
    ``max_requests``: requests served on one connection before it is closed (0: no limit).
    ``shutdown_grace``: how long :meth:`Server.shutdown` waits for in-flight requests.
    ``tls``: a server :class:`ssl.SSLContext` to serve HTTPS with (the server sets its
    ALPN list to :data:`ALPN_PROTOCOLS`); None serves plain HTTP.
    ``tls_handshake_timeout``: how long a TLS handshake may take, start to finish.
    ``http2``: over TLS, offer HTTP/2 in ALPN as well (:data:`ALPN_HTTP2`); off by default,
    as in nginx (``http2 on``), since the HTTP/1.1 path is the faster one here.
    """

    limits: Limits = field(default_factory=Limits)
    header_timeout: float = 10.0
    body_timeout: float = 60.0
    idle_timeout: float = 15.0
    write_timeout: float = 30.0
    max_requests: int = 0
    shutdown_grace: float = 10.0
    access_log: bool = True
    server_name: str | None = None
    compression: Policy | None = None
    """Compress responses as this :class:`~cohttp.compression.Policy` says (None: never,
    as nginx's ``gzip off``); see :func:`cohttp.compression.compressing`."""
    tls: ssl.SSLContext | None = None
    tls_handshake_timeout: float = 10.0
    http2: bool = False

    def __post_init__(self) -> None:
        for name in (
            "header_timeout",
            "body_timeout",
            "idle_timeout",
            "write_timeout",
            "tls_handshake_timeout",
        ):
            if not getattr(self, name) > 0:
                raise ValueError(f"ServerConfig.{name} must be positive")
        if self.max_requests < 0:
            raise ValueError("ServerConfig.max_requests must be >= 0")


class _Expired(Exception):
    """A connection's deadline passed while it waited on its peer."""


_IDLE, _HEAD, _BODY, _WRITE, _BUSY, _DRAIN, _HANDSHAKE = range(7)
_QUIET = (_IDLE, _HANDSHAKE)
"""Phases with no request in hand: shutdown ends them at once."""
_CONNECTION_TASK = "cohttp.Server connection"
_clock = time.monotonic
"""Deadlines use the OS monotonic clock: cheap, and the same whatever the backend."""


class _Conn:
    """Per-connection state the timer task inspects."""

    __slots__ = (
        "body_deadline",
        "deadline",
        "expired",
        "flow",
        "going_away",
        "keep_alive",
        "out",
        "phase",
        "scope",
    )

    def __init__(self, flow: Flow) -> None:
        self.flow = flow  # a TLSFlow for HTTPS
        self.deadline = math.inf
        self.body_deadline = math.inf  # set once per request body, when first asked for
        self.out: list[bytes] = []  # responses queued to go out in one write
        self.phase = _IDLE
        self.expired = False
        self.keep_alive = True
        self.scope: CancelScope | None = None
        self.going_away: Callable[[], Awaitable[None]] | None = None  # see on_shutdown


class _RequestBody(IncomingBody):
    """The request body, read lazily from the connection when the handler asks."""

    __slots__ = (
        "_conn",
        "_done",
        "_parser",
        "_server",
        "continue_sent",
        "draining",
        "error",
        "expect_continue",
        "flow_error",
    )

    def __init__(self, server: Server, conn: _Conn, parser: RequestParser, expect: bool) -> None:
        # IncomingBody.__init__, without its Headers(): the parser's shared empty trailers
        # (what a body read to its end without trailers has too)
        self.trailers = _NO_TRAILERS
        self._consumed = False
        self._server = server
        self._conn = conn
        self._parser = parser
        self._done = False
        self.expect_continue = expect
        self.continue_sent = False
        self.draining = False  # reading only to discard, after the response went out
        self.error: ProtocolError | None = None
        self.flow_error: NetworkError | None = None

    async def _next(self) -> bytes | None:
        if self.error is not None:
            raise self.error
        if self._done:
            return None
        try:
            return await self._next_piece()
        except ProtocolError as exc:
            self.error = exc  # the connection is out of step: answered and closed after
            raise

    async def _next_piece(self) -> bytes | None:
        parser = self._parser
        conn = self._conn
        if conn.body_deadline == math.inf:  # the handler asks for the body: its clock starts
            conn.body_deadline = _clock() + self._server.config.body_timeout
        while True:
            ev = parser.next_event()
            if ev.__class__ is Data:
                return ev.data
            if ev.__class__ is EndOfMessage:
                self._done = True
                self.trailers = ev.trailers
                return None
            if ev is NEED_DATA:
                try:
                    if conn.out:  # answers to earlier pipelined requests go out first
                        await self._server._write(conn, b"".join(conn.out))
                        conn.out.clear()
                    if self.expect_continue and not self.continue_sent:
                        self.continue_sent = True
                        await self._server._write(conn, _CONTINUE)
                    await self._server._read_body(conn, parser, self.draining)
                except NetworkError as exc:
                    self.flow_error = exc
                    raise
                continue
            raise ProtocolError(f"unexpected {ev!r} in a request body")  # pragma: no cover

    @property
    def done(self) -> bool:
        """Whether the body was read to its end."""
        return self._done

    def take_buffered(self) -> bytes | None:
        """The rest of the body (all of it, unless pieces were read) at once if the
        connection already holds every byte of it, as a small body that arrived with its
        head: read to its end with no wait, no deadline and no 100 Continue (the client
        sent it without waiting). None, nothing taken, if some of it is still to come
        (:meth:`codec.RequestParser.take_body`)."""
        if self.error is not None:
            return None
        if self._done:
            return b""
        data = self._parser.take_body()
        if data is not None:
            self._consumed = self._done = True
        return data

    async def drain(self, limit: int) -> bool:
        """Read and discard the rest of the body, up to ``limit`` bytes; True if it ended."""
        self._consumed = True
        self.draining = True
        total = 0
        while (piece := await self._next()) is not None:
            total += len(piece)
            if total > limit:
                return False
        return True


class ResponseStream:
    """Write a response yourself instead of returning it (what the ASGI bridge does).

    A handler gets the stream as ``request.stream``, calls :meth:`respond` (a whole
    response, one write) or :meth:`start`, :meth:`send`... :meth:`end` (a stream), and
    returns :data:`STREAMED`. The codec frames it (:func:`codec.encode_response`), and holds
    a declared Content-Length. The bytes go out at once, so a handler may keep working
    after its response is complete (the connection reads its next request when the
    handler returns). One stream per connection, reset for each request.
    """

    __slots__ = (
        "_conn",
        "_head",
        "_parser",
        "_server",
        "_server_line",
        "_write_timeout",
        "_writer",
        "connection_state",
        "keep_alive",
        "sent",
        "status",
    )

    def __init__(self, server: Server, conn: _Conn, parser: RequestParser) -> None:
        self._server = server
        self._conn = conn
        self._parser = parser
        self._server_line = server._server_line
        self._write_timeout = server.config.write_timeout
        self._head: RequestHead | None = None
        self._writer: codec.BodyWriter | None = None
        self.connection_state: Any = None
        """Whatever the handler keeps for the connection, across its requests (None at
        first; the ASGI bridge keeps a context there)."""
        self.status = 0
        """The status sent, 0 before :meth:`start` or :meth:`respond`."""
        self.keep_alive = True
        self.sent = -1
        """Body bytes sent once the response is complete; -1 until then."""

    def _reset(self, head: RequestHead) -> None:
        # Server._run does the same inline, for every request.
        self._head = head
        self._writer = None
        self.status = 0
        self.keep_alive = head.keep_alive
        self.sent = -1

    @property
    def started(self) -> bool:
        """Whether the response head went out."""
        return self.status != 0

    @property
    def finished(self) -> bool:
        """Whether the whole response went out."""
        return self.sent >= 0

    @property
    def upgrade(self) -> str | None:
        """The protocol the client asks to switch to (``Upgrade`` with ``Connection:
        upgrade``), else None; see :meth:`take_over`."""
        assert self._head is not None
        return self._head.upgrade

    @property
    def backend(self) -> Backend:
        """The backend serving the connection (a protocol taking over needs its runtime)."""
        assert self._server._net is not None
        return self._server._net

    @property
    def method(self) -> str:
        """The request's method (HEAD responses have no body)."""
        assert self._head is not None
        return self._head.method

    async def _flush(self, data: bytes) -> None:
        out = self._conn.out
        if out:  # answers to earlier pipelined requests go first
            out.append(data)
            data = b"".join(out)
            out.clear()
        await self._server._write(self._conn, data)

    async def respond(
        self, status: int, headers: Headers, body: bytes, *, reason: str | None = None
    ) -> None:
        """Send a whole response with an in-memory body."""
        head = self._head
        if head is None or self.status:
            raise LocalProtocolError("a response was already started for this request")
        server = self._server
        wire = (
            codec.encode_simple_response(
                head.method, head.version, status, headers, body, server._server_line
            )
            if self.keep_alive and reason is None
            else None
        )
        if wire is None:
            head_bytes, writer, self.keep_alive = codec.encode_response(
                head.method,
                head.version,
                status,
                headers,
                length=len(body),
                reason=reason,
                keep_alive=self.keep_alive and not server._closing,
                server_line=server._server_line,
            )
            wire = head_bytes + writer.data(body) + writer.end()
        self.status = status
        await self._flush(wire)
        self.sent = 0 if head.method == "HEAD" else len(body)

    async def respond_raw(self, status: int, fields: Any, body: bytes) -> bool:
        """Send a whole response whose fields are ``(name, value)`` byte pairs (the ASGI
        form) if :func:`codec.encode_raw_response` frames it (the common response); return
        False, having sent nothing, if it does not: then convert the fields and
        :meth:`respond`. The ASGI bridge's fast path."""
        head = self._head
        if head is None or self.status or not self.keep_alive:
            return False
        wire = codec.encode_raw_response(
            head.method, head.version, status, fields, body, self._server_line
        )
        if wire is None:
            return False
        self.status = status
        conn = self._conn
        out = conn.out
        if out:  # answers to earlier pipelined requests go first
            out.append(wire)
            wire = b"".join(out)
            out.clear()
        previous, saved = conn.phase, conn.deadline  # self._server._write, inlined
        conn.phase = _WRITE
        conn.deadline = _clock() + self._write_timeout
        await conn.flow.write(wire)
        conn.phase, conn.deadline = previous, saved
        self.sent = len(body)
        return True

    async def start(
        self,
        status: int,
        headers: Headers,
        *,
        length: int | None = None,
        reason: str | None = None,
    ) -> None:
        """Send the head of a streamed response (``length``: the body's, when known)."""
        head = self._head
        if head is None or self.status:
            raise LocalProtocolError("a response was already started for this request")
        server = self._server
        head_bytes, self._writer, self.keep_alive = codec.encode_response(
            head.method,
            head.version,
            status,
            headers,
            length=length,
            reason=reason,
            keep_alive=self.keep_alive and not server._closing,
            server_line=server._server_line,
        )
        self.status = status
        await self._flush(head_bytes)

    async def send(self, data: bytes) -> None:
        """Send a piece of the body."""
        writer = self._writer
        if writer is None or self.sent >= 0:
            raise LocalProtocolError("send() outside a started, unfinished response")
        if data:
            wire = writer.data(data)
            if wire:
                await self._server._write(self._conn, wire)

    async def end(self, trailers: Headers | None = None) -> None:
        """End the body (a last chunk if chunked; a close-delimited body closes after)."""
        writer = self._writer
        if writer is None or self.sent >= 0:
            raise LocalProtocolError("end() outside a started, unfinished response")
        last = writer.end(trailers)
        if last:
            await self._server._write(self._conn, last)
        if writer.closes:
            self.keep_alive = False
        self.sent = writer.sent

    async def take_over(self, status: int = 101) -> tuple[Flow, bytes]:
        """Hand the connection to another protocol: after a 101 (Upgrade, RFC 9110 7.8) or
        a 2xx to CONNECT (RFC 9110 9.3.6) the bytes are no longer HTTP. Returns the flow
        and the bytes already read past the request head; the handler writes the switch
        answer itself (``cohttp.ws.accept`` does) or refuses without taking over. The
        server reads no more requests and closes the flow when the handler returns."""
        if self.status:
            raise LocalProtocolError("a response was already started for this request")
        if self._conn.out:  # answers to earlier pipelined requests go first
            await self._flush(b"")
        self.status = status
        self.keep_alive = False
        self.sent = 0
        return self._conn.flow, self._parser.take_buffered()

    def on_shutdown(self, going_away: Callable[[], Awaitable[None]]) -> bool:
        """For a connection taken over (:meth:`take_over`): have :meth:`Server.shutdown`
        run ``going_away()`` so that the other protocol ends its own way (a WebSocket sends
        Close 1001 and waits for the peer's, RFC 6455 7.4.1), within the shutdown grace.
        False, and nothing registered, when the server is shutting down already."""
        if self._server._closing:
            return False
        self._conn.going_away = going_away
        return True


STREAMED: Response = Response(200)
"""What a handler returns when it wrote its response through ``request.stream``."""


async def _go_away(going_away: Callable[[], Awaitable[None]]) -> None:
    """Run one connection's :meth:`ResponseStream.on_shutdown` callback; a failure is its
    connection's, logged, not the shutdown's."""
    try:
        await going_away()
    except Exception:
        log.exception("closing a taken-over connection at shutdown failed")


class Server:
    """An HTTP/1.1 server for one handler; see the module documentation.

    Use :meth:`serve` to listen and serve until :meth:`shutdown`, or :meth:`listen` (which
    returns the bound address) followed by :meth:`serve_forever` in a task. A single
    connection can also be served with :meth:`serve_flow` (any :class:`backends.Flow`).
    """

    def __init__(
        self, handler: Handler, config: ServerConfig | None = None, **options: Any
    ) -> None:
        """``options`` are :class:`ServerConfig` fields, as a shortcut for ``config=``."""
        if config is not None and options:
            raise TypeError("give either config= or ServerConfig fields, not both")
        self.config = config or ServerConfig(**options)
        if self.config.compression is not None:
            handler = compressing(handler, self.config.compression)
        self.handler = handler
        self._net: Backend | None = None
        self._listener: Listener | None = None
        self._conns: set[_Conn] = set()
        self._closing = False
        self._stopped: Any = None
        self._server_line = (
            b"server: " + self.config.server_name.encode("latin-1") + b"\r\n"
            if self.config.server_name
            else b""
        )
        self.requests_served = 0
        """Requests answered since start (for tests and monitoring)."""
        self.tls_failures = 0
        """TLS handshakes that failed or timed out (for tests and monitoring)."""
        if self.config.tls is not None:
            if self.config.tls.protocol == ssl.PROTOCOL_TLS_CLIENT:
                raise ValueError("tls= needs a server context (backends.tls.server_context)")
            alpn = ALPN_HTTP2 if self.config.http2 else ALPN_PROTOCOLS
            self.config.tls.set_alpn_protocols(list(alpn))

    # -- lifecycle -------------------------------------------------------------------

    async def listen(
        self, net: Backend, host: str = "127.0.0.1", port: int = 8080, *, backlog: int = 1024
    ) -> tuple[str, int]:
        """Bind and listen; return the bound ``(host, port)`` (port 0 picks a free one)."""
        if self._listener is not None:
            raise RuntimeError("this server is already listening")
        self._net = net
        self._listener = await net.tcp_listen(host, port, backlog=backlog)
        self._stopped = net.event()
        return self._listener.address

    def adopt(self, net: Backend, listener: Listener) -> tuple[str, int]:
        """Serve an already listening ``listener`` (a socket inherited from a supervisor,
        ``--fd``) instead of calling :meth:`listen`; return its address."""
        if self._listener is not None:
            raise RuntimeError("this server is already listening")
        self._net = net
        self._listener = listener
        self._stopped = net.event()
        return listener.address

    @property
    def address(self) -> tuple[str, int]:
        """The bound address (after :meth:`listen`)."""
        if self._listener is None:
            raise RuntimeError("the server is not listening yet")
        return self._listener.address

    @property
    def port(self) -> int:
        """The bound port (after :meth:`listen`)."""
        return self.address[1]

    async def serve(self, net: Backend, host: str = "127.0.0.1", port: int = 8080) -> None:
        """Listen on ``host:port`` and serve until :meth:`shutdown` completes."""
        await self.listen(net, host, port)
        await self.serve_forever()

    async def serve_forever(self) -> None:
        """Accept and serve connections until :meth:`shutdown`; then return."""
        net, listener = self._net, self._listener
        if net is None or listener is None:
            raise RuntimeError("call listen() before serve_forever()")
        self._serving = True
        async with net.task_group() as tg:
            tg.start_soon(self._timer, net)
            try:
                async for flow in listener:
                    if self._closing:
                        await flow.close()
                        break
                    # Named here: left unnamed, the task group works a name out of the
                    # callable for every connection.
                    tg.start_soon(self._connection, net, flow, name=_CONNECTION_TASK)
            finally:
                await self._wait_connections(net)
                tg.cancel_scope.cancel()
        self._serving = False
        self._stopped.set()

    async def shutdown(self, grace: float | None = None) -> None:
        """Stop accepting, let in-flight requests finish, close idle connections, and ask
        taken-over ones to end (:meth:`ResponseStream.on_shutdown`: WebSockets close 1001).

        Waits up to ``grace`` seconds (default ``config.shutdown_grace``) for requests in
        progress, then cancels what is left. Returns once :meth:`serve_forever` is done.
        """
        self._closing = True
        if grace is not None:
            self._grace = grace
        if self._h2_shutdown is not None:
            self._h2_shutdown.set()  # HTTP/2 connections send GOAWAY (RFC 9113 6.8)
        for conn in list(self._conns):
            if conn.phase in _QUIET and conn.scope is not None:
                conn.scope.cancel()
        if self._listener is not None:
            await self._listener.close()
        if self._stopped is not None and self._serving:
            await self._stopped.wait()

    _grace: float | None = None
    _serving = False

    async def _wait_connections(self, net: Backend) -> None:
        grace = self._grace if self._grace is not None else self.config.shutdown_grace
        with net.move_on_after(grace):
            async with net.task_group() as tg:
                for conn in list(self._conns):
                    if conn.going_away is not None:
                        tg.start_soon(_go_away, conn.going_away)
                while self._conns:
                    for conn in list(self._conns):
                        if conn.phase in _QUIET and conn.scope is not None:
                            conn.scope.cancel()
                    await net.sleep(0.02)
        for conn in list(self._conns):
            if conn.scope is not None:
                conn.scope.cancel()
            conn.flow.abort()  # wakes a task blocked in IO even where cancellation cannot
        with net.move_on_after(5):
            while self._conns:
                await net.sleep(0.01)
        if self._conns:
            log.error("%d connections did not finish after shutdown", len(self._conns))

    async def _timer(self, net: Backend) -> None:
        cfg = self.config
        tick = min(cfg.header_timeout, cfg.idle_timeout, cfg.body_timeout, cfg.write_timeout)
        if cfg.tls is not None:
            tick = min(tick, cfg.tls_handshake_timeout)
        tick /= 4
        tick = min(max(tick, 0.02), 1.0)
        while True:
            await net.sleep(tick)
            now = _clock()
            for conn in list(self._conns):
                if conn.deadline <= now and conn.phase != _BUSY and not conn.expired:
                    conn.expired = True
                    if conn.scope is not None:
                        conn.scope.cancel()

    # -- one connection --------------------------------------------------------------

    async def _connection(self, net: Backend, flow: Flow) -> None:
        conn = _Conn(flow)
        try:
            await self._serve(net, conn, self.config.tls)
        finally:
            await conn.flow.close()  # the TLS flow once the handshake is done

    async def _handshake(self, conn: _Conn, context: ssl.SSLContext) -> TLSFlow | None:
        """Run the TLS handshake of ``conn`` under its deadline (the timer's, not a cancel
        scope of its own: a connection pays for one scope, whatever phase it is in); on
        success ``conn.flow`` becomes the TLS flow, also returned."""
        conn.phase = _HANDSHAKE
        conn.deadline = _clock() + self.config.tls_handshake_timeout
        try:
            secure = await wrap_server(conn.flow, context, handshake_timeout=None)
        except NetworkError as exc:  # TLSError, a reset: this peer only
            self.tls_failures += 1
            log.info("TLS handshake with %s failed: %s", _peer(conn.flow), exc)
            return None
        conn.flow = secure
        return secure

    async def _serve_h2(self, net: Backend, conn: _Conn) -> None:
        """Serve the HTTP/2 connection ALPN chose (RFC 9113 3.2) with
        :func:`cohttp.h2.server.serve_h2`, which keeps its own deadlines; the connection
        is counted here so that :meth:`shutdown` sends GOAWAY and waits for it."""
        from .h2.server import serve_h2  # the HTTP/2 codec loads only when a client asks

        if self._h2_shutdown is None:
            self._h2_shutdown = net.event()
        conn.phase = _BUSY
        conn.deadline = math.inf
        if self._closing:
            self._h2_shutdown.set()
        try:
            self.requests_served += await serve_h2(
                net, conn.flow, self.handler, self.config, shutdown=self._h2_shutdown
            )
        except NetworkError:
            return

    _h2_shutdown: Event | None = None

    async def serve_flow(self, net: Backend, flow: Flow) -> None:
        """Serve HTTP on one connection until it closes (the caller closes ``flow``).

        For a flow accepted elsewhere (a custom listener, a tunnel). The deadlines are
        enforced by the timer task of :meth:`serve_forever`: without it running, a
        connection served this way has no timeouts. Requests over a
        :class:`backends.tls.TLSFlow` have the scheme ``https``.
        """
        self._net = net
        await self._serve(net, _Conn(flow), None)

    async def _serve(self, net: Backend, conn: _Conn, context: ssl.SSLContext | None) -> None:
        """Serve ``conn`` from its TLS handshake (with a ``context``) to its end, inside the
        one cancel scope the timer and :meth:`shutdown` cancel it through. After the
        handshake, the protocol ALPN chose (RFC 7301) is served: HTTP/1.1, also when the
        client offered no ALPN; ``h2`` when :attr:`ServerConfig.http2` offered it."""
        self._conns.add(conn)
        parser: RequestParser | None = None
        try:
            with net.move_on_after(math.inf) as scope:
                conn.scope = scope
                if context is not None:
                    secure = await self._handshake(conn, context)
                    if secure is None:
                        return
                    if secure.alpn == "h2":
                        await self._serve_h2(net, conn)
                        return
                conn.phase = _IDLE
                conn.deadline = _clock() + self.config.header_timeout
                parser = RequestParser(self.config.limits)
                try:
                    await self._run(net, conn, parser)
                except ProtocolError as exc:
                    await self._send_error(conn, exc.status, exc.message)
                except _Expired:
                    pass
                except NetworkError:
                    return
            if conn.expired:
                if parser is None:
                    self.tls_failures += 1
                    log.info(
                        "TLS handshake with %s did not finish within %gs",
                        _peer(conn.flow),
                        self.config.tls_handshake_timeout,
                    )
                else:
                    await self._on_expired(net, conn, parser)
        finally:
            self._conns.discard(conn)

    async def _on_expired(self, net: Backend, conn: _Conn, parser: RequestParser) -> None:
        if conn.phase in (_HEAD, _BODY) and not self._closing:  # not _DRAIN: answered already
            with net.move_on_after(1.0):
                try:
                    await conn.flow.write(self._error_bytes(408, "request not received in time"))
                except NetworkError:
                    pass
            log.info("closed %s: request not received before the deadline", conn.flow.remote)
        elif conn.phase == _WRITE:
            conn.flow.abort()

    async def _read_body(self, conn: _Conn, parser: RequestParser, draining: bool) -> None:
        """Read once from the peer into ``parser``, under the request body's deadline.

        The deadline is set once, when the handler first asks for the body (or the server
        drains a body the handler left alone), and holds until the body ends: it is not
        moved by bytes trickling in, by the handler pausing between reads, nor by draining
        what the handler left unread (a head's deadline works the same way). It is
        enforced while a read waits; the handler's own work in between is not timed.
        """
        conn.deadline = conn.body_deadline
        conn.phase = _DRAIN if draining else _BODY
        data = await conn.flow.read(READ_SIZE)
        conn.phase = _BUSY  # the handler's own time between reads is not the peer's fault
        if data:
            parser.feed(data)
        else:
            parser.feed_eof()

    async def _write(self, conn: _Conn, data: bytes) -> None:
        previous, saved = conn.phase, conn.deadline
        conn.phase = _WRITE
        conn.deadline = _clock() + self.config.write_timeout
        await conn.flow.write(data)
        conn.phase, conn.deadline = previous, saved

    async def _run(self, net: Backend, conn: _Conn, parser: RequestParser) -> None:
        """Serve requests in order until the connection ends.

        Responses are queued in ``out`` and written when the parser needs more bytes, so a
        pipelined batch goes out in one write. The common request (its head complete in
        one read, no body, nothing after it) costs one parse, the handler, one write and
        one read.
        """
        out = conn.out
        pending = 0
        served = 0
        cfg = self.config
        max_requests = cfg.max_requests
        access_logging = cfg.access_log
        flow = conn.flow
        remote = flow.remote
        scheme = "https" if isinstance(flow, TLSFlow) else "http"
        write_timeout = cfg.write_timeout
        idle_timeout = cfg.idle_timeout
        header_timeout = cfg.header_timeout
        next_request = parser.next_request
        handler = self.handler
        server_line = self._server_line
        stream = ResponseStream(self, conn, parser)
        while True:
            ev = next_request()  # a head without a body comes with its end consumed
            if ev.__class__ is RequestHead:
                head = ev
                conn.phase = _BUSY
                served += 1
                body: _RequestBody | None = None
                request = _new_request(Request)  # fields already validated: no conversions
                request.method = head.method
                request.target = head.target
                request.headers = head.headers
                request.version = head.version
                request.remote = remote
                request.scheme = scheme
                request.stream = stream
                stream._head = head  # stream._reset(head), inlined
                stream._writer = None
                stream.status = 0
                stream.keep_alive = keep_alive = head.keep_alive
                stream.sent = -1
                if head.framing == NO_BODY:
                    request.body = b""
                else:
                    request.body = body = _RequestBody(self, conn, parser, head.expect_continue)
                    conn.body_deadline = math.inf
                if max_requests and served >= max_requests:
                    keep_alive = False
                expect = head.expect
                if (
                    expect is not None
                    and expect.lower() != "100-continue"
                    and head.version == "HTTP/1.1"
                ):
                    response = Response(417, b"unsupported expectation\n")
                    keep_alive = False
                else:
                    try:
                        response = await handler(request)
                        if response.__class__ is not Response and not isinstance(
                            response, Response
                        ):
                            raise TypeError(
                                f"handler returned {type(response).__name__}, not a Response"
                            )
                    except ProtocolError:
                        raise  # the request body broke the protocol: answered by serve_flow
                    except Exception as exc:
                        if (
                            isinstance(exc, NetworkError)
                            and body is not None
                            and body.flow_error is exc
                        ):
                            raise  # our own connection failed while reading the body
                        log.exception(
                            "handler failed for %s %s from %s", head.method, head.target, remote
                        )
                        response = Response(
                            500, b"internal server error\n", [("content-type", "text/plain")]
                        )
                conn.phase = _BUSY
                if head.upgrade is not None and not stream.status:
                    response = unhandled_upgrade(request, response)  # 404 -> 426, logged
                if self._closing:
                    keep_alive = False
                if body is not None:
                    if body.error is not None:
                        raise body.error  # even if the handler caught it: answer it and close
                    if not body._done and body.expect_continue and not body.continue_sent:
                        keep_alive = False  # the client was never asked for the body: close
                if response is STREAMED or stream.status:
                    if stream.sent < 0:  # the handler gave up on its response
                        log.error(
                            "handler left its response to %s %s unfinished",
                            head.method,
                            head.target,
                        )
                        conn.flow.abort()
                        raise _Expired
                    sent = stream.sent
                    keep_alive = keep_alive and stream.keep_alive
                    status = stream.status
                else:
                    status = response.status
                    wire = (
                        codec.encode_simple_response(
                            head.method,
                            head.version,
                            status,
                            response.headers,
                            response.body,
                            server_line,
                        )
                        if keep_alive
                        and response.body.__class__ is bytes
                        and response._reason is None
                        else None
                    )
                    if wire is not None:
                        out.append(wire)
                        sent = len(response.body)  # type: ignore[arg-type]
                    else:
                        conn.keep_alive = keep_alive
                        sent = await self._respond(conn, head, response, out)
                        keep_alive = conn.keep_alive
                    if out:  # queued here, written when the parser needs bytes
                        pending += sent + 256
                if body is not None and not body._done and keep_alive:
                    if out:
                        await self._write(conn, b"".join(out))
                        out.clear()
                        pending = 0
                    try:
                        drained = await body.drain(DRAIN_LIMIT)
                    except ProtocolError:
                        drained = False  # already answered: just close, no second response
                    if not drained:
                        keep_alive = False
                self.requests_served += 1
                if access_logging and access_log.isEnabledFor(logging.INFO):
                    self._log_access(remote, head, status, sent)
                if not keep_alive:
                    if out:
                        await self._write(conn, b"".join(out))
                    return
                if pending >= FLUSH_AT:
                    if out:
                        await self._write(conn, b"".join(out))
                        out.clear()
                    pending = 0
                if parser._pos < len(parser._buf):  # parser.buffered, inlined
                    continue  # a pipelined request is already here: answer it first
                idle = True
            elif ev is NEED_DATA:
                idle = parser.buffered == 0
            else:  # PEER_CLOSED
                if out:
                    await self._write(conn, b"".join(out))
                return
            # Send what is queued, then read (self._write, inlined).
            if out:
                conn.phase = _WRITE
                conn.deadline = _clock() + write_timeout
                await flow.write(b"".join(out) if len(out) > 1 else out[0])
                out.clear()
                pending = 0
            if idle:
                if self._closing:
                    raise _Expired
                if conn.phase != _IDLE:
                    conn.deadline = _clock() + (idle_timeout if served else header_timeout)
                    conn.phase = _IDLE
            elif conn.phase != _HEAD:
                conn.deadline = _clock() + header_timeout
                conn.phase = _HEAD
            data = await flow.read(READ_SIZE)
            if data:
                parser.feed(data)
            else:
                parser.feed_eof()

    # -- responses -------------------------------------------------------------------

    async def _respond(
        self, conn: _Conn, head: RequestHead, response: Response, out: list[bytes]
    ) -> int:
        """Queue (or write) the response; return the number of body bytes sent.

        The codec frames it (:func:`codec.encode_response`); ``conn.keep_alive`` says
        whether the connection stays open afterwards.
        """
        body = response.body
        data: bytes | None
        if body is None:
            data = b""
        elif isinstance(body, bytes):
            data = body
        elif isinstance(body, (bytearray, memoryview)):
            data = bytes(body)
        elif isinstance(body, str):
            data = body.encode("utf-8")
        else:
            data = None
        length: int | None = None
        if data is not None:
            length = len(data)
        elif isinstance(body, FileBody):
            net = self._net
            assert net is not None
            length = body.length
            if length is None:  # a cached file knows its length: no thread hop
                length = await net.run_in_thread(body.resolved_length)
        try:
            head_bytes, writer, keep_alive = codec.encode_response(
                head.method,
                head.version,
                response.status,
                response.headers,
                length=length,
                reason=response._reason,
                keep_alive=conn.keep_alive,
                server_line=self._server_line,
            )
        except LocalProtocolError:
            await _close_body(body)
            raise
        conn.keep_alive = keep_alive
        if writer.framing == NO_BODY:
            out.append(head_bytes)
            if data is None and not isinstance(body, FileBody):
                await _close_body(body)
            return 0
        if data is not None:
            out.append(head_bytes + data)
            return len(data)
        out.append(head_bytes)
        if isinstance(body, FileBody):
            assert length is not None
            return await self._send_file(conn, body, length, out)

        assert isinstance(body, AsyncIterable)
        await self._write(conn, b"".join(out))
        out.clear()
        try:
            async for piece in body:
                if piece:
                    await self._write(conn, writer.data(piece))
            last = writer.end()
        except NetworkError:
            raise
        except Exception:
            log.exception("streaming the response body to %s failed", conn.flow.remote)
            conn.flow.abort()
            raise _Expired from None
        if writer.closes:
            raise _Expired  # close to end an HTTP/1.0 body
        if last:
            out.append(last)
        return writer.sent

    async def _send_file(self, conn: _Conn, body: FileBody, length: int, out: list[bytes]) -> int:
        net = self._net
        assert net is not None
        f = await net.run_in_thread(_open_binary, body.path)
        try:
            sendfile = getattr(conn.flow, "sendfile", None)  # kernel flows (SendfileFlow)
            if sendfile is not None and length > FLUSH_AT:
                await self._write(conn, b"".join(out))
                out.clear()
                sent, fd, previous, saved = 0, f.fileno(), conn.phase, conn.deadline
                while sent < length:
                    # Each piece has its own write deadline, as each write has.
                    conn.phase, conn.deadline = _WRITE, _clock() + self.config.write_timeout
                    n = await sendfile(fd, body.offset + sent, min(body.chunk_size, length - sent))
                    if not n:
                        log.error("file %s shrank while being sent", body.path)
                        conn.flow.abort()
                        raise _Expired
                    sent += n
                conn.phase, conn.deadline = previous, saved
                return length
            if body.offset:
                await net.run_in_thread(f.seek, body.offset)
            left = length
            first = True
            while left > 0:
                piece = await net.run_in_thread(f.read, min(body.chunk_size, left))
                if not piece:
                    log.error("file %s shrank while being sent", body.path)
                    conn.flow.abort()
                    raise _Expired
                left -= len(piece)
                if first and len(piece) <= FLUSH_AT:
                    out.append(piece)  # small file: goes out with the head
                else:
                    if out:
                        out.append(piece)
                        await self._write(conn, b"".join(out))
                        out.clear()
                    else:
                        await self._write(conn, piece)
                first = False
        finally:
            await net.run_in_thread(f.close)
        return length

    def _error_bytes(self, status: int, message: str) -> bytes:
        body = (message + "\n").encode("utf-8", "replace")
        return (
            codec.status_line(status)
            + date_line()
            + self._server_line
            + b"content-type: text/plain; charset=utf-8\r\nconnection: close\r\n"
            + b"content-length: %d\r\n\r\n" % len(body)
            + body
        )

    async def _send_error(self, conn: _Conn, status: int, message: str) -> None:
        """Answer a protocol error, then close gracefully (so the peer sees the answer)."""
        net = self._net
        assert net is not None
        log.info("bad request from %s: %d %s", conn.flow.remote, status, message)
        if conn.phase == _WRITE:
            conn.flow.abort()
            return
        try:
            with net.move_on_after(min(1.0, self.config.write_timeout)):
                await conn.flow.write(self._error_bytes(status, message))
                await conn.flow.shutdown_write()
            with net.move_on_after(0.5):  # lingering close: do not RST our own answer
                for _ in range(16):
                    if not await conn.flow.read(65536):
                        break
        except NetworkError:
            pass

    def _log_access(
        self, remote: tuple[str, int], head: RequestHead, status: int, size: int
    ) -> None:
        t = time.gmtime()
        stamp = (
            f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year}:"
            f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"
        )
        h = head.headers
        referer = h.get("referer", "-").replace('"', "%22")
        agent = h.get("user-agent", "-").replace('"', "%22")
        access_log.info(
            '%s - - [%s] "%s %s %s" %d %s "%s" "%s"',
            remote[0],
            stamp,
            head.method,
            head.target,
            head.version,
            status,
            size if size else "-",
            referer,
            agent,
        )


_new_request = object.__new__


def _peer(flow: Flow) -> str:
    try:
        host, port = flow.remote[:2]
    except NetworkError:  # pragma: no cover - a flow already gone
        return "a peer"
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _open_binary(path: str | os.PathLike[str]) -> BinaryIO:
    return open(path, "rb")


async def _close_body(body: object) -> None:
    aclose = getattr(body, "aclose", None)
    if aclose is not None:
        try:
            await aclose()
        except Exception:  # pragma: no cover - closing an app's generator
            log.exception("closing a response body failed")


__all__ = [
    "ALPN_HTTP2",
    "ALPN_PROTOCOLS",
    "STREAMED",
    "Handler",
    "ResponseStream",
    "Server",
    "ServerConfig",
]
