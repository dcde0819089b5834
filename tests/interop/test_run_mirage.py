"""``cohttp run --backend mirage``: an ASGI app on our own TCP/IP stack over a TAP device
in a namespace the test makes (see test_mirage_tap), curl from the kernel's side; SIGTERM
drains and runs the lifespan shutdown there too. Needs root, iproute2 and curl."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest

from tests.conftest import need_tool
from tests.interop.test_mirage_tap import REPO, Namespace, _stop, ns  # noqa: F401 - fixture

pytestmark = [pytest.mark.interop, pytest.mark.root]

APP = """
import os

async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            kind = (await receive())["type"].split(".")[1]
            await send({"type": f"lifespan.{kind}.complete"})
            if kind == "shutdown":
                with open(os.environ["LIFESPAN_LOG"], "a") as log:
                    log.write("shutdown\\n")
                return
    body = f"{scope['client'][0]} {scope['server'][0]}:{scope['server'][1]}".encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})
"""


def test_run_on_mirage(ns: Namespace, tmp_path: Path) -> None:  # noqa: F811 - the fixture
    need_tool("curl")
    (tmp_path / "mirageapp.py").write_text(APP)
    journal = tmp_path / "lifespan.log"
    proc = ns.start(
        "env",
        f"PYTHONPATH={tmp_path}{os.pathsep}{REPO}",
        f"LIFESPAN_LOG={journal}",
        sys.executable,
        "-m",
        "cohttp",
        "run",
        "mirageapp:app",
        "--backend",
        "mirage",
        "--tap",
        "tap0",
        "--ip",
        f"{ns.stack_ip}/24",
        "--host",
        ns.stack_ip,
        "--port",
        "80",
        ready="cohttp running on",
    )
    try:
        out = ns.run("curl", "-sS", "--max-time", "30", f"http://{ns.stack_ip}/", timeout=60)
        assert out.stdout.decode() == f"{ns.kernel_ip} {ns.stack_ip}:80"
        os.killpg(proc.pid, signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        assert journal.read_text() == "shutdown\n"
    finally:
        _stop(proc)
