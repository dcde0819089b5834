"""Benchmark: static files from our server against nginx and Python peers, in one run.

Every server serves the same document root: ``13.txt`` (13 bytes), ``4k.txt`` (4 KB) and
``10m.bin`` (10 MB). Peers: nginx (Debian nginx-light: one worker, ``sendfile on``, no
access log, its config in a scratch directory), aiohttp's ``add_static``, Starlette's
``StaticFiles`` under uvicorn (uvloop, httptools), ``python -m http.server``; ours is
``python -m cohttp serve --quiet`` on asyncio, and on uvloop. Each server runs pinned to one
core (``taskset -c 0``) for the whole run; wrk, pinned to the other core, loads one at a time
for 1 s slices, going round the servers A B C ... then C B A ..., as bench/http_server.py
does (its helpers are reused): the core's speed swings within seconds on this kind of
machine, so ratios are taken between servers measured back to back and reported as the
median of the rounds with quartiles. Beside requests/s: MB/s and the server's CPU time per
request (user + system, of the server process and its children, from /proc).

    .venv/bin/python bench/static.py                       # every server, 10 rounds
    .venv/bin/python bench/static.py --rounds 5 --only ours-asyncio,nginx --files 13.txt
    .venv/bin/python bench/static.py --close --files 13.txt   # a connection per request
    .venv/bin/python bench/static.py --baseline /tmp/old      # also an older tree, as is

Targets (issue 14): 13 B and 4 KB at >= 0.5x nginx's requests/s and >= 3x aiohttp's;
10 MB at >= 0.9x nginx's MB/s. ``--close`` sends ``Connection: close`` with every request,
so each one costs a TCP connection (accept, the server's per-connection set-up, close):
it measures that path instead of the keep-alive one; the ratios are printed without the
targets, which are for keep-alive. ``--baseline DIR`` adds ``ours-baseline``: our server
from another checkout of this repository (``git archive REV | tar -x -C DIR``), measured in
the same rounds, for a before/after ratio that the machine's swings do not blur.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from http_server import (  # noqa: E402  (bench/ is not a package)
    Launch,
    _free_port,
    _quartiles,
    http_probe,
    launch,
    tree_cpu,
    wait_until,
)

FILES = {"13.txt": b"Hello, world!", "4k.txt": b"0123456789abcdef" * 256}
BIG = "10m.bin"
BIG_SIZE = 10_000_000

SERVERS: dict[str, tuple[str, ...]] = {
    # name: importable modules (or "bin:NAME" for a program) it needs
    "nginx": ("bin:nginx",),
    "ours-asyncio": (),
    "ours-asyncio-uvloop": ("uvloop",),
    "aiohttp": ("aiohttp",),
    "starlette-uvicorn": ("starlette", "uvicorn", "uvloop", "httptools"),
    "http.server": (),
}
TARGETS: list[tuple[str, str, str, float]] = [
    # (ours, peer, measure, target ratio) for the small files; MB/s for the big one
    ("ours-asyncio", "nginx", "rps", 0.5),
    ("ours-asyncio-uvloop", "nginx", "rps", 0.5),
    ("ours-asyncio", "aiohttp", "rps", 3.0),
    ("ours-asyncio-uvloop", "aiohttp", "rps", 3.0),
    ("ours-asyncio", "starlette-uvicorn", "rps", 0.0),
    ("ours-asyncio", "http.server", "rps", 0.0),
    ("ours-asyncio", "ours-baseline", "rps", 0.0),
]
BIG_TARGETS = [("ours-asyncio", "nginx", 0.9), ("ours-asyncio-uvloop", "nginx", 0.9)]


def make_root(directory: str) -> None:
    """Write the files every server serves (readable by nginx's unprivileged worker)."""
    os.chmod(directory, 0o755)
    for name, data in FILES.items():
        with open(os.path.join(directory, name), "wb") as f:
            f.write(data)
    block = os.urandom(1 << 20)
    with open(os.path.join(directory, BIG), "wb") as f:
        left = BIG_SIZE
        while left:
            f.write(block[: min(left, len(block))])
            left -= min(left, len(block))


def serve(name: str, port: int, root: str) -> None:
    """Run the Python server ``name`` on 127.0.0.1:``port`` until killed."""
    if name == "aiohttp":
        from aiohttp import web

        app = web.Application()
        app.router.add_static("/", root)
        web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)
    elif name == "starlette-uvicorn":
        import uvicorn
        from starlette.applications import Starlette
        from starlette.routing import Mount
        from starlette.staticfiles import StaticFiles

        asgi = Starlette(routes=[Mount("/", StaticFiles(directory=root))])
        uvicorn.run(
            asgi,
            host="127.0.0.1",
            port=port,
            loop="uvloop",
            http="httptools",
            log_level="warning",
            access_log=False,
            lifespan="off",
        )
    else:
        raise SystemExit(f"unknown server {name!r}")


