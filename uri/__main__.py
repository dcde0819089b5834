"""``python -m uri parse URL | resolve BASE REF | normalize URL | relative BASE URL``."""

from __future__ import annotations

import argparse
import json
import sys

from . import Uri, UriError, normalize, relative_to, resolve


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m uri", description="RFC 3986 URIs")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("parse", help="print the components of URL as JSON")
    p.add_argument("url")
    p.add_argument("--form", action="store_true", help="decode '+' in the query as space")
    r = sub.add_parser("resolve", help="resolve REF against BASE (RFC 3986 §5.2)")
    r.add_argument("base")
    r.add_argument("ref")
    n = sub.add_parser("normalize", help="normalise URL (RFC 3986 §6.2.2, §6.2.3)")
    n.add_argument("url")
    rel = sub.add_parser("relative", help="the shortest reference from BASE to URL")
    rel.add_argument("base")
    rel.add_argument("url")
    args = ap.parse_args(argv)
    try:
        if args.cmd == "parse":
            u = Uri.parse(args.url)
            d = u.as_dict()
            if args.form and u.raw_query is not None:
                d["query"] = [list(kv) for kv in u.query_params(form=True)]
            print(json.dumps(d, indent=2, ensure_ascii=False))
        elif args.cmd == "resolve":
            print(resolve(args.base, args.ref))
        elif args.cmd == "normalize":
            print(normalize(args.url))
        else:
            print(relative_to(args.base, args.url))
    except UriError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
