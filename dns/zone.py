"""Zones: RFC 1035 master files in, validated, lookup-ready zones out.

The master-file reader is our own:
``$ORIGIN``, ``$TTL``, ``$INCLUDE file [origin]`` (paths relative to the including file),
parentheses across lines, quoted strings, ``;`` comments, relative names and ``@``, a blank
owner meaning the previous one, TTL and class in either order, TTLs with units (``1h30m``),
``TYPEnnn``/``CLASSnnn`` and RFC 3597 ``\\# len hex`` rdata for any type; each type's
presentation format is read by its class in :mod:`dns.rdtypes`.

Validation at load (each a :class:`ZoneError` naming file and line): exactly one SOA, at the
apex; NS at the apex; no CNAME beside other data; no NS at a wildcard. As BIND does, data
outside the origin is left out with a warning, and data below a DNAME or at or below a zone
cut (other than glue and DS) loads with a warning but is never answered from (occluded).
``$GENERATE`` (BIND's, also Knot's) makes records from a range; ``*`` is a wildcard only as
the leftmost label, elsewhere an ordinary label (RFC 4592 §2.1.1).

Big zones (issue 17: 1.5 M records): a line of plain words, the common one, is split in one
call and its RDATA read from the words by its type's reader (:meth:`dns.rdtypes.RdataType.
word_reader`: the wire form of leading numeric fields remembered by their words), the
words before the type and the owner remembered, an owner under the origin without escapes
made from its labels; lines inside parentheses, and words with quoted strings (TXT), are
split with ``str`` methods, other lines scanned by the lexer, with the same checks and
errors. The file is read as it is parsed, and the parser puts each record into its node
itself (the node found once per owner, an RRset made or added to in place; the cases the
checks look at through :meth:`Zone._add`, the one way :class:`Zone` builds from records).
In memory a :class:`Node` keeps its RRsets in a tuple (no dict per name), labels repeat
as one object, and the collector is off while the zone is built (no cycles are made), its
objects then moved to the collector's oldest generation without a walk.
``bench/dns_zone.py`` measures this against ``nsd-checkzone``.

Usage::

    zone = load_zone_file("examples/zones/ocaml.test.zone")
    zone.origin, zone.serial, zone.node(wire.name_from_text("www.ocaml.test."))
"""

from __future__ import annotations

import base64
import bisect
import contextlib
import gc
import hashlib
import itertools
import logging
import os
import re
import struct
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from . import rdtypes, wire
from .rdtypes import Token, parse_ttl
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


class Node:
    """One owner name in the zone (or an empty non-terminal when it has no RRsets).

    A node keeps its RRsets in a tuple, in the order the file first gave each type: a dict
    per name would be the largest part of a big zone's memory (a dict holds 8 slots from
    its first item). :meth:`get` finds one; :attr:`rrsets` is a dict of them made on
    demand. The RRSIG RRset holds every signature at the name; :meth:`sig` gives the ones
    covering one type, as an RRset with the TTL those records were given (RFC 4034 §3: the
    TTL of the RRset they cover, which differs between types); :attr:`sigs` is a dict of
    those, or ``None`` when the name has no signatures."""

    __slots__ = ("name", "sets", "signatures")

    def __init__(
        self,
        name: Name,
        sets: tuple[RRset, ...] = (),
        signatures: tuple[RRset, ...] | None = None,
    ) -> None:
        self.name = name
        self.sets = sets
        """The RRsets, each type once."""
        self.signatures = signatures
        """The signatures by the type they cover, one RRset per type; ``None`` if none."""

    def get(self, rtype: int) -> RRset | None:
        """The RRset of ``rtype`` at this name, if any."""
        for rrset in self.sets:
            if rrset.rtype == rtype:
                return rrset
        return None

    def sig(self, covered: int) -> RRset | None:
        """The RRSIGs at this name covering ``covered``, if any."""
        for rrset in self.signatures or ():
            if _U16.unpack_from(rrset.rdatas[0])[0] == covered:
                return rrset
        return None

    @property
    def rrsets(self) -> dict[int, RRset]:
        """The RRsets by type (a new dict: changing it changes nothing in the zone)."""
        return {rrset.rtype: rrset for rrset in self.sets}

    @property
    def sigs(self) -> dict[int, RRset] | None:
        """The RRSIGs by the type they cover, or ``None`` when there are none."""
        if self.signatures is None:
            return None
        return {_U16.unpack_from(rs.rdatas[0])[0]: rs for rs in self.signatures}

    def __repr__(self) -> str:
        return f"Node({wire.name_to_text(self.name)} {list(self.sets)})"


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


_Row = tuple[Name, Key, int, int, bytes, str, int]
"""A record as the parser hands it to the zone: the fields of :class:`Record` with the
name's key after the name, in a tuple (made faster than an object, for each of millions).
A record with the same owner as the one before has the same name and key objects."""


class _Keys:
    """Keys of names. Labels that repeat (the origin's, a parent's) are kept once: the
    first :data:`LABELS` distinct labels are remembered (not all: the owners of a big
    zone are mostly distinct, and a table of them all would cost more than it saves)."""

    LABELS = 1 << 14

    def __init__(self) -> None:
        self.labels: dict[bytes, bytes] = {}

    def __call__(self, name: Name) -> Key:
        return self.interned([label.lower() for label in name])

    def interned(self, labels: Sequence[bytes]) -> Key:
        """Lowercased ``labels``, each as the object kept for it if one is."""
        table = self.labels
        keep = table.setdefault if len(table) < self.LABELS else table.get
        return tuple(map(keep, labels, labels))


def _rows(records: Iterable[Record]) -> Iterator[_Row]:
    keys = _Keys()
    last: Name | None = None
    key: Key = ()
    for r in records:
        if r.name is not last:
            last, key = r.name, keys(r.name)
        yield (r.name, key, r.rtype, r.ttl, r.rdata, r.filename, r.line)


