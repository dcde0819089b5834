"""Resolver configuration and pure logic: resolv.conf, hosts, search list, RFC 6724, cache."""

from __future__ import annotations

import os
import tempfile

import pytest

import backends
from dns.cache import Cache
from dns.hosts import Hosts
from dns.resolvconf import ResolvConf, default_search, load_resolv_conf, parse_resolv_conf
from dns.resolver import Resolver, search_candidates, sort_addresses

RESOLV_CONF = """\
# comment
; another comment
nameserver 192.0.2.53
nameserver 2001:db8::53
nameserver fe80::1%eth0
nameserver 192.0.2.54
nameserver not-an-address
domain ignored.example
search corp.example. lab.example
options ndots:2 timeout:3 attempts:4 rotate edns0 bogus
sortlist 130.155.160.0/255.255.240.0
"""


def test_resolv_conf_fields() -> None:
    conf = parse_resolv_conf(RESOLV_CONF, {})
    assert conf.nameservers == ("192.0.2.53", "2001:db8::53", "fe80::1%eth0")  # MAXNS = 3
    assert conf.search == ("corp.example", "lab.example")  # the later search line wins
    assert (conf.ndots, conf.timeout, conf.attempts) == (2, 3.0, 4)
    assert conf.rotate and conf.edns0 and not conf.use_vc
    assert "bogus" in conf.ignored
    assert any("not-an-address" in i for i in conf.ignored)


def test_domain_after_search_wins_and_caps() -> None:
    conf = parse_resolv_conf(
        "search a.example b.example\ndomain c.example\n"
        "options ndots:99 timeout:99 attempts:99 use-vc\n",
        {},
    )
    assert conf.search == ("c.example",)
    assert (conf.ndots, conf.timeout, conf.attempts, conf.use_vc) == (15, 30.0, 5, True)


def test_defaults_without_nameservers_and_hostname_domain() -> None:
    conf = parse_resolv_conf("", {}, nodename="box.site.example")
    assert conf.nameservers == ("127.0.0.1", "::1")
    assert conf.search == ("site.example",)
    assert default_search("nodomain") == ()
    assert ResolvConf().ndots == 1


def test_environment_overrides() -> None:
    env = {"LOCALDOMAIN": "env1.example env2.example.", "RES_OPTIONS": "ndots:4 attempts:1"}
    conf = parse_resolv_conf(RESOLV_CONF, env)
    assert conf.search == ("env1.example", "env2.example")
    assert conf.ndots == 4 and conf.attempts == 1 and conf.timeout == 3.0


def test_load_from_file_and_missing_file() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "resolv.conf")
        with open(path, "w") as f:
            f.write("nameserver 127.0.0.9\nsearch x.example\n")
        conf = load_resolv_conf(path, env={})
        assert conf.nameservers == ("127.0.0.9",) and conf.search == ("x.example",)
        missing = load_resolv_conf(os.path.join(tmp, "absent"), env={})
        assert missing.nameservers == ("127.0.0.1", "::1")


def test_hosts_file() -> None:
    hosts = Hosts.parse(
        "127.0.0.1 localhost\n"
        "::1 localhost ip6-localhost  # comment\n"
        "192.0.2.1 Web.Example. web\n"
        "192.0.2.2 web.example\n"
        "bogus line\n"
        "300.1.1.1 broken\n"
        "fe80::1%eth0 linklocal\n"
    )
    assert hosts.addresses("localhost") == ["127.0.0.1", "::1"]
    assert hosts.addresses("WEB.example.") == ["192.0.2.1", "192.0.2.2"]
    assert hosts.addresses("localhost", 6) == ["::1"]
    assert hosts.names("192.0.2.1") == ["Web.Example", "web"]
    assert hosts.addresses("linklocal") == ["fe80::1%eth0"]
    assert hosts.ignored == 2
    assert hosts.addresses("absent") == []


@pytest.mark.parametrize(
    ("name", "search", "ndots", "expected"),
    [
        ("host", ["a.example", "b.example"], 1, ["host.a.example.", "host.b.example.", "host."]),
        ("www.example.com", ["a.example"], 1, ["www.example.com.", "www.example.com.a.example."]),
        ("www.example.com.", ["a.example"], 1, ["www.example.com."]),
        (
            "db.svc",
            ["ns.cluster.local", "cluster.local"],
            5,
            ["db.svc.ns.cluster.local.", "db.svc.cluster.local.", "db.svc."],
        ),
        ("host", [], 1, ["host."]),
        ("host", ["A.example", "a.example."], 1, ["host.A.example.", "host."]),
    ],
)
def test_search_candidates(name: str, search: list[str], ndots: int, expected: list[str]) -> None:
    assert search_candidates(name, search, ndots) == expected


def test_rfc6724_order() -> None:
    got = sort_addresses(
        [
            "192.0.2.1",
            "2002:c000:201::1",
            "2001:0:53aa:64c::1",
            "fd00::1",
            "2001:db8::1",
            "::1",
            "127.0.0.1",
            "fe80::1",
            "10.0.0.1",
        ]
    )
    assert got == [
        "::1",  # precedence 50
        "fe80::1",
        "2001:db8::1",  # 40: link-local scope before global
        "127.0.0.1",
        "192.0.2.1",
        "10.0.0.1",  # 35 (IPv4): loopback scope first, then order
        "2002:c000:201::1",  # 30 (6to4)
        "2001:0:53aa:64c::1",  # 5 (Teredo)
        "fd00::1",  # 3 (ULA)
    ]


def test_cache_ttl_lru_and_negative_cap() -> None:
    cache: Cache[str] = Cache(max_entries=2, max_negative_ttl=100)
    k1, k2, k3 = Cache.key("a.example", 1), Cache.key("B.example.", 1), Cache.key("c.", 28)
    assert k2 == ("b.example.", 1, 1)
    cache.put(k1, "one", 10, now=0.0)
    assert cache.get(k1, 5.0) == ("one", 5)
    assert cache.get(k1, 10.0) is None  # expired exactly at the TTL
    cache.put(k1, "one", 10, now=20.0)
    cache.put(k2, "two", 10, now=20.0)
    assert cache.get(k1, 21.0) is not None  # k1 now most recently used
    cache.put(k3, "three", 10, now=21.0)  # evicts k2
    assert k2 not in cache and k1 in cache and len(cache) == 2
    cache.put(k2, "neg", 5000, now=0.0, negative=True)
    assert cache.get(k2, 99.0) == ("neg", 1) and cache.get(k2, 100.0) is None
    cache.put(k3, "zero", 0, now=0.0)  # TTL 0: not cached (and replaces the old entry)
    assert k3 not in cache
    cache.put(k1, "x", 1, now=0.0)
    assert cache.purge(5.0) == 1
    with pytest.raises(ValueError, match="max_entries"):
        Cache(0)


@pytest.mark.parametrize(
    "spec", ["127.0.0.1:٣", "127.0.0.1:²", "[::1]:99999", "[::1]:" + "9" * 5000]
)
async def test_name_server_ports_are_ascii_digits_with_a_limit(
    backend: backends.Backend, spec: str
) -> None:
    with pytest.raises(ValueError, match="port"):
        Resolver(backend, [spec])
