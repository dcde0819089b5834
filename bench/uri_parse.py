"""Parse 20,000 distinct realistic URLs with uri.Uri and its peers, in one run.

Peers: urllib.parse.urlsplit (its lru_cache bypassed through ``__wrapped__``), rfc3986
(parse only, and parse + validation) and yarl (its 128-entry URL cache cannot hold
20,000 distinct URLs). A peer that is not installed is skipped with a note.

Rounds alternate the parsers (A B C D, A B C D, ...) and the best round of each is
kept: absolute rates drift between runs on a shared machine, ratios much less.

    .venv/bin/python bench/uri_parse.py [--count N] [--rounds R]
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from uri import Uri

WORDS = [
    "api",
    "v1",
    "v2",
    "users",
    "items",
    "search",
    "docs",
    "static",
    "assets",
    "img",
    "css",
    "js",
    "blog",
    "2024",
    "news",
    "article",
    "products",
    "category",
    "download",
    "release",
    "notes",
    "opam",
    "packages",
    "ocaml",
    "mirage",
    "index",
    "login",
    "account",
    "settings",
    "profile",
    "cart",
    "checkout",
    "help",
    "en",
    "fr",
    "de",
    "wiki",
    "page",
    "view",
    "edit",
    "history",
]
HOSTS = [
    "example.com",
    "www.example.com",
    "api.github.com",
    "ocaml.org",
    "opam.ocaml.org",
    "lists.ocaml.org",
    "cdn.jsdelivr.net",
    "en.wikipedia.org",
    "news.ycombinator.com",
    "docs.python.org",
    "storage.googleapis.com",
    "s3.amazonaws.com",
]
KEYS = [
    "q",
    "id",
    "page",
    "sort",
    "lang",
    "utm_source",
    "utm_medium",
    "ref",
    "token",
    "limit",
    "offset",
    "format",
]


def make_urls(count: int, seed: int = 3986) -> list[str]:
    """Distinct URLs that look like what clients and logs hold (all RFC 3986 valid)."""
    rng = random.Random(seed)
    seen: set[str] = set()
    out: list[str] = []
    while len(out) < count:
        r = rng.random()
        scheme = "https" if r < 0.7 else "http"
        if r < 0.03:
            host = f"{rng.randrange(1, 255)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        elif r < 0.05:
            host = f"[2001:db8::{rng.randrange(1, 0xFFFF):x}]"
        else:
            host = rng.choice(HOSTS)
            if rng.random() < 0.3:
                host = f"{rng.choice(WORDS)}.{host}"
        auth = host
        if rng.random() < 0.03:
            auth = f"user{rng.randrange(100)}:pw{rng.randrange(100)}@{auth}"
        if rng.random() < 0.1:
            auth += f":{rng.choice([8080, 8443, 3000, 9000, rng.randrange(1024, 65535)])}"
        segs = [rng.choice(WORDS) for _ in range(rng.randrange(0, 6))]
        if segs and rng.random() < 0.4:
            segs[-1] += str(rng.randrange(100000))
        if segs and rng.random() < 0.1:
            segs[-1] += "%20" + rng.choice(WORDS)
        if segs and rng.random() < 0.15:
            segs[-1] += rng.choice([".html", ".json", ".tar.gz", ".png"])
        path = "/" + "/".join(segs)
        url = f"{scheme}://{auth}{path}"
        if rng.random() < 0.5:
            params = [
                f"{rng.choice(KEYS)}={rng.choice(WORDS)}{rng.randrange(1000)}"
                for _ in range(rng.randrange(1, 5))
            ]
            if rng.random() < 0.1:
                params.append("q=" + "+".join(rng.sample(WORDS, 3)))
            url += "?" + "&".join(params)
        if rng.random() < 0.1:
            url += "#" + rng.choice(WORDS)
        if url not in seen:
            seen.add(url)
            out.append(url)
    return out


def peers() -> list[tuple[str, Callable[[str], object]]]:
    ps: list[tuple[str, Callable[[str], object]]] = [
        ("uri.Uri.parse (full validation)", Uri.parse),
        ("urllib.parse.urlsplit (no cache)", urllib.parse.urlsplit.__wrapped__),  # type: ignore[attr-defined]
    ]
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
    try:
        import yarl

        ps.append((f"yarl.URL {yarl.__version__}", yarl.URL))
    except ImportError:
        print("note: yarl is not installed: skipped (pip install yarl)")
    return ps


def time_round(fn: Callable[[str], object], urls: list[str]) -> float:
    gc.collect()
    t = time.perf_counter()
    for u in urls:
        fn(u)
    return time.perf_counter() - t


def run(
    title: str, parsers: list[tuple[str, Callable[[str], object]]], urls: list[str], rounds: int
) -> None:
    for _name, fn in parsers:  # every parser must accept every input
        for u in urls[:200]:
            fn(u)
    best = {name: float("inf") for name, _ in parsers}
    for _ in range(rounds):
        for name, fn in parsers:
            best[name] = min(best[name], time_round(fn, urls))
    ours = len(urls) / best[parsers[0][0]]
    print(f"\n{title}: {len(urls)} distinct inputs, best of {rounds} rounds")
    print(f"{'parser':<40} {'parses/s':>12} {'ours / it':>10}")
    for name, _ in parsers:
        rate = len(urls) / best[name]
        print(f"{name:<40} {rate:>12,.0f} {ours / rate:>9.2f}x")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=20_000)
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()
    print(f"python {sys.version.split()[0]}")
    urls = make_urls(args.count)
    run("absolute URLs", peers(), urls, args.rounds)

    targets = list(dict.fromkeys(Uri.parse(u).request_target for u in urls))
    origin = [
        ("uri.Uri.parse_origin_form", Uri.parse_origin_form),
        ("uri.Uri.parse", Uri.parse),
        ("urllib.parse.urlsplit (no cache)", urllib.parse.urlsplit.__wrapped__),  # type: ignore[attr-defined]
    ]
    run("origin-form request targets (/path?query)", origin, targets, args.rounds)


if __name__ == "__main__":
    main()
