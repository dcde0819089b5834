"""permessage-deflate (RFC 7692): negotiation and the per-message compressor/decompressor.

:class:`DeflateOptions` is what one side wants; the client turns it into an offer
(:meth:`DeflateOptions.offer`), the server accepts one of the client's offers
(:meth:`DeflateOptions.accept`) and the client checks the server's answer
(:meth:`DeflateOptions.confirm`). Both end with a :class:`DeflateParams`, the agreement that
:class:`cohttp.ws.Connection` compresses and decompresses by.

Two choices worth knowing:

* Inflating always uses a 32 KiB window (``wbits=-15``): a larger window decodes anything
  a smaller one produced, so the peer's window size never matters when reading.
* zlib cannot compress with a 256-byte window (``wbits=-8`` is refused), yet a peer may ask
  for ``max_window_bits=8``. Then we compress at level 0: stored blocks hold no
  back-references at all, which keeps within any window (section 7.1.2).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass

NAME = "permessage-deflate"

Params = Sequence[tuple[str, str | None]]
"""An extension's parameters as parsed from the header: ``(name, value or None)``."""

_BITS = {str(n): n for n in range(8, 16)}
"""RFC 7692 section 7.1.2: a window-bits value is a decimal integer from 8 to 15, no
leading zeros; looked up as a string, so no other digits (nor Unicode ones) are accepted."""

TAIL = b"\x00\x00\xff\xff"
"""The empty stored block a sync flush ends with; removed on sending, put back on receiving
(section 7.2.1, 7.2.2)."""


class NegotiationError(ValueError):
    """A permessage-deflate offer or response that breaks RFC 7692 section 7.1."""


@dataclass(frozen=True, slots=True)
class DeflateParams:
    """The agreement a handshake ended with (RFC 7692 section 7.1)."""

    server_no_context_takeover: bool = False
    client_no_context_takeover: bool = False
    server_max_window_bits: int = 15
    client_max_window_bits: int = 15


@dataclass(frozen=True, slots=True)
class DeflateOptions:
    """What this side asks for or allows.

    ``server_max_window_bits``/``client_max_window_bits`` of ``None`` mean "no limit asked
    for". ``level`` and ``mem_level`` tune our compressor (zlib's meanings).
    """

    server_no_context_takeover: bool = False
    client_no_context_takeover: bool = False
    server_max_window_bits: int | None = None
    client_max_window_bits: int | None = None
    level: int = 6
    mem_level: int = 8

    def __post_init__(self) -> None:
        for bits in (self.server_max_window_bits, self.client_max_window_bits):
            if bits is not None and not 8 <= bits <= 15:
                raise ValueError(f"max_window_bits must be 8..15, not {bits}")

    # -- client ------------------------------------------------------------------------

    def offer(self) -> str:
        """The client's ``Sec-WebSocket-Extensions`` element (RFC 7692 section 7.1).

        ``client_max_window_bits`` is always offered, bare when no limit is asked for: it
        tells the server we can compress with any window it chooses (section 7.1.2.2).
        """
        parts = [NAME]
        if self.server_no_context_takeover:
            parts.append("server_no_context_takeover")
        if self.client_no_context_takeover:
            parts.append("client_no_context_takeover")
        if self.server_max_window_bits is not None:
            parts.append(f"server_max_window_bits={self.server_max_window_bits}")
        if self.client_max_window_bits is not None:
            parts.append(f"client_max_window_bits={self.client_max_window_bits}")
        else:
            parts.append("client_max_window_bits")
        return "; ".join(parts)

    def confirm(self, params: Params) -> DeflateParams:
        """Check the server's response to :meth:`offer`; raise :class:`NegotiationError`."""
        seen = _unique(params, "response")
        for name, value in params:
            if name in ("server_no_context_takeover", "client_no_context_takeover"):
                if value is not None:
                    raise NegotiationError(f"{name} takes no value (RFC 7692 7.1.1)")
            elif name in ("server_max_window_bits", "client_max_window_bits"):
                if value is None or value not in _BITS:
                    raise NegotiationError(f"{name}={value} is not 8..15 (RFC 7692 7.1.2)")
            else:
                raise NegotiationError(f"unknown permessage-deflate parameter {name!r}")
        if self.server_no_context_takeover and "server_no_context_takeover" not in seen:
            raise NegotiationError(
                "server_no_context_takeover was offered but not accepted (RFC 7692 7.1.1.1)"
            )
        server_bits = 15
        if "server_max_window_bits" in seen:
            server_bits = _BITS[seen["server_max_window_bits"] or ""]
            if (
                self.server_max_window_bits is not None
                and server_bits > self.server_max_window_bits
            ):
                raise NegotiationError(
                    f"server_max_window_bits={server_bits} exceeds the offered "
                    f"{self.server_max_window_bits} (RFC 7692 7.1.2.1)"
                )
        elif self.server_max_window_bits is not None:
            raise NegotiationError(
                "server_max_window_bits was offered but not accepted (RFC 7692 7.1.2.1)"
            )
        client_bits = self.client_max_window_bits or 15
        if "client_max_window_bits" in seen:
            client_bits = _BITS[seen["client_max_window_bits"] or ""]
            if (
                self.client_max_window_bits is not None
                and client_bits > self.client_max_window_bits
            ):
                raise NegotiationError(
                    f"client_max_window_bits={client_bits} exceeds the offered "
                    f"{self.client_max_window_bits} (RFC 7692 7.1.2.2)"
                )
        return DeflateParams(
            server_no_context_takeover="server_no_context_takeover" in seen,
            client_no_context_takeover="client_no_context_takeover" in seen
            or self.client_no_context_takeover,
            server_max_window_bits=server_bits,
            client_max_window_bits=client_bits,
        )

    # -- server ------------------------------------------------------------------------

    def accept(self, params: Params) -> tuple[DeflateParams, str]:
        """Accept one client offer: the agreement and the response element.

        Raise :class:`NegotiationError` when the offer must be declined (section 7.1: an
        unknown or repeated parameter, or an invalid value); the server then tries the
        client's next offer, or goes on without compression.
        """
        seen = _unique(params, "offer")
        for name, value in params:
            if name in ("server_no_context_takeover", "client_no_context_takeover"):
                if value is not None:
                    raise NegotiationError(f"{name} takes no value (RFC 7692 7.1.1)")
            elif name == "server_max_window_bits":
                if value is None or value not in _BITS:
                    raise NegotiationError(f"{name}={value} is not 8..15 (RFC 7692 7.1.2.1)")
            elif name == "client_max_window_bits":
                if value is not None and value not in _BITS:
                    raise NegotiationError(f"{name}={value} is not 8..15 (RFC 7692 7.1.2.2)")
            else:
                raise NegotiationError(f"unknown permessage-deflate parameter {name!r}")
        parts = [NAME]
        server_nct = self.server_no_context_takeover or "server_no_context_takeover" in seen
        if server_nct:
            parts.append("server_no_context_takeover")
        client_nct = self.client_no_context_takeover or "client_no_context_takeover" in seen
        if client_nct:
            parts.append("client_no_context_takeover")
        server_bits = self.server_max_window_bits or 15
        if "server_max_window_bits" in seen:
            server_bits = min(server_bits, _BITS[seen["server_max_window_bits"] or ""])
        if server_bits < 15 or "server_max_window_bits" in seen:
            parts.append(f"server_max_window_bits={server_bits}")
        client_bits = 15
        if "client_max_window_bits" in seen:
            offered = seen["client_max_window_bits"]
            client_bits = _BITS[offered] if offered is not None else 15
            if self.client_max_window_bits is not None:
                client_bits = min(client_bits, self.client_max_window_bits)
                parts.append(f"client_max_window_bits={client_bits}")
        agreed = DeflateParams(server_nct, client_nct, server_bits, client_bits)
        return agreed, "; ".join(parts)


