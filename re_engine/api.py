"""The user-facing API, close to Python's :mod:`re`, plus ocaml-re's names."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, AnyStr, Generic

from . import ast as R
from .charset import CharSet, word
from .dfa import LazyDFA
from .errors import NotSupported, ReError
from .pike import context_fn, pike
from .prog import (
    EDGE,
    FINALNL,
    NL,
    WORD,
    Core,
    Resolved,
    compile_prog,
    min_max_len,
    resolve,
    reverse,
)
from .syntax import Flag

# _prefer_dfa: sample size, and the literal density (one per this many
# characters) below which the prefiltered DFA beats a guarded re search
_SAMPLE = 1 << 16
_DENSITY = 400

SYNTAXES = ("perl", "posix", "posix_basic", "emacs", "glob", "str")


def _parse(pattern: str, syntax: str, flags: int, is_bytes: bool, options: dict[str, Any]) -> R.Re:
    if syntax == "perl":
        from .syntax import perl

        return perl.parse(pattern, flags, is_bytes)
    if syntax in ("posix", "posix_extended", "ere"):
        from .syntax import posix

        return posix.parse(pattern, flags, extended=True)
    if syntax in ("posix_basic", "bre"):
        from .syntax import posix

        return posix.parse(pattern, flags, extended=False)
    if syntax == "emacs":
        from .syntax import emacs

        return emacs.parse(pattern, flags)
    if syntax == "glob":
        from .syntax import glob

        return glob.parse(pattern, flags, **options)
    if syntax == "str":
        from .syntax import str_syntax

        return str_syntax.parse(pattern, flags)
    raise ReError(f"unknown syntax {syntax!r} (expected one of {', '.join(SYNTAXES)})")


_DEFAULT_SEM = {
    "perl": "first",
    "posix": "longest",
    "posix_basic": "longest",
    "emacs": "first",
    "glob": "first",
    "str": "first",
}


class _Engine:
    """The compiled automata for one variant of a pattern (search or fullmatch)."""

    def __init__(self, res: Resolved, core: Core, is_bytes: bool, is_word: Callable[[int], bool]):
        self.core = core
        self.is_bytes = is_bytes
        self.is_word = is_word
        self.prog = compile_prog(core, is_bytes, res.ngroups, captures=True)
        self.plain = compile_prog(core, is_bytes, res.ngroups, captures=False)
        self.rprog = compile_prog(reverse(core), is_bytes, 0, captures=False)
        lo, hi = min_max_len(core)
        self.fixed = lo if lo == hi else -1
        self._dfas: dict[str, LazyDFA] = {}
        self.posix_cache: dict[Any, Any] = {}
        from .fast import Jumper, first_set

        fs = first_set(core)
        jumper = Jumper(core, is_bytes, fs) if fs is not None else None
        self.jumper = jumper if jumper is not None and jumper.useful else None

    def dfa(self, which: str) -> LazyDFA:
        d = self._dfas.get(which)
        if d is None:
            if which == "unanch":
                d = LazyDFA(self.plain, "first", True, self.is_word)
                d.jumper = self.jumper
            elif which == "anch":
                d = LazyDFA(self.plain, "first", False, self.is_word)
            elif which == "longest":
                d = LazyDFA(self.plain, "longest", False, self.is_word)
            else:
                d = LazyDFA(self.rprog, "longest", False, self.is_word)
            self._dfas[which] = d
        return d


class Pattern(Generic[AnyStr]):
    """A compiled regular expression.  Build it with :func:`compile`."""

    def __init__(
        self,
        pattern: Any,
        syntax: str,
        flags: int,
        node: R.Re,
        is_bytes: bool,
        delegate: bool = True,
        word_set: CharSet | None = None,
    ) -> None:
        self.pattern = pattern
        self.syntax = syntax
        self.flags = int(flags)
        self.node = node
        self.is_bytes = is_bytes
        res = resolve(node, is_bytes, _DEFAULT_SEM.get(syntax, "first"))
        self._res = res
        self.semantics = res.sem
        self.groups = res.ngroups
        self.groupindex = dict(res.names)
        self._index_names = {v: k for k, v in res.names.items()}
        ascii_word = is_bytes or bool(flags & Flag.ASCII)
        if word_set is not None:  # the caller's word characters (\b \B \< \>)
            wset = word_set
        else:
            wset = word(not ascii_word)
            if ascii_word:
                wset = wset.clip(0x7F)
        self._wset: CharSet = wset
        self.is_word: Callable[[int], bool] = wset.__contains__
        self._ctx: dict[Any, int] = {}
        self._search_engine = _Engine(res, res.core, is_bytes, self.is_word)
        self._full_engine: _Engine | None = None
        from .fast import SpanGroups, literal_of, plan, span_groups

        self._fast = plan(self) if delegate else None
        fast = self._fast
        self._span_groups: SpanGroups | None = (
            span_groups(self) if delegate and (fast is None or fast.guarded) else None
        )
        self._literal: Any = (
            literal_of(res.core, is_bytes) if delegate and res.sem == "first" else None
        )

    def __repr__(self) -> str:
        return f"re_engine.compile({self.pattern!r}, syntax={self.syntax!r})"

    # -- the core -----------------------------------------------------------
    def _full(self) -> _Engine:
        if self._full_engine is None:
            core = R.Seq((self._res.core, R.Assert("eos")))
            self._full_engine = _Engine(self._res, core, self.is_bytes, self.is_word)
        return self._full_engine

    def _check(self, text: Any) -> None:
        if self.is_bytes:
            if not isinstance(text, (bytes, bytearray, memoryview)):
                raise TypeError("cannot use a bytes pattern on a string-like object")
        elif not isinstance(text, str):
            raise TypeError("cannot use a string pattern on a bytes-like object")

    def _bits(self, ch: Any) -> int:
        """Context bits (newline, word) of one character, memoised."""
        b = self._ctx.get(ch)
        if b is None:
            c = ord(ch) if isinstance(ch, str) else ch
            b = (NL if c == 10 else 0) | (WORD if self.is_word(c) else 0)
            if len(self._ctx) > 4096:
                self._ctx.clear()
            self._ctx[ch] = b
        return b

    def _behind(self, text: Any, i: int) -> int:
        if i <= 0:
            return EDGE
        return self._bits(text[i - 1])

    def _right(self, text: Any, i: int) -> int:
        n = len(text)
        if i >= n:
            return EDGE
        ch = text[i]
        b = self._bits(ch)
        if b & NL and i == n - 1:
            b |= FINALNL
        return b

    def _bounds(
        self, eng: _Engine, text: Any, pos: int, anchored: bool, not_empty: bool
    ) -> tuple[int, int] | None:
        """Span of the match per the pattern's semantics, or None."""
        sem = self.semantics
        if anchored:
            s0 = pos
            if sem == "longest":
                e0 = eng.dfa("longest").forward(
                    text, pos, self._behind(text, pos), skip_first=not_empty
                )
            else:
                e0 = eng.dfa("anch").forward(
                    text,
                    pos,
                    self._behind(text, pos),
                    skip_first=not_empty,
                    earliest=sem == "shortest",
                )
            return None if e0 < 0 else (s0, e0)
        e0 = eng.dfa("unanch").forward(text, pos, self._behind(text, pos), skip_first=not_empty)
        if e0 < 0:
            return None
        if eng.fixed >= 0:
            s0 = e0 - eng.fixed
        else:
            s0 = eng.dfa("rev").backward(text, e0, pos, self._right(text, e0))
            if s0 < 0:  # cannot happen: the forward scan saw a match
                raise AssertionError("reverse scan found no start")
        if sem == "longest":
            e0 = eng.dfa("longest").forward(
                text, s0, self._behind(text, s0), skip_first=not_empty and s0 == pos
            )
        elif sem == "shortest":
            e0 = eng.dfa("anch").forward(
                text, s0, self._behind(text, s0), skip_first=not_empty and s0 == pos, earliest=True
            )
        return s0, e0

    def _groups(self, eng: _Engine, text: Any, s0: int, e0: int, not_empty_at: int) -> list[int]:
        if self.groups == 0:
            return [s0, e0]
        if self.semantics == "longest":
            from .posix import submatches

            return submatches(eng.core, self.groups, text, s0, e0, self.is_word, eng.posix_cache)
        sg = self._span_groups
        if sg is not None:
            got = sg.slots(text, s0, e0)
            if got is not None:
                return got
        ctx = context_fn(text, self.is_word)
        caps = pike(
            eng.prog, text, s0, e0, len(text), ctx, anchored=True, not_empty_at=not_empty_at
        )
        if caps is None or caps[0] != s0 or caps[1] != e0:
            raise AssertionError(f"submatch pass disagrees with bounds {s0},{e0}: {caps}")
        return list(caps)

    def _exec(
        self,
        text: Any,
        pos: int,
        endpos: int | None,
        how: str,
        not_empty: bool = False,
        want_groups: bool = True,
    ) -> Match[AnyStr] | None:
        self._check(text)
        orig = text
        n = len(text)
        if endpos is None or endpos > n:
            endpos = n
        pos = min(max(pos, 0), n)  # as re: clamp to the string, then compare
        if endpos < 0:
            endpos = 0
        if pos > endpos:
            return None
        if endpos < n:
            text = text[:endpos]
        if isinstance(text, (bytearray, memoryview)):
            text = bytes(text)
        fast = self._fast
        if fast is not None and not not_empty:
            rm = (
                fast.search
                if how == "search"
                else fast.rx.match
                if how == "match"
                else fast.rx.fullmatch
            )(text, pos)
            if rm is None:
                return None
            return Match(
                self, orig, pos, endpos, [x for sp in rm.regs for x in sp], self._index_names
            )
        eng = self._full() if how == "fullmatch" else self._search_engine
        b = self._bounds(eng, text, pos, how != "search", not_empty)
        if b is None:
            return None
        s0, e0 = b
        if not want_groups:
            slots = [s0, e0]
        else:
            slots = self._groups(eng, text, s0, e0, pos if not_empty else -1)
        return Match(self, orig, pos, endpos, slots, self._index_names)

    # -- re-compatible API --------------------------------------------------
    def search(
        self, string: AnyStr, pos: int = 0, endpos: int | None = None
    ) -> Match[AnyStr] | None:
        """The leftmost match anywhere in ``string[pos:endpos]``, or ``None``."""
        return self._exec(string, pos, endpos, "search")

    def match(
        self, string: AnyStr, pos: int = 0, endpos: int | None = None
    ) -> Match[AnyStr] | None:
        """A match starting exactly at ``pos``, or ``None``."""
        return self._exec(string, pos, endpos, "match")

    def fullmatch(
        self, string: AnyStr, pos: int = 0, endpos: int | None = None
    ) -> Match[AnyStr] | None:
        """A match covering exactly ``string[pos:endpos]``, or ``None``."""
        return self._exec(string, pos, endpos, "fullmatch")

    def _iter(
        self, string: AnyStr, pos: int, endpos: int | None, want_groups: bool
    ) -> Iterator[Match[AnyStr]]:
        self._check(string)
        n = len(string)
        end = n if endpos is None or endpos > n else max(0, endpos)
        text: Any = string[:end] if end < n else string
        if isinstance(text, (bytearray, memoryview)):
            text = bytes(text)
        pos = min(max(pos, 0), n)
        if pos > end:
            return
        fast = self._fast
        if fast is not None and fast.guarded is not None and self._prefer_dfa(text, pos):
            fast = None
        if fast is not None:
            idx = self._index_names
            for rm in fast.finditer(text, pos):
                yield Match(self, string, pos, end, [x for sp in rm.regs for x in sp], idx)
            return
        for slots in self._slot_iter(text, pos, end, want_groups):
            yield Match(self, string, pos, end, slots, self._index_names)

    def _prefer_dfa(self, text: Any, pos: int) -> bool:
        """For a guarded delegate: is the DFA with its literal prefilter faster here?

        Both are linear and give the same matches.  The guarded ``re`` search
        costs about the same per character whatever the text; the DFA with a
        required-literal prefilter skips between occurrences of the literal at
        ``str.find`` speed but pays a few microseconds per occurrence.  Count
        the occurrences in a sample of the text (one C scan) and pick.
        """
        jumper = self._search_engine.jumper
        if jumper is None or jumper.lit is None:
            return False
        span = min(len(text) - pos, _SAMPLE)
        hits = text.count(jumper.lit, pos, pos + span)
        return bool(hits * _DENSITY < span)

    def _slot_iter(self, text: Any, pos: int, end: int, want_groups: bool) -> Iterator[list[int]]:
        """Slots of each successive non-overlapping match (the DFA path)."""
        eng = self._search_engine
        not_empty = False
        while pos <= end:
            b = self._bounds(eng, text, pos, False, not_empty)
            if b is None:
                return
            s0, e0 = b
            if want_groups and self.groups:
                yield self._groups(eng, text, s0, e0, pos if not_empty else -1)
            else:
                yield [s0, e0]
            not_empty = s0 == e0
            pos = e0

    def finditer(
        self, string: AnyStr, pos: int = 0, endpos: int | None = None
    ) -> Iterator[Match[AnyStr]]:
        """Iterate over non-overlapping matches (empty matches as in ``re``)."""
        return self._iter(string, pos, endpos, True)

    def findall(self, string: AnyStr, pos: int = 0, endpos: int | None = None) -> list[Any]:
        """All non-overlapping matches: strings, or group tuples as ``re`` does."""
        lit = self._literal
        if lit is not None and type(string) is type(lit):
            n = len(string)
            end = n if endpos is None or endpos > n else max(0, endpos)
            pos = min(max(pos, 0), n)
            return [lit] * string.count(lit, pos, end) if pos <= end else []
        fast = self._fast
        if fast is not None and fast.guarded is None:
            self._check(string)
            return fast.rx.findall(string, pos, len(string) if endpos is None else endpos)
        self._check(string)
        n = len(string)
        end = n if endpos is None or endpos > n else max(0, endpos)
        text: Any = string[:end] if end < n else string
        if isinstance(text, (bytearray, memoryview)):
            text = bytes(text)
        pos = min(max(pos, 0), n)
        if pos > end:
            return []
        if fast is not None and self._prefer_dfa(text, pos):
            fast = None
        g = self.groups
        it: Iterator[list[int]]
        if fast is not None and g == 0 and text is string:
            return [m.group() for m in fast.finditer(text, pos)]
        if fast is not None:
            it = ([x for sp in m.regs for x in sp] for m in fast.finditer(text, pos))
        else:
            it = self._slot_iter(text, pos, end, g > 0)
        if g == 0:
            return [string[sl[0] : sl[1]] for sl in it]
        empty = string[:0]
        if g == 1:
            return [string[sl[2] : sl[3]] if sl[2] >= 0 else empty for sl in it]
        out: list[Any] = []
        for sl in it:
            out.append(
                tuple(
                    string[sl[k] : sl[k + 1]] if sl[k] >= 0 else empty
                    for k in range(2, 2 * g + 2, 2)
                )
            )
        return out

    def split(self, string: AnyStr, maxsplit: int = 0) -> list[AnyStr | None]:
        """Split ``string`` by the matches (captured groups are kept, as in ``re``)."""
        if self._fast is not None and self._fast.guarded is None:
            self._check(string)
            return self._fast.rx.split(string, maxsplit)
        out: list[AnyStr | None] = []
        last = 0
        k = 0
        for m in self._iter(string, 0, None, self.groups > 0):
            if maxsplit and k >= maxsplit:
                break
            s, e = m.span()
            out.append(string[last:s])
            out.extend(m.groups())
            last = e
            k += 1  # noqa: SIM113 - counts splits, not loop iterations
        out.append(string[last:])
        return out

    def subn(
        self, repl: AnyStr | Callable[[Match[AnyStr]], AnyStr], string: AnyStr, count: int = 0
    ) -> tuple[AnyStr, int]:
        """Like :meth:`sub`, also returning the number of replacements."""
        if self._fast is not None and self._fast.guarded is None and isinstance(repl, (str, bytes)):
            self._check(string)
            _parse_template(repl, self)  # same errors as the DFA path
            res: tuple[AnyStr, int] = self._fast.rx.subn(repl, string, count)
            return res
        if callable(repl):
            fn = repl
        else:
            template = _parse_template(repl, self)
            if all(isinstance(t, (str, bytes)) for t in template):
                lit: AnyStr = repl[:0].join(template)

                def fn(m: Match[AnyStr]) -> AnyStr:
                    return lit
            else:

                def fn(m: Match[AnyStr]) -> AnyStr:
                    out: AnyStr = _expand(template, m)
                    return out

        parts: list[AnyStr] = []
        last = 0
        k = 0
        for m in self._iter(string, 0, None, True):
            if count and k >= count:
                break
            s, e = m.span()
            parts.append(string[last:s])
            parts.append(fn(m))
            last = e
            k += 1
        parts.append(string[last:])
        return string[:0].join(parts), k

    def sub(
        self, repl: AnyStr | Callable[[Match[AnyStr]], AnyStr], string: AnyStr, count: int = 0
    ) -> AnyStr:
        """Replace matches by ``repl`` (a template with ``\\1``/``\\g<name>``, or a function)."""
        return self.subn(repl, string, count)[0]

    # -- ocaml-re names -----------------------------------------------------
    def exec(self, string: AnyStr, pos: int = 0, len: int = -1) -> Match[AnyStr]:
        """ocaml-re ``exec``: the first match, raising ``LookupError`` (Not_found) if none."""
        endpos = None if len < 0 else pos + len
        m = self.search(string, pos, endpos)
        if m is None:
            raise LookupError("no match")
        return m

    def exec_opt(self, string: AnyStr, pos: int = 0, len: int = -1) -> Match[AnyStr] | None:
        """ocaml-re ``exec_opt``: the first match or ``None``."""
        return self.search(string, pos, None if len < 0 else pos + len)

    def execp(self, string: AnyStr, pos: int = 0, len: int = -1) -> bool:
        """ocaml-re ``execp``: is there a match?  (Skips submatch extraction.)"""
        endpos = None if len < 0 else pos + len
        return self._exec(string, pos, endpos, "search", want_groups=False) is not None

    def all(self, string: AnyStr, pos: int = 0, len: int = -1) -> list[Match[AnyStr]]:
        """ocaml-re ``all``: every non-overlapping match."""
        return list(self.finditer(string, pos, None if len < 0 else pos + len))

    def matches(self, string: AnyStr, pos: int = 0, len: int = -1) -> list[AnyStr]:
        """ocaml-re ``matches``: the matched substrings."""
        out: list[AnyStr] = []
        for m in self._iter(string, pos, None if len < 0 else pos + len, False):
            s, e = m.span()
            out.append(string[s:e])
        return out


