"""The authoritative DNS server: UDP and TCP over any backend, AXFR/IXFR, NOTIFY, UPDATE,
TSIG, reload.

Written once over the IO interface (:mod:`backends`)::

    import backends
    from dns.zone import load_zone_file
    from dns.server import AuthServer

    async def main(net: backends.Backend) -> None:
        server = AuthServer([load_zone_file("examples/zones/ocaml.test.zone")],
                            allow_transfer=["127.0.0.0/8"], notify=["127.0.0.1:5300"])
        await server.serve(net, "127.0.0.1", 5353)   # until server.stop()

    backends.run(main, backend="trio")

or, to learn the bound ports (port 0 picks a free one) and stop when done::

    async with server.running(net, "127.0.0.1", 0) as (udp_address, tcp_address):
        ...

The answering itself is :class:`dns.answer.Authority` (sans-IO). Here: the UDP loop (one
task; nothing a client sends can raise out of it), TCP per RFC 7766 (length prefixes split
across reads, any number of queries per connection, pipelined queries answered in order
as they complete, an idle timeout between queries and a deadline for each query from its
first byte, a connection limit past which the connection longest without a query is shed),
zone transfers (AXFR over TCP for the networks and TSIG keys in ``allow_transfer``; IXFR
from each zone's :class:`dns.journal.Journal`: one SOA when the client is current, the
differences since its serial when the journal reaches back, else AXFR-style, RFC 1995; over
UDP the differences only when they fit in one datagram), TSIG on all of it (RFC 8945,
:mod:`dns.tsig`: signed requests verified and answered signed, failures answered as NSD
answers them), dynamic UPDATE for ``allow_update`` (RFC 2136, :mod:`dns.update`; the change
is on disk in the journal before it is acknowledged), NOTIFY to ``notify`` targets on start
and on every change of serial (retransmitted until acknowledged, RFC 1996; signed when the
target names a key), and :meth:`reload` (atomic: a zone that fails to load keeps the old set
in service). Per-zone ACLs and targets: :class:`ZonePolicy`; the configuration file:
:mod:`dns.config`.

Zones with a :class:`dns.sign.Signer` (``signers``) are signed online: when loaded (the
first signing is a new serial, journalled, so a restart replays the same signatures), when
read again, on each UPDATE (only the changed RRsets and chain links signed anew; an UPDATE
of DNSKEY, RRSIG, NSEC or NSEC3 is REFUSED: the signer makes those), and when signatures
fall due (:meth:`AuthServer.resign_due`, run by a timer while serving). Each re-signing is
a new serial whose difference goes to the journal, so IXFR carries the new signatures.

With a TLS context, the same answers over TLS (RFC 7858; :mod:`dns.dot`: the TCP session
above over a :class:`backends.tls.TLSFlow`, the handshake under the whole-message deadline,
responses padded to 468-byte blocks per RFC 8467; it holds the same connection slots as
TCP) and over HTTPS (RFC 8484; :mod:`dns.doh`'s handler served by a :class:`cohttp.Server`
of its own with ``tls=`` and HTTP/2, so the handshake, per-request and idle deadlines, the
limits and the graceful shutdown, GOAWAY included, are cohttp's; its deadlines are the
server's ``tcp_message_timeout`` and ``tcp_idle_timeout``).
"""

from __future__ import annotations

import contextlib
import ipaddress
import itertools
import logging
import math
import random
import ssl
import struct
import time
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from dataclasses import dataclass

import backends
import backends.tls
import cohttp

from . import doh, dot, tsig, update, wire
from .answer import (
    EDNS_PAYLOAD,
    Authority,
    Query,
    QueryError,
    Result,
    TransferRequested,
    header_only,
    parse_query,
    rdata_parts_cached,
)
from .journal import Diff, Journal, Rec, diff_zones, ixfr_records, zone_records
from .sign import MANAGED_TYPES, Signer, SigningError
from .zone import Key, Zone, ZoneError, key_of, load_zone_file, serial_gt, serial_lt

log = logging.getLogger("dns.server")

TCP_IDLE_TIMEOUT = 10.0
"""Seconds a TCP connection may stay silent between queries (RFC 7766 §6.2.3)."""
TCP_MESSAGE_TIMEOUT = 2.0
"""Seconds a query may take from its first byte to its last (RFC 7766 §6.2.3; Knot's
tcp-io-timeout): a client that trickles bytes cannot stretch it."""
MAX_TCP_CONNECTIONS = 256
"""Concurrent TCP connections; past it the one that has gone longest without sending a
whole query is shed to make room."""
AXFR_MESSAGE_SIZE = 16384
"""Target size of each AXFR message."""
NOTIFY_RETRIES = 5
RESIGN_CHECK = 3600.0
"""Seconds at most between looks at whether a signed zone's signatures fell due."""
NOTIFY_TIMEOUT = 1.0
"""First NOTIFY retransmission delay; doubles after each try."""
REPLY_MEMO_LIMIT = 10_000
"""Replies remembered by their query's bytes, per transport (see
:meth:`AuthServer._answer_plain`); the memo is emptied when it grows past this."""
REPLY_MEMO_QUERY_SIZE = 512
"""The longest query whose reply is remembered by its bytes."""

_U16 = struct.Struct("!H")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class Acl:
    """Who may do something (transfer a zone, update it): networks (``"127.0.0.0/8"``) and
    TSIG keys (``"key:NAME"``); a request is allowed when its source address is in one of
    the networks or it is signed with one of the keys (verified before this is asked)."""

    def __init__(self, entries: Iterable[str | Network] = ()) -> None:
        self.networks: list[Network] = []
        self.keys: dict[bytes, str] = {}
        """Canonical key name -> the name as given."""
        for entry in entries:
            if isinstance(entry, str) and entry.lower().startswith("key:"):
                name = entry[4:]
                if not name:
                    raise ValueError(f"{entry!r}: a key name is needed after 'key:'")
                self.keys[wire.name_key(wire.name_from_text(name.rstrip(".") + "."))] = name
            elif isinstance(entry, str):
                self.networks.append(ipaddress.ip_network(entry, strict=False))
            else:
                self.networks.append(entry)

    def allows(self, address: backends.Address, key: tsig.Key | None) -> bool:
        """Whether a request from ``address`` signed with ``key`` (``None``: unsigned) may."""
        if key is not None and key.key in self.keys:
            return True
        try:
            ip = ipaddress.ip_address(address[0])
        except ValueError:
            return False
        return any(ip in net for net in self.networks)

    def __bool__(self) -> bool:
        return bool(self.networks or self.keys)


@dataclass(frozen=True)
class ZonePolicy:
    """What one zone allows where it differs from the server's defaults (``None``: the
    server's): ``allow_transfer``, ``allow_update`` (networks and ``key:NAME``) and
    ``notify`` (``host[:port]``)."""

    allow_transfer: Sequence[str] | None = None
    allow_update: Sequence[str] | None = None
    notify: Sequence[str] | None = None


def _origin_key(origin: str) -> Key:
    return key_of(wire.name_from_text(origin if origin.endswith(".") else origin + "."))


class _SignedTransfer(TransferRequested):
    """A zone transfer asked for in a request whose TSIG verified: the answer is signed."""

    def __init__(self, request: TransferRequested, signed: tsig.Signed) -> None:
        super().__init__(request.query)
        self.signed = signed


