"""The IO interface: the module type every backend satisfies.

Protocol code (cohttp, dns) is written once against these types, the way a MirageOS
library is a functor over an IO module. It receives a :class:`Backend` and uses only what
is declared here; it never imports asyncio, trio or socket.

Semantics every adapter guarantees (checked by the conformance kit, :mod:`backends.testing`,
which ``tests/backends`` runs on every adapter and on TLS over each):

* ``Flow.read(n)`` returns between 1 and ``n`` bytes, or ``b""`` once, and only once the
  peer has finished sending (EOF). Reading again after EOF keeps returning ``b""``.
* ``Flow.write(data)`` returns once the data is accepted by the transport. When the peer
  reads slowly, ``write`` blocks: a writer never buffers without bound.
* ``Flow.shutdown_write()`` half-closes (sends FIN after what was written); the flow can
  still be read until the peer's EOF.
* ``Flow.close()`` is idempotent and never raises for an already closed flow; reads and
  writes after it raise :class:`~backends.errors.ClosedFlow`, and a read blocked in another
  task is woken with ``ClosedFlow``.
* ``Flow.abort()`` closes at once and makes the peer see a reset (RST), not an EOF.
* One reader and one writer at a time: a task that calls ``read`` (``write``) while another
  task waits in ``read`` (``write``) on the same flow gets :class:`~backends.errors.BusyFlow`,
  and the waiting task is not disturbed. ``close`` wakes every waiting task with
  ``ClosedFlow``.
* Listening or binding on port 0 picks a free port, reported by ``.address``.
* Errors are those of :mod:`backends.errors`, whatever the backend.
* Cancellation and deadlines (``move_on_after``, ``fail_after``) are level-triggered and
  behave the same on every backend: a cancelled ``read`` or ``write`` leaves the flow usable.
  A cancelled ``read`` loses no bytes. A cancelled ``write`` has sent a prefix of its data,
  and the next write's bytes follow that prefix directly. The adapters send all of it: the
  rest stays queued and goes out before the next ``write`` or ``shutdown_write`` (which may
  wait for room to send it), so a layer above, such as TLS, never leaves a torn record; a
  TLS flow sends the records it had encrypted. ``close`` may drop what is still queued.
* Optional: a flow over a kernel TCP socket (asyncio and trio adapters) also has
  ``sendfile(fd, offset, count)`` (:class:`SendfileFlow`), sending part of an open file
  with ``os.sendfile``, without copying it through Python. Mirage and TLS flows do not have
  it; callers test for it (``isinstance(flow, SendfileFlow)``) and fall back to ``read``
  on the file and ``write``. It keeps the order of the stream (what earlier writes queued
  goes first), blocks while the peer is slow as ``write`` does, and a cancelled
  ``sendfile`` has sent a prefix of its range and nothing more, so a caller that gives
  up on it must abort the flow (the rest of the range is not queued).
* ``Flow.read_before(deadline)`` and ``Flow.write_before(deadline, data)``: ``read`` and
  ``write`` bounded by an absolute deadline on the runtime's clock (``Runtime.now()``),
  raising :class:`~backends.errors.Timeout` when it passes, with the guarantees of a
  cancel scope with that deadline (a timed-out read loses no bytes; a timed-out write is a
  cancelled write) but without one around the call: each adapter bounds only the wait it
  has to make, by its own means (asyncio: one lazy timer per flow; trio: a cancel scope
  around that wait alone; mirage: a timer of the stack's scheduler per flow; TLS: passed
  down to the flow it wraps). A caller that passes one deadline to every read of a
  message cannot be held past it by a peer trickling bytes. ``read(n, deadline=d)`` and
  ``write(data, deadline=d)`` are the same calls, where ``deadline=None`` (the default)
  means none: one call for a caller whose deadline is optional.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from types import TracebackType
from typing import Any, Protocol, TypeVar, runtime_checkable

Address = tuple[str, int]
"""A transport address: ``(host, port)``; for IPv6 the host has no brackets."""

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

Handler = Callable[["Flow"], Awaitable[None]]
"""A connection handler for :meth:`Listener.serve`: it owns the flow until it returns."""

DatagramHandler = Callable[[bytes, Address], "bytes | bytearray | memoryview | None"]
"""A datagram handler for :meth:`DatagramEndpoint.serve`: given a datagram and its source,
the reply to send back to that source, or ``None`` for none. Synchronous, so an endpoint
can answer from its readiness callback without a task or a future per datagram."""


@runtime_checkable
class Flow(Protocol):
    """A reliable, ordered byte stream: one TCP connection."""

    @property
    def local(self) -> Address:
        """This side's address."""
        ...

    @property
    def remote(self) -> Address:
        """The peer's address."""
        ...

    async def read(self, max_bytes: int = 65536, *, deadline: float | None = None) -> bytes:
        """Return 1..``max_bytes`` bytes, or ``b""`` at EOF (and only there); ``deadline``:
        :meth:`read_before`'s, if not ``None``."""
        ...

    async def write(
        self, data: bytes | bytearray | memoryview, *, deadline: float | None = None
    ) -> None:
        """Send ``data``; return once it is accepted (blocks while the peer is slow);
        ``deadline``: :meth:`write_before`'s, if not ``None``.

        Accepted is not yet sent: a backend may hold a small write until the current pass
        of its event loop ends, to send several in one system call (asyncio: while other
        callbacks wait in the pass; trio: a task's later writes in one step). Order is
        kept, and ``close``, ``shutdown_write`` and ``abort`` send what is held first."""
        ...

    async def read_before(self, deadline: float, max_bytes: int = 65536) -> bytes:
        """``read(max_bytes)``, raising :class:`~backends.errors.Timeout` if nothing has
        come when ``Runtime.now()`` reaches ``deadline`` (at once if it has passed and
        nothing is buffered). Nothing is lost: a later read gets what came after."""
        ...

    async def write_before(self, deadline: float, data: bytes | bytearray | memoryview) -> None:
        """``write(data)``, raising :class:`~backends.errors.Timeout` if the peer has not
        taken enough of our bytes by ``deadline``: then as after a cancelled ``write``, a
        prefix of ``data`` went (or is queued to go first) and the next write's bytes
        follow it directly."""
        ...

    async def shutdown_write(self) -> None:
        """Half-close: the peer reads EOF after everything written so far."""
        ...

    async def close(self) -> None:
        """Close both directions gracefully; idempotent."""
        ...

    def abort(self) -> None:
        """Close at once, discarding unsent data; the peer sees a reset."""
        ...

    async def __aenter__(self: T) -> T: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


