"""Shell glob patterns.

``*`` (any run), ``?`` (one character), ``[...]`` (``!`` or ``^`` negates,
ranges, ``[:alpha:]`` classes), ``{a,b,...}`` (alternatives, nested), ``\\x``
(literal ``x``) and, with ``pathname``, ``**`` spanning directories.

Options (keyword arguments of :func:`parse` / :func:`re_engine.compile`):

- ``anchored`` (default ``True``): the glob must match the whole string.
- ``pathname`` (default ``True``): ``*``, ``?`` and brackets never match
  ``/``; ``**/`` matches zero or more directories and a final ``**`` anything.
- ``period`` (default ``True``): a leading ``.`` (at the start, or after ``/``
  with ``pathname``) must be matched by a literal ``.``.
- ``expand_braces`` (default ``True``): ``{a,b}`` alternation; if ``False``
  braces are literal.

With ``pathname=False, period=False`` the glob agrees with :mod:`fnmatch`
(``fnmatchcase``).
"""

from __future__ import annotations

from .. import ast as R
from ..charset import ANY, CharSet
from ..errors import ParseError
from . import Flag, Reader
from .posix import parse_bracket

_SLASH = CharSet.of_char(ord("/"))
_DOT = CharSet.of_char(ord("."))


class _Parser:
    def __init__(self, pattern: str, pathname: bool, period: bool, braces: bool) -> None:
        self.r = Reader(pattern)
        self.pattern = pattern
        self.pathname = pathname
        self.period = period
        self.braces = braces
        self.depth = 0
        self.any1 = ANY.diff(_SLASH) if pathname else ANY

    def first_set(self, cs: CharSet, at_start: bool) -> CharSet:
        return cs.diff(_DOT) if self.period and at_start else cs

    def seq(self, stop: str) -> tuple[R.Re, bool]:
        """Parse until one of ``stop`` (at this brace depth); return (node, ended_at_start)."""
        r = self.r
        items: list[R.Re] = []
        at_start = self.at_start_initial
        while not r.eof() and r.peek() not in stop:
            start = r.i
            c = r.next()
            if c == "*":
                if self.pathname and r.peek() == "*" and at_start:
                    r.i += 1
                    while r.peek() == "*":
                        r.i += 1
                    if r.take("/"):
                        comp = R.seq(
                            R.Set(self.first_set(self.any1, True)),
                            R.Repeat(R.Set(self.any1), 0, None, True),
                            R.char("/"),
                        )
                        items.append(R.Repeat(comp, 0, None, True))
                        at_start = True
                        continue
                    if r.eof() or r.peek() in stop:
                        first = R.Set(self.first_set(self.any1, True))
                        comp = R.seq(first, R.Repeat(R.Set(self.any1), 0, None, True))
                        more = R.Repeat(R.seq(R.char("/"), comp), 0, None, True)
                        items.append(R.Repeat(R.seq(comp, more), 0, 1, True))
                        at_start = False
                        continue
                while r.peek() == "*":
                    r.i += 1
                body = R.Repeat(R.Set(self.any1), 0, None, True)
                if self.period and at_start:
                    items.append(
                        R.Repeat(R.seq(R.Set(self.first_set(self.any1, True)), body), 0, 1, True)
                    )
                else:
                    items.append(body)
                at_start = False
            elif c == "?":
                items.append(R.Set(self.first_set(self.any1, at_start)))
                at_start = False
            elif c == "[" and self._closes():
                if r.peek() == "!":
                    r.text = r.text[: r.i] + "^" + r.text[r.i + 1 :]
                cs = parse_bracket(r, self.pattern, start, False, backslash_escapes=True)
                if self.pathname:
                    cs = cs.diff(_SLASH)
                items.append(R.Set(self.first_set(cs, at_start)))
                at_start = False
            elif c == "{" and self.braces:
                self.depth += 1
                if self.depth > 100:
                    raise ParseError("braces nested too deeply (limit 100)", self.pattern, start)
                alts: list[R.Re] = []
                saved = self.at_start_initial
                self.at_start_initial = at_start
                while True:
                    node, _ = self.seq(",}")
                    alts.append(node)
                    if r.eof():
                        raise ParseError("unterminated {", self.pattern, start)
                    if r.next() == "}":
                        break
                self.at_start_initial = saved
                self.depth -= 1
                items.append(R.Alt(tuple(alts)))
                at_start = False
            elif c == "\\" and not r.eof():
                d = r.next()
                items.append(R.char(d))
                at_start = self.pathname and d == "/"
            else:
                items.append(R.char(c))
                at_start = self.pathname and c == "/"
        return R.seq(*items) if len(items) != 1 else items[0], at_start

    def _closes(self) -> bool:
        r = self.r
        j = r.i
        if j < r.n and r.text[j] in "!^":
            j += 1
        if j < r.n and r.text[j] == "]":
            j += 1
        return r.text.find("]", j) >= 0

    def parse(self) -> R.Re:
        self.at_start_initial = True
        node, _ = self.seq("" if self.depth == 0 else ",}")
        if not self.r.eof():
            raise ParseError(f"unexpected {self.r.peek()!r}", self.pattern, self.r.i)
        return node

    at_start_initial: bool


def parse(
    pattern: str,
    flags: int = 0,
    *,
    anchored: bool = True,
    pathname: bool = True,
    period: bool = True,
    expand_braces: bool = True,
) -> R.Re:
    """Parse a glob into a tree (see the module docstring for the options)."""
    p = _Parser(pattern, pathname, period, expand_braces)
    p.at_start_initial = True
    r = p.r
    items: list[R.Re] = []
    while True:
        node, _ = p.seq("}" if expand_braces else "")
        items.append(node)
        if r.eof():
            break
        # a stray '}' outside braces is literal
        r.i += 1
        items.append(R.char("}"))
        p.at_start_initial = False
    body = R.seq(*items)
    if flags & Flag.IGNORECASE:
        body = R.Case(True, body)
    return R.seq(R.bos, body, R.eos) if anchored else body
