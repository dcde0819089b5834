"""The authoritative answering logic: query bytes in, response bytes out (sans-IO).

:class:`Authority` holds the served zones and answers one query at a time:

* a hot path that looks only at the header and question and serves a prebuilt, compressed
  response from a bounded cache keyed by (lowercased question name, type and class, EDNS
  shape), copying the question from the query byte for byte (0x20) and patching the ID
  and the RD/CD bits;
* on a miss, the full logic (RFC 1034 §4.3.2, RFC 2308, RFC 4592, RFC 6672, RFC 8482),
  whose result is cached.

Behaviour, matching NSD with ``minimal-responses``: REFUSED outside served zones and for
classes other than IN; AA on authoritative data; CNAMEs chased within the zone (stopping at
a name already visited or after :data:`MAX_CHAIN` links); referrals at zone cuts (AA=0,
NS in authority, addresses of in-zone name servers in additional); DS answered by the
parent; NODATA and NXDOMAIN with the SOA in authority at TTL min(SOA TTL, MINIMUM); empty
non-terminals; wildcards per RFC 4592; DNAME per RFC 6672 (YXDOMAIN when the synthesised
name is too long); ANY answered with one RRset (RFC 8482: the SOA at the apex, otherwise
the lowest type); EDNS per RFC 6891 (OPT in the reply iff in the query, payload floor 512,
cap :data:`EDNS_PAYLOAD`, BADVERS for version > 0, FORMERR for malformed or duplicate OPT);
truncation to header and question with TC; NOTIMP for unknown opcodes; FORMERR (header
only) for QDCOUNT != 1, records in the answer or authority section (except IXFR's SOA),
and malformed names; queries with QR=1, or shorter than a header, are dropped (``None``).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from . import rdtypes, wire
from .wire import Name, RdataPart
from .zone import Key, Node, RRset, Zone, key_of

EDNS_PAYLOAD = 1232
"""The largest UDP payload this server sends, and advertises in its OPT record."""
UDP_NO_EDNS = 512
MAX_CHAIN = 16
"""Most CNAME/DNAME links followed for one answer."""
CACHE_LIMIT = 50_000
"""Prebuilt responses kept; the cache is emptied when it grows past this."""

_HDR = struct.Struct("!HHHHHH")
_U16 = struct.Struct("!H")
_FLAG_COPY = wire.RD | wire.CD


@dataclass(slots=True)
class Query:
    """What the answering logic needs from a query (see :func:`parse_query`)."""

    id: int
    flags: int
    qname: Name
    qtype: int
    qclass: int
    question: bytes
    """The question section exactly as received (name uncompressed, type, class)."""
    edns: wire.Edns | None = None
    ixfr_serial: int | None = None
    """For IXFR: the serial of the SOA in the authority section."""


class QueryError(Exception):
    """A query to answer with ``rcode`` (FORMERR, NOTIMP, ...) and a header-only reply."""

    def __init__(self, rcode: int, reason: str) -> None:
        super().__init__(reason)
        self.rcode = rcode


class TransferRequested(Exception):
    """Raised by :meth:`Authority.answer` for AXFR/IXFR over TCP: the server streams it."""

    def __init__(self, query: Query) -> None:
        super().__init__("zone transfer")
        self.query = query


def parse_query(data: bytes) -> Query:
    """Parse and check a query; raises :class:`QueryError` (or :class:`wire.WireError`)."""
    msg = wire.Message.parse(data)
    opcode = msg.opcode
    if opcode != wire.OPCODE_QUERY:
        raise QueryError(
            wire.RCODE_NOTIMP if opcode != wire.OPCODE_NOTIFY else wire.RCODE_REFUSED,
            f"opcode {opcode}",
        )
    if len(msg.question) != 1:
        raise QueryError(wire.RCODE_FORMERR, f"{len(msg.question)} questions")
    q = msg.question[0]
    if msg.answer:
        raise QueryError(wire.RCODE_FORMERR, "records in the answer section of a query")
    serial = None
    if q.qtype == wire.TYPE_IXFR:
        if len(msg.authority) != 1 or msg.authority[0].rtype != wire.TYPE_SOA:
            raise QueryError(wire.RCODE_FORMERR, "IXFR without one SOA in authority")
        rr = msg.authority[0]
        if rr.rdata_length < 22:
            raise QueryError(wire.RCODE_FORMERR, "IXFR SOA too short")
        pos = wire.skip_name(data, rr.rdata_offset)
        pos = wire.skip_name(data, pos)
        if pos + 20 != rr.end:
            raise QueryError(wire.RCODE_FORMERR, "malformed SOA in IXFR")
        serial = struct.unpack_from("!I", data, pos)[0]
    elif msg.authority:
        raise QueryError(wire.RCODE_FORMERR, "records in the authority section of a query")
    if msg.additional:
        raise QueryError(wire.RCODE_FORMERR, "records other than OPT in the additional section")
    # The question as sent (its name cannot be compressed: nothing precedes it).
    qend = wire.HEADER_SIZE + len(wire.encode_name(q.name)) + 4
    return Query(
        msg.id,
        msg.flags,
        q.name,
        q.qtype,
        q.qclass,
        data[wire.HEADER_SIZE : qend],
        msg.edns,
        serial,
    )


def header_only(data: bytes, rcode: int) -> bytes:
    """A reply of just a header: the query's ID, opcode and RD, QR set, ``rcode``."""
    qid, qflags = struct.unpack_from("!HH", data, 0)
    flags = wire.QR | (qflags & (wire.OPCODE_MASK | wire.RD)) | (rcode & 0xF)
    return _HDR.pack(qid, flags, 0, 0, 0, 0)


