"""``python -m dns query``: a dig-like command over the stub resolver.

Usage::

    python -m dns query NAME [TYPE] [CLASS] [@SERVER] [-p PORT] [-x ADDR] [-4|-6]
                        [+tcp] [+short] [+norec] [+noedns] [+search] [+dnssec]
                        [+time=S] [+tries=N]
                        [-y [ALG:]NAME:SECRET | +tsig=[ALG:]NAME:SECRET | -k KEYFILE]
                        [+tls] [+tls-ca=FILE] [+tls-hostname=NAME] [+https[=/PATH]]
                        [--backend asyncio|trio|mirage [--tap DEV --ip ADDR/LEN
                         [--gateway ADDR]]]

Without ``@SERVER`` the servers of /etc/resolv.conf are asked. Output follows dig's layout
(header, OPT pseudo-section, question, answer, authority and additional sections, query
time, server, size) so it reads like dig's; ``+short`` prints only the answer RDATA.
``+search`` applies the search list and follows CNAMEs (a :meth:`Resolver.resolve`);
otherwise exactly one question is sent, as dig does. On ``--backend mirage`` without
``--tap`` the stack sits alone on a private in-memory switch and reaches only itself; with
``--tap``/``--ip`` it queries through a TAP device.

``+tls`` asks over TLS (RFC 7858, port 853 unless ``-p``), ``+https`` over HTTPS (RFC
8484, POST to ``/dns-query`` or the path given, port 443 unless ``-p``), as kdig spells
them: the certificate is verified against ``+tls-ca=FILE`` (or the system's CAs) for the
name ``+tls-hostname=NAME`` (or the server's address); a certificate that does not verify
is a communications error naming the reason, never a fall-back to clear text.

``+dnssec`` sets the DO bit (RFC 3225), so a signed zone's server adds its RRSIGs and
NSEC/NSEC3 proofs, printed like any record (as dig does; nothing is validated).

AXFR and IXFR (``IXFR=SERIAL``) go over TCP by themselves and read every message of the
transfer, as dig does.

``-y`` signs the query with a TSIG key (RFC 8945; dig's form, ALG hmac-sha256 by default;
``-k FILE`` reads it from a file as ``tsig-keygen`` writes it)
and verifies the response, every message of a transfer too; a response that does not verify
is printed after ``;; Couldn't verify signature: REASON`` (a transfer stops there), as dig.

Exit status, as dig's: 0 when a response arrived (whatever its RCODE), 9 when no server
answered (each failure printed as ``;; communications error to HOST#PORT: REASON``), 1 for
a usage error (unknown option, bad port), 10 for input dig cannot use either (a name that
is not legal, an unparsable ``+time``/``+tries``/serial, a server name that does not
resolve) and for a failure to use the chosen backend. Never a traceback.
"""

from __future__ import annotations

import ipaddress
import os
import re
import struct
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

import backends

from . import records as rd
from . import tsig, wire
from .resolvconf import parse_decimal
from .resolver import (
    DNSError,
    NoData,
    NXDomain,
    Record,
    Resolver,
    ResolverTimeout,
    Response,
    ServerFailure,
)
from .zone import serial_gt

USAGE = """\
usage: python -m dns query NAME [TYPE] [CLASS] [@SERVER] [-p PORT] [-x ADDR] [-4|-6]
                           [+tcp] [+short] [+norec] [+noedns] [+search]
                           [+time=SECONDS] [+tries=N] [-y [ALG:]NAME:SECRET]
                           [+tls] [+tls-ca=FILE] [+tls-hostname=NAME] [+https[=/PATH]]
                           [--backend NAME]
                           [--tap DEV --ip ADDR/PREFIX [--gateway ADDR]]  (mirage)
"""


class UsageError(ValueError):
    """A bad command line (dig's exit status 1); the message says what is wrong."""


class InputError(ValueError):
    """A command line dig parses but cannot use (its exit status 10): a name that is not
    legal, a ``+time``/``+tries``/serial that is not a number."""


