"""The round-trip estimator and retransmission timeout (RFC 6298)."""

from __future__ import annotations

from collections import deque


class RttEstimator:
    """SRTT, RTTVAR and RTO (RFC 6298 section 2), and the one segment being timed when
    no timestamps are in use (section 3, Karn's rule)."""

    __slots__ = (
        "latest",
        "min_rtt",
        "rto",
        "rto_max",
        "rto_min",
        "rto_min_flight",
        "rto_short",
        "rttvar",
        "samples",
        "srtt",
        "timed_at",
        "timed_seq",
    )

    def __init__(
        self, initial: float, minimum: float, maximum: float, minimum_flight: float | None = None
    ) -> None:
        self.srtt: float | None = None
        self.latest: float | None = None
        """The last sample taken."""
        self.min_rtt: float | None = None
        """The smallest sample so far (RFC 8985 RACK.min_RTT, for its reordering window)."""
        self.rttvar = 0.0
        self.rto = initial  # RFC 6298 2.1
        """The RTO with :attr:`rto_min` as its floor."""
        self.rto_short = initial
        """The same estimate with :attr:`rto_min_flight` as its floor: the RTO while more
        than one segment is outstanding (:meth:`Connection._rto`)."""
        self.rto_min = minimum
        self.rto_min_flight = minimum if minimum_flight is None else min(minimum, minimum_flight)
        self.rto_max = maximum
        self.timed_seq: int | None = None
        """The sequence number whose acknowledgment ends the current measurement."""
        self.timed_at = 0.0
        self.samples: deque[float] | None = None
        """Where to record each sample as well (a bounded deque), or None."""

    def sample(self, r: float, per_rtt: int = 1) -> None:
        """Take one measurement: RFC 6298 2.2/2.3 (alpha 1/8, beta 1/4, K 4, G ~ 1 ms),
        then the 2.4 minimum and 2.5 maximum.

        ``per_rtt`` is how many samples to expect in one round trip; with timestamps every
        ACK gives one, and RFC 7323 appendix G divides alpha and beta by that count so the
        estimator's memory still spans a few round trips."""
        self.latest = r
        if self.min_rtt is None or r < self.min_rtt:
            self.min_rtt = r
        if self.samples is not None:
            self.samples.append(r)
        srtt = self.srtt
        if srtt is None:
            srtt = self.srtt = r
            self.rttvar = r / 2
        else:
            beta = 0.25 / per_rtt
            alpha = 0.125 / per_rtt
            self.rttvar = (1 - beta) * self.rttvar + beta * abs(srtt - r)
            srtt = self.srtt = (1 - alpha) * srtt + alpha * r
        rto = srtt + max(0.001, 4 * self.rttvar)
        self.rto = min(max(rto, self.rto_min), self.rto_max)
        self.rto_short = min(max(rto, self.rto_min_flight), self.rto_max)

    def back_off(self) -> None:
        """RFC 6298 5.5: double the RTO on a timeout, up to the maximum."""
        self.rto = min(self.rto * 2, self.rto_max)
        self.rto_short = min(self.rto_short * 2, self.rto_max)

    def start(self, seq: int, now: float) -> None:
        """Time the segment that ends at ``seq`` (one per RTT, RFC 6298 3)."""
        self.timed_seq = seq
        self.timed_at = now

    def cancel(self) -> None:
        """Karn's rule: never time a retransmitted segment (RFC 6298 3)."""
        self.timed_seq = None

    def acked(self, ack: int, now: float) -> None:
        """An acknowledgment up to ``ack``: a sample if it covers the timed segment."""
        seq = self.timed_seq
        if seq is not None and ack >= seq:
            self.sample(now - self.timed_at)
            self.timed_seq = None
