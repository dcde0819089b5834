"""Zones: RFC 1035 master files in, validated, lookup-ready zones out.

The master-file reader is our own (dnslib's has no ``$INCLUDE`` and cannot parse DNAME):
``$ORIGIN``, ``$TTL``, ``$INCLUDE file [origin]`` (paths relative to the including file),
parentheses across lines, quoted strings, ``;`` comments, relative names and ``@``, a blank
owner meaning the previous one, TTL and class in either order, TTLs with units (``1h30m``),
``TYPEnnn``/``CLASSnnn`` and RFC 3597 ``\\# len hex`` rdata for any type. Common types are
encoded here; the rarer ones (RRSIG, NSEC, LOC, HTTPS, ...) through dnslib.

Validation at load (each a :class:`ZoneError` naming file and line): exactly one SOA, at the
apex; NS at the apex; no CNAME beside other data; no NS at a wildcard. As BIND does, data
outside the origin is left out with a warning, and data below a DNAME or at or below a zone
cut (other than glue and DS) loads with a warning but is never answered from (occluded).
``$GENERATE`` (BIND's, also Knot's) makes records from a range; ``*`` is a wildcard only as
the leftmost label, elsewhere an ordinary label (RFC 4592 §2.1.1).

Usage::

    zone = load_zone_file("examples/zones/ocaml.test.zone")
    zone.origin, zone.serial, zone.node(wire.name_from_text("www.ocaml.test."))
"""

from __future__ import annotations

import base64
import binascii
import datetime
import ipaddress
import logging
import os
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from . import records, wire
from .wire import Name

log = logging.getLogger("dns.zone")

MAX_INCLUDE_DEPTH = 10
MAX_TTL = 0x7FFFFFFF

_U16 = struct.Struct("!H")
_U32 = struct.Struct("!I")


class ZoneError(Exception):
    """A zone that cannot be loaded; ``str()`` is ``file:line: message``."""

    def __init__(self, message: str, filename: str = "<zone>", line: int = 0) -> None:
        self.message = message
        self.filename = filename
        self.line = line
        where = f"{filename}:{line}" if line else filename
        super().__init__(f"{where}: {message}")


# ---------------------------------------------------------------------------- model


@dataclass(slots=True)
class RRset:
    """The records of one owner and type: ``rdatas`` in uncompressed wire form, in file
    order, duplicates removed. ``name`` keeps the zone file's case."""

    name: Name
    rtype: int
    ttl: int
    rdatas: list[bytes] = field(default_factory=list)

    def __repr__(self) -> str:
        return (
            f"RRset({wire.name_to_text(self.name)} {self.ttl} "
            f"{wire.type_to_text(self.rtype)} x{len(self.rdatas)})"
        )


@dataclass(slots=True)
class Node:
    """One owner name in the zone (or an empty non-terminal when ``rrsets`` is empty)."""

    name: Name
    rrsets: dict[int, RRset] = field(default_factory=dict)


Key = tuple[bytes, ...]
"""A name with its labels lowercased: the key of :attr:`Zone.nodes`."""


def key_of(name: Name) -> Key:
    """The lookup key of ``name`` (its labels, ASCII lowercased)."""
    return tuple(map(bytes.lower, name))


@dataclass(slots=True)
class Record:
    """One record as read from a file, with where it came from."""

    name: Name
    rtype: int
    ttl: int
    rdata: bytes
    filename: str
    line: int


