"""The ASGI bridge: an ASGI 3 app (lifespan, streaming both ways) on our server."""

from __future__ import annotations

from typing import Any

import pytest

import backends
from cohttp import Request, Server, ws
from cohttp.asgi import ASGIHandler
from cohttp.client import Client
from cohttp.codec import ProtocolError

from .helpers import RawClient, running


def make_app(events: list[str]) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                events.append(message["type"])
                if message["type"] == "lifespan.startup":
                    scope["state"]["greeting"] = "hi"
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        assert scope["type"] == "http"
        if scope["path"] == "/echo":
            body = b""
            while True:
                message = await receive()
                body += message["body"]
                if not message["more_body"]:
                    break
            await send(
                {
                    "type": "http.response.start",
                    "status": 201,
                    "headers": [
                        (b"x-path", scope["raw_path"]),
                        (b"x-query", scope["query_string"]),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
        elif scope["path"] == "/stream":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            for i in range(5):
                await send({"type": "http.response.body", "body": b"%d;" % i, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        elif scope["path"] == "/crash":
            raise RuntimeError("app bug")
        else:
            text = f"{scope['method']} {scope['path']} {scope['state'].get('greeting')}"
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"text/plain")],
                }
            )
            await send({"type": "http.response.body", "body": text.encode()})

    return app


async def test_asgi_app(backend: backends.Backend) -> None:
    events: list[str] = []
    async with ASGIHandler(make_app(events), backend) as handler:
        assert events == ["lifespan.startup"]
        async with running(backend, Server(handler)) as (host, port), Client(backend) as c:
            base = f"http://{host}:{port}"
            r = await c.get(base + "/a%20b")
            assert r.status == 200 and r.content == b"GET /a b hi"
            r = await c.post(base + "/echo?x=1", body=b"payload")
            assert r.status == 201 and r.content == b"payload"
            assert r.headers["x-query"] == "x=1" and r.headers["x-path"] == "/echo"

            async def gen():  # type: ignore[no-untyped-def]
                yield b"a"
                yield b"b"

            r = await c.post(base + "/echo", body=gen())
            assert r.content == b"ab"
            r = await c.get(base + "/stream")
            assert r.content == b"0;1;2;3;4;" and r.headers["transfer-encoding"] == "chunked"
            r = await c.get(base + "/crash")
            assert r.status == 500
    assert events == ["lifespan.startup", "lifespan.shutdown"]


async def test_app_without_lifespan(backend: backends.Backend) -> None:
    async def plain(scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async with (
        ASGIHandler(plain, backend) as handler,
        running(backend, Server(handler)) as (host, port),
        Client(backend) as c,
    ):
        assert (await c.get(f"http://{host}:{port}/")).status == 204


def test_scope_of_an_absolute_form_target(backend: backends.Backend) -> None:
    # RFC 9112 3.2.2: the target's authority, not the Host field, names the host
    handler = ASGIHandler(make_app([]), backend)
    request = Request("GET", "http://a.test:8080/x%20y?q=1", [("Host", "b.test")])
    scope = handler.scope_for(request)
    assert (scope["path"], scope["raw_path"], scope["query_string"]) == ("/x y", b"/x%20y", b"q=1")
    assert scope["headers"] == [(b"host", b"a.test:8080")]
    plain = handler.scope_for(Request("GET", "/", [("Host", "b.test"), ("X-A", "1")]))
    assert plain["headers"] == [(b"host", b"b.test"), (b"x-a", b"1")]


def edge_app(log: list[str]) -> Any:
    """Apps that stream with a declared length, lie about it, fail mid-response, answer
    HEAD, wait for the disconnect and work after the response."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            raise RuntimeError("no lifespan here")  # auto: treated as unsupported
        path = scope["path"]
        length = [(b"content-length", b"6")]
        if path == "/declared":
            await send({"type": "http.response.start", "status": 200, "headers": length})
            await send({"type": "http.response.body", "body": b"abc", "more_body": True})
            await send({"type": "http.response.body", "body": b"def"})
        elif path == "/too-long":
            await send({"type": "http.response.start", "status": 200, "headers": length})
            await send({"type": "http.response.body", "body": b"abc", "more_body": True})
            try:
                await send({"type": "http.response.body", "body": b"defgh"})
            except ValueError as exc:  # codec.LocalProtocolError
                log.append(str(exc))
                raise
        elif path == "/head":
            await send({"type": "http.response.start", "status": 200, "headers": length})
            await send({"type": "http.response.body", "body": b""})
        elif path == "/fail-midway":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"partial", "more_body": True})
            raise RuntimeError("app bug after the head")
        elif path == "/after":
            message = await receive()
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": message["body"]})
            log.append((await receive())["type"])  # the response is complete: disconnect
            log.append("background work done")
        elif path == "/bad-header":
            await send(
                {"type": "http.response.start", "status": 200, "headers": [(b"x-a", b"1\r\nx: y")]}
            )
            await send({"type": "http.response.body", "body": b""})

    return app


async def test_asgi_responses_are_framed_by_the_codec(backend: backends.Backend) -> None:
    log: list[str] = []
    async with (
        ASGIHandler(edge_app(log), backend) as handler,
        running(backend, Server(handler)) as address,
    ):
        raw = await RawClient.connect(backend, address)
        await raw.send(b"GET /declared HTTP/1.1\r\nHost: a\r\n\r\n")
        head, body = await raw.response()
        assert (head.status, head.headers.get("content-length"), body) == (200, "6", b"abcdef")
        assert head.headers.get("transfer-encoding") is None  # the declared length is used
        await raw.send(b"HEAD /head HTTP/1.1\r\nHost: a\r\n\r\n", "HEAD")
        head, body = await raw.response()
        assert (head.headers.get("content-length"), body) == ("6", b"")  # GET's length kept
        await raw.send(b"POST /after HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi", "POST")
        head, body = await raw.response()
        assert body == b"hi"
        await raw.send(b"GET /bad-header HTTP/1.1\r\nHost: a\r\n\r\n")
        head, body = await raw.response()
        assert head.status == 500  # CR LF in a value: refused, never written
        assert log == ["http.disconnect", "background work done"]
        await raw.send(b"GET /too-long HTTP/1.1\r\nHost: a\r\n\r\n")
        with pytest.raises((EOFError, backends.NetworkError, ProtocolError)):
            await raw.response()  # 6 bytes declared, 8 offered: cut after the head and 3
        assert "longer than its Content-Length 6" in log[-1]
        await raw.flow.close()
        raw = await RawClient.connect(backend, address)
        await raw.send(b"GET /fail-midway HTTP/1.1\r\nHost: a\r\n\r\n")
        with pytest.raises((EOFError, backends.NetworkError, ProtocolError)):
            await raw.response()  # a chunked body without its last chunk: incomplete
        await raw.flow.close()


def ws_app(events: list[Any]) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            raise RuntimeError("no lifespan")
        assert scope["type"] == "websocket"
        events.append((scope["path"], scope["scheme"], scope["subprotocols"]))
        assert (await receive())["type"] == "websocket.connect"
        if scope["path"] == "/refuse":
            await send({"type": "websocket.close"})
            return
        await send({"type": "websocket.accept", "subprotocol": "chat"})
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                events.append(message["code"])
                return
            if message.get("text") == "bye":
                await send({"type": "websocket.close", "code": 4000, "reason": "asked"})
                continue
            if message.get("text") is not None:
                await send({"type": "websocket.send", "text": "echo " + message["text"]})
            else:
                await send({"type": "websocket.send", "bytes": message["bytes"][::-1]})

    return app


async def test_asgi_websocket_scope(backend: backends.Backend) -> None:
    """An upgrade request runs the app in the websocket scope through cohttp.ws; closing
    before accepting is a 403; an HTTP request on the same server still works."""
    events: list[Any] = []
    async with (
        ASGIHandler(ws_app(events), backend) as handler,
        running(backend, Server(handler)) as address,
    ):
        flow = await backend.tcp_connect(*address)
        sock = await ws.connect(flow, backend, "a", "/chat?x=1", subprotocols=["chat"])
        assert sock.subprotocol == "chat"
        await sock.send_text("hi")
        assert await sock.receive() == "echo hi"
        await sock.send_bytes(b"\x00\x01\x02" * 30000)
        assert await sock.receive() == b"\x02\x01\x00" * 30000
        await sock.send_text("bye")
        with pytest.raises(ws.ConnectionClosed) as closed:
            await sock.receive()
        assert (closed.value.code, closed.value.reason) == (4000, "asked")
        await flow.close()
        flow = await backend.tcp_connect(*address)
        with pytest.raises(ws.HandshakeError) as refused:
            await ws.connect(flow, backend, "a", "/refuse")
        assert refused.value.status == 403
        await flow.close()
    assert events[0] == ("/chat", "ws", ["chat"])
    assert events[1] == 4000  # the close handshake the app started, seen as a disconnect
    assert events[2] == ("/refuse", "ws", [])
