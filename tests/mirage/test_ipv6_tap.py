"""The mirage stack's IPv6 against the Linux kernel's, over a TAP device in a namespace
the test creates and deletes (also on failure): ``ping -6`` to our global and link-local
addresses, ``curl -6`` moving 10 MB each way to a cohttp server on the stack (checked by
sha256; also with 5% loss by nftables), the same server reached over IPv4 (one ``::`` listener, dual stack), and
``dig -6`` against ``python -m dns serve --backend mirage``. Needs root and iproute2;
ping, curl and dig for their parts.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import need_root, need_tool
from tests.interop.test_mirage_tap import TEN_MB, Namespace, _loss, _stop
from tests.mirage.tapapp import pattern
from tests.peers import tap_namespace

pytestmark = [pytest.mark.interop, pytest.mark.root]

REPO = Path(__file__).resolve().parents[2]
_LINK_LOCAL = re.compile(r"from (fe80::[0-9a-f:]{1,40})")
_counter = 0


class Namespace6(Namespace):
    """A namespace whose TAP has IPv4 and IPv6 on the kernel's side."""

    kernel_ip6: str
    stack_ip6: str


@pytest.fixture
def ns6() -> Iterator[Namespace6]:
    need_root()
    need_tool("ip")
    global _counter
    _counter += 1
    name = f"mpy6-{os.getpid()}-{_counter}"
    n = (os.getpid() + _counter) % 200 + 20
    space = Namespace6(name, f"10.78.{n}.1", f"10.78.{n}.2")
    space.kernel_ip6 = f"fd00:78:{n:x}::1"
    space.stack_ip6 = f"fd00:78:{n:x}::2"
    with tap_namespace(name, f"{space.kernel_ip}/24", mtu=1500):
        # nodad: the kernel's own address is usable at once (ours runs DAD, RFC 4862)
        space.run("ip", "-6", "addr", "add", f"{space.kernel_ip6}/64", "dev", "tap0", "nodad")
        yield space


def _wait_ping(ns: Namespace6, address: str) -> None:
    """Until our stack finished DAD and answers (bounded: 20 tries)."""
    for _ in range(20):
        if ns.run("ping", "-6", "-c", "1", "-W", "1", address, check=False).returncode == 0:
            return
        time.sleep(0.2)
    raise AssertionError(f"{address} never answered ping -6")


@pytest.fixture
def stack6(ns6: Namespace6) -> Iterator[subprocess.Popen[bytes]]:
    need_tool("ping")
    proc = ns6.start(
        sys.executable,
        "-m",
        "tests.mirage.tapapp",
        "--tap",
        "tap0",
        "--ip",
        f"{ns6.stack_ip}/24",
        "--ip",
        f"{ns6.stack_ip6}/64",
        ready="ready",
    )
    try:
        _wait_ping(ns6, ns6.stack_ip6)
        yield proc
    finally:
        _stop(proc)


def test_ping6_global_and_link_local(ns6: Namespace6, stack6: subprocess.Popen[bytes]) -> None:
    out = ns6.run("ping", "-6", "-c", "3", "-i", "0.2", "-W", "2", ns6.stack_ip6).stdout.decode()
    assert " 0% packet loss" in out, out
    # all-nodes: every node answers from a unicast address of its own (RFC 4443 §4.2), the
    # link-local one for a link-local asker (RFC 6724 §5 rule 2) once its duplicate address
    # detection is over; until then the stack answers from its global address (a few tries)
    kernel = ns6.run("ip", "-6", "addr", "show", "dev", "tap0").stdout.decode()
    theirs: set[str] = set()
    for _ in range(5):
        done = ns6.run("ping", "-6", "-c", "2", "-W", "2", "ff02::1%tap0", check=False)
        out = done.stdout.decode()
        theirs = {a for a in _LINK_LOCAL.findall(out) if a not in kernel}
        if theirs:
            break
        time.sleep(0.5)
    assert theirs, f"no link-local answer from the stack: {out}"
    link_local = theirs.pop()
    out = ns6.run("ping", "-6", "-c", "2", "-W", "2", f"{link_local}%tap0").stdout.decode()
    assert " 0% packet loss" in out, out


def _curl6_both_ways(ns6: Namespace6) -> None:
    need_tool("curl")
    url = f"http://[{ns6.stack_ip6}]:8081/"
    body = pattern(TEN_MB)
    up = ns6.run(
        "curl", "-6", "-sS", "--max-time", "60", "--data-binary", "@-", url, input=body
    ).stdout.decode()
    assert up.split() == [str(TEN_MB), hashlib.sha256(body).hexdigest()]
    down = ns6.run("curl", "-6", "-sS", "--max-time", "60", f"{url}{TEN_MB}").stdout
    assert hashlib.sha256(down).hexdigest() == hashlib.sha256(body).hexdigest()
    # the same "::" listener answers IPv4 too (dual stack, bindv6only=0)
    small = ns6.run(
        "curl", "-4", "-sS", "--max-time", "20", f"http://{ns6.stack_ip}:8081/1000"
    ).stdout
    assert small == pattern(1000)


def test_curl6_moves_ten_megabytes_each_way(
    ns6: Namespace6, stack6: subprocess.Popen[bytes]
) -> None:
    _curl6_both_ways(ns6)


def test_curl6_ten_megabytes_each_way_with_five_percent_loss(
    ns6: Namespace6, stack6: subprocess.Popen[bytes]
) -> None:
    _loss(ns6, 5)  # an inet table: IPv6 (Neighbor Discovery too) loses 5% each way
    _curl6_both_ways(ns6)


def test_dig6_against_dns_serve_on_mirage(ns6: Namespace6, tmp_path: Path) -> None:
    need_tool("dig")
    zone = tmp_path / "six.test.zone"
    zone.write_text(
        "$ORIGIN six.test.\n$TTL 300\n"
        "@ IN SOA ns.six.test. admin.six.test. 1 7200 3600 1209600 300\n"
        "@ IN NS ns.six.test.\nns IN AAAA fd00::53\nwww IN AAAA 2001:db8::80\n"
    )
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        [
            "ip", "netns", "exec", ns6.name, sys.executable, "-m", "dns", "serve",
            str(zone), "--port", "53", "--backend", "mirage", "--tap", "tap0",
            "--ip", f"{ns6.stack_ip}/24", "--ip", f"{ns6.stack_ip6}/64",
        ],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=log,
        start_new_session=True,
    )  # fmt: skip
    try:
        answer = ""
        for _ in range(30):  # bounded: the stack's DAD, then the server's start
            out = ns6.run(
                "dig", "-6", f"@{ns6.stack_ip6}", "+short", "+tries=1", "+time=1",
                "www.six.test.", "AAAA", check=False,
            )  # fmt: skip
            answer = out.stdout.decode().strip()
            if out.returncode == 0 and answer:
                break
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()[-2000:]
        assert answer == "2001:db8::80", (tmp_path / "serve.log").read_text()[-2000:]
        tcp = ns6.run("dig", "-6", "+tcp", f"@{ns6.stack_ip6}", "+short", "www.six.test.", "AAAA")
        assert tcp.stdout.decode().strip() == "2001:db8::80"
        v4 = ns6.run("dig", "-4", f"@{ns6.stack_ip}", "+short", "www.six.test.", "AAAA")
        assert v4.stdout.decode().strip() == "2001:db8::80"
    finally:
        _stop(proc)
        log.close()
