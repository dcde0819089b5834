"""``python -m cohttp run``: the same FastAPI and Starlette apps under cohttp and uvicorn
(status, headers less Date/Server, bodies), workers, signals, proxy headers, limits."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from typing import Any

import anyio
import pytest

from cohttp.run import ProxyHeaders, TrustedHosts, parse_forwarded
from cohttp.status import reason_phrase

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
APPS = "tests.cohttp.apps.diffapps"
needs_fastapi = pytest.mark.skipif(
    importlib.util.find_spec("fastapi") is None or importlib.util.find_spec("httpx") is None,
    reason="fastapi/httpx not installed (pip install -e '.[test]')",
)
needs_uvicorn = pytest.mark.skipif(
    importlib.util.find_spec("uvicorn") is None,
    reason="uvicorn not installed (pip install -e '.[test]' or '.[bench]')",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(port: int, path: str, timeout: float = 5.0, **headers: str) -> tuple[int, bytes]:
    """One GET on a fresh connection (so each can land on any worker)."""
    import httpx

    r = httpx.get(f"http://127.0.0.1:{port}{path}", headers=headers, timeout=timeout)
    return r.status_code, r.content


class Served:
    """A server process and what it wrote on stderr (a file: a pipe nobody reads fills
    up and blocks a server that logs every request)."""

    def __init__(self, proc: subprocess.Popen[bytes], log: Any) -> None:
        self.proc = proc
        self._log = log

    def stderr(self) -> str:
        self._log.seek(0)
        return str(self._log.read().decode(errors="replace"))

    def __getattr__(self, name: str) -> Any:  # pid, wait, send_signal, ...
        return getattr(self.proc, name)


@contextlib.contextmanager
def serving(argv: list[str], port: int, env: dict[str, str] | None = None) -> Iterator[Any]:
    """Start a server process on ``port``, wait until it answers, stop it after."""
    log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in the finally below
    proc = subprocess.Popen(
        argv,
        cwd=ROOT,
        # one hash seed: Starlette builds Allow from a set, ordered by string hashes
        env={**os.environ, "PYTHONPATH": ROOT, "PYTHONHASHSEED": "0", **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    served = Served(proc, log)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"{argv} exited: {served.stderr()[-2000:]}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", port), timeout=1),
            ):
                break
            assert time.monotonic() < deadline, f"{argv} did not listen in 60 s"
            time.sleep(0.1)
        yield served
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()


def cohttp_run(app: str, port: int, *flags: str) -> list[str]:
    return [sys.executable, "-m", "cohttp", "run", app, "--port", str(port), *flags]


# -- the differential: the same apps under uvicorn and cohttp --------------------------------

REQUESTS: list[tuple[str, str, str, dict[str, Any]]] = [
    # (app, method, path, httpx keyword arguments)
    ("api", "GET", "/items/5?q=x", {}),
    ("api", "GET", "/items/abc", {}),
    ("api", "POST", "/items", {"json": {"name": "a", "count": 2}}),
    (
        "api",
        "POST",
        "/items",
        {"content": b"{not json", "headers": {"content-type": "application/json"}},
    ),
    ("api", "POST", "/form", {"data": {"name": "ann", "age": "7"}}),
    ("api", "POST", "/form", {"files": {"name": (None, "bob"), "age": (None, "9")}}),
    ("api", "GET", "/stream", {}),
    ("api", "POST", "/background", {}),
    ("api", "GET", "/done", {"pause": 0.3}),  # uvicorn runs the task beside the next request
    ("api", "GET", "/missing", {}),
    ("api", "GET", "/teapot", {}),
    ("api", "GET", "/nowhere", {}),
    ("api", "POST", "/large", {"content": bytes(range(256)) * 8192}),
    ("api", "GET", "/large", {}),
    ("api", "HEAD", "/items/5", {}),
    ("api", "GET", "/scope", {}),
    ("star", "GET", "/?who=you", {}),
    ("star", "HEAD", "/", {}),
    ("star", "POST", "/echo", {"json": [1, "two", None]}),
    ("star", "GET", "/empty", {}),
    ("star", "GET", "/redirect", {}),
    ("star", "PUT", "/", {}),
]
_SKIP_FIELDS = {"date", "server"}
KNOWN_PHRASE_DIFFERENCES = {
    # (status, uvicorn's phrase from http.HTTPStatus, the IANA registry's)
    (418, "I'm a Teapot", "(Unused)"),
    (422, "Unprocessable Entity", "Unprocessable Content"),
}


def _exchange(port: int) -> list[tuple[int, str, list[tuple[str, str]], bytes]]:
    import httpx

    out = []
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        for _, method, path, kw in REQUESTS:
            time.sleep(kw.get("pause", 0))
            files = kw.get("files")
            r = client.request(
                method,
                path,
                **{k: v for k, v in kw.items() if k not in ("files", "pause")},
                files=files,
            )
            fields = sorted((k, v) for k, v in r.headers.multi_items() if k not in _SKIP_FIELDS)
            out.append((r.status_code, r.reason_phrase, fields, r.content))
    return out


def _websocket_session(port: int) -> list[Any]:
    """A FastAPI WebSocket route through the websockets library's client."""
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    seen: list[Any] = []
    with connect(f"ws://127.0.0.1:{port}/ws", subprotocols=["chat"], open_timeout=10) as c:  # type: ignore[list-item]
        seen.append(c.subprotocol)
        c.send("hello")
        seen.append(c.recv(timeout=10))
        c.send(b"\x00\x01" * 70000)
        seen.append(c.recv(timeout=10) == b"\x01\x00" * 70000)
        c.send("close")
        try:
            c.recv(timeout=10)
        except ConnectionClosed as exc:
            seen.append((exc.rcvd.code, exc.rcvd.reason) if exc.rcvd else None)
    return seen


