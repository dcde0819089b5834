"""TCP goodput of the mirage stack: over TAP against the kernel, over the in-memory switch
against itself, and kernel loopback sockets for reference; median of N runs, same run.

    sudo .venv/bin/python bench/tcp_tap.py [--size MB] [--runs 5] [--mtu 1500 --mtu 9000]
                                           [--loss 5] [--congestion cubic --congestion bbr]
                                           [--no-switch] [--no-clean]

The TAP part needs root: it makes network namespaces ``mpy-bench-<pid>-...`` with
``tap0`` (kernel 10.77.250.1/24, our stack 10.77.250.2/24 in a subprocess), and deletes
them at the end. "upload" is kernel -> our stack, "download" our stack -> kernel. CPU
seconds are the stack process's user+system time for the transfer (for the switch and
loopback rows, the whole benchmark process: both ends). Rows give the median and, in
brackets, the quartiles of the runs.

The clean TAP rows run two stacks side by side, one with virtio-net offload (super-
segments and partial checksums both ways, the default) and one with plain frames,
alternating transfers, and print the ratio of each pair (median and quartiles).

With ``--loss`` the switch rows repeat with seeded loss and print the sender's loss
profile, and the TAP rows repeat with nftables loss, per segment both ways, alternating
with two references measured in the same run: our download without loss but in single
segments (what this process can send one segment at a time: the loss rows' ceiling), and
kernel -> kernel over a veth pair between two namespaces with the same rule (the best the
kernel's own TCP does under that loss, with its ``nstat`` counters), once with the
kernel's cubic and once with its bbr (TCP_CONGESTION). ``--congestion`` may be repeated:
the loss rows (and the switch's loss rows) then run for each of our controllers, in the
same alternation, with the ratio of each to the first.

Each frame crosses the loss rule alone: the bench sets tap0's ``gso_max_segs`` to 1
(below), which our stack reads as the device's limit (``netif.gso_limits``), so neither
the kernel nor our stack hands the rule a super-segment that it would drop as one
(a single drop of 44 segments is one congestion event, not 44 losses). The upload row is
not lossy the same way: a segment the kernel sends that the output rule drops comes back
to its TCP as a local send error and goes out again at once, uncounted (its RetransSegs
stays near 0, printed), so that row loses ACKs only. The download's
profile says where the sender's time went (backends.mirage.tcp.stats.LossStats.profile:
timeouts and the time they ran, probes, recoveries, lost retransmissions, time with the
window full, RTT samples, cwnd and ssthresh at losses).

A loss-based sender (NewReno, CUBIC, the kernel's own) averages a window of about
1.22/sqrt(p) segments under random loss p (Mathis et al., 1997): 5.5 at 5%, about 8 KB
per round trip, so its goodput is set by the round trip: 30 MB/s at 5% needs one under
~0.27 ms. bench/tcp_loss_profile.py checks this on a virtual clock, where processing
costs nothing: at 5% loss each way NewReno moves ~29 MB/s at a 0.25 ms round trip and
~8 MB/s at 1 ms; CUBIC ~32 and ~10. Over TAP the profile shows the sender window-limited
nearly all the time. Its timestamp samples (a 1 ms clock) read the round trip as 0 or 1
ms; ``rtt_timed_median_ms``, one segment per round trip timed on the host clock, put it
at ~0.2-0.3 ms for CUBIC's ~7-segment window and ~1 ms for BBR's ~46 (one quiet run).
Most tail-loss probes find nothing lost (``probes_spurious``: a D-SACK of the probe came
back, 23 of 29 per CUBIC transfer) but cost one segment each, and those sent during a
recovery (``probes_recovery``) save timeouts (Connection._arm_tlp). The rest
was retransmission timeouts: a capture on tap0 showed the kernel receiver at times
sending no ACK at all for a run of in-order segments and the probe after them, then
answering the timeout's retransmission at once with a D-SACK (the timeout was
spurious). The 40 ms floor while several segments are out (TcpConfig.rto_min_flight)
and Eifel detection (RFC 3522) make those cheap; the kernel between two namespaces
times out far more often under the same rule.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import select
import signal
import socket
import statistics
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from backends.mirage.tcp.congestion import CONTROLLERS  # noqa: E402
from tests.peers import tap_namespace  # noqa: E402

Result = tuple[float, float]  # (MB/s, cpu seconds)


def _median(runs: list[Result]) -> Result:
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def _quartiles(values: list[float]) -> tuple[float, float]:
    if len(values) < 2:
        return values[0], values[0]
    q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, q3


def _row(name: str, runs: list[Result], size: int) -> None:
    mbps, cpu = _median(runs)
    q1, q3 = _quartiles([r[0] for r in runs])
    spread = f"{q1:7.1f}..{q3:<7.1f}"
    print(
        f"  {name:<52} {mbps:8.1f} MB/s  ({spread})  cpu {cpu:6.2f} s for {size / 1e6:.0f} MB",
        flush=True,
    )


def _ratio_row(name: str, top: list[Result], bottom: list[Result]) -> None:
    ratios = [a[0] / b[0] for a, b in zip(top, bottom, strict=True)]
    q1, q3 = _quartiles(ratios)
    print(f"  {name:<52} {statistics.median(ratios):8.2f} x     ({q1:.2f}..{q3:.2f})", flush=True)


# -- kernel loopback ----------------------------------------------------------------------


def kernel_loopback(size: int) -> Result:
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    block = os.urandom(1 << 20)
    got = [0]

    def receive() -> None:
        conn, _ = server.accept()
        with conn:
            while data := conn.recv(1 << 20):
                got[0] += len(data)

    thread = threading.Thread(target=receive)
    thread.start()
    cpu0, t0 = time.process_time(), time.perf_counter()
    with socket.create_connection(("127.0.0.1", port)) as client:
        left = size
        while left > 0:
            piece = block[: min(left, len(block))]
            client.sendall(piece)
            left -= len(piece)
    thread.join()
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    server.close()
    assert got[0] == size
    return size / elapsed / 1e6, cpu


# -- our stack against itself over the switch ------------------------------------------------


def switch_run(
    size: int,
    mtu: int,
    host: str,
    loss: int = 0,
    congestion: str = "cubic",
    seed: int = 0,
    recovery: list[dict[str, float]] | None = None,
) -> Result:
    """One transfer a -> b; with ``loss``, a's port drops that percentage of frames each
    way (seeded), and the sender's loss-recovery counters go to ``recovery``."""
    import anyio

    from backends.mirage.adapter import open_backend
    from backends.mirage.faults import Faults
    from backends.mirage.netif import Switch
    from backends.mirage.tcp import TcpConfig

    result: list[Result] = []
    faults = Faults(drop=loss / 100, seed=seed) if loss else None

    async def main() -> None:
        switch = Switch(mtu=mtu)
        async with (
            open_backend(
                switch=switch, ip="10.9.0.1/24", faults=faults, tcp=TcpConfig(congestion=congestion)
            ) as a,
            open_backend(
                switch=switch, ip="10.9.0.2/24", tcp=TcpConfig(congestion=congestion)
            ) as b,
            await b.tcp_listen("0.0.0.0", 9) as listener,
        ):
            block = os.urandom(1 << 20)
            done = anyio.Event()
            got = [0]

            async def sink() -> None:
                flow = await listener.accept()
                while data := await flow.read(1 << 20):
                    got[0] += len(data)
                await flow.close()
                done.set()

            async with anyio.create_task_group() as tg:
                tg.start_soon(sink)
                cpu0, t0 = time.process_time(), time.perf_counter()
                flow = await a.tcp_connect("10.9.0.2", 9)
                left = size
                while left > 0:
                    piece = block[: min(left, len(block))]
                    await flow.write(piece)
                    left -= len(piece)
                await flow.shutdown_write()
                await done.wait()
                elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
                if recovery is not None:
                    connection = flow.connection
                    recovery.append(connection.loss_stats.profile(connection.mss))
                await flow.close()
            assert got[0] == size
            result.append((size / elapsed / 1e6, cpu))

    anyio.run(main, backend=host)
    return result[0]


