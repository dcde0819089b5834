"""The conformance kit: the contract of :mod:`backends.interface`, one check per property.

Any flow can be put through it, the way ``trio.testing.check_two_way_stream`` checks any
trio stream: give a check a factory that returns a fresh connected pair of flows, and the
runtime to run it on. ``tests/backends`` runs every check on each adapter and on TLS over
each adapter::

    from backends import testing

    async def test_my_flow(backend):
        pairs = testing.tls_pairs(testing.tcp_pairs(backend), backend, server_ctx, client_ctx)
        for check in testing.FLOW_CHECKS:
            await check(pairs, backend)

A check raises ``AssertionError`` (or the unexpected error) when the property does not
hold, and closes the flows it made either way. The checks in :data:`STACK_CHECKS` take a
whole :class:`~backends.interface.Backend` instead: listeners, connecting, UDP.
"""

from __future__ import annotations

import array
import hashlib
import os
import socket
import ssl
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from .errors import (
    AddressInUse,
    AddressUnavailable,
    BusyFlow,
    ClosedFlow,
    ConnectionRefused,
    ConnectionReset,
    MessageTooLarge,
    Timeout,
)
from .interface import Address, Backend, Flow, Runtime, SendfileFlow, Stack

PairFactory = Callable[[], Awaitable[tuple[Flow, Flow]]]
"""Returns a fresh connected pair of flows ``(a, b)``: what ``a`` writes, ``b`` reads."""

HOST = "127.0.0.1"


# -- pair factories -----------------------------------------------------------------------


def tcp_pairs(stack: Stack, host: str = HOST) -> PairFactory:
    """Pairs of TCP flows: ``a`` connects to a listener on ``host``, ``b`` is accepted."""

    async def make() -> tuple[Flow, Flow]:
        listener = await stack.tcp_listen(host, 0)
        try:
            a = await stack.tcp_connect(*listener.address, timeout=10)
            b = await listener.accept()
        finally:
            await listener.close()
        return a, b

    return make


def tls_pairs(
    pairs: PairFactory,
    runtime: Runtime,
    server_context: ssl.SSLContext,
    client_context: ssl.SSLContext,
    server_hostname: str | None = None,
) -> PairFactory:
    """Pairs of :class:`backends.tls.TLSFlow` over the pairs of ``pairs``: ``a`` is the
    client side, ``b`` the server side, both past their handshake."""
    from . import tls

    async def make() -> tuple[Flow, Flow]:
        a, b = await pairs()
        wrapped: dict[str, Flow] = {}

        async def server() -> None:
            wrapped["b"] = await tls.wrap_server(b, server_context)

        async with runtime.task_group() as tg:
            tg.start_soon(server)
            wrapped["a"] = await tls.wrap_client(a, client_context, server_hostname=server_hostname)
        return wrapped["a"], wrapped["b"]

    return make


@asynccontextmanager
async def _pair(pairs: PairFactory) -> AsyncIterator[tuple[Flow, Flow]]:
    a, b = await pairs()
    try:
        yield a, b
    finally:
        a.abort()
        b.abort()


async def _raises(error: type[BaseException], operation: Awaitable[Any]) -> BaseException:
    try:
        await operation
    except error as exc:
        return exc
    raise AssertionError(f"expected {error.__name__}")


async def _read_all(flow: Flow, max_bytes: int = 1 << 20) -> bytes:
    parts = []
    while chunk := await flow.read(max_bytes):
        parts.append(chunk)
    return b"".join(parts)


async def _read_exactly(flow: Flow, size: int) -> bytes:
    received = b""
    while len(received) < size:
        chunk = await flow.read(size - len(received))
        assert chunk, f"EOF after {len(received)} of {size} bytes"
        received += chunk
    return received


# -- flow properties ----------------------------------------------------------------------


async def check_round_trips(pairs: PairFactory, runtime: Runtime) -> None:
    """Messages of many sizes echo back intact, in order, on one flow."""
    async with _pair(pairs) as (a, b):

        async def echo() -> None:
            while data := await b.read(65536):
                await b.write(data)

        with runtime.fail_after(30):
            async with runtime.task_group() as tg:
                tg.start_soon(echo)
                for i in range(200):
                    message = b"ping %d " % i * (1 + i % 7)
                    await a.write(message)
                    assert await _read_exactly(a, len(message)) == message
                await a.shutdown_write()


async def check_write_takes_any_bytes_like_object(pairs: PairFactory, runtime: Runtime) -> None:
    """bytes, bytearray, and memoryviews of any format: every byte arrives, in order."""
    wide = array.array("i", range(100_000))  # 400,000 bytes, 4 to an item
    pieces: list[bytes | bytearray | memoryview] = [
        b"head",
        bytearray(b"mid"),
        memoryview(wide),
        memoryview(b"tail"),
    ]
    expected = b"head" + b"mid" + wide.tobytes() + b"tail"
    async with _pair(pairs) as (a, b):
        received: list[bytes] = []

        async def send() -> None:
            for piece in pieces:
                await a.write(piece)
            await a.shutdown_write()

        with runtime.fail_after(30):
            async with runtime.task_group() as tg:
                tg.start_soon(send)
                received.append(await _read_all(b))
        assert received == [expected]