# ---------------------------------------------------------------------------- results


@dataclass(slots=True)
class Section:
    """RRsets for one section: ``(owner, RRset, ttl)``; ``owner`` may differ from the
    RRset's (wildcard synthesis) and ``ttl`` from its TTL (the negative SOA)."""

    items: list[tuple[Name, RRset, int]] = field(default_factory=list)

    def add(self, owner: Name, rrset: RRset, ttl: int | None = None) -> None:
        self.items.append((owner, rrset, rrset.ttl if ttl is None else ttl))


@dataclass(slots=True)
class Result:
    """The outcome of a lookup, before it is written as a message."""

    rcode: int = wire.RCODE_NOERROR
    aa: bool = True
    answer: Section = field(default_factory=Section)
    authority: Section = field(default_factory=Section)
    additional: Section = field(default_factory=Section)
    required_additional: int = 0
    """How many leading additional RRsets are in-bailiwick glue (TC if they do not fit)."""
    dnssec: bool = False
    """The query had DO: add signatures and denial proofs (RFC 4035 §3.1)."""
    nodata: bool = False
    """The last step found the name but not the type."""


rdata_parts = rdtypes.parts
"""Split rdata into raw bytes and compressible names (the type's class decides)."""


_PARTS: dict[tuple[int, bytes], Sequence[RdataPart]] = {}


def rdata_parts_cached(rtype: int, rdata: bytes) -> Sequence[RdataPart]:
    key = (rtype, rdata)
    parts = _PARTS.get(key)
    if parts is None:
        parts = rdata_parts(rtype, rdata)
        if len(_PARTS) < 100_000:
            _PARTS[key] = parts
    return parts


def _target(rrset: RRset) -> Name:
    return wire.wire_to_name(rrset.rdatas[0])


# ---------------------------------------------------------------------------- lookup


def _negative(zone: Zone, result: Result, rcode: int) -> Result:
    result.rcode = rcode
    result.authority.add(zone.origin, zone.soa, zone.negative_ttl)
    return result


def _add_addresses(zone: Zone, result: Result, ns: RRset, *, glue_cut: Key | None) -> None:
    """Additional-section addresses for the targets of ``ns`` held in ``zone`` (A first,
    then AAAA, as NSD orders them)."""
    targets = [wire.wire_to_name(rd) for rd in ns.rdatas]
    for rtype in (wire.TYPE_A, wire.TYPE_AAAA):
        for target in targets:
            node = zone.nodes.get(key_of(target))
            if node is None:
                continue
            rrset = node.get(rtype)
            if rrset is not None:
                if glue_cut is not None and _below(key_of(target), glue_cut):
                    result.required_additional += 1
                    result.additional.items.insert(
                        result.required_additional - 1, (rrset.name, rrset, rrset.ttl)
                    )
                else:
                    result.additional.add(rrset.name, rrset)


