"""The bit-parallel NFA (re_engine.bitnfa): exact against ``re`` when the lazy DFA thrashes."""

from __future__ import annotations

import random
import re
import time
import tracemalloc
from typing import Any
from unittest import mock

import regex
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import re_engine
from re_engine import backtrack
from re_engine.bitnfa import BitNFA, first_is_longest
from re_engine.meta import Automata

from .test_re_perl import patterns

# pieces of fixed length (alternatives overlapping or not), and loop bodies
FIXED = ["a", "b", "[ab]", "(a|b)", "(?:a|[ab])", "(ab|ba)", ".", "[^a]", "(?:a|b)(c|a)", ""]
BODY = ["a", "[ab]", "(a|b)", "(?:a|[ab])", "(ab|ba|c.)", "(?:.)", "[^c]", "(?:(a|b|c){2})"]
QUANT = ["*", "+", "{2,}", "{1,3}", "{0,4}", "{3}"]


@st.composite
def fl_patterns(draw: st.DrawFn) -> str:
    """``F1 B{m,n} F2``: the shape :func:`first_is_longest` proves."""
    f1 = "".join(draw(st.lists(st.sampled_from(FIXED), max_size=3)))
    body = draw(st.sampled_from(BODY))
    if not body.startswith("("):
        body = f"(?:{body})"
    q = draw(st.sampled_from(QUANT))
    loop = body + q
    if draw(st.booleans()):
        loop = f"({loop})"
    f2 = "".join(draw(st.lists(st.sampled_from(FIXED), max_size=3)))
    return f1 + loop + f2


def _thrashing(pattern: str, flags: int = 0) -> Any:
    """The pattern on the automata, with state caches so small that every scan gives up."""
    p = re_engine.compile(pattern, flags=flags, engine="dfa")
    a = p._strategy
    assert isinstance(a, Automata)
    for eng in (a.eng, a._full()):
        for which in ("unanch", "anch", "longest", "rev"):
            eng.dfa(which).max_states = 2
    return p


def _gave_up(p: Any) -> int:
    a = p._strategy
    return sum(d.gave_up for eng in (a.eng, a._full()) for d in eng._dfas.values())


def _agree(p: Any, ref: re.Pattern[Any], text: Any) -> None:
    assert [(x.span(), x.groups()) for x in p.finditer(text)] == [
        (x.span(), x.groups()) for x in ref.finditer(text)
    ]
    for pos in (0, 2, 5):
        m, r = p.search(text, pos), ref.search(text, pos)
        assert (m is None) == (r is None)
        if m is not None and r is not None:
            assert m.span() == r.span() and m.groups() == r.groups()
    for how in ("match", "fullmatch"):
        m, r = getattr(p, how)(text), getattr(ref, how)(text)
        assert (m is None) == (r is None), how
        if m is not None and r is not None:
            assert m.span() == r.span() and m.groups() == r.groups(), how


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fl_patterns(), st.text(alphabet="abc", max_size=40))
def test_first_is_longest_patterns_agree_with_re_when_thrashing(pattern: str, text: str) -> None:
    p = _thrashing(pattern)
    assert first_is_longest(p._strategy.eng.core)
    assert BitNFA.build(p._strategy.eng.plain) is not None
    _agree(p, re.compile(pattern), text)


ASSERTIONS = ["", r"\b", r"\B", "^", "$", r"\A", r"\Z", r"(?m:^)", r"(?m:$)"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(ASSERTIONS),
    fl_patterns(),
    st.sampled_from(ASSERTIONS),
    st.text(alphabet="ab c\n", max_size=40),
)
def test_assertions_agree_with_re_when_thrashing(
    pre: str, pattern: str, post: str, text: str
) -> None:
    """Closures per context (the characters either side): word boundaries, lines, ends."""
    pattern = pre + pattern + post
    assume(not (r"\B" in pattern and text == ""))  # a 3.11 quirk of re
    p = _thrashing(pattern)
    assert BitNFA.build(p._strategy.eng.plain) is not None
    _agree(p, re.compile(pattern), text)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fl_patterns(), st.binary(max_size=40).map(lambda b: bytes(97 + x % 3 for x in b)))
