"""Benchmark re_engine against re, regex and google-re2: a real-world suite, and a synthetic one.

    .venv/bin/python bench/regex.py [--suite real|synthetic|all] [--rounds N] [--only NAME]

The real-world suite (the default; sources listed at ``REAL``): per pattern,
the engines alternate within each of N rounds on the same text; it prints
MB/s (median) and, against each peer, the ratio of speeds (ours/peer, >1:
ours faster) as the median and quartiles over the rounds, then geometric
means of the medians for search and for compile time (4N rounds, each engine's cache
purged before each compile), and of compile plus the first search (once per
engine): ours builds at compile only what every search needs and the rest on
first use, so that last figure shows where the cost moved.  A peer whose
match count differs from ours (re2's ASCII-only ``\\w`` and ``\\b`` on
Russian) is left out of that row.

The synthetic suite: ``findall`` on generated text, best of N, ratios ours /
google-re2; then the ReDoS corpus on 100,000-character inputs (re and regex
are skipped where they would take minutes).
"""

from __future__ import annotations

import argparse
import importlib
import random
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# this file is named regex.py: keep its directory off the path so that
# "regex" below is the PyPI regex module, not this script
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.modules.pop("regex", None)
regex: Any = importlib.import_module("regex")

import re_engine  # noqa: E402

try:
    import re2
except ImportError:  # pragma: no cover - bench extra not installed
    re2 = None

WORDS = [
    "the",
    "of",
    "and",
    "to",
    "in",
    "that",
    "it",
    "was",
    "his",
    "he",
    "with",
    "as",
    "had",
    "for",
    "you",
    "not",
    "be",
    "her",
    "on",
    "at",
    "by",
    "which",
    "have",
    "or",
    "from",
    "this",
    "him",
    "but",
    "all",
    "she",
    "they",
    "were",
    "my",
    "are",
    "me",
    "one",
    "their",
    "so",
    "an",
    "said",
    "them",
    "we",
    "who",
    "would",
    "been",
    "will",
    "no",
    "when",
    "there",
    "if",
    "more",
    "out",
    "up",
    "into",
    "do",
    "any",
    "your",
    "what",
    "has",
    "man",
    "could",
    "other",
    "than",
    "our",
    "some",
    "very",
    "time",
    "upon",
    "about",
    "may",
    "its",
    "only",
    "now",
    "like",
    "little",
    "then",
    "can",
    "should",
    "made",
    "did",
    "us",
    "such",
    "great",
    "before",
    "must",
    "two",
    "these",
    "see",
    "know",
    "over",
    "much",
    "down",
    "after",
    "first",
    "mr",
    "good",
    "men",
    "own",
    "never",
    "most",
    "old",
    "shall",
    "day",
    "where",
    "watson",
    "holmes",
    "sherlock",
    "street",
    "london",
    "morning",
    "evening",
    "nothing",
    "business",
]
CYRILLIC = [
    "и",
    "в",
    "не",
    "что",
    "он",
    "на",
    "я",
    "с",
    "со",
    "как",
    "а",
    "то",
    "все",
    "она",
    "так",
    "его",
    "но",
    "да",
    "ты",
    "к",
    "у",
    "же",
    "вы",
    "за",
    "бы",
    "по",
]


def make_text(size: int, seed: int = 42) -> str:
    rnd = random.Random(seed)
    out: list[str] = []
    total = 0
    while total < size:
        r = rnd.random()
        if r < 0.004:
            w = f"{rnd.choice(WORDS)}.{rnd.choice(WORDS)}@{rnd.choice(WORDS)}.org"
        elif r < 0.03:
            w = str(rnd.randint(1, 99999))
        elif r < 0.08:
            w = rnd.choice(CYRILLIC)
        else:
            w = rnd.choice(WORDS)
        if rnd.random() < 0.05:
            w = w.capitalize()
        out.append(w)
        total += len(w) + 1
        if rnd.random() < 0.08:
            out.append("\n")
    return " ".join(out)


