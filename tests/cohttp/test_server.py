"""The server over every backend: framing, keep-alive, pipelining, deadlines, shutdown."""

from __future__ import annotations

import logging

import pytest

import backends
from cohttp import Request, Response, Server
from cohttp.codec import Limits

from .helpers import RawClient, running

GET = b"GET / HTTP/1.1\r\nHost: t\r\n\r\n"


async def app(request: Request) -> Response:
    path = request.path
    if path == "/echo":
        data = await request.read()
        return Response(200, data, {"x-method": request.method})
    if path == "/stream":

        async def pieces():  # type: ignore[no-untyped-def]
            for i in range(3):
                yield b"piece %d\n" % i

        return Response(200, pieces(), {"content-type": "text/plain"})
    if path == "/boom":
        raise RuntimeError("handler exploded")
    if path == "/nocontent":
        return Response(204, b"", {"content-length": "0"})
    if path == "/notmodified":
        return Response(304, b"ignored")
    if path == "/slow":
        await request_net.sleep(0.3)
        return Response(200, b"slow done")
    if path == "/trailers":
        body = request.body
        assert hasattr(body, "trailers")
        data = await request.read()
        return Response(200, data + b"|" + body.trailers.get("x-sum", "").encode())  # type: ignore[union-attr]
    return Response(200, b"Hello, world!", {"content-type": "text/plain"})


request_net: backends.Backend


@pytest.fixture(autouse=True)
def _net(backend: backends.Backend) -> None:
    global request_net
    request_net = backend


async def test_keep_alive_reuses_the_connection(backend: backends.Backend) -> None:
    async with running(backend, Server(app)) as addr:
        c = await RawClient.connect(backend, addr)
        for _ in range(3):
            await c.send(GET)
            head, body = await c.response()
            assert head.status == 200 and body == b"Hello, world!" and head.keep_alive
            assert head.headers["content-length"] == "13" and "date" in head.headers
        await c.close()


async def test_pipelined_requests_answered_in_order(backend: backends.Backend) -> None:
    async with running(backend, Server(app)) as addr:
        c = await RawClient.connect(backend, addr)
        batch = b"".join(
            b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n\r\n%d" % i for i in range(5)
        )
        await c.send(batch, *["POST"] * 5)
        assert [(await c.response())[1] for _ in range(5)] == [b"%d" % i for i in range(5)]
        await c.close()


async def test_chunked_upload_and_chunked_streaming_response(backend: backends.Backend) -> None:
    async with running(backend, Server(app)) as addr:
        c = await RawClient.connect(backend, addr)
        await c.send(
            b"POST /trailers HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"3\r\nabc\r\n2\r\nde\r\n0\r\nX-Sum: 5\r\n\r\n",
            "POST",
        )
        head, body = await c.response()
        assert body == b"abcde|5"
        await c.send(b"GET /stream HTTP/1.1\r\nHost: t\r\n\r\n")
        head, body = await c.response()
        assert (
            head.headers["transfer-encoding"] == "chunked" and "content-length" not in head.headers
        )
        assert body == b"piece 0\npiece 1\npiece 2\n"
        await c.close()


