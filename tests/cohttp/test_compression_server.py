"""Response compression in the server (ServerConfig.compression, compressing) and the static
server (StaticFiles(compress=...)), and the client side of ``cohttp get --compressed``."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

import backends
from cohttp import FileBody, Request, Response, Server
from cohttp.compression import (
    AVAILABLE,
    CompressionMiddleware,
    DecodedTooLarge,
    DecodingError,
    Policy,
    compress_bytes,
    compress_response,
    compressing,
    decode_aiter,
    decode_bytes,
)
from cohttp.headers import Headers
from cohttp.static import StaticFiles

from .helpers import RawClient, running

TEXT = b"".join(b"line %d of a compressible text body\n" % i for i in range(400))


def req(method: str = "GET", **headers: str) -> Request:
    h = [("host", "t")] + [(k.replace("_", "-"), v) for k, v in headers.items()]
    return Request(method, "/", h)


def text_response(body: bytes = TEXT, **headers: str) -> Response:
    h = Headers([("content-type", "text/plain; charset=utf-8")])
    for k, v in headers.items():
        h.set(k.replace("_", "-"), v)
    return Response(200, body, h)


def read(r: Response) -> bytes:
    return anyio.run(r.read)


# -- compress_response: the rules -------------------------------------------------------


def test_bytes_body_gzipped_with_vary_and_weak_etag() -> None:
    r = compress_response(
        req(accept_encoding="gzip"), text_response(etag='"abc"', content_length="1"), Policy()
    )
    assert r.headers["content-encoding"] == "gzip"
    assert r.headers["vary"] == "Accept-Encoding"
    assert r.headers["etag"] == 'W/"abc"'  # nginx's way: weakened, not suffixed
    assert "content-length" not in r.headers  # the server frames the new body
    assert gzip.decompress(r.body) == TEXT  # type: ignore[arg-type]


def test_q_values_choose_the_coding() -> None:
    r = compress_response(
        req(accept_encoding="gzip;q=0.5, deflate"),
        text_response(),
        Policy(codings=("gzip", "deflate")),
    )
    assert r.headers["content-encoding"] == "deflate"
    assert zlib.decompress(r.body) == TEXT  # type: ignore[arg-type]  # the zlib format
    r = compress_response(req(accept_encoding="gzip;q=0, identity"), text_response(), Policy())
    assert "content-encoding" not in r.headers and r.body == TEXT
    assert r.headers["vary"] == "Accept-Encoding"  # the answer depended on the field


@pytest.mark.parametrize(
    ("response", "request_headers"),
    [
        (text_response(b"short"), {}),  # under min_size
        (Response(200, TEXT, [("content-type", "image/png")]), {}),  # not a listed type
        (text_response(content_encoding="br"), {}),  # never twice
        (text_response(cache_control="no-transform"), {}),  # RFC 9111 5.2.2.6
        (
            Response(206, TEXT, [("content-type", "text/plain"), ("content-range", "bytes 0-1/9")]),
            {},
        ),
        (text_response(), {"range": "bytes=0-10"}),  # ranges count unencoded bytes
    ],
)
def test_not_compressed(response: Response, request_headers: dict[str, str]) -> None:
    body = response.body
    r = compress_response(req(accept_encoding="gzip", **request_headers), response, Policy())
    assert r.body is body
    assert r.headers.get("content-encoding") in (None, "br")


def test_no_accept_encoding_no_coding_but_vary() -> None:
    r = compress_response(req(), text_response(), Policy())
    assert r.body == TEXT and "content-encoding" not in r.headers
    assert r.headers["vary"] == "Accept-Encoding"


def test_memo_keeps_the_compressed_bytes() -> None:
    memo: dict[str, bytes] = {}
    first = compress_response(req(accept_encoding="gzip"), text_response(), Policy(), memo=memo)
    again = compress_response(req(accept_encoding="gzip"), text_response(), Policy(), memo=memo)
    assert list(memo) == ["gzip"] and first.body is again.body is memo["gzip"]


def test_stream_compresses_as_it_streams() -> None:
    async def main() -> None:
        async def pieces() -> AsyncIterator[bytes]:
            for i in range(5):
                yield b"event %d: " % i + b"x" * 300 + b"\n"

        r = compress_response(
            req(accept_encoding="gzip"),
            Response(200, pieces(), [("content-type", "text/event-stream")]),
            Policy(),
        )
        assert r.headers["content-encoding"] == "gzip"
        d = zlib.decompressobj(31)
        got = []
        async for chunk in r.body:  # type: ignore[union-attr]
            got.append(d.decompress(chunk))  # each piece decodes on arrival (flushed)
        assert got[0].startswith(b"event 0: ")
        assert b"".join(got) == b"".join([b"event %d: " % i + b"x" * 300 + b"\n" for i in range(5)])

    anyio.run(main)


def test_file_body_compressed_as_read(tmp_path: Path) -> None:
    async def main() -> None:
        path = tmp_path / "big.txt"
        path.write_bytes(TEXT * 50)
        r = compress_response(
            req(accept_encoding="gzip"),
            Response(
                200,
                FileBody(str(path), 10, len(TEXT) * 50 - 20, chunk_size=4096),
                [("content-type", "text/plain")],
            ),
            Policy(),
        )
        assert gzip.decompress(await r.read()) == (TEXT * 50)[10:-10]

    anyio.run(main)


def test_policy_refuses_codings_it_cannot_make() -> None:
    with pytest.raises(ValueError, match="cannot compress with lzma"):
        Policy(codings=("lzma",))


# -- the server: ServerConfig.compression ------------------------------------------------


async def test_server_compression_over_the_network(backend: backends.Backend) -> None:
    async def app(request: Request) -> Response:
        if request.path == "/stream":

            async def gen() -> AsyncIterator[bytes]:
                yield TEXT[:3000]
                yield TEXT[3000:]

            return Response(200, gen(), [("content-type", "application/json")])
        return text_response(etag='"v1"')

    async with running(backend, Server(app, compression=Policy())) as addr:
        c = await RawClient.connect(backend, addr)
        await c.send(b"GET / HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\n\r\n")
        head, body = await c.response()
        assert head.headers["content-encoding"] == "gzip" and head.headers["etag"] == 'W/"v1"'
        assert int(head.headers["content-length"]) == len(body) and gzip.decompress(body) == TEXT
        # HEAD: the fields a GET gets, no body
        await c.send(b"HEAD / HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\n\r\n", "HEAD")
        head2, body2 = await c.response()
        assert body2 == b"" and head2.headers["content-length"] == head.headers["content-length"]
        assert head2.headers["content-encoding"] == "gzip"
        await c.send(
            b"GET /stream HTTP/1.1\r\nHost: t\r\nAccept-Encoding: deflate, gzip;q=0.1\r\n\r\n"
        )
        head, body = await c.response()
        assert head.headers["transfer-encoding"] == "chunked"
        assert head.headers["content-encoding"] == "deflate" and zlib.decompress(body) == TEXT
        await c.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        head, body = await c.response()
        assert body == TEXT and "content-encoding" not in head.headers
        assert head.headers["vary"] == "Accept-Encoding"
        await c.close()


async def test_compressing_leaves_streamed_responses_alone(backend: backends.Backend) -> None:
    from cohttp.server import STREAMED

    async def app(request: Request) -> Response:
        await request.stream.respond(200, Headers([("content-type", "text/plain")]), TEXT)
        return STREAMED

    async with running(backend, Server(compressing(app))) as addr:
        c = await RawClient.connect(backend, addr)
        await c.send(b"GET / HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\n\r\n")
        head, body = await c.response()
        assert body == TEXT and "content-encoding" not in head.headers
        await c.close()


# -- the static server ------------------------------------------------------------------


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    root.mkdir()
    (root / "page.html").write_bytes(TEXT)
    (root / "tiny.txt").write_bytes(b"tiny\n")
    (root / "big.css").write_bytes(TEXT * 1000)  # past cache_file_size: from disk
    (root / "photo.png").write_bytes(TEXT)
    return root


def call(handler: StaticFiles, path: str, **headers: str) -> Response:
    h = [("host", "t")] + [(k.replace("_", "-"), v) for k, v in headers.items()]
    return anyio.run(handler, Request("GET", path, h))


def test_static_compresses_and_keeps_the_result(site: Path) -> None:
    files = StaticFiles(site, compress=Policy(), cache_file_size=64 << 10)
    plain = call(files, "/page.html")
    assert plain.body == TEXT and plain.headers["vary"] == "Accept-Encoding"
    r = call(files, "/page.html", accept_encoding="gzip")
    assert gzip.decompress(r.body) == TEXT  # type: ignore[arg-type]
    assert r.headers["etag"] == "W/" + plain.headers["etag"]
    held = files.cache.bytes
    again = call(files, "/page.html", accept_encoding="gzip")
    assert again.body is r.body and files.cache.bytes == held  # made once, counted once
    assert held == len(TEXT) + len(r.body)  # type: ignore[arg-type]
    # revalidation with the weak tag: 304 carrying it
    nm = call(files, "/page.html", accept_encoding="gzip", if_none_match=r.headers["etag"])
    assert nm.status == 304 and nm.headers["etag"] == r.headers["etag"]
    # ranges: the file as it is
    part = call(files, "/page.html", accept_encoding="gzip", range="bytes=0-9")
    assert part.status == 206 and part.body == TEXT[:10] and "content-encoding" not in part.headers
    # not worth it, or not text
    for path in ("/tiny.txt", "/photo.png"):
        r = call(files, path, accept_encoding="gzip")
        assert "content-encoding" not in r.headers and "vary" not in r.headers


def test_static_compresses_a_large_file_as_it_reads(site: Path) -> None:
    files = StaticFiles(site, compress=Policy(), cache_file_size=64 << 10)
    r = call(files, "/big.css", accept_encoding="gzip")
    assert r.headers["content-encoding"] == "gzip"
    assert gzip.decompress(anyio.run(r.read)) == TEXT * 1000


def test_static_prefers_a_precompressed_sibling(site: Path) -> None:
    (site / "page.html.gz").write_bytes(gzip.compress(TEXT))
    files = StaticFiles(site, compress=Policy())
    r = call(files, "/page.html", accept_encoding="gzip")
    assert r.body == (site / "page.html.gz").read_bytes()


def test_static_without_policy_never_compresses_on_the_fly(site: Path) -> None:
    r = call(StaticFiles(site), "/page.html", accept_encoding="gzip")
    assert r.body == TEXT and "content-encoding" not in r.headers and "vary" not in r.headers


# -- the client side ----------------------------------------------------------------------


async def _pieces(*chunks: bytes) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


def test_decode_aiter_limits_a_bomb() -> None:
    async def main() -> None:
        bomb = compress_bytes("gzip", b"\0" * (64 << 20))  # 64 MiB from ~64 KB
        assert len(bomb) < 100_000
        got = 0
        with pytest.raises(DecodedTooLarge):
            async for piece in decode_aiter("gzip", _pieces(bomb[:1000], bomb[1000:]), 1 << 20):
                got += len(piece)
        assert got <= 1 << 20

    anyio.run(main)


def test_decode_aiter_identity_is_limited_too() -> None:
    async def main() -> None:
        with pytest.raises(DecodedTooLarge):
            async for _ in decode_aiter(None, _pieces(b"x" * 10, b"y" * 10), 15):
                pass

    anyio.run(main)


def test_decode_aiter_truncated() -> None:
    async def main() -> None:
        data = compress_bytes("gzip", TEXT)
        with pytest.raises(DecodingError, match="truncated"):
            async for _ in decode_aiter("gzip", _pieces(data[:-8]), 1 << 20):
                pass

    anyio.run(main)


@pytest.mark.parametrize("coding", AVAILABLE)
def test_every_available_coding_round_trips_through_the_policy(coding: str) -> None:
    r = compress_response(req(accept_encoding=coding), text_response(), Policy())
    assert r.headers["content-encoding"] == coding
    assert decode_bytes(coding, r.body, len(TEXT)) == TEXT  # type: ignore[arg-type]


# -- ASGI ----------------------------------------------------------------------------------


def _asgi_run(app: object, headers: list[tuple[bytes, bytes]]) -> list[dict[str, object]]:
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/", "headers": headers}
    anyio.run(CompressionMiddleware(app, Policy()), scope, receive, send)  # type: ignore[arg-type]
    return sent


async def _whole(scope: object, receive: object, send: object) -> None:
    start = {"type": "http.response.start", "status": 200}
    start["headers"] = [(b"content-type", b"text/html"), (b"content-length", b"%d" % len(TEXT))]
    await send(start)  # type: ignore[operator]
    await send({"type": "http.response.body", "body": TEXT})  # type: ignore[operator]


async def _streamed(scope: object, receive: object, send: object) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/event-stream")],
        }
    )  # type: ignore[operator]
    for i in range(3):
        await send(
            {"type": "http.response.body", "body": b"data: %d\n\n" % i * 50, "more_body": True}
        )  # type: ignore[operator]
    await send({"type": "http.response.body", "body": b""})  # type: ignore[operator]


def test_asgi_middleware_whole_body() -> None:
    start, body = _asgi_run(_whole, [(b"accept-encoding", b"gzip")])
    fields = dict(start["headers"])  # type: ignore[call-overload]
    assert fields[b"content-encoding"] == b"gzip" and fields[b"vary"] == b"Accept-Encoding"
    assert int(fields[b"content-length"]) == len(body["body"])  # type: ignore[arg-type]
    assert gzip.decompress(body["body"]) == TEXT  # type: ignore[arg-type]
    start, body = _asgi_run(_whole, [])
    assert body["body"] == TEXT and b"content-encoding" not in dict(start["headers"])  # type: ignore[call-overload]


def test_asgi_middleware_streamed_body() -> None:
    start, *bodies = _asgi_run(_streamed, [(b"accept-encoding", b"deflate")])
    assert dict(start["headers"])[b"content-encoding"] == b"deflate"  # type: ignore[call-overload]
    d = zlib.decompressobj()
    first = d.decompress(bodies[0]["body"])  # type: ignore[arg-type]
    assert first == b"data: 0\n\n" * 50  # decodable as it arrives
    rest = b"".join(d.decompress(b["body"]) for b in bodies[1:])  # type: ignore[misc]
    assert first + rest == b"".join(b"data: %d\n\n" % i * 50 for i in range(3))
    assert bodies[-1]["more_body"] is False


async def test_asgi_middleware_under_our_server(backend: backends.Backend) -> None:
    from cohttp.asgi import ASGIHandler

    async with (
        ASGIHandler(CompressionMiddleware(_whole), backend, lifespan=False) as handler,  # type: ignore[arg-type]
        running(backend, Server(handler)) as addr,
    ):
        c = await RawClient.connect(backend, addr)
        await c.send(b"GET / HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\n\r\n")
        head, body = await c.response()
        assert head.headers["content-encoding"] == "gzip" and gzip.decompress(body) == TEXT
        await c.close()


def test_cohttp_run_gzip() -> None:
    pytest.importorskip("httpx", reason="needs httpx (test extra)")
    import httpx

    from tests.cohttp.apps.compressapp import ITEMS

    from .test_run import _free_port, cohttp_run, serving

    port = _free_port()
    with serving(cohttp_run("tests.cohttp.apps.compressapp:app", port, "--gzip"), port):
        r = httpx.get(f"http://127.0.0.1:{port}/", headers={"accept-encoding": "gzip"})
        assert r.headers["content-encoding"] == "gzip" and r.json() == ITEMS
        assert int(r.headers["content-length"]) < len(r.content) // 4
        r = httpx.get(f"http://127.0.0.1:{port}/stream", headers={"accept-encoding": "gzip"})
        assert r.headers["content-encoding"] == "gzip"
        assert r.headers["transfer-encoding"] == "chunked"
        assert r.text == "".join(f"line {i}\n" * 20 for i in range(20))
        r = httpx.get(f"http://127.0.0.1:{port}/", headers={"accept-encoding": "identity"})
        assert "content-encoding" not in r.headers and r.json() == ITEMS
