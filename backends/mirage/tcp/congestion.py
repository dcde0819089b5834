"""Congestion control behind a small interface: NewReno (RFC 5681, RFC 6582) and CUBIC
(RFC 9438).

A controller owns ``cwnd`` and ``ssthresh`` and decides how they grow on ACKs and how
much they shrink on a congestion event. Loss *recovery* (which segment to resend, window
inflation while the hole is repaired: RFC 6582 section 3.2, RFC 6675 section 5) belongs
to the connection, which reads and sets ``cwnd`` during it.
"""

from __future__ import annotations

from typing import Protocol


class CongestionControl(Protocol):
    """What the connection asks of a congestion controller. Sizes are bytes."""

    cwnd: int
    ssthresh: int
    abc_limit: int
    """RFC 3465 L, in segments: the most SMSS one ACK may add in slow start (2). A
    sender whose device cuts its sends into several segments (TSO) raises it to twice
    that many: one ACK for one such send is not the ACK division L guards against."""

    def start(self, mss: int, initial_segments: int) -> None:
        """The connection is synchronized: set the initial window (RFC 6928, RFC 5681 3.1)."""

    def on_ack(self, acked: int, mss: int, now: float, srtt: float | None) -> None:
        """``acked`` new bytes were acknowledged outside recovery."""

    def on_congestion(self, flight: int, mss: int, now: float) -> None:
        """Loss detected by (duplicate or SACK) acknowledgments: set ``ssthresh``; the
        connection sets ``cwnd`` for the recovery that follows."""

    def on_timeout(self, flight: int, mss: int, now: float, first: bool) -> None:
        """The retransmission timer fired: the loss window (RFC 5681 3.1 eq. 4); ``first``
        is False for a backoff of the same loss, which keeps ``ssthresh``."""


def initial_window(mss: int, segments: int) -> int:
    """RFC 6928: min(N*MSS, max(2*MSS, 14600)), and never under two segments (RFC 5681)."""
    return max(min(segments * mss, max(2 * mss, 14600)), 2 * mss)


