"""DNS over HTTPS (RFC 8484) requests at the edges: GET and POST parsing, the errors
(400, 404, 405, 413, 415) and Cache-Control (RFC 8484 5.1), over real HTTPS to our server."""

from __future__ import annotations

import struct
from collections.abc import AsyncIterator

import pytest

import backends
import backends.tls
from dns import doh, dot, wire
from dns.resolver import ResolverTimeout, ServerFailure
from dns.server import AuthServer
from dns.zone import parse_zone_text
from tests.dns.test_dot import HOSTNAME, ZONE, certificates, make  # noqa: F401 (a fixture)

trustme = pytest.importorskip("trustme")


@pytest.fixture
async def https(
    backend: backends.Backend,
    certificates: tuple[str, str],  # noqa: F811
) -> AsyncIterator[tuple[backends.Address, str]]:
    ca, chain = certificates
    # A short message deadline: cohttp's handshake, request head and body deadlines.
    server = AuthServer([parse_zone_text(ZONE, "example.test.")], tcp_message_timeout=1.0)
    context = doh.server_context(chain)
    async with server.running(backend, https_context=context, https=[("127.0.0.1", 0)]):
        assert server.https_address is not None
        yield server.https_address, ca


async def ask(
    net: backends.Backend, where: tuple[backends.Address, str], head: str, body: bytes = b""
) -> tuple[int, dict[str, str], bytes]:
    """Send one raw HTTP/1.1 request (``connection: close``) over TLS; the status, the
    header fields and the body of the answer."""
    address, ca = where
    context = backends.tls.client_context(cafile=ca, alpn=["http/1.1"])
    flow = await backends.tls.connect(net, *address, context=context, server_hostname=HOSTNAME)
    try:
        request = head.replace("\n", "\r\n") + f"host: {HOSTNAME}\r\nconnection: close\r\n\r\n"
        await flow.write(request.encode() + body)
        data = b""
        with net.fail_after(10):
            while chunk := await flow.read(65536):
                data += chunk
    finally:
        await flow.close()
    top, _, payload = data.partition(b"\r\n\r\n")
    lines = top.decode("latin-1").split("\r\n")
    fields = dict(line.lower().split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), fields, payload


def query(name: str, qtype: int = wire.TYPE_A) -> bytes:
    return wire.build_query(wire.name_from_text(name), qtype, msg_id=0, edns_payload=1232)


async def test_get_and_post_answer_with_the_smallest_ttl(
    backend: backends.Backend, https: tuple[backends.Address, str]
) -> None:
    q = doh.encode_dns_param(query("ns1.example.test."))
    status, fields, body = await ask(backend, https, f"GET /dns-query?dns={q} HTTP/1.1\n")
    assert status == 200 and fields["content-type"] == doh.CONTENT_TYPE
    assert fields["cache-control"] == "max-age=3600"
    assert wire.Message.parse(body).answer[0].ttl == 3600
    assert len(body) % dot.RESPONSE_BLOCK == 0  # padded (RFC 8467)
    message = query("nope.example.test.")
    status, fields, body = await ask(
        backend,
        https,
        f"POST /dns-query HTTP/1.1\ncontent-type: application/dns-message\n"
        f"content-length: {len(message)}\n",
        message,
    )
    assert status == 200 and wire.Message.parse(body).rcode == wire.RCODE_NXDOMAIN
    assert fields["cache-control"] == "max-age=300"  # min(SOA TTL, MINIMUM), RFC 2308 5


@pytest.mark.parametrize(
    ("target", "status", "says"),
    [
        ("/dns-query?dns=AAAB%3D", 400, "base64url"),  # percent-encoded padding
        ("/dns-query?dns=AAA=", 400, "base64url"),  # padding is refused (RFC 8484 4.1)
        ("/dns-query?dns=A+B/", 400, "base64url"),  # the other alphabet
        ("/dns-query?dns=AAAAA", 400, "length"),  # 5 characters decode to nothing whole
        ("/dns-query?dns=AAAA", 400, "not even a header"),
        ("/dns-query", 400, "dns parameter"),
        ("/other?dns=AAAA", 404, "/dns-query"),
    ],
)
async def test_bad_gets(
    backend: backends.Backend,
    https: tuple[backends.Address, str],
    target: str,
    status: int,
    says: str,
) -> None:
    got, _, body = await ask(backend, https, f"GET {target} HTTP/1.1\n")
    assert got == status and says in body.decode()


