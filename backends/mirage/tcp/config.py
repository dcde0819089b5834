"""TCP tunables and the connection states."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from .congestion import CONTROLLERS

EPHEMERAL_LOW = 49152  # RFC 6335 section 6: the dynamic/private range
EPHEMERAL_HIGH = 65535
DEFAULT_MSS = 536  # RFC 9293 3.7.1: assumed when the peer sends no MSS option


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


CAN_SEND = frozenset({State.ESTABLISHED, State.CLOSE_WAIT})
"""States in which the application may still queue data."""
SEND_DATA = frozenset(
    {State.ESTABLISHED, State.CLOSE_WAIT, State.FIN_WAIT_1, State.CLOSING, State.LAST_ACK}
)
"""States in which queued data and our FIN still go out."""
RECV_DATA = frozenset({State.ESTABLISHED, State.FIN_WAIT_1, State.FIN_WAIT_2})
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
    """RFC 6298 2.4 says 1 s; 200 ms is what Linux uses and what LANs need. It is the
    floor while one segment is outstanding, whose ACK the peer may delay (RFC 5681 4.2
    allows up to 500 ms; RFC 8985 7.2 allows 200 ms, WCDelAckT, for the same case)."""
    rto_min_flight: float = 0.04
    """The RTO floor while more than one segment is outstanding. The peer then owes an
    ACK at once for every second full segment (RFC 5681 4.2, RFC 9293 3.8.6.3), so the
    floor need not cover a delayed ACK, only the round trip's variation, which
    SRTT + 4*RTTVAR adds above it (RFC 6298 2.3). 40 ms is the shortest time a Linux
    receiver delays an ACK (TCP_DELACK_MIN): a margin for receivers that hold an ACK of
    several segments anyway. A timeout it makes spurious is found by the timestamp of the
    ACK that follows and undone (RFC 3522, RFC 4015). Under random loss the timer is what
    remains when a tail-loss probe or its answer is lost too, and at sub-millisecond round
    trips each 200 ms wait costs hundreds of round trips. A 20 ms floor measured no
    better over TAP at 5% loss (as many timeouts; CUBIC 1.09x, BBR 0.95x, six
    alternating pairs with wide spreads on a loaded host)."""
    rto_max: float = 60.0
    """RFC 6298 2.5: a maximum of at least 60 s."""
    syn_retries: int = 6
    data_retries: int = 15
    """Retransmissions of one segment before the connection is given up (RFC 9293
    3.8.3 R2: at least 100 s; with backoff capped at 60 s this is ~9 min from 0.2 s,
    ~6 min from rto_min_flight's 40 ms)."""
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
    timestamps: bool = True
    """TCP timestamps (RFC 7323 3), offered and used when the peer agrees: an RTT sample
    from every ACK of new data (section 4) and PAWS (section 5)."""
    congestion: str = "cubic"
    """The congestion controller: ``"cubic"`` (RFC 9438, as Linux, FreeBSD, Windows and
    macOS default to), ``"newreno"`` (RFC 5681, RFC 6582) or ``"bbr"`` (model-based,
    after draft-ietf-ccwg-bbr: :class:`~.congestion.Bbr`). Under random loss CUBIC keeps
    the larger window of the loss-based two (its multiplicative decrease is 0.7, not 0.5):
    at 5% loss each way and a 1 ms round trip, 10.0 MB/s against NewReno's 8.2 on a
    virtual clock (bench/tcp_loss_profile.py). BBR takes loss in per round trip, bounded
    by what the round delivered, and keeps a window of about twice the path's
    bandwidth-delay product: on that virtual clock, whose link has no bottleneck, it is
    not window-limited at all. CUBIC stays the default: BBR's loss response is a draft's,
    and a loss-based sender is what every peer's stack defaults to (Linux offers bbr
    but defaults to cubic)."""

    def __post_init__(self) -> None:
        if self.congestion not in CONTROLLERS:
            raise ValueError(
                f"unknown congestion control {self.congestion!r}: choose one of "
                f"{', '.join(CONTROLLERS)}"
            )