@runtime_checkable
class SendfileFlow(Protocol):
    """The optional capability of kernel flows: send part of a file with ``os.sendfile``."""

    async def sendfile(self, fd: int, offset: int, count: int) -> int:
        """Send ``count`` bytes of the open file ``fd`` starting at ``offset``.

        Returns the number of bytes sent: ``count``, or fewer if the file ended first.
        """
        ...


@runtime_checkable
class Listener(Protocol):
    """A bound, listening TCP socket (or the mirage stack's equivalent)."""

    @property
    def address(self) -> Address:
        """The bound address; the real port when port 0 was asked for."""
        ...

    async def accept(self) -> Flow:
        """Wait for the next connection."""
        ...

    def __aiter__(self) -> AsyncIterator[Flow]:
        """Iterate over accepted connections until the listener is closed."""
        ...

    async def serve(self, handler: Handler) -> None:
        """Accept forever, running ``handler(flow)`` in its own task for each connection.

        The flow is closed when the handler returns. An exception from a handler is logged
        (logger ``backends``) and does not stop the listener. When the listener is closed,
        or ``serve`` is cancelled, the handlers still running are cancelled and ``serve``
        returns once they have finished. For a graceful shutdown that lets them complete,
        iterate over the listener and run the handlers in a task group of your own (as
        :class:`cohttp.Server` does).
        """
        ...

    async def close(self) -> None:
        """Stop listening; idempotent. Connections already accepted stay open."""
        ...

    async def __aenter__(self: T) -> T: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


