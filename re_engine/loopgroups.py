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

*Groups in the head.*  Where ``X`` holds groups too (and ``F2`` is not empty),
the same proof says that ``X``'s are those of the first path of ``X`` alone
spanning ``[s, e - S)``: :class:`_Head` finds them with a DFA pass and a
Pike VM over a short window before ``e - S`` (its docstring has the proof
and the budget; beyond that budget :meth:`LoopGroups.slots` gives ``None``
and the caller's full pass answers).

Cost (but for the head): one capture pass over each of at most three pieces of constant
length (``P``, ``|B|``, ``S``): ``O(m)`` whatever the span, and no memory
that grows with it.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import islice
from typing import Any

from . import ast as R
from .backtrack import Backtracker, fits
from .bitnfa import first_is_longest, fixed_length
from .charset import CharSet
from .dfa import LazyDFA
from .pike import context_fn, pike
from .prog import CHAR, Cap, Core, compile_prog


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


# _Head: the first window, and each next one this many times longer
_WINDOW = 64
_WIDEN = 8
# _Head: windows (and the DFA's new states) may cost up to this much, or half the head's span
_HEAD_BUDGET = 4096
# _Head: the DFA pass gives up when it has made more states than this plus one per ...
_HEAD_STATES = 2000
# ... this many characters (a thrashing DFA: the caller's full pass is no slower)
_HEAD_CHARS_PER_STATE = 16


class _Head:
    """The groups of the tail form's head ``X``: the first path of ``X`` spanning ``[s, t)``.

    ``X`` is compiled followed by a sentinel, a character set that holds no
    character (so a CHAR pc no character passes): no path reaches ``MATCH``,
    and a path of ``X`` that ends at ``t`` waits at the sentinel there.  The
    lazy DFA (``first`` mode, anchored at ``s``; never cut, as nothing
    matches) runs over ``[s, p)`` for a few window starts ``p = t - w`` and
    keeps its kernel there: the next pcs of the Pike VM's threads after the
    character before ``p``, in priority order (the DFA's closures and moves
    are the VM's, :meth:`re_engine.dfa.LazyDFA._closure_roots`).  The Pike
    VM then runs over ``[p, t]`` from those pcs, seed ``i`` carrying ``-2 - i``
    in every slot, and takes the first thread waiting at the sentinel at
    ``t``.  If each slot of the head's groups in it is a position (set inside
    the window), those are the groups; else the window widens, up to ``s``
    itself (an ordinary VM run from ``prog.start``, exact) or the budget.

    Proof.  By the tail form's proof the match's path takes the first path
    (in priority order) of ``X`` from ``s`` to ``t``; the VM over ``X`` and the
    sentinel from ``s`` finds it as the first thread at the sentinel at ``t``
    (its thread list stays in priority order, a pc kept once, for the first
    path that reaches it: two paths at one CHAR pc have the same futures, no
    backreferences; the sentinel ends no path before ``t``, as no character
    passes it).  Which threads a run keeps, in which order, depends on their
    pcs and the text alone, never on their slots (SAVE only writes them).  So
    the run seeded at ``p`` with the full run's next pcs there keeps, at every
    position, the full run's threads, each one's slots being those of the
    full run's thread it descends from at ``p`` (the seed ``i``) overwritten
    by the SAVEs it passed in ``[p, t]``: a slot that holds a position holds
    the full run's value; a slot still ``-2 - i`` holds the seed's value,
    unknown here (set before ``p``, or never: ``re``'s rule that a group keeps
    its value from an earlier iteration is the VM's, which never clears a
    slot), so the window widens.

    Cost: the DFA pass (one dict lookup per character; it gives up, as the
    caller's pass is then no slower, after :data:`_HEAD_STATES` states plus one
    per :data:`_HEAD_CHARS_PER_STATE` characters), plus VM runs over windows
    of ``64, 512, ...`` characters, their total at most
    ``max(_HEAD_BUDGET, (t - s) / 2)``.  Memory: the DFA's bounded cache and
    one kernel per window.
    """

    def __init__(
        self, items: list[Any], is_bytes: bool, ngroups: int, is_word: Callable[[int], bool]
    ):
        self.node = R.Seq((*items, R.Set(CharSet())))
        self.is_bytes = is_bytes
        self.ngroups = ngroups
        self.is_word = is_word
        self.groups = sorted(_caps(R.Seq(tuple(items))))
        self._dfa: LazyDFA | None = None
        self.sentinel = -1

    def dfa(self) -> LazyDFA | None:
        """The head's DFA (built on first use); ``None`` if the sentinel is not one pc."""
        if self._dfa is None and self.sentinel != -2:
            prog = compile_prog(self.node, self.is_bytes, self.ngroups, captures=True)
            empty = [
                pc for pc, o in enumerate(prog.op) if o == CHAR and not prog.sets[prog.arg[pc]]
            ]
            if len(empty) != 1:
                self.sentinel = -2  # X holds an empty set of its own: refused (once)
                return None
            self.sentinel = empty[0]
            self._dfa = LazyDFA(prog, "first", False, self.is_word)
        return self._dfa

    def _kernels(
        self, dfa: LazyDFA, text: Any, s: int, stops: list[int]
    ) -> list[tuple[int, ...]] | None:
        """The DFA's kernel at each of ``stops`` (ascending, all > ``s``), or ``None`` (gave up)."""
        n = len(text)
        watch = dfa.prog.uses_final
        st = dfa.start(dfa.context(text, s))
        built0 = dfa.built
        it = iter(text)
        i = s
        out: list[tuple[int, ...]] = []
        for stop in stops:
            while i < stop:
                it.__setstate__(i)
                tb = st.tb
                try:
                    for ch in islice(it, stop - i):
                        st = tb[ch]
                        tb = st.tb
                    i = stop
                    break
                except KeyError:
                    i = int(it.__reduce__()[2]) - 1
                if dfa.built - built0 > _HEAD_STATES + (i - s) // _HEAD_CHARS_PER_STATE:
                    return None
                ch = text[i]
                st = dfa.slow_step(st, ch, watch and i == n - 1 and dfa.code(ch) == 10)
                i += 1
                if st.dead:
                    return None  # no path of X reaches t: not a match of this shape
            out.append(st.kernel)
        return out

    def run(self, text: Any, s: int, t: int, out: list[int]) -> bool:
        """Copy the head's groups of the match into ``out``; ``False``: not found within budget."""
        dfa = self.dfa()
        if dfa is None:
            return False
        budget = max(_HEAD_BUDGET, (t - s) // 2)
        widths: list[int] = []
        w, total = _WINDOW, 0
        while w < t - s and total + w <= budget:
            widths.append(w)
            total += w
            w *= _WIDEN
        stops = sorted(t - w for w in widths)
        kernels = self._kernels(dfa, text, s, stops) if stops else []
        if kernels is None:
            return False
        prog, slots = dfa.prog, [2 * g for g in self.groups] + [2 * g + 1 for g in self.groups]
        ctx = context_fn(text, self.is_word)
        tries = [(t - w, kernels[len(stops) - 1 - k]) for k, w in enumerate(widths)]
        if total + (t - s) <= budget:
            tries.append((s, ()))  # the whole head: an ordinary run from prog.start
        for p, kernel in tries:
            seeds = (
                [(pc, (-2 - i,) * prog.nslots) for i, pc in enumerate(kernel)] if p > s else None
            )
            caps = pike(
                prog, text, p, t, len(text), ctx, anchored=True, seeds=seeds, final=self.sentinel
            )
            if caps is None:
                raise AssertionError(f"no path of the head spans {s},{t}")
            if all(caps[k] >= -1 for k in slots):
                for k in slots:
                    out[k] = caps[k]
                return True
        return False


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
        self.head: _Head | None = None  # the tail form's head, when it holds groups
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
        if j == 0:
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
        if any(_caps(x) for x in items[:j]):
            if j == len(items):
                return None  # no tail: the head is the whole pattern, left to the full pass
            self.head = _Head(items[:j], is_bytes, ngroups, is_word)
        return self

    def slots(self, text: Any, s: int, e: int) -> list[int] | None:
        """Capture slots of the leftmost-first match spanning ``[s, e)`` (a match, as found).

        ``None`` when the head's groups are not found within their budget
        (:class:`_Head`): the caller's full pass gives them.
        """
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
        if self.head is not None and not self.head.run(text, s, hi, out):
            return None
        return out
