"""The asyncio adapter: kernel sockets through asyncio's Protocol/transport layer.

Built for speed: a flow *is* its ``asyncio.BufferedProtocol``, so received data goes from
the transport's ``recv_into`` (into the thread's one :func:`receive_buffer`) to the reader
with one copy, no StreamReader and no queue beyond a deque of what arrived. Backpressure both ways uses the transport's flow control:
reading is paused above :data:`READ_HIGH_WATER` buffered bytes, and ``write`` waits while
the transport has more than :data:`WRITE_HIGH_WATER` bytes unsent.

Runs on uvloop as well (``backends.run(main, "asyncio", uvloop=True)``).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import errno
import logging
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any, cast

from ._chunks import take
from ._common import YIELD_EVERY, AcceptLoop, Closing, run_handler
from ._runtime import AnyioRuntime
from ._sockutil import (
    UDP_MAX_PAYLOAD_V4,
    UDP_MAX_PAYLOAD_V6,
    address_of,
    bind_udp,
    check_datagram_size,
    ip_literal,
    receive_buffer,
    set_linger_rst,
    translate,
)
from .errors import ClosedFlow, ConnectionReset, NetworkError, Timeout
from .interface import Address, Backend, Flow, Handler

log = logging.getLogger("backends")

READ_HIGH_WATER = 256 * 1024
READ_LOW_WATER = 64 * 1024
WRITE_HIGH_WATER = 64 * 1024


def _wake(waiter: asyncio.Future[Any] | None, value: Any = None) -> None:
    """Complete ``waiter`` with ``value``, unless there is none or it is already done."""
    if waiter is not None and not waiter.done():
        waiter.set_result(value)


class AsyncioFlow(asyncio.BufferedProtocol, Closing):
    """One TCP connection; see :class:`backends.interface.Flow` for the contract."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._receive_buffer = receive_buffer()  # the transport recv_into's this
        self._transport: asyncio.Transport | None = None
        self._chunks: collections.deque[bytes] = collections.deque()
        self._buffered = 0
        self._eof = False
        self._error: NetworkError | None = None
        self._closed = False
        self._write_shut = False
        self._read_waiter: asyncio.Future[bytes] | None = None
        self._drain_waiter: asyncio.Future[None] | None = None
        self._paused_reading = False
        self._paused_writing = False
        self._lost = False
        self._local: Address = ("", 0)
        self._remote: Address = ("", 0)
        self._on_connect: Callable[[AsyncioFlow], None] | None = None

    # -- asyncio.Protocol callbacks -------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)
        self._transport.set_write_buffer_limits(high=WRITE_HIGH_WATER)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            self._local = address_of(sock.getsockname())
            with contextlib.suppress(OSError):
                self._remote = address_of(sock.getpeername())
        if self._on_connect is not None:
            self._on_connect(self)

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._receive_buffer

    def buffer_updated(self, nbytes: int) -> None:
        data = bytes(self._receive_buffer[:nbytes])
        waiter = self._read_waiter
        self._read_waiter = None
        if waiter is not None and not waiter.done() and not self._chunks:
            waiter.set_result(data)  # straight to the parked reader, no queue
            return
        self._chunks.append(data)
        buffered = self._buffered + len(data)
        self._buffered = buffered
        if buffered > READ_HIGH_WATER and not self._paused_reading and self._transport:
            self._paused_reading = True
            self._transport.pause_reading()
        _wake(waiter, b"")

    def eof_received(self) -> bool:
        self._eof = True
        self._wake_reader()
        return True  # keep the transport open: we may still write (half-close)

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = True
        if exc is not None and self._error is None:
            self._error = (
                translate(exc, "connection lost")
                if isinstance(exc, OSError)
                else ConnectionReset(errno.ECONNRESET, f"connection lost: {exc}")
            )
        self._eof = True
        self._wake_reader()
        self._wake_writer()

    def pause_writing(self) -> None:
        self._paused_writing = True

    def resume_writing(self) -> None:
        self._paused_writing = False
        self._wake_writer()

    def _wake_reader(self) -> None:
        _wake(self._read_waiter, b"")

    def _wake_writer(self) -> None:
        _wake(self._drain_waiter)

    # -- Flow ------------------------------------------------------------------------

    @property
    def local(self) -> Address:
        return self._local

    @property
    def remote(self) -> Address:
        return self._remote

    async def read(self, max_bytes: int = 65536) -> bytes:
        if max_bytes <= 0:
            raise ValueError("max_bytes must be positive")
        while True:
            if self._closed:
                raise ClosedFlow("read on a closed flow")
            if self._chunks:
                return self._take(max_bytes)
            if self._error is not None:
                raise self._error
            if self._eof:
                return b""
            # Woken with the bytes that arrived (buffer_updated hands them over), or with
            # b"" to look again (more data queued, EOF, an error, close).
            waiter: asyncio.Future[bytes] = asyncio.Future(loop=self._loop)
            self._read_waiter = waiter
            try:
                data = await waiter
            except BaseException:
                if waiter.done() and not waiter.cancelled() and waiter.result():
                    # Cancelled after the bytes were handed over: keep them for the next read.
                    kept = waiter.result()
                    self._chunks.appendleft(kept)
                    self._buffered += len(kept)
                raise
            finally:
                self._read_waiter = None
            if data:
                if len(data) <= max_bytes:
                    return data
                self._chunks.appendleft(data[max_bytes:])
                self._buffered += len(data) - max_bytes
                return data[:max_bytes]

    def _take(self, max_bytes: int) -> bytes:
        data = take(self._chunks, max_bytes)
        self._buffered -= len(data)
        if self._paused_reading and self._buffered <= READ_LOW_WATER and self._transport:
            self._paused_reading = False
            self._transport.resume_reading()
        return data

    async def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._closed:
            raise ClosedFlow("write on a closed flow")
        if self._write_shut:
            raise ClosedFlow("write after shutdown_write")
        if self._error is not None:
            raise self._error
        transport = self._transport
        if transport is None or self._lost or transport.is_closing():
            raise ConnectionReset(errno.EPIPE, "write on a connection the peer closed")
        transport.write(data)
        while self._paused_writing:
            if self._lost:
                raise self._error or ConnectionReset(errno.EPIPE, "connection lost while writing")
            waiter = self._loop.create_future()
            self._drain_waiter = waiter
            try:
                await waiter
            finally:
                self._drain_waiter = None
        if self._error is not None:
            raise self._error

    async def shutdown_write(self) -> None:
        if self._closed:
            raise ClosedFlow("shutdown_write on a closed flow")
        if self._write_shut:
            return
        self._write_shut = True
        transport = self._transport
        if transport is not None and not transport.is_closing() and transport.can_write_eof():
            try:
                transport.write_eof()
            except OSError as exc:
                raise translate(exc, "shutdown_write") from exc

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._transport is not None:
            self._transport.close()
        self._wake_reader()
        self._wake_writer()

    def abort(self) -> None:
        self._closed = True
        transport = self._transport
        if transport is not None:
            sock = transport.get_extra_info("socket")
            if sock is not None:
                set_linger_rst(sock)
            transport.abort()
        self._wake_reader()
        self._wake_writer()


