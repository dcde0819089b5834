"""Doing the scanning in C without giving up the linear-time guarantee.

General mechanisms, none of which looks at what a pattern "is":

1. **Verified-safe delegation to** :mod:`re`.  A leftmost-first pattern is
   translated to an exactly equivalent ``re`` pattern (character classes
   written with ``re``'s own ``\\w``/``\\d``/``\\s`` wherever the sets are
   provably equal, no flags that change meaning) and handed to ``re``'s C
   matcher only when a static bound proves the backtracker linear:

   - *bounded patterns*: every match is at most ``L`` characters long and the
     number of distinct paths through the pattern is at most ``P``; one match
     attempt then costs at most ``P * (L + 1)`` steps, and a search or a
     ``finditer`` makes at most ``n + 1`` attempts, so the total is
     ``O(n * P * (L + 1))``.  We require ``P * (L + 1) <= max(256, 16 * m)``
     (``m`` the pattern size), i.e. the same ``O(n * m)`` as the DFA.
   - *a single repeated class* ``C{k,}`` (possibly lazy, possibly in a
     group): an attempt either fails within ``k`` characters or consumes a
     run that the next attempt does not revisit, so the total is ``O(n * k)``.
   - *a bounded prefix then a final class loop* ``B C{k,}``: the same
     argument, each completed path of ``B`` running the loop once (see
     :func:`safe_for_re`).
   - *a leading class loop then a bounded rest* ``C{k,} T``: quadratic in a
     plain search (every start inside a long run of ``C`` rescans it), so it
     is searched as ``(?<!C)C{k,} T`` plus an anchored try where the search
     starts; :func:`lead_loop` proves the results equal and the cost linear.

   An optional iteration that matches nothing ends its loop in ``re`` as in
   our engines (see :class:`re_engine.prog.Prog`), so nullable loop bodies
   translate as they are.  Tests check delegated and DFA answers agree.

2. **Prefilter jumps for the DFA** (:class:`Jumper`): a literal (or class)
   that every match contains is found with ``str.find`` (or one ``re``
   scan), and the DFA, whenever it holds no thread, restarts at the run of
   pattern characters around it; the set of characters that can begin a
   match is skipped to in the same way.  Linear: the scans cover disjoint
   stretches of the text.

3. **Submatches by** ``re`` **on a known span** (:class:`SpanGroups`): once
   the DFA has the bounds of a leftmost-first match, ``re.fullmatch`` on
   exactly that span gives the same groups as the Pike VM, used while the
   span is short enough that the backtracker's path count is provably
   within a constant factor of the Pike VM's work.
"""

from __future__ import annotations

import re as _re
from collections.abc import Callable, Iterator
from functools import cache, lru_cache
from typing import Any

from . import ast as R
from .charset import MAX_CODE, CharSet, digit, space, word
from .prog import (
    CHAR,
    CHECK,
    ENTER,
    MATCH,
    SPLIT,
    Cap,
    Core,
    Prog,
    Resolved,
    Shape,
    measure,
    min_max_len,
    nullable,
)

_LIMIT_FLOOR = 256


@cache
def _builtin_classes(is_bytes: bool, ascii: bool) -> tuple[tuple[str, CharSet], ...]:
    """``re``'s class escapes and the exact sets they stand for under these flags.

    ``\\w``, ``\\d`` and ``\\s`` are built from what ``re`` itself puts in
    them (:mod:`re_engine.charset`), so equality with a pattern's set is exact.
    Largest first (the order :func:`_cls_parts` tries them in); constant per
    flags, so built once.
    """
    uni = not (is_bytes or ascii)
    w, d, s = word(uni), digit(uni), space(uni)
    if not uni:
        w = w.clip(0x7F)
    top = 0xFF if is_bytes else MAX_CODE
    out = [("\\w", w), ("\\d", d), ("\\s", s)]
    out += [(e.upper(), c.complement(top)) for e, c in out]
    return tuple(sorted(out, key=lambda t: -t[1].size()))


@cache
def _builtin_exact(is_bytes: bool, ascii: bool) -> dict[CharSet, str]:
    """The builtin escapes by the set each stands for exactly (a class that is one)."""
    return {cs: esc for esc, cs in _builtin_classes(is_bytes, ascii)}


def _cls_parts(cs: CharSet, builtins: tuple[tuple[str, CharSet], ...]) -> tuple[list[str], CharSet]:
    """Escapes whose sets lie inside ``cs`` (largest first, none redundant), and the rest."""
    chosen: list[str] = []
    covered = CharSet()
    size = cs.size()
    for esc, bset in builtins:
        if bset.size() > size:
            continue  # too big to be inside
        if bset.ranges and bset.issubset(cs) and not bset.issubset(covered):
            chosen.append(esc)
            covered = covered.union(bset)
    return chosen, cs.diff(covered)


# printable ASCII characters that stand for themselves outside a class in
# ``re`` (its metacharacters and ``#``, special under re.VERBOSE, left out)
_PLAIN = frozenset(map(chr, range(0x20, 0x7F))) - frozenset("\\.^$*+?{}[]|()#")
# each code point below 256 as written in a class (ASCII letters, digits and
# ``_`` as themselves, the rest as ``\xHH``), and as written alone
_ESC_BYTES = tuple(f"\\x{c:02x}" for c in range(256))
_ESC_LATIN1 = tuple(
    chr(c) if c < 0x80 and (chr(c).isalnum() or c == 0x5F) else f"\\x{c:02x}" for c in range(256)
)
_LIT = tuple(chr(c) if chr(c) in _PLAIN else _ESC_LATIN1[c] for c in range(256))
_LIT_BYTES = tuple(chr(c) if chr(c) in _PLAIN else _ESC_BYTES[c] for c in range(256))


