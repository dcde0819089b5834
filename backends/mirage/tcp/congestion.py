"""Congestion control behind a small interface: NewReno (RFC 5681, RFC 6582), CUBIC
(RFC 9438) and a model-based controller after BBR (draft-ietf-ccwg-bbr).

A controller owns ``cwnd`` and ``ssthresh`` and decides how they grow on ACKs and how
much they shrink on a congestion event. Loss *recovery* (which segment to resend, window
inflation while the hole is repaired: RFC 6582 section 3.2, RFC 6675 section 5) belongs
to the connection, which reads and sets ``cwnd`` during it. A model-based controller
(``model_based``) is also told of every delivery, in recovery too (:meth:`on_delivery`),
and sets ``cwnd`` from its model there.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Protocol


class CongestionControl(Protocol):
    """What the connection asks of a congestion controller. Sizes are bytes."""

    cwnd: int
    ssthresh: int
    model_based: bool
    """True for a controller that sets ``cwnd`` from a model of the path on every
    delivery (:meth:`on_delivery`); the connection then leaves the window as the model
    set it when a recovery ends, instead of clamping it to the flight."""
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

    def on_delivery(
        self, delivered: int, lost: int, flight: int, una: int, high: int, rtt: float | None,
        now: float, mss: int,
    ) -> None:  # fmt: skip
        """Only for ``model_based`` controllers, on every ACK that acknowledged or SACKed
        new data: ``delivered`` bytes newly delivered, ``lost`` bytes retransmitted so far
        (the losses detected), ``flight`` bytes outstanding, SND.UNA and SND.MAX, the
        ACK's RTT sample (None without one)."""


def initial_window(mss: int, segments: int) -> int:
    """RFC 6928: min(N*MSS, max(2*MSS, 14600)), and never under two segments (RFC 5681)."""
    return max(min(segments * mss, max(2 * mss, 14600)), 2 * mss)


class NewReno:
    """RFC 5681 slow start and congestion avoidance, with byte counting (RFC 3465)."""

    __slots__ = ("abc_limit", "ca_acked", "cwnd", "ssthresh")

    model_based = False

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

    def on_delivery(
        self, delivered: int, lost: int, flight: int, una: int, high: int, rtt: float | None,
        now: float, mss: int,
    ) -> None:  # fmt: skip
        """Not used: loss-based (``model_based`` is False)."""


class Cubic:
    """CUBIC (RFC 9438): the window follows W(t) = C*(t-K)^3 + W_max after a reduction
    by beta, never below what Reno would reach (section 4.3, the Reno-friendly region)."""

    model_based = False
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

    def on_delivery(
        self, delivered: int, lost: int, flight: int, una: int, high: int, rtt: float | None,
        now: float, mss: int,
    ) -> None:  # fmt: skip
        """Not used: loss-based (``model_based`` is False)."""


STARTUP = 0
PROBE_BW = 1
PROBE_RTT = 2
# PROBE_BW's phases (draft-ietf-ccwg-bbr's ProbeBW_*), here on the congestion window alone
CRUISE = 0
REFILL = 1
UP = 2


