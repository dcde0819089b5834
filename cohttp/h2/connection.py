"""An HTTP/2 connection (RFC 9113), sans-IO: the server side, and the client side with
``client_side=True`` (:meth:`H2Connection.send_request`; server push is refused).

Bytes in (:meth:`H2Connection.receive_data`), events out; calls in (:meth:`send_headers`,
:meth:`send_data`, :meth:`reset_stream`, :meth:`close`...), bytes out
(:meth:`data_to_send`). No IO and no clock of its own beyond the ``clock`` callable the
rate limits read. :mod:`cohttp.h2.server` drives it over a :class:`backends.Flow`.

What a peer can break is answered as RFC 9113 5.4 says: a connection error sends GOAWAY
with the code and stops (:class:`ConnectionTerminated`); a stream error sends RST_STREAM
and the connection goes on (:class:`StreamReset` with ``remote=False``). A malformed
request (RFC 9113 8.1.1) is a stream error of type PROTOCOL_ERROR; a header list over
our SETTINGS_MAX_HEADER_LIST_SIZE is answered 431 (RFC 9113 10.5.1).

The limits a server exposed to the internet needs (RFC 9113 10.5), each configurable in
:class:`H2Config`: header blocks are bounded before decoding (CONTINUATION flood,
CVE-2024-27316 and kin) and after (HPACK bomb, via the decoder's list limit); streams
reset by the peer, or refused by us, are counted per time window (rapid reset,
CVE-2023-44487); SETTINGS, PING, PRIORITY and empty frames are counted per window too
(CVE-2019-9512, -9515, -9518), and so is the acknowledgement data we owe a peer that does
not read; every violation is GOAWAY ENHANCE_YOUR_CALM.
"""

from __future__ import annotations

import re
import struct
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from . import frames
from .frames import (
    DEFAULT_MAX_FRAME_SIZE,
    DEFAULT_WINDOW,
    END_HEADERS,
    END_STREAM,
    FRAME_HEADER,
    MAX_WINDOW,
    PADDED,
    PREFACE,
    PRIORITY_FLAG,
    ErrorCode,
    FrameType,
    Setting,
)
from .hpack import Decoder, Encoder, HeaderListTooLarge, HPACKError

HeaderList = list[tuple[bytes, bytes]]


@dataclass(frozen=True, slots=True)
class H2Config:
    """Settings we advertise and limits we enforce.

    ``max_concurrent_streams``, ``initial_window_size``, ``max_frame_size``,
    ``header_table_size`` and ``max_header_list_size`` are sent in our SETTINGS (RFC 9113
    6.5.2). ``connection_window`` is our connection-level receive window (raised from the
    65535 default by a WINDOW_UPDATE at the start). ``max_header_block``: octets of one
    HEADERS plus its CONTINUATIONs before decoding; ``max_continuations``: frames in one
    block. ``max_resets`` per ``rate_window`` seconds: streams the peer resets or we refuse;
    ``max_control_frames`` per ``rate_window``: SETTINGS, PING, PRIORITY and empty DATA or
    CONTINUATION frames; ``max_outbound_control``: octets of acknowledgements we may hold
    for a peer that does not read them.
    """

    max_concurrent_streams: int = 100
    initial_window_size: int = DEFAULT_WINDOW
    connection_window: int = 1 << 20
    max_frame_size: int = DEFAULT_MAX_FRAME_SIZE
    header_table_size: int = 4096
    max_header_list_size: int = 65536
    max_header_block: int = 128 * 1024
    max_continuations: int = 32
    max_resets: int = 200
    max_control_frames: int = 1000
    rate_window: float = 10.0
    max_outbound_control: int = 64 * 1024

    def __post_init__(self) -> None:
        if not DEFAULT_MAX_FRAME_SIZE <= self.max_frame_size <= frames.MAX_MAX_FRAME_SIZE:
            raise ValueError("H2Config.max_frame_size must be in 16384..16777215 (RFC 9113 6.5.2)")
        if not 0 < self.initial_window_size <= MAX_WINDOW:
            raise ValueError("H2Config.initial_window_size must be in 1..2^31-1")
        if not DEFAULT_WINDOW <= self.connection_window <= MAX_WINDOW:
            raise ValueError("H2Config.connection_window must be in 65535..2^31-1")
        if self.max_concurrent_streams < 1:
            raise ValueError("H2Config.max_concurrent_streams must be positive")


# -- events ----------------------------------------------------------------------------------


class Event:
    """Something the peer did (or that we did in answer to it)."""

    __slots__ = ()


@dataclass(slots=True)
class RequestReceived(Event):
    """A request head on a new stream; ``end_stream`` when there is no body."""

    stream_id: int
    headers: HeaderList
    end_stream: bool


@dataclass(slots=True)
class ResponseReceived(Event):
    """A final response head on a stream we (a client) opened; ``end_stream`` when it has
    no body."""

    stream_id: int
    headers: HeaderList
    end_stream: bool


@dataclass(slots=True)
class InformationalResponseReceived(Event):
    """A 1xx response head before the final one (RFC 9113 8.1)."""

    stream_id: int
    headers: HeaderList


@dataclass(slots=True)
class DataReceived(Event):
    """A piece of a request body. Give ``flow_controlled_length`` back with
    :meth:`H2Connection.acknowledge_received_data` once it is consumed."""

    stream_id: int
    data: bytes
    flow_controlled_length: int
    end_stream: bool


@dataclass(slots=True)
class TrailersReceived(Event):
    """Trailer fields, which end the request body (RFC 9113 8.1)."""

    stream_id: int
    headers: HeaderList


@dataclass(slots=True)
class StreamReset(Event):
    """A stream was reset: by the peer (``remote``) or by us in answer to a stream error."""

    stream_id: int
    error_code: int
    remote: bool


