"""WebSockets for users: cohttp.ws.endpoint / upgrade in a cohttp.Server handler, the
server's 426 for an upgrade nobody takes, and Client.websocket (ws:// and wss://)."""

from __future__ import annotations

import logging

import pytest

import backends
from cohttp import Request, Response, Server
from cohttp.client import Client, InvalidURL, UnsupportedProtocol
from cohttp.ws import ConnectionClosed, HandshakeError, WebSocket, accept_flow, endpoint, upgrade
from cohttp.ws.client import split_ws_url

from .helpers import RawClient, running


async def echo(ws: WebSocket, request: Request) -> None:
    async for message in ws:
        if message == "path?":
            await ws.send_text(request.target)
        elif message == "boom":
            raise RuntimeError("the session failed")
        elif isinstance(message, str):
            await ws.send_text(message)
        else:
            await ws.send_bytes(message)


HANDSHAKE = (
    b"GET /chat HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
)


async def test_endpoint_and_client_websocket(backend: backends.Backend) -> None:
    server = Server(endpoint(echo, subprotocols=["chat"]))
    async with (
        running(backend, server) as (host, port),
        Client(backend) as client,
        client.websocket(f"ws://{host}:{port}/room?x=1", subprotocols=["chat"]) as ws,
    ):
        assert ws.subprotocol == "chat"
        await ws.send_text("héllo")
        assert await ws.receive() == "héllo"
        await ws.send_bytes(b"\x00" * 100_000)
        assert await ws.receive() == b"\x00" * 100_000
        await ws.send_text("path?")
        assert await ws.receive() == "/room?x=1"


async def test_session_error_closes_with_1011(
    backend: backends.Backend, caplog: pytest.LogCaptureFixture
) -> None:
    async with (
        running(backend, Server(endpoint(echo))) as (host, port),
        Client(backend) as client,
        client.websocket(f"ws://{host}:{port}/") as ws,
    ):
        await ws.send_text("boom")
        with pytest.raises(ConnectionClosed) as closed:
            await ws.receive()
        assert closed.value.code == 1011
    assert "WebSocket session for / from" in caplog.text and "the session failed" in caplog.text


async def test_upgrade_inside_a_handler(backend: backends.Backend) -> None:
    async def handler(request: Request) -> Response:
        if request.path == "/ws":
            return await upgrade(request, echo, deflate=None)
        return Response.text("plain\n")

    async with running(backend, Server(handler)) as (host, port), Client(backend) as client:
        r = await client.get(f"http://{host}:{port}/")
        assert r.status == 200 and r.text == "plain\n"
        async with client.websocket(f"ws://{host}:{port}/ws") as ws:
            await ws.send_text("x")
            assert await ws.receive() == "x"


async def test_refusals_are_answered_and_logged(
    backend: backends.Backend, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "cohttp.ws")

    async def handler(request: Request) -> Response:
        if request.path == "/chat":
            return await upgrade(request, echo)
        return Response(404, b"not found\n")

    async with running(backend, Server(handler)) as addr:
        c = await RawClient.connect(backend, addr)
        # a plain request to a WebSocket endpoint: 426 naming the protocol (RFC 6455 4.2.2)
        await c.send(b"GET /chat HTTP/1.1\r\nHost: t\r\n\r\n")
        head, _ = await c.response()
        assert head.status == 426 and head.headers["upgrade"].lower() == "websocket"
        assert head.headers["sec-websocket-version"] == "13"
        # another version: 426 (4.4); the connection keeps serving
        await c.send(HANDSHAKE.replace(b"Version: 13", b"Version: 8") + b"\r\n")
        head, _ = await c.response()
        assert head.status == 426
        # malformed (no key): 400
        await c.send(HANDSHAKE.replace(b"Sec-WebSocket-Key", b"X-Key") + b"\r\n")
        head, _ = await c.response()
        assert head.status == 400
        # an upgrade to a path the handler does not upgrade: 426, not a silent 404
        await c.send(HANDSHAKE.replace(b"/chat", b"/elsewhere") + b"\r\n")
        head, body = await c.response()
        assert head.status == 426 and b"no WebSocket endpoint at /elsewhere" in body
        # a plain 404 stays a 404
        await c.send(b"GET /elsewhere HTTP/1.1\r\nHost: t\r\n\r\n")
        head, _ = await c.response()
        assert head.status == 404
        await c.close()
    assert "refused a WebSocket handshake for /chat" in caplog.text
    assert "Sec-WebSocket-Version '8' is not supported" in caplog.text
    assert "refused a WebSocket upgrade for /elsewhere" in caplog.text


