"""Dynamic UPDATE (RFC 2136): the five prerequisites, the four kinds of change, the apex
rules, the serial; then over the network with ``nsupdate -y`` as the client (signed,
refused when unsigned, IXFR and NOTIFY following)."""

from __future__ import annotations

import base64
import struct
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

import backends
from dns import tsig, wire
from dns.journal import zone_records
from dns.server import AuthServer
from dns.update import UpdateError, apply_update, parse_update
from dns.zone import Zone, parse_zone_text
from tests.conftest import need_tool
from tests.dns.test_journal import SERIAL, read_xfr, serial_of, version
from tests.dns.test_server_net import LOCAL, ixfr, query, udp_ask
from tests.peers import KernelLink

APEX = wire.name_from_text("diff.test.")
NONE, ANY, IN = wire.CLASS_NONE, wire.CLASS_ANY, wire.CLASS_IN

RR = tuple[str, int, int, int, bytes]  # name, type, class, ttl, rdata


def a(text: str) -> bytes:
    return bytes(int(x) for x in text.split("."))


def message(
    prereqs: Sequence[RR] = (), updates: Sequence[RR] = (), zone: str = "diff.test."
) -> bytes:
    b = wire.MessageBuilder(77, wire.OPCODE_UPDATE << wire.OPCODE_SHIFT)
    b.add_question(wire.name_from_text(zone), wire.TYPE_SOA)
    for section, rrs in ((wire.SECTION_ANSWER, prereqs), (wire.SECTION_AUTHORITY, updates)):
        for name, rtype, rclass, ttl, rdata in rrs:
            b.add_rr(section, wire.name_from_text(name), rtype, rclass, ttl, rdata)
    return b.finish()


def run(zone: Zone, prereqs: Sequence[RR] = (), updates: Sequence[RR] = ()) -> Zone:
    outcome = apply_update(zone, parse_update(message(prereqs, updates)))
    return zone if outcome is None else outcome[0]


def refused(zone: Zone, prereqs: Sequence[RR] = (), updates: Sequence[RR] = ()) -> int:
    with pytest.raises(UpdateError) as info:
        apply_update(zone, parse_update(message(prereqs, updates)))
    return info.value.rcode


def rdatas(zone: Zone, name: str, rtype: int) -> list[bytes]:
    node = zone.node(wire.name_from_text(name))
    if node is None or rtype not in node.rrsets:
        return []
    return node.rrsets[rtype].rdatas


ZONE = parse_zone_text(version(SERIAL))


def test_prerequisites_all_five_kinds() -> None:
    """RFC 2136 §2.4.1-§2.4.5, each met (the update goes through) and not met (its rcode)."""
    add = [("new.diff.test.", wire.TYPE_A, IN, 300, a("192.0.2.50"))]
    www_a = ("www.diff.test.", wire.TYPE_A, IN, 0, a("192.0.2.3"))
    cases: list[tuple[RR, int | None]] = [
        # RRset exists (value independent)
        (("www.diff.test.", wire.TYPE_A, ANY, 0, b""), None),
        (("www.diff.test.", wire.TYPE_MX, ANY, 0, b""), wire.RCODE_NXRRSET),
        # RRset exists (value dependent)
        (www_a, None),
        (("www.diff.test.", wire.TYPE_A, IN, 0, a("192.0.2.99")), wire.RCODE_NXRRSET),
        # RRset does not exist
        (("www.diff.test.", wire.TYPE_MX, NONE, 0, b""), None),
        (("www.diff.test.", wire.TYPE_A, NONE, 0, b""), wire.RCODE_YXRRSET),
        # Name is in use
        (("www.diff.test.", wire.TYPE_ANY, ANY, 0, b""), None),
        (("nobody.diff.test.", wire.TYPE_ANY, ANY, 0, b""), wire.RCODE_NXDOMAIN),
        # Name is not in use
        (("nobody.diff.test.", wire.TYPE_ANY, NONE, 0, b""), None),
        (("www.diff.test.", wire.TYPE_ANY, NONE, 0, b""), wire.RCODE_YXDOMAIN),
    ]
    for prereq, rcode in cases:
        if rcode is None:
            assert rdatas(run(ZONE, [prereq], add), "new.diff.test.", wire.TYPE_A), prereq
        else:
            assert refused(ZONE, [prereq], add) == rcode, prereq
    # Value dependent: the whole RRset must match, not a part of it.
    www_aaaa = ("ns1.diff.test.", wire.TYPE_A, IN, 0, a("192.0.2.1"))
    assert run(ZONE, [www_aaaa], add) is not ZONE
    two = ("ns1.diff.test.", wire.TYPE_A, IN, 0, a("192.0.2.7"))
    assert refused(ZONE, [www_aaaa, two], add) == wire.RCODE_NXRRSET
    # Malformed prerequisites and names outside the zone.
    assert refused(ZONE, [("www.diff.test.", wire.TYPE_A, ANY, 5, b"")], add) == wire.RCODE_FORMERR
    assert refused(ZONE, [("www.example.", wire.TYPE_A, ANY, 0, b"")], add) == wire.RCODE_NOTZONE