def test_bytes_patterns_agree_with_re_when_thrashing(pattern: str, text: bytes) -> None:
    bpat = pattern.encode()
    _agree(_thrashing(bpat), re.compile(bpat), text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(patterns(), st.text(alphabet="abc 1", max_size=16))
def test_set_scans_answer_what_sets_can(pattern: str, text: str) -> None:
    """Against ``re.fullmatch`` on every span: leftmost start, longest and earliest ends."""
    p = re_engine.compile(pattern, engine="dfa")
    bit = BitNFA.build(p._strategy.eng.plain)
    # re.fullmatch on a cut text would see its end there (the full-match
    # programs' final \z is checked by the thrashing tests above)
    assume(bit is not None and _no_assertion(pattern))
    assert bit is not None
    _check_set_scans(bit, re.compile(pattern), text)


def test_many_exceptional_edges_use_chunk_tables() -> None:
    pattern = "a*b*c*d*e*f*g*h*(?:a|b)*c(?:a|h)"
    bit = BitNFA.build(re_engine.compile(pattern, engine="dfa")._strategy.eng.plain)
    assert bit is not None and bit._edges is not None and bit._edges.chunks
    rnd = random.Random(4)
    for _ in range(30):
        text = "".join(rnd.choice("abcdefgh") for _ in range(rnd.randrange(16)))
        _check_set_scans(bit, re.compile(pattern), text)


def _check_set_scans(bit: BitNFA, ref: re.Pattern[str], text: str) -> None:
    n = len(text)
    spans = {(s, e) for s in range(n + 1) for e in range(s, n + 1) if ref.fullmatch(text, s, e)}
    for pos in (0, 1, 4):
        if pos > n:
            continue
        mine = [sp for sp in spans if sp[0] >= pos]
        got = bit.leftmost(text, pos)
        if not mine:
            assert got is None
            assert bit.earliest_unanchored(text, pos, 0) == -1
            continue
        s0 = min(s for s, _ in mine)
        assert got == (s0, max(e for s, e in mine if s == s0))
        assert bit.earliest_unanchored(text, pos, 0) == min(e for _, e in mine)
        ends = [e for s, e in mine if s == pos]
        assert bit.longest(text, pos, bit.start_mask, -1) == max(ends, default=-1)
        # not empty at pos: the next one (finditer's rule after an empty match)
        rest = [sp for sp in mine if sp != (pos, pos)]
        got = bit.leftmost(text, pos, skip_empty=True)
        if rest:
            s1 = min(s for s, _ in rest)
            assert got == (s1, max(e for s, e in rest if s == s1))
        else:
            assert got is None


def _no_assertion(pattern: str) -> bool:
    """No assertion: ``re.fullmatch(text, s, e)`` sees a cut text's edges where the text goes on."""
    return not any(x in pattern for x in ("$", "^", "\\A", "\\Z", "\\b", "\\B"))


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(patterns(), st.text(alphabet="abc 1", max_size=10))
def test_first_is_longest_is_sound(pattern: str, text: str) -> None:
    """Where the proof holds, ``re``'s match from each start is the longest one."""
    p = re_engine.compile(pattern, engine="dfa")
    assume(first_is_longest(p._strategy.eng.core) and _no_assertion(pattern))
    ref = re.compile(pattern)
    n = len(text)
    for s in range(n + 1):
        m = ref.match(text, s)
        ends = [e for e in range(s, n + 1) if ref.fullmatch(text, s, e)]
        assert (m is None) == (not ends)
        if m is not None:
            assert m.end() == max(ends), (s, m.span(), ends)


# loop bodies that can match empty (programs with ENTER/CHECK); the ones
# before "|" are those first_is_longest proves (empty match last in priority)
NULL_BODY = ["(a|b?)", "(?:[ab]|c?)", "(a?)", "(a*|b)", "(?:a?b?)", "(b?|a)", r"(\b|a)", "(a|)"]
NULL_QUANT = ["*", "+", "{0,3}", "{2,}", "*?"]


@st.composite
def null_patterns(draw: st.DrawFn, asserts: bool = True) -> str:
    """``F1 B* F2`` with ``B`` nullable, other loops around, assertions at the edges."""
    f1 = "".join(draw(st.lists(st.sampled_from([*FIXED, "a*", "(?:a|b)*"]), max_size=2)))
    bodies = NULL_BODY if asserts else [b for b in NULL_BODY if "\\" not in b]
    loop = draw(st.sampled_from(bodies)) + draw(st.sampled_from(NULL_QUANT))
    if draw(st.booleans()):
        loop = f"(?:{loop})*"
    f2 = "".join(draw(st.lists(st.sampled_from(FIXED), max_size=3)))
    if not asserts:
        return f1 + loop + f2
    pre, post = draw(st.sampled_from(ASSERTIONS[:4])), draw(st.sampled_from(ASSERTIONS[:5]))
    return pre + f1 + loop + f2 + post


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(null_patterns(), st.text(alphabet="ab c", max_size=30))
def test_empty_iteration_checks_agree_with_re_when_thrashing(pattern: str, text: str) -> None:
    """ENTER/CHECK as epsilon edges: exact for the sets, the first match by the backtracker."""
    assume(not (r"\B" in pattern and text == ""))
    p = _thrashing(pattern)
    assert BitNFA.build(p._strategy.eng.plain) is not None
    _agree(p, re.compile(pattern), text)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(null_patterns(), st.text(alphabet="ab c", max_size=30))
def test_thread_lists_when_the_span_is_too_long_for_the_backtracker(
    pattern: str, text: str
) -> None:
    """The first match's end by the thread lists (closures per context), exact too."""
    assume(not (r"\B" in pattern and text == ""))
    p = _thrashing(pattern)
    with mock.patch.object(backtrack, "VISIT_BUDGET", 0):
        _agree(p, re.compile(pattern), text)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(null_patterns(asserts=False), st.text(alphabet="abc", max_size=10))
def test_empty_iteration_set_scans(pattern: str, text: str) -> None:
    """The set scans of a program with empty-iteration checks, against ``re.fullmatch``."""
    bit = BitNFA.build(re_engine.compile(pattern, engine="dfa")._strategy.eng.plain)
    assert bit is not None
    _check_set_scans(bit, re.compile(pattern), text)


# loops whose first iteration is unrolled (``x+`` is ``xx*``), nested in
# loops, beside overlapping alternatives and lazy quantifiers
UNROLLED = ["a+", "b+", "(ab)+", "(?:a|b)+", "(?:ba)+", "a", "b", "[ab]", "c", "a*", "a?"]
UNROLLED += ["(a|ab)", "(ab|a)", "a+?", "(?:ab)+?", "(?:a|b)*?", "b*a", "(a+|b)"]


@st.composite
def unrolled_patterns(draw: st.DrawFn) -> str:
    """``F (A1|..|Ak)Q T``: alternatives of sequences of :data:`UNROLLED` in a loop."""
    pieces = st.lists(st.sampled_from(UNROLLED), min_size=1, max_size=2).map("".join)
    alts = draw(st.lists(pieces, min_size=1, max_size=3))
    q = draw(st.sampled_from(["+", "*", "+?", "{1,3}", "{2,}", ""]))
    head = draw(st.sampled_from(["", "a", "[ab]*", "b+", "(a|ab)"]))
    tail = "".join(draw(st.lists(st.sampled_from([*FIXED, "a?", "b*", "(c|bcd)"]), max_size=3)))
    return head + "(" + "|".join(alts) + ")" + q + tail


def _first_is_the_longest(pattern: str, text: str) -> None:
    """``re``'s match from each start of ``text`` ends where ``regex``'s POSIX one does."""
    ref, longest = re.compile(pattern), regex.compile(pattern, regex.POSIX)
    for s in range(len(text) + 1):
        m, x = ref.match(text, s), longest.match(text, s)
        assert (m is None) == (x is None), s
        if m is not None and x is not None:
            assert m.end() == x.end(), (s, m.span(), x.span())


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(
    st.one_of(patterns(), null_patterns()),
    st.text(alphabet="ab c1\n", min_size=1, max_size=12),
)
def test_never_cuts_is_sound(pattern: str, text: str) -> None:
    """Where :meth:`LazyDFA.never_cuts` holds, ``re``'s match from each start is the longest.

    The longest from ``regex``'s POSIX mode (assertions see the whole text).
    """
    d = re_engine.compile(pattern, engine="dfa")._strategy.eng.dfa("anch")
    assume(d.never_cuts())
    _first_is_the_longest(pattern, text)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(unrolled_patterns(), st.text(alphabet="abc", min_size=1, max_size=14))
def test_never_cuts_is_sound_with_unrolled_loops(pattern: str, text: str) -> None:
    """The classes of twin CHAR pcs (:meth:`LazyDFA._twins`) prove no more than holds."""
    d = re_engine.compile(pattern, engine="dfa")._strategy.eng.dfa("anch")
    if d.never_cuts():
        _first_is_the_longest(pattern, text)


# the shapes of bench/regex_huge.py whose first match first_is_longest cannot
# prove the longest, and variations: never_cuts proves them
ORDERED = [
    r"(a*|b)*a[ab]{%d}",
    r"(?:a*|b)*a(?:a|b){%d}",
    r"(\w*\s?)*a\w{%d}",
    r"(?:a?b?)*a[ab]{%d}c?",
    r"\b(a*|b)*a[ab]{%d}\b",
    r"(?m)^(a?b?)*a[ab]{%d}$",
    r"(?:ab|a)*c[ab]{%d}",
    r"(a+|b)+a[ab]{%d}",
    r"((?:ab)+|b)+a[ab]{%d}",
    r"(?:a+b|c)*a[ab]{%d}",
]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(ORDERED), st.integers(1, 6), st.text(alphabet="ab c", max_size=40))
def test_ordered_patterns_agree_with_re_when_thrashing(shape: str, k: int, text: str) -> None:
    """Proved by the order of the threads: the sets' leftmost start and longest end, exact."""
    pattern = shape % k
    p = _thrashing(pattern)
    eng = p._strategy.eng
    assert eng.dfa("unanch").never_cuts() and eng.dfa("anch").never_cuts(), pattern
    _agree(p, re.compile(pattern), text)
    assert eng.dfa("unanch")._backtracker is None  # the first match's end came from the sets


