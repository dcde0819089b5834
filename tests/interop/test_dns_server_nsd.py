"""Our authoritative server against NSD (the Debian package) on loopback.

* Differential: NSD (RRL off, minimal-responses) and our server load the same zone
  (delegations and glue, wildcards, CNAME chains, DNAME, empty non-terminals, MX, TXT,
  AAAA, ...); every query below goes to both, over UDP or TCP, and the rcode, the flags
  and each section's RRsets (owner names compared case-insensitively) must agree; replies
  that are only a header (FORMERR, NOTIMP, ...) must be identical apart from nothing.
* Secondary: NSD configured as our secondary transfers the zone after our NOTIFY, answers
  as we do, and picks up a reload with a new serial.

NSD runs in the foreground as a child of the test, in a scratch directory that is removed
at the end, also on failure. Needs nsd; skipped otherwise. On mirage, NSD runs inside the
namespace whose TAP device our server's stack owns (the ``kernel`` fixture; needs root).
"""

from __future__ import annotations

import contextlib
import os
import random
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import dnslib
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import backends
from backends.interface import Address
from dns import answer, wire
from dns.server import AuthServer
from dns.zone import load_zone_file, parse_zone_text
from tests.conftest import need_tool
from tests.dns.test_server_answers import DIFF_ZONE
from tests.peers import LOOPBACK_LINK, KernelLink, Peer, PeerPool, free_port, run_nsd

pytestmark = pytest.mark.interop


def _soa_serial(
    port: int, zone: str, timeout: float = 0.2, link: KernelLink = LOOPBACK_LINK
) -> int | None:
    """The serial a kernel peer (NSD, Knot) on ``link`` serves for ``zone`` (None if it
    does not answer authoritatively)."""
    query = wire.build_query(wire.name_from_text(zone), wire.TYPE_SOA, msg_id=0x5A5A)
    with link.inside():
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    with sock as s:
        s.settimeout(timeout)
        s.sendto(query, (link.peer_host, port))
        try:
            data = s.recv(4096)
        except OSError:
            return None
    try:
        msg = wire.Message.parse(data)
    except wire.WireError:
        return None
    if msg.id != 0x5A5A or msg.rcode != 0 or not msg.aa or not msg.answer:
        return None
    rr = msg.answer[0]
    return int(struct.unpack_from("!I", data, rr.end - 20)[0])


@pytest.fixture(scope="module")
def nsd_pool() -> Iterator[PeerPool]:
    pool = PeerPool()
    try:
        yield pool
    finally:
        pool.close()


def _diff_nsd(link: KernelLink) -> contextlib.AbstractContextManager[Peer]:
    return run_nsd({"diff.test.": DIFF_ZONE}, link=link)


@pytest.fixture(scope="module")
def nsd_primary(nsd_pool: PeerPool) -> int:
    """NSD serving diff.test on loopback (for the tests that use kernel sockets only)."""
    return nsd_pool.get("diff", LOOPBACK_LINK, _diff_nsd).port


@pytest.fixture
def nsd_diff(nsd_pool: PeerPool, kernel: KernelLink) -> Address:
    """NSD serving diff.test where the backend under test meets kernel peers."""
    peer = nsd_pool.get("diff", kernel, _diff_nsd)
    return peer.address, peer.port


# ---------------------------------------------------------------------------- the queries


def q(name: str, qtype: str | int, **kw: object) -> bytes:
    rtype = qtype if isinstance(qtype, int) else wire.type_from_text(qtype)
    kw.setdefault("rd", False)
    return wire.build_query(wire.name_from_text(name), rtype, msg_id=0x1234, **kw)  # type: ignore[arg-type]


def raw(flags: int, qd: int, body: bytes, an: int = 0, ns: int = 0, ar: int = 0) -> bytes:
    return wire.pack_header(0x1234, flags, qd, an, ns, ar) + body


