"""Zone differences and their durable journal: what IXFR (RFC 1995) is answered from.

A :class:`Diff` takes a zone from one SOA to the next: the records removed and the records
added (RFC 1995 §4's layout). Differences come from reloads (:func:`diff_zones` of the old
and the new zone) and from dynamic updates (:mod:`dns.update`), and :func:`apply_diff`
turns a zone into the next version.

A :class:`Journal` keeps them in a file, append-only, one entry per difference::

    "MPJ1"  u32 length  u32 CRC-32 of the payload  payload

and :meth:`Journal.append` returns only once the entry is on disk (``fsync``): an UPDATE is
acknowledged after that. Reading the file back (:meth:`Journal.open`) stops at the first
entry that is short or whose checksum fails (a write torn by a crash) and cuts the file
there, so a crash can lose only what was never acknowledged and never leaves half an entry
to read. When the file passes ``max_bytes`` the oldest half of the entries is dropped (the
file rewritten beside and renamed over, atomically).

This module talks to :class:`dns.zone.Zone` only through :func:`zone_records` and
:func:`build_zone`.
"""

from __future__ import annotations

import itertools
import logging
import os
import struct
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from . import wire
from .wire import Name
from .zone import Record, Zone, key_of, serial_lt

log = logging.getLogger("dns.journal")

MAGIC = b"MPJ1"
MAX_ENTRY = 64 * 1024 * 1024
"""The largest entry read back; a longer length field is a torn or foreign file."""
MAX_BYTES = 64 * 1024 * 1024
"""Default bound on a journal file before its oldest half is dropped."""

_ENTRY = struct.Struct("!4sII")
_COUNTS = struct.Struct("!II")
_RR = struct.Struct("!HIH")

Rec = tuple[Name, int, int, bytes]
"""One record: ``(owner, type, ttl, rdata)``, the rdata uncompressed."""


# ---------------------------------------------------------------------------- the zone interface


def zone_records(zone: Zone) -> Iterator[Rec]:
    """Every record of ``zone``, the SOA first."""
    for rrset in zone.rrsets():
        for rdata in rrset.rdatas:
            yield rrset.name, rrset.rtype, rrset.ttl, rdata


def build_zone(template: Zone, records: Iterable[Rec]) -> Zone:
    """A zone with ``template``'s origin and files holding ``records`` (validated as a zone
    file is: :class:`dns.zone.ZoneError` for a zone that breaks the rules)."""
    where = template.source or "<update>"
    return Zone(
        template.origin,
        [Record(name, rtype, ttl, rdata, where, 0) for name, rtype, ttl, rdata in records],
        template.files,
        template.source,
    )


def soa_serial(rdata: bytes) -> int:
    """The serial of an SOA rdata (uncompressed)."""
    value: int = struct.unpack_from("!I", rdata, len(rdata) - 20)[0]
    return value


# ---------------------------------------------------------------------------- differences


