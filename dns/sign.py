"""Online DNSSEC signing, as Knot signs: an unsigned zone and its keys in, a signed zone out.

:meth:`Signer.sign` takes a :class:`dns.zone.Zone` and returns a new one holding, besides
the zone's own data:

- the DNSKEY RRset at the apex (the keys given; a DNSKEY in the zone file is replaced,
  the keys are the signer's to manage), with the SOA's TTL unless the policy says;
- an NSEC chain (RFC 4034 §4) over the authoritative names, or an NSEC3 chain (RFC 5155
  §7.1) over their hashes and those of the empty non-terminals, with NSEC3PARAM at the
  apex: SHA-1, ``iterations`` 0 and no salt by default as RFC 9276 §3.1 advises, opt-out
  (§6) leaving insecure delegations out of the chain when asked. Their TTL is the
  negative-caching TTL, min(SOA TTL, MINIMUM) (RFC 9077 §3);
- an RRSIG per authoritative RRset (RFC 4035 §2.2: not the NS set of a delegation, not
  glue) and per key: the DNSKEY set signed by the KSKs, everything else by the ZSKs (a
  key set that is all KSKs or all ZSKs signs everything: a CSK). Each RRSIG has the TTL
  and original TTL of the RRset it covers (RFC 4034 §3), the labels count without a
  wildcard's ``*`` (§3.1.3), an inception an hour back (clock skew) and an expiration
  ``lifetime`` ahead less a random jitter, so that signatures made together fall due
  over a spread of time instead of at one instant.

Signing again is incremental: given the zone served before (``previous``), a signature
there is kept when its RRset is unchanged (same records, same TTL), it was made by one of
the keys, and it is not within ``refresh`` of expiring (once one is, all those within
``refresh`` plus the jitter window are refreshed together); only
changed RRsets, the NSEC/NSEC3 records whose links or type maps changed, and signatures
falling due are signed anew. When nothing changed, ``previous`` itself comes back. When
something did, the SOA serial goes up (to the zone's own serial if that is newer, else
previous + 1: RFC 1982 arithmetic) and the SOA is signed again, so secondaries see the
change and :func:`dns.journal.diff_zones` of the two zones carries the signature changes
to the journal and to IXFR. :attr:`Signer.next_due` says when the earliest signature kept
or made will need refreshing; :class:`dns.server.AuthServer` re-signs then.

::

    signer = Signer([load_key("Kexample.test.+013+12345")], Policy(nsec3=True))
    signed = signer.sign(load_zone_file("example.test.zone"))
"""

from __future__ import annotations

import base64
import hashlib
import random
import struct
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from . import rdtypes, wire
from .keys import SigningKey
from .wire import Name
from .zone import Key, Record, Zone, key_of, serial_gt

MANAGED_TYPES = frozenset(
    {wire.TYPE_RRSIG, wire.TYPE_NSEC, wire.TYPE_NSEC3, wire.TYPE_NSEC3PARAM, wire.TYPE_DNSKEY}
)
"""The types the signer makes; a zone's own records of these types are replaced."""

MAX_ITERATIONS = 100
"""RFC 9276 §3.2: validators may treat more iterations as insecure; none is the advice."""

_RRSIG_HEAD = struct.Struct("!HBBIIIH")
_RR_HEAD = struct.Struct("!HHI")
_U16 = struct.Struct("!H")
_NSEC3_HEAD = struct.Struct("!BBHB")
_SERIAL = struct.Struct("!I")


class SigningError(ValueError):
    """Keys or a policy that cannot sign the zone: ``str()`` says why, in one line."""


