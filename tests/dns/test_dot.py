"""DNS over TLS (RFC 7858) and over HTTPS (RFC 8484): our resolver against our server, on
every backend (mirage: both ends on its in-memory stack), and the padding (RFC 8467).

Certificates come from trustme, made for the test.
"""

from __future__ import annotations

import datetime
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

import backends
import backends.tls
from dns import doh, dot, wire
from dns.resolver import Resolver, ServerFailure
from dns.server import AuthServer
from dns.zone import parse_zone_text

trustme = pytest.importorskip("trustme")

ZONE = """\
$TTL 3600
@    IN SOA ns1 hostmaster 1 7200 3600 1209600 300
     NS   ns1
ns1  A    192.0.2.1
www  300  A 192.0.2.10
www  600  A 192.0.2.11
"""
HOSTNAME = "dns.test"


@dataclass
class Served:
    server: AuthServer
    tls: backends.Address
    https: backends.Address
    ca: str


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """(CA file, server chain+key file) for ``dns.test`` and 127.0.0.1."""
    where = tmp_path_factory.mktemp("dot-certs")
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(where / "ca.pem"))
    cert = ca.issue_cert(HOSTNAME, "127.0.0.1")
    cert.private_key_and_cert_chain_pem.write_to_path(str(where / "server.pem"))
    return str(where / "ca.pem"), str(where / "server.pem")


@pytest.fixture
async def served(backend: backends.Backend, certificates: tuple[str, str]) -> AsyncIterator[Served]:
    ca, chain = certificates
    server = AuthServer([parse_zone_text(ZONE, "example.test.")], tcp_idle_timeout=5.0)
    context = dot.server_context(chain)
    here = [("127.0.0.1", 0)]
    https_context = doh.server_context(chain)  # its own: cohttp sets its ALPN
    async with server.running(
        backend, tls_context=context, tls=here, https=here, https_context=https_context
    ):
        assert server.tls_address is not None and server.https_address is not None
        yield Served(server, server.tls_address, server.https_address, ca)


def make(net: backends.Backend, address: backends.Address, ca: str, **kw: object) -> Resolver:
    options: dict[str, object] = {
        "timeout": 3.0,
        "attempts": 1,
        "hosts": False,
        "tls": True,
        "tls_ca": ca,
        "tls_hostname": HOSTNAME,
    }
    options.update(kw)
    return Resolver(net, [address], **options)  # type: ignore[arg-type]


@pytest.mark.parametrize("transport", ["tls", "https"])
async def test_resolver_over_tls_and_https_reuses_one_connection(
    backend: backends.Backend, served: Served, transport: str
) -> None:
    address = served.tls if transport == "tls" else served.https
    https = "/dns-query" if transport == "https" else None
    r = make(backend, address, served.ca, https=https)
    try:
        first = await r.resolve("www.example.test.", "A")
        assert sorted(first.addresses) == ["192.0.2.10", "192.0.2.11"]
        assert first.response is not None and first.response.transport == transport
        for _ in range(3):
            again = await r.query("ns1.example.test.", "A")
            assert again.message.rcode == wire.RCODE_NOERROR
            # RFC 8467 4.1: the query padded to 128-byte blocks, the response to 468.
            assert again.query_size % dot.QUERY_BLOCK == 0
            assert len(again.message.data) % dot.RESPONSE_BLOCK == 0
        assert r.pool is not None and r.pool.connections_made == 1  # RFC 7858 3.4
    finally:
        await r.aclose()


async def test_a_connection_closed_by_the_server_is_replaced(
    backend: backends.Backend, served: Served
) -> None:
    served.server.tcp_idle_timeout = 0.2
    r = make(backend, served.tls, served.ca)
    try:
        await r.query("www.example.test.", "A")
        await backend.sleep(0.6)  # the server closes the idle connection (RFC 7858 3.4)
        response = await r.query("www.example.test.", "A")
        assert response.message.rcode == wire.RCODE_NOERROR
        assert r.pool is not None and r.pool.connections_made == 2
    finally:
        await r.aclose()


async def test_a_wrong_host_name_is_a_clear_error(
    backend: backends.Backend, served: Served
) -> None:
    r = make(backend, served.tls, served.ca, tls_hostname="wrong.test")
    with pytest.raises(ServerFailure) as failure:
        await r.query("www.example.test.", "A")
    assert "wrong.test" in failure.value.errors[0]
    assert "another host name" in failure.value.errors[0]


async def test_an_unknown_ca_is_a_clear_error(
    backend: backends.Backend, served: Served, tmp_path: object
) -> None:
    other = trustme.CA()
    path = f"{tmp_path}/other-ca.pem"
    other.cert_pem.write_to_path(path)
    r = make(backend, served.https, path, https="/dns-query")
    with pytest.raises(ServerFailure) as failure:
        await r.query("www.example.test.", "A")
    assert "unknown CA" in failure.value.errors[0]


