"""``python -m cohttp run module:app``: serve an ASGI application, with uvicorn's flags.

::

    python -m cohttp run myapp:app --port 8000
    python -m cohttp run myapp:create_app --factory --workers 4 --proxy-headers
    python -m cohttp run myapp:app --backend trio --limit-concurrency 100
    python -m cohttp run myapp:app --uds /run/myapp/http.sock     # behind nginx

One process serves by default. With ``--workers N`` a supervisor binds the socket, starts
N worker processes that inherit it (``--fd``) and accept from it, restarts a worker that
dies, and on SIGTERM/SIGINT passes SIGTERM on: each worker stops accepting, lets its
requests in flight finish (``--timeout-graceful-shutdown``), runs the lifespan shutdown
and exits; a worker still there after that is killed. ``--reload`` (the ``watchfiles``
extra) is the supervisor with one worker, restarted when a ``.py`` file under
``--reload-dir`` changes.

HTTPS with uvicorn's ``--ssl-certfile``, ``--ssl-keyfile``, ``--ssl-keyfile-password``,
``--ssl-ca-certs`` and ``--ssl-cert-reqs`` (see :mod:`cohttp.cli`).

``--uds PATH`` listens on a Unix socket (mode 0666, as uvicorn; a stale socket file there
is replaced, the file removed at exit) and ``--fd N`` on an inherited listening socket,
on the asyncio and trio backends; ``--backend mirage`` serves on our own TCP/IP stack
over ``--tap`` with ``--ip``. SIGTERM and SIGINT stop every backend the same way.

The scope is filled as uvicorn fills it: ``server`` is the listening address (None on a
Unix socket), ``client`` the peer's (None on a Unix socket), ``scheme`` ``http``
(``https`` over TLS), ``root_path`` ``--root-path`` (also in front of ``path``); with ``--proxy-headers``
a request from an address in ``--forwarded-allow-ips`` has its client and scheme taken
from ``X-Forwarded-For``/``X-Forwarded-Proto`` or RFC 7239 ``Forwarded``.
"""

from __future__ import annotations

import argparse
import importlib
import ipaddress
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import backends
from backends.cli import BoundSocket, device_options, listen_host, stop_signal
from backends.interface import Listener, SocketListening

from .asgi import ASGIApp, ASGIHandler, Message, Receive, Scope, Send
from .compression import CompressionMiddleware
from .server import Handler, Server, ServerConfig
from .types import Request, Response

log = logging.getLogger("cohttp.run")


class AppImportError(Exception):
    """``module:attribute`` does not name an importable ASGI application."""


def import_app(spec: str, *, factory: bool = False) -> ASGIApp:
    """The application named by ``module:attribute`` (``attribute`` may be dotted); with
    ``factory`` the attribute is called with no arguments to make it."""
    module_name, colon, attr = spec.partition(":")
    if not colon or not module_name or not attr:
        raise AppImportError(f'app must be given as "module:attribute", got {spec!r}')
    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # as uvicorn does: the app is found from here
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name and not module_name.startswith(f"{exc.name}."):
            raise  # the app's own import failed: show that, not a wrong name
        raise AppImportError(f"could not import module {module_name!r}") from None
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise AppImportError(
                f"attribute {attr!r} not found in module {module_name!r}"
            ) from None
    if factory:
        if not callable(obj):
            raise AppImportError(f"--factory: {spec} is not callable")
        obj = obj()
    if not callable(obj):
        raise AppImportError(f"{spec} is not an ASGI application (not callable)")
    return obj  # type: ignore[no-any-return]


# -- proxy headers -------------------------------------------------------------------------


