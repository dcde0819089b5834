"""The mirage adapter: :class:`backends.interface.Backend` on our own TCP/IP stack.

The stack (:mod:`backends.mirage.stack`) is sans-IO; this module hosts it on an anyio
loop (asyncio by default, trio with ``host="trio"``): a driver task fires the
scheduler's timers at their deadlines, a reader task waits for the TAP fd with
``anyio.wait_readable`` and feeds frames in batches, and flows wait on anyio events that
the stack's callbacks set.

Options of :func:`open_backend` (and of ``backends.run(main, "mirage", ...)``):

* no device option: a private in-memory switch holding this one stack (address
  ``192.0.2.1/24``); 127.0.0.1 and the stack's own address work through loopback;
* ``tap="tap0", ip="10.0.0.2/24", gateway="10.0.0.1"``: a Linux TAP device; ``ip`` and
  ``gateway`` may be IPv6 (``ip="2001:db8::2/64"``) and may be lists of both families.
  The device is opened with virtio-net offloads (TCP super-segments of up to 64 KB both
  ways, partial checksums; ``offload=False`` turns them off). IPv6 always has a link-local address, and learns routers and SLAAC addresses from
  router advertisements (``slaac=False`` turns the latter off);
* ``ip="dhcp"`` (alone or in the list, for IPv4): the address, mask and gateway from a
  DHCP server on the link (RFC 2131, :mod:`backends.mirage.dhcp`), obtained before the
  backend is handed out (within ``dhcp_timeout=`` seconds, default 30), renewed while it
  runs and released at close; ``dhcp=DhcpConfig(...)`` tunes the client;
  ``backend.dhcp.lease`` holds what was granted (DNS servers included);
* ``switch=Switch(), ip="10.0.0.2/24"``: join a shared in-memory switch;
* ``mtu=`` (default: the device's), ``mac="02:..."``, ``pcap="file.pcap"``,
  ``faults=Faults(...)`` (seeded loss/duplication/reordering/delay/corruption),
  ``tcp=TcpConfig(...)`` or the shortcuts ``nagle=``, ``rcvbuf=``, ``sndbuf=``,
  ``time_wait=``, ``rto_min=``, ``delayed_ack=``, and ``host="asyncio" | "trio"``.

Host names: the stack has no system resolver. ``localhost`` means 127.0.0.1 (RFC 6761
6.3); any other name raises :class:`~backends.errors.ResolutionError`.

Dual stack as Linux with ``bindv6only=0``: listening (or binding UDP) on ``::`` takes the
port in both families, and IPv4 peers appear as ``::ffff:a.b.c.d``.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import logging
import math
import sys
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import anyio.abc

from .._common import YIELD_EVERY, AcceptLoop, Closing, DatagramServing
from .._runtime import AnyioRuntime
from .._sockutil import check_datagram_size
from ..errors import (
    AddressInUse,
    AddressUnavailable,
    BusyFlow,
    ClosedFlow,
    ConnectionRefused,
    ConnectionReset,
    NetworkError,
    ResolutionError,
    Timeout,
)
from ..interface import Address, Backend
from . import ipv4, ipv6
from .dhcp import DhcpClient, DhcpConfig
from .ethernet import parse_mac
from .faults import Faults, FaultyNetif
from .netif import Netif, Switch, TapDevice
from .pcap import PcapNetif, PcapWriter
from .sched import Scheduler, Timer
from .stack import Stack, StackConfig, UdpSocket
from .tcp import Connection, State, TcpConfig
from .tcp import Listener as TcpListener
from .udp import MAX_PAYLOAD as UDP_MAX_PAYLOAD

log = logging.getLogger("backends")

CONFORMANT = True
"""True once the shared conformance suite (tests/backends) passes on this adapter."""

DEFAULT_IP = "192.0.2.1/24"  # TEST-NET-1 (RFC 5737): the private switch's address


def host_clock() -> float:
    """The host loop's clock (what anyio deadlines use)."""
    return anyio.current_time()


