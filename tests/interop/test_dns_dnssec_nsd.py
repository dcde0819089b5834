"""Serving pre-signed zones as NSD does (issue 17 item 3, RFC 4035 §3.1, RFC 5155 §7.2).

A zone with the cases DNSSEC answers differ in (a signed and an unsigned delegation, glue,
a wildcard, a CNAME chain, an empty non-terminal, RRsets of different TTLs) is signed in the
test, into a temp dir, by ``dnssec-signzone`` (bind9-utils) and by ``ldns-signzone``
(ldnsutils), each with NSEC, NSEC3 and NSEC3 opt-out, with keys made there by
``dnssec-keygen`` / ``ldns-keygen``. NSD and our server load each signed zone (on mirage, NSD runs inside the namespace whose TAP
device our stack owns: the ``kernel`` fixture, needs root); every query
below goes to both with and without DO, over UDP and TCP, and the rcode, the flags and each
section's records (as sets; owners lowercased) must agree. Skipped without the tools.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

import backends
from backends.interface import Address
from dns import rdtypes, wire
from dns.server import AuthServer
from dns.zone import parse_zone_text
from tests.conftest import need_tool
from tests.interop.test_dns_server_nsd import exchange
from tests.peers import KernelLink, PeerPool, run_nsd

pytestmark = pytest.mark.interop

ORIGIN = "signed.test."
ZONE = """$ORIGIN signed.test.
$TTL 3600
@       SOA ns hostmaster 2024010101 7200 3600 1209600 300
@       NS ns
@       NS ns.sub
@       MX 10 mail
ns      A 192.0.2.1
ns      AAAA 2001:db8::1
mail 600 A 192.0.2.2
www     A 192.0.2.3
www 120 TXT "short TTL"
alias   CNAME www
chain   CNAME alias
away    CNAME www.elsewhere.example.
*.wild  A 192.0.2.4
*.wild  TXT "wildcard"
a.b.c   A 192.0.2.5
sub     NS ns.sub
sub     DS 12345 13 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF
ns.sub  A 192.0.2.6
insecure NS ns.insecure
ns.insecure A 192.0.2.7
"""

QUERIES = [
    ("signed.test.", "SOA"),
    ("signed.test.", "NS"),
    ("signed.test.", "DNSKEY"),
    ("signed.test.", "MX"),
    ("signed.test.", "NSEC3PARAM"),
    ("www.signed.test.", "A"),
    ("www.signed.test.", "TXT"),
    ("www.signed.test.", "AAAA"),  # NODATA
    ("mail.signed.test.", "A"),
    ("alias.signed.test.", "A"),
    ("chain.signed.test.", "A"),
    ("away.signed.test.", "A"),
    ("nope.signed.test.", "A"),  # NXDOMAIN
    ("deep.nope.signed.test.", "A"),
    ("zzz.signed.test.", "A"),
    ("x.wild.signed.test.", "A"),  # wildcard answer
    ("x.wild.signed.test.", "TXT"),
    ("x.wild.signed.test.", "MX"),  # wildcard NODATA
    ("wild.signed.test.", "A"),  # empty non-terminal above the wildcard
    ("b.c.signed.test.", "A"),  # empty non-terminal
    ("c.signed.test.", "TXT"),
    ("a.b.c.signed.test.", "A"),
    ("sub.signed.test.", "A"),  # referral with DS
    ("www.sub.signed.test.", "A"),
    ("sub.signed.test.", "DS"),
    ("insecure.signed.test.", "A"),  # referral without DS
    ("host.insecure.signed.test.", "AAAA"),
    ("insecure.signed.test.", "DS"),
    ("ns.signed.test.", "A"),
]

SIGNERS = [
    ("bind", "nsec"),
    ("bind", "nsec3"),
    ("bind", "nsec3-optout"),
    ("ldns", "nsec"),
    ("ldns", "nsec3"),
    ("ldns", "nsec3-optout"),
]


def run(argv: list[str], cwd: Path) -> str:
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{argv[0]} failed: {done.stderr[-800:]}"
    return done.stdout


def sign(tmp: Path, signer: str, denial: str) -> str:
    """The zone signed in ``tmp`` by ``signer`` with ``denial``; its text."""
    unsigned = tmp / "signed.test.zone"
    unsigned.write_text(ZONE)
    if signer == "bind":
        need_tool("dnssec-keygen", "dnssec-signzone")
        for extra in ([], ["-f", "KSK"]):
            run(
                ["dnssec-keygen", "-q", "-K", str(tmp), "-a", "ECDSAP256SHA256", *extra, ORIGIN],
                tmp,
            )
        args = ["dnssec-signzone", "-q", "-K", str(tmp), "-S", "-o", ORIGIN, "-f", "out.zone"]
        if denial != "nsec":
            args += ["-3", "aabbccdd", "-H", "1"] + (["-A"] if denial == "nsec3-optout" else [])
        run([*args, str(unsigned)], tmp)
        return (tmp / "out.zone").read_text()
    need_tool("ldns-keygen", "ldns-signzone")
    keys = []
    for extra in ([], ["-k"]):
        keys.append(run(["ldns-keygen", "-a", "ECDSAP256SHA256", *extra, ORIGIN], tmp).strip())
    args = ["ldns-signzone", "-o", ORIGIN, "-f", str(tmp / "out.zone")]
    if denial != "nsec":
        args += ["-n", "-s", "aabbccdd", "-t", "1"] + (["-p"] if denial == "nsec3-optout" else [])
    run([*args, str(unsigned), *keys], tmp)
    return (tmp / "out.zone").read_text()


@pytest.fixture(scope="module", params=SIGNERS, ids=["-".join(s) for s in SIGNERS])
def signed_zone(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, PeerPool]]:
    """The zone signed one way, and a pool for the NSDs that serve it."""
    signer, denial = request.param
    need_tool("nsd")
    tmp = tmp_path_factory.mktemp(f"sign-{signer}-{denial}")
    text = sign(tmp, signer, denial)
    pool = PeerPool()
    try:
        yield text, pool
    finally:
        pool.close()
        for leftover in glob.glob(str(tmp / "K*")):
            os.unlink(leftover)
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def signed(signed_zone: tuple[str, PeerPool], kernel: KernelLink) -> tuple[str, Address]:
    """The signed zone's text and NSD serving it where the backend meets kernel peers."""
    text, pool = signed_zone
    nsd = pool.get("nsd", kernel, lambda link: run_nsd({ORIGIN: text}, link=link))
    return text, (nsd.address, nsd.port)


