"""The ASGI bridge's fast path: a whole response framed from the app's byte-pair fields
by codec.encode_raw_response must be byte for byte what the general path writes."""

from __future__ import annotations

import contextvars
from typing import Any

import pytest

import backends
from cohttp import Server, codec
from cohttp.asgi import ASGIHandler
from cohttp.headers import Headers

from .helpers import RawClient, running


def undated(wire: bytes) -> list[bytes]:
    """The lines of ``wire`` but its Date (two encodings may straddle a second)."""
    return [line for line in wire.split(b"\r\n") if not line.startswith(b"date: ")]


@pytest.mark.parametrize(
    "fields",
    [
        [],
        [(b"content-type", b"text/plain")],
        [(b"Content-Type", b"text/plain"), (b"Content-Length", b"5")],
        [(b"x-a", b"1"), (b"content-length", b"0005"), (b"x-b", b"\xe9")],
        [(b"set-cookie", b"a=1"), (b"set-cookie", b"b=2")],
    ],
)
def test_raw_response_is_the_general_one(fields: list[tuple[bytes, bytes]]) -> None:
    body = b"hello"
    fast = codec.encode_raw_response("GET", "HTTP/1.1", 200, fields, body, b"server: t\r\n")
    kept = [
        (name.decode("latin-1"), value.decode("latin-1"))
        for name, value in fields
        if name.lower() != b"content-length"
    ]
    head, writer, alive = codec.encode_response(
        "GET", "HTTP/1.1", 200, Headers(kept), length=len(body), server_line=b"server: t\r\n"
    )
    assert alive and fast is not None
    assert undated(fast) == undated(head + writer.data(body) + writer.end())
    # a second time from the cache: the same bytes
    again = codec.encode_raw_response("GET", "HTTP/1.1", 200, fields, body, b"server: t\r\n")
    assert again is not None and undated(again) == undated(fast)


@pytest.mark.parametrize(
    ("method", "version", "status", "fields", "body"),
    [
        ("HEAD", "HTTP/1.1", 200, [], b"x"),  # no body on the wire: the general path
        ("GET", "HTTP/1.0", 200, [], b"x"),  # keep-alive must be spelt out
        ("GET", "HTTP/1.1", 204, [], b""),  # no Content-Length on a 204
        ("GET", "HTTP/1.1", 200, [(b"content-length", b"2")], b"x"),  # a lie: an error
        ("GET", "HTTP/1.1", 200, [(b"content-length", b"1 ")], b"x"),
        ("GET", "HTTP/1.1", 200, [(b"content-length", b"1"), (b"content-length", b"1")], b"x"),
        ("GET", "HTTP/1.1", 200, [(b"connection", b"close")], b"x"),
        ("GET", "HTTP/1.1", 200, [(b"transfer-encoding", b"chunked")], b"x"),
        ("GET", "HTTP/1.1", 200, [(b"date", b"Mon, 07 Dec 2026 03:00:00 GMT")], b"x"),
        ("GET", "HTTP/1.1", 200, [(b"x-a", b"1\r\nx-b: 2")], b"x"),  # splitting: refused
        ("GET", "HTTP/1.1", 200, [(b"x a", b"1")], b"x"),
        ("GET", "HTTP/1.1", 200, [[b"x-a", b"1"]], b"x"),  # lists: not cached, general
        ("GET", "HTTP/1.1", 200, [("x-a", "1")], b"x"),  # str: not the ASGI form
        ("GET", "HTTP/1.1", 200, [(b"x-a", b"1", b"2")], b"x"),
        ("GET", "HTTP/1.1", 200, None, b"x"),
        ("GET", "HTTP/1.1", 200, [], bytearray(b"x")),
    ],
)
def test_raw_response_leaves_the_rest_to_the_general_path(
    method: str, version: str, status: int, fields: Any, body: Any
) -> None:
    assert codec.encode_raw_response(method, version, status, fields, body, b"") is None


