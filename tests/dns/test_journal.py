"""The journal of zone differences (durable, torn tails cut) and IXFR answered from it
(RFC 1995): over TCP, over UDP when it fits, AXFR-style when the journal does not reach
back; ``dig IXFR=N`` as a client."""

from __future__ import annotations

import itertools
import os
import struct
import subprocess
from pathlib import Path

import pytest

import backends
from dns import wire
from dns.journal import Diff, Journal, apply_diff, diff_zones, zone_records
from dns.server import AuthServer
from dns.zone import Zone, load_zone_file, parse_zone_text
from tests.conftest import need_tool
from tests.dns.test_server_answers import DIFF_ZONE
from tests.dns.test_server_net import LOCAL, Reader, framed, ixfr
from tests.peers import KernelLink

SERIAL = 2024010101


def version(serial: int, extra: str = "", drop: str = "") -> str:
    """DIFF_ZONE at ``serial``, ``extra`` lines added and lines containing ``drop`` left out."""
    text = DIFF_ZONE.replace(str(SERIAL), str(serial))
    if drop:
        text = "\n".join(line for line in text.splitlines() if drop not in line) + "\n"
    return text + extra


def records(zone: Zone) -> set[tuple[tuple[bytes, ...], int, int, bytes]]:
    return {(wire.name_lower(n), t, ttl, rd) for n, t, ttl, rd in zone_records(zone)}


# ---------------------------------------------------------------------------- differences


def test_diff_then_apply_gives_the_new_zone() -> None:
    old = parse_zone_text(version(SERIAL))
    new = parse_zone_text(
        version(SERIAL + 1, "new A 192.0.2.99\nwww 60 A 192.0.2.3\n", drop="multi   MX")
    )
    diff = diff_zones(old, new)
    assert (diff.old_serial, diff.new_serial) == (SERIAL, SERIAL + 1)
    assert {wire.name_to_text(r[0]) for r in diff.added} >= {"new.diff.test."}
    assert records(apply_diff(old, diff)) == records(new)
    assert Diff.from_bytes(diff.to_bytes()) == diff
    with pytest.raises(ValueError, match="starts at serial"):
        apply_diff(new, diff)


def diffs(n: int) -> list[Diff]:
    zones = [parse_zone_text(version(SERIAL + i, f"h{i} A 10.0.0.{i}\n")) for i in range(n + 1)]
    return [diff_zones(a, b) for a, b in itertools.pairwise(zones)]


def test_journal_file_survives_and_cuts_a_torn_tail(tmp_path: Path) -> None:
    path = str(tmp_path / "z.jnl")
    journal = Journal.open(path)
    made = diffs(5)
    sizes = []
    for d in made:
        journal.append(d)
        sizes.append(os.path.getsize(path))
    assert Journal.open(path).diffs == made
    whole = Path(path).read_bytes()
    # Every cut inside the last entry (a crash mid-write) loses that entry only; the file
    # is cut back to the last whole entry.
    for cut in range(1, sizes[-1] - sizes[-2]):
        Path(path).write_bytes(whole[: len(whole) - cut])
        assert Journal.open(path).diffs == made[:-1]
        assert os.path.getsize(path) == sizes[-2]
    # A flipped bit in the last entry: its checksum fails, it is dropped.
    broken = bytearray(whole)
    broken[-3] ^= 0x40
    Path(path).write_bytes(bytes(broken))
    assert Journal.open(path).diffs == made[:-1]
    # Appending after a cut continues cleanly.
    again = Journal.open(path)
    again.append(made[-1])
    assert Journal.open(path).diffs == made


def test_chain_and_compaction(tmp_path: Path) -> None:
    made = diffs(6)
    journal = Journal(None)
    for d in made:
        journal.append(d)
    assert journal.chain(SERIAL, SERIAL + 6) == made
    assert journal.chain(SERIAL + 4, SERIAL + 6) == made[4:]
    assert journal.chain(SERIAL - 1, SERIAL + 6) is None  # not reaching back
    assert journal.chain(SERIAL, SERIAL + 7) is None  # not reaching the current serial
    path = str(tmp_path / "small.jnl")
    small = Journal.open(path, max_bytes=3 * len(made[0].to_bytes()))
    for d in made:
        small.append(d)
    kept = Journal.open(path).diffs
    assert kept == small.diffs and 0 < len(kept) < len(made) and kept[-1] == made[-1]


# ---------------------------------------------------------------------------- IXFR


async def read_xfr(
    net: backends.Backend, port: int, data: bytes, host: str = LOCAL
) -> list[wire.RR]:
    """The answer records of a transfer over TCP, to its closing SOA (AXFR: the newest SOA
    twice; incremental: three times)."""
    flow = await net.tcp_connect(host, port)
    out: list[wire.RR] = []
    async with flow:
        await flow.write(framed(data))
        reader = Reader(flow)
        with net.fail_after(10):
            while True:
                raw = await reader.message()
                assert raw is not None
                msg = wire.Message.parse(raw)
                assert msg.rcode == 0, wire.rcode_to_text(msg.rcode)
                out += msg.answer
                newest = serial_of(out[0])
                if len(out) == 1 and newest >= serial_of_query(data):
                    return out
                incremental = len(out) > 1 and out[1].rtype == wire.TYPE_SOA
                soas = [serial_of(rr) for rr in out if rr.rtype == wire.TYPE_SOA]
                last_is_soa = out[-1].rtype == wire.TYPE_SOA
                if last_is_soa and soas.count(newest) == (3 if incremental else 2):
                    return out


