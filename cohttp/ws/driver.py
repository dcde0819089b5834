"""WebSocket over any :class:`backends.Flow`: the handshake, deadlines and keepalive.

Server side, inside an HTTP server that has parsed the request head (the later
integration point: the HTTP codec hands over the flow and the bytes it read past the
head)::

    ws = await accept(flow, runtime, head.method, head.headers, buffered=leftover)

or, on a bare listener, :func:`accept_flow` reads the request head itself. Client side,
over a connected flow::

    ws = await connect(flow, runtime, "example.com", "/chat")

Then ``await ws.send_text(...)``, ``await ws.receive()`` (a ``str`` or ``bytes`` message),
``await ws.close()``, or ``async for message in ws``.

No background task: the task in :meth:`WebSocket.receive` answers pings, sends keepalive
pings every ``ping_interval`` and fails the connection when a pong is ``ping_timeout``
late. Every wait on the peer has a deadline it cannot extend: the handshake
(``handshake_timeout``), each message from its first byte to its last
(``message_timeout``), each write (``write_timeout``), and the closing handshake
(``close_timeout``). Writes from several tasks are serialised; one task receives at a time.
"""

from __future__ import annotations

import logging
import os
from collections.abc import (
    AsyncIterator,
    Collection,
    Coroutine,
    Iterable,
    Sequence,
)
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar

from backends.errors import NetworkError, Timeout
from backends.interface import Event as RuntimeEvent
from backends.interface import Flow, Runtime

from ..codec import (
    NEED_DATA,
    Limits,
    RequestHead,
    RequestParser,
    ResponseHead,
    ResponseParser,
    encode_request_head,
    encode_response_head,
)
from ..codec import ProtocolError as HTTPProtocolError
from ..headers import Headers
from .deflate import DEFAULT_DEFLATE, DeflateOptions
from .handshake import Accepted, Fields, HandshakeError, client_handshake, server_handshake
from .protocol import (
    ABNORMAL,
    NO_STATUS,
    Bytes,
    Close,
    Connection,
    Event,
    Ping,
    Pong,
    ProtocolError,
    Role,
    State,
    Text,
    WebSocketError,
)

T = TypeVar("T")

_READ_SIZE = 256 * 1024
"""Bytes asked of the flow per read: a 64 KiB frame and its header in one read when they
are there, several small frames per read always."""

log = logging.getLogger("cohttp.ws")
_OPEN = State.OPEN  # globals: an Enum member read through its class is slow (protocol.py)
_LOCAL_CLOSING = State.LOCAL_CLOSING
_REMOTE_CLOSING = State.REMOTE_CLOSING
_CLOSED = State.CLOSED


@dataclass(frozen=True, slots=True)
class Config:
    """Limits and deadlines of one WebSocket connection (seconds, bytes)."""

    max_frame_size: int = 1 << 20
    max_message_size: int = 1 << 20
    handshake_timeout: float = 10.0
    message_timeout: float = 60.0
    """From the first byte of a frame or message to its last: trickling cannot extend it."""
    write_timeout: float = 30.0
    close_timeout: float = 10.0
    ping_interval: float | None = 20.0
    """Send a keepalive ping this long after the last pong (or the start); None: never."""
    ping_timeout: float = 20.0
    max_head: int = 16384
    """The largest HTTP head :func:`accept_flow` and :func:`connect` read."""


class ConnectionClosed(WebSocketError):
    """The connection is closed: ``code`` and ``reason`` say how (section 7.1.5, 7.1.6).

    ``code`` is the peer's close code after a closing handshake, 1006 when the transport
    ended without one, or the code we failed the connection with.
    """

    def __init__(self, code: int, reason: str = "") -> None:
        super().__init__(f"WebSocket closed with code {code}" + (f": {reason}" if reason else ""))
        self.code = code
        self.reason = reason

    @property
    def ok(self) -> bool:
        """A normal closure (1000, 1001, or a Close without code)."""
        return self.code in (1000, 1001, NO_STATUS)


