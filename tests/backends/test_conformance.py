"""The conformance suite: what every adapter must do, checked on each one.

Every test takes the ``backend`` fixture, so it runs on asyncio, trio and (once it declares
itself conformant) mirage. The contract being checked is the docstring of
:mod:`backends.interface`.
"""

from __future__ import annotations

import array
import hashlib
import os
import socket

import pytest

import backends
from backends import Backend, Flow

HOST = "127.0.0.1"


async def _echo(flow: Flow) -> None:
    while data := await flow.read(65536):
        await flow.write(data)


async def _free_port(backend: Backend) -> int:
    listener = await backend.tcp_listen(HOST, 0)
    port = listener.address[1]
    await listener.close()
    return port


async def test_port_zero_reports_the_bound_port(backend: Backend) -> None:
    async with await backend.tcp_listen(HOST, 0) as listener:
        host, port = listener.address
        assert host == HOST
        assert 0 < port < 65536
        flow = await backend.tcp_connect(HOST, port)
        async with flow:
            assert flow.remote == (HOST, port)
            assert flow.local[0] == HOST
            accepted = await listener.accept()
            async with accepted:
                assert accepted.local == (HOST, port)
                assert accepted.remote == flow.local


async def test_echo_round_trips(backend: Backend) -> None:
    async with await backend.tcp_listen(HOST, 0) as listener, backend.task_group() as tg:
        tg.start_soon(listener.serve, _echo)
        async with await backend.tcp_connect(*listener.address) as flow:
            for i in range(200):
                message = b"ping %d " % i * (1 + i % 7)
                await flow.write(message)
                received = b""
                while len(received) < len(message):
                    chunk = await flow.read()
                    assert chunk, "EOF before the echo came back"
                    received += chunk
                assert received == message
        tg.cancel_scope.cancel()


async def test_write_takes_any_bytes_like_object(backend: Backend) -> None:
    """bytes, bytearray, and memoryviews of any format: every byte arrives, in order."""
    wide = array.array("i", range(100_000))  # 400,000 bytes, 4 to an item
    pieces = [b"head", bytearray(b"mid"), memoryview(wide), memoryview(b"tail")]
    expected = b"head" + b"mid" + wide.tobytes() + b"tail"
    async with await backend.tcp_listen(HOST, 0) as listener:
        client = await backend.tcp_connect(*listener.address)
        server = await listener.accept()
        received = b""
        async with backend.task_group() as tg:

            async def send() -> None:
                for piece in pieces:
                    await client.write(piece)
                await client.shutdown_write()

            tg.start_soon(send)
            with backend.fail_after(30):
                while chunk := await server.read(1 << 20):
                    received += chunk
        assert received == expected
        await client.close()
        await server.close()


@pytest.mark.parametrize("direction", ["upload", "download"])
async def test_16_mib_transfer_keeps_every_byte(backend: Backend, direction: str) -> None:
    size = 16 * 1024 * 1024
    payload = os.urandom(1024 * 1024)
    expected = hashlib.sha256(payload * 16).hexdigest()

    async def send_all(flow: Flow) -> None:
        for _ in range(16):
            view = memoryview(payload)
            for start in range(0, len(view), 256 * 1024):
                await flow.write(view[start : start + 256 * 1024])
        await flow.shutdown_write()

    async def receive_all(flow: Flow) -> str:
        digest = hashlib.sha256()
        total = 0
        while chunk := await flow.read(256 * 1024):
            digest.update(chunk)
            total += len(chunk)
        assert total == size
        return digest.hexdigest()

    results: list[str] = []

    async def server(flow: Flow) -> None:
        if direction == "upload":
            results.append(await receive_all(flow))
        else:
            await send_all(flow)
            assert await flow.read() == b""

    async with await backend.tcp_listen(HOST, 0) as listener, backend.task_group() as tg:
        tg.start_soon(listener.serve, server)
        with backend.fail_after(60):
            async with await backend.tcp_connect(*listener.address) as flow:
                if direction == "upload":
                    await send_all(flow)
                    assert await flow.read() == b""  # the server closes after reading EOF
                else:
                    results.append(await receive_all(flow))
                    await flow.shutdown_write()
        tg.cancel_scope.cancel()
    assert results == [expected]


