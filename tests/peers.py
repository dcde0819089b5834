"""Real DNS peers for tests and benchmarks: NSD and Knot on loopback (or in a namespace).

One place that knows how to configure, start, wait for and stop them (the recipe in
shared/notes/peers-and-tools.md: no root defaults, RRL off, minimal responses, every file in
a scratch directory that is removed afterwards, also on failure).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from tests.conftest import need_tool

T = TypeVar("T")


def pin(core: int) -> list[str]:
    """``taskset -c CORE`` to run a command on one CPU, where taskset and that core exist."""
    if shutil.which("taskset") and (os.cpu_count() or 1) > core:
        return ["taskset", "-c", str(core)]
    return []


def free_port(host: str = "127.0.0.1") -> int:
    """A port free for both UDP and TCP on ``host`` right now (checked, then released)."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind((host, 0))
            port = int(udp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind((host, port))
                except OSError:
                    continue
            return port
    raise RuntimeError(f"no port free for both UDP and TCP on {host}")


def soa_query(zone: str, msg_id: int = 0x4242) -> bytes:
    """A minimal, uncompressed SOA query for ``zone`` (no RD, no EDNS)."""
    labels = [label for label in zone.rstrip(".").split(".") if label]
    qname = b"".join(bytes([len(label)]) + label.encode() for label in labels) + b"\x00"
    return struct.pack("!HHHHHH", msg_id, 0, 1, 0, 0, 0) + qname + b"\x00\x06\x00\x01"


def answers(
    port: int,
    *,
    host: str = "127.0.0.1",
    tcp: bool = False,
    zone: str | None = None,
    timeout: float = 0.3,
) -> bool:
    """Whether a DNS server on ``host:port`` answers: with ``zone``, an authoritative
    NOERROR for its SOA (the zone is loaded); without, any reply carrying our ID."""
    query = soa_query(zone or "probe.")
    try:
        if tcp:
            with socket.create_connection((host, port), timeout=timeout) as conn:
                conn.sendall(struct.pack("!H", len(query)) + query)
                reply = conn.recv(4096)[2:]
        else:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                udp.settimeout(timeout)
                udp.sendto(query, (host, port))
                reply = udp.recv(4096)
    except OSError:
        return False
    if len(reply) < 12 or reply[:2] != query[:2]:
        return False
    if zone is None:
        return True
    aa, rcode = reply[2] & 0x04, reply[3] & 0x0F
    return bool(aa) and rcode == 0


def wait_until_answering(
    port: int,
    proc: subprocess.Popen[bytes] | None = None,
    *,
    host: str = "127.0.0.1",
    tcp: bool = False,
    zone: str | None = None,
    deadline: float = 10.0,
    what: str = "server",
    log: Callable[[], str] = lambda: "",
) -> None:
    """Poll until a server answers on ``port`` (for ``zone``, authoritatively); raise with
    its log if it dies or times out."""
    end = time.monotonic() + deadline
    while not answers(port, host=host, tcp=tcp, zone=zone):
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with status {proc.returncode}: {log()}")
        if time.monotonic() > end:
            raise RuntimeError(f"{what} did not answer on {host}:{port} in {deadline}s: {log()}")
        time.sleep(0.05)


def stop(proc: subprocess.Popen[bytes] | subprocess.Popen[str] | None) -> None:
    """SIGTERM, then SIGKILL after five seconds."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def write_zones(scratch: str, zones: Mapping[str, str]) -> dict[str, str]:
    """Write each ``origin: text`` to ``scratch/origin.zone``; return origin -> path."""
    paths = {}
    for origin, text in zones.items():
        path = os.path.join(scratch, f"{origin.rstrip('.')}.zone")
        with open(path, "w") as f:
            f.write(text)
        paths[origin] = path
    return paths


def nsd_zone_clauses(paths: Mapping[str, str]) -> str:
    """NSD ``zone:`` clauses for origin -> zone file path."""
    return "".join(
        f'zone:\n    name: {origin}\n    zonefile: "{path}"\n' for origin, path in paths.items()
    )


def nsd_conf(
    scratch: str, port: int, zone_clauses: str, *, address: str = "127.0.0.1", verbosity: int = 1
) -> str:
    """Write an NSD configuration for a loopback port with no root defaults; return its path.

    RRL is off (Debian's default drops most of a benchmark from one source address), and
    responses are minimal, as the differential tests expect.
    """
    path = os.path.join(scratch, "nsd.conf")
    with open(path, "w") as f:
        f.write(f"""server:
    ip-address: {address}@{port}
    port: {port}
    username: ""
    chroot: ""
    database: ""
    zonesdir: "{scratch}"
    zonelistfile: "{scratch}/zone.list"
    xfrdfile: "{scratch}/xfrd.state"
    xfrdir: "{scratch}"
    pidfile: "{scratch}/nsd.pid"
    logfile: "{scratch}/nsd.log"
    server-count: 1
    do-ip6: no
    minimal-responses: yes
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
    verbosity: {verbosity}
remote-control:
    control-enable: no
{zone_clauses}""")
    return path


@contextlib.contextmanager
def tap_namespace(name: str, kernel_cidr: str, *, mtu: int | None = None) -> Iterator[str]:
    """A network namespace ``name`` with ``lo`` up and a TAP device ``tap0`` holding
    ``kernel_cidr`` (the kernel's side; a mirage stack opens tap0 from inside the
    namespace), deleted again at exit. Needs root; a failing ``ip`` command raises
    :class:`subprocess.CalledProcessError`, the namespace already made is deleted."""
    subprocess.run(["ip", "netns", "add", name], check=True, capture_output=True, text=True)
    try:
        commands = ["ip link set lo up", "ip tuntap add dev tap0 mode tap"]
        if mtu is not None:
            commands.append(f"ip link set tap0 mtu {mtu}")
        commands += [f"ip addr add {kernel_cidr} dev tap0", "ip link set tap0 up"]
        for command in commands:
            subprocess.run(
                ["ip", "netns", "exec", name, *command.split()],
                check=True,
                capture_output=True,
                text=True,
            )
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False, capture_output=True)


_CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd: int) -> None:
    if _libc.setns(fd, _CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


@contextlib.contextmanager
def inside_netns(name: str | None) -> Iterator[None]:
    """Move the calling thread into network namespace ``name`` for the block (a no-op for
    None). Sockets made and processes started inside it live in that namespace, and keep
    living there after the block; the thread returns to its own namespace at exit. Keep
    blocks short and free of awaits: every task of an event loop runs on its thread."""
    if name is None:
        yield
        return
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        target = os.open(f"/run/netns/{name}", os.O_RDONLY | os.O_CLOEXEC)
        try:
            _setns(target)
        finally:
            os.close(target)
        try:
            yield
        finally:
            _setns(home)
    finally:
        os.close(home)


@dataclass
class KernelLink:
    """Where the kernel's own peers (curl, NSD, openssl, a Python socket server...) meet the
    backend under test.

    On asyncio and trio both sides use the kernel's loopback: ``namespace`` is None and
    both addresses are 127.0.0.1. On mirage the backend's stack owns ``tap0`` of a network
    namespace made by the test session: kernel peers run inside that namespace
    (:meth:`argv`, :meth:`inside`), reach our servers at ``host`` (the stack's address) and
    listen on ``peer_host`` (the kernel's side of the TAP), where our clients dial them.
    """

    namespace: str | None = None
    host: str = "127.0.0.1"
    peer_host: str = "127.0.0.1"
    prefix: int = 8
    mac: str | None = None

    def argv(self, *argv: str) -> list[str]:
        """``argv`` run where the kernel's peers live (``ip netns exec NS`` on mirage)."""
        if self.namespace is None:
            return list(argv)
        return ["ip", "netns", "exec", self.namespace, *argv]

    def inside(self) -> contextlib.AbstractContextManager[None]:
        """A block whose sockets (and child processes) live with the kernel's peers."""
        return inside_netns(self.namespace)

    def free_port(self) -> int:
        """A port free for UDP and TCP on ``peer_host``, for a kernel peer to listen on."""
        with self.inside():
            return free_port(self.peer_host)

    def mirage_options(self) -> dict[str, str]:
        """The mirage adapter's options for a stack on this link's TAP device."""
        assert self.namespace is not None and self.mac is not None
        return {"tap": "tap0", "ip": f"{self.host}/{self.prefix}", "mac": self.mac}


LOOPBACK_LINK = KernelLink()
"""The kernel link of the asyncio and trio backends: the loopback of our own namespace."""


@contextlib.contextmanager
def mirage_link(tag: str = "mirage-py-link-") -> Iterator[KernelLink]:
    """A namespace ``<tag><pid>`` with tap0 for mirage stacks to open (see
    :class:`KernelLink`), deleted at exit, also on failure. Namespaces of this tag whose
    process is gone (a session killed before its teardown) are deleted first. Needs root."""
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    for line in listed.splitlines():
        stale = line.split(" ", 1)[0]
        pid = stale[len(tag) :]
        if stale.startswith(tag) and pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
            subprocess.run(["ip", "netns", "del", stale], check=False, capture_output=True)
    name = f"{tag}{os.getpid()}"
    subnet = f"10.78.{random.randrange(1, 250)}"
    with tap_namespace(name, f"{subnet}.1/24"):
        yield KernelLink(name, f"{subnet}.2", f"{subnet}.1", 24, "02:00:5e:10:00:02")


class PeerPool:
    """Peers started on first use, one per (key, link), shared by a module's tests and
    stopped together at its end: a module fixture holds the pool and a test-level fixture
    asks it for the peer on the test's :class:`KernelLink`."""

    def __init__(self) -> None:
        self._stack = contextlib.ExitStack()
        self._peers: dict[tuple[object, str | None], object] = {}

    def get(
        self,
        key: object,
        link: KernelLink,
        start: Callable[[KernelLink], contextlib.AbstractContextManager[T]],
    ) -> T:
        """The peer for ``key`` on ``link``, started with ``start(link)`` the first time."""
        slot = (key, link.namespace)
        if slot not in self._peers:
            self._peers[slot] = self._stack.enter_context(start(link))
        return self._peers[slot]  # type: ignore[return-value]

    def close(self) -> None:
        """Stop every peer started."""
        self._stack.close()


@dataclass
class Peer:
    """A running peer: where it answers and its scratch directory."""

    port: int
    scratch: str
    address: str = "127.0.0.1"

    def log(self) -> str:
        """The tail of the peer's log file, for error messages."""
        for name in ("nsd.log", "knot.log"):
            path = os.path.join(self.scratch, name)
            if os.path.exists(path):
                with open(path, errors="replace") as f:
                    return f.read()[-3000:]
        return "(no log)"


@contextlib.contextmanager
def run_nsd(
    zones: Mapping[str, str] | None = None,
    *,
    zone_conf: Callable[[str], str] | None = None,
    port: int | None = None,
    address: str = "127.0.0.1",
    command_prefix: Sequence[str] = (),
    wait: bool = True,
    link: KernelLink | None = None,
) -> Iterator[Peer]:
    """Run ``nsd -d`` serving ``zones`` (origin -> text) and/or the ``zone:`` clauses that
    ``zone_conf(scratch)`` returns; yield the :class:`Peer` once it answers (for the first
    of ``zones``, authoritatively); stop it and remove its scratch directory on exit.
    ``command_prefix`` runs it elsewhere (``taskset -c 0``, ``ip netns exec NS``: then pass
    ``wait=False`` and check readiness from inside the namespace). ``link`` runs it where
    that :class:`KernelLink`'s peers live, on its ``peer_host``."""
    need_tool("nsd", "nsd-checkconf")
    if link is not None:
        address, command_prefix = link.peer_host, link.argv()
    namespace = link.namespace if link is not None else None
    scratch = tempfile.mkdtemp(prefix="mirage-py-nsd-")
    with inside_netns(namespace):
        port = port or free_port(address)
    peer = Peer(port, scratch, address)
    proc: subprocess.Popen[bytes] | None = None
    try:
        clauses = nsd_zone_clauses(write_zones(scratch, zones or {}))
        if zone_conf is not None:
            clauses += zone_conf(scratch)
        conf = nsd_conf(scratch, peer.port, clauses, address=address)
        checked = subprocess.run(["nsd-checkconf", conf], capture_output=True, text=True)
        if checked.returncode != 0:
            raise RuntimeError(f"nsd-checkconf refused the configuration: {checked.stderr}")
        proc = subprocess.Popen(
            [*command_prefix, "nsd", "-d", "-c", conf],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if wait:
            with inside_netns(namespace):  # the probes' sockets live where NSD does
                wait_until_answering(
                    peer.port,
                    proc,
                    host=address,
                    what="nsd",
                    log=peer.log,
                    zone=next(iter(zones), None) if zones else None,
                )
        yield peer
    finally:
        stop(proc)
        shutil.rmtree(scratch, ignore_errors=True)


@contextlib.contextmanager
def run_knot(
    zones: Mapping[str, str] | None = None,
    *,
    sections: str = "",
    zone_entries: str = "",
    port: int | None = None,
    link: KernelLink | None = None,
) -> Iterator[Peer]:
    """Run ``knotd`` serving ``zones`` (origin -> text) on a loopback port (or on the
    ``peer_host`` of ``link``, inside its namespace); yield the :class:`Peer` once it answers
    (for the first of ``zones``, authoritatively); stop it and remove its scratch directory
    on exit. ``sections`` adds top-level configuration (e.g. ``remote:`` and ``acl:`` for a
    secondary) and ``zone_entries`` more ``zone:`` items."""
    need_tool("knotd")
    link = link or LOOPBACK_LINK
    scratch = tempfile.mkdtemp(prefix="mirage-py-knot-")
    with inside_netns(link.namespace):
        port = port or free_port(link.peer_host)
    peer = Peer(port, scratch, link.peer_host)
    proc: subprocess.Popen[bytes] | None = None
    try:
        paths = write_zones(scratch, zones or {})
        entries = (
            "".join(f'  - domain: {origin}\n    file: "{path}"\n' for origin, path in paths.items())
            + zone_entries
        )
        conf = os.path.join(scratch, "knot.conf")
        with open(conf, "w") as f:
            f.write(f"""server:
    rundir: "{scratch}"
    listen: {link.peer_host}@{peer.port}
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
database:
    storage: "{scratch}"
log:
  - target: "{scratch}/knot.log"
    any: info
{sections}template:
  - id: default
    storage: "{scratch}"
    zonefile-sync: -1
    journal-content: none
zone:
{entries}""")
        proc = subprocess.Popen(
            link.argv("knotd", "-c", conf), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        with inside_netns(link.namespace):
            wait_until_answering(
                peer.port,
                proc,
                host=link.peer_host,
                what="knotd",
                log=peer.log,
                zone=next(iter(zones), None) if zones else None,
            )
        yield peer
    finally:
        stop(proc)
        shutil.rmtree(scratch, ignore_errors=True)
