"""The mirage stack against the Linux kernel's own, over a TAP device in a namespace.

Each test module run creates a network namespace (``mpy-<pid>-<n>``) holding ``tap0``:
the kernel side is 10.77.N.1/24, our stack (a subprocess started with ``ip netns exec``)
10.77.N.2/24. The namespace, and with it the device, is deleted afterwards, also on
failure. Loss is applied by nftables inside the namespace (this kernel has no netem).
Needs root, iproute2; curl, dig and nft for their tests.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import need_root, need_tool
from tests.mirage.tapapp import pattern
from tests.peers import tap_namespace

pytestmark = [pytest.mark.interop, pytest.mark.root]

REPO = Path(__file__).resolve().parents[2]
TEN_MB = 10_000_000
_counter = 0


@dataclass
class Namespace:
    name: str
    kernel_ip: str
    stack_ip: str

    def run(
        self, *argv: str, timeout: float = 60, input: bytes | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[bytes]:
        """Run a command inside the namespace (the kernel's side of the TAP)."""
        return subprocess.run(
            ["ip", "netns", "exec", self.name, *argv],
            capture_output=True,
            timeout=timeout,
            input=input,
            check=check,
        )

    def python(self, code: str, *, timeout: float = 120) -> str:
        """Run Python (kernel sockets) inside the namespace; its stdout."""
        out = self.run(sys.executable, "-c", textwrap.dedent(code), timeout=timeout)
        return out.stdout.decode()

    def start(self, *argv: str, ready: str) -> subprocess.Popen[bytes]:
        """Start a long-running process in the namespace; wait for ``ready`` on stdout."""
        proc = subprocess.Popen(
            ["ip", "netns", "exec", self.name, *argv],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        assert proc.stdout is not None
        lines = []
        while True:
            line = proc.stdout.readline().decode()
            if not line:
                raise AssertionError(f"{argv} exited before printing {ready!r}: {lines}")
            lines.append(line)
            if ready in line:
                # keep draining its output so a chatty server never blocks on the pipe
                threading.Thread(target=proc.stdout.read, daemon=True).start()
                return proc


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


@pytest.fixture
def ns() -> Iterator[Namespace]:
    need_root()
    need_tool("ip")
    global _counter
    _counter += 1
    name = f"mpy-{os.getpid()}-{_counter}"
    subnet = f"10.77.{(os.getpid() + _counter) % 200 + 20}"
    space = Namespace(name, f"{subnet}.1", f"{subnet}.2")
    with tap_namespace(name, f"{space.kernel_ip}/24", mtu=1500):
        yield space


@pytest.fixture
def stack(ns: Namespace) -> Iterator[subprocess.Popen[bytes]]:
    proc = ns.start(
        sys.executable,
        "-m",
        "tests.mirage.tapapp",
        "--tap",
        "tap0",
        "--ip",
        f"{ns.stack_ip}/24",
        ready="ready",
    )
    try:
        yield proc
    finally:
        _stop(proc)


def _loss(ns: Namespace, percent: int) -> None:
    need_tool("nft")
    rules = f"""
    table inet mpyloss {{
        chain in {{ type filter hook input priority 0; numgen random mod 100 < {percent} drop; }}
        chain out {{ type filter hook output priority 0; numgen random mod 100 < {percent} drop; }}
    }}
    """
    ns.run("nft", "-f", "-", input=rules.encode())


def test_ping_gets_replies(ns: Namespace, stack: subprocess.Popen[bytes]) -> None:
    # ICMP echo from a raw kernel socket (ping itself may not be installed)
    out = ns.python(f"""
        import os, socket, struct, time
        def csum(b):
            s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
            s = (s & 0xffff) + (s >> 16); s = (s & 0xffff) + (s >> 16)
            return ~s & 0xffff
        sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        sock.settimeout(5)
        ok = 0
        for seq in range(3):
            body = struct.pack("!HH", 0x4d50, seq) + b"mirage-ping-%02d" % seq
            msg = struct.pack("!BBH", 8, 0, 0) + body
            msg = msg[:2] + struct.pack("!H", csum(msg)) + msg[4:]
            sock.sendto(msg, ("{ns.stack_ip}", 0))
            while True:
                data, addr = sock.recvfrom(2048)
                icmp = data[(data[0] & 15) * 4:]
                if icmp[0] == 0 and icmp[4:] == body and csum(icmp) == 0:
                    ok += 1
                    break
        print(ok)
    """)
    assert out.strip() == "3"
    if any(os.access(os.path.join(d, "ping"), os.X_OK) for d in os.environ["PATH"].split(":")):
        ns.run("ping", "-c", "2", "-W", "2", ns.stack_ip)


KERNEL_CLIENT = """
    import hashlib, socket, sys
    s = socket.create_connection(("{ip}", 9000), timeout=60)
    data = {data}
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)          # half-close: we still read the answer
    answer = b""
    while chunk := s.recv(65536):
        answer += chunk
    print(answer.decode().strip(), hashlib.sha256(data).hexdigest(), len(data))
"""


def test_kernel_client_half_closes(ns: Namespace, stack: subprocess.Popen[bytes]) -> None:
    out = ns.python(KERNEL_CLIENT.format(ip=ns.stack_ip, data="b'half-close ' * 1000"))
    count, digest, expected_digest, expected_count = out.split()
    assert (count, digest) == (expected_count, expected_digest)


def test_five_hundred_sequential_connections(ns: Namespace, stack: subprocess.Popen[bytes]) -> None:
    out = ns.python(f"""
        import socket
        ok = 0
        for i in range(500):
            with socket.create_connection(("{ns.stack_ip}", 9001), timeout=10) as s:
                msg = b"connection %d" % i
                s.sendall(msg)
                got = b""
                while len(got) < len(msg):
                    got += s.recv(100)
                ok += got == msg
        print(ok)
    """)
    assert out.strip() == "500"


def _curl_transfers(ns: Namespace, tmp: Path) -> None:
    need_tool("curl")
    # upload: curl POSTs 10 MB to cohttp on our stack, which answers the sha256 it saw;
    # download: curl GETs 10 MB of a known pattern from it.
    blob = tmp / "blob.bin"
    blob.write_bytes(os.urandom(TEN_MB))
    want = hashlib.sha256(blob.read_bytes()).hexdigest()
    up = ns.run(
        "curl",
        "-sS",
        "--max-time",
        "120",
        "-X",
        "POST",
        "--data-binary",
        f"@{blob}",
        f"http://{ns.stack_ip}:8081/",
        timeout=150,
    )
    assert up.stdout.decode().split() == [str(TEN_MB), want]
    down = ns.run(
        "curl",
        "-sS",
        "--max-time",
        "120",
        "-o",
        str(tmp / "down.bin"),
        f"http://{ns.stack_ip}:8081/{TEN_MB}",
        timeout=150,
    )
    assert down.returncode == 0
    got = (tmp / "down.bin").read_bytes()
    assert hashlib.sha256(got).hexdigest() == hashlib.sha256(pattern(TEN_MB)).hexdigest()
    # and the raw TCP source, read by a kernel socket
    raw = ns.python(
        f"""
        import hashlib, socket
        s = socket.create_connection(("{ns.stack_ip}", 9002), timeout=60)
        s.sendall(b"{TEN_MB}\\n")
        h = hashlib.sha256(); n = 0
        while chunk := s.recv(1 << 20):
            h.update(chunk); n += len(chunk)
        print(n, h.hexdigest())
    """,
        timeout=150,
    )
    assert raw.split() == [str(TEN_MB), hashlib.sha256(pattern(TEN_MB)).hexdigest()]


def _static_download(ns: Namespace, tmp: Path) -> None:
    need_tool("curl")
    root = tmp / "site"
    root.mkdir()
    (root / "big.bin").write_bytes(os.urandom(TEN_MB))
    want = hashlib.sha256((root / "big.bin").read_bytes()).hexdigest()
    proc = ns.start(
        sys.executable,
        "-m",
        "cohttp",
        "serve",
        "--backend",
        "mirage",
        "--tap",
        "tap0",
        "--ip",
        f"{ns.stack_ip}/24",
        "--host",
        "0.0.0.0",
        "--port",
        "80",
        "--quiet",
        str(root),
        ready="serving on",
    )
    try:
        out = ns.run(
            "curl",
            "-sS",
            "--max-time",
            "120",
            "-o",
            str(tmp / "got.bin"),
            f"http://{ns.stack_ip}/big.bin",
            timeout=150,
        )
        assert out.returncode == 0
        assert hashlib.sha256((tmp / "got.bin").read_bytes()).hexdigest() == want
    finally:
        _stop(proc)


def test_curl_ten_megabytes_each_way(ns: Namespace, stack: subprocess.Popen[bytes]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        _curl_transfers(ns, Path(tmp))


def test_curl_ten_megabytes_each_way_with_five_percent_loss(
    ns: Namespace, stack: subprocess.Popen[bytes]
) -> None:
    _loss(ns, 5)
    with tempfile.TemporaryDirectory() as tmp:
        _curl_transfers(ns, Path(tmp))


def test_cohttp_serve_cli_on_mirage(ns: Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        _static_download(ns, Path(tmp))


def test_dns_serve_cli_on_mirage(ns: Namespace) -> None:
    need_tool("dig")
    with tempfile.TemporaryDirectory() as tmp:
        zone = Path(tmp) / "example.test.zone"
        zone.write_text(
            textwrap.dedent("""\
            $ORIGIN example.test.
            $TTL 300
            @    IN SOA ns1 hostmaster 1 3600 900 604800 60
            @    IN NS  ns1
            ns1  IN A   192.0.2.1
            www  IN A   192.0.2.80
            txt  IN TXT "served by the mirage stack"
        """)
        )
        proc = ns.start(
            sys.executable,
            "-m",
            "dns",
            "serve",
            "--backend",
            "mirage",
            "--tap",
            "tap0",
            "--ip",
            f"{ns.stack_ip}/24",
            "--port",
            "53",
            str(zone),
            ready="answering on",
        )
        try:
            for transport in ("+notcp", "+tcp"):
                out = ns.run(
                    "dig",
                    f"@{ns.stack_ip}",
                    "-p",
                    "53",
                    transport,
                    "+short",
                    "+tries=5",
                    "+time=2",
                    "www.example.test",
                    "A",
                    timeout=60,
                )
                assert out.stdout.decode().strip() == "192.0.2.80"
            out = ns.run(
                "dig",
                f"@{ns.stack_ip}",
                "+short",
                "+tries=5",
                "+time=2",
                "txt.example.test",
                "TXT",
                timeout=60,
            )
            assert "served by the mirage stack" in out.stdout.decode()
        finally:
            _stop(proc)


def test_udp_to_a_closed_port_gets_icmp_port_unreachable(
    ns: Namespace, stack: subprocess.Popen[bytes]
) -> None:
    # the kernel turns our ICMP port unreachable into ECONNREFUSED on a connected socket
    out = ns.python(
        f"""
        import socket
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(5)
        s.connect(("{ns.stack_ip}", 9))
        s.send(b"anyone there?")
        try:
            s.recv(100)
            print("answered")
        except ConnectionRefusedError:
            print("refused")
    """
    )
    assert out.strip() == "refused"