@dataclass(frozen=True, slots=True)
class Policy:
    """How a zone is signed. ``nsec3``: NSEC3 instead of NSEC, with ``iterations``,
    ``salt`` and ``opt_out``; signature ``lifetime``, re-signed when less than ``refresh``
    remains, expirations spread over ``jitter`` seconds; inceptions ``inception_offset``
    seconds back; the DNSKEY TTL (``None``: the SOA's). Seconds throughout."""

    nsec3: bool = False
    iterations: int = 0
    salt: bytes = b""
    opt_out: bool = False
    lifetime: int = 14 * 86400
    refresh: int = 7 * 86400
    jitter: int = 12 * 3600
    inception_offset: int = 3600
    dnskey_ttl: int | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.iterations <= MAX_ITERATIONS:
            raise SigningError(f"NSEC3 iterations {self.iterations}: 0 to {MAX_ITERATIONS}")
        if len(self.salt) > 255:
            raise SigningError("NSEC3 salt longer than 255 bytes")
        if self.refresh < 0 or self.jitter < 0 or self.inception_offset < 0:
            raise SigningError("refresh, jitter and inception offset cannot be negative")
        if self.lifetime <= self.refresh + 2 * self.jitter:
            raise SigningError(
                f"signature lifetime {self.lifetime}s must exceed refresh {self.refresh}s "
                f"plus twice the jitter {self.jitter}s"
            )


def type_bitmap(types: Iterable[int]) -> bytes:
    """The type bit maps field of NSEC and NSEC3 (RFC 4034 §4.1.2)."""
    windows: dict[int, bytearray] = {}
    for rtype in types:
        bits = windows.setdefault(rtype >> 8, bytearray(32))
        bits[(rtype & 0xFF) >> 3] |= 0x80 >> (rtype & 7)
    out = bytearray()
    for window in sorted(windows):
        bits = windows[window].rstrip(b"\x00")
        out += bytes((window, len(bits))) + bits
    return bytes(out)


def nsec3_hash(k: Key, salt: bytes, iterations: int) -> bytes:
    """RFC 5155 §5: IH(salt, x, k) with SHA-1 over the name's canonical wire form."""
    digest = hashlib.sha1(wire.encode_name(k) + salt).digest()
    for _ in range(iterations):
        digest = hashlib.sha1(digest + salt).digest()
    return digest


def signed_data(
    rrsig_head: bytes, owner: Key, rtype: int, ttl: int, rdatas: Iterable[bytes]
) -> bytes:
    """What an RRSIG signs (RFC 4034 §3.1.8.1): its rdata up to the signature, then the
    RRset in canonical form (lowercased owner, original TTL, each rdata in canonical form,
    duplicates dropped, sorted as octet strings: §6.2, §6.3)."""
    head = wire.encode_name(owner) + _RR_HEAD.pack(rtype, wire.CLASS_IN, ttl)
    canonical = sorted({rdtypes.canonical(rtype, rd) for rd in rdatas})
    return rrsig_head + b"".join(head + _U16.pack(len(c)) + c for c in canonical)


@dataclass(slots=True)
class _Pass:
    """The state of one :meth:`Signer.sign` (none on the signer: an UPDATE and the refresh
    timer may sign at once): the clock, the horizon a kept signature must outlive, and the
    earliest due time seen."""

    clock: int
    horizon: int
    due: float = float("inf")


@dataclass(slots=True)
class _Set:
    name: Name
    ttl: int
    rdatas: list[bytes]


