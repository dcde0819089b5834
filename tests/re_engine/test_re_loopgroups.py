"""Groups of ``F1 B{m,n} F2`` matches from their span (re_engine.loopgroups), against ``re``."""

from __future__ import annotations

import random
import re
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import re_engine
from re_engine import backtrack, meta
from re_engine.loopgroups import LoopGroups
from re_engine.meta import Automata

# fixed-length pieces: groups set or not on a path, nested, repeated, assertions
FIXED = [
    "a",
    "(a)",
    "[ab]",
    "(a|(b))",
    "(?:(a)|b)",
    "(?:a(b)|(b)a)",
    "((a)b|b(a))",
    "(a){2}",
    "(.)",
    r"\b",
    r"(\b)",
    "(?:^)",
    "($)",
    "(?:c|(a))",
]
# loop bodies: every group set by every path (handled), or not (the full pass)
BODY_ALWAYS = ["(a|b)", "(?:(a|b)(.))", "(ab|ba)", "((a|b){2})", "[ab]", r"(\b[ab])"]
BODY_SOMETIMES = ["(?:(.)|a)", "((a)|(b))", "(?:(a)b|(a)c)", "(?:(a)|.)", "(a)?"]
QUANT = ["*", "+", "{2,}", "{1,3}", "{0,4}", "*?", "+?"]


@st.composite
def loop_patterns(draw: st.DrawFn) -> str:
    """``F1 B{m,n} F2`` with groups inside each piece and around the loop."""
    f1 = "".join(draw(st.lists(st.sampled_from(FIXED), max_size=3)))
    body = draw(st.sampled_from(BODY_ALWAYS + BODY_SOMETIMES))
    if not body.startswith("(") or body.endswith(("?", "}")):
        body = f"(?:{body})"
    loop = body + draw(st.sampled_from(QUANT))
    f2 = "".join(draw(st.lists(st.sampled_from(FIXED), max_size=3)))
    wrap = draw(st.sampled_from(["loop", "pre", "post", "all", "none"]))
    if wrap == "loop":
        return f"{f1}({loop}){f2}"
    if wrap == "pre":
        return f"({f1}{loop}){f2}"
    if wrap == "post":
        return f"{f1}({loop}{f2})"
    if wrap == "all":
        return f"({f1}{loop}{f2})"
    return f1 + loop + f2


def _regs(m: Any, groups: int) -> tuple[tuple[int, int], ...]:
    return tuple(m.span(g) for g in range(groups + 1))


def _agree(p: Any, ref: re.Pattern[Any], text: Any) -> None:
    for how in ("search", "match", "fullmatch"):
        m, r = getattr(p, how)(text), getattr(ref, how)(text)
        assert (m is None) == (r is None), how
        if m is not None and r is not None:
            assert m.span() == r.span(), how
            assert _regs(m, ref.groups) == r.regs, how
    assert [_regs(x, ref.groups) for x in p.finditer(text)] == [x.regs for x in ref.finditer(text)]


def _loop_groups(p: Any) -> LoopGroups | None:
    a = p._strategy
    assert isinstance(a, Automata)
    return a.eng.loop_groups


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(loop_patterns(), st.text(alphabet="ab c\n", max_size=40))
def test_groups_agree_with_re(pattern: str, text: str) -> None:
    p = re_engine.compile(pattern, engine="dfa")
    _agree(p, re.compile(pattern), text)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(loop_patterns(), st.binary(max_size=40).map(lambda b: bytes(b"ab c\n"[x % 5] for x in b)))
def test_bytes_groups_agree_with_re(pattern: str, text: bytes) -> None:
    bpat = pattern.encode()
    _agree(re_engine.compile(bpat, engine="dfa"), re.compile(bpat), text)


# group-free heads of the tail form: loops of any kind, lazy, nullable bodies
HEADS = ["(?:a|b)*", "(?:a*|b)*", "(?:a+|b)+", "(?:a|ab)*", "(?:ab|a)*?", "[ab]*?", "(?:b?)*"]
HEADS += [".*", "(?:a|b)+?", "a*", "(?:a|b\\b)*", "c?"]


@st.composite
def tail_patterns(draw: st.DrawFn) -> str:
    """``X F2``: a group-free head, a fixed-length tail with groups, maybe a group around all."""
    head = "".join(draw(st.lists(st.sampled_from(HEADS), min_size=1, max_size=2)))
    tail = "".join(draw(st.lists(st.sampled_from(FIXED), min_size=1, max_size=3)))
    return draw(st.sampled_from([f"{head}{tail}", f"({head}{tail})"]))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tail_patterns(), st.text(alphabet="ab c\n", max_size=40))
def test_tail_groups_agree_with_re(pattern: str, text: str) -> None:
    """The tail form on every span (not only long ones): groups as re's."""
    p, ref = re_engine.compile(pattern, engine="dfa"), re.compile(pattern)
    assert (_loop_groups(p) is not None) == (ref.groups > 0), pattern
    with mock.patch.object(meta, "_LOOP_SPAN", 0):
        _agree(p, ref, text)


