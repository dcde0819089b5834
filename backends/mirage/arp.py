"""ARP (RFC 826) for IPv4 over Ethernet: a cache with timeouts, retried requests,
replies, and gratuitous announcements (RFC 5227 section 2.3).

Sans-IO: :class:`Arp` sends frames through a callback and keeps time with the scheduler.
"""

from __future__ import annotations

import struct
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from . import ethernet
from .errors import PacketError
from .netif import FrameSender
from .sched import Scheduler, Timer

PACKET_LEN = 28
OP_REQUEST = 1
OP_REPLY = 2
_PACKET = struct.Struct("!HHBBH6sI6sI")
_ZERO_MAC = b"\x00" * 6


def packet(op: int, sha: bytes, spa: int, tha: bytes, tpa: int) -> bytes:
    """An ARP packet for Ethernet (hrd 1) and IPv4 (pro 0x0800), RFC 826 "Packet format"."""
    return _PACKET.pack(1, ethernet.TYPE_IPV4, 6, 4, op, sha, spa, tha, tpa)


def parse(data: bytes | memoryview) -> tuple[int, bytes, int, bytes, int]:
    """``(op, sha, spa, tha, tpa)``; :class:`PacketError` for what is not Ethernet/IPv4."""
    if len(data) < PACKET_LEN:
        raise PacketError(f"arp: packet of {len(data)} bytes is shorter than 28")
    hrd, pro, hln, pln, op, sha, spa, tha, tpa = _PACKET.unpack_from(data)
    if hrd != 1 or pro != ethernet.TYPE_IPV4 or hln != 6 or pln != 4:
        raise PacketError(f"arp: unsupported hardware/protocol {hrd}/{pro:#06x}/{hln}/{pln}")
    if op not in (OP_REQUEST, OP_REPLY):
        raise PacketError(f"arp: unknown operation {op}")
    return op, sha, spa, tha, tpa


@dataclass
class ArpConfig:
    """Tunables; defaults follow common practice (Linux: 60 s reachability, 3 probes)."""

    entry_lifetime: float = 60.0
    retry_interval: float = 1.0
    retries: int = 3
    max_entries: int = 1024
    max_queued_per_address: int = 64
    max_pending_addresses: int = 256


@dataclass
class _Pending:
    queue: list[tuple[bytes, int]] = field(default_factory=list)
    """Packets waiting, each with the ``gso_size`` it goes out with."""
    tries: int = 0
    timer: Timer | None = None


