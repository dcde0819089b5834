"""HTTPS against real peers (Debian's curl, openssl and nginx-light), on every backend.

curl and ``openssl s_client`` against our HTTPS server: TLS 1.2 and 1.3, SNI choosing the
certificate, ALPN ``http/1.1``, keep-alive, a wrong host name refused by the client, the
server's close_notify seen. Our client against nginx and ``openssl s_server -www``. On
asyncio and trio over the kernel's loopback; on mirage the peers run inside the namespace
whose TAP device our stack owns (the ``kernel`` fixture; needs root). Certificates from
trustme, issued for the link's peer address once the link exists.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

import backends
from backends import tls
from cohttp import Request, Response, Server
from cohttp.cli import _Pinned
from cohttp.client import Client
from tests.cohttp.helpers import running
from tests.conftest import need_tool
from tests.peers import KernelLink

pytestmark = pytest.mark.interop

trustme = pytest.importorskip("trustme", reason="trustme (the test extra) makes the certificates")

BIG = bytes(range(256)) * 4096  # 1 MiB


@pytest.fixture
def net(backend: backends.Backend, kernel: KernelLink) -> backends.Backend:
    """The backend under test, meeting the peers on ``kernel``."""
    return backend


@pytest.fixture(scope="module")
def issued() -> dict[str, Path]:
    """The certificate directories made in this module, by the peer address they name."""
    return {}


@pytest.fixture
def certs(
    kernel: KernelLink, issued: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """ca.pem; a.pem (a.test and ``kernel.peer_host``, where our client dials the peers) and
    b.pem (b.test), chain and key in one file; a.crt/a.key apart for nginx; a site with
    index.html and big.bin. Made once per link: a mirage link's subnet is per session."""
    if kernel.peer_host not in issued:
        issued[kernel.peer_host] = _issue(tmp_path_factory.mktemp("https_peers"), kernel)
    return issued[kernel.peer_host]


def _issue(d: Path, kernel: KernelLink) -> Path:
    os.chmod(d, 0o755)  # nginx's worker runs unprivileged
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(d / "ca.pem"))
    a = ca.issue_cert("a.test", kernel.peer_host)
    a.private_key_and_cert_chain_pem.write_to_path(str(d / "a.pem"))
    for blob in a.cert_chain_pems:
        blob.write_to_path(str(d / "a.crt"), append=True)
    a.private_key_pem.write_to_path(str(d / "a.key"))
    ca.issue_cert("b.test").private_key_and_cert_chain_pem.write_to_path(str(d / "b.pem"))
    site = d / "site"
    site.mkdir()
    (site / "index.html").write_text("hello over tls\n")
    (site / "big.bin").write_bytes(BIG)
    for path in (site, site / "index.html", site / "big.bin", d / "a.crt", d / "a.key"):
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    return d


async def _app(request: Request) -> Response:
    host = request.host.partition(":")[0]
    return Response.text(f"{request.scheme} {host} {request.path}\n")


@pytest.fixture
async def ours(net: backends.Backend, kernel: KernelLink, certs: Path) -> AsyncIterator[int]:
    """Our HTTPS server at ``kernel.host``: a.pem by default, b.pem for SNI b.test."""
    b = tls.server_context(str(certs / "b.pem"))
    context = tls.server_context(
        str(certs / "a.pem"), choose=lambda name: b if name == "b.test" else None
    )
    async with running(net, Server(_app, tls=context), kernel.host) as (_, port):
        yield port


