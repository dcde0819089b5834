"""TCP state machine over the in-memory switch, on a virtual clock (RFC 9293 and friends)."""

from __future__ import annotations

import hashlib
import random

import pytest

from backends.errors import (
    AddressInUse,
    AddressUnavailable,
    ConnectionRefused,
    ConnectionReset,
    Timeout,
)
from backends.mirage import tcp
from backends.mirage.faults import Faults
from backends.mirage.stack import StackConfig
from backends.mirage.tcp import ACK, RST, SYN, State, TcpConfig
from backends.mirage.tcp.rtt import RttEstimator

from .harness import A_IP, B_IP, Net, transfer


def test_handshake_negotiates_mss_and_window_scale() -> None:
    net = Net()
    client, server = net.pair()
    assert client.state == server.state == State.ESTABLISHED
    assert client.mss == server.mss == 1448  # MTU 1500 - 40, less a timestamp (RFC 7323)
    ws = net.a.tcp.rcv_wscale
    assert ws > 0 and client.snd_wscale == ws and server.rcv_wscale == ws
    # the receive window offered is the whole (scaled) buffer, not 64 KiB
    assert server.snd_wnd == client.config.rcvbuf


def test_without_window_scale_option_the_window_stays_unscaled() -> None:
    net = Net()
    net.b.tcp.listen(0, 80, 4)
    net.a.tcp._closed_input = lambda *args: None  # type: ignore[method-assign]
    # a SYN that lacks the option (built by hand) gets none in the SYN-ACK (RFC 7323 2.2)
    seg = tcp.segment(A_IP, B_IP, 4000, 80, 1000, 0, SYN, 8192, options=tcp.syn_options(1460, None))
    with net.sched:
        net.a.ip_output(A_IP, B_IP, 6, seg)
    conn = net.b.tcp.connections[(B_IP, 80, A_IP, 4000)]
    assert conn.snd_wscale == conn.rcv_wscale == 0 and conn.offer_wscale is None


@pytest.mark.parametrize("iss", [0xFFFFFFFF - 3000, 0xFFFFFFF0])
def test_sequence_numbers_wrap_around(iss: int) -> None:
    net = Net()
    net.a.tcp._isn = lambda key: iss
    net.b.tcp._isn = lambda key: iss - 100
    client, server = net.pair()
    data = random.Random(1).randbytes(300_000)
    assert transfer(net, client, server, data) == data
    assert client.snd_una > 0xFFFFFFFF  # the unwrapped counter went past 2**32
    back = random.Random(2).randbytes(200_000)
    assert transfer(net, server, client, back) == back


def test_zero_window_then_probe_then_resume() -> None:
    cfg = StackConfig(tcp=TcpConfig(rcvbuf=64 * 1024))
    net = Net(config_b=cfg)
    client, server = net.pair()
    data = random.Random(3).randbytes(400_000)
    with net.sched:
        sent = client.send(data)
    net.run(lambda: server.rcv_buffered >= 64 * 1024 - 1460)
    # nobody reads: the window closes, the client keeps probing instead of giving up
    net.clock.run(net.sched, lambda: False, limit=30.0)
    assert client.snd_wnd == 0 and client.state == State.ESTABLISHED
    assert client.timers.persist.running
    got = bytearray()
    while len(got) < sent:
        with net.sched:
            chunk = server.recv(1 << 20)
        if chunk:
            got += chunk
        else:
            net.run(lambda: bool(server.rcv_chunks))
    assert bytes(got) == data[:sent]


def test_refused_and_rst_to_closed_port() -> None:
    net = Net()
    with net.sched:
        conn = net.a.tcp.connect(A_IP, B_IP, 81)
    net.run(lambda: conn.state == State.CLOSED)
    assert isinstance(conn.error, ConnectionRefused)


def test_syn_is_retransmitted_then_connect_times_out() -> None:
    net = Net(faults_a=Faults(drop=1.0))
    with net.sched:
        conn = net.a.tcp.connect(A_IP, B_IP, 80)
    net.run(lambda: conn.state == State.CLOSED, limit=1000)
    assert isinstance(conn.error, Timeout)
    assert conn.retries == conn.config.syn_retries + 1
    assert net.clock.time - 1000 > 60  # exponential backoff from 1 s (RFC 6298 5.5)


def test_data_retransmission_gives_up_with_timeout() -> None:
    net = Net(faults_a=Faults(drop=0.0))
    client, _server = net.pair()
    assert net.faulty is not None
    net.faulty.faults.drop = 1.0  # the link dies
    with net.sched:
        client.send(b"x" * 1000)
    net.run(lambda: client.state == State.CLOSED, limit=5000)
    assert isinstance(client.error, Timeout)


