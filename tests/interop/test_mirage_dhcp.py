"""The mirage stack takes its address from dnsmasq (Debian dnsmasq-base) over a TAP device.

A namespace made here holds ``tap0`` (10.79.N.1/24, the kernel's side) and dnsmasq serving
DHCP on it (no DNS, no ping check). The test's thread enters the namespace, opens a mirage
backend with ``ip="dhcp"`` on tap0 and checks: the lease is in dnsmasq's range with its
mask, router and DNS server; a TCP exchange with a kernel socket uses that address; a
renewal is acknowledged; after close, dnsmasq's lease file no longer lists us
(DHCPRELEASE). dnsmasq's shortest lease is 2 minutes and it sends its own T1 (half the
lease) whatever ``dhcp-option=58`` says, so the renewal is asked for with
``DhcpClient.renew()``, which enters RENEWING as T1 does; the timers themselves are tested
against a scripted server in tests/mirage/test_dhcp.py. The
namespace, dnsmasq and its files are removed at the end, also on failure. Needs root.
"""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import backends
from backends.mirage.dhcp import DhcpConfig, State
from backends.mirage.ipv4 import int_to_ip
from tests.conftest import need_root, need_tool
from tests.peers import inside_netns, stop, tap_namespace

pytestmark = [pytest.mark.interop, pytest.mark.root]

MAC = "02:00:5e:10:00:99"
REPO = Path(__file__).resolve().parents[2]


@dataclass
class Dnsmasq:
    namespace: str
    subnet: str
    scratch: str

    def leases(self) -> str:
        try:
            with open(os.path.join(self.scratch, "leases")) as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def log(self) -> str:
        with open(os.path.join(self.scratch, "log"), errors="replace") as f:
            return f.read()[-3000:]


