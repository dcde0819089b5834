"""Every code block in README.md runs, so the README cannot drift from the code.

* ```` ```python ```` blocks are each run as a script from the repository root (they serve
  on loopback port 0 and stop by themselves), and all of them type-check with
  ``mypy --strict`` as user code would.
* ```` ```sh ```` blocks are each run as one bash script from the repository root with the
  virtualenv's ``bin`` first on ``PATH`` and ``set -e``, so every command must exit 0.
  The ports 5353, 8080 and 8853 are replaced by free ones. A command ending in ``&`` starts a
  server: the script waits until it answers (a DNS query, an HTTP GET) before going on.
  Two commands are long-running by nature and carry a marker comment saying so:
  ``make demo  # serves until Ctrl-C`` is started in the background with free ports and
  checked the same way; ``make test  # ... the whole suite`` runs with ``PYTEST_ARGS``
  naming one small test file, since the suite is what is running it. Everything the
  script started is stopped at the end. Blocks that need root (``sudo``, network
  namespaces) run only as root, in a namespace named for this test.
* ```` ```text ```` blocks are prose, not code.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.peers import free_port

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
BIN = Path(sys.executable).parent

_FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
SERVES_MARKER = "# serves until Ctrl-C"
SUITE_MARKER = "the whole suite"


@dataclass(frozen=True)
class Block:
    language: str
    line: int
    code: str

    @property
    def id(self) -> str:
        return f"{self.language}@README.md:{self.line}"


def readme_blocks() -> list[Block]:
    text = README.read_text(encoding="utf-8")
    return [
        Block(m.group(1), text.count("\n", 0, m.start()) + 1, m.group(2))
        for m in _FENCE.finditer(text)
    ]


BLOCKS = readme_blocks()
PYTHON = [b for b in BLOCKS if b.language == "python"]
SHELL = [b for b in BLOCKS if b.language == "sh"]


def test_every_block_is_one_this_test_runs() -> None:
    """A block without a language, or in one not run here, would escape the check."""
    assert PYTHON and SHELL
    assert {b.language for b in BLOCKS} <= {"python", "sh", "text"}, [b.id for b in BLOCKS]


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(ROOT)
    env.pop("PYTEST_ADDOPTS", None)
    return env


@pytest.mark.parametrize("block", PYTHON, ids=[b.id for b in PYTHON])
def test_python_block_runs(block: Block, tmp_path: Path) -> None:
    script = tmp_path / "block.py"
    script.write_text(block.code, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=ROOT,
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip(), "the block prints what it shows"


def _mypy(paths: list[Path]) -> subprocess.CompletedProcess[str]:
    """``mypy --strict`` on ``paths`` from the repository root (so with its configuration:
    the packages are found there, third-party modules without stubs are known)."""
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", *map(str, paths)],
        cwd=ROOT,
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=600,
    )


def _need_mypy() -> None:
    try:
        import mypy  # noqa: F401
    except ImportError:
        pytest.skip("needs mypy (the test extra: pip install -e '.[test]')")


def test_python_blocks_type_check_as_user_code(tmp_path: Path) -> None:
    _need_mypy()
    paths = []
    for index, block in enumerate(PYTHON):
        path = tmp_path / f"readme_block_{index}_line_{block.line}.py"
        path.write_text(block.code, encoding="utf-8")
        paths.append(path)
    result = _mypy(paths)
    assert result.returncode == 0, result.stdout + result.stderr


def test_resolver_answers_are_typed_by_record_type(tmp_path: Path) -> None:
    """The typing the README promises is real: a literal type picks the record class, so
    the right attribute checks and a wrong one is an error (not ``Any``)."""
    _need_mypy()
    user = tmp_path / "user_code.py"
    user.write_text(
        "import backends\n"
        "from dns.resolver import Resolver\n"
        "\n"
        "async def main(net: backends.Backend) -> None:\n"
        "    r = Resolver(net, ['127.0.0.1'], hosts=False)\n"
        "    for mx in await r.resolve('example.test', 'MX'):\n"
        "        reveal_type(mx)\n"
        "        print(mx.exchange.upper(), mx.preference + 1)\n"
        "    for a in await r.resolve('example.test'):\n"
        "        print(a.address)\n"
        "    for srv in await r.resolve('_x._tcp.example.test', 'SRV'):\n"
        "        print(srv.target, srv.port)\n"
        "    for wrong in await r.resolve('example.test', 'MX'):\n"
        "        print(wrong.address)\n"
    )
    result = _mypy([user])
    lines = result.stdout.splitlines()
    assert any('Revealed type is "dns.records.MXRecord"' in line for line in lines), lines
    errors = [line for line in lines if ": error:" in line]
    assert len(errors) == 1, lines
    assert '"MXRecord" has no attribute "address"' in errors[0]


# ---------------------------------------------------------------------------- sh blocks

_PRELUDE = r"""
set -euo pipefail
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT
if ! command -v sudo >/dev/null && [ "$(id -u)" = 0 ]; then sudo() { "$@"; }; fi
answers_dns() {  # until a DNS server answers on 127.0.0.1 port $1, at most 60 s
    for _ in $(seq 120); do
        python -m dns query ocaml.test SOA @127.0.0.1 -p "$1" +short +time=1 +tries=1 \
            2>/dev/null | grep -q . && return 0
        sleep 0.5
    done
    echo "no DNS answer on port $1" >&2; return 1
}
answers_http() {  # until an HTTP server answers on 127.0.0.1 port $1, at most 60 s
    for _ in $(seq 120); do
        python -m cohttp get --timeout 2 "http://127.0.0.1:$1/" >/dev/null 2>&1 && return 0
        sleep 0.5
    done
    echo "no HTTP answer on port $1" >&2; return 1
}
answers_https() {  # the same for an HTTPS server (whatever its certificate)
    for _ in $(seq 120); do
        python -m cohttp get -k --timeout 2 "https://127.0.0.1:$1/" >/dev/null 2>&1 && return 0
        sleep 0.5
    done
    echo "no HTTPS answer on port $1" >&2; return 1
}
"""


def _commands(code: str) -> list[str]:
    """The block's commands, continuation lines joined."""
    commands: list[str] = []
    pending = ""
    for line in code.splitlines():
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        commands.append(pending + line)
        pending = ""
    return [c for c in commands if c.strip()]


