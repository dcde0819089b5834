"""WebSockets in a :class:`cohttp.Server` handler: a route, or an upgrade inside any handler.

A route that only speaks WebSocket (Starlette's ``WebSocketRoute``)::

    async def chat(ws: cohttp.ws.WebSocket, request: cohttp.Request) -> None:
        async for message in ws:  # until the client closes
            await ws.send_text(f"you said {message}")

    server = cohttp.Server(cohttp.ws.endpoint(chat))

Or inside a handler that also answers plain HTTP (aiohttp's ``WebSocketResponse``)::

    async def handler(request: cohttp.Request) -> cohttp.Response:
        if request.path == "/chat":
            return await cohttp.ws.upgrade(request, chat)
        return cohttp.Response.text("hello")

The session function runs once the handshake succeeded; when it returns the connection is
closed normally (1000), when it raises, with 1011 and the error logged. A request that is
not a valid opening handshake is answered as RFC 6455 4.2.2 and 4.4 say, with a log line:
400 for a malformed one, 426 with ``Upgrade: websocket`` and ``Sec-WebSocket-Version: 13``
for a plain request or another version, 403 for an Origin outside ``origins``. The server
itself answers 426 (and logs) when a client asks to upgrade to WebSocket and the handler
answered 404 instead of upgrading (:func:`unhandled_upgrade`): a client then learns that
this path has no WebSocket endpoint, not that it has no resource.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection, Sequence
from functools import partial
from typing import TYPE_CHECKING

from ..headers import Headers
from ..types import Request, Response
from .deflate import DEFAULT_DEFLATE, DeflateOptions
from .driver import Config, ConnectionClosed, WebSocket, open_accepted
from .handshake import HandshakeError, server_handshake

if TYPE_CHECKING:
    from ..server import ResponseStream

log = logging.getLogger("cohttp.ws")
_CONFIG = Config()

Session = Callable[[WebSocket, Request], Awaitable[None]]
"""What runs on an accepted WebSocket: ``async def session(ws, request) -> None``."""


async def upgrade(
    request: Request,
    session: Session,
    *,
    subprotocols: Sequence[str] = (),
    deflate: DeflateOptions | None = DEFAULT_DEFLATE,
    origins: Collection[str] | None = None,
    config: Config = _CONFIG,
) -> Response:
    """Answer ``request`` by switching to WebSocket and running ``session`` on it.

    Return what this returns from the handler. ``subprotocols``: what the server speaks,
    preferred first (``ws.subprotocol`` says which was chosen); ``deflate=None`` refuses
    permessage-deflate; ``origins``: the Origin values allowed (None: any). A request that
    is not a valid handshake gets the error response (see the module documentation) and
    the connection stays usable for more requests.
    """
    stream = request.stream
    if stream is None or not hasattr(stream, "take_over"):
        raise RuntimeError("cohttp.ws.upgrade needs a request served by cohttp.Server")
    try:
        accepted = server_handshake(
            request.method,
            request.headers,
            http_version=request.version,
            subprotocols=subprotocols,
            deflate=deflate,
            origins=origins,
        )
    except HandshakeError as err:
        log.info(
            "refused a WebSocket handshake for %s from %s: %d %s",
            request.target,
            request.remote,
            err.status,
            err.message,
        )
        headers = Headers(err.headers)
        headers.set("Content-Type", "text/plain; charset=utf-8")
        return Response(err.status, (err.message + "\n").encode(), headers)
    flow, buffered = await stream.take_over(101)
    ws = await open_accepted(flow, stream.backend, accepted, deflate, config, buffered)
    try:
        await close_at_shutdown(stream, ws)
        await session(ws, request)
    except ConnectionClosed:
        pass  # the peer went away mid-session: nothing left to say
    except Exception:
        log.exception("WebSocket session for %s from %s failed", request.target, request.remote)
        await ws.close(1011, "internal error")
    else:
        await ws.close()
    from ..server import STREAMED  # the server imports this module

    return STREAMED


GOING_AWAY = "server shutting down"
"""The reason of the Close 1001 that :func:`close_at_shutdown` sends."""


async def close_at_shutdown(stream: ResponseStream, ws: WebSocket) -> None:
    """Have the server close ``ws`` with 1001 Going Away (RFC 6455 7.4.1) when it shuts down.

    ``stream`` is the request's :class:`cohttp.server.ResponseStream` the WebSocket took
    over. At shutdown the server sends the Close and waits for the peer's (at most the
    WebSocket's ``close_timeout``, within the server's shutdown grace); the task in
    :meth:`WebSocket.receive` then sees :class:`ConnectionClosed` with code 1001. If the
    server is shutting down already, the WebSocket is closed so at once.
    """
    if not stream.on_shutdown(partial(ws.close, 1001, GOING_AWAY)):
        await ws.close(1001, GOING_AWAY)


def endpoint(
    session: Session,
    *,
    subprotocols: Sequence[str] = (),
    deflate: DeflateOptions | None = DEFAULT_DEFLATE,
    origins: Collection[str] | None = None,
    config: Config = _CONFIG,
) -> Callable[[Request], Awaitable[Response]]:
    """A handler that upgrades every request to WebSocket and runs ``session`` on it.

    The options are :func:`upgrade`'s. A plain HTTP request gets 426 Upgrade Required
    with ``Upgrade: websocket`` (RFC 6455 4.2.2; RFC 9110 15.5.22).
    """

    async def handler(request: Request) -> Response:
        return await upgrade(
            request,
            session,
            subprotocols=subprotocols,
            deflate=deflate,
            origins=origins,
            config=config,
        )

    return handler


def unhandled_upgrade(request: Request, response: Response) -> Response:
    """The server's answer to a WebSocket upgrade request its handler did not take.

    RFC 9110 7.8 lets a server ignore Upgrade, and a handler that answers 2xx, a redirect
    or an error of its own keeps its answer. A 404 becomes 426 with a log line: the
    client asked for a WebSocket endpoint that is not there, and a bare 404 would not say
    so (a WebSocket client reports only "unexpected response"). The 426 names no protocol
    in Upgrade, since this resource has none to switch to.
    """
    if response.status != 404:
        return response
    upgrade_to = (request.headers.get("upgrade") or "").lower()
    if "websocket" not in upgrade_to:
        return response
    log.info(
        "refused a WebSocket upgrade for %s from %s: 426, not a WebSocket endpoint",
        request.target,
        request.remote,
    )
    return Response(
        426,
        f"no WebSocket endpoint at {request.path}\n".encode(),
        [("content-type", "text/plain; charset=utf-8")],
    )


__all__ = ["GOING_AWAY", "Session", "close_at_shutdown", "endpoint", "unhandled_upgrade", "upgrade"]
