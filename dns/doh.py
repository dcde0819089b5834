"""DNS over HTTPS (RFC 8484): a :mod:`cohttp` handler over the authoritative answers, and
the client's exchange.

The server side::

    handler = DohHandler(server.authority.answer)      # any bytes -> bytes | None
    await serve_https(net, tls_flow, cohttp.Server(handler, limits=SERVER_LIMITS))

answers ``GET /dns-query?dns=BASE64URL`` (RFC 8484 §4.1: base64url without padding) and
``POST /dns-query`` with a ``Content-Type: application/dns-message`` body, each with an
``application/dns-message`` response whose ``Cache-Control: max-age`` is the smallest TTL
of the answer (RFC 8484 §5.1; for a negative answer the SOA's, RFC 2308 §5). A request
that is not DNS gets 400 (bad base64url, not a query), a POST of another type 415, a
message over 65535 bytes 413 (RFC 8484 §4.1: a DNS message never is), another method 405,
another path 404. :meth:`dns.server.AuthServer.serve` with ``https_port`` runs it over TLS,
in HTTP/2 when the handshake chose ``h2`` (RFC 8484 §5.2: HTTP/2 is the minimum
RECOMMENDED version; kdig's ``+https`` speaks nothing else) and HTTP/1.1 otherwise
(:func:`serve_https`).

The client side is :func:`exchange`: one POST over an open TLS flow (HTTP/1.1 from
:mod:`cohttp.codec`'s encoder and response parser; cohttp's client does not speak https
yet), the flow kept open for the next query when the server allows it.
"""

from __future__ import annotations

import base64
import binascii
import re
import struct
from collections.abc import Callable

import backends
import cohttp
from cohttp import Request, Response
from cohttp.codec import (
    NEED_DATA,
    PEER_CLOSED,
    Data,
    EndOfMessage,
    Limits,
    ProtocolError,
    ResponseHead,
    ResponseParser,
    encode_request_head,
)
from cohttp.h2.server import serve_h2
from cohttp.headers import Headers

from . import wire

CONTENT_TYPE = "application/dns-message"
"""RFC 8484 §6."""
DEFAULT_PATH = "/dns-query"
"""The path of the URI template ``https://host/dns-query{?dns}`` (RFC 8484 §4.1.1's example)."""
MAX_MESSAGE = 65535
"""The largest DNS message (its TCP length prefix is 16 bits)."""

_BASE64URL = re.compile(r"[A-Za-z0-9_-]*+")
"""RFC 4648 §5's alphabet; possessive, so linear. Padding ``=`` is refused (RFC 8484 §4.1)."""
_MAX_GET_PARAM = (MAX_MESSAGE * 4 + 2) // 3
"""The base64url length of the largest message."""