QBODY = q("www.diff.test.", "A")[12:]


def _two_opts() -> bytes:
    data = q("www.diff.test.", "A", edns_payload=1232)
    msg = wire.Message.parse(data)
    return raw(0, 1, data[12:] + data[msg.opt_offset :], ar=2)


def _with_answer() -> bytes:
    b = wire.MessageBuilder(0x1234, 0)
    b.add_question(wire.name_from_text("www.diff.test."), wire.TYPE_A)
    b.add_rr(wire.SECTION_ANSWER, wire.name_from_text("www.diff.test."), 1, 1, 0, b"\1\2\3\4")
    return b.finish()


def _edns_version(version: int) -> bytes:
    b = wire.MessageBuilder(0x1234, 0)
    b.add_question(wire.name_from_text("www.diff.test."), wire.TYPE_A)
    b.set_edns(1232, version=version)
    return b.finish()


CASES: list[tuple[str, bytes, bool]] = [
    # Authoritative data, each type.
    ("A", q("www.diff.test.", "A"), False),
    ("AAAA", q("www.diff.test.", "AAAA"), False),
    ("TXT two strings", q("www.diff.test.", "TXT"), False),
    ("apex MX", q("diff.test.", "MX"), False),
    ("apex NS + addresses", q("diff.test.", "NS"), False),
    ("apex SOA", q("diff.test.", "SOA"), False),
    ("apex TXT", q("diff.test.", "TXT"), False),
    ("MX", q("multi.diff.test.", "MX"), False),
    ("SRV", q("_sip._tcp.diff.test.", "SRV"), False),
    ("PTR", q("rev.diff.test.", "PTR"), False),
    ("HINFO", q("hinfo.diff.test.", "HINFO"), False),
    ("CAA", q("caa.diff.test.", "CAA"), False),
    ("unknown type", q("unknown.diff.test.", 65280), False),
    ("glue owner A via its zone", q("ns1.diff.test.", "A"), False),
    # Negative answers.
    ("NXDOMAIN", q("nope.diff.test.", "A"), False),
    ("NXDOMAIN deep", q("a.b.c.nope.diff.test.", "AAAA"), False),
    ("NODATA", q("www.diff.test.", "MX"), False),
    ("NODATA apex", q("diff.test.", "AAAA"), False),
    ("ENT", q("ent.diff.test.", "A"), False),
    ("ENT middle", q("c.ent.diff.test.", "TXT"), False),
    ("ENT lowest", q("b.c.ent.diff.test.", "A"), False),
    ("below ENT leaf", q("a.b.c.ent.diff.test.", "A"), False),
    ("NXDOMAIN under ENT", q("z.c.ent.diff.test.", "A"), False),
    ("meta type OPT", q("www.diff.test.", "OPT"), False),
    ("qtype 0", q("www.diff.test.", 0), False),
    # CNAME.
    ("CNAME chased", q("alias.diff.test.", "A"), False),
    ("CNAME chain", q("chain1.diff.test.", "AAAA"), False),
    ("CNAME chain TXT", q("chain2.diff.test.", "TXT"), False),
    ("CNAME itself", q("alias.diff.test.", "CNAME"), False),
    ("CNAME to NODATA", q("alias.diff.test.", "MX"), False),
    ("CNAME to NXDOMAIN", q("dangling.diff.test.", "A"), False),
    ("CNAME out of zone", q("outside.diff.test.", "A"), False),
    ("CNAME loop", q("loop1.diff.test.", "A"), False),
    ("CNAME self loop", q("self.diff.test.", "A"), False),
    ("CNAME into delegation", q("to-deleg.diff.test.", "A"), False),
    # Delegations.
    ("referral at cut", q("deleg.diff.test.", "A"), False),
    ("referral below cut", q("www.deleg.diff.test.", "A"), False),
    ("referral for glue name", q("ns.deleg.diff.test.", "A"), False),
    ("referral NS at cut", q("deleg.diff.test.", "NS"), False),
    ("DS at cut from parent", q("deleg.diff.test.", "DS"), False),
    ("DS at cut without DS", q("deleg2.diff.test.", "DS"), False),
    ("DS below cut", q("x.deleg.diff.test.", "DS"), False),
    ("referral no glue", q("deleg2.diff.test.", "MX"), False),
    # Wildcards.
    ("wildcard A", q("anything.wild.diff.test.", "A"), False),
    ("wildcard two labels", q("a.b.wild.diff.test.", "TXT"), False),
    ("wildcard NODATA", q("x.wild.diff.test.", "MX"), False),
    ("wildcard not over existing", q("exists.wild.diff.test.", "A"), False),
    ("wildcard existing NODATA", q("exists.wild.diff.test.", "TXT"), False),
    ("wildcard blocked by ENT", q("x.deep.wild.diff.test.", "A"), False),
    ("ENT under wildcard parent", q("deep.wild.diff.test.", "A"), False),
    ("literal *", q("*.wild.diff.test.", "A"), False),
    ("wildcard CNAME", q("x.cwild.diff.test.", "A"), False),
    ("wildcard CNAME NODATA", q("x.cwild.diff.test.", "MX"), False),
    ("wildcard CNAME chain", q("z.chwild.diff.test.", "A"), False),
    ("wildcard parent", q("wild.diff.test.", "A"), False),
    # DNAME.
    ("DNAME in zone", q("host.old.diff.test.", "A"), False),
    ("DNAME in zone NXDOMAIN", q("x.old.diff.test.", "A"), False),
    ("DNAME two labels", q("x.y.old.diff.test.", "TXT"), False),
    ("DNAME synthesised CNAME asked for", q("x.old.diff.test.", "CNAME"), False),
    ("DNAME out of zone", q("x.ext.diff.test.", "A"), False),
    ("DNAME owner", q("old.diff.test.", "DNAME"), False),
    ("DNAME owner other type", q("old.diff.test.", "A"), False),
    ("DNAME overflow YXDOMAIN", q("x1234567890abcdef.long.diff.test.", "A"), False),
    # ANY (RFC 8482).
    ("ANY apex", q("diff.test.", "ANY"), False),
    ("ANY several types", q("multi.diff.test.", "ANY"), False),
    ("ANY CNAME", q("alias.diff.test.", "ANY"), False),
    ("ANY ENT", q("ent.diff.test.", "ANY"), False),
    ("ANY wildcard", q("x.wild.diff.test.", "ANY"), False),
    ("ANY NXDOMAIN", q("nope.diff.test.", "ANY"), False),
    # Case (0x20) and REFUSED.
    ("0x20", q("WwW.DiFf.TeSt.", "A"), False),
    ("0x20 referral", q("X.DeLeG.diff.TEST.", "A"), False),
    ("0x20 wildcard", q("AnY.WiLd.DIFF.test.", "TXT"), False),
    ("out of zone", q("www.example.org.", "A"), False),
    ("parent of zone", q("test.", "SOA"), False),
    ("class CH", q("www.diff.test.", "A", qclass=wire.CLASS_CH), False),
    # EDNS.
    ("EDNS", q("www.diff.test.", "A", edns_payload=4096), False),
    ("EDNS DO", q("www.diff.test.", "A", edns_payload=1232, do=True), False),
    ("EDNS small payload", q("www.diff.test.", "A", edns_payload=100), False),
    (
        "EDNS unknown option",
        q("www.diff.test.", "A", edns_payload=1232, options=[(65001, b"hello")]),
        False,
    ),
    ("EDNS NXDOMAIN", q("nope.diff.test.", "A", edns_payload=1232), False),
    ("EDNS referral", q("deleg.diff.test.", "A", edns_payload=1232), False),
    ("EDNS version 1", _edns_version(1), False),
    ("two OPT", _two_opts(), False),
    # Truncation and TCP.
    ("truncated no EDNS", q("big.diff.test.", "TXT"), False),
    ("fits with EDNS", q("big.diff.test.", "TXT", edns_payload=1232), False),
    ("truncated at 512 floor", q("big.diff.test.", "TXT", edns_payload=200), False),
    ("TCP big", q("big.diff.test.", "TXT"), True),
    ("TCP A", q("www.diff.test.", "A"), True),
    ("TCP referral", q("deleg.diff.test.", "A"), True),
    ("TCP NXDOMAIN", q("nope.diff.test.", "A", edns_payload=1232), True),
    ("RD copied", q("www.diff.test.", "A", rd=True), False),
    # Malformed and unusual messages.
    ("QDCOUNT 0", raw(0x0100, 0, b""), False),
    ("QDCOUNT 2", raw(0, 2, QBODY + QBODY), False),
    ("answer in query", _with_answer(), False),
    ("forward pointer", raw(0, 1, b"\xc0\x0e\x00\x00\x01\x00\x01"), False),
    ("pointer loop", raw(0, 1, b"\x01a\xc0\x0c\x00\x01\x00\x01"), False),
    ("reserved label type", raw(0, 1, b"\x41abc\x00\x00\x01\x00\x01"), False),
    ("truncated question", raw(0x0100, 1, QBODY[:7]), False),
    ("question without type", raw(0, 1, QBODY[:-4]), False),
    ("opcode IQUERY", raw(1 << 11, 1, QBODY), False),
    ("opcode STATUS", raw(2 << 11, 1, QBODY), False),
    ("opcode 3", raw(3 << 11, 1, QBODY), False),
    ("opcode UPDATE", raw(5 << 11, 1, QBODY), False),
    ("NOTIFY to primary", raw(4 << 11, 1, q("diff.test.", "SOA")[12:]), False),
    ("AXFR over UDP", q("diff.test.", "AXFR"), False),
    ("trailing garbage", q("www.diff.test.", "A") + b"garbage", False),
]


