"""One matching strategy per compiled pattern, chosen once (the "meta engine").

In the manner of regex-automata's meta engine, :func:`choose` looks at the
resolved pattern once, at compile time, and picks the cheapest strategy whose
linear bound it can prove; every operation of :class:`re_engine.Pattern`
(``search``, ``match``, ``fullmatch``, ``finditer``, ``findall``,
``split``, ``sub``) then asks that strategy, none decides on its own:

- :class:`LiteralSearch`: the pattern is one plain string (``str.find``);
- :class:`ReDelegate`: ``re``'s C matcher on an exact translation, where
  :func:`re_engine.fast.safe_for_re` proves the backtracker linear;
- :class:`GuardedReDelegate`: the same for a leading class loop ``C{k,} T``,
  searched with a guard; many-match calls pick per text between it and the
  automata by the density of the required literal;
- :class:`Automata`: the lazy DFA for match bounds (prefiltered by
  :class:`re_engine.fast.Jumper`), and for groups arithmetic on the span of
  an ``F1 B{m,n} F2`` match (:mod:`re_engine.loopgroups`), ``re`` on the
  found span where proved cheap, the bounded backtracker for spans that fit its visited
  set, the Pike VM for the rest (POSIX patterns: :mod:`re_engine.posix`).

Each class states the proof of its bound.  All take ``text`` already cut at
``endpos`` (and ``bytearray``/``memoryview`` made ``bytes``), with ``pos``
clamped into it.
"""

from __future__ import annotations

import re as _re
from collections.abc import Callable, Iterator
from typing import Any

from . import ast as R
from .backtrack import Backtracker, fits
from .bitnfa import first_is_longest
from .dfa import LazyDFA
from .errors import TooLarge
from .fast import (
    Delegate,
    Jumper,
    SpanGroups,
    StartFinder,
    first_set,
    literal_of,
    plan,
    span_groups,
    start_finder,
)
from .loopgroups import LoopGroups
from .pike import context_fn, pike
from .prog import (
    EDGE,
    FINALNL,
    MAX_PROG,
    NL,
    WORD,
    Core,
    Resolved,
    compile_prog,
    min_max_len,
    prog_size,
    reverse,
)

Slots = list[int]
Lazy = Callable[[], Slots]

# Automata.first_lazy: a match at least this long has its groups found only
# when asked for (their pass costs far more per character than the DFA's)
_LAZY_SPAN = 4096

# GuardedReDelegate: sample size, and the literal density (one per this many
# characters) below which the prefiltered DFA beats a guarded re search
_SAMPLE = 1 << 16
_DENSITY = 400

# Automata.groups: from a span this long, LoopGroups (a constant cost) before
# SpanGroups (re.fullmatch over the span: faster on short spans only)
_LOOP_SPAN = 128
# Automata.groups: from a span this long, LoopGroups with groups in the head (a
# DFA pass, then a VM over a window of 64 characters or more) after SpanGroups
# (re, where proved fast) and before the full pass (shorter: the backtracker's cheaper)
_HEAD_SPAN = 512

# Automata.slots: after a match this long or shorter, the next anchored scan
# is expected short too (tokens) and runs LazyDFA.forward_short
_SHORT = 64


def _regs(rm: _re.Match[Any]) -> Slots:
    return [x for sp in rm.regs for x in sp]


