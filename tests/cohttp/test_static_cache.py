"""The static server's cache, several ranges, precompressed siblings, and sendfile.

The cache's promises: a hit makes no system call; an entry is checked again once
``revalidate`` seconds have passed, and then a file rewritten in place (same size, new
mtime), replaced (new inode) or deleted is seen; a symbolic link moved to point out of the
root is refused as on a miss; entries and bytes stay within their bounds.
"""

from __future__ import annotations

import email.parser
import gzip
import hashlib
import os
import time
from pathlib import Path

import anyio
import pytest

import backends
from backends.interface import SendfileFlow
from cohttp import FileBody, Request, Response, Server
from cohttp.static import StaticFiles

from .helpers import RawClient, running


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_bytes(b"version one\n")
    (root / "sub" / "b.txt").write_bytes(b"inside b\n")
    (root / "data.bin").write_bytes(bytes(range(256)) * 40)  # 10240 bytes
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "b.txt").write_bytes(b"top secret\n")
    (tmp_path / "secret.txt").write_bytes(b"top secret\n")
    return root


def get(path: str, **headers: str) -> Request:
    h = [("host", "t")] + [(k.replace("_", "-"), v) for k, v in headers.items()]
    return Request("GET", path, h)


def body_of(r: Response) -> bytes:
    return anyio.run(r.read)


def fetch(s: StaticFiles, path: str, **headers: str) -> tuple[int, bytes, Response]:
    r = s.respond(get(path, **headers))
    return r.status, body_of(r), r


def rewrite_same_size(path: Path, data: bytes) -> None:
    """Rewrite ``path`` in place (same inode, same size) with a different mtime."""
    old = path.stat()
    assert len(data) == old.st_size
    with open(path, "r+b") as f:
        f.write(data)
    os.utime(path, ns=(old.st_atime_ns, old.st_mtime_ns + 1_000_000_000))


# -- validation ---------------------------------------------------------------------------


def test_a_file_rewritten_in_place_with_the_same_size_is_read_again(site: Path) -> None:
    s = StaticFiles(site, revalidate=0)
    assert fetch(s, "/a.txt")[1] == b"version one\n"
    rewrite_same_size(site / "a.txt", b"version two\n")
    status, body, r = fetch(s, "/a.txt")
    assert (status, body) == (200, b"version two\n")
    assert isinstance(r.body, bytes)  # cached again, from memory


def test_a_replaced_file_with_the_same_size_and_mtime_is_read_again(site: Path) -> None:
    s = StaticFiles(site, revalidate=0)
    assert fetch(s, "/a.txt")[1] == b"version one\n"
    old = (site / "a.txt").stat()
    (site / "new").write_bytes(b"version 2!!\n")
    os.utime(site / "new", ns=(old.st_atime_ns, old.st_mtime_ns))  # only the inode differs
    os.replace(site / "new", site / "a.txt")
    assert (site / "a.txt").stat().st_ino != old.st_ino
    assert fetch(s, "/a.txt")[1] == b"version 2!!\n"


def test_a_deleted_file_is_404(site: Path) -> None:
    s = StaticFiles(site, revalidate=0)
    assert fetch(s, "/a.txt")[0] == 200
    (site / "a.txt").unlink()
    status, body, _ = fetch(s, "/a.txt")
    assert status == 404 and b"version" not in body
    assert len(s.cache) == 0


def test_staleness_is_bounded_by_revalidate(site: Path) -> None:
    lazy = StaticFiles(site, revalidate=3600)
    assert fetch(lazy, "/a.txt")[1] == b"version one\n"
    rewrite_same_size(site / "a.txt", b"version two\n")
    assert fetch(lazy, "/a.txt")[1] == b"version one\n"  # within the bound: the cached copy
    brisk = StaticFiles(site, revalidate=0.2)
    assert fetch(brisk, "/a.txt")[1] == b"version two\n"
    rewrite_same_size(site / "a.txt", b"version 3!!\n")
    time.sleep(0.3)
    assert fetch(brisk, "/a.txt")[1] == b"version 3!!\n"  # past the bound: seen