def _cls(cs: CharSet, is_bytes: bool, ascii: bool = False) -> str:
    """A compact ``re`` class for exactly ``cs``.

    Large Unicode sets (``\\w`` has hundreds of ranges) are written with
    ``re``'s own escapes wherever the sets are provably equal, so ``re`` runs
    its category opcodes instead of a long range list; a set may also be
    written as the negation of its complement, whichever is shorter.
    ``ascii`` must match the ``re.ASCII`` flag the result is compiled with.
    """
    top = 0xFF if is_bytes else MAX_CODE
    if not cs.ranges:
        return "[^\\x00-\\xff]" if is_bytes else "[^\\x00-\\U0010ffff]"

    def esc(c: int) -> str:
        if c < 0x100:
            return _ESC_BYTES[c] if is_bytes else _ESC_LATIN1[c]
        return f"\\u{c:04x}" if c < 0x10000 else f"\\U{c:08x}"

    single = cs.single()
    if single is not None:
        return _LIT_BYTES[single] if is_bytes else _LIT[single] if single < 0x100 else esc(single)

    def body(parts: list[str], rest: CharSet) -> str:
        out = list(parts)
        for lo, hi in rest.ranges:
            out.append(esc(lo) if lo == hi else f"{esc(lo)}-{esc(hi)}")
        return "".join(out)

    # Unicode escapes cannot shorten a class of a few ASCII ranges: each of
    # \w \d \s holds non-ASCII characters, so none lies inside it; for its
    # complement, whatever escapes are taken, the non-ASCII characters left
    # over (at least the non-ASCII spaces, or digits, or letters) need nine
    # ranges or more, never fewer than the class itself.  Nor a class of a few
    # characters (a case-folded letter: k K and the Kelvin sign): no escape
    # fits inside it, and outside it any escapes leave most letters, or most
    # other characters, to list
    unicode = not (is_bytes or ascii)
    few_ascii = len(cs.ranges) <= 8 and cs.ranges[-1][1] < 0x80 and unicode
    few = unicode and cs.size() <= 16
    builtins = (
        _builtin_classes(is_bytes, ascii) if len(cs.ranges) > 2 and not (few_ascii or few) else ()
    )
    if builtins:
        exact = _builtin_exact(is_bytes, ascii).get(cs)
        if exact is not None:
            return exact
    # (cost, negated, escapes, rest): rendered once the cheapest is known
    best: tuple[int, bool, list[str], CharSet] = (len(cs.ranges), False, [], cs)
    if builtins:
        parts, rest = _cls_parts(cs, builtins)
        cost = len(parts) + len(rest.ranges)
        if parts and cost < best[0]:
            best = (cost, False, parts, rest)
        comp = cs.complement(top)
        if comp.ranges:
            parts, rest = _cls_parts(comp, builtins)
            cost = len(parts) + len(rest.ranges) + 1
            if cost < best[0]:
                best = (cost, True, parts, rest)
    _cost, negated, parts, rest = best
    if not negated and len(parts) == 1 and not rest.ranges:
        return parts[0]
    return ("[^" if negated else "[") + body(parts, rest) + "]"


_ASSERT_RE = {
    "bol": "(?m:^)",
    "eol": "(?m:$)",
    "bos": "\\A",
    "eos": "\\Z",
    "leol": "(?-m:$)",
    "wordb": "\\b",
    "bow": "\\b(?=\\w)",
    "eow": "\\b(?<=\\w)",
}


class _Untranslatable(Exception):
    pass


def translate(c: Any, is_bytes: bool, ascii: bool = False) -> str:
    """An ``re`` pattern equivalent to ``c`` (leftmost-first), or raise."""
    t = type(c)
    if t is R.Set:
        return _cls(c.cs, is_bytes, ascii)
    if t is R.Seq:
        return "".join([_atom(x, is_bytes, ascii, True) for x in c.items])
    if t is Cap:
        return "(" + translate(c.node, is_bytes, ascii) + ")"
    if t is R.Repeat:
        body = _atom(c.node, is_bytes, ascii, False)
        if c.max is None:
            q = "*" if c.min == 0 else "+" if c.min == 1 else f"{{{c.min},}}"
        elif c.min == c.max:
            q = f"{{{c.min}}}"
        else:
            q = "?" if (c.min, c.max) == (0, 1) else f"{{{c.min},{c.max}}}"
        return body + q + ("" if c.greedy is not False else "?")
    if t is R.Alt:
        if not c.items:
            return _cls(CharSet(), is_bytes)
        return "|".join([translate(x, is_bytes, ascii) for x in c.items])
    if t is R.Assert:
        r = _ASSERT_RE.get(c.kind)
        if r is None:
            raise _Untranslatable(c.kind)
        return r
    raise _Untranslatable(t.__name__)


def _atom(c: Core, is_bytes: bool, ascii: bool, in_seq: bool) -> str:
    """``c`` translated as an item of a sequence (``in_seq``) or as a quantified atom.

    Only an alternation needs a group in a sequence: a quantified atom needs
    none there, since no item's translation begins with a quantifier
    character (those are escaped).  A quantifier applies as is to a class or
    a group only.
    """
    s = translate(c, is_bytes, ascii)
    t = type(c)
    if t is R.Set or t is Cap or (in_seq and t is not R.Alt):
        return s
    return "(?:" + s + ")"


def _paths(c: Core, cap: int) -> int:
    """Upper bound on the number of backtracking paths (saturating at ``cap``)."""
    if isinstance(c, R.Set | R.Assert):
        return 1
    if isinstance(c, R.Seq):
        p = 1
        for x in c.items:
            p = min(cap, p * _paths(x, cap))
        return p
    if isinstance(c, R.Alt):
        return min(cap, sum(_paths(x, cap) for x in c.items))
    if isinstance(c, Cap):
        return _paths(c.node, cap)
    if isinstance(c, R.Repeat):
        b = _paths(c.node, cap)
        hi = c.max if c.max is not None else cap
        total = 0
        for k in range(c.min, hi + 1):
            total = min(cap, total + min(cap, b ** min(k, 64)))
            if total >= cap:
                break
        return max(total, 1)
    return cap


