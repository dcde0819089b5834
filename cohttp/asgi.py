"""An ASGI bridge: run an ASGI 3 application on our server, over any backend.

::

    async def main(net: backends.Backend) -> None:
        async with cohttp.asgi.ASGIHandler(app, net) as handler:  # runs lifespan start-up
            await cohttp.Server(handler).serve(net, "127.0.0.1", 8000)

Each request runs ``app(scope, receive, send)`` on the connection's own task: no task, no
channel and no event per request. The scope is a copy of a prototype the handler keeps
per request line and header block (the parser hands a repeated request the very block it
validated before), with only ``headers`` (a fresh list), ``client`` and ``state`` set
per request (see :meth:`ASGIHandler.scope_for`). ``receive`` and
``send`` are plain coroutines over the server's :class:`~cohttp.server.ResponseStream`:
a request body already read with its head (an empty one, or a small one that came
with it) is received in one message without waiting; an in-memory response (``more_body``
false in the first body message) goes out as one response in one write, framed by the
codec straight from the app's byte-pair fields (:func:`cohttp.codec.encode_raw_response`,
a cached validated block); a streamed one chunk by chunk with the connection's
backpressure; and a Content-Length the app declares is held to. The response is on the
wire as soon as its last body message is sent, so work the
app does after it (Starlette's background tasks) only delays the next request on the same
connection. ``receive`` after the request body waits for the response's end and then
reports ``http.disconnect`` (as uvicorn does); ``send`` on a broken connection raises
:class:`OSError` (ASGI spec 2.4, so Starlette streams without a listener task). Lifespan
``startup``/``shutdown`` are sent when the handler is entered and left (over the
backend's events), unless the app does not support them. A WebSocket upgrade request
runs the app in the ASGI
``websocket`` scope over :mod:`cohttp.ws` (the server hands the connection over after the
101); closing before accepting answers 403, as uvicorn does.
"""

from __future__ import annotations

import contextvars
import logging
import types
from collections import deque
from collections.abc import Awaitable, Callable, Generator, MutableMapping
from types import TracebackType
from typing import Any

from backends import Backend
from backends.interface import Event, TaskGroup
from uri import pct_decode_bytes

from . import ws
from .codec import parse_number
from .headers import Headers
from .server import STREAMED, ResponseStream, _RequestBody
from .types import IncomingBody, Request, Response, read_body

log = logging.getLogger("cohttp.asgi")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class ASGIError(RuntimeError):
    """The application broke the ASGI protocol (for instance, sent a body before a start)."""