def _below(k: Key, parent: Key) -> bool:
    return len(k) >= len(parent) and k[len(k) - len(parent) :] == parent


def _referral(zone: Zone, result: Result, cut: Node) -> None:
    ns = cut.get(wire.TYPE_NS)
    assert ns is not None  # a cut is a name with NS below the apex
    if not result.answer.items:
        result.aa = False
    result.authority.add(ns.name, ns)
    if result.dnssec:
        # RFC 4035 §3.1.4: the DS set, or the proof that there is none.
        ds = cut.get(wire.TYPE_DS)
        if ds is not None:
            result.authority.add(ds.name, ds)
        else:
            _deny_type(zone, result, key_of(cut.name), wire.TYPE_DS)
    _add_addresses(zone, result, ns, glue_cut=key_of(ns.name))


# ---------------------------------------------------------------------------- DNSSEC


def _proof(result: Result, node: Node | None, rtype: int) -> None:
    """Add ``node``'s NSEC or NSEC3 to the authority section, once."""
    if node is None:
        return
    rrset = node.get(rtype)
    if rrset is None or any(item[1] is rrset for item in result.authority.items):
        return
    result.authority.add(rrset.name, rrset)


def _next_closer(k: Key, encloser: Key) -> Key:
    return k[len(k) - len(encloser) - 1 :]


def _closest_encloser_proof(zone: Zone, result: Result, k: Key, encloser: Key) -> None:
    """RFC 5155 §7.2.1: the NSEC3 matching the closest encloser and the one covering the
    next closer name."""
    _proof(result, zone.nsec3_matching(encloser), wire.TYPE_NSEC3)
    _proof(result, zone.nsec3_covering(_next_closer(k, encloser)), wire.TYPE_NSEC3)


def _closest_provable_encloser(zone: Zone, k: Key) -> Key:
    """The longest ancestor of ``k`` (at or below the apex) with a matching NSEC3."""
    depth = len(zone.origin_key)
    for i in range(len(k) - 1, depth - 1, -1):
        anc = k[len(k) - i :]
        if zone.nsec3_matching(anc) is not None:
            return anc
    return zone.origin_key


def _deny_name(zone: Zone, result: Result, k: Key, encloser: Key) -> None:
    """NXDOMAIN: no such name and no wildcard at its closest encloser (RFC 4035 §3.1.3.2,
    RFC 5155 §7.2.2)."""
    if zone.nsec3_params() is not None:
        _closest_encloser_proof(zone, result, k, encloser)
        _proof(result, zone.nsec3_covering((b"*", *encloser)), wire.TYPE_NSEC3)
        return
    _proof(result, zone.nsec_covering(k), wire.TYPE_NSEC)
    _proof(result, zone.nsec_covering((b"*", *encloser)), wire.TYPE_NSEC)


def _deny_type(zone: Zone, result: Result, k: Key, qtype: int) -> None:
    """NODATA at an existing name (RFC 4035 §3.1.3.1, RFC 5155 §7.2.3 and, for DS under
    opt-out, §7.2.4)."""
    if zone.nsec3_params() is not None:
        match = zone.nsec3_matching(k)
        if match is not None:
            _proof(result, match, wire.TYPE_NSEC3)
        elif qtype == wire.TYPE_DS:
            _closest_encloser_proof(zone, result, k, _closest_provable_encloser(zone, k))
        return
    _proof(result, zone.nsec_covering(k), wire.TYPE_NSEC)


def _deny_wildcard(zone: Zone, result: Result, k: Key, encloser: Key) -> None:
    """A wildcard answer (RFC 4035 §3.1.3.3, RFC 5155 §7.2.6: no exact match) or NODATA
    from a wildcard (§3.1.3.4, §7.2.5: no exact match, and the wildcard lacks the type)."""
    wildcard = (b"*", *encloser)
    if zone.nsec3_params() is not None:
        if result.nodata:
            _proof(result, zone.nsec3_matching(encloser), wire.TYPE_NSEC3)
        _proof(result, zone.nsec3_covering(_next_closer(k, encloser)), wire.TYPE_NSEC3)
        if result.nodata:
            _proof(result, zone.nsec3_matching(wildcard), wire.TYPE_NSEC3)
        return
    _proof(result, zone.nsec_covering(k), wire.TYPE_NSEC)
    if result.nodata:
        _proof(result, zone.nsec_covering(wildcard), wire.TYPE_NSEC)


