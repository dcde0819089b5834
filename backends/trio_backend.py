"""The trio adapter: plain non-blocking sockets driven by trio's readiness waits.

Every operation tries the system call first, except where it has learnt that the call
would fail; only then does it wait, with ``trio.lowlevel.wait_readable``/
``wait_writable``. So a busy socket costs one system call per operation instead of a trip
through trio's scheduler, and a request/response exchange one wait per request and no
call that fails:

* After a recv that got less than it asked (TCP hands over all it holds: the queue was
  emptied), whether the next one finds bytes depends on the peer. A keep-alive client
  with one request in flight, when the server keeps up, has sent nothing yet: the recv
  fails with EAGAIN (a system call and an exception, ~3 µs here: one per request). A
  server behind its load finds the next request there, where waiting first would cost a
  scheduler trip (~30k instructions). So a flow counts: after :data:`MISSES_TO_WAIT` such
  recvs in a row found nothing, it waits first, and tries first again on every
  :data:`PROBE_EVERY`-th such read to notice the peer got ahead.
* A ``write`` (or ``sendfile``) that the kernel took only in part found its send buffer
  full: it waits for room before the next send, rather than fail with EAGAIN first.
* A task's first ``write`` on a flow in a step of trio's scheduler (between two of its
  yields) is sent at once; its later small writes in that step are held, and sent in one
  ``send`` when the scheduler's batch ends (:class:`_Flusher`, an instrument's
  ``before_io_wait``). A task that answers a burst of messages from one read (a
  WebSocket echo: 32 frames a read) so makes one ``send`` for them, not 32; a server
  that writes once per request never holds.

Two trio rules still hold, without a cancel scope or a deadline object per operation:

* Every operation is a cancellation point: one that waits checks in its wait, one that
  does not calls ``checkpoint_if_cancelled`` (nearly free when nothing is cancelled), so a
  cancelled scope stops it at once.
* After :data:`YIELD_EVERY` operations that did not have to wait, one yields to the
  scheduler, so a socket whose data is always ready cannot starve the other tasks or hold
  up deadlines.

Deadlines are the caller's: a server sets its connection scope's deadline (or its own
timer) once per request, not a scope per wait; ``read_before``/``write_before``
(:class:`backends.interface.Flow`) put a cancel scope around a wait only when one happens
(a read that finds its bytes, a write the kernel takes at once, cost no scope), and a
read whose wait timed out still returns what the kernel holds by then. Backpressure is
the kernel's own: ``write`` waits for room in the socket buffer.

Measured (a loaded 2-core VM), our HTTP server, trio, against the adapter before these
rules. Under wrk -c50 (the client answers each response), CPU per keep-alive request,
the trees alternated in one run: 55 -> 47 µs (asyncio adapter: 32). Saturated (valgrind
slows the server, ten closed-loop clients are always ahead), instructions per request:
plain 57k -> 53k, TLS 93k -> 88k; waiting first always would have made them 90k and
122k. What remains above the asyncio adapter under wrk is trio's own wake-up
(``wait_readable``: an ``epoll_ctl`` per wait, EPOLLONESHOT, and a scheduler step).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import math
import os
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import trio
from anyio._backends._trio import TaskGroup as _AnyioTrioTaskGroup

from . import _mmsg
from ._common import (
    ACCEPT_BACKOFF,
    DATAGRAM_BATCH,
    HOLD_LIMIT,
    YIELD_EVERY,
    AcceptLoop,
    AcceptWarning,
    Closing,
)
from ._runtime import AnyioRuntime
from ._sockutil import (
    ICMP_ERRORS,
    UDP_MAX_PAYLOAD_V4,
    UDP_MAX_PAYLOAD_V6,
    address_of,
    bind_udp,
    check_datagram_size,
    connect_udp,
    connection_addresses,
    file_identity,
    ip_literal,
    listen_tcp,
    listen_unix,
    listening_socket,
    nonblocking_socket,
    receive_buffer,
    resolve,
    set_linger_rst,
    translate,
    udp_recv_context,
    unlink_unix,
)
from .errors import BusyFlow, ClosedFlow, NetworkError, Timeout
from .interface import Address, Backend, CancelScope, DatagramHandler, TaskGroup

log = logging.getLogger("backends")


_WOULD_BLOCK = (BlockingIOError, InterruptedError)

MISSES_TO_WAIT = 4
"""Recvs in a row, each after one that emptied the queue, that found nothing (EAGAIN)
before a flow's reads wait first (see :meth:`TrioFlow.read`)."""

PROBE_EVERY = 8
"""A flow whose reads wait first still tries the kernel first once in this many reads."""

