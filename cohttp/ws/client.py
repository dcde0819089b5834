"""A WebSocket client on top of :class:`cohttp.Client`: ``client.websocket(url)``.

::

    async with cohttp.Client(net) as client, client.websocket("ws://127.0.0.1:8080/chat") as ws:
        await ws.send_text("hello")
        print(await ws.receive())

The connection is the client's own (its resolver, its connect timeout), but not pooled:
after the handshake it is no longer HTTP. ``wss://`` runs TLS over it
(:func:`backends.tls.wrap_client`, the system's CAs unless ``ssl_context`` says
otherwise). Leaving the block closes the WebSocket with 1000 (or just the transport if it
is already closed).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from uri import Uri, UriError

from .deflate import DEFAULT_DEFLATE, DeflateOptions
from .driver import Config, WebSocket, connect

if TYPE_CHECKING:
    import ssl

    from ..client import Client

_CONFIG = Config()

_SCHEMES = {"ws": False, "wss": True, "http": False, "https": True}
"""The schemes a WebSocket URL may have (RFC 6455 3; http(s) as browsers accept them)."""


def split_ws_url(url: str) -> tuple[bool, str, int, str, str]:
    """``(tls, host, port, request target, Host field)`` of a ws:// or wss:// URL.

    Raises the client's :class:`~cohttp.client.InvalidURL` (or
    :class:`~cohttp.client.UnsupportedProtocol` for another scheme). A fragment is not
    allowed (RFC 6455 3).
    """
    from ..client import InvalidURL, UnsupportedProtocol

    try:
        u = Uri.parse(url)
    except UriError as exc:
        raise InvalidURL(f"invalid URL {url!r}: {exc}") from exc
    scheme = (u.scheme or "").lower()
    if scheme not in _SCHEMES:
        if scheme:
            raise UnsupportedProtocol(f"{url!r}: a WebSocket URL is ws:// or wss://, not {scheme}")
        raise InvalidURL(f"{url!r}: a WebSocket URL must be absolute (ws:// or wss://)")
    if u.fragment is not None:
        raise InvalidURL(f"{url!r}: a WebSocket URL has no fragment (RFC 6455 3)")
    host = u.host
    if not host:
        raise InvalidURL(f"{url!r} has no host")
    port = u.port_or_default
    if not port:
        raise InvalidURL(f"{url!r}: port 0 cannot be connected to")
    tls = _SCHEMES[scheme]
    raw_host = u.raw_host or host
    default = 443 if tls else 80
    host_field = raw_host if u.port is None or port == default else f"{raw_host}:{port}"
    return tls, host, port, u.request_target, host_field


@contextlib.asynccontextmanager
async def open_websocket(
    client: Client,
    url: str,
    *,
    subprotocols: Sequence[str] = (),
    deflate: DeflateOptions | None = DEFAULT_DEFLATE,
    origin: str | None = None,
    headers: Iterable[tuple[str, str]] = (),
    ssl_context: ssl.SSLContext | None = None,
    config: Config = _CONFIG,
) -> AsyncIterator[WebSocket]:
    """Connect, handshake, yield the open :class:`WebSocket`, close it on the way out.

    ``headers`` go with the handshake request, after the client's own default fields
    (User-Agent...). Raises :class:`~cohttp.ws.HandshakeError` when the server refuses
    (its ``status`` is the server's answer), the backend's errors when the connection
    fails, :class:`backends.Timeout` past the client's timeout (connecting) or
    ``config.handshake_timeout`` (the handshake).
    """
    tls, host, port, target, host_field = split_ws_url(url)
    flow: Any = await client._connect(host, port, client.timeout)
    try:
        if tls:
            from backends.tls import wrap_client

            flow = await wrap_client(
                flow,
                ssl_context,
                server_hostname=host,
                handshake_timeout=config.handshake_timeout,
            )
        extra = [
            (name, value)
            for name, value in client.headers
            if name.lower() not in ("host", "connection", "upgrade")
            and not name.lower().startswith("sec-websocket-")
        ]
        ws = await connect(
            flow,
            client.net,
            host_field,
            target,
            subprotocols=subprotocols,
            deflate=deflate,
            origin=origin,
            extra_headers=[*extra, *headers],
            config=config,
        )
    except BaseException:
        flow.abort()
        raise
    try:
        yield ws
    finally:
        await ws.close()


__all__ = ["open_websocket", "split_ws_url"]