@pytest.fixture(scope="module")
def dnsmasq() -> Iterator[Dnsmasq]:
    need_root()
    need_tool("ip", "dnsmasq")
    name = f"mdhcp{os.getpid() % 100000}"
    subnet = f"10.79.{random.randrange(1, 250)}"
    scratch = tempfile.mkdtemp(prefix="mirage-py-dnsmasq-")
    proc: subprocess.Popen[bytes] | None = None
    try:
        with tap_namespace(name, f"{subnet}.1/24"):
            log = open(os.path.join(scratch, "log"), "wb")  # noqa: SIM115 (closed below)
            with log:
                proc = subprocess.Popen(
                    [
                        *("ip", "netns", "exec", name, "dnsmasq", "--no-daemon"),
                        *("--conf-file=/dev/null", "--port=0", "--user=root", "--no-ping"),
                        *("--interface=tap0", "--bind-interfaces", "--log-dhcp"),
                        f"--dhcp-range={subnet}.50,{subnet}.59,255.255.255.0,2m",
                        f"--dhcp-option=option:router,{subnet}.1",
                        f"--dhcp-option=option:dns-server,{subnet}.53",
                        f"--dhcp-leasefile={scratch}/leases",
                        f"--pid-file={scratch}/pid",
                    ],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            server = Dnsmasq(name, subnet, scratch)
            end = time.monotonic() + 10
            while "DHCP, IP range" not in server.log():
                if proc.poll() is not None or time.monotonic() > end:
                    raise RuntimeError(f"dnsmasq did not start: {server.log()}")
                time.sleep(0.05)
            try:
                yield server
            finally:
                stop(proc)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def echo_once(listener: socket.socket, seen: list[tuple[str, int]]) -> None:
    conn, peer = listener.accept()
    seen.append(peer)
    with conn:
        while data := conn.recv(65536):
            conn.sendall(data)


def test_lease_from_dnsmasq_used_renewed_and_released(dnsmasq: Dnsmasq) -> None:
    subnet = dnsmasq.subnet
    report: dict[str, str | int] = {}

    async def main(net: backends.Backend) -> None:
        client = net.dhcp  # type: ignore[attr-defined]
        lease = client.lease
        address = int_to_ip(lease.address)
        report["address"] = address
        assert address.startswith(f"{subnet}.") and 50 <= int(address.rsplit(".", 1)[1]) <= 59
        assert lease.prefix == 24 and int_to_ip(lease.gateway) == f"{subnet}.1"
        assert [int_to_ip(a) for a in lease.dns] == [f"{subnet}.53"]
        assert lease.lease_time == 120 and lease.t1 - lease.obtained == 60, dnsmasq.log()
        assert MAC.replace(":", "") in dnsmasq.leases().replace(":", "")
        assert address in dnsmasq.leases()

        # The leased address carries a TCP exchange with the kernel.
        listener = socket.socket()  # made in the namespace: this thread is inside it
        listener.bind((f"{subnet}.1", 0))
        listener.listen(1)
        seen: list[tuple[str, int]] = []
        thread = threading.Thread(target=echo_once, args=(listener, seen), daemon=True)
        thread.start()
        with net.fail_after(10):
            flow = await net.tcp_connect(f"{subnet}.1", listener.getsockname()[1])
            async with flow:
                payload = os.urandom(200_000)
                await flow.write(payload)
                await flow.shutdown_write()
                got = b""
                while data := await flow.read():
                    got += data
        thread.join(5)
        listener.close()
        assert got == payload and seen[0][0] == address

        # A unicast DHCPREQUEST (RENEWING) renews the lease; dnsmasq acknowledges it.
        renewed = lease.obtained
        await net.sleep(0.05)
        with net.sched:  # type: ignore[attr-defined]
            client.renew()
        assert client.state == State.RENEWING
        with net.fail_after(10):
            while client.state != State.BOUND:
                await net.sleep(0.02)
        assert client.lease.obtained > renewed and int_to_ip(client.lease.address) == address
        assert client.counters["naks"] == 0
        report["renewals"] = client.counters["renewals"]
        # Forget dnsmasq's MAC: the DHCPRELEASE at close must ask for it (ARP) first.
        net.stack.arp.cache.clear()  # type: ignore[attr-defined]

    with inside_netns(dnsmasq.namespace):
        backends.run(
            main,
            "mirage",
            tap="tap0",
            ip="dhcp",
            mac=MAC,
            dhcp=DhcpConfig(min_retransmit=1.0),
            dhcp_timeout=20,
        )
    assert report["renewals"]
    # Closing the backend sent DHCPRELEASE: dnsmasq drops the lease from its file.
    end = time.monotonic() + 5
    while str(report["address"]) in dnsmasq.leases():
        assert time.monotonic() < end, dnsmasq.log()
        time.sleep(0.05)
    assert f"DHCPREQUEST(tap0) {report['address']} {MAC}" in dnsmasq.log()
    assert "DHCPRELEASE" in dnsmasq.log()


def test_cohttp_serve_with_ip_dhcp(dnsmasq: Dnsmasq, tmp_path: Path) -> None:
    """``python -m cohttp serve --backend mirage --tap tap0 --ip dhcp``, fetched by curl at
    the address dnsmasq leased it; the lease is released when the server stops."""
    need_tool("curl")
    (tmp_path / "hello.txt").write_text("hello over a leased address\n")
    before = dnsmasq.leases()
    proc = subprocess.Popen(
        [
            *("ip", "netns", "exec", dnsmasq.namespace, sys.executable, "-m", "cohttp"),
            *("serve", str(tmp_path), "--quiet", "--port", "8080"),
            *("--backend", "mirage", "--tap", "tap0", "--ip", "dhcp"),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("serving on http://0.0.0.0:8080/ (mirage)"), line
        end = time.monotonic() + 5
        while not (new := [r.split() for r in dnsmasq.leases().splitlines() if r not in before]):
            assert time.monotonic() < end, dnsmasq.log()
            time.sleep(0.05)
        assert len(new) == 1, dnsmasq.leases()
        address = new[0][2]  # expiry, MAC, address, host name, client id
        got = subprocess.run(
            [
                *("ip", "netns", "exec", dnsmasq.namespace, "curl", "-sS"),
                *("--max-time", "10", f"http://{address}:8080/hello.txt"),
            ],
            capture_output=True,
            text=True,
            timeout=20,
        )
        assert got.returncode == 0, got.stderr
        assert got.stdout == "hello over a leased address\n"
    finally:
        stop(proc)  # SIGTERM: the server shuts down and the backend releases the lease
    end = time.monotonic() + 5
    while dnsmasq.leases().strip() != before.strip():
        assert time.monotonic() < end, dnsmasq.leases()
        time.sleep(0.05)


def test_dns_serve_with_ip_dhcp(dnsmasq: Dnsmasq, tmp_path: Path) -> None:
    """``python -m dns serve --backend mirage --tap tap0 --ip dhcp`` answers dig at the
    address dnsmasq leased it."""
    need_tool("dig")
    zone = tmp_path / "leased.test.zone"
    zone.write_text(
        "$ORIGIN leased.test.\n$TTL 60\n@ SOA ns admin 1 3600 600 86400 60\n@ NS ns\n"
        "ns A 192.0.2.1\nwww A 192.0.2.80\n"
    )
    before = dnsmasq.leases()
    proc = subprocess.Popen(
        [
            *("ip", "netns", "exec", dnsmasq.namespace, sys.executable, "-m", "dns"),
            *("serve", str(zone), "--port", "53"),
            *("--backend", "mirage", "--tap", "tap0", "--ip", "dhcp"),
        ],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        end = time.monotonic() + 20
        while not (new := [r.split() for r in dnsmasq.leases().splitlines() if r not in before]):
            assert proc.poll() is None and time.monotonic() < end, dnsmasq.log()
            time.sleep(0.05)
        address = new[0][2]
        while True:
            dug = subprocess.run(
                [
                    *("ip", "netns", "exec", dnsmasq.namespace, "dig", "+short"),
                    *("+time=1", "+tries=1", f"@{address}", "www.leased.test"),
                ],
                capture_output=True,
                text=True,
                timeout=20,
            )
            if dug.stdout.strip() == "192.0.2.80":
                break
            assert proc.poll() is None and time.monotonic() < end, dug.stdout + dug.stderr
            time.sleep(0.1)
    finally:
        stop(proc)