class NewReno:
    """RFC 5681 slow start and congestion avoidance, with byte counting (RFC 3465)."""

    __slots__ = ("abc_limit", "ca_acked", "cwnd", "ssthresh")

    def __init__(self) -> None:
        self.cwnd = 0
        self.ssthresh = 1 << 30
        self.ca_acked = 0
        self.abc_limit = 2

    def start(self, mss: int, initial_segments: int) -> None:
        """Initial window."""
        self.cwnd = initial_window(mss, initial_segments)

    def on_ack(self, acked: int, mss: int, now: float, srtt: float | None) -> None:
        """Slow start (L = 2*SMSS, RFC 3465) or one SMSS per window (RFC 5681 3.1)."""
        if self.cwnd < self.ssthresh:
            limit = self.abc_limit * mss
            self.cwnd += acked if acked < limit else limit
        else:
            self.ca_acked += acked
            if self.ca_acked >= self.cwnd:
                self.ca_acked -= self.cwnd
                self.cwnd += mss

    def on_congestion(self, flight: int, mss: int, now: float) -> None:
        """RFC 5681 3.2 eq. 4: half the flight, at least two segments."""
        self.ssthresh = max(flight // 2, 2 * mss)

    def on_timeout(self, flight: int, mss: int, now: float, first: bool) -> None:
        """RFC 5681 3.1: ssthresh from the flight (first timeout only), cwnd one segment."""
        if first:
            self.ssthresh = max(flight // 2, 2 * mss)
        self.cwnd = mss


class Cubic:
    """CUBIC (RFC 9438): the window follows W(t) = C*(t-K)^3 + W_max after a reduction
    by beta, never below what Reno would reach (section 4.3, the Reno-friendly region)."""

    C = 0.4  # RFC 9438 5: C_cubic, segments / s^3
    BETA = 0.7  # RFC 9438 4.6: beta_cubic
    ALPHA = 3 * (1 - BETA) / (1 + BETA)  # RFC 9438 4.3

    __slots__ = (
        "_carry",
        "abc_limit",
        "cwnd",
        "epoch",
        "k",
        "origin",
        "ssthresh",
        "w_est",
        "w_max",
    )

    def __init__(self) -> None:
        self.abc_limit = 2
        self.cwnd = 0
        self.ssthresh = 1 << 30
        self.w_max = 0.0
        """Window (bytes) just before the last reduction."""
        self.epoch: float | None = None
        """Start of the current congestion-avoidance stage (t_epoch)."""
        self.k = 0.0
        self.origin = 0.0
        self.w_est = 0.0
        self._carry = 0.0

    def start(self, mss: int, initial_segments: int) -> None:
        """Initial window."""
        self.cwnd = initial_window(mss, initial_segments)

    def _w_cubic(self, t: float, mss: int) -> float:
        """RFC 9438 eq. 1, in bytes."""
        return (self.C * (t - self.k) ** 3) * mss + self.origin

    def on_ack(self, acked: int, mss: int, now: float, srtt: float | None) -> None:
        """Slow start as Reno below ssthresh (RFC 9438 4.10); above it, grow toward
        W_cubic(t + RTT) (section 4.4/4.5) or the Reno estimate, whichever is larger."""
        cwnd = self.cwnd
        if cwnd < self.ssthresh:
            limit = self.abc_limit * mss
            self.cwnd = cwnd + (acked if acked < limit else limit)
            return
        if self.epoch is None:  # RFC 9438 4.2: a new congestion-avoidance stage
            self.epoch = now
            if cwnd < self.w_max:
                self.k = ((self.w_max - cwnd) / mss / self.C) ** (1 / 3)
                self.origin = self.w_max
            else:
                self.k = 0.0
                self.origin = float(cwnd)
            self.w_est = float(cwnd)
        t = now - self.epoch
        # RFC 9438 4.3: the Reno-friendly estimate, alpha until it passes W_max, then 1
        alpha = self.ALPHA if self.w_est < self.w_max else 1.0
        self.w_est += alpha * acked * mss / cwnd
        target = self._w_cubic(t + (srtt or 0.0), mss)
        if target < cwnd:
            target = float(cwnd)
        elif target > 1.5 * cwnd:
            target = 1.5 * cwnd
        if self._w_cubic(t, mss) < self.w_est:
            grow = self.w_est - cwnd  # Reno-friendly region
        else:
            grow = (target - cwnd) * acked / cwnd  # concave or convex region
        if grow > 0:
            self._carry += grow
            whole = int(self._carry)
            self._carry -= whole
            self.cwnd = cwnd + whole

    def _reduce(self, flight: int, mss: int) -> None:
        cwnd = self.cwnd
        # RFC 9438 4.7 fast convergence: give up some room when W_max is falling
        self.w_max = cwnd * (1 + self.BETA) / 2 if cwnd < self.w_max else float(cwnd)
        self.ssthresh = max(int(flight * self.BETA), 2 * mss)  # RFC 9438 4.6
        self.epoch = None
        self._carry = 0.0

    def on_congestion(self, flight: int, mss: int, now: float) -> None:
        """RFC 9438 4.6: multiplicative decrease by beta_cubic."""
        self._reduce(flight, mss)

    def on_timeout(self, flight: int, mss: int, now: float, first: bool) -> None:
        """RFC 9438 4.8: as a congestion event (first timeout only), then one segment."""
        if first:
            self._reduce(flight, mss)
        self.cwnd = mss
        self.epoch = None


CONTROLLERS: dict[str, type[NewReno] | type[Cubic]] = {"newreno": NewReno, "cubic": Cubic}


def controller(name: str) -> CongestionControl:
    """A fresh controller by name (``"newreno"`` or ``"cubic"``)."""
    try:
        return CONTROLLERS[name]()
    except KeyError:
        raise ValueError(
            f"unknown congestion control {name!r}: choose one of {', '.join(CONTROLLERS)}"
        ) from None
