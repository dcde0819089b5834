"""A stub resolver written once over the IO interface (what ocaml-dns's client is to Mirage).

Usage::

    import backends
    from dns.resolver import Resolver

    async def main(net: backends.Backend) -> None:
        resolver = Resolver(net)                       # /etc/resolv.conf, /etc/hosts
        addrs = await resolver.lookup_address("example.com", 443)   # [(ip, 443), ...]
        answer = await resolver.resolve("example.com", "MX")
        for rdata in answer:
            print(rdata.preference, rdata.exchange)

    backends.run(main, backend="trio")

What it does, and how:

* **Configuration** from ``/etc/resolv.conf`` (see :mod:`dns.resolvconf`, with
  ``LOCALDOMAIN``/``RES_OPTIONS``), read lazily in a worker thread on first use; or given
  explicitly (``Resolver(net, ["127.0.0.1"], port=5353, search=[...])``), in which case no
  file is read. ``/etc/hosts`` is consulted first for address and reverse lookups
  (``hosts=False`` turns that off, or pass a :class:`~dns.hosts.Hosts`).
* **Anti-spoofing**: each UDP query goes out from a fresh socket bound to port 0 (a random
  ephemeral port) with a 16-bit ID from the OS CSPRNG (:func:`os.urandom`). A datagram is accepted only if it
  comes from the server's address and port, carries the ID, has QR set and echoes the
  question (name compared case-insensitively, type and class exactly); anything else is
  dropped and waiting continues until the per-try timeout.
* **Retries**: ``attempts`` rounds over the servers, ``timeout`` seconds per try, the whole
  query bounded by ``lifetime``; ``rotate`` starts each query at the next server. SERVFAIL,
  REFUSED and NOTIMP move on to the next server; NOERROR and NXDOMAIN are answers.
* **TCP** when the answer has TC=1 (or ``tcp=True``/``options use-vc``).
* **DNS over TLS** (RFC 7858, ``tls=True``, port 853 by default) and **over HTTPS** (RFC
  8484, ``https="/dns-query"``, port 443, POST): the server's certificate verified against
  ``tls_ca`` or the system store for ``tls_hostname`` (RFC 8310 §5, the strict profile:
  no fall-back to clear text), connections kept and reused across queries (RFC 7858 §3.4,
  :class:`dns.dot.TlsPool`; over HTTPS :class:`dns.doh.DohClient`, which is
  :class:`cohttp.client.Client`'s pool; :meth:`Resolver.aclose` closes them), queries
  padded to 128-byte blocks (RFC 8467).
* **EDNS0** with a 1232-byte payload by default; a server that answers FORMERR to a query
  with an OPT record is asked again without one, and remembered as EDNS-less.
* **Search list and ndots** as glibc's ``res_search``: a name with at least ``ndots``
  dots is tried as-is first, then with each search domain, then as-is last otherwise; a
  trailing dot means absolute.
* **Results**: :class:`Answer` with typed records (:mod:`dns.records`), the CNAME chain
  followed (re-asking for the target when the server stopped at a CNAME), and
  :class:`NXDomain` / :class:`NoData` as distinct exceptions carrying the negative TTL
  (RFC 2308: ``min(SOA TTL, SOA MINIMUM)``).
* An optional :class:`~dns.cache.Cache` (``cache=True`` or an instance) for positive and
  negative answers.

Errors all derive from :class:`backends.errors.ResolutionError`, so one ``except`` catches
"this name does not resolve", whatever the reason.
"""

from __future__ import annotations

import ipaddress
import os
import ssl
import struct
import time
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar, cast, overload

from backends import tls as backends_tls
from backends.errors import ConnectionRefused, NetworkError, ResolutionError, Timeout
from backends.interface import Address, Backend, Flow

from . import doh, dot, tsig, wire
from . import records as rd
from .cache import Cache
from .hosts import Hosts
from .resolvconf import DEFAULT_PATH as RESOLV_CONF_PATH
from .resolvconf import ResolvConf, load_resolv_conf

EDNS_PAYLOAD = 1232
"""The UDP payload size advertised with EDNS0 (the DNS flag day 2020 value)."""
MAX_CNAME_HOPS = 16
"""Longest CNAME chain followed."""

_ANSWER_RCODES = (wire.RCODE_NOERROR, wire.RCODE_NXDOMAIN)
"""RCODEs that answer the question; others (SERVFAIL, REFUSED, ...) try the next server."""
_EMPTY_QUESTION_OK = frozenset(
    # NOTAUTH: NSD answers a TSIG failure without the question (RFC 8945 §5.2).
    (
        wire.RCODE_FORMERR,
        wire.RCODE_SERVFAIL,
        wire.RCODE_NOTIMP,
        wire.RCODE_REFUSED,
        wire.RCODE_NOTAUTH,
    )
)
_LOWER = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", b"abcdefghijklmnopqrstuvwxyz")
_U16 = struct.Struct("!H")


# ---------------------------------------------------------------------------- errors


