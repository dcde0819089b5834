"""A bit-parallel NFA simulation on Python ints, for when the lazy DFA thrashes.

A pattern such as ``(a|b)*a(a|b){30}`` has ``2**31`` DFA states: over random
text nearly every character makes a new one, and the lazy DFA
(:mod:`re_engine.dfa`) spends its time building states it flushes unused.
RE2 then falls back to its NFA; this module is that NFA, written so that a
character costs a handful of big-integer operations whatever the pattern's
size, instead of one step per thread.

*Positions.*  The set of threads alive before a character is a bit mask over
the program's ``CHAR`` instructions (a Glushkov automaton: a thread waits at
the character it may consume next).  ``CHAR``\\ s that are leaves of one
alternation tree with the same successor, nothing else leading into them
(``(a|b)`` compiles to two), are always alive together: they share one bit
whose set is their union (``[ab]``); positions whose futures are the
same share one too (:func:`_same_future`: ``a+`` is ``aa*``, whose two
positions go on alike).  Bit ``P`` (after the
``P`` positions) means "a match ends here"; bit ``P + 1`` "a match ends
here if this is the end of the text" (a final ``\\z``, as the programs of
``fullmatch`` end).

*A step.*  ``T = S & accept[c]`` keeps the threads that consume ``c``; the
next set is the union of the closures (``follow``) of their successors.
Positions are numbered in program order, so most closures hold the next
position: ``(T & chain) << 1`` takes all those edges at once, and the few
others (loops going back, alternatives joining) are OR'd in from per-source
masks grouped by equal targets, or from 8-bit chunk tables when such groups
are many.  Per character: a dictionary lookup and a few int operations on
``P``-bit numbers, ``O(P / 30)`` machine words each: linear in the text.

*What sets answer exactly.*  Sets forget thread priority, so they serve:

- whether a match ends at a position (earliest end, ``is_match``), and the
  longest match from one start (POSIX, the reverse scan for a start);
- the leftmost start of any match: :meth:`BitNFA.leftmost` keeps one set per
  start position, ordered by start, disjoint (a thread that a later start
  reaches as well is kept only in the earlier one, whose future is the
  same), as RE2 separates its longest-match DFA states with marks; once a
  group matches, the later ones are cut.  There are at most ``P`` groups
  (each is non-empty and they are disjoint), so a character costs
  ``O(P)`` steps at worst and one or two when the pattern starts with a
  loop (every later start merges into the first group);
- the leftmost-first match end for patterns where the first match from a
  start is also the longest (:func:`first_is_longest` proves it from the
  tree for some shapes, :meth:`re_engine.dfa.LazyDFA.never_cuts` from the
  program's priorities for others); for the rest the DFA asks the bounded
  backtracker for the first match's end within the span the sets found
  (:meth:`re_engine.dfa.LazyDFA._give_up`).

*Assertions.*  A program with ``\\b``, ``^``, ``$`` and the like has
closures that depend on the context of the position: the bits (word,
newline, final newline, edge) of the characters either side, only those
its assertions read (``\\b`` reads the word bit: at most eight contexts).
Its edges are built per context on first use (a text shows a few).
:meth:`BitNFA.leftmost` closes the set at a position when it reads the
character after it, and looks characters up in the memo of their context
class: while the class stays (a run of letters) a character costs what it
costs a context-free program, which is the one-class case of the same loop.
The other scans (``_ctx_run``) look one character ahead.  A program whose
only assertion is ``\\z`` needs none: a thread past it can only match, at
the end (bit ``P + 1``).

*Empty-iteration checks.*  ``ENTER``/``CHECK`` (:class:`re_engine.prog.Prog`)
make an optional iteration that matched nothing end its loop.  For sets
they are epsilon edges (``CHECK`` to both successors): the set of spans
``[s, e]`` some path matches is the same with or without the check.  With
it, fewer paths are allowed.  Without it, take any matching path and drop
each optional iteration that consumed nothing: in a ``*`` loop it went from
the loop's head back to it; in ``B{m,n}`` the later iterations shift down
one (they have the same body) and the last optional one is skipped.  Only
assertions are dropped with it, all at positions the path keeps, so the
rest is still a path, over the same characters; and now every optional
iteration consumed something, so each ``CHECK`` goes on to its ``x``, as
the check demands (a path that left by ``y`` after a non-empty iteration
takes ``x`` and then the loop's own exit, at the same position).  The
epsilon graph may then have cycles (``(a*)*``): closures are computed over
its strongly connected components (:meth:`BitNFA._closures`).  Leftmost-first
ends need priorities: :func:`first_is_longest` or
:meth:`re_engine.dfa.LazyDFA.never_cuts` where they prove them, else the
bounded backtracker (which runs the checks) over the span the sets found.

Memory: the tables (``O(P)`` masks for each of at most 256 contexts), a
character memo of at most :data:`_MEMO_CAP` entries per context class (fewer
for wide masks, :data:`_MEMO_BITS`), and per scan at most ``P`` masks:
nothing grows with the text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import chain, islice
from typing import Any

from . import ast as R
from .charset import word
from .prog import (
    ASSERT,
    CHAR,
    CHECK,
    EDGE,
    ENTER,
    FINALNL,
    JMP,
    MATCH,
    NL,
    SAVE,
    SPLIT,
    WORD,
    Cap,
    Core,
    Prog,
    check_assert,
    context_reads,
    nullable,
)

MAX_POSITIONS = 8192
"""Largest number of positions simulated (masks of 8192 bits: ~270 machine words)."""

_MEMO_CAP = 100_000
_MEMO_BITS = 1 << 27  # and at most this many bits of masks in it (16 MiB)
_EOS = 3  # prog.ASSERT_CODES["eos"]
# markers ending the characters of a scan: the end of the text, a final newline
_END: Any = object()
_FINAL: Any = object()
_PENDING: dict[Any, int] = {}  # never filled: the next character sets the context
_OPS = frozenset({CHAR, SPLIT, JMP, SAVE, MATCH, ASSERT, ENTER, CHECK})
_CHUNK_GROUPS = 6  # more groups of exceptional edges than this: chunk tables
_SAME_FUTURE_WORK = 1 << 18  # most steps _same_future takes (else positions stay apart)
# most contexts * pcs of a program with assertions whose closures BitNFA.build
# computes for _same_future (else it builds a context's as a text shows it)
_SAME_FUTURE_CLOSURES = 1 << 13


def fixed_length(c: Any) -> int | None:
    """The length of every match of ``c`` if they all have one, else ``None``."""
    t = type(c)
    if t is R.Set:
        return 1
    if t is R.Assert:
        return 0
    if t is Cap:
        return fixed_length(c.node)
    if t is R.Seq:
        total = 0
        for x in c.items:
            k = fixed_length(x)
            if k is None:
                return None
            total += k
        return total
    if t is R.Alt:
        lens = {fixed_length(x) for x in c.items}
        if len(lens) != 1:
            return None
        return lens.pop()
    if t is R.Repeat:
        if c.max is None or c.max != c.min:
            return None
        k = fixed_length(c.node)
        return None if k is None else k * c.min
    return None


def _items(c: Any) -> list[Any]:
    """The items of ``c`` as one sequence (nested sequences and groups opened)."""
    t = type(c)
    if t is Cap:
        return _items(c.node)
    if t is R.Seq:
        out: list[Any] = []
        for x in c.items:
            out.extend(_items(x))
        return out
    return [c]


def _empty_last(c: Any) -> int | None:
    """``k`` if every non-empty match of ``c`` has length ``k >= 1`` and, in
    priority order, its empty match (if any) comes after all of them."""
    while type(c) is Cap:
        c = c.node
    if not nullable(c):
        k = fixed_length(c)
        return k if k is not None and k >= 1 else None
    t = type(c)
    if t is R.Repeat and c.min == 0 and c.max == 1 and c.greedy is not False:
        return _empty_last(c.node)  # X first, then skipping it
    if t is R.Alt and c.items:
        *head, last = c.items
        k = _empty_last(last)
        if k is not None and all(not nullable(x) and fixed_length(x) == k for x in head):
            return k
    return None


def first_is_longest(core: Core) -> bool:
    """Is the leftmost-first match from any start also the longest one from there?

    Proved for ``F1 B{m,n} F2`` (groups and nesting of sequences ignored):
    ``F1``, ``F2`` and ``B`` fixed-length, ``B`` at least one character
    long, the loop greedy (``n`` may be unbounded); or a fixed-length
    pattern.  Every path through ``F1`` ends at the same position, and the
    rest of the pattern from there is the same whichever path it was, so the
    first path of ``F1`` that can go on leads (in priority order) to every
    possible iteration count ``k``; a greedy loop tries more iterations
    first, every path with ``k`` iterations ends at the same position
    (``B`` fixed-length), and ``F2`` after it succeeds or not by ``k``
    alone.  So the first match has the largest feasible ``k``: the longest
    match, all matches having length ``|F1| + k * |B| + |F2|``.

    Also for ``B{0,n}`` with ``B`` matching the empty string when every
    non-empty match of ``B`` has one length and the empty one comes last in
    priority (``(a|b?)*``, :func:`_empty_last`): an optional iteration that
    matched nothing ends the loop (``CHECK``, :class:`re_engine.prog.Prog`),
    which is what the loop's own exit, of lowest priority there, does; so
    the paths in priority order are those of ``B'{0,n}`` (``B`` without its
    empty match, fixed-length) each followed by a duplicate of the exit
    tried after it, and the argument above holds for ``B'``.
    """
    if fixed_length(core) is not None:
        return True
    loops = [x for x in _items(core) if fixed_length(x) is None]
    if len(loops) != 1:
        return False
    lp = loops[0]
    while type(lp) is Cap:
        lp = lp.node
    if type(lp) is not R.Repeat or lp.greedy is False:
        return False
    if nullable(lp.node):
        return lp.min == 0 and _empty_last(lp.node) is not None
    k = fixed_length(lp.node)
    return k is not None and k >= 1


def _same_future(follows: list[list[int]], pos_sets: list[list[int]]) -> list[int] | None:
    """The positions grouped by their future: each position's class, numbered
    in order of first members (``None``: no two positions share one, or the
    rounds would exceed :data:`_SAME_FUTURE_WORK` steps).

    ``follows``: per context, the closure of each position's successor.
    The coarsest partition in which the positions of a class have the same
    sets and, in every context, follows that hold the same classes and
    match bits: from the positions grouped by their sets, match bits and
    distances to a match, each round splits a class whose members' follows
    reach different classes, until none does.  One bit per class then
    simulates the program exactly: the set of classes alive after a
    character is the set of the classes of the positions alive (a position
    accepts the character iff its class's members do, and in the context
    there their follows reach the same classes), so every scan sees the
    same match ends from the same starts.  ``a+`` compiles as ``aa*``: its
    two positions become one.
    """
    n = len(pos_sets)
    size = sum(f.bit_count() for fs in follows for f in fs)
    low = (1 << n) - 1
    work = len(follows) * n + size
    if work > _SAME_FUTURE_WORK:
        return None

    def targets(f: int) -> list[int]:
        out: list[int] = []
        m = f & low
        while m:
            b = m & -m
            out.append(b.bit_length() - 1)
            m ^= b
        return out

    # per position, per context: the positions its follow holds
    succ = [[targets(fs[i]) for fs in follows] for i in range(n)]
    # the fewest characters from each position to a match in some contexts
    # (0: none), equal in a class (by induction on it), so rounds need not
    # find it out one position at a time (a chain such as [ab]{30})
    pred: list[list[int]] = [[] for _ in range(n)]
    for i, per_ctx in enumerate(succ):
        for sc in per_ctx:
            for j in sc:
                pred[j].append(i)
    ends = [tuple(fs[i] >> n for fs in follows) for i in range(n)]
    frontier = [i for i in range(n) if any(ends[i])]
    dist = [0] * n
    d = 1
    while frontier:
        for i in frontier:
            dist[i] = d
        d += 1
        frontier = list(dict.fromkeys(i for j in frontier for i in pred[j] if not dist[i]))
    ids: dict[Any, int] = {}
    cls = [
        ids.setdefault((tuple(sorted(ps)), e, k), len(ids))
        for ps, e, k in zip(pos_sets, ends, dist, strict=True)
    ]
    count = len(ids)
    while count < n:
        work += len(follows) * n + size
        if work > _SAME_FUTURE_WORK:
            return None
        get = cls.__getitem__
        ids = {}
        split = [
            ids.setdefault((k, *(frozenset(map(get, sc)) for sc in per_ctx)), len(ids))
            for k, per_ctx in zip(cls, succ, strict=True)
        ]
        if len(ids) == count:
            return cls
        cls, count = split, len(ids)
    return None


class _Edges:
    """The closures of every position for one context (or for all: a context-free program).

    ``chain``: sources whose closure holds the next position (taken by one
    shift); the other targets grouped by source (two groups inline in the
    scans, the rest by :meth:`rest`: per group, or per 8-bit chunk of the
    sources when many); ``start``: the closure of the program's start;
    ``roots``: the closure of each successor of a ``CHAR`` (a DFA kernel's pcs).
    """

    __slots__ = ("chain", "chunks", "groups", "hot", "inline", "rest_mask", "roots", "start")

    def __init__(self, follow: list[int], start: int, roots: dict[int, int]) -> None:
        self.start = start
        self.roots = roots
        chain = 0
        extra: dict[int, int] = {}  # targets besides the next position -> sources
        for i, f in enumerate(follow):
            nxt = 1 << (i + 1)
            if f & nxt:
                chain |= 1 << i
                f &= ~nxt
            if f:
                extra[f] = extra.get(f, 0) | (1 << i)
        self.chain = chain
        groups = [(src, tgt) for tgt, src in extra.items()]
        rest_mask = 0
        for src, _ in groups:
            rest_mask |= src
        self.rest_mask = rest_mask
        self.chunks: list[tuple[int, list[int]]] = []
        if len(groups) > _CHUNK_GROUPS:
            for base in range(0, len(follow), 8):
                bits = (rest_mask >> base) & 255
                if not bits:
                    continue
                table = [0] * 256
                for v in range(1, 256):
                    low = v & -v
                    j = base + low.bit_length() - 1
                    table[v] = table[v & (v - 1)] | (follow[j] if (bits & low) else 0)
                self.chunks.append((base, table))
            groups = [(0, 0), (0, 0)]
        groups += [(0, 0)] * (2 - len(groups))
        self.groups = groups  # the first two tested inline
        self.inline = not self.chunks and rest_mask & ~(groups[0][0] | groups[1][0]) == 0
        # what the scans keep in local variables, in one tuple
        (x1, y1), (x2, y2) = groups[0], groups[1]
        self.hot = (chain, x1, y1, x2, y2, self.inline, rest_mask, self.rest, start)

    def rest(self, t: int) -> int:
        """Targets of the edges out of ``t`` not tested inline."""
        out = 0
        for src, tgt in self.groups[2:]:
            if t & src:
                out |= tgt
        for base, table in self.chunks:
            v = (t >> base) & 255
            if v:
                out |= table[v]
        return out

    def step(self, t: int) -> int:
        """The closure of the successors of the positions in ``t``."""
        (x1, y1), (x2, y2) = self.groups[0], self.groups[1]
        n = (t & self.chain) << 1
        if t & x1:
            n |= y1
        if t & x2:
            n |= y2
        if not self.inline and t & self.rest_mask:
            n |= self.rest(t)
        return n


class BitNFA:
    """The bit-parallel simulation of one program (see the module docstring)."""

    def __init__(
        self,
        prog: Prog,
        pos_of: dict[int, int],
        pos_sets: list[list[int]],
        is_word: Callable[[int], bool],
        ctx: bool,
    ) -> None:
        sets = prog.sets
        self.sets = sets
        self.npos = p = len(pos_sets)
        self.match_bit = 1 << p
        self.eos_bit = 1 << (p + 1)
        self._prog = prog
        self._pos_of = pos_of
        self.is_word = is_word
        # assertions other than \z: the closures depend on the context (_ctx_*)
        self.ctx = ctx
        self._by_ctx: dict[int, _Edges] = {}
        self._bits_memo: dict[Any, int] = {}
        # per set index, the positions whose set includes it
        set_mask = [0] * len(sets)
        for i, sis in enumerate(pos_sets):
            for si in sis:
                set_mask[si] |= 1 << i
        self._set_mask = set_mask
        self._acc: dict[Any, int] = {}
        self._memo_cap = max(256, min(_MEMO_CAP, _MEMO_BITS // (p + 2)))
        # the context bits the assertions read (0: none), and per context class
        # of a character (its bits among those) the accept masks of its characters
        cmask = context_reads(prog) if ctx else 0
        self._cmask = cmask
        # (a context-free program's one class shares accept()'s memo)
        self._acc_by: dict[int, dict[Any, int]] = {} if cmask else {0: self._acc}
        self._nl: Any = "\n" if not prog.is_bytes else 10
        self.start_mask = 0
        self.chain = self.x1 = self.y1 = self.x2 = self.y2 = self.rest_mask = 0
        self._inline = True
        self._edges: _Edges | None = None

    def _set_edges(self, e: _Edges) -> None:
        """The context-free program's one set of edges, unpacked for the scans."""
        self._edges = e
        self.start_mask = e.start
        self.chain, self.rest_mask, self._inline = e.chain, e.rest_mask, e.inline
        (self.x1, self.y1), (self.x2, self.y2) = e.groups[0], e.groups[1]

    @property
    def root_mask(self) -> dict[int, int]:
        """The closure of each root (context-free programs)."""
        assert self._edges is not None
        return self._edges.roots

    # -- construction ---------------------------------------------------------
    @classmethod
    def build(cls, prog: Prog, is_word: Callable[[int], bool] | None = None) -> BitNFA | None:
        """The simulation of ``prog``, or ``None`` if its shape is not handled."""
        op, arg, xs, ys = prog.op, prog.arg, prog.x, prog.y
        npc = len(op)
        for o in op:
            if o not in _OPS:
                return None
        # references to each pc (the start counts as one)
        indeg = [0] * npc
        indeg[prog.start] += 1
        for pc, o in enumerate(op):
            if o == MATCH:
                continue
            indeg[xs[pc]] += 1
            if o in (SPLIT, CHECK):
                indeg[ys[pc]] += 1
        # merge the CHAR leaves of alternation trees (union-find on pcs)
        parent = list(range(npc))

        def find(a: int) -> int:
            while parent[a] != a:
                parent[a] = parent[parent[a]]
                a = parent[a]
            return a

        for s, o in enumerate(op):
            if o != SPLIT:
                continue
            leaves: list[int] = []
            stack = [xs[s], ys[s]]
            ok = True
            while stack and ok:
                c = stack.pop()
                oc = op[c]
                if indeg[c] != 1:
                    ok = False
                elif oc == CHAR:
                    leaves.append(c)
                elif oc == SPLIT:
                    stack.append(xs[c])
                    stack.append(ys[c])
                elif oc in (JMP, SAVE):
                    stack.append(xs[c])
                else:
                    ok = False
            if ok and len(leaves) > 1 and len({xs[c] for c in leaves}) == 1:
                r = find(leaves[0])
                for c in leaves[1:]:
                    parent[find(c)] = r
        reps = sorted({find(pc) for pc, o in enumerate(op) if o == CHAR})
        if len(reps) > MAX_POSITIONS:
            return None
        index = {r: i for i, r in enumerate(reps)}
        pos_of = {pc: index[find(pc)] for pc, o in enumerate(op) if o == CHAR}
        pos_sets: list[list[int]] = [[] for _ in reps]
        for pc, i in pos_of.items():
            if arg[pc] not in pos_sets[i]:
                pos_sets[i].append(arg[pc])
        has_ctx = any(o == ASSERT and arg[pc] != _EOS for pc, o in enumerate(op))
        if is_word is None:
            is_word = word(not prog.is_bytes).__contains__
        self = cls(prog, pos_of, pos_sets, is_word, has_ctx)
        # the follows in every context the assertions tell apart (their closures
        # are otherwise built as a text shows the contexts): if not too many
        ctxs: list[tuple[int, int] | None] = [None]
        if has_ctx:
            cs = [b for b in range(16) if b & ~self._cmask == 0]
            ctxs = [(b, a) for b in cs for a in cs]
        if has_ctx and len(ctxs) * npc > _SAME_FUTURE_CLOSURES:
            return self
        follows = [self._follow(c) for c in ctxs]
        merged = _same_future([f[0] for f in follows], pos_sets)
        if merged is not None:  # positions with the same future share a bit
            pos_of = {pc: merged[i] for pc, i in pos_of.items()}
            first: dict[int, int] = {}  # each class's first member (classes in order)
            for i, k in enumerate(merged):
                first.setdefault(k, i)
            pos_sets = [pos_sets[i] for i in first.values()]
            self = cls(prog, pos_of, pos_sets, is_word, has_ctx)
            if not has_ctx:
                follows = [self._follow(None)]
        if not has_ctx:
            self._set_edges(_Edges(*follows[0]))
        return self

    def _closures(self, ctx: tuple[int, int] | None) -> _Edges:
        """The edges in context ``(behind, ahead)`` (:meth:`_follow`)."""
        return _Edges(*self._follow(ctx))

    def _follow(self, ctx: tuple[int, int] | None) -> tuple[list[int], int, dict[int, int]]:
        """The closure of each position's successor, of the start, and of each
        root (as :class:`_Edges` takes them) in context ``(behind, ahead)``;
        ``None`` (context-free): every
        assertion is ``\\z`` (what follows it can only match, at the end:
        bit ``P + 1``).

        ``ENTER`` is an epsilon edge and ``CHECK`` one to each of its
        successors (exact for sets: module docstring), so the epsilon graph
        may have cycles (``(a*)*``): the closures are computed over its
        strongly connected components (Tarjan's algorithm, iterative), whose
        members all reach the same positions, in one pass over the nodes
        ``(pc, after \\z)`` reached from the roots.
        """
        prog = self._prog
        op, arg, xs, ys = prog.op, prog.arg, prog.x, prog.y
        pos_of = self._pos_of
        match_bit, eos_bit = self.match_bit, self.eos_bit

        # a node is 2 * pc + (1 after a \z passed in the context-free closures)
        def succ(v: int) -> tuple[int, ...]:
            pc, flag = v >> 1, v & 1
            o = op[pc]
            if o in (SPLIT, CHECK):
                return (2 * xs[pc] + flag, 2 * ys[pc] + flag)
            if o in (CHAR, MATCH):
                return ()
            if o != ASSERT:  # JMP, SAVE, ENTER
                return (2 * xs[pc] + flag,)
            if ctx is None:
                return (2 * xs[pc] + 1,)
            if check_assert(arg[pc], ctx[0], ctx[1]):
                return (2 * xs[pc] + flag,)
            return ()

        def leaf(v: int) -> int:
            pc, flag = v >> 1, v & 1
            o = op[pc]
            if o == CHAR:
                return 0 if flag else 1 << pos_of[pc]
            if o == MATCH:
                return eos_bit if flag else match_bit
            return 0

        value: dict[int, int] = {}  # nodes whose component is done: their closure
        index: dict[int, int] = {}
        low: dict[int, int] = {}
        comp: list[int] = []  # Tarjan's stack of nodes whose component is open
        open_: set[int] = set()

        def closure(root: int) -> int:
            r = 2 * root
            if r in value:
                return value[r]
            index[r] = low[r] = len(index)
            comp.append(r)
            open_.add(r)
            work = [(r, iter(succ(r)))]
            while work:
                v, it = work[-1]
                for w in it:
                    if w in value:
                        continue
                    if w not in index:
                        index[w] = low[w] = len(index)
                        comp.append(w)
                        open_.add(w)
                        work.append((w, iter(succ(w))))
                        break
                    if w in open_ and index[w] < low[v]:
                        low[v] = index[w]
                else:
                    work.pop()
                    if work:
                        u = work[-1][0]
                        if low[v] < low[u]:
                            low[u] = low[v]
                    if low[v] == index[v]:
                        members: list[int] = []
                        while True:
                            w = comp.pop()
                            open_.discard(w)
                            members.append(w)
                            if w == v:
                                break
                        m = 0
                        for x in members:
                            m |= leaf(x)
                            for y in succ(x):
                                m |= value.get(y, 0)  # the members' own: not yet set
                        for x in members:
                            value[x] = m
            return value[r]

        follow: list[int] = [0] * self.npos
        roots: dict[int, int] = {}
        for pc, i in pos_of.items():
            follow[i] = roots[xs[pc]] = closure(xs[pc])  # equal for merged pcs
        roots[prog.start] = start = closure(prog.start)
        return follow, start, roots

    def edges(self, behind: int, ahead: int) -> _Edges:
        """The edges in the context of a position (built on first use, a few per text).

        Keyed on the context bits the program's assertions read: a program
        with only ``\\b`` has at most eight contexts (word or not either
        side, the edges); a context-free program has its one set of edges.
        """
        if not self.ctx:
            assert self._edges is not None
            return self._edges
        cm = self._cmask
        key = (behind & cm) << 4 | (ahead & cm)
        e = self._by_ctx.get(key)
        if e is None:
            e = self._by_ctx[key] = self._closures((behind & cm, ahead & cm))
        return e

    def bits(self, ch: Any) -> int:
        """Context bits (newline, word) of one character, memoised."""
        b = self._bits_memo.get(ch)
        if b is None:
            c = ord(ch) if isinstance(ch, str) else ch
            b = (NL if c == 10 else 0) | (WORD if self.is_word(c) else 0)
            if len(self._bits_memo) >= 4096:
                self._bits_memo.clear()
            self._bits_memo[ch] = b
        return b

    def ahead(self, text: Any, i: int) -> int:
        """Context bits of the character at ``i`` (``EDGE`` past the end; a final newline)."""
        n = len(text)
        if i >= n:
            return EDGE
        b = self.bits(text[i])
        if b & NL and i == n - 1:
            b |= FINALNL
        return b

    # -- per character ----------------------------------------------------------
    def accept(self, ch: Any) -> int:
        """Positions whose set holds ``ch`` (memoised per character)."""
        got = self._acc.get(ch)
        if got is None:
            c = ord(ch) if isinstance(ch, str) else ch
            got = 0
            for si, cs in enumerate(self.sets):
                if c in cs:
                    got |= self._set_mask[si]
            if len(self._acc) >= self._memo_cap:
                self._acc.clear()
            self._acc[ch] = got
        return got

    def _enter(self, ch: Any, cb: int) -> tuple[int, int, dict[Any, int], tuple[Any, ...]]:
        """A character the current memo lacks (a new one, or one of another context class).

        ``cb``: the class of the character before.  Returns its accept mask,
        its class, the memo for the next character (its class's; or an empty
        one when the class changed: the next character then says whether the
        context stays), and the edges at its position (:attr:`_Edges.hot`):
        between ``cb`` and its class.  ``_END`` stands for the end of the
        text, ``_FINAL`` for a final newline (:meth:`_chars`).
        """
        cm = self._cmask
        if ch is _END:
            a, c2 = 0, EDGE & cm
        elif ch is _FINAL:
            a, c2 = self.accept(self._nl), (self.bits(self._nl) | FINALNL) & cm
        else:
            a = self.accept(ch)
            c2 = self.bits(ch) & cm if cm else 0
            memo = self._acc_by.get(c2)
            if memo is None:
                memo = self._acc_by[c2] = {}
            if len(memo) >= self._memo_cap:
                memo.clear()
            memo[ch] = a
        if c2 == cb:
            return a, cb, self._acc_by.get(cb, _PENDING), self.edges(cb, cb).hot
        return a, c2, _PENDING, self.edges(cb, c2).hot

    def _chars(self, text: Any, pos: int) -> Any:
        """The characters of ``text`` from ``pos``, then ``_END`` (a final newline as
        ``_FINAL`` if the program reads ``FINALNL``)."""
        it = iter(text)
        if pos:
            it.__setstate__(pos)
        n = len(text)
        if self._cmask & FINALNL and pos < n and text[n - 1] == self._nl:
            return chain(islice(it, n - 1 - pos), (_FINAL, _END))
        return chain(it, (_END,))

    def _rest(self, t: int) -> int:
        """Targets of the exceptional edges out of ``t`` not tested inline (context-free)."""
        assert self._edges is not None
        return self._edges.rest(t)

    def from_roots(self, roots: Sequence[int], behind: int = 0, ahead: int = 0) -> int:
        """The set of a DFA kernel: the union of its pcs' closures (CHAR successors or the start).

        ``behind``/``ahead``: the context there (programs with assertions).
        """
        masks = self.edges(behind, ahead).roots if self.ctx else self.root_mask
        out = 0
        for r in roots:
            out |= masks[r]
        return out

    # -- scans with assertions (context-dependent closures) ------------------------
    def _ctx_run(self, text: Any, i: int, s: int, behind: int, last: int, mode: int) -> int:
        """:meth:`longest` (``mode`` 0), its ``earliest`` (1), :meth:`earliest_unanchored` (2).

        As those, but each position's closures are those of its context: the
        character behind (``behind`` at ``i``) and the one ahead, whose bits
        become the next position's ``behind``.  A few contexts occur in a
        text, each built once (:meth:`edges`).
        """
        n = len(text)
        mb = self.match_bit
        acc = self._acc
        accept = self.accept
        ahead = self.ahead(text, i)
        unanch = mode == 2
        if unanch:
            s |= self.edges(behind, ahead).start
        key = -1
        e: _Edges | None = None
        while i < n:
            if s & mb:
                last = i
                if mode:
                    return last
            ch = text[i]
            a = acc.get(ch)
            if a is None:
                a = accept(ch)
            t = s & a
            if not t and not unanch:
                return last
            i += 1
            behind, ahead = ahead, self.ahead(text, i)
            k = behind << 4 | ahead
            if k != key:
                key, e = k, self.edges(behind, ahead)
            assert e is not None
            s = e.step(t)
            if unanch:
                s |= e.start
        if s & mb:
            last = n
        return last

    # -- scans ----------------------------------------------------------------
    def longest(
        self, text: Any, i: int, s: int, last: int, *, earliest: bool = False, behind: int = 0
    ) -> int:
        """From the set ``s`` at ``i`` (no new starts): the last match end, or ``last``.

        ``earliest``: stop at the first match end.  Stops when no thread is
        alive; a match is recorded at ``j`` when ``s`` holds the match bit
        before character ``j`` (bit ``P + 1``: only at the end).  ``behind``:
        the context left of ``i`` (programs with assertions).
        """
        if self.ctx:
            return self._ctx_run(text, i, s, behind, last, 1 if earliest else 0)
        n = len(text)
        mb = self.match_bit
        acc = self._acc
        accept = self.accept
        chain, x1, y1, x2, y2 = self.chain, self.x1, self.y1, self.x2, self.y2
        inline = self._inline
        rest_mask, rest = self.rest_mask, self._rest
        it = iter(text)
        if i:
            it.__setstate__(i)
        for ch in it:
            if s & mb:
                last = i
                if earliest:
                    return last
            a = acc.get(ch)
            if a is None:
                a = accept(ch)
            t = s & a
            if not t:
                return last
            s = (t & chain) << 1
            if t & x1:
                s |= y1
            if t & x2:
                s |= y2
            if not inline and t & rest_mask:
                s |= rest(t)
            i += 1
        if s & (mb | self.eos_bit) and i == n:
            last = n
        return last

    def longest_back(self, text: Any, end: int, lo: int, s: int, best: int) -> int:
        """:meth:`longest` for a reversed program, from ``end`` down to ``lo``.

        The smallest ``i >= lo`` where a match (of the reversed program)
        ends, or ``best``: the reverse scan that finds where a match starts.
        Context-free programs only.
        """
        assert not self.ctx
        mb = self.match_bit
        acc = self._acc
        accept = self.accept
        chain, x1, y1, x2, y2 = self.chain, self.x1, self.y1, self.x2, self.y2
        inline = self._inline
        rest_mask, rest = self.rest_mask, self._rest
        i = end
        it = reversed(text)
        it.__setstate__(end - 1)
        for ch in islice(it, end - lo):
            if s & mb:
                best = i
            a = acc.get(ch)
            if a is None:
                a = accept(ch)
            t = s & a
            if not t:
                return best
            s = (t & chain) << 1
            if t & x1:
                s |= y1
            if t & x2:
                s |= y2
            if not inline and t & rest_mask:
                s |= rest(t)
            i -= 1
        # bit P + 1: past a \\z of the reversed program (a ^ of the pattern): only at 0
        if s & mb or (s & self.eos_bit and lo == 0):
            best = lo
        return best

    def earliest_unanchored(self, text: Any, i: int, s: int, behind: int = 0) -> int:
        """From the set ``s`` at ``i``, new threads starting at each position: first match end."""
        if self.ctx:
            return self._ctx_run(text, i, s, behind, -1, 2)
        n = len(text)
        mb = self.match_bit
        z = self.start_mask
        acc = self._acc
        accept = self.accept
        chain, x1, y1, x2, y2 = self.chain, self.x1, self.y1, self.x2, self.y2
        inline = self._inline
        rest_mask, rest = self.rest_mask, self._rest
        s |= z
        it = iter(text)
        if i:
            it.__setstate__(i)
        for ch in it:
            if s & mb:
                return i
            a = acc.get(ch)
            if a is None:
                a = accept(ch)
            t = s & a
            s = ((t & chain) << 1) | z
            if t & x1:
                s |= y1
            if t & x2:
                s |= y2
            if not inline and t & rest_mask:
                s |= rest(t)
            i += 1
        if s & (mb | self.eos_bit) and i == n:
            return n
        return -1

    def leftmost(
        self, text: Any, pos: int, skip_empty: bool = False, behind: int = 0
    ) -> tuple[int, int] | None:
        """``(start, end)``: the leftmost start of a match at or after ``pos``, its longest end.

        One set per start position, ordered and disjoint (module docstring);
        ``skip_empty`` ignores an empty match at ``pos`` (``finditer``'s rule).
        Linear: each character steps at most ``P`` non-empty disjoint sets.
        While one set remains and a new start would add nothing to it (a
        pattern that begins with a loop), a tighter loop steps just that set.
        ``behind``: the context left of ``pos`` (programs with assertions).

        One loop for every program: the closures at a position depend on
        the context classes of the characters either side (one class for a
        context-free program), so the set there is made when the character
        after it is read; characters are looked up in their class's memo,
        and only one of another class (or a new one) leaves the loop's fast
        path (:meth:`_enter`).
        """
        n = len(text)
        mb = self.match_bit
        eb = self.eos_bit
        enter = self._enter
        seq = self._chars(text, pos)
        starts: list[int] = []
        masks: list[int] = []
        best_s = best_e = -1
        union = 0
        i = pos
        # the character at pos sets the context there
        a, cb, acc, hot = enter(next(seq), behind & self._cmask)
        chain_, x1, y1, x2, y2, inline, rest_mask, rest, z = hot
        while True:
            # the sets at i (a: the character at i): a new start, then matches
            if best_s < 0:
                new = z & ~union
                if new:
                    starts.append(i)
                    masks.append(new)
                    union |= new
            if union & (mb | eb):
                for j, m in enumerate(masks):
                    if (m & mb or (m & eb and i == n)) and not (skip_empty and i == pos):
                        best_s, best_e = starts[j], i
                        if j + 1 < len(masks):
                            del starts[j + 1 :]
                            del masks[j + 1 :]
                            union = 0
                            for m2 in masks:
                                union |= m2
                        break
            if i >= n or not masks:
                if best_s >= 0:
                    return best_s, best_e
                if i >= n:
                    return None
            if len(masks) == 1 and (best_s >= 0 or not z & ~masks[0]):
                m = masks[0]
                s0 = starts[0]
                for ch in seq:
                    a2 = acc.get(ch)
                    if a2 is None:
                        a2, cb, acc, hot = enter(ch, cb)
                        chain_, x1, y1, x2, y2, inline, rest_mask, rest, z = hot
                    t = m & a
                    a = a2
                    m = (t & chain_) << 1
                    if t & x1:
                        m |= y1
                    if t & x2:
                        m |= y2
                    if not inline and t & rest_mask:
                        m |= rest(t)
                    i += 1
                    if m & mb:
                        best_s, best_e = s0, i
                    elif not m or (best_s < 0 and z & ~m):
                        break
                union = m
                if m:
                    masks[0] = m
                else:
                    del masks[:]
                    del starts[:]
                continue
            ch = next(seq)
            a2 = acc.get(ch)
            if a2 is None:
                a2, cb, acc, hot = enter(ch, cb)
                chain_, x1, y1, x2, y2, inline, rest_mask, rest, z = hot
            union = 0
            k = 0
            for j, m in enumerate(masks):
                t = m & a
                if not t:
                    continue
                m = (t & chain_) << 1
                if t & x1:
                    m |= y1
                if t & x2:
                    m |= y2
                if not inline and t & rest_mask:
                    m |= rest(t)
                m &= ~union
                if m:
                    union |= m
                    masks[k] = m
                    starts[k] = starts[j]
                    k += 1
            del masks[k:]
            del starts[k:]
            a = a2
            i += 1
