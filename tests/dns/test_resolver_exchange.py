"""The resolver's exchange with servers, against scripted fake servers on loopback.

The fake servers here are the subject of the tests (a spoofer, a silent server, a server
that rejects EDNS, one that fails): each is a UDP endpoint the test binds on 127.0.0.1 and
drives by hand, answering with messages built by :class:`dns.wire.MessageBuilder`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

import backends
from dns import wire
from dns.hosts import Hosts
from dns.resolver import NoData, NXDomain, Resolver, ResolverTimeout, ServerFailure

Handler = Callable[[wire.Message, backends.Address, backends.DatagramEndpoint], Awaitable[None]]


def reply(
    query: wire.Message,
    *,
    answers: list[tuple[str, int, bytes]] = (),  # type: ignore[assignment]
    rcode: int = 0,
    msg_id: int | None = None,
    qname: str | None = None,
    qtype: int | None = None,
    qr: bool = True,
    soa_minimum: int | None = None,
) -> bytes:
    """A response to ``query``; every field can be made wrong on purpose."""
    q = query.question[0]
    b = wire.MessageBuilder(
        query.id if msg_id is None else msg_id,
        wire.make_flags(qr=qr, aa=True, rd=query.rd, rcode=rcode),
    )
    name = q.name if qname is None else wire.name_from_text(qname)
    b.add_question(name, q.qtype if qtype is None else qtype, q.qclass)
    for owner, rtype, rdata in answers:
        b.add_rr(wire.SECTION_ANSWER, wire.name_from_text(owner), rtype, wire.CLASS_IN, 300, rdata)
    if soa_minimum is not None:
        soa = (
            wire.encode_name(wire.name_from_text("ns.test."))
            + wire.encode_name(wire.name_from_text("host.test."))
            + (1).to_bytes(4, "big") * 4
            + soa_minimum.to_bytes(4, "big")
        )
        b.add_rr(
            wire.SECTION_AUTHORITY,
            wire.name_from_text("test."),
            wire.TYPE_SOA,
            wire.CLASS_IN,
            600,
            soa,
        )
    return b.finish()


def a_rdata(text: str) -> bytes:
    return ipaddress.IPv4Address(text).packed


class FakeServer:
    """A UDP endpoint that hands every query it receives to ``handler``."""

    def __init__(self, net: backends.Backend, handler: Handler | None) -> None:
        self.net = net
        self.handler = handler
        self.queries: list[tuple[wire.Message, backends.Address]] = []
        self.endpoint: backends.DatagramEndpoint | None = None

    @property
    def address(self) -> backends.Address:
        assert self.endpoint is not None
        return self.endpoint.address

    async def run(self) -> None:
        assert self.endpoint is not None
        while True:
            try:
                data, client = await self.endpoint.recv()
            except backends.ClosedFlow:
                return
            query = wire.Message.parse(data)
            self.queries.append((query, client))
            if self.handler is not None:
                await self.handler(query, client, self.endpoint)


async def serve(
    net: backends.Backend,
    tg: backends.interface.TaskGroup,
    handler: Handler | None,
    *,
    port: int = 0,
) -> FakeServer:
    server = FakeServer(net, handler)
    server.endpoint = await net.udp_bind("127.0.0.1", port)
    tg.start_soon(server.run)
    return server


def answer_with(addr: str) -> Handler:
    async def handler(
        q: wire.Message, client: backends.Address, ep: backends.DatagramEndpoint
    ) -> None:
        await ep.send(
            reply(q, answers=[(wire.name_to_text(q.question[0].name), 1, a_rdata(addr))]), client
        )

    return handler


async def test_spoofed_answers_are_ignored(backend: backends.Backend) -> None:
    """Wrong ID, wrong question, wrong source port or address, not a response, garbage:
    all dropped; the genuine answer (its name in different case) is the one accepted."""
    other = await backend.udp_bind("127.0.0.1", 0)
    other_address: list[backends.DatagramEndpoint] = []  # 127.0.0.2, the server's port

    async def spoofer(
        q: wire.Message, client: backends.Address, ep: backends.DatagramEndpoint
    ) -> None:
        name = wire.name_to_text(q.question[0].name)

        def ans(addr: str, **kw: object) -> bytes:
            return reply(q, answers=[(name, 1, a_rdata(addr))], **kw)  # type: ignore[arg-type]

        await ep.send(ans("192.0.2.66", msg_id=q.id ^ 0x5A5A), client)
        await ep.send(ans("192.0.2.67", qname="evil.test."), client)
        await ep.send(ans("192.0.2.68", qtype=wire.TYPE_AAAA), client)
        await ep.send(ans("192.0.2.69", qr=False), client)
        await other.send(ans("192.0.2.70"), client)  # right bytes, wrong source port
        for ep2 in other_address:
            await ep2.send(ans("192.0.2.72"), client)  # right port, wrong source address
        await ep.send(b"\x00" * 5, client)
        await ep.send(ans("192.0.2.71")[:20], client)  # truncated garbage, right ID
        upper = reply(q, qname=name.upper(), answers=[(name.upper(), 1, a_rdata("192.0.2.1"))])
        await ep.send(upper, client)

    try:
        async with backend.task_group() as tg:
            server = await serve(backend, tg, spoofer)
            try:
                other_address.append(await backend.udp_bind("127.0.0.2", server.address[1]))
            except backends.NetworkError:
                pass  # a stack without 127.0.0.2: the other cases still run
            r = Resolver(backend, [server.address], timeout=2.0, attempts=1, hosts=False)
            ans = await r.resolve("www.example.test.", "A")
            assert ans.addresses == ["192.0.2.1"]
            assert len(server.queries) == 1
            await server.endpoint.close()  # type: ignore[union-attr]
    finally:
        await other.close()
        for ep2 in other_address:
            await ep2.close()


async def test_fresh_port_and_random_id_per_query(backend: backends.Backend) -> None:
    async with backend.task_group() as tg:
        server = await serve(backend, tg, answer_with("192.0.2.1"))
        r = Resolver(backend, [server.address], timeout=1.0, hosts=False)
        for i in range(6):
            await r.resolve(f"n{i}.example.test.", "A")
        await server.endpoint.close()  # type: ignore[union-attr]
    ports = {client[1] for _, client in server.queries}
    ids = {q.id for q, _ in server.queries}
    assert len(ports) >= 5 and len(ids) >= 5  # (a repeat is possible, just unlikely)
    for q, _ in server.queries:
        assert q.edns is not None and q.edns.payload == 1232 and q.rd


async def test_failover_silent_first_server_and_timeouts(backend: backends.Backend) -> None:
    async with backend.task_group() as tg:
        silent = await serve(backend, tg, None)
        good = await serve(backend, tg, answer_with("192.0.2.2"))
        r = Resolver(backend, [silent.address, good.address], timeout=0.1, hosts=False)
        ans = await r.resolve("www.example.test.", "A")
        assert ans.addresses == ["192.0.2.2"]
        assert len(silent.queries) == 1 and len(good.queries) == 1

        only_silent = Resolver(backend, [silent.address], timeout=0.05, attempts=3, hosts=False)
        with pytest.raises(ResolverTimeout) as exc:
            await only_silent.resolve("www.example.test.", "A")
        assert isinstance(exc.value, backends.Timeout)
        assert len(silent.queries) == 1 + 3  # one try per attempt

        bounded = Resolver(
            backend, [silent.address], timeout=0.05, attempts=5, lifetime=0.01, hosts=False
        )
        with pytest.raises(ResolverTimeout):
            await bounded.resolve("www.example.test.", "A")
        assert len(silent.queries) == 1 + 3 + 1  # the lifetime cut the retries short
        await silent.endpoint.close()  # type: ignore[union-attr]
        await good.endpoint.close()  # type: ignore[union-attr]


async def test_servfail_moves_to_next_server(backend: backends.Backend) -> None:
    async def failing(
        q: wire.Message, client: backends.Address, ep: backends.DatagramEndpoint
    ) -> None:
        await ep.send(reply(q, rcode=wire.RCODE_SERVFAIL), client)

    async with backend.task_group() as tg:
        bad = await serve(backend, tg, failing)
        good = await serve(backend, tg, answer_with("192.0.2.3"))
        r = Resolver(backend, [bad.address, good.address], timeout=0.5, hosts=False)
        assert (await r.resolve("x.test.", "A")).addresses == ["192.0.2.3"]
        only_bad = Resolver(backend, [bad.address], timeout=0.5, attempts=2, hosts=False)
        with pytest.raises(ServerFailure, match="SERVFAIL"):
            await only_bad.resolve("x.test.", "A")
        # query() returns the first response whatever its rcode, as dig does.
        resp = await only_bad.query("x.test.", "A")
        assert resp.rcode == wire.RCODE_SERVFAIL
        await bad.endpoint.close()  # type: ignore[union-attr]
        await good.endpoint.close()  # type: ignore[union-attr]


async def test_edns_formerr_falls_back_to_plain_dns(backend: backends.Backend) -> None:
    async def old_server(
        q: wire.Message, client: backends.Address, ep: backends.DatagramEndpoint
    ) -> None:
        if q.edns is not None:
            await ep.send(reply(q, rcode=wire.RCODE_FORMERR), client)
        else:
            name = wire.name_to_text(q.question[0].name)
            await ep.send(reply(q, answers=[(name, 1, a_rdata("192.0.2.4"))]), client)

    async with backend.task_group() as tg:
        server = await serve(backend, tg, old_server)
        r = Resolver(backend, [server.address], timeout=0.5, hosts=False)
        assert (await r.resolve("a.test.", "A")).addresses == ["192.0.2.4"]
        assert [q.edns is not None for q, _ in server.queries] == [True, False]
        assert (await r.resolve("b.test.", "A")).addresses == ["192.0.2.4"]
        assert server.queries[-1][0].edns is None  # remembered: no EDNS for this server
        await server.endpoint.close()  # type: ignore[union-attr]


async def test_rotate_spreads_queries(backend: backends.Backend) -> None:
    async with backend.task_group() as tg:
        one = await serve(backend, tg, answer_with("192.0.2.11"))
        two = await serve(backend, tg, answer_with("192.0.2.12"))
        r = Resolver(backend, [one.address, two.address], rotate=True, timeout=0.5, hosts=False)
        got = [(await r.resolve(f"h{i}.test.", "A")).addresses[0] for i in range(4)]
        assert got == ["192.0.2.11", "192.0.2.12", "192.0.2.11", "192.0.2.12"]
        plain = Resolver(backend, [one.address, two.address], timeout=0.5, hosts=False)
        got = [(await plain.resolve(f"h{i}.test.", "A")).addresses[0] for i in range(2)]
        assert got == ["192.0.2.11", "192.0.2.11"]
        await one.endpoint.close()  # type: ignore[union-attr]
        await two.endpoint.close()  # type: ignore[union-attr]


async def test_negative_answers_and_cache(backend: backends.Backend) -> None:
    async def negative(
        q: wire.Message, client: backends.Address, ep: backends.DatagramEndpoint
    ) -> None:
        name = wire.name_to_text(q.question[0].name)
        rcode = wire.RCODE_NXDOMAIN if name.startswith("nx") else wire.RCODE_NOERROR
        await ep.send(reply(q, rcode=rcode, soa_minimum=45), client)

    async with backend.task_group() as tg:
        server = await serve(backend, tg, negative)
        r = Resolver(backend, [server.address], timeout=0.5, hosts=False, cache=True)
        with pytest.raises(NXDomain) as nx:
            await r.resolve("nx.test.", "A")
        assert nx.value.negative_ttl == 45  # min(SOA TTL 600, MINIMUM 45)
        with pytest.raises(NoData) as nodata:
            await r.resolve("empty.test.", "A")
        assert nodata.value.negative_ttl == 45
        assert len(server.queries) == 2
        with pytest.raises(NXDomain):
            await r.resolve("nx.test.", "A")
        with pytest.raises(NoData):
            await r.resolve("EMPTY.test.", "A")
        assert len(server.queries) == 2  # both answered from the negative cache
        await server.endpoint.close()  # type: ignore[union-attr]


async def test_hosts_file_first(backend: backends.Backend) -> None:
    async with backend.task_group() as tg:
        silent = await serve(backend, tg, None)
        hosts = Hosts.parse("192.0.2.5 myhost.example myhost\n2001:db8::5 myhost\n")
        r = Resolver(backend, [silent.address], timeout=0.05, attempts=1, hosts=hosts)
        assert await r.lookup_address("MyHost", 80) == [("2001:db8::5", 80), ("192.0.2.5", 80)]
        assert await r.lookup_address("myhost", 80, family=4) == [("192.0.2.5", 80)]
        assert await r.reverse("192.0.2.5") == ["myhost.example", "myhost"]
        assert await r.lookup_address("192.0.2.9", 8080) == [("192.0.2.9", 8080)]
        assert await r.lookup_address("[::1]", 8080) == [("::1", 8080)]
        assert silent.queries == []
        await silent.endpoint.close()  # type: ignore[union-attr]


async def test_configuration_read_from_a_resolv_conf_file(
    backend: backends.Backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No explicit servers: the file given (never the machine's) is read lazily, with
    LOCALDOMAIN and RES_OPTIONS applied; the search list decides the name asked."""
    monkeypatch.setenv("LOCALDOMAIN", "env.test")
    monkeypatch.setenv("RES_OPTIONS", "ndots:3 attempts:1")
    async with backend.task_group() as tg:
        server = await serve(backend, tg, answer_with("192.0.2.44"))
        path = tmp_path / "resolv.conf"
        path.write_text("nameserver 127.0.0.1\nsearch file.test\noptions timeout:1\n")
        r = Resolver(backend, port=server.address[1], resolv_conf=str(path), hosts=Hosts.parse(""))
        ans = await r.resolve("www.a", "A")  # 1 dot < ndots 3: search domain first
        assert ans.name == "www.a.env.test."
        assert r.nameservers == [("127.0.0.1", server.address[1])]
        assert (r.ndots, r.attempts, r.timeout, r.search) == (3, 1, 1.0, ("env.test",))
        assert [wire.name_to_text(q.question[0].name) for q, _ in server.queries] == [
            "www.a.env.test."
        ]
        await server.endpoint.close()  # type: ignore[union-attr]


