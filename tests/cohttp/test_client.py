"""The client over every backend, against our own server."""

from __future__ import annotations

import pytest

import backends
from cohttp import Request, Response, Server
from cohttp.client import Client, InvalidURL, RemoteProtocolError, TooManyRedirects

from .helpers import running


def make_app(net: backends.Backend, stats: dict[str, int]) -> object:
    async def app(request: Request) -> Response:
        path = request.path
        if path == "/echo":
            body = await request.read()
            return Response(
                200,
                body,
                {
                    "x-te": request.headers.get("transfer-encoding", "-"),
                    "x-expect": request.headers.get("expect", "-"),
                },
            )
        if path == "/slow":
            stats["active"] = stats.get("active", 0) + 1
            stats["peak"] = max(stats.get("peak", 0), stats["active"])
            await net.sleep(0.1)
            stats["active"] -= 1
            return Response(200, b"slow")
        if path == "/sleep":
            await net.sleep(0.6)
            return Response(200, b"late")
        if path == "/big":

            async def gen():  # type: ignore[no-untyped-def]
                for i in range(64):
                    yield bytes([65 + i % 26]) * 16384

            return Response(200, gen())
        if path.startswith("/redirect/"):
            n = int(path.rsplit("/", 1)[1])
            where = f"/redirect/{n - 1}" if n > 1 else "/final"
            return Response(302, b"", {"location": where})
        if path == "/see-other":
            return Response(303, b"", {"location": f"http://127.0.0.1:{stats['port']}/method"})
        if path == "/method":
            return Response(200, f"{request.method} {len(await request.read())}".encode())
        if path == "/loop":
            return Response(307, b"", {"location": "/loop"})
        if path == "/final":
            return Response(200, b"landed")
        if path == "/json":
            return Response.json({"got": await request.json()})
        return Response(200, b"hello " + request.headers.get("user-agent", "").encode())

    return app


async def serve(net: backends.Backend, **options: object):  # type: ignore[no-untyped-def]
    stats: dict[str, int] = {}
    server = Server(make_app(net, stats), **options)  # type: ignore[arg-type]
    return server, stats


async def test_get_and_keep_alive_reuse(backend: backends.Backend) -> None:
    server, _ = await serve(backend)
    async with running(backend, server) as (host, port), Client(backend) as client:
        for _ in range(3):
            r = await client.get(f"http://{host}:{port}/")
            assert r.status == 200 and r.content == b"hello cohttp/0.1"
            assert r.text == "hello cohttp/0.1"
        assert client.connections_opened == 1


async def test_post_bytes_json_and_streamed_upload(backend: backends.Backend) -> None:
    server, _ = await serve(backend)
    async with running(backend, server) as (host, port), Client(backend) as client:
        base = f"http://{host}:{port}"
        r = await client.post(base + "/echo", body=b"abc")
        assert r.content == b"abc" and r.headers["x-te"] == "-"
        r = await client.post(base + "/json", json={"a": [1, 2]})
        assert r.json() == {"got": {"a": [1, 2]}}

        async def pieces():  # type: ignore[no-untyped-def]
            for i in range(10):
                yield b"%d," % i

        r = await client.put(base + "/echo", body=pieces())
        assert r.content == b"0,1,2,3,4,5,6,7,8,9," and r.headers["x-te"] == "chunked"
        r = await client.put(
            base + "/echo", body=b"x" * 200_000, headers={"expect": "100-continue"}
        )
        assert r.content == b"x" * 200_000 and r.headers["x-expect"] == "100-continue"


async def test_streamed_download(backend: backends.Backend) -> None:
    server, _ = await serve(backend)
    async with running(backend, server) as (host, port), Client(backend) as client:
        sizes = []
        async with client.stream("GET", f"http://{host}:{port}/big") as r:
            assert r.headers["transfer-encoding"] == "chunked"
            async for piece in r.aiter_bytes():
                sizes.append(len(piece))
        assert sum(sizes) == 64 * 16384
        r2 = await client.get(f"http://{host}:{port}/")  # the connection went back to the pool
        assert r2.status == 200 and client.connections_opened == 1


async def test_per_host_connection_limit(backend: backends.Backend) -> None:
    server, stats = await serve(backend)
    async with running(backend, server) as (host, port), Client(backend, max_per_host=2) as c:
        results: list[int] = []

        async def one() -> None:
            results.append((await c.get(f"http://{host}:{port}/slow")).status)

        async with backend.task_group() as tg:
            for _ in range(6):
                tg.start_soon(one)
        assert results == [200] * 6 and stats["peak"] <= 2 and c.connections_opened == 2


async def test_timeout(backend: backends.Backend) -> None:
    server, _ = await serve(backend)
    async with running(backend, server) as (host, port), Client(backend, timeout=0.2) as c:
        with pytest.raises(backends.Timeout):
            await c.get(f"http://{host}:{port}/sleep")
        assert (await c.get(f"http://{host}:{port}/")).status == 200


async def test_redirects_opt_in_and_limited(backend: backends.Backend) -> None:
    server, stats = await serve(backend)
    async with running(backend, server) as (host, port), Client(backend) as c:
        stats["port"] = port
        base = f"http://{host}:{port}"
        r = await c.get(base + "/redirect/3")
        assert r.status == 302 and r.headers["location"] == "/redirect/2"
        r = await c.get(base + "/redirect/3", follow_redirects=True)
        assert r.status == 200 and r.content == b"landed" and len(r.history) == 3
        assert r.url == base + "/final"
        with pytest.raises(TooManyRedirects):
            await c.get(base + "/loop", follow_redirects=True)
        r = await c.post(base + "/see-other", body=b"data", follow_redirects=True)
        assert r.content == b"GET 0"


async def test_stale_pooled_connection_is_retried(backend: backends.Backend) -> None:
    server, _ = await serve(backend, idle_timeout=0.1)
    async with running(backend, server) as (host, port), Client(backend) as c:
        assert (await c.get(f"http://{host}:{port}/")).status == 200
        await backend.sleep(0.4)  # the server closes the idle connection
        assert (await c.get(f"http://{host}:{port}/")).status == 200
        assert c.connections_opened == 2


async def test_bad_urls(backend: backends.Backend) -> None:
    async with Client(backend) as c:
        for url, match in [
            ("ftp://a.test/", "only http and https"),
            ("/relative", "absolute http"),
            ("http://", "no host"),
            ("http://a b/", "invalid URL"),
        ]:
            with pytest.raises(InvalidURL, match=match):
                await c.get(url)


async def test_bad_response_is_a_protocol_error(backend: backends.Backend) -> None:
    async def liar(flow: backends.Flow) -> None:
        await flow.read()
        await flow.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n")

    async with await backend.tcp_listen("127.0.0.1", 0) as listener, backend.task_group() as tg:
        tg.start_soon(listener.serve, liar)
        async with Client(backend) as c:
            with pytest.raises(RemoteProtocolError, match="Content-Length"):
                await c.get("http://{}:{}/".format(*listener.address))
        tg.cancel_scope.cancel()