class Bbr:
    """A model-based controller after BBR (draft-ietf-ccwg-bbr, "BBR Congestion
    Control", version 3; Linux's ``tcp_bbr``), on the congestion window alone: this
    stack does not pace, so the model bounds the data in flight, not the sending rate.

    The model: the path's bandwidth, the largest delivery rate over the last
    :attr:`BW_ROUNDS` round trips (a round's rate is what it delivered, ACKed or SACKed,
    over its duration, after draft-cheng-iccrg-delivery-rate-estimation; a round ends
    when SND.UNA passes the SND.MAX of its start), and its round trip, the smallest RTT
    sample within :attr:`MIN_RTT_WINDOW` seconds (BBR.min_rtt), never taken below
    :attr:`RTT_FLOOR`. The window is ``CWND_GAIN`` times their product, the BDP, plus
    three segments of quantization budget (BBRInflight, BBRQuantizationBudget), at least
    BBRMinPipeCwnd.

    States: STARTUP grows the window by what each ACK delivered until the bandwidth has
    not grown by a quarter for three rounds, or a round lost more than
    :attr:`LOSS_THRESH` of its data in at least six segments (BBRStartupFullLossCnt);
    PROBE_BW then cycles CRUISE, REFILL and UP; PROBE_RTT holds the window at half a BDP
    for 200 ms when the round-trip estimate is older than :attr:`PROBE_RTT_INTERVAL`.

    Loss is a signal, not the signal. In CRUISE a round with any loss lowers the bounds
    ``bw_lo`` and ``inflight_lo`` to the larger of what that round delivered (its rate,
    its bytes) and :attr:`BETA` times their old values (BBRLossLowerBounds); REFILL lifts
    them for the next probe. UP is one round with the gain raised to 2.25: a loss rate
    over :attr:`LOSS_THRESH` there sets ``inflight_hi``, the most in flight the path
    takes, to the larger of the flight then and BETA times the target
    (IsInflightTooHigh), and CRUISE keeps 15% of headroom under it (BBRHeadroom). So
    congestion, which lowers what a round delivers, brings the window down within
    rounds, while random loss lowers the bounds only by the share of a round it took,
    until the next REFILL; probes come every ``min(63, target in segments)`` rounds (the
    draft's Reno-coexistence bound), so the controller does not starve loss-based flows
    sharing a bottleneck."""

    model_based = True
    CWND_GAIN = 2.0  # BBRDefaultCwndGain
    PROBE_UP_GAIN = 2.25  # ProbeBW_UP's cwnd_gain
    BETA = 0.7  # BBRBeta
    LOSS_THRESH = 0.02  # BBRLossThresh
    HEADROOM = 0.15  # BBRHeadroom
    FULL_BW_GROWTH = 1.25  # STARTUP: the bandwidth still grows by 25% a round
    FULL_BW_ROUNDS = 3
    STARTUP_LOSSES = 6  # BBRStartupFullLossCnt
    BW_ROUNDS = 10  # the max filter's length in round trips (as Linux's bbr_bw_rtts)
    MIN_RTT_WINDOW = 10.0  # MinRTTFilterLen
    PROBE_RTT_INTERVAL = 5.0  # ProbeRTTInterval
    PROBE_RTT_DURATION = 0.2  # ProbeRTTDuration
    MAX_PROBE_ROUNDS = 63  # the Reno-coexistence bound on rounds between probes
    MIN_SEGMENTS = 4  # BBRMinPipeCwnd
    RTT_FLOOR = 0.001
    """The model's round trip is never taken below 1 ms: RTT samples come from the 1 ms
    timestamp clock (RFC 7323 5.4), which reads a faster round trip as 0, and a host
    that serves the sender between other work takes about that long to come back to
    an ACK. A BDP from a lower estimate would leave the window at its floor of
    MIN_SEGMENTS, and the sender idle while it waits to be scheduled again."""

    __slots__ = (
        "abc_limit",
        "bw_lo",
        "bw_max",
        "bw_rounds",
        "cwnd",
        "cycle_rounds",
        "delivered",
        "filled",
        "full_bw",
        "full_bw_rounds",
        "inflight_hi",
        "inflight_lo",
        "lost",
        "min_rtt",
        "min_rtt_at",
        "phase",
        "probe_rtt_until",
        "round_delivered",
        "round_end",
        "round_lost",
        "round_start",
        "rounds",
        "ssthresh",
        "state",
    )

    def __init__(self) -> None:
        self.abc_limit = 2
        self.cwnd = 0
        self.ssthresh = 1 << 30
        """Not a threshold here: the window a recovery keeps (the model's, uncut)."""
        self.state = STARTUP
        self.phase = CRUISE
        self.filled = False
        self.delivered = 0
        self.lost = 0
        self.rounds = 0
        self.round_end = 0
        self.round_start: float | None = None
        self.round_delivered = 0
        self.round_lost = 0
        self.bw_rounds: deque[tuple[int, float]] = deque()
        """(round, delivery rate in bytes/s) of recent rounds, for the max filter."""
        self.bw_max = 0.0
        self.bw_lo = 0.0  # 0: no lower bound
        self.inflight_lo = 0  # 0: no lower bound
        self.inflight_hi = 0  # 0: no upper bound yet
        self.full_bw = 0.0
        self.full_bw_rounds = 0
        self.min_rtt: float | None = None
        self.min_rtt_at = 0.0
        self.cycle_rounds = 0
        self.probe_rtt_until: float | None = None

    def start(self, mss: int, initial_segments: int) -> None:
        """Initial window (the draft's BBRInitCwnd takes the stack's initial window)."""
        self.cwnd = initial_window(mss, initial_segments)

    def bdp(self) -> float:
        """The bandwidth-delay product of the model, bytes (0 before any rate sample)."""
        bw = self.bw_max
        if self.bw_lo and self.bw_lo < bw:
            bw = self.bw_lo
        rtt = self.min_rtt if self.min_rtt is not None else 0.0
        return bw * (rtt if rtt > self.RTT_FLOOR else self.RTT_FLOOR)

    def target(self, mss: int) -> int:
        """The window the model asks for now: gain times the BDP plus the quantization
        budget, at least MIN_SEGMENTS (the draft's BBRInflight and BBRQuantizationBudget)."""
        gain = self.PROBE_UP_GAIN if self.state == PROBE_BW and self.phase == UP else self.CWND_GAIN
        return max(int(gain * self.bdp()) + 3 * mss, self.MIN_SEGMENTS * mss)

    def on_ack(self, acked: int, mss: int, now: float, srtt: float | None) -> None:
        """Nothing: :meth:`on_delivery` has seen this ACK and set the window."""

    def on_congestion(self, flight: int, mss: int, now: float) -> None:
        """A loss starts a recovery: the window stays the model's (in BBR loss is
        taken in per round, by the bounds, not by a cut per event)."""
        self.ssthresh = self.cwnd

    def on_timeout(self, flight: int, mss: int, now: float, first: bool) -> None:
        """The draft on a retransmission timeout: one segment, then the window grows
        back by what each ACK delivers, up to the model's (the bounds are kept)."""
        self.cwnd = mss

    def on_delivery(
        self, delivered: int, lost: int, flight: int, una: int, high: int, rtt: float | None,
        now: float, mss: int,
    ) -> None:  # fmt: skip
        """Update the model from one ACK, end the round trip if SND.UNA passed the
        SND.MAX of its start, and set the window."""
        self.delivered += delivered
        self.lost = lost
        if rtt is not None:
            if rtt < self.RTT_FLOOR:
                rtt = self.RTT_FLOOR
            if (
                self.min_rtt is None
                or rtt <= self.min_rtt
                or now - self.min_rtt_at > self.MIN_RTT_WINDOW
            ):
                self.min_rtt = rtt
                self.min_rtt_at = now
        if self.round_start is None:
            self._new_round(high, now)
        elif una >= self.round_end:
            self._end_round(flight, high, now, mss)
        target = self.target(mss)
        cwnd = self.cwnd
        if self.filled or cwnd < target:
            cwnd += delivered  # BBRSetCwnd: grow by what was delivered, up to the target
            if self.filled and cwnd > target:
                cwnd = target
        if self.state == PROBE_RTT:
            cap = max(int(self.bdp() / 2), self.MIN_SEGMENTS * mss)
            if cwnd > cap:
                cwnd = cap
        elif self.state == PROBE_BW:
            cap = self.inflight_hi
            if cap and self.phase == CRUISE:
                cap = int(cap * (1 - self.HEADROOM))
            if self.inflight_lo and (not cap or self.inflight_lo < cap):
                cap = self.inflight_lo
            if cap and cwnd > cap:
                cwnd = cap
        floor = self.MIN_SEGMENTS * mss
        self.cwnd = cwnd if cwnd > floor else floor

    def _new_round(self, high: int, now: float) -> None:
        self.round_end = high
        self.round_start = now
        self.round_delivered = self.delivered
        self.round_lost = self.lost

    def _end_round(self, flight: int, high: int, now: float, mss: int) -> None:
        """A round trip ended: a rate sample, then the state machine."""
        assert self.round_start is not None
        got = self.delivered - self.round_delivered
        lost = self.lost - self.round_lost
        if lost < 0:
            lost = 0  # D-SACKs took back more than was found lost in this round
        elapsed = now - self.round_start
        self.rounds += 1
        bw = got / elapsed if elapsed > 0 else 0.0
        samples = self.bw_rounds
        if bw > 0:
            samples.append((self.rounds, bw))
        while samples and samples[0][0] <= self.rounds - self.BW_ROUNDS:
            samples.popleft()
        self.bw_max = max((b for _, b in samples), default=self.bw_max)
        too_high = lost > self.LOSS_THRESH * (got + lost)
        state = self.state
        if state == STARTUP:
            if self.bw_max >= self.full_bw * self.FULL_BW_GROWTH:
                self.full_bw = self.bw_max
                self.full_bw_rounds = 0
            else:
                self.full_bw_rounds += 1
            if too_high and lost >= self.STARTUP_LOSSES * mss:
                # BBRCheckStartupHighLoss: the flight that lost this much is the most the path takes
                self.inflight_hi = max(int(self.bdp()), flight)
                self.filled = True
            elif self.full_bw_rounds >= self.FULL_BW_ROUNDS:
                self.filled = True
            if self.filled:
                self._start_cycle(mss, CRUISE)
        elif state == PROBE_BW:
            phase = self.phase
            if phase == CRUISE:
                if lost:  # BBRLossLowerBounds
                    self.bw_lo = max(bw, self.BETA * (self.bw_lo or self.bw_max))
                    self.inflight_lo = max(got, int(self.BETA * (self.inflight_lo or self.cwnd)))
                self.cycle_rounds -= 1
                if self.cycle_rounds <= 0:
                    # ProbeBW_REFILL: lift the lower bounds, refill the pipe
                    self.bw_lo = 0.0
                    self.inflight_lo = 0
                    self.phase = REFILL
            elif phase == REFILL:
                self.phase = UP
            else:  # ProbeBW_UP, with IsInflightTooHigh
                if too_high:
                    self.inflight_hi = max(flight, int(self.BETA * self.target(mss)))
                elif self.inflight_hi and flight >= self.inflight_hi - mss:
                    self.inflight_hi += max(mss, self.inflight_hi // 4)  # no loss: room to grow
                self._start_cycle(mss, CRUISE)
        elif self.probe_rtt_until is not None and now >= self.probe_rtt_until:
            self.min_rtt_at = now  # leaving ProbeRTT: the estimate is fresh again
            self.probe_rtt_until = None
            if self.filled:
                self._start_cycle(mss, REFILL)
            else:
                self.state = STARTUP
        if self.state != PROBE_RTT and now - self.min_rtt_at > self.PROBE_RTT_INTERVAL:
            self.state = PROBE_RTT  # ProbeRTTInterval passed
            self.probe_rtt_until = now + self.PROBE_RTT_DURATION
        self._new_round(high, now)

    def _start_cycle(self, mss: int, phase: int) -> None:
        self.state = PROBE_BW
        self.phase = phase
        self.cycle_rounds = max(2, min(self.MAX_PROBE_ROUNDS, self.target(mss) // mss))


CONTROLLERS: dict[str, Callable[[], CongestionControl]] = {
    "newreno": NewReno,
    "cubic": Cubic,
    "bbr": Bbr,
}


def controller(name: str) -> CongestionControl:
    """A fresh controller by name (``"newreno"`` or ``"cubic"``)."""
    try:
        return CONTROLLERS[name]()
    except KeyError:
        raise ValueError(
            f"unknown congestion control {name!r}: choose one of {', '.join(CONTROLLERS)}"
        ) from None
