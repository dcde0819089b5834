"""POSIX ERE/BRE: leftmost-longest matches and POSIX subgroup rules."""

from __future__ import annotations

import regex
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import re_engine


def spans(pattern: str, text: str, syntax: str = "posix") -> list[tuple[int, int]] | None:
    m = re_engine.compile(pattern, syntax=syntax).search(text)
    if m is None:
        return None
    return [m.span(i) for i in range(m.re.groups + 1)]


def test_subexpressions_leftmost_longest_left_to_right() -> None:
    # POSIX: "each subpattern, from left to right, shall match the longest
    # possible string" (XBD 9.1) -- Fowler's testregex categorize.dat entries.
    assert spans("(a|ab)(c|bcd)(d*)", "abcd") == [(0, 4), (0, 2), (2, 3), (3, 4)]
    assert spans("(a|ab)(bcd|c)(d*)", "abcd") == [(0, 4), (0, 2), (2, 3), (3, 4)]
    # leftmost-first (Perl) semantics gives the other parse, for comparison
    m = re_engine.compile("(a|ab)(c|bcd)(d*)").search("abcd")
    assert m is not None and m.groups() == ("a", "bcd", "")


def test_overall_longest() -> None:
    assert spans("a|ab|abc", "xabcd") == [(1, 4)]
    assert spans("(wee|week)(knights|night)", "weeknights") == [(0, 10), (0, 3), (3, 10)]
    assert spans("a*", "baaa") == [(0, 0)]
    assert spans("(a+|b+)*", "aabba") == [(0, 5), (4, 5)]


def test_nullable_subexpressions() -> None:
    assert spans("(a*)(b|abc)", "abc") == [(0, 3), (0, 0), (0, 3)]
    assert spans("(a*)*", "b") == [(0, 0), (0, 0)]
    assert spans("(a*)+", "b") == [(0, 0), (0, 0)]
    assert spans("(a|b)*", "") == [(0, 0), (-1, -1)]
    assert spans("(a*)(a*)", "aa") == [(0, 2), (0, 2), (2, 2)]


def test_repetitions() -> None:
    assert spans("(a|ab)*", "abab") == [(0, 4), (2, 4)]
    assert spans("(.?)*", "x") == [(0, 1), (0, 1)]
    assert spans("(a|b)*", "ab") == [(0, 2), (1, 2)]
    assert spans("x(a|ab)*y", "xabay") == [(0, 5), (3, 4)]
    assert spans("(ab|a)(bc|c)?", "abc") == [(0, 3), (0, 2), (2, 3)]
    assert spans("(a{1,2}){2}", "aaa") == [(0, 3), (2, 3)]


def test_alternation_associativity() -> None:
    assert spans("((a)|b)(c|(ab))", "abc") == [(1, 3), (1, 2), (-1, -1), (2, 3), (-1, -1)]
    assert spans("(a|ab|abc)(c|bcd|d)", "abcd") == [(0, 4), (0, 3), (3, 4)]
    assert spans("((a|ab)|abc)(d*)", "abcd") == [(0, 4), (0, 3), (-1, -1), (3, 4)]
    assert spans("(a|(ab|abc))(d*)", "abcd") == [(0, 4), (0, 3), (0, 3), (3, 4)]


def test_bre() -> None:
    assert spans(r"\(ab*\)\{2\}c", "xabbac", "posix_basic") == [(1, 6), (4, 5)]
    assert spans(r"a\{2,\}", "aaaa", "posix_basic") == [(0, 4)]
    assert spans(r"*a", "x*a", "posix_basic") == [(1, 3)]
    assert spans(r"a|b", "a|b", "posix_basic") == [(0, 3)]
    assert spans(r"a\|b", "b", "posix_basic") == [(0, 1)]


def test_brackets_and_classes() -> None:
    assert spans("[[:alpha:]]+[[:digit:]]", "-- abc1") == [(3, 7)]
    assert spans("[]a]+", "x]a]") == [(1, 4)]
    assert spans("[^[:space:]]+", "  ab ") == [(2, 4)]
    assert spans("[a\\]+", "a\\") == [(0, 2)]


def test_errors() -> None:
    import pytest

    for pat, pos, cls in [
        ("[[.a.]]", 1, re_engine.NotSupported),
        ("[[=a=]]", 1, re_engine.NotSupported),
        ("(a)\\1", 3, re_engine.NotSupported),
        ("[[:nope:]]", 1, re_engine.ParseError),
        ("(ab", 0, re_engine.ParseError),
        ("a{2,1}", 1, re_engine.ParseError),
        ("*a", 0, re_engine.ParseError),
    ]:
        with pytest.raises(cls) as ei:
            re_engine.compile(pat, syntax="posix")
        assert ei.value.pos == pos, (pat, str(ei.value))


def test_multiline_flag() -> None:
    p = re_engine.compile("^b.*$", syntax="posix", flags=re_engine.M)
    assert p.findall("a\nbc\nbd") == ["bc", "bd"]
    assert re_engine.compile("a.b", syntax="posix").search("a\nb") is not None


@st.composite
def ere(draw: st.DrawFn, depth: int = 0) -> str:
    kind = draw(st.integers(0, 4 if depth < 3 else 0))
    if kind <= 1:
        return draw(st.sampled_from(["a", "b", "c", ".", "[ab]", "[^a]"]))
    if kind == 2:
        return "".join(draw(st.lists(ere(depth + 1), min_size=1, max_size=3)))
    if kind == 3:
        return "(" + "|".join(draw(st.lists(ere(depth + 1), min_size=1, max_size=3))) + ")"
    q = draw(st.sampled_from(["*", "+", "?", "{1,2}", "{2}"]))
    return "(" + draw(ere(depth + 1)) + ")" + q


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ere(), st.text(alphabet="abc", max_size=10))
def test_overall_match_agrees_with_regex_posix(pattern: str, text: str) -> None:
    ours = re_engine.compile(pattern, syntax="posix")
    ref = regex.compile(pattern, flags=regex.POSIX | regex.DOTALL)
    m, r = ours.search(text), ref.search(text)
    assert (m is None) == (r is None)
    if m is not None and r is not None:
        assert m.span() == r.span()
        # groups are computed and consistent with the overall span
        for i in range(1, ours.groups + 1):
            s, e = m.span(i)
            assert s == -1 or m.start() <= s <= e <= m.end()
    assert [x.span() for x in ours.finditer(text)] == [x.span() for x in ref.finditer(text)]