async def check_bulk_transfer(
    pairs: PairFactory, runtime: Runtime, mib: int = 16, timeout: float = 120
) -> None:
    """``mib`` MiB of random bytes cross in 256 KiB writes, both ways, each byte intact."""
    payload = os.urandom(1024 * 1024)
    expected = hashlib.sha256(payload * mib).hexdigest()

    async def send_all(flow: Flow) -> None:
        view = memoryview(payload)
        for _ in range(mib):
            for start in range(0, len(view), 256 * 1024):
                await flow.write(view[start : start + 256 * 1024])
        await flow.shutdown_write()

    async def digest_all(flow: Flow, results: list[str]) -> None:
        digest = hashlib.sha256()
        total = 0
        while chunk := await flow.read(256 * 1024):
            digest.update(chunk)
            total += len(chunk)
        assert total == mib << 20, total
        results.append(digest.hexdigest())

    async with _pair(pairs) as (a, b):
        results: list[str] = []
        with runtime.fail_after(timeout):
            async with runtime.task_group() as tg:
                tg.start_soon(send_all, a)
                tg.start_soon(digest_all, b, results)
                tg.start_soon(send_all, b)
                tg.start_soon(digest_all, a, results)
        assert results == [expected, expected]


async def check_write_blocks_while_the_peer_does_not_read(
    pairs: PairFactory, runtime: Runtime
) -> None:
    """Backpressure: a writer facing a stalled reader stops, holding bounded memory; what it
    wrote then arrives intact once the reader reads."""
    chunk = b"x" * 65536
    written = 0

    async def writer(flow: Flow) -> None:
        nonlocal written
        while True:
            await flow.write(chunk)
            written += len(chunk)

    async with _pair(pairs) as (a, b):
        with runtime.move_on_after(1.0) as scope:
            await writer(b)
        assert scope.cancelled_caught, "write never blocked against a reader that never reads"
        stalled_at = written
        # Kernel socket buffers on loopback hold a few MiB; nothing may grow past that.
        assert 0 < stalled_at <= 32 * 1024 * 1024, stalled_at
        with runtime.move_on_after(0.3):
            await writer(b)
        assert written - stalled_at <= 64 * 1024 * 8, "writer kept going while stalled"
        received = 0
        with runtime.fail_after(30):
            async with runtime.task_group() as tg:
                # Sending what the cancelled write left may wait for the reader: a task.
                tg.start_soon(b.shutdown_write)
                while data := await a.read(1 << 20):
                    assert data.count(b"x") == len(data)
                    received += len(data)
        # Each of the two cancelled writes may have handed all or part of its chunk over.
        assert written <= received <= written + 2 * len(chunk), (written, received)


async def check_cancelled_write_keeps_the_stream_whole(
    pairs: PairFactory, runtime: Runtime
) -> None:
    """A write cancelled half-way leaves a prefix of its data, and the next write's bytes
    follow that prefix directly: no hole, no repeat, no torn record."""
    first = bytes(range(256)) * (32 * 4096)  # 32 MiB: more than any loopback buffers
    marker = b"after the cancelled write"
    async with _pair(pairs) as (a, b):
        with runtime.move_on_after(0.5) as scope:
            await a.write(first)
        assert scope.cancelled_caught, "a 32 MiB write to a reader that never reads finished"
        received: list[bytes] = []
        with runtime.fail_after(60):
            async with runtime.task_group() as tg:

                async def read() -> None:
                    received.append(await _read_all(b))

                tg.start_soon(read)
                await a.write(marker)
                await a.shutdown_write()
        data = received[0]
        assert data.endswith(marker), "the later write's bytes did not come last"
        prefix = data[: -len(marker)]
        assert first.startswith(prefix), "the cancelled write's bytes arrived altered"


async def check_half_close(pairs: PairFactory, runtime: Runtime) -> None:
    """After ``shutdown_write`` the peer reads EOF, and can still answer; EOF is sticky."""
    async with _pair(pairs) as (a, b):

        async def server() -> None:
            request = await _read_all(b)
            await b.write(b"got " + str(len(request)).encode())
            await b.shutdown_write()

        with runtime.fail_after(30):
            async with runtime.task_group() as tg:
                tg.start_soon(server)
                await a.write(b"a" * 100_000)
                await a.shutdown_write()
                assert await _read_all(a) == b"got 100000"
                assert await a.read() == b""
                assert await a.read() == b""


async def check_write_after_shutdown_write(pairs: PairFactory, runtime: Runtime) -> None:
    """Writing after ``shutdown_write`` raises ``ClosedFlow``; reading still works, and a
    second ``shutdown_write`` does nothing."""
    async with _pair(pairs) as (a, b):
        with runtime.fail_after(10):
            await a.shutdown_write()
            assert await b.read() == b""
            await b.write(b"still open")
            assert await _read_exactly(a, 10) == b"still open"
            await _raises(ClosedFlow, a.write(b"after FIN"))
            await a.shutdown_write()
            await a.close()


