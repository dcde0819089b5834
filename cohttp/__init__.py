"""cohttp: a strict, fast HTTP/1.1 server and client written once over the IO interface.

What ocaml-cohttp is to MirageOS: the same code serves on asyncio, trio or the mirage
user-space TCP/IP stack, because it only uses :class:`backends.Backend`.

* :mod:`cohttp.codec`: the sans-IO HTTP/1.1 parser and serialiser;
* :class:`Server`, :class:`Client`: the server and the client (with a connection pool);
* :mod:`cohttp.static`: a static file server with virtual hosts;
* ``python -m cohttp serve|get``: the command line.
"""

from __future__ import annotations

from .codec import Limits, ProtocolError
from .headers import Headers, InvalidHeader
from .server import Handler, Server, ServerConfig
from .status import Status, reason_phrase
from .types import Body, FileBody, IncomingBody, Method, Request, Response, Version

__all__ = [
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
    "Server",
    "ServerConfig",
    "Status",
    "Version",
    "reason_phrase",
]