def loop_clock() -> Callable[[], float]:
    """The running host loop's clock as one direct call: the same time as
    :func:`host_clock` (asyncio's ``loop.time``, trio's ``current_time``) without anyio's
    per-call lookup of the running library. The stack reads its clock on every segment
    it sends and every ACK it takes; from inside a running loop only."""
    try:
        return asyncio.get_running_loop().time
    except RuntimeError:
        pass
    trio = sys.modules.get("trio")
    if trio is not None:
        try:
            trio.lowlevel.current_task()
        except RuntimeError:
            pass
        else:
            clock: Callable[[], float] = trio.current_time
            return clock
    return host_clock


def host_loop(**options: Any) -> str:
    """The anyio loop the stack is hosted on: ``"asyncio"`` unless ``host="trio"``."""
    host = options.get("host", "asyncio")
    if host not in ("asyncio", "trio"):
        raise ValueError(f"mirage host must be 'asyncio' or 'trio', not {host!r}")
    return str(host)


def _parse_host(host: str, *, passive: bool) -> tuple[int, int]:
    """``(family, address)`` of an IP literal (or ``localhost``); ``""``/``0.0.0.0``
    (IPv4) and ``::`` (IPv6) are the wildcard when passive."""
    if host in ("", "0.0.0.0") and passive:
        return 4, 0
    if host == "localhost":  # RFC 6761 6.3: localhost is always loopback
        return 4, ipv4.LOOPBACK
    try:
        addr = ipaddress.ip_address(host.partition("%")[0])  # one link: a zone says nothing
    except ValueError:
        raise ResolutionError(
            f"the mirage stack has no system resolver: {host!r} is not an IP literal "
            "(resolve it with dns.resolver first)"
        ) from None
    return addr.version, int(addr)


def _text(family: int, ip: int) -> str:
    """An address as the socket API writes it (``::ffff:a.b.c.d`` for a mapped one)."""
    if family == 4:
        return ipv4.int_to_ip(ip)
    if ipv6.is_v4_mapped(ip):
        return "::ffff:" + ipv4.int_to_ip(ip & 0xFFFFFFFF)
    return ipv6.to_text(ip)


class _Waiter:
    """Wakes tasks waiting for a stack callback. A wake-up that comes while nobody
    waits is remembered, so one that fires between a check and the wait is not lost
    (waiters always re-check their condition in a loop)."""

    __slots__ = ("_event", "_pending")

    def __init__(self) -> None:
        self._event: anyio.Event | None = None
        self._pending = False

    def wake(self) -> None:
        ev = self._event
        if ev is None:
            self._pending = True
        else:
            self._event = None
            ev.set()

    async def wait(self) -> None:
        if self._pending:
            self._pending = False
            await anyio.lowlevel.checkpoint()
            return
        ev = self._event
        if ev is None:
            ev = self._event = anyio.Event()
        await ev.wait()


YIELD_FRAMES = 64
"""Frames the TAP reader takes in before it lets other tasks run (an application reading
what arrived frees window; 64 full frames are under a tenth of the default buffer)."""


