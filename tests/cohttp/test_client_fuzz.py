"""Whatever a server sends, only the client's documented exceptions come out.

A loopback server answers each request with bytes that Hypothesis chooses: arbitrary bytes
(up to kilobytes), and near-valid responses built from pieces that are each slightly wrong
(status codes outside 100..599, non-ASCII reasons, bad framing, odd Locations, unknown
charsets). The client reads them through every public path (``request``, ``stream``,
``text``, ``json``, redirects) and may only raise :class:`ClientError` or a backend's
:class:`NetworkError`, within a deadline (a hang fails the test). Every backend runs it.

Locations only ever point at loopback, at ``.invalid`` names (never resolved, RFC 6761
section 6.4) or at what the client refuses, so no example reaches anything but this
machine's own server.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import backends
from cohttp.client import (
    Client,
    ClientError,
    DecodingError,
    RemoteProtocolError,
    UnsupportedProtocol,
)

DEADLINE = 20.0
"""Seconds one example may take; the client's own timeout (2 s) ends every wait before."""

_status_codes = st.sampled_from(
    [
        *(b"200", b"204", b"301", b"302", b"303", b"307", b"308", b"404", b"099", b"600"),
        *(b"999", b"000", b"1000", b"20", b"2x0", b"\xb2\xb2\xb2", b"-20", b"+20", b" 200"),
        *(b"100", b"101", b"103", b"304", b"0200"),
    ]
)
_reasons = st.sampled_from([b"OK", b"", b"\xff\xfe caf\xe9", b"a\x00b", b"x" * 3000, b"\tOK"])
_lengths = st.sampled_from(
    [b"0", b"3", b"10", b"99999", b"-1", b"1e3", b"\xb2", b"3, 3", b"3,4", b" 3 ", b"9" * 40]
)
_chunked = st.sampled_from(
    [
        b"3\r\nabc\r\n0\r\n\r\n",
        b"ffffffffffffffffffff\r\n",
        b"3;x=\xff\r\nabc\r\n0\r\n\r\n",
        b"z\r\n",
        b"3\r\nabcd0\r\n\r\n",
        b"0\r\nTrailer: \xff\r\n\r\n",
        b"0\r\nbad trailer\r\n\r\n",
        b"-1\r\n",
        b"",
    ]
)
_locations = st.sampled_from(
    [
        b"/next",
        b"next?a=b#frag",
        b"//127.0.0.1:1/",
        b"http://127.0.0.1:1/",
        b"http://127.0.0.1:99999/",
        b"http://127.0.0.1:0/",
        b"https://127.0.0.1/",
        b"ftp://127.0.0.1/",
        b"http://[::1",
        b"http://a b/",
        b"http://u:p@nowhere.invalid/",
        b"http://\xff\xfe.invalid/",
        b"\x00",
        b"",
        b"   ",
        b"http://%zz/",
        b"mailto:x@y.invalid",
        b"/" + b"a" * 5000,
    ]
)
_charsets = st.sampled_from(
    [b"utf-8", b"no-such-charset", b'"', b"\xff", b"utf-16", b"idna", b"rot13", b"base64"]
)
_bodies = st.sampled_from([b"", b"{}", b"{", b"\xff\xfe", b"null", b"[" * 5000, b"abc"])


@st.composite
def near_valid(draw: st.DrawFn) -> bytes:
    """A response head and body where some pieces are slightly (or badly) wrong."""
    version = draw(st.sampled_from([b"HTTP/1.1", b"HTTP/1.0", b"HTTP/2.0", b"HTTP/1.9", b"HTTP/1"]))
    lines = [version + b" " + draw(_status_codes) + b" " + draw(_reasons)]
    body = draw(_bodies)
    framing = draw(st.sampled_from(["length", "chunked", "both", "none", "te-other"]))
    if framing in ("length", "both"):
        lines.append(b"Content-Length: " + draw(_lengths))
    if framing in ("chunked", "both"):
        lines.append(b"Transfer-Encoding: chunked")
        body = draw(_chunked)
    if framing == "te-other":
        lines.append(b"Transfer-Encoding: " + draw(st.sampled_from([b"gzip", b"\xff", b"x,"])))
    if draw(st.booleans()):
        lines.append(b"Location: " + draw(_locations))
    if draw(st.booleans()):
        lines.append(b"Content-Type: text/plain; charset=" + draw(_charsets))
    extra = draw(st.lists(st.binary(max_size=40), max_size=3))
    lines.extend(extra)
    blob = b"\r\n".join(lines) + b"\r\n\r\n" + body
    if draw(st.booleans()):
        blob += draw(st.binary(max_size=200))
    return blob


