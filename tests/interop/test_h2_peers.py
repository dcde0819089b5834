"""serve_h2 against nghttp2's tools and curl (Debian nghttp2-client, curl), over loopback:
over TLS with ALPN choosing ``h2`` (and ``http/1.1`` still served by cohttp.Server on the
same listener), and as h2c with prior knowledge. The in-memory mirage switch is not
reachable from kernel sockets, so these run on asyncio and trio."""

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

pytestmark = pytest.mark.interop
trustme = pytest.importorskip("trustme")

HOSTNAME = "h2.test"
BIG = bytes(range(256)) * 8192  # 2 MiB


@pytest.fixture
def net(backend: backends.Backend) -> backends.Backend:
    if backend.name == "mirage":
        pytest.skip("the in-memory mirage switch is not reachable from kernel sockets")
    return backend


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("h2-certs")
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(where / "ca.pem"))
    ca.issue_cert(HOSTNAME, "127.0.0.1").private_key_and_cert_chain_pem.write_to_path(
        str(where / "server.pem")
    )
    return where


async def app(request: Request) -> Response:
    if request.path == "/echo":
        data = await request.read()
        return Response(200, data, {"x-length": str(len(data))})
    if request.path == "/big":
        return Response(200, BIG, {"content-type": "application/octet-stream"})
    return Response.text(f"{request.version} {request.path}\n")


@contextlib.asynccontextmanager
async def serving(net: backends.Backend, certs: Path | None) -> AsyncIterator[int]:
    """``app`` on a loopback port: over TLS (ALPN h2 or http/1.1) when ``certs`` is given,
    else h2c with prior knowledge."""
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

    listener = await net.tcp_listen("127.0.0.1", 0)
    async with net.task_group() as tg:
        tg.start_soon(listener.serve, connection)
        try:
            yield listener.address[1]
        finally:
            await listener.close()
            tg.cancel_scope.cancel()


async def run(net: backends.Backend, *argv: str) -> subprocess.CompletedProcess[bytes]:
    return await net.run_in_thread(
        lambda: subprocess.run(list(argv), capture_output=True, timeout=60)
    )


def curl_args(certs: Path, port: int) -> list[str]:
    return [
        *("curl", "-sS", "--max-time", "20", "--cacert", str(certs / "ca.pem")),
        *("--resolve", f"{HOSTNAME}:{port}:127.0.0.1"),
    ]


async def test_curl_http2_over_tls(net: backends.Backend, certs: Path, tmp_path: Path) -> None:
    need_tool("curl")
    upload = tmp_path / "upload.bin"
    upload.write_bytes(BIG[::-1])
    async with serving(net, certs) as port:
        base = f"https://{HOSTNAME}:{port}"
        r = await run(net, *curl_args(certs, port), "--http2", "-w", "%{http_version}", f"{base}/a")
        assert r.returncode == 0, r.stderr
        assert r.stdout == b"HTTP/2 /a\n2"
        r = await run(net, *curl_args(certs, port), "--http2", f"{base}/big")
        assert r.stdout == BIG
        r = await run(
            net, *curl_args(certs, port), "--http2", "--data-binary", f"@{upload}", f"{base}/echo"
        )
        assert r.stdout == BIG[::-1]
        # The same listener still speaks HTTP/1.1 to a client that offers only that.
        r = await run(net, *curl_args(certs, port), "--http1.1", f"{base}/b")
        assert r.stdout == b"HTTP/1.1 /b\n"


async def test_nghttp_concurrent_streams_over_tls(net: backends.Backend, certs: Path) -> None:
    need_tool("nghttp")
    async with serving(net, certs) as port:
        urls = [f"https://127.0.0.1:{port}/n{i}" for i in range(8)]
        r = await run(net, "nghttp", "-n", "-s", "-v", *urls, f"https://127.0.0.1:{port}/big")
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr
        out = r.stdout.decode("latin-1")
        assert out.count(":status: 200") == 9
        assert "recv RST_STREAM" not in out and "recv GOAWAY" not in out


async def test_nghttp_upload_with_flow_control(net: backends.Backend, tmp_path: Path) -> None:
    need_tool("nghttp")
    upload = tmp_path / "upload.bin"
    upload.write_bytes(BIG)
    async with serving(net, None) as port:
        r = await run(net, "nghttp", "-d", str(upload), f"http://127.0.0.1:{port}/echo")
        assert r.returncode == 0, r.stderr
        assert r.stdout == BIG


@pytest.mark.parametrize("secure", [False, True], ids=["h2c", "tls"])
async def test_h2load_bounded_smoke(net: backends.Backend, certs: Path, secure: bool) -> None:
    need_tool("h2load")
    async with serving(net, certs if secure else None) as port:
        scheme = "https" if secure else "http"
        r = await run(
            net, "h2load", "-n", "2000", "-c", "10", "-m", "10", f"{scheme}://127.0.0.1:{port}/"
        )
        out = r.stdout.decode()
        assert r.returncode == 0, out + r.stderr.decode()
        assert re.search(
            r"requests: 2000 total, 2000 started, 2000 done, 2000 succeeded, 0 failed, 0 errored",
            out,
        ), out
        assert "status codes: 2000 2xx" in out