def test_half_close_both_ways_and_time_wait() -> None:
    net = Net(config_a=StackConfig(tcp=TcpConfig(time_wait=5.0)))
    client, server = net.pair()
    with net.sched:
        client.send(b"request")
        client.shutdown()
    net.run(lambda: server.rcv_eof)
    assert client.state == State.FIN_WAIT_2 and server.state == State.CLOSE_WAIT
    with net.sched:
        assert server.recv(100) == b"request"
        assert server.recv(100) == b""
        server.send(b"response after the client's FIN")
        server.shutdown()
        assert server.state == State.LAST_ACK
    net.run(lambda: client.rcv_eof and server.state == State.CLOSED)
    assert client.state == State.TIME_WAIT
    assert client.recv(100) == b"response after the client's FIN"
    net.run(lambda: client.key not in net.a.tcp.connections, limit=10)
    assert client.state == State.CLOSED and client.error is None


def test_simultaneous_close_goes_through_closing() -> None:
    net = Net()
    client, server = net.pair()
    with net.sched:
        client.shutdown()
        server.shutdown()
        assert client.state == server.state == State.FIN_WAIT_1
    net.run(lambda: client.state == server.state == State.TIME_WAIT)


def test_close_with_unread_data_sends_rst() -> None:
    net = Net()
    client, server = net.pair()
    with net.sched:
        client.send(b"unread")
    net.run(lambda: server.rcv_buffered == 6)
    with net.sched:
        server.close()  # RFC 1122 4.2.2.13
    net.run(lambda: client.state == State.CLOSED)
    assert isinstance(client.error, ConnectionReset)


def test_abort_resets_peer() -> None:
    net = Net()
    client, server = net.pair()
    with net.sched:
        client.abort()
    net.run(lambda: server.state == State.CLOSED)
    assert isinstance(server.error, ConnectionReset)


def _inject(
    net: Net, seq: int, ack: int, flags: int, payload: bytes = b"", sport: int = 0, dport: int = 80
) -> None:
    seg = tcp.segment(A_IP, B_IP, sport, dport, seq, ack, flags, 1000, payload)
    with net.sched:
        net.a.ip_output(A_IP, B_IP, 6, seg)


def test_rfc5961_blind_rst_and_syn_get_challenge_acks() -> None:
    net = Net()
    client, server = net.pair()
    acks_before = net.b.counters["frames_out"]
    # RST inside the window but not at RCV.NXT: a challenge ACK, connection survives
    _inject(net, server.rcv_nxt + 10, 0, RST, sport=client.lport)
    net.run(lambda: net.sched.idle)
    assert server.state == State.ESTABLISHED
    assert net.b.counters["frames_out"] == acks_before + 1
    # RST far outside the window: silently dropped
    _inject(net, server.rcv_nxt + (1 << 30), 0, RST, sport=client.lport)
    assert server.state == State.ESTABLISHED
    assert net.b.counters["frames_out"] == acks_before + 1
    # a SYN on an established connection: challenge ACK too (RFC 5961 4.2)
    _inject(net, server.rcv_nxt, 0, SYN, sport=client.lport)
    assert server.state == State.ESTABLISHED
    assert net.b.counters["frames_out"] == acks_before + 2
    # ACK of data never sent: ACK back, drop (RFC 5961 5.2)
    _inject(net, server.rcv_nxt, server.snd_nxt + 5000, ACK, b"zz", sport=client.lport)
    assert server.rcv_buffered == 0
    # the exact RST: reset
    _inject(net, server.rcv_nxt, 0, RST, sport=client.lport)
    assert server.state == State.CLOSED and isinstance(server.error, ConnectionReset)


def test_challenge_acks_are_rate_limited() -> None:
    net = Net(config_b=StackConfig(tcp=TcpConfig(challenge_ack_limit=5)))
    client, server = net.pair()
    before = net.b.counters["frames_out"]
    for i in range(20):
        _inject(net, server.rcv_nxt + 1 + i, 0, RST, sport=client.lport)
    assert net.b.counters["frames_out"] - before == 5


def test_backlog_bounds_half_open_connections() -> None:
    net = Net()
    listener = net.b.tcp.listen(0, 80, 3)
    net.a.tcp._closed_input = lambda *args: None  # type: ignore[method-assign]
    for i in range(10):  # a SYN flood from spoofed ports: no ACKs follow
        _inject(net, 1000 * i, 0, SYN, sport=2000 + i)
    assert listener.half_open == 3
    assert net.b.tcp.dropped == 7