class Match(Generic[AnyStr]):
    """The result of a successful match; API as :class:`re.Match`."""

    __slots__ = ("_names", "_slots", "endpos", "pos", "re", "string")

    def __init__(
        self,
        pattern: Pattern[AnyStr],
        string: AnyStr,
        pos: int,
        endpos: int,
        slots: list[int],
        names: dict[int, str],
    ) -> None:
        self.re: Pattern[AnyStr] = pattern
        self.string: AnyStr = string
        self.pos = pos
        self.endpos = endpos
        self._slots = slots
        self._names = names

    def _index(self, g: int | str) -> int:
        if isinstance(g, str):
            i = self.re.groupindex.get(g)
            if i is None:
                raise IndexError(f"no such group {g!r}")
            return int(i)
        if not isinstance(g, int) or g < 0 or g > self.re.groups:
            raise IndexError(f"no such group {g!r}")
        return g

    def span(self, group: int | str = 0) -> tuple[int, int]:
        i = self._index(group)
        if 2 * i + 1 >= len(self._slots):
            return -1, -1
        return self._slots[2 * i], self._slots[2 * i + 1]

    def start(self, group: int | str = 0) -> int:
        return self.span(group)[0]

    def end(self, group: int | str = 0) -> int:
        return self.span(group)[1]

    def _get(self, i: int) -> AnyStr | None:
        s, e = self.span(i)
        if s < 0:
            return None
        out: AnyStr = self.string[s:e]
        return out

    def group(self, *groups: int | str) -> Any:
        """``group()``/``group(0)``: the whole match; ``group(1, 'name')``: a tuple."""
        if not groups:
            return self._get(0)
        if len(groups) == 1:
            return self._get(self._index(groups[0]))
        return tuple(self._get(self._index(g)) for g in groups)

    def __getitem__(self, g: int | str) -> AnyStr | None:
        return self._get(self._index(g))

    def groups(self, default: Any = None) -> tuple[Any, ...]:
        out = []
        for i in range(1, self.re.groups + 1):
            v = self._get(i)
            out.append(default if v is None else v)
        return tuple(out)

    def groupdict(self, default: Any = None) -> dict[str, Any]:
        out = {}
        for name, i in self.re.groupindex.items():
            v = self._get(i)
            out[name] = default if v is None else v
        return out

    @property
    def lastindex(self) -> int | None:
        best = None
        best_end = -1
        for i in range(1, self.re.groups + 1):
            s, e = self.span(i)
            # re reports the group that closed last (outermost on ties)
            if s >= 0 and e >= best_end and (e > best_end or best is None):
                best, best_end = i, e
        return best

    @property
    def lastgroup(self) -> str | None:
        i = self.lastindex
        return None if i is None else self._names.get(i)

    def expand(self, template: AnyStr) -> AnyStr:
        out: AnyStr = _expand(_parse_template(template, self.re), self)
        return out

    # ocaml-re Group names
    def get(self, i: int) -> AnyStr:
        """ocaml-re ``Group.get``: the text of group ``i``; ``LookupError`` if unset."""
        v = self._get(self._index(i))
        if v is None:
            raise LookupError(f"group {i} did not match")
        return v

    def offset(self, i: int) -> tuple[int, int]:
        """ocaml-re ``Group.offset``."""
        s, e = self.span(i)
        if s < 0:
            raise LookupError(f"group {i} did not match")
        return s, e

    def test(self, i: int) -> bool:
        """ocaml-re ``Group.test``: did group ``i`` participate?"""
        return self.span(i)[0] >= 0

    def __repr__(self) -> str:
        return f"<re_engine.Match object; span={self.span()!r}, match={self.group()!r}>"

    def __bool__(self) -> bool:
        return True


