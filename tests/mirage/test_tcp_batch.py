"""ACKs read together act together: the sender sends once at the end of an input batch
(after every ACK and SACK block of the batch is in), entering recovery first sends what
the batch's earlier ACKs let out (so the recovery point covers it, RFC 6582 3.2), and an
RFC 6675 recovery ends with cwnd at ssthresh."""

from __future__ import annotations

import random

from backends.mirage import ethernet, ipv4
from backends.mirage.tcp import Connection
from backends.mirage.tcp.options import sack_option, timestamp_option
from backends.mirage.tcp.wire import ACK, segment

from .harness import A_IP, B_IP, Net


def _window_out(segments: int = 12) -> tuple[Net, Connection, Connection]:
    """The client has a window of at least ``segments`` full segments out (none of which
    reach the server) and more queued behind it."""
    net = Net()
    client, server = net.pair()
    with net.sched:  # grow the window first
        client.send(random.Random(1).randbytes(client.mss * 40))
    net.run(lambda: client.snd_una == client.snd_max)
    server.recv(1 << 20)
    original = net.switch._transmit

    def lose_data(src: object, frame: bytes) -> None:
        if not (src is net.switch.ports[0] and len(frame) > 1000):
            original(src, frame)  # type: ignore[arg-type]

    net.switch._transmit = lose_data  # type: ignore[method-assign]
    with net.sched:
        client.send(random.Random(2).randbytes(client.mss * segments * 4))
    assert client.snd_max - client.snd_una >= segments * client.mss
    return net, client, server


def _ack(net: Net, client: Connection, server: Connection, upto: int, sacked: int = 0) -> bytes:
    """The server's ACK of the client's first ``upto`` segments out, SACKing the
    ``sacked`` after a hole of one segment (a frame from the wire)."""
    mss = client.mss
    ack = client.snd_una + upto * mss
    options = timestamp_option(server._ts_now(), client._ts_now())
    if sacked:
        left = ack + mss
        options += sack_option([(left, left + sacked * mss)])
    seg = segment(B_IP, A_IP, server.lport, server.rport, server.snd_nxt, ack, ACK, 8192,
                  b"", options)  # fmt: skip
    packet = ipv4.header(B_IP, A_IP, ipv4.PROTO_TCP, len(seg), 1) + seg
    return ethernet.header(net.a.netif.mac, net.b.netif.mac, ethernet.TYPE_IPV4) + packet


def test_a_batch_of_acks_sends_once_at_its_end() -> None:
    net, client, server = _window_out()
    before = client.snd_max
    una = client.snd_una
    frames = [_ack(net, client, server, n) for n in range(1, 9)]
    with net.sched:
        for frame in frames:
            net.a.frame_input(frame)
        # every ACK is taken in, nothing is sent yet
        assert client.snd_una == una + 8 * client.mss
        assert client.snd_max == before
    # the batch ended: what the ACKs opened went out, in one pass
    assert client.snd_max > before
    assert client.snd_max - client.snd_una <= client.cc.cwnd


def test_recovery_point_covers_what_the_batchs_earlier_acks_sent() -> None:
    net, client, server = _window_out()
    before = client.snd_max
    # five new ACKs, then the sixth segment is missing: duplicates SACK the ones after it
    frames = [_ack(net, client, server, n) for n in range(1, 6)]
    frames += [_ack(net, client, server, 5, sacked) for sacked in range(1, 5)]
    with net.sched:
        for frame in frames:
            net.a.frame_input(frame)
        assert client.in_recovery
        # what the five new ACKs allowed went out before the recovery began, and the
        # recovery point (SND.MAX then) covers it: a loss among those segments is this
        # same congestion event (RFC 6582 3.2), not a second one
        assert client.recover > before
    assert client.loss_stats.recoveries == 1


def test_sack_recovery_ends_with_cwnd_at_ssthresh() -> None:
    net, client, server = _window_out()
    frames = [_ack(net, client, server, 0, sacked) for sacked in range(1, 5)]
    with net.sched:
        for frame in frames:
            net.a.frame_input(frame)
    assert client.in_recovery and client.sack_ok
    ssthresh = client.cc.ssthresh
    # one ACK of everything sent (the batch's sends included): the recovery ends with
    # FlightSize zero
    everything = (client.snd_max - client.snd_una) // client.mss
    with net.sched:
        net.a.frame_input(_ack(net, client, server, everything))
        assert not client.in_recovery
        assert client.snd_una == client.snd_max
        # RFC 6675 set cwnd to ssthresh when the recovery began and never inflated it;
        # it is not deflated to FlightSize + SMSS (NewReno's option), which would
        # restart from two segments whenever one batch's ACKs covered everything sent
        assert client.cc.cwnd == ssthresh > 2 * client.mss


def test_the_window_field_is_recomputed_when_the_receive_side_changes() -> None:
    net = Net()
    client, server = net.pair()

    def fresh() -> int:
        server._wnd_nxt = -1  # what the field would be without the saved one
        return server._window_field(False)

    data = random.Random(5).randbytes(300_000)
    with net.sched:
        client.send(data)
    net.run(lambda: server.rcv_buffered >= 200_000)
    seen = [server._window_field(False)]
    assert seen[-1] == server._window_field(False) == fresh()
    server.recv(150_000)  # the application read: more room
    seen.append(server._window_field(False))
    assert seen[-1] == fresh()
    assert seen[-1] > seen[0]
    net.run(lambda: server.rcv_buffered + 150_000 >= len(data))
    assert server._window_field(False) == fresh()