class DNSError(ResolutionError):
    """Base of the resolver's errors (a :class:`backends.errors.ResolutionError`)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class NXDomain(DNSError):
    """The name does not exist (RCODE 3).

    Attributes: ``name`` (absolute, as asked), ``negative_ttl`` (seconds this may be
    cached, 0 when the server sent no SOA), ``canonical_name`` (the end of a CNAME chain
    that led to the missing name), ``response`` (the :class:`Response`, None from cache).
    """

    def __init__(
        self,
        name: str,
        negative_ttl: int,
        response: Response | None = None,
        canonical_name: str | None = None,
    ) -> None:
        super().__init__(f"{name}: no such domain (NXDOMAIN)")
        self.name = name
        self.negative_ttl = negative_ttl
        self.response = response
        self.canonical_name = canonical_name or name


class NoData(DNSError):
    """The name exists but has no records of the type asked (NOERROR, empty answer).

    Attributes: ``name``, ``rtype``, ``negative_ttl``, ``canonical_name``, ``response``.
    """

    def __init__(
        self,
        name: str,
        rtype: int,
        negative_ttl: int,
        response: Response | None = None,
        canonical_name: str | None = None,
    ) -> None:
        super().__init__(f"{name}: no {wire.type_to_text(rtype)} records (NODATA)")
        self.name = name
        self.rtype = rtype
        self.negative_ttl = negative_ttl
        self.response = response
        self.canonical_name = canonical_name or name


class ServerFailure(DNSError):
    """Every server failed (SERVFAIL, REFUSED, NOTIMP, bad responses, network errors).

    ``errors`` lists what each try got, in order.
    """

    def __init__(self, name: str, errors: Sequence[str]) -> None:
        detail = "; ".join(errors) if errors else "no servers"
        super().__init__(f"{name}: all servers failed: {detail}")
        self.name = name
        self.errors = list(errors)


class ResolverTimeout(DNSError, Timeout):
    """No server answered before the lifetime ran out (also a ``backends.Timeout``)."""

    def __init__(self, name: str, seconds: float, errors: Sequence[str] = ()) -> None:
        detail = f" ({'; '.join(errors)})" if errors else ""
        super().__init__(f"{name}: no answer within {seconds:g}s{detail}")
        self.name = name
        self.errors = list(errors)


class BadName(DNSError, ValueError):
    """A name that cannot be put in a query (empty label, over 255 octets, ...)."""


# ---------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class Record:
    """One resource record with typed RDATA."""

    name: str
    rtype: int
    rclass: int
    ttl: int
    rdata: rd.Rdata

    def to_text(self) -> str:
        """The record as dig prints it: ``name TTL CLASS TYPE rdata``."""
        return (
            f"{self.name}\t{self.ttl}\t{wire.class_to_text(self.rclass)}\t"
            f"{wire.type_to_text(self.rtype)}\t{self.rdata.to_text()}"
        )


def _to_record(rr: wire.RR, texts: dict[wire.Name, str] | None = None) -> Record:
    if texts is None:
        owner = wire.name_to_text(rr.name)
    else:
        found = texts.get(rr.name)
        if found is None:
            found = texts[rr.name] = wire.name_to_text(rr.name)
        owner = found
    return Record(
        owner,
        rr.rtype,
        rr.rclass,
        rr.ttl,
        rd.parse_rdata(rr.rtype, rr.message, rr.rdata_offset, rr.rdata_length),
    )


class Response:
    """A response as received: the parsed :class:`dns.wire.Message` and where it came from.

    ``answer``, ``authority`` and ``additional`` give typed :class:`Record` lists (parsed
    on first access; a record whose RDATA does not parse raises
    :class:`~dns.records.RdataError` there).
    """

    __slots__ = (
        "_sections",
        "elapsed",
        "message",
        "query_size",
        "server",
        "transport",
        "tsig_error",
        "tsig_signed",
    )

    def __init__(
        self,
        message: wire.Message,
        server: Address,
        transport: str,
        elapsed: float,
        query_size: int = 0,
    ) -> None:
        self.message = message
        self.server = server
        self.transport = transport
        self.elapsed = elapsed
        self.query_size = query_size
        self.tsig_signed = False
        """Whether the response carried a TSIG that verified (its record is removed)."""
        self.tsig_error: str | None = None
        """With a resolver ``key``: why the response's TSIG did not verify, else None."""
        self._sections: list[list[Record] | None] = [None, None, None]

    @property
    def rcode(self) -> int:
        """The (extended) response code."""
        return self.message.rcode

    @property
    def id(self) -> int:
        """The message ID."""
        return self.message.id

    def _section(self, index: int) -> list[Record]:
        cached = self._sections[index]
        if cached is None:
            rrs = (self.message.answer, self.message.authority, self.message.additional)[index]
            cached = [_to_record(rr) for rr in rrs]
            self._sections[index] = cached
        return cached

    @property
    def answer(self) -> list[Record]:
        """The answer section."""
        return self._section(0)

    @property
    def authority(self) -> list[Record]:
        """The authority section."""
        return self._section(1)

    @property
    def additional(self) -> list[Record]:
        """The additional section (without the OPT record: see ``message.edns``)."""
        return self._section(2)

    def __repr__(self) -> str:
        return (
            f"<Response from {self.server[0]}#{self.server[1]} ({self.transport}) {self.message!r}>"
        )


R = TypeVar("R", bound=rd.Rdata, covariant=True)
"""The RDATA class of an :class:`Answer`'s records (``rd.MXRecord`` for an MX answer)."""


@dataclass(frozen=True, slots=True)
class Answer(Generic[R]):
    """A positive answer: the records of ``rtype`` at the end of the CNAME chain.

    Iterating gives the typed RDATA (:mod:`dns.records` instances): for a type given as a
    literal, ``Resolver.resolve`` tells the type checker which class, so
    ``for mx in await r.resolve(name, "MX"): mx.exchange`` checks. ``ttl`` is the smallest
    TTL of the chain and the records (what is left of it when from the cache).
    """

    name: str
    rtype: int
    canonical_name: str
    records: tuple[Record, ...]
    cname_chain: tuple[Record, ...] = ()
    ttl: int = 0
    response: Response | None = field(default=None, compare=False)
    from_cache: bool = False

    def __iter__(self) -> Iterator[R]:
        return (cast(R, r.rdata) for r in self.records)

    def __len__(self) -> int:
        return len(self.records)

    @property
    def rdatas(self) -> list[R]:
        """The typed RDATA of every record."""
        return [cast(R, r.rdata) for r in self.records]

    @property
    def addresses(self) -> list[str]:
        """For A/AAAA answers, the addresses as text."""
        return [
            r.rdata.address for r in self.records if isinstance(r.rdata, rd.ARecord | rd.AAAARecord)
        ]


@dataclass(frozen=True, slots=True)
class _Negative:
    nxdomain: bool
    canonical_name: str


# ---------------------------------------------------------------------------- helpers


class _QueryIds:
    """16-bit query IDs from the OS CSPRNG, drawn 2,048 at a time.

    ``os.urandom`` is a system call; one per query costs more than the rest of building it.
    The IDs are as unpredictable either way: they are the kernel's random bytes, handed
    out once each (and dropped in a forked child, which must not repeat its parent's).
    """

    __slots__ = ("_ids",)

    def __init__(self) -> None:
        self._ids: list[int] = []

    def __call__(self) -> int:
        ids = self._ids
        if not ids:
            ids.extend(memoryview(os.urandom(4096)).cast("H"))
        return ids.pop()