async def test_truncated_udp_answer_is_asked_again_over_tcp(backend: backends.Backend) -> None:
    """UDP answers TC=1 with nothing; TCP on the same port gives 60 records. A TCP answer
    with the wrong ID is refused (and counted as that server failing)."""
    addrs = [f"192.0.2.{i}" for i in range(1, 61)]
    wrong_id = False

    async def truncating(
        q: wire.Message, client: backends.Address, ep: backends.DatagramEndpoint
    ) -> None:
        b = wire.MessageBuilder(q.id, wire.make_flags(qr=True, aa=True, tc=True, rd=q.rd))
        b.add_question(q.question[0].name, q.question[0].qtype)
        await ep.send(b.finish(), client)

    async def tcp_answer(flow: backends.Flow) -> None:
        data = b""
        while len(data) < 2 or len(data) < 2 + int.from_bytes(data[:2], "big"):
            chunk = await flow.read()
            if not chunk:
                return
            data += chunk
        q = wire.Message.parse(data[2:])
        name = wire.name_to_text(q.question[0].name)
        out = reply(
            q, answers=[(name, 1, a_rdata(a)) for a in addrs], msg_id=q.id ^ 1 if wrong_id else None
        )
        await flow.write(len(out).to_bytes(2, "big") + out)

    async with backend.task_group() as tg:
        # TCP first: its free port is rarely taken for UDP, whereas a UDP port's number is
        # often some TCP connection's ephemeral port on a busy machine.
        listener = await backend.tcp_listen("127.0.0.1", 0)
        server = await serve(backend, tg, truncating, port=listener.address[1])
        tg.start_soon(listener.serve, tcp_answer)
        r = Resolver(backend, [server.address], timeout=1.0, attempts=1, hosts=False)
        ans = await r.resolve("many.test.", "A")
        assert ans.addresses == addrs
        assert ans.response is not None and ans.response.transport == "tcp"
        wrong_id = True
        with pytest.raises(ServerFailure, match="does not match"):
            await r.resolve("many.test.", "A")
        await listener.close()
        await server.endpoint.close()  # type: ignore[union-attr]


