"""Alternations of literals as tries: prefixes shared, priorities kept.

A dictionary of thousands of words written ``w1|w2|...|wn`` is a flat
alternation of ``n`` branches; compiled as is it makes an NFA with one
branch per word, and every step of a search fans out over all of them.
Sharing common prefixes makes a trie: the NFA has one state per distinct
prefix and a search follows one path of it per start position.

Factoring must not change which match leftmost-first (Perl) semantics
picks, so it follows two rules, both about the order in which a
backtracker would try the branches:

- ``x A | x B`` is ``x (A | B)``: the branches keep their order.
- Two adjacent branches that cannot match at the same position (they begin
  with disjoint characters, and neither matches the empty string) may be
  swapped: at most one of them matches there, whatever follows.  So within
  a run of branches that all begin with a character, a branch may join an
  earlier branch with the same first character when it is disjoint from all
  the branches in between.  A branch that can match the empty string (a word
  that ends here, or any other expression) is a barrier nothing crosses.

For sorted word lists every group is one run, and the result is the full
trie.  The number of character nodes is counted as the trie is built, so an
alternation too large to compile fails with :class:`TooLarge` as soon as it
passes the limit, not after building the whole of it.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import TypeVar

from . import ast as R
from .errors import TooLarge

K = TypeVar("K", bound=Hashable)

MAX_DEPTH = 400
"""Past this depth of shared prefix, branches stay unfactored (the tree stays shallow)."""


class _Budget:
    __slots__ = ("left", "what")

    def __init__(self, limit: int, what: str) -> None:
        self.left = limit
        self.what = what

    def spend(self, k: int) -> None:
        self.left -= k
        if self.left < 0:
            raise TooLarge(f"{self.what} (reduce the number of alternatives)")


def factor(
    branches: Sequence[tuple[Sequence[K], R.Node | None]],
    node_of: Callable[[K], R.Node],
    overlap: Callable[[K, K], bool] | None = None,
    limit: int | None = None,
    what: str = "alternation too large",
) -> R.Node:
    """The alternation of ``branches`` with common prefixes shared.

    Each branch is ``(symbols, rest)``: a sequence of one-character symbols
    (the keys: equal keys are the same character set) followed by ``rest``
    (``None``: nothing).  ``node_of`` makes a symbol's node; ``overlap(a, b)``
    says whether two different keys share a character (``None``: never, as
    for plain characters).  ``limit`` bounds the number of character nodes
    made (:class:`TooLarge` past it).
    """
    budget = _Budget(limit if limit is not None else 1 << 62, what)
    nodes: dict[K, R.Node] = {}

    def node(key: K) -> R.Node:  # one node per symbol, shared (nodes are immutable)
        got = nodes.get(key)
        if got is None:
            got = nodes[key] = node_of(key)
        return got

    seen: set[K] = set()
    for syms, rest in branches:
        if not syms:
            if rest is None:
                break  # an empty word: a barrier, and a second one is dropped
            continue
        if syms[0] in seen:
            break
        seen.add(syms[0])
    else:
        # no two branches begin with the same symbol: nothing to share, and
        # the alternation is the branches as they are, in their order
        out = []
        for syms, rest in branches:
            budget.spend(len(syms))
            out.append(_tail(syms, 0, rest, node))
        return R.alt(*out)
    return _build(list(branches), 0, node, overlap, budget)


def _tail(
    symbols: Sequence[K], d: int, rest: R.Node | None, node_of: Callable[[K], R.Node]
) -> R.Node:
    items = [node_of(s) for s in symbols[d:]]
    if rest is not None:
        items.append(rest)
    return R.seq(*items) if items else R.epsilon


def _build(
    branches: list[tuple[Sequence[K], R.Node | None]],
    d: int,
    node_of: Callable[[K], R.Node],
    overlap: Callable[[K, K], bool] | None,
    budget: _Budget,
) -> R.Node:
    """The alternation of the branches' tails past their first ``d`` symbols."""
    if len(branches) == 1 or d >= MAX_DEPTH:
        out = []
        for syms, rest in branches:
            budget.spend(len(syms) - d)
            out.append(_tail(syms, d, rest, node_of))
        return R.alt(*out)
    items: list[R.Node] = []
    # the current run: groups in order, each (key, branches); index of each key's last group
    groups: list[tuple[K, list[tuple[Sequence[K], R.Node | None]]]] = []
    where: dict[K, int] = {}
    seen_empty = False

    def flush() -> None:
        for key, members in groups:
            budget.spend(1)
            items.append(R.seq(node_of(key), _build(members, d + 1, node_of, overlap, budget)))
        groups.clear()
        where.clear()

    for br in branches:
        syms, rest = br
        if len(syms) <= d:  # a barrier: the word ends here, or the rest is any expression
            flush()
            if rest is None:
                if seen_empty:  # a second empty branch is never the one chosen
                    continue
                seen_empty = True
                items.append(R.epsilon)
            else:
                items.append(rest)
            continue
        key = syms[d]
        gi = where.get(key)
        # joining group gi moves this branch before the groups after it
        if (
            gi is not None
            and overlap is not None
            and any(overlap(key, groups[j][0]) for j in range(gi + 1, len(groups)))
        ):
            gi = None
        if gi is None:
            where[key] = len(groups)
            groups.append((key, [br]))
        else:
            groups[gi][1].append(br)
    flush()
    return R.alt(*items)
