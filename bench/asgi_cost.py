"""Cost per request: the same ASGI apps under our server and uvicorn, in instructions.

bench/asgi.py measures requests per second, which on a shared machine swings from slice to
slice; this counts what does not: the user-space instructions a server process executes
per request (valgrind's cachegrind, no cache simulation), over real loopback connections.
Each server runs under valgrind twice, for ``--requests`` and for five times as many
(10 keep-alive connections, one request at a time on each, sent by this process outside
valgrind); the difference divided by the extra requests cancels start-up and shutdown.
``app alone`` is the floor: the app called in a loop with a prepared scope, ``receive``
and ``send`` (no server, no sockets), counted the same way. A server's overhead is its
count minus the floor: what it could save at most.

Not counted: the kernel (our server sends a response in one ``send``; uvicorn writes its
head and body in two), and how fast each instruction runs. So these ratios are not the
throughput ratios of bench/asgi.py; they tell where a server's own time goes.

    .venv/bin/python bench/asgi_cost.py                    # all scenarios
    .venv/bin/python bench/asgi_cost.py --only fastapi-post --requests 50

Needs valgrind (apt-get install valgrind) and the ``bench`` and ``test`` extras.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

import asgi as bench_asgi  # noqa: E402 - the apps and the servers of bench/asgi.py
import http_server as hs  # noqa: E402

# scenario: (app, method, path, body)
SCENARIOS: dict[str, tuple[str, str, str, bytes]] = {
    "raw": ("raw", "GET", "/", b""),
    "fastapi-get": ("fastapi", "GET", "/json", b""),
    "fastapi-post": ("fastapi", "POST", "/items", bench_asgi.PAYLOAD.encode()),
}
SERVERS = ("ours-asyncio", "uvicorn")
CONNECTIONS = 10
_REFS = re.compile(r"I\s+refs:\s+([0-9,]{1,30})").search


def _request(scenario: str, port: int) -> bytes:
    _, method, path, body = SCENARIOS[scenario]
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
    if body:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return (head + "\r\n").encode() + body


# -- in the measured process -----------------------------------------------------------


def serve(name: str, port: int) -> None:
    """bench/asgi.py's server ``name`` (``server:app``), ending normally on SIGTERM (valgrind
    reports only then; uvicorn installs its own handler, which shuts down cleanly)."""
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    bench_asgi.serve(name, port)


def floor(scenario: str, count: int) -> None:
    """Call the scenario's app ``count`` times with no server: a scope as a server gives,
    a ``receive`` returning the whole body, a ``send`` keeping nothing."""
    app_name, method, path, body = SCENARIOS[scenario]
    app = bench_asgi.raw if app_name == "raw" else bench_asgi.make_fastapi()
    headers = [(b"host", b"127.0.0.1:8000")]
    if body:
        headers += [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    prototype = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
    }
    message = {"type": "http.request", "body": body, "more_body": False}
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return message

    async def send(out: dict[str, Any]) -> None:
        if out["type"] == "http.response.start":
            statuses.append(out["status"])

    async def main() -> None:
        for _ in range(count):
            scope = prototype.copy()
            scope["headers"] = headers.copy()
            scope["state"] = {}
            await app(scope, receive, send)

    asyncio.run(main())
    if statuses != [200] * count:
        raise SystemExit(f"the app answered {sorted(set(statuses))}, not only 200")


# -- the driver ------------------------------------------------------------------------


async def _load(port: int, request: bytes, count: int) -> None:
    """``count`` requests on each of CONNECTIONS connections, one at a time; each answer
    must be a 200 with a Content-Length body."""

    async def one() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for _ in range(count):
            writer.write(request)
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 120)
            if not head.startswith(b"HTTP/1.1 200 "):
                raise RuntimeError(f"not a 200: {head[:80]!r}")
            at = head.lower().find(b"\r\ncontent-length:")
            end = head.find(b"\r\n", at + 2)
            if at < 0 or end - at > 40:
                raise RuntimeError(f"no Content-Length: {head[:200]!r}")
            await asyncio.wait_for(reader.readexactly(int(head[at + 17 : end])), 120)
        writer.close()

    await asyncio.gather(*(one() for _ in range(CONNECTIONS)))


def _counted(argv: list[str], port: int | None, request: bytes, count: int) -> int:
    """Instructions valgrind counts for ``argv`` (a server on ``port`` given ``count``
    requests per connection, then SIGTERM; or a program that ends by itself)."""
    with tempfile.NamedTemporaryFile(suffix=".log") as log:
        cmd = [
            "valgrind",
            "--tool=cachegrind",
            "--cache-sim=no",
            "--cachegrind-out-file=/dev/null",
            f"--log-file={log.name}",
            *argv,
        ]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            if port is not None:
                hs._wait_ready(port, proc, 300.0)
                asyncio.run(_load(port, request, count))
                proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=600)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        with open(log.name) as f:
            m = _REFS(f.read())
    if m is None:
        raise RuntimeError(f"valgrind reported no count for {' '.join(argv)}")
    return int(m.group(1).replace(",", ""))


def _per_request(name: str, scenario: str, requests: int) -> float:
    """Instructions per request of ``name`` (a server, or ``floor``) in ``scenario``."""
    totals = []
    for count in (requests, requests * 5):
        if name == "floor":
            argv = [sys.executable, __file__, "--floor", scenario, "--count", str(count)]
            totals.append(_counted(argv, None, b"", count))
        else:
            port = hs._free_port()
            server = f"{name}:{SCENARIOS[scenario][0]}"
            argv = [sys.executable, __file__, "--serve", server, "--port", str(port)]
            totals.append(_counted(argv, port, _request(scenario, port), count))
    per_run = 1 if name == "floor" else CONNECTIONS
    return (totals[1] - totals[0]) / (requests * 4 * per_run)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--serve", help=argparse.SUPPRESS)
    p.add_argument("--port", type=int, help=argparse.SUPPRESS)
    p.add_argument("--floor", help=argparse.SUPPRESS)
    p.add_argument("--count", type=int, help=argparse.SUPPRESS)
    p.add_argument("--only", help="comma-separated subset of: " + ", ".join(SCENARIOS))
    p.add_argument("--requests", type=int, default=20, help="per connection, first run")
    args = p.parse_args()
    if args.serve:
        serve(args.serve, args.port)
        return 0
    if args.floor:
        floor(args.floor, args.count)
        return 0
    if shutil.which("valgrind") is None:
        print("needs valgrind (apt-get install valgrind)", file=sys.stderr)
        return 2
    servers = [s for s in SERVERS if all(importlib.util.find_spec(m) for m in bench_asgi.NEEDS[s])]
    for scenario in args.only.split(",") if args.only else SCENARIOS:
        if scenario not in SCENARIOS:
            raise SystemExit(f"unknown scenario {scenario!r}")
        if SCENARIOS[scenario][0] == "fastapi" and importlib.util.find_spec("fastapi") is None:
            print(f"skip {scenario}: fastapi not installed (pip install -e '.[test]')")
            continue
        print(f"\n== {scenario}: instructions per request (user space, valgrind)", flush=True)
        base = _per_request("floor", scenario, args.requests * CONNECTIONS)
        print(f"  {'app alone':<14} {base:>10,.0f}", flush=True)
        counts = {}
        for name in servers:
            counts[name] = _per_request(name, scenario, args.requests)
            print(
                f"  {name:<14} {counts[name]:>10,.0f}  (+{counts[name] - base:,.0f} over the app)",
                flush=True,
            )
        if len(counts) == 2:
            ours, peer = counts["ours-asyncio"], counts["uvicorn"]
            print(f"  uvicorn / ours-asyncio: {peer / ours:.3f}x the instructions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
