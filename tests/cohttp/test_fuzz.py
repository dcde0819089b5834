"""Bad input never crashes the codec or the server: only ProtocolError, and answers.

Hypothesis drives the parsers with arbitrary bytes and with mutated valid messages, fed in
arbitrary pieces; the server gets random garbage on live connections and must answer with
a 4xx/5xx (or close) and keep serving everyone else.
"""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

import backends
from cohttp import Request, Response, Server
from cohttp.codec import (
    NEED_DATA,
    PEER_CLOSED,
    EndOfMessage,
    Limits,
    ProtocolError,
    RequestParser,
    ResponseParser,
)

from .helpers import RawClient, running

VALID = (
    b"POST /a?b=c HTTP/1.1\r\nHost: x.test\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"4;e=1\r\nWiki\r\n5\r\npedia\r\n0\r\nT: 1\r\n\r\n"
    b"GET / HTTP/1.1\r\nHost: x.test\r\nContent-Length: 3\r\n\r\nabc"
)
LIMITS = Limits(max_line=256, max_head=1024, max_headers=20, max_body=4096)


def drive(parser: RequestParser | ResponseParser, data: bytes, cuts: list[int]) -> int:
    """Feed ``data`` in pieces, draining events; return how many messages completed."""
    done = 0
    pieces, last = [], 0
    for cut in sorted(c % (len(data) + 1) for c in cuts):
        pieces.append(data[last:cut])
        last = cut
    pieces.append(data[last:])
    try:
        for piece in [*pieces, None]:
            if piece is None:
                parser.feed_eof()
            else:
                parser.feed(piece)
            for _ in range(10_000):  # a parser must never spin
                ev = parser.next_event()
                if ev is NEED_DATA or ev is PEER_CLOSED:
                    break
                if isinstance(ev, EndOfMessage):
                    done += 1
            else:
                raise AssertionError("parser produced 10000 events from a few bytes")
            if ev is PEER_CLOSED:
                break
    except ProtocolError as exc:
        assert 400 <= exc.status <= 505 and str(exc)
    return done


@given(st.binary(max_size=300), st.lists(st.integers(0, 400), max_size=5))
@settings(max_examples=300, deadline=None)
def test_arbitrary_bytes(data: bytes, cuts: list[int]) -> None:
    drive(RequestParser(LIMITS), data, cuts)
    response = ResponseParser(LIMITS)
    response.expect("GET")
    drive(response, data, cuts)


@given(
    st.lists(st.tuples(st.integers(0, len(VALID) - 1), st.binary(max_size=3)), max_size=4),
    st.lists(st.integers(0, 400), max_size=5),
)
@settings(max_examples=400, deadline=None)
def test_mutated_messages(edits: list[tuple[int, bytes]], cuts: list[int]) -> None:
    data = bytearray(VALID)
    for pos, replacement in edits:
        data[pos : pos + 1] = replacement
    drive(RequestParser(LIMITS), bytes(data), cuts)


def test_unmutated_message_parses() -> None:
    assert drive(RequestParser(LIMITS), VALID, [7, 50, 99]) == 2


async def test_server_survives_garbage(backend: backends.Backend) -> None:
    async def app(request: Request) -> Response:
        await request.read()
        return Response(200, b"ok")

    rng = random.Random(5)
    blobs = [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200))) for _ in range(8)]
    blobs += [
        VALID[: rng.randrange(len(VALID))] + bytes(rng.randrange(256) for _ in range(20))
        for _ in range(8)
    ]
    async with running(backend, Server(app, limits=LIMITS, header_timeout=0.5)) as addr:
        for blob in blobs:
            c = await RawClient.connect(backend, addr)
            await c.send(blob, "POST", "GET")
            await c.flow.shutdown_write()
            with backend.fail_after(5):
                try:
                    while True:
                        head, _ = await c.response()
                        assert head.status < 600
                except (EOFError, ProtocolError, backends.NetworkError):
                    pass
            await c.close()
        ok = await RawClient.connect(backend, addr)
        await ok.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        assert (await ok.response())[1] == b"ok"