async def test_bad_posts(backend: backends.Backend, https: tuple[backends.Address, str]) -> None:
    message = query("www.example.test.")
    status, _, body = await ask(
        backend,
        https,
        f"POST /dns-query HTTP/1.1\ncontent-type: application/json\n"
        f"content-length: {len(message)}\n",
        message,
    )
    assert status == 415 and "application/dns-message" in body.decode()
    big = 70000
    status, _, _ = await ask(
        backend,
        https,
        f"POST /dns-query HTTP/1.1\ncontent-type: application/dns-message\ncontent-length: {big}\n",
    )
    assert status == 413
    status, _, _ = await ask(backend, https, "PUT /dns-query HTTP/1.1\ncontent-length: 0\n")
    assert status == 405


async def test_a_trickled_request_is_cut_by_the_request_deadline(
    backend: backends.Backend, https: tuple[backends.Address, str]
) -> None:
    """A client sending its request head a byte every 0.1 s is answered 408 and cut once
    the head's deadline (the server's ``tcp_message_timeout``, 1 s here, fixed at its first
    byte) has passed, however steadily it trickles; meanwhile other clients are answered."""
    address, ca = https
    context = backends.tls.client_context(cafile=ca, alpn=["http/1.1"])
    flow = await backends.tls.connect(backend, *address, context=context, server_hostname=HOSTNAME)
    head = b"GET /dns-query?dns=AAAAAAAAAAAAAAAA HTTP/1.1\r\nhost: x\r\nx-slow: " + b"a" * 60
    received = b""
    answered = 0
    cut = False
    started = backend.now()

    async def trickle() -> None:
        for byte in head:
            if cut:
                return
            try:
                await flow.write(bytes([byte]))
            except backends.NetworkError:
                return  # the server has closed: our writes fail
            await backend.sleep(0.1)  # the head would take 10 s

    async def others() -> None:
        nonlocal answered
        q = doh.encode_dns_param(query("ns1.example.test."))
        for _ in range(5):
            status, _, body = await ask(backend, https, f"GET /dns-query?dns={q} HTTP/1.1\n")
            assert status == 200 and wire.Message.parse(body).answer
            answered += 1
            await backend.sleep(0.2)

    try:
        with backend.fail_after(8):
            async with backend.task_group() as tg:
                tg.start_soon(others)
                tg.start_soon(trickle)
                try:
                    while chunk := await flow.read(65536):
                        received += chunk
                except backends.NetworkError:
                    pass
                cut_after = backend.now() - started
                cut = True
    finally:
        flow.abort()
    assert cut_after < 5.0  # not the 10 s the head would take
    assert received.startswith(b"HTTP/1.1 408 ")
    assert answered == 5


def test_max_age_follows_rfc_8484_5_1() -> None:
    b = wire.MessageBuilder(0, wire.QR)
    name = wire.name_from_text("a.test.")
    b.add_question(name, wire.TYPE_A)
    b.add_rr(wire.SECTION_ANSWER, name, wire.TYPE_A, wire.CLASS_IN, 70, b"\x01\x02\x03\x04")
    b.add_rr(wire.SECTION_ANSWER, name, wire.TYPE_A, wire.CLASS_IN, 30, b"\x01\x02\x03\x05")
    assert doh.max_age(b.finish()) == 30
    empty = wire.MessageBuilder(0, wire.QR)
    empty.add_question(name, wire.TYPE_A)
    assert doh.max_age(empty.finish()) == 0
    soa = wire.MessageBuilder(0, wire.QR)
    soa.add_question(name, wire.TYPE_A)
    rdata = b"\x00\x00" + struct.pack("!IIIII", 1, 2, 3, 4, 45)
    soa.add_rr(wire.SECTION_AUTHORITY, name, wire.TYPE_SOA, wire.CLASS_IN, 100, rdata)
    assert doh.max_age(soa.finish()) == 45


def test_the_dns_parameter_round_trips() -> None:
    for message in (b"", b"\xff", b"\xfb\xff", query("www.example.test.")):
        text = doh.encode_dns_param(message)
        assert "=" not in text and doh.decode_dns_param(text) == message
    with pytest.raises(doh.DohError) as too_long:
        doh.decode_dns_param("A" * 100_000)
    assert too_long.value.status == 413