class Strategy:
    """How one pattern is run.  Subclasses give :meth:`first` and :meth:`slots`.

    The many-match operations here are written once on top of :meth:`slots`
    (linear when it is: each is one pass over the successive matches);
    strategies that can hand a whole call to C override them.
    """

    name = "?"

    def __init__(self, ngroups: int) -> None:
        self.ngroups = ngroups

    def first(self, text: Any, pos: int, how: str, want_groups: bool) -> Slots | None:
        """Slots of the match ``how`` (``search``/``match``/``fullmatch``) asks for."""
        raise NotImplementedError

    def first_lazy(self, text: Any, pos: int, how: str) -> tuple[Slots, Lazy | None] | None:
        """:meth:`first` with groups, or its bounds and a function that finds the groups later."""
        got = self.first(text, pos, how, True)
        return None if got is None else (got, None)

    def slots(self, text: Any, pos: int, want_groups: bool) -> Iterator[Slots]:
        """Slots of each successive non-overlapping match from ``pos`` (as ``re.finditer``)."""
        raise NotImplementedError

    def end(self, text: Any, pos: int) -> int:
        """End of the leftmost match at or after ``pos``, or -1 (no groups needed)."""
        got = self.first(text, pos, "search", False)
        return -1 if got is None else got[1]

    def findall(self, string: Any, text: Any, pos: int, end: int) -> list[Any]:
        """``re.findall``: the matched strings, or the groups (a tuple if several)."""
        g = self.ngroups
        it = self.slots(text, pos, g > 0)
        if g == 0:
            return [string[sl[0] : sl[1]] for sl in it]
        empty = string[:0]
        if g == 1:
            return [string[sl[2] : sl[3]] if sl[2] >= 0 else empty for sl in it]
        # group k's text is string[sl[2k]:sl[2k+1]]; an unset group's (-1, -1)
        # slices to the empty string, as re reports it; slices made in C
        starts = slice(2, 2 * g + 2, 2)
        ends = slice(3, 2 * g + 2, 2)
        get = string.__getitem__
        return [tuple(map(get, map(slice, sl[starts], sl[ends]))) for sl in it]

    def split(self, string: Any, text: Any, maxsplit: int) -> list[Any]:
        """``re.split``: the pieces between matches, with the groups between them."""
        out: list[Any] = []
        last = 0
        g = self.ngroups
        for k, sl in enumerate(self.slots(text, 0, g > 0)):
            if maxsplit and k >= maxsplit:
                break
            out.append(string[last : sl[0]])
            out.extend(
                string[sl[j] : sl[j + 1]] if sl[j] >= 0 else None for j in range(2, 2 * g + 2, 2)
            )
            last = sl[1]
        out.append(string[last:])
        return out

    def subn(
        self,
        string: Any,
        text: Any,
        count: int,
        fn: Callable[[Slots], Any],
        template: Any = None,
    ) -> tuple[Any, int]:
        """``re.subn``; ``fn`` makes the replacement from a match's slots.

        ``template`` is the ``re`` template when ``repl`` was one (strategies
        running on ``re`` pass it through); ``fn`` always works.
        """
        parts: list[Any] = []
        last = 0
        k = 0
        for sl in self.slots(text, 0, True):
            if count and k >= count:
                break
            parts.append(string[last : sl[0]])
            parts.append(fn(sl))
            last = sl[1]
            k += 1
        parts.append(string[last:])
        return string[:0].join(parts), k


class LiteralSearch(Strategy):
    """A pattern that is one plain string: found with ``str.find``.

    Bound: ``str.find`` is linear in CPython (two-way for long needles; for
    short ones at most ``len(needle)`` comparisons per position, a constant
    of the pattern).  Successive searches start after the previous match,
    so a ``finditer`` scans each character a bounded number of times;
    ``findall`` is ``str.count`` copies of the literal (both take the
    non-overlapping occurrences from left to right).
    """

    name = "literal"

    def __init__(self, lit: Any) -> None:
        super().__init__(0)
        self.lit = lit
        self.k = len(lit)

    def first(self, text: Any, pos: int, how: str, want_groups: bool) -> Slots | None:
        lit, k = self.lit, self.k
        if how == "search":
            i = text.find(lit, pos)
            return None if i < 0 else [i, i + k]
        if how == "fullmatch" and len(text) - pos != k:
            return None
        return [pos, pos + k] if text.startswith(lit, pos) else None

    def slots(self, text: Any, pos: int, want_groups: bool) -> Iterator[Slots]:
        lit, k = self.lit, self.k
        find = text.find
        i = find(lit, pos)
        while i >= 0:
            yield [i, i + k]
            i = find(lit, i + k)

    def end(self, text: Any, pos: int) -> int:
        i = text.find(self.lit, pos)
        return -1 if i < 0 else i + self.k

    def findall(self, string: Any, text: Any, pos: int, end: int) -> list[Any]:
        lit = self.lit
        if type(string) is not type(lit):
            return super().findall(string, text, pos, end)
        return [lit] * string.count(lit, pos, end)


