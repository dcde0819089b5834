"""grep's output: held in blocks (lines at a time to a terminal), in order with its messages."""

from __future__ import annotations

import io
from pathlib import Path

from re_engine.grep import main
from re_engine.grep.run import _has_raw


class Stream(io.BytesIO):
    """A standard output that logs its writes, as a terminal or not."""

    def __init__(self, log: list[tuple[str, bytes]], tty: bool) -> None:
        super().__init__()
        self.log = log
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty

    def write(self, b: bytes) -> int:  # type: ignore[override]
        self.log.append(("out", bytes(b)))
        return super().write(b)


class Err(io.StringIO):
    def __init__(self, log: list[tuple[str, bytes]]) -> None:
        super().__init__()
        self.log = log

    def write(self, s: str) -> int:
        self.log.append(("err", s.encode()))
        return super().write(s)


def test_output_in_blocks_not_to_a_terminal(tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    path.write_bytes(b"".join(b"needle %d\n" % i for i in range(5000)))
    for tty in (False, True):
        log: list[tuple[str, bytes]] = []
        out = Stream(log, tty)
        assert main(["needle", str(path)], stdout=out, stderr=io.StringIO()) == 0
        assert out.getvalue() == path.read_bytes()
        if tty:  # a line at a time
            assert len(log) == 5000
        else:  # blocks of 64 KiB (the 50 KB here: one)
            assert len(log) == 1


def test_messages_follow_the_lines_before_them(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"needle a\n")
    (tmp_path / "b").write_bytes(b"needle\xff b\n")  # held back: binary file matches
    (tmp_path / "c").write_bytes(b"needle c\n")
    log: list[tuple[str, bytes]] = []
    names = [str(tmp_path / n) for n in ("a", "missing", "b", "c")]
    code = main(["needle", *names], stdout=Stream(log, False), stderr=Err(log))
    assert code == 2
    kinds = [k for k, _ in log]
    text = b"".join(b for _, b in log).decode()
    assert kinds == ["out", "err", "err", "out"]
    assert text.index("needle a") < text.index("missing") < text.index("binary") < text.index("c:")


def test_has_raw() -> None:
    assert not _has_raw("plain") and not _has_raw("na\u00efve \U0001f600")
    assert _has_raw(b"bad \xff".decode("utf-8", "surrogateescape"))
