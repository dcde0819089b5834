"""Slow TCP clients cannot lock the server out (RFC 7766 §6.2.3): a query must arrive whole
within ``tcp_message_timeout`` of its first byte however its bytes trickle in, and when every
slot is taken a newcomer is served by shedding the connection that has gone longest without
delivering a query."""

from __future__ import annotations

from typing import cast

import backends
from dns import wire
from dns.server import AuthServer, TcpConnection, shed_choice
from tests.dns.test_server_net import LOCAL, Reader, diff_server, framed, query, udp_ask

DRIPPERS = 300
DRIP_INTERVAL = 0.3


async def drip(net: backends.Backend, port: int, stop: backends.interface.Event) -> None:
    """Announce a 65535-byte query, then send one byte of it every DRIP_INTERVAL seconds
    until ``stop`` or until the server closes the connection."""
    try:
        flow = await net.tcp_connect(LOCAL, port)
    except backends.NetworkError:
        return
    try:
        await flow.write(b"\xff\xff\x00")
        while not stop.is_set():
            with net.move_on_after(DRIP_INTERVAL):
                await stop.wait()
            await flow.write(b"\x00")
    except backends.NetworkError:
        pass
    finally:
        flow.abort()


async def ask_tcp(net: backends.Backend, port: int, msg_id: int) -> wire.Message:
    flow = await net.tcp_connect(LOCAL, port)
    async with flow:
        await flow.write(framed(query("www.diff.test.", msg_id=msg_id)))
        reply = await Reader(flow).message()
    assert reply is not None, "the server closed the connection without an answer"
    return wire.Message.parse(reply)


async def test_dripping_connections_do_not_lock_out_a_query(backend: backends.Backend) -> None:
    server = diff_server()  # the defaults: 256 slots, 10 s idle, 2 s per query
    async with server.running(backend, LOCAL, 0) as (_udp, tcp):
        stop = backend.event()
        async with backend.task_group() as tg:
            for _ in range(DRIPPERS):
                tg.start_soon(drip, backend, tcp[1], stop)
                await backend.sleep(0)
            with backend.fail_after(10):
                while server.tcp_count < server.max_tcp_connections:
                    await backend.sleep(0.05)
            await backend.sleep(2 * DRIP_INTERVAL)  # every dripper has dripped again
            try:
                for i in range(3):
                    with backend.fail_after(1):
                        msg = await ask_tcp(backend, tcp[1], 100 + i)
                    assert msg.id == 100 + i and msg.answer[0].rdata == bytes([192, 0, 2, 3])
                    assert server.tcp_count <= server.max_tcp_connections
            finally:
                stop.set()


async def test_a_trickled_query_is_cut_at_its_deadline(backend: backends.Backend) -> None:
    # The idle timeout alone (restarted by every byte) would keep this connection forever.
    server = diff_server(tcp_idle_timeout=10.0, tcp_message_timeout=0.5)
    async with server.running(backend, LOCAL, 0) as (_udp, tcp):
        flow = await backend.tcp_connect(LOCAL, tcp[1])
        try:
            message = framed(query("www.diff.test."))
            sent = 0
            closed = False
            with backend.fail_after(5):
                try:
                    for byte in message[:-1]:
                        await flow.write(bytes([byte]))
                        sent += 1
                        await backend.sleep(0.05)
                        if server.tcp_count == 0:
                            closed = True
                            break
                except backends.NetworkError:
                    closed = True
            assert closed, "the server kept a query trickling in past its deadline"
            assert 0 < sent < len(message) - 1
        finally:
            flow.abort()
        # The server still answers a query that arrives in one piece.
        with backend.fail_after(5):
            assert (await ask_tcp(backend, tcp[1], 7)).answer


async def test_a_query_split_across_reads_within_the_deadline_is_answered(
    backend: backends.Backend,
) -> None:
    server = diff_server(tcp_message_timeout=1.0)
    async with server.running(backend, LOCAL, 0) as (_udp, tcp):
        flow = await backend.tcp_connect(LOCAL, tcp[1])
        async with flow:
            message = framed(query("www.diff.test.", msg_id=5))
            for piece in (message[:1], message[1:9], message[9:]):
                await flow.write(piece)
                await backend.sleep(0.1)
            with backend.fail_after(5):
                reply = await Reader(flow).message()
        assert reply is not None and wire.Message.parse(reply).id == 5


def connection(now: float) -> TcpConnection:
    return TcpConnection(cast(backends.Flow, None), now)


def test_shed_choice_prefers_the_connection_longest_without_a_query() -> None:
    drippers = [connection(t) for t in (1.0, 2.0, 3.0)]  # accepted, never a whole query
    idle = connection(0.0)
    idle.progress_at = 5.0  # accepted first, but asked a question at t=5
    fresh = connection(9.0)
    pool = {*drippers, idle, fresh}
    assert shed_choice(pool) is drippers[0]
    pool.discard(drippers[0])
    assert shed_choice(pool) is drippers[1]
    drippers[1].progress_at = 10.0  # it delivered a query after all
    assert shed_choice(pool) is drippers[2]
    pool -= {drippers[2]}
    assert shed_choice(pool) is idle
    assert shed_choice(set()) is None


def test_connection_limits_are_configurable() -> None:
    server = AuthServer(
        diff_server().zones, max_tcp_connections=3, tcp_message_timeout=0.25, tcp_idle_timeout=4
    )
    assert (server.max_tcp_connections, server.tcp_message_timeout, server.tcp_idle_timeout) == (
        3,
        0.25,
        4,
    )


async def test_a_trickling_reader_cannot_stretch_the_write_deadline(
    backend: backends.Backend,
) -> None:
    # The write deadline is fixed when the write starts: reading a few bytes now and then
    # (which lets the write make progress) does not move it. Guards the existing rule.
    server = diff_server(tcp_idle_timeout=0.5)
    async with server.running(backend, LOCAL, 0) as (udp, tcp):
        flow = await backend.tcp_connect(LOCAL, tcp[1])
        one = framed(query("big.diff.test.", wire.TYPE_TXT))
        read = 0

        async def trickle() -> None:
            nonlocal read
            try:
                while True:
                    data = await flow.read(64)
                    if not data:
                        return
                    read += len(data)
                    await backend.sleep(0.02)
            except backends.NetworkError:
                return

        try:
            async with backend.task_group() as tg:
                tg.start_soon(trickle)
                with backend.move_on_after(5):
                    for _ in range(200):  # ~22 MB of answers, read at ~3 KB/s
                        await flow.write(one * 100)
                with backend.fail_after(10):
                    while server.tcp_count:
                        await backend.sleep(0.05)
                tg.cancel_scope.cancel()
        finally:
            flow.abort()
        assert read > 0
        assert (await udp_ask(backend, udp[1], query("www.diff.test."))).answer
