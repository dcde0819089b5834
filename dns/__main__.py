"""``python -m dns``: serve zones, check zone files, send queries.

::

    python -m dns serve examples/zones/ocaml.test.zone --port 5353 [--backend trio]
        [--notify 127.0.0.1:5300] [--allow-axfr 127.0.0.0/8 | key:NAME]
        [--key [ALG:]NAME:SECRET ...] [--allow-update key:NAME | NET] [--journal FILE]
        [--backend mirage --tap tap0 --ip 10.0.0.2/24 [--gateway 10.0.0.1]]
        [--tls-port 853] [--https-port 443] --ssl-certfile cert.pem --ssl-keyfile key.pem
        [--sign-key Kexample.test.+013+12345 ... [--nsec3 [--nsec3-salt HEX]
         [--nsec3-iterations N] [--nsec3-opt-out]]]
    python -m dns serve --config server.toml        (zones, listeners, keys, ACLs: dns.config)
    python -m dns check examples/zones/ocaml.test.zone
    python -m dns check --config server.toml
    python -m dns keygen [-a ECDSAP256SHA256|ED25519] [-f KSK] [-K DIR] ZONE
    python -m dns query ...          (the stub resolver's client: dns.query_cli)

``serve`` reloads its zone files on SIGHUP (atomically: a bad file keeps the old zones),
and with ``--config`` the configuration with them (its listeners stay as they were).
``--sign-key`` signs the one zone served online (:mod:`dns.sign`) with BIND key files, as
``dnssec-keygen`` or ``keygen`` makes them (``keygen`` prints the basename it wrote, as
``dnssec-keygen`` does).

A mistake gets one line naming it, never a traceback: exit status 2 for a bad command line
(an unknown option, a port over 65535, a bad network or NOTIFY target), 1 for a zone file
that is missing, unreadable or does not load (``file:line: reason``) and for an address the
server cannot listen on (the port is in use, the address is not this host's).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import ipaddress
import logging
import os
import signal
import sys
from typing import TYPE_CHECKING, Any, NoReturn

from backends.cli import add_backend_arguments, device_options, listen_host

from . import keys, tsig, wire
from .resolvconf import parse_decimal
from .zone import Zone, ZoneError, load_zone_file

# What serving needs (the server, its HTTP and TLS listeners, signing, the configuration
# file) is imported by the commands that need it: ``check`` and ``query`` start without it.
if TYPE_CHECKING:
    from .config import Config
    from .server import AuthServer
    from .sign import Signer

log = logging.getLogger("dns")


class _Parser(argparse.ArgumentParser):
    """argparse, but a mistake is one line (``prog: error: ...``) and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _port(text: str) -> int:
    """An argparse type: a port number, ASCII digits only, 0 to 65535."""
    port = parse_decimal(text, 65535)
    if port is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0 to 65535)")
    return port