_ESC = {"n": "\n", "t": "\t", "r": "\r", "f": "\f", "v": "\v", "a": "\a", "b": "\b", "\\": "\\"}


def _parse_template(repl: Any, pat: Pattern[Any]) -> list[Any]:
    is_bytes = isinstance(repl, bytes)
    s = repl.decode("latin-1") if is_bytes else repl
    out: list[Any] = []
    lit: list[str] = []
    i = 0
    n = len(s)
    while i < n:
        c = s[i]
        if c != "\\":
            lit.append(c)
            i += 1
            continue
        if i + 1 >= n:
            raise ReError(f"bad escape (end of pattern) at position {i}")
        d = s[i + 1]
        ref: int | None = None
        if d == "g":
            if i + 2 >= n or s[i + 2] != "<":
                raise ReError(f"missing < at position {i + 2}")
            j = s.find(">", i + 3)
            if j < 0:
                raise ReError(f"missing >, unterminated name at position {i + 3}")
            name = s[i + 3 : j]
            if name.isdigit():
                ref = int(name)
            elif name in pat.groupindex:
                ref = pat.groupindex[name]
            else:
                raise IndexError(f"unknown group name {name!r}")
            i = j + 1
        elif d.isdigit():
            j = i + 1
            while j < n and j < i + 3 and s[j].isdigit():
                j += 1
            ref = int(s[i + 1 : j])
            i = j
        elif d in _ESC:
            lit.append(_ESC[d])
            i += 2
            continue
        elif d.isascii() and d.isalpha():
            raise ReError(f"bad escape \\{d} at position {i}")
        else:
            lit.append("\\" + d)
            i += 2
            continue
        if ref is not None:
            if ref > pat.groups:
                raise ReError(f"invalid group reference {ref} at position {i}")
            if lit:
                out.append("".join(lit).encode("latin-1") if is_bytes else "".join(lit))
                lit = []
            out.append(ref)
    if lit:
        out.append("".join(lit).encode("latin-1") if is_bytes else "".join(lit))
    return out


