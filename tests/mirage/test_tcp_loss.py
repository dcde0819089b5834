"""Sending under random loss: the tail-loss probe timeout (RFC 8985 7.2), the sender's
loss profile (where the time went), and CUBIC (RFC 9438) against NewReno, on a virtual
clock with a real round trip."""

from __future__ import annotations

import random

import pytest

from backends.mirage.faults import Faults
from backends.mirage.stack import StackConfig
from backends.mirage.tcp import Connection, TcpConfig
from backends.mirage.tcp.stats import STATE_NAMES
from backends.mirage.tcp.timers import PTO_GRANULARITY, WC_DEL_ACK, probe_timeout

from .harness import Net, transfer

MSS = 1448


def test_probe_timeout_adds_the_delayed_ack_allowance_only_for_one_segment() -> None:
    srtt = 0.001
    # RFC 8985 7.2: a lone segment's ACK may be delayed; with two or more out the
    # receiver ACKs at once, so the probe comes after 2*SRTT (and a clock tick), not
    # 200 ms and not after a fixed floor
    assert probe_timeout(srtt, MSS, MSS) == pytest.approx(2 * srtt + WC_DEL_ACK)
    assert probe_timeout(srtt, 100, MSS) == pytest.approx(2 * srtt + WC_DEL_ACK)
    assert probe_timeout(srtt, MSS + 1, MSS) == pytest.approx(2 * srtt + PTO_GRANULARITY)
    assert probe_timeout(srtt, 8 * MSS, MSS) == pytest.approx(0.004)
    assert probe_timeout(0.05, 8 * MSS, MSS) == pytest.approx(0.102)


def _lossy(congestion: str, size: int, seed: int, rtt: float = 0.001) -> tuple[float, Connection]:
    net = Net(
        faults_a=Faults(drop=0.05, delay=rtt / 2, seed=seed),
        config_a=StackConfig(tcp=TcpConfig(congestion=congestion)),
    )
    sender, receiver = net.pair()
    data = random.Random(seed).randbytes(size)
    start = net.clock.time
    assert transfer(net, sender, receiver, data, limit=600.0) == data
    return net.clock.time - start, sender


def test_loss_profile_accounts_for_the_sending_time() -> None:
    elapsed, sender = _lossy("cubic", 1_000_000, seed=11)
    stats = sender.loss_stats
    profile = stats.profile(sender.mss)
    # the time budget covers the transfer: every second is in one of the states
    budget = sum(profile[f"t_{name}"] for name in STATE_NAMES)
    assert budget == pytest.approx(elapsed, rel=0.05)
    # under 5% loss with data always queued, the window is what limits the sender
    assert profile["t_cwnd_limited"] > 0.9 * budget
    # the counters agree with each other
    assert profile["recoveries"] == profile["fast_retransmits"] + profile["reorder_recoveries"]
    assert profile["recoveries"] == stats.recoveries > 0
    assert profile["retransmitted"] >= profile["recoveries"]
    assert profile["timeout_wait"] >= profile["timeouts"] * sender.config.rto_min
    # the round trip: the link's 1 ms, read from a 1 ms timestamp clock
    assert 0 <= profile["rtt_min_ms"] <= profile["rtt_median_ms"] <= 2
    assert len(stats.events) == stats.recoveries + stats.timeouts
    assert profile["ssthresh_median_seg"] >= 2
    assert profile["cwnd_at_loss_median_seg"] > profile["ssthresh_median_seg"]


def test_cubic_moves_more_than_newreno_under_random_loss() -> None:
    # RFC 9438 4.6: CUBIC's decrease is 0.7, not 0.5; under random loss, which is not
    # congestion, it keeps the larger window. Same seeds, same losses offered.
    size = 3_000_000
    for seed in (0, 1, 2):
        cubic, fast = _lossy("cubic", size, seed)
        newreno, slow = _lossy("newreno", size, seed)
        assert cubic < newreno
        kept = fast.loss_stats.profile(MSS)["ssthresh_median_seg"]
        halved = slow.loss_stats.profile(MSS)["ssthresh_median_seg"]
        assert kept > 1.2 * halved


def test_the_default_congestion_control_is_cubic() -> None:
    assert TcpConfig().congestion == "cubic"  # RFC 9438, as Linux