CLOSE_LINGER = 10.0
"""Seconds a closed flow keeps trying to hand the kernel what its writes held, when the
peer had stopped taking bytes as the flusher sent them (then the rest is dropped)."""


class _Paced(Closing):
    """The shared discipline: check cancellation, yield every YIELD_EVERY quick ops."""

    __slots__ = ("_closed", "_quick", "_receive_buffer", "_sock")

    def __init__(self, sock: socket.socket) -> None:
        sock.setblocking(False)
        self._sock = sock
        self._receive_buffer = receive_buffer()
        self._closed = False
        self._quick = 0

    async def _pace(self) -> None:
        self._quick += 1
        if self._quick >= YIELD_EVERY:
            self._quick = 0
            await trio.lowlevel.checkpoint()

    async def _wait_readable(self) -> None:
        self._quick = 0
        try:
            await trio.lowlevel.wait_readable(self._sock)
        except trio.ClosedResourceError:
            raise ClosedFlow("closed while waiting to read") from None
        except trio.BusyResourceError:
            raise BusyFlow("another task is already reading this socket") from None

    async def _wait_writable(self) -> None:
        self._quick = 0
        try:
            await trio.lowlevel.wait_writable(self._sock)
        except trio.ClosedResourceError:
            raise ClosedFlow("closed while waiting to write") from None
        except trio.BusyResourceError:
            raise BusyFlow("another task is already writing this socket") from None

    def _close_socket(self, rst: bool = False) -> None:
        self._closed = True
        if self._sock.fileno() < 0:
            return  # closed already
        if rst:
            set_linger_rst(self._sock)
        trio.lowlevel.notify_closing(self._sock)  # wakes waiters with ClosedResourceError
        self._sock.close()


class _Flusher(trio.abc.Instrument):
    """Sends what flows' writes held during a batch of trio's scheduler, when it ends.

    Trio runs the tasks that are ready at once in a batch, then calls its instruments'
    ``before_io_wait`` and polls. A task's first write on a flow in a step (between two of
    the task's yields: trio counts them, ``Task._schedule_points``) goes out at once. A
    later small ``write`` (up to :data:`HOLD_LIMIT` bytes) of that task in that step, on a
    flow with nothing unsent, does not call ``send`` there and then: the bytes are held
    (no copy of ``bytes``) and the flow is listed here; at the batch's end this sends each
    held flow's bytes in one ``send``. Why: each ``send`` costs a system call and wakes a
    peer asleep in its poll (on a virtual machine an interrupt between CPUs); a task that
    answers many messages from one read (a WebSocket echo of 16-byte messages, 32 in a
    read) measured 2.3x the messages per second in one send each than in 32 (/tmp probe,
    4 connections x 32 in flight, alternated). A server that writes once per request
    holds nothing, so its answer leaves before the task reads again; the instrument is
    installed when a write is held and removes itself after a pass that held nothing, so
    such a server has no hook on its passes. On a trio without
    ``Task._schedule_points`` nothing is held.

    The held bytes are the flow's like unsent bytes: ``write`` has returned; the next
    ``write``, ``sendfile``, ``shutdown_write`` and ``close`` send them first (``abort``
    too, then drops what the kernel did not take). If the kernel takes only part of them
    here (the peer stopped reading), a system task sends the rest as the socket drains
    (:meth:`TrioFlow._drain_unsent`), and a failure to send fails the flow: the next read
    or write raises it.
    """

    __slots__ = ("flows", "installed")

    def __init__(self) -> None:
        self.flows: list[TrioFlow] = []
        self.installed = False

    def hold(self, flow: TrioFlow) -> None:
        """List ``flow``, whose write was just held; installed as an instrument if not."""
        self.flows.append(flow)
        if not self.installed:
            self.installed = True
            trio.lowlevel.add_instrument(self)

    def before_io_wait(self, timeout: float) -> None:
        flows = self.flows
        if not flows:  # a pass that held nothing: no hook on the passes that follow
            self.installed = False
            trio.lowlevel.remove_instrument(self)
            return
        self.flows = []
        for flow in flows:
            if flow._held is not None:  # else sent already (a large write, close)
                flow._send_held(drain=True)


_FLUSHER: trio.lowlevel.RunVar[_Flusher] = trio.lowlevel.RunVar("backends.trio flusher")


def _flusher() -> _Flusher:
    """This run's :class:`_Flusher`."""
    try:
        return _FLUSHER.get()
    except LookupError:
        flusher = _Flusher()
        _FLUSHER.set(flusher)
        return flusher


def _nothing() -> None:
    """A callback whose only effect is that trio's poll returns (see ``_send_held``)."""


