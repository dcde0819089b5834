"""The stub resolver against real authoritative servers (NSD, Knot) on loopback.

Each server is started on first use on a free port with zones this file writes, and
stopped (its scratch directory removed) at the end of the module, also on failure. On
mirage the servers run inside the namespace whose TAP device the resolver's stack owns
(the ``kernel`` fixture; needs root). Tests skip when the Debian package is missing.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import backends
from backends.interface import Address
from dns import records as rd
from dns.resolver import NoData, NXDomain, Resolver
from tests.peers import KernelLink, PeerPool, run_knot, run_nsd

pytestmark = pytest.mark.interop

BIG_TXT_COUNT = 40

ZONE = f"""$ORIGIN example.test.
$TTL 300
@        IN SOA ns1 hostmaster 2024010101 3600 900 604800 60
@        IN NS  ns1
ns1      IN A   127.0.0.1
www      IN A   192.0.2.10
www      IN AAAA 2001:db8::10
alias    IN CNAME www
alias2   IN CNAME alias
outside  IN CNAME www.other.test.
dangling IN CNAME missing.other.test.
mail     IN MX  10 mx1
mail     IN MX  20 mx2.other.test.
mx1      IN A   192.0.2.25
txt      IN TXT "hello world" "second string"
_sip._udp IN SRV 10 5 5060 sip
sip      IN A   192.0.2.50
caa      IN CAA 0 issue "letsencrypt.org"
v6only   IN AAAA 2001:db8::6
host.sub IN A   192.0.2.77
svc      IN HTTPS 1 . alpn="h2,h3" port=8443 ipv4hint=192.0.2.10
{chr(10).join(f'big IN TXT "record number {i:03d} padding padding padding padding"' for i in range(BIG_TXT_COUNT))}
"""

OTHER_ZONE = """$ORIGIN other.test.
$TTL 120
@        IN SOA ns1.example.test. hostmaster.example.test. 1 3600 900 604800 30
@        IN NS  ns1.example.test.
www      IN A   192.0.2.99
"""

REVERSE_ZONE = """$ORIGIN 2.0.192.in-addr.arpa.
$TTL 300
@        IN SOA ns1.example.test. hostmaster.example.test. 1 3600 900 604800 60
@        IN NS  ns1.example.test.
10       IN PTR www.example.test.
"""

ZONES = {
    "example.test": ZONE,
    "other.test": OTHER_ZONE,
    "2.0.192.in-addr.arpa": REVERSE_ZONE,
}


@pytest.fixture(scope="module")
def servers() -> Iterator[PeerPool]:
    pool = PeerPool()
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture(params=["nsd", "knot"])
def server(request: pytest.FixtureRequest, servers: PeerPool, kernel: KernelLink) -> Address:
    """A real authoritative server (NSD, then Knot) where the backend meets kernel peers."""
    runner = run_nsd if request.param == "nsd" else run_knot
    peer = servers.get(request.param, kernel, lambda link: runner(ZONES, link=link))
    return peer.address, peer.port


def make(net: backends.Backend, server: Address, **kw: object) -> Resolver:
    options: dict[str, object] = {"port": server[1], "timeout": 1.0, "hosts": False}
    options.update(kw)
    return Resolver(net, [server[0]], **options)  # type: ignore[arg-type]


async def test_a_and_aaaa(backend: backends.Backend, server: Address) -> None:
    r = make(backend, server)
    a = await r.resolve("www.example.test", "A")
    assert a.addresses == ["192.0.2.10"]
    assert a.ttl == 300
    assert a.response is not None and a.response.transport == "udp"
    aaaa = await r.resolve("www.example.test.", "AAAA")
    assert aaaa.addresses == ["2001:db8::10"]


async def test_nxdomain_and_nodata_are_distinct(backend: backends.Backend, server: Address) -> None:
    r = make(backend, server)
    with pytest.raises(NXDomain) as nx:
        await r.resolve("nope.example.test.", "A")
    assert nx.value.negative_ttl == 60  # min(SOA TTL 300, MINIMUM 60)
    with pytest.raises(NoData) as nodata:
        await r.resolve("v6only.example.test.", "A")
    assert nodata.value.negative_ttl == 60
    assert nodata.value.rtype == 1


async def test_cname_chain_in_zone_and_across_zones(
    backend: backends.Backend, server: Address
) -> None:
    r = make(backend, server)
    ans = await r.resolve("alias2.example.test.", "A")
    assert ans.canonical_name == "www.example.test."
    assert [c.rdata.to_text() for c in ans.cname_chain] == [
        "alias.example.test.",
        "www.example.test.",
    ]
    assert ans.addresses == ["192.0.2.10"]
    # The target lives in another zone: the server stops at the CNAME, we ask again.
    out = await r.resolve("outside.example.test.", "A")
    assert out.canonical_name == "www.other.test."
    assert out.addresses == ["192.0.2.99"]
    assert out.ttl == 120
    with pytest.raises(NXDomain) as nx:
        await r.resolve("dangling.example.test.", "A")
    assert nx.value.canonical_name == "missing.other.test."
    assert nx.value.negative_ttl == 30


async def test_typed_records(backend: backends.Backend, server: Address) -> None:
    r = make(backend, server)
    mx = await r.resolve("mail.example.test.", "MX")
    assert sorted((m.preference, m.exchange) for m in mx.rdatas if isinstance(m, rd.MXRecord)) == [
        (10, "mx1.example.test."),
        (20, "mx2.other.test."),
    ]
    txt = await r.resolve("txt.example.test.", "TXT")
    (t,) = txt.rdatas
    assert isinstance(t, rd.TXTRecord)
    assert t.strings == (b"hello world", b"second string")
    assert t.to_text() == '"hello world" "second string"'
    srv = await r.resolve("_sip._udp.example.test.", "SRV")
    assert [x.to_text() for x in srv] == ["10 5 5060 sip.example.test."]
    soa = await r.resolve("example.test.", "SOA")
    (s,) = soa.rdatas
    assert isinstance(s, rd.SOARecord) and s.serial == 2024010101 and s.minimum == 60
    caa = await r.resolve("caa.example.test.", "CAA")
    assert [x.to_text() for x in caa] == ['0 issue "letsencrypt.org"']
    https = await r.resolve("svc.example.test.", "HTTPS")
    assert [x.to_text() for x in https] == ['1 . alpn="h2,h3" port=8443 ipv4hint=192.0.2.10']


async def test_truncated_answer_retried_over_tcp(
    backend: backends.Backend, server: Address
) -> None:
    r = make(backend, server)
    ans = await r.resolve("big.example.test.", "TXT")
    assert len(ans) == BIG_TXT_COUNT
    assert ans.response is not None and ans.response.transport == "tcp"
    # Without EDNS the 512-byte limit applies; still complete over TCP.
    r2 = make(backend, server, edns=False)
    assert len(await r2.resolve("big.example.test.", "TXT")) == BIG_TXT_COUNT


async def test_failover_from_a_silent_server(backend: backends.Backend, server: Address) -> None:
    silent = await backend.udp_bind("127.0.0.1", 0)
    try:
        r = Resolver(backend, [silent.address, server], timeout=0.2, hosts=False)
        ans = await r.resolve("www.example.test.", "A")
        assert ans.addresses == ["192.0.2.10"]
        assert ans.response is not None and ans.response.server == server
    finally:
        await silent.close()


async def test_search_list_and_ndots(backend: backends.Backend, server: Address) -> None:
    r = make(backend, server, search=["sub.example.test", "example.test"], ndots=1)
    ans = await r.resolve("host", "A")  # 0 dots < ndots: search domains first
    assert ans.name == "host.sub.example.test."
    ans = await r.resolve("www", "A")  # found in the second search domain
    assert ans.name == "www.example.test."
    ans = await r.resolve("www.example.test", "A")  # enough dots: as-is first
    assert ans.name == "www.example.test."
    # Every candidate fails: NXDOMAIN in both domains, REFUSED for "absent." (out of the
    # server's zones), which res_search reports as a server failure.
    with pytest.raises(backends.ResolutionError, match="REFUSED"):
        await r.resolve("absent", "A")
    r5 = make(backend, server, search=["example.test"], ndots=5)
    ans = await r5.resolve("host.sub", "A")  # 1 dot < 5: the search domain first
    assert ans.name == "host.sub.example.test."


async def test_lookup_address_and_reverse(backend: backends.Backend, server: Address) -> None:
    r = make(backend, server)
    addrs = await r.lookup_address("www.example.test", 443)
    assert addrs == [("2001:db8::10", 443), ("192.0.2.10", 443)]  # RFC 6724: IPv6 first
    assert await r.lookup_address("www.example.test", 80, family=4) == [("192.0.2.10", 80)]
    assert await r.lookup_address("v6only.example.test", 80) == [("2001:db8::6", 80)]
    assert await r.reverse("192.0.2.10") == ["www.example.test."]
    with pytest.raises(backends.ResolutionError):
        await r.lookup_address("nope.example.test", 80)


async def test_no_recursion_query_and_cache(backend: backends.Backend, server: Address) -> None:
    r = make(backend, server, cache=True)
    resp = await r.query("www.example.test", "A", recursion=False)
    assert resp.message.aa and not resp.message.rd
    first = await r.resolve("www.example.test.", "A")
    second = await r.resolve("www.example.test.", "A")
    assert not first.from_cache and second.from_cache
    assert second.addresses == first.addresses and 0 < second.ttl <= 300
    with pytest.raises(NXDomain):
        await r.resolve("nope.example.test.", "A")
    with pytest.raises(NXDomain) as cached:
        await r.resolve("nope.example.test.", "A")
    assert cached.value.response is None and 0 < cached.value.negative_ttl <= 60
