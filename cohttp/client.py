"""The HTTP/1.1 client, written once over :class:`backends.Backend`.

::

    async def main(net: backends.Backend) -> None:
        async with cohttp.Client(net) as client:
            r = await client.get("http://127.0.0.1:8080/")
            print(r.status, r.content)
            async with client.stream("GET", "http://127.0.0.1:8080/big") as r:
                async for piece in r.body:
                    ...

A :class:`Client` keeps a pool of keep-alive connections per ``(scheme, host, port)`` with a
limit on how many are open to one of them at once; requests beyond it wait. Bodies go up and down
streamed (chunked when their length is unknown), with ``Expect: 100-continue`` honoured.
Redirects are followed only when asked (``follow_redirects=True``), at most
``max_redirects`` times; credentials (Authorization, Cookie, Proxy-Authorization, whether
given to the client, to the request or as the URL's userinfo) stop at the first hop to
another origin (:func:`same_origin`; the scheme is part of the origin, so an https URL
redirected to http, or the other way, drops them). URLs are parsed by :mod:`uri` (RFC 3986).

``https`` URLs are spoken over :mod:`backends.tls` (RFC 9110 4.2.2, RFC 8446), on every
backend: the server's certificate is verified against the system's CAs (or ``cafile``) and
must name the URL's host (SNI sends it), ALPN offers ``http/1.1`` (RFC 7301), and a pooled
origin's TLS session is resumed by its next connection. ``verify=False`` turns the checks
off, as ``curl -k`` does. A failed check raises :class:`backends.CertificateError` naming
the host and the reason (expired, another host's, an unknown CA).

Whatever a server sends, only :class:`ClientError` (and its subclasses) or a
:class:`backends.NetworkError` comes out of the client: the server's bytes become values
in one place, :meth:`Client._event`.
"""

from __future__ import annotations

import base64
import contextlib
import ipaddress
import json as _json
import math
import ssl
from collections.abc import AsyncIterable, AsyncIterator
from types import EllipsisType
from typing import Any, BinaryIO, Protocol

import anyio

from backends import Backend, Flow, NetworkError, ResolutionError, Timeout
from backends.tls import DEFAULT_HANDSHAKE_TIMEOUT, TLSFlow, client_context, wrap_client
from uri import Uri, UriError, pct_decode_bytes, resolve

from . import codec
from .codec import (
    NEED_DATA,
    NO_BODY,
    PEER_CLOSED,
    Data,
    EndOfMessage,
    Event,
    Limits,
    ResponseHead,
    ResponseParser,
)
from .headers import Headers
from .types import Body, FileBody, HeadersArg, IncomingBody, Response, _bytes_of, _headers

USER_AGENT = "cohttp/0.1"
READ_SIZE = 256 * 1024
CONTINUE_WAIT = 1.0
"""Seconds to wait for ``100 Continue`` before sending the body anyway (RFC 9110 10.1.1)."""


class ClientError(Exception):
    """Base class of the client's own errors (network errors come from :mod:`backends`).

    Whatever a server sends, the client raises only this family or a
    :class:`backends.NetworkError` (refused, reset, :class:`backends.Timeout`, a name that
    does not resolve).
    """


class InvalidURL(ClientError, ValueError):
    """The URL cannot be requested (not absolute, no host, port 0...)."""


class UnsupportedProtocol(InvalidURL):
    """The URL's scheme is neither ``http`` nor ``https``."""


class TooManyRedirects(ClientError):
    """More than ``max_redirects`` redirects were followed."""


class RemoteProtocolError(ClientError):
    """The server's answer broke HTTP/1.1 (wraps the codec's :class:`ProtocolError`), or
    carried a value the client cannot use (a status outside 100..599, a bad Location)."""


class DecodingError(ClientError, ValueError):
    """The body is not what :meth:`ClientResponse.json` was asked to decode."""