def test_ordered_patterns_take_the_sets_with_bounded_memory() -> None:
    """A match over the whole text: no backtracker (its visited set grew with the span)."""
    text = _random_ab(60_000, seed=13)
    text = text[:-31] + "a" + text[-30:]
    for pattern in [r"(a*|b)*a[ab]{30}", r"(\w*\s?)*a\w{30}", r"(a+|b)+a[ab]{30}"]:
        p = re_engine.compile(pattern, engine="dfa")
        assert p.search(text[:10_000]) is not None  # gives up, builds the tables
        tracemalloc.start()
        try:
            m = p.search(text)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert m is not None and m.span() == (0, len(text)), pattern
        assert peak < 64 * 1024, (pattern, peak)
        d = p._strategy.eng.dfa("unanch")
        assert d.gave_up >= 1 and d._backtracker is None and d._never_cuts, pattern


def test_never_cuts_refuses_what_it_cannot_prove() -> None:
    # the first match is not the longest on some text (or not provably)
    refused = [r"(a|ab)", r"a(b|bc)", r"a+?", r"(a|ab)(c|bcd)(d*)", r"(b?|a)*a", r"[ab]*?a"]
    refused += [r"(a|ab)(c|bcd)", r"a*(ab)?", r"(a+?|b)+a", r"(a|a+b)+", r"[ab]*(a|ab)[ab]{20}"]
    refused += [r"(?:ab)+?", r"(a+|ab)+c?"]
    for pattern in refused:
        p = re_engine.compile(pattern, engine="dfa")
        assert not p._strategy.eng.dfa("anch").never_cuts(), pattern
        assert not p._strategy.eng.dfa("anch").exact(), pattern
    proved = [r"(a*|b)*a[ab]{30}", r"(\w*\s?)*x\w{20}", r"a*?b", r"(?:ab|a)*c"]
    # unrolled loops: x+ is xx*, whose two copies of x go on alike
    proved += [r"(a+|b)+a[ab]{30}", r"((ab)+|c)+a[ab]{30}", r"(x+|y+)+a", r"[ab]*(ab|b)[ab]{20}"]
    for pattern in proved:
        p = re_engine.compile(pattern, engine="dfa")
        assert p._strategy.eng.dfa("anch").never_cuts(), pattern
    # longest mode, or too many contexts * CHAR pcs for the check: not proved
    for pattern, which in [("a*b", "rev"), (r"\b(a*|b)*[ab]{300}", "anch")]:
        d = re_engine.compile(pattern, engine="dfa")._strategy.eng.dfa(which)
        assert not d.never_cuts(), pattern


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(ASSERTIONS),
    unrolled_patterns(),
    st.sampled_from(ASSERTIONS),
    st.text(alphabet="ab c\n", max_size=24),
)
def test_unrolled_loops_agree_with_re_when_thrashing(
    pre: str, pattern: str, post: str, text: str
) -> None:
    """Twin pcs (never_cuts) and positions with the same future (one bit), in every context."""
    pattern = pre + pattern + post
    assume(not (r"\B" in pattern and text == ""))
    _agree(_thrashing(pattern), re.compile(pattern), text)


