"""The trio adapter's read and write paths: a flow whose peer answers each response
learns to wait first (no recv that fails with EAGAIN) and one whose peer got ahead to
try the kernel first; a write the kernel took in part waits for room. Trio's rules still
hold: every read and write checks for cancellation, one that never waits yields now and
then, and close (or a second reader) reaches a reader waiting first."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import pytest
import trio
import trio.testing

import backends
from backends import BusyFlow, ClosedFlow
from backends._common import YIELD_EVERY
from backends.trio_backend import MISSES_TO_WAIT, PROBE_EVERY, TrioFlow, _flusher


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


async def _write_out(flow: TrioFlow, data: bytes) -> None:
    """Write and yield. A task's second write in one step of trio's scheduler is held to
    the end of the step (the flusher); these tests drive both ends from one task and want
    the bytes in the peer's socket before its read."""
    await flow.write(data)
    await trio.lowlevel.checkpoint()


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
            await _write_out(client, piece)
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
            await _write_out(client, b"%d" % i)
            assert await server.read() == b"%d" % i
        assert 1 <= counting.waits <= PROBE_EVERY  # until a read tried first, and found
        counting.waits = 0
        for i in range(3 * PROBE_EVERY):
            await _write_out(client, b"%d" % i)
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
                # over loopback the bytes are in the server's queue once send returns,
                # and a yield sends what the step held (see _write_out)
                await client.write_before(net.now() + 30, b"ping")
                await trio.lowlevel.checkpoint()
                assert await server.read_before(net.now() + 30) == b"ping"
        finally:
            monkeypatch.setattr(trio, "CancelScope", real)
        assert scopes == 0
        await _close(client, server, listener)

    backends.run(main, backend="trio")


# -- a task's writes held to the end of its step (_Flusher) --------------------------------


async def _mark_step(flow: TrioFlow) -> None:
    """Make the next small writes of this task in this step held: an empty write goes
    first (sent at once, the step's first), and no yield of the pacing comes between."""
    await flow.write(b"")
    flow._quick = 0


async def _read_all(flow: TrioFlow, size: int) -> bytes:
    got = b""
    while len(got) < size:
        chunk = await flow.read()
        assert chunk, f"EOF after {len(got)} of {size} bytes"
        got += chunk
    return got


def _fill(flow: TrioFlow) -> bytes:
    """Send raw bytes until the kernel refuses more (the peer does not read); return them."""
    sent = []
    chunk = b"f" * 65536
    while True:
        try:
            n = flow._sock.send(chunk)
        except BlockingIOError:
            return b"".join(sent)
        sent.append(chunk[:n])


async def _until(condition: Callable[[], bool]) -> None:
    with trio.fail_after(5):
        while not condition():
            await trio.sleep(0.001)


def test_a_tasks_later_small_writes_in_a_step_are_held_to_its_end_and_sent_together() -> None:
    """A task's first write in a step of trio's scheduler is sent at once; its later
    writes up to HOLD_LIMIT, on a flow with nothing unsent, are sent when the step ends
    (the task yields), in order, in one send."""

    async def main(net: backends.Backend) -> None:
        listener, client, server = await _pair(net)
        counting = _CountingSocket(client._sock)
        client._sock = counting  # type: ignore[assignment]
        await trio.lowlevel.checkpoint()  # a fresh step
        await client.write(b"alone")
        assert counting.sends == 1 and client._held is None
        await client.write(b"head ")
        buffer = bytearray(b"body")
        await client.write(buffer)  # copied when held: the caller may reuse it
        buffer[:] = b"XXXX"
        assert counting.sends == 1 and client._held is not None
        assert _flusher().installed  # as an instrument of the run, while writes are held
        await trio.lowlevel.checkpoint()  # the step ends: the flusher sends
        assert counting.sends == 2 and client._held is None
        await client.write(b"!")  # the first of a new step: at once
        assert counting.sends == 3 and client._held is None
        await trio.lowlevel.checkpoint()  # a pass that held nothing: the hook goes
        assert not _flusher().installed
        assert await _read_all(server, 15) == b"alonehead body!"
        client._sock = counting.sock
        await _close(client, server, listener)

    backends.run(main, backend="trio")


