"""The server's configuration file (TOML, read with :mod:`tomllib`)::

    listen = ["127.0.0.1:5353", "[::1]:5353"]     # default ["127.0.0.1:53"]
    allow-transfer = ["127.0.0.0/8"]              # defaults for every zone
    allow-update = []
    notify = []

    [[key]]
    name = "xfr.key"
    algorithm = "hmac-sha256"                      # hmac-sha256 (default) or hmac-sha512
    secret = "base64..."

    [[zone]]
    file = "example.test.zone"                     # relative to this file's directory
    origin = "example.test"                        # default: the file's $ORIGIN / SOA owner
    journal = "example.test.jnl"                   # default: the zone file's name + .jnl
    allow-transfer = ["key:xfr.key"]               # this zone's own, instead of the defaults
    allow-update = ["key:xfr.key"]
    notify = ["127.0.0.1:5300 key:xfr.key"]      # NOTIFY signed with that key
    dnssec = { keys = ["keys/Kexample.test.+013+12345"], nsec3 = true }
                                                   # signed online (dns.sign): BIND key files
                                                   # (basenames, relative to this file), and
                                                   # nsec3, salt (hex), iterations, opt-out,
                                                   # lifetime, refresh (seconds)

    [catalog]                                      # RFC 9432: a catalog of the zones
    name = "catalog.invalid"
    allow-transfer = ["key:xfr.key"]
    notify = ["127.0.0.1:5300"]

:func:`load_config` reads and checks it all, collecting every problem as one line naming
the file and the key path (``server.toml: zone[2].allow-update[0]: 'key:nobody' names a key
that is not defined``) in a :class:`ConfigError`.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from dataclasses import dataclass, field
from typing import Any

from . import tsig, wire
from .catalog import catalog_zone
from .keys import KeyFileError, SigningKey, load_key
from .server import ZonePolicy, parse_hostport, split_notify_target
from .sign import Policy, Signer, SigningError
from .zone import Zone, key_of, load_zone_file


class ConfigError(Exception):
    """A configuration with problems: ``problems`` holds one line for each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass
class ZoneConfig:
    """One ``[[zone]]``: paths made absolute; ``None`` for what it leaves to the defaults."""

    file: str
    origin: str | None = None
    journal: str | None = None
    allow_transfer: list[str] | None = None
    allow_update: list[str] | None = None
    notify: list[str] | None = None
    signing_keys: list[SigningKey] | None = None
    """The zone's ``dnssec.keys``, loaded; ``None``: not signed online."""
    signing_policy: Policy | None = None


@dataclass
class CatalogConfig:
    """The ``[catalog]`` table: the catalog zone's name and who may transfer it."""

    name: str
    allow_transfer: list[str] | None = None
    notify: list[str] | None = None


@dataclass
class Config:
    """A checked configuration."""

    path: str
    listen: list[tuple[str, int]] = field(default_factory=lambda: [("127.0.0.1", 53)])
    keys: list[tsig.Key] = field(default_factory=list)
    allow_transfer: list[str] = field(default_factory=list)
    allow_update: list[str] = field(default_factory=list)
    notify: list[str] = field(default_factory=list)
    zones: list[ZoneConfig] = field(default_factory=list)
    catalog: CatalogConfig | None = None


_TOP = {"listen", "key", "zone", "allow-transfer", "allow-update", "notify", "catalog"}
_ZONE = {"file", "origin", "journal", "allow-transfer", "allow-update", "notify", "dnssec"}
_DNSSEC = {"keys", "nsec3", "salt", "iterations", "opt-out", "lifetime", "refresh"}
_KEY = {"name", "algorithm", "secret"}
_CATALOG = {"name", "allow-transfer", "notify"}


