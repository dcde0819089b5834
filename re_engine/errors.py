"""Exceptions raised by re_engine."""

from __future__ import annotations


class ReError(ValueError):
    """Base class of re_engine errors (a ``ValueError``, like ``re.error``)."""


class ParseError(ReError):
    """The pattern text is malformed.

    ``pos`` is the 0-based offset in the pattern where the problem was found.
    """

    def __init__(self, msg: str, pattern: str | bytes | None = None, pos: int | None = None):
        self.msg = msg
        self.pattern = pattern
        self.pos = pos
        where = f" at position {pos}" if pos is not None else ""
        super().__init__(f"{msg}{where}")


class NotSupported(ParseError):
    """The pattern is well-formed but uses a feature this syntax/engine refuses.

    Backreferences and lookaround are refused by the linear-time engine; pass
    ``engine="regex"`` to :func:`re_engine.compile` to accept the risk.
    """


class TooLarge(ReError):
    """The compiled program would exceed the size limit (counted repetitions)."""
