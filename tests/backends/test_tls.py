"""backends.tls beyond the flow contract: verification, versions, SNI, ALPN, resumption,
truncation and the handshake deadline, on every adapter."""

from __future__ import annotations

import datetime
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

import backends
from backends import Backend, Flow, testing, tls

trustme = pytest.importorskip("trustme", reason="trustme (the test extra) makes the certificates")


class Certs:
    """A CA, and server certificates written where ssl can load them."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.ca = trustme.CA()
        self.cafile = str(directory / "ca.pem")
        self.ca.cert_pem.write_to_path(self.cafile)

    def server(self, name: str, *identities: str, **options: Any) -> str:
        path = self.directory / f"{name}.pem"
        cert = self.ca.issue_cert(*identities, **options)
        cert.private_key_and_cert_chain_pem.write_to_path(str(path))
        return str(path)


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return Certs(tmp_path_factory.mktemp("tls"))


async def _serve_once(
    backend: Backend,
    context: ssl.SSLContext,
    client: Callable[[tuple[str, int]], Awaitable[None]],
    handler: Callable[[tls.TLSFlow], Awaitable[None]] | None = None,
) -> list[BaseException]:
    """Listen, run ``client(address)`` against a TLS server running ``handler`` on each
    connection; return what the server's handshakes raised."""
    failures: list[BaseException] = []

    async def serve(flow: Flow) -> None:
        try:
            secure = await tls.wrap_server(flow, context, handshake_timeout=5)
        except backends.NetworkError as exc:
            failures.append(exc)
            return
        async with secure:
            if handler is not None:
                await handler(secure)
            else:
                await secure.write(b"hello")
                await secure.read()

    async with await backend.tcp_listen("127.0.0.1", 0) as listener, backend.task_group() as tg:
        tg.start_soon(listener.serve, serve)
        with backend.fail_after(20):
            await client(listener.address)
        await backend.sleep(0.05)  # let the server's side finish
        tg.cancel_scope.cancel()
    return failures


async def test_wrong_host_name_is_refused_with_a_clear_error(
    backend: Backend, certs: Certs
) -> None:
    server = tls.server_context(certs.server("good", "good.test"))
    client = tls.client_context(cafile=certs.cafile)

    async def connect(address: tuple[str, int]) -> None:
        with pytest.raises(backends.CertificateError) as info:
            await tls.connect(backend, *address, context=client, server_hostname="evil.test")
        assert "evil.test" in str(info.value)
        assert "another host name" in str(info.value)

    failures = await _serve_once(backend, server, connect)
    # The client's alert tells the server why.
    assert failures and isinstance(failures[0], backends.NetworkError)


async def test_unknown_ca_is_refused_by_default(backend: Backend, certs: Certs) -> None:
    """Verification is on by default, against the system store, which lacks our CA."""
    server = tls.server_context(certs.server("known", "known.test"))

    async def connect(address: tuple[str, int]) -> None:
        with pytest.raises(backends.CertificateError, match="unknown CA") as info:
            await tls.connect(backend, *address, server_hostname="known.test")
        assert "known.test" in str(info.value)
        # The explicit opt-out connects anyway.
        insecure = tls.client_context(verify=False)
        flow = await tls.connect(backend, *address, context=insecure, server_hostname="x")
        async with flow:
            assert await flow.read() == b"hello"

    await _serve_once(backend, server, connect)


async def test_expired_certificate_is_refused(backend: Backend, certs: Certs) -> None:
    past = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
    chain = certs.server(
        "expired", "old.test", not_before=past, not_after=past + datetime.timedelta(days=1)
    )
    server = tls.server_context(chain)
    client = tls.client_context(cafile=certs.cafile)

    async def connect(address: tuple[str, int]) -> None:
        with pytest.raises(backends.CertificateError, match="expired"):
            await tls.connect(backend, *address, context=client, server_hostname="old.test")

    await _serve_once(backend, server, connect)


async def test_no_common_protocol_version(backend: Backend, certs: Certs) -> None:
    server = tls.server_context(certs.server("v12", "v12.test"), maximum_version="1.2")
    client = tls.client_context(cafile=certs.cafile, minimum_version="1.3")

    async def connect(address: tuple[str, int]) -> None:
        with pytest.raises(backends.TLSError, match="protocol version") as info:
            await tls.connect(backend, *address, context=client, server_hostname="v12.test")
        assert "v12.test" in str(info.value)

    failures = await _serve_once(backend, server, connect)
    assert failures and "protocol version" in str(failures[0])


@pytest.mark.parametrize("version", ["1.2", "1.3"])
async def test_versions_alpn_and_resumption(backend: Backend, certs: Certs, version: str) -> None:
    server = tls.server_context(
        certs.server("main", "main.test"), alpn=["h2", "http/1.1"], maximum_version=version
    )
    client = tls.client_context(cafile=certs.cafile, alpn=["http/1.1", "h2"])
    seen: list[tuple[str | None, str | None, str | None]] = []

    async def handler(flow: tls.TLSFlow) -> None:
        seen.append((flow.version, flow.alpn, flow.server_hostname))
        await flow.write(b"hello")
        await flow.read()

    async def connect(address: tuple[str, int]) -> None:
        first = await tls.connect(backend, *address, context=client, server_hostname="main.test")
        assert first.version == f"TLSv{version}"
        assert first.alpn == "h2"  # the server's preference among those offered
        assert not first.session_reused
        assert await first.read() == b"hello"  # TLS 1.3 tickets come after the handshake
        session = first.session
        await first.close()
        again = await tls.connect(
            backend, *address, context=client, server_hostname="main.test", session=session
        )
        assert again.session_reused
        assert await again.read() == b"hello"
        await again.close()
        lone = tls.client_context(cafile=certs.cafile, alpn=["spdy/1"])
        other = await tls.connect(backend, *address, context=lone, server_hostname="main.test")
        assert other.alpn is None  # no protocol in common: none chosen
        assert await other.read() == b"hello"
        await other.close()

    await _serve_once(backend, server, connect, handler)
    assert seen[0] == (f"TLSv{version}", "h2", "main.test")


