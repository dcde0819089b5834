"""Interop with the `websockets` library on loopback, on every backend.

Its client against our server (:class:`cohttp.Server` with a :func:`cohttp.ws.endpoint`
route), and our client against its server (the bare :func:`cohttp.ws.connect` and
``Client.websocket``). The peer runs in a worker thread (its synchronous API), so our side
runs on asyncio and trio alike; on mirage the peer's sockets live in the namespace whose
TAP device our stack owns (the ``kernel`` fixture; needs root).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest

import backends
from cohttp import Request, Server
from cohttp.client import Client
from cohttp.ws import (
    Config,
    ConnectionClosed,
    DeflateOptions,
    WebSocket,
    connect,
    endpoint,
)
from cohttp.ws.protocol import _WIRE_CODES
from tests.cohttp.helpers import running
from tests.peers import KernelLink

websockets = pytest.importorskip("websockets", reason="needs the websockets library (test extra)")
from websockets.exceptions import ConnectionClosed as PeerClosed  # noqa: E402
from websockets.exceptions import InvalidStatus  # noqa: E402
from websockets.sync.client import connect as peer_connect  # noqa: E402
from websockets.sync.server import serve as peer_serve  # noqa: E402

BIG = 16 * 1024 * 1024
LIMITS = Config(max_frame_size=2 * BIG, max_message_size=2 * BIG, ping_interval=None)
CODES = sorted(_WIRE_CODES | {3000, 3999, 4000, 4999})
DEFLATE = [None, DeflateOptions()]
IDS = ["plain", "deflate"]


@contextlib.asynccontextmanager
async def our_server(
    net: backends.Backend,
    kernel: KernelLink,
    handler: Callable[[WebSocket], Awaitable[None]],
    deflate: DeflateOptions | None,
) -> AsyncIterator[int]:
    """Our WebSocket server as users run it: cohttp.Server with a cohttp.ws.endpoint
    route, at ``kernel.host``; yields its port."""

    async def session(ws: WebSocket, request: Request) -> None:
        await handler(ws)

    server = Server(endpoint(session, deflate=deflate, config=LIMITS), access_log=False)
    async with running(net, server, kernel.host) as (_host, port):
        yield port


async def echo(ws: WebSocket) -> None:
    """Echo each message; ``close <code>`` makes the server close with that code."""
    try:
        async for message in ws:
            if isinstance(message, str) and message.startswith("close "):
                code = int(message[6:])
                await ws.close(code, f"as asked {code}")
                return
            if isinstance(message, str):
                await ws.send_text(message)
            else:
                await ws.send_bytes(message)
    except ConnectionClosed:
        pass


def _compression(deflate: DeflateOptions | None) -> Any:
    return "deflate" if deflate is not None else None


@pytest.mark.parametrize("deflate", DEFLATE, ids=IDS)
async def test_their_client_our_server_messages(
    backend: backends.Backend, kernel: KernelLink, deflate: DeflateOptions | None
) -> None:
    async with our_server(backend, kernel, echo, deflate) as port:

        def client() -> list[Any]:
            got: list[Any] = []
            with (
                kernel.inside(),
                peer_connect(
                    f"ws://{kernel.host}:{port}/x",
                    compression=_compression(deflate),
                    max_size=2 * BIG,
                    open_timeout=10,
                ) as ws,
            ):
                got.append(ws.response.headers.get("Sec-WebSocket-Extensions"))
                ws.send("héllo ✓")
                got.append(ws.recv(timeout=10))
                ws.send(b"\x00\xff" * 10)
                got.append(ws.recv(timeout=10))
                ws.send(["frag", "mented ", "text"])  # a fragmented message
                got.append(ws.recv(timeout=10))
                ws.send([b"a" * 70000, b"b"])
                got.append(ws.recv(timeout=10))
                big = bytes(range(256)) * (BIG // 256)
                ws.send(big)
                got.append(ws.recv(timeout=30) == big)
                got.append(ws.ping(b"pp").wait(timeout=10))
            return got

        got = await backend.run_in_thread(client)
    negotiated, *rest = got
    assert (negotiated is not None) is (deflate is not None)
    assert rest == ["héllo ✓", b"\x00\xff" * 10, "fragmented text", b"a" * 70000 + b"b", True, True]


@pytest.mark.parametrize("deflate", DEFLATE, ids=IDS)
async def test_their_client_our_server_close_codes(
    backend: backends.Backend, kernel: KernelLink, deflate: DeflateOptions | None
) -> None:
    seen: list[tuple[int, str]] = []

    async def record(ws: WebSocket) -> None:
        try:
            while True:
                await ws.receive()
        except ConnectionClosed as exc:
            seen.append((exc.code, exc.reason))

    async with our_server(backend, kernel, record, deflate) as port:

        def client() -> list[int | None]:
            echoed = []
            for code in CODES:
                with (
                    kernel.inside(),
                    peer_connect(
                        f"ws://{kernel.host}:{port}/", compression=_compression(deflate)
                    ) as ws,
                ):
                    ws.close(code, f"r{code}")
                    rcvd = ws.protocol.close_rcvd
                    echoed.append(rcvd.code if rcvd is not None else None)
            return echoed

        echoed = await backend.run_in_thread(client)
        for _ in range(100):  # the last handler may still be finishing
            if len(seen) == len(CODES):
                break
            await backend.sleep(0.05)
    assert seen == [(code, f"r{code}") for code in CODES]
    assert echoed == CODES  # section 5.5.1: the Close is echoed with its code


@pytest.mark.parametrize("deflate", DEFLATE, ids=IDS)
async def test_our_server_closes_with_each_code(
    backend: backends.Backend, kernel: KernelLink, deflate: DeflateOptions | None
) -> None:
    async with our_server(backend, kernel, echo, deflate) as port:

        def client() -> list[tuple[int, str]]:
            got = []
            for code in CODES:
                with (
                    kernel.inside(),
                    peer_connect(
                        f"ws://{kernel.host}:{port}/", compression=_compression(deflate)
                    ) as ws,
                ):
                    ws.send(f"close {code}")
                    with pytest.raises(PeerClosed) as info:
                        ws.recv(timeout=10)
                    rcvd = info.value.rcvd
                    assert rcvd is not None
                    got.append((rcvd.code, rcvd.reason))
            return got

        got = await backend.run_in_thread(client)
    assert got == [(code, f"as asked {code}") for code in CODES]


async def test_their_client_gets_426_for_another_version(
    backend: backends.Backend, kernel: KernelLink
) -> None:
    async with our_server(backend, kernel, echo, None) as port:

        def client() -> int:
            with pytest.raises(InvalidStatus) as info, kernel.inside():
                peer_connect(
                    f"ws://{kernel.host}:{port}/",
                    additional_headers={"Sec-WebSocket-Version": "8"},
                    open_timeout=10,
                )
            return int(info.value.response.status_code)

        # websockets sends its own version field too: two fields, not "13" alone: refused.
        assert await backend.run_in_thread(client) == 426


@contextlib.contextmanager
def their_server(deflate: DeflateOptions | None, kernel: KernelLink) -> Iterator[int]:
    """websockets' threaded server: echoes, ``close <code>`` closes with that code."""

    def handler(ws: Any) -> None:
        try:
            for message in ws:
                if isinstance(message, str) and message.startswith("close "):
                    code = int(message[6:])
                    ws.close(code, f"as asked {code}")
                    return
                ws.send(message)
        except PeerClosed:
            pass

    with kernel.inside():
        server = peer_serve(
            handler, kernel.peer_host, 0, compression=_compression(deflate), max_size=2 * BIG
        )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.socket.getsockname()[1]
    finally:
        server.shutdown()
        thread.join(10)


