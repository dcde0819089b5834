"""Reloading a big zone (issue 17 item 2): while the new files load, the old zone keeps
answering; then the new one answers, and the old one is freed."""

from __future__ import annotations

import gc
import os
import signal
import socket
import subprocess
import sys
import time
import weakref
from pathlib import Path

import anyio

from dns import wire
from dns.server import AuthServer
from dns.zone import load_zone_file
from tests.peers import free_port, stop, wait_until_answering

ROOT = Path(__file__).resolve().parents[2]


def write_zone(path: Path, serial: int, hosts: int) -> None:
    """A zone with ``hosts`` A records and ``probe`` answering 192.0.2.<serial>."""
    lines = [
        "$ORIGIN reload.test.",
        "$TTL 300",
        f"@ SOA ns hostmaster {serial} 3600 600 86400 300",
        "@ NS ns",
        "ns A 192.0.2.53",
        f"probe A 192.0.2.{serial}",
    ]
    lines += [f"h{i} A 10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}" for i in range(hosts)]
    path.write_text("\n".join(lines) + "\n")


def probe_answer(message: bytes) -> str:
    """The rcode and the address(es) of an answer to ``probe A``."""
    msg = wire.Message.parse(message)
    addresses = [".".join(map(str, rr.rdata)) for rr in msg.answer if rr.rtype == wire.TYPE_A]
    return f"{wire.rcode_to_text(msg.rcode)} {' '.join(addresses)}"


def ask(port: int, timeout: float) -> str:
    query = wire.build_query(wire.name_from_text("probe.reload.test."), wire.TYPE_A, msg_id=7)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(query, ("127.0.0.1", port))
        return probe_answer(s.recv(4096))


def test_the_old_zone_answers_until_the_new_one_is_loaded(tmp_path: Path) -> None:
    path = tmp_path / "reload.test.zone"
    write_zone(path, 1, 40_000)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "dns", "serve", "--port", str(port), str(path)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_answering(port, proc, zone="reload.test.", deadline=60)
        assert ask(port, 5) == "NOERROR 192.0.2.1"
        write_zone(path, 2, 40_000)
        proc.send_signal(signal.SIGHUP)
        seen: list[str] = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            # Every query is answered, each within seconds, during the load too.
            seen.append(ask(port, 5))
            if seen[-1] != "NOERROR 192.0.2.1":
                break
            time.sleep(0.02)
        assert seen[-1] == "NOERROR 192.0.2.2", seen[-3:]
        assert len(seen) >= 2, "the reload was over before a query could reach the old zone"
        assert set(seen[:-1]) == {"NOERROR 192.0.2.1"}
        assert all(ask(port, 5) == "NOERROR 192.0.2.2" for _ in range(20))
    finally:
        stop(proc)


def test_the_old_zone_is_freed_after_a_reload(tmp_path: Path) -> None:
    path = tmp_path / "reload.test.zone"
    write_zone(path, 1, 1000)
    server = AuthServer([load_zone_file(str(path))])
    query = wire.build_query(wire.name_from_text("probe.reload.test."), wire.TYPE_A, msg_id=7)
    answer = server.authority.answer(query)
    assert answer is not None and probe_answer(answer) == "NOERROR 192.0.2.1"
    old = weakref.ref(server.zones[0])
    write_zone(path, 2, 1000)
    os.utime(path)
    changed = anyio.run(server.reload)
    assert [z.serial for z in changed] == [2]
    gc.collect()
    assert old() is None, gc.get_referrers(old())
    answer = server.authority.answer(query)
    assert answer is not None and probe_answer(answer) == "NOERROR 192.0.2.2"
