"""The parts of the mirage TCP, each on its own: sequence arithmetic, options, the
address family, reassembly, the scoreboard, the RTT estimator, congestion control."""

from __future__ import annotations

import random
import struct
from collections import deque

import pytest

from backends.mirage import checksum, tcp
from backends.mirage.errors import PacketError
from backends.mirage.stack import StackConfig
from backends.mirage.tcp import seq
from backends.mirage.tcp.congestion import Cubic, NewReno, controller
from backends.mirage.tcp.options import (
    is_dsack,
    parse_options,
    parse_sack,
    parse_timestamp,
    sack_option,
    syn_options,
    timestamp_option,
)
from backends.mirage.tcp.reassembly import Reassembly
from backends.mirage.tcp.rtt import RttEstimator
from backends.mirage.tcp.sendbuf import Scoreboard, SendBuffer

from .harness import Net, transfer

MSS = 1000


# -- sequence numbers (RFC 9293 3.4) -------------------------------------------------------


def test_unwrap_picks_the_nearest_value_across_the_wrap() -> None:
    assert seq.unwrap(5, 0xFFFFFFF0) == 0x1_0000_0005
    assert seq.unwrap(0xFFFFFFF0, 0x1_0000_0005) == 0xFFFFFFF0
    assert seq.unwrap(100, 50) == 100
    assert seq.wrap(0x1_0000_0005) == 5


def test_modular_comparisons() -> None:
    assert seq.lt(0xFFFFFFF0, 5) and not seq.lt(5, 0xFFFFFFF0)
    assert seq.le(7, 7) and not seq.lt(7, 7)
    assert not seq.lt(0, 0x80000000 + 1)  # more than half the space ahead is "behind"


# -- options -------------------------------------------------------------------------------


def test_syn_options_round_trip() -> None:
    raw = syn_options(1460, 7, True, (0xDEADBEEF, 0))
    assert len(raw) % 4 == 0
    assert parse_options(memoryview(raw)) == (1460, 7, True, (0xDEADBEEF, 0))
    assert parse_options(memoryview(syn_options(536, None))) == (536, None, False, None)
    # RFC 7323 2.3: a shift over 14 is read as 14
    assert parse_options(memoryview(b"\x03\x03\x20\x00")).wscale == 14


def test_malformed_option_length_ends_the_scan() -> None:
    # SACK-permitted, then an option with length 0, then an MSS that must be ignored
    raw = memoryview(b"\x04\x02\x09\x00\x02\x04\x05\xb4")
    assert parse_options(raw) == (None, None, True, None)
    assert parse_options(memoryview(b"\x02\x09\x05\xb4")) == (None, None, False, None)


def test_timestamp_option_fast_path_and_scan() -> None:
    aligned = timestamp_option(1, 2)
    assert aligned[:4] == b"\x01\x01\x08\x0a" and parse_timestamp(memoryview(aligned)) == (1, 2)
    unaligned = b"\x08\x0a" + (3).to_bytes(4, "big") + (4).to_bytes(4, "big") + b"\x00\x00"
    assert parse_timestamp(memoryview(unaligned)) == (3, 4)
    assert parse_timestamp(memoryview(b"\x08\x09" + bytes(8))) is None  # wrong length


def test_sack_option_round_trip() -> None:
    blocks = [(10, 20), (0xFFFFFFF0, 0x1_0000_0010)]
    raw = memoryview(timestamp_option(5, 6) + sack_option(blocks))
    assert parse_sack(raw) == [(10, 20), (0xFFFFFFF0, 0x10)]
    assert parse_timestamp(raw) == (5, 6)


def test_sack_after_timestamps_is_read_directly_and_agrees_with_the_scan() -> None:
    ts = timestamp_option(5, 6)
    for count in range(1, 5):
        blocks = [(100 * i + 1, 100 * i + 50) for i in range(count)]
        assert parse_sack(memoryview(ts + sack_option(blocks))) == blocks
        # the same option elsewhere in the list is found by the scan
        moved = b"\x01" + sack_option(blocks) + b"\x01\x01\x01" + ts
        assert parse_sack(memoryview(moved)) == blocks
    # a length that does not hold whole blocks, or runs past the options, is no SACK
    bad = bytearray(ts + sack_option([(1, 2)]))
    bad[15] = 11
    assert parse_sack(memoryview(bytes(bad))) == []
    assert parse_sack(memoryview(ts + sack_option([(1, 2), (3, 4)])[:-4])) == []


