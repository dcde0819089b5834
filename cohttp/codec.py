"""A sans-IO HTTP/1.1 codec (RFC 9112, RFC 9110): bytes in, events out, bytes to send.

No IO and no event loop here. A :class:`RequestParser` (what a server runs) or a
:class:`ResponseParser` (what a client runs) is fed bytes with ``feed`` and yields events
from ``next_event``:

* :class:`RequestHead` / :class:`ResponseHead`: the start line and header section, with the
  message framing already decided (``framing``, ``content_length``, ``keep_alive``);
* :class:`Data`: a piece of the body, de-chunked;
* :class:`EndOfMessage`: the end of the body, with any trailer fields (kept apart from the
  header section);
* :data:`NEED_DATA`: feed more bytes; :data:`PEER_CLOSED`: the peer closed cleanly between
  messages.

After :class:`EndOfMessage` the parser starts on the next message, so pipelined requests are
parsed in order. Everything the RFC says a recipient MUST reject raises a
:class:`ProtocolError` subclass whose ``status`` is the response a server should send (400,
413, 414, 431, 501, 505) and whose message names the rule broken. The parser is strict:
obs-fold, whitespace before the colon, bare CR or LF, NUL and other controls in values,
non-digit or conflicting Content-Length, Transfer-Encoding not ending in ``chunked``, a
request carrying both Transfer-Encoding and Content-Length, a missing or repeated Host on
HTTP/1.1, malformed chunk sizes and oversized anything are all errors.

The other direction, events in and bytes out, for both roles: :func:`encode_response`
(a server's) and :func:`encode_request` (a client's) write a head and return a
:class:`BodyWriter` that frames the body's pieces and holds it to a declared length
(:class:`LocalProtocolError` otherwise). Readers and writers decide framing with the same
functions, :func:`response_framing` and :func:`request_framing` (Content-Length, chunked,
close-delimited, HEAD, 1xx/204/304, a 2xx to CONNECT, HTTP/1.0), so what one side writes
the other reads the same way; h11 checks both directions (tests/cohttp/test_h11_differential).
Lower-level encoders (:func:`encode_response_head`, :func:`encode_request_head`,
:func:`encode_chunk`, :data:`LAST_CHUNK`) produce wire bytes from validated
:class:`~cohttp.headers.Headers`.

Hot paths
---------
The tricks that keep the common request cheap all live here, each with the general path
it must agree with:

* The request head is matched by one linear pattern (start line and field block at once);
  the field block is split lazily (``Headers._lazy``) and, when it has none of the framing
  names, only Host is looked at (substring searches) -- the general path is
  ``_parse_fields``.
* A head equal to the previous one on the connection (the same client repeating a request)
  reuses its parsed framing (``RequestParser.next_request``), keyed by the whole field block; its
  request line, when one seen recently (up to 512 bytes, 1024 lines), is taken split from
  a cache instead of being matched again (clients repeat their targets).
* Bare-LF and end-of-head searches resume where the last read stopped, so a head trickling in
  byte by byte is searched once.
* :func:`encode_simple_response` formats the common response (in-memory body, HTTP/1.1,
  not HEAD, no framing fields from the application) in one ``%`` operation, with the
  encoded field block of each recently seen header set cached; it must give the bytes
  :func:`encode_response` gives (tests/cohttp/test_codec checks this).
* :func:`encode_raw_response` does the same for fields given as byte pairs (what an ASGI
  app sends), straight from them: the validated block of each recently seen field tuple
  is cached with the Content-Length it declares, so the ASGI bridge builds no
  :class:`~cohttp.headers.Headers` (tests/cohttp/test_asgi_fast checks the bytes).
* :meth:`RequestParser.take_body` hands over a Content-Length body that is all buffered
  (a small body arrives with its head) in one call: the :class:`Data` events and the
  :class:`EndOfMessage` it stands for, joined (tests/cohttp/test_codec checks this).
* :func:`date_line` and :func:`status_line` are cached (a second, the registry's phrases).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import formatdate
from typing import Any, Final

from uri import _grammar

from .headers import Headers
from .status import reason_phrase

# ---------------------------------------------------------------------------------------
# Limits and errors
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Limits:
    """Size limits a parser enforces; every one fails closed with the matching status.

    ``max_line``: longest request line or status line (414 URI Too Long for a request);
    ``max_head``: largest head, start line included (431);
    ``max_headers``: most header (or trailer) fields (431);
    ``max_body``: largest body, Content-Length or de-chunked (413); ``None`` = unlimited;
    ``max_chunk_line``: longest chunk-size line, extensions included (400).
    """

    max_line: int = 8192
    max_head: int = 65536
    max_headers: int = 100
    max_body: int | None = 16 * 1024 * 1024
    max_chunk_line: int = 4096

    def __post_init__(self) -> None:
        for name in ("max_line", "max_head", "max_headers", "max_chunk_line"):
            if getattr(self, name) <= 0:
                raise ValueError(f"Limits.{name} must be positive")
        if self.max_body is not None and self.max_body < 0:
            raise ValueError("Limits.max_body must be >= 0 or None")


class ProtocolError(Exception):
    """The peer broke HTTP/1.1; ``status`` is the status code a server answers with.

    After a ProtocolError the connection cannot be trusted: send the error response (if
    you are a server) and close it.
    """

    status: int = 400

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status

    @property
    def message(self) -> str:
        """The human-readable description of the broken rule."""
        return str(self.args[0]) if self.args else ""


class BadRequest(ProtocolError):
    """Malformed syntax or framing (400)."""

    status = 400


class IncompleteMessage(BadRequest):
    """The peer closed the connection in the middle of a message."""


class URITooLong(ProtocolError):
    """The request line is longer than ``Limits.max_line`` (414)."""

    status = 414


class HeaderFieldsTooLarge(ProtocolError):
    """The head is larger than ``Limits.max_head`` or has too many fields (431)."""

    status = 431


class ContentTooLarge(ProtocolError):
    """The body is (or announces it will be) larger than ``Limits.max_body`` (413)."""

    status = 413


class UnsupportedTransferCoding(ProtocolError):
    """A transfer coding other than ``chunked`` that this codec does not implement (501)."""

    status = 501


class UnsupportedVersion(ProtocolError):
    """An HTTP major version other than 1 (505)."""

    status = 505


# ---------------------------------------------------------------------------------------
# Events
# ---------------------------------------------------------------------------------------

NO_BODY: Final = 0
"""Framing: the message has no body."""
LENGTH: Final = 1
"""Framing: the body is ``content_length`` bytes."""
CHUNKED: Final = 2
"""Framing: the body uses the chunked transfer coding."""
UNTIL_CLOSE: Final = 3
"""Framing: the body runs until the connection closes (responses only)."""

HTTP_1_1: Final = "HTTP/1.1"
HTTP_1_0: Final = "HTTP/1.0"


class _Sentinel:
    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


NEED_DATA: Final = _Sentinel("NEED_DATA")
"""``next_event`` needs more bytes before it can produce the next event."""
PEER_CLOSED: Final = _Sentinel("PEER_CLOSED")
"""The peer closed the connection cleanly between two messages."""


@dataclass(slots=True)
class RequestHead:
    """A parsed request line and header section, with the framing of the body decided.

    ``version`` is ``"HTTP/1.1"`` or ``"HTTP/1.0"`` (a higher 1.x minor is treated as 1.1).
    ``keep_alive`` is what the request allows; ``expect_continue`` is true when an HTTP/1.1
    client sent ``Expect: 100-continue``.
    """

    method: str
    target: str
    version: str
    headers: Headers
    framing: int
    content_length: int | None
    keep_alive: bool
    expect_continue: bool
    expect: str | None = None
    """The raw Expect field value, if the request had one."""
    upgrade: str | None = None
    """The Upgrade field value when ``Connection`` lists ``upgrade`` (RFC 9110 7.8): the
    client asks to switch protocols. A server that agrees answers 101 and takes the
    connection over (with :meth:`RequestParser.take_buffered`); one that does not answers
    the request as plain HTTP. A CONNECT request (``method``) asks for a tunnel the same
    way (RFC 9110 9.3.6)."""


@dataclass(slots=True)
class ResponseHead:
    """A parsed status line and header section, with the framing of the body decided."""

    status: int
    reason: str
    version: str
    headers: Headers
    framing: int
    content_length: int | None
    keep_alive: bool


@dataclass(slots=True)
class Data:
    """A piece of a message body (already de-chunked)."""

    data: bytes


@dataclass(slots=True)
class EndOfMessage:
    """The end of a message body; ``trailers`` holds the chunked trailer section, if any."""

    trailers: Headers


Event = RequestHead | ResponseHead | Data | EndOfMessage | _Sentinel

# ---------------------------------------------------------------------------------------
# Grammar
# ---------------------------------------------------------------------------------------

# Every pattern here is linear in its input, also when it fails: each position can be
# matched in one way only (possessive repeats, the "unrolled loop" of uri._grammar for
# percent-encoded runs). tests/test_linear_patterns.py checks every compiled pattern.
_TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]++"
_FIELD_VALUE = r"[\t\x20-\x7e\x80-\xff]*+"
_FIELD_LINES = rf"((?:{_TOKEN}:{_FIELD_VALUE}\r\n)*+)"
_REQUEST_HEAD = re.compile(
    rf"({_TOKEN}) ([^\x00-\x20\x7f-\xff]++) HTTP/([0-9])\.([0-9])\r\n{_FIELD_LINES}"
).fullmatch
_RESPONSE_HEAD = re.compile(
    rf"HTTP/([0-9])\.([0-9]) ([0-9]{{3}})(?: ({_FIELD_VALUE}))?\r\n{_FIELD_LINES}"
).fullmatch
_FIELD_BLOCK = re.compile(_FIELD_LINES).fullmatch

# RFC 9112 3.2.1 origin-form = absolute-path [ "?" query ] (RFC 3986 grammar)
_ORIGIN = rf"/{_grammar.PATH}(?:\?{_grammar.QUERY})?"
_ORIGIN_FORM = re.compile(_ORIGIN).fullmatch
_ORIGIN_REQUEST_LINE = re.compile(rf"({_TOKEN}) ({_ORIGIN}) HTTP/1\.([0-9])").fullmatch
# RFC 9112 3.2.2 absolute-form: scheme "://" and then URI characters; the authority is
# taken apart by uri.Uri where it is used (routing).
_ABSOLUTE_FORM = re.compile(
    r"[A-Za-z][A-Za-z0-9+.\-]*+://" + _grammar.run(_grammar.QUERY_CLS + r"\[\]")
).fullmatch
_HOST = rf"(?:\[[0-9A-Fa-f:.]++\]|{_grammar.REG_NAME})"
_HOST_VALUE = re.compile(rf"{_HOST}(?::[0-9]*+)?").fullmatch
_SIMPLE_HOST = re.compile(r"[A-Za-z0-9.\-]*+(?::[0-9]*+)?").fullmatch
_AUTHORITY_FORM = re.compile(rf"{_HOST}:[0-9]++").fullmatch
_CHUNK_EXT = re.compile(
    rb"(?:[ \t]*+;[ \t]*+[!#$%&'*+\-.^_`|~0-9A-Za-z]++"
    rb"(?:[ \t]*+=[ \t]*+(?:[!#$%&'*+\-.^_`|~0-9A-Za-z]++"
    rb"|\"(?:[\t\x20\x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t\x20-\x7e\x80-\xff])*+\"))?+)*+"
    rb"[ \t]*+"
).fullmatch
_HEX = re.compile(rb"[0-9A-Fa-f]++").match
_TOKEN_OK = re.compile(_TOKEN).fullmatch


def is_token(text: str) -> bool:
    """Whether ``text`` is a token (RFC 9110 §5.6.2): a method, a field name, a coding."""
    return _TOKEN_OK(text) is not None


_TARGET_CHARS = re.compile(r"[^\x00-\x20\x7f-\xff]++").fullmatch
_VERSION = re.compile(r"HTTP/[0-9]\.[0-9]").fullmatch
_STATUS_LINE = re.compile(rf"HTTP/[0-9]\.[0-9] [0-9]{{3}}(?: {_FIELD_VALUE})?").fullmatch
_VALUE_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]").search
_REASON = re.compile(_FIELD_VALUE).fullmatch
_VISIBLE_ASCII = re.compile(r"[\x21-\x7e]++").fullmatch

_DAY = r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
_MONTH = r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_TIME = r"([0-9]{2}):([0-9]{2}):([0-9]{2})"
# RFC 9110 5.6.7: IMF-fixdate, and the two obsolete forms a recipient must also accept
_IMF_FIXDATE = re.compile(rf"{_DAY}, ([0-9]{{2}}) {_MONTH} ([0-9]{{4}}) {_TIME} GMT").fullmatch
_RFC850_DATE = re.compile(
    rf"(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day, ([0-9]{{2}})-{_MONTH}-([0-9]{{2}}) {_TIME} GMT"
).fullmatch
_ASCTIME_DATE = re.compile(rf"{_DAY} {_MONTH} ([0-9 ][0-9]) {_TIME} ([0-9]{{4}})").fullmatch
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DIGITS = re.compile(r"[0-9]++").fullmatch  # ASCII only: str.isdigit() also takes "²"
_HEXDIGITS = re.compile(r"[0-9A-Fa-f]++").fullmatch


def parse_number(text: str | bytes, max_digits: int = 18, *, base: int = 10) -> int | None:
    """``text`` as a non-negative integer, or None unless it is 1 to ``max_digits`` digits.

    The one number parser for anything a peer (or a file) wrote: HTTP numbers are
    ``1*DIGIT`` (RFC 9110 5.6.1 via RFC 5234 B.1: ASCII "0"-"9" only) or ``1*HEXDIG`` for
    chunk sizes (``base=16``, RFC 9112 7.1). Unicode digits, signs, spaces, underscores and
    more than ``max_digits`` characters are all refused, so ``int()`` never sees them.

    >>> parse_number("42"), parse_number("\u00b2"), parse_number("9" * 5000), parse_number("ff", base=16)
    (42, None, None, 255)
    """
    if len(text) > max_digits:
        return None
    if isinstance(text, bytes):
        text = text.decode("latin-1")
    if (_HEXDIGITS if base == 16 else _DIGITS)(text) is None:
        return None
    return int(text, base)


_FRAMING_FIELDS = frozenset(
    ("content-length", "transfer-encoding", "host", "connection", "expect", "upgrade")
)


def _diagnose_fields(lines: list[str], what: str) -> ProtocolError:
    """Name the rule a header (or trailer) section that failed the fast check breaks."""
    for line in lines:
        if line[:1] in (" ", "\t"):
            return BadRequest(f"obs-fold (a {what} line starting with whitespace) is not allowed")
        name, colon, value = line.partition(":")
        if not colon:
            return BadRequest(f"{what} line without a colon: {line[:60]!r}")
        if not name:
            return BadRequest(f"empty {what} field name")
        if name != name.rstrip(" \t"):
            return BadRequest(f"whitespace between {what} field name {name.strip()!r} and colon")
        if _TOKEN_OK(name) is None:
            return BadRequest(f"invalid {what} field name {name[:60]!r}")
        if "\x00" in value:
            return BadRequest(f"NUL in the value of {what} field {name!r}")
        if "\r" in value:
            return BadRequest(f"bare CR in the value of {what} field {name!r}")
        if "\n" in value:
            return BadRequest(f"bare LF in the value of {what} field {name!r}")
        if _VALUE_CONTROL(value):
            return BadRequest(f"control character in the value of {what} field {name!r}")
    return BadRequest(f"malformed {what} section")


def _split_lines(text: str) -> list[str]:
    lines = text.split("\r\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _diagnose_head(text: str, request: bool) -> ProtocolError:
    """Name the rule a head that failed the fast whole-head match breaks."""
    lines = _split_lines(text)
    start = lines[0] if lines else ""
    if "\n" in start:
        return BadRequest("bare LF in the start line (lines must end in CRLF)")
    if "\r" in start:
        return BadRequest("bare CR in the start line")
    if request:
        parts = start.split(" ")
        if len(parts) != 3 or not all(parts):
            return BadRequest(
                f"malformed request line {start[:80]!r}: want METHOD SP target SP HTTP/x.y"
            )
        method, target, version = parts
        if _TOKEN_OK(method) is None:
            return BadRequest(f"invalid method {method[:40]!r}")
        if _TARGET_CHARS(target) is None:
            return BadRequest("request target contains a control, space or non-ASCII octet")
        if _VERSION(version) is None:
            return BadRequest(f"invalid HTTP version {version[:20]!r}")
    elif _STATUS_LINE(start) is None:
        return BadRequest(f"malformed status line {start[:80]!r}")
    return _diagnose_fields(lines[1:], "header")


def _parse_fields(
    block: str, limits: Limits, specials: list[tuple[str, str]] | None
) -> list[tuple[str, str, str]]:
    """Split a validated field block into ``(lower, name, value)``; collect framing fields."""
    items: list[tuple[str, str, str]] = []
    if not block:
        return items
    lines = block.split("\r\n")
    lines.pop()
    if len(lines) > limits.max_headers:
        raise HeaderFieldsTooLarge(
            f"{len(lines)} header fields, more than the limit of {limits.max_headers}"
        )
    append = items.append
    for line in lines:
        name, _, value = line.partition(":")
        value = value.strip(" \t")
        lname = name.lower()
        append((lname, name, value))
        if specials is not None and lname in _FRAMING_FIELDS:
            specials.append((lname, value))
    return items


def _content_length(values: list[str], limits: Limits) -> int:
    if len(values) > 1:
        raise BadRequest(f"{len(values)} Content-Length fields (only one is allowed)")
    value = values[0]
    length = parse_number(value)
    if length is None:
        if _DIGITS(value):
            raise ContentTooLarge(f"Content-Length {value[:30]}... is too large")
        raise BadRequest(f"Content-Length must be ASCII digits only, got {value[:40]!r}")
    if limits.max_body is not None and length > limits.max_body:
        raise ContentTooLarge(
            f"Content-Length {length} exceeds the body limit of {limits.max_body} bytes"
        )
    return length


def _transfer_codings(values: list[str]) -> list[str]:
    codings: list[str] = []
    for value in values:
        for element in value.split(","):
            element = element.strip(" \t")
            if not element:
                continue
            coding = element.split(";", 1)[0].strip(" \t").lower()
            if _TOKEN_OK(coding) is None:
                raise BadRequest(f"invalid transfer coding {element[:40]!r}")
            codings.append(coding)
    if not codings:
        raise BadRequest("empty Transfer-Encoding field")
    return codings


def _check_chunked_final(codings: list[str]) -> None:
    """Raise unless ``codings`` is exactly ``chunked`` (what this codec can decode)."""
    if codings[-1] != "chunked":
        raise BadRequest(f"Transfer-Encoding must end in chunked, got {', '.join(codings)!r}")
    if codings.count("chunked") > 1:
        raise BadRequest("chunked applied more than once in Transfer-Encoding")
    if len(codings) > 1:
        raise UnsupportedTransferCoding(
            f"transfer coding {codings[0]!r} is not implemented (only chunked is)"
        )


def _version(major: str, minor: str) -> str:
    if major != "1":
        raise UnsupportedVersion(f"HTTP/{major}.{minor} is not supported (only HTTP/1.x)")
    return HTTP_1_0 if minor == "0" else HTTP_1_1


# ---------------------------------------------------------------------------------------
# Parsers
# ---------------------------------------------------------------------------------------

_HEAD = 0
_BODY_LENGTH = 1
_CHUNK_SIZE = 2
_CHUNK_DATA = 3
_CHUNK_CRLF = 4
_TRAILERS = 5
_BODY_EOF = 6
_END = 7

_NO_TRAILERS = Headers._trusted([])
_EMPTY_END = EndOfMessage(_NO_TRAILERS)  # shared: its trailers are empty and never mutated


class _Parser:
    """Shared buffer and body decoding for both directions."""

    __slots__ = (
        "_body_seen",
        "_buf",
        "_chunk_left",
        "_eof",
        "_left",
        "_limits",
        "_pos",
        "_scan",
        "_state",
    )

    def __init__(self, limits: Limits | None = None) -> None:
        self._limits = limits or Limits()
        # What arrived and is not yet consumed starts at _pos. Usually every read holds
        # whole messages, so the buffer is just the bytes of the last read (no copy); it
        # becomes a bytearray only while a message spans reads.
        self._buf: bytes | bytearray = b""
        self._pos = 0
        self._scan = 0  # where the search for the end of the head resumes
        self._state = _HEAD
        self._left = 0  # Content-Length bytes still to come
        self._chunk_left = 0
        self._body_seen = 0
        self._eof = False

    @property
    def limits(self) -> Limits:
        """The limits in force."""
        return self._limits

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Append bytes received from the peer."""
        if self._eof:
            raise RuntimeError("feed() after feed_eof()")
        buf = self._buf
        pos = self._pos
        if pos >= len(buf):  # all consumed: the new bytes are the buffer
            self._buf = data if data.__class__ is bytes else bytes(data)
            self._pos = self._scan = 0
            return
        if buf.__class__ is bytes:
            grown = bytearray(buf[pos:])
        else:
            assert isinstance(buf, bytearray)
            grown = buf
            if pos:
                del grown[:pos]
        grown += data
        self._buf = grown
        scan = self._scan - pos
        self._scan = scan if scan > 0 else 0
        self._pos = 0

    def feed_eof(self) -> None:
        """Record that the peer finished sending (read returned EOF)."""
        self._eof = True

    @property
    def buffered(self) -> int:
        """Bytes received but not yet turned into events."""
        return len(self._buf) - self._pos

    @property
    def at_message_start(self) -> bool:
        """True between messages: the next event will be a head (or PEER_CLOSED)."""
        return self._state == _HEAD

    def skip_empty_body(self) -> None:
        """After a head whose ``framing`` is NO_BODY, consume its (empty) EndOfMessage.

        Equivalent to one ``next_event()`` call that returns ``EndOfMessage`` with no
        trailers; a shortcut for servers that do not need that event.
        """
        if self._state != _END:
            raise RuntimeError("skip_empty_body() only follows a head without a body")
        self._state = _HEAD

    def take_buffered(self) -> bytes:
        """Remove and return every buffered byte (for a protocol upgrade or tunnel)."""
        data = bytes(self._buf[self._pos :])
        self._buf = b""
        self._pos = 0
        self._scan = 0
        return data

    # -- head ------------------------------------------------------------------------

    def _find_head(self) -> str | None:
        """Return the head text up to and including its last field's CRLF, or None."""
        buf = self._buf
        pos = self._pos
        # RFC 9112 2.2: ignore empty lines received before the start line.
        while buf.startswith(b"\r\n", pos):
            pos += 2
        self._pos = pos
        # Bytes before _scan were searched by earlier calls (it stays 3 bytes behind the
        # end, so a pattern cut by a read is still found): a head trickling in one byte
        # per read costs linear time, not quadratic.
        scan = self._scan if self._scan > pos else pos
        end = buf.find(b"\r\n\r\n", scan)
        limits = self._limits
        if end == -1:
            size = len(buf) - pos
            self._scan = max(pos, len(buf) - 3)
            first = buf.find(b"\r\n", pos, pos + limits.max_line + 2)
            if first == -1 and size > limits.max_line:
                raise self._line_too_long()
            if size > limits.max_head:
                raise HeaderFieldsTooLarge(
                    f"message head exceeds the limit of {limits.max_head} bytes"
                )
            if buf.find(b"\n\n", scan) != -1 or buf.find(b"\n\r\n", scan) != -1:
                raise BadRequest("bare LF in the message head (lines must end in CRLF)")
            if self._eof:
                if size == 0:
                    return None
                raise IncompleteMessage("connection closed in the middle of a message head")
            return None
        if end - pos + 4 > limits.max_head:
            raise HeaderFieldsTooLarge(f"message head exceeds the limit of {limits.max_head} bytes")
        if end - pos > limits.max_line and buf.find(b"\r\n", pos) - pos > limits.max_line:
            raise self._line_too_long()
        text = buf[pos : end + 2].decode("latin-1")
        self._pos = end + 4
        self._scan = self._pos
        return text

    def _line_too_long(self) -> ProtocolError:
        raise NotImplementedError

    # -- body ------------------------------------------------------------------------

    def _start_body(self, framing: int, length: int | None) -> None:
        self._body_seen = 0
        if framing == LENGTH:
            assert length is not None
            self._left = length
            self._state = _BODY_LENGTH if length else _END
        elif framing == CHUNKED:
            self._state = _CHUNK_SIZE
        elif framing == UNTIL_CLOSE:
            self._state = _BODY_EOF
        else:
            self._state = _END

    def next_event(self) -> Event:
        """The next event, :data:`NEED_DATA`, or :data:`PEER_CLOSED`; may raise ProtocolError."""
        if self._state != _HEAD:
            return self._body_event()
        if self._pos == len(self._buf) and not self._eof:
            return NEED_DATA
        text = self._find_head()
        if text is None:
            if self._eof and self.buffered == 0:
                return PEER_CLOSED
            return NEED_DATA
        head = self._parse_head(text)
        self._start_body(head.framing, head.content_length)
        return head

    def _parse_head(self, text: str) -> RequestHead | ResponseHead:
        raise NotImplementedError

    def _body_event(self) -> Event:
        state = self._state
        if state == _END:
            self._state = _HEAD
            return _EMPTY_END
        buf = self._buf
        pos = self._pos
        avail = len(buf) - pos
        if state == _BODY_LENGTH:
            if not avail:
                if self._eof:
                    raise IncompleteMessage(
                        f"connection closed with {self._left} body bytes still expected"
                    )
                return NEED_DATA
            n = min(avail, self._left)
            data = bytes(buf[pos : pos + n])
            self._pos = pos + n
            self._left -= n
            if not self._left:
                self._state = _END
            return Data(data)
        if state == _BODY_EOF:
            if avail:
                data = bytes(buf[pos:])
                self._pos = len(buf)
                self._count_body(len(data))
                return Data(data)
            if self._eof:
                self._state = _HEAD
                return EndOfMessage(_NO_TRAILERS)
            return NEED_DATA
        return self._chunked_event()

    def take_body(self) -> bytes | None:
        """The rest of a Content-Length body and its end in one call, if every byte of it
        is already buffered (the common small request body arrives with its head); None,
        and nothing consumed, otherwise (bytes still to come, chunked, between messages).

        Equivalent to the :class:`Data` events and the :class:`EndOfMessage` (no trailers:
        a length-delimited body has none) that :meth:`next_event` would return, joined.
        """
        state = self._state
        if state == _BODY_LENGTH:
            pos = self._pos
            end = pos + self._left
            buf = self._buf
            if end > len(buf):
                return None
            data = buf[pos:end]  # a slice of bytes is a copy already (and buf[0:len] is buf)
            self._pos = end
            self._left = 0
            self._state = _HEAD
            return data if data.__class__ is bytes else bytes(data)
        if state == _END:
            self._state = _HEAD
            return b""
        return None

    def _count_body(self, n: int) -> None:
        self._body_seen += n
        max_body = self._limits.max_body
        if max_body is not None and self._body_seen > max_body:
            raise ContentTooLarge(f"body exceeds the limit of {max_body} bytes")

    def _chunked_event(self) -> Event:
        buf = self._buf
        while True:
            state = self._state
            pos = self._pos
            if state == _CHUNK_SIZE:
                limit = self._limits.max_chunk_line
                end = buf.find(b"\r\n", pos, pos + limit + 2)
                if end == -1:
                    if len(buf) - pos > limit:
                        raise BadRequest(f"chunk-size line longer than {limit} bytes")
                    if self._eof:
                        raise IncompleteMessage("connection closed inside a chunk-size line")
                    return NEED_DATA
                line = bytes(buf[pos:end])
                m = _HEX(line)
                if m is None:
                    raise BadRequest(f"chunk size must be hexadecimal, got {line[:20]!r}")
                digits = m.group().lstrip(b"0") or b"0"
                size = parse_number(digits, 15, base=16)
                if size is None:
                    raise ContentTooLarge(f"chunk size {m.group()[:24]!r} overflows")
                if _CHUNK_EXT(line, m.end()) is None:
                    if b"\r" in line or b"\n" in line:
                        raise BadRequest("bare CR or LF in a chunk-size line")
                    raise BadRequest(f"malformed chunk extension in {line[:60]!r}")
                self._pos = end + 2
                if size == 0:
                    self._state = _TRAILERS
                    continue
                self._count_body(size)
                self._chunk_left = size
                self._state = _CHUNK_DATA
                continue
            if state == _CHUNK_DATA:
                avail = len(buf) - pos
                if not avail:
                    if self._eof:
                        raise IncompleteMessage("connection closed inside a chunk")
                    return NEED_DATA
                n = min(avail, self._chunk_left)
                data = bytes(buf[pos : pos + n])
                self._pos = pos + n
                self._chunk_left -= n
                if not self._chunk_left:
                    self._state = _CHUNK_CRLF
                return Data(data)
            if state == _CHUNK_CRLF:
                if len(buf) - pos < 2:
                    if self._eof:
                        raise IncompleteMessage("connection closed after chunk data")
                    if len(buf) - pos == 1 and buf[pos] != 0x0D:
                        raise BadRequest("chunk data not followed by CRLF")
                    return NEED_DATA
                if buf[pos] != 0x0D or buf[pos + 1] != 0x0A:
                    raise BadRequest("chunk data not followed by CRLF")
                self._pos = pos + 2
                self._state = _CHUNK_SIZE
                continue
            # _TRAILERS
            if buf.startswith(b"\r\n", pos):
                self._pos = pos + 2
                self._state = _HEAD
                return EndOfMessage(_NO_TRAILERS)
            limits = self._limits
            end = buf.find(b"\r\n\r\n", self._scan if self._scan > pos else pos)
            if end == -1:
                self._scan = max(pos, len(buf) - 3)  # searched already, as in _find_head
                if len(buf) - pos > limits.max_head:
                    raise HeaderFieldsTooLarge(
                        f"trailer section exceeds the limit of {limits.max_head} bytes"
                    )
                if len(buf) - pos >= 2 and buf[pos] == 0x0D and buf[pos + 1] != 0x0A:
                    raise BadRequest("bare CR in the trailer section")
                if self._eof:
                    raise IncompleteMessage("connection closed inside the trailer section")
                return NEED_DATA
            if end + 4 - pos > limits.max_head:
                raise HeaderFieldsTooLarge(
                    f"trailer section exceeds the limit of {limits.max_head} bytes"
                )
            text = buf[pos : end + 2].decode("latin-1")
            if _FIELD_BLOCK(text) is None:
                raise _diagnose_fields(_split_lines(text), "trailer")
            items = _parse_fields(text, limits, None)
            self._pos = self._scan = end + 4
            self._state = _HEAD
            return EndOfMessage(Headers._trusted(items))


