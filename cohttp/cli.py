"""The command line: ``python -m cohttp serve ...`` and ``python -m cohttp get ...``.

::

    python -m cohttp serve examples/site/www.ocaml.test --port 8080
    python -m cohttp serve --vhost www.ocaml.test=examples/site/www.ocaml.test \\
        --vhost opam.ocaml.test=examples/site/opam.ocaml.test examples/site/default
    python -m cohttp serve DIR --backend mirage --tap tap0 --ip 10.0.0.2/24
    python -m cohttp serve DIR --port 8443 --ssl-certfile cert.pem --ssl-keyfile key.pem \
        --vhost www.ocaml.test=examples/site/www.ocaml.test,www.pem,www.key
    python -m cohttp get http://127.0.0.1:8080/ -v
    python -m cohttp get --cacert ca.pem https://127.0.0.1:8443/
    python -m cohttp get -X POST -H 'content-type: text/plain' -d hello http://127.0.0.1:8080/
    python -m cohttp get -L -o page.html http://127.0.0.1:8080/docs

A mistake or a failure prints one line on stderr and sets the exit status: ``serve`` exits
1 (2 for a usage error, as argparse does); ``get`` exits with curl's code for the same
failure (6 unresolvable host, 7 refused, 28 timeout, 23 output not writable, 26 ``-d @FILE``
unreadable, 3 malformed URL, 60 a certificate not verified, 35 another TLS handshake
failure, 77 an unusable ``--cacert``...), so scripts written for curl read it the same way.

HTTPS: ``serve`` and ``run`` take uvicorn's ``--ssl-certfile``, ``--ssl-keyfile``,
``--ssl-keyfile-password`` (or ``$COHTTP_SSL_KEYFILE_PASSWORD``), ``--ssl-ca-certs`` and
``--ssl-cert-reqs``; ``serve --vhost HOST=DIR,CERT[,KEY]`` gives a virtual host its own
certificate, chosen by the name the client sends in SNI (RFC 6066 3); a client sending
another name, or none, gets ``--ssl-certfile``'s. ``get`` verifies certificates against
the system's CAs, or ``--cacert FILE``'s; ``-k``/``--insecure`` does not verify.
``--resolve HOST:PORT:ADDRESS`` (curl's) connects to ADDRESS for HOST:PORT: the way to
use names with ``--backend mirage``, which has no resolver of its own.
"""

from __future__ import annotations

import argparse
import logging
import os
import ssl
import sys
import time
from typing import Any, BinaryIO, NoReturn

import backends
from backends import tls
from backends.cli import add_backend_arguments, device_options, listen_host, stop_signal

from .client import (
    Client,
    ClientError,
    InvalidURL,
    RemoteProtocolError,
    TooManyRedirects,
    UnsupportedProtocol,
)
from .codec import Limits, is_token, parse_number
from .compression import ACCEPT_ENCODING, DecodedTooLarge, Policy, decode_aiter
from .compression import DecodingError as ContentDecodingError
from .headers import Headers, InvalidHeader
from .server import ALPN_HTTP2, ALPN_PROTOCOLS, Server, ServerConfig
from .static import StaticFiles, VirtualHosts


class _ArgumentParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (the problem), not the usage text too."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see --help)\n")


def _port(text: str) -> int:
    """A TCP port from the command line: 0..65535."""
    port = parse_number(text, 5)
    if port is None or port > 65535:
        raise argparse.ArgumentTypeError(f"port must be a number in 0..65535, got {text!r}")
    return port


def _size_limit(text: str) -> int:
    """A byte count from the command line (at most 18 digits)."""
    size = parse_number(text, 18)
    if size is None:
        raise argparse.ArgumentTypeError(f"expected a number of bytes, got {text!r}")
    return size


def _method(text: str) -> str:
    """A request method: a token (RFC 9110 9.1, 5.6.2)."""
    if not is_token(text):
        raise argparse.ArgumentTypeError(f"a method is a token such as GET, got {text!r}")
    return text


def _count(text: str) -> int:
    n = parse_number(text, 9)
    if n is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number")
    return n


def _seconds(text: str) -> float:
    """A positive number of seconds (``0.5``, ``30``)."""
    try:
        value = float(text) if len(text) <= 20 else -1.0
    except ValueError:
        value = -1.0
    if not 0 < value < 1e9:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


PASSWORD_ENV = "COHTTP_SSL_KEYFILE_PASSWORD"
"""Where ``--ssl-keyfile-password`` may be given instead (workers get it this way, so it
shows in no process list)."""


