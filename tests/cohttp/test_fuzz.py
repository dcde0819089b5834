"""Bad input never crashes the codec or the server: only ProtocolError, and answers.

Hypothesis drives the parsers with arbitrary bytes and with mutated valid messages, fed in
arbitrary pieces; the server gets random garbage on live connections and must answer with
a 4xx/5xx (or close) and keep serving everyone else.
"""

from __future__ import annotations

import random
import signal

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


# -- long inputs: kilobytes, built to hit the grammar's repeats -----------------------

URI_CHARS = "aZ09-._~!$&'()*+,;=:@/?%AF[]"
ODD_CHARS = '\x00\x01\t "\\\x7f\x80\xb2\xff'


def long_text(alphabet: str) -> st.SearchStrategy[str]:
    """Kilobytes: a short unit repeated up to 4,000 times and an odd character after it
    (the shape that makes a backtracking pattern explode), or plain random text."""
    unit = st.text(alphabet, min_size=1, max_size=6)
    odd = st.sampled_from(["", *ODD_CHARS, *alphabet])
    repeated = st.builds(lambda u, k, t: u * k + t, unit, st.integers(1, 4000), odd)
    return st.one_of(repeated, st.text(alphabet + ODD_CHARS, max_size=3000))


CPU_BOUND = 2.0
"""Seconds of CPU one parse of a few kilobytes may take: ample for a linear parser."""


class _Runaway(Exception):
    pass


def _interrupt(signum: int, frame: object) -> None:
    raise _Runaway


def timed_drive(parser: RequestParser | ResponseParser, data: bytes) -> None:
    """drive(), and the parse must take bounded CPU time (no backtracking blow-up).

    A virtual-time alarm interrupts a runaway regex (the re module checks for signals
    while it backtracks), so the failure is reported instead of hanging the suite.
    """
    previous = signal.signal(signal.SIGVTALRM, _interrupt)
    signal.setitimer(signal.ITIMER_VIRTUAL, CPU_BOUND)
    try:
        drive(parser, data, [len(data) // 2])
    except _Runaway:
        raise AssertionError(f"more than {CPU_BOUND} s of CPU for {len(data)} bytes") from None
    finally:
        signal.setitimer(signal.ITIMER_VIRTUAL, 0)
        signal.signal(signal.SIGVTALRM, previous)


def latin1(text: str) -> bytes:
    return text.encode("latin-1")


@given(
    st.sampled_from(["GET", "POST", "OPTIONS", "CONNECT", "G" * 200]),
    st.one_of(
        long_text(URI_CHARS).map(lambda t: "/" + t),  # origin-form
        long_text(URI_CHARS).map(lambda t: "http://" + t),  # absolute-form
        long_text(URI_CHARS),  # authority-form and others
    ),
    long_text(URI_CHARS + "[]:"),  # Host
)
@settings(max_examples=150, deadline=None)
def test_long_request_lines_and_hosts(method: str, target: str, host: str) -> None:
    data = latin1(f"{method} {target} HTTP/1.1\r\nHost: {host}\r\n\r\n")
    timed_drive(RequestParser(), data)


FIELD_CHARS = "aZ09!#$%&'*+-.^_`|~:;=,\"() \t"


@given(
    st.lists(st.tuples(long_text(FIELD_CHARS), long_text(FIELD_CHARS)), max_size=120),
    st.booleans(),
)
@settings(max_examples=100, deadline=None)
def test_long_and_many_header_fields(fields: list[tuple[str, str]], trailers: bool) -> None:
    block = "".join(f"{name[:200]}: {value}\r\n" for name, value in fields)
    if trailers:
        data = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n" + block
    else:
        data = "GET / HTTP/1.1\r\nHost: a\r\n" + block
    timed_drive(RequestParser(), latin1(data + "\r\n"))
    response = ResponseParser()
    response.expect("GET")
    timed_drive(
        response,
        latin1("HTTP/1.1 200 " + (fields[0][1] if fields else "") + "\r\n" + block + "\r\n"),
    )


@given(long_text(FIELD_CHARS), st.sampled_from(["1", "0" * 3000 + "1", "f" * 40, ""]))
@settings(max_examples=100, deadline=None)
def test_long_chunk_extensions_and_sizes(extension: str, size: str) -> None:
    head = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
    data = latin1(head + f"{size};{extension}\r\nx\r\n0\r\n\r\n")
    timed_drive(RequestParser(Limits(max_chunk_line=16384)), data)


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
