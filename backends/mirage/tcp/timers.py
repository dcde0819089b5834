"""A connection's timers and the rules that set their delays.

Six one-shot timers on the stack's scheduler: retransmission (RFC 6298), delayed ACK
(RFC 9293 3.8.6.3), persist (zero-window probes, RFC 9293 3.8.6.1), the TIME-WAIT and
FIN-WAIT-2 wait (RFC 9293 3.6), the tail loss probe (RFC 8985 section 7) and RACK's
reordering timer (RFC 8985 6.3).
"""

from __future__ import annotations

from collections.abc import Callable

from ..sched import Scheduler, Timer

WC_DEL_ACK = 0.2
"""RFC 8985 7.2 WCDelAckT: the worst-case delayed-ACK time a probe allows for."""


class ConnectionTimers:
    """The six timers of one connection."""

    __slots__ = ("delack", "persist", "reorder", "rto", "tlp", "wait")

    def __init__(
        self,
        sched: Scheduler,
        *,
        rto: Callable[[], None],
        delack: Callable[[], None],
        persist: Callable[[], None],
        wait: Callable[[], None],
        tlp: Callable[[], None],
        reorder: Callable[[], None],
    ) -> None:
        self.rto: Timer = sched.timer(rto)
        self.delack: Timer = sched.timer(delack)
        self.persist: Timer = sched.timer(persist)
        self.wait: Timer = sched.timer(wait)
        self.tlp: Timer = sched.timer(tlp)
        self.reorder: Timer = sched.timer(reorder)

    def stop_sending(self) -> None:
        """Stop all but the wait timer (entering TIME-WAIT)."""
        self.rto.stop()
        self.persist.stop()
        self.delack.stop()
        self.tlp.stop()
        self.reorder.stop()

    def stop_all(self) -> None:
        """Stop every timer (the connection is gone)."""
        self.stop_sending()
        self.wait.stop()


def persist_delay(rto: float, backoff: int, rto_min: float, rto_max: float) -> float:
    """The persist interval: the RTO, doubled per unanswered probe, capped (RFC 9293
    3.8.6.1 and RFC 1122 4.2.2.17 ask for exponential backoff)."""
    return min(max(rto, rto_min) * (1 << min(backoff, 12)), rto_max)


PTO_GRANULARITY = 0.002
"""Added to 2*SRTT when more than one segment is out: our RTT samples come from a 1 ms
timestamp clock (RFC 7323 5.4) and timers fire late on a busy host, so a probe a tick or
two later is not a spurious one (Linux adds the same 2 ms, its TCP_TIMEOUT_MIN_US)."""


def probe_timeout(srtt: float, flight: int, mss: int) -> float:
    """RFC 8985 7.2: PTO = 2*SRTT, plus WCDelAckT when FlightSize is one segment (the
    peer may be delaying its ACK of a lone segment; with two or more out, it ACKs at
    once: RFC 5681 4.2, RFC 9293 3.8.6.3), otherwise plus :data:`PTO_GRANULARITY`."""
    pto = 2 * srtt
    if flight <= mss:
        pto += WC_DEL_ACK
    else:
        pto += PTO_GRANULARITY
    return pto