def add_tls_arguments(parser: argparse.ArgumentParser) -> None:
    """uvicorn's ``--ssl-*`` options, for ``serve`` and ``run``."""
    parser.add_argument("--ssl-certfile", help="serve HTTPS with this certificate chain (PEM)")
    parser.add_argument("--ssl-keyfile", help="its private key (default: in --ssl-certfile)")
    parser.add_argument("--ssl-keyfile-password", help=f"the key's password (or ${PASSWORD_ENV})")
    parser.add_argument("--ssl-ca-certs", help="CAs client certificates are verified against")
    parser.add_argument(
        "--ssl-cert-reqs",
        type=int,
        choices=[0, 1, 2],
        default=0,
        help="client certificates: 0 not asked for, 1 optional, 2 required",
    )
    parser.add_argument(
        "--http2", action="store_true", help="with --ssl-certfile: offer HTTP/2 too (ALPN h2)"
    )


class TLSSetupError(ValueError):
    """A certificate, key or CA file given on the command line cannot be used."""


def server_tls(
    args: argparse.Namespace, vhosts: dict[str, tuple[str, str | None]] | None = None
) -> ssl.SSLContext | None:
    """The server context the ``--ssl-*`` options describe (None without
    ``--ssl-certfile``), choosing ``vhosts[name]``'s ``(certfile, keyfile)`` for a client
    whose SNI is ``name``. :class:`TLSSetupError` names the file that failed."""
    if args.ssl_certfile is None:
        for flag in ("ssl_keyfile", "ssl_ca_certs", "http2"):
            if getattr(args, flag):
                raise TLSSetupError(f"--{flag.replace('_', '-')} needs --ssl-certfile")
        if vhosts:
            raise TLSSetupError(
                "a --vhost certificate needs --ssl-certfile (the certificate of other names)"
            )
        return None
    password = args.ssl_keyfile_password or os.environ.get(PASSWORD_ENV)
    alpn = ALPN_HTTP2 if args.http2 else ALPN_PROTOCOLS

    def make(
        certfile: str,
        keyfile: str | None,
        choose: Any = None,
    ) -> ssl.SSLContext:
        try:
            context = tls.server_context(
                certfile, keyfile, alpn=alpn, choose=choose, password=password
            )
            if args.ssl_ca_certs:
                context.load_verify_locations(args.ssl_ca_certs)
        except FileNotFoundError as exc:
            raise TLSSetupError(f"no such file: {exc.filename or certfile}") from None
        except (OSError, ssl.SSLError, ValueError) as exc:
            files = ", ".join(f for f in (certfile, keyfile, args.ssl_ca_certs) if f)
            detail = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or exc
            raise TLSSetupError(f"cannot use {files}: {detail}") from None
        context.verify_mode = (ssl.CERT_NONE, ssl.CERT_OPTIONAL, ssl.CERT_REQUIRED)[
            args.ssl_cert_reqs
        ]
        return context

    by_name = {
        name.lower().rstrip("."): make(certfile, keyfile)
        for name, (certfile, keyfile) in (vhosts or {}).items()
    }

    def choose(name: str | None) -> ssl.SSLContext | None:
        return by_name.get(name.lower().rstrip(".")) if name else None

    return make(args.ssl_certfile, args.ssl_keyfile, choose if by_name else None)


