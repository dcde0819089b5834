"""One class per record type: everything the toolkit knows about a type's RDATA.

Each :class:`RdataType` subclass owns, for its type:

- ``from_text(tokens, origin)``: presentation format (the words of a master-file line
  after the type) to uncompressed wire bytes;
- ``to_text(rdata)``: uncompressed wire bytes to presentation format, as dig prints it
  (hex and base64 in 56-character chunks, type bitmaps in type order, RRSIG times as
  ``YYYYMMDDHHmmSS``);
- ``expand(message, offset, length)``: the RDATA of a record inside a message, with any
  compressed names followed, as uncompressed bytes (checked against the type's layout);
- ``parts(rdata)``: the RDATA split into raw bytes and the names that may be compressed
  on the wire (only the types of RFC 1035, RFC 3597 §4);
- ``canonical(rdata)``: the DNSSEC canonical form (RFC 4034 §6.2, with RFC 6840 §5.1: the
  names in the RDATA of the listed types lowercased, NSEC's next name left alone).

Most types are a sequence of :class:`Field` (numbers, names, character-strings, hex,
base64, type bitmaps); LOC and SVCB/HTTPS have their own code. A type without a class
here is :class:`Unknown` (RFC 3597 ``\\# LENGTH HEX``), which every type also accepts.

Usage::

    rdata = from_text(wire.TYPE_MX, [Token("10"), Token("mail")], origin)
    to_text(wire.TYPE_MX, rdata)  # '10 mail.example.'
"""

from __future__ import annotations

import base64
import binascii
import datetime
import ipaddress
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from backends.addresses import ipv4_to_bytes, ipv6_to_bytes

from . import wire
from .wire import Name, RdataPart

_U16 = struct.Struct("!H")
_U32 = struct.Struct("!I")
MAX_U32 = 0xFFFFFFFF
CHUNK = 56
"""dig's width for a run of hex or base64 in one-line output (then a space)."""
_MEMO_MAX = 4096
"""The most words a field remembers the wire form of (names, RRSIG times), each memory
emptied or left as it is when full."""


class RdataTextError(ValueError):
    """Presentation-format RDATA that does not fit its type; says what is wrong."""


class RdataWireError(ValueError):
    """Wire RDATA that does not fit its type's layout; names the type and the problem."""


@dataclass(slots=True)
class Token:
    """A word of a master file: ``text`` (escapes kept, quotes removed), ``quoted``."""

    text: str
    quoted: bool = False


# ---------------------------------------------------------------------------- numbers

_TTL_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DIGITS = frozenset("0123456789")


def parse_ttl(text: str) -> int:
    """``"3600"`` or ``"1h30m"`` (BIND's units, any case; a bare number last) -> seconds;
    ``ValueError`` otherwise. ASCII digits only, each number of bounded length."""
    value = 0
    pos = 0
    n = len(text)
    if not n:
        raise ValueError("empty TTL")
    while pos < n:
        end = pos
        while end < n and text[end] in _DIGITS:
            end += 1
        if end == pos:
            raise ValueError(f"bad TTL {text[:30]!r}")
        number = wire.parse_decimal(text[pos:end], MAX_U32, "TTL")
        if end == n:
            value += number
            break
        unit = _TTL_UNITS.get(text[end].lower())
        if unit is None:
            raise ValueError(f"bad TTL {text[:30]!r}")
        value += number * unit
        pos = end + 1
    if value > MAX_U32:
        raise ValueError(f"TTL {text!r} is over 2^32-1")
    return value


def unescape(text: str) -> bytes:
    """Character-string contents: ``\\X`` and ``\\DDD`` escapes resolved, UTF-8 otherwise."""
    data = text.encode("utf-8")
    if b"\\" not in data:
        return data
    out = bytearray()
    i = 0
    while i < len(data):
        c = data[i]
        if c == 0x5C and i + 1 < len(data):
            value = wire.escape_value(data, i + 1)
            if value is not None:
                out.append(value)
                i += 4
            else:
                out.append(data[i + 1])
                i += 2
            continue
        out.append(c)
        i += 1
    return bytes(out)


def quote(data: bytes) -> str:
    """A character-string as dig prints it: quoted, ``"`` and ``\\`` escaped, bytes outside
    printable ASCII as ``\\DDD``."""
    out = ['"']
    for b in data:
        if b == 0x22 or b == 0x5C:
            out.append("\\" + chr(b))
        elif 0x20 <= b < 0x7F:
            out.append(chr(b))
        else:
            out.append(f"\\{b:03d}")
    out.append('"')
    return "".join(out)


def _chunked(text: str) -> str:
    return " ".join(text[i : i + CHUNK] for i in range(0, len(text), CHUNK))


def _hex_of(words: Sequence[str]) -> bytes:
    text = "".join(words)
    if text == "-":
        return b""
    try:
        return binascii.unhexlify(text)
    except (binascii.Error, ValueError):
        raise RdataTextError(f"bad hex {text[:40]!r}") from None


def _b64_of(words: Sequence[str]) -> bytes:
    text = "".join(words)
    try:
        # base64.b64decode(text, validate=True) without its wrappers (what it calls).
        return binascii.a2b_base64(text, strict_mode=True)
    except (binascii.Error, ValueError):
        raise RdataTextError(f"bad base64 {text[:40]!r}") from None


def _b64_text(data: bytes) -> str:
    return _chunked(base64.b64encode(data).decode("ascii"))


# DNSSEC algorithm numbers (RFC 4034 A.1, RFC 8624) with the mnemonics BIND prints, and the
# other spellings it reads.
ALGORITHMS = {
    1: "RSAMD5",
    2: "DH",
    3: "DSA",
    5: "RSASHA1",
    6: "NSEC3DSA",
    7: "NSEC3RSASHA1",
    8: "RSASHA256",
    10: "RSASHA512",
    12: "ECCGOST",
    13: "ECDSAP256SHA256",
    14: "ECDSAP384SHA384",
    15: "ED25519",
    16: "ED448",
    252: "INDIRECT",
    253: "PRIVATEDNS",
    254: "PRIVATEOID",
}
_ALGORITHM_VALUES = {v: k for k, v in ALGORITHMS.items()} | {
    "DSA-NSEC3-SHA1": 6,
    "RSASHA1-NSEC3-SHA1": 7,
    "ECC-GOST": 12,
}
_DIGEST_VALUES = {"SHA-1": 1, "SHA-256": 2, "GOST": 3, "SHA-384": 4}
CERT_TYPES = {
    1: "PKIX",
    2: "SPKI",
    3: "PGP",
    4: "IPKIX",
    5: "ISPKI",
    6: "IPGP",
    7: "ACPKIX",
    8: "IACPKIX",
    253: "URI",
    254: "OID",
}
_CERT_TYPE_VALUES = {v: k for k, v in CERT_TYPES.items()}


# ---------------------------------------------------------------------------- fields


class Field:
    """One field of a type's RDATA: read from tokens, written as text, its wire extent."""

    is_name: ClassVar[bool] = False
    rest: ClassVar[bool] = False
    """Whether the field takes all remaining tokens (and all remaining bytes)."""
    few: ClassVar[bool] = False
    """Whether a zone's values of the field are few (numbers, mnemonics, times: the same
    words again and again), so that the wire form of a type's leading fields of this kind
    is worth remembering by their words (see :meth:`RdataType.word_reader`)."""

    word_to_bytes: Callable[[str], bytes] | None = None
    """For a one-word field read without the origin (an address): the reading, which the
    word reader calls itself (:meth:`RdataType.word_reader`; errors as :meth:`encode_word`'s)."""

    def __init__(self, what: str) -> None:
        self.what = what

    def encode(self, tokens: Sequence[Token], origin: Name | None) -> bytes:
        """Wire bytes from the field's tokens (one, or all the rest if :attr:`rest`)."""
        if self.rest:
            return self.encode_words([t.text for t in tokens], origin)
        return self.encode_word(tokens[0].text, origin)

    def encode_words(self, words: Sequence[str], origin: Name | None) -> bytes:
        """Wire bytes of a field that takes the rest of the words (:attr:`rest`), from
        them (escapes kept; whether they were quoted does not matter to any)."""
        raise NotImplementedError

    def encode_word(self, text: str, origin: Name | None) -> bytes:
        """Wire bytes of a one-word field from its word (escapes kept)."""
        raise NotImplementedError

    def read(self, data: bytes, pos: int, end: int) -> tuple[str, int]:
        """The field at ``pos`` as text, and where it ends; :class:`RdataWireError` if it
        does not fit before ``end``."""
        raise NotImplementedError