def shell_script(block: Block, dns_port: int, http_port: int, netns: str) -> str:
    """The block as the bash script the test runs (see the module's documentation)."""
    lines = [_PRELUDE]
    tls_port = free_port() if "8853" in block.code else 8853
    # One pass: a port put in for one number may hold another (48080 holds 8080).
    ports = {"5353": str(dns_port), "8080": str(http_port), "8853": str(tls_port)}
    for command in _commands(block.code):
        command = re.sub(r"5353|8080|8853", lambda m: ports[m.group()], command)
        if "ip netns" in command:
            command = re.sub(r"\bdemo\b", netns, command)
        code, _, comment = command.partition(" #")
        code = code.rstrip()
        if code == "make demo" and SERVES_MARKER.lstrip("# ") in comment:
            lines.append(f'make demo DEMO_ARGS="--dns-port {dns_port} --http-port {http_port}" &')
            lines.append(f"answers_dns {dns_port}")
            lines.append(f"answers_http {http_port}")
            continue
        if code == "make test" and SUITE_MARKER in comment:
            lines.append('make test PYTEST_ARGS="tests/test_layering.py -q"')
            continue
        lines.append(command)
        if code.endswith("&") and "ip netns" not in code:
            if " -m dns serve" in code:
                lines.append(f"answers_dns {dns_port}")
            elif " -m cohttp serve" in code:
                https = "--ssl-certfile" in code
                lines.append(f"answers_{'https' if https else 'http'} {http_port}")
            else:
                raise AssertionError(f"{block.id}: do not know how to wait for {code!r}")
    return "\n".join(lines) + "\n"


def _tools(code: str) -> list[str]:
    names = {"dig", "curl", "make", "ip"}
    return sorted(n for n in names if re.search(rf"(^|[\s;&|(]){n}\s", code, re.MULTILINE))


@pytest.mark.parametrize("block", SHELL, ids=[b.id for b in SHELL])
def test_sh_block_runs(block: Block, tmp_path: Path) -> None:
    missing = [tool for tool in _tools(block.code) if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} on PATH (Debian package); CI installs it")
    if "sudo " in block.code and os.geteuid() != 0:
        pytest.skip("needs root (network namespaces, TAP devices); CI runs as root")
    netns = f"readme{os.getpid()}"
    script = tmp_path / "block.sh"
    script.write_text(shell_script(block, free_port(), free_port(), netns))
    env = _environment()
    out_path, err_path = tmp_path / "stdout", tmp_path / "stderr"
    with open(out_path, "w") as out, open(err_path, "w") as err:
        proc = subprocess.Popen(
            ["bash", str(script)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=err,
            start_new_session=True,
        )
    try:
        status = proc.wait(timeout=600)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)  # whatever the script left running
        except ProcessLookupError:
            pass
        if "ip netns" in block.code:
            subprocess.run(["ip", "netns", "del", netns], capture_output=True)
    stdout, stderr = out_path.read_text(), err_path.read_text()
    assert status == 0, f"{block.id} exited {status}\n{stdout}\n{stderr}"
    assert "Traceback" not in stderr, stderr
    assert "no servers could be reached" not in stdout, stdout
    if "dig " in block.code:
        assert "status: NOERROR" in stdout and "connection refused" not in stdout, stdout
