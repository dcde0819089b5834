"""The server over the network, on every backend: UDP, TCP per RFC 7766, transfers,
NOTIFY, reload."""

from __future__ import annotations

import os
import struct

import dnslib
import pytest

import backends
from dns import wire
from dns.server import AuthServer
from dns.zone import Zone, ZoneError, load_zone_file, parse_zone_text
from tests.dns.test_server_answers import DIFF_ZONE

LOCAL = "127.0.0.1"


def query(name: str, qtype: int = wire.TYPE_A, msg_id: int = 1, **kw: object) -> bytes:
    return wire.build_query(wire.name_from_text(name), qtype, msg_id=msg_id, **kw)  # type: ignore[arg-type]


def framed(data: bytes) -> bytes:
    return struct.pack("!H", len(data)) + data


async def udp_ask(net: backends.Backend, port: int, data: bytes, host: str = LOCAL) -> wire.Message:
    ep = await net.udp_bind(LOCAL, 0)
    try:
        await ep.send(data, (host, port))
        with net.fail_after(5):
            reply, _ = await ep.recv()
    finally:
        await ep.close()
    return wire.Message.parse(reply)


class Reader:
    """Reads length-prefixed messages from a flow."""

    def __init__(self, flow: backends.Flow) -> None:
        self.flow = flow
        self.buf = b""

    async def message(self) -> bytes | None:
        while True:
            if len(self.buf) >= 2:
                n = struct.unpack_from("!H", self.buf)[0]
                if len(self.buf) >= 2 + n:
                    msg, self.buf = self.buf[2 : 2 + n], self.buf[2 + n :]
                    return msg
            chunk = await self.flow.read()
            if not chunk:
                return None
            self.buf += chunk


def diff_server(**kw: object) -> AuthServer:
    return AuthServer([parse_zone_text(DIFF_ZONE)], **kw)  # type: ignore[arg-type]


async def test_udp_and_tcp_answer(backend: backends.Backend) -> None:
    async with diff_server().running(backend, LOCAL, 0) as (udp, tcp):
        assert udp[1] == tcp[1]
        msg = await udp_ask(backend, udp[1], query("www.diff.test."))
        assert msg.aa and msg.answer[0].rdata == bytes([192, 0, 2, 3])
        flow = await backend.tcp_connect(LOCAL, tcp[1])
        async with flow:
            await flow.write(framed(query("big.diff.test.", wire.TYPE_TXT, msg_id=9)))
            with backend.fail_after(5):
                reply = await Reader(flow).message()
        assert reply is not None
        msg = wire.Message.parse(reply)
        assert msg.id == 9 and not msg.tc and len(msg.answer) == 10


async def test_tcp_split_prefix_many_queries_and_pipelining(backend: backends.Backend) -> None:
    async with diff_server().running(backend, LOCAL, 0) as (_udp, tcp):
        flow = await backend.tcp_connect(LOCAL, tcp[1])
        async with flow:
            reader = Reader(flow)
            # One query dribbled a byte at a time: the length prefix is split across reads.
            data = framed(query("www.diff.test.", msg_id=1))
            for i in range(len(data)):
                await flow.write(data[i : i + 1])
                await backend.sleep(0.001)
            with backend.fail_after(5):
                first = await reader.message()
            assert first is not None and wire.Message.parse(first).id == 1
            # Twenty pipelined queries in one write, then the answers, in order.
            names = [
                "www",
                "nope",
                "alias",
                "x.wild",
                "deleg",
                "old",
                "x.old",
                "ent",
                "big",
                "chain1",
            ] * 2
            batch = b"".join(
                framed(query(f"{n}.diff.test.", msg_id=100 + i)) for i, n in enumerate(names)
            )
            await flow.write(batch)
            with backend.fail_after(5):
                for i in range(len(names)):
                    reply = await reader.message()
                    assert reply is not None and wire.Message.parse(reply).id == 100 + i
            # A message split across two writes with another after it.
            two = framed(query("www.diff.test.", msg_id=7)) + framed(
                query("mail.diff.test.", msg_id=8)
            )
            await flow.write(two[:5])
            await backend.sleep(0.01)
            await flow.write(two[5:])
            with backend.fail_after(5):
                a, b = await reader.message(), await reader.message()
            assert a is not None and b is not None
            assert (wire.Message.parse(a).id, wire.Message.parse(b).id) == (7, 8)


