"""cohttp.h2.server.serve_h2 on every backend: h2's client over a loopback connection
against a cohttp handler; concurrency, flow control both ways, streamed responses,
resets, deadlines and the graceful GOAWAY."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import h2.config
import h2.connection
import h2.events
import h2.settings
import pytest

import backends
import cohttp
from cohttp import STREAMED, Request, Response, ServerConfig
from cohttp.h2 import frames
from cohttp.h2.server import serve_h2

GET = [(b":method", b"GET"), (b":scheme", b"http"), (b":authority", b"a.test")]


class Client:
    """h2's client over a flow: send requests, collect whole responses."""

    def __init__(self, flow: backends.Flow, settings: dict[int, int] | None = None) -> None:
        self.flow = flow
        self.conn = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=True, header_encoding=None)
        )
        self.conn.initiate_connection()
        if settings:
            self.conn.update_settings(settings)
        self.responses: dict[int, dict[str, Any]] = {}
        self.terminated: h2.events.ConnectionTerminated | None = None
        self.eof = False
        self.ack = True

    async def flush(self) -> None:
        data = self.conn.data_to_send()
        if data:
            await self.flow.write(data)

    async def request(
        self, path: str, method: str = "GET", body: bytes = b"", extra: Any = ()
    ) -> int:
        sid = self.conn.get_next_available_stream_id()
        headers = [(b":method", method.encode()), *GET[1:], (b":path", path.encode()), *extra]
        self.conn.send_headers(sid, headers, end_stream=not body)
        self.responses[sid] = {"headers": None, "body": bytearray(), "ended": False, "reset": None}
        if body:
            self._pending = getattr(self, "_pending", {})
            self._pending[sid] = body
        await self.flush()
        return sid

    async def _send_pending(self) -> None:
        for sid, body in list(getattr(self, "_pending", {}).items()):
            n = min(self.conn.local_flow_control_window(sid), len(body), 16384)
            if n:
                self.conn.send_data(sid, body[:n], end_stream=n == len(body))
                body = body[n:]
                if body:
                    self._pending[sid] = body
                else:
                    del self._pending[sid]
        await self.flush()

    async def pump(self) -> None:
        await self._send_pending()
        data = await self.flow.read(65536)
        if not data:
            self.eof = True
            return
        for event in self.conn.receive_data(data):
            r = self.responses.get(getattr(event, "stream_id", 0) or 0)
            if isinstance(event, h2.events.ResponseReceived) and r is not None:
                r["headers"] = dict(event.headers)
            elif isinstance(event, h2.events.DataReceived) and r is not None:
                r["body"] += event.data
                if self.ack:
                    self.conn.acknowledge_received_data(
                        event.flow_controlled_length, event.stream_id
                    )
            elif isinstance(event, h2.events.TrailersReceived) and r is not None:
                r["trailers"] = dict(event.headers)
            elif isinstance(event, h2.events.StreamEnded) and r is not None:
                r["ended"] = True
            elif isinstance(event, h2.events.StreamReset) and r is not None:
                r["reset"] = event.error_code
            elif isinstance(event, h2.events.ConnectionTerminated):
                self.terminated = event
        await self.flush()

    async def wait(self, *sids: int) -> None:
        while not all(
            self.responses[s]["ended"] or self.responses[s]["reset"] is not None for s in sids
        ):
            if self.eof:
                raise EOFError("server closed")
            await self.pump()

    async def get(self, path: str, **kw: Any) -> dict[str, Any]:
        sid = await self.request(path, **kw)
        await self.wait(sid)
        return self.responses[sid]


@contextlib.asynccontextmanager
async def serving(
    net: backends.Backend,
    handler: Callable[[Request], Awaitable[Response]],
    config: ServerConfig | None = None,
    shutdown: Any = None,
    **kw: Any,
) -> AsyncIterator[Client]:
    listener = await net.tcp_listen("127.0.0.1", 0)
    done = net.event()
    served: list[int] = []

    async def accept() -> None:
        flow = await listener.accept()
        try:
            served.append(
                await serve_h2(
                    net,
                    flow,
                    handler,
                    config or ServerConfig(access_log=False),
                    shutdown=shutdown,
                    **kw,
                )
            )
        finally:
            await flow.close()
            done.set()

    async with net.task_group() as tg:
        tg.start_soon(accept)
        flow = await net.tcp_connect(*listener.address)
        client = Client(flow)
        await client.flush()
        try:
            with net.fail_after(20):
                yield client
        finally:
            with net.move_on_after(5):
                await flow.close()
                await done.wait()
            await listener.close()
            tg.cancel_scope.cancel()


