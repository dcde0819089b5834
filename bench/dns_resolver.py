"""Stub-resolver benchmark: our Resolver against dnspython's async resolver, against NSD.

NSD is started on a loopback port (pinned to CPU 0) with a zone of N names (``h00000``
...). Each measurement resolves all N names (type A) with C concurrent workers, in a fresh
subprocess pinned to CPU 1:

* ``ours``: ``dns.resolver.Resolver(net, ["127.0.0.1"], port=P, hosts=False)`` on the
  asyncio backend (and on trio, and asyncio+uvloop when installed), no cache;
* ``dnspython``: ``dns.asyncresolver.Resolver(configure=False)`` with the same server,
  no cache. dnspython's import name clashes with our ``dns`` package, so it runs in its own
  virtualenv, ``bench/.venv-dnspython`` (created here on first use with
  ``python3 -m venv`` + ``pip install dnspython``; git-ignored);
* ``dnspython+uvloop`` and ``aiodns`` (c-ares) as well, when they install into that
  virtualenv (the fair peer of ``ours-asyncio+uvloop`` is ``dnspython+uvloop``).

Rounds alternate the implementations (A B C, A B C, ...) and the median queries/s of the
rounds is reported with its ratio to dnspython, since absolute rates drift between runs.
Every run checks that every name resolved to its expected address.

Usage: python bench/dns_resolver.py [--names 20000] [--concurrency 100] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

PEER_VENV = ROOT / "bench" / ".venv-dnspython"


def expected_address(i: int) -> str:
    return f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"


def zone_text(n: int) -> str:
    lines = [
        "$ORIGIN bench.test.",
        "$TTL 3600",
        "@ IN SOA ns1 hostmaster 1 3600 900 604800 60",
        "@ IN NS ns1",
        "ns1 IN A 127.0.0.1",
    ]
    lines += [f"h{i:05d} IN A {expected_address(i)}" for i in range(n)]
    return "\n".join(lines) + "\n"


# -- workers (run in a subprocess; print one JSON line) -----------------------------------


def worker_ours(port: int, n: int, conc: int, backend: str) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    import backends
    from dns.resolver import Resolver

    uvloop = backend == "asyncio+uvloop"
    names = [f"h{i:05d}.bench.test." for i in range(n)]

    async def main(net: Any) -> dict[str, Any]:
        r = Resolver(net, ["127.0.0.1"], port=port, hosts=False, timeout=2.0)
        it = iter(enumerate(names))
        bad = 0

        async def work() -> None:
            nonlocal bad
            for i, name in it:
                ans = await r.resolve(name, "A")
                if ans.addresses != [expected_address(i)]:
                    bad += 1

        start = time.perf_counter()
        async with net.task_group() as tg:
            for _ in range(conc):
                tg.start_soon(work)
        elapsed = time.perf_counter() - start
        return {"qps": n / elapsed, "bad": bad}

    return backends.run(main, backend="asyncio" if uvloop else backend, uvloop=uvloop)


def worker_dnspython(port: int, n: int, conc: int, uvloop: bool = False) -> dict[str, Any]:
    import asyncio

    import dns.asyncresolver  # dnspython, in its own virtualenv

    names = [f"h{i:05d}.bench.test." for i in range(n)]

    async def main() -> dict[str, Any]:
        r = dns.asyncresolver.Resolver(configure=False)
        r.nameservers = ["127.0.0.1"]
        r.port = port
        r.timeout = 2.0
        r.lifetime = 10.0
        it = iter(enumerate(names))
        bad = 0

        async def work() -> None:
            nonlocal bad
            for i, name in it:
                ans = await r.resolve(name, "A")
                if [a.to_text() for a in ans] != [expected_address(i)]:
                    bad += 1

        start = time.perf_counter()
        await asyncio.gather(*(work() for _ in range(conc)))
        return {"qps": n / (time.perf_counter() - start), "bad": bad}

    if uvloop:
        import uvloop as uv

        return uv.run(main())
    return asyncio.run(main())


def worker_aiodns(port: int, n: int, conc: int) -> dict[str, Any]:
    import asyncio

    import aiodns

    names = [f"h{i:05d}.bench.test" for i in range(n)]

    async def main() -> dict[str, Any]:
        r = aiodns.DNSResolver(
            nameservers=["127.0.0.1"], udp_port=port, tcp_port=port, timeout=2.0, tries=2
        )
        it = iter(enumerate(names))
        bad = 0

        async def work() -> None:
            nonlocal bad
            for i, name in it:
                ans = await r.query(name, "A")
                if [a.host for a in ans] != [expected_address(i)]:
                    bad += 1

        start = time.perf_counter()
        await asyncio.gather(*(work() for _ in range(conc)))
        return {"qps": n / (time.perf_counter() - start), "bad": bad}

    return asyncio.run(main())


# -- driver -------------------------------------------------------------------------------


def ensure_peer_venv() -> tuple[Path, bool, bool]:
    """Create bench/.venv-dnspython with dnspython (and aiodns, uvloop if they install)."""
    py = PEER_VENV / "bin" / "python"
    if not py.exists():
        print(f"creating {PEER_VENV} (dnspython, aiodns) ...", flush=True)
        subprocess.run(
            [
                sys.executable if sys.prefix == sys.base_prefix else "python3",
                "-m",
                "venv",
                str(PEER_VENV),
            ],
            check=True,
        )
        subprocess.run([str(py), "-m", "pip", "install", "-q", "dnspython"], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", "aiodns"], check=False)

    def has(module: str) -> bool:
        return (
            subprocess.run([str(py), "-c", f"import {module}"], capture_output=True).returncode == 0
        )

    if not has("uvloop"):
        subprocess.run([str(py), "-m", "pip", "install", "-q", "uvloop"], check=False)
    return py, has("aiodns"), has("uvloop")


def run_worker(python: str, kind: str, port: int, n: int, conc: int) -> dict[str, Any]:
    cmd = [
        "taskset",
        "-c",
        "1",
        python,
        str(Path(__file__).resolve()),
        "--worker",
        kind,
        "--port",
        str(port),
        "--names",
        str(n),
        "--concurrency",
        str(conc),
    ]
    env = dict(os.environ, PYTHONPATH="")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd="/", timeout=600)
    if proc.returncode != 0:
        raise SystemExit(f"{kind} worker failed:\n{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--names", type=int, default=20000)
    ap.add_argument("--concurrency", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.worker:
        if args.worker in ("dnspython", "dnspython+uvloop"):
            result = worker_dnspython(
                args.port, args.names, args.concurrency, uvloop=args.worker.endswith("uvloop")
            )
        elif args.worker == "aiodns":
            result = worker_aiodns(args.port, args.names, args.concurrency)
        else:
            result = worker_ours(
                args.port, args.names, args.concurrency, args.worker.removeprefix("ours-")
            )
        print(json.dumps(result))
        return

    if shutil.which("nsd") is None or shutil.which("taskset") is None:
        raise SystemExit("needs nsd and taskset (Debian: nsd, util-linux)")
    peer_python, has_aiodns, peer_uvloop = ensure_peer_venv()
    ours_python = str(ROOT / ".venv" / "bin" / "python")
    kinds: list[tuple[str, str]] = [("ours-asyncio", ours_python), ("ours-trio", ours_python)]
    if subprocess.run([ours_python, "-c", "import uvloop"], capture_output=True).returncode == 0:
        kinds.append(("ours-asyncio+uvloop", ours_python))
    kinds.append(("dnspython", str(peer_python)))
    if peer_uvloop:
        kinds.append(("dnspython+uvloop", str(peer_python)))
    if has_aiodns:
        kinds.append(("aiodns", str(peer_python)))

    # Only here, in the parent: workers run in dnspython's virtualenv, where our ``dns``
    # on sys.path would shadow dnspython's.
    sys.path.insert(0, str(ROOT))
    from tests.peers import pin, run_nsd

    rates: dict[str, list[float]] = {k: [] for k, _ in kinds}
    # NSD pinned to CPU 0; the workers pin themselves to CPU 1.
    with run_nsd({"bench.test.": zone_text(args.names)}, command_prefix=pin(0)) as nsd:
        port = nsd.port
        print(
            f"NSD on 127.0.0.1:{port}, {args.names} names, concurrency "
            f"{args.concurrency}, {args.rounds} rounds (median reported)",
            flush=True,
        )
        for rnd in range(args.rounds):
            for kind, python in kinds:
                res = run_worker(python, kind, port, args.names, args.concurrency)
                if res["bad"]:
                    raise SystemExit(f"{kind}: {res['bad']} wrong answers")
                rates[kind].append(res["qps"])
                print(f"  round {rnd + 1} {kind:22s} {res['qps']:9.0f} q/s", flush=True)

    base = statistics.median(rates["dnspython"])
    print(f"\n{'implementation':24s} {'queries/s':>10s} {'vs dnspython':>13s}")
    for kind, _ in kinds:
        med = statistics.median(rates[kind])
        print(f"{kind:24s} {med:10.0f} {med / base:12.2f}x")


if __name__ == "__main__":
    main()