class ReDelegate(Strategy):
    """``re``'s C matcher on an exact translation, every operation included.

    Bound: :func:`re_engine.fast.safe_for_re` proves each match attempt costs
    ``O(m)`` steps (bounded patterns, a single class loop, or a bounded
    prefix then a final class loop), and a search or a ``finditer`` makes at
    most ``n + 1`` attempts: ``O(n * m)`` in all, as the DFA.
    """

    name = "re"

    def __init__(self, d: Delegate, ngroups: int) -> None:
        super().__init__(ngroups)
        self.rx = d.rx

    def first(self, text: Any, pos: int, how: str, want_groups: bool) -> Slots | None:
        rx = self.rx
        rm = (rx.search if how == "search" else rx.match if how == "match" else rx.fullmatch)(
            text, pos
        )
        return None if rm is None else _regs(rm)

    def slots(self, text: Any, pos: int, want_groups: bool) -> Iterator[Slots]:
        for rm in self.rx.finditer(text, pos):
            yield _regs(rm)

    def end(self, text: Any, pos: int) -> int:
        rm = self.rx.search(text, pos)
        return -1 if rm is None else rm.end()

    def findall(self, string: Any, text: Any, pos: int, end: int) -> list[Any]:
        return self.rx.findall(string, pos, end)

    def split(self, string: Any, text: Any, maxsplit: int) -> list[Any]:
        return self.rx.split(string, maxsplit)

    def subn(
        self,
        string: Any,
        text: Any,
        count: int,
        fn: Callable[[Slots], Any],
        template: Any = None,
    ) -> tuple[Any, int]:
        if template is None:
            return super().subn(string, text, count, fn)
        res: tuple[Any, int] = self.rx.subn(template, string, count)
        return res


class GuardedReDelegate(Strategy):
    """A leading class loop ``C{k,} T``: ``re`` with the guard of :class:`re_engine.fast.Delegate`.

    Bound: :func:`re_engine.fast.lead_loop` proves the guarded search
    ``(?<!C)C{k,} T`` linear and its results those of the plain pattern;
    ``match``/``fullmatch`` make one anchored attempt (``O(n * m)``).

    Many-match calls choose, per text, between the guarded ``re`` search and
    the :class:`Automata` with their literal prefilter: both are linear and
    give the same matches; the ``re`` search costs about the same per
    character whatever the text, the DFA skips between occurrences of the
    required literal at ``str.find`` speed but pays a few microseconds per
    occurrence, so the occurrences in a sample of the text (one C scan)
    decide.
    """

    name = "re-guarded"

    def __init__(self, d: Delegate, ngroups: int, automata: Callable[[], Automata]) -> None:
        super().__init__(ngroups)
        self.d = d
        self._make_automata = automata
        self._automata: Automata | None = None

    def automata(self) -> Automata:
        if self._automata is None:
            self._automata = self._make_automata()
        return self._automata

    def first(self, text: Any, pos: int, how: str, want_groups: bool) -> Slots | None:
        d = self.d
        if how == "search":
            rm = d.search(text, pos)
        else:
            rm = (d.rx.match if how == "match" else d.rx.fullmatch)(text, pos)
        return None if rm is None else _regs(rm)

    def _prefer_dfa(self, text: Any, pos: int) -> bool:
        jumper = self.automata().eng.jumper
        if jumper is None or jumper.lit is None:
            return False
        span = min(len(text) - pos, _SAMPLE)
        hits = text.count(jumper.lit, pos, pos + span)
        return bool(hits * _DENSITY < span)

    def slots(self, text: Any, pos: int, want_groups: bool) -> Iterator[Slots]:
        if self._prefer_dfa(text, pos):
            yield from self.automata().slots(text, pos, want_groups)
            return
        for rm in self.d.finditer(text, pos):
            yield _regs(rm)

    def end(self, text: Any, pos: int) -> int:
        rm = self.d.search(text, pos)
        return -1 if rm is None else rm.end()


