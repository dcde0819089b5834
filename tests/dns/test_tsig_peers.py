"""TSIG from the client side: our resolver and ``dns query -y`` against NSD and Knot holding
the key (queries and AXFR), and against our own server."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

import backends
from dns import tsig, wire
from dns.resolver import Resolver
from dns.server import AuthServer
from dns.zone import parse_zone_text
from tests.dns.test_server_answers import DIFF_ZONE
from tests.dns.test_tsig import KEY, OTHER, SECRET
from tests.peers import KernelLink, Peer, run_knot, run_nsd, wait_until_answering

ROOT = str(Path(__file__).resolve().parents[2])
GOOD = f"hmac-sha256:xfr.key:{SECRET}"
WRONG = "hmac-sha256:xfr.key:" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo="


def nsd_with_key(link: KernelLink | None = None) -> AbstractContextManager[Peer]:
    def clauses(scratch: str) -> str:
        path = f"{scratch}/diff.test.zone"
        with open(path, "w") as f:
            f.write(DIFF_ZONE)
        return (
            f'key:\n    name: xfr.key\n    algorithm: hmac-sha256\n    secret: "{SECRET}"\n'
            f'zone:\n    name: diff.test\n    zonefile: "{path}"\n'
            "    provide-xfr: 127.0.0.0/8 xfr.key\n"
        )

    return run_nsd(zone_conf=clauses, link=link)


@contextlib.contextmanager
def knot_with_key() -> Iterator[Peer]:
    """Knot serving diff.test with an ACL that lets xfr.key transfer it (Knot knows a key
    for a zone only through the zone's ACLs)."""
    sections = (
        f"key:\n  - id: xfr.key\n    algorithm: hmac-sha256\n    secret: {SECRET}\n"
        "acl:\n  - id: xfr\n    key: xfr.key\n    action: transfer\n"
    )
    with tempfile.TemporaryDirectory(prefix="mirage-py-knot-zone-") as tmp:
        path = os.path.join(tmp, "diff.test.zone")
        with open(path, "w") as f:
            f.write(DIFF_ZONE)
        entry = f'  - domain: diff.test.\n    file: "{path}"\n    acl: xfr\n'
        with run_knot(sections=sections, zone_entries=entry) as knot:
            wait_until_answering(knot.port, zone="diff.test.", what="knotd", log=knot.log)
            yield knot


@pytest.fixture(params=["nsd", "knot"])
def peer(request: pytest.FixtureRequest) -> Iterator[Peer]:
    if request.param == "nsd":
        with nsd_with_key() as p:
            yield p
    else:
        with knot_with_key() as p:
            yield p


def query_cli(port: int, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dns", "query", "@127.0.0.1", "-p", str(port), "+time=5", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )


def test_dns_query_y_against_peers(peer: Peer) -> None:
    done = query_cli(peer.port, "-y", GOOD, "diff.test.", "SOA")
    assert done.returncode == 0, done.stderr
    assert "status: NOERROR" in done.stdout and "Couldn't verify" not in done.stdout
    done = query_cli(peer.port, "-y", WRONG, "diff.test.", "SOA")
    assert done.returncode == 0, done.stderr  # dig's status: a response arrived
    assert "Couldn't verify signature" in done.stdout and "BADSIG" in done.stdout
    done = query_cli(peer.port, "-y", GOOD, "diff.test.", "AXFR")
    assert done.returncode == 0, done.stderr
    assert "Transfer failed" not in done.stdout and "XFR size" in done.stdout
    count = parse_zone_text(DIFF_ZONE).record_count() + 1
    assert f"XFR size: {count} records" in done.stdout
    done = query_cli(peer.port, "+tsig=" + WRONG, "diff.test.", "AXFR")
    assert "Transfer failed" in done.stdout


async def test_resolver_key_against_nsd(backend: backends.Backend, kernel: KernelLink) -> None:
    with nsd_with_key(kernel) as nsd:
        good = Resolver(backend, [(nsd.address, nsd.port)], key=KEY, hosts=False)
        response = await good.query("diff.test.", "SOA")
        assert response.tsig_signed and response.tsig_error is None
        assert response.answer[0].rtype == wire.TYPE_SOA
        assert all(rr.rtype != wire.TYPE_TSIG for rr in response.message.additional)
        wrong = Resolver(backend, [(nsd.address, nsd.port)], key=OTHER, hosts=False)
        response = await wrong.query("diff.test.", "SOA")
        assert not response.tsig_signed and "BADKEY" in (response.tsig_error or "")


async def test_resolver_key_against_our_server(backend: backends.Backend) -> None:
    server = AuthServer([parse_zone_text(DIFF_ZONE)], keys=[KEY])
    async with server.running(backend, "127.0.0.1", 0) as (udp, _tcp):
        for tcp in (False, True):
            resolver = Resolver(backend, [udp], key=KEY, hosts=False, tcp=tcp)
            response = await resolver.query("www.diff.test.", "A")
            assert response.tsig_signed and response.answer
        # A resolver holding another secret under the same name: BADSIG, and resolve()
        # (which takes only verified answers) fails rather than return it.
        impostor = tsig.Key(KEY.name, KEY.algorithm, b"not the secret")
        resolver = Resolver(backend, [udp], key=impostor, hosts=False, attempts=1)
        response = await resolver.query("www.diff.test.", "A")
        assert "BADSIG" in (response.tsig_error or "")
        with pytest.raises(Exception, match="TSIG"):
            await resolver.resolve("www.diff.test.", "A", search=False)
