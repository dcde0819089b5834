"""Checksum, Ethernet, ARP, IPv4 (fragmentation, reassembly), ICMP and UDP layers."""

from __future__ import annotations

import random
import struct

import pytest

from backends.mirage import arp, checksum, ethernet, icmp, ipv4, udp
from backends.mirage.errors import PacketError
from backends.mirage.sched import Scheduler, VirtualClock

from .harness import A_IP, B_IP, Net


def reference_checksum(data: bytes) -> int:
    """RFC 1071 section 4.1, word by word with end-around carry."""
    if len(data) % 2:
        data += b"\x00"
    total = 0
    for (word,) in struct.iter_unpack("!H", data):
        total += word
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


@pytest.mark.parametrize("size", [1, 2, 3, 20, 21, 1499, 1500, 65535])
def test_checksum_matches_rfc1071_reference(size: int) -> None:
    rng = random.Random(size)
    for _ in range(20):
        data = rng.randbytes(size)
        ours = checksum.checksum(data)
        ref = reference_checksum(data)
        # 0x0000 and 0xFFFF are the two zeros of one's complement; ours never emits 0
        assert ours == ref or (ref == 0 and ours == 0xFFFF)
        if size % 2 == 0:
            assert checksum.verify(checksum.partial(data + ours.to_bytes(2, "big")))


def test_checksum_partials_add_up_over_even_pieces() -> None:
    data = bytes(range(256)) * 9 + b"\x07"
    whole = checksum.partial(data)
    split = checksum.partial(data[:100]) + checksum.partial(data[100:])
    assert whole % 0xFFFF == split % 0xFFFF


def test_ethernet_round_trip_and_errors() -> None:
    mac = ethernet.parse_mac("02:00:5e:10:00:01")
    frame = ethernet.header(ethernet.BROADCAST, mac, ethernet.TYPE_ARP) + b"x"
    assert ethernet.parse(frame) == (ethernet.BROADCAST, mac, ethernet.TYPE_ARP)
    assert ethernet.mac_to_str(mac) == "02:00:5e:10:00:01"
    with pytest.raises(PacketError, match="shorter"):
        ethernet.parse(b"\x00" * 13)
    with pytest.raises(PacketError, match=r"802\.3"):
        ethernet.parse(ethernet.header(mac, mac, 100))
    with pytest.raises(ValueError, match="MAC"):
        ethernet.parse_mac("02:00")
    random_mac = ethernet.random_mac(random.Random(1))
    assert random_mac[0] & 3 == 2  # locally administered unicast


def test_arp_request_reply_cache_and_expiry() -> None:
    clock = VirtualClock()
    sched = Scheduler(clock)
    sent: list[bytes] = []
    sizes: list[int] = []

    def send(frame: bytes, gso_size: int = 0) -> None:
        sent.append(frame)
        sizes.append(gso_size)

    mac = b"\x02\x00\x00\x00\x00\x01"
    peer = b"\x02\x00\x00\x00\x00\x02"
    table = arp.Arp(sched, mac, A_IP, send, arp.ArpConfig(entry_lifetime=10.0))
    table.output(B_IP, b"packet-1")
    table.output(B_IP, b"packet-2", 1448)  # a segment for the device to cut: it waits too
    assert len(sent) == 1  # one request, both packets wait
    dst, _src, kind = ethernet.parse(sent[0])
    assert dst == ethernet.BROADCAST and kind == ethernet.TYPE_ARP
    op, sha, spa, _tha, tpa = arp.parse(sent[0][14:])
    assert (op, sha, spa, tpa) == (arp.OP_REQUEST, mac, A_IP, B_IP)
    table.input(arp.packet(arp.OP_REPLY, peer, B_IP, mac, A_IP))
    assert [f[14:] for f in sent[1:]] == [b"packet-1", b"packet-2"]
    assert sizes == [0, 0, 1448]  # each leaves with its own gso_size
    assert all(f[:6] == peer for f in sent[1:])
    assert table.lookup(B_IP) == peer
    clock.time += 11
    assert table.lookup(B_IP) is None  # expired


