"""Benchmark: ASGI apps on our server against uvicorn and hypercorn, in one run.

The same application objects run on each server, each server in its own process pinned to
one core (``taskset -c 0``), wrk on the other; slices go round the servers A B C ... then
C B A ..., ``--rounds`` times, and each ratio is the median of per-round ratios of two
servers measured back to back, with its quartiles (see bench/http_server.py for why).

Scenarios (issue 13 targets):

* ``raw``: a raw ASGI app answering 13 bytes; ours-asyncio (plain asyncio) >= 1.5x uvicorn
  (httptools, uvloop), ours-trio >= 4x hypercorn-trio;
* ``fastapi-get``: a FastAPI route returning a small JSON object, >= 1.2x uvicorn;
* ``fastapi-post``: a FastAPI route parsing a 1 KB JSON body into a pydantic model and
  answering its size, >= 1.2x uvicorn.

    .venv/bin/python bench/asgi.py                     # all scenarios, 10 rounds of 1 s
    .venv/bin/python bench/asgi.py --only raw --rounds 20
    .venv/bin/python bench/asgi.py --baseline /tmp/old   # also an older tree's bridge

``--baseline DIR`` adds ``ours-baseline``: ours-asyncio run from another checkout (its
cohttp and backends, these apps), in the same alternating rounds, for a before/after ratio
that the load on a shared machine does not skew as two separate runs would.

Needs the ``bench`` and ``test`` extras (uvicorn, httptools, uvloop, hypercorn, fastapi).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import shutil
import statistics
import sys
import tempfile
from collections.abc import Iterator
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TREE = os.environ.get("BENCH_ASGI_TREE", ROOT)
"""Where cohttp and backends come from: this checkout, or ``--baseline``'s for
``ours-baseline`` (the apps and the driver stay this checkout's)."""
sys.path.insert(0, HERE)
sys.path.insert(0, TREE)

import http_server as hs  # noqa: E402 - the shared driver (bench/ is not a package)

BODY = hs.BODY
PAYLOAD = json.dumps(
    {"name": "widget", "tags": ["a"] * 40, "text": "x" * 740, "price": 12.5, "count": 3}
)
assert 990 <= len(PAYLOAD) <= 1100, len(PAYLOAD)

# scenario: (server pairs with targets, app, path, wrk script body or None)
SCENARIOS: dict[str, dict[str, Any]] = {
    "raw": {
        "app": "raw",
        "path": "/",
        "pairs": [
            ("ours-asyncio", "uvicorn", 1.5),
            ("ours-trio", "hypercorn-trio", 4.0),
            # the bridge's own cost: the same answer from a native cohttp handler
            ("ours-asyncio", "ours-native", 0.0),
        ],
    },
    "fastapi-get": {"app": "fastapi", "path": "/json", "pairs": [("ours-asyncio", "uvicorn", 1.2)]},
    "fastapi-post": {
        "app": "fastapi",
        "path": "/items",
        "post": PAYLOAD,
        "pairs": [("ours-asyncio", "uvicorn", 1.2)],
    },
}
NEEDS = {
    "ours-baseline": (),
    "uvicorn": ("uvicorn", "httptools", "uvloop"),
    "hypercorn-trio": ("hypercorn",),
    "ours-asyncio": (),
    "ours-trio": (),
    "ours-native": (),
}


# -- the apps (the same objects on every server) -------------------------------------------


raw = hs._asgi_app
"""A raw ASGI hello answering 13 bytes (lifespan supported): bench/http_server.py's app."""


def make_fastapi() -> Any:
    from fastapi import FastAPI
    from fastapi.responses import PlainTextResponse
    from pydantic import BaseModel

    class Item(BaseModel):
        name: str
        tags: list[str]
        text: str
        price: float
        count: int

    api = FastAPI()

    @api.get("/", response_class=PlainTextResponse)
    async def hello() -> str:
        return BODY.decode()

    @api.get("/json")
    async def get_json() -> dict[str, Any]:
        return {"message": "hello", "items": [1, 2, 3], "ok": True}

    async def post_item(item: Item) -> dict[str, Any]:
        return {"name": item.name, "tags": len(item.tags), "total": item.price * item.count}

    # The annotations are strings here (from __future__) and Item is local: FastAPI could
    # not resolve "Item" and took it for a query parameter (every POST was a 422).
    post_item.__annotations__["item"] = Item
    api.post("/items")(post_item)
    return api


def serve(name: str, port: int) -> None:
    """Run ``server:app`` (``ours-asyncio:raw``, ``uvicorn:fastapi``, ...) until killed."""
    server, app_name = name.split(":")
    app = raw if app_name == "raw" else make_fastapi()
    if server == "ours-native":
        import backends
        import cohttp

        async def hello(request: cohttp.Request) -> cohttp.Response:
            return cohttp.Response(200, BODY, [("content-type", "text/plain")])

        async def native(net: backends.Backend) -> None:
            await cohttp.Server(hello, access_log=False).serve(net, "127.0.0.1", port)

        backends.run(native)
    elif server.startswith("ours"):  # ours-asyncio, ours-trio, ours-baseline (asyncio)
        import backends
        from cohttp import Server
        from cohttp.asgi import ASGIHandler

        async def main(net: backends.Backend) -> None:
            async with ASGIHandler(app, net, server=("127.0.0.1", port)) as handler:
                await Server(handler, access_log=False).serve(net, "127.0.0.1", port)

        backends.run(main, backend="trio" if server == "ours-trio" else "asyncio")
    elif server == "uvicorn":
        import uvicorn

        uvicorn.run(
            app,
            host="127.0.0.1",
            port=port,
            loop="uvloop",
            http="httptools",
            log_level="warning",
            access_log=False,
        )
    elif server == "hypercorn-trio":
        import trio
        from hypercorn.config import Config
        from hypercorn.trio import serve as trio_serve

        config = Config()
        config.bind = [f"127.0.0.1:{port}"]
        config.accesslog = None
        config.errorlog = None
        trio.run(trio_serve, app, config)
    else:
        raise SystemExit(f"unknown server {server!r}")


# -- the driver ----------------------------------------------------------------------------


@contextlib.contextmanager
def _running(
    names: list[str], core: str, baseline: str | None
) -> Iterator[dict[str, tuple[int, int]]]:
    """Start ``script --serve NAME --port P`` for each name, pinned to ``core``;
    ``ours-baseline`` with cohttp from ``baseline``."""
    servers: dict[str, hs.Launch] = {}
    for name in names:
        port = hs._free_port()
        argv = [sys.executable, os.path.abspath(__file__), "--serve", name, "--port", str(port)]
        env = None
        if name.startswith("ours-baseline") and baseline:
            env = {**os.environ, "BENCH_ASGI_TREE": baseline}
        servers[name] = (port, argv, env, None)
    with hs.launch(servers, core, hs._wait_ready) as running:
        yield running


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--serve", help=argparse.SUPPRESS)
    p.add_argument("--port", type=int, help=argparse.SUPPRESS)
    p.add_argument("--duration", type=float, default=1.0, help="seconds per slice (wrk -d)")
    p.add_argument("--rounds", type=int, default=10, help="slices per server")
    p.add_argument("--connections", type=int, default=50, help="wrk -c")
    p.add_argument("--only", help="comma-separated subset of: " + ", ".join(SCENARIOS))
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
    if args.baseline:
        args.baseline = hs.checkout(args.baseline)
    scenarios = args.only.split(",") if args.only else list(SCENARIOS)
    for scenario in scenarios:
        spec = SCENARIOS[scenario]
        if spec["app"] == "fastapi" and importlib.util.find_spec("fastapi") is None:
            print(f"skip {scenario}: fastapi not installed (pip install -e '.[test]')")
            continue
        names: list[str] = []
        pairs = list(spec["pairs"])
        if args.baseline:
            pairs.append(("ours-asyncio", "ours-baseline", 0.0))
        for ours, peer, _ in pairs:
            for server in (ours, peer):
                missing = [m for m in NEEDS[server] if importlib.util.find_spec(m) is None]
                if missing:
                    print(f"skip {server}: {', '.join(missing)} not installed")
                elif server not in names:
                    names.append(server)
        script = None
        if "post" in spec:
            lua = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)  # noqa: SIM115
            body = spec["post"].replace("\\", "\\\\").replace('"', '\\"')
            lua.write(
                'wrk.method = "POST"\n'
                f'wrk.body = "{body}"\n'
                'wrk.headers["Content-Type"] = "application/json"\n'
            )
            lua.close()
            script = lua.name
        print(
            f"\n== {scenario}: {'POST' if script else 'GET'} {spec['path']}, wrk -c{args.connections}"
            f" -d{args.duration:g}s per slice, {args.rounds} round(s)"
        )
        results: dict[str, list[dict[str, float]]] = {n: [] for n in names}
        procs = [f"{n}:{spec['app']}" for n in names]
        try:
            with _running(procs, args.server_core, args.baseline) as running:
                for rnd in range(args.rounds):
                    line = []
                    for name in names if rnd % 2 == 0 else names[::-1]:
                        port, pid = running[f"{name}:{spec['app']}"]
                        cpu0 = hs._cpu_seconds(pid)
                        r = hs._wrk(
                            port, args.load_core, args.connections, args.duration, 1,
                            spec["path"], script,
                        )  # fmt: skip
                        r["cpu"] = hs._cpu_seconds(pid) - cpu0
                        r["per_cpu"] = r["requests"] / r["cpu"] if r["cpu"] > 0 else 0.0
                        results[name].append(r)
                        bad = f" errors {r['errors']:.0f}" if r["errors"] else ""
                        bad += f" non-2xx {r['non2xx']:.0f}" if r["non2xx"] else ""
                        line.append(f"{name} {r['rps'] / 1000:.1f}k{bad}")
                    print(f"  round {rnd + 1:>2}: " + ", ".join(line), flush=True)
        finally:
            if script:
                os.unlink(script)
        for name in names:
            q1, q2, q3 = hs._quartiles([r["rps"] for r in results[name]])
            per_cpu = statistics.median(r["per_cpu"] for r in results[name])
            print(f"  {name:<16} {q2:>8.0f} req/s [{q1:.0f}..{q3:.0f}]  {per_cpu:>8.0f} req/CPU-s")
        for ours, peer, target in pairs:
            if not (results.get(ours) and results.get(peer)):
                continue
            pairs = list(zip(results[ours], results[peer], strict=True))
            q1, ratio, q3 = hs._quartiles([a["rps"] / b["rps"] for a, b in pairs])
            cpu = statistics.median(a["per_cpu"] / b["per_cpu"] for a, b in pairs)
            verdict = "met" if ratio >= target else "NOT met"
            if any(r["non2xx"] or r["errors"] for r in results[ours] + results[peer]):
                verdict = "INVALID: errors or non-2xx answers"  # not the work measured
            goal = f" (target >= {target:g}x: {verdict})" if target or "INVALID" in verdict else ""
            print(
                f"  {scenario} {ours} / {peer}: {ratio:.2f}x [{q1:.2f}..{q3:.2f}],"
                f" per CPU-second {cpu:.2f}x{goal}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
