"""Our client against a plain kernel-socket HTTP server (stdlib ``socket`` in a thread).

The server is deliberately dumb and written here byte by byte, so the client is checked
against framings it chooses: Content-Length, chunked with trailers, close-delimited,
HTTP/1.0, an interim 100, a server that closes idle keep-alive connections, and garbage.
On mirage the server socket lives in the namespace whose TAP device our stack owns (the
``kernel`` fixture; needs root).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator

import pytest

import backends
from cohttp.client import Client, RemoteProtocolError
from tests.peers import KernelLink

pytestmark = pytest.mark.interop

Responder = Callable[[bytes], tuple[bytes, bool]]  # request head -> (answer, then close?)


@pytest.fixture
def net(backend: backends.Backend, kernel: KernelLink) -> backends.Backend:
    """The backend under test, whose client reaches kernel sockets at ``kernel.peer_host``."""
    return backend


@contextlib.contextmanager
def kernel_server(kernel: KernelLink, respond: Responder) -> Iterator[tuple[str, int, list[int]]]:
    """A thread serving each connection with ``respond``; yields host, port, accept count."""
    with kernel.inside():
        listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((kernel.peer_host, 0))
    listener.listen(16)
    accepted: list[int] = [0]
    stop = threading.Event()

    def handle(conn: socket.socket) -> None:
        buf = b""
        with conn:
            while not stop.is_set():
                while b"\r\n\r\n" not in buf:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buf += data
                head, _, buf = buf.partition(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                while len(buf) < length:
                    buf += conn.recv(65536)
                body, buf = buf[:length], buf[length:]
                answer, close = respond(head + b"\r\n\r\n" + body)
                conn.sendall(answer)
                if close:
                    return

    def accept_loop() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            accepted[0] += 1
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept_loop, daemon=True)
    thread.start()
    try:
        yield kernel.peer_host, listener.getsockname()[1], accepted
    finally:
        stop.set()
        thread.join(2)
        listener.close()


def fixed(answer: bytes, close: bool = False) -> Responder:
    return lambda request: (answer, close)


async def test_content_length_keep_alive(net: backends.Backend, kernel: KernelLink) -> None:
    with kernel_server(kernel, fixed(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")) as (
        host,
        port,
        accepted,
    ):
        async with Client(net) as client:
            for _ in range(3):
                r = await client.get(f"http://{host}:{port}/x")
                assert r.status == 200 and r.content == b"hello"
        assert accepted[0] == 1


async def test_chunked_with_trailers(net: backends.Backend, kernel: KernelLink) -> None:
    answer = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"4;ext=1\r\nWiki\r\n5\r\npedia\r\n0\r\nX-Checksum: 42\r\n\r\n"
    )
    with kernel_server(kernel, fixed(answer)) as (host, port, _):
        async with Client(net) as client, client.stream("GET", f"http://{host}:{port}/") as r:
            assert await r.read() == b"Wikipedia"
            assert r.trailers["x-checksum"] == "42"


async def test_close_delimited_and_http10(net: backends.Backend, kernel: KernelLink) -> None:
    with kernel_server(kernel, fixed(b"HTTP/1.0 200 OK\r\n\r\nuntil the end", close=True)) as (
        host,
        port,
        accepted,
    ):
        async with Client(net) as client:
            for _ in range(2):
                r = await client.get(f"http://{host}:{port}/")
                assert r.content == b"until the end" and r.version == "HTTP/1.0"
        assert accepted[0] == 2  # no reuse of a close-delimited connection


async def test_interim_100_then_final(net: backends.Backend, kernel: KernelLink) -> None:
    answer = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok"
    with kernel_server(kernel, fixed(answer)) as (host, port, _):
        async with Client(net) as client:
            r = await client.post(f"http://{host}:{port}/", body=b"data")
            assert r.status == 201 and r.content == b"ok"


async def test_request_bytes_on_the_wire(net: backends.Backend, kernel: KernelLink) -> None:
    seen: list[bytes] = []

    def record(request: bytes) -> tuple[bytes, bool]:
        seen.append(request)
        return b"HTTP/1.1 204 No Content\r\n\r\n", False

    with kernel_server(kernel, record) as (host, port, _):
        async with Client(net, headers={"x-default": "1"}) as client:
            await client.post(
                f"http://{host}:{port}/p?q=1", body=b"abc", headers={"content-type": "text/plain"}
            )
    head, _, body = seen[0].partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST /p?q=1 HTTP/1.1" and body == b"abc"
    fields = {ln.split(b": ")[0].lower(): ln.split(b": ")[1] for ln in lines[1:]}
    assert fields[b"host"] == f"{host}:{port}".encode() and fields[b"content-length"] == b"3"
    assert fields[b"x-default"] == b"1" and fields[b"user-agent"].startswith(b"cohttp/")


async def test_server_closing_idle_connection_is_retried(
    net: backends.Backend, kernel: KernelLink
) -> None:
    # Answers, then closes without saying so: the pooled connection is stale next time.
    with kernel_server(
        kernel, fixed(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", close=True)
    ) as (
        host,
        port,
        accepted,
    ):
        async with Client(net) as client:
            assert (await client.get(f"http://{host}:{port}/")).content == b"ok"
            await net.sleep(0.05)
            assert (await client.get(f"http://{host}:{port}/")).content == b"ok"
        assert accepted[0] == 2


async def test_garbage_is_a_protocol_error(net: backends.Backend, kernel: KernelLink) -> None:
    with kernel_server(kernel, fixed(b"SSH-2.0-OpenSSH\r\n\r\n", close=True)) as (host, port, _):
        async with Client(net) as client:
            with pytest.raises(RemoteProtocolError, match="status line"):
                await client.get(f"http://{host}:{port}/")
