"""The lines of UTF-8 bytes that a pattern matches, found on the bytes, never decoded as a
whole (:func:`line_counter`, :func:`word_counter`, :func:`line_finder`): see
:mod:`re_engine.grep` for how, and why in linear time."""

from __future__ import annotations

import re as _re
from collections.abc import Callable, Iterator, Sequence
from itertools import chain, repeat
from typing import Any

from .. import ast as R
from ..api import Pattern
from ..charset import NEWLINE, CharSet, word
from ..fast import _required
from ..prog import Core, nullable, resolve
from .options import _word_edge

# bytes patterns: the most paths a match attempt may try, and the most
# characters outside ASCII a set may hold (each is one UTF-8 alternative)
_MAX_PATHS = 256
_MAX_WIDE = 8
# LineCounter: a literal is found with a loop of bytes.find while its lines
# are fewer than one in this many bytes, with re's scan past that
_SPARSE = 2000


def _byte_set(cs: CharSet) -> tuple[bytes, int] | None:
    """An ``re`` bytes pattern for one character of ``cs`` in UTF-8, and its paths."""
    ascii_part = cs.clip(0x7F)
    if cs.size() - ascii_part.size() > _MAX_WIDE:  # (before a difference of large sets)
        return None
    wide = cs.diff(ascii_part)
    alts: list[bytes] = []
    if ascii_part:
        body = b"".join(
            b"\\x%02x" % lo if lo == hi else b"\\x%02x-\\x%02x" % (lo, hi)
            for lo, hi in ascii_part.ranges
        )
        alts.append(b"[" + body + b"]")
    for lo, hi in wide.ranges:
        for cp in range(lo, hi + 1):
            if 0xD800 <= cp <= 0xDFFF:  # lone surrogates are bytes that are not UTF-8
                return None
            alts.append(_re.escape(chr(cp).encode()))
    if not alts:
        return None
    # UTF-8 is a prefix code: at most one alternative matches at a position
    return (alts[0] if len(alts) == 1 else b"(?:" + b"|".join(alts) + b")"), 1


def _byte_pattern(c: Core) -> tuple[bytes, int] | None:
    """``c`` as an ``re`` bytes pattern over UTF-8 text, and how many paths an attempt
    may try (``None``: not expressible, or not proved cheap)."""
    if isinstance(c, R.Set):
        return _byte_set(c.cs)
    if isinstance(c, R.Assert):
        got = {"bol": b"^", "eol": b"$"}.get(c.kind)
        return None if got is None else (got, 1)
    if isinstance(c, R.Cap):
        return _byte_pattern(c.node)
    if isinstance(c, (R.Seq, R.Alt)):
        parts = [_byte_pattern(x) for x in c.items]
        if not parts or any(p is None for p in parts):
            return None
        ps = [p for p in parts if p is not None]
        if isinstance(c, R.Seq):
            paths = 1
            for _, k in ps:
                paths *= k
            return b"".join(b"(?:" + b + b")" for b, _ in ps), paths
        return b"|".join(b"(?:" + b + b")" for b, _ in ps), sum(k for _, k in ps)
    if isinstance(c, R.Repeat) and c.max is not None and isinstance(c.node, R.Set):
        one = _byte_set(c.node.cs)
        if one is None or c.max > 255:
            return None
        return b"(?:" + one[0] + b"){%d,%d}" % (c.min, c.max), c.max - c.min + 1
    return None


Check = Callable[[bytes, int, int], bool]
Bulk = Callable[[bytes, int, int], int]
# the starts and the stops (past the newline) of the matching lines of a stretch
Bounds = Callable[[bytes, int, int], tuple[Sequence[int], Sequence[int]]]

_SUCC = (1).__add__
_PRED = (-1).__add__
_M_START = _re.Match.start
_M_END = _re.Match.end


