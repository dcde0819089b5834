"""Character sets as sorted tuples of inclusive code-point intervals.

A :class:`CharSet` is immutable and hashable.  Sets over ``str`` use the whole
Unicode range ``0..0x10FFFF``; sets used with ``bytes`` patterns are simply
restricted to ``0..255`` when compiled.

The Unicode definitions of ``\\w``, ``\\d`` and ``\\s`` are taken from Python's
own :mod:`re` (computed once, lazily) so that the Perl syntax agrees with
``re`` character for character.
"""

from __future__ import annotations

import re as _re
import unicodedata
from bisect import bisect_right
from collections.abc import Iterable
from functools import cache, lru_cache

MAX_CODE = 0x10FFFF
_FEW = 8  # union: a side with at most this many ranges is spliced in

Interval = tuple[int, int]


class CharSet:
    """An immutable set of code points, stored as disjoint sorted intervals."""

    __slots__ = ("_hash", "_los", "_size", "ranges")

    ranges: tuple[Interval, ...]

    def __init__(self, ranges: Iterable[Interval] = ()) -> None:
        self.ranges = _normalise(ranges)
        self._los = [lo for lo, _ in self.ranges]
        self._hash = -1  # computed on first use: most sets are never hashed
        self._size = -1

    # -- constructors -------------------------------------------------------
    @classmethod
    def _sorted(cls, ranges: list[Interval], los: list[int] | None = None) -> CharSet:
        """A set from ranges already sorted, disjoint and not adjacent (no normalising).

        ``los``: the ranges' starts, when the caller has them.
        """
        cs = cls.__new__(cls)
        cs.ranges = tuple(ranges)
        cs._los = [lo for lo, _ in ranges] if los is None else los
        cs._hash = -1
        cs._size = -1
        return cs

    @classmethod
    def of_char(cls, c: int) -> CharSet:
        return cls._sorted([(c, c)], [c])

    @classmethod
    def of_range(cls, lo: int, hi: int) -> CharSet:
        if lo > hi:
            raise ValueError(f"empty range {lo:#x}-{hi:#x}")
        return cls(((lo, hi),))

    @classmethod
    def of_string(cls, s: str) -> CharSet:
        return cls((ord(c), ord(c)) for c in s)

    # -- queries ------------------------------------------------------------
    def __contains__(self, c: object) -> bool:
        if isinstance(c, str):
            c = ord(c)
        if not isinstance(c, int):
            return False
        i = bisect_right(self._los, c) - 1
        return i >= 0 and c <= self.ranges[i][1]

    def __eq__(self, other: object) -> bool:
        return self is other or (isinstance(other, CharSet) and self.ranges == other.ranges)

    def __hash__(self) -> int:
        if self._hash == -1:  # hash() of a tuple is never -1
            self._hash = hash(self.ranges)
        return self._hash

    def __bool__(self) -> bool:
        return bool(self.ranges)

    def __repr__(self) -> str:
        parts = []
        for lo, hi in self.ranges[:8]:
            parts.append(f"{lo:#x}" if lo == hi else f"{lo:#x}-{hi:#x}")
        more = ", ..." if len(self.ranges) > 8 else ""
        return f"CharSet({', '.join(parts)}{more})"

    def size(self) -> int:
        """Number of code points in the set."""
        if self._size < 0:
            self._size = sum(hi - lo + 1 for lo, hi in self.ranges)
        return self._size

    def single(self) -> int | None:
        """The only code point of a one-element set, else ``None``."""
        if len(self.ranges) == 1 and self.ranges[0][0] == self.ranges[0][1]:
            return self.ranges[0][0]
        return None

    # -- algebra ------------------------------------------------------------
    def union(self, other: CharSet) -> CharSet:
        if not other.ranges or other.ranges == self.ranges:
            return self
        if not self.ranges:
            return other
        small, big = (self, other) if len(self.ranges) <= len(other.ranges) else (other, self)
        if len(small.ranges) <= _FEW:
            return big._with(small.ranges)
        return CharSet(self.ranges + other.ranges)

    def _with(self, extra: tuple[Interval, ...]) -> CharSet:
        """This set plus a few sorted disjoint ranges, each spliced in by bisection.

        A class such as ``[\\w.+-]`` adds three characters to the hundreds of
        ranges of ``\\w``: each splice is two bisections and one slice
        assignment (a C memmove), not a sort and a Python pass over them all.
        """
        rs = list(self.ranges)
        los = list(self._los)
        for lo, hi in extra:
            i = bisect_right(los, lo) - 1  # the last range starting at or before lo
            if i >= 0 and rs[i][1] >= lo - 1:
                lo = rs[i][0]
                hi = max(hi, rs[i][1])
            else:
                i += 1
            j = bisect_right(los, hi + 1)  # ranges starting up to hi + 1 merge in
            if j > i:
                hi = max(hi, rs[j - 1][1])
            rs[i:j] = [(lo, hi)]
            los[i:j] = [lo]
        return CharSet._sorted(rs, los)

    def complement(self, top: int = MAX_CODE) -> CharSet:
        out: list[Interval] = []
        nxt = 0
        for lo, hi in self.ranges:
            if lo > top:
                break
            if lo > nxt:
                out.append((nxt, lo - 1))
            nxt = hi + 1
        if nxt <= top:
            out.append((nxt, top))
        return CharSet._sorted(out)

    def inter(self, other: CharSet) -> CharSet:
        # pieces of normalised sets are sorted, disjoint and never adjacent,
        # so the result needs no normalising
        small, big = (self, other) if len(self.ranges) <= len(other.ranges) else (other, self)
        out: list[Interval] = []
        b, los = big.ranges, big._los
        nb = len(b)
        if not small.ranges or not nb:
            return CharSet._sorted(out)
        # for each range of the smaller set, the ranges of the larger it meets
        for lo, hi in small.ranges:
            k = bisect_right(los, lo) - 1
            if k < 0:
                k = 0
            while k < nb:
                blo, bhi = b[k]
                if blo > hi:
                    break
                x = lo if lo > blo else blo
                y = hi if hi < bhi else bhi
                if x <= y:
                    out.append((x, y))
                k += 1
        return CharSet._sorted(out)

    def issubset(self, other: CharSet) -> bool:
        """Is every code point of this set in ``other``?  (No set is built.)"""
        los, ranges = other._los, other.ranges
        for lo, hi in self.ranges:
            i = bisect_right(los, lo) - 1
            if i < 0 or ranges[i][1] < hi:
                return False
        return True

    def diff(self, other: CharSet) -> CharSet:
        return self.inter(other.complement())

    def clip(self, top: int) -> CharSet:
        """The part of the set at or below ``top`` (255 for bytes patterns)."""
        rs = self.ranges
        if not rs or rs[-1][1] <= top:
            return self
        i = bisect_right(self._los, top)  # ranges starting at or below top
        out = list(rs[:i])
        if out and out[-1][1] > top:
            out[-1] = (out[-1][0], top)
        return CharSet._sorted(out)

    def case_fold(self) -> CharSet:
        """Close the set under simple case equivalence (``c.lower()``/``c.upper()``)."""
        groups, keys = _case_table()
        extra: list[Interval] = []
        for lo, hi in self.ranges:
            i = bisect_right(keys, lo - 1)
            while i < len(keys) and keys[i] <= hi:
                for d in groups[keys[i]]:
                    extra.append((d, d))
                i += 1
        return CharSet(self.ranges + tuple(extra)) if extra else self


