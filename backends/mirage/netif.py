"""Network interfaces: what a stack sends frames through and receives frames from.

* :class:`Switch` / :class:`SwitchPort` — an in-memory learning Ethernet switch joining
  several stacks in one process. Delivery goes through the switch's
  :class:`~backends.mirage.sched.Scheduler` work queue, never re-entrantly.
* :class:`TapDevice` — a Linux TAP device (``/dev/net/tun``, ``TUNSETIFF`` with
  ``IFF_TAP | IFF_NO_PI``): raw Ethernet frames, no extra dependency. With ``offload``
  (the default) it also sets ``IFF_VNET_HDR`` and ``TUNSETOFFLOAD``, as QEMU does for a
  virtio-net guest: every frame then carries a ``struct virtio_net_hdr`` (Linux
  ``include/uapi/linux/virtio_net.h``; virtio 1.x section 5.1.6), which lets the
  kernel hand us TCP super-segments of up to 64 KB with their checksums left partial,
  and lets us hand it such segments to cut up (TSO).

Every netif has ``mac``, ``mtu``, ``offload`` (:class:`Offload`: what it does for the
stack), ``send(frame, gso_size=0)``, ``attach(receiver)`` and ``close()``; :mod:`.pcap`
and :mod:`.faults` wrap any of them.
"""

from __future__ import annotations

import errno
import fcntl
import os
import random
import socket
import struct
import sys
from dataclasses import dataclass
from typing import Protocol

from . import ethernet
from .sched import Scheduler


class Receiver(Protocol):
    """What a netif delivers received frames to."""

    def __call__(self, frame: bytes, csum_ok: bool = False, /) -> None:
        """One Ethernet frame; ``csum_ok``: the device vouches for its TCP/UDP checksum
        (it was left partial by a local sender, or checked already), so it is not
        verified again."""
        ...


class FrameSender(Protocol):
    """How ARP, Neighbor Discovery and IP hand a frame to the device (:meth:`Netif.send`)."""

    def __call__(self, frame: bytes, gso_size: int = 0, /) -> None:
        """Send ``frame``; ``gso_size`` as :meth:`Netif.send` takes it."""
        ...


@dataclass(frozen=True, slots=True)
class Offload:
    """What a link does for the stack, as virtio-net's offload features say it.

    ``csum``: it takes TCP segments whose checksum field holds only the pseudo-header's
    sum and completes the checksum itself (``VIRTIO_NET_F_CSUM``). ``tso_bytes``: the
    largest IP packet (headers included) holding one TCP segment that it cuts into
    ``gso_size`` pieces, each with
    its own headers and checksum (TSO, ``VIRTIO_NET_F_HOST_TSO4/6``), 0 for none;
    ``tso_segments``: the most pieces per segment. TCP sizes its sends by these while
    keeping MSS semantics with the peer."""

    csum: bool = False
    tso_bytes: int = 0
    tso_segments: int = 0


NO_OFFLOAD = Offload()


class Netif(Protocol):
    """The interface a stack needs from a network device."""

    mac: bytes
    mtu: int
    offload: Offload

    def send(self, frame: bytes, gso_size: int = 0) -> None:
        """Transmit one Ethernet frame (header included). ``gso_size`` (only when
        ``offload.csum``): the frame is a TCP segment with a partial checksum, to be
        completed and, if its payload is longer, cut into ``gso_size``-byte segments."""
        ...

    def attach(self, receiver: Receiver) -> None:
        """Deliver received frames to ``receiver(frame)``."""
        ...

    def close(self) -> None:
        """Release the device."""
        ...


def _ignore(frame: bytes, csum_ok: bool = False, /) -> None:
    return None


