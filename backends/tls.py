"""TLS over any :class:`~backends.interface.Flow`: written once, on every backend.

The standard library's ``ssl.SSLObject`` does the cryptography over two memory buffers
(``ssl.MemoryBIO``) and never touches a socket; this module moves the bytes between those
buffers and the wrapped flow. So the same TLS runs over an asyncio, a trio or a mirage
flow, as MirageOS's ocaml-tls runs over any of its flows. A :class:`TLSFlow` is itself a
:class:`~backends.interface.Flow` and keeps its whole contract::

    context = backends.tls.client_context(alpn=["h2", "http/1.1"])
    flow = await backends.tls.connect(net, "example.org", 443, context=context)

    server_context = backends.tls.server_context("cert.pem", "key.pem")
    flow = await backends.tls.wrap_server(accepted_flow, server_context)

What TLS changes in the contract (RFC 8446 and RFC 5246 section numbers below):

* ``read`` returns ``b""`` only after the peer's ``close_notify`` alert (RFC 8446 6.1). A
  TCP stream that ends without one may have been cut by an attacker, so it raises
  :class:`~backends.errors.TLSTruncated` instead.
* ``shutdown_write`` sends ``close_notify`` and then half-closes TCP. In TLS 1.3 that is a
  true half-close: the peer may go on sending and we go on reading (RFC 8446 6.1). TLS 1.2
  has no half-close (RFC 5246 7.2.1: the peer answers with its own ``close_notify`` and
  stops); OpenSSL as a 1.2 peer accepts data after ours, but other stacks may not.
* ``close`` sends ``close_notify`` (best effort, within :data:`CLOSE_NOTIFY_TIMEOUT`, and
  not while another task is in the middle of a write) and closes the wrapped flow, which
  wakes every task waiting on this one. ``abort`` aborts the wrapped flow: no alert.
* ``write`` encrypts at most :data:`WRITE_CHUNK` bytes at a time and waits until the
  wrapped flow has accepted them, so backpressure is the wrapped flow's. A cancelled write
  leaves whole records queued in the wrapped flow (which keeps the unsent rest of a
  cancelled write, see :mod:`backends.interface`), so the stream stays intact.
* One reader and one writer at a time; a second concurrent reader (writer) gets
  :class:`~backends.errors.BusyFlow`.
* ``read_before`` / ``write_before``: the deadline goes down to the wrapped flow's own
  ``read``/``write`` (``deadline=``), so a TLS read with a deadline costs what it costs
  that flow (a timer on asyncio and mirage, a cancel scope around a wait on trio).

The handshake has one deadline (``handshake_timeout``) that no amount of trickled bytes
extends. Failures raise :class:`~backends.errors.TLSError` (or its subclass
:class:`~backends.errors.CertificateError`) whose message names the peer and the reason:
an expired certificate, a certificate for another host name, an unknown CA, no protocol
version or ALPN protocol in common.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterable
from typing import Any

import anyio

from ._common import Closing
from .errors import (
    BusyFlow,
    CertificateError,
    ClosedFlow,
    NetworkError,
    Timeout,
    TLSError,
    TLSTruncated,
)
from .interface import Address, Flow, Stack

DEFAULT_HANDSHAKE_TIMEOUT = 10.0
"""Seconds a handshake may take, start to finish, before :class:`Timeout`."""

CLOSE_NOTIFY_TIMEOUT = 1.0
"""Seconds ``close`` waits for the wrapped flow to accept the ``close_notify`` alert."""

TRANSPORT_READ = 256 * 1024
"""Bytes asked of the wrapped flow per read: many records per call, few copies."""

RECORD = 16384
"""The most plaintext one TLS record carries (RFC 8446 5.1), so the most one ``SSLObject.read``
returns: asking for more only makes it allocate a larger buffer and shrink it (measured:
64 MiB through one connection spent 0.22 s in ``read`` calls, 0.05 s with this cap)."""

WRITE_CHUNK = 64 * 1024
"""Plaintext bytes encrypted before waiting for the wrapped flow to accept them."""

_VERSIONS = {
    "1.2": ssl.TLSVersion.TLSv1_2,
    "1.3": ssl.TLSVersion.TLSv1_3,
}

# OpenSSL's X509_V_ERR_* codes, as ssl.SSLCertVerificationError.verify_code reports them.
_CERT_REASONS = {
    2: "certificate issued by an unknown CA",  # unable to get issuer certificate
    9: "certificate not yet valid",
    10: "certificate expired",
    18: "self-signed certificate (unknown CA)",
    19: "certificate issued by an unknown CA",  # self-signed certificate in chain
    20: "certificate issued by an unknown CA",  # unable to get local issuer certificate
    21: "certificate issued by an unknown CA",  # unable to verify the first certificate
    62: "certificate is for another host name",  # hostname mismatch
    64: "certificate is for another IP address",  # IP address mismatch
}

# ssl.SSLError.reason -> (error class, what it means)
_REASONS: dict[str, tuple[type[TLSError], str]] = {
    "UNSUPPORTED_PROTOCOL": (TLSError, "no TLS protocol version both sides accept"),
    "NO_PROTOCOLS_AVAILABLE": (TLSError, "no TLS protocol version both sides accept"),
    "TLSV1_ALERT_PROTOCOL_VERSION": (TLSError, "no TLS protocol version both sides accept"),
    "WRONG_VERSION_NUMBER": (TLSError, "the peer does not speak TLS (wrong version number)"),
    "TLSV1_ALERT_NO_APPLICATION_PROTOCOL": (TLSError, "no ALPN protocol in common"),
    "NO_SHARED_CIPHER": (TLSError, "no cipher suite in common"),
    "SSLV3_ALERT_HANDSHAKE_FAILURE": (TLSError, "the peer refused the handshake"),
    "TLSV1_ALERT_UNKNOWN_CA": (CertificateError, "the peer does not trust our certificate's CA"),
    "SSLV3_ALERT_BAD_CERTIFICATE": (CertificateError, "the peer refused our certificate"),
    "SSLV3_ALERT_CERTIFICATE_EXPIRED": (
        CertificateError,
        "the peer says our certificate expired",
    ),
    "TLSV13_ALERT_CERTIFICATE_REQUIRED": (
        CertificateError,
        "the peer requires a client certificate",
    ),
    "DECRYPTION_FAILED_OR_BAD_RECORD_MAC": (TLSError, "a record failed authentication"),
    "BAD_RECORD_MAC": (TLSError, "a record failed authentication"),
}


def translate(exc: ssl.SSLError, peer: str) -> TLSError:
    """The :mod:`backends.errors` class for ``exc``, with a message naming ``peer``."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        detail = exc.verify_message or str(exc)
        reason = _CERT_REASONS.get(exc.verify_code, "certificate refused")
        return CertificateError(f"TLS with {peer}: {reason} ({detail})")
    if isinstance(exc, ssl.SSLEOFError):
        return TLSTruncated(
            f"TLS with {peer}: the connection ended without close_notify "
            "(the data may have been truncated)"
        )
    name = exc.reason or ""
    cls, meaning = _REASONS.get(name, (TLSError, ""))
    text = f"{meaning} ({name})" if meaning else (name or str(exc))
    return cls(f"TLS with {peer}: {text}")