class ASGIHandler:
    """A :data:`~cohttp.server.Handler` that runs an ASGI application.

    Use it as an async context manager on the backend ``net`` (it drives the lifespan
    protocol, whose task runs in a task group it owns; requests run on the server's
    connection tasks).
    """

    def __init__(
        self,
        app: ASGIApp,
        net: Backend,
        *,
        root_path: str = "",
        lifespan: bool = True,
        server: tuple[str, int] | None = None,
        scheme: str = "http",
    ) -> None:
        self.app = app
        self.net = net
        # What every http scope shares; each request's scope is a copy with its own
        # fields set (a copy is several times cheaper than a 13-entry dict display).
        self._template: dict[str, Any] = {
            "type": "http",
            "asgi": _ASGI_HTTP,
            "http_version": "1.1",
            "method": "GET",
            "scheme": scheme,
            "path": "/",
            "raw_path": b"/",
            "query_string": b"",
            "root_path": root_path,
            "headers": [],
            "client": None,
            "server": server,
            "state": None,
        }
        self.lifespan = lifespan
        self._tg: TaskGroup | None = None
        self._to_app: _Mailbox | None = None
        self._from_app: _Mailbox | None = None
        self._lifespan_supported = False
        self.state: dict[str, Any] = {}
        self._scopes: dict[Any, _Entry] = {}

    async def __aenter__(self) -> ASGIHandler:
        tg = self.net.task_group()
        await tg.__aenter__()
        self._tg = tg
        if self.lifespan:
            try:
                await self._startup()
            except BaseException:  # leave the task group as entered: cancel, exit, raise
                tg.cancel_scope.cancel()
                self._tg = None
                await tg.__aexit__(None, None, None)
                raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        tg = self._tg
        assert tg is not None
        try:
            if self._lifespan_supported:
                await self._shutdown()
        finally:
            tg.cancel_scope.cancel()
            await tg.__aexit__(exc_type, exc, tb)
            self._tg = None

    @property
    def root_path(self) -> str:
        """The scope's ``root_path``: where the app is mounted behind a proxy."""
        return str(self._template["root_path"])

    @root_path.setter
    def root_path(self, value: str) -> None:
        self._template["root_path"] = value
        self._scopes.clear()

    @property
    def server(self) -> tuple[str, int] | None:
        """The scope's ``server``: the listening ``(host, port)``, None for a Unix socket."""
        return self._template["server"]  # type: ignore[no-any-return]

    @server.setter
    def server(self, value: tuple[str, int] | None) -> None:
        self._template["server"] = value
        self._scopes.clear()

    @property
    def scheme(self) -> str:
        """The scope's ``scheme``: ``http``, or ``https`` behind TLS."""
        return str(self._template["scheme"])

    @scheme.setter
    def scheme(self, value: str) -> None:
        self._template["scheme"] = value
        self._scopes.clear()

    @property
    def lifespan_supported(self) -> bool:
        """Whether the app answered the lifespan start-up (after entering the handler)."""
        return self._lifespan_supported

    # -- lifespan --------------------------------------------------------------------

    async def _startup(self) -> None:
        to_app, from_app = _Mailbox(self.net), _Mailbox(self.net)
        self._to_app, self._from_app = to_app, from_app
        scope = {
            "type": "lifespan",
            "asgi": {"version": "3.0", "spec_version": "2.0"},
            "state": self.state,
        }

        async def run() -> None:
            try:
                await self.app(scope, to_app.get, from_app.put)
            except Exception:
                if not self._lifespan_supported:
                    log.debug("the ASGI app does not support lifespan", exc_info=True)
                else:
                    log.exception("the ASGI app failed in lifespan")
            finally:
                from_app.close()

        assert self._tg is not None
        self._tg.start_soon(run)
        await to_app.put({"type": "lifespan.startup"})
        try:
            reply = await from_app.get()
        except EOFError:
            return  # the app returned or raised: no lifespan support
        self._lifespan_supported = True
        if reply["type"] == "lifespan.startup.failed":
            raise ASGIError(f"ASGI app start-up failed: {reply.get('message', '')}")

    async def _shutdown(self) -> None:
        assert self._to_app is not None and self._from_app is not None
        with self.net.move_on_after(10):
            await self._to_app.put({"type": "lifespan.shutdown"})
            try:
                reply = await self._from_app.get()
            except EOFError:
                return
            if reply["type"] == "lifespan.shutdown.failed":
                log.error("ASGI app shutdown failed: %s", reply.get("message", ""))

    # -- requests --------------------------------------------------------------------

    def scope_for(self, request: Request) -> Scope:
        """The ASGI ``http`` scope of ``request``, filled as uvicorn fills it.

        For an absolute-form target the ``host`` header carries the target's authority,
        which is what a server routes by (RFC 9112 3.2.2); the path is the target's path.

        A client repeats its requests: the parser hands each repeat the very field block
        it validated the first time (unsplit, ``Headers._lazy``), so everything in the
        scope that the request line and that block decide is kept per handler, keyed by
        them, as a prototype; a request then costs a copy of it and three fields of its
        own (``headers``, a fresh list the app may change, ``client`` and ``state``).
        :meth:`__call__` does the same inline (the hot path).
        """
        proto, fields, _, _ = self._entry(request)
        scope = proto.copy()
        scope["headers"] = fields.copy()
        remote = request.remote  # ("", 0) over a Unix socket: None, as uvicorn
        scope["client"] = remote if remote and remote[0] else None
        scope["state"] = self.state.copy()
        return scope

    def _entry(self, request: Request, key: Any = None) -> _Entry:
        """The prototype scope of ``request``, its ``headers`` and its Content-Length
        (None if it declares none), from the cache under ``key`` or made and kept there."""
        raw = getattr(request.headers, "_raw", None)  # the parsed block, still unsplit
        if key is None:
            key = (request.method, request.target, raw, request.version, request.scheme)
            entry = self._scopes.get(key)
            if entry is not None:
                return entry
        entry = self._prototype(request)
        if raw is not None and len(raw) < 4096 and len(request.target) <= 1024:
            if len(self._scopes) >= _SCOPES_KEPT:
                self._scopes.clear()
            self._scopes[key] = entry
        return entry

    def _prototype(self, request: Request) -> _Entry:
        """What :meth:`_entry` keeps for a request line and field block."""
        target = request.target
        if target[:1] == "/":
            q = target.find("?")
            path, query = (target, "") if q < 0 else (target[:q], target[q + 1 :])
        else:
            path, query = request.path, request.query
        proto = self._template.copy()
        root = proto["root_path"]  # in path and raw_path too, as uvicorn has them
        proto["path"] = root + (_unquote(path) if "%" in path else path)
        proto["raw_path"] = root.encode() + path.encode("latin-1")
        proto["query_string"] = query.encode("latin-1")
        proto["method"] = request.method
        if request.version != "HTTP/1.1":
            proto["http_version"] = _HTTP_VERSIONS.get(request.version, "1.0")
        if request.scheme == "https":  # came over TLS (cohttp.Server(tls=))
            proto["scheme"] = "https"
        headers = request.headers
        fields = [
            (lname.encode("latin-1"), value.encode("latin-1")) for lname, _, value in headers._items
        ]
        if target[:1] != "/":  # absolute form: its authority is the host
            host = request.host.encode("latin-1")
            fields = [(name, host if name == b"host" else value) for name, value in fields]
        upgradable = any(name == b"upgrade" for name, _ in fields)
        return proto, fields, parse_number(headers.get("content-length", "x")), upgradable

    async def __call__(self, request: Request) -> Response:
        """Run the app for ``request`` on the caller's task; see the module documentation."""
        stream = request.stream
        if stream is None:
            raise RuntimeError("ASGIHandler runs on cohttp.Server (request.stream is None)")
        # self.scope_for(request), inlined
        raw = getattr(request.headers, "_raw", None)  # the parsed block, still unsplit
        key = (request.method, request.target, raw, request.version, request.scheme)
        entry = self._scopes.get(key)
        if entry is None:
            entry = self._entry(request, key)
        proto, fields, length, upgradable = entry
        if upgradable:  # an Upgrade field: is it a WebSocket handshake?
            upgrade = stream.upgrade
            if upgrade is not None and "websocket" in upgrade.lower() and request.method == "GET":
                return await self._websocket(request, stream)
        scope = proto.copy()
        scope["headers"] = fields.copy()
        remote = request.remote  # ("", 0) over a Unix socket: None, as uvicorn
        scope["client"] = remote if remote and remote[0] else None
        scope["state"] = self.state.copy()
        exchange = _new_exchange(_Exchange)  # _Exchange.__init__, inlined
        exchange._net = self.net
        exchange._request = request
        exchange._stream = stream
        exchange._length = length
        exchange._unread = True
        exchange._done = None
        exchange._raw = ()
        exchange.status = 0
        clean = stream.connection_state  # a context, once an app changed the task's own
        before = contextvars.copy_context() if clean is None else clean
        try:
            if clean is None:  # on the task's context, kept only if the app leaves it alone
                await self.app(scope, exchange.receive, exchange.send)
            else:
                await _in_context(clean, self.app, scope, exchange.receive, exchange.send)
        except Exception:
            if stream.sent >= 0:  # finished: background work after the response failed
                log.exception("ASGI app failed after responding to %s", request.target)
                return STREAMED
            log.exception("ASGI app failed for %s %s", request.method, request.target)
            if stream.status:
                raise  # the server cuts the connection: the response cannot be completed
            return Response(500, b"Internal Server Error", _ERROR_HEADERS)
        finally:
            if exchange._done is not None:  # a task waiting for the disconnect
                exchange._done.set()
            if clean is None and contextvars.copy_context() != before:
                stream.connection_state = before  # later requests: in copies of this one
        if not stream.status:
            if exchange.status:
                log.error("ASGI app returned without a response body for %s", request.target)
            else:
                log.error("ASGI app returned without a response for %s", request.target)
            return Response(500, b"Internal Server Error", _ERROR_HEADERS)
        return STREAMED

    async def _websocket(self, request: Request, stream: ResponseStream) -> Response:
        """Run the app for a WebSocket upgrade request (the ASGI ``websocket`` scope)."""
        scope = self.scope_for(request)
        del scope["method"]
        scope["type"] = "websocket"
        scope["scheme"] = "wss" if scope["scheme"] == "https" else "ws"
        offered = request.headers.get("sec-websocket-protocol", "")
        scope["subprotocols"] = [p.strip(" \t") for p in offered.split(",") if p.strip(" \t")]
        session = _WebSocketSession(self.net, request, stream)
        clean = stream.connection_state or contextvars.copy_context()
        try:
            await _in_context(clean, self.app, scope, session.receive, session.send)
        except Exception:
            log.exception("ASGI app failed on the WebSocket %s", request.target)
            if session.ws is None and not stream.started:
                await session.refuse(500)
            elif session.ws is not None:
                await session.ws.close(1011, "internal error")
        else:
            if session.ws is not None:
                await session.ws.close()
            elif not stream.started:
                await session.refuse(403)  # neither accepted nor closed: refused
        return STREAMED


