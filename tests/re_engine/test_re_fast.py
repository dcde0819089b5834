"""The fast paths (re_engine.fast): same answers as the DFA and as ``re``, still linear."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import re_engine
from re_engine import meta
from re_engine.charset import CharSet, _from_re_class, digit, space, word
from re_engine.fast import _cls

# ----------------------------------------------------------- class rendering


def _exact(src: str, flags: int = 0) -> CharSet:
    """The set of code points that ``re`` puts in the class ``src``."""
    if flags:
        src = "(?a:" + src + ")"
    return _from_re_class(src)


@pytest.mark.parametrize(
    "cs",
    [
        digit(),
        word(),
        space(),
        word().complement(),
        digit().complement(),
        space().complement(),
        word().union(CharSet.of_string(".+-")),
        word().union(space()),
        word().diff(digit()),
        word().union(space()).complement(),
        digit().union(CharSet.of_string("abc")).complement(),
        CharSet.of_range(0x430, 0x44F),
    ],
)
def test_class_rendering_is_exact(cs: CharSet) -> None:
    src = _cls(cs, False)
    assert len(src) < 80  # compact: re's own escapes, not hundreds of ranges
    assert _exact(src) == cs


def test_class_rendering_ascii_and_bytes() -> None:
    ascii_word = word(False)
    src = _cls(ascii_word.union(CharSet.of_string("-")), False, ascii=True)
    assert _exact(src, re.ASCII) == ascii_word.union(CharSet.of_string("-"))
    for cs in (word(False), digit(False).complement(0xFF), space(False)):
        bsrc = _cls(cs, True)
        rx = re.compile(bsrc.encode("latin-1"))
        assert {c for c in range(256) if rx.fullmatch(bytes([c]))} == {
            c for c in range(256) if c in cs
        }


def test_unicode_digits_use_the_builtin_escape() -> None:
    p = re_engine.compile(r"\d+")
    assert p.strategy == "re" and p._strategy.rx.pattern == r"\d+"  # type: ignore[attr-defined]


# ------------------------------------------------------------- differential

LEADS = ["a+", "[ab]+", r"\w+", "[^ ]+", "a*", "[a-c]{2,}", "a+?", "[ab]+?", r"\S+"]
PIECES = [
    "a",
    "b",
    "ab",
    "@",
    "c",
    "[ab]",
    r"\d",
    ".",
    r"\b",
    "$",
    "b?",
    "(?:ab|a)",
    "(a|b)",
    "ba",
    "@a",
    "[ab]*",
    "c+",
    "(b+)",
    r"\w",
]


@st.composite
def shaped(draw: st.DrawFn) -> str:
    """Patterns shaped like the fast paths: a class loop, a rest, maybe a final loop."""
    lead = draw(st.sampled_from(LEADS))
    if draw(st.booleans()):
        lead = "(" + lead + ")"
    if draw(st.booleans()):
        lead = draw(st.sampled_from(["", "A", "[A-Z]", "x", "(?:a|ab)"])) + lead
    rest = "".join(draw(st.lists(st.sampled_from(PIECES), min_size=0, max_size=3)))
    if draw(st.booleans()):
        rest = "(" + rest + ")"
    pat = lead + rest
    if draw(st.booleans()):
        pat = "(" + pat + ")"
    return pat


TEXT = st.text(alphabet="ab c@1A\nx", max_size=30)


def _check(pattern: str, text: str, pos: int) -> None:
    ref = re.compile(pattern)
    for engine in ("default", "dfa"):
        ours = re_engine.compile(pattern, engine=engine)
        m, r = ours.search(text, pos), ref.search(text, pos)
        assert (m is None) == (r is None), (engine, pattern, text, pos)
        if m is not None and r is not None:
            assert m.span() == r.span() and m.groups() == r.groups(), (engine, pattern, text)
        assert [(x.span(), x.groups()) for x in ours.finditer(text, pos)] == [
            (x.span(), x.groups()) for x in ref.finditer(text, pos)
        ], (engine, pattern, text, pos)
        assert ours.findall(text, pos) == ref.findall(text, pos), (engine, pattern, text)
        assert ours.split(text) == ref.split(text)
        assert ours.sub("<>", text) == ref.sub("<>", text)
        f, g = ours.fullmatch(text), ref.fullmatch(text)
        assert (f is None) == (g is None)
        if f is not None and g is not None:
            assert f.groups() == g.groups()
        h, k = ours.match(text, pos), ref.match(text, pos)
        assert (h is None) == (k is None)
        if h is not None and k is not None:
            assert h.span() == k.span() and h.groups() == k.groups()


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shaped(), TEXT, st.integers(0, 8))
def test_shaped_patterns_agree_with_re(pattern: str, text: str, pos: int) -> None:
    _check(pattern, text, pos)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    shaped(),
    st.lists(st.sampled_from(["aab", "ab@ab", "ba", "c1", " ", "\n", "abab@a"]), max_size=12).map(
        "".join
    ),
    st.integers(0, 8),
)
def test_shaped_patterns_on_longer_runs(pattern: str, text: str, pos: int) -> None:
    _check(pattern, text, pos)


@pytest.mark.parametrize(
    "pattern",
    [
        r"[a-z]+ing\b",
        r"(\w+)@(\w+)",
        r"[а-я]+т[а-я]*",
        r"[\w.+-]+@[\w-]+\.[\w.-]+",
        r"[A-Z][a-z]+",
        r"a+ba",
        r"([ab]+)(ab)",
    ],
)
@pytest.mark.parametrize("density", [0, 10**9])
def test_both_sides_of_the_dfa_or_re_choice(
    pattern: str, density: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(meta, "_DENSITY", density)
    parts = ["morning", "evening", "x@y.org", "что", "Holmes", "aaba", "abab", "aaaaa", " ", "\n"]
    text = "".join(parts[(i * 7 + i // 3) % len(parts)] for i in range(8_000))
    ours = re_engine.compile(pattern)
    ref = re.compile(pattern)
    assert ours.findall(text) == ref.findall(text)
    assert [m.span() for m in ours.finditer(text, 5)] == [m.span() for m in ref.finditer(text, 5)]


def test_lead_loop_guard_restarts_inside_a_run() -> None:
    # the next match starts right after the previous one, inside a run of 'a'
    p = re_engine.compile(r"a+ba")
    assert p.strategy == "re-guarded"
    assert p.findall("aabaaba") == ["aaba", "aba"]
    m = p.search("aabaaba", 4)
    assert m is not None and m.span() == (4, 7)


# ------------------------------------------------------------------ linear

N = 40_000


def _time(fn: Callable[[], object]) -> float:
    """The least CPU time of three runs: CPU time, not wall time, so that other processes
    on a busy machine (which deschedule this one) do not pass for a superlinear pass."""
    best = float("inf")
    for _ in range(3):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best


ADVERSARIAL: list[tuple[str, Callable[[int], str]]] = [
    # one long run: re's plain search would rescan it from every start
    (r"[a-z]+ing\b", lambda n: "a" * n),
    (r"(\w+)@(\w+)", lambda n: "a" * n),
    (r"[а-я]+т[а-я]*", lambda n: "а" * n),
    # a literal inside a long run of the alphabet, again and again
    (r"[a-z@]+@x", lambda n: ("a" * 50 + "@") * (n // 51)),
    (r"(\w+)@(\w+)", lambda n: "a@" * (n // 2)),
    (r"[ab]+ab", lambda n: "ab" * (n // 2)),
    # class loops guarded by assertions, delegated to re: runs of ASCII word
    # characters ending at a Unicode word character, and short words
    (r"\b[0-9A-Za-z_]+\b", lambda n: "a" * (n - 1) + "é"),
    (r"\b[0-9A-Za-z_]+\b", lambda n: "aé" * (n // 2)),
    (r"\b\w{12,}\b", lambda n: ("a" * 11 + " ") * (n // 12)),
    (r"\w+\b", lambda n: "a" * n),
    # after non-word characters \b fails at the end of the text: not delegated
    (r"\W+\b", lambda n: "a" + " " * (n - 1)),
    (r"\b\W+\b", lambda n: "a" + " " * (n - 1)),
    # a long span for the submatch pass
    (r"(\w+)@(\w+)", lambda n: "a" * (n // 2) + "@" + "b" * (n // 2)),
]


@pytest.mark.parametrize(("pattern", "make"), ADVERSARIAL)
@pytest.mark.parametrize("engine", ["default", "dfa"])
def test_fast_paths_stay_linear(pattern: str, make: Callable[[int], str], engine: str) -> None:
    p = re_engine.compile(pattern, engine=engine)
    p.findall(make(1000))  # warm up
    small, big = make(N // 4), make(N)
    t1 = _time(lambda: (p.findall(small), p.search(small)))
    t4 = _time(lambda: (p.findall(big), p.search(big)))
    assert t4 < 8 * t1 + 0.02, (pattern, engine, t1, t4)


@settings(max_examples=150, deadline=None)
@given(
    st.text(alphabet="ab", min_size=1, max_size=4),
    st.text(alphabet="ab ", max_size=30),
    st.integers(-2, 32),
    st.one_of(st.none(), st.integers(-2, 32)),
)
def test_literal_findall_is_a_count(lit: str, text: str, pos: int, endpos: int | None) -> None:
    ours = re_engine.compile(lit)
    assert ours.strategy == "literal" and ours._strategy.lit == lit  # type: ignore[attr-defined]
    args = (pos,) if endpos is None else (pos, endpos)
    assert ours.findall(text, *args) == re.compile(lit).findall(text, *args)
    bpat = re_engine.compile(lit.encode())
    assert bpat.findall(text.encode(), *args) == re.compile(lit.encode()).findall(
        text.encode(), *args
    )
