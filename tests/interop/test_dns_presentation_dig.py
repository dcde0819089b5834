"""``python -m dns query`` prints every record type as dig prints it (issue 17 item 1).

The corpus zones hold every type in common use (A to SVCB/HTTPS, the DNSSEC types, LOC,
CERT, CSYNC, ZONEMD, unknown types in RFC 3597 form). NSD serves those it loads (so the wire
bytes are its own); our server serves the two NSD 4.6 refuses (SvcParams it cannot read,
BIND's algorithm mnemonics), so dig reads the bytes our loader wrote. The same transfer and
the same queries go through dig and through our CLI, and the record lines must be the same
(whitespace between fields aside). Needs nsd and dig; skipped otherwise.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from dns import wire
from dns.query_cli import main
from dns.zone import load_zone_file
from tests.conftest import need_tool
from tests.peers import free_port, run_nsd, stop, wait_until_answering

pytestmark = pytest.mark.interop

ZONES = Path(__file__).parent.parent / "dns" / "zones"
NSD_ORIGINS = ["presentation.test.", "every-type.test."]
OUR_ORIGINS = ["svcb.test.", "dnssec-and-more.test."]


def _zone_conf(scratch: str) -> str:
    return "".join(
        f'zone:\n    name: {origin}\n    zonefile: "{ZONES / (origin + "zone")}"\n'
        "    provide-xfr: 127.0.0.1 NOKEY\n"
        for origin in NSD_ORIGINS
    )


@pytest.fixture(scope="module")
def nsd_port() -> Iterator[int]:
    need_tool("dig")
    with run_nsd(zone_conf=_zone_conf) as nsd:
        yield nsd.port


@pytest.fixture(scope="module")
def our_port() -> Iterator[int]:
    need_tool("dig")
    port = free_port()
    files = [str(ZONES / (origin + "zone")) for origin in OUR_ORIGINS]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dns",
            "serve",
            "--port",
            str(port),
            "--allow-axfr",
            "127.0.0.1/32",
            *files,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_answering(port, proc, zone=OUR_ORIGINS[0])
        yield port
    finally:
        stop(proc)


def records(text: str) -> list[str]:
    """The record lines of dig-style output, fields separated by one space."""
    return [
        re.sub(r"\s+", " ", line.strip())
        for line in text.splitlines()
        if line.strip() and not line.startswith(";")
    ]


def dig(*args: str) -> str:
    out = subprocess.run(
        ["dig", *args], capture_output=True, text=True, timeout=30, check=True
    ).stdout
    # BIND 9.18 predates RFC 9461's name for SvcParamKey 7; newer dig prints "dohpath".
    return out.replace(" key7=", " dohpath=")


@pytest.mark.parametrize("origin", NSD_ORIGINS + OUR_ORIGINS)
def test_a_transfer_prints_as_dig_prints_it(
    origin: str, request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]
) -> None:
    port = str(request.getfixturevalue("nsd_port" if origin in NSD_ORIGINS else "our_port"))
    assert main([origin, "AXFR", "@127.0.0.1", "-p", port]) == 0
    ours = records(capsys.readouterr().out)
    theirs = records(dig("+noall", "+answer", "AXFR", origin, "@127.0.0.1", "-p", port))
    assert len(theirs) > 10
    assert sorted(ours) == sorted(theirs)


def test_each_rrset_prints_as_dig_prints_it(
    nsd_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    """A query for each owner and type of the zone (the answer path, not the transfer's):
    ``+short`` output as dig's."""
    zone = load_zone_file(str(ZONES / "presentation.test.zone"))
    asked = sorted(
        {
            (wire.name_to_text(rrset.name), wire.type_to_text(rrset.rtype))
            for rrset in zone.rrsets()
            # NS below the apex is a referral; NSEC3 owners are not in the answer tree.
            if (rrset.rtype != wire.TYPE_NS or rrset.name == zone.origin)
            and rrset.rtype != wire.TYPE_NSEC3
        }
    )
    assert len(asked) > 35
    for name, rtype in asked:
        assert main([name, rtype, "@127.0.0.1", "-p", str(nsd_port), "+short", "+norec"]) == 0
        ours = records(capsys.readouterr().out)
        theirs = records(dig("+short", "+norec", name, rtype, "@127.0.0.1", "-p", str(nsd_port)))
        assert ours == theirs, (name, rtype)
        assert theirs, (name, rtype)