_query_id = _QueryIds()
os.register_at_fork(after_in_child=_query_id._ids.clear)  # a child must not reuse them


def _absolute(name: str) -> str:
    return name if name.endswith(".") else name + "."


def _to_name(text: str) -> wire.Name:
    try:
        return wire.name_from_text(_absolute(text))
    except wire.WireError as exc:
        raise BadName(f"bad name {text!r}: {exc}") from exc


def _rtype(rtype: int | str) -> int:
    if isinstance(rtype, int):
        if not 0 <= rtype <= 0xFFFF:
            raise ValueError(f"record type {rtype} is out of range")
        return rtype
    return wire.type_from_text(rtype)


def search_candidates(name: str, search: Sequence[str], ndots: int) -> list[str]:
    """The absolute names ``res_search`` tries for ``name``, in order (glibc rules).

    A trailing dot: only the name itself. Otherwise, with at least ``ndots`` dots the name
    as-is comes first, then the name in each search domain, then (if fewer dots) the name
    as-is last.
    """
    if name.endswith("."):
        return [name]
    dots = name.count(".")
    out: list[str] = []
    if dots >= ndots:
        out.append(name + ".")
    for domain in search:
        domain = domain.strip(".")
        out.append(f"{name}.{domain}." if domain else name + ".")
    if dots < ndots:
        out.append(name + ".")
    seen: set[str] = set()
    unique = []
    for cand in out:
        key = cand.lower()
        if key not in seen:
            seen.add(key)
            unique.append(cand)
    return unique


# RFC 6724 section 2.1 default policy table: (prefix, precedence).
_POLICY: list[tuple[ipaddress.IPv6Network, int]] = [
    (ipaddress.IPv6Network("::1/128"), 50),
    (ipaddress.IPv6Network("::ffff:0:0/96"), 35),
    (ipaddress.IPv6Network("2002::/16"), 30),
    (ipaddress.IPv6Network("2001::/32"), 5),
    (ipaddress.IPv6Network("fc00::/7"), 3),
    (ipaddress.IPv6Network("::/96"), 1),
    (ipaddress.IPv6Network("fec0::/10"), 1),
    (ipaddress.IPv6Network("3ffe::/16"), 1),
    (ipaddress.IPv6Network("::/0"), 40),
]