@dataclass
class Options:
    """The parsed command line."""

    name: str = ""
    rtype: int = wire.TYPE_A
    rclass: int = wire.CLASS_IN
    server: str | None = None
    port: int = 53
    port_given: bool = False
    tcp: bool = False
    tls: bool = False
    tls_ca: str | None = None
    tls_hostname: str | None = None
    https: str | None = None
    short: bool = False
    recurse: bool = True
    edns: bool = True
    search: bool = False
    dnssec: bool = False
    timeout: float = 5.0
    tries: int = 2
    backend: str = "asyncio"
    family: int | None = None
    serial: int = 0
    key: tsig.Key | None = None
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
            port = None if value is None else parse_decimal(value, 65535)
            if not port:
                raise UsageError(f"-p needs a port number (1 to 65535), got {value!r}")
            opts.port = port
            opts.port_given = True
        elif arg == "-t":
            value = next(it, None)
            if value is None:
                raise UsageError("-t needs a record type")
            type_given = _set_type(opts, value, warn=True) or type_given
        elif arg == "-x":
            value = next(it, None)
            if value is None:
                raise UsageError("-x needs an address")
            try:
                ip = ipaddress.ip_address(value)
            except ValueError:
                raise UsageError(f"-x: {value!r} is not an IP address") from None
            opts.name, opts.rtype, type_given = ip.reverse_pointer + ".", wire.TYPE_PTR, True
        elif arg == "-y":
            value = next(it, None)
            if value is None:
                raise UsageError("-y needs a key: [ALG:]NAME:SECRET")
            opts.key = _tsig_key(value)
        elif arg == "-k":
            value = next(it, None)
            if value is None:
                raise UsageError("-k needs a key file")
            opts.key = read_key_file(value)
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
        elif not type_given and _set_type(opts, word, warn=False):
            type_given = True
        elif _parses(wire.class_from_text, word):
            opts.rclass = wire.class_from_text(word)
        else:
            raise UsageError(f"unexpected argument {word!r}")
    if not opts.name:
        raise UsageError("no name to look up")
    try:
        wire.name_from_text(opts.name if opts.name.endswith(".") else opts.name + ".")
    except wire.WireError as exc:
        raise InputError(f"{opts.name!r} is not a legal name ({exc})") from None
    if opts.rtype in (wire.TYPE_AXFR, wire.TYPE_IXFR):
        opts.tcp = True  # zone transfers are TCP only (RFC 5936 section 4.2, RFC 1995)
    return opts


MAX_KEY_FILE = 64 * 1024


