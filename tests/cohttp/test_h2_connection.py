"""cohttp.h2.connection, sans-IO: the h2 package's client against our server connection
(bytes passed by hand, no event loop), and hand-made frames for what a good client never
sends: each must get the stream or connection error RFC 9113 names."""

from __future__ import annotations

import struct

import pytest

from cohttp.h2 import frames
from cohttp.h2.connection import (
    ConnectionTerminated,
    DataReceived,
    H2Config,
    H2Connection,
    RequestReceived,
    StreamReset,
    TrailersReceived,
    WindowUpdated,
)
from cohttp.h2.frames import ErrorCode, FrameType
from cohttp.h2.hpack import Encoder

pytest.importorskip("h2")
import h2.config
import h2.connection
import h2.events
import h2.settings

REQUEST = [
    (b":method", b"GET"),
    (b":scheme", b"https"),
    (b":path", b"/"),
    (b":authority", b"a.test"),
]


class Pair:
    """h2's client and our server, bytes moved by :meth:`pump`."""

    def __init__(self, config: H2Config | None = None, clock: list[float] | None = None) -> None:
        self.client = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=True, header_encoding=None)
        )
        self.client.initiate_connection()
        self.now = clock or [0.0]
        self.server = H2Connection(config, clock=lambda: self.now[0])
        self.server_events: list[object] = []
        self.client_events: list[object] = []

    def pump(self) -> None:
        for _ in range(100):
            a = self.client.data_to_send()
            if a:
                self.server_events += self.server.receive_data(a)
            b = self.server.data_to_send()
            if b:
                self.client_events += self.client.receive_data(b)
            if not a and not b:
                return
        raise AssertionError("no quiescence")

    def of(self, cls: type) -> list:  # type: ignore[type-arg]
        return [e for e in self.server_events if isinstance(e, cls)]

    def client_of(self, cls: type) -> list:  # type: ignore[type-arg]
        return [e for e in self.client_events if isinstance(e, cls)]


def test_request_and_response() -> None:
    p = Pair()
    sid = p.client.get_next_available_stream_id()
    p.client.send_headers(sid, REQUEST, end_stream=True)
    p.pump()
    [req] = p.of(RequestReceived)
    assert req.stream_id == sid and req.headers == REQUEST and req.end_stream
    p.server.send_headers(sid, [(b":status", b"200"), (b"content-type", b"text/plain")])
    p.server.send_data(sid, b"hello", end_stream=True)
    p.pump()
    [resp] = p.client_of(h2.events.ResponseReceived)
    assert resp.headers == [(b":status", b"200"), (b"content-type", b"text/plain")]
    assert b"".join(e.data for e in p.client_of(h2.events.DataReceived)) == b"hello"
    assert p.client_of(h2.events.StreamEnded)
    assert sid not in p.server.streams  # closed both ways


def test_request_body_trailers_and_content_length() -> None:
    p = Pair()
    sid = p.client.get_next_available_stream_id()
    p.client.send_headers(sid, [(b":method", b"POST"), *REQUEST[1:], (b"content-length", b"6")])
    p.client.send_data(sid, b"abc")
    p.client.send_data(sid, b"def")
    p.client.send_headers(sid, [(b"x-check", b"1")], end_stream=True)
    p.pump()
    assert b"".join(e.data for e in p.of(DataReceived)) == b"abcdef"
    [trailers] = p.of(TrailersReceived)
    assert trailers.headers == [(b"x-check", b"1")]


def test_many_interleaved_streams_with_flow_control() -> None:
    """Responses larger than the client's windows: the server sends what the windows allow,
    the client's WINDOW_UPDATEs reopen them, every byte arrives in order."""
    p = Pair()
    ids = []
    for _ in range(10):
        sid = p.client.get_next_available_stream_id()
        p.client.send_headers(sid, REQUEST, end_stream=True)
        ids.append(sid)
    p.pump()
    bodies = {sid: bytes([sid]) * 200_000 for sid in ids}
    sent = dict.fromkeys(ids, 0)
    got: dict[int, bytearray] = {sid: bytearray() for sid in ids}
    for sid in ids:
        p.server.send_headers(sid, [(b":status", b"200")])
    for _ in range(1000):
        progress = False
        for sid in ids:
            n = min(p.server.window(sid), len(bodies[sid]) - sent[sid], 30000)
            if n > 0 or (sent[sid] == len(bodies[sid]) and sid in p.server.streams):
                chunk = bodies[sid][sent[sid] : sent[sid] + n]
                sent[sid] += n
                p.server.send_data(sid, chunk, end_stream=sent[sid] == len(bodies[sid]))
                progress = True
        p.pump()
        for e in p.client_of(h2.events.DataReceived):
            got[e.stream_id] += e.data
            p.client.acknowledge_received_data(e.flow_controlled_length, e.stream_id)
        p.client_events.clear()
        if not progress and all(s == len(bodies[k]) for k, s in sent.items()):
            break
        p.pump()
    assert {k: bytes(v) for k, v in got.items()} == bodies
    assert p.of(WindowUpdated)