def test_ports_in_use_and_ephemeral_exhaustion(monkeypatch: pytest.MonkeyPatch) -> None:
    net = Net()
    net.b.tcp.listen(0, 80, 1)
    with pytest.raises(AddressInUse):
        net.b.tcp.listen(B_IP, 80, 1)
    monkeypatch.setattr(tcp.layer, "EPHEMERAL_LOW", 60000)
    monkeypatch.setattr(tcp.layer, "EPHEMERAL_HIGH", 60003)
    ports = set()
    with net.sched:
        for _ in range(4):
            ports.add(net.a.tcp.connect(A_IP, B_IP, 80).lport)
        assert ports == {60000, 60001, 60002, 60003}
        with pytest.raises(AddressUnavailable, match="ephemeral"):
            net.a.tcp.connect(A_IP, B_IP, 80)


def test_fast_retransmit_recovers_a_single_loss_without_timeout() -> None:
    net = Net()
    client, server = net.pair()
    data = random.Random(9).randbytes(200_000)
    original = net.switch._transmit
    dropped: list[int] = []

    def drop_one(src: object, frame: bytes) -> None:
        if not dropped and len(frame) > 1000 and src is net.switch.ports[0]:
            dropped.append(len(frame))
            return
        original(src, frame)  # type: ignore[arg-type]

    net.switch._transmit = drop_one  # type: ignore[method-assign]
    start = net.clock.time
    assert transfer(net, client, server, data) == data
    assert dropped and client.timers.rto is not None
    assert net.clock.time - start < client.config.rto_min  # no retransmission timeout
    assert client.cc.ssthresh < 1 << 30  # fast recovery happened (RFC 5681 3.2)


def test_nagle_holds_small_segments_until_acked() -> None:
    net = Net(config_a=StackConfig(tcp=TcpConfig(nagle=True)))
    client, server = net.pair()
    frames = net.switch.frames
    with net.sched:
        client.send(b"a")
        client.send(b"b")
        client.send(b"c")
        # only the first small segment left; the rest waits for its ACK (RFC 9293 3.7.4)
        assert client.snd_nxt - client.snd_una == 1
    net.run(lambda: server.rcv_buffered == 3)
    assert net.switch.frames > frames
    assert server.recv(10) == b"abc"


def test_delayed_ack_fires_for_a_lone_small_segment() -> None:
    net = Net()
    client, server = net.pair()
    with net.sched:
        client.send(b"ping")
    assert server.rcv_buffered == 4 and server.timers.delack.running
    assert client.snd_una < client.snd_nxt
    net.run(lambda: client.snd_una == client.snd_nxt)
    assert net.clock.time - 1000 >= server.config.delayed_ack - 1e-9


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_faults_never_corrupt_the_stream(seed: int) -> None:
    faults = Faults(drop=0.03, duplicate=0.03, reorder=0.05, corrupt=0.02, jitter=0.002, seed=seed)
    net = Net(faults_a=faults)
    client, server = net.pair()
    up = random.Random(seed).randbytes(500_000)
    down = random.Random(seed + 100).randbytes(500_000)
    assert hashlib.sha256(transfer(net, client, server, up)).digest() == hashlib.sha256(up).digest()
    assert transfer(net, server, client, down) == down
    assert net.sched.errors == 0
    assert net.faulty is not None and net.faulty.stats["out"]["corrupted"] > 0


def test_closed_connection_is_not_held_open_by_a_peer_that_never_reads() -> None:
    net = Net(config_b=StackConfig(tcp=TcpConfig(rcvbuf=32 * 1024)))
    client, server = net.pair()
    with net.sched:
        client.send(b"z" * 200_000)
    net.run(lambda: client.snd_wnd == 0 and client.timers.persist.running)
    with net.sched:
        client.close()  # orphaned with unsent data and a closed window
    net.run(lambda: client.state == State.CLOSED, limit=3600)
    assert isinstance(client.error, Timeout)
    assert client.key not in net.a.tcp.connections
    net.run(lambda: server.state == State.CLOSED)
    assert isinstance(server.error, ConnectionReset)