def _plain(data: bytes) -> bool:
    """Whether ``data`` is surely a plain query for :class:`Authority` alone: opcode QUERY,
    nothing in the authority section (IXFR has its SOA there), and no additional record or
    only an OPT record without options at its end (no TSIG): what nearly every query is."""
    if len(data) < wire.HEADER_SIZE:
        return True  # not even a header: Authority drops it
    if data[2] & 0x78 or data[8:10] != b"\x00\x00":
        return False
    if data[10:12] == b"\x00\x00":
        return True
    n = len(data)
    return (
        data[10:12] == b"\x00\x01"
        and n > 28
        and data[n - 11] == 0
        and data[n - 10 : n - 8] == b"\x00\x29"
        and data[n - 2 :] == b"\x00\x00"
    )


def split_notify_target(text: str) -> tuple[str, str | None]:
    """``"HOST[:PORT] key:NAME"`` -> ``("HOST[:PORT]", "NAME")`` (NOTIFY signed with that
    TSIG key); without the key part, ``(text, None)``."""
    address, sep, key_name = text.strip().partition(" key:")
    return address.strip(), key_name.strip() if sep else None


def parse_hostport(text: str, default_port: int = 53) -> tuple[str, int]:
    """``"127.0.0.1"``, ``"127.0.0.1:5300"``, ``"[::1]:5300"`` or ``"::1"`` -> ``(host, port)``;
    ``ValueError`` for a port that is not 0..65535 in ASCII digits."""
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest.startswith(":"):
            return host, wire.parse_decimal(rest[1:], 0xFFFF, "port")
        return host, default_port
    if text.count(":") == 1:
        host, _, port = text.partition(":")
        return host, wire.parse_decimal(port, 0xFFFF, "port")
    return text, default_port