class Signer:
    """Signs one zone with ``keys`` (all for that zone) under ``policy``."""

    def __init__(self, keys: Sequence[SigningKey], policy: Policy | None = None) -> None:
        if not keys:
            raise SigningError("no signing keys")
        owners = {key_of(k.owner) for k in keys}
        if len(owners) != 1:
            raise SigningError("the keys belong to different zones")
        self.keys = list(keys)
        self.owner: Key = owners.pop()
        self.policy = policy or Policy()
        # Per algorithm (RFC 6840 §5.11: every algorithm of the DNSKEY set signs every
        # RRset): its KSKs sign the DNSKEY set, its ZSKs the rest; one kind alone signs all.
        self.dnskey_signers: list[SigningKey] = []
        self.data_signers: list[SigningKey] = []
        for algorithm in sorted({k.algorithm for k in keys}):
            ksks = [k for k in keys if k.ksk and k.algorithm == algorithm]
            zsks = [k for k in keys if not k.ksk and k.algorithm == algorithm]
            self.dnskey_signers += ksks or zsks
            self.data_signers += zsks or ksks
        self.next_due: float | None = None
        """When the earliest signature of the last zone signed falls due for refreshing
        (Unix time), ``None`` before the first."""
        self._random = random.Random()

    # -- the zone's content, the chain, the signatures

    def sign(
        self,
        zone: Zone,
        previous: Zone | None = None,
        *,
        now: float | None = None,
        serial_floor: int | None = None,
    ) -> Zone:
        """``zone`` signed (see the module's docstring). ``previous``: the zone served
        before (default: ``zone`` itself, whose signatures, if any, are reused);
        ``serial_floor``: a serial the new one must pass (the journal's newest).
        :class:`SigningError` when the keys are not the zone's; :class:`dns.zone.ZoneError`
        when the signed zone breaks a zone rule (it cannot unless the input did)."""
        if zone.origin_key != self.owner:
            raise SigningError(
                f"the keys are for {wire.name_to_text(self.keys[0].owner)}, "
                f"not {wire.name_to_text(zone.origin)}"
            )
        if previous is None:
            previous = zone
        clock = int(time.time() if now is None else now)
        policy = self.policy
        apex = zone.origin_key
        depth = len(apex)

        data: dict[Key, dict[int, _Set]] = {}
        for k, node in zone.nodes.items():
            sets = {
                t: _Set(rs.name, rs.ttl, rs.rdatas)
                for t, rs in node.rrsets.items()
                if t not in MANAGED_TYPES
            }
            if sets:
                data[k] = sets
        soa_ttl = zone.soa.ttl
        apex_sets = data[apex]
        apex_sets[wire.TYPE_DNSKEY] = _Set(
            zone.origin,
            policy.dnskey_ttl if policy.dnskey_ttl is not None else soa_ttl,
            [key.dnskey for key in self.keys],
        )

        cuts = {k for k, sets in data.items() if wire.TYPE_NS in sets and k != apex}
        dnames = {k for k, sets in data.items() if wire.TYPE_DNAME in sets}

        def occluded(k: Key) -> bool:
            for i in range(1, len(k) - depth + 1):
                above = k[i:]
                if above in dnames or (above in cuts):
                    return True
            return False

        authoritative = sorted((k for k in data if not occluded(k)), key=lambda k: k[::-1])
        neg_ttl = zone.negative_ttl
        chain: dict[Key, _Set] = {}
        chain_type = wire.TYPE_NSEC3 if policy.nsec3 else wire.TYPE_NSEC

        def bitmap_types(k: Key) -> list[int]:
            sets = data[k]
            if k in cuts:
                return [t for t in (wire.TYPE_NS, wire.TYPE_DS) if t in sets]
            return list(sets)

        if not policy.nsec3:
            for i, k in enumerate(authoritative):
                nxt = authoritative[(i + 1) % len(authoritative)]
                types = [*bitmap_types(k), wire.TYPE_NSEC, wire.TYPE_RRSIG]
                rdata = wire.encode_name(nxt) + type_bitmap(types)
                chain[k] = _Set(data[k][next(iter(data[k]))].name, neg_ttl, [rdata])
        else:
            apex_sets[wire.TYPE_NSEC3PARAM] = _Set(
                zone.origin,
                0,  # as BIND and Knot give it: not for caching (RFC 5155 §4 leaves it open)
                [_NSEC3_HEAD.pack(1, 0, policy.iterations, len(policy.salt)) + policy.salt],
            )
            chain = self._nsec3_chain(zone, data, authoritative, cuts, bitmap_types)

        # What gets signed: every authoritative RRset but a delegation's NS, and the chain.
        to_sign: list[tuple[Key, int, _Set]] = []
        for k in authoritative:
            for t, s in data[k].items():
                if k in cuts and t != wire.TYPE_DS:
                    continue
                if t != wire.TYPE_SOA:
                    to_sign.append((k, t, s))
        for k, s in chain.items():
            to_sign.append((k, chain_type, s))

        # A signature is due when less than ``refresh`` remains; once one is, those that
        # would fall due within the jitter window are refreshed with it (one new serial
        # for the batch, not one per signature).
        run = _Pass(clock, clock + policy.refresh)
        if self._any_due(previous, run.horizon):
            run.horizon += policy.jitter
        signatures: dict[tuple[Key, int], _Set] = {}
        for k, t, s in to_sign:
            signatures[(k, t)] = self._signatures(k, t, s, previous, run)

        records: list[tuple[Key, int, _Set]] = []
        for k, sets in data.items():
            for t, s in sets.items():
                if t != wire.TYPE_SOA:
                    records.append((k, t, s))
        for k, s in chain.items():
            records.append((k, chain_type, s))

        soa = apex_sets[wire.TYPE_SOA]
        if self._unchanged(previous, records, signatures, soa):
            self.next_due = self._due_of(previous, run)
            return previous
        if previous is zone:  # the served zone re-signed, or a zone signed the first time
            serial = (zone.serial + 1) & 0xFFFFFFFF
        elif serial_gt(zone.serial, previous.serial):
            serial = zone.serial
        else:
            serial = (previous.serial + 1) & 0xFFFFFFFF
        if serial_floor is not None and not serial_gt(serial, serial_floor):
            serial = (serial_floor + 1) & 0xFFFFFFFF
        old = soa.rdatas[0]
        new_soa = old[:-20] + _SERIAL.pack(serial) + old[-16:]
        soa = _Set(soa.name, soa.ttl, [new_soa])
        signatures[(apex, wire.TYPE_SOA)] = self._fresh(
            apex, wire.TYPE_SOA, soa, self.data_signers, run
        )

        out: list[Record] = []
        where = zone.source or "<signed>"
        out.append(Record(soa.name, wire.TYPE_SOA, soa.ttl, new_soa, where, 0))
        for _k, t, s in records:
            for rd in s.rdatas:
                out.append(Record(s.name, t, s.ttl, rd, where, 0))
        for s in signatures.values():
            for rd in s.rdatas:
                out.append(Record(s.name, wire.TYPE_RRSIG, s.ttl, rd, where, 0))
        self.next_due = run.due if run.due != float("inf") else None
        return Zone(zone.origin, out, zone.files, zone.source)

    def _nsec3_chain(
        self,
        zone: Zone,
        data: dict[Key, dict[int, _Set]],
        authoritative: list[Key],
        cuts: set[Key],
        bitmap_types: Callable[[Key], list[int]],
    ) -> dict[Key, _Set]:
        policy = self.policy
        apex = zone.origin_key
        depth = len(apex)
        names: dict[Key, list[int]] = {}
        for k in authoritative:
            insecure = k in cuts and wire.TYPE_DS not in data[k]
            if insecure and policy.opt_out:
                continue
            types = bitmap_types(k)
            names[k] = types if insecure else [*types, wire.TYPE_RRSIG]
            for i in range(1, len(k) - depth):
                names.setdefault(k[i:], [])  # an empty non-terminal: no types (§7.1)
        hashed: dict[bytes, list[int]] = {}
        for k, types in names.items():
            digest = nsec3_hash(k, policy.salt, policy.iterations)
            if digest in hashed:
                raise SigningError(
                    f"NSEC3 hash collision at {wire.name_to_text(k)}: change the salt"
                )
            hashed[digest] = types
        order = sorted(hashed)
        flags = 1 if policy.opt_out else 0
        head = _NSEC3_HEAD.pack(1, flags, policy.iterations, len(policy.salt)) + policy.salt
        chain: dict[Key, _Set] = {}
        for i, digest in enumerate(order):
            nxt = order[(i + 1) % len(order)]
            owner = (base64.b32hexencode(digest).lower().rstrip(b"="), *zone.origin)
            rdata = head + bytes((len(nxt),)) + nxt + type_bitmap(hashed[digest])
            chain[key_of(owner)] = _Set(owner, zone.negative_ttl, [rdata])
        return chain

    def _signatures(self, k: Key, rtype: int, s: _Set, previous: Zone, run: _Pass) -> _Set:
        keys = self.dnskey_signers if rtype == wire.TYPE_DNSKEY else self.data_signers
        kept: list[bytes] = []
        missing: list[SigningKey] = list(keys)
        node = previous.nodes.get(k)
        if node is not None and node.sigs is not None:
            before = node.rrsets.get(rtype)
            old = node.sigs.get(rtype)
            if (
                before is not None
                and old is not None
                and before.ttl == s.ttl
                and set(before.rdatas) == set(s.rdatas)
            ):
                horizon, clock = run.horizon, run.clock
                for key in keys:
                    for rd in old.rdatas:
                        if len(rd) < 18:
                            continue
                        _t, alg, _labels, ttl, expiration, inception, tag = _RRSIG_HEAD.unpack_from(
                            rd
                        )
                        if (
                            alg == key.algorithm
                            and tag == key.tag
                            and ttl == s.ttl
                            and inception <= clock
                            and expiration > horizon
                        ):
                            kept.append(rd)
                            missing.remove(key)
                            run.due = min(run.due, expiration - self.policy.refresh)
                            break
        if not missing:
            return _Set(s.name, s.ttl, kept)
        fresh = self._fresh(k, rtype, s, missing, run)
        return _Set(s.name, s.ttl, kept + fresh.rdatas)

    def _fresh(self, k: Key, rtype: int, s: _Set, keys: Sequence[SigningKey], run: _Pass) -> _Set:
        policy = self.policy
        clock = run.clock
        labels = len(k) - (1 if k and k[0] == b"*" else 0)
        signer = wire.encode_name(self.owner)
        inception = (clock - policy.inception_offset) & 0xFFFFFFFF
        out = []
        for key in keys:
            expiration = clock + policy.lifetime - self._random.randint(0, policy.jitter)
            run.due = min(run.due, expiration - policy.refresh)
            head = (
                _RRSIG_HEAD.pack(
                    rtype,
                    key.algorithm,
                    labels,
                    s.ttl,
                    expiration & 0xFFFFFFFF,
                    inception,
                    key.tag,
                )
                + signer
            )
            out.append(head + key.sign(signed_data(head, k, rtype, s.ttl, s.rdatas)))
        return _Set(s.name, s.ttl, out)

    def _any_due(self, zone: Zone, horizon: int) -> bool:
        tags = {(k.algorithm, k.tag) for k in self.keys}
        for node in zone.nodes.values():
            if node.sigs is None:
                continue
            for sigs in node.sigs.values():
                for rd in sigs.rdatas:
                    if len(rd) >= 18:
                        fields = _RRSIG_HEAD.unpack_from(rd)
                        if (fields[1], fields[6]) in tags and fields[4] <= horizon:
                            return True
        return False

    # -- did anything change

    @staticmethod
    def _unchanged(
        previous: Zone,
        records: list[tuple[Key, int, _Set]],
        signatures: dict[tuple[Key, int], _Set],
        soa: _Set,
    ) -> bool:
        if previous.soa.rdatas != soa.rdatas or previous.soa.ttl != soa.ttl:
            return False
        pnodes = previous.nodes
        count = 0
        for k, t, s in records:
            node = pnodes.get(k)
            before = node.rrsets.get(t) if node is not None else None
            if before is None or before.ttl != s.ttl or set(before.rdatas) != set(s.rdatas):
                return False
            count += 1
        for (k, t), s in signatures.items():
            node = pnodes.get(k)
            sigs = node.sigs.get(t) if node is not None and node.sigs is not None else None
            if sigs is None or set(sigs.rdatas) != set(s.rdatas):
                return False
        apex = pnodes[previous.origin_key]
        if apex.sigs is None or wire.TYPE_SOA not in apex.sigs:
            return False
        # No RRset of the previous zone has gone (every kept one was matched above).
        total = sum(
            1
            for node in pnodes.values()
            for t in node.rrsets
            if t not in (wire.TYPE_SOA, wire.TYPE_RRSIG)
        )
        sig_total = sum(len(n.sigs) for n in pnodes.values() if n.sigs is not None)
        return total == count and sig_total == len(signatures) + 1

    def _due_of(self, zone: Zone, run: _Pass) -> float | None:
        due = run.due
        apex = zone.nodes[zone.origin_key]
        if apex.sigs is not None and wire.TYPE_SOA in apex.sigs:
            for rd in apex.sigs[wire.TYPE_SOA].rdatas:
                due = min(due, _RRSIG_HEAD.unpack_from(rd)[4] - self.policy.refresh)
        return due if due != float("inf") else None


__all__ = [
    "MANAGED_TYPES",
    "MAX_ITERATIONS",
    "Policy",
    "Signer",
    "SigningError",
    "nsec3_hash",
    "signed_data",
    "type_bitmap",
]
