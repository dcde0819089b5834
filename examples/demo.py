"""The demo: the seed's ocaml.org host in one process, on loopback.

The zone ``ocaml.test.`` (examples/zones/ocaml.test.zone) is served by our authoritative
DNS server over UDP and TCP, and the virtual-hosted static sites under examples/site/ (one
directory per host name, plus ``default``) by our HTTP server: the same code on the asyncio,
trio or mirage backend, as the seed's VM switched between UNIX and microkernel.

``--check`` serves, then resolves every site's name through our own stub resolver against
our own DNS server, fetches each site with our own HTTP client, checks the answers and
exits: the suite runs it on every backend.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import shlex
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import backends  # noqa: E402
import cohttp  # noqa: E402
from backends.cli import add_backend_arguments, device_options  # noqa: E402
from cohttp.client import Client  # noqa: E402
from cohttp.static import VirtualHosts  # noqa: E402
from dns.resolver import Resolver  # noqa: E402
from dns.server import AuthServer  # noqa: E402
from dns.wire import name_to_text  # noqa: E402
from dns.zone import load_zone_file  # noqa: E402

SITES = ROOT / "examples" / "site"
ZONE = ROOT / "examples" / "zones" / "ocaml.test.zone"


def site_roots() -> tuple[dict[str, Path], Path | None]:
    """``{host name: document root}`` for every examples/site/<host>/, and the default."""
    hosts = {d.name: d for d in sorted(SITES.iterdir()) if d.is_dir() and d.name != "default"}
    default = SITES / "default"
    return hosts, default if default.is_dir() else None


async def self_check(net: backends.Backend, dns_port: int, http_port: int) -> None:
    """Resolve each site with our resolver against our server, then GET it with our client."""
    hosts, _ = site_roots()
    resolver = Resolver(net, ["127.0.0.1"], port=dns_port, hosts=False, timeout=2, attempts=2)
    async with Client(net, timeout=10) as client:
        for name in hosts:
            addresses = await resolver.lookup_address(name, http_port)
            ipv4 = [address for address in addresses if ":" not in address[0]]
            assert ipv4, f"{name} has no IPv4 address in the zone"
            ip = ipv4[0][0]
            # Every site is served on 127.0.0.1; the zone spreads them over 127/8, which
            # Linux routes to loopback too, but other systems may not: connect to the one
            # we listen on and name the site in Host, as curl --resolve does.
            response = await client.get(
                f"http://127.0.0.1:{http_port}/", headers={"host": f"{name}:{http_port}"}
            )
            body = await response.read()
            assert response.status == 200, (name, response.status)
            assert b"<html" in body.lower(), name
            print(f"  {name:22s} -> {ip:12s} HTTP {response.status}, {len(body)} bytes")
    print("self-check passed: every site resolved by our DNS server and served over HTTP")


def announce(
    backend: str, host: str, dns_port: int, http_port: int, hosts: dict[str, Path], origin: object
) -> None:
    """Print where the services are and commands to try, each runnable as printed in a
    fresh shell from any directory (this interpreter's absolute path, the real ports)."""
    python = shlex.quote(sys.executable)
    print(f"mirage-py demo: the ocaml.test host, on the {backend} backend\n")
    print(f"DNS  {host}:{dns_port} (UDP and TCP), zone {origin}")
    print(f"  dig @{host} -p {dns_port} www.ocaml.test")
    print(f"  dig @{host} -p {dns_port} ocaml.test MX +tcp")
    print(f"  dig @{host} -p {dns_port} anything.pkg.ocaml.test     # a wildcard")
    print(f"  dig @{host} -p {dns_port} nothere.ocaml.test          # NXDOMAIN")
    print(f"  {python} -m dns query opam.ocaml.test @{host} -p {dns_port}")
    print(f"\nHTTP {host}:{http_port}, one site per Host:")
    for name in hosts:
        print(f"  curl --resolve {name}:{http_port}:{host} http://{name}:{http_port}/")
    print(f"  {python} -m cohttp get http://{host}:{http_port}/ -H 'Host: opam.ocaml.test'")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to serve on")
    parser.add_argument("--http-port", type=int, default=8080, help="0: any free port")
    parser.add_argument("--dns-port", type=int, default=5353, help="0: any free port")
    parser.add_argument("--check", action="store_true", help="check the services and exit")
    add_backend_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    options = device_options(args) if args.backend == "mirage" else {}

    hosts, default = site_roots()
    zone = load_zone_file(str(ZONE))

    async def run(net: backends.Backend) -> None:
        http = cohttp.Server(VirtualHosts(hosts, default=default))
        dns_server = AuthServer([zone])
        async with contextlib.AsyncExitStack() as stack:
            try:
                await http.listen(net, args.host, args.http_port)
            except backends.AddressInUse:
                print(f"HTTP port {args.http_port} is taken; using a free one instead")
                await http.listen(net, args.host, 0)
            try:
                udp_address, _ = await stack.enter_async_context(
                    dns_server.running(net, args.host, args.dns_port)
                )
            except backends.AddressInUse:
                print(f"DNS port {args.dns_port} is taken; using a free one instead")
                udp_address, _ = await stack.enter_async_context(
                    dns_server.running(net, args.host, 0)
                )
            tg = await stack.enter_async_context(net.task_group())
            tg.start_soon(http.serve_forever)
            announce(
                net.name, args.host, udp_address[1], http.port, hosts, name_to_text(zone.origin)
            )
            if args.backend == "mirage" and not args.tap:
                print(
                    "\n(mirage without --tap: the stack sits on an in-memory switch inside "
                    "this process, so only\n our own clients reach it, as --check does. "
                    "Give --tap NAME --ip ADDR/PREFIX to put it on a TAP device.)"
                )
            if args.check:
                await self_check(net, udp_address[1], http.port)
                await http.shutdown()
            else:
                print("\nCtrl-C to stop.")
            sys.stdout.flush()

    try:
        backends.run(run, backend=args.backend, **options)
    except KeyboardInterrupt:
        print("\nstopped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
