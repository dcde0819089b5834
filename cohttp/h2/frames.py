"""HTTP/2 frames (RFC 9113 section 4 and 6): types, flags, error codes, settings, and the
encoders of each frame. Parsing lives in :mod:`cohttp.h2.connection`, which reads the
9-octet header (:func:`parse_header`) and interprets each payload in its state.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Mapping

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
"""The client connection preface (RFC 9113 3.4)."""

FRAME_HEADER = 9
"""Length (24 bits), type, flags, R bit and stream identifier (31 bits): RFC 9113 4.1."""

DEFAULT_MAX_FRAME_SIZE = 16384
"""SETTINGS_MAX_FRAME_SIZE's initial value, and the smallest allowed (RFC 9113 6.5.2)."""
MAX_MAX_FRAME_SIZE = (1 << 24) - 1
DEFAULT_WINDOW = 65535
"""The initial flow-control window of the connection and of each stream (RFC 9113 6.9.2)."""
MAX_WINDOW = (1 << 31) - 1
"""A window may not exceed 2^31-1 (RFC 9113 6.9.1)."""


class FrameType(enum.IntEnum):
    """Frame types (RFC 9113 6)."""

    DATA = 0x0
    HEADERS = 0x1
    PRIORITY = 0x2
    RST_STREAM = 0x3
    SETTINGS = 0x4
    PUSH_PROMISE = 0x5
    PING = 0x6
    GOAWAY = 0x7
    WINDOW_UPDATE = 0x8
    CONTINUATION = 0x9


END_STREAM = 0x1
ACK = 0x1
END_HEADERS = 0x4
PADDED = 0x8
PRIORITY_FLAG = 0x20


class ErrorCode(enum.IntEnum):
    """Error codes of RST_STREAM and GOAWAY (RFC 9113 7)."""

    NO_ERROR = 0x0
    PROTOCOL_ERROR = 0x1
    INTERNAL_ERROR = 0x2
    FLOW_CONTROL_ERROR = 0x3
    SETTINGS_TIMEOUT = 0x4
    STREAM_CLOSED = 0x5
    FRAME_SIZE_ERROR = 0x6
    REFUSED_STREAM = 0x7
    CANCEL = 0x8
    COMPRESSION_ERROR = 0x9
    CONNECT_ERROR = 0xA
    ENHANCE_YOUR_CALM = 0xB
    INADEQUATE_SECURITY = 0xC
    HTTP_1_1_REQUIRED = 0xD


class Setting(enum.IntEnum):
    """Setting identifiers (RFC 9113 6.5.2)."""

    HEADER_TABLE_SIZE = 0x1
    ENABLE_PUSH = 0x2
    MAX_CONCURRENT_STREAMS = 0x3
    INITIAL_WINDOW_SIZE = 0x4
    MAX_FRAME_SIZE = 0x5
    MAX_HEADER_LIST_SIZE = 0x6
    ENABLE_CONNECT_PROTOCOL = 0x8  # RFC 8441 3


_HEADER = struct.Struct("!HBBBL")  # length as 16 + 8 bits, type, flags, stream id
_U32 = struct.Struct("!L")
_SETTING = struct.Struct("!HL")
_GOAWAY = struct.Struct("!LL")


def parse_header(data: bytes | bytearray, pos: int = 0) -> tuple[int, int, int, int]:
    """``(length, type, flags, stream_id)`` of the frame header at ``pos`` (the reserved
    bit is ignored, RFC 9113 4.1)."""
    high, low, kind, flags, stream_id = _HEADER.unpack_from(data, pos)
    return (high << 8) | low, kind, flags, stream_id & 0x7FFFFFFF


def frame(
    kind: int, flags: int, stream_id: int, payload: bytes | bytearray | memoryview = b""
) -> bytes:
    """One frame: header and payload."""
    length = len(payload)
    return _HEADER.pack(length >> 8, length & 0xFF, kind, flags, stream_id) + payload


def settings(values: Mapping[int, int] | None = None, *, ack: bool = False) -> bytes:
    """A SETTINGS frame (RFC 9113 6.5); with ``ack``, the empty acknowledgement."""
    if ack:
        return frame(FrameType.SETTINGS, ACK, 0)
    payload = b"".join(_SETTING.pack(k, v) for k, v in (values or {}).items())
    return frame(FrameType.SETTINGS, 0, 0, payload)


def window_update(stream_id: int, increment: int) -> bytes:
    """A WINDOW_UPDATE frame (RFC 9113 6.9): 1..2^31-1."""
    return frame(FrameType.WINDOW_UPDATE, 0, stream_id, _U32.pack(increment))


def rst_stream(stream_id: int, code: int) -> bytes:
    """A RST_STREAM frame (RFC 9113 6.4)."""
    return frame(FrameType.RST_STREAM, 0, stream_id, _U32.pack(code))


def ping(opaque: bytes, *, ack: bool = False) -> bytes:
    """A PING frame (RFC 9113 6.7) with 8 octets of opaque data."""
    return frame(FrameType.PING, ACK if ack else 0, 0, opaque)


def goaway(last_stream_id: int, code: int, debug: bytes = b"") -> bytes:
    """A GOAWAY frame (RFC 9113 6.8)."""
    return frame(FrameType.GOAWAY, 0, 0, _GOAWAY.pack(last_stream_id, code) + debug)


def headers(
    stream_id: int, block: bytes, max_frame_size: int, *, end_stream: bool = False
) -> list[bytes]:
    """HEADERS followed by as many CONTINUATION frames as ``block`` needs (RFC 9113 6.2,
    6.10), each payload at most ``max_frame_size``."""
    flags = END_STREAM if end_stream else 0
    if len(block) <= max_frame_size:
        return [frame(FrameType.HEADERS, flags | END_HEADERS, stream_id, block)]
    out = [frame(FrameType.HEADERS, flags, stream_id, block[:max_frame_size])]
    pos = max_frame_size
    while pos < len(block):
        piece = block[pos : pos + max_frame_size]
        pos += max_frame_size
        out.append(
            frame(FrameType.CONTINUATION, END_HEADERS if pos >= len(block) else 0, stream_id, piece)
        )
    return out


def data(
    stream_id: int, payload: bytes | bytearray | memoryview, *, end_stream: bool = False
) -> bytes:
    """One DATA frame (RFC 9113 6.1), unpadded."""
    return frame(FrameType.DATA, END_STREAM if end_stream else 0, stream_id, payload)


__all__ = [
    "ACK",
    "DEFAULT_MAX_FRAME_SIZE",
    "DEFAULT_WINDOW",
    "END_HEADERS",
    "END_STREAM",
    "FRAME_HEADER",
    "MAX_WINDOW",
    "PADDED",
    "PREFACE",
    "PRIORITY_FLAG",
    "ErrorCode",
    "FrameType",
    "Setting",
    "data",
    "frame",
    "goaway",
    "headers",
    "parse_header",
    "ping",
    "rst_stream",
    "settings",
    "window_update",
]