async def test_tcp_idle_timeout_and_connection_limit(backend: backends.Backend) -> None:
    server = diff_server(tcp_idle_timeout=0.5, max_tcp_connections=2)
    async with server.running(backend, LOCAL, 0) as (_udp, tcp):
        first = await backend.tcp_connect(LOCAL, tcp[1])
        await first.write(framed(query("www.diff.test.")))
        with backend.fail_after(5):
            assert await Reader(first).message() is not None
        second = await backend.tcp_connect(LOCAL, tcp[1])
        await second.write(framed(query("www.diff.test.")))
        with backend.fail_after(5):
            assert await Reader(second).message() is not None
        # A third connection is over the limit: it is answered, and the connection that
        # has gone longest without a query (the first) gives up its slot.
        third = await backend.tcp_connect(LOCAL, tcp[1])
        await third.write(framed(query("www.diff.test.")))
        with backend.fail_after(5):
            assert await Reader(third).message() is not None
            try:
                assert await first.read() == b""
            except backends.ConnectionReset:
                pass
        assert server.tcp_count == 2
        # Silent connections are closed after the idle timeout.
        with backend.fail_after(5):
            assert await second.read() == b""
            assert await third.read() == b""
        for flow in (first, second, third):
            await flow.close()
        # And the server still accepts new ones.
        flow = await backend.tcp_connect(LOCAL, tcp[1])
        async with flow:
            await flow.write(framed(query("www.diff.test.")))
            with backend.fail_after(5):
                assert await Reader(flow).message() is not None


async def test_tcp_runt_message_closes_but_server_lives(backend: backends.Backend) -> None:
    async with diff_server().running(backend, LOCAL, 0) as (udp, tcp):
        flow = await backend.tcp_connect(LOCAL, tcp[1])
        async with flow:
            await flow.write(framed(b"\x00\x01\x02"))
            with backend.fail_after(5):
                try:
                    assert await flow.read() == b""
                except backends.ConnectionReset:
                    pass
        assert (await udp_ask(backend, udp[1], query("www.diff.test."))).answer


def transfer_records(messages: list[bytes]) -> list[tuple[str, int, str]]:
    """The records of the messages (rdata as dnslib prints it, names decompressed)."""
    out = []
    for m in messages:
        msg = wire.Message.parse(m)
        assert msg.rcode == 0 and msg.aa
        out += [
            (str(rr.rname).lower(), rr.rtype, str(rr.rdata)) for rr in dnslib.DNSRecord.parse(m).rr
        ]
    return out


def zone_records(zone: Zone) -> list[tuple[str, int, str]]:
    b = wire.MessageBuilder(0, wire.QR | wire.AA, compress=False)
    for rs in zone.rrsets():
        for rd in rs.rdatas:
            b.add_rr(wire.SECTION_ANSWER, rs.name, rs.rtype, wire.CLASS_IN, rs.ttl, rd)
    return sorted(transfer_records([b.finish()]))


async def read_transfer(net: backends.Backend, port: int, data: bytes) -> list[bytes]:
    flow = await net.tcp_connect(LOCAL, port)
    async with flow:
        await flow.write(framed(data))
        reader = Reader(flow)
        messages = []
        soas = 0
        with net.fail_after(10):
            while True:
                m = await reader.message()
                assert m is not None
                messages.append(m)
                msg = wire.Message.parse(m)
                if msg.rcode or (len(messages) == 1 and len(msg.answer) == 1):
                    return messages
                soas += sum(rr.rtype == wire.TYPE_SOA for rr in msg.answer)
                if soas >= 2:
                    return messages
    raise AssertionError("transfer did not end")  # fail_after raises first


def ixfr(serial: int) -> bytes:
    apex = wire.name_from_text("diff.test.")
    b = wire.MessageBuilder(5, 0)
    b.add_question(apex, wire.TYPE_IXFR)
    b.add_rr(
        wire.SECTION_AUTHORITY,
        apex,
        wire.TYPE_SOA,
        1,
        0,
        wire.encode_name(apex) * 2 + struct.pack("!5I", serial, 0, 0, 0, 0),
    )
    return b.finish()


