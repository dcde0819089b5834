"""backends.tls against OpenSSL's own tools (the Debian openssl package), over loopback.

``openssl s_client`` against our TLS server and our TLS client against ``openssl s_server``:
TLS 1.2 and 1.3, SNI choosing the certificate, ALPN, close_notify seen by both sides, and a
wrong host name refused with a clear error. On mirage, openssl runs inside the namespace
whose TAP device our stack owns (the ``kernel`` fixture; needs root).
"""

from __future__ import annotations

import socket
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

import backends
from backends import Flow, tls
from tests.conftest import need_tool
from tests.peers import KernelLink

pytestmark = pytest.mark.interop

trustme = pytest.importorskip("trustme", reason="trustme (the test extra) makes the certificates")


@pytest.fixture
def net(backend: backends.Backend, kernel: KernelLink) -> backends.Backend:
    """The backend under test, meeting openssl on ``kernel``."""
    need_tool("openssl")
    return backend


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ca.pem, a.pem (a.test and 127.0.0.1) and b.pem (b.test), chain and key in one file."""
    directory = tmp_path_factory.mktemp("openssl")
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(directory / "ca.pem"))
    ca.issue_cert("a.test", "127.0.0.1").private_key_and_cert_chain_pem.write_to_path(
        str(directory / "a.pem")
    )
    ca.issue_cert("b.test").private_key_and_cert_chain_pem.write_to_path(str(directory / "b.pem"))
    return directory


def _our_server_context(certs: Path, version: str) -> ssl.SSLContext:
    b = tls.server_context(str(certs / "b.pem"), alpn=["http/1.1"], maximum_version=version)
    return tls.server_context(
        str(certs / "a.pem"),
        alpn=["http/1.1"],
        choose=lambda name: b if name == "b.test" else None,
        maximum_version=version,
    )


async def _s_client(
    net: backends.Backend,
    kernel: KernelLink,
    port: int,
    certs: Path,
    version: str,
    name: str,
    verify_name: str,
) -> subprocess.CompletedProcess[str]:
    command = [
        "openssl", "s_client", "-connect", f"{kernel.host}:{port}", f"-tls{version.replace('.', '_')}",
        "-servername", name, "-alpn", "http/1.1", "-CAfile", str(certs / "ca.pem"),
        "-verify_hostname", verify_name, "-verify_return_error", "-msg", "-ign_eof",
    ]  # fmt: skip
    return await net.run_in_thread(
        lambda: subprocess.run(
            kernel.argv(*command),
            input="ping\n",
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    )


@pytest.mark.parametrize("version", ["1.2", "1.3"])
async def test_s_client_against_our_server(
    net: backends.Backend, kernel: KernelLink, certs: Path, version: str
) -> None:
    seen: list[tuple[str | None, str | None, str | None, bytes]] = []

    async def handler(flow: Flow) -> None:
        secure = await tls.wrap_server(flow, _our_server_context(certs, version))
        line = b""
        while not line.endswith(b"\n"):
            chunk = await secure.read()
            assert chunk
            line += chunk
        await secure.write(line.upper())
        await secure.shutdown_write()  # our close_notify: s_client prints it and answers
        seen.append((secure.version, secure.alpn, secure.server_hostname, await secure.read()))

    async with await net.tcp_listen(kernel.host, 0) as listener, net.task_group() as tg:
        tg.start_soon(listener.serve, handler)
        port = listener.address[1]
        for name in ("a.test", "b.test"):
            result = await _s_client(net, kernel, port, certs, version, name, name)
            out = result.stdout + result.stderr
            assert result.returncode == 0, out
            assert f"Protocol  : TLSv{version}" in out
            assert "ALPN protocol: http/1.1" in out
            assert "Verify return code: 0 (ok)" in out  # b.test only verifies with b.pem
            assert "PING" in out
            assert f"<<< TLS {version}, Alert [length 0002], warning close_notify" in out
        tg.cancel_scope.cancel()
    assert seen == [
        (f"TLSv{version}", "http/1.1", "a.test", b""),
        (f"TLSv{version}", "http/1.1", "b.test", b""),
    ]


async def test_s_client_refuses_a_wrong_host_name(
    net: backends.Backend, kernel: KernelLink, certs: Path
) -> None:
    failures: list[BaseException] = []

    async def handler(flow: Flow) -> None:
        try:
            await tls.wrap_server(flow, _our_server_context(certs, "1.3"))
        except backends.NetworkError as exc:
            failures.append(exc)

    async with await net.tcp_listen(kernel.host, 0) as listener, net.task_group() as tg:
        tg.start_soon(listener.serve, handler)
        result = await _s_client(
            net, kernel, listener.address[1], certs, "1.3", "a.test", "wrong.test"
        )
        assert result.returncode != 0
        assert "hostname mismatch" in result.stdout + result.stderr
        await net.sleep(0.1)
        tg.cancel_scope.cancel()
    # Our server learns why from s_client's alert.
    assert failures and isinstance(failures[0], backends.CertificateError), failures


def _free_port(kernel: KernelLink) -> int:
    with kernel.inside():
        sock = socket.socket()
    with sock:
        sock.bind((kernel.peer_host, 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(params=["1.2", "1.3"])
def s_server(
    request: pytest.FixtureRequest, kernel: KernelLink, certs: Path
) -> Iterator[tuple[int, str]]:
    """``openssl s_server -rev`` (answers each line reversed; ``CLOSE`` ends the
    connection with close_notify) with a.pem by default and b.pem for SNI b.test."""
    need_tool("openssl")
    version: str = request.param
    port = _free_port(kernel)
    process = subprocess.Popen(
        kernel.argv(
            "openssl",
            "s_server",
            "-accept",
            f"{kernel.peer_host}:{port}",
            "-rev",
            f"-tls{version.replace('.', '_')}",
            "-cert",
            str(certs / "a.pem"),
            "-key",
            str(certs / "a.pem"),
            "-alpn",
            "http/1.1",
            "-servername",
            "b.test",
            "-cert2",
            str(certs / "b.pem"),
            "-key2",
            str(certs / "b.pem"),
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("ACCEPT"):
                break
        else:
            pytest.fail("openssl s_server did not start")
        yield port, version
    finally:
        process.kill()
        process.wait()


async def test_our_client_against_s_server(
    net: backends.Backend, kernel: KernelLink, certs: Path, s_server: tuple[int, str]
) -> None:
    port, version = s_server
    context = tls.client_context(cafile=str(certs / "ca.pem"), alpn=["h2", "http/1.1"])
    for name, alpn in (("a.test", "http/1.1"), ("b.test", None)):
        with net.fail_after(20):
            flow = await tls.connect(
                net, kernel.peer_host, port, context=context, server_hostname=name
            )
            async with flow:
                assert flow.version == f"TLSv{version}"
                assert flow.peer_certificate is not None
                assert flow.peer_certificate["subjectAltName"][0] == ("DNS", name)
                # s_server sets ALPN on its first context only, not on -cert2's.
                assert flow.alpn == alpn
                await flow.write(b"hello world\n")
                reply = b""
                while not reply.endswith(b"\n"):
                    reply += await flow.read()
                assert reply == b"dlrow olleh\n"
                await flow.write(b"CLOSE\n")
                assert await flow.read() == b""  # s_server's close_notify: a clean EOF


async def test_our_client_refuses_s_server_under_a_wrong_name(
    net: backends.Backend, kernel: KernelLink, certs: Path, s_server: tuple[int, str]
) -> None:
    port, _ = s_server
    context = tls.client_context(cafile=str(certs / "ca.pem"))
    with net.fail_after(20), pytest.raises(backends.CertificateError) as info:
        await tls.connect(
            net, kernel.peer_host, port, context=context, server_hostname="wrong.test"
        )
    assert "wrong.test" in str(info.value) and "another host name" in str(info.value)
