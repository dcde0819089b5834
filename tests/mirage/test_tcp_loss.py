"""Sending under random loss: the tail-loss probe timeout (RFC 8985 7.2), the sender's
loss profile (where the time went), and CUBIC (RFC 9438) against NewReno, on a virtual
clock with a real round trip."""

from __future__ import annotations

import random

import pytest

from backends.mirage.faults import Faults
from backends.mirage.stack import StackConfig
from backends.mirage.tcp import Connection, TcpConfig
from backends.mirage.tcp.congestion import Bbr
from backends.mirage.tcp.rtt import RttEstimator
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


# -- the retransmission timeout: its floor, and spurious timeouts undone -------------------


def test_rto_floor_is_lower_with_more_than_one_segment_out() -> None:
    rtt = RttEstimator(1.0, 0.2, 60.0, 0.04)
    assert rtt.rto == rtt.rto_short == 1.0  # RFC 6298 2.1, before any sample
    for _ in range(4):
        rtt.sample(0.001)
    assert rtt.rto == pytest.approx(0.2)  # a lone segment's ACK may be delayed
    assert rtt.rto_short == pytest.approx(0.04)
    rtt.back_off()  # RFC 6298 5.5, both
    assert (rtt.rto, rtt.rto_short) == (pytest.approx(0.4), pytest.approx(0.08))
    slow = RttEstimator(1.0, 0.2, 60.0, 0.04)
    slow.sample(0.1)  # a round trip above both floors: one estimate
    assert slow.rto == slow.rto_short == pytest.approx(0.3)


def _warm(delay: float) -> tuple[Net, Connection, Connection]:
    net = Net(faults_a=Faults(delay=delay))
    client, server = net.pair()
    with net.sched:
        client.send(b"w")
    net.run(lambda: client.snd_una == client.snd_max)
    assert server.recv(1) == b"w"
    return net, client, server


def test_a_window_lost_with_its_probe_times_out_after_the_lower_floor() -> None:
    net, client, server = _warm(0.0005)  # a 1 ms round trip
    original = net.switch._transmit
    lost = [0]
    sent: list[float] = []

    def drop(src: object, frame: bytes) -> None:
        if src is net.switch.ports[0] and len(frame) > 154:
            sent.append(net.clock.time)
            if lost[0] < 6:
                lost[0] += 1  # five segments, then the tail-loss probe
                return
        original(src, frame)  # type: ignore[arg-type]

    net.switch._transmit = drop  # type: ignore[method-assign]
    data = random.Random(3).randbytes(client.mss * 5)
    start = net.clock.time
    with net.sched:
        client.send(data)
    net.run(lambda: server.rcv_buffered == len(data))
    assert lost[0] == 6 and client.loss_stats.probes == 1
    assert client.loss_stats.timeouts == 1
    # the retransmission ~rto_min_flight (40 ms) after the probe, not rto_min (200 ms)
    rto = client.loss_stats.timeout_wait
    assert 0.04 <= rto < 0.06
    assert sent[6] - sent[5] == pytest.approx(rto)
    assert sent[6] - start < 0.08
    assert server.recv(1 << 20) == data


def _hold_acks(net: Net, seconds: float) -> None:
    """Hold every frame the receiver (switch port 1) sends for ``seconds`` from now, then
    deliver them in order: ACKs delayed past a timer, nothing lost."""
    original = net.switch._transmit
    release = net.clock.time + seconds

    def hold(src: object, frame: bytes) -> None:
        now = net.clock.time
        if src is net.switch.ports[1] and now < release:
            net.sched.call_later(release - now, lambda: original(src, frame))
            return
        original(src, frame)

    net.switch._transmit = hold


