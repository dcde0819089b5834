"""The TCP layer of one stack: listeners, the connection table, demultiplexing, RST for
segments nobody wants (RFC 9293 3.10.7.1), initial sequence numbers (RFC 6528) and
ephemeral ports (RFC 6056/6335, a scan bounded by the size of the range).

One layer serves one address family (:class:`Family`, IPv4 unless given), as
mirage-tcpip's ``Flow.Make(IP)`` is one TCP per IP module.
"""

from __future__ import annotations

import hashlib
import os
from collections import deque
from collections.abc import Callable

from backends.errors import AddressInUse, AddressUnavailable

from ..errors import PacketError
from ..netif import NO_OFFLOAD, Offload
from ..sched import Scheduler
from .config import EPHEMERAL_HIGH, EPHEMERAL_LOW, State, TcpConfig
from .connection import Connection
from .family import IPV4, Family
from .seq import MASK, unwrap
from .wire import ACK, FIN, RST, SYN, Segment, parse, segment

Key = tuple[int, int, int, int]
"""(local ip, local port, remote ip, remote port)."""


def _no_offload(address: int) -> Offload:
    return NO_OFFLOAD


class Listener:
    """A passive open: connections that complete the handshake wait in ``queue``."""

    def __init__(self, tcp: Tcp, ip: int, port: int, backlog: int) -> None:
        self.tcp = tcp
        self.ip = ip
        self.port = port
        self.backlog = max(1, backlog)
        self.queue: deque[Connection] = deque()
        self.half_open = 0
        self.closed = False
        self.on_acceptable: Callable[[], None] | None = None

    def accept(self) -> Connection | None:
        """The next established connection, or None."""
        return self.queue.popleft() if self.queue else None

    def _established(self, conn: Connection) -> None:
        conn.listener = None
        if self.closed:
            conn.abort()
            return
        self.queue.append(conn)
        if self.on_acceptable is not None:
            self.on_acceptable()

    def close(self) -> None:
        """Stop listening; connections not yet accepted are reset."""
        if self.closed:
            return
        self.closed = True
        self.tcp.listeners.pop((self.ip, self.port), None)
        while self.queue:
            self.queue.popleft().abort()
        if self.on_acceptable is not None:
            self.on_acceptable()


