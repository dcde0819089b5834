"""Neighbor Discovery (RFC 4861) and stateless address autoconfiguration (RFC 4862),
with the MLDv2 reports (RFC 3810) that announce the groups they join.

:class:`Ndp` is IPv6's ARP and more, for one interface: the neighbor cache with its
reachability states (RFC 4861 §7.3), neighbor solicitations and advertisements, the
default router and prefix lists fed by router advertisements (§6.3.4), duplicate
address detection for every address before use (RFC 4862 §5.4), and addresses formed
from advertised prefixes with stable interface identifiers (RFC 7217) or EUI-64
(RFC 4291 appendix A). Sans-IO: frames go out through ``send_frame``, time is the
scheduler's.
"""

from __future__ import annotations

import enum
import hashlib
import os
import random
import struct
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from . import ethernet, icmpv6, ipv6
from .errors import PacketError
from .netif import FrameSender
from .sched import Scheduler

# RFC 4861 §10 protocol constants
MAX_MULTICAST_SOLICIT = 3
MAX_UNICAST_SOLICIT = 3
REACHABLE_TIME = 30.0
RETRANS_TIMER = 1.0
DELAY_FIRST_PROBE_TIME = 5.0
MAX_RTR_SOLICITATIONS = 3
RTR_SOLICITATION_INTERVAL = 4.0
MAX_RTR_SOLICITATION_DELAY = 1.0
TWO_HOURS = 7200.0  # RFC 4862 §5.5.3 (e)
UNSOLICITED_REPORT_INTERVAL = 1.0  # RFC 3810 §9.11
MAX_QUERY_DELAY = 10.0  # RFC 3810 §9.3: the default Query Response Interval
# RFC 3810 §5: MLD messages carry a Hop-by-Hop header with a Router Alert option
# (RFC 2711, value 0: MLD), padded to 8 octets with a PadN option
_ROUTER_ALERT = bytes([58, 0, 5, 2, 0, 0, 1, 0])
_CHANGE_TO_EXCLUDE = 4  # RFC 3810 §5.2.12: a join, as a record type
INFINITY = 0xFFFFFFFF

OPT_SOURCE_LL = 1
OPT_TARGET_LL = 2
OPT_PREFIX = 3
OPT_MTU = 5

NA_ROUTER = 0x80000000
NA_SOLICITED = 0x40000000
NA_OVERRIDE = 0x20000000

_PREFIX = struct.Struct("!BBII4x16s")  # RFC 4861 §4.6.2 after type and length
_RA = struct.Struct("!BBHII")


class State(enum.Enum):
    """Neighbor cache entry states (RFC 4861 §7.3.2)."""

    INCOMPLETE = "incomplete"
    REACHABLE = "reachable"
    STALE = "stale"
    DELAY = "delay"
    PROBE = "probe"


@dataclass
class NdpConfig:
    """Tunables of one interface's Neighbor Discovery."""

    max_neighbors: int = 512
    """Cache entries; when full, the oldest non-INCOMPLETE one goes."""
    max_queued: int = 16
    """Packets held per INCOMPLETE neighbor; older ones are dropped (RFC 4861 §7.2.2)."""
    dad_transmits: int = 1
    """DupAddrDetectTransmits (RFC 4862 §5.1); 0 turns DAD off."""
    slaac: bool = True
    """Form addresses from router advertisements' autonomous prefixes."""
    stable_ids: bool = True
    """RFC 7217 interface identifiers (RFC 8064 recommends them); False: EUI-64."""
    secret: bytes = field(default_factory=lambda: os.urandom(16))
    """RFC 7217's secret key."""
    max_addresses: int = 16
    max_routers: int = 8
    max_prefixes: int = 16
    rng: random.Random = field(default_factory=random.Random)


@dataclass
class Neighbor:
    """One neighbor cache entry."""

    state: State
    mac: bytes | None = None
    router: bool = False
    deadline: float = 0.0
    probes: int = 0
    queue: deque[tuple[bytes, int]] = field(default_factory=deque)
    """Packets waiting for the address, each with its ``gso_size``."""


@dataclass
class Address:
    """One of our unicast addresses (RFC 4862 §2: tentative until DAD succeeds)."""

    address: int
    prefix_len: int
    tentative: bool = True
    duplicate: bool = False
    valid_until: float = float("inf")
    preferred_until: float = float("inf")
    autoconf: bool = False
    dad_sent: int = 0


