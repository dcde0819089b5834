"""The static server against curl: several ranges, a 10 MB file (sendfile), precompressed.

On asyncio and trio over the kernel's loopback; on mirage over a TAP device in a namespace
where curl runs (the ``kernel`` fixture; needs root).
"""

from __future__ import annotations

import email.parser
import gzip
import hashlib
import os
import subprocess
import time
from pathlib import Path

import pytest

import backends
from cohttp import Server
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
