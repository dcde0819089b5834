"""The static server against curl: several ranges, a 10 MB file (sendfile), precompressed.

On asyncio and trio over the kernel's loopback; on mirage over a TAP device in a namespace
where curl runs (the ``kernel`` fixture; needs root).
"""

from __future__ import annotations

import email.parser
import gzip
import hashlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

import backends
from cohttp import Request, Response, Server
from cohttp.compression import AVAILABLE, Policy, compress_bytes
from cohttp.static import StaticFiles
from tests.cohttp.helpers import running
from tests.conftest import need_tool
from tests.peers import KernelLink

pytestmark = pytest.mark.interop


@pytest.fixture
def net(backend: backends.Backend, kernel: KernelLink) -> backends.Backend:
    """The backend under test, reachable from the kernel's peers at ``kernel.host``."""
    return backend


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    root.mkdir()
    (root / "big.bin").write_bytes(os.urandom(10_000_000))
    text = b"<p>compressible</p>\n" * 200
    (root / "page.html").write_bytes(text)
    (root / "page.html.gz").write_bytes(gzip.compress(text))
    later = time.time() + 5
    os.utime(root / "page.html.gz", (later, later))
    return root


async def curl(
    net: backends.Backend, kernel: KernelLink, *args: str
) -> subprocess.CompletedProcess[bytes]:
    return await net.run_in_thread(
        lambda: subprocess.run(
            kernel.argv("curl", "-sS", "--max-time", "60", *args), capture_output=True, timeout=90
        )
    )


async def test_curl_fetches_a_10_mb_file_intact(
    net: backends.Backend, kernel: KernelLink, site: Path
) -> None:
    need_tool("curl")
    data = (site / "big.bin").read_bytes()
    async with running(net, Server(StaticFiles(site), access_log=False), kernel.host) as (
        host,
        port,
    ):
        url = f"http://{host}:{port}/big.bin"
        r = await curl(net, kernel, url, url)  # twice on one connection: the stream stays in step
        assert r.returncode == 0, r.stderr
        assert len(r.stdout) == 2 * len(data)
        assert hashlib.sha256(r.stdout).digest() == hashlib.sha256(data * 2).digest()


async def test_curl_ranges(net: backends.Backend, kernel: KernelLink, site: Path) -> None:
    need_tool("curl")
    data = (site / "big.bin").read_bytes()
    async with running(net, Server(StaticFiles(site), access_log=False), kernel.host) as (
        host,
        port,
    ):
        url = f"http://{host}:{port}/big.bin"
        r = await curl(net, kernel, "-r", "9000000-", url)
        assert r.returncode == 0, r.stderr
        assert r.stdout == data[9000000:]
        r = await curl(net, kernel, "-i", "-r", "0-99,5000000-5000099,-100", url)
        assert r.returncode == 0, r.stderr
        assert r.stdout.startswith(b"HTTP/1.1 206")
        message = email.parser.BytesParser().parsebytes(r.stdout.split(b"\r\n", 1)[1])
        assert message.get_content_type() == "multipart/byteranges" and message.is_multipart()
        parts = message.get_payload()
        assert isinstance(parts, list)
        assert [p["content-range"] for p in parts] == [
            "bytes 0-99/10000000",
            "bytes 5000000-5000099/10000000",
            "bytes 9999900-9999999/10000000",
        ]
        assert [p.get_payload(decode=True) for p in parts] == [
            data[:100],
            data[5000000:5000100],
            data[-100:],
        ]
        r = await curl(net, kernel, "-o", "/dev/null", "-w", "%{http_code}", "-r", "20000000-", url)
        assert r.stdout == b"416"


async def test_curl_compressed_gets_the_gzip_sibling(
    net: backends.Backend, kernel: KernelLink, site: Path
) -> None:
    need_tool("curl")
    text = (site / "page.html").read_bytes()
    async with running(net, Server(StaticFiles(site), access_log=False), kernel.host) as (
        host,
        port,
    ):
        url = f"http://{host}:{port}/page.html"
        r = await curl(net, kernel, "--compressed", "-D", "-", url)
        assert r.returncode == 0, r.stderr
        head, _, body = r.stdout.partition(b"\r\n\r\n")
        assert b"content-encoding: gzip" in head.lower() and body == text
        assert int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0]) == len(
            (site / "page.html.gz").read_bytes()
        )
        r = await curl(net, kernel, url)
        assert r.stdout == text


# -- compression on the fly: curl --compressed, and our `get --compressed` ------------------

TEXT = b"".join(b'{"line": %d, "text": "compressible"}\n' % i for i in range(2000))


@pytest.fixture
def text_site(tmp_path: Path) -> Path:
    root = tmp_path / "text"
    root.mkdir()
    (root / "data.json").write_bytes(TEXT)  # cached (small)
    (root / "big.txt").write_bytes(TEXT * 200)  # 14 MB: compressed as it is read
    return root