def _take(data: bytes, pos: int, end: int, n: int, what: str) -> int:
    if pos + n > end:
        raise RdataWireError(f"{what}: {end - pos} bytes left, {n} needed")
    return pos + n


class U8(Field):
    """An unsigned byte in decimal."""

    few = True

    def encode_word(self, text: str, origin: Name | None) -> bytes:
        return bytes((wire.parse_decimal(text, 0xFF, self.what),))

    def read(self, data: bytes, pos: int, end: int) -> tuple[str, int]:
        return str(data[pos]) if pos < end else "", _take(data, pos, end, 1, self.what)


class U16(Field):
    """A 16-bit number in decimal."""

    few = True

    def encode_word(self, text: str, origin: Name | None) -> bytes:
        return _U16.pack(wire.parse_decimal(text, 0xFFFF, self.what))

    def read(self, data: bytes, pos: int, end: int) -> tuple[str, int]:
        after = _take(data, pos, end, 2, self.what)
        return str(_U16.unpack_from(data, pos)[0]), after


class U32(Field):
    """A 32-bit number in decimal."""

    few = True

    def encode_word(self, text: str, origin: Name | None) -> bytes:
        return _U32.pack(wire.parse_decimal(text, MAX_U32, self.what))

    def read(self, data: bytes, pos: int, end: int) -> tuple[str, int]:
        after = _take(data, pos, end, 4, self.what)
        return str(_U32.unpack_from(data, pos)[0]), after


class Period(U32):
    """A 32-bit number of seconds, read with BIND's units too (``2h``, ``1w``)."""

    def encode_word(self, text: str, origin: Name | None) -> bytes:
        return _U32.pack(parse_ttl(text))


class Mnemonic(Field):
    """A number (one byte, or two if ``wide``) also given by a mnemonic (any case)."""

    few = True

    def __init__(
        self, what: str, names: dict[int, str], values: dict[str, int], *, wide: bool = False
    ) -> None:
        super().__init__(what)
        self.names, self.values, self.wide = names, values, wide

    def encode_word(self, text: str, origin: Name | None) -> bytes:
        value = self.values.get(text.upper())
        if value is None:
            value = wire.parse_decimal(text, 0xFFFF if self.wide else 0xFF, self.what)
        return _U16.pack(value) if self.wide else bytes((value,))

    def read(self, data: bytes, pos: int, end: int) -> tuple[str, int]:
        size = 2 if self.wide else 1
        after = _take(data, pos, end, size, self.what)
        value = _U16.unpack_from(data, pos)[0] if self.wide else data[pos]
        return self.names.get(value, str(value)), after


class TypeCode(Field):
    """A record type (RRSIG's type covered)."""

    few = True

    def encode_word(self, text: str, origin: Name | None) -> bytes:
        return _U16.pack(wire.type_from_text(text))

    def read(self, data: bytes, pos: int, end: int) -> tuple[str, int]:
        after = _take(data, pos, end, 2, self.what)
        return wire.type_to_text(_U16.unpack_from(data, pos)[0]), after


class Time(Field):
    """An RRSIG time: ``YYYYMMDDHHmmSS`` (UTC, modulo 2^32 as RFC 4034 §3.2 says) or
    seconds since 1970 in decimal; printed as the former."""

    few = True

    def encode_word(self, text: str, origin: Name | None) -> bytes:
        if len(text) != 14:
            return _U32.pack(wire.parse_decimal(text, MAX_U32, self.what))
        year, month, day, hour, minute, second = (
            wire.parse_decimal(text[a:b], 9999, self.what)
            for a, b in ((0, 4), (4, 6), (6, 8), (8, 10), (10, 12), (12, 14))
        )
        try:
            when = datetime.datetime(year, month, day, hour, minute, second, tzinfo=datetime.UTC)
        except ValueError:
            raise RdataTextError(f"{self.what} {text} is not a date and time") from None
        return _U32.pack(int(when.timestamp()) & MAX_U32)

    def read(self, data: bytes, pos: int, end: int) -> tuple[str, int]:
        after = _take(data, pos, end, 4, self.what)
        seconds = _U32.unpack_from(data, pos)[0]
        when = datetime.datetime.fromtimestamp(seconds, datetime.UTC)
        return when.strftime("%Y%m%d%H%M%S"), after


_NAME_WIRE: dict[tuple[str, Name | None], bytes] = {}
_ORIGIN_FORMS: dict[Name, tuple[str, bytes]] = {}


def name_wire(text: str, origin: Name | None) -> bytes:
    """The uncompressed wire form of the name ``text`` (relative to ``origin``), remembered:
    the names in a zone's RDATA repeat (its name servers, mail exchangers, targets). The
    memory is emptied when it holds :data:`_MEMO_MAX` names. A name under the origin
    without escapes, relative or absolute (a CNAME's target, an NSEC's next name, a
    delegation's name server: names that do not repeat), is made from its labels and the
    origin's wire form, its lengths checked as :func:`dns.wire.name_from_text` checks them
    (RFC 1035 §2.3.4)."""
    key = (text, origin)
    data = _NAME_WIRE.get(key)
    if data is not None:
        return data
    if origin is not None and "\\" not in text:
        form = _ORIGIN_FORMS.get(origin)
        if form is None:
            if len(_ORIGIN_FORMS) >= _MEMO_MAX:
                _ORIGIN_FORMS.clear()
            # The origin as text after a label's dot ("www.example."; none for the root).
            suffix = "." + wire.name_to_text(origin) if origin else ""
            form = _ORIGIN_FORMS[origin] = (suffix, wire.encode_name(origin))
        suffix, tail = form
        head = text[: len(text) - len(suffix)] if suffix and text.endswith(suffix) else text
        if head and head != "@" and head[0] != "." and head[-1] != ".":
            data = head.encode("utf-8")
            size = len(data)  # its wire form is one octet longer (a length for each dot)
            if size + 1 + len(tail) <= wire.MAX_NAME:
                if "." not in head:
                    if size <= wire.MAX_LABEL:
                        return bytes((size,)) + data + tail
                elif ".." not in head:
                    labels = data.split(b".")
                    if max(map(len, labels)) <= wire.MAX_LABEL:
                        return b"".join([bytes((len(part),)) + part for part in labels]) + tail
    data = wire.encode_name(wire.name_from_text(text, origin))
    if len(_NAME_WIRE) >= _MEMO_MAX:
        _NAME_WIRE.clear()
    _NAME_WIRE[key] = data
    return data


class DomainName(Field):
    """A domain name; relative names take the origin."""

    is_name = True

    def encode_word(self, text: str, origin: Name | None) -> bytes:
        return name_wire(text, origin)

    def read(self, data: bytes, pos: int, end: int) -> tuple[str, int]:
        name, after = self.name_at(data, pos, end)
        return wire.name_to_text(name), after

    def name_at(self, data: bytes, pos: int, end: int) -> tuple[Name, int]:
        """The name at ``pos`` (pointers into ``data`` followed) and where it ends."""
        if pos >= end:
            raise RdataWireError(f"{self.what}: missing")
        try:
            name, after = wire.decode_name(data, pos, min_pointer_offset=0)
        except ValueError as exc:
            raise RdataWireError(f"{self.what}: {exc}") from None
        if after > end:
            raise RdataWireError(f"{self.what}: runs past the end of the RDATA")
        return name, after


