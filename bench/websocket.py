"""Benchmark: WebSocket echo, our server against websockets' own and uvicorn's, in one run.

Each server echoes every message back, compression off (the codec is measured, not
zlib). All servers start at once, each in its own process pinned to one core
(``taskset -c 0``), and stay up; the load generator runs in this process on the other core:
``--connections`` clients, each keeping ``--window`` messages in flight, send messages of
each size (small: 16 bytes of text; large: 64 KiB binary) for a short slice, going round the
servers A B C ... then C B A ..., ``--rounds`` times. The client is the same for every
server: masked frames made in advance (64 mask keys in turn), an asyncio buffered protocol
reading into its own buffer, and each echo checked byte for byte against the frame every
server must send back (a ping, a close or any other answer fails the run), so it costs
little per message (its CPU per message is printed: a few µs for 16 B).

Reported: messages per second per server and size, median of the slices with quartiles,
the median of the per-round ratios to ``websockets`` and to ``uvicorn-websockets``
(measured back to back), the messages per CPU-second of the server process (from
/proc) with the same per-round ratios of them, and the load generator's CPU per message. On a shared, noisy machine only ratios
mean much, and the CPU figure tells the servers apart when something else (the load
generator, other jobs) sets the pace.

Ours runs as users run it, :class:`cohttp.Server` with a :func:`cohttp.ws.endpoint` route,
on asyncio, on asyncio with uvloop (as uvicorn runs by default: ``loop="auto"`` picks
uvloop when installed) and on trio; ``ours-asgi`` is the same ASGI app as uvicorn's under
our server (:class:`cohttp.asgi.ASGIHandler`, uvloop). All run with their default
keepalive pings (every 20 s). Unmasking a client's 64 KiB frame runs in C
(``cohttp/ws/_mask.c``, ~3 µs) where that optional extension was built, as websockets does
it; the bench prints which (the pure-Python twin takes ~80 µs). Measured per 64 KiB echo on
a quiet machine (/proc): ours-asyncio ~15 µs of user and ~37 µs of system time,
uvicorn-websockets ~31 and ~54: the kernel's share (copies, loopback delivery, waking the
peer) is most of it for every server. The load generator spends ~40 µs per 64 KiB message
on the other core; when other jobs share that core, it sets the pace for every server and
the ratios of messages/s fall toward 1, while the per-CPU-second column still tells the
servers apart. At 16 B the kernel's
share is ~5 µs of ours' ~11 µs per message: ours makes one send per echo.

    .venv/bin/python bench/websocket.py                    # 5 rounds of 1 s per size
    .venv/bin/python bench/websocket.py --rounds 10 --only ours-asyncio,websockets

Peers: ``websockets`` (bench extra) and ``uvicorn`` with it, skipped with a note when
missing. Target (issue 14): ours >= 2x uvicorn with websockets.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)

from http_server import (  # noqa: E402  (bench/ is not a package)
    Launch,
    _cpu_seconds,
    _free_port,
    _quartiles,
    launch,
    wait_until,
)

SERVERS: dict[str, tuple[str, ...]] = {
    "ours-asyncio": (),
    "ours-asyncio-uvloop": ("uvloop",),  # as uvicorn runs by default (loop="auto")
    "ours-trio": (),
    "ours-asgi": ("uvloop",),  # uvicorn's ASGI app below, under our server
    "websockets": ("websockets",),
    "uvicorn-websockets": ("uvicorn", "websockets"),
}
SIZES = {"16 B text": ("x" * 16), "64 KiB binary": bytes(range(256)) * 256}


async def echo_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The ASGI echo both uvicorn and ``ours-asgi`` serve."""
    if scope["type"] != "websocket":
        return
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    while True:
        event = await receive()
        if event["type"] != "websocket.receive":
            return
        if event.get("text") is not None:
            await send({"type": "websocket.send", "text": event["text"]})
        else:
            await send({"type": "websocket.send", "bytes": event["bytes"]})