# -- address family --------------------------------------------------------------------------


@pytest.mark.parametrize("family", [tcp.IPV4, tcp.IPV6])
def test_segments_checksum_over_the_family_pseudo_header(family: tcp.Family) -> None:
    src, dst = (1 << (family.address_bits - 1)) + 5, 0x0A000002
    raw = tcp.segment(src, dst, 4000, 80, 1, 2, tcp.ACK, 100, b"hello", family=family)
    got = tcp.parse(src, dst, memoryview(raw), family)
    assert bytes(got.payload) == b"hello" and (got.seq, got.ack) == (1, 2)
    with pytest.raises(PacketError, match="checksum"):
        tcp.parse(src, dst + 1, memoryview(raw), family)


def test_pseudo_header_sums_match_the_bytes_they_stand_for() -> None:
    rng = random.Random(5)
    for _ in range(200):
        length = rng.randrange(20, 65536)
        s4, d4 = rng.getrandbits(32), rng.getrandbits(32)
        raw4 = struct.pack("!IIBBH", s4, d4, 0, 6, length)  # RFC 9293 3.1
        assert tcp.IPV4.pseudo_sum(s4, d4, length) == checksum.partial(raw4)
        s6, d6 = rng.getrandbits(128), rng.getrandbits(128)
        raw6 = s6.to_bytes(16, "big") + d6.to_bytes(16, "big") + struct.pack("!I3xB", length, 6)
        assert tcp.IPV6.pseudo_sum(s6, d6, length) == checksum.partial(raw6)  # RFC 8200 8.1


def test_ipv6_endpoint_text_is_bracketed() -> None:
    assert tcp.IPV6.endpoint(1, 80) == "[::1]:80"
    assert tcp.IPV4.endpoint(0x0A000001, 80) == "10.0.0.1:80"


# -- receive reassembly ------------------------------------------------------------------


def test_reassembly_orders_text_and_reports_sack_blocks_latest_first() -> None:
    r = Reassembly(limit=1 << 20)
    r.add(300, b"c" * 100, False)
    r.add(100, b"a" * 100, False)
    r.add(500, b"e" * 10, True)
    assert r.sack_blocks() == [(500, 510), (300, 400), (100, 200)]
    out: deque[bytes] = deque()
    assert r.pull(100, out) == (200, False)
    assert b"".join(out) == b"a" * 100 and r.ranges == [[300, 400], [500, 510]]
    out.clear()
    r.add(200, b"b" * 100, False)
    r.add(400, b"d" * 100, False)
    assert r.pull(200, out) == (510, True)  # through to the FIN
    assert b"".join(out) == b"b" * 100 + b"c" * 100 + b"d" * 100 + b"e" * 10
    assert not r and r.held == 0 and r.ranges == []


def test_dsack_blocks_are_told_from_sack_blocks_across_the_wrap() -> None:
    ack = 0x100  # just past the 2**32 wrap
    assert is_dsack([(0xFFFFFF00, 0x50)], ack)  # below the cumulative ACK
    assert is_dsack([(0x50, 0x100)], ack)  # ends at it
    assert not is_dsack([(0x200, 0x300)], ack)  # an ordinary block above it
    assert is_dsack([(0x250, 0x300), (0x200, 0x400)], ack)  # inside the second block
    assert not is_dsack([(0x250, 0x300), (0x500, 0x600)], ack)
    assert not is_dsack([(0x180, 0x300), (0x200, 0x400)], ack)  # overlaps, not inside


def test_reassembly_knows_what_it_holds() -> None:
    reasm = Reassembly(1 << 20)
    reasm.add(100, b"x" * 50, False)
    reasm.add(150, b"y" * 50, False)  # merges into [100, 200)
    reasm.add(300, b"z" * 10, False)
    assert reasm.holds(100, 200) and reasm.holds(120, 160) and reasm.holds(300, 310)
    assert not reasm.holds(90, 110) and not reasm.holds(190, 210)
    assert not reasm.holds(250, 260) and not reasm.holds(305, 311)
    assert not Reassembly(100).holds(0, 1)