def _single_class_loop(c: Core) -> bool:
    while isinstance(c, Cap):
        c = c.node
    return isinstance(c, R.Repeat) and c.max is None and isinstance(c.node, R.Set)


def _split_tail_loop(c: Core) -> tuple[list[Core], R.Repeat] | None:
    """``c`` as ``B C{k,}``: the items before a final class loop, and the loop.

    The loop must be the very last thing matched (only groups may close after
    it); the items of ``B`` are returned in matching order.
    """
    if isinstance(c, Cap):
        return _split_tail_loop(c.node)
    if isinstance(c, R.Repeat):
        if c.max is None and isinstance(c.node, R.Set):
            return [], c
        return None
    if isinstance(c, R.Seq) and c.items:
        sub = _split_tail_loop(c.items[-1])
        if sub is None:
            return None
        return list(c.items[:-1]) + sub[0], sub[1]
    return None


@lru_cache(maxsize=8)
def _word_and_not(wset: CharSet, top: int) -> tuple[CharSet, CharSet]:
    """The word characters up to ``top``, and the rest (memoised: a few word sets exist)."""
    w = wset.clip(top)
    return w, w.complement(top)


def _guarded_loop(c: Core, wset: CharSet, top: int) -> bool:
    """Is ``c`` assertions, one class loop ``C{k,}`` (maybe in a group), assertions?

    And is ``re`` linear on it: an attempt at ``s`` checks the assertions
    before the loop (``O(1)``), runs the loop over its run ``[s, r)`` and
    tries the assertions after it at ``r``, then (backtracking, or a lazy
    loop going on) at other positions of the run: ``O(r - s)``.  Quadratic
    only if many attempts start inside one run and reach the loop.  Linear
    when either holds:

    (a) the assertions after the loop hold at the end of every non-empty
        maximal run, the end of the text included (``\\b`` or ``\\>``
        when ``C`` is exactly the word characters; ``$`` when only a newline
        is outside ``C``): an attempt whose run is non-empty and at least
        ``k`` long succeeds at once, any other fails within ``k + 1`` steps,
        and a ``finditer`` goes on after each match: ``O(n * k)``;
    (b) an assertion before the loop fails inside every run: ``\\b`` or
        ``\\<`` with ``C`` word characters only (``\\b`` also with non-word
        only: both neighbours alike), ``^`` with no newline in ``C``, ``\\A``:
        attempts inside a run fail at once, the others start at disjoint
        runs: ``O(n)``.
    """
    items: list[Core] = []

    def flat(x: Core) -> None:
        if isinstance(x, R.Seq):
            for y in x.items:
                flat(y)
        elif isinstance(x, Cap) and not isinstance(x.node, R.Repeat):
            flat(x.node)
        else:
            items.append(x)

    flat(c)
    loops = [i for i, x in enumerate(items) if not isinstance(x, R.Assert)]
    if len(loops) != 1:
        return False
    loop = items[loops[0]]
    while isinstance(loop, Cap):
        loop = loop.node
    if not (isinstance(loop, R.Repeat) and loop.max is None and isinstance(loop.node, R.Set)):
        return False
    cs = loop.node.cs
    before = {x.kind for x in items[: loops[0]] if isinstance(x, R.Assert)}
    after = {x.kind for x in items[loops[0] + 1 :] if isinstance(x, R.Assert)}
    w, nonword = _word_and_not(wset, top)
    is_word = cs == w

    def holds_at_run_end(kind: str) -> bool:
        # not \b after non-word characters: at the end of the text it fails
        if kind in ("wordb", "eow"):
            return is_word
        if kind == "eol":
            return cs.complement(top).issubset(CharSet.of_char(10))
        return False

    def fails_inside_run(kind: str) -> bool:
        if kind in ("wordb", "bow"):
            return cs.issubset(w) or (kind == "wordb" and cs.issubset(nonword))
        if kind == "bol":
            return 10 not in cs
        return kind == "bos"

    if "nwordb" in before | after:
        return False
    return all(map(holds_at_run_end, after)) or any(map(fails_inside_run, before))


def safe_for_re(
    c: Core,
    wset: CharSet | None = None,
    top: int = MAX_CODE,
    shape: Callable[[], Shape] | None = None,
) -> str | None:
    """Why ``re`` is provably linear on ``c``, else None.

    ``wset``: the pattern's word characters (for :func:`_guarded_loop`;
    without it that case is not considered).  ``shape``: gives
    :func:`re_engine.prog.measure` of ``c`` when asked (measured once).

    ``"class-loop"``: a single class loop; ``"bounded"``: see the module
    docstring; ``"lead-loop"``: ``C{k,} T``, searched with a guard (see
    :func:`lead_loop` and :class:`Delegate`); ``"tail-loop"``: ``B C{k,}``
    with ``B`` bounded and the loop last.  For the latter, one attempt explores at most ``P_B`` paths of
    ``B`` (each at most ``L_B`` characters); each path that completes runs
    the loop once: it either fails within ``k`` characters, or consumes its
    run (greedy) or ``k`` characters (lazy) and the pattern succeeds at once,
    nothing being left to backtrack into.  A failing attempt thus costs at
    most ``P_B * (L_B + 1 + k)`` steps and a successful one that plus the
    match length, which the next attempt of a ``finditer`` starts after; with
    the same limit as for bounded patterns the total is ``O(n * m)``.
    """
    if _single_class_loop(c):
        return "class-loop"
    if wset is not None and _guarded_loop(c, wset, top):
        return "guarded-loop"
    m, _lo, hi, _p, _z = measure(c) if shape is None else shape()
    limit = max(_LIMIT_FLOOR, 16 * m)
    if hi is None:
        split = _split_tail_loop(c)
        if split is None:
            return "lead-loop" if lead_loop(c, limit) is not None else None
        prefix, loop = split
        b: Core = R.Seq(tuple(prefix))
        _lo, hi = min_max_len(b)
        if hi is None:
            return "lead-loop" if lead_loop(c, limit) is not None else None
        if _paths(b, limit + 1) * (hi + 1 + loop.min) <= limit:
            return "tail-loop"
        return "lead-loop" if lead_loop(c, limit) is not None else None
    p = _paths(c, limit + 1)
    if p * (hi + 1) <= limit:
        return "bounded"
    return None