def _drop_first(net: Net, flags_mask: int, *, count: int = 1) -> list[int]:
    """Drop the first ``count`` TCP segments whose flags include ``flags_mask``."""
    original = net.switch._transmit
    dropped: list[int] = []

    def maybe_drop(src: object, frame: bytes) -> None:
        is_tcp = len(frame) >= 54 and frame[12:14] == b"\x08\x00" and frame[23] == 6
        if is_tcp and len(dropped) < count:
            flags = frame[14 + (frame[14] & 15) * 4 + 13]
            if flags & flags_mask == flags_mask:
                dropped.append(flags)
                return
        original(src, frame)  # type: ignore[arg-type]

    net.switch._transmit = maybe_drop  # type: ignore[method-assign]
    return dropped


@pytest.mark.parametrize(
    ("what", "mask"),
    [("syn", SYN), ("syn-ack", SYN | ACK), ("fin", tcp.FIN)],
)
def test_lost_control_segments_are_retransmitted(what: str, mask: int) -> None:
    net = Net()
    dropped = _drop_first(net, mask)
    client, server = net.pair()
    assert transfer(net, client, server, b"after a lost " + what.encode()) == (
        b"after a lost " + what.encode()
    )
    assert dropped, f"no {what} was dropped"
    assert client.state == State.FIN_WAIT_2 and server.state == State.CLOSE_WAIT


def test_lost_handshake_ack_is_recovered_by_the_first_data_segment() -> None:
    net = Net()
    listener = net.b.tcp.listen(0, 80, 4)
    original = net.switch._transmit
    state = {"dropped": False}

    def drop_bare_ack(src: object, frame: bytes) -> None:
        # the client's third handshake segment: a bare ACK right after the SYN-ACK
        bare = len(frame) == 54 + 12  # headers and a timestamps option (RFC 7323)
        if not state["dropped"] and bare and src is net.switch.ports[0]:
            state["dropped"] = True
            return
        original(src, frame)  # type: ignore[arg-type]

    net.switch._transmit = drop_bare_ack  # type: ignore[method-assign]
    with net.sched:
        client = net.a.tcp.connect(A_IP, B_IP, 80)
    net.run(lambda: client.state == State.ESTABLISHED)
    assert state["dropped"] and not listener.queue
    with net.sched:
        client.send(b"data completes the handshake")
    net.run(lambda: bool(listener.queue))
    server = listener.accept()
    assert server is not None and server.recv(100) == b"data completes the handshake"


def test_simultaneous_open() -> None:
    net = Net()
    net.a.tcp._isn = lambda key: 1000
    net.b.tcp._isn = lambda key: 5000
    with net.sched:
        # both ends actively open the same 4-tuple at once (RFC 9293 figure 8)
        a = tcp.Connection(net.a.tcp, (A_IP, 4000, B_IP, 5000), 1460, 1000)
        b = tcp.Connection(net.b.tcp, (B_IP, 5000, A_IP, 4000), 1460, 5000)
        for conn, layer in ((a, net.a.tcp), (b, net.b.tcp)):
            layer.connections[conn.key] = conn
            conn.state = State.SYN_SENT
            conn._send_syn()
    net.run(lambda: a.state == b.state == State.ESTABLISHED)
    assert transfer(net, a, b, b"crossed SYNs") == b"crossed SYNs"


def test_early_retransmit_recovers_a_short_flight_without_timeout() -> None:
    net = Net()
    client, server = net.pair()
    with net.sched:  # one round trip first, so the client knows the scaled window
        client.send(b"w")
    net.run(lambda: client.snd_una == client.snd_max)
    assert server.recv(1) == b"w"
    dropped = _drop_first(net, ACK)  # the next segment: the first of the two below
    data = b"x" * 2920  # two full segments, then nothing more to send
    start = net.clock.time
    with net.sched:
        client.send(data)
    net.run(lambda: server.rcv_buffered == len(data))
    assert dropped
    # RFC 5827: one duplicate ACK was enough (2 segments outstanding, nothing new to send)
    assert net.clock.time - start < client.config.rto_min
    assert server.recv(10_000) == data


def test_time_wait_connections_are_bounded() -> None:
    net = Net(config_a=StackConfig(tcp=TcpConfig(max_time_wait=3)))
    listener = net.b.tcp.listen(0, 80, 16)
    for _ in range(6):
        with net.sched:
            client = net.a.tcp.connect(A_IP, B_IP, 80)
        net.run(lambda: bool(listener.queue))
        server = listener.accept()
        assert server is not None
        with net.sched:
            client.close()  # the active closer ends in TIME-WAIT
            server.close()
        net.run(lambda client=client: client.state in (State.TIME_WAIT, State.CLOSED))
    waiting = [c for c in net.a.tcp.connections.values() if c.state == State.TIME_WAIT]
    assert len(waiting) == 3


