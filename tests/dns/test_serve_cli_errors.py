"""``python -m dns serve`` and ``check``: each mistake a user can make gets one line naming
it and a non-zero status, never a traceback (2 for a bad command line, as argparse's; 1 for
a zone that cannot be loaded or an address that cannot be served on)."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from dns.__main__ import main as cli
from tests.dns.test_server_answers import DIFF_ZONE
from tests.peers import free_port


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """``python -m dns ARGV`` in this process: (exit status, what it wrote to stderr)."""
    try:
        status = cli(argv)
    except SystemExit as exc:  # argparse's way out
        status = exc.code if isinstance(exc.code, int) else 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return status, err


@pytest.fixture
def zone(tmp_path: Path) -> Path:
    path = tmp_path / "diff.test.zone"
    path.write_text(DIFF_ZONE)
    return path


@pytest.fixture(params=["udp", "tcp"])
def taken_port(request: pytest.FixtureRequest) -> Iterator[int]:
    """A loopback port some other program holds, over UDP or over TCP only."""
    port = free_port()
    if request.param == "udp":
        holder = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        holder.bind(("127.0.0.1", port))
    else:
        holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        holder.bind(("127.0.0.1", port))
        holder.listen()
    with holder:
        yield port


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_port_in_use(
    zone: Path, taken_port: int, backend: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, err = run(["serve", str(zone), "--port", str(taken_port), "--backend", backend], capsys)
    assert status == 1
    assert err == (
        f"error: cannot listen on 127.0.0.1 port {taken_port}: the port is in use (UDP or TCP)\n"
    )


def test_an_address_that_is_not_ours(zone: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, err = run(["serve", str(zone), "--host", "192.0.2.1", "--port", "0"], capsys)
    assert status == 1
    assert err == "error: cannot listen on 192.0.2.1 port 0: not an address of this host\n"


@pytest.mark.parametrize("port", ["65536", "70000", "-1", "\u00b2", "1" * 5000, "0x35", ""])
def test_a_port_that_is_not_one(zone: Path, port: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, err = run(["serve", str(zone), "--port", port], capsys)
    assert status == 2
    assert err.count("\n") == 1
    assert err.startswith("python -m dns serve: error: argument --port: ")
    assert "is not a port number (0 to 65535)" in err


@pytest.mark.parametrize(
    ("option", "value", "problem"),
    [
        ("--allow-axfr", "10.0.0.0/99", "does not appear to be an IPv4 or IPv6 network"),
        ("--notify", "127.0.0.1:99999", "not HOST[:PORT] with a port 1 to 65535"),
        ("--notify", "[::1]:x", "not HOST[:PORT] with a port"),
        ("--notify", ":53", "names no host"),
        ("--tcp-idle", "nan", "is not a positive number of seconds"),
        ("--tcp-idle", "-1", "is not a positive number of seconds"),
        ("--backend", "nope", "invalid choice: 'nope'"),
        ("--bogus", "1", "unrecognized arguments: --bogus"),
    ],
)
def test_bad_options(
    zone: Path, option: str, value: str, problem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, err = run(["serve", str(zone), option, value], capsys)
    assert status == 2
    assert err.count("\n") == 1 and problem in err, err


@pytest.mark.parametrize("origin", ["a..b", "x" * 64 + ".test"])
def test_check_with_an_origin_that_is_not_a_name(
    zone: Path, origin: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, err = run(["check", str(zone), "--origin", origin], capsys)
    assert status == 2
    assert err.count("\n") == 1 and f"argument --origin: {origin!r} is not a domain name" in err


def test_a_missing_zone_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.zone"
    for command in ("serve", "check"):
        status, err = run([command, str(missing)], capsys)
        assert status == 1
        assert err == f"error: {missing}: No such file or directory\n"


def test_a_zone_file_that_cannot_be_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, err = run(["serve", str(tmp_path)], capsys)
    assert (status, err) == (1, f"error: {tmp_path}: Is a directory\n")
    binary = tmp_path / "binary.zone"
    binary.write_bytes(b"\xff\xfe\x00zone")
    status, err = run(["serve", str(binary)], capsys)
    assert status == 1 and err.startswith(f"error: {binary}: not UTF-8")
    if os.geteuid() == 0:
        return  # root reads files whatever their mode
    locked = tmp_path / "locked.zone"
    locked.write_text(DIFF_ZONE)
    locked.chmod(0)
    status, err = run(["serve", str(locked)], capsys)
    assert (status, err) == (1, f"error: {locked}: Permission denied\n")


def test_a_zone_that_does_not_load_names_file_and_line(
    zone: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    zone.write_text(DIFF_ZONE + "broken IN A 1.2.3\n")
    line = len(DIFF_ZONE.splitlines()) + 1
    status, err = run(["serve", str(zone), "--port", "0"], capsys)
    assert status == 1
    assert err.startswith(f"error: {zone}:{line}: ") and err.count("\n") == 1, err
