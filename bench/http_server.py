"""Benchmark: our HTTP server against uvicorn, aiohttp and hypercorn, in one run.

Every server answers ``GET /`` with the same 13-byte body (``Hello, world!``, text/plain)
and no access log. All of them are started at once, each in its own process pinned to one
core (``taskset -c 0``), and stay up for the whole run; wrk, pinned to the other core
(``taskset -c 1``), loads one at a time for a short slice (``--duration``, 1 s), going
round the servers A B C ... then C B A ..., ``--rounds`` times.

Why slices and medians: on this kind of shared virtual machine the core's speed swings by
up to 1.7x within seconds (a pure-Python loop alone shows it), so one long measurement per
server compares machine states, not servers. A ratio is taken for each round between two
servers measured back to back, and the median of those ratios is reported with its
quartiles; the per-server rates are medians too. Requests per CPU-second of the server
process (its CPU time read from /proc) are printed beside them.

    .venv/bin/python bench/http_server.py                  # all servers, 10 rounds of 1 s
    .venv/bin/python bench/http_server.py --rounds 20 --only ours-asyncio,uvicorn
    .venv/bin/python bench/http_server.py --duration 2 --connections 100
    .venv/bin/python bench/http_server.py --only ours-asyncio,uvicorn --baseline /tmp/old

``--baseline DIR`` adds ``ours-baseline``: ours-asyncio as another checkout (``git archive
main | tar -x -C DIR``) serves it, from its own ``bench/http_server.py``, in the same
alternating rounds, for a before/after ratio that the load on a shared machine does not
skew as two separate runs would.

Peers come from the ``bench`` extra (``pip install -e '.[bench]'``); a missing one is
skipped with a note. Targets (issue 5): ours-asyncio >= 1.5x uvicorn, ours-trio >= 4x
hypercorn-trio.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from typing import Any

BODY = b"Hello, world!"
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

SERVERS: dict[str, tuple[str, ...]] = {
    # name: required importable modules; compared pairs sit next to each other
    "ours-asyncio": (),
    "uvicorn": ("uvicorn", "httptools", "uvloop"),
    "ours-asyncio-uvloop": ("uvloop",),
    "aiohttp": ("aiohttp",),
    "hypercorn-asyncio": ("hypercorn",),
    "ours-trio": (),
    "hypercorn-trio": ("hypercorn",),
}
BASELINES: dict[str, tuple[str, ...]] = {
    # Not HTTP servers: fixed bytes per b"\r\n\r\n" seen, to show the ceilings.
    "baseline-asyncio-protocol": (),  # a bare asyncio.Protocol: the loop's own ceiling
    "baseline-flow-asyncio": (),  # the same through backends' Flow: the adapter's ceiling
    "baseline-flow-trio": (),
}
_FIXED = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 13\r\n\r\n" + BODY


# -- the servers (run in a child process with --serve NAME --port P) --------------------


async def _asgi_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain"), (b"content-length", b"%d" % len(BODY))],
        }
    )
    await send({"type": "http.response.body", "body": BODY})


def serve(name: str, port: int) -> None:
    """Run server ``name`` on 127.0.0.1:``port`` until killed."""
    if name == "baseline-asyncio-protocol":
        import asyncio

        class Fixed(asyncio.Protocol):
            def connection_made(self, transport: Any) -> None:
                self.transport = transport

            def data_received(self, data: bytes) -> None:
                self.transport.write(_FIXED * data.count(b"\r\n\r\n"))

        async def bare() -> None:
            loop = asyncio.get_running_loop()
            server = await loop.create_server(Fixed, "127.0.0.1", port)
            await server.serve_forever()

        asyncio.run(bare())
    elif name.startswith("baseline-flow"):
        sys.path.insert(0, ROOT)
        import backends

        async def fixed(flow: backends.Flow) -> None:
            try:
                while data := await flow.read(65536):
                    await flow.write(_FIXED * data.count(b"\r\n\r\n"))
            except backends.NetworkError:
                pass  # wrk resets its connections at the end

        async def flows(net: backends.Backend) -> None:
            listener = await net.tcp_listen("127.0.0.1", port)
            await listener.serve(fixed)

        backends.run(flows, backend=name.rsplit("-", 1)[1])
    elif name.startswith("ours"):
        sys.path.insert(0, ROOT)
        import backends
        import cohttp

        async def hello(request: cohttp.Request) -> cohttp.Response:
            return cohttp.Response(200, BODY, [("content-type", "text/plain")])

        async def main(net: backends.Backend) -> None:
            server = cohttp.Server(hello, access_log=False)
            await server.serve(net, "127.0.0.1", port)

        backend = "trio" if name == "ours-trio" else "asyncio"
        backends.run(main, backend=backend, uvloop=name.endswith("uvloop"))
    elif name == "uvicorn":
        import uvicorn

        uvicorn.run(
            _asgi_app,
            host="127.0.0.1",
            port=port,
            loop="uvloop",
            http="httptools",
            log_level="warning",
            access_log=False,
            lifespan="off",
        )
    elif name == "aiohttp":
        from aiohttp import web

        async def handle(request: web.Request) -> web.Response:
            return web.Response(body=BODY, content_type="text/plain")

        app = web.Application()
        app.router.add_get("/", handle)
        web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)
    elif name.startswith("hypercorn"):
        from hypercorn.config import Config

        config = Config()
        config.bind = [f"127.0.0.1:{port}"]
        config.accesslog = None
        config.errorlog = None
        if name == "hypercorn-trio":
            import trio
            from hypercorn.trio import serve as trio_serve

            trio.run(trio_serve, _asgi_app, config)
        else:
            import asyncio

            from hypercorn.asyncio import serve as asyncio_serve

            asyncio.run(asyncio_serve(_asgi_app, config))  # type: ignore[arg-type]
    else:
        raise SystemExit(f"unknown server {name!r}")


# -- the driver --------------------------------------------------------------------------


def checkout(path: str, *needs: str) -> str:
    """``--baseline``'s directory as an absolute path, once it holds ``cohttp/`` and
    ``backends/`` (and ``needs``), as a checkout of this project does; else exit with one
    line saying what is missing. Every bench with ``--baseline`` asks it."""
    for part in ("cohttp", "backends", *needs):
        if not os.path.exists(os.path.join(path, part)):
            raise SystemExit(f"--baseline {path}: not a checkout of this project (no {part})")
    return os.path.abspath(path)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(
    port: int,
    proc: subprocess.Popen[bytes],
    probe: Callable[[int], bool],
    timeout: float = 30.0,
    what: str = "server did not answer in time",
) -> None:
    """Poll ``probe(port)`` every 0.1 s until it says the server answers; raise RuntimeError
    if ``proc`` exits or ``timeout`` passes (an OSError from the probe, TLS ones included,
    means not yet). Every bench's readiness check goes through here."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if probe(port):
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(what)


