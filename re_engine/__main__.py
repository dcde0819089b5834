"""``python -m re_engine grep PATTERN [FILE...] [--syntax S] [-i] [-o] [-n] [-c]``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from . import SYNTAXES, Flag, ReError, compile


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m re_engine", description="linear-time regular expressions"
    )
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("grep", help="print lines matching PATTERN")
    g.add_argument("pattern")
    g.add_argument("files", nargs="*")
    g.add_argument("--syntax", default="perl", choices=SYNTAXES)
    g.add_argument("-i", "--ignore-case", action="store_true")
    g.add_argument("-o", "--only-matching", action="store_true")
    g.add_argument("-n", "--line-number", action="store_true")
    g.add_argument("-c", "--count", action="store_true")
    a = ap.parse_args(argv)
    try:
        kw: dict[str, Any] = {"anchored": False} if a.syntax == "glob" else {}
        pat = compile(
            a.pattern, syntax=a.syntax, flags=Flag.IGNORECASE if a.ignore_case else 0, **kw
        )
    except ReError as e:
        print(f"re_engine: {e}", file=sys.stderr)
        return 2
    files = a.files or ["-"]
    multi = len(files) > 1
    found = False
    out = sys.stdout
    for name in files:
        try:
            fh = (
                sys.stdin
                if name == "-"
                else open(  # noqa: SIM115 - closed below
                    name, encoding="utf-8", errors="replace"
                )
            )
        except OSError as e:
            print(f"re_engine: {name}: {e.strerror}", file=sys.stderr)
            continue
        count = 0
        with fh:
            for no, line in enumerate(fh, 1):
                line = line.rstrip("\n")
                prefix = (f"{name}:" if multi else "") + (f"{no}:" if a.line_number else "")
                if a.only_matching:
                    hits = [m.group() for m in pat.finditer(line) if m.end() > m.start()]
                    if hits:
                        count += 1
                        if not a.count:
                            for h in hits:
                                out.write(f"{prefix}{h}\n")
                elif pat.search(line) is not None:
                    count += 1
                    if not a.count:
                        out.write(f"{prefix}{line}\n")
        if a.count:
            out.write((f"{name}:" if multi else "") + f"{count}\n")
        found = found or count > 0
    return 0 if found else 1


if __name__ == "__main__":
    sys.exit(main())