def _command(name: str, port: int, root: str, scratch: str) -> list[str]:
    if name == "nginx":
        conf = os.path.join(scratch, "nginx.conf")
        with open(conf, "w") as f:
            f.write(
                f"worker_processes 1;\ndaemon off;\npid {scratch}/nginx.pid;\n"
                f"error_log {scratch}/error.log;\nevents {{ worker_connections 4096; }}\n"
                "http {\n  access_log off;\n  sendfile on;\n  tcp_nopush on;\n"
                "  keepalive_requests 1000000;\n"
                f"  client_body_temp_path {scratch};\n  proxy_temp_path {scratch};\n"
                f"  fastcgi_temp_path {scratch};\n"
                f"  server {{ listen 127.0.0.1:{port}; root {root}; }}\n}}\n"
            )
        return ["nginx", "-e", os.path.join(scratch, "error.log"), "-c", conf, "-p", scratch]
    if name == "ours-baseline":
        return [sys.executable, "-m", "cohttp", "serve", root, "--port", str(port), "--quiet"]
    if name.startswith("ours"):
        cmd = [sys.executable, "-m", "cohttp", "serve", root, "--port", str(port), "--quiet"]
        return cmd + (["--uvloop"] if name.endswith("uvloop") else [])
    if name == "http.server":
        return [sys.executable, "-m", "http.server", "-b", "127.0.0.1", "-d", root, str(port)]
    script = os.path.abspath(__file__)
    return [sys.executable, script, "--serve", name, "--port", str(port), "--root", root]


def _wait_ready(port: int, proc: subprocess.Popen[bytes]) -> None:
    request = b"GET /13.txt HTTP/1.1\r\nHost: bench\r\n\r\n"
    wait_until(port, proc, http_probe(request, b"HTTP/1.", FILES["13.txt"]), 15.0)


@contextlib.contextmanager
def _running(
    names: list[str], core: str, root: str, baseline: str | None = None
) -> Iterator[dict[str, tuple[int, int]]]:
    with tempfile.TemporaryDirectory(prefix="bench-static-") as scratch:
        servers: dict[str, Launch] = {}
        for name in names:
            port = _free_port()
            where = os.path.join(scratch, name)
            os.mkdir(where)
            tree = baseline if name == "ours-baseline" and baseline else ROOT
            env = {**os.environ, "PYTHONPATH": tree}
            servers[name] = (port, _command(name, port, root, where), env, tree)
        with launch(servers, core, _wait_ready) as running:
            yield running