class Switch:
    """An in-memory learning switch (IEEE 802.1D-style MAC learning, flooding otherwise).

    All stacks on one switch share its scheduler, so their timers and deliveries run on
    one clock: the host loop's, or a :class:`~backends.mirage.sched.VirtualClock` in tests.
    """

    def __init__(self, sched: Scheduler | None = None, *, mtu: int = 1500) -> None:
        if sched is None:
            from .adapter import host_clock

            sched = Scheduler(host_clock)
        self.sched = sched
        self.mtu = mtu
        self.ports: list[SwitchPort] = []
        self._table: dict[bytes, SwitchPort] = {}
        self._rng = random.Random()
        self.frames = 0
        self.dropped = 0

    def port(self, mac: bytes | None = None, *, mtu: int | None = None) -> SwitchPort:
        """A new port (with a random local MAC unless given)."""
        port = SwitchPort(self, mac or ethernet.random_mac(self._rng), mtu or self.mtu)
        self.ports.append(port)
        return port

    def _transmit(self, src: SwitchPort, frame: bytes) -> None:
        if len(frame) > self.mtu + ethernet.HEADER_LEN or len(frame) < ethernet.HEADER_LEN:
            self.dropped += 1  # too big for the medium
            return
        self.frames += 1
        self._table[frame[6:12]] = src
        dst = frame[0:6]
        out = None if dst[0] & 1 else self._table.get(dst)
        post = self.sched.post
        if out is not None:
            if out is not src and not out.closed:
                post(out._deliver, frame)
            return
        for port in self.ports:
            if port is not src and not port.closed:
                post(port._deliver, frame)

    def _remove(self, port: SwitchPort) -> None:
        if port in self.ports:
            self.ports.remove(port)
        for mac in [m for m, p in self._table.items() if p is port]:
            del self._table[mac]


class SwitchPort:
    """One stack's attachment to a :class:`Switch`."""

    def __init__(self, switch: Switch, mac: bytes, mtu: int) -> None:
        self.switch = switch
        self.mac = mac
        self.mtu = mtu
        self.offload = NO_OFFLOAD
        """The switch does nothing for its ports: every segment is checksummed in full."""
        self.closed = False
        self._receiver: Receiver = _ignore

    def send(self, frame: bytes, gso_size: int = 0) -> None:
        """Hand a frame to the switch (delivered once the current batch ends)."""
        if not self.closed:
            self.switch._transmit(self, frame)

    def attach(self, receiver: Receiver) -> None:
        """Deliver received frames to ``receiver``."""
        self._receiver = receiver

    def _deliver(self, frame: bytes) -> None:
        if not self.closed:
            self._receiver(frame)

    def close(self) -> None:
        """Leave the switch."""
        self.closed = True
        self.switch._remove(self)


# Linux <linux/if_tun.h> and <linux/sockios.h>
TUNSETIFF = 0x400454CA
TUNSETOFFLOAD = 0x400454D0
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000
IFF_VNET_HDR = 0x4000
TUN_F_CSUM = 0x01
TUN_F_TSO4 = 0x02
TUN_F_TSO6 = 0x04
SIOCGIFMTU = 0x8921
SIOCGIFHWADDR = 0x8927

# <linux/virtio_net.h>: struct virtio_net_hdr, 10 bytes (the default TUNSETVNETHDRSZ),
# in the device's byte order: native ("legacy") unless TUNSETVNETLE/BE says otherwise
VNET_HDR = struct.Struct("=BBHHHH")  # flags, gso_type, hdr_len, gso_size, csum_start/offset
VNET_NEEDS_CSUM = 1
VNET_DATA_VALID = 2
GSO_NONE = 0
GSO_TCPV4 = 1
GSO_TCPV6 = 4
TCP_CSUM_OFFSET = 16  # the checksum field's place in the TCP header (RFC 9293 3.1)
_PLAIN = VNET_HDR.pack(0, GSO_NONE, 0, 0, 0, 0)
_IP_MAX = 65535  # IPv4 total length; IPv6 payload length (no jumbograms)