class Engine:
    """The compiled automata for one variant of a pattern (search or fullmatch)."""

    def __init__(
        self, res: Resolved, core: Core, is_bytes: bool, is_word: Callable[[int], bool]
    ) -> None:
        self.core = core
        self.is_bytes = is_bytes
        self.is_word = is_word
        self.ngroups = res.ngroups
        # the programs are built on first use (a pattern that is only ever
        # searched never needs the capturing one, nor a one-pass pattern the
        # plain one); their size is known from the tree, so a program too
        # large fails here, at compile time, as if it had been built
        if (res.shape()[3] + 1 if core is res.core else prog_size(core)) > MAX_PROG:
            raise TooLarge(
                f"compiled program exceeds {MAX_PROG} instructions (reduce counted repetitions)"
            )
        self._plain: Any = None
        self._prog: Any = None
        self._rprog: Any = None
        self._backtracker: Backtracker | None = None
        self._fixed: int | None = None
        self._res = res
        self._dfas: dict[str, LazyDFA] = {}
        self.posix_cache: dict[Any, Any] = {}
        self._jumper: Jumper | None = None
        self._jumper_built = False
        self._fl: bool | None = None
        self._loop_groups: LoopGroups | None = None
        self._loop_groups_built = False

    @property
    def plain(self) -> Any:
        """The program without captures, for the DFAs (built on first use)."""
        if self._plain is None:
            self._plain = compile_prog(self.core, self.is_bytes, self.ngroups, captures=False)
        return self._plain

    @property
    def fixed(self) -> int:
        """The length of every match if they all have the same, else -1."""
        if self._fixed is None:
            lo, hi = (
                self._res.shape()[1:3] if self.core is self._res.core else min_max_len(self.core)
            )
            self._fixed = lo if lo == hi else -1
        return self._fixed

    @property
    def jumper(self) -> Jumper | None:
        """The prefilter of the unanchored DFA (built on first use, like the DFA itself)."""
        if not self._jumper_built:
            self._jumper_built = True
            fs = first_set(self.core)
            j = Jumper(self.core, self.is_bytes, fs) if fs is not None else None
            self._jumper = j if j is not None and j.useful else None
        return self._jumper

    @property
    def prog(self) -> Any:
        """The capturing program (built on first use: only group extraction needs it)."""
        if self._prog is None:
            self._prog = compile_prog(self.core, self.is_bytes, self.ngroups, captures=True)
        return self._prog

    @property
    def backtracker(self) -> Backtracker:
        if self._backtracker is None:
            self._backtracker = Backtracker(self.prog, self.is_word)
        return self._backtracker

    @property
    def first_is_longest(self) -> bool:
        """Is the first match from any start the longest (:func:`re_engine.bitnfa.first_is_longest`)?"""
        if self._fl is None:
            self._fl = first_is_longest(self.core)
        return self._fl

    @property
    def loop_groups(self) -> LoopGroups | None:
        """The :class:`re_engine.loopgroups.LoopGroups` of a ``first`` pattern, or None (built on first use)."""
        if not self._loop_groups_built:
            self._loop_groups_built = True
            res = self._res
            if res.sem == "first" and not res.has_inner_sem:
                self._loop_groups = LoopGroups.build(
                    self.core, self.is_bytes, self.ngroups, self.is_word
                )
        return self._loop_groups

    def dfa(self, which: str) -> LazyDFA:
        d = self._dfas.get(which)
        if d is None:
            if which == "unanch":
                d = LazyDFA(self.plain, "first", True, self.is_word)
                d.jumper = self.jumper
                # its end only serves to find the leftmost start, unless sem is "first"
                d.sets_exact = self._res.sem != "first" or self.first_is_longest
                d.max_len = (
                    self._res.shape()[2]
                    if self.core is self._res.core
                    else min_max_len(self.core)[1]
                )
            elif which == "anch":
                d = LazyDFA(self.plain, "first", False, self.is_word)
                # a fullmatch has one possible end: the first match's is the longest
                d.sets_exact = self.core is not self._res.core or self.first_is_longest
            elif which == "longest":
                d = LazyDFA(self.plain, "longest", False, self.is_word)
            else:
                if self._rprog is None:
                    self._rprog = compile_prog(reverse(self.core), self.is_bytes, 0, captures=False)
                d = LazyDFA(self._rprog, "longest", False, self.is_word)
            self._dfas[which] = d
        return d