# -- random loss, and the kernel's own counters -----------------------------------------------


def _start_ready(argv: list[str], what: str) -> subprocess.Popen[bytes]:
    """Start ``argv`` (from the repository, in its own session, so that its process group
    can be killed) and wait for the "ready" line it prints once it serves."""
    proc = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.PIPE, start_new_session=True)
    assert proc.stdout is not None
    if b"ready" not in proc.stdout.readline():
        raise RuntimeError(f"{what} did not start")
    return proc


def _drop_rule(ns: str, loss: int) -> None:
    """Drop ``loss`` percent of packets both ways, by nftables inside ``ns`` (no netem
    on this kernel)."""
    rule = f"numgen random mod 100 < {loss} drop;"
    subprocess.run(
        ["ip", "netns", "exec", ns, "nft", "-f", "-"],
        input=(
            "table inet mpybench {\n"
            f" chain in {{ type filter hook input priority 0; {rule} }}\n"
            f" chain out {{ type filter hook output priority 0; {rule} }}\n"
            "}\n"
        ).encode(),
        check=True,
        capture_output=True,
    )


KERNEL_COUNTERS = {
    "TCPTimeouts": "timeouts",
    "TCPLossProbes": "probes",
    "TCPSackRecovery": "recoveries",
    "TCPLostRetransmit": "lost_retx",
    "TCPDSACKRecv": "dsacks",
    "RetransSegs": "retransmitted",
    "TCPDelivered": "delivered",
}
"""Linux's per-namespace TCP counters (``nstat`` names) shown beside our LossStats."""