async def test_fast_and_general_paths_write_the_same_bytes(
    backend: backends.Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same response sent with tuple fields (the fast path) and with list fields (the
    general path, which converts them) reaches the client identical."""
    framed: list[bool] = []
    encode = codec.encode_raw_response

    def spy(*args: Any) -> bytes | None:
        wire = encode(*args)
        framed.append(wire is not None)
        return wire

    monkeypatch.setattr(codec, "encode_raw_response", spy)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise RuntimeError("no lifespan")
        pairs = [(b"content-type", b"text/plain"), (b"x-b", b"2"), (b"content-length", b"3")]
        fields: Any = pairs if scope["path"] == "/fast" else [list(p) for p in pairs]
        message = await receive()
        assert message == {"type": "http.request", "body": b"", "more_body": False}
        await send({"type": "http.response.start", "status": 201, "headers": fields})
        await send({"type": "http.response.body", "body": b"abc"})
        assert (await receive())["type"] == "http.disconnect"  # complete: no waiting

    async with (
        ASGIHandler(app, backend) as handler,
        running(backend, Server(handler)) as address,
    ):
        seen = []
        for path in (b"/fast", b"/slow", b"/fast"):
            flow = await backend.tcp_connect(*address)
            await flow.write(b"GET " + path + b" HTTP/1.1\r\nHost: a\r\n\r\n")  # keep-alive
            wire = b""
            with backend.move_on_after(5):
                while not wire.endswith(b"\r\n\r\nabc"):
                    wire += await flow.read()
            await flow.close()
            seen.append(undated(wire))
        assert framed == [True, False, True]  # the fast path, the general one, the fast one
        assert seen[0] == seen[1] == seen[2] and seen[0][0] == b"HTTP/1.1 201 Created"
        assert b"content-length: 3" in seen[0] and seen[0][-1] == b"abc"
        raw = await RawClient.connect(backend, address)
        for _ in range(3):  # keep-alive: the fast path's answers, one after another
            await raw.send(b"GET /fast HTTP/1.1\r\nHost: a\r\n\r\n")
            head, body = await raw.response()
            assert (head.status, body, head.keep_alive) == (201, b"abc", True)
        await raw.flow.close()


def lifespan_app(log: list[str], fail: str = "") -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "lifespan"
        while True:
            message = await receive()
            log.append(message["type"])
            if message["type"] == "lifespan.startup":
                scope["state"]["db"] = "open"
                kind = "failed" if fail == "startup" else "complete"
                await send({"type": f"lifespan.startup.{kind}", "message": "no db"})
                if fail == "return":
                    return  # supports start-up only: shutdown is then skipped
            else:
                kind = "failed" if fail == "shutdown" else "complete"
                await send({"type": f"lifespan.shutdown.{kind}", "message": "stuck"})
                return

    return app


async def test_lifespan_messages_both_ways(
    backend: backends.Backend, caplog: pytest.LogCaptureFixture
) -> None:
    """The lifespan protocol over the backend's own events (no anyio streams): start-up
    and shutdown are acknowledged, a failed start-up raises, a failed shutdown is logged,
    and an app that stops listening after start-up does not hang the shutdown."""
    log: list[str] = []
    async with ASGIHandler(lifespan_app(log), backend) as handler:
        assert handler.lifespan_supported and handler.state == {"db": "open"}
    assert log == ["lifespan.startup", "lifespan.shutdown"]

    from cohttp.asgi import ASGIError

    with pytest.raises(ASGIError, match="start-up failed: no db"):
        async with ASGIHandler(lifespan_app([], "startup"), backend):
            pass
    async with ASGIHandler(lifespan_app([], "shutdown"), backend):
        pass
    assert "ASGI app shutdown failed: stuck" in caplog.text
    log.clear()
    with backend.move_on_after(5) as scope:
        async with ASGIHandler(lifespan_app(log, "return"), backend):
            pass
    assert not scope.cancelled_caught and log == ["lifespan.startup"]


REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


async def test_each_request_has_its_own_context(backend: backends.Backend) -> None:
    """As under uvicorn (a task per request), a context variable an app sets for one
    request is not seen by the next ones on the same keep-alive connection, although the
    app runs on the connection's task; a suspended app keeps its own values."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise RuntimeError("no lifespan")
        seen = REQUEST_ID.get()
        REQUEST_ID.set(scope["path"])
        await backend.sleep(0.01)  # suspended: the value must survive the wait
        assert REQUEST_ID.get() == scope["path"]
        body = f"{seen} {REQUEST_ID.get()}".encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    async with (
        ASGIHandler(app, backend) as handler,
        running(backend, Server(handler)) as address,
    ):
        raw = await RawClient.connect(backend, address)
        answers = []
        for path in (b"/a", b"/b", b"/c"):  # /a on the task's context, then in copies
            await raw.send(b"GET " + path + b" HTTP/1.1\r\nHost: a\r\n\r\n")
            answers.append((await raw.response())[1])
        await raw.flow.close()
    assert answers == [b"- /a", b"- /b", b"- /c"]
    assert REQUEST_ID.get() == "-"


async def test_an_app_may_return_any_awaitable(backend: backends.Backend) -> None:
    """ASGI asks for an awaitable, not a coroutine: one with its own ``__await__`` runs
    (in its own context) too."""

    class Awaiting:
        def __init__(self, steps: Any) -> None:
            self.steps = steps

        def __await__(self) -> Any:
            return self.steps.__await__()

    async def inner(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await backend.sleep(0)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"awaited"})

    def app(scope: dict[str, Any], receive: Any, send: Any) -> Awaiting:
        return Awaiting(inner(scope, receive, send))

    async with (
        ASGIHandler(app, backend, lifespan=False) as handler,
        running(backend, Server(handler)) as address,
    ):
        raw = await RawClient.connect(backend, address)
        await raw.send(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        assert (await raw.response())[1] == b"awaited"
        await raw.flow.close()


async def test_a_body_with_a_length_comes_whole(backend: backends.Backend) -> None:
    """A body with a Content-Length (up to 1 MB) is one http.request message however it
    arrived: with the head, in pieces, or empty; a chunked one is passed on as it comes."""
    got: list[tuple[int, bool]] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise RuntimeError("no lifespan")
        size = 0
        while True:
            message = await receive()
            got.append((len(message["body"]), message["more_body"]))
            size += len(message["body"])
            if not message["more_body"]:
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"%d" % size})

    async with (
        ASGIHandler(app, backend) as handler,
        running(backend, Server(handler)) as address,
    ):
        raw = await RawClient.connect(backend, address)
        head = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n"
        await raw.send(head % 5 + b"hello", "POST")
        assert (await raw.response())[1] == b"5"
        await raw.send(head % 300_000 + b"x" * 1000, "POST")
        await backend.sleep(0.05)  # the rest comes later, in pieces
        for _ in range(3):
            await raw.flow.write(b"y" * 99_000 + b"z" * 1000 if _ < 2 else b"y" * 99_000)
        assert (await raw.response())[1] == b"300000"
        await raw.send(head % 0, "POST")
        assert (await raw.response())[1] == b"0"
        chunked = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n"
        await raw.send(chunked, "POST")
        await backend.sleep(0.05)
        await raw.flow.write(b"2\r\nde\r\n0\r\n\r\n")
        assert (await raw.response())[1] == b"5"
        await raw.flow.close()
    assert got[:3] == [(5, False), (300_000, False), (0, False)]
    assert got[3:] == [(3, True), (2, True), (0, False)]


