"""The stub resolver against our own authoritative server (dns.server), on every backend.

The same zones as the NSD/Knot interop tests, served by :class:`dns.server.AuthServer` on
the backend under test (so on mirage too: both ends run on its stack).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

import backends
from dns import records as rd
from dns.resolver import NoData, NXDomain, Resolver
from tests.interop.test_dns_resolver_nsd import BIG_TXT_COUNT, ZONES

server_mod = pytest.importorskip("dns.server")
zone_mod = pytest.importorskip("dns.zone")


@pytest.fixture
async def own_server(backend: backends.Backend) -> AsyncIterator[backends.Address]:
    zones = []
    for origin, text in ZONES.items():
        # Our zone reader takes SvcParam values unquoted (alpn=h2,h3); same rdata.
        text = text.replace('alpn="h2,h3"', "alpn=h2,h3")
        zones.append(zone_mod.parse_zone_text(text, origin + "."))
    server = server_mod.AuthServer(zones)
    async with server.running(backend, "127.0.0.1", 0) as (udp, _tcp):
        yield udp


def make(net: backends.Backend, address: backends.Address, **kw: object) -> Resolver:
    options: dict[str, object] = {"timeout": 1.0, "hosts": False}
    options.update(kw)
    return Resolver(net, [address], **options)  # type: ignore[arg-type]


async def test_answers_negatives_and_chains(
    backend: backends.Backend, own_server: backends.Address
) -> None:
    r = make(backend, own_server)
    assert (await r.resolve("www.example.test.", "A")).addresses == ["192.0.2.10"]
    with pytest.raises(NXDomain) as nx:
        await r.resolve("nope.example.test.", "A")
    assert nx.value.negative_ttl == 60
    with pytest.raises(NoData) as nodata:
        await r.resolve("v6only.example.test.", "A")
    assert nodata.value.negative_ttl == 60
    chain = await r.resolve("alias2.example.test.", "A")
    assert chain.canonical_name == "www.example.test." and len(chain.cname_chain) == 2
    out = await r.resolve("outside.example.test.", "A")
    assert out.addresses == ["192.0.2.99"]
    mx = await r.resolve("mail.example.test.", "MX")
    assert sorted(m.to_text() for m in mx) == ["10 mx1.example.test.", "20 mx2.other.test."]
    https = await r.resolve("svc.example.test.", "HTTPS")
    assert [h.to_text() for h in https] == ['1 . alpn="h2,h3" port=8443 ipv4hint=192.0.2.10']
    assert isinstance(https.rdatas[0], rd.HTTPSRecord)


async def test_tcp_fallback_and_search(
    backend: backends.Backend, own_server: backends.Address
) -> None:
    r = make(backend, own_server, search=["sub.example.test", "example.test"])
    big = await r.resolve("big.example.test.", "TXT")
    assert len(big) == BIG_TXT_COUNT
    assert big.response is not None and big.response.transport == "tcp"
    assert (await r.resolve("host", "A")).name == "host.sub.example.test."
    assert await r.lookup_address("www", 80) == [("2001:db8::10", 80), ("192.0.2.10", 80)]
    assert await r.reverse("192.0.2.10") == ["www.example.test."]