class Zone:
    """A loaded, validated zone.

    ``origin`` (the apex name), ``nodes`` (lowercased-label key -> :class:`Node`, empty
    non-terminals included), ``cuts`` (keys of delegation points below the apex),
    ``soa`` (the apex SOA :class:`RRset`), ``serial``, ``negative_ttl`` (min of the SOA's TTL
    and MINIMUM, RFC 2308), ``files`` (the files read, for reload).
    """

    def __init__(
        self, origin: Name, records: list[Record], files: list[str], source: str | None = None
    ) -> None:
        self.origin = origin
        self.origin_key: Key = key_of(origin)
        self.files = files
        self.source = source
        self.nodes: dict[Key, Node] = {}
        self.cuts: set[Key] = set()
        self._build(records)
        soa = self.nodes[self.origin_key].rrsets[wire.TYPE_SOA]
        self.soa = soa
        fields = _U32.unpack_from(soa.rdatas[0], len(soa.rdatas[0]) - 20)
        self.serial: int = fields[0]
        minimum = _U32.unpack_from(soa.rdatas[0], len(soa.rdatas[0]) - 4)[0]
        self.negative_ttl = min(soa.ttl, minimum)

    # -- building and validation

    def _build(self, records: list[Record]) -> None:
        origin_key = self.origin_key
        depth = len(origin_key)
        where: dict[tuple[Key, int], tuple[str, int]] = {}
        for rec in records:
            k = key_of(rec.name)
            if len(k) < depth or k[len(k) - depth :] != origin_key:
                # As BIND does (named-checkzone loads such a zone): warn and leave it out.
                log.warning(
                    "%s:%d: ignoring %s: it is outside the zone %s",
                    rec.filename,
                    rec.line,
                    wire.name_to_text(rec.name),
                    wire.name_to_text(self.origin),
                )
                continue
            node = self.nodes.get(k)
            if node is None:
                node = self.nodes[k] = Node(rec.name)
            rrset = node.rrsets.get(rec.rtype)
            if rrset is None:
                node.rrsets[rec.rtype] = RRset(rec.name, rec.rtype, rec.ttl, [rec.rdata])
                where[(k, rec.rtype)] = (rec.filename, rec.line)
                continue
            if rec.ttl != rrset.ttl:
                log.warning(
                    "%s:%d: TTL %d differs from the RRset's %d (RFC 2181 §5.2); using %d",
                    rec.filename,
                    rec.line,
                    rec.ttl,
                    rrset.ttl,
                    rrset.ttl,
                )
            if rec.rdata not in rrset.rdatas:
                rrset.rdatas.append(rec.rdata)

        def at(k: Key, rtype: int) -> tuple[str, int]:
            return where.get((k, rtype), (records[0].filename if records else "<zone>", 0))

        apex = self.nodes.get(origin_key)
        first = (records[0].filename, records[0].line) if records else ("<zone>", 0)
        if apex is None or wire.TYPE_SOA not in apex.rrsets:
            raise ZoneError(f"no SOA record at the apex {wire.name_to_text(self.origin)}", *first)
        if len(apex.rrsets[wire.TYPE_SOA].rdatas) != 1:
            raise ZoneError("more than one SOA record at the apex", *at(origin_key, wire.TYPE_SOA))
        if wire.TYPE_NS not in apex.rrsets:
            raise ZoneError(
                f"no NS records at the apex {wire.name_to_text(self.origin)}",
                *at(origin_key, wire.TYPE_SOA),
            )
        dnames: set[Key] = set()
        for k, node in self.nodes.items():
            types = node.rrsets.keys()
            if wire.TYPE_SOA in types and k != origin_key:
                raise ZoneError(
                    f"SOA record at {wire.name_to_text(node.name)}, not at the apex",
                    *at(k, wire.TYPE_SOA),
                )
            if wire.TYPE_CNAME in types:
                others = [t for t in types if t not in _CNAME_COMPANIONS]
                if others:
                    raise ZoneError(
                        f"CNAME at {wire.name_to_text(node.name)} beside other data "
                        f"({', '.join(wire.type_to_text(t) for t in others)})",
                        *at(k, wire.TYPE_CNAME),
                    )
                if len(node.rrsets[wire.TYPE_CNAME].rdatas) > 1:
                    raise ZoneError(
                        f"more than one CNAME at {wire.name_to_text(node.name)}",
                        *at(k, wire.TYPE_CNAME),
                    )
            if wire.TYPE_DNAME in types:
                if len(node.rrsets[wire.TYPE_DNAME].rdatas) > 1:
                    raise ZoneError(
                        f"more than one DNAME at {wire.name_to_text(node.name)}",
                        *at(k, wire.TYPE_DNAME),
                    )
                dnames.add(k)
            if k and k[0] == b"*" and wire.TYPE_NS in types:
                raise ZoneError(
                    f"NS at the wildcard {wire.name_to_text(node.name)} (RFC 4592 §4.2)",
                    *at(k, wire.TYPE_NS),
                )
            if k != origin_key and wire.TYPE_NS in types:
                self.cuts.add(k)
        # Data below a DNAME, or below / beside a zone cut other than glue, is occluded:
        # loaded (as BIND and NSD load it, and AXFR sends it) but never answered from,
        # since lookups stop at the cut or the DNAME above it (RFC 6672 §2.4, RFC 2181 §6).
        for k, node in self.nodes.items():
            for j in range(depth, len(k)):
                anc = k[len(k) - j :]
                if anc in dnames and node.rrsets:
                    log.warning(
                        "%s:%d: %s is below the DNAME at %s: occluded, never answered from",
                        *at(k, next(iter(node.rrsets))),
                        wire.name_to_text(node.name),
                        wire.name_to_text(self.nodes[anc].name),
                    )
                    break
            cut = self._cut_above_or_at(k)
            if cut is None:
                continue
            allowed = _GLUE_TYPES | (_CUT_TYPES if cut == k else frozenset())
            for rtype in node.rrsets:
                if rtype not in allowed:
                    log.warning(
                        "%s:%d: %s at %s is %s the zone cut %s: occluded, never answered from",
                        *at(k, rtype),
                        wire.type_to_text(rtype),
                        wire.name_to_text(node.name),
                        "at" if cut == k else "below",
                        wire.name_to_text(self.nodes[cut].name),
                    )
        # Empty non-terminals.
        for k in list(self.nodes):
            for j in range(depth + 1, len(k)):
                anc = k[len(k) - j :]
                if anc not in self.nodes:
                    owner = self.nodes[k].name
                    self.nodes[anc] = Node(owner[len(owner) - j :])

    def _cut_above_or_at(self, k: Key) -> Key | None:
        """The highest zone cut at or above ``k`` (below the apex), if any."""
        depth = len(self.origin_key)
        for j in range(depth + 1, len(k) + 1):
            anc = k[len(k) - j :]
            if anc in self.cuts:
                return anc
        return None

    # -- queries

    def node(self, name: Name) -> Node | None:
        """The node for ``name`` (any case), or ``None``."""
        return self.nodes.get(key_of(name))

    def contains(self, name: Name) -> bool:
        """Whether ``name`` is at or below the apex."""
        return wire.is_subdomain(name, self.origin)

    def soa_fields(self) -> tuple[Name, Name, int, int, int, int, int]:
        """``(mname, rname, serial, refresh, retry, expire, minimum)``."""
        rd = self.soa.rdatas[0]
        mname, pos = wire.decode_name(rd, 0, min_pointer_offset=0)
        rname, pos = wire.decode_name(rd, pos, min_pointer_offset=0)
        serial, refresh, retry, expire, minimum = struct.unpack_from("!5I", rd, pos)
        return mname, rname, serial, refresh, retry, expire, minimum

    def rrsets(self) -> Iterator[RRset]:
        """Every RRset (SOA first, then the rest in name order), glue included: what AXFR
        sends between the two SOAs, without the closing one."""
        yield self.soa
        for k in sorted(self.nodes, key=lambda key: key[::-1]):
            for rtype, rrset in self.nodes[k].rrsets.items():
                if k == self.origin_key and rtype == wire.TYPE_SOA:
                    continue
                yield rrset

    def record_count(self) -> int:
        """The number of records (not RRsets)."""
        return sum(len(rs.rdatas) for node in self.nodes.values() for rs in node.rrsets.values())

    def __repr__(self) -> str:
        return (
            f"<Zone {wire.name_to_text(self.origin)} serial={self.serial} "
            f"names={len(self.nodes)} records={self.record_count()}>"
        )


_DNSSEC_TYPES = frozenset({wire.TYPE_RRSIG, wire.TYPE_NSEC, wire.TYPE_NSEC3})
_CNAME_COMPANIONS = frozenset({wire.TYPE_CNAME}) | _DNSSEC_TYPES
_GLUE_TYPES = frozenset({wire.TYPE_A, wire.TYPE_AAAA})
_CUT_TYPES = frozenset({wire.TYPE_NS, wire.TYPE_DS}) | _DNSSEC_TYPES


# ---------------------------------------------------------------------------- tokenizer


@dataclass(slots=True)
class Token:
    """A word of a master file: ``text`` (escapes kept, quotes removed), ``quoted``."""

    text: str
    quoted: bool = False


@dataclass(slots=True)
class Entry:
    """One logical line: its first physical line, whether the owner was left blank."""

    line: int
    blank_owner: bool
    tokens: list[Token]


