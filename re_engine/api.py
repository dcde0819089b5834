"""The user-facing API, close to Python's :mod:`re`, plus ocaml-re's names."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, AnyStr, Generic

from . import ast as R
from .charset import CharSet, word
from .errors import NotSupported, ReError
from .meta import Strategy, choose
from .prog import resolve
from .syntax import Flag, perl

SYNTAXES = ("perl", "posix", "posix_basic", "emacs", "glob", "str")


def _parse(pattern: str, syntax: str, flags: int, is_bytes: bool, options: dict[str, Any]) -> R.Re:
    if syntax == "perl":
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


_ASCII = int(Flag.ASCII)

_DEFAULT_SEM = {
    "perl": "first",
    "posix": "longest",
    "posix_basic": "longest",
    "emacs": "first",
    "glob": "first",
    "str": "first",
}


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
        ascii_word = is_bytes or bool(self.flags & _ASCII)  # int: enum operators cost
        if word_set is not None:  # the caller's word characters (\b \B \< \>)
            wset = word_set
        else:
            wset = word(not ascii_word)
            if ascii_word:
                wset = wset.clip(0x7F)
        self._wset: CharSet = wset
        self.is_word: Callable[[int], bool] = wset.__contains__
        self._strategy: Strategy = choose(res, is_bytes, ascii_word, self.is_word, delegate)

    def __repr__(self) -> str:
        return f"re_engine.compile({self.pattern!r}, syntax={self.syntax!r})"

    # -- the core -----------------------------------------------------------
    @property
    def strategy(self) -> str:
        """The name of the strategy chosen at compile time (see :mod:`re_engine.meta`)."""
        return self._strategy.name

    def _check(self, text: Any) -> None:
        if self.is_bytes:
            if not isinstance(text, (bytes, bytearray, memoryview)):
                raise TypeError("cannot use a bytes pattern on a string-like object")
        elif not isinstance(text, str):
            raise TypeError("cannot use a string pattern on a bytes-like object")

    def _text(self, string: Any, pos: int, endpos: int | None) -> tuple[Any, int, int]:
        """``(text, pos, end)``: the text cut at ``endpos`` and ``pos`` clamped as ``re`` does.

        ``pos > end`` means there is nothing to search.
        """
        self._check(string)
        n = len(string)
        end = n if endpos is None or endpos > n else max(0, endpos)
        text: Any = string[:end] if end < n else string
        if isinstance(text, (bytearray, memoryview)):
            text = bytes(text)
        return text, min(max(pos, 0), n), end

    def _exec(
        self, string: Any, pos: int, endpos: int | None, how: str, want_groups: bool = True
    ) -> Match[AnyStr] | None:
        text, pos, end = self._text(string, pos, endpos)
        if pos > end:
            return None
        if not want_groups:
            slots = self._strategy.first(text, pos, how, False)
            return None if slots is None else Match(self, string, pos, end, slots, {})
        got = self._strategy.first_lazy(text, pos, how)
        if got is None:
            return None
        return Match(self, string, pos, end, got[0], self._index_names, got[1])

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
        text, pos, end = self._text(string, pos, endpos)
        if pos > end:
            return
        idx = self._index_names
        for slots in self._strategy.slots(text, pos, want_groups):
            yield Match(self, string, pos, end, slots, idx)

    def finditer(
        self, string: AnyStr, pos: int = 0, endpos: int | None = None
    ) -> Iterator[Match[AnyStr]]:
        """Iterate over non-overlapping matches (empty matches as in ``re``)."""
        return self._iter(string, pos, endpos, True)

    def findall(self, string: AnyStr, pos: int = 0, endpos: int | None = None) -> list[Any]:
        """All non-overlapping matches: strings, or group tuples as ``re`` does."""
        text, pos, end = self._text(string, pos, endpos)
        if pos > end:
            return []
        return self._strategy.findall(string, text, pos, end)

    def split(self, string: AnyStr, maxsplit: int = 0) -> list[AnyStr | None]:
        """Split ``string`` by the matches (captured groups are kept, as in ``re``)."""
        text, _, _ = self._text(string, 0, None)
        return self._strategy.split(string, text, maxsplit)

    def subn(
        self, repl: AnyStr | Callable[[Match[AnyStr]], AnyStr], string: AnyStr, count: int = 0
    ) -> tuple[AnyStr, int]:
        """Like :meth:`sub`, also returning the number of replacements."""
        text, _, end = self._text(string, 0, None)
        idx = self._index_names
        if callable(repl):
            user = repl

            def call(sl: list[int]) -> AnyStr:
                return user(Match(self, string, 0, end, sl, idx))

            return self._strategy.subn(string, text, count, call)
        template = _parse_template(repl, self)
        fn: Callable[[list[int]], AnyStr]
        if all(isinstance(t, (str, bytes)) for t in template):
            lit: AnyStr = repl[:0].join(template)

            def same(sl: list[int]) -> AnyStr:
                return lit

            fn = same
        else:

            def expand(sl: list[int]) -> AnyStr:
                out: AnyStr = _expand(template, Match(self, string, 0, end, sl, idx))
                return out

            fn = expand

        return self._strategy.subn(string, text, count, fn, repl)

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

    __slots__ = ("_more", "_names", "_slots", "endpos", "pos", "re", "string")

    def __init__(
        self,
        pattern: Pattern[AnyStr],
        string: AnyStr,
        pos: int,
        endpos: int,
        slots: list[int],
        names: dict[int, str],
        more: Callable[[], list[int]] | None = None,
    ) -> None:
        """``more``: gives every group's slots when ``slots`` holds the whole match's only."""
        self.re: Pattern[AnyStr] = pattern
        self.string: AnyStr = string
        self.pos = pos
        self.endpos = endpos
        self._slots = slots
        self._names = names
        self._more = more

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
        sl = self._slots
        if 2 * i + 1 >= len(sl):
            if not i or self._more is None:
                return -1, -1
            sl = self._slots = self._more()  # the groups, found when first asked for
            self._more = None
        return sl[2 * i], sl[2 * i + 1]

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
    The strategy is chosen here, once (see :mod:`re_engine.meta` and
    :attr:`Pattern.strategy`); ``engine="dfa"`` never delegates to ``re``;
    ``engine="regex"`` hands Perl-syntax patterns to the ``regex`` module
    (backtracking: backreferences and lookaround, with no linear-time
    guarantee).  Glob options: ``pathname=True``, ``period=True``,
    ``anchored=True``.  Pass ``bytes_=True`` with a tree to match bytes.
    """
    if engine == "regex":
        if syntax != "perl":
            raise NotSupported(f"engine='regex' only takes perl syntax, not {syntax!r}")
        try:
            import regex
        except ImportError:
            raise NotSupported(
                "engine='regex' needs the regex package (pip install 'mirage-py[regex]')"
            ) from None

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