class Delegate:
    """Runs a verified-safe pattern on ``re``'s C matcher.

    ``rx`` is the exact translation (used for ``match``/``fullmatch``, and for
    ``search`` unless guarded).  For a ``"lead-loop"`` pattern ``C{k,} T``
    (see :func:`lead_loop`), ``guarded`` is ``(?<!C)`` followed by ``rx``: it
    never starts inside a run of ``C``, which keeps ``re``'s search linear.
    Starting inside a run is only needed where a search itself starts, so
    :meth:`search` and :meth:`finditer` try ``rx`` anchored there first.
    """

    def __init__(
        self,
        rx: _re.Pattern[Any],
        reason: str,
        guarded: _re.Pattern[Any] | None = None,
        in_run: _re.Pattern[Any] | None = None,
        lead_min: int = 0,
    ) -> None:
        self.rx = rx
        self.reason = reason
        self.guarded = guarded
        self.in_run = in_run
        self.lead_min = lead_min  # k of the leading C{k,}
        self._memo: dict[Any, bool] = {}

    def _unguarded_at(self, text: Any, pos: int) -> bool:
        """Must a search from ``pos`` try ``rx`` anchored at ``pos`` first?

        Only if ``pos`` is inside a run of ``C`` (the guard would refuse it)
        and, for ``k >= 1``, a match can start there at all (``text[pos]`` in
        ``C``).  Otherwise the run through ``pos - 1`` ends before ``pos``, and
        every later start the guard refuses is covered by an earlier allowed
        one, as in :func:`lead_loop`.
        """
        return (
            0 < pos <= len(text)
            and self._in(text, pos - 1)
            and (self.lead_min == 0 or (pos < len(text) and self._in(text, pos)))
        )

    def _in(self, text: Any, i: int) -> bool:
        """Is ``text[i]`` in ``C``?  (Memoised per character.)"""
        ch = text[i]
        r = self._memo.get(ch)
        if r is None:
            assert self.in_run is not None
            r = self.in_run.match(text, i) is not None
            if len(self._memo) > 4096:
                self._memo.clear()
            self._memo[ch] = r
        return r

    def search(self, text: Any, pos: int) -> _re.Match[Any] | None:
        """The leftmost-first match at or after ``pos``."""
        if self.guarded is None or self.in_run is None:
            return self.rx.search(text, pos)
        if self._unguarded_at(text, pos):
            m = self.rx.match(text, pos)
            if m is not None:
                return m
        return self.guarded.search(text, pos)

    def finditer(self, text: Any, pos: int) -> Iterator[_re.Match[Any]]:
        """Successive non-overlapping matches, as ``re.finditer``."""
        if self.guarded is None or self.in_run is None:
            yield from self.rx.finditer(text, pos)
            return
        unguarded_at = self._unguarded_at
        n = len(text)
        while pos <= n:
            if unguarded_at(text, pos):
                m = self.rx.match(text, pos)
                if m is not None:
                    yield m
                    pos = m.end()  # never empty: lead-loop patterns are not nullable
                    continue
            for m in self.guarded.finditer(text, pos):
                yield m
                pos = m.end()
                if unguarded_at(text, pos):
                    break  # the next search starts inside a run: unguarded first
            else:
                return


def lead_loop(c: Core, limit: int) -> CharSet | None:
    """``C`` if ``c`` is ``C{k,} T``, with ``re``'s guarded search linear, else None.

    ``T`` is bounded (``P_T * (L_T + 1) <= limit``) or a bounded ``B`` then a
    final class loop ``D{j,}`` (``P_B * (L_B + 1 + j) <= limit``), and ``c``
    is not nullable.  The loop may sit in groups, but nothing precedes it.

    *Same results.*  Say a match starts at ``s > pos`` (``pos`` where the
    search starts) with ``text[s-1]`` in ``C``; let ``r`` be the start of the
    run of ``C`` through ``s - 1``, or ``pos`` if that is later.  The loop
    from ``r`` can consume ``[r, s)`` and then all the loop consumed from
    ``s``, after which ``T`` matches as it did (it only sees the text from
    there on), so a match also starts at ``r < s``.  Hence the leftmost match
    starts at ``pos`` or after a character not in ``C``: exactly the starts
    that ``(?<!C)``, plus an anchored try at ``pos``, allow.

    *Linear.*  A guarded attempt inside a run fails at once.  Allowed starts
    after a non-``C`` character begin disjoint runs; an attempt there costs
    ``O(run * limit)``: the loop takes the run and backtracks, trying ``T``
    (and a final loop, which succeeds at once) at each length.  The anchored
    try at a search's start ``pos`` inside a run: for the first search it is
    one more run; in a ``finditer`` ``pos`` is the end of the previous match
    from ``s`` in the same run, whose greedy loop stopped at the last position
    ``j`` of the run where the rest matches; a match from ``pos > j`` would
    need such a position after ``j`` in the same run, so the try fails after
    scanning the rest of the run once (a lazy loop's scan instead stays
    inside the match it finds).  Each run is so scanned O(1) times.
    """
    top = c
    while isinstance(top, Cap):
        top = top.node
    if not isinstance(top, R.Seq) or len(top.items) < 2 or nullable(c):
        return None
    first = top.items[0]
    while isinstance(first, Cap):
        first = first.node
    if not (isinstance(first, R.Repeat) and first.max is None and isinstance(first.node, R.Set)):
        return None
    rest: Core = R.Seq(top.items[1:])
    if _bounded_cost(rest, 0, limit):
        return first.node.cs
    split = _split_tail_loop(rest)
    if split is not None and _bounded_cost(R.Seq(tuple(split[0])), split[1].min, limit):
        return first.node.cs
    return None


