"""The query as an ordered list of (key, value) pairs with a multi-map view."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import TypeAlias, overload

from ._pct import encoder, pct_decode

_enc_key = encoder("query_key")
_enc_value = encoder("query_value")
_enc_form = encoder("form")

QueryValue: TypeAlias = str | int | float | None
QueryInput: TypeAlias = "Query | Mapping[str, QueryValue] | Iterable[tuple[str, QueryValue]]"


class Query:
    """An immutable, ordered list of decoded ``(key, value)`` pairs.

    Parsing splits on ``&`` only (never on ``;``, never on ``,``), then each piece at
    its first ``=``; a piece without ``=`` has the value ``""``; empty pieces are
    skipped. ``+`` is a literal plus unless the query is parsed as a form.

    Iterating gives the pairs; ``q[key]``, ``q.get(key)`` and ``key in q`` look at the
    first pair with that key; ``q.getall(key)`` gives every value of the key. So
    ``dict(q)`` keeps the first value of each key (as ``dict()`` of a yarl query does);
    ``q.to_dict()`` keeps them all, as lists (as ``urllib.parse.parse_qs`` does).
    """

    __slots__ = ("_pairs",)
    _pairs: tuple[tuple[str, str], ...]

    def __init__(self, pairs: QueryInput = ()) -> None:
        if isinstance(pairs, Query):
            self._pairs = pairs._pairs
            return
        items = pairs.items() if isinstance(pairs, Mapping) else pairs
        self._pairs = tuple((str(k), "" if v is None else str(v)) for k, v in items)

    @classmethod
    def parse(cls, raw: str, *, form: bool = False, errors: str = "replace") -> Query:
        """Parse a raw query string (without the ``?``).

        ``form=True`` decodes ``+`` as a space (``application/x-www-form-urlencoded``).
        Malformed escapes are kept as they are here (the URI parser has already
        rejected them in a URI's own query).
        """
        pairs = []
        for piece in raw.split("&"):
            if not piece:
                continue
            k, _, v = piece.partition("=")
            pairs.append(
                (
                    pct_decode(k, plus=form, errors=errors, strict=False),
                    pct_decode(v, plus=form, errors=errors, strict=False),
                )
            )
        q = cls.__new__(cls)
        q._pairs = tuple(pairs)
        return q

    def encode(self, *, form: bool = False) -> str:
        """The raw query text of these pairs (``form``: space as ``+``)."""
        return encode_pairs(self._pairs, form=form)

    # --- sequence of pairs ---
    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._pairs)

    def __len__(self) -> int:
        return len(self._pairs)

    def __bool__(self) -> bool:
        return bool(self._pairs)

    def pairs(self) -> list[tuple[str, str]]:
        return list(self._pairs)

    items = pairs

    # --- multi-map view ---
    def __contains__(self, key: object) -> bool:
        return any(k == key for k, _ in self._pairs)

    def __getitem__(self, key: str) -> str:
        for k, v in self._pairs:
            if k == key:
                return v
        raise KeyError(key)

    @overload
    def get(self, key: str) -> str | None: ...
    @overload
    def get(self, key: str, default: str) -> str: ...
    @overload
    def get(self, key: str, default: None) -> str | None: ...

    def get(self, key: str, default: str | None = None) -> str | None:
        """The value of the first pair with ``key``, or ``default``."""
        for k, v in self._pairs:
            if k == key:
                return v
        return default

    def getall(self, key: str) -> list[str]:
        """The values of every pair with ``key``, in order (``[]`` if none)."""
        return [v for k, v in self._pairs if k == key]

    def keys(self) -> list[str]:
        """The distinct keys, in order of first appearance."""
        return list(dict.fromkeys(k for k, _ in self._pairs))

    def values(self) -> list[str]:
        return [v for _, v in self._pairs]

    def to_dict(self) -> dict[str, list[str]]:
        """``{key: [values...]}`` in order of first appearance."""
        d: dict[str, list[str]] = {}
        for k, v in self._pairs:
            d.setdefault(k, []).append(v)
        return d

    # --- building ---
    def add(self, key: str, value: QueryValue) -> Query:
        """A new query with one more pair at the end."""
        return Query((*self._pairs, (key, "" if value is None else str(value))))

    def set(self, key: str, value: QueryValue) -> Query:
        """A new query where ``key`` has exactly one value, at its first place."""
        out: list[tuple[str, str]] = []
        done = False
        for k, v in self._pairs:
            if k == key:
                if not done:
                    out.append((k, "" if value is None else str(value)))
                    done = True
            else:
                out.append((k, v))
        if not done:
            out.append((key, "" if value is None else str(value)))
        return Query(out)

    def remove(self, key: str) -> Query:
        """A new query without any pair of ``key``."""
        return Query([(k, v) for k, v in self._pairs if k != key])

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Query):
            return self._pairs == other._pairs
        if isinstance(other, (list, tuple)):
            return list(self._pairs) == [tuple(p) for p in other]
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._pairs)

    def __repr__(self) -> str:
        return f"Query({list(self._pairs)!r})"


def encode_pairs(pairs: Iterable[tuple[str, QueryValue]], *, form: bool = False) -> str:
    """Encode pairs as a query string; a pair whose value is ``None`` is written as its
    bare key (no ``=``)."""
    ek, ev = (_enc_form, _enc_form) if form else (_enc_key, _enc_value)
    out = []
    for k, v in pairs:
        if v is None:
            out.append(ek(str(k)))
        else:
            out.append(ek(str(k)) + "=" + ev(str(v)))
    return "&".join(out)
