"""``cohttp run --timeout-graceful-shutdown``: after SIGTERM a request in flight gets that
long, then is cut; the lifespan shutdown runs and the process exits 0, on asyncio and
trio."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
APP = """
import os
import anyio

async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            kind = (await receive())["type"].split(".")[1]
            await send({"type": f"lifespan.{kind}.complete"})
            if kind == "shutdown":
                with open(os.environ["LIFESPAN_LOG"], "a") as log:
                    log.write("shutdown\\n")
                return
    with open(os.environ["LIFESPAN_LOG"], "a") as log:
        log.write("request\\n")
    await anyio.sleep(60)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"too late"})
"""


@pytest.mark.timeout(60)
@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_grace_then_cut(tmp_path: Path, backend: str) -> None:
    (tmp_path / "graceapp.py").write_text(APP)
    journal = tmp_path / "lifespan.log"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    argv = [sys.executable, "-m", "cohttp", "run", "graceapp:app", "--port", str(port)]
    argv += ["--backend", backend, "--timeout-graceful-shutdown", "1"]
    env = {
        **os.environ,
        "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}",
        "LIFESPAN_LOG": str(journal),
    }
    proc = subprocess.Popen(argv, cwd=tmp_path, env=env, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                client = socket.create_connection(("127.0.0.1", port), timeout=1)
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
        with client:
            client.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            while not journal.exists() or "request" not in journal.read_text():
                assert time.monotonic() < deadline
                time.sleep(0.05)
            start = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            client.settimeout(20)
            try:
                assert client.recv(100) == b""  # cut (closed or reset), not answered
            except ConnectionResetError:
                pass
            assert proc.wait(timeout=20) == 0
            took = time.monotonic() - start
        assert 0.9 <= took < 10, took  # the grace, then out (10: a loaded machine)
        assert journal.read_text() == "request\nshutdown\n"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