async def _connect(
    net: backends.Backend, kernel: KernelLink, port: int, deflate: DeflateOptions | None
) -> WebSocket:
    flow = await net.tcp_connect(kernel.peer_host, port, timeout=10)
    authority = f"{kernel.peer_host}:{port}"
    return await connect(flow, net, authority, "/", deflate=deflate, config=LIMITS)


@pytest.mark.parametrize("deflate", DEFLATE, ids=IDS)
async def test_our_client_their_server(
    backend: backends.Backend, kernel: KernelLink, deflate: DeflateOptions | None
) -> None:
    with their_server(deflate, kernel) as port:
        ws = await _connect(backend, kernel, port, deflate)
        assert (ws._conn._compressor is not None) is (deflate is not None)
        await ws.send_text("héllo ✓")
        assert await ws.receive() == "héllo ✓"
        await ws.send_bytes(b"\x00\xff" * 10)
        assert await ws.receive() == b"\x00\xff" * 10
        first, *rest = _fragments()
        await ws.send(first)
        between = await ws.ping(b"between")  # a control frame inside a (compressed) message
        for event in rest:
            await ws.send(event)
        assert await ws.receive() == "fragmented text"
        assert between.is_set()
        big = bytes(range(256)) * (BIG // 256)
        await ws.send_bytes(big)
        assert await ws.receive() == big
        pong = await ws.ping(b"pp")
        await ws.send_text("after ping")
        assert await ws.receive() == "after ping"  # the pong came before the echo
        assert pong.is_set()
        await ws.close()
        with pytest.raises(ConnectionClosed) as info:
            await ws.receive()
        assert info.value.code == 1000


@pytest.mark.parametrize("deflate", DEFLATE, ids=IDS)
async def test_client_websocket_their_server(
    backend: backends.Backend, kernel: KernelLink, deflate: DeflateOptions | None
) -> None:
    with their_server(deflate, kernel) as port:
        url = f"ws://{kernel.peer_host}:{port}/"
        async with (
            Client(backend) as client,
            client.websocket(url, deflate=deflate, config=LIMITS) as ws,
        ):
            await ws.send_text("héllo ✓")
            assert await ws.receive() == "héllo ✓"
            for event in _fragments():
                await ws.send(event)
            assert await ws.receive() == "fragmented text"
            big = os.urandom(BIG)
            await ws.send_bytes(big)
            assert await ws.receive() == big
            pong = await ws.ping(b"pp")
            await ws.send_bytes(b"after ping")
            assert await ws.receive() == b"after ping"
            assert pong.is_set()
        with pytest.raises(ConnectionClosed) as info:
            await ws.receive()
        assert info.value.code == 1000  # leaving the block closed it normally


def _fragments() -> list[Any]:
    from cohttp.ws import Text

    return [Text("frag", final=False), Text("mented ", final=False), Text("text")]


@pytest.mark.parametrize("deflate", DEFLATE, ids=IDS)
async def test_our_client_close_codes_both_ways(
    backend: backends.Backend, kernel: KernelLink, deflate: DeflateOptions | None
) -> None:
    with their_server(deflate, kernel) as port:
        for code in CODES:
            ws = await _connect(backend, kernel, port, deflate)
            await ws.send_text(f"close {code}")
            with pytest.raises(ConnectionClosed) as info:
                await ws.receive()
            assert (info.value.code, info.value.reason) == (code, f"as asked {code}")
        for code in CODES:
            ws = await _connect(backend, kernel, port, deflate)
            await ws.close(code, "bye")
            assert ws._conn.close_received is not None
            assert ws._conn.close_received.code == code  # websockets echoes the code


TUNED = [
    # (what our side asks for, what the websockets peer asks for)
    (
        DeflateOptions(server_no_context_takeover=True, client_max_window_bits=9),
        {"client_no_context_takeover": True, "server_max_window_bits": 10},
    ),
    (
        DeflateOptions(client_no_context_takeover=True, server_max_window_bits=8),
        {"server_no_context_takeover": True},
    ),
]


@pytest.mark.parametrize(("ours", "theirs"), TUNED, ids=["takeover-off-bits", "bits-8"])
async def test_deflate_parameters_their_client_our_server(
    backend: backends.Backend, kernel: KernelLink, ours: DeflateOptions, theirs: dict[str, Any]
) -> None:
    from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory

    async with our_server(backend, kernel, echo, ours) as port:

        def client() -> tuple[str | None, list[Any]]:
            factory = ClientPerMessageDeflateFactory(**theirs)
            text = "compressible text, " * 200
            with (
                kernel.inside(),
                peer_connect(
                    f"ws://{kernel.host}:{port}/", extensions=[factory], compression=None
                ) as ws,
            ):
                echoed = []
                for message in (text, text.encode(), text):  # the window carries over, or not
                    ws.send(message)
                    echoed.append(ws.recv(timeout=10) == message)
                return ws.response.headers.get("Sec-WebSocket-Extensions"), echoed

        agreed, echoed = await backend.run_in_thread(client)
    assert agreed is not None and agreed.startswith("permessage-deflate")
    expected = {"server_no_context_takeover", "client_no_context_takeover"}
    expected.add("server_max_window_bits=10" if "server_max_window_bits" in theirs else "")
    expected.add("server_max_window_bits=8" if ours.server_max_window_bits == 8 else "")
    assert expected - {""} <= {p.strip() for p in agreed.split(";")}
    assert echoed == [True, True, True]


TUNED_CLIENT = [
    TUNED[0],
    # websockets declines server_max_window_bits=8 (zlib cannot compress with it); 9 it takes
    (
        DeflateOptions(client_no_context_takeover=True, server_max_window_bits=9),
        {"server_no_context_takeover": True, "client_max_window_bits": 9},
    ),
]


@pytest.mark.parametrize(("ours", "theirs"), TUNED_CLIENT, ids=["takeover-off-bits", "bits-9"])
async def test_deflate_parameters_our_client_their_server(
    backend: backends.Backend, kernel: KernelLink, ours: DeflateOptions, theirs: dict[str, Any]
) -> None:
    from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory

    def handler(ws: Any) -> None:
        with contextlib.suppress(PeerClosed):
            for message in ws:
                ws.send(message)

    with kernel.inside():
        server = peer_serve(
            handler,
            kernel.peer_host,
            0,
            extensions=[ServerPerMessageDeflateFactory(**theirs)],
            compression=None,
        )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.socket.getsockname()[1]
        ws = await _connect(backend, kernel, port, ours)
        assert ws._conn._compressor is not None  # negotiated
        text = "compressible text, " * 200
        for message in (text, text.encode(), text):
            if isinstance(message, str):
                await ws.send_text(message)
            else:
                await ws.send_bytes(message)
            assert await ws.receive() == message
        await ws.close()
    finally:
        server.shutdown()
        thread.join(10)


async def _asgi_echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A plain ASGI WebSocket echo app, recording how each connection ended."""
    assert scope["type"] == "websocket"
    assert (await receive())["type"] == "websocket.connect"
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            _ASGI_DISCONNECTS.append(message["code"])
            return
        await send({"type": "websocket.send", "text": message.get("text")})


_ASGI_DISCONNECTS: list[int] = []


@pytest.mark.parametrize("api", ["handler", "asgi"])
async def test_their_client_sees_1001_at_server_shutdown(
    backend: backends.Backend, kernel: KernelLink, api: str
) -> None:
    """RFC 6455 7.4.1: a server going down sends Close 1001 (Going Away) on its open
    WebSockets and waits (boundedly) for the peer's Close, on the handler API and on the
    ASGI websocket scope alike; the session sees the closure as a normal one."""
    from cohttp.asgi import ASGIHandler

    _ASGI_DISCONNECTS.clear()
    ended: list[int] = []

    async def session(ws: WebSocket, request: Request) -> None:
        try:
            while True:
                await ws.send_text(await ws.receive())  # type: ignore[arg-type]
        except ConnectionClosed as exc:
            ended.append(exc.code)

    async with contextlib.AsyncExitStack() as stack:
        if api == "asgi":
            handler: Any = await stack.enter_async_context(
                ASGIHandler(_asgi_echo, backend, lifespan=False)
            )
        else:
            handler = endpoint(session, config=LIMITS)
        server = Server(handler, access_log=False)
        _host, port = await server.listen(backend, kernel.host, 0)
        opened = threading.Event()
        seen: list[Any] = []

        def client() -> None:
            with (
                kernel.inside(),
                peer_connect(f"ws://{kernel.host}:{port}/", open_timeout=10) as ws,
            ):
                ws.send("before")
                seen.append(ws.recv(timeout=10))
                opened.set()
                with pytest.raises(PeerClosed) as info:
                    ws.recv(timeout=10)
                seen.append(info.value.rcvd)

        async with backend.task_group() as tg:
            tg.start_soon(server.serve_forever)
            tg.start_soon(backend.run_in_thread, client)
            with backend.fail_after(10):
                while not opened.is_set():
                    await backend.sleep(0.01)
                start = backend.now()
                await server.shutdown(grace=5.0)
            took = backend.now() - start
    echoed, rcvd = seen
    assert echoed == "before"
    assert rcvd is not None and (rcvd.code, rcvd.reason) == (1001, "server shutting down")
    assert took < 3.0  # the peer answered the Close: no waiting out the grace
    if api == "asgi":
        assert _ASGI_DISCONNECTS == [1001]
    else:
        assert ended == [1001]
