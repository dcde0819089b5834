"""Parse real-world URLs with uri.Uri and its peers, in one run.

The corpus (bench/data/, see its README.md) is 91k URLs gathered from public sources, not
generated: the test URLs of a URL shortener (kasztp, 48k http(s) URLs of many sites) and
the source files of a Node.js snapshot as file: URLs (43k).

Peers: the ada-url binding (``ada_url.URL``: a WHATWG parse into an object; and
``ada_url.check_url``: validation only), urllib.parse.urlsplit (its lru_cache bypassed
through ``__wrapped__``), yarl, rfc3986 (parse, and parse + Validator). A peer that is not
installed is skipped with a note (``pip install -e .[bench]`` installs them all).

The machine may be shared, so rates drift: times are this thread's CPU time
(``time.thread_time``: waiting for the CPU is not counted, caches and clock speed still
drift), the corpus is cut into slices and every slice is parsed by ours then by each peer
in turn (A B A C ...), round after round; each (slice, round) gives the ratio of the
peer's time to ours over the same URLs at nearly the same moment, and the report gives the
median of those ratios with its quartiles.

    .venv/bin/python bench/uri_parse.py [--rounds R] [--slice N]
"""

from __future__ import annotations

import argparse
import gc
import gzip
import statistics
import sys
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from uri import Uri, UriError

DATA = Path(__file__).resolve().parent / "data"
CORPUS = ("kasztp.txt.gz", "node_files.txt.gz")
Parser = tuple[str, Callable[[str], object]]


def load_corpus() -> list[str]:
    """Every distinct URL of the corpus files, in order."""
    urls: dict[str, None] = {}
    for name in CORPUS:
        with gzip.open(DATA / name, "rt", encoding="utf-8") as f:
            for line in f:
                u = line.strip()
                if u:
                    urls[u] = None
    return list(urls)


def peers() -> list[Parser]:
    ps: list[Parser] = [
        ("urllib.parse.urlsplit (no cache)", urllib.parse.urlsplit.__wrapped__),  # type: ignore[attr-defined]
    ]
    try:
        import ada_url

        ps.append(("ada_url.URL", ada_url.URL))
        ps.append(("ada_url.check_url (validation only)", ada_url.check_url))
    except ImportError:
        print("note: ada-url is not installed: skipped (pip install ada-url)")
    try:
        import yarl

        ps.append((f"yarl.URL {yarl.__version__}", yarl.URL))
    except ImportError:
        print("note: yarl is not installed: skipped (pip install yarl)")
    try:
        import rfc3986
        from rfc3986 import validators

        ps.append(("rfc3986.uri_reference (parse)", rfc3986.uri_reference))
        v = validators.Validator().check_validity_of(
            "scheme", "userinfo", "host", "port", "path", "query", "fragment"
        )

        def rfc3986_validated(s: str) -> object:
            ref = rfc3986.uri_reference(s)
            v.validate(ref)
            return ref

        ps.append(("rfc3986 parse + Validator", rfc3986_validated))
    except ImportError:
        print("note: rfc3986 is not installed: skipped (pip install rfc3986)")
    return ps


def accepted(fn: Callable[[str], object], urls: list[str]) -> list[str]:
    out = []
    for u in urls:
        try:
            r = fn(u)
        except Exception:  # each peer raises its own errors
            continue
        if r is not False:  # check_url answers False
            out.append(u)
    return out


def time_slice(fn: Callable[[str], object], urls: list[str]) -> float:
    t = time.thread_time()
    for u in urls:
        fn(u)
    return time.thread_time() - t


def quartiles(xs: list[float]) -> tuple[float, float, float]:
    q = statistics.quantiles(xs, n=4, method="inclusive")
    return q[0], q[1], q[2]


def run(
    title: str, ours: Parser, others: list[Parser], urls: list[str], rounds: int, size: int
) -> None:
    slices = [urls[i : i + size] for i in range(0, len(urls), size)]
    total = {name: 0.0 for name, _ in [ours, *others]}
    ratios: dict[str, list[float]] = {name: [] for name, _ in others}
    gc.disable()  # collections land on whoever allocates at that moment
    try:
        for _ in range(rounds):
            for s in slices:
                for name, fn in others:
                    t_ours = time_slice(ours[1], s)
                    t_peer = time_slice(fn, s)
                    total[ours[0]] += t_ours
                    total[name] += t_peer
                    ratios[name].append(t_peer / t_ours)
            gc.collect()
    finally:
        gc.enable()
    n_ours = len(urls) * rounds * len(others)
    print(f"\n{title}: {len(urls)} URLs in {len(slices)} slices, {rounds} rounds")
    print(f"{'parser':<38} {'parses/s (CPU)':>14}   ours / it: median [quartiles]")
    print(f"{ours[0]:<38} {n_ours / total[ours[0]]:>14,.0f}")
    for name, _ in others:
        lo, med, hi = quartiles(ratios[name])
        rate = len(urls) * rounds / total[name]
        print(f"{name:<38} {rate:>14,.0f}   {med:5.2f}x [{lo:.2f} .. {hi:.2f}]")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--slice", type=int, default=2000)
    args = ap.parse_args()
    print(f"python {sys.version.split()[0]}")
    corpus = load_corpus()
    ours: Parser = ("uri.Uri.parse (full validation)", Uri.parse)
    others = peers()
    mine = accepted(Uri.parse, corpus)
    print(f"corpus: {len(corpus)} distinct URLs; Uri.parse accepts {len(mine)}")
    for name, fn in others:
        print(f"  {name} accepts {len(accepted(fn, corpus))}")
    # timed on what every parser accepts, so that no one pays for raising
    common = mine
    for _, fn in others:
        common = accepted(fn, common)
    run("real-world URLs", ours, others, common, args.rounds, args.slice)

    targets = list(
        dict.fromkeys(Uri.parse(u).request_target for u in common if u.startswith("http"))
    )
    origin: Parser = ("uri.Uri.parse_origin_form", Uri.parse_origin_form)
    run(
        "origin-form request targets (/path?query) of those URLs",
        origin,
        [("uri.Uri.parse", Uri.parse), others[0]],
        targets,
        args.rounds,
        args.slice,
    )


if __name__ == "__main__":
    try:
        main()
    except UriError as e:  # pragma: no cover - the corpus is checked above
        raise SystemExit(f"uri_parse: {e}")