def serve(name: str, port: int) -> None:
    """Run one server until killed (in a child process)."""
    if name == "ours-asgi":
        import backends
        from cohttp import Server
        from cohttp.asgi import ASGIHandler

        async def main_asgi(net: backends.Backend) -> None:
            async with ASGIHandler(echo_app, net, lifespan=False) as handler:
                await Server(handler, access_log=False).serve(net, "127.0.0.1", port)

        backends.run(main_asgi, backend="asyncio", uvloop=True)
    elif name.startswith("ours-"):
        import backends
        from cohttp import Request, Server
        from cohttp.ws import Config, ConnectionClosed, WebSocket, endpoint

        # The defaults users get, as the peers run theirs: 1 MiB messages (what uvicorn and
        # websockets are given below) and a keepalive ping every 20 s, whose deadline each
        # read that waits is taken under (uvicorn and websockets ping every 20 s too).
        config = Config(max_message_size=1 << 20, max_frame_size=1 << 20, ping_interval=20.0)

        async def echo(ws: WebSocket, request: Request) -> None:
            try:
                while True:
                    message = await ws.receive()
                    if isinstance(message, str):
                        await ws.send_text(message)
                    else:
                        await ws.send_bytes(message)
            except ConnectionClosed:
                pass

        # As users run it (and as uvicorn serves its app): the HTTP server, whose handler
        # upgrades the request and runs the session.
        server = Server(endpoint(echo, deflate=None, config=config), access_log=False)

        async def main(net: backends.Backend) -> None:
            await server.serve(net, "127.0.0.1", port)

        if name == "ours-asyncio-uvloop":
            backends.run(main, backend="asyncio", uvloop=True)
        else:
            backends.run(main, backend=name.removeprefix("ours-"))
    elif name == "websockets":
        import logging

        from websockets.asyncio.server import serve as ws_serve

        # The load generator drops its connections at the end of a slice: not news.
        logging.getLogger("websockets").setLevel(logging.CRITICAL)

        async def echo(ws: Any) -> None:
            async for message in ws:
                await ws.send(message)

        async def run() -> None:
            async with ws_serve(echo, "127.0.0.1", port, compression=None, max_size=1 << 20):
                await asyncio.Future()

        asyncio.run(run())
    elif name == "uvicorn-websockets":
        import uvicorn

        uvicorn.run(
            echo_app,
            host="127.0.0.1",
            port=port,
            ws="websockets",
            ws_per_message_deflate=False,
            ws_max_size=1 << 20,
            log_level="warning",
            access_log=False,
            lifespan="off",
        )
    else:
        raise SystemExit(f"unknown server {name}")


# -- load ------------------------------------------------------------------------------


