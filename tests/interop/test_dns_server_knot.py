"""Our authoritative server against Knot DNS (the Debian package) on loopback.

The same zone and queries as the NSD differential (test_dns_server_nsd.py). NSD and Knot
disagree with each other on some policy questions, and there our server follows NSD (the
differential against NSD checks every case, byte for byte where only a header comes
back). Against Knot we check what both agree is RFC behaviour: for every query whose
answer is not one of those policy choices, the rcode, the flags and the answer and
authority RRsets (as sets: Knot orders RRs canonically) must agree. The additional section
is not compared: Knot adds target addresses for MX/SRV answers, NSD's minimal responses
do not.

Also: Knot configured as our secondary transfers the zone after our NOTIFY, answers as we
do, and follows a reload with a new serial (IXFR answered AXFR-style).

Policy cases left out here, with what Knot does: malformed messages (Knot drops them,
NSD and we answer FORMERR); unknown opcodes and NOTIFY (Knot echoes the question, NSD and
we send a header); records in a query's answer section and trailing garbage (Knot answers
or FORMERRs the other way round); ANY at the apex (Knot gives the NS RRset, NSD and we
the SOA); qtype 0 (Knot: NOTIMP).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

import backends
from backends.interface import Address
from dns import wire
from dns.server import AuthServer
from dns.zone import load_zone_file, parse_zone_text
from tests.conftest import need_tool
from tests.dns.test_server_answers import DIFF_ZONE
from tests.interop.test_dns_server_nsd import (
    CASES,
    SECONDARY_QUERIES,
    SECONDARY_ZONE,
    _soa_serial,
    exchange,
    q,
    summary,
)
from tests.peers import KernelLink, PeerPool, run_knot

pytestmark = pytest.mark.interop

KNOT_POLICY = {
    "QDCOUNT 0",
    "QDCOUNT 2",
    "answer in query",
    "forward pointer",
    "pointer loop",
    "reserved label type",
    "truncated question",
    "question without type",
    "opcode IQUERY",
    "opcode STATUS",
    "opcode 3",
    "opcode UPDATE",
    "NOTIFY to primary",
    "trailing garbage",
    "two OPT",
    "ANY apex",
    "qtype 0",
}


@pytest.fixture(scope="module")
def knot_pool() -> Iterator[PeerPool]:
    pool = PeerPool()
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture
def knot(knot_pool: PeerPool, kernel: KernelLink) -> Address:
    """Knot serving diff.test where the backend under test meets kernel peers (on mirage:
    inside the namespace whose TAP device its stack owns)."""
    peer = knot_pool.get(
        "diff", kernel, lambda link: run_knot({"diff.test.": DIFF_ZONE}, link=link)
    )
    return peer.address, peer.port


def semantic(data: bytes) -> object:
    s = summary(data)
    if not isinstance(s, dict):
        return s
    return {
        "flags": s["flags"],
        "question": s["question"],
        "answer": sorted(s["answer"]),
        "authority": sorted(s["authority"]),
        "opt": s["opt"],
    }


async def test_differential_against_knot(backend: backends.Backend, knot: Address) -> None:
    cases = [c for c in CASES if c[0] not in KNOT_POLICY]
    assert len(cases) >= 60
    server = AuthServer([parse_zone_text(DIFF_ZONE)])
    mismatches = []
    async with server.running(backend, "127.0.0.1", 0) as (udp, _tcp):
        for label, data, tcp in cases:
            theirs = semantic(await exchange(backend, knot, data, tcp))
            ours = semantic(await exchange(backend, udp[1], data, tcp))
            if ours != theirs:
                mismatches.append((label, theirs, ours))
    assert not mismatches, "\n".join(
        f"{label}:\n  knot: {t}\n  ours: {o}" for label, t, o in mismatches
    )


async def test_knot_secondary_follows_notify_and_reload(
    backend: backends.Backend, kernel: KernelLink, tmp_path: object
) -> None:
    """Knot configured as our secondary transfers the zone, answers as we do, and picks up
    a reload announced by NOTIFY."""
    need_tool("knotd")
    zonefile = os.path.join(str(tmp_path), "sec.test.zone")
    with open(zonefile, "w") as f:
        f.write(SECONDARY_ZONE.format(serial=2024010101, www="127.0.0.10"))
    knot_port = kernel.free_port()
    knot_at = (kernel.peer_host, knot_port)
    server = AuthServer(
        [load_zone_file(zonefile)],
        allow_transfer=["127.0.0.0/8", f"{kernel.peer_host}/32"],
        notify=[f"{kernel.peer_host}:{knot_port}"],
        notify_timeout=0.5,
    )
    async with server.running(backend, kernel.host, 0) as (udp, _tcp):
        ours_at = (kernel.host, udp[1])
        secondary = f"""remote:
  - id: primary
    address: {kernel.host}@{udp[1]}
acl:
  - id: notify_from_primary
    address: {kernel.host}
    action: notify
"""
        zone = "  - domain: sec.test\n    master: primary\n    acl: notify_from_primary\n"
        with run_knot(sections=secondary, zone_entries=zone, port=knot_port, link=kernel):

            async def wait_serial(serial: int) -> None:
                deadline = backend.now() + 20
                while backend.now() < deadline:
                    got = await backend.run_in_thread(
                        lambda: _soa_serial(knot_port, "sec.test.", link=kernel)
                    )
                    if got == serial:
                        return
                    await backend.sleep(0.1)
                raise AssertionError(f"Knot never served serial {serial}")

            async def compare() -> None:
                for name, qtype in SECONDARY_QUERIES:
                    data = q(name, qtype, edns_payload=1232)
                    ours = semantic(await exchange(backend, ours_at, data, False))
                    theirs = semantic(await exchange(backend, knot_at, data, False))
                    assert ours == theirs, f"{name} {qtype}:\n  knot: {theirs}\n  ours: {ours}"

            await wait_serial(2024010101)
            await compare()
            with open(zonefile, "w") as f:
                f.write(SECONDARY_ZONE.format(serial=2024010102, www="127.0.0.11"))
            await server.reload()
            await wait_serial(2024010102)
            await compare()
            reply = await exchange(backend, knot_at, q("www.sec.test.", "A"), False)
            assert wire.Message.parse(reply).answer[0].rdata == bytes([127, 0, 0, 11])