async def test_http10_streaming_is_close_delimited(backend: backends.Backend) -> None:
    async with running(backend, Server(app)) as addr:
        c = await RawClient.connect(backend, addr)
        await c.send(b"GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        head, body = await c.response()
        assert body == b"piece 0\npiece 1\npiece 2\n" and not head.keep_alive
        assert head.headers["connection"] == "close"
        c2 = await RawClient.connect(backend, addr)
        await c2.send(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        head, _ = await c2.response()
        assert head.headers.get("connection") == "keep-alive"
        await c2.send(b"GET / HTTP/1.0\r\n\r\n")
        head, _ = await c2.response()
        assert head.headers.get("connection") == "close" and await c2.at_eof()


async def test_expect_100_continue(backend: backends.Backend) -> None:
    async with running(backend, Server(app)) as addr:
        c = await RawClient.connect(backend, addr)
        await c.send(
            b"PUT /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n",
            "PUT",
        )
        interim = await c.interim()
        assert interim.status == 100
        await c.flow.write(b"hello")
        head, body = await c.response()
        assert head.status == 200 and body == b"hello"
        # A handler that never reads the body: no 100, final answer, then close.
        await c.send(
            b"PUT / HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n", "PUT"
        )
        head, body = await c.response()
        assert head.status == 200 and head.headers["connection"] == "close"
        assert await c.at_eof()


async def test_unknown_expectation_is_417(backend: backends.Backend) -> None:
    async with running(backend, Server(app)) as addr:
        c = await RawClient.connect(backend, addr)
        await c.send(b"GET / HTTP/1.1\r\nHost: t\r\nExpect: teapot\r\n\r\n")
        head, _ = await c.response()
        assert head.status == 417


async def test_head_and_bodiless_statuses(backend: backends.Backend) -> None:
    async with running(backend, Server(app)) as addr:
        c = await RawClient.connect(backend, addr)
        await c.send(b"HEAD / HTTP/1.1\r\nHost: t\r\n\r\n", "HEAD")
        head, body = await c.response()
        assert head.headers["content-length"] == "13" and body == b""
        for path in (b"/nocontent", b"/notmodified"):
            await c.send(b"GET " + path + b" HTTP/1.1\r\nHost: t\r\n\r\n")
            head, body = await c.response()
            assert head.status in (204, 304) and body == b""
            assert "content-length" not in head.headers
            assert "transfer-encoding" not in head.headers
        await c.send(GET)  # the connection is still in sync
        assert (await c.response())[1] == b"Hello, world!"


async def test_unread_body_is_drained_and_connection_kept(backend: backends.Backend) -> None:
    async with running(backend, Server(app)) as addr:
        c = await RawClient.connect(backend, addr)
        await c.send(
            b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nabcd" + GET, "POST", "GET"
        )
        assert (await c.response())[1] == b"Hello, world!"
        assert (await c.response())[1] == b"Hello, world!"


async def test_handler_exception_is_500_and_logged(
    backend: backends.Backend, caplog: pytest.LogCaptureFixture
) -> None:
    async with running(backend, Server(app)) as addr:
        c = await RawClient.connect(backend, addr)
        with caplog.at_level(logging.ERROR, logger="cohttp.server"):
            await c.send(b"GET /boom HTTP/1.1\r\nHost: t\r\n\r\n")
            head, _ = await c.response()
        assert head.status == 500
        assert any("handler failed" in r.message and r.exc_info for r in caplog.records)
        await c.send(GET)
        assert (await c.response())[0].status == 200


async def test_access_log_in_combined_format(
    backend: backends.Backend, caplog: pytest.LogCaptureFixture
) -> None:
    async with running(backend, Server(app)) as addr:
        c = await RawClient.connect(backend, addr)
        with caplog.at_level(logging.INFO, logger="cohttp.access"):
            await c.send(
                b"GET /?q=1 HTTP/1.1\r\nHost: t\r\nReferer: http://r/\r\n"
                b"User-Agent: tester/1.0\r\n\r\n"
            )
            await c.response()
        lines = [r.getMessage() for r in caplog.records if r.name == "cohttp.access"]
        assert len(lines) == 1
        import re

        assert re.fullmatch(
            r"127\.0\.0\.1 - - \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d \+0000\] "
            r'"GET /\?q=1 HTTP/1\.1" 200 13 "http://r/" "tester/1\.0"',
            lines[0],
        )


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
            400,
        ),
        (b"GET / HTTP/1.1\r\nHost : t\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: t\r\nX: a\r\n b\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501),
        (b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n", 413),
        (b"GET / HTTP/1.1\r\nHost: t\r\nX: " + b"a" * 3000 + b"\r\n\r\n", 431),
        (b"GET /" + b"a" * 2000 + b" HTTP/1.1\r\nHost: t\r\n\r\n", 414),
        (b"GET / HTTP/3.0\r\nHost: t\r\n\r\n", 505),
        (b"GET / HTTP/1.1\r\nHost: t\r\nHost: u\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: t\r\nX: a\rb\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: t\r\nX: a\x00b\r\n\r\n", 400),
        (b"GET / HTTP/1.1\nHost: t\n\n", 400),
        (b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 0x10\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n", 400),
        (b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
        (b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n", 400),
        (
            b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"FFFFFFFFFFFFFFFFFFFF\r\n",
            413,
        ),
        (b"GET /a%zz HTTP/1.1\r\nHost: t\r\n\r\n", 400),
        (
            b"GET / HTTP/1.1\r\nHost: t\r\n"
            + b"".join(b"X-%d: v\r\n" % i for i in range(150))
            + b"\r\n",
            431,
        ),
    ],
)
async def test_protocol_errors_are_answered_then_closed(
    backend: backends.Backend, raw: bytes, status: int
) -> None:
    limits = Limits(max_body=100, max_head=2048, max_line=1024)
    async with running(backend, Server(app, limits=limits)) as addr:
        c = await RawClient.connect(backend, addr)
        await c.send(raw)
        head, body = await c.response()
        assert head.status == status and head.headers["connection"] == "close" and body
        assert await c.at_eof()
        c2 = await RawClient.connect(backend, addr)  # and everyone else is still served
        await c2.send(GET)
        assert (await c2.response())[0].status == 200


async def test_chunked_body_over_limit_is_413(backend: backends.Backend) -> None:
    async with running(backend, Server(app, limits=Limits(max_body=10))) as addr:
        c = await RawClient.connect(backend, addr)
        await c.send(
            b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n",
            "POST",
        )
        head, _ = await c.response()
        assert head.status == 413 and await c.at_eof()


async def test_slowloris_is_cut_at_the_deadline(backend: backends.Backend) -> None:
    server = Server(app, header_timeout=0.3)
    async with running(backend, server) as addr:
        slow = await RawClient.connect(backend, addr)
        await slow.send(b"GET / HTTP/1.1\r\nHost: t\r\n")  # never finishes the head
        start = backend.now()
        # Meanwhile others are served.
        for _ in range(3):
            c = await RawClient.connect(backend, addr)
            await c.send(GET)
            assert (await c.response())[0].status == 200
            await c.close()
        with backend.fail_after(3):
            head, _ = await slow.response()
        assert head.status == 408 and await slow.at_eof()
        assert backend.now() - start >= 0.25
        # A connection that sends nothing at all is closed too.
        silent = await RawClient.connect(backend, addr)
        with backend.fail_after(3):
            assert await silent.at_eof()


async def test_trickling_head_is_cut_even_though_bytes_keep_coming(
    backend: backends.Backend,
) -> None:
    async with running(backend, Server(app, header_timeout=0.3)) as addr:
        slow = await RawClient.connect(backend, addr)
        closed = False
        with backend.fail_after(3):
            try:
                for i in range(100):
                    await slow.flow.write(b"X-%d: y\r\n" % i if i else b"GET / HTTP/1.1\r\n")
                    await backend.sleep(0.05)
            except backends.NetworkError:
                closed = True
            if not closed:
                closed = await slow.at_eof()
        assert closed


async def test_idle_keep_alive_timeout(backend: backends.Backend) -> None:
    async with running(backend, Server(app, idle_timeout=0.2)) as addr:
        c = await RawClient.connect(backend, addr)
        await c.send(GET)
        await c.response()
        start = backend.now()
        with backend.fail_after(3):
            assert await c.at_eof()  # closed without a 408: it was idle, not slow
        assert backend.now() - start >= 0.15


async def test_max_requests_per_connection(backend: backends.Backend) -> None:
    async with running(backend, Server(app, max_requests=2)) as addr:
        c = await RawClient.connect(backend, addr)
        await c.send(GET + GET, "GET", "GET")
        first, _ = await c.response()
        second, _ = await c.response()
        assert first.keep_alive and second.headers["connection"] == "close"
        assert await c.at_eof()


async def test_graceful_shutdown_finishes_in_flight(backend: backends.Backend) -> None:
    server = Server(app)
    addr = await server.listen(backend, "127.0.0.1", 0)
    results: list[bytes] = []
    async with backend.task_group() as tg:
        tg.start_soon(server.serve_forever)
        idle = await RawClient.connect(backend, addr)
        await idle.send(GET)
        await idle.response()
        busy = await RawClient.connect(backend, addr)
        await busy.send(b"GET /slow HTTP/1.1\r\nHost: t\r\n\r\n")

        async def collect() -> None:
            head, body = await busy.response()
            assert head.headers["connection"] == "close"
            results.append(body)

        tg.start_soon(collect)
        await backend.sleep(0.1)
        with backend.fail_after(5):
            await server.shutdown()
        assert await idle.at_eof()
    assert results == [b"slow done"]
    with pytest.raises(backends.NetworkError):
        await backend.tcp_connect(*addr, timeout=2)


async def test_shutdown_without_serving_returns(backend: backends.Backend) -> None:
    server = Server(app)
    await server.listen(backend, "127.0.0.1", 0)
    with backend.fail_after(2):
        await server.shutdown()


async def test_shutdown_grace_cancels_stragglers(backend: backends.Backend) -> None:
    async def forever(request: Request) -> Response:
        await backend.sleep(60)
        return Response(200)

    server = Server(forever)
    addr = await server.listen(backend, "127.0.0.1", 0)
    async with backend.task_group() as tg:
        tg.start_soon(server.serve_forever)
        c = await RawClient.connect(backend, addr)
        await c.send(GET)
        await backend.sleep(0.1)
        start = backend.now()
        with backend.fail_after(5):
            await server.shutdown(grace=0.2)
        assert backend.now() - start < 4
        assert await c.at_eof()


async def test_large_body_streams_with_backpressure(backend: backends.Backend) -> None:
    size = 4 * 1024 * 1024

    async def big(request: Request) -> Response:
        async def gen():  # type: ignore[no-untyped-def]
            block = b"x" * 65536
            for _ in range(size // 65536):
                yield block

        return Response(200, gen(), {"content-length": str(size)})

    async with running(backend, Server(big)) as addr:
        c = await RawClient.connect(backend, addr)
        await c.send(GET)
        await backend.sleep(0.2)  # the server must block on write, not buffer 4 MiB
        head, body = await c.response()
        assert head.headers["content-length"] == str(size) and len(body) == size


async def test_handler_connection_close_closes(backend: backends.Backend) -> None:
    async def closing(request: Request) -> Response:
        return Response(200, b"bye", {"connection": "close"})

    async with running(backend, Server(closing)) as addr:
        c = await RawClient.connect(backend, addr)
        await c.send(GET + GET, "GET", "GET")
        head, body = await c.response()
        assert body == b"bye" and head.headers["connection"] == "close"
        assert await c.at_eof()


async def test_body_error_swallowed_by_handler_still_closes(backend: backends.Backend) -> None:
    async def careless(request: Request) -> Response:
        try:
            await request.read()
        except Exception:
            return Response(200, b"pretend all is well")
        return Response(200, b"read")

    async with running(backend, Server(careless, limits=Limits(max_body=4))) as addr:
        c = await RawClient.connect(backend, addr)
        await c.send(
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"9\r\n123456789\r\n0\r\n\r\n" + GET,
            "POST",
            "GET",
        )
        head, _ = await c.response()
        assert head.status == 413 and await c.at_eof()


async def test_stalled_body_is_cut_at_the_body_deadline(backend: backends.Backend) -> None:
    async with running(backend, Server(app, body_timeout=0.3)) as addr:
        c = await RawClient.connect(backend, addr)
        await c.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nab", "POST")
        start = backend.now()
        with backend.fail_after(3):
            head, _ = await c.response()
        assert head.status == 408 and await c.at_eof()
        assert backend.now() - start >= 0.25


async def dripping_app(request: Request) -> Response:
    if request.path == "/part":  # one piece, some work, and an answer: the rest is drained
        async for _ in request.body:  # type: ignore[union-attr]
            break
        await request_net.sleep(0.9)
        return Response(200, b"part")
    if request.path == "/ignore":
        return Response(200, b"ignored")
    return Response(200, await request.read())


DRIP_HEAD = b"POST %s HTTP/1.1\r\nHost: t\r\n"


@pytest.mark.parametrize(
    ("head", "drip"),
    [
        (b"", b"X-Drip: %d\r\n"),  # the head itself
        (b"Content-Length: 1000\r\n\r\n", b"x"),
        (b"Transfer-Encoding: chunked\r\n\r\n", b"1\r\nx\r\n"),
    ],
    ids=["head", "length", "chunked"],
)
@pytest.mark.parametrize("path", [b"/read", b"/part", b"/ignore"])
async def test_dripping_client_is_cut_a_deadline_after_its_first_byte(
    backend: backends.Backend, head: bytes, drip: bytes, path: bytes
) -> None:
    # One byte (or line) every 50 ms: every read gets something, and none of them may
    # move the deadline, whatever the handler does with the body (issue 12, item 3).
    timeout = 1.0
    server = Server(dripping_app, header_timeout=timeout, body_timeout=timeout)
    async with running(backend, server) as addr:
        c = await RawClient.connect(backend, addr)
        await c.send(DRIP_HEAD % path + head, "POST")
        start = backend.now()
        cut = None
        with backend.fail_after(10):
            try:
                for i in range(200):
                    await c.flow.write(drip % i if b"%d" in drip else drip)
                    await backend.sleep(0.05)
            except backends.NetworkError:
                cut = backend.now() - start
        assert cut is not None, "the server never cut the dripping client"
        # timer tick <= timeout / 4, and generous room for a loaded machine; two
        # deadlines in a row (the old drain after /part) would take >= 1.9 s
        assert timeout <= cut + 0.1 and cut < 1.7, cut


async def test_handler_work_after_the_body_is_not_under_the_body_deadline(
    backend: backends.Backend,
) -> None:
    async def slow_after_body(request: Request) -> Response:
        data = await request.read()
        await request_net.sleep(0.8)  # longer than body_timeout: the body is all here
        return Response(200, data)

    async with running(backend, Server(slow_after_body, body_timeout=0.3)) as addr:
        c = await RawClient.connect(backend, addr)
        await c.send(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\n", "POST")
        await backend.sleep(0.1)  # the body comes in a read of its own
        await c.flow.write(b"ok")
        with backend.fail_after(5):
            head, body = await c.response()
        assert (head.status, body) == (200, b"ok")


@pytest.mark.parametrize(
    ("third", "rest", "answer"),
    [
        (b"GET / HTTP/1.1\r\nHo", b"st: t\r\n\r\n", b"Hello, world!"),  # half a head
        (b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nab", b"cd", b"abcd"),
        (
            b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n",
            b"abcd",
            b"abcd",
        ),
        (
            b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n",
            b"0\r\n\r\n",
            b"ab",
        ),
    ],
    ids=["half-head", "half-body", "expect-continue", "half-chunked"],
)
async def test_pipelined_responses_go_out_before_an_incomplete_next_request(
    backend: backends.Backend, third: bytes, rest: bytes, answer: bytes
) -> None:
    # The client waits for the first two answers before it sends the rest of the third
    # request (RFC 9112 9.3.2: responses in order, and nothing holds back a finished one).
    async with running(backend, Server(app)) as addr:
        c = await RawClient.connect(backend, addr)
        await c.send(GET + b"GET /nocontent HTTP/1.1\r\nHost: t\r\n\r\n" + third, "GET", "GET")
        with backend.fail_after(3):
            first, body = await c.response()
            assert (first.status, body) == (200, b"Hello, world!")
            second, _ = await c.response()
            assert second.status == 204
            c.parser.expect(third.split(b" ")[0].decode())
            if b"100-continue" in third:
                assert (await c.interim()).status == 100  # after the two answers, not before
            await c.flow.write(rest)
            last, body = await c.response()
        assert (last.status, body) == (200, answer)


async def test_reader_that_never_reads_is_cut_at_the_write_deadline(
    backend: backends.Backend,
) -> None:
    async def huge(request: Request) -> Response:
        async def gen():  # type: ignore[no-untyped-def]
            block = b"z" * 65536
            while True:
                yield block

        return Response(200, gen())

    async with running(backend, Server(huge, write_timeout=0.3)) as addr:
        c = await RawClient.connect(backend, addr)
        await c.send(GET)
        await backend.sleep(0.7)  # never read: the server's writes block, then it gives up
        with backend.fail_after(5):
            total = 0
            try:
                while data := await c.flow.read():
                    total += len(data)
            except backends.NetworkError:
                pass
        assert total < 64 * 1024 * 1024  # it stopped; it did not stream forever


async def test_bad_unread_body_closes_without_a_second_answer(backend: backends.Backend) -> None:
    async with running(backend, Server(app)) as addr:
        c = await RawClient.connect(backend, addr)
        await c.send(
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "POST"
        )
        head, body = await c.response()
        assert head.status == 200 and body == b"Hello, world!"
        assert await c.at_eof()


async def test_handler_network_error_is_a_500(backend: backends.Backend) -> None:
    async def upstream_down(request: Request) -> Response:
        raise backends.ConnectionRefused(111, "upstream refused")

    async with running(backend, Server(upstream_down)) as addr:
        c = await RawClient.connect(backend, addr)
        await c.send(GET)
        head, _ = await c.response()
        assert head.status == 500 and head.keep_alive
