"""Parsers from pattern text to :mod:`re_engine.ast` trees, one per syntax."""

from __future__ import annotations

import enum


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