def client_context(
    *,
    cafile: str | None = None,
    verify: bool = True,
    alpn: Iterable[str] = (),
    minimum_version: str = "1.2",
    maximum_version: str | None = None,
) -> ssl.SSLContext:
    """A client context: verification against the system store (or ``cafile``) on by default.

    ``verify=False`` is the explicit opt-out (no certificate or host name check, as
    ``curl -k``). ``alpn`` lists the protocols offered, in order of preference. Versions
    are ``"1.2"`` or ``"1.3"``.
    """
    context = ssl.create_default_context(cafile=cafile)
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    _configure(context, alpn, minimum_version, maximum_version)
    return context


def server_context(
    certfile: str,
    keyfile: str | None = None,
    *,
    alpn: Iterable[str] = (),
    choose: Callable[[str | None], ssl.SSLContext | None] | None = None,
    minimum_version: str = "1.2",
    maximum_version: str | None = None,
    password: str | None = None,
) -> ssl.SSLContext:
    """A server context holding the certificate chain ``certfile`` and its key
    (``password`` decrypts an encrypted key).

    ``alpn`` lists the protocols the server accepts, in its order of preference (the
    first the client also offers is chosen). ``choose(server_name)`` picks the context of
    another certificate for a client's SNI name (RFC 6066 3), or returns None to keep this
    one; build those contexts with this function too, since ALPN is then theirs.
    """
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certfile, keyfile, password)
    _configure(context, alpn, minimum_version, maximum_version)

    def sni_callback(obj: Any, name: str | None, current: ssl.SSLContext) -> None:
        obj.requested_server_name = name  # for TLSFlow.server_hostname
        chosen = None if choose is None else choose(name)
        if chosen is not None and chosen is not current:
            obj.context = chosen

    context.sni_callback = sni_callback
    return context


