"""``python -m dns query``: a dig-like command over the stub resolver.

Usage::

    python -m dns query NAME [TYPE] [CLASS] [@SERVER] [-p PORT] [-x ADDR] [-4|-6]
                        [+tcp] [+short] [+norec] [+noedns] [+search] [+time=S] [+tries=N]
                        [--backend asyncio|trio|mirage [--tap DEV --ip ADDR/LEN
                         [--gateway ADDR]]]

Without ``@SERVER`` the servers of /etc/resolv.conf are asked. Output follows dig's layout
(header, OPT pseudo-section, question, answer, authority and additional sections, query
time, server, size) so it reads like dig's; ``+short`` prints only the answer RDATA.
``+search`` applies the search list and follows CNAMEs (a :meth:`Resolver.resolve`);
otherwise exactly one question is sent, as dig does. On ``--backend mirage`` without
``--tap`` the stack sits alone on a private in-memory switch and reaches only itself; with
``--tap``/``--ip`` it queries through a TAP device.

Exit status: 0 when a response arrived (whatever its RCODE, like dig), 9 when no server
answered, 1 for a usage error, 10 for a failure to use the chosen backend.
"""

from __future__ import annotations

import ipaddress
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

import backends

from . import records as rd
from . import wire
from .resolver import DNSError, NoData, NXDomain, Record, Resolver, ResolverTimeout, Response

USAGE = """\
usage: python -m dns query NAME [TYPE] [CLASS] [@SERVER] [-p PORT] [-x ADDR] [-4|-6]
                           [+tcp] [+short] [+norec] [+noedns] [+search]
                           [+time=SECONDS] [+tries=N] [--backend NAME]
                           [--tap DEV --ip ADDR/PREFIX [--gateway ADDR]]  (mirage)
"""


class UsageError(ValueError):
    """A bad command line; the message says what is wrong."""


@dataclass
class Options:
    """The parsed command line."""

    name: str = ""
    rtype: int = wire.TYPE_A
    rclass: int = wire.CLASS_IN
    server: str | None = None
    port: int = 53
    tcp: bool = False
    short: bool = False
    recurse: bool = True
    edns: bool = True
    search: bool = False
    timeout: float = 5.0
    tries: int = 2
    backend: str = "asyncio"
    family: int | None = None
    backend_options: dict[str, Any] = field(default_factory=dict)
    argv: list[str] = field(default_factory=list)


def parse_args(argv: Sequence[str]) -> Options:
    """Parse dig-style arguments; raises :class:`UsageError` naming the problem."""
    opts = Options(argv=list(argv))
    positional: list[str] = []
    type_given = False
    it = iter(argv)
    for arg in it:
        if arg in ("-h", "--help"):
            raise UsageError("")
        if arg.startswith("@") and len(arg) > 1:
            opts.server = arg[1:]
        elif arg == "-p":
            value = next(it, None)
            if value is None or not value.isdigit() or not 0 < int(value) < 65536:
                raise UsageError(f"-p needs a port number, got {value!r}")
            opts.port = int(value)
        elif arg == "-t":
            value = next(it, None)
            if value is None:
                raise UsageError("-t needs a record type")
            opts.rtype, type_given = _type(value), True
        elif arg == "-x":
            value = next(it, None)
            if value is None:
                raise UsageError("-x needs an address")
            try:
                ip = ipaddress.ip_address(value)
            except ValueError:
                raise UsageError(f"-x: {value!r} is not an IP address") from None
            opts.name, opts.rtype, type_given = ip.reverse_pointer + ".", wire.TYPE_PTR, True
        elif arg in ("-4", "-6"):
            opts.family = int(arg[1])
        elif arg == "--backend":
            value = next(it, None)
            if value is None:
                raise UsageError("--backend needs a name (asyncio, trio, mirage)")
            opts.backend = value
        elif arg.startswith("--backend="):
            opts.backend = arg.split("=", 1)[1]
        elif arg in ("--tap", "--ip", "--gateway"):
            value = next(it, None)
            if value is None:
                raise UsageError(f"{arg} needs a value")
            opts.backend_options[arg[2:]] = value
        elif arg.startswith("+"):
            _plus_option(opts, arg[1:])
        elif arg.startswith("-") and len(arg) > 1:
            raise UsageError(f"unknown option {arg}")
        else:
            positional.append(arg)
    for word in positional:
        if not opts.name:
            opts.name = word
        elif not type_given and _parses(wire.type_from_text, word):
            opts.rtype, type_given = _type(word), True
        elif _parses(wire.class_from_text, word):
            opts.rclass = wire.class_from_text(word)
        else:
            raise UsageError(f"unexpected argument {word!r}")
    if not opts.name:
        raise UsageError("no name to look up")
    return opts