async def test_a_server_that_only_reads_still_sends_its_session_tickets(
    backend: Backend, certs: Certs
) -> None:
    """A TLS 1.3 server's tickets wait for its first write (to share a segment with it)
    or for its first read that has to wait: a server that never writes, only reads, still
    hands out a session the client can resume."""
    server = tls.server_context(certs.server("quiet", "quiet.test"), minimum_version="1.3")
    client = tls.client_context(cafile=certs.cafile)
    received: list[bytes] = []

    async def handler(flow: tls.TLSFlow) -> None:
        while data := await flow.read():
            received.append(data)

    async def connect(address: tuple[str, int]) -> None:
        first = await tls.connect(backend, *address, context=client, server_hostname="quiet.test")
        await first.write(b"ping")
        with backend.move_on_after(0.3):  # takes in the tickets; no data ever comes
            await first.read()
        session = first.session
        assert session is not None
        await first.close()
        again = await tls.connect(
            backend, *address, context=client, server_hostname="quiet.test", session=session
        )
        assert again.session_reused
        await again.close()

    assert await _serve_once(backend, server, connect, handler) == []
    assert b"ping" in received


async def test_sni_chooses_the_certificate(backend: Backend, certs: Certs) -> None:
    other = tls.server_context(certs.server("b", "b.test"))
    server = tls.server_context(
        certs.server("a", "a.test"), choose=lambda name: other if name == "b.test" else None
    )
    client = tls.client_context(cafile=certs.cafile)
    names: list[str | None] = []

    async def handler(flow: tls.TLSFlow) -> None:
        names.append(flow.server_hostname)
        await flow.write(b"hello")
        await flow.read()

    async def connect(address: tuple[str, int]) -> None:
        for name in ("a.test", "b.test"):
            flow = await tls.connect(backend, *address, context=client, server_hostname=name)
            assert flow.peer_certificate is not None
            assert flow.peer_certificate["subjectAltName"] == (("DNS", name),)
            assert await flow.read() == b"hello"  # the server's handler has run
            await flow.close()

    await _serve_once(backend, server, connect, handler)
    assert names == ["a.test", "b.test"]


async def test_a_stream_cut_without_close_notify_is_truncated(
    backend: Backend, certs: Certs
) -> None:
    server = tls.server_context(certs.server("cut", "cut.test"))
    client = tls.client_context(cafile=certs.cafile)
    pairs = testing.tls_pairs(testing.tcp_pairs(backend), backend, server, client, "cut.test")
    a, b = await pairs()
    assert isinstance(b, tls.TLSFlow)
    await b.write(b"partial")
    await b.transport.close()  # TCP FIN, no close_notify
    with backend.fail_after(5):
        assert await a.read() == b"partial"
        with pytest.raises(backends.TLSTruncated, match="without close_notify"):
            await a.read()
        with pytest.raises(backends.TLSTruncated):
            await a.read()  # and it stays an error
    await a.close()


async def test_handshake_deadline_holds_against_trickled_bytes(backend: Backend) -> None:
    """A server that trickles a never-ending first record cannot stretch the handshake."""

    async def trickle(flow: Flow) -> None:
        await flow.read()  # the ClientHello
        await flow.write(b"\x16\x03\x03\x40\x00")  # a handshake record of 16 KiB: never whole
        while True:
            await backend.sleep(0.02)
            await flow.write(b"\x00")

    client = tls.client_context(verify=False)
    async with await backend.tcp_listen("127.0.0.1", 0) as listener, backend.task_group() as tg:
        tg.start_soon(listener.serve, trickle)
        start = backend.now()
        with backend.fail_after(10), pytest.raises(backends.Timeout) as info:
            await tls.connect(backend, *listener.address, context=client, handshake_timeout=0.5)
        assert 0.45 <= backend.now() - start < 5
        assert "127.0.0.1" in str(info.value) and "0.5s" in str(info.value)
        tg.cancel_scope.cancel()


async def test_a_plaintext_peer_is_reported_as_not_tls(backend: Backend) -> None:
    async def http(flow: Flow) -> None:
        await flow.read()
        await flow.write(b"HTTP/1.1 400 Bad Request\r\n\r\n")

    client = tls.client_context(verify=False)
    async with await backend.tcp_listen("127.0.0.1", 0) as listener, backend.task_group() as tg:
        tg.start_soon(listener.serve, http)
        with backend.fail_after(10), pytest.raises(backends.TLSError, match="does not speak TLS"):
            await tls.connect(backend, *listener.address, context=client)
        tg.cancel_scope.cancel()


def test_contexts_refuse_unknown_versions() -> None:
    with pytest.raises(ValueError, match=r"1\.1"):
        tls.client_context(minimum_version="1.1")