def kernel_counters(ns: str) -> dict[str, int]:
    """/proc/net/netstat and /proc/net/snmp of namespace ``ns``, by ``nstat`` name."""
    out: dict[str, int] = {}
    for path in ("/proc/net/netstat", "/proc/net/snmp"):
        text = subprocess.run(
            ["ip", "netns", "exec", ns, "cat", path], check=True, capture_output=True, text=True
        ).stdout.splitlines()
        for names, values in zip(text[::2], text[1::2], strict=False):
            for name, value in zip(names.split()[1:], values.split()[1:], strict=False):
                if name in KERNEL_COUNTERS and value.lstrip("-").isdigit():
                    out[KERNEL_COUNTERS[name]] = int(value)
    return out


# -- kernel to kernel over a veth pair (the reference for the loss rows) ---------------------


class VethBench:
    """Two namespaces joined by a veth pair, single segments per packet, the same loss
    rule as the TAP rows in the receiver's namespace: the best this machine's kernel
    does under that loss, sender and receiver both kernels."""

    def __init__(self, mtu: int, loss: int) -> None:
        self.loss = loss
        self.mtu = mtu
        self.send_ns = f"mpy-bench-{os.getpid()}-vs"
        self.recv_ns = f"mpy-bench-{os.getpid()}-vr"
        self.recv_ip = "10.77.251.2"
        self.counters: list[dict[str, int]] = []
        """The sender namespace's counters per transfer."""
        self.proc: subprocess.Popen[bytes] | None = None

    def _ip(self, *argv: str) -> None:
        subprocess.run(["ip", *argv], check=True, capture_output=True)

    def __enter__(self) -> VethBench:
        made: list[str] = []
        try:
            for ns in (self.send_ns, self.recv_ns):
                self._ip("netns", "add", ns)
                made.append(ns)
                self._ip("-n", ns, "link", "set", "lo", "up")
            self._ip(
                "-n", self.send_ns, "link", "add", "veth0", "type", "veth",
                "peer", "name", "veth1", "netns", self.recv_ns,
            )  # fmt: skip
            for ns, ip, dev in (
                (self.send_ns, "10.77.251.1", "veth0"),
                (self.recv_ns, self.recv_ip, "veth1"),
            ):
                # one segment per packet, as on tap0: the loss is per segment
                self._ip("-n", ns, "link", "set", dev, "mtu", str(self.mtu), "gso_max_segs", "1")
                self._ip("-n", ns, "addr", "add", f"{ip}/24", "dev", dev)
                self._ip("-n", ns, "link", "set", dev, "up")
            if self.loss:
                _drop_rule(self.recv_ns, self.loss)
            self.proc = _start_ready(
                ["ip", "netns", "exec", self.recv_ns, sys.executable, "-c", _VETH_SINK],
                "the veth sink",
            )
        except BaseException:
            for ns in made:
                subprocess.run(["ip", "netns", "del", ns], check=False, capture_output=True)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=10)
        for ns in (self.send_ns, self.recv_ns):
            subprocess.run(["ip", "netns", "del", ns], check=False, capture_output=True)

    def send(self, size: int, congestion: str = "cubic") -> Result:
        """One transfer sender -> receiver, timed to the receiver's answer; the sender's
        socket uses the kernel's ``congestion`` controller (TCP_CONGESTION)."""
        before = kernel_counters(self.send_ns)
        code = f"""
            import socket, time, os, resource
            block = os.urandom(1 << 20)
            s = socket.socket()
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, b"{congestion}")
            s.connect(("{self.recv_ip}", 9000))
            r0 = resource.getrusage(resource.RUSAGE_SELF)
            t0 = time.perf_counter(); left = {size}
            while left > 0:
                piece = block[:min(left, len(block))]; s.sendall(piece); left -= len(piece)
            s.shutdown(socket.SHUT_WR)
            answer = s.recv(64)
            elapsed = time.perf_counter() - t0
            r1 = resource.getrusage(resource.RUSAGE_SELF)
            assert answer.split()[0] == b"{size}", answer
            print(r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime, elapsed)
        """
        out = subprocess.run(
            ["ip", "netns", "exec", self.send_ns, sys.executable, "-c", textwrap.dedent(code)],
            check=True,
            capture_output=True,
            timeout=600,
        ).stdout.split()
        after = kernel_counters(self.send_ns)
        self.counters.append({k: after.get(k, 0) - v for k, v in before.items()})
        return size / float(out[-1]) / 1e6, float(out[-2])