class MirageFlow(Closing):
    """One TCP connection of the mirage stack; see :class:`backends.interface.Flow`.

    ``_reading``/``_writing``: a task waits for data (room) in ``read`` (``write``); a
    second one is refused with :class:`BusyFlow`. ``_unsent``: what a cancelled ``write``
    had not handed to the stack yet; the next ``write`` or ``shutdown_write`` sends it
    first, so the stream has no hole.

    Deadlines (``read_before``/``write_before``): one timer of the stack's scheduler per
    flow, made on the first wait that has a deadline and armed only while such a wait
    lasts, at the nearer of the read's and the write's; it wakes both waiters, and each
    compares its own deadline with the clock. No cancel scope.
    """

    def __init__(self, backend: MirageBackend, conn: Connection, *, mapped: bool = False) -> None:
        self._backend = backend
        self._sched = backend.sched
        self._conn = conn
        self._closed = False
        self._reading = False
        self._writing = False
        self._unsent = b""
        self._readers = _Waiter()
        self._writers = _Waiter()
        self._timer: Timer | None = None
        self._read_deadline: float | None = None
        self._write_deadline: float | None = None
        conn.on_readable = self._readers.wake
        conn.on_writable = self._writers.wake
        if conn.family.address_bits == 128:
            self._local: Address = (_text(6, conn.lip), conn.lport)
            self._remote: Address = (_text(6, conn.rip), conn.rport)
        elif mapped:  # an IPv4 peer of a dual-stack listener
            self._local = (_text(6, ipv6.V4_MAPPED | conn.lip), conn.lport)
            self._remote = (_text(6, ipv6.V4_MAPPED | conn.rip), conn.rport)
        else:
            self._local = (ipv4.int_to_ip(conn.lip), conn.lport)
            self._remote = (ipv4.int_to_ip(conn.rip), conn.rport)
        backend._flows.add(self)

    @property
    def local(self) -> Address:
        return self._local

    @property
    def remote(self) -> Address:
        return self._remote

    @property
    def connection(self) -> Connection:
        """The stack's TCB (state, windows, counters) for tests and diagnostics."""
        return self._conn

    async def read(self, max_bytes: int = 65536, *, deadline: float | None = None) -> bytes:
        """See :class:`backends.interface.Flow`; ``deadline`` is :meth:`read_before`'s."""
        if max_bytes <= 0:
            raise ValueError("max_bytes must be positive")
        if self._reading:
            raise BusyFlow("another task is already reading this flow")
        conn = self._conn
        while True:
            if self._closed:
                raise ClosedFlow("read on a closed flow")
            with self._sched:
                data = conn.recv(max_bytes)
            if data is not None:
                if not data:
                    await anyio.lowlevel.checkpoint()
                return data
            if conn.error is not None:
                raise _fresh(conn.error)
            if deadline is not None:
                if self._sched.now() >= deadline:
                    raise Timeout("nothing came by the deadline")
                self._read_deadline = deadline
                self._arm(deadline)
            self._reading = True
            try:
                await self._readers.wait()
            finally:
                self._reading = False
                if deadline is not None:
                    self._read_deadline = None
                    self._disarm()

    def _arm(self, deadline: float) -> None:
        """Have the flow's timer wake the waiters by ``deadline`` (a wait is starting)."""
        timer = self._timer
        if timer is None:
            timer = self._timer = self._sched.timer(self._expired)
        elif timer.deadline is not None and timer.deadline <= deadline:
            return  # armed for the other direction's nearer deadline: it re-arms us
        timer.start(deadline)

    def _disarm(self) -> None:
        """A wait with a deadline ended: the timer keeps only the other one's."""
        timer = self._timer
        if timer is None:
            return
        other = self._read_deadline if self._write_deadline is None else self._write_deadline
        if other is None:
            timer.stop()
        else:
            timer.start(other)

    def _expired(self) -> None:
        """The timer fired: wake both waiters, each checks its deadline; re-arm for the
        one still ahead."""
        self._readers.wake()
        self._writers.wake()
        now = self._sched.now()
        ahead = [
            d for d in (self._read_deadline, self._write_deadline) if d is not None and d > now
        ]
        if ahead:
            assert self._timer is not None
            self._timer.start(min(ahead))

    async def read_before(self, deadline: float, max_bytes: int = 65536) -> bytes:
        """See :class:`backends.interface.Flow`: the flow's scheduler timer bounds the wait."""
        return await self.read(max_bytes, deadline=deadline)

    async def write_before(self, deadline: float, data: bytes | bytearray | memoryview) -> None:
        """See :class:`backends.interface.Flow` and :meth:`read_before`."""
        await self.write(data, deadline=deadline)

    async def write(
        self, data: bytes | bytearray | memoryview, *, deadline: float | None = None
    ) -> None:
        """See :class:`backends.interface.Flow`; ``deadline`` is :meth:`write_before`'s."""
        if self._writing:
            raise BusyFlow("another task is already writing this flow")
        conn = self._conn
        sched = self._sched
        if self._unsent and not self._closed:
            data, self._unsent = self._unsent + memoryview(data).cast("B"), b""
        with memoryview(data) as raw:
            view = raw if raw.format == "B" and raw.ndim == 1 else raw.cast("B")
            total = len(view)
            offset = 0
            while True:
                if self._closed:
                    raise ClosedFlow("write on a closed flow")
                if conn.error is not None:
                    raise _fresh(conn.error)
                if not conn.can_write:
                    if conn.fin_queued:
                        raise ClosedFlow("write after shutdown_write")
                    raise ConnectionReset(errno.EPIPE, "write on a connection the peer closed")
                if offset < total and conn.send_space > 0:
                    with sched:
                        offset += conn.send(view[offset:])  # a view: no copy of the rest
                    continue
                if offset >= total:
                    return
                if deadline is not None:
                    if sched.now() >= deadline:
                        self._unsent = view[offset:].tobytes()
                        raise Timeout("the peer took too little by the deadline")
                    self._write_deadline = deadline
                    self._arm(deadline)
                self._writing = True
                try:
                    await self._writers.wait()
                except anyio.get_cancelled_exc_class():
                    self._unsent = view[offset:].tobytes()
                    raise
                finally:
                    self._writing = False
                    if deadline is not None:
                        self._write_deadline = None
                        self._disarm()

    async def shutdown_write(self) -> None:
        if self._closed:
            raise ClosedFlow("shutdown_write on a closed flow")
        if self._unsent:
            await self.write(b"")
        with self._sched:
            self._conn.shutdown()
        await anyio.lowlevel.checkpoint()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._backend._flows.discard(self)
        with self._sched:
            self._conn.close()
        self._readers.wake()
        self._writers.wake()

    def abort(self) -> None:
        self._closed = True
        self._backend._flows.discard(self)
        with self._sched:
            self._conn.abort()
        self._readers.wake()
        self._writers.wake()