async def _connect(
    net: backends.Backend, address: backends.Address, ca: str, alpn: str = "http/1.1"
) -> backends.tls.TLSFlow:
    context = backends.tls.client_context(cafile=ca, alpn=[alpn])
    return await backends.tls.connect(net, *address, context=context, server_hostname=HOSTNAME)


async def test_doh_connections_hold_the_servers_tcp_slots(
    backend: backends.Backend,
    certificates: tuple[str, str],  # noqa: F811
) -> None:
    """DoH connections count against ``max_tcp_connections`` as TCP and DoT ones do: when
    all are taken, the one longest without a request is shed for the newcomer."""
    ca, chain = certificates
    server = AuthServer([parse_zone_text(ZONE, "example.test.")], max_tcp_connections=2)
    async with server.running(
        backend, https_context=doh.server_context(chain), https=[("127.0.0.1", 0)]
    ):
        assert server.https_address is not None
        where = (server.https_address, ca)
        idle = await _connect(backend, server.https_address, ca)
        await backend.sleep(0.05)
        busy = await _connect(backend, server.https_address, ca)
        try:
            q = doh.encode_dns_param(query("ns1.example.test."))
            request = f"GET /dns-query?dns={q} HTTP/1.1\r\nhost: {HOSTNAME}\r\n\r\n"
            await busy.write(request.encode())  # busy asks: idle is now the oldest
            with backend.fail_after(5):
                assert (await busy.read(65536)).startswith(b"HTTP/1.1 200 ")
            assert server.tcp_count == 2
            status, _, _ = await ask(backend, where, f"GET /dns-query?dns={q} HTTP/1.1\n")
            assert status == 200  # the newcomer is served...
            with backend.fail_after(5):
                try:
                    shed = await idle.read(65536) == b""
                except backends.NetworkError:
                    shed = True
            assert shed  # ...and the idle connection gave it its slot
            await busy.write(request.encode())
            with backend.fail_after(5):
                assert (await busy.read(65536)).startswith(b"HTTP/1.1 200 ")
        finally:
            idle.abort()
            busy.abort()
    assert server.tcp_count == 0


def _frames(data: bytes) -> tuple[list[tuple[int, bytes]], bytes]:
    """The whole HTTP/2 frames at the start of ``data`` as (type, payload), and the rest."""
    frames = []
    while len(data) >= 9:
        length = int.from_bytes(data[:3], "big")
        if len(data) < 9 + length:
            break
        frames.append((data[3], data[9 : 9 + length]))
        data = data[9 + length :]
    return frames, data


async def test_stop_ends_http2_connections_with_goaway(
    backend: backends.Backend,
    certificates: tuple[str, str],  # noqa: F811
) -> None:
    """Stopping the DNS server shuts its DoH server down gracefully: an HTTP/2 client is
    sent GOAWAY (RFC 9113 6.8) with NO_ERROR, then the connection ends."""
    ca, chain = certificates
    server = AuthServer([parse_zone_text(ZONE, "example.test.")])
    flow = None
    try:
        async with server.running(
            backend, https_context=doh.server_context(chain), https=[("127.0.0.1", 0)]
        ):
            assert server.https_address is not None
            flow = await _connect(backend, server.https_address, ca, alpn="h2")
            assert flow.alpn == "h2"
            await flow.write(
                b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])
            )
            with backend.fail_after(5):
                first = await flow.read(65536)
            frames, rest = _frames(first)
            assert frames and frames[0][0] == 4  # the server's SETTINGS
            stopped_at = backend.now()
        # running() has returned: the server stopped, and did not wait out a grace period
        assert backend.now() - stopped_at < 2.0
        data = rest
        with backend.fail_after(5):
            try:
                while chunk := await flow.read(65536):
                    data += chunk
            except backends.NetworkError:
                pass
        goaways = [payload for kind, payload in _frames(data)[0] if kind == 7]
        assert goaways and goaways[0][4:8] == bytes(4)  # NO_ERROR (RFC 9113 7)
    finally:
        if flow is not None:
            flow.abort()


