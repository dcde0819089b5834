"""``python -m cohttp serve|get`` end to end, and the example sites the demo serves."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
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
    assert cli.main(["get", "ftp://127.0.0.1/"]) == 1  # curl's "unsupported protocol"
    assert "only http and https" in capfd.readouterr().err
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=10) == 0  # graceful shutdown on SIGINT
    assert proc.stdout is not None
    log = proc.stdout.read()
    assert '"GET /file.txt HTTP/1.1" 200 13000' in log and "shutting down" in log


def cohttp(*args: str, timeout: float = 60) -> tuple[int, str]:
    """Run ``python -m cohttp ARGS``; its exit code and stderr, which must be one line
    (nothing when it succeeds)."""
    proc = subprocess.run(
        [sys.executable, "-m", "cohttp", *args],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    lines = 0 if proc.returncode == 0 else 1
    assert proc.stderr.count("\n") == lines and "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, proc.stderr


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port whose listener never accepts: connections open, nothing answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


@pytest.fixture
def closed_port() -> int:
    """A loopback port where nothing listens (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("backend", ["asyncio", "trio", "mirage"])
def test_get_names_network_failures_with_curls_codes(
    backend: str, closed_port: int, silent_port: int
) -> None:
    """6: the name does not resolve (.invalid names fail at once, without any DNS query:
    RFC 6761 6.4); 7: refused; 28: no answer within --timeout. (mirage's loopback is its
    own stack's, in the child process: the silent kernel listener is not there to time out.)"""
    code, err = cohttp("get", "--backend", backend, "http://nothing.invalid/")
    assert code == 6 and "resolve" in err and "nothing.invalid" in err
    code, err = cohttp("get", "--backend", backend, f"http://127.0.0.1:{closed_port}/")
    assert code == 7 and "refused" in err and str(closed_port) in err
    if backend == "mirage":
        return
    timeout = ["--timeout", "0.5"]
    code, err = cohttp("get", "--backend", backend, *timeout, f"http://127.0.0.1:{silent_port}/")
    assert code == 28 and "0.5 s" in err


def test_get_names_local_mistakes_with_curls_codes(tmp_path: Path, closed_port: int) -> None:
    """26: -d @FILE unreadable; 3: malformed URL; 1: unsupported protocol; 2: bad option.
    None of them touches the network (the port would refuse: 7)."""
    url = f"http://127.0.0.1:{closed_port}/"
    code, err = cohttp("get", "-d", f"@{tmp_path / 'missing.json'}", url)
    assert code == 26 and "missing.json" in err and "No such file" in err
    code, err = cohttp("get", "-d", f"@{tmp_path}", url)
    assert code == 26 and "directory" in err
    for bad in ["http://127.0.0.1:65536/", "http://127.0.0.1:99999999999999999999/", "http://a b/"]:
        code, err = cohttp("get", bad)
        assert code == 3 and "URL" in err, bad
    code, err = cohttp("get", "ftp://127.0.0.1/")
    assert code == 1 and "ftp" in err
    code, err = cohttp("get", "-H", "no colon", url)
    assert code == 2 and "-H" in err
    code, err = cohttp("get", "-H", "bad name: x", url)
    assert code == 2 and "bad name" in err
    code, err = cohttp("get", "-X", "GE T", url)
    assert code == 2 and "method" in err
    code, err = cohttp("get", "--timeout", "soon", url)
    assert code == 2 and "--timeout" in err
    # the output file is opened when the body arrives, as curl does: a refused connection
    # is reported as such even with an unwritable -o
    code, err = cohttp("get", "-o", str(tmp_path / "no" / "such" / "dir"), url)
    assert code == 7


def test_get_names_an_unwritable_output_with_curls_code(
    served: tuple[str, subprocess.Popen[str]], tmp_path: Path
) -> None:
    base, _ = served
    for where, words in [
        (tmp_path / "no" / "such" / "file", "No such file"),
        (tmp_path, "directory"),
    ]:
        code, err = cohttp("get", base + "/file.txt", "-o", str(where))
        assert code == 23 and str(where) in err and words in err, err
    code, err = cohttp("get", base + "/file.txt", "-o", str(tmp_path / "fine.txt"))
    assert code == 0
    assert (tmp_path / "fine.txt").read_text() == "default file\n" * 1000


def test_serve_names_its_mistakes_in_one_line(tmp_path: Path, silent_port: int) -> None:
    """Port in use, port over 65535, a missing directory: one line each, exit 1 (2 for
    usage errors, as argparse)."""
    code, err = cohttp("serve", str(tmp_path), "--port", str(silent_port))
    assert code == 1 and "already in use" in err and str(silent_port) in err
    code, err = cohttp("serve", str(tmp_path), "--port", "65536")
    assert code == 2 and "65536" in err and "port" in err
    code, err = cohttp("serve", str(tmp_path / "missing"), "--port", "0")
    assert code == 1 and "not a directory" in err and "missing" in err
    code, err = cohttp("serve", str(tmp_path), "--vhost", f"a.test={tmp_path / 'nope'}")
    assert code == 1 and "nope" in err
    code, err = cohttp("serve", str(tmp_path), "--vhost", "nodir")
    assert code == 2 and "HOST=DIR" in err
    code, err = cohttp("serve", str(tmp_path), "--tap", "tap0")
    assert code == 2 and "mirage" in err
    code, err = cohttp("serve", str(tmp_path), "--max-body", "\u00b2")
    assert code == 2 and "--max-body" in err


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