class _Echoes(asyncio.BufferedProtocol):
    """One load connection: the handshake, then ``window`` messages in flight, each echo
    checked and answered with the next message, until :meth:`stop`.

    A buffered protocol reading into one buffer of its own (no bytes object per read), so
    that the load generator costs little per message and the servers, not it, set the
    pace. The frames sent are masked with 64 different keys, made before the clock
    starts, sent in turn: all of one length, so the next k frames are one slice of them
    laid end to end. Every server must answer each message with the same bytes (RFC 6455
    5.2: FIN, no RSV, minimal length, unmasked, no compression agreed): the echo is checked
    by comparing what arrives with that frame repeated (``bytes.startswith``, a memcmp).
    Anything else (a Ping, a Close, another framing, another message) fails the run.
    """

    def __init__(self, port: int, message: str | bytes, window: int) -> None:
        from cohttp.codec import encode_request_head
        from cohttp.headers import Headers
        from cohttp.ws import Close, Connection, Role, client_handshake

        hs = client_handshake(f"127.0.0.1:{port}", deflate=None)
        self.request = encode_request_head("GET", "/", Headers(hs.headers))
        conn = Connection(Role.CLIENT)
        frames = [conn.send_message(message) for _ in range(64)]
        self.close_frame = conn.send(Close(1000))
        self.step = len(frames[0])
        self.sent_ring = b"".join(frames) * (2 + window // 64)
        echo = Connection(Role.SERVER).send_message(message)
        self.size = len(echo)
        self.ring = echo * ((1 << 18) // self.size + 2)
        self.window = window
        self.buffer = memoryview(bytearray(1 << 18))
        self.head = b""
        self.open = False
        self.stopped = False
        self.turn = window % 64
        self.offset = 0  # where in an echo frame the next byte falls
        self.done = 0
        self.error: str | None = None
        self.transport: asyncio.Transport | None = None
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(self.request)

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.buffer

    def buffer_updated(self, nbytes: int) -> None:
        assert self.transport is not None
        if not self.open:
            self.head += bytes(self.buffer[:nbytes])
            if b"\r\n\r\n" not in self.head:
                if len(self.head) > 16384:
                    self._fail(f"no end to the answer's head: {self.head[:40]!r}")
                return
            if not self.head.startswith(b"HTTP/1.1 101") or not self.head.endswith(b"\r\n\r\n"):
                self._fail(f"handshake refused: {self.head[:40]!r}")
                return
            self.open = True
            self.opened.set_result(None)
            return
        if not self.ring.startswith(self.buffer[:nbytes], self.offset):
            self._fail(f"not an echo of the message sent: {bytes(self.buffer[:40])!r}")
            return
        at = self.offset + nbytes
        got = at // self.size
        self.offset = at % self.size
        if got and not self.stopped:  # at most ``window``: no more are in flight
            self.done += got
            turn = self.turn
            self.transport.write(self.sent_ring[turn * self.step : (turn + got) * self.step])
            self.turn = (turn + got) % 64

    def start(self) -> None:
        """Put ``window`` messages in flight (once the handshake is done)."""
        assert self.transport is not None
        self.transport.write(self.sent_ring[: self.window * self.step])

    def _fail(self, reason: str) -> None:
        self.error = self.error or reason
        if not self.opened.done():
            self.opened.set_exception(RuntimeError(reason))
        if self.transport is not None:
            self.transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.stopped:
            self._fail(f"server closed ({exc})")

    def stop(self) -> int:
        """Stop sending, say goodbye, and return the number of echoes received."""
        self.stopped = True
        if self.transport is not None and not self.transport.is_closing():
            if self.open:
                self.transport.write(self.close_frame)
            self.transport.close()
        if self.error is not None:
            raise RuntimeError(self.error)
        return self.done


async def _load(
    port: int, message: str | bytes, connections: int, window: int, duration: float
) -> tuple[int, float]:
    """Echoes received in one slice of ``duration`` seconds, and the seconds it lasted."""
    loop = asyncio.get_running_loop()
    clients = [_Echoes(port, message, window) for _ in range(connections)]
    for client in clients:
        await loop.create_connection(lambda c=client: c, "127.0.0.1", port)  # type: ignore[misc]
    # The handshakes are not part of the slice (a cold server may take a while), but they
    # have a deadline: a server that never answers fails the run instead of hanging it.
    await asyncio.wait_for(asyncio.gather(*(client.opened for client in clients)), 15.0)
    start = time.monotonic()
    for client in clients:
        client.start()
    await asyncio.sleep(max(start + duration - time.monotonic(), 0.0))
    counts = [client.stop() for client in clients]
    elapsed = time.monotonic() - start
    await asyncio.sleep(0)  # let the transports close
    return sum(counts), elapsed


def _connects(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), 0.2):
        return True


def _wait_ready(port: int, proc: subprocess.Popen[bytes]) -> None:
    wait_until(port, proc, _connects, 15.0, "server did not start")


@contextlib.contextmanager
def _running(names: list[str], core: str) -> Iterator[dict[str, tuple[int, int]]]:
    servers: dict[str, Launch] = {}
    for name in names:
        port = _free_port()
        argv = [sys.executable, os.path.abspath(__file__), "--serve", name, "--port", str(port)]
        servers[name] = (port, argv, None, None)
    with launch(servers, core, _wait_ready) as running:
        yield running


def _round_ratios(
    figures: dict[tuple[str, str], list[float]], name: str, base: str, size_name: str
) -> tuple[float, float, float]:
    """Quartiles of ``name``'s figure over ``base``'s, round by round (back to back)."""
    pairs = zip(figures[(name, size_name)], figures[(base, size_name)], strict=True)
    return _quartiles([a / b for a, b in pairs])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=float, default=1.0)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--window", type=int, default=32)
    parser.add_argument("--only", help="comma-separated server names")
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port)
        return 0
    if shutil.which("taskset") is None:
        print("needs taskset (util-linux)", file=sys.stderr)
        return 1
    wanted = args.only.split(",") if args.only else list(SERVERS)
    runnable = []
    for name in wanted:
        missing = [m for m in SERVERS[name] if importlib.util.find_spec(m) is None]
        if missing:
            print(f"skipping {name}: needs {', '.join(missing)}")
        else:
            runnable.append(name)
    with contextlib.suppress(AttributeError, OSError):
        os.sched_setaffinity(0, {1})
    print(
        f"{len(runnable)} servers on core 0, load on core 1; {args.connections} connections x "
        f"{args.window} in flight; {args.rounds} rounds of {args.duration} s per size.\n"
        "NOTE: the machine's 2 cores are shared with other jobs: absolute numbers are noisy."
    )
    compiled = importlib.util.find_spec("cohttp.ws._mask") is not None
    print(
        "ours unmasks in C (cohttp/ws/_mask.c)"
        if compiled
        else "ours unmasks in pure Python: cohttp/ws/_mask.c was not built (see setup.py)"
    )
    results: dict[tuple[str, str], list[float]] = {}
    per_cpu: dict[tuple[str, str], list[float]] = {}
    load_us: dict[tuple[str, str], list[float]] = {}  # the load generator's CPU per message
    with _running(runnable, "0") as servers:
        for name in runnable:  # a warm-up slice each, not counted
            asyncio.run(_load(servers[name][0], "warm-up", args.connections, args.window, 0.3))
        for size_name, message in SIZES.items():
            for r in range(args.rounds):
                order = runnable if r % 2 == 0 else runnable[::-1]
                for name in order:
                    port, pid = servers[name]
                    cpu = _cpu_seconds(pid)
                    load_cpu = time.process_time()
                    messages, elapsed = asyncio.run(
                        _load(port, message, args.connections, args.window, args.duration)
                    )
                    used = _cpu_seconds(pid) - cpu  # the handshakes too: a little, not all
                    results.setdefault((name, size_name), []).append(messages / elapsed)
                    per_cpu.setdefault((name, size_name), []).append(messages / max(used, 0.01))
                    load_us.setdefault((name, size_name), []).append(
                        (time.process_time() - load_cpu) / max(messages, 1) * 1e6
                    )
    for size_name in SIZES:
        print(
            f"\n{size_name}: messages/s, median of the slices [quartiles];"
            " messages per CPU-second of the server; the load generator's CPU per message"
        )
        for name in runnable:
            q1, q2, q3 = _quartiles(results[(name, size_name)])
            cpu = statistics.median(per_cpu[(name, size_name)])
            load = statistics.median(load_us[(name, size_name)])
            print(
                f"  {name:20} {q2:10.0f}  [{q1:.0f} .. {q3:.0f}]   {cpu:10.0f} per CPU-s"
                f"   load {load:5.1f} µs"
            )
        for base in ("websockets", "uvicorn-websockets"):
            if base not in runnable:
                continue
            for name in runnable:
                if not name.startswith("ours-"):
                    continue
                q1, q2, q3 = _round_ratios(results, name, base, size_name)
                c1, c2, c3 = _round_ratios(per_cpu, name, base, size_name)
                print(
                    f"  {name} / {base}: {q2:.2f}x  [{q1:.2f} .. {q3:.2f}],"
                    f" per CPU-second {c2:.2f}x  [{c1:.2f} .. {c3:.2f}]"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
