"""OCaml ``Str`` syntax.

``.`` (any character but newline), ``*  +  ?`` (postfix, greedy), ``[..]``
(ranges, ``^`` negation, ``]`` first is literal), ``^``/``$`` (line
boundaries), ``\\|`` (alternation), ``\\( \\)`` (grouping), ``\\b`` (word
boundary), ``\\`` quoting a special character.  ``\\1``..``\\9``
(back-references) are refused with :class:`NotSupported`.
"""

from __future__ import annotations

from .. import ast as R
from ..charset import NEWLINE, CharSet
from ..errors import NotSupported, ParseError
from . import BackslashParser


class _Parser(BackslashParser):
    def concat(self) -> R.Re:
        r = self.r
        items: list[R.Re] = []
        while not r.eof() and not r.startswith("\\|") and not r.startswith("\\)"):
            atom = self.atom()
            while r.peek() in ("*", "+", "?"):
                c = r.next()
                if isinstance(atom, R.Assert):
                    raise ParseError(f"{c!r} after an anchor", self.pattern, r.i - 1)
                lo, hi = {"*": (0, None), "+": (1, None), "?": (0, 1)}[c]
                atom = R.Repeat(atom, lo, hi, True)
            items.append(atom)
        return R.seq(*items) if len(items) != 1 else items[0]

    def atom(self) -> R.Re:
        r = self.r
        start = r.i
        c = r.next()
        if c == ".":
            return R.Set(NEWLINE.complement())
        if c == "^":
            return R.Assert("bol")
        if c == "$":
            return R.Assert("eol")
        if c in "*+?":
            raise ParseError(f"{c!r} with nothing to repeat", self.pattern, start)
        if c == "[":
            return R.Set(self.bracket(start))
        if c != "\\":
            return R.Set(CharSet.of_char(ord(c)))
        if r.eof():
            raise ParseError("trailing backslash", self.pattern, start)
        d = r.next()
        if d == "(":
            return R.Group(self.group_body(start))
        if d == "b":
            return R.Assert("wordb")
        if d.isdigit():
            raise NotSupported("back-reference is not supported", self.pattern, start)
        return R.Set(CharSet.of_char(ord(d)))

    def bracket(self, start: int) -> CharSet:
        r = self.r
        neg = r.take("^")
        acc: list[tuple[int, int]] = []
        first = True
        while True:
            if r.eof():
                raise ParseError("unterminated [", self.pattern, start)
            c = r.next()
            if c == "]" and not first:
                break
            first = False
            if r.peek() == "-" and r.peek(1) not in ("]", ""):
                r.i += 1
                hi = r.next()
                if hi < c:
                    raise ParseError("invalid range in [...]", self.pattern, r.i - 3)
                acc.append((ord(c), ord(hi)))
            else:
                acc.append((ord(c), ord(c)))
        cs = CharSet(acc)
        return cs.complement() if neg else cs


def parse(pattern: str, flags: int = 0) -> R.Re:
    """Parse OCaml ``Str`` syntax into a tree."""
    return _Parser(pattern, flags).parse()


__all__ = ["parse"]
