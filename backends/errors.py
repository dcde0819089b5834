"""The one error hierarchy every backend raises.

Protocol code (cohttp, dns) catches these and nothing backend-specific, so the same
``except`` clause works on asyncio, trio and mirage. Each class also derives from the
matching builtin (``ConnectionRefusedError``, ``TimeoutError``, ...) so code written
against the standard library keeps working.
"""

from __future__ import annotations


class NetworkError(OSError):
    """Base class of every error a backend raises for a network operation."""


class ConnectionRefused(NetworkError, ConnectionRefusedError):
    """The peer answered a connection attempt with a reset (nothing listens there)."""


class ConnectionReset(NetworkError, ConnectionResetError):
    """The peer reset an established connection, or it broke while writing (EPIPE)."""


class ClosedFlow(NetworkError):
    """An operation was attempted on a flow, listener or endpoint this side already closed."""


class Timeout(NetworkError, TimeoutError):
    """A deadline passed: a connect timeout, or the body of ``Runtime.fail_after``."""


class BusyFlow(NetworkError):
    """A second task tried to read (or write) a flow while another task is reading (writing).

    A flow has one reader and one writer at a time: two readers would each get an arbitrary
    part of the stream, two writers would interleave their bytes.
    """


class TLSError(NetworkError):
    """A TLS handshake or record failed: the message names the peer and the reason."""


class CertificateError(TLSError):
    """The peer's certificate was refused: expired, issued for another name, unknown CA."""


class TLSTruncated(TLSError, ConnectionResetError):
    """The TCP stream ended without TLS's close_notify: the data may have been truncated."""


class AddressInUse(NetworkError):
    """Binding failed because the address and port are already taken."""


class AddressUnavailable(NetworkError):
    """The address cannot be bound or reached from this stack (no such interface, no route)."""


class MessageTooLarge(NetworkError):
    """A datagram is larger than the transport can carry (over 65507 bytes for UDP/IPv4)."""


class ResolutionError(NetworkError):
    """A host name could not be turned into an address."""


__all__ = [
    "AddressInUse",
    "AddressUnavailable",
    "BusyFlow",
    "CertificateError",
    "ClosedFlow",
    "ConnectionRefused",
    "ConnectionReset",
    "MessageTooLarge",
    "NetworkError",
    "ResolutionError",
    "TLSError",
    "TLSTruncated",
    "Timeout",
]