class TrustedHosts:
    """The addresses ``--forwarded-allow-ips`` names: IPs, networks, or ``*`` for any."""

    def __init__(self, spec: str) -> None:
        self.any = False
        self.networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        for item in spec.split(","):
            item = item.strip()
            if not item:
                continue
            if item == "*":
                self.any = True
                continue
            try:
                self.networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                raise ValueError(f"--forwarded-allow-ips: {item!r} is not an IP or network")

    def __contains__(self, host: object) -> bool:
        if self.any:
            return True  # also a peer without an address (a Unix socket's), as uvicorn
        if not isinstance(host, str):
            return False
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(ip in net for net in self.networks)


def _split_outside_quotes(text: str, sep: str) -> list[str]:
    """``text`` split at ``sep`` outside quoted-strings (RFC 9110 5.6.4), one pass."""
    parts: list[str] = []
    start = 0
    quoted = escaped = False
    for i, ch in enumerate(text):
        if escaped:
            escaped = False
        elif quoted and ch == "\\":
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif ch == sep and not quoted:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def _unquote_value(value: str) -> str:
    value = value.strip(" \t")
    if len(value) >= 2 and value[0] == value[-1] == '"':
        out: list[str] = []
        escaped = False
        for ch in value[1:-1]:
            if escaped or ch != "\\":
                out.append(ch)
                escaped = False
            else:
                escaped = True
        return "".join(out)
    return value


def parse_forwarded(value: str) -> list[dict[str, str]]:
    """The elements of a ``Forwarded`` field (RFC 7239 4), nearest proxy last; parameter
    names lowercased, values unquoted."""
    elements = []
    for element in _split_outside_quotes(value, ","):
        pairs: dict[str, str] = {}
        for pair in _split_outside_quotes(element, ";"):
            name, eq, raw = pair.partition("=")
            if eq:
                pairs[name.strip(" \t").lower()] = _unquote_value(raw)
        elements.append(pairs)
    return elements


def _node_host(node: str) -> str:
    """The address of a ``for=`` node (RFC 7239 6): ``[v6]:port``, ``v4:port`` or bare."""
    if node.startswith("["):
        return node[1 : node.find("]")] if "]" in node else node
    if node.count(":") == 1:
        return node.split(":")[0]
    return node


class ProxyHeaders:
    """ASGI middleware: behind trusted proxies, the scope's ``client`` and ``scheme`` are
    the ones the proxies report.

    Only a request whose peer is in ``trusted`` is changed. The client is the nearest
    address in the chain that is not itself trusted (the proxies append, so the chain is
    walked from its end; an untrusted hop could have written anything before it). RFC 7239
    ``Forwarded`` wins over ``X-Forwarded-For``/``-Proto`` when both are present.
    """

    def __init__(self, app: ASGIApp, trusted: TrustedHosts) -> None:
        self.app = app
        self.trusted = trusted

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        peer = client[0] if client else None  # None over a Unix socket: only "*" trusts it
        if scope["type"] in ("http", "websocket") and peer in self.trusted:
            forwarded: list[str] = []
            xff: list[str] = []
            proto: str | None = None
            for name, value in scope["headers"]:
                if name == b"forwarded":
                    forwarded.append(value.decode("latin-1"))
                elif name == b"x-forwarded-for":
                    xff.append(value.decode("latin-1"))
                elif name == b"x-forwarded-proto":
                    proto = value.decode("latin-1")
            hosts: list[str] = []
            protos: list[str] = []
            if forwarded:
                for element in parse_forwarded(",".join(forwarded)):
                    hosts.append(_node_host(element.get("for", "")))
                    protos.append(element.get("proto", ""))
            elif xff:
                hosts = [h.strip(" \t") for h in ",".join(xff).split(",")]
                if proto is not None:
                    protos = [proto.split(",")[-1].strip(" \t")]
            new_client = None
            for host in reversed(hosts):
                if host and host not in self.trusted:
                    new_client = host
                    break
            else:
                if hosts and hosts[0]:
                    new_client = hosts[0]
            scheme = protos[-1].lower() if protos and protos[-1] else None
            if new_client is not None or scheme:
                scope = dict(scope)
                if new_client is not None:
                    scope["client"] = (new_client, 0)
                if scheme in ("http", "https"):
                    if scope["type"] == "websocket":
                        scheme = "wss" if scheme == "https" else "ws"
                    scope["scheme"] = scheme
        await self.app(scope, receive, send)


