"""Network interfaces: what a stack sends frames through and receives frames from.

* :class:`Switch` / :class:`SwitchPort` — an in-memory learning Ethernet switch joining
  several stacks in one process. Delivery goes through the switch's
  :class:`~backends.mirage.sched.Scheduler` work queue, never re-entrantly.
* :class:`TapDevice` — a Linux TAP device (``/dev/net/tun``, ``TUNSETIFF`` with
  ``IFF_TAP | IFF_NO_PI``): raw Ethernet frames, no extra dependency.

Every netif has ``mac``, ``mtu``, ``send(frame)``, ``attach(receiver)`` and ``close()``;
:mod:`.pcap` and :mod:`.faults` wrap any of them.
"""

from __future__ import annotations

import errno
import fcntl
import os
import random
import socket
import struct
from collections.abc import Callable
from typing import Protocol

from . import ethernet
from .sched import Scheduler

Receiver = Callable[[bytes], None]


class Netif(Protocol):
    """The interface a stack needs from a network device."""

    mac: bytes
    mtu: int

    def send(self, frame: bytes) -> None:
        """Transmit one Ethernet frame (header included)."""
        ...

    def attach(self, receiver: Receiver) -> None:
        """Deliver received frames to ``receiver(frame)``."""
        ...

    def close(self) -> None:
        """Release the device."""
        ...


def _ignore(frame: bytes) -> None:
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
        self.closed = False
        self._receiver: Receiver = _ignore

    def send(self, frame: bytes) -> None:
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
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000
SIOCGIFMTU = 0x8921
SIOCGIFHWADDR = 0x8927


def interface_mtu(name: str) -> int:
    """The kernel's MTU for interface ``name`` (SIOCGIFMTU)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        raw = fcntl.ioctl(sock.fileno(), SIOCGIFMTU, struct.pack("16si", name.encode(), 0))
    return int(struct.unpack("16si", raw)[1])


class TapDevice:
    """A Linux TAP device, opened by name (it is created if it does not exist and we may).

    Frames are read in batches by :meth:`read_available` when the fd is readable (the
    adapter waits with ``anyio.wait_readable``); writes go straight to the fd.
    """

    READ_SIZE = 65536 + 64

    def __init__(self, name: str, *, mac: bytes | None = None, mtu: int | None = None) -> None:
        if len(name.encode()) >= 16:
            raise ValueError(f"TAP device name {name!r} is longer than 15 bytes")
        try:
            fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as exc:
            raise OSError(
                exc.errno, f"cannot open /dev/net/tun for TAP {name!r}: {exc.strerror}"
            ) from exc
        try:
            fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TAP | IFF_NO_PI))
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
        self._receiver: Receiver = _ignore
        self.closed = False
        self.sent = 0
        self.received = 0
        self.dropped = 0

    def send(self, frame: bytes) -> None:
        """Write one frame; a full device queue drops it (as a NIC ring would)."""
        if self.closed:
            return
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
            receiver(frame)
        self.received += n
        return n

    def close(self) -> None:
        """Close the fd (the kernel removes a non-persistent device with it)."""
        if not self.closed:
            self.closed = True
            os.close(self.fd)
