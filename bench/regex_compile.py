"""Compile time of large alternations of words: re_engine against re, regex and google-re2.

    .venv/bin/python bench/regex_compile.py [--rounds N]

The words are the distinct words (three letters or more) of the texts every
Debian machine has (``/usr/share/common-licenses``, then the Python standard
library's sources), in order of first appearance: a dictionary not chosen to
suit any engine.  Patterns: ``w1|w2|...`` and the same inside
``\\b(?:...)\\b`` for 1,000 to 20,000 words, case-insensitive for 1,000 (ours
spends seconds there rendering the folded classes for ``re``); then 100,000
alternatives, which must compile or fail with ``TooLarge`` (ours) in under
half a second.

Every engine compiles every pattern in each round, the engines alternating
(each engine's pattern cache purged before each compile: ours, ``re``,
``regex`` and google-re2, whose ``compile`` is an LRU cache), so a busy spell on a shared machine hits them alike; the
table prints each engine's median milliseconds and, per peer, the median
[first quartile, third quartile] of the per-round ratio peer time / our time
(above 1: we compile faster).
"""

from __future__ import annotations

import argparse
import importlib
import re
import statistics
import sys
import sysconfig
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# keep this directory off the path: "regex" is the PyPI module, not bench/regex.py
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.modules.pop("regex", None)
regex: Any = importlib.import_module("regex")

import re_engine  # noqa: E402
from re_engine import api as _api  # noqa: E402

try:
    import re2
except ImportError:  # pragma: no cover - bench extra not installed
    re2 = None

_WORD = re.compile(r"[A-Za-z]{3,}")


def corpus_words(n: int) -> list[str]:
    """The first ``n`` distinct words of the Debian licence texts, then the stdlib sources."""
    seen: dict[str, None] = {}
    paths = sorted(Path("/usr/share/common-licenses").glob("*"))
    paths += sorted(Path(sysconfig.get_paths()["stdlib"]).rglob("*.py"))
    for p in paths:
        if not p.is_file():
            continue
        try:
            text = p.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for w in _WORD.findall(text):
            seen.setdefault(w.lower(), None)
            if len(seen) >= n:
                return list(seen)
    raise SystemExit(f"only {len(seen)} distinct words found, {n} needed")


def _ours(p: str, flags: int) -> Any:
    _api._cache.clear()  # measure the compile, not the pattern cache
    return re_engine.compile(p, flags=flags)


def _re(p: str, flags: int) -> Any:
    re.purge()
    return re.compile(p, flags)


def _regex(p: str, flags: int) -> Any:
    regex.purge()
    return regex.compile(p, flags)


def _re2(p: str, flags: int) -> Any:
    re2.purge()  # google-re2's compile() serves repeats from an LRU cache: measure the compile
    opts = re2.Options()
    opts.case_sensitive = not flags
    opts.max_mem = 1 << 30
    return re2.compile(p, opts)


def timed(fn: Callable[[], Any]) -> tuple[float, str]:
    t0 = time.perf_counter()
    try:
        fn()
        what = "ok"
    except re_engine.TooLarge:
        what = "TooLarge"
    return time.perf_counter() - t0, what


def quartiles(xs: list[float]) -> tuple[float, float, float]:
    if len(xs) < 2:
        return xs[0], xs[0], xs[0]
    q = statistics.quantiles(xs, n=4)
    return q[1], q[0], q[2]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    words = corpus_words(100_000)
    engines: list[tuple[str, Callable[[str, int], Any]]] = [
        ("ours", _ours),
        ("re", _re),
        ("regex", _regex),
    ]
    if re2 is not None:
        engines.append(("re2", _re2))
    else:
        print("google-re2 not installed (bench extra): its column is left out")
    cases: list[tuple[str, str, int]] = []
    for n in (1000, 5000, 20000):
        body = "|".join(words[:n])
        cases.append((f"{n} words", body, 0))
        cases.append((rf"\b(?:{n} words)\b", rf"\b(?:{body})\b", 0))
        if n == 1000:  # case folding: see the docstring
            cases.append((f"{n} words, ignore case", body, re.I))
    peers = [e for e, _ in engines if e != "ours"]
    print(f"{args.rounds} rounds, engines alternating; median ms; ratio = peer time / our time")
    print(
        f"{'pattern':34}"
        + "".join(f"{e:>10}" for e, _ in engines)
        + "".join(f"{'x ' + e:>22}" for e in peers)
    )
    geo: dict[str, list[float]] = {e: [] for e in peers}
    for name, pat, flags in cases:
        times: dict[str, list[float]] = {e: [] for e, _ in engines}
        outcome = set()
        for _ in range(args.rounds):
            for e, comp in engines:
                t, what = timed(lambda comp=comp, pat=pat, flags=flags: comp(pat, flags))
                times[e].append(t)
                if e == "ours":
                    outcome.add(what)
        if outcome != {"ok"}:
            name += " (" + "/".join(sorted(outcome)) + ")"
        row = f"{name:34}" + "".join(
            f"{statistics.median(times[e]) * 1000:10.1f}" for e, _ in engines
        )
        for e in peers:
            ratios = [a / b for a, b in zip(times[e], times["ours"], strict=True)]
            med, q1, q3 = quartiles(ratios)
            if outcome == {"ok"}:  # a refusal is no compile to compare
                geo[e].append(med)
            row += f"{med:10.2f}x [{q1:.2f}, {q3:.2f}]"
        print(row)
    for e in peers:
        g = statistics.geometric_mean(geo[e])
        print(f"geometric mean of median ratios where ours compiled, {e} time / ours: {g:.2f}x")
    body = "|".join(words[:100_000])
    t, what = timed(lambda: _ours(body, 0))
    print(f"\n100,000 words, ours: {what} in {t * 1000:.0f} ms (goal: under 500 ms)")
    t, what = timed(lambda: _ours(rf"\b(?:{body})\b", 0))
    print(rf"\b(?:100,000 words)\b, ours: {what} in {t * 1000:.0f} ms (goal: under 500 ms)")
    t, _ = timed(lambda: _re(body, 0))
    print(f"100,000 words, re: {t * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
