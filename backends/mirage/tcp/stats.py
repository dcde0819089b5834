"""What loss recovery did on one connection, and where its time went: counters for
profiles and benchmarks (Linux reports the like in ``ss -ti``: retrans, lost, timeouts,
rtt, cwnd, ``busy``/``rwnd_limited``/``sndbuf_limited`` times)."""

from __future__ import annotations

import statistics
from collections import deque

IDLE = 0
"""Nothing in flight."""
CWND_LIMITED = 1
"""Data waiting while the congestion window (or, in recovery, cwnd - pipe) is full."""
RWND_LIMITED = 2
"""Data waiting while the peer's window is full."""
IN_FLIGHT = 3
"""Everything queued is in flight: waiting for ACKs, or for the application."""
STATE_NAMES = ("idle", "cwnd_limited", "rwnd_limited", "all_in_flight")

_KEEP = 4096
"""RTT samples and congestion events kept (the most recent): bounded memory however long
the connection lives."""


class LossStats:
    """Counters of one connection's loss recovery and a breakdown of its sending time."""

    __slots__ = (
        "delacks",
        "dsacks",
        "events",
        "fast_retransmits",
        "lost_retransmits",
        "probes",
        "probes_recovery",
        "probes_sacked",
        "probes_spurious",
        "recoveries",
        "recovery_since",
        "recovery_time",
        "reorder_recoveries",
        "rescues",
        "retransmitted",
        "rtt_samples",
        "spurious_timeouts",
        "state",
        "state_since",
        "state_time",
        "timed_rtts",
        "timeout_wait",
        "timeouts",
    )

    def __init__(self) -> None:
        self.retransmitted = 0
        """Segments sent again (fast retransmit, NextSeg holes, timeouts, probes)."""
        self.timeouts = 0
        """Retransmission-timer expiries with data outstanding."""
        self.spurious_timeouts = 0
        """Timeouts found spurious by the timestamp the next ACK echoed (RFC 3522) and
        undone (RFC 4015)."""
        self.timeout_wait = 0.0
        """Seconds the expired retransmission timers ran (the RTO each had, before its
        backoff): time with no ACK that a faster detection would have saved."""
        self.probes = 0
        """Tail loss probes sent (RFC 8985 7.3)."""
        self.probes_recovery = 0
        """Of :attr:`probes`, those sent during a fast recovery."""
        self.probes_sacked = 0
        """Of :attr:`probes`, those sent outside a recovery with SACKed data above
        SND.UNA."""
        self.probes_spurious = 0
        """Probes the peer reported receiving twice (a D-SACK of the probe's range,
        RFC 8985 7.4.1): the original had arrived and only its ACK was late."""
        self.dsacks = 0
        """D-SACKs received (RFC 2883): each a segment the peer got twice, mostly a
        retransmission or probe that was not needed."""
        self.recoveries = 0
        """Fast recoveries entered (each one congestion event)."""
        self.fast_retransmits = 0
        """Recoveries entered on duplicate ACKs or SACKed data (RFC 5681 3.2, RFC 6675 5)."""
        self.reorder_recoveries = 0
        """Recoveries entered by RACK's reordering timer (RFC 8985 6.3)."""
        self.rescues = 0
        """RFC 6675 NextSeg rule 4 rescue retransmissions."""
        self.lost_retransmits: dict[str, int] = {"rack": 0, "dupacks": 0, "timeout": 0}
        """Retransmissions found lost, by how: ``rack`` (something sent after one
        arrived, RFC 8985 6.2), ``dupacks`` (every segment then in flight was ACKed
        without it), ``timeout`` (the retransmission timer fired during recovery)."""
        self.delacks = 0
        """ACKs this side sent because its delayed-ACK timer expired (a receiver's
        count): each one a delayed-ACK wait its peer sat through."""
        self.recovery_time = 0.0
        """Seconds spent in fast recovery, up to the last exit."""
        self.recovery_since: float | None = None
        self.rtt_samples: deque[float] = deque(maxlen=_KEEP)
        """The most recent round-trip samples, seconds."""
        self.timed_rtts: deque[float] = deque(maxlen=_KEEP)
        """With timestamps, whose samples come from a 1 ms clock (RFC 7323 5.4): one
        segment per round trip timed on the host's clock as well (RFC 6298 3, never a
        retransmitted one), seconds."""
        self.events: deque[tuple[float, str, int, int]] = deque(maxlen=_KEEP)
        """The most recent congestion events: (time, ``recovery`` or ``timeout``, cwnd
        before the event, ssthresh after it), in bytes."""
        self.state = IDLE
        self.state_since: float | None = None
        self.state_time = [0.0, 0.0, 0.0, 0.0]
        """Seconds in each of :data:`STATE_NAMES`, since the first segment was sent."""

    def enter_recovery(self, now: float) -> None:
        """A fast recovery starts."""
        self.recoveries += 1
        self.recovery_since = now

    def leave_recovery(self, now: float) -> None:
        """The fast recovery ended (a full ACK, or a timeout)."""
        if self.recovery_since is not None:
            self.recovery_time += now - self.recovery_since
            self.recovery_since = None

    def note(self, now: float, state: int) -> None:
        """The sender is in ``state`` from ``now`` on."""
        if state != self.state or self.state_since is None:
            since = self.state_since
            if since is not None:
                self.state_time[self.state] += now - since
            self.state = state
            self.state_since = now

    def as_dict(self) -> dict[str, float]:
        """The main counters by name."""
        return {
            "retransmitted": self.retransmitted,
            "timeouts": self.timeouts,
            "probes": self.probes,
            "dsacks": self.dsacks,
            "recoveries": self.recoveries,
            "recovery_time": round(self.recovery_time, 6),
        }

    def profile(self, mss: int) -> dict[str, float]:
        """Everything, flat: the counters, the time budget (seconds per sending state,
        the time the expired RTOs ran), the RTT samples' minimum and median (ms), and
        the median cwnd before a congestion event and ssthresh after it (segments of
        ``mss``)."""
        out: dict[str, float] = dict(self.as_dict())
        out["timeout_wait"] = round(self.timeout_wait, 6)
        out["spurious_timeouts"] = self.spurious_timeouts
        out["fast_retransmits"] = self.fast_retransmits
        out["reorder_recoveries"] = self.reorder_recoveries
        out["rescues"] = self.rescues
        out["probes_recovery"] = self.probes_recovery
        out["probes_sacked"] = self.probes_sacked
        out["probes_spurious"] = self.probes_spurious
        for how, n in self.lost_retransmits.items():
            out[f"lost_retx_{how}"] = n
        out["delacks"] = self.delacks
        for name, seconds in zip(STATE_NAMES, self.state_time, strict=True):
            out[f"t_{name}"] = round(seconds, 6)
        samples = self.rtt_samples
        out["rtt_min_ms"] = round(min(samples) * 1000, 3) if samples else 0.0
        out["rtt_median_ms"] = round(statistics.median(samples) * 1000, 3) if samples else 0.0
        timed = self.timed_rtts
        out["rtt_timed_median_ms"] = round(statistics.median(timed) * 1000, 3) if timed else 0.0
        out["rtt_timed_mean_ms"] = round(statistics.fmean(timed) * 1000, 3) if timed else 0.0
        events = self.events
        out["cwnd_at_loss_median_seg"] = (
            round(statistics.median(e[2] for e in events) / mss, 1) if events else 0.0
        )
        out["ssthresh_median_seg"] = (
            round(statistics.median(e[3] for e in events) / mss, 1) if events else 0.0
        )
        return out