@dataclass(frozen=True, slots=True)
class Diff:
    """From the zone with ``old_soa`` to the zone with ``new_soa``: ``removed`` then
    ``added`` (neither holds the SOA itself)."""

    old_soa: Rec
    new_soa: Rec
    removed: tuple[Rec, ...]
    added: tuple[Rec, ...]

    @property
    def old_serial(self) -> int:
        """The serial this difference starts from."""
        return soa_serial(self.old_soa[3])

    @property
    def new_serial(self) -> int:
        """The serial it leads to."""
        return soa_serial(self.new_soa[3])

    def to_bytes(self) -> bytes:
        """The journal payload."""
        parts = [_COUNTS.pack(len(self.removed) + 1, len(self.added) + 1)]
        for rec in (self.old_soa, *self.removed, self.new_soa, *self.added):
            name, rtype, ttl, rdata = rec
            parts.append(wire.encode_name(name) + _RR.pack(rtype, ttl, len(rdata)) + rdata)
        return b"".join(parts)

    @classmethod
    def from_bytes(cls, data: bytes) -> Diff:
        """Parse a payload made by :meth:`to_bytes` (:class:`ValueError` if it is not one)."""
        try:
            n_removed, n_added = _COUNTS.unpack_from(data, 0)
            pos = _COUNTS.size
            recs: list[Rec] = []
            for _ in range(n_removed + n_added):
                name, pos = wire.decode_name(data, pos, min_pointer_offset=len(data))
                rtype, ttl, length = _RR.unpack_from(data, pos)
                pos += _RR.size
                if pos + length > len(data):
                    raise ValueError("record overruns the entry")
                recs.append((name, rtype, ttl, data[pos : pos + length]))
                pos += length
        except (struct.error, wire.WireError) as exc:
            raise ValueError(f"bad journal entry: {exc}") from None
        if pos != len(data) or n_removed < 1 or n_added < 1:
            raise ValueError("bad journal entry: wrong length or counts")
        removed, added = recs[:n_removed], recs[n_removed:]
        if removed[0][1] != wire.TYPE_SOA or added[0][1] != wire.TYPE_SOA:
            raise ValueError("bad journal entry: no SOA where one belongs")
        return cls(removed[0], added[0], tuple(removed[1:]), tuple(added[1:]))


def _identity(rec: Rec) -> tuple[tuple[bytes, ...], int, bytes]:
    """What makes two records the same record (the TTL aside: RFC 2136 §1.1.1)."""
    return key_of(rec[0]), rec[1], rec[3]


def diff_zones(old: Zone, new: Zone) -> Diff:
    """The difference taking ``old`` to ``new`` (a record whose TTL changed is removed
    and added again)."""
    before = {(*_identity(r), r[2]): r for r in zone_records(old) if r[1] != wire.TYPE_SOA}
    after = {(*_identity(r), r[2]): r for r in zone_records(new) if r[1] != wire.TYPE_SOA}
    removed = tuple(r for k, r in before.items() if k not in after)
    added = tuple(r for k, r in after.items() if k not in before)
    return Diff(_soa(old), _soa(new), removed, added)


def _soa(zone: Zone) -> Rec:
    return zone.origin, wire.TYPE_SOA, zone.soa.ttl, zone.soa.rdatas[0]


def apply_diff(zone: Zone, diff: Diff) -> Zone:
    """``zone`` with ``diff`` applied; :class:`ValueError` when ``diff`` does not start from
    its serial."""
    if diff.old_serial != zone.serial:
        raise ValueError(
            f"the difference starts at serial {diff.old_serial}, the zone is at {zone.serial}"
        )
    records = {_identity(r): r for r in zone_records(zone) if r[1] != wire.TYPE_SOA}
    for rec in diff.removed:
        records.pop(_identity(rec), None)
    for rec in diff.added:
        records[_identity(rec)] = rec
    return build_zone(zone, [diff.new_soa, *records.values()])


# ---------------------------------------------------------------------------- the journal


