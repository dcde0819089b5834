"""IPv6, ICMPv6 and Neighbor Discovery on the sans-IO stack: the parsers against
malformed packets and their limits, then stacks on an in-memory switch (virtual clock)
talking TCP and UDP over IPv6, with a raw port on the switch playing router or attacker.
"""

from __future__ import annotations

import hashlib
import random
import struct

import pytest

from backends.mirage import checksum, ethernet, icmpv6, ipv6, ndp, udp
from backends.mirage.errors import PacketError
from backends.mirage.ipv4 import ip_to_int
from backends.mirage.netif import Switch, SwitchPort
from backends.mirage.sched import Scheduler, VirtualClock
from backends.mirage.stack import Stack, StackConfig

from .harness import transfer
from .test_fuzz import _mutate

A6 = ipv6.to_int("2001:db8::a")
B6 = ipv6.to_int("2001:db8::b")
ROUTER_MAC = bytes.fromhex("020000000001")
ROUTER_LL = ipv6.to_int("fe80::1")


def packet(src: int, dst: int, nh: int, payload: bytes, hops: int = 64) -> bytes:
    return ipv6.header(src, dst, nh, len(payload), hops) + payload


# -- ipv6.parse ----------------------------------------------------------------------------


def test_parse_plain_packet_and_link_padding() -> None:
    raw = packet(A6, B6, ipv6.UDP, b"12345678") + b"\x00" * 6  # Ethernet padding
    pkt = ipv6.parse(memoryview(raw))
    assert (pkt.src, pkt.dst, pkt.next_header, pkt.hop_limit) == (A6, B6, ipv6.UDP, 64)
    assert bytes(pkt.payload) == b"12345678"
    assert len(pkt.packet) == 48 and pkt.fragment is None


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"\x60" + b"\x00" * 20, "shorter than a header"),
        (b"\x40" + b"\x00" * 39, "version 4"),
        (ipv6.header(A6, B6, ipv6.UDP, 100, 64) + b"x" * 10, "payload length 100"),
        (ipv6.header(A6, B6, ipv6.HOPOPT, 0, 64), "jumbograms"),
    ],
)
def test_parse_rejects_malformed(raw: bytes, message: str) -> None:
    with pytest.raises(PacketError, match=message):
        ipv6.parse(memoryview(raw))