def summary(data: bytes) -> object:
    """What must agree: for a header-only reply its bytes; otherwise the flags, rcode, the
    question as sent, each section's records (owner lowercased) and the OPT's shape."""
    if len(data) <= 12:
        return ("header", data.hex())
    r = dnslib.DNSRecord.parse(data)
    h = r.header
    opt = [rr for rr in r.ar if rr.rtype == dnslib.QTYPE.OPT]
    opt_shape = [(rr.rclass, rr.ttl) for rr in opt]

    def section(rrs: list[dnslib.RR]) -> list[tuple[str, int, int, int, str]]:
        return [
            (str(rr.rname).lower(), rr.rtype, rr.rclass, rr.ttl, str(rr.rdata).lower())
            for rr in rrs
            if rr.rtype != dnslib.QTYPE.OPT
        ]

    # Answer and authority in order (a CNAME chain's order matters); additional as a set.
    return {
        "flags": struct.unpack_from("!H", data, 2)[0],
        "question": [(str(x.qname), x.qtype, x.qclass) for x in r.questions],
        "answer": section(r.rr),
        "authority": section(r.auth),
        "additional": sorted(section(r.ar)),
        "opt": opt_shape,
        "counts": (h.q, h.a, h.auth, h.ar),
    }


def _source_for(host: str) -> str:
    """Where a client endpoint binds to reach ``host``: loopback for loopback (a kernel
    socket stays off the host's other interfaces), else any address (mirage's link)."""
    return "127.0.0.1" if host.startswith("127.") else "0.0.0.0"