async def _run(
    net: backends.Backend, kernel: KernelLink, *argv: str, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """``argv`` where the kernel's peers live, from a worker thread."""
    return await net.run_in_thread(
        lambda: subprocess.run(
            kernel.argv(*argv), input=stdin, capture_output=True, text=True, timeout=30, check=False
        )
    )


@pytest.mark.parametrize("version", ["1.2", "1.3"])
async def test_curl_against_our_server(
    net: backends.Backend, kernel: KernelLink, certs: Path, ours: int, version: str
) -> None:
    need_tool("curl")
    port = ours
    pin = []
    for name in ("a.test", "b.test", "c.test"):
        pin += ["--resolve", f"{name}:{port}:{kernel.host}"]
    common = ["curl", "-sS", "-v", "--max-time", "20", "--cacert", str(certs / "ca.pem")]
    common += [f"--tlsv{version}", "--tls-max", version, "--http1.1", *pin]
    done = await _run(net, kernel, *common, f"https://a.test:{port}/x", f"https://a.test:{port}/y")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "https a.test /x\nhttps a.test /y\n"
    assert f"SSL connection using TLSv{version}" in done.stderr
    assert "ALPN: server accepted http/1.1" in done.stderr
    assert "Re-using existing connection" in done.stderr  # keep-alive over TLS
    # SNI b.test: verified against b.test, so the server chose b.pem
    done = await _run(net, kernel, *common, f"https://b.test:{port}/")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "https b.test /\n"
    # no certificate for c.test: the default one (a.test's), which curl refuses
    done = await _run(net, kernel, *common, f"https://c.test:{port}/")
    assert done.returncode == 60, done.stderr
    assert "c.test" in done.stderr


@pytest.mark.parametrize("version", ["1.2", "1.3"])
async def test_s_client_sees_our_close_notify(
    net: backends.Backend, kernel: KernelLink, certs: Path, ours: int, version: str
) -> None:
    """After a ``Connection: close`` response the server ends TLS with close_notify
    (RFC 8446 6.1) before closing TCP."""
    need_tool("openssl")
    done = await _run(
        net,
        kernel,
        *(
            "openssl",
            "s_client",
            "-connect",
            f"{kernel.host}:{ours}",
            f"-tls{version.replace('.', '_')}",
        ),
        *("-servername", "a.test", "-alpn", "http/1.1", "-CAfile", str(certs / "ca.pem")),
        *("-verify_hostname", "a.test", "-verify_return_error", "-msg", "-ign_eof"),
        stdin="GET /z HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ALPN protocol: http/1.1" in done.stdout
    assert "https a.test /z" in done.stdout
    assert "close_notify" in done.stdout.split("https a.test /z")[1]  # after the response


# -- our client against theirs -------------------------------------------------------------


@pytest.fixture
def nginx(kernel: KernelLink, certs: Path, tmp_path: Path) -> Iterator[int]:
    """nginx serving ``certs``'s site over TLS (a.pem) on ``kernel.peer_host``; its port."""
    need_tool("nginx")
    port = kernel.free_port()
    os.chmod(tmp_path, 0o755)
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        # as root, the worker would run as nobody, which cannot enter pytest's 0700 tmp
        ("user root root;\n" if os.geteuid() == 0 else "")
        + f"worker_processes 1;\ndaemon off;\npid {tmp_path}/nginx.pid;\n"
        f"error_log {tmp_path}/error.log;\nevents {{ worker_connections 64; }}\n"
        "http {\n  access_log off;\n"
        f"  client_body_temp_path {tmp_path};\n  proxy_temp_path {tmp_path};\n"
        f"  fastcgi_temp_path {tmp_path};\n"
        f"  server {{\n    listen {kernel.peer_host}:{port} ssl;\n    root {certs / 'site'};\n"
        f"    ssl_certificate {certs / 'a.crt'};\n    ssl_certificate_key {certs / 'a.key'};\n"
        "    ssl_protocols TLSv1.2 TLSv1.3;\n  }\n}\n"
    )
    proc = subprocess.Popen(
        kernel.argv(
            "nginx", "-e", str(tmp_path / "error.log"), "-c", str(conf), "-p", str(tmp_path)
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_listening(kernel, port, proc)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _wait_listening(kernel: KernelLink, port: int, proc: subprocess.Popen[bytes]) -> None:
    """Poll (from where the peers live) until ``kernel.peer_host:port`` accepts; raise
    with the peer's stderr if it exits, or after 15 seconds."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            assert proc.stderr is not None
            raise AssertionError(f"the peer exited: {proc.stderr.read().decode(errors='replace')}")
        with kernel.inside():
            probe = socket.socket()
        try:
            with probe:
                probe.settimeout(1)
                probe.connect((kernel.peer_host, port))
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listens on {kernel.peer_host}:{port}")


async def test_our_client_against_nginx(
    net: backends.Backend, kernel: KernelLink, certs: Path, nginx: int
) -> None:
    url = f"https://{kernel.peer_host}:{nginx}"  # the certificate names the address too
    async with Client(net, cafile=str(certs / "ca.pem")) as c:
        for _ in range(3):
            r = await c.get(url + "/big.bin")
            assert r.status == 200 and r.content == BIG
        r = await c.get(url + "/")
        assert r.content == b"hello over tls\n"
        assert c.connections_opened == 1  # keep-alive over TLS
        [pool] = c._pools.values()
        assert pool.session is not None  # nginx's ticket, for the next connection
    # c.test pinned to nginx's address (curl's --resolve): a.pem does not name it
    pinned = _Pinned(net, [("c.test", nginx, kernel.peer_host)])
    async with Client(net, cafile=str(certs / "ca.pem"), resolver=pinned) as c:
        with pytest.raises(backends.CertificateError, match="another host"):
            await c.get(f"https://c.test:{nginx}/")


@pytest.mark.parametrize("version", ["1.2", "1.3"])
async def test_our_client_against_openssl_s_server(
    net: backends.Backend, kernel: KernelLink, certs: Path, version: str
) -> None:
    need_tool("openssl")
    port = kernel.free_port()
    proc = subprocess.Popen(
        kernel.argv(
            *("openssl", "s_server", "-accept", f"{kernel.peer_host}:{port}", "-www"),
            *("-cert", str(certs / "a.pem"), f"-tls{version.replace('.', '_')}"),
            *("-alpn", "http/1.1"),
        ),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        await net.run_in_thread(_wait_listening, kernel, port, proc)
        async with Client(net, cafile=str(certs / "ca.pem")) as c:
            r = await c.get(f"https://{kernel.peer_host}:{port}/")
        assert r.status == 200
        assert f"New, TLSv{version}, Cipher is" in r.text  # s_server's status page
    finally:
        proc.terminate()
        proc.wait(timeout=10)


async def test_curl_http2_when_the_server_offers_it(
    net: backends.Backend, kernel: KernelLink, certs: Path
) -> None:
    """``Server(tls=, http2=True)`` offers ``h2`` first (RFC 9113 3.2) and serves it through
    cohttp.h2; the default offers only ``http/1.1``, so curl stays on HTTP/1.1 there."""
    need_tool("curl")
    common = ["curl", "-sS", "--max-time", "20", "--cacert", str(certs / "ca.pem"), "--http2"]
    common += ["-w", "%{http_version}\n"]
    for http2, version in ((True, "2"), (False, "1.1")):
        context = tls.server_context(str(certs / "a.pem"))
        server = Server(_app, tls=context, http2=http2)
        async with running(net, server, kernel.host) as (_, port):
            pin = ["--resolve", f"a.test:{port}:{kernel.host}"]
            urls = [f"https://a.test:{port}/one", f"https://a.test:{port}/two"]
            done = await _run(net, kernel, *common, *pin, *urls)
            assert done.returncode == 0, done.stderr
            assert done.stdout == f"https a.test /one\n{version}\nhttps a.test /two\n{version}\n"
        assert server.requests_served == 2  # counted once the connection is over