async def test_write_blocks_while_the_peer_does_not_read(backend: Backend) -> None:
    """Backpressure: a writer facing a stalled reader stops, holding bounded memory."""
    chunk = b"x" * 65536
    written = 0
    accepted: list[Flow] = []

    async def writer(flow: Flow) -> None:
        nonlocal written
        while True:
            await flow.write(chunk)
            written += len(chunk)

    async with await backend.tcp_listen(HOST, 0) as listener:
        client = await backend.tcp_connect(*listener.address)
        server_flow = await listener.accept()
        accepted.append(server_flow)
        with backend.move_on_after(1.0) as scope:
            await writer(server_flow)
        assert scope.cancelled_caught, "write never blocked against a reader that never reads"
        stalled_at = written
        # Kernel socket buffers on loopback hold a few MiB; nothing may grow past that.
        assert 0 < stalled_at <= 32 * 1024 * 1024, stalled_at
        with backend.move_on_after(0.3):
            await writer(server_flow)
        assert written - stalled_at <= 64 * 1024 * 8, "writer kept going while stalled"
        # Now read everything: the writer's bytes arrive intact and in order.
        await server_flow.shutdown_write()
        received = 0
        with backend.fail_after(30):
            while data := await client.read(1 << 20):
                assert data.count(b"x") == len(data)
                received += len(data)
        # Each of the two cancelled writes may have handed all or part of its chunk over.
        assert written <= received <= written + 2 * len(chunk)
        await client.close()
        await server_flow.close()


async def test_half_close_lets_the_other_direction_finish(backend: Backend) -> None:
    async def server(flow: Flow) -> None:
        request = b""
        while chunk := await flow.read():
            request += chunk
        await flow.write(b"got " + str(len(request)).encode())
        await flow.shutdown_write()

    async with await backend.tcp_listen(HOST, 0) as listener, backend.task_group() as tg:
        tg.start_soon(listener.serve, server)
        async with await backend.tcp_connect(*listener.address) as flow:
            await flow.write(b"a" * 100_000)
            await flow.shutdown_write()
            reply = b""
            with backend.fail_after(10):
                while chunk := await flow.read():
                    reply += chunk
            assert reply == b"got 100000"
            # EOF is sticky: reading again keeps returning b"".
            assert await flow.read() == b""
            assert await flow.read() == b""
        tg.cancel_scope.cancel()


async def test_write_after_shutdown_write_fails_but_read_works(backend: Backend) -> None:
    async with await backend.tcp_listen(HOST, 0) as listener:
        client = await backend.tcp_connect(*listener.address)
        server = await listener.accept()
        await client.shutdown_write()
        assert await server.read() == b""
        await server.write(b"still open")
        assert await client.read() == b"still open"
        with pytest.raises(backends.ClosedFlow):
            await client.write(b"after FIN")
        await client.shutdown_write()  # idempotent
        await client.close()
        await server.close()


async def test_connection_refused(backend: Backend) -> None:
    port = await _free_port(backend)
    with pytest.raises(backends.ConnectionRefused) as info:
        await backend.tcp_connect(HOST, port, timeout=5)
    assert isinstance(info.value, ConnectionRefusedError)


async def test_listening_twice_on_one_port_is_address_in_use(backend: Backend) -> None:
    async with await backend.tcp_listen(HOST, 0) as listener:
        with pytest.raises(backends.AddressInUse):
            await backend.tcp_listen(HOST, listener.address[1])


async def test_close_is_idempotent_and_later_use_raises_closed(backend: Backend) -> None:
    async with await backend.tcp_listen(HOST, 0) as listener:
        flow = await backend.tcp_connect(*listener.address)
        peer = await listener.accept()
        await flow.close()
        await flow.close()
        with pytest.raises(backends.ClosedFlow):
            await flow.read()
        with pytest.raises(backends.ClosedFlow):
            await flow.write(b"x")
        with backend.fail_after(5):
            assert await peer.read() == b""
        await peer.close()


async def test_close_wakes_a_blocked_reader(backend: Backend) -> None:
    async with await backend.tcp_listen(HOST, 0) as listener:
        flow = await backend.tcp_connect(*listener.address)
        peer = await listener.accept()
        outcome: list[BaseException] = []

        async def reader() -> None:
            try:
                await flow.read()
            except backends.ClosedFlow as exc:
                outcome.append(exc)

        with backend.fail_after(5):
            async with backend.task_group() as tg:
                tg.start_soon(reader)
                await backend.sleep(0.05)
                await flow.close()
        assert len(outcome) == 1
        await peer.close()


async def test_abort_resets_the_peer(backend: Backend) -> None:
    async with await backend.tcp_listen(HOST, 0) as listener:
        flow = await backend.tcp_connect(*listener.address)
        peer = await listener.accept()
        await peer.write(b"hello")
        assert await flow.read() == b"hello"
        flow.abort()
        flow.abort()  # idempotent too
        with backend.fail_after(5), pytest.raises(backends.ConnectionReset):
            while True:
                if await peer.read() == b"":
                    # Some stacks report the reset on the next write instead.
                    await peer.write(b"x" * 65536)
                    await backend.sleep(0.01)
        await peer.close()


