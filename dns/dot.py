"""DNS over TLS (RFC 7858) and the EDNS padding of encrypted transports (RFC 7830, RFC 8467).

The server side is :meth:`dns.server.AuthServer.serve` with ``tls_context`` and
``tls_port``: the same TCP message handling (RFC 7766: length prefixes, pipelining, the
idle timeout and the whole-message deadline, the shedding of idle connections) over a
:class:`backends.tls.TLSFlow`. The resolver's side is :class:`TlsPool`: connections kept
open and reused across queries (RFC 7858 §3.4), TLS sessions resumed, certificates
verified against a CA file or the system store for the name given (RFC 8310 §5: the
strict profile; a failure is an error, never a fall-back to clear text).

Padding (RFC 8467 §4.1, the block-length policy): a query is padded to a multiple of
:data:`QUERY_BLOCK` bytes, a response to a multiple of :data:`RESPONSE_BLOCK` bytes, and
only on encrypted transports (RFC 7830 §6: padding in clear text hides nothing).
"""

from __future__ import annotations

import ssl
import struct

import backends
import backends.tls

from . import wire

DOT_PORT = 853
"""RFC 7858 §3.1."""
DOT_ALPN = "dot"
"""The ALPN protocol ID of DNS over TLS (RFC 7858 §3.1, the IANA registry)."""
OPTION_PADDING = 12
"""The EDNS(0) Padding option code (RFC 7830 §3)."""
QUERY_BLOCK = 128
"""RFC 8467 §4.1: queries are padded to a multiple of 128 octets."""
RESPONSE_BLOCK = 468
"""RFC 8467 §4.1: responses are padded to a multiple of 468 octets."""

_U16 = struct.Struct("!H")


def pad(message: bytes, block: int) -> bytes:
    """``message`` with a Padding option that brings its length to a multiple of ``block``.

    Only a message whose last record is its OPT record (owned by the root) is padded; the
    option is appended to that record's rdata (RFC 7830 §3). A message without EDNS, or
    with a record after the OPT record (a TSIG signature, RFC 8945 §5.1: padding goes in
    before signing), is returned as it is, as is one already carrying a Padding option.
    """
    try:
        parsed = wire.Message.parse(message)
    except wire.WireError:
        return message
    start = parsed.opt_offset
    if start < 0 or parsed.edns is None or message[start] != 0:
        return message
    rdlength_at = start + 9  # root name (1), type, class, ttl (8)
    (rdlength,) = _U16.unpack_from(message, rdlength_at)
    if rdlength_at + 2 + rdlength != len(message):
        return message  # something follows the OPT record
    if any(code == OPTION_PADDING for code, _ in parsed.edns.options):
        return message
    length = (-(len(message) + 4)) % block
    if len(message) + 4 + length > 0xFFFF or rdlength + 4 + length > 0xFFFF:
        return message
    option = _U16.pack(OPTION_PADDING) + _U16.pack(length) + bytes(length)
    return (
        message[:rdlength_at]
        + _U16.pack(rdlength + 4 + length)
        + message[rdlength_at + 2 :]
        + option
    )


def client_context(cafile: str | None = None, *, verify: bool = True) -> ssl.SSLContext:
    """A client context for DoT: ALPN ``dot``, certificates verified against ``cafile`` (or
    the system store) unless ``verify`` is false."""
    return backends.tls.client_context(cafile=cafile, verify=verify, alpn=[DOT_ALPN])


def server_context(certfile: str, keyfile: str | None = None) -> ssl.SSLContext:
    """A server context for DoT and DoH: ALPN ``dot``, ``h2`` and ``http/1.1``, TLS 1.2 or
    later (RFC 8310 §9 asks for TLS 1.2 at least)."""
    return backends.tls.server_context(certfile, keyfile, alpn=[DOT_ALPN, "h2", "http/1.1"])


async def read_exactly(flow: backends.Flow, size: int) -> bytes:
    """``size`` bytes from ``flow``; :class:`backends.ClosedFlow` if it ends first."""
    parts: list[bytes] = []
    need = size
    while need:
        data = await flow.read(need)
        if not data:
            raise backends.ClosedFlow(f"the connection ended {need} bytes short of a message")
        parts.append(data)
        need -= len(data)
    return b"".join(parts)


class TlsPool:
    """Open TLS connections to name servers, kept for reuse across queries (RFC 7858 §3.4).

    :meth:`take` returns an idle connection to ``(host, port)`` or makes one (resuming the
    last TLS session with that server); :meth:`give` puts it back after a complete
    exchange. A connection that failed, or whose exchange was cancelled, is aborted
    instead, so a half-read answer can never be taken for the next query's.
    ``hostname`` is the name the server's certificate must carry (RFC 8310 §5, the
    authentication domain name); without it, the server's IP address must be in the
    certificate.
    """

    def __init__(
        self,
        net: backends.Backend,
        context: ssl.SSLContext,
        hostname: str | None = None,
        *,
        max_idle: int = 2,
    ) -> None:
        self.net = net
        self.context = context
        self.hostname = hostname
        self.max_idle = max_idle
        self._idle: dict[tuple[str, int], list[backends.Flow]] = {}
        self._sessions: dict[tuple[str, int], ssl.SSLSession] = {}
        self.connections_made = 0
        """TLS connections opened so far (to check reuse)."""

    async def take(self, host: str, port: int, timeout: float) -> tuple[backends.Flow, bool]:
        """A connection to ``host:port`` and whether it was reused (a reused one may have
        been closed by the server since: retry once on a fresh one if it fails)."""
        idle = self._idle.get((host, port))
        if idle:
            return idle.pop(), True
        flow = await backends.tls.connect(
            self.net,
            host,
            port,
            context=self.context,
            server_hostname=self.hostname,
            session=self._sessions.get((host, port)),
            timeout=timeout,
            handshake_timeout=timeout,
        )
        self.connections_made += 1
        return flow, False

    def give(self, host: str, port: int, flow: backends.Flow) -> None:
        """Keep ``flow`` (after a complete exchange) for the next query to ``host:port``."""
        if isinstance(flow, backends.tls.TLSFlow) and flow.session is not None:
            self._sessions[(host, port)] = flow.session
        idle = self._idle.setdefault((host, port), [])
        if len(idle) < self.max_idle:
            idle.append(flow)
        else:
            flow.abort()

    async def aclose(self) -> None:
        """Close every idle connection (sending close_notify)."""
        idle, self._idle = self._idle, {}
        for flows in idle.values():
            for flow in flows:
                await flow.close()


__all__ = [
    "DOT_ALPN",
    "DOT_PORT",
    "OPTION_PADDING",
    "QUERY_BLOCK",
    "RESPONSE_BLOCK",
    "TlsPool",
    "client_context",
    "pad",
    "read_exactly",
    "server_context",
]