def _configure(
    context: ssl.SSLContext, alpn: Iterable[str], minimum: str, maximum: str | None
) -> None:
    for version in (minimum, maximum):
        if version is not None and version not in _VERSIONS:
            raise ValueError(f"TLS version must be one of {sorted(_VERSIONS)}, not {version!r}")
    context.minimum_version = _VERSIONS[minimum]
    if maximum is not None:
        context.maximum_version = _VERSIONS[maximum]
    protocols = list(alpn)
    if protocols:
        context.set_alpn_protocols(protocols)


class TLSFlow(Closing):
    """A TLS session over a connected flow; see the module's docstring for the contract.

    Made by :func:`wrap_client`, :func:`wrap_server` or :func:`connect`, which return it
    once the handshake is done.
    """

    __slots__ = (
        "_closed",
        "_eof",
        "_error",
        "_idle",
        "_incoming",
        "_outgoing",
        "_peer",
        "_raw",
        "_reading",
        "_sending",
        "_ssl",
        "_transport",
        "_write_shut",
        "_writing",
    )

    def __init__(
        self,
        transport: Flow,
        context: ssl.SSLContext,
        *,
        server_side: bool,
        server_hostname: str | None = None,
        session: ssl.SSLSession | None = None,
    ) -> None:
        self._transport = transport
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._ssl = context.wrap_bio(
            self._incoming,
            self._outgoing,
            server_side=server_side,
            server_hostname=server_hostname,
            session=session,
        )
        # The C object under ssl.SSLObject, whose read, write and pending its Python
        # methods only pass on: called directly on the hot path, a Python call fewer each
        # (measured with callgrind: about 1.0k of the ~115k instructions of a keep-alive
        # HTTPS request in the server).
        self._raw: Any = getattr(self._ssl, "_sslobj", self._ssl)
        host, port = transport.remote
        name = server_hostname or (f"[{host}]" if ":" in host else host)
        self._peer = f"{name}:{port}"
        self._closed = False
        self._eof = False
        self._write_shut = False
        self._error: NetworkError | None = None
        self._reading = False
        self._writing = False
        self._sending = False
        self._idle: anyio.Event | None = None

    # -- what the handshake settled ----------------------------------------------------

    @property
    def local(self) -> Address:
        return self._transport.local

    @property
    def remote(self) -> Address:
        return self._transport.remote

    @property
    def transport(self) -> Flow:
        """The wrapped flow."""
        return self._transport

    @property
    def alpn(self) -> str | None:
        """The application protocol the handshake chose (ALPN), or None."""
        return self._ssl.selected_alpn_protocol()

    @property
    def version(self) -> str | None:
        """The protocol version: ``"TLSv1.3"`` or ``"TLSv1.2"``."""
        return self._ssl.version()

    @property
    def cipher(self) -> tuple[str, str, int] | None:
        """The cipher suite: (name, protocol, secret bits)."""
        return self._ssl.cipher()

    @property
    def server_hostname(self) -> str | None:
        """On the client: the name verified and sent as SNI. On the server: the SNI name
        the client sent (None without one; known with a :func:`server_context`)."""
        if self._ssl.server_side:
            name: str | None = getattr(self._ssl, "requested_server_name", None)
            return name
        return self._ssl.server_hostname

    @property
    def peer_certificate(self) -> dict[str, Any] | None:
        """The peer's verified certificate as ``ssl.SSLObject.getpeercert`` decodes it."""
        return self._ssl.getpeercert()

    @property
    def session(self) -> ssl.SSLSession | None:
        """On the client, the session to pass to the next connection's ``session=`` to
        resume it. In TLS 1.3 the server sends it after the handshake, so it is there
        once something has been read."""
        return self._ssl.session

    @property
    def session_reused(self) -> bool:
        """Whether the handshake resumed the session given as ``session=``."""
        return self._ssl.session_reused

    # -- moving bytes between the buffers and the wrapped flow ---------------------------

    async def _flush(self, deadline: float | None = None) -> None:
        """Send every byte waiting in the outgoing buffer, in order, one sender at a time
        (by ``deadline``, when there is one)."""
        while self._sending:  # another task sends; it sends ours too before it stops
            if self._idle is None:
                self._idle = anyio.Event()
            if deadline is None:
                await self._idle.wait()
                continue
            with anyio.CancelScope(deadline=deadline):
                await self._idle.wait()
            if self._sending:
                raise Timeout(f"TLS with {self._peer}: write timed out behind another sender")
        outgoing = self._outgoing
        if not outgoing.pending:
            return
        self._sending = True
        try:
            while outgoing.pending:
                await self._transport.write(outgoing.read(), deadline=deadline)
        finally:
            self._sent()

    def _sent(self) -> None:
        """This task has stopped sending: wake those waiting to send."""
        self._sending = False
        idle, self._idle = self._idle, None
        if idle is not None:
            idle.set()

    def _failed(self, exc: ssl.SSLError) -> NetworkError:
        self._error = translate(exc, self._peer)
        return self._error

    async def _handshake(self, timeout: float | None) -> None:
        try:
            # One deadline for the whole handshake, passed down to the wrapped flow's
            # waits (read and write with deadline=): no cancel scope.
            deadline = None if timeout is None else anyio.current_time() + timeout
            try:
                await self._handshake_steps(deadline)
            except Timeout:
                if timeout is None:
                    raise
                raise Timeout(
                    f"TLS handshake with {self._peer} did not finish within {timeout:g}s"
                ) from None
        except ssl.SSLError as exc:
            error = translate(exc, self._peer)
            with anyio.move_on_after(CLOSE_NOTIFY_TIMEOUT, shield=True):
                try:
                    await self._flush()  # the alert tells the peer why
                except NetworkError:
                    pass  # the peer is gone already
                await self._transport.close()
            raise error from None
        except BaseException:
            self._transport.abort()
            raise

    async def _handshake_steps(self, deadline: float | None) -> None:
        ssl_object = self._ssl
        server_side = ssl_object.server_side
        if server_side:  # the client speaks first (RFC 8446 2): nothing to do before it has
            await self._receive_handshake(deadline)
        while True:
            try:
                ssl_object.do_handshake()
                break
            except ssl.SSLWantReadError:
                pass
            await self._flush(deadline)
            await self._receive_handshake(deadline)
        if server_side and ssl_object.version() == "TLSv1.3":
            # What a TLS 1.3 server has left to send is its session tickets (RFC 8446
            # 4.6.1), which the client does not wait for: they go out with the first write,
            # or before the first read that has to wait (read and write flush), so that a
            # request's answer and the tickets share one segment (a send fewer per
            # connection). Anything else, a client's Finished or a TLS 1.2 server's last
            # flight, is what the peer waits for: it goes now.
            return
        await self._flush(deadline)

    async def _receive_handshake(self, deadline: float | None) -> None:
        data = await self._transport.read(TRANSPORT_READ, deadline=deadline)
        if not data:
            raise TLSError(f"TLS handshake with {self._peer}: the peer closed the connection")
        self._incoming.write(data)

    # -- Flow ------------------------------------------------------------------------

    async def read(self, max_bytes: int = 65536, *, deadline: float | None = None) -> bytes:
        """See :class:`backends.interface.Flow`. ``deadline``: :meth:`read_before`'s, passed
        down to the wrapped flow's own."""
        if max_bytes <= 0:
            raise ValueError("max_bytes must be positive")
        if self._reading:
            raise BusyFlow("another task is already reading this TLS flow")
        self._reading = True
        try:
            ssl_read: Callable[[int], bytes] = self._raw.read
            incoming = self._incoming
            size = max_bytes if max_bytes < RECORD else RECORD
            # Nothing received and nothing decrypted: SSLObject.read could only raise
            # SSLWantReadError, an exception whose making costs more than the read, so
            # receive first. (OpenSSL takes records from the buffer as it needs them; what
            # it may hold after a read is decrypted data, which pending() counts, or the
            # peer's close_notify, which _more and this loop record as the end.)
            starved = not (incoming.pending or incoming.eof or self._raw.pending())
            while True:
                if self._closed:
                    raise ClosedFlow("read on a closed TLS flow")
                if self._error is not None:
                    raise type(self._error)(*self._error.args)
                if self._eof:
                    return b""
                if starved:
                    if self._outgoing.pending:  # session tickets, a KeyUpdate's answer
                        try:
                            await self._flush(deadline)
                        except NetworkError:
                            pass  # broke or timed out: the read below says how it ended
                    chunk = await self._transport.read(TRANSPORT_READ, deadline=deadline)
                    if chunk:
                        incoming.write(chunk)
                    else:
                        incoming.write_eof()  # the next ssl read says how it ended
                    starved = False
                    if self._closed or self._error is not None:
                        continue  # closed or failed meanwhile: said above
                try:
                    data = ssl_read(size)
                except ssl.SSLWantReadError:  # a record is not whole yet
                    starved = True
                    continue
                except ssl.SSLZeroReturnError:  # the peer's close_notify
                    self._eof = True
                    continue
                except ssl.SSLError as exc:
                    raise self._failed(exc) from None
                if not data:  # the close_notify, already seen by OpenSSL
                    self._eof = True
                    continue
                # What OpenSSL queued meanwhile (a KeyUpdate's answer, RFC 8446 4.6.3)
                # goes before our next record or before a read waits.
                if len(data) == max_bytes or not incoming.pending:
                    return data
                return self._more(data, max_bytes)
        finally:
            self._reading = False

    def _more(self, data: bytes, max_bytes: int) -> bytes:
        """Add the records already received to ``data``, up to ``max_bytes`` (one join
        instead of a read call per 16 KiB record)."""
        if not self._incoming.pending:
            return data
        parts = [data]
        room = max_bytes - len(data)
        while room > 0 and self._incoming.pending:
            try:
                more = self._raw.read(min(room, RECORD))
            except ssl.SSLWantReadError:
                break
            except ssl.SSLZeroReturnError:
                self._eof = True
                break
            except ssl.SSLError as exc:
                self._failed(exc)  # raised by the next read, after these bytes
                break
            if not more:  # the close_notify, once OpenSSL has seen it, reads as b""
                self._eof = True
                break
            parts.append(more)
            room -= len(more)
        return data if len(parts) == 1 else b"".join(parts)

    async def write(
        self, data: bytes | bytearray | memoryview, *, deadline: float | None = None
    ) -> None:
        """See :class:`backends.interface.Flow`. ``deadline``: :meth:`write_before`'s,
        passed down to the wrapped flow's own."""
        if self._writing:
            raise BusyFlow("another task is already writing this TLS flow")
        if self._closed:
            raise ClosedFlow("write on a closed TLS flow")
        if self._write_shut:
            raise ClosedFlow("write after shutdown_write")
        if self._error is not None:
            raise type(self._error)(*self._error.args)
        self._writing = True
        try:
            if data.__class__ is bytes and len(data) <= WRITE_CHUNK:  # the common case
                try:
                    self._raw.write(data)
                except ssl.SSLError as exc:
                    raise self._failed(exc) from None
                if self._sending:
                    await self._flush(deadline)
                else:  # _flush's common case inline (a coroutine fewer): one write of all
                    self._sending = True
                    try:
                        await self._transport.write(self._outgoing.read(), deadline=deadline)
                    finally:
                        self._sent()
                if self._closed:
                    raise ClosedFlow("TLS flow closed while writing")
                return
            with memoryview(data) as raw:
                view = raw if raw.format == "B" and raw.ndim == 1 else raw.cast("B")
                for start in range(0, len(view), WRITE_CHUNK):
                    try:
                        self._raw.write(view[start : start + WRITE_CHUNK])
                    except ssl.SSLError as exc:
                        raise self._failed(exc) from None
                    await self._flush(deadline)
                    if self._closed:
                        raise ClosedFlow("TLS flow closed while writing")
        finally:
            self._writing = False

    async def read_before(self, deadline: float, max_bytes: int = 65536) -> bytes:
        """See :class:`backends.interface.Flow`: the deadline goes to the wrapped flow's
        waits."""
        return await self.read(max_bytes, deadline=deadline)

    async def write_before(self, deadline: float, data: bytes | bytearray | memoryview) -> None:
        """See :class:`backends.interface.Flow` and :meth:`read_before`."""
        await self.write(data, deadline=deadline)

    def _queue_close_notify(self) -> None:
        self._write_shut = True
        try:
            self._ssl.unwrap()  # writes close_notify, then wants the peer's: not waited for
        except ssl.SSLWantReadError:
            pass
        except ssl.SSLError as exc:
            raise self._failed(exc) from None

    async def shutdown_write(self) -> None:
        if self._closed:
            raise ClosedFlow("shutdown_write on a closed TLS flow")
        if self._write_shut:
            return
        if self._writing:
            raise BusyFlow("shutdown_write while another task is writing this TLS flow")
        self._queue_close_notify()
        await self._flush()
        await self._transport.shutdown_write()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            if not self._write_shut and not self._sending and self._error is None:
                self._queue_close_notify()
                # The wrapped flow bounds the wait, if there is one: no cancel scope (on
                # trio anyio's scope cost about a tenth of a server's CPU per connection
                # in a Connection: close benchmark, profiled with cProfile).
                await self._flush(anyio.current_time() + CLOSE_NOTIFY_TIMEOUT)
        except NetworkError:
            pass  # the peer is gone or slow (Timeout): nothing more to tell it
        finally:
            await self._transport.close()
            idle, self._idle = self._idle, None
            if idle is not None:
                idle.set()

    def abort(self) -> None:
        self._closed = True
        self._transport.abort()