def tokenize(text: str, filename: str = "<zone>") -> Iterator[Entry]:
    """Split master-file text into logical entries (parentheses joined, comments dropped)."""
    depth = 0
    tokens: list[Token] = []
    start_line = 0
    blank_owner = False
    line_no = 0
    for raw_line in text.split("\n"):
        line_no += 1
        line = raw_line.rstrip("\r")
        if depth == 0:
            tokens = []
            start_line = line_no
            blank_owner = bool(line) and line[0] in " \t"
        i = 0
        n = len(line)
        while i < n:
            c = line[i]
            if c in " \t":
                i += 1
                continue
            if c == ";":
                break
            if c == "(":
                depth += 1
                i += 1
                continue
            if c == ")":
                if depth == 0:
                    raise ZoneError("')' without '('", filename, line_no)
                depth -= 1
                i += 1
                continue
            if c == '"':
                j = i + 1
                buf = []
                while j < n and line[j] != '"':
                    if line[j] == "\\" and j + 1 < n:
                        buf.append(line[j : j + 2])
                        j += 2
                        continue
                    buf.append(line[j])
                    j += 1
                if j >= n:
                    raise ZoneError("unterminated quoted string", filename, line_no)
                tokens.append(Token("".join(buf), True))
                i = j + 1
                continue
            j = i
            word = []
            while j < n and line[j] not in " \t;()":
                if line[j] == "\\" and j + 1 < n:
                    word.append(line[j : j + 2])
                    j += 2
                    continue
                if line[j] == '"':
                    # A quoted part inside a word (key="a b", as in SVCB): it groups.
                    end = line.find('"', j + 1)
                    if end < 0:
                        raise ZoneError("unterminated quoted string", filename, line_no)
                    word.append(line[j + 1 : end])
                    j = end + 1
                    continue
                word.append(line[j])
                j += 1
            tokens.append(Token("".join(word)))
            i = j
        if depth == 0 and tokens:
            yield Entry(start_line, blank_owner, tokens)
    if depth:
        raise ZoneError("unbalanced '(' at end of file", filename, start_line)


# ---------------------------------------------------------------------------- values

_TTL_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DIGITS = frozenset("0123456789")
_TTL_CHARS = _DIGITS | frozenset("wdhmsWDHMS")
MAX_U32 = 0xFFFFFFFF


def parse_ttl(text: str) -> int:
    """``"3600"`` or ``"1h30m"`` (BIND's units, any case; a bare number last) -> seconds;
    ``ValueError`` otherwise. ASCII digits only, each number of bounded length."""
    value = 0
    pos = 0
    n = len(text)
    if not n:
        raise ValueError("empty TTL")
    while pos < n:
        end = pos
        while end < n and text[end] in _DIGITS:
            end += 1
        if end == pos:
            raise ValueError(f"bad TTL {text[:30]!r}")
        number = wire.parse_decimal(text[pos:end], MAX_U32, "TTL")
        if end == n:
            value += number
            break
        unit = _TTL_UNITS.get(text[end].lower())
        if unit is None:
            raise ValueError(f"bad TTL {text[:30]!r}")
        value += number * unit
        pos = end + 1
    if value > MAX_U32:
        raise ValueError(f"TTL {text!r} is over 2^32-1")
    return value


def _looks_like_ttl(text: str) -> bool:
    return bool(text) and text[0] in _DIGITS and all(c in _TTL_CHARS for c in text)


def unescape(text: str) -> bytes:
    """Character-string contents: ``\\X`` and ``\\DDD`` escapes resolved, UTF-8 otherwise."""
    data = text.encode("utf-8")
    if b"\\" not in data:
        return data
    out = bytearray()
    i = 0
    while i < len(data):
        c = data[i]
        if c == 0x5C and i + 1 < len(data):
            value = wire.escape_value(data, i + 1)
            if value is not None:
                out.append(value)
                i += 4
            else:
                out.append(data[i + 1])
                i += 2
            continue
        out.append(c)
        i += 1
    return bytes(out)


def _charstring(token: Token) -> bytes:
    raw = unescape(token.text)
    if len(raw) > 255:
        raise ValueError(f"character string of {len(raw)} bytes (max 255)")
    return bytes((len(raw),)) + raw


def _u8(text: str, what: str) -> bytes:
    return bytes((wire.parse_decimal(text, 0xFF, what),))


def _u16(text: str, what: str) -> bytes:
    return _U16.pack(wire.parse_decimal(text, 0xFFFF, what))


def _u32(text: str) -> bytes:
    value = parse_ttl(text)
    return _U32.pack(value)


def _hex(tokens: list[Token]) -> bytes:
    text = "".join(t.text for t in tokens)
    if text == "-":
        return b""
    try:
        return binascii.unhexlify(text)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"bad hex {text!r}") from exc


def _b64(tokens: list[Token]) -> bytes:
    text = "".join(t.text for t in tokens)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"bad base64 {text[:30]!r}") from exc


def _need(tokens: list[Token], count: int, what: str) -> None:
    if len(tokens) != count:
        raise ValueError(f"{what} takes {count} field{'s' * (count != 1)}, got {len(tokens)}")