async def test_an_expired_certificate_is_a_clear_error(
    backend: backends.Backend, tmp_path: object
) -> None:
    ca = trustme.CA()
    ca_path, chain = f"{tmp_path}/ca.pem", f"{tmp_path}/old.pem"
    ca.cert_pem.write_to_path(ca_path)
    old = ca.issue_cert(
        HOSTNAME,
        not_before=datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC),
        not_after=datetime.datetime(2020, 2, 1, tzinfo=datetime.UTC),
    )
    old.private_key_and_cert_chain_pem.write_to_path(chain)
    server = AuthServer([parse_zone_text(ZONE, "example.test.")])
    context = dot.server_context(chain)
    async with server.running(backend, tls_context=context, tls=[("127.0.0.1", 0)]):
        assert server.tls_address is not None
        r = make(backend, server.tls_address, ca_path)
        with pytest.raises(ServerFailure) as failure:
            await r.query("www.example.test.", "A")
    assert "certificate expired" in failure.value.errors[0]


async def _tls_client(backend: backends.Backend, served: Served) -> backends.tls.TLSFlow:
    context = dot.client_context(served.ca)
    return await backends.tls.connect(
        backend, *served.tls, context=context, server_hostname=HOSTNAME
    )


def _framed(message: bytes) -> bytes:
    return struct.pack("!H", len(message)) + message


async def test_pipelined_queries_over_tls_are_all_answered_padded(
    backend: backends.Backend, served: Served
) -> None:
    flow = await _tls_client(backend, served)
    try:
        assert flow.alpn == dot.DOT_ALPN
        names = ["www", "ns1", "nope"]
        queries = [
            wire.build_query(
                wire.name_from_text(f"{n}.example.test."), wire.TYPE_A, msg_id=i, edns_payload=1232
            )
            for i, n in enumerate(names)
        ]
        plain = wire.build_query(wire.name_from_text("www.example.test."), wire.TYPE_A, msg_id=9)
        await flow.write(b"".join(_framed(q) for q in [*queries, plain]))
        seen = {}
        for _ in range(4):
            (length,) = struct.unpack("!H", await dot.read_exactly(flow, 2))
            message = wire.Message.parse(await dot.read_exactly(flow, length))
            seen[message.id] = message
        assert sorted(seen) == [0, 1, 2, 9]
        assert seen[2].rcode == wire.RCODE_NXDOMAIN
        for i in range(3):
            assert len(seen[i].data) % dot.RESPONSE_BLOCK == 0
            assert seen[i].edns is not None
            assert [c for c, _ in seen[i].edns.options] == [dot.OPTION_PADDING]
        assert seen[9].edns is None  # no EDNS in the query: nothing to pad with
    finally:
        await flow.close()


async def test_an_idle_tls_connection_is_closed_with_close_notify(
    backend: backends.Backend, served: Served
) -> None:
    served.server.tcp_idle_timeout = 0.2
    flow = await _tls_client(backend, served)
    try:
        with backend.fail_after(5):
            assert await flow.read(100) == b""  # a clean end: close_notify came
    finally:
        await flow.close()


async def test_a_trickled_handshake_cannot_hold_the_connection(
    backend: backends.Backend, served: Served
) -> None:
    served.server.tcp_message_timeout = 0.3
    flow = await backend.tcp_connect(*served.tls)
    try:
        with backend.fail_after(5):
            for byte in b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03":  # a ClientHello's start
                await flow.write(bytes([byte]))
                await backend.sleep(0.05)
            started = backend.now()
            while await flow.read(100):  # the server gives up on the handshake: EOF
                pass
        assert backend.now() - started < 4
    except backends.NetworkError:
        pass  # the server dropped it while we trickled: as good
    finally:
        await flow.close()


async def test_udp_and_tcp_answers_are_not_padded(
    backend: backends.Backend, served: Served
) -> None:
    r = Resolver(backend, [served.server.udp_address], hosts=False, timeout=2.0)  # type: ignore[list-item]
    for tcp in (False, True):
        response = await r.query("www.example.test.", "A", tcp=tcp)
        assert response.message.edns is not None and response.message.edns.options == ()


def test_pad_reaches_the_block_and_leaves_other_messages_alone() -> None:
    name = wire.name_from_text("www.example.test.")
    for block in (dot.QUERY_BLOCK, dot.RESPONSE_BLOCK):
        query = wire.build_query(name, wire.TYPE_A, edns_payload=1232)
        padded = dot.pad(query, block)
        assert len(padded) % block == 0 and len(padded) > len(query)
        parsed = wire.Message.parse(padded, strict=True)
        assert parsed.edns is not None
        assert parsed.edns.options == ((dot.OPTION_PADDING, bytes(len(padded) - len(query) - 4)),)
        assert dot.pad(padded, block) == padded  # already padded
    no_edns = wire.build_query(name, wire.TYPE_A)
    assert dot.pad(no_edns, dot.QUERY_BLOCK) == no_edns
    # A record after the OPT record (where a TSIG goes) must not be disturbed.
    with_opt = wire.build_query(name, wire.TYPE_A, edns_payload=1232)
    extra = b"\x00" + struct.pack("!HHIH", wire.TYPE_A, wire.CLASS_IN, 1, 4) + b"\x7f\x00\x00\x01"
    after_opt = with_opt[:10] + struct.pack("!H", 2) + with_opt[12:] + extra
    assert wire.Message.parse(after_opt, strict=True).opt_offset + 11 < len(after_opt)
    assert dot.pad(after_opt, dot.QUERY_BLOCK) == after_opt
