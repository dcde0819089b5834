"""The WebSocket framing layer (RFC 6455 section 5, RFC 7692 section 6), sans-IO.

A :class:`Connection` turns bytes into events and events into bytes, as h11 does for
HTTP/1.1; the handshake (:mod:`cohttp.ws.handshake`) happens before it exists and the
driver (:mod:`cohttp.ws.driver`) moves the bytes::

    conn = Connection(Role.SERVER)
    conn.receive_data(bytes_from_peer)
    while (event := conn.next_event()) is not None:
        ...                                   # Text, Bytes, Ping, Pong or Close
    bytes_to_peer = conn.send(Text("hello"))

Every rule of section 5 that the peer can break raises :class:`ProtocolError` carrying the
close code to fail the connection with (section 7.1.7): 1002 for framing, 1007 for bad
UTF-8 or bad compressed data, 1009 past a size limit. The caller then sends
``conn.send(Close(err.code, err.reason))`` and closes the transport. Misuse by the caller
(sending after Close, a control payload over 125 bytes, an unregistered close code) raises
:class:`LocalProtocolError` and changes nothing.

Masking runs in C (``cohttp/ws/_mask.c``, 8 bytes a step) where that optional extension was
built, and otherwise XORs the payload 4 KiB at a time as integers (``int.from_bytes``): a
64 KiB payload unmasks in a few µs in C, in ~0.1 ms in pure Python.
"""

from __future__ import annotations

import codecs
import enum
import os
import struct
from dataclasses import dataclass

from .deflate import (
    Compressor,
    Decompressor,
    DeflateOptions,
    DeflateParams,
    InvalidCompressedData,
    MessageTooBig,
)

CONTINUATION = 0x0
TEXT = 0x1
BINARY = 0x2
CLOSE = 0x8
PING = 0x9
PONG = 0xA
_OPCODES = frozenset((CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG))

NO_STATUS = 1005
"""RFC 6455 section 7.1.5: the close code reported for a Close frame without a body."""
ABNORMAL = 1006
"""Section 7.1.5: the close code reported when the transport ended without a Close frame."""

_WIRE_CODES = frozenset((1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014))


def close_code_on_wire(code: int) -> bool:
    """Whether ``code`` may appear in a Close frame (RFC 6455 section 7.4).

    The codes defined in 7.4.1 that an endpoint may send, the IANA registry's 1012-1014,
    and 3000-4999 (libraries, frameworks, applications). Never 1004 (reserved), 1005,
    1006 or 1015, which only report what happened, nor anything unassigned below 3000.
    """
    return code in _WIRE_CODES or 3000 <= code <= 4999


class Role(enum.Enum):
    """Which end of the connection this is: it decides who masks (section 5.1)."""

    CLIENT = "client"
    SERVER = "server"


@dataclass(slots=True)
class Text:
    """A text message, or a fragment of one when ``final`` is false."""

    data: str
    final: bool = True


@dataclass(slots=True)
class Bytes:
    """A binary message, or a fragment of one when ``final`` is false."""

    data: bytes
    final: bool = True


@dataclass(slots=True)
class Ping:
    """A Ping control frame (section 5.5.2); the peer answers with a Pong of its payload."""

    payload: bytes = b""


@dataclass(slots=True)
class Pong:
    """A Pong control frame (section 5.5.3)."""

    payload: bytes = b""


@dataclass(slots=True)
class Close:
    """A Close frame (section 5.5.1). ``code`` 1005 stands for a frame without a body."""

    code: int = 1000
    reason: str = ""


Event = Text | Bytes | Ping | Pong | Close


class WebSocketError(Exception):
    """Base class of this package's errors."""


class ProtocolError(WebSocketError):
    """The peer broke RFC 6455/7692; ``code`` is the close code to fail the connection with."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"{reason} (close code {code})")
        self.code = code
        self.reason = reason


class LocalProtocolError(WebSocketError, ValueError):
    """This side tried to send something RFC 6455 forbids; nothing was sent."""


class State(enum.Enum):
    """Where the closing handshake stands (section 7)."""

    OPEN = "open"
    LOCAL_CLOSING = "local closing"
    """We sent Close and wait for the peer's."""
    REMOTE_CLOSING = "remote closing"
    """The peer sent Close and we have not answered yet."""
    CLOSED = "closed"
    """Both Close frames went; only closing the transport is left."""


