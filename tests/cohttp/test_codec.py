"""The sans-IO codec, byte for byte: one test per MUST-level rule, plus framing and limits."""

from __future__ import annotations

import time

import pytest

from cohttp import codec
from cohttp.codec import (
    CHUNKED,
    LENGTH,
    NEED_DATA,
    NO_BODY,
    PEER_CLOSED,
    UNTIL_CLOSE,
    Data,
    EndOfMessage,
    Limits,
    ProtocolError,
    RequestHead,
    RequestParser,
    ResponseHead,
    ResponseParser,
)
from cohttp.headers import Headers


def events(data: bytes, *, eof: bool = False, limits: Limits | None = None) -> list[object]:
    p = RequestParser(limits)
    p.feed(data)
    if eof:
        p.feed_eof()
    out: list[object] = []
    while True:
        ev = p.next_event()
        if ev is NEED_DATA or ev is PEER_CLOSED:
            out.append(ev)
            return out
        out.append(ev)


def reject(
    data: bytes,
    status: int = 400,
    *,
    match: str = "",
    limits: Limits | None = None,
    eof: bool = False,
) -> ProtocolError:
    with pytest.raises(ProtocolError) as info:
        events(data, eof=eof, limits=limits)
    assert info.value.status == status, info.value
    assert match.lower() in str(info.value).lower()
    return info.value


def wire(text: str) -> bytes:
    """Latin-1 where it can (one byte per character, as the parser decodes), else UTF-8."""
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8")


def req(*lines: str, body: bytes = b"") -> bytes:
    return wire("\r\n".join(lines) + "\r\n\r\n") + body


# -- the happy path ------------------------------------------------------------------


def test_simple_get() -> None:
    evs = events(req("GET /index.html?q=1 HTTP/1.1", "Host: example.test", "Accept: */*"))
    head = evs[0]
    assert isinstance(head, RequestHead)
    assert (head.method, head.target, head.version) == ("GET", "/index.html?q=1", "HTTP/1.1")
    assert head.headers.items() == [("Host", "example.test"), ("Accept", "*/*")]
    assert head.framing == NO_BODY and head.keep_alive and not head.expect_continue
    assert isinstance(evs[1], EndOfMessage) and len(evs[1].trailers) == 0
    assert evs[2] is NEED_DATA


def test_content_length_body_split_across_feeds() -> None:
    p = RequestParser()
    data = req("POST /u HTTP/1.1", "Host: a", "Content-Length: 10", body=b"0123456789")
    body = b""
    for i in range(len(data)):
        p.feed(data[i : i + 1])
        while (ev := p.next_event()) is not NEED_DATA:
            if isinstance(ev, RequestHead):
                assert ev.framing == LENGTH and ev.content_length == 10
            elif isinstance(ev, Data):
                body += ev.data
            else:
                assert isinstance(ev, EndOfMessage)
    assert body == b"0123456789"


def test_chunked_body_with_extensions_and_trailers_kept_apart() -> None:
    data = req("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: chunked") + (
        b'5;name=value;q="x y"\r\nhello\r\nA\r\n0123456789\r\n0\r\nX-Sum: 15\r\n\r\n'
    )
    evs = events(data)
    head = evs[0]
    assert isinstance(head, RequestHead) and head.framing == CHUNKED
    assert "x-sum" not in head.headers
    assert b"".join(e.data for e in evs if isinstance(e, Data)) == b"hello0123456789"
    end = evs[-2]
    assert isinstance(end, EndOfMessage) and end.trailers.items() == [("X-Sum", "15")]


def test_pipelined_requests_come_out_in_order() -> None:
    data = b"".join(req(f"GET /{i} HTTP/1.1", "Host: a") for i in range(5))
    heads = [e for e in events(data) if isinstance(e, RequestHead)]
    assert [h.target for h in heads] == [f"/{i}" for i in range(5)]


def test_http10_keep_alive_and_close() -> None:
    (h10,) = [e for e in events(req("GET / HTTP/1.0")) if isinstance(e, RequestHead)]
    assert h10.version == "HTTP/1.0" and not h10.keep_alive
    (h10ka,) = [
        e
        for e in events(req("GET / HTTP/1.0", "Connection: Keep-Alive"))
        if isinstance(e, RequestHead)
    ]
    assert h10ka.keep_alive
    (h11c,) = [
        e
        for e in events(req("GET / HTTP/1.1", "Host: a", "Connection: close"))
        if isinstance(e, RequestHead)
    ]
    assert not h11c.keep_alive


def test_expect_100_continue_flag() -> None:
    evs = events(req("PUT / HTTP/1.1", "Host: a", "Expect: 100-continue", "Content-Length: 1"))
    assert isinstance(evs[0], RequestHead) and evs[0].expect_continue


def test_leading_empty_lines_are_ignored() -> None:
    evs = events(b"\r\n\r\n" + req("GET / HTTP/1.1", "Host: a"))
    assert isinstance(evs[0], RequestHead)