class LineCounter:
    """Counts, or finds, the lines of UTF-8 bytes that a pattern matches (see :func:`line_counter`).

    ``bulk(data, start, end)`` counts the matching lines of a stretch of
    whole lines with no Python work per line; ``bounds(data, start, end)``
    gives the starts and the stops (past the newline) of each, as two sequences.  ``lit``, when given, is a
    piece every matching line holds, found with ``bytes.find`` in the data
    mapped by ``table`` (``bytes.translate``): with no ``check``, the lines
    holding it are exactly the matching lines (and ``bulk`` counts in the
    mapped data); else ``check(data, start, end)`` says whether the line
    ``data[start:end]`` matches (and ``bulk`` counts in the data as read).
    With no ``bulk`` (nor ``bounds``), every line holding the piece is
    checked, however many.
    """

    def __init__(
        self,
        bulk: Bulk | None,
        bounds: Bounds | None,
        table: bytes | None = None,
        lit: bytes | None = None,
        check: Check | None = None,
    ) -> None:
        self.bulk = bulk
        self.bulk_bounds = bounds
        self.table = table
        self.lit = lit
        self.check = check
        # the last stretch searched turned out dense: the next is searched
        # in bulk at once (until one turns out sparse)
        self.dense = False

    def _searched(self, data: bytes) -> bytes:
        """``data`` as the searches read it: through :attr:`table` if any (newlines stay
        newlines)."""
        return data if self.table is None else data.translate(self.table)

    def _for_bulk(self, data: bytes, raw: bytes) -> bytes:
        """What the bulk search reads: the searched data, or the data as read when a
        literal's lines are then checked (``check`` reads the data as read)."""
        return raw if self.lit is not None and self.check is not None else data

    def _dense_after(self, found: int, start: int, end: int) -> None:
        """After a bulk search of a literal's lines found ``found`` lines in
        ``[start, end)``: whether the next stretch goes in bulk at once."""
        if self.lit is not None:
            self.dense = found * _SPARSE > end - start

    def _found(self, data: bytes, raw: bytes, start: int, end: int) -> Iterator[tuple[int, int]]:
        """The matching lines (``(start, end)``, end the newline) holding :attr:`lit`
        in ``data`` (``raw``: as read), until they turn out dense: then
        ``(-1, p)``, the rest from ``p`` for a search of every line.

        ``bytes.find`` runs in C: with few lines holding the piece, a loop
        over them (each search resumes past its line's end) beats a scan of
        every line; when they turn out dense (more than one line in
        :data:`_SPARSE` bytes), the bulk search takes the rest.  Either way
        each line is searched once (checked at most once).
        """
        lit = self.lit
        assert lit is not None
        check = self.check
        find = data.find
        rfind = data.rfind
        tried = 0
        i = find(lit, start, end)
        while i >= 0:
            tried += 1
            e = find(b"\n", i, end)
            le = end if e < 0 else e
            ls = rfind(b"\n", start, i) + 1 or start  # start: a line's start
            if check is None or check(raw, ls, le):
                yield ls, le
            if e < 0:
                return
            if not tried & 63 and e - start < tried * _SPARSE and self.bulk is not None:
                yield -1, e + 1
                return
            i = find(lit, e + 1, end)

    def bounds(
        self, data: bytes, start: int = 0, end: int | None = None
    ) -> tuple[Sequence[int], Sequence[int]]:
        """The starts and the stops (past the newline, or the end) of the lines of
        ``data[start:end]`` that match, in order; bounds as for :meth:`count`."""
        end = len(data) if end is None else end
        raw, data = data, self._searched(data)
        whole = self.bulk_bounds
        if self.lit is None or self.dense:
            assert whole is not None
            got = whole(self._for_bulk(data, raw), start, end)
            self._dense_after(len(got[0]), start, end)
            return got
        starts: list[int] = []
        stops: list[int] = []
        for ls, le in self._found(data, raw, start, end):
            if ls < 0:
                assert self.bulk_bounds is not None
                self.dense = True
                more, tails = self.bulk_bounds(self._for_bulk(data, raw), le, end)
                starts += more
                stops += tails
                break
            starts.append(ls)
            stops.append(le + 1 if le < end else end)
        return starts, stops

    def lines(
        self, data: bytes, start: int = 0, end: int | None = None
    ) -> Iterator[tuple[int, int]]:
        """``(start, end)`` of each line of ``data[start:end]`` that matches, in
        order (``end``: its newline); bounds as for :meth:`count`, ``data``
        ending with a newline."""
        starts, stops = self.bounds(data, start, end)
        return zip(starts, map(_PRED, stops), strict=True)

    def count(self, data: bytes, start: int = 0, end: int | None = None) -> int:
        """The number of lines of ``data[start:end]`` that match (``start``: the
        start of a line; ``end``: just past a newline, or the end of ``data``)."""
        end = len(data) if end is None else end
        raw, data = data, self._searched(data)
        whole = self.bulk
        if self.lit is None or self.dense:
            assert whole is not None
            n = whole(self._for_bulk(data, raw), start, end)
            self._dense_after(n, start, end)
            return n
        lines = 0
        for ls, le in self._found(data, raw, start, end):
            if ls < 0:
                assert self.bulk is not None
                self.dense = True
                return lines + self.bulk(self._for_bulk(data, raw), le, end)
            lines += 1
        return lines


