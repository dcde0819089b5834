"""A listener out of file descriptors keeps serving once they come back, and says so in
a few log lines, not twenty a second (backends._common.AcceptWarning).

The server runs in a child process whose descriptor limit is low, so the flood that
exhausts it cannot disturb the test process itself."""

from __future__ import annotations

import resource
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from backends._common import AcceptWarning

ROOT = Path(__file__).resolve().parents[2]

SERVER = """
import sys
import backends

async def main(net):
    listener = await net.tcp_listen("127.0.0.1", 0)
    print(listener.address[1], flush=True)

    async def echo(flow):
        async with flow:
            await flow.write(await flow.read(100))

    await listener.serve(echo)

backends.run(main, backend=sys.argv[1])
"""

LIMIT = 48
"""The child's descriptor limit: the interpreter and its loop take about 15 of them."""


def _low_limit() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (LIMIT, LIMIT))


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_a_listener_out_of_descriptors_recovers_and_logs_a_little(backend: str) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", SERVER, backend],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_low_limit,
    )
    held: list[socket.socket] = []
    try:
        assert child.stdout is not None
        port = int(child.stdout.readline())
        # More connections than the child has descriptors: the kernel completes them all
        # (the listen backlog), the child accepts until EMFILE and then backs off.
        for _ in range(LIMIT + 20):
            held.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        time.sleep(1.5)  # ~30 failed retries at 50 ms each
        for s in held:
            s.close()
        held.clear()
        # Served again once descriptors are free (the closed ones are reaped as EOFs).
        deadline = time.monotonic() + 10
        while True:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                s.sendall(b"ping")
                s.settimeout(5)
                try:
                    if s.recv(100) == b"ping":
                        break
                except (TimeoutError, ConnectionResetError):
                    pass
            assert time.monotonic() < deadline, "the listener never served again"
            time.sleep(0.1)
    finally:
        for s in held:
            s.close()
        child.terminate()
        _, err = child.communicate(timeout=10)
    warnings = [line for line in err.splitlines() if "retrying shortly" in line]
    assert warnings, err[-2000:]
    assert "Too many open files" in warnings[0]
    assert len(warnings) <= 2, warnings  # not one per 50 ms retry


def test_the_warning_counts_the_failures_it_did_not_log(caplog: pytest.LogCaptureFixture) -> None:
    warning = AcceptWarning()
    error = OSError(24, "Too many open files")
    with caplog.at_level("WARNING", logger="backends"):
        for _ in range(5):
            warning.failed(("127.0.0.1", 80), error)
        warning._next = 0.0  # the quiet interval has passed
        warning.failed(("127.0.0.1", 80), error)
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "accept on ('127.0.0.1', 80): Too many open files; retrying shortly",
        "accept on ('127.0.0.1', 80): Too many open files; retrying shortly"
        " (4 more failures since the last warning)",
    ]