def _normalise(ranges: Iterable[Interval]) -> tuple[Interval, ...]:
    """Sorted, disjoint, non-adjacent ranges covering the same code points."""
    rs = sorted(ranges)
    out: list[Interval] = []
    it = iter(rs)
    for clo, chi in it:
        if clo <= chi:
            break
    else:
        return ()
    for lo, hi in it:
        if lo > hi:
            continue
        if lo <= chi + 1:
            if hi > chi:
                chi = hi
        else:
            out.append((clo, chi))
            clo, chi = lo, hi
    out.append((clo, chi))
    return tuple(out)


EMPTY = CharSet()
ANY = CharSet(((0, MAX_CODE),))
NEWLINE = CharSet.of_char(10)


@lru_cache(maxsize=1)
def _case_table() -> tuple[dict[int, tuple[int, ...]], list[int]]:
    """Map each cased code point to all its case-equivalent code points.

    Two code points are equivalent when one is the single-character
    ``lower()`` or ``upper()`` of the other (closed transitively), which links
    for instance ``s``, ``S`` and ``\u017f`` (long s), or ``k``, ``K`` and the
    Kelvin sign.
    """
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        while parent.get(x, x) != x:
            x = parent[x]
        return x

    cased: list[int] = []
    for lo in range(0, 0x1F000, 128):  # most blocks have no cased character: skip them whole
        block = "".join(map(chr, range(lo, lo + 128)))
        if block.lower() != block or block.upper() != block:
            cased.extend(range(lo, lo + 128))
    for cp in cased:
        if 0xD800 <= cp <= 0xDFFF:
            continue
        ch = chr(cp)
        for other in (ch.lower(), ch.upper()):
            if len(other) == 1 and other != ch:
                a, b = find(cp), find(ord(other))
                if a != b:
                    parent[max(a, b)] = min(a, b)
                parent.setdefault(cp, cp)
    members: dict[int, list[int]] = {}
    for cp in parent:
        members.setdefault(find(cp), []).append(cp)
    groups: dict[int, tuple[int, ...]] = {}
    for ms in members.values():
        if len(ms) > 1:
            t = tuple(sorted(ms))
            for m in t:
                groups[m] = t
    return groups, sorted(groups)