async def app(request: Request) -> Response:
    if request.path == "/echo":
        body = await request.read()
        return Response(200, body, {"x-method": request.method, "x-len": str(len(body))})
    if request.path == "/big":
        return Response(200, bytes(range(256)) * 4096)  # 1 MiB
    if request.path == "/fail":
        raise RuntimeError("boom")
    if request.path == "/stream":
        stream = request.stream
        await stream.start(200, cohttp.Headers([("content-type", "text/plain")]))
        for i in range(5):
            await stream.send(b"piece %d\n" % i)
        await stream.end()
        return STREAMED
    if request.path == "/gen":

        async def gen() -> AsyncIterator[bytes]:
            for i in range(100):
                yield b"%05d" % i

        return Response(200, gen())
    return Response.text(
        f"{request.method} {request.target} {request.version} {request.host} {request.headers.get('cookie')}\n"
    )


async def test_get_post_and_request_fields(backend: backends.Backend) -> None:
    async with serving(backend, app) as c:
        r = await c.get("/x?y=1", extra=[(b"cookie", b"a=1"), (b"cookie", b"b=2")])
        assert r["headers"][b":status"] == b"200"
        assert r["body"] == b"GET /x?y=1 HTTP/2 a.test a=1; b=2\n"
        assert b"date" in r["headers"] and r["headers"][b"content-length"] == b"34"
        r = await c.get("/echo", method="POST", body=b"hello")
        assert r["body"] == b"hello" and r["headers"][b"x-method"] == b"POST"


async def test_concurrent_streams_and_big_bodies_both_ways(backend: backends.Backend) -> None:
    upload = bytes(range(251)) * 2000  # ~500 KB: more than the stream window
    async with serving(backend, app) as c:
        sids = [await c.request("/big") for _ in range(4)]
        sids += [await c.request("/echo", method="POST", body=upload) for _ in range(2)]
        sids += [await c.request("/stream"), await c.request("/gen")]
        await c.wait(*sids)
        bodies = [bytes(c.responses[s]["body"]) for s in sids]
        assert bodies[:4] == [bytes(range(256)) * 4096] * 4
        assert bodies[4:6] == [upload] * 2
        assert bodies[6] == b"".join(b"piece %d\n" % i for i in range(5))
        assert bodies[7] == b"".join(b"%05d" % i for i in range(100))


async def test_handler_failure_is_500_and_the_connection_goes_on(backend: backends.Backend) -> None:
    async with serving(backend, app) as c:
        assert (await c.get("/fail"))["headers"][b":status"] == b"500"
        assert (await c.get("/"))["headers"][b":status"] == b"200"


async def test_body_over_the_limit_is_413(backend: backends.Backend) -> None:
    config = ServerConfig(access_log=False, limits=cohttp.Limits(max_body=1000))
    async with serving(backend, app, config) as c:
        r = await c.get("/echo", method="POST", body=b"x" * 5000)
        assert r["headers"][b":status"] == b"413"
        declared = await c.get(
            "/echo", method="POST", body=b"x" * 5000, extra=[(b"content-length", b"5000")]
        )
        assert declared["headers"][b":status"] == b"413"
        assert (await c.get("/"))["headers"][b":status"] == b"200"


async def test_client_reset_cancels_the_handler(backend: backends.Backend) -> None:
    started = backend.event()
    cancelled = backend.event()

    async def slow(request: Request) -> Response:
        if request.path == "/slow":
            started.set()
            try:
                await backend.sleep(30)
            finally:
                cancelled.set()
        return Response.text("ok\n")

    async with serving(backend, slow) as c:
        sid = await c.request("/slow")
        await started.wait()
        c.conn.reset_stream(sid, 8)
        await c.flush()
        await cancelled.wait()
        assert (await c.get("/"))["body"] == b"ok\n"


async def test_window_never_opened_resets_the_stream_after_write_timeout(
    backend: backends.Backend,
) -> None:
    config = ServerConfig(access_log=False, write_timeout=0.5)
    async with serving(backend, app, config) as c:
        c.ack = False  # never give the window back: the 1 MiB response stalls at 64 KiB
        sid = await c.request("/big")
        await c.wait(sid)
        assert c.responses[sid]["reset"] is not None
        assert len(c.responses[sid]["body"]) == 65535
        c.ack = True
        c.conn.increment_flow_control_window(1 << 20)
        assert (await c.get("/"))["headers"][b":status"] == b"200"


