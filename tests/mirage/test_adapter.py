"""The adapter: stacks sharing a switch, both host loops, options, pcap, errors."""

from __future__ import annotations

import hashlib
import os
import random
import struct
import subprocess
from pathlib import Path

import anyio
import pytest

import backends
from backends.errors import AddressUnavailable, ConnectionRefused, ResolutionError
from backends.mirage.adapter import open_backend
from backends.mirage.faults import Faults
from backends.mirage.netif import Switch
from backends.mirage.sched import Scheduler
from tests.conftest import need_tool

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def _echo(flow: backends.Flow) -> None:
    while data := await flow.read():
        await flow.write(data)


async def test_two_stacks_on_one_switch(tmp_path: Path) -> None:
    switch = Switch(mtu=9000)
    pcap = tmp_path / "a.pcap"
    async with (
        open_backend(switch=switch, ip="10.1.0.1/24", pcap=str(pcap)) as a,
        open_backend(switch=switch, ip="10.1.0.2/24") as b,
        await b.tcp_listen("0.0.0.0", 7) as listener,
        anyio.create_task_group() as tg,
    ):
        tg.start_soon(listener.serve, _echo)
        payload = random.Random(1).randbytes(3_000_000)
        flow = await a.tcp_connect("10.1.0.2", 7)
        assert flow.remote == ("10.1.0.2", 7) and flow.local[0] == "10.1.0.1"
        received = bytearray()

        async def reader() -> None:
            while len(received) < len(payload):
                received.extend(await flow.read(1 << 20))

        async with anyio.create_task_group() as inner:
            inner.start_soon(reader)
            await flow.write(payload)
        assert hashlib.sha256(received).digest() == hashlib.sha256(payload).digest()
        await flow.close()
        tg.cancel_scope.cancel()
    # the pcap is a valid libpcap file holding Ethernet frames
    raw = pcap.read_bytes()
    magic, major, minor, _z, _s, _snap, link = struct.unpack("<IHHiIII", raw[:24])
    assert (magic, major, minor, link) == (0xA1B2C3D4, 2, 4, 1)
    _sec, _usec, incl, orig = struct.unpack("<IIII", raw[24:40])
    assert incl == orig and raw[40 + 12 : 40 + 14] == b"\x08\x06"  # first: gratuitous ARP


async def test_pcap_is_readable_by_tcpdump(tmp_path: Path) -> None:
    need_tool("tcpdump")
    pcap = tmp_path / "lo.pcap"
    switch = Switch()
    async with (
        open_backend(switch=switch, ip="10.2.0.1/24", pcap=str(pcap)) as a,
        open_backend(switch=switch, ip="10.2.0.2/24") as b,
        await b.udp_bind("0.0.0.0", 9999) as server,
        await a.udp_bind("", 0) as c,
    ):
        await c.send(b"hello", ("10.2.0.2", 9999))
        assert await server.recv() == (b"hello", ("10.2.0.1", c.address[1]))
    out = subprocess.run(
        ["tcpdump", "-nr", str(pcap)], capture_output=True, text=True, check=True, timeout=30
    ).stdout
    assert "ARP, Request who-has 10.2.0.2" in out
    assert "10.2.0.1." in out and "10.2.0.2.9999: UDP, length 5" in out


async def test_names_are_not_resolved_and_routes_are_checked() -> None:
    async with open_backend() as net:
        with pytest.raises(ResolutionError, match="no system resolver"):
            await net.tcp_connect("example.com", 80)
        with pytest.raises(AddressUnavailable, match="no route"):
            await net.tcp_connect("203.0.113.9", 80)
        with pytest.raises(AddressUnavailable, match="no route to 2001:db8::9"):
            await net.tcp_connect("2001:db8::9", 80)
        with pytest.raises(ConnectionRefused):
            await net.tcp_connect("::1", 1)
        with pytest.raises(ConnectionRefused):
            await net.tcp_connect("127.0.0.1", 1)
        with pytest.raises(AddressUnavailable, match="not an address of this stack"):
            await net.tcp_listen("10.99.0.1", 0)
        async with await net.tcp_listen("localhost", 0) as listener:
            assert listener.address[0] == "127.0.0.1"
    with pytest.raises(TypeError, match="unknown mirage backend options"):
        async with open_backend(bogus=1):
            pass


async def test_faults_option_and_connect_to_own_address() -> None:
    faults = Faults(duplicate=0.05, reorder=0.05, seed=3)
    switch = Switch()
    async with (
        open_backend(switch=switch, ip="10.3.0.1/24", faults=faults) as a,
        open_backend(switch=switch, ip="10.3.0.2/24", nagle=True) as b,
        await b.tcp_listen("10.3.0.2", 0) as listener,
        anyio.create_task_group() as tg,
    ):
        tg.start_soon(listener.serve, _echo)
        flow = await a.tcp_connect("10.3.0.2", listener.address[1])
        data = os.urandom(500_000)
        got = bytearray()

        async def reader() -> None:
            while len(got) < len(data):
                got.extend(await flow.read())

        async with anyio.create_task_group() as inner:
            inner.start_soon(reader)
            await flow.write(data)
        assert bytes(got) == data
        await flow.close()
        # a stack reaches its own address through loopback
        own = await b.tcp_connect("10.3.0.2", listener.address[1])
        await own.write(b"self")
        assert await own.read() == b"self"
        await own.close()
        tg.cancel_scope.cancel()


def test_backends_run_on_trio_host() -> None:
    async def main(net: backends.Backend) -> bytes:
        async with (
            await net.udp_bind("127.0.0.1", 0) as server,
            await net.udp_bind("127.0.0.1", 0) as client,
        ):
            await client.send(b"x" * 65507, server.address)
            data, _ = await server.recv()
            return data

    assert backends.host_loop("mirage", host="trio") == "trio"
    assert backends.run(main, "mirage", host="trio") == b"x" * 65507


def test_shared_switch_keeps_its_scheduler() -> None:
    sched = Scheduler(lambda: 0.0)
    assert Switch(sched).sched is sched


@pytest.mark.parametrize("text", ["10.0.0.2/٣", "10.0.0.2/+3", "10.0.0.2/ 3", "10.0.0.2/033"])
def test_ipv4_prefix_length_is_ascii_digits(text: str) -> None:
    from backends.mirage import ipv4

    with pytest.raises(ValueError, match="prefix length"):
        ipv4.parse_interface(text)


@pytest.mark.parametrize("text", ["fd00::2/٦٤", "fd00::2/+64", "fd00::2/0064"])
def test_ipv6_prefix_length_is_ascii_digits(text: str) -> None:
    from backends.mirage import ipv6

    with pytest.raises(ValueError, match="prefix length"):
        ipv6.parse_interface(text)


@pytest.mark.parametrize("host", ["asyncio", "trio"])
def test_the_stack_reads_the_host_loops_clock_directly(host: str) -> None:
    from backends.mirage.adapter import host_clock, loop_clock

    assert loop_clock() is host_clock  # no loop running: the general lookup

    async def main() -> None:
        clock = loop_clock()
        assert clock is not host_clock
        before = anyio.current_time()
        now = clock()
        assert before <= now <= anyio.current_time()  # the same clock as anyio deadlines

    anyio.run(main, backend=host)
