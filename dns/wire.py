"""The DNS wire format (RFC 1035 §4, RFC 6891): a strict, fast, sans-IO codec.

Shared by the authoritative server and the stub resolver. Everything here works on
``bytes`` and plain tuples; nothing does IO.

Names
-----
A domain name is a :data:`Name`: a tuple of labels, each label the raw ``bytes`` exactly as
they appeared on the wire (original case kept, so a 0x20-randomised question can be echoed
byte-exact), without the empty root label. The root is ``()``. ``www.Example.com.`` is
``(b"www", b"Example", b"com")``.

* :func:`name_key` gives the canonical key: the uncompressed wire form with ASCII letters
  lowercased (RFC 4343). Use it for dict keys and comparisons.
* :func:`decode_name` reads a possibly compressed name from a message, enforcing every
  limit; :func:`encode_name` writes an uncompressed one; :class:`MessageBuilder` compresses.
* :func:`name_from_text` / :func:`name_to_text` convert to and from presentation format
  (``\\.`` and ``\\DDD`` escapes).

Errors
------
Every malformed input raises a subclass of :class:`WireError` (itself a ``ValueError``)
whose message names the problem and the offset. Each one means "answer FORMERR" for a server
(when the header could be read) and "discard the response" for a resolver.

Messages
--------
* :func:`parse_header` / :func:`pack_header` for the 12-byte header (:class:`Header`).
* :meth:`Message.parse` parses a whole message: the question(s), the three record sections
  as :class:`RR` views (rdata left in place so names inside it, possibly compressed, can be
  decoded later with :func:`decode_name` on ``rr.message`` at ``rr.rdata_offset``), and the
  EDNS OPT record extracted into :class:`Edns`.
* :class:`MessageBuilder` assembles queries and responses with name compression, a size
  limit (for truncation) and EDNS; :func:`build_query` is the one-call query builder.

Example::

    from dns import wire
    q = wire.build_query(wire.name_from_text("www.example.com."), wire.TYPE_A, msg_id=7,
                         edns_payload=1232)
    msg = wire.Message.parse(q)
    assert msg.question[0].qtype == wire.TYPE_A and msg.edns is not None
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from typing import NamedTuple

Name = tuple[bytes, ...]
"""A domain name: its labels as raw bytes (original case), root label omitted; root = ()."""

ROOT: Name = ()

# ---------------------------------------------------------------------------- constants

HEADER_SIZE = 12
MAX_LABEL = 63
"""Longest label, in octets (RFC 1035 §2.3.4)."""
MAX_NAME = 255
"""Longest name in wire form, length octets and the root octet included."""
MAX_POINTERS = 64
"""Most compression pointers followed while decoding one name."""

# Header flag bits (in the 16-bit flags word).
QR = 0x8000
AA = 0x0400
TC = 0x0200
RD = 0x0100
RA = 0x0080
Z = 0x0040
AD = 0x0020
CD = 0x0010
OPCODE_MASK = 0x7800
OPCODE_SHIFT = 11
RCODE_MASK = 0x000F

# Opcodes.
OPCODE_QUERY = 0
OPCODE_IQUERY = 1
OPCODE_STATUS = 2
OPCODE_NOTIFY = 4
OPCODE_UPDATE = 5

# Response codes (values over 15 need EDNS: the upper 8 bits go in the OPT record).
RCODE_NOERROR = 0
RCODE_FORMERR = 1
RCODE_SERVFAIL = 2
RCODE_NXDOMAIN = 3
RCODE_NOTIMP = 4
RCODE_REFUSED = 5
RCODE_YXDOMAIN = 6
RCODE_YXRRSET = 7
RCODE_NXRRSET = 8
RCODE_NOTAUTH = 9
RCODE_NOTZONE = 10
RCODE_BADVERS = 16

# Classes.
CLASS_IN = 1
CLASS_CH = 3
CLASS_HS = 4
CLASS_NONE = 254
CLASS_ANY = 255

# Record types (the common ones; any 16-bit value is accepted everywhere).
TYPE_A = 1
TYPE_NS = 2
TYPE_MD = 3
TYPE_MF = 4
TYPE_CNAME = 5
TYPE_SOA = 6
TYPE_MB = 7
TYPE_MG = 8
TYPE_MR = 9
TYPE_NULL = 10
TYPE_WKS = 11
TYPE_PTR = 12
TYPE_HINFO = 13
TYPE_MINFO = 14
TYPE_MX = 15
TYPE_TXT = 16
TYPE_RP = 17
TYPE_AFSDB = 18
TYPE_RT = 21
TYPE_SIG = 24
TYPE_KEY = 25
TYPE_AAAA = 28
TYPE_LOC = 29
TYPE_SRV = 33
TYPE_NAPTR = 35
TYPE_KX = 36
TYPE_CERT = 37
TYPE_DNAME = 39
TYPE_OPT = 41
TYPE_APL = 42
TYPE_DS = 43
TYPE_SSHFP = 44
TYPE_IPSECKEY = 45
TYPE_RRSIG = 46
TYPE_NSEC = 47
TYPE_DNSKEY = 48
TYPE_DHCID = 49
TYPE_NSEC3 = 50
TYPE_NSEC3PARAM = 51
TYPE_TLSA = 52
TYPE_SMIMEA = 53
TYPE_HIP = 55
TYPE_CDS = 59
TYPE_CDNSKEY = 60
TYPE_OPENPGPKEY = 61
TYPE_CSYNC = 62
TYPE_ZONEMD = 63
TYPE_SVCB = 64
TYPE_HTTPS = 65
TYPE_SPF = 99
TYPE_TKEY = 249
TYPE_TSIG = 250
TYPE_IXFR = 251
TYPE_AXFR = 252
TYPE_MAILB = 253
TYPE_MAILA = 254
TYPE_ANY = 255
TYPE_URI = 256
TYPE_CAA = 257

TYPE_NAMES: dict[int, str] = {
    value: key[5:]
    for key, value in dict(globals()).items()
    if key.startswith("TYPE_") and isinstance(value, int)
}
TYPE_NAMES[TYPE_ANY] = "ANY"
"""Type code -> mnemonic (``1 -> "A"``)."""
TYPE_VALUES: dict[str, int] = {v: k for k, v in TYPE_NAMES.items()}
"""Mnemonic (upper case) -> type code."""

CLASS_NAMES: dict[int, str] = {
    CLASS_IN: "IN",
    CLASS_CH: "CH",
    CLASS_HS: "HS",
    CLASS_NONE: "NONE",
    CLASS_ANY: "ANY",
}
CLASS_VALUES: dict[str, int] = {v: k for k, v in CLASS_NAMES.items()}
RCODE_NAMES: dict[int, str] = {
    0: "NOERROR",
    1: "FORMERR",
    2: "SERVFAIL",
    3: "NXDOMAIN",
    4: "NOTIMP",
    5: "REFUSED",
    6: "YXDOMAIN",
    7: "YXRRSET",
    8: "NXRRSET",
    9: "NOTAUTH",
    10: "NOTZONE",
    16: "BADVERS",
}
OPCODE_NAMES: dict[int, str] = {0: "QUERY", 1: "IQUERY", 2: "STATUS", 4: "NOTIFY", 5: "UPDATE"}

SECTION_QUESTION = 0
SECTION_ANSWER = 1
SECTION_AUTHORITY = 2
SECTION_ADDITIONAL = 3

# Types whose rdata names may be compressed on the wire (RFC 3597 §4: only those of
# RFC 1035), with the layout of their rdata.
COMPRESSIBLE_RDATA_TYPES = frozenset(
    {
        TYPE_NS,
        TYPE_MD,
        TYPE_MF,
        TYPE_CNAME,
        TYPE_SOA,
        TYPE_MB,
        TYPE_MG,
        TYPE_MR,
        TYPE_PTR,
        TYPE_MINFO,
        TYPE_MX,
    }
)


# ---------------------------------------------------------------------------- numbers

_ASCII_DIGITS = "0123456789"
MAX_DECIMAL_DIGITS = 20
"""The longest run of digits :func:`parse_decimal` reads (leading zeros included)."""


def parse_decimal(text: str, maximum: int, what: str = "number") -> int:
    """``text`` as a decimal number from 0 to ``maximum``; ``ValueError`` naming ``what``
    otherwise.

    Only ASCII digits, at most :data:`MAX_DECIMAL_DIGITS` of them: ``str.isdigit()`` and
    ``int()`` also take ``'²'``, ``'٣'`` or ``'１'``, and numbers of any length. Every number
    from a peer or a file goes through here.
    """
    if not text or len(text) > MAX_DECIMAL_DIGITS or text.strip(_ASCII_DIGITS):
        raise ValueError(f"{what} {text[:30]!r} is not a decimal number")
    value = int(text)
    if value > maximum:
        raise ValueError(f"{what} {text} is over {maximum}")
    return value


def escape_value(data: bytes, pos: int) -> int | None:
    """The byte of a ``\\DDD`` escape whose digits start at ``data[pos]`` (RFC 1035 §5.1),
    ``None`` when no three ASCII digits are there; ``ValueError`` when over 255."""
    digits = data[pos : pos + 3]
    if len(digits) != 3 or digits.strip(b"0123456789"):
        return None
    value = (digits[0] - 48) * 100 + (digits[1] - 48) * 10 + digits[2] - 48
    if value > 255:
        raise ValueError(f"escape \\{digits.decode()} is over 255")
    return value


def type_to_text(rtype: int) -> str:
    """``1 -> "A"``; unknown codes as ``"TYPE65280"`` (RFC 3597)."""
    return TYPE_NAMES.get(rtype) or f"TYPE{rtype}"


def type_from_text(text: str) -> int:
    """``"aaaa" -> 28``; accepts ``TYPEnnn``. Raises ``ValueError`` for unknown mnemonics."""
    upper = text.upper()
    value = TYPE_VALUES.get(upper)
    if value is not None:
        return value
    if upper.startswith("TYPE"):
        return parse_decimal(upper[4:], 0xFFFF, "type number")
    raise ValueError(f"unknown record type {text[:30]!r}")


def class_to_text(rclass: int) -> str:
    """``1 -> "IN"``; unknown codes as ``"CLASS32"`` (RFC 3597)."""
    return CLASS_NAMES.get(rclass) or f"CLASS{rclass}"


def class_from_text(text: str) -> int:
    """``"in" -> 1``; accepts ``CLASSnnn``. Raises ``ValueError`` otherwise."""
    upper = text.upper()
    value = CLASS_VALUES.get(upper)
    if value is not None:
        return value
    if upper.startswith("CLASS"):
        return parse_decimal(upper[5:], 0xFFFF, "class number")
    raise ValueError(f"unknown class {text[:30]!r}")


def rcode_to_text(rcode: int) -> str:
    """``3 -> "NXDOMAIN"``; unknown codes as ``"RCODE23"``."""
    return RCODE_NAMES.get(rcode) or f"RCODE{rcode}"


# ---------------------------------------------------------------------------- errors


class WireError(ValueError):
    """A malformed DNS message. Every subclass is worth a FORMERR."""


class TruncatedMessage(WireError):
    """The message ends in the middle of a header, name, record or option."""


class BadPointer(WireError):
    """A compression pointer that does not point strictly backwards to an earlier name."""


class TooManyPointers(WireError):
    """More than :data:`MAX_POINTERS` compression pointers while decoding one name."""


class LabelTooLong(WireError):
    """A label longer than 63 octets (only possible from text: the wire cannot say it)."""


class NameTooLong(WireError):
    """A name longer than 255 octets in wire form."""


class BadLabelType(WireError):
    """A label type other than a length (00) or a pointer (11): 01 and 10 are reserved."""


class BadName(WireError):
    """A name in presentation format that cannot be encoded (bad escape, empty label)."""


class BadOpt(WireError):
    """An OPT record outside the additional section, not owned by the root, or malformed."""


class DuplicateOpt(BadOpt):
    """More than one OPT record (RFC 6891 §6.1.1: FORMERR)."""


class TrailingData(WireError):
    """Bytes left after the last record (only raised by ``Message.parse(strict=True)``)."""


# ---------------------------------------------------------------------------- names

_LOWER = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", b"abcdefghijklmnopqrstuvwxyz")


def name_lower(name: Name) -> Name:
    """The name with ASCII letters lowercased (the canonical form for comparisons)."""
    return tuple(map(bytes.lower, name))


def encode_name(name: Name) -> bytes:
    """The uncompressed wire form of ``name`` (length-prefixed labels, then the root 0).

    Raises :class:`LabelTooLong`, :class:`BadName` (an empty label) or :class:`NameTooLong`.
    """
    parts = []
    for label in name:
        n = len(label)
        if n > MAX_LABEL:
            raise LabelTooLong(f"label of {n} octets (max {MAX_LABEL}): {label[:20]!r}...")
        if n == 0:
            raise BadName("empty label inside a name")
        parts.append(bytes((n,)))
        parts.append(label)
    parts.append(b"\x00")
    wire = b"".join(parts)
    if len(wire) > MAX_NAME:
        raise NameTooLong(f"name of {len(wire)} octets (max {MAX_NAME})")
    return wire


def name_key(name: Name) -> bytes:
    """The canonical key of ``name``: its uncompressed wire form, ASCII lowercased.

    Two names are equal in DNS (RFC 4343) exactly when their keys are equal. Cheap enough
    for dict keys on every lookup.
    """
    return encode_name(name).translate(_LOWER)


def wire_to_name(wire: bytes) -> Name:
    """Split an uncompressed wire name (as made by :func:`encode_name`) back into labels."""
    name, end = decode_name(wire, 0, min_pointer_offset=0)
    if end != len(wire):
        raise WireError(f"{len(wire) - end} bytes after the name")
    return name


def decode_name(
    message: bytes, offset: int, *, min_pointer_offset: int = HEADER_SIZE
) -> tuple[Name, int]:
    """Decode the possibly compressed name at ``message[offset:]``.

    Returns ``(name, next_offset)`` where ``next_offset`` is just past the name's bytes at
    ``offset`` (past the first pointer, if any). Labels keep their case.

    Limits, each a :class:`WireError` subclass:

    * :class:`BadPointer`: every pointer must point strictly before the start of the run of
      labels it ends (so strictly backwards, and never into a loop), and not into the
      header (before ``min_pointer_offset``);
    * :class:`TooManyPointers`: more than :data:`MAX_POINTERS` jumps;
    * :class:`BadLabelType`: label types 01 and 10 (extended / reserved);
    * :class:`NameTooLong`: over 255 octets in uncompressed wire form;
    * :class:`TruncatedMessage`: the message ends inside the name.
    """
    labels: list[bytes] = []
    size = 1
    pos = offset
    run_start = offset
    end = -1
    jumps = 0
    length = len(message)
    while True:
        if pos >= length:
            raise TruncatedMessage(f"message ends inside a name (at offset {pos})")
        n = message[pos]
        if n == 0:
            if end < 0:
                end = pos + 1
            return tuple(labels), end
        if n < 0x40:
            start = pos + 1
            pos = start + n
            if pos > length:
                raise TruncatedMessage(f"message ends inside a label (at offset {start - 1})")
            size += n + 1
            if size > MAX_NAME:
                raise NameTooLong(f"name at offset {offset} is over {MAX_NAME} octets")
            labels.append(message[start:pos])
            continue
        if n < 0xC0:
            raise BadLabelType(f"reserved label type 0x{n & 0xC0:02x} at offset {pos}")
        if pos + 1 >= length:
            raise TruncatedMessage(f"message ends inside a compression pointer (at {pos})")
        target = ((n & 0x3F) << 8) | message[pos + 1]
        if target >= run_start or target < min_pointer_offset:
            raise BadPointer(
                f"compression pointer at offset {pos} to {target} does not point backwards "
                f"to an earlier name"
            )
        jumps += 1
        if jumps > MAX_POINTERS:
            raise TooManyPointers(f"more than {MAX_POINTERS} pointers in the name at {offset}")
        if end < 0:
            end = pos + 2
        pos = run_start = target


def skip_name(message: bytes, offset: int) -> int:
    """Return the offset just past the name at ``offset``, validating it like decode_name."""
    return decode_name(message, offset)[1]


_ESCAPED = frozenset(b'."\\;()@$ ')


def label_to_text(label: bytes) -> str:
    """One label in presentation format: ``.``, ``\\`` and specials escaped, others ``\\DDD``."""
    out = []
    for b in label:
        if b in _ESCAPED:
            out.append("\\" + chr(b))
        elif 0x21 <= b <= 0x7E:
            out.append(chr(b))
        else:
            out.append(f"\\{b:03d}")
    return "".join(out)


def name_to_text(name: Name) -> str:
    """Presentation format with the trailing dot (the root is ``"."``)."""
    if not name:
        return "."
    return "".join(label_to_text(label) + "." for label in name)


def name_from_text(text: str, origin: Name | None = None) -> Name:
    """Parse a name in presentation format.

    A name ending in an unescaped ``.`` is absolute; otherwise ``origin`` is appended (a
    relative name without an origin is a :class:`BadName`). ``@`` alone is the origin.
    Escapes ``\\X`` and ``\\DDD`` are understood. Non-ASCII characters are encoded as
    UTF-8 bytes. Raises :class:`BadName`, :class:`LabelTooLong` or :class:`NameTooLong`.
    """
    if text == "@":
        if origin is None:
            raise BadName("'@' used without an origin")
        return origin
    if text == ".":
        return ROOT
    if not text:
        raise BadName("empty name")
    labels: list[bytes] = []
    data = text.encode("utf-8")
    if b"\\" not in data and b".." not in data and data[0] != 0x2E:
        # Nothing escaped and no empty label: the labels are what is between the dots.
        labels = data.split(b".")
        absolute = not labels[-1]
        if absolute:
            labels.pop()
        return _checked_name(labels, absolute, origin, text)
    current = bytearray()
    absolute = False
    i = 0
    n = len(data)
    while i < n:
        c = data[i]
        if c == 0x5C:  # backslash
            if i + 1 >= n:
                raise BadName(f"dangling backslash in {text!r}")
            nxt = data[i + 1]
            if 0x30 <= nxt <= 0x39:
                try:
                    value = escape_value(data, i + 1)
                except ValueError:
                    raise BadName(f"\\DDD escape over 255 in {text!r}") from None
                if value is None:
                    raise BadName(f"bad \\DDD escape in {text!r}")
                current.append(value)
                i += 4
            else:
                current.append(nxt)
                i += 2
            continue
        if c == 0x2E:  # dot
            if not current:
                raise BadName(f"empty label in {text!r}")
            labels.append(bytes(current))
            current = bytearray()
            i += 1
            if i == n:
                absolute = True
            continue
        current.append(c)
        i += 1
    if current:
        labels.append(bytes(current))
    return _checked_name(labels, absolute, origin, text)


def _checked_name(labels: list[bytes], absolute: bool, origin: Name | None, text: str) -> Name:
    """The name of ``labels`` (with ``origin`` appended unless ``absolute``), its label and
    name lengths checked (RFC 1035 §2.3.4)."""
    name: Name = tuple(labels)
    if not absolute:
        if origin is None:
            raise BadName(f"relative name {text!r} without an origin")
        name = name + origin
    if name and max(map(len, name)) > MAX_LABEL:
        longest = next(label for label in name if len(label) > MAX_LABEL)
        raise LabelTooLong(f"label of {len(longest)} octets (max {MAX_LABEL}) in {text!r}")
    if sum(map(len, name)) + len(name) + 1 > MAX_NAME:
        raise NameTooLong(f"name {text!r} is over {MAX_NAME} octets")
    return name


def is_subdomain(name: Name, parent: Name) -> bool:
    """Whether ``name`` is ``parent`` or below it (case-insensitive)."""
    k = len(parent)
    if k > len(name):
        return False
    if k == 0:
        return True
    return name_lower(name[-k:]) == name_lower(parent)


# ---------------------------------------------------------------------------- header


class Header(NamedTuple):
    """The 12-byte message header, ``flags`` being the whole second 16-bit word."""

    id: int
    flags: int
    qdcount: int
    ancount: int
    nscount: int
    arcount: int

    @property
    def opcode(self) -> int:
        """The 4-bit opcode."""
        return (self.flags & OPCODE_MASK) >> OPCODE_SHIFT

    @property
    def rcode(self) -> int:
        """The low 4 bits of the rcode (see :attr:`Message.rcode` for the extended one)."""
        return self.flags & RCODE_MASK

    @property
    def qr(self) -> bool:
        """True for a response."""
        return bool(self.flags & QR)


_HEADER = struct.Struct("!HHHHHH")
_RR_FIXED = struct.Struct("!HHIH")
_QFIXED = struct.Struct("!HH")
_U16 = struct.Struct("!H")


def parse_header(data: bytes) -> Header:
    """Parse the first 12 bytes; :class:`TruncatedMessage` if there are fewer."""
    if len(data) < HEADER_SIZE:
        raise TruncatedMessage(f"message of {len(data)} bytes is shorter than a header")
    return Header._make(_HEADER.unpack_from(data, 0))


def pack_header(
    msg_id: int,
    flags: int,
    qdcount: int = 0,
    ancount: int = 0,
    nscount: int = 0,
    arcount: int = 0,
) -> bytes:
    """The 12-byte header."""
    return _HEADER.pack(msg_id, flags, qdcount, ancount, nscount, arcount)


def make_flags(
    *,
    qr: bool = False,
    opcode: int = 0,
    aa: bool = False,
    tc: bool = False,
    rd: bool = False,
    ra: bool = False,
    ad: bool = False,
    cd: bool = False,
    rcode: int = 0,
) -> int:
    """Assemble a flags word from its fields (``rcode`` only its low 4 bits)."""
    return (
        (QR if qr else 0)
        | ((opcode & 0xF) << OPCODE_SHIFT)
        | (AA if aa else 0)
        | (TC if tc else 0)
        | (RD if rd else 0)
        | (RA if ra else 0)
        | (AD if ad else 0)
        | (CD if cd else 0)
        | (rcode & RCODE_MASK)
    )


# ---------------------------------------------------------------------------- messages


class Question(NamedTuple):
    """One question: the name (original case), type and class."""

    name: Name
    qtype: int
    qclass: int = CLASS_IN

    @property
    def key(self) -> bytes:
        """The canonical (lowercased wire) form of the name."""
        return name_key(self.name)

    def to_text(self) -> str:
        """``"www.example.com. IN A"``."""
        return f"{name_to_text(self.name)} {class_to_text(self.qclass)} {type_to_text(self.qtype)}"


class RR(NamedTuple):
    """A resource record as a view over the raw message.

    ``rdata_offset``/``rdata_length`` locate the rdata inside ``message``; names inside it
    (CNAME, NS, MX, SOA, ...) may be compressed, pointing elsewhere in ``message``, so decode
    them with ``decode_name(rr.message, offset)``. :attr:`rdata` gives the raw bytes.
    """

    name: Name
    rtype: int
    rclass: int
    ttl: int
    rdata_offset: int
    rdata_length: int
    message: bytes

    @property
    def rdata(self) -> bytes:
        """The raw rdata bytes (compressed names inside it left as they are)."""
        return self.message[self.rdata_offset : self.rdata_offset + self.rdata_length]

    @property
    def end(self) -> int:
        """Offset just past this record."""
        return self.rdata_offset + self.rdata_length


class Edns(NamedTuple):
    """The OPT pseudo-record (RFC 6891 §6.1).

    ``payload``: the sender's UDP payload size (the CLASS field, as sent: callers apply the
    512 floor); ``ext_rcode``: the upper 8 bits of the 12-bit rcode; ``version``;
    ``do``: the DNSSEC OK bit; ``flags``: the whole 16-bit flags field (DO included);
    ``options``: ``(code, data)`` pairs in order.
    """

    payload: int = 1232
    ext_rcode: int = 0
    version: int = 0
    do: bool = False
    flags: int = 0
    options: tuple[tuple[int, bytes], ...] = ()


EDNS_DO = 0x8000


def _parse_edns(message: bytes, rr: RR) -> Edns:
    if rr.name:
        raise BadOpt("OPT record not owned by the root name")
    ttl = rr.ttl
    flags = ttl & 0xFFFF
    options: list[tuple[int, bytes]] = []
    pos = rr.rdata_offset
    end = rr.end
    while pos < end:
        if pos + 4 > end:
            raise BadOpt(f"EDNS option header truncated at offset {pos}")
        code, olen = _QFIXED.unpack_from(message, pos)
        pos += 4
        if pos + olen > end:
            raise BadOpt(f"EDNS option {code} of {olen} bytes overruns the OPT rdata")
        options.append((code, message[pos : pos + olen]))
        pos += olen
    return Edns(
        rr.rclass,
        (ttl >> 24) & 0xFF,
        (ttl >> 16) & 0xFF,
        bool(flags & EDNS_DO),
        flags,
        tuple(options),
    )


def _parse_rr(message: bytes, pos: int) -> RR:
    name, pos = decode_name(message, pos)
    if pos + 10 > len(message):
        raise TruncatedMessage(f"message ends inside a record header (at offset {pos})")
    rtype, rclass, ttl, rdlen = _RR_FIXED.unpack_from(message, pos)
    pos += 10
    if pos + rdlen > len(message):
        raise TruncatedMessage(f"rdata of {rdlen} bytes at offset {pos} overruns the message")
    return RR(name, rtype, rclass, ttl, pos, rdlen, message)


class Message:
    """A parsed DNS message. Build one with :meth:`parse`.

    Attributes: ``id``, ``flags`` (the raw 16-bit word), ``question`` (list of
    :class:`Question`), ``answer``, ``authority``, ``additional`` (lists of :class:`RR`; the
    OPT record is *not* in ``additional``), ``edns`` (:class:`Edns` or ``None``), ``data``
    (the raw bytes), ``opt_offset`` (where the OPT record starts, or -1).
    """

    __slots__ = (
        "additional",
        "answer",
        "authority",
        "data",
        "edns",
        "flags",
        "id",
        "opt_offset",
        "question",
    )

    def __init__(
        self,
        msg_id: int,
        flags: int,
        question: list[Question],
        answer: list[RR],
        authority: list[RR],
        additional: list[RR],
        edns: Edns | None,
        data: bytes,
        opt_offset: int = -1,
    ) -> None:
        self.id = msg_id
        self.flags = flags
        self.question = question
        self.answer = answer
        self.authority = authority
        self.additional = additional
        self.edns = edns
        self.data = data
        self.opt_offset = opt_offset

    @classmethod
    def parse(cls, data: bytes, *, strict: bool = False) -> Message:
        """Parse a whole message; :class:`WireError` subclasses on anything malformed.

        Checks: header present, every counted question and record present and well formed,
        names valid (see :func:`decode_name`), at most one OPT record, only in the additional
        section and owned by the root, options well formed. With ``strict``, bytes after the
        last record are a :class:`TrailingData` error (by default they are ignored).
        """
        data = bytes(data)
        msg_id, flags, qd, an, ns, ar = parse_header(data)
        pos = HEADER_SIZE
        questions: list[Question] = []
        length = len(data)
        for _ in range(qd):
            name, pos = decode_name(data, pos)
            if pos + 4 > length:
                raise TruncatedMessage(f"message ends inside a question (at offset {pos})")
            qtype, qclass = _QFIXED.unpack_from(data, pos)
            pos += 4
            questions.append(Question(name, qtype, qclass))
        sections: list[list[RR]] = [[], [], []]
        edns: Edns | None = None
        opt_offset = -1
        for index, count in enumerate((an, ns, ar)):
            records = sections[index]
            for _ in range(count):
                start = pos
                rr = _parse_rr(data, pos)
                pos = rr.end
                if rr.rtype == TYPE_OPT:
                    if index != 2:
                        raise BadOpt(f"OPT record in the {('answer', 'authority')[index]} section")
                    if edns is not None:
                        raise DuplicateOpt("more than one OPT record")
                    edns = _parse_edns(data, rr)
                    opt_offset = start
                    continue
                records.append(rr)
        if strict and pos != length:
            raise TrailingData(f"{length - pos} bytes after the last record")
        return cls(
            msg_id, flags, questions, sections[0], sections[1], sections[2], edns, data, opt_offset
        )

    @property
    def opcode(self) -> int:
        """The 4-bit opcode."""
        return (self.flags & OPCODE_MASK) >> OPCODE_SHIFT

    @property
    def rcode(self) -> int:
        """The full rcode: header bits, plus the OPT record's upper 8 bits when present."""
        low = self.flags & RCODE_MASK
        if self.edns is not None:
            return (self.edns.ext_rcode << 4) | low
        return low

    qr = property(lambda self: bool(self.flags & QR), doc="Response bit.")
    aa = property(lambda self: bool(self.flags & AA), doc="Authoritative answer bit.")
    tc = property(lambda self: bool(self.flags & TC), doc="Truncated bit.")
    rd = property(lambda self: bool(self.flags & RD), doc="Recursion desired bit.")
    ra = property(lambda self: bool(self.flags & RA), doc="Recursion available bit.")
    ad = property(lambda self: bool(self.flags & AD), doc="Authentic data bit.")
    cd = property(lambda self: bool(self.flags & CD), doc="Checking disabled bit.")

    def section(self, index: int) -> list[RR]:
        """Records of section ``SECTION_ANSWER``, ``SECTION_AUTHORITY`` or ``_ADDITIONAL``."""
        return (self.answer, self.authority, self.additional)[index - 1]

    def __repr__(self) -> str:
        q = ", ".join(q.to_text() for q in self.question)
        return (
            f"<Message id={self.id} {OPCODE_NAMES.get(self.opcode, self.opcode)} "
            f"{rcode_to_text(self.rcode)} flags=0x{self.flags:04x} q=[{q}] "
            f"an={len(self.answer)} ns={len(self.authority)} ar={len(self.additional)}"
            f"{' edns' if self.edns else ''}>"
        )