class Automata(Strategy):
    """The lazy DFA for match bounds, then the cheapest proved pass for groups.

    Bounds: the unanchored forward DFA finds the end of the leftmost match
    (one pass, linear: at most one closure per character, the state cache
    bounded and flushed), a reverse DFA from there finds its start (a pass
    over the match only), unless every match has the same length.  Under
    ``longest`` or ``shortest`` semantics an anchored forward pass from the
    start then fixes the end.  Successive matches start where the previous
    one ended: the passes cover each character a bounded number of times.

    Where :class:`re_engine.fast.StartFinder` is proved cheap (a
    non-nullable leftmost-first pattern that ``re`` runs on a span within a
    constant of the Pike VM), the start comes instead from ``re.fullmatch``
    at a few candidate starts up to the end found, with the groups in the
    same call; past its budget the reverse DFA runs as above.

    When the DFA's cache thrashes, its scans give up to the bit-parallel
    NFA (:meth:`re_engine.dfa.LazyDFA._give_up`); the unanchored one then
    finds the start as well (:attr:`re_engine.dfa.LazyDFA.found`), and no
    reverse pass is needed.

    Groups, on the span ``[s, e)`` just found (spans of successive matches
    do not overlap, so the total stays linear; for ``search``, ``match``
    and ``fullmatch`` only when first asked for if the span is long,
    :meth:`first_lazy`):

    - POSIX (``longest``) patterns: :func:`re_engine.posix.submatches`;
    - for an ``F1 B{m,n} F2`` pattern, arithmetic on the span and capture
      passes over ``F1``, ``F2`` and the loop's last iteration alone,
      ``O(m)`` (:mod:`re_engine.loopgroups`, where exact; on spans shorter
      than :data:`_LOOP_SPAN` only after ``re``, cheaper there); a head
      ``X`` before a fixed-length tail with groups of its own from a DFA pass
      and a VM over a window at its end, after ``re`` and from
      :data:`_HEAD_SPAN` characters on;
    - ``re.fullmatch`` on the span while :class:`re_engine.fast.SpanGroups`
      proves the backtracker within a constant of the Pike VM;
    - else the bounded backtracker (:mod:`re_engine.backtrack`), ``O(m * w)``
      with a visited set, while ``m * (w + 1)`` fits its budget;
    - else the Pike VM, ``O(m * w)``.
    """

    name = "automata"

    def __init__(
        self,
        res: Resolved,
        is_bytes: bool,
        is_word: Callable[[int], bool],
        ascii: bool | None,
    ) -> None:
        """``ascii``: the ``re`` flag for :class:`SpanGroups` (``None``: never use ``re``)."""
        super().__init__(res.ngroups)
        self.res = res
        self.sem = res.sem
        self.is_bytes = is_bytes
        self.is_word = is_word
        self.eng = Engine(res, res.core, is_bytes, is_word)
        self._full_engine: Engine | None = None
        self._ascii = ascii
        self._span: SpanGroups | None = None
        self._span_decided = False
        self._finder: StartFinder | None = None
        self._finder_decided = False
        self._ctx: dict[Any, int] = {}

    def _full(self) -> Engine:
        if self._full_engine is None:
            core = R.Seq((self.res.core, R.Assert("eos")))
            self._full_engine = Engine(self.res, core, self.is_bytes, self.is_word)
        return self._full_engine

    def _bits(self, ch: Any) -> int:
        """Context bits (newline, word) of one character, memoised."""
        b = self._ctx.get(ch)
        if b is None:
            c = ord(ch) if isinstance(ch, str) else ch
            b = (NL if c == 10 else 0) | (WORD if self.is_word(c) else 0)
            if len(self._ctx) > 4096:
                self._ctx.clear()
            self._ctx[ch] = b
        return b

    def behind(self, text: Any, i: int) -> int:
        """Context bits left of position ``i``."""
        return EDGE if i <= 0 else self._bits(text[i - 1])

    def _right(self, text: Any, i: int) -> int:
        n = len(text)
        if i >= n:
            return EDGE
        ch = text[i]
        b = self._bits(ch)
        if b & NL and i == n - 1:
            b |= FINALNL
        return b

    def finder(self) -> StartFinder | None:
        """The :class:`re_engine.fast.StartFinder`, decided on first use (None: reverse DFA)."""
        if not self._finder_decided:
            self._finder_decided = True
            e = self.eng
            if self._ascii is not None and self.sem == "first" and e.fixed < 0:
                self._finder = start_finder(self.res, self.is_bytes, self._ascii, e.prog, e.is_word)
        return self._finder

    def locate(
        self, eng: Engine, text: Any, pos: int, anchored: bool, not_empty: bool
    ) -> Slots | None:
        """``[start, end]`` of the match per the pattern's semantics, or None.

        Where the :class:`re_engine.fast.StartFinder` found the start, the
        list holds every group's slots already (``len > 2``).
        """
        sem = self.sem
        if anchored:
            if sem == "longest":
                e0 = eng.dfa("longest").forward(
                    text, pos, self.behind(text, pos), skip_first=not_empty
                )
            else:
                e0 = eng.dfa("anch").forward(
                    text,
                    pos,
                    self.behind(text, pos),
                    skip_first=not_empty,
                    earliest=sem == "shortest",
                )
            return None if e0 < 0 else [pos, e0]
        d = eng.dfa("unanch")
        d.found = None
        e0 = d.forward(text, pos, self.behind(text, pos), skip_first=not_empty)
        if e0 < 0:
            return None
        if d.found is not None:
            # the DFA gave up to the bit-parallel scan, which found the
            # leftmost start and the longest end from it (LazyDFA._give_up)
            s0 = d.found[0]
            if sem != "shortest":
                return [s0, e0]
        elif eng.fixed >= 0:
            s0 = e0 - eng.fixed
        else:
            # the finder serves non-nullable patterns only: never not_empty
            finder = self.finder() if eng is self.eng else None
            if finder is not None:
                got = finder.find(text, pos, e0)
                if got is not None:
                    return got
            s0 = eng.dfa("rev").backward(text, e0, pos, self._right(text, e0))
            if s0 < 0:  # cannot happen: the forward scan saw a match
                raise AssertionError("reverse scan found no start")
        if sem == "longest":
            e0 = eng.dfa("longest").forward(
                text, s0, self.behind(text, s0), skip_first=not_empty and s0 == pos
            )
        elif sem == "shortest":
            e0 = eng.dfa("anch").forward(
                text, s0, self.behind(text, s0), skip_first=not_empty and s0 == pos, earliest=True
            )
        return [s0, e0]

    def span_groups(self) -> SpanGroups | None:
        """The :class:`re_engine.fast.SpanGroups`, decided on first use (None: not proved)."""
        if not self._span_decided:
            self._span_decided = True
            if self._ascii is not None:
                s = self.eng
                self._span = span_groups(self.res, self.is_bytes, self._ascii, s.prog, s.is_word)
        return self._span

    def groups(self, eng: Engine, text: Any, s0: int, e0: int, not_empty_at: int) -> Slots:
        """Capture slots of the match spanning ``[s0, e0)``."""
        if self.ngroups == 0:
            return [s0, e0]
        if self.sem == "longest":
            from .posix import submatches

            return submatches(eng.core, self.ngroups, text, s0, e0, self.is_word, eng.posix_cache)
        lg = eng.loop_groups
        got: Slots | None
        if lg is not None and lg.head is None and e0 - s0 >= _LOOP_SPAN:
            got = lg.slots(text, s0, e0)
            if got is not None:  # (always, without a head)
                return got
        sg = self.span_groups()
        if sg is not None:
            got = sg.slots(text, s0, e0)
            if got is not None:
                return got
        if lg is not None and (lg.head is None or e0 - s0 >= _HEAD_SPAN):
            got = lg.slots(text, s0, e0)
            if got is not None:
                return got
        caps: Any
        if self.sem == "first" and not self.res.has_inner_sem and fits(eng.prog, s0, e0):
            caps = eng.backtracker.slots(text, s0, e0)
        else:
            ctx = context_fn(text, self.is_word)
            caps = pike(
                eng.prog, text, s0, e0, len(text), ctx, anchored=True, not_empty_at=not_empty_at
            )
        if caps is None or caps[0] != s0 or caps[1] != e0:
            raise AssertionError(f"submatch pass disagrees with bounds {s0},{e0}: {caps}")
        return list(caps)

    def first(self, text: Any, pos: int, how: str, want_groups: bool) -> Slots | None:
        eng = self._full() if how == "fullmatch" else self.eng
        b = self.locate(eng, text, pos, how != "search", False)
        if b is None:
            return None
        if len(b) > 2:
            return b if want_groups else b[:2]
        return self.groups(eng, text, b[0], b[1], -1) if want_groups else b

    def first_lazy(self, text: Any, pos: int, how: str) -> tuple[Slots, Lazy | None] | None:
        """:meth:`first`; the groups of a match of :data:`_LAZY_SPAN` or more left for later.

        The bounds are found as by :meth:`first`; :meth:`groups` then runs on
        the same span if and when a group is asked for (the same answer:
        it depends only on the text and the span).
        """
        eng = self._full() if how == "fullmatch" else self.eng
        b = self.locate(eng, text, pos, how != "search", False)
        if b is None:
            return None
        if len(b) > 2 or self.ngroups == 0:
            return b, None
        s0, e0 = b
        if e0 - s0 < _LAZY_SPAN:
            return self.groups(eng, text, s0, e0, -1), None

        def more() -> Slots:
            return self.groups(eng, text, s0, e0, -1)

        return b, more

    def anchored_first(
        self, text: Any, pos: int, not_empty: bool, short: bool = False
    ) -> Slots | int | None:
        """The leftmost-first match if it starts at the first possible start ``c >= pos``.

        Returns ``[c, e]``; or ``-1`` when no match exists; or ``None`` (ask
        :meth:`locate`).  ``c`` is ``pos``, or the first candidate of the
        :class:`re_engine.fast.StartFinder` (no match starts before it).  If
        the anchored DFA finds a match from ``c``, that is the leftmost-first
        match (no start lies before ``c``; from ``c`` the anchored DFA's
        first-mode end is the match's), found without a reverse pass.

        Bound: the anchored scan from ``c`` keeps only threads that start at
        ``c``; the unanchored scan from ``pos`` keeps those too (they have
        the highest priority, none can be cut before them), so it runs at
        least as far: on a miss the total is at most twice that scan's.  A
        one-pass pattern runs ``re.match`` at ``c`` instead, within a
        constant of that same scan (:meth:`re_engine.fast.StartFinder.match`),
        which also gives the groups.
        """
        eng = self.eng
        c = pos
        finder = self.finder()
        if finder is not None:
            m = finder.cand.search(text, pos)
            if m is None:
                return -1  # not nullable: every match starts at a candidate
            c = m.start()
            if finder.sg.one_pass:  # re on the whole text: groups too, same bound
                return finder.match(text, c)
        d = eng.dfa("anch")
        if short and not (not_empty and c == pos):
            e = d.forward_short(text, c, self.behind(text, c))
        else:
            e = d.forward(text, c, self.behind(text, c), skip_first=not_empty and c == pos)
        return None if e < 0 else [c, e]

    def slots(self, text: Any, pos: int, want_groups: bool) -> Iterator[Slots]:
        eng = self.eng
        end = len(text)
        not_empty = False
        want = want_groups and self.ngroups > 0
        locate, groups = self.locate, self.groups
        # try the anchored scan first while it keeps finding the match (a run
        # of adjacent matches: tokens, lines, fields); after two misses in a
        # row only every eighth match
        misses = 0 if self.sem == "first" else -1
        k = 0
        short = True  # the last match was short: scan with the plain loop
        while pos <= end:
            b: Slots | int | None = None
            if misses >= 0 and (misses < 2 or k % 8 == 0):
                b = self.anchored_first(text, pos, not_empty, short)
                if b == -1:
                    return
                misses = 0 if b is not None else misses + 1
            k += 1
            if b is None:
                b = locate(eng, text, pos, False, not_empty)
            if not isinstance(b, list):
                return
            s0, e0 = b[0], b[1]
            if len(b) > 2:
                yield b if want else [s0, e0]
            else:
                yield groups(eng, text, s0, e0, pos if not_empty else -1) if want else b
            not_empty = s0 == e0
            short = e0 - s0 <= _SHORT
            pos = e0

    def findall(self, string: Any, text: Any, pos: int, end: int) -> list[Any]:
        """``re.findall``; a one-pass pattern takes its strings from ``re``'s matches.

        Same matches as :meth:`slots` (candidate start, ``re.match`` there,
        :meth:`locate` when the match does not start at the candidate), with
        the strings cut in C (``Match.groups``) instead of from slots.
        """
        finder = self.finder()
        if finder is None or not finder.sg.one_pass or text is not string:
            return self._findall_memo(string, text, pos, end)
        g = self.ngroups
        empty = string[:0]  # an unset group's text: b"" for bytes, as re gives
        out: list[Any] = []
        add = out.append
        search, match = finder.cand.search, finder.sg.rx.match
        eng = self.eng
        n = len(text)
        while pos <= n:
            m = search(text, pos)
            if m is None:
                break  # not nullable: every match starts at a candidate
            rm = match(text, m.start())
            if rm is not None:
                add(rm.groups(empty) if g > 1 else rm.groups(empty)[0] if g else rm.group())
                pos = rm.end()
                continue
            b = self.locate(eng, text, pos, False, False)
            if b is None:
                break
            sl = b if len(b) > 2 or not g else self.groups(eng, text, b[0], b[1], -1)
            got = [string[sl[j] : sl[j + 1]] for j in range(2 if g else 0, 2 * g + 2, 2)]
            add(tuple(got) if g > 1 else got[0])
            pos = sl[1]
        return out

    def _findall_memo(self, string: Any, text: Any, pos: int, end: int) -> list[Any]:
        """``re.findall`` with the groups' texts from the backtracker's memo (tokens repeat).

        The spans are :meth:`slots`'; the texts those :meth:`groups` would
        give (the backtracker is the pass it takes for these patterns), each
        distinct short token's tuple built once (:meth:`Backtracker.strings`).
        """
        g = self.ngroups
        eng = self.eng
        if (
            g == 0
            or text is not string
            or self.sem != "first"
            or self.res.has_inner_sem
            or self.span_groups() is not None
        ):
            return super().findall(string, text, pos, end)
        strings = eng.backtracker.strings
        out: list[Any] = []
        add = out.append
        prev_empty_at = -1
        for sl in self.slots(text, pos, False):
            s0, e0 = sl[0], sl[1]
            t = strings(text, s0, e0, g) if fits(eng.prog, s0, e0) else None
            if t is None:
                full = self.groups(eng, text, s0, e0, prev_empty_at if prev_empty_at == s0 else -1)
                t = tuple(string[full[j] : full[j + 1]] for j in range(2, 2 * g + 2, 2))
            add(t if g > 1 else t[0])
            prev_empty_at = e0 if s0 == e0 else -1
        return out

    def end(self, text: Any, pos: int) -> int:
        return self.eng.dfa("unanch").forward(text, pos, self.behind(text, pos))


def choose(
    res: Resolved, is_bytes: bool, ascii: bool, is_word: Callable[[int], bool], delegate: bool
) -> Strategy:
    """The strategy for a resolved pattern (``delegate=False``: never ``re``)."""
    if not delegate:
        return Automata(res, is_bytes, is_word, None)
    if res.sem == "first":
        lit = literal_of(res.core, is_bytes)
        if lit is not None:
            return LiteralSearch(lit)
    d = plan(res, is_bytes, ascii)
    if d is not None and d.guarded is None:
        return ReDelegate(d, res.ngroups)

    def automata() -> Automata:
        return Automata(res, is_bytes, is_word, ascii)

    if d is not None:
        return GuardedReDelegate(d, res.ngroups, automata)
    return automata()
