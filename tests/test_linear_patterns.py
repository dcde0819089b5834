"""Every regular expression that peer bytes can reach runs in linear time (issue 12).

The patterns are not listed by hand: every compiled ``re.Pattern`` reachable from a module
of ``cohttp``, ``dns``, ``uri`` or ``backends`` is collected (a module global, an item of a
dict, list, tuple or set global, a class attribute, or a bound ``match``, ``fullmatch``
or ``search`` method of a pattern kept there), so a pattern added tomorrow is checked
without anyone remembering to. A second test makes sure patterns are kept where the first one looks: no
``re.search(r"...", text)`` calls and no ``re.compile`` inside functions.

Adversarial inputs are built from each pattern's own syntax tree (``re._parser``): for every
repeat, the shortest string that leads to it, then a run of ``n`` strings its body accepts
(each character class sampled at its ends and middle, each alternative, pairs of them such
as ``a%41``), then one character it does not accept, or nothing. A backtracking blow-up
shows on such inputs: ``(?:[a-z]+|%XX)*`` takes seconds on thirty characters.

Measured as tests/re_engine/test_re_linear.py does, by growth and not by speed, in CPU
time so that a busy machine does not fail the test: one run on about 20,000 characters
must finish within 0.2 s of CPU (a quadratic pattern needs some 10**8 steps there, an
exponential one never finishes and is interrupted); when it takes more than 20 ms, 4n
must cost less than 10 times n (linear: 4, quadratic: 16), best of three on each side.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import math
import pkgutil
import re
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from re import _constants as C  # type: ignore[attr-defined]
from re import _parser  # type: ignore[attr-defined]
from typing import Any

import pytest

PACKAGES = ("cohttp", "dns", "uri", "backends")
ROOT = Path(__file__).resolve().parent.parent

BIG = 20_000
"""Characters in the first probe of each input."""
BUDGET = 0.2
"""Seconds one probe may take before the pattern is declared super-linear."""
FAST = 0.02
"""A probe quicker than this on BIG characters cannot hide a quadratic pattern (BIG**2/2
steps of the re engine take well over 0.1 s); slower ones get the 4n/n comparison."""
MAX_RATIO = 10.0
MAX_INPUTS = 48
"""Inputs tried per pattern, at most."""
SCANNING = ("search", "sub", "subn", "finditer", "findall", "split")

Text = str | bytes


@dataclass(frozen=True)
class Found:
    """A pattern, where it was found, and how the code runs it."""

    where: str
    pattern: re.Pattern[Any]
    method: str  # "fullmatch", "match" or "scan" (search, sub, finditer, ... over the text)


# ---------------------------------------------------------------------------------------
# Collecting the patterns
# ---------------------------------------------------------------------------------------


def _modules() -> Iterator[Any]:
    for name in PACKAGES:
        package = importlib.import_module(name)
        yield package
        for info in pkgutil.walk_packages(package.__path__, name + "."):
            if info.name.rsplit(".", 1)[-1] == "__main__":
                continue
            try:
                yield importlib.import_module(info.name)
            except ImportError as exc:  # an optional dependency of one adapter
                if exc.name is None or exc.name.split(".")[0] in PACKAGES:
                    raise
                continue


def _candidates(value: Any, depth: int = 0) -> Iterator[Any]:
    yield value
    if depth < 2:
        items: Any = ()
        if isinstance(value, dict):
            items = list(value.values())
        elif isinstance(value, (list, tuple, set, frozenset)):
            items = list(value)
        for item in items:
            yield from _candidates(item, depth + 1)


def _globals(module: Any) -> Iterator[tuple[str, Any]]:
    """The module's globals, and the attributes of the classes it defines."""
    for name, value in vars(module).items():
        yield name, value
        if isinstance(value, type) and value.__module__ == module.__name__:
            yield from vars(value).items()


