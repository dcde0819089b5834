"""POSIX extended (ERE) and basic (BRE) syntax.

ERE: ``. [] ^ $ ( ) | * + ? {n,m}`` and ``\\`` quoting; BRE: ``\\( \\) \\{n,m\\}``
with ``*``, plus the GNU ``\\+ \\? \\|``.  Bracket expressions take ranges and
classes ``[:alpha:]``; collating elements ``[.x.]`` and equivalence classes
``[=x=]`` are refused (:class:`NotSupported`), as are back-references.
GNU's escapes ``\\w \\W \\s \\S \\b \\B \\< \\> \\` \\'`` have their glibc meanings.

Semantics are leftmost-longest with POSIX subgroup rules.  With
``Flag.MULTILINE`` (REG_NEWLINE) ``.`` and ``[^...]`` do not match newline and
``^``/``$`` match at line breaks; ``Flag.IGNORECASE`` is REG_ICASE.
"""

from __future__ import annotations

from .. import ast as R
from ..charset import ANY, NEWLINE, CharSet, posix_class, space, word
from ..errors import NotSupported, ParseError
from . import Flag, Reader


def parse_bracket(
    r: Reader, pattern: str, start: int, newline_sensitive: bool, backslash_escapes: bool = False
) -> CharSet:
    """Parse a bracket expression; ``r`` is just past the opening ``[``."""
    neg = r.take("^")
    acc: list[tuple[int, int]] = []
    sets: list[CharSet] = []
    first = True
    while True:
        if r.eof():
            raise ParseError("unterminated bracket expression", pattern, start)
        c = r.peek()
        if c == "]" and not first:
            r.i += 1
            break
        first = False
        pos = r.i
        if r.startswith("[:"):
            j = r.text.find(":]", r.i + 2)
            if j < 0:
                raise ParseError("unterminated character class [:", pattern, pos)
            name = r.text[r.i + 2 : j]
            cs = posix_class(name)
            if cs is None:
                raise ParseError(f"unknown character class [:{name}:]", pattern, pos)
            sets.append(cs)
            r.i = j + 2
            continue
        if r.startswith("[.") or r.startswith("[="):
            kind = "collating element" if r.peek(1) == "." else "equivalence class"
            raise NotSupported(f"{kind} {r.text[r.i : r.i + 2]}...] is not supported", pattern, pos)
        lo = ord(r.next())
        if backslash_escapes and lo == 92 and not r.eof():
            lo = ord(r.next())
        if r.peek() == "-" and r.peek(1) not in ("]", ""):
            r.i += 1
            if r.startswith("[.") or r.startswith("[="):
                raise NotSupported("collating element in range is not supported", pattern, r.i)
            hi = ord(r.next())
            if backslash_escapes and hi == 92 and not r.eof():
                hi = ord(r.next())
            if hi < lo:
                raise ParseError("invalid range end in bracket expression", pattern, pos)
            acc.append((lo, hi))
        else:
            acc.append((lo, lo))
    cs = CharSet(acc)
    for s in sets:
        cs = cs.union(s)
    if neg:
        cs = cs.complement()
        if newline_sensitive:
            cs = cs.diff(NEWLINE)
    return cs