async def test_default_resolver_is_shared_per_backend(backend: backends.Backend) -> None:
    """One shared resolver per backend (no query is sent: an IP literal needs none)."""
    from dns.resolver import default_resolver

    r = default_resolver(backend)
    assert default_resolver(backend) is r and r.cache is not None
    assert await r.lookup_address("192.0.2.8", 443) == [("192.0.2.8", 443)]


async def test_malformed_record_is_a_server_failure(backend: backends.Backend) -> None:
    async def broken(
        q: wire.Message, client: backends.Address, ep: backends.DatagramEndpoint
    ) -> None:
        name = wire.name_to_text(q.question[0].name)
        await ep.send(reply(q, answers=[(name, 1, b"\x01\x02\x03")]), client)  # 3-byte A

    async with backend.task_group() as tg:
        server = await serve(backend, tg, broken)
        r = Resolver(backend, [server.address], timeout=0.5, hosts=False)
        with pytest.raises(ServerFailure, match=r"malformed record.*expected 4"):
            await r.resolve("bad.test.", "A")
        await server.endpoint.close()  # type: ignore[union-attr]


async def test_ipv6_server(backend: backends.Backend) -> None:
    try:
        endpoint = await backend.udp_bind("::1", 0)
    except backends.NetworkError as exc:
        pytest.skip(f"no IPv6 loopback here: {exc}")
    async with backend.task_group() as tg:
        server = FakeServer(backend, answer_with("192.0.2.6"))
        server.endpoint = endpoint
        tg.start_soon(server.run)
        host, port = endpoint.address
        r = Resolver(backend, [f"[{host}]:{port}"], timeout=0.5, hosts=False)
        assert r.nameservers == [("::1", port)]
        assert (await r.resolve("v6.test.", "A")).addresses == ["192.0.2.6"]
        await endpoint.close()


