"""A pcap writer (the libpcap file format, LINKTYPE_ETHERNET) and a netif wrapper that
records every frame a device sends or receives. tcpdump -r and tshark read the files."""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import BinaryIO

from .netif import Netif, Receiver

MAGIC = 0xA1B2C3D4  # microsecond timestamps
LINKTYPE_ETHERNET = 1
SNAPLEN = 262144


class PcapWriter:
    """Writes frames to a pcap file: a 24-byte global header, then one record each."""

    def __init__(self, target: str | BinaryIO, *, snaplen: int = SNAPLEN) -> None:
        if isinstance(target, str):
            self._file: BinaryIO = open(target, "wb")  # noqa: SIM115 - closed in close()
            self._owned = True
        else:
            self._file = target
            self._owned = False
        self.snaplen = snaplen
        self._file.write(struct.pack("<IHHiIII", MAGIC, 2, 4, 0, 0, snaplen, LINKTYPE_ETHERNET))
        self.count = 0

    def write(self, frame: bytes, timestamp: float) -> None:
        """Record one frame seen at ``timestamp`` (seconds)."""
        sec = int(timestamp)
        usec = int((timestamp - sec) * 1_000_000)
        data = frame[: self.snaplen]
        self._file.write(struct.pack("<IIII", sec, usec, len(data), len(frame)))
        self._file.write(data)
        self.count += 1

    def flush(self) -> None:
        """Push buffered records to the file."""
        self._file.flush()

    def close(self) -> None:
        """Flush, and close the file if this writer opened it."""
        self._file.flush()
        if self._owned:
            self._file.close()


class PcapNetif:
    """Wraps a netif and records both directions into a :class:`PcapWriter`."""

    def __init__(self, inner: Netif, writer: PcapWriter, clock: Callable[[], float]) -> None:
        self.inner = inner
        self.writer = writer
        self.clock = clock
        self.mac = inner.mac
        self.mtu = inner.mtu
        self.offload = inner.offload
        """The device's: a capture records super-segments as they cross the device, and
        partial checksums as such (as tcpdump on an offloading NIC does)."""
        self._receiver: Receiver | None = None

    def send(self, frame: bytes, gso_size: int = 0) -> None:
        """Record, then transmit."""
        self.writer.write(frame, self.clock())
        self.inner.send(frame, gso_size)

    def attach(self, receiver: Receiver) -> None:
        """Record received frames, then pass them on."""
        self._receiver = receiver

        def receive(frame: bytes, csum_ok: bool = False, /) -> None:
            self.writer.write(frame, self.clock())
            receiver(frame, csum_ok)

        self.inner.attach(receive)

    def close(self) -> None:
        """Close the device and the file."""
        self.inner.close()
        self.writer.close()
