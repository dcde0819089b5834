"""The static file server: resolution, traversal, listing, conditionals, ranges, vhosts."""

from __future__ import annotations

import logging
import os
import time
from email.utils import formatdate
from pathlib import Path

import anyio
import pytest

import backends
from cohttp import FileBody, Request, Response, Server
from cohttp.static import StaticFiles, VirtualHosts, content_type, parse_ranges

from .helpers import RawClient, running


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    (root / "docs").mkdir(parents=True)
    (root / "index.html").write_text("<h1>home</h1>\n")
    (root / "style.css").write_text("body{}\n")
    (root / "data.bin").write_bytes(bytes(range(256)) * 4)
    (root / "docs" / "a b.txt").write_text("spaced\n")
    (root / "docs" / "<x>.txt").write_text("angle\n")
    (root / "empty.txt").write_text("")
    (tmp_path / "secret.txt").write_text("top secret\n")
    os.symlink(tmp_path / "secret.txt", root / "escape.txt")
    os.symlink(tmp_path, root / "escape-dir")
    os.symlink(root / "style.css", root / "inside-link.css")
    return root


def get(path: str, **headers: str) -> Request:
    h = [("host", "t")] + [(k.replace("_", "-"), v) for k, v in headers.items()]
    return Request("GET", path, h)


def body_of(r: Response) -> bytes:
    return anyio.run(r.read)


def call(handler: object, request: Request) -> Response:
    result: Response = anyio.run(handler, request)  # type: ignore[arg-type]
    return result


def test_files_index_and_mime(site: Path) -> None:
    s = StaticFiles(site)
    r = call(s, get("/"))
    assert r.status == 200 and body_of(r) == b"<h1>home</h1>\n"
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    r = call(s, get("/style.css"))
    assert r.headers["content-type"] == "text/css; charset=utf-8"
    assert r.body == b"body{}\n"  # small: from the cache's memory
    big = call(StaticFiles(site, cache_file_size=100), get("/data.bin"))
    assert isinstance(big.body, FileBody) and big.body.length == 1024  # large: from disk
    assert (call(s, get("/data.bin"))).headers["content-type"] == "application/octet-stream"
    assert (call(s, get("/inside-link.css"))).status == 200
    assert (call(s, get("/docs/a%20b.txt"))).status == 200
    assert (call(s, get("/missing"))).status == 404
    assert body_of(call(s, get("/empty.txt"))) == b""
    assert content_type("x.PNG") == "image/png"


def test_directory_redirect_and_listing(site: Path) -> None:
    s = StaticFiles(site)
    r = call(s, get("/docs?x=1"))
    assert r.status == 301 and r.headers["location"] == "/docs/?x=1"
    r = call(s, get("/docs/"))
    page = (body_of(r)).decode()
    assert r.status == 200 and 'href="a%20b.txt"' in page and "&lt;x&gt;.txt" in page
    assert '<a href="../">' in page
    assert (call(StaticFiles(site, listing=False), get("/docs/"))).status == 404


@pytest.mark.parametrize(
    "path",
    [
        "/../secret.txt",
        "/docs/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/docs/%2E%2E/%2e%2E/x",
        "/..%2fsecret.txt",
        "/docs%2f..%2f..%2fsecret.txt",
        "/escape.txt",
        "/escape-dir/secret.txt",
        "/a%00b",
        "/%5c..%5csecret.txt",
    ],
)
def test_no_path_traversal(site: Path, path: str) -> None:
    r = StaticFiles(site).respond(get(path))
    assert r.status in (400, 404)
    assert b"top secret" not in body_of(r)


def test_listing_hides_links_out_of_root(site: Path) -> None:
    (site / "links").mkdir()
    os.symlink(site.parent / "secret.txt", site / "links" / "out.txt")
    os.symlink(site / "style.css", site / "links" / "in.css")
    page = (body_of(call(StaticFiles(site), get("/links/")))).decode()
    assert "out.txt" not in page and "in.css" in page


def test_bad_encoding_and_methods(site: Path) -> None:
    s = StaticFiles(site)
    assert (call(s, get("/%ff"))).status == 400
    r = call(s, Request("POST", "/", [("host", "t")]))
    assert r.status == 405 and r.headers["allow"] == "GET, HEAD"


def test_conditionals(site: Path) -> None:
    s = StaticFiles(site)
    first = call(s, get("/style.css"))
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert (call(s, get("/style.css", if_none_match=etag))).status == 304
    assert (call(s, get("/style.css", if_none_match=f'"x", W/{etag}'))).status == 304
    assert (call(s, get("/style.css", if_none_match="*"))).status == 304
    assert (call(s, get("/style.css", if_none_match='"other"'))).status == 200
    assert (call(s, get("/style.css", if_modified_since=modified))).status == 304
    assert (
        call(s, get("/style.css", if_modified_since="Mon, 01 Jan 2001 00:00:00 GMT"))
    ).status == 200
    assert (call(s, get("/style.css", if_modified_since="garbage"))).status == 200
    # RFC 9110 13.1.3: a date later than the server's clock is ignored, not a 304
    future = formatdate(time.time() + 86400, usegmt=True)
    assert (call(s, get("/style.css", if_modified_since=future))).status == 200
    # the obsolete forms count (RFC 9110 5.6.7)
    for old in ("Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994"):
        assert (call(s, get("/style.css", if_modified_since=old))).status == 200
    # If-None-Match takes precedence over If-Modified-Since.
    assert (
        call(s, get("/style.css", if_none_match='"other"', if_modified_since=modified))
    ).status == 200