async def exchange(net: backends.Backend, where: int | Address, data: bytes, tcp: bool) -> bytes:
    """One query to ``where`` (a port on 127.0.0.1, or an address) and its reply."""
    host, port = ("127.0.0.1", where) if isinstance(where, int) else where
    with net.fail_after(3):
        if tcp:
            flow = await net.tcp_connect(host, port)
            try:
                await flow.write(struct.pack("!H", len(data)) + data)
                buf = b""
                while len(buf) < 2 or len(buf) < 2 + struct.unpack_from("!H", buf)[0]:
                    chunk = await flow.read()
                    assert chunk, "connection closed before the reply"
                    buf += chunk
                return buf[2:]
            finally:
                await flow.close()
        ep = await net.udp_bind(_source_for(host), 0)
        try:
            await ep.send(data, (host, port))
            reply, _ = await ep.recv()
            return reply
        finally:
            await ep.close()
    raise AssertionError("no reply in time")  # fail_after raises first; this is for mypy


async def test_differential_against_nsd(backend: backends.Backend, nsd_diff: Address) -> None:
    assert len(CASES) >= 60
    server = AuthServer([parse_zone_text(DIFF_ZONE)])
    mismatches = []
    async with server.running(backend, "127.0.0.1", 0) as (udp, _tcp):
        for label, data, tcp in CASES:
            theirs = await exchange(backend, nsd_diff, data, tcp)
            ours = await exchange(backend, udp[1], data, tcp)
            # Ask twice: the second answer comes from the prebuilt-response cache.
            ours_again = await exchange(backend, udp[1], data, tcp)
            assert ours_again == ours, label
            if summary(ours) != summary(theirs):
                mismatches.append((label, summary(theirs), summary(ours)))
    assert not mismatches, "\n".join(
        f"{label}:\n  nsd:  {t}\n  ours: {o}" for label, t, o in mismatches
    )


