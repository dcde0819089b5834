"""Perl/PCRE syntax, following Python's :mod:`re` dialect.

Supported: literals and escapes (``\\t \\n \\xHH \\x{H..} \\uHHHH \\UHHHHHHHH
\\N{NAME} \\0oo``), ``.``, ``^ $ \\A \\Z \\z \\b \\B``, classes ``[...]`` with
ranges and ``\\d \\w \\s`` (and negations), Unicode properties ``\\pL
\\p{..} \\P{..} \\p{^..}``, groups ``( )``, ``(?: )``, ``(?P<n> )``/``(?<n> )``/``(?'n' )``,
comments ``(?# )``, inline flags
``(?aimsx-imsx)`` and scoped ``(?i: )``, quantifiers ``* + ? {n} {n,} {,m}
{n,m}`` and their lazy forms.

Refused with :class:`NotSupported` (use ``engine="regex"``): backreferences,
lookahead/lookbehind, atomic groups, possessive quantifiers, conditionals,
recursion.
"""

from __future__ import annotations

import re as _re
import unicodedata
from functools import cache
from typing import Any

from .. import ast as R
from ..charset import (
    ANY,
    NEWLINE,
    CharSet,
    case_canon,
    digit,
    space,
    unicode_property,
    word,
)
from ..errors import NotSupported, ParseError, TooLarge
from ..literals import factor
from ..prog import MAX_PROG
from . import Flag, Reader

_SIMPLE_ESCAPES = {
    "a": 7,
    "b": 8,
    "f": 12,
    "n": 10,
    "r": 13,
    "t": 9,
    "v": 11,
    "e": 27,
}


_I, _M, _S, _X, _A = (int(f) for f in (Flag.I, Flag.M, Flag.S, Flag.X, Flag.A))


class _Flags:
    __slots__ = ("ascii", "dotall", "icase", "multiline", "verbose")

    def __init__(self, f: int, is_bytes: bool) -> None:
        f = int(f)  # plain int tests: enum operators cost microseconds each
        self.icase = bool(f & _I)
        self.multiline = bool(f & _M)
        self.dotall = bool(f & _S)
        self.verbose = bool(f & _X)
        self.ascii = bool(f & _A) or is_bytes

    def copy(self) -> _Flags:
        c = _Flags.__new__(_Flags)
        c.icase, c.multiline, c.dotall = self.icase, self.multiline, self.dotall
        c.verbose, c.ascii = self.verbose, self.ascii
        return c