_new_object = object.__new__
"""Allocates a slotted object without running ``__init__`` (the parser's hot path sets
every field itself)."""

_REQUEST_LINES: dict[bytes, tuple[str, ...]] = {}
"""Recently seen valid origin-form request lines, split (see "Hot paths")."""


def _split_request_line(line: bytes, keep: bool) -> tuple[str, ...] | None:
    """The method, target and minor version of an origin-form request line, or None; kept
    in ``_REQUEST_LINES`` if ``keep`` and the line is short."""
    m = _ORIGIN_REQUEST_LINE(line.decode("latin-1"))
    if m is None:
        return None
    parts: tuple[str, ...] = m.groups()
    if keep and len(line) <= 512:
        if len(_REQUEST_LINES) >= 1024:
            _REQUEST_LINES.clear()
        _REQUEST_LINES[line] = parts
    return parts


class RequestParser(_Parser):
    """Parse requests (a server's side of a connection).

    >>> p = RequestParser()
    >>> p.feed(b"GET / HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n")
    >>> p.next_event().target, p.next_event()
    ('/', EndOfMessage(trailers=Headers([])))
    """

    __slots__ = ("_memo", "_memo_block", "_memo_tail")

    def __init__(self, limits: Limits | None = None) -> None:
        super().__init__(limits)
        # The header section of the last request and what it decided. A client on a
        # keep-alive connection usually sends the same fields again; then only the new
        # request line needs checking (see next_request).
        self._memo_block = ""
        self._memo_tail: bytes | None = None  # the block's bytes and the empty line
        self._memo: tuple[bool, int, int | None, bool, bool, str | None] = (
            True,
            NO_BODY,
            None,
            True,
            False,
            None,
        )

    def _line_too_long(self) -> ProtocolError:
        return URITooLong(f"request line longer than {self._limits.max_line} bytes")

    def next_request(self) -> Event:
        """:meth:`next_event` for a server that answers a head without a body at once:
        after such a head (``framing`` is NO_BODY) the parser is already at the next
        message (no EndOfMessage event follows; see :meth:`skip_empty_body`)."""
        tail = self._memo_tail
        if tail is not None and self._state == _HEAD:
            # An origin-form request line followed by exactly the header section of the
            # previous request, which was validated then: only the line needs checking.
            # The block holds only non-empty field lines, so the empty line after it is
            # the first CRLF CRLF, and this finds the very head the general path would.
            buf = self._buf
            pos = self._pos
            limits = self._limits
            eol = buf.find(b"\r\n", pos, pos + limits.max_line + 2)
            end = eol + 2 + len(tail)
            if eol > pos and end - pos <= limits.max_head and buf.startswith(tail, eol + 2):
                if buf.__class__ is bytes:
                    line = buf[pos:eol]
                    parts = _REQUEST_LINES.get(line)
                    if parts is None:
                        parts = _split_request_line(line, True)
                else:
                    parts = _split_request_line(bytes(buf[pos:eol]), False)
                if parts is not None:
                    method, target, minor = parts
                    http11, framing, length, keep_alive, expect_continue, expect = self._memo
                    if (minor != "0") is http11 and method != "CONNECT":
                        self._pos = self._scan = end
                        if framing != NO_BODY:
                            self._start_body(framing, length)
                        # RequestHead(...) and Headers._lazy(block), without their calls:
                        # this runs for nearly every request of a keep-alive connection.
                        headers = _new_object(Headers)
                        block = self._memo_block
                        if block:
                            headers._raw = block
                        else:
                            headers._items = []
                        head = _new_object(RequestHead)
                        head.method = method
                        head.target = target
                        head.version = HTTP_1_1 if http11 else HTTP_1_0
                        head.headers = headers
                        head.framing = framing
                        head.content_length = length
                        head.keep_alive = keep_alive
                        head.expect_continue = expect_continue
                        head.expect = expect
                        head.upgrade = None  # a head asking for an upgrade is never memoized
                        return head
        ev = _Parser.next_event(self)
        if ev.__class__ is RequestHead and ev.framing == NO_BODY:
            self._state = _HEAD
        return ev

    def next_event(self) -> Event:
        """The next event, :data:`NEED_DATA`, or :data:`PEER_CLOSED`; may raise ProtocolError."""
        if self._state != _HEAD:
            return self._body_event()
        ev = self.next_request()
        if ev.__class__ is RequestHead and ev.framing == NO_BODY:
            self._state = _END  # its EndOfMessage is the next event
        return ev

    def _parse_head(self, text: str) -> RequestHead:
        m = _REQUEST_HEAD(text)
        if m is None:
            raise _diagnose_head(text, request=True)
        method, target, major, minor, block = m.groups()
        if major != "1":
            raise UnsupportedVersion(f"HTTP/{major}.{minor} is not supported (only HTTP/1.x)")
        http11 = minor != "0"
        if target[0] == "/" and method != "CONNECT":
            if _ORIGIN_FORM(target) is None:
                raise BadRequest(f"invalid request target {target[:80]!r}")
        else:
            _check_other_target(method, target)

        # The header fields. The block already passed the grammar; here only the fields
        # that decide framing are needed, so the common request (no body, no Connection,
        # no Expect) is handled by substring searches and its fields split lazily.
        host: str | None = None
        hosts = 0
        lengths: list[str] | None = None
        codings: list[str] | None = None
        keep_alive = http11
        expect_continue = False
        expect: str | None = None
        upgrade: str | None = None
        upgrade_listed = False
        headers: Headers
        if not block:
            headers = Headers._trusted([])
        else:
            count = block.count("\r\n")
            if count > self._limits.max_headers:
                raise HeaderFieldsTooLarge(
                    f"{count} header fields, more than the limit of {self._limits.max_headers}"
                )
            low = block.lower()
            if (
                "content-length" in low
                or "transfer-encoding" in low
                or "connection" in low
                or "expect" in low
            ):
                specials: list[tuple[str, str]] = []
                items = _parse_fields(block, self._limits, specials)
                headers = Headers._trusted(items)
                for lname, value in specials:
                    if lname == "host":
                        host = value
                        hosts += 1
                    elif lname == "content-length":
                        if lengths is None:
                            lengths = []
                        lengths.append(value)
                    elif lname == "transfer-encoding":
                        if codings is None:
                            codings = []
                        codings.append(value)
                    elif lname == "connection":
                        for token in value.split(","):
                            token = token.strip(" \t").lower()
                            if token == "close":
                                keep_alive = False
                            elif token == "keep-alive" and not http11:
                                keep_alive = True
                            elif token == "upgrade":
                                upgrade_listed = True
                    elif lname == "upgrade":
                        upgrade = value
                    else:  # expect
                        expect = value
                        if http11 and value.lower() == "100-continue":
                            expect_continue = True
            else:
                headers = Headers._lazy(block)
                hosts = low.startswith("host:") + low.count("\r\nhost:")
                if hosts:
                    start = 5 if low.startswith("host:") else low.find("\r\nhost:") + 7
                    host = block[start : block.find("\r\n", start)].strip(" \t")
        if host is not None:
            if hosts > 1:
                raise BadRequest(f"{hosts} Host fields (exactly one is allowed)")
            if _SIMPLE_HOST(host) is None and _HOST_VALUE(host) is None:
                raise BadRequest(f"invalid Host {host[:80]!r}")
        elif http11:
            raise BadRequest("HTTP/1.1 request without a Host field")
        framing = NO_BODY
        length: int | None = None
        if codings is not None:
            if not http11:
                raise BadRequest("Transfer-Encoding in an HTTP/1.0 request")
            if lengths is not None:
                raise BadRequest("request has both Transfer-Encoding and Content-Length")
            _check_chunked_final(_transfer_codings(codings))
            framing = CHUNKED
        elif lengths is not None:
            length = _content_length(lengths, self._limits)
            framing = LENGTH
        else:
            expect_continue = False
        if not upgrade_listed:
            upgrade = None  # an Upgrade field without Connection: upgrade asks nothing
        self._memo_block = block
        self._memo_tail = None if upgrade else block.encode("latin-1") + b"\r\n"
        self._memo = (http11, framing, length, keep_alive, expect_continue, expect)
        return RequestHead(
            method,
            target,
            HTTP_1_1 if http11 else HTTP_1_0,
            headers,
            framing,
            length,
            keep_alive,
            expect_continue,
            expect,
            upgrade,
        )