@types.coroutine
def _in_context(
    context: contextvars.Context, app: ASGIApp, scope: Scope, receive: Any, send: Any
) -> Generator[Any, Any, None]:
    """Await ``app(scope, receive, send)`` with the call and every step of what it returns
    run in a copy of ``context``.

    Each request must see the context as it was before any request ran, as under a server
    that spawns a task per request (uvicorn): a context variable one request sets (a
    request id, a user) must not be seen by the next one on the connection. A request
    runs on the connection task's own context while no app has changed it (nothing to
    copy, nothing to undo); once one has, each later request on the connection runs here,
    in a copy of the context from before that change. Still no task: whatever the loop
    yields and sends passes through, for one ``Context.run`` per step."""
    run = context.copy().run
    app_call = run(app, scope, receive, send)
    steps: Any = app_call if app_call.__class__ is types.CoroutineType else app_call.__await__()
    try:
        signal = run(steps.send, None)
        while True:
            try:
                value = yield signal
            except BaseException as exc:  # cancellation and the like: thrown into the app
                signal = run(steps.throw, exc)
            else:
                signal = run(steps.send, value)
    except StopIteration:
        return


_ASGI_HTTP = {"version": "3.0", "spec_version": "2.4"}
_HTTP_VERSIONS = {"HTTP/1.1": "1.1", "HTTP/2": "2"}
"""ASGI's ``http_version`` of each Request.version (HTTP/2 from :mod:`cohttp.h2`)."""
_ERROR_HEADERS = Headers([("content-type", "text/plain; charset=utf-8")])
_DISCONNECT: Message = {"type": "http.disconnect"}
_WHOLE_BODY = 1 << 20
"""A request body announced up to this size is given to the app in one message."""


