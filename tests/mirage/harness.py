"""Two (or more) sans-IO stacks on an in-memory switch, on a virtual clock."""

from __future__ import annotations

from backends.mirage.faults import Faults, FaultyNetif
from backends.mirage.ipv4 import ip_to_int
from backends.mirage.netif import Netif, Switch
from backends.mirage.sched import Scheduler, VirtualClock
from backends.mirage.stack import Stack, StackConfig
from backends.mirage.tcp import Connection

A_IP = ip_to_int("10.0.0.1")
B_IP = ip_to_int("10.0.0.2")


class Net:
    """A switch, a virtual clock, and stacks ``a`` and ``b``."""

    def __init__(
        self,
        *,
        faults_a: Faults | None = None,
        config_a: StackConfig | None = None,
        config_b: StackConfig | None = None,
        mtu: int = 1500,
    ) -> None:
        self.clock = VirtualClock()
        self.sched = Scheduler(self.clock)
        self.switch = Switch(self.sched, mtu=mtu)
        port_a: Netif = self.switch.port()
        self.faulty: FaultyNetif | None = None
        if faults_a is not None:
            self.faulty = FaultyNetif(port_a, faults_a, self.sched)
            port_a = self.faulty
        # the same run every time: the stacks' IPv6 side sends its listener reports and
        # solicitations after random delays (RFC 3810 6.1, RFC 4861 6.3.7)
        config_a = config_a or StackConfig()
        config_b = config_b or StackConfig()
        for config in (config_a, config_b):
            config.ndp.rng.seed(0x5EED)
        with self.sched:
            self.a = Stack(self.sched, port_a, A_IP, 24, config=config_a)
            self.b = Stack(self.sched, self.switch.port(), B_IP, 24, config=config_b)

    def run(self, until: object, limit: float = 600.0) -> None:
        """Advance virtual time until ``until()`` holds; fail the test on a stall."""
        assert callable(until)
        assert self.clock.run(self.sched, until, limit=limit), "stalled: condition never held"

    def pair(self, port: int = 80) -> tuple[Connection, Connection]:
        """An established connection a -> b."""
        listener = self.b.tcp.listen(0, port, 16)
        with self.sched:
            client = self.a.tcp.connect(A_IP, B_IP, port)
        self.run(lambda: bool(listener.queue))
        server = listener.accept()
        assert server is not None
        return client, server


def transfer(
    net: Net,
    sender: Connection,
    receiver: Connection,
    data: bytes,
    *,
    limit: float = 3600.0,
    read_size: int = 1 << 20,
) -> bytes:
    """Send ``data`` then FIN from ``sender``; read everything at ``receiver``."""
    got: list[bytes] = []
    sent = 0
    view = memoryview(data)

    def step() -> bool:
        nonlocal sent
        with net.sched:
            if sent < len(data):
                sent += sender.send(view[sent : sent + (1 << 20)])
                if sent == len(data):
                    sender.shutdown()
            while True:
                chunk = receiver.recv(read_size)
                if not chunk:
                    break
                got.append(chunk)
        return receiver.rcv_eof and not receiver.rcv_chunks

    sender.on_writable = receiver.on_readable = None
    end = net.clock.time + limit
    while not step():
        if net.sched.idle:
            deadline = net.sched.next_deadline()
            assert deadline is not None and deadline <= end, "transfer stalled"
            net.clock.time = max(net.clock.time, deadline)
            net.sched.run_due()
    return b"".join(got)
