"""One host: a link interface (Ethernet + ARP, and Neighbor Discovery for IPv6) plus
loopback; IPv4 routing for a single subnet and a default gateway, ICMP; IPv6 (RFC 8200)
with ICMPv6, link-local, static and SLAAC addresses (:mod:`.ndp`) and path MTU from
Packet Too Big (RFC 8201); the UDP and TCP socket tables of both families. Sans-IO.

Dual stack: one :class:`Tcp` per family (mirage-tcpip's ``Flow.Make(IP)``), UDP sockets
keyed by family. An IPv6 wildcard UDP socket also receives IPv4 datagrams addressed to
its port, their sources written as ``::ffff:a.b.c.d`` (Linux's ``bindv6only=0``).

Loopback (127.0.0.0/8 and the host's own address, RFC 1122 3.2.1.3 (g) and 3.3.6) is an
interface of its own with a 65535-byte MTU: its packets go through the scheduler's work
queue, never re-entrantly.
"""

from __future__ import annotations

import itertools
import os
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from backends.errors import AddressInUse, AddressUnavailable

from . import ethernet, icmp, icmpv6, ipv4, ipv6, udp
from .arp import Arp, ArpConfig
from .errors import PacketError
from .ndp import Address, Ndp, NdpConfig
from .netif import NO_OFFLOAD, Netif, Offload
from .sched import Scheduler, log
from .tcp import EPHEMERAL_HIGH, EPHEMERAL_LOW, IPV6, Tcp, TcpConfig
from .tcp.options import TIMESTAMP_LEN

LOOPBACK_IP = ipv4.ip_to_int("127.0.0.1")
LOOPBACK_MTU = 65535
BROADCAST_IP = 0xFFFFFFFF


@dataclass
class StackConfig:
    """Everything tunable about a stack."""

    tcp: TcpConfig = field(default_factory=TcpConfig)
    arp: ArpConfig = field(default_factory=ArpConfig)
    udp_queue: int = 4096
    """Datagrams held per endpoint before new ones are dropped (a full socket buffer)."""
    reassembly_timeout: float = 30.0
    max_reassemblies: int = 64
    icmp_rate: float = 100.0
    loopback_mtu: int = LOOPBACK_MTU
    ndp: NdpConfig = field(default_factory=NdpConfig)
    reassembly6_timeout: float = 60.0
    """RFC 8200 §4.5: give up a reassembly 60 seconds after its first fragment."""
    pmtu_timeout: float = 600.0
    """RFC 8201 §4: forget a learned path MTU after 10 minutes (at least 5)."""
    max_pmtu_entries: int = 1024


class UdpSocket:
    """A bound UDP endpoint: a bounded queue of ``(payload, (src ip, src port))``."""

    def __init__(self, stack: Stack, ip: int, port: int, limit: int, family: int = 4) -> None:
        self.stack = stack
        self.ip = ip
        self.port = port
        self.family = family
        """4 or 6; a family-6 socket sends to ``::ffff:a.b.c.d`` over IPv4."""
        self.limit = limit
        self.queue: deque[tuple[bytes, tuple[int, int]]] = deque()
        self.dropped = 0
        self.closed = False
        self.on_readable: Callable[[], None] | None = None
        self.peer: tuple[int, int] | None = None
        """``(ip, port)`` of a connected endpoint: only its datagrams are queued, and an
        ICMP port unreachable from it sets :attr:`refused` (RFC 1122 4.1.3.3)."""
        self.refused = False

    def send(self, payload: bytes, dst: int, dport: int) -> None:
        """Send one datagram (fragmented by IP if it exceeds the MTU)."""
        stack = self.stack
        if self.family == 6:
            if not ipv6.is_v4_mapped(dst):
                src = self.ip or stack.source6_for(dst)
                stack.ip6_output(
                    src, dst, ipv6.UDP, udp.datagram(src, dst, self.port, dport, payload)
                )
                return
            dst &= 0xFFFFFFFF
        src = self.ip & 0xFFFFFFFF or stack.source_for(dst)
        stack.ip_output(src, dst, ipv4.PROTO_UDP, udp.datagram(src, dst, self.port, dport, payload))

    def close(self) -> None:
        """Unbind."""
        if not self.closed:
            self.closed = True
            table = self.stack.udp6_sockets if self.family == 6 else self.stack.udp_sockets
            table.pop((self.ip, self.port), None)
            if self.on_readable is not None:
                self.on_readable()


