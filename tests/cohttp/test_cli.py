"""``python -m cohttp serve|get`` end to end, and the example sites the demo serves."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import anyio
import pytest

from cohttp import Request, cli
from cohttp.static import StaticFiles, VirtualHosts
from uri import resolve

ROOT = Path(__file__).resolve().parents[2]
SITES = ROOT / "examples" / "site"


@pytest.fixture
def served(tmp_path: Path) -> tuple[str, subprocess.Popen[str]]:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "index.html").write_text("site a\n")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "file.txt").write_text("default file\n" * 1000)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cohttp",
            "serve",
            str(tmp_path / "d"),
            "--port",
            "0",
            "--vhost",
            f"a.test={tmp_path / 'a'}",
            "--backend",
            "trio",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    m = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
    assert m, line + proc.stderr.read() if proc.stderr else line
    yield f"http://127.0.0.1:{m.group(1)}", proc
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def test_serve_and_get(
    served: tuple[str, subprocess.Popen[str]], tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    base, proc = served
    assert cli.main(["get", base + "/file.txt", "-o", str(tmp_path / "out.txt")]) == 0
    assert (tmp_path / "out.txt").read_text() == "default file\n" * 1000
    assert cli.main(["get", base + "/", "-H", "Host: a.test", "-v"]) == 0
    out, err = capfd.readouterr()
    assert out == "site a\n" and "< HTTP/1.1 200 OK" in err and "> Host: a.test" in err
    assert cli.main(["get", base + "/missing", "-f", "--backend", "asyncio"]) == 22
    assert cli.main(["get", base + "/", "-d", "x"]) == 0  # POST to a static site: 405
    assert "not allowed" in capfd.readouterr().out
    assert cli.main(["get", "https://127.0.0.1/"]) == 1
    assert "TLS" in capfd.readouterr().err
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=10) == 0  # graceful shutdown on SIGINT
    assert proc.stdout is not None
    log = proc.stdout.read()
    assert '"GET /file.txt HTTP/1.1" 200 13000' in log and "shutting down" in log


def test_serve_rejects_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="HOST=DIR"):
        cli.main(["serve", str(tmp_path), "--vhost", "nodir"])
    with pytest.raises(SystemExit, match="not a directory"):
        cli.main(["serve", str(tmp_path / "missing")])
    with pytest.raises(SystemExit, match="mirage"):
        cli.main(["serve", str(tmp_path), "--tap", "tap0"])


def test_example_sites_have_no_broken_links() -> None:
    names = ["www.ocaml.test", "opam.ocaml.test", "lists.ocaml.test"]
    for name in [*names, "default"]:
        site = StaticFiles(SITES / name)
        seen: set[str] = set()
        todo = ["/"]
        while todo:
            path = todo.pop()
            if path in seen:
                continue
            seen.add(path)
            r = site.respond(Request("GET", path, [("host", name)]))
            assert r.status in (200, 301), (name, path, r.status)
            if r.status == 301:
                todo.append(r.headers["location"])
                continue
            if not r.headers["content-type"].startswith("text/html"):
                continue
            page = anyio.run(r.read).decode()
            for href in re.findall(r'(?:href)="([^"]+)"', page):
                if href.startswith("http://"):
                    host = href.split("/")[2]
                    assert host in names, href
                    continue
                todo.append(resolve("http://h" + path, href).request_target)
        assert "/style.css" in seen, name
    vh = VirtualHosts({n: SITES / n for n in names}, default=SITES / "default")
    assert vh.hosts.keys() == set(names)