def _precedence(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> int:
    v6 = ipaddress.IPv6Address(b"\0" * 10 + b"\xff\xff" + ip.packed) if ip.version == 4 else ip
    best_len, best = -1, 40
    for net, prec in _POLICY:
        if v6 in net and net.prefixlen > best_len:
            best_len, best = net.prefixlen, prec
    return best


def _scope(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> int:
    if ip.is_loopback or ip.is_link_local:
        return 0x2
    if isinstance(ip, ipaddress.IPv6Address) and ip.is_multicast:
        return ip.packed[1] & 0x0F
    if isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local:
        return 0x5
    return 0xE


def sort_addresses(addresses: Sequence[str]) -> list[str]:
    """Order destination addresses by RFC 6724's rules that need no source address.

    Rule 6 (higher precedence in the default policy table: ``::1`` > IPv6 > IPv4 > 6to4 >
    Teredo > ULA > deprecated) then rule 8 (smaller scope first); the sort is stable, so
    the server's order is kept among equals. Rules needing the source address the kernel
    would choose (1, 2, 3, 5, 7, 9) are not applied: protocol code here cannot ask it.
    """

    def key(text: str) -> tuple[int, int]:
        ip = ipaddress.ip_address(text.split("%", 1)[0])
        return (-_precedence(ip), _scope(ip))

    return sorted(addresses, key=key)


def _ip_literal(host: str) -> str | None:
    h = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        ipaddress.ip_address(h.split("%", 1)[0])
    except ValueError:
        return None
    return h


def _negative_ttl(message: wire.Message) -> int:
    for rr in message.authority:
        if rr.rtype == wire.TYPE_SOA:
            try:
                soa = rd.SOARecord.parse(rr.message, rr.rdata_offset, rr.rdata_length)
            except rd.RdataError:
                return 0
            return min(rr.ttl, soa.minimum)
    return 0


class _Server:
    __slots__ = ("address", "edns", "host", "port")

    def __init__(self, host: str, port: int) -> None:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
        self.host = str(ip) + (host[host.index("%") :] if "%" in host else "")
        self.port = port
        self.address: Address = (self.host, port)
        self.edns = True

    def matches(self, source: Address) -> bool:
        if source[1] != self.port:
            return False
        if source[0] == self.host:
            return True
        try:
            return ipaddress.ip_address(source[0].split("%", 1)[0]) == ipaddress.ip_address(
                self.host.split("%", 1)[0]
            )
        except ValueError:
            return False


def _parse_server(spec: str | tuple[str, int], port: int) -> _Server:
    if isinstance(spec, tuple):
        return _Server(spec[0], spec[1])
    text = spec.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        return _Server(
            host, wire.parse_decimal(rest[1:], 0xFFFF, "port") if rest.startswith(":") else port
        )
    if text.count(":") == 1:
        host, _, p = text.partition(":")
        return _Server(host, wire.parse_decimal(p, 0xFFFF, "port"))
    return _Server(text, port)


# ---------------------------------------------------------------------------- resolver


class Resolver:
    """A stub resolver over a :class:`backends.Backend`.

    Args:
        net: the backend whose UDP/TCP and clock are used.
        nameservers: servers to ask, each ``"ip"``, ``"ip:port"``, ``"[v6]:port"`` or
            ``(ip, port)``. When given, /etc/resolv.conf is not read at all.
        port: the port for servers given without one (default 53).
        config: a :class:`~dns.resolvconf.ResolvConf` to use instead of the file.
        search, ndots, timeout, attempts, rotate: override the configuration.
        lifetime: bound on one query, retries included (default: ``timeout`` ×
            ``attempts`` × number of servers, glibc's worst case).
        edns: send EDNS0 (default True; payload ``edns_payload``).
        dnssec: set the DO bit (RFC 3225) in the EDNS0 it sends, asking for the RRSIGs
            and NSEC/NSEC3 records (dig's ``+dnssec``); nothing is validated here.
        tcp: always query over TCP (default: the ``use-vc`` option).
        hosts: consult /etc/hosts first (True), not (False), or this :class:`Hosts`.
        cache: True for a default :class:`Cache`, or a cache instance; default none.
        resolv_conf: the path read when neither ``nameservers`` nor ``config`` is given.
        key: a :class:`~dns.tsig.Key` to sign each query with (RFC 8945); each response's
            TSIG is then verified. :meth:`query` returns a response that does not verify
            with :attr:`Response.tsig_error` saying why (as dig prints it); everything else
            takes only verified responses.
        tls: ask over TLS (RFC 7858): True for a context verifying against ``tls_ca`` (or
            the system's CAs), or an :class:`ssl.SSLContext` of your own.
        tls_ca: the CA file server certificates are verified against.
        tls_hostname: the name the server certificate must carry (default: its address).
        https: ask over HTTPS (RFC 8484) at this path, e.g. ``"/dns-query"``.
        The default ``port`` is 853 with ``tls``, 443 with ``https``, else 53.
    """

    def __init__(
        self,
        net: Backend,
        nameservers: Sequence[str | tuple[str, int]] | None = None,
        *,
        port: int | None = None,
        config: ResolvConf | None = None,
        search: Sequence[str] | None = None,
        ndots: int | None = None,
        timeout: float | None = None,
        attempts: int | None = None,
        lifetime: float | None = None,
        rotate: bool | None = None,
        edns: bool = True,
        edns_payload: int = EDNS_PAYLOAD,
        tcp: bool | None = None,
        hosts: bool | Hosts = True,
        cache: bool | Cache[Answer[rd.Rdata] | _Negative] | None = None,
        resolv_conf: str = RESOLV_CONF_PATH,
        key: tsig.Key | None = None,
        tls: bool | ssl.SSLContext = False,
        tls_ca: str | None = None,
        tls_hostname: str | None = None,
        https: str | None = None,
        dnssec: bool = False,
    ) -> None:
        self.net = net
        self.key = key
        self.dnssec = dnssec
        self._explicit_servers = list(nameservers) if nameservers is not None else None
        self.https = https
        """The DoH path, or None."""
        self.transport = "https" if https is not None else "tls" if tls is not False else None
        """``"tls"``, ``"https"``, or None for UDP and TCP."""
        self.pool: dot.TlsPool | doh.DohClient | None = None
        """The kept TLS connections (with ``tls``), or the HTTPS client (``https``)."""
        if self.transport is not None:
            if isinstance(tls, ssl.SSLContext):
                context = tls
            else:
                context = backends_tls.client_context(
                    cafile=tls_ca, alpn=["http/1.1"] if https is not None else [dot.DOT_ALPN]
                )
            if https is not None:
                self.pool = doh.DohClient(net, context, tls_hostname, https)
            else:
                self.pool = dot.TlsPool(net, context, tls_hostname)
        if port is None:
            port = {"tls": dot.DOT_PORT, "https": 443}.get(self.transport or "", 53)
        self._port = port
        self._o_search = tuple(search) if search is not None else None
        self._o_ndots = ndots
        self._o_timeout = timeout
        self._o_attempts = attempts
        self._o_rotate = rotate
        self._o_tcp = tcp
        self._lifetime = lifetime
        self.edns = edns
        self.edns_payload = edns_payload
        self._resolv_conf_path = resolv_conf
        self._hosts_setting = hosts
        self._hosts: Hosts | None = hosts if isinstance(hosts, Hosts) else None
        if cache is True:
            self.cache: Cache[Answer[rd.Rdata] | _Negative] | None = Cache()
        elif cache is False or cache is None:
            self.cache = None
        else:
            self.cache = cache
        self._servers: list[_Server] = []
        self.search: tuple[str, ...] = ()
        self.ndots = 1
        self.timeout = 5.0
        self.attempts = 2
        self.rotate = False
        self.tcp = False
        self.lifetime = 10.0
        self._rotation = 0
        self._configured = False
        if config is not None or nameservers is not None:
            self._apply(config or ResolvConf(search=()))

    # -- configuration

    def _apply(self, conf: ResolvConf) -> None:
        specs: Sequence[str | tuple[str, int]] = (
            self._explicit_servers if self._explicit_servers is not None else conf.nameservers
        )
        servers = [_parse_server(s, self._port) for s in specs]
        if not servers:
            raise ValueError("no name servers given")
        self._servers = servers
        self.search = self._o_search if self._o_search is not None else conf.search
        self.ndots = self._o_ndots if self._o_ndots is not None else conf.ndots
        self.timeout = self._o_timeout if self._o_timeout is not None else conf.timeout
        self.attempts = self._o_attempts if self._o_attempts is not None else conf.attempts
        self.rotate = self._o_rotate if self._o_rotate is not None else conf.rotate
        self.tcp = self._o_tcp if self._o_tcp is not None else conf.use_vc
        if self.attempts < 1:
            raise ValueError(f"attempts must be at least 1, got {self.attempts}")
        if self.timeout <= 0:
            raise ValueError(f"timeout must be positive, got {self.timeout}")
        self.lifetime = (
            self._lifetime
            if self._lifetime is not None
            else self.timeout * self.attempts * len(servers)
        )
        self._configured = True

    async def configure(self) -> None:
        """Read /etc/resolv.conf (and /etc/hosts) now rather than on the first query."""
        if not self._configured:
            conf = await self.net.run_in_thread(load_resolv_conf, self._resolv_conf_path)
            if not self._configured:
                self._apply(conf)
        if self._hosts is None and self._hosts_setting is True:
            self._hosts = await self.net.run_in_thread(Hosts.load)

    @property
    def nameservers(self) -> list[Address]:
        """The servers in use, as ``(ip, port)``."""
        return [s.address for s in self._servers]

    # -- one exchange with the servers

    async def query(
        self,
        name: str,
        rtype: int | str = "A",
        *,
        rclass: int = wire.CLASS_IN,
        recursion: bool = True,
        tcp: bool | None = None,
        any_rcode: bool = True,
    ) -> Response:
        """Send one question (no search list, no CNAME following) and return the response.

        With ``any_rcode`` (the default) the first valid response is returned whatever its
        RCODE (what dig does); otherwise SERVFAIL/REFUSED/NOTIMP try the next server.
        """
        if not self._configured:
            await self.configure()
        qname = _to_name(name)
        return await self._exchange(
            qname, _rtype(rtype), rclass, recursion, self.tcp if tcp is None else tcp, any_rcode
        )

    async def _exchange(
        self,
        qname: wire.Name,
        qtype: int,
        qclass: int,
        rd_flag: bool,
        tcp: bool,
        any_rcode: bool,
    ) -> Response:
        net = self.net
        servers = self._servers
        if self.rotate and len(servers) > 1:
            start = self._rotation % len(servers)
            self._rotation += 1
            servers = servers[start:] + servers[:start]
        now = net.now()
        deadline = now + self.lifetime
        errors: list[str] = []
        timeouts = 0
        for attempt in range(self.attempts):
            for index, server in enumerate(servers):
                if attempt or index:
                    now = net.now()
                remaining = deadline - now
                if remaining <= 0:
                    raise ResolverTimeout(wire.name_to_text(qname), self.lifetime, errors)
                try:
                    response = await self._ask(
                        server,
                        qname,
                        qtype,
                        qclass,
                        rd_flag,
                        tcp,
                        min(self.timeout, remaining),
                        now,
                    )
                except ConnectionRefused:  # nothing listens there (TCP RST, or ICMP over UDP)
                    errors.append(f"{server.host}#{server.port}: connection refused")
                    continue
                except (NetworkError, wire.WireError) as exc:
                    errors.append(f"{server.host}#{server.port}: {exc}")
                    continue
                if response is None:
                    timeouts += 1
                    errors.append(f"{server.host}#{server.port}: timed out")
                    continue
                rcode = response.message.rcode
                if response.tsig_error is not None and not any_rcode:
                    errors.append(f"{server.host}#{server.port}: TSIG: {response.tsig_error}")
                    continue
                if any_rcode or rcode in _ANSWER_RCODES:
                    return response
                errors.append(f"{server.host}#{server.port}: {wire.rcode_to_text(rcode)}")
        text = wire.name_to_text(qname)
        if timeouts == len(errors):
            raise ResolverTimeout(text, self.lifetime, errors)
        raise ServerFailure(text, errors)

    async def _ask(
        self,
        server: _Server,
        qname: wire.Name,
        qtype: int,
        qclass: int,
        rd_flag: bool,
        tcp: bool,
        timeout: float,
        started: float,
    ) -> Response | None:
        """One try at one server: UDP (then TCP on TC=1), or TCP. None on timeout."""
        use_edns = self.edns and server.edns
        response = await self._ask_once(
            server, qname, qtype, qclass, rd_flag, tcp, timeout, use_edns, started
        )
        if (
            use_edns
            and response is not None
            and response.message.edns is None
            and response.message.rcode in (wire.RCODE_FORMERR, wire.RCODE_NOTIMP)
        ):
            server.edns = False
            response = await self._ask_once(
                server, qname, qtype, qclass, rd_flag, tcp, timeout, False, self.net.now()
            )
        return response

    async def _ask_once(
        self,
        server: _Server,
        qname: wire.Name,
        qtype: int,
        qclass: int,
        rd_flag: bool,
        tcp: bool,
        timeout: float,
        use_edns: bool,
        started: float,
    ) -> Response | None:
        qid = _query_id()
        query = wire.build_query(
            qname,
            qtype,
            msg_id=qid,
            qclass=qclass,
            rd=rd_flag,
            edns_payload=self.edns_payload if use_edns else None,
            do=self.dnssec,
        )
        # The question as sent: the query minus its header and (11-byte, option-less) OPT.
        question = query[wire.HEADER_SIZE : len(query) - 11 if use_edns else len(query)]
        unsigned = query
        if self.pool is not None:
            query, mac = self._sign(dot.pad(unsigned, dot.QUERY_BLOCK))
            message = await self._secure(self.pool, server, query, qid, question, timeout)
            if message is None:
                return None
            assert self.transport is not None
            return self._verified(
                Response(
                    message, server.address, self.transport, self.net.now() - started, len(query)
                ),
                mac,
            )
        if not tcp:
            query, mac = self._sign(unsigned)
            response = await self._udp(server, query, qid, question, timeout)
            if response is None or not response.tc:
                return (
                    None
                    if response is None
                    else self._verified(
                        Response(
                            response, server.address, "udp", self.net.now() - started, len(query)
                        ),
                        mac,
                    )
                )
            qid = _query_id()
            unsigned = _U16.pack(qid) + unsigned[2:]
        query, mac = self._sign(unsigned)
        message = await self._tcp(server, query, qid, question, timeout)
        if message is None:
            return None
        return self._verified(
            Response(message, server.address, "tcp", self.net.now() - started, len(query)), mac
        )

    def _sign(self, query: bytes) -> tuple[bytes, bytes]:
        """The query signed with :attr:`key` and its MAC (unchanged and no MAC without)."""
        if self.key is None:
            return query, b""
        return tsig.sign_request(query, self.key, now=time.time())

    def _verified(self, response: Response, mac: bytes) -> Response:
        """Check the response's TSIG against the query's ``mac``; strip it when it verifies,
        else say why in :attr:`Response.tsig_error`."""
        if self.key is None:
            return response
        try:
            data = tsig.ResponseVerifier(self.key, mac).verify(
                response.message.data, now=time.time()
            )
            response.message = wire.Message.parse(data)
            response.tsig_signed = True
        except (tsig.TsigError, wire.WireError) as exc:
            response.tsig_error = str(exc)
        return response

    async def _udp(
        self, server: _Server, query: bytes, qid: int, question: bytes, timeout: float
    ) -> wire.Message | None:
        net = self.net
        # connected: the kernel (or our stack) filters other sources, and a port where
        # nothing listens raises ConnectionRefused at once (ICMP), as dig reports it
        endpoint = await net.udp_connect(server.host, server.port)
        try:
            await endpoint.send(query, server.address)
            deadline = net.now() + timeout
            while True:  # until the answer, or the deadline (spoofed datagrams do not reset it)
                try:
                    data, source = await endpoint.recv(timeout=deadline - net.now())
                except Timeout:
                    return None
                if not server.matches(source):
                    continue
                message = _accept(data, qid, question)
                if message is not None:
                    return message
        finally:
            await endpoint.close()

    async def _tcp(
        self, server: _Server, query: bytes, qid: int, question: bytes, timeout: float
    ) -> wire.Message | None:
        net = self.net
        with net.move_on_after(timeout):
            flow = await net.tcp_connect(server.host, server.port, timeout=timeout)
            try:
                await flow.write(_U16.pack(len(query)) + query)
                (length,) = _U16.unpack(await _read_exactly(flow, 2))
                data = await _read_exactly(flow, length)
            finally:
                await flow.close()
            message = _accept(data, qid, question)
            if message is None:
                raise _BadResponse(
                    f"TCP response from {server.host}#{server.port} does not match the query"
                )
            return message
        return None

    async def _secure(
        self,
        pool: dot.TlsPool | doh.DohClient,
        server: _Server,
        query: bytes,
        qid: int,
        question: bytes,
        timeout: float,
    ) -> wire.Message | None:
        """One exchange over TLS or HTTPS on a kept connection (or a new one: once more
        on a new one when a kept one turns out closed by the server, RFC 7858 §3.4)."""
        if isinstance(pool, doh.DohClient):
            # cohttp's client keeps its own deadlines (cancelling it from outside would
            # cost it a pool slot): its Timeout is this try's timeout.
            try:
                answer = await pool.exchange(server.host, server.port, query, timeout)
            except Timeout:
                return None
            message = _accept(answer, qid, question)
            if message is None:
                raise _BadResponse(
                    f"https response from {server.host}#{server.port} does not match the query"
                )
            return message
        net = self.net
        with net.move_on_after(timeout):
            for _ in range(2):
                flow, reused = await pool.take(server.host, server.port, timeout)
                kept = False
                try:
                    await flow.write(_U16.pack(len(query)) + query)
                    data = await _read_message(flow)
                    kept = data is not None
                except NetworkError:
                    if not reused:
                        raise
                    data = None
                finally:
                    if kept:
                        pool.give(server.host, server.port, flow)
                    else:
                        flow.abort()
                if data is None:
                    if reused:
                        continue
                    raise _BadResponse(
                        f"{server.host}#{server.port} closed the connection without answering"
                    )
                message = _accept(data, qid, question)
                if message is None:
                    raise _BadResponse(
                        f"{self.transport} response from {server.host}#{server.port} "
                        "does not match the query"
                    )
                return message
        return None

    async def aclose(self) -> None:
        """Close the TLS connections kept for reuse (``tls`` or ``https``)."""
        if self.pool is not None:
            await self.pool.aclose()

    # -- resolution with search list and CNAME chains

    @overload
    async def resolve(
        self, name: str, rtype: Literal["A", "a"] = ..., *, search: bool = ...
    ) -> Answer[rd.ARecord]: ...
    @overload
    async def resolve(
        self, name: str, rtype: Literal["AAAA", "aaaa"], *, search: bool = ...
    ) -> Answer[rd.AAAARecord]: ...
    @overload
    async def resolve(
        self, name: str, rtype: Literal["MX", "mx"], *, search: bool = ...
    ) -> Answer[rd.MXRecord]: ...
    @overload
    async def resolve(
        self, name: str, rtype: Literal["NS", "ns"], *, search: bool = ...
    ) -> Answer[rd.NSRecord]: ...
    @overload
    async def resolve(
        self, name: str, rtype: Literal["CNAME", "cname"], *, search: bool = ...
    ) -> Answer[rd.CNAMERecord]: ...
    @overload
    async def resolve(
        self, name: str, rtype: Literal["PTR", "ptr"], *, search: bool = ...
    ) -> Answer[rd.PTRRecord]: ...
    @overload
    async def resolve(
        self, name: str, rtype: Literal["DNAME", "dname"], *, search: bool = ...
    ) -> Answer[rd.DNAMERecord]: ...
    @overload
    async def resolve(
        self, name: str, rtype: Literal["TXT", "txt"], *, search: bool = ...
    ) -> Answer[rd.TXTRecord]: ...
    @overload
    async def resolve(
        self, name: str, rtype: Literal["SOA", "soa"], *, search: bool = ...
    ) -> Answer[rd.SOARecord]: ...
    @overload
    async def resolve(
        self, name: str, rtype: Literal["SRV", "srv"], *, search: bool = ...
    ) -> Answer[rd.SRVRecord]: ...
    @overload
    async def resolve(
        self, name: str, rtype: Literal["CAA", "caa"], *, search: bool = ...
    ) -> Answer[rd.CAARecord]: ...
    @overload
    async def resolve(
        self, name: str, rtype: Literal["SVCB", "svcb"], *, search: bool = ...
    ) -> Answer[rd.SVCBRecord]: ...
    @overload
    async def resolve(
        self, name: str, rtype: Literal["HTTPS", "https"], *, search: bool = ...
    ) -> Answer[rd.HTTPSRecord]: ...
    @overload
    async def resolve(
        self, name: str, rtype: int | str, *, search: bool = ...
    ) -> Answer[rd.Rdata]: ...
    async def resolve(
        self, name: str, rtype: int | str = "A", *, search: bool = True
    ) -> Answer[Any]:
        """Resolve ``name``/``rtype`` (class IN) through the search list and CNAMEs.

        Returns an :class:`Answer`; raises :class:`NXDomain`, :class:`NoData`,
        :class:`ServerFailure` or :class:`ResolverTimeout` (all ``ResolutionError``).
        ``search=False`` treats the name as absolute.
        """
        if not self._configured:
            await self.configure()
        qtype = _rtype(rtype)
        if not search or name.endswith("."):
            return await self._resolve_one(_absolute(name), qtype)
        candidates = search_candidates(name, self.search, self.ndots)
        first_as_is = candidates[0] == name + "." and name.count(".") >= self.ndots
        outcomes: list[DNSError] = []
        for cand in candidates:
            try:
                return await self._resolve_one(cand, qtype)
            except (NXDomain, NoData, ServerFailure) as exc:
                outcomes.append(exc)
        raise _search_error(outcomes, first_as_is)

    async def _resolve_one(self, name: str, qtype: int) -> Answer[rd.Rdata]:
        cache = self.cache
        key = Cache.key(name, qtype) if cache is not None else None
        if cache is not None and key is not None:
            hit = cache.get(key, self.net.now())
            if hit is not None:
                value, remaining = hit
                if isinstance(value, _Negative):
                    if value.nxdomain:
                        raise NXDomain(name, remaining, None, value.canonical_name)
                    raise NoData(name, qtype, remaining, None, value.canonical_name)
                return Answer(
                    value.name,
                    value.rtype,
                    value.canonical_name,
                    value.records,
                    value.cname_chain,
                    remaining,
                    None,
                    True,
                )
        try:
            answer = await self._chase(name, qtype)
        except (NXDomain, NoData) as exc:
            if cache is not None and key is not None and exc.negative_ttl > 0:
                cache.put(
                    key,
                    _Negative(isinstance(exc, NXDomain), exc.canonical_name),
                    exc.negative_ttl,
                    self.net.now(),
                    negative=True,
                )
            raise
        if cache is not None and key is not None:
            cache.put(key, answer, answer.ttl, self.net.now())
        return answer

    async def _chase(self, name: str, qtype: int) -> Answer[rd.Rdata]:
        qname = _to_name(name)
        current = qname
        chain: list[wire.RR] = []
        for _ in range(MAX_CNAME_HOPS):
            response = await self._exchange(current, qtype, wire.CLASS_IN, True, self.tcp, False)
            message = response.message
            hops, final, matches = _follow(message, current, qtype, MAX_CNAME_HOPS - len(chain))
            chain.extend(hops)
            if matches:
                texts = {qname: name}
                try:
                    recs = tuple(_to_record(rr, texts) for rr in matches)
                    cnames = tuple(_to_record(rr, texts) for rr in chain)
                except rd.RdataError as exc:
                    host, port = response.server
                    raise ServerFailure(name, [f"{host}#{port}: malformed record: {exc}"]) from exc
                ttl = min(r.ttl for r in (*recs, *cnames))
                canonical = texts.get(final) or wire.name_to_text(final)
                return Answer(name, qtype, canonical, recs, cnames, ttl, response)
            final_text = wire.name_to_text(final)
            if message.rcode == wire.RCODE_NXDOMAIN:
                raise NXDomain(name, _negative_ttl(message), response, final_text)
            has_soa = any(rr.rtype == wire.TYPE_SOA for rr in message.authority)
            if hops and not has_soa and len(chain) < MAX_CNAME_HOPS:
                current = final  # the server stopped at a CNAME: ask for its target
                continue
            raise NoData(name, qtype, _negative_ttl(message), response, final_text)
        raise ServerFailure(name, [f"CNAME chain longer than {MAX_CNAME_HOPS}"])

    # -- addresses

    async def lookup_address(
        self, host: str, port: int = 0, *, family: int | None = None
    ) -> list[Address]:
        """``getaddrinfo`` for one host: ``[(address, port), ...]``, best first.

        An IP literal is returned as is. Otherwise /etc/hosts (unless disabled), then
        ``localhost`` and names under it as the loopback (RFC 6761), then A and AAAA
        queries (both concurrently, through the search list), ordered by
        :func:`sort_addresses` (RFC 6724). ``family`` 4 or 6 asks for one family only.
        Raises a :class:`DNSError` (``ResolutionError``) when there is no address.
        """
        if family not in (None, 4, 6):
            raise ValueError(f"family must be 4, 6 or None, got {family!r}")
        literal = _ip_literal(host)
        if literal is not None:
            version = ipaddress.ip_address(literal.split("%", 1)[0]).version
            if family is not None and version != family:
                raise DNSError(f"{host} is an IPv{version} address, IPv{family} was asked")
            return [(literal, port)]
        if not self._configured or (self._hosts is None and self._hosts_setting is True):
            await self.configure()
        if self._hosts is not None:
            found = self._hosts.addresses(host, family)
            if found:
                return [(a, port) for a in sort_addresses(found)]
        lowered = host.lower().rstrip(".")
        if lowered == "localhost" or lowered.endswith(".localhost"):
            # RFC 6761 section 6.3: localhost names are always the loopback, never asked.
            loop = [a for f, a in ((6, "::1"), (4, "127.0.0.1")) if family in (None, f)]
            return [(a, port) for a in loop]
        types = [t for f, t in ((4, wire.TYPE_A), (6, wire.TYPE_AAAA)) if family in (None, f)]
        answers = await self._resolve_types(host, types)
        addresses = [a for ans in answers for a in ans.addresses]
        return [(a, port) for a in sort_addresses(addresses)]

    async def _resolve_types(self, name: str, types: list[int]) -> list[Answer[rd.Rdata]]:
        """Resolve several types for the same name, candidate by candidate (as glibc
        sends A and AAAA together): the first search candidate with any data wins."""
        if len(types) == 1:
            return [await self.resolve(name, types[0])]
        if name.endswith("."):
            candidates = [name]
        else:
            candidates = search_candidates(name, self.search, self.ndots)
        first_as_is = candidates[0] == name + "." and name.count(".") >= self.ndots
        outcomes: list[DNSError] = []
        for cand in candidates:
            results: list[Answer[rd.Rdata] | DNSError | None] = [None] * len(types)

            async def one(
                i: int,
                qtype: int,
                cand: str = cand,
                results: list[Answer[rd.Rdata] | DNSError | None] = results,
            ) -> None:
                try:
                    results[i] = await self._resolve_one(cand, qtype)
                except DNSError as exc:
                    results[i] = exc

            async with self.net.task_group() as tg:
                for i, qtype in enumerate(types):
                    tg.start_soon(one, i, qtype)
            answers = [r for r in results if isinstance(r, Answer)]
            if answers:
                return answers
            errors = [r for r in results if isinstance(r, DNSError)]
            for err in errors:
                if isinstance(err, ResolverTimeout):
                    raise err
            # NXDOMAIN for any type means the name is missing; keep the most telling error.
            nodata = [e for e in errors if isinstance(e, NoData)]
            outcomes.append(nodata[0] if nodata else errors[0])
        raise _search_error(outcomes, first_as_is)

    async def reverse(self, address: str) -> list[str]:
        """The host names of ``address`` (PTR records under in-addr.arpa / ip6.arpa).

        /etc/hosts first (unless disabled). Raises :class:`DNSError` for a bad address,
        :class:`NXDomain`/:class:`NoData` when there is no name.
        """
        literal = _ip_literal(address)
        if literal is None:
            raise DNSError(f"{address!r} is not an IP address")
        if not self._configured or (self._hosts is None and self._hosts_setting is True):
            await self.configure()
        if self._hosts is not None:
            names = self._hosts.names(literal)
            if names:
                return names
        ip = ipaddress.ip_address(literal.split("%", 1)[0])
        answer = await self.resolve(ip.reverse_pointer + ".", wire.TYPE_PTR, search=False)
        return [r.target for r in answer if isinstance(r, rd.PTRRecord)]


_DEFAULT_RESOLVERS: weakref.WeakKeyDictionary[Backend, Resolver] = weakref.WeakKeyDictionary()


def default_resolver(net: Backend) -> Resolver:
    """The shared system-configured resolver of ``net``, created on first use.

    It reads /etc/resolv.conf and /etc/hosts (once, lazily) and keeps a small cache, so
    a client that looks up many host names on one backend (cohttp's client on the mirage
    backend, which has no system resolver) can simply do::

        addresses = await default_resolver(net).lookup_address(host, port)
    """
    try:
        found = _DEFAULT_RESOLVERS.get(net)
    except TypeError:  # a backend that cannot be weakly referenced: no sharing
        return Resolver(net, cache=Cache(1024))
    if found is None:
        found = Resolver(net, cache=Cache(1024))
        _DEFAULT_RESOLVERS[net] = found
    return found


class _BadResponse(NetworkError):
    """A TCP response that does not answer the query sent (wrong ID or question)."""


def _search_error(outcomes: list[DNSError], first_as_is: bool) -> DNSError:
    """The error ``res_search`` reports after every candidate failed."""
    if first_as_is and outcomes:
        return outcomes[0]
    for exc in outcomes:
        if isinstance(exc, NoData):
            return exc
    for exc in outcomes:
        if isinstance(exc, ServerFailure):
            return exc
    return outcomes[-1] if outcomes else DNSError("no candidate names to try")


def _accept(data: bytes, qid: int, question: bytes) -> wire.Message | None:
    """Parse ``data`` if it answers the query (ID, QR, opcode, question); else None."""
    if len(data) < wire.HEADER_SIZE:
        return None
    if data[0] != qid >> 8 or data[1] != qid & 0xFF:
        return None
    flags = (data[2] << 8) | data[3]
    if not flags & wire.QR or flags & wire.OPCODE_MASK:
        return None
    qdcount = (data[4] << 8) | data[5]
    if qdcount == 1:
        end = wire.HEADER_SIZE + len(question)
        got = data[wire.HEADER_SIZE : end]
        if got != question and got.translate(_LOWER) != question.translate(_LOWER):
            return None
    elif qdcount != 0 or (flags & wire.RCODE_MASK) not in _EMPTY_QUESTION_OK:
        return None
    try:
        return wire.Message.parse(data)
    except wire.WireError:
        return None


def _follow(
    message: wire.Message, qname: wire.Name, qtype: int, max_hops: int
) -> tuple[list[wire.RR], wire.Name, list[wire.RR]]:
    """Follow CNAMEs from ``qname`` in the answer section.

    Returns ``(cname records, final name, records of qtype at the final name)``.
    """
    answer = message.answer
    if not answer:
        return [], qname, []
    name_key = wire.name_key
    target = name_key(qname)
    current = qname
    chain: list[wire.RR] = []
    seen = {target}
    while True:
        # Exact tuple equality first (the usual case), the canonical key otherwise.
        matches = [
            rr
            for rr in answer
            if rr.rtype == qtype
            and rr.rclass == wire.CLASS_IN
            and (rr.name == current or name_key(rr.name) == target)
        ]
        if matches or qtype == wire.TYPE_CNAME or len(chain) >= max_hops:
            return chain, current, matches
        cname = next(
            (
                rr
                for rr in answer
                if rr.rtype == wire.TYPE_CNAME
                and (rr.name == current or name_key(rr.name) == target)
            ),
            None,
        )
        if cname is None:
            return chain, current, []
        current, _ = wire.decode_name(message.data, cname.rdata_offset)
        target = wire.name_key(current)
        chain.append(cname)
        if target in seen:  # a CNAME loop
            return chain, current, []
        seen.add(target)


async def _read_message(flow: Flow) -> bytes | None:
    """One length-prefixed message; None when the flow ends before its first byte."""
    first = await flow.read(2)
    if not first:
        return None
    prefix = first if len(first) == 2 else first + await _read_exactly(flow, 1)
    (length,) = _U16.unpack(prefix)
    return await _read_exactly(flow, length)


async def _read_exactly(flow: Flow, n: int) -> bytes:
    parts: list[bytes] = []
    got = 0
    while got < n:
        chunk = await flow.read(n - got)
        if not chunk:
            raise _BadResponse(f"connection closed after {got} of {n} bytes")
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


__all__ = [
    "EDNS_PAYLOAD",
    "Answer",
    "BadName",
    "DNSError",
    "NXDomain",
    "NoData",
    "Record",
    "Resolver",
    "ResolverTimeout",
    "Response",
    "ServerFailure",
    "default_resolver",
    "search_candidates",
    "sort_addresses",
]
