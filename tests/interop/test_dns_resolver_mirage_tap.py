"""The resolver on the mirage stack, over a TAP device, asking NSD on the Linux side.

A network namespace made here holds a TAP device (10.77.N.1/24 on the kernel side) and
NSD listening on that address; ``python -m dns query --backend mirage --tap tap0 --ip
10.77.N.2/24`` runs inside the namespace, so every packet of the query (UDP, and TCP after
a truncated answer) goes through our own TCP/IP stack to the kernel's. The namespace, NSD
and its scratch directory are removed at the end, also on failure.
"""

from __future__ import annotations

import contextlib
import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from tests.conftest import need_root, need_tool
from tests.interop.test_dns_resolver_nsd import BIG_TXT_COUNT, ZONES
from tests.peers import run_nsd, tap_namespace

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
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(tap_namespace(ns, f"{prefix}.1/24"))
        except subprocess.CalledProcessError as exc:
            if exc.cmd[:3] != ["ip", "netns", "add"]:
                raise
            pytest.skip(f"cannot make a network namespace here: {exc.stderr.strip()}")
        nsd = stack.enter_context(
            run_nsd(
                ZONES,
                port=PORT,
                address=f"{prefix}.1",
                command_prefix=["ip", "netns", "exec", ns],
                wait=False,
            )
        )
        for _ in range(50):
            out = sh(
                "ip",
                "netns",
                "exec",
                ns,
                "dig",
                "+short",
                "+time=1",
                "+tries=1",
                f"@{prefix}.1",
                "-p",
                str(PORT),
                "www.example.test",
                check=False,
            )
            if out.stdout.strip() == "192.0.2.10":
                break
            time.sleep(0.1)
        else:
            raise RuntimeError(f"NSD in the namespace did not answer: {nsd.log()}")
        yield ns, prefix  # closing: NSD first, then the namespace it ran in


def query(ns: str, prefix: str, *args: str) -> subprocess.CompletedProcess[str]:
    return sh(
        "ip",
        "netns",
        "exec",
        ns,
        sys.executable,
        "-m",
        "dns",
        "query",
        *args,
        f"@{prefix}.1",
        "-p",
        str(PORT),
        "+time=2",
        "--backend",
        "mirage",
        "--tap",
        "tap0",
        "--ip",
        f"{prefix}.2/24",
        check=False,
    )


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