async def check_close(pairs: PairFactory, runtime: Runtime) -> None:
    """``close`` is idempotent, later reads and writes raise ``ClosedFlow``, and the peer
    reads a clean EOF."""
    async with _pair(pairs) as (a, b):
        await a.close()
        await a.close()
        await _raises(ClosedFlow, a.read())
        await _raises(ClosedFlow, a.write(b"x"))
        with runtime.fail_after(5):
            assert await b.read() == b""


async def check_close_wakes_every_waiter(pairs: PairFactory, runtime: Runtime) -> None:
    """A task blocked in ``read`` and one blocked in ``write`` both get ``ClosedFlow`` when
    a third closes the flow."""
    async with _pair(pairs) as (a, _):
        outcome: list[str] = []

        async def reader() -> None:
            await _raises(ClosedFlow, a.read())
            outcome.append("reader")

        async def writer() -> None:
            await _raises(ClosedFlow, a.write(b"w" * (32 << 20)))
            outcome.append("writer")

        with runtime.fail_after(10):
            async with runtime.task_group() as tg:
                tg.start_soon(reader)
                tg.start_soon(writer)
                await runtime.sleep(0.5)  # the reader waits; the writer fills the buffers
                await a.close()
        assert sorted(outcome) == ["reader", "writer"]


async def check_concurrent_reads_are_refused(pairs: PairFactory, runtime: Runtime) -> None:
    """A second task reading while one waits in ``read`` gets ``BusyFlow``; the first one
    is undisturbed and gets the next bytes."""
    async with _pair(pairs) as (a, b):
        got: list[bytes] = []

        async def first() -> None:
            got.append(await a.read())

        with runtime.fail_after(10):
            async with runtime.task_group() as tg:
                tg.start_soon(first)
                await runtime.sleep(0.05)
                error = await _raises(BusyFlow, a.read())
                assert "read" in str(error), error
                await b.write(b"for the first reader")
        assert got == [b"for the first reader"]


async def check_concurrent_writes_are_refused(pairs: PairFactory, runtime: Runtime) -> None:
    """A second task writing while one waits in ``write`` gets ``BusyFlow`` and sends
    nothing; the first one's bytes all arrive."""
    big = b"w" * (32 << 20)
    async with _pair(pairs) as (a, b):
        received: list[bytes] = []
        with runtime.fail_after(60):
            async with runtime.task_group() as tg:

                async def first() -> None:
                    await a.write(big)
                    await a.shutdown_write()

                tg.start_soon(first)
                await runtime.sleep(0.5)  # the first writer fills the buffers and waits
                error = await _raises(BusyFlow, a.write(b"second"))
                assert "writ" in str(error), error
                received.append(await _read_all(b))
        assert received == [big]


async def check_abort(pairs: PairFactory, runtime: Runtime) -> None:
    """``abort`` is idempotent and the peer sees a reset, not an EOF."""
    async with _pair(pairs) as (a, b):
        with runtime.fail_after(5):
            await b.write(b"hello")
            assert await _read_exactly(a, 5) == b"hello"
        a.abort()
        a.abort()
        with runtime.fail_after(5):
            try:
                while True:
                    if await b.read() == b"":
                        # Some stacks report the reset on the next write instead.
                        await b.write(b"x" * 65536)
                        await runtime.sleep(0.01)
            except ConnectionReset:
                pass


async def check_fail_after_on_read(pairs: PairFactory, runtime: Runtime) -> None:
    """``fail_after`` around a blocked read raises ``Timeout`` (a ``TimeoutError``) no
    earlier than the deadline, and the flow stays usable."""
    async with _pair(pairs) as (a, b):
        start = runtime.now()
        error = await _raises(Timeout, _read_under_deadline(a, runtime, 0.1))
        assert isinstance(error, TimeoutError)
        assert runtime.now() - start >= 0.09
        await b.write(b"after the timeout")
        with runtime.fail_after(5):
            assert await _read_exactly(a, 17) == b"after the timeout"


async def _read_under_deadline(flow: Flow, runtime: Runtime, seconds: float) -> None:
    with runtime.fail_after(seconds):
        await flow.read()


async def check_move_on_after(pairs: PairFactory, runtime: Runtime) -> None:
    """``move_on_after`` cancels a blocked read quietly; the flow stays usable."""
    async with _pair(pairs) as (a, b):
        with runtime.move_on_after(0.05) as scope:
            await a.read()
        assert scope.cancelled_caught
        with runtime.move_on_after(5) as scope:
            await b.write(b"ok")
            assert await a.read() == b"ok"
        assert not scope.cancelled_caught


async def check_cancelled_reads_leave_flows_usable(pairs: PairFactory, runtime: Runtime) -> None:
    """Cancelling a task group stops the reads blocked in it; the flows keep working."""
    made = [await pairs() for _ in range(3)]
    try:
        with runtime.fail_after(5):
            async with runtime.task_group() as tg:
                for a, _ in made:
                    tg.start_soon(a.read)
                await runtime.sleep(0.05)
                tg.cancel_scope.cancel()
            for a, b in made:
                await b.write(b"later")
                assert await _read_exactly(a, 5) == b"later"
    finally:
        for a, b in made:
            a.abort()
            b.abort()


