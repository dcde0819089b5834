"""Our server against curl (the Debian package) and httpx, over the kernel's loopback.

curl checks what a real client sees: keep-alive reuse, chunked upload, Expect:
100-continue, Range requests, HEAD. The mirage backend of the suite lives on an in-memory
switch that the kernel's curl cannot reach, so these run on asyncio and trio.
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

pytestmark = pytest.mark.interop


@pytest.fixture
def net(backend: backends.Backend) -> backends.Backend:
    if backend.name == "mirage":
        pytest.skip("the in-memory mirage switch is not reachable from kernel sockets")
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


async def curl(net: backends.Backend, *args: str) -> subprocess.CompletedProcess[bytes]:
    return await net.run_in_thread(
        lambda: subprocess.run(
            ["curl", "-sS", "--max-time", "20", *args], capture_output=True, timeout=30
        )
    )


@pytest.fixture
def site(tmp_path: Path) -> Path:
    (tmp_path / "index.html").write_text("<p>hello</p>\n")
    (tmp_path / "data.bin").write_bytes(bytes(range(256)) * 64)
    (tmp_path / "upload.bin").write_bytes(b"0123456789abcdef" * 20000)
    return tmp_path


async def test_curl_keep_alive_reuse(net: backends.Backend, site: Path) -> None:
    need_tool("curl")
    async with running(net, Server(make_app(site))) as (host, port):  # type: ignore[arg-type]
        url = f"http://{host}:{port}/index.html"
        r = await curl(net, "-v", url, url, url)
        assert r.returncode == 0, r.stderr
        assert r.stdout == b"<p>hello</p>\n" * 3
        assert r.stderr.count(b"Re-using existing connection") == 2
        assert r.stderr.count(b"Connected to") == 1


async def test_curl_chunked_upload(net: backends.Backend, site: Path) -> None:
    need_tool("curl")
    async with running(net, Server(make_app(site))) as (host, port):  # type: ignore[arg-type]
        r = await curl(
            net,
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


async def test_curl_expect_100_continue(net: backends.Backend, site: Path) -> None:
    need_tool("curl")
    async with running(net, Server(make_app(site))) as (host, port):  # type: ignore[arg-type]
        r = await curl(
            net,
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


async def test_curl_range_and_head(net: backends.Backend, site: Path) -> None:
    need_tool("curl")
    async with running(net, Server(make_app(site))) as (host, port):  # type: ignore[arg-type]
        url = f"http://{host}:{port}/data.bin"
        r = await curl(net, "-i", "-r", "100-199", url)
        head, _, body = r.stdout.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 206") and b"content-range: bytes 100-199/16384" in head
        assert body == (bytes(range(256)) * 64)[100:200]
        r = await curl(net, "-r", "-16", url)
        assert r.stdout == bytes(range(240, 256))
        r = await curl(net, "-i", "-r", "99999-", url)
        assert r.stdout.startswith(b"HTTP/1.1 416")
        r = await curl(net, "-I", url)
        assert b"content-length: 16384" in r.stdout and r.stdout.endswith(b"\r\n\r\n")
        # A second download resumes where a partial file stops (curl -C -).
        part = site / "part.bin"
        part.write_bytes((bytes(range(256)) * 64)[:5000])
        r = await curl(net, "-C", "-", "-o", str(part), url)
        assert r.returncode == 0 and part.read_bytes() == bytes(range(256)) * 64


async def test_httpx_client(net: backends.Backend, site: Path) -> None:
    async with running(net, Server(make_app(site))) as (host, port):  # type: ignore[arg-type]
        base = f"http://{host}:{port}"
        async with httpx.AsyncClient(base_url=base) as client:
            r = await client.get("/index.html")
            assert r.status_code == 200 and r.text == "<p>hello</p>\n"
            assert r.headers["content-type"] == "text/html; charset=utf-8"

            async def gen():  # type: ignore[no-untyped-def]
                for i in range(100):
                    yield b"%03d" % i

            r = await client.post("/echo", content=gen())
            assert r.headers["x-te"] == "chunked" and r.content == b"".join(
                b"%03d" % i for i in range(100)
            )
            r = await client.get("/data.bin", headers={"range": "bytes=0-3"})
            assert r.status_code == 206 and r.content == b"\x00\x01\x02\x03"
            etag = r.headers["etag"]
            r = await client.get("/data.bin", headers={"if-none-match": etag})
            assert r.status_code == 304
            r = await client.get("/missing")
            assert r.status_code == 404
