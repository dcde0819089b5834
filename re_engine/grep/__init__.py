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

A file is read a chunk at a time (:func:`run._read_chunks`), counted
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
by one sort of ``k`` sorted runs, :class:`lines._Strings`); the ``rfind``
before a match and the newline counts of ``-n`` cover each stretch between
successive searches once; a ``-w`` check covers a line holding the piece
``len(piece)`` times at most (:func:`lines._word_check`).
"""

from .lines import LineCounter, line_counter, line_finder, word_counter
from .options import Options, UsageError, build, line_body, parse_args
from .run import Grep, main

__all__ = [
    "Grep",
    "LineCounter",
    "Options",
    "UsageError",
    "build",
    "line_body",
    "line_counter",
    "line_finder",
    "main",
    "parse_args",
    "word_counter",
]