def test_reassembly_is_bounded_against_overlapping_copies() -> None:
    r = Reassembly(limit=10_000)
    kept = sum(r.add(1000 + i, bytes(1000), False) for i in range(1000))
    assert kept < 10 and r.held <= 10_000
    out: deque[bytes] = deque()
    rcv_nxt, _ = r.pull(1000, out)
    assert rcv_nxt == 1000 + (kept - 1) + 1000 and r.held == 0


# -- send buffer and scoreboard (RFC 2018, RFC 6675) --------------------------------------


def test_send_buffer_releases_what_is_acknowledged() -> None:
    sb = SendBuffer(100)
    sb.data += b"0123456789"
    assert sb.end == 110 and bytes(sb.slice(103, 4)) == b"3456"
    assert sb.release(105) == 5 and sb.seq == 105 and bytes(sb.data) == b"56789"
    assert sb.release(200) == 5 and sb.end == 110  # an ACK of the FIN frees no more


def test_scoreboard_matches_a_plain_set_of_sacked_bytes() -> None:
    # random blocks, many of them growing the highest one (the in-place path): the merged
    # ranges and the bytes SACKed anew are what a set of byte offsets says
    rng = random.Random(7)
    una, high = 0xFFFF0000, 0xFFFF0000 + 4000
    for _ in range(200):
        board = Scoreboard()
        held: set[int] = set()
        for _ in range(rng.randrange(1, 12)):
            if board.blocks and rng.random() < 0.5:
                left = rng.randrange(board.blocks[-1][0], board.blocks[-1][1] + 1)
            else:
                left = una + rng.randrange(0, 3900)
            right = min(high, left + rng.randrange(1, 300))
            grew = board.update([(seq.wrap(left), seq.wrap(right))], una, high)
            before = len(held)
            held.update(range(left, right))
            assert grew == len(held) - before
            ranges: list[list[int]] = []
            for b in sorted(held):
                if ranges and ranges[-1][1] == b:
                    ranges[-1][1] = b + 1
                else:
                    ranges.append([b, b + 1])
            assert board.blocks == ranges


def test_scoreboard_merges_blocks_and_ignores_ones_outside_the_window() -> None:
    board = Scoreboard()
    una, high = 0xFFFFF000, 0xFFFFF000 + 20 * MSS  # across the 2**32 wrap
    w = seq.wrap
    # each update says how many bytes it SACKed anew (what a delivery-rate model counts)
    assert board.update([(w(una + 2 * MSS), w(una + 3 * MSS))], una, high) == MSS
    assert board.update([(w(una + 4 * MSS), w(una + 5 * MSS))], una, high) == MSS
    assert not board.update([(w(una + 2 * MSS), w(una + 3 * MSS))], una, high)  # nothing new
    assert board.update([(w(una + 2 * MSS), w(una + 4 * MSS))], una, high) == MSS  # joins both
    assert board.blocks == [[una + 2 * MSS, una + 5 * MSS]]
    assert not board.update([(w(una - MSS), w(una))], una, high)  # below SND.UNA
    assert not board.update([(w(high), w(high + MSS))], una, high)  # beyond SND.MAX
    assert board.sacked_bytes() == 3 * MSS and board.highest() == una + 5 * MSS
    # a cumulative ACK says how much of what it covers had been SACKed already
    assert board.acked(una + 3 * MSS) == MSS
    assert board.blocks == [[una + 3 * MSS, una + 5 * MSS]]
    assert board.acked(una + 6 * MSS) == 2 * MSS and not board.blocks


