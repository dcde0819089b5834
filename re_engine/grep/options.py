"""grep's command line: GNU grep's options (:func:`parse_args`), and its patterns made
one pattern confined to a line (:func:`line_body`), compiled by re_engine where the spans
of matches are wanted (:func:`build`)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from typing import IO, Any

from .. import ast as R
from ..api import Pattern, _parse, compile
from ..charset import NEWLINE, CharSet, word
from ..errors import ReError
from ..syntax import Flag

# invalid UTF-8 bytes decode to these lone surrogates (errors="surrogateescape")
_RAW_BYTES = CharSet.of_range(0xDC80, 0xDCFF)
_NOT_IN_LINE = NEWLINE.union(_RAW_BYTES)
_SYNTAX = {"G": "posix_basic", "E": "posix", "P": "perl", "F": "fixed"}


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