@lru_cache(maxsize=1)
def case_canon() -> dict[int, int]:
    """A ``str.translate`` table taking each cased character to the least of its case class."""
    groups, _keys = _case_table()
    return {cp: group[0] for cp, group in groups.items() if group[0] != cp}


@cache
def _from_re_class(cls: str) -> CharSet:
    """The set of code points that Python's ``re`` puts in class ``cls``.

    From the table :mod:`re_engine.gen_re_classes` wrote when it was made
    for this Python's Unicode version (``re`` defines the classes by it),
    else by letting ``re`` scan every code point.
    """
    from . import re_classes

    if cls in re_classes.CLASSES and unicodedata.unidata_version == re_classes.UNICODE_VERSION:
        return CharSet._sorted(list(re_classes.CLASSES[cls]))
    return _scan_re_class(cls)


def _scan_re_class(cls: str) -> CharSet:
    """``re``'s class ``cls`` by a scan of every code point."""
    # Build the string of all code points once per class; re scans it in C.
    text = _all_chars()
    out = []
    for m in _re.finditer(f"{cls}+", text):
        out.append((m.start(), m.end() - 1))
    return CharSet(out)


@lru_cache(maxsize=1)
def _all_chars() -> str:
    """Every code point in order, built as UTF-32 with C-speed slice copies."""
    planes = (MAX_CODE + 1) >> 16
    low = bytes(range(256)) * 256  # the low byte cycles fastest
    mid = bytearray(65536)
    for b in range(256):
        mid[b << 8 : (b + 1) << 8] = bytes([b]) * 256
    buf = bytearray(4 * (MAX_CODE + 1))
    for p in range(planes):
        block = memoryview(buf)[p << 18 : (p + 1) << 18]
        block[0::4] = low
        block[1::4] = mid
        block[2::4] = bytes([p]) * 65536
    return buf.decode("utf-32-le", "surrogatepass")