class WebSocket:
    """An open WebSocket: send and receive messages over a flow.

    Made by :func:`accept`, :func:`accept_flow` or :func:`connect`. ``subprotocol`` is
    what the handshake chose.
    """

    def __init__(
        self,
        flow: Flow,
        runtime: Runtime,
        conn: Connection,
        *,
        config: Config = Config(),
        subprotocol: str | None = None,
    ) -> None:
        self.flow = flow
        self.subprotocol = subprotocol
        self._rt = runtime
        self._conn = conn
        self._ready = conn.ready
        self._config = config
        self._writing = False
        self._write_waiters: list[RuntimeEvent] = []
        self._receiving = False
        self._closed: ConnectionClosed | None = None
        self._close_seen: RuntimeEvent = runtime.event()
        now = runtime.now()
        self._ping_due = None if config.ping_interval is None else now + config.ping_interval
        self._ping_payload: bytes | None = None
        self._pings: dict[bytes, RuntimeEvent] = {}
        self._pong_deadline: float | None = None
        self._message_deadline: float | None = None
        self._close_deadline: float | None = None
        self._close_done: RuntimeEvent | None = None  # set while close() reads, see receive

    # -- sending -----------------------------------------------------------------------

    def send_text(self, data: str) -> Coroutine[Any, Any, None]:
        """Send a text message: ``await ws.send_text(data)``.

        A plain method returning the sending coroutine (one coroutine per message, not two);
        a ``data`` that is not a ``str`` raises TypeError at once.
        """
        if data.__class__ is not str:
            raise TypeError(f"send_text takes a str, not {type(data).__name__}")
        return self._send(data)

    def send_bytes(self, data: bytes | bytearray | memoryview) -> Coroutine[Any, Any, None]:
        """Send a binary message: ``await ws.send_bytes(data)`` (as :meth:`send_text`)."""
        return self._send(data if data.__class__ is bytes else bytes(data))

    async def send(self, event: Text | Bytes) -> None:
        """Send a message or a fragment of one (``final=False`` for all but the last)."""
        await self._send(event)

    async def ping(self, payload: bytes | None = None) -> RuntimeEvent:
        """Send a Ping; the returned event is set when its Pong arrives.

        The Pong is taken in by whichever task is in :meth:`receive`, so keep one there.
        ``payload`` (at most 125 bytes) defaults to four random bytes.
        """
        if payload is None:
            payload = os.urandom(4)
        waiter = self._pings.get(payload)
        if waiter is None:
            waiter = self._pings[payload] = self._rt.event()
        await self._send(Ping(payload))
        return waiter

    async def _send(self, event: Event | str | bytes) -> None:
        """Send an event, or a whole message given as ``str`` (text) or ``bytes``.

        Writes are serialised: a task whose write must wait (the flow's buffer is full)
        holds the turn until the rest is written, and other senders wait for it. A write
        the flow takes at once needs no turn: nothing else runs between building the frame
        and handing it over. The frame is built once the turn is ours: with compression
        the context must see the messages in the order they go out.
        """
        if self._closed is not None:
            raise self._closed
        conn = self._conn
        state = conn.state
        if state is _LOCAL_CLOSING or state is _CLOSED:
            raise ConnectionClosed(ABNORMAL, "the closing handshake has begun")
        if self._writing:
            await self._wait_turn()
        cls = event.__class__
        data = conn.send_message(event) if cls is str or cls is bytes else conn.send(event)  # type: ignore[arg-type]
        # The flow bounds the write itself (a timer or a scope only if it has to wait).
        self._writing = True
        try:
            await self.flow.write_before(self._rt.now() + self._config.write_timeout, data)
        except (NetworkError, Timeout) as exc:
            self._write_failed(exc)
        finally:
            self._writing = False
            if self._write_waiters:  # wake them all: one may have been cancelled meanwhile
                waiters, self._write_waiters = self._write_waiters, []
                for waiter in waiters:
                    waiter.set()

    async def _wait_turn(self) -> None:
        """Wait until no other task's write is pending; ConnectionClosed if it failed."""
        while self._writing:
            waiter = self._rt.event()
            self._write_waiters.append(waiter)
            await waiter.wait()
            if self._closed is not None:  # closed while this task waited its turn
                raise self._closed

    def _write_failed(self, exc: Exception) -> NoReturn:
        self.flow.abort()
        self._closed = ConnectionClosed(ABNORMAL, f"write failed: {exc}")
        self._close_seen.set()
        raise self._closed from None

    # -- receiving ---------------------------------------------------------------------

    async def receive(self) -> str | bytes:
        """The next message; :class:`ConnectionClosed` once the connection is closed."""
        if self._closed is not None:
            raise self._closed
        if self._receiving:
            done = self._close_done
            if done is None:
                raise RuntimeError("another task is already receiving on this WebSocket")
            # close() reads the peer's Close (the server shutting down calls it from its
            # own task): this message never comes; wait for the closing handshake to end.
            await done.wait()
            raise self._closed or ConnectionClosed(ABNORMAL, "closed while receiving")
        # A message already buffered is returned without waiting: nothing can interleave,
        # so the receiving flag is only raised by _receive_rest, around its waits. One of
        # a burst the codec parsed ahead is taken without a call.
        ready = self._ready
        if ready:
            return ready.pop()
        try:
            item = self._conn.next_message()
        except ProtocolError as exc:
            await self._fail(exc.code, exc.reason)
        cls = item.__class__
        if cls is str or cls is bytes:
            return item  # type: ignore[return-value]
        return await self._receive_rest(item)

    async def _receive_rest(self, item: str | bytes | Event | None) -> str | bytes:
        """:meth:`receive` once the buffered bytes hold no whole message: read, answer
        control frames, until a message (or a fragment, with ``fragments=True``) is in."""
        self._receiving = True
        conn = self._conn
        try:
            while True:
                cls = item.__class__
                if cls is str or cls is bytes:
                    self._message_deadline = None
                    return item  # type: ignore[return-value]
                if item is None:
                    await self._fill()
                elif cls is Text or cls is Bytes:  # a fragment (Connection(fragments=True))
                    self._message_deadline = None
                    return item.data  # type: ignore[union-attr]
                else:
                    await self._control(item)  # type: ignore[arg-type]
                try:
                    item = conn.next_message()
                except ProtocolError as exc:
                    await self._fail(exc.code, exc.reason)
        finally:
            self._receiving = False

    def __aiter__(self) -> AsyncIterator[str | bytes]:
        return self._messages()

    async def _messages(self) -> AsyncIterator[str | bytes]:
        """Messages until a normal closure; any other closure raises ConnectionClosed."""
        while True:
            try:
                yield await self.receive()
            except ConnectionClosed as exc:
                if exc.ok:
                    return
                raise

    async def _control(self, event: Event) -> None:
        if isinstance(event, Ping):
            if self._conn.state is _OPEN:
                await self._send(Pong(event.payload))
        elif isinstance(event, Pong):
            waiter = self._pings.pop(event.payload, None)
            if waiter is not None:
                waiter.set()
            if self._ping_payload is not None and event.payload == self._ping_payload:
                self._ping_payload = None
                self._pong_deadline = None
                if self._config.ping_interval is not None:
                    self._ping_due = self._rt.now() + self._config.ping_interval
        elif isinstance(event, Close):
            self._close_seen.set()
            if self._conn.state is _REMOTE_CLOSING:
                # Section 5.5.1: answer with a Close, echoing the code.
                try:
                    await self._send(Close(event.code))
                except ConnectionClosed:
                    pass
            await self._finish(event.code, event.reason)

    async def _finish(self, code: int, reason: str) -> None:
        """Both Close frames went: close the transport (the server first, section 7.1.1)."""
        closed = ConnectionClosed(code, reason)
        if self._conn.role is Role.CLIENT:
            # Wait briefly for the server to close the TCP connection (section 7.1.1).
            with self._rt.move_on_after(self._config.close_timeout):
                try:
                    while await self.flow.read(65536):
                        pass
                except NetworkError:
                    pass
        await self.flow.close()
        self._closed = closed
        raise closed

    async def _next_event(self) -> Event:
        conn = self._conn
        while True:
            try:
                event = conn.next_event()
            except ProtocolError as exc:
                await self._fail(exc.code, exc.reason)
            if event is not None:
                return event
            await self._fill()

    async def _fill(self) -> None:
        """Read once from the peer, under the nearest deadline when the read must wait."""
        try:
            deadline = self._deadline()
            try:  # the flow bounds its own wait (Flow.read's deadline=; None: no bound)
                data = await self.flow.read(_READ_SIZE, deadline=deadline)
            except Timeout:
                await self._timer()
                return
            # Look at the clock after every read, also one that did not wait or whose bytes
            # came just as its deadline passed: a peer that keeps us busy (a flood of
            # frames, 256 KiB a read) cannot starve the timers.
            if deadline is not None and self._rt.now() >= deadline:
                await self._timer()
        except NetworkError as exc:
            self.flow.abort()
            self._lost(f"connection lost: {exc}")
        if not data:
            await self.flow.close()
            self._lost("the peer closed without a Close frame")
        self._conn.receive_data(data)

    def _deadline(self) -> float | None:
        """The nearest deadline; a message's starts when it is first seen incomplete."""
        if not self._conn.receiving:
            self._message_deadline = None  # a message receive's fast path returned
        elif self._message_deadline is None:
            self._message_deadline = self._rt.now() + self._config.message_timeout
        deadline: float | None = None
        for d in (
            self._message_deadline,
            self._ping_due,
            self._pong_deadline,
            self._close_deadline,
        ):
            if d is not None and (deadline is None or d < deadline):
                deadline = d
        return deadline

    def _lost(self, reason: str) -> NoReturn:
        """The transport ended without a closing handshake (1006, section 7.1.5)."""
        self._closed = ConnectionClosed(ABNORMAL, reason)
        self._close_seen.set()
        raise self._closed

    async def _timer(self) -> None:
        now = self._rt.now()
        if self._close_deadline is not None and now >= self._close_deadline:
            self.flow.abort()
            self._lost("the peer did not finish the closing handshake")
        if self._message_deadline is not None and now >= self._message_deadline:
            await self._fail(1008, "message not received within the time limit")
        if self._pong_deadline is not None and now >= self._pong_deadline:
            await self._fail(1011, "keepalive ping timeout")
        if self._ping_due is not None and now >= self._ping_due:
            self._ping_due = None
            self._ping_payload = os.urandom(4)
            self._pong_deadline = now + self._config.ping_timeout
            await self._send(Ping(self._ping_payload))

    async def _fail(self, code: int, reason: str) -> None:
        """Fail the connection (section 7.1.7): send Close if we can, drop the transport."""
        self._closed = ConnectionClosed(code, reason)
        if self._conn.state is _OPEN or self._conn.state is _REMOTE_CLOSING:
            with self._rt.move_on_after(min(self._config.close_timeout, 1.0)):
                try:
                    reason_bytes = reason.encode("utf-8")[:123].decode("utf-8", "ignore")
                    await self.flow.write(self._conn.send(Close(code, reason_bytes)))
                except (NetworkError, WebSocketError):
                    pass
        self.flow.abort()
        self._close_seen.set()
        raise self._closed

    # -- closing -----------------------------------------------------------------------

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Start (or finish) the closing handshake and close the transport.

        Waits at most ``close_timeout`` for the peer's Close; data messages arriving
        meanwhile are dropped. Returns quietly if the connection is already closed.
        """
        if self._closed is not None:
            return
        if self._conn.state is _OPEN:
            try:
                await self._send(Close(code, reason))
            except ConnectionClosed:
                return
        self._close_deadline = self._rt.now() + self._config.close_timeout
        if self._receiving:
            # Another task reads: it will see the peer's Close (or the deadline).
            with self._rt.move_on_after(self._config.close_timeout):
                await self._close_seen.wait()
            if self._closed is None:
                self.flow.abort()
                self._closed = ConnectionClosed(ABNORMAL, "closing handshake timed out")
            return
        self._receiving = True
        self._close_done = done = self._rt.event()
        try:
            while True:
                event = await self._next_event()
                if isinstance(event, Close):
                    await self._control(event)
        except ConnectionClosed:
            return
        finally:
            self._receiving = False
            self._close_done = None
            done.set()

    async def __aenter__(self) -> WebSocket:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


async def _write_answer(
    flow: Flow, status: int, fields: Iterable[tuple[str, str]], body: bytes
) -> None:
    headers = Headers(list(fields))
    if status != 101:
        headers.set("Content-Type", "text/plain; charset=utf-8")
        headers.set("Content-Length", str(len(body)))
        headers.set("Connection", "close")
    await flow.write(encode_response_head(status, headers) + body)


async def accept(
    flow: Flow,
    runtime: Runtime,
    method: str,
    headers: Fields,
    *,
    http_version: str = "HTTP/1.1",
    buffered: bytes = b"",
    subprotocols: Sequence[str] = (),
    deflate: DeflateOptions | None = DEFAULT_DEFLATE,
    origins: Collection[str] | None = None,
    config: Config = Config(),
) -> WebSocket:
    """Answer a parsed upgrade request on ``flow`` and return the open WebSocket.

    ``buffered`` holds bytes the HTTP layer read past the request head (frames the client
    sent early). When the handshake fails, the error answer (400/403/426, section 4.2.2)
    is written and :class:`~cohttp.ws.handshake.HandshakeError` raised: log it and close.
    """
    try:
        accepted = server_handshake(
            method,
            headers,
            http_version=http_version,
            subprotocols=subprotocols,
            deflate=deflate,
            origins=origins,
        )
    except HandshakeError as err:
        log.info("refused a WebSocket handshake from %s: %d %s", flow.remote, err.status, err)
        with runtime.move_on_after(config.write_timeout):
            await _write_answer(flow, err.status, err.headers, (err.message + "\n").encode())
        raise
    return await open_accepted(flow, runtime, accepted, deflate, config, buffered)


async def open_accepted(
    flow: Flow,
    runtime: Runtime,
    accepted: Accepted,
    deflate: DeflateOptions | None,
    config: Config,
    buffered: bytes = b"",
) -> WebSocket:
    """Answer 101 for a handshake :func:`server_handshake` accepted; the open WebSocket."""
    with runtime.fail_after(config.write_timeout):
        await _write_answer(flow, 101, accepted.headers, b"")
    conn = Connection(
        Role.SERVER,
        deflate=accepted.deflate,
        deflate_options=deflate,
        max_frame_size=config.max_frame_size,
        max_message_size=config.max_message_size,
    )
    if buffered:
        conn.receive_data(buffered)
    return WebSocket(flow, runtime, conn, config=config, subprotocol=accepted.subprotocol)


async def accept_flow(
    flow: Flow,
    runtime: Runtime,
    *,
    subprotocols: Sequence[str] = (),
    deflate: DeflateOptions | None = DEFAULT_DEFLATE,
    origins: Collection[str] | None = None,
    config: Config = Config(),
) -> tuple[WebSocket, str]:
    """Read an upgrade request from a bare flow, accept it; the WebSocket and the target.

    The whole head must arrive within ``handshake_timeout``. A malformed head is answered
    with 400 and raises :class:`HandshakeError`, as a refused handshake does.
    """
    parser = RequestParser(Limits(max_head=config.max_head))
    try:
        with runtime.fail_after(config.handshake_timeout):
            while True:
                event = parser.next_event()
                if isinstance(event, RequestHead):
                    head = event
                    break
                if event is not NEED_DATA:
                    raise HandshakeError("the client closed before its request head ended", 400)
                data = await flow.read(65536)
                if data:
                    parser.feed(data)
                else:
                    parser.feed_eof()
    except HTTPProtocolError as exc:
        err = HandshakeError(f"bad request head: {exc}", exc.status or 400)
        with runtime.move_on_after(config.write_timeout):
            await _write_answer(flow, err.status, [], (err.message + "\n").encode())
        raise err from None
    ws = await accept(
        flow,
        runtime,
        head.method,
        head.headers,
        http_version=head.version,
        buffered=parser.take_buffered(),
        subprotocols=subprotocols,
        deflate=deflate,
        origins=origins,
        config=config,
    )
    return ws, head.target


async def connect(
    flow: Flow,
    runtime: Runtime,
    host: str,
    path: str = "/",
    *,
    subprotocols: Sequence[str] = (),
    deflate: DeflateOptions | None = DEFAULT_DEFLATE,
    origin: str | None = None,
    extra_headers: Iterable[tuple[str, str]] = (),
    config: Config = Config(),
) -> WebSocket:
    """Open a WebSocket over a connected ``flow`` (client side, section 4.1).

    ``host`` is the Host field (``name:port`` unless the port is the default). Raises
    :class:`HandshakeError` when the server refuses or answers wrongly, and
    :class:`backends.Timeout` when no answer comes within ``handshake_timeout``.
    """
    handshake = client_handshake(
        host, subprotocols=subprotocols, deflate=deflate, origin=origin, extra_headers=extra_headers
    )
    parser = ResponseParser(Limits(max_head=config.max_head))
    parser.expect("GET")
    with runtime.fail_after(config.handshake_timeout):
        await flow.write(encode_request_head("GET", path, Headers(handshake.headers)))
        try:
            while True:
                event = parser.next_event()
                if isinstance(event, ResponseHead):
                    if event.status == 101 or event.status >= 200:
                        answer = event
                        break
                    continue  # an interim answer; its EndOfMessage comes next
                if event is NEED_DATA:
                    data = await flow.read(65536)
                    if not data:
                        raise HandshakeError("the server closed before answering", 0)
                    parser.feed(data)
        except HTTPProtocolError as exc:
            raise HandshakeError(f"bad answer to the handshake: {exc}", 0) from None
    accepted = handshake.verify(answer.status, answer.headers)
    conn = Connection(
        Role.CLIENT,
        deflate=accepted.deflate,
        deflate_options=deflate,
        max_frame_size=config.max_frame_size,
        max_message_size=config.max_message_size,
    )
    rest = parser.take_buffered()
    if rest:
        conn.receive_data(rest)
    return WebSocket(flow, runtime, conn, config=config, subprotocol=accepted.subprotocol)