@runtime_checkable
class DatagramEndpoint(Protocol):
    """A bound UDP socket."""

    @property
    def address(self) -> Address:
        """The bound address; the real port when port 0 was asked for."""
        ...

    max_datagram_size: int
    """The largest payload :meth:`send` accepts (65507 for UDP over IPv4)."""

    async def recv(self, *, timeout: float | None = None) -> tuple[bytes, Address]:
        """Wait for the next datagram and return it with its source address.

        With ``timeout``, :class:`~backends.errors.Timeout` if none arrives within that many
        seconds: a per-call deadline, as ``tcp_connect`` has, cheaper than a cancel scope
        for a request/response exchange (a DNS query waits on one per try).
        """
        ...

    async def send(self, data: bytes | bytearray | memoryview, address: Address) -> None:
        """Send one datagram; :class:`~backends.errors.MessageTooLarge` if it cannot fit."""
        ...

    async def serve(self, handler: DatagramHandler) -> None:
        """Answer every datagram that arrives with what ``handler`` returns for it, until
        the endpoint is closed (then return) or the call is cancelled: the loop of a UDP
        server (a DNS server's), without a ``recv`` and a ``send`` per datagram.

        A reply that finds no room in the socket's send buffer waits for it, and no
        datagram is read meanwhile (the kernel's receive buffer is the queue). A reply
        larger than :attr:`max_datagram_size`, one that fails to send, and a handler that
        raises are logged and that datagram dropped; serving goes on. Not to be mixed with
        ``recv`` on the same endpoint.
        """
        ...

    async def close(self) -> None:
        """Close the endpoint; idempotent. A blocked ``recv`` raises ``ClosedFlow``."""
        ...

    async def __aenter__(self: T) -> T: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class CancelScope(Protocol):
    """What ``move_on_after``/``fail_after`` return: a scope that can be cancelled early."""

    def cancel(self) -> None:
        """Cancel the body now."""
        ...

    @property
    def cancelled_caught(self) -> bool:
        """True when the scope ended because it was cancelled or its deadline passed."""
        ...

    @property
    def deadline(self) -> float:
        """The deadline, on the clock of :meth:`Runtime.now`."""
        ...

    @deadline.setter
    def deadline(self, value: float) -> None: ...

    def __enter__(self) -> CancelScope: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool: ...


class TaskGroup(Protocol):
    """A nursery: ``async with backend.task_group() as tg: tg.start_soon(fn, arg)``.

    Leaving the block waits for every task; an exception in one cancels the others and is
    raised (as an ``ExceptionGroup``).
    """

    def start_soon(self, func: Callable[..., Awaitable[Any]], *args: Any, name: Any = None) -> None:
        """Start ``func(*args)`` as a child task."""
        ...

    @property
    def cancel_scope(self) -> CancelScope:
        """The group's scope; ``tg.cancel_scope.cancel()`` stops every child."""
        ...

    async def __aenter__(self) -> TaskGroup: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None: ...


class Event(Protocol):
    """A one-shot flag tasks can wait for."""

    def set(self) -> None:
        """Set the flag and wake every waiter."""
        ...

    def is_set(self) -> bool:
        """Whether the flag is set."""
        ...

    async def wait(self) -> None:
        """Wait until the flag is set."""
        ...


@runtime_checkable
class Runtime(Protocol):
    """Tasks, time and cancellation: the part of the interface that is not networking."""

    def task_group(self) -> TaskGroup:
        """A new task group (nursery)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Sleep (a cancellation point)."""
        ...

    def move_on_after(self, seconds: float) -> CancelScope:
        """A scope that silently cancels its body after ``seconds``."""
        ...

    def fail_after(self, seconds: float) -> CancelScope:
        """A scope that cancels its body after ``seconds`` and raises ``Timeout``."""
        ...

    def now(self) -> float:
        """Monotonic time in seconds (the clock deadlines use)."""
        ...

    def event(self) -> Event:
        """A new :class:`Event`."""
        ...

    async def run_in_thread(self, func: Callable[..., T], *args: Any) -> T:
        """Run blocking ``func(*args)`` in a worker thread (file IO, for instance)."""
        ...