def test_positions_with_the_same_future_share_a_bit() -> None:
    """``x+`` compiles as ``xx*``: its two positions go on alike, and become one bit."""
    # (re backtracks (a+|b)+ every way where it fails: short texts)
    text = "xxy ba" + _random_ab(32, seed=5) + "c" + _random_ab(32, seed=6)
    shapes = [("(a+|b)+a[ab]{30}", 33), ("((ab)+|c)+a", 4), ("x+y+", 2), (r"(a+|b)+\b c", 4)]
    for pattern, npos in shapes:
        p = _thrashing(pattern)
        bit = BitNFA.build(p._strategy.eng.plain)
        assert bit is not None and bit.npos == npos, pattern
        _agree(p, re.compile(pattern), text + " c")
        if _no_assertion(pattern):
            _check_set_scans(bit, re.compile(pattern), "abcabbac")


def test_first_is_longest_with_a_nullable_body() -> None:
    for pattern in [r"(a|b?)*a(a|b){30}", r"x(?:ab|(?:cd)?)*y", r"(a|b?){0,4}c"]:
        p = re_engine.compile(pattern, engine="dfa")
        assert first_is_longest(p._strategy.eng.core), pattern
    for pattern in [r"(a*|b)*a", r"(b?|a)*a", r"(a|bc?)*a", r"(a|b?){1,4}c", r"(a|b?)*?c"]:
        p = re_engine.compile(pattern, engine="dfa")
        assert not first_is_longest(p._strategy.eng.core), pattern