def _parses(parse: Callable[[str], int], word: str) -> bool:
    """Whether ``parse`` (``wire.type_from_text`` or ``wire.class_from_text``) takes ``word``."""
    try:
        parse(word)
    except ValueError:
        return False
    return True


def _type(word: str) -> int:
    try:
        return wire.type_from_text(word)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _plus_option(opts: Options, option: str) -> None:
    key, _, value = option.partition("=")
    negated = key.startswith("no")
    base = key[2:] if negated else key
    if base in ("tcp", "vc"):
        opts.tcp = not negated
    elif base == "short":
        opts.short = not negated
    elif base in ("rec", "recurse"):
        opts.recurse = not negated
    elif base == "edns":
        opts.edns = not negated
    elif base == "search":
        opts.search = not negated
    elif base == "time" and value:
        try:
            opts.timeout = float(value)
        except ValueError:
            raise UsageError(f"+time needs seconds, got {value!r}") from None
        if opts.timeout <= 0:
            raise UsageError("+time must be positive")
    elif base in ("tries", "retry") and value.isdigit():
        opts.tries = max(1, int(value) + (1 if base == "retry" else 0))
    else:
        raise UsageError(f"unknown option +{option}")


# ---------------------------------------------------------------------------- output


def _flags_text(message: wire.Message) -> str:
    names = [
        ("qr", message.qr),
        ("aa", message.aa),
        ("tc", message.tc),
        ("rd", message.rd),
        ("ra", message.ra),
        ("ad", message.ad),
        ("cd", message.cd),
    ]
    return " ".join(n for n, on in names if on)


def _section(out: list[str], title: str, recs: list[Record]) -> None:
    if not recs:
        return
    out.append(f";; {title} SECTION:")
    out.extend(r.to_text() for r in recs)
    out.append("")


def format_response(response: Response, opts: Options, started_wall: float) -> str:
    """The full dig-style text for one response."""
    m = response.message
    out = [
        f";; ->>HEADER<<- opcode: {wire.OPCODE_NAMES.get(m.opcode, str(m.opcode))}, "
        f"status: {wire.rcode_to_text(m.rcode)}, id: {m.id}",
        f";; flags: {_flags_text(m)}; QUERY: {len(m.question)}, ANSWER: {len(m.answer)}, "
        f"AUTHORITY: {len(m.authority)}, ADDITIONAL: {len(m.additional) + (1 if m.edns else 0)}",
    ]
    if opts.recurse and not m.ra:
        out.append(";; WARNING: recursion requested but not available")
    out.append("")
    if m.edns is not None:
        e = m.edns
        flags = " do" if e.do else ""
        out.append(";; OPT PSEUDOSECTION:")
        out.append(f"; EDNS: version: {e.version}, flags:{flags}; udp: {e.payload}")
        for code, data in e.options:
            out.append(f"; OPTION {code}: {data.hex()}")
    out.append(";; QUESTION SECTION:")
    for q in m.question:
        out.append(
            f";{wire.name_to_text(q.name)}\t\t{wire.class_to_text(q.qclass)}\t"
            f"{wire.type_to_text(q.qtype)}"
        )
    out.append("")
    _section(out, "ANSWER", response.answer)
    _section(out, "AUTHORITY", response.authority)
    _section(out, "ADDITIONAL", response.additional)
    host, port = response.server
    out.append(f";; Query time: {round(response.elapsed * 1000)} msec")
    out.append(f";; SERVER: {host}#{port}({host}) ({response.transport.upper()})")
    out.append(f";; WHEN: {time.strftime('%a %b %d %H:%M:%S %Z %Y', time.localtime(started_wall))}")
    out.append(f";; MSG SIZE  rcvd: {len(m.data)}")
    out.append("")
    return "\n".join(out)


