"""Typed record data (RDATA) for the common types, parsed from and written to the wire.

Every class parses from ``(message, offset, length)``: the whole DNS message (so that
compressed names inside the RDATA can be followed, through :func:`dns.wire.decode_name`),
the offset where the RDATA starts and its length. Parsing is strict: an RDATA that is too
short, too long or malformed raises :class:`RdataError` naming the type and the problem.

``to_wire()`` gives the RDATA bytes with names uncompressed (RFC 3597 forbids compressing
names in newer types, and it is always allowed not to compress); ``to_text()`` the
presentation format dig prints, written by the type's class in :mod:`dns.rdtypes` (which
owns each type's layout: text, wire, compression, canonical form).

Typed values: A, AAAA, NS, CNAME, PTR, DNAME, MX, TXT, SOA, SRV, CAA, SVCB and HTTPS
(SvcParams decoded for the registered keys, others kept raw); any other type is
:class:`Generic`: its bytes, checked against and printed by its :mod:`dns.rdtypes` class
(RFC 3597 ``\\# LEN HEX`` for unknown types). :func:`parse_rdata` picks the class.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass
from typing import ClassVar

from . import rdtypes, wire


class RdataError(ValueError):
    """RDATA that does not parse for its type; the message names the type and problem."""


# -- record types ----------------------------------------------------------------------

A = 1
NS = 2
CNAME = 5
SOA = 6
PTR = 12
MX = 15
TXT = 16
AAAA = 28
SRV = 33
DNAME = 39
OPT = 41
SVCB = 64
HTTPS = 65
ANY = 255
CAA = 257

type_to_text = wire.type_to_text
type_from_text = wire.type_from_text
class_to_text = wire.class_to_text
class_from_text = wire.class_from_text


# -- helpers ---------------------------------------------------------------------------


def _name_at(message: bytes, offset: int, end: int, rtype: str) -> tuple[str, int]:
    """Decode the name at ``offset``; it must end within the RDATA (at or before ``end``)."""
    try:
        name, after = wire.decode_name(message, offset)
    except ValueError as exc:
        raise RdataError(f"{rtype}: bad name in RDATA: {exc}") from exc
    if after > end:
        raise RdataError(f"{rtype}: name runs past the end of the RDATA")
    return wire.name_to_text(name), after


def _name_wire(name: str) -> bytes:
    try:
        return wire.encode_name(wire.name_from_text(name if name.endswith(".") else name + "."))
    except ValueError as exc:
        raise RdataError(f"cannot encode name {name!r}: {exc}") from exc


def _exact(rtype: str, got: int, want: int) -> None:
    if got != want:
        raise RdataError(f"{rtype}: RDATA is {got} bytes, expected {want}")


def _character_strings(message: bytes, offset: int, end: int, rtype: str) -> list[bytes]:
    strings = []
    pos = offset
    while pos < end:
        n = message[pos]
        pos += 1
        if pos + n > end:
            raise RdataError(f"{rtype}: character-string of {n} bytes runs past the RDATA")
        strings.append(bytes(message[pos : pos + n]))
        pos += n
    return strings


class Rdata:
    """Base class of the typed RDATA classes."""

    rtype: ClassVar[int]

    @classmethod
    def parse(cls, message: bytes, offset: int, length: int) -> Rdata:
        """Parse the RDATA of ``length`` bytes at ``offset`` in ``message``."""
        raise NotImplementedError

    def to_wire(self) -> bytes:
        """The RDATA bytes (names uncompressed)."""
        raise NotImplementedError

    def to_text(self) -> str:
        """The presentation format, as dig prints it (the type's class in
        :mod:`dns.rdtypes` writes it)."""
        return rdtypes.to_text(self.rtype, self.to_wire())

    def __str__(self) -> str:
        return self.to_text()


@dataclass(frozen=True, slots=True)
class ARecord(Rdata):
    """An IPv4 address."""

    address: str
    rtype: ClassVar[int] = A

    @classmethod
    def parse(cls, message: bytes, offset: int, length: int) -> ARecord:
        _exact("A", length, 4)
        return cls(".".join(str(b) for b in message[offset : offset + 4]))

    def to_wire(self) -> bytes:
        return ipaddress.IPv4Address(self.address).packed


@dataclass(frozen=True, slots=True)
class AAAARecord(Rdata):
    """An IPv6 address (compressed text form)."""

    address: str
    rtype: ClassVar[int] = AAAA

    @classmethod
    def parse(cls, message: bytes, offset: int, length: int) -> AAAARecord:
        _exact("AAAA", length, 16)
        return cls(str(ipaddress.IPv6Address(bytes(message[offset : offset + 16]))))

    def to_wire(self) -> bytes:
        return ipaddress.IPv6Address(self.address).packed


@dataclass(frozen=True, slots=True)
class _SingleName(Rdata):
    target: str
    type_name: ClassVar[str] = "?"

    @classmethod
    def parse(cls, message: bytes, offset: int, length: int) -> _SingleName:
        end = offset + length
        name, after = _name_at(message, offset, end, cls.type_name)
        if after != end:
            raise RdataError(f"{cls.type_name}: {end - after} bytes after the name")
        return cls(name)

    def to_wire(self) -> bytes:
        return _name_wire(self.target)


@dataclass(frozen=True, slots=True)
class NSRecord(_SingleName):
    """A name server for the owner's zone."""

    rtype: ClassVar[int] = NS
    type_name: ClassVar[str] = "NS"