def _rx_bulk(rx: _re.Pattern[bytes]) -> Bulk:
    """Counts lines with ``rx``, which matches once a line: from a match to the line's end."""
    findall = rx.findall
    return lambda data, start, end: len(findall(data, start, end))


def _rx_bounds(rx: _re.Pattern[bytes]) -> Bounds:
    """Finds lines with ``rx``, which matches once a line: from a match past
    the line's newline, which is the line's stop; its start is past the
    newline before the match (``rfind``, which stops there: each line's bytes
    before its match are covered once).  The sequences are built by
    iterators in C (``map``), no Python step per line (``Match.span`` and
    ``zip`` measured slower than ``start`` and ``end`` apart)."""
    finditer = rx.finditer

    def bounds(data: bytes, start: int, end: int) -> tuple[Sequence[int], Sequence[int]]:
        ms = list(finditer(data, start, end))
        # start is a line's start: the newline before it (if any) bounds rfind
        firsts = map(_M_START, ms)
        starts = list(map(_SUCC, map(data.rfind, repeat(b"\n"), repeat(0), firsts)))
        return starts, list(map(_M_END, ms))

    return bounds


# _Strings: a stretch where the strings' lines outnumber the lines holding
# any of them by this ratio is searched by one pattern (and the next ones,
# until the strings are tried again every _RETRY stretches)
_OVERLAP = 1.5
_RETRY = 16