class AuthServer:
    """An authoritative server for ``zones``.

    ``allow_transfer``: networks (``"127.0.0.0/8"``) and TSIG keys (``"key:NAME"``) allowed
    AXFR/IXFR; ``keys``: the TSIG keys (:class:`dns.tsig.Key`) requests may be signed with
    (a signed request is verified and answered signed, RFC 8945); ``notify``: secondaries
    (``"host[:port]"`` or ``(host, port)``) told of each new serial, retransmitting after
    ``notify_timeout`` seconds (doubling) up to ``notify_retries`` times. :meth:`reload`
    reads each zone's own source file again (zones parsed from text are kept as they are).
    TCP connections idle for ``tcp_idle_timeout`` seconds between queries, or that take
    over ``tcp_message_timeout`` seconds to deliver one query once its first byte came,
    are closed. When ``max_tcp_connections`` are open, a new one takes the slot of the
    connection that has gone longest without delivering a whole query (see
    :func:`shed_choice`).
    """

    def __init__(
        self,
        zones: Iterable[Zone],
        *,
        allow_transfer: Iterable[str | Network] = (),
        notify: Iterable[str | tuple[str, int]] = (),
        keys: Iterable[tsig.Key] = (),
        allow_update: Iterable[str | Network] = (),
        journal: bool = True,
        journal_paths: Mapping[str, str] | None = None,
        policies: Mapping[str, ZonePolicy] | None = None,
        tcp_idle_timeout: float = TCP_IDLE_TIMEOUT,
        tcp_message_timeout: float = TCP_MESSAGE_TIMEOUT,
        max_tcp_connections: int = MAX_TCP_CONNECTIONS,
        notify_timeout: float = NOTIFY_TIMEOUT,
        notify_retries: int = NOTIFY_RETRIES,
        signers: Mapping[str, Signer] | None = None,
    ) -> None:
        zone_list = list(zones)
        _check_distinct(zone_list)
        self._journal_default = journal
        self.signers: dict[Key, Signer] = {}
        """Zone (origin key) -> the :class:`dns.sign.Signer` that signs it online."""
        self._stale_signing: set[Key] = set()
        self._presigned: dict[Key, tuple[Zone, int, Zone]] = {}
        """Zones :meth:`sign_loaded` signed: (the signed zone, its file's serial, the zone
        it was signed against)."""
        self.configure(
            keys=keys,
            allow_transfer=allow_transfer,
            allow_update=allow_update,
            notify=notify,
            policies=policies,
            journal_paths=journal_paths,
            signers=signers,
        )
        self.journals: dict[Key, Journal] = {}
        file_serials: dict[Key, int] = {}
        for i, zone in enumerate(zone_list):
            file_serials[zone.origin_key] = zone.serial
            journal_ = Journal.open(self._journal_path(zone))
            self.journals[zone.origin_key] = journal_
            zone_list[i] = self._signed_first(journal_.replay(zone), journal_)
        self.authority = Authority(zone_list)
        self.tcp_idle_timeout = tcp_idle_timeout
        self.tcp_message_timeout = tcp_message_timeout
        self.max_tcp_connections = max_tcp_connections
        self.notify_timeout = notify_timeout
        self.notify_retries = notify_retries
        self.udp_address: backends.Address | None = None
        self.tcp_address: backends.Address | None = None
        self.tls_address: backends.Address | None = None
        """Where DNS over TLS is served (the first address), once bound."""
        self.https_address: backends.Address | None = None
        """Where DNS over HTTPS is served (the first address), once bound."""
        self._https_slots: dict[backends.Address, TcpConnection] = {}
        """A DoH connection's peer address -> its slot (see :meth:`_admit_https`)."""
        self.notify_acks: dict[tuple[bytes, tuple[str, int]], int] = {}
        """(zone key, target) -> the serial the target acknowledged last."""
        self._tcp_connections: set[TcpConnection] = set()
        self._notifying: dict[tuple[bytes, tuple[str, int]], backends.interface.CancelScope] = {}
        self._net: backends.Backend | None = None
        self._tg: backends.interface.TaskGroup | None = None
        self._stopped: backends.interface.Event | None = None
        self._serving: backends.interface.Event | None = None
        self._sources = {z.origin_key: (z.source, z.origin) for z in zone_list}
        self._file_serials = file_serials
        """The serial each zone file had when last read (replayed updates come after)."""
        self._udp_replies: dict[bytes, bytes] = {}
        self._tcp_replies: dict[bytes, bytes] = {}
        """Query bytes after the ID -> reply bytes after the ID (:meth:`_answer_plain`)."""
        self._replies_zones = self.authority.zones
        """The zone set the remembered replies were made from."""

    # -- configuration

    def configure(
        self,
        *,
        keys: Iterable[tsig.Key] = (),
        allow_transfer: Iterable[str | Network] = (),
        allow_update: Iterable[str | Network] = (),
        notify: Iterable[str | tuple[str, int]] = (),
        policies: Mapping[str, ZonePolicy] | None = None,
        journal_paths: Mapping[str, str] | None = None,
        signers: Mapping[str, Signer] | None = None,
    ) -> None:
        """Set the keys, the server-wide ACLs and NOTIFY targets, each zone's own (origin
        -> :class:`ZonePolicy`), journal files (origin -> path) and online signers (origin
        -> :class:`dns.sign.Signer`), all at once; ``ValueError`` (nothing changed) when an
        ACL names a key that is not given. A zone whose keys or signing policy changed is
        signed again at the next :meth:`replace_zones` (a reload)."""
        keyring = tsig.Keyring(keys)
        transfer, updates = Acl(allow_transfer), Acl(allow_update)
        notify_keys: dict[tuple[str, int], tsig.Key] = {}

        def target(spec: str | tuple[str, int]) -> tuple[str, int]:
            if not isinstance(spec, str):
                return spec
            address, key_name = split_notify_target(spec)
            where = parse_hostport(address)
            if key_name is not None:
                found = keyring.get(wire.name_from_text(key_name.rstrip(".") + "."))
                if found is None:
                    raise ValueError(f"notify target {spec!r} names key {key_name}, not given")
                notify_keys[where] = found
            return where

        targets = [target(t) for t in notify]
        per_zone: dict[Key, tuple[Acl, Acl, list[tuple[str, int]]]] = {}
        for origin, policy in (policies or {}).items():
            per_zone[_origin_key(origin)] = (
                Acl(policy.allow_transfer) if policy.allow_transfer is not None else transfer,
                Acl(policy.allow_update) if policy.allow_update is not None else updates,
                [target(t) for t in policy.notify] if policy.notify is not None else targets,
            )
        for what, acl in [("transfer", transfer), ("update", updates)] + [
            (f"{w} of {wire.name_to_text(k)}", acl)
            for k, (t, u, _) in per_zone.items()
            for w, acl in (("transfer", t), ("update", u))
        ]:
            for canonical, name in acl.keys.items():
                if not any(k.key == canonical for k in keyring):
                    raise ValueError(f"allow-{what} names key {name}, which is not given")
        self.keyring = keyring
        self.allow_transfer = transfer
        self.allow_update = updates
        self.notify_targets: list[tuple[str, int]] = targets
        self._per_zone = per_zone
        self._updates = bool(updates) or any(u for _, u, _ in per_zone.values())
        """Whether any zone takes UPDATE; if none does, UPDATE is NOTIMP, as NSD answers."""
        self._notify_keys = notify_keys
        self._journal_paths = {_origin_key(o): p for o, p in (journal_paths or {}).items()}
        new_signers = {_origin_key(o): signer for o, signer in (signers or {}).items()}
        for k, signer in new_signers.items():
            old = self.signers.get(k)
            if old is None or (old.policy, [x.dnskey for x in old.keys]) != (
                signer.policy,
                [x.dnskey for x in signer.keys],
            ):
                self._stale_signing.add(k)
            else:
                new_signers[k] = old  # the same keys and policy: keep its state
        self.signers = new_signers

    def _journal_path(self, zone: Zone) -> str | None:
        path = self._journal_paths.get(zone.origin_key)
        if path is None and self._journal_default and zone.source is not None:
            path = zone.source + ".jnl"
        return path

    def transfer_acl(self, zone: Zone) -> Acl:
        """Who may transfer ``zone``."""
        policy = self._per_zone.get(zone.origin_key)
        return policy[0] if policy is not None else self.allow_transfer

    def update_acl(self, zone: Zone) -> Acl:
        """Who may update ``zone``."""
        policy = self._per_zone.get(zone.origin_key)
        return policy[1] if policy is not None else self.allow_update

    def notify_targets_of(self, zone: Zone) -> list[tuple[str, int]]:
        """The secondaries told of ``zone``'s new serials."""
        policy = self._per_zone.get(zone.origin_key)
        return policy[2] if policy is not None else self.notify_targets

    # -- zones

    @property
    def zones(self) -> list[Zone]:
        """The zones in service now."""
        return list(self.authority.zones.values())

    def load(self) -> list[Zone]:
        """Read every zone's file again (blocking); raises :class:`ZoneError` on the first
        bad one. A file whose serial is the one it had when last read keeps the zone in
        service as it is (with the changes updates made since)."""
        zones = []
        for key, (source, origin) in self._sources.items():
            current = self.authority.zones[key]
            if source is None:
                zones.append(current)
                continue
            zones.append(self.fresh_or_current(load_zone_file(source, origin)))
        return self.sign_loaded(zones)

    def sign_loaded(self, zones: list[Zone]) -> list[Zone]:
        """``zones`` (as :meth:`load` or :func:`dns.config.load_zones` read them) with those
        that have a signer signed against the zone in service, so that the signing of a
        large zone happens here (blocking: :meth:`reload` runs it in a worker thread) and
        not in :meth:`replace_zones`, which only checks that nothing came between."""
        out = []
        for zone in zones:
            k = zone.origin_key
            signer = self.signers.get(k)
            current = self.authority.zones.get(k)
            journal_ = self.journals.get(k)
            if (
                signer is None
                or current is None
                or journal_ is None
                or (zone is current and k not in self._stale_signing)
            ):
                out.append(zone)
                continue
            signed = signer.sign(zone, current, serial_floor=journal_.last_serial)
            self._presigned[k] = (signed, zone.serial, current)
            out.append(signed)
        return out

    def fresh_or_current(self, zone: Zone) -> Zone:
        """``zone`` as just read from its file, or the zone in service when the file's
        serial is the one it had when last read (the served zone holds the updates made
        since)."""
        current = self.authority.zones.get(zone.origin_key)
        if current is not None and zone.serial == self._file_serials.get(zone.origin_key):
            return current
        return zone

    def replace_zones(self, zones: Iterable[Zone]) -> list[Zone]:
        """Serve ``zones`` (as read from their files) from now on, atomically; returns the
        zones whose serial changed (new ones included) and sends NOTIFY for them when
        serving. A zone whose serial went up has the difference recorded in its journal,
        so IXFR can send just that."""
        new = list(zones)
        _check_distinct(new)
        previous = self.authority.zones
        old = {k: z.serial for k, z in previous.items()}
        for i, zone in enumerate(new):
            before = previous.get(zone.origin_key)
            presigned = self._presigned.pop(zone.origin_key, None)
            signed_already = presigned is not None and presigned[0] is zone
            if presigned is not None and signed_already:
                if before is not presigned[2]:  # an UPDATE came meanwhile: sign again
                    zone = new[i] = self.signers[zone.origin_key].sign(zone, before)
                if zone.source is not None and before is not zone:
                    self._file_serials[zone.origin_key] = presigned[1]
            elif zone.source is not None and before is not zone:
                self._file_serials[zone.origin_key] = zone.serial
            journal_ = self.journals.get(zone.origin_key)
            if journal_ is None:
                journal_ = self.journals[zone.origin_key] = Journal.open(self._journal_path(zone))
                zone = new[i] = self._signed_first(journal_.replay(zone), journal_)
            elif (
                zone.origin_key in self.signers
                and not signed_already
                and (before is not zone or zone.origin_key in self._stale_signing)
            ):
                # A zone read again from its file: signed against the one served, whose
                # signatures the unchanged RRsets keep (dns.sign).
                signer = self.signers[zone.origin_key]
                zone = new[i] = signer.sign(zone, before, serial_floor=journal_.last_serial)
            if before is not None and before is not zone and serial_gt(zone.serial, before.serial):
                try:
                    journal_.append(diff_zones(before, zone))
                except OSError as exc:  # IXFR across this change falls back to AXFR
                    log.error(
                        "%s: cannot write the journal: %s", wire.name_to_text(zone.origin), exc
                    )
        self._stale_signing.clear()
        self._set_zones(new)
        self._sources = {z.origin_key: (z.source, z.origin) for z in new}
        changed = [z for z in new if old.get(z.origin_key) != z.serial]
        for zone in changed:
            log.info("serving %s serial %d", wire.name_to_text(zone.origin), zone.serial)
        self._notify_all(changed)
        return changed

    def _signed_first(self, zone: Zone, journal_: Journal) -> Zone:
        """``zone`` (as read and replayed from its journal) signed if it is to be; a zone
        that signing changed (its first signing, or signatures fallen due while the server
        was down) is a new version, whose difference goes to the journal, so that a
        restart replays the same signatures and IXFR carries them."""
        signer = self.signers.get(zone.origin_key)
        if signer is None:
            return zone
        signed = signer.sign(zone, zone, serial_floor=journal_.last_serial)
        if signed is not zone:
            self._journal_append(journal_, diff_zones(zone, signed), signed)
        return signed

    def _journal_append(self, journal_: Journal, diff: Diff, zone: Zone) -> None:
        try:
            journal_.append(diff)
        except OSError as exc:  # IXFR across this change falls back to AXFR
            log.error("%s: cannot write the journal: %s", wire.name_to_text(zone.origin), exc)

    def resign_due(self, now: float | None = None) -> list[Zone]:
        """Re-sign the signed zones whose earliest signature has fallen due for refreshing,
        serve them, record the difference in the journal and send NOTIFY; returns the zones
        re-signed. (:meth:`serve` does the signing in a worker thread and the rest here.)"""
        return self._commit_resigned(self._resigned(now))

    def _resigned(self, now: float | None = None) -> list[tuple[Key, Zone, Zone]]:
        """(zone key, zone in service, the zone re-signed) for each zone falling due;
        blocking, and safe in a worker thread: it changes nothing served."""
        clock = time.time() if now is None else now
        out = []
        for k, signer in list(self.signers.items()):
            zone = self.authority.zones.get(k)
            if zone is None or signer.next_due is None or signer.next_due > clock:
                continue
            signed = signer.sign(zone, zone, now=clock)
            if signed is not zone:
                out.append((k, zone, signed))
        return out

    def _commit_resigned(self, results: list[tuple[Key, Zone, Zone]]) -> list[Zone]:
        changed = []
        for k, zone, signed in results:
            if self.authority.zones.get(k) is not zone:
                # An UPDATE or a reload came meanwhile: look again at the zone now served.
                signer = self.signers.get(k)
                if signer is not None:
                    signer.next_due = time.time()
                continue
            self._journal_append(self.journals[k], diff_zones(zone, signed), signed)
            zones = dict(self.authority.zones)
            zones[k] = signed
            self._set_zones(zones.values())
            log.info("re-signed %s: serial %d", wire.name_to_text(signed.origin), signed.serial)
            changed.append(signed)
        self._notify_all(changed)
        return changed

    def next_resign(self) -> float | None:
        """When (Unix time) a signed zone next has signatures falling due, if any does."""
        dues = [s.next_due for s in self.signers.values() if s.next_due is not None]
        return min(dues) if dues else None

    async def _resign_loop(self, net: backends.Backend) -> None:
        """Keep the signatures of signed zones fresh (RFC 4035 §2.2: an RRSIG is only good
        between its inception and expiration): wake when the earliest falls due (at least
        once an hour, to follow the clock), re-sign in a worker thread."""
        while True:
            due = self.next_resign()
            wait = RESIGN_CHECK if due is None else due - time.time()
            await net.sleep(min(max(wait, 1.0), RESIGN_CHECK))
            if (self.next_resign() or float("inf")) <= time.time():
                self._commit_resigned(await net.run_in_thread(self._resigned))

    async def reload(self) -> list[Zone]:
        """Re-read the zone files (in a worker thread) and swap them in atomically.

        Raises :class:`ZoneError` and keeps the old zones if any file fails to load.
        Returns the zones whose serial changed.
        """
        net = self._net
        zones = await net.run_in_thread(self.load) if net is not None else self.load()
        return self.replace_zones(zones)

    # -- running

    async def serve(
        self,
        net: backends.Backend,
        host: str = "127.0.0.1",
        port: int = 53,
        *,
        ready: backends.interface.Event | None = None,
        also: Sequence[tuple[str, int]] = (),
        tls_context: ssl.SSLContext | None = None,
        tls: Sequence[tuple[str, int]] = (),
        https: Sequence[tuple[str, int]] = (),
        https_context: ssl.SSLContext | None = None,
    ) -> None:
        """Serve UDP and TCP on ``host:port`` until :meth:`stop` (port 0: a free port,
        the same for both; see :attr:`udp_address`), and on each ``(host, port)`` of
        ``also``. With ``tls_context`` (see :func:`dns.dot.server_context`), DNS over TLS
        (RFC 7858) on each address of ``tls``; with ``https_context`` (see
        :func:`dns.doh.server_context`; ``tls_context`` when there is no ``tls``), DNS
        over HTTPS (RFC 8484, :mod:`dns.doh`) on each of ``https`` (see
        :attr:`tls_address`, :attr:`https_address`). ``ready`` is set once bound.

        The DoH context is its own because :class:`cohttp.Server` sets its ALPN list
        (``h2``, ``http/1.1``), which on a shared context would take ``dot`` from DoT's."""
        if tls and tls_context is None:
            raise ValueError("DNS over TLS needs a TLS context (a certificate)")
        if https and https_context is None:
            if tls_context is None:
                raise ValueError("DNS over HTTPS needs a TLS context (a certificate)")
            if tls:
                raise ValueError(
                    "DNS over HTTPS beside DNS over TLS needs a context of its own "
                    "(https_context=; cohttp sets its ALPN)"
                )
            https_context = tls_context
        bound: list[tuple[backends.DatagramEndpoint, backends.Listener]] = []
        secure: list[backends.Listener] = []
        web: list[tuple[cohttp.Server, backends.Listener]] = []
        try:
            udp_address = tcp_address = None
            for h, p in [(host, port), *also]:
                bound.append(await self._bind(net, h, p))
                udp_address = udp_address or self.udp_address
                tcp_address = tcp_address or self.tcp_address
            self.udp_address, self.tcp_address = udp_address, tcp_address
            for h, p in tls:
                secure.append(await net.tcp_listen(h, p))
                self.tls_address = self.tls_address or secure[-1].address
            for h, p in https:
                assert https_context is not None
                listener = await net.tcp_listen(h, p)
                web.append((self._doh_server(net, https_context), listener))
                web[-1][0].adopt(net, _SlotListener(listener, self._admit_https))
                self.https_address = self.https_address or listener.address
            self._net = net
            self._stopped = net.event()
            async with net.task_group() as tg:
                self._tg = tg
                for udp, listener in bound:
                    tg.start_soon(self._udp_loop, udp)
                    tg.start_soon(listener.serve, self._tcp_handler)
                for listener in secure:
                    assert tls_context is not None
                    tg.start_soon(listener.serve, self._secure_handler(tls_context))
                for http, _ in web:
                    tg.start_soon(http.serve_forever)
                self._notify_all(self.zones)
                if self.signers:
                    tg.start_soon(self._resign_loop, net)
                if ready is not None:
                    ready.set()
                await self._stopped.wait()
                # DoH ends gracefully: no new connections, GOAWAY on HTTP/2 (RFC 9113
                # 6.8), requests in flight answered within cohttp's shutdown grace.
                async with net.task_group() as closing:
                    for http, _ in web:
                        closing.start_soon(http.shutdown)
                tg.cancel_scope.cancel()
        finally:
            self._tg = None
            for udp, listener in bound:
                await udp.close()
                await listener.close()
            for listener in secure:
                await listener.close()
            for _, listener in web:
                await listener.close()

    def _doh_server(self, net: backends.Backend, context: ssl.SSLContext) -> cohttp.Server:
        """The HTTP server of DNS over HTTPS: :class:`dns.doh.DohHandler` over
        :meth:`_answer_any`, HTTP/2 and HTTP/1.1 over TLS with ``context``. A handshake, a
        request head and a POST body each have ``tcp_message_timeout`` (fixed when they
        start: bytes trickling in do not extend them), an idle connection
        ``tcp_idle_timeout``, as DNS over TCP has; a request in flight at :meth:`stop`
        gets as long to finish. Its connections hold the same slots as TCP's
        (:meth:`_admit_https`)."""
        return cohttp.Server(
            self._https_progress(net, doh.DohHandler(self._answer_any)),
            limits=doh.SERVER_LIMITS,
            access_log=False,
            http2=True,
            tls=context,
            tls_handshake_timeout=self.tcp_message_timeout,
            header_timeout=self.tcp_message_timeout,
            body_timeout=self.tcp_message_timeout,
            idle_timeout=self.tcp_idle_timeout,
            shutdown_grace=self.tcp_message_timeout,
        )

    async def _bind(
        self, net: backends.Backend, host: str, port: int
    ) -> tuple[backends.DatagramEndpoint, backends.Listener]:
        for _attempt in range(20):
            udp = await net.udp_bind(host, port)
            try:
                listener = await net.tcp_listen(host, udp.address[1])
            except backends.AddressInUse:
                await udp.close()
                if port:
                    raise
                continue
            self.udp_address = udp.address
            self.tcp_address = listener.address
            return udp, listener
        raise backends.AddressInUse(f"no port free for both UDP and TCP on {host}")

    def stop(self) -> None:
        """Stop :meth:`serve` (idempotent)."""
        if self._stopped is not None:
            self._stopped.set()

    @contextlib.asynccontextmanager
    async def running(
        self,
        net: backends.Backend,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        tls_context: ssl.SSLContext | None = None,
        tls: Sequence[tuple[str, int]] = (),
        https: Sequence[tuple[str, int]] = (),
        https_context: ssl.SSLContext | None = None,
    ) -> AsyncIterator[tuple[backends.Address, backends.Address]]:
        """Serve in the background; yields ``(udp_address, tcp_address)``, stops on exit.
        ``tls_context``, ``tls``, ``https`` and ``https_context`` as for :meth:`serve`."""
        ready = net.event()
        async with net.task_group() as tg:
            tg.start_soon(
                self._serve_ready, net, host, port, ready, tls_context, tls, https, https_context
            )
            await ready.wait()
            assert self.udp_address is not None and self.tcp_address is not None
            try:
                yield self.udp_address, self.tcp_address
            finally:
                self.stop()

    async def _serve_ready(
        self,
        net: backends.Backend,
        host: str,
        port: int,
        ready: backends.interface.Event,
        tls_context: ssl.SSLContext | None,
        tls: Sequence[tuple[str, int]],
        https: Sequence[tuple[str, int]],
        https_context: ssl.SSLContext | None,
    ) -> None:
        await self.serve(
            net,
            host,
            port,
            ready=ready,
            tls_context=tls_context,
            tls=tls,
            https=https,
            https_context=https_context,
        )

    # -- UDP

    def _answer_other(
        self, data: bytes, tcp: bool, remote: backends.Address = ("", 0)
    ) -> bytes | None:
        """Answer what is not a plain query (see :func:`_plain`): a TSIG verified (the
        answer then signed; one that fails answered with its error), IXFR over UDP from the
        journal, the rest by :class:`Authority`. Raises :class:`TransferRequested`."""
        try:
            signed = tsig.verify_request(data, self.keyring, now=time.time())
        except tsig.TsigError as exc:
            log.info("TSIG from %s: %s", remote[0], exc)
            return exc.response
        except wire.WireError:
            return self.authority.answer(data, tcp)  # malformed: its FORMERR
        message = data if signed is None else signed.message
        response = None
        if (
            self._updates
            and (message[2] & 0x78) >> 3 == wire.OPCODE_UPDATE
            and not message[2] & 0x80
        ):
            response = self._update(message, remote, signed)
        elif not tcp and message[8:10] != b"\x00\x00":
            response = self._udp_ixfr(message, remote, signed)
        if response is None:
            try:
                response = self.authority.answer(message, tcp)
            except TransferRequested as request:
                if signed is None:
                    raise
                raise _SignedTransfer(request, signed) from None
        if response is None or signed is None:
            return response
        return signed.sign_response(response, now=time.time())

    def _update(self, data: bytes, remote: backends.Address, signed: tsig.Signed | None) -> bytes:
        """Apply a dynamic UPDATE (RFC 2136) from ``remote``: authorised by
        ``allow_update`` (a network, or the key it is signed with), the difference in the
        journal on disk before the reply says NOERROR, NOTIFY sent for the new serial."""
        try:
            request = update.parse_update(data)
        except update.UpdateError as exc:
            log.info("UPDATE from %s: %s", remote[0], exc)
            return header_only(data, exc.rcode)
        zone = self.authority.zones.get(key_of(request.zone))
        if zone is None:
            return update.reply(request, wire.RCODE_NOTAUTH)
        name = wire.name_to_text(zone.origin)
        key = signed.key if signed is not None else None
        if not self.update_acl(zone).allows(remote, key):
            log.info(
                "refused UPDATE of %s from %s%s",
                name,
                remote[0],
                f" (key {key.text_name})" if key else " (unsigned)",
            )
            return update.reply(request, wire.RCODE_REFUSED)
        signer = self.signers.get(zone.origin_key)
        try:
            if signer is not None and any(rr.rtype in MANAGED_TYPES for rr in request.updates):
                # As Knot: the signer owns the DNSSEC records of a zone it signs.
                raise update.UpdateError(
                    wire.RCODE_REFUSED, "DNSKEY, RRSIG, NSEC, NSEC3 are made by the signer"
                )
            outcome = update.apply_update(zone, request)
            if outcome is not None and signer is not None:
                resigned = signer.sign(outcome[0], zone)  # only the changed RRsets anew
                outcome = resigned, diff_zones(zone, resigned)
        except update.UpdateError as exc:
            log.info("UPDATE of %s from %s: %s", name, remote[0], exc)
            return update.reply(request, exc.rcode)
        except (SigningError, ZoneError) as exc:
            log.error("UPDATE of %s: cannot sign: %s", name, exc)
            return update.reply(request, wire.RCODE_SERVFAIL)
        if outcome is None:
            return update.reply(request, wire.RCODE_NOERROR)
        new_zone, diff = outcome
        try:
            self.journals[zone.origin_key].append(diff)
        except OSError as exc:
            log.error("UPDATE of %s: cannot write the journal: %s", name, exc)
            return update.reply(request, wire.RCODE_SERVFAIL)
        zones = dict(self.authority.zones)
        zones[zone.origin_key] = new_zone
        self._set_zones(zones.values())
        log.info(
            "UPDATE of %s from %s: serial %d, %d removed, %d added",
            name,
            remote[0],
            new_zone.serial,
            len(diff.removed),
            len(diff.added),
        )
        self._notify_all([new_zone])
        return update.reply(request, wire.RCODE_NOERROR)

    def _udp_ixfr(
        self, data: bytes, remote: backends.Address, signed: tsig.Signed | None
    ) -> bytes | None:
        """IXFR over UDP (RFC 1995 §2): the differences since the client's serial when the
        journal has them and they fit in one datagram, else the current SOA alone (the
        client then asks over TCP). ``None`` when ``data`` is not such a query."""
        try:
            query = parse_query(data)
        except (QueryError, wire.WireError):
            return None
        zone = self.authority.zones.get(key_of(query.qname))
        if query.qtype != wire.TYPE_IXFR or zone is None or query.qclass != wire.CLASS_IN:
            return None
        if not self.transfer_acl(zone).allows(remote, signed.key if signed else None):
            return self.authority.build(query, Result(rcode=wire.RCODE_REFUSED, aa=False), False)
        assert query.ixfr_serial is not None
        diffs = None
        if serial_lt(query.ixfr_serial, zone.serial):
            diffs = self.journals[zone.origin_key].chain(query.ixfr_serial, zone.serial)
        if diffs is not None:
            limit = (
                max(min(query.edns.payload, EDNS_PAYLOAD), 512) if query.edns is not None else 512
            )
            messages = list(
                itertools.islice(transfer_messages(ixfr_records(zone, diffs), query, limit), 2)
            )
            if len(messages) == 1:
                return messages[0]
        result = Result()
        result.answer.add(zone.origin, zone.soa)
        return self.authority.build(query, result, False)

    async def _udp_loop(self, udp: backends.DatagramEndpoint) -> None:
        await udp.serve(self._answer_datagram)

    def _answer_datagram(self, data: bytes, addr: backends.Address) -> bytes | None:
        """The reply to one UDP query (``None``: none), called by the endpoint as each
        datagram arrives (:meth:`backends.DatagramEndpoint.serve`)."""
        tail = self._udp_replies.get(data[2:])
        if tail is not None and self._replies_zones is self.authority.zones:
            return data[:2] + tail
        try:
            return (
                self._answer_plain(data, False)
                if _plain(data)
                else self._answer_other(data, False, addr)
            )
        except Exception:  # a bug must not stop the server answering others
            log.exception("answering %r from %s failed", data[:64], addr)
            return None

    def _set_zones(self, zones: Iterable[Zone]) -> None:
        """Serve ``zones`` from now on; the replies remembered from the old ones go (and
        with them the last reference to the old zones)."""
        self.authority.set_zones(zones)
        self._udp_replies, self._tcp_replies = {}, {}
        self._replies_zones = self.authority.zones

    def _answer_plain(self, data: bytes, tcp: bool) -> bytes | None:
        """:meth:`Authority.answer` for a plain query (:func:`_plain`), its reply
        remembered by the query's bytes after the ID when it came from the authority's
        cache of prebuilt answers: such a reply is the query's ID followed by bytes that
        depend only on the rest of the query and the zones (the question copied as it
        came, 0x20 case included; RD and CD echoed; the EDNS shape). The next query with
        the same bytes (any ID) is answered with one dictionary lookup and one
        concatenation, before the header is parsed at all (PowerDNS's packet cache is
        the same idea). A new zone set (reload,
        UPDATE, re-signing: :meth:`_set_zones`) empties the memo; a lookup also checks
        that the authority still serves the zone set the memo was made from, so zones
        set on it any other way are never answered from the memo either. Replies of the
        slow path (misses, FORMERR, BADVERS, dropped queries) are not remembered: they
        keep their checks and counters."""
        authority = self.authority
        if self._replies_zones is not authority.zones:
            self._udp_replies, self._tcp_replies = {}, {}
            self._replies_zones = authority.zones
        misses = authority.stats["queries"]
        response = authority.answer(data, tcp)
        if (
            response is not None
            and authority.stats["queries"] == misses
            and len(data) <= REPLY_MEMO_QUERY_SIZE
        ):
            replies = self._tcp_replies if tcp else self._udp_replies
            if len(replies) >= REPLY_MEMO_LIMIT:
                replies.clear()
            replies[data[2:]] = response[2:]
        return response

    # -- TCP

    @property
    def tcp_count(self) -> int:
        """The TCP connections holding a slot now (DNS over TCP, TLS and HTTPS)."""
        return len(self._tcp_connections)

    def _take_slot(self, flow: backends.Flow) -> TcpConnection | None:
        """A slot for a new connection, the one that has gone longest without a whole
        query shed when all ``max_tcp_connections`` are taken (:func:`shed_choice`);
        None (``flow`` aborted) when there is nothing to shed."""
        assert self._net is not None
        connections = self._tcp_connections
        if len(connections) >= self.max_tcp_connections:
            victim = shed_choice(connections)
            if victim is None:
                flow.abort()
                return None
            log.debug("tcp slots full: shedding %s for %s", victim.flow.remote, flow.remote)
            connections.discard(victim)
            victim.shed()
        conn = TcpConnection(flow, self._net.now())
        connections.add(conn)
        return conn

    def _admit_https(self, flow: backends.Flow) -> backends.Flow | None:
        """A DoH connection takes a slot as a TCP one does (:meth:`_take_slot`) and holds
        it until cohttp closes or aborts it (:class:`_SlotFlow`); shedding it aborts it."""
        conn = self._take_slot(flow)
        if conn is None:
            return None
        remote = flow.remote
        slots = self._https_slots
        slots[remote] = conn

        def release() -> None:
            self._tcp_connections.discard(conn)
            if slots.get(remote) is conn:
                del slots[remote]

        return _SlotFlow(flow, release)

    def _https_progress(self, net: backends.Backend, handler: cohttp.Handler) -> cohttp.Handler:
        """``handler``, marking the connection of each request as making progress (a
        whole request head arrived: what ranks it in :func:`shed_choice`)."""
        slots = self._https_slots

        async def counted(request: cohttp.Request) -> cohttp.Response:
            conn = slots.get(request.remote) if request.remote is not None else None
            if conn is not None:
                conn.progress_at = net.now()
            return await handler(request)

        return counted

    def _secure_handler(
        self, context: ssl.SSLContext
    ) -> Callable[[backends.Flow], Awaitable[None]]:
        async def handle(flow: backends.Flow) -> None:
            await self._tcp_handler(flow, context)

        return handle

    async def _tcp_handler(
        self, flow: backends.Flow, tls_context: ssl.SSLContext | None = None
    ) -> None:
        """One connection: DNS over TCP, or over TLS (``tls_context``). Each holds one of
        the ``max_tcp_connections`` slots, its TLS handshake included."""
        assert self._net is not None
        net = self._net
        connections = self._tcp_connections
        conn = self._take_slot(flow)
        if conn is None:
            return
        try:
            with net.move_on_after(math.inf) as scope:
                conn.scope = scope
                if tls_context is None:
                    await self._tcp_session(flow, conn)
                else:
                    # The handshake has the whole-message deadline: a client that trickles
                    # it cannot hold the slot longer than one that trickles a query.
                    flow = await backends.tls.wrap_server(
                        flow, tls_context, handshake_timeout=self.tcp_message_timeout
                    )
                    conn.flow = flow
                    await self._tcp_session(flow, conn, padded=True)
                    await flow.close()  # close_notify, bounded by backends.tls
            if scope.cancelled_caught:
                flow.abort()
        except _Stalled:
            log.debug("tcp client %s stopped reading; dropped", flow.remote)
            flow.abort()
        except backends.NetworkError as exc:
            log.debug("tcp connection from %s: %s", flow.remote, exc)
        finally:
            connections.discard(conn)

    def _answer_any(self, data: bytes, tcp: bool) -> bytes | None:
        """What :meth:`_tcp_session` answers one message with, padded (transfers refused:
        they do not fit one HTTP response)."""
        try:
            response = (
                self.authority.answer(data, tcp)
                if _plain(data)
                else self._answer_other(data, tcp, ("", 0))
            )
        except TransferRequested as request:
            response = self.authority.build(
                request.query, Result(rcode=wire.RCODE_REFUSED, aa=False), True
            )
        return None if response is None else dot.pad(response, dot.RESPONSE_BLOCK)

    async def _tcp_session(
        self, flow: backends.Flow, conn: TcpConnection, padded: bool = False
    ) -> None:
        """Answer the queries of one connection (RFC 7766), pipelined ones in one write.

        Between queries the idle timeout applies; once a query's first byte is in, the
        rest must come by a deadline fixed then (RFC 7766 §6.2.3), so trickling bytes
        cannot hold the connection; a client that stops reading its answers is dropped
        after the idle timeout too. All three are one cancel scope for the whole
        session, whose deadline is moved only when it would fire early or more than a
        quarter of the shorter timeout late: entering a scope, or moving its deadline,
        costs more than answering a query, and a busy connection would otherwise pay it
        twice per read."""
        assert self._net is not None
        net = self._net
        idle, whole = self.tcp_idle_timeout, self.tcp_message_timeout
        slack = min(idle, whole) / 4
        buf = b""
        message_deadline = 0.0
        writing = False
        with net.move_on_after(idle + slack) as scope:

            def due(when: float) -> None:
                if not when <= scope.deadline <= when + slack:
                    scope.deadline = when + slack

            async def write(data: bytes) -> None:
                nonlocal writing
                writing = True
                due(net.now() + idle)
                await flow.write(data)
                writing = False

            while True:
                now = net.now()
                if buf and message_deadline <= now:
                    log.debug("tcp client %s: query not complete in time", flow.remote)
                    return
                due(message_deadline if buf else now + idle)
                chunk = await flow.read(65536)
                if not chunk:
                    return  # EOF
                now = net.now()
                if not buf:
                    message_deadline = now + whole
                buf = buf + chunk if buf else chunk
                out: list[bytes] = []
                pos = 0
                n = len(buf)
                while n - pos >= 2:
                    length = (buf[pos] << 8) | buf[pos + 1]
                    end = pos + 2 + length
                    if end > n:
                        break
                    msg = buf[pos + 2 : end]
                    pos = end
                    conn.progress_at = now
                    if length < wire.HEADER_SIZE:
                        if out:
                            await write(b"".join(out))
                        return  # not even a header: the stream cannot be trusted
                    tail = self._tcp_replies.get(msg[2:])
                    if tail is not None and self._replies_zones is self.authority.zones:
                        response: bytes | None = msg[:2] + tail
                    else:
                        try:
                            response = (
                                self._answer_plain(msg, True)
                                if _plain(msg)
                                else self._answer_other(msg, True, flow.remote)
                            )
                        except TransferRequested as request:
                            if out:
                                await write(b"".join(out))
                                out = []
                            signed = (
                                request.signed if isinstance(request, _SignedTransfer) else None
                            )
                            scope.deadline = math.inf  # each message has its own (_send)
                            await self._transfer(flow, request.query, signed)
                            continue
                        except Exception:
                            log.exception("answering %r over TCP failed", msg[:64])
                            continue
                    if response is not None:
                        if padded:
                            response = dot.pad(response, dot.RESPONSE_BLOCK)
                        out.append(_U16.pack(len(response)) + response)
                if pos:
                    buf = buf[pos:]
                if out:
                    await write(out[0] if len(out) == 1 else b"".join(out))
                if pos and buf:
                    # The next query's first bytes came with this read; its time runs from
                    # when the answers before it are out.
                    message_deadline = net.now() + whole
        if writing:
            raise _Stalled
        if buf:
            log.debug("tcp client %s: query not complete in time", flow.remote)
        # else: idle for longer than the idle timeout

    async def _write(self, flow: backends.Flow, data: bytes) -> None:
        """Write, giving up (and dropping the client) if it stops reading for longer than
        the idle timeout: a client that never reads must not hold a connection forever."""
        assert self._net is not None
        with self._net.move_on_after(self.tcp_idle_timeout) as scope:
            await flow.write(data)
        if scope.cancelled_caught:
            raise _Stalled

    async def _send(self, flow: backends.Flow, message: bytes) -> None:
        await self._write(flow, _U16.pack(len(message)) + message)

    # -- zone transfers

    async def _transfer(
        self, flow: backends.Flow, query: Query, signed: tsig.Signed | None = None
    ) -> None:
        signer = signed.stream() if signed is not None else None

        async def send(message: bytes) -> None:
            if signer is not None:
                message = signer.sign(message, now=time.time())
            await self._send(flow, message)

        authority = self.authority
        zone = authority.zones.get(tuple(label.lower() for label in query.qname))
        if zone is None or query.qclass != wire.CLASS_IN:
            rcode = wire.RCODE_NOTAUTH if zone is None else wire.RCODE_REFUSED
            await send(authority.build(query, Result(rcode=rcode, aa=False), True))
            return
        if not self.transfer_acl(zone).allows(flow.remote, signed.key if signed else None):
            log.info(
                "refused %s of %s to %s",
                wire.type_to_text(query.qtype),
                wire.name_to_text(zone.origin),
                flow.remote[0],
            )
            await send(authority.build(query, Result(rcode=wire.RCODE_REFUSED, aa=False), True))
            return
        if (
            query.qtype == wire.TYPE_IXFR
            and query.ixfr_serial is not None
            and not serial_lt(query.ixfr_serial, zone.serial)
        ):
            result = Result()
            result.answer.add(zone.origin, zone.soa)
            await send(authority.build(query, result, True))
            return
        diffs = None
        if query.qtype == wire.TYPE_IXFR and query.ixfr_serial is not None:
            diffs = self.journals[zone.origin_key].chain(query.ixfr_serial, zone.serial)
        log.info(
            "%s of %s serial %d to %s%s",
            wire.type_to_text(query.qtype),
            wire.name_to_text(zone.origin),
            zone.serial,
            flow.remote[0],
            f": {len(diffs)} change(s) since {query.ixfr_serial}"
            if diffs is not None
            else " (whole zone)"
            if query.qtype == wire.TYPE_IXFR
            else "",
        )
        if diffs is not None:
            messages = transfer_messages(ixfr_records(zone, diffs), query)
        else:
            messages = axfr_messages(zone, query)
        for message in messages:
            await send(message)

    # -- NOTIFY

    def _notify_all(self, zones: Sequence[Zone]) -> None:
        if self._tg is None or self._net is None:
            return
        for zone in zones:
            for target in self.notify_targets_of(zone):
                self._tg.start_soon(self._notify, self._net, zone, target)

    async def _notify(self, net: backends.Backend, zone: Zone, target: tuple[str, int]) -> None:
        """Send NOTIFY for ``zone`` to ``target`` until it answers (RFC 1996 §3.6).

        A newer NOTIFY for the same zone and target supersedes one still retrying.
        """
        key = (wire.name_key(zone.origin), target)
        previous = self._notifying.get(key)
        if previous is not None:
            previous.cancel()
        with net.move_on_after(math.inf) as scope:
            self._notifying[key] = scope
            try:
                await self._notify_until_acked(net, zone, target, key)
            finally:
                if self._notifying.get(key) is scope:
                    del self._notifying[key]

    async def _notify_until_acked(
        self,
        net: backends.Backend,
        zone: Zone,
        target: tuple[str, int],
        key: tuple[bytes, tuple[str, int]],
    ) -> None:
        host, port = target
        bind = "::" if ":" in host else "0.0.0.0"
        msg_id = random.getrandbits(16)
        b = wire.MessageBuilder(msg_id, wire.make_flags(opcode=wire.OPCODE_NOTIFY, aa=True))
        b.add_question(zone.origin, wire.TYPE_SOA)
        b.add_rr(
            wire.SECTION_ANSWER,
            zone.origin,
            wire.TYPE_SOA,
            wire.CLASS_IN,
            zone.soa.ttl,
            zone.soa.rdatas[0],
        )
        message = b.finish()
        notify_key = self._notify_keys.get(target)
        verifier = None
        if notify_key is not None:
            message, mac = tsig.sign_request(message, notify_key, now=time.time())
            verifier = tsig.ResponseVerifier(notify_key, mac)
        try:
            endpoint = await net.udp_bind(bind, 0)
        except backends.NetworkError as exc:
            log.warning("NOTIFY to %s:%d: cannot bind: %s", host, port, exc)
            return
        try:
            delay = self.notify_timeout
            for _attempt in range(self.notify_retries):
                try:
                    await endpoint.send(message, (host, port))
                except backends.NetworkError as exc:
                    log.debug("NOTIFY to %s:%d: %s", host, port, exc)
                with net.move_on_after(delay):
                    while True:
                        data, _addr = await endpoint.recv()
                        if len(data) < 12:
                            continue
                        rid, flags = struct.unpack_from("!HH", data)
                        if (
                            rid == msg_id
                            and flags & wire.QR
                            and (flags & wire.OPCODE_MASK) >> 11 == wire.OPCODE_NOTIFY
                        ):
                            rcode = flags & 0xF
                            signature = ""
                            if verifier is not None:
                                try:
                                    verifier.verify(data, now=time.time())
                                    signature = " (TSIG verified)"
                                except (tsig.TsigError, wire.WireError) as exc:
                                    signature = f" (TSIG: {exc})"
                            log.info(
                                "NOTIFY %s serial %d to %s:%d: %s%s",
                                wire.name_to_text(zone.origin),
                                zone.serial,
                                host,
                                port,
                                wire.rcode_to_text(rcode),
                                signature,
                            )
                            acked = self.notify_acks.get(key)
                            if acked is None or not serial_lt(zone.serial, acked):
                                self.notify_acks[key] = zone.serial
                            return
                delay *= 2
            log.warning(
                "NOTIFY %s to %s:%d: no answer after %d tries",
                wire.name_to_text(zone.origin),
                host,
                port,
                self.notify_retries,
            )
        finally:
            await endpoint.close()


