"""A bounded backtracker: submatches of a known span in O(len(program) * len(span)).

This is the technique of RE2's BitState and regex-automata's
``BoundedBacktracker``.  A backtracker explores the paths of the NFA in
priority order (a ``SPLIT`` tries ``x`` before ``y``), so the first path to
reach ``MATCH`` is the leftmost-first one, as in Perl and ``re``.  Left
alone it is exponential: ``(a|a)*b`` reaches the same ``(pc, position)`` by
2**n paths.  So every ``(pc, position, freshness)`` is visited at most once:

*Same answer.*  What a path can still do from ``(pc, position, freshness)``
does not depend on how it got there (captures are only recorded, never
consulted; freshness is the part of the past that matters, see
:class:`re_engine.prog.Prog`).  The first visit is made by the path of
highest priority; if no match was found from there, none will be from a
later visit either, and if one was, the search has stopped.  Skipping the
later visits thus changes nothing.

*Pruning.*  At a ``SPLIT``, a branch none of whose epsilon paths can
consume the next character (or reach ``MATCH``) is not tried
(:meth:`Backtracker._can`, an over-approximation): it could only fail.

*Bound.*  Each triple is visited once and each visit pushes at most two
entries (the ``y`` of a ``SPLIT``, or a capture to restore), so a run costs
``O(len(program) * (depth + 1) * (len(span) + 1))`` steps, with ``depth`` the
loop nesting bounding the freshness values (1 for the usual programs): linear
in the span for a given pattern, like the Pike VM, but with far less work per
step (no thread lists, no copied capture tuples).

The span ``[s, e)`` is the one the DFA found for the whole match; only paths
that reach ``MATCH`` exactly at ``e`` count.  The first such path in
priority order is the leftmost-first match's (it ends at ``e``, and every path
of higher priority failed or ended elsewhere, so it did not win).  Assertions
see the real text on both sides of the span.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .charset import CharSet
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
    enter_loop,
)

VISIT_BUDGET = 1 << 24
"""Largest ``len(program) * (len(span) + 1)`` the visited set may cover (16 MiB, one byte each)."""


MEMO_SPAN = 32
"""Spans up to this long have their answers memoised (see :meth:`Backtracker.slots`)."""
MEMO_SIZE = 4096


def fits(prog: Prog, s: int, e: int) -> bool:
    """Is the span short enough for the backtracker's visited set?"""
    return len(prog.op) * (e - s + 1) <= VISIT_BUDGET


