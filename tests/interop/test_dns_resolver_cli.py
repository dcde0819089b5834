"""``python -m dns query`` against NSD, its sections compared line by line with dig's."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from collections.abc import Iterator

import pytest

from dns.query_cli import main
from tests.conftest import need_tool
from tests.interop.test_dns_resolver_nsd import ZONES
from tests.peers import run_nsd

pytestmark = pytest.mark.interop


@pytest.fixture(scope="module")
def nsd_port() -> Iterator[int]:
    with run_nsd(ZONES) as nsd:
        yield nsd.port


def sections(text: str) -> dict[str, list[str]]:
    """The header status/flags and the record sections of dig-style output."""
    out: dict[str, list[str]] = {}
    current: str | None = None
    for line in text.splitlines():
        m = re.match(r";; (\w+) SECTION:", line)
        if m:
            current = m.group(1)
            out[current] = []
            continue
        if not line.strip():
            current = None
            continue
        if current is not None:
            out[current].append(re.sub(r"\s+", " ", line.strip()))
        if line.startswith(";; ->>HEADER<<-"):
            out["STATUS"] = [line.split("status: ")[1].split(",")[0]]
        if line.startswith(";; flags:"):
            out["FLAGS"] = [line.split(";")[2]]  # "flags: qr aa rd" without the id
    return out


QUERIES = [
    ["www.example.test"],
    ["alias2.example.test", "A"],
    ["nope.example.test"],
    ["v6only.example.test", "A"],
    ["mail.example.test", "MX"],
    ["txt.example.test", "TXT"],
    ["_sip._udp.example.test", "SRV"],
    ["caa.example.test", "CAA"],
    ["example.test", "SOA", "+norec"],
    ["big.example.test", "TXT", "+tcp"],
    ["-x", "192.0.2.10"],
]


@pytest.mark.parametrize("args", QUERIES, ids=lambda a: " ".join(a))
def test_sections_match_dig(
    args: list[str], nsd_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    need_tool("dig")
    common = ["@127.0.0.1", "-p", str(nsd_port)]
    assert main([*args, *common]) == 0
    ours = capsys.readouterr().out
    dig_args = [a if a != "+tcp" else "+vc" for a in args]
    theirs = subprocess.run(
        ["dig", *dig_args, *common, "+nocookie", "+edns=0", "+bufsize=1232"],
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    ).stdout
    ours_s, theirs_s = sections(ours), sections(theirs)
    assert ours_s == theirs_s
    assert "ANSWER" in ours_s or ours_s["STATUS"] != ["NOERROR"] or "AUTHORITY" in ours_s


def test_short_output(nsd_port: int, capsys: pytest.CaptureFixture[str]) -> None:
    need_tool("dig")
    common = ["@127.0.0.1", "-p", str(nsd_port)]
    for args in (["alias2.example.test", "+short"], ["mail.example.test", "MX", "+short"]):
        assert main([*args, *common]) == 0
        ours = capsys.readouterr().out
        theirs = subprocess.run(
            ["dig", *args, *common], capture_output=True, text=True, timeout=10, check=True
        ).stdout
        assert sorted(ours.splitlines()) == sorted(theirs.splitlines())


def test_module_entry_point(nsd_port: int) -> None:
    """``python -m dns query`` reaches query_cli.main (once dns/__main__.py dispatches)."""
    if importlib.util.find_spec("dns.__main__") is None:
        pytest.skip("dns/__main__.py is not on main yet")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "dns",
            "query",
            "www.example.test",
            "AAAA",
            "@127.0.0.1",
            "-p",
            str(nsd_port),
            "+short",
            "--backend",
            "trio",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "2001:db8::10\n"