def test_next_hole_follows_islost() -> None:
    """RFC 6675 NextSeg (1): a hole is resent once DupThresh segments are SACKed above it."""
    board = Scoreboard()
    board.update([(1 * MSS, 2 * MSS), (3 * MSS, 4 * MSS)], 0, 10 * MSS)
    assert not board.first_hole_lost(MSS) and board.next_hole(0, MSS) is None
    board.update([(5 * MSS, 6 * MSS)], 0, 10 * MSS)
    assert board.first_hole_lost(MSS)
    assert board.next_hole(0, MSS) == (0, MSS)
    board.high_rxt = MSS
    # the hole at 2*MSS has two segments SACKed above it: not yet lost
    assert board.next_hole(0, MSS) is None
    board.update([(7 * MSS, 8 * MSS)], 0, 10 * MSS)
    assert board.next_hole(0, MSS) == (2 * MSS, MSS)


def test_rack_deems_every_hole_below_the_highest_sack_lost() -> None:
    """RFC 8985 6.2 with a zero reordering window (recovery, no reordering seen): data
    sent after a hole arrived, so the hole is lost without DupThresh SACKs above it."""
    board = Scoreboard()
    board.update([(1 * MSS, 2 * MSS), (3 * MSS, 4 * MSS)], 0, 5 * MSS)
    assert not board.first_hole_lost(MSS) and board.next_hole(0, MSS) is None
    assert board.pipe(0, 5 * MSS, MSS) == 3 * MSS  # RFC 6675: holes still in flight
    board.rack = True
    assert board.first_hole_lost(MSS) and board.next_hole(0, MSS) == (0, MSS)
    assert board.pipe(0, 5 * MSS, MSS) == MSS  # only the segment above the last block
    board.high_rxt = MSS
    assert board.next_hole(0, MSS) == (2 * MSS, MSS)
    board.clear()
    assert not board.rack  # a timeout starts over (RFC 2018 8)


def test_a_segment_sacked_after_later_data_without_retransmission_is_reordering() -> None:
    board = Scoreboard()
    board.update([(3 * MSS, 4 * MSS)], 0, 5 * MSS)
    board.high_rxt = 2 * MSS  # 0..2*MSS was retransmitted: its SACK says nothing
    board.update([(1 * MSS, 2 * MSS)], 0, 5 * MSS)
    assert not board.reordering_seen
    # several blocks in one ACK (a lost ACK carried the lower one first): not reordering
    other = Scoreboard()
    other.update([(3 * MSS, 4 * MSS), (1 * MSS, 2 * MSS)], 0, 5 * MSS)
    assert not other.reordering_seen
    board.update([(2 * MSS, 3 * MSS)], 0, 5 * MSS)  # never retransmitted, below 4*MSS
    assert board.reordering_seen


def test_a_retransmission_is_lost_once_something_sent_after_it_arrives() -> None:
    """RFC 8985 6.2: RACK orders transmissions; here by SND.MAX at the time, then by
    retransmission count."""
    board = Scoreboard()
    board.rack = True
    board.update([(1 * MSS, 2 * MSS)], 0, 10 * MSS)
    board.sent_again(0, MSS, 10 * MSS)  # the hole, resent while SND.MAX was 10*MSS
    board.update([(9 * MSS, 10 * MSS)], 0, 10 * MSS)  # sent before the retransmission
    assert board.lost_retransmits(0) == []
    board.sent_again(9 * MSS, 10 * MSS, 10 * MSS)  # a tail loss probe, after it
    board.update([(9 * MSS, 10 * MSS)], 0, 10 * MSS)  # its D-SACK: the probe arrived
    assert board.lost_retransmits(0) == [(0, MSS)]
    board.sent_again(0, MSS, 10 * MSS)  # resent again: not lost until later data arrives
    assert board.lost_retransmits(0) == []
    board.update([(10 * MSS, 11 * MSS)], 0, 11 * MSS)  # new data sent after it
    assert board.lost_retransmits(0) == [(0, MSS)]
    board.update([(0, MSS)], 0, 11 * MSS)  # it arrived after all
    assert board.lost_retransmits(0) == []
    board.acked(11 * MSS)
    assert not board.retransmits
    board.rack = False
    board.sent_again(11 * MSS, 12 * MSS, 13 * MSS)
    board.update([(12 * MSS, 13 * MSS)], 11 * MSS, 14 * MSS)
    assert board.lost_retransmits(11 * MSS) == []  # RFC 6675 alone: no such rule