def _check_other_target(method: str, target: str) -> None:
    """Check a request target that is not a plain origin-form one."""
    if method == "CONNECT":
        if _AUTHORITY_FORM(target) is None:
            raise BadRequest(f"CONNECT needs an authority-form target, got {target[:80]!r}")
    elif target == "*":
        if method != "OPTIONS":
            raise BadRequest("asterisk-form request target is only allowed with OPTIONS")
    elif _ABSOLUTE_FORM(target) is None:
        raise BadRequest(f"invalid request target {target[:80]!r}")
    else:
        authority = absolute_form_parts(target)[0]
        if "@" in authority:
            raise BadRequest("userinfo in the request target is refused (RFC 9110 4.2.4)")
        if _HOST_VALUE(authority) is None or authority[:1] in ("", ":"):
            raise BadRequest(f"invalid authority {authority[:80]!r} in the request target")


def absolute_form_parts(target: str) -> tuple[str, str]:
    """Split an absolute-form request target into its authority and the origin-form rest.

    ``"http://a.test:8080/x?y"`` gives ``("a.test:8080", "/x?y")``; an empty path becomes
    ``"/"`` (RFC 9112 3.2.1). A server routes such a request by this authority and
    ignores the Host field (RFC 9112 3.2.2). The target must be absolute-form (it has
    ``"://"``): check :attr:`RequestHead.target` with ``target[:1] != "/"`` first.
    """
    rest = target[target.find("://") + 3 :]
    end = len(rest)
    for sep in "/?":
        i = rest.find(sep, 0, end)
        if i >= 0:
            end = i
    path = rest[end:]
    return rest[:end], path if path[:1] == "/" else "/" + path


