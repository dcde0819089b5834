"""The command line: ``python -m cohttp serve ...`` and ``python -m cohttp get ...``.

::

    python -m cohttp serve examples/site/www.ocaml.test --port 8080
    python -m cohttp serve --vhost www.ocaml.test=examples/site/www.ocaml.test \\
        --vhost opam.ocaml.test=examples/site/opam.ocaml.test examples/site/default
    python -m cohttp serve DIR --backend mirage --tap tap0 --ip 10.0.0.2/24
    python -m cohttp get http://127.0.0.1:8080/ -v
    python -m cohttp get -X POST -H 'content-type: text/plain' -d hello http://127.0.0.1:8080/
    python -m cohttp get -L -o page.html http://127.0.0.1:8080/docs
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import time
from typing import Any, BinaryIO

import anyio

import backends
from backends.cli import add_backend_arguments, device_options, listen_host

from .client import Client, ClientError
from .codec import Limits, ProtocolError
from .server import Server, ServerConfig
from .static import StaticFiles, VirtualHosts


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m cohttp", description="HTTP/1.1 server and client over any backend."
    )
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("serve", help="serve static files (with virtual hosts)")
    s.add_argument(
        "root",
        nargs="?",
        default=".",
        help="document root for hosts without a --vhost (default: .)",
    )
    s.add_argument(
        "--vhost",
        action="append",
        default=[],
        metavar="HOST=DIR",
        help="serve DIR for Host HOST (repeatable)",
    )
    s.add_argument(
        "--host", help="address to listen on (default 127.0.0.1, or --ip's address on mirage)"
    )
    s.add_argument("--port", type=int, default=8080, help="port (0: any free port)")
    s.add_argument("--no-listing", action="store_true", help="no directory listings")
    s.add_argument("--quiet", action="store_true", help="no access log")
    s.add_argument("--max-body", type=int, default=16 * 1024 * 1024, help="request body limit")
    add_backend_arguments(s, uvloop=True)

    g = sub.add_parser("get", help="make one request and print or save the body")
    g.add_argument("url")
    g.add_argument("-X", "--request", dest="method", default=None, help="method (default GET)")
    g.add_argument("-H", "--header", action="append", default=[], metavar="'NAME: VALUE'")
    g.add_argument("-d", "--data", help="request body; @FILE reads a file, @- stdin")
    g.add_argument("-o", "--output", help="write the body to FILE")
    g.add_argument("-L", "--location", action="store_true", help="follow redirects")
    g.add_argument("-v", "--verbose", action="store_true", help="show the heads on stderr")
    g.add_argument("-f", "--fail", action="store_true", help="exit 22 on a 4xx/5xx status")
    g.add_argument("--timeout", type=float, default=30.0, help="seconds (default 30)")
    add_backend_arguments(g, uvloop=True, device=False)
    return p


def _run(args: argparse.Namespace, main: Any, **options: Any) -> Any:
    return backends.run(main, backend=args.backend, uvloop=args.uvloop, **options)


# -- serve ----------------------------------------------------------------------------


def serve(args: argparse.Namespace) -> int:
    """Run the static server until SIGINT/SIGTERM, then shut down gracefully."""
    listing = not args.no_listing
    hosts: dict[str, StaticFiles] = {}
    try:
        for spec in args.vhost:
            name, eq, directory = spec.partition("=")
            if not eq or not name or not directory:
                raise SystemExit(f"--vhost wants HOST=DIR, got {spec!r}")
            hosts[name] = StaticFiles(directory, listing=listing)
        default = StaticFiles(args.root, listing=listing)
    except NotADirectoryError as exc:
        raise SystemExit(str(exc)) from None
    handler = VirtualHosts(hosts, default=default) if hosts else default
    if not args.quiet:
        logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    config = ServerConfig(limits=Limits(max_body=args.max_body), access_log=not args.quiet)
    server = Server(handler, config)
    options = device_options(args)
    if options and args.backend != "mirage":
        raise SystemExit("--tap/--ip/--gateway only apply to --backend mirage")

    async def main(net: backends.Backend) -> None:
        host, port = await server.listen(net, listen_host(args), args.port)
        shown = f"[{host}]" if ":" in host else host
        print(f"serving on http://{shown}:{port}/ ({net.name})", flush=True)
        for name, site in hosts.items():
            print(f"  {name} -> {site.root}", flush=True)
        print(f"  default -> {default.root}", flush=True)
        async with net.task_group() as tg:
            tg.start_soon(_stop_on_signal, server)
            await server.serve_forever()
            tg.cancel_scope.cancel()

    try:
        _run(args, main, **options)
    except KeyboardInterrupt:
        pass
    return 0


async def _stop_on_signal(server: Server) -> None:
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for _ in signals:
            print("shutting down", flush=True)
            await server.shutdown()
            return


# -- get ------------------------------------------------------------------------------


class _Progress:
    """A one-line progress bar on stderr (only used when stderr is a terminal)."""

    def __init__(self, total: int | None) -> None:
        self.total = total
        self.done = 0
        self.start = time.monotonic()
        self.shown = 0.0

    def update(self, n: int, final: bool = False) -> None:
        """Count ``n`` more bytes; redraw at most ten times a second (and at the end)."""
        self.done += n
        now = time.monotonic()
        if not final and now - self.shown < 0.1:
            return
        self.shown = now
        rate = self.done / max(now - self.start, 1e-6)
        if self.total:
            frac = min(self.done / self.total, 1.0)
            bar = "#" * int(frac * 30)
            line = f"[{bar:<30}] {frac * 100:5.1f}% {_size(self.done)}/{_size(self.total)}"
        else:
            line = f"{_size(self.done)}"
        sys.stderr.write(f"\r{line} {_size(int(rate))}/s ")
        if final:
            sys.stderr.write("\n")
        sys.stderr.flush()


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f}{unit}" if unit == "B" else f"{value:.1f}{unit}"
        value /= 1024
    return f"{n}B"  # pragma: no cover


def get(args: argparse.Namespace) -> int:
    """Make one request; body to stdout or ``-o FILE``; heads on stderr with ``-v``."""
    headers = []
    for spec in args.header:
        name, colon, value = spec.partition(":")
        if not colon:
            raise SystemExit(f"-H wants 'Name: value', got {spec!r}")
        headers.append((name.strip(), value.strip()))
    body: bytes | None = None
    if args.data is not None:
        if args.data == "@-":
            body = sys.stdin.buffer.read()
        elif args.data.startswith("@"):
            with open(args.data[1:], "rb") as f:
                body = f.read()
        else:
            body = args.data.encode("utf-8")
    method = args.method or ("POST" if body is not None else "GET")

    async def main(net: backends.Backend) -> int:
        async with (
            Client(net, timeout=args.timeout, follow_redirects=args.location) as client,
            client.stream(method, args.url, headers=headers, body=body) as r,
        ):
            if args.verbose:
                sys.stderr.write(f"> {method} {args.url}\n")
                for name, value in headers:
                    sys.stderr.write(f"> {name}: {value}\n")
                for old in r.history:
                    _show(old)
                _show(r)
            out: BinaryIO
            progress = None
            if args.output:
                out = open(args.output, "wb")  # noqa: SIM115 - closed below
                if sys.stderr.isatty():
                    length = r.headers.get("content-length")
                    progress = _Progress(int(length) if length and length.isdigit() else None)
            else:
                out = sys.stdout.buffer
            try:
                async for piece in r.aiter_bytes():
                    out.write(piece)
                    if progress:
                        progress.update(len(piece))
                if progress:
                    progress.update(0, final=True)
            finally:
                if args.output:
                    out.close()
                else:
                    out.flush()
            return 22 if args.fail and r.status >= 400 else 0

    try:
        code: int = _run(args, main)
    except (ClientError, ProtocolError, backends.NetworkError, ValueError) as exc:
        print(f"cohttp get: {exc}", file=sys.stderr)
        return 1
    return code


def _show(r: Any) -> None:
    sys.stderr.write(f"< {r.version} {r.status} {r.reason}\n")
    for name, value in r.headers:
        sys.stderr.write(f"< {name}: {value}\n")
    sys.stderr.write("<\n")


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m cohttp``."""
    args = _parser().parse_args(argv)
    if args.command == "serve":
        return serve(args)
    return get(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

__all__ = ["main"]
