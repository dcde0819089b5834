"""HTTPS in cohttp on every backend: ``Server(tls=)``, the client's verification, pooling
by scheme, http <-> https redirects under the credential rules, failed and slow handshakes.
Certificates come from trustme (the test extra)."""

from __future__ import annotations

import ssl
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

import backends
from backends import tls
from cohttp import Request, Response, Server
from cohttp.asgi import ASGIHandler
from cohttp.client import Client, RemoteProtocolError

from .helpers import running

trustme = pytest.importorskip("trustme", reason="trustme (the test extra) makes the certificates")

SECRETS = {"authorization": "Bearer s3cret", "cookie": "session=s3cret"}


class Certs:
    """A CA and a server certificate for ``localhost`` and ``127.0.0.1``."""

    def __init__(self, directory: Path) -> None:
        ca = trustme.CA()
        self.cafile = str(directory / "ca.pem")
        ca.cert_pem.write_to_path(self.cafile)
        self.chain = str(directory / "server.pem")
        cert = ca.issue_cert("localhost", "127.0.0.1")
        cert.private_key_and_cert_chain_pem.write_to_path(self.chain)
        self.other = str(directory / "other.pem")
        ca.issue_cert("other.test").private_key_and_cert_chain_pem.write_to_path(self.other)

    def context(self, chain: str | None = None) -> ssl.SSLContext:
        return tls.server_context(chain or self.chain)


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return Certs(tmp_path_factory.mktemp("https"))


async def _echo(request: Request) -> Response:
    body = await request.read()
    fields = ";".join(f"{k}={v}" for k, v in request.headers if k in SECRETS)
    return Response.text(f"{request.scheme} {request.method} {request.path} {len(body)} {fields}")


async def test_https_round_trip_keeps_the_connection(
    backend: backends.Backend, certs: Certs
) -> None:
    server = Server(_echo, tls=certs.context())
    async with running(backend, server) as (_, port), Client(backend, cafile=certs.cafile) as c:
        for i in range(3):
            r = await c.post(f"https://localhost:{port}/p{i}", body=b"x" * (100_000 * i))
            assert r.status == 200
            assert r.content == f"https POST /p{i} {100_000 * i} ".encode()
        big = await c.get(f"https://127.0.0.1:{port}/big")
        assert big.content.startswith(b"https GET /big")
        assert c.connections_opened == 2  # one per origin: localhost, 127.0.0.1
    assert server.tls_failures == 0


async def test_alpn_and_sni_reach_the_server(backend: backends.Backend, certs: Certs) -> None:
    seen: list[Any] = []

    async def handler(request: Request) -> Response:
        seen.append(request.scheme)
        return Response.text("ok")

    context = certs.context()
    server = Server(handler, tls=context)
    async with running(backend, server) as (_, port):
        client = tls.client_context(cafile=certs.cafile, alpn=["h2", "http/1.1"])
        flow = await tls.connect(backend, "127.0.0.1", port, context=client)
        async with flow:
            assert flow.alpn == "http/1.1"  # h2 is not served here
            await flow.write(b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
            answer = b""
            while chunk := await flow.read():  # ends at the server's close_notify
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 200 ") and answer.endswith(b"ok")
    assert seen == ["https"]


async def test_asgi_scope_says_https(backend: backends.Backend, certs: Certs) -> None:
    scopes: list[dict[str, Any]] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        scopes.append(scope)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"asgi"})

    async with ASGIHandler(app, backend, lifespan=False) as handler:
        server = Server(handler, tls=certs.context())
        async with running(backend, server) as (_, port), Client(backend, cafile=certs.cafile) as c:
            r = await c.get(f"https://localhost:{port}/")
            assert r.content == b"asgi"
    assert scopes[0]["scheme"] == "https"


async def test_client_refuses_what_it_cannot_verify(
    backend: backends.Backend, certs: Certs
) -> None:
    server = Server(_echo, tls=certs.context(certs.other))  # a certificate for other.test
    async with running(backend, server) as (_, port):
        async with Client(backend, cafile=certs.cafile) as c:
            with pytest.raises(backends.CertificateError, match="another") as info:
                await c.get(f"https://localhost:{port}/")
            assert "localhost" in str(info.value)
        async with Client(backend, timeout=5) as c:  # the system's CAs do not know ours
            with pytest.raises(backends.CertificateError, match="unknown CA"):
                await c.get(f"https://127.0.0.1:{port}/")
        async with Client(backend, verify=False) as c:  # curl -k
            r = await c.get(f"https://localhost:{port}/k")
            assert r.content.startswith(b"https GET /k")
    assert server.tls_failures == 2