async def test_dropped_like_nsd(backend: backends.Backend, nsd_diff: Address) -> None:
    """Responses (QR=1) and runts get no answer from either server; both keep serving."""
    server = AuthServer([parse_zone_text(DIFF_ZONE)])
    async with server.running(backend, "127.0.0.1", 0) as (udp, _tcp):
        for where in (nsd_diff, ("127.0.0.1", udp[1])):
            ep = await backend.udp_bind(_source_for(where[0]), 0)
            try:
                await ep.send(raw(0x8000, 1, QBODY), where)
                await ep.send(b"\x12\x34\x00", where)
                await ep.send(q("www.diff.test.", "A"), where)
                with backend.fail_after(3):
                    reply, _ = await ep.recv()
                assert wire.Message.parse(reply).answer, where
                with backend.move_on_after(0.2):
                    extra, _ = await ep.recv()
                    pytest.fail(f"unexpected second reply from {where}: {extra!r}")
            finally:
                await ep.close()


# ---------------------------------------------------------------------------- secondary

SECONDARY_ZONE = """$ORIGIN sec.test.
$TTL 600
@       IN SOA  ns1 hostmaster ( {serial} 3600 600 86400 60 )
        NS      ns1
        MX      10 mail
ns1     A       127.0.0.1
mail    A       127.0.0.2
www     A       {www}
        AAAA    ::1
alias   CNAME   www
*.dyn   TXT     "serial {serial}"
sub     NS      ns.sub
ns.sub  A       127.0.0.3
old     DNAME   www.sec.test.
"""

SECONDARY_QUERIES = [
    ("www.sec.test.", "A"),
    ("www.sec.test.", "AAAA"),
    ("alias.sec.test.", "A"),
    ("x.dyn.sec.test.", "TXT"),
    ("sec.test.", "MX"),
    ("sec.test.", "NS"),
    ("a.sub.sec.test.", "A"),
    ("x.old.sec.test.", "A"),
    ("nope.sec.test.", "A"),
    ("www.sec.test.", "MX"),
    ("sec.test.", "SOA"),
]