def _counted(raw: bytes, what: str) -> bytes:
    """``raw`` as a character-string: its length byte, then it (at most 255 bytes)."""
    if len(raw) > 255:
        raise RdataTextError(f"{what}: character-string of {len(raw)} bytes (max 255)")
    return bytes((len(raw),)) + raw


class CharString(Field):
    """One character-string (RFC 1035 §3.3): length byte, up to 255 bytes."""

    def encode_word(self, text: str, origin: Name | None) -> bytes:
        return _counted(unescape(text), self.what)

    def read(self, data: bytes, pos: int, end: int) -> tuple[str, int]:
        start = _take(data, pos, end, 1, self.what)
        after = _take(data, start, end, data[pos], self.what)
        return quote(data[start:after]), after


class CharStrings(CharString):
    """One or more character-strings to the end (TXT, SPF)."""

    rest = True

    def encode_words(self, words: Sequence[str], origin: Name | None) -> bytes:
        if not words:
            raise RdataTextError(f"{self.what}: at least one is needed")
        raws = [w.encode("utf-8") if "\\" not in w else unescape(w) for w in words]
        if max(map(len, raws)) > 255:
            for raw in raws:
                _counted(raw, self.what)  # the first too long, named
        return b"".join([bytes((len(raw),)) + raw for raw in raws])

    def read(self, data: bytes, pos: int, end: int) -> tuple[str, int]:
        if pos >= end:
            raise RdataWireError(f"{self.what}: no character-string")
        words = []
        while pos < end:
            word, pos = CharString.read(self, data, pos, end)
            words.append(word)
        return " ".join(words), pos


class RestString(Field):
    """The remaining bytes as one quoted string (CAA value, URI target)."""

    rest = True

    def encode_words(self, words: Sequence[str], origin: Name | None) -> bytes:
        if len(words) != 1:
            raise RdataTextError(f"{self.what} is one word or one quoted string")
        return unescape(words[0])

    def read(self, data: bytes, pos: int, end: int) -> tuple[str, int]:
        return quote(data[pos:end]), end


class Hex(Field):
    """The remaining bytes in hex (may be split into words; ``-`` for none if ``empty``)."""

    rest = True

    def __init__(self, what: str, *, empty: bool = False) -> None:
        super().__init__(what)
        self.empty = empty

    def encode_words(self, words: Sequence[str], origin: Name | None) -> bytes:
        data = _hex_of(words)
        if not data and not self.empty:
            raise RdataTextError(f"{self.what} is missing")
        return data

    def read(self, data: bytes, pos: int, end: int) -> tuple[str, int]:
        return _chunked(data[pos:end].hex().upper()), end


class Base64(Field):
    """The remaining bytes in base64 (may be split into words)."""

    rest = True

    def encode_words(self, words: Sequence[str], origin: Name | None) -> bytes:
        data = _b64_of(words) if words else b""
        if not data:  # nothing would print for it, so nothing could read it back
            raise RdataTextError(f"{self.what} is missing")
        return data

    def read(self, data: bytes, pos: int, end: int) -> tuple[str, int]:
        return _b64_text(data[pos:end]), end


class Bitmap(Field):
    """Type mnemonics as the window blocks of RFC 4034 §4.1.2 (NSEC, NSEC3, CSYNC)."""

    rest = True

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.seen: dict[tuple[str, ...], bytes] = {}
        """Bitmaps already read, by their words: the names of a signed zone have few
        distinct sets of types (up to :data:`_MEMO_MAX` kept)."""

    def encode_words(self, words: Sequence[str], origin: Name | None) -> bytes:
        key = tuple(words)
        data = self.seen.get(key)
        if data is None:
            data = self._encode(words)
            if len(self.seen) < _MEMO_MAX:
                self.seen[key] = data
        return data

    def _encode(self, words: Sequence[str]) -> bytes:
        windows: dict[int, bytearray] = {}
        for word in words:
            rtype = wire.type_from_text(word)
            bits = windows.setdefault(rtype >> 8, bytearray(32))
            bits[(rtype & 0xFF) >> 3] |= 0x80 >> (rtype & 7)
        out = bytearray()
        for window in sorted(windows):
            bits = windows[window].rstrip(b"\x00")
            out += bytes((window, len(bits))) + bits
        return bytes(out)

    def read(self, data: bytes, pos: int, end: int) -> tuple[str, int]:
        names = []
        last = -1
        while pos < end:
            if pos + 2 > end:
                raise RdataWireError(f"{self.what}: truncated window header")
            window, size = data[pos], data[pos + 1]
            if window <= last or not 1 <= size <= 32 or pos + 2 + size > end:
                raise RdataWireError(f"{self.what}: bad window block {window} of {size} bytes")
            last = window
            for i, byte in enumerate(data[pos + 2 : pos + 2 + size]):
                for bit in range(8):
                    if byte & (0x80 >> bit):
                        names.append(wire.type_to_text(window * 256 + i * 8 + bit))
            pos += 2 + size
        return " ".join(names), pos


class Salt(Field):
    """NSEC3 salt: length byte and bytes, ``-`` for none (RFC 5155 §3.3)."""

    few = True

    def encode_word(self, text: str, origin: Name | None) -> bytes:
        salt = _hex_of((text,))
        if len(salt) > 255:
            raise RdataTextError(f"NSEC3 salt of {len(salt)} bytes (max 255)")
        return bytes((len(salt),)) + salt

    def read(self, data: bytes, pos: int, end: int) -> tuple[str, int]:
        start = _take(data, pos, end, 1, self.what)
        after = _take(data, start, end, data[pos], self.what)
        return (data[start:after].hex().upper() or "-"), after


class NextHash(Field):
    """NSEC3 next hashed owner: length byte and bytes, base32hex without padding."""

    def encode_word(self, text: str, origin: Name | None) -> bytes:
        upper = text.upper()
        try:
            hashed = base64.b32hexdecode(upper + "=" * (-len(upper) % 8))
        except (binascii.Error, ValueError):
            raise RdataTextError(f"bad base32hex {text[:40]!r}") from None
        if not 1 <= len(hashed) <= 255:
            raise RdataTextError(f"NSEC3 next hash of {len(hashed)} bytes")
        return bytes((len(hashed),)) + hashed

    def read(self, data: bytes, pos: int, end: int) -> tuple[str, int]:
        start = _take(data, pos, end, 1, self.what)
        after = _take(data, start, end, data[pos], self.what)
        return base64.b32hexencode(data[start:after]).decode("ascii").rstrip("="), after


class Address(Field):
    """An IPv4 or IPv6 address."""

    def __init__(self, what: str, size: int) -> None:
        super().__init__(what)
        self.size = size
        self.kind = ipaddress.IPv4Address if size == 4 else ipaddress.IPv6Address
        self.word_to_bytes = ipv4_to_bytes if size == 4 else ipv6_to_bytes
        """Text to bytes (the OS's ``inet_pton`` held to :mod:`ipaddress`'s rules)."""

    def encode_word(self, text: str, origin: Name | None) -> bytes:
        assert self.word_to_bytes is not None
        try:
            return self.word_to_bytes(text)
        except ValueError as exc:
            raise RdataTextError(str(exc)) from None

    def read(self, data: bytes, pos: int, end: int) -> tuple[str, int]:
        after = _take(data, pos, end, self.size, self.what)
        return str(self.kind(data[pos:after])), after