def _fresh(error: NetworkError) -> NetworkError:
    """A new exception of the same kind (one instance must not be raised twice)."""
    new = type(error)(*error.args)
    return new


class MirageListener(AcceptLoop):
    """A listening TCP port of the mirage stack; see :class:`backends.interface.Listener`.

    A dual-stack listener (``::``) holds the port in both TCP layers; its IPv4
    connections are named ``::ffff:a.b.c.d``."""

    def __init__(
        self, backend: MirageBackend, listeners: list[TcpListener], address: Address
    ) -> None:
        self._backend = backend
        self._listeners = listeners
        self._address = address
        self._waiter = _Waiter()
        self._dual = len(listeners) > 1
        for listener in listeners:
            listener.on_acceptable = self._waiter.wake

    @property
    def address(self) -> Address:
        return self._address

    async def accept(self) -> MirageFlow:
        while True:
            for listener in self._listeners:
                if listener.closed:
                    raise ClosedFlow("accept on a closed listener")
                conn = listener.accept()
                if conn is None:
                    continue
                if conn.state == State.CLOSED and conn.error is not None:
                    continue  # reset before it was accepted
                mapped = self._dual and conn.family.address_bits == 32
                return MirageFlow(self._backend, conn, mapped=mapped)
            await self._waiter.wait()

    async def close(self) -> None:
        if all(listener.closed for listener in self._listeners):
            return
        with self._backend.sched:
            for listener in self._listeners:
                listener.close()
        self._waiter.wake()


