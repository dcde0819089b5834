"""Benchmark: our HTTP/2 server (cohttp.h2.serve_h2) against hypercorn and nginx, in one run.

Every server answers ``GET /`` with the same 13-byte body over cleartext HTTP/2 with prior
knowledge (h2c, RFC 9113 3.3): ours on asyncio and on trio, hypercorn (asyncio and trio
workers, the bench extra) with the same ASGI hello as bench/http_server.py, nginx (one
worker, ``listen ... http2``). All are started at once, each pinned to one core
(``taskset -c 0``); h2load, pinned to the other, loads one at a time for a short slice,
round the servers A B C ... then C B A ..., ``--rounds`` times. The ratios are medians of
per-round ratios of two servers measured back to back, with their quartiles, as in
bench/http_server.py (whose helpers this uses), since this machine's speed drifts within
seconds. Requests per CPU-second of the server process are printed beside the rates.

    .venv/bin/python bench/h2_server.py                      # 10 rounds of 1 s
    .venv/bin/python bench/h2_server.py --only ours-asyncio,nginx --rounds 20
    .venv/bin/python bench/h2_server.py --connections 10 --streams 100
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
from collections.abc import Iterator
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import http_server as h1  # noqa: E402  (bench/http_server.py: the same app and helpers)

BODY = h1.BODY
SERVERS: dict[str, tuple[str, ...]] = {
    "ours-asyncio": (),
    "hypercorn-asyncio": ("hypercorn",),
    "nginx": (),
    "ours-trio": (),
    "hypercorn-trio": ("hypercorn",),
}
PAIRS = [
    ("ours-asyncio", "hypercorn-asyncio"),
    ("ours-asyncio", "nginx"),
    ("ours-trio", "hypercorn-trio"),
    ("ours-trio", "ours-asyncio"),
]
_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"


def serve(name: str, port: int) -> None:
    """Run server ``name`` on 127.0.0.1:``port`` until killed."""
    if name.startswith("ours-"):
        sys.path.insert(0, ROOT)
        import backends
        from cohttp import Response, ServerConfig
        from cohttp.h2 import serve_h2

        async def hello(request: Any) -> Response:
            return Response(200, BODY, {"content-type": "text/plain"})

        async def main(net: backends.Backend) -> None:
            config = ServerConfig(access_log=False)
            listener = await net.tcp_listen("127.0.0.1", port)

            async def connection(flow: backends.Flow) -> None:
                try:
                    await serve_h2(net, flow, hello, config)
                finally:
                    await flow.close()

            await listener.serve(connection)

        backends.run(main, backend=name.split("-", 1)[1])
    elif name.startswith("hypercorn-"):
        from hypercorn.config import Config

        config = Config()
        config.bind = [f"127.0.0.1:{port}"]
        config.accesslog = None
        config.errorlog = None
        if name == "hypercorn-trio":
            import trio
            from hypercorn.trio import serve as trio_serve

            trio.run(trio_serve, h1._asgi_app, config)
        else:
            import asyncio

            from hypercorn.asyncio import serve as asyncio_serve

            asyncio.run(asyncio_serve(h1._asgi_app, config))  # type: ignore[arg-type]
    elif name == "nginx":
        where = tempfile.mkdtemp(prefix="bench-h2-nginx-")
        conf = os.path.join(where, "nginx.conf")
        with open(conf, "w") as f:
            f.write(
                "worker_processes 1; daemon off; pid nginx.pid; error_log stderr error;\n"
                "events { worker_connections 1024; }\n"
                "http { access_log off; client_body_temp_path tmp; keepalive_requests 100000000;\n"
                f"  server {{ listen 127.0.0.1:{port} http2;\n"
                '    location / { default_type text/plain; return 200 "Hello, world!"; } } }\n'
            )
        os.execvp("nginx", ["nginx", "-c", conf, "-p", where])
    else:
        raise SystemExit(f"unknown server {name}")


def _settings_answer(port: int) -> bool:
    """Whether ``port`` answers the HTTP/2 preface with a SETTINGS frame (RFC 9113 3.4)."""
    with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
        s.sendall(_PREFACE)
        data = s.recv(64)
        return len(data) >= 9 and data[3] == 4


def _ready(port: int, proc: subprocess.Popen[bytes]) -> None:
    what = "server did not answer the HTTP/2 preface in time"
    h1.wait_until(port, proc, _settings_answer, 30.0, what)


@contextlib.contextmanager
def _running(names: list[str], core: str) -> Iterator[dict[str, tuple[int, int]]]:
    servers: dict[str, h1.Launch] = {}
    for name in names:
        port = h1._free_port()
        argv = [sys.executable, os.path.abspath(__file__), "--serve", name, "--port", str(port)]
        servers[name] = (port, argv, None, None)
    with h1.launch(servers, core, _ready) as running:
        yield running


def _h2load(
    port: int, core: str, connections: int, streams: int, duration: float
) -> dict[str, float]:
    cmd = ["taskset", "-c", core, "h2load", "-D", f"{duration:g}", "-c", str(connections)]
    cmd += ["-m", str(streams), f"http://127.0.0.1:{port}/"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60).stdout
    m = re.search(r"finished in ([\d.]+)(m?s), ([\d.]+) req/s", out)
    done = re.search(
        r"requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored",
        out,
    )
    if m is None or done is None:
        raise RuntimeError("h2load printed no result:\n" + out[-2000:])
    return {
        "rps": float(m.group(3)),
        "requests": int(done.group(2)),
        "errors": int(done.group(3)) + int(done.group(4)),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--serve", help=argparse.SUPPRESS)
    p.add_argument("--port", type=int, help=argparse.SUPPRESS)
    p.add_argument("--duration", type=float, default=1.0, help="seconds per slice (h2load -D)")
    p.add_argument("--rounds", type=int, default=10, help="slices per server")
    p.add_argument("--connections", type=int, default=10, help="h2load -c")
    p.add_argument("--streams", type=int, default=10, help="h2load -m (concurrent streams)")
    p.add_argument("--only", help="comma-separated subset of: " + ", ".join(SERVERS))
    p.add_argument("--server-core", default="0")
    p.add_argument("--load-core", default="1")
    args = p.parse_args()
    if args.serve:
        serve(args.serve, args.port)
        return 0
    if shutil.which("h2load") is None or shutil.which("taskset") is None:
        print(
            "needs h2load and taskset (apt-get install nghttp2-client util-linux)", file=sys.stderr
        )
        return 2
    runnable = []
    for name in args.only.split(",") if args.only else list(SERVERS):
        if name not in SERVERS:
            raise SystemExit(f"unknown server {name!r}; choose from {', '.join(SERVERS)}")
        missing = [m for m in SERVERS[name] if importlib.util.find_spec(m) is None]
        if name == "nginx" and shutil.which("nginx") is None:
            missing = ["nginx (apt-get install nginx-light)"]
        if missing:
            print(f"skip {name}: {', '.join(missing)} not installed (pip install -e '.[bench]')")
        else:
            runnable.append(name)
    results: dict[str, list[dict[str, float]]] = {n: [] for n in runnable}
    print(
        f"h2load -c {args.connections} -m {args.streams} -D {args.duration:g} per slice (h2c),"
        f" servers on core {args.server_core}, h2load on core {args.load_core},"
        f" {args.rounds} round(s)"
    )
    with _running(runnable, args.server_core) as running:
        for rnd in range(args.rounds):
            line = []
            for name in runnable if rnd % 2 == 0 else runnable[::-1]:
                port, pid = running[name]
                cpu0 = h1.tree_cpu(pid)
                r = _h2load(port, args.load_core, args.connections, args.streams, args.duration)
                r["cpu"] = h1.tree_cpu(pid) - cpu0
                r["per_cpu"] = r["requests"] / r["cpu"] if r["cpu"] > 0 else 0.0
                results[name].append(r)
                bad = f" errors {r['errors']:.0f}" if r["errors"] else ""
                line.append(f"{name} {r['rps'] / 1000:.1f}k{bad}")
            print(f"  round {rnd + 1:>2}: " + ", ".join(line), flush=True)
    print("\nper server, median of the slices [quartiles]:")
    for name in sorted(runnable, key=lambda n: -statistics.median(r["rps"] for r in results[n])):
        rs = results[name]
        q1, q2, q3 = h1._quartiles([r["rps"] for r in rs])
        per_cpu = statistics.median(r["per_cpu"] for r in rs)
        errors = sum(r["errors"] for r in rs)
        print(
            f"  {name:<20} {q2:>8.0f} req/s [{q1:.0f}..{q3:.0f}]  {per_cpu:>8.0f} req/CPU-s"
            f"  errors {errors:.0f}"
        )
    print("\nratios: the median of the per-round ratios (back-to-back slices) [quartiles]:")
    for ours, peer in PAIRS:
        if not (results.get(ours) and results.get(peer)):
            continue
        pairs = [
            (a, b)
            for a, b in zip(results[ours], results[peer], strict=True)
            if a["per_cpu"] and b["per_cpu"]
        ]
        if not pairs:  # a server that completed nothing in every slice
            print(f"  {ours} / {peer}: no slice where both completed requests")
            continue
        q1, ratio, q3 = h1._quartiles([a["rps"] / b["rps"] for a, b in pairs])
        cpu_ratio = statistics.median(a["per_cpu"] / b["per_cpu"] for a, b in pairs)
        print(
            f"  {ours} / {peer}: {ratio:.2f}x [{q1:.2f}..{q3:.2f}], per CPU-second {cpu_ratio:.2f}x"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