def _expand(template: list[Any], m: Match[Any]) -> Any:
    empty = m.string[:0]
    return empty.join(t if not isinstance(t, int) else (m._get(t) or empty) for t in template)


# ----------------------------------------------------------------- compile

_cache: dict[tuple[Any, ...], Any] = {}


def compile(
    pattern: Any, syntax: str = "perl", flags: int = 0, engine: str = "default", **options: Any
) -> Any:
    """Compile ``pattern`` (text in ``syntax``, or an :mod:`re_engine.ast` tree).

    ``syntax``: ``"perl"`` (Python ``re`` dialect), ``"posix"`` (ERE),
    ``"posix_basic"`` (BRE), ``"emacs"``, ``"glob"`` or ``"str"`` (OCaml Str).
    ``flags``: :class:`re_engine.Flag` or ``re`` flags (I, M, S, X, A).
    ``engine="dfa"`` never delegates to ``re`` (see :mod:`re_engine.fast`);
    ``engine="regex"`` hands Perl-syntax patterns to the ``regex`` module
    (backtracking: backreferences and lookaround, with no linear-time
    guarantee).  Glob options: ``pathname=True``, ``period=True``,
    ``anchored=True``.  Pass ``bytes_=True`` with a tree to match bytes.
    """
    if engine == "regex":
        if syntax != "perl":
            raise NotSupported(f"engine='regex' only takes perl syntax, not {syntax!r}")
        import regex

        return regex.compile(pattern, flags)
    if engine not in ("default", "dfa"):
        raise ReError(f"unknown engine {engine!r}")
    key = (type(pattern), pattern, syntax, int(flags), engine, tuple(sorted(options.items())))
    hit = _cache.get(key)
    if hit is not None:
        return hit
    if isinstance(pattern, (str, bytes)):
        is_bytes = isinstance(pattern, bytes)
        text = pattern.decode("latin-1") if isinstance(pattern, bytes) else pattern
        node = _parse(text, syntax, flags, is_bytes, options)
    else:
        is_bytes = bool(options.pop("bytes_", False))
        node = pattern
    p: Pattern[Any] = Pattern(pattern, syntax, flags, node, is_bytes, delegate=engine == "default")
    if len(_cache) > 512:
        _cache.clear()
    _cache[key] = p
    return p
