"""DNS over HTTPS (RFC 8484): a :mod:`cohttp` handler over the authoritative answers, and
the client side over :class:`cohttp.client.Client`.

The server side::

    handler = DohHandler(server.authority.answer)      # any bytes -> bytes | None
    http = cohttp.Server(handler, limits=SERVER_LIMITS, http2=True, tls=server_context(pem))

answers ``GET /dns-query?dns=BASE64URL`` (RFC 8484 §4.1: base64url without padding) and
``POST /dns-query`` with a ``Content-Type: application/dns-message`` body, each with an
``application/dns-message`` response whose ``Cache-Control: max-age`` is the smallest TTL
of the answer (RFC 8484 §5.1; for a negative answer the SOA's, RFC 2308 §5). A request
that is not DNS gets 400 (bad base64url, not a query), a POST of another type 415, a
message over 65535 bytes 413 (RFC 8484 §4.1: a DNS message never is), another method 405,
another path 404. :meth:`dns.server.AuthServer.serve` with ``https`` runs it as a
:class:`cohttp.Server` of its own with ``tls=`` and ``http2=True``: HTTP/2 when ALPN chose
``h2`` (RFC 8484 §5.2: HTTP/2 is the minimum RECOMMENDED version; kdig's ``+https`` speaks
nothing else), HTTP/1.1 otherwise, under cohttp's handshake and per-request deadlines.

The client side is :class:`DohClient`: POSTs through one :class:`cohttp.client.Client`
per server (its keep-alive pool, TLS session resumption and deadlines), the certificate
checked for the authentication name given (RFC 8310 §5) while the connection goes to the
server's address.
"""

from __future__ import annotations

import base64
import binascii
import re
import ssl
import struct
from collections.abc import Callable

import backends
import backends.tls
from cohttp import Request, Response
from cohttp.client import Client, ClientError
from cohttp.codec import Limits

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


SERVER_LIMITS = Limits(max_body=MAX_MESSAGE, max_line=_MAX_GET_PARAM + 1024)
"""cohttp limits for a DoH server: a larger body is 413 before it is read."""


def server_context(certfile: str, keyfile: str | None = None) -> ssl.SSLContext:
    """A server context for DoH from a PEM chain and key, TLS 1.2 or later (RFC 8484 §5:
    HTTPS; RFC 8310 §9). Its own, not shared with DoT's: :class:`cohttp.Server` sets the
    ALPN list of the context it serves with (``h2``, ``http/1.1``), where DoT's offers
    ``dot`` (RFC 7858 §3.1)."""
    return backends.tls.server_context(certfile, keyfile)


class _FixedAddress:
    """The client's resolver for one server: the authentication name (in the URL, so the
    certificate and SNI carry it) goes to the server's address, and nothing is looked up."""

    def __init__(self, host: str, port: int) -> None:
        self.target = [(host, port)]

    async def lookup_address(self, host: str, port: int = 0) -> list[tuple[str, int]]:
        return self.target


_RATE_UNBOUND = float(1 << 40)
"""``min_body_rate`` that leaves the body's deadline where the client starts it: ``timeout``
after the head, however many bytes (a DNS message is small and comes with its head)."""


class DohClient:
    """RFC 8484 queries by POST (§4.1) to servers at ``path``, through
    :class:`cohttp.client.Client`: connections kept and reused across queries (RFC 8484 §5.2
    asks for it, as RFC 7858 §3.4 does for DoT), TLS sessions resumed, one client (and
    pool) per server.

    ``context`` is the client :class:`ssl.SSLContext` (its CA file, or verification off,
    and ALPN). ``hostname`` is the name the server's certificate must carry and the name
    sent as SNI and Host (RFC 8310 §5, the authentication domain name); without it, the
    server's address must be in the certificate.
    """

    def __init__(
        self,
        net: backends.Backend,
        context: ssl.SSLContext,
        hostname: str | None = None,
        path: str = DEFAULT_PATH,
        *,
        max_per_server: int = 4,
    ) -> None:
        self.net = net
        self.context = context
        self.hostname = hostname
        self.path = path
        self.max_per_server = max_per_server
        self._clients: dict[tuple[str, int], tuple[Client, str]] = {}

    @property
    def connections_made(self) -> int:
        """TLS connections opened so far (to check reuse)."""
        return sum(client.connections_opened for client, _ in self._clients.values())

    def _client(self, host: str, port: int) -> tuple[Client, str]:
        found = self._clients.get((host, port))
        if found is None:
            if self.hostname is not None:
                name, resolver = self.hostname, _FixedAddress(host, port)
            else:
                name, resolver = (f"[{host}]" if ":" in host else host), None
            client = Client(
                self.net,
                tls=self.context,
                resolver=resolver,
                max_per_host=self.max_per_server,
                limits=Limits(max_body=MAX_MESSAGE),
                min_body_rate=_RATE_UNBOUND,
            )
            found = self._clients[(host, port)] = (client, f"https://{name}:{port}{self.path}")
        return found

    async def exchange(self, host: str, port: int, query: bytes, timeout: float) -> bytes:
        """POST ``query`` to the server at ``host:port`` and return the DNS message it
        answers. The connection, handshake and response head come within ``timeout``
        seconds, the body within as long again (deadlines a trickling server cannot
        stretch); a kept connection the server has closed is replaced once.

        Raises :class:`backends.Timeout` when a deadline passes, another
        :class:`backends.NetworkError` for a failed connection or certificate, or an
        answer that is not a DNS message (not 200, another content type, broken HTTP)."""
        client, url = self._client(host, port)
        try:
            response = await client.post(
                url,
                body=query,
                headers={"content-type": CONTENT_TYPE, "accept": CONTENT_TYPE},
                timeout=timeout,
            )
        except ClientError as exc:
            raise backends.NetworkError(f"DoH server {host}#{port}: {exc}") from None
        if response.status != 200:
            raise backends.NetworkError(
                f"DoH server {host}#{port} answered HTTP {response.status} {response.reason}"
            )
        kind = response.headers.get("content-type", "")
        if kind.split(";", 1)[0].strip().lower() != CONTENT_TYPE:
            raise backends.NetworkError(
                f"DoH server {host}#{port} answered {kind or 'no content type'}"
            )
        return response.content

    async def aclose(self) -> None:
        """Close every kept connection (sending close_notify)."""
        clients, self._clients = self._clients, {}
        for client, _ in clients.values():
            await client.aclose()


__all__ = [
    "CONTENT_TYPE",
    "DEFAULT_PATH",
    "MAX_MESSAGE",
    "SERVER_LIMITS",
    "DohClient",
    "DohError",
    "DohHandler",
    "decode_dns_param",
    "encode_dns_param",
    "max_age",
    "server_context",
]
