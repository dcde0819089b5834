"""Under load: wrk with 1000 connections gets only 2xx and no socket errors, while a client
that stalls in the middle of its request head is cut off at the deadline.

Runs the server in the test's own loop and wrk (the Debian package) in a worker thread
(on mirage inside the namespace whose TAP device the server's stack owns). Keep it short: it is a correctness test, not a benchmark.
"""

from __future__ import annotations

import re
import subprocess

import pytest

import backends
from cohttp import Request, Response, Server
from tests.cohttp.helpers import RawClient, running
from tests.conftest import need_tool
from tests.peers import KernelLink

pytestmark = pytest.mark.interop


async def hello(request: Request) -> Response:
    return Response(200, b"Hello, world!", [("content-type", "text/plain")])


async def test_wrk_1000_connections_and_a_slowloris(
    backend: backends.Backend, kernel: KernelLink
) -> None:
    need_tool("wrk")
    # The header deadline runs from the accept. Our server on the mirage stack over a TAP
    # device serves about 1.5k requests/s here (the kernel's loopback: ~10k), so with 1000
    # connections opened at once some first requests wait in its queue for over a second
    # and would be cut (408, wrk's "read" errors): there the deadline is 3 s.
    deadline = 3.0 if backend.name == "mirage" else 1.0
    server = Server(hello, header_timeout=deadline, access_log=False)
    async with running(backend, server, kernel.host) as (host, port):
        slow = await RawClient.connect(backend, (host, port))
        await slow.send(b"GET / HTTP/1.1\r\nHost: t\r\nX-Stalled: ")
        result = {}

        async def load() -> None:
            proc = await backend.run_in_thread(
                lambda: subprocess.run(
                    kernel.argv(
                        *("wrk", "-t2", "-c1000", "-d3s", "--timeout", "10s"),
                        f"http://{host}:{port}/",
                    ),
                    capture_output=True,
                    text=True,
                    timeout=60,
                )
            )
            result["out"] = proc.stdout + proc.stderr

        async with backend.task_group() as tg:
            tg.start_soon(load)
            start = backend.now()
            with backend.fail_after(10):
                head, _ = await slow.response()
            cut_after = backend.now() - start
            assert head.status == 408 and await slow.at_eof()
        out = result["out"]
        requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
        assert requests > 1000, out
        assert "Socket errors" not in out, out
        assert "Non-2xx" not in out, out
        # Cut at the deadline, give or take the timer's tick and a loaded machine.
        assert 0.8 * deadline <= cut_after < deadline + 4, cut_after
        assert server.requests_served >= requests