def _collect() -> list[Found]:
    found: dict[tuple[object, int, str], Found] = {}
    for module in _modules():
        try:
            source = inspect.getsource(module)
        except (OSError, TypeError):
            source = ""
        for name, value in _globals(module):
            for item in _candidates(value):
                methods: tuple[str, ...] = ()
                if isinstance(item, re.Pattern):
                    pattern = item
                    methods = ("fullmatch",)
                    if item is not value:  # in a container: how it is called is not visible
                        methods += ("scan",)
                    used = re.findall(rf"\b{re.escape(name)}\.(\w+)\(", source)
                    if any(m in SCANNING for m in used):
                        methods += ("scan",)
                    if "match" in used:
                        methods += ("match",)
                elif isinstance(getattr(item, "__self__", None), re.Pattern):
                    pattern = item.__self__
                    method = item.__name__
                    methods = ("scan",) if method in SCANNING else (method,)
                else:
                    continue
                for method in dict.fromkeys(methods):
                    key = (pattern.pattern, pattern.flags, method)
                    if key not in found:
                        found[key] = Found(f"{module.__name__}.{name}", pattern, method)
    return sorted(found.values(), key=lambda f: (f.where, f.method))


FOUND = _collect()

# ---------------------------------------------------------------------------------------
# Adversarial inputs from the pattern's own syntax tree
# ---------------------------------------------------------------------------------------

POOL = [chr(c) for c in range(256)] + ["é", "ß", "²", "٣", "\u2028", "\uffff"]
"""Characters the samples are drawn from (bytes patterns use the first 256)."""
BAD = ["\x00", "\x01", "\n", "\r", " ", '"', "%", "!", "/", ":", "\x7f", "\xff", "\uffff"]
"""Candidates for the one character that ends a run and breaks the match."""

_CATEGORY = {
    C.CATEGORY_DIGIT: r"\d",
    C.CATEGORY_NOT_DIGIT: r"\D",
    C.CATEGORY_SPACE: r"\s",
    C.CATEGORY_NOT_SPACE: r"\S",
    C.CATEGORY_WORD: r"\w",
    C.CATEGORY_NOT_WORD: r"\W",
}
_REPEATS = (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT)


def _in_set(items: list[tuple[Any, Any]], ch: str, ascii_only: bool) -> bool:
    negate = False
    hit = False
    for op, arg in items:
        if op is C.NEGATE:
            negate = True
        elif op is C.LITERAL:
            hit = hit or ord(ch) == arg
        elif op is C.RANGE:
            hit = hit or arg[0] <= ord(ch) <= arg[1]
        elif op is C.CATEGORY:
            escape = _CATEGORY.get(arg)
            if escape is not None:
                flags = re.ASCII if ascii_only else 0
                hit = hit or re.fullmatch(escape, ch, flags) is not None
    return hit != negate


def _accepted(node: tuple[Any, Any], ascii_only: bool) -> list[str]:
    """The pool characters one single-character node accepts."""
    op, arg = node
    pool = POOL[:256] if ascii_only else POOL
    if op is C.LITERAL:
        return [chr(arg)]
    if op is C.NOT_LITERAL:
        return [c for c in pool if ord(c) != arg]
    if op is C.ANY:
        return [c for c in pool if c != "\n"]
    if op is C.IN:
        return [c for c in pool if _in_set(arg, c, ascii_only)]
    return []


def _spread(chars: list[str], k: int = 3) -> list[str]:
    """Up to ``k`` characters from both ends and the middle of ``chars``."""
    if len(chars) <= k:
        return chars
    step = (len(chars) - 1) / (k - 1)
    return list(dict.fromkeys(chars[round(i * step)] for i in range(k)))


def _shortest(items: Any, ascii_only: bool) -> str:
    """A short string the node list matches (assertions and back-references ignored)."""
    out = []
    for op, arg in items:
        if op in (C.LITERAL, C.NOT_LITERAL, C.ANY, C.IN):
            chars = _accepted((op, arg), ascii_only)
            out.append(chars[0] if chars else "")
        elif op is C.SUBPATTERN:
            out.append(_shortest(arg[3], ascii_only))
        elif op is C.ATOMIC_GROUP:
            out.append(_shortest(arg, ascii_only))
        elif op is C.BRANCH:
            out.append(_shortest(arg[1][0], ascii_only))
        elif op in _REPEATS:
            out.append(_shortest(arg[2], ascii_only) * arg[0])
        elif op is C.GROUPREF_EXISTS:
            out.append(_shortest(arg[1], ascii_only))
    return "".join(out)


