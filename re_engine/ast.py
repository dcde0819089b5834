"""The regular-expression tree and its combinators, in the spirit of ocaml-re.

Every syntax parses into these nodes; users may also build them directly::

    from re_engine import ast as R
    r = R.seq(R.bos, R.group(R.rep1(R.rg("a", "z")), name="word"), R.eos)
    re_engine.compile(r).match("hello")

Nodes are immutable dataclasses.  ``set``/``compl``/``inter``/``diff`` work on
single-character expressions only (anything built from ``char``, ``set``,
``rg``, ``any`` and these operators), as in ocaml-re.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .charset import ANY, NEWLINE, CharSet
from .errors import ReError

AssertKind = Literal["bol", "eol", "bos", "eos", "leol", "rleol", "bow", "eow", "wordb", "nwordb"]
SemKind = Literal["first", "longest", "shortest"]


@dataclass(frozen=True, slots=True)
class Set:
    """One character from ``cs``."""

    cs: CharSet


@dataclass(frozen=True, slots=True)
class Seq:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Alt:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Repeat:
    """``node`` between ``min`` and ``max`` times (``max=None``: unbounded).

    ``greedy=None`` inherits from the nearest enclosing :func:`greedy` /
    :func:`non_greedy` (greedy by default).
    """

    node: Node
    min: int
    max: int | None
    greedy: bool | None = None


@dataclass(frozen=True, slots=True)
class Group:
    node: Node
    name: str | None = None


@dataclass(frozen=True, slots=True)
class NoGroup:
    """Groups inside ``node`` do not capture."""

    node: Node


@dataclass(frozen=True, slots=True)
class Assert:
    kind: AssertKind


@dataclass(frozen=True, slots=True)
class Sem:
    """Matching semantics for ``node``: leftmost-first, -longest or -shortest."""

    kind: SemKind
    node: Node


@dataclass(frozen=True, slots=True)
class Greedy:
    greedy: bool
    node: Node


@dataclass(frozen=True, slots=True)
class Case:
    """``fold=True``: match ``node`` ignoring case; ``False``: case-sensitively."""

    fold: bool
    node: Node


@dataclass(frozen=True, slots=True)
class Cap:
    """A resolved capturing group (internal; produced by compilation): 1-based ``index``."""

    node: Node
    index: int


Node = Set | Seq | Alt | Repeat | Group | NoGroup | Assert | Sem | Greedy | Case | Cap

# ---------------------------------------------------------------- combinators

Re = Node
"""Alias used in signatures: a regular expression tree."""


def seq(*items: Re) -> Re:
    """Concatenation.  ``seq()`` matches the empty string."""
    flat: list[Node] = []
    for it in items:
        if isinstance(it, Seq):
            flat.extend(it.items)
        else:
            flat.append(it)
    return flat[0] if len(flat) == 1 else Seq(tuple(flat))


def alt(*items: Re) -> Re:
    """Alternation (the first alternative has priority in ``first`` semantics).

    ``alt()`` matches nothing.
    """
    flat: list[Node] = []
    for it in items:
        if isinstance(it, Alt):
            flat.extend(it.items)
        else:
            flat.append(it)
    return flat[0] if len(flat) == 1 else Alt(tuple(flat))


def repn(r: Re, min: int, max: int | None = None) -> Re:
    """``r`` at least ``min`` and at most ``max`` times (``None``: no upper bound)."""
    if min < 0 or (max is not None and max < min):
        raise ReError(f"invalid repetition bounds {{{min},{max}}}")
    return Repeat(r, min, max)


def rep(r: Re) -> Re:
    """Zero or more times (Kleene star)."""
    return Repeat(r, 0, None)


def rep1(r: Re) -> Re:
    """One or more times."""
    return Repeat(r, 1, None)


def opt(r: Re) -> Re:
    """Zero or one time."""
    return Repeat(r, 0, 1)


def group(r: Re, name: str | None = None) -> Re:
    """A capturing group, optionally named."""
    return Group(r, name)


def no_group(r: Re) -> Re:
    """Make the groups inside ``r`` non-capturing."""
    return NoGroup(r)


def set(chars: str) -> Re:
    """Any one of the characters of ``chars``."""
    return Set(CharSet.of_string(chars))


def char(c: str) -> Re:
    """Exactly the character ``c``."""
    if len(c) != 1:
        raise ReError(f"char() needs one character, got {c!r}")
    return Set(CharSet.of_char(ord(c)))


def str_(s: str) -> Re:
    """The literal string ``s``."""
    return seq(*[char(c) for c in s])


def rg(lo: str, hi: str) -> Re:
    """Any character between ``lo`` and ``hi`` inclusive."""
    if ord(lo) > ord(hi):
        raise ReError(f"empty range {lo!r}-{hi!r}")
    return Set(CharSet.of_range(ord(lo), ord(hi)))


def _cset(r: Re, op: str) -> CharSet:
    if isinstance(r, Set):
        return r.cs
    if isinstance(r, Alt):
        out = CharSet()
        for it in r.items:
            out = out.union(_cset(it, op))
        return out
    raise ReError(f"{op}() only applies to character sets, got {type(r).__name__}")


def compl(*rs: Re) -> Re:
    """Any character not in the union of the given character sets."""
    u = CharSet()
    for r in rs:
        u = u.union(_cset(r, "compl"))
    return Set(u.complement())


def inter(*rs: Re) -> Re:
    """Intersection of character sets."""
    if not rs:
        return any
    out = _cset(rs[0], "inter")
    for r in rs[1:]:
        out = out.inter(_cset(r, "inter"))
    return Set(out)


def diff(a: Re, b: Re) -> Re:
    """Characters of set ``a`` that are not in set ``b``."""
    return Set(_cset(a, "diff").diff(_cset(b, "diff")))


def longest(r: Re) -> Re:
    """Leftmost-longest semantics (POSIX) for ``r``."""
    return Sem("longest", r)


def shortest(r: Re) -> Re:
    """Leftmost-shortest semantics for ``r``."""
    return Sem("shortest", r)


def first(r: Re) -> Re:
    """Leftmost-first (Perl) semantics for ``r``."""
    return Sem("first", r)


def greedy(r: Re) -> Re:
    """Repetitions in ``r`` without their own mode are greedy."""
    return Greedy(True, r)


def non_greedy(r: Re) -> Re:
    """Repetitions in ``r`` without their own mode are non-greedy (lazy)."""
    return Greedy(False, r)


def no_case(r: Re) -> Re:
    """Match ``r`` ignoring case."""
    return Case(True, r)


def case(r: Re) -> Re:
    """Match ``r`` case-sensitively (undoes an enclosing :func:`no_case`)."""
    return Case(False, r)


def whole_string(r: Re) -> Re:
    """``r`` must match the whole string."""
    return seq(bos, r, eos)


any: Re = Set(ANY)
"""Any character, newline included."""
notnl: Re = Set(NEWLINE.complement())
"""Any character but newline."""
empty: Re = Alt(())
"""Matches nothing."""
epsilon: Re = Seq(())
"""Matches the empty string."""
bol: Re = Assert("bol")
"""Beginning of line (start of text or after a newline)."""
eol: Re = Assert("eol")
"""End of line (end of text or before a newline)."""
bos: Re = Assert("bos")
"""Beginning of string."""
eos: Re = Assert("eos")
"""End of string."""
leol: Re = Assert("leol")
"""End of string, or before a final newline (Perl's ``$``)."""
bow: Re = Assert("bow")
"""Beginning of word."""
eow: Re = Assert("eow")
"""End of word."""
word_boundary: Re = Assert("wordb")
"""``\\b``."""
not_word_boundary: Re = Assert("nwordb")
"""``\\B``."""


def word(r: Re) -> Re:
    """``r`` delimited as a whole word (``bow r eow``)."""
    return seq(bow, r, eow)


# --------------------------------------------------------------- inspection


def walk(r: Node) -> list[Node]:
    """All nodes of ``r`` in pre-order."""
    out: list[Node] = []
    stack: list[Node] = [r]
    while stack:
        n = stack.pop()
        out.append(n)
        if isinstance(n, (Seq, Alt)):
            stack.extend(reversed(n.items))
        elif isinstance(n, (Repeat, Group, NoGroup, Sem, Greedy, Case, Cap)):
            stack.append(n.node)
    return out


string = str_
"""ocaml-re's ``str``: the literal string (also reachable as ``ast.str``)."""
globals()["str"] = str_
