"""HTTPS between our stack and the kernel's: curl and ``openssl s_server -WWW`` as peers.

Our server is :class:`cohttp.Server` serving each connection through
:func:`backends.tls.wrap_server` (TLS written once over any flow); our client is
:func:`backends.tls.connect` with cohttp's response parser. On mirage every byte goes
through our own TCP/IP stack on a TAP device in a namespace, where curl and openssl run
(issue #19 item 5; the ``kernel`` fixture, needs root); on asyncio and trio over loopback.
10 MB each way, TLS 1.3, certificates from trustme, checked by SHA-256.
"""

from __future__ import annotations

import hashlib
import ssl
import subprocess
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest

import backends
from backends import Flow, tls
from cohttp import Server
from cohttp.codec import NEED_DATA, PEER_CLOSED, Data, EndOfMessage, ResponseHead, ResponseParser
from tests.conftest import need_tool
from tests.mirage.tapapp import http_app, pattern
from tests.peers import KernelLink

pytestmark = pytest.mark.interop

trustme = pytest.importorskip("trustme", reason="trustme (the test extra) makes the certificates")

TEN_MB = 10_000_000


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ca.pem and server.pem (chain and key) for ``https.test``."""
    directory = tmp_path_factory.mktemp("https")
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(directory / "ca.pem"))
    cert = ca.issue_cert("https.test")
    cert.private_key_and_cert_chain_pem.write_to_path(str(directory / "server.pem"))
    return directory


async def _serve_https(
    net: backends.Backend, host: str, context: ssl.SSLContext, server: Server
) -> tuple[backends.Listener, Callable[[Flow], Awaitable[None]]]:
    """A listener on ``host`` and the handler that serves HTTPS on each of its flows:
    TLS by :func:`backends.tls.wrap_server`, then HTTP by :meth:`Server.serve_flow`."""
    listener = await net.tcp_listen(host, 0)

    async def handler(flow: Flow) -> None:
        secure = await tls.wrap_server(flow, context)
        async with secure:
            await server.serve_flow(net, secure)

    return listener, handler


async def test_curl_moves_10_mb_each_way_over_https(
    backend: backends.Backend, kernel: KernelLink, certs: Path, tmp_path: Path
) -> None:
    need_tool("curl")
    context = tls.server_context(str(certs / "server.pem"), alpn=["http/1.1"])
    server = Server(http_app, access_log=False)
    listener, handler = await _serve_https(backend, kernel.host, context, server)
    upload = tmp_path / "upload.bin"
    body = pattern(TEN_MB)[::-1]  # not the download's bytes
    upload.write_bytes(body)
    async with listener, backend.task_group() as tg:
        tg.start_soon(listener.serve, handler)
        port = listener.address[1]
        url = f"https://https.test:{port}"
        curl = kernel.argv(
            *("curl", "-sS", "--max-time", "60", "--tlsv1.3", "--cacert", str(certs / "ca.pem")),
            *("--resolve", f"https.test:{port}:{kernel.host}", "-w", "%{ssl_verify_result}"),
        )

        def fetch() -> subprocess.CompletedProcess[bytes]:
            return subprocess.run(
                [*curl, "-o", str(tmp_path / "got.bin"), f"{url}/{TEN_MB}"],
                capture_output=True,
                timeout=90,
            )

        got = await backend.run_in_thread(fetch)
        assert got.returncode == 0, got.stderr
        assert got.stdout == b"0"  # the certificate verified
        data = (tmp_path / "got.bin").read_bytes()
        assert len(data) == TEN_MB
        assert hashlib.sha256(data).digest() == hashlib.sha256(pattern(TEN_MB)).digest()

        def post() -> subprocess.CompletedProcess[bytes]:
            return subprocess.run(
                [*curl, "-v", "--data-binary", f"@{upload}", f"{url}/"],
                capture_output=True,
                timeout=90,
            )

        sent = await backend.run_in_thread(post)
        assert sent.returncode == 0, sent.stderr
        assert b"SSL connection using TLSv1.3" in sent.stderr
        assert b"ALPN: server accepted http/1.1" in sent.stderr
        assert sent.stdout == f"{TEN_MB} {hashlib.sha256(body).hexdigest()}\n0".encode()
        tg.cancel_scope.cancel()


@pytest.fixture
def s_server_www(kernel: KernelLink, certs: Path, tmp_path: Path) -> Iterator[int]:
    """``openssl s_server -WWW`` (TLS 1.3 only) serving ``big.bin`` (10 MB of
    ``pattern``) from a scratch directory, on the kernel's side of the link."""
    need_tool("openssl")
    (tmp_path / "big.bin").write_bytes(pattern(TEN_MB))
    for port in range(24430, 24530):  # a port the listener takes, as it says on stdout
        process = subprocess.Popen(
            kernel.argv(
                *("openssl", "s_server", "-accept", f"{kernel.peer_host}:{port}", "-WWW"),
                *("-tls1_3", "-cert", str(certs / "server.pem"), "-naccept", "1"),
            ),
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert process.stdout is not None
        if any(line.startswith("ACCEPT") for line in process.stdout):
            break  # (any stops reading there; a failed bind ends the output)
        process.wait(5)
    else:
        pytest.fail("openssl s_server found no free port")
    try:
        yield port
    finally:
        process.kill()
        process.wait()


async def test_our_client_fetches_10_mb_from_openssl_s_server(
    backend: backends.Backend, kernel: KernelLink, certs: Path, s_server_www: int
) -> None:
    context = tls.client_context(cafile=str(certs / "ca.pem"), alpn=["http/1.1"])
    digest = hashlib.sha256()
    total = 0
    with backend.fail_after(60):
        flow = await tls.connect(
            backend, kernel.peer_host, s_server_www, context=context, server_hostname="https.test"
        )
        async with flow:
            assert flow.version == "TLSv1.3"
            await flow.write(b"GET /big.bin HTTP/1.0\r\nHost: https.test\r\n\r\n")
            parser = ResponseParser()
            parser.expect("GET")
            head: ResponseHead | None = None
            while True:
                event = parser.next_event()
                if event is NEED_DATA:
                    data = await flow.read(1 << 20)  # b"" only after s_server's close_notify
                    if data:
                        parser.feed(data)
                    else:
                        parser.feed_eof()
                elif isinstance(event, ResponseHead):
                    head = event
                elif isinstance(event, Data):
                    digest.update(event.data)
                    total += len(event.data)
                elif isinstance(event, EndOfMessage) or event is PEER_CLOSED:
                    break
    assert head is not None and head.status == 200
    assert total == TEN_MB
    assert digest.digest() == hashlib.sha256(pattern(TEN_MB)).digest()