_NO_BODY_STATUS = frozenset((204, 304))


# ---------------------------------------------------------------------------------------
# Framing: one decision for readers and writers (RFC 9112 6.1-6.3)
# ---------------------------------------------------------------------------------------


def response_framing(method: str, status: int, length: int | None, chunked: bool) -> int:
    """How a response body is delimited (RFC 9112 6.3), for the parser and the writer alike.

    ``method`` is the request's; ``length`` the Content-Length (None: none); ``chunked``
    whether the final transfer coding is chunked. A response to HEAD, a 1xx, 204 or 304 has
    no body whatever its fields say (rules 1); a 2xx to CONNECT starts a tunnel (rule 2,
    no body: the bytes after it are the tunnel's); chunked beats a length (rule 4); with
    neither the body runs until the connection closes (rule 8).
    """
    if status < 200 or status in _NO_BODY_STATUS or method == "HEAD":
        return NO_BODY
    if method == "CONNECT" and status < 300:
        return NO_BODY
    if chunked:
        return CHUNKED
    if length is not None:
        return LENGTH
    return UNTIL_CLOSE


def request_framing(length: int | None, chunked: bool) -> int:
    """How a request body is delimited (RFC 9112 6.3 rules 4-7): never until close."""
    if chunked:
        return CHUNKED
    if length is not None and length > 0:
        return LENGTH
    return NO_BODY