class CaaTag(Field):
    """A CAA property tag: 1 to 255 ASCII letters and digits (RFC 8659 §4.1)."""

    def encode_word(self, text: str, origin: Name | None) -> bytes:
        tag = text.encode("utf-8")
        if not 1 <= len(tag) <= 255 or not tag.isalnum() or not tag.isascii():
            raise RdataTextError(f"bad CAA tag {text[:30]!r}")
        return bytes((len(tag),)) + tag

    def read(self, data: bytes, pos: int, end: int) -> tuple[str, int]:
        start = _take(data, pos, end, 1, self.what)
        after = _take(data, start, end, data[pos], self.what)
        tag = data[start:after]
        if not tag or not tag.isalnum() or not tag.isascii():
            raise RdataWireError(f"CAA tag {tag[:30]!r} is not letters and digits")
        return tag.decode("ascii"), after


# ---------------------------------------------------------------------------- types


class RdataType:
    """Base of the per-type classes; used as classes (nothing is instantiated)."""

    rtype: ClassVar[int] = 0
    fields: ClassVar[tuple[Field, ...]] = ()
    compressible: ClassVar[bool] = False
    """Names in the RDATA may be compressed on the wire: the RFC 1035 types of
    :data:`dns.wire.COMPRESSIBLE_RDATA_TYPES` (RFC 3597 §4); set for each class."""
    lowercase: ClassVar[bool] = False
    """Names in the RDATA are lowercased in the canonical form (RFC 4034 §6.2, RFC 6840)."""

    _word_encoders: ClassVar[tuple[Callable[[str, Name | None], bytes], ...] | None] = None
    """For :meth:`from_words`: the one-word fields' encoders (all but a last field that
    takes the rest), when the type is read field by field by :meth:`from_text`."""
    _rest_field: ClassVar[Field | None] = None
    words_alone: ClassVar[bool] = False
    """Whether the words of the RDATA say all (a sequence of :class:`Field`, each read from
    its words' text): then a word's being quoted or not changes nothing, and
    :meth:`word_reader` reads quoted words too (all but RFC 3597's ``\\#``, which only
    unquoted means what it means). Not for LOC, SVCB and unknown types."""

    def __init_subclass__(cls) -> None:
        cls.compressible = cls.rtype in wire.COMPRESSIBLE_RDATA_TYPES
        fields = cls.fields
        if fields and cls.from_text.__func__ is RdataType.from_text.__func__:  # type: ignore[attr-defined]
            rest = fields[-1] if fields[-1].rest else None
            cls._rest_field = rest
            cls._word_encoders = tuple(
                f.encode_word for f in fields[: len(fields) - (rest is not None)]
            )
            cls.words_alone = True
        else:  # read its own way (and not as a class above it reads)
            cls._rest_field = None
            cls._word_encoders = None
            cls.words_alone = False

    @classmethod
    def mnemonic(cls) -> str:
        """The type's name (``TYPEnnn`` if it has none)."""
        return wire.type_to_text(cls.rtype)

    @classmethod
    def from_text(cls, tokens: Sequence[Token], origin: Name | None) -> bytes:
        """Uncompressed wire RDATA from the words of the record's presentation format."""
        fields = cls.fields
        if fields and fields[-1].rest:
            if len(tokens) < len(fields) - 1:
                raise RdataTextError(f"{cls.mnemonic()} takes {', '.join(f.what for f in fields)}")
        elif len(tokens) != len(fields):
            raise RdataTextError(
                f"{cls.mnemonic()} takes {len(fields)} field{'s' * (len(fields) != 1)} "
                f"({', '.join(f.what for f in fields)}), got {len(tokens)}"
            )
        out = []
        try:
            for i, f in enumerate(fields):
                out.append(f.encode(tokens[i:] if f.rest else tokens[i : i + 1], origin))
        except ValueError as exc:
            raise RdataTextError(f"{cls.mnemonic()} {exc}") from None
        return b"".join(out)

    @classmethod
    def from_words(cls, words: Sequence[str], origin: Name | None) -> bytes:
        """:meth:`from_text` for words that were neither quoted nor escaped (a master-file
        line of plain words): the same bytes and errors, without a :class:`Token` for each
        word where the type is a sequence of fields (see :meth:`word_reader`)."""
        return cls.word_reader()(words, origin)

    @classmethod
    def word_reader(cls) -> Callable[[Sequence[str], Name | None], bytes]:
        """:meth:`from_words` as a function made for this type once. The type's leading
        fields whose values are :attr:`Field.few` (an MX's preference, an SRV's numbers,
        an RRSIG's type, algorithm, labels, TTL, times and key tag) are read once per
        distinct run of words and remembered (up to :data:`_MEMO_MAX` runs); the other
        fields are read each time. A type read otherwise (LOC, SVCB, unknown types) goes to
        its :meth:`from_text`; so does a count of words that does not fit (for its error)."""
        made = cls.__dict__.get("_reader")
        if made is None:
            made = cls._make_word_reader()
            cls._reader = made
        return made

    _reader: ClassVar[Callable[[Sequence[str], Name | None], bytes] | None] = None

    @classmethod
    def _make_word_reader(cls) -> Callable[[Sequence[str], Name | None], bytes]:
        def general(words: Sequence[str], origin: Name | None) -> bytes:
            return cls.from_text([Token(w) for w in words], origin)  # or its error

        encoders = cls._word_encoders
        if encoders is None:
            return general
        mnemonic = cls.mnemonic()
        count = len(encoders)
        rest = cls._rest_field.encode_words if cls._rest_field is not None else None
        if rest is None and count == 1 and cls.fields[0].word_to_bytes is not None:
            plain = cls.fields[0].word_to_bytes  # an address: no origin, one call fewer

            def read_plain(words: Sequence[str], origin: Name | None) -> bytes:
                if len(words) != 1:
                    return general(words, origin)
                try:
                    return plain(words[0])
                except ValueError as exc:
                    raise RdataTextError(f"{mnemonic} {exc}") from None

            return read_plain
        if rest is not None and count == 0:  # the words are one field (TXT)

            def read_rest(words: Sequence[str], origin: Name | None) -> bytes:
                try:
                    return rest(words, origin)
                except ValueError as exc:
                    raise RdataTextError(f"{mnemonic} {exc}") from None

            return read_rest
        if rest is None and count == 1:  # a name
            encode = encoders[0]

            def read_one(words: Sequence[str], origin: Name | None) -> bytes:
                if len(words) != 1:
                    return general(words, origin)
                try:
                    return encode(words[0], origin)
                except ValueError as exc:
                    raise RdataTextError(f"{mnemonic} {exc}") from None

            return read_one
        fields = cls.fields
        few = 0
        while few < count and fields[few].few:
            few += 1
        head = encoders[:few]
        tail = encoders[few:]
        one = tail[0] if len(tail) == 1 else None  # an MX's exchange, an RRSIG's signer
        memo: dict[object, bytes] = {}

        def read(words: Sequence[str], origin: Name | None) -> bytes:
            if len(words) < count or (rest is None and len(words) != count):
                return general(words, origin)
            try:
                data = b""
                if few:
                    key = words[0] if few == 1 else tuple(words[:few])
                    known = memo.get(key)
                    if known is None:
                        known = b"".join([e(w, origin) for e, w in zip(head, words, strict=False)])
                        if len(memo) < _MEMO_MAX:
                            memo[key] = known
                    data = known
                if one is not None:
                    data += one(words[few], origin)
                elif tail:
                    data += b"".join(
                        [e(w, origin) for e, w in zip(tail, words[few:count], strict=True)]
                    )
                if rest is not None:
                    data += rest(words[count:], origin)
                return data
            except ValueError as exc:
                raise RdataTextError(f"{mnemonic} {exc}") from None

        return read

    @classmethod
    def _walk(cls, data: bytes, pos: int, end: int) -> list[tuple[Field, str, int, int]]:
        """Each field with its text and extent; the fields must fill the RDATA exactly."""
        out = []
        for f in cls.fields:
            text, after = f.read(data, pos, end)
            out.append((f, text, pos, after))
            pos = after
        if pos != end:
            raise RdataWireError(f"{cls.mnemonic()}: {end - pos} bytes after the last field")
        return out

    @classmethod
    def to_text(cls, rdata: bytes) -> str:
        """Presentation format of uncompressed ``rdata``, as dig prints it."""
        try:
            return " ".join(text for _, text, _, _ in cls._walk(rdata, 0, len(rdata)) if text)
        except RdataWireError:
            return Unknown.to_text(rdata)

    @classmethod
    def expand(cls, message: bytes, offset: int, length: int) -> bytes:
        """The RDATA at ``offset`` in ``message`` with its names uncompressed; raises
        :class:`RdataWireError` if it does not fit the type."""
        end = offset + length
        if end > len(message):
            raise RdataWireError(f"{cls.mnemonic()}: RDATA runs past the end of the message")
        out = []
        for f, _, start, after in cls._walk(message, offset, end):
            if isinstance(f, DomainName):
                out.append(wire.encode_name(f.name_at(message, start, end)[0]))
            else:
                out.append(bytes(message[start:after]))
        return b"".join(out)

    @classmethod
    def _split(cls, rdata: bytes) -> list[bytes | Name]:
        out: list[bytes | Name] = []
        for f, _, start, after in cls._walk(rdata, 0, len(rdata)):
            if isinstance(f, DomainName):
                out.append(f.name_at(rdata, start, after)[0])
            elif out and isinstance(out[-1], bytes):
                out[-1] += rdata[start:after]
            else:
                out.append(rdata[start:after])
        return out

    @classmethod
    def parts(cls, rdata: bytes) -> Sequence[RdataPart]:
        """``rdata`` as raw bytes and (compressible) names, for MessageBuilder.add_rr."""
        if not cls.compressible:
            return (rdata,)
        return tuple(cls._split(rdata))

    @classmethod
    def canonical(cls, rdata: bytes) -> bytes:
        """The RDATA in DNSSEC canonical form (RFC 4034 §6.2)."""
        if not cls.lowercase:
            return rdata
        return b"".join(
            wire.encode_name(wire.name_lower(p)) if isinstance(p, tuple) else p
            for p in cls._split(rdata)
        )