def encode_rdata(rtype: int, tokens: list[Token], origin: Name | None) -> bytes:
    """The uncompressed wire rdata of one record given in presentation format.

    Raises ``ValueError`` (or a :class:`dns.wire.WireError`) naming what is wrong.
    """
    if tokens and tokens[0].text == "\\#" and not tokens[0].quoted:
        if len(tokens) < 2:
            raise ValueError("RFC 3597 rdata needs '\\# LENGTH HEX'")
        length = wire.parse_decimal(tokens[1].text, 0xFFFF, "RFC 3597 length")
        data = _hex(tokens[2:]) if len(tokens) > 2 else b""
        if len(data) != length:
            raise ValueError(f"RFC 3597 rdata says {length} bytes but has {len(data)}")
        return data

    def name(tok: Token) -> bytes:
        return wire.encode_name(wire.name_from_text(tok.text, origin))

    t = wire
    if rtype == t.TYPE_A:
        _need(tokens, 1, "A")
        return ipaddress.IPv4Address(tokens[0].text).packed
    if rtype == t.TYPE_AAAA:
        _need(tokens, 1, "AAAA")
        return ipaddress.IPv6Address(tokens[0].text).packed
    if rtype in _SINGLE_NAME_TYPES:
        _need(tokens, 1, wire.type_to_text(rtype))
        return name(tokens[0])
    if rtype in (t.TYPE_MX, t.TYPE_KX, t.TYPE_AFSDB, t.TYPE_RT):
        _need(tokens, 2, wire.type_to_text(rtype))
        return _u16(tokens[0].text, f"{wire.type_to_text(rtype)} preference") + name(tokens[1])
    if rtype == t.TYPE_SOA:
        _need(tokens, 7, "SOA")
        return (
            name(tokens[0])
            + name(tokens[1])
            + _U32.pack(wire.parse_decimal(tokens[2].text, MAX_U32, "SOA serial"))
            + b"".join(_u32(tok.text) for tok in tokens[3:])
        )
    if rtype in (t.TYPE_TXT, t.TYPE_SPF):
        if not tokens:
            raise ValueError("TXT needs at least one string")
        return b"".join(_charstring(tok) for tok in tokens)
    if rtype == t.TYPE_HINFO:
        _need(tokens, 2, "HINFO")
        return _charstring(tokens[0]) + _charstring(tokens[1])
    if rtype in (t.TYPE_MINFO, t.TYPE_RP):
        _need(tokens, 2, wire.type_to_text(rtype))
        return name(tokens[0]) + name(tokens[1])
    if rtype == t.TYPE_SRV:
        _need(tokens, 4, "SRV")
        return (
            _u16(tokens[0].text, "SRV priority")
            + _u16(tokens[1].text, "SRV weight")
            + _u16(tokens[2].text, "SRV port")
            + name(tokens[3])
        )
    if rtype == t.TYPE_NAPTR:
        _need(tokens, 6, "NAPTR")
        return (
            _u16(tokens[0].text, "NAPTR order")
            + _u16(tokens[1].text, "NAPTR preference")
            + _charstring(tokens[2])
            + _charstring(tokens[3])
            + _charstring(tokens[4])
            + name(tokens[5])
        )
    if rtype == t.TYPE_CAA:
        _need(tokens, 3, "CAA")
        tag = tokens[1].text.encode("ascii")
        if not tag or len(tag) > 255 or not tag.isalnum():
            raise ValueError(f"bad CAA tag {tokens[1].text!r}")
        return (
            _u8(tokens[0].text, "CAA flags") + bytes((len(tag),)) + tag + unescape(tokens[2].text)
        )
    if rtype == t.TYPE_SSHFP:
        if len(tokens) < 3:
            raise ValueError("SSHFP takes algorithm, type and fingerprint")
        return (
            _u8(tokens[0].text, "SSHFP algorithm")
            + _u8(tokens[1].text, "SSHFP type")
            + _hex(tokens[2:])
        )
    if rtype in (t.TYPE_DS, t.TYPE_CDS):
        if len(tokens) < 4:
            raise ValueError("DS takes key tag, algorithm, digest type and digest")
        return (
            _u16(tokens[0].text, "DS key tag")
            + _mnemonic(tokens[1].text, _ALGORITHMS, "DS algorithm")
            + _mnemonic(tokens[2].text, _DIGESTS, "DS digest type")
            + _hex(tokens[3:])
        )
    if rtype in (t.TYPE_TLSA, t.TYPE_SMIMEA):
        if len(tokens) < 4:
            raise ValueError("TLSA takes usage, selector, matching type and data")
        return (
            _u8(tokens[0].text, "TLSA usage")
            + _u8(tokens[1].text, "TLSA selector")
            + _u8(tokens[2].text, "TLSA matching type")
            + _hex(tokens[3:])
        )
    if rtype in (t.TYPE_DNSKEY, t.TYPE_CDNSKEY, t.TYPE_KEY):
        if len(tokens) < 4:
            raise ValueError("DNSKEY takes flags, protocol, algorithm and key")
        return (
            _u16(tokens[0].text, "DNSKEY flags")
            + _u8(tokens[1].text, "DNSKEY protocol")
            + _mnemonic(tokens[2].text, _ALGORITHMS, "DNSKEY algorithm")
            + _b64(tokens[3:])
        )
    encoder = _DNSSEC_AND_MORE.get(rtype)
    if encoder is not None:
        return encoder(tokens, name)
    if rtype in (t.TYPE_SVCB, t.TYPE_HTTPS):
        return _svcb(tokens, name)
    return _dnslib_rdata(rtype, tokens, origin)


# DNSSEC algorithm and digest mnemonics (RFC 4034 A.1, RFC 8624; RFC 4509, RFC 6605).
_ALGORITHMS = {
    "RSAMD5": 1,
    "DH": 2,
    "DSA": 3,
    "RSASHA1": 5,
    "DSA-NSEC3-SHA1": 6,
    "RSASHA1-NSEC3-SHA1": 7,
    "RSASHA256": 8,
    "RSASHA512": 10,
    "ECC-GOST": 12,
    "ECDSAP256SHA256": 13,
    "ECDSAP384SHA384": 14,
    "ED25519": 15,
    "ED448": 16,
    "INDIRECT": 252,
    "PRIVATEDNS": 253,
    "PRIVATEOID": 254,
}
_DIGESTS = {"SHA-1": 1, "SHA-256": 2, "GOST": 3, "SHA-384": 4}
_CERT_TYPES = {
    "PKIX": 1,
    "SPKI": 2,
    "PGP": 3,
    "IPKIX": 4,
    "ISPKI": 5,
    "IPGP": 6,
    "ACPKIX": 7,
    "IACPKIX": 8,
    "URI": 253,
    "OID": 254,
}


def _mnemonic(text: str, table: dict[str, int], what: str, limit: int = 0xFF) -> bytes:
    """A number given as a mnemonic of ``table`` (any case) or in decimal, packed in one
    byte (two when ``limit`` is over 255)."""
    value = table.get(text.upper())
    if value is None:
        value = wire.parse_decimal(text, limit, what)
    return _U16.pack(value) if limit > 0xFF else bytes((value,))


def _type_bitmap(tokens: list[Token]) -> bytes:
    """Type mnemonics as the window blocks of RFC 4034 §4.1.2 (NSEC, NSEC3, CSYNC)."""
    windows: dict[int, bytearray] = {}
    for tok in tokens:
        rtype = wire.type_from_text(tok.text)
        bits = windows.setdefault(rtype >> 8, bytearray(32))
        bits[(rtype & 0xFF) >> 3] |= 0x80 >> (rtype & 7)
    out = bytearray()
    for window in sorted(windows):
        bits = windows[window].rstrip(b"\x00")
        out += bytes((window, len(bits))) + bits
    return bytes(out)


def _salt(text: str) -> bytes:
    salt = b"" if text == "-" else _hex([Token(text)])
    if len(salt) > 255:
        raise ValueError(f"NSEC3 salt of {len(salt)} bytes (max 255)")
    return bytes((len(salt),)) + salt