def http_probe(request: bytes, status: bytes, body: bytes) -> Callable[[int], bool]:
    """A probe for :func:`wait_until`: ``request`` answered with ``status`` and ``body``."""

    def probe(port: int) -> bool:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(request)
            data = s.recv(4096)
            return data.startswith(status) and data.endswith(body)

    return probe


def _wait_ready(port: int, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    probe = http_probe(b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n", b"HTTP/1.1 200", BODY)
    wait_until(port, proc, probe, timeout)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu(pid: int) -> float:
    """CPU seconds of ``pid`` and its descendants (nginx works in a child process)."""
    total = _cpu_seconds(pid)
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return total
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as f:
                children = [int(c) for c in f.read().split()]
        except OSError:
            continue
        total += sum(tree_cpu(child) for child in children)
    return total


Launch = tuple[int, list[str], "dict[str, str] | None", "str | None"]
"""What :func:`launch` starts for one server: its port, argv, environment and directory."""


@contextlib.contextmanager
def launch(
    servers: dict[str, Launch],
    core: str,
    ready: Callable[[int, subprocess.Popen[bytes]], None],
    *,
    stdout_to_log: bool = False,
) -> Iterator[dict[str, tuple[int, int]]]:
    """Start every server pinned to ``core``, wait for each with ``ready(port, proc)``
    (a failure quotes the end of that server's stderr), yield name -> (port, pid), and stop
    them all at the end (terminate, then kill after 5 s). Every bench starts its servers
    here."""
    procs: dict[str, tuple[int, subprocess.Popen[bytes], Any]] = {}
    try:
        for name, (port, argv, env, cwd) in servers.items():
            log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in the finally below
            out = log if stdout_to_log else subprocess.DEVNULL
            cmd = ["taskset", "-c", core, *argv]
            proc = subprocess.Popen(cmd, stdout=out, stderr=log, env=env, cwd=cwd)
            procs[name] = (port, proc, log)
        for name, (port, proc, log) in procs.items():
            try:
                ready(port, proc)
            except RuntimeError as exc:
                log.seek(0)
                tail = log.read().decode(errors="replace")[-2000:]
                raise RuntimeError(f"{name}: {exc}\n{tail}") from None
        yield {name: (port, proc.pid) for name, (port, proc, _) in procs.items()}
    finally:
        for _, proc, _log in procs.values():
            proc.terminate()
        for _, proc, log in procs.values():
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()


@contextlib.contextmanager
def _running(
    names: list[str], core: str, baseline: str | None = None
) -> Iterator[dict[str, tuple[int, int]]]:
    """Start every server in ``names`` pinned to ``core`` (``this script --serve NAME --port
    P``; ``ours-baseline`` is ``baseline``'s script serving ours-asyncio); yield name ->
    (port, pid)."""
    servers: dict[str, Launch] = {}
    for name in names:
        port = _free_port()
        script, serve_as = os.path.abspath(__file__), name
        if name == "ours-baseline" and baseline:
            script = os.path.join(baseline, "bench", "http_server.py")
            serve_as = "ours-asyncio"
        argv = [sys.executable, script, "--serve", serve_as, "--port", str(port)]
        servers[name] = (port, argv, None, None)
    with launch(servers, core, _wait_ready) as running:
        yield running


def _wrk(
    port: int,
    core: str,
    connections: int,
    duration: float,
    threads: int,
    path: str = "/",
    script: str | None = None,
) -> dict[str, float]:
    """One wrk slice against ``path`` (``script``: a wrk Lua script, for a POST)."""
    cmd = [
        "taskset",
        "-c",
        core,
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration:g}s",
        "--timeout",
        "10s",
        *(["-s", script] if script else []),
        f"http://127.0.0.1:{port}{path}",
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    errors = 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        errors = sum(int(x) for x in m.groups())
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": rps,
        "requests": total,
        "errors": errors,
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
    }


PAIRS: list[tuple[str, str, float | None]] = [
    # (ours, peer, target ratio)
    ("ours-asyncio", "uvicorn", 1.5),
    ("ours-asyncio-uvloop", "uvicorn", 1.5),
    ("ours-asyncio", "aiohttp", None),
    ("ours-asyncio", "hypercorn-asyncio", None),
    ("ours-trio", "hypercorn-trio", 4.0),
    ("ours-trio", "uvicorn", None),
    ("ours-asyncio", "ours-baseline", None),
    ("ours-asyncio", "baseline-flow-asyncio", None),
    ("baseline-flow-asyncio", "baseline-asyncio-protocol", None),
    ("ours-trio", "baseline-flow-trio", None),
]


def _quartiles(values: list[float]) -> tuple[float, float, float]:
    if len(values) < 2:
        return values[0], values[0], values[0]
    q1, q2, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, q2, q3


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--serve", help=argparse.SUPPRESS)
    p.add_argument("--port", type=int, help=argparse.SUPPRESS)
    p.add_argument("--duration", type=float, default=1.0, help="seconds per slice (wrk -d)")
    p.add_argument("--rounds", type=int, default=10, help="slices per server")
    p.add_argument("--connections", type=int, default=50, help="wrk -c")
    p.add_argument("--threads", type=int, default=1, help="wrk -t")
    p.add_argument("--only", help="comma-separated subset of: " + ", ".join(SERVERS))
    p.add_argument(
        "--baselines",
        action="store_true",
        help="also measure " + ", ".join(BASELINES) + " (not HTTP servers)",
    )
    p.add_argument("--baseline", help="a checkout of another revision: adds ours-baseline")
    p.add_argument("--server-core", default="0")
    p.add_argument("--load-core", default="1")
    args = p.parse_args()
    if args.serve:
        serve(args.serve, args.port)
        return 0
    if shutil.which("wrk") is None or shutil.which("taskset") is None:
        print("needs wrk and taskset (apt-get install wrk util-linux)", file=sys.stderr)
        return 2
    known = {**SERVERS, **BASELINES}
    names = args.only.split(",") if args.only else list(SERVERS)
    if args.baseline:
        args.baseline = checkout(args.baseline, os.path.join("bench", "http_server.py"))
        known["ours-baseline"] = ()
        # measured right after ours-asyncio, its pair
        at = names.index("ours-asyncio") + 1 if "ours-asyncio" in names else len(names)
        names.insert(at, "ours-baseline")
    if args.baselines:
        names += [b for b in BASELINES if b not in names]
    runnable = []
    for name in names:
        if name not in known:
            raise SystemExit(f"unknown server {name!r}; choose from {', '.join(known)}")
        missing = [m for m in known[name] if importlib.util.find_spec(m) is None]
        if missing:
            print(f"skip {name}: {', '.join(missing)} not installed (pip install -e '.[bench]')")
        else:
            runnable.append(name)
    results: dict[str, list[dict[str, float]]] = {n: [] for n in runnable}
    print(
        f"wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s per slice, servers on"
        f" core {args.server_core}, wrk on core {args.load_core}, {args.rounds} round(s)"
    )
    with _running(runnable, args.server_core, args.baseline) as running:
        for rnd in range(args.rounds):
            # Alternate the order each round so no server always runs first or last.
            line = []
            for name in runnable if rnd % 2 == 0 else runnable[::-1]:
                port, pid = running[name]
                cpu0 = _cpu_seconds(pid)
                r = _wrk(port, args.load_core, args.connections, args.duration, args.threads)
                r["cpu"] = _cpu_seconds(pid) - cpu0
                r["per_cpu"] = r["requests"] / r["cpu"] if r["cpu"] > 0 else 0.0
                results[name].append(r)
                bad = f" errors {r['errors']:.0f}" if r["errors"] else ""
                bad += f" non-2xx {r['non2xx']:.0f}" if r["non2xx"] else ""
                line.append(f"{name} {r['rps'] / 1000:.1f}k{bad}")
            print(f"  round {rnd + 1:>2}: " + ", ".join(line), flush=True)

    print("\nper server, median of the slices [quartiles]:")
    for name in sorted(runnable, key=lambda n: -statistics.median(r["rps"] for r in results[n])):
        rs = results[name]
        q1, q2, q3 = _quartiles([r["rps"] for r in rs])
        per_cpu = statistics.median(r["per_cpu"] for r in rs)
        errors = sum(r["errors"] for r in rs)
        non2xx = sum(r["non2xx"] for r in rs)
        print(
            f"  {name:<26} {q2:>8.0f} req/s [{q1:.0f}..{q3:.0f}]  {per_cpu:>8.0f} req/CPU-s"
            f"  errors {errors:.0f}  non-2xx {non2xx:.0f}"
        )
    print(
        "\nratios: the median of the per-round ratios (the two servers measured back to back)"
        " [quartiles]:"
    )
    for ours, peer, target in PAIRS:
        if not (results.get(ours) and results.get(peer)):
            continue
        pairs = list(zip(results[ours], results[peer], strict=True))
        q1, ratio, q3 = _quartiles([a["rps"] / b["rps"] for a, b in pairs])
        cpu_ratio = statistics.median(a["per_cpu"] / b["per_cpu"] for a, b in pairs)
        goal = (
            f"  (target >= {target:g}x: {'met' if ratio >= target else 'NOT met'})"
            if target
            else ""
        )
        print(
            f"  {ours} / {peer}: {ratio:.2f}x [{q1:.2f}..{q3:.2f}],"
            f" per CPU-second {cpu_ratio:.2f}x{goal}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
