"""Huge DFAs: patterns whose lazy DFA has exponentially many states, in MB/s (issue #16).

    .venv/bin/python bench/regex_huge.py [--rounds N] [--sizes 100000,1000000] [--only NAME]

Patterns such as ``(a|b)*a(a|b){30}`` (2**31 DFA states) over texts where
nearly every character makes a new state: the lazy DFA thrashes, gives up,
and the bit-parallel NFA (:mod:`re_engine.bitnfa`) runs the search.  Per
case and text size the engines alternate within each of N rounds on the
same text; it prints MB/s (median) and, against each peer, the ratio of
speeds ours/peer as the median and quartiles over the rounds (>1: ours
faster), then the time of our first search on a freshly compiled pattern
(the DFA's warm-up until it gives up included).  ``re`` is skipped, with
the reason, where its backtracking is quadratic or worse on that input.
Every engine's result is checked against ours first.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import random
import re
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import re_engine

_spec = importlib.util.spec_from_file_location("bench_regex", Path(__file__).with_name("regex.py"))
assert _spec is not None and _spec.loader is not None
_bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_bench)
re2 = _bench.re2
_quartiles: Callable[[list[float]], tuple[float, float, float]] = _bench._quartiles
_geo: Callable[[list[float]], float] = _bench._geo


def _random_ab(n: int) -> str:
    rnd = random.Random(n)
    return "".join(rnd.choice("ab") for _ in range(n))


def _ab_match_to_end(n: int) -> str:
    """Random a/b text whose character 31 from the end is ``a``: ``(a|b)*a(a|b){30}`` spans it."""
    text = _random_ab(n)
    return text[: n - 31] + "a" + text[n - 30 :]


def _xa_match_to_end(n: int) -> str:
    """Random x/a text, one endless word, whose character 21 from the end is ``x``."""
    rnd = random.Random(n)
    text = "".join(rnd.choice("xa") for _ in range(n))
    return text[: n - 21] + "x" + text[n - 20 :]


def _prose(n: int) -> str:
    return _bench.corpora(n)["english"][:n]


def _letters(n: int) -> str:
    """The prose lowercased with everything but letters dropped: one endless word."""
    text = re.sub(r"[^a-z]+", "", _bench.corpora(4 * n)["english"].lower())
    return (text * (n // max(1, len(text)) + 1))[:n]


# (name, pattern, text maker, operation, why re is skipped or None)
QUADRATIC = "re: quadratic (each start rescans the rest of the text), skipped"
EXPONENTIAL = "re: exponential (a nested loop splits each word every way), skipped"
CASES: list[tuple[str, str, Callable[[int], str], str, str | None]] = [
    ("issue (a|b)*a(a|b){30}", r"(a|b)*a(a|b){30}", _random_ab, "search", None),
    ("(a|b)*a(a|b){30}c no match", r"(a|b)*a(a|b){30}c", _random_ab, "search", QUADRATIC),
    (r"\b(a|b)*a(a|b){30}\b", r"\b(a|b)*a(a|b){30}\b", _ab_match_to_end, "search", None),
    ("ab*a(ab){30} random", r"(?:a|b)*a(?:a|b){30}", _random_ab, "search", None),
    ("ab*a(ab){30} 'ab'*n", r"(?:a|b)*a(?:a|b){30}", lambda n: "ab" * (n // 2), "search", None),
    ("ab*a(ab){30}c no match", r"(?:a|b)*a(?:a|b){30}c", _random_ab, "search", QUADRATIC),
    ("a(ab){20}c no match", r"a(?:a|b){20}c", _random_ab, "search", None),
    ("[a-z]*e[a-z]{12} letters", r"[a-z]*e[a-z]{12}", _letters, "findall", None),
    (r"\w*a\w{20} letters", r"\w*a\w{20}", _letters, "findall", None),
    (r"\w*a\w{20}x no match", r"\w*a\w{20}x", _letters, "search", QUADRATIC),
    ("[a-z]*e[a-z]{12} prose", r"[a-z]*e[a-z]{12}", _prose, "findall", None),
    (r"\w*a\w{20} prose", r"\w*a\w{20}", _prose, "findall", None),
    # loops whose body can match empty: empty-iteration checks (ENTER/CHECK)
    ("(a|b?)*a(a|b){30}", r"(a|b?)*a(a|b){30}", _random_ab, "search", None),
    ("(a*|b)*a[ab]{30}", r"(a*|b)*a[ab]{30}", _random_ab, "search", None),
    # a+ is aa*: LazyDFA.never_cuts proves the first match the longest with its
    # two CHAR pcs as twins, and the bit-parallel NFA gives them one bit
    ("(a+|b)+a[ab]{30}", r"(a+|b)+a[ab]{30}", _random_ab, "search", None),
    # the first match from a start is not the longest (never_cuts refuses it):
    # the leftmost-first end comes from the backtracker or thread lists
    ("[ab]*(a|ab)[ab]{20}", r"[ab]*(a|ab)[ab]{20}", _random_ab, "search", None),
    (r"(\w*\s?)*x\w{20} x/a", r"(\w*\s?)*x\w{20}", _xa_match_to_end, "search", EXPONENTIAL),
    (r"(\w*\s?)*x\w{20} prose", r"(\w*\s?)*x\w{20}", _prose, "search", EXPONENTIAL),
    ("groups (a|b)*a(a|b){30}", r"(a|b)*a(a|b){30}", _ab_match_to_end, "groups", None),
    ("groups ([ab])*a((a)|(b)){30}", r"([ab])*a(?:(a)|(b)){30}", _ab_match_to_end, "groups", None),
    (r"groups (a|b)*\Ba(a|b){30}", r"(a|b)*\Ba(a|b){30}", _ab_match_to_end, "groups", None),
    # every group in the fixed-length tail: one capture pass over it (loopgroups' tail form)
    ("groups (?:a*|b)*a([ab]{30})", r"(?:a*|b)*a([ab]{30})", _ab_match_to_end, "groups", None),
]


def _op(c: Any, op: str) -> Callable[[str], Any]:
    """The timed call: ``search``, ``findall``, or ``groups`` (a search, then all its groups)."""
    if op != "groups":
        fn: Callable[[str], Any] = getattr(c, op)
        return fn
    search = c.search

    def groups(text: str) -> Any:
        m = search(text)
        return None if m is None else (m, m.groups())

    return groups


def _result(op: str, got: Any) -> Any:
    """What must agree between engines: the span (and groups) of a search, a findall's matches."""
    if op == "search":
        return None if got is None else got.span()
    if op == "groups":
        return None if got is None else (got[0].span(), got[1])
    return got


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """google-re2 logs "DFA out of memory" to file descriptor 2 on each such search: hide it."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(os.devnull, "wb") as null:
        os.dup2(null.fileno(), 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def run(rounds: int, sizes: list[int]) -> None:
    peers: list[tuple[str, Callable[[str], Any]]] = [("re", re.compile)]
    if re2 is not None:
        peers.append(("re2", re2.compile))
    else:
        print("google-re2 not installed: pip install google-re2")
    ours: list[tuple[str, Callable[[str], Any]]] = [
        ("ours", re_engine.compile),
        ("ours-dfa", lambda p: re_engine.compile(p, engine="dfa")),
    ]
    names = [n for n, _ in ours] + [n for n, _ in peers]
    versus = [(o, p) for o, _ in ours for p, _ in peers if (o, p) != ("ours-dfa", "re")]
    print(f"huge DFAs: {rounds} rounds, engines alternating in each; MB/s is the median")
    print(
        "ours: the strategy re_engine picks; ours-dfa: always the automata (lazy DFA, then"
        " the bit-parallel NFA when it thrashes)"
    )
    print("ratios: speed ratio, median [q1, q3] over the rounds (>1: ours faster)")
    print(
        f"{'case':28}{'chars':>8}"
        + "".join(f"{n:>9}" for n in names)
        + "".join(f"{(o[5:] or 'ours') + '/' + p:>19}" for o, p in versus)
        + f"{'1st (s)':>14}"
    )
    medians: dict[tuple[str, str], list[float]] = {v: [] for v in versus}
    for name, pat, make, op, skip_re in CASES:
        for n in sizes:
            text = make(n)
            mb = len(text.encode()) / 1e6
            compiled: dict[str, Any] = {}
            firsts: list[float] = []
            ref: Any = None
            for oname, comp in ours:
                re_engine.api._cache.clear()
                t0 = time.perf_counter()
                c = comp(pat)
                got = _result(op, _op(c, op)(text))
                firsts.append(time.perf_counter() - t0)
                if oname == "ours":
                    ref = got
                    strategy = c.strategy
                elif got != ref:
                    raise AssertionError(f"{name}: the automata disagree with {strategy}")
                compiled[oname] = c
            notes: list[str] = [f"ours: {strategy}"]
            for pname, comp in peers:
                if pname == "re" and skip_re:
                    notes.append(skip_re)
                    continue
                c = comp(pat)
                with _quiet_stderr():
                    got = _result(op, _op(c, op)(text))
                if got != ref:
                    notes.append(f"{pname} differs (left out)")
                    continue
                compiled[pname] = c
            times: dict[str, list[float]] = {e: [] for e in compiled}
            with _quiet_stderr():
                for _ in range(rounds):
                    for ename, c in compiled.items():
                        fn = _op(c, op)
                        t0 = time.perf_counter()
                        fn(text)
                        times[ename].append(time.perf_counter() - t0)
            row = f"{name:28}{n:8}"
            for ename in names:
                if ename in times:
                    row += f"{mb / sorted(times[ename])[len(times[ename]) // 2]:9.2f}"
                else:
                    row += f"{'-':>9}"
            for o, pname in versus:
                if pname not in times:
                    row += f"{'-':>19}"
                    continue
                rs = [tp / to for tp, to in zip(times[pname], times[o], strict=True)]
                q1, med, q3 = _quartiles(rs)
                medians[o, pname].append(med)
                row += f"{med:7.2f}x [{q1:.2f},{q3:.2f}]"
            row += f"{firsts[0]:7.2f}{firsts[1]:7.2f}"
            print(row + "  " + "; ".join(notes))
    print()
    for (o, pname), meds in medians.items():
        print(f"geomean {o}/{pname}: {_geo(meds):.2f}x over {len(meds)} rows")
    print(
        "search: Pattern.search, the span checked (groups of a long match are found when"
        " first asked for, and not asked for here); groups: search, then all its groups;"
        " findall: every match; 1st: compile and"
        " the first search (ours, ours-dfa), the DFA's warm-up before it gives up included"
    )


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5, help="rounds (median, quartiles)")
    ap.add_argument("--sizes", default="100000,1000000", help="text sizes in characters")
    ap.add_argument("--only", default="", help="only cases whose name contains this")
    args = ap.parse_args()
    if args.only:
        CASES[:] = [c for c in CASES if args.only in c[0]]
    run(args.rounds, [int(x) for x in args.sizes.split(",")])
    return 0


if __name__ == "__main__":
    sys.exit(main())