@contextlib.contextmanager
def _collector_off() -> Iterator[None]:
    """The garbage collector off meanwhile. A zone is built of millions of objects and no
    cycles: the collector would walk all of them again and again as they pile up (it was
    a third of the time of a big zone). At the end the objects made meanwhile go to its
    oldest generation (gc.freeze then gc.unfreeze: two list moves, no walk), where only a
    full collection looks at them: left young, the first collection after would walk them
    all (a tenth of the time of a big zone)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.unfreeze()
        if collecting:
            gc.enable()


_DEDUP_LINEAR = 8
"""RRsets up to this size are searched for a duplicate record one by one; bigger ones
through a set of their records, so that a big RRset is read in linear time."""


class Zone:
    """A loaded, validated zone.

    ``origin`` (the apex name), ``nodes`` (lowercased-label key -> :class:`Node`, empty
    non-terminals included), ``cuts`` (keys of delegation points below the apex),
    ``soa`` (the apex SOA :class:`RRset`), ``serial``, ``negative_ttl`` (min of the SOA's TTL
    and MINIMUM, RFC 2308), ``files`` (the files read, for reload).
    """

    def __init__(
        self, origin: Name, records: Iterable[Record], files: list[str], source: str | None = None
    ) -> None:
        self._start(origin, files, source)
        with _collector_off():
            self._build(_rows(records))
            self._finish()

    @classmethod
    def _building(cls, origin: Name, files: list[str], source: str | None) -> Zone:
        """An empty zone to build: records go in by :meth:`_build` (rows) or straight from
        the parser (:attr:`_Parser.sink`); :meth:`_finish` checks it."""
        zone = cls.__new__(cls)
        zone._start(origin, files, source)
        return zone

    def _start(self, origin: Name, files: list[str], source: str | None) -> None:
        self.origin = origin
        self.origin_key: Key = key_of(origin)
        self.files = files
        self.source = source
        self.nodes: dict[Key, Node] = {}
        self.cuts: set[Key] = set()
        self._nsec_keys: list[Key] | None = None
        self._nsec3: tuple[list[bytes], list[Key]] | None = None
        self._record_count = 0
        # While the zone is built:
        self._where: dict[tuple[Key, int], tuple[str, int]] = {}
        """The file and line of each RRset of :data:`_LOCATED_TYPES`."""
        self._big: dict[int, set[bytes]] = {}
        """id(RRset) -> its records, for big RRsets (see :data:`_DEDUP_LINEAR`)."""
        self._first: tuple[str, int] | None = None
        """Where the first record was (the place of an error about the whole zone)."""

    def _finish(self) -> None:
        """The zone's rules checked (:meth:`_check`), its SOA's fields taken."""
        where, first = self._where, self._first or ("<zone>", 0)
        del self._where, self._big, self._first
        self._check(where, first)
        soa = self.nodes[self.origin_key].get(wire.TYPE_SOA)
        assert soa is not None
        self.soa = soa
        fields = _U32.unpack_from(soa.rdatas[0], len(soa.rdatas[0]) - 20)
        self.serial: int = fields[0]
        minimum = _U32.unpack_from(soa.rdatas[0], len(soa.rdatas[0]) - 4)[0]
        self.negative_ttl = min(soa.ttl, minimum)

    # -- building and validation

    def _build(self, rows: Iterable[_Row]) -> None:
        """Each row into its node (see :meth:`_new_node` and :meth:`_add`)."""
        nodes = self.nodes
        new_node = self._new_node
        add = self._add
        last_key: Key | None = None
        node: Node | None = None
        for name, k, rtype, ttl, rdata, filename, line in rows:
            if k is not last_key or node is None:  # a new owner (or one left out)
                last_key = k
                node = nodes.get(k) or new_node(name, k, filename, line)
                if node is None:
                    continue
            add(node, k, rtype, ttl, rdata, filename, line)

    def _new_node(self, name: Name, k: Key, filename: str, line: int) -> Node | None:
        """The node of a name not in :attr:`nodes` yet, made; None for a name outside
        the zone (left out with a warning, as BIND does: named-checkzone loads the zone)."""
        if self._first is None:
            self._first = (filename, line)
        origin_key = self.origin_key
        depth = len(origin_key)
        if len(k) < depth or k[len(k) - depth :] != origin_key:
            log.warning(
                "%s:%d: ignoring %s: it is outside the zone %s",
                filename,
                line,
                wire.name_to_text(name),
                wire.name_to_text(self.origin),
            )
            return None
        node = self.nodes[k] = Node(k if k == name else name)
        return node

    def _add(
        self, node: Node, k: Key, rtype: int, ttl: int, rdata: bytes, filename: str, line: int
    ) -> None:
        """One record into its node: a new RRset, or one more record of one (a duplicate
        left out, a TTL that differs from the RRset's warned about); an RRSIG also among
        the node's signatures by the type it covers."""
        rrsig = wire.TYPE_RRSIG
        sets = node.sets
        if rtype == rrsig and len(rdata) >= 2:
            covered = _U16.unpack_from(rdata)[0]
            sigs = node.sig(covered)
            if sigs is None:
                # A tuple made again for each new type (a list would be converted at
                # the end, leaving its memory in holes the tuples cannot fill).
                node.signatures = (node.signatures or ()) + (RRset(node.name, rrsig, ttl, [rdata]),)
            elif rdata not in sigs.rdatas:
                sigs.rdatas.append(rdata)
        rrset: RRset | None
        if not sets:
            rrset = None
        elif sets[-1].rtype == rtype:
            rrset = sets[-1]
        else:
            rrset = node.get(rtype)
        if rrset is None:
            self._record_count += 1
            node.sets = (*sets, RRset(node.name, rtype, ttl, [rdata]))
            if rtype in _LOCATED_TYPES:
                self._where[(k, rtype)] = (filename, line)
            return
        if ttl != rrset.ttl and rtype != rrsig:
            log.warning(
                "%s:%d: TTL %d differs from the RRset's %d (RFC 2181 §5.2); using %d",
                filename,
                line,
                ttl,
                rrset.ttl,
                rrset.ttl,
            )
        rdatas = rrset.rdatas
        if len(rdatas) < _DEDUP_LINEAR:
            if rdata not in rdatas:
                self._record_count += 1
                rdatas.append(rdata)
            return
        seen = self._big.get(id(rrset))
        if seen is None:
            seen = self._big[id(rrset)] = set(rdatas)
        if rdata not in seen:
            self._record_count += 1
            seen.add(rdata)
            rdatas.append(rdata)

    def _check(self, where: dict[tuple[Key, int], tuple[str, int]], first: tuple[str, int]) -> None:
        """The zone's rules (see the module's docstring), the zone cuts, the empty
        non-terminals."""
        origin_key = self.origin_key
        depth = len(origin_key)
        nodes = self.nodes

        def at(k: Key, rtype: int) -> tuple[str, int]:
            return where.get((k, rtype), (first[0], 0))

        apex = nodes.get(origin_key)
        soa = apex.get(wire.TYPE_SOA) if apex is not None else None
        if apex is None or soa is None:
            raise ZoneError(f"no SOA record at the apex {wire.name_to_text(self.origin)}", *first)
        if len(soa.rdatas) != 1:
            raise ZoneError("more than one SOA record at the apex", *at(origin_key, wire.TYPE_SOA))
        if apex.get(wire.TYPE_NS) is None:
            raise ZoneError(
                f"no NS records at the apex {wire.name_to_text(self.origin)}",
                *at(origin_key, wire.TYPE_SOA),
            )
        dnames: set[Key] = set()
        # Only names that hold one of these types have a rule to break (their file and line
        # were kept), so only those are looked at, in the order the file gave them.
        checked: set[Key] = set()
        soa_type, cname_type, dname_type, ns_type = (
            wire.TYPE_SOA,
            wire.TYPE_CNAME,
            wire.TYPE_DNAME,
            wire.TYPE_NS,
        )
        cuts = self.cuts
        for k, rtype in where:
            if rtype == ns_type and k != origin_key:
                cuts.add(k)
            node = nodes[k]
            sets = node.sets
            if len(sets) == 1 and k and k[0] != b"*":
                # One RRset (so here once): a delegation's NS, a lone CNAME break nothing.
                only = sets[0]
                if only.rtype == ns_type or (only.rtype == cname_type and len(only.rdatas) == 1):
                    continue
            if k in checked:
                continue
            checked.add(k)
            types = [rs.rtype for rs in sets]
            if soa_type in types and k != origin_key:
                raise ZoneError(
                    f"SOA record at {wire.name_to_text(node.name)}, not at the apex",
                    *at(k, wire.TYPE_SOA),
                )
            cname = node.get(cname_type) if cname_type in types else None
            if cname is not None:
                others = [t for t in types if t not in _CNAME_COMPANIONS]
                if others:
                    raise ZoneError(
                        f"CNAME at {wire.name_to_text(node.name)} beside other data "
                        f"({', '.join(wire.type_to_text(t) for t in others)})",
                        *at(k, wire.TYPE_CNAME),
                    )
                if len(cname.rdatas) > 1:
                    raise ZoneError(
                        f"more than one CNAME at {wire.name_to_text(node.name)}",
                        *at(k, wire.TYPE_CNAME),
                    )
            dname = node.get(dname_type) if dname_type in types else None
            if dname is not None:
                if len(dname.rdatas) > 1:
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
        # Data below a DNAME, or below / beside a zone cut other than glue, is occluded:
        # loaded (as BIND and NSD load it, and AXFR sends it) but never answered from,
        # since lookups stop at the cut or the DNAME above it (RFC 6672 §2.4, RFC 2181 §6).
        # Only the lengths that a DNAME has are looked at above each name, and only the
        # names that can be at or below a cut: the cuts and the longer names.
        deep = [k for k in nodes if len(k) > depth + 1]
        if dnames:
            dname_depths = sorted({len(k) for k in dnames})
            for k, node in nodes.items():
                size = len(k)
                for j in dname_depths:
                    if j >= size:
                        break
                    anc = k[size - j :]
                    if anc in dnames and node.sets:
                        log.warning(
                            "%s:%d: %s is below the DNAME at %s: occluded, never answered from",
                            *at(k, node.sets[0].rtype),
                            wire.name_to_text(node.name),
                            wire.name_to_text(nodes[anc].name),
                        )
                        break

        def occluded(k: Key, cut: Key, rtype: int) -> None:
            log.warning(
                "%s:%d: %s at %s is %s the zone cut %s: occluded, never answered from",
                *at(k, rtype),
                wire.type_to_text(rtype),
                wire.name_to_text(nodes[k].name),
                "at" if cut == k else "below",
                wire.name_to_text(nodes[cut].name),
            )

        # The cuts one label below the apex (none above them): their data but NS and DS.
        for k, rtype in where:
            if rtype == ns_type and len(k) == depth + 1 and k in cuts:
                sets = nodes[k].sets
                if len(sets) > 1:  # not its NS alone
                    for rrset in sets:
                        if rrset.rtype not in _AT_CUT_TYPES:
                            occluded(k, k, rrset.rtype)
        # The longer names: their ancestors below the apex, shortest first, an empty
        # non-terminal made for each missing one, the first that is a cut (or the name
        # itself) the cut that they are below (or at).
        for k in deep:
            size = len(k)
            cut: Key | None = None
            for j in range(depth + 1, size):
                anc = k[size - j :]
                if anc not in nodes:
                    owner = nodes[k].name
                    nodes[anc] = Node(owner[len(owner) - j :])
                elif cut is None and anc in cuts:
                    cut = anc
            if cut is None:
                if k not in cuts:
                    continue
                cut = k
            allowed = _AT_CUT_TYPES if cut is k else _GLUE_TYPES
            for rrset in nodes[k].sets:
                if rrset.rtype not in allowed:
                    occluded(k, cut, rrset.rtype)

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
        sends between the two SOAs, without the closing one. Signatures come as one RRset
        per covered type."""
        yield self.soa
        for k in sorted(self.nodes, key=lambda key: key[::-1]):
            node = self.nodes[k]
            for rrset in node.sets:
                if rrset is self.soa:
                    continue
                if rrset.rtype == wire.TYPE_RRSIG and node.signatures is not None:
                    yield from node.signatures  # each with its own TTL
                else:
                    yield rrset

    # -- DNSSEC (pre-signed zones): the NSEC and NSEC3 chains

    def nsec_covering(self, k: Key) -> Node | None:
        """The node whose NSEC matches or covers the name ``k``: the last NSEC owner at or
        before it in canonical order (RFC 4034 §6.1), wrapping to the last one."""
        index = self._nsec_index()
        if not index:
            return None
        at = bisect.bisect_right(index, k[::-1]) - 1
        return self.nodes[index[at][::-1]]

    def _nsec_index(self) -> list[Key]:
        index = self._nsec_keys
        if index is None:
            nsec = wire.TYPE_NSEC
            index = sorted(k[::-1] for k, n in self.nodes.items() if n.get(nsec) is not None)
            self._nsec_keys = index
        return index

    def nsec3_params(self) -> tuple[int, bytes] | None:
        """``(iterations, salt)`` of the apex NSEC3PARAM with hash algorithm 1 (SHA-1)."""
        apex = self.nodes[self.origin_key].get(wire.TYPE_NSEC3PARAM)
        if apex is None:
            return None
        for rd in apex.rdatas:
            if len(rd) >= 5 and rd[0] == 1 and len(rd) == 5 + rd[4]:
                return _U16.unpack_from(rd, 2)[0], rd[5:]
        return None

    def nsec3_hash(self, k: Key) -> bytes:
        """RFC 5155 §5: the iterated SHA-1 of the name's canonical wire form."""
        params = self.nsec3_params()
        assert params is not None
        iterations, salt = params
        digest = hashlib.sha1(wire.encode_name(k) + salt).digest()
        for _ in range(iterations):
            digest = hashlib.sha1(digest + salt).digest()
        return digest

    def _nsec3_index(self) -> tuple[list[bytes], list[Key]]:
        index = self._nsec3
        if index is None:
            pairs = []
            for k, node in self.nodes.items():
                if len(k) == len(self.origin_key) + 1 and node.get(wire.TYPE_NSEC3) is not None:
                    try:
                        hashed = base64.b32hexdecode(k[0].upper())
                    except ValueError:
                        continue
                    pairs.append((hashed, k))
            pairs.sort()
            index = ([h for h, _ in pairs], [k for _, k in pairs])
            self._nsec3 = index
        return index

    def nsec3_matching(self, k: Key) -> Node | None:
        """The NSEC3 node whose hashed owner is the hash of ``k``, if any."""
        hashes, keys = self._nsec3_index()
        digest = self.nsec3_hash(k)
        at = bisect.bisect_left(hashes, digest)
        if at < len(hashes) and hashes[at] == digest:
            return self.nodes[keys[at]]
        return None

    def nsec3_covering(self, k: Key) -> Node | None:
        """The NSEC3 node whose hash interval covers the hash of ``k`` (wrapping)."""
        hashes, keys = self._nsec3_index()
        if not hashes:
            return None
        at = bisect.bisect_left(hashes, self.nsec3_hash(k)) - 1
        return self.nodes[keys[at]]

    def record_count(self) -> int:
        """The number of records (not RRsets), counted as the zone was built."""
        return self._record_count

    def __repr__(self) -> str:
        return (
            f"<Zone {wire.name_to_text(self.origin)} serial={self.serial} "
            f"names={len(self.nodes)} records={self.record_count()}>"
        )


_DNSSEC_TYPES = frozenset({wire.TYPE_RRSIG, wire.TYPE_NSEC, wire.TYPE_NSEC3})
_LOCATED_TYPES = frozenset({wire.TYPE_SOA, wire.TYPE_NS, wire.TYPE_CNAME, wire.TYPE_DNAME})
"""Types whose file and line the load keeps for its errors (others are named by owner and
type; keeping a position per RRset would cost more than the RRsets of a big zone)."""
_CNAME_COMPANIONS = frozenset({wire.TYPE_CNAME}) | _DNSSEC_TYPES
_GLUE_TYPES = frozenset({wire.TYPE_A, wire.TYPE_AAAA})
_CUT_TYPES = frozenset({wire.TYPE_NS, wire.TYPE_DS}) | _DNSSEC_TYPES
_AT_CUT_TYPES = _GLUE_TYPES | _CUT_TYPES


# ---------------------------------------------------------------------------- tokenizer


@dataclass(slots=True)
class Entry:
    """One logical line: its first physical line, whether the owner was left blank."""

    line: int
    blank_owner: bool
    tokens: list[Token]


_NOT_PLAIN = re.compile(
    r'[";()\\\r\x0b\x0c\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]'
)
"""A character that makes a line more than words between blanks: a quote, a comment, a
parenthesis, an escape, or one that ``str.split()`` takes for a blank where a master file
does not (only space and tab are blanks there). One character class: linear."""
_NOT_GROUPING = re.compile(
    r'["\\\r\x0b\x0c\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]'
)
"""What :data:`_NOT_PLAIN` finds but a comment or a parenthesis: without it, a line is words,
parentheses and perhaps a comment (as a signer writes its SOA and RRSIG records)."""
_NOT_QUOTING = re.compile(
    r"[;()\\\r\x0b\x0c\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
)
"""What :data:`_NOT_PLAIN` finds but a quote: without it, a line is words and quoted
strings."""
_PARENS = re.compile(r"[()]")
_WORD_END = re.compile(r'[ \t;()"\\]')
"""Where a word stops, or needs a closer look (a quote or an escape inside it)."""


def _lines(text: str) -> Iterator[str]:
    """The lines of ``text`` one at a time (a list of them all is as big as the text)."""
    pos = 0
    size = len(text)
    while pos <= size:
        end = text.find("\n", pos)
        if end < 0:
            end = size
        yield text[pos:end]
        pos = end + 1


class _Lexer:
    """Lines that are more than plain words, to words: parentheses join lines into one
    entry, comments are dropped, quoted strings and escapes kept together (escapes as
    written). Which words were quoted is kept beside them."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.depth = 0
        """Open parentheses: while over 0, lines go on the entry begun before."""
        self.words: list[str] = []
        self.quoted: list[int] = []
        self.start_line = 0
        self.blank_owner = False

    def feed(
        self, line: str, line_no: int, plain: bool | None = None
    ) -> tuple[int, bool, list[str], list[int]] | None:
        """Read ``line`` (its end removed); the entry it completes, if any, as ``(first
        line, owner left blank, words, positions of the quoted words)``. ``plain``: whether
        :data:`_NOT_PLAIN` finds nothing in the line, if the caller has looked."""
        if self.depth == 0:
            self.words = []
            self.quoted = []
            self.start_line = line_no
            self.blank_owner = bool(line) and line[0] in " \t"
        words = self.words
        if plain is None:
            plain = _NOT_PLAIN.search(line) is None
        if plain:
            words += line.split()
        elif _NOT_GROUPING.search(line) is None:
            # Words, parentheses and a comment: the parentheses counted, the rest split.
            text = line.partition(";")[0] if ";" in line else line
            opens, closes = text.count("("), text.count(")")
            if closes > self.depth or (opens and closes):
                # One that may close before it opens: in order, for the error.
                for paren in _PARENS.findall(text):
                    if paren == "(":
                        self.depth += 1
                    elif self.depth == 0:
                        raise ZoneError("')' without '('", self.filename, line_no)
                    else:
                        self.depth -= 1
            else:
                self.depth += opens - closes
            words += text.replace("(", " ").replace(")", " ").split()
        elif _NOT_QUOTING.search(line) is None and self._quotes(line):
            pass  # words and quoted strings apart from them (a TXT record's)
        else:
            self._scan(line, line_no)
        if self.depth == 0 and words:
            return self.start_line, self.blank_owner, words, self.quoted
        return None

    def _quotes(self, line: str) -> bool:
        """:func:`_split_quoted` onto this entry's words."""
        return _split_quoted(line, self.words, self.quoted)

    def _scan(self, line: str, line_no: int) -> None:
        filename = self.filename
        words = self.words
        word_end = _WORD_END.search
        i = 0
        n = len(line)
        while i < n:
            c = line[i]
            if c == " " or c == "\t":
                i += 1
                continue
            if c == ";":
                break
            if c == "(":
                self.depth += 1
                i += 1
                continue
            if c == ")":
                if self.depth == 0:
                    raise ZoneError("')' without '('", filename, line_no)
                self.depth -= 1
                i += 1
                continue
            if c == '"':
                self.quoted.append(len(words))
                j = line.find('"', i + 1)
                if j >= 0 and "\\" not in line[i + 1 : j]:
                    words.append(line[i + 1 : j])
                    i = j + 1
                    continue
                i = _quoted(line, i, words, filename, line_no)
                continue
            m = word_end(line, i)
            j = m.start() if m is not None else n
            if j == n or line[j] in " \t;()":
                words.append(line[i:j])
                i = j
                continue
            i = _word(line, i, words, filename, line_no)

    def end(self) -> None:
        """At the end of the file: no parenthesis may be left open."""
        if self.depth:
            raise ZoneError("unbalanced '(' at end of file", self.filename, self.start_line)


def _split_quoted(line: str, words: list[str], quoted: list[int]) -> bool:
    """Split a line of words and quoted strings, each quoted string between blanks or at
    an end of the line, with no escape, comment or parenthesis: ``True``, its words added
    to ``words`` and the positions of the quoted ones to ``quoted``. ``False`` (nothing
    added) for any other line: :meth:`_Lexer._scan` reads it."""
    parts = line.split('"')
    size = len(parts)
    if not size & 1:  # a quote left open: _scan says so
        return False
    # Outside the quotes: blanks next to each quote (else a quoted part inside a word,
    # key="a b", which _scan reads).
    first, last = parts[0], parts[-1]
    if (first and first[-1] not in " \t") or (last and last[0] not in " \t"):
        return False
    for between in parts[2 : size - 1 : 2]:
        if not between or between[0] not in " \t" or between[-1] not in " \t":
            return False
    words += first.split()
    for i in range(1, size, 2):
        quoted.append(len(words))
        words.append(parts[i])
        words += parts[i + 1].split()
    return True


def _tokens(words: list[str], quoted: list[int] | None) -> list[Token]:
    """The words as tokens, those at the positions in ``quoted`` marked quoted."""
    if not quoted:
        return list(map(Token, words))
    at = set(quoted)
    return [Token(w, i in at) for i, w in enumerate(words)]


def _entries(lines: Iterable[str], filename: str) -> Iterator[tuple[int, bool, list[Token]]]:
    """Master-file lines (with or without their ends) as logical entries."""
    lexer = _Lexer(filename)
    for line_no, raw in enumerate(lines, 1):
        got = lexer.feed(raw.rstrip("\r\n"), line_no)
        if got is not None:
            start, blank_owner, words, quoted = got
            yield start, blank_owner, _tokens(words, quoted)
    lexer.end()


def _quoted(line: str, i: int, words: list[str], filename: str, line_no: int) -> int:
    """The quoted string at ``line[i]`` (with escapes) onto ``words``; where it ends."""
    n = len(line)
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
    words.append("".join(buf))
    return j + 1


def _word(line: str, i: int, words: list[str], filename: str, line_no: int) -> int:
    """The word at ``line[i]`` that holds an escape or a quoted part onto ``words``;
    where it ends."""
    n = len(line)
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
    words.append("".join(word))
    return j


def tokenize(text: str, filename: str = "<zone>") -> Iterator[Entry]:
    """Split master-file text into logical entries (parentheses joined, comments dropped)."""
    for line, blank_owner, tokens in _entries(_lines(text), filename):
        yield Entry(line, blank_owner, tokens)


# ---------------------------------------------------------------------------- values

_DIGITS = frozenset("0123456789")
_TTL_WORD = re.compile(r"[0-9][0-9wdhmsWDHMS]*+")
"""A word that is a TTL rather than a class or type (one possessive run: linear)."""


def _looks_like_ttl(text: str) -> bool:
    return _TTL_WORD.fullmatch(text) is not None


encode_rdata = rdtypes.from_text
"""The uncompressed wire rdata of one record given in presentation format (see
dns.rdtypes: one class per type); ``ValueError`` naming what is wrong."""


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
        self.files: list[str] = []
        self.keys = _Keys()
        self.sink: Zone | None = None
        """The zone being built: when set, :meth:`parse` puts its records into it (rows
        are yielded only for what directives make); until then it yields them all."""
        self._keyed_origin: Name | None = None
        self._origin_key: Key = ()
        self._origin_lower = True
        self._label_limit = 0
        self._name_room = 0
        """How many octets the labels before the origin may take on the wire."""
        self._origin_suffix = ""
        self.field_words: dict[str, _FieldWord | None] = {}
        """What each word seen before a record's type was: ``(0, ttl, None)`` (over
        :data:`MAX_TTL`: 0), ``(1, IN, None)``, ``(2, type, its word reader)`` for a type a
        zone can hold; None for anything else (read the general way, for its error)."""

    def parse(
        self, lines: Iterable[str], filename: str, depth: int = 0, stack: tuple[str, ...] = ()
    ) -> Iterator[_Row]:
        """The records of ``lines`` as they are read (a zone is built from them without a
        list of them all). A record whose TTL, class and type are words seen before takes
        a short way (those words and the owner name remembered, the RDATA of a line of
        plain words read from its words); directives, and records with something to say,
        go the general way, with the same checks.

        With a :attr:`sink`, a record goes into its node here: the owner's node found
        once for its run of records, an RRset made or added to in place (the general
        way, :meth:`Zone._add`, for all but the plain cases)."""
        field_words = self.field_words
        from_text = rdtypes.from_text
        owner_text: str | None = None
        owner_origin: Name | None = None
        owner: Name = ()
        key: Key = ()
        keys = self.keys
        origin = self.origin  # and default_ttl: changed by directives only (read again then)
        default_ttl = _clamped(self.default_ttl)
        last_ttl = self.last_ttl  # kept here, and in self for the general way and directives
        lexer = _Lexer(filename)
        not_plain = _NOT_PLAIN.search
        not_quoting = _NOT_QUOTING.search
        line_no = 0
        # The origin's part of owners made here, for the origin they were made for (by
        # _owner, when the origin changes).
        keyed: object = _NO_ORIGIN
        origin_key: Key = ()
        origin_lower = True
        label_limit = 0
        keyed_inside = False  # whether that origin is in the zone being built
        made_inside = False  # whether the owner was made that way (its node is in the zone)
        # Building: the node of the current owner, records counted here.
        sink = self.sink
        nodes: dict[Key, Node] = sink.nodes if sink is not None else {}
        node: Node | None = None
        node_key: Key | None = None
        located = _LOCATED_TYPES
        where = sink._where if sink is not None else {}
        rrsig = wire.TYPE_RRSIG
        count = 0
        try:
            for raw in lines:
                if sink is None and self.sink is not None:
                    # The apex is known now (set while this or an included file's records
                    # were yielded): build here, each owner's place decided against it.
                    sink, nodes, node_key, where = (
                        self.sink,
                        self.sink.nodes,
                        None,
                        self.sink._where,
                    )
                    keyed = _NO_ORIGIN
                line_no += 1
                quoted: list[int] | None  # None for a line of plain words
                # (A line's end, "\n", is not in _NOT_PLAIN and str.split drops it; "\r" is.)
                plain = not_plain(raw) is None
                if plain:
                    if lexer.depth:  # plain words inside parentheses: the entry goes on
                        lexer.words += raw.split()
                        continue
                    # A line of plain words, the common one: split in one call.
                    words = raw.split()
                    if not words:
                        continue
                    blank = raw[0] in " \t"
                    quoted = None
                    entry_line = line_no
                elif (
                    '"' in raw
                    and not lexer.depth
                    and "\r" not in raw
                    and not_quoting(raw) is None
                    and _split_quoted(raw.rstrip("\n"), words := [], quoted := [])
                ):
                    # Words and quoted strings (a TXT record's), split as the lexer splits
                    # them.
                    blank = raw[0] in " \t"
                    entry_line = line_no
                else:
                    # (Not plain, unless for a "\r" at its end: the lexer looks again then.)
                    got = lexer.feed(raw.rstrip("\r\n"), line_no, None if "\r" in raw else False)
                    if got is None:
                        continue
                    entry_line, blank, words, quoted = got
                try:
                    if blank:
                        if owner is not self.last_owner:
                            if self.last_owner is None:
                                raise ZoneError(
                                    "a record without an owner before any owner was given",
                                    filename,
                                    entry_line,
                                )
                            owner = self.last_owner
                            key = keys(owner)
                            owner_text = None
                            made_inside = False
                        pos = 0
                    else:
                        word = words[0]
                        if word != owner_text or origin is not owner_origin:
                            if word[:1] == "$" and not (quoted and quoted[0] == 0):
                                self.last_ttl = last_ttl
                                yield from self._entry(
                                    Entry(entry_line, blank, _tokens(words, quoted)),
                                    filename,
                                    depth,
                                    stack,
                                )
                                origin, default_ttl = self.origin, _clamped(self.default_ttl)
                                last_ttl = self.last_ttl
                                owner_text = None
                                continue
                            if (
                                origin is keyed
                                and word
                                and "." not in word
                                and "\\" not in word
                                and word != "@"
                                and len(label := word.encode("utf-8")) <= label_limit
                            ):
                                # One label under the origin (as _owner makes it).
                                low = label.lower()
                                key = (low, *origin_key)
                                owner = (
                                    key
                                    if origin_lower and low == label
                                    else (label, *(origin or ()))
                                )
                                made_inside = keyed_inside
                            else:
                                owner, key = self._owner(word, origin)
                                made_inside = False
                                if origin is self._keyed_origin and origin is not None:
                                    keyed, origin_key = origin, self._origin_key
                                    origin_lower = self._origin_lower
                                    label_limit = self._label_limit
                                    apex = sink.origin_key if sink is not None else None
                                    keyed_inside = (
                                        apex is not None
                                        and len(origin_key) >= len(apex)
                                        and origin_key[len(origin_key) - len(apex) :] == apex
                                    )
                            owner_text = word if word[:1] != "$" else None  # a quoted one
                            owner_origin = origin
                            self.last_owner = owner
                        pos = 1
                    # [ttl] [class] type, from words seen before (either order).
                    ttl = default_ttl if default_ttl is not None else last_ttl
                    seen = field_words.get(words[pos], _UNSEEN) if pos < len(words) else None
                    if seen is not None and seen[0] == 2 and ttl is not None:
                        _, rtype, read = seen  # the type alone, the common case
                        pos += 1
                    else:
                        ttl = read = None
                        in_class = False
                        while pos < len(words):
                            seen = field_words.get(words[pos], _UNSEEN)
                            if seen is _UNSEEN:
                                seen = self._field_word(words[pos])
                            if seen is None:
                                break
                            kind, value, reader = seen
                            pos += 1
                            if kind == 2:
                                rtype, read = value, reader
                                break
                            if kind == 0 and ttl is None:
                                ttl = value
                            elif kind == 1 and not in_class:
                                in_class = True
                            else:
                                break
                        if ttl is None:
                            ttl = default_ttl if default_ttl is not None else last_ttl
                        if read is None or ttl is None:
                            # Something to say (or an SOA's own TTL): the general way.
                            self.last_ttl = last_ttl
                            ttl, rtype, pos = self._fields(
                                list(map(Token, words)), 1 - blank, filename, entry_line
                            )
                    if quoted is not None and (
                        words[pos : pos + 1] == ["\\#"]
                        or (quoted and not rdtypes.for_type(rtype).words_alone)
                    ):
                        # RFC 3597's form, or quoted words of a type to which quotes
                        # matter: the general reader.
                        rdata = from_text(rtype, _tokens(words, quoted)[pos:], origin)
                    else:  # words alone say it all: read from them
                        if read is None:
                            read = rdtypes.for_type(rtype).word_reader()
                        rdata = read(words[pos:], origin)
                    if len(rdata) > 0xFFFF:
                        raise ZoneError(
                            f"rdata of {len(rdata)} bytes is over 65535", filename, entry_line
                        )
                    last_ttl = ttl
                    if sink is None:
                        yield (owner, key, rtype, ttl, rdata, filename, entry_line)
                        continue
                    if key is not node_key or node is None:  # a new owner (or one left out)
                        node_key = key
                        node = nodes.get(key)
                        if node is None:
                            if made_inside and nodes:  # (the first goes to _new_node)
                                node = nodes[key] = Node(owner)
                            else:
                                node = sink._new_node(owner, key, filename, entry_line)
                                if node is None:
                                    continue
                    # The plain cases here, as Zone._add does them: a new RRset (but an
                    # RRSIG's), one more record of the RRset just added to (within its TTL,
                    # without a set of its records); the rest by Zone._add.
                    sets = node.sets
                    if sets and (rrset := sets[-1]).rtype == rtype:
                        rdatas = rrset.rdatas
                        if rrset.ttl == ttl and rtype != rrsig and len(rdatas) < _DEDUP_LINEAR:
                            if rdata not in rdatas:
                                rdatas.append(rdata)
                                count += 1
                            continue
                    elif rtype != rrsig:
                        for rrset in sets:
                            if rrset.rtype == rtype:
                                break
                        else:
                            node.sets = (*sets, RRset(node.name, rtype, ttl, [rdata]))
                            count += 1
                            if rtype in located:
                                where[(key, rtype)] = (filename, entry_line)
                            continue
                    sink._add(node, key, rtype, ttl, rdata, filename, entry_line)
                except ZoneError:
                    raise
                except (ValueError, UnicodeError) as exc:
                    raise ZoneError(str(exc), filename, entry_line) from exc
        except UnicodeDecodeError as exc:  # from a file read as it is parsed
            raise ZoneError(f"not UTF-8 ({exc.reason})", filename, 0) from None
        self.last_ttl = last_ttl
        if sink is not None:
            sink._record_count += count
        lexer.end()

    def _field_word(self, word: str) -> _FieldWord | None:
        """What ``word`` is before a record's type (see :attr:`field_words`), remembered
        for the next time (up to 4096 words: TTLs, classes and types are few)."""
        seen: _FieldWord | None = None
        try:
            if _looks_like_ttl(word):
                seen = (0, _clamped(parse_ttl(word)) or 0, None)
            elif _is_class(word):
                if wire.class_from_text(word) == wire.CLASS_IN:
                    seen = (1, wire.CLASS_IN, None)
            else:
                rtype = wire.type_from_text(word)
                if rtype not in _NOT_ZONE_TYPES:
                    seen = (2, rtype, rdtypes.for_type(rtype).word_reader())
        except ValueError:
            pass
        if len(self.field_words) < 4096:
            self.field_words[word] = seen
        return seen

    def _name(self, text: str) -> Name:
        return wire.name_from_text(text, self.origin)

    def _owner(self, text: str, origin: Name | None) -> tuple[Name, Key]:
        """The owner name ``text`` and its key. A name under the origin without escapes,
        the common owner, relative (``www``) or absolute as a signer writes it
        (``www.example.``), is made here (its lengths checked as wire.name_from_text checks
        them); any other name by wire.name_from_text."""
        if origin is not None:
            if origin is not self._keyed_origin:
                self._keyed_origin = origin
                self._origin_key = self.keys(origin)
                self._origin_lower = origin == self._origin_key
                # The longest label that fits: 63 octets, and 255 with the origin's.
                size = sum(map(len, origin)) + len(origin) + 1
                self._label_limit = min(wire.MAX_LABEL, wire.MAX_NAME - 1 - size)
                self._name_room = wire.MAX_NAME - size
                self._origin_suffix = "." + wire.name_to_text(origin) if origin else ""
            head = text
            if text.endswith(self._origin_suffix) and self._origin_suffix:
                head = text[: len(text) - len(self._origin_suffix)]
            if head and "\\" not in head and head != "@":
                if "." not in head:
                    label = head.encode("utf-8")
                    if len(label) <= self._label_limit:
                        low = label.lower()
                        key = (low, *self._origin_key)
                        if self._origin_lower and low == label:
                            return key, key
                        return (label, *origin), key
                elif head[0] != "." and head[-1] != "." and ".." not in head:
                    data = head.encode("utf-8")
                    labels = data.split(b".")
                    if max(map(len, labels)) <= wire.MAX_LABEL and len(data) + 1 <= self._name_room:
                        # The key: the labels before the origin lowercased, the origin's key.
                        low = data.lower()
                        heads = self.keys.interned(labels if low == data else low.split(b"."))
                        key = (*heads, *self._origin_key)
                        if self._origin_lower and low == data:
                            return key, key
                        return (*labels, *origin), key
        name = wire.name_from_text(text, origin)
        return name, self.keys(name)

    def _entry(
        self, entry: Entry, filename: str, depth: int, stack: tuple[str, ...]
    ) -> Iterator[_Row]:
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
                yield from self._include(tokens, filename, entry.line, depth, stack)
                return
            if directive == "$GENERATE":
                yield from self._generate(tokens, filename, entry.line)
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
        yield (owner, self.keys(owner), rtype, ttl, rdata, filename, entry.line)

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
            if ttl is None and _looks_like_ttl(word):
                ttl = parse_ttl(word)
            elif rclass is None and _is_class(word):
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

    def _generate(self, tokens: list[Token], filename: str, line: int) -> Iterator[_Row]:
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
            yield (owner, self.keys(owner), rtype, ttl, rdata, filename, line)

    def _include(
        self, tokens: list[Token], filename: str, line: int, depth: int, stack: tuple[str, ...]
    ) -> Iterator[_Row]:
        if len(tokens) not in (2, 3):
            raise ZoneError("$INCLUDE takes a file name and an optional origin", filename, line)
        if depth >= MAX_INCLUDE_DEPTH:
            raise ZoneError(f"$INCLUDE nested over {MAX_INCLUDE_DEPTH} deep", filename, line)
        base = os.path.dirname(filename) if not filename.startswith("<") else "."
        path = os.path.normpath(os.path.join(base, tokens[1].text))
        if os.path.abspath(path) in stack:
            raise ZoneError(f"$INCLUDE loop through {path}", filename, line)
        try:
            # Opened apart from the reading, whose errors are the parser's to report.
            f = open(path, encoding="utf-8", newline="\n")  # noqa: SIM115
        except OSError as exc:
            raise ZoneError(f"$INCLUDE {tokens[1].text}: {exc.strerror}", filename, line)
        saved_origin, saved_owner = self.origin, self.last_owner
        if len(tokens) == 3:
            self.origin = self._name(tokens[2].text)
        self.files.append(path)
        with f:
            yield from self.parse(f, path, depth + 1, (*stack, os.path.abspath(path)))
        # RFC 1035 §5.1: the origin (and owner) revert after the included file.
        self.origin, self.last_owner = saved_origin, saved_owner


_Reader = Callable[[Sequence[str], Name | None], bytes]
_FieldWord = tuple[int, int, _Reader | None]
_UNSEEN: _FieldWord = (-1, -1, None)
"""Not in :attr:`_Parser.field_words` yet."""
_NO_ORIGIN = object()
"""No origin yet (for the owners :meth:`_Parser.parse` makes itself)."""


def _clamped(ttl: int | None) -> int | None:
    """A TTL over :data:`MAX_TTL` is 0 (RFC 2181 §8)."""
    return 0 if ttl is not None and ttl > MAX_TTL else ttl


def _is_class(word: str) -> bool:
    upper = word.upper()
    return upper in wire.CLASS_VALUES or (upper.startswith("CLASS") and upper[5:6] in _DIGITS)


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
    return _parse(_lines(text), origin, filename, default_ttl)


def _parse(
    lines: Iterable[str], origin: str | Name | None, filename: str, default_ttl: int | None
) -> Zone:
    start = _origin_of(origin)
    parser = _Parser(start, default_ttl)
    parser.files.append(filename)
    rows: Iterable[_Row] = parser.parse(lines, filename, 0, (os.path.abspath(filename),))
    source = filename if not filename.startswith("<") else None
    with _collector_off():
        apex = start
        head: list[_Row] = []
        if apex is None:
            # The apex is the owner of the first SOA: read up to it, then go on from there.
            for row in rows:
                head.append(row)
                if row[2] == wire.TYPE_SOA:
                    apex = row[0]
                    break
            if apex is None:
                raise ZoneError("no SOA record, and no origin given", filename, 0)
        zone = parser.sink = Zone._building(apex, parser.files, source)
        # The parser builds the zone from here on; rows are what directives make.
        zone._build(itertools.chain(head, rows) if head else rows)
        zone._finish()
    return zone


def load_zone_file(path: str, origin: str | Name | None = None) -> Zone:
    """Read, parse and validate the master file at ``path`` (see :func:`parse_zone_text`).
    The file is read as it is parsed: its text is never all in memory at once."""
    try:
        f = open(path, encoding="utf-8", newline="\n")  # noqa: SIM115 (as in _include)
    except OSError as exc:
        raise ZoneError(exc.strerror or str(exc), path, 0)
    with f:
        zone = _parse(f, origin, path, None)
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