class Journal:
    """The differences of one zone, newest last; in the file at ``path`` (``None``: kept in
    memory only, for zones not read from a file)."""

    def __init__(self, path: str | None, *, max_bytes: int = MAX_BYTES) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.diffs: list[Diff] = []
        self._size = 0

    @classmethod
    def open(cls, path: str | None, *, max_bytes: int = MAX_BYTES) -> Journal:
        """Read the journal at ``path`` (a missing file is an empty journal); a torn tail is
        cut off. :class:`OSError` when the file cannot be read."""
        journal = cls(path, max_bytes=max_bytes)
        if path is None or not os.path.exists(path):
            return journal
        with open(path, "rb") as f:
            data = f.read()
        pos = 0
        while pos < len(data):
            entry = _read_entry(data, pos)
            if entry is None:
                log.warning(
                    "%s: %d bytes at offset %d are not a whole entry (a write cut short): dropped",
                    path,
                    len(data) - pos,
                    pos,
                )
                with open(path, "r+b") as f:
                    f.truncate(pos)
                    f.flush()
                    os.fsync(f.fileno())
                break
            diff, pos = entry
            journal.diffs.append(diff)
        journal._size = pos
        return journal

    @property
    def last_serial(self) -> int | None:
        """The serial the newest difference leads to."""
        return self.diffs[-1].new_serial if self.diffs else None

    def append(self, diff: Diff) -> None:
        """Add ``diff``; on disk (written and fsynced) when this returns. On ``OSError``
        the journal is as it was."""
        if self.path is None:
            self.diffs.append(diff)
            return
        entry = _entry(diff)
        if self._size + len(entry) > self.max_bytes and self.diffs:
            self._rewrite([*self.diffs[len(self.diffs) // 2 :], diff])
            return
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(fd, entry)
            os.fsync(fd)
        finally:
            os.close(fd)
        self.diffs.append(diff)
        self._size += len(entry)

    def _rewrite(self, diffs: list[Diff]) -> None:
        """Replace the file with ``diffs`` (the oldest half dropped): written beside,
        fsynced, renamed over."""
        assert self.path is not None
        data = b"".join(_entry(d) for d in diffs)
        tmp = self.path + ".new"
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
        _fsync_dir(self.path)
        self.diffs = diffs
        self._size = len(data)

    def chain(self, serial: int, current: int) -> list[Diff] | None:
        """The differences from ``serial`` to ``current``, in order; ``None`` when the
        journal does not reach back that far (or has a gap)."""
        for start in range(len(self.diffs) - 1, -1, -1):
            if self.diffs[start].old_serial == serial:
                break
        else:
            return None
        out = self.diffs[start:]
        for a, b in itertools.pairwise(out):
            if a.new_serial != b.old_serial:
                return None
        if out[-1].new_serial != current:
            return None
        return out

    def replay(self, zone: Zone) -> Zone:
        """``zone`` brought up to date with the differences that follow its serial (those
        recorded after its file was written: updates)."""
        last = self.last_serial
        if last is None or not serial_lt(zone.serial, last):
            return zone
        diffs = self.chain(zone.serial, last)
        if diffs is None:
            return zone
        for diff in diffs:
            zone = apply_diff(zone, diff)
        log.info(
            "%s: replayed %d change(s) from the journal, serial now %d",
            wire.name_to_text(zone.origin),
            len(diffs),
            zone.serial,
        )
        return zone


def _entry(diff: Diff) -> bytes:
    payload = diff.to_bytes()
    return _ENTRY.pack(MAGIC, len(payload), zlib.crc32(payload)) + payload


def _read_entry(data: bytes, pos: int) -> tuple[Diff, int] | None:
    if pos + _ENTRY.size > len(data):
        return None
    magic, length, crc = _ENTRY.unpack_from(data, pos)
    start = pos + _ENTRY.size
    if magic != MAGIC or length > MAX_ENTRY or start + length > len(data):
        return None
    payload = data[start : start + length]
    if zlib.crc32(payload) != crc:
        return None
    try:
        return Diff.from_bytes(payload), start + length
    except ValueError:
        return None


def _fsync_dir(path: str) -> None:
    fd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def ixfr_records(current: Zone, diffs: Sequence[Diff]) -> Iterator[Rec]:
    """The answer records of an incremental transfer (RFC 1995 §4): the newest SOA, then
    for each difference the old SOA, what it removes, the new SOA, what it adds; the newest
    SOA again."""
    newest = _soa(current)
    yield newest
    for diff in diffs:
        yield diff.old_soa
        yield from diff.removed
        yield diff.new_soa
        yield from diff.added
    yield newest


__all__ = [
    "MAX_BYTES",
    "Diff",
    "Journal",
    "Rec",
    "apply_diff",
    "build_zone",
    "diff_zones",
    "ixfr_records",
    "zone_records",
]
