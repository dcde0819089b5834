"""Parsers from pattern text to :mod:`re_engine.ast` trees, one per syntax."""

from __future__ import annotations

import enum

from .. import ast as R
from ..errors import ParseError


class Flag(enum.IntFlag):
    """Compile flags; the values equal those of :mod:`re` so ``re.I`` works too."""

    IGNORECASE = 2
    MULTILINE = 8
    DOTALL = 16
    UNICODE = 32
    VERBOSE = 64
    ASCII = 256
    I = IGNORECASE  # noqa: E741
    M = MULTILINE
    S = DOTALL
    U = UNICODE
    X = VERBOSE
    A = ASCII


class Reader:
    """A cursor over pattern text shared by the parsers."""

    __slots__ = ("i", "n", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0
        self.n = len(text)

    def eof(self) -> bool:
        return self.i >= self.n

    def peek(self, k: int = 0) -> str:
        j = self.i + k
        return self.text[j] if j < self.n else ""

    def next(self) -> str:
        c = self.text[self.i]
        self.i += 1
        return c

    def startswith(self, s: str) -> bool:
        return self.text.startswith(s, self.i)

    def take(self, s: str) -> bool:
        if self.text.startswith(s, self.i):
            self.i += len(s)
            return True
        return False


class BackslashParser:
    """The part of the Emacs and OCaml ``Str`` parsers they share.

    ``\\|`` alternation, ``\\( \\)`` group bodies and the case flag; a
    subclass supplies :meth:`concat` (and the atoms).
    """

    def __init__(self, pattern: str, flags: int) -> None:
        self.r = Reader(pattern)
        self.pattern = pattern
        self.icase = bool(flags & Flag.IGNORECASE)
        self.depth = 0

    def err(self, msg: str, pos: int) -> ParseError:
        return ParseError(msg, self.pattern, pos)

    def parse(self) -> R.Re:
        node = self.alt()
        if not self.r.eof():
            raise self.err("unmatched \\)", self.r.i)
        return R.Case(True, node) if self.icase else node

    def alt(self) -> R.Re:
        items = [self.concat()]
        while self.r.take("\\|"):
            items.append(self.concat())
        return items[0] if len(items) == 1 else R.Alt(tuple(items))

    def concat(self) -> R.Re:
        raise NotImplementedError

    def group_body(self, start: int) -> R.Re:
        """The body of a group whose ``\\(`` (at ``start``) was just read, and its ``\\)``."""
        self.depth += 1
        if self.depth > 200:
            raise self.err("groups nested too deeply (limit 200)", start)
        body = self.alt()
        self.depth -= 1
        if not self.r.take("\\)"):
            raise self.err("unmatched \\(", start)
        return body