BENCH = [
    ("literal", r"Sherlock Holmes"),
    ("alternation of words", r"watson|holmes|london|street|morning"),
    ("email-like", r"[\w.+-]+@[\w-]+\.[\w.-]+"),
    ("classes: capitalised word", r"[A-Z][a-z]+"),
    ("classes: digits", r"\d+"),
    ("classes: suffix", r"[a-z]+ing\b"),
    ("anchored miss", r"^zzz"),
    ("unicode text", r"[а-я]+т[а-я]*"),
    ("groups: key=value", r"(\w+)@(\w+)"),
]

REDOS = [
    (r"(a+)+$", "a" * 100_000 + "!"),
    (r"(a|aa)+$", "a" * 100_000 + "!"),
    (r"(\w+\s?)+$", "word " * 20_000 + "!"),
    (r"(x+x+)+y", "x" * 100_000),
    (r"^([a-z]+)*[0-9]$", "a" * 100_000 + "!"),
    (r"(?:a?){25}a{25}", "a" * 100_000),
]


def best(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    t = float("inf")
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        t = min(t, time.perf_counter() - t0)
    return t, out


# ------------------------------------------------------------ real-world suite
#
# Patterns written by other people for real programs, and texts that exist on
# any Debian machine, none of them written for this engine.  Sources:
#   rebar (github.com/BurntSushi/rebar, benchmarks/definitions/curated): the
#     ucd-parse, ruff noqa, Cloudflare 2019, words, bounded-repeat and
#     unstructured-to-json regexes (each from the program rebar names);
#   mariomka/regex-benchmark: the email, URI and IPv4 regexes;
#   CPython's tokenize.PseudoToken: a real lexer's token regex;
#   Stack Overflow's 2016 outage: ^[\s\u200c]+|[\s\u200c]+$ on a post of
#     20,000 spaces (https://stackstatus.tumblr.com/post/147710624694).
# Texts: /usr/share/common-licenses (English prose), the translations in
# /usr/share/locale/*/LC_MESSAGES/*.mo (Russian, German, Greek, Japanese...),
# /usr/lib/python3.*/ (Python source), /usr/share/doc/*/copyright (names,
# e-mail addresses, URLs), /var/log/dpkg.log (a log), and UnicodeData.txt
# lines rebuilt from Python's unicodedata.

_SIZE = 400_000  # characters of each text


def _cut(parts: list[str], size: int) -> str:
    out: list[str] = []
    total = 0
    for p in parts:
        out.append(p)
        total += len(p)
        if total >= size:
            break
    return "".join(out)[:size]


def _read(paths: list[Path]) -> list[str]:
    out = []
    for p in paths:
        try:
            out.append(p.read_text("utf-8", errors="replace"))
        except OSError:
            continue
    return out


def _mo_strings(lang: str) -> list[str]:
    """The translated messages of every catalogue of ``lang`` (GNU .mo format)."""
    import struct

    out: list[str] = []
    for f in sorted(Path("/usr/share/locale", lang, "LC_MESSAGES").glob("*.mo")):
        data = f.read_bytes()
        if len(data) < 20:
            continue
        magic = struct.unpack("<I", data[:4])[0]
        end = "<" if magic == 0x950412DE else ">"
        n, _orig, trans = struct.unpack(end + "3I", data[8:20])
        for k in range(min(n, 100_000)):
            ln, off = struct.unpack(end + "2I", data[trans + 8 * k : trans + 8 * k + 8])
            out.append(data[off : off + ln].decode("utf-8", errors="replace") + "\n")
    return out


def _unicode_data(size: int) -> str:
    """Lines in the format of UCD's UnicodeData.txt, from Python's unicodedata."""
    import unicodedata as ud

    lines: list[str] = []
    total = 0
    for c in range(0x110000):
        ch = chr(c)
        name = ud.name(ch, "")
        if not name:
            continue
        dec = ud.decimal(ch, None)
        dig = ud.digit(ch, None)
        num = ud.numeric(ch, None)
        up, lo, ti = ch.upper(), ch.lower(), ch.title()
        fields = [
            f"{c:04X}",
            name,
            ud.category(ch),
            str(ud.combining(ch)),
            ud.bidirectional(ch),
            ud.decomposition(ch),
            "" if dec is None else str(dec),
            "" if dig is None else str(dig),
            "" if num is None else str(num),
            "Y" if ud.mirrored(ch) else "N",
            "",
            "",
            f"{ord(up):04X}" if len(up) == 1 and up != ch else "",
            f"{ord(lo):04X}" if len(lo) == 1 and lo != ch else "",
            f"{ord(ti):04X}" if len(ti) == 1 and ti != ch else "",
        ]
        line = ";".join(fields) + "\n"
        lines.append(line)
        total += len(line)
        if total >= size:
            break
    return "".join(lines)


def corpora(size: int) -> dict[str, str]:
    """Name -> text (a corpus missing on this machine is left out)."""
    py = sorted(Path(sys.base_prefix, "lib").glob("python3.*/*.py"))
    texts = {
        "english": _cut(_read(sorted(Path("/usr/share/common-licenses").glob("*"))) * 8, size),
        "python": _cut(_read(py), size),
        "copyright": _cut(_read(sorted(Path("/usr/share/doc").glob("*/copyright"))), size),
        "dpkg.log": _cut(_read([Path("/var/log/dpkg.log")]) * 4, size),
        "russian": _cut(_mo_strings("ru"), size),
        "polyglot": _cut(
            [
                s
                for lang in ("de", "fr", "el", "ja", "zh_CN", "uk", "pl")
                for s in _mo_strings(lang)
            ],
            size,
        ),
        "UnicodeData": _unicode_data(size),
        "cloudflare": "x=" + "x" * 10_000,  # rebar's cloud-flare-redos.txt
        # the 2016 post: a comment line with some 20,000 spaces inside it
        "stackoverflow": "- " + " " * 10_000 + "-",
    }
    return {k: v for k, v in texts.items() if len(v) > 1000}


_TOKENIZE = importlib.import_module("tokenize").PseudoToken

# (category, name, pattern, flags, corpus, operation)
REAL = [
    (
        "unicode data",
        "ucd-parse",
        r"^([A-Z0-9]+);([^;]+);([^;]+);([0-9]+);([^;]+);([^;]*);([0-9]*);([0-9]*);([-0-9/]*);"
        r"([YN]);([^;]*);([^;]*);([^;]*);([^;]*);([^;]*)$",
        re.M,
        "UnicodeData",
        "findall",
    ),
    (
        "logs",
        "unstructured-to-json",
        r"^([^ ]+ [^ ]+) ([DIWEF])[1234]: ((?:(?:\[[^\]]*?\]|\([^\)]*?\)): )*)(.*?) \{([^\}]*)\}$",
        re.M,
        "dpkg.log",
        "findall",
    ),
    (
        "logs",
        "dpkg-date",
        r"(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})",
        0,
        "dpkg.log",
        "findall",
    ),
    (
        "captures",
        "ruff-noqa",
        r"(\s*)((?i:# noqa)(?::\s?(([A-Z]+[0-9]+(?:[,\s]+)?)+))?)",
        0,
        "python",
        "findall",
    ),
    (
        "captures",
        "ruff-noqa-tweaked",
        r"(?i:# noqa)(?::\s?(([A-Z]+[0-9]+(?:[,\s]+)?)+))?",
        0,
        "python",
        "findall",
    ),
    ("lexer", "tokenize.PseudoToken", _TOKENIZE, 0, "python", "findall"),
    ("extraction", "email", r"[\w\.+-]+@[\w\.-]+\.[\w\.-]+", 0, "copyright", "findall"),
    (
        "extraction",
        "uri",
        r"[\w]+://[^/\s?#]+[^\s?#]+(?:\?[^\s#]*)?(?:#[^\s]*)?",
        0,
        "copyright",
        "findall",
    ),
    (
        "extraction",
        "ipv4",
        r"(?:(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)\.){3}(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)",
        0,
        "copyright",
        "findall",
    ),
    ("words", "all-english", r"\b[0-9A-Za-z_]+\b", 0, "english", "findall"),
    ("words", "long-english", r"\b[0-9A-Za-z_]{12,}\b", 0, "english", "findall"),
    ("words", "all-russian", r"\b\w+\b", 0, "russian", "findall"),
    ("words", "long-russian", r"\b\w{12,}\b", 0, "russian", "findall"),
    ("words", "polyglot-words", r"\w+", 0, "polyglot", "findall"),
    ("bounded repeat", "letters-en", r"[A-Za-z]{8,13}", 0, "english", "findall"),
    ("bounded repeat", "capitals", r"(?:[A-Z][a-z]+\s*){10,100}", 0, "python", "findall"),
    (
        "bounded repeat",
        "context",
        r"[A-Za-z]{10}\s+(?s:.){0,100}Result(?s:.){0,100}\s+[A-Za-z]{10}",
        0,
        "python",
        "findall",
    ),
    (
        "ReDoS",
        "cloudflare-2019",
        r"(?:(?:\"|'|\]|\}|\\|\d|(?:nan|infinity|true|false|null|undefined|symbol|math)|`|-|\+)+"
        r"[)]*;?((?:\s|-|~|!|\{\}|\|\||\+)*.*(?:.*=.*)))",
        0,
        "cloudflare",
        "findall",
    ),
    ("ReDoS", "cloudflare-simplified", r".*.*=.*", 0, "cloudflare", "findall"),
    ("ReDoS", "stackoverflow-2016", "^[\\s\u200c]+|[\\s\u200c]+$", 0, "stackoverflow", "findall"),
]


def _quartiles(xs: list[float]) -> tuple[float, float, float]:
    import statistics

    if len(xs) < 2:
        return xs[0], xs[0], xs[0]
    q = statistics.quantiles(xs, n=4, method="inclusive")
    return q[0], q[1], q[2]


def _geo(xs: list[float]) -> float:
    import math

    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float("nan")


def _purge() -> None:
    """Empty every engine's pattern cache (google-re2's ``compile`` is an LRU cache too)."""
    re_engine.api._cache.clear()
    re.purge()
    regex.purge()
    if re2 is not None:
        re2.purge()


def real_suite(rounds: int, size: int) -> None:
    """Per pattern: MB/s of each engine, ours vs each peer (median [q1, q3] of the rounds)."""
    texts = corpora(size)
    peers: list[tuple[str, Callable[[str, int], Any]]] = [
        ("re", re.compile),
        ("regex", regex.compile),
    ]
    if re2 is not None:

        def re2_compile(p: str, f: int) -> Any:
            inline = "".join(c for c, b in (("i", re.I), ("m", re.M), ("s", re.S)) if f & b)
            return re2.compile(f"(?{inline}){p}" if inline else p)

        peers.append(("re2", re2_compile))
    names = ["ours"] + [n for n, _ in peers]
    print(f"real-world suite: {rounds} rounds, engines alternating in each; MB/s is the median")
    print("ratios: ours/peer speed, median [q1, q3] over the rounds (>1: ours faster)")
    print(
        f"{'benchmark':30}"
        + "".join(f"{n:>9}" for n in names)
        + "".join(f"{'vs ' + n:>20}" for n, _ in peers)
    )
    medians: dict[str, list[float]] = {n: [] for n, _ in peers}
    compile_ratios: dict[str, list[float]] = {n: [] for n, _ in peers}
    first_ratios: dict[str, list[float]] = {n: [] for n, _ in peers}
    worst: list[tuple[float, str]] = []
    worst_compile: list[tuple[float, str]] = []
    for cat, name, pat, flags, corpus, op in REAL:
        text = texts.get(corpus)
        if text is None:
            print(f"{name:30} skipped: corpus {corpus!r} missing here")
            continue
        mb = len(text.encode()) / 1e6
        compilers: list[tuple[str, Callable[[], Any]]] = [
            ("ours", lambda pat=pat, flags=flags: re_engine.compile(pat, flags=flags))
        ] + [(n, lambda c=c, pat=pat, flags=flags: c(pat, flags)) for n, c in peers]
        compiled: dict[str, Any] = {}
        for ename, comp in compilers:
            try:
                compiled[ename] = comp()
            except Exception as e:  # a peer may not support a construct
                print(f"  {ename} cannot compile {name}: {type(e).__name__}: {e}"[:120])
        if "ours" not in compiled:
            continue
        ref = len(getattr(compiled["ours"], op)(text))
        usable = ["ours"]
        for ename in compiled:
            if ename != "ours":
                got = len(getattr(compiled[ename], op)(text))
                if got == ref:
                    usable.append(ename)
                else:
                    print(f"  {ename} differs on {name}: {got} matches, ours {ref} (left out)")
        times: dict[str, list[float]] = {e: [] for e in usable}
        for _ in range(rounds):
            for ename in usable:
                fn = getattr(compiled[ename], op)
                t0 = time.perf_counter()
                fn(text)
                times[ename].append(time.perf_counter() - t0)
        # compile: each engine's cache purged each time; a compile takes
        # microseconds, so four times as many rounds as the searches
        ctimes: dict[str, list[float]] = {e: [] for e in usable}
        for _ in range(4 * rounds):
            for ename, comp in compilers:
                if ename not in usable:
                    continue
                _purge()
                t0 = time.perf_counter()
                comp()
                ctimes[ename].append(time.perf_counter() - t0)
        # compile then the first search, once per engine (caches purged): our
        # compile leaves the NFA programs, the DFA states, the prefilter and
        # the re patterns for spans to the first search
        first: dict[str, float] = {}
        for ename, comp in compilers:
            if ename not in usable:
                continue
            _purge()
            t0 = time.perf_counter()
            getattr(comp(), op)(text)
            first[ename] = time.perf_counter() - t0
        for pname in first:
            if pname != "ours":
                first_ratios[pname].append(first[pname] / first["ours"])
        row = f"{name:30}"
        for ename in names:
            if ename in times:
                row += f"{mb / sorted(times[ename])[len(times[ename]) // 2]:9.2f}"
            else:
                row += f"{'-':>9}"
        for pname, _ in peers:
            if pname not in times:
                row += f"{'-':>20}"
                continue
            rs = [tp / to for tp, to in zip(times[pname], times["ours"], strict=True)]
            q1, med, q3 = _quartiles(rs)
            medians[pname].append(med)
            if pname == "re":
                worst.append((med, name))
            row += f"{med:8.2f}x [{q1:.2f},{q3:.2f}]"
            cr = [tp / to for tp, to in zip(ctimes[pname], ctimes["ours"], strict=True)]
            compile_ratios[pname].append(_quartiles(cr)[1])
            if pname == "re":
                worst_compile.append((_quartiles(cr)[1], name))
        print(row + f"  ({cat}, {ref} matches)")
    print()
    for pname, _ in peers:
        print(
            f"search geomean ours/{pname}: {_geo(medians[pname]):.2f}x over {len(medians[pname])}"
            f" benchmarks; compile geomean ours/{pname}: {_geo(compile_ratios[pname]):.2f}x;"
            f" compile + first search: {_geo(first_ratios[pname]):.2f}x"
        )
    print(
        "compile: re_engine.compile() alone (parsed, the strategy chosen, a delegate's re"
        " pattern compiled, the NFA program's size checked); what the first search builds"
        " (the NFA programs, DFA states, prefilters, re patterns for spans) is in"
        " 'compile + first search' (one run each), and in the first of the search rounds;"
        " every engine's pattern cache (re2's too) is purged before each compile"
    )
    if worst:
        worst.sort()
        print("slowest vs re: " + ", ".join(f"{n} {r:.2f}x" for r, n in worst[:4]))
    if worst_compile:
        worst_compile.sort()
        print("slowest compiles vs re: " + ", ".join(f"{n} {r:.2f}x" for r, n in worst_compile[:6]))


def synthetic_suite(size: float, repeat: int) -> None:
    text = make_text(int(size * 1_000_000))
    mb = len(text.encode()) / 1e6
    print(f"text: {len(text)} chars, {mb:.2f} MB UTF-8; best of {repeat}")
    engines: list[tuple[str, Callable[[str], Any]]] = [
        ("ours", lambda p: re_engine.compile(p)),
        ("ours-dfa", lambda p: re_engine.compile(p, engine="dfa")),
        ("re", re.compile),
        ("regex", regex.compile),
    ]
    if re2 is not None:
        engines.append(("re2", re2.compile))
    else:
        print("google-re2 not installed: pip install google-re2")
    hdr = f"{'benchmark':28}" + "".join(f"{n:>10}" for n, _ in engines) + f"{'ours/re2':>10}"
    print(hdr + "   (MB/s)")
    ratios = []
    for name, pat in BENCH:
        row = f"{name:28}"
        speeds: dict[str, float] = {}
        counts = set()
        compiled = [(ename, comp(pat)) for ename, comp in engines]
        for _ename, c in compiled:
            c.findall(text[:1000])  # warm up
        # engines alternate within each repeat, so that a busy spell on a
        # shared machine hits them all alike; best time per engine
        times = dict.fromkeys((e for e, _ in compiled), float("inf"))
        for _ in range(repeat):
            for ename, c in compiled:
                t, res = best(lambda c=c: c.findall(text), 1)
                times[ename] = min(times[ename], t)
                counts.add(len(res))
        for ename, _c in compiled:
            speeds[ename] = mb / times[ename]
            row += f"{speeds[ename]:10.1f}"
        if "re2" in speeds:
            ratio = speeds["ours"] / speeds["re2"]
            ratios.append(ratio)
            row += f"{ratio:9.2f}x"
        if len(counts) != 1:
            row += f"  MISMATCH {counts}"
        print(row)
    if ratios:
        print(
            f"geometric mean ours/re2: {_geo(ratios):.2f}x; min {min(ratios):.2f}x; max {max(ratios):.2f}x"
        )
    print("\nReDoS corpus, 100,000 chars (search; seconds)")
    for pat, inp in REDOS:
        row = f"{pat:22}"
        for ename, comp in engines:
            if ename in ("re", "regex"):
                row += f"{'skipped':>10}"  # exponential: would take years
                continue
            c = comp(pat)
            t, _ = best(lambda c=c, inp=inp: c.search(inp), 1)
            row += f"{t:10.3f}"
        print(row)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--suite", choices=("real", "synthetic", "all"), default="real")
    ap.add_argument("--size", type=float, default=1.0, help="synthetic text size in MB (default 1)")
    ap.add_argument("--repeat", type=int, default=3, help="synthetic: best of N")
    ap.add_argument("--rounds", type=int, default=5, help="real: rounds (median, quartiles)")
    ap.add_argument("--chars", type=int, default=_SIZE, help="real: characters of each text")
    ap.add_argument("--only", default="", help="real: only benchmarks whose name contains this")
    args = ap.parse_args()
    if args.only:
        REAL[:] = [b for b in REAL if args.only in b[1]]
    if args.suite in ("real", "all"):
        real_suite(args.rounds, args.chars)
    if args.suite in ("synthetic", "all"):
        synthetic_suite(args.size, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