class _Checker:
    def __init__(self, path: str) -> None:
        self.path = path
        self.problems: list[str] = []
        self.base = os.path.dirname(os.path.abspath(path))

    def problem(self, where: str, message: str) -> None:
        self.problems.append(f"{self.path}: {where}: {message}")

    def unknown(self, where: str, table: dict[str, Any], known: set[str]) -> None:
        for name in table:
            if name not in known:
                self.problem(f"{where}{name}", "unknown setting")

    def string(self, where: str, value: Any) -> str | None:
        if not isinstance(value, str) or not value:
            self.problem(where, f"expected a non-empty string, got {value!r}")
            return None
        return value

    def strings(self, where: str, value: Any) -> list[str] | None:
        if not isinstance(value, list):
            self.problem(where, f"expected a list of strings, got {value!r}")
            return None
        out = []
        for i, item in enumerate(value):
            text = self.string(f"{where}[{i}]", item)
            if text is not None:
                out.append(text)
        return out

    def domain(self, where: str, value: Any) -> str | None:
        text = self.string(where, value)
        if text is None:
            return None
        try:
            wire.name_from_text(text if text.endswith(".") else text + ".")
        except wire.WireError as exc:
            self.problem(where, f"{text!r} is not a domain name: {exc}")
            return None
        return text

    def acl(self, where: str, value: Any, keys: set[bytes]) -> list[str] | None:
        entries = self.strings(where, value)
        if entries is None:
            return None
        for i, entry in enumerate(entries):
            if entry.lower().startswith("key:"):
                name = entry[4:].rstrip(".")
                try:
                    canonical = wire.name_key(wire.name_from_text(name + "."))
                except wire.WireError:
                    self.problem(f"{where}[{i}]", f"{entry!r}: not a key name")
                    continue
                if canonical not in keys:
                    self.problem(f"{where}[{i}]", f"{entry!r} names a key that is not defined")
                continue
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                self.problem(f"{where}[{i}]", f"{entry!r} is not a network or key:NAME")
        return entries

    def targets(self, where: str, value: Any, keys: set[bytes]) -> list[str] | None:
        entries = self.strings(where, value)
        if entries is None:
            return None
        for i, entry in enumerate(entries):
            address, key_name = split_notify_target(entry)
            try:
                host, port = parse_hostport(address)
            except ValueError:
                host, port = "", 0
            if not host or not 0 < port < 65536:
                self.problem(
                    f"{where}[{i}]",
                    f"{entry!r} is not HOST[:PORT] (port 1 to 65535) [key:NAME]",
                )
            if key_name is not None:
                self.acl(f"{where}[{i}]", ["key:" + key_name], keys)
        return entries

    def dnssec(self, where: str, value: Any, zone: ZoneConfig) -> None:
        if not isinstance(value, dict):
            self.problem(where, "expected a table (dnssec = { keys = [...] })")
            return
        self.unknown(f"{where}.", value, _DNSSEC)
        paths = self.strings(f"{where}.keys", value.get("keys", [])) or []
        if not paths:
            self.problem(f"{where}.keys", "no key files")
        keys = []
        for i, path in enumerate(paths):
            try:
                keys.append(load_key(os.path.join(self.base, path)))
            except KeyFileError as exc:
                self.problem(f"{where}.keys[{i}]", str(exc))
        options: dict[str, Any] = {}
        for name, kind in (("nsec3", bool), ("opt-out", bool), ("iterations", int)):
            if name in value:
                if type(value[name]) is not kind:
                    self.problem(f"{where}.{name}", f"expected {kind.__name__}")
                else:
                    options[name.replace("-", "_")] = value[name]
        for name in ("lifetime", "refresh"):
            if name in value:
                if type(value[name]) is not int or value[name] <= 0:
                    self.problem(f"{where}.{name}", "expected a number of seconds")
                else:
                    options[name] = value[name]
        if "salt" in value:
            salt = value["salt"]
            try:
                options["salt"] = b"" if salt == "-" else bytes.fromhex(salt)
            except (TypeError, ValueError):
                self.problem(f"{where}.salt", f"{salt!r}: expected hex digits or '-'")
        try:
            zone.signing_policy = Policy(**options)
        except SigningError as exc:
            self.problem(where, str(exc))
        if len(keys) == len(paths) and keys:
            zone.signing_keys = keys

    def file(self, where: str, value: Any) -> str | None:
        text = self.string(where, value)
        return None if text is None else os.path.join(self.base, text)


