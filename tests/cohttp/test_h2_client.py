"""cohttp.h2.connection with ``client_side=True``, sans-IO: our client against the h2
package's server (bytes passed by hand), and hand-made server frames a client must refuse."""

from __future__ import annotations

import h2.config
import h2.connection
import h2.events
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cohttp.h2 import frames
from cohttp.h2.connection import (
    ConnectionTerminated,
    DataReceived,
    H2Connection,
    InformationalResponseReceived,
    LocalProtocolError,
    ResponseReceived,
    StreamReset,
    TrailersReceived,
)
from cohttp.h2.frames import ErrorCode, FrameType
from cohttp.h2.hpack import Encoder

GET = [(b":method", b"GET"), (b":scheme", b"https"), (b":path", b"/"), (b":authority", b"a.test")]


class Pair:
    def __init__(self) -> None:
        self.client = H2Connection(client_side=True)
        self.server = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=False, header_encoding=None)
        )
        self.server.initiate_connection()
        self.client_events: list[object] = []
        self.server_events: list[object] = []

    def pump(self) -> None:
        for _ in range(200):
            a = self.client.data_to_send()
            if a:
                self.server_events += self.server.receive_data(a)
            b = self.server.data_to_send()
            if b:
                self.client_events += self.client.receive_data(b)
            if not a and not b:
                return
        raise AssertionError("no quiescence")

    def got(self, cls: type) -> list:  # type: ignore[type-arg]
        return [e for e in self.client_events if isinstance(e, cls)]


def test_get_and_post() -> None:
    p = Pair()
    sid = p.client.send_request(GET, end_stream=True)
    post = p.client.send_request([(b":method", b"POST"), *GET[1:]])
    p.client.send_data(post, b"payload", end_stream=True)
    p.pump()
    requests = [e for e in p.server_events if isinstance(e, h2.events.RequestReceived)]
    assert [r.headers for r in requests] == [GET, [(b":method", b"POST"), *GET[1:]]]
    assert [e.data for e in p.server_events if isinstance(e, h2.events.DataReceived)] == [
        b"payload"
    ]
    for stream in (sid, post):
        p.server.send_headers(stream, [(b":status", b"200"), (b"content-length", b"2")])
        p.server.send_data(stream, b"ok", end_stream=True)
    p.pump()
    assert [(e.stream_id, e.headers[0]) for e in p.got(ResponseReceived)] == [
        (sid, (b":status", b"200")),
        (post, (b":status", b"200")),
    ]
    assert [e.data for e in p.got(DataReceived)] == [b"ok", b"ok"]
    assert not p.client.streams  # both closed both ways


def test_large_response_under_flow_control_and_trailers() -> None:
    p = Pair()
    sid = p.client.send_request(GET, end_stream=True)
    p.pump()
    body = bytes(range(256)) * 1024  # 256 KiB: four times the stream window
    p.server.send_headers(sid, [(b":status", b"200")])
    sent = 0
    received = bytearray()
    for _ in range(200):
        n = min(p.server.local_flow_control_window(sid), len(body) - sent, 16384)
        if n:
            p.server.send_data(sid, body[sent : sent + n])
            sent += n
        if sent == len(body):
            p.server.send_headers(sid, [(b"x-sum", b"1")], end_stream=True)
            sent += 1
        p.pump()
        for e in p.got(DataReceived):
            received += e.data
            p.client.acknowledge_received_data(sid, e.flow_controlled_length)
        trailers = p.got(TrailersReceived)
        p.client_events.clear()
        if trailers:
            break
        p.pump()
    assert bytes(received) == body
    assert trailers[0].headers == [(b"x-sum", b"1")]


def test_informational_then_final_response() -> None:
    p = Pair()
    sid = p.client.send_request([(b":method", b"POST"), *GET[1:], (b"expect", b"100-continue")])
    p.pump()
    p.server.send_headers(sid, [(b":status", b"100")])
    p.server.send_headers(sid, [(b":status", b"204")], end_stream=True)
    p.pump()
    assert [e.headers for e in p.got(InformationalResponseReceived)] == [[(b":status", b"100")]]
    assert p.got(ResponseReceived)[0].end_stream


def test_server_goaway_stops_new_requests() -> None:
    p = Pair()
    p.client.send_request(GET, end_stream=True)
    p.pump()
    p.server.close_connection(last_stream_id=1)
    p.pump()
    [end] = p.got(ConnectionTerminated)
    assert end.remote and end.last_stream_id == 1
    with pytest.raises(LocalProtocolError):
        p.client.send_request(GET)


def test_concurrency_limit_of_the_server_is_respected() -> None:
    p = Pair()
    p.server.update_settings({h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: 2})
    p.pump()
    p.client.send_request(GET)
    p.client.send_request(GET)
    with pytest.raises(LocalProtocolError, match="2 concurrent"):
        p.client.send_request(GET)


