"""The mirage adapter over IPv6: two backends on one in-memory switch, each with an IPv4
and an IPv6 address, on the host loops (asyncio and trio); dual-stack ``::`` listeners
and endpoints; the ``ip=``/``--ip`` forms."""

from __future__ import annotations

import argparse

import anyio
import pytest

import backends
from backends.cli import add_backend_arguments, device_options, listen_host
from backends.errors import AddressInUse, AddressUnavailable, ConnectionRefused
from backends.mirage.adapter import MirageBackend, open_backend
from backends.mirage.netif import Switch

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def _echo(flow: backends.Flow) -> None:
    while data := await flow.read():
        await flow.write(data)


async def _settled(net: backends.Backend) -> None:
    """Until every address finished duplicate address detection (at most ~2 s here)."""
    assert isinstance(net, MirageBackend)
    ndp = net.stack.ndp
    assert ndp is not None
    with anyio.fail_after(10):
        while any(a.tentative for a in ndp.addresses.values()):
            await anyio.sleep(0.05)


async def test_tcp_and_udp_over_ipv6_between_two_stacks() -> None:
    switch = Switch()
    async with (
        open_backend(switch=switch, ip=["10.6.0.1/24", "fd00:6::1/64"]) as a,
        open_backend(switch=switch, ip=["fd00:6::2/64", "10.6.0.2/24"]) as b,
    ):
        with pytest.raises(AddressUnavailable, match="not an address of this stack"):
            await b.tcp_listen("fd00:6::99", 0)
        await _settled(a)
        await _settled(b)
        assert a.ip == "10.6.0.1"  # type: ignore[attr-defined]
        async with await b.tcp_listen("::", 0) as listener, anyio.create_task_group() as tg:
            tg.start_soon(listener.serve, _echo)
            assert listener.address[0] == "::"
            async with await a.tcp_connect("fd00:6::2", listener.address[1]) as flow:
                assert flow.local == ("fd00:6::1", flow.local[1])
                assert flow.remote == ("fd00:6::2", listener.address[1])
                await flow.write(b"x" * 200_000)
                got = b""
                while len(got) < 200_000:
                    got += await flow.read()
                assert got == b"x" * 200_000
            # the same listener takes IPv4 (Linux's bindv6only=0)
            async with await a.tcp_connect("10.6.0.2", listener.address[1]) as flow:
                await flow.write(b"four")
                assert await flow.read() == b"four"
            tg.cancel_scope.cancel()
        with pytest.raises(ConnectionRefused):
            await a.tcp_connect("fd00:6::2", 1)
        async with (
            await b.udp_bind("::", 0) as server,
            await a.udp_connect("fd00:6::2", 1) as refused,
            await a.udp_bind("fd00:6::1", 0) as client,
            await a.udp_bind("10.6.0.1", 0) as client4,
        ):
            with anyio.fail_after(5):
                await client.send(b"six", ("fd00:6::2", server.address[1]))
                assert await server.recv() == (b"six", ("fd00:6::1", client.address[1]))
                await client4.send(b"four", ("10.6.0.2", server.address[1]))
                data, source = await server.recv()
                assert (data, source) == (b"four", ("::ffff:10.6.0.1", client4.address[1]))
                await server.send(b"back", source)  # a mapped address goes out over IPv4
                assert await client4.recv() == (b"back", ("10.6.0.2", server.address[1]))
                await refused.send(b"anyone?", ("fd00:6::2", 1))
                with pytest.raises(ConnectionRefused, match=r"fd00:6::2\]?:1"):
                    await refused.recv()
            with pytest.raises(AddressInUse):
                await b.udp_bind("0.0.0.0", server.address[1])  # "::" holds it in IPv4 too


async def test_an_ipv6_only_stack_and_bad_addresses() -> None:
    async with open_backend(ip="fd00:7::1/64") as net:
        await _settled(net)
        assert net.ip == "fd00:7::1"  # type: ignore[attr-defined]
        with pytest.raises(AddressUnavailable, match="no route"):
            await net.tcp_connect("2001:db8::1", 80)  # off-link and no router yet
    for bad in (["10.0.0.1/24", "10.0.0.2/24"], "fd00::1/129", "fd00::1"):
        with pytest.raises(ValueError):
            async with open_backend(ip=bad):
                pass


def test_cli_ip_repeats_and_listens_on_both_families() -> None:
    parser = argparse.ArgumentParser()
    add_backend_arguments(parser)
    args = parser.parse_args(
        ["--backend", "mirage", "--ip", "10.0.0.2/24", "--ip", "fd00::2/64", "--gateway", "fe80::1"]
    )
    assert device_options(args) == {
        "ip": ["10.0.0.2/24", "fd00::2/64"],
        "gateway": ["fe80::1"],
    }
    assert listen_host(args) == "::"
    one = parser.parse_args(["--backend", "mirage", "--ip", "10.0.0.2/24"])
    assert listen_host(one) == "10.0.0.2"
