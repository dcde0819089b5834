"""TCP (RFC 9293), sans-IO: connections, listeners and the demultiplexing layer.

What is implemented, with the rule each piece follows:

* the three-way handshake both ways and simultaneous open (RFC 9293 3.5), the listen
  backlog and a bound on half-open connections;
* sequence numbers *unwrapped* to Python integers on arrival (each 32-bit field is read
  as the value nearest to the one expected, RFC 9293 3.4 / RFC 1982 serial arithmetic), so
  every comparison below is a plain integer comparison that is right across 2**32;
* the receive window tracks free buffer space, never shrinks (RFC 9293 3.8.6.2.2,
  RFC 7323 2.4) and avoids silly windows on both sides (RFC 9293 3.8.6.2.1 and .2.2);
* window scaling and the MSS option (RFC 7323 section 2, RFC 9293 3.7.1);
* out-of-order reassembly; retransmission with RTO per RFC 6298 (Karn's rule);
  fast retransmit and NewReno recovery (RFC 5681, RFC 6582), limited transmit
  (RFC 3042), early retransmit (RFC 5827); selective acknowledgments (RFC 2018) with
  scoreboard-driven recovery (after RFC 6675), tail loss probes and SACK-based detection
  of lost retransmissions (after RFC 8985); zero-window probes (RFC 9293 3.8.6.1);
  Nagle, switchable (RFC 9293 3.7.4); delayed ACK that ACKs at least every second full
  segment (RFC 5681 4.2, RFC 9293 3.8.6.3), coalesced to the end of each input batch;
* FIN, half-close and every close state, TIME-WAIT (RFC 9293 3.6), RST processing with
  the RFC 5961 checks (challenge ACKs, rate limited);
* initial sequence numbers per RFC 6528, ephemeral ports per RFC 6056/6335 with a scan
  bounded by the size of the range.
"""

from __future__ import annotations

import bisect
import enum
import hashlib
import os
import struct
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from backends._chunks import take
from backends.errors import (
    AddressInUse,
    AddressUnavailable,
    ConnectionRefused,
    ConnectionReset,
    NetworkError,
    Timeout,
)

from . import checksum
from .errors import PacketError
from .ipv4 import PROTO_TCP, int_to_ip
from .sched import Scheduler

MASK = 0xFFFFFFFF
HALF = 0x80000000
HEADER_LEN = 20

FIN = 0x01
SYN = 0x02
RST = 0x04
PSH = 0x08
ACK = 0x10

EPHEMERAL_LOW = 49152  # RFC 6335 section 6: the dynamic/private range
EPHEMERAL_HIGH = 65535
DEFAULT_MSS = 536  # RFC 9293 3.7.1: assumed when the peer sends no MSS option

_HEADER = struct.Struct("!HHIIBBHHH")
_PSEUDO = struct.Struct("!IIHH")


class State(enum.IntEnum):
    """The connection states of RFC 9293 section 3.3.2."""

    CLOSED = 0
    LISTEN = 1
    SYN_SENT = 2
    SYN_RECEIVED = 3
    ESTABLISHED = 4
    FIN_WAIT_1 = 5
    FIN_WAIT_2 = 6
    CLOSE_WAIT = 7
    CLOSING = 8
    LAST_ACK = 9
    TIME_WAIT = 10


_CAN_SEND = frozenset({State.ESTABLISHED, State.CLOSE_WAIT})
"""States in which the application may still queue data."""
_SEND_DATA = frozenset(
    {State.ESTABLISHED, State.CLOSE_WAIT, State.FIN_WAIT_1, State.CLOSING, State.LAST_ACK}
)
"""States in which queued data and our FIN still go out."""
_RECV_DATA = frozenset({State.ESTABLISHED, State.FIN_WAIT_1, State.FIN_WAIT_2})
"""States in which segment text is accepted (RFC 9293 3.10.7.4, seventh step)."""


@dataclass
class TcpConfig:
    """Tunables. Defaults suit a LAN/TAP and a loopback with a large MTU."""

    rcvbuf: int = 1 << 20
    """Receive buffer: the most data held for the application (and the window offered)."""
    sndbuf: int = 512 * 1024
    """Send buffer: ``write`` blocks once this much is queued and unacknowledged."""
    nagle: bool = False
    """Nagle's algorithm (RFC 9293 3.7.4). Off by default, as asyncio and trio set
    TCP_NODELAY on their sockets."""
    delayed_ack: float = 0.04
    """Delayed-ACK timer (RFC 9293 3.8.6.3: under 0.5 s; 40 ms as Linux)."""
    rto_initial: float = 1.0
    """RFC 6298 2.1."""
    rto_min: float = 0.2
    """RFC 6298 2.4 says 1 s; 200 ms is what Linux uses and what LANs need."""
    rto_max: float = 60.0
    """RFC 6298 2.5: a maximum of at least 60 s."""
    syn_retries: int = 6
    data_retries: int = 15
    """Retransmissions of one segment before the connection is given up (RFC 9293
    3.8.3 R2: at least 100 s; with backoff from 0.2 s capped at 60 s this is ~15 min)."""
    time_wait: float = 60.0
    """2*MSL (RFC 9293 3.4.2 uses MSL = 2 min; Linux 60 s for the whole of TIME-WAIT)."""
    fin_wait_2: float = 60.0
    """How long a closed (orphaned) connection waits for the peer's FIN."""
    max_half_open: int = 1024
    """SYN-RECEIVED connections over all listeners (RFC 4987 section 3: bound them)."""
    max_time_wait: int = 16384
    """TIME-WAIT connections kept; past it the oldest ends early (Linux's
    tcp_max_tw_buckets does the same), so a busy server's memory stays bounded."""
    challenge_ack_limit: int = 1000
    """Challenge ACKs a second (RFC 5961 section 7)."""
    initial_window_segments: int = 10
    """Initial congestion window in segments (RFC 6928)."""
    sack: bool = True
    """Selective acknowledgments (RFC 2018), offered and used when the peer agrees."""


# -- wire format ---------------------------------------------------------------------------


def syn_options(mss: int, wscale: int | None, sack: bool = False) -> bytes:
    """MSS (kind 2, RFC 9293 3.2), window scale if offered (kind 3, RFC 7323 2.2) and
    SACK-permitted if offered (kind 4, RFC 2018 section 2), padded with NOPs."""
    out = b"\x02\x04" + mss.to_bytes(2, "big")
    if wscale is not None:
        out += b"\x01\x03\x03" + bytes([wscale])
    if sack:
        out += b"\x01\x01\x04\x02"
    return out


def sack_option(blocks: list[tuple[int, int]]) -> bytes:
    """A SACK option (kind 5, RFC 2018 section 3) for up to four blocks, NOP-aligned."""
    out = bytearray(b"\x01\x01\x05")
    out.append(2 + 8 * len(blocks))
    for left, right in blocks:
        out += (left & MASK).to_bytes(4, "big") + (right & MASK).to_bytes(4, "big")
    return bytes(out)


