"""The grep CLI: options GNU grep lacks, and mistakes reported in one line."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from re_engine.__main__ import main as entry
from re_engine.grep import main


def grep(*argv: str, stdin: bytes = b"") -> tuple[int, str, str]:
    out, err = io.BytesIO(), io.StringIO()
    rc = main(list(argv), stdin=io.BytesIO(stdin), stdout=out, stderr=err)
    return rc, out.getvalue().decode(), err.getvalue()


def test_matchers_and_syntaxes(tmp_path: Path) -> None:
    f = tmp_path / "a.txt"
    f.write_text("alpha 1\nBeta 22\ngamma\n")
    assert grep("-P", r"\d+", str(f)) == (0, "alpha 1\nBeta 22\n", "")
    assert grep("-o", "-n", "-E", "[0-9]+", str(f)) == (0, "1:1\n2:22\n", "")
    assert grep("-c", "-i", "-e", "beta", "-e", "GAMMA", str(f)) == (0, "2\n", "")
    assert grep("--syntax", "posix", "[[:alpha:]]+a$", str(f)) == (0, "gamma\n", "")
    assert grep("--syntax", "glob", "B*", str(f)) == (0, "Beta 22\n", "")
    assert grep("-F", "a 1", str(f)) == (0, "alpha 1\n", "")
    assert grep("zzz", str(f))[0] == 1
    assert grep("-", stdin=b"a-b\nab\n") == (0, "a-b\n", "")  # "-" is a pattern here


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-E", "(a"], "grep: unmatched ( at position 0\n"),
        (["-P", "(?<=a)b"], "grep: lookaround assertion is not supported at position 0\n"),
        (["-P", "-e", "a", "-e", "b"], "grep: the -P option only supports a single pattern\n"),
        (["-k", "a"], "grep: unrecognized arguments: -k\n"),
        (["-A", "x", "a"], "grep: argument -A/--after-context: x: invalid context length"),
        (["-A", "²", "a"], "grep: argument -A/--after-context: ²: invalid context length"),
        (["-f", "/nonexistent/pats"], "grep: /nonexistent/pats: No such file or directory\n"),
        (["--color=sometimes", "a"], "grep: invalid argument 'sometimes' for '--color'\n"),
        ([], "grep: no pattern given"),
        (["-e"], "grep: option requires an argument -- 'e'\n"),
    ],
)
def test_mistakes_print_one_line_and_exit_2(argv: list[str], message: str) -> None:
    rc, out, err = grep(*argv)
    assert rc == 2 and out == ""
    assert err.startswith(message) and err.count("\n") == 1, err


def test_file_errors_exit_2_even_after_a_match(tmp_path: Path) -> None:
    f = tmp_path / "a.txt"
    f.write_text("hit\n")
    rc, out, err = grep("hit", str(f), str(tmp_path / "missing"), str(tmp_path))
    assert (rc, out) == (2, f"{f}:hit\n")
    assert err.splitlines() == [
        f"grep: {tmp_path / 'missing'}: No such file or directory",
        f"grep: {tmp_path}: Is a directory",
    ]
    assert grep("-s", "hit", str(f), str(tmp_path / "missing")) == (2, f"{f}:hit\n", "")
    assert grep("-q", "hit", str(tmp_path / "missing"), str(f))[0] == 0


def test_module_entry_point(tmp_path: Path) -> None:
    f = tmp_path / "a.txt"
    f.write_bytes(b"one\ntwo\n")
    run = subprocess.run(
        [sys.executable, "-m", "re_engine", "grep", "-n", "t.o", str(f)],
        capture_output=True,
        timeout=60,
    )
    assert (run.returncode, run.stdout, run.stderr) == (0, b"2:two\n", b"")
    bad = subprocess.run(
        [sys.executable, "-m", "re_engine", "grep", "-E", "a{2,1}", str(f)],
        capture_output=True,
        timeout=60,
    )
    assert bad.returncode == 2 and bad.stdout == b"" and bad.stderr.count(b"\n") == 1
    assert b"Traceback" not in bad.stderr
    assert entry(["frobnicate"]) == 2


def test_recursion_survives_loops_and_depth(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f").write_text("hit\n")
    (tmp_path / "d" / "up").symlink_to("..")
    deep = tmp_path / "deep"
    p = deep
    chain = [p]
    p.mkdir()
    for _ in range(1200):  # deeper than Python's recursion limit
        p = p / "x"
        p.mkdir()
        chain.append(p)
    (p / "g").write_text("hit\n")
    try:
        rc, out, err = grep("-R", "-c", "hit", str(tmp_path))
        assert rc == 0
        assert out.splitlines() == [f"{tmp_path / 'd' / 'f'}:1", f"{p / 'g'}:1"]
        assert err == f"grep: {tmp_path / 'd' / 'up'}: warning: recursive directory loop\n"
        rc, out, err = grep("-r", "-l", "hit", str(tmp_path))  # -r skips links found inside
        assert (rc, err) == (0, "") and len(out.splitlines()) == 2
    finally:
        # pytest removes old temporary directories with a recursive rmtree, which fails on
        # a chain this deep (RecursionError): take it down bottom-up here
        (p / "g").unlink()
        for directory in reversed(chain):
            directory.rmdir()