@dataclass(frozen=True, slots=True)
class CNAMERecord(_SingleName):
    """The owner is an alias of ``target``."""

    rtype: ClassVar[int] = CNAME
    type_name: ClassVar[str] = "CNAME"


@dataclass(frozen=True, slots=True)
class PTRRecord(_SingleName):
    """A pointer (reverse lookups: the host name of an address)."""

    rtype: ClassVar[int] = PTR
    type_name: ClassVar[str] = "PTR"


@dataclass(frozen=True, slots=True)
class DNAMERecord(_SingleName):
    """Redirects the whole subtree below the owner to ``target`` (RFC 6672)."""

    rtype: ClassVar[int] = DNAME
    type_name: ClassVar[str] = "DNAME"


@dataclass(frozen=True, slots=True)
class MXRecord(Rdata):
    """A mail exchanger with its preference (lower first)."""

    preference: int
    exchange: str
    rtype: ClassVar[int] = MX

    @classmethod
    def parse(cls, message: bytes, offset: int, length: int) -> MXRecord:
        end = offset + length
        if length < 3:
            raise RdataError(f"MX: RDATA is {length} bytes, too short")
        (pref,) = struct.unpack_from("!H", message, offset)
        name, after = _name_at(message, offset + 2, end, "MX")
        if after != end:
            raise RdataError(f"MX: {end - after} bytes after the exchange name")
        return cls(pref, name)

    def to_wire(self) -> bytes:
        return struct.pack("!H", self.preference) + _name_wire(self.exchange)


@dataclass(frozen=True, slots=True)
class TXTRecord(Rdata):
    """One or more character-strings."""

    strings: tuple[bytes, ...]
    rtype: ClassVar[int] = TXT

    @classmethod
    def parse(cls, message: bytes, offset: int, length: int) -> TXTRecord:
        if length == 0:
            raise RdataError("TXT: empty RDATA (at least one character-string is required)")
        return cls(tuple(_character_strings(message, offset, offset + length, "TXT")))

    @property
    def text(self) -> str:
        """The strings joined, decoded as UTF-8 (invalid bytes replaced)."""
        return b"".join(self.strings).decode("utf-8", "replace")

    def to_wire(self) -> bytes:
        out = bytearray()
        for s in self.strings:
            if len(s) > 255:
                raise RdataError(f"TXT: a character-string is {len(s)} bytes, over 255")
            out.append(len(s))
            out += s
        return bytes(out)


@dataclass(frozen=True, slots=True)
class SOARecord(Rdata):
    """Start of authority; ``minimum`` bounds the negative-caching TTL (RFC 2308)."""

    mname: str
    rname: str
    serial: int
    refresh: int
    retry: int
    expire: int
    minimum: int
    rtype: ClassVar[int] = SOA

    @classmethod
    def parse(cls, message: bytes, offset: int, length: int) -> SOARecord:
        end = offset + length
        mname, pos = _name_at(message, offset, end, "SOA")
        rname, pos = _name_at(message, pos, end, "SOA")
        if end - pos != 20:
            raise RdataError(f"SOA: {end - pos} bytes after the names, expected 20")
        return cls(mname, rname, *struct.unpack_from("!IIIII", message, pos))

    def to_wire(self) -> bytes:
        return (
            _name_wire(self.mname)
            + _name_wire(self.rname)
            + struct.pack(
                "!IIIII", self.serial, self.refresh, self.retry, self.expire, self.minimum
            )
        )


@dataclass(frozen=True, slots=True)
class SRVRecord(Rdata):
    """A service location (RFC 2782)."""

    priority: int
    weight: int
    port: int
    target: str
    rtype: ClassVar[int] = SRV

    @classmethod
    def parse(cls, message: bytes, offset: int, length: int) -> SRVRecord:
        end = offset + length
        if length < 7:
            raise RdataError(f"SRV: RDATA is {length} bytes, too short")
        prio, weight, port = struct.unpack_from("!HHH", message, offset)
        name, after = _name_at(message, offset + 6, end, "SRV")
        if after != end:
            raise RdataError(f"SRV: {end - after} bytes after the target name")
        return cls(prio, weight, port, name)

    def to_wire(self) -> bytes:
        return struct.pack("!HHH", self.priority, self.weight, self.port) + _name_wire(self.target)