class Stack:
    """A host's dual IPv4/IPv6 stack over ``netif`` (or loopback only when ``netif`` is
    None). ``ip=0``: no IPv4 address; ``ipv6_addresses`` are static IPv6 ones, besides
    the link-local one and what SLAAC adds."""

    def __init__(
        self,
        sched: Scheduler,
        netif: Netif | None,
        ip: int,
        prefix: int,
        gateway: int | None = None,
        config: StackConfig | None = None,
        *,
        ipv6_addresses: Sequence[tuple[int, int]] = (),
        gateway6: int | None = None,
    ) -> None:
        self.sched = sched
        self.netif = netif
        self.ip = ip
        self.prefix = prefix
        self.mask = ipv4.netmask(prefix)
        self.gateway = gateway
        self.config = config or StackConfig()
        self.mtu = netif.mtu if netif is not None else self.config.loopback_mtu
        self._ident = itertools.count(1)
        self._tcp_routes: dict[int, tuple[int, tuple[bytes, float], bytes, int, int]] = {}
        """For :meth:`_tcp_output`: destination -> (next hop, its ARP entry, Ethernet
        header, fixed part of the IPv4 header sum, source address)."""
        self.reassembler = ipv4.Reassembler(
            sched,
            timeout=self.config.reassembly_timeout,
            max_datagrams=self.config.max_reassemblies,
        )
        self.icmp_limit = icmp.RateLimit(self.config.icmp_rate)
        self.udp_sockets: dict[tuple[int, int], UdpSocket] = {}
        self.tcp = Tcp(
            sched, self._tcp_output, self.mss_for, self.config.tcp, offload_for=self.offload_for
        )
        self.tcp6 = Tcp(
            sched,
            self._tcp6_output,
            self.mss6_for,
            self.config.tcp,
            family=IPV6,
            offload_for=self.offload6_for,
        )
        self.udp6_sockets: dict[tuple[int, int], UdpSocket] = {}
        self.reassembler6 = ipv6.Reassembler(
            sched,
            timeout=self.config.reassembly6_timeout,
            max_datagrams=self.config.max_reassemblies,
            on_timeout=self._reassembly_timeout,
        )
        self.pmtu: dict[int, tuple[int, float]] = {}
        """Path MTUs learned from Packet Too Big: destination -> (MTU, expiry)."""
        self._ident6 = itertools.count(int.from_bytes(os.urandom(4), "big"))
        self.counters = {
            "frames_in": 0,
            "frames_out": 0,
            "bad": 0,
            "not_for_us": 0,
            "no_route": 0,
            "too_big": 0,
            "echo": 0,
            "errors": 0,
            "param_problems": 0,
            "packet_too_big": 0,
        }
        self.arp: Arp | None = None
        self.ndp: Ndp | None = None
        self._groups_mac: set[bytes] = set()
        self.closed = False
        if netif is not None:
            self.arp = Arp(sched, netif.mac, ip, self._send_frame, self.config.arp)
            if ip:
                self.arp.announce()  # IPv4 first, as before IPv6 came: then MLD, DAD
            self.ndp = Ndp(
                sched, netif.mac, self._send_frame, self.config.ndp, on_address=self._address
            )
            netif.attach(self.frame_input)
            for addr, plen in ipv6_addresses:
                self.ndp.add_address(addr, plen)
            if gateway6 is not None:
                self.ndp.routers[gateway6] = float("inf")
            self._groups_mac = self.ndp.group_macs  # the same set: it grows with SLAAC

    # -- addresses and routes -------------------------------------------------------------

    def configure(self, ip: int, prefix: int, gateway: int | None) -> None:
        """Take a new address (``0``: none, while DHCP looks for one), prefix and gateway,
        and announce it (gratuitous ARP, RFC 5227 3)."""
        self.ip = ip
        self.prefix = prefix
        self.mask = ipv4.netmask(prefix)
        self.gateway = gateway
        self._tcp_routes.clear()
        if self.arp is not None:
            self.arp.ip = ip
            if ip:
                self.arp.announce()

    def is_local(self, ip: int) -> bool:
        """Whether ``ip`` is one of ours (loopback included)."""
        return ip == self.ip or ipv4.is_loopback(ip)

    def source_for(self, dst: int) -> int:
        """The source address for a destination (RFC 1122 3.3.4.3)."""
        return LOOPBACK_IP if ipv4.is_loopback(dst) else self.ip

    def next_hop(self, dst: int) -> int | None:
        """On-link destinations directly, others through the gateway; None: no route."""
        if (dst & self.mask) == (self.ip & self.mask):
            return dst
        return self.gateway

    def check_route(self, dst: int) -> None:
        """Raise :class:`AddressUnavailable` when ``dst`` cannot be reached from here."""
        if dst == 0 or dst == BROADCAST_IP or (dst >> 28) == 0xE:
            raise AddressUnavailable(f"cannot connect to {ipv4.int_to_ip(dst)}")
        if self.is_local(dst):
            return
        if self.netif is None or self.next_hop(dst) is None:
            raise AddressUnavailable(
                f"no route to {ipv4.int_to_ip(dst)}: not in "
                f"{ipv4.int_to_ip(self.ip & self.mask)}/{self.prefix} and no gateway"
            )

    def mss_for(self, dst: int) -> int:
        """MSS to advertise towards ``dst``: its interface's MTU minus 40 (RFC 9293 3.7.1)."""
        mtu = self.config.loopback_mtu if self.is_local(dst) else self.mtu
        return mtu - 40

    def offload_for(self, dst: int) -> Offload:
        """What the interface towards ``dst`` does for TCP: the link's offloads, none
        for loopback (whose segments are checked on the way in like any other)."""
        if self.netif is None or self.is_local(dst):
            return NO_OFFLOAD
        return self.netif.offload

    def offload6_for(self, dst: int) -> Offload:
        """:meth:`offload_for` over IPv6."""
        if self.netif is None or self.is_local6(dst):
            return NO_OFFLOAD
        return self.netif.offload

    # -- IPv6 addresses and routes --------------------------------------------------------

    def _address(self, addr: Address) -> None:
        if addr.duplicate:
            log.warning(
                "mirage: %s is in use on the link (DAD, RFC 4862 5.4.5): not used",
                ipv6.to_text(addr.address),
            )

    def is_local6(self, ip: int) -> bool:
        """Whether ``ip`` is ``::1`` or one of our usable IPv6 addresses."""
        return ip == ipv6.LOOPBACK or (self.ndp is not None and self.ndp.is_ours(ip))

    def source6_for(self, dst: int) -> int:
        """The IPv6 source for a destination (RFC 6724 §5, short form)."""
        if dst == ipv6.LOOPBACK or self.ndp is None:
            return ipv6.LOOPBACK
        if self.ndp.is_ours(dst):
            return dst
        return self.ndp.source_for(dst)

    def check_route6(self, dst: int) -> None:
        """Raise :class:`AddressUnavailable` when ``dst`` cannot be reached over IPv6."""
        if dst == ipv6.UNSPECIFIED or ipv6.is_multicast(dst):
            raise AddressUnavailable(f"cannot connect to {ipv6.to_text(dst)}")
        if self.is_local6(dst):
            return
        if self.ndp is None or self.ndp.next_hop(dst) is None:
            raise AddressUnavailable(f"no route to {ipv6.to_text(dst)}: off-link and no router")
        if self.source6_for(dst) == ipv6.UNSPECIFIED:
            raise AddressUnavailable(f"no usable IPv6 address to reach {ipv6.to_text(dst)} from")

    def path_mtu(self, dst: int, local: bool | None = None) -> int:
        """The MTU towards ``dst`` (``local``: whether it is ours, if known): loopback's,
        or the link's lowered by what Packet Too Big taught (RFC 8201 §4), never below
        1280."""
        if self.is_local6(dst) if local is None else local:
            return self.config.loopback_mtu
        mtu = self.mtu
        if self.ndp is not None and self.ndp.link_mtu is not None:
            mtu = min(mtu, self.ndp.link_mtu)
        entry = self.pmtu.get(dst)
        if entry is not None:
            if entry[1] > self.sched.now():
                mtu = min(mtu, entry[0])
            else:
                del self.pmtu[dst]
        return mtu

    def mss6_for(self, dst: int) -> int:
        """MSS towards ``dst``: path MTU minus 60 (RFC 8200 §8.3; RFC 9293 3.7.1)."""
        return self.path_mtu(dst) - 60

    def _packet_too_big(self, body: memoryview) -> None:
        """RFC 8201 §4: lower the path MTU of the quoted packet's destination (never under
        1280, RFC 8200 §5) and the segment size of the connections going there."""
        if len(body) < 4 + ipv6.HEADER_LEN:
            return
        mtu = max(ipv6.MIN_MTU, int.from_bytes(body[0:4], "big"))
        dst = int.from_bytes(body[4 + 24 : 4 + 40], "big")
        if mtu >= self.path_mtu(dst):
            return  # RFC 8201 §4: never raise it from a PTB
        self.counters["packet_too_big"] += 1
        pmtu = self.pmtu
        if dst not in pmtu and len(pmtu) >= self.config.max_pmtu_entries:
            del pmtu[next(iter(pmtu))]
        pmtu[dst] = (mtu, self.sched.now() + self.config.pmtu_timeout)
        for conn in self.tcp6.connections.values():
            if conn.rip == dst:
                limit = mtu - 60 - (TIMESTAMP_LEN if conn.ts_ok else 0)
                conn.mss = min(conn.mss, limit)
                conn.local_mss = min(conn.local_mss, mtu - 60)

    # -- output ---------------------------------------------------------------------------

    def _send_frame(self, frame: bytes, gso_size: int = 0) -> None:
        if self.netif is not None and not self.closed:
            self.counters["frames_out"] += 1
            self.netif.send(frame, gso_size)

    def _tcp_output(self, src: int, dst: int, seg: bytes, gso_size: int = 0) -> None:
        """A TCP segment to ``dst`` over IPv4 (DF set: TCP sizes its segments). Once the
        next hop's MAC is known, the frame is built from what stays the same towards
        that destination (the Ethernet header, the header checksum's fixed part) and
        handed straight to the device, while the ARP entry it came from stays current;
        everything else goes through :meth:`ip_output`."""
        route = self._tcp_routes.get(dst)
        if route is not None:
            hop, entry, prefix, base, source = route
            arp = self.arp
            if (
                source == src
                and arp is not None
                and arp.cache.get(hop) is entry
                and entry[1] >= self.sched.now()
                and not self.closed
            ):
                n = len(seg)
                if ipv4.HEADER_LEN + n <= (ipv4.MAX_PACKET if gso_size else self.mtu):
                    ident = next(self._ident) & 0xFFFF
                    head = ipv4.header_from_sum(base, src, dst, ipv4.PROTO_TCP, n, ident, df=True)
                    self.counters["frames_out"] += 1
                    assert self.netif is not None  # an ARP entry means a link
                    self.netif.send(prefix + head + seg, gso_size)
                    return
        self.ip_output(src, dst, ipv4.PROTO_TCP, seg, df=True, gso_size=gso_size)
        self._learn_tcp_route(src, dst)

    def _learn_tcp_route(self, src: int, dst: int) -> None:
        """Remember how to reach ``dst`` for :meth:`_tcp_output`, once its next hop's MAC
        is in the ARP cache (bounded: at most as many routes as ARP entries)."""
        arp = self.arp
        if arp is None or self.closed or self.is_local(dst):
            return
        hop = self.next_hop(dst)
        if hop is None:
            return
        entry = arp.cache.get(hop)
        if entry is None:
            return
        routes = self._tcp_routes
        if dst not in routes and len(routes) >= arp.config.max_entries:
            routes.pop(next(iter(routes)))
        routes[dst] = (
            hop,
            entry,
            ethernet.header(entry[0], arp.mac, ethernet.TYPE_IPV4),
            ipv4.header_sum(src, dst, ipv4.PROTO_TCP, df=True),
            src,
        )

    def _tcp6_output(self, src: int, dst: int, seg: bytes, gso_size: int = 0) -> None:
        self.ip6_output(src, dst, ipv6.TCP, seg, gso_size)

    def ip6_output(
        self, src: int, dst: int, next_header: int, payload: bytes, gso_size: int = 0
    ) -> None:
        """Send an IPv6 packet: loopback, or the link through Neighbor Discovery; a packet
        over the path MTU is fragmented at the source (RFC 8200 §4.5, §5). ``gso_size``:
        a TCP segment (from :meth:`offload6_for`'s link) that the device cuts up and
        checksums, so it may exceed the MTU."""
        if self.closed:
            return
        local = self.is_local6(dst)
        mtu = self.path_mtu(dst, local)
        hops = self.ndp.cur_hop_limit if self.ndp is not None else ipv6.DEFAULT_HOP_LIMIT
        # a segment for the device to cut up may be as long as a packet can be
        limit = ipv6.HEADER_LEN + ipv6.MAX_PAYLOAD if gso_size and not local else mtu
        if ipv6.HEADER_LEN + len(payload) <= limit:
            packets = [ipv6.header(src, dst, next_header, len(payload), hops) + payload]
        elif len(payload) > ipv6.MAX_PAYLOAD - 8:
            self.counters["too_big"] += 1
            return
        else:
            ident = next(self._ident6) & 0xFFFFFFFF
            packets = ipv6.fragment(src, dst, next_header, payload, ident, mtu, hops)
        if local:
            post = self.sched.post
            for pkt in packets:
                post(self._loopback_input, pkt)
            return
        ndp = self.ndp
        hop = ndp.next_hop(dst) if ndp is not None else None
        if hop is None or ndp is None:
            self.counters["no_route"] += 1
            return
        for pkt in packets:
            ndp.output(hop, pkt, gso_size)

    def ip_output(
        self,
        src: int,
        dst: int,
        proto: int,
        payload: bytes,
        *,
        df: bool = False,
        gso_size: int = 0,
    ) -> None:
        """Send ``payload`` to ``dst``: loopback, or the link via ARP; fragments when it
        exceeds the MTU (unless DF, RFC 791), never forwards. ``gso_size``: a TCP
        segment (from :meth:`offload_for`'s link) that the device cuts up and
        checksums, so it may exceed the MTU."""
        if self.closed:
            return
        local = self.is_local(dst)
        mtu = self.config.loopback_mtu if local else self.mtu
        ident = next(self._ident) & 0xFFFF
        # a segment for the device to cut up may be as long as a packet can be
        limit = ipv4.MAX_PACKET if gso_size and not local else mtu
        if ipv4.HEADER_LEN + len(payload) <= limit:
            packets = [ipv4.header(src, dst, proto, len(payload), ident, df=df) + payload]
        elif df:
            self.counters["too_big"] += 1
            return
        else:
            packets = ipv4.fragment(src, dst, proto, payload, ident, mtu)
        if local:
            post = self.sched.post
            for pkt in packets:
                post(self._loopback_input, pkt)
            return
        if self.arp is not None and (
            dst == BROADCAST_IP or dst == (self.ip | ~self.mask & 0xFFFFFFFF)
        ):  # the limited broadcast is on-link whatever the routes (RFC 919, RFC 1122 3.3.6)
            for pkt in packets:
                self._send_frame(
                    ethernet.header(ethernet.BROADCAST, self.arp.mac, ethernet.TYPE_IPV4) + pkt
                )
            return
        hop = self.next_hop(dst)
        if hop is None or self.arp is None:
            self.counters["no_route"] += 1
            return
        for pkt in packets:
            self.arp.output(hop, pkt, gso_size)

    # -- input ----------------------------------------------------------------------------

    def frame_input(self, frame: bytes, csum_ok: bool = False, /) -> None:
        """An Ethernet frame from the link; ``csum_ok``: the device vouches for its TCP or
        UDP checksum (:class:`~.netif.Receiver`), which is then not verified."""
        if self.closed:
            return
        self.counters["frames_in"] += 1
        try:
            dst, _src, ethertype = ethernet.parse(frame)
            if self.arp is None or (
                dst != self.arp.mac and dst != ethernet.BROADCAST and dst not in self._groups_mac
            ):
                self.counters["not_for_us"] += 1
                return
            view = memoryview(frame)[ethernet.HEADER_LEN :]
            if ethertype == ethernet.TYPE_IPV4:
                self.ip_input(view, from_link=True, csum_ok=csum_ok)
            elif ethertype == ethernet.TYPE_IPV6:
                self.ip6_input(view, from_link=True, csum_ok=csum_ok)
            elif ethertype == ethernet.TYPE_ARP:
                self.arp.input(view)
        except PacketError:
            self.counters["bad"] += 1
        except Exception:
            # a bug, never the peer's business: count it, keep serving everyone else
            self.counters["errors"] += 1
            log.exception("mirage: failed to process a %d-byte frame", len(frame))

    def _loopback_input(self, packet: bytes) -> None:
        if not self.closed:
            try:
                if packet[0] >> 4 == 6:
                    self.ip6_input(memoryview(packet), from_link=False)
                else:
                    self.ip_input(memoryview(packet), from_link=False)
            except PacketError:
                self.counters["bad"] += 1

    def ip_input(self, data: memoryview, *, from_link: bool, csum_ok: bool = False) -> None:
        """An IPv4 packet: check, reassemble, hand to the protocol (RFC 1122 3.2.1).
        ``csum_ok``: the device checked (or will not need) its TCP/UDP checksum; the
        header's own checksum is always verified."""
        pkt = ipv4.parse(data)
        dst = pkt.dst
        broadcast = dst == BROADCAST_IP or dst == (self.ip | ~self.mask & 0xFFFFFFFF)
        if dst != self.ip and not broadcast and not (ipv4.is_loopback(dst) and not from_link):
            # RFC 1122 3.3.1: a host does not forward; and 127/8 never arrives from a wire
            # (RFC 1122 3.2.1.3 (g))
            self.counters["not_for_us"] += 1
            return
        payload = pkt.payload
        if pkt.more or pkt.offset:
            whole = self.reassembler.add(pkt)
            if whole is None:
                return
            payload = memoryview(whole)
            csum_ok = False  # the device vouched for one fragment, not the datagram
        proto = pkt.proto
        if proto == ipv4.PROTO_TCP:
            if not broadcast:
                self.tcp.input(pkt.src, dst, payload, csum_ok)
        elif proto == ipv4.PROTO_UDP:
            self._udp_input(pkt, payload, broadcast, csum_ok)
        elif proto == ipv4.PROTO_ICMP:
            self._icmp_input(pkt, payload, broadcast)

    def _udp_input(
        self, pkt: ipv4.Packet, payload: memoryview, broadcast: bool, csum_ok: bool = False
    ) -> None:
        sport, dport, data = udp.parse(pkt.src, pkt.dst, payload, verify=not csum_ok)
        src = pkt.src
        sock = self.udp_sockets.get((pkt.dst, dport)) or self.udp_sockets.get((0, dport))
        if sock is None and (sock := self.udp6_sockets.get((0, dport))) is not None:
            src |= ipv6.V4_MAPPED  # a dual-stack socket names IPv4 peers ::ffff:a.b.c.d
        if sock is None:
            # RFC 1122 4.1.3.1: port unreachable (never for broadcasts, 3.2.2)
            if not broadcast and self.icmp_limit.allow(self.sched.now()):
                self.ip_output(
                    pkt.dst, pkt.src, ipv4.PROTO_ICMP, icmp.port_unreachable(pkt.header, payload)
                )
            return
        self._udp_deliver(sock, src, sport, data)

    def _udp_deliver(self, sock: UdpSocket, src: int, sport: int, data: memoryview) -> None:
        if sock.peer is not None and sock.peer != (src, sport):
            return  # a connected endpoint hears only its peer
        if len(sock.queue) >= sock.limit:
            sock.dropped += 1
            return
        sock.queue.append((bytes(data), (src, sport)))
        if sock.on_readable is not None:
            sock.on_readable()

    def _icmp_input(self, pkt: ipv4.Packet, payload: memoryview, broadcast: bool) -> None:
        kind, code, rest = icmp.parse(payload)
        if kind == icmp.ECHO_REQUEST and not broadcast:
            # RFC 1122 3.2.2.6: every host answers echo requests
            self.counters["echo"] += 1
            self.ip_output(pkt.dst, pkt.src, ipv4.PROTO_ICMP, icmp.echo_reply(rest))
        elif kind == icmp.DEST_UNREACHABLE and code == icmp.CODE_PORT_UNREACHABLE:
            self._udp_unreachable(rest[4:])
        # Other errors are soft errors for TCP (RFC 5461) and ignored by unconnected UDP.

    def _udp_unreachable(self, original: memoryview) -> None:
        """A port unreachable quoting one of our UDP datagrams (RFC 792: the original IP
        header and the first 8 bytes of its payload) reaches the connected endpoint that
        sent it (RFC 1122 4.1.3.3); unconnected endpoints ignore it."""
        if len(original) < 20:
            return
        header_len = (original[0] & 0x0F) * 4
        if original[9] != ipv4.PROTO_UDP or len(original) < header_len + 4 or header_len < 20:
            return
        src = int.from_bytes(original[12:16], "big")
        dst = int.from_bytes(original[16:20], "big")
        sport = int.from_bytes(original[header_len : header_len + 2], "big")
        dport = int.from_bytes(original[header_len + 2 : header_len + 4], "big")
        sock = self.udp_sockets.get((src, sport)) or self.udp_sockets.get((0, sport))
        if sock is not None and sock.peer == (dst, dport):
            sock.refused = True
            if sock.on_readable is not None:
                sock.on_readable()

    # -- IPv6 input -----------------------------------------------------------------------

    def ip6_input(self, data: memoryview, *, from_link: bool, csum_ok: bool = False) -> None:
        """An IPv6 packet: check, walk its extension headers, reassemble, hand to the
        protocol (RFC 8200 §4); errors answered per RFC 4443 §2.4."""
        try:
            pkt = ipv6.parse(data)
        except ipv6.ParameterProblem as exc:
            self.counters["param_problems"] += 1
            self._icmp6_error(data, icmpv6.PARAMETER_PROBLEM, exc.code, exc.pointer)
            raise
        dst = pkt.dst
        multicast = ipv6.is_multicast(dst)
        ndp = self.ndp
        if multicast:
            if ndp is None or dst not in ndp.groups:
                self.counters["not_for_us"] += 1
                return
        elif dst == ipv6.LOOPBACK:
            if from_link:  # RFC 4291 §2.5.3: ::1 never arrives from a wire
                self.counters["not_for_us"] += 1
                return
        elif ndp is None or not ndp.is_ours(dst):
            # not ours, or still tentative: RFC 4862 §5.4 drops all but DAD's messages
            self.counters["not_for_us"] += 1
            return
        payload = pkt.payload
        proto = pkt.next_header
        if pkt.fragment is not None:
            whole = self.reassembler6.add(pkt)
            if whole is None:
                return
            nh, joined = whole
            proto, at, nested = ipv6.walk(memoryview(joined), nh, 0, dst)
            if nested is not None:  # fragments of fragments are only ever an attack
                raise PacketError("ipv6: a fragment header inside a reassembled datagram")
            payload = memoryview(joined)[at:]
            csum_ok = False  # the device vouched for one fragment, not the datagram
        if proto == ipv6.TCP:
            if not multicast:
                self.tcp6.input(pkt.src, dst, payload, csum_ok)
        elif proto == ipv6.UDP:
            self._udp6_input(pkt, payload, multicast, csum_ok)
        elif proto == ipv6.ICMPV6:
            self._icmp6_input(pkt, payload)
        elif (
            proto != ipv6.NO_NEXT and pkt.fragment is None and len(payload) == len(pkt.packet) - 40
        ):
            # RFC 8200 §4: an unknown upper layer right after the fixed header
            self._icmp6_error(pkt.packet, icmpv6.PARAMETER_PROBLEM, ipv6.PP_NEXT_HEADER, 6)

    def _reassembly_timeout(self, first: bytes) -> None:
        """RFC 8200 §4.5: Time Exceeded code 1 to the source, quoting the first fragment."""
        self._icmp6_error(
            memoryview(first), icmpv6.TIME_EXCEEDED, icmpv6.CODE_REASSEMBLY_TIME_EXCEEDED, 0
        )

    def _icmp6_error(self, packet: memoryview, kind: int, code: int, param: int) -> None:
        """Send an ICMPv6 error about ``packet`` if RFC 4443 §2.4 allows it, rate limited."""
        if len(packet) < ipv6.HEADER_LEN:
            return
        src = int.from_bytes(packet[8:24], "big")
        dst = int.from_bytes(packet[24:40], "big")
        if packet[6] == ipv6.ICMPV6 and len(packet) > 40 and icmpv6.is_error(packet[40]):
            return  # (e.1): never about an error message
        if not icmpv6.may_answer(src, dst, kind, code):
            return
        if not self.icmp_limit.allow(self.sched.now()):
            return
        ours = dst if not ipv6.is_multicast(dst) else self.source6_for(src)
        if ours == ipv6.UNSPECIFIED:
            return
        msg = icmpv6.error(ours, src, kind, code, param, bytes(packet))
        self.ip6_output(ours, src, ipv6.ICMPV6, msg)

    def _udp6_input(
        self, pkt: ipv6.Packet, payload: memoryview, multicast: bool, csum_ok: bool = False
    ) -> None:
        sport, dport, data = udp.parse(pkt.src, pkt.dst, payload, ipv6=True, verify=not csum_ok)
        socks = self.udp6_sockets
        sock = socks.get((pkt.dst, dport)) or socks.get((0, dport))
        if sock is None:
            # RFC 4443 §3.1: port unreachable, code 4
            if not multicast:
                self._icmp6_error(
                    pkt.packet, icmpv6.DEST_UNREACHABLE, icmpv6.CODE_PORT_UNREACHABLE, 0
                )
            return
        self._udp_deliver(sock, pkt.src, sport, data)

    def _icmp6_input(self, pkt: ipv6.Packet, payload: memoryview) -> None:
        kind, code, body = icmpv6.parse(pkt.src, pkt.dst, payload)
        if kind == icmpv6.ECHO_REQUEST:
            # RFC 4443 §4.2: every node answers; to a group, from one of our addresses
            self.counters["echo"] += 1
            src = pkt.dst if not ipv6.is_multicast(pkt.dst) else self.source6_for(pkt.src)
            if src != ipv6.UNSPECIFIED and not ipv6.is_multicast(pkt.src):
                self.ip6_output(src, pkt.src, ipv6.ICMPV6, icmpv6.echo_reply(src, pkt.src, body))
        elif icmpv6.ROUTER_SOLICITATION <= kind <= icmpv6.REDIRECT:
            if self.ndp is not None:
                self.ndp.input(pkt, kind, code, body)
        elif kind == icmpv6.MLD_QUERY:
            if self.ndp is not None:
                self.ndp.mld_query(pkt, body)
        elif kind == icmpv6.PACKET_TOO_BIG:
            self._packet_too_big(body)
        elif kind == icmpv6.DEST_UNREACHABLE and code == icmpv6.CODE_PORT_UNREACHABLE:
            self._udp6_unreachable(body[4:])
        # Other errors are soft errors for TCP (RFC 5461); unknown informational messages
        # are discarded (RFC 4443 §2.4 (b)).

    def _udp6_unreachable(self, original: memoryview) -> None:
        """Port unreachable quoting one of our datagrams: the connected endpoint that
        sent it is refused (as :meth:`_udp_unreachable` does for IPv4)."""
        if len(original) < ipv6.HEADER_LEN + 4 or original[6] != ipv6.UDP:
            return
        src = int.from_bytes(original[8:24], "big")
        dst = int.from_bytes(original[24:40], "big")
        sport = int.from_bytes(original[40:42], "big")
        dport = int.from_bytes(original[42:44], "big")
        socks = self.udp6_sockets
        sock = socks.get((src, sport)) or socks.get((0, sport))
        if sock is not None and sock.peer == (dst, dport):
            sock.refused = True
            if sock.on_readable is not None:
                sock.on_readable()

    # -- sockets --------------------------------------------------------------------------

    def check_bind_address6(self, ip: int) -> None:
        """Only a usable address of ours, ``::1`` or ``::`` can be bound."""
        if ip != 0 and not self.is_local6(ip):
            have = ", ".join(ipv6.to_text(a) for a in (self.ndp.usable() if self.ndp else []))
            raise AddressUnavailable(
                f"cannot bind {ipv6.to_text(ip)}: not an address of this stack "
                f"(it has ::1{', ' + have if have else ''})"
            )

    def check_bind_address(self, ip: int) -> None:
        """Only our address, loopback or the wildcard can be bound."""
        if ip != 0 and not self.is_local(ip):
            raise AddressUnavailable(
                f"cannot bind {ipv4.int_to_ip(ip)}: not an address of this stack "
                f"(it has {ipv4.int_to_ip(self.ip)} and 127.0.0.1)"
            )

    def udp_bind(self, ip: int, port: int, family: int = 4, *, dual: bool = False) -> UdpSocket:
        """Bind a UDP endpoint (port 0: an ephemeral one). ``family=6, ip=0`` with
        ``dual``: the port must be free in both families (it hears IPv4 too)."""
        if family == 6:
            self.check_bind_address6(ip)
            socks = self.udp6_sockets
        else:
            self.check_bind_address(ip)
            socks = self.udp_sockets
        # a dual-stack "::" socket holds its port in both families (bindv6only=0)
        if family == 6:
            other = self.udp_sockets if dual else {}
        else:
            other = {k: v for k, v in self.udp6_sockets.items() if k[0] == 0}

        def busy(p: int) -> bool:
            return (
                (ip, p) in socks
                or (0, p) in socks
                or (ip == 0 and any(k[1] == p for k in socks))
                or any(k[1] == p for k in other)
            )

        if port == 0:
            count = EPHEMERAL_HIGH - EPHEMERAL_LOW + 1
            start = int.from_bytes(os.urandom(2), "big")
            for i in range(count):  # one lap at most
                candidate = EPHEMERAL_LOW + (start + i) % count
                if not busy(candidate):
                    port = candidate
                    break
            else:
                raise AddressUnavailable("no free ephemeral UDP port")
        elif busy(port):
            text = ipv6.to_text(ip) if family == 6 else ipv4.int_to_ip(ip)
            raise AddressInUse(f"udp port {port} on {text} is already in use")
        sock = UdpSocket(self, ip, port, self.config.udp_queue, family)
        socks[(ip, port)] = sock
        return sock

    def close(self) -> None:
        """Reset every connection, unbind everything, release the device."""
        if self.closed:
            return
        with self.sched:
            self.tcp.close()
            self.tcp6.close()
            for sock in [*self.udp_sockets.values(), *self.udp6_sockets.values()]:
                sock.close()
        self.closed = True
        if self.netif is not None:
            self.netif.close()