def test_the_four_kinds_of_change_and_the_serial() -> None:
    z = run(ZONE, updates=[("www.diff.test.", wire.TYPE_A, IN, 300, a("192.0.2.33"))])
    assert sorted(rdatas(z, "www.diff.test.", wire.TYPE_A)) == [a("192.0.2.3"), a("192.0.2.33")]
    assert z.serial == SERIAL + 1  # bumped once
    z = run(z, updates=[("www.diff.test.", wire.TYPE_A, NONE, 0, a("192.0.2.3"))])
    assert rdatas(z, "www.diff.test.", wire.TYPE_A) == [a("192.0.2.33")]
    z = run(z, updates=[("www.diff.test.", wire.TYPE_A, ANY, 0, b"")])
    assert rdatas(z, "www.diff.test.", wire.TYPE_A) == [] and rdatas(
        z, "www.diff.test.", wire.TYPE_AAAA
    )
    z = run(z, updates=[("www.diff.test.", wire.TYPE_ANY, ANY, 0, b"")])
    www = z.node(wire.name_from_text("www.diff.test."))
    assert www is None or not www.rrsets
    assert z.serial == SERIAL + 4
    # Nothing changed (deleting what is not there): the serial stays.
    assert run(z, updates=[("gone.diff.test.", wire.TYPE_A, ANY, 0, b"")]) is z
    # RFC 1982: the serial wraps.
    top = parse_zone_text(version(0xFFFFFFFF))
    assert run(top, updates=[("x.diff.test.", wire.TYPE_A, IN, 60, a("10.0.0.1"))]).serial == 0


def test_apex_rules_cname_rules_and_prescan() -> None:
    # Deleting everything at the apex leaves the SOA and NS; the last NS is never deleted.
    z = run(ZONE, updates=[("diff.test.", wire.TYPE_ANY, ANY, 0, b"")])
    assert rdatas(z, "diff.test.", wire.TYPE_SOA) and rdatas(z, "diff.test.", wire.TYPE_NS)
    assert not rdatas(z, "diff.test.", wire.TYPE_MX)
    ns = rdatas(ZONE, "diff.test.", wire.TYPE_NS)
    dels = [("diff.test.", wire.TYPE_NS, NONE, 0, rd) for rd in ns]
    assert len(rdatas(run(ZONE, updates=dels), "diff.test.", wire.TYPE_NS)) == 1
    assert rdatas(run(ZONE, updates=[("diff.test.", wire.TYPE_NS, ANY, 0, b"")]), "diff.test.", 2)
    # An SOA with an older serial is ignored; a newer one is taken as it is.
    soa = rdatas(ZONE, "diff.test.", wire.TYPE_SOA)[0]
    older = soa[:-20] + struct.pack("!I", SERIAL - 1) + soa[-16:]
    newer = soa[:-20] + struct.pack("!I", SERIAL + 10) + soa[-16:]
    assert run(ZONE, updates=[("diff.test.", wire.TYPE_SOA, IN, 3600, older)]) is ZONE
    assert run(ZONE, updates=[("diff.test.", wire.TYPE_SOA, IN, 3600, newer)]).serial == SERIAL + 10
    # No CNAME beside other data, no data beside a CNAME: ignored (§3.4.2.2).
    target = wire.encode_name(wire.name_from_text("mail.diff.test."))
    assert run(ZONE, updates=[("www.diff.test.", wire.TYPE_CNAME, IN, 60, target)]) is ZONE
    assert run(ZONE, updates=[("alias.diff.test.", wire.TYPE_A, IN, 60, a("10.1.1.1"))]) is ZONE
    # The prescan refuses the whole update before anything changes.
    good = ("ok.diff.test.", wire.TYPE_A, IN, 60, a("10.2.2.2"))
    for bad, rcode in [
        (("x.diff.test.", wire.TYPE_ANY, IN, 60, b""), wire.RCODE_FORMERR),
        (("x.diff.test.", wire.TYPE_A, ANY, 60, b""), wire.RCODE_FORMERR),
        (("x.diff.test.", wire.TYPE_A, NONE, 60, a("1.2.3.4")), wire.RCODE_FORMERR),
        (("x.example.", wire.TYPE_A, IN, 60, a("1.2.3.4")), wire.RCODE_NOTZONE),
        (("x.diff.test.", wire.TYPE_A, wire.CLASS_CH, 60, a("1.2.3.4")), wire.RCODE_FORMERR),
    ]:
        assert refused(ZONE, updates=[good, bad]) == rcode, bad
    # Compressed names in rdata compare as written out.
    mx = struct.pack("!H", 10) + wire.encode_name(wire.name_from_text("MAIL.diff.test."))
    z = run(ZONE, updates=[("diff.test.", wire.TYPE_MX, NONE, 0, mx)])
    assert len(rdatas(z, "diff.test.", wire.TYPE_MX)) == 1
    # A zone section naming another zone.
    with pytest.raises(UpdateError) as info:
        apply_update(ZONE, parse_update(message(updates=[good], zone="other.test.")))
    assert info.value.rcode == wire.RCODE_NOTAUTH