def _seconds(text: str) -> float:
    """An argparse type: a positive number of seconds."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < 1e6:  # also refuses nan and inf
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of seconds")
    return value


def _notify_target(text: str) -> str:
    """An argparse type: ``HOST[:PORT]`` or ``[V6]:PORT``, the port 1 to 65535, then
    optionally `` key:NAME`` (the NOTIFY signed with that key, given with ``--key``)."""
    from .server import parse_hostport, split_notify_target

    address, key_name = split_notify_target(text)
    if key_name is not None:
        _domain(key_name)
    try:
        host, port = parse_hostport(address)
    except ValueError:
        host, port = text, 0
    if not host:
        raise argparse.ArgumentTypeError(f"{text!r} names no host")
    if not 0 < port < 65536:
        raise argparse.ArgumentTypeError(f"{text!r}: not HOST[:PORT] with a port 1 to 65535")
    return text


def _domain(text: str) -> str:
    """An argparse type: a domain name that can be put on the wire."""
    try:
        wire.name_from_text(text if text.endswith(".") else text + ".")
    except wire.WireError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a domain name: {exc}") from None
    return text


def _network(text: str) -> str:
    """An argparse type: an IP network such as ``127.0.0.0/8``, or ``key:NAME`` (a TSIG key
    given with ``--key``)."""
    if text.lower().startswith("key:"):
        return "key:" + _domain(text[4:])
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _key(text: str) -> tsig.Key:
    """An argparse type: a TSIG key in dig's ``-y`` form, ``[ALG:]NAME:SECRET``."""
    try:
        return tsig.parse_key(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _serve_parser(sub: Any) -> None:
    p = sub.add_parser(
        "serve",
        help="serve zone files (UDP and TCP)",
        description="Serve the given master files authoritatively.",
    )
    p.add_argument("zonefiles", nargs="*", metavar="ZONEFILE")
    p.add_argument(
        "--config",
        metavar="FILE",
        help="a TOML configuration (zones, listeners, keys, ACLs, NOTIFY; see dns.config) "
        "instead of zone files and options",
    )
    p.add_argument(
        "--host",
        default=None,
        help="address to listen on (default 127.0.0.1, or --ip's for mirage)",
    )
    p.add_argument("--port", type=_port, default=5353, help="UDP and TCP port (default 5353)")
    add_backend_arguments(p, uvloop=True)
    p.add_argument(
        "--notify",
        action="append",
        default=[],
        type=_notify_target,
        metavar="HOST[:PORT][ key:NAME]",
        help="send NOTIFY to this secondary on start, reload and update, signed with the "
        "key if one is named (repeatable)",
    )
    p.add_argument(
        "--allow-axfr",
        action="append",
        default=[],
        type=_network,
        metavar="NET|key:NAME",
        help="allow AXFR/IXFR from this network (127.0.0.0/8) or signed with this key (repeatable)",
    )
    p.add_argument(
        "--allow-update",
        action="append",
        default=[],
        type=_network,
        metavar="NET|key:NAME",
        help="accept dynamic UPDATE (RFC 2136) signed with this key or from this network "
        "(repeatable)",
    )
    p.add_argument(
        "--journal",
        metavar="FILE",
        help="the journal of changes (IXFR, UPDATE) for the one zone served "
        "(default: the zone file's name + .jnl)",
    )
    p.add_argument(
        "--key",
        action="append",
        default=[],
        type=_key,
        metavar="[ALG:]NAME:SECRET",
        help="a TSIG key (dig's -y form; ALG hmac-sha256 by default; repeatable)",
    )
    p.add_argument("--tcp-idle", type=_seconds, default=10.0, help="TCP idle timeout, seconds")
    p.add_argument("--tls-port", type=_port, help="serve DNS over TLS (RFC 7858) on this port too")
    p.add_argument(
        "--https-port",
        type=_port,
        help="serve DNS over HTTPS (RFC 8484, at /dns-query) on this port too",
    )
    p.add_argument("--ssl-certfile", metavar="FILE", help="TLS certificate chain (PEM)")
    p.add_argument(
        "--ssl-keyfile", metavar="FILE", help="its private key (PEM; default: in the certfile)"
    )
    p.add_argument(
        "--sign-key",
        action="append",
        default=[],
        metavar="KEYFILE",
        help="sign the zone online with this key (BIND's K<zone>+<alg>+<tag> files, "
        "ECDSAP256SHA256 or ED25519; repeatable: a KSK and a ZSK, or one CSK)",
    )
    p.add_argument("--nsec3", action="store_true", help="deny existence with NSEC3, not NSEC")
    p.add_argument(
        "--nsec3-salt", type=_salt, default=b"", metavar="HEX", help="NSEC3 salt (default none)"
    )
    p.add_argument(
        "--nsec3-iterations",
        type=_iterations,
        default=0,
        metavar="N",
        help="NSEC3 extra iterations (default 0, as RFC 9276 advises)",
    )
    p.add_argument(
        "--nsec3-opt-out", action="store_true", help="NSEC3 opt-out for insecure delegations"
    )
    p.add_argument("-v", "--verbose", action="store_true")


def _salt(text: str) -> bytes:
    """An argparse type: an NSEC3 salt in hex, or ``-`` for none."""
    try:
        salt = b"" if text == "-" else bytes.fromhex(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not hex digits") from None
    if len(salt) > 255:
        raise argparse.ArgumentTypeError("a salt is at most 255 bytes")
    return salt


def _iterations(text: str) -> int:
    number = parse_decimal(text, 100)
    if number is None:
        raise argparse.ArgumentTypeError(f"{text!r}: a number from 0 to 100")
    return number


def _keygen_parser(sub: Any) -> None:
    p = sub.add_parser(
        "keygen",
        help="make a DNSSEC signing key (BIND's key files)",
        description="Write K<zone>+<alg>+<tag>.key and .private as dnssec-keygen does; "
        "print the basename.",
    )
    p.add_argument("zone", type=_domain, metavar="ZONE")
    p.add_argument(
        "-a",
        dest="algorithm",
        default="ECDSAP256SHA256",
        help="ECDSAP256SHA256 (13, default) or ED25519 (15)",
    )
    p.add_argument("-f", dest="flag", choices=["KSK", "ksk"], help="KSK: a key-signing key")
    p.add_argument("-K", dest="directory", default=".", help="directory for the files")


def cmd_keygen(args: argparse.Namespace) -> int:
    """Make a key and write its files; print the basename (as ``dnssec-keygen``)."""
    try:
        algorithm = keys.algorithm_from_text(args.algorithm)
        origin = wire.name_from_text(args.zone.rstrip(".") + ".")
        key = keys.generate_key(origin, algorithm, ksk=args.flag is not None)
        base = keys.write_key(key, args.directory)
    except keys.KeyFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: {exc.filename or args.directory}: {exc.strerror}", file=sys.stderr)
        return 1
    print(os.path.basename(base))
    return 0


def _signers(args: argparse.Namespace, zones: list[Zone]) -> dict[str, Signer]:
    """The ``--sign-key`` signer of the one zone on the command line (ValueError when it
    cannot be: KeyFileError and SigningError are ValueErrors)."""
    from .sign import Policy, Signer

    if not args.sign_key:
        if args.nsec3 or args.nsec3_salt or args.nsec3_iterations or args.nsec3_opt_out:
            raise ValueError("--nsec3 options go with --sign-key")
        return {}
    if len(zones) != 1:
        raise ValueError("--sign-key goes with exactly one zone file (or use --config)")
    policy = Policy(
        nsec3=args.nsec3 or args.nsec3_opt_out or bool(args.nsec3_salt),
        salt=args.nsec3_salt,
        iterations=args.nsec3_iterations,
        opt_out=args.nsec3_opt_out,
    )
    signing_keys = [keys.load_key(path) for path in args.sign_key]
    return {wire.name_to_text(zones[0].origin): Signer(signing_keys, policy)}


def _check_parser(sub: Any) -> None:
    p = sub.add_parser(
        "check",
        help="check zone files",
        description="Load and validate master files; print a summary.",
    )
    p.add_argument("zonefiles", nargs="*", metavar="ZONEFILE")
    p.add_argument(
        "--config",
        metavar="FILE",
        help="check this TOML configuration and the zones it names (one line per problem)",
    )
    p.add_argument(
        "--origin", type=_domain, help="the zone's origin (default: $ORIGIN / the SOA owner)"
    )


def _zone_sources(args: argparse.Namespace) -> list[tuple[str, str | None]] | int:
    """(file, origin) of each zone to load, from the command line or ``--config``; or the
    exit status after printing why there are none."""
    if args.config is None:
        if not args.zonefiles:
            print("error: give zone files or --config FILE", file=sys.stderr)
            return 2
        return [(path, getattr(args, "origin", None)) for path in args.zonefiles]
    if args.zonefiles:
        print("error: give zone files or --config FILE, not both", file=sys.stderr)
        return 2
    from .config import ConfigError, load_config

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        return 1
    args.loaded_config = config
    return [(z.file, z.origin) for z in config.zones]


def cmd_check(args: argparse.Namespace) -> int:
    """Load each file; print a summary or the error (``file:line: message``)."""
    sources = _zone_sources(args)
    if isinstance(sources, int):
        return sources
    status = 0
    for path, origin in sources:
        try:
            zone = load_zone_file(path, origin)
        except ZoneError as exc:
            print(f"error: {exc}", file=sys.stderr)
            status = 1
            continue
        print(
            f"{path}: zone {wire.name_to_text(zone.origin)} serial {zone.serial}, "
            f"{zone.record_count()} records, {len(zone.nodes)} names, "
            f"{len(zone.cuts)} delegations: OK"
        )
    return status


def cmd_serve(args: argparse.Namespace) -> int:
    """Load the zones and serve until interrupted."""
    import ssl

    import backends

    from . import doh, dot
    from .config import server_settings, with_catalog
    from .server import AuthServer
    from .sign import SigningError

    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    sources = _zone_sources(args)
    if isinstance(sources, int):
        return sources
    config: Config | None = getattr(args, "loaded_config", None)
    try:
        zones = [load_zone_file(path, origin) for path, origin in sources]
        if config is not None:
            settings = server_settings(config, zones)
        else:
            if args.journal is not None and len(zones) != 1:
                print("error: --journal goes with exactly one zone file", file=sys.stderr)
                return 2
            settings = {
                "allow_transfer": args.allow_axfr,
                "allow_update": args.allow_update,
                "journal_paths": (
                    {wire.name_to_text(zones[0].origin): args.journal} if args.journal else {}
                ),
                "keys": args.key,
                "notify": args.notify,
                "signers": _signers(args, zones),
            }
        if config is not None:
            zones = with_catalog(config, zones)
        server = AuthServer(zones, tcp_idle_timeout=args.tcp_idle, **settings)
    except ZoneError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # a journal that cannot be read
        print(f"error: {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 1
    except (keys.KeyFileError, SigningError) as exc:  # a key that cannot sign this zone
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.uvloop and importlib.util.find_spec("uvloop") is None:
        print("error: --uvloop needs uvloop (pip install 'mirage-py[uvloop]')", file=sys.stderr)
        return 2
    options: dict[str, Any] = {}
    if args.backend == "mirage":
        if not (args.tap and args.ip):
            print("error: --backend mirage needs --tap NAME and --ip ADDR/PREFIX", file=sys.stderr)
            return 2
        options = device_options(args)
    host = listen_host(args) if args.backend == "mirage" else args.host or "127.0.0.1"
    port = args.port
    also: list[tuple[str, int]] = []
    if config is not None:
        (host, port), *also = config.listen
    tls_context = https_context = None
    if args.tls_port is not None or args.https_port is not None:
        if args.ssl_certfile is None:
            print("error: --tls-port and --https-port need --ssl-certfile", file=sys.stderr)
            return 2
        try:
            if args.tls_port is not None:
                tls_context = dot.server_context(args.ssl_certfile, args.ssl_keyfile)
            if args.https_port is not None:  # its own: cohttp.Server sets its ALPN
                https_context = doh.server_context(args.ssl_certfile, args.ssl_keyfile)
        except (OSError, ssl.SSLError) as exc:
            print(f"error: cannot load the certificate {args.ssl_certfile}: {exc}", file=sys.stderr)
            return 1
    tls = [(host, args.tls_port)] if args.tls_port is not None else []
    https = [(host, args.https_port)] if args.https_port is not None else []

    async def main(net: backends.Backend) -> None:
        async with net.task_group() as tg:
            tg.start_soon(_reload_on_sighup, server, config)
            ready = net.event()
            tg.start_soon(_announce, server, ready)
            await server.serve(
                net,
                host,
                port,
                ready=ready,
                also=also,
                tls_context=tls_context,
                tls=tls,
                https=https,
                https_context=https_context,
            )
            tg.cancel_scope.cancel()

    try:
        backends.run(main, args.backend, uvloop=args.uvloop, **options)
    except (BaseExceptionGroup, OSError, KeyboardInterrupt) as exc:
        problem = _first(exc)
        if isinstance(problem, KeyboardInterrupt):
            return 0
        if not isinstance(problem, OSError):  # a bug, not a user's mistake: show it all
            raise
        print(f"error: {_listen_problem(problem, host, port)}", file=sys.stderr)
        return 1
    return 0


def _first(exc: BaseException) -> BaseException:
    """``exc``, or the first exception in it when task groups wrapped it in groups."""
    while isinstance(exc, BaseExceptionGroup):
        exc = exc.exceptions[0]
    return exc


def _listen_problem(exc: OSError, host: str, port: int) -> str:
    """One line for a failure to serve (bind, or open the TAP device): what, and why."""
    import backends

    if isinstance(exc, backends.AddressInUse):
        return f"cannot listen on {host} port {port}: the port is in use (UDP or TCP)"
    if isinstance(exc, backends.AddressUnavailable):
        return f"cannot listen on {host} port {port}: not an address of this host"
    return str(exc)


async def _announce(server: AuthServer, ready: Any) -> None:
    await ready.wait()
    assert server.udp_address is not None
    host, port = server.udp_address
    for zone in server.zones:
        log.info(
            "zone %s serial %d: %d records",
            wire.name_to_text(zone.origin),
            zone.serial,
            zone.record_count(),
        )
    log.info(
        "answering on %s port %d (UDP and TCP); try: dig @%s -p %d %s SOA",
        host,
        port,
        host,
        port,
        wire.name_to_text(server.zones[0].origin),
    )
    if server.tls_address is not None:
        log.info("DNS over TLS on %s port %d", *server.tls_address)
    if server.https_address is not None:
        log.info("DNS over HTTPS on https://%s:%d/dns-query", *server.https_address)


async def _reload_on_sighup(server: AuthServer, config: Config | None) -> None:
    import anyio

    from .config import ConfigError

    try:
        receiver = anyio.open_signal_receiver(signal.SIGHUP)
    except (NotImplementedError, AttributeError):  # no SIGHUP here
        return
    with receiver as signals:
        async for _ in signals:
            try:
                if config is None:
                    changed = await server.reload()
                else:
                    changed = await _reload_config(server, config)
            except ConfigError as exc:
                log.error("reload failed, keeping the old configuration: %s", exc)
                continue
            except (ZoneError, OSError, ValueError) as exc:
                log.error("reload failed, keeping the old zones: %s", exc)
                continue
            log.info("reloaded; %d zone(s) changed", len(changed))


async def _reload_config(server: AuthServer, old: Config) -> list[Zone]:
    """Read the configuration and its zones again (in a thread) and put both in service
    together; raises (keeping everything as it was) when either has a problem."""
    import anyio

    from .config import catalog_key, load_config, load_zones, server_settings, with_catalog

    config = await anyio.to_thread.run_sync(load_config, old.path)
    zones = await anyio.to_thread.run_sync(load_zones, config)
    if config.listen != old.listen:
        log.warning("the listen addresses changed: they take effect on restart only")
    server.configure(**server_settings(config, zones))
    key = catalog_key(config)
    previous = server.authority.zones.get(key) if key is not None else None
    zones = with_catalog(config, [server.fresh_or_current(z) for z in zones], previous)
    zones = await anyio.to_thread.run_sync(server.sign_loaded, zones)  # big zones: not here
    return server.replace_zones(zones)


def cmd_query(argv: list[str]) -> int:
    """Hand ``query`` to the stub resolver's client, :func:`dns.query_cli.main`."""
    try:
        module = importlib.import_module("dns.query_cli")
    except ModuleNotFoundError as exc:
        if exc.name != "dns.query_cli":
            raise
        print(
            "error: 'python -m dns query' needs dns.query_cli (the stub resolver's client), "
            "which is not installed in this tree yet",
            file=sys.stderr,
        )
        return 2
    result: int = module.main(argv)
    return result


def main(argv: list[str] | None = None) -> int:
    """The command-line entry point; returns the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "query":
        return cmd_query(argv[1:])
    parser = _Parser(prog="python -m dns", description=(__doc__ or "").split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    _serve_parser(sub)
    _check_parser(sub)
    _keygen_parser(sub)
    sub.add_parser("query", help="send a query (the stub resolver's client)", add_help=False)
    args = parser.parse_args(argv)
    if args.command == "check":
        return cmd_check(args)
    if args.command == "keygen":
        return cmd_keygen(args)
    return cmd_serve(args)


if __name__ == "__main__":
    sys.exit(main())