DEFAULT_DEFLATE = DeflateOptions()
"""The default of the handshake functions: offer/accept compression, no limits asked for."""


def _unique(params: Params, what: str) -> dict[str, str | None]:
    seen: dict[str, str | None] = {}
    for name, value in params:
        if name in seen:
            raise NegotiationError(f"{name} repeated in a permessage-deflate {what} (RFC 7692 7)")
        seen[name] = value
    return seen


class Compressor:
    """Compresses messages for one direction (RFC 7692 section 7.2.1)."""

    __slots__ = ("_bits", "_level", "_mem_level", "_reset", "_z")

    def __init__(self, bits: int, no_context_takeover: bool, level: int, mem_level: int) -> None:
        self._bits = bits
        self._reset = no_context_takeover
        self._level = 0 if bits == 8 else level
        self._mem_level = mem_level
        self._z: zlib._Compress | None = None

    def compress(self, data: bytes, final: bool) -> bytes:
        """Compress one fragment; the last one of a message has its sync-flush tail cut."""
        z = self._z
        if z is None:
            z = self._z = zlib.compressobj(
                self._level, zlib.DEFLATED, -max(self._bits, 9), self._mem_level
            )
        out = z.compress(data) + z.flush(zlib.Z_SYNC_FLUSH)
        if final:
            if out.endswith(TAIL):
                out = out[:-4]
            if self._reset:
                self._z = None
        return out


class Decompressor:
    """Inflates messages from one direction with a cap on the output (section 7.2.2).

    :meth:`inflate` never produces more than ``limit`` bytes: zlib's ``max_length`` stops
    it, and :class:`MessageTooBig` says so. A 1 KiB frame that would inflate to 1 GiB costs
    ``limit`` bytes of memory at most.
    """

    __slots__ = ("_reset", "_z")

    def __init__(self, no_context_takeover: bool) -> None:
        self._reset = no_context_takeover
        self._z: zlib._Decompress | None = None

    def inflate(self, data: bytes, final: bool, limit: int) -> bytes:
        """Inflate one frame's payload of a compressed message; at most ``limit`` bytes."""
        z = self._z
        if z is None:
            z = self._z = zlib.decompressobj(-15)
        try:
            out = z.decompress(data, limit + 1)
            if len(out) > limit:
                raise MessageTooBig(limit)
            if final:
                if not z.eof:
                    rest = z.decompress(TAIL, limit - len(out) + 1)
                    out += rest
                    if len(out) > limit:
                        raise MessageTooBig(limit)
                if self._reset or z.eof:
                    self._z = None
        except zlib.error as exc:
            self._z = None
            raise InvalidCompressedData(str(exc)) from None
        return out


class MessageTooBig(Exception):
    """Inflating would pass the limit (the caller closes with 1009)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"message inflates to more than {limit} bytes")
        self.limit = limit


class InvalidCompressedData(Exception):
    """The compressed payload is not valid DEFLATE data (the caller closes with 1007)."""


__all__ = [
    "DeflateOptions",
    "DeflateParams",
    "NegotiationError",
]