def _fields(*fields: Field) -> tuple[Field, ...]:
    return fields


class A(RdataType):
    """An IPv4 address (RFC 1035 §3.4.1)."""

    rtype = wire.TYPE_A
    fields = _fields(Address("address", 4))


class AAAA(RdataType):
    """An IPv6 address (RFC 3596)."""

    rtype = wire.TYPE_AAAA
    fields = _fields(Address("address", 16))


class _OneName(RdataType):
    lowercase = True
    fields = _fields(DomainName("target name"))


class NS(_OneName):
    """An authoritative name server (RFC 1035 §3.3.11)."""

    rtype = wire.TYPE_NS


class MD(_OneName):
    """Mail destination, obsolete (RFC 1035 §3.3.4)."""

    rtype = wire.TYPE_MD


class MF(_OneName):
    """Mail forwarder, obsolete (RFC 1035 §3.3.5)."""

    rtype = wire.TYPE_MF


class CNAME(_OneName):
    """The canonical name of an alias (RFC 1035 §3.3.1)."""

    rtype = wire.TYPE_CNAME


class MB(_OneName):
    """Mailbox domain (RFC 1035 §3.3.3)."""

    rtype = wire.TYPE_MB


class MG(_OneName):
    """Mail group member (RFC 1035 §3.3.6)."""

    rtype = wire.TYPE_MG


class MR(_OneName):
    """Mail rename (RFC 1035 §3.3.8)."""

    rtype = wire.TYPE_MR


class PTR(_OneName):
    """A pointer to another name (RFC 1035 §3.3.12)."""

    rtype = wire.TYPE_PTR


class DNAME(_OneName):
    """Redirection of a subtree (RFC 6672); its target is not compressed (RFC 6672 §2.5)."""

    rtype = wire.TYPE_DNAME


class SOA(RdataType):
    """Start of authority (RFC 1035 §3.3.13); timers read with units."""

    rtype = wire.TYPE_SOA
    lowercase = True
    fields = _fields(
        DomainName("primary name server"),
        DomainName("responsible mailbox"),
        U32("serial"),
        Period("refresh"),
        Period("retry"),
        Period("expire"),
        Period("minimum"),
    )


class MINFO(RdataType):
    """Mailbox information (RFC 1035 §3.3.7)."""

    rtype = wire.TYPE_MINFO
    lowercase = True
    fields = _fields(DomainName("responsible mailbox"), DomainName("error mailbox"))


class MX(RdataType):
    """Mail exchange (RFC 1035 §3.3.9)."""

    rtype = wire.TYPE_MX
    lowercase = True
    fields = _fields(U16("preference"), DomainName("exchange"))


class _PreferenceName(RdataType):
    lowercase = True
    fields = _fields(U16("preference"), DomainName("host"))


class AFSDB(_PreferenceName):
    """AFS database location (RFC 1183 §1)."""

    rtype = wire.TYPE_AFSDB


class RT(_PreferenceName):
    """Route through (RFC 1183 §3.3)."""

    rtype = wire.TYPE_RT


class KX(_PreferenceName):
    """Key exchanger (RFC 2230)."""

    rtype = wire.TYPE_KX


class RP(RdataType):
    """Responsible person (RFC 1183 §2.2)."""

    rtype = wire.TYPE_RP
    lowercase = True
    fields = _fields(DomainName("mailbox"), DomainName("TXT name"))


class TXT(RdataType):
    """Text strings (RFC 1035 §3.3.14)."""

    rtype = wire.TYPE_TXT
    fields = _fields(CharStrings("strings"))


class SPF(TXT):
    """SPF policy as its own type (RFC 4408, historic)."""

    rtype = wire.TYPE_SPF


class HINFO(RdataType):
    """Host information (RFC 1035 §3.3.2)."""

    rtype = wire.TYPE_HINFO
    fields = _fields(CharString("CPU"), CharString("OS"))


class SRV(RdataType):
    """Service location (RFC 2782); its target is not compressed."""

    rtype = wire.TYPE_SRV
    lowercase = True
    fields = _fields(U16("priority"), U16("weight"), U16("port"), DomainName("target"))


class NAPTR(RdataType):
    """Naming authority pointer (RFC 3403 §4.1)."""

    rtype = wire.TYPE_NAPTR
    lowercase = True
    fields = _fields(
        U16("order"),
        U16("preference"),
        CharString("flags"),
        CharString("service"),
        CharString("regexp"),
        DomainName("replacement"),
    )


class CAA(RdataType):
    """Certification authority authorization (RFC 8659 §4.1)."""

    rtype = wire.TYPE_CAA
    fields = _fields(U8("flags"), CaaTag("tag"), RestString("value"))


class _Association(RdataType):
    fields = _fields(
        U8("certificate usage"), U8("selector"), U8("matching type"), Hex("association data")
    )


class TLSA(_Association):
    """TLS certificate association (RFC 6698 §2)."""

    rtype = wire.TYPE_TLSA


class SMIMEA(_Association):
    """S/MIME certificate association (RFC 8162)."""

    rtype = wire.TYPE_SMIMEA


class SSHFP(RdataType):
    """SSH key fingerprint (RFC 4255 §3)."""

    rtype = wire.TYPE_SSHFP
    fields = _fields(U8("algorithm"), U8("fingerprint type"), Hex("fingerprint"))


def _algorithm(what: str) -> Mnemonic:
    return Mnemonic(what, {}, _ALGORITHM_VALUES)


class DS(RdataType):
    """Delegation signer (RFC 4034 §5)."""

    rtype = wire.TYPE_DS
    fields = _fields(
        U16("key tag"),
        _algorithm("algorithm"),
        Mnemonic("digest type", {}, _DIGEST_VALUES),
        Hex("digest"),
    )