class AsyncioListener(AcceptLoop):
    """A listening TCP server; see :class:`backends.interface.Listener`."""

    def __init__(self, loop: asyncio.AbstractEventLoop, backlog: int) -> None:
        self._loop = loop
        self._server: asyncio.Server | None = None
        self._address: Address = ("", 0)
        self._pending: collections.deque[AsyncioFlow] = collections.deque()
        self._backlog = backlog
        self._accept_waiter: asyncio.Future[None] | None = None
        self._handler: Handler | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False
        self._closed_event = asyncio.Event()

    def _protocol_factory(self) -> AsyncioFlow:
        flow = AsyncioFlow(self._loop)
        flow._on_connect = self._connected
        return flow

    def _connected(self, flow: AsyncioFlow) -> None:
        if self._handler is not None:
            task = self._loop.create_task(run_handler(self._handler, flow))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return
        if len(self._pending) >= self._backlog:
            flow.abort()  # nobody is accepting: refuse rather than queue without bound
            return
        self._pending.append(flow)
        _wake(self._accept_waiter)

    @property
    def address(self) -> Address:
        return self._address

    async def accept(self) -> Flow:
        while True:
            if self._pending:
                return self._pending.popleft()
            if self._closed:
                raise ClosedFlow("accept on a closed listener")
            waiter = self._loop.create_future()
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
            flow = self._pending.popleft()
            task = self._loop.create_task(run_handler(handler, flow))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
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
        if self._server is not None:
            self._server.close()
        while self._pending:
            self._pending.popleft().abort()
        _wake(self._accept_waiter)
        self._closed_event.set()