def _time(text: str, what: str) -> bytes:
    """An RRSIG time: ``YYYYMMDDHHmmSS`` (UTC, taken modulo 2^32 as RFC 4034 §3.2 says) or
    seconds since 1970 in decimal."""
    if len(text) != 14:
        return _U32.pack(wire.parse_decimal(text, MAX_U32, what))
    year, month, day, hour, minute, second = (
        wire.parse_decimal(text[a:b], 9999, what)
        for a, b in ((0, 4), (4, 6), (6, 8), (8, 10), (10, 12), (12, 14))
    )
    try:
        when = datetime.datetime(year, month, day, hour, minute, second, tzinfo=datetime.UTC)
    except ValueError:
        raise ValueError(f"{what} {text} is not a date and time") from None
    return _U32.pack(int(when.timestamp()) & MAX_U32)


def _rrsig(tokens: list[Token], name: Callable[[Token], bytes]) -> bytes:
    if len(tokens) < 9:
        raise ValueError(
            "RRSIG takes type, algorithm, labels, TTL, expiration, inception, key tag, "
            "signer and signature"
        )
    return (
        _U16.pack(wire.type_from_text(tokens[0].text))
        + _mnemonic(tokens[1].text, _ALGORITHMS, "RRSIG algorithm")
        + _u8(tokens[2].text, "RRSIG labels")
        + _U32.pack(wire.parse_decimal(tokens[3].text, MAX_U32, "RRSIG original TTL"))
        + _time(tokens[4].text, "RRSIG expiration")
        + _time(tokens[5].text, "RRSIG inception")
        + _u16(tokens[6].text, "RRSIG key tag")
        + name(tokens[7])
        + _b64(tokens[8:])
    )


def _nsec(tokens: list[Token], name: Callable[[Token], bytes]) -> bytes:
    if not tokens:
        raise ValueError("NSEC takes the next name and types")
    return name(tokens[0]) + _type_bitmap(tokens[1:])


def _nsec3(tokens: list[Token], name: Callable[[Token], bytes]) -> bytes:
    if len(tokens) < 5:
        raise ValueError("NSEC3 takes algorithm, flags, iterations, salt, next hash and types")
    text = tokens[4].text.upper()
    try:
        hashed = base64.b32hexdecode(text + "=" * (-len(text) % 8))
    except (binascii.Error, ValueError):
        raise ValueError(f"bad base32hex {tokens[4].text[:40]!r}") from None
    if not 1 <= len(hashed) <= 255:
        raise ValueError(f"NSEC3 next hash of {len(hashed)} bytes")
    return _nsec3param(tokens[:4], name) + bytes((len(hashed),)) + hashed + _type_bitmap(tokens[5:])


def _nsec3param(tokens: list[Token], name: Callable[[Token], bytes]) -> bytes:
    _need(tokens, 4, "NSEC3PARAM")
    return (
        _u8(tokens[0].text, "NSEC3 algorithm")
        + _u8(tokens[1].text, "NSEC3 flags")
        + _u16(tokens[2].text, "NSEC3 iterations")
        + _salt(tokens[3].text)
    )


def _uri(tokens: list[Token], name: Callable[[Token], bytes]) -> bytes:
    _need(tokens, 3, "URI")
    return (
        _u16(tokens[0].text, "URI priority")
        + _u16(tokens[1].text, "URI weight")
        + unescape(tokens[2].text)
    )


def _zonemd(tokens: list[Token], name: Callable[[Token], bytes]) -> bytes:
    if len(tokens) < 4:
        raise ValueError("ZONEMD takes serial, scheme, hash algorithm and digest")
    return (
        _U32.pack(wire.parse_decimal(tokens[0].text, MAX_U32, "ZONEMD serial"))
        + _u8(tokens[1].text, "ZONEMD scheme")
        + _u8(tokens[2].text, "ZONEMD hash algorithm")
        + _hex(tokens[3:])
    )


def _csync(tokens: list[Token], name: Callable[[Token], bytes]) -> bytes:
    if len(tokens) < 2:
        raise ValueError("CSYNC takes serial, flags and types")
    return (
        _U32.pack(wire.parse_decimal(tokens[0].text, MAX_U32, "CSYNC serial"))
        + _u16(tokens[1].text, "CSYNC flags")
        + _type_bitmap(tokens[2:])
    )


def _cert(tokens: list[Token], name: Callable[[Token], bytes]) -> bytes:
    if len(tokens) < 4:
        raise ValueError("CERT takes type, key tag, algorithm and certificate")
    return (
        _mnemonic(tokens[0].text, _CERT_TYPES, "CERT type", 0xFFFF)
        + _u16(tokens[1].text, "CERT key tag")
        + _mnemonic(tokens[2].text, _ALGORITHMS, "CERT algorithm")
        + _b64(tokens[3:])
    )


def _base64_only(tokens: list[Token], name: Callable[[Token], bytes]) -> bytes:
    return _b64(tokens)


_DNSSEC_AND_MORE: dict[int, Callable[[list[Token], Callable[[Token], bytes]], bytes]] = {
    wire.TYPE_RRSIG: _rrsig,
    wire.TYPE_NSEC: _nsec,
    wire.TYPE_NSEC3: _nsec3,
    wire.TYPE_NSEC3PARAM: _nsec3param,
    wire.TYPE_URI: _uri,
    wire.TYPE_ZONEMD: _zonemd,
    wire.TYPE_CSYNC: _csync,
    wire.TYPE_CERT: _cert,
    wire.TYPE_OPENPGPKEY: _base64_only,
    wire.TYPE_DHCID: _base64_only,
}
"""Presentation formats of DNSSEC and newer types, by type."""


_SVC_KEYS = {
    "mandatory": 0,
    "alpn": 1,
    "no-default-alpn": 2,
    "port": 3,
    "ipv4hint": 4,
    "ech": 5,
    "ipv6hint": 6,
    "dohpath": 7,
    "ohttp": 8,
}
"""SvcParamKeys with names (RFC 9460 §14.3.2; dohpath RFC 9461, ohttp RFC 9540)."""
_SVC_FLAGS = frozenset({2, 8})
"""Keys that take no value."""


def _svc_key(text: str) -> int:
    """A SvcParamKey's number from its name or ``keyNNNNN`` (lowercase, no leading zeros)."""
    key = _SVC_KEYS.get(text)
    if key is not None:
        return key
    digits = text[3:] if text.startswith("key") else ""
    if not digits or (digits[0] == "0" and len(digits) > 1):
        raise ValueError(f"unknown SvcParamKey {text[:30]!r}")
    return wire.parse_decimal(digits, 0xFFFF, "SvcParamKey number")