def parse_sack(opts: memoryview) -> list[tuple[int, int]]:
    """The (32-bit) blocks of a SACK option, or none; malformed options end the scan."""
    i, n = 0, len(opts)
    while i < n:
        kind = opts[i]
        if kind == 0:
            break
        if kind == 1:
            i += 1
            continue
        if i + 1 >= n:
            break
        length = opts[i + 1]
        if length < 2 or i + length > n:
            break
        if kind == 5 and length >= 10 and (length - 2) % 8 == 0:
            raw = bytes(opts[i + 2 : i + length])
            return [
                (int.from_bytes(raw[j : j + 4], "big"), int.from_bytes(raw[j + 4 : j + 8], "big"))
                for j in range(0, len(raw), 8)
            ]
        i += length
    return []


def parse_options(opts: memoryview) -> tuple[int | None, int | None, bool]:
    """``(mss, wscale, sack_permitted)`` from a SYN's options; malformed options end the
    scan."""
    mss = wscale = None
    sack = False
    i, n = 0, len(opts)
    while i < n:
        kind = opts[i]
        if kind == 0:  # end of option list
            break
        if kind == 1:  # no-operation
            i += 1
            continue
        if i + 1 >= n:
            break
        length = opts[i + 1]
        if length < 2 or i + length > n:
            break  # RFC 9293 3.1: a malformed length; ignore the rest
        if kind == 2 and length == 4:
            mss = (opts[i + 2] << 8) | opts[i + 3]
        elif kind == 3 and length == 3:
            wscale = min(opts[i + 2], 14)  # RFC 7323 2.3: larger shifts are treated as 14
        elif kind == 4 and length == 2:
            sack = True
        i += length
    return mss, wscale, sack


def segment(
    src: int,
    dst: int,
    sport: int,
    dport: int,
    seq: int,
    ack: int,
    flags: int,
    window: int,
    payload: bytes | bytearray = b"",
    options: bytes = b"",
) -> bytes:
    """A TCP segment with its checksum over the pseudo-header (RFC 9293 3.1)."""
    offset = (HEADER_LEN + len(options)) // 4
    head = _HEADER.pack(sport, dport, seq & MASK, ack & MASK, offset << 4, flags, window, 0, 0)
    head += options
    total = checksum.partial(_PSEUDO.pack(src, dst, PROTO_TCP, len(head) + len(payload)) + head)
    if payload:
        total += checksum.partial(payload)
    csum = checksum.finish(total)
    return b"".join((head[:16], csum.to_bytes(2, "big"), head[18:], payload))


@dataclass(slots=True)
class Segment:
    """A received segment, 32-bit fields as on the wire."""

    sport: int
    dport: int
    seq: int
    ack: int
    flags: int
    window: int
    options: memoryview
    payload: memoryview


def parse(src: int, dst: int, data: memoryview) -> Segment:
    """Check and parse a segment; :class:`PacketError` names the problem."""
    if len(data) < HEADER_LEN:
        raise PacketError(f"tcp: segment of {len(data)} bytes is shorter than a header")
    sport, dport, seq, ack, off, flags, window, _csum, _urg = _HEADER.unpack_from(data)
    hlen = (off >> 4) * 4
    if hlen < HEADER_LEN or hlen > len(data):
        raise PacketError(f"tcp: data offset {hlen} with {len(data)} bytes")
    total = checksum.partial(_PSEUDO.pack(src, dst, PROTO_TCP, len(data))) + checksum.partial(data)
    if not checksum.verify(total):
        raise PacketError("tcp: bad checksum")
    return Segment(sport, dport, seq, ack, flags, window, data[HEADER_LEN:hlen], data[hlen:])


def unwrap(value: int, near: int) -> int:
    """The integer congruent to 32-bit ``value`` that is nearest ``near`` (RFC 1982)."""
    return near + ((value - near + HALF) & MASK) - HALF


# -- connections -----------------------------------------------------------------------------


Key = tuple[int, int, int, int]
"""(local ip, local port, remote ip, remote port)."""