def test_clean_close_between_messages() -> None:
    assert events(b"", eof=True) == [PEER_CLOSED]
    evs = events(req("GET / HTTP/1.1", "Host: a"), eof=True)
    assert evs[-1] is PEER_CLOSED


def test_obs_text_in_value_round_trips() -> None:
    evs = events(req("GET / HTTP/1.1", "Host: a", "X-Name: caf\xe9"))
    assert isinstance(evs[0], RequestHead) and evs[0].headers["x-name"] == "caf\xe9"


def test_optional_whitespace_is_trimmed() -> None:
    evs = events(req("GET / HTTP/1.1", "Host:a", "X:  \t v w \t "))
    assert isinstance(evs[0], RequestHead) and evs[0].headers["x"] == "v w"


# -- MUST-level rejections, one raw message each --------------------------------------


def test_missing_host_on_11() -> None:
    reject(req("GET / HTTP/1.1"), match="without a Host")


def test_two_hosts() -> None:
    reject(req("GET / HTTP/1.1", "Host: a", "Host: b"), match="Host fields")


def test_invalid_host_value() -> None:
    reject(req("GET / HTTP/1.1", "Host: a b"), match="invalid Host")
    reject(req("GET / HTTP/1.1", "Host: a/b"), match="invalid Host")


def test_whitespace_before_colon() -> None:
    reject(req("GET / HTTP/1.1", "Host: a", "X-Foo : bar"), match="whitespace between")
    reject(req("GET / HTTP/1.1", "Host\t: a"), match="whitespace between")


def test_obs_fold() -> None:
    reject(req("GET / HTTP/1.1", "Host: a", "X: one", " two"), match="obs-fold")
    reject(req("GET / HTTP/1.1", "Host: a", "X: one", "\ttwo"), match="obs-fold")


def test_bare_cr_in_value() -> None:
    reject(req("GET / HTTP/1.1", "Host: a", "X: a\rb"), match="bare CR")


def test_bare_lf_line_endings() -> None:
    reject(b"GET / HTTP/1.1\nHost: a\n\n", match="bare LF")
    reject(b"GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n", match="bare LF")


def test_nul_in_value() -> None:
    reject(req("GET / HTTP/1.1", "Host: a", "X: a\x00b"), match="NUL")


def test_other_control_in_value() -> None:
    reject(req("GET / HTTP/1.1", "Host: a", "X: a\x07b"), match="control character")


def test_invalid_field_name() -> None:
    reject(req("GET / HTTP/1.1", "Host: a", "X(y): 1"), match="invalid header field name")
    reject(req("GET / HTTP/1.1", "Host: a", ": 1"), match="empty header field name")
    reject(req("GET / HTTP/1.1", "Host: a", "no colon"), match="without a colon")


@pytest.mark.parametrize("value", ["+5", "-5", "0x5", "5 5", "5.0", "", "\xb2"])
def test_content_length_digits_only(value: str) -> None:
    reject(req("POST / HTTP/1.1", "Host: a", f"Content-Length: {value}"))


def test_content_length_conflicts() -> None:
    reject(
        req("POST / HTTP/1.1", "Host: a", "Content-Length: 5", "Content-Length: 6"),
        match="Content-Length fields",
    )
    reject(req("POST / HTTP/1.1", "Host: a", "Content-Length: 5, 6"), match="digits only")


def test_content_length_overflow_is_413() -> None:
    reject(req("POST / HTTP/1.1", "Host: a", "Content-Length: " + "9" * 40), 413)


def test_transfer_encoding_must_end_in_chunked() -> None:
    reject(req("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: gzip"), match="end in chunked")
    reject(
        req("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: chunked, gzip"),
        match="end in chunked",
    )


def test_unknown_coding_before_chunked_is_501() -> None:
    reject(req("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: gzip, chunked"), 501)


def test_chunked_twice() -> None:
    reject(
        req("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: chunked, chunked"),
        match="more than once",
    )


def test_te_and_cl_together_rejected() -> None:
    reject(
        req("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: chunked", "Content-Length: 3"),
        match="both Transfer-Encoding and Content-Length",
    )


def test_te_on_http10_rejected() -> None:
    reject(req("POST / HTTP/1.0", "Transfer-Encoding: chunked"), match="HTTP/1.0")


def chunked(body: bytes) -> bytes:
    return req("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: chunked") + body


@pytest.mark.parametrize("size", [b"g", b"-1", b"+1", b" 1", b"0x1", b""])
def test_chunk_size_hex_only(size: bytes) -> None:
    reject(chunked(size + b"\r\nx\r\n0\r\n\r\n"))


def test_chunk_size_overflow_guard() -> None:
    reject(chunked(b"F" * 40 + b"\r\n"), 413, match="overflows")
    reject(chunked(b"10000\r\n"), 413, limits=Limits(max_body=100))


# -- numbers: ASCII digits only, and never too many (issue 12, item 4) ------------------