def test_parse_ranges() -> None:
    assert parse_ranges("bytes=0-9", 100) == [(0, 9)]
    assert parse_ranges("bytes=90-", 100) == [(90, 99)]
    assert parse_ranges("bytes=-10", 100) == [(90, 99)]
    assert parse_ranges("bytes=-1000", 100) == [(0, 99)]
    assert parse_ranges("bytes=50-1000", 100) == [(50, 99)]
    assert parse_ranges("bytes=100-", 100) == "unsatisfiable"
    assert parse_ranges("bytes=-0", 100) == "unsatisfiable"
    assert parse_ranges("bytes=9-0", 100) is None
    assert parse_ranges("items=0-1", 100) is None
    assert parse_ranges("bytes=x-1", 100) is None
    # several ranges: sorted, overlapping and adjacent ones merged (RFC 9110 14.6)
    assert parse_ranges("bytes=0-1,5-6", 100) == [(0, 1), (5, 6)]
    assert parse_ranges("bytes=50-59, 0-9", 100) == [(0, 9), (50, 59)]
    assert parse_ranges("bytes=0-9,5-20,21-30,-5", 100) == [(0, 30), (95, 99)]
    assert parse_ranges("bytes=0-1,,5-6,", 100) == [(0, 1), (5, 6)]  # empty elements
    # unsatisfiable specs are dropped while one remains (RFC 9110 14.1.2)
    assert parse_ranges("bytes=200-300,0-0", 100) == [(0, 0)]
    assert parse_ranges("bytes=200-300,-0", 100) == "unsatisfiable"
    # one invalid spec makes the whole header ignored; so do too many specs (14.2)
    assert parse_ranges("bytes=0-1,9-0", 100) is None
    assert parse_ranges("bytes=" + ",".join(["0-0"] * 17), 100) is None
    assert parse_ranges("bytes=" + ",".join(["0-0"] * 16), 100) == [(0, 0)]


BAD_NUMBERS = ["\xb2", "\u0663", "1\xb2", "\uff11", "9" * 5000, "0" * 5000 + "1", "+1", "1_0"]
"""Unicode digits (str.isdigit() says yes) and numbers too long for int()."""


@pytest.mark.parametrize("bad", BAD_NUMBERS)
def test_parse_range_ignores_non_ascii_and_overlong_numbers(bad: str) -> None:
    # RFC 9110 14.2: an invalid Range is ignored; never a ValueError (a 500) from int()
    for spec in (f"bytes={bad}-3", f"bytes=0-{bad}", f"bytes=-{bad}", f"bytes={bad}-"):
        assert parse_ranges(spec, 100) is None, spec


async def test_bad_numbers_in_range_and_dates_get_the_whole_file(
    backend: backends.Backend, site: Path, caplog: pytest.LogCaptureFixture
) -> None:
    whole = bytes(range(256)) * 4
    fields = [f"Range: bytes={b}-3" for b in BAD_NUMBERS]
    fields += [f"Range: bytes=0-{b}" for b in BAD_NUMBERS] + [
        f"Range: bytes=-{b}" for b in BAD_NUMBERS
    ]
    fields += [
        "If-Modified-Since: Sun, \u0660\u0666 Nov 2094 08:49:37 GMT",
        "If-Modified-Since: Sun, 06 Nov " + "9" * 5000 + " 08:49:37 GMT",
    ]
    async with running(backend, Server(StaticFiles(site))) as addr:
        c = await RawClient.connect(backend, addr)
        for field in fields:
            line = f"GET /data.bin HTTP/1.1\r\nHost: t\r\n{field}\r\n\r\n"
            try:  # one byte per character where it can, as the server decodes it
                await c.send(line.encode("latin-1"))
            except UnicodeEncodeError:
                await c.send(line.encode("utf-8"))
            head, body = await c.response()
            assert (head.status, body) == (200, whole), field[:40]
        await c.close()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_negotiating_fields_seen_in_the_unsplit_head(
    backend: backends.Backend, site: Path
) -> None:
    """The common request is recognised on the parser's unsplit field block: a
    negotiating field in any letter case is still honoured, a value that merely holds such
    a name only takes the general path, and a handler that edits the fields (splitting
    them) is served from its edited fields, never from the block it was given."""
    whole = bytes(range(256)) * 4
    files = StaticFiles(site)

    async def first_bytes(request: Request) -> Response:
        request.headers.set("range", "bytes=0-3")
        return await files(request)

    async with running(backend, Server(files)) as addr:
        c = await RawClient.connect(backend, addr)
        for field, status, body in [
            ("rAnGe: bytes=0-3", 206, whole[:4]),
            ("X-Note: range:bytes=0-3 accept-encoding:gzip", 200, whole),
            ("Range: bytes=4-5", 206, whole[4:6]),
            ("X-Other: 1", 200, whole),
        ]:
            await c.send(f"GET /data.bin HTTP/1.1\r\nHost: t\r\n{field}\r\n\r\n".encode())
            head, got = await c.response()
            assert (head.status, got) == (status, body), field
        await c.close()
    async with running(backend, Server(first_bytes)) as addr:
        c = await RawClient.connect(backend, addr)
        await c.send(b"GET /data.bin HTTP/1.1\r\nHost: t\r\n\r\n")
        head, got = await c.response()
        assert (head.status, got) == (206, whole[:4])
        await c.close()