async def check_sendfile_sends_what_the_portable_path_sends(
    pairs: PairFactory, runtime: Runtime, size: int = 3 << 20
) -> None:
    """A file range sent with the optional ``sendfile`` arrives as ``write`` would send it.

    Between two writes, in stream order, while the peer reads (the range is larger than
    the socket buffers, so ``sendfile`` waits for room); a range past the end of the file
    sends what there is and says how much. Flows without the capability (mirage, TLS) are
    checked on the portable path only: read the file, write the pieces.
    """
    content = os.urandom(size)
    offset, count = 12345, size - 12345 - 999
    with tempfile.TemporaryFile() as f:
        f.write(content)
        f.flush()
        fd = f.fileno()

        async def portable(flow: Flow, start: int, length: int) -> int:
            sent = 0
            while sent < length:
                piece = os.pread(fd, min(256 * 1024, length - sent), start + sent)
                if not piece:
                    break
                await flow.write(piece)
                sent += len(piece)
            return sent

        async def send(flow: Flow, results: list[int], use_sendfile: bool) -> None:
            await flow.write(b"head")
            if use_sendfile:
                assert isinstance(flow, SendfileFlow)
                results.append(await flow.sendfile(fd, offset, count))
                results.append(await flow.sendfile(fd, size - 10, 100))  # past the end
            else:
                results.append(await portable(flow, offset, count))
                results.append(await portable(flow, size - 10, 100))
            await flow.write(b"tail")
            await flow.shutdown_write()

        async def receive(flow: Flow, received: list[bytes]) -> None:
            received.append(await _read_all(flow, 256 * 1024))

        async with _pair(pairs) as (a, _):
            paths = [False, True] if isinstance(a, SendfileFlow) else [False]
        expected = b"head" + content[offset : offset + count] + content[-10:] + b"tail"
        for use_sendfile in paths:
            async with _pair(pairs) as (a, b):
                results: list[int] = []
                received: list[bytes] = []
                with runtime.fail_after(60):
                    async with runtime.task_group() as tg:
                        tg.start_soon(send, a, results, use_sendfile)
                        tg.start_soon(receive, b, received)
                assert results == [count, 10], (use_sendfile, results)
                assert received[0] == expected, f"sendfile={use_sendfile}: bytes differ"


async def check_sendfile_is_a_writer_and_close_wakes_it(
    pairs: PairFactory, runtime: Runtime
) -> None:
    """A ``sendfile`` blocked on a peer that does not read is the flow's one writer: a
    ``write`` meanwhile gets ``BusyFlow``; ``close`` wakes it with ``ClosedFlow``. (Flows
    without the optional capability pass.)"""
    with tempfile.TemporaryFile() as f:
        f.truncate(64 << 20)  # sparse: more than any socket buffer holds
        async with _pair(pairs) as (a, _b):
            if not isinstance(a, SendfileFlow):
                return
            outcome: list[BaseException] = []

            async def send() -> None:
                try:
                    await a.sendfile(f.fileno(), 0, 64 << 20)
                except ClosedFlow as exc:
                    outcome.append(exc)

            with runtime.fail_after(10):
                async with runtime.task_group() as tg:
                    tg.start_soon(send)
                    await runtime.sleep(0.2)  # the buffers fill; sendfile waits for room
                    await _raises(BusyFlow, a.write(b"x"))
                    await a.close()
            assert len(outcome) == 1


# -- read_before / write_before: deadlines without a cancel scope around the call -------

SLACK = 2.0
"""Seconds a ``read_before``/``write_before`` timeout may fire late on a loaded machine
(it must never fire early)."""


async def check_read_before_returns_what_comes_in_time_and_eof(
    pairs: PairFactory, runtime: Runtime
) -> None:
    """``read_before`` returns what is there, what comes before the deadline, and EOF."""
    async with _pair(pairs) as (a, b):
        await a.write(b"hello")
        assert await b.read_before(runtime.now() + 30, 100) == b"hello"

        async def later() -> None:
            await runtime.sleep(0.05)
            await a.write(b"world")
            await a.shutdown_write()

        async with runtime.task_group() as tg:
            tg.start_soon(later)
            assert await b.read_before(runtime.now() + 30, 3) == b"wor"
            assert await b.read_before(runtime.now() + 30) == b"ld"
            assert await b.read_before(runtime.now() + 30) == b""


async def check_read_before_times_out_and_loses_nothing(
    pairs: PairFactory, runtime: Runtime
) -> None:
    """``read_before`` raises ``Timeout`` no earlier than its deadline (at once for one
    already passed), and the flow is whole afterwards."""
    async with _pair(pairs) as (a, b):
        start = runtime.now()
        deadline = start + 0.1
        await _raises(Timeout, b.read_before(deadline))
        assert deadline <= runtime.now() < deadline + SLACK
        await _raises(Timeout, b.read_before(start))
        await a.write(b"after")
        with runtime.fail_after(5):
            assert await _read_exactly(b, 5) == b"after"