def _variants(items: Any, ascii_only: bool) -> list[str]:
    """Strings the node list matches: its shortest one, varied one position at a time."""
    base = [_shortest([node], ascii_only) for node in items]
    result = ["".join(base)]
    for i, (op, arg) in enumerate(items):
        options: list[str] = []
        if op in (C.NOT_LITERAL, C.ANY, C.IN):
            options = _spread(_accepted((op, arg), ascii_only))
        elif op is C.SUBPATTERN:
            options = _variants(arg[3], ascii_only)
        elif op is C.ATOMIC_GROUP:
            options = _variants(arg, ascii_only)
        elif op is C.BRANCH:
            options = [v for alt in arg[1] for v in _variants(alt, ascii_only)[:3]]
        elif op in _REPEATS and arg[1] >= 1:
            options = [v * max(1, arg[0]) for v in _variants(arg[2], ascii_only)]
        for option in options[:8]:
            result.append("".join(base[:i]) + option + "".join(base[i + 1 :]))
    return [v for v in dict.fromkeys(result) if v]


def _repeats(items: Any, prefix: str, ascii_only: bool) -> Iterator[tuple[str, Any]]:
    """Every repeat in the tree, with a string that leads up to it."""
    for i, (op, arg) in enumerate(items):
        before = prefix + _shortest(items[:i], ascii_only)
        if op in _REPEATS:
            if arg[1] > 1:
                yield before, arg[2]
            yield from _repeats(arg[2], before, ascii_only)
        elif op is C.SUBPATTERN:
            yield from _repeats(arg[3], before, ascii_only)
        elif op is C.ATOMIC_GROUP:
            yield from _repeats(arg, before, ascii_only)
        elif op is C.BRANCH:
            for alt in arg[1]:
                yield from _repeats(alt, before, ascii_only)
        elif op in (C.ASSERT, C.ASSERT_NOT):
            yield from _repeats(arg[1], before, ascii_only)


def _inputs(pattern: re.Pattern[Any]) -> list[tuple[str, str, str]]:
    """``(prefix, unit, end)``: the input for n is ``prefix + unit * n + end``."""
    ascii_only = isinstance(pattern.pattern, bytes) or bool(pattern.flags & re.ASCII)
    tree = _parser.parse(
        pattern.pattern.decode("latin-1") if isinstance(pattern.pattern, bytes) else pattern.pattern
    )
    out: dict[tuple[str, str, str], None] = {}
    for prefix, body in _repeats(list(tree), "", ascii_only):
        units = _variants(body, ascii_only)[:8]
        pairs = [p for u in units[1:] for p in (units[0] + u, u + units[0])]
        accepted = {c for u in units for c in u}
        ends = ["", *[c for c in BAD if c not in accepted][:2]]
        for unit in units + pairs:
            for end in ends:
                out[(prefix, unit, end)] = None
    inputs = list(out)
    if len(inputs) > MAX_INPUTS:  # a big alternation: an even sample of them
        step = len(inputs) / MAX_INPUTS
        inputs = [inputs[int(i * step)] for i in range(MAX_INPUTS)]
    return inputs


# ---------------------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------------------


class _TooSlow(Exception):
    pass


def _raise_too_slow(signum: int, frame: object) -> None:
    raise _TooSlow


def _runner(found: Found) -> Callable[[Text], object]:
    p = found.pattern
    if found.method == "scan":
        return lambda text: sum(1 for _ in p.finditer(text))
    return getattr(p, found.method)  # type: ignore[no-any-return]


def _seconds(run: Callable[[Text], object], text: Text, budget: float) -> float:
    """The CPU time ``run(text)`` takes; ``inf`` when interrupted after ``budget`` seconds.

    CPU time of this thread, not wall time: other processes on a busy machine do not
    inflate it. The re module checks for signals while it backtracks, so the alarm (a
    virtual timer, which leaves pytest-timeout's real-time one alone) stops even an
    exponential match.
    """
    previous = signal.signal(signal.SIGVTALRM, _raise_too_slow)
    try:
        signal.setitimer(signal.ITIMER_VIRTUAL, budget)
        t0 = time.thread_time()
        try:
            run(text)
        except _TooSlow:
            return math.inf
        finally:
            signal.setitimer(signal.ITIMER_VIRTUAL, 0)
        return time.thread_time() - t0
    finally:
        signal.signal(signal.SIGVTALRM, previous)