def query(qname: str, qtype: str, do: bool) -> bytes:
    b = wire.MessageBuilder(0x4D4D, 0)
    b.add_question(wire.name_from_text(qname), wire.type_from_text(qtype), wire.CLASS_IN)
    b.set_edns(1232, do=do)
    return b.finish()


def summary(data: bytes) -> object:
    msg = wire.Message.parse(data)

    def section(rrs: list[wire.RR]) -> list[tuple[str, str, int, str]]:
        return sorted(
            (
                wire.name_to_text(wire.name_lower(rr.name)),
                wire.type_to_text(rr.rtype),
                rr.ttl,
                rdtypes.to_text(
                    rr.rtype, rdtypes.expand(rr.rtype, rr.message, rr.rdata_offset, rr.rdata_length)
                ).lower(),
            )
            for rr in rrs
            if rr.rtype != wire.TYPE_OPT
        )

    return {
        "rcode": msg.rcode,
        "flags": msg.flags & 0x87F0,
        "answer": section(msg.answer),
        "authority": section(msg.authority),
        "additional": section(msg.additional),
    }


async def test_signed_answers_match_nsd(
    backend: backends.Backend, signed: tuple[str, Address]
) -> None:
    text, nsd_at = signed
    server = AuthServer([parse_zone_text(text, ORIGIN)])
    mismatches = []
    async with server.running(backend, "127.0.0.1", 0) as (udp, _tcp):
        for qname, qtype in QUERIES:
            for do in (False, True):
                for tcp in (False, True):
                    data = query(qname, qtype, do)
                    theirs = summary(await exchange(backend, nsd_at, data, tcp))
                    ours_bytes = await exchange(backend, udp[1], data, tcp)
                    # Again: the second answer comes from the prebuilt-response cache.
                    assert await exchange(backend, udp[1], data, tcp) == ours_bytes
                    ours = summary(ours_bytes)
                    if ours != theirs:
                        mismatches.append((f"{qname} {qtype} do={do} tcp={tcp}", theirs, ours))
    assert not mismatches, f"{len(mismatches)} differ; first:\n" + "\n".join(
        f"{label}:\n  nsd:  {t}\n  ours: {o}" for label, t, o in mismatches[:3]
    )