async def test_fail_after_on_read_raises_timeout_and_flow_stays_usable(backend: Backend) -> None:
    async with await backend.tcp_listen(HOST, 0) as listener:
        flow = await backend.tcp_connect(*listener.address)
        peer = await listener.accept()
        start = backend.now()
        with pytest.raises(backends.Timeout) as info, backend.fail_after(0.1):
            await flow.read()
        assert isinstance(info.value, TimeoutError)
        assert backend.now() - start >= 0.09
        await peer.write(b"after the timeout")
        with backend.fail_after(5):
            assert await flow.read() == b"after the timeout"
        await flow.close()
        await peer.close()


async def test_move_on_after_cancels_quietly(backend: Backend) -> None:
    async with await backend.tcp_listen(HOST, 0) as listener:
        flow = await backend.tcp_connect(*listener.address)
        peer = await listener.accept()
        with backend.move_on_after(0.05) as scope:
            await flow.read()
        assert scope.cancelled_caught
        with backend.move_on_after(5) as scope:
            await peer.write(b"ok")
            assert await flow.read() == b"ok"
        assert not scope.cancelled_caught
        await flow.close()
        await peer.close()


async def test_cancelling_a_task_group_stops_blocked_tasks(backend: Backend) -> None:
    async with await backend.tcp_listen(HOST, 0) as listener:
        flows = [await backend.tcp_connect(*listener.address) for _ in range(3)]
        peers = [await listener.accept() for _ in range(3)]
        with backend.fail_after(5):
            async with backend.task_group() as tg:
                for flow in flows:
                    tg.start_soon(flow.read)
                tg.start_soon(listener.accept)
                await backend.sleep(0.05)
                tg.cancel_scope.cancel()
        # The flows survived the cancelled reads.
        for flow, peer in zip(flows, peers, strict=True):
            await peer.write(b"later")
            assert await flow.read() == b"later"
            await flow.close()
            await peer.close()


async def test_200_concurrent_connections(backend: Backend) -> None:
    async with (
        await backend.tcp_listen(HOST, 0, backlog=256) as listener,
        backend.task_group() as tg,
    ):
        tg.start_soon(listener.serve, _echo)
        done: list[int] = []

        async def client(i: int) -> None:
            async with await backend.tcp_connect(*listener.address, timeout=20) as flow:
                message = b"client %d" % i
                await flow.write(message)
                await flow.shutdown_write()
                received = b""
                while chunk := await flow.read():
                    received += chunk
                assert received == message
                done.append(i)

        with backend.fail_after(60):
            async with backend.task_group() as clients:
                for i in range(200):
                    clients.start_soon(client, i)
        assert sorted(done) == list(range(200))
        tg.cancel_scope.cancel()


async def test_listener_iteration_and_close(backend: Backend) -> None:
    listener = await backend.tcp_listen(HOST, 0)
    seen: list[Flow] = []

    async def accept_all() -> None:
        async for flow in listener:
            seen.append(flow)

    with backend.fail_after(5):
        async with backend.task_group() as tg:
            tg.start_soon(accept_all)
            clients = [await backend.tcp_connect(*listener.address) for _ in range(3)]
            while len(seen) < 3:
                await backend.sleep(0.01)
            await listener.close()
            await listener.close()
    assert len(seen) == 3
    with pytest.raises(backends.ClosedFlow):
        await listener.accept()
    for flow in [*clients, *seen]:
        await flow.close()


async def test_serve_survives_a_failing_handler(backend: Backend) -> None:
    calls = 0

    async def handler(flow: Flow) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("handler bug")
        await _echo(flow)

    async with await backend.tcp_listen(HOST, 0) as listener, backend.task_group() as tg:
        tg.start_soon(listener.serve, handler)
        with backend.fail_after(5):
            async with await backend.tcp_connect(*listener.address) as first:
                assert await first.read() == b""  # closed by serve after the handler failed
            async with await backend.tcp_connect(*listener.address) as second:
                await second.write(b"still serving")
                assert await second.read() == b"still serving"
        tg.cancel_scope.cancel()


async def test_ipv6_loopback(backend: Backend, backend_name: str) -> None:
    if backend_name == "mirage":
        pytest.skip("the mirage stack speaks IPv4 only")
    if not socket.has_ipv6:
        pytest.skip("no IPv6 here")
    try:
        listener = await backend.tcp_listen("::1", 0)
    except backends.AddressUnavailable:
        pytest.skip("::1 is not configured on this machine")
    async with listener, backend.task_group() as tg:
        tg.start_soon(listener.serve, _echo)
        assert listener.address[0] == "::1"
        async with await backend.tcp_connect("::1", listener.address[1]) as flow:
            await flow.write(b"six")
            assert await flow.read() == b"six"
        tg.cancel_scope.cancel()
    async with await backend.udp_bind("::1", 0) as a, await backend.udp_bind("::1", 0) as b:
        await a.send(b"dgram", b.address)
        with backend.fail_after(5):
            assert await b.recv() == (b"dgram", a.address)