class MirageDatagram(DatagramServing):
    """A UDP endpoint of the mirage stack; see :class:`backends.interface.DatagramEndpoint`."""

    max_datagram_size = UDP_MAX_PAYLOAD

    def __init__(self, backend: MirageBackend, sock: UdpSocket, address: Address) -> None:
        self._backend = backend
        self._sock = sock
        self._address = address
        self._waiter = _Waiter()
        self._quick = 0
        sock.on_readable = self._waiter.wake

    @property
    def address(self) -> Address:
        return self._address

    @property
    def dropped(self) -> int:
        """Datagrams dropped because ``recv`` fell behind the queue limit."""
        return self._sock.dropped

    async def recv(self, *, timeout: float | None = None) -> tuple[bytes, Address]:
        sock = self._sock
        deadline = None if timeout is None else anyio.current_time() + timeout
        while True:
            if sock.refused:  # only a connected endpoint (udp_connect) is ever refused
                sock.refused = False
                assert sock.peer is not None
                ip, port = sock.peer
                raise ConnectionRefused(
                    errno.ECONNREFUSED,
                    f"udp {_text(sock.family, ip)}:{port}: port unreachable: Connection refused",
                )
            if sock.queue:
                data, (ip, port) = sock.queue.popleft()
                # Datagrams already queued are returned without waiting; every
                # YIELD_EVERY of them, yield once so a flood cannot starve other tasks.
                self._quick += 1
                if self._quick >= YIELD_EVERY:
                    self._quick = 0
                    await anyio.lowlevel.checkpoint()
                return data, (_text(sock.family, ip), port)
            if sock.closed:
                raise ClosedFlow("recv on a closed datagram endpoint")
            self._quick = 0
            if deadline is None:
                await self._waiter.wait()
                continue
            remaining = deadline - anyio.current_time()
            if remaining <= 0:
                raise Timeout(f"no datagram within {timeout:g}s")
            with anyio.move_on_after(remaining):
                await self._waiter.wait()

    async def send(self, data: bytes | bytearray | memoryview, address: Address) -> None:
        sock = self._sock
        if sock.closed:
            raise ClosedFlow("send on a closed datagram endpoint")
        check_datagram_size(len(data), UDP_MAX_PAYLOAD)
        host, port = address
        family, dst = _parse_host(host, passive=False)
        if not 0 < port < 65536:
            raise ValueError(f"bad UDP port {port}")
        stack = self._backend.stack
        if family == 4 and sock.family == 6:
            family, dst = 6, ipv6.V4_MAPPED | dst  # a dual-stack socket reaches IPv4 too
        if family != sock.family:
            raise AddressUnavailable(f"an IPv{sock.family} endpoint cannot send to {host}")
        if family == 6 and not ipv6.is_v4_mapped(dst):
            stack.check_route6(dst)
        else:
            stack.check_route(dst & 0xFFFFFFFF)
        with self._backend.sched:
            sock.send(bytes(data), dst, port)
        await anyio.lowlevel.checkpoint()

    async def close(self) -> None:
        if self._sock.closed:
            return
        with self._backend.sched:
            self._sock.close()
        self._waiter.wake()


