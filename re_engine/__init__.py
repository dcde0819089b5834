"""re_engine: linear-time regular expressions in five syntaxes.

What ocaml-re is to MirageOS, in pure Python: combinators (:mod:`re_engine.ast`),
parsers for Perl/Python-``re``, POSIX ERE and BRE, Emacs, glob and OCaml Str
syntax, and a matcher linear in the text: one strategy per pattern, chosen at
compile time (:mod:`re_engine.meta`): a literal search, ``re`` where its
backtracking is proved linear, or a lazily built DFA for match bounds with
groups recovered over the span by ``re`` (one-pass patterns), a bounded
backtracker, the Pike VM or the POSIX submatch pass.
"""

from __future__ import annotations

from typing import Any

from . import ast
from .api import SYNTAXES, Match, Pattern, compile
from .errors import NotSupported, ParseError, ReError, TooLarge
from .syntax import Flag

I = IGNORECASE = Flag.IGNORECASE  # noqa: E741
M = MULTILINE = Flag.MULTILINE
S = DOTALL = Flag.DOTALL
X = VERBOSE = Flag.VERBOSE
A = ASCII = Flag.ASCII
U = UNICODE = Flag.UNICODE


def search(pattern: Any, string: Any, flags: int = 0, syntax: str = "perl") -> Match[Any] | None:
    """``compile(pattern, syntax, flags).search(string)``."""
    return compile(pattern, syntax, flags).search(string)  # type: ignore[no-any-return]


def match(pattern: Any, string: Any, flags: int = 0, syntax: str = "perl") -> Match[Any] | None:
    """``compile(pattern, syntax, flags).match(string)``."""
    return compile(pattern, syntax, flags).match(string)  # type: ignore[no-any-return]


def fullmatch(pattern: Any, string: Any, flags: int = 0, syntax: str = "perl") -> Match[Any] | None:
    """``compile(pattern, syntax, flags).fullmatch(string)``."""
    return compile(pattern, syntax, flags).fullmatch(string)  # type: ignore[no-any-return]


def findall(pattern: Any, string: Any, flags: int = 0, syntax: str = "perl") -> list[Any]:
    """``compile(pattern, syntax, flags).findall(string)``."""
    return compile(pattern, syntax, flags).findall(string)  # type: ignore[no-any-return]


def finditer(pattern: Any, string: Any, flags: int = 0, syntax: str = "perl") -> Any:
    """``compile(pattern, syntax, flags).finditer(string)``."""
    return compile(pattern, syntax, flags).finditer(string)


def split(
    pattern: Any, string: Any, maxsplit: int = 0, flags: int = 0, syntax: str = "perl"
) -> list[Any]:
    """``compile(pattern, syntax, flags).split(string, maxsplit)``."""
    return compile(pattern, syntax, flags).split(string, maxsplit)  # type: ignore[no-any-return]


def sub(
    pattern: Any, repl: Any, string: Any, count: int = 0, flags: int = 0, syntax: str = "perl"
) -> Any:
    """``compile(pattern, syntax, flags).sub(repl, string, count)``."""
    return compile(pattern, syntax, flags).sub(repl, string, count)


def subn(
    pattern: Any, repl: Any, string: Any, count: int = 0, flags: int = 0, syntax: str = "perl"
) -> Any:
    """``compile(pattern, syntax, flags).subn(repl, string, count)``."""
    return compile(pattern, syntax, flags).subn(repl, string, count)


__all__ = [
    "ASCII",
    "DOTALL",
    "IGNORECASE",
    "MULTILINE",
    "SYNTAXES",
    "UNICODE",
    "VERBOSE",
    "A",
    "Flag",
    "I",
    "M",
    "Match",
    "NotSupported",
    "ParseError",
    "Pattern",
    "ReError",
    "S",
    "TooLarge",
    "U",
    "X",
    "ast",
    "compile",
    "findall",
    "finditer",
    "fullmatch",
    "match",
    "search",
    "split",
    "sub",
    "subn",
]