def _bounded_cost(c: Core, extra: int, limit: int) -> bool:
    """Is ``c`` bounded with ``P * (L + 1 + extra) <= limit``?"""
    _lo, hi = min_max_len(c)
    return hi is not None and _paths(c, limit + 1) * (hi + 1 + extra) <= limit


def _compile_re(core: Core, is_bytes: bool, ascii: bool) -> _re.Pattern[Any] | None:
    """``core`` as an equivalent compiled ``re`` pattern, or None.

    ``ascii``: the pattern's word characters are ASCII (bytes, or ``re.ASCII``).
    """
    ascii = ascii or is_bytes
    try:
        src = translate(core, is_bytes, ascii)
    except _Untranslatable:  # \B among them: it has no entry in _ASSERT_RE
        return None
    flags = _re.ASCII if ascii else 0
    try:
        return _re.compile(src.encode("latin-1") if is_bytes else src, flags)
    except (_re.error, RecursionError, OverflowError):
        return None


def plan(res: Resolved, is_bytes: bool, ascii: bool) -> Delegate | None:
    """A :class:`Delegate` for the resolved pattern when safe, else ``None`` (use the DFA)."""
    if res.sem != "first" or res.has_inner_sem:
        return None
    ascii = ascii or is_bytes
    wset = word(not ascii).clip(0x7F) if ascii else word(True)
    reason = safe_for_re(res.core, wset, 0xFF if is_bytes else MAX_CODE, res.shape)
    if reason is None:
        return None
    rx = _compile_re(res.core, is_bytes, ascii)
    if rx is None:
        return None
    if reason != "lead-loop":
        return Delegate(rx, reason)
    cs = lead_loop(res.core, max(_LIMIT_FLOOR, 16 * res.shape()[0]))
    assert cs is not None
    lead = res.core
    while not isinstance(lead, R.Repeat):
        if isinstance(lead, R.Seq):
            lead = lead.items[0]
        elif isinstance(lead, Cap):
            lead = lead.node
        else:  # lead_loop found the loop: cannot happen
            return None
    ascii = ascii or is_bytes
    cls = _cls(cs, is_bytes, ascii)
    flags = _re.ASCII if ascii else 0
    src = rx.pattern.decode("latin-1") if is_bytes else rx.pattern
    srcs = ["(?<!" + cls + ")" + src, cls]
    try:
        guarded, in_run = (_re.compile(x.encode("latin-1") if is_bytes else x, flags) for x in srcs)
    except (_re.error, RecursionError, OverflowError):
        return None
    return Delegate(rx, reason, guarded, in_run, lead.min)


# assertions that look only at the text left of their position: unaffected
# when ``re`` is given ``endpos`` at the end of the match
_LEFT_ASSERTS = frozenset({"bol", "bos"})
_WORD_ASSERTS = frozenset({"wordb", "bow", "eow"})
_SPAN_BUDGET = 64
_ONE_PASS_MAX = 4000  # programs larger than this are not checked (quadratic check)


def _loop_shape(c: Core, cap: int) -> tuple[int, int] | None:
    """``(k, P)``: on ``w`` characters ``c`` has at most ``P * (w + 1) ** k`` paths.

    ``k`` counts unbounded loops, each of a body with one path and no loop
    (star height one); ``None`` for any other unbounded loop.
    """
    if isinstance(c, R.Set | R.Assert):
        return 0, 1
    if isinstance(c, Cap):
        return _loop_shape(c.node, cap)
    if isinstance(c, R.Seq | R.Alt):
        k, p = 0, 1 if isinstance(c, R.Seq) else 0
        for x in c.items:
            sub = _loop_shape(x, cap)
            if sub is None:
                return None
            if isinstance(c, R.Seq):
                k, p = k + sub[0], min(cap, p * sub[1])
            else:
                k, p = max(k, sub[0]), min(cap, p + sub[1])
        return k, max(p, 1)
    if isinstance(c, R.Repeat):
        sub = _loop_shape(c.node, cap)
        if sub is None:
            return None
        kb, pb = sub
        if c.max is None:
            return (1, 1) if kb == 0 and pb == 1 else None
        total = 0
        for j in range(c.min, c.max + 1):
            total = min(cap, total + min(cap, pb ** min(j, 64)))
            if total >= cap:
                break
        return kb * c.max, max(total, 1)
    return None


def one_pass(prog: Prog) -> bool:
    """Is the program one-pass: at most one way to go on at each character?

    For the start and for every state right after a character, the
    epsilon paths from it (through SPLIT, JMP, SAVE and ASSERT, assertions
    taken as passable) must reach every instruction at most once, and the
    characters sets of the CHAR instructions they reach must be disjoint.
    Loops over nullable bodies (ENTER/CHECK) are refused.  Then, whatever
    the text, at most one path can consume the next character.
    """
    op, arg, xs, ys, sets = prog.op, prog.arg, prog.x, prog.y, prog.sets
    if len(op) > _ONE_PASS_MAX or any(o in (ENTER, CHECK) for o in op):
        return False
    roots = {prog.start}
    roots.update(xs[pc] for pc, o in enumerate(op) if o == CHAR)
    for r in roots:
        seen: set[int] = set()
        union = CharSet()
        stack = [r]
        while stack:
            pc = stack.pop()
            if pc in seen:
                return False
            seen.add(pc)
            o = op[pc]
            if o == CHAR:
                cs = sets[arg[pc]]
                if union.inter(cs).ranges:
                    return False
                union = union.union(cs)
            elif o == SPLIT:
                stack.append(ys[pc])
                stack.append(xs[pc])
            elif o != MATCH:  # JMP, SAVE, ASSERT
                stack.append(xs[pc])
    return True


