"""cohttp.ws.driver on every backend: our client against our server, and raw peers that
misbehave (trickle, never answer a ping or a Close, break the framing)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

import backends
from cohttp.codec import encode_request_head
from cohttp.headers import Headers
from cohttp.ws import (
    Config,
    ConnectionClosed,
    DeflateOptions,
    HandshakeError,
    Text,
    WebSocket,
    accept_flow,
    client_handshake,
    connect,
)

QUICK = Config(ping_interval=None, close_timeout=2.0)
Result = dict[str, object]


@contextlib.asynccontextmanager
async def serving(
    net: backends.Backend,
    handler: Callable[[WebSocket], Awaitable[None]],
    config: Config = QUICK,
    deflate: DeflateOptions | None = None,
    result: Result | None = None,
) -> AsyncIterator[int]:
    listener = await net.tcp_listen("127.0.0.1", 0)

    async def on_flow(flow: backends.Flow) -> None:
        try:
            ws, _ = await accept_flow(flow, net, deflate=deflate, config=config)
        except (HandshakeError, backends.Timeout) as exc:
            if result is not None:
                result["handshake"] = exc
            return
        try:
            await handler(ws)
        except ConnectionClosed as exc:
            if result is not None:
                result["closed"] = exc

    async with net.task_group() as tg:
        tg.start_soon(listener.serve, on_flow)
        try:
            yield listener.address[1]
        finally:
            await listener.close()
            tg.cancel_scope.cancel()


async def receive_forever(ws: WebSocket) -> None:
    while True:
        await ws.receive()


async def echo(ws: WebSocket) -> None:
    async for message in ws:
        if isinstance(message, str):
            await ws.send_text(message)
        else:
            await ws.send_bytes(message)


async def raw_client(net: backends.Backend, port: int) -> tuple[backends.Flow, bytes]:
    """A client that does the handshake by hand, then is ours to misbehave with."""
    flow = await net.tcp_connect("127.0.0.1", port, timeout=5)
    hs = client_handshake(f"127.0.0.1:{port}", deflate=None)
    await flow.write(encode_request_head("GET", "/", Headers(hs.headers)))
    buf = b""
    while b"\r\n\r\n" not in buf:
        buf += await flow.read()
    head, rest = buf.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 101 ")
    return flow, rest


async def read_until_eof(flow: backends.Flow, first: bytes = b"") -> bytes:
    data = first
    with contextlib.suppress(backends.NetworkError):
        while chunk := await flow.read():
            data += chunk
    return data


def masked(b0: int, payload: bytes) -> bytes:
    key = b"\x01\x02\x03\x04"
    body = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return bytes([b0, 0x80 | len(payload)]) + key + body


@pytest.mark.parametrize("deflate", [None, DeflateOptions()], ids=["plain", "deflate"])
async def test_our_client_our_server(
    backend: backends.Backend, deflate: DeflateOptions | None
) -> None:
    async with serving(backend, echo, deflate=deflate) as port:
        flow = await backend.tcp_connect("127.0.0.1", port, timeout=5)
        ws = await connect(flow, backend, f"127.0.0.1:{port}", "/", deflate=deflate, config=QUICK)
        assert (ws._conn._compressor is not None) is (deflate is not None)
        for message in ["héllo", b"\x00" * 70000, "", b""]:
            if isinstance(message, str):
                await ws.send_text(message)
            else:
                await ws.send_bytes(message)
            assert await ws.receive() == message
        await ws.send(Text("a", final=False))
        await ws.send(Text("b"))
        assert await ws.receive() == "ab"
        with pytest.raises(TypeError):
            await ws.send_text(b"not a str")  # type: ignore[arg-type]
        await ws.send_bytes(memoryview(bytearray(b"\x01\x02")))  # any bytes-like object
        assert await ws.receive() == b"\x01\x02"
        await ws.close(4000, "done")
        with pytest.raises(ConnectionClosed) as info:
            await ws.receive()
        assert info.value.code == 4000


async def test_server_sees_the_clients_close_code(backend: backends.Backend) -> None:
    result: Result = {}
    async with serving(backend, receive_forever, result=result) as port:
        flow = await backend.tcp_connect("127.0.0.1", port, timeout=5)
        ws = await connect(flow, backend, f"127.0.0.1:{port}", config=QUICK)
        await ws.close(3001, "bye")
        for _ in range(100):
            if "closed" in result:
                break
            await backend.sleep(0.02)
    closed = result["closed"]
    assert isinstance(closed, ConnectionClosed)
    assert (closed.code, closed.reason) == (3001, "bye")


async def test_trickling_cannot_extend_the_message_deadline(backend: backends.Backend) -> None:
    result: Result = {}
    config = Config(ping_interval=None, message_timeout=0.5, close_timeout=1.0)
    async with serving(backend, receive_forever, config, result=result) as port:
        flow, _ = await raw_client(backend, port)
        frame = masked(0x82, bytes(120))  # 126 bytes at one every 50 ms: over 6 s
        with backend.move_on_after(30):
            for i in range(len(frame)):
                try:
                    await flow.write(frame[i : i + 1])
                except backends.NetworkError:
                    break
                if "closed" in result:
                    break
                await backend.sleep(0.05)
        answer = await read_until_eof(flow)
        await flow.close()
    closed = result["closed"]
    assert isinstance(closed, ConnectionClosed) and closed.code == 1008
    assert answer[:4] == b"\x88" + bytes([len(answer) - 2]) + (1008).to_bytes(2, "big")


async def test_each_message_gets_its_own_deadline(backend: backends.Backend) -> None:
    """Messages that each take 0.3 s of a 0.5 s message_timeout, one after the other (the
    second half of one and the first of the next in a read together): none inherits the
    deadline of the one before it."""
    got: list[object] = []
    result: Result = {}
    config = Config(ping_interval=None, message_timeout=0.5, close_timeout=1.0)

    async def collect(ws: WebSocket) -> None:
        for _ in range(3):
            got.append(await ws.receive())

    async with serving(backend, collect, config, result=result) as port:
        flow, _ = await raw_client(backend, port)
        frames = [masked(0x82, bytes([i]) * 100) for i in range(3)]
        await flow.write(frames[0][:50])
        for i in range(3):
            await backend.sleep(0.3)
            await flow.write(frames[i][50:] + (frames[i + 1][:50] if i < 2 else b""))
        with backend.move_on_after(10):
            await read_until_eof(flow)
        await flow.close()
    assert got == [bytes([i]) * 100 for i in range(3)]
    assert "closed" not in result


async def test_keepalive_fails_a_silent_peer(backend: backends.Backend) -> None:
    result: Result = {}
    config = Config(ping_interval=0.2, ping_timeout=0.3, close_timeout=1.0)
    async with serving(backend, receive_forever, config, result=result) as port:
        flow, rest = await raw_client(backend, port)
        with backend.move_on_after(30):
            seen = await read_until_eof(flow, rest)  # reads, never answers
        await flow.close()
    closed = result["closed"]
    assert isinstance(closed, ConnectionClosed) and closed.code == 1011
    assert seen[:2] == b"\x89\x04"  # the keepalive ping, four random bytes
    assert b"\x88" in seen[6:8]


async def test_keepalive_answered_keeps_the_connection(backend: backends.Backend) -> None:
    got: list[object] = []

    async def handler(ws: WebSocket) -> None:
        got.append(await ws.receive())
        await ws.close()

    config = Config(ping_interval=0.1, ping_timeout=5.0, close_timeout=2.0)
    async with serving(backend, handler, config) as port:
        flow = await backend.tcp_connect("127.0.0.1", port, timeout=5)
        ws = await connect(flow, backend, f"127.0.0.1:{port}", config=QUICK)
        async with backend.task_group() as tg:

            async def keep_receiving() -> None:
                with contextlib.suppress(ConnectionClosed):
                    await ws.receive()

            tg.start_soon(keep_receiving)
            await backend.sleep(0.6)  # several pings, answered by the receiving task
            await ws.send_text("still here")
    assert got == ["still here"]


async def test_close_is_bounded_when_the_peer_never_answers(backend: backends.Backend) -> None:
    done: Result = {}

    async def handler(ws: WebSocket) -> None:
        await ws.close(1001)
        done["closed"] = True
        with pytest.raises(ConnectionClosed):
            await ws.receive()

    config = Config(ping_interval=None, close_timeout=0.3)
    async with serving(backend, handler, config) as port:
        flow, rest = await raw_client(backend, port)
        with backend.move_on_after(30):
            seen = await read_until_eof(flow, rest)
        await flow.close()
    assert done == {"closed": True}
    assert seen[:4] == b"\x88\x02" + (1001).to_bytes(2, "big")


async def test_handshake_deadline(backend: backends.Backend) -> None:
    result: Result = {}
    config = Config(ping_interval=None, handshake_timeout=0.3)
    async with serving(backend, receive_forever, config, result=result) as port:
        flow = await backend.tcp_connect("127.0.0.1", port, timeout=5)
        await flow.write(b"GET / HTTP/1.1\r\nHost: x\r\n")  # and never the rest
        with backend.move_on_after(30):
            await read_until_eof(flow)
        await flow.close()
    assert isinstance(result["handshake"], backends.Timeout)


async def test_eof_without_close_is_1006(backend: backends.Backend) -> None:
    result: Result = {}
    async with serving(backend, receive_forever, result=result) as port:
        flow, _ = await raw_client(backend, port)
        await flow.close()
        for _ in range(100):
            if "closed" in result:
                break
            await backend.sleep(0.02)
    closed = result["closed"]
    assert isinstance(closed, ConnectionClosed) and closed.code == 1006 and not closed.ok


async def test_framing_error_fails_with_1002(backend: backends.Backend) -> None:
    result: Result = {}
    async with serving(backend, receive_forever, result=result) as port:
        flow, _ = await raw_client(backend, port)
        await flow.write(b"\x81\x02hi")  # unmasked: a client must mask (RFC 6455 5.1)
        with backend.move_on_after(30):
            answer = await read_until_eof(flow)
        await flow.close()
    closed = result["closed"]
    assert isinstance(closed, ConnectionClosed) and closed.code == 1002
    assert answer[2:4] == (1002).to_bytes(2, "big")


async def test_refused_handshake_is_answered(backend: backends.Backend) -> None:
    result: Result = {}
    async with serving(backend, receive_forever, result=result) as port:
        flow = await backend.tcp_connect("127.0.0.1", port, timeout=5)
        hs = client_handshake("x", deflate=None)
        fields = [(n, "8" if n == "Sec-WebSocket-Version" else v) for n, v in hs.headers]
        await flow.write(encode_request_head("GET", "/", Headers(fields)))
        with backend.move_on_after(30):
            answer = await read_until_eof(flow)
        await flow.close()
    assert answer.startswith(b"HTTP/1.1 426 ")
    assert b"\r\nsec-websocket-version: 13\r\n" in answer.lower()
    err = result["handshake"]
    assert isinstance(err, HandshakeError) and err.status == 426


async def test_one_receiver_at_a_time(backend: backends.Backend) -> None:
    async def handler(ws: WebSocket) -> None:
        await ws.receive()

    async with serving(backend, handler) as port:
        flow = await backend.tcp_connect("127.0.0.1", port, timeout=5)
        ws = await connect(flow, backend, f"127.0.0.1:{port}", config=QUICK)
        async with backend.task_group() as tg:

            async def first() -> None:
                with contextlib.suppress(ConnectionClosed):
                    await ws.receive()

            tg.start_soon(first)
            await backend.sleep(0.05)
            with pytest.raises(RuntimeError, match="already receiving"):
                await ws.receive()
            await ws.send_text("bye")
            await ws.close()


async def test_write_deadline_against_a_peer_that_never_reads(backend: backends.Backend) -> None:
    result: Result = {}

    async def flood(ws: WebSocket) -> None:
        for _ in range(10_000):  # bounded: 10 GB, far past any socket buffer
            await ws.send_bytes(bytes(1 << 20))

    config = Config(ping_interval=None, write_timeout=0.5, max_message_size=2 << 20)
    async with serving(backend, flood, config, result=result) as port:
        flow, _ = await raw_client(backend, port)  # and never reads again
        for _ in range(600):
            if "closed" in result:
                break
            await backend.sleep(0.05)
        flow.abort()
    closed = result["closed"]
    assert isinstance(closed, ConnectionClosed) and closed.code == 1006
    assert "write failed" in closed.reason


async def test_keepalive_pings_repeat_while_answered(backend: backends.Backend) -> None:
    from cohttp.ws import Connection, Ping, Pong, Role

    result: Result = {}
    config = Config(ping_interval=0.1, ping_timeout=5.0, close_timeout=1.0)
    async with serving(backend, receive_forever, config, result=result) as port:
        flow, rest = await raw_client(backend, port)
        conn = Connection(Role.CLIENT)
        conn.receive_data(rest)
        pings = 0
        with backend.move_on_after(1.5):
            while True:
                while (event := conn.next_event()) is not None:
                    if isinstance(event, Ping):
                        pings += 1
                        await flow.write(conn.send(Pong(event.payload)))
                conn.receive_data(await flow.read())
        await flow.close()
    assert pings >= 3  # one every 0.1 s when answered: 1.5 s leaves a wide margin
    assert "closed" not in result or result["closed"].code == 1006  # type: ignore[attr-defined]


async def test_a_flooding_peer_cannot_hold_close_open(backend: backends.Backend) -> None:
    done: Result = {}

    async def handler(ws: WebSocket) -> None:
        await ws.close(1000)  # the peer floods pongs and never sends its Close
        done["closed"] = True

    config = Config(ping_interval=None, close_timeout=0.3)
    async with serving(backend, handler, config) as port:
        flow, _ = await raw_client(backend, port)
        burst = masked(0x8A, b"flood") * 2000
        with backend.move_on_after(60):
            for _ in range(10_000):  # bounded
                if done:
                    break
                try:
                    await flow.write(burst)
                except backends.NetworkError:
                    break
        flow.abort()
    assert done == {"closed": True}


async def test_concurrent_senders_keep_messages_whole(backend: backends.Backend) -> None:
    got: list[object] = []

    async def collect(ws: WebSocket) -> None:
        for _ in range(60):
            got.append(await ws.receive())
        await ws.close()

    async with serving(backend, collect, deflate=DeflateOptions()) as port:
        flow = await backend.tcp_connect("127.0.0.1", port, timeout=5)
        ws = await connect(flow, backend, f"127.0.0.1:{port}", config=QUICK)

        async def sender(tag: str) -> None:
            for i in range(20):
                await ws.send_text(f"{tag}{i}:" + tag * 50_000)  # big: writes must wait

        async with backend.task_group() as tg:
            for tag in "abc":
                tg.start_soon(sender, tag)
        with contextlib.suppress(ConnectionClosed):
            await ws.receive()
    assert sorted(got) == sorted(f"{t}{i}:" + t * 50_000 for t in "abc" for i in range(20))
