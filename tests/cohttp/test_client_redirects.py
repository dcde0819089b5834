"""Redirects: credentials never reach another origin; methods and bodies per RFC 9110 15.4.

Two of our own servers listen on loopback (two ports: two origins; ``localhost`` and
``127.0.0.1`` on one port are two more) and record the fields of every request they get.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import pytest

import backends
from cohttp import Request, Response, Server
from cohttp.client import Client, ClientError, same_origin

from .helpers import running

SECRETS = {
    "authorization": "Bearer s3cret",
    "cookie": "session=s3cret",
    "proxy-authorization": "Basic cHJveHk6czNjcmV0",
}


class Origins:
    """Two loopback servers, ``a`` and ``b``; ``seen`` lists (server, method, path, fields,
    body) of every request either got. ``GET /go?URL`` answers a 302 to URL (``/go307``,
    ``/go303``... with that status); any other path answers 200."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str, dict[str, str], bytes]] = []
        self.a = ""
        self.b = ""

    def app(self, name: str) -> object:
        async def handle(request: Request) -> Response:
            body = await request.read()
            fields = {k: v for k, v in request.headers}
            self.seen.append((name, request.method, request.path, fields, body))
            if request.path.startswith("/go"):
                status = int(request.path[3:] or "302")
                return Response(status, b"", {"location": request.query})
            return Response(200, b"landed on " + name.encode())

        return handle

    def fields_at(self, name: str, path: str) -> dict[str, str]:
        """The fields of the only request ``name`` got for ``path``."""
        hits = [f for n, _, p, f, _ in self.seen if n == name and p == path]
        assert len(hits) == 1, (name, path, self.seen)
        return hits[0]


@pytest.fixture
async def origins(backend: backends.Backend) -> AsyncIterator[Origins]:
    o = Origins()
    async with (
        running(backend, Server(o.app("a"))) as (_, port_a),  # type: ignore[arg-type]
        running(backend, Server(o.app("b"))) as (_, port_b),  # type: ignore[arg-type]
    ):
        o.a = f"http://127.0.0.1:{port_a}"
        o.b = f"http://127.0.0.1:{port_b}"
        yield o


def _has_no_credentials(fields: dict[str, str]) -> bool:
    return not {"authorization", "cookie", "proxy-authorization"} & fields.keys()


@pytest.mark.parametrize("source", ["client", "request"])
async def test_credentials_stop_at_another_port(
    backend: backends.Backend, origins: Origins, source: str
) -> None:
    client_fields = SECRETS if source == "client" else None
    request_fields = SECRETS if source == "request" else None
    async with Client(backend, headers=client_fields, follow_redirects=True) as c:
        r = await c.get(f"{origins.a}/go?{origins.b}/land", headers=request_fields)
    assert r.content == b"landed on b" and len(r.history) == 1
    sent = origins.fields_at("a", "/go")
    assert {k: sent[k] for k in SECRETS} == SECRETS
    assert _has_no_credentials(origins.fields_at("b", "/land"))


@pytest.mark.parametrize("source", ["client", "request", "userinfo"])
async def test_credentials_stop_at_another_host_on_the_same_port(
    backend: backends.Backend, origins: Origins, source: str
) -> None:
    """``localhost`` and ``127.0.0.1`` reach the same server but are different origins."""
    port = origins.a.rsplit(":", 1)[1]
    start = f"{origins.a}/go?http://localhost:{port}/land"
    request_fields = None
    client_fields = None
    if source == "userinfo":
        start = start.replace("://", "://user:p%40ss@", 1)
    elif source == "client":
        client_fields = SECRETS
    else:
        request_fields = SECRETS
    async with Client(backend, headers=client_fields, follow_redirects=True) as c:
        r = await c.get(start, headers=request_fields)
    assert r.content == b"landed on a"
    first = origins.fields_at("a", "/go")
    if source == "userinfo":
        assert first["authorization"] == "Basic " + base64.b64encode(b"user:p@ss").decode()
    else:
        assert first["authorization"] == SECRETS["authorization"]
    assert _has_no_credentials(origins.fields_at("a", "/land"))