class CDS(DS):
    """Child copy of DS (RFC 7344 §3.1)."""

    rtype = wire.TYPE_CDS


class DNSKEY(RdataType):
    """A zone's public key (RFC 4034 §2)."""

    rtype = wire.TYPE_DNSKEY
    fields = _fields(U16("flags"), U8("protocol"), _algorithm("algorithm"), Base64("public key"))


class CDNSKEY(DNSKEY):
    """Child copy of DNSKEY (RFC 7344 §3.2)."""

    rtype = wire.TYPE_CDNSKEY


class KEY(DNSKEY):
    """Public key (RFC 2535, RFC 3445), as SIG(0) uses it."""

    rtype = wire.TYPE_KEY


class RRSIG(RdataType):
    """Signature over an RRset (RFC 4034 §3); the signer is lowercased canonically."""

    rtype = wire.TYPE_RRSIG
    lowercase = True
    fields = _fields(
        TypeCode("type covered"),
        _algorithm("algorithm"),
        U8("labels"),
        U32("original TTL"),
        Time("expiration"),
        Time("inception"),
        U16("key tag"),
        DomainName("signer"),
        Base64("signature"),
    )


class NSEC(RdataType):
    """Next secure name and the types at the owner (RFC 4034 §4); RFC 6840 §5.1 keeps the
    next name's case in the canonical form."""

    rtype = wire.TYPE_NSEC
    fields = _fields(DomainName("next name"), Bitmap("types"))


class NSEC3PARAM(RdataType):
    """NSEC3 parameters of a zone (RFC 5155 §4)."""

    rtype = wire.TYPE_NSEC3PARAM
    fields = _fields(U8("hash algorithm"), U8("flags"), U16("iterations"), Salt("salt"))


class NSEC3(RdataType):
    """Hashed next secure name (RFC 5155 §3)."""

    rtype = wire.TYPE_NSEC3
    fields = _fields(
        U8("hash algorithm"),
        U8("flags"),
        U16("iterations"),
        Salt("salt"),
        NextHash("next hashed owner"),
        Bitmap("types"),
    )


class ZONEMD(RdataType):
    """Message digest of a zone (RFC 8976 §2)."""

    rtype = wire.TYPE_ZONEMD
    fields = _fields(U32("serial"), U8("scheme"), U8("hash algorithm"), Hex("digest"))


class CSYNC(RdataType):
    """Child-to-parent synchronization (RFC 7477 §2.1)."""

    rtype = wire.TYPE_CSYNC
    fields = _fields(U32("SOA serial"), U16("flags"), Bitmap("types"))


class URI(RdataType):
    """A URI for a service (RFC 7553 §4.5)."""

    rtype = wire.TYPE_URI
    fields = _fields(U16("priority"), U16("weight"), RestString("target"))


class CERT(RdataType):
    """A certificate (RFC 4398 §2)."""

    rtype = wire.TYPE_CERT
    fields = _fields(
        Mnemonic("certificate type", CERT_TYPES, _CERT_TYPE_VALUES, wide=True),
        U16("key tag"),
        Mnemonic("algorithm", ALGORITHMS, _ALGORITHM_VALUES),
        Base64("certificate"),
    )


class OPENPGPKEY(RdataType):
    """An OpenPGP transferable public key (RFC 7929 §2)."""

    rtype = wire.TYPE_OPENPGPKEY
    fields = _fields(Base64("key"))


class DHCID(RdataType):
    """DHCP client identifier (RFC 4701)."""

    rtype = wire.TYPE_DHCID
    fields = _fields(Base64("digest"))


# ---------------------------------------------------------------------------- LOC


def _loc_size(text: str, what: str) -> int:
    """A LOC size or precision in metres (``10m``, ``0.5``) as RFC 1876's byte: mantissa
    and power of ten of the centimetres."""
    cm = _metres(text, what, 90_000_000_00)
    exponent = 0
    while cm >= 10:
        if cm % 10:
            raise RdataTextError(f"LOC {what} {text!r} is not a digit times a power of ten")
        cm //= 10
        exponent += 1
    return cm << 4 | exponent