async def test_graceful_shutdown_finishes_open_streams(backend: backends.Backend) -> None:
    shutdown = backend.event()
    release = backend.event()

    async def handler(request: Request) -> Response:
        await release.wait()
        return Response.text("finished\n")

    async with serving(backend, handler, shutdown=shutdown) as c:
        sid = await c.request("/")
        await backend.sleep(0.1)
        shutdown.set()
        while c.terminated is None:
            await c.pump()
        assert c.terminated.error_code == 0 and c.terminated.last_stream_id == sid
        release.set()
        # h2's client stops at GOAWAY; read the rest raw and find our DATA frame.
        data = b""
        while True:
            piece = await c.flow.read(65536)
            if not piece:
                break
            data += piece
        assert b"finished\n" in data


async def test_idle_connection_gets_goaway(backend: backends.Backend) -> None:
    config = ServerConfig(access_log=False, idle_timeout=0.3, header_timeout=0.3)
    async with serving(backend, app, config) as c:
        assert (await c.get("/"))["headers"][b":status"] == b"200"
        while not c.eof:
            await c.pump()
        assert c.terminated is not None and c.terminated.error_code == 0


async def test_trickled_frame_is_cut_off(backend: backends.Backend) -> None:
    """A frame sent a byte at a time cannot hold the connection beyond header_timeout."""
    config = ServerConfig(access_log=False, header_timeout=1.0, idle_timeout=30)
    async with serving(backend, app, config) as c:
        await c.flush()
        frame = frames.ping(b"12345678")
        t0 = backend.now()
        with backend.move_on_after(5):
            for byte in frame[:5]:  # half a frame header, a byte every 0.1 s
                await c.flow.write(bytes([byte]))
                await backend.sleep(0.1)
            while not c.eof:
                await c.pump()
        assert c.eof and backend.now() - t0 < 3
        assert (
            c.terminated is not None
            and c.terminated.error_code == frames.ErrorCode.ENHANCE_YOUR_CALM
        )


async def test_no_preface_in_time(backend: backends.Backend) -> None:
    listener = await backend.tcp_listen("127.0.0.1", 0)
    config = ServerConfig(access_log=False, header_timeout=0.3)

    async def accept() -> None:
        flow = await listener.accept()
        try:
            await serve_h2(backend, flow, app, config)
        finally:
            await flow.close()

    async with backend.task_group() as tg:
        tg.start_soon(accept)
        flow = await backend.tcp_connect(*listener.address)
        with backend.fail_after(5):
            data = b""
            while piece := await flow.read():
                data += piece
        assert frames.parse_header(data, 0)[1] == frames.FrameType.SETTINGS
        await flow.close()
        await listener.close()


async def test_max_concurrent_streams_is_advertised(backend: backends.Backend) -> None:
    async with serving(backend, app) as c:
        await c.get("/")
        assert c.conn.remote_settings[h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS] == 100


async def test_asgi_app_over_h2(backend: backends.Backend) -> None:
    from cohttp.asgi import ASGIHandler

    async def asgi_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        await send(
            {
                "type": "http.response.start",
                "status": 201,
                "headers": [(b"x-v", scope["http_version"].encode())],
            }
        )
        await send({"type": "http.response.body", "body": body[:5], "more_body": True})
        await send({"type": "http.response.body", "body": body[5:]})

    async with ASGIHandler(asgi_app, backend) as handler, serving(backend, handler) as c:
        r = await c.get("/asgi", method="POST", body=b"hello asgi")
        assert r["headers"][b":status"] == b"201" and r["headers"][b"x-v"] == b"2"
        assert r["body"] == b"hello asgi"


async def test_body_not_sent_in_time_is_408(backend: backends.Backend) -> None:
    config = ServerConfig(access_log=False, body_timeout=0.3)
    async with serving(backend, app, config) as c:
        sid = c.conn.get_next_available_stream_id()
        c.conn.send_headers(sid, [(b":method", b"POST"), *GET[1:], (b":path", b"/echo")])
        c.conn.send_data(sid, b"part of it")
        c.responses[sid] = {"headers": None, "body": bytearray(), "ended": False, "reset": None}
        await c.flush()
        await c.wait(sid)
        assert c.responses[sid]["headers"][b":status"] == b"408"
        assert (await c.get("/"))["headers"][b":status"] == b"200"