# -- limits ---------------------------------------------------------------------------------


class _Limited:
    """A handler that answers 503 beyond ``concurrency`` requests in flight and asks for a
    shutdown after ``max_requests`` (each 0: no limit)."""

    def __init__(self, handler: Handler, concurrency: int, max_requests: int) -> None:
        self.handler = handler
        self.concurrency = concurrency
        self.max_requests = max_requests
        self.in_flight = 0
        self.count = 0
        self.exhausted: Any = None  # an Event set when max_requests is reached

    async def __call__(self, request: Request) -> Response:
        if self.concurrency and self.in_flight >= self.concurrency:
            return Response(
                503,
                b"Service Unavailable",
                [("content-type", "text/plain; charset=utf-8"), ("connection", "close")],
            )
        self.count += 1
        if self.max_requests and self.count == self.max_requests and self.exhausted:
            self.exhausted.set()
        self.in_flight += 1
        try:
            return await self.handler(request)
        finally:
            self.in_flight -= 1


# -- one worker -----------------------------------------------------------------------------


def serve_app(args: argparse.Namespace, fd: int | None = None) -> int:
    """Serve ``args.app`` in this process until SIGTERM/SIGINT (or --limit-max-requests)."""
    try:
        app = import_app(args.app, factory=args.factory)
    except AppImportError as exc:
        _say(str(exc))
        return 1
    trusted = TrustedHosts(args.forwarded_allow_ips) if args.proxy_headers else None
    if trusted is not None:
        app = ProxyHeaders(app, trusted)
    if args.gzip:
        app = CompressionMiddleware(app)
    from .cli import TLSSetupError, server_tls

    try:
        context = server_tls(args)
    except TLSSetupError as exc:
        _say(str(exc))
        return 1
    config = ServerConfig(
        idle_timeout=args.timeout_keep_alive,
        access_log=args.access_log,
        shutdown_grace=args.timeout_graceful_shutdown,
        tls=context,
        http2=args.http2,
    )

    async def main(net: backends.Backend) -> None:
        host, port = listen_host(args), args.port
        handler = ASGIHandler(
            app,
            net,
            root_path=args.root_path,
            lifespan=args.lifespan != "off",
            server=(host, port),
        )
        async with handler:
            if args.lifespan == "on" and not handler.lifespan_supported:
                raise AppImportError("--lifespan on, but the app does not support lifespan")
            limited = _Limited(handler, args.limit_concurrency, args.limit_max_requests)
            server = Server(
                limited if (args.limit_concurrency or args.limit_max_requests) else handler,
                config,
            )
            # Accepting starts only now, after the start-up: a worker still starting
            # would otherwise take connections from a shared socket and sit on them.
            listener = await open_listener(net, args, fd)
            if listener is not None:
                host, port = server.adopt(net, listener)[:2]
            else:
                host, port = await server.listen(net, host, port)
            # as uvicorn: a Unix socket (the only listener with port 0) has no server
            handler.server = (host, port) if port else None
            if port:
                shown = f"[{host}]" if ":" in host else host
                where = f"{'http' if context is None else 'https'}://{shown}:{port}"
            else:
                where = f"unix socket {host}"
            log.info("cohttp running on %s (pid %d, %s)", where, os.getpid(), net.name)
            limited.exhausted = net.event()
            async with net.task_group() as tg:
                tg.start_soon(_stop_on_signal, server, args.timeout_graceful_shutdown)
                tg.start_soon(_stop_when, limited.exhausted, server, args.timeout_graceful_shutdown)
                await server.serve_forever()
                tg.cancel_scope.cancel()
        log.info("finished server process %d", os.getpid())

    from .cli import _run

    try:
        _run(args, main, **device_options(args))  # one error from a task group: unwrapped
    except KeyboardInterrupt:
        pass
    except AppImportError as exc:
        _say(str(exc))
        return 3
    except backends.AddressInUse as exc:
        if getattr(args, "uds", None) and fd is None:
            _say(str(exc))
        else:
            _say(f"port {args.port} on {listen_host(args)} is already in use")
        return 1
    except (OSError, ValueError) as exc:  # NetworkError, an --fd that is not a socket...
        _say(f"cannot serve on {_where(args, fd)}: {getattr(exc, 'strerror', None) or exc}")
        return 1
    return 0