def test_request_body_waits_for_our_window_updates() -> None:
    p = Pair()
    sid = p.client.get_next_available_stream_id()
    p.client.send_headers(sid, [(b":method", b"POST"), *REQUEST[1:]])
    p.pump()
    body = b"z" * 200_000
    sent = 0
    received = 0
    for _ in range(100):
        n = min(p.client.local_flow_control_window(sid), len(body) - sent, 16384)
        if n:
            p.client.send_data(sid, body[sent : sent + n], end_stream=sent + n == len(body))
            sent += n
        p.pump()
        for e in p.of(DataReceived):
            received += len(e.data)
            p.server.acknowledge_received_data(sid, e.flow_controlled_length)
        p.server_events.clear()
        p.pump()
        if received == len(body):
            break
    assert received == len(body)


def test_large_header_block_uses_continuation() -> None:
    p = Pair()
    sid = p.client.get_next_available_stream_id()
    big = [(b"x-big-%d" % i, b"v" * 1000) for i in range(40)]  # ~40 KB: 3 frames
    p.client.send_headers(sid, REQUEST + big, end_stream=True)
    p.pump()
    [req] = p.of(RequestReceived)
    assert req.headers == REQUEST + big


def test_response_headers_over_max_frame_size_use_continuation() -> None:
    p = Pair()
    sid = p.client.get_next_available_stream_id()
    p.client.send_headers(sid, REQUEST, end_stream=True)
    p.pump()
    fields = [(b":status", b"200")] + [(b"x-%d" % i, bytes(range(97, 123)) * 40) for i in range(30)]
    p.server.send_headers(sid, fields, end_stream=True)
    p.pump()
    [resp] = p.client_of(h2.events.ResponseReceived)
    assert resp.headers == fields


def test_ping_settings_reset_and_goaway() -> None:
    p = Pair()
    p.client.ping(b"12345678")
    p.client.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 1000})
    sid = p.client.get_next_available_stream_id()
    p.client.send_headers(sid, REQUEST)
    p.pump()
    assert [e.ping_data for e in p.client_of(h2.events.PingAckReceived)] == [b"12345678"]
    assert p.client_of(h2.events.SettingsAcknowledged)
    assert p.server.window(sid) == 1000
    p.client.reset_stream(sid, ErrorCode.CANCEL)
    p.pump()
    assert p.of(StreamReset) == [StreamReset(sid, ErrorCode.CANCEL, True)]
    p.client.close_connection()
    p.pump()
    [end] = p.of(ConnectionTerminated)
    assert end.remote and end.error_code == 0
    assert not p.server.accepting


def test_graceful_goaway_names_the_last_stream() -> None:
    p = Pair()
    sid = p.client.get_next_available_stream_id()
    p.client.send_headers(sid, REQUEST, end_stream=True)
    p.pump()
    p.server.close()
    p.pump()
    [end] = p.client_of(h2.events.ConnectionTerminated)
    assert end.error_code == 0 and end.last_stream_id == sid
    # The open stream may still be answered; a stream opened after GOAWAY is ignored.
    p.server.send_headers(sid, [(b":status", b"204")], end_stream=True)
    assert p.server.receive_data(headers_frame(sid + 2, REQUEST)) == []
    assert not p.server.accepting and not p.server.closed


# -- hand-made frames ------------------------------------------------------------------------


def client_start(settings: bytes | None = None) -> bytes:
    return frames.PREFACE + (settings if settings is not None else frames.settings({}))


def block(headers: list[tuple[bytes, bytes]]) -> bytes:
    return Encoder().encode(headers)


def run(
    data: bytes, config: H2Config | None = None, now: list[float] | None = None
) -> tuple[H2Connection, list[object], list[tuple[int, int, int, bytes]]]:
    server = H2Connection(config, clock=(lambda: now[0]) if now else lambda: 0.0)
    events = server.receive_data(data)
    return server, events, parse(server.data_to_send())


def parse(data: bytes) -> list[tuple[int, int, int, bytes]]:
    out = []
    pos = 0
    while pos < len(data):
        length, kind, flags, sid = frames.parse_header(data, pos)
        out.append((kind, flags, sid, data[pos + 9 : pos + 9 + length]))
        pos += 9 + length
    return out