class LocalProtocolError(ValueError):
    """Our own side tried to send something HTTP forbids (a body longer or shorter than
    the Content-Length it declared, data after the end). A programming error, not the
    peer's: the connection is out of step and must be closed."""


class BodyWriter:
    """Events in, bytes out for one message body, in the framing the head declared.

    :meth:`data` returns the wire bytes of a piece (a chunk, or the bytes as they are);
    :meth:`end` those of the end (the last chunk and trailers). A LENGTH body is held to
    its declared length both ways (:class:`LocalProtocolError`); a NO_BODY writer drops
    the bytes it is given (a response to HEAD); an UNTIL_CLOSE body ends when the caller
    closes the connection (``closes`` is true).
    """

    __slots__ = ("framing", "length", "sent")

    def __init__(self, framing: int, length: int | None = None) -> None:
        if framing == LENGTH and (length is None or length < 0):
            raise ValueError("a LENGTH body needs its length")
        self.framing = framing
        self.length = length
        self.sent = 0

    @property
    def closes(self) -> bool:
        """Whether the body ends only when the connection closes."""
        return self.framing == UNTIL_CLOSE

    def data(self, piece: bytes | bytearray | memoryview) -> bytes:
        """The wire bytes of ``piece``."""
        n = len(piece)
        framing = self.framing
        if framing == LENGTH:
            assert self.length is not None
            if self.sent + n > self.length:
                raise LocalProtocolError(
                    f"body is longer than its Content-Length {self.length} (RFC 9112 6.2)"
                )
            self.sent += n
            return bytes(piece)
        self.sent += n
        if framing == CHUNKED:
            return b"%x\r\n%s\r\n" % (n, piece) if n else b""
        return b"" if framing == NO_BODY else bytes(piece)

    def end(self, trailers: Headers | None = None) -> bytes:
        """The wire bytes that end the body (nothing but a last chunk needs any)."""
        if self.framing == LENGTH and self.sent != self.length:
            raise LocalProtocolError(
                f"body of {self.sent} bytes is shorter than its Content-Length {self.length}"
            )
        if self.framing == CHUNKED:
            return encode_last_chunk(trailers)
        return b""