def read_key_file(path: str) -> tsig.Key:
    """The TSIG key in ``path``, written as BIND's ``tsig-keygen`` writes it (and as named
    and nsupdate read it)::

        key "name" {
            algorithm hmac-sha256;
            secret "base64...";
        };

    :class:`UsageError` naming the file and the problem otherwise (dig's ``-k``)."""
    try:
        with open(path, "rb") as f:
            text = f.read(MAX_KEY_FILE + 1).decode("ascii")
    except OSError as exc:
        raise UsageError(f"-k {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise UsageError(f"-k {path}: not a key file (not ASCII)") from None
    if len(text) > MAX_KEY_FILE:
        raise UsageError(f"-k {path}: not a key file (over {MAX_KEY_FILE} bytes)")
    lines = [line.split("#", 1)[0].split("//", 1)[0] for line in text.splitlines()]
    words = " ".join(lines).replace("{", " { ").replace("}", " } ").replace(";", " ; ").split()
    words = [w.strip('"') for w in words]
    if len(words) < 4 or words[0] != "key" or words[2] != "{":
        raise UsageError(f'-k {path}: expected key "NAME" {{ algorithm ALG; secret "..."; }};')
    fields: dict[str, str] = {}
    pos = 3
    while pos + 2 < len(words) and words[pos] != "}":
        if words[pos + 2] != ";":
            raise UsageError(f"-k {path}: expected ';' after {words[pos]} {words[pos + 1]}")
        fields[words[pos]] = words[pos + 1]
        pos += 3
    if "algorithm" not in fields or "secret" not in fields:
        raise UsageError(f"-k {path}: the key needs an algorithm and a secret")
    try:
        return tsig.parse_key(f"{fields['algorithm']}:{words[1]}:{fields['secret']}")
    except ValueError as exc:
        raise UsageError(f"-k {path}: {exc}") from None


def _tsig_key(text: str) -> tsig.Key:
    try:
        return tsig.parse_key(text)
    except ValueError as exc:
        raise UsageError(f"-y: {exc}") from None


def _parses(parse: Callable[[str], int], word: str) -> bool:
    """Whether ``parse`` (``wire.type_from_text`` or ``wire.class_from_text``) takes ``word``."""
    try:
        parse(word)
    except ValueError:
        return False
    return True


_IXFR = re.compile(r"ixfr=(.*)", re.IGNORECASE | re.DOTALL)


def _set_type(opts: Options, word: str, *, warn: bool) -> bool:
    """Set the query type from ``word`` (``MX``, ``TYPE65280``, ``IXFR=SERIAL``); whether
    it was one. With ``warn`` (``-t``), an unknown type is reported and ignored, as dig
    does."""
    ixfr = _IXFR.fullmatch(word)
    if ixfr is not None:
        serial = parse_decimal(ixfr.group(1), 0xFFFFFFFF)
        if serial is None:
            raise InputError(f"invalid serial number {ixfr.group(1)!r}: not a valid number")
        opts.rtype, opts.serial = wire.TYPE_IXFR, serial
        return True
    try:
        opts.rtype = wire.type_from_text(word)
    except ValueError:
        if warn:
            sys.stderr.write(f";; Warning, ignoring invalid type {word}\n")
        return False
    return True


_SECONDS = re.compile(r"[0-9]{1,6}(?:\.[0-9]{1,6})?")
"""``+time``'s value: whole seconds as dig takes them, or (our extension) a fraction."""


def _plus_option(opts: Options, option: str) -> None:
    key, _, value = option.partition("=")
    negated = key.startswith("no")
    base = key[2:] if negated else key
    if base in ("tcp", "vc"):
        opts.tcp = not negated
    elif base == "tls" and not value:
        opts.tls = not negated
    elif base == "tls-ca" and not negated:
        opts.tls, opts.tls_ca = True, value or None
    elif base == "tls-hostname" and not negated:
        if not value:
            raise UsageError("+tls-hostname needs a name")
        opts.tls, opts.tls_hostname = True, value
    elif base == "https":
        if negated:
            opts.https = None
        elif value and not value.startswith("/"):
            raise UsageError(f"+https={value}: the path must start with /")
        else:
            opts.https = value or "/dns-query"
    elif base == "short":
        opts.short = not negated
    elif base in ("rec", "recurse"):
        opts.recurse = not negated
    elif base == "edns":
        opts.edns = not negated
    elif base == "search":
        opts.search = not negated
    elif base == "dnssec":
        opts.dnssec = not negated
    elif base == "tsig" and not negated:
        opts.key = _tsig_key(value)
    elif base == "time" and not negated:
        if _SECONDS.fullmatch(value) is None:
            raise InputError(f"invalid timeout {value!r}: not a valid number of seconds")
        opts.timeout = float(value) or 1.0  # dig takes +time=0 as one second
    elif base in ("tries", "retry") and not negated:
        number = parse_decimal(value, 255)
        if number is None:
            raise InputError(f"invalid {base} {value!r}: not a valid number")
        opts.tries = max(1, number + (1 if base == "retry" else 0))
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
        "key": opts.key,
        "dnssec": opts.dnssec,
    }
    if opts.tls or opts.https is not None:
        resolver_opts.update(tls=True, tls_ca=opts.tls_ca, tls_hostname=opts.tls_hostname)
        resolver_opts["https"] = opts.https
        if not opts.port_given:
            opts.port = 443 if opts.https is not None else 853
    if opts.server is not None:
        server = _literal(opts.server)
        if server is None:
            try:
                found = await Resolver(net).lookup_address(
                    opts.server, opts.port, family=opts.family
                )
            except (DNSError, ValueError) as exc:
                sys.stderr.write(f"dns query: couldn't get address for {opts.server!r}: {exc}\n")
                return 10
            server = found[0][0]
        resolver = Resolver(net, [(server, opts.port)], **resolver_opts)
    else:
        resolver = Resolver(net, **resolver_opts)
        try:
            await resolver.configure()
        except ValueError as exc:  # an unreadable resolv.conf, or one without servers
            sys.stderr.write(f"dns query: {exc}\n")
            return 10
        if opts.port != 53:
            resolver = Resolver(
                net,
                [(h, opts.port) for h, _ in resolver.nameservers],
                search=resolver.search,
                ndots=resolver.ndots,
                **resolver_opts,
            )
    started = time.time()
    if opts.rtype in (wire.TYPE_AXFR, wire.TYPE_IXFR):
        return await _run_transfer(net, resolver.nameservers, opts, out)
    try:
        if opts.search:
            return await _run_search(resolver, opts, out)
        response = await resolver.query(
            opts.name, opts.rtype, rclass=opts.rclass, recursion=opts.recurse, tcp=opts.tcp
        )
    except (ResolverTimeout, ServerFailure) as exc:
        return _no_servers(exc.errors, str(exc), out)
    except DNSError as exc:
        out.write(f";; {exc}\n")
        return 9
    finally:
        await resolver.aclose()
    try:
        if opts.short:
            out.write(_short(response.answer))
            return 0
        if response.tsig_error is not None:
            out.write(f";; Couldn't verify signature: {response.tsig_error}\n")
        _banner(resolver.nameservers, opts, out)
        out.write(";; Got answer:\n")
        out.write(format_response(response, opts, started) + "\n")
    except rd.RdataError as exc:
        out.write(f";; bad record in the response: {exc}\n")
        return 10
    return 0