class Tcp:
    """The TCP layer of one stack: connection and listener tables, demultiplexing,
    RST for segments nobody wants (RFC 9293 3.10.7.1), ISNs, ephemeral ports."""

    def __init__(
        self,
        sched: Scheduler,
        output: Callable[[int, int, bytes, int], None],
        mss_for: Callable[[int], int],
        config: TcpConfig | None = None,
        *,
        isn: Callable[[Key], int] | None = None,
        family: Family = IPV4,
        offload_for: Callable[[int], Offload] | None = None,
    ) -> None:
        self.sched = sched
        self.family = family
        """The network layer's :class:`Family`: its pseudo-header and address text."""
        self.output = output
        """``output(src, dst, segment, gso_size)``: hand a segment to IP; ``gso_size`` 0
        for a checksummed segment of at most one MSS, else the MSS the device cuts a
        segment with a partial checksum into (:meth:`~backends.mirage.netif.Netif.send`)."""
        self.mss_for = mss_for
        self.offload_for = offload_for or _no_offload
        """What the device towards an address does for us (:class:`~.netif.Offload`)."""
        self.config = config or TcpConfig()
        self.connections: dict[Key, Connection] = {}
        self.listeners: dict[tuple[int, int], Listener] = {}
        self.half_open = 0
        self._ack_now: set[Connection] = set()
        self._output_now: dict[Connection, None] = {}
        """Connections whose sending waits for the end of the batch (insertion order)."""
        self._time_wait: dict[Connection, None] = {}  # insertion order: oldest first
        self._secret = os.urandom(16)
        self._isn = isn or self._rfc6528_isn
        self._challenges = 0
        self._challenge_second = 0
        self.dropped = 0
        ws = 0
        while (0xFFFF << ws) < self.config.rcvbuf and ws < 14:
            ws += 1
        self.rcv_wscale = ws
        sched.add_flusher(self.flush)

    def _rfc6528_isn(self, key: Key) -> int:
        """ISN = M + F(4-tuple, secret): a 4 µs clock plus a keyed hash (RFC 6528 3)."""
        digest = hashlib.blake2s(repr(key).encode(), key=self._secret, digest_size=4).digest()
        return (int(self.sched.now() * 250_000) + int.from_bytes(digest, "big")) & MASK

    def flush(self) -> None:
        """Send what the ACKs of the batch that just ended let out, then the ACKs
        coalesced during it (a segment sent carries the ACK already)."""
        output = self._output_now
        while output:
            conn = next(iter(output))
            del output[conn]
            if conn.state != State.CLOSED:
                conn._output()
        pending = self._ack_now
        while pending:
            conn = pending.pop()
            if conn.state != State.CLOSED:
                conn._send_ack()

    def _forget(self, conn: Connection) -> None:
        if self.connections.get(conn.key) is conn:
            del self.connections[conn.key]
        self._ack_now.discard(conn)
        self._output_now.pop(conn, None)
        self._time_wait.pop(conn, None)

    def _time_wait_entered(self, conn: Connection) -> None:
        waiting = self._time_wait
        waiting[conn] = None
        while len(waiting) > self.config.max_time_wait:
            next(iter(waiting))._destroy()  # _forget removes it from the dict

    # -- sockets --------------------------------------------------------------------------

    def _port_busy(self, ip: int, port: int) -> bool:
        listeners = self.listeners
        if (ip, port) in listeners or (0, port) in listeners:
            return True
        return ip == 0 and any(p == port for (_, p) in listeners)

    def listen(self, ip: int, port: int, backlog: int) -> Listener:
        """Open a listener on ``ip`` (0 = every address) and ``port`` (0 = ephemeral)."""
        if port == 0:
            port = self._pick_port(
                lambda p: (
                    not self._port_busy(ip, p) and not any(k[1] == p for k in self.connections)
                )
            )
        elif self._port_busy(ip, port):
            raise AddressInUse(f"tcp port {port} on {self.family.format(ip)} is already in use")
        listener = Listener(self, ip, port, backlog)
        self.listeners[(ip, port)] = listener
        return listener

    def _pick_port(self, free: Callable[[int], bool]) -> int:
        """RFC 6056 3.3.1-style: a random start, then a scan that ends after one lap."""
        count = EPHEMERAL_HIGH - EPHEMERAL_LOW + 1
        start = int.from_bytes(os.urandom(2), "big")
        for i in range(count):
            port = EPHEMERAL_LOW + (start + i) % count
            if free(port):
                return port
        raise AddressUnavailable(f"no free ephemeral port in {EPHEMERAL_LOW}-{EPHEMERAL_HIGH}")

    def connect(self, lip: int, rip: int, rport: int) -> Connection:
        """Active open (RFC 9293 3.10.1): send a SYN, return the SYN-SENT connection."""
        conns = self.connections
        lport = self._pick_port(
            lambda p: (lip, p, rip, rport) not in conns and not self._port_busy(lip, p)
        )
        key = (lip, lport, rip, rport)
        conn = Connection(self, key, self.mss_for(rip), self._isn(key))
        conns[key] = conn
        conn.state = State.SYN_SENT
        conn.rtt.start(conn.iss + 1, self.sched.now())
        conn._send_syn()
        return conn

    # -- input ----------------------------------------------------------------------------

    def input(self, src: int, dst: int, data: memoryview, csum_ok: bool = False) -> None:
        """A segment from IP (already reassembled); ``csum_ok``: the device vouched for
        its checksum."""
        try:
            seg = parse(src, dst, data, self.family, not csum_ok)
        except PacketError:
            self.dropped += 1
            return
        conn = self.connections.get((dst, seg.dport, src, seg.sport))
        if (
            conn is not None
            and conn.state == State.TIME_WAIT
            and seg.flags & (SYN | ACK | RST) == SYN
            and unwrap(seg.seq, conn.rcv_nxt) > conn.rcv_nxt
        ):
            # A new incarnation of the connection: RFC 9293 3.6.1 / RFC 6191 allow a SYN
            # with a higher sequence number to end TIME-WAIT.
            conn._destroy()
            conn = None
        if conn is not None:
            if conn.state == State.SYN_SENT:
                conn.input_syn_sent(seg)
            else:
                conn.input(seg)
            return
        listener = self.listeners.get((dst, seg.dport)) or self.listeners.get((0, seg.dport))
        if listener is not None:
            self._listen_input(listener, src, dst, seg)
            return
        self._closed_input(src, dst, seg)

    def _closed_input(self, src: int, dst: int, seg: Segment) -> None:
        """RFC 9293 3.10.7.1: CLOSED answers everything but a RST with a RST."""
        if seg.flags & RST:
            return
        if seg.flags & ACK:
            self.send_rst(dst, src, seg.dport, seg.sport, seg.ack, 0, RST)
        else:
            seg_len = (
                len(seg.payload) + (1 if seg.flags & SYN else 0) + (1 if seg.flags & FIN else 0)
            )
            self.send_rst(dst, src, seg.dport, seg.sport, 0, seg.seq + seg_len, RST | ACK)

    def send_rst(
        self, src: int, dst: int, sport: int, dport: int, seq: int, ack: int, flags: int
    ) -> None:
        """Send a bare reset segment."""
        self.output(
            src, dst, segment(src, dst, sport, dport, seq, ack, flags, 0, family=self.family), 0
        )

    def _listen_input(self, listener: Listener, src: int, dst: int, seg: Segment) -> None:
        """RFC 9293 3.10.7.2, LISTEN."""
        flags = seg.flags
        if flags & RST:
            return
        if flags & ACK:
            self.send_rst(dst, src, seg.dport, seg.sport, seg.ack, 0, RST)
            return
        if not flags & SYN:
            return
        if (
            listener.closed
            or len(listener.queue) + listener.half_open >= listener.backlog
            or self.half_open >= self.config.max_half_open
        ):
            self.dropped += 1  # full: drop the SYN, the client retries (RFC 4987 3.1)
            return
        key = (dst, seg.dport, src, seg.sport)
        conn = Connection(self, key, self.mss_for(src), self._isn(key))
        conn.listener = listener
        conn.state = State.SYN_RECEIVED
        conn.irs = seg.seq
        conn.rcv_nxt = seg.seq + 1
        conn.rcv_adv = conn.rcv_nxt
        conn._take_syn_options(seg)
        conn.snd_wnd = seg.window
        listener.half_open += 1
        self.half_open += 1
        self.connections[key] = conn
        conn.rtt.start(conn.iss + 1, self.sched.now())
        conn._send_syn()

    def challenge_ack(self, conn: Connection) -> None:
        """An ACK in answer to a suspicious RST or SYN, at most ``challenge_ack_limit``
        a second over the whole layer (RFC 5961 sections 3.2, 4.2 and 7)."""
        second = int(self.sched.now())
        if second != self._challenge_second:
            self._challenge_second = second
            self._challenges = 0
        if self._challenges < self.config.challenge_ack_limit:
            self._challenges += 1
            conn._send_ack()

    def close(self) -> None:
        """Reset every connection and close every listener (the stack goes away)."""
        for listener in list(self.listeners.values()):
            listener.close()
        for conn in list(self.connections.values()):
            conn.abort()
        self.sched.remove_flusher(self.flush)