_RESPONSE_FRAMING_FIELDS = frozenset(("content-length", "transfer-encoding", "connection", "date"))


def encode_response(
    method: str,
    version: str,
    status: int,
    headers: Headers,
    *,
    length: int | None,
    reason: str | None = None,
    keep_alive: bool = True,
    server_line: bytes = b"",
) -> tuple[bytes, BodyWriter, bool]:
    """The head of a response to a ``method`` request of ``version``, and its body writer.

    ``length`` is the body's size when the server knows it (an in-memory body, a file),
    None for a stream: then a Content-Length from ``headers`` is held to, or the body is
    chunked for HTTP/1.1 and close-delimited for HTTP/1.0 (RFC 9112 6.3, 7.1). Framing
    fields in ``headers`` are the codec's to write: Transfer-Encoding is dropped, a
    ``Connection: close`` turns ``keep_alive`` off, a Date replaces ours. Returns
    ``(head, writer, keep_alive)``; when ``keep_alive`` is false the caller closes the
    connection after the body. The response to HEAD carries the length the GET would.
    """
    declared: int | None = None
    date = date_line()
    lines: list[str] = []
    for lname, name, value in headers._items:
        if lname in _RESPONSE_FRAMING_FIELDS:
            if lname == "content-length":
                declared = parse_number(value)
                if declared is None:
                    raise LocalProtocolError(
                        f"response Content-Length {value!r} is not 1 to 18 digits"
                    )
            elif lname == "connection":
                if "close" in value.lower():
                    keep_alive = False
            elif lname == "date":
                date = b""
                lines.append(f"{name}: {value}\r\n")
            continue
        lines.append(f"{name}: {value}\r\n")
    http10 = version == HTTP_1_0
    if length is None or (method == "HEAD" and declared is not None):
        length = declared  # a HEAD response declares the length a GET would have
    chunked = length is None and not http10
    framing = response_framing(method, status, length, chunked)
    body_length = length
    if method == "HEAD" and status >= 200 and status not in _NO_BODY_STATUS:
        pass  # the GET's Content-Length when known, no body (RFC 9110 9.3.2)
    elif framing != LENGTH:
        body_length = declared if status == 304 else None  # RFC 9110 15.4.5
    if framing == UNTIL_CLOSE:
        keep_alive = False
    if http10 and keep_alive:
        lines.append("connection: keep-alive\r\n")
    elif not keep_alive:
        lines.append("connection: close\r\n")
    if body_length is not None:
        lines.append(f"content-length: {body_length}\r\n")
    elif framing == CHUNKED:
        lines.append("transfer-encoding: chunked\r\n")
    head = b"%s%s%s%s\r\n" % (
        status_line(status, HTTP_1_1, reason),
        date,
        server_line,
        "".join(lines).encode("latin-1"),
    )
    return head, BodyWriter(framing, length if framing == LENGTH else None), keep_alive