async def test_plain_http_to_an_https_port_fails_cleanly(
    backend: backends.Backend, certs: Certs
) -> None:
    server = Server(_echo, tls=certs.context())
    async with running(backend, server) as (_, port):
        async with Client(backend, timeout=5) as c:
            with pytest.raises(RemoteProtocolError, match="without responding"):
                await c.get(f"http://127.0.0.1:{port}/")
        async with Client(backend, cafile=certs.cafile) as c:
            assert (await c.get(f"https://localhost:{port}/")).status == 200
    assert server.tls_failures == 1


def _client_hello() -> bytes:
    """The bytes of a TLS ClientHello, made without a socket."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = tls.client_context(verify=False).wrap_bio(incoming, outgoing)
    with pytest.raises(ssl.SSLWantReadError):
        obj.do_handshake()
    return outgoing.read()


async def test_a_trickled_handshake_cannot_hold_the_connection(
    backend: backends.Backend, certs: Certs
) -> None:
    """A client sending its ClientHello one byte at a time is cut off at the handshake
    deadline, however steadily it trickles; other clients are served meanwhile."""
    server = Server(_echo, tls=certs.context(), tls_handshake_timeout=0.5)
    hello = _client_hello()
    async with running(backend, server) as address:
        flow = await backend.tcp_connect(*address)
        started = time.monotonic()
        cut = False
        async with Client(backend, cafile=certs.cafile) as c:
            with backend.fail_after(10):
                for i in range(len(hello)):
                    if i == 2:  # others are served while this one trickles
                        r = await c.get(f"https://localhost:{address[1]}/")
                        assert r.status == 200
                    try:
                        await flow.write(hello[i : i + 1])
                        with backend.move_on_after(0.1):
                            if not await flow.read():
                                cut = True
                    except backends.NetworkError:  # reset: the handshake was aborted
                        cut = True
                    if cut:
                        break
        await flow.close()
        assert cut
        assert time.monotonic() - started < 3
    assert server.tls_failures == 1


class Origins:
    """An http and an https server that record the fields of what they get; ``/go?URL``
    answers a 302 to URL."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, dict[str, str]]] = []
        self.http = ""
        self.https = ""

    async def handle(self, request: Request) -> Response:
        fields = {k: v for k, v in request.headers}
        self.seen.append((request.scheme, request.path, fields))
        if request.path == "/go":
            return Response(302, b"", {"location": request.query})
        return Response.text(f"landed on {request.scheme}")

    def fields(self, scheme: str, path: str) -> dict[str, str]:
        hits = [f for s, p, f in self.seen if s == scheme and p == path]
        assert len(hits) == 1, self.seen
        return hits[0]


@pytest.fixture
async def origins(backend: backends.Backend, certs: Certs) -> AsyncIterator[Origins]:
    o = Origins()
    async with (
        running(backend, Server(o.handle)) as (_, plain),
        running(backend, Server(o.handle, tls=certs.context())) as (_, secure),
    ):
        o.http = f"http://localhost:{plain}"
        o.https = f"https://localhost:{secure}"
        yield o


@pytest.mark.parametrize("direction", ["upgrade", "downgrade"])
async def test_credentials_do_not_cross_schemes(
    backend: backends.Backend, certs: Certs, origins: Origins, direction: str
) -> None:
    """http -> https and https -> http are different origins (RFC 6454 4: the scheme is
    part of it): the credentials stay behind, both ways."""
    start, end = (origins.http, origins.https)
    if direction == "downgrade":
        start, end = end, start
    async with Client(backend, cafile=certs.cafile, headers=SECRETS, follow_redirects=True) as c:
        r = await c.get(f"{start}/go?{end}/land")
    assert r.content == f"landed on {end.split(':')[0]}".encode()
    first = origins.fields(start.split(":")[0], "/go")
    assert {k: first[k] for k in SECRETS} == SECRETS
    assert not SECRETS.keys() & origins.fields(end.split(":")[0], "/land").keys()


async def test_credentials_follow_an_https_same_origin_redirect(
    backend: backends.Backend, certs: Certs, origins: Origins
) -> None:
    async with Client(backend, cafile=certs.cafile, follow_redirects=True) as c:
        r = await c.get(f"{origins.https}/go?/land", headers=SECRETS)
        assert r.content == b"landed on https"
        assert c.connections_opened == 1  # the same pooled TLS connection
    landed = origins.fields("https", "/land")
    assert {k: landed[k] for k in SECRETS} == SECRETS


async def test_the_pool_is_keyed_by_scheme(
    backend: backends.Backend, certs: Certs, origins: Origins
) -> None:
    async with Client(backend, cafile=certs.cafile) as c:
        for _ in range(2):
            assert (await c.get(f"{origins.http}/a")).content == b"landed on http"
            assert (await c.get(f"{origins.https}/a")).content == b"landed on https"
        assert c.connections_opened == 2
        assert sorted(key[0] for key in c._pools) == ["http", "https"]


