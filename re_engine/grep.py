"""``python -m re_engine grep``: GNU grep's common options and meanings, on re_engine.

Patterns are BRE (``-G``, the default), ERE (``-E``), Perl (``-P``) or fixed
strings (``-F``), several with ``-e``/``-f``; a line is selected when any of
them matches it.  Input is read as bytes and matched as UTF-8, as GNU grep does
in a UTF-8 locale: bytes that are not UTF-8 match nothing, and a selected line
holding such bytes is not printed ("binary file matches" follows on standard
error instead); a file with a NUL byte is binary, its lines are never printed.
``-a`` prints everything.  Exit status as grep's: 0 if a line was selected, 1
if none, 2 on an error (a bad pattern, an unreadable file) unless ``-q``
already found a match.

Lines are found on the bytes, never decoded as a whole, by one mechanism
whether they are counted or printed (:func:`line_counter`): ``re`` on the
bytes (a pattern made safe for it, or a string of classes mapped to a
literal; an alternation of strings one string at a time, its lines
merged), or the lines holding a piece every match holds, found by
``bytes.find`` and only they checked (``-w`` around a string or a string of
classes: the characters at each occurrence's edges, :func:`word_counter`),
or re_engine over a chunk's decoded text.  The pattern is first confined to
a line (no set matches a newline; ``^``/``$``, ``\\A``/``\\Z`` hold at line
ends), so a match never spans lines and each search runs over a chunk of
whole lines (512 KiB cut at a line's end, which stays in the processor's
cache while it is mapped and searched): a match's offset gives its line
(``rfind`` of the newline before it; the line regex runs on past the newline
after it), and the next search starts at that line's end.

A file is read a chunk at a time (:func:`_read_chunks`), counted
(:meth:`Grep.count_stream`: ``-c``, ``-l``, ``-L``, ``-q``) or printed
(:meth:`Grep.search_file`), its output held until no NUL can follow (a
binary file prints no line).  A chunk's matching lines come as two lists of
bounds built by iterators in C (:meth:`LineCounter.bounds`), and its
selected lines are joined in C into one block of output, each a slice of
the chunk (:meth:`Grep.print_plain`): ``-n`` adds the newlines counted
between successive selected lines, ``-v`` prints the runs of lines between
matching lines; ``-o`` prints the spans of successive matches over the chunk
(:meth:`Grep.print_only`).  Standard input is read whole, then searched
the same way; context and color, and binary files, go line by line over the
same search (:meth:`Grep.search_lines`).  Output is held in 64 KiB blocks, and goes out
a line at a time to a terminal.

Linear time: each chunk is read, mapped or decoded once (a file whose
output outgrows its hold is read twice); each search resumes where the
last one's line (or match, ``-o``) ended, so the searches cover each byte a
bounded number of times, each with a linear matcher (``re`` under the bound
proved in :func:`line_counter`, ``bytes.find``, or re_engine; an
alternation of ``k <= 8`` strings: ``k`` such searches, their lines merged
by one sort of ``k`` sorted runs, :class:`_Strings`); the ``rfind``
before a match and the newline counts of ``-n`` cover each stretch between
successive searches once; a ``-w`` check covers a line holding the piece
``len(piece)`` times at most (:func:`_word_check`).
"""

from __future__ import annotations

import argparse
import fnmatch
import os
import re as _re
import stat
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from itertools import accumulate, chain, compress, repeat
from operator import lt as _lt
from typing import IO, Any

from . import ast as R
from .api import Pattern, _parse, compile
from .charset import NEWLINE, CharSet, word
from .errors import ReError
from .fast import _required
from .prog import Core, nullable, resolve
from .syntax import Flag

# invalid UTF-8 bytes decode to these lone surrogates (errors="surrogateescape")
_RAW_BYTES = CharSet.of_range(0xDC80, 0xDCFF)
_NOT_IN_LINE = NEWLINE.union(_RAW_BYTES)
_STDIN = "(standard input)"
_SYNTAX = {"G": "posix_basic", "E": "posix", "P": "perl", "F": "fixed"}

# GNU grep's default GREP_COLORS: ms=01;31 fn=35 ln=32 se=36
_SGR_MATCH, _SGR_FILE, _SGR_LINE, _SGR_SEP = "01;31", "35", "32", "36"