_FIELD_BLOCKS: dict[tuple[tuple[str, str, str], ...], bytes | None] = {}
_UNSEEN = b"<unseen>"
_BODY_STATUS_LINES = {
    code: f"HTTP/1.1 {code} {reason_phrase(code)}\r\n".encode("latin-1")
    for code in range(200, 600)
    if code not in _NO_BODY_STATUS
}


def encode_simple_response(
    method: str, version: str, status: int, headers: Headers, body: bytes, server_line: bytes
) -> bytes | None:
    """The whole common response in one formatting operation; None if it is not one.

    Common: an in-memory body answering a persistent HTTP/1.1 non-HEAD request, a status
    with a body and no framing fields in ``headers``; :func:`encode_response` does the
    rest, with the same bytes. See "Hot paths" in the module documentation.
    """
    line = _BODY_STATUS_LINES.get(status)
    if line is None or version != HTTP_1_1 or method == "HEAD":
        return None
    key = tuple(headers._items)
    block = _FIELD_BLOCKS.get(key, _UNSEEN)
    if block is _UNSEEN:
        if any(item[0] in _RESPONSE_FRAMING_FIELDS for item in key):
            block = None
        else:
            block = "".join([f"{name}: {value}\r\n" for _, name, value in key]).encode("latin-1")
        if len(_FIELD_BLOCKS) >= 4096:
            _FIELD_BLOCKS.clear()
        _FIELD_BLOCKS[key] = block
    if block is None:
        return None
    return _assemble(line, server_line, block, body)


_RAW_BLOCKS: dict[tuple[Any, ...], tuple[bytes, int | None] | None] = {}
_RAW_UNSEEN: tuple[bytes, int | None] = (b"<unseen>", None)


def _raw_block(fields: tuple[Any, ...]) -> tuple[bytes, int | None] | None:
    """The encoded field block of byte-pair ``fields`` and the Content-Length among them;
    None when :func:`encode_raw_response` must leave them to the general path."""
    pairs: list[tuple[str, str]] = []
    declared: int | None = None
    for pair in fields:
        if pair.__class__ is not tuple or len(pair) != 2:
            return None
        name, value = pair
        if name.__class__ is not bytes or value.__class__ is not bytes:
            return None
        text = value.decode("latin-1")
        if name.lower() == b"content-length":
            if declared is not None:
                return None
            declared = parse_number(text)
            if declared is None:
                return None
            continue
        pairs.append((name.decode("latin-1"), text))
    try:
        items = Headers(pairs)._items
    except ValueError:
        return None  # the general path names the bad field
    if any(item[0] in _RESPONSE_FRAMING_FIELDS for item in items):
        return None
    return "".join([f"{name}: {value}\r\n" for _, name, value in items]).encode("latin-1"), declared


_LENGTH_LINES: dict[int, bytes] = {}
"""``content-length: N`` lines and the empty line, for the body sizes seen (bounded)."""


def _assemble(line: bytes, server_line: bytes, block: bytes, body: bytes) -> bytes:
    """The common response: status line, Date, Server, ``block``, Content-Length, body."""
    size = len(body)
    tail = _LENGTH_LINES.get(size)
    if tail is None:
        tail = b"content-length: %d\r\n\r\n" % size
        if len(_LENGTH_LINES) >= 1024:
            _LENGTH_LINES.clear()
        _LENGTH_LINES[size] = tail
    now = time.time()
    date = _date_line if _date_from <= now < _date_until else date_line()
    return b"".join((line, date, server_line, block, tail, body))


def encode_raw_response(
    method: str,
    version: str,
    status: int,
    fields: Any,
    body: bytes,
    server_line: bytes,
) -> bytes | None:
    """:func:`encode_simple_response` for ``fields`` given as a sequence of ``(name,
    value)`` byte-string pairs (the ASGI form), without building a :class:`Headers`.

    A Content-Length among the fields must equal ``len(body)``; it is written as
    :func:`encode_response` writes it (last, lowercase). None when the response is not the
    common one or a field is anything but plain valid bytes: the caller converts the
    fields and takes the general path, which gives the same bytes or names the error. The
    validated block of each recently seen field tuple is cached (see "Hot paths").
    """
    line = _BODY_STATUS_LINES.get(status)
    if line is None or version != HTTP_1_1 or method == "HEAD" or body.__class__ is not bytes:
        return None
    try:
        key = tuple(fields)
        hit = _RAW_BLOCKS.get(key, _RAW_UNSEEN)
    except TypeError:  # not iterable, or unhashable items (lists): the general path
        return None
    if hit is _RAW_UNSEEN:
        hit = _raw_block(key)
        if hit is None or len(hit[0]) <= 2048:  # a large block is not kept: bounded memory
            if len(_RAW_BLOCKS) >= 4096:
                _RAW_BLOCKS.clear()
            _RAW_BLOCKS[key] = hit
    if hit is None:
        return None
    block, declared = hit
    if declared is not None and declared != len(body):
        return None
    return _assemble(line, server_line, block, body)


def encode_request(
    method: str, target: str, headers: Headers, *, length: int | None
) -> tuple[bytes, BodyWriter]:
    """The head of a request and its body writer.

    ``length`` is the body's size when known (None: a stream, chunked unless ``headers``
    declare a Content-Length, which is then held to). The caller's headers are written as
    given, with the framing field this function decides added when they lack one.
    """
    declared: int | None = None
    te = headers.get("transfer-encoding")
    cl = headers.get("content-length")
    if cl is not None:
        declared = parse_number(cl)
        if declared is None:
            raise LocalProtocolError(f"request Content-Length {cl!r} is not 1 to 18 digits")
    if te is not None and cl is not None:
        raise LocalProtocolError("a request cannot carry both Transfer-Encoding and Content-Length")
    if length is None:
        length = declared
    elif declared is not None and declared != length:
        raise LocalProtocolError(f"Content-Length {declared} but the body is {length} bytes")
    chunked = te is not None or length is None
    if te is not None and te.lower().replace(" ", "").split(",")[-1] != "chunked":
        raise LocalProtocolError("a request's last transfer coding must be chunked")
    framing = request_framing(length, chunked)
    if framing == CHUNKED and te is None:
        headers = headers.copy()
        headers.set("transfer-encoding", "chunked")
    elif cl is None and length and framing == LENGTH:
        headers = headers.copy()
        headers.set("content-length", str(length))
    return encode_request_head(method, target, headers), BodyWriter(framing, length or 0)