async def test_axfr_ixfr_and_acl(backend: backends.Backend) -> None:
    zone = parse_zone_text(DIFF_ZONE)
    expected = zone_records(zone)
    async with AuthServer([zone], allow_transfer=["127.0.0.0/8"]).running(backend, LOCAL, 0) as (
        _udp,
        tcp,
    ):
        messages = await read_transfer(backend, tcp[1], query("diff.test.", wire.TYPE_AXFR))
        records = transfer_records(messages)
        assert records[0][1] == records[-1][1] == wire.TYPE_SOA
        assert sorted(records[:-1]) == expected
        assert wire.Message.parse(messages[0]).question and len(messages) >= 1
        # IXFR from the current serial: one SOA. From an older one: the whole zone.
        current = transfer_records(await read_transfer(backend, tcp[1], ixfr(zone.serial)))
        assert [r[1] for r in current] == [wire.TYPE_SOA]
        newer = transfer_records(await read_transfer(backend, tcp[1], ixfr(zone.serial + 5)))
        assert [r[1] for r in newer] == [wire.TYPE_SOA]
        older = transfer_records(await read_transfer(backend, tcp[1], ixfr(zone.serial - 1)))
        assert sorted(older[:-1]) == expected
        # Not a zone we serve.
        [m] = await read_transfer(backend, tcp[1], query("other.test.", wire.TYPE_AXFR))
        assert wire.Message.parse(m).rcode == wire.RCODE_NOTAUTH
    async with AuthServer([zone], allow_transfer=["10.0.0.0/8"]).running(backend, LOCAL, 0) as (
        _udp,
        tcp,
    ):
        [m] = await read_transfer(backend, tcp[1], query("diff.test.", wire.TYPE_AXFR))
        assert wire.Message.parse(m).rcode == wire.RCODE_REFUSED


async def test_axfr_of_a_large_zone_spans_messages(backend: backends.Backend) -> None:
    text = DIFF_ZONE + "\n".join(f"h{i} A 10.0.{i // 256}.{i % 256}" for i in range(3000))
    zone = parse_zone_text(text)
    async with AuthServer([zone], allow_transfer=["127.0.0.1/32"]).running(backend, LOCAL, 0) as (
        _udp,
        tcp,
    ):
        messages = await read_transfer(backend, tcp[1], query("diff.test.", wire.TYPE_AXFR))
    assert len(messages) > 2
    assert all(len(m) <= 16384 for m in messages)
    assert len(transfer_records(messages)) == zone.record_count() + 1


async def test_notify_retransmitted_until_acknowledged(backend: backends.Backend) -> None:
    secondary = await backend.udp_bind(LOCAL, 0)
    try:
        server = diff_server(notify=[f"{LOCAL}:{secondary.address[1]}"], notify_timeout=0.2)
        async with server.running(backend, LOCAL, 0):
            with backend.fail_after(5):
                first, source = await secondary.recv()
                again, source2 = await secondary.recv()  # not answered: sent again
            assert first == again and source == source2
            msg = wire.Message.parse(first)
            assert msg.opcode == wire.OPCODE_NOTIFY and msg.aa and not msg.qr
            assert msg.question == [
                wire.Question(wire.name_from_text("diff.test."), wire.TYPE_SOA, wire.CLASS_IN)
            ]
            assert msg.answer[0].rtype == wire.TYPE_SOA
            reply = bytearray(first[:12])
            reply[2] |= 0x80
            await secondary.send(bytes(reply), source)
            key = (wire.name_key(wire.name_from_text("diff.test.")), (LOCAL, secondary.address[1]))
            with backend.fail_after(5):
                while server.notify_acks.get(key) != 2024010101:
                    await backend.sleep(0.01)
    finally:
        await secondary.close()


async def test_reload_is_atomic(backend: backends.Backend, tmp_path: object) -> None:
    path = os.path.join(str(tmp_path), "diff.test.zone")
    with open(path, "w") as f:
        f.write(DIFF_ZONE)
    server = AuthServer([load_zone_file(path)])
    async with server.running(backend, LOCAL, 0) as (udp, _tcp):
        port = udp[1]
        www = query("www.diff.test.")
        assert (await udp_ask(backend, port, www)).answer[0].rdata == bytes([192, 0, 2, 3])
        with open(path, "w") as f:
            f.write(
                DIFF_ZONE.replace("192.0.2.3", "192.0.2.99").replace("2024010101", "2024010102")
            )
        changed = await server.reload()
        assert [z.serial for z in changed] == [2024010102]
        assert (await udp_ask(backend, port, www)).answer[0].rdata == bytes([192, 0, 2, 99])
        # A broken file: the reload fails, the old zone stays in service.
        with open(path, "w") as f:
            f.write(DIFF_ZONE.replace("alias   CNAME   www", "www   CNAME   alias"))
        with pytest.raises(ZoneError, match=r"diff\.test\.zone:\d+: CNAME at www"):
            await server.reload()
        assert (await udp_ask(backend, port, www)).answer[0].rdata == bytes([192, 0, 2, 99])
        assert server.zones[0].serial == 2024010102