# ---------------------------------------------------------------------------- builder

RdataPart = bytes | tuple[bytes, ...]
"""A piece of rdata for :meth:`MessageBuilder.add_rr`: raw bytes, or a :data:`Name` to be
written compressed (give names that must not be compressed already encoded, as bytes)."""


class Overflow(Exception):
    """Raised by :class:`MessageBuilder` when a record would exceed its ``max_size``."""


_ENCODED: dict[Name, tuple[bytes, bytes]] = {}
"""Wire form and canonical key of recently written names (bounded)."""


class MessageBuilder:
    """Assemble a message section by section, compressing names.

    Records must be added in section order (question, answer, authority, additional).
    ``max_size`` bounds the final message, OPT record included: :meth:`add_rr` raises
    :class:`Overflow` (leaving the message unchanged) when a record would not fit, so a
    server can stop and set TC. :meth:`mark`/:meth:`rollback` undo several records (to drop
    a whole RRset). ``rcode`` may exceed 15 when EDNS is set (the upper bits go in OPT).

    Example::

        b = MessageBuilder(msg_id=1, flags=wire.QR | wire.AA)
        b.add_question(name, wire.TYPE_A)
        b.add_rr(wire.SECTION_ANSWER, name, wire.TYPE_A, wire.CLASS_IN, 300, b"\\x7f\\0\\0\\1")
        data = b.finish()
    """

    def __init__(
        self, msg_id: int = 0, flags: int = 0, *, max_size: int = 65535, compress: bool = True
    ) -> None:
        self.id = msg_id
        self.flags = flags
        self.rcode = flags & RCODE_MASK
        self.max_size = max_size
        self.compress = compress
        self._buf = bytearray(HEADER_SIZE)
        self._counts = [0, 0, 0, 0]
        self._section = SECTION_QUESTION
        self._table: dict[bytes, int] = {}
        self._added: list[bytes] = []
        self._edns: Edns | None = None
        self._opt_size = 0

    # -- state

    def __len__(self) -> int:
        """Bytes so far, header included, OPT record excluded."""
        return len(self._buf)

    @property
    def counts(self) -> tuple[int, int, int, int]:
        """Records per section so far (question, answer, authority, additional)."""
        return self._counts[0], self._counts[1], self._counts[2], self._counts[3]

    def set_edns(
        self,
        payload: int = 1232,
        *,
        version: int = 0,
        do: bool = False,
        options: Iterable[tuple[int, bytes]] = (),
        flags: int | None = None,
    ) -> None:
        """Append an OPT record at :meth:`finish` (its size is reserved now)."""
        fl = (EDNS_DO if do else 0) if flags is None else flags
        self._edns = Edns(payload, 0, version, bool(fl & EDNS_DO), fl, tuple(options))
        self._opt_size = 11 + sum(4 + len(d) for _, d in self._edns.options)

    def mark(self) -> tuple[int, int, int, int]:
        """A point to :meth:`rollback` to."""
        return len(self._buf), self._section, self._counts[self._section], len(self._added)

    def rollback(self, mark: tuple[int, int, int, int]) -> None:
        """Drop everything added since ``mark`` (records and their compression entries)."""
        size, section, count, added = mark
        del self._buf[size:]
        self._section = section
        for i in range(section + 1, 4):
            self._counts[i] = 0
        self._counts[section] = count
        while len(self._added) > added:
            self._table.pop(self._added.pop(), None)

    # -- writing

    def _write_name(self, name: Name, compress: bool) -> None:
        buf = self._buf
        if not name:
            buf.append(0)
            return
        cached = _ENCODED.get(name)
        if cached is None:
            wire = encode_name(name)
            cached = (wire, wire.translate(_LOWER))
            if len(_ENCODED) >= 20_000:
                _ENCODED.clear()
            _ENCODED[name] = cached
        wire, key = cached
        if not (compress and self.compress):
            self._remember_prefix(key, len(key) - 1, len(buf))
            buf += wire
            return
        table = self._table
        pos = 0
        base = len(buf)
        while key[pos]:
            target = table.get(key[pos:])
            if target is not None:
                buf += wire[:pos]
                buf += _U16.pack(0xC000 | target)
                self._remember_prefix(key, pos, base)
                return
            pos += key[pos] + 1
        buf += wire
        self._remember_prefix(key, len(key) - 1, base)

    def _remember_prefix(self, key: bytes, upto: int, base: int) -> None:
        """Record the suffixes of the name written at ``base`` that start before ``upto``."""
        pos = 0
        while pos < upto:
            offset = base + pos
            if offset >= 0x4000:
                return
            suffix = key[pos:]
            if suffix not in self._table:
                self._table[suffix] = offset
                self._added.append(suffix)
            pos += key[pos] + 1

    def _enter(self, section: int) -> None:
        if section < self._section:
            raise ValueError("records must be added in section order")
        self._section = section

    def _check(self, mark: tuple[int, int, int, int]) -> None:
        if len(self._buf) + self._opt_size > self.max_size:
            self.rollback(mark)
            raise Overflow(f"message would exceed {self.max_size} bytes")

    def add_question(self, name: Name, qtype: int, qclass: int = CLASS_IN) -> None:
        """Add a question (its name is entered in the compression table)."""
        mark = self.mark()
        self._enter(SECTION_QUESTION)
        self._write_name(name, True)
        self._buf += _QFIXED.pack(qtype, qclass)
        self._counts[SECTION_QUESTION] += 1
        self._check(mark)

    def add_raw_question(self, wire_question: bytes) -> None:
        """Add a question already in wire form (name uncompressed, then type and class).

        Used to echo a query's question byte-exact; the name is still entered in the
        compression table so answers can point at it.
        """
        mark = self.mark()
        self._enter(SECTION_QUESTION)
        base = len(self._buf)
        self._buf += wire_question
        key = wire_question[:-4].translate(_LOWER)
        self._remember_prefix(key, len(key) - 1, base)
        self._counts[SECTION_QUESTION] += 1
        self._check(mark)

    def add_rr(
        self,
        section: int,
        name: Name,
        rtype: int,
        rclass: int,
        ttl: int,
        rdata: bytes | Sequence[RdataPart],
    ) -> None:
        """Add one record. ``rdata`` is raw bytes, or a sequence of parts where a tuple is a
        :data:`Name` written compressed (only do that for RFC 1035 types, see
        :data:`COMPRESSIBLE_RDATA_TYPES`). Raises :class:`Overflow` if it does not fit."""
        mark = self.mark()
        self._enter(section)
        buf = self._buf
        self._write_name(name, True)
        fixed_at = len(buf)
        buf += _RR_FIXED.pack(rtype, rclass, ttl & 0xFFFFFFFF, 0)
        start = len(buf)
        if isinstance(rdata, bytes | bytearray):
            buf += rdata
        else:
            for part in rdata:
                if isinstance(part, tuple):
                    self._write_name(part, True)
                else:
                    buf += part
        rdlen = len(buf) - start
        if rdlen > 0xFFFF:
            self.rollback(mark)
            raise ValueError(f"rdata of {rdlen} bytes is over 65535")
        _U16.pack_into(buf, fixed_at + 8, rdlen)
        self._counts[section] += 1
        self._check(mark)

    def add_raw_rr(self, section: int, wire_rr: bytes) -> None:
        """Add a record already in wire form (any names in it must not be compressed)."""
        mark = self.mark()
        self._enter(section)
        self._buf += wire_rr
        self._counts[section] += 1
        self._check(mark)

    def finish(self) -> bytes:
        """The finished message: counts and flags written, OPT record appended if set."""
        rcode = self.rcode
        if rcode > 15 and self._edns is None:
            raise ValueError(f"rcode {rcode} needs EDNS")
        flags = (self.flags & ~RCODE_MASK) | (rcode & RCODE_MASK)
        arcount = self._counts[3]
        tail = b""
        if self._edns is not None:
            e = self._edns
            ttl = ((rcode >> 4) & 0xFF) << 24 | (e.version & 0xFF) << 16 | (e.flags & 0xFFFF)
            opts = b"".join(_QFIXED.pack(code, len(d)) + d for code, d in e.options)
            tail = b"\x00" + _RR_FIXED.pack(TYPE_OPT, e.payload & 0xFFFF, ttl, len(opts)) + opts
            arcount += 1
        _HEADER.pack_into(
            self._buf,
            0,
            self.id & 0xFFFF,
            flags & 0xFFFF,
            self._counts[0],
            self._counts[1],
            self._counts[2],
            arcount,
        )
        return bytes(self._buf) + tail


