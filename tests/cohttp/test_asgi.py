"""The ASGI bridge: an ASGI 3 app (lifespan, streaming both ways) on our server."""

from __future__ import annotations

from typing import Any

import backends
from cohttp import Request, Server
from cohttp.asgi import ASGIHandler
from cohttp.client import Client

from .helpers import running


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
