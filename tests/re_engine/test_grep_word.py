"""grep -w around a string or a string of classes: the edges of each occurrence checked
(re_engine.grep.word_counter), as GNU grep, at any chunk size."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from re_engine.grep import LineCounter, line_body, parse_args, word_counter

from .gnu import agree, needs_grep

# occurrences at a line's ends, next to ASCII and non-ASCII word characters
# (é, the Kelvin sign, an Arabic digit), next to non-word characters, next to
# bytes that are not UTF-8, overlapping digit runs, a last line without newline
LINES = [
    b"needle",
    b"xneedle",
    b"needlex",
    b"_needle needle_",
    b"a needle.",
    "\u00e9needle".encode(),
    "needle\u00e9 needle\u212a".encode(),
    "\u00e9 needle \u00e9".encode(),
    b"\xffneedle",
    b"needle\xff",
    b"\xe2\x82needle",
    b"needle\xe2\x82",
    "\u00f1-needle-\u00f1".encode(),
    b"needleneedle needle",
    b"123456",
    b"12345",
    b"a12345 x",
    b"12345b",
    b"1234567 12345",
    "\u066312345".encode(),
    "12345\u0663".encode(),
    b"0123456789 98765-43210",
    "na\u00efve na\u00efvet\u00e9 x".encode(),
    "na\u00efve".encode(),
    b"e n e n",
    b"",
    b"last needle 54321",
]
TEXT = b"\n".join(LINES)
# many lines holding the piece (the find loop runs past its dense point: no handover)
DENSE = TEXT + b"\n" + b"\n".join(LINES[i % len(LINES)] + b" %d" % i for i in range(3000))

CASES = [
    ["-w", "needle"],
    ["-c", "-w", "needle"],
    ["-n", "-w", "needle"],
    ["-v", "-w", "needle"],
    ["-H", "-n", "-v", "-w", "needle"],
    ["-o", "-w", "needle"],
    ["-w", "-E", "[0-9]{5}"],
    ["-c", "-w", "-E", "[0-9]{5}"],
    ["-n", "-w", "-E", "[0-9][0-9]"],
    ["-w", "-F", "e n"],
    ["-w", "-F", "na\u00efve"],
    ["-c", "-w", "-F", "\u00e9"],
    ["-l", "-w", "needle"],
    ["-L", "-w", "-E", "[0-9]{9}"],
    ["-w", "-F", "-e", "needle", "-e", "x"],  # a string per pattern: not this path
]


def test_word_counter_applies() -> None:
    def counter(argv: list[str]) -> LineCounter | None:
        body, _ = line_body(parse_args([*argv, "f"], io.BytesIO(), False))
        assert body is not None
        return word_counter(body)

    lit = counter(["-w", "needle"])
    assert lit is not None and lit.lit == b"needle" and lit.table is None and lit.bulk is None
    cls = counter(["-w", "-E", "[0-9]{5}"])
    assert cls is not None and cls.table is not None and len(cls.lit or b"") == 5
    assert counter(["-w", "-E", "[a-z]+ing"]) is None  # not a string of classes
    assert counter(["-x", "needle"]) is None  # not -w
    assert counter(["needle"]) is None
    assert counter(["-w", "-i", "strasse"]) is None  # s folds to U+017F: not ASCII


def test_word_check_edges() -> None:
    body, _ = line_body(parse_args(["-w", "-E", "[0-9]{5}", "f"], io.BytesIO(), False))
    assert body is not None
    counter = word_counter(body)
    assert counter is not None
    # overlapping runs: 123456 has none with edges; the second run of 1234567 12345 has
    assert counter.count(b"123456\n") == 0
    assert counter.count(b"1234567 12345\n") == 1
    assert counter.count("\u066312345\n12345\u0663\n".encode()) == 0  # Arabic digits are words
    assert counter.count(b"\xff12345\xfe\n") == 1  # bytes not UTF-8 are not words


@needs_grep
@pytest.mark.parametrize("data", [TEXT, DENSE], ids=["sparse", "dense"])
@pytest.mark.parametrize("chunk", [1, 3, 16, 1 << 19])
@pytest.mark.parametrize("argv", CASES, ids=" ".join)
def test_word_agrees_with_gnu_grep(
    argv: list[str], chunk: int, data: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if chunk < 16 and data is DENSE:
        chunk = 64  # (whole lines of the dense text: fewer reads)
    path = tmp_path / "t.txt"
    path.write_bytes(data)
    agree([*argv, str(path)], monkeypatch, chunk)