def _hop_by_hop(nh: int, options: bytes) -> bytes:
    body = bytes([nh, 0]) + options
    assert len(body) % 8 == 0
    return bytes([nh, len(body) // 8 - 1]) + options


def test_extension_headers_skipped_to_the_upper_layer() -> None:
    hbh = _hop_by_hop(ipv6.DSTOPTS, b"\x01\x04\x00\x00\x00\x00")  # PadN
    dst_opts = bytes([ipv6.ROUTING, 0]) + b"\x00" + b"\x01\x03\x00\x00\x00"  # Pad1, PadN
    routing = bytes([ipv6.UDP, 0, 0, 0]) + b"\x00" * 4  # segments left 0: ignored
    raw = packet(A6, B6, ipv6.HOPOPT, hbh + dst_opts + routing + b"data")
    pkt = ipv6.parse(memoryview(raw))
    assert pkt.next_header == ipv6.UDP and bytes(pkt.payload) == b"data"


def test_unknown_options_follow_their_action_bits() -> None:
    # RFC 8200 §4.2: 00 skip, 01 discard, 10 discard + Parameter Problem code 2
    skip = packet(A6, B6, ipv6.HOPOPT, _hop_by_hop(ipv6.UDP, b"\x1e\x04\x00\x00\x00\x00"))
    assert ipv6.parse(memoryview(skip)).next_header == ipv6.UDP
    discard = packet(A6, B6, ipv6.HOPOPT, _hop_by_hop(ipv6.UDP, b"\x5e\x04\x00\x00\x00\x00"))
    with pytest.raises(PacketError, match="discard"):
        ipv6.parse(memoryview(discard))
    answer = packet(A6, B6, ipv6.HOPOPT, _hop_by_hop(ipv6.UDP, b"\x9e\x04\x00\x00\x00\x00"))
    with pytest.raises(ipv6.ParameterProblem) as info:
        ipv6.parse(memoryview(answer))
    assert (info.value.code, info.value.pointer) == (ipv6.PP_OPTION, 42)


def test_option_past_its_header_and_misplaced_hop_by_hop() -> None:
    bad = packet(A6, B6, ipv6.HOPOPT, _hop_by_hop(ipv6.UDP, b"\x01\x09\x00\x00\x00\x00"))
    with pytest.raises(ipv6.ParameterProblem, match="past its header"):
        ipv6.parse(memoryview(bad))
    late = bytes([ipv6.HOPOPT, 0]) + b"\x01\x04\x00\x00\x00\x00"
    late += _hop_by_hop(ipv6.UDP, b"\x01\x04\x00\x00\x00\x00")
    with pytest.raises(ipv6.ParameterProblem, match="misplaced") as info:
        ipv6.parse(memoryview(packet(A6, B6, ipv6.DSTOPTS, late)))
    assert info.value.code == ipv6.PP_NEXT_HEADER


def test_routing_header_with_segments_left_is_a_parameter_problem() -> None:
    routing = bytes([ipv6.UDP, 0, 0, 1]) + b"\x00" * 4  # type 0 (RFC 5095), 1 left
    with pytest.raises(ipv6.ParameterProblem) as info:
        ipv6.parse(memoryview(packet(A6, B6, ipv6.ROUTING, routing)))
    assert (info.value.code, info.value.pointer) == (ipv6.PP_HEADER, 42)


def test_extension_header_chain_is_bounded() -> None:
    chain = b"".join(bytes([ipv6.DSTOPTS, 0]) + b"\x01\x04" + b"\x00" * 4 for _ in range(12))
    with pytest.raises(PacketError, match="more than 8 extension headers"):
        ipv6.parse(memoryview(packet(A6, B6, ipv6.DSTOPTS, chain)))
    truncated = packet(A6, B6, ipv6.DSTOPTS, b"\x11\x05\x00\x00")
    with pytest.raises(ipv6.ParameterProblem, match="truncated"):
        ipv6.parse(memoryview(truncated))


def _frag(nh: int, offset: int, more: bool, ident: int) -> bytes:
    return struct.pack("!BBHI", nh, 0, offset | more, ident)


def test_fragment_rules() -> None:
    odd = packet(A6, B6, ipv6.FRAGMENT, _frag(ipv6.UDP, 0, True, 7) + b"x" * 13)
    with pytest.raises(ipv6.ParameterProblem) as info:
        ipv6.parse(memoryview(odd))
    assert info.value.pointer == 4  # RFC 8200 §4.5: the payload length field
    past = packet(A6, B6, ipv6.FRAGMENT, _frag(ipv6.UDP, 65528, False, 7) + b"x" * 16)
    with pytest.raises(ipv6.ParameterProblem, match="65535"):
        ipv6.parse(memoryview(past))
    atomic = packet(A6, B6, ipv6.FRAGMENT, _frag(ipv6.UDP, 0, False, 7) + b"whole")
    pkt = ipv6.parse(memoryview(atomic))  # RFC 6946: processed alone, not reassembled
    assert pkt.fragment is None and bytes(pkt.payload) == b"whole"
    nested = _frag(ipv6.FRAGMENT, 0, False, 7) + _frag(ipv6.UDP, 0, True, 8) + b"x" * 8
    with pytest.raises(PacketError, match="inside a fragment"):
        ipv6.parse(memoryview(packet(A6, B6, ipv6.FRAGMENT, nested)))


def _reassembler(**kw: float) -> tuple[VirtualClock, ipv6.Reassembler]:
    clock = VirtualClock()
    return clock, ipv6.Reassembler(Scheduler(clock), **kw)  # type: ignore[arg-type]


def _pieces(payload: bytes, mtu: int = 1280, ident: int = 9) -> list[ipv6.Packet]:
    raw = ipv6.fragment(A6, B6, ipv6.UDP, payload, ident, mtu, 64)
    return [ipv6.parse(memoryview(r)) for r in raw]


def test_fragment_and_reassemble_in_any_order() -> None:
    payload = bytes(range(256)) * 20
    pieces = _pieces(payload)
    assert len(pieces) == 5 and all(len(p.packet) <= 1280 for p in pieces)
    _, reasm = _reassembler()
    results = [reasm.add(p) for p in reversed(pieces)]
    assert results[:-1] == [None] * 4
    assert results[-1] == (ipv6.UDP, payload)
    assert len(reasm) == 0


def test_overlap_discards_the_datagram_and_duplicates_are_harmless() -> None:
    pieces = _pieces(b"y" * 3000)
    _, reasm = _reassembler()
    assert reasm.add(pieces[0]) is None
    assert reasm.add(pieces[0]) is None  # an exact duplicate
    shifted = packet(
        A6, B6, ipv6.FRAGMENT, _frag(ipv6.UDP, 8, True, 9) + b"z" * 16
    )  # overlaps the first
    assert reasm.add(ipv6.parse(memoryview(shifted))) is None
    assert reasm.dropped == 1 and len(reasm) == 0
    assert reasm.add(pieces[1]) is None and reasm.add(pieces[2]) is None  # a new partial


def test_reassembly_limits_and_timeout() -> None:
    clock, reasm = _reassembler(timeout=60.0, max_datagrams=4)
    expired: list[bytes] = []
    reasm.on_timeout = expired.append
    for ident in range(6):
        reasm.add(_pieces(b"q" * 2000, ident=ident)[-1])  # last pieces only
    assert len(reasm) == 4 and reasm.dropped == 2
    first = _pieces(b"q" * 2000, ident=99)[0]
    reasm.add(first)
    clock.time += 61
    reasm.sched.run_due()
    assert len(reasm) == 0 and reasm.dropped == 7  # RFC 8200 §4.5: 60 s and gone
    assert expired == [bytes(first.packet)]  # only where the offset-0 fragment came


# -- ICMPv6 and NDP messages ---------------------------------------------------------------


def test_icmpv6_checksum_covers_the_pseudo_header() -> None:
    msg = icmpv6.message(A6, B6, icmpv6.ECHO_REQUEST, 0, b"\x00\x01\x00\x02ping")
    assert icmpv6.parse(A6, B6, memoryview(msg))[0] == icmpv6.ECHO_REQUEST
    with pytest.raises(PacketError, match="bad checksum"):
        icmpv6.parse(A6, B6 + 1, memoryview(msg))  # another destination
    with pytest.raises(PacketError, match="shorter"):
        icmpv6.parse(A6, B6, memoryview(b"\x80\x00"))


def test_icmpv6_errors_fit_the_minimum_mtu_and_follow_the_rules() -> None:
    big = packet(B6, A6, ipv6.UDP, b"u" * 3000)
    err = icmpv6.error(A6, B6, icmpv6.DEST_UNREACHABLE, 4, 0, big)
    assert len(err) + ipv6.HEADER_LEN == ipv6.MIN_MTU  # RFC 4443 §2.4 (c)
    assert icmpv6.may_answer(B6, A6, icmpv6.DEST_UNREACHABLE, 4)
    assert not icmpv6.may_answer(0, A6, icmpv6.DEST_UNREACHABLE, 4)
    assert not icmpv6.may_answer(B6, ipv6.ALL_NODES, icmpv6.DEST_UNREACHABLE, 4)
    assert icmpv6.may_answer(B6, ipv6.ALL_NODES, icmpv6.PARAMETER_PROBLEM, 2)


def test_ndp_options_and_interface_ids() -> None:
    assert ndp.build_options(ndp.OPT_SOURCE_LL, ROUTER_MAC) == b"\x01\x01" + ROUTER_MAC
    with pytest.raises(PacketError, match="length 0"):
        ndp.parse_options(memoryview(b"\x01\x00" + b"\x00" * 6))  # RFC 4861 §4.6
    with pytest.raises(PacketError):
        ndp.parse_options(memoryview(b"\x01\x02" + b"\x00" * 6))  # runs past the end
    # RFC 4291 appendix A: 34-56-78-9A-BC-DE -> 3656:78ff:fe9a:bcde
    assert ndp.eui64(bytes.fromhex("3456789abcde")) == 0x365678FFFE9ABCDE
    secret = b"s" * 16
    one = ndp.stable_id(A6, ROUTER_MAC, 0, secret)
    assert one == ndp.stable_id(A6 | 5, ROUTER_MAC, 0, secret)  # per /64 prefix, stable
    assert one != ndp.stable_id(ipv6.to_int("2001:db9::"), ROUTER_MAC, 0, secret)
    assert one != ndp.stable_id(A6, ROUTER_MAC, 1, secret)  # RFC 7217 DAD_Counter


def test_address_helpers() -> None:
    assert ipv6.solicited_node(ipv6.to_int("2001:db8::12:3456")) == ipv6.to_int("ff02::1:ff12:3456")
    assert ipv6.multicast_mac(ipv6.to_int("ff02::1:ff12:3456")) == bytes.fromhex("3333ff123456")
    assert ipv6.parse_interface("2001:db8::2/64") == (ipv6.to_int("2001:db8::2"), 64)
    for bad in ("2001:db8::2", "2001:db8::2/129", "2001:db8::2/x", "10.0.0.1/24"):
        with pytest.raises(ValueError):
            ipv6.parse_interface(bad)


def test_udp_zero_checksum_is_an_error_over_ipv6_only() -> None:
    raw = memoryview(struct.pack("!HHHH", 1, 2, 9, 0) + b"x")
    assert bytes(udp.parse(1, 2, raw)[2]) == b"x"
    with pytest.raises(PacketError, match="zero checksum"):
        udp.parse(A6, B6, raw, ipv6=True)
    good = udp.datagram(A6, B6, 5, 6, b"six")
    assert bytes(udp.parse(A6, B6, memoryview(good), ipv6=True)[2]) == b"six"


# -- stacks on a switch --------------------------------------------------------------------


class Net6:
    """Stacks ``a`` and ``b`` with static IPv6 addresses, and a raw port ``wire`` that
    records every frame it sees and can inject its own."""

    def __init__(self, *, mtu: int = 1500, config_a: StackConfig | None = None) -> None:
        self.clock = VirtualClock()
        self.sched = Scheduler(self.clock)
        self.switch = Switch(self.sched, mtu=mtu)
        self.wire: SwitchPort = self.switch.port(ROUTER_MAC)
        self.frames: list[bytes] = []
        self.wire.attach(self.frames.append)
        with self.sched:
            self.a = Stack(
                self.sched,
                self.switch.port(),
                ip_to_int("10.0.0.1"),
                24,
                config=config_a,
                ipv6_addresses=[(A6, 64)],
            )
            self.b = Stack(
                self.sched, self.switch.port(), ip_to_int("10.0.0.2"), 24, ipv6_addresses=[(B6, 64)]
            )
        self.run(lambda: self.settled(self.a) and self.settled(self.b))

    @staticmethod
    def settled(stack: Stack) -> bool:
        """Every address of ``stack`` finished DAD (RFC 4862 §5.4)."""
        assert stack.ndp is not None
        return not any(a.tentative for a in stack.ndp.addresses.values())

    def run(self, until: object, limit: float = 600.0) -> None:
        assert callable(until)
        assert self.clock.run(self.sched, until, limit=limit), "stalled: condition never held"

    def inject(self, dst_mac: bytes, pkt: bytes) -> None:
        with self.sched:
            self.wire.send(ethernet.header(dst_mac, ROUTER_MAC, ethernet.TYPE_IPV6) + pkt)

    def icmp_seen(self, kind: int) -> list[tuple[ipv6.Packet, int, memoryview]]:
        out = []
        for frame in self.frames:
            if frame[12:14] != b"\x86\xdd":
                continue
            pkt = ipv6.parse(memoryview(frame)[14:])
            if pkt.next_header == ipv6.ICMPV6:
                k, code, body = icmpv6.parse(pkt.src, pkt.dst, pkt.payload)
                if k == kind:
                    out.append((pkt, code, body))
        return out


def test_dad_then_link_local_and_static_addresses_are_usable() -> None:
    net = Net6()
    a_ndp = net.a.ndp
    assert a_ndp is not None
    assert ipv6.is_link_local(a_ndp.link_local) and net.a.is_local6(a_ndp.link_local)
    # every address was probed from :: to its solicited-node group first (RFC 4862 §5.4.2)
    probes = [
        p for p, _, body in net.icmp_seen(icmpv6.NEIGHBOR_SOLICITATION) if p.src == ipv6.UNSPECIFIED
    ]
    targets = {int.from_bytes(bytes(p.payload[8:24]), "big") for p in probes}
    assert {A6, B6, a_ndp.link_local} <= targets
    assert all(
        p.dst == ipv6.solicited_node(int.from_bytes(bytes(p.payload[8:24]), "big")) for p in probes
    )


def test_duplicate_address_is_not_used() -> None:
    net = Net6()
    with net.sched:
        late = Stack(
            net.sched, net.switch.port(), ip_to_int("10.0.0.3"), 24, ipv6_addresses=[(A6, 64)]
        )
    assert late.ndp is not None
    net.run(lambda: late.ndp is not None and late.ndp.counters["duplicates"] == 1)
    assert not late.is_local6(A6) and net.a.is_local6(A6)  # the owner keeps it


def test_tcp_over_ipv6_moves_a_megabyte_both_ways() -> None:
    net = Net6()
    listener = net.b.tcp6.listen(0, 80, 16)
    with net.sched:
        client = net.a.tcp6.connect(A6, B6, 80)
    net.run(lambda: bool(listener.queue))
    server = listener.accept()
    assert server is not None and client.mss == 1500 - 60 - 12
    data = hashlib.sha256(b"seed").digest() * 32768
    assert transfer(net, client, server, data) == data  # type: ignore[arg-type]
    assert transfer(net, server, client, data[::-1]) == data[::-1]  # type: ignore[arg-type]
    entry = net.a.ndp.neighbors[B6] if net.a.ndp else None
    assert entry is not None and entry.mac == net.b.ndp.mac  # type: ignore[union-attr]


def test_udp_over_ipv6_fragments_and_port_unreachable() -> None:
    net = Net6()
    server = net.b.udp_bind(0, 53, 6)
    client = net.a.udp_bind(A6, 0, 6)
    big = bytes(range(256)) * 16  # 4096 bytes: three fragments at MTU 1500
    with net.sched:
        client.send(big, B6, 53)
    net.run(lambda: bool(server.queue))
    assert server.queue.popleft() == (big, (A6, client.port))
    connected = net.a.udp_bind(A6, 0, 6)
    connected.peer = (B6, 54)
    with net.sched:
        connected.send(b"anyone?", B6, 54)
    net.run(lambda: connected.refused)  # RFC 4443 §3.1 code 4 reached the sender


def test_ping_echo_and_parameter_problem_answers() -> None:
    net = Net6()
    b_mac = net.b.ndp.mac if net.b.ndp else b""
    src = ipv6.to_int("2001:db8::99")
    # the router port answers B's neighbor solicitation for src with an advertisement
    with net.sched:
        net.b.ndp.neighbors[src] = ndp.Neighbor(ndp.State.STALE, ROUTER_MAC)  # type: ignore[union-attr]
    echo = icmpv6.message(src, B6, icmpv6.ECHO_REQUEST, 0, b"\x12\x34\x00\x01hello")
    net.inject(b_mac, packet(src, B6, ipv6.ICMPV6, echo))
    net.run(lambda: bool(net.icmp_seen(icmpv6.ECHO_REPLY)))
    pkt, _, body = net.icmp_seen(icmpv6.ECHO_REPLY)[0]
    assert (pkt.src, pkt.dst, bytes(body)) == (B6, src, b"\x12\x34\x00\x01hello")
    net.inject(b_mac, packet(src, B6, 253, b"unknown protocol"))
    net.run(lambda: bool(net.icmp_seen(icmpv6.PARAMETER_PROBLEM)))
    _, code, body = net.icmp_seen(icmpv6.PARAMETER_PROBLEM)[0]
    assert code == ipv6.PP_NEXT_HEADER and body[:4] == b"\x00\x00\x00\x06"
    # an error about an error is never sent (RFC 4443 §2.4 (e.1))
    # a malformed error message (a routing header in the way) is never answered with
    # another error (RFC 4443 §2.4 (e.1)); neither is an unknown protocol to a group
    net.inject(ipv6.multicast_mac(ipv6.ALL_NODES), packet(src, ipv6.ALL_NODES, 253, b"x"))
    net.run(lambda: net.sched.idle, limit=1)
    assert len(net.icmp_seen(icmpv6.PARAMETER_PROBLEM)) == 1


def test_reassembly_timeout_sends_time_exceeded() -> None:
    net = Net6()
    src = ipv6.to_int("2001:db8::99")
    b_mac = net.b.ndp.mac if net.b.ndp else b""
    with net.sched:
        net.b.ndp.neighbors[src] = ndp.Neighbor(ndp.State.STALE, ROUTER_MAC)  # type: ignore[union-attr]
    pieces = ipv6.fragment(src, B6, ipv6.UDP, udp.datagram(src, B6, 1, 2, b"f" * 3000), 5, 1280, 64)
    net.inject(b_mac, pieces[0])  # the rest never comes
    net.run(lambda: bool(net.icmp_seen(icmpv6.TIME_EXCEEDED)), limit=70)
    pkt, code, body = net.icmp_seen(icmpv6.TIME_EXCEEDED)[0]
    assert (pkt.src, pkt.dst, code) == (B6, src, icmpv6.CODE_REASSEMBLY_TIME_EXCEEDED)
    assert bytes(body[4:44]) == pieces[0][:40]


def test_packet_too_big_lowers_the_path_mtu_and_tcp_segment_size() -> None:
    net = Net6()
    listener = net.b.tcp6.listen(0, 80, 16)
    with net.sched:
        client = net.a.tcp6.connect(A6, B6, 80)
    net.run(lambda: bool(listener.queue))
    quoted = packet(A6, B6, ipv6.TCP, b"\x00" * 1400)
    ptb = icmpv6.message(
        ROUTER_LL, A6, icmpv6.PACKET_TOO_BIG, 0, (1280).to_bytes(4, "big") + quoted
    )
    with net.sched:
        net.a._icmp6_input(
            ipv6.parse(memoryview(packet(ROUTER_LL, A6, ipv6.ICMPV6, ptb))),
            memoryview(ptb),
        )
    assert net.a.path_mtu(B6) == 1280 and net.a.mss6_for(B6) == 1220
    assert client.mss <= 1280 - 60
    # a PTB below 1280 is clamped (RFC 8200 §5), and never raises the MTU (RFC 8201 §4)
    tiny = icmpv6.message(
        ROUTER_LL, A6, icmpv6.PACKET_TOO_BIG, 0, (500).to_bytes(4, "big") + quoted
    )
    with net.sched:
        net.a._icmp6_input(
            ipv6.parse(memoryview(packet(ROUTER_LL, A6, ipv6.ICMPV6, tiny))), memoryview(tiny)
        )
    assert net.a.path_mtu(B6) == 1280
    net.clock.time += 601
    assert net.a.path_mtu(B6) == 1500  # RFC 8201 §4: learned MTUs age out


def _router_advertisement(prefix: int, *, lifetime: int = 1800, valid: int = 86400) -> bytes:
    # RFC 4861 §4.6.2: prefix length, L and A flags, valid and preferred lifetimes
    info = struct.pack("!BBII4x16s", 64, 0xC0, valid, valid // 2, prefix.to_bytes(16, "big"))
    body = struct.pack("!BBHII", 64, 0, lifetime, 0, 0)
    body += ndp.build_options(ndp.OPT_SOURCE_LL, ROUTER_MAC)
    body += ndp.build_options(ndp.OPT_MTU, b"\x00\x00" + (1400).to_bytes(4, "big"))
    body += bytes([ndp.OPT_PREFIX, 4]) + info
    msg = icmpv6.message(ROUTER_LL, ipv6.ALL_NODES, icmpv6.ROUTER_ADVERTISEMENT, 0, body)
    return packet(ROUTER_LL, ipv6.ALL_NODES, ipv6.ICMPV6, msg, hops=255)


def test_slaac_from_a_router_advertisement() -> None:
    net = Net6()
    # the stacks solicited a router at start-up (RFC 4861 §6.3.7)
    net.run(lambda: bool(net.icmp_seen(icmpv6.ROUTER_SOLICITATION)), limit=5)
    rs, _, _ = net.icmp_seen(icmpv6.ROUTER_SOLICITATION)[0]
    assert rs.dst == ipv6.ALL_ROUTERS and ipv6.is_link_local(rs.src)
    prefix = ipv6.to_int("2001:db8:1::")
    net.inject(ipv6.multicast_mac(ipv6.ALL_NODES), _router_advertisement(prefix))
    a = net.a.ndp
    assert a is not None
    net.run(lambda: any(x >> 64 == prefix >> 64 for x in a.usable()))
    formed = next(x for x in a.usable() if x >> 64 == prefix >> 64)
    assert formed & (2**64 - 1) == ndp.stable_id(prefix, a.mac, 0, a.config.secret)
    assert a.default_router() == ROUTER_LL and a.link_mtu == 1400
    far = ipv6.to_int("2001:db8:1:5::1")  # off-link: another /64
    assert net.a.path_mtu(far) == 1400
    # off-link destinations go through the router, from the longest-matching source
    assert a.next_hop(far) == ROUTER_LL and not a.on_link(far)
    assert net.a.source6_for(far) == formed
    assert a.on_link(prefix | 7)  # the prefix had the L flag
    # RFC 4862 §5.5.3 (e): a forged short lifetime cannot cut the address below two hours
    net.inject(ipv6.multicast_mac(ipv6.ALL_NODES), _router_advertisement(prefix, valid=10))
    net.run(lambda: net.sched.idle, limit=1)
    assert a.addresses[formed].valid_until >= net.clock.time + 7199
    # a router lifetime of zero removes it from the default router list
    net.inject(ipv6.multicast_mac(ipv6.ALL_NODES), _router_advertisement(prefix, lifetime=0))
    net.run(lambda: a.default_router() is None, limit=1)


def test_router_advertisement_validation() -> None:
    net = Net6()
    a = net.a.ndp
    assert a is not None
    raw = bytearray(_router_advertisement(ipv6.to_int("2001:db8:2::")))
    raw[7] = 64  # a hop limit that is not 255: from off-link (RFC 4861 §6.1.2)
    net.inject(ipv6.multicast_mac(ipv6.ALL_NODES), bytes(raw))
    net.run(lambda: net.sched.idle, limit=1)
    assert a.default_router() is None and a.counters["bad"] >= 1


def test_neighbor_cache_states_and_bounds() -> None:
    net = Net6(config_a=StackConfig(ndp=ndp.NdpConfig(max_neighbors=4)))
    a = net.a.ndp
    assert a is not None
    sock = net.a.udp_bind(A6, 0, 6)
    with net.sched:
        sock.send(b"x", B6, 9)
    entry = a.neighbors[B6]
    net.run(lambda: entry.state == ndp.State.REACHABLE)
    net.clock.time += 60  # past ReachableTime: STALE on next use, then DELAY
    with net.sched:
        sock.send(b"x", B6, 9)
    assert entry.state == ndp.State.DELAY
    net.run(lambda: entry.state in (ndp.State.PROBE, ndp.State.REACHABLE))
    net.run(lambda: entry.state == ndp.State.REACHABLE)  # B answered the unicast probe
    # nobody answers for these: INCOMPLETE, then gone after 3 solicitations
    with net.sched:
        for i in range(6):
            sock.send(b"y", ipv6.to_int(f"2001:db8::100:{i}"), 9)
    assert len(a.neighbors) <= 4
    net.run(lambda: all(e.state != ndp.State.INCOMPLETE for e in a.neighbors.values()))
    assert a.counters["dropped"] >= 1 or a.counters["evicted"] >= 1


def _fix_checksum6(frame: bytes) -> bytes:
    """Recompute the upper-layer checksum of an IPv6 frame, so mutations reach TCP, UDP
    and Neighbor Discovery rather than stopping at the checksum."""
    if len(frame) < 62 or frame[12:14] != b"\x86\xdd":
        return frame
    nh = frame[20]
    at = {ipv6.TCP: 16, ipv6.UDP: 6, ipv6.ICMPV6: 2}.get(nh)
    upper = bytearray(frame[54:])
    if at is None or len(upper) < at + 2:
        return frame
    upper[at : at + 2] = b"\x00\x00"
    src = int.from_bytes(frame[22:38], "big")
    dst = int.from_bytes(frame[38:54], "big")
    total = icmpv6.pseudo_sum(src, dst, len(upper), nh) + checksum.partial(upper)
    upper[at : at + 2] = checksum.finish(total).to_bytes(2, "big")
    return frame[:54] + bytes(upper)


def test_mutated_ipv6_frames_never_raise_and_the_stacks_keep_working() -> None:
    net = Net6()
    seen: list[bytes] = []
    original = net.switch._transmit

    def record(src: SwitchPort, frame: bytes) -> None:
        seen.append(frame)
        original(src, frame)

    net.switch._transmit = record  # type: ignore[method-assign]
    listener = net.b.tcp6.listen(0, 80, 16)
    with net.sched:
        client = net.a.tcp6.connect(A6, B6, 80)
    net.run(lambda: bool(listener.queue))
    server = listener.accept()
    assert server is not None
    data = random.Random(1).randbytes(50_000)
    assert transfer(net, client, server, data) == data  # type: ignore[arg-type]
    sock = net.a.udp_bind(A6, 0, 6)
    with net.sched:
        sock.send(b"u" * 3000, B6, 53)  # fragments and a port unreachable
    net.run(lambda: net.sched.idle, limit=5)
    frames = [f for f in seen if f[12:14] == b"\x86\xdd"]
    frames.append(_router_advertisement(ipv6.to_int("2001:db8:3::")))
    frames[-1] = (
        ethernet.header(ipv6.multicast_mac(ipv6.ALL_NODES), ROUTER_MAC, 0x86DD) + frames[-1]
    )
    assert len(frames) > 30
    rng = random.Random(3)
    for i in range(3000):
        frame = _mutate(rng, rng.choice(frames))
        if i % 2:
            frame = _fix_checksum6(frame)
        with net.sched:
            rng.choice([net.a, net.b]).frame_input(frame)
    for _ in range(300):
        with net.sched:
            net.b.frame_input(
                net.b.ndp.mac + ROUTER_MAC + b"\x86\xdd" + rng.randbytes(rng.randrange(200))
            )  # type: ignore[union-attr]
    assert net.a.counters["errors"] == net.b.counters["errors"] == 0
    assert net.sched.errors == 0
    assert net.a.counters["bad"] + net.b.counters["bad"] > 0
    assert len(net.a.ndp.neighbors) <= net.a.ndp.config.max_neighbors  # type: ignore[union-attr]
    net.clock.run(net.sched, lambda: False, limit=200.0)
    listener = net.b.tcp6.listen(0, 8080, 16)
    with net.sched:
        fresh = net.a.tcp6.connect(A6, B6, 8080)
    net.run(lambda: bool(listener.queue))
    accepted = listener.accept()
    assert accepted is not None
    assert transfer(net, fresh, accepted, b"alive" * 1000) == b"alive" * 1000  # type: ignore[arg-type]


def test_slaac_address_lost_to_another_nodes_dad_probe() -> None:
    net = Net6()
    a = net.a.ndp
    assert a is not None
    prefix = ipv6.to_int("2001:db8:4::")
    net.inject(ipv6.multicast_mac(ipv6.ALL_NODES), _router_advertisement(prefix))
    net.run(lambda: any(x >> 64 == prefix >> 64 for x in a.addresses), limit=1)
    formed = next(x for x in a.addresses if x >> 64 == prefix >> 64)
    assert a.addresses[formed].tentative and not net.a.is_local6(formed)
    # another node probes the same address (RFC 4862 §5.4.3): to our solicited-node
    # group's Ethernet address, which the receive filter must already pass
    group = ipv6.solicited_node(formed)
    body = b"\x00\x00\x00\x00" + formed.to_bytes(16, "big")
    ns = icmpv6.message(ipv6.UNSPECIFIED, group, icmpv6.NEIGHBOR_SOLICITATION, 0, body)
    net.inject(ipv6.multicast_mac(group), packet(ipv6.UNSPECIFIED, group, ipv6.ICMPV6, ns, 255))
    net.run(lambda: a.counters["duplicates"] == 1, limit=1)
    net.run(lambda: net.sched.idle, limit=5)
    assert formed not in a.addresses and formed not in a.usable()


def _reported(net: Net6) -> list[tuple[int, set[int]]]:
    """``(frame index, groups)`` of every MLDv2 report the wire saw."""
    out = []
    for i, frame in enumerate(net.frames):
        if frame[12:14] != b"\x86\xdd":
            continue
        pkt = ipv6.parse(memoryview(frame)[14:])
        if pkt.next_header != ipv6.ICMPV6:
            continue
        kind, _, body = icmpv6.parse(pkt.src, pkt.dst, pkt.payload)
        if kind == icmpv6.MLDV2_REPORT:
            assert pkt.dst == ipv6.ALL_MLDV2_ROUTERS and pkt.hop_limit == 1
            assert bytes(pkt.packet[40:48]) == bytes([58, 0, 5, 2, 0, 0, 1, 0])  # Router Alert
            count = int.from_bytes(body[2:4], "big")
            groups = {int.from_bytes(body[8 + 20 * n : 24 + 20 * n], "big") for n in range(count)}
            out.append((i, groups))
    return out


def test_groups_are_reported_before_dad_and_on_query() -> None:
    net = Net6()
    a = net.a.ndp
    assert a is not None
    reports = _reported(net)
    for address in (A6, a.link_local):
        group = ipv6.solicited_node(address)
        first_report = min(i for i, groups in reports if group in groups)
        probes = [
            i
            for i, frame in enumerate(net.frames)
            if frame[:6] == ipv6.multicast_mac(group) and frame[20] == ipv6.ICMPV6
        ]
        assert probes and first_report < probes[0]  # RFC 4862 §5.4.2: MLD before DAD
    assert all(ipv6.ALL_NODES not in groups for _, groups in reports)
    # a general query (RFC 3810 §5.1) from a link-local router: every group reported again
    body = (1000).to_bytes(2, "big") + b"\x00\x00" + bytes(16) + b"\x00\x00\x00\x00"
    msg = icmpv6.message(ROUTER_LL, ipv6.ALL_NODES, icmpv6.MLD_QUERY, 0, body)
    hbh = bytes([58, 0, 5, 2, 0, 0, 1, 0])
    before = len(reports)
    net.inject(
        ipv6.multicast_mac(ipv6.ALL_NODES),
        packet(ROUTER_LL, ipv6.ALL_NODES, ipv6.HOPOPT, hbh + msg, hops=1),
    )
    net.run(lambda: len(_reported(net)) >= before + 2, limit=2)
    fresh = set().union(*(groups for _, groups in _reported(net)[before:]))
    assert {ipv6.solicited_node(A6), ipv6.solicited_node(a.link_local)} <= fresh


def test_icmpv6_errors_are_rate_limited() -> None:
    net = Net6()
    b_mac = net.b.ndp.mac if net.b.ndp else b""
    src = ipv6.to_int("2001:db8::99")
    with net.sched:
        net.b.ndp.neighbors[src] = ndp.Neighbor(ndp.State.STALE, ROUTER_MAC)  # type: ignore[union-attr]
    for port in range(300):  # a burst at one instant to closed ports
        net.inject(b_mac, packet(src, B6, ipv6.UDP, udp.datagram(src, B6, 9, 1000 + port, b"?")))
    net.run(lambda: net.sched.idle, limit=1)
    sent = len(net.icmp_seen(icmpv6.DEST_UNREACHABLE))
    assert 40 <= sent <= 60  # RFC 4443 §2.4 (f): a token bucket, 50 at once