def test_a_spurious_timeout_is_found_by_timestamps_and_undone() -> None:
    """The receiver's ACKs are held up for 100 ms, past the timeout; the first one that
    arrives afterwards echoes the original's TSval, not the retransmission's (RFC 3522),
    so the congestion window comes back and sending resumes with new data (RFC 4015)."""
    net, client, server = _warm(0.0005)
    _hold_acks(net, 0.1)
    data = random.Random(4).randbytes(client.mss * 200)
    with net.sched:
        client.send(data)
    cwnd = client.cc.cwnd
    net.run(lambda: client.loss_stats.timeouts == 1)
    assert client.cc.cwnd == client.mss  # RFC 5681 3.1: the loss window, for now
    net.run(lambda: client.snd_una > client.iss + 1 + cwnd // 2)
    assert client.loss_stats.spurious_timeouts == 1
    assert client.cc.cwnd >= cwnd  # restored (and grown by the ACKs since)
    net.run(lambda: server.rcv_buffered == len(data))
    assert server.recv(1 << 30) == data
    assert client.loss_stats.timeouts == 1


def test_two_ends_that_disagree_do_not_ack_each_other_forever() -> None:
    """The receiver's RCV.NXT is ahead of anything the sender sent (as after injected
    text): each of the sender's segments is unacceptable there and answered with an ACK
    of unsent data, which the sender answers with an ACK the receiver finds
    unacceptable again. The sender's answers are throttled as challenge ACKs (RFC 5961
    5.2 and 7), so the exchange stops instead of running at one instant forever."""
    net = Net()
    client, server = net.pair()
    frames = [0]
    original = net.switch._transmit

    def count(src: object, frame: bytes) -> None:
        frames[0] += 1
        original(src, frame)  # type: ignore[arg-type]

    net.switch._transmit = count  # type: ignore[method-assign]
    server.rcv_nxt += 100_000
    with net.sched:
        client.send(b"x" * 100)
    net.clock.run(net.sched, lambda: False, limit=0.5)
    limit = client.config.challenge_ack_limit
    assert limit < frames[0] <= 2 * limit + 10


# -- the model-based controller (after BBR, draft-ietf-ccwg-bbr) --------------------------


def test_bbr_keeps_its_window_under_random_loss() -> None:
    # random loss is not congestion: the model (delivery rate, min RTT) keeps the window
    # where CUBIC (RFC 9438) cuts it by beta at every loss. Same seeds, same losses.
    size = 2_000_000
    for seed in (0, 1):
        cubic, _ = _lossy("cubic", size, seed)
        bbr, sender = _lossy("bbr", size, seed)
        assert bbr < cubic / 2
        profile = sender.loss_stats.profile(MSS)
        assert profile["cwnd_at_loss_median_seg"] > 2 * 9  # CUBIC's is about 9 here
        assert profile["timeouts"] <= 1


def _rounds(
    cc: Bbr, rounds: int, capacity: float, rtt: float, loss: float, at: list[float]
) -> float:
    """Drive ``cc`` through ``rounds`` round trips over a bottleneck of ``capacity``
    bytes/s and ``rtt`` s that loses ``loss`` of what is sent (ten ACKs a round, the
    window sent each round); ``at`` holds [time, SND.UNA, bytes lost] across calls.
    Returns the mean delivery rate of the second half of the rounds."""
    now, una, lost = at
    rates = []
    for _ in range(rounds):
        flight = cc.cwnd
        high = una + flight
        duration = max(rtt, flight / capacity)  # over the BDP, the rest queues
        for _ in range(10):
            now += duration / 10
            piece = flight // 10
            una += piece
            lost += piece * loss
            cc.on_delivery(int(piece * (1 - loss)), int(lost), high - una, una, high, rtt, now, MSS)
        rates.append(flight * (1 - loss) / duration)
    at[:] = [now, una, lost]
    half = rates[len(rates) // 2 :]
    return sum(half) / len(half)


def test_bbr_window_follows_the_model_and_backs_off_under_congestion() -> None:
    cc = Bbr()
    cc.start(MSS, 10)
    at = [0.0, 0.0, 0.0]
    bdp = 10e6 * 0.002  # 10 MB/s, 2 ms
    # no loss: STARTUP fills the pipe, PROBE_BW holds about twice the BDP (BBRDefaultCwndGain)
    assert _rounds(cc, 60, 10e6, 0.002, 0.0, at) == pytest.approx(10e6, rel=0.02)
    assert cc.filled and 1.5 * bdp < cc.cwnd < 2.6 * bdp
    before = cc.cwnd
    # congestion: the bottleneck halves and a tenth of what is sent is lost; the lower
    # bounds (BBRLossLowerBounds) bring the window down to under twice the new BDP within
    # rounds (a controller that ignored loss would keep the old window and its queue)
    _rounds(cc, 40, 5e6, 0.002, 0.10, at)
    assert cc.cwnd < before / 2 and cc.cwnd < 2 * bdp / 2
    # the loss ends, the bottleneck stays: the window stays the model's, no collapse
    assert _rounds(cc, 80, 5e6, 0.002, 0.0, at) == pytest.approx(5e6, rel=0.1)
    assert cc.cwnd >= bdp / 2


def test_bbr_is_selectable_and_transfers_intact_over_the_switch_with_loss() -> None:
    _, sender = _lossy("bbr", 500_000, seed=5, rtt=0.0005)
    assert isinstance(sender.cc, Bbr)
    assert sender.loss_stats.retransmitted > 0
    assert TcpConfig(congestion="bbr").congestion == "bbr"


# -- tail-loss probes: when they are scheduled, and which were needed ----------------------


def test_a_probe_answered_by_a_dsack_is_counted_spurious() -> None:
    """The receiver's ACKs are held up past the probe timeout (2*SRTT) but not past the
    retransmission timeout: the probe's copy of the last segment arrives second, and the
    D-SACK of its range (RFC 2883) marks it unneeded (RFC 8985 7.4.1)."""
    net, client, server = _warm(0.0005)
    _hold_acks(net, 0.015)
    data = random.Random(6).randbytes(client.mss * 4)
    with net.sched:
        client.send(data)
    stats = client.loss_stats
    net.run(lambda: client.snd_una == client.snd_max and stats.dsacks > 0)
    assert stats.probes == 1 and stats.probes_spurious == 1
    assert stats.probes_recovery == stats.probes_sacked == 0
    assert stats.timeouts == 0 and stats.dsacks == 1
    assert server.recv(1 << 20) == data


def test_a_round_trip_under_the_timestamp_tick_is_timed_on_the_host_clock() -> None:
    """With timestamps the samples come from a 1 ms clock (RFC 7323 5.4); one segment
    per round trip is timed on the host's clock too (RFC 6298 3), for the profile."""
    net, client, server = _warm(0.0002)  # a 0.4 ms round trip
    data = random.Random(7).randbytes(client.mss * 4)
    with net.sched:
        client.send(data)
    net.run(lambda: client.snd_una == client.snd_max)
    assert client.ts_ok and client.loss_stats.timed_rtts[-1] == pytest.approx(0.0004)
    assert client.loss_stats.profile(client.mss)["rtt_timed_median_ms"] > 0
    assert server.recv(1 << 20) == data