async def test_static_files_head_and_trailers(backend: backends.Backend, tmp_path: Any) -> None:
    from cohttp.static import StaticFiles

    (tmp_path / "page.html").write_bytes(b"<p>h2</p>\n")
    (tmp_path / "large.bin").write_bytes(bytes(range(256)) * 2048)  # 512 KiB: FileBody pieces
    static = StaticFiles(tmp_path)

    async def handler(request: Request) -> Response:
        if request.path == "/trailers":
            stream = request.stream
            await stream.start(200, cohttp.Headers([("trailer", "x-sum")]))
            await stream.send(b"body")
            await stream.end(cohttp.Headers([("x-sum", "42")]))
            return STREAMED
        return await static(request)

    async with serving(backend, handler) as c:
        page = await c.get("/page.html")
        assert page["body"] == b"<p>h2</p>\n" and page["headers"][b"content-length"] == b"10"
        large = await c.get("/large.bin")
        assert large["body"] == bytes(range(256)) * 2048
        head = await c.get("/page.html", method="HEAD")
        assert head["body"] == b"" and head["headers"][b"content-length"] == b"10"
        ranged = await c.get("/large.bin", extra=[(b"range", b"bytes=256-511")])
        assert ranged["headers"][b":status"] == b"206" and ranged["body"] == bytes(range(256))
        missing = await c.get("/nothing")
        assert missing["headers"][b":status"] == b"404"
        with_trailers = await c.get("/trailers")
        assert with_trailers["body"] == b"body" and with_trailers["trailers"] == {b"x-sum": b"42"}


async def test_access_log_line(backend: backends.Backend, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("INFO", logger="cohttp.access"):
        async with serving(backend, app, ServerConfig(access_log=True)) as c:
            await c.get("/logged?q=1", extra=[(b"user-agent", b"tester/1")])
    [line] = [r.getMessage() for r in caplog.records if r.name == "cohttp.access"]
    assert line.startswith("127.0.0.1 - - [")
    assert '"GET /logged?q=1 HTTP/2" 200 ' in line and line.endswith('"-" "tester/1"')


async def test_over_tls_with_alpn_on_every_backend(
    backend: backends.Backend, tmp_path: Any
) -> None:
    """TLS (backends.tls, on every backend: mirage's stack too) with ALPN choosing h2."""
    trustme = pytest.importorskip("trustme")
    from backends import tls

    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    ca.issue_cert("h2.test").private_key_and_cert_chain_pem.write_to_path(str(tmp_path / "s.pem"))
    server_context = tls.server_context(str(tmp_path / "s.pem"), alpn=["h2", "http/1.1"])
    client_context = tls.client_context(cafile=str(tmp_path / "ca.pem"), alpn=["h2"])
    listener = await backend.tcp_listen("127.0.0.1", 0)

    async def accept() -> None:
        flow = await tls.wrap_server(await listener.accept(), server_context)
        try:
            assert flow.alpn == "h2"
            await serve_h2(backend, flow, app, ServerConfig(access_log=False))
        finally:
            await flow.close()

    async with backend.task_group() as tg:
        tg.start_soon(accept)
        flow = await tls.connect(
            backend, *listener.address, context=client_context, server_hostname="h2.test"
        )
        assert flow.alpn == "h2"
        c = Client(flow)
        await c.flush()
        with backend.fail_after(20):
            big = await c.get("/big")
            assert big["body"] == bytes(range(256)) * 4096
            echo = await c.get("/echo", method="POST", body=b"over tls")
            assert echo["body"] == b"over tls"
        await flow.close()
        await listener.close()


async def test_bytes_already_read_are_given_as_preface(backend: backends.Backend) -> None:
    """A server that sniffed the start of the connection (h2c with prior knowledge, RFC 9113
    3.3) hands what it read to serve_h2."""
    listener = await backend.tcp_listen("127.0.0.1", 0)

    async def accept() -> None:
        flow = await listener.accept()
        sniffed = b""
        while len(sniffed) < 10:
            sniffed += await flow.read(10 - len(sniffed))
        assert frames.PREFACE.startswith(sniffed)
        try:
            await serve_h2(backend, flow, app, ServerConfig(access_log=False), preface=sniffed)
        finally:
            await flow.close()

    async with backend.task_group() as tg:
        tg.start_soon(accept)
        flow = await backend.tcp_connect(*listener.address)
        c = Client(flow)
        await c.flush()
        with backend.fail_after(20):
            assert (await c.get("/sniffed"))["body"].startswith(b"GET /sniffed HTTP/2")
        await flow.close()
        await listener.close()
