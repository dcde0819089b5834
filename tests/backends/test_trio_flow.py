"""The trio adapter's read and write paths: a read after one that emptied the kernel's
queue waits first (no recv that fails with EAGAIN), and still keeps trio's rules: every
read and write checks for cancellation, one that never waits yields now and then, and
close wakes a reader waiting on that path."""

from __future__ import annotations

import socket
from typing import Any

import pytest
import trio
import trio.testing

import backends
from backends import BusyFlow, ClosedFlow
from backends._common import YIELD_EVERY
from backends.trio_backend import TrioFlow


class _CountingSocket:
    """A socket stand-in that counts the recvs that found nothing and the sends that
    found no room (EAGAIN)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.recvs = 0
        self.empty_recvs = 0
        self.sends = 0
        self.full_sends = 0

    def send(self, data: Any) -> int:
        self.sends += 1
        try:
            return self.sock.send(data)
        except BlockingIOError:
            self.full_sends += 1
            raise

    def recv_into(self, buffer: Any, size: int) -> int:
        self.recvs += 1
        try:
            return self.sock.recv_into(buffer, size)
        except BlockingIOError:
            self.empty_recvs += 1
            raise

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sock, name)


class _CountingWaits:
    """Counts trio.lowlevel.wait_readable calls (the adapter looks it up on each wait)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.waits = 0
        real = trio.lowlevel.wait_readable

        async def wait_readable(fd: Any) -> None:
            self.waits += 1
            await real(fd)

        monkeypatch.setattr(trio.lowlevel, "wait_readable", wait_readable)


async def _pair(net: backends.Backend) -> tuple[backends.Listener, TrioFlow, TrioFlow]:
    listener = await net.tcp_listen("127.0.0.1", 0)
    client = await net.tcp_connect(*listener.address)
    server = await listener.accept()
    assert isinstance(client, TrioFlow) and isinstance(server, TrioFlow)
    return listener, client, server


async def _close(*closables: Any) -> None:
    for c in closables:
        await c.close()