def test_held_bytes_go_first_and_close_and_abort_send_them() -> None:
    async def main(net: backends.Backend) -> None:
        listener, client, server = await _pair(net)
        big = bytes(range(256)) * 1024  # above HOLD_LIMIT: sent at once, after the held
        await _mark_step(client)
        await client.write(b"first")
        assert client._held is not None
        await client.write(big)
        assert client._held is None
        await client.write(b"last")
        assert client._held is not None
        await client.close()  # sends what is held
        got = b""
        while chunk := await server.read():
            got += chunk
        assert got == b"first" + big + b"last"
        await server.close()

        client2 = await net.tcp_connect(*listener.address)
        server2 = await listener.accept()
        await _mark_step(client2)
        await client2.write(b"before the reset")
        assert client2._held is not None
        client2.abort()  # what write would have sent before, the kernel has
        got = b""
        with pytest.raises(backends.NetworkError):
            while chunk := await server2.read():
                got += chunk
        assert got == b"before the reset"
        await _close(server2, listener)

    backends.run(main, backend="trio")


def test_what_the_kernel_refuses_at_the_flush_is_sent_as_the_peer_reads() -> None:
    """A peer that stopped reading: the flusher's send finds no room, a system task sends
    the held bytes once there is; a write meanwhile goes after them and returns when all
    is handed over; a close meanwhile still delivers everything, then the EOF."""

    async def main(net: backends.Backend) -> None:
        listener, client, server = await _pair(net)
        filler = _fill(client)
        await _mark_step(client)  # the kernel takes nothing, but the write was made
        await client.write(b"held")
        await trio.lowlevel.checkpoint()  # the flush finds no room: the drain sends
        assert client._drain is not None and client._held is None
        async with trio.open_nursery() as nursery:
            nursery.start_soon(client.write, b" then more")
            await _until(lambda: client._unsent.endswith(b" then more"))
            expected = filler + b"held then more"
            assert await _read_all(server, len(expected)) == expected
        assert client._drain is None  # the write returned once the drain was done

        filler = _fill(client)
        await _mark_step(client)
        await client.write(b"last words")
        await trio.lowlevel.checkpoint()
        assert client._drain is not None
        await client.close()  # the socket stays open until the drain is done
        with pytest.raises(ClosedFlow):
            await client.write(b"after close")
        got = b""
        while chunk := await server.read():
            got += chunk
        assert got == filler + b"last words"
        await _close(server, listener)

    backends.run(main, backend="trio")


def test_a_flush_that_fails_fails_the_next_read_and_write() -> None:
    async def main(net: backends.Backend) -> None:
        listener, client, server = await _pair(net)
        server.abort()  # the peer resets the connection
        await trio.sleep(0.05)  # the RST arrives
        # As if a write had gone out earlier in this step (one now would meet the reset).
        task = trio.lowlevel.current_task()
        client._step_task, client._step = task, task._schedule_points
        await client.write(b"into the void")  # held: it returns
        await trio.lowlevel.checkpoint()  # the flush fails
        with pytest.raises(backends.NetworkError):
            await client.write(b"again")
        with pytest.raises(backends.NetworkError):
            await client.read()
        await _close(client, listener)

    backends.run(main, backend="trio")


def test_abort_while_the_drain_sends_drops_the_rest() -> None:
    async def main(net: backends.Backend) -> None:
        listener, client, server = await _pair(net)
        _fill(client)
        await _mark_step(client)
        await client.write(b"never read")
        await trio.lowlevel.checkpoint()
        assert client._drain is not None
        client.abort()
        await _until(lambda: client._drain is None)
        assert client._sock.fileno() < 0 and not client._unsent
        await _close(server, listener)

    backends.run(main, backend="trio")