def _capture_from(net: Net, port_index: int) -> list[bytes]:
    """TCP/IPv4 frames sent by the stack on switch port ``port_index`` (0: a, 1: b).

    Only TCP is kept: the stacks also send IPv6 multicast listener reports at randomised
    times (RFC 3810 6.1), which would make counts and offsets depend on chance."""
    frames: list[bytes] = []
    original = net.switch._transmit

    def record(src: object, frame: bytes) -> None:
        if src is net.switch.ports[port_index] and frame[12:14] == b"\x08\x00" and frame[23] == 6:
            frames.append(frame)
        original(src, frame)  # type: ignore[arg-type]

    net.switch._transmit = record  # type: ignore[method-assign]
    return frames


def _drop_data_segments(net: Net, indexes: set[int]) -> list[int]:
    """Drop a's data segments number ``indexes`` (0-based, counting a's data only)."""
    original = net.switch._transmit
    seen = [0]
    dropped: list[int] = []

    def maybe_drop(src: object, frame: bytes) -> None:
        if src is net.switch.ports[0] and len(frame) > 54 + 100:
            n = seen[0]
            seen[0] += 1
            if n in indexes:
                dropped.append(n)
                return
        original(src, frame)  # type: ignore[arg-type]

    net.switch._transmit = maybe_drop  # type: ignore[method-assign]
    return dropped


def test_sack_blocks_describe_what_arrived_beyond_a_hole() -> None:
    net = Net()
    client, server = net.pair()
    assert client.sack_ok and server.sack_ok
    _drop_data_segments(net, {0})
    acks = _capture_from(net, 1)
    una = client.sndbuf.seq & tcp.MASK
    mss = client.mss
    with net.sched:
        client.send(b"s" * mss * 4)
    sacked = [tcp.parse(B_IP, A_IP, memoryview(f)[34:]) for f in acks]
    blocks = [tcp.parse_sack(seg.options) for seg in sacked]
    blocks = [b for b in blocks if b]
    assert blocks, "no SACK option in the receiver's duplicate ACKs"
    # RFC 2018 4: the first block covers the most recent segment; the hole is segment 0
    assert blocks[0] == [((una + mss) & tcp.MASK, (una + 2 * mss) & tcp.MASK)]
    assert blocks[-1][0] == ((una + mss) & tcp.MASK, (una + 4 * mss) & tcp.MASK)
    net.run(lambda: server.rcv_buffered == 4 * mss)


def _duplicate_data_segments(net: Net, indexes: set[int]) -> None:
    """Deliver a's data segments number ``indexes`` twice, back to back."""
    original = net.switch._transmit
    seen = [0]

    def twice(src: object, frame: bytes) -> None:
        if src is net.switch.ports[0] and len(frame) > 54 + 100:
            seen[0] += 1
            if seen[0] - 1 in indexes:
                original(src, frame)  # type: ignore[arg-type]
        original(src, frame)  # type: ignore[arg-type]

    net.switch._transmit = twice  # type: ignore[method-assign]


@pytest.mark.parametrize("lose_first", [False, True])
def test_duplicate_text_is_reported_by_a_dsack_block(lose_first: bool) -> None:
    """RFC 2883 4: the ACK for text that arrives again carries that range as its first
    SACK block: text already acknowledged (1), or held beyond a gap (2), and then the
    block that holds it."""
    net = Net()
    client, server = net.pair()
    if lose_first:
        _drop_data_segments(net, {0})
    _duplicate_data_segments(net, {2})
    acks = _capture_from(net, 1)
    una = client.sndbuf.seq
    mss = client.mss

    def block(first: int, last: int) -> tuple[int, int]:
        return (una + first * mss) & tcp.MASK, (una + last * mss) & tcp.MASK

    with net.sched:
        client.send(b"d" * mss * 4)
    net.run(lambda: server.rcv_buffered == 4 * mss)
    options = [tcp.parse_sack(tcp.parse(B_IP, A_IP, memoryview(f)[34:]).options) for f in acks]
    if lose_first:
        assert [block(2, 3), block(1, 3)] in options
    else:
        assert [block(2, 3)] in options
    # every other SACK option is an ordinary one, above the cumulative ACK
    assert sum(1 for blocks in options if blocks and blocks[0] == block(2, 3)) == 1
    assert server.recv(1 << 20) == b"d" * mss * 4
    assert client.loss_stats.dsacks == 1  # and the sender recognised it


