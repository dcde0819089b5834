"""TLS benchmark: HTTPS servers against uvicorn and nginx, then TLS flows against asyncio's
own TLS, in one run.

HTTPS (``--part https``, issue 19's targets): every server is started once, in its own
process pinned to ``--server-core``, with the same ECDSA P-256 certificate (trustme):
ours on asyncio, on asyncio+uvloop and on trio (``cohttp.Server(tls=...)``), uvicorn
(httptools, uvloop, ``--ssl-*``) and nginx (Debian's nginx-light, one worker). The load,
pinned to ``--load-core``, visits one server at a time for a short slice, the order
alternating A B C ..., then ... C B A, ``--rounds`` times:

  keep-alive  wrk over https on keep-alive connections: requests/s for a 13-byte body
              (each slice opens its ``--connections`` first: keep them few)
  handshakes  wrk with ``Connection: close``: every request on a new connection, so one
              full TLS 1.3 handshake (wrk never resumes a session) per request
  bulk        curl downloading a 100 MB file (``--mib``) over TLS: MB/s

Per server the median of its slices is printed with quartiles; each ratio is the median
of the per-round ratios of two servers measured back to back, with quartiles. Then the
memory our server (asyncio) holds per idle TLS connection above a plain one: its resident
size with ``--idle`` idle keep-alive connections open, TLS and then plain.
Targets: handshakes >= 1.0x uvicorn; keep-alive over TLS >= 1.5x uvicorn; bulk >= 0.5x
nginx; idle TLS connection < 64 KiB above a plain one.

TLS flows (``--part flows``): backends.tls on asyncio and trio against asyncio's own
TLS (``asyncio.start_server(ssl=...)`` / ``open_connection(ssl=...)``).

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

    .venv/bin/python bench/tls.py                       # both parts
    .venv/bin/python bench/tls.py --part https --rounds 9 --only ours-asyncio,uvicorn
    .venv/bin/python bench/tls.py --part flows --rounds 3 --mib 64 --idle 500
    .venv/bin/python bench/tls.py --part https --only ours-asyncio,uvicorn --baseline /tmp/old

``--baseline DIR`` adds ``ours-baseline`` (``ours-trio-baseline``) for ours-asyncio
(ours-trio) when measured: the same server with cohttp and backends from another
checkout (``git archive REV | tar -x -C DIR``), measured in the same rounds, so a change
is compared with what it changes under the same load.

Needs trustme (the test extra); the HTTPS part also wrk, curl and taskset, and takes
uvicorn/httptools/uvloop from the bench extra and nginx from PATH when there (a missing
peer is skipped with a note).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import json
import os
import re
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TREE = Path(os.environ.get("BENCH_TLS_TREE", ROOT))
"""Where cohttp and backends come from: this checkout, or ``--baseline``'s for the server
``ours-baseline`` (the bench itself stays this checkout's)."""
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(TREE))

from http_server import Launch, _free_port, checkout, launch, tree_cpu, wait_until  # noqa: E402

import backends  # noqa: E402
from backends import tls  # noqa: E402

IMPLS = ["asyncio-ssl", "ours-asyncio", "ours-trio"]
CHUNK = b"b" * 65536
NAME = "bench.test"


def _certs(directory: Path) -> tuple[str, str]:
    import trustme

    ca = trustme.CA()  # ECDSA P-256 keys
    cert = ca.issue_cert(NAME)
    cert.private_key_and_cert_chain_pem.write_to_path(str(directory / "s.pem"))
    for blob in cert.cert_chain_pems:  # apart, for nginx
        blob.write_to_path(str(directory / "s.crt"), append=True)
    cert.private_key_pem.write_to_path(str(directory / "s.key"))
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


# -- HTTPS servers ---------------------------------------------------------------------------