class PerlParser:
    """Recursive-descent parser; use :func:`parse`."""

    def __init__(self, pattern: str, flags: int = 0, is_bytes: bool = False) -> None:
        self.r = Reader(pattern)
        self.pattern = pattern
        self.is_bytes = is_bytes
        self.names: set[str] = set()
        self.ngroups = 0
        self.flags = _Flags(flags, is_bytes)
        self.depth = 0
        self._lits: dict[int, R.Re] = {}  # the node of each literal (nodes are immutable)
        self._words: dict[tuple[Any, ...], R.Re] = {}  # the tree of each list of words
        self._folded: dict[CharSet, R.Re] = {}  # each class closed under case
        self._classes: dict[tuple[str, bool, bool], CharSet] = {}  # classes with escapes

    def error(self, msg: str, pos: int | None = None) -> ParseError:
        return ParseError(msg, self.pattern, self.r.i if pos is None else pos)

    def unsupported(self, msg: str, pos: int) -> NotSupported:
        return NotSupported(msg, self.pattern, pos)

    def parse(self) -> R.Re:
        node = self.parse_alt()
        if not self.r.eof():
            raise self.error("unbalanced parenthesis")
        return node

    # -- structure ----------------------------------------------------------
    def parse_alt(self) -> R.Re:
        # (?flags) holds to the end of the enclosing group, across its branches
        # (Python's re: the whole pattern, where such flags must come first)
        saved = self.flags
        try:
            return self._parse_alt()
        finally:
            self.flags = saved

    def _parse_alt(self) -> R.Re:
        items: list[R.Re | tuple[str, bool]] = []
        r = self.r
        text = r.text
        search = _META_BAR.search
        while True:
            m = None if self.flags.verbose else search(text, r.i)
            j = r.n if m is None else m.start()
            if not self.flags.verbose and (j == r.n or text[j] in "|)"):
                # a branch of plain characters, kept as text until the trie is made
                items.append((text[r.i : j], self.flags.icase))
                r.i = j
            else:
                items.append(self.parse_concat())
            if r.i >= r.n or text[r.i] != "|":
                break
            r.i += 1
        if len(items) == 1:
            only = items[0]
            if not isinstance(only, tuple):
                return only
            lit = self.lit  # one branch of plain characters: nothing to share
            return R.seq(*[lit(ord(c)) for c in only[0]])
        if all(type(x) is tuple for x in items):
            # only words: the same list again (a pattern may repeat one) is
            # the same tree, which is immutable and holds no group: made once
            key = tuple(items)
            got = self._words.get(key)
            if got is None:
                got = self._words[key] = _shared_prefixes(items)
            return got
        return _shared_prefixes(items)

    def skip_verbose(self) -> None:
        r = self.r
        while not r.eof():
            c = r.peek()
            if c in " \t\n\r\f\v":
                r.i += 1
            elif c == "#":
                while not r.eof() and r.peek() != "\n":
                    r.i += 1
            else:
                break

    def parse_concat(self) -> R.Re:
        items: list[R.Re] = []
        r = self.r
        text, n = r.text, r.n
        search = _META_BAR.search
        while True:
            if self.flags.verbose:
                self.skip_verbose()
            else:
                # a run of plain characters at once (not the last: a quantifier may follow)
                i = r.i
                m = search(text, i)
                j = m.start() - 1 if m is not None else n
                if j - i >= 2:
                    lit = self.lit
                    items.extend([lit(ord(c)) for c in text[i:j]])
                    r.i = j
            start = r.i
            if start >= n or text[start] in "|)":
                break
            atom = self.parse_atom()
            if atom is None:  # inline flag group changed self.flags
                continue
            if self.flags.verbose:
                self.skip_verbose()
            if r.i < n and text[r.i] in "*+?{":
                atom = self.parse_quant(atom, start)
            items.append(atom)
        return R.seq(*items) if len(items) != 1 else items[0]

    def parse_quant(self, atom: R.Re, start: int) -> R.Re:
        r = self.r
        quantified = False
        while not r.eof():
            qpos = r.i
            c = r.peek()
            if c == "*":
                r.i += 1
                lo, hi = 0, None
            elif c == "+":
                r.i += 1
                lo, hi = 1, None
            elif c == "?":
                r.i += 1
                lo, hi = 0, 1
            elif c == "{":
                b = self.try_braces()
                if b is None:
                    break
                lo, hi = b
            else:
                break
            if quantified:
                raise self.error("multiple repeat", qpos)
            if isinstance(atom, R.Assert) and r.text[start] in "^$\\":
                raise self.error("nothing to repeat", qpos)
            greedy = True
            if r.peek() == "?":
                r.i += 1
                greedy = False
            elif r.peek() == "+":
                raise self.unsupported("possessive quantifier (not supported)", r.i)
            atom = R.Repeat(atom, lo, hi, greedy)
            quantified = True
        return atom

    def try_braces(self) -> tuple[int, int | None] | None:
        r = self.r
        j = r.i + 1
        t = r.text
        k = j
        while k < r.n and t[k].isdigit() and t[k].isascii():
            k += 1
        lo_s = t[j:k]
        if k < r.n and t[k] == "}":
            if not lo_s:
                return None
            r.i = k + 1
            v = int(lo_s)
            self.check_bound(v, j)
            return v, v
        if k < r.n and t[k] == ",":
            m = k + 1
            while m < r.n and t[m].isdigit() and t[m].isascii():
                m += 1
            hi_s = t[k + 1 : m]
            if m < r.n and t[m] == "}":
                lo = int(lo_s) if lo_s else 0
                hi = int(hi_s) if hi_s else None
                self.check_bound(lo, j)
                if hi is not None:
                    self.check_bound(hi, k + 1)
                    if hi < lo:
                        raise self.error("min repeat greater than max repeat", j)
                r.i = m + 1
                return lo, hi
        return None

    def check_bound(self, v: int, pos: int) -> None:
        if v > 100_000:
            raise self.error(f"repetition count {v} too large (limit 100000)", pos)

    # -- atoms --------------------------------------------------------------
    # Under (?i) a character or class is its set closed under case, made
    # here once per distinct set (what resolving a Case node would do)
    def lit(self, cp: int) -> R.Re:
        icase = self.flags.icase
        key = -1 - cp if icase else cp
        node = self._lits.get(key)
        if node is None:
            cs = CharSet.of_char(cp)
            node = self._lits[key] = R.Set(cs.case_fold() if icase else cs)
        return node

    def cls(self, cs: CharSet) -> R.Re:
        if not self.flags.icase:
            return R.Set(cs)
        node = self._folded.get(cs)
        if node is None:
            node = self._folded[cs] = R.Set(cs.case_fold())
        return node

    def parse_atom(self) -> R.Re | None:
        r = self.r
        start = r.i
        c = r.text[start]
        r.i = start + 1
        if c == "\\":
            return self.parse_escape(start)
        if c == "(":
            return self.parse_group(start)
        if c == "[":
            return self.cls(self.parse_class(start))
        if c == ".":
            return _ANY if self.flags.dotall else _NOT_NL
        if c == "^":
            return _ASSERTS["bol" if self.flags.multiline else "bos"]
        if c == "$":
            return _ASSERTS["eol" if self.flags.multiline else "leol"]
        if c in "*+?":
            raise self.error("nothing to repeat", start)
        if c == "{" and self._brace_is_quant(start):
            raise self.error("nothing to repeat", start)
        return self.lit(ord(c))

    def _brace_is_quant(self, start: int) -> bool:
        save = self.r.i
        self.r.i = start
        b = self.try_braces()
        self.r.i = save
        return b is not None

    def parse_group(self, start: int) -> R.Re | None:
        r = self.r
        name: str | None = None
        capture = True
        if r.i < r.n and r.text[r.i] == "?":
            r.i += 1
            if r.take("#"):
                while not r.eof() and r.peek() != ")":
                    r.i += 1
                if r.eof():
                    raise self.error("missing ), unterminated comment", start)
                r.i += 1
                return None
            if r.take(":"):
                capture = False
            elif r.startswith("P<") or (r.startswith("<") and r.peek(1) not in "=!"):
                r.take("P")
                r.take("<")
                name = self.parse_name(">", start)
            elif r.startswith("'"):
                r.i += 1
                name = self.parse_name("'", start)
            elif r.startswith("P="):
                raise self.unsupported("backreference (?P=...) is not supported", start)
            elif r.peek() in ("=", "!") or r.startswith("<=") or r.startswith("<!"):
                raise self.unsupported("lookaround assertion is not supported", start)
            elif r.peek() == ">":
                raise self.unsupported("atomic group (?>...) is not supported", start)
            elif r.peek() == "(":
                raise self.unsupported("conditional group is not supported", start)
            elif (r.peek() and r.peek() in "R0123456789&+") or r.startswith("P>"):
                raise self.unsupported("recursion is not supported", start)
            else:
                return self.parse_flag_group(start)
        if capture:
            self.ngroups += 1
        self.depth += 1
        if self.depth > 200:
            raise self.error("too many nested groups (limit 200)", start)
        body = self.parse_alt()  # restores the flags (?flags) inside changed
        self.depth -= 1
        if r.i >= r.n or r.text[r.i] != ")":
            raise self.error("missing ), unterminated subpattern", start)
        r.i += 1
        return R.Group(body, name) if capture else body

    def parse_name(self, close: str, start: int) -> str:
        r = self.r
        j = r.text.find(close, r.i)
        if j < 0:
            raise self.error("missing group name terminator", start)
        name = r.text[r.i : j]
        if not name.isidentifier():
            raise self.error(f"bad character in group name {name!r}", r.i)
        if name in self.names:
            raise self.error(f"redefinition of group name {name!r}", r.i)
        self.names.add(name)
        r.i = j + 1
        return name

    def parse_flag_group(self, start: int) -> R.Re | None:
        r = self.r
        on: set[str] = set()
        off: set[str] = set()
        neg = False
        while True:
            if r.eof():
                raise self.error("missing -, : or )", start)
            c = r.next()
            if c in "imsxau":
                (off if neg else on).add(c)
            elif c == "L":
                raise self.unsupported("locale flag (?L) is not supported", r.i - 1)
            elif c == "-" and not neg:
                neg = True
            elif c in ":)":
                break
            else:
                raise self.error(f"unknown flag {c!r}", r.i - 1)
        if neg and (off & {"a", "u"}):
            raise self.error("bad inline flags: cannot turn off 'a' or 'u'", start)
        new = self.flags.copy()
        for f, v in [(x, True) for x in on] + [(x, False) for x in off]:
            if f == "i":
                new.icase = v
            elif f == "m":
                new.multiline = v
            elif f == "s":
                new.dotall = v
            elif f == "x":
                new.verbose = v
            elif f == "a":
                new.ascii = v
            elif f == "u":
                new.ascii = self.is_bytes
        if c == ")":
            # (?flags) applies to the rest of the enclosing group
            self.flags = new
            return None
        saved = self.flags
        self.flags = new
        self.depth += 1
        body = self.parse_alt()
        self.depth -= 1
        self.flags = saved
        if not r.take(")"):
            raise self.error("missing ), unterminated subpattern", start)
        return body

    # -- escapes ------------------------------------------------------------
    def class_escape(self, c: str) -> CharSet | None:
        if c in "dDwWsS":
            return _escape_set(c, not self.flags.ascii)
        if c in "pP":
            return self.property_escape(c == "P")
        return None

    def property_escape(self, negated: bool) -> CharSet:
        """``\\pL``, ``\\p{Greek}``, ``\\p{^Greek}``, ``\\P{...}``: a Unicode property.

        The names are RE2's and the ``regex`` module's (see
        :func:`~re_engine.charset.unicode_property`).
        """
        r = self.r
        start = r.i - 2
        if r.eof():
            raise self.error("missing property name after \\p", start)
        if r.take("{"):
            j = r.text.find("}", r.i)
            if j < 0 or j - r.i > 100:
                raise self.error("missing } after \\p{", start)
            name = r.text[r.i : j]
            r.i = j + 1
        else:
            name = r.next()
        if name.startswith("^"):
            negated = not negated
            name = name[1:]
        cs = unicode_property(name)
        if cs is None:
            raise self.error(f"unknown Unicode property {name!r}", start)
        return cs.complement() if negated else cs

    def parse_escape(self, start: int) -> R.Re:
        r = self.r
        i = r.i
        if i >= r.n:
            raise self.error("bad escape (end of pattern)", start)
        c = r.text[i]
        r.i = i + 1
        if c in "dDwWsS":
            return _escape_node(c, not self.flags.ascii)
        node = _ESCAPE_ASSERTS.get(c)
        if node is not None:
            return node
        if c in "pP":
            return self.cls(self.property_escape(c == "P"))
        if c.isdigit() and c != "0":
            # \1..\99 are backreferences unless three octal digits follow
            if (
                c in "01234567"
                and r.peek() in "01234567"
                and r.peek(1) in "01234567"
                and r.peek()
                and r.peek(1)
            ):
                v = int(c + r.next() + r.next(), 8)
                if v > 0o377:
                    raise self.error(f"octal escape value \\{v:o} outside of range 0-0o377", start)
                return self.lit(v)
            raise self.unsupported("backreference is not supported", start)
        if c in "gk" and r.peek() in "<{'":
            raise self.unsupported("named backreference is not supported", start)
        return self.lit(self.char_escape(c, start))

    def char_escape(self, c: str, start: int) -> int:
        r = self.r
        if c in _SIMPLE_ESCAPES and c not in "be":
            return _SIMPLE_ESCAPES[c]
        if c == "0":
            digits = ""
            while len(digits) < 2 and r.peek() in "01234567" and r.peek():
                digits += r.next()
            return int(digits or "0", 8)
        if c == "x":
            if r.take("{"):
                j = r.text.find("}", r.i)
                h = r.text[r.i : j] if j >= 0 else ""
                if j < 0 or not h or not all(x in "0123456789abcdefABCDEF" for x in h):
                    raise self.error("bad \\x{...} escape", start)
                r.i = j + 1
                return self.check_cp(int(h, 16), start)
            return self.hex_digits(2, start)
        if c == "u" and not self.is_bytes:
            return self.hex_digits(4, start)
        if c == "U" and not self.is_bytes:
            return self.check_cp(self.hex_digits(8, start), start)
        if c == "N" and not self.is_bytes:
            if not r.take("{"):
                raise self.error("missing { after \\N", start)
            j = r.text.find("}", r.i)
            if j < 0:
                raise self.error("missing } in \\N{...}", start)
            name = r.text[r.i : j]
            try:
                ch = unicodedata.lookup(name)
            except KeyError:
                raise self.error(f"undefined character name {name!r}", start)
            r.i = j + 1
            return ord(ch)
        if c.isascii() and c.isalnum():
            raise self.error(f"bad escape \\{c}", start)
        return ord(c)

    def check_cp(self, v: int, start: int) -> int:
        if v > (0xFF if self.is_bytes else 0x10FFFF):
            raise self.error(f"character code {v:#x} out of range", start)
        return v

    def hex_digits(self, k: int, start: int) -> int:
        r = self.r
        h = r.text[r.i : r.i + k]
        if len(h) != k or not all(x in "0123456789abcdefABCDEF" for x in h):
            raise self.error(f"incomplete escape \\{r.text[start + 1]}{h}", start)
        r.i += k
        return int(h, 16)

    # -- bracket classes ----------------------------------------------------
    def parse_class(self, start: int) -> CharSet:
        r = self.r
        neg = r.take("^")
        acc: list[tuple[int, int]] = []
        sets: list[CharSet] = []
        # a class without escapes (a "]" first is a member): read from its text
        text = r.text
        i = r.i
        j = text.find("]", i + 1)
        if j > 0 and "\\" not in text[i:j]:
            k = i
            while k < j:
                lo = ord(text[k])
                if k + 2 < j and text[k + 1] == "-":
                    hi = ord(text[k + 2])
                    if hi < lo:
                        raise self.error("bad character range", k)
                    acc.append((lo, hi))
                    k += 3
                else:
                    acc.append((lo, lo))
                    k += 1
            r.i = j + 1
            return self._class_set(CharSet(acc), sets, neg)
        # with escapes: the same class text again (as in [\w.-]+@[\w.-]+) is
        # the same set under the same flags, made once; an escape takes the
        # character after it, so the first other "]" (but a leading one) ends it
        k, n = i, r.n
        if k < n and text[k] == "]":
            k += 1
        while k < n and text[k] != "]":
            k += 2 if text[k] == "\\" else 1
        key = (text[start : k + 1], self.flags.icase, self.flags.ascii)
        got = self._classes.get(key)
        if got is not None:
            r.i = k + 1
            return got
        first = True
        while True:
            if r.eof():
                raise self.error("unterminated character set", start)
            c = r.peek()
            if c == "]" and not first:
                r.i += 1
                break
            first = False
            lo_pos = r.i
            item = self.class_atom()
            if isinstance(item, CharSet):
                sets.append(item)
                continue
            lo = item
            if r.peek() == "-" and r.peek(1) not in ("]", ""):
                r.i += 1
                hi_item = self.class_atom()
                if isinstance(hi_item, CharSet):
                    raise self.error("bad character range (class in range)", lo_pos)
                if hi_item < lo:
                    raise self.error("bad character range", lo_pos)
                acc.append((lo, hi_item))
            else:
                acc.append((lo, lo))
        cs = self._class_set(CharSet(acc), sets, neg)
        if r.i == k + 1:
            self._classes[key] = cs
        return cs

    def _class_set(self, cs: CharSet, sets: list[CharSet], neg: bool) -> CharSet:
        """The set of a class: its characters ``cs``, its escapes' ``sets``, negated or not."""
        for s in sets:
            cs = cs.union(s)
        if neg:
            if self.flags.icase:
                cs = cs.case_fold()
            cs = cs.complement()
        return cs

    def class_atom(self) -> int | CharSet:
        r = self.r
        start = r.i
        c = r.next()
        if c != "\\":
            return ord(c)
        if r.eof():
            raise self.error("bad escape (end of pattern)", start)
        e = r.next()
        cs = self.class_escape(e)
        if cs is not None:
            return cs
        if e == "b":
            return 8
        if e.isdigit() and e != "0":
            if e in "01234567" and r.peek() in "01234567" and r.peek():
                digits = e + r.next()
                if r.peek() in "01234567" and r.peek():
                    digits += r.next()
                return self.check_cp(int(digits, 8), start)
            raise self.error(f"bad escape \\{e}", start)
        return self.char_escape(e, start)