class _Mailbox:
    """Messages one way between the server and the app's lifespan task, over backend
    events (one reader). ``get`` raises :class:`EOFError` once the sender closed and all
    is read."""

    __slots__ = ("_items", "_net", "_ready", "closed")

    def __init__(self, net: Backend) -> None:
        self._net = net
        self._items: deque[Message] = deque()
        self._ready: Event = net.event()
        self.closed = False

    async def put(self, message: Message) -> None:
        if self.closed:
            raise ASGIError(f"{message.get('type')!r} sent after the lifespan ended")
        self._items.append(message)
        self._ready.set()

    def close(self) -> None:
        self.closed = True
        self._ready.set()

    async def get(self) -> Message:
        while not self._items:
            if self.closed:
                raise EOFError("the lifespan task ended")
            if self._ready.is_set():  # set for an item already taken: wait afresh
                self._ready = self._net.event()
            await self._ready.wait()
        return self._items.popleft()


class _Exchange:
    """``receive`` and ``send`` of one request: plain coroutines over the connection.

    Made by :meth:`ASGIHandler.__call__`, which sets every field itself (no ``__init__``
    call per request): ``_net``, ``_request``, ``_stream``; ``_length``, the request's
    Content-Length (None if it has none); ``_unread``, true until the body was received;
    ``_done``, an Event made only if the app waits for a disconnect; ``_raw``, the
    response fields of ``http.response.start``; ``status``, 0 before it."""

    __slots__ = ("_done", "_length", "_net", "_raw", "_request", "_stream", "_unread", "status")

    _net: Backend
    _request: Request
    _stream: ResponseStream
    _length: int | None
    _unread: bool
    _done: Any
    _raw: Any
    status: int

    def finish(self) -> None:
        if self._done is not None:
            self._done.set()

    async def receive(self) -> Message:
        body = self._request.body
        if self._unread:
            if body.__class__ is bytes:  # no body (the server's b""): no await
                self._unread = False
                return {"type": "http.request", "body": body, "more_body": False}
            if body.__class__ is _RequestBody:  # all of it read with the head: no await
                whole = body.take_buffered()
                if whole is not None:
                    self._unread = False
                    return {"type": "http.request", "body": whole, "more_body": False}
        if not self._unread or body is None:
            if not self._stream.finished:  # a listener task: wait for the response's end
                if self._done is None:
                    self._done = self._net.event()
                await self._done.wait()
            return _DISCONNECT
        if isinstance(body, IncomingBody):
            length = self._length
            if length is not None and length <= _WHOLE_BODY:
                self._unread = False
                whole = await body._next()  # usually all of it, already read with the head
                if whole is None:
                    whole = b""
                elif (piece := await body._next()) is not None:
                    pieces = [whole, piece]
                    while (piece := await body._next()) is not None:
                        pieces.append(piece)
                    whole = b"".join(pieces)
                return {"type": "http.request", "body": whole, "more_body": False}
            piece = await body._next()
            if piece is None:
                self._unread = False
                return {"type": "http.request", "body": b"", "more_body": False}
            return {"type": "http.request", "body": piece, "more_body": True}
        self._unread = False
        return {"type": "http.request", "body": await read_body(body), "more_body": False}

    async def send(self, message: Message) -> None:
        kind = message["type"]
        stream = self._stream
        if kind == "http.response.body":
            status = self.status
            if not status:
                raise ASGIError("http.response.body before http.response.start")
            body = message.get("body", b"")
            more = message.get("more_body", False)
            # the common whole response: framed from the app's fields, one write (False,
            # having sent nothing, if already started or not the common response)
            if not more and await stream.respond_raw(status, self._raw, body):
                if self._done is not None:
                    self._done.set()
                return
            if stream.started:
                if stream.finished:
                    raise ASGIError("http.response.body after the response ended")
                await stream.send(body)
                if not more:
                    await stream.end()
                    self.finish()
                return
            headers, declared = _response_headers(self._raw)
            if more:
                await stream.start(status, headers, length=declared)
                await stream.send(body)
                return
            if declared is not None and declared != len(body):
                if stream.method != "HEAD":
                    raise ASGIError(f"body of {len(body)} bytes but Content-Length {declared}")
                await stream.start(status, headers, length=declared)
                await stream.end()
            else:
                await stream.respond(status, headers, bytes(body))
            self.finish()
        elif kind == "http.response.start":
            if self.status:
                raise ASGIError("http.response.start sent twice")
            status = message["status"]
            if status.__class__ is not int or not 100 <= status <= 599:
                raise ASGIError(f"status {status!r} is not an int in 100..599")
            self.status = status
            self._raw = message.get("headers", ())
        else:
            raise ASGIError(f"unexpected ASGI message {kind!r} in an http scope")