async def wrap_client(
    flow: Flow,
    context: ssl.SSLContext | None = None,
    *,
    server_hostname: str | None = None,
    session: ssl.SSLSession | None = None,
    handshake_timeout: float = DEFAULT_HANDSHAKE_TIMEOUT,
) -> TLSFlow:
    """Run a client handshake over ``flow`` and return the TLS flow.

    ``context`` defaults to :func:`client_context` (the system's CAs, verification on).
    ``server_hostname`` is the name the certificate must carry and that SNI sends; without
    it, the flow's remote address is what the certificate must carry. ``session`` (from a
    previous flow's :attr:`TLSFlow.session`) asks to resume that session. On failure the
    wrapped flow is closed and :class:`TLSError` or :class:`Timeout` raised.
    """
    if context is None:
        context = client_context()
    tls = TLSFlow(
        flow,
        context,
        server_side=False,
        server_hostname=server_hostname or flow.remote[0],
        session=session,
    )
    await tls._handshake(handshake_timeout)
    return tls


async def wrap_server(
    flow: Flow,
    context: ssl.SSLContext,
    *,
    handshake_timeout: float | None = DEFAULT_HANDSHAKE_TIMEOUT,
) -> TLSFlow:
    """Run a server handshake over ``flow`` (an accepted connection) with ``context``
    (see :func:`server_context`). On failure the wrapped flow is closed and
    :class:`TLSError` or :class:`Timeout` raised.

    ``handshake_timeout=None`` sets no deadline here: for a caller whose own deadline
    already covers the handshake (:class:`cohttp.Server` keeps one per connection), which
    spares a cancel scope per connection. A TLS 1.3 server's session tickets are sent
    with the first write (or before the first read that waits), not on their own."""
    tls = TLSFlow(flow, context, server_side=True)
    await tls._handshake(handshake_timeout)
    return tls


async def connect(
    stack: Stack,
    host: str,
    port: int,
    *,
    context: ssl.SSLContext | None = None,
    server_hostname: str | None = None,
    session: ssl.SSLSession | None = None,
    timeout: float | None = None,
    handshake_timeout: float = DEFAULT_HANDSHAKE_TIMEOUT,
) -> TLSFlow:
    """``tcp_connect`` to ``host:port`` and a client handshake verifying ``host`` (or
    ``server_hostname``) on top."""
    flow = await stack.tcp_connect(host, port, timeout=timeout)
    return await wrap_client(
        flow,
        context,
        server_hostname=server_hostname or host,
        session=session,
        handshake_timeout=handshake_timeout,
    )


__all__ = [
    "CLOSE_NOTIFY_TIMEOUT",
    "DEFAULT_HANDSHAKE_TIMEOUT",
    "TLSFlow",
    "client_context",
    "connect",
    "server_context",
    "translate",
    "wrap_client",
    "wrap_server",
]