def _where(args: argparse.Namespace, fd: int | None) -> str:
    if fd is not None:
        return f"--fd {fd}"
    uds = getattr(args, "uds", None)
    return f"unix socket {uds}" if uds else f"{listen_host(args)} port {args.port}"


UDS_MODE = 0o666
"""The mode of a ``--uds`` socket file (uvicorn's: any local user may connect; put it in a
directory whose permissions say who may reach it)."""


async def open_listener(
    net: backends.Backend, args: argparse.Namespace, fd: int | None
) -> Listener | None:
    """The listener ``--fd`` or ``--uds`` asks for (None: a TCP port, ``--host/--port``);
    :class:`ValueError` on a backend without kernel sockets (mirage)."""
    uds: str | None = getattr(args, "uds", None)
    if fd is None and not uds:
        return None
    if not isinstance(net, SocketListening):
        raise ValueError(f"--fd and --uds need a kernel backend (asyncio or trio), not {net.name}")
    if fd is not None:
        return await net.listen_fd(fd)
    assert uds is not None
    return await net.listen_unix(uds, mode=UDS_MODE)


async def _stop_on_signal(server: Server, grace: float) -> None:
    await stop_signal()
    log.info("shutting down (pid %d)", os.getpid())
    await server.shutdown(grace)


async def _stop_when(event: Any, server: Server, grace: float) -> None:
    await event.wait()
    log.info("--limit-max-requests reached: shutting down (pid %d)", os.getpid())
    await server.shutdown(grace)


# -- the supervisor -------------------------------------------------------------------------


def _worker_argv(args: argparse.Namespace, fd: int) -> list[str]:
    argv = [sys.executable, "-m", "cohttp", "run", args.app, "--fd", str(fd)]
    argv += ["--backend", args.backend, "--lifespan", args.lifespan, "--log-level", args.log_level]
    argv += ["--root-path", args.root_path, "--timeout-keep-alive", str(args.timeout_keep_alive)]
    argv += ["--timeout-graceful-shutdown", str(args.timeout_graceful_shutdown)]
    argv += ["--limit-concurrency", str(args.limit_concurrency)]
    argv += ["--limit-max-requests", str(args.limit_max_requests)]
    argv += ["--forwarded-allow-ips", args.forwarded_allow_ips]
    for flag, on in (
        ("--factory", args.factory),
        ("--uvloop", args.uvloop),
        ("--proxy-headers", args.proxy_headers),
        ("--no-access-log", not args.access_log),
        ("--gzip", args.gzip),
    ):
        if on:
            argv.append(flag)
    from .cli import tls_argv

    return argv + tls_argv(args)


def _changes(directories: list[str], stop: threading.Event) -> Iterator[bool]:
    import watchfiles

    for _ in watchfiles.watch(
        *directories,
        watch_filter=watchfiles.PythonFilter(),
        stop_event=stop,
        yield_on_timeout=False,
    ):
        yield True


