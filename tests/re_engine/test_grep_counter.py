"""grep -c/-l/-L/-q count lines on the bytes (re_engine.grep.line_counter): as GNU grep, as the lines path."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

import re_engine.grep.lines as grep_lines
import re_engine.grep.run as g
from re_engine import ast as R
from re_engine.grep import build, line_body, line_counter, main, parse_args, word_counter
from re_engine.prog import resolve

from .gnu import GREP, gnu, needs_grep, ours

TEXT = (
    (
        "hello world\n"
        "foo 12345 bar\n"
        "Kelvin \u212aelvin\n"
        "na\u00efve x\n"
        "STRASSE stra\u00dfe \u017ftrasse\n"
        "\n"
        "zebra needle\n"
        "needle\n"
        "ne\u00e9dle 999999\n"
    ).encode()
    + b"bad \xff needle \xe2\x82\n"
    + b"no newline at the end: needle"
)

CASES = [
    ["-c", "needle"],
    ["-c", "-v", "needle"],
    ["-c", "-E", "[0-9]{5}"],
    ["-c", "-E", "[0-9]{2,4} "],
    ["-c", "-E", "[0-9]{3}[0-9] "],
    ["-c", "-E", "[a-z]e[a-z]{2}le"],
    ["-c", "-E", "[0-9][0-9][0-9]|x"],
    ["-c", "-v", "-E", "o[a-z]"],
    ["-c", "-i", "kelvin"],
    ["-c", "-i", "strasse"],
    ["-c", "-E", "deterministic|na\u00efve|zebra"],
    # strings searched one at a time: lines holding two, the last line with no newline
    ["-c", "-E", "needle|zebra|999"],
    ["-c", "-v", "-E", "end|hello"],
    ["-c", "-F", "-e", "needle", "-e", "needl", "-e", "eedle"],
    ["-c", "-x", "needle"],
    ["-c", "-i", "-E", "n[e-f]edle"],
    ["-c", "-E", "^(foo|zebra)"],
    ["-c", "-E", "e$"],
    ["-c", "-F", "na\u00efve"],
    ["-c", "-F", "-e", "hello", "-e", "999"],
    ["-c", "-P", "n[e\u00e9]{1,3}dle"],
    ["-l", "needle"],
    ["-L", "needle"],
    ["-q", "zebra"],
    ["-q", "absent"],
    ["-c", "absent"],
]


def _lines_path(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> tuple[int, bytes, str]:
    """Our run of ``argv`` through the lines path: the pattern compiled, no counter."""
    with monkeypatch.context() as m:
        m.setattr(g, "line_counter", lambda body, pattern=None: None)
        m.setattr(g, "word_counter", lambda body: None)
        return ours(argv)


@pytest.mark.parametrize("argv", CASES, ids=" ".join)
def test_counter_agrees_with_lines_path(
    argv: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "t.txt"
    path.write_bytes(TEXT)
    opts = parse_args([*argv, str(path)], io.BytesIO(), False)
    body, _ = line_body(opts)
    assert body is not None and line_counter(body) is not None, "the byte path applies"
    assert ours([*argv, str(path)]) == _lines_path([*argv, str(path)], monkeypatch)


@needs_grep
@pytest.mark.parametrize("argv", CASES, ids=" ".join)
def test_counter_agrees_with_gnu_grep(argv: list[str], tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    path.write_bytes(TEXT)
    assert ours([*argv, str(path)]) == gnu([*argv, str(path)])


@pytest.mark.parametrize(
    "node",
    [
        R.rep(R.char("a")),  # nullable
        R.seq(R.char("a"), R.rep1(R.char("b"))),  # unbounded
        R.seq(R.char("a"), R.word_boundary),  # an assertion re cannot say on bytes
        R.seq(R.char("a"), R.any),  # a set with too many characters outside ASCII
    ],
)
def test_counter_refused(node: R.Re) -> None:
    assert line_counter(node) is None


def test_counter_refuses_many_paths() -> None:
    # (a|ab){1,9}: alternatives multiply past the bound of 256 paths
    branch = R.alt(R.char("a"), R.str_("ab"))
    assert line_counter(R.seq(*[branch] * 9)) is None
    assert line_counter(R.seq(*[branch] * 3)) is not None


def test_class_string_is_a_literal_over_byte_classes() -> None:
    counter = line_counter(R.seq(R.repn(R.rg("0", "9"), 3, 3), R.char("-"), R.rg("a", "z")))
    assert counter is not None and counter.table is not None
    data = "x 123-a\n12-a 1234-b\n\u00e9123-\u00e9\n999-z".encode()
    assert counter.count(data) == 3
    # a set that is more than one part of the bytes: no translation
    split = line_counter(R.seq(R.rg("a", "z"), R.char("b")))
    assert split is not None and split.table is None


def test_alternation_of_strings_searched_one_at_a_time() -> None:
    body = R.alt(R.str_("ab"), R.str_("b"), R.str_("\u00e9t\u00e9"))
    counter = line_counter(body)
    assert counter is not None and counter.lit is None
    data = "ab b\nx\n\u00e9t\u00e9 ab\nb\nab".encode()
    starts, stops = counter.bounds(data)
    assert (list(starts), list(stops)) == ([0, 7, 16, 18], [5, 16, 18, 20])
    assert counter.count(data) == 4 and counter.count(data, 5, 16) == 1
    # lines holding both strings: the stretches after are searched by the
    # whole pattern, the strings tried again later; the same lines either way
    both = line_counter(R.alt(R.str_("ab"), R.str_("b")))
    assert both is not None
    lines = b"ab\nx\nab\n" * 3
    want = ([0, 5, 8, 13, 16, 21], [3, 8, 11, 16, 19, 24])
    strings = both.bulk.__self__  # type: ignore[attr-defined]
    for i in range(2 * grep_lines._RETRY + 2):
        got = both.bounds(lines)
        assert (list(got[0]), list(got[1])) == want, i
        if i in (0, grep_lines._RETRY + 1):  # the strings tried: each line found twice
            assert strings.single == grep_lines._RETRY
        assert both.count(lines) == 6
    # not an alternation of 2 to _MAX_STRINGS strings: one re over the bytes
    assert grep_lines._alt_strings(resolve(R.alt(R.str_("ab"), R.rg("a", "c")), False).core) is None
    many = R.alt(*[R.str_(f"s{i}") for i in range(grep_lines._MAX_STRINGS + 1)])
    assert grep_lines._alt_strings(resolve(many, False).core) is None


def test_sparse_literal_counted_by_find() -> None:
    counter = line_counter(R.str_("needle"))
    assert counter is not None and counter.lit == b"needle" and counter.bulk is not None
    hay = b"hay stack\n" * 20_000
    data = b"needle needle\n" + hay + b"x needle\n" + hay + b"last needle"
    assert data.count(b"needle") * 2000 <= len(data)  # the find loop runs
    assert counter.count(data) == 3 == counter.bulk(data, 0, len(data))
    dense = b"needle\n" * 100
    assert counter.count(dense) == 100


@pytest.mark.parametrize("chunk", [1, 2, 5, 64])
@pytest.mark.parametrize("argv", CASES, ids=" ".join)
def test_counter_streams_chunks(
    argv: list[str], chunk: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # lines cut across chunks, lines longer than a chunk: the same as one chunk
    path = tmp_path / "t.txt"
    path.write_bytes(TEXT + b"\n" + b"x" * 150 + b" needle 12345\n")
    whole = ours([*argv, str(path)])
    monkeypatch.setattr(g, "_CHUNK", chunk)
    assert ours([*argv, str(path)]) == whole == _lines_path([*argv, str(path)], monkeypatch)


@pytest.mark.parametrize("chunk", [1, 3, 1 << 19])
@pytest.mark.parametrize(
    "argv", [["-c", "needle"], ["-c", "-v", "needle"], ["-c", "-a", "needle"], ["-l", "needle"]]
)
def test_counter_streams_nul_lines(
    argv: list[str], chunk: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # as grep: a NUL ends a line of a binary file (not with -a), in any chunk
    path = tmp_path / "b.bin"
    path.write_bytes(b"needle\0needle\0hay\nneedle" + b"\0" * 5 + b"hay\0needle")
    argv = [*argv, str(path)]
    monkeypatch.setattr(g, "_CHUNK", chunk)
    assert ours(argv) == _lines_path(argv, monkeypatch)
    if GREP is not None:
        assert ours(argv) == gnu(argv)


def test_counter_settles_at_first_match() -> None:
    # -q stops reading at the first chunk with a match; -l too, but reads
    # standard input to its end, as grep (a second "-" finds it empty)
    reads: list[int] = []

    class Spy(io.BytesIO):
        def read(self, n: int | None = -1) -> bytes:
            got = super().read(n)
            reads.append(len(got))
            return got

    data = b"needle\n" + b"hay\n" * 400_000
    code = main(["-q", "needle", "-"], stdin=Spy(data), stdout=io.BytesIO(), stderr=io.StringIO())
    assert code == 0 and len(reads) == 1
    out = io.BytesIO()
    code = main(["-l", "needle", "-", "-"], stdin=Spy(data), stdout=out, stderr=io.StringIO())
    assert code == 0 and out.getvalue() == b"(standard input)\n"


# re_engine checks the lines that hold a required piece (no re pattern on the bytes)
ENGINE_CASES = [
    ["-c", "-w", "needle"],
    ["-c", "-v", "-w", "needle"],
    ["-c", "-w", "-E", "[a-z]+dle"],
    ["-c", "-E", "n[a-z\u00e9]*dle"],
    ["-c", "-i", "-w", "STRASSE"],
    ["-c", "-E", "\\bzebra"],
    ["-l", "-w", "needle"],
    ["-L", "-w", "needle"],
    ["-q", "-w", "hello"],
]


def _dense() -> bytes:
    # many lines holding the piece, some matching: the find loop hands over to a bulk count
    rows = [b"needle", b"needles", b"x needle y", b"a needle\xff", b"\xe9needle", b"zebra needle"]
    return TEXT + b"\n" + b"\n".join(rows[i % len(rows)] + b" %d" % i for i in range(3000))


@pytest.mark.parametrize("data", [TEXT, _dense()], ids=["sparse", "dense"])
@pytest.mark.parametrize("argv", ENGINE_CASES, ids=" ".join)
def test_engine_counter(
    argv: list[str], data: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "t.txt"
    path.write_bytes(data)
    opts = parse_args([*argv, str(path)], io.BytesIO(), False)
    body, _ = line_body(opts)
    assert body is not None and line_counter(body) is None
    counter = line_counter(body, build(opts)[0])
    assert counter is not None and counter.check is not None, "lines holding a piece are checked"
    argv = [*argv, str(path)]
    assert ours(argv) == _lines_path(argv, monkeypatch)
    if GREP is not None:
        assert ours(argv) == gnu(argv)


def test_piece_choice() -> None:
    # -i: the longest stretch of ASCII sets (U+017F, long s, folds to s)
    opts = parse_args(["-i", "Regular Expression"], io.BytesIO(), False)
    body, _ = line_body(opts)
    assert body is not None
    counter = line_counter(body)
    assert counter is not None and counter.table is not None and counter.check is not None
    assert len(counter.lit or b"") == len("regular expre")
    data = "REGULAR EXPRE\u017f\u017fION\nregular expressio\nx Regular expression\n".encode()
    assert counter.count(data) == 2
    # a string of one character counts by find, however short
    one = line_counter(R.char("x"))
    assert one is not None and one.lit == b"x" and one.check is None


@pytest.mark.parametrize(
    "argv",
    [
        ["-c", "-E", "(x+x+)+yneedle"],  # re_engine checks each line holding the piece
        ["-c", "-i", "-E", "x{1,9}yneedle"],  # re checks each line holding the piece
        ["-c", "-E", "[x-y]{3}yneedle"],  # a class string: translated
    ],
)
def test_counter_is_linear(
    argv: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # n vs 4n bytes of lines that all hold the piece, and one line longer than
    # many chunks: about 4x the CPU time (quadratic would be 16x)
    import time

    monkeypatch.setattr(g, "_CHUNK", 1 << 12)

    def run(n: int) -> float:
        path = tmp_path / f"{n}.txt"
        line = b"x" * 60 + b"-yneedle\n"
        path.write_bytes(line * (n // len(line)) + b"x" * n + b"-yneedle")
        out = io.BytesIO()
        t0 = time.process_time()
        assert main([*argv, str(path)], stdout=out, stderr=io.StringIO()) == 1
        return time.process_time() - t0

    run(1000)  # warm the caches
    t1 = min(run(200_000) for _ in range(2))
    t4 = min(run(800_000) for _ in range(2))
    assert t4 < 8 * t1 + 0.02, (t1, t4)


@pytest.mark.parametrize(
    "argv", [["needle"], ["-E", "[0-9]{5}"], ["-E", "ne+dle [0-9]{2,3}"], ["-w", "needle"]]
)
def test_density_carries_over_chunks(argv: list[str]) -> None:
    # a stretch that turned out dense has the next searched in bulk at once,
    # until one turns out sparse: the same lines either way
    opts = parse_args([*argv, "f"], io.BytesIO(), False)
    body, _ = line_body(opts)
    assert body is not None
    pattern = build(opts)[0]
    assert pattern is not None
    counter = word_counter(body) or line_counter(body, pattern)
    assert counter is not None
    dense = b"".join(b"needle 12345 %d\n" % i for i in range(300))
    sparse = b"hay\n" * 3000 + b"x needle 54321\n" + b"hay\n" * 3000
    for data in (dense, sparse, dense, sparse, sparse, dense):
        lines = data.split(b"\n")[:-1]
        want = [i for i, line in enumerate(lines) if pattern.search(line.decode()) is not None]
        starts, stops = counter.bounds(data)
        got = [data.count(b"\n", 0, s) for s in starts]
        assert got == want and len(stops) == len(starts)
        assert counter.count(data) == len(want)