async def check_a_trickling_peer_cannot_extend_the_deadline(
    pairs: PairFactory, runtime: Runtime
) -> None:
    """One deadline for every read of a message: a byte every 20 ms does not extend it."""
    async with _pair(pairs) as (a, b):

        async def trickle() -> None:
            for _ in range(100):  # bounded: 100 bytes, one every 20 ms
                await a.write(b".")
                await runtime.sleep(0.02)

        got = b""

        async def read_until_timeout() -> None:
            nonlocal got
            while True:
                got += await b.read_before(deadline)

        deadline = runtime.now() + 0.3
        async with runtime.task_group() as tg:
            tg.start_soon(trickle)
            await _raises(Timeout, read_until_timeout())
            tg.cancel_scope.cancel()
        assert deadline <= runtime.now() < deadline + SLACK
        assert 0 < len(got) < 100


async def _write_after(runtime: Runtime, flow: Flow, delay: float, data: bytes) -> None:
    """Write ``data`` to ``flow`` after ``delay`` seconds (a peer that answers late)."""
    await runtime.sleep(delay)
    await flow.write(data)


async def check_an_old_deadline_does_not_wake_a_later_read(
    pairs: PairFactory, runtime: Runtime
) -> None:
    """Deadlines of reads that got their bytes are forgotten: they do not time out a
    later read with a farther deadline."""
    async with _pair(pairs) as (a, b):
        for _ in range(20):
            await a.write(b"x")
            assert await b.read_before(runtime.now() + 0.05) == b"x"
        await runtime.sleep(0.1)  # past every one of those deadlines

        async with runtime.task_group() as tg:
            tg.start_soon(_write_after, runtime, a, 0.2, b"late")
            assert await b.read_before(runtime.now() + 30) == b"late"


async def check_a_nearer_deadline_after_a_farther_one_still_fires_in_time(
    pairs: PairFactory, runtime: Runtime
) -> None:
    """A read with a near deadline after one with a far deadline times out at its own."""
    async with _pair(pairs) as (a, b):
        async with runtime.task_group() as tg:
            tg.start_soon(_write_after, runtime, a, 0.05, b"x")
            assert await b.read_before(runtime.now() + 60) == b"x"
        deadline = runtime.now() + 0.1
        await _raises(Timeout, b.read_before(deadline))
        assert deadline <= runtime.now() < deadline + SLACK