class DohError(Exception):
    """A DoH request that cannot be answered: ``status`` says how (400, 405, 413, 415)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def decode_dns_param(value: str) -> bytes:
    """The message of a ``dns=`` parameter: base64url without padding (RFC 8484 §4.1);
    :class:`DohError` 400 for anything else, 413 when too long."""
    if len(value) > _MAX_GET_PARAM:
        raise DohError(413, f"dns parameter of {len(value)} characters: over {MAX_MESSAGE} bytes")
    if _BASE64URL.fullmatch(value) is None:
        raise DohError(400, "dns parameter is not base64url without padding (RFC 8484 4.1)")
    if len(value) % 4 == 1:
        raise DohError(400, "dns parameter has an impossible base64url length")
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raise DohError(400, "dns parameter is not valid base64url") from None


def encode_dns_param(message: bytes) -> str:
    """``message`` as a ``dns=`` value: base64url without padding."""
    return base64.urlsafe_b64encode(message).rstrip(b"=").decode("ascii")


def _dns_param(query: str) -> str | None:
    for part in query.split("&"):
        name, sep, value = part.partition("=")
        if name == "dns" and sep:
            return value
    return None


def max_age(response: bytes) -> int:
    """The freshness lifetime of ``response`` (RFC 8484 §5.1): the smallest TTL in its
    answer section; without answers, the SOA's negative TTL (``min(TTL, MINIMUM)``, RFC 2308
    §5) from the authority section; 0 when neither says."""
    try:
        message = wire.Message.parse(response)
    except wire.WireError:
        return 0
    if message.answer:
        return min(rr.ttl for rr in message.answer)
    for rr in message.authority:
        if rr.rtype == wire.TYPE_SOA and rr.rdata_length >= 4:
            minimum: int = struct.unpack_from("!I", rr.message, rr.end - 4)[0]
            return min(rr.ttl, minimum)
    return 0


class DohHandler:
    """A cohttp handler answering RFC 8484 requests at ``path`` with ``answer`` (query
    bytes -> response bytes, or None when the query is dropped)."""

    def __init__(
        self, answer: Callable[[bytes, bool], bytes | None], path: str = DEFAULT_PATH
    ) -> None:
        self.answer = answer
        self.path = path

    async def __call__(self, request: Request) -> Response:
        """Answer one HTTP request."""
        try:
            query = await self._query(request)
        except DohError as exc:
            return Response.text(str(exc) + "\n", exc.status)
        response = self.answer(query, True)
        if response is None:
            return Response.text("not a DNS query\n", 400)
        return Response(
            200,
            response,
            {"content-type": CONTENT_TYPE, "cache-control": f"max-age={max_age(response)}"},
        )

    async def _query(self, request: Request) -> bytes:
        if request.path != self.path:
            raise DohError(404, f"no DNS service at {request.path} (it is at {self.path})")
        if request.method == "GET":
            value = _dns_param(request.query)
            if value is None:
                raise DohError(400, "a GET needs the dns parameter (RFC 8484 4.1)")
            message = decode_dns_param(value)
        elif request.method == "POST":
            kind = request.headers.get("content-type", "")
            if kind.split(";", 1)[0].strip().lower() != CONTENT_TYPE:
                raise DohError(415, f"a POST must carry {CONTENT_TYPE}, not {kind or 'nothing'}")
            message = await request.read()
            if len(message) > MAX_MESSAGE:
                raise DohError(413, f"a DNS message is at most {MAX_MESSAGE} bytes")
        else:
            raise DohError(405, f"method {request.method} not allowed: use GET or POST")
        if len(message) < wire.HEADER_SIZE:
            raise DohError(400, f"a DNS message of {len(message)} bytes: not even a header")
        return message


async def serve_https(
    net: backends.Backend,
    flow: backends.Flow,
    server: cohttp.Server,
    *,
    shutdown: backends.interface.Event | None = None,
) -> None:
    """Serve ``server``'s handler on an accepted TLS ``flow``: HTTP/2 (:func:`cohttp.h2.server.serve_h2`,
    with ``server.config``'s deadlines and limits) when ALPN chose ``h2``, else HTTP/1.1
    (:meth:`cohttp.Server.serve_flow`). ``shutdown``, once set, ends an HTTP/2 connection
    with a graceful GOAWAY. The caller closes ``flow``."""
    if getattr(flow, "alpn", None) == "h2":
        await serve_h2(net, flow, server.handler, server.config, shutdown=shutdown)
    else:
        await server.serve_flow(net, flow)


SERVER_LIMITS = Limits(max_body=MAX_MESSAGE, max_line=_MAX_GET_PARAM + 1024)
"""cohttp limits for a DoH server: a larger body is 413 before it is read."""


async def exchange(
    flow: backends.Flow, host: str, path: str, query: bytes
) -> tuple[bytes | None, bool]:
    """POST ``query`` to ``path`` over ``flow`` (HTTP/1.1) and return ``(response, reusable)``:
    the DNS message (None if the server closed before answering, as an idle connection
    does) and whether the connection may carry another request.
    Raises :class:`backends.NetworkError` for a response that is not a DNS message."""
    headers = Headers(
        [
            ("host", host),
            ("content-type", CONTENT_TYPE),
            ("accept", CONTENT_TYPE),
            ("content-length", str(len(query))),
        ]
    )
    await flow.write(encode_request_head("POST", path, headers) + query)
    parser = ResponseParser(Limits(max_body=MAX_MESSAGE))
    parser.expect("POST")
    head: ResponseHead | None = None
    body: list[bytes] = []
    ended = False
    try:
        while True:
            event = parser.next_event()
            if event is NEED_DATA:
                if ended:
                    raise backends.ClosedFlow(f"DoH server {host} closed in mid-response")
                data = await flow.read(65536)
                if data:
                    parser.feed(data)
                else:
                    ended = True
                    parser.feed_eof()
                continue
            if event is PEER_CLOSED:
                return None, False
            if isinstance(event, ResponseHead):
                if event.status >= 200:
                    head = event
            elif isinstance(event, Data):
                body.append(event.data)
            elif isinstance(event, EndOfMessage) and head is not None:
                break
    except ProtocolError as exc:
        raise backends.NetworkError(f"DoH response from {host}: {exc.message}") from None
    kind = head.headers.get("content-type", "")
    if head.status != 200:
        raise backends.NetworkError(f"DoH server {host} answered HTTP {head.status} {head.reason}")
    if kind.split(";", 1)[0].strip().lower() != CONTENT_TYPE:
        raise backends.NetworkError(f"DoH server {host} answered {kind or 'no content type'}")
    return b"".join(body), head.keep_alive


__all__ = [
    "CONTENT_TYPE",
    "DEFAULT_PATH",
    "MAX_MESSAGE",
    "SERVER_LIMITS",
    "DohError",
    "DohHandler",
    "decode_dns_param",
    "encode_dns_param",
    "exchange",
    "max_age",
    "serve_https",
]