def _parser() -> argparse.ArgumentParser:
    p = _ArgumentParser(
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
        metavar="HOST=DIR[,CERT[,KEY]]",
        help="serve DIR for Host HOST (repeatable); with HTTPS, CERT for SNI name HOST",
    )
    s.add_argument(
        "--host", help="address to listen on (default 127.0.0.1, or --ip's address on mirage)"
    )
    s.add_argument("--port", type=_port, default=8080, help="port (0: any free port)")
    s.add_argument("--workers", type=_count, default=1, help="worker processes (default 1)")
    s.add_argument("--fd", type=_count, help="serve an inherited listening socket")
    s.add_argument("--uds", metavar="PATH", help="listen on a Unix socket at PATH (mode 0666)")
    s.add_argument("--no-listing", action="store_true", help="no directory listings")
    s.add_argument("--quiet", action="store_true", help="no access log")
    s.add_argument(
        "--gzip",
        action="store_true",
        help=f"compress text responses for clients that accept it ({ACCEPT_ENCODING}; "
        "nginx's gzip on)",
    )
    s.add_argument(
        "--max-body", type=_size_limit, default=16 * 1024 * 1024, help="request body limit"
    )
    add_tls_arguments(s)
    add_backend_arguments(s, uvloop=True)

    r = sub.add_parser(
        "run",
        help="serve an ASGI application (uvicorn's flags)",
        description="Serve an ASGI application: python -m cohttp run module:app",
    )
    r.add_argument("app", help="the application, as module:attribute")
    r.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    r.add_argument("--port", type=_port, default=8000, help="port (default 8000; 0: any)")
    r.add_argument("--uds", metavar="PATH", help="listen on a Unix socket at PATH (mode 0666)")
    r.add_argument("--fd", type=_count, help="serve an inherited listening socket")
    r.add_argument("--factory", action="store_true", help="app is a factory: call it")
    r.add_argument("--workers", type=_count, default=1, help="worker processes (default 1)")
    r.add_argument("--reload", action="store_true", help="restart on .py changes (watchfiles)")
    r.add_argument("--reload-dir", action="append", help="directory --reload watches")
    r.add_argument("--root-path", default="", help="the scope's root_path (a mount prefix)")
    r.add_argument(
        "--proxy-headers", action="store_true", help="trust X-Forwarded-*/Forwarded from proxies"
    )
    r.add_argument(
        "--forwarded-allow-ips",
        default=os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
        help="comma-separated proxy addresses or networks to trust, * for any",
    )
    r.add_argument(
        "--log-level",
        default="info",
        choices=["critical", "error", "warning", "info", "debug"],
    )
    r.add_argument("--access-log", action=argparse.BooleanOptionalAction, default=True)
    r.add_argument(
        "--limit-concurrency", type=_count, default=0, help="503 beyond N requests in flight"
    )
    r.add_argument(
        "--limit-max-requests", type=_count, default=0, help="a worker exits after N requests"
    )
    r.add_argument("--timeout-keep-alive", type=_seconds, default=5.0, help="idle seconds")
    r.add_argument(
        "--timeout-graceful-shutdown",
        type=_seconds,
        default=30.0,
        help="seconds in-flight requests get after SIGTERM",
    )
    r.add_argument("--lifespan", choices=["auto", "on", "off"], default="auto")
    r.add_argument(
        "--gzip",
        action="store_true",
        help="compress responses for clients that accept it (CompressionMiddleware)",
    )
    add_tls_arguments(r)
    add_backend_arguments(r, uvloop=True)

    g = sub.add_parser("get", help="make one request and print or save the body")
    g.add_argument("url")
    g.add_argument(
        "-X", "--request", dest="method", type=_method, help="method (default GET, or POST with -d)"
    )
    g.add_argument("-H", "--header", action="append", default=[], metavar="'NAME: VALUE'")
    g.add_argument("-d", "--data", help="request body; @FILE reads a file, @- stdin")
    g.add_argument("-o", "--output", help="write the body to FILE")
    g.add_argument("-L", "--location", action="store_true", help="follow redirects")
    g.add_argument("-v", "--verbose", action="store_true", help="show the heads on stderr")
    g.add_argument("-f", "--fail", action="store_true", help="exit 22 on a 4xx/5xx status")
    g.add_argument("--timeout", type=_seconds, default=30.0, help="seconds (default 30)")
    g.add_argument(
        "--compressed",
        action="store_true",
        help=f"ask for a compressed body ({ACCEPT_ENCODING}) and decode it",
    )
    g.add_argument(
        "--max-filesize",
        type=_size_limit,
        help=f"fail (63) past this many body bytes (with --compressed: decoded; "
        f"default {DECODED_LIMIT >> 20} MiB)",
    )
    g.add_argument(
        "--cacert", metavar="FILE", help="https: trust these CAs (PEM), not the system's"
    )
    g.add_argument(
        "-k", "--insecure", action="store_true", help="https: verify no certificate or host name"
    )
    g.add_argument(
        "--resolve",
        action="append",
        default=[],
        type=_resolve_entry,
        metavar="HOST:PORT:ADDRESS",
        help="connect to ADDRESS for HOST:PORT (repeatable)",
    )
    add_backend_arguments(g, uvloop=True, device=False)
    return p


