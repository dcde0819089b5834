"""Benchmark re_engine against re, regex and google-re2 (findall throughput).

    .venv/bin/python bench/regex.py [--size MB] [--repeat N]

All engines run in the same process on the same text, alternating within each
of the N rounds; MB/s is text size over the best of the N runs of ``findall``;
ratios are ours / google-re2.  Then the ReDoS corpus on 100,000-character
inputs (re and regex are skipped where they would take minutes).
"""

from __future__ import annotations

import argparse
import importlib
import random
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# this file is named regex.py: keep its directory off the path so that
# "regex" below is the PyPI regex module, not this script
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.modules.pop("regex", None)
regex: Any = importlib.import_module("regex")

import re_engine  # noqa: E402

try:
    import re2
except ImportError:  # pragma: no cover - bench extra not installed
    re2 = None

WORDS = [
    "the",
    "of",
    "and",
    "to",
    "in",
    "that",
    "it",
    "was",
    "his",
    "he",
    "with",
    "as",
    "had",
    "for",
    "you",
    "not",
    "be",
    "her",
    "on",
    "at",
    "by",
    "which",
    "have",
    "or",
    "from",
    "this",
    "him",
    "but",
    "all",
    "she",
    "they",
    "were",
    "my",
    "are",
    "me",
    "one",
    "their",
    "so",
    "an",
    "said",
    "them",
    "we",
    "who",
    "would",
    "been",
    "will",
    "no",
    "when",
    "there",
    "if",
    "more",
    "out",
    "up",
    "into",
    "do",
    "any",
    "your",
    "what",
    "has",
    "man",
    "could",
    "other",
    "than",
    "our",
    "some",
    "very",
    "time",
    "upon",
    "about",
    "may",
    "its",
    "only",
    "now",
    "like",
    "little",
    "then",
    "can",
    "should",
    "made",
    "did",
    "us",
    "such",
    "great",
    "before",
    "must",
    "two",
    "these",
    "see",
    "know",
    "over",
    "much",
    "down",
    "after",
    "first",
    "mr",
    "good",
    "men",
    "own",
    "never",
    "most",
    "old",
    "shall",
    "day",
    "where",
    "watson",
    "holmes",
    "sherlock",
    "street",
    "london",
    "morning",
    "evening",
    "nothing",
    "business",
]
CYRILLIC = [
    "и",
    "в",
    "не",
    "что",
    "он",
    "на",
    "я",
    "с",
    "со",
    "как",
    "а",
    "то",
    "все",
    "она",
    "так",
    "его",
    "но",
    "да",
    "ты",
    "к",
    "у",
    "же",
    "вы",
    "за",
    "бы",
    "по",
]


def make_text(size: int, seed: int = 42) -> str:
    rnd = random.Random(seed)
    out: list[str] = []
    total = 0
    while total < size:
        r = rnd.random()
        if r < 0.004:
            w = f"{rnd.choice(WORDS)}.{rnd.choice(WORDS)}@{rnd.choice(WORDS)}.org"
        elif r < 0.03:
            w = str(rnd.randint(1, 99999))
        elif r < 0.08:
            w = rnd.choice(CYRILLIC)
        else:
            w = rnd.choice(WORDS)
        if rnd.random() < 0.05:
            w = w.capitalize()
        out.append(w)
        total += len(w) + 1
        if rnd.random() < 0.08:
            out.append("\n")
    return " ".join(out)


BENCH = [
    ("literal", r"Sherlock Holmes"),
    ("alternation of words", r"watson|holmes|london|street|morning"),
    ("email-like", r"[\w.+-]+@[\w-]+\.[\w.-]+"),
    ("classes: capitalised word", r"[A-Z][a-z]+"),
    ("classes: digits", r"\d+"),
    ("classes: suffix", r"[a-z]+ing\b"),
    ("anchored miss", r"^zzz"),
    ("unicode text", r"[а-я]+т[а-я]*"),
    ("groups: key=value", r"(\w+)@(\w+)"),
]

REDOS = [
    (r"(a+)+$", "a" * 100_000 + "!"),
    (r"(a|aa)+$", "a" * 100_000 + "!"),
    (r"(\w+\s?)+$", "word " * 20_000 + "!"),
    (r"(x+x+)+y", "x" * 100_000),
    (r"^([a-z]+)*[0-9]$", "a" * 100_000 + "!"),
    (r"(?:a?){25}a{25}", "a" * 100_000),
]


def best(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    t = float("inf")
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        t = min(t, time.perf_counter() - t0)
    return t, out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=float, default=1.0, help="text size in MB (default 1)")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    text = make_text(int(args.size * 1_000_000))
    mb = len(text.encode()) / 1e6
    print(f"text: {len(text)} chars, {mb:.2f} MB UTF-8; best of {args.repeat}")
    engines: list[tuple[str, Callable[[str], Any]]] = [
        ("ours", lambda p: re_engine.compile(p)),
        ("ours-dfa", lambda p: re_engine.compile(p, engine="dfa")),
        ("re", re.compile),
        ("regex", regex.compile),
    ]
    if re2 is not None:
        engines.append(("re2", re2.compile))
    else:
        print("google-re2 not installed: pip install google-re2")
    hdr = f"{'benchmark':28}" + "".join(f"{n:>10}" for n, _ in engines) + f"{'ours/re2':>10}"
    print(hdr + "   (MB/s)")
    ratios = []
    for name, pat in BENCH:
        row = f"{name:28}"
        speeds: dict[str, float] = {}
        counts = set()
        compiled = [(ename, comp(pat)) for ename, comp in engines]
        for _ename, c in compiled:
            c.findall(text[:1000])  # warm up
        # engines alternate within each repeat, so that a busy spell on a
        # shared machine hits them all alike; best time per engine
        times = dict.fromkeys((e for e, _ in compiled), float("inf"))
        for _ in range(args.repeat):
            for ename, c in compiled:
                t, res = best(lambda c=c: c.findall(text), 1)
                times[ename] = min(times[ename], t)
                counts.add(len(res))
        for ename, _c in compiled:
            speeds[ename] = mb / times[ename]
            row += f"{speeds[ename]:10.1f}"
        if "re2" in speeds:
            ratio = speeds["ours"] / speeds["re2"]
            ratios.append(ratio)
            row += f"{ratio:9.2f}x"
        if len(counts) != 1:
            row += f"  MISMATCH {counts}"
        print(row)
    if ratios:
        geo = 1.0
        for r in ratios:
            geo *= r
        geo **= 1 / len(ratios)
        print(
            f"geometric mean ours/re2: {geo:.2f}x; min {min(ratios):.2f}x; max {max(ratios):.2f}x"
        )
    print("\nReDoS corpus, 100,000 chars (search; seconds)")
    for pat, inp in REDOS:
        row = f"{pat:22}"
        for ename, comp in engines:
            if ename in ("re", "regex"):
                row += f"{'skipped':>10}"  # exponential: would take years
                continue
            c = comp(pat)
            t, _ = best(lambda c=c, inp=inp: c.search(inp), 1)
            row += f"{t:10.3f}"
        print(row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