def test_one_lost_segment_is_sent_again_once() -> None:
    """The only hole is the first segment: fast retransmit repairs it, and nothing else
    is resent (the rescue retransmission of RFC 6675 rule 4 once duplicated it, which the
    receiver's D-SACK showed)."""
    net = Net()
    client, server = net.pair()
    _drop_data_segments(net, {0})
    data = random.Random(9).randbytes(client.mss * 4)
    with net.sched:
        client.send(data)
    net.run(lambda: server.rcv_buffered == len(data))
    assert server.recv(1 << 20) == data
    stats = client.loss_stats
    assert (stats.retransmitted, stats.recoveries, stats.timeouts, stats.dsacks) == (1, 1, 0, 0)


def test_sack_is_only_used_when_both_sides_offer_it() -> None:
    net = Net(config_b=StackConfig(tcp=TcpConfig(sack=False)))
    client, server = net.pair()
    assert not client.sack_ok and not server.sack_ok
    _drop_data_segments(net, {0})
    acks = _capture_from(net, 1)
    with net.sched:
        client.send(b"s" * 1460 * 4)
    net.run(lambda: server.rcv_buffered == 4 * 1460)
    assert all(
        tcp.parse_sack(tcp.parse(B_IP, A_IP, memoryview(f)[34:]).options) == [] for f in acks
    )


def _repair_span(sack: bool) -> float:
    """Virtual seconds between the first and the last retransmission when segments 2, 5
    and 9 of 40 are lost, over a link with a 20 ms round trip."""
    config = StackConfig(tcp=TcpConfig(sack=sack))
    net = Net(faults_a=Faults(delay=0.01), config_a=config, config_b=config)
    client, server = net.pair()
    with net.sched:  # learn the scaled window first
        client.send(b"w")
    net.run(lambda: client.snd_una == client.snd_max)
    server.recv(1)
    dropped = _drop_data_segments(net, {2, 5, 9})
    seen: set[int] = set()
    resent: list[float] = []
    original = net.switch._transmit

    def watch(src: object, frame: bytes) -> None:
        if src is net.switch.ports[0] and len(frame) > 154:
            seq = int.from_bytes(frame[38:42], "big")
            if seq in seen:
                resent.append(net.clock.time)
            seen.add(seq)
        original(src, frame)  # type: ignore[arg-type]

    net.switch._transmit = watch  # type: ignore[method-assign]
    data = random.Random(4).randbytes(1460 * 40)
    assert transfer(net, client, server, data) == data
    assert dropped == [2, 5, 9] and len(resent) == 3
    assert client.sack_ok == sack
    return resent[-1] - resent[0]


def test_sack_repairs_several_losses_sooner_than_newreno() -> None:
    # NewReno learns of one hole per round trip from partial ACKs (RFC 6582); the
    # scoreboard shows the later holes while the first is being repaired (RFC 6675)
    with_sack = _repair_span(True)
    newreno = _repair_span(False)
    assert newreno >= 0.04 - 1e-9  # two more round trips after the first retransmission
    assert with_sack + 0.02 <= newreno + 1e-9


def _warm_net(delay: float = 0.01) -> tuple[Net, tcp.Connection, tcp.Connection]:
    """Two stacks with a 2*delay round trip and an RTT sample already taken."""
    net = Net(faults_a=Faults(delay=delay))
    client, server = net.pair()
    with net.sched:
        client.send(b"w")
    net.run(lambda: client.snd_una == client.snd_max)
    assert server.recv(1) == b"w" and client.rtt.srtt is not None
    return net, client, server


def _drop_seq(net: Net, nth_data: int, times: int) -> list[float]:
    """Drop a's ``nth_data`` data segment, and its retransmissions, ``times`` times."""
    original = net.switch._transmit
    state = {"count": 0, "seq": -1}
    dropped: list[float] = []

    def maybe_drop(src: object, frame: bytes) -> None:
        if src is net.switch.ports[0] and len(frame) > 154:
            seq = int.from_bytes(frame[38:42], "big")
            if state["count"] == nth_data:
                state["seq"] = seq
            state["count"] += 1
            if seq == state["seq"] and len(dropped) < times:
                dropped.append(net.clock.time)
                return
        original(src, frame)  # type: ignore[arg-type]

    net.switch._transmit = maybe_drop  # type: ignore[method-assign]
    return dropped