class MirageBackend(AnyioRuntime):
    """The mirage :class:`backends.interface.Backend`: our stack, hosted by anyio."""

    name = "mirage"
    resolves_names = False

    def __init__(self, stack: Stack, tap: TapDevice | None = None) -> None:
        self.stack = stack
        """The sans-IO stack (tables, counters) for tests and diagnostics."""
        self.sched: Scheduler = stack.sched
        self.tap = tap
        self.dhcp: DhcpClient | None = None
        """The DHCP client when the backend was opened with ``ip="dhcp"``."""
        self._flows: set[MirageFlow] = set()
        self._wake = _Waiter()
        self._closed = False

    @property
    def ip(self) -> str:
        """This stack's address on its link (its IPv4 one, else its first IPv6 one)."""
        stack = self.stack
        if stack.ip or stack.ndp is None:
            return ipv4.int_to_ip(stack.ip)
        usable = stack.ndp.usable()
        ip = next((a for a in usable if not ipv6.is_link_local(a)), stack.ndp.link_local)
        return ipv6.to_text(ip)

    async def tcp_listen(self, host: str, port: int, *, backlog: int = 1024) -> MirageListener:
        self._check_open()
        family, ip = _parse_host(host, passive=True)
        if not 0 <= port < 65536:
            raise ValueError(f"bad TCP port {port}")
        stack = self.stack
        if family == 4:
            stack.check_bind_address(ip)
            listeners = [stack.tcp.listen(ip, port, backlog)]
        else:
            stack.check_bind_address6(ip)
            listeners = [stack.tcp6.listen(ip, port, backlog)]
            if ip == 0:  # bindv6only=0: "::" takes the IPv4 port too
                listeners.append(self._dual_listen(listeners[0], port, backlog))
        await anyio.lowlevel.checkpoint()
        return MirageListener(self, listeners, (_text(family, ip), listeners[0].port))

    def _dual_listen(self, v6: TcpListener, port: int, backlog: int) -> TcpListener:
        """The IPv4 half of a ``::`` listener, on the port the IPv6 half got (a few
        tries when the port was ephemeral and is taken in IPv4)."""
        stack = self.stack
        for _ in range(8):
            try:
                return stack.tcp.listen(0, v6.port, backlog)
            except AddressInUse:
                v6.close()
                if port:
                    raise
                v6 = stack.tcp6.listen(0, 0, backlog)
        v6.close()
        raise AddressInUse("no port free in both IPv4 and IPv6 for a dual-stack listener")

    async def tcp_connect(
        self, host: str, port: int, *, timeout: float | None = None
    ) -> MirageFlow:
        self._check_open()
        family, dst = _parse_host(host, passive=False)
        if not 0 < port < 65536:
            raise ValueError(f"bad TCP port {port}")
        stack = self.stack
        if family == 6 and ipv6.is_v4_mapped(dst):
            family, dst = 4, dst & 0xFFFFFFFF
        if family == 4:
            stack.check_route(dst)
            with self.sched:
                conn = stack.tcp.connect(stack.source_for(dst), dst, port)
        else:
            stack.check_route6(dst)
            with self.sched:
                conn = stack.tcp6.connect(stack.source6_for(dst), dst, port)
        waiter = _Waiter()
        conn.on_established = waiter.wake
        conn.on_readable = waiter.wake
        conn.on_writable = waiter.wake
        try:
            with anyio.fail_after(math.inf if timeout is None else timeout):
                while conn.state == State.SYN_SENT or conn.state == State.SYN_RECEIVED:
                    await waiter.wait()
        except TimeoutError:
            with self.sched:
                conn.abort()
            raise Timeout(f"connect to {host}:{port} timed out after {timeout:g}s") from None
        except BaseException:
            with self.sched:
                conn.abort()
            raise
        if conn.error is not None:
            raise _fresh(conn.error)
        if conn.state == State.CLOSED:
            raise ConnectionReset(f"connection to {host}:{port} closed during the handshake")
        conn.on_established = None
        return MirageFlow(self, conn)

    async def udp_bind(self, host: str, port: int) -> MirageDatagram:
        self._check_open()
        family, ip = _parse_host(host, passive=True)
        if not 0 <= port < 65536:
            raise ValueError(f"bad UDP port {port}")
        sock = self.stack.udp_bind(ip, port, family, dual=family == 6 and ip == 0)
        await anyio.lowlevel.checkpoint()
        return MirageDatagram(self, sock, (_text(family, ip), sock.port))

    async def udp_connect(self, host: str, port: int) -> MirageDatagram:
        self._check_open()
        family, dst = _parse_host(host, passive=False)
        if not 0 < port < 65536:
            raise ValueError(f"bad UDP port {port}")
        stack = self.stack
        if family == 6 and ipv6.is_v4_mapped(dst):
            family, dst = 4, dst & 0xFFFFFFFF
        if family == 4:
            stack.check_route(dst)
            src = stack.source_for(dst)
        else:
            stack.check_route6(dst)
            src = stack.source6_for(dst)
        sock = stack.udp_bind(src, 0, family)
        sock.peer = (dst, port)
        await anyio.lowlevel.checkpoint()
        return MirageDatagram(self, sock, (_text(family, src), sock.port))

    def _check_open(self) -> None:
        if self._closed:
            raise ClosedFlow("the mirage backend is closed")

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        for flow in list(self._flows):
            flow.abort()
        if self.dhcp is not None:
            with self.sched:
                self.dhcp.release()  # DHCPRELEASE goes out before the device closes
        self.stack.close()

    # -- host tasks -----------------------------------------------------------------------

    async def _drive(self) -> None:
        """Fire the scheduler's timers at their deadlines, forever."""
        sched = self.sched
        wake = self._wake
        while True:
            sched.run_due()
            deadline = sched.next_deadline()
            with anyio.CancelScope(deadline=math.inf if deadline is None else deadline):
                await wake.wait()

    async def _read_tap(self, tap: TapDevice) -> None:
        """Feed frames from the TAP fd in batches (ACKs coalesce at each batch's end)."""
        sched = self.sched
        while not tap.closed:
            await anyio.wait_readable(tap.fd)
            since_yield = 0
            while True:
                # What a batch sent may be answered at once (a kernel peer answers
                # within the write): read again without another round of waiting for
                # the fd, letting the tasks the batches woke run every YIELD_FRAMES.
                with sched:
                    n = tap.read_available()
                if not n or tap.closed:
                    break
                since_yield += n
                if since_yield >= YIELD_FRAMES:
                    since_yield = 0
                    await anyio.lowlevel.checkpoint()