# -- what a client must refuse ---------------------------------------------------------------


def server_frames(*extra: bytes, method: bytes = b"GET") -> tuple[H2Connection, int, list[object]]:
    client = H2Connection(client_side=True)
    sid = client.send_request([(b":method", method), *GET[1:]], end_stream=True)
    client.data_to_send()
    events = client.receive_data(frames.settings({}) + b"".join(extra))
    return client, sid, events


def resets(client: H2Connection) -> dict[int, int]:
    data = client.data_to_send()
    out, pos = {}, 0
    while pos < len(data):
        length, kind, _, sid = frames.parse_header(data, pos)
        if kind == FrameType.RST_STREAM:
            out[sid] = int.from_bytes(data[pos + 9 : pos + 13], "big")
        pos += 9 + length
    return out


def head(sid: int, headers: list[tuple[bytes, bytes]], flags: int = 5) -> bytes:
    return frames.frame(FrameType.HEADERS, flags, sid, Encoder().encode(headers))


@pytest.mark.parametrize(
    "frame",
    [
        frames.data(1, b"x"),  # DATA before the response head
        head(1, [(b"content-type", b"text/plain")]),  # no :status
        head(1, [(b":status", b"2000")]),
        head(1, [(b":status", b"200"), (b":path", b"/")]),
        head(1, [(b":status", b"200"), (b"Upper", b"x")]),
        head(1, [(b":status", b"200"), (b"connection", b"close")]),
        head(1, [(b":status", b"100")]),  # informational with END_STREAM
        head(1, [(b":status", b"101")], frames.END_HEADERS),
        head(1, [(b":status", b"200"), (b"content-length", b"x")]),
        head(1, [(b":status", b"200"), (b"content-length", b"5")]),  # END_STREAM: no body
    ],
    ids=[
        "data-first", "no-status", "bad-status", "request-pseudo", "uppercase",
        "connection", "1xx-end", "101", "bad-length", "length-no-body",
    ],
)  # fmt: skip
def test_malformed_responses_reset_the_stream(frame: bytes) -> None:
    client, sid, events = server_frames(frame)
    assert resets(client) == {sid: ErrorCode.PROTOCOL_ERROR}
    assert any(isinstance(e, StreamReset) and not e.remote for e in events)


def test_head_response_has_no_content_whatever_its_length() -> None:
    response = head(1, [(b":status", b"200"), (b"content-length", b"99")])
    client, _, events = server_frames(response, method=b"HEAD")
    assert [e.end_stream for e in events if isinstance(e, ResponseReceived)] == [True]
    assert not resets(client)


@pytest.mark.parametrize(
    "frame",
    [
        head(2, [(b":status", b"200")]),  # a server-opened stream
        frames.frame(FrameType.PUSH_PROMISE, 4, 1, b"\0\0\0\2" + Encoder().encode(GET)),
        frames.settings({2: 1}),  # a server may not enable push
        head(3, [(b":status", b"200")]),  # an odd stream we never opened
    ],
    ids=["server-stream", "push-promise", "enable-push", "idle-odd"],
)
def test_what_a_server_may_not_send_is_a_connection_error(frame: bytes) -> None:
    client, _, events = server_frames(frame)
    assert client.closed
    [end] = [e for e in events if isinstance(e, ConnectionTerminated)]
    assert end.error_code == ErrorCode.PROTOCOL_ERROR and not end.remote


def test_a_server_does_not_send_requests() -> None:
    with pytest.raises(LocalProtocolError):
        H2Connection().send_request(GET)


_frame = st.builds(
    lambda kind, flags, sid, payload: frames.frame(kind, flags, sid, payload),
    st.integers(0, 10),
    st.integers(0, 255),
    st.sampled_from([0, 1, 2, 3, 5]),
    st.one_of(
        st.binary(max_size=40),
        st.just(Encoder().encode([(b":status", b"200")])),
        st.just(Encoder().encode([(b":status", b"103"), (b"link", b"</a>")])),
    ),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_frame, max_size=12), st.integers(1, 64))
def test_any_server_frames_give_events_or_goaway(sequence: list[bytes], split: int) -> None:
    client = H2Connection(client_side=True)
    for _ in range(3):
        client.send_request(GET, end_stream=True)
    data = frames.settings({}) + b"".join(sequence)
    for i in range(0, len(data), split):
        for event in client.receive_data(data[i : i + split]):
            if isinstance(event, DataReceived):
                client.acknowledge_received_data(event.stream_id, event.flow_controlled_length)
    assert isinstance(client.data_to_send(), bytes)