class TrioFlow(_Paced):
    """One TCP connection; see :class:`backends.interface.Flow`.

    ``_reading``/``_writing``: a task waits in ``read`` (``write``) for the socket; another
    one is refused with :class:`BusyFlow` before it touches the socket (a second writer's
    bytes would land inside the first one's). ``_unsent``: what a cancelled ``write`` had
    not handed to the kernel yet; the next ``write`` or ``shutdown_write`` sends it first,
    so the stream has no hole. ``_held``/``_held_size``: small writes waiting for the end
    of the scheduler's batch (:class:`_Flusher`). ``_drain``: set while a system task
    sends what the flusher could not (``_unsent`` then belongs to it); ``_failure``: how
    a send outside ``write`` failed, raised by the next read or write.
    """

    __slots__ = (
        "_drain",
        "_drain_scope",
        "_drained",
        "_eof",
        "_failure",
        "_held",
        "_held_size",
        "_local",
        "_misses",
        "_reading",
        "_remote",
        "_skipped",
        "_step",
        "_step_task",
        "_unsent",
        "_write_shut",
        "_writing",
    )

    def __init__(
        self, sock: socket.socket, addresses: tuple[Address, Address] | None = None
    ) -> None:
        """``addresses``: ``(local, remote)`` when the caller knows them (an accepting
        listener does), else they are asked of the socket."""
        super().__init__(sock)
        self._drained = False
        self._misses = 0
        self._skipped = 0
        self._eof = False
        self._write_shut = False
        self._reading = False
        self._writing = False
        self._unsent: bytes | bytearray = b""
        self._held: list[bytes] | None = None
        self._held_size = 0
        self._drain: trio.Event | None = None
        self._drain_scope: trio.CancelScope | None = None
        self._failure: NetworkError | None = None
        # The step (the task, and trio's count of its yields) of the last write sent at once.
        self._step_task: trio.lowlevel.Task | None = None
        self._step: int | None = None
        self._local, self._remote = addresses or connection_addresses(sock)

    @property
    def local(self) -> Address:
        return self._local

    @property
    def remote(self) -> Address:
        return self._remote

    async def read(self, max_bytes: int = 65536, *, deadline: float | None = None) -> bytes:
        """See :class:`backends.interface.Flow`; ``deadline`` is :meth:`read_before`'s."""
        if max_bytes <= 0:
            raise ValueError("max_bytes must be positive")
        if self._reading:
            raise BusyFlow("another task is already reading this flow")
        sock = self._sock
        buffer = self._receive_buffer
        size = max_bytes if max_bytes < len(buffer) else len(buffer)
        # After a recv that emptied the kernel's queue: wait first once such recvs keep
        # finding nothing, with a probe now and then (the module's docstring says why).
        wait = tried = expired = False
        if self._drained and not self._eof and not self._closed:
            if self._misses >= MISSES_TO_WAIT and self._skipped < PROBE_EVERY:
                self._skipped += 1
                wait = True
            else:
                self._skipped = 0
                tried = True
        if not wait:
            await trio.lowlevel.checkpoint_if_cancelled()
        while True:
            if wait:  # the wait, inline: a read that waits is the hot path of a server
                self._reading = True
                self._quick = 0
                try:
                    if deadline is None:
                        await trio.lowlevel.wait_readable(sock)
                    else:  # a scope only around a wait that happens
                        with trio.CancelScope(deadline=deadline) as scope:
                            await trio.lowlevel.wait_readable(sock)
                        expired = scope.cancelled_caught  # what is there still counts
                except trio.ClosedResourceError:
                    raise ClosedFlow("flow closed while reading") from None
                except trio.BusyResourceError:
                    raise BusyFlow("another task is already reading this socket") from None
                finally:
                    self._reading = False
                wait = False
            if self._closed:
                raise ClosedFlow("read on a closed flow")
            if self._failure is not None:
                raise self._failure
            if self._eof:
                await self._pace()
                return b""
            try:
                nbytes = sock.recv_into(buffer, size)
            except _WOULD_BLOCK:
                if expired:
                    raise Timeout("nothing came by the deadline") from None
                if tried:
                    tried = False
                    if self._misses < MISSES_TO_WAIT:
                        self._misses += 1
                wait = True
                continue
            except OSError as exc:
                if self._closed:
                    raise ClosedFlow("flow closed while reading") from exc
                raise translate(exc, "read") from exc
            if tried:
                self._misses = 0
            # TCP hands over all it holds, up to size: less means its queue is empty now
            # (what arrives later raises readiness anew).
            self._drained = nbytes < size
            if not nbytes:
                self._eof = True
                await self._pace()
                return b""
            data = bytes(buffer[:nbytes])  # before any yield: the buffer is shared
            await self._pace()
            return data

    async def write(
        self, data: bytes | bytearray | memoryview, *, deadline: float | None = None
    ) -> None:
        """See :class:`backends.interface.Flow`; ``deadline`` is :meth:`write_before`'s."""
        if self._writing:
            raise BusyFlow("another task is already writing this flow")
        await trio.lowlevel.checkpoint_if_cancelled()
        if self._closed:
            raise ClosedFlow("write on a closed flow")
        if self._write_shut:
            raise ClosedFlow("write after shutdown_write")
        if self._failure is not None:
            raise self._failure
        task = trio.lowlevel.current_task()
        step = getattr(task, "_schedule_points", None)  # trio's count of the task's yields
        if step is not None and step == self._step and task is self._step_task and not self._unsent:
            held = self._held
            size = len(data) if data.__class__ is bytes else memoryview(data).nbytes
            if size and (self._held_size if held else 0) + size <= HOLD_LIMIT:
                chunk = data if data.__class__ is bytes else bytes(data)  # the caller may reuse it
                if held is None:
                    self._held = [chunk]
                    self._held_size = size
                    _flusher().hold(self)
                else:
                    held.append(chunk)
                    self._held_size += size
                await self._pace()
                return
        if self._held is not None:  # what is held goes first (too much held: all now)
            held, self._held = self._held, None
            held.append(data if data.__class__ is bytes else bytes(data))
            data = b"".join(held)
        if self._drain is not None:  # queued behind what the drain sends
            await self._join_drain(data, deadline)
            return
        full = False  # the kernel's send buffer is full: wait for room before a send
        if self._unsent:
            data, self._unsent = self._unsent + memoryview(data).cast("B"), b""
        elif data.__class__ is bytes:  # the kernel takes it all at once, mostly
            try:
                sent = self._sock.send(data)
            except _WOULD_BLOCK:
                sent = 0
            except OSError as exc:
                if self._closed:
                    raise ClosedFlow("flow closed while writing") from exc
                raise translate(exc, "write") from exc
            if sent == len(data):
                self._step = step
                self._step_task = task
                await self._pace()
                return
            data = memoryview(data)[sent:]
            full = True
        # The kernel takes less than all only when its send buffer is full: then the
        # next send waits for room first, rather than fail with EAGAIN.
        with memoryview(data) as raw:
            view = raw if raw.format == "B" and raw.ndim == 1 else raw.cast("B")
            total = len(view)
            sent = 0
            while sent < total:
                if full:
                    self._writing = True
                    try:
                        if deadline is None:
                            await self._wait_writable()
                        else:
                            with trio.CancelScope(deadline=deadline) as scope:
                                await self._wait_writable()
                            if scope.cancelled_caught:
                                self._unsent = view[sent:].tobytes()
                                raise Timeout("the peer took too little by the deadline")
                    except trio.Cancelled:
                        self._unsent = view[sent:].tobytes()
                        raise
                    finally:
                        self._writing = False
                    if self._closed:
                        raise ClosedFlow("flow closed while writing") from None
                try:
                    sent += self._sock.send(view[sent:] if sent else view)
                except _WOULD_BLOCK:
                    full = True
                    continue
                except OSError as exc:
                    if self._closed:
                        raise ClosedFlow("flow closed while writing") from exc
                    raise translate(exc, "write") from exc
                full = sent < total
        await self._pace()

    async def read_before(self, deadline: float, max_bytes: int = 65536) -> bytes:
        """See :class:`backends.interface.Flow`: a cancel scope only around a wait that
        the kernel's queue does not spare."""
        return await self.read(max_bytes, deadline=deadline)

    async def write_before(self, deadline: float, data: bytes | bytearray | memoryview) -> None:
        """See :class:`backends.interface.Flow` and :meth:`read_before`."""
        await self.write(data, deadline=deadline)

    def _send_held(self, drain: bool) -> None:
        """Send what writes held; with ``drain``, a system task sends what the kernel
        does not take now (else it is dropped: ``abort``). Never raises: a failure is kept
        for the next read or write (this runs in trio's instrument hook, too)."""
        held = self._held
        if held is None:
            return
        self._held = None
        data = held[0] if len(held) == 1 else b"".join(held)
        try:
            sent = self._sock.send(data)
        except _WOULD_BLOCK:
            sent = 0
        except OSError as exc:
            self._failure = (
                ClosedFlow("flow closed while writing")
                if self._closed
                else (translate(exc, "write"))
            )
            return
        if sent < len(data) and drain:
            self._unsent = data[sent:]
            self._drain = trio.Event()
            trio.lowlevel.spawn_system_task(self._drain_unsent, name="backends.trio drain")
            # From the flusher's hook the poll's timeout is already chosen: make the
            # poll return so the new task gets to wait for room.
            trio.lowlevel.current_trio_token().run_sync_soon(_nothing)

    async def _drain_unsent(self) -> None:
        """Send ``_unsent`` as the socket drains (a system task; see :class:`_Flusher`):
        until it is all sent, the flow fails, it is aborted, or a ``close`` gave up
        waiting (:data:`CLOSE_LINGER`). A ``close`` meanwhile leaves the socket to this
        task, which closes it at the end."""
        sock = self._sock
        try:
            linger = trio.current_time() + CLOSE_LINGER if self._closed else math.inf
            with trio.CancelScope(deadline=linger) as self._drain_scope:
                while self._unsent and sock.fileno() >= 0:
                    try:
                        await trio.lowlevel.wait_writable(sock)
                        sent = sock.send(self._unsent)
                    except (*_WOULD_BLOCK, trio.ClosedResourceError):
                        continue  # the loop's test says whether to go on
                    except OSError as exc:
                        self._failure = translate(exc, "write")
                        break
                    self._unsent = self._unsent[sent:]
        finally:
            self._unsent = b""  # sent, or dropped with the flow
            self._drain_scope = None
            drain, self._drain = self._drain, None
            if drain is not None:
                drain.set()
            if self._closed:  # close() left the socket to us
                self._close_socket()

    async def _join_drain(
        self, data: bytes | bytearray | memoryview, deadline: float | None
    ) -> None:
        """``write`` while the drain task sends: queue ``data`` behind its bytes (it sends
        them in order) and wait until it has handed all to the kernel."""
        drain = self._drain
        assert drain is not None
        self._unsent += data if data.__class__ is bytes else bytes(data)
        self._writing = True
        try:
            with trio.CancelScope(deadline=math.inf if deadline is None else deadline) as scope:
                await drain.wait()  # a cancelled write leaves its bytes queued, as above
        finally:
            self._writing = False
        if scope.cancelled_caught:
            raise Timeout("the peer took too little by the deadline")
        if self._failure is not None:
            raise self._failure

    async def sendfile(self, fd: int, offset: int, count: int) -> int:
        """Send ``count`` bytes of the open file ``fd`` from ``offset`` with ``os.sendfile``.

        The optional capability of kernel flows (see :class:`backends.interface.Flow`).
        Returns the number of bytes sent, less than ``count`` only if the file ended first.
        """
        if self._writing:
            raise BusyFlow("another task is already writing this flow")
        if self._unsent or self._held is not None or self._drain is not None:
            await self.write(b"")  # what writes held or a cancelled write left goes first
        else:
            await trio.lowlevel.checkpoint_if_cancelled()
        if self._closed:
            raise ClosedFlow("sendfile on a closed flow")
        if self._write_shut:
            raise ClosedFlow("sendfile after shutdown_write")
        sent = 0
        full = False  # as in write: after a short send, wait for room first
        while sent < count:
            if full:
                self._writing = True
                try:
                    await self._wait_writable()
                finally:
                    self._writing = False
                if self._closed:
                    raise ClosedFlow("flow closed while sending a file") from None
            try:
                n = os.sendfile(self._sock.fileno(), fd, offset + sent, count - sent)
            except _WOULD_BLOCK:
                full = True
                continue
            except OSError as exc:
                if self._closed:
                    raise ClosedFlow("flow closed while sending a file") from exc
                raise translate(exc, "sendfile") from exc
            if n == 0:
                break  # the file is shorter than asked
            sent += n
            full = sent < count
        await self._pace()
        return sent

    async def shutdown_write(self) -> None:
        await trio.lowlevel.checkpoint()
        if self._closed:
            raise ClosedFlow("shutdown_write on a closed flow")
        if self._write_shut:
            return
        if self._unsent or self._held is not None or self._drain is not None:
            await self.write(b"")
        self._write_shut = True
        try:
            self._sock.shutdown(socket.SHUT_WR)
        except OSError as exc:
            if exc.errno != errno.ENOTCONN:
                raise translate(exc, "shutdown_write") from exc

    async def close(self) -> None:
        if not self._closed:
            self._send_held(drain=True)
            if self._drain_scope is not None:  # the drain task closes the socket
                self._closed = True
                self._drain_scope.deadline = trio.current_time() + CLOSE_LINGER
            elif self._drain is None:
                self._close_socket()
            else:  # the drain task has not started yet: it closes the socket at its end
                self._closed = True
        await trio.lowlevel.checkpoint_if_cancelled()

    def abort(self) -> None:
        # Held bytes are sent first, as write would have sent them before the flusher:
        # the kernel takes what it can, the rest is dropped with the unsent bytes.
        if self._held is not None and self._failure is None and not self._closed:
            self._send_held(drain=False)
        self._held = None
        self._unsent = b""
        self._close_socket(rst=True)  # wakes a drain task, which then ends


