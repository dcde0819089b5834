"""Serve HTTP/2 on one :class:`backends.Flow` with a cohttp handler: :func:`serve_h2`.

::

    flow = await backends.tls.wrap_server(flow, context)     # ALPN offered "h2", "http/1.1"
    if flow.alpn == "h2":
        await serve_h2(net, flow, handler, config)
    else:
        await cohttp.Server(handler, config).serve_flow(net, flow)

The same handler API as :class:`cohttp.Server`: ``async def handler(request) ->
Response``, or a response written through ``request.stream`` (an
:class:`H2ResponseStream`, the same methods as :class:`cohttp.ResponseStream`) and
:data:`cohttp.STREAMED` returned. Requests arrive with ``version == "HTTP/2"``, their
``:path`` as the target and ``:authority`` as the Host field (RFC 9113 8.3.1).

The driver: one task reads frames and feeds :class:`~cohttp.h2.connection.H2Connection`;
one task per stream runs the handler (at most SETTINGS_MAX_CONCURRENT_STREAMS of them);
one task writes what the connection queues. Response bodies are sent as the peer's
flow-control windows allow (RFC 9113 5.2) and at the pace the peer reads; request bodies
are read lazily, and their stream windows reopen only as the handler consumes them.

Deadlines, from :class:`cohttp.ServerConfig`: ``header_timeout`` for the preface and for
any frame or header block once begun (bytes trickling in do not extend it; only complete
frames do); ``idle_timeout`` for a connection with no stream open (then GOAWAY);
``body_timeout`` for a request body from when the handler asks for it; ``write_timeout``
for each write and for each wait on a window the peer does not open.
``shutdown`` (an event) sends GOAWAY at once and lets open streams finish for
``shutdown_grace`` seconds.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import AsyncIterable
from typing import Any

from backends import Backend, Flow, NetworkError
from backends.interface import CancelScope, Event
from backends.tls import TLSFlow

from ..codec import ContentTooLarge, HeaderFieldsTooLarge, ProtocolError, URITooLong, date_line
from ..headers import Headers
from ..server import _MONTHS, STREAMED, Handler, ServerConfig, _close_body, _open_binary
from ..types import FileBody, IncomingBody, Request, Response
from .connection import (
    ConnectionTerminated,
    DataReceived,
    H2Config,
    H2Connection,
    HeaderList,
    LocalProtocolError,
    RequestReceived,
    StreamReset,
    TrailersReceived,
    WindowUpdated,
)
from .frames import ErrorCode

log = logging.getLogger("cohttp.h2")
access_log = logging.getLogger("cohttp.access")

READ_SIZE = 256 * 1024
SEND_PIECE = 64 * 1024
"""The most body octets handed to the connection at once (then the writer must catch up)."""

HIGH_WATER = 64 * 1024
"""Octets queued for the writer beyond which a stream's sender waits for it."""

_clock = time.monotonic

_DROPPED_RESPONSE_FIELDS = frozenset(
    ("connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade")
)
"""Connection-specific fields a response may not carry in HTTP/2 (RFC 9113 8.2.2)."""


class StreamResetError(NetworkError):
    """The peer reset the stream (RST_STREAM) while the handler used it."""