class Arp:
    """The ARP state of one interface: the cache and the packets waiting on it.

    ``send_frame(frame)`` transmits a full Ethernet frame. :meth:`output` sends an IPv4
    packet to a next hop, resolving it first if needed (the packet waits, bounded).
    """

    def __init__(
        self,
        sched: Scheduler,
        mac: bytes,
        ip: int,
        send_frame: FrameSender,
        config: ArpConfig | None = None,
    ) -> None:
        self.sched = sched
        self.mac = mac
        self.ip = ip
        self.send_frame = send_frame
        self.config = config or ArpConfig()
        self.cache: OrderedDict[int, tuple[bytes, float]] = OrderedDict()
        self._pending: dict[int, _Pending] = {}
        self.dropped = 0
        """Packets dropped: queue full, or their next hop never answered."""
        self.watch: Callable[[int, bytes, int, int], None] | None = None
        """Called with ``(op, sha, spa, tpa)`` of every ARP packet received, probes
        included (the DHCP client's address conflict check, RFC 5227 2.1.1)."""

    def lookup(self, ip: int) -> bytes | None:
        """The cached MAC of ``ip``, or None (expired entries count as absent)."""
        entry = self.cache.get(ip)
        if entry is None:
            return None
        if entry[1] < self.sched.now():
            del self.cache[ip]
            return None
        return entry[0]

    def add(self, ip: int, mac: bytes) -> None:
        """Insert or refresh an entry; sends the packets that were waiting for it."""
        cache = self.cache
        if ip in cache:
            cache.move_to_end(ip)
        elif len(cache) >= self.config.max_entries:
            cache.popitem(last=False)  # evict the least recently refreshed
        cache[ip] = (mac, self.sched.now() + self.config.entry_lifetime)
        pending = self._pending.pop(ip, None)
        if pending is not None:
            if pending.timer is not None:
                pending.timer.stop()
            head = ethernet.header(mac, self.mac, ethernet.TYPE_IPV4)
            for pkt, gso_size in pending.queue:
                self.send_frame(head + pkt, gso_size)

    def output(self, next_hop: int, ip_packet: bytes, gso_size: int = 0) -> None:
        """Send ``ip_packet`` to ``next_hop``'s MAC, resolving it first if needed;
        ``gso_size`` goes with it to the device (:meth:`Netif.send`)."""
        mac = self.lookup(next_hop)
        if mac is not None:
            self.send_frame(
                ethernet.header(mac, self.mac, ethernet.TYPE_IPV4) + ip_packet, gso_size
            )
            return
        pending = self._pending.get(next_hop)
        if pending is None:
            if len(self._pending) >= self.config.max_pending_addresses:
                self.dropped += 1
                return
            pending = self._pending[next_hop] = _Pending()
            pending.timer = self.sched.timer(lambda: self._retry(next_hop))
            self._request(next_hop, pending)
        if len(pending.queue) >= self.config.max_queued_per_address:
            self.dropped += 1
            return
        pending.queue.append((ip_packet, gso_size))

    def _request(self, target: int, pending: _Pending) -> None:
        pending.tries += 1
        self.send_frame(
            ethernet.header(ethernet.BROADCAST, self.mac, ethernet.TYPE_ARP)
            + packet(OP_REQUEST, self.mac, self.ip, _ZERO_MAC, target)
        )
        assert pending.timer is not None
        pending.timer.start_in(self.config.retry_interval)

    def _retry(self, target: int) -> None:
        pending = self._pending.get(target)
        if pending is None:
            return
        if pending.tries >= self.config.retries:
            # No answer: drop what waited (upper layers retransmit, RFC 1122 2.3.2.2).
            self.dropped += len(pending.queue)
            del self._pending[target]
            return
        self._request(target, pending)

    def probe(self, target: int) -> None:
        """An ARP probe for ``target``: a request from sender address 0 (RFC 5227 2.1.1)."""
        self.send_frame(
            ethernet.header(ethernet.BROADCAST, self.mac, ethernet.TYPE_ARP)
            + packet(OP_REQUEST, self.mac, 0, _ZERO_MAC, target)
        )

    def announce(self) -> None:
        """Gratuitous ARP: a request for our own address (RFC 5227 section 3)."""
        self.send_frame(
            ethernet.header(ethernet.BROADCAST, self.mac, ethernet.TYPE_ARP)
            + packet(OP_REQUEST, self.mac, self.ip, _ZERO_MAC, self.ip)
        )

    def input(self, data: bytes | memoryview) -> None:
        """Handle a received ARP packet (RFC 826 "Packet Reception")."""
        op, sha, spa, _tha, tpa = parse(data)
        if self.watch is not None:
            self.watch(op, sha, spa, tpa)
        if spa == 0 or ethernet.is_multicast(sha):
            # probes (RFC 5227 2.1.1) and bogus senders teach nothing; a probe for our
            # address is answered, so its sender learns the address is taken
            probe = spa == 0 and op == OP_REQUEST and not ethernet.is_multicast(sha)
            if probe and self.ip and tpa == self.ip:
                self.send_frame(
                    ethernet.header(sha, self.mac, ethernet.TYPE_ARP)
                    + packet(OP_REPLY, self.mac, self.ip, sha, 0)
                )
            return
        merge = False
        if spa in self.cache or spa in self._pending:
            self.add(spa, sha)  # "update the sender's entry"
            merge = True
        if tpa != self.ip or not self.ip:  # no address yet (DHCP): nothing to answer for
            return
        if not merge:
            self.add(spa, sha)
        if op == OP_REQUEST and spa != self.ip:
            self.send_frame(
                ethernet.header(sha, self.mac, ethernet.TYPE_ARP)
                + packet(OP_REPLY, self.mac, self.ip, sha, spa)
            )
