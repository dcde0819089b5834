"""The trio adapter's read and write paths: a flow whose peer answers each response
learns to wait first (no recv that fails with EAGAIN) and one whose peer got ahead to
try the kernel first; a write the kernel took in part waits for room. Trio's rules still
hold: every read and write checks for cancellation, one that never waits yields now and
then, and close (or a second reader) reaches a reader waiting first."""

from __future__ import annotations

import socket
from typing import Any

import pytest
import trio
import trio.testing

import backends
from backends import BusyFlow, ClosedFlow
from backends._common import YIELD_EVERY
from backends.trio_backend import MISSES_TO_WAIT, PROBE_EVERY, TrioFlow


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


async def _train_to_wait_first(client: TrioFlow, server: TrioFlow) -> None:
    """Make ``server`` read like a server whose peer answers each response: every recv
    after one that emptied the queue finds nothing, until its reads wait first."""

    async def write_once_the_reader_waits() -> None:
        await trio.testing.wait_all_tasks_blocked()
        await client.write(b"t")

    for _ in range(MISSES_TO_WAIT + 1):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(write_once_the_reader_waits)
            assert await server.read() == b"t"


def test_a_peer_that_answers_each_response_is_waited_for_first(
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

        exchanges = 100
        async with trio.open_nursery() as nursery:
            nursery.start_soon(answer)
            for i in range(exchanges):
                await client.write(b"ping %d" % i)
                assert await client.read() == b"PING %d" % i
            await client.shutdown_write()
        assert sock.recvs - sock.empty_recvs == exchanges + 1  # and the end
        assert counting.waits >= exchanges
        # The first read and MISSES_TO_WAIT more try the kernel in vain; from then on
        # the reads wait first, trying first once in PROBE_EVERY + 1 (on base: 100).
        assert sock.empty_recvs <= 1 + MISSES_TO_WAIT + exchanges // (PROBE_EVERY + 1) + 1
        server._sock = sock.sock
        await _close(client, server, listener)

    backends.run(main, backend="trio")


def test_reads_that_find_bytes_ready_do_not_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    counting = _CountingWaits(monkeypatch)

    async def main(net: backends.Backend) -> None:
        listener, client, server = await _pair(net)
        await client.write(b"x" * 3000)  # on loopback: in the server's socket on return
        counting.waits = 0
        for _ in range(3):
            assert await server.read(1000) == b"x" * 1000  # each one fills the ask
        # A read got less than it asked (the queue is empty), and the peer sent more
        # before the next: a server behind its load. That one tries first too.
        for piece in (b"abc", b"def", b"ghi"):
            await client.write(piece)
            assert await server.read(1000) == piece
        assert counting.waits == 0
        await _close(client, server, listener)

    backends.run(main, backend="trio")


def test_a_flow_waiting_first_notices_its_peer_got_ahead(monkeypatch: pytest.MonkeyPatch) -> None:
    counting = _CountingWaits(monkeypatch)

    async def main(net: backends.Backend) -> None:
        listener, client, server = await _pair(net)
        await _train_to_wait_first(client, server)
        counting.waits = 0
        for i in range(PROBE_EVERY + 1):  # the bytes are there before every read
            await client.write(b"%d" % i)
            assert await server.read() == b"%d" % i
        assert 1 <= counting.waits <= PROBE_EVERY  # until a read tried first, and found
        counting.waits = 0
        for i in range(3 * PROBE_EVERY):
            await client.write(b"%d" % i)
            assert await server.read() == b"%d" % i
        assert counting.waits == 0  # back to trying first
        await _close(client, server, listener)

    backends.run(main, backend="trio")


def test_a_reader_waiting_first_is_cancelled_and_the_flow_stays_usable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    counting = _CountingWaits(monkeypatch)

    async def main(net: backends.Backend) -> None:
        listener, client, server = await _pair(net)
        await _train_to_wait_first(client, server)
        counting.waits = 0
        with trio.move_on_after(0.05) as scope:
            await server.read()
        assert scope.cancelled_caught and counting.waits == 1
        await client.write(b"two")
        assert await server.read() == b"two"
        await _close(client, server, listener)

    backends.run(main, backend="trio")


def test_close_and_a_second_reader_reach_a_reader_waiting_first() -> None:
    async def main(net: backends.Backend) -> None:
        listener, client, server = await _pair(net)
        await _train_to_wait_first(client, server)
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


def test_read_before_past_its_deadline_still_returns_what_is_there() -> None:
    """A flow that waits first, given a deadline already passed while bytes wait in the
    kernel: the wait times out at once, but the read returns the bytes, as on asyncio
    (only a read that finds nothing raises Timeout)."""

    async def main(net: backends.Backend) -> None:
        listener, client, server = await _pair(net)
        await _train_to_wait_first(client, server)
        assert server._misses >= MISSES_TO_WAIT  # the next read waits first
        await client.write(b"there")
        await trio.sleep(0.05)  # over loopback: in the server's queue by now
        assert await server.read_before(net.now() - 1) == b"there"
        with pytest.raises(backends.errors.Timeout):
            await server.read_before(net.now() - 1)
        await _close(client, server, listener)

    backends.run(main, backend="trio")


def test_read_and_write_before_make_no_cancel_scope_when_they_need_not_wait(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The deadline costs a cancel scope only around a wait that happens."""
    scopes = 0
    real = trio.CancelScope

    def counting(*args: Any, **kwargs: Any) -> trio.CancelScope:
        nonlocal scopes
        scopes += 1
        return real(*args, **kwargs)

    async def main(net: backends.Backend) -> None:
        listener, client, server = await _pair(net)
        monkeypatch.setattr(trio, "CancelScope", counting)
        try:
            for _ in range(20):
                # over loopback the bytes are in the server's queue once send returns
                await client.write_before(net.now() + 30, b"ping")
                assert await server.read_before(net.now() + 30) == b"ping"
        finally:
            monkeypatch.setattr(trio, "CancelScope", real)
        assert scopes == 0
        await _close(client, server, listener)

    backends.run(main, backend="trio")