class _Body(IncomingBody):
    """A request body fed by the reader task, read by the handler."""

    __slots__ = ("_driver", "_ended", "_error", "_pieces", "_received", "_state", "_wake")

    def __init__(self, driver: _Driver, state: _StreamState) -> None:
        super().__init__()
        self._driver = driver
        self._state = state
        self._pieces: list[tuple[bytes, int]] = []
        self._ended = False
        self._error: Exception | None = None
        self._wake: Event | None = None  # made when the handler has to wait
        self._received = 0

    def _feed(self, data: bytes, length: int, end: bool) -> None:
        if data or length:
            self._pieces.append((data, length))
        if end:
            self._ended = True
        if self._wake is not None:
            self._wake.set()

    def _fail(self, error: Exception) -> None:
        self._error = error
        if self._wake is not None:
            self._wake.set()

    async def _next(self) -> bytes | None:
        driver = self._driver
        state = self._state
        if state.body_deadline == math.inf:
            state.body_deadline = _clock() + driver.config.body_timeout
        while True:
            if self._pieces:
                data, length = self._pieces.pop(0)
                driver.conn.acknowledge_received_data(state.stream_id, length)
                driver.wake_writer()
                self._received += len(data)
                limit = driver.config.limits.max_body
                if limit is not None and self._received > limit:
                    raise ContentTooLarge(f"body exceeds the limit of {limit} bytes")
                if data:
                    return data
                continue
            if self._error is not None:
                raise self._error
            if self._ended:
                return None
            self._wake = wake = driver.net.event()
            remaining = state.body_deadline - _clock()
            if remaining <= 0:
                raise ProtocolError("request body not received in time", 408)
            with driver.net.move_on_after(remaining):
                await wake.wait()

    @property
    def done(self) -> bool:
        """Whether the whole body arrived and was read."""
        return self._ended and not self._pieces


class _StreamState:
    __slots__ = (
        "body",
        "body_deadline",
        "method",
        "request",
        "reset",
        "scope",
        "stream_id",
        "window",
    )

    def __init__(self, stream_id: int) -> None:
        self.stream_id = stream_id
        self.window: Event | None = None  # made by a sender waiting for the peer's window
        self.scope: CancelScope | None = None
        self.reset = False
        self.body: _Body | None = None
        self.body_deadline = math.inf
        self.method = "GET"
        self.request: Request | None = None


class H2ResponseStream:
    """A handler's own response over an HTTP/2 stream: the methods of
    :class:`cohttp.ResponseStream` (``respond``, ``start``, ``send``, ``end``)."""

    __slots__ = (
        "_count",
        "_driver",
        "_head_only",
        "_state",
        "connection_state",
        "keep_alive",
        "sent",
        "status",
    )

    def __init__(self, driver: _Driver, state: _StreamState) -> None:
        self._driver = driver
        self._state = state
        self.status = 0
        """The status sent, 0 before :meth:`start` or :meth:`respond`."""
        self.keep_alive = True
        self.sent = -1
        """Body bytes sent once the response is complete; -1 until then."""
        self._count = 0
        self._head_only = False
        self.connection_state: Any = None
        """A handler's data for the connection; each HTTP/2 stream is a task of its own, so
        this one is the stream's (see :attr:`cohttp.ResponseStream.connection_state`)."""

    async def respond_raw(self, status: int, fields: Any, body: bytes) -> bool:
        """Always False, having sent nothing: HTTP/2 has no raw HTTP/1.1 framing, so the
        caller takes the general path (:meth:`respond`); see
        :meth:`cohttp.ResponseStream.respond_raw`."""
        return False

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
        """Always None: HTTP/2 has no Upgrade (RFC 9113 8.6)."""
        return None

    @property
    def method(self) -> str:
        """The request's method (HEAD responses have no body)."""
        return self._state.method

    async def respond(
        self, status: int, headers: Headers, body: bytes, *, reason: str | None = None
    ) -> None:
        """Send a whole response with an in-memory body (``reason`` has no place in HTTP/2)."""
        if self.status:
            raise LocalProtocolError("a response was already started for this request")
        self.status = status
        self.sent = await self._driver.send_bytes_response(self._state, status, headers, body)

    async def start(
        self,
        status: int,
        headers: Headers,
        *,
        length: int | None = None,
        reason: str | None = None,
    ) -> None:
        """Send the head of a streamed response (``length``: the body's, when known)."""
        if self.status:
            raise LocalProtocolError("a response was already started for this request")
        self.status = status
        self._head_only = self.method == "HEAD" or status in (204, 304)
        await self._driver.send_head(self._state, status, headers, length, end=False)

    async def send(self, data: bytes) -> None:
        """Send a piece of the body."""
        if not self.status or self.sent >= 0:
            raise LocalProtocolError("send() outside a started, unfinished response")
        if data and not self._head_only:
            await self._driver.send_body(self._state, data)
            self._count += len(data)

    async def end(self, trailers: Headers | None = None) -> None:
        """End the body (with trailer fields, if given)."""
        if not self.status or self.sent >= 0:
            raise LocalProtocolError("end() outside a started, unfinished response")
        await self._driver.end_body(self._state, trailers)
        self.sent = self._count

    async def take_over(self, status: int = 101) -> tuple[Flow, bytes]:
        """Not possible on HTTP/2: a stream cannot become another protocol (RFC 9113 8.6)."""
        raise LocalProtocolError("HTTP/2 has no Upgrade: a stream cannot be taken over")