@dataclass(frozen=True, slots=True)
class CAARecord(Rdata):
    """Certification authority authorization (RFC 8659)."""

    flags: int
    tag: str
    value: bytes
    rtype: ClassVar[int] = CAA

    @classmethod
    def parse(cls, message: bytes, offset: int, length: int) -> CAARecord:
        if length < 2:
            raise RdataError(f"CAA: RDATA is {length} bytes, too short")
        flags, taglen = message[offset], message[offset + 1]
        if taglen == 0 or 2 + taglen > length:
            raise RdataError(f"CAA: tag length {taglen} does not fit the RDATA")
        tag = bytes(message[offset + 2 : offset + 2 + taglen])
        if not tag.isalnum() or not tag.isascii():
            raise RdataError(f"CAA: tag {tag!r} is not alphanumeric")
        value = bytes(message[offset + 2 + taglen : offset + length])
        return cls(flags, tag.decode("ascii"), value)

    def to_wire(self) -> bytes:
        tag = self.tag.encode("ascii")
        return bytes([self.flags, len(tag)]) + tag + self.value


SVC_KEYS = rdtypes.SVC_KEYS


@dataclass(frozen=True, slots=True)
class SVCBRecord(Rdata):
    """Service binding (RFC 9460): priority 0 is alias mode, otherwise service mode.

    ``params`` keeps every SvcParam as ``(key, raw value)`` in wire order; the registered
    keys are checked and formatted by :meth:`to_text`, unknown keys print as ``keyNNNN``.
    """

    priority: int
    target: str
    params: tuple[tuple[int, bytes], ...]
    rtype: ClassVar[int] = SVCB
    type_name: ClassVar[str] = "SVCB"

    @classmethod
    def parse(cls, message: bytes, offset: int, length: int) -> SVCBRecord:
        end = offset + length
        tn = cls.type_name
        if length < 3:
            raise RdataError(f"{tn}: RDATA is {length} bytes, too short")
        (prio,) = struct.unpack_from("!H", message, offset)
        # RFC 9460: the target name is never compressed; decode it without following
        # pointers beyond what decode_name permits, then insist it ends inside the RDATA.
        target, pos = _name_at(message, offset + 2, end, tn)
        try:
            params = rdtypes.svc_params(message, pos, end, tn)
        except rdtypes.RdataWireError as exc:
            raise RdataError(str(exc)) from None
        return cls(prio, target, tuple(params))

    def to_wire(self) -> bytes:
        out = bytearray(struct.pack("!H", self.priority))
        out += _name_wire(self.target)
        for key, value in self.params:
            out += struct.pack("!HH", key, len(value))
            out += value
        return bytes(out)


@dataclass(frozen=True, slots=True)
class HTTPSRecord(SVCBRecord):
    """SVCB for HTTPS origins (RFC 9460 section 9)."""

    rtype: ClassVar[int] = HTTPS
    type_name: ClassVar[str] = "HTTPS"


@dataclass(frozen=True, slots=True)
class Generic(Rdata):
    """RDATA of a type without a typed class here: the bytes, names uncompressed, printed
    by the type's class in :mod:`dns.rdtypes` (RFC 3597 form for unknown types)."""

    type_code: int
    data: bytes
    rtype: ClassVar[int] = 0

    @classmethod
    def parse(cls, message: bytes, offset: int, length: int) -> Generic:
        return cls(0, bytes(message[offset : offset + length]))

    @classmethod
    def parse_typed(cls, rtype: int, message: bytes, offset: int, length: int) -> Generic:
        """Like :meth:`parse`, remembering the type code; names in the RDATA of types with
        a layout in :mod:`dns.rdtypes` are uncompressed and the layout checked."""
        try:
            return cls(rtype, rdtypes.expand(rtype, message, offset, length))
        except rdtypes.RdataWireError as exc:
            raise RdataError(f"{type_to_text(rtype)}: {exc}") from None

    def to_text(self) -> str:
        return rdtypes.to_text(self.type_code, self.data)

    def to_wire(self) -> bytes:
        return self.data


RDATA_CLASSES: dict[int, type[Rdata]] = {
    cls.rtype: cls
    for cls in (
        ARecord,
        AAAARecord,
        NSRecord,
        CNAMERecord,
        PTRRecord,
        DNAMERecord,
        MXRecord,
        TXTRecord,
        SOARecord,
        SRVRecord,
        CAARecord,
        SVCBRecord,
        HTTPSRecord,
    )
}


def parse_rdata(rtype: int, message: bytes, offset: int, length: int) -> Rdata:
    """Parse RDATA of type ``rtype`` into its class (or :class:`Generic`).

    Raises :class:`RdataError` when the bytes do not fit the type or run past the message.
    """
    if offset + length > len(message):
        raise RdataError(
            f"{type_to_text(rtype)}: RDATA of {length} bytes runs past the end of the message"
        )
    cls = RDATA_CLASSES.get(rtype)
    if cls is None:
        return Generic.parse_typed(rtype, message, offset, length)
    return cls.parse(message, offset, length)


__all__ = [
    "RDATA_CLASSES",
    "SVC_KEYS",
    "AAAARecord",
    "ARecord",
    "CAARecord",
    "CNAMERecord",
    "DNAMERecord",
    "Generic",
    "HTTPSRecord",
    "MXRecord",
    "NSRecord",
    "PTRRecord",
    "Rdata",
    "RdataError",
    "SOARecord",
    "SRVRecord",
    "SVCBRecord",
    "TXTRecord",
    "class_from_text",
    "class_to_text",
    "parse_rdata",
    "type_from_text",
    "type_to_text",
]