def _signed(zone: Zone, items: list[tuple[Name, RRset, int]]) -> list[tuple[Name, RRset, int]]:
    """``items`` with the signatures of each RRset after it (RFC 4035 §3.1.1), from the
    node that holds the RRset, each with its own TTL (RFC 4034 §3)."""
    out = []
    for owner, rrset, ttl in items:
        out.append((owner, rrset, ttl))
        if rrset.rtype == wire.TYPE_RRSIG:
            continue
        node = zone.nodes.get(key_of(rrset.name))
        sigs = node.sig(rrset.rtype) if node is not None else None
        if sigs is not None and sigs is not rrset:
            out.append((owner, sigs, min(sigs.ttl, ttl) if rrset is zone.soa else sigs.ttl))
    return out


def _sign(zone: Zone, result: Result) -> None:
    result.answer.items = _signed(zone, result.answer.items)
    result.authority.items = _signed(zone, result.authority.items)
    glue = result.additional.items[: result.required_additional]
    rest = result.additional.items[result.required_additional :]
    result.additional.items = glue + _signed(zone, rest)


def _any_rrset(zone: Zone, node: Node, at_apex: bool) -> RRset | None:
    if at_apex:
        return zone.soa
    candidates = [rrset for rrset in node.sets if rrset.rtype != wire.TYPE_RRSIG]
    if not candidates:
        return None
    return min(candidates, key=lambda rrset: rrset.rtype)


def lookup(zone: Zone, qname: Name, qtype: int, dnssec: bool = False) -> Result:
    """Answer ``qname``/``qtype`` from ``zone`` (which contains ``qname``); with
    ``dnssec`` (the DO bit), with the zone's signatures and denial proofs."""
    # As NSD: only a signed zone (a signature over the apex SOA) gets DNSSEC processing.
    apex = zone.nodes[zone.origin_key]
    result = Result(dnssec=dnssec and apex.sig(wire.TYPE_SOA) is not None)
    visited: set[Key] = set()
    name = qname
    for _ in range(MAX_CHAIN + 1):
        k = key_of(name)
        visited.add(k)
        nxt = _step(zone, result, name, k, qtype)
        if nxt is None:
            break
        nk = key_of(nxt)
        if nk in visited or not _below(nk, zone.origin_key):
            break
        name = nxt
    if result.dnssec:
        _sign(zone, result)
    return result


def _step(zone: Zone, result: Result, name: Name, k: Key, qtype: int) -> Name | None:
    """One lookup; returns the next name to chase (a CNAME target) or ``None``."""
    nodes = zone.nodes
    depth = len(zone.origin_key)
    n = len(k)
    closest = depth
    for i in range(depth, n + 1):
        sub = k[n - i :]
        node = nodes.get(sub)
        if node is None:
            break
        closest = i
        if i < n:
            if sub in zone.cuts:
                _referral(zone, result, node)
                return None
            dname = node.get(wire.TYPE_DNAME)
            if dname is not None:
                new = _dname(result, name, node, dname)
                # RFC 1034 4.3.2 step 3a, RFC 6672 3.2: the synthesised CNAME is itself the
                # answer to a CNAME question; only other types follow it
                return None if qtype == wire.TYPE_CNAME else new
            continue
        if sub in zone.cuts and qtype != wire.TYPE_DS:
            _referral(zone, result, node)
            return None
        nxt = _exact(zone, result, name, node, qtype, sub == zone.origin_key, name)
        if result.nodata and result.dnssec:
            _deny_type(zone, result, sub, qtype)
        return nxt
    # No node for the name: RFC 4592 wildcard at the closest encloser, or NXDOMAIN.
    encloser = k[n - closest :]
    wild = nodes.get((b"*", *encloser))
    if wild is not None:
        nxt = _exact(zone, result, name, wild, qtype, False, name)
        if result.dnssec:
            _deny_wildcard(zone, result, k, encloser)
        return nxt
    _negative(zone, result, wire.RCODE_NXDOMAIN)
    if result.dnssec:
        _deny_name(zone, result, k, encloser)
    return None