@needs_fastapi
@needs_uvicorn
@pytest.mark.timeout(240)
@pytest.mark.parametrize("app", ["api", "star"])
def test_same_answers_as_uvicorn(app: str) -> None:
    """Status, headers (less Date/Server) and bodies agree; reason phrases are the IANA
    registry's on our side (uvicorn takes Python's http.HTTPStatus, which differs for 418)."""
    ours_port, their_port = _free_port(), _free_port()
    spec = f"{APPS}:{app}"
    theirs = [
        sys.executable,
        "-m",
        "uvicorn",
        spec,
        "--port",
        str(their_port),
        "--log-level",
        "warning",
    ]
    ours = cohttp_run(spec, ours_port, "--no-access-log")
    global REQUESTS
    wanted = [r for r in REQUESTS if r[0] == app]
    saved, REQUESTS = REQUESTS, wanted
    try:
        with serving(theirs, their_port), serving(ours, ours_port) as our_server:
            expected = _exchange(their_port)
            got = _exchange(ours_port)
            assert '"GET ' not in our_server.stderr()  # --no-access-log
            if app == "api" and importlib.util.find_spec("websockets") is not None:
                their_ws = _websocket_session(their_port)
                assert _websocket_session(ours_port) == their_ws
                assert their_ws == ["chat", "echo hello /ws", True, (4001, "as asked")]
    finally:
        REQUESTS = saved
    assert len(got) == len(wanted)
    phrases: set[tuple[int, str, str]] = set()
    for (_, method, path, _), (status, reason, fields, body), (s2, r2, f2, b2) in zip(
        wanted, expected, got, strict=True
    ):
        where = f"{method} {path}"
        assert s2 == status, where
        assert r2 == reason_phrase(s2), where  # the IANA registry
        if r2 != reason:
            phrases.add((status, reason, r2))
        if path == "/scope":
            mine, theirs_ = json.loads(b2), json.loads(body)
            assert mine.pop("server_port") == ours_port and theirs_.pop("server_port") == their_port
            assert mine == theirs_, where
            continue
        assert f2 == fields, where
        assert b2 == body, where
    assert phrases <= KNOWN_PHRASE_DIFFERENCES


# -- workers and signals ---------------------------------------------------------------------