def test_arp_retries_then_drops_and_answers_requests() -> None:
    clock = VirtualClock()
    sched = Scheduler(clock)
    sent: list[bytes] = []

    def send(frame: bytes, gso_size: int = 0) -> None:
        sent.append(frame)

    mac = b"\x02\x00\x00\x00\x00\x01"
    table = arp.Arp(sched, mac, A_IP, send)
    table.output(B_IP, b"lost")
    clock.run(sched, lambda: False, limit=10)
    assert len(sent) == table.config.retries
    assert table.dropped == 1
    sent.clear()
    asker = b"\x02\x00\x00\x00\x00\x09"
    table.input(arp.packet(arp.OP_REQUEST, asker, B_IP, b"\x00" * 6, A_IP))
    assert len(sent) == 1 and sent[0][:6] == asker
    assert arp.parse(sent[0][14:])[0] == arp.OP_REPLY
    assert table.lookup(B_IP) == asker  # RFC 826: the asker is learned
    table.announce()
    assert arp.parse(sent[-1][14:])[4] == A_IP  # gratuitous: target is ourselves
    with pytest.raises(PacketError):
        arp.parse(b"\x00" * 27)


def test_ipv4_header_checksum_and_errors() -> None:
    head = ipv4.header(A_IP, B_IP, ipv4.PROTO_UDP, 4, 7)
    pkt = ipv4.parse(memoryview(head + b"data"))
    assert (pkt.src, pkt.dst, pkt.proto, bytes(pkt.payload)) == (A_IP, B_IP, 17, b"data")
    bad = bytearray(head + b"data")
    bad[8] ^= 1  # TTL changed without the checksum
    with pytest.raises(PacketError, match="checksum"):
        ipv4.parse(memoryview(bytes(bad)))
    with pytest.raises(PacketError, match="total length"):
        ipv4.parse(memoryview(head))
    with pytest.raises(ValueError, match="prefix"):
        ipv4.parse_interface("10.0.0.1")
    assert ipv4.parse_interface("10.0.0.1/8") == (ipv4.ip_to_int("10.0.0.1"), 8)


def test_fragment_and_reassemble_in_any_order() -> None:
    clock = VirtualClock()
    sched = Scheduler(clock)
    payload = random.Random(3).randbytes(20000)
    frags = ipv4.fragment(A_IP, B_IP, ipv4.PROTO_UDP, payload, 99, 1500)
    assert len(frags) == 14 and all(len(f) <= 1500 for f in frags)
    random.Random(4).shuffle(frags)
    asm = ipv4.Reassembler(sched)
    results = [asm.add(ipv4.parse(memoryview(f))) for f in frags]
    assert results[:-1] == [None] * 13 and results[-1] == payload


def test_reassembly_limits_overlap_and_timeout() -> None:
    clock = VirtualClock()
    sched = Scheduler(clock)
    asm = ipv4.Reassembler(sched, timeout=5.0, max_datagrams=2)
    frags = ipv4.fragment(A_IP, B_IP, ipv4.PROTO_UDP, b"x" * 3000, 1, 1500)
    assert asm.add(ipv4.parse(memoryview(frags[0]))) is None
    clock.time += 6  # the first piece expires
    assert asm.add(ipv4.parse(memoryview(frags[1]))) is None
    assert asm.add(ipv4.parse(memoryview(frags[2]))) is None  # still missing piece 0
    assert asm.dropped == 1
    overlapping = ipv4.header(A_IP, B_IP, 17, 16, 2, more=True, offset=0) + b"a" * 16
    overlapping2 = ipv4.header(A_IP, B_IP, 17, 16, 2, more=False, offset=8) + b"b" * 16
    assert asm.add(ipv4.parse(memoryview(overlapping))) is None
    assert asm.add(ipv4.parse(memoryview(overlapping2))) is None
    for ident in range(10, 20):  # more datagrams than allowed: the oldest go
        asm.add(ipv4.parse(memoryview(ipv4.fragment(A_IP, B_IP, 17, b"y" * 2000, ident, 1500)[0])))
    assert len(asm._partials) <= 2


def test_udp_checksum_and_zero_checksum() -> None:
    dgram = udp.datagram(A_IP, B_IP, 1000, 53, b"query")
    assert udp.parse(A_IP, B_IP, memoryview(dgram)) == (1000, 53, memoryview(b"query"))
    corrupt = bytearray(dgram)
    corrupt[-1] ^= 0x40
    with pytest.raises(PacketError, match="checksum"):
        udp.parse(A_IP, B_IP, memoryview(bytes(corrupt)))
    no_sum = dgram[:6] + b"\x00\x00" + dgram[8:]
    assert udp.parse(A_IP, B_IP, memoryview(no_sum))[1] == 53  # RFC 768: zero = none