def test_tail_loss_probe_avoids_the_retransmission_timeout() -> None:
    net, client, server = _warm_net()
    _drop_data_segments(net, {3, 4})  # the last two of five: no duplicate ACKs follow
    data = random.Random(6).randbytes(client.mss * 5)
    start = net.clock.time
    with net.sched:
        client.send(data)
    net.run(lambda: server.rcv_buffered == len(data))
    # a probe after 2*SRTT (RFC 8985 7) instead of a 200 ms RTO
    assert net.clock.time - start < client.config.rto_min
    assert client.rtt.rto == pytest.approx(client.config.rto_min)  # never backed off
    assert server.recv(1 << 20) == data


def test_a_lost_retransmission_is_repaired_without_timeout() -> None:
    # Detected by SACK blocks covering data sent after the retransmission (alone enough
    # here), by the duplicate-ACK budget, or by a tail loss probe.
    net, client, server = _warm_net()
    dropped = _drop_seq(net, 2, times=2)  # segment 2 and its first retransmission
    data = random.Random(7).randbytes(1460 * 60)
    start = net.clock.time
    assert transfer(net, client, server, data) == data
    assert len(dropped) == 2
    assert dropped[1] - start < client.config.rto_min
    assert net.clock.time - start < client.config.rto_min  # no timeout at all


def test_a_hole_with_too_few_duplicate_acks_is_repaired_within_a_round_trip() -> None:
    """Four segments out, the first and the last lost: two duplicate ACKs, fewer than
    DupThresh, and too many segments for early retransmit (RFC 5827). RACK's reordering
    timer (RFC 8985 6.3) deems the first lost at once, before a tail loss probe (2*SRTT)
    or a timeout would."""
    net, client, server = _warm_net()
    _drop_data_segments(net, {0, 3})
    data = random.Random(8).randbytes(client.mss * 4)
    srtt = client.rtt.srtt
    assert srtt is not None
    start = net.clock.time
    with net.sched:
        client.send(data)
    net.run(lambda: server.rcv_buffered == len(data))
    assert server.recv(1 << 20) == data
    assert client.loss_stats.timeouts == 0
    assert net.clock.time - start < 2 * srtt + 0.5 * srtt  # repaired within ~2 RTTs


def test_tail_loss_probe_is_answered_at_once_by_a_delaying_receiver() -> None:
    """The peer's ACKs of a whole window are lost while more data waits on cwnd. The
    probe resends the last segment, which the receiver must answer at once (RFC 9293
    3.10.7.4), rather than a new one whose ACK it may delay (RFC 5681 4.2)."""
    net, client, server = _warm_net()
    original = net.switch._transmit
    a_data = [0]

    def lose_acks(src: object, frame: bytes) -> None:
        if src is net.switch.ports[0] and len(frame) > 154:
            a_data[0] += 1
        elif src is net.switch.ports[1] and a_data[0] <= 10:
            return  # every ACK of the first window
        original(src, frame)  # type: ignore[arg-type]

    net.switch._transmit = lose_acks  # type: ignore[method-assign]
    assert client.cc.cwnd < 11 * 1460  # ten segments go out, five wait
    data = random.Random(8).randbytes(1460 * 15)
    srtt = client.rtt.srtt
    assert srtt is not None
    start = net.clock.time
    with net.sched:
        client.send(data)
    net.run(lambda: server.rcv_buffered == len(data))
    # the probe after 2*SRTT, its answer one RTT later, the rest one more RTT: well under
    # the receiver's delayed-ACK time on top
    assert net.clock.time - start < 2 * srtt + 2 * 0.02 + server.config.delayed_ack / 2
    assert server.recv(1 << 20) == data


# -- timestamps (RFC 7323) ---------------------------------------------------------------


def _tcp_options(frames: list[bytes]) -> list[memoryview]:
    """The TCP options of the IPv4 TCP frames among ``frames``."""
    return [
        tcp.parse(
            int.from_bytes(f[26:30], "big"), int.from_bytes(f[30:34], "big"), memoryview(f)[34:]
        ).options
        for f in frames
        if f[12:14] == b"\x08\x00" and f[23] == 6
    ]


class _CountingRtt(RttEstimator):
    __slots__ = ("samples",)

    def __init__(self) -> None:
        super().__init__(1.0, 0.2, 60.0)
        self.samples: list[float] = []

    def sample(self, r: float, per_rtt: int = 1) -> None:
        self.samples.append(r)
        super().sample(r, per_rtt)


