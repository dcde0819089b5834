"""Zones BIND loads load here with the same data (issue 12 item 6).

Each ``tests/dns/zones/ORIGIN.zone`` is loaded by ours and by ``named-checkzone -D -o -
ORIGIN FILE`` (bind9-utils); both record sets are normalised to one canonical line per record
(owner lowercased and absolute, TTL, class, type, rdata as RFC 3597 ``\\# len hex``) and must be
equal. BIND's dump is its own canonical presentation (absolute names, plain TTLs, ``\\DDD``
escapes, ``$GENERATE`` expanded, SvcParams sorted), so the file forms under test (relative
names, ``@``, units, parentheses, ``$INCLUDE``, escapes, list values) are read by BIND alone on
that side. Each ``zones/bad/ORIGIN.zone`` is one BIND refuses: ours must refuse it too.
"""

from __future__ import annotations

import pathlib
import shutil
import subprocess

import pytest

from dns import wire
from dns.zone import Zone, ZoneError, encode_rdata, load_zone_file, tokenize

ZONES = pathlib.Path(__file__).parent / "zones"
GOOD = sorted(ZONES.glob("*.zone"))
BAD = sorted((ZONES / "bad").glob("*.zone"))


def origin_of(path: pathlib.Path) -> str:
    return path.name.removesuffix(".zone") + "."


def named_checkzone(path: pathlib.Path) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("named-checkzone")
    if tool is None:
        pytest.skip("needs named-checkzone on PATH (Debian package bind9-utils); CI installs it")
    return subprocess.run(
        [tool, "-D", "-o", "-", origin_of(path), str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=path.parent,
    )


def canonical(owner: wire.Name, ttl: int, rtype: int, rdata: bytes) -> str:
    return (
        f"{wire.name_to_text(wire.name_lower(owner))} {ttl} IN {wire.type_to_text(rtype)} "
        f"\\# {len(rdata)} {rdata.hex()}"
    )


def ours(zone: Zone) -> set[str]:
    return {
        canonical(rrset.name, rrset.ttl, rrset.rtype, rdata)
        for rrset in zone.rrsets()
        for rdata in rrset.rdatas
    }


def bind_dump(text: str) -> set[str]:
    """BIND's ``-D`` dump (one record a line: owner, TTL, class, type, rdata) normalised."""
    lines = set()
    for line in text.splitlines():
        fields = line.split(None, 4)
        if len(fields) < 4 or not fields[1].isascii() or not fields[1].isdecimal():
            continue  # the "loaded serial" and warning lines
        owner, ttl, rclass, rtype_text = fields[:4]
        assert rclass == "IN", line
        rtype = wire.type_from_text(rtype_text)
        tokens = [
            t for entry in tokenize(fields[4] if len(fields) > 4 else "") for t in entry.tokens
        ]
        rdata = encode_rdata(rtype, tokens, wire.ROOT)
        lines.add(canonical(wire.name_from_text(owner), int(ttl), rtype, rdata))
    return lines


@pytest.mark.parametrize("path", GOOD, ids=[p.name for p in GOOD])
def test_a_zone_bind_loads_loads_with_the_same_records(path: pathlib.Path) -> None:
    bind = named_checkzone(path)
    assert bind.returncode == 0, (
        f"named-checkzone refuses {path.name}: {bind.stdout[-500:]}{bind.stderr[-500:]}"
    )
    theirs = bind_dump(bind.stdout)
    mine = ours(load_zone_file(str(path), origin_of(path)))
    assert sorted(mine - theirs) == [] and sorted(theirs - mine) == []
    assert len(mine) > 3


@pytest.mark.parametrize("path", BAD, ids=[p.name for p in BAD])
def test_a_zone_bind_refuses_is_refused(path: pathlib.Path) -> None:
    bind = named_checkzone(path)
    assert bind.returncode != 0, f"named-checkzone loads {path.name}: move it out of bad/"
    with pytest.raises(ZoneError) as caught:
        load_zone_file(str(path), origin_of(path))
    assert caught.value.filename.endswith(".zone") and caught.value.line > 0
