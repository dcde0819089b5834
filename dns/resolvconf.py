"""Stub-resolver configuration: ``/etc/resolv.conf`` as glibc reads it.

:func:`parse_resolv_conf` turns the text of a resolv.conf into a :class:`ResolvConf`;
:func:`load_resolv_conf` reads the file and then applies the ``LOCALDOMAIN`` and
``RES_OPTIONS`` environment variables the way glibc's ``res_init`` does:

* ``nameserver ADDR`` (IPv4 or IPv6, an IPv6 zone ``%iface`` is kept), at most
  :data:`MAXNS` used, further ones ignored as glibc ignores them;
* ``search D1 D2 ...`` and ``domain D``: whichever comes last wins; with neither, the
  domain part of the host name (``os.uname().nodename``) is the search list;
* ``options ndots:N timeout:N attempts:N rotate edns0 use-vc`` (``ndots`` capped at 15,
  ``timeout`` at 30, ``attempts`` at 5, as glibc caps them); unknown options are ignored;
* ``LOCALDOMAIN`` replaces the search list (space separated), ``RES_OPTIONS`` is read as
  one more ``options`` line applied after the file.

With no ``nameserver`` line the resolver uses the local host (``127.0.0.1`` and ``::1``),
again as glibc does.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from . import wire

MAXNS = 3
"""How many ``nameserver`` lines are used (glibc's MAXNS)."""

NDOTS_MAX = 15
TIMEOUT_MAX = 30
ATTEMPTS_MAX = 5
DEFAULT_NAMESERVERS = ("127.0.0.1", "::1")
DEFAULT_PATH = "/etc/resolv.conf"


class ResolvConfError(ValueError):
    """A resolv.conf could not be read at all (not: a line in it was ignored)."""


@dataclass(frozen=True)
class ResolvConf:
    """The resolver settings a resolv.conf gives.

    Attributes:
        nameservers: server addresses (IP literals, no port), in file order.
        search: the search list, each a domain without the trailing dot.
        ndots: names with at least this many dots are tried as-is first.
        timeout: seconds to wait for one server on one try.
        attempts: rounds over all servers before giving up.
        rotate: start each query at the next server (round robin).
        edns0: the ``edns0`` option was given.
        use_vc: the ``use-vc`` option was given (query over TCP).
        ignored: lines or options that were not understood, for diagnostics.
    """

    nameservers: tuple[str, ...] = DEFAULT_NAMESERVERS
    search: tuple[str, ...] = ()
    ndots: int = 1
    timeout: float = 5.0
    attempts: int = 2
    rotate: bool = False
    edns0: bool = False
    use_vc: bool = False
    ignored: tuple[str, ...] = field(default=(), compare=False)


def _clean_domain(domain: str) -> str | None:
    domain = domain.strip().rstrip(".")
    if not domain or domain == ".":
        return None
    return domain


def parse_decimal(text: str, maximum: int) -> int | None:
    """``text`` as an unsigned decimal number no larger than ``maximum``, or None: the
    command-line and configuration face of :func:`dns.wire.parse_decimal` (ASCII digits
    only, length-limited), for callers that report the problem in their own words."""
    try:
        return wire.parse_decimal(text, maximum)
    except ValueError:
        return None


def _int_option(value: str, cap: int) -> int | None:
    number = parse_decimal(value, 10**wire.MAX_DECIMAL_DIGITS)
    return None if number is None else min(number, cap)


def _apply_options(conf: ResolvConf, words: list[str], ignored: list[str]) -> ResolvConf:
    changes: dict[str, object] = {}
    for word in words:
        name, sep, value = word.partition(":")
        if name == "ndots" and sep:
            n = _int_option(value, NDOTS_MAX)
            if n is None:
                ignored.append(word)
            else:
                changes["ndots"] = n
        elif name == "timeout" and sep:
            n = _int_option(value, TIMEOUT_MAX)
            if n is None or n == 0:
                ignored.append(word)
            else:
                changes["timeout"] = float(n)
        elif name == "attempts" and sep:
            n = _int_option(value, ATTEMPTS_MAX)
            if n is None or n == 0:
                ignored.append(word)
            else:
                changes["attempts"] = n
        elif word == "rotate":
            changes["rotate"] = True
        elif word == "edns0":
            changes["edns0"] = True
        elif word == "use-vc":
            changes["use_vc"] = True
        else:
            ignored.append(word)
    return replace(conf, **changes)  # type: ignore[arg-type]


def _valid_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def default_search(nodename: str | None = None) -> tuple[str, ...]:
    """The search list glibc derives from the host name when resolv.conf has none."""
    if nodename is None:
        nodename = os.uname().nodename
    _, dot, domain = nodename.partition(".")
    cleaned = _clean_domain(domain) if dot else None
    return (cleaned,) if cleaned else ()


def parse_resolv_conf(
    text: str,
    env: Mapping[str, str] | None = None,
    *,
    nodename: str | None = None,
) -> ResolvConf:
    """Parse resolv.conf ``text``; apply ``LOCALDOMAIN``/``RES_OPTIONS`` from ``env``.

    ``env`` defaults to no environment at all (pass ``os.environ`` to honour the real one,
    as :func:`load_resolv_conf` does). ``nodename`` is the host name used for the default
    search list (default: ``os.uname().nodename``).
    """
    conf = ResolvConf()
    nameservers: list[str] = []
    search: tuple[str, ...] | None = None
    ignored: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        words = line.split()
        keyword, args = words[0], words[1:]
        if keyword == "nameserver" and args:
            addr = args[0]
            if _valid_address(addr) and len(nameservers) < MAXNS:
                nameservers.append(addr)
            elif not _valid_address(addr):
                ignored.append(line)
        elif keyword == "domain" and args:
            d = _clean_domain(args[0])
            search = (d,) if d else ()
        elif keyword == "search":
            cleaned = [_clean_domain(a) for a in args]
            search = tuple(d for d in cleaned if d)
        elif keyword == "options":
            conf = _apply_options(conf, args, ignored)
        else:
            ignored.append(line)
    if nameservers:
        conf = replace(conf, nameservers=tuple(nameservers))
    env = env or {}
    local = env.get("LOCALDOMAIN")
    if local is not None:
        search = tuple(d for d in (_clean_domain(w) for w in local.split()) if d)
    if search is None:
        search = default_search(nodename)
    conf = replace(conf, search=search)
    res_options = env.get("RES_OPTIONS")
    if res_options:
        conf = _apply_options(conf, res_options.split(), ignored)
    return replace(conf, ignored=tuple(ignored))


def load_resolv_conf(path: str = DEFAULT_PATH, env: Mapping[str, str] | None = None) -> ResolvConf:
    """Read and parse ``path`` (blocking; run it in a thread from async code).

    A missing file gives the defaults (local host as the server), as glibc does; ``env``
    defaults to ``os.environ``.
    """
    if env is None:
        env = os.environ
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read(1 << 20)
    except FileNotFoundError:
        text = ""
    except OSError as exc:
        raise ResolvConfError(f"cannot read {path}: {exc}") from exc
    return parse_resolv_conf(text, env)


__all__ = [
    "DEFAULT_NAMESERVERS",
    "DEFAULT_PATH",
    "MAXNS",
    "ResolvConf",
    "ResolvConfError",
    "default_search",
    "load_resolv_conf",
    "parse_decimal",
    "parse_resolv_conf",
]