@cache
def _escape_set(c: str, unicode: bool) -> CharSet:
    """The set of ``\\d \\D \\w \\W \\s \\S`` (constant per flag: made once)."""
    base = {"d": digit, "w": word, "s": space}[c.lower()](unicode)
    return base if c.islower() else base.complement()


@cache
def _escape_node(c: str, unicode: bool) -> R.Re:
    """The node of ``\\d \\D \\w \\W \\s \\S`` (nodes are immutable: made once)."""
    return R.Set(_escape_set(c, unicode))


# the nodes of the assertions and of ``.`` (immutable: shared by every pattern)
_ASSERTS = {k: R.Assert(k) for k in ("bol", "bos", "eol", "leol", "eos", "wordb", "nwordb")}
_ESCAPE_ASSERTS = {
    "A": _ASSERTS["bos"],
    "Z": _ASSERTS["eos"],
    "z": _ASSERTS["eos"],
    "b": _ASSERTS["wordb"],
    "B": _ASSERTS["nwordb"],
}
_ANY = R.Set(ANY)
_NOT_NL = R.Set(NEWLINE.complement())


def parse(pattern: str, flags: int = 0, is_bytes: bool = False) -> R.Re:
    """Parse Perl/Python-``re`` syntax into a tree.

    Raises :class:`ParseError` (malformed) or :class:`NotSupported` (a
    non-regular feature), both naming the position in the pattern.  An
    alternation shares its branches' common prefixes (a list of words
    becomes a trie, :mod:`re_engine.literals`); a branch of plain
    characters is read at once, without the general parser.
    """
    if "|" in pattern and not int(flags) & _X and _META.search(pattern) is None:
        # only words between bars: split in C, as parse_alt would branch by branch
        icase = bool(int(flags) & _I)
        return _shared_prefixes([(w, icase) for w in pattern.split("|")])
    return PerlParser(pattern, flags, is_bytes).parse()


