"""Benchmark: our authoritative server against NSD and dnslib's server, with dnsperf.

Every server loads the same zone (the demo zone, examples/zones/ocaml.test.zone) and gets
the same query mix (answers, CNAME chases, wildcards, NODATA, NXDOMAIN, referrals), over
UDP and then TCP, from dnsperf. Servers are pinned to core 0 and dnsperf to core 1
(``taskset``), and the servers are measured in turn, round after round, so the ratios come
from the same run (absolute rates drift by tens of percent between runs on a shared host).

Servers: ours on asyncio, asyncio+uvloop (when installed) and trio (``python -m dns
serve``); NSD (``nsd -d``, one server process, RRL off, minimal-responses); dnslib's
``zoneresolver`` (its threaded server; one process for UDP and one for TCP, logging off).

    python bench/dns_server.py [--seconds 5] [--rounds 5] [--clients 8] [--only NAME,...]
                               [--dnssec [--online-signing]] [--dot]

``--dnssec`` signs the zone first (dnssec-keygen and dnssec-signzone, ECDSA P-256, NSEC,
in the scratch directory) and sends every query with the DO bit (dnsperf ``-D``): signed
answers with their proofs, ours against NSD (dnslib is left out: it serves no DNSSEC).
With ``--online-signing`` our servers get the unsigned zone and the same two keys
(``--sign-key``) and sign it themselves (dns.sign), NSD still serving dnssec-signzone's.

``--dot`` adds DNS over TLS (RFC 7858, ``dnsperf -m dot``) for our servers, with a
certificate made by ``openssl req`` for the run; the peers here are not set up for it, so
the figure to read is ours over TLS against ours over TCP.

Prints qps and lost queries per server and transport for each round (each round measures
every server in turn: the slices alternate), then for each of ours the median, with the
quartiles, of its per-round ratios to dnslib and to NSD. Needs dnsperf and nsd (Debian packages); missing peers are
skipped with a note.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tests.peers import (  # noqa: E402
    free_port,
    nsd_conf,
    nsd_zone_clauses,
    pin,
    stop,
    wait_until_answering,
)

ZONE = os.path.join(ROOT, "examples", "zones", "ocaml.test.zone")
ORIGIN = "ocaml.test"

QUERIES = """\
ocaml.test A
ocaml.test AAAA
ocaml.test MX
ocaml.test NS
ocaml.test SOA
ocaml.test TXT
www.ocaml.test A
www.ocaml.test AAAA
git.ocaml.test A
opam.ocaml.test A
opam.ocaml.test AAAA
uk.opam.ocaml.test A
us.opam.ocaml.test A
mirror.opam.ocaml.test A
lists.ocaml.test A
lists.ocaml.test MX
staging.ocaml.test A
staging.ocaml.test AAAA
oud.ocaml.test TXT
mx.ocaml.test A
ns1.ocaml.test A
core.pkg.ocaml.test A
lwt.pkg.ocaml.test AAAA
_http._tcp.www.ocaml.test SRV
nope.ocaml.test A
missing.opam.ocaml.test AAAA
opam.ocaml.test TXT
staging.ocaml.test MX
bactrian.infra.ocaml.test A
ns.infra.ocaml.test A
"""


@dataclass
class Server:
    name: str
    ours: bool
    udp_port: int = 0
    tcp_port: int = 0
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)


@contextlib.contextmanager
def started(name: str, commands: list[tuple[list[str], int, bool]], ours: bool) -> Iterator[Server]:
    """Start each command (pinned to core 0); wait until each answers on its port."""
    server = Server(name, ours)
    try:
        for argv, port, tcp in commands:
            proc = subprocess.Popen(
                [*pin(0), *argv], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT
            )
            server.procs.append(proc)
            wait_until_answering(port, proc, tcp=tcp, deadline=15, what=name)
        yield server
    finally:
        for proc in server.procs:
            stop(proc)


def sign_zone(scratch: str) -> str:
    """The demo zone signed in ``scratch`` (a KSK and a ZSK made there); its path."""
    for extra in ([], ["-f", "KSK"]):
        subprocess.run(
            ["dnssec-keygen", "-q", "-K", scratch, "-a", "ECDSAP256SHA256", *extra, ORIGIN],
            check=True,
            capture_output=True,
            cwd=scratch,
        )
    signed = os.path.join(scratch, "ocaml.test.zone.signed")
    unsigned = os.path.join(scratch, "ocaml.test.zone")
    shutil.copy(ZONE, unsigned)
    subprocess.run(
        ["dnssec-signzone", "-q", "-K", scratch, "-S", "-o", ORIGIN, "-f", signed, unsigned],
        check=True,
        capture_output=True,
        cwd=scratch,
    )
    return signed


def ours(
    backend: str,
    uvloop: bool = False,
    zone: str = ZONE,
    tls: tuple[str, str, int] | None = None,
    sign_keys: Sequence[str] = (),
) -> tuple[str, list[tuple[list[str], int, bool]], int, int]:
    """Our server; with ``tls`` = (certfile, keyfile, port), DNS over TLS there too; with
    ``sign_keys``, signing ``zone`` online with them."""
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "dns",
        "serve",
        zone,
        "--port",
        str(port),
        "--backend",
        backend,
        *(["--uvloop"] if uvloop else []),
        *(
            ["--tls-port", str(tls[2]), "--ssl-certfile", tls[0], "--ssl-keyfile", tls[1]]
            if tls is not None
            else []
        ),
        *[arg for key in sign_keys for arg in ("--sign-key", key)],
    ]
    label = f"ours ({backend}{'+uvloop' if uvloop else ''})"
    return label, [(argv, port, False)], port, port


def nsd_config(scratch: str, port: int, zone: str = ZONE) -> str:
    """NSD serving the demo zone on ``port`` (RRL off: it would drop most of the load)."""
    return nsd_conf(scratch, port, nsd_zone_clauses({ORIGIN: zone}), verbosity=0)


_NUM = r"([0-9.]+)"


def dnsperf(
    port: int, queries: str, seconds: float, clients: int, mode: str, do: bool = False
) -> tuple[float, int, int]:
    """Run dnsperf (pinned to core 1); return (qps, completed, lost)."""
    argv = [
        *pin(1),
        "dnsperf",
        "-s",
        "127.0.0.1",
        "-p",
        str(port),
        "-d",
        queries,
        "-l",
        str(seconds),
        "-c",
        str(clients),
        "-Q",
        "1000000",
        "-t",
        "2",
    ]
    if mode != "udp":
        argv += ["-m", mode]
    if do:
        argv += ["-D"]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 30).stdout
    qps = re.search(r"Queries per second:\s+" + _NUM, out)
    completed = re.search(r"Queries completed:\s+(\d+)", out)
    lost = re.search(r"Queries lost:\s+(\d+)", out)
    if not (qps and completed and lost):
        raise RuntimeError(f"cannot read dnsperf output:\n{out}")
    return float(qps.group(1)), int(completed.group(1)), int(lost.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--only", default="", help="comma-separated substrings of names")
    parser.add_argument("--no-tcp", action="store_true")
    parser.add_argument("--dnssec", action="store_true", help="signed zone, DO queries")
    parser.add_argument(
        "--online-signing",
        action="store_true",
        help="with --dnssec: ours sign the zone themselves with the same keys",
    )
    parser.add_argument("--dot", action="store_true", help="also DNS over TLS (ours only)")
    args = parser.parse_args()
    if shutil.which("dnsperf") is None:
        print("dnsperf is not installed (Debian: apt-get install dnsperf)", file=sys.stderr)
        return 2
    scratch = tempfile.mkdtemp(prefix="bench-dns-server-")
    queries = os.path.join(scratch, "queries.txt")
    with open(queries, "w") as f:
        f.write(QUERIES)
    zone = our_zone = ZONE
    sign_keys: list[str] = []
    if args.dnssec:
        if shutil.which("dnssec-signzone") is None:
            print("dnssec-signzone is not installed (Debian: bind9-utils)", file=sys.stderr)
            return 2
        zone = our_zone = sign_zone(scratch)
        if args.online_signing:
            our_zone = os.path.join(scratch, "ocaml.test.zone")
            sign_keys = sorted(
                os.path.join(scratch, f[: -len(".key")])
                for f in os.listdir(scratch)
                if f.endswith(".key")
            )
    specs: list[tuple[str, list[tuple[list[str], int, bool]], int, int, bool]] = []
    dot_ports: dict[str, int] = {}
    cert = keyfile = ""
    if args.dot:
        cert, keyfile = os.path.join(scratch, "cert.pem"), os.path.join(scratch, "key.pem")
        subprocess.run(
            [
                *("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt"),
                *("ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj", "/CN=bench"),
                *("-keyout", keyfile, "-out", cert),
            ],
            check=True,
            capture_output=True,
        )
    for backend, uv in (("asyncio", False), ("asyncio", True), ("trio", False)):
        if uv and importlib.util.find_spec("uvloop") is None:
            print("note: uvloop not installed; skipping ours (asyncio+uvloop)")
            continue
        tls = (cert, keyfile, free_port()) if args.dot else None
        label, cmds, up, tp = ours(backend, uv, our_zone, tls, sign_keys)
        specs.append((label, cmds, up, tp, True))
        if tls is not None:
            dot_ports[label] = tls[2]
    if shutil.which("nsd"):
        port = free_port()
        specs.append(
            (
                "NSD",
                [(["nsd", "-d", "-c", nsd_config(scratch, port, zone)], port, False)],
                port,
                port,
                False,
            )
        )
    else:
        print("note: nsd not installed; skipping NSD")
    if importlib.util.find_spec("dnslib") is not None and not args.dnssec:
        up, tp = free_port(), free_port()
        base = [
            sys.executable,
            "-m",
            "dnslib.zoneresolver",
            "--zone",
            ZONE,
            "--address",
            "127.0.0.1",
            "--log=-request,-reply,-truncated,-error",
        ]
        specs.append(
            (
                "dnslib",
                [
                    ([*base, "--port", str(up)], up, False),
                    ([*base, "--port", str(tp), "--tcp"], tp, True),
                ],
                up,
                tp,
                False,
            )
        )
    if args.only:
        wanted = [w.strip().lower() for w in args.only.split(",") if w.strip()]
        specs = [s for s in specs if any(w in s[0].lower() for w in wanted)]
    transports = ["udp"] if args.no_tcp else ["udp", "tcp"]
    if args.dot:
        transports.append("dot")
    rounds: dict[tuple[str, str], list[float]] = {}
    lost_total: dict[tuple[str, str], int] = {}
    print(
        f"{len(QUERIES.splitlines())} query names, {args.clients} dnsperf clients, "
        f"{args.seconds:g}s per run, {args.rounds} round(s); servers on core 0, "
        f"dnsperf on core 1"
    )
    try:
        with contextlib.ExitStack() as stack:
            servers = []
            for label, cmds, up, tp, is_ours in specs:
                try:
                    server = stack.enter_context(started(label, cmds, is_ours))
                except RuntimeError as exc:
                    print(f"note: {exc}; skipped")
                    continue
                server.udp_port, server.tcp_port = up, tp
                servers.append(server)
            for r in range(args.rounds):
                for transport in transports:
                    for server in servers:
                        port = {
                            "udp": server.udp_port,
                            "tcp": server.tcp_port,
                            "dot": dot_ports.get(server.name, 0),
                        }[transport]
                        if not port:
                            continue
                        qps, done, lost = dnsperf(
                            port, queries, args.seconds, args.clients, transport, args.dnssec
                        )
                        print(
                            f"  round {r + 1} {transport} {server.name:22} {qps:10,.0f} qps "
                            f"{lost:7d} lost / {done + lost}"
                        )
                        key = (server.name, transport)
                        rounds.setdefault(key, []).append(qps)
                        lost_total[key] = lost_total.get(key, 0) + lost
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    names = list(dict.fromkeys(name for name, _ in rounds))
    print()
    print(
        f"{'server':24}"
        + "".join(f"{t.upper() + ' qps (median)':>20}{'lost':>8}" for t in transports)
    )
    for name in names:
        row = f"{name:24}"
        for t in transports:
            qps = statistics.median(rounds.get((name, t), [0.0]))
            row += f"{qps:20,.0f}{lost_total.get((name, t), 0):8d}"
        print(row)
    print()
    print("ratios: median [quartiles] of the per-round ratios (the same round's slices)")
    for name in names:
        if not name.startswith("ours"):
            continue
        parts = []
        for t in transports:
            mine = rounds.get((name, t), [])
            for peer in ("dnslib", "NSD"):
                theirs = rounds.get((peer, t), [])
                if mine and theirs:
                    parts.append(f"{t.upper()} {_ratio_text(mine, theirs)} {peer}")
            if t == "dot" and mine and rounds.get((name, "tcp")):
                parts.append(f"DoT {_ratio_text(mine, rounds[(name, 'tcp')])} its TCP")
        print(f"{name:24} " + ", ".join(parts))
    return 0


def _ratio_text(mine: list[float], theirs: list[float]) -> str:
    ratios = sorted(a / b for a, b in zip(mine, theirs, strict=False) if b)
    if len(ratios) < 2:
        return f"{ratios[0]:.2f}x" if ratios else "-"
    q1, _, q3 = statistics.quantiles(ratios, n=4, method="inclusive")
    return f"{statistics.median(ratios):.2f}x [{q1:.2f}-{q3:.2f}]"


if __name__ == "__main__":
    sys.exit(main())