def build_options(kind: int, value: bytes) -> bytes:
    """One option, padded to a multiple of 8 octets (RFC 4861 §4.6)."""
    total = -(-(2 + len(value)) // 8) * 8
    return bytes([kind, total // 8]) + value + b"\x00" * (total - 2 - len(value))


def parse_options(data: memoryview) -> list[tuple[int, memoryview]]:
    """``(type, option bytes after type and length)`` for each option; a zero length
    invalidates the whole message (RFC 4861 §4.6)."""
    out = []
    i = 0
    while i < len(data):
        if i + 2 > len(data):
            raise PacketError("ndp: truncated option")
        length = data[i + 1] * 8
        if length == 0 or i + length > len(data):
            raise PacketError(f"ndp: option of length {length} at {i}")
        out.append((data[i], data[i + 2 : i + length]))
        i += length
    return out


def _lladdr(options: list[tuple[int, memoryview]], kind: int) -> bytes | None:
    for k, value in options:
        if k == kind and len(value) >= 6:
            return bytes(value[:6])
    return None


def eui64(mac: bytes) -> int:
    """Modified EUI-64 interface identifier of a MAC: ff:fe in the middle, the U/L bit
    inverted (RFC 4291 appendix A)."""
    raw = bytes([mac[0] ^ 0x02]) + mac[1:3] + b"\xff\xfe" + mac[3:6]
    return int.from_bytes(raw, "big")


def stable_id(prefix: int, mac: bytes, dad_counter: int, secret: bytes) -> int:
    """RFC 7217 §5: F(Prefix, Net_Iface, Network_ID, DAD_Counter, secret_key), SHA-256,
    the low 64 bits; the reserved identifiers of RFC 5453 are avoided by rehashing."""
    counter = dad_counter
    while True:
        digest = hashlib.sha256(
            (prefix >> 64).to_bytes(8, "big") + mac + counter.to_bytes(2, "big") + secret
        ).digest()
        iid = int.from_bytes(digest[-8:], "big")
        if iid != 0 and iid >> 8 != 0xFDFFFFFFFFFFFF:  # subnet anycast and reserved ones
            return iid
        counter += 1


class Ndp:
    """Neighbor Discovery and address autoconfiguration on one Ethernet interface."""

    def __init__(
        self,
        sched: Scheduler,
        mac: bytes,
        send_frame: FrameSender,
        config: NdpConfig | None = None,
        *,
        on_address: Callable[[Address], None] | None = None,
    ) -> None:
        self.sched = sched
        self.mac = mac
        self.send_frame = send_frame
        self.config = config or NdpConfig()
        self.on_address = on_address
        """Called when an address finishes DAD (usable) or is found duplicate."""
        self.neighbors: dict[int, Neighbor] = {}
        self.addresses: dict[int, Address] = {}
        self.routers: dict[int, float] = {}
        """Default router list: address -> lifetime end (RFC 4861 §6.3.4)."""
        self.prefixes: dict[tuple[int, int], float] = {}
        """On-link prefixes ``(prefix, length)`` -> valid lifetime end."""
        self.groups: set[int] = {ipv6.ALL_NODES}
        """Multicast groups we listen to: all-nodes and each address's solicited-node."""
        self.group_macs: set[bytes] = {ipv6.multicast_mac(ipv6.ALL_NODES)}
        """Their Ethernet addresses (RFC 2464 §7), for the receive filter."""
        self.link_mtu: int | None = None
        """An MTU option from a router advertisement (RFC 4861 §4.6.4)."""
        self.cur_hop_limit = ipv6.DEFAULT_HOP_LIMIT
        self.reachable_time = self._random_reachable(REACHABLE_TIME)
        self.retrans_timer = RETRANS_TIMER
        self.counters = {"duplicates": 0, "dropped": 0, "evicted": 0, "bad": 0}
        self._rs_sent = 0
        link_local = ipv6.LINK_LOCAL_PREFIX | (
            stable_id(ipv6.LINK_LOCAL_PREFIX, mac, 0, self.config.secret)
            if self.config.stable_ids
            else eui64(mac)
        )
        self.link_local = link_local
        self.add_address(link_local, 64)

    def _random_reachable(self, base: float) -> float:
        """ReachableTime: BaseReachableTime times 0.5..1.5 (RFC 4861 §6.3.2)."""
        return base * self.config.rng.uniform(0.5, 1.5)

    # -- our addresses ----------------------------------------------------------------------

    def add_address(
        self, address: int, prefix_len: int, *, valid: float = float("inf"), autoconf: bool = False
    ) -> Address:
        """Configure an address: tentative, DAD first (RFC 4862 §5.4), then usable."""
        if address in self.addresses:
            return self.addresses[address]
        if len(self.addresses) >= self.config.max_addresses:
            raise ValueError(f"at most {self.config.max_addresses} IPv6 addresses")
        now = self.sched.now()
        addr = Address(address, prefix_len, valid_until=now + valid, autoconf=autoconf)
        self.addresses[address] = addr
        self._join(ipv6.solicited_node(address))  # RFC 4862 §5.4.2: join before DAD
        if prefix_len < 128 and not ipv6.is_link_local(address):
            mask = ((1 << prefix_len) - 1) << (128 - prefix_len)
            self.prefixes.setdefault((address & mask, prefix_len), float("inf"))
        if self.config.dad_transmits <= 0:
            self._usable(addr)
        else:
            # RFC 4862 §5.4.2: a random delay before the first solicitation
            delay = self.config.rng.uniform(0, MAX_RTR_SOLICITATION_DELAY)
            self.sched.call_later(delay, partial(self._dad_step, addr))
        return addr

    # -- multicast listener reports (RFC 3810) ---------------------------------------------

    def _join(self, group: int) -> None:
        """Listen to ``group`` and report it: now, and once more within a second
        (RFC 3810 §6.1, Robustness Variable 2)."""
        if group in self.groups:
            return
        self.groups.add(group)
        self.group_macs.add(ipv6.multicast_mac(group))
        self._report([group])
        delay = self.config.rng.uniform(0, UNSOLICITED_REPORT_INTERVAL)
        self.sched.call_later(delay, partial(self._report, [group]))

    def _report(self, groups: list[int]) -> None:
        """An MLDv2 Report (RFC 3810 §5.2) to ff02::16, hop limit 1, from our link-local
        address or, before it passed DAD, the unspecified one (§5.2.13). All-nodes is
        never reported (§6)."""
        records = b"".join(
            bytes([_CHANGE_TO_EXCLUDE, 0, 0, 0]) + g.to_bytes(16, "big")
            for g in groups
            if g != ipv6.ALL_NODES
        )
        if not records:
            return
        addr = self.addresses.get(self.link_local)
        src = self.link_local if addr is not None and not addr.tentative else ipv6.UNSPECIFIED
        dst = ipv6.ALL_MLDV2_ROUTERS
        body = b"\x00\x00" + (len(records) // 20).to_bytes(2, "big") + records
        msg = icmpv6.message(src, dst, icmpv6.MLDV2_REPORT, 0, body)
        payload = _ROUTER_ALERT + msg
        pkt = ipv6.header(src, dst, ipv6.HOPOPT, len(payload), 1) + payload
        self._frame(ipv6.multicast_mac(dst), pkt)

    def mld_query(self, pkt: ipv6.Packet, body: memoryview) -> None:
        """A Multicast Listener Query (RFC 3810 §5.1, or MLDv1's RFC 2710 §3): report our
        groups (or the one asked about) after a random part of its Maximum Response Delay
        (§6.2). Only from link-local sources (§5.1.14)."""
        if not ipv6.is_link_local(pkt.src) or len(body) < 20:
            self.counters["bad"] += 1
            return
        max_delay = int.from_bytes(body[0:2], "big")
        if max_delay >= 0x8000:  # RFC 3810 §5.1.3: the exponential form
            max_delay = ((max_delay & 0x0FFF) | 0x1000) << (((max_delay >> 12) & 7) + 3)
        group = int.from_bytes(body[4:20], "big")
        if group and group not in self.groups:
            return
        asked = [group] if group else sorted(self.groups)
        delay = self.config.rng.uniform(0, min(max_delay / 1000, MAX_QUERY_DELAY))
        self.sched.call_later(delay, partial(self._report, asked))

    def _dad_step(self, addr: Address) -> None:
        if self.addresses.get(addr.address) is not addr or addr.duplicate or not addr.tentative:
            return
        if addr.dad_sent >= self.config.dad_transmits:
            self._usable(addr)
            return
        addr.dad_sent += 1
        # RFC 4862 §5.4.2: source unspecified, to the solicited-node group, no SLLA option
        self._send_ns(addr.address, ipv6.UNSPECIFIED, ipv6.solicited_node(addr.address), False)
        self.sched.call_later(self.retrans_timer, partial(self._dad_step, addr))

    def _usable(self, addr: Address) -> None:
        addr.tentative = False
        if addr.address == self.link_local:
            # an unsolicited NA tells the link (RFC 4861 §7.2.6), then look for routers
            self._send_na(addr.address, ipv6.ALL_NODES, ipv6.ALL_NODES, NA_OVERRIDE)
            self.sched.call_later(
                self.config.rng.uniform(0, MAX_RTR_SOLICITATION_DELAY), self._solicit_router
            )
        if self.on_address is not None:
            self.on_address(addr)

    def _duplicate(self, addr: Address) -> None:
        """RFC 4862 §5.4.5: the address is not used (and is logged by the stack)."""
        if addr.duplicate:
            return
        addr.duplicate = True
        addr.tentative = True
        self.counters["duplicates"] += 1
        del self.addresses[addr.address]
        if self.on_address is not None:
            self.on_address(addr)

    def usable(self) -> list[int]:
        """Our addresses that passed DAD and are still valid."""
        now = self.sched.now()
        return [
            a.address
            for a in self.addresses.values()
            if not a.tentative and not a.duplicate and a.valid_until > now
        ]

    def is_ours(self, address: int) -> bool:
        """A usable unicast address of ours."""
        addr = self.addresses.get(address)
        return addr is not None and not addr.tentative and addr.valid_until > self.sched.now()

    def source_for(self, dst: int) -> int:
        """Source selection, the short form of RFC 6724 §5: same scope first (link-local
        for link-local and multicast link scope), then the longest matching prefix."""
        usable = self.usable()
        if not usable:
            return ipv6.UNSPECIFIED
        if ipv6.is_link_local(dst) or (ipv6.is_multicast(dst) and (dst >> 112) & 0xF <= 2):
            return self.link_local if self.link_local in usable else usable[0]
        globals_ = [a for a in usable if not ipv6.is_link_local(a)]
        if not globals_:
            return usable[0]
        return max(globals_, key=lambda a: 128 - (a ^ dst).bit_length())

    # -- routes -----------------------------------------------------------------------------

    def on_link(self, dst: int) -> bool:
        """Link-local, or inside an on-link prefix (RFC 4861 §5.2)."""
        if ipv6.is_link_local(dst) or ipv6.is_multicast(dst):
            return True
        now = self.sched.now()
        for (prefix, length), until in self.prefixes.items():
            if until > now and (dst >> (128 - length)) == (prefix >> (128 - length)):
                return True
        return False

    def default_router(self) -> int | None:
        """A live default router, preferring one known reachable (RFC 4861 §6.3.6)."""
        now = self.sched.now()
        live = [r for r, until in self.routers.items() if until > now]
        for r in live:
            entry = self.neighbors.get(r)
            if entry is not None and entry.state != State.INCOMPLETE:
                return r
        return live[0] if live else None

    def next_hop(self, dst: int) -> int | None:
        """Next-hop determination (RFC 4861 §5.2); None: no route."""
        if self.on_link(dst):
            return dst
        return self.default_router()

    # -- output -----------------------------------------------------------------------------

    def _frame(self, mac: bytes, packet: bytes, gso_size: int = 0) -> None:
        self.send_frame(ethernet.header(mac, self.mac, ethernet.TYPE_IPV6) + packet, gso_size)

    def output(self, next_hop: int, packet: bytes, gso_size: int = 0) -> None:
        """Send an IPv6 packet to ``next_hop`` on the link, resolving it first (§7.2.2);
        ``gso_size`` goes with it to the device (:meth:`Netif.send`)."""
        if ipv6.is_multicast(next_hop):
            self._frame(ipv6.multicast_mac(next_hop), packet)
            return
        entry = self.neighbors.get(next_hop)
        now = self.sched.now()
        if entry is None:
            entry = self._new_entry(next_hop, State.INCOMPLETE)
            entry.queue.append((packet, gso_size))
            self._solicit(next_hop, entry)
            return
        if entry.state == State.INCOMPLETE:
            if len(entry.queue) >= self.config.max_queued:
                entry.queue.popleft()
                self.counters["dropped"] += 1
            entry.queue.append((packet, gso_size))
            return
        assert entry.mac is not None
        if entry.state == State.REACHABLE and now > entry.deadline:
            entry.state = State.STALE
        if entry.state == State.STALE:
            # §7.3.3: first use of a STALE entry starts the DELAY timer
            entry.state = State.DELAY
            entry.deadline = now + DELAY_FIRST_PROBE_TIME
            self.sched.call_later(
                DELAY_FIRST_PROBE_TIME, partial(self._delay_over, next_hop, entry)
            )
        self._frame(entry.mac, packet, gso_size)

    def _new_entry(self, ip: int, state: State) -> Neighbor:
        neighbors = self.neighbors
        if len(neighbors) >= self.config.max_neighbors:
            victim = next(
                (k for k, e in neighbors.items() if e.state != State.INCOMPLETE),
                next(iter(neighbors)),
            )
            dropped = neighbors.pop(victim)
            self.counters["dropped"] += len(dropped.queue)
            self.counters["evicted"] += 1
        entry = neighbors[ip] = Neighbor(state)
        return entry

    def _solicit(self, target: int, entry: Neighbor) -> None:
        """Address resolution: multicast NS to the solicited-node group, retried
        MAX_MULTICAST_SOLICIT times RetransTimer apart (§7.2.2)."""
        if self.neighbors.get(target) is not entry or entry.state != State.INCOMPLETE:
            return
        if entry.probes >= MAX_MULTICAST_SOLICIT:
            del self.neighbors[target]
            self.counters["dropped"] += len(entry.queue)  # §7.2.2: address unreachable
            return
        entry.probes += 1
        src = self.source_for(target)
        self._send_ns(target, src, ipv6.solicited_node(target), src != ipv6.UNSPECIFIED)
        self.sched.call_later(self.retrans_timer, partial(self._solicit, target, entry))

    def _delay_over(self, target: int, entry: Neighbor) -> None:
        if self.neighbors.get(target) is not entry or entry.state != State.DELAY:
            return
        entry.state = State.PROBE  # §7.3.3: unicast probes
        entry.probes = 0
        self._probe(target, entry)

    def _probe(self, target: int, entry: Neighbor) -> None:
        if self.neighbors.get(target) is not entry or entry.state != State.PROBE:
            return
        if entry.probes >= MAX_UNICAST_SOLICIT:
            del self.neighbors[target]
            return
        entry.probes += 1
        assert entry.mac is not None
        self._send_ns(target, self.source_for(target), target, True, mac=entry.mac)
        self.sched.call_later(self.retrans_timer, partial(self._probe, target, entry))

    def _send_icmp(self, src: int, dst: int, kind: int, body: bytes, mac: bytes | None) -> None:
        msg = icmpv6.message(src, dst, kind, 0, body)
        # §7.1: Neighbor Discovery messages always carry hop limit 255
        pkt = ipv6.header(src, dst, ipv6.ICMPV6, len(msg), 255) + msg
        self._frame(mac or ipv6.multicast_mac(dst), pkt)

    def _send_ns(
        self, target: int, src: int, dst: int, with_lladdr: bool, mac: bytes | None = None
    ) -> None:
        body = b"\x00\x00\x00\x00" + target.to_bytes(16, "big")
        if with_lladdr:
            body += build_options(OPT_SOURCE_LL, self.mac)
        self._send_icmp(src, dst, icmpv6.NEIGHBOR_SOLICITATION, body, mac)

    def _send_na(
        self, target: int, src: int, dst: int, flags: int, mac: bytes | None = None
    ) -> None:
        body = flags.to_bytes(4, "big") + target.to_bytes(16, "big")
        body += build_options(OPT_TARGET_LL, self.mac)
        self._send_icmp(src, dst, icmpv6.NEIGHBOR_ADVERTISEMENT, body, mac)

    def _solicit_router(self) -> None:
        """Router solicitations at start-up (RFC 4861 §6.3.7), until one answers."""
        if self.routers or self._rs_sent >= MAX_RTR_SOLICITATIONS:
            return
        self._rs_sent += 1
        body = b"\x00\x00\x00\x00" + build_options(OPT_SOURCE_LL, self.mac)
        self._send_icmp(self.link_local, ipv6.ALL_ROUTERS, icmpv6.ROUTER_SOLICITATION, body, None)
        self.sched.call_later(RTR_SOLICITATION_INTERVAL, self._solicit_router)

    # -- input ------------------------------------------------------------------------------

    def input(self, pkt: ipv6.Packet, kind: int, code: int, body: memoryview) -> None:
        """A Neighbor Discovery message, already checksummed; invalid ones are dropped
        silently (RFC 4861 §6.1, §7.1)."""
        if pkt.hop_limit != 255 or code != 0:
            self.counters["bad"] += 1
            return
        try:
            if kind == icmpv6.NEIGHBOR_SOLICITATION:
                self._ns_input(pkt, body)
            elif kind == icmpv6.NEIGHBOR_ADVERTISEMENT:
                self._na_input(pkt, body)
            elif kind == icmpv6.ROUTER_ADVERTISEMENT:
                self._ra_input(pkt, body)
        except PacketError:
            self.counters["bad"] += 1

    def _ns_input(self, pkt: ipv6.Packet, body: memoryview) -> None:
        if len(body) < 20:
            raise PacketError("ndp: short neighbor solicitation")
        target = int.from_bytes(body[4:20], "big")
        if ipv6.is_multicast(target):
            raise PacketError("ndp: multicast target")
        options = parse_options(body[20:])
        slla = _lladdr(options, OPT_SOURCE_LL)
        src = pkt.src
        if src == ipv6.UNSPECIFIED and (pkt.dst != ipv6.solicited_node(target) or slla):
            # §7.1.1: DAD probes go to a solicited-node group and carry no SLLA
            raise PacketError("ndp: bad DAD solicitation")
        addr = self.addresses.get(target)
        if addr is None:
            return
        if addr.tentative:
            if src == ipv6.UNSPECIFIED:
                self._duplicate(addr)  # RFC 4862 §5.4.3: someone else is probing it too
            return  # a tentative address is never answered for
        if src == ipv6.UNSPECIFIED:
            # §7.2.4: answer a DAD probe to all-nodes, not solicited
            self._send_na(target, target, ipv6.ALL_NODES, NA_OVERRIDE)
            return
        if slla is not None:
            self._learn(src, slla, from_solicitation=True)
        entry = self.neighbors.get(src)
        mac = slla or (entry.mac if entry is not None else None)
        if mac is None:
            return  # unicast NS without SLLA from an unknown neighbor: nothing to answer to
        self._send_na(target, target, src, NA_SOLICITED | NA_OVERRIDE, mac=mac)

    def _learn(self, ip: int, mac: bytes, *, from_solicitation: bool) -> None:
        """§7.2.3: an NS (or RS/RA) with a link-layer address creates or updates a
        STALE entry, flushing what waited for it."""
        entry = self.neighbors.get(ip)
        if entry is None:
            entry = self._new_entry(ip, State.STALE)
            entry.mac = mac
            return
        if entry.mac != mac:
            entry.mac = mac
            entry.state = State.STALE
        self._flush(entry)

    def _flush(self, entry: Neighbor) -> None:
        if entry.state == State.INCOMPLETE:
            entry.state = State.STALE
        assert entry.mac is not None
        while entry.queue:
            self._frame(entry.mac, *entry.queue.popleft())

    def _na_input(self, pkt: ipv6.Packet, body: memoryview) -> None:
        if len(body) < 20:
            raise PacketError("ndp: short neighbor advertisement")
        flags = int.from_bytes(body[0:4], "big")
        target = int.from_bytes(body[4:20], "big")
        if ipv6.is_multicast(target):
            raise PacketError("ndp: multicast target")
        if ipv6.is_multicast(pkt.dst) and flags & NA_SOLICITED:
            raise PacketError("ndp: solicited advertisement to a group")  # §7.1.2
        tlla = _lladdr(parse_options(body[20:]), OPT_TARGET_LL)
        addr = self.addresses.get(target)
        if addr is not None:
            if addr.tentative:
                self._duplicate(addr)  # RFC 4862 §5.4.4
            return
        entry = self.neighbors.get(target)
        if entry is None:
            return  # §7.2.5: unsolicited advertisements create no entries
        now = self.sched.now()
        solicited = bool(flags & NA_SOLICITED)
        override = bool(flags & NA_OVERRIDE)
        if entry.state == State.INCOMPLETE:
            if tlla is None:
                return
            entry.mac = tlla
            entry.state = State.REACHABLE if solicited else State.STALE
            entry.deadline = now + self.reachable_time
            entry.router = bool(flags & NA_ROUTER)
            assert entry.mac is not None
            while entry.queue:
                self._frame(entry.mac, *entry.queue.popleft())
            return
        different = tlla is not None and tlla != entry.mac
        if not override and different:
            if entry.state == State.REACHABLE:
                entry.state = State.STALE
            return
        if tlla is not None:
            entry.mac = tlla
        if solicited:
            entry.state = State.REACHABLE
            entry.deadline = now + self.reachable_time
        elif different:
            entry.state = State.STALE
        was_router = entry.router
        entry.router = bool(flags & NA_ROUTER)
        if was_router and not entry.router:
            self.routers.pop(target, None)  # §7.2.5: no longer a router

    def _ra_input(self, pkt: ipv6.Packet, body: memoryview) -> None:
        """§6.3.4: default router, parameters, prefixes; RFC 4862 §5.5.3: addresses."""
        if not ipv6.is_link_local(pkt.src):
            raise PacketError("ndp: router advertisement from a non-link-local source")
        if len(body) < 12:
            raise PacketError("ndp: short router advertisement")
        hop_limit, _flags, lifetime, reachable, retrans = _RA.unpack_from(body)
        options = parse_options(body[12:])
        now = self.sched.now()
        if hop_limit:
            self.cur_hop_limit = hop_limit
        if reachable and reachable <= 3_600_000:
            self.reachable_time = self._random_reachable(reachable / 1000)
        if retrans:
            self.retrans_timer = max(0.01, min(retrans / 1000, 60.0))
        if lifetime:
            if pkt.src in self.routers or len(self.routers) < self.config.max_routers:
                self.routers[pkt.src] = now + lifetime
        else:
            self.routers.pop(pkt.src, None)
        slla = _lladdr(options, OPT_SOURCE_LL)
        if slla is not None:
            self._learn(pkt.src, slla, from_solicitation=False)
        entry = self.neighbors.get(pkt.src)
        if entry is not None:
            entry.router = True
        for kind, value in options:
            if kind == OPT_MTU and len(value) >= 6:
                mtu = int.from_bytes(value[2:6], "big")
                if mtu >= ipv6.MIN_MTU:
                    self.link_mtu = mtu
            elif kind == OPT_PREFIX:
                self._prefix(value, now)

    def _prefix(self, value: memoryview, now: float) -> None:
        if len(value) != 30:  # §4.6.2: the option's length is 4 (32 octets)
            raise PacketError("ndp: bad prefix information option")
        length, flags, valid, preferred, raw = _PREFIX.unpack_from(value)
        prefix = int.from_bytes(raw, "big")
        if length > 128 or ipv6.is_link_local(prefix) or ipv6.is_multicast(prefix):
            return  # §6.3.4 / RFC 4862 §5.5.3 (b): ignored
        if length:
            prefix &= ((1 << length) - 1) << (128 - length)
        if flags & 0x80:  # L: on-link
            key = (prefix, length)
            if valid == 0:
                self.prefixes.pop(key, None)
            elif key in self.prefixes or len(self.prefixes) < self.config.max_prefixes:
                self.prefixes[key] = float("inf") if valid == INFINITY else now + valid
        if not flags & 0x40 or not self.config.slaac or preferred > valid:
            return  # RFC 4862 §5.5.3 (a), (c)
        if length != 64:
            return  # RFC 4862 §5.5.3 (d): interface identifiers here are 64 bits
        lifetime = float("inf") if valid == INFINITY else float(valid)
        for addr in self.addresses.values():
            if addr.autoconf and addr.address >> 64 == prefix >> 64:
                # RFC 4862 §5.5.3 (e): the two-hour rule against a forged short lifetime
                remaining = addr.valid_until - now
                if lifetime > TWO_HOURS or lifetime > remaining:
                    addr.valid_until = now + lifetime
                elif remaining > TWO_HOURS:
                    addr.valid_until = now + TWO_HOURS
                return
        if valid == 0 or len(self.addresses) >= self.config.max_addresses:
            return
        iid = (
            stable_id(prefix, self.mac, 0, self.config.secret)
            if self.config.stable_ids
            else eui64(self.mac)
        )
        self.add_address(prefix | iid, 64, valid=lifetime, autoconf=True)