def _check_distinct(zones: Sequence[Zone]) -> None:
    seen: dict[tuple[bytes, ...], Zone] = {}
    for zone in zones:
        other = seen.get(zone.origin_key)
        if other is not None:
            raise ValueError(
                f"zone {wire.name_to_text(zone.origin)} is given twice "
                f"({other.source or 'text'} and {zone.source or 'text'})"
            )
        seen[zone.origin_key] = zone


class TcpConnection:
    """A TCP connection holding one of the server's slots.

    ``progress_at`` is when it was accepted or last delivered a whole query: the
    measure :func:`shed_choice` ranks by.
    """

    __slots__ = ("flow", "progress_at", "scope")

    def __init__(self, flow: backends.Flow, now: float) -> None:
        self.flow = flow
        self.progress_at = now
        self.scope: backends.interface.CancelScope | None = None

    def shed(self) -> None:
        """End this connection's session (it aborts the flow on the way out)."""
        if self.scope is not None:
            self.scope.cancel()
        else:
            self.flow.abort()


def shed_choice(connections: Iterable[TcpConnection]) -> TcpConnection | None:
    """The connection to close when every slot is taken and another client arrives.

    The one that has gone longest without delivering a whole query: a connection idle since
    its last answer, or one trickling a query that never completes, loses its slot before
    one that is asking questions. A newcomer is accepted, so slow clients can hold slots
    only for as long as no one else needs them. ``None`` when there is nothing to shed.
    """
    return min(connections, key=_progress_at, default=None)