_Key = tuple[str, str, int]
"""A pool's key: ``(scheme, host, port)``."""

ALPN_PROTOCOLS = ("http/1.1",)
"""What the client offers in ALPN for https (RFC 7301)."""


class _Conn:
    __slots__ = ("flow", "key", "parser", "reusable")

    def __init__(self, flow: Flow, key: _Key, limits: Limits) -> None:
        self.flow = flow
        self.key = key
        self.parser = ResponseParser(limits)
        self.reusable = True


class _Pool:
    __slots__ = ("idle", "session", "slots")

    def __init__(self, limit: int) -> None:
        self.idle: list[_Conn] = []
        self.slots = anyio.Semaphore(limit)
        self.session: ssl.SSLSession | None = None  # https: what the next connection resumes


class ClientResponse(Response):
    """A received response; :attr:`content` is the body once read.

    ``body`` is an :class:`IncomingBody`; for :meth:`Client.request` it has already been
    read and :attr:`content` holds it. ``url`` is the URL that produced this response
    (the last one, after redirects); ``history`` the redirect responses before it.
    """

    __slots__ = ("_content", "history", "url")

    def __init__(self, head: ResponseHead, body: IncomingBody, url: str) -> None:
        super().__init__(head.status, body, head.headers, reason=head.reason, version=head.version)
        self.url = url
        self.history: list[ClientResponse] = []
        self._content: bytes | None = None

    @property
    def content(self) -> bytes:
        """The body (only after :meth:`read`, which :meth:`Client.request` calls)."""
        if self._content is None:
            raise RuntimeError("the body has not been read: await response.read() first")
        return self._content

    async def read(self) -> bytes:
        """Read the whole body (once) and return it; later calls return the same bytes."""
        if self._content is None:
            self._content = await super().read()
        return self._content

    @property
    def text(self) -> str:  # type: ignore[override]
        """The body decoded (charset from Content-Type if Python knows it as a text
        encoding, else UTF-8); undecodable bytes become U+FFFD."""
        charset = "utf-8"
        for part in self.headers.get("content-type", "").split(";")[1:]:
            k, _, v = part.strip().partition("=")
            if k.lower() == "charset" and v:
                charset = v.strip('"')
        try:
            return self.content.decode(charset, "replace")
        except (LookupError, ValueError):  # unknown, not a text encoding, or rejects "replace"
            return self.content.decode("utf-8", "replace")

    def json(self) -> Any:  # type: ignore[override]
        """The body parsed as JSON; :class:`DecodingError` if it is not JSON."""
        try:
            return _json.loads(self.content)
        except (ValueError, RecursionError) as exc:  # JSONDecodeError, bad UTF-8, nesting
            raise DecodingError(f"the body is not JSON: {exc}") from None

    def aiter_bytes(self) -> AsyncIterator[bytes]:
        """Iterate over the body as it arrives (for :meth:`Client.stream`)."""
        body = self.body
        if not isinstance(body, IncomingBody):
            raise RuntimeError("this response's body is not a stream")
        return body.__aiter__()

    @property
    def trailers(self) -> Headers:
        """Trailer fields of a chunked body (empty until the body has been read)."""
        body = self.body
        return body.trailers if isinstance(body, IncomingBody) else Headers()

    async def aclose(self) -> None:
        """Release the connection (closing it if the body was not read to the end)."""
        body = self.body
        if isinstance(body, _ResponseBody):
            await body.release()

    async def __aenter__(self) -> ClientResponse:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class _ResponseBody(IncomingBody):
    """A response body read under a deadline that a trickling server cannot stretch.

    Each read waits at most ``timeout``; on top of that the body as a whole must arrive
    by a deadline that starts ``timeout`` after the head and grows only with the bytes
    received, at ``min_rate`` bytes per second (curl's ``--speed-limit``, nginx's and
    Apache's minimum-rate rule): a server that sends one byte every few seconds is cut
    off about ``timeout`` seconds in, however long it keeps dripping.
    """

    __slots__ = ("_client", "_conn", "_deadline", "_done", "_timeout")

    def __init__(self, client: Client, conn: _Conn, timeout: float | None, empty: bool) -> None:
        super().__init__()
        self._client = client
        self._conn: _Conn | None = conn
        self._timeout = timeout
        self._deadline = math.inf if timeout is None else client.net.now() + timeout
        self._done = False
        if empty:
            self._finish_empty()

    def _finish_empty(self) -> None:
        conn = self._conn
        assert conn is not None
        ev = conn.parser.next_event()
        assert isinstance(ev, EndOfMessage), ev

    async def _next(self) -> bytes | None:
        conn = self._conn
        if self._done or conn is None:
            if self._conn is not None:
                await self.release()
            return None
        try:
            client = self._client
            timeout = self._timeout
            if timeout is not None:
                timeout = max(0.0, min(timeout, self._deadline - client.net.now()))
            ev = await client._event(conn, timeout)
            if isinstance(ev, Data):
                self._deadline += len(ev.data) / client.min_body_rate
                return ev.data
            if isinstance(ev, EndOfMessage):
                self.trailers = ev.trailers
                self._done = True
                await self.release()
                return None
            raise RemoteProtocolError(f"unexpected {ev!r} inside a response body")
        except BaseException:
            conn.reusable = False
            await self.release()
            raise

    async def release(self) -> None:
        """Give the connection back to the pool (or close it if the body was not finished:
        a rest already received, such as a redirect's short body, is skipped instead)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            if not self._done and not _skip_buffered(conn):
                conn.reusable = False
            await self._client._release(conn)


def _skip_buffered(conn: _Conn) -> bool:
    """Whether the rest of the response body was already received (then it is dropped
    and the connection is at the next message); reads nothing."""
    parser = conn.parser
    try:
        while True:
            ev = parser.next_event()
            if ev.__class__ is Data:
                continue
            return ev.__class__ is EndOfMessage
    except codec.ProtocolError:
        return False


class AddressResolver(Protocol):
    """What :class:`Client` needs to resolve names on a backend without a resolver."""

    async def lookup_address(self, host: str, port: int = 0) -> list[tuple[str, int]]:
        """``[(address, port), ...]`` for ``host``, best first."""
        ...


class Client:
    """An HTTP/1.1 client with a keep-alive connection pool.

    ``max_per_host`` caps simultaneous connections to one ``(scheme, host, port)``; ``timeout``
    (seconds, ``None`` for none) bounds connecting plus receiving the response head, and
    each read of the body; the body as a whole must also keep up ``min_body_rate`` bytes
    per second after its first ``timeout`` seconds, so a server cannot hold a request open
    by trickling bytes; ``limits`` bounds what a server may send (no body limit by
    default). ``headers`` are sent with every request.

    For https: ``cafile`` names the CAs to trust instead of the system's, ``verify=False``
    checks neither the certificate nor the host name (``curl -k``), and ``tls`` gives a
    client :class:`ssl.SSLContext` of your own instead (both options then ignored).
    ``timeout`` bounds the TLS handshake too.

    Host names are resolved with ``resolver`` when one is given: any object with ``await
    resolver.lookup_address(host, port) -> [(address, port), ...]``, such as a
    :class:`dns.resolver.Resolver`; each address is tried in the order given. Without
    one, a backend whose ``tcp_connect`` resolves names (asyncio, trio: the system's
    resolver) gets them as they are; on one that cannot (mirage, our own stack) only
    addresses and ``localhost`` (RFC 6761 6.3) can be connected to, and another name
    raises :class:`backends.ResolutionError` saying so (the client never picks a resolver of its own: :mod:`cohttp` sits below
    :mod:`dns`).
    """

    def __init__(
        self,
        net: Backend,
        *,
        max_per_host: int = 10,
        timeout: float | None = 30.0,
        follow_redirects: bool = False,
        max_redirects: int = 5,
        headers: HeadersArg = None,
        limits: Limits | None = None,
        resolver: AddressResolver | None = None,
        min_body_rate: float = 1024.0,
        verify: bool = True,
        cafile: str | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        if max_per_host < 1:
            raise ValueError("max_per_host must be at least 1")
        if not min_body_rate > 0:
            raise ValueError("min_body_rate must be positive")
        self.min_body_rate = min_body_rate
        self.net = net
        self.resolver = resolver
        self.max_per_host = max_per_host
        self.timeout = timeout
        self.follow_redirects = follow_redirects
        self.max_redirects = max_redirects
        self.headers = _headers(headers).copy()
        self.headers.setdefault("user-agent", USER_AGENT)
        self.limits = limits or Limits(max_body=None)
        self.verify = verify
        self.cafile = cafile
        self._tls = tls
        self._pools: dict[_Key, _Pool] = {}
        self._closed = False
        self.connections_opened = 0
        """How many TCP connections this client has opened (to observe reuse)."""

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close every idle pooled connection; the client cannot be used afterwards."""
        self._closed = True
        for pool in self._pools.values():
            idle, pool.idle = pool.idle, []
            for conn in idle:
                await conn.flow.close()

    # -- public API ------------------------------------------------------------------

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: HeadersArg = None,
        body: Body = None,
        json: Any = None,
        timeout: float | EllipsisType | None = ...,
        follow_redirects: bool | None = None,
    ) -> ClientResponse:
        """Send a request and read the whole response (``response.content``)."""
        response = await self._send(method, url, headers, body, json, timeout, follow_redirects)
        try:
            await response.read()
        finally:
            await response.aclose()
        return response

    @contextlib.asynccontextmanager
    async def stream(
        self,
        method: str,
        url: str,
        *,
        headers: HeadersArg = None,
        body: Body = None,
        json: Any = None,
        timeout: float | EllipsisType | None = ...,
        follow_redirects: bool | None = None,
    ) -> AsyncIterator[ClientResponse]:
        """Send a request; yield the response with its body unread (iterate ``.body``)."""
        response = await self._send(method, url, headers, body, json, timeout, follow_redirects)
        try:
            yield response
        finally:
            await response.aclose()

    async def get(self, url: str, **kw: Any) -> ClientResponse:
        """``request("GET", url, ...)``."""
        return await self.request("GET", url, **kw)

    async def head(self, url: str, **kw: Any) -> ClientResponse:
        """``request("HEAD", url, ...)``."""
        return await self.request("HEAD", url, **kw)

    async def post(self, url: str, **kw: Any) -> ClientResponse:
        """``request("POST", url, ...)``."""
        return await self.request("POST", url, **kw)

    async def put(self, url: str, **kw: Any) -> ClientResponse:
        """``request("PUT", url, ...)``."""
        return await self.request("PUT", url, **kw)

    async def patch(self, url: str, **kw: Any) -> ClientResponse:
        """``request("PATCH", url, ...)``."""
        return await self.request("PATCH", url, **kw)

    async def delete(self, url: str, **kw: Any) -> ClientResponse:
        """``request("DELETE", url, ...)``."""
        return await self.request("DELETE", url, **kw)

    async def options(self, url: str, **kw: Any) -> ClientResponse:
        """``request("OPTIONS", url, ...)``."""
        return await self.request("OPTIONS", url, **kw)

    def websocket(self, url: str, **options: Any) -> contextlib.AbstractAsyncContextManager[Any]:
        """Open a WebSocket: ``async with client.websocket("ws://host/path") as ws:``.

        ``ws://`` or ``wss://``; ``options`` are :func:`cohttp.ws.client.open_websocket`'s
        (subprotocols, deflate, origin, headers, ssl_context, config). Yields a
        :class:`cohttp.ws.WebSocket`, closed when the block ends.
        """
        from .ws.client import open_websocket

        return open_websocket(self, url, **options)

    # -- machinery -------------------------------------------------------------------

    async def _send(
        self,
        method: str,
        url: str,
        headers: HeadersArg,
        body: Body,
        json: Any,
        timeout: Any,
        follow: bool | None,
    ) -> ClientResponse:
        if self._closed:
            raise ClientError("this client is closed")
        if timeout is ...:
            timeout = self.timeout
        follow = self.follow_redirects if follow is None else follow
        extra = _headers(headers).copy()
        if json is not None:
            if body is not None:
                raise TypeError("give body= or json=, not both")
            body = _json.dumps(json).encode("utf-8")
            extra.setdefault("content-type", "application/json")
        basic = _basic_credentials(url)
        if basic is not None:
            extra.setdefault("authorization", basic)
        history: list[ClientResponse] = []
        credentials = True  # until a hop leaves the first URL's origin
        while True:
            response = await self._one(method, url, extra, body, timeout, credentials)
            location = response.headers.get("location")
            if not follow or response.status not in (301, 302, 303, 307, 308) or not location:
                response.history = history
                return response
            await response.aclose()
            history.append(response)
            if len(history) > self.max_redirects:
                raise TooManyRedirects(
                    f"more than {self.max_redirects} redirects, last to {location[:200]!r}"
                )
            try:
                target = str(resolve(url, location))
            except UriError as exc:
                raise RemoteProtocolError(f"bad Location {location[:200]!r}: {exc}") from exc
            # RFC 9110 15.4.4: after a 303 the user agent retrieves with GET (or HEAD);
            # 15.4.2/15.4.3: after a 301/302 it may turn a POST into a GET, as browsers do.
            # 307 and 308 repeat the method and the body.
            if response.status == 303 or (response.status in (301, 302) and method == "POST"):
                if method != "HEAD":
                    method = "GET"
                body = None
                for name in ("content-length", "transfer-encoding", "content-type", "expect"):
                    extra.remove(name)
            elif body is not None and _bytes_of(body) is None and not isinstance(body, FileBody):
                raise ClientError(f"cannot repeat a streamed body for a {response.status} redirect")
            if not same_origin(url, target):
                credentials = False
                extra.remove("host")  # a Host set for the first origin does not follow either
            url = target

    async def _one(
        self,
        method: str,
        url: str,
        headers: Headers,
        body: Body,
        timeout: float | None,
        credentials: bool,
    ) -> ClientResponse:
        scheme, host, port, target, host_field = _split_url(url)
        h = self.headers.copy()
        for name, value in headers:
            h.set(name, value)
        if not credentials:
            for name in CREDENTIAL_FIELDS:
                h.remove(name)
        if "host" not in headers:
            h.set("host", host_field)
        data = _bytes_of(body)
        length: int | None = None  # a stream: chunked, or held to the caller's Content-Length
        if data is not None:
            length = len(data)
            if data or method in ("POST", "PUT", "PATCH"):
                h.set("content-length", str(length))
        elif isinstance(body, FileBody):
            length = await self.net.run_in_thread(body.resolved_length)
            h.set("content-length", str(length))
        expect = h.get("expect", "").lower() == "100-continue"
        try:
            head_bytes, writer = codec.encode_request(
                method,
                target,
                h,
                length=length,
            )
        except codec.LocalProtocolError as exc:
            raise ClientError(str(exc)) from None
        key = (scheme, host, port)
        replayable = data is not None or isinstance(body, FileBody)
        for attempt in (0, 1):
            conn, reused = await self._acquire(key, timeout)
            try:
                response_head = await self._exchange(
                    conn, method, head_bytes, body, data, expect, timeout, writer
                )
            except (NetworkError, _StaleConnection) as exc:
                conn.reusable = False
                await self._release(conn)
                stale = isinstance(exc, _StaleConnection) or (
                    reused and not isinstance(exc, Timeout)
                )
                if attempt == 0 and reused and stale and replayable:
                    continue  # the server closed an idle pooled connection: retry fresh
                if isinstance(exc, _StaleConnection):
                    raise exc.error from None
                raise
            except BaseException:
                conn.reusable = False
                await self._release(conn)
                raise
            if not response_head.keep_alive:
                conn.reusable = False
            incoming = _ResponseBody(self, conn, timeout, empty=response_head.framing == NO_BODY)
            if response_head.framing == NO_BODY:
                incoming._done = True
                await incoming.release()
            return ClientResponse(response_head, incoming, url)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _exchange(
        self,
        conn: _Conn,
        method: str,
        head_bytes: bytes,
        body: Body,
        data: bytes | None,
        expect: bool,
        timeout: float | None,
        writer: codec.BodyWriter,
    ) -> ResponseHead:
        parser = conn.parser
        parser.expect(method)
        got_any = False
        if data is not None and not expect:
            await conn.flow.write(head_bytes + data if len(data) < 65536 else head_bytes)
            if len(data) >= 65536:
                await conn.flow.write(data)
        else:
            await conn.flow.write(head_bytes)
            send_body = True
            if expect:
                with self.net.move_on_after(CONTINUE_WAIT):
                    interim = await self._next_head(conn, timeout, interim_ok=True)
                    got_any = True
                    if interim.status >= 200:
                        conn.reusable = False  # body never sent: the stream is out of step
                        return interim
                send_body = True
            if send_body:
                await self._send_body(conn, body, data, writer)
        try:
            return await self._next_head(conn, timeout, interim_ok=False)
        except _StaleConnection:
            if got_any:
                raise RemoteProtocolError("the server closed the connection mid-response")
            raise

    async def _send_body(
        self, conn: _Conn, body: Body, data: bytes | None, writer: codec.BodyWriter
    ) -> None:
        """Write the request body in the framing its head declared (the codec's writer)."""
        flow = conn.flow
        if data is not None:
            if data:
                await flow.write(data)
            return
        if isinstance(body, FileBody):
            f = await self.net.run_in_thread(_open_binary, body.path)
            try:
                await self.net.run_in_thread(f.seek, body.offset)
                left = body.resolved_length()
                while left > 0:
                    piece = await self.net.run_in_thread(f.read, min(body.chunk_size, left))
                    if not piece:
                        raise ClientError(f"file {body.path} shrank while being sent")
                    left -= len(piece)
                    await flow.write(piece)
            finally:
                await self.net.run_in_thread(f.close)
            return
        assert isinstance(body, AsyncIterable)
        try:
            async for piece in body:
                if piece:
                    await flow.write(writer.data(piece))
            last = writer.end()
        except codec.LocalProtocolError as exc:
            raise ClientError(str(exc)) from None
        if last:
            await flow.write(last)

    async def _next_head(
        self, conn: _Conn, timeout: float | None, interim_ok: bool
    ) -> ResponseHead:
        parser = conn.parser
        with self.net.fail_after(timeout) if timeout is not None else contextlib.nullcontext():
            while True:
                ev = await self._event(conn, None)  # the whole head within one deadline
                if ev is PEER_CLOSED:
                    raise _StaleConnection(
                        RemoteProtocolError("the server closed the connection without responding")
                    )
                if isinstance(ev, ResponseHead):
                    if ev.status < 200:
                        if ev.status == 101:
                            raise RemoteProtocolError("protocol upgrades are not supported")
                        assert isinstance(parser.next_event(), EndOfMessage)
                        if interim_ok:
                            return ev
                        continue
                    return ev
                raise RemoteProtocolError(f"unexpected {ev!r} before a response head")

    async def _event(self, conn: _Conn, timeout: float | None) -> Event:
        """The next event of ``conn``'s response, reading as needed (each read within
        ``timeout``): the one place where the server's bytes become values, so whatever
        they are, only :class:`RemoteProtocolError` (or a network error) comes out."""
        parser = conn.parser
        try:
            while (ev := parser.next_event()) is NEED_DATA:
                with (
                    self.net.fail_after(timeout)
                    if timeout is not None
                    else contextlib.nullcontext()
                ):
                    data = await conn.flow.read(READ_SIZE)
                if data:
                    parser.feed(data)
                else:
                    parser.feed_eof()
        except codec.ProtocolError as exc:
            conn.reusable = False
            _, host, port = conn.key
            raise RemoteProtocolError(f"bad response from {host}:{port}: {exc.message}") from exc
        if isinstance(ev, ResponseHead) and ev.status > 599:
            # RFC 9110 15: a status code is three digits, 100..599 (the codec checks < 100)
            conn.reusable = False
            raise RemoteProtocolError(f"status code {ev.status} is outside 100..599")
        return ev

    async def _acquire(self, key: _Key, timeout: float | None) -> tuple[_Conn, bool]:
        pool = self._pools.get(key)
        if pool is None:
            pool = self._pools[key] = _Pool(self.max_per_host)
        await pool.slots.acquire()
        try:
            while pool.idle:
                conn = pool.idle.pop()
                if conn.parser.buffered == 0:
                    return conn, True
                await conn.flow.close()  # unsolicited bytes: out of step, drop it
            scheme, host, port = key
            flow = await self._connect(host, port, timeout)
            if scheme == "https":
                flow = await self._secure(flow, host, pool, timeout)
            self.connections_opened += 1
            return _Conn(flow, key, self.limits), False
        except BaseException:
            pool.slots.release()
            raise

    async def _connect(self, host: str, port: int, timeout: float | None) -> Flow:
        """Open a connection to ``host:port``, resolving the name here if the backend can't."""
        net = self.net
        name = host.lower().rstrip(".")
        if name == "invalid" or name.endswith(".invalid"):
            # RFC 6761 6.4: resolution APIs return a negative answer for these at once
            raise ResolutionError(f"{host!r} is under .invalid, which never resolves")
        resolver = self.resolver
        if resolver is None:
            if net.resolves_names or _is_address(host):
                return await net.tcp_connect(host, port, timeout=timeout)
            if name == "localhost" or name.endswith(".localhost"):
                # RFC 6761 6.3: resolution APIs answer localhost names with loopback
                return await net.tcp_connect("127.0.0.1", port, timeout=timeout)
            raise ResolutionError(
                f"cannot resolve {host!r}: the {net.name} backend has no resolver; give "
                "Client(resolver=...) (a dns.resolver.Resolver, say) or use an address"
            )
        last: NetworkError | None = None
        for address, address_port in await resolver.lookup_address(host, port):
            try:
                return await net.tcp_connect(address, address_port, timeout=timeout)
            except NetworkError as exc:
                last = exc
        raise last or ResolutionError(f"{host!r} has no address")

    def tls_context(self) -> ssl.SSLContext:
        """The client context https connections use (made on first use from ``verify``
        and ``cafile`` unless given as ``tls``)."""
        if self._tls is None:
            self._tls = client_context(cafile=self.cafile, verify=self.verify, alpn=ALPN_PROTOCOLS)
        return self._tls

    async def _secure(self, flow: Flow, host: str, pool: _Pool, timeout: float | None) -> TLSFlow:
        """The TLS handshake over a new connection to ``host``: the certificate must name
        ``host`` (also sent as SNI, RFC 6066 3, unless it is an address); resumes the
        pool's last session when there is one."""
        try:
            secure = await wrap_client(
                flow,
                self.tls_context(),
                server_hostname=host,
                session=pool.session,
                handshake_timeout=DEFAULT_HANDSHAKE_TIMEOUT if timeout is None else timeout,
            )
        except BaseException:
            flow.abort()
            raise
        return secure

    async def _release(self, conn: _Conn) -> None:
        pool = self._pools[conn.key]
        flow = conn.flow
        if flow.__class__ is TLSFlow:
            session = flow.session
            if session is not None:
                pool.session = session
        try:
            if conn.reusable and not self._closed and conn.parser.at_message_start:
                pool.idle.append(conn)
            else:
                try:
                    await conn.flow.close()
                except BaseException:  # cancelled (or failed) in the middle of close_notify
                    conn.flow.abort()
                    raise
        finally:
            # Whatever happens to the connection, its slot comes back: a caller's
            # deadline cancelling the close must not shrink the pool for good.
            pool.slots.release()