class _WebSocketSession:
    """``receive`` and ``send`` of the ASGI ``websocket`` scope over :mod:`cohttp.ws`."""

    __slots__ = ("_code", "_connected", "_denial", "_net", "_request", "_stream", "closed", "ws")

    def __init__(self, net: Backend, request: Request, stream: ResponseStream) -> None:
        self._net = net
        self._request = request
        self._stream = stream
        self._connected = False
        self._code = 1006  # the close code a disconnect reports once closed
        self._denial: tuple[int, Any] = (403, ())
        self.closed = False
        self.ws: ws.WebSocket | None = None

    async def refuse(self, status: int, headers: Any = (), body: bytes = b"") -> None:
        """Answer the upgrade request with plain HTTP (ASGI: close before accept)."""
        fields, _ = _response_headers([*headers, (b"connection", b"close")])
        await self._stream.respond(status, fields, body)
        self.closed = True

    async def receive(self) -> Message:
        if not self._connected:
            self._connected = True
            return {"type": "websocket.connect"}
        sock = self.ws
        if sock is None or self.closed:
            return {"type": "websocket.disconnect", "code": self._code}
        try:
            data = await sock.receive()
        except ws.ConnectionClosed as exc:
            self.closed = True
            self._code = exc.code
            return {"type": "websocket.disconnect", "code": exc.code, "reason": exc.reason}
        if data.__class__ is str:
            return {"type": "websocket.receive", "text": data}
        return {"type": "websocket.receive", "bytes": data}

    async def send(self, message: Message) -> None:
        kind = message["type"]
        sock = self.ws
        if kind == "websocket.send":
            if sock is None:
                raise ASGIError("websocket.send before websocket.accept")
            text = message.get("text")
            if text is not None:
                await sock.send_text(text)
            else:
                await sock.send_bytes(message.get("bytes") or b"")
        elif kind == "websocket.accept":
            if sock is not None or self.closed:
                raise ASGIError("websocket.accept after the handshake")
            subprotocol = message.get("subprotocol")
            flow, buffered = await self._stream.take_over()
            request = self._request
            try:
                self.ws = await ws.accept(
                    flow,
                    self._net,
                    request.method,
                    request.headers,
                    http_version=request.version,
                    buffered=buffered,
                    subprotocols=(subprotocol,) if subprotocol else (),
                )
            except ws.HandshakeError:  # answered (400/426) and logged by cohttp.ws
                self.closed = True
            else:
                await ws.close_at_shutdown(self._stream, self.ws)  # 1001 at shutdown
        elif kind == "websocket.close":
            if sock is None:
                if not self.closed:
                    await self.refuse(403)
            elif not self.closed:
                self.closed = True
                self._code = message.get("code", 1000)
                await sock.close(self._code, message.get("reason") or "")
        elif kind == "websocket.http.response.start":
            self._denial = (message["status"], message.get("headers", ()))
        elif kind == "websocket.http.response.body":
            status, headers = self._denial
            await self.refuse(status, headers, bytes(message.get("body", b"")))
        else:
            raise ASGIError(f"unexpected ASGI message {kind!r} in a websocket scope")