async def test_names_need_a_resolver_on_a_backend_without_one(
    backend: backends.Backend, certs: Certs
) -> None:
    """cohttp does not pick a resolver (it sits below dns): on mirage a name other than
    localhost (RFC 6761 6.3) is refused with a message saying what to do."""
    if backend.resolves_names:
        pytest.skip(f"{backend.name} resolves names itself")
    async with Client(backend) as c:
        with pytest.raises(backends.ResolutionError, match="resolver="):
            await c.get("http://www.example.test/")


async def test_shutdown_does_not_wait_for_a_silent_handshake(
    backend: backends.Backend, certs: Certs
) -> None:
    """A connection that never sends its ClientHello holds no request: shutdown ends it
    at once instead of waiting for the handshake deadline."""
    server = Server(_echo, tls=certs.context(), tls_handshake_timeout=30)
    address = await server.listen(backend, "127.0.0.1", 0)
    async with backend.task_group() as tg:
        tg.start_soon(server.serve_forever)
        silent = await backend.tcp_connect(*address)
        await backend.sleep(0.1)
        started = time.monotonic()
        with backend.fail_after(10):
            await server.shutdown(grace=5)
        assert time.monotonic() - started < 3
        await silent.close()


async def test_data_and_close_notify_in_one_segment(
    backend: backends.Backend, certs: Certs
) -> None:
    """The peer's last data and its close_notify arrive together (as ``openssl s_server
    -www`` sends them): the reader gets the data, then the end, without waiting for bytes
    that will never come (backends.tls skips OpenSSL when nothing is pending)."""
    context = certs.context()

    async def serve(flow: backends.Flow) -> None:
        secure = await tls.wrap_server(flow, context)
        secure._ssl.write(b"x" * 5000)  # both records made before anything is sent
        with pytest.raises(ssl.SSLWantReadError):
            secure._ssl.unwrap()
        await flow.write(secure._outgoing.read())
        await flow.read()  # until the client closes

    async with await backend.tcp_listen("127.0.0.1", 0) as listener, backend.task_group() as tg:
        tg.start_soon(listener.serve, serve)
        client = tls.client_context(cafile=certs.cafile)
        flow = await tls.connect(backend, "127.0.0.1", listener.address[1], context=client)
        await backend.sleep(0.2)  # both records are in by now
        with backend.fail_after(5):
            got = b""
            while piece := await flow.read(262144):
                got += piece
        assert got == b"x" * 5000
        await flow.close()
        tg.cancel_scope.cancel()


def test_a_client_context_is_refused_at_once(certs: Certs) -> None:
    with pytest.raises(ValueError, match="server context"):
        Server(_echo, tls=tls.client_context(cafile=certs.cafile))


async def test_the_client_resumes_its_tls_session(backend: backends.Backend, certs: Certs) -> None:
    """A new connection to an origin resumes the TLS session of the last one (RFC 8446
    2.2: no certificate exchange), seen from the server's side."""
    context = certs.context()
    reused: list[bool] = []

    async def serve(flow: backends.Flow) -> None:
        secure = await tls.wrap_server(flow, context)
        async with secure:
            data = b""
            while b"\r\n\r\n" not in data:
                data += await secure.read()
            reused.append(secure.session_reused)
            await secure.write(
                b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"
            )

    async with await backend.tcp_listen("127.0.0.1", 0) as listener, backend.task_group() as tg:
        tg.start_soon(listener.serve, serve)
        async with Client(backend, cafile=certs.cafile) as c:
            for _ in range(3):
                r = await c.get(f"https://localhost:{listener.address[1]}/")
                assert r.content == b"ok"
            assert c.connections_opened == 3  # the server closes each one
        tg.cancel_scope.cancel()
    assert reused == [False, True, True]


async def test_a_request_cancelled_from_outside_gives_its_pool_slot_back(
    backend: backends.Backend, certs: Certs
) -> None:
    # A server that completes the handshake and then says nothing: the caller's own
    # deadline cancels each request, on trio in the middle of closing the connection.
    listener = await backend.tcp_listen("127.0.0.1", 0)
    context = certs.context()

    async def silent(flow: backends.Flow) -> None:
        try:
            await tls.wrap_server(flow, context)
            await backend.sleep(30)
        finally:
            flow.abort()

    async with backend.task_group() as tg:
        tg.start_soon(listener.serve, silent)
        try:
            async with Client(backend, max_per_host=1, timeout=None, cafile=certs.cafile) as c:
                url = f"https://127.0.0.1:{listener.address[1]}/"
                for attempt in range(3):
                    with backend.move_on_after(0.5) as scope:
                        await c.get(url)
                    assert scope.cancelled_caught
                    # With the slot lost, the next try would wait for it instead of connecting.
                    assert c.connections_opened == attempt + 1
        finally:
            tg.cancel_scope.cancel()  # (an await here would raise the cancellation instead)
    await listener.close()
