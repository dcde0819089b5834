"""A lazily built DFA over character equivalence classes, with a bounded cache.

A DFA state is an ordered tuple of NFA program counters (the threads alive
after the last character, in priority order) plus the context bits of that
character and two flags.  Transitions are computed on demand, first per
equivalence class (characters that every set of the program, and the
word/newline context, treat alike), then memoised per character in a dict so
the hot loop is one dict lookup per character.  When the cache holds more
than ``max_states`` states it is flushed and rebuilt from the current state:
memory stays bounded and each character still costs at most one closure
computation, O(len(program)), so a search is linear in the text.

When the cache thrashes (it filled up in fewer than ten characters per
state, as ``(a|b)*a(a|b){30}`` does on random text, whose DFA has 2**31
states; or, before the first flush, a scan made :data:`_EARLY_STATES`
states at more than one per four characters), the scan gives up, as RE2's does, to the bit-parallel NFA of
:mod:`re_engine.bitnfa` where sets give its answer exactly, or else to the
thread lists of :meth:`LazyDFA._nfa_scan` (see :meth:`LazyDFA._give_up`),
and the next long scans go there at once for a while.

Modes: ``"first"`` cuts threads of lower priority than a match (Perl), and
``"longest"`` keeps them all (POSIX, and the reverse scan that finds where a
match starts).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Sequence
from itertools import chain, islice
from typing import Protocol, cast

from .backtrack import Backtracker, fits
from .bitnfa import BitNFA
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
    NOT_FRESH,
    SAVE,
    SPLIT,
    WORD,
    Prog,
    check_assert,
    check_loop,
    context_reads,
    enter_loop,
)


class Jump(Protocol):
    """Prefilter for an unanchored DFA (see :class:`re_engine.fast.Jumper`)."""

    in_loop: bool  # worth calling whenever the DFA falls idle, not only at the start

    def jump(self, text: str | bytes, i: int) -> tuple[int, int]:
        """``(a, mark)``: no match starts in ``[i, a)`` (``a = -1``: none at all)."""
        ...


# leave the DFA for the fallbacks (LazyDFA._give_up) after this many flushes
# in one scan, if it made a new state for more than one character in this many
_THRASH_FLUSHES = 1
_THRASH_CHARS_PER_STATE = 10
# leave before the first flush when a scan made this many states, one for
# fewer than this many characters each (RE2 bails out on a budget of states per byte)
_EARLY_STATES = 256
_EARLY_CHARS_PER_STATE = 4
# the fallbacks could not answer a scan: it does not ask them again (each try
# rescans from the scan's start, so retrying at every flush would be quadratic)
_NO_RETRY = 1 << 62

# after the DFA gave up to the bit-parallel scan, this many of the next scans
# of at least _DIRECT_MIN characters go to it at once; doubled at each new
# give-up (up to _SKIP_MAX), so a pattern that thrashes on its texts pays the
# DFA's warm-up rarely, and one that thrashed once is retried soon
_SKIP_FIRST = 8
_SKIP_MAX = 1024
_DIRECT_MIN = 4096

# LazyDFA.never_cuts: most (contexts * CHAR pcs) ** 2 it takes on
_ORDER_WORK = 1 << 18
# LazyDFA.never_cuts' answer per program (a first-mode property of the program alone)
_NEVER_CUTS: weakref.WeakKeyDictionary[Prog, bool] = weakref.WeakKeyDictionary()

# programs up to this size get their closures computed at once (_ecl_table)
_TABLE_MAX = 2000
# most closures per (root, context) kept for the thread lists of other programs
_ECL_CTX_MAX = 50_000

# a jump shorter than this is not worth its call: pause jumping for a while
_SHORT_JUMP = 64
_PAUSE = 256


class DState:
    """One DFA state; ``ta``/``tb`` memoise transitions per character."""

    __slots__ = ("active", "behind", "ct", "dead", "fin", "idle", "kernel", "m", "ta", "tb", "tj")

    def __init__(self, kernel: tuple[int, ...], behind: int, m: bool, active: bool) -> None:
        self.kernel = kernel
        self.behind = behind
        self.m = m  # a match ended just before the character that led here
        self.active = active  # unanchored: new threads still start at each position
        self.dead = not kernel and not active
        # no thread alive and no match pending: a search may restart anywhere
        self.idle = not kernel and active and not m
        # ta: transitions to states that are neither matching nor dead
        # tb: all transitions (its users check for a dead state)
        # tj: as ta, but not to idle states either (the DFA may jump from those)
        self.ta: dict[object, DState] = {}
        self.tb: dict[object, DState] = {}
        self.tj: dict[object, DState] = {}
        self.ct: dict[int, DState] = {}
        self.fin: dict[int, bool] = {}


class LazyDFA:
    """Lazy DFA for one program, direction and mode."""

    def __init__(
        self,
        prog: Prog,
        mode: str,
        unanchored: bool,
        is_word: Callable[[int], bool],
        max_states: int = 2000,
    ) -> None:
        self.prog = prog
        self.longest = mode == "longest"
        self.unanchored = unanchored
        self.is_word = is_word
        self.max_states = max_states
        self.states: dict[tuple[tuple[int, ...], int, bool, bool], DState] = {}
        self.classes: dict[tuple[tuple[int, ...], int], int] = {}
        self.class_members: list[frozenset[int]] = []
        self.class_bits: list[int] = []
        self.char_class: dict[int, int] = {}
        self.flushes = 0
        self.built = 0  # states made (for the early give-up, _EARLY_STATES)
        self.is_str = not prog.is_bytes
        self.jumper: Jump | None = None
        self.ctx_memo: dict[object, int] = {}
        self._starts: dict[int, DState] = {}
        # the bit-parallel fallback (re_engine.bitnfa), built on the first thrash
        self._bit: BitNFA | None = None
        self._bit_built = False
        self._backtracker: Backtracker | None = None
        # first mode: the match end may be the longest from the leftmost start
        # (re_engine.bitnfa.first_is_longest, or a POSIX pattern's start finder);
        # else the scans that give up ask never_cuts (exact())
        self.sets_exact = False
        self._never_cuts: bool | None = None
        # the length of the longest match, if bounded (set with sets_exact)
        self.max_len: int | None = None
        self.gave_up = 0  # scans handed to the fallbacks
        self._skip = 0  # long scans still to hand to the bit-parallel scan at once
        self._skip_next = _SKIP_FIRST
        # (start, end) of the match the unanchored fallback found, for the caller
        self.found: tuple[int, int] | None = None
        # no assertion and no empty-iteration check: closures ignore the context
        self._plain = not any(o in (ASSERT, ENTER, CHECK) for o in prog.op)
        self._ecl: dict[int, tuple[int, ...]] = {}
        self._ecl_ctx: dict[tuple[int, int], tuple[int, ...]] = {}
        self._moves: dict[int, dict[int, int]] = {}
        # every root's closure, indexed by pc, for programs small enough to do it at once
        self._ecl_table: list[tuple[int, ...]] | None = None
        if self._plain and len(prog.op) <= _TABLE_MAX:
            roots = {prog.start}
            roots.update(prog.x[pc] for pc, o in enumerate(prog.op) if o == CHAR)
            table: list[tuple[int, ...]] = [()] * len(prog.op)
            for r in roots:
                table[r] = self._eclose(r)
            self._ecl_table = table

    # -- classes --------------------------------------------------------------
    def class_of(self, c: int, final: bool = False) -> int:
        """Equivalence class of code point ``c`` (``final``: last char of text)."""
        if not final:
            k = self.char_class.get(c)
            if k is not None:
                return k
        sig = tuple(i for i, s in enumerate(self.prog.sets) if c in s)
        bits = (NL if c == 10 else 0) | (WORD if self.is_word(c) else 0)
        if final and c == 10:
            bits |= FINALNL
        key = (sig, bits)
        k = self.classes.get(key)
        if k is None:
            k = len(self.class_members)
            self.classes[key] = k
            self.class_members.append(frozenset(sig))
            self.class_bits.append(bits)
        if not final:
            if len(self.char_class) > 100_000:
                self.char_class.clear()
            self.char_class[c] = k
        return k

    # -- states ---------------------------------------------------------------
    def state(self, kernel: tuple[int, ...], behind: int, m: bool, active: bool) -> DState:
        key = (kernel, behind, m, active)
        s = self.states.get(key)
        if s is None:
            if len(self.states) >= self.max_states:
                self.flush()
            s = DState(kernel, behind, m, active)
            self.built += 1
            self.states[key] = s
        return s

    def flush(self) -> None:
        """Drop every cached state and transition (memory stays bounded)."""
        for s in self.states.values():
            s.ta.clear()
            s.tb.clear()
            s.tj.clear()
            s.ct.clear()
        self.states.clear()
        self._starts.clear()
        self.flushes += 1

    def start(self, behind: int) -> DState:
        s = self._starts.get(behind)
        if s is None:
            if self.unanchored:
                s = self.state((), behind, False, True)
            else:
                s = self.state((self.prog.start,), behind, False, False)
            self._starts[behind] = s
        return s

    def _eclose(self, root: int) -> tuple[int, ...]:
        """CHAR pcs reachable from ``root`` by epsilon moves, in priority order; -1 for MATCH.

        Only for programs without ASSERT, ENTER or CHECK, where this does not
        depend on the context; memoised per root (at most one per pc).
        """
        got = self._ecl.get(root)
        if got is not None:
            return got
        op, xs, ys = self.prog.op, self.prog.x, self.prog.y
        out: list[int] = []
        seen: set[int] = set()
        stack = [root]
        while stack:
            pc = stack.pop()
            while pc not in seen:
                seen.add(pc)
                o = op[pc]
                if o == CHAR:
                    out.append(pc)
                    break
                if o == SPLIT:
                    stack.append(ys[pc])
                    pc = xs[pc]
                elif o == MATCH:
                    out.append(-1)
                    break
                else:  # JMP, SAVE
                    pc = xs[pc]
        res = self._ecl[root] = tuple(out)
        return res

    def _eclose_ctx(self, root: int, behind: int, ahead: int) -> tuple[int, ...]:
        """:meth:`_eclose` for any program: the closure of one root in one context
        (-1 where MATCH is reached), memoised (at most :data:`_ECL_CTX_MAX` entries)."""
        out, matched = self._closure_ctx((root,), behind, ahead)
        got = (*out, -1) if matched else tuple(out)
        if len(self._ecl_ctx) >= _ECL_CTX_MAX:
            self._ecl_ctx.clear()
        self._ecl_ctx[root, (behind << 4) | ahead] = got
        return got

    def _closure_plain(self, s: DState) -> tuple[list[int], bool]:
        """:meth:`closure` for context-free programs (see :meth:`_closure_roots`)."""
        return self._closure_roots([*s.kernel, self.prog.start] if s.active else s.kernel)

    def _closure_roots(
        self, roots: Sequence[int], behind: int = 0, ahead: int = 0
    ) -> tuple[list[int], bool]:
        """CHAR pcs reachable from ``roots`` (in order), and MATCH?

        The same list as :meth:`closure`: a root's closure is explored in full
        unless it meets a pc an earlier root reached, below which everything
        was already found; so it is the roots' memoised closures concatenated,
        duplicates dropped (``dict.fromkeys``, in C), cut at the first MATCH
        in ``first`` mode.  With assertions or empty-iteration checks a
        root's closure is memoised per context ``(behind, ahead)``
        (:meth:`_eclose_ctx`; the argument holds with a path being a pc and
        its freshness, every root starting not fresh).
        """
        table = self._ecl_table
        parts: Iterable[tuple[int, ...]]
        if table is not None:
            parts = map(table.__getitem__, roots)
        elif not self._plain:
            ecl_ctx, ctx = self._ecl_ctx, (behind << 4) | ahead
            parts = (ecl_ctx.get((r, ctx)) or self._eclose_ctx(r, behind, ahead) for r in roots)
        else:
            ecl = self._ecl
            parts = (ecl[r] if r in ecl else self._eclose(r) for r in roots)
        out = list(dict.fromkeys(chain.from_iterable(parts)))
        if -1 not in out:
            return out, False
        k = out.index(-1)
        if self.longest:
            del out[k]
        else:
            del out[k:]
        return out, True

    def _move(self, out: list[int], k: int) -> tuple[int, ...]:
        """The next kernel: targets of the CHAR pcs in ``out`` that accept class ``k``.

        In order, once each (``longest`` mode: sorted, order does not matter there).
        """
        moves = self._moves.get(k)
        if moves is None:
            members = self.class_members[k]
            op, xs, arg = self.prog.op, self.prog.x, self.prog.arg
            moves = {pc: xs[pc] for pc, o in enumerate(op) if o == CHAR and arg[pc] in members}
            self._moves[k] = moves
        targets: dict[int | None, None] = dict.fromkeys(map(moves.get, out))
        targets.pop(None, None)
        kernel = cast("list[int]", list(targets))
        return tuple(sorted(kernel)) if self.longest else tuple(kernel)

    def closure(self, s: DState, ahead: int) -> tuple[list[int], bool]:
        """CHAR pcs reachable from ``s`` before the next character, and MATCH?"""
        if self._plain:
            return self._closure_plain(s)
        roots = [*s.kernel, self.prog.start] if s.active else s.kernel
        return self._closure_ctx(roots, s.behind, ahead)

    def _closure_ctx(
        self, roots: Sequence[int], behind: int, ahead: int, keep: bool = False
    ) -> tuple[list[int], bool]:
        """:meth:`closure` of ``roots`` in the context ``(behind, ahead)`` (any program).

        ``keep``: the whole list in priority order, MATCH as -1 in its place
        (for :meth:`never_cuts`).
        """
        prog = self.prog
        op, arg, xs, ys = prog.op, prog.arg, prog.x, prog.y
        out: list[int] = []
        seen: set[int] = set()
        matched = False
        # a path is (pc, freshness): see Prog; threads that differ only in
        # freshness meet again as one CHAR pc, whose future ignores it
        npc = len(op)
        chars: set[int] = set()
        for root in roots:
            stack = [(root, NOT_FRESH)]
            while stack:
                pc, fresh = stack.pop()
                while True:
                    key = pc if fresh == NOT_FRESH else pc + (fresh + 1) * npc
                    if key in seen:
                        break
                    seen.add(key)
                    o = op[pc]
                    if o == CHAR:
                        if pc not in chars:
                            chars.add(pc)
                            out.append(pc)
                        break
                    if o == SPLIT:
                        stack.append((ys[pc], fresh))
                        pc = xs[pc]
                    elif o in (JMP, SAVE):
                        pc = xs[pc]
                    elif o == ASSERT:
                        if not check_assert(arg[pc], behind, ahead):
                            break
                        pc = xs[pc]
                    elif o == ENTER:
                        fresh = enter_loop(fresh, arg[pc])
                        pc = xs[pc]
                    elif o == CHECK:
                        empty, fresh = check_loop(fresh, arg[pc])
                        pc = ys[pc] if empty else xs[pc]
                    else:  # MATCH
                        if keep and not matched:
                            out.append(-1)
                        matched = True
                        if not self.longest and not keep:
                            return out, True
                        break
        return out, matched

    def never_cuts(self) -> bool:
        """Does a first-mode scan from any start never cut a thread at a match?

        If so, the leftmost-first match from a start is the longest one
        from there (as :func:`re_engine.bitnfa.first_is_longest` proves for
        some shapes from the tree), and sets answer the scans exactly
        (:meth:`exact`).  Proved from the program's priorities:

        A scan from one start keeps its threads in priority order and, when
        one reaches MATCH, cuts those after it.  Let ``C(r)`` be the closure
        of a pc ``r`` in a context (the CHAR pcs reached, in priority order,
        MATCH at its place), and let the CHAR pcs be grouped in classes
        (:meth:`_twins`) such that two pcs of a class have the same set and
        their successors' closures, read as classes with repeats dropped,
        are equal in every context.  Read a list as classes (repeats
        dropped): the scan's next list, read so, follows from this one, as
        two threads of a class accept the same characters and their
        successors add the same classes in the same order (the list after
        a character ``c`` is the closures of the successors of the threads
        that accept ``c``, in list order, repeats dropped:
        :meth:`_closure_roots`).  Cuts read alike: the classes before
        MATCH in the read list are those of the pcs before it in the list.
        So if MATCH is always last in the read lists, no cut ever drops a
        class (a pc cut after MATCH has a twin before it, whose successor's
        closure reads the same): the read lists are those of a scan that
        cuts nothing, every match seen had lower priority than the threads
        then alive, and the last match seen (the longest) is the first.
        That follows from the invariant, on the read lists, with a class
        named by its least pc,

        (I) in each list, two classes whose sets share a character stand in
            increasing order, and MATCH, if reached, is last,

        which this checks by induction.  The list after ``c`` is the read
        closures ``C(t)`` of the successors of the classes ``t`` that accept
        ``c``, in list order, repeats dropped; by (I) those classes are in
        increasing order, since their sets share ``c``.  So (I) holds after
        the step if, in every context (the bits the assertions read, either
        side): (a) each ``C(t)`` satisfies (I); (b) for classes ``p < q``
        whose sets share a character, each class ``y`` of ``C(q)`` not in
        ``C(p)`` comes after every ``x`` of ``C(p)`` whose set meets
        ``y``'s (``x < y``), and ``C(q)`` holds nothing new if ``C(p)``
        reached MATCH.  Indeed for ``x`` first met in ``C(t_i)``, ``y``
        first in ``C(t_j)``, ``i < j``, with meeting sets, ``y`` is new in
        ``C(t_j)`` against ``C(t_i)``, so ``x < y`` by (b) (by (a) if
        ``i = j``); and once MATCH is met in ``C(t_i)``, by (a) last there,
        every later ``C(t_j)`` adds nothing after it.  The first list is the
        closure of the start: (a) again.  (Closures start not fresh and keep
        one entry per CHAR pc, as the scans' do, so the argument holds with
        empty-iteration checks.)  The classes let a loop whose first
        iteration is unrolled pass: ``a+`` is ``aa*``, whose two CHAR pcs go
        on to the same loop, so a thread in either stands for both.

        Cost: ``O(K * P**2)`` integer operations for ``P`` CHAR pcs and ``K``
        contexts, at most :data:`_ORDER_WORK` (else ``False``: not proved),
        and the classes' rounds (bounded alike); computed once, when a scan
        first gives up (:meth:`exact`).
        """
        prog = self.prog
        op, arg, xs, sets = prog.op, prog.arg, prog.x, prog.sets
        if self.longest:
            return False
        chars = [pc for pc, o in enumerate(op) if o == CHAR]
        cm = context_reads(prog)
        ctxs = [b for b in range(16) if b & ~cm == 0]
        if len(ctxs) ** 2 * len(chars) ** 2 > _ORDER_WORK:
            return False
        roots = dict.fromkeys([prog.start, *(xs[pc] for pc in chars)])
        closures = {
            r: [self._closure_ctx((r,), b, a, keep=True)[0] for b in ctxs for a in ctxs]
            for r in roots
        }
        rep, read = self._twins(chars, closures)
        reps = sorted(set(rep.values()))
        # meet[pc]: the classes whose set shares a character with class pc's
        by_set: dict[int, int] = {}
        for pc in reps:
            by_set[arg[pc]] = by_set.get(arg[pc], 0) | 1 << pc
        meet_set = {
            a: sum(m for b, m in by_set.items() if a == b or sets[a].inter(sets[b])) for a in by_set
        }
        meet = {pc: meet_set[arg[pc]] for pc in reps}
        for i in range(len(ctxs) ** 2):
            # per root: its read closure's mask, and the classes that may not be
            # new after it (a class y with some x > y of the closure meeting it)
            got: dict[int, tuple[int, int]] = {}
            for r in roots:
                lst = read[r][i]
                mask = late = 0
                for x in lst:
                    if x < 0:
                        if lst[-1] != -1:
                            return False  # MATCH not last: (a)
                        late = -1  # nothing may be new after MATCH
                        break
                    if (mask & meet[x]) >> (x + 1):
                        return False  # a class > x meeting it came before: (a)
                    mask |= 1 << x
                    late |= meet[x] & ((1 << x) - 1)
                got[r] = (mask, late)
            for q in reps:
                cq = got[xs[q]][0]
                below = meet[q] & ((1 << q) - 1)  # the classes p < q meeting q
                while below:
                    low = below & -below
                    below ^= low
                    cp, late = got[xs[low.bit_length() - 1]]
                    if cq & ~cp & late:
                        return False  # (b)
        return True

    def _twins(
        self, chars: list[int], closures: dict[int, list[list[int]]]
    ) -> tuple[dict[int, int], dict[int, list[tuple[int, ...]]]]:
        """The classes of CHAR pcs for :meth:`never_cuts`: each pc's class, named by
        its least pc, and each root's closures (per context) read as classes.

        A class's pcs have the same set, and their successors' closures, read
        as classes with repeats dropped, are equal in every context.  One
        class per pc holds that; each round then merges the pcs whose set and
        successors' read closures agree, which keeps it: closures read alike
        in the classes before the round read alike in the merged ones (a
        reading in coarser classes is a function of the reading in finer
        ones).  Rounds stop when nothing merges, or after :data:`_ORDER_WORK`
        steps: every round's classes hold the rule, so stopping early only
        proves less.
        """
        arg, xs = self.prog.arg, self.prog.x
        rep = {pc: pc for pc in chars}
        size = sum(len(lst) + 1 for lists in closures.values() for lst in lists)
        work = 0
        while True:
            get = rep.get
            read = {
                r: [tuple(dict.fromkeys([get(y, -1) for y in lst])) for lst in lists]
                for r, lists in closures.items()
            }
            work += size
            ids: dict[tuple[tuple[int, ...], ...], int] = {}
            rid = {r: ids.setdefault(tuple(lists), len(ids)) for r, lists in read.items()}
            first: dict[tuple[int, int], int] = {}
            merged = {pc: first.setdefault((arg[pc], rid[xs[pc]]), pc) for pc in chars}
            if merged == rep or work > _ORDER_WORK:
                return rep, read
            rep = merged

    def exact(self) -> bool:
        """:attr:`sets_exact`, or proved by :meth:`never_cuts` (first use; once per
        program, which a pattern's unanchored and anchored DFAs share)."""
        if self.sets_exact:
            return True
        if self._never_cuts is None:
            if self.longest:
                self._never_cuts = False  # never_cuts proves nothing for longest scans
            else:
                proved = _NEVER_CUTS.get(self.prog)
                if proved is None:
                    proved = _NEVER_CUTS[self.prog] = self.never_cuts()
                self._never_cuts = proved
        return self._never_cuts

    def final(self, s: DState, ahead: int) -> bool:
        """Does a match end at the current position, given the context ahead?"""
        r = s.fin.get(ahead)
        if r is None:
            r = self.closure(s, ahead)[1]
            s.fin[ahead] = r
        return r

    def step_class(self, s: DState, k: int, skip_match: bool = False) -> DState:
        if not skip_match:
            nxt = s.ct.get(k)
            if nxt is not None:
                return nxt
        bits = self.class_bits[k]
        out, matched = self.closure(s, bits)
        if skip_match and matched:
            # ignore this (empty) match: recompute without cutting at it
            saved = self.longest
            self.longest = True
            out, _ = self.closure(s, bits)
            self.longest = saved
            matched = False
        kernel = self._move(out, k)
        active = s.active and not matched
        if self.longest and not self.unanchored:
            active = False
        nxt = self.state(kernel, bits & (NL | WORD | FINALNL), matched, active)
        if not skip_match:
            s.ct[k] = nxt
        return nxt

    def code(self, ch: object) -> int:
        return ord(ch) if isinstance(ch, str) else ch  # type: ignore[return-value]

    def slow_step(self, s: DState, ch: object, final: bool = False) -> DState:
        c = self.code(ch)
        k = self.class_of(c, final)
        nxt = self.step_class(s, k)
        # with a "final newline" assertion, newlines are never memoised per char:
        # whether one is the last character depends on its position
        if not (c == 10 and self.prog.uses_final):
            s.tb[ch] = nxt  # callers of tb check for a dead state after each step
            if not nxt.m and not nxt.dead:
                s.ta[ch] = nxt
                if not nxt.idle:
                    s.tj[ch] = nxt
        return nxt

    def context(self, text: str | bytes, i: int) -> int:
        """Context bits of the character before position ``i``."""
        if i <= 0:
            return EDGE
        ch = text[i - 1]
        b = self.ctx_memo.get(ch)
        if b is None:
            c = self.code(ch)
            b = (NL if c == 10 else 0) | (WORD if self.is_word(c) else 0)
            if len(self.ctx_memo) > 4096:
                self.ctx_memo.clear()
            self.ctx_memo[ch] = b
        return b

    # -- scans ----------------------------------------------------------------
    def forward(
        self,
        text: str | bytes,
        pos: int,
        behind: int,
        *,
        skip_first: bool = False,
        earliest: bool = False,
    ) -> int:
        """Scan ``text[pos:]``; return the end of the match, or -1.

        In ``first`` mode this is the end of the leftmost-first match (if the
        DFA is unanchored) or of the highest-priority match starting at
        ``pos``; in ``longest`` mode the last match end found before the DFA
        dies.  ``earliest`` stops at the first match end found.
        ``skip_first`` ignores a match at ``pos`` itself (empty match rule).
        """
        n = len(text)
        code = self.code
        watch_final = self.prog.uses_final
        s = self.start(behind)
        # (after an empty match only the leftmost-start scan can skip it itself)
        if (
            self._skip
            and n - pos >= _DIRECT_MIN
            and not (skip_first and (earliest or not self.unanchored))
        ):
            self._skip -= 1
            r = self._give_up(text, pos, pos, s, -1, earliest, skip_first, direct=True)
            if r is not None:
                return r
        last = -1
        i = pos
        flushes0, built0 = self.flushes, self.built
        if skip_first and i >= n:
            return -1  # only an empty match is possible at the end
        jumper = None if skip_first else self.jumper
        mark = -1  # no jump before passing this position
        if jumper is not None:
            a, mark = jumper.jump(text, i)
            if a < 0:
                return -1
            if a > i:
                i = a
                s = self.start(self.context(text, i))
        if skip_first:
            c = code(text[i])
            final = watch_final and c == 10 and i == n - 1
            s = self.step_class(s, self.class_of(c, final), skip_match=True)
            i += 1
            if s.dead:
                return -1
        it = iter(text)
        while i < n:
            # phase A: no match yet; ta never leads to matching or dead states
            # (tj not to idle ones either: there the prefilter may jump)
            if last < 0:
                it.__setstate__(i)  # type: ignore[attr-defined]
                try:
                    if jumper is not None and jumper.in_loop and i > mark:
                        tj = s.tj
                        for ch in it:
                            s = tj[ch]
                            tj = s.tj
                    elif jumper is not None and jumper.in_loop:
                        # jumping paused until past mark: run up to it, then re-decide
                        stop = min(n, mark + 1)
                        ta = s.ta
                        for ch in islice(it, stop - i):
                            s = ta[ch]
                            ta = s.ta
                        i = stop
                        continue
                    else:
                        ta = s.ta
                        for ch in it:
                            s = ta[ch]
                            ta = s.ta
                    i = n
                    break
                except KeyError:
                    i = int(it.__reduce__()[2]) - 1
                ch = text[i]
                nxt = s.tb.get(ch)  # memoised, but to a matching, dead or idle state
                if nxt is None:
                    if self._thrashes(i - pos, flushes0, built0):
                        r = self._give_up(text, pos, i, s, last, earliest, skip_first)
                        if r is not None:
                            return r
                        flushes0 = built0 = _NO_RETRY
                    nxt = self.slow_step(s, ch, watch_final and i == n - 1 and code(ch) == 10)
                s = nxt
                i += 1
                if s.m:
                    last = i - 1
                    if earliest:
                        return last
                if s.dead:
                    return last
                if s.idle and jumper is not None and jumper.in_loop and i > mark and i < n:
                    a, mark = jumper.jump(text, i)
                    if a < 0:
                        return -1  # no thread alive, no match pending, none ahead
                    if a - i < _SHORT_JUMP:
                        mark = max(mark, i + _PAUSE)
                    if a > i:
                        i = a
                        s = self.start(self.context(text, i))
                continue
            # phase B: a match was seen; extend it while threads are alive
            tb = s.tb
            while i < n:
                ch = text[i]
                nxt = tb.get(ch)
                if nxt is None:
                    if self._thrashes(i - pos, flushes0, built0):
                        r = self._give_up(text, pos, i, s, last, earliest, skip_first)
                        if r is not None:
                            return r
                        flushes0 = built0 = _NO_RETRY
                    nxt = self.slow_step(s, ch, watch_final and i == n - 1 and code(ch) == 10)
                s = nxt
                tb = s.tb
                i += 1
                if s.m:
                    last = i - 1
                if s.dead:
                    return last
        if self.final(s, EDGE):
            last = n
        return last

    def forward_short(self, text: str | bytes, pos: int, behind: int) -> int:
        """:meth:`forward` with no options, as one plain loop.

        The same steps as :meth:`forward` (whose second phase this is), for
        scans expected short, such as the tokens of a lexer, where
        :meth:`forward`'s setup for long runs costs more than the scan.
        """
        n = len(text)
        s = self.start(behind)
        if self._skip and n - pos >= _DIRECT_MIN:
            self._skip -= 1
            r = self._give_up(text, pos, pos, s, -1, False, False, direct=True)
            if r is not None:
                return r
        last = -1
        i = pos
        watch_final = self.prog.uses_final
        flushes0, built0 = self.flushes, self.built
        while i < n:
            ch = text[i]
            nxt = s.tb.get(ch)
            if nxt is None:
                if self._thrashes(i - pos, flushes0, built0):
                    r = self._give_up(text, pos, i, s, last, False, False)
                    if r is not None:
                        return r
                    flushes0 = built0 = _NO_RETRY
                nxt = self.slow_step(s, ch, watch_final and i == n - 1 and self.code(ch) == 10)
            s = nxt
            i += 1
            if s.m:
                last = i - 1
            if s.dead:
                return last
        if self.final(s, EDGE):
            last = n
        return last

    def _thrashing(self, scanned: int) -> bool:
        """Is the cache being rebuilt faster than it is used (RE2's rule)?"""
        return scanned < _THRASH_CHARS_PER_STATE * self.max_states * _THRASH_FLUSHES

    def _thrashes(self, scanned: int, flushes0: int, built0: int) -> bool:
        """Should a scan that read ``scanned`` characters leave the DFA (:meth:`_give_up`)?

        After a flush, by :meth:`_thrashing`; before the first, as soon as
        the scan made :data:`_EARLY_STATES` states at more than one per
        :data:`_EARLY_CHARS_PER_STATE` characters: the warm-up a thrashing
        pattern wastes is then that many states (a few milliseconds), not
        a whole cache.  (Early only for a program the bit-parallel scans
        take: the thread lists of :meth:`_nfa_scan` cost more per character.)
        """
        if self.flushes - flushes0 >= _THRASH_FLUSHES:
            return self._thrashing(scanned)
        built = self.built - built0
        return (
            built >= _EARLY_STATES
            and scanned < _EARLY_CHARS_PER_STATE * built
            and self.bitnfa() is not None  # not to the slower thread lists
        )

    def bitnfa(self) -> BitNFA | None:
        """The bit-parallel simulation of the program (built on first use; None: not handled)."""
        if not self._bit_built:
            self._bit_built = True
            self._bit = BitNFA.build(self.prog, self.is_word)
        return self._bit

    def _give_up(
        self,
        text: str | bytes,
        pos: int,
        i: int,
        s: DState,
        last: int,
        earliest: bool,
        skip_first: bool,
        direct: bool = False,
    ) -> int | None:
        """Finish a thrashing :meth:`forward` from state ``s`` at ``i`` without the cache.

        The bit-parallel simulation (:mod:`re_engine.bitnfa`) where sets give
        this scan's answer exactly: an anchored ``longest`` scan, an
        ``earliest`` one (whether some thread reaches a match does not
        depend on their order), an anchored ``first`` scan when
        :meth:`exact` (the first match from the start is the longest:
        the threads still alive, those of higher priority than any match
        seen, include the first match's; their longest end is it); an
        unanchored ``first`` scan with :meth:`exact` restarts at
        ``pos`` with :meth:`BitNFA.leftmost` (leftmost start, longest end;
        its start is left in :attr:`found`), from ``e1 - max_len`` when the
        match length is bounded (``e1`` the earliest end of any match, found
        first with one set: the leftmost match ends at or after ``e1``).
        Without :meth:`exact`, an unanchored ``first`` scan takes the
        leftmost start ``s`` and longest end ``E`` from the sets, then the
        first match from ``s`` from the bounded backtracker over ``[s, E]``
        (:meth:`re_engine.backtrack.Backtracker.first_end`, ``O(m * (E - s))``)
        while that fits its visited set.  Else the thread lists of
        :meth:`_nfa_scan` (context-free programs), else ``None``: the scan
        goes on with the DFA, flushing, and does not ask again (still
        linear: programs with assertions or empty-iteration checks whose
        first match is not the longest, over a span too long for the
        backtracker).  Each path is linear (:mod:`re_engine.bitnfa`,
        :meth:`_nfa_scan`); the restart rescans at most the stretch the DFA
        already scanned.

        ``direct``: called before the DFA ran (``i == pos``, ``s`` the start
        state, see :data:`_SKIP_FIRST`); only the bit-parallel scans apply.
        """
        bit = self.bitnfa()
        if bit is not None:
            anchored = not self.unanchored
            got: int | None = None
            if earliest or (anchored and (self.longest or self.exact())):
                cur = bit.from_roots(s.kernel, s.behind, bit.ahead(text, i) if bit.ctx else 0)
                if earliest and s.active:
                    got = bit.earliest_unanchored(text, i, cur, s.behind)
                else:
                    got = bit.longest(text, i, cur, last, earliest=earliest, behind=s.behind)
            elif not self.longest and self.exact():
                lo = pos
                if self.max_len is not None and not skip_first:
                    # every match ends at or after the earliest end e1, so the
                    # leftmost starts at or after e1 - max_len: one set scans
                    # up to e1, the start groups only that last stretch
                    e1 = bit.earliest_unanchored(text, pos, 0, self.context(text, pos))
                    if e1 < 0:
                        self.found = None
                        got = -1
                    lo = max(pos, e1 - self.max_len)
                span = (
                    None
                    if got is not None
                    else bit.leftmost(text, lo, skip_first, self.context(text, lo))
                )
                if got is None:
                    self.found = span
                    got = -1 if span is None else span[1]
            elif self.unanchored and not self.longest and not skip_first:
                # leftmost start and longest end by sets, then the first match
                # from that start by the bounded backtracker where it fits
                span = bit.leftmost(text, pos, False, self.context(text, pos))
                if span is None:
                    self.found = None
                    got = -1
                elif fits(self.prog, span[0], span[1]):
                    if self._backtracker is None:
                        self._backtracker = Backtracker(self.prog, self.is_word)
                    e = self._backtracker.first_end(text, span[0], span[1])
                    self.found = (span[0], e)
                    got = e
            if got is not None:
                if not direct:
                    self.gave_up += 1
                    self._skip = self._skip_next
                    self._skip_next = min(2 * self._skip_next, _SKIP_MAX)
                return got
        if direct:
            return None
        self.gave_up += 1
        return self._nfa_scan(text, i, s, last, earliest)

    def _nfa_scan(self, text: str | bytes, i: int, s: DState, last: int, earliest: bool) -> int:
        """Finish :meth:`forward` from state ``s`` at ``i`` without caching states.

        When nearly every character makes a new DFA state (``(a|b)*a(a|b){30}``
        has 2**31), building and caching states only costs: this steps the
        same thread lists as :meth:`step_class` (closures of each root,
        memoised, per context for programs with assertions or empty-iteration
        checks; moves per class) and keeps nothing, as RE2 falls back to its
        NFA.  Each character costs ``O(len(program))``: linear, and memory
        stays at one thread list and the memoised closures.
        """
        n = len(text)
        kernel: tuple[int, ...] = s.kernel
        active = s.active
        behind = s.behind
        anchored_longest = self.longest and not self.unanchored
        start = self.prog.start
        closure, move, class_of, code = self._closure_roots, self._move, self.class_of, self.code
        class_bits = self.class_bits
        watch_final = self.prog.uses_final
        while i < n:
            c = code(text[i])
            k = class_of(c, watch_final and c == 10 and i == n - 1)
            ahead = class_bits[k]
            out, matched = closure([*kernel, start] if active else kernel, behind, ahead)
            if matched:
                last = i
                if earliest:
                    return last
                active = False
            kernel = move(out, k)
            if anchored_longest:
                active = False
            behind = ahead & (NL | WORD | FINALNL)
            i += 1
            if not kernel and not active:
                return last
        if closure([*kernel, start] if active else kernel, behind, EDGE)[1]:
            last = n
        return last

    def backward(self, text: str | bytes, end: int, lo: int, behind: int) -> int:
        """Reverse scan from ``end`` down to ``lo`` (``longest`` mode).

        ``behind`` holds the context bits right of ``end``.  Returns the
        smallest ``i >= lo`` at which the (reversed) program matches, or -1.
        """
        s = self.start(behind)
        best = -1
        i = end
        n = len(text)
        code = self.code
        flushes0 = self.flushes
        while i > lo:
            ch = text[i - 1]
            nxt = s.tb.get(ch)
            if nxt is None:
                if (
                    self.flushes - flushes0 >= _THRASH_FLUSHES
                    and self._thrashing(end - i)
                    and self.longest
                    and not self.unanchored
                    and self.bitnfa() is not None
                    and not self.bitnfa().ctx  # type: ignore[union-attr]
                ):
                    bit = self.bitnfa()
                    assert bit is not None
                    self.gave_up += 1
                    return bit.longest_back(text, i, lo, bit.from_roots(s.kernel), best)
                final = i == n and self.prog.uses_final and code(ch) == 10
                nxt = self.slow_step(s, ch, final)
            s = nxt
            i -= 1
            if s.m:
                best = i + 1
            if s.dead:
                return best
        # at lo: the context ahead (to the left) is the real text before lo
        if lo == 0:
            ahead = EDGE
        else:
            c = code(text[lo - 1])
            ahead = (NL if c == 10 else 0) | (WORD if self.is_word(c) else 0)
        if self.final(s, ahead):
            best = lo
        return best