class TrioListener(_Paced, AcceptLoop):
    """A listening TCP socket; see :class:`backends.interface.Listener`."""

    __slots__ = ("_accept_warning", "_address", "_local", "_nodelay")

    def __init__(self, sock: socket.socket) -> None:
        super().__init__(sock)
        self._address = address_of(sock.getsockname())
        self._accept_warning = AcceptWarning()
        self._nodelay = sock.family != socket.AF_UNIX  # TCP_NODELAY: TCP only
        literal = ip_literal(self._address[0]) if self._nodelay else None
        self._local: Address | None = (
            None if self._nodelay and (literal is None or literal.is_unspecified) else self._address
        )
        """Every connection's local address, unless the socket listens on a wildcard one."""

    @property
    def address(self) -> Address:
        return self._address

    async def accept(self) -> TrioFlow:
        await trio.lowlevel.checkpoint_if_cancelled()
        while True:
            if self._closed:
                raise ClosedFlow("accept on a closed listener")
            try:
                conn, peer = self._sock.accept()
            except _WOULD_BLOCK:
                await self._wait_readable()
                continue
            except OSError as exc:
                if self._closed:
                    raise ClosedFlow("listener closed while accepting") from exc
                if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    self._accept_warning.failed(self._address, exc)
                    await trio.sleep(ACCEPT_BACKOFF)
                    continue
                if exc.errno in (errno.ECONNABORTED, errno.EPROTO):
                    continue
                raise translate(exc, "accept") from exc
            try:
                if self._nodelay:
                    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                # The peer's address came with the connection, and the local one is the
                # listener's unless it is a wildcard: no getpeername/getsockname.
                local = self._local or address_of(conn.getsockname())
                flow = TrioFlow(conn, (local, address_of(peer)))
            except OSError:
                conn.close()  # reset before we could look at it
                continue
            await self._pace()
            return flow

    async def close(self) -> None:
        self._close_socket()
        await trio.lowlevel.checkpoint_if_cancelled()


