"""What compile measures on the tree must agree with what it would build.

:func:`re_engine.prog.measure` counts the NFA program's instructions, the
match lengths and nullability in one pass, so that the program itself can be
built on first use; these tests hold it to the program :func:`compile_prog`
really builds and to lengths found by matching.
"""

from __future__ import annotations

import itertools
import re

import pytest

import re_engine
from re_engine.errors import TooLarge
from re_engine.prog import compile_prog, measure, nullable, prog_size, resolve
from re_engine.syntax import perl

PATTERNS = [
    "a",
    "",
    "abc",
    "a|bc|",
    "(a|b)*c",
    "(?:ab)?",
    "a{3}",
    "a{2,5}",
    "(?:ab){2,4}",
    "(?:a?){2,4}",
    "(?:a*)*",
    "(?:a|b?){0,3}x",
    "^a$",
    r"\bfoo\b",
    "(a)(b(c))",
    "(?:(a)|b){1,3}",
    "[a-z]{0,2}[0-9]+",
    "(?:x(?:ab|cd){2}y)+",
    r"(\d{4})-(\d{2})",
    "(?:)*a",
]


def _core(pattern: str) -> object:
    return resolve(perl.parse(pattern), False).core


@pytest.mark.parametrize("pattern", PATTERNS)
def test_instructions_are_those_of_the_program(pattern: str) -> None:
    res = resolve(perl.parse(pattern), False)
    built = compile_prog(res.core, False, res.ngroups, captures=False)
    assert prog_size(res.core) == len(built.op)
    assert res.shape()[3] + 1 == len(built.op)


@pytest.mark.parametrize("pattern", PATTERNS)
def test_lengths_and_nullable_agree_with_matching(pattern: str) -> None:
    """Strings over the pattern's letters up to 6 long: the lengths that match."""
    core = _core(pattern)
    _nodes, lo, hi, _prog, null = measure(core)  # type: ignore[arg-type]
    assert null == nullable(core)  # type: ignore[arg-type]
    assert null == (re_engine.compile(pattern).fullmatch("") is not None)
    alphabet = sorted(set(re.sub(r"[^a-z0-9-]", "", pattern)) | {"x"})
    lengths = set()
    for n in range(7):
        for t in itertools.product(alphabet, repeat=n):
            if re.fullmatch(pattern, "".join(t)):
                lengths.add(n)
                break
    if lengths:
        assert lo == min(lengths)
        if hi is not None:
            assert max(lengths) <= hi
            if hi <= 6:
                assert hi in lengths
        else:
            assert "*" in pattern or "+" in pattern


def test_shared_subtrees_are_counted_each_time() -> None:
    """A list of words repeated in a pattern is one subtree, counted at each use."""
    once = "(?:if|in|is|it)"
    res = resolve(perl.parse(f"{once}-{once}-{once}"), False)
    built = compile_prog(res.core, False, res.ngroups, captures=False)
    assert res.shape()[3] + 1 == len(built.op)


def test_a_program_too_large_fails_at_compile_time() -> None:
    """The program is built on first use, its size is checked when compiling."""
    with pytest.raises(TooLarge):
        re_engine.compile("(?:[a-z]{1,100}x){1,300}", engine="dfa")
    p = re_engine.compile("(?:[a-z]{1,100}x){1,100}", engine="dfa")
    assert p.search("..abcx..").span() == (2, 6)