def _progress_at(conn: TcpConnection) -> float:
    return conn.progress_at


class _SlotFlow:
    """An accepted DoH connection that gives its slot back when closed or aborted (reads
    and writes go straight to the flow: no extra hop)."""

    __slots__ = (
        "_release",
        "flow",
        "read",
        "read_before",
        "shutdown_write",
        "write",
        "write_before",
    )

    def __init__(self, flow: backends.Flow, release: Callable[[], None]) -> None:
        self.flow = flow
        self.read = flow.read
        self.write = flow.write
        self.read_before = flow.read_before
        self.write_before = flow.write_before
        self.shutdown_write = flow.shutdown_write
        self._release = release

    @property
    def local(self) -> backends.Address:
        """The flow's local address."""
        return self.flow.local

    @property
    def remote(self) -> backends.Address:
        """The flow's peer address."""
        return self.flow.remote

    async def close(self) -> None:
        """Give the slot back and close the flow."""
        self._release()
        await self.flow.close()

    def abort(self) -> None:
        """Give the slot back and abort the flow."""
        self._release()
        self.flow.abort()

    async def __aenter__(self) -> _SlotFlow:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class _SlotListener:
    """A listener whose connections hold the DNS server's slots: ``admit`` gives each
    accepted flow its slot (a :class:`_SlotFlow`), or None when it was turned away."""

    def __init__(
        self,
        listener: backends.Listener,
        admit: Callable[[backends.Flow], backends.Flow | None],
    ) -> None:
        self.listener = listener
        self.admit = admit

    @property
    def address(self) -> backends.Address:
        """The bound address."""
        return self.listener.address

    async def accept(self) -> backends.Flow:
        """The next connection admitted."""
        while True:
            flow = self.admit(await self.listener.accept())
            if flow is not None:
                return flow

    async def __aiter__(self) -> AsyncIterator[backends.Flow]:
        async for accepted in self.listener:
            flow = self.admit(accepted)
            if flow is not None:
                yield flow

    async def serve(self, handler: Callable[[backends.Flow], Awaitable[None]]) -> None:
        """Accept and run ``handler`` for each admitted connection."""

        async def admitted(accepted: backends.Flow) -> None:
            flow = self.admit(accepted)
            if flow is not None:
                await handler(flow)

        await self.listener.serve(admitted)

    async def close(self) -> None:
        """Stop listening."""
        await self.listener.close()

    async def __aenter__(self) -> _SlotListener:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class _Stalled(Exception):
    """A TCP client stopped reading for longer than the idle timeout."""