class _Parser:
    def __init__(self, pattern: str, flags: int, extended: bool) -> None:
        self.r = Reader(pattern)
        self.pattern = pattern
        self.ext = extended
        self.nl = bool(flags & Flag.MULTILINE)
        self.icase = bool(flags & Flag.IGNORECASE)
        self.depth = 0

    def err(self, msg: str, pos: int | None = None) -> ParseError:
        return ParseError(msg, self.pattern, self.r.i if pos is None else pos)

    def at_alt(self) -> bool:
        return self.r.startswith("|") if self.ext else self.r.startswith("\\|")

    def at_close(self) -> bool:
        return self.r.startswith(")") if self.ext else self.r.startswith("\\)")

    def parse(self) -> R.Re:
        node = self.alt()
        if not self.r.eof():
            raise self.err("unmatched )" if self.ext else "unmatched \\)")
        return R.Case(True, node) if self.icase else node

    def alt(self) -> R.Re:
        items = [self.concat()]
        while self.at_alt():
            self.r.i += 1 if self.ext else 2
            items.append(self.concat())
        return items[0] if len(items) == 1 else R.Alt(tuple(items))

    def concat(self) -> R.Re:
        items: list[R.Re] = []
        r = self.r
        seg_start = r.i
        while not r.eof() and not self.at_alt() and not (self.depth and self.at_close()):
            if not self.ext and self.at_close():
                break
            start = r.i
            atom = self.atom(start == seg_start)
            items.append(self.quant(atom, start))
        return R.seq(*items) if len(items) != 1 else items[0]

    def quant(self, atom: R.Re, start: int) -> R.Re:
        r = self.r
        while not r.eof():
            pos = r.i
            if r.peek() == "*":
                r.i += 1
                lo, hi = 0, None
            elif self.ext and r.peek() in "+?":
                lo, hi = (1, None) if r.next() == "+" else (0, 1)
            elif not self.ext and (r.startswith("\\+") or r.startswith("\\?")):
                r.i += 2
                lo, hi = (1, None) if r.text[pos + 1] == "+" else (0, 1)
            elif (self.ext and r.peek() == "{") or (not self.ext and r.startswith("\\{")):
                r.i += 1 if self.ext else 2
                lo, hi = self.bounds(pos)
            else:
                break
            if isinstance(atom, R.Assert):
                raise self.err("repetition operator after an anchor", pos)
            atom = R.Repeat(atom, lo, hi, True)
        return atom

    def bounds(self, pos: int) -> tuple[int, int | None]:
        r = self.r
        close = "}" if self.ext else "\\}"
        j = r.text.find(close, r.i)
        if j < 0:
            raise self.err("unterminated interval expression", pos)
        body = r.text[r.i : j]
        r.i = j + len(close)
        parts = body.split(",")
        try:
            if len(parts) == 1:
                lo = int(parts[0])
                return lo, lo
            if len(parts) == 2:
                lo = int(parts[0]) if parts[0] else 0
                hi = int(parts[1]) if parts[1] else None
                if hi is not None and hi < lo:
                    raise self.err("invalid interval: max below min", pos)
                if lo > 32767 or (hi or 0) > 32767:
                    raise self.err("interval count exceeds RE_DUP_MAX (32767)", pos)
                return lo, hi
        except ValueError:
            pass
        raise self.err(f"invalid interval expression {{{body}}}", pos)

    def atom(self, first: bool) -> R.Re:
        r = self.r
        start = r.i
        c = r.next()
        if c == "(" and self.ext:
            return self.group(start)
        if c == "\\":
            if r.eof():
                raise self.err("trailing backslash", start)
            d = r.next()
            if not self.ext and d == "(":
                return self.group(start)
            if not self.ext and d in ")}{":
                raise self.err(f"unmatched \\{d}", start)
            if d.isdigit() and d != "0":
                raise NotSupported("back-reference is not supported", self.pattern, start)
            gnu = self.gnu_escape(d)
            return gnu if gnu is not None else R.Set(CharSet.of_char(ord(d)))
        if c == "[":
            return R.Set(parse_bracket(r, self.pattern, start, self.nl))
        if c == ".":
            return R.Set(NEWLINE.complement() if self.nl else ANY)
        if c == "^" and (self.ext or first):
            return R.Assert("bol" if self.nl else "bos")
        if c == "$" and (self.ext or r.eof() or self.at_close() or self.at_alt()):
            return R.Assert("eol" if self.nl else "eos")
        if self.ext and c in "*+?{":
            if c == "{" and not (r.peek().isdigit() or r.peek() == ","):
                return R.Set(CharSet.of_char(ord(c)))
            raise self.err(f"repetition operator {c!r} with nothing to repeat", start)
        if self.ext and c == ")":
            raise self.err("unmatched )", start)
        if not self.ext and c == "*" and first:
            return R.Set(CharSet.of_char(42))
        return R.Set(CharSet.of_char(ord(c)))

    def gnu_escape(self, d: str) -> R.Re | None:
        """GNU's escapes (glibc regcomp, GNU grep), undefined in POSIX: ``\\w \\W \\s
        \\S`` (word and space characters and their complements), ``\\b \\B \\< \\>``
        (word boundaries) and ``\\` \\'`` (start and end of the text)."""
        if d in "wWsS":
            cs = word() if d in "wW" else space()
            if d.isupper():
                cs = cs.complement()
                if self.nl:
                    cs = cs.diff(NEWLINE)
            return R.Set(cs)
        kind = {"b": "wordb", "B": "nwordb", "<": "bow", ">": "eow", "`": "bos", "'": "eos"}
        k = kind.get(d)
        return R.Assert(k) if k is not None else None  # type: ignore[arg-type]

    def group(self, start: int) -> R.Re:
        self.depth += 1
        if self.depth > 200:
            raise self.err("groups nested too deeply (limit 200)", start)
        body = self.alt()
        self.depth -= 1
        if not self.at_close():
            raise self.err("unmatched (" if self.ext else "unmatched \\(", start)
        self.r.i += 1 if self.ext else 2
        return R.Group(body)


def parse(pattern: str, flags: int = 0, extended: bool = True) -> R.Re:
    """Parse POSIX ERE (``extended=True``) or BRE; the tree is wrapped in ``longest``."""
    return R.Sem("longest", _Parser(pattern, flags, extended).parse())
