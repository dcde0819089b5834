"""The fleet: our server as a hidden primary, NSD and Knot as its secondaries, transfers
over IXFR signed with TSIG (the ACL takes nothing unsigned), following dynamic updates made
with ``nsupdate -y``: after each update, NOTIFY (signed too), and both secondaries answer
the change. And Knot as a catalog consumer (RFC 9432) following our catalog zone."""

from __future__ import annotations

import base64
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

import backends
from dns import tsig, wire
from dns.server import AuthServer
from dns.zone import load_zone_file
from tests.conftest import need_tool
from tests.interop.test_dns_server_nsd import SECONDARY_ZONE, _soa_serial
from tests.peers import (
    LOOPBACK_LINK,
    KernelLink,
    free_port,
    run_knot,
    run_nsd,
    stop,
    wait_until_answering,
)

XFR_SECRET = base64.b64encode(b"fleet-transfer-secret-0123456789").decode()
UPD_SECRET = base64.b64encode(b"fleet-update-secret-012345678901").decode()
XFR = tsig.parse_key(f"hmac-sha256:xfr.key:{XFR_SECRET}")
UPD = tsig.parse_key(f"hmac-sha512:upd.key:{UPD_SECRET}")
SERIAL = 2024010101


def _a(port: int, name: str, link: KernelLink = LOOPBACK_LINK) -> list[bytes]:
    q = wire.build_query(wire.name_from_text(name), wire.TYPE_A, msg_id=11)
    with link.inside():
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    with sock as s:
        s.settimeout(0.3)
        s.sendto(q, (link.peer_host, port))
        try:
            msg = wire.Message.parse(s.recv(4096))
        except OSError:
            return []
    return [rr.rdata for rr in msg.answer if rr.rtype == wire.TYPE_A]


def _nsupdate(link: KernelLink, port: int, script: str) -> subprocess.CompletedProcess[str]:
    text = f"server {link.host} {port}\nzone sec.test.\n{script}\nsend\n"
    return subprocess.run(
        link.argv("nsupdate", "-t", "5", "-y", f"hmac-sha512:upd.key:{UPD_SECRET}"),
        input=text,
        capture_output=True,
        text=True,
        timeout=30,
    )


async def test_nsd_and_knot_follow_updates_over_ixfr_with_tsig(
    backend: backends.Backend,
    kernel: KernelLink,
    tmp_path: object,
    caplog: pytest.LogCaptureFixture,
) -> None:
    need_tool("nsd", "nsd-checkconf", "knotd", "nsupdate")
    peer, us = kernel.peer_host, kernel.host
    caplog.set_level(logging.INFO, logger="dns.server")
    zonefile = os.path.join(str(tmp_path), "sec.test.zone")
    with open(zonefile, "w") as f:
        f.write(SECONDARY_ZONE.format(serial=SERIAL, www="127.0.0.10"))
    nsd_port = kernel.free_port()
    knot_port = kernel.free_port()
    while knot_port == nsd_port:
        knot_port = kernel.free_port()
    server = AuthServer(
        [load_zone_file(zonefile)],
        keys=[XFR, UPD],
        allow_transfer=["key:xfr.key"],
        allow_update=["key:upd.key"],
        notify=[f"{peer}:{nsd_port} key:xfr.key", f"{peer}:{knot_port} key:xfr.key"],
        notify_timeout=0.5,
    )
    async with server.running(backend, us, 0) as (udp, _tcp):
        ours = udp[1]

        def nsd_conf(scratch: str) -> str:
            return (
                f'key:\n    name: xfr.key\n    algorithm: hmac-sha256\n    secret: "{XFR_SECRET}"\n'
                f'zone:\n    name: sec.test\n    zonefile: "{scratch}/sec.test.zone"\n'
                f"    request-xfr: {us}@{ours} xfr.key\n"
                f"    allow-notify: {us} xfr.key\n"
            )

        knot_sections = (
            f"key:\n  - id: xfr.key\n    algorithm: hmac-sha256\n    secret: {XFR_SECRET}\n"
            f"remote:\n  - id: primary\n    address: {us}@{ours}\n    key: xfr.key\n"
            f"acl:\n  - id: notify_from_primary\n    address: {us}\n    action: notify\n"
            "    key: xfr.key\n"
        )
        knot_zone = "  - domain: sec.test\n    master: primary\n    acl: notify_from_primary\n"
        with (
            run_nsd(zone_conf=nsd_conf, port=nsd_port, link=kernel) as nsd,
            run_knot(
                sections=knot_sections, zone_entries=knot_zone, port=knot_port, link=kernel
            ) as knot,
        ):

            async def both_serve(serial: int, name: str, rdata: list[bytes]) -> None:
                deadline = backend.now() + 30
                for port, server_peer, what in ((nsd_port, nsd, "NSD"), (knot_port, knot, "Knot")):
                    while True:
                        got_serial = await backend.run_in_thread(
                            _soa_serial, port, "sec.test.", 0.2, kernel
                        )
                        got = await backend.run_in_thread(_a, port, name, kernel)
                        if got_serial == serial and sorted(got) == sorted(rdata):
                            break
                        if backend.now() > deadline:
                            raise AssertionError(
                                f"{what} serves serial {got_serial}, {name} {got}; wanted "
                                f"{serial}, {rdata}; its log:\n{server_peer.log()}"
                            )
                        await backend.sleep(0.1)

            await both_serve(SERIAL, "www.sec.test.", [bytes([127, 0, 0, 10])])
            done = await backend.run_in_thread(
                _nsupdate, kernel, ours, "update add new.sec.test. 300 A 192.0.2.55"
            )
            assert done.returncode == 0, done.stderr
            await both_serve(SERIAL + 1, "new.sec.test.", [bytes([192, 0, 2, 55])])
            done = await backend.run_in_thread(
                _nsupdate,
                kernel,
                ours,
                "update delete www.sec.test. A\nupdate add www.sec.test. 300 A 127.0.0.99",
            )
            assert done.returncode == 0, done.stderr
            await both_serve(SERIAL + 2, "www.sec.test.", [bytes([127, 0, 0, 99])])
    # Every transfer after the first was incremental, from the journal, TSIG-signed (the
    # ACL refuses anything unsigned), one or more per secondary and update.
    incremental = [r for r in caplog.records if "change(s) since" in r.getMessage()]
    assert len(incremental) >= 4, [r.getMessage() for r in caplog.records]
    refused = [r for r in caplog.records if r.getMessage().startswith("refused")]
    assert not refused
    # Each NOTIFY went signed, and each secondary's answer verified.
    notified = [r.getMessage() for r in caplog.records if r.getMessage().startswith("NOTIFY")]
    assert notified and all(m.endswith("NOERROR (TSIG verified)") for m in notified), notified


