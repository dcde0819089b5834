"""Linear time: the ReDoS corpus on 100,000 characters, and n vs 4n ratios."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

import re_engine

N = 100_000

CORPUS: list[tuple[str, Callable[[int], str]]] = [
    (r"(a+)+$", lambda n: "a" * n + "!"),
    (r"(a|aa)+$", lambda n: "a" * n + "!"),
    (r"(\w+\s?)+$", lambda n: "word " * (n // 5) + "!"),
    (r"(x+x+)+y", lambda n: "x" * n),
    (r"^([a-z]+)*[0-9]$", lambda n: "a" * n + "!"),
    (r"(?:a?){30}a{30}", lambda n: "a" * n),
    (r"(.*a){12}", lambda n: "a" * (n // 2) + "b" * (n // 2)),
]


def _run(pattern: str, text: str, syntax: str) -> float:
    p = re_engine.compile(pattern, syntax=syntax)
    t0 = time.process_time()  # CPU time: a busy machine descheduling us is not our cost
    p.search(text)
    p.findall(text[:2000])
    return time.process_time() - t0


@pytest.mark.parametrize(("pattern", "make"), CORPUS)
def test_redos_corpus_is_linear(pattern: str, make: Callable[[int], str]) -> None:
    p = re_engine.compile(pattern)
    assert p.strategy == "automata"  # the DFA handles these, never the backtracker
    _run(pattern, make(1000), "perl")  # warm the DFA cache
    # best of two, to be robust against a busy machine
    t1 = min(_run(pattern, make(N // 4), "perl") for _ in range(2))
    t4 = min(_run(pattern, make(N), "perl") for _ in range(2))
    # linear: 4x the input costs about 4x the time (generous bound; quadratic
    # would be 16x, exponential would never finish)
    assert t4 < 8 * t1 + 0.02, (pattern, t1, t4)


def test_results_on_redos_inputs() -> None:
    assert re_engine.search(r"(a+)+$", "a" * N + "!") is None
    m = re_engine.search(r"(a|aa)+$", "a" * N)
    assert m is not None and m.span() == (0, N)
    assert re_engine.search(r"(x+x+)+y", "x" * N) is None
    assert re_engine.search(r"^([a-z]+)*[0-9]$", "a" * N + "!") is None
    m = re_engine.search(r"(\w+\s?)+$", "word " * 2000)
    assert m is not None and m.span() == (0, 10000) and m.group(1) == "word "


def test_posix_mode_is_linear_too() -> None:
    text = "a" * (N // 4) + "!"
    t1 = min(_run(r"(a|aa)+$", text, "posix") for _ in range(2))
    t4 = min(_run(r"(a|aa)+$", "a" * N + "!", "posix") for _ in range(2))
    assert t4 < 8 * t1 + 0.02


def test_state_cache_is_bounded() -> None:
    # (a|b)*a(a|b){12} needs 2**13 DFA states; the cache flushes instead of growing
    p = re_engine.compile(r"(?:a|b)*a(?:a|b){12}c", engine="dfa")
    import random

    rnd = random.Random(7)
    text = "".join(rnd.choice("ab") for _ in range(20_000))
    assert p.search(text) is None
    dfa = p._strategy.eng.dfa("unanch")  # type: ignore[attr-defined]
    assert len(dfa.states) <= dfa.max_states
    # it flushed, or left for the bit-parallel scan before filling the cache
    assert dfa.flushes > 0 or (dfa.gave_up > 0 and len(dfa.states) < dfa.max_states)
