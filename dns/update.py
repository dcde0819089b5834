"""Dynamic UPDATE (RFC 2136), sans-IO: check a request's prerequisites against a zone and
apply its update section, giving the new zone and the difference for the journal.

::

    request = parse_update(data)             # UpdateError(FORMERR) for a malformed one
    outcome = apply_update(zone, request)    # UpdateError(NXRRSET, YXDOMAIN, ...) when refused
    if outcome is not None:                  # None: nothing changed
        new_zone, diff = outcome

The rules, each from its section of RFC 2136: the zone section names one zone, type SOA
(§3.1.1); prerequisites (§2.4, checked in §3.2) of five kinds: RRset exists (value
independent: class ANY) or exists with exactly these records (class IN), RRset does not
exist (class NONE), name is in use (ANY ANY) or not (NONE ANY); the update section is
prescanned whole before anything changes (§3.4.1), then applied in order (§3.4.2): add to an
RRset (class IN; a CNAME never beside other data; an SOA only at the apex and only with a
newer serial), delete an RRset (ANY T), delete all RRsets at a name (ANY ANY), delete one
record (NONE); at the apex the SOA is never deleted and neither is the last NS. When
anything changed and the update did not raise the serial itself, it goes up by one
(RFC 1982 arithmetic, §3.6).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from . import wire
from .journal import Diff, Rec, build_zone, diff_zones, soa_serial, zone_records
from .wire import Name
from .zone import Zone, ZoneError, key_of, serial_gt

_META = frozenset(
    {wire.TYPE_ANY, wire.TYPE_AXFR, wire.TYPE_IXFR, wire.TYPE_MAILA, wire.TYPE_MAILB}
) | frozenset({wire.TYPE_OPT, wire.TYPE_TSIG, wire.TYPE_TKEY})


class UpdateError(Exception):
    """An UPDATE answered with ``rcode`` (FORMERR, NOTZONE, NXRRSET, ...): ``str`` says why."""

    def __init__(self, rcode: int, reason: str) -> None:
        super().__init__(reason)
        self.rcode = rcode


@dataclass(frozen=True, slots=True)
class UpdateRR:
    """A record of the prerequisite or update section; ``rdata`` with its names expanded."""

    name: Name
    rtype: int
    rclass: int
    ttl: int
    rdata: bytes


@dataclass(frozen=True, slots=True)
class UpdateRequest:
    """A parsed UPDATE: ``zone`` (the zone section's name), the ``prerequisites`` and the
    ``updates``; ``zone_question``: the zone section as sent, to echo in the reply."""

    id: int
    flags: int
    zone: Name
    zone_class: int
    prerequisites: tuple[UpdateRR, ...]
    updates: tuple[UpdateRR, ...]
    zone_question: bytes


def _expanded(rr: wire.RR) -> bytes:
    """The rdata with any compressed names written out (RFC 3597 §4: only RFC 1035's
    types may compress), so records compare as the zone stores them."""
    if rr.rtype not in wire.COMPRESSIBLE_RDATA_TYPES or rr.rdata_length == 0:
        return rr.rdata
    msg, pos, end = rr.message, rr.rdata_offset, rr.end
    parts: list[bytes] = []
    if rr.rtype == wire.TYPE_MX:
        parts.append(msg[pos : pos + 2])
        pos += 2
    names = 2 if rr.rtype in (wire.TYPE_SOA, wire.TYPE_MINFO) else 1
    for _ in range(names):
        name, pos = wire.decode_name(msg, pos)
        parts.append(wire.encode_name(name))
    if rr.rtype == wire.TYPE_SOA:
        parts.append(msg[pos : pos + 20])
        pos += 20
    if pos != end:
        raise UpdateError(wire.RCODE_FORMERR, f"{wire.type_to_text(rr.rtype)} rdata malformed")
    return b"".join(parts)


def parse_update(data: bytes) -> UpdateRequest:
    """Parse an UPDATE message (its TSIG, if any, already removed); :class:`UpdateError`
    with FORMERR for one that is malformed (§3.1.1, §3.4.1.2)."""
    try:
        msg = wire.Message.parse(data)
    except wire.WireError as exc:
        raise UpdateError(wire.RCODE_FORMERR, str(exc)) from None
    if len(msg.question) != 1 or msg.question[0].qtype != wire.TYPE_SOA:
        raise UpdateError(wire.RCODE_FORMERR, "the zone section is not one record of type SOA")
    zone = msg.question[0]
    qend = wire.HEADER_SIZE + len(wire.encode_name(zone.name)) + 4
    try:
        prereqs = tuple(
            UpdateRR(rr.name, rr.rtype, rr.rclass, rr.ttl, _expanded(rr)) for rr in msg.answer
        )
        updates = tuple(
            UpdateRR(rr.name, rr.rtype, rr.rclass, rr.ttl, _expanded(rr)) for rr in msg.authority
        )
    except wire.WireError as exc:
        raise UpdateError(wire.RCODE_FORMERR, str(exc)) from None
    return UpdateRequest(
        msg.id, msg.flags, zone.name, zone.qclass, prereqs, updates, data[wire.HEADER_SIZE : qend]
    )


def reply(request: UpdateRequest, rcode: int) -> bytes:
    """The response: the request's ID and zone section, QR, opcode UPDATE, ``rcode``."""
    flags = wire.QR | (wire.OPCODE_UPDATE << wire.OPCODE_SHIFT) | (rcode & 0xF)
    return wire.pack_header(request.id, flags, 1) + request.zone_question


# ---------------------------------------------------------------------------- applying

_Key = tuple[tuple[bytes, ...], int]


class _Records:
    """A zone's records as RRsets keyed by (name key, type), for checking and changing."""

    def __init__(self, zone: Zone) -> None:
        self.sets: dict[_Key, tuple[Name, int, list[bytes]]] = {}
        for name, rtype, ttl, rdata in zone_records(zone):
            entry = self.sets.setdefault((key_of(name), rtype), (name, ttl, []))
            entry[2].append(rdata)

    def types_at(self, k: tuple[bytes, ...]) -> list[int]:
        return [t for (name_key, t), v in self.sets.items() if name_key == k and v[2]]

    def rdatas(self, k: tuple[bytes, ...], rtype: int) -> list[bytes]:
        entry = self.sets.get((k, rtype))
        return entry[2] if entry is not None else []

    def records(self) -> list[Rec]:
        return [(n, t, ttl, rd) for (_, t), (n, ttl, rds) in self.sets.items() for rd in rds]


def _rd_key(rtype: int, rdata: bytes) -> bytes:
    """Records compare by rdata, names in them case-insensitively (RFC 4034 §6.2's types)."""
    if rtype in wire.COMPRESSIBLE_RDATA_TYPES:
        return rdata.lower()
    return rdata


def _check_prerequisites(zone: Zone, records: _Records, request: UpdateRequest) -> None:
    exact: dict[_Key, tuple[Name, set[bytes]]] = {}
    for rr in request.prerequisites:
        what = f"prerequisite {wire.name_to_text(rr.name)} {wire.type_to_text(rr.rtype)}"
        if rr.ttl != 0:
            raise UpdateError(wire.RCODE_FORMERR, f"{what}: TTL not 0")
        if not wire.is_subdomain(rr.name, zone.origin):
            raise UpdateError(wire.RCODE_NOTZONE, f"{what}: outside the zone")
        k = key_of(rr.name)
        if rr.rclass in (wire.CLASS_ANY, wire.CLASS_NONE):
            if rr.rdata:
                raise UpdateError(wire.RCODE_FORMERR, f"{what}: rdata not empty")
            present = (
                bool(records.types_at(k))
                if rr.rtype == wire.TYPE_ANY
                else bool(records.rdatas(k, rr.rtype))
            )
            if rr.rclass == wire.CLASS_ANY and not present:
                code = wire.RCODE_NXDOMAIN if rr.rtype == wire.TYPE_ANY else wire.RCODE_NXRRSET
                raise UpdateError(code, f"{what}: not present")
            if rr.rclass == wire.CLASS_NONE and present:
                code = wire.RCODE_YXDOMAIN if rr.rtype == wire.TYPE_ANY else wire.RCODE_YXRRSET
                raise UpdateError(code, f"{what}: present")
        elif rr.rclass == request.zone_class:
            if rr.rtype in _META:
                raise UpdateError(wire.RCODE_FORMERR, f"{what}: a meta type")
            exact.setdefault((k, rr.rtype), (rr.name, set()))[1].add(_rd_key(rr.rtype, rr.rdata))
        else:
            raise UpdateError(wire.RCODE_FORMERR, f"{what}: class {rr.rclass}")
    for (k, rtype), (name, wanted) in exact.items():
        have = {_rd_key(rtype, rd) for rd in records.rdatas(k, rtype)}
        if have != wanted:
            raise UpdateError(
                wire.RCODE_NXRRSET,
                f"prerequisite {wire.name_to_text(name)} {wire.type_to_text(rtype)}: "
                "the RRset differs",
            )


def _prescan(zone: Zone, request: UpdateRequest) -> None:
    for rr in request.updates:
        what = f"update {wire.name_to_text(rr.name)} {wire.type_to_text(rr.rtype)}"
        if not wire.is_subdomain(rr.name, zone.origin):
            raise UpdateError(wire.RCODE_NOTZONE, f"{what}: outside the zone")
        if rr.rclass == request.zone_class:
            if rr.rtype in _META:
                raise UpdateError(wire.RCODE_FORMERR, f"{what}: a meta type")
        elif rr.rclass == wire.CLASS_ANY:
            if rr.ttl != 0 or rr.rdata or (rr.rtype in _META and rr.rtype != wire.TYPE_ANY):
                raise UpdateError(wire.RCODE_FORMERR, f"{what}: a malformed delete")
        elif rr.rclass == wire.CLASS_NONE:
            if rr.ttl != 0 or rr.rtype in _META:
                raise UpdateError(wire.RCODE_FORMERR, f"{what}: a malformed delete")
        else:
            raise UpdateError(wire.RCODE_FORMERR, f"{what}: class {rr.rclass}")


def _apply(zone: Zone, records: _Records, request: UpdateRequest) -> bool:
    """Apply the update section to ``records``; whether the SOA was replaced by it."""
    apex = zone.origin_key
    soa_set = False
    for rr in request.updates:
        k = key_of(rr.name)
        at_apex = k == apex
        if rr.rclass == request.zone_class:
            types = records.types_at(k)
            if rr.rtype == wire.TYPE_SOA:
                old = records.rdatas(k, wire.TYPE_SOA)
                if at_apex and old and serial_gt(soa_serial(rr.rdata), soa_serial(old[0])):
                    records.sets[(k, wire.TYPE_SOA)] = (rr.name, rr.ttl, [rr.rdata])
                    soa_set = True
                continue
            if rr.rtype == wire.TYPE_CNAME and any(t != wire.TYPE_CNAME for t in types):
                continue  # §3.4.2.2: not beside other data
            if rr.rtype != wire.TYPE_CNAME and wire.TYPE_CNAME in types:
                continue
            entry = records.sets.get((k, rr.rtype))
            if entry is None or not entry[2]:
                records.sets[(k, rr.rtype)] = (rr.name, rr.ttl, [rr.rdata])
            elif rr.rtype == wire.TYPE_CNAME:
                records.sets[(k, rr.rtype)] = (entry[0], rr.ttl, [rr.rdata])
            else:
                rds = entry[2]
                key = _rd_key(rr.rtype, rr.rdata)
                if all(_rd_key(rr.rtype, rd) != key for rd in rds):
                    rds.append(rr.rdata)
                records.sets[(k, rr.rtype)] = (entry[0], rr.ttl, rds)  # one TTL per RRset
        elif rr.rclass == wire.CLASS_ANY:
            if rr.rtype == wire.TYPE_ANY:
                for t in records.types_at(k):
                    if not (at_apex and t in (wire.TYPE_SOA, wire.TYPE_NS)):
                        del records.sets[(k, t)]
            elif not (at_apex and rr.rtype in (wire.TYPE_SOA, wire.TYPE_NS)):
                records.sets.pop((k, rr.rtype), None)
        else:  # CLASS NONE: one record
            if rr.rtype == wire.TYPE_SOA:
                continue
            entry = records.sets.get((k, rr.rtype))
            if entry is None:
                continue
            key = _rd_key(rr.rtype, rr.rdata)
            kept = [rd for rd in entry[2] if _rd_key(rr.rtype, rd) != key]
            if at_apex and rr.rtype == wire.TYPE_NS and not kept:
                continue  # never the last NS at the apex
            if kept:
                records.sets[(k, rr.rtype)] = (entry[0], entry[1], kept)
            else:
                del records.sets[(k, rr.rtype)]
    return soa_set


def apply_update(zone: Zone, request: UpdateRequest) -> tuple[Zone, Diff] | None:
    """Check and apply ``request`` to ``zone``: the new zone and the difference, or ``None``
    when the update changes nothing. :class:`UpdateError` when it is refused (nothing is
    changed then)."""
    if key_of(request.zone) != zone.origin_key or request.zone_class != wire.CLASS_IN:
        raise UpdateError(wire.RCODE_NOTAUTH, "not a zone served here")
    records = _Records(zone)
    _check_prerequisites(zone, records, request)
    _prescan(zone, request)
    before = {(*_ident(r),) for r in records.records()}
    soa_set = _apply(zone, records, request)
    after_records = records.records()
    if {(*_ident(r),) for r in after_records} == before:
        return None
    if not soa_set:
        k = (zone.origin_key, wire.TYPE_SOA)
        name, ttl, [soa] = records.sets[k]
        serial = (soa_serial(soa) + 1) & 0xFFFFFFFF
        bumped = soa[:-20] + struct.pack("!I", serial) + soa[-16:]
        records.sets[k] = (name, ttl, [bumped])
        after_records = records.records()
    try:
        new_zone = build_zone(zone, after_records)
    except ZoneError as exc:
        raise UpdateError(wire.RCODE_REFUSED, f"the zone would be broken: {exc}") from None
    return new_zone, diff_zones(zone, new_zone)


def _ident(rec: Rec) -> tuple[tuple[bytes, ...], int, int, bytes]:
    return key_of(rec[0]), rec[1], rec[2], _rd_key(rec[1], rec[3])


__all__ = ["UpdateError", "UpdateRR", "UpdateRequest", "apply_update", "parse_update", "reply"]