def build_query(
    name: Name,
    qtype: int,
    *,
    msg_id: int = 0,
    qclass: int = CLASS_IN,
    rd: bool = True,
    cd: bool = False,
    ad: bool = False,
    opcode: int = OPCODE_QUERY,
    edns_payload: int | None = None,
    do: bool = False,
    options: Iterable[tuple[int, bytes]] = (),
) -> bytes:
    """A query for ``name``/``qtype``; EDNS (with ``do`` and ``options``) when
    ``edns_payload`` is given."""
    b = MessageBuilder(msg_id, make_flags(opcode=opcode, rd=rd, cd=cd, ad=ad))
    b.add_question(name, qtype, qclass)
    if edns_payload is not None:
        b.set_edns(edns_payload, do=do, options=options)
    return b.finish()


__all__ = [
    "AA",
    "AD",
    "CD",
    "CLASS_ANY",
    "CLASS_IN",
    "MAX_DECIMAL_DIGITS",
    "MAX_LABEL",
    "MAX_NAME",
    "MAX_POINTERS",
    "QR",
    "RA",
    "RD",
    "ROOT",
    "RR",
    "TC",
    "BadLabelType",
    "BadName",
    "BadOpt",
    "BadPointer",
    "DuplicateOpt",
    "Edns",
    "Header",
    "LabelTooLong",
    "Message",
    "MessageBuilder",
    "Name",
    "NameTooLong",
    "Overflow",
    "Question",
    "TooManyPointers",
    "TrailingData",
    "TruncatedMessage",
    "WireError",
    "build_query",
    "class_from_text",
    "class_to_text",
    "decode_name",
    "encode_name",
    "escape_value",
    "is_subdomain",
    "label_to_text",
    "make_flags",
    "name_from_text",
    "name_key",
    "name_lower",
    "name_to_text",
    "pack_header",
    "parse_decimal",
    "parse_header",
    "rcode_to_text",
    "skip_name",
    "type_from_text",
    "type_to_text",
    "wire_to_name",
]