_answers = st.one_of(
    st.binary(max_size=64),
    st.binary(min_size=1000, max_size=8000),
    st.builds(lambda tail: b"HTTP/1.1 " + tail, st.binary(max_size=2000)),
    near_valid(),
)


async def _answer(flow: backends.Flow, answer: bytes, cut: int = 0) -> None:
    """Read the request's first bytes, send ``answer`` (in two writes, split at ``cut``),
    close."""
    try:
        await flow.read()
        await flow.write(answer[:cut])
        await flow.write(answer[cut:])
    except backends.NetworkError:
        pass
    await flow.close()


async def _exercise(client: Client, url: str, follow: bool) -> None:
    r = await client.get(url, follow_redirects=follow)
    r.text  # noqa: B018 - decoding must not raise a builtin either
    try:
        r.json()
    except ClientError:
        pass
    async with client.stream("GET", url) as s:
        async for _ in s.aiter_bytes():
            pass
        s.trailers  # noqa: B018


@given(answer=_answers, follow=st.booleans(), cut=st.integers(0, 3000))
@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
async def test_only_documented_exceptions_escape(
    backend: backends.Backend, answer: bytes, follow: bool, cut: int
) -> None:
    async def serve(flow: backends.Flow) -> None:
        await _answer(flow, answer, cut)

    async with await backend.tcp_listen("127.0.0.1", 0) as listener, backend.task_group() as tg:
        tg.start_soon(listener.serve, serve)
        host, port = listener.address
        with backend.move_on_after(DEADLINE) as scope:
            async with Client(backend, timeout=2.0, max_redirects=2) as client:
                try:
                    await _exercise(client, f"http://{host}:{port}/", follow)
                except (ClientError, backends.NetworkError):
                    pass
        tg.cancel_scope.cancel()
    assert not scope.cancelled_caught, f"the client hung on {answer[:200]!r}"


@pytest.mark.parametrize(
    ("answer", "error", "match"),
    [
        (b"HTTP/1.1 600 Past\r\nContent-Length: 0\r\n\r\n", RemoteProtocolError, "600"),
        (b"HTTP/1.1 999 \r\n\r\n", RemoteProtocolError, "outside 100..599"),
        (b"HTTP/1.1 302 Found\r\nLocation: http://[::1\r\n\r\n", RemoteProtocolError, "Location"),
        (b"HTTP/1.1 301 M\r\nLocation: http://h:99999/\r\n\r\n", RemoteProtocolError, "port"),
        (b"HTTP/1.1 302 F\r\nLocation: ftp://h/\r\n\r\n", UnsupportedProtocol, "ftp"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: \xb2\r\n\r\n", RemoteProtocolError, "Content"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n{", DecodingError, "not JSON"),
    ],
)
async def test_named_bad_answers(
    backend: backends.Backend, answer: bytes, error: type[Exception], match: str
) -> None:
    async def serve(flow: backends.Flow) -> None:
        await _answer(flow, answer)

    async with await backend.tcp_listen("127.0.0.1", 0) as listener, backend.task_group() as tg:
        tg.start_soon(listener.serve, serve)
        async with Client(backend, timeout=2.0, follow_redirects=True) as client:
            with pytest.raises(error, match=match):
                (await client.get("http://{}:{}/".format(*listener.address))).json()
        tg.cancel_scope.cancel()


async def test_a_trickled_body_cannot_hold_the_client(backend: backends.Backend) -> None:
    """A server that drips one body byte every 0.1 s resets each read's timeout, yet the
    body as a whole is cut about ``timeout`` seconds in (the minimum-rate deadline)."""

    async def drip(flow: backends.Flow) -> None:
        try:
            await flow.read(65536)
            await flow.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
            for _ in range(1000):  # bounded: 100 s at most, the test ends long before
                await flow.write(b"x")
                await backend.sleep(0.1)
        except backends.NetworkError:
            pass

    async with await backend.tcp_listen("127.0.0.1", 0) as listener, backend.task_group() as tg:
        tg.start_soon(listener.serve, drip)
        host, port = listener.address
        start = backend.now()
        async with Client(backend, timeout=1.0) as client:
            with pytest.raises(backends.Timeout):
                await client.get(f"http://{host}:{port}/")
        elapsed = backend.now() - start
        tg.cancel_scope.cancel()
    assert elapsed < 5.0, f"a dripping body held the client for {elapsed:.1f} s"