def test_a_hit_makes_no_system_call(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    s = StaticFiles(site, revalidate=3600)
    assert fetch(s, "/a.txt")[0] == 200
    assert fetch(s, "/sub/")[0] == 200  # a listing: never cached
    calls: list[str] = []
    for name in ("stat", "lstat", "open", "read", "fstat", "listdir", "scandir"):
        real = getattr(os, name)

        def spy(*args: object, _name: str = name, _real: object = real, **kw: object) -> object:
            calls.append(_name)
            return _real(*args, **kw)  # type: ignore[operator]

        monkeypatch.setattr(os, name, spy)
    for _ in range(3):
        status, body, _ = fetch(s, "/a.txt", if_none_match='"x"')
        assert (status, body) == (200, b"version one\n")
    assert calls == []


def test_cached_file_gets_conditionals_and_head(site: Path) -> None:
    s = StaticFiles(site)
    _, _, first = fetch(s, "/a.txt")
    etag = first.headers["etag"]
    assert fetch(s, "/a.txt", if_none_match=etag)[0] == 304
    assert fetch(s, "/a.txt", if_modified_since=first.headers["last-modified"])[0] == 304
    head = s.respond(Request("HEAD", "/a.txt", [("host", "t")]))
    assert head.status == 200 and head.headers["etag"] == etag


# -- containment, with a warm cache -------------------------------------------------------


def test_a_symlink_moved_out_of_the_root_is_refused(site: Path) -> None:
    os.symlink(site / "a.txt", site / "link.txt")
    s = StaticFiles(site, revalidate=0)
    assert fetch(s, "/link.txt")[1] == b"version one\n"
    os.unlink(site / "link.txt")
    os.symlink(site.parent / "secret.txt", site / "link.txt")
    status, body, _ = fetch(s, "/link.txt")
    assert status == 404 and b"secret" not in body


def test_a_directory_swapped_for_a_symlink_out_of_the_root_is_refused(site: Path) -> None:
    s = StaticFiles(site, revalidate=0)
    assert fetch(s, "/sub/b.txt")[1] == b"inside b\n"
    os.rename(site / "sub", site / "sub-old")
    os.symlink(site.parent / "outside", site / "sub")
    status, body, _ = fetch(s, "/sub/b.txt")
    assert status == 404 and b"secret" not in body


@pytest.mark.parametrize(
    "path", ["/../secret.txt", "/%2e%2e/secret.txt", "/sub/..%2f..%2fsecret.txt", "/a.txt/.."]
)
def test_traversal_is_refused_with_a_warm_cache(site: Path, path: str) -> None:
    s = StaticFiles(site)
    for warm in ("/a.txt", "/sub/b.txt", "/"):
        s.respond(get(warm))
    status, body, _ = fetch(s, path)
    assert status in (400, 404) and b"secret" not in body


# -- bounds -------------------------------------------------------------------------------


def test_entries_and_bytes_stay_bounded_least_recently_used_out(site: Path) -> None:
    for i in range(10):
        (site / f"f{i}.txt").write_bytes(bytes([65 + i]) * 1000)
    s = StaticFiles(site, cache_entries=4, cache_bytes=2500)
    for i in range(10):
        assert fetch(s, f"/f{i}.txt")[1] == bytes([65 + i]) * 1000
        assert len(s.cache) <= 4 and s.cache.bytes <= 2500
    assert s.cache.get("/f9.txt") is not None and s.cache.get("/f0.txt") is None
    fetch(s, "/f8.txt")  # f8 most recent now; a new file evicts f9's neighbour first
    fetch(s, "/f1.txt")
    assert s.cache.get("/f8.txt") is not None
    big = StaticFiles(site, cache_file_size=500)
    status, _, r = fetch(big, "/f1.txt")
    assert status == 200 and isinstance(r.body, FileBody) and big.cache.bytes == 0


# -- ranges -------------------------------------------------------------------------------


def parse_multipart(content_type: str, body: bytes) -> list[tuple[str, str, bytes]]:
    """(Content-Type, Content-Range, payload) of each part, with the stdlib's MIME parser."""
    message = email.parser.BytesParser().parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    assert message.is_multipart() and not message.defects
    parts = []
    for part in message.get_payload():  # type: ignore[union-attr]
        payload = part.get_payload(decode=True)
        parts.append((part["content-type"], part["content-range"], payload))
    return parts


@pytest.mark.parametrize("cache_file_size", [1 << 20, 0], ids=["memory", "disk"])
def test_multipart_byteranges_are_byte_exact(site: Path, cache_file_size: int) -> None:
    data = (site / "data.bin").read_bytes()
    s = StaticFiles(site, cache_file_size=cache_file_size)
    r = s.respond(get("/data.bin", range="bytes=5000-5009, 0-99, 10230-, 50-120"))
    assert r.status == 206
    ctype = r.headers["content-type"]
    assert ctype.startswith("multipart/byteranges; boundary=")
    body = body_of(r)
    if "content-length" in r.headers:
        assert int(r.headers["content-length"]) == len(body)
    parts = parse_multipart(ctype, body)
    # sorted, and 0-99 with 50-120 merged into 0-120
    assert [cr for _, cr, _ in parts] == [
        "bytes 0-120/10240",
        "bytes 5000-5009/10240",
        "bytes 10230-10239/10240",
    ]
    assert [p for _, _, p in parts] == [data[0:121], data[5000:5010], data[10230:]]
    assert all(ct == "application/octet-stream" for ct, _, _ in parts)


def test_too_many_ranges_get_the_whole_file_and_416_says_the_length(site: Path) -> None:
    s = StaticFiles(site)
    many = "bytes=" + ",".join(f"{i * 10}-{i * 10}" for i in range(17))
    status, body, _ = fetch(s, "/data.bin", range=many)
    assert status == 200 and len(body) == 10240
    status, _, r = fetch(s, "/data.bin", range="bytes=20000-,30000-30001")
    assert status == 416 and r.headers["content-range"] == "bytes */10240"


def test_if_range(site: Path) -> None:
    s = StaticFiles(site)
    _, _, first = fetch(s, "/a.txt")
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert fetch(s, "/a.txt", range="bytes=0-6", if_range=etag)[:2] == (206, b"version")
    assert fetch(s, "/a.txt", range="bytes=0-6", if_range=modified)[:2] == (206, b"version")
    assert fetch(s, "/a.txt", range="bytes=0-6", if_range='"old"')[:2] == (200, b"version one\n")
    assert fetch(s, "/a.txt", range="bytes=0-6", if_range="W/" + etag)[0] == 200  # weak: no


# -- precompressed siblings ---------------------------------------------------------------


@pytest.fixture
def compressed(site: Path) -> Path:
    text = b"body { color: red }\n" * 50
    (site / "style.css").write_bytes(text)
    (site / "style.css.gz").write_bytes(gzip.compress(text))
    (site / "style.css.br").write_bytes(b"not really brotli, but a distinct sibling")
    later = time.time() + 10
    os.utime(site / "style.css.gz", (later, later))
    os.utime(site / "style.css.br", (later, later))
    return site


def test_gzip_sibling_is_served_to_a_client_that_accepts_it(compressed: Path) -> None:
    s = StaticFiles(compressed)
    text = (compressed / "style.css").read_bytes()
    status, body, r = fetch(s, "/style.css", accept_encoding="gzip, deflate")
    assert status == 200 and r.headers["content-encoding"] == "gzip"
    assert gzip.decompress(body) == text
    assert r.headers["vary"] == "Accept-Encoding"
    assert r.headers["content-type"] == "text/css; charset=utf-8"
    gz_etag = r.headers["etag"]
    assert fetch(s, "/style.css", accept_encoding="gzip", if_none_match=gz_etag)[0] == 304
    # br is preferred on a tie; q-values decide otherwise; q=0 refuses
    assert fetch(s, "/style.css", accept_encoding="gzip, br")[2].headers["content-encoding"] == "br"
    r = fetch(s, "/style.css", accept_encoding="br;q=0.5, gzip")[2]
    assert r.headers["content-encoding"] == "gzip"
    status, body, r = fetch(s, "/style.css", accept_encoding="gzip;q=0")
    assert body == text and "content-encoding" not in r.headers
    assert r.headers["vary"] == "Accept-Encoding" and r.headers["etag"] != gz_etag
    status, body, r = fetch(s, "/style.css")
    assert body == text and "content-encoding" not in r.headers


def test_no_sibling_for_range_requests_nor_when_older_or_outside(compressed: Path) -> None:
    s = StaticFiles(compressed, revalidate=0)
    text = (compressed / "style.css").read_bytes()
    status, body, r = fetch(s, "/style.css", accept_encoding="gzip", range="bytes=0-3")
    assert (status, body) == (206, text[:4]) and "content-encoding" not in r.headers
    earlier = time.time() - 1000
    for suffix in (".gz", ".br"):
        os.utime(compressed / f"style.css{suffix}", (earlier, earlier))
    status, body, r = fetch(s, "/style.css", accept_encoding="gzip, br")
    assert body == text and "content-encoding" not in r.headers and "vary" not in r.headers
    # a sibling that is a symbolic link out of the root is not used
    (compressed.parent / "evil.gz").write_bytes(gzip.compress(b"top secret\n"))
    for suffix in (".gz", ".br"):
        os.unlink(compressed / f"style.css{suffix}")
    os.symlink(compressed.parent / "evil.gz", compressed / "style.css.gz")
    later = time.time() + 10
    os.utime(compressed.parent / "evil.gz", (later, later))
    status, body, r = fetch(s, "/style.css", accept_encoding="gzip")
    assert body == text and "content-encoding" not in r.headers
    off = StaticFiles(compressed, precompressed=False)
    assert fetch(off, "/style.css", accept_encoding="gzip")[1] == text


# -- through the server: sendfile on kernel flows, the portable path elsewhere ------------


async def test_large_files_and_ranges_arrive_intact_on_every_backend(
    backend: backends.Backend, backend_name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same bytes whether the server used sendfile (asyncio, trio) or read+write."""
    sendfile_calls: list[int] = []
    real_sendfile = os.sendfile

    def counting_sendfile(out_fd: int, in_fd: int, offset: int | None, count: int) -> int:
        sendfile_calls.append(count)
        return real_sendfile(out_fd, in_fd, offset, count)

    monkeypatch.setattr(os, "sendfile", counting_sendfile)
    data = os.urandom(3 << 20)
    (tmp_path / "big.bin").write_bytes(data)
    server = Server(StaticFiles(tmp_path), access_log=False)
    async with running(backend, server) as address:
        client = await RawClient.connect(backend, address)
        try:
            assert isinstance(client.flow, SendfileFlow) == (backend_name != "mirage")
            await client.send(b"GET /big.bin HTTP/1.1\r\nhost: t\r\n\r\n")
            head, body = await client.response()
            assert head.status == 200
            assert hashlib.sha256(body).digest() == hashlib.sha256(data).digest()
            await client.send(b"GET /big.bin HTTP/1.1\r\nhost: t\r\nrange: bytes=1000000-\r\n\r\n")
            head, body = await client.response()
            assert head.status == 206 and body == data[1000000:]
            request = b"GET /big.bin HTTP/1.1\r\nhost: t\r\nrange: bytes=-10,0-9\r\n\r\n"
            await client.send(request)
            head, body = await client.response()
            ctype = dict(head.headers)["content-type"]
            parts = parse_multipart(ctype, body)
            assert [p for _, _, p in parts] == [data[:10], data[-10:]]
        finally:
            await client.flow.close()
    assert bool(sendfile_calls) == (backend_name != "mirage")


async def test_a_peer_that_does_not_read_a_large_file_is_cut_off(
    backend: backends.Backend, tmp_path: Path
) -> None:
    """sendfile (or the portable path) honours the server's write deadline."""
    with open(tmp_path / "huge.bin", "wb") as f:
        f.truncate(64 << 20)  # sparse: 64 MiB of zeros without the disk space
    server = Server(StaticFiles(tmp_path), write_timeout=0.3, access_log=False)
    async with running(backend, server) as address:
        client = await RawClient.connect(backend, address)
        try:
            await client.send(b"GET /huge.bin HTTP/1.1\r\nhost: t\r\n\r\n")
            await backend.sleep(0.7)  # never read: the server's sends block, then it gives up
            total = 0
            with backend.fail_after(10):
                try:
                    while data := await client.flow.read():
                        total += len(data)
                except backends.NetworkError:
                    pass
            assert total < 64 << 20  # it stopped before the end
        finally:
            await client.flow.close()