def load_config(path: str) -> Config:
    """Read and check the configuration at ``path``; :class:`ConfigError` listing every
    problem found (``OSError`` text included when it cannot be read)."""
    check = _Checker(path)
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except OSError as exc:
        raise ConfigError([f"{path}: {exc.strerror or exc}"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path}: not TOML: {exc}"]) from None
    config = Config(os.path.abspath(path))
    check.unknown("", data, _TOP)
    if "listen" in data:
        listen = check.strings("listen", data["listen"]) or []
        config.listen = []
        for i, entry in enumerate(listen):
            try:
                config.listen.append(parse_hostport(entry))
            except ValueError as exc:
                check.problem(f"listen[{i}]", f"{entry!r}: {exc}")
        if not listen:
            check.problem("listen", "no address to listen on")
    keys = data.get("key", [])
    if not isinstance(keys, list):
        check.problem("key", "expected [[key]] tables")
        keys = []
    names: set[bytes] = set()
    for i, table in enumerate(keys):
        where = f"key[{i}]"
        if not isinstance(table, dict):
            check.problem(where, "expected a table")
            continue
        check.unknown(f"{where}.", table, _KEY)
        name = check.domain(f"{where}.name", table.get("name"))
        secret = check.string(f"{where}.secret", table.get("secret"))
        algorithm = table.get("algorithm", "hmac-sha256")
        if not isinstance(algorithm, str) or algorithm.lower() not in tsig.SIGNING_ALGORITHMS:
            check.problem(
                f"{where}.algorithm",
                f"{algorithm!r}: expected one of {', '.join(tsig.SIGNING_ALGORITHMS)}",
            )
            continue
        if name is None or secret is None:
            continue
        try:
            key = tsig.Key(
                wire.name_from_text(name if name.endswith(".") else name + "."),
                algorithm.lower(),
                tsig.decode_secret(secret, name),
            )
        except ValueError as exc:
            check.problem(f"{where}.secret", str(exc))
            continue
        if key.key in names:
            check.problem(f"{where}.name", f"key {name} is defined twice")
            continue
        names.add(key.key)
        config.keys.append(key)
    config.allow_transfer = check.acl("allow-transfer", data.get("allow-transfer", []), names) or []
    config.allow_update = check.acl("allow-update", data.get("allow-update", []), names) or []
    config.notify = check.targets("notify", data.get("notify", []), names) or []
    zones = data.get("zone", [])
    if not isinstance(zones, list) or not zones:
        check.problem("zone", "expected one [[zone]] table or more")
        zones = []
    for i, table in enumerate(zones):
        where = f"zone[{i}]"
        if not isinstance(table, dict):
            check.problem(where, "expected a table")
            continue
        check.unknown(f"{where}.", table, _ZONE)
        zone_file = check.file(f"{where}.file", table.get("file"))
        zone = ZoneConfig(zone_file or "")
        if "origin" in table:
            zone.origin = check.domain(f"{where}.origin", table["origin"])
        if "journal" in table:
            zone.journal = check.file(f"{where}.journal", table["journal"])
        if "allow-transfer" in table:
            zone.allow_transfer = check.acl(
                f"{where}.allow-transfer", table["allow-transfer"], names
            )
        if "allow-update" in table:
            zone.allow_update = check.acl(f"{where}.allow-update", table["allow-update"], names)
        if "notify" in table:
            zone.notify = check.targets(f"{where}.notify", table["notify"], names)
        if "dnssec" in table:
            check.dnssec(f"{where}.dnssec", table["dnssec"], zone)
        if zone_file is not None:
            config.zones.append(zone)
    if "catalog" in data:
        table = data["catalog"]
        if not isinstance(table, dict):
            check.problem("catalog", "expected a table")
        else:
            check.unknown("catalog.", table, _CATALOG)
            name = check.domain("catalog.name", table.get("name"))
            if name is not None:
                config.catalog = CatalogConfig(name)
                if "allow-transfer" in table:
                    config.catalog.allow_transfer = check.acl(
                        "catalog.allow-transfer", table["allow-transfer"], names
                    )
                if "notify" in table:
                    config.catalog.notify = check.targets("catalog.notify", table["notify"], names)
    if check.problems:
        raise ConfigError(check.problems)
    return config


def load_zones(config: Config) -> list[Zone]:
    """Load every zone file of ``config`` (blocking); :class:`dns.zone.ZoneError` on the
    first that does not load."""
    return [load_zone_file(z.file, z.origin) for z in config.zones]


def with_catalog(config: Config, zones: list[Zone], previous: Zone | None = None) -> list[Zone]:
    """``zones``, and their catalog zone (RFC 9432) when ``config`` has one; ``previous``
    is the catalog in service, kept when the members did not change."""
    if config.catalog is None:
        return zones
    name = wire.name_from_text(config.catalog.name.rstrip(".") + ".")
    return [*zones, catalog_zone(name, [z.origin for z in zones], previous)]


def catalog_key(config: Config) -> tuple[bytes, ...] | None:
    """The lookup key of ``config``'s catalog zone, if it has one."""
    if config.catalog is None:
        return None
    return key_of(wire.name_from_text(config.catalog.name.rstrip(".") + "."))


def server_settings(config: Config, zones: list[Zone]) -> dict[str, Any]:
    """The keyword arguments of :meth:`AuthServer.configure` (and of the constructor) for
    ``config`` whose zones, loaded, are ``zones`` (in the same order)."""
    policies = {}
    journals = {}
    signers = {}
    for zone_config, zone in zip(config.zones, zones, strict=True):
        origin = wire.name_to_text(zone.origin)
        if zone_config.signing_keys is not None:
            signers[origin] = Signer(zone_config.signing_keys, zone_config.signing_policy)
        policies[origin] = ZonePolicy(
            zone_config.allow_transfer, zone_config.allow_update, zone_config.notify
        )
        if zone_config.journal is not None:
            journals[origin] = zone_config.journal
    if config.catalog is not None:
        policies[config.catalog.name] = ZonePolicy(
            config.catalog.allow_transfer, [], config.catalog.notify
        )
    return {
        "keys": config.keys,
        "allow_transfer": config.allow_transfer,
        "allow_update": config.allow_update,
        "notify": config.notify,
        "policies": policies,
        "journal_paths": journals,
        "signers": signers,
    }


__all__ = [
    "CatalogConfig",
    "Config",
    "ConfigError",
    "ZoneConfig",
    "catalog_key",
    "load_config",
    "load_zones",
    "server_settings",
    "with_catalog",
]