def interface_mtu(name: str) -> int:
    """The kernel's MTU for interface ``name`` (SIOCGIFMTU)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        raw = fcntl.ioctl(sock.fileno(), SIOCGIFMTU, struct.pack("16si", name.encode(), 0))
    return int(struct.unpack("16si", raw)[1])


# <linux/netlink.h>, <linux/rtnetlink.h>, <linux/if_link.h>
_NLMSG = struct.Struct("=IHHII")  # nlmsghdr: length, type, flags, sequence, port
_IFINFO = struct.Struct("=BxHiII")  # ifinfomsg: family, type, index, flags, change
_RTATTR = struct.Struct("=HH")
_RTM_GETLINK = 18
_RTM_NEWLINK = 16
_NLM_F_REQUEST = 1
_IFLA_GSO_MAX_SEGS = 40
_IFLA_GSO_MAX_SIZE = 41


def gso_limits(name: str) -> tuple[int, int] | None:
    """The kernel's ``(gso_max_size, gso_max_segs)`` for interface ``name`` in the current
    network namespace (one RTM_GETLINK over rtnetlink, what ``ip -d link`` shows), or
    None when they cannot be read."""
    try:
        index = socket.if_nametoindex(name)
        with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE) as sock:
            sock.settimeout(1.0)
            body = _IFINFO.pack(socket.AF_UNSPEC, 0, index, 0, 0)
            sock.send(
                _NLMSG.pack(_NLMSG.size + len(body), _RTM_GETLINK, _NLM_F_REQUEST, 1, 0) + body
            )
            reply = sock.recv(65536)
    except (OSError, AttributeError):
        return None
    if len(reply) < _NLMSG.size + _IFINFO.size:
        return None
    length, kind = _NLMSG.unpack_from(reply)[:2]
    if kind != _RTM_NEWLINK or length > len(reply):
        return None
    found: dict[int, int] = {}
    at = _NLMSG.size + _IFINFO.size
    while at + _RTATTR.size <= length:
        size, attr = _RTATTR.unpack_from(reply, at)
        if size < _RTATTR.size or at + size > length:
            break
        if attr in (_IFLA_GSO_MAX_SEGS, _IFLA_GSO_MAX_SIZE) and size >= _RTATTR.size + 4:
            found[attr] = int.from_bytes(reply[at + 4 : at + 8], sys.byteorder)
        at += (size + 3) & ~3
    if len(found) != 2:
        return None
    return found[_IFLA_GSO_MAX_SIZE], found[_IFLA_GSO_MAX_SEGS]


def vnet_header(frame: bytes, gso_size: int) -> bytes:
    """The virtio_net_hdr for an IPv4 or IPv6 TCP segment (``frame``, Ethernet header
    included) whose checksum field holds the pseudo-header sum: the device completes the
    checksum (``NEEDS_CSUM``: sum from ``csum_start``, the TCP header, into the field at
    ``csum_offset``) and, when the payload is longer than ``gso_size``, cuts the segment
    into pieces of that size (``GSO_TCPV4/6``; ``hdr_len`` spans every header)."""
    if frame[12:14] == b"\x86\xdd":
        l4 = ethernet.HEADER_LEN + 40  # our IPv6 TCP has no extension headers
        kind = GSO_TCPV6
    else:
        l4 = ethernet.HEADER_LEN + (frame[ethernet.HEADER_LEN] & 15) * 4
        kind = GSO_TCPV4
    headers = l4 + (frame[l4 + 12] >> 4) * 4
    if len(frame) - headers <= gso_size:
        kind = GSO_NONE
    return VNET_HDR.pack(VNET_NEEDS_CSUM, kind, headers, gso_size, l4, TCP_CSUM_OFFSET)


class TapDevice:
    """A Linux TAP device, opened by name (it is created if it does not exist and we may).

    Frames are read in batches by :meth:`read_available` when the fd is readable (the
    adapter waits with ``anyio.wait_readable``); writes go straight to the fd.

    With ``offload``, the device speaks virtio-net's header and the kernel is told (with
    ``TUNSETOFFLOAD``) that we take partial checksums and TCP super-segments: it then
    passes its TCP segments up to 64 KB at a time, one read each, instead of one per
    MSS, and takes ours the same way. The kernel's own limits for the device
    (``gso_max_size``, ``gso_max_segs``: :func:`gso_limits`) bound what we send as well,
    so a device set to one segment per packet gets single segments both ways.
    """

    READ_SIZE = 65536 + 64

    def __init__(
        self, name: str, *, mac: bytes | None = None, mtu: int | None = None, offload: bool = True
    ) -> None:
        if len(name.encode()) >= 16:
            raise ValueError(f"TAP device name {name!r} is longer than 15 bytes")
        try:
            fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as exc:
            raise OSError(
                exc.errno, f"cannot open /dev/net/tun for TAP {name!r}: {exc.strerror}"
            ) from exc
        flags = IFF_TAP | IFF_NO_PI | (IFF_VNET_HDR if offload else 0)
        try:
            fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), flags))
        except OSError as exc:
            os.close(fd)
            raise OSError(
                exc.errno,
                f"TUNSETIFF on TAP {name!r} failed: {exc.strerror} "
                "(needs CAP_NET_ADMIN, or a device created for this user)",
            ) from exc
        self.fd = fd
        self.name = name
        self.mac = mac or ethernet.random_mac()
        if mtu is None:
            try:
                mtu = interface_mtu(name)
            except OSError:
                mtu = 1500
        self.mtu = mtu
        self.vnet = offload
        """Whether every frame read and written starts with a virtio_net_hdr."""
        self.offload = NO_OFFLOAD
        if offload:
            try:
                fcntl.ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6)
            except OSError:
                pass  # an old kernel: the header stays, with nothing in it
            else:
                size, segments = gso_limits(name) or (_IP_MAX + 1, 65535)
                self.offload = Offload(
                    csum=True,
                    tso_bytes=min(_IP_MAX, size - 1),
                    tso_segments=segments,
                )
        self._receiver: Receiver = _ignore
        self.closed = False
        self.sent = 0
        self.received = 0
        self.dropped = 0
        self.gso_in = 0
        """Super-segments read (frames the kernel left for us to take whole)."""
        self.gso_out = 0
        """Super-segments written (for the kernel to cut up)."""

    def send(self, frame: bytes, gso_size: int = 0) -> None:
        """Write one frame; a full device queue drops it (as a NIC ring would).
        ``gso_size``: a TCP segment for the kernel to finish (:func:`vnet_header`)."""
        if self.closed:
            return
        if self.vnet:
            if gso_size:
                head = vnet_header(frame, gso_size)
                if head[1] != GSO_NONE:
                    self.gso_out += 1
            else:
                head = _PLAIN
            frame = head + frame
        try:
            os.write(self.fd, frame)
            self.sent += 1
        except BlockingIOError:
            self.dropped += 1
        except OSError as exc:
            if exc.errno in (errno.EIO, errno.ENOBUFS, errno.EINVAL):
                self.dropped += 1  # interface down, or a frame the kernel refused
            else:
                raise

    def attach(self, receiver: Receiver) -> None:
        """Deliver received frames to ``receiver``."""
        self._receiver = receiver

    def read_available(self, limit: int = 512) -> int:
        """Read and deliver up to ``limit`` frames that are ready; returns how many."""
        fd = self.fd
        read = os.read
        receiver = self._receiver
        size = self.READ_SIZE
        vnet = self.vnet
        trusted = VNET_NEEDS_CSUM | VNET_DATA_VALID
        skip = VNET_HDR.size
        n = 0
        while n < limit and not self.closed:
            try:
                frame = read(fd, size)
            except BlockingIOError:
                break
            except OSError as exc:
                if exc.errno == errno.EAGAIN:
                    break
                raise
            n += 1
            if vnet:
                if len(frame) <= skip:
                    continue  # a header and no frame: nothing to deliver
                # a super-segment needs nothing more: its IP length covers all of it,
                # and its TCP header is the first segment's (virtio 1.x 5.1.6.4)
                if frame[1]:
                    self.gso_in += 1
                receiver(frame[skip:], bool(frame[0] & trusted))
            else:
                receiver(frame)
        self.received += n
        return n

    def close(self) -> None:
        """Close the fd (the kernel removes a non-persistent device with it)."""
        if not self.closed:
            self.closed = True
            os.close(self.fd)
