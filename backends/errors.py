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
    "ClosedFlow",
    "ConnectionRefused",
    "ConnectionReset",
    "MessageTooLarge",
    "NetworkError",
    "ResolutionError",
    "Timeout",
]