def axfr_messages(zone: Zone, query: Query, size: int = AXFR_MESSAGE_SIZE) -> Iterator[bytes]:
    """The messages of a full transfer of ``zone`` (RFC 5936): the SOA, every RRset (glue
    included), the SOA again; the question in the first message only."""
    records = zone_records(zone)
    closing = (zone.origin, wire.TYPE_SOA, zone.soa.ttl, zone.soa.rdatas[0])
    return transfer_messages(itertools.chain(records, (closing,)), query, size)


def transfer_messages(
    records: Iterable[Rec], query: Query, size: int = AXFR_MESSAGE_SIZE
) -> Iterator[bytes]:
    """``records`` as the answer of a zone transfer: as many messages of about ``size``
    bytes as they need (each over it holds one record alone), the question in the first
    only; made as they are taken."""
    flags = wire.QR | wire.AA | (query.flags & wire.RD)
    builder = wire.MessageBuilder(query.id, flags, max_size=size)
    builder.add_raw_question(query.question)
    for name, rtype, ttl, rdata in records:
        parts = rdata_parts_cached(rtype, rdata)
        try:
            builder.add_rr(wire.SECTION_ANSWER, name, rtype, wire.CLASS_IN, ttl, parts)
        except wire.Overflow:
            yield builder.finish()
            builder = wire.MessageBuilder(query.id, flags, max_size=65535)
            builder.add_rr(wire.SECTION_ANSWER, name, rtype, wire.CLASS_IN, ttl, parts)
            builder.max_size = size
    yield builder.finish()


def load_zones(paths: Iterable[str]) -> list[Zone]:
    """Load each master file (origin from its $ORIGIN or SOA); :class:`ZoneError` on the
    first bad one."""
    return [load_zone_file(p) for p in paths]


__all__ = [
    "MAX_TCP_CONNECTIONS",
    "TCP_IDLE_TIMEOUT",
    "TCP_MESSAGE_TIMEOUT",
    "Acl",
    "AuthServer",
    "TcpConnection",
    "ZoneError",
    "ZonePolicy",
    "axfr_messages",
    "load_zones",
    "parse_hostport",
    "shed_choice",
    "split_notify_target",
    "transfer_messages",
]
