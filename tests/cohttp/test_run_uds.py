"""``cohttp run``/``cohttp serve`` on a Unix socket (``--uds``), with one process or
workers, on asyncio and trio; curl (``--unix-socket``) as the client, or a raw socket."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
APP = """
import json
import os

async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            kind = message["type"].split(".")[1]
            await send({"type": f"lifespan.{kind}.complete"})
            if kind == "shutdown":
                with open(os.environ["LIFESPAN_LOG"], "a") as log:
                    log.write(f"{os.getpid()} shutdown\\n")
                return
    body = json.dumps([os.getpid(), scope["client"], scope["server"]]).encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})
"""


def _get(path: str) -> bytes:
    """GET / over the Unix socket ``path``: curl if installed, else a raw socket."""
    if shutil.which("curl"):
        r = subprocess.run(
            ["curl", "-sS", "--max-time", "10", "--unix-socket", path, "http://local/"],
            capture_output=True,
            timeout=20,
        )
        assert r.returncode == 0, r.stderr
        return r.stdout
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(path)
        s.sendall(b"GET / HTTP/1.1\r\nHost: local\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 "), head
    return body


@contextlib.contextmanager
def serving(argv: list[str], path: str, tmp: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Start ``argv`` with the test app importable; wait for the socket to answer."""
    (tmp / "udsapp.py").write_text(APP)
    log = tempfile.TemporaryFile()  # noqa: SIM115 - closed below
    env = {
        **os.environ,
        "PYTHONPATH": f"{tmp}{os.pathsep}{ROOT}",
        "LIFESPAN_LOG": str(tmp / "lifespan.log"),
    }
    proc = subprocess.Popen(argv, cwd=tmp, env=env, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 60
        while True:
            log.seek(0)
            assert proc.poll() is None, log.read().decode(errors="replace")
            with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX) as s:
                s.connect(path)
                break
            assert time.monotonic() < deadline, "no Unix socket in 60 s"
            time.sleep(0.1)
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()


def _run(path: str, *flags: str) -> list[str]:
    return [sys.executable, "-m", "cohttp", "run", "udsapp:app", "--uds", path, *flags]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("backend", ["asyncio", "trio"])
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_run_on_a_unix_socket(tmp_path: Path, backend: str, signum: int) -> None:
    """As uvicorn: mode 0666, the scope's client and server None; a stale socket file is
    replaced; SIGTERM or SIGINT runs the lifespan shutdown and removes the file."""
    path = str(tmp_path / "app.sock")
    with socket.socket(socket.AF_UNIX) as stale:
        stale.bind(path)  # left by a server that died
    with serving(_run(path, "--backend", backend), path, tmp_path) as proc:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o666
        pid, client, server = json.loads(_get(path))
        assert (pid, client, server) == (proc.pid, None, None)
        proc.send_signal(signum)
        assert proc.wait(timeout=40) == 0
    assert not os.path.exists(path)
    assert (tmp_path / "lifespan.log").read_text() == f"{proc.pid} shutdown\n"


@pytest.mark.timeout(180)
def test_run_workers_on_a_unix_socket(tmp_path: Path) -> None:
    """--workers 2 --uds: the supervisor binds, two workers answer on the one socket; the
    file goes when the supervisor stops."""
    path = str(tmp_path / "app.sock")
    with serving(_run(path, "--workers", "2"), path, tmp_path) as supervisor:
        pids: set[int] = set()
        for _ in range(400):
            pids.add(json.loads(_get(path))[0])
            if len(pids) == 2:
                break
        assert len(pids) == 2 and supervisor.pid not in pids
        supervisor.send_signal(signal.SIGTERM)
        assert supervisor.wait(timeout=60) == 0
    assert not os.path.exists(path)
    stopped = (tmp_path / "lifespan.log").read_text().split()
    assert {int(p) for p in stopped[::2]} == pids


@pytest.mark.timeout(60)
def test_serve_on_a_unix_socket(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_bytes(b"over a unix socket\n")
    path = str(tmp_path / "files.sock")
    argv = [sys.executable, "-m", "cohttp", "serve", str(tmp_path), "--uds", path, "--quiet"]
    with serving(argv, path, tmp_path) as proc:
        assert _get(path) == b"over a unix socket\n"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=40) == 0
    assert not os.path.exists(path)


@pytest.mark.parametrize("command", [["run", "udsapp:app"], ["serve", "."]])
def test_unix_socket_mistakes_are_one_line(tmp_path: Path, command: list[str]) -> None:
    (tmp_path / "udsapp.py").write_text(APP)
    regular = tmp_path / "regular"
    regular.write_text("not a socket")
    cases: list[tuple[list[str], int, str]] = [
        (["--uds", str(regular)], 1, "not a socket"),
        (["--uds", str(tmp_path / "s"), "--backend", "mirage"], 2, "kernel backend"),
        (["--uds", str(tmp_path / "s"), "--fd", "3"], 2, "give one"),
    ]
    for flags, code, message in cases:
        r = subprocess.run(
            [sys.executable, "-m", "cohttp", *command, *flags],
            cwd=tmp_path,
            env={
                **os.environ,
                "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}",
                "LIFESPAN_LOG": str(tmp_path / "lifespan.log"),
            },
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert r.returncode == code and r.stderr.count("\n") == 1, (flags, r.stderr)
        assert message in r.stderr, (flags, r.stderr)
    assert regular.read_text() == "not a socket"