class _Strings:
    """Finds the lines holding any of several strings (an alternation of
    strings): each string by an ``re`` made of it then the rest of its line
    (as :func:`_rx_bounds`), a literal prefix that ``re`` searches for
    quickly, where one pattern of the alternation is searched by its first
    bytes one position at a time (measured ~1.6x faster on prose with the
    strings in 46% of lines).  Each gives the sorted stops of the lines
    holding its string; the lists are merged by one sort (timsort takes the
    sorted runs: ``O(m log k)`` for ``m`` stops of ``k`` lists) and a line
    holding several strings kept once (``dict``).  Where lines hold several
    strings (the strings' lines outnumber the lines by :data:`_OVERLAP`),
    each is found again by each string: the stretches after such a one are
    searched by the whole pattern ``one`` (as :func:`_rx_bounds`), the
    strings tried again every :data:`_RETRY` stretches.

    Linear: each string's search resumes at the end of the line it found,
    so each covers the stretch once with a literal prefix; ``k`` is at most
    :data:`_MAX_STRINGS`.
    """

    def __init__(self, strings: Sequence[bytes], one: _re.Pattern[bytes]) -> None:
        self.rxs = [_re.compile(_re.escape(x) + b"[^\\n]*\\n?") for x in strings]
        self.one_bulk = _rx_bulk(one)
        self.one_bounds = _rx_bounds(one)
        self.single = 0  # stretches left to search with the whole pattern

    def stops(self, data: bytes, start: int, end: int) -> list[int]:
        """The stops (past the newline) of the lines holding any string, in order."""
        found = [list(map(_M_END, rx.finditer(data, start, end))) for rx in self.rxs]
        stops = list(dict.fromkeys(sorted(chain.from_iterable(found))))
        if sum(map(len, found)) > _OVERLAP * len(stops):
            self.single = _RETRY
        return stops

    def bulk(self, data: bytes, start: int, end: int) -> int:
        """The number of the lines of a stretch holding any string."""
        if self.single:
            self.single -= 1
            return self.one_bulk(data, start, end)
        return len(self.stops(data, start, end))

    def bounds(self, data: bytes, start: int, end: int) -> tuple[Sequence[int], Sequence[int]]:
        """The starts and stops of the lines of a stretch holding any string:
        each start past the newline before its stop's own (``rfind`` from the
        line's last byte, covering the line once; ``start`` is a line's
        start, so the newline before it, if any, stops the search)."""
        if self.single:
            self.single -= 1
            return self.one_bounds(data, start, end)
        stops = self.stops(data, start, end)
        lasts = map(_PRED, stops)
        starts = list(map(_SUCC, map(data.rfind, repeat(b"\n"), repeat(0), lasts)))
        return starts, stops


def _engine_lines(end_of: Callable[[str, int], int], text: str) -> Iterator[tuple[int, int]]:
    """``(start, end)`` in ``text`` of each line re_engine matches, in order.

    Any match will do, no need for its start: a match never spans lines, so
    the end of the leftmost one says which line matches; the next search
    starts at the next line.  One forward pass over the text in all.
    """
    if not text:
        return
    last = len(text) - 1 if text.endswith("\n") else len(text)  # no line after a final \n
    find = text.find
    pos = 0
    while pos <= last:
        e = end_of(text, pos)
        if e < 0 or e > last:
            return
        le = find("\n", e)
        le = len(text) if le < 0 else le
        yield text.rfind("\n", 0, e) + 1, le
        pos = le + 1


def _engine_bulk(pattern: Pattern[str]) -> Bulk:
    """Counts lines with re_engine on the decoded text (:func:`_engine_lines`)."""
    end_of = pattern._strategy.end

    def bulk(data: bytes, start: int, end: int) -> int:
        text = data[start:end].decode("utf-8", "surrogateescape")
        return sum(1 for _ in _engine_lines(end_of, text))

    return bulk


def _engine_bounds(pattern: Pattern[str]) -> Bounds:
    """Finds lines with re_engine on the decoded text (:func:`_engine_lines`), their
    bounds mapped back to the bytes: the same where the text is ASCII, else by
    the length in UTF-8 of the text between successive lines (linear)."""
    end_of = pattern._strategy.end

    def bounds(data: bytes, start: int, end: int) -> tuple[Sequence[int], Sequence[int]]:
        text = data[start:end].decode("utf-8", "surrogateescape")
        starts: list[int] = []
        ends: list[int] = []
        if len(text) == end - start:  # ASCII: one byte a character
            for ls, le in _engine_lines(end_of, text):
                starts.append(start + ls)
                ends.append(min(start + le + 1, end))  # past the newline
            return starts, ends
        done = 0  # characters of text before byte offset at
        at = start
        for ls, le in _engine_lines(end_of, text):
            at += len(text[done:ls].encode("utf-8", "surrogateescape"))
            n = len(text[ls:le].encode("utf-8", "surrogateescape"))
            starts.append(at)
            ends.append(min(at + n + 1, end))
            at += n
            done = le
        return starts, ends

    return bounds


def _engine_check(pattern: Pattern[str]) -> Check:
    end_of = pattern._strategy.end
    return lambda data, start, end: (
        end_of(data[start:end].decode("utf-8", "surrogateescape"), 0) >= 0
    )


