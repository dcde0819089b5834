"""Emacs regexp syntax.

``. * + ? *? +? ?? [...] ^ $ \\| \\( \\) \\(?: \\) \\{n,m\\} \\w \\W \\sw \\s- \\Sw \\S-
\\b \\B \\< \\> \\` \\'``.  Bracket expressions take ``[:alpha:]``-style classes.
Refused (:class:`NotSupported`): back-references ``\\N``, syntax classes other
than word and white space, categories ``\\cC``, symbol boundaries ``\\_< \\_>``,
explicitly numbered groups ``\\(?N:``, and the point ``\\=``.
Semantics are leftmost-first (like Emacs' backtracking matcher).
"""

from __future__ import annotations

from .. import ast as R
from ..charset import NEWLINE, CharSet, posix_class
from ..errors import NotSupported
from . import BackslashParser
from .posix import parse_bracket

_WORD = posix_class("word") or CharSet()
_SPACE = CharSet(((9, 13), (32, 32)))
_ASSERTS: dict[str, R.AssertKind] = {
    "b": "wordb",
    "B": "nwordb",
    "<": "bow",
    ">": "eow",
    "`": "bos",
    "'": "eos",
}


class _Parser(BackslashParser):
    def concat(self) -> R.Re:
        r = self.r
        items: list[R.Re] = []
        seg = r.i
        while not r.eof() and not r.startswith("\\|") and not r.startswith("\\)"):
            start = r.i
            atom = self.atom(start == seg)
            items.append(self.quant(atom, start))
        return R.seq(*items) if len(items) != 1 else items[0]

    def quant(self, atom: R.Re, start: int) -> R.Re:
        r = self.r
        while not r.eof():
            pos = r.i
            c = r.peek()
            if c in "*+?":
                r.i += 1
                lo, hi = {"*": (0, None), "+": (1, None), "?": (0, 1)}[c]
            elif r.startswith("\\{"):
                r.i += 2
                j = r.text.find("\\}", r.i)
                if j < 0:
                    raise self.err("unterminated \\{", pos)
                body = r.text[r.i : j]
                r.i = j + 2
                try:
                    if "," in body:
                        a, b = body.split(",", 1)
                        lo, hi = (int(a) if a else 0), (int(b) if b else None)
                    else:
                        lo = int(body) if body else 0
                        hi = lo
                except ValueError:
                    raise self.err(f"invalid \\{{{body}\\}}", pos)
                if hi is not None and hi < lo:
                    raise self.err("invalid \\{...\\}: max below min", pos)
            else:
                break
            greedy = True
            if c in "*+?" and r.peek() == "?":
                r.i += 1
                greedy = False
            atom = R.Repeat(atom, lo, hi, greedy)
        return atom

    def atom(self, first: bool) -> R.Re:
        r = self.r
        start = r.i
        c = r.next()
        if c == "[":
            return R.Set(parse_bracket(r, self.pattern, start, False))
        if c == ".":
            return R.Set(NEWLINE.complement())
        if c == "^" and first:
            return R.Assert("bol")
        if c == "$" and (r.eof() or r.startswith("\\)") or r.startswith("\\|")):
            return R.Assert("eol")
        if c in "*+?" and first:
            return R.Set(CharSet.of_char(ord(c)))
        if c != "\\":
            return R.Set(CharSet.of_char(ord(c)))
        if r.eof():
            raise self.err("trailing backslash", start)
        d = r.next()
        if d == "(":
            capture = True
            if r.take("?:"):
                capture = False
            elif r.startswith("?"):
                raise NotSupported(
                    "explicitly numbered group \\(?N: is not supported", self.pattern, start
                )
            body = self.group_body(start)
            return R.Group(body) if capture else body
        if d == "w":
            return R.Set(_WORD)
        if d == "W":
            return R.Set(_WORD.complement())
        if d in "sS":
            if r.eof():
                raise self.err("missing syntax class after \\s", start)
            k = r.next()
            if k == "w":
                cs = _WORD
            elif k in "- ":
                cs = _SPACE
            else:
                raise NotSupported(f"syntax class \\{d}{k} is not supported", self.pattern, start)
            return R.Set(cs if d == "s" else cs.complement())
        kind = _ASSERTS.get(d)
        if kind is not None:
            return R.Assert(kind)
        if d.isdigit():
            raise NotSupported("back-reference is not supported", self.pattern, start)
        if d in "cC_=":
            raise NotSupported(f"\\{d} is not supported", self.pattern, start)
        return R.Set(CharSet.of_char(ord(d)))


def parse(pattern: str, flags: int = 0) -> R.Re:
    """Parse an Emacs regexp into a tree."""
    return _Parser(pattern, flags).parse()