async def check_write_before_times_out_and_the_stream_stays_whole(
    pairs: PairFactory, runtime: Runtime
) -> None:
    """``write_before`` to a peer that does not read raises ``Timeout`` at its deadline;
    as after a cancelled write, a prefix of its data went (or goes first) and the next
    write's bytes follow it directly."""
    async with _pair(pairs) as (a, b):
        block = bytes(range(256)) * 256  # 64 KiB
        sent = 0

        async def fill() -> None:
            nonlocal sent
            for _ in range(1000):  # bounded: 64 MB, far more than the buffers between
                await a.write_before(deadline, block)
                sent += len(block)

        deadline = runtime.now() + 0.2
        await _raises(Timeout, fill())
        assert deadline <= runtime.now() < deadline + SLACK
        received = b""

        async def read_all() -> None:
            nonlocal received
            received = await _read_all(b)

        with runtime.fail_after(30):
            async with runtime.task_group() as tg:
                tg.start_soon(read_all)
                await a.write(b"END")  # waits for the reader to take the queued rest
                await a.shutdown_write()
        assert received.endswith(b"END")
        body = received[:-3]
        assert sent <= len(body) <= sent + len(block)
        expected = block * (len(body) // len(block) + 1)
        assert body == expected[: len(body)]


async def check_a_read_and_a_write_each_keep_their_own_deadline(
    pairs: PairFactory, runtime: Runtime
) -> None:
    """A write's nearer deadline fires first; a read waiting beside it on the same flow
    still times out at its own, later one."""
    async with _pair(pairs) as (a, _b):
        block = b"w" * 65536
        start = runtime.now()
        read_deadline, write_deadline = start + 0.4, start + 0.1
        ended: dict[str, float] = {}

        async def reader() -> None:
            await _raises(Timeout, a.read_before(read_deadline))
            ended["read"] = runtime.now()

        async def fill() -> None:
            for _ in range(1000):  # bounded: _b never reads
                await a.write_before(write_deadline, block)

        async with runtime.task_group() as tg:
            tg.start_soon(reader)
            await _raises(Timeout, fill())
            ended["write"] = runtime.now()
        assert write_deadline <= ended["write"] < read_deadline
        assert read_deadline <= ended["read"] < read_deadline + SLACK


FLOW_CHECKS: list[Callable[[PairFactory, Runtime], Awaitable[None]]] = [
    check_round_trips,
    check_write_takes_any_bytes_like_object,
    check_bulk_transfer,
    check_write_blocks_while_the_peer_does_not_read,
    check_cancelled_write_keeps_the_stream_whole,
    check_half_close,
    check_write_after_shutdown_write,
    check_close,
    check_close_wakes_every_waiter,
    check_concurrent_reads_are_refused,
    check_concurrent_writes_are_refused,
    check_abort,
    check_fail_after_on_read,
    check_move_on_after,
    check_cancelled_reads_leave_flows_usable,
    check_sendfile_sends_what_the_portable_path_sends,
    check_sendfile_is_a_writer_and_close_wakes_it,
    check_read_before_returns_what_comes_in_time_and_eof,
    check_read_before_times_out_and_loses_nothing,
    check_a_trickling_peer_cannot_extend_the_deadline,
    check_an_old_deadline_does_not_wake_a_later_read,
    check_a_nearer_deadline_after_a_farther_one_still_fires_in_time,
    check_write_before_times_out_and_the_stream_stays_whole,
    check_a_read_and_a_write_each_keep_their_own_deadline,
]
"""Every flow property, each called as ``await check(pairs, runtime)``."""


# -- stack properties: listeners, connecting, UDP -----------------------------------------


async def _echo(flow: Flow) -> None:
    while data := await flow.read(65536):
        await flow.write(data)


async def check_port_zero_reports_the_bound_port(net: Backend) -> None:
    """Listening on port 0 binds a free port, reported by ``.address``; both flows report
    both addresses."""
    async with await net.tcp_listen(HOST, 0) as listener:
        host, port = listener.address
        assert host == HOST
        assert 0 < port < 65536
        async with await net.tcp_connect(HOST, port) as flow:
            assert flow.remote == (HOST, port)
            assert flow.local[0] == HOST
            async with await listener.accept() as accepted:
                assert accepted.local == (HOST, port)
                assert accepted.remote == flow.local


async def check_connection_refused(net: Backend) -> None:
    """Connecting where nothing listens raises ``ConnectionRefused``."""
    listener = await net.tcp_listen(HOST, 0)
    port = listener.address[1]
    await listener.close()
    error = await _raises(ConnectionRefused, net.tcp_connect(HOST, port, timeout=5))
    assert isinstance(error, ConnectionRefusedError)


async def check_listening_twice_is_address_in_use(net: Backend) -> None:
    """A second listener on a taken port raises ``AddressInUse``."""
    async with await net.tcp_listen(HOST, 0) as listener:
        await _raises(AddressInUse, net.tcp_listen(HOST, listener.address[1]))


async def check_200_concurrent_connections(net: Backend) -> None:
    """``serve`` handles 200 clients connected at once."""
    async with await net.tcp_listen(HOST, 0, backlog=256) as listener, net.task_group() as tg:
        tg.start_soon(listener.serve, _echo)
        done: list[int] = []

        async def client(i: int) -> None:
            async with await net.tcp_connect(*listener.address, timeout=20) as flow:
                message = b"client %d" % i
                await flow.write(message)
                await flow.shutdown_write()
                assert await _read_all(flow) == message
                done.append(i)

        with net.fail_after(60):
            async with net.task_group() as clients:
                for i in range(200):
                    clients.start_soon(client, i)
        assert sorted(done) == list(range(200))
        tg.cancel_scope.cancel()


async def check_listener_iteration_and_close(net: Backend) -> None:
    """Iterating a listener yields accepted flows and ends when it is closed (idempotent);
    ``accept`` then raises ``ClosedFlow``."""
    listener = await net.tcp_listen(HOST, 0)
    seen: list[Flow] = []

    async def accept_all() -> None:
        async for flow in listener:
            seen.append(flow)

    with net.fail_after(5):
        async with net.task_group() as tg:
            tg.start_soon(accept_all)
            clients = [await net.tcp_connect(*listener.address) for _ in range(3)]
            while len(seen) < 3:
                await net.sleep(0.01)
            await listener.close()
            await listener.close()
    assert len(seen) == 3
    await _raises(ClosedFlow, listener.accept())
    for flow in [*clients, *seen]:
        await flow.close()


async def check_serve_survives_a_failing_handler(net: Backend) -> None:
    """A handler that raises gets its flow closed; ``serve`` goes on serving."""
    calls = 0

    async def handler(flow: Flow) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("handler bug")
        await _echo(flow)

    async with await net.tcp_listen(HOST, 0) as listener, net.task_group() as tg:
        tg.start_soon(listener.serve, handler)
        with net.fail_after(5):
            async with await net.tcp_connect(*listener.address) as first:
                assert await first.read() == b""  # closed by serve after the handler failed
            async with await net.tcp_connect(*listener.address) as second:
                await second.write(b"still serving")
                assert await _read_exactly(second, 13) == b"still serving"
        tg.cancel_scope.cancel()


async def check_closing_the_listener_ends_serve(net: Backend) -> None:
    """Closing the listener makes ``serve`` cancel its handlers, close their flows and
    return."""
    listener = await net.tcp_listen(HOST, 0)
    started = net.event()
    cancelled: list[bool] = []

    async def handler(flow: Flow) -> None:
        started.set()
        try:
            await net.sleep(3600)
        except BaseException:
            cancelled.append(True)
            raise

    with net.fail_after(5):
        async with net.task_group() as tg:
            tg.start_soon(listener.serve, handler)
            client = await net.tcp_connect(*listener.address)
            await started.wait()
            await listener.close()  # serve returns: the task group can exit
    assert cancelled == [True]
    with net.fail_after(5):
        assert await client.read() == b""  # serve closed the handler's flow
    await client.close()


async def check_ipv6_loopback(net: Backend) -> None:
    """TCP and UDP on ``::1``, where the stack and the machine have IPv6 (else nothing)."""
    if not socket.has_ipv6:
        return
    try:
        listener = await net.tcp_listen("::1", 0)
    except AddressUnavailable:
        return  # ::1 is not configured here, or the stack speaks IPv4 only
    async with listener, net.task_group() as tg:
        tg.start_soon(listener.serve, _echo)
        assert listener.address[0] == "::1"
        async with await net.tcp_connect("::1", listener.address[1]) as flow:
            await flow.write(b"six")
            assert await flow.read() == b"six"
        tg.cancel_scope.cancel()
    async with await net.udp_bind("::1", 0) as a, await net.udp_bind("::1", 0) as b:
        await a.send(b"dgram", b.address)
        with net.fail_after(5):
            assert await b.recv() == (b"dgram", a.address)


async def check_udp_round_trip(net: Backend) -> None:
    """Datagrams go both ways and report their source."""
    async with await net.udp_bind(HOST, 0) as server, await net.udp_bind(HOST, 0) as client:
        assert server.address[1] != 0
        with net.fail_after(5):
            for i in range(50):
                await client.send(b"query %d" % i, server.address)
                data, source = await server.recv()
                assert data == b"query %d" % i
                assert source == client.address
                await server.send(data.upper(), source)
                assert await client.recv() == (data.upper(), server.address)


async def check_udp_recv_timeout(net: Backend) -> None:
    """``recv(timeout=)`` raises ``Timeout`` when nothing comes, returns what comes in
    time, and an answered recv's timer does not fire into the next one."""
    async with await net.udp_bind(HOST, 0) as a, await net.udp_bind(HOST, 0) as b:
        with net.fail_after(5):
            start = net.now()
            await _raises(Timeout, a.recv(timeout=0.05))
            assert 0.049 <= net.now() - start < 2  # uvloop's clock ticks in ms
            await b.send(b"one", a.address)
            assert await a.recv(timeout=2) == (b"one", b.address)

            async def later() -> None:
                await net.sleep(0.05)
                await b.send(b"two", a.address)

            async with net.task_group() as tg:
                tg.start_soon(later)
                assert await a.recv(timeout=2) == (b"two", b.address)
            await net.sleep(0.1)
            await b.send(b"three", a.address)
            assert await a.recv() == (b"three", b.address)


async def check_udp_datagram_sizes(net: Backend) -> None:
    """The largest datagram crosses; one byte more raises ``MessageTooLarge`` and the
    endpoint stays usable."""
    async with await net.udp_bind(HOST, 0) as a, await net.udp_bind(HOST, 0) as b:
        limit = a.max_datagram_size
        assert limit == 65507
        await _raises(MessageTooLarge, a.send(b"x" * (limit + 1), b.address))
        big = os.urandom(limit)
        await a.send(big, b.address)
        with net.fail_after(5):
            data, _ = await b.recv()
        assert data == big
        await a.send(b"", b.address)
        with net.fail_after(5):
            assert await b.recv() == (b"", a.address)


async def check_udp_close(net: Backend) -> None:
    """Closing an endpoint wakes its receiver with ``ClosedFlow``; close is idempotent."""
    endpoint = await net.udp_bind(HOST, 0)
    outcome: list[BaseException] = []

    async def receiver() -> None:
        outcome.append(await _raises(ClosedFlow, endpoint.recv()))

    with net.fail_after(5):
        async with net.task_group() as tg:
            tg.start_soon(receiver)
            await net.sleep(0.05)
            await endpoint.close()
            await endpoint.close()
    assert len(outcome) == 1
    await _raises(ClosedFlow, endpoint.send(b"x", (HOST, 9)))


async def check_udp_bind_twice_is_address_in_use(net: Backend) -> None:
    """A second endpoint on a taken port raises ``AddressInUse``."""
    async with await net.udp_bind(HOST, 0) as endpoint:
        await _raises(AddressInUse, net.udp_bind(HOST, endpoint.address[1]))


async def check_udp_connect_hears_only_its_peer(net: Backend) -> None:
    """A connected endpoint exchanges datagrams with its peer, and a datagram from anyone
    else never reaches its ``recv`` (sent before the answer, so it would come first)."""
    async with (
        await net.udp_bind(HOST, 0) as server,
        await net.udp_bind(HOST, 0) as other,
        await net.udp_connect(*server.address) as client,
    ):
        with net.fail_after(5):
            await client.send(b"query", server.address)
            data, source = await server.recv()
            assert (data, source) == (b"query", client.address)
            await other.send(b"spoofed", client.address)
            await server.send(b"answer", source)
            assert await client.recv() == (b"answer", server.address)


async def check_udp_connect_reports_a_refused_port(net: Backend) -> None:
    """A connected endpoint learns at once that nothing listens at its peer: the ICMP port
    unreachable makes ``recv`` raise ``ConnectionRefused`` long before its timeout, and
    the endpoint can still be closed cleanly."""
    async with await net.udp_bind(HOST, 0) as probe:
        port = probe.address[1]  # free again once the probe is closed
    async with await net.udp_connect(HOST, port) as client:
        with net.fail_after(5):
            start = net.now()
            await client.send(b"anyone there?", (HOST, port))
            await _raises(ConnectionRefused, client.recv(timeout=4))
            assert net.now() - start < 2


async def check_udp_flood_still_yields(net: Backend) -> None:
    """An endpoint with datagrams always waiting does not starve the other tasks."""
    async with await net.udp_bind(HOST, 0) as a, await net.udp_bind(HOST, 0) as b:
        for i in range(100):
            await a.send(b"%d" % i, b.address)
        await net.sleep(0.05)  # let them all land in b's receive buffer
        ticks = 0
        received = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await net.sleep(0)

        with net.fail_after(5):
            async with net.task_group() as tg:
                tg.start_soon(ticker)
                await net.sleep(0)
                start_ticks = ticks
                for _ in range(100):
                    await b.recv()
                    received += 1
                tg.cancel_scope.cancel()
        assert received == 100
        assert ticks > start_ticks, "recv never yielded while datagrams were waiting"


def _echo_upper(data: bytes, source: Address) -> bytes | None:
    """A datagram handler: ``boom`` raises, ``quiet`` gets no reply, ``huge`` a reply too
    large to send, ``who`` the source's port; anything else comes back upper-cased."""
    if data == b"boom":
        raise RuntimeError("a handler bug")
    if data == b"quiet":
        return None
    if data == b"huge":
        return b"x" * 70000
    if data == b"who":
        return b"%d" % source[1]
    return data.upper()


async def check_udp_serve(net: Backend) -> None:
    """``serve`` answers each datagram with its handler's reply, to its source; a handler
    that raises, returns None or a reply too large costs that datagram only; a burst
    (more than one batch) is answered whole, in order; closing the endpoint ends serve."""
    server = await net.udp_bind(HOST, 0)
    async with await net.udp_bind(HOST, 0) as client:
        with net.fail_after(5):
            async with net.task_group() as tg:
                tg.start_soon(server.serve, _echo_upper)
                for query in (b"boom", b"quiet", b"huge", b"who"):
                    await client.send(query, server.address)
                assert await client.recv() == (b"%d" % client.address[1], server.address)
                for i in range(200):
                    await client.send(b"q%d" % i, server.address)
                for i in range(200):
                    assert await client.recv() == (b"Q%d" % i, server.address)
                await server.close()
    await _raises(ClosedFlow, server.recv())


async def check_udp_serve_yields_and_can_be_cancelled(net: Backend) -> None:
    """A serving endpoint with datagrams always waiting does not starve the other tasks;
    cancelled, it stops serving and ``recv`` works on it again."""
    async with await net.udp_bind(HOST, 0) as server, await net.udp_bind(HOST, 0) as client:
        for i in range(200):
            await client.send(b"%d" % i, server.address)
        await net.sleep(0.05)  # let them all land in the server's receive buffer
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await net.sleep(0)

        with net.fail_after(5):
            async with net.task_group() as tg:
                tg.start_soon(ticker)
                await net.sleep(0)
                start_ticks = ticks
                tg.start_soon(server.serve, _echo_upper)
                for i in range(200):
                    assert await client.recv() == (b"%d" % i, server.address)
                tg.cancel_scope.cancel()
            assert ticks > start_ticks + 1, "serve never yielded while datagrams waited"
            await client.send(b"after", server.address)
            assert await server.recv() == (b"after", client.address)


STACK_CHECKS: list[Callable[[Backend], Awaitable[None]]] = [
    check_port_zero_reports_the_bound_port,
    check_connection_refused,
    check_listening_twice_is_address_in_use,
    check_200_concurrent_connections,
    check_listener_iteration_and_close,
    check_serve_survives_a_failing_handler,
    check_closing_the_listener_ends_serve,
    check_ipv6_loopback,
    check_udp_round_trip,
    check_udp_recv_timeout,
    check_udp_datagram_sizes,
    check_udp_close,
    check_udp_bind_twice_is_address_in_use,
    check_udp_connect_hears_only_its_peer,
    check_udp_connect_reports_a_refused_port,
    check_udp_flood_still_yields,
    check_udp_serve,
    check_udp_serve_yields_and_can_be_cancelled,
]
"""Every listener, connect and UDP property, each called as ``await check(backend)``."""

__all__ = [
    "FLOW_CHECKS",
    "STACK_CHECKS",
    "PairFactory",
    "tcp_pairs",
    "tls_pairs",
    *[check.__name__ for check in FLOW_CHECKS + STACK_CHECKS],
]
