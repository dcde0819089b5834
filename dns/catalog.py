"""Catalog zones (RFC 9432, schema version 2): a zone listing the zones served, so that
secondaries configured as catalog consumers (Knot's ``catalog-role: interpret``) add and
remove member zones by themselves.

The catalog at ``catalog.invalid.`` of members ``a.test.`` and ``b.test.``::

    catalog.invalid.                         0 SOA invalid. invalid. SERIAL 3600 600 2147483646 0
    catalog.invalid.                         0 NS  invalid.
    version.catalog.invalid.                 0 TXT "2"
    9c1185a5c5e9fc54.zones.catalog.invalid.  0 PTR a.test.
    ...

Each member's label (RFC 9432 §4.1) is the first 16 hex digits of the SHA-256 of its
lowercased wire name, so it stays the same across restarts and reloads. The serial changes
only when the members do: the time in seconds, or one more than before when that is not
newer (RFC 1982).
"""

from __future__ import annotations

import hashlib
import struct
import time
from collections.abc import Callable, Iterable

from . import wire
from .wire import Name
from .zone import Record, Zone, key_of, serial_gt

VERSION = b"2"
_INVALID = wire.encode_name((b"invalid",))


def member_label(member: Name) -> bytes:
    """The unique label of ``member`` in the catalog (stable: a hash of its name)."""
    return hashlib.sha256(wire.name_key(member)).hexdigest()[:16].encode()


def members(catalog: Zone) -> set[tuple[bytes, ...]]:
    """The (lowercased) names listed as members of ``catalog``."""
    zones_key = (b"zones", *catalog.origin_key)
    out = set()
    for k, node in catalog.nodes.items():
        if k[1:] == zones_key and wire.TYPE_PTR in node.rrsets:
            out.add(key_of(wire.wire_to_name(node.rrsets[wire.TYPE_PTR].rdatas[0])))
    return out


def catalog_zone(
    name: Name,
    zones: Iterable[Name],
    previous: Zone | None = None,
    *,
    clock: Callable[[], float] = time.time,
) -> Zone:
    """The catalog zone ``name`` listing ``zones``; ``previous`` (the catalog in service)
    is returned as it is when the members are the same, else the serial moves past its."""
    listed = {key_of(z): z for z in zones if key_of(z) != key_of(name)}
    if previous is not None and members(previous) == set(listed):
        return previous
    serial = int(clock()) & 0xFFFFFFFF
    if previous is not None and not serial_gt(serial, previous.serial):
        serial = (previous.serial + 1) & 0xFFFFFFFF
    soa = _INVALID * 2 + struct.pack("!5I", serial, 3600, 600, 2147483646, 0)
    records = [
        Record(name, wire.TYPE_SOA, 0, soa, "<catalog>", 0),
        Record(name, wire.TYPE_NS, 0, _INVALID, "<catalog>", 0),
        Record((b"version", *name), wire.TYPE_TXT, 0, bytes([len(VERSION)]) + VERSION, "", 0),
    ]
    for key in sorted(listed):
        member = listed[key]
        owner = (member_label(member), b"zones", *name)
        records.append(Record(owner, wire.TYPE_PTR, 0, wire.encode_name(member), "", 0))
    return Zone(name, records, [], None)


__all__ = ["VERSION", "catalog_zone", "member_label", "members"]