def _exact(
    zone: Zone, result: Result, name: Name, node: Node, qtype: int, at_apex: bool, owner: Name
) -> Name | None:
    result.nodata = False
    if qtype == wire.TYPE_RRSIG and result.dnssec and node.signatures is not None:
        for sigs in node.signatures:
            result.answer.add(owner, sigs)
        return None
    if qtype == wire.TYPE_ANY:
        rrset = _any_rrset(zone, node, at_apex) if node.sets else None
        if rrset is None:
            _negative(zone, result, wire.RCODE_NOERROR)
        else:
            result.answer.add(owner, rrset)
        return None
    rrset = node.get(qtype)
    if rrset is not None:
        result.answer.add(owner, rrset)
        if qtype == wire.TYPE_NS and at_apex:
            _add_addresses(zone, result, rrset, glue_cut=None)
        return None
    cname = node.get(wire.TYPE_CNAME)
    if cname is not None:
        result.answer.add(owner, cname)
        return _target(cname)
    _negative(zone, result, wire.RCODE_NOERROR)
    result.nodata = True
    return None


def _dname(result: Result, name: Name, node: Node, dname: RRset) -> Name | None:
    result.answer.add(dname.name, dname)
    target = _target(dname)
    prefix = name[: len(name) - len(node.name)]
    new = prefix + target
    if sum(len(label) + 1 for label in new) + 1 > wire.MAX_NAME:
        result.rcode = wire.RCODE_YXDOMAIN
        return None
    synth = RRset(name, wire.TYPE_CNAME, dname.ttl, [wire.encode_name(new)])
    result.answer.add(name, synth)
    return new


# ---------------------------------------------------------------------------- writing


def write_sections(builder: wire.MessageBuilder, result: Result) -> bool:
    """Add the result's RRsets; returns False when answer/authority (or required glue) did
    not fit (the caller then truncates)."""
    for section, items in (
        (wire.SECTION_ANSWER, result.answer.items),
        (wire.SECTION_AUTHORITY, result.authority.items),
    ):
        for owner, rrset, ttl in items:
            if not _write_rrset(builder, section, owner, rrset, ttl):
                return False
    for index, (owner, rrset, ttl) in enumerate(result.additional.items):
        if not _write_rrset(builder, wire.SECTION_ADDITIONAL, owner, rrset, ttl):
            return index >= result.required_additional
    return True


def _write_rrset(
    builder: wire.MessageBuilder, section: int, owner: Name, rrset: RRset, ttl: int
) -> bool:
    mark = builder.mark()
    rtype = rrset.rtype
    try:
        for rd in rrset.rdatas:
            builder.add_rr(section, owner, rtype, wire.CLASS_IN, ttl, rdata_parts_cached(rtype, rd))
    except wire.Overflow:
        builder.rollback(mark)
        return False
    return True


# ---------------------------------------------------------------------------- authority


def _opt_with_options(data: bytes) -> int:
    """For a query with one question and one OPT record (version 0) holding well-formed
    options and nothing after it: where the question ends. Otherwise -1."""
    n = len(data)
    pos = 12
    while True:
        if pos >= n:
            return -1
        length = data[pos]
        if length == 0:
            break
        if length > 63:
            return -1
        pos += length + 1
    qend = pos + 5
    if (
        qend + 11 > n
        or data[qend] != 0
        or data[qend + 1 : qend + 3] != b"\x00\x29"
        or data[qend + 5 : qend + 7] != b"\x00\x00"
    ):
        return -1
    end = qend + 11 + ((data[qend + 9] << 8) | data[qend + 10])
    if end != n:
        return -1
    p = qend + 11
    while p < end:
        if p + 4 > end:
            return -1
        p += 4 + ((data[p + 2] << 8) | data[p + 3])
    return qend if p == end else -1


@dataclass(slots=True)
class Cached:
    """A prebuilt response: header words for each RD/CD combination, and the bytes that
    follow the question."""

    headers: tuple[bytes, bytes, bytes, bytes]
    tail: bytes


def _shape(edns: wire.Edns | None, tcp: bool) -> tuple[int, int]:
    """``(limit, shape byte)`` for a query: the size limit and the EDNS shape."""
    if tcp:
        limit = 65535
    elif edns is None:
        limit = UDP_NO_EDNS
    else:
        limit = min(max(edns.payload, UDP_NO_EDNS), EDNS_PAYLOAD)
    shape = (
        (1 if edns is not None else 0)
        | (2 if edns is not None and edns.do else 0)
        | (4 if tcp else 0)
    )
    return limit, shape


