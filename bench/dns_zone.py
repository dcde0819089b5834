"""Benchmark: loading a big zone, ours against ``nsd-checkzone``, time and peak memory.

Two zones, made in a scratch directory under /tmp (removed at the end, never committed):

* a generated one of about ``--records`` records (1.5 M by default, about 45 MB: A, AAAA,
  MX, TXT, SRV, CNAME and delegations with glue, relative names, blank owners);
* a signed one: a generated zone of ``--signed-records`` records (100 k by default) signed
  by ``dnssec-signzone`` (ECDSA P-256, NSEC), as a signer writes it: absolute names, every
  field, RRSIGs split over lines in parentheses, NSEC chain, DNSKEYs.

Each zone is loaded ``--rounds`` times by ``python -m dns check`` and by ``nsd-checkzone``,
alternately (ours, then NSD, in each round), each in a fresh process whose CPU time (user +
system) and peak RSS (``wait4``'s ru_maxrss) are taken. Prints each run; then, per zone,
the median of each and the ratios ours / NSD of each round, as a median with its quartiles
(the goal of issue 17: time <= 5x, memory <= 2x). CPU time is the figure to read on a
shared machine: wall time counts the waits for a core.

    python bench/dns_zone.py [--records 1500000] [--signed-records 100000] [--rounds 3]
                             [--keep]

Needs nsd-checkzone (Debian package nsd) for the comparison, without it only ours runs;
dnssec-keygen and dnssec-signzone (bind9-utils) for the signed zone, without them it is
left out.
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
SIGNED_ORIGIN = "signed.test."


def generate(path: str, records: int, origin: str = ORIGIN) -> int:
    """Write the zone; return the number of records written."""
    written = 0
    with open(path, "w") as f:
        f.write(f"$ORIGIN {origin}\n$TTL 3600\n")
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


def sign(scratch: str, records: int) -> str | None:
    """A generated zone of ``records`` records signed by dnssec-signzone; its path, or
    None when the BIND tools are missing."""
    if shutil.which("dnssec-signzone") is None or shutil.which("dnssec-keygen") is None:
        print("dnssec-signzone not found (Debian package bind9-utils): no signed zone")
        return None
    unsigned = os.path.join(scratch, "signed.test.zone")
    generate(unsigned, records, SIGNED_ORIGIN)
    for extra in (["-f", "KSK"], []):
        subprocess.run(
            ["dnssec-keygen", "-q", "-K", scratch, "-a", "ECDSAP256SHA256", *extra, SIGNED_ORIGIN],
            check=True,
            capture_output=True,
            cwd=scratch,
        )
    signed = unsigned + ".signed"
    subprocess.run(
        ["dnssec-signzone", "-q", "-K", scratch, "-S", "-o", SIGNED_ORIGIN, "-f", signed, unsigned],
        check=True,
        capture_output=True,
        cwd=scratch,
    )
    return signed


def measure(argv: list[str]) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (user + system) and peak RSS (bytes) of one run of
    ``argv`` (which must succeed)."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.returncode != 0:
        raise SystemExit(f"{argv[0]} failed ({proc.returncode}): {err[-500:]}")
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024


def quartiles(values: list[float]) -> str:
    """``median [q1, q3]`` of ``values``."""
    if len(values) < 2:
        return f"{values[0]:.2f}"
    q1, q2, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return f"{q2:.2f} [{q1:.2f}, {q3:.2f}]"


def run(label: str, path: str, origin: str, rounds: int) -> None:
    """Load ``path`` alternately with ours and NSD; print the runs, medians and ratios."""
    runners = {"ours": [sys.executable, "-m", "dns", "check", "--origin", origin, path]}
    nsd = shutil.which("nsd-checkzone")
    if nsd is not None:
        runners["nsd-checkzone"] = [nsd, origin, path]
    results: dict[str, list[tuple[float, float, int]]] = {name: [] for name in runners}
    for round_no in range(rounds):
        for name, argv in runners.items():
            wall, cpu, rss = measure(argv)
            results[name].append((wall, cpu, rss))
            print(
                f"{label} round {round_no + 1} {name:14} {wall:7.2f} s wall {cpu:7.2f} s CPU "
                f"{rss / 2**20:8.0f} MiB",
                flush=True,
            )
    for name, runs in results.items():
        print(
            f"{label} median {name:14} {statistics.median(r[0] for r in runs):7.2f} s wall "
            f"{statistics.median(r[1] for r in runs):7.2f} s CPU "
            f"{statistics.median(r[2] for r in runs) / 2**20:8.0f} MiB"
        )
    if "nsd-checkzone" in results:
        pairs = list(zip(results["ours"], results["nsd-checkzone"], strict=True))
        cpu = [ours[1] / theirs[1] for ours, theirs in pairs]
        wall = [ours[0] / theirs[0] for ours, theirs in pairs]
        rss = [ours[2] / theirs[2] for ours, theirs in pairs]
        print(
            f"{label} ours / nsd-checkzone, median [quartiles] of the rounds: "
            f"CPU {quartiles(cpu)} (goal <= 5), peak memory {quartiles(rss)} (goal <= 2), "
            f"wall {quartiles(wall)}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--records", type=int, default=1_500_000)
    parser.add_argument("--signed-records", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the generated zones")
    args = parser.parse_args()
    if shutil.which("nsd-checkzone") is None:
        print("nsd-checkzone not found (Debian package nsd): ours only")
    scratch = tempfile.mkdtemp(prefix="mirage-py-zone-bench-")
    try:
        path = os.path.join(scratch, "big.test.zone")
        count = generate(path, args.records)
        print(f"generated zone: {count} records, {os.path.getsize(path) / 1e6:.1f} MB")
        signed = sign(scratch, args.signed_records) if args.signed_records else None
        if signed is not None:
            with open(signed, "rb") as f:
                lines = sum(1 for _ in f)
            print(
                f"signed zone: {args.signed_records} records before signing, {lines} lines, "
                f"{os.path.getsize(signed) / 1e6:.1f} MB"
            )
        run("generated", path, ORIGIN, args.rounds)
        if signed is not None:
            run("signed", signed, SIGNED_ORIGIN, args.rounds)
    finally:
        if args.keep:
            print(f"kept {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
