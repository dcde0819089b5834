"""``python -m re_engine grep`` against GNU grep: generated trees, patterns and options."""

from __future__ import annotations

import contextlib
import io
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from re_engine.grep import main

GREP = shutil.which("grep", path="/usr/bin:/bin")
pytestmark = pytest.mark.skipif(GREP is None, reason="GNU grep (/usr/bin/grep) is not installed")

# patterns whose meaning GNU grep and re_engine share, per matcher (bracket
# classes such as [:upper:] are ASCII in re_engine, Unicode in GNU's UTF-8
# locale: they appear only where no non-ASCII letter can decide)
PATTERNS = {
    "-G": [
        "foo",
        "f.o",
        "^foo",
        "bar$",
        "[fb]oo",
        "o*",
        "x_[0-9]",
        r"\(fo\)\{1,2\}",
        r"a\|b",
        r"Fo\+",
        "",
        "é",
        r"[[:digit:]]\+",
        r"\<bar",
        r"\w\+",
        r"o\?r",
        "^$",
    ],
    "-E": [
        "foo|bar",
        "(fo)+",
        "o{2}",
        "^$",
        "b?ar",
        "[[:alpha:]]_",
        r"\bfoo\b",
        "x_[0-9]+",
        ".",
        "é|ü",
        "(a|b)*c?",
        "r$|^F",
    ],
    "-P": ["fo+", r"\d+", "(?i)bar", r"\bx_\w", "o|oo", "a b", "^.{3}$", r"\s", "(?:ba|fo)o?"],
    "-F": ["foo", "a b", "o", "", "Foo", "x_1", "é", "oo"],
}
WORDS = ["foo", "bar", "Foo", "a b", "x_1", "é", "42", "", "oo", "barfoo", "ü c", "ab"]
FLAGS = ["-i", "-v", "-w", "-x", "-c", "-l", "-L", "-n", "-h", "-H", "-o", "-q", "-s", "-a"]


@st.composite
def files(draw: st.DrawFn) -> bytes:
    lines = draw(st.lists(st.lists(st.sampled_from(WORDS), max_size=3), max_size=8))
    text = "\n".join(" ".join(ws) for ws in lines).encode()
    if text and draw(st.booleans()):
        text += b"\n"
    extra = draw(st.sampled_from([b"", b"", b"", b"\0", b"\xff"]))
    if extra and text:
        at = draw(st.integers(0, len(text)))
        text = text[:at] + extra + text[at:]
    return text


@st.composite
def trees(draw: st.DrawFn) -> dict[str, bytes]:
    names = draw(
        st.lists(
            st.sampled_from(["a.txt", "b.log", "d/c.txt", "d/e/f.txt", "g"]),
            min_size=1,
            max_size=4,
            unique=True,
        )
    )
    return {n: draw(files()) for n in names}


@st.composite
def commands(draw: st.DrawFn, tree: dict[str, bytes]) -> list[str]:
    matcher = draw(st.sampled_from(sorted(PATTERNS)))
    argv = [matcher]
    pats = draw(
        st.lists(
            st.sampled_from(PATTERNS[matcher]), min_size=1, max_size=1 if matcher == "-P" else 3
        )
    )
    argv += draw(st.lists(st.sampled_from(FLAGS), max_size=4, unique=True))
    ctx = draw(st.sampled_from([[], [], ["-A", "1"], ["-B", "2"], ["-C", "1"], ["-A0"]]))
    argv += ctx
    argv += draw(st.sampled_from([[], [], ["--color=always"], ["--color=never"]]))
    how = draw(st.sampled_from(["arg", "-e", "-f"]))
    if how == "arg" and len(pats) == 1:
        argv.append(pats[0])
    elif how == "-f":
        argv += ["-f", PATTERN_FILE + "\n".join(pats)]  # written by the test
    else:
        for p in pats:
            argv += ["-e", p]
    recursive = draw(st.booleans())
    if recursive:
        argv.append(draw(st.sampled_from(["-r", "-R"])))
        argv += draw(
            st.sampled_from(
                [[], ["--include=*.txt"], ["--exclude=*.log"], ["--exclude=c*", "--include=*.txt"]]
            )
        )
        argv += draw(st.sampled_from([[], ["."], ["d"], ["a.txt", "d"]]))
    else:
        names = [*sorted(tree), "missing", "-"]
        argv += draw(st.lists(st.sampled_from(names), min_size=1, max_size=3))
    return argv


