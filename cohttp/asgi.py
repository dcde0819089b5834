"""An ASGI bridge: run an ASGI 3 application on our server, over any backend.

::

    async def main(net: backends.Backend) -> None:
        async with cohttp.asgi.ASGIHandler(app, net) as handler:  # runs lifespan start-up
            await cohttp.Server(handler).serve(net, "127.0.0.1", 8000)

Each request runs ``app(scope, receive, send)`` in a task of the handler's task group; the
response head is returned to the server as soon as the app sends ``http.response.start``
and the body is streamed from the app's ``http.response.body`` messages with backpressure
(a small bounded channel). Lifespan ``startup``/``shutdown`` are sent when the handler is
entered and left, unless the app does not support them. HTTP only (no WebSocket).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from types import TracebackType
from typing import Any

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from backends import Backend
from backends.interface import TaskGroup
from uri import pct_decode_bytes

from .headers import Headers
from .types import Request, Response, read_body

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

    Use it as an async context manager on the backend ``net`` (it owns the task group the
    application's request tasks run in, and drives the lifespan protocol).
    """

    def __init__(
        self, app: ASGIApp, net: Backend, *, root_path: str = "", lifespan: bool = True
    ) -> None:
        self.app = app
        self.net = net
        self.root_path = root_path
        self.lifespan = lifespan
        self._tg: TaskGroup | None = None
        self._lifespan_send: MemoryObjectSendStream[Message] | None = None
        self._lifespan_recv: MemoryObjectReceiveStream[Message] | None = None
        self._lifespan_supported = False
        self.state: dict[str, Any] = {}

    async def __aenter__(self) -> ASGIHandler:
        tg = self.net.task_group()
        await tg.__aenter__()
        self._tg = tg
        if self.lifespan:
            await self._startup()
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

    # -- lifespan --------------------------------------------------------------------

    async def _startup(self) -> None:
        to_app, app_inbox = anyio.create_memory_object_stream[Message](4)
        app_outbox, from_app = anyio.create_memory_object_stream[Message](4)
        self._lifespan_send, self._lifespan_recv = to_app, from_app
        scope = {
            "type": "lifespan",
            "asgi": {"version": "3.0", "spec_version": "2.0"},
            "state": self.state,
        }

        async def run() -> None:
            try:
                await self.app(scope, app_inbox.receive, app_outbox.send)
            except Exception:
                if not self._lifespan_supported:
                    log.debug("the ASGI app does not support lifespan", exc_info=True)
                else:
                    log.exception("the ASGI app failed in lifespan")
            finally:
                app_outbox.close()

        assert self._tg is not None
        self._tg.start_soon(run)
        await to_app.send({"type": "lifespan.startup"})
        try:
            reply = await from_app.receive()
        except anyio.EndOfStream:
            return  # the app returned or raised: no lifespan support
        self._lifespan_supported = True
        if reply["type"] == "lifespan.startup.failed":
            raise ASGIError(f"ASGI app start-up failed: {reply.get('message', '')}")

    async def _shutdown(self) -> None:
        assert self._lifespan_send is not None and self._lifespan_recv is not None
        with self.net.move_on_after(10):
            await self._lifespan_send.send({"type": "lifespan.shutdown"})
            try:
                reply = await self._lifespan_recv.receive()
            except anyio.EndOfStream:
                return
            if reply["type"] == "lifespan.shutdown.failed":
                log.error("ASGI app shutdown failed: %s", reply.get("message", ""))

    # -- requests --------------------------------------------------------------------

    def scope_for(self, request: Request) -> Scope:
        """The ASGI ``http`` scope of ``request``.

        For an absolute-form target the ``host`` header carries the target's authority,
        which is what a server routes by (RFC 9112 3.2.2); the path is the target's path.
        """
        path = request.path
        raw = path.encode("latin-1")
        host = request.host
        headers = []
        for name, value in request.headers:
            lname = name.lower()
            headers.append(
                (lname.encode("latin-1"), (host if lname == "host" else value).encode("latin-1"))
            )
        return {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": request.version.removeprefix("HTTP/"),
            "method": request.method,
            "scheme": "http",
            "path": _unquote(path),
            "raw_path": raw,
            "query_string": request.query.encode("latin-1"),
            "root_path": self.root_path,
            "headers": headers,
            "client": list(request.remote) if request.remote else None,
            "server": None,
            "state": dict(self.state),
        }

    async def __call__(self, request: Request) -> Response:
        """Run the app for ``request``; return once it has sent ``http.response.start``."""
        tg = self._tg
        if tg is None:
            raise RuntimeError("use ASGIHandler as 'async with ASGIHandler(app, net)'")
        outbox, inbox = anyio.create_memory_object_stream[Message](2)
        disconnected = self.net.event()
        body_iter = _request_messages(request)

        async def receive() -> Message:
            try:
                return await body_iter.__anext__()
            except StopAsyncIteration:
                await disconnected.wait()
                return {"type": "http.disconnect"}

        async def run() -> None:
            try:
                await self.app(self.scope_for(request), receive, outbox.send)
            except Exception:
                log.exception("ASGI app failed for %s %s", request.method, request.target)
            finally:
                outbox.close()

        tg.start_soon(run)
        try:
            start = await inbox.receive()
        except anyio.EndOfStream:
            disconnected.set()
            return Response(500, b"internal server error\n", [("content-type", "text/plain")])
        if start.get("type") != "http.response.start":
            disconnected.set()
            inbox.close()
            raise ASGIError(f"expected http.response.start, got {start.get('type')!r}")
        headers = Headers(
            [
                (bytes(n).decode("latin-1"), bytes(v).decode("latin-1"))
                for n, v in start.get("headers", [])
            ]
        )
        status = int(start["status"])
        first = await _next_body(inbox)
        if first is None or not first[1]:
            disconnected.set()
            inbox.close()
            return Response(status, first[0] if first else b"", headers)

        async def stream() -> AsyncIterator[bytes]:
            try:
                assert first is not None
                yield first[0]
                while (piece := await _next_body(inbox)) is not None:
                    yield piece[0]
                    if not piece[1]:
                        break
            finally:
                disconnected.set()
                inbox.close()

        return Response(status, stream(), headers)


async def _next_body(inbox: MemoryObjectReceiveStream[Message]) -> tuple[bytes, bool] | None:
    """The next ``http.response.body`` message as ``(body, more_body)``; None at the end."""
    try:
        message = await inbox.receive()
    except anyio.EndOfStream:
        return None
    if message.get("type") != "http.response.body":
        raise ASGIError(f"expected http.response.body, got {message.get('type')!r}")
    return bytes(message.get("body", b"")), bool(message.get("more_body", False))


async def _request_messages(request: Request) -> AsyncIterator[Message]:
    body = request.body
    if body is None or isinstance(body, (bytes, bytearray, memoryview, str)):
        yield {"type": "http.request", "body": await read_body(body), "more_body": False}
        return
    assert hasattr(body, "__aiter__")
    async for piece in body:
        yield {"type": "http.request", "body": bytes(piece), "more_body": True}
    yield {"type": "http.request", "body": b"", "more_body": False}


def _unquote(path: str) -> str:
    try:
        return pct_decode_bytes(path).decode("utf-8", "replace")
    except ValueError:
        return path


__all__ = ["ASGIApp", "ASGIError", "ASGIHandler"]
