"""Header fields: an ordered, case-insensitive multi-map (RFC 9110 section 5).

Names and values are ``str`` holding the wire bytes decoded as Latin-1, so any octet the
RFC allows (including obs-text, 0x80-0xFF) round-trips exactly. Every way of adding a field
validates it: a name must be a token, a value must not contain CR, LF, NUL or another
control character except HTAB, and must not start or end with whitespace. That is what
keeps a handler from splitting a response by accident.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import overload

TOKEN_RE = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
FIELD_VALUE_RE = re.compile(
    r"(?:[\x21-\x7e\x80-\xff](?:[\t\x20-\x7e\x80-\xff]*[\x21-\x7e\x80-\xff])?)?"
)

_token_ok = TOKEN_RE.fullmatch
_value_ok = FIELD_VALUE_RE.fullmatch


class InvalidHeader(ValueError):
    """A header name or value that may not be sent (the message names which rule)."""


def check_name(name: str) -> str:
    """Return ``name`` if it is a valid field name (an RFC 9110 token), else raise."""
    if not isinstance(name, str):
        raise InvalidHeader(f"header name must be str, not {type(name).__name__}")
    if _token_ok(name) is None:
        raise InvalidHeader(f"invalid header name {name!r}: must be a non-empty token")
    return name


def check_value(name: str, value: str) -> str:
    """Return ``value`` if it may be sent as the value of ``name``, else raise."""
    if not isinstance(value, str):
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        raise InvalidHeader(f"value of header {name!r} must be str, not {type(value).__name__}")
    if _value_ok(value) is None:
        if any(c in value for c in "\r\n"):
            raise InvalidHeader(f"value of header {name!r} contains CR or LF: {value!r}")
        if "\x00" in value:
            raise InvalidHeader(f"value of header {name!r} contains NUL: {value!r}")
        if value != value.strip(" \t"):
            raise InvalidHeader(f"value of header {name!r} has leading or trailing whitespace")
        if any(ord(c) > 0xFF for c in value):
            raise InvalidHeader(f"value of header {name!r} is not Latin-1: {value!r}")
        raise InvalidHeader(f"value of header {name!r} contains a control character: {value!r}")
    return value


_VALID: dict[tuple[str, str], tuple[str, str, str]] = {}
"""Recently validated ``(name, value)`` pairs: handlers send the same fields again and again."""
_VALID_MAX = 4096
_VALID_LONGEST = 256
"""Only pairs this short (name and value together) are remembered, so the cache holds at most
about 1 MiB of text however long the fields a program builds from what peers send."""


_new = object.__new__
"""Allocates a Headers without running __init__ (cheaper than ``cls.__new__(cls)``)."""


class Headers:
    """An ordered multi-map of header fields with case-insensitive names.

    >>> h = Headers([("Content-Type", "text/plain"), ("Set-Cookie", "a=1")])
    >>> h.add("set-cookie", "b=2")
    >>> h["content-type"], h.get_all("SET-COOKIE")
    ('text/plain', ['a=1', 'b=2'])

    Iteration yields ``(name, value)`` pairs in order, names as they were given.
    """

    __slots__ = ("_items", "_raw")

    _items: list[tuple[str, str, str]]  # (lowercased name, name, value)
    _raw: str  # set only by _lazy: a validated field block, split on first use

    def __init__(
        self, fields: Headers | Mapping[str, str] | Iterable[tuple[str, str]] | None = None
    ) -> None:
        self._items = []
        if fields is None:
            return
        cls = fields.__class__
        if cls is list or cls is tuple:
            pairs: Iterable[tuple[str, str]] = fields  # type: ignore[assignment]
        elif isinstance(fields, Headers):
            self._items = list(fields._items)
            return
        else:
            pairs = fields.items() if isinstance(fields, Mapping) else fields
        items = self._items
        cache = _VALID
        for pair in pairs:
            try:
                triple = cache.get(pair)
            except TypeError:  # an unhashable pair, such as a list
                triple = None
            if triple is None:
                name, value = pair
                check_name(name)
                triple = (name.lower(), name, check_value(name, value))
                if len(cache) >= _VALID_MAX:
                    cache.clear()
                if (
                    type(name) is str
                    and type(value) is str
                    and len(name) + len(value) <= _VALID_LONGEST
                ):
                    cache[(name, value)] = triple
            items.append(triple)

    @classmethod
    def _lazy(cls, block: str) -> Headers:
        """Wrap a field block the parser has validated; split it only when first used."""
        h = _new(cls)
        h._raw = block
        return h

    def __getattr__(self, name: str) -> list[tuple[str, str, str]]:
        # Only reached when ``_items`` is unset: the headers of a parsed message that
        # nobody has looked at yet.
        if name != "_items":
            raise AttributeError(name)
        items: list[tuple[str, str, str]] = []
        lines = self._raw.split("\r\n")
        lines.pop()
        append = items.append
        for line in lines:
            field, _, value = line.partition(":")
            append((field.lower(), field, value.strip(" \t")))
        self._items = items
        del self._raw  # from now on ``_items`` alone holds the fields (see _unsplit)
        return items

    def _unsplit(self) -> str | None:
        """The parser's field block while nobody has split it yet, else None.

        Its lines are ``name:value`` (names as received, no space before the colon:
        RFC 9112 5.1), each ending in CRLF: a reader may scan it for a field name without
        splitting it (a hit on a value is a false positive the reader must tolerate).
        """
        try:
            return self._raw
        except AttributeError:
            return None

    @classmethod
    def _trusted(cls, items: list[tuple[str, str, str]]) -> Headers:
        """Wrap already validated ``(lower, name, value)`` triples (the parser's fast path)."""
        h = _new(cls)
        h._items = items
        return h

    # -- reading ---------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        for _, name, value in self._items:
            yield name, value

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        key = name.lower()
        return any(k == key for k, _, _ in self._items)

    def __getitem__(self, name: str) -> str:
        key = name.lower()
        for k, _, v in self._items:
            if k == key:
                return v
        raise KeyError(name)

    @overload
    def get(self, name: str) -> str | None: ...

    @overload
    def get(self, name: str, default: str) -> str: ...

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of ``name``, or ``default``."""
        key = name.lower()
        for k, _, v in self._items:
            if k == key:
                return v
        return default

    def get_all(self, name: str) -> list[str]:
        """Every value of ``name``, in order (empty list if absent)."""
        key = name.lower()
        return [v for k, _, v in self._items if k == key]

    def get_list(self, name: str) -> list[str]:
        """The comma-separated list elements of every ``name`` field, lowercased-free, trimmed.

        ``Connection: keep-alive, Upgrade`` gives ``["keep-alive", "Upgrade"]``; empty
        elements are dropped (RFC 9110 section 5.6.1).
        """
        out: list[str] = []
        for value in self.get_all(name):
            out.extend(e for e in (p.strip(" \t") for p in value.split(",")) if e)
        return out

    def items(self) -> list[tuple[str, str]]:
        """``(name, value)`` pairs in order."""
        return [(n, v) for _, n, v in self._items]

    def keys(self) -> list[str]:
        """Field names in order (with repeats)."""
        return [n for _, n, _ in self._items]

    def copy(self) -> Headers:
        """An independent copy."""
        return Headers._trusted(list(self._items))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Headers):
            return [(k, v) for k, _, v in self._items] == [(k, v) for k, _, v in other._items]
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Headers({self.items()!r})"

    # -- writing ---------------------------------------------------------------------

    def add(self, name: str, value: str) -> None:
        """Append a field (keeps existing fields of the same name)."""
        check_name(name)
        self._items.append((name.lower(), name, check_value(name, value)))

    def set(self, name: str, value: str) -> None:
        """Replace every ``name`` field by one with ``value`` (at the first one's place)."""
        check_name(name)
        value = check_value(name, value)
        key = name.lower()
        out: list[tuple[str, str, str]] = []
        placed = False
        for item in self._items:
            if item[0] == key:
                if not placed:
                    out.append((key, name, value))
                    placed = True
            else:
                out.append(item)
        if not placed:
            out.append((key, name, value))
        self._items = out

    __setitem__ = set

    def setdefault(self, name: str, value: str) -> str:
        """Add ``name: value`` unless ``name`` is present; return the value in effect."""
        current = self.get(name)
        if current is not None:
            return current
        self.add(name, value)
        return value

    def remove(self, name: str) -> None:
        """Remove every ``name`` field (no error if absent)."""
        key = name.lower()
        self._items = [item for item in self._items if item[0] != key]

    def __delitem__(self, name: str) -> None:
        if name not in self:
            raise KeyError(name)
        self.remove(name)

    def extend(self, fields: Headers | Mapping[str, str] | Iterable[tuple[str, str]]) -> None:
        """Append every field of ``fields``."""
        self._items.extend(Headers(fields)._items)

    # -- wire ------------------------------------------------------------------------

    def encode(self) -> bytes:
        """The header section lines, each ending in CRLF (no final empty line)."""
        return "".join([f"{n}: {v}\r\n" for _, n, v in self._items]).encode("latin-1")


__all__ = ["FIELD_VALUE_RE", "TOKEN_RE", "Headers", "InvalidHeader", "check_name", "check_value"]