def goaway_code(sent: list[tuple[int, int, int, bytes]]) -> int | None:
    for kind, _, _, payload in sent:
        if kind == FrameType.GOAWAY:
            return int(struct.unpack("!LL", payload[:8])[1])
    return None


def resets(sent: list[tuple[int, int, int, bytes]]) -> dict[int, int]:
    return {
        sid: struct.unpack("!L", p)[0] for kind, _, sid, p in sent if kind == FrameType.RST_STREAM
    }


def headers_frame(
    sid: int,
    headers: list[tuple[bytes, bytes]],
    flags: int = frames.END_HEADERS | frames.END_STREAM,
) -> bytes:
    return frames.frame(FrameType.HEADERS, flags, sid, block(headers))


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", ErrorCode.PROTOCOL_ERROR),
        (frames.PREFACE + frames.ping(b"12345678"), ErrorCode.PROTOCOL_ERROR),  # SETTINGS first
        (client_start() + frames.frame(0, 0, 0, b"x"), ErrorCode.PROTOCOL_ERROR),  # DATA on 0
        (client_start() + frames.frame(0, 0, 1, b"x" * 16385), ErrorCode.FRAME_SIZE_ERROR),
        (client_start() + headers_frame(2, REQUEST), ErrorCode.PROTOCOL_ERROR),  # even id
        (client_start() + headers_frame(3, REQUEST) + headers_frame(1, REQUEST), ErrorCode.STREAM_CLOSED),
        (client_start() + frames.frame(FrameType.HEADERS, 0, 1, block(REQUEST)) + frames.ping(b"12345678"), ErrorCode.PROTOCOL_ERROR),
        (client_start() + frames.frame(FrameType.CONTINUATION, 4, 1, b""), ErrorCode.PROTOCOL_ERROR),
        (client_start() + frames.frame(FrameType.HEADERS, 5, 1, b"\xff\xff\xff\xff\xff\xff\xff"), ErrorCode.COMPRESSION_ERROR),
        (client_start() + frames.window_update(0, 0), ErrorCode.PROTOCOL_ERROR),
        (client_start() + frames.window_update(0, 2**31 - 1), ErrorCode.FLOW_CONTROL_ERROR),
        (client_start() + frames.window_update(7, 1), ErrorCode.PROTOCOL_ERROR),  # idle stream
        (client_start() + frames.rst_stream(1, 0), ErrorCode.PROTOCOL_ERROR),  # idle stream
        (client_start() + frames.frame(FrameType.PING, 0, 0, b"1234"), ErrorCode.FRAME_SIZE_ERROR),
        (client_start() + frames.frame(FrameType.SETTINGS, 0, 0, b"12345"), ErrorCode.FRAME_SIZE_ERROR),
        (client_start(frames.settings({2: 2})), ErrorCode.PROTOCOL_ERROR),  # ENABLE_PUSH
        (client_start(frames.settings({4: 2**31})), ErrorCode.FLOW_CONTROL_ERROR),
        (client_start(frames.settings({5: 100})), ErrorCode.PROTOCOL_ERROR),  # MAX_FRAME_SIZE
        (client_start() + frames.frame(FrameType.PUSH_PROMISE, 4, 1, b"\0\0\0\2"), ErrorCode.PROTOCOL_ERROR),
        (client_start() + frames.frame(0, frames.PADDED, 1, b"\x05abc"), ErrorCode.PROTOCOL_ERROR),
    ],
    ids=[
        "http1", "settings-first", "data-on-0", "frame-too-large", "even-stream",
        "stream-id-backwards", "interrupted-block", "stray-continuation", "bad-hpack",
        "window-update-0", "window-overflow", "window-update-idle", "rst-idle", "ping-size",
        "settings-size", "enable-push", "initial-window", "max-frame-size", "push-promise",
        "padding",
    ],
)  # fmt: skip
def test_connection_errors_send_goaway(data: bytes, code: int) -> None:
    server, events, sent = run(data)
    assert goaway_code(sent) == code
    assert server.closed
    assert any(isinstance(e, ConnectionTerminated) and not e.remote for e in events)
    assert server.receive_data(client_start()) == []  # nothing more is read