BODY = b"Hello, world!"
BIG = "big.bin"
HTTPS_SERVERS: dict[str, tuple[str, ...]] = {
    # name: importable modules (or "bin:NAME" for a program) it needs
    "ours-asyncio": (),
    "uvicorn": ("uvicorn", "httptools", "uvloop"),
    "ours-asyncio-uvloop": ("uvloop",),
    "ours-trio": (),
    "nginx": ("bin:nginx",),
    "ours-baseline": (),  # ours-asyncio from --baseline's checkout
    "ours-trio-baseline": (),  # ours-trio from --baseline's checkout
}
HTTPS_TARGETS: list[tuple[str, str, str, float | None]] = [
    # (ours, peer, workload, target ratio)
    ("ours-asyncio", "uvicorn", "handshakes", 1.0),
    ("ours-asyncio-uvloop", "uvicorn", "handshakes", 1.0),
    ("ours-trio", "uvicorn", "handshakes", 1.0),
    ("ours-asyncio", "nginx", "handshakes", None),
    ("ours-asyncio", "uvicorn", "keep-alive", 1.5),
    ("ours-asyncio-uvloop", "uvicorn", "keep-alive", 1.5),
    ("ours-trio", "uvicorn", "keep-alive", 1.5),
    ("ours-asyncio", "nginx", "keep-alive", None),
    ("ours-asyncio", "nginx", "bulk", 0.5),
    ("ours-asyncio-uvloop", "nginx", "bulk", 0.5),
    ("ours-trio", "nginx", "bulk", None),
    ("uvicorn", "nginx", "bulk", None),
    ("ours-asyncio", "ours-baseline", "handshakes", None),
    ("ours-asyncio", "ours-baseline", "keep-alive", None),
    ("ours-asyncio", "ours-baseline", "bulk", None),
    ("ours-baseline", "uvicorn", "keep-alive", None),
    ("ours-trio", "ours-trio-baseline", "handshakes", None),
    ("ours-trio", "ours-trio-baseline", "keep-alive", None),
    ("ours-trio", "ours-trio-baseline", "bulk", None),
    ("ours-trio-baseline", "uvicorn", "keep-alive", None),
]


async def _hello_asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """uvicorn's app: the hello, or the big file in 1 MiB pieces (as a static server)."""
    if scope["path"] == "/":
        headers = [(b"content-type", b"text/plain"), (b"content-length", b"%d" % len(BODY))]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": BODY})
        return
    path = os.path.join(os.environ["BENCH_TLS_DIR"], "site", BIG)
    size = os.path.getsize(path)
    headers = [(b"content-type", b"application/octet-stream"), (b"content-length", b"%d" % size)]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    with open(path, "rb") as f:
        while piece := f.read(1 << 20):
            await send({"type": "http.response.body", "body": piece, "more_body": True})
    await send({"type": "http.response.body", "body": b""})


def serve(name: str, port: int) -> None:
    """Run HTTPS server ``name`` on 127.0.0.1:``port`` until killed (``--serve``)."""
    directory = Path(os.environ["BENCH_TLS_DIR"])
    chain = str(directory / "s.pem")
    if name.startswith("ours"):
        import cohttp
        from cohttp.static import StaticFiles

        static = StaticFiles(str(directory / "site"))

        async def handler(request: cohttp.Request) -> cohttp.Response:
            if request.target == "/":
                return cohttp.Response(200, BODY, [("content-type", "text/plain")])
            return await static(request)

        async def main(net: backends.Backend) -> None:
            context = tls.server_context(chain)
            server = cohttp.Server(handler, tls=context, access_log=False)
            await server.serve(net, "127.0.0.1", port)

        backend = "trio" if name.startswith("ours-trio") else "asyncio"
        backends.run(main, backend=backend, uvloop=name.endswith("uvloop"))
    elif name == "uvicorn":
        import uvicorn

        uvicorn.run(
            _hello_asgi,
            host="127.0.0.1",
            port=port,
            loop="uvloop",
            http="httptools",
            log_level="warning",
            access_log=False,
            lifespan="off",
            ssl_certfile=chain,
        )
    elif name == "nginx":
        conf = directory / "nginx.conf"
        conf.write_text(
            ("user root root;\n" if os.geteuid() == 0 else "")
            + f"worker_processes 1;\ndaemon off;\npid {directory}/nginx.pid;\n"
            f"error_log {directory}/error.log;\nevents {{ worker_connections 4096; }}\n"
            "http {\n  access_log off;\n  keepalive_requests 1000000;\n"
            f"  client_body_temp_path {directory};\n  proxy_temp_path {directory};\n"
            f"  fastcgi_temp_path {directory};\n"
            f"  server {{\n    listen 127.0.0.1:{port} ssl;\n    root {directory / 'site'};\n"
            f"    ssl_certificate {directory / 's.crt'};\n"
            f"    ssl_certificate_key {directory / 's.key'};\n"
            "    ssl_protocols TLSv1.2 TLSv1.3;\n"
            f'    location = / {{ default_type text/plain; return 200 "{BODY.decode()}"; }}\n'
            "  }\n}\n"
        )
        os.execvp("nginx", ["nginx", "-e", f"{directory}/error.log", "-c", str(conf)])
    else:
        raise SystemExit(f"unknown server {name!r}")