# -- RTT estimator (RFC 6298) ------------------------------------------------------------


def test_rtt_estimator_follows_rfc6298() -> None:
    rtt = RttEstimator(initial=1.0, minimum=0.2, maximum=60.0)
    assert rtt.rto == 1.0
    rtt.sample(0.1)  # 2.2: SRTT = R, RTTVAR = R/2, RTO = SRTT + 4 RTTVAR
    assert rtt.srtt == 0.1 and rtt.rttvar == 0.05 and rtt.rto == pytest.approx(0.3)
    rtt.sample(0.3)  # 2.3
    assert rtt.rttvar == pytest.approx(0.75 * 0.05 + 0.25 * 0.2)
    assert rtt.srtt == pytest.approx(0.875 * 0.1 + 0.125 * 0.3)
    for _ in range(50):
        rtt.sample(0.001)
    assert rtt.rto == 0.2  # 2.4's floor (the configured minimum)
    for _ in range(20):
        rtt.back_off()
    assert rtt.rto == 60.0  # 5.5 doubling, capped by 2.5's maximum


def test_karn_rule_drops_the_timed_segment() -> None:
    rtt = RttEstimator(1.0, 0.2, 60.0)
    rtt.start(1000, now=5.0)
    rtt.acked(999, now=5.1)
    assert rtt.srtt is None  # the ACK does not cover it yet
    rtt.cancel()
    rtt.acked(1000, now=5.2)
    assert rtt.srtt is None
    rtt.start(2000, now=6.0)
    rtt.acked(2500, now=6.25)
    assert rtt.srtt == 0.25


# -- congestion control ------------------------------------------------------------------


def test_newreno_slow_start_then_avoidance() -> None:
    cc = NewReno()
    cc.start(MSS, 10)
    assert cc.cwnd == 10 * MSS
    cc.ssthresh = 12 * MSS
    cc.on_ack(5 * MSS, MSS, 0.0, 0.1)  # RFC 3465: at most 2 SMSS per ACK
    assert cc.cwnd == 12 * MSS
    for _ in range(12):
        cc.on_ack(MSS, MSS, 0.0, 0.1)
    assert cc.cwnd == 13 * MSS  # one SMSS per window
    cc.on_congestion(20 * MSS, MSS, 0.0)
    assert cc.ssthresh == 10 * MSS
    cc.on_timeout(MSS, MSS, 0.0, first=False)
    assert cc.cwnd == MSS and cc.ssthresh == 10 * MSS


def _cubic_regrowth(srtt: float) -> tuple[Cubic, float]:
    """A CUBIC window cut at 100 segments, then one window ACKed per RTT: the controller
    and the time it took to reach W_max again."""
    cc = Cubic()
    cc.start(MSS, 10)
    cc.cwnd = 100 * MSS
    cc.on_congestion(100 * MSS, MSS, now=0.0)
    assert cc.ssthresh == 70 * MSS and cc.w_max == 100 * MSS  # RFC 9438 4.6
    cc.cwnd = cc.ssthresh
    now = 0.0
    while cc.cwnd < 100 * MSS:
        assert now < 60.0
        for _ in range(cc.cwnd // MSS):
            cc.on_ack(MSS, MSS, now, srtt)
        now += srtt
    return cc, now


def test_cubic_regrows_to_wmax_in_about_k_seconds() -> None:
    cc, reached = _cubic_regrowth(srtt=0.2)
    k = (100 * 0.3 / 0.4) ** (1 / 3)  # RFC 9438 eq. 2: K = cubic_root(W_max*(1-beta)/C)
    assert k * 0.8 < reached < k * 1.2
    # fast convergence (RFC 9438 4.7): a loss below the last W_max remembers less
    cc.cwnd = 90 * MSS
    cc.on_congestion(90 * MSS, MSS, reached)
    assert cc.w_max == pytest.approx(90 * MSS * 1.7 / 2)


def test_cubic_is_never_slower_than_reno_on_a_short_path() -> None:
    """RFC 9438 4.3: at a 10 ms RTT the Reno-friendly estimate (alpha = 3(1-b)/(1+b)
    segments per RTT) regrows the window well before K."""
    _cc, reached = _cubic_regrowth(srtt=0.01)
    rounds = reached / 0.01
    assert rounds == pytest.approx(30 / Cubic.ALPHA, rel=0.1)


def test_unknown_congestion_control_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"'vegas'.*newreno, cubic, bbr"):
        tcp.TcpConfig(congestion="vegas")
    with pytest.raises(ValueError, match="unknown congestion control"):
        controller("vegas")