_OPEN = State.OPEN
_LOCAL_CLOSING = State.LOCAL_CLOSING
_REMOTE_CLOSING = State.REMOTE_CLOSING
_CLOSED = State.CLOSED
# Module globals, not ``State.OPEN``: an Enum member read through its class costs ~10x a
# global load on Python 3.11 (EnumType defines __getattr__), and the hot paths read them.

_CHUNK = 4096
"""Unmasking works in slices of this many bytes (a multiple of 4: the key stays aligned)."""
_ZERO_KEY = bytes(4)
_from_bytes = int.from_bytes  # one global load on the per-frame paths, not two lookups
_ONES = int.from_bytes(b"\x01\x00\x00\x00" * (_CHUNK // 4), "little")
"""Times a 4-byte key read as an integer: the key repeated over one slice."""


_SMALL_ONES = tuple(
    int.from_bytes(b"\x01\x00\x00\x00" * ((n + 3) >> 2), "little") for n in range(126)
)
"""For a payload of n < 126 bytes: times a 4-byte key, the key repeated over n bytes
rounded up to a multiple of 4 (:data:`_SMALL_ROUND`)."""
_SMALL_ROUND = tuple((n + 3) & ~3 for n in range(126))


def mask(key: bytes, data: bytes | bytearray | memoryview) -> bytes:
    """XOR ``data`` with the 4-byte ``key`` repeated (section 5.3); its own inverse."""
    if data.__class__ is not bytes:  # its bytes in order, whatever its format or strides
        view = memoryview(data)
        data = view.cast("B") if view.c_contiguous else view.tobytes()
    return _unmask(key, data, 0, len(data))


def _unmask_py(key: bytes, buf: bytes | bytearray | memoryview, start: int, end: int) -> bytes:
    """``buf[start:end]`` XORed with ``key`` repeated from ``start`` (section 5.3).

    The pure-Python masking, used where the C twin (``cohttp.ws._mask.unmask``, the same
    bytes) was not built.

    Each slice is one integer XORed with the key repeated as another, so the per-byte
    work runs in C (``int.from_bytes``, ``^``, ``int.to_bytes``). Slices of 4 KiB keep the
    integers in the CPU's cache, and the repeated key is one multiplication per message:
    on a 64 KiB payload this measured ~1.5x faster than one integer for the whole payload
    (and linear in the size where the whole-payload integer was not), and ~1.3x faster
    than four strided ``bytes.translate`` passes (medians of interleaved timeit runs on
    fresh buffers, Python 3.11; the machine was loaded). Measured again (minimum of 200
    interleaved runs, 64 KiB): 4 KiB slices 102 µs, 16 KiB 100 µs, 1 KiB 124 µs, one
    integer 225 µs, strided translates 130 µs. Converting is the cost: ``to_bytes`` and
    ``from_bytes`` take ~25 instructions a byte between them (callgrind), the XOR itself
    under one; no standard-library call XORs two buffers faster.

    Measured a third time (cachegrind instructions per 64 KiB; times are the minimum of 7
    interleaved runs on a loaded machine): this function 1.83M (102 µs), of which
    ``from_bytes`` 0.81M and ``to_bytes`` 0.97M; 2, 8 and 16 KiB slices 110, 101, 103 µs;
    the strided ``translate`` variant 1.41M instructions but no faster (103 µs: one
    ``bytes.translate`` pass costs 9 instructions a byte, a strided slice read or write
    6.5-7); hex digits (``bytes.hex``/``int(s, 16)``) 1.7 ms. So ~0.1 ms per 64 KiB is the
    floor for unmasking in pure Python here, about what a C unmasking peer (websockets)
    spends on its whole echo of 64 KiB.
    """
    n = end - start
    if key == _ZERO_KEY:  # a key of zeros leaves the payload as it is
        return bytes(buf[start:end])
    from_bytes = _from_bytes
    if n <= _CHUNK:
        if n <= 0:
            return b""
        keys = (key * ((n + 3) >> 2))[:n]
        value = from_bytes(buf[start:end], "little") ^ from_bytes(keys, "little")
        return value.to_bytes(n, "little")
    pattern = from_bytes(key, "little") * _ONES
    whole = end - n % _CHUNK
    parts = [
        (from_bytes(buf[i : i + _CHUNK], "little") ^ pattern).to_bytes(_CHUNK, "little")
        for i in range(start, whole, _CHUNK)
    ]
    if whole < end:
        parts.append(_unmask_py(key, buf, whole, end))
    return b"".join(parts)


try:
    from ._mask import unmask as _unmask
except ImportError:  # built without a C compiler or Python's headers: setup.py
    _unmask = _unmask_py


def _utf8(text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise LocalProtocolError(f"text is not encodable as UTF-8: {exc.reason}") from None


_TEXT_HEADS = tuple(bytes((0x80 | TEXT, n)) for n in range(127))
"""The first two bytes of a server's whole unmasked text frame, by its 7-bit length (5.2)."""
_BINARY_HEADS = tuple(bytes((0x80 | BINARY, n)) for n in range(127))
_header = struct.Struct("!BB")
_header16 = struct.Struct("!BBH")
_header64 = struct.Struct("!BBQ")


class Connection:
    """One WebSocket connection's framing, for either role.

    ``deflate`` is the permessage-deflate agreement from the handshake, or ``None``.
    ``max_frame_size`` caps one frame's payload as received (compressed, if it is) and
    ``max_message_size`` a whole message as delivered (decompressed); beyond either, a
    :class:`ProtocolError` with code 1009 (section 7.4.1), raised as soon as the frame
    header announces it, before its payload is buffered. With ``fragments=True`` data
    frames come out as they arrive (``final`` marks the last); otherwise whole messages.
    """

    __slots__ = (
        "_buf",
        "_chunks",
        "_client",
        "_compressor",
        "_decompressor",
        "_fragments",
        "_head",
        "_mask_bit",
        "_max_frame",
        "_max_message",
        "_more",
        "_more_len",
        "_more_pos",
        "_msg_compressed",
        "_msg_opcode",
        "_msg_size",
        "_plain",
        "_pos",
        "_quick",
        "_send_compressed",
        "_send_opcode",
        "_small",
        "_texts",
        "_utf8",
        "_want",
        "close_received",
        "ready",
        "role",
        "state",
    )

    def __init__(
        self,
        role: Role,
        *,
        deflate: DeflateParams | None = None,
        deflate_options: DeflateOptions | None = None,
        max_frame_size: int = 1 << 20,
        max_message_size: int = 1 << 20,
        fragments: bool = False,
    ) -> None:
        self.role = role
        self._client = role is Role.CLIENT
        self._max_frame = max_frame_size
        self._max_message = max_message_size
        self._small = min(125, max_frame_size, max_message_size)  # the fast path's limit
        self._fragments = fragments
        self.state = _OPEN
        self.close_received: Close | None = None
        """The peer's Close frame, once it came."""
        self._buf = b""  # what arrived and is not parsed yet starts at _pos
        self._pos = 0
        self._more: list[bytes] = []  # arrived after _buf, joined once _want bytes are in
        self._more_len = 0  # bytes in _more past _more_pos
        self._more_pos = 0  # where the unparsed bytes of _more[0] start
        self._want = 0  # bytes from _pos the frame at _pos needs, when it was incomplete
        self._mask_bit = 0 if self._client else 0x80  # what a peer's frame has in its MASK bit
        self._head = 2 if self._client else 6  # a peer's small frame: its header and key
        self.ready: list[str | bytes] = []
        """Whole messages parsed ahead (a burst of small frames), the next one last:
        :meth:`next_message` pops them first; a driver may pop them itself. One list for
        the connection's life."""
        self._msg_opcode = 0  # TEXT or BINARY while a message is being received
        self._msg_size = 0
        self._msg_compressed = False
        self._texts: list[str] = []
        self._chunks: list[bytes] = []
        self._utf8 = codecs.getincrementaldecoder("utf-8")()
        self._send_opcode = 0  # TEXT or BINARY while a fragmented message is being sent
        self._send_compressed = False
        self._compressor: Compressor | None = None
        self._decompressor: Decompressor | None = None
        self._plain = deflate is None and not self._client  # frames need no mask, no deflate
        self._quick = self._plain
        """Whether send_message may build a frame as head + payload: frames of ours need no
        mask and no deflate, no fragmented message is being sent, and the state allows
        data (kept current where those change, so a message checks one attribute)."""
        if deflate is not None:
            tuning = deflate_options or DeflateOptions()
            if self._client:
                ours = (deflate.client_max_window_bits, deflate.client_no_context_takeover)
                theirs = deflate.server_no_context_takeover
            else:
                ours = (deflate.server_max_window_bits, deflate.server_no_context_takeover)
                theirs = deflate.client_no_context_takeover
            self._compressor = Compressor(ours[0], ours[1], tuning.level, tuning.mem_level)
            self._decompressor = Decompressor(theirs)

    @property
    def max_frame_size(self) -> int:
        """The largest frame payload accepted (as received: compressed, if it is)."""
        return self._max_frame

    @max_frame_size.setter
    def max_frame_size(self, value: int) -> None:
        self._max_frame = value
        self._small = min(125, value, self._max_message)

    @property
    def max_message_size(self) -> int:
        """The largest message accepted (as delivered: decompressed)."""
        return self._max_message

    @max_message_size.setter
    def max_message_size(self, value: int) -> None:
        self._max_message = value
        self._small = min(125, self._max_frame, value)

    # -- receiving ---------------------------------------------------------------------

    def receive_data(self, data: bytes | bytearray | memoryview) -> None:
        """Append bytes read from the transport.

        Nothing is copied while a frame is incomplete: the chunks are kept, and once the
        frame's last byte is in, only that frame's bytes are joined (a 64 KiB frame read in
        pieces costs one 64 KiB join, not a copy of everything read after it); frames that
        follow it are parsed in place in the chunk they arrived in.
        """
        if data.__class__ is not bytes:
            data = bytes(data)
        if self._more or self._pos < len(self._buf):
            self._more.append(data)
            self._more_len += len(data)
        else:
            self._buf = data
            self._pos = 0
            self._want = 0

    @property
    def receiving(self) -> bool:
        """True while a frame or a fragmented message has begun but not ended."""
        return self._msg_opcode != 0 or len(self._buf) > self._pos or self._more_len > 0

    def _join(self) -> bytes:
        """Make ``_want`` bytes from ``_pos`` contiguous; the caller checked they arrived.

        When ``_buf`` is used up, parsing moves on into the next chunk, where it stands,
        without a copy. Otherwise the frame's bytes (the rest of ``_buf`` and the head of
        the chunks, up to ``_want``) are joined, and the rest of the last chunk used stays
        queued with an offset (``_more_pos``): what follows the frame is not copied.
        """
        more = self._more
        tail = len(self._buf) - self._pos
        if not tail:
            chunk = more.pop(0)
            self._more_len -= len(chunk) - self._more_pos
            self._buf = chunk
            self._pos = self._more_pos
            self._more_pos = 0
            return chunk
        need = self._want - tail
        parts: list[bytes | memoryview] = [memoryview(self._buf)[self._pos :]]
        start = self._more_pos
        while need > 0:
            chunk = more[0]
            left = len(chunk) - start
            if left <= need:
                parts.append(memoryview(chunk)[start:] if start else chunk)
                more.pop(0)
                need -= left
                self._more_len -= left
                start = 0
            else:
                parts.append(memoryview(chunk)[start : start + need])
                self._more_len -= need
                start += need
                need = 0
        self._more_pos = start
        self._buf = buf = b"".join(parts)
        self._pos = 0
        self._want = 0
        return buf

    def next_event(self) -> Event | None:
        """The next event, or ``None`` until more bytes arrive; raises ProtocolError."""
        item = self.next_message()
        cls = item.__class__
        if cls is str:
            return Text(item)  # type: ignore[arg-type]
        if cls is bytes:
            return Bytes(item)  # type: ignore[arg-type]
        return item  # type: ignore[return-value]

    def next_message(self) -> str | bytes | Event | None:
        """:meth:`next_event` without an event object for a whole message.

        A whole text message comes as a ``str``, a whole binary one as ``bytes``; control
        frames come as :class:`Ping`, :class:`Pong` and :class:`Close` events and, with
        ``fragments=True``, the fragments of a message as :class:`Text` and :class:`Bytes`
        events. ``None`` until more bytes arrive; raises ProtocolError.
        """
        ready = self.ready
        if ready:
            return ready.pop()
        while self.close_received is None:
            buf = self._buf
            pos = self._pos
            avail = len(buf) - pos
            if avail < self._want:
                if avail + self._more_len < self._want:
                    return None
                buf = self._join()
                pos = self._pos
                avail = len(buf) - pos
            if avail < 2:
                self._want = 2
                if self._more_len:
                    continue
                return None
            b0 = buf[pos]
            b1 = buf[pos + 1]
            # The common frame: a whole text or binary message under 126 bytes and within
            # the limits, as RFC 6455 5.2 allows it here (FIN, no RSV bit, the MASK bit set
            # by a client only): b1 is the MASK bit expected plus a length up to _small.
            length = b1 - self._mask_bit
            if 0 <= length <= self._small and (b0 == 0x81 or b0 == 0x82) and not self._msg_opcode:
                end = pos + self._head + length
                if end <= avail + pos:
                    return self._whole_frames(buf, pos, b0, length, end)
                self._want = end - pos
                if self._more_len:
                    continue
                return None
            length = b1 & 0x7F
            head = 2
            if length == 126:
                if avail < 4:
                    self._want = 4
                    if self._more_len:
                        continue
                    return None
                length = (buf[pos + 2] << 8) | buf[pos + 3]
                head = 4
                if length < 126:
                    raise ProtocolError(1002, "frame length not minimally encoded (RFC 6455 5.2)")
            elif length == 127:
                if avail < 10:
                    self._want = 10
                    if self._more_len:
                        continue
                    return None
                length = int.from_bytes(buf[pos + 2 : pos + 10], "big")
                head = 10
                if length >> 63:
                    raise ProtocolError(1002, "64-bit frame length has its top bit set (5.2)")
                if length < 65536:
                    raise ProtocolError(1002, "frame length not minimally encoded (RFC 6455 5.2)")
            opcode = b0 & 0x0F
            self._check_header(b0, b1, opcode, length)
            masked = b1 & 0x80
            start = pos + head + (4 if masked else 0)
            end = start + length
            if len(buf) < end:
                self._want = end - pos
                if self._more_len:
                    continue
                return None
            payload = _unmask(buf[start - 4 : start], buf, start, end) if masked else buf[start:end]
            self._pos = end
            item = self._frame(b0, opcode, payload)
            if item is not None:
                return item
        return None

    def _whole_frames(self, buf: bytes, pos: int, b0: int, length: int, end: int) -> str | bytes:
        """The message of the small whole frame at ``pos`` (checked by next_message), and
        those of the small whole frames that follow it in ``buf``, parsed in the same pass
        into :attr:`ready` (reversed: next_message pops them in order).

        The common frame: a whole text or binary message under 126 bytes and within the
        limits, as RFC 6455 5.2 allows it here (FIN, no RSV bit, the MASK bit set by a
        client only): b1 is the MASK bit expected plus a length up to ``_small``. A peer
        that sends many at once (a burst, or pipelined requests) has them parsed in one
        loop, without a call and the checks of next_message's other paths per frame. The
        pass stops at the first frame of any other kind, an incomplete one, or text that
        is not UTF-8 (left where it is: next_message meets it in turn and raises there).
        """
        mask_bit = self._mask_bit
        small = self._small
        head = self._head
        n = len(buf)
        out: list[str | bytes] = []
        while True:
            if mask_bit:
                # Key and payload read as one little-endian integer: the key is its low 32
                # bits, the payload the rest (section 5.3's XOR in one go).
                value = _from_bytes(buf[pos + 2 : end], "little")
                payload = ((value >> 32) ^ ((value & 0xFFFFFFFF) * _SMALL_ONES[length])).to_bytes(
                    _SMALL_ROUND[length], "little"
                )
                if length & 3:
                    payload = payload[:length]
            else:
                payload = buf[pos + 2 : end]
            if b0 == 0x81:
                try:
                    out.append(payload.decode("utf-8"))
                except UnicodeDecodeError as exc:
                    if out:
                        break
                    self._pos = end
                    raise ProtocolError(1007, f"text message is not UTF-8: {exc.reason}") from None
            else:
                out.append(payload)
            pos = end
            if pos + 2 > n:
                break
            b0 = buf[pos]
            length = buf[pos + 1] - mask_bit
            if not 0 <= length <= small or (b0 != 0x81 and b0 != 0x82):
                break
            end = pos + head + length
            if end > n:
                break
        self._pos = pos
        if len(out) > 1:
            self.ready += out[:0:-1]
        return out[0]

    def _check_header(self, b0: int, b1: int, opcode: int, length: int) -> None:
        if b0 & 0x30:
            raise ProtocolError(1002, "RSV2 or RSV3 set without an extension (RFC 6455 5.2)")
        if opcode not in _OPCODES:
            raise ProtocolError(1002, f"reserved opcode {opcode:#x} (RFC 6455 5.2)")
        if opcode >= CLOSE:
            if not b0 & 0x80:
                raise ProtocolError(1002, "fragmented control frame (RFC 6455 5.5)")
            if length > 125:
                raise ProtocolError(1002, "control frame payload over 125 bytes (RFC 6455 5.5)")
            if b0 & 0x40:
                raise ProtocolError(1002, "RSV1 set on a control frame (RFC 7692 6.1)")
        else:
            if opcode == CONTINUATION:
                if not self._msg_opcode:
                    raise ProtocolError(1002, "continuation frame without a message (5.4)")
                if b0 & 0x40:
                    raise ProtocolError(1002, "RSV1 set on a continuation frame (RFC 7692 6.1)")
            else:
                if self._msg_opcode:
                    raise ProtocolError(1002, "new message inside a fragmented one (5.4)")
                if b0 & 0x40 and self._decompressor is None:
                    raise ProtocolError(1002, "RSV1 set without permessage-deflate (5.2)")
            if length > self._max_frame:
                raise ProtocolError(1009, f"frame of {length} bytes exceeds the limit")
            compressed = (b0 & 0x40) if opcode else self._msg_compressed
            so_far = self._msg_size if opcode == CONTINUATION else 0
            if not compressed and so_far + length > self._max_message:
                raise ProtocolError(1009, f"message exceeds the limit of {self._max_message} bytes")
        if bool(b1 & 0x80) is self._client:
            if self._client:
                raise ProtocolError(1002, "server frame is masked (RFC 6455 5.1)")
            raise ProtocolError(1002, "client frame is not masked (RFC 6455 5.1)")

    def _frame(self, b0: int, opcode: int, payload: bytes) -> str | bytes | Event | None:
        if opcode == PING:
            return Ping(payload)
        if opcode == PONG:
            return Pong(payload)
        if opcode == CLOSE:
            return self._close_frame(payload)
        final = bool(b0 & 0x80)
        if opcode:
            self._msg_opcode = opcode
            self._msg_compressed = bool(b0 & 0x40)
            self._msg_size = 0
        if self._msg_compressed:
            assert self._decompressor is not None
            try:
                payload = self._decompressor.inflate(
                    payload, final, self._max_message - self._msg_size
                )
            except MessageTooBig:
                raise ProtocolError(
                    1009, f"message inflates past the limit of {self._max_message} bytes"
                ) from None
            except InvalidCompressedData as exc:
                raise ProtocolError(1007, f"invalid compressed data: {exc}") from None
        self._msg_size += len(payload)
        kind = self._msg_opcode
        if final:
            self._msg_opcode = 0
        if kind == TEXT:
            if opcode and final:  # a message in one frame: no state to carry over
                try:
                    return payload.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise ProtocolError(1007, f"text message is not UTF-8: {exc.reason}") from None
            try:
                text = self._utf8.decode(payload, final)
            except UnicodeDecodeError as exc:
                self._utf8.reset()
                raise ProtocolError(1007, f"text message is not UTF-8: {exc.reason}") from None
            if self._fragments:
                return Text(text, final)
            texts = self._texts
            if final:
                if texts:
                    texts.append(text)
                    self._texts = []
                    return "".join(texts)
                return text
            texts.append(text)
            return None
        if self._fragments:
            return Bytes(payload, final) if opcode == 0 or not final else payload
        chunks = self._chunks
        if final:
            if chunks:
                chunks.append(payload)
                self._chunks = []
                return b"".join(chunks)
            return payload
        chunks.append(payload)
        return None

    def _close_frame(self, payload: bytes) -> Close:
        if not payload:
            event = Close(NO_STATUS, "")
        else:
            if len(payload) == 1:
                raise ProtocolError(1002, "Close frame body of one byte (RFC 6455 5.5.1)")
            code = (payload[0] << 8) | payload[1]
            if not close_code_on_wire(code):
                raise ProtocolError(1002, f"close code {code} may not be sent (RFC 6455 7.4)")
            try:
                reason = payload[2:].decode("utf-8")
            except UnicodeDecodeError:
                raise ProtocolError(1007, "close reason is not UTF-8 (RFC 6455 5.5.1)") from None
            event = Close(code, reason)
        self.close_received = event
        self.state = _CLOSED if self.state is _LOCAL_CLOSING else _REMOTE_CLOSING
        if self.state is _CLOSED:
            self._quick = False
        return event

    # -- sending -----------------------------------------------------------------------

    def send(self, event: Event) -> bytes:
        """The bytes that carry ``event`` to the peer; raises LocalProtocolError."""
        cls = event.__class__
        if cls is Text:
            return self._send_data(TEXT, _utf8(event.data), event.final)  # type: ignore[union-attr,arg-type]
        if cls is Bytes:
            return self._send_data(BINARY, bytes(event.data), event.final)  # type: ignore[union-attr,arg-type]
        if self.state is _LOCAL_CLOSING or self.state is _CLOSED:
            raise LocalProtocolError("a Close frame was sent already: nothing may follow it")
        if cls is Ping or cls is Pong:
            payload = event.payload  # type: ignore[union-attr]
            if len(payload) > 125:
                raise LocalProtocolError("a control frame carries at most 125 bytes (5.5)")
            return self._encode(0x80 | (PING if cls is Ping else PONG), bytes(payload))
        if cls is Close:
            assert isinstance(event, Close)
            return self._send_close(event)
        raise TypeError(f"cannot send {event!r}")

    def send_message(self, data: str | bytes) -> bytes:
        """The bytes of one whole message: text for a ``str``, binary for ``bytes``.

        ``send(Text(data))`` or ``send(Bytes(data))`` without making the event; the common
        case (a server's uncompressed message, outside a fragmented one) takes one call.
        """
        if data.__class__ is str:
            try:
                payload = data.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise LocalProtocolError(f"text is not encodable as UTF-8: {exc.reason}") from None
            heads = _TEXT_HEADS
        else:
            payload = data if data.__class__ is bytes else bytes(data)  # type: ignore[arg-type]
            heads = _BINARY_HEADS
        if self._quick:
            n = len(payload)
            if n < 126:
                return heads[n] + payload
            if n < 65536:
                return heads[126] + n.to_bytes(2, "big") + payload
        return self._send_data(TEXT if heads is _TEXT_HEADS else BINARY, payload, True)

    def _send_data(self, kind: int, payload: bytes, final: bool) -> bytes:
        if self.state is not _OPEN and self.state is not _REMOTE_CLOSING:
            raise LocalProtocolError("a Close frame was sent already: nothing may follow it")
        if self._send_opcode:
            if kind != self._send_opcode:
                raise LocalProtocolError("a fragmented message must end before another starts")
            opcode = CONTINUATION
            compressed = self._send_compressed
        else:
            opcode = kind
            compressed = self._compressor is not None
            self._send_compressed = compressed
        self._send_opcode = 0 if final else kind
        self._quick = final and self._plain
        if compressed:
            assert self._compressor is not None
            payload = self._compressor.compress(payload, final)
        b0 = (0x80 if final else 0) | (0x40 if compressed and opcode else 0) | opcode
        return self._encode(b0, payload)

    def _send_close(self, event: Close) -> bytes:
        if event.code == NO_STATUS:
            if event.reason:
                raise LocalProtocolError("a reason needs a close code (RFC 6455 5.5.1)")
            payload = b""
        else:
            if not close_code_on_wire(event.code):
                raise LocalProtocolError(f"close code {event.code} may not be sent (7.4)")
            payload = event.code.to_bytes(2, "big") + event.reason.encode("utf-8")
            if len(payload) > 125:
                raise LocalProtocolError("close reason longer than 123 bytes (RFC 6455 5.5)")
        self.state = _CLOSED if self.state is _REMOTE_CLOSING else _LOCAL_CLOSING
        self._quick = False
        return self._encode(0x80 | CLOSE, payload)

    def _encode(self, b0: int, payload: bytes) -> bytes:
        n = len(payload)
        if self._client:
            if n < 126:
                head = _header.pack(b0, 0x80 | n)
            elif n < 65536:
                head = _header16.pack(b0, 0xFE, n)
            else:
                head = _header64.pack(b0, 0xFF, n)
            key = os.urandom(4)
            return head + key + mask(key, payload)
        if n < 126:
            head = _header.pack(b0, n)
        elif n < 65536:
            head = _header16.pack(b0, 126, n)
        else:
            head = _header64.pack(b0, 127, n)
        return head + payload