@needs_fastapi
@pytest.mark.timeout(240)
def test_workers_restart_and_drain_on_sigterm(tmp_path: Any) -> None:
    """--workers 2 answers from two pids; a killed worker is replaced; SIGTERM lets a
    request in flight finish and runs each worker's lifespan shutdown."""
    port = _free_port()
    journal = tmp_path / "lifespan.log"
    argv = cohttp_run(f"{APPS}:api", port, "--workers", "2", "--timeout-graceful-shutdown", "10")
    with serving(argv, port, {"LIFESPAN_LOG": str(journal)}) as supervisor:
        pids: set[int] = set()
        for _ in range(400):
            pids.add(json.loads(_get(port, "/pid")[1])["pid"])
            if len(pids) == 2:
                break
        assert len(pids) == 2, pids
        victim = min(pids)
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 60
        fresh: set[int] = set()
        while not fresh - pids and time.monotonic() < deadline:
            with contextlib.suppress(Exception):
                fresh.add(json.loads(_get(port, "/pid")[1])["pid"])
        assert fresh - pids, "no new worker answered after one was killed"

        answer: list[Any] = []
        slow = threading.Thread(
            target=lambda: answer.append(_get(port, "/slow?seconds=2", timeout=30))
        )
        slow.start()
        deadline = time.monotonic() + 30
        while "slow" not in journal.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)  # until the request is in a worker
        supervisor.send_signal(signal.SIGTERM)
        slow.join(40)
        assert answer == [(200, b'{"slept":2.0}')]
        assert supervisor.wait(timeout=40) == 0
    events = journal.read_text().split("\n")
    started = {line.split()[0] for line in events if line.endswith("startup")}
    assert sum(line.endswith("slow") for line in events) == 1
    stopped = {line.split()[0] for line in events if line.endswith("shutdown")}
    assert str(victim) in started and str(victim) not in stopped  # killed: no shutdown
    assert len(started) == 3 and stopped == started - {str(victim)}


@needs_fastapi
@pytest.mark.timeout(120)
def test_one_process_features(tmp_path: Any) -> None:
    """--root-path, --proxy-headers from a trusted address, --limit-concurrency's 503 and
    --limit-max-requests ending the process."""
    port = _free_port()
    argv = cohttp_run(
        f"{APPS}:api",
        port,
        "--root-path",
        "/api",
        "--proxy-headers",
        "--forwarded-allow-ips",
        "127.0.0.1",
        "--limit-concurrency",
        "1",
        "--limit-max-requests",
        "5",
    )
    journal = tmp_path / "slow.log"
    with serving(argv, port, {"LIFESPAN_LOG": str(journal)}) as proc:
        journal.unlink()  # written by the start-up: only the slow request's note counts
        status, body = _get(
            port,
            "/scope",
            **{"x-forwarded-for": "203.0.113.9, 127.0.0.1", "x-forwarded-proto": "https"},
        )
        scope = json.loads(body)
        assert (status, scope["client"], scope["scheme"], scope["root_path"]) == (
            200, "203.0.113.9", "https", "/api",
        )  # fmt: skip
        assert scope["path"] == "/api/scope"  # as uvicorn: the root path in front
        status, body = _get(port, "/scope", forwarded='for="[2001:db8::7]:1";proto=http')
        assert json.loads(body)["client"] == "2001:db8::7"
        answer: list[Any] = []
        slow = threading.Thread(target=lambda: answer.append(_get(port, "/slow?seconds=2")))
        slow.start()
        deadline = time.monotonic() + 30
        while not journal.exists() and time.monotonic() < deadline:
            time.sleep(0.05)  # until the slow request is in flight
        assert _get(port, "/pid") == (503, b"Service Unavailable")  # not counted
        slow.join(30)
        assert answer[0][0] == 200
        assert _get(port, "/pid")[0] == 200
        assert _get(port, "/pid")[0] == 200  # the 5th counted (the 503 is not): the process ends
        assert proc.wait(timeout=30) == 0
        log = proc.stderr()
        assert '"GET /scope HTTP/1.1" 200' in log  # the access log, on by default
        assert "--limit-max-requests reached" in log


