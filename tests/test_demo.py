"""`make demo` runs examples/demo.py: its --check mode serves the ocaml.test zone over DNS and
the virtual-hosted sites over HTTP, resolves every site with our resolver against our server,
fetches each with our client, and exits. Run on every backend (mirage over its in-memory
switch), as the seed's host switched between UNIX and microkernel. Without --check it
prints commands to try (dig, curl, our own CLIs), and each must run as printed."""

from __future__ import annotations

import os
import queue
import re
import shlex
import shutil
import subprocess
import sys
import threading
import time
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


def _commands_printed(proc: subprocess.Popen[str], deadline: float) -> list[str]:
    """The commands the running demo printed (indented lines that start with a program),
    read until its "Ctrl-C to stop." line."""
    lines: queue.Queue[str] = queue.Queue()
    assert proc.stdout is not None
    stdout = proc.stdout
    threading.Thread(target=lambda: [lines.put(line) for line in stdout], daemon=True).start()
    printed: list[str] = []
    while True:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise AssertionError(f"the demo did not finish starting: {printed}") from None
        printed.append(line)
        if line.startswith("Ctrl-C to stop."):
            break
    return [line.strip() for line in printed if re.match(r"  (dig|curl|python\S*|/\S+) ", line)]


def test_demo_prints_commands_that_run_as_printed(tmp_path: Path) -> None:
    """`make demo` prints what to try; each command, pasted into a fresh shell (here
    ``bash -c`` from another directory), runs and gets the answer it promises."""
    demo = [sys.executable, str(ROOT / "examples" / "demo.py")]
    proc = subprocess.Popen(
        [*demo, "--http-port", "0", "--dns-port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
    )
    try:
        commands = _commands_printed(proc, time.monotonic() + 60)
        assert len(commands) >= 9, commands
        ran = 0
        for command in commands:
            program = shlex.split(command)[0]
            if shutil.which(program) is None:
                continue  # dig or curl not installed here (Debian: bind9-dnsutils, curl)
            result = subprocess.run(
                ["bash", "-c", command],
                capture_output=True,
                text=True,
                timeout=60,
                cwd=tmp_path,
                env={"PATH": os.defpath, "HOME": str(tmp_path)},
            )
            assert result.returncode == 0, (command, result.stdout, result.stderr)
            if " -m cohttp get " in command or command.startswith("curl "):
                assert "<html" in result.stdout.lower(), (command, result.stdout)
            elif "nothere." in command:
                assert "status: NXDOMAIN" in result.stdout, (command, result.stdout)
            else:
                assert "status: NOERROR" in result.stdout, (command, result.stdout)
                assert re.search(r"^;; ANSWER SECTION:$", result.stdout, re.MULTILINE)
            ran += 1
        assert ran >= 2  # at least our own two clients, whatever is installed
    finally:
        proc.terminate()
        proc.wait(10)