async def test_localhost_is_never_asked(backend: backends.Backend) -> None:
    async with backend.task_group() as tg:
        silent = await serve(backend, tg, None)
        r = Resolver(backend, [silent.address], timeout=0.05, attempts=1, hosts=False)
        assert await r.lookup_address("localhost", 80) == [("::1", 80), ("127.0.0.1", 80)]
        assert await r.lookup_address("app.LOCALHOST.", 80, family=4) == [("127.0.0.1", 80)]
        assert silent.queries == []
        await silent.endpoint.close()  # type: ignore[union-attr]


def test_query_ids_come_from_the_os_csprng_once_each() -> None:
    from dns.resolver import _QueryIds

    ids = _QueryIds()
    drawn = [ids() for _ in range(4096)]  # two refills of 2,048
    assert all(0 <= i <= 0xFFFF for i in drawn)
    # 4,096 draws from 65,536 values: uniform random gives ~3,970 distinct; a stuck or
    # repeating source gives far fewer.
    assert len(set(drawn)) > 3800


def test_query_ids_are_not_shared_with_a_forked_child() -> None:
    import os

    from dns.resolver import _query_id

    _query_id()  # make sure the pool is filled
    left = list(_query_id._ids)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report how many of the parent's IDs it still holds
        os.write(write, str(len(_query_id._ids)).encode())
        os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read, 16) == b"0"
    assert _query_id._ids == left