MEMBER = """$ORIGIN {origin}
$TTL 300
@ SOA ns admin 1 3600 600 86400 60
  NS ns
ns A 127.0.0.1
www A {address}
"""


def test_knot_follows_the_catalog(tmp_path: object) -> None:
    """``dns serve --config`` with a [catalog]: Knot, a catalog consumer, adds the member
    zones by itself; after a SIGHUP that drops one zone and adds another, it follows."""
    need_tool("knotd")
    root = str(Path(__file__).resolve().parents[2])
    scratch = Path(str(tmp_path))
    for i, origin in enumerate(("a.test.", "b.test.", "c.test.")):
        (scratch / f"{origin}zone").write_text(MEMBER.format(origin=origin, address=f"10.9.9.{i}"))
    ours, knot_port = free_port(), free_port()

    def config(zones: list[str]) -> str:
        entries = "".join(f'[[zone]]\nfile = "{z}zone"\n\n' for z in zones)
        return (
            f'listen = ["127.0.0.1:{ours}"]\nallow-transfer = ["127.0.0.0/8"]\n'
            f'notify = ["127.0.0.1:{knot_port}"]\n\n{entries}'
            '[catalog]\nname = "catalog.invalid"\n'
        )

    conf = scratch / "server.toml"
    conf.write_text(config(["a.test.", "b.test."]))
    log = scratch / "serve.log"
    sections = (
        f"remote:\n  - id: primary\n    address: 127.0.0.1@{ours}\n"
        "acl:\n  - id: notify_from_primary\n    address: 127.0.0.1\n    action: notify\n"
        "template:\n  - id: member\n    master: primary\n    acl: notify_from_primary\n"
        f'    storage: "{scratch}"\n    zonefile-sync: -1\n    journal-content: none\n'
    )
    catalog = (
        "  - domain: catalog.invalid\n    master: primary\n    acl: notify_from_primary\n"
        "    catalog-role: interpret\n    catalog-template: member\n"
    )
    proc = None
    try:
        with open(log, "wb") as err:
            proc = subprocess.Popen(
                [sys.executable, "-m", "dns", "serve", "--config", str(conf)],
                stdout=subprocess.DEVNULL,
                stderr=err,
                cwd=root,
            )
        wait_until_answering(ours, proc, zone="catalog.invalid.", what="dns serve", deadline=30)
        with run_knot(sections=sections, zone_entries=catalog, port=knot_port) as knot:

            def wait(served: set[str], gone: set[str]) -> None:
                deadline = time.monotonic() + 40
                while True:
                    have = {z for z in served | gone if _soa_serial(knot_port, z) is not None}
                    if have == served:
                        return
                    if time.monotonic() > deadline:
                        raise AssertionError(
                            f"Knot serves {sorted(have)}, wanted {sorted(served)}:\n"
                            f"{knot.log()}\nours:\n{log.read_text()[-2000:]}"
                        )
                    time.sleep(0.2)

            wait({"a.test.", "b.test."}, {"c.test."})
            conf.write_text(config(["a.test.", "c.test."]))
            proc.send_signal(signal.SIGHUP)
            wait({"a.test.", "c.test."}, {"b.test."})
    finally:
        stop(proc)