async def _acquire_lease(backend: MirageBackend, config: DhcpConfig | None, timeout: float) -> None:
    """Start the DHCP client and wait for its first lease, at most ``timeout`` seconds."""
    waiter = _Waiter()
    client = DhcpClient(backend.stack, config, on_change=waiter.wake)
    backend.dhcp = client
    with backend.sched:
        client.start()
    with anyio.move_on_after(timeout):
        while client.lease is None:
            await waiter.wait()
    if client.lease is None:
        counts = client.counters
        raise Timeout(
            f"no DHCP lease within {timeout:g}s: {counts['discovers']} DHCPDISCOVER sent, "
            f"{counts['offers']} offer(s), {counts['naks']} DHCPNAK(s)"
        )


async def _release_lease(backend: MirageBackend) -> None:
    """DHCPRELEASE, while the device is still read: the server's MAC may have to be asked
    for first (ARP), so wait for that, at most :data:`RELEASE_WAIT` seconds."""
    client = backend.dhcp
    assert client is not None
    lease = client.lease
    hop = backend.stack.next_hop(lease.server) if lease is not None else None
    with backend.sched:
        client.release()
    arp = backend.stack.arp
    if hop is None or arp is None:
        return
    with anyio.move_on_after(RELEASE_WAIT):
        while arp.lookup(hop) is None:
            await anyio.sleep(0.01)


RELEASE_WAIT = 1.0


def _stack_config(options: dict[str, Any]) -> StackConfig:
    tcp = options.pop("tcp", None) or TcpConfig()
    if not isinstance(tcp, TcpConfig):
        raise TypeError("tcp= must be a backends.mirage.tcp.TcpConfig")
    for name in ("nagle", "rcvbuf", "sndbuf", "time_wait", "rto_min", "delayed_ack"):
        if name in options:
            setattr(tcp, name, type(getattr(tcp, name))(options.pop(name)))
    config = StackConfig(tcp=tcp)
    if "slaac" in options:
        config.ndp.slaac = bool(options.pop("slaac"))
    return config


def _addresses(
    ip: str | list[str] | tuple[str, ...] | None, gateway: str | list[str] | tuple[str, ...] | None
) -> tuple[tuple[int, int], list[tuple[int, int]], int | None, int | None]:
    """``ip=``/``gateway=`` (one each, or lists mixing the families): the IPv4 address
    and prefix (``(0, 32)`` when there is none), the IPv6 ones, and a gateway of each."""
    ips = [ip] if isinstance(ip, str) else list(ip or [])
    gateways = [gateway] if isinstance(gateway, str) else list(gateway or [])
    v4: tuple[int, int] | None = None
    v6: list[tuple[int, int]] = []
    for text in ips:
        if ":" in text:
            v6.append(ipv6.parse_interface(text))
        elif v4 is not None:
            raise ValueError(f"one IPv4 address per stack: {text!r} after another")
        else:
            v4 = ipv4.parse_interface(text)
    if v4 is None:
        v4 = ipv4.parse_interface(DEFAULT_IP) if not v6 else (0, 32)
    gw4 = gw6 = None
    for text in gateways:
        if ":" in text:
            gw6 = ipv6.to_int(text)
        else:
            gw4 = ipv4.ip_to_int(text)
    return v4, v6, gw4, gw6