def test_timestamps_are_negotiated_and_carried_in_every_segment() -> None:
    net = Net()
    sent_by_b = _capture_from(net, 1)
    client, server = net.pair()
    assert client.ts_ok and server.ts_ok and client.mss == 1448
    with net.sched:
        client.send(b"x" * 5000)
    net.run(lambda: server.rcv_buffered == 5000)
    stamps = [tcp.parse_timestamp(opts) for opts in _tcp_options(sent_by_b)]
    assert len(stamps) >= 2 and all(s is not None for s in stamps)  # SYN-ACK, ACK
    # only answered when offered (RFC 7323 3.2): no option at all from the other side
    off = StackConfig(tcp=TcpConfig(timestamps=False))
    net = Net(config_b=off)
    sent_by_b = _capture_from(net, 1)
    client, server = net.pair()
    assert not client.ts_ok and not server.ts_ok and client.mss == 1460
    assert all(tcp.parse_timestamp(opts) is None for opts in _tcp_options(sent_by_b))


def test_paws_drops_a_segment_with_an_old_timestamp() -> None:
    """RFC 7323 5.3 R1: a segment whose TSval is older than TS.Recent is an old duplicate,
    acknowledged and dropped, even though its sequence number is acceptable."""
    net = Net()
    client, server = net.pair()
    with net.sched:
        client.send(b"first")
    net.run(lambda: server.rcv_buffered == 5)
    recent = server.ts_recent
    acks_before = net.b.counters["frames_out"]
    opts = tcp.options.timestamp_option(recent - 1000, 0)
    seg = tcp.segment(
        A_IP, B_IP, client.lport, 80, client.snd_nxt, client.rcv_nxt, tcp.ACK, 1000, b"old", opts
    )
    with net.sched:
        net.a.ip_output(A_IP, B_IP, 6, seg)
    net.run(lambda: net.sched.idle)
    assert server.rcv_buffered == 5 and server.paws_rejected == 1
    assert net.b.counters["frames_out"] == acks_before + 1  # the ACK in reply
    # the same segment with a current timestamp is taken
    opts = tcp.options.timestamp_option(recent + 1, 0)
    seg = tcp.segment(
        A_IP, B_IP, client.lport, 80, client.snd_nxt, client.rcv_nxt, tcp.ACK, 1000, b"new", opts
    )
    with net.sched:
        net.a.ip_output(A_IP, B_IP, 6, seg)
    net.run(lambda: server.rcv_buffered == 8)
    assert server.recv(100) == b"firstnew" and server.ts_recent == (recent + 1) & tcp.MASK


@pytest.mark.parametrize("timestamps", [True, False])
def test_rtt_samples_come_from_timestamps_on_every_ack(timestamps: bool) -> None:
    """RFC 7323 4: with timestamps every ACK of new data is a sample, retransmissions
    included; without them, one timed segment per round trip (RFC 6298 3)."""
    cfg = StackConfig(tcp=TcpConfig(timestamps=timestamps))
    # the jitter spreads arrivals over separate batches, so the receiver ACKs every
    # second segment rather than once per burst
    net = Net(faults_a=Faults(delay=0.01, jitter=0.0005, seed=2), config_a=cfg, config_b=cfg)
    client, server = net.pair()
    client.rtt = counting = _CountingRtt()
    samples = counting.samples
    data = random.Random(9).randbytes(client.mss * 40)
    assert transfer(net, client, server, data) == data
    srtt = client.rtt.srtt
    assert srtt is not None and 0.019 <= srtt <= 0.03  # 20 ms there and back, ms ticks
    if timestamps:
        assert len(samples) >= 10  # about one per two segments
        assert all(0.019 <= r <= 0.07 for r in samples)  # ms ticks, delayed ACKs
    else:
        assert 1 <= len(samples) <= 8  # a handful of round trips


def test_rescue_retransmission_repairs_the_tail_within_the_same_round_trip() -> None:
    """RFC 6675 NextSeg rule 4: with the first and the last segment of a window lost and
    nothing new to send, the last one (no SACK above it, so never "lost") is resent
    together with the first, not one round trip later after a partial ACK."""
    net, client, server = _warm_net()
    dropped = _drop_data_segments(net, {1, 9})
    sent = _capture_from(net, 0)
    data = random.Random(10).randbytes(client.mss * 10)
    start = net.clock.time
    with net.sched:
        client.send(data)
    net.run(lambda: server.rcv_buffered == len(data))
    assert dropped == [1, 9] and server.recv(1 << 20) == data
    # the window there (10 ms), the SACKs back (10 ms), both repairs there (10 ms); a
    # repair of the tail after the partial ACK would take another round trip (20 ms)
    assert net.clock.time - start < 0.04
    assert len(sent) == 12  # ten segments and two retransmissions, no probe
