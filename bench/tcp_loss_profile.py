"""Where a lossy transfer's time goes, on a virtual clock: counts that machine load does
not change.

    .venv/bin/python bench/tcp_loss_profile.py [--size MB] [--loss 5] [--rtt-ms 1]
                                               [--seeds 3] [--congestion cubic]

Two mirage stacks on the in-memory switch (tests/mirage/harness.py), the sender's port
dropping ``--loss`` percent of frames each way (seeded) and delaying every frame by half
of ``--rtt-ms`` each way. Processing costs no virtual time, so the goodput printed is what
the loss-recovery and congestion mechanisms allow at that round trip, and the sender's
profile (backends.mirage.tcp.stats.LossStats.profile) says where the rest of the time
went: retransmission timeouts and the time they ran, probes, recoveries, lost
retransmissions by how they were found, time with the window full. The receiver's
delayed ACKs are printed too.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from backends.mirage.faults import Faults
from backends.mirage.stack import StackConfig
from backends.mirage.tcp import TcpConfig
from backends.mirage.tcp.congestion import CONTROLLERS
from tests.mirage.harness import Net, transfer


def run(size: int, loss: float, rtt: float, seed: int, congestion: str) -> dict[str, float]:
    """One transfer a -> b; the sender's profile plus goodput (virtual MB/s)."""
    faults = Faults(drop=loss, delay=rtt / 2, seed=seed)
    config = StackConfig(tcp=TcpConfig(congestion=congestion))
    net = Net(faults_a=faults, config_a=config, config_b=StackConfig(tcp=TcpConfig()))
    sender, receiver = net.pair()
    data = random.Random(seed).randbytes(size)
    start = net.clock.time
    got = transfer(net, sender, receiver, data, limit=3600.0)
    elapsed = net.clock.time - start
    assert got == data
    profile = {"MB/s": round(size / elapsed / 1e6, 2), "seconds": round(elapsed, 3)}
    profile.update(sender.loss_stats.profile(sender.mss))
    profile["receiver_delacks"] = receiver.loss_stats.delacks
    return profile


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--size", type=float, default=20, help="MB per transfer (default 20)")
    p.add_argument("--loss", type=float, default=5, help="percent dropped each way")
    p.add_argument("--rtt-ms", type=float, default=1.0, help="round trip added by the link")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--congestion", default="cubic", choices=sorted(CONTROLLERS))
    args = p.parse_args()
    size = int(args.size * 1e6)
    profiles = [
        run(size, args.loss / 100, args.rtt_ms / 1000, seed, args.congestion)
        for seed in range(args.seeds)
    ]
    print(
        f"{size / 1e6:.0f} MB at {args.loss:g}% loss each way, RTT {args.rtt_ms:g} ms, "
        f"{args.congestion}, virtual clock; medians of {args.seeds} seeds:"
    )
    text = ", ".join(
        f"{name} {statistics.median(p[name] for p in profiles):g}" for name in profiles[0]
    )
    print(textwrap.fill(text, 96, initial_indent="  ", subsequent_indent="  "))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
