"""One host: a link interface (Ethernet + ARP) plus loopback, IPv4 routing for a single
subnet and a default gateway, ICMP, and the UDP and TCP socket tables. Sans-IO.

Loopback (127.0.0.0/8 and the host's own address, RFC 1122 3.2.1.3 (g) and 3.3.6) is an
interface of its own with a 65535-byte MTU: its packets go through the scheduler's work
queue, never re-entrantly.
"""

from __future__ import annotations

import itertools
import os
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from backends.errors import AddressInUse, AddressUnavailable

from . import ethernet, icmp, ipv4, udp
from .arp import Arp, ArpConfig
from .errors import PacketError
from .netif import Netif
from .sched import Scheduler, log
from .tcp import EPHEMERAL_HIGH, EPHEMERAL_LOW, Tcp, TcpConfig

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


class UdpSocket:
    """A bound UDP endpoint: a bounded queue of ``(payload, (src ip, src port))``."""

    def __init__(self, stack: Stack, ip: int, port: int, limit: int) -> None:
        self.stack = stack
        self.ip = ip
        self.port = port
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
        src = self.ip or self.stack.source_for(dst)
        self.stack.ip_output(
            src, dst, ipv4.PROTO_UDP, udp.datagram(src, dst, self.port, dport, payload)
        )

    def close(self) -> None:
        """Unbind."""
        if not self.closed:
            self.closed = True
            self.stack.udp_sockets.pop((self.ip, self.port), None)
            if self.on_readable is not None:
                self.on_readable()


class Stack:
    """A host's IPv4 stack over ``netif`` (or loopback only when ``netif`` is None)."""

    def __init__(
        self,
        sched: Scheduler,
        netif: Netif | None,
        ip: int,
        prefix: int,
        gateway: int | None = None,
        config: StackConfig | None = None,
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
        self.reassembler = ipv4.Reassembler(
            sched,
            timeout=self.config.reassembly_timeout,
            max_datagrams=self.config.max_reassemblies,
        )
        self.icmp_limit = icmp.RateLimit(self.config.icmp_rate)
        self.udp_sockets: dict[tuple[int, int], UdpSocket] = {}
        self.tcp = Tcp(sched, self._tcp_output, self.mss_for, self.config.tcp)
        self.counters = {
            "frames_in": 0,
            "frames_out": 0,
            "bad": 0,
            "not_for_us": 0,
            "no_route": 0,
            "too_big": 0,
            "echo": 0,
            "errors": 0,
        }
        self.arp: Arp | None = None
        self.closed = False
        if netif is not None:
            self.arp = Arp(sched, netif.mac, ip, self._send_frame, self.config.arp)
            netif.attach(self.frame_input)
            if ip:
                self.arp.announce()

    # -- addresses and routes -------------------------------------------------------------

    def configure(self, ip: int, prefix: int, gateway: int | None) -> None:
        """Take a new address (``0``: none, while DHCP looks for one), prefix and gateway,
        and announce it (gratuitous ARP, RFC 5227 3)."""
        self.ip = ip
        self.prefix = prefix
        self.mask = ipv4.netmask(prefix)
        self.gateway = gateway
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

    # -- output ---------------------------------------------------------------------------

    def _send_frame(self, frame: bytes) -> None:
        if self.netif is not None and not self.closed:
            self.counters["frames_out"] += 1
            self.netif.send(frame)

    def _tcp_output(self, src: int, dst: int, seg: bytes) -> None:
        self.ip_output(src, dst, ipv4.PROTO_TCP, seg, df=True)

    def ip_output(
        self, src: int, dst: int, proto: int, payload: bytes, *, df: bool = False
    ) -> None:
        """Send ``payload`` to ``dst``: loopback, or the link via ARP; fragments when it
        exceeds the MTU (unless DF, RFC 791), never forwards."""
        if self.closed:
            return
        local = self.is_local(dst)
        mtu = self.config.loopback_mtu if local else self.mtu
        ident = next(self._ident) & 0xFFFF
        if ipv4.HEADER_LEN + len(payload) <= mtu:
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
            self.arp.output(hop, pkt)

    # -- input ----------------------------------------------------------------------------

    def frame_input(self, frame: bytes) -> None:
        """An Ethernet frame from the link."""
        if self.closed:
            return
        self.counters["frames_in"] += 1
        try:
            dst, _src, ethertype = ethernet.parse(frame)
            if self.arp is None or (dst != self.arp.mac and dst != ethernet.BROADCAST):
                self.counters["not_for_us"] += 1
                return
            view = memoryview(frame)[ethernet.HEADER_LEN :]
            if ethertype == ethernet.TYPE_IPV4:
                self.ip_input(view, from_link=True)
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
                self.ip_input(memoryview(packet), from_link=False)
            except PacketError:
                self.counters["bad"] += 1

    def ip_input(self, data: memoryview, *, from_link: bool) -> None:
        """An IPv4 packet: check, reassemble, hand to the protocol (RFC 1122 3.2.1)."""
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
        proto = pkt.proto
        if proto == ipv4.PROTO_TCP:
            if not broadcast:
                self.tcp.input(pkt.src, dst, payload)
        elif proto == ipv4.PROTO_UDP:
            self._udp_input(pkt, payload, broadcast)
        elif proto == ipv4.PROTO_ICMP:
            self._icmp_input(pkt, payload, broadcast)

    def _udp_input(self, pkt: ipv4.Packet, payload: memoryview, broadcast: bool) -> None:
        sport, dport, data = udp.parse(pkt.src, pkt.dst, payload)
        sock = self.udp_sockets.get((pkt.dst, dport)) or self.udp_sockets.get((0, dport))
        if sock is None:
            # RFC 1122 4.1.3.1: port unreachable (never for broadcasts, 3.2.2)
            if not broadcast and self.icmp_limit.allow(self.sched.now()):
                self.ip_output(
                    pkt.dst, pkt.src, ipv4.PROTO_ICMP, icmp.port_unreachable(pkt.header, payload)
                )
            return
        if sock.peer is not None and sock.peer != (pkt.src, sport):
            return  # a connected endpoint hears only its peer
        if len(sock.queue) >= sock.limit:
            sock.dropped += 1
            return
        sock.queue.append((bytes(data), (pkt.src, sport)))
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

    # -- sockets --------------------------------------------------------------------------

    def check_bind_address(self, ip: int) -> None:
        """Only our address, loopback or the wildcard can be bound."""
        if ip != 0 and not self.is_local(ip):
            raise AddressUnavailable(
                f"cannot bind {ipv4.int_to_ip(ip)}: not an address of this stack "
                f"(it has {ipv4.int_to_ip(self.ip)} and 127.0.0.1)"
            )

    def udp_bind(self, ip: int, port: int) -> UdpSocket:
        """Bind a UDP endpoint (port 0: an ephemeral one)."""
        self.check_bind_address(ip)
        socks = self.udp_sockets

        def busy(p: int) -> bool:
            return (
                (ip, p) in socks or (0, p) in socks or (ip == 0 and any(k[1] == p for k in socks))
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
            raise AddressInUse(f"udp port {port} on {ipv4.int_to_ip(ip)} is already in use")
        sock = UdpSocket(self, ip, port, self.config.udp_queue)
        socks[(ip, port)] = sock
        return sock

    def close(self) -> None:
        """Reset every connection, unbind everything, release the device."""
        if self.closed:
            return
        with self.sched:
            self.tcp.close()
            for sock in list(self.udp_sockets.values()):
                sock.close()
        self.closed = True
        if self.netif is not None:
            self.netif.close()