def test_a_bad_app_is_one_line() -> None:
    for spec, message in [
        ("nocolon", 'app must be given as "module:attribute"'),
        ("no_such_module_x:app", "could not import module 'no_such_module_x'"),
        (f"{APPS.rsplit('.', 1)[0]}:nothing", "attribute 'nothing' not found"),
    ]:
        r = subprocess.run(
            [sys.executable, "-m", "cohttp", "run", spec, "--port", "0"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert r.returncode == 1, r.stderr
        assert r.stderr.count("\n") == 1 and message in r.stderr, r.stderr


# -- proxy headers, without processes ----------------------------------------------------------


def test_forwarded_is_parsed_per_rfc_7239() -> None:
    assert parse_forwarded(
        'for=192.0.2.60;proto=http;by=203.0.113.43, For="[2001:db8:cafe::17]:4711"'
    ) == [
        {"for": "192.0.2.60", "proto": "http", "by": "203.0.113.43"},
        {"for": "[2001:db8:cafe::17]:4711"},
    ]
    assert parse_forwarded('for="a,b;c";proto=https') == [{"for": "a,b;c", "proto": "https"}]


@pytest.mark.parametrize(
    ("peer", "headers", "client", "scheme"),
    [
        (
            "127.0.0.1",
            [(b"x-forwarded-for", b"1.2.3.4"), (b"x-forwarded-proto", b"https")],
            "1.2.3.4",
            "https",
        ),
        (
            "192.0.2.1",
            [(b"x-forwarded-for", b"1.2.3.4"), (b"x-forwarded-proto", b"https")],
            "192.0.2.1",
            "http",
        ),
        # a client cannot pose as another through a trusted proxy: the nearest untrusted hop
        ("127.0.0.1", [(b"x-forwarded-for", b"6.6.6.6, 5.5.5.5, 10.0.0.2")], "5.5.5.5", "http"),
        (
            "127.0.0.1",
            [(b"forwarded", b"for=7.7.7.7;proto=https"), (b"x-forwarded-for", b"1.1.1.1")],
            "7.7.7.7",
            "https",
        ),
        ("127.0.0.1", [], "127.0.0.1", "http"),
    ],
)
def test_proxy_headers_only_from_trusted_peers(
    peer: str, headers: list[tuple[bytes, bytes]], client: str, scheme: str
) -> None:
    seen: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope)

    middleware = ProxyHeaders(app, TrustedHosts("127.0.0.1, 10.0.0.0/8"))
    scope = {"type": "http", "client": (peer, 5000), "scheme": "http", "headers": headers}
    anyio.run(middleware, scope, None, None)
    assert (seen[0]["client"][0], seen[0]["scheme"]) == (client, scheme)


def _children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(p) for p in f.read().split()]


@pytest.mark.timeout(120)
def test_serve_with_workers(tmp_path: Any) -> None:
    """cohttp serve --workers 2: two processes on one socket, both stopped by SIGTERM."""
    (tmp_path / "hello.txt").write_bytes(b"hello from a worker\n")
    port = _free_port()
    argv = [sys.executable, "-m", "cohttp", "serve", str(tmp_path), "--port", str(port)]
    with serving([*argv, "--workers", "2", "--quiet"], port) as supervisor:
        deadline = time.monotonic() + 30
        while len(_children(supervisor.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        workers = _children(supervisor.pid)
        assert len(workers) == 2
        for _ in range(6):
            assert _get(port, "/hello.txt") == (200, b"hello from a worker\n")
        supervisor.send_signal(signal.SIGTERM)
        assert supervisor.wait(timeout=40) == 0
    for pid in workers:
        assert not os.path.exists(f"/proc/{pid}")  # stopped and reaped by the supervisor


@pytest.mark.skipif(
    importlib.util.find_spec("watchfiles") is None,
    reason="watchfiles not installed (pip install -e '.[reload]')",
)
@pytest.mark.timeout(120)
def test_reload_restarts_on_a_change(tmp_path: Any) -> None:
    source = """
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"VERSION"})
"""
    module = tmp_path / "reloadme.py"
    module.write_text(source.replace("VERSION", "one"))
    port = _free_port()
    argv = cohttp_run("reloadme:app", port, "--reload", "--reload-dir", str(tmp_path))
    env = {"PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}"}
    with serving(argv, port, env):
        assert _get(port, "/") == (200, b"one")
        time.sleep(0.5)  # let the watcher start
        module.write_text(source.replace("VERSION", "two"))
        deadline = time.monotonic() + 60
        seen = b""
        while seen != b"two" and time.monotonic() < deadline:
            with contextlib.suppress(Exception):
                seen = _get(port, "/")[1]
            time.sleep(0.2)
        assert seen == b"two"


def test_an_fd_that_is_not_a_socket_is_one_line() -> None:
    for command in (["run", f"{APPS}:star"], ["serve", ROOT]):
        r = subprocess.run(
            [sys.executable, "-m", "cohttp", *command, "--fd", "0"],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert r.returncode == 1 and r.stderr.count("\n") == 1, r.stderr
        assert "--fd 0" in r.stderr or "socket" in r.stderr, r.stderr