class Authority:
    """The served zones and the answering logic over them (thread-unsafe, sans-IO).

    ``answer(data, tcp=False)`` returns the response bytes, or ``None`` to drop the query.
    ``set_zones`` swaps the zone set atomically and empties the cache.
    """

    def __init__(self, zones: Iterable[Zone] = ()) -> None:
        self.zones: dict[Key, Zone] = {}
        self._cache: dict[bytes, Cached] = {}
        self.stats = {"queries": 0, "formerr": 0, "dropped": 0}
        """Counters of the slow path: cache misses, FORMERRs, dropped packets."""
        self.set_zones(zones)

    def set_zones(self, zones: Iterable[Zone]) -> None:
        """Serve exactly ``zones`` from now on (duplicates: the last one wins)."""
        table: dict[Key, Zone] = {}
        for zone in zones:
            table[zone.origin_key] = zone
        self.zones = table
        self._depths = sorted({len(k) for k in table}, reverse=True)
        self._cache = {}

    def find_zone(self, qname: Name, qtype: int = 0) -> Zone | None:
        """The deepest served zone containing ``qname`` (for DS at a child apex that we
        also serve the parent of, the parent)."""
        k = key_of(qname)
        n = len(k)
        found: Zone | None = None
        for depth in self._depths:
            if depth > n:
                continue
            zone = self.zones.get(k[n - depth :])
            if zone is None:
                continue
            if found is None:
                found = zone
                if not (qtype == wire.TYPE_DS and depth == n):
                    return found
            else:
                return zone
        return found

    # -- the hot path

    def answer(self, data: bytes, tcp: bool = False) -> bytes | None:
        """The response to the query ``data`` (``None``: drop it).

        Over TCP (``tcp=True``) an AXFR or IXFR query raises :class:`TransferRequested`
        instead: the caller streams the transfer.
        """
        n = len(data)
        if n < 17:
            return self._slow(data, tcp)
        if data[4:12] == b"\x00\x01\x00\x00\x00\x00\x00\x00":
            qend = n
            shape = 4 if tcp else 0
        elif data[4:12] == b"\x00\x01\x00\x00\x00\x00\x00\x01":
            if (
                n > 28
                and data[n - 11] == 0
                and data[n - 10 : n - 8] == b"\x00\x29"
                and data[n - 7 : n - 5] == b"\x00\x00"
                and data[n - 2 :] == b"\x00\x00"
            ):
                qend = n - 11  # a trailing OPT without options, version 0
            else:
                qend = _opt_with_options(data)
                if qend < 0:
                    return self._slow(data, tcp)
            # The shape: DO and the size limit the payload gives.
            do = data[qend + 7] & 0x80
            if tcp:
                limit = 65535
            else:
                payload = (data[qend + 3] << 8) | data[qend + 4]
                limit = EDNS_PAYLOAD if payload >= EDNS_PAYLOAD else max(payload, UDP_NO_EDNS)
            shape = 1 | (2 if do else 0) | (4 if tcp else 0) | (limit << 3)
        else:
            return self._slow(data, tcp)
        flags = data[2]
        if flags & 0xF8:  # QR or an opcode other than QUERY
            return self._slow(data, tcp)
        key = data[12 : qend - 4].lower() + data[qend - 4 : qend] + shape.to_bytes(3, "big")
        cached = self._cache.get(key)
        if cached is None:
            return self._slow(data, tcp)
        return (
            data[:2]
            + cached.headers[(flags & 1) | ((data[3] >> 3) & 2)]
            + data[12:qend]
            + cached.tail
        )

    # -- everything else

    def _slow(self, data: bytes, tcp: bool) -> bytes | None:
        self.stats["queries"] += 1
        if len(data) < wire.HEADER_SIZE or data[2] & 0x80:
            self.stats["dropped"] += 1
            return None
        try:
            query = parse_query(data)
        except QueryError as exc:
            if exc.rcode == wire.RCODE_FORMERR:
                self.stats["formerr"] += 1
            return header_only(data, exc.rcode)
        except wire.WireError:
            self.stats["formerr"] += 1
            return header_only(data, wire.RCODE_FORMERR)
        if query.qtype in (wire.TYPE_AXFR, wire.TYPE_IXFR):
            if tcp:
                raise TransferRequested(query)
            return self.transfer_refusal(query, tcp)
        response, cacheable = self.respond(query, tcp)
        if cacheable:
            self._store(query, tcp, response)
        return response

    def _store(self, query: Query, tcp: bool, response: bytes) -> None:
        limit, shape = _shape(query.edns, tcp)
        if shape & 1:
            shape |= limit << 3
        key = (
            wire.name_key(query.qname)
            + struct.pack("!HH", query.qtype, query.qclass)
            + shape.to_bytes(3, "big")
        )
        if len(self._cache) >= CACHE_LIMIT:
            self._cache.clear()
        qlen = len(query.question)
        flags = _U16.unpack_from(response, 2)[0] & ~_FLAG_COPY
        counts = response[4:12]
        headers = tuple(
            _U16.pack(flags | (wire.RD if v & 1 else 0) | (wire.CD if v & 2 else 0)) + counts
            for v in range(4)
        )
        self._cache[key] = Cached(
            (headers[0], headers[1], headers[2], headers[3]), response[12 + qlen :]
        )

    def transfer_refusal(self, query: Query, tcp: bool) -> bytes:
        """AXFR/IXFR over UDP: AXFR is NOTIMP (as NSD); IXFR gets the current SOA (RFC 1995
        §2: the client then asks over TCP); NOTAUTH for a name that is not an apex we
        serve, REFUSED outside our zones."""
        zone = self.find_zone(query.qname)
        if zone is None or key_of(query.qname) != zone.origin_key:
            return self._simple(
                query, wire.RCODE_REFUSED if zone is None else wire.RCODE_NOTAUTH, aa=False
            )
        if tcp:
            return self._simple(query, wire.RCODE_REFUSED, aa=False)
        if query.qtype == wire.TYPE_AXFR:
            return self._simple(query, wire.RCODE_NOTIMP, aa=False)
        result = Result()
        result.answer.add(zone.origin, zone.soa)
        return self.build(query, result, tcp)

    def _simple(self, query: Query, rcode: int, *, aa: bool) -> bytes:
        result = Result(rcode=rcode, aa=aa)
        return self.build(query, result, False)

    def respond(self, query: Query, tcp: bool) -> tuple[bytes, bool]:
        """The full answering logic for a parsed query: ``(response, cacheable)``."""
        edns = query.edns
        if edns is not None and edns.version != 0:
            result = Result(rcode=wire.RCODE_BADVERS, aa=False)
            return self.build(query, result, tcp), False
        if query.qclass != wire.CLASS_IN:
            return self._simple(query, wire.RCODE_REFUSED, aa=False), True
        zone = self.find_zone(query.qname, query.qtype)
        if zone is None:
            return self._simple(query, wire.RCODE_REFUSED, aa=False), True
        dnssec = edns is not None and edns.do
        result = lookup(zone, query.qname, query.qtype, dnssec)
        return self.build(query, result, tcp), True

    def build(self, query: Query, result: Result, tcp: bool) -> bytes:
        """Write ``result`` as the response to ``query`` (truncating to fit)."""
        limit, _ = _shape(query.edns, tcp)
        flags = wire.QR | (query.flags & _FLAG_COPY) | (wire.AA if result.aa else 0)
        b = wire.MessageBuilder(query.id, flags, max_size=limit)
        b.rcode = result.rcode
        if query.edns is not None:
            b.set_edns(EDNS_PAYLOAD, do=query.edns.do)
        b.add_raw_question(query.question)
        if not write_sections(b, result):
            b = wire.MessageBuilder(query.id, flags | wire.TC, max_size=limit)
            b.rcode = result.rcode
            if query.edns is not None:
                b.set_edns(EDNS_PAYLOAD, do=query.edns.do)
            b.add_raw_question(query.question)
        return b.finish()


__all__ = [
    "CACHE_LIMIT",
    "EDNS_PAYLOAD",
    "MAX_CHAIN",
    "Authority",
    "Query",
    "QueryError",
    "Result",
    "TransferRequested",
    "header_only",
    "lookup",
    "parse_query",
    "rdata_parts",
    "rdata_parts_cached",
]