def _short(recs: list[Record]) -> str:
    return "".join(r.rdata.to_text() + "\n" for r in recs)


# ---------------------------------------------------------------------------- running


async def _run(net: backends.Backend, opts: Options, out: TextIO) -> int:
    resolver_opts: dict[str, Any] = {
        "timeout": opts.timeout,
        "attempts": opts.tries,
        "edns": opts.edns,
        "tcp": opts.tcp,
        "hosts": False,
    }
    if opts.server is not None:
        server = opts.server
        if _literal(server) is None:
            system = Resolver(net)
            found = await system.lookup_address(server, opts.port, family=opts.family)
            server = found[0][0]
        resolver = Resolver(net, [(server, opts.port)], **resolver_opts)
    else:
        resolver = Resolver(net, **resolver_opts)
        await resolver.configure()
        if opts.port != 53:
            resolver = Resolver(
                net,
                [(h, opts.port) for h, _ in resolver.nameservers],
                search=resolver.search,
                ndots=resolver.ndots,
                **resolver_opts,
            )
    started = time.time()
    if opts.search:
        return await _run_search(resolver, opts, out)
    try:
        response = await resolver.query(
            opts.name, opts.rtype, rclass=opts.rclass, recursion=opts.recurse, tcp=opts.tcp
        )
    except ResolverTimeout as exc:
        out.write(f";; communications error: {exc}\n;; no servers could be reached\n")
        return 9
    except DNSError as exc:
        out.write(f";; {exc}\n")
        return 9
    except rd.RdataError as exc:
        out.write(f";; bad record in the response: {exc}\n")
        return 10
    try:
        if opts.short:
            out.write(_short(response.answer))
            return 0
        servers = resolver.nameservers
        out.write(f"\n; <<>> mirage-py dns query <<>> {' '.join(opts.argv)}\n")
        if opts.server is not None:
            out.write(f"; ({len(servers)} server found)\n")
        out.write(";; global options: +cmd\n;; Got answer:\n")
        out.write(format_response(response, opts, started) + "\n")
    except rd.RdataError as exc:
        out.write(f";; bad record in the response: {exc}\n")
        return 10
    return 0


async def _run_search(resolver: Resolver, opts: Options, out: TextIO) -> int:
    try:
        answer = await resolver.resolve(opts.name, opts.rtype)
    except (NXDomain, NoData) as exc:
        if not opts.short:
            out.write(f";; {exc} (negative TTL {exc.negative_ttl})\n")
        return 0
    except ResolverTimeout as exc:
        out.write(f";; communications error: {exc}\n")
        return 9
    except DNSError as exc:
        out.write(f";; {exc}\n")
        return 9
    recs = list(answer.cname_chain) + list(answer.records)
    if opts.short:
        out.write(_short(recs))
    else:
        out.write(f";; {answer.name} -> {answer.canonical_name}\n;; ANSWER SECTION:\n")
        out.write("".join(r.to_text() + "\n" for r in recs))
    return 0


def _literal(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return None


def main(argv: list[str]) -> int:
    """Run ``python -m dns query`` with ``argv`` (the words after ``query``)."""
    try:
        opts = parse_args(argv)
    except UsageError as exc:
        if str(exc):
            sys.stderr.write(f"dns query: {exc}\n")
        sys.stderr.write(USAGE)
        return 1 if str(exc) else 0
    out = sys.stdout
    try:
        return backends.run(
            lambda net: _run(net, opts, out), backend=opts.backend, **opts.backend_options
        )
    except (ValueError, TypeError) as exc:
        sys.stderr.write(f"dns query: {exc}\n")
        return 10


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main(sys.argv[1:]))