def _run(args: argparse.Namespace, main: Any, **options: Any) -> Any:
    """``main`` on the chosen backend; a lone error that a backend's task group wrapped
    (mirage hosts the program in one) comes out unwrapped, to be reported as itself."""
    try:
        return backends.run(main, backend=args.backend, uvloop=args.uvloop, **options)
    except BaseExceptionGroup as group:
        inner: BaseException = group
        while isinstance(inner, BaseExceptionGroup) and len(inner.exceptions) == 1:
            inner = inner.exceptions[0]
        if inner is group:
            raise
        raise inner from None


# -- serve ----------------------------------------------------------------------------


def _say(command: str, message: str) -> None:
    """One line on stderr naming the problem (whitespace, newlines too, folded to spaces)."""
    print(f"cohttp {command}: {' '.join(message.split())}", file=sys.stderr)


def _fail(command: str, message: str, code: int) -> NoReturn:
    """End the command: :func:`_say` the problem and exit with ``code``."""
    _say(command, message)
    raise SystemExit(code)


def serve(args: argparse.Namespace) -> int:
    """Run the static server until SIGINT/SIGTERM, then shut down gracefully."""
    listing = not args.no_listing
    compress = Policy() if args.gzip else None
    hosts: dict[str, StaticFiles] = {}
    certificates: dict[str, tuple[str, str | None]] = {}
    try:
        for spec in args.vhost:
            name, eq, value = spec.partition("=")
            directory, *files = value.split(",")
            if not eq or not name or not directory or len(files) > 2 or "" in files:
                _fail("serve", f"--vhost wants HOST=DIR or HOST=DIR,CERT[,KEY], got {spec!r}", 2)
            hosts[name] = StaticFiles(directory, listing=listing, compress=compress)
            if files:
                certificates[name] = (files[0], files[1] if len(files) > 1 else None)
        default = StaticFiles(args.root, listing=listing, compress=compress)
        context = server_tls(args, certificates)
    except TLSSetupError as exc:
        _fail("serve", str(exc), 1)
    except OSError as exc:  # NotADirectoryError names the root; others: permissions...
        _fail("serve", str(exc), 1)
    if args.ssl_keyfile_password:  # workers read it from the environment
        os.environ[PASSWORD_ENV] = args.ssl_keyfile_password
    handler = VirtualHosts(hosts, default=default) if hosts else default
    if not args.quiet:
        logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    config = ServerConfig(
        limits=Limits(max_body=args.max_body),
        access_log=not args.quiet,
        tls=context,
        http2=args.http2,
    )
    server = Server(handler, config)
    options = device_options(args)
    if options and args.backend != "mirage":
        _fail("serve", "--tap/--ip/--gateway only apply to --backend mirage", 2)

    if args.fd is not None and args.uds:
        _fail("serve", "--fd and --uds: give one", 2)
    if (args.fd is not None or args.uds) and args.backend == "mirage":
        _fail("serve", "--fd and --uds need a kernel backend (asyncio or trio), not mirage", 2)
    if args.workers > 1:
        if args.fd is not None or args.backend == "mirage":
            _fail("serve", "--workers needs a kernel backend (asyncio or trio) and no --fd", 2)
        from .run import supervise

        return supervise(args, _serve_worker_argv)

    async def main(net: backends.Backend) -> None:
        from .run import open_listener

        listener = await open_listener(net, args, args.fd)
        if listener is not None:
            host, port = server.adopt(net, listener)[:2]
        else:
            host, port = await server.listen(net, listen_host(args), args.port)
        if port:
            shown = f"[{host}]" if ":" in host else host
            scheme = "http" if context is None else "https"
            print(f"serving on {scheme}://{shown}:{port}/ ({net.name})", flush=True)
        else:  # a Unix socket
            print(f"serving on unix socket {host} ({net.name})", flush=True)
        for name, site in hosts.items():
            cert = f" (certificate {certificates[name][0]})" if name in certificates else ""
            print(f"  {name} -> {site.root}{cert}", flush=True)
        print(f"  default -> {default.root}", flush=True)
        async with net.task_group() as tg:
            tg.start_soon(_stop_on_signal, server)
            await server.serve_forever()
            tg.cancel_scope.cancel()

    try:
        _run(args, main, **options)
    except KeyboardInterrupt:
        pass
    except backends.AddressInUse as exc:
        if args.uds:
            _fail("serve", str(exc), 1)
        _fail("serve", f"port {args.port} on {listen_host(args)} is already in use", 1)
    except (OSError, ValueError) as exc:  # no such address, a bad --ip or --fd...
        from .run import _where

        detail = (exc.strerror if isinstance(exc, OSError) else None) or str(exc)
        _fail("serve", f"cannot serve on {_where(args, args.fd)}: {detail}", 1)
    return 0