@pytest.mark.parametrize(
    ("pattern", "handled"),
    [
        (r"(?:a*|b)*a([ab]{30})", True),
        (r"(?:(?:ab)+|b)*?(a)[ab]{30}", True),
        (r"((?:a|ab)*c)(\b)", True),
        (r"(a*|b)*a([ab]{30})", False),  # a group in the head
        (r"(?:a|ab)*(c)(?:b|$)", False),  # (?:b|$) is not fixed-length: (c) is in the head
        (r"(?:a|b)*(a)?b", False),
        (r"(?:a|b)*((?:a|b)*a)b", False),  # a group that starts inside the head
    ],
)
def test_tail_form_decides(pattern: str, handled: bool) -> None:
    """Built where every group is in the fixed-length tail or around the whole pattern."""
    assert (_loop_groups(re_engine.compile(pattern, engine="dfa")) is not None) == handled


def test_tail_groups_of_a_huge_span() -> None:
    """A group-free head over 200k characters: one capture pass over the 31-character tail."""
    rnd = random.Random(17)
    text = "".join(rnd.choice("ab") for _ in range(200_000 - 31))
    text = text + "a" + text[:30]
    for pattern in [r"(?:a*|b)*a([ab]{30})", r"(?:a+|b)+a(([ab])[ab]{29})$"]:
        p, ref = re_engine.compile(pattern), re.compile(pattern)
        assert p.strategy == "automata" and _loop_groups(p) is not None
        m, r = p.search(text), ref.search(text)
        assert m is not None and r is not None and r.span() == (0, 200_000)
        assert _regs(m, ref.groups) == r.regs


@pytest.mark.parametrize(
    "pattern",
    [
        r"(a|b)*a(a|b){3}",
        r"x((a|b)*)a(a|b){3}",
        r"(\b(ab|ba))+(a)?",  # an optional group is fixed-length only with its loop: no
        r"(a|(b))((a|b){2})*(c)",
        r"^(a(b)|b(a))(?:(a|b)(.))+?$",
    ],
)
def test_shape_decides(pattern: str) -> None:
    """Built exactly where first_is_longest holds and every group of the body is always set."""
    lg = _loop_groups(re_engine.compile(pattern, engine="dfa"))
    handled = pattern in (r"(a|b)*a(a|b){3}", r"x((a|b)*)a(a|b){3}", r"(a|(b))((a|b){2})*(c)")
    assert (lg is not None) == handled


@pytest.mark.parametrize(
    "pattern",
    [r"((a)|(b))*c", r"(?:(a)|.)+c", r"(a|b)*?c", r"(a)*(b)*", r"(a|bb)*c", r"(a){3}"],
)
def test_not_handled_where_not_exact(pattern: str) -> None:
    """A body group some path leaves unset (re keeps an older value), lazy, two loops, no loop."""
    assert _loop_groups(re_engine.compile(pattern, engine="dfa")) is None
    text = "abab" * 5 + "c"
    _agree(re_engine.compile(pattern, engine="dfa"), re.compile(pattern), text)


def test_a_huge_span_costs_passes_over_short_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    """The issue's case over 200k characters: groups as re's, each capture pass a few characters."""
    rnd = random.Random(16)
    text = "".join(rnd.choice("ab") for _ in range(200_000 - 31))
    text = text + "a" + text[:30]  # the match spans it all (re finds it from the start)
    pattern = r"((a|b)*)a((a|b){30})($)"
    p = re_engine.compile(pattern)
    assert p.strategy == "automata" and _loop_groups(p) is not None
    widest = [0]
    run = backtrack.Backtracker._run

    def spy(self: Any, text: Any, s: int, e: int) -> Any:
        widest[0] = max(widest[0], e - s)
        return run(self, text, s, e)

    monkeypatch.setattr(backtrack.Backtracker, "_run", spy)
    m, r = p.search(text), re.search(pattern, text)
    assert m is not None and r is not None
    assert m.span() == r.span() == (0, 200_000)
    assert m.groups() == r.groups() and _regs(m, 5) == r.regs
    assert 0 < widest[0] <= 31
    full = p.fullmatch(text)
    assert full is not None and _regs(full, 5) == r.regs


@pytest.mark.parametrize(
    "pattern",
    [r"([ab])*a(?:(a)|(b)){30}", r"(a|b)*\Ba(a|b){30}", r"((ab|ba))+(\w)\b"],
)
def test_long_spans_re_cannot_take(pattern: str) -> None:
    """Patterns SpanGroups refuses (too many paths, ``\\B``): the groups of a 20k span, as re's."""
    rnd = random.Random(7)
    text = "".join(rnd.choice(["ab", "ba"]) for _ in range(10_000)) + "a "
    p, ref = re_engine.compile(pattern), re.compile(pattern)
    assert p.strategy == "automata" and _loop_groups(p) is not None
    m, r = p.search(text), ref.search(text)
    assert m is not None and r is not None and r.end() - r.start() > 10_000
    assert _regs(m, ref.groups) == r.regs