def word(unicode: bool = True) -> CharSet:
    """``\\w``: Unicode word characters (as ``re``), or ASCII ``[A-Za-z0-9_]``."""
    if not unicode:
        return CharSet(((48, 57), (65, 90), (95, 95), (97, 122)))
    return _from_re_class(r"\w")


def digit(unicode: bool = True) -> CharSet:
    """``\\d``: Unicode decimal digits (as ``re``), or ASCII ``[0-9]``."""
    if not unicode:
        return CharSet(((48, 57),))
    return _from_re_class(r"\d")


def space(unicode: bool = True) -> CharSet:
    """``\\s``: Unicode white space (as ``re``), or ASCII ``[ \\t\\n\\r\\f\\v]``."""
    if not unicode:
        return CharSet(((9, 13), (32, 32)))
    return _from_re_class(r"\s")


def posix_class(name: str) -> CharSet | None:
    """The ASCII POSIX bracket class ``[:name:]``, or ``None`` if unknown."""
    table: dict[str, tuple[Interval, ...]] = {
        "alpha": ((65, 90), (97, 122)),
        "digit": ((48, 57),),
        "alnum": ((48, 57), (65, 90), (97, 122)),
        "upper": ((65, 90),),
        "lower": ((97, 122),),
        "space": ((9, 13), (32, 32)),
        "blank": ((9, 9), (32, 32)),
        "punct": ((33, 47), (58, 64), (91, 96), (123, 126)),
        "print": ((32, 126),),
        "graph": ((33, 126),),
        "cntrl": ((0, 31), (127, 127)),
        "xdigit": ((48, 57), (65, 70), (97, 102)),
        "word": ((48, 57), (65, 90), (95, 95), (97, 122)),
        "ascii": ((0, 127),),
    }
    r = table.get(name)
    return CharSet(r) if r is not None else None


# ------------------------------------------------------- Unicode properties

_GC_GROUPS = {
    "L": ("Lu", "Ll", "Lt", "Lm", "Lo"),
    "LC": ("Lu", "Ll", "Lt"),
    "M": ("Mn", "Mc", "Me"),
    "N": ("Nd", "Nl", "No"),
    "P": ("Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po"),
    "S": ("Sm", "Sc", "Sk", "So"),
    "Z": ("Zs", "Zl", "Zp"),
    "C": ("Cc", "Cf", "Cs", "Co", "Cn"),
}

_GC_LONG = {
    "Lu": "Uppercase_Letter",
    "Ll": "Lowercase_Letter",
    "Lt": "Titlecase_Letter",
    "Lm": "Modifier_Letter",
    "Lo": "Other_Letter",
    "Mn": "Nonspacing_Mark",
    "Mc": "Spacing_Mark",
    "Me": "Enclosing_Mark",
    "Nd": "Decimal_Number",
    "Nl": "Letter_Number",
    "No": "Other_Number",
    "Pc": "Connector_Punctuation",
    "Pd": "Dash_Punctuation",
    "Ps": "Open_Punctuation",
    "Pe": "Close_Punctuation",
    "Pi": "Initial_Punctuation",
    "Pf": "Final_Punctuation",
    "Po": "Other_Punctuation",
    "Sm": "Math_Symbol",
    "Sc": "Currency_Symbol",
    "Sk": "Modifier_Symbol",
    "So": "Other_Symbol",
    "Zs": "Space_Separator",
    "Zl": "Line_Separator",
    "Zp": "Paragraph_Separator",
    "Cc": "Control",
    "Cf": "Format",
    "Cs": "Surrogate",
    "Co": "Private_Use",
    "Cn": "Unassigned",
    "L": "Letter",
    "LC": "Cased_Letter",
    "M": "Mark",
    "N": "Number",
    "P": "Punctuation",
    "S": "Symbol",
    "Z": "Separator",
    "C": "Other",
}
# more aliases from PropertyValueAliases.txt
_GC_EXTRA = {"L&": "LC", "Combining_Mark": "M", "digit": "Nd", "punct": "P", "cntrl": "Cc"}