def test_icmp_echo_and_port_unreachable_between_stacks() -> None:
    net = Net()
    sock = net.a.udp_bind(0, 0)
    # echo: a sends a request to b by hand, b answers, a's ICMP input sees the reply
    with net.sched:
        net.a.ip_output(
            A_IP,
            B_IP,
            ipv4.PROTO_ICMP,
            icmp.message(icmp.ECHO_REQUEST, 0, b"\x12\x34\x00\x01hello"),
        )
    net.run(lambda: net.b.counters["echo"] == 1)
    # port unreachable: b has nothing on port 9
    before = net.b.counters["frames_out"]
    with net.sched:
        sock.send(b"anyone?", B_IP, 9)
    net.run(lambda: net.b.counters["frames_out"] > before)  # b answered with ICMP
    assert net.sched.errors == 0
    kind, code, rest = icmp.parse(
        memoryview(
            icmp.port_unreachable(
                memoryview(ipv4.header(A_IP, B_IP, 17, 8, 1)), memoryview(b"12345678")
            )
        )
    )
    assert (kind, code, len(rest)) == (icmp.DEST_UNREACHABLE, 3, 4 + 20 + 8)
    assert icmp.is_error(icmp.DEST_UNREACHABLE) and not icmp.is_error(icmp.ECHO_REQUEST)
    limit = icmp.RateLimit(rate=1.0, burst=2.0)
    assert [limit.allow(0.0) for _ in range(3)] == [True, True, False]
    assert limit.allow(1.5)


def test_udp_between_stacks_with_fragmentation() -> None:
    net = Net()
    a = net.a.udp_bind(0, 0)
    b = net.b.udp_bind(0, 5353)
    big = random.Random(5).randbytes(udp.MAX_PAYLOAD)
    with net.sched:
        a.send(b"small", B_IP, 5353)
        a.send(big, B_IP, 5353)
    net.run(lambda: len(b.queue) == 2)
    assert b.queue[0] == (b"small", (A_IP, a.port))
    assert b.queue[1][0] == big
    from backends.errors import AddressInUse, AddressUnavailable

    with pytest.raises(AddressInUse):
        net.b.udp_bind(0, 5353)
    with pytest.raises(AddressUnavailable, match="not an address of this stack"):
        net.b.udp_bind(ipv4.ip_to_int("10.9.9.9"), 1)


def test_ipv4_header_from_a_fixed_sum_is_the_header() -> None:
    rng = random.Random(4)
    for _ in range(200):
        src, dst = rng.getrandbits(32), rng.getrandbits(32)
        proto, ttl, df = rng.choice((6, 17)), rng.randrange(1, 256), rng.random() < 0.5
        length, ident = rng.randrange(0, 65516), rng.getrandbits(16)
        base = ipv4.header_sum(src, dst, proto, ttl=ttl, df=df)
        made = ipv4.header_from_sum(base, src, dst, proto, length, ident, ttl=ttl, df=df)
        assert made == ipv4.header(src, dst, proto, length, ident, ttl=ttl, df=df)


def test_tcp_frames_follow_the_arp_entry_they_were_built_from() -> None:
    net = Net()
    client, server = net.pair()
    frames: list[bytes] = []
    port = net.a.netif
    assert port is not None
    send = port.send

    def record(frame: bytes, gso_size: int = 0) -> None:
        frames.append(frame)
        send(frame, gso_size)

    port.send = record  # type: ignore[method-assign]
    with net.sched:
        client.send(b"one")
    net.run(lambda: server.rcv_buffered == 3)
    assert net.a._tcp_routes  # the route is known: built from the cache
    mac = net.a.arp.cache[B_IP][0] if net.a.arp is not None else b""
    assert frames[-1][:6] == mac
    # the peer's MAC changes (a gratuitous ARP, RFC 5227 3): the next segment follows it
    assert net.a.arp is not None
    net.a.arp.add(B_IP, b"\x02\x00\x00\x00\x00\x99")
    with net.sched:
        client.send(b"two")
    assert frames[-1][:6] == b"\x02\x00\x00\x00\x00\x99"
    # and an expired entry is not used: the segment waits for ARP to ask again, and
    # leaves once the answer came
    count = len(frames)
    net.clock.time += net.a.arp.config.entry_lifetime + 1
    with net.sched:
        client.send(b"three")
    kinds = [f[12:14] for f in frames[count:]]
    assert kinds == [b"\x08\x06", b"\x08\x00"]  # the request, then the segment
    assert frames[-1][:6] == net.a.arp.cache[B_IP][0] != b"\x02\x00\x00\x00\x00\x99"