def serial_of(rr: wire.RR) -> int:
    return int(struct.unpack_from("!I", rr.rdata, len(rr.rdata) - 20)[0])


def serial_of_query(data: bytes) -> int:
    return int(struct.unpack_from("!I", data, len(data) - 20)[0])


async def test_ixfr_from_reloads(tmp_path: Path, backend: backends.Backend) -> None:
    path = tmp_path / "diff.test.zone"
    path.write_text(version(SERIAL))
    server = AuthServer([load_zone_file(str(path))], allow_transfer=["127.0.0.0/8"])
    async with server.running(backend, LOCAL, 0) as (udp, tcp):
        path.write_text(version(SERIAL + 1, "new1 A 192.0.2.101\n", drop="multi   MX"))
        await server.reload()
        path.write_text(version(SERIAL + 2, "new1 A 192.0.2.101\nnew2 A 192.0.2.102\n"))
        await server.reload()
        # From the first serial: both differences, in RFC 1995's layout.
        got = await read_xfr(backend, tcp[1], ixfr(SERIAL))
        soas = [serial_of(rr) for rr in got if rr.rtype == wire.TYPE_SOA]
        assert soas == [SERIAL + 2, SERIAL, SERIAL + 1, SERIAL + 1, SERIAL + 2, SERIAL + 2]
        names = [wire.name_to_text(rr.name) for rr in got if rr.rtype != wire.TYPE_SOA]
        assert names == [
            "multi.diff.test.",
            "new1.diff.test.",
            "multi.diff.test.",
            "new2.diff.test.",
        ]
        # From the second: just the last one.
        got = await read_xfr(backend, tcp[1], ixfr(SERIAL + 1))
        got_soas = [serial_of(rr) for rr in got if rr.rtype == wire.TYPE_SOA]
        assert got_soas == [SERIAL + 2, SERIAL + 1, SERIAL + 2, SERIAL + 2]
        assert len(got) == 6  # SOA, old SOA, new SOA, MX added back, new2 added, SOA
        # From a serial the journal does not reach: the whole zone, AXFR-style.
        got = await read_xfr(backend, tcp[1], ixfr(SERIAL - 5))
        assert (
            got[1].rtype != wire.TYPE_SOA
            and len(got) == load_zone_file(str(path)).record_count() + 1
        )
        # Over UDP: the differences when they fit, the SOA alone when they do not.
        ep = await backend.udp_bind(LOCAL, 0)
        try:
            await ep.send(ixfr(SERIAL + 1), (LOCAL, udp[1]))
            with backend.fail_after(5):
                small = wire.Message.parse((await ep.recv())[0])
            assert [rr.rtype for rr in small.answer].count(wire.TYPE_SOA) == 4
            assert not small.tc
        finally:
            await ep.close()
    # The journal is on disk beside the zone: after a restart IXFR still works.
    assert os.path.exists(str(path) + ".jnl")
    again = AuthServer([load_zone_file(str(path))], allow_transfer=["127.0.0.0/8"])
    async with again.running(backend, LOCAL, 0) as (_udp, tcp):
        got = await read_xfr(backend, tcp[1], ixfr(SERIAL + 1))
        assert len(got) == 6


async def test_ixfr_over_udp_that_does_not_fit_is_the_soa(
    tmp_path: Path, backend: backends.Backend
) -> None:
    old = parse_zone_text(version(SERIAL))
    big = "".join(f'h{i} TXT "{"x" * 200}"\n' for i in range(20))
    new = parse_zone_text(version(SERIAL + 1, big))
    server = AuthServer([old], allow_transfer=["127.0.0.0/8"])
    server.replace_zones([new])
    async with server.running(backend, LOCAL, 0) as (udp, tcp):
        ep = await backend.udp_bind(LOCAL, 0)
        try:
            await ep.send(ixfr(SERIAL), (LOCAL, udp[1]))
            with backend.fail_after(5):
                reply = wire.Message.parse((await ep.recv())[0])
        finally:
            await ep.close()
        assert [serial_of(rr) for rr in reply.answer] == [SERIAL + 1]  # ask over TCP
        got = await read_xfr(backend, tcp[1], ixfr(SERIAL))
        assert sum(rr.rtype == wire.TYPE_TXT for rr in got) == 20


async def test_dig_ixfr(tmp_path: Path, backend: backends.Backend, kernel: KernelLink) -> None:
    need_tool("dig")
    server = AuthServer(
        [parse_zone_text(version(SERIAL))], allow_transfer=["127.0.0.0/8", f"{kernel.peer_host}/32"]
    )
    server.replace_zones([parse_zone_text(version(SERIAL + 1, "fresh A 192.0.2.77\n"))])
    async with server.running(backend, kernel.host, 0) as (_udp, tcp):
        argv = kernel.argv(
            "dig", f"@{kernel.host}", "-p", str(tcp[1]), "diff.test.", f"IXFR={SERIAL}"
        )
        done = await backend.run_in_thread(
            lambda: subprocess.run([*argv, "+noall", "+answer"], capture_output=True, text=True)
        )
    lines = [line.split() for line in done.stdout.splitlines() if line and line[0] != ";"]
    assert [(w[3], w[6] if w[3] == "SOA" else w[4]) for w in lines] == [
        ("SOA", str(SERIAL + 1)),
        ("SOA", str(SERIAL)),
        ("SOA", str(SERIAL + 1)),
        ("A", "192.0.2.77"),
        ("SOA", str(SERIAL + 1)),
    ]