def test_an_alternation_of_characters_is_a_class() -> None:
    for pattern in [r"(?:a|b)*a(?:a|b){30}", r"(?:a|[ab]|\d)+x", r"a(?:a|b){20}c"]:
        p = re_engine.compile(pattern)
        assert p.strategy in ("re", "re-guarded"), pattern  # as [ab]: re under a proof
    core = re_engine.compile(r"x(?:a|b|c)", engine="dfa")._strategy.eng.core
    assert repr(core) == repr(re_engine.compile(r"x[abc]", engine="dfa")._strategy.eng.core)


def test_first_is_longest_refuses_what_it_cannot_prove() -> None:
    for pattern in [r"a*?b", r"(a|ab)(c|bcd)", r"a*b*", r"(a*)*", r"(?:ab|a)*c", r"a+|b"]:
        p = re_engine.compile(pattern, engine="dfa")
        assert not first_is_longest(p._strategy.eng.core), pattern
    for pattern in [r"(a|b)*a(a|b){30}", r"[a-z]*e[a-z]{12}", r"\w*a\w{20}", r"x(ab|cd){2,}y"]:
        p = re_engine.compile(pattern, engine="dfa")
        assert first_is_longest(p._strategy.eng.core), pattern


def test_context_shapes_and_empty_iteration_checks_are_handled() -> None:
    # empty-iteration checks: epsilon edges for sets (cycles included)
    for pattern in [r"(a*)*b", r"(?:a?b?)*c", r"(?:(?:a|\b)*)*x"]:
        p = re_engine.compile(pattern, engine="dfa")
        assert BitNFA.build(p._strategy.eng.plain) is not None, pattern
    # assertions: closures per context
    for pattern in [r"\ba(a|b){5}", r"^(a|b)*a", r"(a|b)*$"]:
        p = re_engine.compile(pattern, engine="dfa")
        bit = BitNFA.build(p._strategy.eng.plain)
        assert bit is not None and bit.ctx, pattern
    # ...and they still agree with re when the cache thrashes
    text = "".join(random.Random(3).choice("ab ") for _ in range(300))
    for pattern in [r"\ba(a|b){5}", r"(a|b)*?a(a|b){6}", r"(a|ab)(a|b){6}(c|bcd)?"]:
        _agree(_thrashing(pattern), re.compile(pattern), text)