def _value_list(value: bytes) -> list[bytes]:
    """A comma-separated list whose items may hold ``\\,`` and ``\\\\`` (RFC 9460 A.1),
    after the character-string escapes were resolved; empty items are an error."""
    items: list[bytes] = []
    item = bytearray()
    i = 0
    while i < len(value):
        c = value[i]
        if c == 0x5C and i + 1 < len(value):
            item.append(value[i + 1])
            i += 2
            continue
        if c == 0x2C:
            items.append(bytes(item))
            item = bytearray()
        else:
            item.append(c)
        i += 1
    items.append(bytes(item))
    if not all(items):
        raise ValueError("empty item in a comma-separated SvcParam value")
    return items


def _svc_value(key_text: str, key: int, value: bytes | None) -> bytes:
    """The wire value of one SvcParam given by name (``keyNNNNN`` values are taken as
    they are) from its presentation value, escapes resolved."""
    if key_text not in _SVC_KEYS:
        return value or b""
    if key in _SVC_FLAGS:
        if value is not None:
            raise ValueError(f"SvcParam {key_text} takes no value")
        return b""
    if value is None:
        if key != 5:
            raise ValueError(f"SvcParam {key_text} needs a value")
        return b""
    if key == 0:
        keys = [_svc_key(item.decode("ascii")) for item in _value_list(value)]
        if 0 in keys or len(set(keys)) != len(keys):
            raise ValueError("mandatory lists itself or a key twice")
        return b"".join(_U16.pack(k) for k in sorted(keys))
    if key == 1:
        out = b""
        for item in _value_list(value):
            if len(item) > 255:
                raise ValueError(f"alpn id of {len(item)} bytes (max 255)")
            out += bytes((len(item),)) + item
        return out
    if key == 3:
        return _U16.pack(wire.parse_decimal(value.decode("ascii"), 0xFFFF, "SVCB port"))
    if key == 4:
        return b"".join(ipaddress.IPv4Address(v.decode("ascii")).packed for v in _value_list(value))
    if key == 6:
        return b"".join(ipaddress.IPv6Address(v.decode("ascii")).packed for v in _value_list(value))
    if key == 5:
        return _b64([Token(value.decode("ascii"))]) if value else b""
    # dohpath (RFC 9461): a URI template, UTF-8.
    if not value:
        raise ValueError("dohpath needs a URI template")
    value.decode("utf-8")
    return value


def _svcb(tokens: list[Token], name: Callable[[Token], bytes]) -> bytes:
    """SVCB and HTTPS rdata from presentation format (RFC 9460 §2.1): priority, target,
    then ``key[=value]`` SvcParams in any order, sent sorted by key."""
    if len(tokens) < 2:
        raise ValueError("SVCB takes a priority, a target name and SvcParams")
    priority = wire.parse_decimal(tokens[0].text, 0xFFFF, "SVCB priority")
    params: dict[int, bytes] = {}
    for tok in tokens[2:]:
        if tok.quoted:
            raise ValueError(f"SvcParam {tok.text[:30]!r} is quoted whole; quote only its value")
        key_text, eq, value_text = tok.text.partition("=")
        key = _svc_key(key_text)
        if key in params:
            raise ValueError(f"SvcParam {key_text} given twice")
        value = _svc_value(key_text, key, unescape(value_text) if eq else None)
        if len(value) > 0xFFFF:
            raise ValueError(f"SvcParam {key_text} value of {len(value)} bytes (max 65535)")
        params[key] = value
    out = _U16.pack(priority) + name(tokens[1])
    for key in sorted(params):
        out += _U16.pack(key) + _U16.pack(len(params[key])) + params[key]
    records.SVCBRecord.parse(out, 0, len(out))  # each known key's value well formed
    if 0 in params:
        for k in struct.unpack(f"!{len(params[0]) // 2}H", params[0]):
            if k not in params:
                raise ValueError(f"mandatory lists key{k}, which is not given")
    if 2 in params and 1 not in params:
        raise ValueError("no-default-alpn without alpn (RFC 9460 §7.1.1)")
    return out


_SINGLE_NAME_TYPES = frozenset(
    {
        wire.TYPE_NS,
        wire.TYPE_CNAME,
        wire.TYPE_PTR,
        wire.TYPE_DNAME,
        wire.TYPE_MB,
        wire.TYPE_MD,
        wire.TYPE_MF,
        wire.TYPE_MG,
        wire.TYPE_MR,
    }
)


def _dnslib_rdata(rtype: int, tokens: list[Token], origin: Name | None) -> bytes:
    import dnslib

    mnemonic = wire.type_to_text(rtype)
    cls: Any = dnslib.RDMAP.get(mnemonic)
    if cls is None:
        raise ValueError(
            f"no presentation format known for {mnemonic}; write it as RFC 3597 '\\# LENGTH HEX'"
        )
    for tok in tokens:
        if not tok.text.isascii():
            raise ValueError(f"non-ASCII text {tok.text[:30]!r} in {mnemonic} rdata")
    dl_origin = dnslib.DNSLabel(wire.name_to_text(origin)) if origin is not None else None
    try:
        rd = cls.fromZone([tok.text for tok in tokens], dl_origin)
        buf = dnslib.DNSBuffer()
        rd.pack(buf)
    except Exception as exc:
        raise ValueError(f"bad {mnemonic} rdata: {exc}") from exc
    return bytes(buf.data)


# ---------------------------------------------------------------------------- $GENERATE

MAX_GENERATE = 65536
"""The most records one ``$GENERATE`` line may make."""
_GENERATE_MAX_VALUE = 0x7FFFFFFF
_GENERATE_MAX_WIDTH = 255
_HEX = "0123456789abcdef"


def generate_range(text: str) -> range:
    """``"start-stop[/step]"`` of ``$GENERATE`` as a :class:`range`; ``ValueError`` if
    malformed, backwards or over :data:`MAX_GENERATE` values."""
    bounds, slash, step_text = text.partition("/")
    start_text, dash, stop_text = bounds.partition("-")
    if not dash:
        raise ValueError(f"$GENERATE range {text[:30]!r} is not start-stop[/step]")
    start = wire.parse_decimal(start_text, _GENERATE_MAX_VALUE, "$GENERATE start")
    stop = wire.parse_decimal(stop_text, _GENERATE_MAX_VALUE, "$GENERATE stop")
    step = wire.parse_decimal(step_text, _GENERATE_MAX_VALUE, "$GENERATE step") if slash else 1
    if stop < start or step == 0:
        raise ValueError(f"$GENERATE range {text} is empty (stop before start, or step 0)")
    values = range(start, stop + 1, step)
    if len(values) > MAX_GENERATE:
        raise ValueError(f"$GENERATE range {text} makes {len(values)} records (max {MAX_GENERATE})")
    return values


