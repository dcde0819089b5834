"""Servers on the mirage stack, for the TAP interop tests and the benchmark.

Run inside a network namespace that holds the TAP device::

    python -m tests.mirage.tapapp --tap tap0 --ip 10.77.1.2/24 [--ip fd00::2/64] [--mtu N]
                                  [--host trio] [--congestion cubic|newreno|bbr]
                                  [--no-offload]

(with an IPv6 ``--ip`` too it listens on ``::``, both families.)

It prints ``ready`` once listening, then serves until killed:

* TCP 9000 "sink": reads to EOF (the client's half-close), answers ``<n> <sha256>\\n``
  and closes;
* TCP 9001 "echo": echoes until EOF;
* TCP 9002 "source": reads a decimal byte count and a newline, sends that many bytes of
  a fixed pattern (``pattern(n)``), then closes; with ``--stats``, then prints the
  connection's loss-recovery profile as one JSON line (for the benchmark);
* HTTP 8081 (cohttp): ``POST /`` answers ``<n> <sha256>`` of the body;
  ``GET /<n>`` sends ``pattern(n)``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections.abc import AsyncIterator
from typing import Any

import anyio

import backends
import cohttp
from backends.mirage.tcp import TcpConfig
from backends.mirage.tcp.congestion import CONTROLLERS
from cohttp.codec import parse_number
from cohttp.types import IncomingBody

CHUNK = 1 << 16
STATS = False


def pattern(n: int) -> bytes:
    """``n`` bytes that a checker can regenerate (not compressible into a short loop)."""
    block = hashlib.sha256(b"mirage").digest() * (CHUNK // 32)
    full, rest = divmod(n, len(block))
    return block * full + block[:rest]


async def sink(flow: backends.Flow) -> None:
    digest = hashlib.sha256()
    total = 0
    while data := await flow.read(1 << 20):
        digest.update(data)
        total += len(data)
    await flow.write(f"{total} {digest.hexdigest()}\n".encode())


async def echo(flow: backends.Flow) -> None:
    while data := await flow.read():
        await flow.write(data)


async def source(flow: backends.Flow) -> None:
    line = b""
    while not line.endswith(b"\n") and len(line) <= 20:
        data = await flow.read(64)
        if not data:
            return
        line += data
    count = parse_number(line.strip(), 12)
    if count is None:
        return
    block = pattern(CHUNK)
    while count > 0:
        piece = block[: min(count, len(block))]
        await flow.write(piece)
        count -= len(piece)
    await flow.shutdown_write()
    while await flow.read():
        pass
    connection = getattr(flow, "connection", None)
    if STATS and connection is not None:
        print(json.dumps(connection.loss_stats.profile(connection.mss)), flush=True)


async def _stream(count: int) -> AsyncIterator[bytes]:
    block = pattern(CHUNK)
    while count > 0:
        piece = block[: min(count, len(block))]
        yield piece
        count -= len(piece)


async def http_app(request: cohttp.Request) -> cohttp.Response:
    """``GET /<n>``: ``pattern(n)``; ``POST``: ``<n> <sha256>`` of the body, read as it
    streams in (for the TAP tests, HTTP and HTTPS alike)."""
    if request.method == "GET":
        count = parse_number(request.path.strip("/") or "0", 12)
        if count is None:
            return cohttp.Response.text("GET /<byte count>\n", status=404)
        return cohttp.Response(200, _stream(count), {"content-length": str(count)})
    body = request.body
    assert isinstance(body, IncomingBody)  # what a server's request carries
    digest = hashlib.sha256()
    total = 0
    async for piece in body:
        digest.update(piece)
        total += len(piece)
    return cohttp.Response.text(f"{total} {digest.hexdigest()}\n")


async def main(net: backends.Backend, http: bool, host: str = "0.0.0.0") -> None:
    async with anyio.create_task_group() as tg:
        for port, handler in ((9000, sink), (9001, echo), (9002, source)):
            listener = await net.tcp_listen(host, port)
            tg.start_soon(listener.serve, handler)
        if http:
            server = cohttp.Server(http_app)
            await server.listen(net, host, 8081)
            tg.start_soon(server.serve_forever)
        print("ready", flush=True)


def cli() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--tap", required=True)
    p.add_argument("--ip", required=True, action="append", help="repeat for IPv6 (dual stack)")
    p.add_argument("--mtu", type=int)
    p.add_argument("--host", default="asyncio", choices=["asyncio", "trio"])
    p.add_argument("--no-http", action="store_true")
    p.add_argument("--no-offload", action="store_true", help="plain frames: no virtio-net header")
    p.add_argument("--congestion", default=TcpConfig.congestion, choices=sorted(CONTROLLERS))
    p.add_argument("--stats", action="store_true", help="print each source flow's profile")
    args = p.parse_args()
    global STATS
    STATS = args.stats
    options: dict[str, Any] = {"tap": args.tap, "ip": args.ip, "host": args.host}
    if args.mtu:
        options["mtu"] = args.mtu
    options["tcp"] = TcpConfig(congestion=args.congestion)
    options["offload"] = not args.no_offload
    host = "::" if any(":" in ip for ip in args.ip) else "0.0.0.0"
    backends.run(lambda net: main(net, not args.no_http, host), "mirage", **options)


if __name__ == "__main__":
    cli()
