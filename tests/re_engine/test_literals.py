"""Alternations sharing prefixes (re_engine.literals): same matches as ``re``, compact programs."""

from __future__ import annotations

import random
import re

import pytest

import re_engine
from re_engine import TooLarge
from re_engine.prog import MAX_PROG, compile_prog, resolve
from re_engine.syntax import perl

TEXT = "abc abcd ab a b bc abd xabcx ABC Abd aBcD foo foobar food fo ff abcabc bcd"


@pytest.mark.parametrize(
    "pattern",
    [
        "a|ab|abc",
        "abc|ab|a",
        "ab|a|abc",
        "(?:a|ab)c",  # the shorter branch first, then a continuation that needs the longer one
        "(?:ab|a)bc",
        "(?:a|ab|abc)(?:d|cd)",
        "ab|c|ad",  # branches with the same first character, split by another
        "ab||ad",  # an empty branch is a barrier
        "a[bc]|ab|ac",  # a class overlapping the next branches
        "[a-c]x|ab|ad",
        "foo|foobar|fo|food",
        "(?i:abc|abd|ab)",
        "(?i)abc|abd|ab",  # leading flags hold across the branches
        "(?i:ab)c|abd|AB",
        r"\b(?:foo|foobar|food)\b",
        "(a)b|(a)c|ab",  # groups after a shared prefix
        "(?:ab|ac)*d|a",
        "a|a|ab",
        "x(?:abc|abd|abe|ab)y|xab",
    ],
)
def test_same_matches_as_re(pattern: str) -> None:
    ours = re_engine.compile(pattern)
    theirs = re.compile(pattern)
    got = [(m.span(), m.groups()) for m in ours.finditer(TEXT)]
    want = [(m.span(), m.groups()) for m in theirs.finditer(TEXT)]
    assert got == want


def _random_words(rnd: random.Random, n: int, alphabet: str) -> list[str]:
    return ["".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 4))) for _ in range(n)]


@pytest.mark.parametrize("seed", range(40))
def test_random_alternations_match_re(seed: int) -> None:
    """Unsorted word lists with prefixes of each other, in and out of context."""
    rnd = random.Random(seed)
    ws = _random_words(rnd, rnd.randint(2, 12), "abc")
    body = "|".join(ws)
    text = "".join(rnd.choice("abcd") for _ in range(60))
    flags = re.I if seed % 4 == 0 else 0
    for pattern in (body, f"(?:{body})c", f"(?:{body})(?:b|cc)", f"d(?:{body})+d"):
        ours = re_engine.compile(pattern, flags=flags)
        theirs = re.compile(pattern, flags)
        assert [m.span() for m in ours.finditer(text)] == [
            m.span() for m in theirs.finditer(text)
        ], pattern


def test_word_list_becomes_a_trie() -> None:
    rnd = random.Random(7)
    ws = sorted({"".join(rnd.choice("abcdefgh") for _ in range(8)) for _ in range(1500)})
    trie_nodes = len({w[:k] for w in ws for k in range(1, len(w) + 1)})
    # the last letters after one 7-letter prefix are single characters: one class
    last: dict[str, set[str]] = {}
    for w in ws:
        last.setdefault(w[:7], set()).add(w[7])
    trie_nodes -= sum(len(x) - 1 for x in last.values())
    for pattern in ("|".join(ws), r"\b(?:" + "|".join(ws) + r")\b"):
        core = resolve(perl.parse(pattern), False).core
        prog = compile_prog(core, False, 0, captures=False)
        chars = sum(1 for op in prog.op if op == 0)  # CHAR instructions
        assert chars == trie_nodes
    p = re_engine.compile("|".join(ws))
    text = "zz " + ws[100] + " " + ws[1000] + ws[5][:4]
    assert [m.group() for m in p.finditer(text)] == [ws[100], ws[1000]]


def test_case_insensitive_word_list() -> None:
    ws = ["Kelvin", "kelp", "STRASSE", "straße", "ſtraw"]
    p = re_engine.compile("|".join(ws), flags=re_engine.I)
    text = "KELVIN \u212aelp strasse STRAßE straw"
    assert [m.group() for m in p.finditer(text)] == [
        m.group() for m in re.finditer("|".join(ws), text, re.I)
    ]


def test_hundred_thousand_words_too_large() -> None:
    ws = [f"w{i:06d}x" for i in range(100_000)]
    for pattern in ("|".join(ws), r"\b(?:" + "|".join(ws) + r")\b"):
        with pytest.raises(TooLarge):
            re_engine.compile(pattern)


def test_just_under_the_limit_compiles() -> None:
    # shared prefixes keep it small: 12,000 words of 5 characters in 13,332 character nodes
    ws = [f"{i:05d}" for i in range(12_000)]
    p = re_engine.compile(r"\b(?:" + "|".join(ws) + r")\b")
    assert p.search("x 11345 y").group() == "11345"
    assert p.search("x 113456 y") is None
    assert MAX_PROG < 12_000 * 5