async def test_repeated_requests_get_fresh_scopes(backend: backends.Backend) -> None:
    """A repeated request's scope comes from a kept prototype: what an app changes in one
    scope (its fields, its headers list, its state) is not seen by the next request with
    the same head, nor by one with another method, version or target; and a new
    ``root_path``/``server`` on the handler shows in the next scope (the root path also
    in front of ``path``, as uvicorn puts it)."""
    seen: list[tuple[Any, ...]] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise RuntimeError("no lifespan")
        seen.append(
            (
                scope["method"],
                scope["http_version"],
                scope["path"],
                scope["query_string"],
                scope["root_path"],
                scope["server"],
                list(scope["headers"]),
                dict(scope["state"]),
                "mutated" in scope,
            )
        )
        scope["mutated"] = True
        scope["path"] = "/changed"
        scope["headers"].append((b"x-added", b"1"))
        scope["state"]["seen"] = True
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    async with (
        ASGIHandler(app, backend) as handler,
        running(backend, Server(handler)) as address,
    ):
        raw = await RawClient.connect(backend, address)
        head = b"%s %s HTTP/1.%s\r\nHost: a\r\nX-A: 1\r\n\r\n"
        for method, target, minor in [
            (b"GET", b"/x?q=1", b"1"),
            (b"GET", b"/x?q=1", b"1"),
            (b"HEAD", b"/x?q=1", b"1"),
            (b"GET", b"/y%20z", b"1"),
        ]:
            await raw.send(head % (method, target, minor), method.decode())
            await raw.response()
        handler.root_path = "/mounted"
        handler.server = ("192.0.2.1", 80)
        await raw.send(head % (b"GET", b"/x?q=1", b"1"))
        await raw.response()
        await raw.flow.close()
        raw = await RawClient.connect(backend, address)  # HTTP/1.0: closed after
        await raw.send(head % (b"GET", b"/x?q=1", b"0"))
        await raw.response()
        await raw.flow.close()
    fields = [(b"host", b"a"), (b"x-a", b"1")]
    address_ = handler.server
    assert seen == [
        ("GET", "1.1", "/x", b"q=1", "", seen[0][5], fields, {}, False),
        ("GET", "1.1", "/x", b"q=1", "", seen[0][5], fields, {}, False),
        ("HEAD", "1.1", "/x", b"q=1", "", seen[0][5], fields, {}, False),
        ("GET", "1.1", "/y z", b"", "", seen[0][5], fields, {}, False),
        ("GET", "1.1", "/mounted/x", b"q=1", "/mounted", address_, fields, {}, False),
        ("GET", "1.0", "/mounted/x", b"q=1", "/mounted", address_, fields, {}, False),
    ]


async def test_a_body_read_with_its_head_is_taken_at_once(backend: backends.Backend) -> None:
    """A body that arrived whole with its head is handed over in one message without a
    wait: no 100 Continue for a client that sent it anyway (RFC 9110 10.1.1), and a request
    pipelined behind it is answered next on the same connection."""
    bodies: list[bytes] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise RuntimeError("no lifespan")
        message = await receive()
        assert message["more_body"] is False
        bodies.append(message["body"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"%d" % len(message["body"])})

    async with (
        ASGIHandler(app, backend) as handler,
        running(backend, Server(handler)) as address,
    ):
        flow = await backend.tcp_connect(*address)
        post = b"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"
        await flow.write(post + b"hello" + b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        wire = b""
        while wire.count(b"HTTP/1.1 ") < 2 or not wire.endswith(b"\r\n\r\n0"):
            piece = await flow.read()
            assert piece, wire
            wire += piece
        await flow.close()
    assert bodies == [b"hello", b""]
    assert wire.startswith(b"HTTP/1.1 200 OK\r\n") and b" 100 " not in wire
    assert wire.count(b"HTTP/1.1 200 OK\r\n") == 2 and b"\r\n\r\n5HTTP/1.1 200" in wire