_UNITS = {"B": 1, "KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30}


def _wrk(
    url: str, core: str, connections: int, duration: float, close: bool = False
) -> dict[str, float]:
    cmd = ["taskset", "-c", core, "wrk", "-t1", f"-c{connections}", f"-d{duration:g}s"]
    if close:
        cmd += ["-H", "Connection: close"]
    out = subprocess.run(
        [*cmd, "--timeout", "10s", url], capture_output=True, text=True, check=True
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    m = re.search(r"Transfer/sec:\s+([\d.]+)(B|KB|MB|GB)", out)
    mbps = float(m.group(1)) * _UNITS[m.group(2)] / 1e6 if m else 0.0
    errors = 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        errors = sum(int(x) for x in m.groups())
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": rps,
        "mbps": mbps,
        "requests": total,
        "errors": errors,
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
    }


def _available(name: str) -> list[str]:
    missing = []
    for need in SERVERS[name]:
        if need.startswith("bin:"):
            if shutil.which(need[4:]) is None:
                missing.append(need[4:])
        elif importlib.util.find_spec(need) is None:
            missing.append(need)
    return missing


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--serve", help=argparse.SUPPRESS)
    p.add_argument("--port", type=int, help=argparse.SUPPRESS)
    p.add_argument("--root", help=argparse.SUPPRESS)
    p.add_argument("--duration", type=float, default=1.0, help="seconds per slice (wrk -d)")
    p.add_argument("--rounds", type=int, default=10, help="slices per server and file")
    p.add_argument("--connections", type=int, default=50, help="wrk -c for the small files")
    p.add_argument("--big-connections", type=int, default=8, help=f"wrk -c for {BIG}")
    p.add_argument("--only", help="comma-separated subset of: " + ", ".join(SERVERS))
    p.add_argument("--files", default=",".join([*FILES, BIG]), help="files to fetch")
    p.add_argument("--server-core", default="0")
    p.add_argument("--load-core", default="1")
    p.add_argument("--baseline", help="a checkout of another revision: adds ours-baseline")
    p.add_argument(
        "--close", action="store_true", help="Connection: close on every request (no keep-alive)"
    )
    args = p.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.root)
        return 0
    if shutil.which("wrk") is None or shutil.which("taskset") is None:
        print("needs wrk and taskset (apt-get install wrk util-linux)", file=sys.stderr)
        return 2
    runnable = []
    names = args.only.split(",") if args.only else list(SERVERS)
    if args.baseline:
        if not os.path.isdir(os.path.join(args.baseline, "cohttp")):
            raise SystemExit(f"--baseline {args.baseline}: not a checkout (no cohttp/ in it)")
        SERVERS["ours-baseline"] = ()
        names.append("ours-baseline")
    for name in names:
        if name not in SERVERS:
            raise SystemExit(f"unknown server {name!r}; choose from {', '.join(SERVERS)}")
        missing = _available(name)
        if missing:
            print(f"skip {name}: {', '.join(missing)} not installed")
        else:
            runnable.append(name)
    files = args.files.split(",")
    results: dict[tuple[str, str], list[dict[str, float]]] = {}
    print(
        f"wrk -t1 -c{args.connections} (-c{args.big_connections} for {BIG}) -d{args.duration:g}s"
        f" per slice; servers on core {args.server_core}, wrk on core {args.load_core};"
        f" {args.rounds} round(s)" + ("; Connection: close" if args.close else "")
    )
    with tempfile.TemporaryDirectory(prefix="bench-static-root-") as root:
        make_root(root)
        with _running(runnable, args.server_core, root, args.baseline) as running:
            for file in files:
                conns = args.big_connections if file == BIG else args.connections
                for rnd in range(args.rounds):
                    line = []
                    for name in runnable if rnd % 2 == 0 else runnable[::-1]:
                        port, pid = running[name]
                        cpu0 = tree_cpu(pid)
                        url = f"http://127.0.0.1:{port}/{file}"
                        r = _wrk(url, args.load_core, conns, args.duration, args.close)
                        r["cpu_us"] = (tree_cpu(pid) - cpu0) / max(r["requests"], 1) * 1e6
                        results.setdefault((file, name), []).append(r)
                        bad = f" errors {r['errors']:.0f}" if r["errors"] else ""
                        bad += f" non-2xx {r['non2xx']:.0f}" if r["non2xx"] else ""
                        line.append(f"{name} {r['rps']:.0f}{bad}")
                    print(f"  {file} round {rnd + 1:>2}: " + ", ".join(line), flush=True)

    for file in files:
        print(f"\n{file}: per server, median of the slices [quartiles]")
        ranked = sorted(
            runnable, key=lambda n: -statistics.median(r["rps"] for r in results[(file, n)])
        )
        for name in ranked:
            rs = results[(file, name)]
            q1, q2, q3 = _quartiles([r["rps"] for r in rs])
            mbps = statistics.median(r["mbps"] for r in rs)
            cpu = statistics.median(r["cpu_us"] for r in rs)
            errors = sum(r["errors"] + r["non2xx"] for r in rs)
            print(
                f"  {name:<22} {q2:>8.0f} req/s [{q1:.0f}..{q3:.0f}] {mbps:>8.1f} MB/s"
                f" {cpu:>8.1f} µs CPU/req  errors+non-2xx {errors:.0f}"
            )
        print("  ratios, median of the per-round ratios [quartiles]:")
        targets = [(o, peer, "mbps", t) for o, peer, t in BIG_TARGETS] if file == BIG else TARGETS
        for ours, peer, measure, target in targets:
            if (file, ours) not in results or (file, peer) not in results:
                continue
            pairs = zip(results[(file, ours)], results[(file, peer)], strict=True)
            ratios = [a[measure] / b[measure] for a, b in pairs if b[measure]]
            if not ratios:
                continue
            q1, ratio, q3 = _quartiles(ratios)
            pairs = zip(results[(file, ours)], results[(file, peer)], strict=True)
            cpu = statistics.median(b["cpu_us"] / a["cpu_us"] for a, b in pairs if a["cpu_us"])
            goal = ""
            if target and not args.close:
                goal = f"  (target >= {target:g}x: {'met' if ratio >= target else 'NOT met'})"
            unit = "MB/s" if measure == "mbps" else "req/s"
            print(
                f"    {ours} / {peer} {unit}: {ratio:.2f}x [{q1:.2f}..{q3:.2f}],"
                f" requests per CPU-second {cpu:.2f}x{goal}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
