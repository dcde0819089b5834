"""POSIX ERE/BRE: leftmost-longest matches and POSIX subgroup rules."""

from __future__ import annotations

from typing import Any

import pytest
import regex
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import re_engine
from re_engine import ast as R
from re_engine.prog import Cap, resolve


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


# ------------------------------- submatches of repeated groups (issue 12 item 7a)

# Kuklewicz's repetition tests (regex-posix-unittest, repetition2.txt) and
# Fowler's testregex nullsubexpr.dat, with the POSIX answers: a group inside a
# repeated group reports the last iteration, and is unset when that iteration
# took a branch without it ((?,?) in those files, (-1, -1) here).
U = (-1, -1)
KNOWN = [
    ("((..)|(.)){2}", "aaa", [(0, 3), (2, 3), U, (2, 3)]),
    ("((..)|(.)){3}", "aaa", [(0, 3), (2, 3), U, (2, 3)]),
    ("((..)|(.))*", "aaa", [(0, 3), (2, 3), U, (2, 3)]),
    ("((..)|(.)){2}", "aa", [(0, 2), (1, 2), U, (1, 2)]),
    ("((..)|(.)){3}", "aaaa", [(0, 4), (3, 4), U, (3, 4)]),
    ("((..)|(.))*", "aaaa", [(0, 4), (2, 4), (2, 4), U]),
    ("((..)|(.)){3}", "aaaaa", [(0, 5), (4, 5), U, (4, 5)]),
    ("((..)|(.)){3}", "aaaaaa", [(0, 6), (4, 6), (4, 6), U]),
    ("((..)|(.))*", "", [(0, 0), U, U, U]),
    ("((z)+|a)*", "zabcde", [(0, 2), (1, 2), U]),
    ("((a)|b)*", "ab", [(0, 2), (1, 2), U]),
    ("(a|ab|c|bcd)*(d*)", "ababcd", [(0, 6), (3, 6), (6, 6)]),
    ("(a|ab|c|bcd){3,10}(d*)", "ababcd", [(0, 6), (3, 6), (6, 6)]),
    ("X(.?){0,}Y", "X1234567Y", [(0, 9), (7, 8)]),
    ("X(.?){8,}Y", "X1234567Y", [(0, 9), (8, 8)]),
    ("(a*)*", "x", [(0, 0), (0, 0)]),
    ("(a+)*", "x", [(0, 0), U]),
    ("(a*)+(x)", "ax", [(0, 2), (0, 1), (1, 2)]),
    ("(a*){2}(x)", "ax", [(0, 2), (1, 1), (1, 2)]),
    ("([ab]*)*", "aaaabcde", [(0, 5), (0, 5)]),
]


@pytest.mark.parametrize(("pattern", "text", "expected"), KNOWN)
def test_repeated_group_submatches(
    pattern: str, text: str, expected: list[tuple[int, int]]
) -> None:
    assert spans(pattern, text) == expected
    assert reference(pattern, text) == expected  # the reference below agrees


# A reference POSIX matcher: every parse of the span, the best by POSIX's
# rule (XBD 9.1, as Kuklewicz and Fowler read it): in a concatenation each
# element from left to right takes the longest piece that lets the rest match,
# each iteration of a repetition the longest non-empty piece, an alternation
# its first alternative that matches; the groups of a repeated subexpression
# are those of its last iteration.  Exhaustive, so only for tiny inputs.

Key = tuple[Any, ...]
Parse = tuple[Key, dict[int, tuple[int, int]]]


def _parses(c: Any, text: str, i: int, j: int, memo: dict[Any, list[Parse]]) -> list[Parse]:
    k = (id(c), i, j)
    got = memo.get(k)
    if got is not None:
        return got
    out: list[Parse] = []
    if isinstance(c, R.Set):
        if j == i + 1 and ord(text[i]) in c.cs:
            out.append(((), {}))
    elif isinstance(c, Cap):
        out = [(key, {**caps, c.index: (i, j)}) for key, caps in _parses(c.node, text, i, j, memo)]
    elif isinstance(c, R.Seq):
        out = _seq(c.items, text, i, j, memo)
    elif isinstance(c, R.Alt):
        for n, alt in enumerate(c.items):
            out += [((-n, key), caps) for key, caps in _parses(alt, text, i, j, memo)]
    elif isinstance(c, R.Repeat):
        out = _rep(c, c.min, c.max, text, i, j, memo, first=True)
    else:
        raise AssertionError(f"not in the test grammar: {c!r}")
    memo[k] = out
    return out


