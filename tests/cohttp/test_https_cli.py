"""``python -m cohttp serve|run --ssl-*`` and ``get --cacert/-k/--resolve`` end to end:
SNI picks a virtual host's certificate, curl's exit codes for certificate (60) and
handshake (35) failures. Certificates from trustme (the test extra)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from cohttp import cli

trustme = pytest.importorskip("trustme", reason="trustme (the test extra) makes the certificates")

ROOT = Path(__file__).resolve().parents[2]


class Files:
    def __init__(self, d: Path) -> None:
        ca = trustme.CA()
        self.ca = str(d / "ca.pem")
        ca.cert_pem.write_to_path(self.ca)
        default = ca.issue_cert("localhost", "127.0.0.1")
        self.cert, self.key = str(d / "default.crt"), str(d / "default.key")
        default.cert_chain_pems[0].write_to_path(self.cert)
        default.private_key_pem.write_to_path(self.key)
        self.a_chain = str(d / "a.pem")  # key and chain in one file
        ca.issue_cert("a.test").private_key_and_cert_chain_pem.write_to_path(self.a_chain)
        for name, text in (("d", "default site\n"), ("a", "site a\n")):
            (d / name).mkdir()
            (d / name / "index.html").write_text(text)
        self.dir = d


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Files:
    return Files(tmp_path_factory.mktemp("https_cli"))


def _start(argv: list[str]) -> tuple[int, subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "cohttp", *argv],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    m = re.search(r"https://127\.0\.0\.1:(\d+)/", line)
    if not m:
        proc.kill()
        raise AssertionError(line + (proc.stderr.read() if proc.stderr else ""))
    return int(m.group(1)), proc


@pytest.fixture(params=["asyncio", "trio"])
def served(files: Files, request: pytest.FixtureRequest) -> Iterator[int]:
    port, proc = _start(
        [
            "serve",
            str(files.dir / "d"),
            "--port",
            "0",
            "--ssl-certfile",
            files.cert,
            "--ssl-keyfile",
            files.key,
            "--vhost",
            f"a.test={files.dir / 'a'},{files.a_chain}",
            "--backend",
            request.param,
        ]
    )
    yield port
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=10) == 0


def test_get_over_https_with_sni(
    files: Files, served: int, capfd: pytest.CaptureFixture[str]
) -> None:
    port = served
    base = f"https://127.0.0.1:{port}"
    assert cli.main(["get", "--cacert", files.ca, base + "/"]) == 0
    assert capfd.readouterr().out == "default site\n"
    pin = ["--resolve", f"a.test:{port}:127.0.0.1", "--resolve", f"b.test:{port}:127.0.0.1"]
    # SNI a.test: the server presents a.test's certificate, and serves a.test's site
    assert cli.main(["get", "--cacert", files.ca, *pin, f"https://a.test:{port}/"]) == 0
    assert capfd.readouterr().out == "site a\n"
    # SNI b.test: no certificate of its own, so the default one, which is not b.test's
    assert cli.main(["get", "--cacert", files.ca, *pin, f"https://b.test:{port}/"]) == 60
    err = capfd.readouterr().err
    assert err.startswith("cohttp get: (60)") and "b.test" in err and "another host" in err
    assert cli.main(["get", "-k", *pin, f"https://b.test:{port}/"]) == 0  # curl -k
    assert capfd.readouterr().out == "default site\n"  # b.test has no vhost: the default
    # the system's CAs do not know trustme's
    assert cli.main(["get", base + "/"]) == 60
    assert "unknown CA" in capfd.readouterr().err


def test_https_to_a_plain_http_server_is_35(
    files: Files, capfd: pytest.CaptureFixture[str]
) -> None:
    """The server answers the ClientHello in plain HTTP: a handshake failure, curl's 35
    ("wrong version number")."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def answer() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(4096)
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    try:
        code = cli.main(
            ["get", "--cacert", files.ca, "--timeout", "5", f"https://127.0.0.1:{port}/"]
        )
        err = capfd.readouterr().err
        assert code == 35, err
        assert err.startswith("cohttp get: (35)") and "127.0.0.1" in err and "TLS" in err
    finally:
        thread.join(5)
        listener.close()


def test_serve_refuses_bad_tls_options_in_one_line(files: Files, tmp_path: Path) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate\n")
    for argv, words in (
        (["--ssl-certfile", str(tmp_path / "missing.pem")], "no such file"),
        (["--ssl-certfile", str(bad)], "cannot use"),
        (["--ssl-keyfile", files.key], "needs --ssl-certfile"),
        (["--vhost", f"a.test={tmp_path},{files.a_chain}"], "needs --ssl-certfile"),
        (["--vhost", "a.test=x,y,z,w"], "HOST=DIR,CERT[,KEY]"),
    ):
        proc = subprocess.run(
            [sys.executable, "-m", "cohttp", "serve", str(tmp_path), "--port", "0", *argv],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert proc.returncode in (1, 2), proc
        assert proc.stderr.count("\n") == 1 and words in proc.stderr, proc.stderr


APP = """
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": scope["scheme"].encode()})
"""


def test_run_serves_an_asgi_app_over_https(
    files: Files, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "schemeapp.py").write_text(APP)
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "cohttp", "run", "schemeapp:app", "--port", "0"),
            *("--ssl-certfile", files.cert, "--ssl-keyfile", files.key),
        ],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        port = None
        for _ in range(20):
            line = proc.stderr.readline()
            m = re.search(r"running on https://127\.0\.0\.1:(\d+)", line)
            if m:
                port = int(m.group(1))
                break
        assert port, "cohttp run did not say where it listens"
        assert cli.main(["get", "--cacert", files.ca, f"https://localhost:{port}/"]) == 0
        assert capfd.readouterr().out == "https"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def test_get_with_an_unusable_cacert_is_77(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate\n")
    for path in (str(bad), str(tmp_path / "missing.pem")):
        with pytest.raises(SystemExit) as info:
            cli.main(["get", "--cacert", path, "https://127.0.0.1:1/"])
        assert info.value.code == 77
        err = capfd.readouterr().err
        assert err.startswith("cohttp get: (77) cannot use --cacert") and err.count("\n") == 1
