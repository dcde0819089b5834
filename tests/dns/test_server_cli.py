"""``python -m dns``: serve (with SIGHUP reload), argument errors, and the ``query``
hand-off to the resolver's client."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
import types
from pathlib import Path

import pytest

from dns import wire
from dns.__main__ import main as cli
from tests.dns.test_server_answers import DIFF_ZONE
from tests.peers import free_port

ROOT = str(Path(__file__).resolve().parents[2])


def spawn_serve(
    zone: Path, port: int, backend: str, log: Path, *extra: str
) -> subprocess.Popen[bytes]:
    """Start ``python -m dns serve ZONE --port PORT --backend BACKEND [EXTRA...]`` from the
    repository root, its stderr going to ``log``."""
    argv = [sys.executable, "-m", "dns", "serve", str(zone), "--port", str(port)]
    with open(log, "wb") as err:
        return subprocess.Popen(
            [*argv, "--backend", backend, *extra],
            stdout=subprocess.DEVNULL,
            stderr=err,
            cwd=ROOT,
        )


def www_address(port: int) -> bytes | None:
    q = wire.build_query(wire.name_from_text("www.diff.test."), wire.TYPE_A, msg_id=99)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.2)
        s.sendto(q, ("127.0.0.1", port))
        try:
            msg = wire.Message.parse(s.recv(4096))
        except OSError:
            return None
    return msg.answer[0].rdata if msg.answer else None


def wait_for(port: int, rdata: bytes, timeout: float = 15) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if www_address(port) == rdata:
            return
        time.sleep(0.05)
    raise AssertionError(f"www.diff.test. never became {rdata!r}")


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_serve_reloads_on_sighup(tmp_path: Path, backend: str) -> None:
    zone = tmp_path / "diff.test.zone"
    zone.write_text(DIFF_ZONE)
    log = tmp_path / "serve.log"
    port = free_port()
    proc = spawn_serve(zone, port, backend, log)
    try:
        wait_for(port, bytes([192, 0, 2, 3]))
        zone.write_text(
            DIFF_ZONE.replace("192.0.2.3", "192.0.2.42").replace("2024010101", "2024010102")
        )
        proc.send_signal(signal.SIGHUP)
        wait_for(port, bytes([192, 0, 2, 42]))
        # A broken file: the old zone stays in service and the error names file and line.
        zone.write_text(DIFF_ZONE.replace("192.0.2.3", "192.0.2.77") + "bad A 1.2.3\n")
        proc.send_signal(signal.SIGHUP)
        end = time.monotonic() + 10
        while "reload failed" not in log.read_text() and time.monotonic() < end:
            time.sleep(0.05)
        assert www_address(port) == bytes([192, 0, 2, 42])
        assert f"{zone}:{len(DIFF_ZONE.splitlines()) + 1}:" in log.read_text()
        assert proc.poll() is None
    finally:
        proc.terminate()
        proc.wait(5)


def test_serve_rejects_a_bad_zone(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    zone = tmp_path / "bad.zone"
    zone.write_text("$ORIGIN x.test.\n$TTL 5\n@ SOA a b 1 2 3 4 5\n")
    assert cli(["serve", str(zone), "--port", "0"]) == 1
    assert f"{zone}:3: no NS records at the apex" in capsys.readouterr().err


def test_serve_mirage_needs_a_device(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    zone = tmp_path / "z.zone"
    zone.write_text(DIFF_ZONE)
    assert cli(["serve", str(zone), "--backend", "mirage"]) == 2
    assert "--tap" in capsys.readouterr().err


def test_query_is_handed_to_the_resolver_client(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: list[list[str]] = []

    def fake_main(argv: list[str]) -> int:
        seen.append(argv)
        return 3

    module = types.ModuleType("dns.query_cli")
    module.main = fake_main  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "dns.query_cli", module)
    assert cli(["query", "www.diff.test.", "A", "@127.0.0.1"]) == 3
    assert seen == [["www.diff.test.", "A", "@127.0.0.1"]]
    # Without the module: a clear error, not a traceback.
    monkeypatch.setitem(sys.modules, "dns.query_cli", None)
    assert cli(["query", "x"]) == 2
    assert "dns.query_cli" in capsys.readouterr().err
