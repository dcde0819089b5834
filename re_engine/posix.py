"""POSIX submatch rules for leftmost-longest matches.

Given the overall span ``[s0, e0)`` (found by the DFA), the tree is walked
top-down: in a concatenation each element, from left to right, takes the
longest piece that still lets the rest match; an iteration takes the longest
non-empty piece that lets the remaining iterations match; an alternation takes
the first alternative that matches its piece.  This is the rule of POSIX
("each subpattern, from left to right, shall match the longest possible
string"), the one Fowler's testregex and Kuklewicz's tests check; for
``(a|ab)(c|bcd)(d*)`` on ``abcd`` it gives ``ab``, ``c``, ``d`` (glibc and
Perl answer ``a``, ``bcd``, ``""``).

Each decision is made with lazy DFAs over the piece (forward for "where can
this element end", backward for "where can the rest start"), so every level of
the tree costs time linear in the span.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import ast as R
from .dfa import LazyDFA
from .prog import EDGE, FINALNL, NL, WORD, Cap, Core, compile_prog, nullable, reverse


def _caps_in(c: Core) -> list[int]:
    """Indices of the capturing groups inside ``c``."""
    return [x.index for x in R.walk(c) if isinstance(x, Cap)]


def _has_cap(c: Core) -> bool:
    if isinstance(c, Cap):
        return True
    if isinstance(c, (R.Seq, R.Alt)):
        return any(_has_cap(x) for x in c.items)
    if isinstance(c, R.Repeat):
        return _has_cap(c.node)
    return False


class _Walker:
    def __init__(self, text: Any, is_word: Callable[[int], bool], cache: dict[Any, Any]) -> None:
        self.text = text
        self.is_word = is_word
        self.is_bytes = not isinstance(text, str)
        self.cache = cache
        self.n = len(text)

    def code(self, i: int) -> int:
        c = self.text[i]
        return ord(c) if isinstance(c, str) else int(c)

    def behind(self, i: int) -> int:
        if i <= 0:
            return EDGE
        c = self.code(i - 1)
        return (NL if c == 10 else 0) | (WORD if self.is_word(c) else 0)

    def ahead(self, i: int) -> int:
        if i >= self.n:
            return EDGE
        c = self.code(i)
        b = (NL if c == 10 else 0) | (WORD if self.is_word(c) else 0)
        if c == 10 and i == self.n - 1:
            b |= FINALNL
        return b

    def dfas(self, key: Any, node: Core) -> tuple[LazyDFA, LazyDFA]:
        got: tuple[LazyDFA, LazyDFA] | None = self.cache.get(key)
        if got is None:
            fwd = LazyDFA(
                compile_prog(node, self.is_bytes, 0, captures=False),
                "longest",
                False,
                self.is_word,
                max_states=500,
            )
            rev = LazyDFA(
                compile_prog(reverse(node), self.is_bytes, 0, captures=False),
                "longest",
                False,
                self.is_word,
                max_states=500,
            )
            got = (fwd, rev)
            self.cache[key] = got
        return got

    def ends(self, key: Any, node: Core, p: int, q: int) -> list[int]:
        """All x in [p, q] such that ``node`` matches text[p:x]."""
        d = self.dfas(key, node)[0]
        s = d.start(self.behind(p))
        out: list[int] = []
        text = self.text
        for i in range(p, q):
            ch = text[i]
            c = ord(ch) if isinstance(ch, str) else ch
            s = d.step_class(s, d.class_of(c, c == 10 and i == self.n - 1))
            if s.m:
                out.append(i)
            if s.dead:
                return out
        if d.final(s, self.ahead(q)):
            out.append(q)
        return out

    def starts(self, key: Any, node: Core, p: int, q: int) -> set[int]:
        """All x in [p, q] such that ``node`` matches text[x:q]."""
        d = self.dfas(key, node)[1]
        s = d.start(self.ahead(q))
        out: set[int] = set()
        text = self.text
        for i in range(q - 1, p - 1, -1):
            ch = text[i]
            c = ord(ch) if isinstance(ch, str) else ch
            s = d.step_class(s, d.class_of(c, c == 10 and i == self.n - 1))
            if s.m:
                out.add(i + 1)
            if s.dead:
                return out
        if d.final(s, self.behind(p)):
            out.add(p)
        return out

    def walk(self, c: Core, p: int, q: int, slots: list[int]) -> None:
        if isinstance(c, Cap):
            slots[2 * c.index] = p
            slots[2 * c.index + 1] = q
            self.walk(c.node, p, q, slots)
            return
        if not _has_cap(c):
            return
        if isinstance(c, R.Seq):
            items = c.items
            for i, it in enumerate(items[:-1]):
                rest = R.Seq(items[i + 1 :])
                ok = self.starts((id(c), i, "rest"), rest, p, q)
                x = max(x for x in self.ends((id(c), i), it, p, q) if x in ok)
                self.walk(it, p, x, slots)
                p = x
            if items:
                self.walk(items[-1], p, q, slots)
            return
        if isinstance(c, R.Alt):
            for i, it in enumerate(c.items):
                if q in self.ends((id(c), i), it, p, q):
                    self.walk(it, p, q, slots)
                    return
            raise AssertionError("no alternative matches the span")
        if isinstance(c, R.Repeat):
            body = c.node
            k = 0
            while True:
                if p == q:
                    if k < c.min or (k == 0 and nullable(body)):
                        self.iteration(c, p, p, slots)
                    return
                lo = max(c.min - k - 1, 0)
                hi = None if c.max is None else c.max - k - 1
                rrest = R.Repeat(body, lo, hi, True)
                ok = self.starts((id(c), "rest", lo, hi), rrest, p, q)
                cands = [x for x in self.ends((id(c), "body"), body, p, q) if x > p and x in ok]
                if not cands:
                    # only empty iterations remain possible
                    self.iteration(c, p, p, slots)
                    return
                x = max(cands)
                self.iteration(c, p, x, slots)
                p = x
                k += 1

    def iteration(self, c: R.Repeat, p: int, q: int, slots: list[int]) -> None:
        """Walk one iteration of ``c`` over ``[p, q)``.

        The groups inside a repeated subexpression report its last iteration
        only (XBD 9.3.6: a subexpression that did not take part in that
        iteration is unset, whatever earlier iterations matched).
        """
        for g in _caps_in(c.node):
            slots[2 * g] = slots[2 * g + 1] = -1
        self.walk(c.node, p, q, slots)


def submatches(
    core: Core,
    ngroups: int,
    text: Any,
    s0: int,
    e0: int,
    is_word: Callable[[int], bool],
    cache: dict[Any, Any] | None = None,
) -> list[int]:
    """Capture slots for the POSIX parse of ``text[s0:e0]`` by ``core``."""
    slots = [-1] * (2 * (ngroups + 1))
    slots[0], slots[1] = s0, e0
    _Walker(text, is_word, {} if cache is None else cache).walk(core, s0, e0, slots)
    return slots
