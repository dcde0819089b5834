"""Our server on the mirage backend (our own TCP/IP stack) over a TAP device, queried by
dig through the Linux kernel's stack, inside a network namespace this test makes.

``python -m dns serve --backend mirage --tap tap0 --ip 10.77.N.2/24`` runs inside the
namespace; dig asks over UDP and TCP and transfers the zone by AXFR. The namespace is
deleted at the end, also on failure. Needs root, ``ip`` and dig; skipped otherwise.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dns.zone import parse_zone_text
from tests.conftest import need_root, need_tool
from tests.dns.test_server_answers import DIFF_ZONE
from tests.peers import stop, tap_namespace

pytestmark = [pytest.mark.interop, pytest.mark.root]

ROOT = str(Path(__file__).resolve().parents[2])


@pytest.fixture(scope="module")
def mirage_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    need_root()
    need_tool("ip", "dig")
    ns = f"dnssrv{os.getpid()}"
    subnet = f"10.77.{os.getpid() % 250}"
    zone = tmp_path_factory.mktemp("mirage") / "diff.test.zone"
    zone.write_text(DIFF_ZONE)
    log = zone.with_name("serve.log")
    proc: subprocess.Popen[bytes] | None = None
    with tap_namespace(ns, f"{subnet}.1/24"):
        try:
            with open(log, "wb") as err:
                proc = subprocess.Popen(
                    [
                        "ip",
                        "netns",
                        "exec",
                        ns,
                        sys.executable,
                        "-m",
                        "dns",
                        "serve",
                        str(zone),
                        "--backend",
                        "mirage",
                        "--tap",
                        "tap0",
                        "--ip",
                        f"{subnet}.2/24",
                        "--port",
                        "53",
                        "--allow-axfr",
                        f"{subnet}.0/24",
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=err,
                    cwd=ROOT,
                )
            server = f"{subnet}.2"
            deadline = time.monotonic() + 20
            while dig(ns, server, "diff.test.", "SOA", "+short") == "":
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"server did not come up: {log.read_text()[-2000:]}")
                time.sleep(0.2)
            yield ns, server
        finally:
            stop(proc)


def dig(ns: str, server: str, *args: str) -> str:
    out = subprocess.run(
        ["ip", "netns", "exec", ns, "dig", f"@{server}", "+time=2", "+tries=2", "+norec", *args],
        capture_output=True,
        text=True,
        timeout=30,
    )
    return out.stdout.strip()


def test_udp_answers_over_tap(mirage_server: tuple[str, str]) -> None:
    ns, server = mirage_server
    assert dig(ns, server, "www.diff.test.", "A", "+short") == "192.0.2.3"
    assert dig(ns, server, "alias.diff.test.", "A", "+short").splitlines() == [
        "www.diff.test.",
        "192.0.2.3",
    ]
    full = dig(ns, server, "nope.diff.test.", "A")
    assert "status: NXDOMAIN" in full and "flags: qr aa;" in full
    referral = dig(ns, server, "www.deleg.diff.test.", "A")
    assert "AUTHORITY: 3" in referral and "flags: qr;" in referral


def test_tcp_and_truncation_over_tap(mirage_server: tuple[str, str]) -> None:
    ns, server = mirage_server
    udp = dig(ns, server, "big.diff.test.", "TXT", "+noedns", "+ignore")
    assert "flags: qr aa tc;" in udp
    tcp = dig(ns, server, "big.diff.test.", "TXT", "+tcp")
    assert "ANSWER: 10," in tcp and "tc" not in tcp.split("flags:")[1].split(";")[0]


def test_axfr_over_tap(mirage_server: tuple[str, str]) -> None:
    ns, server = mirage_server
    out = dig(ns, server, "diff.test.", "AXFR")
    records = [line for line in out.splitlines() if line and not line.startswith(";")]
    soas = [r for r in records if "\tSOA\t" in r]
    assert len(soas) == 2 and records[0] == soas[0] and records[-1] == soas[1]
    assert len(records) == parse_zone_text(DIFF_ZONE).record_count() + 1  # the SOA twice