def test_ranges(site: Path) -> None:
    s = StaticFiles(site)
    r = call(s, get("/data.bin", range="bytes=10-19"))
    assert r.status == 206 and r.headers["content-range"] == "bytes 10-19/1024"
    assert body_of(r) == bytes(range(10, 20))
    r = call(s, get("/data.bin", range="bytes=2000-"))
    assert r.status == 416 and r.headers["content-range"] == "bytes */1024"
    etag = r.headers["etag"]
    assert (call(s, get("/data.bin", range="bytes=0-0", if_range=etag))).status == 206
    assert (call(s, get("/data.bin", range="bytes=0-0", if_range='"stale"'))).status == 200


def test_virtual_hosts(site: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "index.html").write_text("other site\n")
    vh = VirtualHosts({"www.example.test": site, "Other.Example.Test": str(other)})
    r = call(vh, Request("GET", "/", [("host", "other.example.test:8080")]))
    assert body_of(r) == b"other site\n"
    r = call(vh, Request("GET", "/", [("host", "WWW.example.test.")]))
    assert body_of(r) == b"<h1>home</h1>\n"
    assert (call(vh, Request("GET", "/", [("host", "nobody.test")]))).status == 404
    vh2 = VirtualHosts({}, default=other)
    assert (call(vh2, Request("GET", "/", [("host", "[::1]:80")]))).status == 200
    with pytest.raises(NotADirectoryError):
        StaticFiles(site / "index.html")


async def test_absolute_form_target_picks_the_virtual_host(
    backend: backends.Backend, site: Path, tmp_path: Path
) -> None:
    # RFC 9112 3.2.2: a server MUST accept absolute-form, route by its authority and
    # ignore the Host field's value.
    other = tmp_path / "other"
    other.mkdir()
    (other / "index.html").write_text("other site\n")
    vh = VirtualHosts({"www.example.test": site, "other.example.test": other})
    async with running(backend, Server(vh)) as addr:
        c = await RawClient.connect(backend, addr)
        for target, host, expected in [
            (b"http://other.example.test/", b"www.example.test", b"other site\n"),
            (b"http://OTHER.example.test:8080?x=1", b"www.example.test", b"other site\n"),
            (b"http://www.example.test/style.css", b"other.example.test", b"body{}\n"),
            (b"/style.css", b"www.example.test", b"body{}\n"),
        ]:
            await c.send(b"GET " + target + b" HTTP/1.1\r\nHost: " + host + b"\r\n\r\n")
            head, body = await c.response()
            assert (head.status, body) == (200, expected), target
        await c.send(b"GET http://nobody.test/ HTTP/1.1\r\nHost: www.example.test\r\n\r\n")
        assert (await c.response())[0].status == 404
        await c.close()


def test_request_of_an_absolute_form_target() -> None:
    r = Request("GET", "http://a.test:8080/x%20y?q=1", [("host", "b.test")])
    assert (r.host, r.path, r.query) == ("a.test:8080", "/x%20y", "q=1")
    r = Request("OPTIONS", "*", [("host", "b.test")])
    assert (r.host, r.path, r.query) == ("b.test", "*", "")


async def test_served_over_the_network(backend: backends.Backend, site: Path) -> None:
    async with running(backend, Server(StaticFiles(site))) as addr:
        c = await RawClient.connect(backend, addr)
        await c.send(b"GET /data.bin HTTP/1.1\r\nHost: t\r\nRange: bytes=1000-\r\n\r\n")
        head, body = await c.response()
        assert head.status == 206 and body == (bytes(range(256)) * 4)[1000:]
        assert head.headers["content-length"] == "24"
        await c.send(b"HEAD /data.bin HTTP/1.1\r\nHost: t\r\n\r\n", "HEAD")
        head, body = await c.response()
        assert head.headers["content-length"] == "1024" and body == b""
        etag = head.headers["etag"].encode()
        await c.send(b"GET /data.bin HTTP/1.1\r\nHost: t\r\nIf-None-Match: " + etag + b"\r\n\r\n")
        head, body = await c.response()
        assert head.status == 304 and body == b"" and "content-length" not in head.headers
        await c.send(b"GET /data.bin HTTP/1.1\r\nHost: t\r\n\r\n")
        head, body = await c.response()
        assert body == bytes(range(256)) * 4
        await c.close()