class _StaleConnection(Exception):
    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


def _open_binary(path: Any) -> BinaryIO:
    return open(path, "rb")


def _split_url(url: str) -> tuple[str, str, int, str, str]:
    """``(scheme, host, port, origin-form target, Host field)`` of an absolute http or
    https URL."""
    try:
        u = Uri.parse(url)
    except UriError as exc:
        raise InvalidURL(f"invalid URL {url!r}: {exc}") from exc
    scheme = (u.scheme or "").lower()
    if scheme not in _DEFAULT_PORTS:
        if scheme:
            raise UnsupportedProtocol(
                f"{url!r}: only http and https URLs can be requested, not {scheme}"
            )
        raise InvalidURL(f"{url!r}: only absolute http or https URLs can be requested")
    host = u.host
    if not host:
        raise InvalidURL(f"{url!r} has no host")
    port = u.port_or_default
    if not port:
        raise InvalidURL(f"{url!r}: port 0 cannot be connected to")
    raw_host = u.raw_host or host
    default = port == _DEFAULT_PORTS[scheme]
    host_field = raw_host if u.port is None or default else f"{raw_host}:{port}"
    return scheme, host, port, u.request_target, host_field


_DEFAULT_PORTS = {"http": 80, "https": 443}


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


CREDENTIAL_FIELDS = ("authorization", "cookie", "proxy-authorization")
"""Fields that carry credentials: never sent past a redirect to another origin."""