def _piece(sets: Sequence[CharSet]) -> tuple[bytes | None, bytes] | None:
    """``(table, lit)``: where ``sets`` (one character each, in a row) occur in UTF-8 bytes.

    A string (each set one character) is its UTF-8 bytes (``table`` None).
    Else, for sets within ASCII: the bytes are partitioned by which of the
    sets (and the newline) hold them; when each set is exactly one part,
    mapping every byte to the least byte of its part (``bytes.translate``,
    in C) turns the sets into a literal.  Bytes of UTF-8 sequences are in no
    set and never newlines: their part is apart from every set's, so no
    character is split.  ``None``: neither applies.
    """
    singles = [cs.single() for cs in sets]
    if all(c is not None and not 0xD800 <= c <= 0xDFFF for c in singles):
        return None, "".join(chr(c) for c in singles if c is not None).encode()
    distinct = list(dict.fromkeys(sets))
    if not sets or any(not cs or cs.ranges[-1][1] > 0x7F for cs in distinct):
        return None
    rows: list[bytearray] = []  # which bytes each part holds
    for cs in [*distinct, NEWLINE]:
        row = bytearray(256)
        for lo, hi in cs.ranges:
            row[lo : hi + 1] = b"\1" * (hi + 1 - lo)  # (every set is within ASCII)
        rows.append(row)
    key = list(zip(*rows, strict=True))
    least: dict[tuple[bool, ...], int] = {}
    for b in range(256):
        least.setdefault(key[b], b)
    rep: list[int] = []
    for cs in distinct:
        first = cs.ranges[0][0]
        if any(key[b] != key[first] for lo, hi in cs.ranges for b in range(lo, hi + 1)):
            return None  # the set is more than one part
        rep.append(least[key[first]])
    table = bytes(least[key[b]] for b in range(256))
    by_set = dict(zip(distinct, rep, strict=True))
    return table, bytes(by_set[cs] for cs in sets)


def _class_string(core: Core) -> list[CharSet] | None:
    """The sets of ``core`` if it is a string of sets (``[0-9]{5}``: five of them)."""
    sets: list[CharSet] = []
    items = core.items if isinstance(core, R.Seq) else (core,)
    for it in items:
        while isinstance(it, R.Cap):
            it = it.node
        if isinstance(it, R.Set):
            sets.append(it.cs)
        elif isinstance(it, R.Repeat) and isinstance(it.node, R.Set) and it.min == it.max:
            if it.min > 64:
                return None
            sets.extend([it.node.cs] * it.min)
        else:
            return None
    return sets or None


# a required piece prefilters the lines when at least this long (a class
# string, which costs a translation of the data; a string: this less one)
_PIECE_MIN = 3


def _best_piece(core: Core) -> tuple[bytes | None, bytes] | None:
    """A piece every match of ``core`` holds (see :func:`_piece`), if one is worth finding:
    the longest string, unless a class string is longer still."""
    best: dict[bool, tuple[int, tuple[bytes | None, bytes]]] = {}
    for run in _required(core):
        # stretches of strings, and of sets within ASCII
        for ok in (lambda cs: cs.single() is not None, lambda cs: cs.ranges[-1][1] <= 0x7F):
            stretch: list[CharSet] = []
            for cs in [*run, CharSet()]:
                if cs and ok(cs):
                    stretch.append(cs)
                    continue
                got = _piece(stretch) if stretch else None
                if got is not None:
                    kind = got[0] is None
                    if len(stretch) > best.get(kind, (0, got))[0]:
                        best[kind] = (len(stretch), got)
                stretch = []
    plain_len, plain = best.get(True, (0, None))
    class_len, classes = best.get(False, (0, None))
    if classes is not None and class_len >= _PIECE_MIN and class_len > plain_len + 1:
        return classes
    if plain is not None and plain_len >= _PIECE_MIN - 1:
        return plain
    return None