class TrioUnixListener(TrioListener):
    """A listening Unix socket (:meth:`TrioBackend.listen_unix`): removes its socket file
    when closed."""

    __slots__ = ("_identity", "_path")

    def __init__(self, path: str, mode: int | None, backlog: int) -> None:
        super().__init__(listen_unix(path, mode, backlog))
        self._path = path
        self._identity = file_identity(path)

    async def close(self) -> None:
        if not self._closed:
            unlink_unix(self._path, self._identity)
        await super().close()


class TrioDatagram(_Paced):
    """A bound UDP socket; see :class:`backends.interface.DatagramEndpoint`."""

    __slots__ = ("_address", "_peer", "max_datagram_size")

    def __init__(self, sock: socket.socket, family: int, peer: Address | None = None) -> None:
        super().__init__(sock)
        self._address = address_of(sock.getsockname())
        self._peer = peer
        self.max_datagram_size = (
            UDP_MAX_PAYLOAD_V6 if family == socket.AF_INET6 else UDP_MAX_PAYLOAD_V4
        )

    @property
    def address(self) -> Address:
        return self._address

    async def recv(self, *, timeout: float | None = None) -> tuple[bytes, Address]:
        await trio.lowlevel.checkpoint_if_cancelled()
        deadline = None if timeout is None else trio.current_time() + timeout
        while True:
            if self._closed:
                raise ClosedFlow("recv on a closed datagram endpoint")
            try:
                nbytes, addr = self._sock.recvfrom_into(self._receive_buffer)
            except _WOULD_BLOCK:
                if deadline is None:
                    await self._wait_readable()
                elif trio.current_time() >= deadline:
                    raise Timeout(f"no datagram within {timeout:g}s") from None
                else:
                    with trio.move_on_at(deadline):
                        await self._wait_readable()
                continue
            except OSError as exc:
                if self._closed:
                    raise ClosedFlow("endpoint closed while receiving") from exc
                if exc.errno in ICMP_ERRORS and self._peer is None:
                    continue  # an ICMP error for an earlier send: unconnected UDP ignores it
                raise translate(exc, udp_recv_context(self._peer)) from exc
            data = bytes(self._receive_buffer[:nbytes])
            await self._pace()
            return data, address_of(addr)

    async def send(self, data: bytes | bytearray | memoryview, address: Address) -> None:
        await trio.lowlevel.checkpoint_if_cancelled()
        check_datagram_size(len(data), self.max_datagram_size)
        while True:
            if self._closed:
                raise ClosedFlow("send on a closed datagram endpoint")
            try:
                self._sock.sendto(data, address)
            except _WOULD_BLOCK:
                await self._wait_writable()
                continue
            except OSError as exc:
                if exc.errno in ICMP_ERRORS and self._peer is None:
                    break  # an ICMP error from an earlier datagram surfaced here
                raise translate(exc, f"send to {address[0]}:{address[1]}") from exc
            break
        await self._pace()

    async def serve(self, handler: DatagramHandler) -> None:
        """See :meth:`backends.interface.DatagramEndpoint.serve`: one loop over the
        socket until the kernel has nothing or no room, a checkpoint every
        :data:`DATAGRAM_BATCH` datagrams answered without waiting. Where
        :mod:`backends._mmsg` is available, each turn reads what is waiting with one
        ``recvmmsg`` and sends the replies with one ``sendmmsg``; elsewhere ``recvfrom``
        and ``sendto`` per datagram, the handler called in between."""
        await trio.lowlevel.checkpoint_if_cancelled()
        if _mmsg.AVAILABLE:
            await self._serve_batches(handler, _mmsg.DatagramBatch(self._sock, DATAGRAM_BATCH))
            return
        sock = self._sock
        recvfrom, sendto = sock.recvfrom, sock.sendto
        limit = size = self.max_datagram_size
        quick = 0
        while True:
            if self._closed:
                return
            try:
                # The datagram's own bytes: no shared buffer to copy out of.
                data, addr = recvfrom(size)
            except _WOULD_BLOCK:
                quick = 0
                try:
                    await self._wait_readable()
                except ClosedFlow:
                    return
                continue
            except OSError as exc:
                if self._closed:
                    return
                if exc.errno in ICMP_ERRORS and self._peer is None:
                    continue  # for an earlier reply: an unconnected endpoint ignores it
                raise translate(exc, udp_recv_context(self._peer)) from exc
            address = addr if len(addr) == 2 else address_of(addr)  # IPv6: sendto keeps scope
            try:
                reply = handler(data, address)
            except Exception:  # must not stop the serving of others
                log.exception("datagram handler failed for %r from %s", data[:64], address)
                reply = None
            if reply is not None and len(reply) > limit:
                log.debug("UDP reply to %s of %d bytes: too large", address, len(reply))
            elif reply is not None:
                try:
                    sendto(reply, addr)
                except _WOULD_BLOCK:
                    quick = 0
                    if not await self._reply(reply, addr):
                        return
                except OSError as exc:
                    log.debug("UDP reply to %s not sent: %s", address, exc)
            quick += 1
            if quick >= DATAGRAM_BATCH:
                quick = 0
                await trio.lowlevel.checkpoint()

    async def _serve_batches(self, handler: DatagramHandler, batch: _mmsg.DatagramBatch) -> None:
        limit = self.max_datagram_size
        while not self._closed:
            try:
                count, unsent = batch.answer(handler, limit)
            except OSError as exc:
                if self._closed:
                    return
                if exc.errno in ICMP_ERRORS and self._peer is None:
                    continue  # for an earlier reply: an unconnected endpoint ignores it
                raise translate(exc, udp_recv_context(self._peer)) from exc
            for reply, addr in unsent:
                if not await self._reply(reply, addr):
                    return
            try:
                if count < batch.slots:  # the kernel had no more: wait for the next
                    await self._wait_readable()
                else:
                    await trio.lowlevel.checkpoint()
            except ClosedFlow:
                return

    async def _reply(self, reply: bytes | bytearray | memoryview, addr: Any) -> bool:
        """Send one reply, waiting for room in the send buffer (a failure is logged and
        the reply dropped); ``False`` when the endpoint was closed meanwhile."""
        while True:
            try:
                self._sock.sendto(reply, addr)
            except _WOULD_BLOCK:
                try:
                    await self._wait_writable()
                except ClosedFlow:
                    return False
                continue
            except OSError as exc:
                log.debug("UDP reply to %s:%s not sent: %s", addr[0], addr[1], exc)
            return True

    async def close(self) -> None:
        self._close_socket()
        await trio.lowlevel.checkpoint_if_cancelled()