class Backtracker:
    """The bounded backtracker for one capturing program (see the module docstring)."""

    def __init__(self, prog: Prog, is_word: Callable[[int], bool]) -> None:
        self.prog = prog
        self.is_word = is_word
        # per set index, the characters known to be in or out of it
        self._member: list[dict[object, bool]] = [{} for _ in prog.sets]
        # per pc: what it can consume next, and can it reach MATCH without consuming
        self._first: dict[int, tuple[CharSet, bool]] = {}
        self._viable: dict[tuple[int, object], bool] = {}
        self._memo: dict[tuple[object, int, int, bool], list[int]] = {}
        self._strs: dict[tuple[object, int, int, bool], tuple[Any, ...]] = {}
        self._ctx: dict[object, int] = {}

    def _first_of(self, pc0: int) -> tuple[CharSet, bool]:
        """Characters some epsilon path from ``pc0`` consumes next, and does one reach MATCH.

        Assertions and loop checks are taken as passable both ways: an
        over-approximation, so a branch refused by :meth:`_can` cannot match.
        """
        got = self._first.get(pc0)
        if got is not None:
            return got
        prog = self.prog
        op, arg, xs, ys, sets = prog.op, prog.arg, prog.x, prog.y, prog.sets
        seen: set[int] = set()
        stack = [pc0]
        out = CharSet()
        nullable = False
        while stack:
            pc = stack.pop()
            if pc in seen:
                continue
            seen.add(pc)
            o = op[pc]
            if o == CHAR:
                out = out.union(sets[arg[pc]])
            elif o == MATCH:
                nullable = True
            elif o in (SPLIT, CHECK):
                stack.append(xs[pc])
                stack.append(ys[pc])
            else:  # JMP, SAVE, ASSERT, ENTER
                stack.append(xs[pc])
        got = self._first[pc0] = (out, nullable)
        return got

    def _can(self, pc: int, ch: object) -> bool:
        """Can a path from ``pc`` consume ``ch`` next (``None``: the span's end) or match?"""
        first, nullable = self._first_of(pc)
        ok = nullable or (ch is not None and ch in first)
        if len(self._viable) > 1 << 16:
            self._viable.clear()
        self._viable[pc, ch] = ok
        return ok

    def _bits(self, text: str | bytes, i: int, n: int, ahead: bool) -> int:
        """Context bits of ``text[i]`` (``EDGE`` outside the text), memoised per character."""
        if i < 0 or i >= n:
            return EDGE
        ch = text[i]
        b = self._ctx.get(ch)
        if b is None:
            c = ord(ch) if isinstance(ch, str) else ch
            b = (NL if c == 10 else 0) | (WORD if self.is_word(c) else 0)
            if len(self._ctx) > 4096:
                self._ctx.clear()
            self._ctx[ch] = b
        if ahead and b & NL and i == n - 1:
            b |= FINALNL
        return b

    def slots(self, text: str | bytes, s: int, e: int) -> list[int] | None:
        """Capture slots of the leftmost-first match spanning exactly ``[s, e)``.

        The answer depends only on the span's characters and the context at
        its two ends (the characters either side, and whether it ends the
        text); for short spans it is memoised on those, relative to ``s``
        (tokens and fields repeat).
        """
        if e - s > MEMO_SPAN:
            return self._run(text, s, e)
        n = len(text)
        key = (text[s:e], self._bits(text, s - 1, n, False), self._bits(text, e, n, True), e == n)
        rel = self._memo.get(key)
        if rel is None:
            caps = self._run(text, s, e)
            if caps is None:
                return None
            if len(self._memo) >= MEMO_SIZE:
                self._memo.clear()
            self._memo[key] = [x - s if x >= 0 else -1 for x in caps]
            return caps
        return [x + s if x >= 0 else -1 for x in rel]

    def strings(self, text: Any, s: int, e: int, ngroups: int) -> tuple[Any, ...] | None:
        """The groups' texts (``re.findall``'s tuple, unset groups empty) of the match ``[s, e)``.

        Memoised as :meth:`slots` is, on the span's characters and context,
        so a repeated token costs one dictionary lookup; ``None`` for spans
        longer than ``MEMO_SPAN`` (the caller cuts them from :meth:`slots`).
        """
        if e - s > MEMO_SPAN:
            return None
        n = len(text)
        key = (text[s:e], self._bits(text, s - 1, n, False), self._bits(text, e, n, True), e == n)
        got = self._strs.get(key)
        if got is None:
            sl = self.slots(text, s, e)
            if sl is None or sl[0] != s or sl[1] != e:
                raise AssertionError(f"submatch pass disagrees with bounds {s},{e}: {sl}")
            got = tuple(text[sl[j] : sl[j + 1]] for j in range(2, 2 * ngroups + 2, 2))
            if len(self._strs) >= MEMO_SIZE:
                self._strs.clear()
            self._strs[key] = got
        return got

    def first_end(self, text: str | bytes, s: int, e: int) -> int:
        """End of the leftmost-first match starting at ``s``, given that none ends after ``e``.

        The same search as :meth:`slots`, but the first path to reach
        ``MATCH`` at any position up to ``e`` wins: the highest-priority
        match from ``s`` (no path may consume past ``e``, where no match
        ends anyway).  Same visited set, same bound.  -1: no match.
        """
        caps = self._run(text, s, e, exact=False)
        return -1 if caps is None else caps[1]

    def _run(self, text: str | bytes, s: int, e: int, exact: bool = True) -> list[int] | None:
        prog = self.prog
        op, arg, xs, ys, sets = prog.op, prog.arg, prog.x, prog.y, prog.sets
        member = self._member
        npc = len(op)
        n = len(text)
        visited = bytearray(npc * (e - s + 1))
        fresh_seen: set[tuple[int, int, int]] = set()
        caps = [-1] * prog.nslots
        # entries: (pc, pos, fresh), or (-1 - slot, old value, 0) to restore a capture
        stack: list[tuple[int, int, int]] = [(prog.start, s, NOT_FRESH)]
        pop = stack.pop
        push = stack.append
        can = self._can
        viable = self._viable
        while stack:
            pc, pos, fresh = pop()
            if pc < 0:
                caps[-1 - pc] = pos
                continue
            while True:
                o = op[pc]
                if fresh == NOT_FRESH or o == CHAR:
                    k = (pos - s) * npc + pc
                    if visited[k]:
                        break
                    visited[k] = 1
                else:
                    key = (pc, pos, fresh)
                    if key in fresh_seen:
                        break
                    fresh_seen.add(key)
                if o == CHAR:
                    if pos >= e:
                        break
                    ch = text[pos]
                    table = member[arg[pc]]
                    ok = table.get(ch)
                    if ok is None:
                        ok = table[ch] = ch in sets[arg[pc]]
                        if len(table) > 4096:
                            table.clear()
                    if not ok:
                        break
                    pos += 1
                    pc = xs[pc]
                    fresh = NOT_FRESH
                elif o == SPLIT:
                    # branches that cannot go on with the next character are not tried
                    nc = text[pos] if pos < e else None
                    y = ys[pc]
                    ok = viable.get((y, nc))
                    if ok is None:
                        ok = can(y, nc)
                    if ok:
                        push((y, pos, fresh))
                    pc = xs[pc]
                    ok = viable.get((pc, nc))
                    if ok is None:
                        ok = can(pc, nc)
                    if not ok:
                        break
                elif o == SAVE:
                    slot = arg[pc]
                    push((-1 - slot, caps[slot], 0))
                    caps[slot] = pos
                    pc = xs[pc]
                elif o == JMP:
                    pc = xs[pc]
                elif o == ASSERT:
                    behind = self._bits(text, pos - 1, n, False)
                    ahead = self._bits(text, pos, n, True)
                    if not check_assert(arg[pc], behind, ahead):
                        break
                    pc = xs[pc]
                elif o == ENTER:
                    fresh = enter_loop(fresh, arg[pc])
                    pc = xs[pc]
                elif o == CHECK:
                    empty, fresh = check_loop(fresh, arg[pc])
                    pc = ys[pc] if empty else xs[pc]
                else:
                    assert o == MATCH
                    if not exact:  # any end (a program without SAVE records none)
                        caps[0], caps[1] = s, pos
                        return caps
                    if pos == e:
                        return caps
                    break
        return None
