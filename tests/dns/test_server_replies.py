"""The server's memo of replies by their query's bytes (``AuthServer._answer_plain``): every
reply it gives is the one the authority gives a fresh query; it forgets on every new zone
set; the slow path (misses, FORMERR, BADVERS, drops) never enters it; it is bounded."""

from __future__ import annotations

import itertools
import struct

import pytest

import backends
import dns.server
from dns import wire
from dns.answer import Authority
from dns.server import AuthServer
from dns.zone import parse_zone_text
from tests.dns.test_server_answers import DIFF_ZONE
from tests.dns.test_server_net import LOCAL, Reader, framed

SOURCE = ("192.0.2.53", 5300)


def server() -> AuthServer:
    return AuthServer([parse_zone_text(DIFF_ZONE)], journal=False)


def query(name: str, qtype: int = wire.TYPE_A, msg_id: int = 1, **kw: object) -> bytes:
    return wire.build_query(wire.name_from_text(name), qtype, msg_id=msg_id, **kw)  # type: ignore[arg-type]


def with_id(data: bytes, msg_id: int) -> bytes:
    return struct.pack("!H", msg_id) + data[2:]


NAMES = ["diff.test.", "www.diff.test.", "WwW.DiFf.TeSt.", "alias.diff.test.", "x.wild.diff.test."]
NAMES += ["a.deep.wild.diff.test.", "nothing.diff.test.", "deleg.diff.test.", "old.diff.test."]
NAMES += ["host.old.diff.test.", "b.c.ent.diff.test.", "example.org.", "loop1.diff.test."]
TYPES = [wire.TYPE_A, wire.TYPE_AAAA, wire.TYPE_MX, wire.TYPE_TXT, wire.TYPE_NS, wire.TYPE_SOA]
SHAPES: list[dict[str, object]] = [
    {},
    {"rd": False},
    {"cd": True},
    {"edns_payload": 1232},
    {"edns_payload": 512, "do": True},
    {"edns_payload": 4096, "cd": True, "rd": False},
    {"edns_payload": 1232, "options": [(10, bytes(8))]},  # a client cookie
]


def all_queries() -> list[bytes]:
    return [
        query(name, qtype, msg_id=7, **shape)
        for name, qtype, shape in itertools.product(NAMES, TYPES, SHAPES)
    ]


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_every_remembered_reply_is_the_fresh_answer(tcp: bool) -> None:
    ours = server()
    fresh_zones = [parse_zone_text(DIFF_ZONE)]
    for data in all_queries():
        for msg_id in (1, 0xBEEF, 0, 1):  # miss, cache hit, memo hit, memo hit
            sent = with_id(data, msg_id)
            # The handlers the UDP endpoint and the TCP session call (the session looks
            # the memo up inline first, as _answer_datagram does).
            got = ours._answer_plain(sent, True) if tcp else ours._answer_datagram(sent, SOURCE)
            assert got == Authority(fresh_zones).answer(sent, tcp), (sent, msg_id)
            assert got is not None and got[:2] == sent[:2]
    assert ours._tcp_replies if tcp else ours._udp_replies  # the memo did serve


def test_new_zones_are_answered_at_once() -> None:
    ours = server()
    www = query("www.diff.test.")
    for msg_id in range(3):
        reply = ours._answer_datagram(with_id(www, msg_id), SOURCE)
        assert reply is not None and wire.Message.parse(reply).answer[0].rdata == bytes(
            [192, 0, 2, 3]
        )
    assert ours._udp_replies
    changed = DIFF_ZONE.replace("www     A       192.0.2.3", "www     A       192.0.2.99")
    changed = changed.replace("2024010101", "2024010102")
    ours.replace_zones([parse_zone_text(changed)])  # as a reload does
    assert not ours._udp_replies
    reply = ours._answer_datagram(with_id(www, 9), SOURCE)
    assert reply is not None and wire.Message.parse(reply).answer[0].rdata == bytes([192, 0, 2, 99])
    # Zones set on the authority behind the server's back are not answered from the memo
    # either.
    ours._answer_datagram(with_id(www, 10), SOURCE)
    assert ours._udp_replies
    ours.authority.set_zones([parse_zone_text(DIFF_ZONE)])
    reply = ours._answer_datagram(with_id(www, 11), SOURCE)
    assert reply is not None and wire.Message.parse(reply).answer[0].rdata == bytes([192, 0, 2, 3])


def test_the_slow_path_is_never_remembered() -> None:
    ours = server()
    two_questions = bytearray(query("www.diff.test."))
    two_questions[5] = 2  # QDCOUNT 2: FORMERR
    badvers = query("www.diff.test.", edns_payload=1232)
    badvers = badvers[:-5] + b"\x01" + badvers[-4:]  # EDNS version 1
    response_bit = bytearray(query("www.diff.test."))
    response_bit[2] |= 0x80  # QR: dropped
    for _ in range(3):
        formerr = ours._answer_datagram(bytes(two_questions), SOURCE)
        assert formerr is not None and formerr[3] & 0x0F == wire.RCODE_FORMERR
        bad = ours._answer_datagram(badvers, SOURCE)
        assert bad is not None and wire.Message.parse(bad).rcode == wire.RCODE_BADVERS
        assert ours._answer_datagram(bytes(response_bit), SOURCE) is None
    assert ours._udp_replies == {}
    assert ours.authority.stats["formerr"] == 3 and ours.authority.stats["dropped"] == 3


def test_the_memo_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dns.server, "REPLY_MEMO_LIMIT", 8)
    ours = server()
    for i in range(40):
        data = query(f"n{i}.wild.diff.test.")
        for _ in range(2):
            ours._answer_datagram(data, SOURCE)
        assert len(ours._udp_replies) <= 8
    padded = query("www.diff.test.", edns_payload=1232, options=[(12, bytes(600))])
    for msg_id in range(3):
        reply = ours._answer_datagram(with_id(padded, msg_id), SOURCE)
        assert reply == Authority([parse_zone_text(DIFF_ZONE)]).answer(with_id(padded, msg_id))
    assert padded[2:] not in ours._udp_replies  # longer than REPLY_MEMO_QUERY_SIZE


async def test_repeated_queries_over_the_network(backend: backends.Backend) -> None:
    """The same query bytes under many IDs, over UDP and pipelined over TCP: each reply
    carries its query's ID and the authority's answer."""
    ours = server()
    fresh = Authority([parse_zone_text(DIFF_ZONE)])
    data = query("www.diff.test.", edns_payload=1232)
    async with ours.running(backend, LOCAL, 0) as (udp, tcp):
        async with await backend.udp_bind(LOCAL, 0) as client:
            with backend.fail_after(5):
                for msg_id in range(20):
                    await client.send(with_id(data, msg_id), udp)
                    reply, _ = await client.recv()
                    assert reply == fresh.answer(with_id(data, msg_id))
        flow = await backend.tcp_connect(LOCAL, tcp[1])
        async with flow:
            await flow.write(b"".join(framed(with_id(data, i)) for i in range(20)))
            reader = Reader(flow)
            with backend.fail_after(5):
                for msg_id in range(20):
                    assert await reader.message() == fresh.answer(with_id(data, msg_id), True)