async def _wait_serial(
    net: backends.Backend, port: int, serial: int, peer: Peer, link: KernelLink = LOOPBACK_LINK
) -> None:
    deadline = net.now() + 20
    while net.now() < deadline:
        got = await net.run_in_thread(lambda: _soa_serial(port, "sec.test.", link=link))
        if got == serial:
            return
        await net.sleep(0.1)
    raise AssertionError(f"NSD never served serial {serial}; its log:\n{peer.log()}")


async def _compare(net: backends.Backend, ours: int | Address, theirs: int | Address) -> None:
    for name, qtype in SECONDARY_QUERIES:
        data = q(name, qtype, edns_payload=1232)
        a = summary(await exchange(net, ours, data, False))
        b = summary(await exchange(net, theirs, data, False))
        assert a == b, f"{name} {qtype}:\n  nsd:  {b}\n  ours: {a}"


async def test_nsd_secondary_follows_notify_and_reload(
    backend: backends.Backend, kernel: KernelLink, tmp_path: object
) -> None:
    need_tool("nsd", "nsd-checkconf")
    zonefile = os.path.join(str(tmp_path), "sec.test.zone")
    with open(zonefile, "w") as f:
        f.write(SECONDARY_ZONE.format(serial=2024010101, www="127.0.0.10"))
    nsd_port = kernel.free_port()
    nsd_at = (kernel.peer_host, nsd_port)
    server = AuthServer(
        [load_zone_file(zonefile)],
        allow_transfer=["127.0.0.0/8", f"{kernel.peer_host}/32"],
        notify=[f"{kernel.peer_host}:{nsd_port}"],
    )
    async with server.running(backend, kernel.host, 0) as (udp, _tcp):
        our_port = udp[1]
        ours_at = (kernel.host, our_port)

        def conf(scratch: str) -> str:
            return f"""zone:
    name: sec.test
    zonefile: "{scratch}/sec.test.zone"
    request-xfr: {kernel.host}@{our_port} NOKEY
    allow-notify: {kernel.host} NOKEY
"""

        with run_nsd(zone_conf=conf, port=nsd_port, link=kernel) as nsd:
            await _wait_serial(backend, nsd_port, 2024010101, nsd, kernel)
            await _compare(backend, ours_at, nsd_at)
            # A new serial: reload (atomically), NOTIFY, NSD transfers again.
            with open(zonefile, "w") as f:
                f.write(SECONDARY_ZONE.format(serial=2024010102, www="127.0.0.11"))
            changed = await server.reload()
            assert [z.serial for z in changed] == [2024010102]
            await _wait_serial(backend, nsd_port, 2024010102, nsd, kernel)
            await _compare(backend, ours_at, nsd_at)
            reply = await exchange(backend, nsd_at, q("www.sec.test.", "A"), False)
            assert wire.Message.parse(reply).answer[0].rdata == bytes([127, 0, 0, 11])
            # Our NOTIFY for the new serial was acknowledged by NSD.
            with backend.fail_after(10):
                while (
                    server.notify_acks.get(
                        (wire.name_key(wire.name_from_text("sec.test.")), nsd_at)
                    )
                    != 2024010102
                ):
                    await backend.sleep(0.05)


async def test_cache_hits_match_nsd_under_mixed_case(
    backend: backends.Backend, nsd_diff: Address
) -> None:
    """The prebuilt-response path copies each query's own question bytes: ask the same
    name in several cases (the first fills the cache) and compare with NSD each time."""
    server = AuthServer([parse_zone_text(DIFF_ZONE)])
    async with server.running(backend, "127.0.0.1", 0) as (udp, _tcp):
        for name in (
            "www.diff.test.",
            "WWW.diff.test.",
            "wWw.DiFf.tEsT.",
            "x.DELEG.diff.test.",
            "Q.Wild.Diff.Test.",
        ):
            for edns in (None, 1232):
                data = q(name, "A", edns_payload=edns)
                ours = await exchange(backend, udp[1], data, False)
                theirs = await exchange(backend, nsd_diff, data, False)
                assert (
                    ours[12 : 12 + len(data) - 12 - (11 if edns else 0)]
                    == data[12 : len(data) - (11 if edns else 0)]
                )
                assert summary(ours) == summary(theirs), name
    assert answer.EDNS_PAYLOAD == 1232


