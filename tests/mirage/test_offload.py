"""virtio-net offload over TAP: partial checksums and TCP super-segments both ways.

The unit tests complete a partial checksum the way the device does (virtio 1.x 5.1.6.2:
sum from ``csum_start`` to the end, complement into ``csum_offset``) and check the result
with our own parser. The TAP tests move data each way against the kernel's TCP in a
namespace they create and delete, check it by sha256, and check that super-segments
really crossed the device (and none when the device allows one segment per packet).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator

import anyio
import pytest

import backends
from backends.mirage import checksum, ethernet, ipv4, ipv6, udp
from backends.mirage.adapter import MirageBackend
from backends.mirage.netif import (
    GSO_NONE,
    GSO_TCPV4,
    GSO_TCPV6,
    TCP_CSUM_OFFSET,
    VNET_HDR,
    VNET_NEEDS_CSUM,
    vnet_header,
)
from backends.mirage.tcp import IPV6
from backends.mirage.tcp.family import IPV4, Family
from backends.mirage.tcp.wire import ACK, PSH, parse, segment
from tests.conftest import need_root, need_tool
from tests.mirage.tapapp import pattern
from tests.peers import inside_netns, tap_namespace

A4, B4 = ipv4.ip_to_int("10.1.0.1"), ipv4.ip_to_int("10.1.0.2")
A6, B6 = ipv6.to_int("fd00::1"), ipv6.to_int("fd00::2")
MAC = b"\x02\x00\x00\x00\x00\x01"


def _complete(frame: bytes, head: bytes) -> bytes:
    """What the device does for VIRTIO_NET_HDR_F_NEEDS_CSUM."""
    flags, _kind, _hdr_len, _gso, start, offset = VNET_HDR.unpack(head)
    assert flags & VNET_NEEDS_CSUM
    csum = checksum.finish(checksum.partial(frame[start:]))
    at = start + offset
    return frame[:at] + csum.to_bytes(2, "big") + frame[at + 2 :]


@pytest.mark.parametrize("fam", [IPV4, IPV6], ids=["ipv4", "ipv6"])
@pytest.mark.parametrize("size", [0, 1, 1448, 1449, 60_000])
def test_a_partial_checksum_completed_by_the_device_verifies(fam: Family, size: int) -> None:
    src, dst = (A4, B4) if fam is IPV4 else (A6, B6)
    payload = os.urandom(size)
    options = b"\x01\x01\x08\x0a" + bytes(8)  # NOP NOP timestamp, as our data carries
    seg = segment(src, dst, 40000, 80, 7, 9, ACK | PSH, 512, payload, options, fam, True)
    with pytest.raises(Exception, match="bad checksum"):
        parse(src, dst, memoryview(seg), fam)  # partial: not a valid checksum yet...
    assert parse(src, dst, memoryview(seg), fam, verify=False).payload == payload  # ...trusted
    if fam is IPV4:
        ip = ipv4.header(src, dst, ipv4.PROTO_TCP, len(seg), 1, df=True)
        frame = ethernet.header(MAC, MAC, ethernet.TYPE_IPV4) + ip + seg
    else:
        ip = ipv6.header(src, dst, ipv6.TCP, len(seg), 64)
        frame = ethernet.header(MAC, MAC, ethernet.TYPE_IPV6) + ip + seg
    head = vnet_header(frame, 1448)
    flags, kind, hdr_len, gso_size, start, offset = VNET_HDR.unpack(head)
    l4 = 14 + len(ip)
    assert (flags, hdr_len, gso_size, start, offset) == (
        VNET_NEEDS_CSUM,
        l4 + 32,
        1448,
        l4,
        TCP_CSUM_OFFSET,
    )
    assert kind == (GSO_NONE if size <= 1448 else GSO_TCPV4 if fam is IPV4 else GSO_TCPV6)
    done = _complete(frame, head)
    assert parse(src, dst, memoryview(done)[l4:], fam).payload == payload
    # the same segment checksummed in software is what the device makes of it
    assert done[l4:] == segment(src, dst, 40000, 80, 7, 9, ACK | PSH, 512, payload, options, fam)


def test_udp_with_a_vouched_checksum_is_taken_unverified() -> None:
    data = udp.datagram(A4, B4, 53, 5353, b"query")
    bad = data[:6] + b"\x12\x34" + data[8:]  # a partial sum left for the device
    with pytest.raises(Exception, match="bad checksum"):
        udp.parse(A4, B4, memoryview(bad))
    assert bytes(udp.parse(A4, B4, memoryview(bad), verify=False)[2]) == b"query"


# -- against the kernel over TAP ------------------------------------------------------------

SIZE = 4 << 20


@pytest.fixture
def namespace() -> Iterator[str]:
    need_root()
    need_tool("ip")
    name = f"mpy-off-{os.getpid()}"
    with tap_namespace(name, "10.79.1.1/24", mtu=1500):
        yield name


def _kernel(ns: str, code: str) -> str:
    out = subprocess.run(
        ["ip", "netns", "exec", ns, sys.executable, "-c", textwrap.dedent(code)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return out.stdout.decode().strip()


async def _both_ways(ns: str, **options: object) -> MirageBackend:
    """Serve a sink (answers the sha256 it read) and a source on our stack; the kernel
    sends SIZE bytes to one and reads SIZE bytes from the other."""
    with inside_netns(ns):  # the TAP fd and the netlink query, in the namespace
        cm = backends.open_backend("mirage", tap="tap0", ip="10.79.1.2/24", **options)
        net = await cm.__aenter__()
    try:
        assert isinstance(net, MirageBackend)

        async def sink(flow: backends.Flow) -> None:
            digest = hashlib.sha256()
            while data := await flow.read(1 << 20):
                digest.update(data)
            await flow.write(digest.hexdigest().encode())

        async def source(flow: backends.Flow) -> None:
            await flow.write(pattern(SIZE))
            await flow.shutdown_write()

        async with anyio.create_task_group() as tg:
            for port, handler in ((9000, sink), (9002, source)):
                listener = await net.tcp_listen("0.0.0.0", port)
                tg.start_soon(listener.serve, handler)
            sent = await anyio.to_thread.run_sync(
                _kernel,
                ns,
                f"""
                import socket
                s = socket.create_connection(("10.79.1.2", 9000), timeout=30)
                s.sendall(bytes(range(256)) * {SIZE // 256}); s.shutdown(socket.SHUT_WR)
                print(s.makefile("rb").read().decode())
                """,
            )
            assert sent == hashlib.sha256(bytes(range(256)) * (SIZE // 256)).hexdigest()
            got = await anyio.to_thread.run_sync(
                _kernel,
                ns,
                """
                import hashlib, socket
                s = socket.create_connection(("10.79.1.2", 9002), timeout=30)
                print(hashlib.sha256(s.makefile("rb").read()).hexdigest())
                """,
            )
            assert got == hashlib.sha256(pattern(SIZE)).hexdigest()
            tg.cancel_scope.cancel()
        return net
    finally:
        await cm.__aexit__(None, None, None)


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_super_segments_cross_the_tap_both_ways(namespace: str) -> None:
    net = await _both_ways(namespace)
    tap = net.tap
    assert tap is not None and tap.offload.csum and tap.offload.tso_segments > 1
    assert tap.gso_in > 0  # the kernel handed us segments of many MSS at once
    assert tap.gso_out > 0  # and took ours to cut up
    assert net.stack.counters["bad"] == 0


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_a_device_limited_to_one_segment_gets_single_segments(namespace: str) -> None:
    subprocess.run(
        ["ip", "netns", "exec", namespace, "ip", "link", "set", "tap0", "gso_max_segs", "1"],
        check=True,
    )
    net = await _both_ways(namespace)
    tap = net.tap
    assert tap is not None and tap.offload.csum and tap.offload.tso_segments == 1
    assert tap.gso_out == 0 and tap.gso_in == 0  # checksums offloaded, segments single


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_without_offload_the_device_carries_plain_frames(namespace: str) -> None:
    net = await _both_ways(namespace, offload=False)
    tap = net.tap
    assert tap is not None and not tap.vnet and not tap.offload.csum
    assert tap.gso_out == 0 and tap.gso_in == 0