def _seq(items: Any, text: str, i: int, j: int, memo: dict[Any, list[Parse]]) -> list[Parse]:
    if not items:
        return [((), {})] if i == j else []
    out: list[Parse] = []
    for x in range(i, j + 1):
        for k1, c1 in _parses(items[0], text, i, x, memo):
            for k2, c2 in _seq(items[1:], text, x, j, memo):
                out.append((((x - i, k1), *k2), {**c1, **c2}))
    return out


def _rep(
    c: Any,
    lo: int,
    hi: int | None,
    text: str,
    i: int,
    j: int,
    memo: dict[Any, list[Parse]],
    first: bool,
) -> list[Parse]:
    """Iterations of ``c.node`` covering ``[i, j)``, between ``lo`` and ``hi`` of them."""
    body = c.node
    out: list[Parse] = []
    if i == j:
        # empty iterations only where needed: to reach the minimum, or one for
        # a nullable body when nothing else matched ("(a*)*" on "x": (0,0)(0,0))
        if lo > 0 or first:
            for key, caps in _parses(body, text, i, i, memo):
                out.append((((0, key),) * max(lo, 1), caps))
        if lo == 0:
            out.append(((), {}))
        return out
    if hi == 0:
        return []
    for x in range(i + 1, j + 1):
        for k1, c1 in _parses(body, text, i, x, memo):
            nxt = None if hi is None else hi - 1
            for k2, c2 in _rep(c, max(lo - 1, 0), nxt, text, x, j, memo, first=False):
                # groups of this iteration count only if no iteration follows
                out.append((((x - i, k1), *k2), c2 if k2 else c1))
    return out


def reference(
    pattern: str, text: str, pos: int = 0, not_empty: bool = False
) -> list[tuple[int, int]] | None:
    """The leftmost-longest match at or after ``pos`` (``not_empty``: none empty at ``pos``)."""
    p = re_engine.compile(pattern, syntax="posix")
    core = resolve(p.node, False, "longest").core
    memo: dict[Any, list[Parse]] = {}
    n = len(text)
    for s in range(pos, n + 1):
        for e in range(n, s - 1, -1):
            if not_empty and s == e == pos:
                continue
            found = _parses(core, text, s, e, memo)
            if found:
                _key, caps = max(found, key=lambda kc: kc[0])
                return [(s, e)] + [caps.get(g, U) for g in range(1, p.groups + 1)]
    return None


@st.composite
def ere_loops(draw: st.DrawFn, depth: int = 0) -> str:
    """ERE patterns made of nested repeated groups and alternatives."""
    kind = draw(st.integers(0, 4 if depth < 3 else 0))
    if kind <= 1:
        return draw(st.sampled_from(["a", "b", ".", "[ab]"]))
    if kind == 2:
        return "".join(draw(st.lists(ere_loops(depth + 1), min_size=1, max_size=3)))
    if kind == 3:
        return "(" + "|".join(draw(st.lists(ere_loops(depth + 1), min_size=2, max_size=3))) + ")"
    q = draw(st.sampled_from(["*", "+", "?", "{2}", "{0,2}", "{1,3}"]))
    return "(" + draw(ere_loops(depth + 1)) + ")" + q


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ere_loops(), st.text(alphabet="ab", max_size=5))
def test_submatches_agree_with_the_reference(pattern: str, text: str) -> None:
    assert spans(pattern, text) == reference(pattern, text)
    # successive matches too (finditer, sub and split share this path)
    expected: list[list[tuple[int, int]]] = []
    pos, not_empty = 0, False
    while pos <= len(text):
        got = reference(pattern, text, pos, not_empty)
        if got is None:
            break
        expected.append(got)
        pos, not_empty = got[0][1], got[0][0] == got[0][1]
    p = re_engine.compile(pattern, syntax="posix")
    assert [[m.span(i) for i in range(p.groups + 1)] for m in p.finditer(text)] == expected