def _serve_worker_argv(args: argparse.Namespace, fd: int) -> list[str]:
    """The command line of one ``serve --workers`` worker: the same options, on ``fd``."""
    argv = [sys.executable, "-m", "cohttp", "serve", args.root, "--fd", str(fd)]
    argv += ["--backend", args.backend, "--max-body", str(args.max_body)]
    for spec in args.vhost:
        argv += ["--vhost", spec]
    argv += [flag for flag, on in (("--no-listing", args.no_listing), ("--quiet", args.quiet),
                                   ("--gzip", args.gzip), ("--uvloop", args.uvloop)) if on]  # fmt: skip
    return argv + tls_argv(args)


def tls_argv(args: argparse.Namespace) -> list[str]:
    """The ``--ssl-*`` options again, for a worker's command line (the password goes
    through the environment)."""
    argv = []
    for flag in ("ssl_certfile", "ssl_keyfile", "ssl_ca_certs"):
        value = getattr(args, flag)
        if value:
            argv += ["--" + flag.replace("_", "-"), os.path.abspath(value)]
    argv += ["--http2"] if args.http2 else []
    return [*argv, "--ssl-cert-reqs", str(args.ssl_cert_reqs)]


async def _stop_on_signal(server: Server) -> None:
    await stop_signal()
    print("shutting down", flush=True)
    await server.shutdown()


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


class _OutputError(Exception):
    """The body could not be written where it was asked to go (curl's 23)."""


_GET_FAILURES: tuple[tuple[type[BaseException], int, str], ...] = (
    (UnsupportedProtocol, 1, ""),
    (InvalidURL, 3, ""),
    (backends.Timeout, 28, "timed out"),  # a resolver's timeout too, as curl counts it
    (backends.ResolutionError, 6, "could not resolve host"),
    (backends.CertificateError, 60, ""),  # the message names the host and the reason
    (backends.TLSTruncated, 56, ""),
    (backends.TLSError, 35, ""),
    (backends.ConnectionRefused, 7, "connection refused"),
    (backends.AddressUnavailable, 7, "could not connect"),
    (backends.ConnectionReset, 56, "connection reset"),
    (backends.NetworkError, 56, "network error"),
    (TooManyRedirects, 47, ""),
    (DecodedTooLarge, 63, ""),
    (ContentDecodingError, 61, "bad content encoding"),
    (RemoteProtocolError, 8, ""),
    (_OutputError, 23, ""),
    (ClientError, 1, ""),
)
"""What each failure of ``get`` exits with: curl's code for it, and the words that name
it when the exception's own message does not (network errors carry only the detail)."""


DECODED_LIMIT = 256 << 20
"""The decoded body ``get --compressed`` accepts without ``--max-filesize``."""


def _resolve_entry(text: str) -> tuple[str, int, str]:
    """A ``--resolve HOST:PORT:ADDRESS`` entry (curl's; an IPv6 address may be bracketed)."""
    host, _, rest = text.partition(":")
    port_text, _, address = rest.partition(":")
    port = parse_number(port_text, 5)
    address = address.removeprefix("[").removesuffix("]")
    if not host or port is None or not 0 < port < 65536 or not address:
        raise argparse.ArgumentTypeError(f"--resolve wants HOST:PORT:ADDRESS, got {text!r}")
    return host.lower().rstrip("."), port, address


class _Pinned:
    """The client's resolver for ``--resolve``: the given entries, else the backend's own
    resolution (none on mirage: then the name is refused, saying how to fix it)."""

    def __init__(self, net: backends.Backend, entries: list[tuple[str, int, str]]) -> None:
        self.net = net
        self.table = {(host, port): address for host, port, address in entries}

    async def lookup_address(self, host: str, port: int = 0) -> list[tuple[str, int]]:
        address = self.table.get((host.lower().rstrip("."), port))
        if address is not None:
            return [(address, port)]
        if self.net.resolves_names:
            return [(host, port)]  # tcp_connect resolves it
        raise backends.ResolutionError(
            f"{host}:{port} is not in --resolve (the {self.net.name} backend has no resolver)"
        )