async def test_client_sees_a_refusal(backend: backends.Backend) -> None:
    async def handler(request: Request) -> Response:
        return Response(404, b"nothing\n")

    async with running(backend, Server(handler)) as (host, port), Client(backend) as client:
        with pytest.raises(HandshakeError) as refused:
            async with client.websocket(f"ws://{host}:{port}/x"):
                pass
        assert refused.value.status == 426


def test_ws_urls() -> None:
    assert split_ws_url("ws://a.test/x?y") == (False, "a.test", 80, "/x?y", "a.test")
    assert split_ws_url("wss://a.test:8443") == (True, "a.test", 8443, "/", "a.test:8443")
    assert split_ws_url("WSS://[::1]:443/p") == (True, "::1", 443, "/p", "[::1]")
    with pytest.raises(UnsupportedProtocol):
        split_ws_url("ftp://a.test/")
    for bad in ("ws://a.test/#frag", "/relative", "ws:///x", "ws://a.test:0/"):
        with pytest.raises(InvalidURL):
            split_ws_url(bad)


async def test_wss_over_our_tls(backend: backends.Backend) -> None:
    trustme = pytest.importorskip("trustme", reason="needs trustme (test extra)")
    from backends.tls import client_context, server_context, wrap_server

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    with cert.private_key_and_cert_chain_pem.tempfile() as pem, ca.cert_pem.tempfile() as cafile:
        server_ctx = server_context(pem)
        client_ctx = client_context(cafile=cafile)
    listener = await backend.tcp_listen("127.0.0.1", 0)

    async def on_flow(flow: backends.Flow) -> None:
        tls = await wrap_server(flow, server_ctx)
        try:
            ws, target = await accept_flow(tls, backend)
        except HandshakeError:
            return
        await echo(ws, Request("GET", target))

    async with backend.task_group() as tg:
        tg.start_soon(listener.serve, on_flow)
        port = listener.address[1]
        async with (
            Client(backend) as client,
            client.websocket(f"wss://127.0.0.1:{port}/s", ssl_context=client_ctx) as ws,
        ):
            await ws.send_text("over TLS")
            assert await ws.receive() == "over TLS"
        await listener.close()
        tg.cancel_scope.cancel()


async def test_shutdown_sends_1001_and_stops_waiting_for_a_silent_peer(
    backend: backends.Backend,
) -> None:
    """A peer that never answers the server's Close 1001 holds the shutdown no longer than
    the WebSocket's close_timeout; a session that only sends sees the closure too."""
    from cohttp.ws import Config

    ended: list[str] = []

    async def ticker(ws: WebSocket, request: Request) -> None:  # sends, never receives
        try:
            while True:
                await ws.send_text("tick")
                await backend.sleep(0.05)
        except ConnectionClosed:
            ended.append("closed")

    config = Config(close_timeout=0.5, ping_interval=None)
    server = Server(endpoint(ticker, config=config), access_log=False)
    address = await server.listen(backend, "127.0.0.1", 0)
    async with backend.task_group() as tg:
        tg.start_soon(server.serve_forever)
        client = await RawClient.connect(backend, address)
        await client.flow.write(HANDSHAKE + b"\r\n")
        got = b""
        while b"tick" not in got:
            got += await client.flow.read()
        assert got.startswith(b"HTTP/1.1 101 ")
        took: list[float] = []

        async def shut_down() -> None:
            start = backend.now()
            await server.shutdown(grace=3.0)
            took.append(backend.now() - start)

        with backend.fail_after(5):
            async with backend.task_group() as shutting:
                shutting.start_soon(shut_down)
                # Read (and never answer) until the Close: once the server gives up
                # waiting it aborts the connection, and a reset may drop unread bytes.
                while b"\x88" not in got:
                    chunk = await client.flow.read()
                    assert chunk, "the server closed without a Close frame"
                    got += chunk
        client.flow.abort()
    close_frame = b"\x88\x16\x03\xe9server shutting down"  # 1001, unmasked from a server
    assert close_frame in got
    assert 0.4 < took[0] < 2.5  # waited close_timeout for the peer's Close, not the grace
    assert ended == ["closed"]