class AsyncioDatagram(Closing):
    """A bound UDP socket; see :class:`backends.interface.DatagramEndpoint`.

    A plain non-blocking socket rather than an asyncio datagram transport: ``recv`` and
    ``send`` call ``recvfrom``/``sendto`` directly and only register with the loop
    (``add_reader``/``add_writer``) when the kernel has nothing to give or no room, so a
    busy endpoint costs one system call per datagram and binding one is cheap (a resolver
    binds a fresh socket per query). The kernel's socket buffers are the queues; a send
    that finds no room waits for it, which is UDP's only backpressure. After
    :data:`YIELD_EVERY` operations that did not have to wait, one yields to the loop, so a
    flood on one endpoint cannot starve other tasks or delay cancellation.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, sock: socket.socket, family: int) -> None:
        self._loop = loop
        self._sock = sock
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
                # An ICMP error (port unreachable...) for an earlier send: UDP ignores it.
                if exc.errno in (errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH):
                    continue
                raise translate(exc, "recv") from exc
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
                if exc.errno in (errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH):
                    return  # an ICMP error from an earlier datagram surfaced here: not ours
                raise translate(exc, f"send to {address[0]}:{address[1]}") from exc
            await self._pace()
            return

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._reader_registered:
            self._loop.remove_reader(self._fd)
        if self._writer_registered:
            self._loop.remove_writer(self._fd)
        for waiter in self._readers + self._writers:
            _wake(waiter)
        self._readers.clear()
        self._writers.clear()
        self._sock.close()


class AsyncioBackend(AnyioRuntime):
    """The asyncio :class:`backends.interface.Backend` (the running loop's sockets)."""

    name = "asyncio"
    resolves_names = True

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()

    def now(self) -> float:
        # anyio's clock on asyncio (what its deadlines use), without anyio's backend lookup
        return self._loop.time()

    async def tcp_listen(self, host: str, port: int, *, backlog: int = 1024) -> AsyncioListener:
        listener = AsyncioListener(self._loop, backlog)
        try:
            server = await self._loop.create_server(
                listener._protocol_factory, host, port, backlog=backlog, reuse_address=True
            )
        except OSError as exc:
            raise translate(exc, f"listen on {host}:{port}") from exc
        listener._server = server
        listener._address = address_of(server.sockets[0].getsockname())
        return listener

    async def tcp_connect(
        self, host: str, port: int, *, timeout: float | None = None
    ) -> AsyncioFlow:
        loop = self._loop

        def factory() -> AsyncioFlow:
            return AsyncioFlow(loop)

        try:
            if timeout is None:
                _, flow = await loop.create_connection(factory, host, port)
            else:
                async with asyncio.timeout(timeout):
                    _, flow = await loop.create_connection(factory, host, port)
        except TimeoutError as exc:
            raise Timeout(f"connect to {host}:{port} timed out after {timeout:g}s") from exc
        except OSError as exc:
            raise translate(exc, f"connect to {host}:{port}") from exc
        return flow

    async def udp_bind(self, host: str, port: int) -> AsyncioDatagram:
        literal = ip_literal(host)
        if literal is not None:
            family = socket.AF_INET6 if literal.version == 6 else socket.AF_INET
            sockaddr: Any = (host, port)
        else:
            try:
                infos = await self._loop.getaddrinfo(
                    host, port, type=socket.SOCK_DGRAM, flags=socket.AI_PASSIVE
                )
            except OSError as exc:
                raise translate(exc, f"resolve {host!r}") from exc
            family, _, _, _, sockaddr = infos[0]
        return AsyncioDatagram(self._loop, bind_udp(family, sockaddr, host, port), family)

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
