"""TLS benchmark at the flow level: backends.tls on asyncio and trio against asyncio's own
TLS (``asyncio.start_server(ssl=...)`` / ``open_connection(ssl=...)``), in one run.

Each measurement is a fresh subprocess pinned to one core (``--core``) holding the server
and its clients, both sides using the implementation under test, with an ECDSA P-256
certificate from trustme and TLS 1.3 only:

  handshakes  C clients each connecting, finishing a full handshake (no resumption) and
              reading one byte the server sends once its side is done, then closing
  bulk        one connection sending S MiB in 64 KiB writes to a server that counts them
              and answers once it has them all (an SSL transport cannot half-close)

Slices alternate A B C, C B A, ... (``--rounds``); per implementation the median of its
slices is printed with quartiles, and the ratio to asyncio's TLS is the median of the
per-round ratios (measured back to back). Then memory: the resident size that N idle TLS
connections (both ends in one process) add above N plain ones, per connection end.

    .venv/bin/python bench/tls.py                       # 5 rounds of 2 s slices
    .venv/bin/python bench/tls.py --rounds 3 --mib 64 --idle 500

Needs trustme (the test extra).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import backends  # noqa: E402
from backends import tls  # noqa: E402

IMPLS = ["asyncio-ssl", "ours-asyncio", "ours-trio"]
CHUNK = b"b" * 65536
NAME = "bench.test"


def _certs(directory: Path) -> tuple[str, str]:
    import trustme

    ca = trustme.CA()  # ECDSA P-256 keys
    ca.issue_cert(NAME).private_key_and_cert_chain_pem.write_to_path(str(directory / "s.pem"))
    ca.cert_pem.write_to_path(str(directory / "ca.pem"))
    return str(directory / "s.pem"), str(directory / "ca.pem")


def _contexts(chain: str, ca: str) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    server = tls.server_context(chain, minimum_version="1.3")
    client = tls.client_context(cafile=ca, minimum_version="1.3")
    return server, client


# -- ours, over any backend ----------------------------------------------------------------


async def _ours(net: backends.Backend, args: argparse.Namespace) -> float:
    server_ctx, client_ctx = _contexts(args.chain, args.ca)

    async def handler(flow: backends.Flow) -> None:
        secure = await tls.wrap_server(flow, server_ctx)
        async with secure:
            if args.workload == "handshakes":
                await secure.write(b"!")
                await secure.read()
            else:
                total = 0
                while total < args.mib << 20:
                    total += len(await secure.read(262144))
                await secure.write(str(total).encode())

    async with await net.tcp_listen("127.0.0.1", 0) as listener, net.task_group() as tg:
        tg.start_soon(listener.serve, handler)
        host, port = listener.address
        if args.workload == "handshakes":
            count = 0
            deadline = net.now() + args.seconds

            async def client() -> None:
                nonlocal count
                while net.now() < deadline:
                    flow = await tls.connect(
                        net, host, port, context=client_ctx, server_hostname=NAME
                    )
                    await flow.read(1)
                    await flow.close()
                    count += 1

            start = time.perf_counter()
            async with net.task_group() as clients:
                for _ in range(args.clients):
                    clients.start_soon(client)
            rate = count / (time.perf_counter() - start)
        else:
            start = time.perf_counter()
            flow = await tls.connect(net, host, port, context=client_ctx, server_hostname=NAME)
            for _ in range(args.mib * 16):
                await flow.write(CHUNK)
            reply = await flow.read()
            assert int(reply) == args.mib << 20, reply
            await flow.close()
            rate = (args.mib << 20) / (time.perf_counter() - start) / 1e6
        tg.cancel_scope.cancel()
    return rate


# -- asyncio's own TLS (streams over an SSL transport) -------------------------------------


async def _asyncio_ssl(args: argparse.Namespace) -> float:
    server_ctx, client_ctx = _contexts(args.chain, args.ca)

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            if args.workload == "handshakes":
                writer.write(b"!")
                await writer.drain()
                await reader.read(1)
            else:
                total = 0
                while total < args.mib << 20:
                    total += len(await reader.read(262144))
                writer.write(str(total).encode())
                await writer.drain()
        finally:
            writer.close()

    server = await asyncio.start_server(handler, "127.0.0.1", 0, ssl=server_ctx)
    port = server.sockets[0].getsockname()[1]
    async with server:
        if args.workload == "handshakes":
            count = 0
            deadline = time.perf_counter() + args.seconds

            async def client() -> None:
                nonlocal count
                while time.perf_counter() < deadline:
                    reader, writer = await asyncio.open_connection(
                        "127.0.0.1", port, ssl=client_ctx, server_hostname=NAME
                    )
                    await reader.read(1)
                    writer.close()
                    await writer.wait_closed()
                    count += 1

            start = time.perf_counter()
            await asyncio.gather(*(client() for _ in range(args.clients)))
            return count / (time.perf_counter() - start)
        start = time.perf_counter()
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=client_ctx, server_hostname=NAME
        )
        for _ in range(args.mib * 16):
            writer.write(CHUNK)
            await writer.drain()
        reply = await reader.read(100)
        assert int(reply) == args.mib << 20, reply
        writer.close()
        return (args.mib << 20) / (time.perf_counter() - start) / 1e6


# -- memory per idle connection ------------------------------------------------------------


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def _handshake_pair(
    net: backends.Backend,
    client: backends.Flow,
    server: backends.Flow,
    server_ctx: ssl.SSLContext,
    client_ctx: ssl.SSLContext,
) -> list[backends.Flow]:
    wrapped: list[backends.Flow] = []

    async def accept() -> None:
        wrapped.append(await tls.wrap_server(server, server_ctx))

    async with net.task_group() as tg:
        tg.start_soon(accept)
        wrapped.append(await tls.wrap_client(client, client_ctx, server_hostname=NAME))
    return wrapped


async def _idle_memory(net: backends.Backend, args: argparse.Namespace) -> dict[str, float]:
    server_ctx, client_ctx = _contexts(args.chain, args.ca)
    n = args.idle
    async with await net.tcp_listen("127.0.0.1", 0, backlog=n + 16) as listener:
        plain: list[backends.Flow] = []
        before = _rss()
        for _ in range(n):
            plain.append(await net.tcp_connect(*listener.address))
            plain.append(await listener.accept())
        plain_bytes = _rss() - before
        secure: list[backends.Flow] = []
        before = _rss()
        for _ in range(n):
            client = await net.tcp_connect(*listener.address)
            server = await listener.accept()
            secure.extend(await _handshake_pair(net, client, server, server_ctx, client_ctx))
        tls_bytes = _rss() - before
        for flow in plain + secure:
            flow.abort()
    return {"plain": plain_bytes / (2 * n), "tls": tls_bytes / (2 * n)}


# -- driver --------------------------------------------------------------------------------


def worker(args: argparse.Namespace) -> None:
    if args.workload == "memory":
        result: Any = backends.run(lambda net: _idle_memory(net, args), backend="asyncio")
    elif args.impl == "asyncio-ssl":
        result = asyncio.run(_asyncio_ssl(args))
    else:
        backend = args.impl.removeprefix("ours-")
        result = backends.run(lambda net: _ours(net, args), backend=backend)
    print(json.dumps(result))


def measure(impl: str, workload: str, args: argparse.Namespace) -> Any:
    command = [
        "taskset", "-c", str(args.core), sys.executable, __file__, "--worker",
        "--impl", impl, "--workload", workload, "--seconds", str(args.seconds),
        "--mib", str(args.mib), "--clients", str(args.clients), "--idle", str(args.idle),
        "--chain", args.chain, "--ca", args.ca,
    ]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{impl} {workload} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _quartiles(values: list[float]) -> tuple[float, float, float]:
    if len(values) < 2:
        return values[0], values[0], values[0]
    q1, q2, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, q2, q3


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--mib", type=int, default=128)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--idle", type=int, default=300, help="idle connections for memory")
    parser.add_argument("--core", type=int, default=0)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--impl", help=argparse.SUPPRESS)
    parser.add_argument("--workload", help=argparse.SUPPRESS)
    parser.add_argument("--chain", help=argparse.SUPPRESS)
    parser.add_argument("--ca", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return 0
    with tempfile.TemporaryDirectory() as directory:
        args.chain, args.ca = _certs(Path(directory))
        print(
            f"python {sys.version.split()[0]}, {ssl.OPENSSL_VERSION}, TLS 1.3, ECDSA P-256, "
            f"each run pinned to CPU {args.core}; {args.rounds} alternating rounds"
        )
        for workload, unit in (("handshakes", "handshakes/s"), ("bulk", "MB/s")):
            results: dict[str, list[float]] = {impl: [] for impl in IMPLS}
            for round_ in range(args.rounds):
                order = IMPLS if round_ % 2 == 0 else IMPLS[::-1]
                for impl in order:
                    results[impl].append(float(measure(impl, workload, args)))
            detail = (
                f"{args.clients} clients, {args.seconds:g} s slices"
                if workload == "handshakes"
                else f"{args.mib} MiB one way"
            )
            print(f"\n{workload} ({unit}, {detail}): median [quartiles]")
            base = results["asyncio-ssl"]
            for impl in IMPLS:
                q1, q2, q3 = _quartiles(results[impl])
                line = f"  {impl:14s} {q2:10,.1f}  [{q1:,.1f} .. {q3:,.1f}]"
                if impl != "asyncio-ssl":
                    ratios = [a / b for a, b in zip(results[impl], base, strict=True)]
                    r1, r2, r3 = _quartiles(ratios)
                    line += f"   {r2:.2f}x asyncio-ssl [{r1:.2f} .. {r3:.2f}]"
                print(line)
        memory = measure("ours-asyncio", "memory", args)
        print(
            f"\nmemory per idle connection end (RSS, {args.idle} connections, asyncio): "
            f"plain {memory['plain'] / 1024:.1f} KiB, TLS {memory['tls'] / 1024:.1f} KiB, "
            f"TLS above plain {(memory['tls'] - memory['plain']) / 1024:.1f} KiB"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