def test_an_exchange_waits_once_per_request_and_never_recvs_in_vain(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    counting = _CountingWaits(monkeypatch)

    async def main(net: backends.Backend) -> None:
        listener, client, server = await _pair(net)
        sock = _CountingSocket(server._sock)
        server._sock = sock  # type: ignore[assignment]

        async def answer() -> None:
            while data := await server.read():
                await server.write(data.upper())

        async with trio.open_nursery() as nursery:
            nursery.start_soon(answer)
            for i in range(50):
                await client.write(b"ping %d" % i)
                assert await client.read() == b"PING %d" % i
            await client.shutdown_write()
        # The first read may try before the request is there; every later one waits
        # first, since the read before it emptied the queue.
        assert sock.empty_recvs <= 1
        assert sock.recvs - sock.empty_recvs == 51  # 50 requests and the end
        assert counting.waits >= 50
        server._sock = sock.sock
        await _close(client, server, listener)

    backends.run(main, backend="trio")


def test_reads_that_fill_the_buffer_try_the_kernel_first(monkeypatch: pytest.MonkeyPatch) -> None:
    counting = _CountingWaits(monkeypatch)

    async def main(net: backends.Backend) -> None:
        listener, client, server = await _pair(net)
        await client.write(b"x" * 3000)  # on loopback: in the server's socket on return
        counting.waits = 0
        for _ in range(3):
            assert await server.read(1000) == b"x" * 1000  # each one fills the ask
        assert counting.waits == 0
        # The next read got less than it asked (the queue is empty): the one after
        # that waits first, and still gets what arrives meanwhile.
        await client.write(b"abc")
        assert await server.read(1000) == b"abc"
        await client.write(b"def")
        assert await server.read(1000) == b"def"
        assert counting.waits == 1
        await _close(client, server, listener)

    backends.run(main, backend="trio")


def test_a_reader_waiting_first_is_cancelled_and_the_flow_stays_usable() -> None:
    async def main(net: backends.Backend) -> None:
        listener, client, server = await _pair(net)
        await client.write(b"one")
        assert await server.read() == b"one"  # emptied the queue: next read waits first
        with trio.move_on_after(0.05) as scope:
            await server.read()
        assert scope.cancelled_caught
        await client.write(b"two")
        assert await server.read() == b"two"
        await _close(client, server, listener)

    backends.run(main, backend="trio")


def test_close_and_a_second_reader_reach_a_reader_waiting_first() -> None:
    async def main(net: backends.Backend) -> None:
        listener, client, server = await _pair(net)
        await client.write(b"one")
        assert await server.read() == b"one"
        failures: list[BaseException] = []

        async def reader() -> None:
            try:
                await server.read()
            except ClosedFlow as exc:
                failures.append(exc)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(reader)
            await trio.testing.wait_all_tasks_blocked()
            with pytest.raises(BusyFlow):
                await server.read()
            await server.close()
        assert len(failures) == 1
        await _close(client, listener)

    backends.run(main, backend="trio")


def test_a_cancelled_scope_stops_a_read_whose_bytes_are_ready() -> None:
    async def main(net: backends.Backend) -> None:
        listener, client, server = await _pair(net)
        await client.write(b"kept")
        with trio.CancelScope() as scope:
            scope.cancel()
            await server.read()
        assert scope.cancelled_caught
        with trio.CancelScope() as scope:
            scope.cancel()
            await server.write(b"never")
        assert scope.cancelled_caught
        assert await server.read() == b"kept"  # the cancelled read took nothing
        await server.shutdown_write()
        assert await client.read() == b""  # nor did the cancelled write send anything
        await _close(client, server, listener)

    backends.run(main, backend="trio")


def test_a_flow_that_never_waits_lets_other_tasks_run() -> None:
    async def main(net: backends.Backend) -> None:
        listener, client, server = await _pair(net)
        await client.write(b"y" * (8 * YIELD_EVERY))
        ran = 0

        async def other() -> None:
            nonlocal ran
            while True:
                ran += 1
                await trio.lowlevel.checkpoint()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(other)
            await trio.lowlevel.checkpoint()
            before = ran
            for _ in range(4 * YIELD_EVERY):  # every one of them finds its byte ready
                assert await server.read(1) == b"y"
                await server.write(b"z")  # and the kernel takes every write at once
            assert ran - before >= 4  # yielded every YIELD_EVERY operations
            nursery.cancel_scope.cancel()
        await _close(client, server, listener)

    backends.run(main, backend="trio")


@pytest.mark.parametrize("host", ["127.0.0.1", "0.0.0.0"])
def test_an_accepted_flow_knows_both_addresses(host: str) -> None:
    async def main(net: backends.Backend) -> None:
        listener = await net.tcp_listen(host, 0)
        client = await net.tcp_connect("127.0.0.1", listener.address[1])
        server = await listener.accept()
        assert isinstance(server, TrioFlow)
        assert server.local == client.remote == ("127.0.0.1", listener.address[1])
        assert server.remote == client.local
        await _close(client, server, listener)

    backends.run(main, backend="trio")


def test_a_large_write_the_kernel_takes_in_pieces_arrives_whole() -> None:
    async def main(net: backends.Backend) -> None:
        listener, client, server = await _pair(net)
        sock = _CountingSocket(server._sock)
        server._sock = sock  # type: ignore[assignment]
        payload = bytes(range(256)) * (16 * 1024)  # 4 MiB: more than the socket buffers
        received = bytearray()

        async def drain() -> None:
            while data := await client.read():
                received.extend(data)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(drain)
            for piece in (payload, bytearray(payload), memoryview(payload)):
                await server.write(piece)
            await server.shutdown_write()
        assert received == payload * 3
        # Each time the kernel took a part only (its buffer full), the next send waited
        # for room instead of failing with EAGAIN first: only the first send of the
        # bytearray and of the memoryview may find the buffer still full.
        assert sock.sends > 3
        assert sock.full_sends <= 2
        server._sock = sock.sock
        await _close(client, server, listener)

    backends.run(main, backend="trio")