# ---------------------------------------------------------------------------- random queries

ZONE_NAMES = sorted(
    {
        line.split()[0]
        for line in DIFF_ZONE.splitlines()
        if line and not line[0].isspace() and not line.startswith(("$", "@"))
    }
)
QTYPES = [
    "A",
    "AAAA",
    "MX",
    "NS",
    "TXT",
    "SOA",
    "CNAME",
    "DNAME",
    "DS",
    "SRV",
    "PTR",
    "ANY",
    "CAA",
    "HINFO",
    "NAPTR",
    "TYPE65280",
]


@pytest.fixture(scope="module")
def ours_served(nsd_primary: int, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """Our server as ``python -m dns serve`` on the asyncio backend."""
    zone = tmp_path_factory.mktemp("random") / "diff.test.zone"
    zone.write_text(DIFF_ZONE)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "dns", "serve", str(zone), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=str(Path(__file__).resolve().parents[2]),
    )
    try:
        deadline = time.monotonic() + 15
        while _soa_serial(port, "diff.test.") is None:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("our server did not start")
            time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        proc.wait(5)


def _udp(port: int, data: bytes) -> bytes:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(2)
        s.sendto(data, ("127.0.0.1", port))
        return s.recv(65535)


def _tcp(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
        s.sendall(struct.pack("!H", len(data)) + data)
        reply = b""
        while len(reply) < 2 or len(reply) < 2 + struct.unpack("!H", reply[:2])[0]:
            chunk = s.recv(65535)
            assert chunk, "the server closed the connection before answering"
            reply += chunk
        return reply[2:]


TC = 0x0200


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    owner=st.sampled_from(ZONE_NAMES),
    prefix=st.lists(st.sampled_from(["x", "www", "*", "a"]), max_size=2),
    case=st.randoms(use_true_random=False),
    qtype=st.sampled_from(QTYPES),
    edns=st.sampled_from([None, 512, 1232, 4096]),
    do=st.booleans(),
    rd=st.booleans(),
)
def test_random_queries_match_nsd(
    nsd_primary: int,
    ours_served: int,
    owner: str,
    prefix: list[str],
    case: random.Random,
    qtype: str,
    edns: int | None,
    do: bool,
    rd: bool,
) -> None:
    """Hypothesis picks names (zone owners, with extra labels, in random case), types and
    EDNS shapes; NSD and our server must agree on each."""
    text = ".".join([*prefix, owner, "diff", "test", ""])
    text = "".join(c.upper() if case.random() < 0.5 else c for c in text)
    data = wire.build_query(
        wire.name_from_text(text),
        wire.type_from_text(qtype),
        msg_id=0x4321,
        edns_payload=edns,
        do=do and edns is not None,
        rd=rd,
    )
    their_reply, our_reply = _udp(nsd_primary, data), _udp(ours_served, data)
    if their_reply[2] & our_reply[2] & (TC >> 8):
        # Both truncated. RFC 2181 §9 lets a truncated reply carry the RRsets that fit
        # (NSD) or none (ours: header and question only); a client asks again over TCP,
        # so that is where the answers must agree.
        question_end = data.index(b"\x00", 12) + 5  # the query's name is uncompressed
        assert our_reply[4:10] == b"\x00\x01\x00\x00\x00\x00"  # QD=1, AN=NS=0
        assert our_reply[12:question_end] == data[12:question_end]  # question echoed
        their_reply, our_reply = _tcp(nsd_primary, data), _tcp(ours_served, data)
    theirs, ours = summary(their_reply), summary(our_reply)
    assert ours == theirs, f"{text} {qtype} edns={edns}:\n  nsd:  {theirs}\n  ours: {ours}"
