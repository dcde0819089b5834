"""``python -m re_engine grep [OPTION]... PATTERNS [FILE]...`` (see :mod:`re_engine.grep`)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

USAGE = "usage: python -m re_engine grep [OPTION]... PATTERNS [FILE]..."


def main(argv: Sequence[str] | None = None) -> int:
    """Dispatch to the subcommand; return the exit status."""
    args = sys.argv[1:] if argv is None else list(argv)
    if args and args[0] == "grep":
        from .grep import main as grep

        return grep(args[1:])
    if args and args[0] in ("-h", "--help"):
        print(USAGE)
        return 0
    print(f"re_engine: expected a subcommand ({USAGE})", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