def generate_text(template: str, value: int) -> str:
    """``template`` with each ``$`` replaced by ``value`` and ``${offset[,width[,base]]}`` by
    ``value + offset`` in base ``d``, ``o``, ``x``, ``X`` or nibbles (``n``, ``N``: hex digits
    least significant first, dot-separated, as in reverse IPv6 names), zero-padded to
    ``width`` characters. As in BIND, a modifier stays in force for the bare ``$`` after it
    in the same template. ``$$`` is a literal ``$``; ``\\X`` escapes are kept for the name or
    rdata parser."""
    out: list[str] = []
    offset, width, base = 0, 0, "d"
    i = 0
    n = len(template)
    while i < n:
        c = template[i]
        if c == "\\" and i + 1 < n:
            out.append(template[i : i + 2])
            i += 2
            continue
        if c != "$":
            out.append(c)
            i += 1
            continue
        if template.startswith("$$", i):
            out.append("\\$")
            i += 2
            continue
        i += 1
        if template.startswith("{", i):
            end = template.find("}", i)
            if end < 0:
                raise ValueError(f"$GENERATE: '${{' without '}}' in {template[:40]!r}")
            offset, width, base = _generate_modifier(template[i + 1 : end])
            i = end + 1
        out.append(_generate_number(value + offset, width, base))
    return "".join(out)


def _generate_modifier(spec: str) -> tuple[int, int, str]:
    """``offset[,width[,base]]`` -> ``(offset, width, base)``."""
    parts = spec.split(",")
    if len(parts) > 3:
        raise ValueError(f"$GENERATE: bad modifier ${{{spec[:30]}}}")
    offset_text = parts[0]
    sign = -1 if offset_text.startswith("-") else 1
    if offset_text[:1] in ("-", "+"):
        offset_text = offset_text[1:]
    offset = sign * wire.parse_decimal(offset_text, _GENERATE_MAX_VALUE, "$GENERATE offset")
    width = 0
    if len(parts) > 1:
        width = wire.parse_decimal(parts[1], _GENERATE_MAX_WIDTH, "$GENERATE width")
    base = parts[2] if len(parts) > 2 else "d"
    if base not in ("d", "o", "x", "X", "n", "N"):
        raise ValueError(f"$GENERATE: base {base[:10]!r} is not one of d, o, x, X, n, N")
    return offset, width, base


def _generate_number(number: int, width: int, base: str) -> str:
    if number < 0:
        raise ValueError(f"$GENERATE: an offset makes the value {number}, below 0")
    if base in ("n", "N"):
        return _nibbles(number, width, base == "N")
    return format(number, f"0{width}{base}")


def _nibbles(number: int, width: int, upper: bool) -> str:
    """Hex digits least significant first, each followed by a dot while more digits or
    padding follow, until ``number`` is spent and ``width`` characters are written."""
    out: list[str] = []
    while True:
        digit = _HEX[number & 0xF]
        out.append(digit.upper() if upper else digit)
        number >>= 4
        width = max(width - 1, 0)
        if width or number:
            out.append(".")
            width = max(width - 1, 0)
        if not (number or width):
            return "".join(out)


_NOT_ZONE_TYPES = frozenset(
    {
        wire.TYPE_OPT,
        wire.TYPE_AXFR,
        wire.TYPE_IXFR,
        wire.TYPE_ANY,
        wire.TYPE_MAILA,
        wire.TYPE_MAILB,
        wire.TYPE_TSIG,
        wire.TYPE_TKEY,
    }
)


# ---------------------------------------------------------------------------- parser


