"""One run of grep over its operands (:class:`Grep`, :func:`main`): files read a chunk
at a time (:func:`_read_chunks`), their lines counted or printed, output held in blocks
(:class:`_Out`) and until a file is known to be free of NULs."""

from __future__ import annotations

import fnmatch
import os
import stat
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import accumulate, chain, compress, repeat
from operator import lt as _lt
from typing import IO, Any

from ..api import Pattern
from ..errors import ReError
from ..prog import nullable, resolve
from .lines import LineCounter, line_counter, line_finder, word_counter
from .options import Options, UsageError, build, line_body, parse_args

_STDIN = "(standard input)"

# GNU grep's default GREP_COLORS: ms=01;31 fn=35 ln=32 se=36
_SGR_MATCH, _SGR_FILE, _SGR_LINE, _SGR_SEP = "01;31", "35", "32", "36"

# the bytes read (or searched) at a time (a chunk stays in cache)
_CHUNK = 1 << 19
# the characters of output held before a write (not to a terminal)
_BLOCK = 1 << 16
# the most output held while a file printed a chunk at a time is not known
# to be free of NULs (see Grep.search_file)
_HOLD = 1 << 23


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
