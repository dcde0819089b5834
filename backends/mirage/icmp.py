"""ICMP for IPv4 (RFC 792): echo replies and destination-unreachable messages, with the
restrictions of RFC 1122 section 3.2.2 and a token-bucket rate limit (RFC 1812 4.3.2.8).
"""

from __future__ import annotations

import struct

from . import checksum
from .errors import PacketError

ECHO_REPLY = 0
DEST_UNREACHABLE = 3
ECHO_REQUEST = 8
CODE_PORT_UNREACHABLE = 3

_HEAD = struct.Struct("!BBH")


def message(kind: int, code: int, rest: bytes) -> bytes:
    """An ICMP message: type, code, checksum, then ``rest`` (RFC 792)."""
    raw = _HEAD.pack(kind, code, 0) + rest
    csum = checksum.checksum(raw)
    return raw[:2] + csum.to_bytes(2, "big") + raw[4:]


def parse(data: memoryview) -> tuple[int, int, memoryview]:
    """``(type, code, rest)``; checks the checksum (RFC 792 covers the whole message)."""
    if len(data) < 8:
        raise PacketError(f"icmp: message of {len(data)} bytes is shorter than 8")
    if not checksum.verify(checksum.partial(data)):
        raise PacketError("icmp: bad checksum")
    kind, code, _ = _HEAD.unpack_from(data)
    return kind, code, data[4:]


def echo_reply(rest: memoryview) -> bytes:
    """The reply to an echo request: same identifier, sequence and data (RFC 792)."""
    return message(ECHO_REPLY, 0, bytes(rest))


def port_unreachable(original_header: memoryview, original_payload: memoryview) -> bytes:
    """Destination unreachable, code 3: unused word, then the offending IP header and
    the first 8 bytes of its payload (RFC 792; RFC 1122 3.2.2.1)."""
    return message(
        DEST_UNREACHABLE,
        CODE_PORT_UNREACHABLE,
        b"\x00\x00\x00\x00" + bytes(original_header) + bytes(original_payload[:8]),
    )


def is_error(kind: int) -> bool:
    """Error messages never get an ICMP error in reply (RFC 1122 3.2.2)."""
    return kind not in (ECHO_REPLY, ECHO_REQUEST, 13, 14, 15, 16, 17, 18)


class RateLimit:
    """A token bucket: ``rate`` messages a second, bursts of ``burst``."""

    def __init__(self, rate: float = 100.0, burst: float = 50.0) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = burst
        self._last: float | None = None

    def allow(self, now: float) -> bool:
        """Take a token if one is available."""
        if self._last is not None:
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False
