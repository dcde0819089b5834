"""Glob, Emacs and OCaml Str syntaxes."""

from __future__ import annotations

import fnmatch

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import re_engine


def glob(p: str, s: str, **kw: bool) -> bool:
    return re_engine.compile(p, syntax="glob", **kw).search(s) is not None


def test_glob_pathname_and_period() -> None:
    assert glob("*.py", "a.py")
    assert not glob("*.py", ".a.py")
    assert glob(".*.py", ".a.py")
    assert not glob("*.py", "d/a.py")
    assert glob("*/*.py", "d/a.py")
    assert not glob("*/*.py", "d/.a.py")
    assert glob("**/*.py", "a.py") and glob("**/*.py", "d/e/a.py")
    assert not glob("**/*.py", ".git/a.py")
    assert glob("src/**", "src/a/b.c")
    assert not glob("?", "/") and glob("?", "/", pathname=False)
    assert glob("*.py", ".a.py", period=False)


def test_glob_brackets_braces_escapes() -> None:
    assert glob("[!a]?", "bc") and not glob("[!a]?", "ac")
    assert glob("[^a]?", "bc")
    assert glob("[a-c][[:digit:]]", "b7")
    assert glob("{foo,ba{r,z}}.txt", "baz.txt") and not glob("{foo,bar}.txt", "bax.txt")
    assert glob(r"\*.c", "*.c") and not glob(r"\*.c", "a.c")
    assert glob("{a,b}", "{a,b}", expand_braces=False)
    assert glob("a*", "xab", anchored=False)
    assert not glob("a*", "xab")


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(["a", "b", ".", "/", "*", "?", "[ab]", "[!a]", "[a-c]"]), max_size=6
    ).map("".join),
    st.text(alphabet="ab./c", max_size=8),
)
def test_glob_agrees_with_fnmatch(pattern: str, name: str) -> None:
    ours = glob(pattern, name, pathname=False, period=False)
    assert ours == fnmatch.fnmatchcase(name, pattern)


def test_emacs() -> None:
    p = re_engine.compile(r"\(foo\|bar\)+\>", syntax="emacs")
    m = p.search("xx foobar!")
    assert m is not None and m.span() == (3, 9) and m.group(1) == "bar"
    assert re_engine.compile(r"\<w\w*\>", syntax="emacs").findall("a wow bw") == ["wow"]
    assert re_engine.compile(r"\(?:ab\)\{2\}", syntax="emacs").search("abab").groups() == ()
    assert re_engine.compile(r"a.*?b", syntax="emacs").search("aabab").span() == (0, 3)
    assert re_engine.compile(r"\`a\|b\'", syntax="emacs").findall("aab") == ["a", "b"]
    assert re_engine.compile(r"\s-+", syntax="emacs").findall("a  b") == ["  "]
    assert re_engine.compile(r"^\*", syntax="emacs").search("*x") is not None
    with pytest.raises(re_engine.NotSupported) as ei:
        re_engine.compile(r"ab\1", syntax="emacs")
    assert ei.value.pos == 2
    with pytest.raises(re_engine.NotSupported):
        re_engine.compile(r"\ca", syntax="emacs")
    with pytest.raises(re_engine.ParseError) as e2:
        re_engine.compile(r"\(ab", syntax="emacs")
    assert e2.value.pos == 0


def test_str_syntax() -> None:
    p = re_engine.compile(r"\([a-z]+\)=\([0-9]*\)", syntax="str")
    m = p.search("x: key=42")
    assert m is not None and m.groups() == ("key", "42")
    assert re_engine.compile(r"a\|b+", syntax="str").findall("abbc") == ["a", "bb"]
    assert re_engine.compile(r"^a.$", syntax="str").findall("ab\nac\na") == ["ab", "ac"]
    assert re_engine.compile(r"\bx", syntax="str").findall("x ax x") == ["x", "x"]
    assert re_engine.compile(r"[]a]+", syntax="str").findall("]a]b") == ["]a]"]
    assert re_engine.compile(r"\$\.", syntax="str").search("a$.") is not None
    with pytest.raises(re_engine.NotSupported) as ei:
        re_engine.compile(r"\(a\)\1", syntax="str")
    assert ei.value.pos == 5
    with pytest.raises(re_engine.ParseError):
        re_engine.compile(r"*a", syntax="str")


def test_unknown_syntax() -> None:
    with pytest.raises(re_engine.ReError, match="unknown syntax"):
        re_engine.compile("a", syntax="nope")
