"""Our server against curl (the Debian package) and httpx, over the kernel's loopback.

curl checks what a real client sees: keep-alive reuse, chunked upload, Expect:
100-continue, Range requests, HEAD. On mirage the server's stack owns a TAP device in a
namespace and curl and httpx run inside that namespace (the ``kernel`` fixture; needs root).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest

import backends
from cohttp import Request, Response, Server
from cohttp.static import StaticFiles
from tests.cohttp.helpers import running
from tests.conftest import need_tool
from tests.peers import KernelLink

pytestmark = pytest.mark.interop


@pytest.fixture
def net(backend: backends.Backend, kernel: KernelLink) -> backends.Backend:
    """The backend under test, reachable from the kernel's peers at ``kernel.host``."""
    return backend


def make_app(root: Path) -> object:
    static = StaticFiles(root)

    async def app(request: Request) -> Response:
        if request.path == "/echo":
            data = await request.read()
            return Response(
                200,
                data,
                {
                    "x-te": request.headers.get("transfer-encoding", "-"),
                    "x-length": str(len(data)),
                },
            )
        return await static(request)

    return app


async def curl(
    net: backends.Backend, kernel: KernelLink, *args: str
) -> subprocess.CompletedProcess[bytes]:
    return await net.run_in_thread(
        lambda: subprocess.run(
            kernel.argv("curl", "-sS", "--max-time", "20", *args), capture_output=True, timeout=30
        )
    )


@pytest.fixture
def site(tmp_path: Path) -> Path:
    (tmp_path / "index.html").write_text("<p>hello</p>\n")
    (tmp_path / "data.bin").write_bytes(bytes(range(256)) * 64)
    (tmp_path / "upload.bin").write_bytes(b"0123456789abcdef" * 20000)
    return tmp_path


async def test_curl_keep_alive_reuse(net: backends.Backend, kernel: KernelLink, site: Path) -> None:
    need_tool("curl")
    server = Server(make_app(site))  # type: ignore[arg-type]
    async with running(net, server, kernel.host) as (host, port):
        url = f"http://{host}:{port}/index.html"
        r = await curl(net, kernel, "-v", url, url, url)
        assert r.returncode == 0, r.stderr
        assert r.stdout == b"<p>hello</p>\n" * 3
        assert r.stderr.count(b"Re-using existing connection") == 2
        assert r.stderr.count(b"Connected to") == 1


async def test_curl_chunked_upload(net: backends.Backend, kernel: KernelLink, site: Path) -> None:
    need_tool("curl")
    server = Server(make_app(site))  # type: ignore[arg-type]
    async with running(net, server, kernel.host) as (host, port):
        r = await curl(
            net,
            kernel,
            "-i",
            "-H",
            "Transfer-Encoding: chunked",
            "--data-binary",
            f"@{site / 'upload.bin'}",
            f"http://{host}:{port}/echo",
        )
        assert r.returncode == 0, r.stderr
        head, _, body = r.stdout.partition(b"\r\n\r\n")
        assert b"x-te: chunked" in head and body == (site / "upload.bin").read_bytes()


async def test_curl_expect_100_continue(
    net: backends.Backend, kernel: KernelLink, site: Path
) -> None:
    need_tool("curl")
    server = Server(make_app(site))  # type: ignore[arg-type]
    async with running(net, server, kernel.host) as (host, port):
        r = await curl(
            net,
            kernel,
            "-v",
            "-H",
            "Expect: 100-continue",
            "--data-binary",
            f"@{site / 'upload.bin'}",
            f"http://{host}:{port}/echo",
        )
        assert r.returncode == 0, r.stderr
        assert b"< HTTP/1.1 100 Continue" in r.stderr
        assert r.stdout == (site / "upload.bin").read_bytes()


async def test_curl_range_and_head(net: backends.Backend, kernel: KernelLink, site: Path) -> None:
    need_tool("curl")
    server = Server(make_app(site))  # type: ignore[arg-type]
    async with running(net, server, kernel.host) as (host, port):
        url = f"http://{host}:{port}/data.bin"
        r = await curl(net, kernel, "-i", "-r", "100-199", url)
        head, _, body = r.stdout.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 206") and b"content-range: bytes 100-199/16384" in head
        assert body == (bytes(range(256)) * 64)[100:200]
        r = await curl(net, kernel, "-r", "-16", url)
        assert r.stdout == bytes(range(240, 256))
        r = await curl(net, kernel, "-i", "-r", "99999-", url)
        assert r.stdout.startswith(b"HTTP/1.1 416")
        r = await curl(net, kernel, "-I", url)
        assert b"content-length: 16384" in r.stdout and r.stdout.endswith(b"\r\n\r\n")
        # A second download resumes where a partial file stops (curl -C -).
        part = site / "part.bin"
        part.write_bytes((bytes(range(256)) * 64)[:5000])
        r = await curl(net, kernel, "-C", "-", "-o", str(part), url)
        assert r.returncode == 0 and part.read_bytes() == bytes(range(256)) * 64


async def test_httpx_client(net: backends.Backend, kernel: KernelLink, site: Path) -> None:
    # httpx's blocking client in a worker thread, whose sockets live with the kernel's peers
    def session(base: str) -> None:
        with kernel.inside(), httpx.Client(base_url=base) as client:
            r = client.get("/index.html")
            assert r.status_code == 200 and r.text == "<p>hello</p>\n"
            assert r.headers["content-type"] == "text/html; charset=utf-8"
            r = client.post("/echo", content=(b"%03d" % i for i in range(100)))
            assert r.headers["x-te"] == "chunked" and r.content == b"".join(
                b"%03d" % i for i in range(100)
            )
            r = client.get("/data.bin", headers={"range": "bytes=0-3"})
            assert r.status_code == 206 and r.content == b"\x00\x01\x02\x03"
            etag = r.headers["etag"]
            r = client.get("/data.bin", headers={"if-none-match": etag})
            assert r.status_code == 304
            r = client.get("/missing")
            assert r.status_code == 404

    server = Server(make_app(site))  # type: ignore[arg-type]
    async with running(net, server, kernel.host) as (host, port):
        await net.run_in_thread(lambda: session(f"http://{host}:{port}"))
