"""``/etc/hosts``: static name-to-address entries consulted before DNS.

Each line is ``ADDRESS NAME [ALIAS...]``; ``#`` starts a comment. Names compare
case-insensitively and without a trailing dot. Lines whose address is not an IP literal
are skipped (and counted in :attr:`Hosts.ignored`), as libc skips them.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

DEFAULT_PATH = "/etc/hosts"
MAX_SIZE = 4 << 20
"""Bytes of a hosts file read at most."""


def _key(name: str) -> str:
    return name.rstrip(".").lower()


@dataclass
class Hosts:
    """A parsed hosts file: forward (name -> addresses) and reverse (address -> names).

    Addresses keep file order; a name listed on several lines collects every address, as
    glibc's ``multi on`` gives.
    """

    forward: dict[str, list[str]] = field(default_factory=dict)
    reverse: dict[str, list[str]] = field(default_factory=dict)
    ignored: int = 0

    @classmethod
    def parse(cls, text: str) -> Hosts:
        """Parse the text of a hosts file."""
        hosts = cls()
        for raw in text.splitlines():
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            words = line.split()
            if len(words) < 2:
                hosts.ignored += 1
                continue
            try:
                ip = ipaddress.ip_address(words[0].split("%", 1)[0])
            except ValueError:
                hosts.ignored += 1
                continue
            address = words[0] if "%" in words[0] else str(ip)
            for name in words[1:]:
                addrs = hosts.forward.setdefault(_key(name), [])
                if address not in addrs:
                    addrs.append(address)
            names = hosts.reverse.setdefault(str(ip), [])
            for name in words[1:]:
                if name not in names:
                    names.append(name.rstrip("."))
        return hosts

    @classmethod
    def load(cls, path: str = DEFAULT_PATH) -> Hosts:
        """Read and parse ``path`` (blocking); a missing or unreadable file is empty."""
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                return cls.parse(f.read(MAX_SIZE))
        except OSError:
            return cls()

    def addresses(self, name: str, family: int | None = None) -> list[str]:
        """Addresses for ``name``; ``family`` 4 or 6 keeps only that IP version."""
        found = self.forward.get(_key(name), [])
        if family is None:
            return list(found)
        return [a for a in found if ipaddress.ip_address(a.split("%", 1)[0]).version == family]

    def names(self, address: str) -> list[str]:
        """Names listed for ``address`` (canonical name first), for reverse lookups."""
        try:
            key = str(ipaddress.ip_address(address.split("%", 1)[0]))
        except ValueError:
            return []
        return list(self.reverse.get(key, []))


__all__ = ["DEFAULT_PATH", "Hosts"]