async def _connect_one(family: int, sockaddr: Any) -> socket.socket:
    sock = nonblocking_socket(family, socket.SOCK_STREAM)
    try:
        err = sock.connect_ex(sockaddr)
        if err in (errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EAGAIN):
            await trio.lowlevel.wait_writable(sock)
            err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            raise OSError(err, errno.errorcode.get(err, "connect failed"))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock
    except BaseException:
        trio.lowlevel.notify_closing(sock)
        sock.close()
        raise


async def _connect(host: str, port: int) -> TrioFlow:
    """A flow to the first of ``host``'s addresses that accepts, else the last error."""
    last: NetworkError | None = None
    for family, _, _, _, sockaddr in await resolve(
        trio.socket.getaddrinfo, host, port, socket.SOCK_STREAM
    ):
        try:
            sock = await _connect_one(family, sockaddr)
        except OSError as exc:
            last = translate(exc, f"connect to {host}:{port}")
            continue
        return TrioFlow(sock)
    assert last is not None
    raise last


class _TrioTaskGroup(_AnyioTrioTaskGroup):
    """anyio's trio task group, whose ``start_soon`` goes straight to the trio nursery it
    wraps: without anyio's task handle per child (a wrapper coroutine, a cancel scope and
    an event, for ``TaskHandle``, which :class:`backends.interface.TaskGroup` does not
    offer). The nursery's own scope and exception groups are the semantics either way.
    Measured here (a loaded 2-core VM): 41-54 µs of CPU per child through anyio, 11-16
    through the nursery; a server spawns a child per connection."""

    def start_soon(  # type: ignore[override,misc]
        self, func: Callable[..., Any], *args: Any, name: object = None
    ) -> None:
        if not _LEAN_TRIO_START_SOON:
            super().start_soon(func, *args, name=name)
            return
        self._check_active()
        self._nursery.start_soon(func, *args, name=name)