class SpanGroups:
    """Submatches of a known leftmost-first match span, by ``re`` on that span.

    Given the span ``[s, e)`` of the leftmost-first match, the groups are
    those of the first path (in priority order) from ``s`` that reaches the
    end of the pattern; that path ends at ``e``, so it is also the first path
    that ends exactly at ``e``: what ``rx.fullmatch(text, s, e)`` returns,
    ``re`` exploring paths in the same priority order.  ``re`` sees the real
    text left of ``s`` but takes ``e`` for the end of the text: an assertion
    that looks right (``$``, ``\\Z``, ``\\b``) is used only when at this
    ``e`` it would say the same of the real text (:meth:`faithful`).

    Cost, either of two proofs (``max_span`` is the largest span for which
    the chosen one holds):

    - *Path count*: on ``w = e - s`` characters a backtracker follows at
      most ``P * (w + 1) ** k`` paths (:func:`_loop_shape`), each
      ``O(w + m)`` steps; ``re`` is used only while that is at most
      ``64 * m * (w + 1)`` paths, i.e. within a constant factor of the Pike
      VM's ``O(m * (w + 1))`` per span.
    - *One-pass* (:func:`one_pass`): at each position at most one of the
      epsilon paths from the current state consumes the next character, all
      others fail on it, and those paths form a tree of at most ``m`` nodes
      (no instruction reached twice).  Whatever order the backtracker takes
      them in, the only path that goes on is that one, so it explores each
      position's tree once: ``O(m * (w + 1))`` for any span.

    Spans of successive matches do not overlap: linear in total.
    """

    def __init__(
        self,
        rx: _re.Pattern[Any],
        max_span: float,
        right: frozenset[str],
        is_word: Callable[[int], bool],
        one_pass: bool = False,
    ) -> None:
        self.rx = rx
        self.max_span = max_span
        self.right = right
        self.is_word = is_word
        self.one_pass = one_pass  # the one-pass proof holds (see StartFinder.match)

    def faithful(self, text: Any, e: int) -> bool:
        """Do the right-looking assertions at ``e`` say the same with the text cut there?"""
        right = self.right
        if not right:
            return True
        n = len(text)
        if e >= n:
            return True
        # \Z holds only at the end; re's "$" also before a newline ending the
        # cut text, at e - 1, where in the whole text it may not
        if "eos" in right or "leol" in right:
            return False
        ch = text[e]
        c = ord(ch) if isinstance(ch, str) else ch
        if "eol" in right and c != 10:
            return False
        return not (right & _WORD_ASSERTS and self.is_word(c))

    def slots(self, text: Any, s: int, e: int) -> list[int] | None:
        """Slots of the match spanning ``[s, e)``, or None (use another pass)."""
        if e - s > self.max_span or not self.faithful(text, e):
            return None
        rm = self.rx.fullmatch(text, s, e)
        return None if rm is None else [x for sp in rm.regs for x in sp]


def span_groups(
    res: Resolved,
    is_bytes: bool,
    ascii: bool,
    prog: Prog,
    is_word: Callable[[int], bool],
    need_groups: bool = True,
) -> SpanGroups | None:
    """A :class:`SpanGroups` for the resolved pattern when provably cheap, else None.

    ``prog`` is the pattern's capturing program (for :func:`one_pass`);
    ``need_groups=False`` also gives one for a pattern without groups (to
    test where a match starts, :class:`StartFinder`).
    """
    if res.sem != "first" or res.has_inner_sem or (need_groups and not res.ngroups):
        return None
    core = res.core
    kinds = {x.kind for x in R.walk(core) if isinstance(x, R.Assert)}
    if "nwordb" in kinds:
        return None
    right = frozenset(kinds - _LEFT_ASSERTS)
    max_span = 0.0
    single = one_pass(prog)
    if single:
        max_span = float("inf")
    else:
        m = res.shape()[0]
        budget = _SPAN_BUDGET * m
        shape = _loop_shape(core, budget + 1)
        if shape is None:
            return None
        k, p = shape
        if p > budget:
            return None
        max_span = float("inf") if k <= 1 else (budget / p) ** (1 / (k - 1)) - 1
        if max_span < 1:
            return None
    rx = _compile_re(core, is_bytes, ascii)
    return None if rx is None else SpanGroups(rx, max_span, right, is_word, single)


# StartFinder: candidate starts tried per match, and the span characters
# their fullmatch calls may cover, as a multiple of the stretch searched
_START_TRIES = 4
_START_BUDGET = 4