async def test_curl_compressed_on_the_fly(
    net: backends.Backend, kernel: KernelLink, text_site: Path
) -> None:
    need_tool("curl")
    files = StaticFiles(text_site, compress=Policy())
    async with running(net, Server(files, access_log=False), kernel.host) as (host, port):
        for name, data in (("data.json", TEXT), ("big.txt", TEXT * 200)):
            url = f"http://{host}:{port}/{name}"
            r = await curl(net, kernel, "--compressed", "-D", "-", url, url)  # twice: keep-alive
            assert r.returncode == 0, r.stderr
            heads = r.stdout.split(b"HTTP/1.1 200 OK\r\n")[1:]
            for response in heads:
                head, _, body = response.partition(b"\r\n\r\n")
                coding = head.lower().split(b"content-encoding: ")[1].split(b"\r\n")[0]
                assert coding.decode() in AVAILABLE  # what curl offers that we have
                assert b"vary: accept-encoding" in head.lower()
                assert body == data
            raw = await curl(net, kernel, "-H", "Accept-Encoding: gzip", url)
            assert gzip.decompress(raw.stdout) == data and len(raw.stdout) < len(data) // 5
        r = await curl(net, kernel, f"http://{host}:{port}/data.json")  # no Accept-Encoding
        assert r.stdout == TEXT


def cohttp_get(*args: str, kernel: KernelLink | None = None) -> subprocess.CompletedProcess[bytes]:
    """``cohttp get`` on asyncio, run where ``kernel``'s peers live (else here)."""
    root = Path(__file__).resolve().parents[2]
    argv = [sys.executable, "-m", "cohttp", "get", "--backend", "asyncio", *args]
    return subprocess.run(
        kernel.argv(*argv) if kernel is not None else argv,
        capture_output=True,
        timeout=120,
        cwd=root,
    )


async def test_our_get_compressed_against_our_server(
    net: backends.Backend, kernel: KernelLink, text_site: Path
) -> None:
    async def bomb(request: Request) -> Response:
        if request.path == "/bomb":  # 1 GiB of zeros in about 1 MB of gzip
            body = compress_bytes("gzip", b"\0" * (64 << 20)) * 16
            return Response(200, body, [("content-encoding", "gzip")])
        return await StaticFiles(text_site, compress=Policy())(request)

    async with running(net, Server(bomb, access_log=False), kernel.host) as (host, port):
        base = f"http://{host}:{port}"
        r = await net.run_in_thread(
            lambda: cohttp_get("--compressed", "-v", base + "/big.txt", kernel=kernel)
        )
        assert r.returncode == 0, r.stderr
        assert r.stdout == TEXT * 200 and b"< content-encoding: " in r.stderr.lower()
        r = await net.run_in_thread(lambda: cohttp_get(base + "/data.json", kernel=kernel))
        assert r.stdout == TEXT  # without --compressed, nothing is asked for
        r = await net.run_in_thread(
            lambda: cohttp_get("--compressed", base + "/bomb", kernel=kernel)
        )
        assert r.returncode == 63, r.stderr  # curl's "maximum file size exceeded"
        lines = r.stderr.decode().splitlines()
        assert len(lines) == 1 and "exceeds the limit of 268435456 bytes" in lines[0]
        assert len(r.stdout) <= 256 << 20
        r = await net.run_in_thread(
            lambda: cohttp_get(
                "--compressed", "--max-filesize", "1000", base + "/data.json", kernel=kernel
            )
        )
        assert r.returncode == 63 and len(r.stdout) <= 1000


NGINX_CONF = """
{user}
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    types {{ application/json json; text/plain txt; }}
    gzip on;
    gzip_types application/json text/plain;
    server {{
        listen 127.0.0.1:{port};
        root {root};
    }}
}}
"""


def test_our_get_compressed_against_nginx_gzip(text_site: Path, tmp_path: Path) -> None:
    need_tool("nginx")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    conf = tmp_path / "nginx.conf"
    # as root, nginx's worker would drop to nobody, who cannot read pytest's private tmp
    user = "user root;" if os.geteuid() == 0 else ""
    conf.write_text(NGINX_CONF.format(user=user, dir=tmp_path, port=port, root=text_site))
    nginx = subprocess.Popen(
        ["nginx", "-c", str(conf), "-p", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if nginx.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"nginx did not start: {nginx.stderr.read()!r}")  # type: ignore[union-attr]
                time.sleep(0.05)
        url = f"http://127.0.0.1:{port}/data.json"
        r = cohttp_get("--compressed", "-v", url)
        assert r.returncode == 0, r.stderr
        assert r.stdout == TEXT and b"< content-encoding: gzip" in r.stderr.lower()
        r = cohttp_get("--compressed", "-v", f"http://127.0.0.1:{port}/big.txt")
        assert r.returncode == 0 and r.stdout == TEXT * 200
    finally:
        nginx.terminate()
        nginx.wait(timeout=10)
