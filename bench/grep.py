"""Benchmark ``python -m re_engine grep`` against GNU grep on one large file.

    .venv/bin/python bench/grep.py [--size MB] [--repeat N]

Writes a text file of ``--size`` MB (words, numbers and punctuation in lines
of varying length, some non-ASCII), then times both tools on the same
searches, each the best of N runs of the whole command (interpreter start
included for ours), with ``-c`` so that output costs nothing.  Both run in
the C.UTF-8 locale.  Prints MB/s for each and the ratio ours / GNU grep; the
issue's target is 0.2x for the literal and simple-class searches.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORDS = [
    "the",
    "of",
    "and",
    "to",
    "in",
    "is",
    "was",
    "for",
    "on",
    "that",
    "with",
    "as",
    "by",
    "at",
    "from",
    "his",
    "her",
    "they",
    "this",
    "have",
    "had",
    "not",
    "are",
    "but",
    "were",
    "which",
    "one",
    "all",
    "an",
    "be",
    "their",
    "has",
    "been",
    "would",
    "there",
    "grep",
    "regular",
    "expression",
    "automaton",
    "lazy",
    "deterministic",
    "état",
    "naïve",
    "über",
]

SEARCHES = [
    ("literal", ["-F", "automaton lazy"]),
    ("literal BRE", ["needle"]),
    ("class", ["-E", "[0-9]{5}"]),
    ("literal -i", ["-i", "Regular Expression"]),
    ("alternation", ["-E", "deterministic|naïve|zebra"]),
    ("words -w", ["-w", "-E", "[a-z]+ing"]),
]


def make_file(path: Path, size: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    lines: list[str] = []
    total = 0
    while total < size:
        n = rng.randint(3, 18)
        ws = [rng.choice(WORDS) for _ in range(n)]
        if rng.random() < 0.2:
            ws.append(str(rng.randint(0, 999_999)))
        if rng.random() < 0.001:
            ws.append("needle")
        line = " ".join(ws) + rng.choice([".", ",", "", ";"])
        lines.append(line)
        total += len(line.encode()) + 1
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def best(cmd: list[str], repeat: int) -> tuple[float, bytes]:
    env = dict(os.environ, LC_ALL="C.UTF-8")
    times: list[float] = []
    out = b""
    for _ in range(repeat):
        t0 = time.perf_counter()
        run = subprocess.run(cmd, capture_output=True, env=env, check=False)
        times.append(time.perf_counter() - t0)
        out = run.stdout
    return min(times), out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=float, default=100.0, help="file size in MB")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    gnu = shutil.which("grep", path="/usr/bin:/bin")
    if gnu is None:
        print("GNU grep not found", file=sys.stderr)
        return 1
    root = Path(__file__).resolve().parent.parent
    ours = [sys.executable, "-m", "re_engine", "grep"]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "text.txt"
        make_file(path, int(a.size * 1_000_000))
        mb = path.stat().st_size / 1e6
        print(f"{mb:.1f} MB, best of {a.repeat}")
        print(f"{'search':<14}{'GNU MB/s':>10}{'ours MB/s':>11}{'ratio':>8}  count")
        os.chdir(root)
        for name, args in SEARCHES:
            tg, og = best([gnu, "-c", *args, str(path)], a.repeat)
            to, oo = best([*ours, "-c", *args, str(path)], a.repeat)
            same = "" if og == oo else f"  DIFFERENT: GNU {og!r}, ours {oo!r}"
            print(
                f"{name:<14}{mb / tg:>10.1f}{mb / to:>11.1f}{tg / to:>8.2f}  "
                f"{og.decode().strip()}{same}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
