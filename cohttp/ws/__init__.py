"""WebSocket (RFC 6455) with permessage-deflate (RFC 7692): a sans-IO codec and a driver.

* :mod:`cohttp.ws.protocol`: :class:`Connection`, bytes in, events out (:class:`Text`,
  :class:`Bytes`, :class:`Ping`, :class:`Pong`, :class:`Close`), events in, bytes out;
* :mod:`cohttp.ws.handshake`: the opening handshake as pure functions over header lists;
* :mod:`cohttp.ws.deflate`: permessage-deflate negotiation and (de)compression;
* :mod:`cohttp.ws.driver`: :class:`WebSocket` over any :class:`backends.Flow`, with
  :func:`accept` / :func:`accept_flow` for servers and :func:`connect` for clients;
* :mod:`cohttp.ws.app`: WebSockets in a :class:`cohttp.Server` handler, :func:`endpoint`
  (a route) and :func:`upgrade` (inside any handler); at server shutdown, open WebSockets
  close with 1001 Going Away (:func:`close_at_shutdown`, which the ASGI bridge uses too);
* :mod:`cohttp.ws.client`: :func:`open_websocket`, behind ``cohttp.Client.websocket(url)``
  (``ws://`` and ``wss://``).
"""

from __future__ import annotations

from .app import Session, close_at_shutdown, endpoint, unhandled_upgrade, upgrade
from .deflate import DeflateOptions, DeflateParams, NegotiationError
from .driver import Config, ConnectionClosed, WebSocket, accept, accept_flow, connect
from .handshake import (
    Accepted,
    ClientHandshake,
    HandshakeError,
    accept_key,
    client_handshake,
    parse_extensions,
    server_handshake,
)
from .protocol import (
    Bytes,
    Close,
    Connection,
    Event,
    LocalProtocolError,
    Ping,
    Pong,
    ProtocolError,
    Role,
    State,
    Text,
    WebSocketError,
    close_code_on_wire,
    mask,
)

__all__ = [
    "Accepted",
    "Bytes",
    "ClientHandshake",
    "Close",
    "Config",
    "Connection",
    "ConnectionClosed",
    "DeflateOptions",
    "DeflateParams",
    "Event",
    "HandshakeError",
    "LocalProtocolError",
    "NegotiationError",
    "Ping",
    "Pong",
    "ProtocolError",
    "Role",
    "Session",
    "State",
    "Text",
    "WebSocket",
    "WebSocketError",
    "accept",
    "accept_flow",
    "accept_key",
    "client_handshake",
    "close_at_shutdown",
    "close_code_on_wire",
    "connect",
    "endpoint",
    "mask",
    "parse_extensions",
    "server_handshake",
    "unhandled_upgrade",
    "upgrade",
]