class UsageError(Exception):
    """A mistake on the command line (grep's exit status 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # one line, no usage dump
        raise UsageError(message)


def _context(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or len(text) > 9:
        raise argparse.ArgumentTypeError(f"{text}: invalid context length argument")
    return int(text)


class _Filter(argparse.Action):
    def __call__(self, parser: Any, ns: Any, values: Any, option: str | None = None) -> None:
        ns.filters = [*ns.filters, (self.dest == "include", values)]


def _parser() -> _Parser:
    ap = _Parser(
        prog="python -m re_engine grep",
        usage="%(prog)s [OPTION]... PATTERNS [FILE]...",
        description="Search for PATTERNS in each FILE (linear-time regular expressions).",
        add_help=False,  # -h is --no-filename, as in grep
    )
    add = ap.add_argument
    add("--help", action="help", help="show this help and exit")
    for flag, long, name in [
        ("-G", "--basic-regexp", "BRE (the default)"),
        ("-E", "--extended-regexp", "ERE"),
        ("-P", "--perl-regexp", "Perl (Python re) syntax"),
        ("-F", "--fixed-strings", "fixed strings"),
    ]:
        add(flag, long, dest="syntax", action="store_const", const=_SYNTAX[flag[1]], help=name)
    add("--syntax", dest="syntax", help="any re_engine syntax (perl, posix, glob, ...)")
    add("-e", "--regexp", dest="patterns", action="append", default=[], metavar="PATTERNS")
    add("-f", "--file", dest="pattern_files", action="append", default=[], metavar="FILE")
    add("-i", "-y", "--ignore-case", dest="icase", action="store_true")
    add("--no-ignore-case", dest="icase", action="store_false")
    add("-v", "--invert-match", action="store_true")
    add("-w", "--word-regexp", action="store_true")
    add("-x", "--line-regexp", action="store_true")
    add("-c", "--count", action="store_true")
    add("-l", "--files-with-matches", dest="list", action="store_const", const="with")
    add("-L", "--files-without-match", dest="list", action="store_const", const="without")
    add("-n", "--line-number", action="store_true")
    add("-H", "--with-filename", dest="filenames", action="store_const", const=True)
    add("-h", "--no-filename", dest="filenames", action="store_const", const=False)
    add("-o", "--only-matching", action="store_true")
    add("-q", "--quiet", "--silent", action="store_true")
    add("-s", "--no-messages", action="store_true")
    add("-r", "--recursive", dest="recursive", action="store_const", const="r")
    add("-R", "--dereference-recursive", dest="recursive", action="store_const", const="R")
    add("--include", dest="include", action=_Filter, metavar="GLOB")
    add("--exclude", dest="exclude", action=_Filter, metavar="GLOB")
    add("-A", "--after-context", dest="after", type=_context, metavar="NUM")
    add("-B", "--before-context", dest="before", type=_context, metavar="NUM")
    add("-C", "--context", dest="context", type=_context, metavar="NUM")
    add("--color", "--colour", nargs="?", const="auto", default="never", metavar="WHEN")
    add("-a", "--text", action="store_true")
    add("args", nargs="*", metavar="PATTERNS [FILE]")
    ap.set_defaults(filters=[], syntax="posix_basic")
    return ap


_WITH_ARGUMENT = frozenset(
    [
        "-e",
        "-f",
        "-A",
        "-B",
        "-C",
        "--regexp",
        "--file",
        "--after-context",
        "--before-context",
        "--context",
        "--include",
        "--exclude",
        "--syntax",
    ]
)


def _glue(argv: Sequence[str]) -> list[str]:
    """Attach option arguments that start with '-' (``-e -x``), which argparse refuses."""
    out: list[str] = []
    it = iter(argv)
    for a in it:
        if a == "--":
            out.append(a)
            out.extend(it)
            break
        if a in _WITH_ARGUMENT:
            nxt = next(it, None)
            if nxt is None:
                raise UsageError(f"option requires an argument -- '{a.lstrip('-')}'")
            if nxt.startswith("-"):
                out.append(f"{a}={nxt}" if a.startswith("--") else a + nxt)
            else:
                out += [a, nxt]
        else:
            out.append(a)
    return out


@dataclass
class Options:
    """The parsed command line."""

    patterns: list[str]
    syntax: str
    files: list[str]
    icase: bool = False
    invert: bool = False
    word: bool = False
    line: bool = False
    count: bool = False
    listing: str | None = None
    number: bool = False
    filenames: bool | None = None
    only: bool = False
    quiet: bool = False
    silent: bool = False
    recursive: str | None = None
    filters: list[tuple[bool, str]] = field(default_factory=list)
    before: int = 0
    after: int = 0
    context: bool = False  # -A, -B or -C given (even 0): groups are separated by --
    color: bool = False
    text: bool = False


def parse_args(argv: Sequence[str], stdin: IO[bytes], isatty: bool) -> Options:
    """The :class:`Options` of a command line; :class:`UsageError` on a mistake."""
    a = _parser().parse_intermixed_args(_glue(argv))
    args: list[str] = list(a.args)
    patterns: list[str] = []
    for p in a.patterns:
        patterns.extend(p.split("\n"))
    for name in a.pattern_files:
        try:
            data = stdin.read() if name == "-" else _read(name)
        except OSError as e:
            raise UsageError(f"{name}: {e.strerror}") from None
        lines = data.decode("utf-8", "surrogateescape").split("\n")
        patterns.extend(lines[:-1] if lines[-1] == "" else lines)
    if not a.patterns and not a.pattern_files:
        if not args:
            raise UsageError("no pattern given (usage: grep [OPTION]... PATTERNS [FILE]...)")
        patterns = args.pop(0).split("\n")
    color = {"always": True, "yes": True, "force": True, "never": False, "no": False}
    color.update({"none": False, "auto": None, "tty": None, "if-tty": None})  # type: ignore[dict-item]
    if a.color not in color:
        raise UsageError(f"invalid argument '{a.color}' for '--color'")
    want = color[a.color]
    if want is None:
        want = isatty and os.environ.get("TERM", "dumb") != "dumb"
    ctx = a.context or 0
    return Options(
        patterns=patterns,
        syntax=a.syntax,
        files=args,
        icase=a.icase,
        invert=a.invert_match,
        word=a.word_regexp,
        line=a.line_regexp,
        count=a.count and a.list is None and not a.quiet,  # -q, -l, -L win over -c
        listing=None if a.quiet else a.list,
        number=a.line_number,
        filenames=a.filenames,
        only=a.only_matching,
        quiet=a.quiet,
        silent=a.no_messages,
        recursive=a.recursive,
        filters=a.filters,
        before=a.before if a.before is not None else ctx,
        after=a.after if a.after is not None else ctx,
        context=any(x is not None for x in (a.after, a.before, a.context)),
        color=want,
        text=a.text,
    )


def _read(name: str) -> bytes:
    with open(name, "rb") as fh:
        return fh.read()


# ------------------------------------------------------------------ pattern


def _in_line(n: R.Re) -> R.Re:
    """``n`` confined to one line: no set holds a newline (nor a raw byte), and
    the text anchors (``^ $ \\A \\Z``) hold at the ends of each line."""
    if isinstance(n, R.Set):
        return R.Set(n.cs.diff(_NOT_IN_LINE))
    if isinstance(n, R.Assert):
        kind = {"bos": "bol", "eos": "eol", "leol": "eol"}.get(n.kind, n.kind)
        return R.Assert(kind)  # type: ignore[arg-type]
    if isinstance(n, (R.Seq, R.Alt)):
        return replace(n, items=tuple(_in_line(x) for x in n.items))
    return replace(n, node=_in_line(n.node))


def build(opts: Options) -> tuple[Pattern[str] | None, int]:
    """The compiled line pattern and the group whose span is the match (0 or 1).

    ``None``: no pattern at all (``-f /dev/null``), which matches nothing.
    """
    body, group = line_body(opts)
    if body is None:
        return None, 0
    sem = "perl" if opts.syntax in ("perl", "emacs", "glob", "str") else "posix"
    kinds = {"wordb", "nwordb", "bow", "eow"}
    if not any(isinstance(x, R.Assert) and x.kind in kinds for x in R.walk(body)):
        return compile(body, syntax=sem), group
    # as GNU grep, a byte that is not UTF-8 counts as a word character for
    # \b \B \< \> (not for -w); re knows nothing of that: no delegation
    words = word().union(_RAW_BYTES)
    return Pattern(body, sem, 0, body, False, delegate=False, word_set=words), group


@cache
def _word_edge() -> CharSet:
    """What may stand next to a ``-w`` match: neither a word character nor a
    newline (bytes that are not UTF-8 are no word characters)."""
    return word().complement().diff(NEWLINE)


def line_body(opts: Options) -> tuple[R.Re | None, int]:
    """The tree of the line pattern (``None``: no pattern) and the group of the match."""
    if not opts.patterns:
        return None, 0
    syntax = opts.syntax
    flags = Flag.IGNORECASE if opts.icase else 0
    if syntax == "perl" and len(opts.patterns) > 1:
        raise ReError("the -P option only supports a single pattern")
    nodes: list[R.Re] = []
    for p in opts.patterns:
        if syntax == "fixed":
            node = R.str_(p)
            nodes.append(R.no_case(node) if opts.icase else node)
        else:
            kw: dict[str, Any] = {"anchored": False} if syntax == "glob" else {}
            node = _parse(p, syntax, flags, False, kw)
            while isinstance(node, R.Sem):  # the semantics are the command's, below
                node = node.node
            nodes.append(node)
    body = _in_line(R.alt(*nodes))
    group = 0
    if opts.line:
        body, group = R.seq(R.bol, R.group(body), R.eol), 1
    elif opts.word:
        # the match must neither follow nor precede a word character
        edge = R.Set(_word_edge())
        body, group = R.seq(R.alt(R.bol, edge), R.group(body), R.alt(R.eol, edge)), 1
    return body, group


# bytes patterns: the most paths a match attempt may try, and the most
# characters outside ASCII a set may hold (each is one UTF-8 alternative)
_MAX_PATHS = 256
_MAX_WIDE = 8
# LineCounter: a literal is found with a loop of bytes.find while its lines
# are fewer than one in this many bytes, with re's scan past that
_SPARSE = 2000
# the bytes read (or searched) at a time (a chunk stays in cache)
_CHUNK = 1 << 19
# the characters of output held before a write (not to a terminal)
_BLOCK = 1 << 16
# the most output held while a file printed a chunk at a time is not known
# to be free of NULs (see Grep.search_file)
_HOLD = 1 << 23


def _byte_set(cs: CharSet) -> tuple[bytes, int] | None:
    """An ``re`` bytes pattern for one character of ``cs`` in UTF-8, and its paths."""
    ascii_part = cs.clip(0x7F)
    if cs.size() - ascii_part.size() > _MAX_WIDE:  # (before a difference of large sets)
        return None
    wide = cs.diff(ascii_part)
    alts: list[bytes] = []
    if ascii_part:
        body = b"".join(
            b"\\x%02x" % lo if lo == hi else b"\\x%02x-\\x%02x" % (lo, hi)
            for lo, hi in ascii_part.ranges
        )
        alts.append(b"[" + body + b"]")
    for lo, hi in wide.ranges:
        for cp in range(lo, hi + 1):
            if 0xD800 <= cp <= 0xDFFF:  # lone surrogates are bytes that are not UTF-8
                return None
            alts.append(_re.escape(chr(cp).encode()))
    if not alts:
        return None
    # UTF-8 is a prefix code: at most one alternative matches at a position
    return (alts[0] if len(alts) == 1 else b"(?:" + b"|".join(alts) + b")"), 1


def _byte_pattern(c: Core) -> tuple[bytes, int] | None:
    """``c`` as an ``re`` bytes pattern over UTF-8 text, and how many paths an attempt
    may try (``None``: not expressible, or not proved cheap)."""
    if isinstance(c, R.Set):
        return _byte_set(c.cs)
    if isinstance(c, R.Assert):
        got = {"bol": b"^", "eol": b"$"}.get(c.kind)
        return None if got is None else (got, 1)
    if isinstance(c, R.Cap):
        return _byte_pattern(c.node)
    if isinstance(c, (R.Seq, R.Alt)):
        parts = [_byte_pattern(x) for x in c.items]
        if not parts or any(p is None for p in parts):
            return None
        ps = [p for p in parts if p is not None]
        if isinstance(c, R.Seq):
            paths = 1
            for _, k in ps:
                paths *= k
            return b"".join(b"(?:" + b + b")" for b, _ in ps), paths
        return b"|".join(b"(?:" + b + b")" for b, _ in ps), sum(k for _, k in ps)
    if isinstance(c, R.Repeat) and c.max is not None and isinstance(c.node, R.Set):
        one = _byte_set(c.node.cs)
        if one is None or c.max > 255:
            return None
        return b"(?:" + one[0] + b"){%d,%d}" % (c.min, c.max), c.max - c.min + 1
    return None


Check = Callable[[bytes, int, int], bool]
Bulk = Callable[[bytes, int, int], int]
# the starts and the stops (past the newline) of the matching lines of a stretch
Bounds = Callable[[bytes, int, int], tuple[Sequence[int], Sequence[int]]]

_SUCC = (1).__add__
_PRED = (-1).__add__
_M_START = _re.Match.start
_M_END = _re.Match.end


class LineCounter:
    """Counts, or finds, the lines of UTF-8 bytes that a pattern matches (see :func:`line_counter`).

    ``bulk(data, start, end)`` counts the matching lines of a stretch of
    whole lines with no Python work per line; ``bounds(data, start, end)``
    gives the starts and the stops (past the newline) of each, as two sequences.  ``lit``, when given, is a
    piece every matching line holds, found with ``bytes.find`` in the data
    mapped by ``table`` (``bytes.translate``): with no ``check``, the lines
    holding it are exactly the matching lines (and ``bulk`` counts in the
    mapped data); else ``check(data, start, end)`` says whether the line
    ``data[start:end]`` matches (and ``bulk`` counts in the data as read).
    With no ``bulk`` (nor ``bounds``), every line holding the piece is
    checked, however many.
    """

    def __init__(
        self,
        bulk: Bulk | None,
        bounds: Bounds | None,
        table: bytes | None = None,
        lit: bytes | None = None,
        check: Check | None = None,
    ) -> None:
        self.bulk = bulk
        self.bulk_bounds = bounds
        self.table = table
        self.lit = lit
        self.check = check
        # the last stretch searched turned out dense: the next is searched
        # in bulk at once (until one turns out sparse)
        self.dense = False

    def _found(self, data: bytes, raw: bytes, start: int, end: int) -> Iterator[tuple[int, int]]:
        """The matching lines (``(start, end)``, end the newline) holding :attr:`lit`
        in ``data`` (``raw``: as read), until they turn out dense: then
        ``(-1, p)``, the rest from ``p`` for a search of every line.

        ``bytes.find`` runs in C: with few lines holding the piece, a loop
        over them (each search resumes past its line's end) beats a scan of
        every line; when they turn out dense (more than one line in
        :data:`_SPARSE` bytes), the bulk search takes the rest.  Either way
        each line is searched once (checked at most once).
        """
        lit = self.lit
        assert lit is not None
        check = self.check
        find = data.find
        rfind = data.rfind
        tried = 0
        i = find(lit, start, end)
        while i >= 0:
            tried += 1
            e = find(b"\n", i, end)
            le = end if e < 0 else e
            ls = rfind(b"\n", start, i) + 1 or start  # start: a line's start
            if check is None or check(raw, ls, le):
                yield ls, le
            if e < 0:
                return
            if not tried & 63 and e - start < tried * _SPARSE and self.bulk is not None:
                yield -1, e + 1
                return
            i = find(lit, e + 1, end)

    def bounds(
        self, data: bytes, start: int = 0, end: int | None = None
    ) -> tuple[Sequence[int], Sequence[int]]:
        """The starts and the stops (past the newline, or the end) of the lines of
        ``data[start:end]`` that match, in order; bounds as for :meth:`count`."""
        end = len(data) if end is None else end
        raw = data
        if self.table is not None:
            data = data.translate(self.table)  # newlines stay newlines
        if self.lit is None:
            assert self.bulk_bounds is not None
            return self.bulk_bounds(data, start, end)
        if self.dense:
            assert self.bulk_bounds is not None
            got = self.bulk_bounds(data if self.check is None else raw, start, end)
            self.dense = len(got[0]) * _SPARSE > end - start
            return got
        starts: list[int] = []
        stops: list[int] = []
        for ls, le in self._found(data, raw, start, end):
            if ls < 0:
                assert self.bulk_bounds is not None
                self.dense = True
                more, tails = self.bulk_bounds(data if self.check is None else raw, le, end)
                starts += more
                stops += tails
                break
            starts.append(ls)
            stops.append(le + 1 if le < end else end)
        return starts, stops

    def lines(
        self, data: bytes, start: int = 0, end: int | None = None
    ) -> Iterator[tuple[int, int]]:
        """``(start, end)`` of each line of ``data[start:end]`` that matches, in
        order (``end``: its newline); bounds as for :meth:`count`, ``data``
        ending with a newline."""
        starts, stops = self.bounds(data, start, end)
        return zip(starts, map(_PRED, stops), strict=True)

    def count(self, data: bytes, start: int = 0, end: int | None = None) -> int:
        """The number of lines of ``data[start:end]`` that match (``start``: the
        start of a line; ``end``: just past a newline, or the end of ``data``)."""
        end = len(data) if end is None else end
        raw = data
        if self.table is not None:
            data = data.translate(self.table)  # newlines stay newlines
        if self.lit is None:
            assert self.bulk is not None
            return self.bulk(data, start, end)
        if self.dense:
            assert self.bulk is not None
            n = self.bulk(data if self.check is None else raw, start, end)
            self.dense = n * _SPARSE > end - start
            return n
        lines = 0
        for ls, le in self._found(data, raw, start, end):
            if ls < 0:
                assert self.bulk is not None
                self.dense = True
                return lines + self.bulk(data if self.check is None else raw, le, end)
            lines += 1
        return lines


def _rx_bulk(rx: _re.Pattern[bytes]) -> Bulk:
    """Counts lines with ``rx``, which matches once a line: from a match to the line's end."""
    findall = rx.findall
    return lambda data, start, end: len(findall(data, start, end))


def _rx_bounds(rx: _re.Pattern[bytes]) -> Bounds:
    """Finds lines with ``rx``, which matches once a line: from a match past
    the line's newline, which is the line's stop; its start is past the
    newline before the match (``rfind``, which stops there: each line's bytes
    before its match are covered once).  The sequences are built by
    iterators in C (``map``), no Python step per line (``Match.span`` and
    ``zip`` measured slower than ``start`` and ``end`` apart)."""
    finditer = rx.finditer

    def bounds(data: bytes, start: int, end: int) -> tuple[Sequence[int], Sequence[int]]:
        ms = list(finditer(data, start, end))
        # start is a line's start: the newline before it (if any) bounds rfind
        firsts = map(_M_START, ms)
        starts = list(map(_SUCC, map(data.rfind, repeat(b"\n"), repeat(0), firsts)))
        return starts, list(map(_M_END, ms))

    return bounds


# _Strings: a stretch where the strings' lines outnumber the lines holding
# any of them by this ratio is searched by one pattern (and the next ones,
# until the strings are tried again every _RETRY stretches)
_OVERLAP = 1.5
_RETRY = 16


class _Strings:
    """Finds the lines holding any of several strings (an alternation of
    strings): each string by an ``re`` made of it then the rest of its line
    (as :func:`_rx_bounds`), a literal prefix that ``re`` searches for
    quickly, where one pattern of the alternation is searched by its first
    bytes one position at a time (measured ~1.6x faster on prose with the
    strings in 46% of lines).  Each gives the sorted stops of the lines
    holding its string; the lists are merged by one sort (timsort takes the
    sorted runs: ``O(m log k)`` for ``m`` stops of ``k`` lists) and a line
    holding several strings kept once (``dict``).  Where lines hold several
    strings (the strings' lines outnumber the lines by :data:`_OVERLAP`),
    each is found again by each string: the stretches after such a one are
    searched by the whole pattern ``one`` (as :func:`_rx_bounds`), the
    strings tried again every :data:`_RETRY` stretches.

    Linear: each string's search resumes at the end of the line it found,
    so each covers the stretch once with a literal prefix; ``k`` is at most
    :data:`_MAX_STRINGS`.
    """

    def __init__(self, strings: Sequence[bytes], one: _re.Pattern[bytes]) -> None:
        self.rxs = [_re.compile(_re.escape(x) + b"[^\\n]*\\n?") for x in strings]
        self.one_bulk = _rx_bulk(one)
        self.one_bounds = _rx_bounds(one)
        self.single = 0  # stretches left to search with the whole pattern

    def stops(self, data: bytes, start: int, end: int) -> list[int]:
        """The stops (past the newline) of the lines holding any string, in order."""
        found = [list(map(_M_END, rx.finditer(data, start, end))) for rx in self.rxs]
        stops = list(dict.fromkeys(sorted(chain.from_iterable(found))))
        if sum(map(len, found)) > _OVERLAP * len(stops):
            self.single = _RETRY
        return stops

    def bulk(self, data: bytes, start: int, end: int) -> int:
        """The number of the lines of a stretch holding any string."""
        if self.single:
            self.single -= 1
            return self.one_bulk(data, start, end)
        return len(self.stops(data, start, end))

    def bounds(self, data: bytes, start: int, end: int) -> tuple[Sequence[int], Sequence[int]]:
        """The starts and stops of the lines of a stretch holding any string:
        each start past the newline before its stop's own (``rfind`` from the
        line's last byte, covering the line once; ``start`` is a line's
        start, so the newline before it, if any, stops the search)."""
        if self.single:
            self.single -= 1
            return self.one_bounds(data, start, end)
        stops = self.stops(data, start, end)
        lasts = map(_PRED, stops)
        starts = list(map(_SUCC, map(data.rfind, repeat(b"\n"), repeat(0), lasts)))
        return starts, stops


def _engine_lines(end_of: Callable[[str, int], int], text: str) -> Iterator[tuple[int, int]]:
    """``(start, end)`` in ``text`` of each line re_engine matches, in order.

    Any match will do, no need for its start: a match never spans lines, so
    the end of the leftmost one says which line matches; the next search
    starts at the next line.  One forward pass over the text in all.
    """
    if not text:
        return
    last = len(text) - 1 if text.endswith("\n") else len(text)  # no line after a final \n
    find = text.find
    pos = 0
    while pos <= last:
        e = end_of(text, pos)
        if e < 0 or e > last:
            return
        le = find("\n", e)
        le = len(text) if le < 0 else le
        yield text.rfind("\n", 0, e) + 1, le
        pos = le + 1


def _engine_bulk(pattern: Pattern[str]) -> Bulk:
    """Counts lines with re_engine on the decoded text (:func:`_engine_lines`)."""
    end_of = pattern._strategy.end

    def bulk(data: bytes, start: int, end: int) -> int:
        text = data[start:end].decode("utf-8", "surrogateescape")
        return sum(1 for _ in _engine_lines(end_of, text))

    return bulk


def _engine_bounds(pattern: Pattern[str]) -> Bounds:
    """Finds lines with re_engine on the decoded text (:func:`_engine_lines`), their
    bounds mapped back to the bytes: the same where the text is ASCII, else by
    the length in UTF-8 of the text between successive lines (linear)."""
    end_of = pattern._strategy.end

    def bounds(data: bytes, start: int, end: int) -> tuple[Sequence[int], Sequence[int]]:
        text = data[start:end].decode("utf-8", "surrogateescape")
        starts: list[int] = []
        ends: list[int] = []
        if len(text) == end - start:  # ASCII: one byte a character
            for ls, le in _engine_lines(end_of, text):
                starts.append(start + ls)
                ends.append(min(start + le + 1, end))  # past the newline
            return starts, ends
        done = 0  # characters of text before byte offset at
        at = start
        for ls, le in _engine_lines(end_of, text):
            at += len(text[done:ls].encode("utf-8", "surrogateescape"))
            n = len(text[ls:le].encode("utf-8", "surrogateescape"))
            starts.append(at)
            ends.append(min(at + n + 1, end))
            at += n
            done = le
        return starts, ends

    return bounds


def _engine_check(pattern: Pattern[str]) -> Check:
    end_of = pattern._strategy.end
    return lambda data, start, end: (
        end_of(data[start:end].decode("utf-8", "surrogateescape"), 0) >= 0
    )


def _piece(sets: Sequence[CharSet]) -> tuple[bytes | None, bytes] | None:
    """``(table, lit)``: where ``sets`` (one character each, in a row) occur in UTF-8 bytes.

    A string (each set one character) is its UTF-8 bytes (``table`` None).
    Else, for sets within ASCII: the bytes are partitioned by which of the
    sets (and the newline) hold them; when each set is exactly one part,
    mapping every byte to the least byte of its part (``bytes.translate``,
    in C) turns the sets into a literal.  Bytes of UTF-8 sequences are in no
    set and never newlines: their part is apart from every set's, so no
    character is split.  ``None``: neither applies.
    """
    singles = [cs.single() for cs in sets]
    if all(c is not None and not 0xD800 <= c <= 0xDFFF for c in singles):
        return None, "".join(chr(c) for c in singles if c is not None).encode()
    distinct = list(dict.fromkeys(sets))
    if not sets or any(not cs or cs.ranges[-1][1] > 0x7F for cs in distinct):
        return None
    rows: list[bytearray] = []  # which bytes each part holds
    for cs in [*distinct, NEWLINE]:
        row = bytearray(256)
        for lo, hi in cs.ranges:
            row[lo : hi + 1] = b"\1" * (hi + 1 - lo)  # (every set is within ASCII)
        rows.append(row)
    key = list(zip(*rows, strict=True))
    least: dict[tuple[bool, ...], int] = {}
    for b in range(256):
        least.setdefault(key[b], b)
    rep: list[int] = []
    for cs in distinct:
        first = cs.ranges[0][0]
        if any(key[b] != key[first] for lo, hi in cs.ranges for b in range(lo, hi + 1)):
            return None  # the set is more than one part
        rep.append(least[key[first]])
    table = bytes(least[key[b]] for b in range(256))
    by_set = dict(zip(distinct, rep, strict=True))
    return table, bytes(by_set[cs] for cs in sets)


def _class_string(core: Core) -> list[CharSet] | None:
    """The sets of ``core`` if it is a string of sets (``[0-9]{5}``: five of them)."""
    sets: list[CharSet] = []
    items = core.items if isinstance(core, R.Seq) else (core,)
    for it in items:
        while isinstance(it, R.Cap):
            it = it.node
        if isinstance(it, R.Set):
            sets.append(it.cs)
        elif isinstance(it, R.Repeat) and isinstance(it.node, R.Set) and it.min == it.max:
            if it.min > 64:
                return None
            sets.extend([it.node.cs] * it.min)
        else:
            return None
    return sets or None


# a required piece prefilters the lines when at least this long (a class
# string, which costs a translation of the data; a string: this less one)
_PIECE_MIN = 3


def _best_piece(core: Core) -> tuple[bytes | None, bytes] | None:
    """A piece every match of ``core`` holds (see :func:`_piece`), if one is worth finding:
    the longest string, unless a class string is longer still."""
    best: dict[bool, tuple[int, tuple[bytes | None, bytes]]] = {}
    for run in _required(core):
        # stretches of strings, and of sets within ASCII
        for ok in (lambda cs: cs.single() is not None, lambda cs: cs.ranges[-1][1] <= 0x7F):
            stretch: list[CharSet] = []
            for cs in [*run, CharSet()]:
                if cs and ok(cs):
                    stretch.append(cs)
                    continue
                got = _piece(stretch) if stretch else None
                if got is not None:
                    kind = got[0] is None
                    if len(stretch) > best.get(kind, (0, got))[0]:
                        best[kind] = (len(stretch), got)
                stretch = []
    plain_len, plain = best.get(True, (0, None))
    class_len, classes = best.get(False, (0, None))
    if classes is not None and class_len >= _PIECE_MIN and class_len > plain_len + 1:
        return classes
    if plain is not None and plain_len >= _PIECE_MIN - 1:
        return plain
    return None


Piecewise = tuple[bytes | None, bytes]
# what _shape finds: a string or a string of classes; else a piece every
# match holds, the pattern on the bytes, and the strings it alternates
Shape = tuple[Piecewise | None, Piecewise | None, tuple[bytes, int] | None, list[bytes] | None]
# the last body _shape looked at, and what it found
_last_shape: list[tuple[R.Re, Any]] = []
# the most strings an alternation of strings is searched as, one at a time
_MAX_STRINGS = 8


def _alt_strings(core: Core) -> list[bytes] | None:
    """The UTF-8 strings ``core`` alternates (``a|bc|d``), if it is an
    alternation of 2 to :data:`_MAX_STRINGS` non-empty strings."""
    if not isinstance(core, R.Alt) or not 2 <= len(core.items) <= _MAX_STRINGS:
        return None
    out: list[bytes] = []
    for item in core.items:
        sets = _class_string(item)
        got = None if sets is None else _piece(sets)
        if got is None or got[0] is not None:
            return None
        out.append(got[1])
    return out


def _shape(body: R.Re) -> Shape | None:
    """What :func:`line_counter` builds on: ``body`` as a string or a string of
    classes (:func:`_piece`), else a piece every match holds, the pattern on
    the bytes and the strings it alternates; ``None``: ``body`` matches the
    empty string.  (The last answer is kept: grep asks twice, with and then
    without a compiled pattern.)"""
    if _last_shape and _last_shape[0][0] is body:
        return _last_shape[0][1]  # type: ignore[no-any-return]
    core = resolve(body, False).core
    got: Shape | None = None
    if not nullable(core):
        sets = _class_string(core)
        whole = None if sets is None else _piece(sets)
        if whole is not None:
            got = whole, None, None, None
        else:
            got = None, _best_piece(core), _byte_pattern(core), _alt_strings(core)
    _last_shape[:] = [(body, got)]
    return got


def line_counter(body: R.Re, pattern: Pattern[str] | None = None) -> LineCounter | None:
    """What counts the lines that ``body`` matches in UTF-8 bytes, if it can be done there.

    With ``re`` on the bytes: the count is of the matches of ``body`` then
    the rest of the line (``[^\\n]*``), without decoding the text or
    splitting it into lines, when ``body`` is made of sets with few
    characters outside ASCII, bounded repetitions of them, alternations and
    ``^``/``$``.  A string of ASCII classes becomes a literal over byte
    classes (:func:`_piece`).  An alternation of strings is searched one
    string at a time where that pays (:class:`_Strings`).  Otherwise, given
    the compiled ``pattern``
    and a piece every match holds (:func:`_best_piece`), the lines holding
    the piece are found in the bytes and only they are decoded and searched
    (all lines of a stretch where they turn out dense).  ``None``: neither.

    Bound: ``body`` has a finite maximum length ``L`` and at most ``P <=
    256`` ways to be matched from a position (a set's alternatives are UTF-8
    sequences, a prefix code, so one at most matches; sequences multiply,
    alternations add, ``{m,n}`` counts ``n - m + 1``), so an attempt costs at
    most ``P * L`` steps; a successful one then runs the final class loop,
    which cannot fail, to the end of the line, where the next search starts.
    ``re`` makes at most one attempt per position: ``O(n * P * L)`` in all.
    A line checked alone is searched once, by ``re`` (as above) or re_engine.
    """
    shape = _shape(body)
    if shape is None:
        return None
    got, piece, byte, strings = shape
    if got is not None:  # a string, or a string of classes
        rx = _re.compile(_re.escape(got[1]) + b"[^\\n]*\\n?()")
        return LineCounter(_rx_bulk(rx), _rx_bounds(rx), *got)
    if strings is not None and byte is not None:  # an alternation of strings
        found = _Strings(strings, _re.compile(b"(?:" + byte[0] + b")[^\\n]*\\n?()"))
        return LineCounter(found.bulk, found.bounds)
    if byte is not None and byte[1] <= _MAX_PATHS:
        rx = _re.compile(b"(?m)(?:" + byte[0] + b")[^\\n]*\\n?()")
        if piece is None:
            return LineCounter(_rx_bulk(rx), _rx_bounds(rx))
        one = _re.compile(b"(?m)" + byte[0]).search
        check = lambda d, s, e: one(d, s, e) is not None  # noqa: E731
        return LineCounter(_rx_bulk(rx), _rx_bounds(rx), *piece, check)
    if pattern is None or piece is None:
        return None
    return LineCounter(
        _engine_bulk(pattern), _engine_bounds(pattern), *piece, _engine_check(pattern)
    )


# the ASCII bytes of word characters (-w): letters, digits, the underscore
_ASCII_WORD = [chr(b).isalnum() or b == 0x5F for b in range(128)]


def _word_check(table: bytes | None, lit: bytes, words: CharSet) -> Check:
    """Does a line hold an occurrence of ``lit`` (in the line mapped by
    ``table``) neither preceded nor followed by a word character (``-w``)?

    Only the characters on either side of each occurrence are looked at: an
    ASCII byte by a table, else the character (at most 4 bytes) decoded
    alone, which UTF-8 allows (it synchronises at any character's first
    byte; a byte that is not UTF-8 is no word character).  Each search
    resumes one byte past the last occurrence (occurrences of a class string
    may overlap): at most ``len(lit)`` searches cover a byte, each check
    a bounded step, so a line costs ``O(len(line) * len(lit))``.
    """
    k = len(lit)

    def before(data: bytes, ls: int, i: int) -> bool:
        """Is the character that ends at ``i`` a word character?"""
        b = data[i - 1]
        if b < 0x80:
            return _ASCII_WORD[b]
        return data[max(ls, i - 4) : i].decode("utf-8", "surrogateescape")[-1] in words

    def after(data: bytes, j: int, le: int) -> bool:
        """Is the character that starts at ``j`` a word character?"""
        b = data[j]
        if b < 0x80:
            return _ASCII_WORD[b]
        return data[j : min(le, j + 4)].decode("utf-8", "surrogateescape")[0] in words

    def check(data: bytes, ls: int, le: int) -> bool:
        line = data[ls:le] if table is None else data[ls:le].translate(table)
        find = line.find
        n = le - ls
        i = find(lit)
        while i >= 0:
            if (i == 0 or not before(data, ls, ls + i)) and (
                i + k == n or not after(data, ls + i + k, le)
            ):
                return True
            i = find(lit, i + 1)
        return False

    return check


def word_counter(body: R.Re) -> LineCounter | None:
    """:func:`line_counter` for ``-w`` around a string or a string of ASCII
    classes (:func:`line_body`'s shape): the lines holding the piece
    (:func:`_piece`: its occurrences are the inner pattern's matches) are
    checked at each occurrence's edges (:func:`_word_check`), no pattern run
    over the line.  ``None``: ``body`` is not of that shape."""
    if not (isinstance(body, R.Seq) and len(body.items) == 3):
        return None
    head, mid, tail = body.items
    if not isinstance(mid, R.Group) or not isinstance(head, R.Alt) or len(head.items) != 2:
        return None
    edge = head.items[1]
    if head != R.alt(R.bol, edge) or tail != R.alt(R.eol, edge) or not isinstance(edge, R.Set):
        return None
    if edge.cs != _word_edge():
        return None
    core = resolve(mid.node, False).core
    sets = _class_string(core)
    got = None if sets is None or nullable(core) else _piece(sets)
    if got is None:
        return None
    return LineCounter(None, None, *got, _word_check(*got, word()))


def line_finder(body: R.Re, pattern: Pattern[str]) -> LineCounter:
    """:func:`line_counter` where it applies, else re_engine over each chunk's whole text."""
    got = line_counter(body, pattern)
    return got or LineCounter(_engine_bulk(pattern), _engine_bounds(pattern))


# ------------------------------------------------------------------- search


@dataclass
class _Out:
    """Writes grep's output lines, colored or not, and the context separators."""

    stream: IO[bytes]
    opts: Options
    used: bool = False  # some group was output (or held back): the next gets a --
    # as grep, output to a terminal goes out a line at a time, else in blocks
    # (also where the stream itself is unbuffered, as with PYTHONUNBUFFERED)
    block: bool = True
    _held: list[bytes] = field(default_factory=list)
    _size: int = 0
    # while set, output is held (up to _HOLD bytes, then this is called,
    # and may raise _Binary): see Grep.search_file
    guard: Callable[[], None] | None = None

    def sgr(self, code: str, text: str) -> str:
        return f"\33[{code}m\33[K{text}\33[m\33[K" if self.opts.color and text else text

    def write(self, data: bytes) -> None:
        self._held.append(data)
        self._size += len(data)
        if self._size >= _BLOCK or not self.block:
            if self.guard is not None:
                if self._size < _HOLD:
                    return
                guard, self.guard = self.guard, None
                guard()
            self.flush()

    def hold(self, guard: Callable[[], None]) -> int:
        """Hold the output from here (see :attr:`guard`); return a mark for :meth:`drop`."""
        self.guard = guard
        return len(self._held)

    def drop(self, mark: int) -> None:
        """Forget the output held since ``mark`` (no longer held)."""
        self._size -= sum(map(len, self._held[mark:]))
        del self._held[mark:]

    def text(self, text: str) -> None:
        """Write ``text`` (lone surrogates: the bytes they stand for)."""
        self.write(text.encode("utf-8", "surrogateescape"))

    def flush(self) -> None:
        """Write out what is held (before a message on standard error, and at the end)."""
        if self._held:
            self.stream.write(b"".join(self._held))
            self._held.clear()
            self._size = 0

    def head(self, name: str | None, lineno: int, sep: str) -> bytes:
        out = ""
        if name is not None:
            out += self.sgr(_SGR_FILE, name) + self.sgr(_SGR_SEP, sep)
        if self.opts.number:
            out += self.sgr(_SGR_LINE, str(lineno)) + self.sgr(_SGR_SEP, sep)
        return out.encode("utf-8", "surrogateescape")


@dataclass
class _File:
    """The output state of one file, as grep keeps it."""

    data: bytes  # ending with a newline (grep supplies a missing last one)
    shown: str | None  # the name printed before lines, if any
    clean: bool = False  # no line is held back (-a)
    lastout: int | None = None  # just past the last line printed
    pending: int = 0  # after-context lines still to print
    held: bool = False  # a line was held back as binary
    _pos: int = 0
    _no: int = 1

    def lineno(self, pos: int) -> int:
        """Line number of the line starting at ``pos`` (cheap for nearby calls)."""
        if pos >= self._pos:
            self._no += self.data.count(b"\n", self._pos, pos)
        else:
            self._no -= self.data.count(b"\n", pos, self._pos)
        self._pos = pos
        return self._no

    def raw(self, start: int, end: int) -> bool:
        """Does ``data[start:end]`` hold bytes that are not UTF-8 (and no ``-a``)?"""
        return not self.clean and _not_utf8(self.data[start:end])


# whole lines ``data[start:end]``: ``start`` a line's start, ``end`` just past a newline
Piece = tuple[bytes, int, int]


def _chunks(data: bytes) -> Iterator[Piece]:
    """``data`` (ending with a newline) in chunks of whole lines, each ending at
    the last newline within :data:`_CHUNK` bytes, or with a line longer than
    that whole: a chunk stays in the processor's cache while it is mapped and
    searched, and each byte is in one chunk."""
    n = len(data)
    if n <= _CHUNK:
        if n:
            yield data, 0, n
        return
    a = 0
    while a < n:
        b = data.rfind(b"\n", a, a + _CHUNK) + 1
        if b <= a:  # a line longer than a chunk: the chunk is the line
            b = data.find(b"\n", a + _CHUNK) + 1 or n
        chunk = data[a:b]
        yield chunk, 0, len(chunk)
        a = b


def _read_chunks(fh: IO[bytes], nul: bool, strict: bool = False) -> Iterator[Piece]:
    """The bytes of ``fh`` read :data:`_CHUNK` at a time, as stretches of whole
    lines: each chunk from past the line it cuts at its start to its last
    newline, the cut line joined once from its pieces (a line longer than
    chunks is gathered whole first: each byte is copied at most once).  The
    last line gets a newline if it has none, as grep supplies it; with
    ``nul``, NULs end lines (a binary file, as grep); ``strict``: a NUL
    raises :class:`_Binary` instead."""
    carry: list[bytes] = []  # the start of a line not ended yet
    while True:
        chunk = fh.read(_CHUNK)
        if not chunk:
            if carry:
                line = b"".join(carry) + b"\n"
                yield line, 0, len(line)
            return
        if (nul or strict) and b"\0" in chunk:
            if strict:
                raise _Binary
            chunk = chunk.replace(b"\0", b"\n")
        first = chunk.find(b"\n") + 1
        if not first:
            carry.append(chunk)
            continue
        start = 0
        if carry:
            carry.append(chunk[:first])
            line = b"".join(carry)
            yield line, 0, len(line)
            start = first
        end = chunk.rfind(b"\n") + 1
        if start < end:
            yield chunk, start, end
        carry = [chunk[end:]] if end < len(chunk) else []


def _has_nul(fh: IO[bytes]) -> bool:
    """Does the rest of ``fh`` hold a NUL byte?  (Read a chunk at a time, each
    searched by ``memchr``: a pass in C.  Reading into one reused buffer,
    ``readinto``, measured three times slower here.)"""
    while chunk := fh.read(_CHUNK):
        if b"\0" in chunk:
            return True
    return False


def _occurrences(chunk: bytes, table: bytes | None, lit: bytes) -> Iterator[tuple[int, int]]:
    """The spans of the successive occurrences of ``lit`` in ``chunk`` mapped by
    ``table`` (``bytes.find``, each search from the last end: linear)."""
    data = chunk if table is None else chunk.translate(table)
    find = data.find
    k = len(lit)
    i = find(lit)
    while i >= 0:
        yield i, i + k
        i = find(lit, i + k)


# -v with no pattern: no line matches
_NOTHING = LineCounter(lambda data, start, end: 0, lambda data, start, end: ([], []))


@dataclass
class Grep:
    """One run of grep over its operands."""

    opts: Options
    pattern: Pattern[str] | None  # for the spans of matches (-o, color)
    group: int
    out: _Out
    err: IO[str]
    stdin: IO[bytes]
    error: bool = False
    selected: bool = False
    # finds or counts the matching lines on the bytes (see line_counter)
    counter: LineCounter = _NOTHING
    # the pattern's matches are its spans and never empty (see print_only)
    whole_spans: bool = False

    def complain(self, msg: str) -> None:
        self.error = True
        if not self.opts.silent:
            self.out.flush()
            self.err.write(f"grep: {msg}\n")

    # -- lines ----------------------------------------------------------------
    def matching_lines(self, data: bytes) -> Iterator[tuple[int, int]]:
        """``(start, end)`` of each line the pattern matches, in order (end: its
        newline), searched a chunk at a time (:func:`_chunks`)."""
        lines = self.counter.lines
        a = 0
        for chunk, _, end in _chunks(data):
            for ls, le in lines(chunk, 0, end):
                yield a + ls, a + le
            a += end

    def selected_lines(self, data: bytes) -> Iterator[tuple[int, int]]:
        """Lines selected: those matching, or with ``-v`` those not matching."""
        if not self.opts.invert:
            yield from self.matching_lines(data)
            return
        pos = 0
        n = len(data)
        for ls, le in chain(self.matching_lines(data), [(n, n)]):
            while pos < ls:
                e = data.find(b"\n", pos, ls)
                e = ls - 1 if e < 0 else e
                yield pos, e
                pos = e + 1
            pos = le + 1

    def matches_in(self, line: str) -> Iterator[tuple[int, int]]:
        """Spans of the non-empty matches in one line (``-o``, color)."""
        pat = self.pattern
        if pat is None:
            return
        g = self.group
        pos = 0
        n = len(line)
        last_empty = -1
        while pos <= n:
            m = pat.search(line, pos)
            if m is None:
                return
            s, e = m.span(g)
            if e > s:
                yield s, e
                pos = e
            elif s == last_empty:
                pos += 1  # the same empty match again: step over it
            else:
                # an empty match at s (group 1 of -w/-x: the whole match may
                # have gone past s, over the non-word character after it,
                # which the next match may need): search again from s, for
                # a match other than this one
                last_empty = s
                pos = s

    # -- one file -------------------------------------------------------------
    def streams(self) -> bool:
        """Are lines printed on their own (no context, color or ``-o -v``), so
        that the file can be read a chunk at a time (:meth:`print_lines`)?"""
        o = self.opts
        if o.context or o.color:
            return False
        return not o.only or (self.whole_spans and not o.invert)

    def search_file(self, name: str, fh: IO[bytes], shown: str | None) -> int:
        """Print the selected lines of an open file; return their number.

        A regular file is read a chunk at a time when lines are printed on
        their own and it holds no NUL: a binary file prints no line, which
        its first chunks cannot tell.  So the output is held while the
        chunks are read, each checked for a NUL (``memchr``, in C); when it
        outgrows :data:`_HOLD`, the rest of the file is checked first (one
        pass, then read again); to a terminal, the whole file is checked
        first.  A file with a NUL is read whole (:meth:`search`)."""
        o = self.opts
        if self.streams() and stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            f = _File(b"", shown, o.text)
            if o.text:
                return self.print_lines(name, f, _read_chunks(fh, False))
            if not self.out.block:  # (a terminal: lines as they are found)
                if not _has_nul(fh):
                    fh.seek(0)
                    return self.print_lines(name, f, _read_chunks(fh, False))
            else:

                def rest() -> None:  # the output outgrew its hold
                    at = fh.tell()
                    if _has_nul(fh):
                        raise _Binary
                    fh.seek(at)

                mark = self.out.hold(rest)
                try:
                    return self.print_lines(name, f, _read_chunks(fh, False, strict=True))
                except _Binary:
                    self.out.drop(mark)
                finally:
                    self.out.guard = None
            fh.seek(0)
        return self.search(name, fh.read(), shown)

    def search(self, name: str, data: bytes, shown: str | None) -> int:
        """Print the selected lines of one file's bytes; return their number."""
        o = self.opts
        binary = not o.text and b"\0" in data
        if binary:
            data = data.replace(b"\0", b"\n")  # as grep: NULs end lines in binary files
        if data and not data.endswith(b"\n"):
            data += b"\n"  # as grep, which supplies it
        f = _File(data, shown, o.text)
        if binary or not self.streams():
            count = self.search_lines(f, binary)
            self.note_held(name, f)
            return count
        return self.print_lines(name, f, _chunks(data))

    def print_lines(self, name: str, f: _File, pieces: Iterable[Piece]) -> int:
        """Print the selected lines (or ``-o`` matches) of ``pieces``, no context."""
        count = self.print_only(f, pieces) if self.opts.only else self.print_plain(f, pieces)
        self.note_held(name, f)
        return count

    def note_held(self, name: str, f: _File) -> None:
        if f.held:
            self.out.flush()
            self.err.write(f"grep: {name}: binary file matches\n")

    def print_plain(self, f: _File, pieces: Iterable[Piece]) -> int:
        """The selected lines, whole, no context: slices of each chunk.

        The bounds of a chunk's matching lines come as two lists
        (:meth:`LineCounter.bounds`); with ``-v``, the runs of lines between
        them are the selected ones, each run one slice.  The slices, and
        the heads before them (a name; ``-n``: numbers, advanced by the
        newlines between one selected line and the next, ``bytes.count``
        over the gaps), are joined by iterators in C into one block, which
        is written if it is UTF-8 (one check in C; else the chunk goes a
        line at a time and lines that are not UTF-8 are held back).  To a
        terminal, and with ``-v`` and heads, lines go one at a time.
        """
        write = self.out.write
        name = b"" if f.shown is None else f.shown.encode("utf-8", "surrogateescape") + b":"
        number = self.opts.number
        invert = self.opts.invert
        fmt = name.replace(b"%", b"%%") + b"%d:%s"  # a numbered line
        bounds = self.counter.bounds
        joined = self.out.block and not (invert and (name or number))
        clean = f.clean
        count = 0
        no = 1  # the number of the line at the start of the chunk
        for data, start, end in pieces:
            starts, stops = bounds(data, start, end)
            if invert:
                count += data.count(b"\n", start, end) - len(starts)
                # the runs between matching lines: from one's stop to the
                # next one's start (kept when not empty)
                firsts = [start, *stops]
                lasts = [*starts, end]
                keep = list(map(_lt, firsts, lasts))
                starts, stops = list(compress(firsts, keep)), list(compress(lasts, keep))
            else:
                count += len(starts)
            if not starts:
                if number:
                    no += data.count(b"\n", start, end)
                continue
            if joined:
                runs = map(data.__getitem__, map(slice, starts, stops))
                nos: list[int] = []
                if number:
                    gaps = map(data.count, repeat(b"\n"), [start, *starts], starts)
                    nos = list(accumulate(gaps, initial=no))
                    # (one formatting a line measured faster than heads between lines)
                    block = b"".join(map(fmt.__mod__, zip(nos[1:], runs, strict=True)))
                elif name:
                    block = b"".join(chain.from_iterable(zip(repeat(name), runs, strict=False)))
                else:
                    block = b"".join(runs)
                if clean or block.isascii() or not _not_utf8(block):
                    write(block)
                    if number:
                        no = nos[-1] + data.count(b"\n", starts[-1], end)
                    continue
            # a line at a time: held back if not UTF-8
            parts: list[bytes] = []
            emit = parts.append if self.out.block else write
            at = start  # no is the number of the line at offset at
            for ls, le in zip(starts, stops, strict=True):
                run = data[ls : le - 1]  # (a piece's lines all end with a newline)
                if number:
                    no += data.count(b"\n", at, ls)
                    at = ls
                for i, line in enumerate(run.split(b"\n") if invert else (run,)):
                    if not clean and _not_utf8(line):
                        f.held = True
                    elif number:
                        emit(b"%s%d:%s\n" % (name, no + i, line))
                    else:
                        emit(name + line + b"\n")
            if parts:
                write(b"".join(parts))
            if number:
                no += data.count(b"\n", at, end)
        if count:
            self.selected = self.out.used = True
        return count

    def print_only(self, f: _File, pieces: Iterable[Piece]) -> int:
        """``-o`` with no context: the spans of the successive matches over each
        chunk (a match never spans lines), each line's number counted on the
        chunk between matches.

        As when each line is searched alone: a pattern that cannot match
        empty (searches then resume where a match ends), its whole match
        printed (no ``-w``/``-x``); a match holding bytes that are not UTF-8
        holds back the rest of its line.  Where the counter's piece is the
        whole pattern (a string, or a string of ASCII classes: every match has
        its length, so the leftmost match is the leftmost-longest), the
        matches are the piece's occurrences, found by ``bytes.find`` in the
        mapped chunk; else re_engine searches the chunk's text.
        """
        counter = self.counter
        fixed = counter.lit if counter.check is None else None
        assert self.pattern is not None
        slots = self.pattern._strategy.slots
        write = self.out.write
        name = b"" if f.shown is None else f.shown.encode("utf-8", "surrogateescape") + b":"
        number = self.opts.number
        clean = f.clean
        count = 0
        no = 1  # the number of the chunk's first line
        for data, start, end in pieces:
            chunk = data if start == 0 and end == len(data) else data[start:end]
            parts: list[bytes] = []
            emit = parts.append if self.out.block else write
            at = 0  # no is the number of the line at offset at
            if fixed is not None:
                text: Any = chunk  # the spans are in the bytes, pieces in UTF-8
                spans = _occurrences(chunk, counter.table, fixed)
            else:
                text = chunk.decode("utf-8", "surrogateescape")
                spans = ((sl[0], sl[1]) for sl in slots(text, 0, False))
                if len(text) == len(chunk):  # ASCII: the same spans in the bytes
                    text = chunk
            nl = b"\n" if text is chunk else "\n"
            skip = -1  # a match held back: none more before this newline
            for s, e in spans:
                count += 1
                if s < skip:
                    continue
                if text is chunk:
                    piece = chunk[s:e]
                else:
                    if not clean and _has_raw(text[s:e]):
                        f.held = True
                        skip = text.find("\n", e)
                        continue
                    piece = text[s:e].encode("utf-8", "surrogateescape")
                if number:
                    no += text.count(nl, at, s)
                    at = s
                    emit(b"%s%d:%s\n" % (name, no, piece))
                else:
                    emit(name + piece + b"\n")
            if parts:
                write(b"".join(parts))
            if number:
                no += text.count(nl, at)
        if count:
            self.selected = self.out.used = True
        return count

    def search_lines(self, f: _File, binary: bool) -> int:
        """The selected lines with their context (``-A -B -C``), matches (``-o``,
        color), or of a binary file (nothing printed, a note)."""
        o = self.opts
        data = f.data
        count = 0
        prev_end = -2  # end of the last selected line
        for ls, le in self.selected_lines(data):
            count += 1
            self.selected = True
            if binary:  # nothing printed, yet it counts as output for the next --
                self.out.used = f.held = True
                break
            if o.invert and ls == prev_end + 1:
                # as grep, a run of selected lines (-v) is one group: no
                # context or separator between them, even after a held line
                self.prline(f, ls, le, ":")
                prev_end = le
                continue
            prev_end = le
            self.prpending(f, ls)
            # before-context: at most -B lines, none printed already
            p = ls
            floor = 0 if f.lastout is None else f.lastout
            for _ in range(o.before):
                if p <= floor:
                    break
                p = data.rfind(b"\n", 0, p - 1) + 1
            if o.context and self.out.used and p != f.lastout:
                self.out.text(self.out.sgr(_SGR_SEP, "--") + "\n")
            while p < ls:
                e = data.find(b"\n", p)
                self.prline(f, p, e, "-")
                p = e + 1
            self.prline(f, ls, le, ":")
            f.pending = o.after
            self.out.used = True
        self.prpending(f, len(data))
        return count

    def count_stream(self, name: str, fh: IO[bytes], shown: str | None) -> int:
        """``-c``, ``-l``, ``-L``, ``-q`` with a :attr:`counter`: count the selected
        lines of a file read in chunks of whole lines, never decoded whole.

        A chunk stays in the processor's cache while it is mapped (a class
        string, :func:`_piece`) and searched, and its buffer is reused
        by the allocator; ``-q`` and ``-l`` stop at the first chunk with a
        match.  A line longer than a chunk is gathered whole first (its
        pieces joined once), so each byte is searched once: linear as the
        counter is.
        """
        o = self.opts
        counter = self.counter
        settle = (o.quiet or o.listing is not None) and not o.invert  # one match settles it
        nul = not o.text  # as grep: NULs end lines in binary files (-a: not)
        count = lines = 0
        for data, start, end in _read_chunks(fh, nul):
            count += counter.count(data, start, end)
            if o.invert:
                lines += data.count(b"\n", start, end)
            if count and settle:
                if fh is self.stdin and not o.quiet:
                    # as grep: standard input is read to its end (a later
                    # operand "-" finds nothing left, a writer no broken pipe)
                    while fh.read(_CHUNK):
                        pass
                break
        if o.invert:
            count = lines - count
        if count:
            self.selected = True
            if o.quiet:
                raise _Quit
        self.summary(name, shown, count)
        return count

    def summary(self, name: str, shown: str | None, count: int) -> None:
        """What ``-c``, ``-l`` and ``-L`` print for a file."""
        o = self.opts
        if o.count:
            head = "" if shown is None else self.out.sgr(_SGR_FILE, shown)
            head += self.out.sgr(_SGR_SEP, ":") if shown is not None else ""
            self.out.text(f"{head}{count}\n")
        if o.listing is not None and (count > 0) == (o.listing == "with"):
            self.out.text(self.out.sgr(_SGR_FILE, name) + "\n")

    def prpending(self, f: _File, lim: int) -> None:
        """After-context: lines from the last one printed, up to ``lim``.

        As in grep, a line held back (binary) is not passed: the next tries
        take the same line again, using up the context.
        """
        data = f.data
        if f.pending > 0 and f.lastout is None:
            # nothing printed yet (the selected line was held back): grep
            # takes the top of the file as the last output
            f.lastout = 0
        while f.pending > 0:
            start = f.lastout or 0
            if start >= lim or start == len(data):
                break
            e = data.find(b"\n", start)
            e = len(data) if e < 0 else e
            f.pending -= 1
            self.prline(f, start, e, "-")

    def prline(self, f: _File, start: int, end: int, sep: str) -> None:
        """Print the line ``data[start:end]`` (or its matches, ``-o``).

        A line (with ``-o``: a match) holding bytes that are not UTF-8 is
        held back, unless ``-a``: the file is then reported as binary.
        """
        o = self.opts
        head = self.out.head(f.shown, f.lineno(start) if o.number else 0, sep)
        # matches are marked in selected lines, or with -v in context lines
        marked = (sep == ":") != o.invert
        if o.only:
            if marked:
                line = f.data[start:end].decode("utf-8", "surrogateescape")
                for s, e in self.matches_in(line):
                    piece = line[s:e]
                    if not o.text and _has_raw(piece):
                        f.held = True
                        return
                    self.out.write(
                        head + (self.color(piece) + "\n").encode("utf-8", "surrogateescape")
                    )
            f.lastout = end + 1
            return
        if f.raw(start, end):
            f.held = True
            return
        if o.color and marked:
            line = f.data[start:end].decode("utf-8", "surrogateescape")
            parts: list[str] = []
            last = 0
            for s, e in self.matches_in(line):
                parts += [line[last:s], self.color(line[s:e])]
                last = e
            self.out.write(
                head + ("".join(parts) + line[last:] + "\n").encode("utf-8", "surrogateescape")
            )
        else:
            self.out.write(head + f.data[start : end + 1])
        f.lastout = end + 1

    def color(self, text: str) -> str:
        return self.out.sgr(_SGR_MATCH, text)

    # -- operands -------------------------------------------------------------
    def wanted(self, path: str, command_line: bool) -> bool:
        """``--include``/``--exclude``: the last matching option decides; with none
        matching, a file is searched unless the first option is ``--include``."""
        filters = self.opts.filters
        if not filters:
            return True
        names = [os.path.basename(path)]
        if command_line:  # any suffix of the name that starts after a slash
            names = [path] + [path[i + 1 :] for i, c in enumerate(path) if c == "/"]
        verdict = not filters[0][0]
        for include, glob in filters:
            if any(fnmatch.fnmatchcase(n, glob) for n in names):
                verdict = include
        return verdict

    def operands(self) -> Iterator[tuple[str, str | None]]:
        """``(path, None)`` for each file to search, ``(path, error)`` for a failure."""
        o = self.opts
        files = o.files or (["."] if o.recursive else ["-"])
        for f in files:
            if f == "-":
                yield f, None
                continue
            try:
                st = os.stat(f)
            except OSError as e:
                yield f, e.strerror or str(e)
                continue
            if stat.S_ISDIR(st.st_mode):
                if not o.recursive:
                    yield f, "Is a directory"
                    continue
                yield from self.walk(f, strip=not o.files)
            elif self.wanted(f, True):
                yield f, None

    def walk(self, top: str, strip: bool) -> Iterator[tuple[str, str | None]]:
        """Files under ``top``, depth first in name order (``-R``: through symbolic
        links; a link back to a directory being walked is skipped with a warning)."""
        st = os.stat(top)
        # one entry per directory being walked: its identity and its remaining names
        stack: list[tuple[tuple[int, int], str, Iterator[str]]] = []

        def enter(d: str, st: os.stat_result) -> str | None:
            try:
                names = sorted(os.listdir(d))
            except OSError as e:
                return e.strerror or str(e)
            stack.append(((st.st_dev, st.st_ino), d, iter(names)))
            return None

        problem = enter(top, st)
        if problem is not None:
            yield top, problem
        while stack:
            _, d, names = stack[-1]
            n = next(names, None)
            if n is None:
                stack.pop()
                continue
            path = n if strip and d == "." else os.path.join(d, n)
            try:
                st = os.lstat(path)
                if stat.S_ISLNK(st.st_mode):
                    if self.opts.recursive != "R":
                        continue
                    st = os.stat(path)
            except OSError as e:
                yield path, e.strerror or str(e)
                continue
            if stat.S_ISDIR(st.st_mode):
                if any(ident == (st.st_dev, st.st_ino) for ident, _, _ in stack):
                    if not self.opts.silent:
                        self.out.flush()
                        self.err.write(f"grep: {path}: warning: recursive directory loop\n")
                    continue
                problem = enter(path, st)
                if problem is not None:
                    yield path, problem
            elif stat.S_ISREG(st.st_mode) and self.wanted(path, False):
                yield path, None

    def run(self) -> int:
        o = self.opts
        # as grep: when no line can be selected, no file is even opened
        # ("-f /dev/null", or -v with only empty patterns)
        hopeless = not o.invert if not o.patterns else o.invert and not any(o.patterns)
        if hopeless and not (o.patterns and (o.line or o.word)) and o.listing != "without":
            return 1
        multi = len(o.files) > 1 or (
            o.recursive is not None and any(f == "." or os.path.isdir(f) for f in o.files or ["."])
        )
        show = multi if o.filenames is None else o.filenames
        try:
            for path, problem in self.operands():
                if problem is not None:
                    self.complain(f"{path}: {problem}")
                    continue
                name = _STDIN if path == "-" else path
                shown = name if show else None
                try:
                    if o.count or o.quiet or o.listing is not None:  # no line printed
                        if path == "-":
                            self.count_stream(name, self.stdin, shown)
                        else:
                            with open(path, "rb") as fh:
                                self.count_stream(name, fh, shown)
                        continue
                    if path == "-":
                        self.search(name, self.stdin.read(), shown)
                    else:
                        with open(path, "rb") as fh:
                            self.search_file(name, fh, shown)
                except OSError as e:
                    self.complain(f"{path}: {e.strerror}")
                    continue
        except _Quit:
            return 0
        if self.error:
            return 2
        return 0 if self.selected else 1


class _Binary(Exception):
    """A file being printed a chunk at a time holds a NUL after all."""


class _Quit(Exception):
    """``-q`` found a match: stop at once."""


def _not_utf8(data: bytes) -> bool:
    """Does ``data`` hold bytes that are not UTF-8?  (One pass in C.)"""
    if data.isascii():
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def _has_raw(text: str) -> bool:
    """Does ``text`` hold bytes that are not UTF-8 (as lone surrogates)?"""
    if text.isascii():
        return False
    try:
        text.encode("utf-8")  # in C; fails on any surrogate, and only a raw byte is one
    except UnicodeEncodeError:
        return True
    return False


def main(
    argv: Sequence[str],
    stdin: IO[bytes] | None = None,
    stdout: IO[bytes] | None = None,
    stderr: IO[str] | None = None,
) -> int:
    """Run grep with ``argv`` (the arguments after ``grep``); return its exit status."""
    stdin = stdin if stdin is not None else sys.stdin.buffer
    stdout = stdout if stdout is not None else sys.stdout.buffer
    err = stderr if stderr is not None else sys.stderr
    try:
        tty = stdout.isatty()
        opts = parse_args(argv, stdin, tty)
        body, group = line_body(opts)
        pattern = None
        counter = _NOTHING
        whole = False
        if body is not None:
            # the lines are found (or counted) on the bytes (line_counter),
            # by re_engine over each chunk's text where re cannot
            got = word_counter(body) or line_counter(body)
            printed = not (opts.count or opts.listing is not None or opts.quiet)
            if got is None or (printed and (opts.only or opts.color)):
                pattern, group = build(opts)  # the spans of matches: re_engine's
            if got is None:
                assert pattern is not None
                got = line_finder(body, pattern)
            counter = got
            whole = group == 0 and not nullable(resolve(body, False).core)
    except (UsageError, ReError) as e:
        err.write(f"grep: {e}\n")
        return 2
    g = Grep(opts, pattern, group, _Out(stdout, opts, block=not tty), err, stdin)
    g.counter = counter
    g.whole_spans = whole
    try:
        return g.run()
    finally:
        g.out.flush()
        stdout.flush()