Piecewise = tuple[bytes | None, bytes]
# what _shape finds: a string or a string of classes; else a piece every
# match holds, the pattern on the bytes, and the strings it alternates
Shape = tuple[Piecewise | None, Piecewise | None, tuple[bytes, int] | None, list[bytes] | None]
# the last body _shape looked at, and what it found
_last_shape: list[tuple[R.Re, Any]] = []
# the most strings an alternation of strings is searched as, one at a time
_MAX_STRINGS = 8


def _alt_strings(core: Core) -> list[bytes] | None:
    """The UTF-8 strings ``core`` alternates (``a|bc|d``), if it is an
    alternation of 2 to :data:`_MAX_STRINGS` non-empty strings."""
    if not isinstance(core, R.Alt) or not 2 <= len(core.items) <= _MAX_STRINGS:
        return None
    out: list[bytes] = []
    for item in core.items:
        sets = _class_string(item)
        got = None if sets is None else _piece(sets)
        if got is None or got[0] is not None:
            return None
        out.append(got[1])
    return out


def _shape(body: R.Re) -> Shape | None:
    """What :func:`line_counter` builds on: ``body`` as a string or a string of
    classes (:func:`_piece`), else a piece every match holds, the pattern on
    the bytes and the strings it alternates; ``None``: ``body`` matches the
    empty string.  (The last answer is kept: grep asks twice, with and then
    without a compiled pattern.)"""
    if _last_shape and _last_shape[0][0] is body:
        return _last_shape[0][1]  # type: ignore[no-any-return]
    core = resolve(body, False).core
    got: Shape | None = None
    if not nullable(core):
        sets = _class_string(core)
        whole = None if sets is None else _piece(sets)
        if whole is not None:
            got = whole, None, None, None
        else:
            got = None, _best_piece(core), _byte_pattern(core), _alt_strings(core)
    _last_shape[:] = [(body, got)]
    return got


def line_counter(body: R.Re, pattern: Pattern[str] | None = None) -> LineCounter | None:
    """What counts the lines that ``body`` matches in UTF-8 bytes, if it can be done there.

    With ``re`` on the bytes: the count is of the matches of ``body`` then
    the rest of the line (``[^\\n]*``), without decoding the text or
    splitting it into lines, when ``body`` is made of sets with few
    characters outside ASCII, bounded repetitions of them, alternations and
    ``^``/``$``.  A string of ASCII classes becomes a literal over byte
    classes (:func:`_piece`).  An alternation of strings is searched one
    string at a time where that pays (:class:`_Strings`).  Otherwise, given
    the compiled ``pattern``
    and a piece every match holds (:func:`_best_piece`), the lines holding
    the piece are found in the bytes and only they are decoded and searched
    (all lines of a stretch where they turn out dense).  ``None``: neither.

    Bound: ``body`` has a finite maximum length ``L`` and at most ``P <=
    256`` ways to be matched from a position (a set's alternatives are UTF-8
    sequences, a prefix code, so one at most matches; sequences multiply,
    alternations add, ``{m,n}`` counts ``n - m + 1``), so an attempt costs at
    most ``P * L`` steps; a successful one then runs the final class loop,
    which cannot fail, to the end of the line, where the next search starts.
    ``re`` makes at most one attempt per position: ``O(n * P * L)`` in all.
    A line checked alone is searched once, by ``re`` (as above) or re_engine.
    """
    shape = _shape(body)
    if shape is None:
        return None
    got, piece, byte, strings = shape
    if got is not None:  # a string, or a string of classes
        rx = _re.compile(_re.escape(got[1]) + b"[^\\n]*\\n?()")
        return LineCounter(_rx_bulk(rx), _rx_bounds(rx), *got)
    if strings is not None and byte is not None:  # an alternation of strings
        found = _Strings(strings, _re.compile(b"(?:" + byte[0] + b")[^\\n]*\\n?()"))
        return LineCounter(found.bulk, found.bounds)
    if byte is not None and byte[1] <= _MAX_PATHS:
        rx = _re.compile(b"(?m)(?:" + byte[0] + b")[^\\n]*\\n?()")
        if piece is None:
            return LineCounter(_rx_bulk(rx), _rx_bounds(rx))
        one = _re.compile(b"(?m)" + byte[0]).search
        check = lambda d, s, e: one(d, s, e) is not None  # noqa: E731
        return LineCounter(_rx_bulk(rx), _rx_bounds(rx), *piece, check)
    if pattern is None or piece is None:
        return None
    return LineCounter(
        _engine_bulk(pattern), _engine_bounds(pattern), *piece, _engine_check(pattern)
    )