def _metres(text: str, what: str, limit: int) -> int:
    """Centimetres from ``[-]M[.CC][m]``."""
    text = text[:-1] if text.endswith(("m", "M")) else text
    whole, dot, frac = text.partition(".")
    if not whole or (dot and not 1 <= len(frac) <= 2):
        raise RdataTextError(f"bad LOC {what} {text[:30]!r}")
    cm = wire.parse_decimal(whole, limit // 100, f"LOC {what}") * 100
    if frac:
        cm += wire.parse_decimal(frac.ljust(2, "0"), 99, f"LOC {what}")
    return cm


def _size_text(byte: int) -> str:
    mantissa, exponent = byte >> 4, byte & 0x0F
    if exponent >= 2:
        return f"{mantissa * 10 ** (exponent - 2)}m"
    return f"0.{mantissa * 10**exponent:02d}m"


class LOC(RdataType):
    """Location (RFC 1876): ``D [M [S.sss]] N|S D [M [S.sss]] E|W ALT[m] [SIZE[m] [HP[m]
    [VP[m]]]]``, printed as BIND prints it."""

    rtype = wire.TYPE_LOC

    @staticmethod
    def _angle(tokens: Sequence[Token], pos: int, hemispheres: str, limit: int) -> tuple[int, int]:
        parts: list[str] = []
        while pos < len(tokens) and tokens[pos].text.upper() not in hemispheres:
            parts.append(tokens[pos].text)
            pos += 1
        if pos == len(tokens) or not 1 <= len(parts) <= 3:
            raise RdataTextError(
                f"LOC needs degrees [minutes [seconds]] then {hemispheres[0]}|{hemispheres[1]}"
            )
        degrees = wire.parse_decimal(parts[0], limit, "LOC degrees")
        minutes = wire.parse_decimal(parts[1], 59, "LOC minutes") if len(parts) > 1 else 0
        millis = 0
        if len(parts) > 2:
            whole, dot, frac = parts[2].partition(".")
            if dot and not 1 <= len(frac) <= 3:
                raise RdataTextError(f"bad LOC seconds {parts[2][:30]!r}")
            millis = wire.parse_decimal(whole, 59, "LOC seconds") * 1000
            if frac:
                millis += wire.parse_decimal(frac.ljust(3, "0"), 999, "LOC seconds")
        value = ((degrees * 60 + minutes) * 60) * 1000 + millis
        if value > limit * 3_600_000:
            raise RdataTextError(f"LOC angle over {limit} degrees")
        sign = -1 if tokens[pos].text.upper() == hemispheres[1] else 1
        return (1 << 31) + sign * value, pos + 1

    @classmethod
    def from_text(cls, tokens: Sequence[Token], origin: Name | None) -> bytes:
        latitude, pos = cls._angle(tokens, 0, "NS", 90)
        longitude, pos = cls._angle(tokens, pos, "EW", 180)
        rest = [t.text for t in tokens[pos:]]
        if not 1 <= len(rest) <= 4:
            raise RdataTextError("LOC needs an altitude, then optionally size, hp and vp")
        alt = rest[0]
        negative = alt.startswith("-")
        cm = _metres(alt[1:] if negative else alt, "altitude", 4_284_967_295)
        altitude = 10_000_000 + (-cm if negative else cm)
        if not 0 <= altitude <= MAX_U32:
            raise RdataTextError(f"LOC altitude {alt!r} out of range")
        sizes = [_loc_size(t, w) for t, w in zip(rest[1:], ("size", "hp", "vp"), strict=False)]
        sizes += [0x12, 0x16, 0x13][len(sizes) :]  # 1m, 10000m, 10m (RFC 1876 §3)
        return bytes((0, *sizes)) + struct.pack("!III", latitude, longitude, altitude)

    @staticmethod
    def _angle_text(value: int, hemispheres: str) -> str:
        value -= 1 << 31
        hemisphere = hemispheres[value < 0]
        value = abs(value)
        millis, value = value % 1000, value // 1000
        seconds, value = value % 60, value // 60
        minutes, degrees = value % 60, value // 60
        return f"{degrees} {minutes} {seconds}.{millis:03d} {hemisphere}"

    @classmethod
    def to_text(cls, rdata: bytes) -> str:
        if (
            len(rdata) != 16
            or rdata[0] != 0
            or any((b >> 4) > 9 or (b & 15) > 9 for b in rdata[1:4])
        ):
            return Unknown.to_text(rdata)
        latitude, longitude, altitude = struct.unpack_from("!III", rdata, 4)
        cm = altitude - 10_000_000
        sign = "-" if cm < 0 else ""
        cm = abs(cm)
        return (
            f"{cls._angle_text(latitude, 'NS')} {cls._angle_text(longitude, 'EW')} "
            f"{sign}{cm // 100}.{cm % 100:02d}m " + " ".join(_size_text(b) for b in rdata[1:4])
        )

    @classmethod
    def expand(cls, message: bytes, offset: int, length: int) -> bytes:
        if length != 16 or offset + length > len(message):
            raise RdataWireError(f"LOC: RDATA of {length} bytes, expected 16")
        return bytes(message[offset : offset + length])

    @classmethod
    def _split(cls, rdata: bytes) -> list[bytes | Name]:
        return [rdata]


# ---------------------------------------------------------------------------- SVCB

SVC_KEYS: dict[int, str] = {
    0: "mandatory",
    1: "alpn",
    2: "no-default-alpn",
    3: "port",
    4: "ipv4hint",
    5: "ech",
    6: "ipv6hint",
    7: "dohpath",
    8: "ohttp",
}
"""SvcParamKeys with names (RFC 9460 §14.3.2; dohpath RFC 9461, ohttp RFC 9540)."""
_SVC_KEY_VALUES = {v: k for k, v in SVC_KEYS.items()}
_SVC_FLAGS = frozenset({2, 8})
"""Keys that take no value."""


def svc_key_text(key: int) -> str:
    """A SvcParamKey's name, or ``keyNNNNN``."""
    return SVC_KEYS.get(key, f"key{key}")


def _svc_key(text: str) -> int:
    """A SvcParamKey's number from its name or ``keyNNNNN`` (lowercase, no leading zeros)."""
    key = _SVC_KEY_VALUES.get(text)
    if key is not None:
        return key
    digits = text[3:] if text.startswith("key") else ""
    if not digits or (digits[0] == "0" and len(digits) > 1):
        raise RdataTextError(f"unknown SvcParamKey {text[:30]!r}")
    return wire.parse_decimal(digits, 0xFFFF, "SvcParamKey number")


def _value_list(value: bytes) -> list[bytes]:
    """A comma-separated list whose items may hold ``\\,`` and ``\\\\`` (RFC 9460 A.1),
    after the character-string escapes were resolved; empty items are an error."""
    items: list[bytes] = []
    item = bytearray()
    i = 0
    while i < len(value):
        c = value[i]
        if c == 0x5C and i + 1 < len(value):
            item.append(value[i + 1])
            i += 2
            continue
        if c == 0x2C:
            items.append(bytes(item))
            item = bytearray()
        else:
            item.append(c)
        i += 1
    items.append(bytes(item))
    if not all(items):
        raise RdataTextError("empty item in a comma-separated SvcParam value")
    return items


def _svc_value(key_text: str, key: int, value: bytes | None) -> bytes:
    """The wire value of one SvcParam given by name (``keyNNNNN`` values are taken as
    they are) from its presentation value, escapes resolved."""
    if key_text not in _SVC_KEY_VALUES:
        return value or b""
    if key in _SVC_FLAGS:
        if value is not None:
            raise RdataTextError(f"SvcParam {key_text} takes no value")
        return b""
    if value is None:
        if key != 5:
            raise RdataTextError(f"SvcParam {key_text} needs a value")
        return b""
    if key == 0:
        keys = [_svc_key(item.decode("ascii")) for item in _value_list(value)]
        if 0 in keys or len(set(keys)) != len(keys):
            raise RdataTextError("mandatory lists itself or a key twice")
        return b"".join(_U16.pack(k) for k in sorted(keys))
    if key == 1:
        out = b""
        for item in _value_list(value):
            if len(item) > 255:
                raise RdataTextError(f"alpn id of {len(item)} bytes (max 255)")
            out += bytes((len(item),)) + item
        return out
    if key == 3:
        return _U16.pack(wire.parse_decimal(value.decode("ascii"), 0xFFFF, "SVCB port"))
    if key == 4:
        return b"".join(ipv4_to_bytes(v.decode("ascii")) for v in _value_list(value))
    if key == 6:
        return b"".join(ipv6_to_bytes(v.decode("ascii")) for v in _value_list(value))
    if key == 5:
        return _b64_of([value.decode("ascii")]) if value else b""
    # dohpath (RFC 9461): a URI template, UTF-8.
    if not value:
        raise RdataTextError("dohpath needs a URI template")
    value.decode("utf-8")
    return value


def _alpn_text(ids: list[bytes]) -> str:
    """The alpn value-list (RFC 9460 A.1): ``\\`` and ``,`` inside an id escaped with a
    backslash, then the whole list as one character-string (escaped again)."""
    items = (i.replace(b"\\", b"\\\\").replace(b",", b"\\,") for i in ids)
    return quote(b",".join(items))


def svc_value_text(key: int, value: bytes) -> str:
    """A SvcParam value in presentation format; :class:`RdataWireError` if malformed."""
    if key == 0:
        if len(value) % 2 or not value:
            raise RdataWireError("SVCB: mandatory list length is not a positive multiple of 2")
        keys = struct.unpack(f"!{len(value) // 2}H", value)
        return ",".join(svc_key_text(k) for k in keys)
    if key == 1:
        ids = []
        pos = 0
        while pos < len(value):
            start = pos + 1
            pos = start + value[pos]
            if pos > len(value):
                raise RdataWireError("SVCB: alpn id runs past its value")
            ids.append(value[start:pos])
        if not ids or any(not i for i in ids):
            raise RdataWireError("SVCB: alpn has an empty protocol id")
        return _alpn_text(ids)
    if key == 3:
        if len(value) != 2:
            raise RdataWireError(f"SVCB: port value is {len(value)} bytes, expected 2")
        return str(_U16.unpack(value)[0])
    if key == 4:
        if not value or len(value) % 4:
            raise RdataWireError("SVCB: ipv4hint length is not a positive multiple of 4")
        return ",".join(
            str(ipaddress.IPv4Address(value[i : i + 4])) for i in range(0, len(value), 4)
        )
    if key == 6:
        if not value or len(value) % 16:
            raise RdataWireError("SVCB: ipv6hint length is not a positive multiple of 16")
        return ",".join(
            str(ipaddress.IPv6Address(value[i : i + 16])) for i in range(0, len(value), 16)
        )
    if key == 5:
        return base64.b64encode(value).decode("ascii")
    return quote(value)


def svc_params(rdata: bytes, pos: int, end: int, what: str) -> list[tuple[int, bytes]]:
    """The SvcParams from ``pos`` to ``end``: keys strictly increasing, each known key's
    value well formed (RFC 9460 §2.2); :class:`RdataWireError` otherwise."""
    params: list[tuple[int, bytes]] = []
    last = -1
    while pos < end:
        if pos + 4 > end:
            raise RdataWireError(f"{what}: truncated SvcParam header")
        key, vlen = struct.unpack_from("!HH", rdata, pos)
        pos += 4
        if pos + vlen > end:
            raise RdataWireError(f"{what}: SvcParam {svc_key_text(key)} runs past the RDATA")
        if key <= last:
            raise RdataWireError(f"{what}: SvcParam keys not in strictly increasing order")
        last = key
        value = bytes(rdata[pos : pos + vlen])
        if key in _SVC_FLAGS and vlen:
            raise RdataWireError(f"{what}: {svc_key_text(key)} must have an empty value")
        if key not in _SVC_FLAGS:
            svc_value_text(key, value)
        params.append((key, value))
        pos += vlen
    return params


def svc_params_text(params: Sequence[tuple[int, bytes]]) -> list[str]:
    """Each SvcParam as ``key=value``, or the bare key when the value is empty, as dig
    prints it."""
    out = []
    for key, value in params:
        if not value:
            out.append(svc_key_text(key))
        else:
            out.append(f"{svc_key_text(key)}={svc_value_text(key, value)}")
    return out


class SVCB(RdataType):
    """Service binding (RFC 9460 §2): priority, target, then ``key[=value]`` SvcParams in
    any order, sent sorted by key."""

    rtype = wire.TYPE_SVCB
    _target = DomainName("target name")

    @classmethod
    def from_text(cls, tokens: Sequence[Token], origin: Name | None) -> bytes:
        if len(tokens) < 2:
            raise RdataTextError(f"{cls.mnemonic()} takes a priority, a target and SvcParams")
        priority = wire.parse_decimal(tokens[0].text, 0xFFFF, "SVCB priority")
        params: dict[int, bytes] = {}
        for tok in tokens[2:]:
            if tok.quoted:
                raise RdataTextError(
                    f"SvcParam {tok.text[:30]!r} is quoted whole; quote only its value"
                )
            key_text, eq, value_text = tok.text.partition("=")
            key = _svc_key(key_text)
            if key in params:
                raise RdataTextError(f"SvcParam {key_text} given twice")
            value = _svc_value(key_text, key, unescape(value_text) if eq else None)
            if len(value) > 0xFFFF:
                raise RdataTextError(f"SvcParam {key_text} value of {len(value)} bytes")
            params[key] = value
        out = _U16.pack(priority) + cls._target.encode(tokens[1:2], origin)
        for key in sorted(params):
            out += _U16.pack(key) + _U16.pack(len(params[key])) + params[key]
        svc_params(out, 2 + len(cls._target.encode(tokens[1:2], origin)), len(out), "SVCB")
        if 0 in params:
            for k in struct.unpack(f"!{len(params[0]) // 2}H", params[0]):
                if k not in params:
                    raise RdataTextError(f"mandatory lists key{k}, which is not given")
        if 2 in params and 1 not in params:
            raise RdataTextError("no-default-alpn without alpn (RFC 9460 §7.1.1)")
        return out

    @classmethod
    def _read(
        cls, data: bytes, pos: int, end: int
    ) -> tuple[int, Name, int, list[tuple[int, bytes]]]:
        if pos + 3 > end:
            raise RdataWireError(f"{cls.mnemonic()}: RDATA too short")
        priority = _U16.unpack_from(data, pos)[0]
        target, after = cls._target.name_at(data, pos + 2, end)
        return priority, target, after, svc_params(data, after, end, cls.mnemonic())

    @classmethod
    def to_text(cls, rdata: bytes) -> str:
        try:
            priority, target, _, params = cls._read(rdata, 0, len(rdata))
        except RdataWireError:
            return Unknown.to_text(rdata)
        return " ".join([str(priority), wire.name_to_text(target), *svc_params_text(params)])

    @classmethod
    def expand(cls, message: bytes, offset: int, length: int) -> bytes:
        end = offset + length
        if end > len(message):
            raise RdataWireError(f"{cls.mnemonic()}: RDATA runs past the end of the message")
        _, target, after, _ = cls._read(message, offset, end)
        return (
            bytes(message[offset : offset + 2])
            + wire.encode_name(target)
            + bytes(message[after:end])
        )

    @classmethod
    def _split(cls, rdata: bytes) -> list[bytes | Name]:
        return [rdata]


class HTTPS(SVCB):
    """SVCB for HTTPS origins (RFC 9460 §9)."""

    rtype = wire.TYPE_HTTPS


# ---------------------------------------------------------------------------- unknown


class Unknown(RdataType):
    """Any type without a class: RFC 3597 §5 ``\\# LENGTH HEX``."""

    @classmethod
    def from_text(cls, tokens: Sequence[Token], origin: Name | None) -> bytes:
        if not tokens or tokens[0].text != "\\#" or tokens[0].quoted:
            raise RdataTextError("no presentation format known; write it as '\\# LENGTH HEX'")
        if len(tokens) < 2:
            raise RdataTextError("RFC 3597 rdata needs '\\# LENGTH HEX'")
        length = wire.parse_decimal(tokens[1].text, 0xFFFF, "RFC 3597 length")
        data = _hex_of([t.text for t in tokens[2:]]) if len(tokens) > 2 else b""
        if len(data) != length:
            raise RdataTextError(f"RFC 3597 rdata says {length} bytes but has {len(data)}")
        return data

    @classmethod
    def to_text(cls, rdata: bytes) -> str:
        if not rdata:
            return "\\# 0"
        return f"\\# {len(rdata)} {_chunked(rdata.hex().upper())}"

    @classmethod
    def expand(cls, message: bytes, offset: int, length: int) -> bytes:
        if offset + length > len(message):
            raise RdataWireError("RDATA runs past the end of the message")
        return bytes(message[offset : offset + length])

    @classmethod
    def _split(cls, rdata: bytes) -> list[bytes | Name]:
        return [rdata]


# ---------------------------------------------------------------------------- registry


def _all_types() -> dict[int, type[RdataType]]:
    found: dict[int, type[RdataType]] = {}
    todo = list(RdataType.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.rtype and not cls.__name__.startswith("_"):
            found[cls.rtype] = cls
    return found


TYPES: dict[int, type[RdataType]] = _all_types()
"""The class of each type with a presentation format, by type code."""


def for_type(rtype: int) -> type[RdataType]:
    """The class of ``rtype`` (:class:`Unknown` if none)."""
    return TYPES.get(rtype, Unknown)


def from_text(rtype: int, tokens: Sequence[Token], origin: Name | None) -> bytes:
    """Uncompressed wire RDATA of ``rtype`` from presentation-format words; RFC 3597
    ``\\# LENGTH HEX`` for any type. Raises ``ValueError`` naming what is wrong."""
    if tokens and tokens[0].text == "\\#" and not tokens[0].quoted:
        return Unknown.from_text(tokens, origin)
    return TYPES.get(rtype, Unknown).from_text(tokens, origin)


def from_words(rtype: int, words: Sequence[str], origin: Name | None) -> bytes:
    """:func:`from_text` for plain words (none quoted or escaped, so never ``\\#``)."""
    return TYPES.get(rtype, Unknown).from_words(words, origin)


def to_text(rtype: int, rdata: bytes) -> str:
    """Presentation format of uncompressed ``rdata`` of ``rtype``, as dig prints it (RFC
    3597 form where the bytes do not fit the type)."""
    return TYPES.get(rtype, Unknown).to_text(rdata)


def parts(rtype: int, rdata: bytes) -> Sequence[RdataPart]:
    """``rdata`` split into raw bytes and names that may be compressed (RFC 3597 §4)."""
    return TYPES.get(rtype, Unknown).parts(rdata)


def canonical(rtype: int, rdata: bytes) -> bytes:
    """``rdata`` in DNSSEC canonical form (RFC 4034 §6.2)."""
    return TYPES.get(rtype, Unknown).canonical(rdata)


def expand(rtype: int, message: bytes, offset: int, length: int) -> bytes:
    """The RDATA of a record in ``message`` with its names uncompressed."""
    return TYPES.get(rtype, Unknown).expand(message, offset, length)