def _https_files(directory: Path, mb: int) -> None:
    """The site every server serves: the big file of ``mb`` MB (readable by nginx)."""
    os.chmod(directory, 0o755)
    for name in ("s.crt", "s.key", "s.pem"):
        os.chmod(directory / name, 0o644)
    site = directory / "site"
    site.mkdir(exist_ok=True)
    os.chmod(site, 0o755)
    block = os.urandom(1 << 20)
    with open(site / BIG, "wb") as f:
        left = mb * 1_000_000
        while left:
            f.write(block[: min(left, len(block))])
            left -= min(left, len(block))
    os.chmod(site / BIG, 0o644)


def _https_answers(port: int) -> bool:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection(("127.0.0.1", port), timeout=1) as raw,
        context.wrap_socket(raw) as s,
    ):
        s.sendall(b"GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := s.recv(4096):
            data += chunk
        return data.startswith(b"HTTP/1.1 200") and data.endswith(BODY)


def _wait_tls(port: int, proc: subprocess.Popen[bytes]) -> None:
    wait_until(port, proc, _https_answers, 30.0, "no HTTPS answer in time")


@contextlib.contextmanager
def _servers(
    names: list[str], core: str, directory: Path, baseline: str | None = None
) -> Iterator[dict[str, tuple[int, int]]]:
    """Start every server pinned to ``core``; yield name -> (port, pid). The baseline
    servers run with cohttp and backends from ``baseline``."""
    env = {**os.environ, "BENCH_TLS_DIR": str(directory), "PYTHONPATH": str(ROOT)}
    servers: dict[str, Launch] = {}
    for name in names:
        port = _free_port()
        argv = [sys.executable, os.path.abspath(__file__), "--serve", name, "--port", str(port)]
        if name.endswith("baseline") and baseline:
            tree = baseline
            servers[name] = (port, argv, {**env, "BENCH_TLS_TREE": tree, "PYTHONPATH": tree}, None)
            continue
        servers[name] = (port, argv, env, None)
    with launch(servers, core, _wait_tls, stdout_to_log=True) as running:
        yield running


def _wrk(port: int, args: argparse.Namespace, close: bool) -> float:
    cmd = ["taskset", "-c", args.load_core, "wrk", "-t1", f"-c{args.connections}"]
    cmd += [f"-d{args.duration:g}s", "--timeout", "10s"]
    if close:
        cmd += ["-H", "Connection: close"]
    cmd.append(f"https://127.0.0.1:{port}/")
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=120).stdout
    if re.search(r"Non-2xx", out):
        raise RuntimeError(f"wrk saw errors:\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]


def _download(port: int, args: argparse.Namespace) -> float:
    cmd = ["taskset", "-c", args.load_core, "curl", "-sS", "-k", "--http1.1", "-o", "/dev/null"]
    cmd += ["-w", "%{speed_download} %{size_download}", f"https://127.0.0.1:{port}/{BIG}"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=300).stdout
    speed, size = out.split()
    if int(size) != args.body_mb * 1_000_000:
        raise RuntimeError(f"downloaded {size} bytes, not {args.body_mb} MB")
    return float(speed) / 1e6


def _idle_cost(port: int, pid: int, count: int, secure: bool) -> float:
    """Bytes of resident memory server ``pid`` holds per idle connection (``count`` of
    them, each after one request, kept open)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE

    def rss() -> int:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    held = []
    before = rss()
    try:
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            if secure:
                sock = context.wrap_socket(sock)
            sock.sendall(b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n")
            data = b""
            while not data.endswith(BODY):
                data += sock.recv(4096)
            held.append(sock)
        time.sleep(0.5)
        return (rss() - before) / count
    finally:
        for sock in held:
            sock.close()


def _plain_twin(core: str) -> Any:
    """Our asyncio server without TLS (for the memory comparison)."""
    port = _free_port()
    code = (
        "import backends, cohttp\n"
        "async def h(r): return cohttp.Response(200, b'Hello, world!')\n"
        "async def main(net):\n"
        f"    await cohttp.Server(h, access_log=False).serve(net, '127.0.0.1', {port})\n"
        "backends.run(main, backend='asyncio')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(["taskset", "-c", core, sys.executable, "-c", code], env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return port, proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the plain server did not listen")


def https_part(args: argparse.Namespace, directory: Path) -> None:
    for tool in ("wrk", "curl", "taskset"):
        if shutil.which(tool) is None:
            print(f"HTTPS part skipped: needs {tool} on PATH")
            return
    _https_files(directory, args.body_mb)
    names = args.only.split(",") if args.only else list(HTTPS_SERVERS)
    if args.baseline:
        args.baseline = checkout(args.baseline)
        # each of ours measured gets its baseline twin
        twins = {"ours-asyncio": "ours-baseline", "ours-trio": "ours-trio-baseline"}
        names = [n for n in names if n not in twins.values()]
        names += [twins[n] for n in list(names) if n in twins]
    else:
        names = [n for n in names if not n.endswith("baseline")]
    runnable = []
    for name in names:
        if name not in HTTPS_SERVERS:
            raise SystemExit(f"unknown server {name!r}; choose from {', '.join(HTTPS_SERVERS)}")
        needs = HTTPS_SERVERS[name]
        missing = [
            n
            for n in needs
            if (shutil.which(n[4:]) is None if n.startswith("bin:") else not _importable(n))
        ]
        if missing:
            print(f"skip {name}: {', '.join(missing)} missing (pip install -e '.[bench]')")
        else:
            runnable.append(name)
    workloads = ["handshakes", "keep-alive", "bulk"]
    results: dict[str, dict[str, list[float]]] = {w: {n: [] for n in runnable} for w in workloads}
    cpu: dict[str, dict[str, list[float]]] = {w: {n: [] for n in runnable} for w in workloads}
    print(
        f"\nHTTPS: servers on core {args.server_core}, load on core {args.load_core};"
        f" wrk -t1 -c{args.connections} -d{args.duration:g}s slices, curl for {args.body_mb} MB;"
        f" {args.rounds} rounds, order alternating"
    )
    with _servers(runnable, args.server_core, directory, args.baseline) as running:
        for rnd in range(args.rounds):
            line = []
            for name in runnable if rnd % 2 == 0 else runnable[::-1]:
                port, pid = running[name]
                for workload in workloads:
                    start = tree_cpu(pid)
                    if workload == "bulk":
                        value = _download(port, args)
                    else:
                        value = _wrk(port, args, close=workload == "handshakes")
                    results[workload][name].append(value)
                    cpu[workload][name].append(tree_cpu(pid) - start)
                r = {w: results[w][name][-1] for w in workloads}
                line.append(
                    f"{name} {r['handshakes']:.0f} hs/s {r['keep-alive'] / 1000:.1f}k req/s"
                    f" {r['bulk']:.0f} MB/s"
                )
            print(f"  round {rnd + 1:>2}: " + "; ".join(line), flush=True)
    memory = None
    if "ours-asyncio" in runnable:  # fresh processes: no heap left over from the load
        with _servers(["ours-asyncio"], args.server_core, directory) as fresh:
            port, pid = fresh["ours-asyncio"]
            secure = _idle_cost(port, pid, args.idle, secure=True)
        plain_port, plain = _plain_twin(args.server_core)
        try:
            memory = secure, _idle_cost(plain_port, plain.pid, args.idle, secure=False)
        finally:
            plain.terminate()
            plain.wait(timeout=5)
    units = {"handshakes": "new connections/s", "keep-alive": "requests/s", "bulk": "MB/s"}
    for workload in workloads:
        print(f"\n{workload} ({units[workload]}): median [quartiles]")
        for name in runnable:
            q1, q2, q3 = _quartiles(results[workload][name])
            print(f"  {name:<20} {q2:>10,.1f}  [{q1:,.1f} .. {q3:,.1f}]")
    print(
        "\nratios: median of the per-round ratios [quartiles]; then the same for the work"
        " done per CPU-second of the server process (less swayed by a busy machine)"
    )
    for ours, peer, workload, target in HTTPS_TARGETS:
        if ours not in runnable or peer not in runnable:
            continue
        a, b = results[workload][ours], results[workload][peer]
        r1, r2, r3 = _quartiles([x / y for x, y in zip(a, b, strict=True)])
        # wrk slices last the same time, so rate/CPU compares; a download is the same work
        work = (lambda v, c: 1 / c) if workload == "bulk" else (lambda v, c: v / c)
        ca, cb = cpu[workload][ours], cpu[workload][peer]
        per_cpu = [
            work(x, u) / work(y, w) for x, y, u, w in zip(a, b, ca, cb, strict=True) if u and w
        ]
        c1, c2, c3 = _quartiles(per_cpu) if per_cpu else (0.0, 0.0, 0.0)
        goal = (
            f"  (target >= {target:g}x: {'met' if r2 >= target else 'NOT met'})" if target else ""
        )
        print(
            f"  {workload:<10} {ours} / {peer}: {r2:.2f}x [{r1:.2f} .. {r3:.2f}],"
            f" per CPU-second {c2:.2f}x [{c1:.2f} .. {c3:.2f}]{goal}"
        )
    if memory is not None:
        secure, plain_cost = memory
        print(
            f"\nour server (asyncio), resident memory per idle connection ({args.idle} open):"
            f" TLS {secure / 1024:.1f} KiB, plain {plain_cost / 1024:.1f} KiB,"
            f" TLS above plain {(secure - plain_cost) / 1024:.1f} KiB (goal < 64 KiB)"
        )


def _importable(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


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


def flows_part(args: argparse.Namespace) -> None:
    print(
        f"\nTLS flows: python {sys.version.split()[0]}, {ssl.OPENSSL_VERSION}, TLS 1.3, ECDSA"
        f" P-256, each run pinned to CPU {args.core}; {args.rounds} alternating rounds"
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["all", "https", "flows"], default="all")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", help="HTTPS servers: a subset of " + ", ".join(HTTPS_SERVERS))
    parser.add_argument("--duration", type=float, default=2.0, help="HTTPS: seconds per wrk slice")
    parser.add_argument("--connections", type=int, default=10, help="HTTPS: wrk -c")
    parser.add_argument("--body-mb", type=int, default=100, help="HTTPS: the bulk body, MB")
    parser.add_argument("--server-core", default="0")
    parser.add_argument("--load-core", default="1")
    parser.add_argument(
        "--baseline", help="HTTPS: a checkout of another revision, served as ours-baseline"
    )
    parser.add_argument("--seconds", type=float, default=2.0, help="flows: seconds per slice")
    parser.add_argument("--mib", type=int, default=128, help="flows: bulk MiB")
    parser.add_argument("--clients", type=int, default=4, help="flows: handshaking clients")
    parser.add_argument("--idle", type=int, default=300, help="idle connections for memory")
    parser.add_argument("--core", type=int, default=0, help="flows: the CPU")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--impl", help=argparse.SUPPRESS)
    parser.add_argument("--workload", help=argparse.SUPPRESS)
    parser.add_argument("--chain", help=argparse.SUPPRESS)
    parser.add_argument("--ca", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return 0
    if args.serve:
        serve(args.serve, args.port)
        return 0
    with tempfile.TemporaryDirectory() as directory:
        args.chain, args.ca = _certs(Path(directory))
        print(f"python {sys.version.split()[0]}, {ssl.OPENSSL_VERSION}, ECDSA P-256 certificate")
        if args.part in ("all", "https"):
            https_part(args, Path(directory))
        if args.part in ("all", "flows"):
            flows_part(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
