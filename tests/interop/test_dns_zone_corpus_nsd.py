"""Our AXFR of every corpus zone (tests/dns/zones) as NSD receives it: NSD, configured as
our secondary, transfers each zone and must then hold exactly the records we loaded (read
back from NSD with ``dig AXFR`` and normalised as in tests/dns/test_zone_corpus.py). So the
zones BIND reads as we do also travel intact to a third implementation."""

from __future__ import annotations

import subprocess

import pytest

import backends
from dns.server import AuthServer
from dns.zone import load_zone_file
from tests.conftest import need_tool
from tests.dns.test_zone_corpus import GOOD, bind_dump, origin_of, ours
from tests.interop.test_dns_server_nsd import _soa_serial
from tests.peers import KernelLink, run_nsd

pytestmark = pytest.mark.interop

# Types with domain names in their rdata (RFC 4034 §6.2): NSD keeps one spelling per name,
# so the case of those names may come back changed (names compare without case, RFC 4343).
_NAME_TYPES = frozenset(
    [
        "NS",
        "CNAME",
        "PTR",
        "DNAME",
        "MB",
        "MG",
        "MR",
        "MX",
        "SOA",
        "MINFO",
        "RP",
        "AFSDB",
        "RT",
        "KX",
        "SRV",
        "NAPTR",
        "NSEC",
        "RRSIG",
    ]
)


def fold_case(lines: set[str]) -> set[str]:
    """Canonical lines with ASCII letters lowercased in the rdata of :data:`_NAME_TYPES`."""
    folded = set()
    for line in lines:
        head, _, data = line.rpartition(" ")
        if head.split()[3] in _NAME_TYPES:
            data = bytes.fromhex(data).lower().hex()
        folded.add(f"{head} {data}")
    return folded


def dig_axfr(link: KernelLink, port: int, origin: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        link.argv(
            *("dig", "-p", str(port), f"@{link.peer_host}", origin, "AXFR"),
            *("+noall", "+answer", "+tries=1"),
        ),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


async def test_nsd_secondary_holds_each_corpus_zone_as_we_loaded_it(
    backend: backends.Backend, kernel: KernelLink
) -> None:
    need_tool("nsd", "nsd-checkconf", "dig")
    zones = {origin_of(p): load_zone_file(str(p), origin_of(p)) for p in GOOD}
    server = AuthServer(zones.values(), allow_transfer=["127.0.0.0/8", f"{kernel.peer_host}/32"])
    async with server.running(backend, kernel.host, 0) as (udp, _tcp):

        def conf(scratch: str) -> str:
            return "".join(
                f"""zone:
    name: {origin}
    zonefile: "{scratch}/{origin}zone"
    request-xfr: {kernel.host}@{udp[1]} NOKEY
    provide-xfr: {kernel.peer_host}/32 NOKEY
"""
                for origin in zones
            )

        differences: dict[str, tuple[list[str], list[str]]] = {}
        with run_nsd(zone_conf=conf, link=kernel) as nsd:
            for origin, zone in zones.items():
                deadline = backend.now() + 20
                while (
                    await backend.run_in_thread(_soa_serial, nsd.port, origin, 0.2, kernel)
                    != zone.serial
                ):
                    if backend.now() > deadline:
                        raise AssertionError(f"NSD never loaded {origin}; its log:\n{nsd.log()}")
                    await backend.sleep(0.1)
                dug = await backend.run_in_thread(dig_axfr, kernel, nsd.port, origin)
                assert dug.returncode == 0, dug.stderr
                theirs = fold_case(bind_dump(dug.stdout))
                mine = fold_case(ours(zone))
                if mine != theirs:
                    differences[origin] = (sorted(mine - theirs), sorted(theirs - mine))
        assert differences == {}
