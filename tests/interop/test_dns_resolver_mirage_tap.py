"""The resolver on the mirage stack, over a TAP device, asking NSD on the Linux side.

A network namespace made here holds a TAP device (10.77.N.1/24 on the kernel side) and
NSD listening on that address; ``python -m dns query --backend mirage --tap tap0 --ip
10.77.N.2/24`` runs inside the namespace, so every packet of the query (UDP, and TCP after
a truncated answer) goes through our own TCP/IP stack to the kernel's. The namespace, NSD
and its scratch directory are removed at the end, also on failure.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator

import pytest

from tests.conftest import need_root, need_tool
from tests.interop.test_dns_resolver_nsd import BIG_TXT_COUNT, ZONES

pytestmark = [pytest.mark.interop, pytest.mark.root]

PORT = 5300


def sh(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, check=check, timeout=30)


@pytest.fixture(scope="module")
def namespace() -> Iterator[tuple[str, str]]:
    """``(namespace, subnet prefix)`` with tap0 up and NSD answering on ``prefix.1``."""
    need_root()
    need_tool("ip", "nsd", "dig")
    ns = f"mprsv{os.getpid() % 100000}"
    prefix = f"10.77.{random.randrange(1, 250)}"
    scratch = tempfile.mkdtemp(prefix="nsd-mirage-")
    proc: subprocess.Popen[bytes] | None = None
    created = False
    try:
        try:
            sh("ip", "netns", "add", ns)
        except subprocess.CalledProcessError as exc:
            pytest.skip(f"cannot make a network namespace here: {exc.stderr.strip()}")
        created = True
        sh("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")
        sh("ip", "netns", "exec", ns, "ip", "tuntap", "add", "dev", "tap0", "mode", "tap")
        sh("ip", "netns", "exec", ns, "ip", "addr", "add", f"{prefix}.1/24", "dev", "tap0")
        sh("ip", "netns", "exec", ns, "ip", "link", "set", "tap0", "up")
        zone_conf = []
        for origin, text in ZONES.items():
            with open(os.path.join(scratch, f"{origin}.zone"), "w") as f:
                f.write(text)
            zone_conf.append(f"zone:\n  name: {origin}\n  zonefile: {origin}.zone\n")
        conf = os.path.join(scratch, "nsd.conf")
        with open(conf, "w") as f:
            f.write(f"""server:
  ip-address: {prefix}.1@{PORT}
  port: {PORT}
  username: ""
  chroot: ""
  database: ""
  zonesdir: "{scratch}"
  zonelistfile: "{scratch}/zone.list"
  xfrdfile: "{scratch}/xfrd.state"
  xfrdir: "{scratch}"
  pidfile: "{scratch}/nsd.pid"
  logfile: "{scratch}/nsd.log"
  server-count: 1
  do-ip6: no
  minimal-responses: yes
  rrl-ratelimit: 0
  rrl-whitelist-ratelimit: 0
remote-control:
  control-enable: no
""" + "".join(zone_conf))
        proc = subprocess.Popen(["ip", "netns", "exec", ns, "nsd", "-d", "-c", conf],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(50):
            out = sh("ip", "netns", "exec", ns, "dig", "+short", "+time=1", "+tries=1",
                     f"@{prefix}.1", "-p", str(PORT), "www.example.test", check=False)
            if out.stdout.strip() == "192.0.2.10":
                break
            time.sleep(0.1)
        else:
            raise RuntimeError("NSD in the namespace did not answer")
        yield ns, prefix
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if created:
            sh("ip", "netns", "del", ns, check=False)
        shutil.rmtree(scratch, ignore_errors=True)


def query(ns: str, prefix: str, *args: str) -> subprocess.CompletedProcess[str]:
    return sh("ip", "netns", "exec", ns, sys.executable, "-m", "dns", "query", *args,
              f"@{prefix}.1", "-p", str(PORT), "+time=2", "--backend", "mirage",
              "--tap", "tap0", "--ip", f"{prefix}.2/24", check=False)


def test_udp_answer_through_our_stack(namespace: tuple[str, str]) -> None:
    ns, prefix = namespace
    out = query(ns, prefix, "alias2.example.test", "+short")
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["alias.example.test.", "www.example.test.", "192.0.2.10"]


def test_truncated_answer_retried_over_our_tcp(namespace: tuple[str, str]) -> None:
    ns, prefix = namespace
    out = query(ns, prefix, "big.example.test", "TXT")
    assert out.returncode == 0, out.stderr
    assert "(TCP)" in out.stdout
    assert out.stdout.count("\tTXT\t") == BIG_TXT_COUNT


def test_nxdomain_through_our_stack(namespace: tuple[str, str]) -> None:
    ns, prefix = namespace
    out = query(ns, prefix, "nope.example.test")
    assert out.returncode == 0, out.stderr
    assert "status: NXDOMAIN" in out.stdout