async def test_a_trickled_http2_frame_is_cut_too(
    backend: backends.Backend, https: tuple[backends.Address, str]
) -> None:
    """Over HTTP/2 (what kdig speaks) a frame begun and trickled is cut by the same
    deadline (cohttp.h2's header_timeout, 1 s here), not when the trickle ends."""
    address, ca = https
    flow = await _connect(backend, address, ca, alpn="h2")
    started = backend.now()
    sent = 0
    try:
        await flow.write(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0]))
        headers = bytes([0, 0, 40, 1, 4, 0, 0, 0, 1]) + bytes(40)  # HEADERS, 40 octets
        with backend.fail_after(8):
            try:
                for byte in headers:  # 4.9 s if it were let through
                    await flow.write(bytes([byte]))
                    sent += 1
                    await backend.sleep(0.1)
            except backends.NetworkError:
                pass  # the server has closed: our writes fail
        assert sent < len(headers)  # cut before the frame was whole...
        assert backend.now() - started < 4.0  # ...about 1 s in
    finally:
        flow.abort()


async def test_resolver_over_https_replaces_a_connection_the_server_closed(
    backend: backends.Backend,
    certificates: tuple[str, str],  # noqa: F811
) -> None:
    """The resolver's DoH goes through cohttp's client: a kept connection the server has
    closed (idle timeout) is replaced and the query answered (RFC 8484 5.2, RFC 7858 3.4)."""
    ca, chain = certificates
    server = AuthServer([parse_zone_text(ZONE, "example.test.")], tcp_idle_timeout=0.3)
    async with server.running(
        backend, https_context=doh.server_context(chain), https=[("127.0.0.1", 0)]
    ):
        assert server.https_address is not None
        r = make(backend, server.https_address, ca, https="/dns-query")
        try:
            assert (await r.query("www.example.test.", "A")).transport == "https"
            await backend.sleep(1.0)  # the server closes the idle connection
            response = await r.query("www.example.test.", "A")
            assert response.message.rcode == wire.RCODE_NOERROR
            assert r.pool is not None and r.pool.connections_made == 2
            bad = make(backend, server.https_address, ca, https="/dns-query", tls_hostname="x.test")
            with pytest.raises(ServerFailure) as failure:
                await bad.query("www.example.test.", "A")
            assert "x.test" in failure.value.errors[0]
            assert "another host name" in failure.value.errors[0]
            other = make(backend, server.https_address, ca, https="/elsewhere")
            with pytest.raises(ServerFailure) as failure:
                await other.query("www.example.test.", "A")
            assert "HTTP 404" in failure.value.errors[0]
            await bad.aclose()
            await other.aclose()
        finally:
            await r.aclose()


async def test_doh_beside_dot_needs_a_context_of_its_own(
    backend: backends.Backend,
    certificates: tuple[str, str],  # noqa: F811
) -> None:
    """cohttp sets the ALPN of the context it serves with: a context shared with DoT would
    lose ``dot`` (RFC 7858 3.1), so serving both from one context is refused, clearly."""
    _, chain = certificates
    server = AuthServer([parse_zone_text(ZONE, "example.test.")])
    here = [("127.0.0.1", 0)]
    with pytest.raises(ValueError, match="context of its own"):
        await server.serve(
            backend, "127.0.0.1", 0, tls_context=dot.server_context(chain), tls=here, https=here
        )
    with pytest.raises(ValueError, match="needs a TLS context"):
        await server.serve(backend, "127.0.0.1", 0, https=here)


async def test_a_silent_doh_server_is_a_timeout_and_frees_the_clients_slots(
    backend: backends.Backend,
    certificates: tuple[str, str],  # noqa: F811
) -> None:
    """A server that completes the handshake and never answers: each query is a timeout
    after the try's ``timeout`` (cohttp's client deadlines, not a cancellation from
    outside), and the connection slot goes back each time, so more queries than the
    client allows at once to one server still each get a connection of their own."""
    ca, chain = certificates
    context = doh.server_context(chain)
    listener = await backend.tcp_listen("127.0.0.1", 0)

    async def silent(flow: backends.Flow) -> None:
        secure = await backends.tls.wrap_server(flow, context)
        while await secure.read(65536):
            pass  # reads the request, answers nothing

    async with backend.task_group() as tg:
        tg.start_soon(listener.serve, silent)
        r = make(backend, listener.address, ca, https="/dns-query", timeout=0.3)
        try:
            assert isinstance(r.pool, doh.DohClient)
            tries = r.pool.max_per_server + 1
            for _ in range(tries):
                started = backend.now()
                with pytest.raises(ResolverTimeout):
                    await r.query("www.example.test.", "A")
                assert backend.now() - started < 2.0
            assert r.pool.connections_made == tries
        finally:
            await r.aclose()
            await listener.close()
            tg.cancel_scope.cancel()
