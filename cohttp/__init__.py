"""cohttp: a strict, fast HTTP/1.1 server and client written once over the IO interface.

What ocaml-cohttp is to MirageOS: the same code serves on asyncio, trio or the mirage
user-space TCP/IP stack, because it only uses :class:`backends.Backend`.

* :mod:`cohttp.codec`: the sans-IO HTTP/1.1 connection, both ways and both roles
  (bytes in, events out; events in, bytes out);
* :class:`Server`, :class:`Client`: the drivers that move the bytes (with deadlines and
  a connection pool); a handler returns a :class:`Response` or writes one through
  ``request.stream`` (:class:`ResponseStream`) and returns :data:`STREAMED`;
* :mod:`cohttp.asgi`: ASGI 3 applications (http, websocket, lifespan) on the server;
* :mod:`cohttp.static`: a static file server with virtual hosts;
* ``python -m cohttp serve|run|get``: the command line (``run module:app`` serves an ASGI
  application with uvicorn's flags, :mod:`cohttp.run`).
"""

from __future__ import annotations

from .codec import Limits, ProtocolError
from .headers import Headers, InvalidHeader
from .server import STREAMED, Handler, ResponseStream, Server, ServerConfig
from .status import Status, reason_phrase
from .types import Body, FileBody, IncomingBody, Method, Request, Response, Version

__all__ = [
    "STREAMED",
    "Body",
    "FileBody",
    "Handler",
    "Headers",
    "IncomingBody",
    "InvalidHeader",
    "Limits",
    "Method",
    "ProtocolError",
    "Request",
    "Response",
    "ResponseStream",
    "Server",
    "ServerConfig",
    "Status",
    "Version",
    "reason_phrase",
]