PATTERN_FILE = "@patterns:"


def run_both(
    root: Path, argv: list[str], stdin: bytes
) -> tuple[tuple[int, bytes, str], tuple[int, bytes, str]]:
    assert GREP is not None
    for i, a in enumerate(argv):
        if a.startswith(PATTERN_FILE):
            path = root.parent / "patterns"
            path.write_text(a[len(PATTERN_FILE) :] + "\n")
            argv = [*argv[:i], str(path), *argv[i + 1 :]]
    env = {"LC_ALL": "C.UTF-8", "PATH": "/usr/bin:/bin"}
    gnu = subprocess.run(
        ["grep", *argv],
        executable=GREP,
        cwd=root,
        env=env,
        input=stdin,
        capture_output=True,
        timeout=10,
    )
    out, err = io.BytesIO(), io.StringIO()
    with contextlib.chdir(root):
        rc = main(argv, stdin=io.BytesIO(stdin), stdout=out, stderr=err)
    return (gnu.returncode, gnu.stdout, gnu.stderr.decode()), (rc, out.getvalue(), err.getvalue())


SEPARATORS = (b"--", b"\33[36m\33[K--\33[m\33[K")


def binary_notes(err: str) -> list[str]:
    return sorted(line for line in err.splitlines() if line.endswith("binary file matches"))


@settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_agrees_with_gnu_grep(data: st.DataObject) -> None:
    tree = data.draw(trees())
    argv = data.draw(commands(tree))
    stdin = data.draw(files())
    # GNU quirk left alone: with -x, the match on a last line that lacks its
    # newline takes the newline GNU supplies (-o prints it, color wraps it)
    unterminated = any(t and not t.endswith(b"\n") for t in [*tree.values(), stdin])
    assume(not ("-x" in argv and ("-o" in argv or "--color=always" in argv) and unterminated))
    # and another: where a line held back as binary meets context lines, GNU
    # takes its buffer's start as the last output, and an unterminated last
    # line is searched in a buffer of its own
    # GNU grep before 3.10 runs -P without PCRE2_UCP: its -w word characters
    # are ASCII there, Unicode in ours (and in later GNU greps)
    assume(not ("-P" in argv and "-w" in argv))
    # GNU grep 3.8 with -o, -w and -x together prints an empty line after each match
    # (`grep -Eowx 'foo|bar'` on "foo" gives "foo\n\n"); its manual says -w has no effect
    # under -x, which is what ours does
    assume(not ("-o" in argv and "-w" in argv and "-x" in argv))
    context = any(a.startswith(("-A", "-B", "-C")) for a in argv)
    held = any(b"\xff" in t and not t.endswith(b"\n") for t in [*tree.values(), stdin])
    assume(not (context and held))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "tree"
        root.mkdir()
        for name, content in tree.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_bytes(content)
        (rc_g, out_g, err_g), (rc_o, out_o, err_o) = run_both(root, argv, stdin)
    assert rc_o == rc_g, (argv, err_g, err_o)
    if "-r" in argv or "-R" in argv:
        # GNU lists a directory in readdir order, re_engine in name order: the
        # same lines, but the -- between files may fall elsewhere
        def lines(out: bytes) -> list[bytes]:
            return sorted(x for x in out.split(b"\n") if x not in SEPARATORS)

        assert lines(out_o) == lines(out_g), argv
    else:
        assert out_o == out_g, argv
    assert binary_notes(err_o) == binary_notes(err_g), argv
    assert bool(err_o) == bool(err_g), (argv, err_g, err_o)


def test_only_matching_words_after_an_empty_match() -> None:
    """-o -w: an empty match may end past a space the next word needs (GNU: both words)."""
    out, err = io.BytesIO(), io.StringIO()
    argv = ["-n", "-o", "-w", "-e", "foo", "-e", "o*", "-"]
    rc = main(argv, stdin=io.BytesIO(b"foo  foo\n"), stdout=out, stderr=err)
    assert (rc, out.getvalue()) == (0, b"1:foo\n1:foo\n")  # what GNU grep 3.8 prints