def _banner(servers: Sequence[object], opts: Options, out: TextIO) -> None:
    out.write(f"\n; <<>> mirage-py dns query <<>> {' '.join(opts.argv)}\n")
    if opts.server is not None:
        out.write(f"; ({len(servers)} server found)\n")
    out.write(";; global options: +cmd\n")


def _no_servers(errors: Sequence[str], summary: str, out: TextIO) -> int:
    """dig's report when no server answered: one line per failed try, then the verdict."""
    for error in errors:
        out.write(f";; communications error to {error}\n")
    if not errors:
        out.write(f";; communications error: {summary}\n")
    out.write(";; no servers could be reached\n")
    return 9


async def _run_transfer(
    net: backends.Backend, servers: Sequence[tuple[str, int]], opts: Options, out: TextIO
) -> int:
    """AXFR or IXFR over TCP from the first server that takes the connection."""
    errors: list[str] = []
    for host, port in servers:
        for _ in range(opts.tries):
            started = time.time()
            try:
                return await _transfer(net, (host, port), opts, out, started)
            except backends.ConnectionRefused:
                errors.append(f"{host}#{port}: connection refused")
            except (backends.NetworkError, wire.WireError, rd.RdataError) as exc:
                errors.append(f"{host}#{port}: {exc}")
                break
    return _no_servers(errors, "no servers", out)