UNICODE_DIGITS = ["\xb2", "\u0663", "1\xb2", "\uff11", "\u0660" * 3]
"""Characters str.isdigit() accepts (superscript two, Arabic-Indic three, fullwidth one)."""


@pytest.mark.parametrize("text", [*UNICODE_DIGITS, "", "+1", "-1", " 1", "1_0", "1.0", "0x1"])
def test_parse_number_takes_ascii_digits_only(text: str) -> None:
    assert codec.parse_number(text) is None
    assert codec.parse_number(text.encode("utf-8")) is None


def test_parse_number_limits_the_length() -> None:
    assert codec.parse_number("9" * 18) == 10**18 - 1
    assert codec.parse_number("9" * 19) is None
    assert codec.parse_number("9" * 5000) is None  # never reaches int()
    assert codec.parse_number("0" * 5000 + "1") is None
    assert codec.parse_number("fF", base=16) == 255 and codec.parse_number("g", base=16) is None


@pytest.mark.parametrize("value", UNICODE_DIGITS)
def test_content_length_unicode_digits(value: str) -> None:
    reject(req("POST / HTTP/1.1", "Host: a", f"Content-Length: {value}"), match="ASCII digits")


def test_content_length_5000_digits_is_413() -> None:
    reject(req("POST / HTTP/1.1", "Host: a", "Content-Length: " + "9" * 5000), 413)


def test_chunk_size_non_ascii_and_5000_digits() -> None:
    for size in ("\xb2", "\u0663", "1\xb2"):
        reject(chunked(wire(size) + b"\r\nx\r\n0\r\n\r\n"))
    reject(chunked(b"f" * 5000 + b"\r\n"), 413, limits=Limits(max_chunk_line=8192))
    # leading zeros do not count: the size is 1
    evs = events(chunked(b"0" * 4000 + b"1\r\nx\r\n0\r\n\r\n"))
    assert Data(b"x") in evs


@pytest.mark.parametrize("port", [*UNICODE_DIGITS, "x"])
def test_host_port_ascii_digits_only(port: str) -> None:
    reject(req("GET / HTTP/1.1", f"Host: a:{port}"), match="invalid Host")


@pytest.mark.parametrize("code", ["\xb2\xb2\xb2", "2\u0660\u0660", "600", "999", "000", "9" * 5000])
def test_status_code_three_ascii_digits_in_100_to_599(code: str) -> None:
    with pytest.raises(ProtocolError):
        response_events(wire(f"HTTP/1.1 {code} X\r\nContent-Length: 0\r\n\r\n"))


@pytest.mark.parametrize(
    "text",
    [
        "Sun, 06 Nov 1994 08:49:37 GMT",  # IMF-fixdate
        "Sunday, 06-Nov-94 08:49:37 GMT",  # rfc850-date
        "Sun Nov  6 08:49:37 1994",  # asctime-date
    ],
)
def test_http_date_three_forms(text: str) -> None:
    assert codec.parse_http_date(text) == 784111777.0


@pytest.mark.parametrize(
    "text",
    [
        "Sun, \u0660\u0666 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov \xb9\xb9\xb9\xb9 08:49:37 GMT",
        "Sun, 06 Nov " + "1" * 5000 + " 08:49:37 GMT",
        "Sun, 31 Feb 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 08:49:37 +0000",
        "garbage",
    ],
)
def test_http_date_refuses_everything_else(text: str) -> None:
    assert codec.parse_http_date(text) is None


def test_chunk_data_must_end_in_crlf() -> None:
    reject(chunked(b"3\r\nabcX\r\n0\r\n\r\n"), match="CRLF")


def test_bad_chunk_extension() -> None:
    reject(chunked(b"3;=x\r\nabc\r\n0\r\n\r\n"), match="chunk extension")


def test_trailer_rules_are_header_rules() -> None:
    reject(chunked(b"0\r\nX : 1\r\n\r\n"), match="trailer")
    reject(chunked(b"0\r\nX: 1\r\n y\r\n\r\n"), match="obs-fold")