_LEAN_TRIO_START_SOON = hasattr(_TrioTaskGroup, "_check_active")
"""Whether this anyio's trio task group has the ``_check_active``/``_nursery`` that
:meth:`_TrioTaskGroup.start_soon` uses (anyio 4.x does); else anyio's own ``start_soon``."""


class TrioBackend(AnyioRuntime):
    """The trio :class:`backends.interface.Backend`."""

    name = "trio"
    resolves_names = True

    def task_group(self) -> TaskGroup:
        return _TrioTaskGroup()

    def now(self) -> float:
        # anyio's clock on trio (what its deadlines use), without anyio's backend lookup
        return trio.current_time()

    def move_on_after(self, seconds: float) -> CancelScope:
        # trio's own scope, which anyio's wraps on trio: the same semantics at half the
        # cost. move_on_at, because anyio (unlike trio.move_on_after) accepts seconds < 0.
        return trio.move_on_at(trio.current_time() + seconds)

    async def tcp_listen(self, host: str, port: int, *, backlog: int = 1024) -> TrioListener:
        family, _, _, _, sockaddr = (
            await resolve(trio.socket.getaddrinfo, host, port, socket.SOCK_STREAM, passive=True)
        )[0]
        sock = listen_tcp(family, sockaddr, host, port, backlog)
        await trio.lowlevel.checkpoint()
        return TrioListener(sock)

    async def listen_unix(
        self, path: str, *, mode: int | None = None, backlog: int = 1024
    ) -> TrioListener:
        listener = TrioUnixListener(path, mode, backlog)
        await trio.lowlevel.checkpoint()
        return listener

    async def listen_fd(self, fd: int, *, backlog: int = 1024) -> TrioListener:
        listener = TrioListener(listening_socket(fd))
        await trio.lowlevel.checkpoint()
        return listener

    async def tcp_connect(self, host: str, port: int, *, timeout: float | None = None) -> TrioFlow:
        if timeout is None:  # no deadline: no cancel scope either
            return await _connect(host, port)
        with trio.move_on_after(timeout):
            return await _connect(host, port)
        raise Timeout(f"connect to {host}:{port} timed out after {timeout:g}s")

    async def udp_bind(self, host: str, port: int) -> TrioDatagram:
        family, _, _, _, sockaddr = (
            await resolve(trio.socket.getaddrinfo, host, port, socket.SOCK_DGRAM, passive=True)
        )[0]
        sock = bind_udp(family, sockaddr, host, port)
        await trio.lowlevel.checkpoint()
        return TrioDatagram(sock, family)

    async def udp_connect(self, host: str, port: int) -> TrioDatagram:
        family, _, _, _, sockaddr = (
            await resolve(trio.socket.getaddrinfo, host, port, socket.SOCK_DGRAM)
        )[0]
        sock = connect_udp(family, sockaddr, host, port)
        await trio.lowlevel.checkpoint()
        return TrioDatagram(sock, family, address_of(sock.getpeername()))

    async def aclose(self) -> None:
        return None


def host_loop(**options: Any) -> str:
    """This adapter runs on a trio loop."""
    if options:
        raise TypeError(f"the trio backend takes no options, got {sorted(options)}")
    return "trio"


@contextlib.asynccontextmanager
async def open_backend(**options: Any) -> AsyncIterator[Backend]:
    """The trio backend."""
    host_loop(**options)
    yield TrioBackend()