async def test_udp_round_trip(backend: Backend) -> None:
    async with await backend.udp_bind(HOST, 0) as server, await backend.udp_bind(HOST, 0) as client:
        assert server.address[1] != 0
        with backend.fail_after(5):
            for i in range(50):
                await client.send(b"query %d" % i, server.address)
                data, source = await server.recv()
                assert data == b"query %d" % i
                assert source == client.address
                await server.send(data.upper(), source)
                assert await client.recv() == (data.upper(), server.address)


async def test_udp_recv_timeout(backend: Backend) -> None:
    async with await backend.udp_bind(HOST, 0) as a, await backend.udp_bind(HOST, 0) as b:
        with backend.fail_after(5):
            start = backend.now()
            with pytest.raises(backends.Timeout):
                await a.recv(timeout=0.05)
            assert 0.049 <= backend.now() - start < 2  # uvloop's clock ticks in ms
            # A datagram already waiting, or arriving before the deadline, is returned.
            await b.send(b"one", a.address)
            assert await a.recv(timeout=2) == (b"one", b.address)

            async def later() -> None:
                await backend.sleep(0.05)
                await b.send(b"two", a.address)

            async with backend.task_group() as tg:
                tg.start_soon(later)
                assert await a.recv(timeout=2) == (b"two", b.address)
            # The timer of an answered recv does not fire into the next one.
            await backend.sleep(0.1)
            await b.send(b"three", a.address)
            assert await a.recv() == (b"three", b.address)


async def test_udp_datagram_sizes(backend: Backend) -> None:
    async with await backend.udp_bind(HOST, 0) as a, await backend.udp_bind(HOST, 0) as b:
        limit = a.max_datagram_size
        assert limit == 65507
        with pytest.raises(backends.MessageTooLarge):
            await a.send(b"x" * (limit + 1), b.address)
        big = os.urandom(limit)
        await a.send(big, b.address)
        with backend.fail_after(5):
            data, _ = await b.recv()
        assert data == big
        # The endpoint is still usable after the refused send.
        await a.send(b"", b.address)
        with backend.fail_after(5):
            assert await b.recv() == (b"", a.address)


async def test_udp_close_wakes_receiver_and_is_idempotent(backend: Backend) -> None:
    endpoint = await backend.udp_bind(HOST, 0)
    outcome: list[BaseException] = []

    async def receiver() -> None:
        try:
            await endpoint.recv()
        except backends.ClosedFlow as exc:
            outcome.append(exc)

    with backend.fail_after(5):
        async with backend.task_group() as tg:
            tg.start_soon(receiver)
            await backend.sleep(0.05)
            await endpoint.close()
            await endpoint.close()
    assert len(outcome) == 1
    with pytest.raises(backends.ClosedFlow):
        await endpoint.send(b"x", (HOST, 9))


async def test_udp_bind_twice_is_address_in_use(backend: Backend) -> None:
    async with await backend.udp_bind(HOST, 0) as endpoint:
        with pytest.raises(backends.AddressInUse):
            await backend.udp_bind(HOST, endpoint.address[1])


async def test_udp_receiver_with_data_always_waiting_still_yields(backend: Backend) -> None:
    """A flooded endpoint must not starve the other tasks of its loop."""
    async with await backend.udp_bind(HOST, 0) as a, await backend.udp_bind(HOST, 0) as b:
        for i in range(100):
            await a.send(b"%d" % i, b.address)
        await backend.sleep(0.05)  # let them all land in b's receive buffer
        ticks = 0
        received = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await backend.sleep(0)

        with backend.fail_after(5):
            async with backend.task_group() as tg:
                tg.start_soon(ticker)
                await backend.sleep(0)
                start_ticks = ticks
                for _ in range(100):
                    await b.recv()
                    received += 1
                tg.cancel_scope.cancel()
        assert received == 100
        assert ticks > start_ticks, "recv never yielded while datagrams were waiting"


async def test_closing_the_listener_ends_serve_and_cancels_handlers(backend: Backend) -> None:
    listener = await backend.tcp_listen(HOST, 0)
    started = backend.event()
    cancelled: list[bool] = []

    async def handler(flow: Flow) -> None:
        started.set()
        try:
            await backend.sleep(3600)
        except BaseException:
            cancelled.append(True)
            raise

    with backend.fail_after(5):
        async with backend.task_group() as tg:
            tg.start_soon(listener.serve, handler)
            client = await backend.tcp_connect(*listener.address)
            await started.wait()
            await listener.close()  # serve returns: the task group can exit
    assert cancelled == [True]
    with backend.fail_after(5):
        assert await client.read() == b""  # serve closed the handler's flow
    await client.close()