@pytest.mark.parametrize(
    "headers",
    [
        [(b":method", b"GET"), (b":scheme", b"https"), (b":authority", b"a")],  # no :path
        [*REQUEST, (b"Upper", b"x")],
        [*REQUEST, (b"connection", b"keep-alive")],
        [*REQUEST, (b"te", b"gzip")],
        [(b"x", b"1"), *REQUEST],  # pseudo-header after a regular field
        [*REQUEST, (b":method", b"GET")],
        [*REQUEST, (b":status", b"200")],
        [*REQUEST, (b"x", b"a\nb")],
        [*REQUEST, (b"x", b" padded")],
        [(b":method", b"GET"), (b":scheme", b"https"), (b":path", b""), (b":authority", b"a")],
        [*REQUEST, (b"content-length", b"5")],  # END_STREAM with a declared body
        [*REQUEST, (b"content-length", b"-1")],
    ],
)
def test_malformed_requests_are_stream_errors(headers: list[tuple[bytes, bytes]]) -> None:
    _, events, sent = run(client_start() + headers_frame(1, headers) + headers_frame(3, REQUEST))
    assert resets(sent) == {1: ErrorCode.PROTOCOL_ERROR}
    assert goaway_code(sent) is None
    assert [e.stream_id for e in events if isinstance(e, RequestReceived)] == [3]


def test_body_longer_than_content_length_is_a_stream_error() -> None:
    post = [(b":method", b"POST"), *REQUEST[1:], (b"content-length", b"2")]
    data = (
        client_start()
        + headers_frame(1, post, frames.END_HEADERS)
        + frames.data(1, b"abc", end_stream=True)
    )
    _, _, sent = run(data)
    assert resets(sent) == {1: ErrorCode.PROTOCOL_ERROR}


def test_data_beyond_the_stream_window_is_a_stream_error() -> None:
    post = [(b":method", b"POST"), *REQUEST[1:]]
    data = client_start() + headers_frame(1, post, frames.END_HEADERS)
    data += b"".join(frames.data(1, b"x" * 16384) for _ in range(4)) + frames.data(1, b"x" * 10)
    _, _, sent = run(data)
    assert resets(sent) == {1: ErrorCode.FLOW_CONTROL_ERROR}


def test_streams_over_the_concurrency_limit_are_refused() -> None:
    config = H2Config(max_concurrent_streams=2)
    data = client_start() + b"".join(
        headers_frame(i, REQUEST, frames.END_HEADERS) for i in (1, 3, 5)
    )
    _, events, sent = run(data, config)
    assert resets(sent) == {5: ErrorCode.REFUSED_STREAM}
    assert len([e for e in events if isinstance(e, RequestReceived)]) == 2


def test_oversized_header_list_is_answered_431() -> None:
    config = H2Config(max_header_list_size=1000)
    headers = [*REQUEST, (b"x-big", b"y" * 2000)]
    _, events, sent = run(
        client_start() + headers_frame(1, headers) + headers_frame(3, REQUEST), config
    )
    assert goaway_code(sent) is None
    [(_, flags, sid, payload)] = [f for f in sent if f[0] == FrameType.HEADERS]
    assert sid == 1 and flags & frames.END_STREAM
    from cohttp.h2.hpack import Decoder

    assert Decoder().decode(payload)[0] == (b":status", b"431")
    assert [e.stream_id for e in events if isinstance(e, RequestReceived)] == [3]


def test_continuation_flood_is_stopped() -> None:
    """CVE-2024-27316 and kin: endless CONTINUATION frames never ending the block."""
    data = client_start() + frames.frame(FrameType.HEADERS, 0, 1, block(REQUEST))
    data += frames.frame(FrameType.CONTINUATION, 0, 1, b"\x00" * 10000) * 20
    server, _, sent = run(data)
    assert goaway_code(sent) == ErrorCode.ENHANCE_YOUR_CALM
    assert server.closed


def test_empty_continuation_flood_is_stopped() -> None:
    data = client_start() + frames.frame(FrameType.HEADERS, 0, 1, block(REQUEST))
    data += frames.frame(FrameType.CONTINUATION, 0, 1) * 40
    _, _, sent = run(data)
    assert goaway_code(sent) == ErrorCode.ENHANCE_YOUR_CALM


def test_rapid_reset_is_stopped() -> None:
    """CVE-2023-44487: open and reset streams as fast as possible."""
    config = H2Config(max_resets=50)
    data = client_start()
    for i in range(60):
        sid = 2 * i + 1
        data += headers_frame(sid, REQUEST, frames.END_HEADERS) + frames.rst_stream(
            sid, ErrorCode.CANCEL
        )
    _, events, sent = run(data, config)
    assert goaway_code(sent) == ErrorCode.ENHANCE_YOUR_CALM
    assert len([e for e in events if isinstance(e, StreamReset) and e.remote]) == 50


