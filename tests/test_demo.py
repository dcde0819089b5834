"""`make demo` runs examples/demo.py: its --check mode serves the ocaml.test zone over DNS and
the virtual-hosted sites over HTTP, resolves every site with our resolver against our server,
fetches each with our client, and exits. Run on every backend (mirage over its in-memory
switch), as the seed's host switched between UNIX and microkernel."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import BACKEND_NAMES

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("backend_name", BACKEND_NAMES)
def test_demo_serves_the_zone_and_the_sites(backend_name: str) -> None:
    command = [
        sys.executable,
        str(ROOT / "examples" / "demo.py"),
        "--check",
        "--http-port",
        "0",
        "--dns-port",
        "0",
        "--backend",
        backend_name,
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "self-check passed" in result.stdout
    for site in ("www.ocaml.test", "opam.ocaml.test", "lists.ocaml.test"):
        assert re.search(
            rf"^\s+{re.escape(site)}\s+-> 127\.[0-9.]+\s+HTTP 200, \d+ bytes$",
            result.stdout,
            re.MULTILINE,
        ), result.stdout
