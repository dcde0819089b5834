"""The asyncio adapter's read path, where bytes go straight to a parked reader."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

import backends
from backends.asyncio_backend import HOLD_LIMIT, AsyncioFlow


def _with_pair(test: Callable[[AsyncioFlow, AsyncioFlow], Awaitable[None]]) -> None:
    """Run ``test(client, server)`` on asyncio: two flows connected over loopback, closed
    after (with their listener)."""

    async def main(net: backends.Backend) -> None:
        listener = await net.tcp_listen("127.0.0.1", 0)
        try:
            client = await net.tcp_connect(*listener.address)
            server = await listener.accept()
            assert isinstance(client, AsyncioFlow) and isinstance(server, AsyncioFlow)
            try:
                await test(client, server)
            finally:
                await client.close()
                await server.close()
        finally:
            await listener.close()

    backends.run(main, backend="asyncio")


def test_bytes_handed_to_a_reader_cancelled_before_it_ran_are_kept() -> None:
    async def test(client: AsyncioFlow, server: AsyncioFlow) -> None:
        reader = asyncio.ensure_future(client.read())
        await asyncio.sleep(0)  # the reader parks
        assert client._read_waiter is not None
        # Bytes arrive (on loopback they are in the client's socket once send returns),
        # the loop's readiness callback hands them over, and in the same loop pass the
        # reader is cancelled.
        await server.write(b"hello")
        server._send_held()  # the end of the loop pass (the flusher) sends held writes
        client._on_readable()
        assert client._read_waiter is None and not client._chunks
        reader.cancel()
        with pytest.raises(asyncio.CancelledError):
            await reader
        assert await client.read() == b"hello"

    _with_pair(test)


def test_a_handed_over_chunk_larger_than_the_read_is_split_in_order() -> None:
    async def test(client: AsyncioFlow, server: AsyncioFlow) -> None:
        reader = asyncio.ensure_future(client.read(3))
        await asyncio.sleep(0)
        await server.write(b"abcdef")
        await server.write(b"ghi")
        assert await reader == b"abc"
        got = b""
        while len(got) < 6:
            got += await client.read(100)
        assert got == b"defghi"

    _with_pair(test)


def test_a_cancelled_parked_reader_is_woken_through_the_loop() -> None:
    """Cancelling the task (as anyio's scopes do) cancels the waiter; the flow stays usable."""

    async def test(client: AsyncioFlow, server: AsyncioFlow) -> None:
        task = asyncio.ensure_future(client.read())
        await asyncio.sleep(0)
        waiter = client._read_waiter
        assert waiter is not None
        task.cancel()
        assert waiter.cancelled()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert client._read_waiter is None
        await server.write(b"more")
        assert await client.read() == b"more"

    _with_pair(test)


def test_small_writes_are_held_to_the_end_of_the_pass_and_sent_together() -> None:
    """Writes under HOLD_LIMIT on a flow with nothing unsent, while other callbacks wait
    to run in the loop pass, are sent by the pass's flusher, in order, several writes of
    one flow in one send; with nothing else to run, a write is sent at once."""

    async def test(client: AsyncioFlow, server: AsyncioFlow) -> None:
        sends: list[bytes] = []
        sock = client._sock

        class Counting:  # the socket, counting what send is given
            def __getattr__(self, name: str) -> object:
                return getattr(sock, name)

            def send(self, data: bytes) -> int:
                sends.append(bytes(data))
                return sock.send(data)

        client._sock = Counting()  # type: ignore[assignment]
        # the loop's queue of callbacks (asyncio's own loop), looked at by each write
        assert client._others is asyncio.get_running_loop()._ready  # type: ignore[attr-defined]
        client._others = ()  # as if nothing else were to run in this pass: sent now
        await client.write(b"alone")
        assert sends == [b"alone"] and client._held is None
        sends.clear()
        client._others = (True,)  # as if other callbacks were to run in this pass
        await client.write(b"head ")
        await client.write(bytearray(b"body"))  # copied when held: the caller may reuse it
        assert sends == [] and client._held is not None
        await asyncio.sleep(0)  # the pass ends: the flusher sends
        assert sends == [b"head body"] and client._held is None
        sends.clear()
        part = b"p" * (HOLD_LIMIT // 2)
        await client.write(part)
        await client.write(part)  # HOLD_LIMIT held: still held
        await client.write(b"over")  # more would be held: what is held goes first, now
        assert sends == [part + part, b"over"] and client._held is None
        got = b""
        while len(got) < 14 + HOLD_LIMIT + 4:
            got += await server.read()
        assert got == b"alonehead body" + part + part + b"over"
        client._sock = sock

    _with_pair(test)


def test_held_bytes_go_first_and_close_sends_them() -> None:
    async def test(client: AsyncioFlow, server: AsyncioFlow) -> None:
        big = bytes(range(256)) * 1024  # above HOLD_LIMIT: sent at once, after the held
        await client.write(b"first")
        await client.write(big)
        assert client._held is None
        await client.write(b"last")
        await client.close()  # sends what is held
        got = b""
        while chunk := await server.read():
            got += chunk
        assert got == b"first" + big + b"last"

    _with_pair(test)


def test_abort_sends_held_bytes_first() -> None:
    async def test(client: AsyncioFlow, server: AsyncioFlow) -> None:
        client._others = (True,)  # as if other callbacks were to run in this pass: held
        await client.write(b"before the reset")
        assert client._held is not None
        client.abort()  # what write would have sent before, the kernel has
        got = b""
        with pytest.raises(backends.NetworkError):
            while chunk := await server.read():
                got += chunk
        assert got == b"before the reset"

    _with_pair(test)