_VETH_SINK = """
import socket
server = socket.create_server(("0.0.0.0", 9000))
print("ready", flush=True)
while True:
    conn, _ = server.accept()
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    n = 0
    while chunk := conn.recv(1 << 20):
        n += len(chunk)
    conn.sendall(f"{n}\\n".encode())
    conn.close()
"""


def _profile_row(profiles: list[dict[str, float]]) -> None:
    """The medians of each field of ``profiles``, wrapped."""
    text = ", ".join(
        f"{name} {statistics.median(p.get(name, 0) for p in profiles):g}" for name in profiles[0]
    )
    print(textwrap.fill(text, 96, initial_indent="    ", subsequent_indent="    "), flush=True)


# -- our stack over TAP against the kernel ---------------------------------------------------


class TapBench:
    """A namespace with tap0 and the tapapp servers on our stack."""

    def __init__(
        self,
        mtu: int,
        loss: int = 0,
        congestion: str = "cubic",
        offload: bool = True,
        single: bool = False,
        tag: str = "",
    ) -> None:
        self.loss = loss
        self.single = single or bool(loss)
        self.profiles: list[dict[str, float]] = []
        """The stack's loss profile of each download (with ``single``)."""
        self.congestion = congestion
        self.offload = offload
        self.ns = f"mpy-bench-{os.getpid()}-{mtu}-{'o' if offload else 'p'}{loss}{tag}"
        self.kernel_ip = "10.77.250.1"
        self.stack_ip = "10.77.250.2"
        self.mtu = mtu
        self.proc: subprocess.Popen[bytes] | None = None
        self._namespace = contextlib.ExitStack()

    def sh(self, *argv: str, **kw: object) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            ["ip", "netns", "exec", self.ns, *argv], check=True, capture_output=True, **kw
        )  # type: ignore[call-overload]

    def __enter__(self) -> TapBench:
        self._namespace.enter_context(tap_namespace(self.ns, f"{self.kernel_ip}/24", mtu=self.mtu))
        try:
            if self.single:
                # The kernel's TCP hands netfilter whole GSO packets (tens of segments,
                # cut up only later at the device): a rule that drops 5% of those drops
                # bursts, which a sender sees as a few congestion events instead of one
                # per lost segment. One segment per packet makes the loss per segment
                # both ways (it was 21 MB/s of upload per GSO packet against 6 MB/s per
                # segment, same run). Our stack honours the device's limit for its own
                # super-segments too (backends.mirage.netif.gso_limits), so its sends are
                # single segments as well.
                self.sh("ip", "link", "set", "tap0", "gso_max_segs", "1")
            if self.loss:
                _drop_rule(self.ns, self.loss)
            self.proc = _start_ready(
                [
                    "ip",
                    "netns",
                    "exec",
                    self.ns,
                    sys.executable,
                    "-m",
                    "tests.mirage.tapapp",
                    "--tap",
                    "tap0",
                    "--ip",
                    f"{self.stack_ip}/24",
                    "--no-http",
                    "--congestion",
                    self.congestion,
                    *([] if self.offload else ["--no-offload"]),
                    *(["--stats"] if self.single else []),
                ],
                "the stack process",
            )
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=10)
        self._namespace.close()

    def _stack_cpu(self) -> float:
        # the python child of `ip netns exec` (exec'd in place: same pid)
        assert self.proc is not None
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def _client(self, code: str) -> float:
        out = self.sh(sys.executable, "-c", textwrap.dedent(code), timeout=600)
        return float(out.stdout.decode().split()[-1])

    def upload(self, size: int) -> Result:
        cpu0 = self._stack_cpu()
        elapsed = self._client(f"""
            import socket, time, os, hashlib
            block = os.urandom(1 << 20)
            s = socket.create_connection(("{self.stack_ip}", 9000))
            t0 = time.perf_counter(); left = {size}; h = hashlib.sha256()
            while left > 0:
                piece = block[:min(left, len(block))]; s.sendall(piece); left -= len(piece)
            s.shutdown(socket.SHUT_WR)
            answer = b""
            while chunk := s.recv(4096): answer += chunk
            elapsed = time.perf_counter() - t0
            assert answer.split()[0] == b"{size}", answer
            print(elapsed)
        """)
        return size / elapsed / 1e6, self._stack_cpu() - cpu0

    def download(self, size: int) -> Result:
        cpu0 = self._stack_cpu()
        elapsed = self._client(f"""
            import socket, time
            s = socket.create_connection(("{self.stack_ip}", 9002))
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
            t0 = time.perf_counter(); s.sendall(b"{size}\\n"); n = 0
            while chunk := s.recv(1 << 20): n += len(chunk)
            elapsed = time.perf_counter() - t0
            assert n == {size}, n
            print(elapsed)
        """)
        cpu = self._stack_cpu() - cpu0
        if self.single:
            self.profiles.append(self._profile())
        return size / elapsed / 1e6, cpu

    def _profile(self) -> dict[str, float]:
        """The JSON line tapapp prints after the source connection closed."""
        assert self.proc is not None and self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], 30.0)
        if not ready:
            raise RuntimeError("the stack process printed no profile within 30 s")
        profile: dict[str, float] = json.loads(self.proc.stdout.readline())
        return profile