def _random_ab(n: int, seed: int = 5) -> str:
    rnd = random.Random(seed)
    return "".join(rnd.choice("ab") for _ in range(n))


def test_huge_dfa_takes_the_bit_parallel_path() -> None:
    """On the automata (by default the patterns without groups go to ``re`` under a proof)."""
    text = _random_ab(20_000)
    # a match over the whole text; one at its very end (the DFA thrashes before)
    ending = text[:-21] + "a" + text[-20:] + "c"
    for pattern, t in [
        (r"(?:a|b)*a(?:a|b){30}", text),
        (r"(a|b)*a(a|b){30}", text),
        (r"a(?:a|b){20}(c)", ending),
    ]:
        p = re_engine.compile(pattern, engine="dfa")
        ref = re.compile(pattern)
        for _ in range(3):  # the first scan gives up, the next go there at once
            m, r = p.search(t), ref.search(t)
            assert m is not None and r is not None and m.span() == r.span()
            assert m.groups() == r.groups()
        d = p._strategy.eng.dfa("unanch")
        assert d.gave_up >= 1 and d.found is not None
        assert len(d.states) <= d.max_states
        m = p.fullmatch(t)
        assert (m is None) == (ref.fullmatch(t) is None)
    # POSIX semantics: leftmost-longest by the same scans
    p = re_engine.compile(r"[ab]*a[ab]{30}", syntax="posix")
    m = p.search(text)
    assert m is not None and m.span() == (0, len(text))


def test_assertions_take_the_bit_parallel_path() -> None:
    text = " ".join(_random_ab(3000, seed=k) for k in range(6)) + "\n"
    for pattern in [r"\b(a|b)*a(a|b){30}\b", r"(?m)^(a|b)*a(a|b){20}$", r"\Ba(a|b){25}(c)?"]:
        p = re_engine.compile(pattern, engine="dfa")
        ref = re.compile(pattern)
        for _ in range(2):
            assert [(m.span(), m.groups()) for m in p.finditer(text)] == [
                (m.span(), m.groups()) for m in ref.finditer(text)
            ], pattern
        a = p._strategy
        assert sum(d.gave_up for d in a.eng._dfas.values()) >= 1, pattern


def test_first_match_by_the_backtracker_where_sets_do_not_tell() -> None:
    """Not first-is-longest: sets give the start and the longest end, the backtracker the end."""
    text = _random_ab(20_000, seed=8)
    for pattern in [r"(a|ab)(a|b)*a(a|b){20}(c|bcd)?", r"(?:a|b)*(a|ab)(?:a|b){20}"]:
        p = re_engine.compile(pattern, engine="dfa")
        assert not first_is_longest(p._strategy.eng.core)
        ref = re.compile(pattern)
        for t in (text, text[:-25] + "c" + text[-24:]):
            m, r = p.search(t), ref.search(t)
            assert m is not None and r is not None
            assert m.span() == r.span() and m.groups() == r.groups()
        d = p._strategy.eng.dfa("unanch")
        assert d.gave_up >= 1 and d.found is not None and d._backtracker is not None