def _loose(name: str) -> str:
    """UAX #44 LM3 loose matching: case, spaces, ``_`` and ``-`` do not count."""
    return name.replace(" ", "").replace("_", "").replace("-", "").lower()


@lru_cache(maxsize=1)
def _categories() -> dict[str, CharSet]:
    """Each two-letter general category as a set, from :mod:`unicodedata`."""
    import unicodedata
    from itertools import groupby

    runs: dict[str, list[Interval]] = {}
    start = 0
    # map() and groupby() run in C: one pass over every code point
    for c, group in groupby(map(unicodedata.category, _all_chars())):
        n = sum(1 for _ in group)
        runs.setdefault(c, []).append((start, start + n - 1))
        start += n
    return {k: CharSet(v) for k, v in runs.items()}


@lru_cache(maxsize=1)
def _category_names() -> dict[str, str]:
    names: dict[str, str] = {}
    for short, long in _GC_LONG.items():
        names[_loose(short)] = short
        names[_loose(long)] = short
    for alias, short in _GC_EXTRA.items():
        names[_loose(alias)] = short
    return names


def _category(short: str) -> CharSet:
    cats = _categories()
    out = EMPTY
    for c in _GC_GROUPS.get(short, (short,)):
        out = out.union(cats.get(c, EMPTY))
    return out


@lru_cache(maxsize=1)
def _scripts() -> tuple[dict[str, int], list[list[Interval]]]:
    """Loose script names (long, short, aliases) to index, and each script's ranges."""
    from .unicode_tables import RUNS, SCRIPTS

    index: dict[str, int] = {}
    for i, names in enumerate(SCRIPTS):
        for n in names:
            index[_loose(n)] = i
    ranges: list[list[Interval]] = [[] for _ in SCRIPTS]
    pairs = [p.split(":") for p in "".join(RUNS).split()]
    starts = [int(s, 16) for s, _ in pairs]
    for k, (_, v) in enumerate(pairs):
        hi = starts[k + 1] - 1 if k + 1 < len(starts) else MAX_CODE
        ranges[int(v)].append((starts[k], hi))
    return index, ranges


@cache
def _script(i: int) -> CharSet:
    return CharSet(_scripts()[1][i])


def unicode_property(name: str) -> CharSet | None:
    """The code points with Unicode property ``name``, or ``None`` if unknown.

    As RE2 and the ``regex`` module accept after ``\\p``: a general category
    by short or long name (``L``, ``Lu``, ``Uppercase_Letter``, ``L&``), a
    script by long or short name (``Greek``, ``Grek``), either qualified
    (``General_Category=Lu``, ``gc=Lu``, ``Script=Greek``, ``sc=Grek``), and
    ``Any``, ``Assigned`` and ``ASCII``.  Names match loosely (UAX #44 LM3).
    General categories come from :mod:`unicodedata`; scripts from the table
    generated from the Unicode Character Database for the same version.
    """
    key, sep, value = name.partition("=")
    if not sep:
        key, sep, value = name.partition(":")
    if sep:
        k = _loose(key)
        v = _loose(value)
        if k in ("generalcategory", "gc"):
            short = _category_names().get(v)
            return _category(short) if short is not None else None
        if k in ("script", "sc"):
            i = _scripts()[0].get(v)
            return _script(i) if i is not None else None
        return None
    v = _loose(name)
    if v == "any":
        return ANY
    if v == "assigned":
        return _category("Cn").complement()
    if v == "ascii":
        return CharSet(((0, 127),))
    short = _category_names().get(v)
    if short is not None:
        return _category(short)
    i = _scripts()[0].get(v)
    return _script(i) if i is not None else None