def _check_linear(found: Found) -> list[str]:
    """The first input on which ``found`` is not linear, described; [] if there is none."""
    run = _runner(found)
    is_bytes = isinstance(found.pattern.pattern, bytes)
    for prefix, unit, end in _inputs(found.pattern):
        if is_bytes and max(map(ord, prefix + unit + end)) > 0xFF:
            continue

        def make(k: int, prefix: str = prefix, unit: str = unit, end: str = end) -> Text:
            text = prefix + unit * k + end
            return text.encode("latin-1") if is_bytes else text

        shown = f"{prefix[:20]!r} + {unit!r} * n + {end!r}"
        n = max(1, BIG // len(unit))
        t1 = _seconds(run, make(n), BUDGET)
        if t1 < FAST:
            continue
        for _ in range(3):  # a busy machine gets two more chances, on longer inputs
            while t1 < 2 * FAST and n * len(unit) < 50 * BIG:
                n *= 4
                t1 = _seconds(run, make(n), BUDGET)
            if t1 == math.inf:
                return [f"{shown}: more than {BUDGET} s at n={n}"]
            t1 = min([t1] + [_seconds(run, make(n), BUDGET) for _ in range(2)])
            limit = MAX_RATIO * t1
            t4 = math.inf
            for _ in range(3):  # the best of three, stopping at the first good one
                t4 = min(t4, _seconds(run, make(4 * n), 1.5 * limit))
                if t4 <= limit:
                    break
            if t4 <= limit:
                break
            n *= 2
            t1 = _seconds(run, make(n), BUDGET)
            if t1 == math.inf:
                return [f"{shown}: more than {BUDGET} s at n={n}"]
        else:
            return [f"{shown}: {t1 * 1e3:.2f} ms at n={n}, {t4 * 1e3:.2f} ms at 4n"]
    return []


# ---------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------


def test_the_collection_finds_the_known_patterns() -> None:
    names = {f.where for f in FOUND}
    # one of each kind: a global pattern, a bound fullmatch, a pattern in a dict
    assert "uri._grammar.URI_REFERENCE" in names
    assert "cohttp.codec._ORIGIN_FORM" in names
    assert any(f.where.startswith("uri._pct.") and f.method == "scan" for f in FOUND)
    assert {f.where.split(".")[0] for f in FOUND} >= {"cohttp", "dns", "uri"}


def test_inputs_reach_the_nested_repeat() -> None:
    # The shape of issue 12: the inputs must include a run of one class character after
    # the literal that leads to it, ended by a character the pattern refuses.
    bad = re.compile(r"/(?:[a-z]+|%[0-9A-F]{2})*")
    inputs = _inputs(bad)
    assert ("/", "a", "\x00") in inputs
    assert any(unit in ("a%00", "%00a") for _, unit, _ in inputs)
    assert _check_linear(Found("example", bad, "fullmatch"))  # the checker sees the blow-up
    good = re.compile(r"/[a-z]*+(?:%[0-9A-F]{2}[a-z]*+)*+")
    assert not _check_linear(Found("example", good, "fullmatch"))


def test_a_quadratic_scan_is_caught() -> None:
    assert _check_linear(Found("example", re.compile(r"[a-z]+X"), "scan"))


@pytest.mark.parametrize("found", FOUND, ids=[f"{f.where}:{f.method}" for f in FOUND])
def test_pattern_is_linear(found: Found) -> None:
    problems = _check_linear(found)
    assert not problems, (
        f"{found.where} ({found.method}) is not linear: {found.pattern.pattern!r}\n"
        + "\n".join(problems)
    )


_RE_CALLS = {"match", "fullmatch", "search", "sub", "subn", "split", "findall", "finditer"}


def test_patterns_are_kept_where_the_linear_check_sees_them() -> None:
    offenders = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(tree):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    for inner in ast.walk(node):
                        if _is_re_call(inner, {"compile"}):
                            offenders.append(
                                f"{path.relative_to(ROOT)}:{getattr(inner, 'lineno', 0)}"
                            )
                elif _is_re_call(node, _RE_CALLS):
                    offenders.append(f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}")
    assert not offenders, (
        "compile patterns once as module globals (tests/test_linear_patterns.py checks those):\n"
        + "\n".join(sorted(set(offenders)))
    )


def _is_re_call(node: ast.AST, names: set[str]) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in names
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "re"
    )