async def test_credentials_follow_same_origin_redirects(
    backend: backends.Backend, origins: Origins
) -> None:
    port = origins.a.rsplit(":", 1)[1]
    async with Client(backend, headers={"cookie": "c=1"}, follow_redirects=True) as c:
        # a path, an absolute URL, and a network-path reference (RFC 3986 4.2)
        for i, location in enumerate(["/x0", f"{origins.a}/x1", f"//127.0.0.1:{port}/x2"]):
            r = await c.get(f"{origins.a}/go?{location}", headers={"authorization": "Bearer t"})
            assert r.content == b"landed on a"
            landed = origins.fields_at("a", f"/x{i}")
            assert landed["authorization"] == "Bearer t" and landed["cookie"] == "c=1"
        r = await c.get(origins.a.replace("://", "://u:p@") + "/go?/x3")
        assert origins.fields_at("a", "/x3")["authorization"] == "Basic dTpw"


async def test_credentials_do_not_come_back_after_leaving(
    backend: backends.Backend, origins: Origins
) -> None:
    """a -> b -> a: once a hop left the origin, the chain goes on without credentials (the
    second origin chose where it leads), as with httpx and requests."""
    back = f"{origins.a}/home"
    async with Client(backend, headers=SECRETS, follow_redirects=True) as c:
        r = await c.get(f"{origins.a}/go?{origins.b}/go?{back}")
    assert r.content == b"landed on a" and len(r.history) == 2
    assert _has_no_credentials(origins.fields_at("b", "/go"))
    assert _has_no_credentials(origins.fields_at("a", "/home"))


async def test_a_host_field_stays_with_its_origin(
    backend: backends.Backend, origins: Origins
) -> None:
    async with Client(backend, follow_redirects=True) as c:
        await c.get(f"{origins.a}/go?/same", headers={"host": "site.test"})
        await c.get(f"{origins.a}/go?{origins.b}/other", headers={"host": "site.test"})
    assert origins.fields_at("a", "/same")["host"] == "site.test"
    assert origins.fields_at("b", "/other")["host"] == origins.b.removeprefix("http://")


def test_same_origin_compares_scheme_host_and_port() -> None:
    assert same_origin("http://h.test/a", "http://h.test:80/b?c")
    assert same_origin("https://H.test/", "https://h.test:443/")
    assert same_origin("http://u:p@h.test/", "http://h.test/")  # userinfo is not the origin
    assert not same_origin("https://h.test/", "http://h.test/")  # a downgrade
    assert not same_origin("https://h.test/", "http://h.test:443/")
    assert not same_origin("http://h.test/", "http://h.test:8080/")
    assert not same_origin("http://localhost:8080/", "http://127.0.0.1:8080/")
    assert not same_origin("http://h.test/", "http://www.h.test/")
    assert not same_origin("mailto:a@h.test", "mailto:a@h.test")  # no origin at all
    assert not same_origin("http://[::1/", "http://[::1/")


@pytest.mark.parametrize(
    ("status", "method", "after"),
    [
        (301, "POST", "GET"),
        (302, "POST", "GET"),
        (303, "POST", "GET"),
        (303, "PUT", "GET"),
        (303, "HEAD", "HEAD"),
        (301, "PUT", "PUT"),
        (302, "DELETE", "DELETE"),
        (307, "POST", "POST"),
        (308, "PUT", "PUT"),
    ],
)
async def test_method_and_body_after_a_redirect(
    backend: backends.Backend, origins: Origins, status: int, method: str, after: str
) -> None:
    """RFC 9110 15.4: 303 turns any method but HEAD into GET, 301/302 turn POST into GET
    (as browsers do), and the body and its fields go with the method; 307/308 repeat both."""
    async with Client(backend, follow_redirects=True) as c:
        r = await c.request(
            method,
            f"{origins.a}/go{status}?/land",
            body=b"payload",
            headers={"content-type": "text/plain"},
        )
    assert r.status == 200
    [(_, got_method, _, fields, body)] = [s for s in origins.seen if s[2] == "/land"]
    assert got_method == after
    if status in (307, 308) or (status != 303 and method != "POST"):
        assert body == b"payload" and fields["content-type"] == "text/plain"
    else:
        assert body == b"" and "content-type" not in fields
        assert "content-length" not in fields or fields["content-length"] == "0"


async def test_a_streamed_body_cannot_follow_a_307(
    backend: backends.Backend, origins: Origins
) -> None:
    async def pieces() -> AsyncIterator[bytes]:
        yield b"once"

    async with Client(backend, follow_redirects=True) as c:
        with pytest.raises(ClientError, match="streamed body"):
            await c.post(f"{origins.a}/go307?/land", body=pieces())
