"""Command-line plumbing shared by the commands that serve: which backend, on which device."""

from __future__ import annotations

import argparse
from typing import Any

from . import ADAPTERS

DEVICE_OPTIONS = ("tap", "ip", "gateway")
"""The mirage adapter's device options, as command-line ``--tap/--ip/--gateway``."""


def add_backend_arguments(
    parser: argparse.ArgumentParser, *, uvloop: bool = False, device: bool = True
) -> None:
    """Add ``--backend``, ``--uvloop`` (when asked) and mirage's ``--tap/--ip/--gateway``
    (unless ``device=False``)."""
    parser.add_argument(
        "--backend",
        default="asyncio",
        choices=sorted(ADAPTERS),
        help="IO backend (default asyncio)",
    )
    if uvloop:
        parser.add_argument("--uvloop", action="store_true", help="asyncio backend on uvloop")
    if device:
        parser.add_argument("--tap", help="mirage: the TAP device")
        parser.add_argument(
            "--ip",
            action="append",
            help="mirage: our address, A.B.C.D/PREFIX, dhcp (RFC 2131), or an IPv6 one like "
            "2001:db8::2/64 (repeat for both families; IPv6 also gets link-local and SLAAC "
            "addresses)",
        )
        parser.add_argument(
            "--gateway", action="append", help="mirage: a default gateway (one per family)"
        )


def device_options(args: argparse.Namespace) -> dict[str, Any]:
    """The ``--tap/--ip/--gateway`` that were given, as adapter options."""
    return {name: value for name in DEVICE_OPTIONS if (value := getattr(args, name, None))}


def listen_host(args: argparse.Namespace) -> str:
    """``--host`` if given, else the address of ``--ip`` (mirage; every address with
    ``--ip dhcp``; ``::``, both families, when an IPv6 one is among several), else
    127.0.0.1."""
    host: str | None = getattr(args, "host", None)
    if host:
        return host
    ips: list[str] | str | None = getattr(args, "ip", None)
    if not ips:
        return "127.0.0.1"
    if isinstance(ips, str):
        ips = [ips]
    if len(ips) > 1 and any(":" in ip for ip in ips):
        return "::"
    if ips[0] == "dhcp":
        return "0.0.0.0"  # the address is not known until the lease
    return ips[0].split("/")[0]
