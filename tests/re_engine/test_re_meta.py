"""The meta engine (re_engine.meta): each strategy and each submatch pass gives ``re``'s answers."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import re_engine
from re_engine.fast import one_pass, span_groups
from re_engine.meta import Automata
from re_engine.pike import context_fn, pike

from .test_re_perl import patterns

TEXT = st.text(alphabet="abc 1\n", max_size=14)


def _all_ops_agree(ours: Any, ref: re.Pattern[str], text: str) -> None:
    """Every operation of the Pattern API, against ``re``."""
    m, r = ours.search(text), ref.search(text)
    assert (m is None) == (r is None)
    if m is not None and r is not None:
        assert m.span() == r.span() and m.groups() == r.groups()
    for how in ("match", "fullmatch"):
        m, r = getattr(ours, how)(text), getattr(ref, how)(text)
        assert (m is None) == (r is None), how
        if m is not None and r is not None:
            assert m.span() == r.span() and m.groups() == r.groups(), how
    for pos in (0, 1, 3):
        assert [(x.span(), x.groups()) for x in ours.finditer(text, pos)] == [
            (x.span(), x.groups()) for x in ref.finditer(text, pos)
        ]
        assert ours.findall(text, pos, len(text) - 1) == ref.findall(text, pos, len(text) - 1)
    assert ours.findall(text) == ref.findall(text)
    assert ours.split(text) == ref.split(text)
    assert ours.split(text, 1) == ref.split(text, 1)
    assert ours.subn("<\\g<0>>", text) == ref.subn("<\\g<0>>", text)
    assert ours.sub("-", text, 2) == ref.sub("-", text, 2)
    assert ours.sub(lambda x: x.group().upper(), text) == ref.sub(lambda x: x.group().upper(), text)


# one pattern per strategy, with texts where each has something to do
BY_STRATEGY = [
    ("literal", "ab"),
    ("literal", "a b"),
    ("re", r"\d+"),
    ("re", r"(a|b)c"),
    ("re", r"(\w)@(\w+)"),
    ("re-guarded", r"a+ba"),
    ("re-guarded", r"(\w+)@(\w+)"),
    ("re-guarded", r"[ab]+(c)"),
    ("automata", r"(a+)+$"),
    ("automata", r"(\w+\s?)+$"),
    ("automata", r"(a|ab)+(c|bcd)?\b"),
    ("automata", r"(a*)*b|(c)"),
]


@pytest.mark.parametrize(("strategy", "pattern"), BY_STRATEGY)
def test_strategy_is_chosen_once(strategy: str, pattern: str) -> None:
    p = re_engine.compile(pattern)
    assert p.strategy == strategy
    assert re_engine.compile(pattern, engine="dfa").strategy == "automata"


@pytest.mark.parametrize(("strategy", "pattern"), BY_STRATEGY)
@settings(max_examples=60, deadline=None)
@given(text=st.text(alphabet="abc1@ \n", max_size=16))
def test_each_strategy_agrees_with_re(strategy: str, pattern: str, text: str) -> None:
    ref = re.compile(pattern)
    _all_ops_agree(re_engine.compile(pattern), ref, text)
    _all_ops_agree(re_engine.compile(pattern, engine="dfa"), ref, text)


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(patterns(), TEXT)
def test_generated_patterns_agree_with_re_on_every_operation(pattern: str, text: str) -> None:
    assume(r"\B" not in pattern)  # \B on the empty string is a 3.11 quirk of re
    ref = re.compile(pattern)
    _all_ops_agree(re_engine.compile(pattern), ref, text)


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(patterns(), TEXT)
def test_submatch_passes_agree(pattern: str, text: str) -> None:
    """On every match span: backtracker == Pike VM == re on the span (when proved usable)."""
    assume(r"\B" not in pattern)
    p = re_engine.compile(pattern, engine="dfa")
    a = p._strategy
    assert isinstance(a, Automata)
    eng = a.eng
    prog = eng.prog
    sg = span_groups(a.res, False, False, prog, eng.is_word)
    ctx = context_fn(text, eng.is_word)
    prev = (-1, -1)
    for sl in a.slots(text, 0, False):
        s, e = sl
        # after an empty match, the next may start there but not be empty (as in re)
        after_empty = s if prev == (s, s) else -1
        prev = (s, e)
        viavm = pike(prog, text, s, e, len(text), ctx, anchored=True, not_empty_at=after_empty)
        assert viavm is not None and list(viavm) == eng.backtracker.slots(text, s, e)
        if sg is not None:
            got = sg.slots(text, s, e)
            if got is not None:
                assert got == list(viavm), (pattern, text, s, e)


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (r"^([A-Z0-9]+);([^;]+);([^;]*)$", True),
        (r"(\w+)@(\w+)", True),
        (r"(a|ab)(c|bcd)", False),  # two ways on at 'a'
        (r"(a*)*", False),  # nullable loop body
        (r"[a-z]+ing", False),  # 'i' both continues the loop and starts "ing"
        (r"(?i:# noqa)(?::\s?(([A-Z]+[0-9]+(?:[,\s]+)?)+))?", True),
        (r"(\d+)(\w)", False),  # a digit continues the loop or is the \w
    ],
)
def test_one_pass(pattern: str, expected: bool) -> None:
    p = re_engine.compile(pattern, engine="dfa")
    assert one_pass(p._strategy.eng.prog) is expected  # type: ignore[attr-defined]


def test_span_groups_refuse_an_unfaithful_end() -> None:
    # the match ends before a word character: re, cut there, would see \b
    p = re_engine.compile(r"(a+)(\b|b)", engine="dfa")
    a = p._strategy
    assert isinstance(a, Automata)
    sg = span_groups(a.res, False, False, a.eng.prog, a.eng.is_word)
    assert sg is not None
    assert sg.slots("aab", 0, 3) is not None  # ends at the text's end: faithful
    assert not sg.faithful("aaba", 2)
    assert p.search("aaba") is not None
    assert p.search("aaba").groups() == re.search(r"(a+)(\b|b)", "aaba").groups()  # type: ignore[union-attr]


def test_long_spans_use_the_backtracker_and_stay_correct() -> None:
    # not one-pass, several loops: neither re on the span nor ... (groups by the backtracker)
    pat = r"((?:a|ab)+)(b*)c"
    text = "ab" * 3000 + "bbc"
    ours = re_engine.compile(pat).search(text)
    ref = re.search(pat, text)
    assert ours is not None and ref is not None
    assert ours.span() == ref.span() and ours.groups() == ref.groups()


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(patterns(), st.text(alphabet="abc 1\n", max_size=30))
def test_a_thrashing_cache_leaves_the_dfa_with_the_same_answers(pattern: str, text: str) -> None:
    """With a cache of two states every scan flushes and goes on without caching."""
    assume(r"\B" not in pattern)
    p = re_engine.compile(pattern, engine="dfa")
    a = p._strategy
    assert isinstance(a, Automata)
    for which in ("unanch", "anch", "longest", "rev"):
        a.eng.dfa(which).max_states = 2
    ref = re.compile(pattern)
    assert [(x.span(), x.groups()) for x in p.finditer(text)] == [
        (x.span(), x.groups()) for x in ref.finditer(text)
    ]
    m, r = p.match(text), ref.match(text)
    assert (m is None) == (r is None) and (m is None or m.span() == r.span())  # type: ignore[union-attr]


def test_exponential_dfa_runs_with_bounded_memory() -> None:
    import random

    rnd = random.Random(5)
    text = "".join(rnd.choice("ab") for _ in range(30_000))
    p = re_engine.compile(r"(a|b)*a(a|b){30}c")
    assert p.search(text) is None
    dfa = p._strategy.eng.dfa("unanch")  # type: ignore[attr-defined]
    # it leaves for the bit-parallel scan (early: before filling the cache)
    assert len(dfa.states) <= dfa.max_states and dfa.gave_up >= 1
    m = p.search(text + "c")
    assert m is not None and m.span() == re.search(r"(a|b)*a(a|b){30}c", text + "c").span()  # type: ignore[union-attr]


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["", r"\b", "^", r"\A", r"\b^"]),
    st.sampled_from([r"\w", r"[0-9A-Za-z_]", r"\W", r"[^\n]", "[ab]", r"[a\s]"]),
    st.sampled_from(["+", "*", "{2,}", "+?"]),
    st.sampled_from(["", r"\b", "$", r"\b$"]),
    st.booleans(),
    st.text(alphabet="ab é\n.", max_size=20),
)
def test_guarded_class_loops_agree_with_re(
    pre: str, cls: str, q: str, post: str, group: bool, text: str
) -> None:
    loop = f"({cls}{q})" if group else f"{cls}{q}"
    pattern = pre + loop + post
    ref = re.compile(pattern, re.M)
    _all_ops_agree(re_engine.compile(pattern, flags=re.M), ref, text)
    ref = re.compile(pattern)
    _all_ops_agree(re_engine.compile(pattern), ref, text)


@pytest.mark.parametrize(
    "pattern", [r"\b\w+\b", r"\b[0-9A-Za-z_]+\b", r"\b\w{12,}\b", r"\w+\b", r"(?m)^[^\n]+$"]
)
def test_guarded_class_loops_go_to_re(pattern: str) -> None:
    assert re_engine.compile(pattern).strategy == "re"


@pytest.mark.parametrize(
    "pattern", [b"b|(a)+", b"(a)|b", b"b|(a)(c)?", b"a|a(a)+", b"a|(a)(b)+|(c)", "b|(a)+"]
)
def test_findall_gives_unset_groups_in_the_texts_type(pattern: str | bytes) -> None:
    """An unset group's text is ``b""`` over bytes, ``""`` over str (found by hypothesis:
    the one-pass findall took ``re``'s groups with a str default)."""
    for text in ("bab", "aac"):
        t = text.encode() if isinstance(pattern, bytes) else text
        assert re_engine.compile(pattern).findall(t) == re.compile(pattern).findall(t)
