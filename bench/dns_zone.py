"""Benchmark: loading a big zone, ours against ``nsd-checkzone``, time and peak memory.

Generates a zone of about ``--records`` records (1.5 M by default, about 50 MB: A, AAAA,
MX, TXT, SRV, CNAME and delegations with glue, relative names, blank owners) in a scratch
directory under /tmp (removed at the end, never committed), then loads it alternately with
``python -m dns check`` and ``nsd-checkzone``, ``--rounds`` times each, each in a fresh
process whose wall time and peak RSS (``wait4``'s ru_maxrss) are taken. Prints each run and
the medians, and the ratios ours / NSD (the goal of issue 17: time <= 5x, memory <= 2x).

    python bench/dns_zone.py [--records 1500000] [--rounds 3] [--keep]

Needs nsd-checkzone (Debian package nsd) for the comparison; without it only ours runs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ORIGIN = "big.test."


def generate(path: str, records: int) -> int:
    """Write the zone; return the number of records written."""
    written = 0
    with open(path, "w") as f:
        f.write(f"$ORIGIN {ORIGIN}\n$TTL 3600\n")
        f.write("@ IN SOA ns1 hostmaster 2024010101 7200 3600 1209600 300\n")
        f.write("@ NS ns1\n@ NS ns2\nns1 A 192.0.2.1\nns2 A 192.0.2.2\n")
        written += 6
        i = 0
        while written < records:
            i += 1
            a, b, c = (i >> 16) & 255, (i >> 8) & 255, i & 255
            kind = i % 10
            if kind == 0:
                # A delegation with glue.
                f.write(f"sub{i} NS ns.sub{i}\nns.sub{i} A 10.{a}.{b}.{c}\n")
                written += 2
                continue
            f.write(f"host{i} A 10.{a}.{b}.{c}\n")
            f.write(f"\tAAAA 2001:db8::{a:x}:{b:x}:{c:x}\n")
            written += 2
            if kind in (1, 4, 7):
                f.write(f"host{i} 300 IN MX 10 mail{i % 97}.example.net.\n")
                written += 1
            if kind in (2, 5):
                f.write(f'host{i} TXT "v=spf1 ip4:10.{a}.{b}.0/24 -all" "id={i}"\n')
                written += 1
            if kind == 3:
                f.write(f"_sip._tcp.host{i} SRV 10 60 5060 host{i}\nalias{i} CNAME host{i}\n")
                written += 2
    return written


def measure(argv: list[str]) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (user + system) and peak RSS (bytes) of one run of
    ``argv`` (which must succeed). On a shared machine the CPU time is the steadier one."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.returncode != 0:
        raise SystemExit(f"{argv[0]} failed ({proc.returncode}): {err[-500:]}")
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=1_500_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the generated zone")
    args = parser.parse_args()
    scratch = tempfile.mkdtemp(prefix="mirage-py-zone-bench-")
    try:
        path = os.path.join(scratch, "big.test.zone")
        count = generate(path, args.records)
        print(f"zone: {count} records, {os.path.getsize(path) / 1e6:.1f} MB at {path}")
        runners = {"ours": [sys.executable, "-m", "dns", "check", "--origin", ORIGIN, path]}
        nsd = shutil.which("nsd-checkzone")
        if nsd is not None:
            runners["nsd-checkzone"] = [nsd, ORIGIN, path]
        else:
            print("nsd-checkzone not found (Debian package nsd): ours only")
        results: dict[str, list[tuple[float, float, int]]] = {name: [] for name in runners}
        for round_no in range(args.rounds):
            for name, argv in runners.items():
                wall, cpu, rss = measure(argv)
                results[name].append((wall, cpu, rss))
                print(
                    f"round {round_no + 1} {name:14} {wall:7.2f} s wall {cpu:7.2f} s CPU "
                    f"{rss / 2**20:8.0f} MiB"
                )
        medians: dict[str, tuple[float, float, float]] = {
            name: (
                statistics.median(run[0] for run in runs),
                statistics.median(run[1] for run in runs),
                statistics.median(run[2] for run in runs),
            )
            for name, runs in results.items()
        }
        for name, (mwall, mcpu, mrss) in medians.items():
            print(f"median {name:14} {mwall:7.2f} s wall {mcpu:7.2f} s CPU {mrss / 2**20:8.0f} MiB")
        if "nsd-checkzone" in medians:
            (ws, cs, rs), (wn, cn, rn) = medians["ours"], medians["nsd-checkzone"]
            print(
                f"ours / nsd-checkzone: wall {ws / wn:.2f}x, CPU {cs / cn:.2f}x (goal <= 5), "
                f"peak memory {rs / rn:.2f}x (goal <= 2)"
            )
    finally:
        if args.keep:
            print(f"kept {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
