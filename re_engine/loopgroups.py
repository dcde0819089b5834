"""Groups of a long ``F1 B{m,n} F2`` or ``X F2`` match by arithmetic and short capture passes.

For a pattern of the shape :func:`re_engine.bitnfa.first_is_longest` proves
(``F1``, ``B``, ``F2`` fixed-length, ``|B| >= 1``, the loop greedy), once
the leftmost-first match ``[s, e)`` is known its groups need no pass over
the whole span, which costs ``O((e - s) * m)`` steps of a Python-level VM
(the backtracker, or the Pike VM beyond its visited-set budget):

- ``F1`` covers ``[s, s + P)``, ``F2`` covers ``[e - S, e)`` and the loop
  ``[s + P, e - S)``, in ``k = (e - s - P - S) / B`` iterations, the last
  one ``[e - S - B, e - S)`` (none if ``k = 0``);
- a group whose node is opened into the sequence of items (it encloses
  items of the top-level sequence, the loop among them or not) spans from
  the position of its first item to the end of its last one, positions
  known from the fixed lengths: it is always set;
- the groups inside the items of ``F1`` (or ``F2``) are those of the
  leftmost-first match of ``F1`` alone spanning ``[s, s + P)`` (or of ``F2``
  over ``[e - S, e)``), with the whole text as context for assertions;
- the groups inside ``B`` are those of ``B`` alone over the last iteration.

Proof.  There are no backreferences: whether a path can go on from a
position depends only on the position and the text, never on the groups
it has set.  Every path through ``F1`` ends at ``s + P``, so the
leftmost-first match (the first path, in priority order, that reaches a
``MATCH``) takes the first path of ``F1`` spanning ``[s, s + P)``: any such
path can go on exactly as the others, and one does (the match exists).  The
same holds for each iteration of ``B`` (every path through it ends ``|B|``
further on; the greedy loop first tries one more iteration, and the first
match has the largest feasible count, :func:`first_is_longest`), and for
``F2``.  A group of ``B`` then holds its value from the last iteration,
provided every path through ``B`` sets it: ``re`` keeps a group's value
from an earlier iteration when the last one does not set it, which only
a pass over the earlier iterations would find, so a body with a group that
some path leaves unset is not handled here (:meth:`LoopGroups.build`
returns ``None``; the caller keeps its full pass).

*Tail form.*  A pattern ``X F2`` whose groups are all in ``F2`` (fixed-length,
``S`` characters: the longest such tail of the top-level sequence) or
around the whole pattern, ``X`` anything (loops, lazy or not, bodies that
match empty): ``F2`` covers ``[e - S, e)`` on every path spanning
``[s, e)``, and its groups are those of the leftmost-first match of ``F2``
alone spanning ``[e - S, e)``.  Proof: the match's path is the first path,
in priority order, that reaches a ``MATCH``, so the first of those that
span ``[s, e)``; paths are ordered by their choices in ``X`` first; every
path of ``X`` ending at ``e - S`` can go on through ``F2`` exactly as the
others (no backreferences; and none is inside a loop iteration begun
there, as ``X``'s loops are closed, so ``F2``'s empty-iteration checks
start alike: :class:`re_engine.prog.Prog`), and one does; so the match
takes the first path of ``X`` to ``e - S``, which sets no group, then the
first path of ``F2`` spanning ``[e - S, e)``.

Cost: one capture pass over each of at most three pieces of constant
length (``P``, ``|B|``, ``S``): ``O(m)`` whatever the span, and no memory
that grows with it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import ast as R
from .backtrack import Backtracker, fits
from .bitnfa import first_is_longest, fixed_length
from .pike import context_fn, pike
from .prog import Cap, Core, compile_prog


def _caps(c: Any) -> set[int]:
    """Indices of every group in ``c``."""
    t = type(c)
    if t is Cap:
        return {c.index} | _caps(c.node)
    if t is R.Seq or t is R.Alt:
        out: set[int] = set()
        for x in c.items:
            out |= _caps(x)
        return out
    if t is R.Repeat:
        return _caps(c.node)
    return set()


def _always(c: Any) -> set[int]:
    """Indices of the groups that every match of ``c`` sets."""
    t = type(c)
    if t is Cap:
        return {c.index} | _always(c.node)
    if t is R.Seq:
        out: set[int] = set()
        for x in c.items:
            out |= _always(x)
        return out
    if t is R.Alt:
        sets = [_always(x) for x in c.items]
        return set.intersection(*sets) if sets else set()
    if t is R.Repeat:
        return _always(c.node) if c.min >= 1 else set()
    return set()


def _flatten(c: Any, items: list[Any], opened: list[tuple[int, int, int]]) -> None:
    """The items of ``c`` as one sequence (as :func:`re_engine.bitnfa.first_is_longest`
    sees them), and each group opened on the way as ``(index, first item, end item)``."""
    t = type(c)
    if t is Cap:
        i = len(items)
        _flatten(c.node, items, opened)
        opened.append((c.index, i, len(items)))
    elif t is R.Seq:
        for x in c.items:
            _flatten(x, items, opened)
    else:
        items.append(c)


class _Piece:
    """A fixed-length sub-pattern with groups, run alone over a piece of the text."""

    def __init__(self, node: Core, is_bytes: bool, ngroups: int, is_word: Callable[[int], bool]):
        self.node = node
        self.is_bytes = is_bytes
        self.ngroups = ngroups
        self.is_word = is_word
        self._bt: Backtracker | None = None

    def run(self, text: Any, a: int, b: int, out: list[int]) -> None:
        """Copy into ``out`` the groups of the first match of the piece spanning ``[a, b)``."""
        if self._bt is None:
            prog = compile_prog(self.node, self.is_bytes, self.ngroups, captures=True)
            self._bt = Backtracker(prog, self.is_word)
        bt = self._bt
        caps: Any
        if fits(bt.prog, a, b):
            caps = bt.slots(text, a, b)
        else:
            ctx = context_fn(text, self.is_word)
            caps = pike(bt.prog, text, a, b, len(text), ctx, anchored=True)
        if caps is None or caps[0] != a or caps[1] != b:
            raise AssertionError(f"piece pass disagrees with bounds {a},{b}: {caps}")
        for j in range(2, len(out)):
            if caps[j] >= 0:
                out[j] = caps[j]


def _piece(
    nodes: list[Any], is_bytes: bool, ngroups: int, is_word: Callable[[int], bool]
) -> _Piece | None:
    """The sequence of ``nodes`` as a :class:`_Piece`, if it holds a group."""
    node = R.Seq(tuple(nodes))
    return _Piece(node, is_bytes, ngroups, is_word) if _caps(node) else None


class LoopGroups:
    """The groups of an ``F1 B{m,n} F2`` or ``X F2`` match from its span (module docstring)."""

    def __init__(self) -> None:
        self.ngroups = 0
        self.pre_len = 0
        self.suf_len = 0
        self.body_len = 1
        self.pre: _Piece | None = None
        self.body: _Piece | None = None
        self.suf: _Piece | None = None
        # opened groups: (index, start, end), a position being (from_end, offset)
        self.opened: list[tuple[int, tuple[bool, int], tuple[bool, int]]] = []

    @classmethod
    def build(
        cls, core: Core, is_bytes: bool, ngroups: int, is_word: Callable[[int], bool]
    ) -> LoopGroups | None:
        """The groups finder for ``core``; ``None`` where it is not exact (or has no loop)."""
        if ngroups == 0 or fixed_length(core) is not None:
            return None
        items: list[Any] = []
        opened: list[tuple[int, int, int]] = []
        _flatten(core, items, opened)
        lens = [fixed_length(x) for x in items]
        got = None
        if first_is_longest(core):
            got = cls._loop(items, opened, lens, is_bytes, ngroups, is_word)
        return got or cls._tail(items, opened, lens, is_bytes, ngroups, is_word)

    @classmethod
    def _loop(
        cls,
        items: list[Any],
        opened: list[tuple[int, int, int]],
        lens: list[int | None],
        is_bytes: bool,
        ngroups: int,
        is_word: Callable[[int], bool],
    ) -> LoopGroups | None:
        """``F1 B{m,n} F2`` (module docstring), or ``None``."""
        loops = [i for i, k in enumerate(lens) if k is None]
        if len(loops) != 1:
            return None
        li = loops[0]
        loop = items[li]
        if type(loop) is not R.Repeat or loop.greedy is False:  # first_is_longest said so
            return None
        body_len = fixed_length(loop.node)
        if body_len is None or body_len < 1:
            return None
        if _caps(loop.node) != _always(loop.node):
            return None  # a group some iteration may leave unset: re keeps an older value
        self = cls()
        self.ngroups = ngroups
        fixed = [k or 0 for k in lens]
        self.pre_len = sum(fixed[:li])
        self.suf_len = sum(fixed[li + 1 :])
        self.body_len = body_len

        def at(i: int) -> tuple[bool, int]:
            # the position before item i: from s before the loop, from e after it
            if i <= li:
                return (False, sum(fixed[:i]))
            return (True, sum(fixed[i:]))

        self.opened = [(g, at(i), at(j)) for g, i, j in opened]
        self.pre = _piece(items[:li], is_bytes, ngroups, is_word)
        self.suf = _piece(items[li + 1 :], is_bytes, ngroups, is_word)
        self.body = _piece([loop.node], is_bytes, ngroups, is_word)
        return self

    @classmethod
    def _tail(
        cls,
        items: list[Any],
        opened: list[tuple[int, int, int]],
        lens: list[int | None],
        is_bytes: bool,
        ngroups: int,
        is_word: Callable[[int], bool],
    ) -> LoopGroups | None:
        """``X F2``, every group in ``F2`` or around the whole (module docstring), or ``None``."""
        j = len(items)
        while j > 0 and lens[j - 1] is not None:
            j -= 1
        if j == 0 or any(_caps(x) for x in items[:j]):
            return None
        tail = [k or 0 for k in lens[j:]]

        def at(i: int) -> tuple[bool, int]:
            # the position before item i: s at the start, else from e in the tail
            return (False, 0) if i == 0 else (True, sum(tail[i - j :]))

        if any(b < j or 0 < a < j for _, a, b in opened):
            return None  # a group that ends in X, or starts inside it
        self = cls()
        self.ngroups = ngroups
        self.suf_len = sum(tail)
        self.body_len = 0  # X: any length
        self.opened = [(g, at(a), at(b)) for g, a, b in opened]
        self.suf = _piece(items[j:], is_bytes, ngroups, is_word)
        return self

    def slots(self, text: Any, s: int, e: int) -> list[int]:
        """Capture slots of the leftmost-first match spanning ``[s, e)`` (a match, as found)."""
        out = [-1] * (2 * self.ngroups + 2)
        out[0], out[1] = s, e
        for g, (fa, oa), (fb, ob) in self.opened:
            out[2 * g] = e - oa if fa else s + oa
            out[2 * g + 1] = e - ob if fb else s + ob
        lo, hi = s + self.pre_len, e - self.suf_len
        if hi < lo or (self.body_len and (hi - lo) % self.body_len):
            raise AssertionError(f"span {s},{e} is no match of the loop's shape")
        if self.pre is not None:
            self.pre.run(text, s, lo, out)
        if self.body is not None and hi > lo:
            self.body.run(text, hi - self.body_len, hi, out)
        if self.suf is not None:
            self.suf.run(text, hi, e, out)
        return out