class StartFinder:
    """Where the leftmost-first match ending at ``e`` starts, and its groups, by ``re``.

    The forward DFA gave ``e``, the end of the leftmost-first match at or
    after ``pos``; its start ``s`` is the smallest position from which some
    path of the pattern reaches ``e``: for a candidate ``c < s`` no match
    starts at ``c`` at all (``s`` is leftmost), and from ``s`` the match
    itself does.  So, trying candidates ``c`` from ``pos`` in order,
    ``rx.fullmatch(text, c, e)`` (:class:`SpanGroups`, whose proof makes each
    call ``O(m * (e - c))`` and whose groups are then the match's) fails
    until ``c = s``, where it returns the groups with no reverse DFA pass
    and no second pass for them.  Candidates are the positions where a
    character of the first set stands (after a newline too if the pattern
    begins with ``^`` in multiline mode), found by one ``re`` scan.

    Bound: at most ``_START_TRIES`` calls, covering at most
    ``_START_BUDGET * (e - pos) + 64`` characters, per match; past that
    :meth:`find` returns None and the caller runs the reverse DFA
    (``O(e - pos)``).  The stretches ``[pos, e]`` of successive matches do
    not overlap: linear in total.
    """

    def __init__(self, sg: SpanGroups, cand: _re.Pattern[Any]) -> None:
        self.sg = sg
        self.cand = cand

    def match(self, text: Any, c: int) -> list[int] | None:
        """Slots of the leftmost-first match at ``c``, by ``re.match`` on the whole text.

        Only for one-pass patterns (``sg.one_pass``): at each position at
        most one epsilon path from the current state consumes the next
        character, so ``re`` follows one path forward, trying at each
        position a tree of at most ``m`` instructions, and on a failure
        backs up through choice points whose other branches fail on their
        character at once: ``O(m * L)``, ``L`` the length of that path.  The
        anchored DFA from ``c`` would scan the same ``L`` (it holds that one
        path), which is at most what the unanchored scan from any earlier
        search position scans (see :meth:`re_engine.meta.Automata.anchored_first`).
        The whole text is given, so every assertion sees its real context.
        """
        rm = self.sg.rx.match(text, c)
        return None if rm is None else [x for sp in rm.regs for x in sp]

    def find(self, text: Any, pos: int, e: int) -> list[int] | None:
        """Slots of the match ending at ``e`` (leftmost at or after ``pos``), or None."""
        sg = self.sg
        if not sg.faithful(text, e):
            return None
        budget = _START_BUDGET * (e - pos) + 64
        search, fullmatch = self.cand.search, sg.rx.fullmatch
        c = pos
        for _ in range(_START_TRIES):
            m = search(text, c, e)
            if m is None:
                return None
            c = m.start()
            budget -= e - c
            if budget < 0 or e - c > sg.max_span:
                return None
            rm = fullmatch(text, c, e)
            if rm is not None:
                return [x for sp in rm.regs for x in sp]
            c += 1
        return None


def start_finder(
    res: Resolved, is_bytes: bool, ascii: bool, prog: Prog, is_word: Callable[[int], bool]
) -> StartFinder | None:
    """A :class:`StartFinder` for a non-nullable leftmost-first pattern, when proved cheap."""
    first = first_set(res.core)
    if first is None:
        return None
    sg = span_groups(res, is_bytes, ascii, prog, is_word, need_groups=False)
    if sg is None:
        return None
    lead = res.core
    while isinstance(lead, Cap | R.Seq) and not (isinstance(lead, R.Seq) and not lead.items):
        lead = lead.node if isinstance(lead, Cap) else lead.items[0]
    bol = "(?m:^)" if isinstance(lead, R.Assert) and lead.kind == "bol" else ""
    src = bol + "(?=" + _cls(first, is_bytes, ascii or is_bytes) + ")"
    flags = _re.ASCII if ascii or is_bytes else 0
    try:
        cand = _re.compile(src.encode("latin-1") if is_bytes else src, flags)
    except (_re.error, RecursionError, OverflowError):
        return None
    return StartFinder(sg, cand)


def first_set(c: Core) -> CharSet | None:
    """Characters that can begin a non-empty match, or None if ``c`` is nullable."""
    if nullable(c):
        return None
    return _first(c)


def _first(c: Core) -> CharSet:
    if isinstance(c, R.Set):
        return c.cs
    if isinstance(c, R.Seq):
        out = CharSet()
        for x in c.items:
            out = out.union(_first(x))
            if not nullable(x):
                break
        return out
    if isinstance(c, R.Alt):
        out = CharSet()
        for x in c.items:
            out = out.union(_first(x))
        return out
    if isinstance(c, Cap | R.Repeat):
        return _first(c.node)
    return CharSet()


class Skipper:
    """Jumps to the next position where a match may start (C speed)."""

    def __init__(self, cs: CharSet, is_bytes: bool) -> None:
        single = cs.single()
        self.char: Any = None
        self.rx: _re.Pattern[Any] | None = None
        if single is not None:
            self.char = bytes([single]) if is_bytes else chr(single)
        else:
            src = _cls(cs, is_bytes)
            self.rx = _re.compile(src.encode("latin-1") if is_bytes else src)

    def next(self, text: Any, pos: int) -> int:
        if self.char is not None:
            return int(text.find(self.char, pos))
        assert self.rx is not None
        m = self.rx.search(text, pos)
        return -1 if m is None else m.start()


# ------------------------------------------------------- required pieces

# Characters assumed frequent in text: a literal made of them is a poor
# prefilter.  Only a tie-breaker between required literals; never affects
# results.
_COMMON = frozenset(" \n\t.,;:'\"-etaoinshrdlucmfwypvbgkjqxzETAOINSHRDLUCMFWYPVBGKJQXZ0123456789")


def _required(c: Core) -> list[list[CharSet]]:
    """Pieces every match of ``c`` contains: runs of consecutive character sets."""
    if isinstance(c, R.Set):
        return [[c.cs]]
    if isinstance(c, Cap):
        return _required(c.node)
    if isinstance(c, R.Repeat):
        return _required(c.node) if c.min >= 1 else []
    if isinstance(c, R.Seq):
        out: list[list[CharSet]] = []
        run: list[CharSet] = []
        for x in c.items:
            if isinstance(x, R.Set):
                run.append(x.cs)
                continue
            if run:
                out.append(run)
                run = []
            out.extend(_required(x))
        if run:
            out.append(run)
        return out
    return []  # an alternation (or an assertion) requires no one piece


# a run of sets is a prefilter (found by one re scan) when at least this long,
# each set this small (case-folded letters), and longer than the best literal
_RUN_MIN = 3
_RUN_SET_MAX = 4


def literal_of(c: Core, is_bytes: bool) -> Any:
    """The string ``c`` matches if it is a plain literal (no groups, no assertions), else None.

    ``findall`` of a non-empty literal is then ``str.count`` copies of it:
    both take the non-overlapping occurrences from left to right.
    """
    items = c.items if isinstance(c, R.Seq) else (c,)
    codes: list[int] = []
    for x in items:
        single = x.cs.single() if isinstance(x, R.Set) else None
        if single is None:
            return None
        codes.append(single)
    if not codes:
        return None
    s = "".join(map(chr, codes))
    return s.encode("latin-1") if is_bytes else s


