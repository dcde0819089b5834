"""TSIG: transaction signatures with shared secrets (RFC 8945), sans-IO.

A :class:`Key` is a name, an HMAC algorithm and a secret; :func:`parse_key` reads dig's
``-y`` form (``[ALG:]NAME:SECRET``, also ``NAME:ALG:SECRET``). The server side::

    try:
        signed = verify_request(data, keyring, now=time.time())
    except TsigError as exc:
        reply = exc.response   # NOTAUTH with the TSIG error (BADKEY, BADSIG, BADTIME), or FORMERR
    else:
        response = answer(signed.message)              # the query without its TSIG
        reply = signed.sign_response(response, now=time.time())

and for a multi-message answer (AXFR, IXFR) a :class:`StreamSigner` signs the first message
over the request's MAC and each following one over the previous MAC and the timers only
(RFC 8945 §5.3.1). The client side is :func:`sign_request` and :class:`ResponseVerifier`.

Checks, in the order of RFC 8945 §5.2: the key (unknown name, or an algorithm other than
the key's: BADKEY), the MAC (wrong: BADSIG; a truncated length outside what §5.2.2.1 allows:
FORMERR), the time (outside the fudge: BADTIME, answered signed and carrying our time).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from . import wire
from .wire import Name

BADSIG = 16
BADKEY = 17
BADTIME = 18
BADTRUNC = 22
FUDGE = 300
EDNS_PAYLOAD = 1232
"""The UDP payload size our error replies advertise in their OPT record."""
"""Seconds of clock difference allowed (RFC 8945 §10 recommends 300)."""

ERROR_NAMES = {0: "NOERROR", BADSIG: "BADSIG", BADKEY: "BADKEY", BADTIME: "BADTIME", 22: "BADTRUNC"}

_HASHES: dict[str, Callable[[], hashlib._Hash]] = {
    "hmac-sha1": hashlib.sha1,
    "hmac-sha224": hashlib.sha224,
    "hmac-sha256": hashlib.sha256,
    "hmac-sha384": hashlib.sha384,
    "hmac-sha512": hashlib.sha512,
}
SIGNING_ALGORITHMS = ("hmac-sha256", "hmac-sha512")
"""Algorithms keys may be configured with to sign; the others only verify (RFC 8945 §6)."""

_U16 = struct.Struct("!H")
_FIXED = struct.Struct("!HHIH")  # type, class, ttl, rdlength
_ANY = 255


class TsigError(Exception):
    """A signed message that fails a check: ``error`` (a TSIG error, or 0 with ``rcode``
    FORMERR for a malformed record) and, on the server side, ``response``: the reply to send."""

    def __init__(self, message: str, error: int, rcode: int = wire.RCODE_NOTAUTH) -> None:
        super().__init__(message)
        self.error = error
        self.rcode = rcode
        self.response: bytes | None = None


@dataclass(frozen=True, slots=True)
class Key:
    """A TSIG key: ``name`` (a domain name), ``algorithm`` (``"hmac-sha256"``, ...),
    ``secret`` (the raw bytes)."""

    name: Name
    algorithm: str
    secret: bytes

    @property
    def key(self) -> bytes:
        """The canonical form of the name: how keys are looked up."""
        return wire.name_key(self.name)

    @property
    def text_name(self) -> str:
        """The name without its final dot, as configurations spell it."""
        return wire.name_to_text(self.name).rstrip(".") or "."


def algorithm_name(text: str) -> str:
    """``"HMAC-SHA256."`` or ``"hmac-sha256"`` -> ``"hmac-sha256"``; ``ValueError`` for others."""
    name = text.lower().rstrip(".")
    if name not in _HASHES:
        raise ValueError(f"unknown TSIG algorithm {text!r} (known: {', '.join(_HASHES)})")
    return name


def parse_key(spec: str) -> Key:
    """A key from dig's ``-y`` form: ``[ALG:]NAME:SECRET`` (ALG defaults to hmac-sha256), or
    ``NAME:ALG:SECRET``; SECRET in base64. ``ValueError`` naming what is wrong."""
    parts = spec.split(":")
    if len(parts) == 2:
        alg, name, secret = "hmac-sha256", parts[0], parts[1]
    elif len(parts) == 3:
        if parts[0].lower().rstrip(".") in _HASHES:
            alg, name, secret = parts
        else:
            name, alg, secret = parts
    else:
        raise ValueError(f"key {spec.split(':')[0]!r}: expected [ALG:]NAME:SECRET")
    alg = algorithm_name(alg)
    if not name:
        raise ValueError("key with an empty name")
    try:
        key_name = wire.name_from_text(name if name.endswith(".") else name + ".")
    except wire.WireError as exc:
        raise ValueError(f"key name {name!r}: {exc}") from None
    return Key(key_name, alg, decode_secret(secret, name))


def decode_secret(text: str, what: str = "key") -> bytes:
    """Base64 secret -> bytes; ``ValueError`` when it is not base64 or empty."""
    try:
        secret = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise ValueError(f"key {what!r}: the secret is not base64") from None
    if not secret:
        raise ValueError(f"key {what!r}: the secret is empty")
    return secret


class Keyring:
    """Keys by name (case-insensitive)."""

    def __init__(self, keys: Iterable[Key] = ()) -> None:
        self._keys: dict[bytes, Key] = {}
        for key in keys:
            self.add(key)

    def add(self, key: Key) -> None:
        """Add ``key``; ``ValueError`` if another key has its name."""
        if key.key in self._keys and self._keys[key.key] != key:
            raise ValueError(f"key {key.text_name} is given twice")
        self._keys[key.key] = key

    def get(self, name: Name) -> Key | None:
        """The key named ``name``, or ``None``."""
        return self._keys.get(wire.name_key(name))

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self) -> Iterator[Key]:
        return iter(self._keys.values())

    def __bool__(self) -> bool:
        return bool(self._keys)


# ---------------------------------------------------------------------------- the record


@dataclass(frozen=True, slots=True)
class Record:
    """A TSIG record found at the end of a message (``start``: its offset)."""

    key_name: Name
    algorithm: Name
    time_signed: int
    fudge: int
    mac: bytes
    original_id: int
    error: int
    other: bytes
    start: int

    @property
    def algorithm_text(self) -> str:
        """The algorithm name, lowercased, without the final dot."""
        return wire.name_to_text(self.algorithm).lower().rstrip(".")


def _skip_rr(data: bytes, pos: int) -> int:
    pos = wire.skip_name(data, pos)
    if pos + 10 > len(data):
        raise wire.TruncatedMessage("message ends inside a record")
    length: int = _U16.unpack_from(data, pos + 8)[0]
    return pos + 10 + length


def find(data: bytes) -> Record | None:
    """The TSIG record of ``data`` if its last record is one; ``None`` if there is none.

    Raises :class:`TsigError` (FORMERR) for a TSIG anywhere but last in the additional
    section or a malformed one (RFC 8945 §5.1), :class:`wire.WireError` for a bad message.
    """
    header = wire.parse_header(data)
    records = header[3] + header[4] + header[5]
    if not records:
        return None
    pos = wire.HEADER_SIZE
    for _ in range(header[2]):
        pos = wire.skip_name(data, pos) + 4
    start = pos
    for index in range(records):
        start = pos
        name_end = wire.skip_name(data, pos)
        if name_end + 2 > len(data):
            raise wire.TruncatedMessage("message ends inside a record")
        rtype = _U16.unpack_from(data, name_end)[0]
        pos = _skip_rr(data, pos)
        if pos > len(data):
            raise wire.TruncatedMessage("message ends inside a record")
        if rtype == wire.TYPE_TSIG and index != records - 1:
            raise TsigError("TSIG record not last in the message", 0, wire.RCODE_FORMERR)
    name_end = wire.skip_name(data, start)
    rtype, rclass, ttl, rdlength = _FIXED.unpack_from(data, name_end)
    if rtype != wire.TYPE_TSIG:
        return None
    if pos != len(data):
        raise TsigError("bytes after the TSIG record", 0, wire.RCODE_FORMERR)
    if rclass != _ANY or ttl != 0:
        raise TsigError("TSIG record not of class ANY and TTL 0", 0, wire.RCODE_FORMERR)
    key_name, _ = wire.decode_name(data, start)
    rd = name_end + 10
    end = rd + rdlength
    try:
        algorithm, p = wire.decode_name(data, rd)
        if p + 10 > end:
            raise TsigError("TSIG record truncated", 0, wire.RCODE_FORMERR)
        high, low, fudge, mac_size = struct.unpack_from("!HIHH", data, p)
        p += 10
        mac = data[p : p + mac_size]
        p += mac_size
        if p + 6 > end:
            raise TsigError("TSIG record truncated", 0, wire.RCODE_FORMERR)
        original_id, error, other_len = struct.unpack_from("!HHH", data, p)
        p += 6
        other = data[p : p + other_len]
        if p + other_len != end:
            raise TsigError("TSIG record of the wrong length", 0, wire.RCODE_FORMERR)
    except wire.WireError as exc:
        raise TsigError(f"TSIG record: {exc}", 0, wire.RCODE_FORMERR) from None
    return Record(
        key_name, algorithm, (high << 32) | low, fudge, mac, original_id, error, other, start
    )


def _strip(data: bytes, record: Record) -> bytes:
    """The message as it was before the TSIG was added: original ID, ARCOUNT one less."""
    arcount = _U16.unpack_from(data, 10)[0]
    return (
        _U16.pack(record.original_id)
        + data[2:10]
        + _U16.pack(arcount - 1)
        + data[12 : record.start]
    )


def _variables(
    key: Key, time_signed: int, fudge: int, error: int, other: bytes, *, timers_only: bool
) -> bytes:
    timers = struct.pack("!HIH", time_signed >> 32, time_signed & 0xFFFFFFFF, fudge)
    if timers_only:
        return timers
    return (
        key.key
        + struct.pack("!HI", _ANY, 0)
        + wire.name_key(wire.name_from_text(key.algorithm + "."))
        + timers
        + struct.pack("!HH", error, len(other))
        + other
    )


def _mac(key: Key, *parts: bytes) -> bytes:
    h = hmac.new(key.secret, digestmod=_HASHES[key.algorithm])
    for part in parts:
        h.update(part)
    return h.digest()


def _prefix(mac: bytes | None) -> bytes:
    return b"" if mac is None else _U16.pack(len(mac)) + mac


def _append(
    message: bytes,
    key: Key,
    *,
    time_signed: int,
    fudge: int,
    mac: bytes,
    error: int = 0,
    other: bytes = b"",
) -> bytes:
    (original_id,) = _U16.unpack_from(message, 0)
    arcount = _U16.unpack_from(message, 10)[0]
    rdata = (
        wire.encode_name(wire.name_from_text(key.algorithm + "."))
        + struct.pack("!HIHH", time_signed >> 32, time_signed & 0xFFFFFFFF, fudge, len(mac))
        + mac
        + struct.pack("!HHH", original_id, error, len(other))
        + other
    )
    rr = wire.encode_name(key.name) + _FIXED.pack(wire.TYPE_TSIG, _ANY, 0, len(rdata)) + rdata
    return message[:10] + _U16.pack(arcount + 1) + message[12:] + rr


def sign(
    message: bytes,
    key: Key,
    *,
    now: float,
    request_mac: bytes | None = None,
    prior_mac: bytes | None = None,
    fudge: int = FUDGE,
    error: int = 0,
    other: bytes = b"",
) -> tuple[bytes, bytes]:
    """Sign ``message``: ``(signed message, MAC)``.

    A request: no MAC given. A response: ``request_mac``. A later message of a multi-message
    response: ``prior_mac`` (the MAC of the previous signed message; only the timers are
    covered, RFC 8945 §5.3.1).
    """
    time_signed = int(now)
    if prior_mac is not None:
        digest = _mac(
            key,
            _prefix(prior_mac),
            message,
            _variables(key, time_signed, fudge, 0, b"", timers_only=True),
        )
    else:
        digest = _mac(
            key,
            _prefix(request_mac),
            message,
            _variables(key, time_signed, fudge, error, other, timers_only=False),
        )
    signed = _append(
        message, key, time_signed=time_signed, fudge=fudge, mac=digest, error=error, other=other
    )
    return signed, digest


def sign_request(
    message: bytes, key: Key, *, now: float, fudge: int = FUDGE
) -> tuple[bytes, bytes]:
    """Sign a request: ``(signed message, MAC)``; keep the MAC to verify the response."""
    return sign(message, key, now=now, fudge=fudge)


def _check_mac(key: Key, record: Record, expected: bytes) -> None:
    size = len(record.mac)
    full = len(expected)
    # RFC 8945 §5.2.2.1: a MAC may be truncated to no less than the larger of 10 octets
    # and half the hash's length; longer than the hash, or shorter than that: FORMERR.
    if size > full or size < max(10, (full + 1) // 2):
        raise TsigError(
            f"TSIG MAC of {size} bytes for {key.algorithm} (allowed {max(10, (full + 1) // 2)}..{full})",
            0,
            wire.RCODE_FORMERR,
        )
    if not hmac.compare_digest(record.mac, expected[:size]):
        raise TsigError(f"TSIG MAC does not verify with key {key.text_name}", BADSIG)


def _check_time(record: Record, now: float) -> None:
    if abs(int(now) - record.time_signed) > record.fudge:
        raise TsigError(
            f"TSIG time {record.time_signed} is more than {record.fudge}s from ours ({int(now)})",
            BADTIME,
        )


# ---------------------------------------------------------------------------- server side


@dataclass(slots=True)
class Signed:
    """A request whose TSIG verified: ``message`` without it (original ID restored),
    ``key``, ``mac`` (the request's MAC, which the response covers)."""

    message: bytes
    key: Key
    mac: bytes
    record: Record

    def sign_response(self, response: bytes, *, now: float) -> bytes:
        """``response`` signed over the request's MAC (RFC 8945 §5.3)."""
        return sign(response, self.key, now=now, request_mac=self.mac)[0]

    def stream(self) -> StreamSigner:
        """A signer for the messages of a multi-message response (AXFR, IXFR)."""
        return StreamSigner(self.key, self.mac)


class StreamSigner:
    """Signs each message of a multi-message response: the first over the request's MAC, the
    next ones over the previous MAC and the timers (RFC 8945 §5.3.1). Every message is
    signed (the RFC requires at least every hundredth)."""

    def __init__(self, key: Key, request_mac: bytes) -> None:
        self.key = key
        self._request_mac = request_mac
        self._prior: bytes | None = None

    def sign(self, message: bytes, *, now: float) -> bytes:
        """The next message, signed."""
        if self._prior is None:
            signed, self._prior = sign(message, self.key, now=now, request_mac=self._request_mac)
        else:
            signed, self._prior = sign(message, self.key, now=now, prior_mac=self._prior)
        return signed


def verify_request(data: bytes, keyring: Keyring, *, now: float) -> Signed | None:
    """Check the TSIG of the request ``data``: ``None`` when it has none, a :class:`Signed`
    when it verifies; else raises :class:`TsigError` whose ``response`` is the answer to send
    (as NSD answers: NOTAUTH with the TSIG error; unsigned for BADKEY and BADSIG, signed and
    carrying our time for BADTIME; FORMERR for a malformed TSIG)."""
    try:
        record = find(data)
    except TsigError as exc:
        exc.response = _header_only(data, wire.RCODE_FORMERR)
        raise
    if record is None:
        return None
    key = keyring.get(record.key_name)
    try:
        if key is None or key.algorithm != record.algorithm_text:
            raise TsigError(
                f"TSIG key {wire.name_to_text(record.key_name)} ({record.algorithm_text}) is not known",
                BADKEY,
            )
        stripped = _strip(data, record)
        expected = _mac(
            key,
            stripped,
            _variables(
                key, record.time_signed, record.fudge, record.error, record.other, timers_only=False
            ),
        )
        _check_mac(key, record, expected)
        _check_time(record, now)
    except TsigError as exc:
        exc.response = error_response(data, record, exc, key, now=now)
        raise
    return Signed(stripped, key, record.mac, record)


def _header_only(data: bytes, rcode: int) -> bytes:
    qid, qflags = struct.unpack_from("!HH", data, 0)
    flags = wire.QR | (qflags & (wire.OPCODE_MASK | wire.RD)) | rcode
    return wire.pack_header(qid, flags)


def error_response(
    data: bytes, record: Record, error: TsigError, key: Key | None, *, now: float
) -> bytes:
    """The reply to a request whose TSIG failed (RFC 8945 §5.2), shaped as NSD's: the rcode
    (NOTAUTH, or FORMERR for a malformed record), no question, an OPT record if the request
    had one, a TSIG carrying the error; its MAC empty (BADKEY, BADSIG), or a real one with
    our time in Other Data (BADTIME)."""
    if error.rcode == wire.RCODE_FORMERR:
        return _header_only(data, wire.RCODE_FORMERR)
    qid, qflags = struct.unpack_from("!HH", data, 0)
    flags = wire.QR | (qflags & (wire.OPCODE_MASK | wire.RD)) | error.rcode
    try:
        has_opt = wire.Message.parse(_strip(data, record)).edns is not None
    except wire.WireError:
        has_opt = False
    opt = b"\x00" + _FIXED.pack(wire.TYPE_OPT, EDNS_PAYLOAD, 0, 0) if has_opt else b""
    message = wire.pack_header(qid, flags, 0, 0, 0, 1 if has_opt else 0) + opt
    reply_key = key if key is not None else Key(record.key_name, record.algorithm_text, b"")
    if error.error == BADTIME and key is not None:
        ours = int(now)
        other = struct.pack("!HI", ours >> 32, ours & 0xFFFFFFFF)
        digest = _mac(
            key,
            _prefix(record.mac),
            message,
            _variables(key, record.time_signed, record.fudge, BADTIME, other, timers_only=False),
        )
        return _append(
            message,
            key,
            time_signed=record.time_signed,
            fudge=record.fudge,
            mac=digest,
            error=BADTIME,
            other=other,
        )
    return _append_raw_alg(message, reply_key, record, error.error)


def _append_raw_alg(message: bytes, key: Key, record: Record, error: int) -> bytes:
    """An unsigned TSIG (empty MAC) naming the request's key and algorithm as sent."""
    (original_id,) = _U16.unpack_from(message, 0)
    rdata = (
        wire.encode_name(record.algorithm)
        + struct.pack(
            "!HIHH", record.time_signed >> 32, record.time_signed & 0xFFFFFFFF, record.fudge, 0
        )
        + struct.pack("!HHH", original_id, error, 0)
    )
    rr = (
        wire.encode_name(record.key_name) + _FIXED.pack(wire.TYPE_TSIG, _ANY, 0, len(rdata)) + rdata
    )
    arcount = _U16.unpack_from(message, 10)[0]
    return message[:10] + _U16.pack(arcount + 1) + message[12:] + rr


# ---------------------------------------------------------------------------- client side


class ResponseVerifier:
    """Verifies the responses to a request signed with ``key`` and MAC ``request_mac``: one
    response, or each message of a multi-message one (RFC 8945 §5.3.1: later messages are
    covered by the previous MAC and the timers; up to 99 unsigned messages may come between
    two signed ones, and the last message must be signed: call :meth:`finish`).

    :meth:`verify` returns the message without its TSIG, or raises :class:`TsigError`.
    """

    MAX_UNSIGNED = 99

    def __init__(self, key: Key, request_mac: bytes) -> None:
        self.key = key
        self._request_mac = request_mac
        self._prior: bytes | None = None
        self._pending: list[bytes] = []

    def verify(self, data: bytes, *, now: float) -> bytes:
        """Check one response; returns it without its TSIG."""
        record = find(data)
        if record is None:
            if self._prior is None:
                rcode = _U16.unpack_from(data, 2)[0] & 0xF
                raise TsigError(f"the response ({wire.rcode_to_text(rcode)}) is not signed", BADSIG)
            if len(self._pending) >= self.MAX_UNSIGNED:
                raise TsigError(f"more than {self.MAX_UNSIGNED} unsigned messages in a row", BADSIG)
            self._pending.append(data)
            return data
        if record.error:
            raise TsigError(
                f"the server answered TSIG error {ERROR_NAMES.get(record.error, record.error)}",
                record.error,
            )
        key = self.key
        if wire.name_key(record.key_name) != key.key or record.algorithm_text != key.algorithm:
            raise TsigError(
                f"the response is signed with another key ({wire.name_to_text(record.key_name)})",
                BADKEY,
            )
        stripped = _strip(data, record)
        if self._prior is None:
            expected = _mac(
                key,
                _prefix(self._request_mac),
                stripped,
                _variables(
                    key,
                    record.time_signed,
                    record.fudge,
                    record.error,
                    record.other,
                    timers_only=False,
                ),
            )
        else:
            expected = _mac(
                key,
                _prefix(self._prior),
                *self._pending,
                stripped,
                _variables(key, record.time_signed, record.fudge, 0, b"", timers_only=True),
            )
        _check_mac(key, record, expected)
        _check_time(record, now)
        self._prior = record.mac
        self._pending = []
        return stripped

    def finish(self) -> None:
        """Call after the last message: raises :class:`TsigError` if it was unsigned."""
        if self._pending:
            raise TsigError("the last message of the response is not signed", BADSIG)


__all__ = [
    "BADKEY",
    "BADSIG",
    "BADTIME",
    "BADTRUNC",
    "FUDGE",
    "Key",
    "Keyring",
    "Record",
    "ResponseVerifier",
    "Signed",
    "StreamSigner",
    "TsigError",
    "algorithm_name",
    "find",
    "parse_key",
    "sign",
    "sign_request",
    "verify_request",
]