_Entry = tuple[dict[str, Any], list[tuple[bytes, bytes]], int | None, bool]
"""A kept scope prototype (all but ``headers``, ``client`` and ``state`` filled), the
request's fields as the scope's byte pairs, its Content-Length, and whether it has an
Upgrade field (without one it cannot be a WebSocket handshake: the stream is not asked)."""
_new_exchange = object.__new__
_SCOPES_KEPT = 1024
"""How many scope prototypes a handler keeps (cleared when full)."""
_HEADER_CACHE: dict[tuple[tuple[bytes, bytes], ...], tuple[Headers, int | None]] = {}


def _response_headers(raw: Any) -> tuple[Headers, int | None]:
    """The app's response headers, checked (no CR, LF or NUL: no response splitting), and
    the Content-Length it declared, taken out (the codec writes it)."""
    try:
        key = tuple(raw)
        hit = _HEADER_CACHE.get(key)
    except TypeError:  # lists inside: not hashable, not cached
        key, hit = None, None
    if hit is not None:
        return hit
    items: list[tuple[str, str]] = []
    declared: int | None = None
    for name, value in raw:
        text = bytes(value).decode("latin-1")
        field = bytes(name).decode("latin-1")
        if field.lower() == "content-length":
            declared = parse_number(text.strip(" \t"))
            if declared is None:
                raise ASGIError(f"Content-Length {text[:40]!r} is not 1 to 18 digits")
            continue
        items.append((field, text))
    try:
        result = (Headers(items), declared)
    except ValueError as exc:
        raise ASGIError(f"invalid response header: {exc}") from None
    if key is not None:
        if len(_HEADER_CACHE) >= 1024:
            _HEADER_CACHE.clear()
        _HEADER_CACHE[key] = result
    return result


def _unquote(path: str) -> str:
    try:
        return pct_decode_bytes(path).decode("utf-8", "replace")
    except ValueError:
        return path


__all__ = ["ASGIApp", "ASGIError", "ASGIHandler"]