def _repeat(fn: Callable[[], Result], runs: int) -> list[Result]:
    return [fn() for _ in range(runs)]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--size", type=float, default=20, help="MB per transfer (default 20)")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument(
        "--mtu", type=int, action="append", help="TAP MTUs to test (default: 1500 and 9000)"
    )
    p.add_argument("--host", default="asyncio", choices=["asyncio", "trio"])
    p.add_argument(
        "--congestion",
        action="append",
        choices=sorted(CONTROLLERS),
        help="the stack's congestion control (RFC 5681/6582, RFC 9438, draft-ietf-ccwg-bbr);"
        " repeat it for loss rows of each (default: cubic; the clean rows use the first)",
    )
    p.add_argument(
        "--loss",
        type=int,
        default=0,
        help="also run the TAP rows with this %% loss each way (nftables)",
    )
    p.add_argument("--no-switch", action="store_true", help="skip the in-memory switch rows")
    p.add_argument(
        "--no-clean", action="store_true", help="skip the TAP rows without loss (with --loss)"
    )
    args = p.parse_args()
    size = int(args.size * 1e6)
    mtus = args.mtu or [1500, 9000]
    args.congestion = args.congestion or ["cubic"]
    print(
        f"TCP goodput, median of {args.runs} runs of {size / 1e6:.0f} MB (quartiles in brackets)",
        flush=True,
    )
    print("kernel loopback sockets (reference):")
    _row("kernel -> kernel, 127.0.0.1", _repeat(lambda: kernel_loopback(size), args.runs), size)
    if not args.no_switch:
        _switch_rows(args, size, mtus)
    if os.geteuid() != 0:
        print("TAP rows skipped: they need root (network namespaces)")
        return 0
    if not (args.no_clean and args.loss):
        _clean_rows(args, size, mtus)
    if args.loss:
        _loss_rows(args, size, mtus)
    print(
        "reference (measured earlier on this machine, not in this run): PyTCP 2.7.6 "
        "0.54 MB/s receiving, 1.06 MB/s sending"
    )
    return 0


def _clean_rows(args: argparse.Namespace, size: int, mtus: list[int]) -> None:
    print("mirage over TAP against the Linux kernel (kernel client in a namespace):")
    for mtu in mtus:
        with (
            TapBench(mtu, congestion=args.congestion[0]) as fast,
            TapBench(mtu, congestion=args.congestion[0], offload=False) as plain,
        ):
            for what, way in (("upload", "kernel -> mirage"), ("download", "mirage -> kernel")):
                on: list[Result] = []
                off: list[Result] = []
                for _ in range(args.runs):  # alternating, so both see the same load
                    on.append(getattr(fast, what)(size))
                    off.append(getattr(plain, what)(size))
                _row(f"{what:<8} {way}, MTU {mtu}", on, size)
                _row(f"{what:<8} {way}, MTU {mtu}, no offload", off, size)
                _ratio_row("    offload / no offload, pairwise", on, off)


