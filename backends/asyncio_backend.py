"""The asyncio adapter: plain non-blocking sockets driven by the loop's readiness callbacks.

No transports or protocols in between: a flow registers its socket with the loop
(``add_reader``) and the loop calls it back when bytes arrive. It receives them into the
thread's one buffer (:func:`receive_buffer`), copies out what arrived, and hands that
straight to a reader parked in ``read`` (no queue), or queues it. A small ``write`` made
while other callbacks wait in the loop pass is held to its end and sent then with every
other flow's (:class:`_Flusher`, one ``send`` per flow however many writes); a large or a
lone one calls ``send`` at once; whatever the kernel does not take waits in a queue that
``add_writer``'s callback drains. Per request/response exchange that is one callback and one
system call each way.

Where the batching is, under load: every readiness callback of one pass receives, every task
of the next pass answers (the parked reader's task runs a pass later, asyncio's
``call_soon``), and the pass after that sends all the answers back to back. Sending them as
each task wrote them woke the peer (wrk, on the other CPU) once per answer: about a tenth of
the server's CPU time per request went to that wake-up (perf, ``send`` ->
``sock_def_readable``); held to the end of the pass, a raw ASGI hello did 1.21x [1.14..1.23]
the requests and 1.19x [1.16..1.20] per CPU-second, in simultaneous runs against the tree
before (two wrk -c50 at once, both servers on one core). Resuming the task inside the
readiness callback instead was measured twice: first as a future subclass keeping the task's
wake-up aside (86.0k -> 80.1k instructions per keep-alive request, callgrind, but with wrk
-c50 26 -> 33 µs of CPU per request, wrk -c10 over TLS 57 -> 66 µs), then as one
Future-compatible waiter per flow (79.5k -> 73.9k instructions, yet 0.95x the requests and
the CPU-seconds per request in the same simultaneous runs, and 0.976x on top of the held
writes): answering inside the readiness callback spreads the sends out, and each wakes the
peer again.

Deadlines without cancel scopes: ``read_before`` and ``write_before``
(:meth:`backends.interface.Flow.read_before`) share one lazy timer per flow (``loop.call_at``),
which wakes the flow's waiter when its deadline is due.

Backpressure both ways: reading pauses (``remove_reader``) above :data:`READ_HIGH_WATER`
queued bytes and resumes below :data:`READ_LOW_WATER`; ``write`` waits while more than
:data:`WRITE_HIGH_WATER` bytes are unsent, until no more than :data:`WRITE_LOW_WATER` are.

Runs on uvloop as well (``backends.run(main, "asyncio", uvloop=True)``).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import errno
import logging
import math
import os
import socket
import weakref
from collections.abc import AsyncIterator
from typing import Any

from . import _mmsg
from ._chunks import take
from ._common import (
    ACCEPT_BACKOFF,
    DATAGRAM_BATCH,
    HOLD_LIMIT,
    YIELD_EVERY,
    AcceptLoop,
    AcceptWarning,
    Closing,
    DatagramServing,
    run_handler,
)
from ._runtime import AsyncioRuntime
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
from .interface import Address, Backend, DatagramHandler, Flow, Handler

log = logging.getLogger("backends")


_EXPIRED: Any = object()
"""What a deadline's timer wakes a flow's waiter with."""

_NEVER = math.inf


def _name(address: Address) -> str:
    host, port = address
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


READ_HIGH_WATER = 256 * 1024
READ_LOW_WATER = 64 * 1024
WRITE_HIGH_WATER = 64 * 1024
WRITE_LOW_WATER = 16 * 1024
ACCEPT_BATCH = 64
"""Connections one readiness callback accepts before other callbacks get a turn."""

_ALWAYS = (True,)
"""A queue of callbacks that never looks empty (see ``AsyncioFlow._others``)."""

_WOULD_BLOCK = (BlockingIOError, InterruptedError)


class _Flusher:
    """Sends what flows' writes held during a pass of the loop, all at once, a pass later.

    A small ``write`` on a flow with nothing unsent, while other callbacks wait to run in
    the loop's pass, does not call ``send`` there and then: the bytes are held (no copy of
    ``bytes``) and the flow is listed here; one callback (``call_soon``, once per pass
    whatever the number of flows) sends every held flow's bytes back to back, several
    writes of one flow in one ``send``. Why: each ``send`` to a peer asleep in its poll
    wakes it, and on a virtual machine waking a task on another CPU is an interrupt
    between CPUs, about a tenth of a loopback server's CPU time per request (perf:
    ``sock_def_readable`` under ``send``); answers sent back to back find the peer awake
    already. A write with nothing else to run in the pass is sent at once: holding it
    would only cost a pass of the loop (one keep-alive connection, instructions per raw
    ASGI request: 100.4k before, 121.0k holding every write, 102.1k so). The held bytes
    are the flow's like queued unsent bytes: ``write`` has returned, ``close``,
    ``shutdown_write`` and ``abort`` send them first (``abort`` then drops what the
    kernel did not take), and a failure to send them fails the flow (the next read or
    write raises it).
    """

    __slots__ = ("_flows", "_loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._flows: list[AsyncioFlow] = []

    def run(self) -> None:
        flows = self._flows
        self._flows = []
        for flow in flows:  # flow._send_held() inlined: the call cost 1.2% per held write
            held = flow._held
            if held is not None:  # else sent already (close, a large write) or dropped
                flow._held = None
                flow._send_now(held[0] if len(held) == 1 else b"".join(held))


_FLUSHERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Flusher] = (
    weakref.WeakKeyDictionary()
)


def _flusher(loop: asyncio.AbstractEventLoop) -> _Flusher:
    flusher = _FLUSHERS.get(loop)
    if flusher is None:
        flusher = _FLUSHERS[loop] = _Flusher(loop)
    return flusher


def _wake(waiter: asyncio.Future[Any] | None, value: Any = None) -> None:
    """Complete ``waiter`` with ``value``, unless there is none or it is already done."""
    if waiter is not None and not waiter.done():
        waiter.set_result(value)


class AsyncioFlow(Closing):
    """One TCP connection; see :class:`backends.interface.Flow` for the contract.

    ``_closed``: the user closed or aborted the flow (no more reads or writes); the socket
    itself stays open after a graceful ``close`` until the queued bytes are sent.
    """

    __slots__ = (
        "_buffered",
        "_chunks",
        "_closed",
        "_drain_waiter",
        "_eof",
        "_error",
        "_fd",
        "_flusher",
        "_held",
        "_held_size",
        "_local",
        "_loop",
        "_others",
        "_read_deadline",
        "_read_waiter",
        "_reading",
        "_receive_buffer",
        "_remote",
        "_sock",
        "_timer",
        "_timer_at",
        "_unsent",
        "_write_deadline",
        "_write_shut",
        "_writing",
    )

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        sock: socket.socket,
        addresses: tuple[Address, Address] | None = None,
    ) -> None:
        """``addresses``: ``(local, remote)`` when the caller knows them (an accepting
        listener does), else they are asked of the socket."""
        self._loop = loop
        self._sock = sock
        self._fd = sock.fileno()
        self._receive_buffer = receive_buffer()
        self._chunks: collections.deque[bytes] = collections.deque()
        self._buffered = 0
        self._unsent = bytearray()
        self._held: list[bytes] | None = None  # written, sent at the end of the pass
        self._held_size = 0  # their bytes, while there are any
        self._flusher = _flusher(loop)
        # The loop's queue of callbacks to run (asyncio's own loop); on another loop
        # (uvloop) its length is unknown: writes are always held.
        self._others: Any = getattr(loop, "_ready", _ALWAYS)
        self._eof = False
        self._error: NetworkError | None = None
        self._closed = False
        self._write_shut = False
        self._read_waiter: asyncio.Future[Any] | None = None
        self._drain_waiter: asyncio.Future[Any] | None = None
        self._read_deadline = self._write_deadline = self._timer_at = _NEVER
        self._timer: asyncio.TimerHandle | None = None
        self._writing = False
        self._local, self._remote = addresses or connection_addresses(sock)
        loop.add_reader(self._fd, self._on_readable)
        self._reading = True

    # -- the loop's callbacks -------------------------------------------------------

    def _on_readable(self) -> None:
        try:
            nbytes = self._sock.recv_into(self._receive_buffer)
        except _WOULD_BLOCK:
            return
        except OSError as exc:
            self._fail(translate(exc, "connection lost"))
            return
        waiter = self._read_waiter
        if not nbytes:
            self._eof = True
            self._stop_reading()
            _wake(waiter, b"")
            return
        data = bytes(self._receive_buffer[:nbytes])  # before anything else: shared buffer
        self._read_waiter = None
        if waiter is not None and not waiter.done() and not self._chunks:
            waiter.set_result(data)  # straight to the parked reader, no queue
            return
        self._chunks.append(data)
        self._buffered += nbytes
        if self._buffered > READ_HIGH_WATER:
            self._stop_reading()  # paused: _take resumes below READ_LOW_WATER
        _wake(waiter, b"")

    def _on_writable(self) -> None:
        unsent = self._unsent
        try:
            sent = self._sock.send(unsent)
        except _WOULD_BLOCK:
            return
        except OSError as exc:
            self._fail(translate(exc, "write"))
            return
        del unsent[:sent]
        if not unsent:
            self._stop_writing()
            if self._closed:
                self._close_socket()  # a graceful close waited for these bytes
            elif self._write_shut:
                self._shutdown_socket()
        if len(unsent) <= WRITE_LOW_WATER:
            _wake(self._drain_waiter)

    # -- state changes ----------------------------------------------------------------

    def _stop_reading(self) -> None:
        if self._reading:
            self._reading = False
            self._loop.remove_reader(self._fd)

    def _stop_writing(self) -> None:
        if self._writing:
            self._writing = False
            self._loop.remove_writer(self._fd)

    def _fail(self, error: NetworkError) -> None:
        """The connection broke: stop both directions, wake everyone waiting."""
        if self._error is None:
            self._error = error
        self._eof = True
        self._unsent.clear()
        self._held = None
        self._stop_reading()
        self._stop_writing()
        if self._closed:
            self._close_socket()
        _wake(self._read_waiter, b"")
        _wake(self._drain_waiter)

    def _shutdown_socket(self) -> None:
        try:
            self._sock.shutdown(socket.SHUT_WR)
        except OSError as exc:
            if exc.errno != errno.ENOTCONN:  # already reset: reads will report it
                self._fail(translate(exc, "shutdown_write"))

    def _close_socket(self) -> None:
        self._stop_reading()
        self._stop_writing()
        self._sock.close()

    # -- Flow ------------------------------------------------------------------------

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
        if self._read_waiter is not None:
            raise BusyFlow("another task is already reading this flow")
        while True:
            if self._closed:
                raise ClosedFlow("read on a closed flow")
            if self._chunks:
                return self._take(max_bytes)
            if self._error is not None:
                raise self._error
            if self._eof:
                return b""
            # Woken with the bytes that arrived (_on_readable hands them over), with b""
            # to look again (more data queued, EOF, an error, close), or at the deadline.
            waiter: asyncio.Future[Any] = asyncio.Future(loop=self._loop)
            if deadline is not None:
                self._read_deadline = deadline
                if deadline < self._timer_at:
                    self._arm(deadline)
            self._read_waiter = waiter
            try:
                data = await waiter
            except BaseException:
                kept = waiter.result() if waiter.done() and not waiter.cancelled() else None
                if kept and kept is not _EXPIRED:
                    # Cancelled after the bytes were handed over: keep them for the next read.
                    self._chunks.appendleft(kept)
                    self._buffered += len(kept)
                raise
            finally:
                self._read_waiter = None
                if deadline is not None:
                    self._read_deadline = _NEVER
            if data:
                if data is _EXPIRED:
                    raise Timeout(f"read from {_name(self._remote)}: nothing came by the deadline")
                if len(data) <= max_bytes:
                    return data  # type: ignore[no-any-return]
                self._chunks.appendleft(data[max_bytes:])
                self._buffered += len(data) - max_bytes
                return data[:max_bytes]  # type: ignore[no-any-return]

    async def read_before(self, deadline: float, max_bytes: int = 65536) -> bytes:
        """See :meth:`backends.interface.Flow.read_before`: the flow's timer, no cancel scope."""
        return await self.read(max_bytes, deadline=deadline)

    # -- deadlines: one lazy timer per flow ---------------------------------------------
    #
    # A wait with a deadline records it and makes sure the flow's one timer fires no later
    # (arming it only when it would fire later, or is not armed); a wait that ends leaves
    # the timer as it is. When it fires it wakes the waits that are due with _EXPIRED and
    # re-arms for the earliest that is not. A caller whose deadlines move forward (an idle
    # timeout renewed per message) so costs a timer per expiry of the first deadline, not
    # a call_at and a cancel per wait. Measured with callgrind, instructions per round trip
    # of a one-byte ping-pong between two flows in one process, the read waiting each time:
    # 47.8k with plain reads, 56.4k with read_before, 90.0k with the read under anyio's
    # move_on_after (TLS over it: 74.9k, 85.2k, 117.6k). A call_at and a cancel per wait
    # cost about 20k where this timer costs 8.6k.

    def _arm(self, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._loop.call_at(when, self._on_deadline)
        self._timer_at = when

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
            self._timer_at = _NEVER

    def _on_deadline(self) -> None:
        self._timer = None
        self._timer_at = _NEVER
        now = self._loop.time()
        reader, writer = self._read_waiter, self._drain_waiter
        later = min(
            self._read_deadline if reader is not None and self._read_deadline > now else _NEVER,
            self._write_deadline if writer is not None and self._write_deadline > now else _NEVER,
        )
        if later < _NEVER:
            self._arm(later)
        if writer is not None and self._write_deadline <= now:
            _wake(writer, _EXPIRED)
        if reader is not None and self._read_deadline <= now:
            _wake(reader, _EXPIRED)

    def _take(self, max_bytes: int) -> bytes:
        data = take(self._chunks, max_bytes)
        self._buffered -= len(data)
        if (
            not self._reading  # paused, or stopped for good by EOF, an error or close
            and self._buffered <= READ_LOW_WATER
            and not self._eof
            and not self._closed
        ):
            self._loop.add_reader(self._fd, self._on_readable)
            self._reading = True
        return data

    async def write(
        self, data: bytes | bytearray | memoryview, *, deadline: float | None = None
    ) -> None:
        """See :class:`backends.interface.Flow`; ``deadline`` is :meth:`write_before`'s."""
        if self._drain_waiter is not None:
            raise BusyFlow("another task is already writing this flow")
        if self._closed:
            raise ClosedFlow("write on a closed flow")
        if self._write_shut:
            raise ClosedFlow("write after shutdown_write")
        if self._error is not None:
            raise self._error
        unsent = self._unsent
        size = len(data) if data.__class__ is bytes else memoryview(data).nbytes
        held = self._held
        if not unsent and size <= HOLD_LIMIT:
            # Held for the end of the pass (_Flusher) while other callbacks are still to
            # run in it, whose answers can go with this one, and up to HOLD_LIMIT bytes.
            if held is None:
                if self._others:
                    self._held = [data if data.__class__ is bytes else bytes(data)]
                    self._held_size = size
                    flows = self._flusher._flows
                    if not flows:  # the first flow held in this pass: flush at its end
                        self._loop.call_soon(self._flusher.run)
                    flows.append(self)
                    return
            elif self._held_size + size <= HOLD_LIMIT:
                held.append(data if data.__class__ is bytes else bytes(data))
                self._held_size += size
                return
        if held is not None:
            self._send_held()  # what is held goes first
        if unsent:
            unsent += data
        else:
            self._send_now(data)
        if self._error is not None:
            raise self._error
        while len(unsent) > WRITE_HIGH_WATER:
            waiter: asyncio.Future[Any] = asyncio.Future(loop=self._loop)
            if deadline is not None:
                self._write_deadline = deadline
                if deadline < self._timer_at:
                    self._arm(deadline)
            self._drain_waiter = waiter
            try:
                woken = await waiter
            finally:
                self._drain_waiter = None
                if deadline is not None:
                    self._write_deadline = _NEVER
            if self._closed:
                raise ClosedFlow("flow closed while writing")
            if self._error is not None:
                raise self._error
            if woken is _EXPIRED:  # the rest stays queued, as after a cancelled write
                raise Timeout(
                    f"write to {_name(self._remote)}: the peer read too little by the deadline"
                )

    def _send_now(self, data: bytes | bytearray | memoryview) -> None:
        """Send ``data`` with nothing unsent before it; queue what the kernel refuses."""
        try:
            sent = self._sock.send(data)
        except _WOULD_BLOCK:
            sent = 0
        except OSError as exc:
            self._fail(translate(exc, "write"))
            return
        if sent < (len(data) if data.__class__ is bytes else memoryview(data).nbytes):
            self._unsent += memoryview(data).cast("B")[sent:]
            if not self._writing:
                self._writing = True
                self._loop.add_writer(self._fd, self._on_writable)

    def _send_held(self) -> None:
        """Send the bytes writes held (:class:`_Flusher`); queue what the kernel refuses."""
        held = self._held
        if held is None:
            return  # sent already (close, a large write), or dropped (abort, a failure)
        self._held = None
        self._send_now(held[0] if len(held) == 1 else b"".join(held))

    async def write_before(self, deadline: float, data: bytes | bytearray | memoryview) -> None:
        """See :meth:`backends.interface.Flow.write_before`: as :meth:`read_before`, on the
        wait for the peer to take our bytes."""
        await self.write(data, deadline=deadline)

    async def sendfile(self, fd: int, offset: int, count: int) -> int:
        """Send ``count`` bytes of the open file ``fd`` from ``offset`` with ``os.sendfile``.

        The optional capability of kernel flows (see :class:`backends.interface.Flow`): the
        bytes go from the page cache to the socket without a copy through Python. Returns
        the number of bytes sent, less than ``count`` only if the file ended first.
        """
        if self._drain_waiter is not None:
            raise BusyFlow("another task is already writing this flow")
        if self._closed:
            raise ClosedFlow("sendfile on a closed flow")
        if self._write_shut:
            raise ClosedFlow("sendfile after shutdown_write")
        self._send_held()
        sent = 0
        while True:
            if self._error is not None:
                raise self._error
            if not self._unsent and sent < count:
                try:
                    n = os.sendfile(self._fd, fd, offset + sent, count - sent)
                except _WOULD_BLOCK:
                    n = -1
                except OSError as exc:
                    if exc.errno in (errno.EBADF, errno.EINVAL) and self._closed:
                        raise ClosedFlow("flow closed while sending a file") from exc
                    error = translate(exc, "sendfile")
                    self._fail(error)
                    raise error from exc
                if n == 0:
                    return sent  # the file is shorter than asked
                if n > 0:
                    sent += n
                    continue
            elif sent >= count:
                return sent
            # Wait for room: queued bytes first (_on_writable wakes us as they drain),
            # then the socket's own buffer.
            # With nothing queued, _on_writable only wakes us and stops watching.
            waiter: asyncio.Future[Any] = asyncio.Future(loop=self._loop)
            self._drain_waiter = waiter
            if not self._writing:
                self._writing = True
                self._loop.add_writer(self._fd, self._on_writable)
            try:
                await waiter
            finally:
                self._drain_waiter = None
            if self._closed:
                raise ClosedFlow("flow closed while sending a file")

    async def shutdown_write(self) -> None:
        if self._closed:
            raise ClosedFlow("shutdown_write on a closed flow")
        if self._write_shut:
            return
        self._write_shut = True
        self._send_held()
        if not self._unsent and self._error is None:
            self._shutdown_socket()  # else after the queued bytes (_on_writable)
            if self._error is not None:
                raise self._error

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._stop_reading()
        self._disarm()
        self._send_held()
        if not self._unsent:
            self._close_socket()  # else once the queued bytes are sent (_on_writable)
        _wake(self._read_waiter, b"")
        _wake(self._drain_waiter)

    def abort(self) -> None:
        # Held bytes are sent first, as write would have sent them before the flusher:
        # the kernel takes what it can, the rest is dropped with the unsent bytes.
        if self._held is not None and self._error is None and self._sock.fileno() >= 0:
            self._send_held()
        self._closed = True
        self._unsent.clear()
        self._held = None
        self._disarm()
        if self._sock.fileno() >= 0:  # not closed yet (or still sending after close)
            set_linger_rst(self._sock)
            self._close_socket()
        _wake(self._read_waiter, b"")
        _wake(self._drain_waiter)


class AsyncioListener(AcceptLoop):
    """A listening TCP socket; see :class:`backends.interface.Listener`.

    The loop calls it back when connections wait in the kernel's queue. With a handler
    (:meth:`serve`), each accepted flow gets a task at once; otherwise flows queue for
    :meth:`accept`, and accepting pauses once ``backlog`` of them wait (the kernel's own
    queue then holds the rest).
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, sock: socket.socket, backlog: int) -> None:
        self._loop = loop
        self._sock = sock
        self._fd = sock.fileno()
        self._address: Address = address_of(sock.getsockname())
        literal = ip_literal(self._address[0])
        self._local: Address | None = (
            None if literal is None or literal.is_unspecified else self._address
        )
        """Every connection's local address, unless the socket listens on a wildcard one."""
        self._nodelay = sock.family != socket.AF_UNIX  # TCP_NODELAY: TCP only
        if not self._nodelay:
            self._local = self._address
        self._pending: collections.deque[AsyncioFlow] = collections.deque()
        self._backlog = backlog
        self._accept_waiter: asyncio.Future[None] | None = None
        self._accept_warning = AcceptWarning()
        self._handler: Handler | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False
        self._closed_event = asyncio.Event()
        self._accepting = False
        self._start_accepting()

    def _start_accepting(self) -> None:
        if not self._accepting and not self._closed:
            self._accepting = True
            self._loop.add_reader(self._fd, self._on_acceptable)

    def _stop_accepting(self) -> None:
        if self._accepting:
            self._accepting = False
            self._loop.remove_reader(self._fd)

    def _on_acceptable(self) -> None:
        for _ in range(ACCEPT_BATCH):
            try:
                conn, peer = self._sock.accept()
            except _WOULD_BLOCK:
                return
            except OSError as exc:
                if exc.errno in (errno.ECONNABORTED, errno.EPROTO):
                    continue  # the client gave up while queued
                # Out of descriptors or memory (EMFILE, ENFILE, ENOBUFS...): back off a
                # little rather than spin on a socket that stays readable.
                self._accept_warning.failed(self._address, exc)
                self._stop_accepting()
                self._loop.call_later(ACCEPT_BACKOFF, self._start_accepting)
                return
            try:
                conn.setblocking(False)
                if self._nodelay:
                    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                # The peer's address came with the connection, and the local one is
                # the listener's unless it is a wildcard: no getpeername/getsockname.
                local = self._local or address_of(conn.getsockname())
                flow = AsyncioFlow(self._loop, conn, (local, address_of(peer)))
            except OSError:
                conn.close()  # reset before we could look at it
                continue
            if self._handler is not None:
                self._spawn(self._handler, flow)
                continue
            self._pending.append(flow)
            _wake(self._accept_waiter)
            if len(self._pending) >= self._backlog:
                self._stop_accepting()
                return

    def _spawn(self, handler: Handler, flow: AsyncioFlow) -> None:
        task = self._loop.create_task(run_handler(handler, flow))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @property
    def address(self) -> Address:
        return self._address

    async def accept(self) -> Flow:
        while True:
            if self._pending:
                flow = self._pending.popleft()
                self._start_accepting()
                return flow
            if self._closed:
                raise ClosedFlow("accept on a closed listener")
            waiter: asyncio.Future[Any] = asyncio.Future(loop=self._loop)
            self._accept_waiter = waiter
            try:
                await waiter
            finally:
                self._accept_waiter = None

    async def serve(self, handler: Handler) -> None:
        if self._handler is not None:
            raise RuntimeError("serve() is already running on this listener")
        self._handler = handler
        while self._pending:
            self._spawn(handler, self._pending.popleft())
        self._start_accepting()
        try:
            await self._closed_event.wait()
        finally:
            self._handler = None
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            if tasks:
                await asyncio.gather(*tasks, return_exceptions=True)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._stop_accepting()
        self._sock.close()
        while self._pending:
            self._pending.popleft().abort()
        _wake(self._accept_waiter)
        self._closed_event.set()


class AsyncioUnixListener(AsyncioListener):
    """A listening Unix socket (:meth:`AsyncioBackend.listen_unix`): removes its socket
    file when closed."""

    def __init__(self, loop: asyncio.AbstractEventLoop, path: str, mode: int | None, backlog: int):
        sock = listen_unix(path, mode, backlog)
        self._path = path
        self._identity = file_identity(path)
        super().__init__(loop, sock, backlog)

    async def close(self) -> None:
        if not self._closed:
            unlink_unix(self._path, self._identity)
        await super().close()


class AsyncioDatagram(DatagramServing):
    """A bound UDP socket; see :class:`backends.interface.DatagramEndpoint`.

    A plain non-blocking socket rather than an asyncio datagram transport: ``recv`` and
    ``send`` call ``recvfrom``/``sendto`` directly and only register with the loop
    (``add_reader``/``add_writer``) when the kernel has nothing to give or no room, so a
    busy endpoint costs one system call per datagram and binding one is cheap (a resolver
    binds a fresh socket per query). The kernel's socket buffers are the queues; a send
    that finds no room waits for it, which is UDP's only backpressure. After
    :data:`YIELD_EVERY` operations that did not have to wait, one yields to the loop, so a
    flood on one endpoint cannot starve other tasks or delay cancellation.

    ``serve`` answers from the readiness callback itself: each time the socket is readable
    it reads up to :data:`DATAGRAM_BATCH` datagrams (``recvfrom``: each its own bytes),
    calls the handler on each and sends its reply with ``sendto`` there and then; no task,
    future or coroutine per datagram.
    A reply that finds the send buffer full is kept, with reading paused, until the socket
    is writable again.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        sock: socket.socket,
        family: int,
        peer: Address | None = None,
    ) -> None:
        self._loop = loop
        self._sock = sock
        self._peer = peer
        self._receive_buffer = receive_buffer()
        self._fd = sock.fileno()
        self._closed = False
        self._address: Address = address_of(sock.getsockname())
        self._readers: list[asyncio.Future[None]] = []
        self._writers: list[asyncio.Future[None]] = []
        self._reader_registered = False
        self._writer_registered = False
        self._unyielded = 0
        self.max_datagram_size = (
            UDP_MAX_PAYLOAD_V6 if family == socket.AF_INET6 else UDP_MAX_PAYLOAD_V4
        )
        self._serving: asyncio.Future[None] | None = None
        self._handler: DatagramHandler | None = None
        self._backlog: collections.deque[tuple[bytes | bytearray | memoryview, Any]] = (
            collections.deque()
        )
        self._batch: _mmsg.DatagramBatch | None = None

    @property
    def address(self) -> Address:
        return self._address

    async def _pace(self) -> None:
        self._unyielded += 1
        if self._unyielded >= YIELD_EVERY:
            self._unyielded = 0
            await asyncio.sleep(0)

    async def _wait(self, writable: bool, deadline: float | None = None) -> None:
        # The readiness callback stays registered between waits (a request/response
        # exchange would otherwise pay two epoll_ctl calls per datagram); it unregisters
        # itself when it fires with nobody waiting.
        waiters = self._writers if writable else self._readers
        registered = self._writer_registered if writable else self._reader_registered
        if not registered:
            if writable:
                self._loop.add_writer(self._fd, self._ready, True)
                self._writer_registered = True
            else:
                self._loop.add_reader(self._fd, self._ready, False)
                self._reader_registered = True
        waiter = self._loop.create_future()
        waiters.append(waiter)
        timer = None if deadline is None else self._loop.call_at(deadline, _wake, waiter)
        try:
            await waiter
        finally:
            if waiter in waiters:
                waiters.remove(waiter)
            if timer is not None:
                timer.cancel()
        self._unyielded = 0

    def _ready(self, writable: bool) -> None:
        waiters = self._writers if writable else self._readers
        if not waiters:
            if writable:
                self._loop.remove_writer(self._fd)
                self._writer_registered = False
            else:
                self._loop.remove_reader(self._fd)
                self._reader_registered = False
            return
        woken = waiters[:]
        waiters.clear()
        for waiter in woken:
            _wake(waiter)

    async def recv(self, *, timeout: float | None = None) -> tuple[bytes, Address]:
        deadline = None if timeout is None else self._loop.time() + timeout
        while True:
            if self._closed:
                raise ClosedFlow("recv on a closed datagram endpoint")
            try:
                nbytes, addr = self._sock.recvfrom_into(self._receive_buffer)
            except (BlockingIOError, InterruptedError):
                if deadline is not None and self._loop.time() >= deadline:
                    raise Timeout(f"no datagram within {timeout:g}s") from None
                await self._wait(False, deadline)
                continue
            except OSError as exc:
                if self._closed:
                    raise ClosedFlow("endpoint closed while receiving") from exc
                # An ICMP error (port unreachable...) for an earlier send: an unconnected
                # endpoint ignores it, a connected one reports it (udp_connect).
                if exc.errno in ICMP_ERRORS and self._peer is None:
                    continue
                raise translate(exc, udp_recv_context(self._peer)) from exc
            data = bytes(self._receive_buffer[:nbytes])
            await self._pace()
            return data, address_of(addr)

    async def send(self, data: bytes | bytearray | memoryview, address: Address) -> None:
        check_datagram_size(len(data), self.max_datagram_size)
        while True:
            if self._closed:
                raise ClosedFlow("send on a closed datagram endpoint")
            try:
                self._sock.sendto(data, address)
            except (BlockingIOError, InterruptedError):
                await self._wait(writable=True)
                continue
            except OSError as exc:
                if exc.errno in ICMP_ERRORS and self._peer is None:
                    return  # an ICMP error from an earlier datagram surfaced here: not ours
                raise translate(exc, f"send to {address[0]}:{address[1]}") from exc
            await self._pace()
            return

    async def serve(self, handler: DatagramHandler) -> None:
        """See :meth:`backends.interface.DatagramEndpoint.serve`."""
        if self._serving is not None:
            raise BusyFlow("this endpoint is already serving")
        if self._closed:
            return
        loop = self._loop
        done = loop.create_future()
        self._serving, self._handler = done, handler
        if _mmsg.AVAILABLE and self._batch is None:
            self._batch = _mmsg.DatagramBatch(self._sock, DATAGRAM_BATCH)
        if self._reader_registered:  # left registered by an earlier recv
            loop.remove_reader(self._fd)
        loop.add_reader(self._fd, self._serve_readable)
        self._reader_registered = True
        try:
            await done
        finally:
            self._serving = self._handler = None
            self._backlog.clear()
            if not self._closed:
                if self._reader_registered:
                    loop.remove_reader(self._fd)
                    self._reader_registered = False
                if self._writer_registered:
                    loop.remove_writer(self._fd)
                    self._writer_registered = False

    def _serve_readable(self) -> None:
        batch = self._batch if _mmsg.AVAILABLE else None
        if batch is not None:
            self._serve_batch(batch)
            return
        # The hot loop of a UDP server: names bound to locals, one recvfrom (the
        # datagram's own bytes, no shared buffer to copy out of), the handler, one sendto.
        recvfrom = self._sock.recvfrom
        sendto = self._sock.sendto
        handler = self._handler
        assert handler is not None
        limit = size = self.max_datagram_size
        for _ in range(DATAGRAM_BATCH):
            try:
                data, addr = recvfrom(size)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno in ICMP_ERRORS and self._peer is None:
                    continue  # for an earlier reply: an unconnected endpoint ignores it
                if self._serving is not None and not self._serving.done():
                    self._serving.set_exception(translate(exc, udp_recv_context(self._peer)))
                return
            # IPv4's (host, port) as it came; IPv6's 4-tuple trimmed for the handler, kept
            # whole for sendto (its scope).
            address = addr if len(addr) == 2 else address_of(addr)
            try:
                reply = handler(data, address)
            except Exception:  # must not stop the serving of others
                log.exception("datagram handler failed for %r from %s", data[:64], address)
                continue
            if reply is None:
                continue
            if len(reply) > limit:
                log.debug("UDP reply to %s of %d bytes: too large", address, len(reply))
                continue
            try:
                sendto(reply, addr)
            except (BlockingIOError, InterruptedError):
                self._backlog.append((reply, addr))
                self._loop.remove_reader(self._fd)  # the receive buffer queues meanwhile
                self._reader_registered = False
                self._loop.add_writer(self._fd, self._serve_writable)
                self._writer_registered = True
                return
            except OSError as exc:
                log.debug("UDP reply to %s not sent: %s", address, exc)

    def _serve_batch(self, batch: _mmsg.DatagramBatch) -> None:
        """One ``recvmmsg`` of what is waiting, answered with one ``sendmmsg``."""
        handler = self._handler
        assert handler is not None
        while True:
            try:
                _, unsent = batch.answer(handler, self.max_datagram_size)
            except OSError as exc:
                if exc.errno in ICMP_ERRORS and self._peer is None:
                    continue  # for an earlier reply: an unconnected endpoint ignores it
                if self._serving is not None and not self._serving.done():
                    self._serving.set_exception(translate(exc, udp_recv_context(self._peer)))
                return
            break
        if unsent:
            self._backlog.extend(unsent)
            self._loop.remove_reader(self._fd)  # the receive buffer queues meanwhile
            self._reader_registered = False
            self._loop.add_writer(self._fd, self._serve_writable)
            self._writer_registered = True

    def _serve_writable(self) -> None:
        backlog = self._backlog
        while backlog:
            reply, addr = backlog[0]
            try:
                self._sock.sendto(reply, addr)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                log.debug("UDP reply to %s not sent: %s", addr, exc)
            backlog.popleft()
        self._loop.remove_writer(self._fd)
        self._writer_registered = False
        self._loop.add_reader(self._fd, self._serve_readable)
        self._reader_registered = True

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._reader_registered:
            self._loop.remove_reader(self._fd)
        if self._writer_registered:
            self._loop.remove_writer(self._fd)
        self._batch = None  # its buffers go with it
        _wake(self._serving)
        for waiter in self._readers + self._writers:
            _wake(waiter)
        self._readers.clear()
        self._writers.clear()
        self._sock.close()


class AsyncioBackend(AsyncioRuntime):
    """The asyncio :class:`backends.interface.Backend` (the running loop's sockets)."""

    name = "asyncio"
    resolves_names = True

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()

    def now(self) -> float:
        # anyio's clock on asyncio (what its deadlines use), without anyio's backend lookup
        return self._loop.time()

    async def tcp_listen(self, host: str, port: int, *, backlog: int = 1024) -> AsyncioListener:
        infos = await resolve(self._loop.getaddrinfo, host, port, socket.SOCK_STREAM, passive=True)
        family, _, _, _, sockaddr = infos[0]
        sock = listen_tcp(family, sockaddr, host, port, backlog)
        return AsyncioListener(self._loop, sock, backlog)

    async def tcp_connect(
        self, host: str, port: int, *, timeout: float | None = None
    ) -> AsyncioFlow:
        try:
            async with asyncio.timeout(timeout):
                last: NetworkError | None = None
                for family, _, _, _, sockaddr in await resolve(
                    self._loop.getaddrinfo, host, port, socket.SOCK_STREAM
                ):
                    sock = nonblocking_socket(family, socket.SOCK_STREAM)
                    try:
                        await self._loop.sock_connect(sock, sockaddr)
                        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                        return AsyncioFlow(self._loop, sock)
                    except OSError as exc:
                        sock.close()
                        last = translate(exc, f"connect to {host}:{port}")
                    except BaseException:
                        sock.close()
                        raise
                assert last is not None
                raise last
        except TimeoutError as exc:  # asyncio.timeout's, at the deadline
            raise Timeout(f"connect to {host}:{port} timed out after {timeout:g}s") from exc

    async def listen_unix(
        self, path: str, *, mode: int | None = None, backlog: int = 1024
    ) -> AsyncioListener:
        return AsyncioUnixListener(self._loop, path, mode, backlog)

    async def listen_fd(self, fd: int, *, backlog: int = 1024) -> AsyncioListener:
        return AsyncioListener(self._loop, listening_socket(fd), backlog)

    async def udp_bind(self, host: str, port: int) -> AsyncioDatagram:
        infos = await resolve(self._loop.getaddrinfo, host, port, socket.SOCK_DGRAM, passive=True)
        family, _, _, _, sockaddr = infos[0]
        return AsyncioDatagram(self._loop, bind_udp(family, sockaddr, host, port), family)

    async def udp_connect(self, host: str, port: int) -> AsyncioDatagram:
        infos = await resolve(self._loop.getaddrinfo, host, port, socket.SOCK_DGRAM)
        family, _, _, _, sockaddr = infos[0]
        sock = connect_udp(family, sockaddr, host, port)
        return AsyncioDatagram(self._loop, sock, family, address_of(sock.getpeername()))

    async def aclose(self) -> None:
        return None


def host_loop(**options: Any) -> str:
    """This adapter runs on an asyncio loop."""
    if options:
        raise TypeError(f"the asyncio backend takes no options, got {sorted(options)}")
    return "asyncio"


@contextlib.asynccontextmanager
async def open_backend(**options: Any) -> AsyncIterator[Backend]:
    """The asyncio backend for the running loop."""
    host_loop(**options)
    yield AsyncioBackend()