@contextlib.asynccontextmanager
async def open_backend(**options: Any) -> AsyncIterator[Backend]:
    """Build a stack on the device the options name, host it, and close it on exit."""
    options = dict(options)
    options.pop("host", None)
    tap_name = options.pop("tap", None)
    switch: Switch | None = options.pop("switch", None)
    ip_text = options.pop("ip", None)
    gateway_text = options.pop("gateway", None)
    mtu = options.pop("mtu", None)
    mac_text = options.pop("mac", None)
    offload = bool(options.pop("offload", True))
    pcap_path = options.pop("pcap", None)
    faults: Faults | None = options.pop("faults", None)
    dhcp_config: DhcpConfig | None = options.pop("dhcp", None)
    dhcp_timeout = float(options.pop("dhcp_timeout", 30.0))
    config = _stack_config(options)
    if options:
        raise TypeError(f"unknown mirage backend options: {sorted(options)}")
    if tap_name is not None and switch is not None:
        raise TypeError("give tap= or switch=, not both")
    if tap_name is not None and ip_text is None:
        raise TypeError("a TAP device needs ip='A.B.C.D/PREFIX'")
    given = [ip_text] if isinstance(ip_text, str) else list(ip_text or [])
    use_dhcp = "dhcp" in given
    if use_dhcp and tap_name is None and switch is None:
        raise ValueError("ip='dhcp' needs a link to ask on: tap= (--tap) or switch=")
    statics = [text for text in given if text != "dhcp"]
    (ip, prefix), ip6, gateway, gateway6 = _addresses(statics, gateway_text)
    if use_dhcp:
        if any(":" not in text for text in statics):
            raise ValueError("ip='dhcp' gives the IPv4 address: no static IPv4 one beside it")
        ip, prefix = 0, 0  # until the lease
    mac = parse_mac(mac_text) if mac_text else None

    tap: TapDevice | None = None
    netif: Netif
    if tap_name is not None:
        sched = Scheduler(loop_clock())
        # faults act on single frames: no super-segments under them
        tap = TapDevice(tap_name, mac=mac, mtu=mtu, offload=offload and faults is None)
        netif = tap
    else:
        if switch is None:
            switch = Switch(Scheduler(loop_clock()), mtu=mtu or 1500)
        sched = switch.sched
        netif = switch.port(mac, mtu=mtu)
    if pcap_path is not None:
        netif = PcapNetif(netif, PcapWriter(pcap_path), time.time)
    if faults is not None:
        netif = FaultyNetif(netif, faults, sched)
    try:
        with sched:
            stack = Stack(
                sched, netif, ip, prefix, gateway, config, ipv6_addresses=ip6, gateway6=gateway6
            )
    except BaseException:
        netif.close()
        raise
    backend = MirageBackend(stack, tap)
    sched.add_waker(backend._wake.wake)
    no_lease: Timeout | None = None
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(backend._drive)
            if tap is not None:
                tg.start_soon(backend._read_tap, tap)
            try:
                if use_dhcp:
                    try:
                        await _acquire_lease(backend, dhcp_config, dhcp_timeout)
                    except Timeout as exc:
                        no_lease = exc  # raised below, not wrapped in the task group's
                if no_lease is None:
                    yield backend
            finally:
                if backend.dhcp is not None:
                    with anyio.CancelScope(shield=True):
                        await _release_lease(backend)
                tg.cancel_scope.cancel()
    finally:
        sched.remove_waker(backend._wake.wake)
        await backend.aclose()
    if no_lease is not None:
        raise no_lease