def _loss_rows(args: argparse.Namespace, size: int, mtus: list[int]) -> None:
    loss = args.loss
    controllers: list[str] = args.congestion
    print(
        f"with {loss}% loss each way (nftables in the namespace, one segment per packet), "
        "alternating transfers:"
    )
    for mtu in mtus:
        with contextlib.ExitStack() as stack:
            benches = {
                cc: stack.enter_context(TapBench(mtu, loss, cc, tag=str(i)))
                for i, cc in enumerate(controllers)
            }
            clean = stack.enter_context(TapBench(mtu, 0, controllers[0], single=True))
            veth = stack.enter_context(VethBench(mtu, loss))
            first = benches[controllers[0]]
            up: list[Result] = []
            down: dict[str, list[Result]] = {cc: [] for cc in controllers}
            ceiling: list[Result] = []
            kernel: dict[str, list[Result]] = {"cubic": [], "bbr": []}
            counters: dict[str, list[dict[str, int]]] = {"cubic": [], "bbr": []}
            uploads: list[dict[str, int]] = []  # the kernel sender's counters, per upload
            for _ in range(args.runs):
                before = kernel_counters(first.ns)
                up.append(first.upload(size))
                after = kernel_counters(first.ns)
                uploads.append({k: after.get(k, 0) - v for k, v in before.items()})
                for cc, bench in benches.items():
                    down[cc].append(bench.download(size))
                ceiling.append(clean.download(size))
                for cc, runs in kernel.items():
                    runs.append(veth.send(size, cc))
                    counters[cc].append(veth.counters[-1])
            _row(f"upload   kernel -> mirage, MTU {mtu}, {loss}% loss", up, size)
            print("    the kernel sender's counters, medians:")
            _profile_row([dict(c) for c in uploads])
            for cc, bench in benches.items():
                _row(f"download mirage -> kernel, MTU {mtu}, {loss}% loss, {cc}", down[cc], size)
                print(f"    the sender's (mirage, {cc}) profile, medians (times in s):")
                _profile_row(bench.profiles)
            _row(f"download mirage -> kernel, MTU {mtu}, no loss, single segments", ceiling, size)
            for cc, runs in kernel.items():
                _row(f"kernel -> kernel over veth, MTU {mtu}, {loss}% loss, {cc}", runs, size)
                print(
                    f"    the kernel sender's counters ({cc}; nstat names in the bench), medians:"
                )
                _profile_row([dict(c) for c in counters[cc]])
            for cc in controllers:
                _ratio_row(
                    f"    download {cc} at loss / kernel cubic at loss", down[cc], kernel["cubic"]
                )
                _ratio_row(
                    f"    download {cc} at loss / kernel bbr at loss", down[cc], kernel["bbr"]
                )
                _ratio_row(f"    download {cc} at loss / single segments", down[cc], ceiling)
            for cc in controllers[1:]:
                _ratio_row(
                    f"    download {cc} / {controllers[0]}, at loss", down[cc], down[controllers[0]]
                )
            _ratio_row("    upload (kernel -> mirage) / kernel -> kernel", up, kernel["cubic"])


def _switch_rows(args: argparse.Namespace, size: int, mtus: list[int]) -> None:
    print(f"mirage <-> mirage over the in-memory switch (one process, {args.host} host):")
    for mtu in mtus:
        _row(
            f"switch, MTU {mtu}",
            _repeat(lambda mtu=mtu: switch_run(size, mtu, args.host), args.runs),
            size,
        )  # type: ignore[misc]
    if args.loss:
        print(
            f"the same with {args.loss}% loss each way (seeded faults on the sender's port; "
            "the sender's recovery counters, medians):"
        )
        for mtu in mtus:
            for cc in args.congestion:
                counters: list[dict[str, float]] = []
                runs = [
                    switch_run(size, mtu, args.host, args.loss, cc, seed, counters)
                    for seed in range(args.runs)
                ]
                _row(f"switch, MTU {mtu}, {args.loss}% loss, {cc}", runs, size)
                _profile_row(counters)


if __name__ == "__main__":
    raise SystemExit(main())
