"""Many matches without a reverse pass: the anchored first try and fast.StartFinder agree with ``re``."""

from __future__ import annotations

import random
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import re_engine
from re_engine.fast import _START_TRIES, StartFinder
from re_engine.meta import Automata

UCD = (
    r"^([A-Z0-9]+);([^;]+);([^;]+);([0-9]+);([^;]+);([^;]*);([0-9]*);([0-9]*);([-0-9/]*);"
    r"([YN]);([^;]*);([^;]*);([^;]*);([^;]*);([^;]*)$"
)


def _automata(pattern: str, flags: int = 0) -> Automata:
    a = re_engine.compile(pattern, flags=flags)._strategy
    assert isinstance(a, Automata), pattern
    return a


def _same(pattern: str, text: str, flags: int = 0) -> None:
    ours = re_engine.compile(pattern, flags=flags)
    ref = re.compile(pattern, flags)
    assert [(m.span(), m.groups()) for m in ours.finditer(text)] == [
        (m.span(), m.groups()) for m in ref.finditer(text)
    ], (pattern, text)
    assert ours.findall(text) == ref.findall(text)


def _ucd_lines(k: int, seed: int) -> str:
    rnd = random.Random(seed)
    lines = []
    for i in range(k):
        name = " ".join(
            rnd.choice(["LATIN", "SMALL", "LETTER", "A", "WITH", "ACUTE"]) for _ in "xyz"
        )
        num = rnd.choice(["", "1", "1/2"])
        lines.append(f"{i:04X};{name};Ll;0;L;;;;{num};N;;;{i + 1:04X};;{i:04X}")
        if rnd.random() < 0.1:
            lines.append("# a comment line; with a semicolon")
        if rnd.random() < 0.05:
            lines.append("")
        if rnd.random() < 0.1:  # a candidate start where no match starts
            lines.append(f"{i:04X};TRUNCATED;Ll")
    return "\n".join(lines) + "\n"


def test_ucd_lines_take_the_start_finder_and_agree() -> None:
    a = _automata(UCD, re.M)
    finder = a.finder()
    assert isinstance(finder, StartFinder)
    assert finder.sg.one_pass  # re.match at each line start
    for seed in range(3):
        _same(UCD, _ucd_lines(200, seed), re.M)


def test_start_finder_gives_up_after_its_tries() -> None:
    # every 'a' is a candidate start; the match is after many of them
    pattern = r"(a[ab]*)c"
    a = _automata(pattern)
    finder = a.finder()
    assert finder is not None
    text = "a " * 20 + "aabc"
    e0 = text.index("c") + 1
    assert finder.find(text, 0, e0) is None  # past its tries: the reverse DFA's turn
    assert finder.find(text, text.index("aab"), e0) == [e0 - 4, e0, e0 - 4, e0 - 1]
    _same(pattern, text * 3)


class _Counting:
    """A stand-in for the compiled ``re`` pattern that counts its fullmatch calls."""

    def __init__(self, rx: re.Pattern[str]) -> None:
        self.rx = rx
        self.calls = 0

    def fullmatch(self, text: str, s: int, e: int) -> Any:
        self.calls += 1
        return self.rx.fullmatch(text, s, e)

    def match(self, text: str, s: int) -> Any:
        self.calls += 1
        return self.rx.match(text, s)


def test_start_finder_calls_are_bounded_per_match() -> None:
    pattern = r"(a[ab]*)c"
    a = _automata(pattern)
    finder = a.finder()
    assert finder is not None
    counting = _Counting(finder.sg.rx)
    finder.sg.rx = counting  # type: ignore[assignment]
    text = ("a " * 50 + "abc ") * 20
    matches = re_engine.compile(pattern).findall(text)
    assert matches == re.findall(pattern, text)
    assert counting.calls <= (_START_TRIES + 1) * len(matches)


PATTERNS = [
    r"(a|ab)(c|bcd)",
    r"^(\w+) (\d*)$",
    r"(a+)(b*)",
    r"a*",
    r"(a|b)*?c",
    r"\b(\w)(\w*)\b",
    r"(?:(a)|b)+",
    r"(a|)+b",
    r"^$",
    r"(\d+)(?:\.(\d+))?",
]


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(PATTERNS), st.text(alphabet="abcd1 .\n", max_size=30), st.booleans())
def test_many_matches_agree_with_re(pattern: str, text: str, multiline: bool) -> None:
    _same(pattern, text, re.M if multiline else 0)


def test_counted_repeats_of_a_set_are_laid_out_at_once() -> None:
    from re_engine import TooLarge

    text = "aaaaaaa b aa aaa"
    for pattern in (r"a{3}", r"a{2,4}", r"a{2,4}?", r"a{0,3}b", r"(?:a{0,2}?b)", r"a{0}x?"):
        p = re_engine.compile(pattern, engine="dfa")
        assert [m.span() for m in p.finditer(text)] == [
            m.span() for m in re.finditer(pattern, text)
        ], pattern
    with pytest.raises(TooLarge):
        re_engine.compile(r"(?:a{60000})|b", engine="dfa")


def test_lexer_findall_takes_group_texts_from_the_memo() -> None:
    """tokenize's PseudoToken over Python source: re's tuples, repeated tokens from the memo."""
    import inspect
    import tokenize

    src = inspect.getsource(tokenize)[:20_000]
    a = _automata(tokenize.PseudoToken)
    assert a.span_groups() is None  # no re on the span: the backtracker's memo serves
    ours = re_engine.compile(tokenize.PseudoToken)
    assert ours.findall(src) == re.findall(tokenize.PseudoToken, src)
    assert len(a.eng.backtracker._strs) > 0
    assert ours.findall(src, 100, 5000) == re.compile(tokenize.PseudoToken).findall(src, 100, 5000)
