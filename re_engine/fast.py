"""Doing the scanning in C without giving up the linear-time guarantee.

Two general mechanisms, neither of which looks at what a pattern "is":

1. **Verified-safe delegation to** :mod:`re`.  A leftmost-first pattern is
   translated to an exactly equivalent ``re`` pattern (explicit character
   classes, no flags that change meaning) and handed to ``re``'s C matcher
   only when a static bound proves the backtracker linear:

   - *bounded patterns*: every match is at most ``L`` characters long and the
     number of distinct paths through the pattern is at most ``P``; one match
     attempt then costs at most ``P * (L + 1)`` steps, and a search or a
     ``finditer`` makes at most ``n + 1`` attempts, so the total is
     ``O(n * P * (L + 1))``.  We require ``P * (L + 1) <= max(256, 16 * m)``
     (``m`` the pattern size), i.e. the same ``O(n * m)`` as the DFA.
   - *a single repeated class* ``C{k,}`` (possibly lazy, possibly in a
     group): an attempt either fails within ``k`` characters or consumes a
     run that the next attempt does not revisit, so the total is ``O(n * k)``.

   Repetitions of nullable bodies are never delegated (``re`` and the Pike VM
   differ on empty iterations).  Tests check delegated and DFA answers agree.

2. **First-character skipping**: for the DFA, the set of characters that can
   begin a match is compiled to a one-class ``re`` (or ``str.find`` for a
   single character); one C scan jumps to the next candidate start.
"""

from __future__ import annotations

import re as _re
from typing import Any

from . import ast as R
from .charset import CharSet
from .prog import Cap, Core, min_max_len, nullable

_LIMIT_FLOOR = 256


def _cls(cs: CharSet, is_bytes: bool) -> str:
    if not cs.ranges:
        return "[^\\x00-\\xff]" if is_bytes else "[^\\x00-\\U0010ffff]"

    def esc(c: int) -> str:
        if is_bytes:
            return f"\\x{c:02x}"
        if c < 0x80 and (chr(c).isalnum() or chr(c) == "_"):
            return chr(c)
        return f"\\x{c:02x}" if c < 0x100 else (f"\\u{c:04x}" if c < 0x10000 else f"\\U{c:08x}")

    single = cs.single()
    if single is not None:
        return esc(single)
    parts = []
    for lo, hi in cs.ranges:
        parts.append(esc(lo) if lo == hi else f"{esc(lo)}-{esc(hi)}")
    return "[" + "".join(parts) + "]"


_ASSERT_RE = {"bol": "(?m:^)", "eol": "(?m:$)", "bos": "\\A", "eos": "\\Z", "leol": "(?-m:$)",
              "wordb": "\\b", "bow": "\\b(?=\\w)", "eow": "\\b(?<=\\w)"}


class _Untranslatable(Exception):
    pass


def translate(c: Core, is_bytes: bool) -> str:
    """An ``re`` pattern equivalent to ``c`` (leftmost-first), or raise."""
    if isinstance(c, R.Set):
        return _cls(c.cs, is_bytes)
    if isinstance(c, R.Seq):
        return "".join(_atom(x, is_bytes, in_seq=True) for x in c.items)
    if isinstance(c, R.Alt):
        if not c.items:
            return _cls(CharSet(), is_bytes)
        return "|".join(translate(x, is_bytes) for x in c.items)
    if isinstance(c, Cap):
        return "(" + translate(c.node, is_bytes) + ")"
    if isinstance(c, R.Repeat):
        if nullable(c.node):
            raise _Untranslatable("repetition of a nullable body")
        body = _atom(c.node, is_bytes, in_seq=False)
        if c.max is None:
            q = "*" if c.min == 0 else "+" if c.min == 1 else f"{{{c.min},}}"
        elif c.min == c.max:
            q = f"{{{c.min}}}"
        else:
            q = "?" if (c.min, c.max) == (0, 1) else f"{{{c.min},{c.max}}}"
        return body + q + ("" if c.greedy is not False else "?")
    if isinstance(c, R.Assert):
        r = _ASSERT_RE.get(c.kind)
        if r is None:
            raise _Untranslatable(c.kind)
        return r
    raise _Untranslatable(type(c).__name__)


def _atom(c: Core, is_bytes: bool, in_seq: bool) -> str:
    s = translate(c, is_bytes)
    if isinstance(c, (R.Set, Cap)):
        return s
    if isinstance(c, R.Seq) and in_seq:
        return s
    if isinstance(c, R.Assert):
        return s if in_seq else "(?:" + s + ")"
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


def _size(c: Core) -> int:
    if isinstance(c, R.Seq | R.Alt):
        return 1 + sum(_size(x) for x in c.items)
    if isinstance(c, Cap | R.Repeat):
        return 1 + _size(c.node)
    return 1


def _single_class_loop(c: Core) -> bool:
    while isinstance(c, Cap):
        c = c.node
    return isinstance(c, R.Repeat) and c.max is None and isinstance(c.node, R.Set)


def safe_for_re(c: Core) -> str | None:
    """Why ``re`` is provably linear on ``c`` ("bounded"/"class-loop"), else None."""
    if _single_class_loop(c):
        return "class-loop"
    _lo, hi = min_max_len(c)
    if hi is None:
        return None
    m = _size(c)
    limit = max(_LIMIT_FLOOR, 16 * m)
    p = _paths(c, limit + 1)
    if p * (hi + 1) <= limit:
        return "bounded"
    return None


class Delegate:
    """Runs a verified-safe pattern on ``re``'s C matcher."""

    def __init__(self, rx: _re.Pattern[Any], reason: str) -> None:
        self.rx = rx
        self.reason = reason

    def search(self, text: Any, pos: int) -> list[int] | None:
        m = self.rx.search(text, pos)
        return None if m is None else [x for span in m.regs for x in span]


def plan(pattern: Any) -> Delegate | None:
    """A :class:`Delegate` for ``pattern`` when safe, else ``None`` (use the DFA)."""
    res = pattern._res
    if res.sem != "first" or res.has_inner_sem:
        return None
    core = res.core
    reason = safe_for_re(core)
    if reason is None:
        return None
    try:
        src = translate(core, pattern.is_bytes)
    except _Untranslatable:
        return None
    if _has_assert(core, "nwordb"):
        return None
    flags = _re.ASCII if (pattern.is_bytes or pattern.flags & 256) else 0
    try:
        rx = _re.compile(src.encode("latin-1") if pattern.is_bytes else src, flags)
    except (_re.error, RecursionError, OverflowError):
        return None
    return Delegate(rx, reason)


def _has_assert(c: Core, kind: str) -> bool:
    return any(isinstance(x, R.Assert) and x.kind == kind for x in _walk(c))


def _walk(c: Core) -> list[Core]:
    out: list[Core] = []
    stack: list[Core] = [c]
    while stack:
        x = stack.pop()
        out.append(x)
        if isinstance(x, R.Seq | R.Alt):
            stack.extend(x.items)
        elif isinstance(x, Cap | R.Repeat):
            stack.append(x.node)
    return out


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