class Connection:
    """One TCP connection's TCB (RFC 9293 3.3.1) and its state machine.

    The application side: :meth:`send`, :meth:`recv`, :meth:`shutdown`, :meth:`close`,
    :meth:`abort`; it learns of changes through ``on_readable``/``on_writable``/
    ``on_established`` callbacks. Sequence variables are unwrapped integers.
    """

    def __init__(self, tcp: Tcp, key: Key, mss: int, iss: int) -> None:
        self.tcp = tcp
        self.key = key
        self.lip, self.lport, self.rip, self.rport = key
        cfg = tcp.config
        self.config = cfg
        sched = tcp.sched
        self.sched = sched
        self.state = State.CLOSED
        self.listener: Listener | None = None
        self.error: NetworkError | None = None
        self.orphaned = False
        """The application closed it; it lives on only to finish the close handshake."""
        # send sequence space (RFC 9293 3.3.1)
        self.iss = iss
        self.snd_una = iss
        self.snd_nxt = iss
        self.snd_max = iss
        self.snd_wnd = 0
        self.max_snd_wnd = 0
        self.snd_wl1 = 0
        self.snd_wl2 = 0
        self.snd_wscale = 0
        self.sndbuf = bytearray()
        self.snd_buf_seq = iss + 1  # sequence number of sndbuf[0]
        self.fin_queued = False
        self.fin_acked = False
        self.local_mss = mss  # what we advertise: MTU - 40
        self.mss = min(mss, DEFAULT_MSS)  # effective send MSS, set from the peer's option
        # receive sequence space
        self.irs = 0
        self.rcv_nxt = 0
        self.rcv_adv = 0  # right edge of the last window advertised
        self.rcv_wscale = 0
        self.offer_wscale: int | None = tcp.rcv_wscale
        self.offer_sack = cfg.sack
        self.sack_ok = False
        self.ooo_ranges: list[list[int]] = []  # merged [start, end) of ooo, sorted
        self.ooo_latest = 0  # start of the most recent out-of-order segment
        self.sacked: list[list[int]] = []  # the scoreboard: SACKed [start, end), sorted
        self.high_rxt = 0  # RFC 6675 HighRxt: end of the last hole retransmitted
        self.rcv_chunks: deque[bytes] = deque()
        self.rcv_buffered = 0
        self.rcv_eof = False  # peer's FIN received (and everything before it)
        self.ooo: dict[int, tuple[bytes, bool]] = {}
        self.unacked_bytes = 0
        # congestion control (RFC 5681, RFC 6582)
        self.cwnd = 0
        self.ssthresh = 1 << 30
        self.dupacks = 0
        self.recover = iss
        self.in_recovery = False
        self.ca_acked = 0
        self.limited = 0  # RFC 3042 limited transmit: extra window on dupacks 1 and 2
        self.retx_budget = 0  # dupacks expected before a retransmission counts as lost
        self.dup_since_retx = 0
        # retransmission (RFC 6298)
        self.srtt: float | None = None
        self.rttvar = 0.0
        self.rto = cfg.rto_initial
        self.rtt_seq: int | None = None
        self.rtt_time = 0.0
        self.retries = 0
        self.rto_timer = sched.timer(self._on_rto)
        self.delack_timer = sched.timer(self._on_delack)
        self.persist_timer = sched.timer(self._on_persist)
        self.persist_backoff = 0
        self.wait_timer = sched.timer(self._on_wait_timeout)  # TIME-WAIT and FIN-WAIT-2
        self.tlp_timer = sched.timer(self._on_tlp)  # tail loss probe (RFC 8985 7)
        self.tlp_out = False
        self.retx_mark = 0  # SND.MAX when SND.UNA's segment was last retransmitted
        # application callbacks
        self.on_readable: Callable[[], None] | None = None
        self.on_writable: Callable[[], None] | None = None
        self.on_established: Callable[[], None] | None = None

    def __repr__(self) -> str:
        return (
            f"<tcp {int_to_ip(self.lip)}:{self.lport} -> {int_to_ip(self.rip)}:{self.rport}"
            f" {self.state.name}>"
        )

    @property
    def remote_text(self) -> str:
        """``ip:port`` of the peer, for messages."""
        return f"{int_to_ip(self.rip)}:{self.rport}"

    # -- application interface -----------------------------------------------------------

    @property
    def send_space(self) -> int:
        """Bytes :meth:`send` would accept now."""
        return max(0, self.config.sndbuf - len(self.sndbuf))

    @property
    def can_write(self) -> bool:
        """Whether the application may still queue data (not shut down, no error)."""
        return self.state in _CAN_SEND and not self.fin_queued and self.error is None

    def send(self, data: bytes | bytearray | memoryview) -> int:
        """Queue up to ``send_space`` bytes of ``data``; returns how many were taken."""
        if not self.can_write:
            return 0
        n = min(len(data), self.config.sndbuf - len(self.sndbuf))
        if n <= 0:
            return 0
        self.sndbuf += data[:n] if n < len(data) else data
        self._output()
        return n

    def recv(self, max_bytes: int) -> bytes | None:
        """Up to ``max_bytes`` of received data; ``b""`` at EOF; None if nothing yet."""
        chunks = self.rcv_chunks
        if not chunks:
            return b"" if self.rcv_eof else None
        data = take(chunks, max_bytes)
        self.rcv_buffered -= len(data)
        self._maybe_window_update()
        return data

    def shutdown(self) -> None:
        """Half-close: FIN after the queued data (RFC 9293 3.10.4 CLOSE, sending side)."""
        if self.fin_queued or self.error is not None:
            return
        state = self.state
        if state == State.ESTABLISHED:
            self.fin_queued = True
            self.state = State.FIN_WAIT_1
        elif state == State.CLOSE_WAIT:
            self.fin_queued = True
            self.state = State.LAST_ACK
        elif state == State.SYN_SENT:
            self._destroy()
            return
        elif state == State.SYN_RECEIVED:
            self.abort()
            return
        else:
            return
        self._output()

    def close(self) -> None:
        """Close: graceful FIN, unless received data is unread or arrives later, in which
        case the peer gets a RST (RFC 1122 4.2.2.13, RFC 9293 3.10.4)."""
        if self.orphaned:
            return
        self.orphaned = True
        self.on_readable = self.on_writable = self.on_established = None
        if self.state in (State.CLOSED, State.TIME_WAIT) or self.error is not None:
            if self.state != State.TIME_WAIT:
                self._destroy()
            return
        if self.rcv_buffered:
            self.abort()
            return
        self.shutdown()
        if self.state == State.FIN_WAIT_2:
            self.wait_timer.start_in(self.config.fin_wait_2)

    def abort(self) -> None:
        """Send RST and forget the connection (RFC 9293 3.10.5 ABORT)."""
        self.orphaned = True
        if self.state in (
            State.SYN_RECEIVED,
            State.ESTABLISHED,
            State.FIN_WAIT_1,
            State.FIN_WAIT_2,
            State.CLOSE_WAIT,
        ):
            self._emit(self.snd_nxt, RST | ACK)
        if self.error is None:
            self.error = ConnectionReset(f"connection to {self.remote_text} aborted locally")
        self._destroy()

    # -- output ---------------------------------------------------------------------------

    def _window_field(self, syn: bool) -> int:
        """The window to advertise, with receiver-side SWS avoidance (RFC 9293 3.8.6.2.2):
        the offered right edge moves only by min(rcvbuf/2, MSS) or more, never back."""
        rcv_nxt = self.rcv_nxt
        current = self.rcv_adv - rcv_nxt
        if current < 0:
            current = 0
        free = self.config.rcvbuf - self.rcv_buffered
        wnd = free if free - current >= min(self.config.rcvbuf // 2, self.local_mss) else current
        if syn:  # RFC 7323 2.2: the window in a SYN is never scaled
            field = min(wnd, 0xFFFF)
            shift = 0
        else:
            shift = self.rcv_wscale
            field = min(
                (wnd + (1 << shift) - 1) >> shift if wnd == current else wnd >> shift, 0xFFFF
            )
        right = rcv_nxt + (field << shift)
        if right > self.rcv_adv:
            self.rcv_adv = right
        return field

    def _emit(
        self, seq: int, flags: int, payload: bytes | bytearray = b"", options: bytes = b""
    ) -> None:
        window = self._window_field(bool(flags & SYN))
        if flags & ACK:
            self.unacked_bytes = 0
            self.delack_timer.stop()
            self.tcp._ack_now.discard(self)
        self.tcp.output(
            self.lip,
            self.rip,
            segment(
                self.lip,
                self.rip,
                self.lport,
                self.rport,
                seq,
                self.rcv_nxt if flags & ACK else 0,
                flags,
                window,
                payload,
                options,
            ),
        )

    def _send_ack(self) -> None:
        if self.ooo_ranges and self.sack_ok:
            self._emit(self.snd_nxt, ACK, options=sack_option(self._sack_blocks()))
        else:
            self._emit(self.snd_nxt, ACK)

    def _sack_blocks(self) -> list[tuple[int, int]]:
        """Up to four blocks, the one holding the latest segment first (RFC 2018 4)."""
        ranges = self.ooo_ranges
        latest = self.ooo_latest
        first = None
        for r in ranges:
            if r[0] <= latest < r[1]:
                first = r
                break
        blocks = [(first[0], first[1])] if first is not None else []
        for r in reversed(ranges):
            if len(blocks) == 4:
                break
            if r is not first:
                blocks.append((r[0], r[1]))
        return blocks

    def _send_syn(self) -> None:
        flags = SYN | (ACK if self.state == State.SYN_RECEIVED else 0)
        self._emit(
            self.iss,
            flags,
            options=syn_options(self.local_mss, self.offer_wscale, self.offer_sack),
        )
        if self.snd_nxt == self.iss:
            self.snd_nxt = self.iss + 1
            self.snd_max = max(self.snd_max, self.snd_nxt)
        if not self.rto_timer.running:
            self.rto_timer.start_in(self.rto)

    def _output(self) -> None:
        """Send what the windows allow, then (re)arm the tail loss probe."""
        self._send_new()
        if self.sack_ok:
            self._arm_tlp()

    def _arm_tlp(self) -> None:
        """Schedule a probe for 2*SRTT after the last send or ACK (RFC 8985 7.2), or
        200 ms more when under two full segments are out (the peer may delay its ACK);
        never later than the retransmission timer."""
        if self.tlp_out or self.srtt is None or self.snd_max <= self.snd_una:
            self.tlp_timer.stop()
            return
        pto = max(2 * self.srtt, 0.01)
        if self.snd_max - self.snd_una < 2 * self.mss:
            pto += 0.2  # WCDelAckT
        deadline = self.rto_timer.deadline
        now = self.sched.now()
        if deadline is None or now + pto >= deadline:
            self.tlp_timer.stop()
            return
        self.tlp_timer.start(now + pto)

    def _on_tlp(self) -> None:
        """No ACK for a PTO: send one new segment, or resend the last one, so that the
        peer's ACK (with SACK blocks) reveals a tail loss (RFC 8985 7.3)."""
        if self.state not in _SEND_DATA or self.snd_max <= self.snd_una or self.tlp_out:
            return
        self.tlp_out = True
        mss = self.mss
        data_end = self.snd_buf_seq + len(self.sndbuf)
        unsent = data_end - self.snd_nxt
        if unsent > 0 and self.snd_una + self.snd_wnd - self.snd_nxt >= min(unsent, mss):
            n = min(unsent, mss)
            off = self.snd_nxt - self.snd_buf_seq
            flags = ACK | PSH if n == unsent else ACK
            if n == unsent and self.fin_queued:
                flags |= FIN
            self._emit(self.snd_nxt, flags, self.sndbuf[off : off + n])
            self.snd_nxt += n + (1 if flags & FIN else 0)
            self.snd_max = max(self.snd_max, self.snd_nxt)
        else:
            end = min(self.snd_max, data_end)
            seq = max(self.snd_una, end - mss)
            self.rtt_seq = None  # Karn (RFC 6298 3)
            if end > seq:
                off = seq - self.snd_buf_seq
                flags = ACK
                if self.fin_queued and end == data_end and self.snd_max > data_end:
                    flags |= FIN
                self._emit(seq, flags, self.sndbuf[off : off + end - seq])
            elif self.fin_queued and self.snd_max > data_end:
                self._emit(data_end, FIN | ACK)
        self.rto_timer.start_in(self.rto)  # RFC 8985 7.3: re-arm the RTO after a probe

    def _send_new(self) -> None:
        """Send what the windows allow (RFC 9293 3.8.6.2.1 sender SWS avoidance, 3.7.4
        Nagle), then the FIN once all data is out."""
        if self.state not in _SEND_DATA:
            return
        mss = self.mss
        sndbuf = self.sndbuf
        while True:
            una = self.snd_una
            nxt = self.snd_nxt
            data_end = self.snd_buf_seq + len(sndbuf)
            unsent = data_end - nxt
            cwnd = self.cwnd + self.limited
            if self.in_recovery and self.sack_ok:
                # RFC 6675 5: send while cwnd exceeds the pipe, the data in flight; SACKed
                # data has left the network (holes still count, conservatively)
                for left, right in self.sacked:
                    cwnd += right - left
            wnd = self.snd_wnd if self.snd_wnd < cwnd else cwnd
            usable = una + wnd - nxt
            if unsent > 0:
                n = min(unsent, mss, usable)
                if n <= 0:
                    if nxt == una and not self.persist_timer.running:
                        self._start_persist()
                    return
                if not (
                    n == mss
                    or (n == unsent and (not self.config.nagle or nxt == una))
                    or n >= self.max_snd_wnd // 2
                ):
                    if nxt == una and not self.persist_timer.running:
                        self._start_persist()  # RFC 9293 3.8.6.2.1: the override timeout
                    return
                off = nxt - self.snd_buf_seq
                last = n == unsent
                flags = ACK | PSH if last else ACK
                if last and self.fin_queued:
                    flags |= FIN
                self._emit(nxt, flags, sndbuf[off : off + n])
                nxt += n + (1 if flags & FIN else 0)
                self.snd_nxt = nxt
                if nxt > self.snd_max:
                    if self.rtt_seq is None:  # time one segment per RTT (RFC 6298 3)
                        self.rtt_seq = nxt
                        self.rtt_time = self.sched.now()
                    self.snd_max = nxt
                if not self.rto_timer.running:
                    self.rto_timer.start_in(self.rto)  # RFC 6298 5.1
                continue
            if self.fin_queued and nxt == data_end:
                self._emit(nxt, FIN | ACK)
                self.snd_nxt = nxt + 1
                if self.snd_nxt > self.snd_max:
                    self.snd_max = self.snd_nxt
                if not self.rto_timer.running:
                    self.rto_timer.start_in(self.rto)
            return

    def _retransmit_first(self) -> None:
        """Resend the segment at SND.UNA (fast retransmit, partial ACKs)."""
        una = self.snd_una
        off = una - self.snd_buf_seq
        n = min(self.mss, len(self.sndbuf) - off)
        self.rtt_seq = None  # Karn: never time a retransmitted segment (RFC 6298 3)
        self.retx_mark = self.snd_max
        if n > 0:
            flags = ACK
            if self.fin_queued and off + n == len(self.sndbuf):
                flags |= FIN
            self._emit(una, flags, self.sndbuf[off : off + n])
        elif self.fin_queued and una == self.snd_buf_seq + len(self.sndbuf):
            self._emit(una, FIN | ACK)

    def _start_persist(self) -> None:
        delay = min(
            max(self.rto, self.config.rto_min) * (1 << min(self.persist_backoff, 12)),
            self.config.rto_max,
        )
        self.persist_timer.start_in(delay)

    # -- timers ---------------------------------------------------------------------------

    def _on_rto(self) -> None:
        """Retransmission timeout (RFC 6298 5.4-5.6, RFC 5681 3.1 eq. 4)."""
        state = self.state
        cfg = self.config
        if state in (State.CLOSED, State.LISTEN, State.TIME_WAIT):
            return
        self.retries += 1
        self.rto = min(self.rto * 2, cfg.rto_max)  # RFC 6298 5.5: back off
        self.rtt_seq = None
        if state in (State.SYN_SENT, State.SYN_RECEIVED):
            if self.retries > cfg.syn_retries:
                self._fail(Timeout(f"connection to {self.remote_text} timed out (no SYN-ACK)"))
                return
            self._send_syn()
            self.rto_timer.start_in(self.rto)
            return
        if self.snd_una >= self.snd_max:
            return
        if self.retries > cfg.data_retries:
            self._emit(self.snd_nxt, RST | ACK)
            self._fail(
                Timeout(
                    f"connection to {self.remote_text} timed out (no ACK after "
                    f"{cfg.data_retries} retransmissions)"
                )
            )
            return
        flight = self.snd_max - self.snd_una
        if self.retries == 1 or not self.in_recovery:
            self.ssthresh = max(flight // 2, 2 * self.mss)
        self.cwnd = self.mss  # the loss window
        self.limited = 0
        self.sacked.clear()  # RFC 2018 8: after a timeout, forget what was SACKed
        self.high_rxt = 0
        self.tlp_out = False
        self.retx_mark = 0
        self.in_recovery = False
        self.dupacks = 0
        self.recover = self.snd_max  # RFC 6582 section 4
        self.snd_nxt = self.snd_una  # go back N
        self.rto_timer.start_in(self.rto)
        self._retransmit_first()
        self.snd_nxt = self.snd_una + min(self.mss, self.snd_max - self.snd_una)

    def _on_delack(self) -> None:
        if self.unacked_bytes and self.state not in (State.CLOSED, State.LISTEN):
            self._send_ack()

    def _on_persist(self) -> None:
        """Zero-window probe (RFC 9293 3.8.6.1), backing off exponentially; or the
        SWS override timeout when the window is small but open."""
        if self.state not in _SEND_DATA:
            return
        unsent = self.snd_buf_seq + len(self.sndbuf) - self.snd_nxt
        if unsent <= 0 or self.snd_nxt != self.snd_una:
            self.persist_backoff = 0
            return
        if self.snd_wnd == 0:
            # An out-of-window segment: the peer must answer with an ACK showing its
            # window (RFC 9293 3.10.7.4 "If an incoming segment is not acceptable, an
            # acknowledgment should be sent in reply").
            if self.orphaned and self.persist_backoff >= self.config.data_retries:
                # RFC 9293 3.8.6.1 keeps probing a live application's connection forever;
                # one the application closed must not be held open by a peer that never
                # reads (Linux's tcp_orphan_retries does the same).
                self._emit(self.snd_nxt, RST | ACK)
                self._fail(
                    Timeout(
                        f"closed connection to {self.remote_text}: the peer's window stayed closed"
                    )
                )
                return
            self._emit(self.snd_una - 1, ACK)
            self.persist_backoff += 1
            self._start_persist()
            return
        n = min(unsent, self.snd_wnd, self.mss)
        off = self.snd_nxt - self.snd_buf_seq
        self._emit(self.snd_nxt, ACK | PSH, self.sndbuf[off : off + n])
        self.snd_nxt += n
        self.snd_max = max(self.snd_max, self.snd_nxt)
        if not self.rto_timer.running:
            self.rto_timer.start_in(self.rto)

    def _on_wait_timeout(self) -> None:
        if self.state == State.TIME_WAIT or (self.state == State.FIN_WAIT_2 and self.orphaned):
            self._destroy()

    def _enter_time_wait(self) -> None:
        self.state = State.TIME_WAIT
        self.rto_timer.stop()
        self.persist_timer.stop()
        self.delack_timer.stop()
        self.tlp_timer.stop()
        self.wait_timer.start_in(self.config.time_wait)
        self.tcp._time_wait_entered(self)

    # -- teardown -------------------------------------------------------------------------

    def _fail(self, error: NetworkError) -> None:
        if self.error is None:
            self.error = error
        self._destroy()

    def _destroy(self) -> None:
        if self.state == State.SYN_RECEIVED and self.listener is not None:
            self.listener.half_open -= 1
            self.tcp.half_open -= 1
        self.state = State.CLOSED
        for t in (
            self.rto_timer,
            self.delack_timer,
            self.persist_timer,
            self.wait_timer,
            self.tlp_timer,
        ):
            t.stop()
        self.tcp._forget(self)
        self.ooo.clear()
        self._wake()

    def _wake(self) -> None:
        if self.on_readable is not None:
            self.on_readable()
        if self.on_writable is not None:
            self.on_writable()

    # -- input ----------------------------------------------------------------------------

    def _take_syn_options(self, seg: Segment) -> None:
        mss, wscale, sack = parse_options(seg.options)
        self.sack_ok = sack and self.offer_sack
        if self.state == State.SYN_RECEIVED:
            self.offer_sack = self.sack_ok  # RFC 2018 2: only answer an offer
        self.mss = max(64, min(mss if mss is not None else DEFAULT_MSS, self.local_mss))
        if wscale is not None and self.offer_wscale is not None:
            self.snd_wscale = wscale
            self.rcv_wscale = self.offer_wscale
        else:  # RFC 7323 2.2: scaling only when both sides sent the option
            self.snd_wscale = self.rcv_wscale = 0
            self.offer_wscale = None if self.state == State.SYN_RECEIVED else self.offer_wscale
        iw = min(self.config.initial_window_segments * self.mss, max(2 * self.mss, 14600))
        self.cwnd = max(iw, 2 * self.mss)  # RFC 6928 / RFC 5681 3.1

    def input_syn_sent(self, seg: Segment) -> None:
        """RFC 9293 3.10.7.3, SYN-SENT."""
        flags = seg.flags
        ack_ok = False
        if flags & ACK:
            ack = unwrap(seg.ack, self.iss)
            if ack <= self.iss or ack > self.snd_nxt:
                if not flags & RST:
                    self.tcp.send_rst(self.lip, self.rip, self.lport, self.rport, seg.ack, 0, RST)
                return
            ack_ok = True
        if flags & RST:
            if ack_ok:
                self._fail(ConnectionRefused(f"connection to {self.remote_text} refused"))
            return
        if not flags & SYN:
            return
        self.irs = seg.seq
        self.rcv_nxt = seg.seq + 1
        self.rcv_adv = self.rcv_nxt
        self._take_syn_options(seg)
        if ack_ok:
            self.snd_una = unwrap(seg.ack, self.iss)
            self.snd_wnd = seg.window  # RFC 7323 2.2: unscaled in a SYN
            self.max_snd_wnd = max(self.max_snd_wnd, self.snd_wnd)
            self.snd_wl1 = self.rcv_nxt - 1
            self.snd_wl2 = self.snd_una
            self.rto_timer.stop()
            self.retries = 0
            if self.rtt_seq is not None:
                self._rtt_sample(self.sched.now() - self.rtt_time)
            self.rtt_seq = None
            self.state = State.ESTABLISHED
            self._send_ack()
            if self.on_established is not None:
                self.on_established()
            self._output()
        else:
            self.state = State.SYN_RECEIVED  # simultaneous open
            self._send_syn()

    def _rtt_sample(self, r: float) -> None:
        """RFC 6298 2.2/2.3 (alpha 1/8, beta 1/4, K 4, G ~ 1 ms), 2.4 minimum."""
        if self.srtt is None:
            self.srtt = r
            self.rttvar = r / 2
        else:
            self.rttvar = 0.75 * self.rttvar + 0.25 * abs(self.srtt - r)
            self.srtt = 0.875 * self.srtt + 0.125 * r
        cfg = self.config
        self.rto = min(max(self.srtt + max(0.001, 4 * self.rttvar), cfg.rto_min), cfg.rto_max)

    def input(self, seg: Segment) -> None:
        """SEGMENT ARRIVES in SYN-RECEIVED and the synchronized states (RFC 9293
        3.10.7.4), with RFC 5961's checks for RST, SYN and ACK."""
        state = self.state
        flags = seg.flags
        rcv_nxt = self.rcv_nxt
        seq = unwrap(seg.seq, rcv_nxt)
        payload = seg.payload
        plen = len(payload)
        fin = bool(flags & FIN)
        seg_len = plen + (1 if flags & SYN else 0) + (1 if fin else 0)
        wnd = self.rcv_adv - rcv_nxt
        if wnd < 0:
            wnd = 0

        # first: sequence number acceptability
        if seg_len == 0:
            ok = seq == rcv_nxt if wnd == 0 else rcv_nxt <= seq < rcv_nxt + wnd
        elif wnd == 0:
            ok = False
        else:
            end = seq + seg_len - 1
            ok = (rcv_nxt <= seq < rcv_nxt + wnd) or (rcv_nxt <= end < rcv_nxt + wnd)
        if not ok:
            if wnd == 0 and seq == rcv_nxt and not flags & (RST | SYN):
                # a probe into our zero window: its ACK field still counts
                payload = payload[:0]
                plen = 0
                fin = False
            else:
                if not flags & RST:
                    if state == State.TIME_WAIT and fin:
                        self.wait_timer.start_in(self.config.time_wait)
                    self._send_ack()
                return

        # second: RST (RFC 5961 3.2)
        if flags & RST:
            if seq != rcv_nxt:
                self.tcp.challenge_ack(self)
                return
            if state == State.SYN_RECEIVED and self.listener is not None:
                self._destroy()  # back to LISTEN for a passive open: just forget it
                return
            if state in (State.CLOSING, State.LAST_ACK, State.TIME_WAIT):
                self._destroy()
                return
            self._fail(ConnectionReset(f"connection reset by peer {self.remote_text}"))
            return

        # fourth: SYN in a synchronized state (RFC 5961 4.2: challenge ACK)
        if flags & SYN:
            if state == State.SYN_RECEIVED and self.listener is not None and seq == rcv_nxt - 1:
                self._send_syn()  # a retransmitted SYN: our SYN-ACK was lost
                return
            self.tcp.challenge_ack(self)
            return

        # trim to the window (text before RCV.NXT, text beyond the right edge)
        if seq < rcv_nxt:
            cut = rcv_nxt - seq
            payload = payload[cut:]
            plen = len(payload)
            seq = rcv_nxt
        right = rcv_nxt + wnd
        if seq + plen > right:
            payload = payload[: right - seq]
            plen = len(payload)
            fin = False

        # fifth: ACK
        if not flags & ACK:
            return
        ack = unwrap(seg.ack, self.snd_una)
        if ack > self.snd_max:
            self._send_ack()  # RFC 5961 5.2 / RFC 9293: ACKs something not yet sent
            return
        if ack < self.snd_una - max(self.max_snd_wnd, 1):
            self._send_ack()  # RFC 5961 5.2: too old to be believed
            return
        if state == State.SYN_RECEIVED:
            if ack <= self.snd_una:
                self.tcp.send_rst(self.lip, self.rip, self.lport, self.rport, seg.ack, 0, RST)
                return
            self._established_from_syn_received(seg, ack)
            state = self.state
            if state == State.CLOSED:
                return  # its listener closed meanwhile: reset
        window = seg.window << self.snd_wscale
        new_sack = bool(self.sack_ok and len(seg.options) and self._take_sack(seg.options))
        if new_sack:
            self.tlp_out = False
        if ack > self.snd_una:
            self._new_ack(ack, seq, window)
        else:
            if (
                ack == self.snd_una
                and plen == 0
                and not fin
                # RFC 5681 2 (e): the window is unchanged; an ACK that SACKs new data
                # counts whatever its window (RFC 6675: SACK information is the signal)
                and (window == self.snd_wnd or new_sack)
                and self.snd_max > self.snd_una
            ):
                self._dup_ack()
            if self._update_window(seq, ack, window):
                self._output()
        if self.state == State.CLOSED:
            return
        if self.fin_queued and not self.fin_acked and ack > self.snd_buf_seq + len(self.sndbuf):
            self.fin_acked = True
            state = self.state
            if state == State.FIN_WAIT_1:
                self.state = State.FIN_WAIT_2
                if self.orphaned:
                    self.wait_timer.start_in(self.config.fin_wait_2)
            elif state == State.CLOSING:
                self._enter_time_wait()
            elif state == State.LAST_ACK:
                self._destroy()
                return
        state = self.state
        if state == State.TIME_WAIT:
            if fin:  # a retransmitted FIN: ACK it and restart 2MSL (RFC 9293 3.10.7.4)
                self._send_ack()
                self.wait_timer.start_in(self.config.time_wait)
            return

        # seventh: segment text
        if plen or fin:
            if state not in _RECV_DATA:
                if plen:
                    self._send_ack()
                return
            if self.orphaned and plen:
                # RFC 1122 4.2.2.13: data after CLOSE is answered with a reset
                self._emit(self.snd_nxt, RST | ACK)
                self._fail(ConnectionReset("data arrived after close"))
                return
            if seq == self.rcv_nxt:
                self._deliver(bytes(payload) if plen else b"", fin)
            else:
                self._queue_out_of_order(seq, bytes(payload), fin)

    def _take_sack(self, options: memoryview) -> bool:
        """Merge a SACK option's blocks into the scoreboard; True if it grew (RFC 2018 3,
        blocks outside SND.UNA..SND.MAX are ignored)."""
        blocks = parse_sack(options)
        if not blocks:
            return False
        una = self.snd_una
        high = self.snd_max
        sacked = self.sacked
        grew = False
        for left32, right32 in blocks:
            left = unwrap(left32, una)
            right = unwrap(right32, una)
            if not una <= left < right <= high:
                continue
            i = bisect.bisect_left(sacked, [left, left])
            if i > 0 and sacked[i - 1][1] >= left:
                i -= 1
            j = i
            start, end = left, right
            covered = 0
            while j < len(sacked) and sacked[j][0] <= end:
                covered += sacked[j][1] - sacked[j][0]
                start = min(start, sacked[j][0])
                end = max(end, sacked[j][1])
                j += 1
            if end - start > covered:
                grew = True
            sacked[i:j] = [[start, end]]
        return grew

    def _sack_retransmit(self) -> bool:
        """RFC 6675 NextSeg rule 1, one segment: the first hole above HighRxt that has
        at least DupThresh segments SACKed above it (IsLost). True if one was sent."""
        sacked = self.sacked
        mss = self.mss
        start = max(self.high_rxt, self.snd_una)
        above = 0
        for left, right in sacked:
            if right > start:
                above += right - max(left, start)
        for left, right in sacked:
            if right <= start:
                continue
            if left > start:
                if above <= 2 * mss:
                    return False
                n = min(mss, left - start)
                off = start - self.snd_buf_seq
                self.rtt_seq = None  # Karn (RFC 6298 3)
                self._emit(start, ACK, self.sndbuf[off : off + n])
                self.high_rxt = start + n
                return True
            above -= right - start
            start = right
        return False

    def _first_hole_lost(self) -> bool:
        """RFC 6675 IsLost(SND.UNA): DupThresh segments' worth SACKed above it."""
        sacked = self.sacked
        if not sacked:
            return False
        return sum(r - left for left, r in sacked) > 2 * self.mss

    def _established_from_syn_received(self, seg: Segment, ack: int) -> None:
        self.state = State.ESTABLISHED
        self.rto_timer.stop()
        self.retries = 0
        if self.rtt_seq is not None:
            self._rtt_sample(self.sched.now() - self.rtt_time)
            self.rtt_seq = None
        self.snd_wnd = seg.window << self.snd_wscale
        self.max_snd_wnd = max(self.max_snd_wnd, self.snd_wnd)
        self.snd_wl1 = unwrap(seg.seq, self.rcv_nxt)
        self.snd_wl2 = ack
        listener = self.listener
        if listener is not None:
            listener.half_open -= 1
            self.tcp.half_open -= 1
            listener._established(self)
        elif self.on_established is not None:
            self.on_established()

    def _update_window(self, seq: int, ack: int, window: int) -> bool:
        """RFC 9293 3.10.7.4: take the send window from a segment newer than the last
        update (by SND.WL1/SND.WL2). True if it grew."""
        if not (self.snd_wl1 < seq or (self.snd_wl1 == seq and self.snd_wl2 <= ack)):
            return False
        opened = window > self.snd_wnd
        self.snd_wnd = window
        self.snd_wl1 = seq
        self.snd_wl2 = ack
        if window > self.max_snd_wnd:
            self.max_snd_wnd = window
        if window > 0 and self.persist_timer.running:
            self.persist_timer.stop()
            self.persist_backoff = 0
        return opened

    def _new_ack(self, ack: int, seq: int, window: int) -> None:
        """An ACK of new data: free the buffer, time, grow cwnd, NewReno (RFC 6582 3.2)."""
        acked = ack - self.snd_una
        self.limited = 0
        self.tlp_out = False
        self.retx_mark = 0
        data_end = self.snd_buf_seq + len(self.sndbuf)
        upto = ack if ack < data_end else data_end
        n = upto - self.snd_buf_seq
        if n > 0:
            del self.sndbuf[:n]
            self.snd_buf_seq = upto
        self.snd_una = ack
        if self.snd_nxt < ack:
            self.snd_nxt = ack
        sacked = self.sacked
        while sacked and sacked[0][1] <= ack:
            del sacked[0]
        if sacked and sacked[0][0] < ack:
            sacked[0][0] = ack
        self.retries = 0
        self.persist_backoff = 0
        if self.rtt_seq is not None and ack >= self.rtt_seq:
            self._rtt_sample(self.sched.now() - self.rtt_time)
            self.rtt_seq = None
        mss = self.mss
        if self.in_recovery:
            if ack >= self.recover:  # full acknowledgment (RFC 6582 3.2 step 3)
                flight = self.snd_max - ack
                self.cwnd = min(self.ssthresh, max(flight, mss) + mss)
                self.in_recovery = False
                self.dupacks = 0
            else:  # partial acknowledgment (step 4)
                if self.snd_una >= self.high_rxt:
                    self._retransmit_first()
                    self.high_rxt = self.snd_una + self.mss
                else:
                    self._sack_retransmit()
                self._arm_retx_budget()
                if not self.sack_ok:  # RFC 6582 step 4 deflation; RFC 6675 keeps cwnd
                    self.cwnd = max(self.cwnd - acked + (mss if acked >= mss else 0), mss)
                self.rto_timer.start_in(self.rto)
        else:
            self.dupacks = 0
            if self.cwnd < self.ssthresh:  # slow start, byte counting L = 2*SMSS (RFC 3465)
                self.cwnd += acked if acked < 2 * mss else 2 * mss
            else:  # congestion avoidance: one SMSS per cwnd acknowledged (RFC 5681 3.1)
                self.ca_acked += acked
                if self.ca_acked >= self.cwnd:
                    self.ca_acked -= self.cwnd
                    self.cwnd += mss
        if self.snd_una >= self.snd_max:
            self.rto_timer.stop()  # RFC 6298 5.2
        elif not self.in_recovery:
            self.rto_timer.start_in(self.rto)  # RFC 6298 5.3
        self._update_window(seq, ack, window)  # (persist_backoff is already 0 here)
        self._output()
        if n > 0 and self.on_writable is not None:
            self.on_writable()

    def _dup_ack(self) -> None:
        """RFC 5681 3.2 fast retransmit / fast recovery, RFC 3042 limited transmit, and
        RFC 6582's recover check with its section 4.1 ACK heuristic."""
        self.dupacks += 1
        mss = self.mss
        if self.in_recovery:
            if not self.sack_ok:
                self.cwnd += mss  # inflate for each segment that has left the network
            self.dup_since_retx += 1
            if (
                self.sack_ok
                and self.retx_mark
                and self.sacked
                and (self.sacked[-1][1] > self.retx_mark)
            ):
                # Data sent after our retransmission of SND.UNA has been SACKed while
                # SND.UNA has not moved: the retransmission was lost (RFC 8985 6.2's
                # rule, by send order). Resend it now.
                self._retransmit_first()
                self._arm_retx_budget()
            elif self.dup_since_retx > self.retx_budget:
                # Every segment in flight when we retransmitted has produced its duplicate
                # ACK and the hole is still there: the retransmission itself was lost (the
                # inference RACK makes, RFC 8985 section 3). Send it again rather than wait
                # for the retransmission timer.
                self._retransmit_first()
                self._arm_retx_budget()
            elif self.sacked:
                self._sack_retransmit()
            self._output()
        elif self.dupacks < self._dupthresh() and not self._first_hole_lost():
            self.limited = self.dupacks * mss  # RFC 3042: one new segment per dupack
            self._output()
        else:
            # RFC 6582 4.1 would hold back when the ACK does not cover ``recover`` (after a
            # timeout, to avoid a second fast retransmit caused by duplicates of a resent
            # window). Our go-back-N jumps SND.NXT forward on every cumulative ACK, so it
            # resends almost nothing the receiver holds; three duplicate ACKs here are a
            # new loss, and waiting for another timeout instead costs far more.
            flight = self.snd_max - self.snd_una
            self.ssthresh = max(flight // 2, 2 * mss)
            self.recover = self.snd_max
            self.in_recovery = True
            self.limited = 0
            self._retransmit_first()
            self.high_rxt = self.snd_una + mss
            self._arm_retx_budget()
            # NewReno inflates by the three segments that left; with SACK the pipe
            # estimate accounts for them instead (RFC 6675 5, step 4)
            self.cwnd = self.ssthresh if self.sack_ok else self.ssthresh + 3 * mss
            self.rto_timer.start_in(self.rto)
            self._output()

    def _dupthresh(self) -> int:
        """3, or fewer under RFC 5827 early retransmit: with under four segments
        outstanding and nothing new that may be sent, one duplicate ACK fewer than the
        segments outstanding is enough (section 3.1, the byte-based variant's count)."""
        mss = self.mss
        oseg = -(-(self.snd_max - self.snd_una) // mss)
        if oseg >= 4:
            return 3
        unsent = self.snd_buf_seq + len(self.sndbuf) - self.snd_nxt
        if unsent > 0 and self.snd_una + self.snd_wnd - self.snd_nxt >= min(unsent, mss):
            return 3  # new data can still go out (and limited transmit sends it)
        return max(1, oseg - 1)

    def _arm_retx_budget(self) -> None:
        self.retx_budget = (self.snd_max - self.snd_una) // self.mss + 3
        self.dup_since_retx = 0

    def _deliver(self, data: bytes, fin: bool) -> None:
        """In-order text (and FIN): buffer it, pull what it unblocks from the out-of-order
        queue, and ACK as RFC 5681 4.2 asks."""
        filled_hole = bool(self.ooo)
        if data:
            self.rcv_chunks.append(data)
            self.rcv_buffered += len(data)
            self.rcv_nxt += len(data)
            self.unacked_bytes += len(data)
        if self.ooo and self._pull_out_of_order():
            fin = True
        ranges = self.ooo_ranges
        while ranges and ranges[0][1] <= self.rcv_nxt:
            del ranges[0]
        if not self.ooo:
            ranges.clear()
        if fin:
            self._fin_received()
            self._send_ack()  # ACK a FIN at once
        elif filled_hole:
            self._send_ack()  # RFC 5681 4.2: ACK at once when a gap is filled
        elif self.unacked_bytes >= 2 * self.mss:
            self.tcp._ack_now.add(self)  # every second full segment: at the batch's end
        elif not self.delack_timer.running:
            self.delack_timer.start_in(self.config.delayed_ack)
        if self.on_readable is not None:
            self.on_readable()

    def _pull_out_of_order(self) -> bool:
        """Move queued text that now follows RCV.NXT into the buffer; True if it ends
        with the peer's FIN."""
        ooo = self.ooo
        for start in sorted(ooo):
            if start > self.rcv_nxt:
                break
            data, fin = ooo.pop(start)
            end = start + len(data)
            if end > self.rcv_nxt:
                fresh = data[self.rcv_nxt - start :]
                self.rcv_chunks.append(fresh)
                self.rcv_buffered += len(fresh)
                self.rcv_nxt = end
            if fin and end == self.rcv_nxt:
                ooo.clear()
                return True
        return False

    def _queue_out_of_order(self, seq: int, data: bytes, fin: bool) -> None:
        """Hold text beyond a gap (bounded by the window it was trimmed to) and send the
        duplicate ACK that drives the peer's fast retransmit (RFC 5681 4.2)."""
        old = self.ooo.get(seq)
        if old is None or len(old[0]) < len(data) or (fin and not old[1]):
            self.ooo[seq] = (data, fin)
        if data:
            self._add_ooo_range(seq, seq + len(data))
        self._send_ack()

    def _add_ooo_range(self, start: int, end: int) -> None:
        self.ooo_latest = start
        ranges = self.ooo_ranges
        i = bisect.bisect_left(ranges, [start, start])
        if i > 0 and ranges[i - 1][1] >= start:
            i -= 1
        j = i
        while j < len(ranges) and ranges[j][0] <= end:
            start = min(start, ranges[j][0])
            end = max(end, ranges[j][1])
            j += 1
        ranges[i:j] = [[start, end]]

    def _fin_received(self) -> None:
        """RFC 9293 3.10.7.4, eighth: the FIN bit."""
        if self.rcv_eof:
            return
        self.rcv_nxt += 1  # the FIN occupies one sequence number
        self.rcv_eof = True
        state = self.state
        if state == State.ESTABLISHED:
            self.state = State.CLOSE_WAIT
        elif state == State.FIN_WAIT_1:
            if self.fin_acked:
                self._enter_time_wait()
            else:
                self.state = State.CLOSING
        elif state == State.FIN_WAIT_2:
            self._enter_time_wait()

    def _maybe_window_update(self) -> None:
        """After the application read: announce a window that grew enough (RFC 9293
        3.8.6.2.2), at the end of the batch."""
        if self.state not in _RECV_DATA or self.rcv_eof:
            return
        free = self.config.rcvbuf - self.rcv_buffered
        current = self.rcv_adv - self.rcv_nxt
        if free - current >= min(self.config.rcvbuf // 2, self.local_mss):
            self.tcp._ack_now.add(self)


# -- listeners and the layer ------------------------------------------------------------------


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
        output: Callable[[int, int, bytes], None],
        mss_for: Callable[[int], int],
        config: TcpConfig | None = None,
        *,
        isn: Callable[[Key], int] | None = None,
    ) -> None:
        self.sched = sched
        self.output = output
        """``output(src, dst, segment)``: hand a segment to IP."""
        self.mss_for = mss_for
        self.config = config or TcpConfig()
        self.connections: dict[Key, Connection] = {}
        self.listeners: dict[tuple[int, int], Listener] = {}
        self.half_open = 0
        self._ack_now: set[Connection] = set()
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
        """Send the ACKs coalesced during the batch that just ended."""
        pending = self._ack_now
        while pending:
            conn = pending.pop()
            if conn.state != State.CLOSED:
                conn._send_ack()

    def _forget(self, conn: Connection) -> None:
        if self.connections.get(conn.key) is conn:
            del self.connections[conn.key]
        self._ack_now.discard(conn)
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
            raise AddressInUse(f"tcp port {port} on {int_to_ip(ip)} is already in use")
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
        conn.rtt_seq = conn.iss + 1
        conn.rtt_time = self.sched.now()
        conn._send_syn()
        return conn

    # -- input ----------------------------------------------------------------------------

    def input(self, src: int, dst: int, data: memoryview) -> None:
        """A segment from IP (already reassembled)."""
        try:
            seg = parse(src, dst, data)
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
        self.output(src, dst, segment(src, dst, sport, dport, seq, ack, flags, 0))

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
        conn.rtt_seq = conn.iss + 1
        conn.rtt_time = self.sched.now()
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