def supervise(
    args: argparse.Namespace, worker_argv: Callable[[argparse.Namespace, int], list[str]]
) -> int:
    """Bind, run ``--workers`` processes (``worker_argv(args, fd)``) on the socket, keep them
    running until SIGTERM/SIGINT, then stop them (``cohttp run`` and ``cohttp serve``)."""
    reload = getattr(args, "reload", False)
    workers = 1 if reload else args.workers
    if reload:
        try:
            import watchfiles  # noqa: F401
        except ImportError:
            _say("--reload needs the watchfiles package (pip install watchfiles)")
            return 1
    uds = getattr(args, "uds", None)
    try:
        sock = BoundSocket(listen_host(args), args.port, uds=uds, mode=UDS_MODE)
    except OSError as exc:
        _say(f"cannot serve on {_where(args, None)}: {exc.strerror or exc}")
        return 1
    host, port = sock.address
    where = f"unix socket {host}" if uds else f"http://{host}:{port}"
    log.info("supervisor %d: %s, %d worker(s)", os.getpid(), where, workers)
    stopping = threading.Event()
    changed = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if reload:

        def watch() -> None:
            for _ in _changes(args.reload_dir or [os.getcwd()], stopping):
                changed.set()

        threading.Thread(target=watch, daemon=True).start()
    argv = worker_argv(args, sock.fileno())
    procs: list[subprocess.Popen[bytes]] = []

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(argv, pass_fds=(sock.fileno(),))

    try:
        procs = [start() for _ in range(workers)]
        while not stopping.wait(0.2):
            if changed.is_set():
                changed.clear()
                log.info("a file changed: restarting the worker")
                _stop_all(procs, _grace(args))
                procs = [start() for _ in range(workers)]
                continue
            for i, proc in enumerate(procs):
                if proc.poll() is not None and not stopping.is_set():
                    log.warning(
                        "worker %d exited with %s: starting another", proc.pid, proc.returncode
                    )
                    procs[i] = start()
    finally:
        _stop_all(procs, _grace(args))
        sock.close()
    return 0


def _grace(args: argparse.Namespace) -> float:
    grace: float = getattr(args, "timeout_graceful_shutdown", 10.0)
    return grace


def _stop_all(procs: list[subprocess.Popen[bytes]], grace: float) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace + 5  # the workers' own grace, then lifespan shutdown
    for proc in procs:
        try:
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log.warning("worker %d did not stop in time: killed", proc.pid)
            proc.kill()
            proc.wait()


def _say(message: str) -> None:
    print(f"cohttp run: {' '.join(message.split())}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    """``python -m cohttp run``: one process, or a supervisor for workers and --reload."""
    level = getattr(logging, args.log_level.upper())
    logging.basicConfig(level=level, format="%(levelname)s: %(message)s", stream=sys.stderr)
    if not args.access_log or level > logging.INFO:
        logging.getLogger("cohttp.access").setLevel(logging.WARNING)
    if args.uvloop and args.backend != "asyncio":
        _say("--uvloop only applies to --backend asyncio")
        return 2
    if device_options(args) and args.backend != "mirage":
        _say("--tap/--ip/--gateway only apply to --backend mirage")
        return 2
    if args.fd is not None and args.uds:
        _say("--fd and --uds: give one")
        return 2
    if (args.fd is not None or args.uds) and args.backend == "mirage":
        _say("--fd and --uds need a kernel backend (asyncio or trio), not mirage")
        return 2
    if args.workers > 1 or args.reload:
        if args.fd is not None:
            _say("--fd serves one process: drop --workers/--reload")
            return 2
        if args.backend == "mirage":
            _say("--workers and --reload need a kernel backend (asyncio or trio)")
            return 2
        from .cli import PASSWORD_ENV, TLSSetupError, server_tls

        try:
            server_tls(args)  # a bad certificate is said once, by the supervisor
        except TLSSetupError as exc:
            _say(str(exc))
            return 1
        if args.ssl_keyfile_password:  # workers read it from the environment
            os.environ[PASSWORD_ENV] = args.ssl_keyfile_password
        return supervise(args, _worker_argv)
    return serve_app(args, args.fd)


__all__ = [
    "AppImportError",
    "Message",
    "ProxyHeaders",
    "TrustedHosts",
    "import_app",
    "open_listener",
    "parse_forwarded",
    "run",
    "serve_app",
    "supervise",
]