def _read_data(spec: str) -> bytes:
    """The ``-d`` body: the text itself, ``@FILE``'s bytes, or stdin for ``@-``."""
    if spec == "@-":
        return sys.stdin.buffer.read()
    if not spec.startswith("@"):
        return spec.encode("utf-8")
    try:
        with open(spec[1:], "rb") as f:
            return f.read()
    except OSError as exc:
        _fail("get", f"(26) cannot read -d {spec}: {exc.strerror or exc}", 26)


class _Output:
    """Where the body goes (stdout or ``-o FILE``, opened when the response arrives, as
    curl does); any failure to open or write is an :class:`_OutputError`."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self.file: BinaryIO | None = None

    def write(self, data: bytes) -> None:
        try:
            if self.file is None:
                self.file = open(self.path, "wb") if self.path else sys.stdout.buffer  # noqa: SIM115
            self.file.write(data)
        except OSError as exc:
            raise _OutputError(f"cannot write {self._name}: {exc.strerror or exc}") from None

    def close(self) -> None:
        try:
            if self.file is None:
                self.write(b"")  # an empty body still creates the -o file
            assert self.file is not None
            if self.path:
                self.file.close()
            else:
                self.file.flush()
        except OSError as exc:
            raise _OutputError(f"cannot write {self._name}: {exc.strerror or exc}") from None

    @property
    def _name(self) -> str:
        return repr(self.path) if self.path else "to stdout"


def get(args: argparse.Namespace) -> int:
    """Make one request; body to stdout or ``-o FILE``; heads on stderr with ``-v``."""
    headers = []
    for spec in args.header:
        name, colon, value = spec.partition(":")
        if not colon:
            _fail("get", f"-H wants 'Name: value', got {spec!r}", 2)
        headers.append((name.strip(), value.strip()))
    try:
        Headers(headers)
    except InvalidHeader as exc:
        _fail("get", f"-H: {exc}", 2)
    body = _read_data(args.data) if args.data is not None else None
    method = args.method or ("POST" if body is not None else "GET")
    if args.compressed and not any(n.lower() == "accept-encoding" for n, _ in headers):
        headers.append(("Accept-Encoding", ACCEPT_ENCODING))
    limit = args.max_filesize
    if limit is None:
        limit = DECODED_LIMIT if args.compressed else 1 << 62
    if args.cacert is not None:  # curl's 77: the CA file cannot be used
        try:
            ssl.create_default_context(cafile=args.cacert)
        except (OSError, ssl.SSLError) as exc:
            detail = getattr(exc, "strerror", None) or getattr(exc, "reason", None) or exc
            _fail("get", f"(77) cannot use --cacert {args.cacert}: {detail}", 77)

    async def main(net: backends.Backend) -> int:
        async with (
            Client(
                net,
                timeout=args.timeout,
                follow_redirects=args.location,
                cafile=args.cacert,
                verify=not args.insecure,
                resolver=_Pinned(net, args.resolve) if args.resolve else None,
            ) as client,
            client.stream(method, args.url, headers=headers, body=body) as r,
        ):
            if args.verbose:
                sys.stderr.write(f"> {method} {args.url}\n")
                for name, value in headers:
                    sys.stderr.write(f"> {name}: {value}\n")
                for old in r.history:
                    _show(old)
                _show(r)
            out = _Output(args.output)
            # --compressed decodes whatever coding came (curl does too); the limit holds
            # for the decoded bytes, so a small body inflating hugely stops at it.
            coding = r.headers.get_all("content-encoding") if args.compressed else None
            progress = None
            if args.output and sys.stderr.isatty():  # decoded: its size is not known
                length = None if coding else parse_number(r.headers.get("content-length", ""))
                progress = _Progress(length)
            async for piece in decode_aiter(coding, r.aiter_bytes(), limit):
                out.write(piece)
                if progress:
                    progress.update(len(piece))
            out.close()
            if progress:
                progress.update(0, final=True)
            return 22 if args.fail and r.status >= 400 else 0

    try:
        code: int = _run(args, main)
    except KeyboardInterrupt:
        return 130
    except (ClientError, ContentDecodingError, _OutputError, backends.NetworkError) as exc:
        kind, code, what = next(f for f in _GET_FAILURES if isinstance(exc, f[0]))
        detail = (exc.strerror if isinstance(exc, OSError) else None) or str(exc)
        if kind is backends.Timeout:
            detail = f"no answer within {args.timeout:g} s"
        _say("get", f"({code}) {what}: {detail}" if what else f"({code}) {detail}")
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
    if args.command == "run":
        from .run import run

        return run(args)
    return get(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

__all__ = ["main"]