async def _transfer(
    net: backends.Backend, server: tuple[str, int], opts: Options, out: TextIO, started: float
) -> int:
    """Send the transfer query and print every record until the closing SOA.

    Each message must arrive whole within ``+time`` seconds of the one before (a server
    that trickles bytes cannot stretch that); the transfer ends at the SOA that closes it
    (RFC 5936 section 2.2: the zone's SOA again; RFC 1995: the newest SOA a third time in
    an incremental answer, a second time in an AXFR-style one, or alone when up to date).
    """
    qname = wire.name_from_text(opts.name if opts.name.endswith(".") else opts.name + ".")
    qid = int.from_bytes(os.urandom(2), "big")
    builder = wire.MessageBuilder(qid, wire.make_flags(rd=False))
    builder.add_question(qname, opts.rtype, opts.rclass)
    if opts.rtype == wire.TYPE_IXFR:
        soa = b"\0\0" + struct.pack("!5I", opts.serial, 0, 0, 0, 0)
        builder.add_rr(wire.SECTION_AUTHORITY, qname, wire.TYPE_SOA, opts.rclass, 0, soa)
    query = builder.finish()
    verifier: tsig.ResponseVerifier | None = None
    if opts.key is not None:
        query, mac = tsig.sign_request(query, opts.key, now=time.time())
        verifier = tsig.ResponseVerifier(opts.key, mac)
    clock = net.now()
    flow = await net.tcp_connect(server[0], server[1], timeout=opts.timeout)
    if not opts.short:
        _banner([server], opts, out)
    records = messages = size = 0
    newest: int | None = None
    closing = 2
    async with flow:
        await flow.write(struct.pack("!H", len(query)) + query)
        while True:
            with net.move_on_after(opts.timeout) as scope:
                data = await _read_message(flow)
            if scope.cancelled_caught:
                raise backends.Timeout("timed out")
            if verifier is not None:
                try:
                    data = verifier.verify(data, now=time.time())
                except tsig.TsigError as exc:
                    out.write(f";; Couldn't verify signature: {exc}\n; Transfer failed.\n")
                    return 0
            message = wire.Message.parse(data)
            if message.id != qid or not message.qr:
                raise wire.WireError("a message that does not answer the transfer query")
            if message.rcode != wire.RCODE_NOERROR:
                out.write(f"; Transfer failed: {wire.rcode_to_text(message.rcode)}.\n")
                return 0
            messages += 1
            size += len(data)
            response = Response(message, server, "tcp", net.now() - clock)
            for record in response.answer:
                records += 1
                out.write(_short([record]) if opts.short else record.to_text() + "\n")
                if not isinstance(record.rdata, rd.SOARecord):
                    continue
                if newest is None:
                    newest = record.rdata.serial
                elif records == 2 and opts.rtype == wire.TYPE_IXFR:
                    closing = 3  # an incremental answer: the newest SOA opens the last diff too
                elif record.rdata.serial == newest:
                    closing -= 1
                    if closing == 1:
                        break
            if newest is None:
                raise wire.WireError("the transfer does not start with an SOA record")
            if closing == 1 or (
                opts.rtype == wire.TYPE_IXFR and records == 1 and not serial_gt(newest, opts.serial)
            ):
                break  # RFC 1995 section 4: the client is current, one SOA says so
    if verifier is not None:
        try:
            verifier.finish()
        except tsig.TsigError as exc:
            out.write(f";; Couldn't verify signature: {exc}\n; Transfer failed.\n")
            return 0
    if not opts.short:
        out.write(f";; Query time: {round((net.now() - clock) * 1000)} msec\n")
        out.write(f";; SERVER: {server[0]}#{server[1]}({server[0]}) (TCP)\n")
        out.write(f";; WHEN: {time.strftime('%a %b %d %H:%M:%S %Z %Y', time.localtime(started))}\n")
        out.write(f";; XFR size: {records} records (messages {messages}, bytes {size})\n\n")
    return 0


async def _read_message(flow: backends.Flow) -> bytes:
    """One length-prefixed DNS message from a TCP flow (RFC 1035 section 4.2.2)."""
    buffer = b""
    need = 2
    length: int | None = None
    while True:
        while len(buffer) < need:
            chunk = await flow.read(need - len(buffer))
            if not chunk:
                raise backends.ConnectionReset(f"connection closed after {len(buffer)} bytes")
            buffer += chunk
        if length is not None:
            return buffer[2:]
        length = struct.unpack("!H", buffer)[0]
        need = 2 + length


async def _run_search(resolver: Resolver, opts: Options, out: TextIO) -> int:
    try:
        answer = await resolver.resolve(opts.name, opts.rtype)
    except (NXDomain, NoData) as exc:
        if not opts.short:
            out.write(f";; {exc} (negative TTL {exc.negative_ttl})\n")
        return 0
    except ResolverTimeout as exc:
        return _no_servers(exc.errors, str(exc), out)
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
    """Run ``python -m dns query`` with ``argv`` (the words after ``query``); returns dig's
    exit status (see the module's documentation)."""
    try:
        opts = parse_args(argv)
    except UsageError as exc:
        if str(exc):
            sys.stderr.write(f"dns query: {exc}\n")
        sys.stderr.write(USAGE)
        return 1 if str(exc) else 0
    except InputError as exc:
        sys.stderr.write(f"dns query: {exc}\n")
        return 10
    out = sys.stdout
    try:
        return backends.run(
            lambda net: _run(net, opts, out), backend=opts.backend, **opts.backend_options
        )
    except KeyboardInterrupt:
        return 130  # as a shell reports SIGINT
    except (ValueError, TypeError, OSError) as exc:  # the backend could not start or bind
        sys.stderr.write(f"dns query: {exc}\n")
        return 10


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main(sys.argv[1:]))
