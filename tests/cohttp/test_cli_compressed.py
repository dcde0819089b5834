"""``python -m cohttp serve --gzip`` and ``get --compressed`` / ``--max-filesize`` end to end."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cohttp import cli

ROOT = Path(__file__).resolve().parents[2]
TEXT = "compressible line of text\n" * 2000


@pytest.fixture
def gzip_served(tmp_path: Path) -> Iterator[str]:
    (tmp_path / "page.txt").write_text(TEXT)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cohttp",
            "serve",
            str(tmp_path),
            "--port",
            "0",
            "--gzip",
            "--quiet",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    m = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
    assert m, line
    yield f"http://127.0.0.1:{m.group(1)}"
    proc.terminate()
    proc.wait(timeout=10)


def test_serve_gzip_and_get_compressed(
    gzip_served: str, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    url = gzip_served + "/page.txt"
    out = tmp_path / "out.txt"
    assert cli.main(["get", "--compressed", "-v", "-o", str(out), url]) == 0
    err = capfd.readouterr().err.lower()
    assert "> accept-encoding: " in err and "< content-encoding: " in err
    assert "< vary: accept-encoding" in err
    assert out.read_text() == TEXT
    # without --compressed nothing is asked for, and the file comes as it is
    assert cli.main(["get", "-v", "-o", str(out), url]) == 0
    err = capfd.readouterr().err.lower()
    assert "content-encoding" not in err and out.read_text() == TEXT
    # the decoded size is what --max-filesize limits: one line, curl's code 63
    assert cli.main(["get", "--compressed", "--max-filesize", "1000", "-o", str(out), url]) == 63
    lines = capfd.readouterr().err.splitlines()
    assert lines == ["cohttp get: (63) the decoded body exceeds the limit of 1000 bytes"]


def test_max_filesize_is_a_byte_count(capfd: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["get", "--max-filesize", "1e9", "http://127.0.0.1:9/"])
    assert exit_info.value.code == 2
    assert "expected a number of bytes" in capfd.readouterr().err
