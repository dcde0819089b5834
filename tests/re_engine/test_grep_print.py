"""grep printing lines (and -n, -o, context) chunk by chunk: as GNU grep, whatever the chunk size."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import re_engine.grep.run as g
from re_engine.grep import main

from . import test_re_grep as differential
from .gnu import agree, gnu, needs_grep, ours

TEXT = (
    "hello world\n"
    "foo 12345 bar 67890\n"
    "na\u00efve needle \u00e9t\u00e9 needle\n"
    "\n"
    "zebra needle\n"
    "x" * 40 + " needle 424242 long line\n" + "Kelvin \u212aelvin 11111\n"
).encode() + b"bad \xff needle 99999\nneedle \xe2\x82 ok\nlast needle 55555"

# one per way lines are found: a string and a string of classes (bytes.find),
# re on the bytes, re_engine on lines holding a piece, re_engine on the text
PRINTED = [
    ["needle"],
    ["-n", "needle"],
    ["-o", "needle"],
    ["-n", "-o", "-E", "[0-9]{5}"],
    ["-E", "[0-9]{5}"],
    ["-n", "-E", "[0-9]{2,4} "],
    ["-o", "-E", "[0-9]{2,4}"],
    ["-n", "-w", "needle"],
    ["-o", "-E", "n[a-z\u00e9]*dle"],
    ["-n", "-E", "x*"],
    ["-o", "-i", "NEEDLE"],
    ["-n", "-v", "needle"],
    ["-v", "needle"],
    ["-n", "-E", "needle|99999|ok"],  # strings one at a time, lines holding several
    ["-H", "-v", "-E", "zebra|na\u00efve"],
    ["-v", "-E", "[0-9]{5}"],
    ["-H", "-v", "-w", "needle"],
    ["-o", "-v", "needle"],
    ["-A", "1", "-n", "zebra"],
    ["-C", "1", "-n", "-E", "[0-9]{5}"],  # runs of matching lines across chunk edges
    ["-B", "2", "-E", "[0-9]{5}"],
    ["-C", "1", "-o", "needle"],
    ["-a", "-n", "needle"],
    ["-a", "-o", "-E", "ne+dle [^ ]+"],
    ["-H", "--color=always", "-E", "needle|[0-9]{5}"],
]


@needs_grep
@pytest.mark.parametrize("chunk", [1, 3, 16, 1 << 19])
@pytest.mark.parametrize("argv", PRINTED, ids=" ".join)
def test_printing_at_any_chunk_size(
    argv: list[str], chunk: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # lines cut at chunk edges, lines longer than a chunk, a last line without
    # its newline, lines held back (not UTF-8): the same as GNU grep
    path = tmp_path / "t.txt"
    path.write_bytes(TEXT)
    agree([*argv, str(path)], monkeypatch, chunk)


@needs_grep
@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.data(), st.sampled_from([1, 2, 3, 5, 8, 13]))
def test_agrees_with_gnu_grep_at_small_chunks(data: st.DataObject, chunk: int) -> None:
    # the generated trees, patterns and options of test_re_grep, each file cut
    # into chunks of a few bytes
    saved = g._CHUNK
    g._CHUNK = chunk
    try:
        differential.test_agrees_with_gnu_grep.hypothesis.inner_test(data)  # type: ignore[attr-defined]
    finally:
        g._CHUNK = saved


def test_terminal_gets_a_line_at_a_time(tmp_path: Path) -> None:
    class Tty(io.BytesIO):
        writes = 0

        def isatty(self) -> bool:
            return True

        def write(self, b: bytes) -> int:  # type: ignore[override]
            self.writes += 1
            return super().write(b)

    path = tmp_path / "t.txt"
    path.write_bytes(b"a 12345\nb\nc 12345 67890\n")
    cases = ((["-E", "[0-9]{5}"], 2), (["-o", "-E", "[0-9]{5}"], 3), (["-v", "c"], 2))
    for argv, lines in cases:
        out = Tty()
        assert main([*argv, str(path)], stdout=out, stderr=io.StringIO()) == 0
        assert out.writes == lines == out.getvalue().count(b"\n")


@pytest.mark.parametrize(
    "argv",
    [
        ["-n", "-E", "[0-9]{5}"],  # re on the bytes
        ["-o", "-n", "-E", "[0-9]{5}"],  # occurrences of a class string
        ["-n", "-w", "-E", "[0-9]+y"],  # re_engine on the lines holding a piece
        ["-o", "-E", "[0-9]+y"],  # re_engine over each chunk's text
        ["-n", "-E", "zz|9y c|12345y"],  # strings one at a time
        ["-n", "-E", "9y|ab"],  # lines holding both: the whole pattern
    ],
)
def test_printing_is_linear(
    argv: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # n vs 4n bytes of lines that all match, and one line longer than many
    # chunks: about 4x the CPU time (quadratic would be 16x)
    monkeypatch.setattr(g, "_CHUNK", 1 << 12)

    def run(n: int) -> float:
        path = tmp_path / f"{n}.txt"
        line = b"ab 123456789y cd\n"
        path.write_bytes(line * (n // len(line)) + b"x" * n + b" 12345y\n")
        out = io.BytesIO()
        t0 = time.process_time()
        assert main([*argv, str(path)], stdout=out, stderr=io.StringIO()) == 0
        assert out.getvalue().count(b"\n") >= n // len(line)
        return time.process_time() - t0

    run(1000)  # warm the caches
    t1 = min(run(50_000) for _ in range(2))
    t4 = min(run(200_000) for _ in range(2))
    assert t4 < 8 * t1 + 0.02, (t1, t4)


@needs_grep
@pytest.mark.parametrize("argv", [["needle"], ["-v", "x"], ["-n", "needle"]], ids=" ".join)
def test_many_wide_lines_then_a_held_one(argv: list[str], tmp_path: Path) -> None:
    # past a few dozen selected lines outside ASCII the chunk is checked at
    # once: a line that is not UTF-8 after them is still held back, the rest printed
    wide = b"".join("\u00e9t\u00e9 needle %d\n".encode() % i for i in range(100))
    for data in (wide + b"bad \xff needle\n" + wide, wide + wide):
        path = tmp_path / "t.txt"
        path.write_bytes(data)
        assert ours([*argv, str(path)]) == gnu([*argv, str(path)])


@needs_grep
@pytest.mark.parametrize("chunk", [3, 16, 1 << 19])
@pytest.mark.parametrize(
    "argv", [["needle"], ["-n", "-E", "[0-9]{5}"], ["-v", "x"], ["-a", "needle"], ["-c", "needle"]]
)
def test_nul_past_the_first_chunks(
    argv: list[str], chunk: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a file read a chunk at a time is first searched for a NUL (one pass):
    # one after many chunks still makes it binary, as in GNU grep (which
    # reads a file this small at once); -a prints it as it is
    path = tmp_path / "t.bin"
    path.write_bytes(TEXT + b"\n" + b"hay 12345\n" * 50 + b"needle\0x\n")
    agree([*argv, str(path)], monkeypatch, chunk)


@needs_grep
@pytest.mark.parametrize("chunk", [3, 1 << 19])
@pytest.mark.parametrize("argv", [["needle"], ["-n", "-v", "needle"], ["-o", "-E", "[0-9]{5}"]])
def test_standard_input_printed(
    argv: list[str], chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # standard input is read whole, then searched in chunks as a file is
    agree(argv, monkeypatch, chunk, stdin=TEXT)


@needs_grep
@pytest.mark.parametrize("hold", [1, 40, 1 << 23])
@pytest.mark.parametrize("argv", [["needle"], ["-n", "-E", "[0-9]{5}"], ["-o", "needle"]])
def test_output_held_until_known_free_of_nul(
    argv: list[str], hold: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a file printed a chunk at a time: its output is held until no NUL can
    # follow (the rest checked when it outgrows the hold); a NUL found drops
    # that file's output only, the lines of the files before it stay
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    a.write_bytes(TEXT)
    b.write_bytes(b"needle 12345\n" * 40 + b"x\0y\n" + b"needle 12345\n" * 5)
    c.write_bytes(b"needle 12345\n" * 40)
    monkeypatch.setattr(g, "_BLOCK", 16)
    monkeypatch.setattr(g, "_HOLD", hold)
    agree([*argv, *(str(p) for p in (a, b, c))], monkeypatch, 64)


@needs_grep
@pytest.mark.parametrize("argv", [["-n", "needle"], ["-H", "-E", "[0-9]{5}"], ["-n", "-v", "x"]])
def test_names_with_percent_signs(argv: list[str], tmp_path: Path) -> None:
    # a name is a head before each line, not a format
    a, b = tmp_path / "a%sb%d", tmp_path / "%%"
    a.write_bytes(TEXT)
    b.write_bytes(b"x needle 12345\n")
    assert ours([*argv, str(a), str(b)]) == gnu([*argv, str(a), str(b)])