async def test_many_clients_and_garbage_do_not_stop_answers(backend: backends.Backend) -> None:
    async with diff_server().running(backend, LOCAL, 0) as (udp, _tcp):
        ep = await backend.udp_bind(LOCAL, 0)
        try:
            garbage = [
                b"",
                b"\x00",
                b"\xff" * 12,
                b"\x00\x01" + b"\xff" * 30,
                wire.pack_header(1, 0, 1) + b"\xc0\x0c" * 20,
                wire.pack_header(1, 0, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF),
                query("www.diff.test.")[:-1],
            ]
            for g in garbage * 5:
                await ep.send(g, (LOCAL, udp[1]))
            for i in range(50):
                await ep.send(query("www.diff.test.", msg_id=1000 + i), (LOCAL, udp[1]))
            seen: set[int] = set()
            with backend.fail_after(10):
                while len(seen) < 50:
                    data, _ = await ep.recv()
                    msg_id = struct.unpack_from("!H", data)[0]
                    if msg_id >= 1000:
                        assert wire.Message.parse(data).answer
                        seen.add(msg_id)
        finally:
            await ep.close()


async def test_client_that_never_reads_is_dropped(backend: backends.Backend) -> None:
    server = diff_server(tcp_idle_timeout=0.3)
    async with server.running(backend, LOCAL, 0) as (udp, tcp):
        flow = await backend.tcp_connect(LOCAL, tcp[1])
        try:
            one = framed(query("big.diff.test.", wire.TYPE_TXT))
            with backend.move_on_after(5):
                for _ in range(200):  # ~22 MB of answers that are never read
                    await flow.write(one * 100)
            with backend.fail_after(10):
                while server.tcp_count:
                    await backend.sleep(0.05)
        finally:
            flow.abort()
        assert (await udp_ask(backend, udp[1], query("www.diff.test."))).answer


def notify_serial(data: bytes) -> int:
    msg = wire.Message.parse(data)
    return int(struct.unpack_from("!I", data, msg.answer[0].end - 20)[0])


async def test_newer_notify_supersedes_a_retrying_one(backend: backends.Backend) -> None:
    secondary = await backend.udp_bind(LOCAL, 0)
    target = (LOCAL, secondary.address[1])
    try:
        server = diff_server(notify=[target], notify_timeout=0.1)
        async with server.running(backend, LOCAL, 0):
            with backend.fail_after(5):
                first, _ = await secondary.recv()
            assert notify_serial(first) == 2024010101  # left unanswered: it retries
            server.replace_zones([parse_zone_text(DIFF_ZONE.replace("2024010101", "2024010102"))])
            with backend.fail_after(5):
                while True:
                    data, source = await secondary.recv()
                    if notify_serial(data) == 2024010102:
                        break
            reply = bytearray(data[:12])
            reply[2] |= 0x80
            await secondary.send(bytes(reply), source)
            # The superseded NOTIFY for the old serial is not sent again.
            with backend.move_on_after(0.5):
                while True:
                    late, _ = await secondary.recv()
                    assert notify_serial(late) != 2024010101, "stale NOTIFY still retrying"
            key = (wire.name_key(wire.name_from_text("diff.test.")), target)
            assert server.notify_acks[key] == 2024010102
    finally:
        await secondary.close()


def test_a_zone_given_twice_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"zone diff\.test\. is given twice"):
        AuthServer([parse_zone_text(DIFF_ZONE), parse_zone_text(DIFF_ZONE)])


async def test_ipv6(backend: backends.Backend) -> None:
    try:
        probe = await backend.udp_bind("::1", 0)
    except backends.NetworkError:
        pytest.skip("no IPv6 loopback here")
    await probe.close()
    async with diff_server().running(backend, "::1", 0) as (udp, tcp):
        ep = await backend.udp_bind("::1", 0)
        try:
            await ep.send(query("www.diff.test."), ("::1", udp[1]))
            with backend.fail_after(5):
                reply, _ = await ep.recv()
        finally:
            await ep.close()
        assert wire.Message.parse(reply).answer
        flow = await backend.tcp_connect("::1", tcp[1])
        async with flow:
            await flow.write(framed(query("www.diff.test.", msg_id=6)))
            with backend.fail_after(5):
                answer = await Reader(flow).message()
        assert answer is not None and wire.Message.parse(answer).id == 6