# the ASCII bytes of word characters (-w): letters, digits, the underscore
_ASCII_WORD = [chr(b).isalnum() or b == 0x5F for b in range(128)]


def _word_check(table: bytes | None, lit: bytes, words: CharSet) -> Check:
    """Does a line hold an occurrence of ``lit`` (in the line mapped by
    ``table``) neither preceded nor followed by a word character (``-w``)?

    Only the characters on either side of each occurrence are looked at: an
    ASCII byte by a table, else the character (at most 4 bytes) decoded
    alone, which UTF-8 allows (it synchronises at any character's first
    byte; a byte that is not UTF-8 is no word character).  Each search
    resumes one byte past the last occurrence (occurrences of a class string
    may overlap): at most ``len(lit)`` searches cover a byte, each check
    a bounded step, so a line costs ``O(len(line) * len(lit))``.
    """
    k = len(lit)

    def before(data: bytes, ls: int, i: int) -> bool:
        """Is the character that ends at ``i`` a word character?"""
        b = data[i - 1]
        if b < 0x80:
            return _ASCII_WORD[b]
        return data[max(ls, i - 4) : i].decode("utf-8", "surrogateescape")[-1] in words

    def after(data: bytes, j: int, le: int) -> bool:
        """Is the character that starts at ``j`` a word character?"""
        b = data[j]
        if b < 0x80:
            return _ASCII_WORD[b]
        return data[j : min(le, j + 4)].decode("utf-8", "surrogateescape")[0] in words

    def check(data: bytes, ls: int, le: int) -> bool:
        line = data[ls:le] if table is None else data[ls:le].translate(table)
        find = line.find
        n = le - ls
        i = find(lit)
        while i >= 0:
            if (i == 0 or not before(data, ls, ls + i)) and (
                i + k == n or not after(data, ls + i + k, le)
            ):
                return True
            i = find(lit, i + 1)
        return False

    return check


def word_counter(body: R.Re) -> LineCounter | None:
    """:func:`line_counter` for ``-w`` around a string or a string of ASCII
    classes (:func:`line_body`'s shape): the lines holding the piece
    (:func:`_piece`: its occurrences are the inner pattern's matches) are
    checked at each occurrence's edges (:func:`_word_check`), no pattern run
    over the line.  ``None``: ``body`` is not of that shape."""
    if not (isinstance(body, R.Seq) and len(body.items) == 3):
        return None
    head, mid, tail = body.items
    if not isinstance(mid, R.Group) or not isinstance(head, R.Alt) or len(head.items) != 2:
        return None
    edge = head.items[1]
    if head != R.alt(R.bol, edge) or tail != R.alt(R.eol, edge) or not isinstance(edge, R.Set):
        return None
    if edge.cs != _word_edge():
        return None
    core = resolve(mid.node, False).core
    sets = _class_string(core)
    got = None if sets is None or nullable(core) else _piece(sets)
    if got is None:
        return None
    return LineCounter(None, None, *got, _word_check(*got, word()))


def line_finder(body: R.Re, pattern: Pattern[str]) -> LineCounter:
    """:func:`line_counter` where it applies, else re_engine over each chunk's whole text."""
    got = line_counter(body, pattern)
    return got or LineCounter(_engine_bulk(pattern), _engine_bounds(pattern))