def test_resets_spread_over_time_are_allowed() -> None:
    now = [0.0]
    config = H2Config(max_resets=50, rate_window=10.0)
    server = H2Connection(config, clock=lambda: now[0])
    server.receive_data(client_start())
    for i in range(200):
        sid = 2 * i + 1
        now[0] = i * 0.5  # 20 resets per 10 s
        server.receive_data(
            headers_frame(sid, REQUEST, frames.END_HEADERS) + frames.rst_stream(sid, 8)
        )
    assert goaway_code(parse(server.data_to_send())) is None


@pytest.mark.parametrize(
    "flood",
    [
        frames.ping(b"12345678"),
        frames.settings({}),
        frames.frame(FrameType.PRIORITY, 0, 1, b"\0\0\0\0\x10"),
        frames.data(1, b""),
    ],
    ids=["ping", "settings", "priority", "empty-data"],
)
def test_control_frame_floods_are_stopped(flood: bytes) -> None:
    config = H2Config(max_control_frames=100)
    post = [(b":method", b"POST"), *REQUEST[1:]]
    data = client_start() + headers_frame(1, post, frames.END_HEADERS) + flood * 150
    _, _, sent = run(data, config)
    assert goaway_code(sent) == ErrorCode.ENHANCE_YOUR_CALM


def test_unread_acknowledgements_are_bounded() -> None:
    """A peer that sends PINGs but never reads our ACKs cannot make us queue without end."""
    config = H2Config(max_outbound_control=1000)
    server = H2Connection(config)
    server.receive_data(client_start())
    server.data_to_send()
    events = server.receive_data(frames.ping(b"12345678") * 100)
    assert any(isinstance(e, ConnectionTerminated) for e in events)
    assert goaway_code(parse(server.data_to_send())) == ErrorCode.ENHANCE_YOUR_CALM


def test_priority_is_parsed_and_ignored() -> None:
    headers = frames.frame(
        FrameType.HEADERS,
        frames.END_HEADERS | frames.END_STREAM | frames.PRIORITY_FLAG,
        1,
        b"\x00\x00\x00\x00\x20" + block(REQUEST),
    )
    data = client_start() + frames.frame(FrameType.PRIORITY, 0, 9, b"\0\0\0\1\x10") + headers
    _, events, sent = run(data)
    assert goaway_code(sent) is None and not resets(sent)
    [req] = [e for e in events if isinstance(e, RequestReceived)]
    assert req.headers == REQUEST


def test_frames_split_at_every_byte() -> None:
    data = client_start() + headers_frame(1, REQUEST) + frames.ping(b"abcdefgh")
    server = H2Connection()
    events = []
    for i in range(len(data)):
        events += server.receive_data(data[i : i + 1])
    assert [e.stream_id for e in events if isinstance(e, RequestReceived)] == [1]
    assert any(f[0] == FrameType.PING and f[1] == frames.ACK for f in parse(server.data_to_send()))


def test_late_frames_on_a_stream_we_reset_are_ignored() -> None:
    post = [(b":method", b"POST"), *REQUEST[1:]]
    server = H2Connection()
    server.receive_data(client_start() + headers_frame(1, post, frames.END_HEADERS))
    server.reset_stream(1, ErrorCode.CANCEL)
    server.data_to_send()
    events = server.receive_data(frames.data(1, b"late", end_stream=True))
    assert events == [] and not parse(server.data_to_send())


# -- fuzz: whatever a peer sends, the connection answers with frames, never an exception ------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_frame = st.builds(
    lambda kind, flags, sid, payload: frames.frame(kind, flags, sid, payload),
    st.integers(0, 10),
    st.integers(0, 255),
    st.sampled_from([0, 1, 2, 3, 5, 0x7FFFFFFF]),
    st.one_of(
        st.binary(max_size=40),
        st.just(Encoder().encode(REQUEST)),
        st.builds(lambda b: b"\x00\x00\x00\x01" + b, st.binary(max_size=8)),
    ),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_frame, max_size=12), st.integers(1, 64))
def test_any_frames_give_events_or_goaway_never_an_exception(
    sequence: list[bytes], split: int
) -> None:
    server = H2Connection(H2Config(max_control_frames=5, max_resets=3))
    data = client_start() + b"".join(sequence)
    events = []
    for i in range(0, len(data), split):
        events += server.receive_data(data[i : i + split])
        for stream_id in list(server.streams):  # answer what opened, as a driver would
            if server.window(stream_id) >= 2:
                server.send_headers(stream_id, [(b":status", b"200")])
                server.send_data(stream_id, b"ok", end_stream=True)
    out = parse(server.data_to_send())
    assert all(kind in set(FrameType) for kind, *_ in out)
    if server.closed:
        assert goaway_code(out) is not None or any(
            isinstance(e, ConnectionTerminated) for e in events
        )
