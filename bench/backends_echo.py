"""Echo benchmark: our adapters against plain asyncio streams and plain trio streams.

Each implementation runs an echo server and its clients in one process pinned to one core
(both sides use the implementation under test), in a fresh subprocess per measurement.
Rounds alternate A B C D, A B C D, ... and the median of the rounds is reported, since
absolute rates drift between runs here; the ratios are what matter.

Workloads:
  rtt   C connections doing 64-byte request/response round trips for D seconds
  bulk  one connection sending S MiB in 64 KiB writes to a server that counts and replies

Usage: python bench/backends_echo.py [--rounds 3] [--seconds 2] [--mib 256] [--conns 1,50]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MESSAGE = b"m" * 64
CHUNK = b"b" * 65536

# -- workloads over our interface ---------------------------------------------------------


async def _ours_rtt(net: Any, conns: int, seconds: float) -> float:
    async def echo(flow: Any) -> None:
        while data := await flow.read(65536):
            await flow.write(data)

    count = 0
    async with await net.tcp_listen("127.0.0.1", 0) as listener, net.task_group() as tg:
        tg.start_soon(listener.serve, echo)
        deadline = net.now() + seconds

        async def client() -> None:
            nonlocal count
            async with await net.tcp_connect(*listener.address) as flow:
                while net.now() < deadline:
                    await flow.write(MESSAGE)
                    got = 0
                    while got < len(MESSAGE):
                        got += len(await flow.read(65536))
                    count += 1

        start = time.perf_counter()
        async with net.task_group() as clients:
            for _ in range(conns):
                clients.start_soon(client)
        elapsed = time.perf_counter() - start
        tg.cancel_scope.cancel()
    return count / elapsed


async def _ours_bulk(net: Any, mib: int) -> float:
    async def sink(flow: Any) -> None:
        total = 0
        while data := await flow.read(262144):
            total += len(data)
        await flow.write(str(total).encode())

    async with await net.tcp_listen("127.0.0.1", 0) as listener, net.task_group() as tg:
        tg.start_soon(listener.serve, sink)
        start = time.perf_counter()
        async with await net.tcp_connect(*listener.address) as flow:
            for _ in range(mib * 16):
                await flow.write(CHUNK)
            await flow.shutdown_write()
            reply = await flow.read()
        elapsed = time.perf_counter() - start
        assert int(reply) == mib * 1024 * 1024, reply
        tg.cancel_scope.cancel()
    return mib * 1.048576 / elapsed


def run_ours(backend: str, workload: str, args: argparse.Namespace, uvloop: bool) -> float:
    import backends

    async def main(net: Any) -> float:
        if workload == "bulk":
            return await _ours_bulk(net, args.mib)
        return await _ours_rtt(net, args.conns_one, args.seconds)

    return backends.run(main, backend=backend, uvloop=uvloop)


# -- the same workloads on plain asyncio streams --------------------------------------------


def run_asyncio_streams(workload: str, args: argparse.Namespace) -> float:
    import asyncio

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        writer.close()

    async def sink(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        total = 0
        while data := await reader.read(262144):
            total += len(data)
        writer.write(str(total).encode())
        await writer.drain()
        writer.close()

    async def main() -> float:
        loop = asyncio.get_running_loop()
        server = await asyncio.start_server(echo if workload == "rtt" else sink, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        if workload == "bulk":
            start = time.perf_counter()
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            for _ in range(args.mib * 16):
                writer.write(CHUNK)
                await writer.drain()
            writer.write_eof()
            reply = await reader.read()
            elapsed = time.perf_counter() - start
            assert int(reply) == args.mib * 1024 * 1024
            writer.close()
            server.close()
            return args.mib * 1.048576 / elapsed
        count = 0
        deadline = loop.time() + args.seconds

        async def client() -> None:
            nonlocal count
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            while loop.time() < deadline:
                writer.write(MESSAGE)
                await writer.drain()
                got = 0
                while got < len(MESSAGE):
                    got += len(await reader.read(65536))
                count += 1
            writer.close()

        start = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(args.conns_one)))
        elapsed = time.perf_counter() - start
        server.close()
        return count / elapsed

    return asyncio.run(main())


# -- and on plain trio streams --------------------------------------------------------------


def run_trio_streams(workload: str, args: argparse.Namespace) -> float:
    import trio

    async def echo(stream: trio.SocketStream) -> None:
        while data := await stream.receive_some(65536):
            await stream.send_all(data)

    async def sink(stream: trio.SocketStream) -> None:
        total = 0
        while data := await stream.receive_some(262144):
            total += len(data)
        await stream.send_all(str(total).encode())

    async def main() -> float:
        async with trio.open_nursery() as nursery:
            listeners = await nursery.start(
                functools.partial(trio.serve_tcp, host="127.0.0.1"),
                echo if workload == "rtt" else sink,
                0,
            )
            port = listeners[0].socket.getsockname()[1]
            if workload == "bulk":
                start = time.perf_counter()
                stream = await trio.open_tcp_stream("127.0.0.1", port)
                for _ in range(args.mib * 16):
                    await stream.send_all(CHUNK)
                await stream.send_eof()
                reply = await stream.receive_some(100)
                elapsed = time.perf_counter() - start
                assert int(reply) == args.mib * 1024 * 1024
                await stream.aclose()
                nursery.cancel_scope.cancel()
                return args.mib * 1.048576 / elapsed
            count = 0
            deadline = trio.current_time() + args.seconds

            async def client() -> None:
                nonlocal count
                stream = await trio.open_tcp_stream("127.0.0.1", port)
                while trio.current_time() < deadline:
                    await stream.send_all(MESSAGE)
                    got = 0
                    while got < len(MESSAGE):
                        got += len(await stream.receive_some(65536))
                    count += 1
                await stream.aclose()

            start = time.perf_counter()
            async with trio.open_nursery() as clients:
                for _ in range(args.conns_one):
                    clients.start_soon(client)
            elapsed = time.perf_counter() - start
            nursery.cancel_scope.cancel()
        return count / elapsed

    result: float = trio.run(main)
    return result


# -- driver ---------------------------------------------------------------------------------

IMPLS: dict[str, Callable[[str, argparse.Namespace], float]] = {
    "asyncio streams": run_asyncio_streams,
    "ours: asyncio": lambda w, a: run_ours("asyncio", w, a, uvloop=False),
    "trio streams": run_trio_streams,
    "ours: trio": lambda w, a: run_ours("trio", w, a, uvloop=False),
}
try:
    import uvloop  # noqa: F401

    IMPLS["ours: asyncio+uvloop"] = lambda w, a: run_ours("asyncio", w, a, uvloop=True)
except ImportError:
    pass

BASELINE = {
    "ours: asyncio": "asyncio streams",
    "ours: asyncio+uvloop": "asyncio streams",
    "ours: trio": "trio streams",
}


def worker(args: argparse.Namespace) -> None:
    if hasattr(os, "sched_setaffinity") and args.core is not None:
        os.sched_setaffinity(0, {args.core})
    value = IMPLS[args.impl](args.workload, args)
    print(json.dumps({"value": value}))


def measure(impl: str, workload: str, args: argparse.Namespace, conns: int) -> float:
    cmd = [
        sys.executable,
        __file__,
        "--worker",
        "--impl",
        impl,
        "--workload",
        workload,
        "--seconds",
        str(args.seconds),
        "--mib",
        str(args.mib),
        "--conns-one",
        str(conns),
    ]
    if args.core is not None:
        cmd += ["--core", str(args.core)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{impl} {workload} failed:\n{out.stderr}")
    value: float = json.loads(out.stdout.strip().splitlines()[-1])["value"]
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--mib", type=int, default=256)
    parser.add_argument("--conns", default="1,50", help="comma-separated rtt concurrency levels")
    parser.add_argument("--core", type=int, default=0, help="CPU to pin each run to")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--impl", help=argparse.SUPPRESS)
    parser.add_argument("--workload", help=argparse.SUPPRESS)
    parser.add_argument("--conns-one", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return

    cases = [("rtt", int(c)) for c in args.conns.split(",")] + [("bulk", 1)]
    print(
        f"python {sys.version.split()[0]}, each run pinned to CPU {args.core}, "
        f"median of {args.rounds} alternating rounds"
    )
    for workload, conns in cases:
        results: dict[str, list[float]] = {name: [] for name in IMPLS}
        for _ in range(args.rounds):
            for name in IMPLS:
                results[name].append(measure(name, workload, args, conns))
        unit = "round trips/s" if workload == "rtt" else "MB/s"
        title = (
            f"{workload}, {conns} connection(s)"
            if workload == "rtt"
            else (f"bulk, {args.mib} MiB one way")
        )
        print(f"\n{title}  ({unit})")
        medians = {name: statistics.median(vals) for name, vals in results.items()}
        for name, value in medians.items():
            base = BASELINE.get(name)
            ratio = f"  {value / medians[base]:.2f}x {base}" if base else ""
            print(f"  {name:24s} {value:12,.1f}{ratio}")


if __name__ == "__main__":
    main()