def test_cubic_transfers_intact_under_loss() -> None:
    from backends.mirage.faults import Faults

    cfg = StackConfig(tcp=tcp.TcpConfig(congestion="cubic"))
    net = Net(faults_a=Faults(drop=0.02, reorder=0.01, seed=3), config_a=cfg, config_b=cfg)
    client, server = net.pair()
    assert isinstance(client.cc, Cubic)
    data = random.Random(4).randbytes(2_000_000)
    assert transfer(net, client, server, data, limit=600.0) == data
    assert transfer(net, server, client, data, limit=600.0) == data


def test_many_samples_per_rtt_weigh_less() -> None:
    """RFC 7323 appendix G: with a sample per ACK, alpha and beta are divided by the
    samples expected in one round trip."""
    rtt = RttEstimator(1.0, 0.2, 60.0)
    rtt.sample(0.1)
    rtt.sample(0.2, per_rtt=4)
    assert rtt.srtt == pytest.approx(0.1 + (0.2 - 0.1) / 32)
    assert rtt.rttvar == pytest.approx((1 - 1 / 16) * 0.05 + 0.1 / 16)


def test_pipe_counts_what_is_still_in_the_network() -> None:
    """RFC 6675 SetPipe(): unSACKed octets not lost count once, retransmitted ones once
    more; SACKed and lost octets are out of the network."""
    board = Scoreboard()
    una, high = 0, 10 * MSS
    assert board.pipe(una, high, MSS) == 10 * MSS  # nothing SACKed: the whole flight
    # segments 2, 4 and 6 SACKed: the holes below segment 2 (0..2) are lost (3 blocks
    # above), the holes 3 and 5 are not; 7..9 unSACKed and not lost
    for k in (2, 4, 6):
        board.update([(k * MSS, (k + 1) * MSS)], una, high)
    assert board.lost_below(MSS) == 2 * MSS
    assert board.pipe(una, high, MSS) == (1 + 1 + 3) * MSS
    board.high_rxt = MSS  # segment 0 retransmitted: in the network again
    assert board.pipe(una, high, MSS) == (1 + 1 + 3 + 1) * MSS
    board.high_rxt = 4 * MSS  # ... and segments 1 and 3 (3 was not lost: counts twice)
    assert board.pipe(una, high, MSS) == (1 + 1 + 3 + 2 + 1) * MSS


def test_nextseg_rules_one_three_and_four() -> None:
    board = Scoreboard()
    una, high = 0, 8 * MSS
    board.update([(2 * MSS, 3 * MSS), (5 * MSS, 6 * MSS)], una, high)
    assert board.next_hole(una, MSS) is None  # rule 1: nothing IsLost yet
    assert board.next_hole(una, MSS, lost_only=False) == (0, MSS)  # rule 3
    board.high_rxt = 3 * MSS
    assert board.next_hole(una, MSS, lost_only=False) == (3 * MSS, MSS)
    board.high_rxt = 5 * MSS
    assert board.next_hole(una, MSS, lost_only=False) is None  # nothing SACKed above 6
    # rule 4: the highest unSACKed segment below SND.MAX
    assert board.rescue(una, high, MSS) == (7 * MSS, MSS)
    board.update([(6 * MSS, 8 * MSS)], una, high)
    # the highest unSACKed octets now end at 5*MSS, all retransmitted already (below
    # HighRxt): nothing to rescue; not yet retransmitted, they are
    assert board.rescue(una, high, MSS) is None
    board.high_rxt = 3 * MSS
    assert board.rescue(una, high, MSS) == (4 * MSS, MSS)  # below the top SACKed block