@dataclass(slots=True)
class WindowUpdated(Event):
    """More may be sent on ``stream_id`` (0: on every stream)."""

    stream_id: int


@dataclass(slots=True)
class ConnectionTerminated(Event):
    """GOAWAY: from the peer (``remote``; streams up to ``last_stream_id`` may finish) or
    from us after a connection error (nothing more is read)."""

    error_code: int
    last_stream_id: int
    remote: bool
    message: str = ""


class _ConnectionError(Exception):
    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code


class _StreamError(Exception):
    def __init__(self, stream_id: int, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.stream_id = stream_id
        self.code = code


class LocalProtocolError(Exception):
    """A call on :class:`H2Connection` that the protocol does not allow now."""


# -- streams ---------------------------------------------------------------------------------


class _Stream:
    __slots__ = (
        "closed_local",
        "closed_remote",
        "content_length",
        "head",
        "head_received",
        "id",
        "received",
        "recv_unacked",
        "recv_window",
        "send_window",
    )

    def __init__(self, stream_id: int, send_window: int, recv_window: int) -> None:
        self.id = stream_id
        self.head_received = True  # a client's stream waits for its response head
        self.head = False  # a client's HEAD request: its response has no content
        self.send_window = send_window
        self.recv_window = recv_window
        self.recv_unacked = 0
        self.closed_local = False
        self.closed_remote = False
        self.content_length: int | None = None
        self.received = 0


_U32 = struct.Struct("!L")
_PRIORITY = struct.Struct("!LB")
_GOAWAY = struct.Struct("!LL")
_SETTING = struct.Struct("!HL")

_NAME = re.compile(rb"[!#$%&'*+\-.^_`|~0-9a-z]++")
"""A field name as RFC 9113 8.2.1 allows it: a token (RFC 9110 5.1) in lowercase."""
_VALUE_FORBIDDEN = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
"""NUL, CR and LF make a field value malformed (RFC 9113 8.2.1); other controls are
refused as HTTP/1.1's field-value grammar does (RFC 9110 5.5)."""
_CONNECTION_SPECIFIC = frozenset(
    (b"connection", b"proxy-connection", b"keep-alive", b"transfer-encoding", b"upgrade")
)
"""RFC 9113 8.2.2: fields that make a message malformed."""
_REQUEST_PSEUDO = frozenset((b":method", b":scheme", b":authority", b":path"))
_VALID_FIELDS: set[tuple[bytes, bytes]] = set()
"""Request fields (pseudo or not) whose name and value were found well-formed: clients
send the same ones again. Where they stand and how often is checked for each request."""
_VALID_MAX = 4096
_VALID_FIELD_SIZE = 256
_DIGITS = re.compile(rb"[0-9]{1,18}+")
_STATUS = re.compile(rb"[1-5][0-9][0-9]")
_RESET_MEMORY = 1024
"""Streams we reset whose late frames are ignored (RFC 9113 5.1, "closed")."""


def check_request_headers(headers: HeaderList) -> str | None:
    """Why ``headers`` is not a well-formed request head (RFC 9113 8.2, 8.3.1), or None."""
    pseudo: dict[bytes, bytes] = {}
    regular = False
    valid = _VALID_FIELDS
    for field in headers:
        name, value = field
        if name[:1] == b":":
            if regular:
                return f"pseudo-header {name!r} after a regular field (RFC 9113 8.3)"
            if name not in _REQUEST_PSEUDO:
                return f"unknown pseudo-header {name!r} in a request (RFC 9113 8.3)"
            if name in pseudo:
                return f"duplicate pseudo-header {name!r} (RFC 9113 8.3.1)"
            pseudo[name] = value
        else:
            regular = True
        if field in valid:
            continue
        if not name.startswith(b":"):
            if _NAME.fullmatch(name) is None:
                return f"field name {name!r} is not a lowercase token (RFC 9113 8.2.1)"
            if name in _CONNECTION_SPECIFIC:
                return f"connection-specific field {name!r} (RFC 9113 8.2.2)"
            if name == b"te" and value != b"trailers":
                return "te other than 'trailers' (RFC 9113 8.2.2)"
        if _VALUE_FORBIDDEN.search(value) is not None:
            return f"control character in the value of {name!r} (RFC 9113 8.2.1)"
        if value[:1] in (b" ", b"\t") or value[-1:] in (b" ", b"\t"):
            return f"whitespace around the value of {name!r} (RFC 9113 8.2.1)"
        if len(name) + len(value) <= _VALID_FIELD_SIZE:  # bounded memory, however sent
            if len(valid) >= _VALID_MAX:
                valid.clear()
            valid.add(field)  # a well-formed field, wherever it stands
    method = pseudo.get(b":method")
    if method is None:
        return "no :method (RFC 9113 8.3.1)"
    if method == b"CONNECT":  # RFC 9113 8.5: :authority only
        if b":scheme" in pseudo or b":path" in pseudo or b":authority" not in pseudo:
            return "CONNECT takes :authority and no :scheme or :path (RFC 9113 8.5)"
        return None
    if b":scheme" not in pseudo:
        return "a request needs :method, :scheme and :path (RFC 9113 8.3.1)"
    if not pseudo.get(b":path"):
        return "no or an empty :path (RFC 9113 8.3.1)"
    return None


def check_response_headers(headers: HeaderList) -> str | None:
    """Why ``headers`` is not a well-formed response head (RFC 9113 8.2, 8.3.2), or None."""
    if not headers or headers[0][0] != b":status":
        return "a response head must start with :status (RFC 9113 8.3.2)"
    if _STATUS.fullmatch(headers[0][1]) is None:
        return f"invalid :status {headers[0][1][:10]!r} (RFC 9110 15)"
    for name, value in headers[1:]:
        if name[:1] == b":":
            return f"pseudo-header {name!r} in a response (RFC 9113 8.3)"
        if _NAME.fullmatch(name) is None:
            return f"field name {name!r} is not a lowercase token (RFC 9113 8.2.1)"
        if name in _CONNECTION_SPECIFIC:
            return f"connection-specific field {name!r} (RFC 9113 8.2.2)"
        if _VALUE_FORBIDDEN.search(value) is not None:
            return f"control character in the value of {name!r} (RFC 9113 8.2.1)"
        if value[:1] in (b" ", b"\t") or value[-1:] in (b" ", b"\t"):
            return f"whitespace around the value of {name!r} (RFC 9113 8.2.1)"
    return None


def check_trailers(headers: HeaderList) -> str | None:
    """Why ``headers`` are not acceptable trailers (no pseudo-headers, RFC 9113 8.1), or None."""
    for name, value in headers:
        if name[:1] == b":":
            return f"pseudo-header {name!r} in trailers (RFC 9113 8.1)"
        if _NAME.fullmatch(name) is None:
            return f"field name {name!r} is not a lowercase token (RFC 9113 8.2.1)"
        if _VALUE_FORBIDDEN.search(value) is not None:
            return f"control character in the value of {name!r} (RFC 9113 8.2.1)"
    return None


class _Rate:
    """A counter over fixed windows of ``window`` seconds."""

    __slots__ = ("clock", "count", "limit", "start", "window")

    def __init__(self, limit: int, window: float, clock: Callable[[], float]) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self.start = clock()
        self.count = 0

    def hit(self) -> bool:
        """Count one; True when over the limit."""
        now = self.clock()
        if now - self.start > self.window:
            self.start = now
            self.count = 0
        self.count += 1
        return self.count > self.limit


# -- the connection ----------------------------------------------------------------------------


class H2Connection:
    """One server-side HTTP/2 connection's state (RFC 9113). See the module documentation."""

    def __init__(
        self,
        config: H2Config | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        client_side: bool = False,
    ) -> None:
        self.config = cfg = config or H2Config()
        self.client_side = client_side
        """A client sends the preface and opens odd streams (:meth:`send_request`)."""
        self._buffer = bytearray()
        self._out: list[bytes] = []
        self._preface = client_side  # only a server reads the client preface
        self._next_stream_id = 1
        self._got_settings = False
        self.closed = False
        """Set once GOAWAY went out for an error, or the peer's GOAWAY ended everything."""
        self.streams: dict[int, _Stream] = {}
        self.highest_stream_id = 0
        self.frames_received = 0
        """Complete frames read so far (the driver's measure of a peer's progress)."""
        self._reset_by_us: OrderedDict[int, None] = OrderedDict()
        self._goaway_sent: int | None = None
        self.peer_goaway = False
        self._decoder = Decoder(cfg.header_table_size, cfg.max_header_list_size)
        self._encoder = Encoder()
        # The peer's settings (what we may send), RFC 9113 6.5.2 defaults until it speaks.
        self.peer_initial_window = DEFAULT_WINDOW
        self.peer_max_frame_size = DEFAULT_MAX_FRAME_SIZE
        self.peer_max_concurrent_streams: int | None = None
        self.send_window = DEFAULT_WINDOW
        """The connection-level window for what we send."""
        self._recv_window = cfg.connection_window
        self._recv_unacked = 0
        self._block: bytearray | None = None  # a header block awaiting CONTINUATION
        self._block_stream = 0
        self._block_marks = 0  # 1: END_STREAM, 2: the stream depends on itself
        self._block_frames = 0
        self._resets = _Rate(cfg.max_resets, cfg.rate_window, clock)
        self._control = _Rate(cfg.max_control_frames, cfg.rate_window, clock)
        self._outbound_control = 0
        ours: dict[int, int] = {
            Setting.HEADER_TABLE_SIZE: cfg.header_table_size,
            Setting.ENABLE_PUSH: 0,
            Setting.MAX_CONCURRENT_STREAMS: cfg.max_concurrent_streams,
            Setting.INITIAL_WINDOW_SIZE: cfg.initial_window_size,
            Setting.MAX_FRAME_SIZE: cfg.max_frame_size,
            Setting.MAX_HEADER_LIST_SIZE: cfg.max_header_list_size,
        }
        # RFC 9113 3.4: a client starts with the preface; then either side's first frame
        # is its SETTINGS.
        if client_side:
            self._out.append(PREFACE)
        self._out.append(frames.settings(ours))
        if cfg.connection_window > DEFAULT_WINDOW:
            self._out.append(frames.window_update(0, cfg.connection_window - DEFAULT_WINDOW))

    # -- output ----------------------------------------------------------------------------------

    def data_to_send(self) -> bytes:
        """The bytes to write to the peer now (and forget)."""
        out = self._out
        if not out:
            return b""
        data = b"".join(out) if len(out) > 1 else out[0]
        out.clear()
        self._outbound_control = 0
        return data

    @property
    def pending_output(self) -> int:
        """Frames queued by :meth:`data_to_send`'s next call (0 when nothing is)."""
        return len(self._out)

    @property
    def pending_bytes(self) -> int:
        """Octets queued for :meth:`data_to_send`."""
        return sum(map(len, self._out))

    # -- sending ---------------------------------------------------------------------------------

    def send_request(self, headers: HeaderList, *, end_stream: bool = False) -> int:
        """Open a stream with a request head (a client's; names lowercase, pseudo-headers
        first) and return its id. :class:`LocalProtocolError` after a GOAWAY, or when the
        peer's SETTINGS_MAX_CONCURRENT_STREAMS are all open (RFC 9113 5.1.2)."""
        if not self.client_side:
            raise LocalProtocolError("a server does not open streams (push is not supported)")
        if not self.accepting:
            raise LocalProtocolError("the connection is going away: no new streams")
        limit = self.peer_max_concurrent_streams
        if limit is not None and len(self.streams) >= limit:
            raise LocalProtocolError(f"the peer allows {limit} concurrent streams")
        stream_id = self._next_stream_id
        if stream_id > MAX_WINDOW:
            raise LocalProtocolError("stream identifiers are exhausted (RFC 9113 5.1.1)")
        self._next_stream_id += 2
        self.highest_stream_id = stream_id
        stream = _Stream(stream_id, self.peer_initial_window, self.config.initial_window_size)
        stream.head_received = False
        stream.head = (b":method", b"HEAD") in headers
        self.streams[stream_id] = stream
        self.send_headers(stream_id, headers, end_stream=end_stream)
        return stream_id

    def _stream_for_sending(self, stream_id: int) -> _Stream:
        stream = self.streams.get(stream_id)
        if stream is None:
            raise LocalProtocolError(f"stream {stream_id} is not open")
        if stream.closed_local:
            raise LocalProtocolError(f"stream {stream_id} was already ended by us")
        return stream

    def send_headers(
        self, stream_id: int, headers: HeaderList, *, end_stream: bool = False
    ) -> None:
        """A response head (or trailers with ``end_stream``) on ``stream_id``; names lowercase."""
        stream = self._stream_for_sending(stream_id)
        block = self._encoder.encode(headers)
        self._out.extend(
            frames.headers(stream_id, block, self.peer_max_frame_size, end_stream=end_stream)
        )
        if end_stream:
            self._end_local(stream)

    def window(self, stream_id: int) -> int:
        """How many body octets may be sent on ``stream_id`` now (flow control, RFC 9113 5.2)."""
        stream = self.streams.get(stream_id)
        if stream is None or stream.closed_local:
            return 0
        return max(0, min(self.send_window, stream.send_window))

    def send_data(self, stream_id: int, data: bytes, *, end_stream: bool = False) -> None:
        """Body octets on ``stream_id``: at most :meth:`window` of them, cut into frames of
        the peer's SETTINGS_MAX_FRAME_SIZE."""
        stream = self._stream_for_sending(stream_id)
        size = len(data)
        if size > min(self.send_window, stream.send_window):
            raise LocalProtocolError(f"{size} octets exceed the flow-control window")
        self.send_window -= size
        stream.send_window -= size
        step = self.peer_max_frame_size
        out = self._out
        if size <= step:
            out.append(frames.data(stream_id, data, end_stream=end_stream))
        else:
            view = memoryview(data)
            for pos in range(0, size, step):
                last = pos + step >= size
                out.append(
                    frames.data(stream_id, view[pos : pos + step], end_stream=end_stream and last)
                )
        if end_stream:
            self._end_local(stream)

    def end_stream(self, stream_id: int) -> None:
        """End our side of ``stream_id`` with an empty DATA frame."""
        self.send_data(stream_id, b"", end_stream=True)

    def reset_stream(self, stream_id: int, code: int = ErrorCode.CANCEL) -> None:
        """RST_STREAM (RFC 9113 6.4); late frames from the peer on it are then ignored."""
        if self.closed:
            return
        self._out.append(frames.rst_stream(stream_id, code))
        self._forget(stream_id, reset=True)

    def acknowledge_received_data(self, stream_id: int, length: int) -> None:
        """``length`` octets of ``stream_id``'s body were consumed: reopen its window
        (RFC 9113 6.9) once half of it is used, so the peer can send more."""
        stream = self.streams.get(stream_id)
        if stream is None or stream.closed_remote or self.closed or length <= 0:
            return
        stream.recv_unacked += length
        if stream.recv_unacked >= self.config.initial_window_size // 2:
            self._out.append(frames.window_update(stream_id, stream.recv_unacked))
            stream.recv_window += stream.recv_unacked
            stream.recv_unacked = 0

    def close(self, code: int = ErrorCode.NO_ERROR, message: str = "") -> None:
        """GOAWAY (RFC 9113 6.8) naming the last stream we will process. With NO_ERROR the
        streams already open may finish (a graceful shutdown); with an error nothing more
        is read."""
        if self._goaway_sent is not None and code == ErrorCode.NO_ERROR:
            return
        last = 0 if self.client_side else self.highest_stream_id  # peer-initiated streams
        self._goaway_sent = last
        self._out.append(frames.goaway(last, code, message.encode("utf-8", "replace")[:256]))
        if code != ErrorCode.NO_ERROR:
            self.closed = True

    @property
    def accepting(self) -> bool:
        """Whether new streams are still taken (no GOAWAY either way)."""
        return self._goaway_sent is None and not self.peer_goaway and not self.closed

    def _end_local(self, stream: _Stream) -> None:
        stream.closed_local = True
        if stream.closed_remote:
            del self.streams[stream.id]

    def _forget(self, stream_id: int, *, reset: bool) -> None:
        self.streams.pop(stream_id, None)
        if reset:
            memory = self._reset_by_us
            memory[stream_id] = None
            if len(memory) > _RESET_MEMORY:
                memory.popitem(last=False)

    # -- receiving -------------------------------------------------------------------------------

    def receive_data(self, data: bytes) -> list[Event]:
        """Feed bytes from the peer; return what happened. An empty ``data`` is EOF."""
        events: list[Event] = []
        if self.closed:
            return events
        if not data:
            self.closed = True
            events.append(
                ConnectionTerminated(ErrorCode.NO_ERROR, self.highest_stream_id, True, "EOF")
            )
            return events
        buffer = self._buffer
        buffer += data
        try:
            if not self._preface:
                if len(buffer) < len(PREFACE):
                    if not PREFACE.startswith(bytes(buffer)):
                        raise _ConnectionError(ErrorCode.PROTOCOL_ERROR, "not the HTTP/2 preface")
                    return events
                if buffer[: len(PREFACE)] != PREFACE:
                    raise _ConnectionError(
                        ErrorCode.PROTOCOL_ERROR, "not the HTTP/2 client preface (RFC 9113 3.4)"
                    )
                del buffer[: len(PREFACE)]
                self._preface = True
            pos = 0
            limit = self.config.max_frame_size
            while len(buffer) - pos >= FRAME_HEADER:
                length, kind, flags, stream_id = frames.parse_header(buffer, pos)
                if length > limit:
                    raise _ConnectionError(
                        ErrorCode.FRAME_SIZE_ERROR,
                        f"frame of {length} octets over our SETTINGS_MAX_FRAME_SIZE {limit} (RFC 9113 4.2)",
                    )
                end = pos + FRAME_HEADER + length
                if end > len(buffer):
                    break
                payload = bytes(buffer[pos + FRAME_HEADER : end])
                pos = end
                self.frames_received += 1
                try:
                    self._frame(kind, flags, stream_id, payload, events)
                except _StreamError as exc:
                    self._out.append(frames.rst_stream(exc.stream_id, exc.code))
                    self._forget(exc.stream_id, reset=True)
                    events.append(StreamReset(exc.stream_id, exc.code, False))
                    if self._resets.hit():
                        raise _ConnectionError(
                            ErrorCode.ENHANCE_YOUR_CALM, "too many streams in error"
                        ) from None
                if self.closed:
                    break
            del buffer[:pos]
        except _ConnectionError as exc:
            self.close(exc.code, str(exc))
            self.closed = True
            buffer.clear()
            events.append(ConnectionTerminated(exc.code, self.highest_stream_id, False, str(exc)))
        return events

    @property
    def receiving_frame(self) -> bool:
        """Whether a frame or a header block has started and not ended (a peer must not
        hold it open: the driver puts a deadline on it)."""
        return bool(self._buffer) or self._block is not None or not self._preface

    @property
    def header_block_open(self) -> bool:
        """Whether a HEADERS frame awaits its CONTINUATION frames."""
        return self._block is not None

    def _control_frame(self) -> None:
        if self._control.hit():
            raise _ConnectionError(
                ErrorCode.ENHANCE_YOUR_CALM, "too many control frames (RFC 9113 10.5)"
            )

    def _owe(self, frame_bytes: bytes) -> None:
        """Queue an acknowledgement; a peer that sends them faster than it reads is stopped."""
        self._outbound_control += len(frame_bytes)
        if self._outbound_control > self.config.max_outbound_control:
            raise _ConnectionError(
                ErrorCode.ENHANCE_YOUR_CALM, "acknowledgements pile up unread (RFC 9113 10.5)"
            )
        self._out.append(frame_bytes)

    def _frame(
        self, kind: int, flags: int, stream_id: int, payload: bytes, events: list[Event]
    ) -> None:
        if not self._got_settings:
            if kind != FrameType.SETTINGS or flags & frames.ACK:
                raise _ConnectionError(
                    ErrorCode.PROTOCOL_ERROR,
                    "the client preface must start with SETTINGS (RFC 9113 3.4)",
                )
            self._got_settings = True
        if self._block is not None and kind != FrameType.CONTINUATION:
            raise _ConnectionError(
                ErrorCode.PROTOCOL_ERROR, "a header block was interrupted (RFC 9113 6.10)"
            )
        if kind == FrameType.DATA:
            self._data(flags, stream_id, payload, events)
        elif kind == FrameType.HEADERS:
            self._headers(flags, stream_id, payload, events)
        elif kind == FrameType.CONTINUATION:
            self._continuation(flags, stream_id, payload, events)
        elif kind == FrameType.SETTINGS:
            self._settings(flags, stream_id, payload, events)
        elif kind == FrameType.WINDOW_UPDATE:
            self._window_update(stream_id, payload, events)
        elif kind == FrameType.RST_STREAM:
            self._rst_stream(stream_id, payload, events)
        elif kind == FrameType.PING:
            if len(payload) != 8:
                raise _ConnectionError(
                    ErrorCode.FRAME_SIZE_ERROR, "PING of other than 8 octets (RFC 9113 6.7)"
                )
            if stream_id:
                raise _ConnectionError(ErrorCode.PROTOCOL_ERROR, "PING on a stream (RFC 9113 6.7)")
            self._control_frame()
            if not flags & frames.ACK:
                self._owe(frames.ping(payload, ack=True))
        elif kind == FrameType.PRIORITY:  # RFC 9113 5.3.2: parsed and ignored
            if not stream_id:
                raise _ConnectionError(
                    ErrorCode.PROTOCOL_ERROR, "PRIORITY on stream 0 (RFC 9113 6.3)"
                )
            if len(payload) != 5:
                raise _StreamError(
                    stream_id, ErrorCode.FRAME_SIZE_ERROR, "PRIORITY of other than 5 octets"
                )
            self._control_frame()
            if _PRIORITY.unpack(payload)[0] & 0x7FFFFFFF == stream_id:
                raise _StreamError(
                    stream_id, ErrorCode.PROTOCOL_ERROR, "a stream depends on itself"
                )
        elif kind == FrameType.GOAWAY:
            if stream_id:
                raise _ConnectionError(
                    ErrorCode.PROTOCOL_ERROR, "GOAWAY on a stream (RFC 9113 6.8)"
                )
            if len(payload) < 8:
                raise _ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "GOAWAY shorter than 8 octets")
            last, code = _GOAWAY.unpack_from(payload)
            self.peer_goaway = True
            message = payload[8:].decode("utf-8", "replace")
            events.append(ConnectionTerminated(code, last & 0x7FFFFFFF, True, message))
        elif kind == FrameType.PUSH_PROMISE:
            raise _ConnectionError(
                ErrorCode.PROTOCOL_ERROR, "a client sent PUSH_PROMISE (RFC 9113 8.4)"
            )
        # Other types are ignored (RFC 9113 5.5).

    @staticmethod
    def _unpad(flags: int, payload: bytes, stream_id: int) -> bytes:
        if not flags & PADDED:
            return payload
        if not payload or payload[0] >= len(payload):
            raise _ConnectionError(
                ErrorCode.PROTOCOL_ERROR, "padding as long as the frame (RFC 9113 6.1, 6.2)"
            )
        return payload[1 : len(payload) - payload[0]]

    def _data(self, flags: int, stream_id: int, payload: bytes, events: list[Event]) -> None:
        if not stream_id:
            raise _ConnectionError(ErrorCode.PROTOCOL_ERROR, "DATA on stream 0 (RFC 9113 6.1)")
        length = len(payload)
        if length > self._recv_window:
            raise _ConnectionError(
                ErrorCode.FLOW_CONTROL_ERROR, "DATA beyond the connection window (RFC 9113 6.9.1)"
            )
        self._recv_window -= length
        self._recv_unacked += length  # the connection's window is given back at once
        if self._recv_unacked >= self.config.connection_window // 2:
            self._out.append(frames.window_update(0, self._recv_unacked))
            self._recv_window += self._recv_unacked
            self._recv_unacked = 0
        data = self._unpad(flags, payload, stream_id)
        end_stream = bool(flags & END_STREAM)
        if not data and not end_stream:
            self._control_frame()  # empty DATA frames cost us work and the peer nothing
        stream = self.streams.get(stream_id)
        if stream is None:
            if stream_id > self.highest_stream_id:
                raise _ConnectionError(ErrorCode.PROTOCOL_ERROR, f"DATA on idle stream {stream_id}")
            if stream_id in self._reset_by_us:
                return
            raise _StreamError(stream_id, ErrorCode.STREAM_CLOSED, "DATA on a closed stream")
        if stream.closed_remote:
            raise _StreamError(
                stream_id, ErrorCode.STREAM_CLOSED, "DATA after END_STREAM (RFC 9113 5.1)"
            )
        if not stream.head_received:
            raise _StreamError(
                stream_id, ErrorCode.PROTOCOL_ERROR, "DATA before the response head (RFC 9113 8.1)"
            )
        if length > stream.recv_window:
            raise _StreamError(
                stream_id, ErrorCode.FLOW_CONTROL_ERROR, "DATA beyond the stream window"
            )
        stream.recv_window -= length
        stream.received += len(data)
        declared = stream.content_length
        if declared is not None and (
            stream.received > declared or (end_stream and stream.received != declared)
        ):
            raise _StreamError(
                stream_id,
                ErrorCode.PROTOCOL_ERROR,
                "body length differs from content-length (RFC 9113 8.1.1)",
            )
        if end_stream:
            stream.closed_remote = True
            if stream.closed_local:
                del self.streams[stream_id]
        events.append(DataReceived(stream_id, data, length, end_stream))

    def _headers(self, flags: int, stream_id: int, payload: bytes, events: list[Event]) -> None:
        if not stream_id:
            raise _ConnectionError(ErrorCode.PROTOCOL_ERROR, "HEADERS on stream 0 (RFC 9113 6.2)")
        fragment = self._unpad(flags, payload, stream_id)
        if flags & PRIORITY_FLAG:
            if len(fragment) < 5:
                raise _ConnectionError(
                    ErrorCode.FRAME_SIZE_ERROR, "HEADERS too short for its priority"
                )
            depends = _PRIORITY.unpack_from(fragment)[0] & 0x7FFFFFFF
            fragment = fragment[5:]
            if depends == stream_id:  # RFC 9113 5.3.1
                self._decode_block(
                    stream_id,
                    fragment,
                    flags & END_STREAM,
                    flags & END_HEADERS,
                    events,
                    self_dependent=True,
                )
                return
        self._decode_block(stream_id, fragment, flags & END_STREAM, flags & END_HEADERS, events)

    def _decode_block(
        self,
        stream_id: int,
        fragment: bytes,
        end_stream: int,
        end_headers: int,
        events: list[Event],
        *,
        self_dependent: bool = False,
    ) -> None:
        if not end_headers:
            self._block = bytearray(fragment)
            self._block_stream = stream_id
            self._block_marks = (1 if end_stream else 0) | (2 if self_dependent else 0)
            self._block_frames = 1
            return
        self._complete_block(stream_id, fragment, bool(end_stream), self_dependent, events)

    def _continuation(
        self, flags: int, stream_id: int, payload: bytes, events: list[Event]
    ) -> None:
        block = self._block
        if block is None or stream_id != self._block_stream:
            raise _ConnectionError(
                ErrorCode.PROTOCOL_ERROR,
                "CONTINUATION without a header block to continue (RFC 9113 6.10)",
            )
        block += payload
        self._block_frames += 1
        if not payload and not flags & END_HEADERS:
            self._control_frame()
        cfg = self.config
        if len(block) > cfg.max_header_block or self._block_frames > cfg.max_continuations:
            raise _ConnectionError(
                ErrorCode.ENHANCE_YOUR_CALM,
                f"header block over {cfg.max_header_block} octets or {cfg.max_continuations} frames",
            )
        if flags & END_HEADERS:
            self._block = None
            marks = self._block_marks
            self._complete_block(stream_id, bytes(block), bool(marks & 1), bool(marks & 2), events)

    def _complete_block(
        self,
        stream_id: int,
        block: bytes,
        end_stream: bool,
        self_dependent: bool,
        events: list[Event],
    ) -> None:
        if len(block) > self.config.max_header_block:
            raise _ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, "header block too large")
        too_large = False
        try:
            headers = self._decoder.decode(block)
        except HeaderListTooLarge:
            headers, too_large = [], True
        except HPACKError as exc:
            raise _ConnectionError(ErrorCode.COMPRESSION_ERROR, str(exc)) from None
        stream = self.streams.get(stream_id)
        if stream is not None and not stream.head_received:  # a client's response head
            self._response_head(stream, headers, too_large, end_stream, events)
            return
        if stream is not None:  # trailers (RFC 9113 8.1)
            if stream.closed_remote:
                raise _StreamError(stream_id, ErrorCode.STREAM_CLOSED, "HEADERS after END_STREAM")
            if not end_stream:
                raise _StreamError(
                    stream_id,
                    ErrorCode.PROTOCOL_ERROR,
                    "trailers without END_STREAM (RFC 9113 8.1)",
                )
            problem = "trailers too large" if too_large else check_trailers(headers)
            if problem is not None:
                raise _StreamError(stream_id, ErrorCode.PROTOCOL_ERROR, problem)
            if stream.content_length is not None and stream.received != stream.content_length:
                raise _StreamError(
                    stream_id, ErrorCode.PROTOCOL_ERROR, "body shorter than content-length"
                )
            stream.closed_remote = True
            if stream.closed_local:
                del self.streams[stream_id]
            events.append(TrailersReceived(stream_id, headers))
            return
        if self.client_side:
            if stream_id & 1 and stream_id <= self.highest_stream_id:
                if stream_id in self._reset_by_us:
                    return
                raise _ConnectionError(
                    ErrorCode.STREAM_CLOSED, f"HEADERS on closed stream {stream_id} (RFC 9113 5.1)"
                )
            raise _ConnectionError(
                ErrorCode.PROTOCOL_ERROR,
                f"the server opened stream {stream_id} (push is disabled, RFC 9113 8.4)",
            )
        if not stream_id & 1:
            raise _ConnectionError(
                ErrorCode.PROTOCOL_ERROR, f"client stream {stream_id} is even (RFC 9113 5.1.1)"
            )
        if stream_id <= self.highest_stream_id:
            if stream_id in self._reset_by_us:
                return
            raise _ConnectionError(
                ErrorCode.STREAM_CLOSED, f"HEADERS on closed stream {stream_id} (RFC 9113 5.1)"
            )
        self.highest_stream_id = stream_id
        if self._goaway_sent is not None:
            return  # RFC 9113 6.8: streams after our GOAWAY's last id are ignored
        if self_dependent:
            raise _StreamError(
                stream_id, ErrorCode.PROTOCOL_ERROR, "a stream depends on itself (RFC 9113 5.3.1)"
            )
        if len(self.streams) >= self.config.max_concurrent_streams:
            raise _StreamError(
                stream_id,
                ErrorCode.REFUSED_STREAM,
                "over SETTINGS_MAX_CONCURRENT_STREAMS (RFC 9113 5.1.2)",
            )
        stream = _Stream(stream_id, self.peer_initial_window, self.config.initial_window_size)
        if too_large:  # RFC 9113 10.5.1: a 431 answers it
            self.streams[stream_id] = stream
            stream.closed_remote = end_stream
            self.send_headers(
                stream_id, [(b":status", b"431"), (b"content-length", b"0")], end_stream=True
            )
            if not end_stream:
                self.reset_stream(stream_id, ErrorCode.NO_ERROR)
            return
        problem = check_request_headers(headers)
        if problem is None:
            lengths = [v for n, v in headers if n == b"content-length"]
            if lengths:
                if len(set(lengths)) > 1 or _DIGITS.fullmatch(lengths[0]) is None:
                    problem = "invalid content-length (RFC 9110 8.6)"
                else:
                    stream.content_length = int(lengths[0])
                    if end_stream and stream.content_length:
                        problem = "content-length with no body (RFC 9113 8.1.1)"
        if problem is not None:
            raise _StreamError(stream_id, ErrorCode.PROTOCOL_ERROR, problem)
        self.streams[stream_id] = stream
        stream.closed_remote = end_stream
        events.append(RequestReceived(stream_id, headers, end_stream))

    def _response_head(
        self,
        stream: _Stream,
        headers: HeaderList,
        too_large: bool,
        end_stream: bool,
        events: list[Event],
    ) -> None:
        sid = stream.id
        problem = "response head too large" if too_large else check_response_headers(headers)
        if problem is not None:
            raise _StreamError(sid, ErrorCode.PROTOCOL_ERROR, problem)
        status = int(headers[0][1])  # checked: :status first, three digits
        if status < 200:
            if end_stream or status == 101:  # RFC 9113 8.1 and 8.6
                raise _StreamError(
                    sid, ErrorCode.PROTOCOL_ERROR, f"informational {status} ending or switching"
                )
            events.append(InformationalResponseReceived(sid, headers))
            return
        stream.head_received = True
        if stream.head or status in (204, 304):  # no content (RFC 9110 6.4.1)
            stream.content_length = 0
        else:
            lengths = [v for n, v in headers if n == b"content-length"]
            if lengths:
                if len(set(lengths)) > 1 or _DIGITS.fullmatch(lengths[0]) is None:
                    raise _StreamError(sid, ErrorCode.PROTOCOL_ERROR, "invalid content-length")
                stream.content_length = int(lengths[0])
        if end_stream:
            if stream.content_length:
                raise _StreamError(sid, ErrorCode.PROTOCOL_ERROR, "content-length with no body")
            stream.closed_remote = True
            if stream.closed_local:
                del self.streams[sid]
        events.append(ResponseReceived(sid, headers, end_stream))

    def _settings(self, flags: int, stream_id: int, payload: bytes, events: list[Event]) -> None:
        if stream_id:
            raise _ConnectionError(ErrorCode.PROTOCOL_ERROR, "SETTINGS on a stream (RFC 9113 6.5)")
        if flags & frames.ACK:
            if payload:
                raise _ConnectionError(
                    ErrorCode.FRAME_SIZE_ERROR, "SETTINGS ACK with a payload (RFC 9113 6.5)"
                )
            return
        if len(payload) % 6:
            raise _ConnectionError(
                ErrorCode.FRAME_SIZE_ERROR, "SETTINGS length not a multiple of 6 (RFC 9113 6.5)"
            )
        self._control_frame()
        window_changed = False
        for pos in range(0, len(payload), 6):
            ident, value = _SETTING.unpack_from(payload, pos)
            if ident == Setting.HEADER_TABLE_SIZE:
                # Our encoder's table: what the peer allows, but no more than our own size.
                self._encoder.set_max_table_size(min(value, self.config.header_table_size))
            elif ident == Setting.ENABLE_PUSH:
                if value > 1 or (value and self.client_side):  # RFC 9113 6.5.2
                    raise _ConnectionError(
                        ErrorCode.PROTOCOL_ERROR, "SETTINGS_ENABLE_PUSH not 0 or 1"
                    )
            elif ident == Setting.MAX_CONCURRENT_STREAMS:
                self.peer_max_concurrent_streams = value
            elif ident == Setting.INITIAL_WINDOW_SIZE:
                if value > MAX_WINDOW:
                    raise _ConnectionError(
                        ErrorCode.FLOW_CONTROL_ERROR,
                        "SETTINGS_INITIAL_WINDOW_SIZE over 2^31-1 (RFC 9113 6.5.2)",
                    )
                delta = value - self.peer_initial_window
                self.peer_initial_window = value
                for stream in self.streams.values():  # RFC 9113 6.9.2
                    stream.send_window += delta
                    if stream.send_window > MAX_WINDOW:
                        raise _ConnectionError(
                            ErrorCode.FLOW_CONTROL_ERROR, "a stream window over 2^31-1"
                        )
                window_changed = True
            elif ident == Setting.MAX_FRAME_SIZE:
                if not DEFAULT_MAX_FRAME_SIZE <= value <= frames.MAX_MAX_FRAME_SIZE:
                    raise _ConnectionError(
                        ErrorCode.PROTOCOL_ERROR,
                        "SETTINGS_MAX_FRAME_SIZE out of range (RFC 9113 6.5.2)",
                    )
                self.peer_max_frame_size = value
            elif ident == Setting.ENABLE_CONNECT_PROTOCOL and value > 1:
                raise _ConnectionError(
                    ErrorCode.PROTOCOL_ERROR, "SETTINGS_ENABLE_CONNECT_PROTOCOL not 0 or 1"
                )
        self._owe(frames.settings(ack=True))
        if window_changed:
            events.append(WindowUpdated(0))

    def _window_update(self, stream_id: int, payload: bytes, events: list[Event]) -> None:
        if len(payload) != 4:
            raise _ConnectionError(
                ErrorCode.FRAME_SIZE_ERROR, "WINDOW_UPDATE of other than 4 octets"
            )
        increment = _U32.unpack(payload)[0] & 0x7FFFFFFF
        if not stream_id:
            if not increment:
                raise _ConnectionError(
                    ErrorCode.PROTOCOL_ERROR, "WINDOW_UPDATE of 0 (RFC 9113 6.9)"
                )
            self.send_window += increment
            if self.send_window > MAX_WINDOW:
                raise _ConnectionError(
                    ErrorCode.FLOW_CONTROL_ERROR, "connection window over 2^31-1 (RFC 9113 6.9.1)"
                )
            events.append(WindowUpdated(0))
            return
        stream = self.streams.get(stream_id)
        if stream is None:
            if stream_id > self.highest_stream_id:
                raise _ConnectionError(
                    ErrorCode.PROTOCOL_ERROR, f"WINDOW_UPDATE on idle stream {stream_id}"
                )
            return  # closed: it may have been in flight (RFC 9113 6.9)
        if not increment:
            raise _StreamError(
                stream_id, ErrorCode.PROTOCOL_ERROR, "WINDOW_UPDATE of 0 (RFC 9113 6.9)"
            )
        stream.send_window += increment
        if stream.send_window > MAX_WINDOW:
            raise _StreamError(
                stream_id,
                ErrorCode.FLOW_CONTROL_ERROR,
                "stream window over 2^31-1 (RFC 9113 6.9.1)",
            )
        events.append(WindowUpdated(stream_id))

    def _rst_stream(self, stream_id: int, payload: bytes, events: list[Event]) -> None:
        if not stream_id:
            raise _ConnectionError(
                ErrorCode.PROTOCOL_ERROR, "RST_STREAM on stream 0 (RFC 9113 6.4)"
            )
        if len(payload) != 4:
            raise _ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "RST_STREAM of other than 4 octets")
        if stream_id > self.highest_stream_id:
            raise _ConnectionError(
                ErrorCode.PROTOCOL_ERROR, f"RST_STREAM on idle stream {stream_id}"
            )
        if self._resets.hit():  # CVE-2023-44487
            raise _ConnectionError(
                ErrorCode.ENHANCE_YOUR_CALM, "too many streams reset (rapid reset)"
            )
        if stream_id in self.streams:
            self._forget(stream_id, reset=False)
            events.append(StreamReset(stream_id, _U32.unpack(payload)[0], True))


__all__ = [
    "ConnectionTerminated",
    "DataReceived",
    "Event",
    "H2Config",
    "H2Connection",
    "HeaderList",
    "InformationalResponseReceived",
    "LocalProtocolError",
    "RequestReceived",
    "ResponseReceived",
    "StreamReset",
    "TrailersReceived",
    "WindowUpdated",
    "check_request_headers",
    "check_response_headers",
    "check_trailers",
]