# ---------------------------------------------------------------------------- over the network

SECRET = base64.b64encode(b"update-secret-0123456789abcdef!!").decode()
KEY = tsig.parse_key(f"hmac-sha256:upd.key:{SECRET}")


def nsupdate(
    link: KernelLink, port: int, script: str, *key: str
) -> subprocess.CompletedProcess[str]:
    text = f"server {link.host} {port}\nzone diff.test.\n{script}\nsend\n"
    return subprocess.run(
        link.argv("nsupdate", "-t", "5", *key),
        input=text,
        capture_output=True,
        text=True,
        timeout=30,
    )


async def test_nsupdate_signed_then_ixfr_and_notify(
    tmp_path: Path, backend: backends.Backend, kernel: KernelLink
) -> None:
    """nsupdate (on mirage: inside the namespace whose TAP device our stack owns)."""
    need_tool("nsupdate")
    host = kernel.host
    zone_file = tmp_path / "diff.test.zone"
    zone_file.write_text(version(SERIAL))
    from dns.zone import load_zone_file

    secondary = await backend.udp_bind(LOCAL, 0)
    server = AuthServer(
        [load_zone_file(str(zone_file))],
        keys=[KEY],
        allow_update=["key:upd.key"],
        allow_transfer=["127.0.0.0/8", f"{host}/32"],
        notify=[f"{LOCAL}:{secondary.address[1]}"],
        notify_timeout=0.2,
    )
    try:
        async with server.running(backend, host, 0) as (udp, tcp):
            port = udp[1]
            y = ["-y", f"hmac-sha256:upd.key:{SECRET}"]
            done = await backend.run_in_thread(
                nsupdate, kernel, port, "update add added.diff.test. 300 A 192.0.2.200", *y
            )
            assert done.returncode == 0, done.stderr
            msg = await udp_ask(backend, port, query("added.diff.test."), host)
            assert msg.answer and msg.answer[0].rdata == a("192.0.2.200")
            assert server.zones[0].serial == SERIAL + 1
            # Unsigned: REFUSED, nothing changes.
            done = await backend.run_in_thread(
                nsupdate, kernel, port, "update delete www.diff.test. A"
            )
            assert done.returncode != 0 and "REFUSED" in done.stdout + done.stderr
            assert (await udp_ask(backend, port, query("www.diff.test."), host)).answer
            # A prerequisite not met: NXRRSET.
            done = await backend.run_in_thread(
                nsupdate,
                kernel,
                port,
                "prereq yxrrset nobody.diff.test. A\nupdate add z.diff.test. 60 A 10.0.0.1",
                *y,
            )
            assert "NXRRSET" in done.stdout + done.stderr
            # IXFR from before the update: just the difference.
            got = await read_xfr(backend, tcp[1], ixfr(SERIAL), host)
            assert [serial_of(rr) for rr in got if rr.rtype == wire.TYPE_SOA] == [
                SERIAL + 1,
                SERIAL,
                SERIAL + 1,
                SERIAL + 1,
            ]
            # NOTIFY for the new serial reached the secondary.
            serials = set()
            with backend.fail_after(10):
                while SERIAL + 1 not in serials:
                    data, _ = await secondary.recv()
                    note = wire.Message.parse(data)
                    if note.opcode == wire.OPCODE_NOTIFY and note.answer:
                        serials.add(serial_of(note.answer[0]))
    finally:
        await secondary.close()
    # The change is in the journal beside the zone file: a new server replays it.
    again = AuthServer([load_zone_file(str(zone_file))])
    assert again.zones[0].serial == SERIAL + 1
    assert any(wire.name_to_text(n) == "added.diff.test." for n, *_ in zone_records(again.zones[0]))


async def test_update_not_on_disk_is_servfail_and_not_applied(
    tmp_path: Path, backend: backends.Backend
) -> None:
    """The journal cannot be written (its directory is gone): SERVFAIL, the zone unchanged,
    the journal as it was; an unauthorised source is REFUSED."""
    zone = parse_zone_text(version(SERIAL))
    server = AuthServer(
        [zone],
        allow_update=["127.0.0.1/32"],
        journal_paths={"diff.test": str(tmp_path / "missing" / "diff.jnl")},
    )
    add = [("new.diff.test.", wire.TYPE_A, IN, 300, a("192.0.2.50"))]
    async with server.running(backend, LOCAL, 0) as (udp, _tcp):
        reply = await udp_ask(backend, udp[1], message(updates=add))
        assert reply.rcode == wire.RCODE_SERVFAIL and reply.opcode == wire.OPCODE_UPDATE
        assert server.zones[0] is zone and not server.journals[zone.origin_key].diffs
        assert not (await udp_ask(backend, udp[1], query("new.diff.test."))).answer
    other = AuthServer([zone], allow_update=["10.0.0.0/8"])
    async with other.running(backend, LOCAL, 0) as (udp, _tcp):
        reply = await udp_ask(backend, udp[1], message(updates=add))
        assert reply.rcode == wire.RCODE_REFUSED and other.zones[0] is zone