class _Driver:
    def __init__(
        self,
        net: Backend,
        flow: Flow,
        handler: Handler,
        config: ServerConfig,
        h2_config: H2Config | None,
        remote: tuple[str, int] | None,
    ) -> None:
        self.net = net
        self.flow = flow
        self.handler = handler
        self.config = config
        self.conn = H2Connection(h2_config)
        self.remote = remote if remote is not None else flow.remote
        self.scheme = "https" if isinstance(flow, TLSFlow) else "http"  # what carries it
        self.states: dict[int, _StreamState] = {}
        self._wake: Event = net.event()
        self._written: Event = net.event()
        self._writer_done: Event = net.event()
        self._finished = False
        self._failed = False
        self._read_scope: CancelScope | None = None
        self._idle_since = _clock()
        self._server_line = (
            [(b"server", config.server_name.encode("latin-1"))] if config.server_name else []
        )
        self.requests_served = 0

    # -- output ----------------------------------------------------------------------------------

    def wake_writer(self) -> None:
        self._wake.set()

    async def _writer(self) -> None:
        conn, net, flow = self.conn, self.net, self.flow
        timeout = self.config.write_timeout
        try:
            while True:
                data = conn.data_to_send()
                if data:
                    with net.move_on_after(timeout) as scope:
                        await flow.write(data)
                    written, self._written = self._written, net.event()
                    written.set()
                    if scope.cancelled_caught:
                        raise NetworkError("the peer does not read (write timeout)")
                    continue
                if self._finished:
                    return
                self._wake = net.event()
                if conn.pending_output:
                    continue
                await self._wake.wait()
        except NetworkError as exc:
            log.debug("h2 connection from %s: %s", self.remote, exc)
            self._fail()
        finally:
            self._writer_done.set()
            self._written.set()

    def _fail(self) -> None:
        """The flow broke: stop everything."""
        self._failed = True
        self.flow.abort()
        for state in list(self.states.values()):
            if state.scope is not None:
                state.scope.cancel()
        if self._read_scope is not None:
            self._read_scope.cancel()
        self._written.set()

    async def _wait_written(self) -> None:
        """Backpressure: once more than :data:`HIGH_WATER` octets are queued, wait until
        the writer has written them (small responses of many streams go out together)."""
        if self._failed:
            raise NetworkError("the connection failed")
        self._wake.set()
        if self.conn.pending_bytes > HIGH_WATER:
            await self._written.wait()
            if self._failed:
                raise NetworkError("the connection failed")

    def _response_headers(
        self, status: int, headers: Headers, length: int | None, *, head: bool
    ) -> HeaderList:
        fields: HeaderList = [(b":status", b"%d" % status)]
        has_date = has_length = False
        for name, value in headers:
            lower = name.lower()
            if lower in _DROPPED_RESPONSE_FIELDS:
                continue
            if lower == "content-length":
                if length is not None and not head:
                    continue  # ours, from the body, below
                has_length = True
            elif lower == "date":
                has_date = True
            fields.append((lower.encode("latin-1"), value.encode("latin-1")))
        if not has_date:
            fields.append((b"date", date_line()[6:-2]))
        fields.extend(self._server_line)
        if length is not None and not has_length and status not in (204, 304) and status >= 200:
            fields.append((b"content-length", b"%d" % length))
        return fields

    async def send_head(
        self,
        state: _StreamState,
        status: int,
        headers: Headers,
        length: int | None,
        *,
        end: bool,
    ) -> None:
        if state.reset:
            raise StreamResetError("the peer reset the stream")
        fields = self._response_headers(status, headers, length, head=state.method == "HEAD")
        self.conn.send_headers(state.stream_id, fields, end_stream=end)
        await self._wait_written()

    async def send_bytes_response(
        self, state: _StreamState, status: int, headers: Headers, body: bytes
    ) -> int:
        no_body = state.method == "HEAD" or status in (204, 304) or status < 200
        if no_body or not body:
            await self.send_head(state, status, headers, len(body), end=True)
            return 0
        await self.send_head(state, status, headers, len(body), end=False)
        await self.send_body(state, body, end=True)
        return len(body)

    async def send_body(self, state: _StreamState, data: bytes, *, end: bool = False) -> None:
        """Send ``data`` as the windows allow; each wait for a window has a deadline."""
        conn, net = self.conn, self.net
        sid = state.stream_id
        view = memoryview(data)
        pos = 0
        size = len(data)
        while pos < size:
            if state.reset:
                raise StreamResetError("the peer reset the stream")
            window = conn.window(sid)
            if window <= 0:
                state.window = waiter = net.event()
                with net.move_on_after(self.config.write_timeout) as scope:
                    await waiter.wait()
                if scope.cancelled_caught:
                    raise StreamResetError("the peer's flow-control window stayed shut")
                continue
            n = min(window, size - pos, SEND_PIECE)
            last = end and pos + n >= size
            conn.send_data(sid, bytes(view[pos : pos + n]), end_stream=last)
            pos += n
            await self._wait_written()
        if end and not size:
            conn.end_stream(sid)
            await self._wait_written()

    async def end_body(self, state: _StreamState, trailers: Headers | None) -> None:
        if state.reset:
            raise StreamResetError("the peer reset the stream")
        if trailers:
            fields = [(n.lower().encode("latin-1"), v.encode("latin-1")) for n, v in trailers]
            self.conn.send_headers(state.stream_id, fields, end_stream=True)
        else:
            self.conn.end_stream(state.stream_id)
        await self._wait_written()

    async def _send_response(self, state: _StreamState, response: Response) -> int:
        body = response.body
        status = response.status
        if body is None:
            body = b""
        if isinstance(body, str):
            body = body.encode("utf-8")
        if isinstance(body, (bytes, bytearray, memoryview)):
            return await self.send_bytes_response(state, status, response.headers, bytes(body))
        no_body = state.method == "HEAD" or status in (204, 304)
        if isinstance(body, FileBody):
            length = body.length
            if length is None:
                length = await self.net.run_in_thread(body.resolved_length)
            await self.send_head(state, status, response.headers, length, end=no_body or not length)
            if no_body or not length:
                return 0
            return await self._send_file(state, body, length)
        await self.send_head(state, status, response.headers, None, end=no_body)
        if no_body:
            await _close_body(body)
            return 0
        sent = 0
        assert isinstance(body, AsyncIterable)
        async for piece in body:
            if piece:
                await self.send_body(state, bytes(piece))
                sent += len(piece)
        await self.end_body(state, None)
        return sent

    async def _send_file(self, state: _StreamState, body: FileBody, length: int) -> int:
        net = self.net
        f = await net.run_in_thread(_open_binary, body.path)
        try:
            if body.offset:
                await net.run_in_thread(f.seek, body.offset)
            left = length
            while left > 0:
                piece = await net.run_in_thread(f.read, min(body.chunk_size, left))
                if not piece:
                    raise StreamResetError(f"file {body.path} shrank while being sent")
                left -= len(piece)
                await self.send_body(state, piece, end=left <= 0)
        finally:
            await net.run_in_thread(f.close)
        return length

    # -- streams ---------------------------------------------------------------------------------

    def _request(self, state: _StreamState, headers: HeaderList) -> Request:
        method = path = authority = ""
        fields: list[tuple[str, str, str]] = []
        cookies: list[str] = []
        limits = self.config.limits
        for name, value in headers:
            if name[:1] == b":":
                if name == b":method":
                    method = value.decode("latin-1")
                elif name == b":path":
                    path = value.decode("latin-1")
                elif name == b":authority":
                    authority = value.decode("latin-1")
                continue
            text_name = name.decode("latin-1")
            text_value = value.decode("latin-1")
            if text_name == "cookie":  # RFC 9113 8.2.3: crumbs are joined for HTTP/1.1
                cookies.append(text_value)
                continue
            if text_name == "host" and authority:
                continue  # :authority wins (RFC 9113 8.3.1)
            fields.append((text_name, text_name, text_value))
        if authority:
            fields.insert(0, ("host", "host", authority))
        if cookies:
            fields.append(("cookie", "cookie", "; ".join(cookies)))
        if len(fields) > limits.max_headers:
            raise HeaderFieldsTooLarge(f"more than {limits.max_headers} header fields")
        if len(path) > limits.max_line:
            raise URITooLong(f"path longer than {limits.max_line} characters")
        target = authority if method == "CONNECT" else path
        request = Request(
            method, target, Headers._trusted(fields), version="HTTP/2", remote=self.remote
        )
        request.scheme = self.scheme
        state.method = method
        if state.body is None:
            request.body = b""
        else:
            request.body = state.body
            length = request.headers.get("content-length")
            if length is not None and limits.max_body is not None and int(length) > limits.max_body:
                raise ContentTooLarge(
                    f"Content-Length {length} exceeds the body limit of {limits.max_body} bytes"
                )
        return request

    async def _run_stream(self, state: _StreamState, headers: HeaderList) -> None:
        conn = self.conn
        sid = state.stream_id
        stream = H2ResponseStream(self, state)
        try:
            with self.net.move_on_after(math.inf) as scope:
                state.scope = scope
                try:
                    request = self._request(state, headers)
                    request.stream = stream
                    response = await self._call(request)
                except ProtocolError as exc:
                    if stream.started:
                        raise
                    response = Response.text(exc.message + "\n", exc.status)
                if response is STREAMED or stream.started:
                    if not stream.finished:
                        log.error("handler left its response on stream %d unfinished", sid)
                        conn.reset_stream(sid, ErrorCode.INTERNAL_ERROR)
                    status, sent = stream.status, max(stream.sent, 0)
                else:
                    status = response.status
                    sent = await self._send_response(state, response)
                self.requests_served += 1
                if self.config.access_log and access_log.isEnabledFor(logging.INFO):
                    self._log_access(headers, status, sent)
                if sid in conn.streams and not conn.streams[sid].closed_remote:
                    # RFC 9113 8.1: a complete response; the rest of the request is not wanted
                    conn.reset_stream(sid, ErrorCode.NO_ERROR)
        except (StreamResetError, LocalProtocolError, ProtocolError) as exc:
            log.debug("stream %d from %s: %s", sid, self.remote, exc)
            if sid in conn.streams:
                conn.reset_stream(
                    sid, ErrorCode.INTERNAL_ERROR if not state.reset else ErrorCode.CANCEL
                )
        except NetworkError as exc:
            log.debug("stream %d from %s: %s", sid, self.remote, exc)
            if sid in conn.streams:
                conn.reset_stream(sid, ErrorCode.CANCEL)
        except Exception:
            log.exception("streaming the response on stream %d to %s failed", sid, self.remote)
            if sid in conn.streams:
                conn.reset_stream(sid, ErrorCode.INTERNAL_ERROR)
        finally:
            self.states.pop(sid, None)
            if not self.states:
                self._idle_since = _clock()
            if sid in conn.streams and not state.reset and not self._failed:
                conn.reset_stream(sid, ErrorCode.CANCEL)  # cancelled by the shutdown's grace
            self.wake_writer()
            self._check_done()

    def _log_access(self, headers: HeaderList, status: int, size: int) -> None:
        """One line per answered request, in cohttp.Server's (the combined log) format."""
        fields = dict(headers)
        method = fields.get(b":method", b"-").decode("latin-1")
        target = fields.get(b":path", fields.get(b":authority", b"-")).decode("latin-1")
        referer = fields.get(b"referer", b"-").decode("latin-1").replace('"', "%22")
        agent = fields.get(b"user-agent", b"-").decode("latin-1").replace('"', "%22")
        t = time.gmtime()
        stamp = (
            f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year}:"
            f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"
        )
        access_log.info(
            '%s - - [%s] "%s %s HTTP/2" %d %s "%s" "%s"',
            self.remote[0] if self.remote else "-",
            stamp,
            method,
            target,
            status,
            size if size else "-",
            referer,
            agent,
        )

    async def _call(self, request: Request) -> Response:
        try:
            response = await self.handler(request)
        except (ProtocolError, StreamResetError):
            raise  # the request's own stream broke: answered (or reset) by _run_stream
        except NetworkError:
            if self._failed:
                raise  # our connection broke under the handler: nothing to answer
            log.exception(
                "handler failed for %s %s from %s", request.method, request.target, self.remote
            )
            return Response(500, b"internal server error\n", [("content-type", "text/plain")])
        except Exception:
            log.exception(
                "handler failed for %s %s from %s", request.method, request.target, self.remote
            )
            return Response(500, b"internal server error\n", [("content-type", "text/plain")])
        if not isinstance(response, Response):
            log.error("handler returned %s, not a Response", type(response).__name__)
            return Response(500, b"internal server error\n", [("content-type", "text/plain")])
        return response

    def _check_done(self) -> None:
        """Wake the reader when a connection that takes no new streams has none left."""
        if not self.states and not self.conn.accepting and self._read_scope is not None:
            self._read_scope.cancel()

    # -- input -----------------------------------------------------------------------------------

    def _dispatch(self, events: list[Any], tg: Any) -> None:
        conn = self.conn
        for event in events:
            cls = event.__class__
            if cls is DataReceived:
                state = self.states.get(event.stream_id)
                if state is not None and state.body is not None:
                    state.body._feed(event.data, event.flow_controlled_length, event.end_stream)
                else:
                    conn.acknowledge_received_data(event.stream_id, event.flow_controlled_length)
            elif cls is RequestReceived:
                state = _StreamState(event.stream_id)
                if not event.end_stream:  # its DATA may be in this very batch of events
                    state.body = _Body(self, state)
                self.states[event.stream_id] = state
                tg.start_soon(self._run_stream, state, event.headers)
            elif cls is TrailersReceived:
                state = self.states.get(event.stream_id)
                if state is not None and state.body is not None:
                    trailers = []
                    for n, v in event.headers:
                        name = n.decode("latin-1")
                        trailers.append((name, name, v.decode("latin-1")))
                    state.body.trailers = Headers._trusted(trailers)
                    state.body._feed(b"", 0, True)
            elif cls is WindowUpdated:
                if event.stream_id:
                    state = self.states.get(event.stream_id)
                    if state is not None and state.window is not None:
                        state.window.set()
                else:
                    for state in self.states.values():
                        if state.window is not None:
                            state.window.set()
            elif cls is StreamReset:
                state = self.states.get(event.stream_id)
                if state is not None:
                    state.reset = True
                    if state.window is not None:
                        state.window.set()
                    if state.body is not None:
                        state.body._fail(StreamResetError("the peer reset the stream"))
                    if state.scope is not None:
                        state.scope.cancel()
            elif cls is ConnectionTerminated and not event.remote:
                log.info("h2 connection error with %s: %s", self.remote, event.message)

    async def _reader(self, tg: Any, preface: bytes) -> None:
        conn, net, flow, cfg = self.conn, self.net, self.flow, self.config
        frame_since = _clock()
        progress = -1
        block_since = 0.0
        pending = preface
        while not conn.closed and not self._failed:
            if not conn.accepting and not self.states:
                break
            now = _clock()
            if conn.frames_received != progress:
                progress = conn.frames_received
                frame_since = now
            block_since = (block_since or now) if conn.header_block_open else 0.0
            expires = True
            if conn.receiving_frame:
                deadline = min(frame_since, block_since or frame_since) + cfg.header_timeout
            elif not self.states:
                deadline = self._idle_since + cfg.idle_timeout
            else:  # streams have deadlines of their own: only wake up to look again
                deadline = now + cfg.idle_timeout
                expires = False
            if pending:
                data, pending = pending, b""
            else:
                with net.move_on_after(deadline - now) as scope:
                    self._read_scope = scope
                    try:
                        data = await flow.read(READ_SIZE)
                    finally:
                        self._read_scope = None
                if scope.cancelled_caught:
                    if self._failed or (not conn.accepting and not self.states):
                        break
                    if expires and _clock() >= deadline:
                        if conn.receiving_frame:
                            conn.close(ErrorCode.ENHANCE_YOUR_CALM, "frame not completed in time")
                        else:
                            conn.close(ErrorCode.NO_ERROR, "idle")
                        self.wake_writer()
                        break
                    continue
            events = conn.receive_data(data)
            self._dispatch(events, tg)
            self.wake_writer()
            if not data:
                break

    async def _watch_shutdown(self, shutdown: Event) -> None:
        await shutdown.wait()
        self.conn.close(ErrorCode.NO_ERROR, "shutting down")
        self.wake_writer()
        self._check_done()
        if not self.states and self._read_scope is not None:
            self._read_scope.cancel()

    async def run(self, shutdown: Event | None, preface: bytes) -> None:
        net = self.net
        async with net.task_group() as tg:
            tg.start_soon(self._writer)
            if shutdown is not None:
                tg.start_soon(self._watch_shutdown, shutdown)
            try:
                await self._reader(tg, preface)
            except NetworkError as exc:
                log.debug("h2 connection from %s: %s", self.remote, exc)
                self._fail()
            # After GOAWAY (ours or the peer's) open streams may finish, for a while; after
            # a connection error or the peer's EOF nothing more is answered.
            if not self.conn.closed:
                with net.move_on_after(self.config.shutdown_grace):
                    while self.states and not self._failed:
                        await net.sleep(0.02)
            for state in list(self.states.values()):
                if state.scope is not None:
                    state.scope.cancel()
            if self.conn.accepting and not self.conn.closed and not self._failed:
                self.conn.close(ErrorCode.NO_ERROR)
            self._finished = True
            self.wake_writer()
            with net.move_on_after(self.config.write_timeout):
                await self._writer_done.wait()
            tg.cancel_scope.cancel()


async def serve_h2(
    net: Backend,
    flow: Flow,
    handler: Handler,
    config: ServerConfig | None = None,
    *,
    h2_config: H2Config | None = None,
    remote: tuple[str, int] | None = None,
    shutdown: Event | None = None,
    preface: bytes = b"",
) -> int:
    """Serve HTTP/2 (RFC 9113) on ``flow`` until the connection ends; return the number of
    requests answered. The caller closes ``flow``.

    ``config`` gives the timeouts and limits (:class:`cohttp.ServerConfig`), ``h2_config``
    the HTTP/2 settings and limits (:class:`~cohttp.h2.connection.H2Config`); ``remote``
    overrides the peer address requests report; ``shutdown``, once set, starts a graceful
    GOAWAY; ``preface``: bytes already read from ``flow`` (the start of the client preface).
    """
    driver = _Driver(net, flow, handler, config or ServerConfig(), h2_config, remote)
    await driver.run(shutdown, preface)
    return driver.requests_served


__all__ = ["H2ResponseStream", "StreamResetError", "serve_h2"]
