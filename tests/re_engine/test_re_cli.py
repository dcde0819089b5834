"""The grep CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from re_engine.__main__ import main


def test_grep(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "a.txt"
    f.write_text("alpha 1\nBeta 22\ngamma\n")
    assert main(["grep", r"\d+", str(f)]) == 0
    assert capsys.readouterr().out == "alpha 1\nBeta 22\n"
    assert main(["grep", "-o", "-n", r"\d+", str(f)]) == 0
    assert capsys.readouterr().out == "1:1\n2:22\n"
    assert main(["grep", "-c", "-i", "beta|GAMMA", str(f)]) == 0
    assert capsys.readouterr().out == "2\n"
    assert main(["grep", "--syntax", "posix", "[[:alpha:]]+a$", str(f)]) == 0
    assert capsys.readouterr().out == "gamma\n"
    assert main(["grep", "--syntax", "glob", "B*", str(f)]) == 0
    assert capsys.readouterr().out == "Beta 22\n"
    assert main(["grep", "zzz", str(f)]) == 1
    assert main(["grep", "(a", str(f)]) == 2
    assert "position 0" in capsys.readouterr().err