def test_bad_request_lines() -> None:
    reject(b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n", match="malformed request line")
    reject(b"GET / HTTP/1.1 x\r\nHost: a\r\n\r\n", match="malformed request line")
    reject(b"G(T / HTTP/1.1\r\nHost: a\r\n\r\n", match="invalid method")
    reject(b"GET / HTTP/1\r\nHost: a\r\n\r\n", match="invalid HTTP version")
    reject(b"GET / http/1.1\r\nHost: a\r\n\r\n", match="invalid HTTP version")


def test_unsupported_version_505() -> None:
    reject(req("GET / HTTP/2.0", "Host: a"), 505)


@pytest.mark.parametrize("target", ['/a"b', "/<x>", "/%zz", "/a#frag", "/{}", "/a|b", "/\\"])
def test_invalid_request_target(target: str) -> None:
    reject(req(f"GET {target} HTTP/1.1", "Host: a"), match="target")


def test_target_forms() -> None:
    ok = [("OPTIONS", "*"), ("CONNECT", "example.test:443"), ("GET", "http://a.test/x?y")]
    for method, target in ok:
        evs = events(req(f"{method} {target} HTTP/1.1", "Host: a"))
        assert isinstance(evs[0], RequestHead) and evs[0].target == target
    reject(req("GET * HTTP/1.1", "Host: a"), match="asterisk")
    reject(req("CONNECT /x HTTP/1.1", "Host: a"), match="authority-form")


def test_absolute_form_authority_rules() -> None:
    # RFC 9110 4.2.1: no empty host in an http URI; 4.2.4: userinfo is an error
    for target in ("http:///x", "http://:80/x", "http://u:p@a.test/", "http://a b/"):
        reject(req(f"GET {target} HTTP/1.1", "Host: a"))
    reject(req("GET http://a.test:\xb2/ HTTP/1.1", "Host: a"), match="non-ASCII")
    assert codec.absolute_form_parts("http://a.test:8080/x?y") == ("a.test:8080", "/x?y")
    assert codec.absolute_form_parts("http://[::1]?y") == ("[::1]", "/?y")
    assert codec.absolute_form_parts("https://a.test") == ("a.test", "/")


# -- limits ---------------------------------------------------------------------------


def test_request_line_limit_414() -> None:
    reject(req("GET /" + "a" * 200 + " HTTP/1.1", "Host: a"), 414, limits=Limits(max_line=100))
    reject(b"GET /" + b"a" * 200, 414, limits=Limits(max_line=100))  # before the head ends


def test_head_size_limit_431() -> None:
    big = req("GET / HTTP/1.1", "Host: a", "X: " + "v" * 500)
    reject(big, 431, limits=Limits(max_head=256))
    reject(big[:300], 431, limits=Limits(max_head=256))  # incomplete but already too big


def test_header_count_limit_431() -> None:
    lines = ["GET / HTTP/1.1", "Host: a"] + [f"X-{i}: {i}" for i in range(20)]
    reject(req(*lines), 431, limits=Limits(max_headers=10))


def test_body_limit_413() -> None:
    reject(
        req("POST / HTTP/1.1", "Host: a", "Content-Length: 101"), 413, limits=Limits(max_body=100)
    )
    reject(
        chunked(b"40\r\n" + b"x" * 64 + b"\r\n40\r\n" + b"x" * 64 + b"\r\n0\r\n\r\n"),
        413,
        limits=Limits(max_body=100),
    )


def test_limits_validate() -> None:
    with pytest.raises(ValueError, match="max_line"):
        Limits(max_line=0)


def test_slow_head_is_not_quadratic_and_completes() -> None:
    data = req("GET / HTTP/1.1", "Host: a", *[f"X-{i}: {'v' * 50}" for i in range(50)])
    p = RequestParser()
    for b in data:
        p.feed(bytes([b]))
        ev = p.next_event()
    assert isinstance(ev, RequestHead) and len(ev.headers) == 51


def _trickle_cpu(n: int, trailer: bool) -> float:
    field = "X-A: " + "b" * n
    if trailer:
        data = chunked(b"0\r\n" + field.encode() + b"\r\n\r\n")
    else:
        data = req("GET / HTTP/1.1", "Host: a", field)
    best = float("inf")
    for _ in range(3):
        p = RequestParser()
        seen = []
        start = time.thread_time()
        for i in range(len(data)):
            p.feed(data[i : i + 1])
            while (ev := p.next_event()) is not NEED_DATA:
                seen.append(ev)
        best = min(best, time.thread_time() - start)
        assert isinstance(seen[-1], EndOfMessage)
    return best


@pytest.mark.parametrize("trailer", [False, True], ids=["head", "trailers"])
def test_head_trickled_one_byte_per_read_costs_linear_time(trailer: bool) -> None:
    # Each read used to search the whole buffered head (or trailer section) again: a
    # 64 KiB head sent one byte per segment cost seconds of CPU. Growth, not speed: 4x
    # the bytes must cost about 4x the CPU time (quadratic: 16x).
    small, large = _trickle_cpu(6000, trailer), _trickle_cpu(24000, trailer)
    assert large < 8 * small, (small, large)


# -- EOF in the middle ------------------------------------------------------------------


def test_eof_mid_head_mid_body_mid_chunk() -> None:
    reject(b"GET / HTTP/1.1\r\nHo", eof=True, match="closed")
    reject(
        req("POST / HTTP/1.1", "Host: a", "Content-Length: 5", body=b"ab"), eof=True, match="closed"
    )
    reject(chunked(b"5\r\nab"), eof=True, match="closed")


# -- responses -------------------------------------------------------------------------


def response_events(data: bytes, method: str = "GET", eof: bool = False) -> list[object]:
    p = ResponseParser()
    p.expect(method)
    p.feed(data)
    if eof:
        p.feed_eof()
    out: list[object] = []
    while (ev := p.next_event()) is not NEED_DATA and ev is not PEER_CLOSED:
        out.append(ev)
        if isinstance(ev, EndOfMessage) and not eof:
            break
    return out


def test_response_framings() -> None:
    evs = response_events(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi")
    assert isinstance(evs[0], ResponseHead) and evs[0].framing == LENGTH
    assert evs[1] == Data(b"hi")
    evs = response_events(b"HTTP/1.1 200 OK\r\n\r\nuntil close", eof=True)
    assert isinstance(evs[0], ResponseHead) and evs[0].framing == UNTIL_CLOSE
    assert not evs[0].keep_alive and evs[1] == Data(b"until close")
    evs = response_events(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", method="HEAD")
    assert isinstance(evs[0], ResponseHead) and evs[0].framing == NO_BODY
    for code in (204, 304):
        evs = response_events(f"HTTP/1.1 {code} X\r\nContent-Length: 5\r\n\r\n".encode())
        assert isinstance(evs[0], ResponseHead) and evs[0].framing == NO_BODY


def test_interim_then_final_response() -> None:
    p = ResponseParser()
    p.expect("POST")
    p.feed(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n")
    first = p.next_event()
    assert isinstance(first, ResponseHead) and first.status == 100
    assert isinstance(p.next_event(), EndOfMessage)
    final = p.next_event()
    assert isinstance(final, ResponseHead) and final.status == 201 and final.reason == "Created"


def test_response_rules() -> None:
    for bad in (
        b"HTTP/1.1 20 OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX : y\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
    ):
        with pytest.raises(ProtocolError):
            response_events(bad)


# -- encoding -------------------------------------------------------------------------


def test_encoders() -> None:
    h = Headers([("Content-Type", "text/plain")])
    assert codec.encode_response_head(404, h) == (
        b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\n\r\n"
    )
    assert codec.encode_response_head(299, Headers()) == b"HTTP/1.1 299 Success\r\n\r\n"
    assert codec.encode_request_head("GET", "/", h).startswith(b"GET / HTTP/1.1\r\n")
    assert codec.encode_chunk(b"x" * 26) == b"1a\r\n" + b"x" * 26 + b"\r\n"
    assert codec.encode_chunk(b"") == b""
    assert codec.encode_last_chunk(Headers([("A", "1")])) == b"0\r\nA: 1\r\n\r\n"
    assert codec.date_line().startswith(b"date: ") and codec.date_line().endswith(b" GMT\r\n")
    with pytest.raises(ValueError, match="reason phrase"):
        codec.status_line(200, reason="OK\r\nX: y")
    with pytest.raises(ValueError):
        codec.encode_request_head("GET", "/a b", h)


def test_round_trip_through_our_own_parser() -> None:
    h = Headers([("Host", "a"), ("Transfer-Encoding", "chunked")])
    wire = (
        codec.encode_request_head("POST", "/x", h)
        + codec.encode_chunk(b"abc")
        + codec.encode_last_chunk(Headers([("T", "v")]))
    )
    evs = events(wire)
    assert isinstance(evs[0], RequestHead) and evs[1] == Data(b"abc")
    assert isinstance(evs[2], EndOfMessage) and evs[2].trailers["t"] == "v"


def test_skip_empty_body() -> None:
    p = RequestParser()
    p.feed(req("GET / HTTP/1.1", "Host: a") + req("GET /2 HTTP/1.1", "Host: a"))
    assert isinstance(p.next_event(), RequestHead)
    p.skip_empty_body()
    second = p.next_event()
    assert isinstance(second, RequestHead) and second.target == "/2"
    with pytest.raises(RuntimeError, match="only follows"):
        p.feed(req("POST / HTTP/1.1", "Host: a", "Content-Length: 1", body=b"x"))
        p.skip_empty_body()
        p.next_event()
        p.skip_empty_body()


def test_take_body_is_the_data_events_and_their_end_joined() -> None:
    """take_body gives a Content-Length body in one call when all of it is buffered (as
    the Data events joined, the EndOfMessage consumed); otherwise None, nothing consumed."""
    post = req("POST /a HTTP/1.1", "Host: a", "Content-Length: 5", body=b"hello")
    p = RequestParser()
    p.feed(post + req("GET /b HTTP/1.1", "Host: a"))  # pipelined: the next head follows
    assert isinstance(p.next_event(), RequestHead)
    assert p.take_body() == b"hello"
    assert p.take_body() is None  # between messages: nothing to take
    second = p.next_event()
    assert isinstance(second, RequestHead) and second.target == "/b"

    # Not all of it here yet: None, and the events still come as before.
    p = RequestParser()
    p.feed(post[:-2])
    assert isinstance(p.next_event(), RequestHead)
    assert p.take_body() is None
    assert p.next_event() == Data(b"hel")
    assert p.take_body() is None
    p.feed(b"lo")  # the rest: taken, from where the events stopped
    assert p.take_body() == b"lo"
    assert p.next_event() is NEED_DATA and p.at_message_start

    # A head cut by a read leaves a bytearray buffer: the body is still bytes.
    p = RequestParser()
    p.feed(post[:10])
    assert p.next_event() is NEED_DATA
    p.feed(post[10:])
    assert isinstance(p.next_event(), RequestHead)
    body = p.take_body()
    assert body == b"hello" and body.__class__ is bytes

    # An empty body (Content-Length: 0) is b""; a chunked one is left to next_event.
    p = RequestParser()
    p.feed(req("POST / HTTP/1.1", "Host: a", "Content-Length: 0"))
    assert isinstance(p.next_event(), RequestHead)
    assert p.take_body() == b"" and p.at_message_start
    p = RequestParser()
    p.feed(req("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: chunked", body=b"0\r\n\r\n"))
    assert isinstance(p.next_event(), RequestHead)
    assert p.take_body() is None
    assert isinstance(p.next_event(), EndOfMessage)


def test_repeated_header_section_is_still_checked_per_request() -> None:
    # The parser remembers the last header section; the request line is checked anew.
    fields = ["Host: a", "Content-Length: 2"]
    p = RequestParser()
    p.feed(
        req("POST /1 HTTP/1.1", *fields, body=b"xy") + req("PUT /2?q HTTP/1.1", *fields, body=b"zw")
    )
    evs = [p.next_event() for _ in range(6)]
    heads = [e for e in evs if isinstance(e, RequestHead)]
    assert [(h.method, h.target, h.content_length) for h in heads] == [
        ("POST", "/1", 2),
        ("PUT", "/2?q", 2),
    ]
    assert heads[1].headers.items() == [("Host", "a"), ("Content-Length", "2")]
    assert [e.data for e in evs if isinstance(e, Data)] == [b"xy", b"zw"]
    # Same fields, but a bad target, another version or CONNECT: full checks apply.
    for line, status in [
        ("GET /a b HTTP/1.1", 400),
        ("GET /%zz HTTP/1.1", 400),
        ("GET / HTTP/2.0", 505),
        ("CONNECT /x HTTP/1.1", 400),
    ]:
        p2 = RequestParser()
        p2.feed(req("GET / HTTP/1.1", "Host: a"))
        p2.next_event()
        p2.next_event()
        p2.feed(req(line, "Host: a"))
        with pytest.raises(ProtocolError) as info:
            p2.next_event()
        assert info.value.status == status
    # HTTP/1.0 after HTTP/1.1 with the same fields: keep-alive differs.
    p3 = RequestParser()
    p3.feed(req("GET / HTTP/1.1", "Host: a") + req("GET / HTTP/1.0", "Host: a"))
    first = p3.next_event()
    p3.next_event()
    second = p3.next_event()
    assert isinstance(first, RequestHead) and first.keep_alive
    assert isinstance(second, RequestHead) and not second.keep_alive
    assert second.version == "HTTP/1.0"


def test_repeated_header_section_keeps_the_limits_and_the_head_boundary() -> None:
    fields = ["Host: a", "X-Pad: " + "p" * 150]
    # The same fields after a longer request line: the whole head is over max_head.
    p = RequestParser(Limits(max_head=200))
    p.feed(req("GET / HTTP/1.1", *fields))
    assert isinstance(p.next_event(), RequestHead)
    p.skip_empty_body()
    p.feed(req("GET /" + "a" * 40 + " HTTP/1.1", *fields))
    with pytest.raises(ProtocolError) as info:
        p.next_event()
    assert info.value.status == 431
    # A head that arrives in pieces, and empty lines before the next request line.
    p = RequestParser()
    p.feed(req("GET / HTTP/1.1", "Host: a"))
    p.next_event()
    p.skip_empty_body()
    second = b"\r\n" + req("GET /b HTTP/1.1", "Host: a")
    for i in range(len(second) - 1):
        p.feed(second[i : i + 1])
        assert p.next_event() is codec.NEED_DATA
    p.feed(second[-1:])
    head = p.next_event()
    assert isinstance(head, RequestHead) and head.target == "/b"
    # The fields are the same text but then a body starts: still the old framing.
    p.skip_empty_body()
    p.feed(req("GET /c HTTP/1.1", "Host: a") + b"GET /d")
    third = p.next_event()
    assert isinstance(third, RequestHead) and third.target == "/c"
    assert third.headers.items() == [("Host", "a")]


def test_next_request_consumes_the_end_of_a_bodiless_head_and_matches_next_event() -> None:
    # The server's entry: a head without a body comes with its (empty) end consumed, on
    # the shortcut for a repeated header section and on the general path alike; a head
    # with a body leaves its events to next_event. The heads equal next_event's.
    stream = (
        req("GET /1 HTTP/1.1", "Host: a")
        + req("GET /2 HTTP/1.1", "Host: a")  # repeated fields: the shortcut
        + req("POST /3 HTTP/1.1", "Host: a", "Content-Length: 2", body=b"xy")
        + req("POST /4 HTTP/1.1", "Host: a", "Content-Length: 2", body=b"zw")
        + req("GET /5 HTTP/1.1")  # an HTTP/1.1 request without Host: refused
    )
    server, general = RequestParser(), RequestParser()
    server.feed(stream)
    general.feed(stream)
    for target, body in [("/1", None), ("/2", None), ("/3", b"xy"), ("/4", b"zw")]:
        head = server.next_request()
        expected = general.next_event()
        assert isinstance(head, RequestHead) and isinstance(expected, RequestHead)
        assert (head.method, head.target, head.version, head.framing, head.content_length) == (
            expected.method,
            expected.target,
            expected.version,
            expected.framing,
            expected.content_length,
        )
        assert (head.keep_alive, head.expect_continue, head.expect, head.upgrade) == (
            expected.keep_alive,
            expected.expect_continue,
            expected.expect,
            expected.upgrade,
        )
        assert head.target == target and head.headers.items() == expected.headers.items()
        if body is None:
            assert isinstance(general.next_event(), EndOfMessage)
        else:
            assert server.next_event() == general.next_event() == Data(body)
            ends = server.next_event(), general.next_event()
            assert all(isinstance(end, EndOfMessage) and not end.trailers for end in ends)
    for p in (server, general):
        with pytest.raises(ProtocolError) as info:
            p.next_request() if p is server else p.next_event()
        assert info.value.status == 400
    # Nothing buffered: NEED_DATA; the peer gone between requests: PEER_CLOSED.
    p = RequestParser()
    assert p.next_request() is codec.NEED_DATA
    p.feed(req("GET / HTTP/1.1", "Host: a"))
    assert isinstance(p.next_request(), RequestHead)
    assert p.next_request() is codec.NEED_DATA
    p.feed_eof()
    assert p.next_request() is codec.PEER_CLOSED


# -- the writer side: framing decided once, the declared length enforced --------------------


def test_body_writer_holds_a_declared_length_both_ways() -> None:
    w = codec.BodyWriter(codec.LENGTH, 5)
    assert w.data(b"abc") == b"abc"
    with pytest.raises(codec.LocalProtocolError, match="longer than its Content-Length 5"):
        w.data(b"def")
    with pytest.raises(
        codec.LocalProtocolError, match="3 bytes is shorter than its Content-Length 5"
    ):
        w.end()
    assert w.data(b"de") == b"de" and w.end() == b""


def test_body_writer_chunks_and_drops() -> None:
    w = codec.BodyWriter(codec.CHUNKED)
    assert w.data(b"x" * 26) + w.data(b"") + w.end() == b"1a\r\n" + b"x" * 26 + b"\r\n0\r\n\r\n"
    head_only = codec.BodyWriter(codec.NO_BODY)
    assert head_only.data(b"body") == b"" and head_only.end() == b""
    assert codec.BodyWriter(codec.UNTIL_CLOSE).closes


@pytest.mark.parametrize(
    ("method", "version", "status", "length", "framing", "keep_alive", "fields"),
    [
        ("GET", "HTTP/1.1", 200, 3, codec.LENGTH, True, b"content-length: 3\r\n"),
        ("GET", "HTTP/1.1", 200, None, codec.CHUNKED, True, b"transfer-encoding: chunked\r\n"),
        ("GET", "HTTP/1.0", 200, None, codec.UNTIL_CLOSE, False, b"connection: close\r\n"),
        ("GET", "HTTP/1.0", 200, 3, codec.LENGTH, True, b"connection: keep-alive\r\n"),
        ("HEAD", "HTTP/1.1", 200, 3, codec.NO_BODY, True, b"content-length: 3\r\n"),
        ("GET", "HTTP/1.1", 204, 3, codec.NO_BODY, True, b"date"),
        ("CONNECT", "HTTP/1.1", 200, None, codec.NO_BODY, True, b"date"),
    ],
)
def test_encode_response_frames_as_the_parser_reads(
    method: str,
    version: str,
    status: int,
    length: int | None,
    framing: int,
    keep_alive: bool,
    fields: bytes,
) -> None:
    head, writer, alive = codec.encode_response(method, version, status, Headers(), length=length)
    assert (writer.framing, alive) == (framing, keep_alive)
    assert fields in head
    if status == 204:
        assert b"content-length" not in head
    parser = codec.ResponseParser()
    parser.expect(method)
    parser.feed(head + b"abc" * (framing in (codec.LENGTH, codec.CHUNKED)))
    first = parser.next_event()
    assert isinstance(first, codec.ResponseHead)
    # one framing function: the reader decides what the writer decided
    assert first.framing == framing


def test_encode_response_keeps_a_declared_length_for_a_stream_and_a_304() -> None:
    h = Headers([("Content-Length", "10"), ("Transfer-Encoding", "chunked")])
    head, writer, _ = codec.encode_response("GET", "HTTP/1.1", 200, h, length=None)
    assert b"content-length: 10\r\n" in head and b"transfer-encoding" not in head
    assert writer.framing == codec.LENGTH and writer.length == 10
    head, writer, _ = codec.encode_response("GET", "HTTP/1.1", 304, h, length=None)
    assert b"content-length: 10\r\n" in head and writer.framing == codec.NO_BODY
    with pytest.raises(codec.LocalProtocolError, match="not 1 to 18 digits"):
        codec.encode_response("GET", "HTTP/1.1", 200, Headers([("Content-Length", "²")]), length=1)


def test_encode_request_chunks_a_stream_and_refuses_a_contradiction() -> None:
    head, writer = codec.encode_request("POST", "/", Headers([("Host", "a")]), length=None)
    assert b"transfer-encoding: chunked\r\n" in head and writer.framing == codec.CHUNKED
    with pytest.raises(codec.LocalProtocolError, match="Content-Length 4 but the body is 3"):
        codec.encode_request("POST", "/", Headers([("Content-Length", "4")]), length=3)


@pytest.mark.parametrize(
    "fields",
    [[], [("Content-Type", "text/plain")], [("X-A", "1"), ("x-b", "é")]],
)
def test_simple_response_is_the_general_one(fields: list[tuple[str, str]]) -> None:
    """The hot path formats exactly what encode_response + BodyWriter would."""
    headers = Headers(fields)
    body = b"hello"
    fast = codec.encode_simple_response("GET", "HTTP/1.1", 200, headers, body, b"server: t\r\n")
    head, writer, alive = codec.encode_response(
        "GET", "HTTP/1.1", 200, headers, length=len(body), server_line=b"server: t\r\n"
    )
    general = head + writer.data(body) + writer.end()
    assert alive and fast is not None

    def undated(wire: bytes) -> list[bytes]:  # the two may straddle a second
        return [line for line in wire.split(b"\r\n") if not line.startswith(b"date: ")]

    assert undated(fast) == undated(general)
    assert codec.encode_simple_response("HEAD", "HTTP/1.1", 200, headers, body, b"") is None
    framed = Headers([*fields, ("Connection", "close")])
    assert codec.encode_simple_response("GET", "HTTP/1.1", 200, framed, body, b"") is None


def test_an_upgrade_request_is_reported() -> None:
    """RFC 9110 7.8: Upgrade counts only with Connection: upgrade; RequestHead.upgrade
    says what the client asks to switch to, and nothing is memoised for it."""
    p = codec.RequestParser()
    asks = b"GET /ws HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n"
    p.feed(asks + b"\x81\x85frame")
    head = p.next_event()
    assert isinstance(head, codec.RequestHead) and head.upgrade == "websocket"
    p.skip_empty_body()
    assert p.take_buffered() == b"\x81\x85frame"  # the new protocol's bytes, handed over
    p = codec.RequestParser()
    plain = b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n"
    p.feed(plain + plain)
    first = p.next_event()
    assert isinstance(first, codec.RequestHead) and first.upgrade is None
    p.skip_empty_body()
    second = p.next_event()
    assert isinstance(second, codec.RequestHead) and second.upgrade is None


def test_repeated_request_lines_are_split_once_and_still_checked() -> None:
    """A request line seen before is taken from the codec's cache on a repeated head; the
    heads are the ones the general path gives, and a new, invalid line is still refused."""
    fields = b"Host: a\r\nX-A: 1\r\n\r\n"
    lines = [b"GET /x?q=1 HTTP/1.1\r\n", b"POST /y HTTP/1.1\r\n", b"GET /x?q=1 HTTP/1.1\r\n"]
    for _ in range(2):  # the second time round every line comes from the cache
        p = codec.RequestParser()
        heads = []
        for line in lines:
            p.feed(line + fields)
            head = p.next_event()
            assert isinstance(head, codec.RequestHead)
            p.skip_empty_body()
            heads.append((head.method, head.target, head.version, list(head.headers)))
        assert heads[0] == heads[2] == ("GET", "/x?q=1", "HTTP/1.1", [("Host", "a"), ("X-A", "1")])
        assert heads[1][:2] == ("POST", "/y")
    p = codec.RequestParser()
    p.feed(b"GET /x?q=1 HTTP/1.1\r\n" + fields)
    assert isinstance(p.next_event(), codec.RequestHead)
    p.skip_empty_body()
    p.feed(b"GET /x y HTTP/1.1\r\n" + fields)  # same fields, a line that is not valid
    with pytest.raises(codec.BadRequest):
        p.next_event()
    p = codec.RequestParser()  # a head split across reads (a bytearray buffer): same result
    p.feed(b"GET /x?q=1 HTTP/1.1\r\n" + fields)
    assert isinstance(p.next_event(), codec.RequestHead)
    p.skip_empty_body()
    p.feed(b"GET /x?q=1 HTTP/1.1\r\nHost: a\r\n")
    assert p.next_event() is codec.NEED_DATA
    p.feed(b"X-A: 1\r\n\r\n")
    head = p.next_event()
    assert isinstance(head, codec.RequestHead) and head.target == "/x?q=1"