def _anchored_at_start(c: Core) -> bool:
    """Does every match of ``c`` begin with a start-of-text assertion?"""
    while isinstance(c, Cap | R.Seq):
        if isinstance(c, Cap):
            c = c.node
        elif not c.items:
            return False
        else:
            c = c.items[0]
    return isinstance(c, R.Assert) and c.kind == "bos"


def _alphabet(c: Core) -> CharSet:
    """Every character a match of ``c`` can contain."""
    out = CharSet()
    for x in R.walk(c):
        if isinstance(x, R.Set):
            out = out.union(x.cs)
    return out


class Jumper:
    """Where the lazy DFA may jump to when it holds no thread (prefiltering).

    Let ``L`` be a piece every match contains (a literal, found with
    ``str.find``; or a class, or a run of ``k`` small classes such as a
    case-insensitive word, found with one ``re`` scan of a fixed-length
    pattern, ``O(n * k)``) and ``S`` the set
    of all characters a match can contain.  From position ``i``, let ``p``
    be the first occurrence of ``L`` at or after ``i``.  A match starting at
    ``s >= i`` contains an occurrence of ``L`` at some ``q >= s >= i``, so
    ``q >= p``.  Either ``s > p``, or all of ``s .. p`` lies inside the
    match, hence in ``S``, and ``s`` is inside the run of ``S`` characters
    that ends at ``p``.  So no match starts before ``a``, the start of that
    run (or ``i``), nor
    before the first character at or after ``a`` that can begin a match.
    The DFA, when it has no live thread, may thus restart at that position.

    Cost: the backward scan for ``a`` covers ``[max(i, a), p)``; the DFA does
    not ask again until it is past ``p`` (:meth:`jump` returns ``p`` as the
    mark), so backward scans cover disjoint stretches, as do the forward C
    scans: linear in total, on top of the DFA's own linear scan.
    """

    def __init__(self, core: Core, is_bytes: bool, first: CharSet | None) -> None:
        self.is_bytes = is_bytes
        self.lit: Any = None
        self.set_rx: _re.Pattern[Any] | None = None
        self.run_rx: _re.Pattern[Any] | None = None
        self.first: Skipper | None = None
        self.skip_first = True
        top = 0xFF if is_bytes else MAX_CODE
        if first is not None and first.size() <= top:
            self.first = Skipper(first, is_bytes)
        # a match anchored at the start of the text needs no prefilter: a
        # scan for the literal could only cost more than the DFA, which dies
        self.seq_rx: _re.Pattern[Any] | None = None
        pieces = [] if _anchored_at_start(core) else _required(core)
        lits: list[list[int]] = []
        runs: list[list[CharSet]] = []
        sets: list[CharSet] = []
        for run in pieces:
            codes: list[int] = []
            for cs in run:
                single = cs.single()
                if single is None:
                    if codes:
                        lits.append(codes)
                        codes = []
                    sets.append(cs)
                else:
                    codes.append(single)
            if codes:
                lits.append(codes)
            if len(run) >= _RUN_MIN and all(cs.size() <= _RUN_SET_MAX for cs in run):
                runs.append(run)
        best_lit = max(
            lits, key=lambda c: (len(c), sum(chr(x) not in _COMMON for x in c)), default=[]
        )
        best_run = max(runs, key=len, default=[])
        # a literal with a rare character is found faster (str.find) than any run
        rare_lit = any(chr(x) not in _COMMON for x in best_lit)
        if len(best_run) > len(best_lit) and (not rare_lit or len(best_run) >= 2 * len(best_lit)):
            src = "".join(_cls(cs, is_bytes) for cs in best_run)
            self.seq_rx = _re.compile(src.encode("latin-1") if is_bytes else src)
        elif best_lit:
            s = "".join(map(chr, best_lit))
            self.lit = s.encode("latin-1") if is_bytes else s
        else:
            if sets:
                cs = min(sets, key=lambda x: x.size())
                if first is None or cs.size() < first.size():
                    src = _cls(cs, is_bytes)
                    self.set_rx = _re.compile(src.encode("latin-1") if is_bytes else src)
        if self.lit is not None or self.set_rx is not None or self.seq_rx is not None:
            alphabet = _alphabet(core)
            src = _cls(alphabet, is_bytes) + "*"
            self.run_rx = _re.compile(src.encode("latin-1") if is_bytes else src)
            # a run of the alphabet that starts at or before the piece starts
            # with a character the match may begin with: no further skip
            self.skip_first = first is not None and bool(alphabet.diff(first))
        # a first-character skip alone jumps too little to pay for a call each
        # time the DFA falls idle: then jump only where a search starts
        self.in_loop = self.run_rx is not None

    @property
    def useful(self) -> bool:
        """Is there anything to jump with?"""
        return self.run_rx is not None or self.first is not None

    def _run_start(self, text: Any, p: int, lo: int) -> int:
        """Start of the run of alphabet characters ending at ``p`` (not below ``lo``)."""
        assert self.run_rx is not None
        k = 16
        while True:
            a = max(lo, p - k)
            m = self.run_rx.match(text[a:p][::-1])  # "C*": always matches
            r = m.end() if m is not None else 0
            if r < p - a or a == lo:
                return p - r
            k *= 4

    def jump(self, text: Any, i: int) -> tuple[int, int]:
        """``(a, mark)``: no match starts in ``[i, a)``; ``a = -1``: none at all.

        The caller must not call again before it is past ``mark``.
        """
        if self.run_rx is not None:
            if self.lit is not None:
                p = text.find(self.lit, i)
            else:
                rx = self.seq_rx or self.set_rx
                assert rx is not None
                m = rx.search(text, i)
                p = -1 if m is None else m.start()
            if p < 0:
                return -1, 0
            a = self._run_start(text, p, i)
        else:
            a = p = i
        if self.first is not None and self.skip_first:
            a = self.first.next(text, a)
            if a < 0:
                return -1, 0
        return a, max(a, p)
