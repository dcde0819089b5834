"""serve_h2 against nghttp2's tools and curl (Debian nghttp2-client, curl), on every
backend: over TLS with ALPN choosing ``h2`` (and ``http/1.1`` still served by cohttp.Server
on the same listener), and as h2c with prior knowledge. On asyncio and trio over the
kernel's loopback; on mirage the tools run inside the namespace whose TAP device our stack
owns (the ``kernel`` fixture; needs root)."""

from __future__ import annotations

import contextlib
import re
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

import backends
from backends import tls
from cohttp import Request, Response, Server, ServerConfig
from cohttp.h2.server import serve_h2
from tests.conftest import need_tool
from tests.peers import KernelLink

pytestmark = pytest.mark.interop
trustme = pytest.importorskip("trustme")

HOSTNAME = "h2.test"
BIG = bytes(range(256)) * 8192  # 2 MiB


@pytest.fixture
def net(backend: backends.Backend, kernel: KernelLink) -> backends.Backend:
    """The backend under test, reachable from the kernel's tools at ``kernel.host``."""
    return backend


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ca.pem and server.pem for HOSTNAME (curl pins the name to our address; nghttp and
    h2load do not verify)."""
    where = tmp_path_factory.mktemp("h2-certs")
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(where / "ca.pem"))
    ca.issue_cert(HOSTNAME).private_key_and_cert_chain_pem.write_to_path(str(where / "server.pem"))
    return where


async def app(request: Request) -> Response:
    if request.path == "/echo":
        data = await request.read()
        return Response(200, data, {"x-length": str(len(data))})
    if request.path == "/big":
        return Response(200, BIG, {"content-type": "application/octet-stream"})
    return Response.text(f"{request.version} {request.path}\n")


@contextlib.asynccontextmanager
async def serving(
    net: backends.Backend, kernel: KernelLink, certs: Path | None
) -> AsyncIterator[int]:
    """``app`` on a port of ``kernel.host``: over TLS (ALPN h2 or http/1.1) when ``certs``
    is given, else h2c with prior knowledge."""
    config = ServerConfig(access_log=False)
    http1 = Server(app, config)
    context = (
        tls.server_context(str(certs / "server.pem"), alpn=["h2", "http/1.1"]) if certs else None
    )

    async def connection(flow: backends.Flow) -> None:
        try:
            if context is not None:
                flow = await tls.wrap_server(flow, context, handshake_timeout=10)
            if context is None or getattr(flow, "alpn", None) == "h2":
                await serve_h2(net, flow, app, config)
            else:
                await http1.serve_flow(net, flow)
        except backends.NetworkError:
            pass
        finally:
            await flow.close()

    listener = await net.tcp_listen(kernel.host, 0)
    async with net.task_group() as tg:
        tg.start_soon(listener.serve, connection)
        try:
            yield listener.address[1]
        finally:
            await listener.close()
            tg.cancel_scope.cancel()


async def run(
    net: backends.Backend, kernel: KernelLink, *argv: str
) -> subprocess.CompletedProcess[bytes]:
    """``argv`` where the kernel's tools live, from a worker thread."""
    return await net.run_in_thread(
        lambda: subprocess.run(kernel.argv(*argv), capture_output=True, timeout=60)
    )


def curl_args(kernel: KernelLink, certs: Path, port: int) -> list[str]:
    return [
        *("curl", "-sS", "--max-time", "20", "--cacert", str(certs / "ca.pem")),
        *("--resolve", f"{HOSTNAME}:{port}:{kernel.host}"),
    ]


async def test_curl_http2_over_tls(
    net: backends.Backend, kernel: KernelLink, certs: Path, tmp_path: Path
) -> None:
    need_tool("curl")
    upload = tmp_path / "upload.bin"
    upload.write_bytes(BIG[::-1])
    async with serving(net, kernel, certs) as port:
        base = f"https://{HOSTNAME}:{port}"
        curl = curl_args(kernel, certs, port)
        r = await run(net, kernel, *curl, "--http2", "-w", "%{http_version}", f"{base}/a")
        assert r.returncode == 0, r.stderr
        assert r.stdout == b"HTTP/2 /a\n2"
        r = await run(net, kernel, *curl, "--http2", f"{base}/big")
        assert r.stdout == BIG
        r = await run(net, kernel, *curl, "--http2", "--data-binary", f"@{upload}", f"{base}/echo")
        assert r.stdout == BIG[::-1]
        # The same listener still speaks HTTP/1.1 to a client that offers only that.
        r = await run(net, kernel, *curl, "--http1.1", f"{base}/b")
        assert r.stdout == b"HTTP/1.1 /b\n"


async def test_nghttp_concurrent_streams_over_tls(
    net: backends.Backend, kernel: KernelLink, certs: Path
) -> None:
    need_tool("nghttp")
    async with serving(net, kernel, certs) as port:
        base = f"https://{kernel.host}:{port}"
        urls = [f"{base}/n{i}" for i in range(8)]
        r = await run(net, kernel, "nghttp", "-n", "-s", "-v", *urls, f"{base}/big")
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr
        out = r.stdout.decode("latin-1")
        assert out.count(":status: 200") == 9
        assert "recv RST_STREAM" not in out and "recv GOAWAY" not in out


async def test_nghttp_upload_with_flow_control(
    net: backends.Backend, kernel: KernelLink, tmp_path: Path
) -> None:
    need_tool("nghttp")
    upload = tmp_path / "upload.bin"
    upload.write_bytes(BIG)
    async with serving(net, kernel, None) as port:
        r = await run(net, kernel, "nghttp", "-d", str(upload), f"http://{kernel.host}:{port}/echo")
        assert r.returncode == 0, r.stderr
        assert r.stdout == BIG


@pytest.mark.parametrize("secure", [False, True], ids=["h2c", "tls"])
async def test_h2load_bounded_smoke(
    net: backends.Backend, kernel: KernelLink, certs: Path, secure: bool
) -> None:
    need_tool("h2load")
    async with serving(net, kernel, certs if secure else None) as port:
        scheme = "https" if secure else "http"
        url = f"{scheme}://{kernel.host}:{port}/"
        r = await run(net, kernel, "h2load", "-n", "2000", "-c", "10", "-m", "10", url)
        out = r.stdout.decode()
        assert r.returncode == 0, out + r.stderr.decode()
        assert re.search(
            r"requests: 2000 total, 2000 started, 2000 done, 2000 succeeded, 0 failed, 0 errored",
            out,
        ), out
        assert "status codes: 2000 2xx" in out