class _Parser:
    def __init__(self, origin: Name | None, default_ttl: int | None) -> None:
        self.origin = origin
        self.default_ttl = default_ttl
        self.last_ttl: int | None = None
        self.last_owner: Name | None = None
        self.records: list[Record] = []
        self.files: list[str] = []

    def parse(self, text: str, filename: str, depth: int = 0, stack: tuple[str, ...] = ()) -> None:
        for entry in tokenize(text, filename):
            try:
                self._entry(entry, filename, depth, stack)
            except ZoneError:
                raise
            except (ValueError, UnicodeError) as exc:
                raise ZoneError(str(exc), filename, entry.line) from exc

    def _name(self, text: str) -> Name:
        return wire.name_from_text(text, self.origin)

    def _entry(self, entry: Entry, filename: str, depth: int, stack: tuple[str, ...]) -> None:
        tokens = entry.tokens
        first = tokens[0].text
        if not entry.blank_owner and first.startswith("$") and not tokens[0].quoted:
            directive = first.upper()
            if directive == "$ORIGIN":
                if len(tokens) != 2:
                    raise ZoneError("$ORIGIN takes one name", filename, entry.line)
                self.origin = self._name(tokens[1].text)
                return
            if directive == "$TTL":
                if len(tokens) != 2:
                    raise ZoneError("$TTL takes one value", filename, entry.line)
                self.default_ttl = parse_ttl(tokens[1].text)
                return
            if directive == "$INCLUDE":
                self._include(tokens, filename, entry.line, depth, stack)
                return
            if directive == "$GENERATE":
                self._generate(tokens, filename, entry.line)
                return
            raise ZoneError(f"unknown directive {first}", filename, entry.line)
        if entry.blank_owner:
            if self.last_owner is None:
                raise ZoneError(
                    "a record without an owner before any owner was given", filename, entry.line
                )
            owner = self.last_owner
            pos = 0
        else:
            owner = self._name(first)
            pos = 1
        ttl, rtype, pos = self._fields(tokens, pos, filename, entry.line)
        rdata = self._rdata(rtype, tokens[pos:], filename, entry.line)
        self.last_owner = owner
        self.last_ttl = ttl
        self.records.append(Record(owner, rtype, ttl, rdata, filename, entry.line))

    def _fields(
        self, tokens: list[Token], pos: int, filename: str, line: int
    ) -> tuple[int, int, int]:
        """The ``[ttl] [class] type`` of a record from ``tokens[pos]`` on (either order of
        TTL and class): ``(ttl, type, position of the rdata)``."""
        ttl: int | None = None
        rclass: int | None = None
        rtype: int | None = None
        while pos < len(tokens):
            word = tokens[pos].text
            upper = word.upper()
            if ttl is None and _looks_like_ttl(word):
                ttl = parse_ttl(word)
            elif rclass is None and (
                upper in wire.CLASS_VALUES or (upper.startswith("CLASS") and upper[5:6] in _DIGITS)
            ):
                rclass = wire.class_from_text(word)
            else:
                try:
                    rtype = wire.type_from_text(word)
                except ValueError as exc:
                    raise ZoneError(str(exc), filename, line) from None
                pos += 1
                break
            pos += 1
        if rtype is None:
            raise ZoneError("record without a type", filename, line)
        if rclass is not None and rclass != wire.CLASS_IN:
            raise ZoneError(
                f"class {wire.class_to_text(rclass)}: only IN is served", filename, line
            )
        if rtype in _NOT_ZONE_TYPES:
            raise ZoneError(
                f"{wire.type_to_text(rtype)} is not a type a zone can hold", filename, line
            )
        if ttl is None:
            ttl = self.default_ttl if self.default_ttl is not None else self.last_ttl
        if ttl is None and rtype == wire.TYPE_SOA and len(tokens) - pos == 7:
            ttl = parse_ttl(tokens[-1].text)
        if ttl is None:
            raise ZoneError("no TTL for this record and no $TTL before it", filename, line)
        if ttl > MAX_TTL:
            ttl = 0  # RFC 2181 §8
        return ttl, rtype, pos

    def _rdata(self, rtype: int, tokens: list[Token], filename: str, line: int) -> bytes:
        rdata = encode_rdata(rtype, tokens, self.origin)
        if len(rdata) > 0xFFFF:
            raise ZoneError(f"rdata of {len(rdata)} bytes is over 65535", filename, line)
        return rdata

    def _generate(self, tokens: list[Token], filename: str, line: int) -> None:
        """``$GENERATE start-stop[/step] lhs [ttl] [class] type rhs`` (BIND, Knot): one
        record per value, ``$`` in ``lhs`` and ``rhs`` replaced (see :func:`generate_text`).
        The owner for a following blank-owner line stays the last explicit one."""
        if len(tokens) < 5:
            raise ZoneError(
                "$GENERATE takes a range, an owner, [ttl] [class], a type and rdata",
                filename,
                line,
            )
        values = generate_range(tokens[1].text)
        lhs = tokens[2].text
        ttl, rtype, pos = self._fields(tokens, 3, filename, line)
        if len(tokens) - pos != 1:
            raise ZoneError(
                "$GENERATE takes one rdata word (quote it if it has spaces)", filename, line
            )
        rhs = tokens[pos].text
        for value in values:
            owner = self._name(generate_text(lhs, value))
            rdata_tokens = [
                tok
                for entry in tokenize(generate_text(rhs, value), filename)
                for tok in entry.tokens
            ]
            rdata = self._rdata(rtype, rdata_tokens, filename, line)
            self.records.append(Record(owner, rtype, ttl, rdata, filename, line))

    def _include(
        self, tokens: list[Token], filename: str, line: int, depth: int, stack: tuple[str, ...]
    ) -> None:
        if len(tokens) not in (2, 3):
            raise ZoneError("$INCLUDE takes a file name and an optional origin", filename, line)
        if depth >= MAX_INCLUDE_DEPTH:
            raise ZoneError(f"$INCLUDE nested over {MAX_INCLUDE_DEPTH} deep", filename, line)
        base = os.path.dirname(filename) if not filename.startswith("<") else "."
        path = os.path.normpath(os.path.join(base, tokens[1].text))
        if os.path.abspath(path) in stack:
            raise ZoneError(f"$INCLUDE loop through {path}", filename, line)
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except OSError as exc:
            raise ZoneError(f"$INCLUDE {tokens[1].text}: {exc.strerror}", filename, line)
        except UnicodeDecodeError as exc:
            raise ZoneError(f"$INCLUDE {tokens[1].text}: not UTF-8 ({exc.reason})", filename, line)
        saved_origin, saved_owner = self.origin, self.last_owner
        if len(tokens) == 3:
            self.origin = self._name(tokens[2].text)
        self.files.append(path)
        self.parse(text, path, depth + 1, (*stack, os.path.abspath(path)))
        # RFC 1035 §5.1: the origin (and owner) revert after the included file.
        self.origin, self.last_owner = saved_origin, saved_owner


def _origin_of(origin: str | Name | None) -> Name | None:
    if origin is None or isinstance(origin, tuple):
        return origin
    text = origin if origin.endswith(".") else origin + "."
    return wire.name_from_text(text)


def parse_zone_text(
    text: str,
    origin: str | Name | None = None,
    *,
    filename: str = "<zone>",
    default_ttl: int | None = None,
) -> Zone:
    """Parse and validate master-file ``text``.

    ``origin`` (text or :data:`~dns.wire.Name`) is the initial ``$ORIGIN`` and the zone's
    apex; without it the apex is the owner of the SOA record. Raises :class:`ZoneError`.
    """
    start = _origin_of(origin)
    parser = _Parser(start, default_ttl)
    parser.files.append(filename)
    parser.parse(text, filename, 0, (os.path.abspath(filename),))
    apex = start
    if apex is None:
        soas = [r for r in parser.records if r.rtype == wire.TYPE_SOA]
        if not soas:
            raise ZoneError("no SOA record, and no origin given", filename, 0)
        apex = soas[0].name
    return Zone(
        apex,
        parser.records,
        parser.files,
        source=filename if not filename.startswith("<") else None,
    )


def load_zone_file(path: str, origin: str | Name | None = None) -> Zone:
    """Read, parse and validate the master file at ``path`` (see :func:`parse_zone_text`)."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as exc:
        raise ZoneError(exc.strerror or str(exc), path, 0)
    except UnicodeDecodeError as exc:
        raise ZoneError(f"not UTF-8 ({exc.reason})", path, 0)
    zone = parse_zone_text(text, origin, filename=path)
    zone.source = path
    return zone


# ---------------------------------------------------------------------------- serials


def serial_lt(a: int, b: int) -> bool:
    """RFC 1982 serial-number arithmetic: whether ``a`` comes before ``b`` (32 bits)."""
    a &= 0xFFFFFFFF
    b &= 0xFFFFFFFF
    return a != b and ((a < b and b - a < 0x80000000) or (a > b and a - b > 0x80000000))


def serial_gt(a: int, b: int) -> bool:
    """RFC 1982: whether ``a`` comes after ``b``."""
    return serial_lt(b, a)


__all__ = [
    "Node",
    "RRset",
    "Record",
    "Zone",
    "ZoneError",
    "encode_rdata",
    "key_of",
    "load_zone_file",
    "parse_ttl",
    "parse_zone_text",
    "serial_gt",
    "serial_lt",
    "tokenize",
]
