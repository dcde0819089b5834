"""``serve`` on the kernel adapters (asyncio, uvloop, trio) both ways: in
``recvmmsg``/``sendmmsg`` batches (:mod:`backends._mmsg`, Linux) and in the
``recvfrom``/``sendto`` loop other platforms get; and the batches' edges: IPv6 sources,
the largest datagram, the handler's outcomes, a reply that cannot be sent."""

from __future__ import annotations

import ctypes
import errno
import socket

import pytest

from backends import Backend, _mmsg, testing
from backends.errors import AddressUnavailable

needs_batches = pytest.mark.skipif(not _mmsg.AVAILABLE, reason="recvmmsg/sendmmsg: Linux only")


def _kernel(backend: Backend) -> None:
    if backend.name == "mirage":
        pytest.skip("the mirage stack reads its own frames, not kernel sockets")


@pytest.mark.parametrize(
    "check",
    [testing.check_udp_serve, testing.check_udp_serve_yields_and_can_be_cancelled],
    ids=["serve", "yields"],
)
async def test_serve_without_batches(
    backend: Backend, check: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    _kernel(backend)
    monkeypatch.setattr(_mmsg, "AVAILABLE", False)
    await check(backend)  # type: ignore[operator]


async def _serve_and_ask(
    backend: Backend, host: str, queries: list[bytes], handler: object
) -> list[tuple[bytes, tuple[str, int]]]:
    """Serve on ``host`` with ``handler``, send ``queries`` and then ``b"end"`` from a
    client there, and return the replies up to the echo of ``b"end"`` (which ``handler``
    must give)."""
    server = await backend.udp_bind(host, 0)
    got: list[tuple[bytes, tuple[str, int]]] = []
    async with server, await backend.udp_bind(host, 0) as client, backend.task_group() as tg:
        tg.start_soon(server.serve, handler)
        with backend.fail_after(5):
            for query in [*queries, b"end"]:
                await client.send(query, server.address)
            while not got or got[-1][0] != b"end":
                got.append(await client.recv())
        tg.cancel_scope.cancel()
    return got


@needs_batches
async def test_ipv6_sources_reach_the_handler_and_replies_reach_them(backend: Backend) -> None:
    _kernel(backend)
    sources: list[tuple[str, int]] = []

    def handler(data: bytes, source: tuple[str, int]) -> bytes:
        sources.append(source)
        return data

    try:
        got = await _serve_and_ask(backend, "::1", [b"a", b"b"], handler)
    except AddressUnavailable:
        pytest.skip("no IPv6 loopback here")
    assert [data for data, _ in got] == [b"a", b"b", b"end"]
    assert len(set(sources)) == 1 and sources[0][0] == "::1"
    assert {address for _, address in got} == {got[0][1]}


@needs_batches
async def test_the_largest_datagram_arrives_whole(backend: Backend) -> None:
    _kernel(backend)
    big = bytes(range(256)) * 255 + b"x" * 227  # 65507 bytes: IPv4's largest UDP payload
    assert len(big) == 65507
    seen: list[bytes] = []

    def handler(data: bytes, source: tuple[str, int]) -> bytes:
        seen.append(data)
        return b"%d" % len(data) if data != b"end" else data

    got = await _serve_and_ask(backend, "127.0.0.1", [big, b"small"], handler)
    assert seen[0] == big
    assert [data for data, _ in got] == [b"65507", b"5", b"end"]


@needs_batches
async def test_each_handler_outcome_costs_its_datagram_only(backend: Backend) -> None:
    _kernel(backend)

    def handler(data: bytes, source: tuple[str, int]) -> bytes | None:
        if data == b"boom":
            raise RuntimeError("a handler bug")
        if data == b"quiet":
            return None
        if data == b"huge":
            return b"x" * 70000  # more than a datagram can carry
        return data.upper() if data != b"end" else data

    queries = [b"one", b"boom", b"two", b"quiet", b"huge", b"three"]
    got = await _serve_and_ask(backend, "127.0.0.1", queries * 30, handler)
    assert [data for data, _ in got] == [b"ONE", b"TWO", b"THREE"] * 30 + [b"end"]


@needs_batches
def test_a_reply_refused_by_the_kernel_is_dropped_and_the_rest_go() -> None:
    """``sendmmsg`` stops at a reply that fails (EPERM from a firewall, say): that one is
    dropped, the ones after it are still sent, nothing is left over."""
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client,
    ):
        server.bind(("127.0.0.1", 0))
        server.setblocking(False)
        client.bind(("127.0.0.1", 0))
        client.settimeout(5)
        batch = _mmsg.DatagramBatch(server, 8)
        real = batch._sendmmsg
        calls: list[int] = []

        def sendmmsg(fd: int, vector: int, count: int, flags: int) -> int:
            calls.append(count)
            if len(calls) == 2:  # the second reply of the vector fails
                ctypes.set_errno(errno.EPERM)
                return -1
            return int(real(fd, vector, 1, flags))

        batch._sendmmsg = sendmmsg
        for i in range(4):
            client.sendto(b"q%d" % i, server.getsockname())
        count = 0
        for _ in range(50):  # until the kernel has queued all four (loopback: at once)
            count, unsent = batch.answer(lambda data, source: data.upper(), 65507)
            if count:
                break
        assert count == 4 and unsent == []
        assert calls == [4, 3, 2, 1]  # one sent, one refused, then one and one
        assert [client.recvfrom(100)[0] for _ in range(3)] == [b"Q0", b"Q2", b"Q3"]


@needs_batches
def test_nothing_waiting_reads_nothing() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server:
        server.bind(("127.0.0.1", 0))
        server.setblocking(False)
        batch = _mmsg.DatagramBatch(server, 4)
        assert batch.answer(lambda data, source: data, 65507) == (0, [])