class ResponseParser(_Parser):
    """Parse responses (a client's side of a connection).

    Call :meth:`expect` with the request method before each response (HEAD responses have
    no body). Interim 1xx responses come out as their own :class:`ResponseHead` followed by
    :class:`EndOfMessage`; the final response follows.
    """

    __slots__ = ("_methods",)

    def __init__(self, limits: Limits | None = None) -> None:
        super().__init__(limits)
        self._methods: list[str] = []

    def expect(self, method: str) -> None:
        """Queue the method of a request just sent (responses come back in order)."""
        self._methods.append(method)

    def _line_too_long(self) -> ProtocolError:
        return BadRequest(f"status line longer than {self._limits.max_line} bytes")

    def _parse_head(self, text: str) -> ResponseHead:
        m = _RESPONSE_HEAD(text)
        if m is None:
            raise _diagnose_head(text, request=False)
        major, minor, code, reason, block = m.groups()
        version = _version(major, minor)
        status = parse_number(code, 3) or 0
        if not 100 <= status <= 599:
            raise BadRequest(f"status code {code} is outside 100..599 (RFC 9110 15)")
        specials: list[tuple[str, str]] = []
        items = _parse_fields(block, self._limits, specials)
        headers = Headers._trusted(items)
        method = self._methods[0] if self._methods else "GET"
        if status >= 200 and self._methods:
            self._methods.pop(0)
        keep_alive = version == HTTP_1_1
        lengths: list[str] = []
        codings: list[str] = []
        for name, value in specials:
            if name == "content-length":
                lengths.append(value)
            elif name == "transfer-encoding":
                codings.append(value)
            elif name == "connection":
                for token in value.split(","):
                    token = token.strip(" \t").lower()
                    if token == "close":
                        keep_alive = False
                    elif token == "keep-alive" and version == HTTP_1_0:
                        keep_alive = True
        length: int | None = None
        chunked = False
        if codings and response_framing(method, status, None, True) != NO_BODY:
            parsed = _transfer_codings(codings)
            if version == HTTP_1_0 or parsed[-1] != "chunked":
                codings = []  # RFC 9112 6.3 rule 4: read until the connection closes
            else:
                _check_chunked_final(parsed)
                chunked = True
                if lengths:
                    keep_alive = False  # RFC 9112 6.3: TE overrides CL; do not reuse
        elif lengths and response_framing(method, status, 0, False) == LENGTH:
            length = _content_length(lengths, self._limits)
        framing = response_framing(method, status, length, chunked)
        if framing == UNTIL_CLOSE or (method == "CONNECT" and 200 <= status < 300):
            keep_alive = False  # a tunnel or a close-delimited body ends the connection
        return ResponseHead(status, reason or "", version, headers, framing, length, keep_alive)


# ---------------------------------------------------------------------------------------
# Encoding
# ---------------------------------------------------------------------------------------

_STATUS_LINES: dict[tuple[int, str], bytes] = {}


def status_line(status: int, version: str = HTTP_1_1, reason: str | None = None) -> bytes:
    """``b"HTTP/1.1 200 OK\\r\\n"``; cached for the registry's phrases."""
    if status.__class__ is not int:
        # An IntEnum such as HTTPStatus writes its number, whatever its str() says; and
        # only a plain int is a cache key, since 201.0 and a subclass compare equal to 201.
        if not isinstance(status, int) or isinstance(status, bool):
            raise ValueError(f"status code must be an int, not {status!r}")
        status = int(status)
    if reason is None:
        key = (status, version)
        line = _STATUS_LINES.get(key)
        if line is None:
            if not 100 <= status <= 599:
                raise ValueError(f"status code {status} is outside 100..599")
            if version.__class__ is not str or _VERSION(version) is None:
                raise ValueError(f"HTTP version {version!r} is not HTTP/x.y")
            line = f"{version} {status} {reason_phrase(status)}\r\n".encode("latin-1")
            _STATUS_LINES[key] = line
        return line
    if _REASON(reason) is None:
        raise ValueError(f"reason phrase {reason!r} contains CR, LF or a control character")
    if not 100 <= status <= 599:
        raise ValueError(f"status code {status} is outside 100..599")
    return f"{version} {status} {reason}\r\n".encode("latin-1")


def parse_http_date(text: str) -> float | None:
    """An HTTP-date (RFC 9110 5.6.7) as a POSIX timestamp, or None if it is not one.

    IMF-fixdate (``Sun, 06 Nov 1994 08:49:37 GMT``) and the obsolete rfc850-date and
    asctime-date forms, which recipients must accept; a two-digit year is the one in the
    past 50 years or next 49 (RFC 9110 5.6.7). Anything else, or an impossible date, is
    None: the caller ignores the field.
    """
    text = text.strip(" \t")
    m = _IMF_FIXDATE(text)
    if m is not None:
        day, month, year, hh, mm, ss = m.groups()
    elif (m := _RFC850_DATE(text)) is not None:
        day, month, yy, hh, mm, ss = m.groups()
        now = time.gmtime().tm_year
        full = now - now % 100 + (parse_number(yy, 2) or 0)
        year = str(full - 100 if full > now + 50 else full)
    elif (m := _ASCTIME_DATE(text)) is not None:
        month, day, hh, mm, ss, year = m.groups()
        day = day.replace(" ", "0")
    else:
        return None
    # the patterns let only ASCII digits through; "or 0" just satisfies the types
    y, d, h, mi, s = (parse_number(n, 4) or 0 for n in (year, day, hh, mm, ss))
    try:
        when = datetime(y, _MONTHS.index(month) + 1, d, h, mi, min(s, 59), tzinfo=UTC)
    except ValueError:  # 31 Feb, hour 25, year 0, ...
        return None
    return when.timestamp()


_date_from = 0.0  # the line below holds from this time (a whole second)...
_date_until = -1.0  # ...until this one (the next)
_date_line = b""


def date_line() -> bytes:
    """``b"date: <IMF-fixdate>\\r\\n"`` for now, recomputed at most once a second (and
    when the clock is set back, so the line never stays stuck in the future)."""
    global _date_from, _date_until, _date_line
    now = time.time()
    if not _date_from <= now < _date_until:
        second = int(now)
        _date_line = b"date: " + formatdate(second, usegmt=True).encode("ascii") + b"\r\n"
        _date_from = float(second)
        _date_until = second + 1.0
    return _date_line


def encode_response_head(
    status: int,
    headers: Headers,
    *,
    version: str = HTTP_1_1,
    reason: str | None = None,
) -> bytes:
    """The status line, ``headers`` and the empty line; the caller decides the framing."""
    return status_line(status, version, reason) + headers.encode() + b"\r\n"


def encode_request_head(method: str, target: str, headers: Headers) -> bytes:
    """The request line (HTTP/1.1), ``headers`` and the empty line."""
    if _TOKEN_OK(method) is None:
        raise ValueError(f"invalid method {method!r}")
    if _VISIBLE_ASCII(target) is None:
        raise ValueError(f"request target {target!r} must be non-empty visible ASCII")
    return f"{method} {target} HTTP/1.1\r\n".encode("ascii") + headers.encode() + b"\r\n"


def encode_chunk(data: bytes | bytearray | memoryview) -> bytes:
    """One chunk of the chunked coding (empty data gives b"": use :data:`LAST_CHUNK`)."""
    n = len(data)
    if not n:
        return b""
    return b"%x\r\n%s\r\n" % (n, bytes(data))


LAST_CHUNK: Final = b"0\r\n\r\n"
"""The last chunk with an empty trailer section."""


def encode_last_chunk(trailers: Headers | None = None) -> bytes:
    """The last chunk, with ``trailers`` if any."""
    if not trailers:
        return LAST_CHUNK
    return b"0\r\n" + trailers.encode() + b"\r\n"


__all__ = [
    "CHUNKED",
    "HTTP_1_0",
    "HTTP_1_1",
    "LAST_CHUNK",
    "LENGTH",
    "NEED_DATA",
    "NO_BODY",
    "PEER_CLOSED",
    "UNTIL_CLOSE",
    "BadRequest",
    "BodyWriter",
    "ContentTooLarge",
    "Data",
    "EndOfMessage",
    "Event",
    "HeaderFieldsTooLarge",
    "IncompleteMessage",
    "Limits",
    "LocalProtocolError",
    "ProtocolError",
    "RequestHead",
    "RequestParser",
    "ResponseHead",
    "ResponseParser",
    "URITooLong",
    "UnsupportedTransferCoding",
    "UnsupportedVersion",
    "absolute_form_parts",
    "date_line",
    "encode_chunk",
    "encode_last_chunk",
    "encode_request",
    "encode_request_head",
    "encode_response",
    "encode_response_head",
    "encode_simple_response",
    "parse_http_date",
    "parse_number",
    "request_framing",
    "response_framing",
    "status_line",
]