# every character with a meaning in Perl syntax (one class each: linear)
_META_BAR = _re.compile(r"[\\^$.|?*+()\[\]{}]")
_META = _re.compile(r"[\\^$.?*+()\[\]{}]")


def _key(node: R.Re) -> CharSet | None:
    """The characters a one-character node matches (case folded under ``(?i)``), else None."""
    if isinstance(node, R.Set):
        return node.cs
    if isinstance(node, R.Case) and isinstance(node.node, R.Set):
        return node.node.cs.case_fold() if node.fold else node.node.cs
    return None


def _shared_prefixes(items: list[R.Re | tuple[str, bool]]) -> R.Re:
    """The alternation of ``items`` with their common leading characters shared.

    An item is a node, or a branch of plain characters as ``(text, ignore
    case)``.  See :mod:`re_engine.literals` for why the leftmost-first choice
    is kept.
    """
    # The words' own trie (their distinct prefixes) is a lower bound on the
    # characters of the result, which shares no more than it: known at once.
    plain = [x for x in items if isinstance(x, tuple)]
    fold = case_canon() if any(ic for _, ic in plain) else {}
    words = {("\1" if ic else "\0") + w.translate(fold) for w, ic in plain}
    if len(words) > MAX_PROG or (len(words) > 1000 and _trie_size(sorted(words)) > MAX_PROG):
        raise TooLarge(f"alternation of {len(items)} branches exceeds the program size limit")
    sets: dict[tuple[str, bool], CharSet] = {}
    flat = _distinct_firsts(items, sets)
    if flat is not None:
        return flat
    branches: list[tuple[tuple[CharSet, ...], R.Re | None]] = []
    for it in items:
        if isinstance(it, tuple):
            w, ic = it
            for c in set(w):
                if (c, ic) not in sets:
                    cs = CharSet.of_char(ord(c))
                    sets[c, ic] = cs.case_fold() if ic else cs
            branches.append((tuple(sets[c, ic] for c in w), None))
            continue
        parts = it.items if isinstance(it, R.Seq) else (it,)
        keys: list[CharSet] = []
        for p in parts:
            k = _key(p)
            if k is None:
                break
            keys.append(k)
        rest = parts[len(keys) :]
        branches.append((tuple(keys), None if not rest else R.seq(*rest)))
    return factor(branches, R.Set, None if _disjoint(branches) else _overlap, MAX_PROG)


