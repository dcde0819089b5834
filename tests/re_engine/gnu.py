"""One grep command run by GNU grep and by ours: what the grep tests compare."""

from __future__ import annotations

import io
import shutil
import subprocess

import pytest

import re_engine.grep.run as g

GREP = shutil.which("grep", path="/usr/bin:/bin")
needs_grep = pytest.mark.skipif(GREP is None, reason="GNU grep (/usr/bin/grep) is not installed")

Run = tuple[int, bytes, str]
"""A command's exit status, standard output and standard error."""


def gnu(argv: list[str], stdin: bytes = b"") -> Run:
    """GNU grep's run of ``argv`` in the C.UTF-8 locale."""
    assert GREP is not None
    done = subprocess.run(
        ["grep", *argv],
        executable=GREP,
        input=stdin,
        capture_output=True,
        env={"LC_ALL": "C.UTF-8"},
        check=False,
    )
    return done.returncode, done.stdout, done.stderr.decode()


def ours(argv: list[str], stdin: bytes = b"") -> Run:
    """Our run of ``argv`` (re_engine.grep.main), in this process."""
    out, err = io.BytesIO(), io.StringIO()
    code = g.main(argv, stdin=io.BytesIO(stdin), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def agree(argv: list[str], monkeypatch: pytest.MonkeyPatch, chunk: int, stdin: bytes = b"") -> None:
    """Assert that ours, reading files ``chunk`` bytes at a time, runs ``argv`` as GNU grep."""
    monkeypatch.setattr(g, "_CHUNK", chunk)
    assert ours(argv, stdin) == gnu(argv, stdin)