@runtime_checkable
class Stack(Protocol):
    """Networking: TCP listen/connect and UDP bind."""

    async def tcp_listen(self, host: str, port: int, *, backlog: int = 1024) -> Listener:
        """Listen on ``host:port`` (port 0: any free port)."""
        ...

    async def tcp_connect(self, host: str, port: int, *, timeout: float | None = None) -> Flow:
        """Connect to ``host:port``; ``Timeout`` after ``timeout`` seconds."""
        ...

    async def udp_bind(self, host: str, port: int) -> DatagramEndpoint:
        """Bind a UDP endpoint on ``host:port`` (port 0: any free port)."""
        ...

    async def udp_connect(self, host: str, port: int) -> DatagramEndpoint:
        """A UDP endpoint on a free local port, connected to ``host:port``: for a client
        exchanging datagrams with one peer (a DNS query, for instance).

        ``recv`` returns only that peer's datagrams, and raises
        :class:`~backends.errors.ConnectionRefused` when the peer's host answered an
        earlier datagram with ICMP port unreachable (RFC 1122 4.1.3.3: UDP passes ICMP
        errors up to the application), so a client learns at once that nothing listens
        there instead of waiting out its timeout. ``send`` takes the peer's address as
        ``udp_bind``'s endpoints do. An unconnected endpoint (``udp_bind``) ignores ICMP
        errors: with many peers, one unreachable client must not disturb a server.
        """
        ...


@runtime_checkable
class SocketListening(Protocol):
    """Optional: listening where only kernel sockets reach (the asyncio and trio adapters;
    not mirage, whose stack has no file descriptors). Check with ``isinstance``."""

    async def listen_unix(
        self, path: str, *, mode: int | None = None, backlog: int = 1024
    ) -> Listener:
        """Listen on a Unix stream socket at ``path`` (``uvicorn --uds``), ``chmod``-ed to
        ``mode`` when given. A stale socket file there (nobody accepts on it) is removed
        first; any other file, or a live socket, is
        :class:`~backends.errors.AddressInUse`. Closing the listener removes the file.
        Its flows' ``remote`` is ``("", 0)``, its ``address`` ``(path, 0)``."""
        ...

    async def listen_fd(self, fd: int, *, backlog: int = 1024) -> Listener:
        """Accept on the listening stream socket (TCP or Unix) inherited on file
        descriptor ``fd`` (``--fd``: from a supervisor, systemd and the like); the listener
        owns it from then on. :class:`~backends.errors.NetworkError` if ``fd`` is not
        a listening stream socket."""
        ...


@runtime_checkable
class Backend(Stack, Runtime, Protocol):
    """What protocol code receives: a :class:`Stack` and a :class:`Runtime` in one object.

    Obtain one with :func:`backends.open_backend` (inside a running loop) or have
    :func:`backends.run` pass it to your ``main``.
    """

    name: str
    """``"asyncio"``, ``"trio"`` or ``"mirage"``."""

    resolves_names: bool
    """Whether ``tcp_connect``/``udp_bind`` accept host names (through the system's
    resolver). False on mirage, which has none: protocol code resolves names there with
    :mod:`dns.resolver` (cohttp's client does) and passes addresses."""

    async def aclose(self) -> None:
        """Release what the backend holds (the mirage stack's device, for instance)."""
        ...


__all__ = [
    "Address",
    "Backend",
    "CancelScope",
    "DatagramEndpoint",
    "DatagramHandler",
    "Event",
    "Flow",
    "Handler",
    "Listener",
    "Runtime",
    "SendfileFlow",
    "SocketListening",
    "Stack",
    "TaskGroup",
]
