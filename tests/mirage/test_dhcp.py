"""The DHCPv4 client (RFC 2131): the codec, and the state machine against a DHCP server
scripted here on an in-memory switch, on a virtual clock (lease, renew at T1, rebind at
T2, expiry, DHCPNAK, retransmission backoff, foreign xids, DHCPRELEASE)."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable

import anyio
import pytest

import backends
from backends.mirage import dhcp
from backends.mirage.dhcp import DhcpClient, DhcpConfig, DhcpError, Message, State
from backends.mirage.ipv4 import int_to_ip, ip_to_int
from backends.mirage.netif import Switch
from backends.mirage.sched import Scheduler, VirtualClock
from backends.mirage.stack import Stack

MAC = bytes.fromhex("020000000042")
SERVER_IP = ip_to_int("10.9.0.1")
OFFERED = ip_to_int("10.9.0.77")


def sample(**changes: object) -> Message:
    msg = Message(
        op=dhcp.BOOTREPLY,
        xid=0x12345678,
        chaddr=MAC,
        options={
            dhcp.MESSAGE_TYPE: bytes((dhcp.OFFER,)),
            dhcp.SERVER_ID: SERVER_IP.to_bytes(4, "big"),
            dhcp.SUBNET_MASK: ip_to_int("255.255.255.0").to_bytes(4, "big"),
            dhcp.ROUTER: ip_to_int("10.9.0.1").to_bytes(4, "big"),
            dhcp.DNS_SERVERS: bytes([10, 9, 0, 53, 10, 9, 0, 54]),
            dhcp.LEASE_TIME: (3600).to_bytes(4, "big"),
        },
        yiaddr=OFFERED,
        flags=dhcp.FLAG_BROADCAST,
    )
    for name, value in changes.items():
        setattr(msg, name, value)
    return msg


# -- codec ---------------------------------------------------------------------------------


def test_build_then_parse_round_trips() -> None:
    msg = sample(sname=b"server", file=b"boot.img", secs=7, hops=1, giaddr=5)
    wire = dhcp.build(msg)
    assert len(wire) >= dhcp.MIN_MESSAGE  # padded to BOOTP's minimum
    assert wire[236:240] == dhcp.MAGIC_COOKIE
    back = dhcp.parse(wire)
    assert back == msg
    assert back.kind == dhcp.OFFER
    assert back.address(dhcp.SERVER_ID) == SERVER_IP
    assert back.addresses(dhcp.DNS_SERVERS) == [ip_to_int("10.9.0.53"), ip_to_int("10.9.0.54")]
    assert back.seconds(dhcp.LEASE_TIME) == 3600
    assert back.seconds(dhcp.RENEWAL_TIME) is None


def test_long_options_are_split_and_joined_again() -> None:
    # RFC 3396: a value longer than 255 bytes goes out in pieces and comes back whole
    many = bytes(range(256)) * 2
    wire = dhcp.build(sample(options={dhcp.MESSAGE_TYPE: b"\x02", 224: many}))
    assert dhcp.parse(wire).options[224] == many


def test_overloaded_file_and_sname_carry_options() -> None:
    # RFC 2132 9.3: with option 52, options continue in file (1), sname (2) or both (3)
    wire = bytearray(dhcp.build(sample(options={dhcp.OVERLOAD: b"\x03"})))
    wire[108:114] = bytes((dhcp.LEASE_TIME, 4)) + (600).to_bytes(4, "big")  # file
    wire[114] = dhcp.END
    wire[44:47] = bytes((dhcp.MESSAGE_TYPE, 1, dhcp.ACK))  # sname
    wire[47] = dhcp.END
    msg = dhcp.parse(bytes(wire))
    assert msg.kind == dhcp.ACK and msg.seconds(dhcp.LEASE_TIME) == 600
    assert msg.file == b"" and msg.sname == b""


def test_padding_is_skipped() -> None:
    wire = bytearray(dhcp.build(sample(options={})))
    wire[240:246] = bytes((0, 0, dhcp.MESSAGE_TYPE, 1, dhcp.NAK, dhcp.END))
    assert dhcp.parse(bytes(wire)).kind == dhcp.NAK


@pytest.mark.parametrize(
    ("mangle", "error"),
    [
        (lambda w: w[:239], "shorter than the 240"),
        (lambda w: w + bytes(5000), "longer than 4096"),
        (lambda w: b"\x03" + w[1:], "op 3 is neither"),
        (lambda w: w[:2] + b"\x20" + w[3:], "hardware address length 32"),
        (lambda w: w[:236] + b"\x63\x82\x53\x64" + w[240:], "no magic cookie"),
        (lambda w: w[:240] + b"\x35", "option 53 in the options field is cut off"),
        (lambda w: w[:240] + b"\x33\x08\x00\x00", "option 51 in the options field claims 8"),
        (lambda w: w[:240] + b"\x35\x01\x02", "end without the END option"),
        (lambda w: w[:240] + b"\x34\x01\x07\xff", "option overload value 07"),
        (lambda w: w[:240] + b"\x34\x01\x01\xff", "the file field end without"),
    ],
)
def test_malformed_messages_are_refused_with_the_reason(
    mangle: Callable[[bytes], bytes], error: str
) -> None:
    wire = dhcp.build(sample())
    with pytest.raises(DhcpError, match=error):
        dhcp.parse(mangle(wire))


def test_malformed_option_values_are_refused() -> None:
    msg = sample(options={dhcp.MESSAGE_TYPE: b"\x09", dhcp.ROUTER: b"\x01\x02\x03"})
    with pytest.raises(DhcpError, match="message type option 09"):
        _ = msg.kind
    with pytest.raises(DhcpError, match="option 3 holds 3 bytes"):
        msg.addresses(dhcp.ROUTER)
    msg.options[dhcp.SERVER_ID] = b"\x01\x02"
    with pytest.raises(DhcpError, match="option 54 holds 2 bytes, not one address"):
        msg.address(dhcp.SERVER_ID)
    msg.options[dhcp.LEASE_TIME] = b"\x01"
    with pytest.raises(DhcpError, match="not 32 bits"):
        msg.seconds(dhcp.LEASE_TIME)


def test_masks_and_classful_defaults() -> None:
    assert dhcp.prefix_of(ip_to_int("255.255.255.0")) == 24
    assert dhcp.prefix_of(ip_to_int("255.255.128.0")) == 17
    with pytest.raises(DhcpError, match="not contiguous"):
        dhcp.prefix_of(ip_to_int("255.0.255.0"))
    assert [
        dhcp.classful_prefix(ip_to_int(a)) for a in ("10.1.1.1", "172.16.0.1", "192.0.2.9")
    ] == [
        8,
        16,
        24,
    ]


# -- the state machine against a scripted server -------------------------------------------

Script = Callable[[Message], list[Message]]


class Lan:
    """A switch with a server stack (10.9.0.1/24, answering port 67 with ``script``) and a
    client stack without an address, on a virtual clock."""

    def __init__(self, script: Script, config: DhcpConfig | None = None) -> None:
        self.clock = VirtualClock()
        self.sched = Scheduler(self.clock)
        self.switch = switch = Switch(self.sched)
        self.script = script
        self.seen: list[tuple[float, Message, int]] = []  # (time, message, IP destination)
        with self.sched:
            self.server = Stack(self.sched, switch.port(), SERVER_IP, 24)
            self.client_stack = Stack(self.sched, switch.port(MAC), 0, 0)
        self.sock = self.server.udp_bind(0, dhcp.SERVER_PORT)
        self.sock.on_readable = self._serve
        self.changes = 0
        self.client = DhcpClient(
            self.client_stack,
            config or DhcpConfig(min_retransmit=5.0),
            on_change=self._changed,
            rng=random.Random(7),
        )
        # The server sees the IP destination through a wrapper of its UDP input.
        original = self.server._udp_input

        def spy(pkt, payload, broadcast, csum_ok=False):  # type: ignore[no-untyped-def]
            self._dst = pkt.dst
            original(pkt, payload, broadcast, csum_ok)

        self._dst = 0
        self.server._udp_input = spy  # type: ignore[method-assign]

    def _changed(self) -> None:
        self.changes += 1

    def _serve(self) -> None:
        while self.sock.queue:
            data, (_src, _port) = self.sock.queue.popleft()
            msg = dhcp.parse(data)
            self.seen.append((self.clock.time, msg, self._dst))
            for reply in self.script(msg):
                dst = reply.ciaddr if reply.ciaddr and not reply.flags else dhcp.BROADCAST
                self.sock.send(dhcp.build(reply), dst, dhcp.CLIENT_PORT)

    def start(self) -> None:
        with self.sched:
            self.client.start()

    def run_until(self, until: Callable[[], bool], limit: float = 600.0) -> None:
        assert self.clock.run(self.sched, until, limit=limit), f"stalled in {self.client.state}"

    def kinds(self) -> list[int | None]:
        return [m.kind for _, m, _ in self.seen]


def reply_to(
    request: Message, kind: int, *, lease: int = 60, t1: int | None = 10, t2: int | None = 20
) -> Message:
    options = {
        dhcp.MESSAGE_TYPE: bytes((kind,)),
        dhcp.SERVER_ID: SERVER_IP.to_bytes(4, "big"),
        dhcp.SUBNET_MASK: ip_to_int("255.255.255.0").to_bytes(4, "big"),
        dhcp.ROUTER: SERVER_IP.to_bytes(4, "big"),
        dhcp.DNS_SERVERS: ip_to_int("10.9.0.53").to_bytes(4, "big"),
        dhcp.LEASE_TIME: lease.to_bytes(4, "big"),
    }
    if t1 is not None:
        options[dhcp.RENEWAL_TIME] = t1.to_bytes(4, "big")
    if t2 is not None:
        options[dhcp.REBINDING_TIME] = t2.to_bytes(4, "big")
    if kind == dhcp.NAK:
        options = {dhcp.MESSAGE_TYPE: b"\x06", dhcp.SERVER_ID: SERVER_IP.to_bytes(4, "big")}
    return Message(
        op=dhcp.BOOTREPLY,
        xid=request.xid,
        chaddr=request.chaddr,
        options=options,
        yiaddr=0 if kind == dhcp.NAK else OFFERED,
        ciaddr=request.ciaddr,
        flags=request.flags,
    )


def server() -> Script:
    """A well-behaved server: every DISCOVER offered, every REQUEST acknowledged."""

    def script(msg: Message) -> list[Message]:
        if msg.kind == dhcp.DISCOVER:
            return [reply_to(msg, dhcp.OFFER)]
        if msg.kind == dhcp.REQUEST:
            return [reply_to(msg, dhcp.ACK)]
        return []

    return script


def test_discover_offer_request_ack_configures_the_stack() -> None:
    lan = Lan(server())
    lan.start()
    lan.run_until(lambda: lan.client.state == State.BOUND)
    discover, request = lan.seen[0][1], lan.seen[1][1]
    assert lan.kinds() == [dhcp.DISCOVER, dhcp.REQUEST]
    assert discover.flags == dhcp.FLAG_BROADCAST and discover.ciaddr == 0
    assert discover.options[dhcp.CLIENT_ID] == b"\x01" + MAC
    assert set(discover.options[dhcp.PARAMETER_LIST]) >= {1, 3, 6, 51, 58, 59}
    assert lan.seen[0][2] == dhcp.BROADCAST
    # RFC 2131 4.3.2, SELECTING: the request names the server and the offered address
    assert request.xid == discover.xid
    assert request.address(dhcp.REQUESTED_IP) == OFFERED
    assert request.address(dhcp.SERVER_ID) == SERVER_IP
    stack = lan.client_stack
    assert (int_to_ip(stack.ip), stack.prefix, stack.gateway) == ("10.9.0.77", 24, SERVER_IP)
    lease = lan.client.lease
    assert lease is not None and lease.dns == [ip_to_int("10.9.0.53")]
    assert lease.t1 - lease.obtained == 10 and lease.t2 - lease.obtained == 20
    assert lan.changes == 1


def test_renewal_at_t1_is_unicast_to_the_server() -> None:
    lan = Lan(server())
    lan.start()
    lan.run_until(lambda: lan.client.state == State.BOUND)
    assert lan.client.lease is not None
    leased_at = lan.client.lease.obtained  # the lease runs from the request (RFC 2131 4.4.1)
    lan.run_until(lambda: lan.client.counters["renewals"] == 1 and lan.client.state == State.BOUND)
    when, renew, dst = lan.seen[2]
    assert when == pytest.approx(leased_at + 10)
    assert renew.kind == dhcp.REQUEST and dst == SERVER_IP  # unicast to the server
    assert renew.ciaddr == OFFERED and renew.flags == 0 and renew.secs == 0
    assert dhcp.REQUESTED_IP not in renew.options and dhcp.SERVER_ID not in renew.options
    assert renew.xid != lan.seen[0][1].xid  # a new transaction
    assert lan.client.lease is not None and lan.client.lease.obtained == pytest.approx(when)
    assert lan.client_stack.ip == OFFERED  # kept throughout


def test_renew_now_enters_renewing_as_t1_does() -> None:
    lan = Lan(server())
    lan.start()
    lan.run_until(lambda: lan.client.state == State.BOUND)
    with lan.sched:
        lan.client.renew()  # (the switch answers within the same batch)
    lan.run_until(lambda: lan.client.state == State.BOUND)
    assert lan.client.counters["renewals"] == 1
    assert lan.seen[-1][2] == SERVER_IP and lan.seen[-1][1].ciaddr == OFFERED
    assert lan.client.counters["acks"] == 2


def test_no_answer_to_renewals_rebinds_at_t2_by_broadcast() -> None:
    def script(msg: Message) -> list[Message]:
        if msg.kind == dhcp.REQUEST and msg.ciaddr and lan._dst != dhcp.BROADCAST:
            return []  # ignore unicast renewals
        return server()(msg)

    lan = Lan(script)
    lan.start()
    lan.run_until(lambda: lan.client.state == State.BOUND)
    assert lan.client.lease is not None
    leased_at = lan.client.lease.obtained  # the lease runs from the request (RFC 2131 4.4.1)
    lan.run_until(lambda: lan.client.counters["rebinds"] == 1 and lan.client.state == State.BOUND)
    renewals = [(t, d) for t, m, d in lan.seen[2:] if d != dhcp.BROADCAST]
    rebind = [(t, m) for t, m, d in lan.seen[2:] if d == dhcp.BROADCAST]
    # at T1 (10 s), then after max(half of the 10 s left to T2, 5 s) = 15 s
    assert [t - leased_at for t, _ in renewals] == pytest.approx([10, 15])
    assert rebind[0][0] - leased_at == pytest.approx(20)
    assert rebind[0][1].ciaddr == OFFERED
    assert rebind[0][1].secs == 10  # since the renewal process began, at T1
    assert lan.client_stack.ip == OFFERED


def test_lease_expiry_drops_the_address_and_starts_over() -> None:
    def script(msg: Message) -> list[Message]:
        if msg.kind == dhcp.REQUEST and msg.ciaddr:
            return []  # no renewals, no rebinding
        if len([m for _, m, _ in lan.seen if m.kind == dhcp.DISCOVER]) > 1:
            return []  # and nothing after the first lease
        return server()(msg)

    lan = Lan(script)
    lan.start()
    lan.run_until(lambda: lan.client.state == State.BOUND)
    assert lan.client.lease is not None
    leased_at = lan.client.lease.obtained  # the lease runs from the request (RFC 2131 4.4.1)
    lan.run_until(lambda: lan.client.counters["expired"] == 1)
    assert lan.clock.time - leased_at == pytest.approx(60)
    assert lan.client_stack.ip == 0 and lan.client.lease is None
    assert lan.client.state == State.SELECTING
    assert lan.changes == 2  # bound, then lost


def test_nak_while_requesting_starts_over() -> None:
    naks = [1]

    def script(msg: Message) -> list[Message]:
        if msg.kind == dhcp.REQUEST and naks:
            naks.pop()
            return [reply_to(msg, dhcp.NAK)]
        return server()(msg)

    lan = Lan(script)
    lan.start()
    lan.run_until(lambda: lan.client.state == State.BOUND)
    assert lan.kinds() == [dhcp.DISCOVER, dhcp.REQUEST, dhcp.DISCOVER, dhcp.REQUEST]
    assert lan.client.counters["naks"] == 1
    assert lan.seen[2][1].xid != lan.seen[0][1].xid


def test_nak_to_a_renewal_drops_the_address() -> None:
    def script(msg: Message) -> list[Message]:
        if msg.kind == dhcp.REQUEST and msg.ciaddr:
            return [reply_to(msg, dhcp.NAK)]
        if msg.kind == dhcp.DISCOVER and lan.client.counters["naks"]:
            return []
        return server()(msg)

    lan = Lan(script)
    lan.start()
    lan.run_until(lambda: lan.client.state == State.BOUND)
    lan.run_until(lambda: lan.client.counters["naks"] == 1)
    assert lan.client_stack.ip == 0 and lan.client.lease is None


def test_discover_backs_off_4_8_16_32_64_64_with_jitter() -> None:
    lan = Lan(lambda msg: [])
    lan.start()
    lan.run_until(lambda: len(lan.seen) == 7, limit=400)
    times = [t for t, _, _ in lan.seen]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    for gap, nominal in zip(gaps, [4, 8, 16, 32, 64, 64], strict=True):
        assert nominal - 1 <= gap <= nominal + 1  # RFC 2131 4.1: randomised by +-1 s
    assert len({m.xid for _, m, _ in lan.seen}) == 1  # one transaction throughout
    assert all(m.secs == int(t - times[0]) for t, m, _ in lan.seen)


def test_unanswered_requests_start_over_after_the_configured_attempts() -> None:
    def script(msg: Message) -> list[Message]:
        return [reply_to(msg, dhcp.OFFER)] if msg.kind == dhcp.DISCOVER else []

    lan = Lan(script, DhcpConfig(request_attempts=3))
    lan.start()
    lan.run_until(lambda: lan.kinds().count(dhcp.DISCOVER) == 2)
    # (the second DISCOVER is offered at once, so a new REQUEST follows it)
    assert lan.kinds()[:5] == [dhcp.DISCOVER] + [dhcp.REQUEST] * 3 + [dhcp.DISCOVER]


def test_replies_for_another_xid_or_client_or_malformed_are_ignored() -> None:
    def script(msg: Message) -> list[Message]:
        if msg.kind != dhcp.DISCOVER:
            return server()(msg)
        good = reply_to(msg, dhcp.OFFER)
        wrong_xid = reply_to(msg, dhcp.OFFER)
        wrong_xid.xid ^= 1
        wrong_mac = reply_to(msg, dhcp.OFFER)
        wrong_mac.chaddr = bytes(6)
        no_server_id = reply_to(msg, dhcp.OFFER)
        del no_server_id.options[dhcp.SERVER_ID]
        return [wrong_xid, wrong_mac, no_server_id, good]

    lan = Lan(script)
    lan.start()
    with lan.sched:  # and a truncated datagram to port 68
        lan.sock.send(b"\x02" * 100, dhcp.BROADCAST, dhcp.CLIENT_PORT)
    lan.run_until(lambda: lan.client.state == State.BOUND)
    assert lan.client.counters["ignored"] == 3
    assert lan.client.counters["malformed"] == 1
    assert lan.client.counters["offers"] == 1


def test_an_address_in_use_is_declined_and_discovery_waits_ten_seconds() -> None:
    """RFC 2131 4.4.1: the client probes the acknowledged address with ARP; another host
    holding it answers (RFC 5227 2.1.1), so the client sends DHCPDECLINE and starts over
    ten seconds later (RFC 2131 3.1 step 5), this time getting another address."""
    other = OFFERED + 1

    def script(msg: Message) -> list[Message]:
        replies = server()(msg)
        if lan.kinds().count(dhcp.DISCOVER) > 1:  # after the decline: the next address
            for reply in replies:
                reply.yiaddr = other
        return replies

    lan = Lan(script)
    with lan.sched:  # a host already using the address the server offers first
        squatter = Stack(lan.sched, lan.switch.port(), OFFERED, 24)
    lan.start()
    lan.run_until(lambda: lan.client.state == State.BOUND)
    kinds = lan.kinds()
    assert kinds == [dhcp.DISCOVER, dhcp.REQUEST, dhcp.DECLINE, dhcp.DISCOVER, dhcp.REQUEST]
    (_, decline, dst), (again, _, _) = lan.seen[2], lan.seen[3]
    assert dst == dhcp.BROADCAST and decline.ciaddr == 0
    assert decline.address(dhcp.REQUESTED_IP) == OFFERED
    assert decline.address(dhcp.SERVER_ID) == SERVER_IP
    assert again - lan.seen[2][0] == pytest.approx(10)
    assert lan.client_stack.ip == other and lan.client.counters["declines"] == 1
    assert squatter.ip == OFFERED


def test_a_free_address_is_taken_after_the_arp_check() -> None:
    lan = Lan(server(), DhcpConfig(arp_check=2.0))
    lan.start()
    lan.run_until(lambda: lan.client.state == State.CHECKING)
    checking_from = lan.clock.time
    assert lan.client_stack.ip == 0  # not used before the check ends
    lan.run_until(lambda: lan.client.state == State.BOUND)
    assert lan.clock.time - checking_from == pytest.approx(2.0)
    lease = lan.client.lease
    assert lease is not None and lease.obtained == pytest.approx(lan.seen[1][0])  # request sent


def test_release_tells_the_server_and_drops_the_address() -> None:
    lan = Lan(server())
    lan.start()
    lan.run_until(lambda: lan.client.state == State.BOUND)
    with lan.sched:
        lan.client.release()
    lan.run_until(lambda: lan.kinds()[-1] == dhcp.RELEASE)
    _, release, dst = lan.seen[-1]
    assert dst == SERVER_IP and release.ciaddr == OFFERED
    assert release.address(dhcp.SERVER_ID) == SERVER_IP
    assert lan.client_stack.ip == 0 and lan.client.state == State.RELEASED
    assert lan.sched.next_deadline() is None or not lan.client._timer.running


def test_server_defaults_for_t1_and_t2() -> None:
    def script(msg: Message) -> list[Message]:
        kind = dhcp.OFFER if msg.kind == dhcp.DISCOVER else dhcp.ACK
        return [reply_to(msg, kind, lease=800, t1=None, t2=None)]

    lan = Lan(script)
    lan.start()
    lan.run_until(lambda: lan.client.state == State.BOUND)
    lease = lan.client.lease
    assert lease is not None
    assert (lease.t1 - lease.obtained, lease.t2 - lease.obtained) == (400, 700)  # 1/2, 7/8


# -- the adapter's ip="dhcp" ----------------------------------------------------------------


def test_adapter_takes_its_address_from_dhcp_and_releases_it() -> None:
    """``open_backend("mirage", switch=..., ip="dhcp")`` on a switch with the scripted
    server: the backend comes up with the leased address and gives it back at close."""
    seen: list[Message] = []

    async def main() -> None:
        switch = Switch(Scheduler(anyio.current_time))
        with switch.sched:
            server_stack = Stack(switch.sched, switch.port(), SERVER_IP, 24)
        sock = server_stack.udp_bind(0, dhcp.SERVER_PORT)
        script = server()

        def serve() -> None:
            while sock.queue:
                msg = dhcp.parse(sock.queue.popleft()[0])
                seen.append(msg)
                for reply in script(msg):
                    sock.send(dhcp.build(reply), dhcp.BROADCAST, dhcp.CLIENT_PORT)

        sock.on_readable = serve
        async with backends.open_backend("mirage", switch=switch, ip="dhcp") as net:
            assert net.ip == "10.9.0.77"  # type: ignore[attr-defined]
            assert net.dhcp.lease.dns == [ip_to_int("10.9.0.53")]  # type: ignore[attr-defined]
        assert seen[-1].kind == dhcp.RELEASE

    anyio.run(main)


def test_adapter_without_a_dhcp_server_fails_with_a_clear_timeout() -> None:
    async def main() -> None:
        switch = Switch(Scheduler(anyio.current_time))
        quick = DhcpConfig(initial_timeout=0.05, jitter=0.0)
        with pytest.raises(backends.Timeout, match=r"no DHCP lease within 0.4s: [3-9] DHCPDISC"):
            async with backends.open_backend(
                "mirage", switch=switch, ip="dhcp", dhcp=quick, dhcp_timeout=0.4
            ):
                pass

    anyio.run(main)