def _peak_of_search(p: Any, text: str) -> int:
    """The most memory allocated while ``p`` searches ``text`` (and finds nothing)."""
    tracemalloc.start()
    try:
        assert p.search(text) is None
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak


def test_memory_stays_bounded() -> None:
    text = _random_ab(50_000, seed=9)
    p = re_engine.compile(
        r"(?:a|b)*a(?:a|b){30}c", engine="dfa"
    )  # no match: the whole text is scanned
    p.search(text[:10_000])  # the DFA gives up here; the tables are built
    peak = _peak_of_search(p, text)
    assert peak < 64 * 1024, peak  # the text is 50 KB; nothing per character is kept
    d = p._strategy.eng.dfa("unanch")
    assert len(d.states) <= d.max_states


def test_empty_iteration_checks_memory_stays_bounded() -> None:
    text = _random_ab(50_000, seed=10)
    for pattern in [r"(?:a*|b)*a[ab]{30}c", r"\b(?:a|b?)*a(?:a|b){30}c"]:
        p = re_engine.compile(pattern, engine="dfa")
        assert p.search(text[:10_000]) is None  # gives up, builds the tables
        peak = _peak_of_search(p, text)
        assert peak < 64 * 1024, (pattern, peak)
        d = p._strategy.eng.dfa("unanch")
        assert d.gave_up >= 1 and len(d.states) <= d.max_states


def test_a_thrashing_scan_leaves_the_dfa_early() -> None:
    """Before its first flush: a few hundred states of warm-up, not the whole cache."""
    text = _random_ab(30_000, seed=12)
    for pattern in [r"(?:a|b)*a(?:a|b){30}", r"\b(a|b)*a(a|b){30}\b", r"(a|b?)*a(a|b){30}"]:
        re_engine.api._cache.clear()
        p = re_engine.compile(pattern, engine="dfa")
        m, r = p.search(text), re.search(pattern, text)
        assert (m is None) == (r is None) and (m is None or m.span() == r.span())
        d = p._strategy.eng.dfa("unanch")
        assert d.gave_up == 1 and d.flushes == 0 and d.built < d.max_states // 4, pattern


def test_linear_time() -> None:
    """Doubling the text about doubles the time (loose bounds, CPU time, best of two)."""
    for pattern in [
        r"(?:a|b)*a(?:a|b){30}c",
        r"a(?:a|b){20}c",
        r"(?:a*|b)*a[ab]{30}c",
        r"(?:a|b?)*a(?:a|b){30}c",
        r"\b(?:a|b)*a(?:a|b){30}c\b",
    ]:
        p = re_engine.compile(pattern, engine="dfa")
        p.search(_random_ab(20_000))

        def run(n: int, p: Any = p) -> float:
            text = _random_ab(n, seed=n)
            best = float("inf")
            for _ in range(2):
                t0 = time.process_time()
                assert p.search(text) is None
                best = min(best, time.process_time() - t0)
            return best

        t1, t2 = run(50_000), run(100_000)
        assert t2 < 3.5 * t1 + 0.02, (pattern, t1, t2)


def test_groups_of_a_long_match_are_found_when_asked_for() -> None:
    text = _random_ab(10_000, seed=11)
    p = re_engine.compile(r"(a|b)*a(a|b){30}")
    assert p.strategy == "automata"
    ref = re.compile(r"(a|b)*a(a|b){30}")
    m, r = p.search(text), ref.search(text)
    assert m is not None and r is not None
    assert m._more is not None  # the bounds only, so far
    assert m.span() == r.span()
    assert m.span(2) == r.span(2) and m.group(1) == r.group(1) and m._more is None
    assert m.groups() == r.groups() and m.lastindex == r.lastindex
    short = p.search(text[:100])
    assert short is not None and short._more is None  # short spans: at once, as before
    assert p.execp(text) and p.execp(text[:40]) == (ref.search(text[:40]) is not None)