def same_origin(a: str, b: str) -> bool:
    """True if absolute URLs ``a`` and ``b`` have the same origin (RFC 6454 4, 5): the same
    scheme, host (case-insensitively) and port, a missing port counting as the scheme's
    default. The client decides with this alone whether credentials follow a redirect
    (client defaults, per-request fields and URL userinfo alike; RFC 9110 15.4 asks to
    consider removing Authorization and Cookie), as httpx and requests do; an https URL
    and its http downgrade are different origins."""
    origin = _origin(a)
    return origin is not None and origin == _origin(b)  # an opaque origin equals nothing


def _origin(url: str) -> tuple[str, str, int] | None:
    try:
        u = Uri.parse(url)
        port = u.port_or_default
    except UriError:
        return None
    if u.scheme is None or u.host is None or port is None:
        return None
    return u.scheme, u.host.lower(), port


def _basic_credentials(url: str) -> str | None:
    """``Basic ...`` from the URL's userinfo (RFC 7617, UTF-8), or None without one."""
    try:
        raw = Uri.parse(url).raw_userinfo
        if raw is None:
            return None
        user, _, password = raw.partition(":")
        pair = pct_decode_bytes(user) + b":" + pct_decode_bytes(password)
    except UriError:
        return None  # _split_url reports the bad URL
    return "Basic " + base64.b64encode(pair).decode("ascii")


__all__ = [
    "ALPN_PROTOCOLS",
    "AddressResolver",
    "Client",
    "ClientError",
    "ClientResponse",
    "DecodingError",
    "InvalidURL",
    "RemoteProtocolError",
    "TooManyRedirects",
    "UnsupportedProtocol",
    "same_origin",
]