def _distinct_firsts(
    items: list[R.Re | tuple[str, bool]], sets: dict[tuple[str, bool], CharSet]
) -> R.Re | None:
    """The alternation of ``items`` as they are if no two can begin with the same key, else None.

    Then no prefix is shared (:func:`re_engine.literals.factor` only merges
    branches beginning with equal keys), so the branches stay as written;
    ``sets`` receives the key of each word's first character.
    """
    firsts: set[CharSet] = set()
    chars = 0
    for it in items:
        if isinstance(it, tuple):
            w, ic = it
            if not w:
                return None  # an empty word: a barrier, and a second one is dropped
            k = sets.get((w[0], ic))
            if k is None:
                k = CharSet.of_char(ord(w[0]))
                k = sets[w[0], ic] = k.case_fold() if ic else k
            chars += len(w)
        else:
            k = _key(it.items[0] if isinstance(it, R.Seq) and it.items else it)
            if k is None:
                continue  # begins with no key: merged with nothing
        if k in firsts:
            return None
        firsts.add(k)
    if chars > MAX_PROG:
        return None  # too large: factor() raises TooLarge
    nodes: dict[tuple[str, bool], R.Re] = {}
    out: list[R.Re] = []
    for it in items:
        if not isinstance(it, tuple):
            out.append(it)
            continue
        w, ic = it
        seq: list[R.Re] = []
        for c in w:
            node = nodes.get((c, ic))
            if node is None:
                cs = CharSet.of_char(ord(c))
                node = nodes[c, ic] = R.Set(cs.case_fold() if ic else cs)
            seq.append(node)
        out.append(R.seq(*seq))
    return R.alt(*out)


def _trie_size(words: list[str]) -> int:
    """The number of distinct non-empty prefixes of sorted ``words`` (each with a mark first)."""
    total = 0
    prev = ""
    for w in words:
        k = 0
        n = min(len(w), len(prev))
        while k < n and w[k] == prev[k]:
            k += 1
        total += len(w) - max(k, 1)  # the mark is not a character
        prev = w
    return total


def _overlap(a: CharSet, b: CharSet) -> bool:
    return bool(a.inter(b))


def _disjoint(branches: list[tuple[tuple[CharSet, ...], R.Re | None]]) -> bool:
    """Whether the distinct character sets used are pairwise disjoint (no overlap checks needed)."""
    sets = {k for keys, _ in branches for k in keys}
    spans = sorted(r for cs in sets for r in cs.ranges)
    return all(spans[i][1] < spans[i + 1][0] for i in range(len(spans) - 1))
