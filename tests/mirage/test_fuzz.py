"""Hostile input: mutated and random frames never raise, never stop the stack."""

from __future__ import annotations

import random

from backends.mirage import checksum, ipv4, tcp
from backends.mirage.stack import Stack

from .harness import Net, transfer


def _capture(net: Net) -> list[bytes]:
    frames: list[bytes] = []
    original = net.switch._transmit

    def record(src: object, frame: bytes) -> None:
        frames.append(frame)
        original(src, frame)  # type: ignore[arg-type]

    net.switch._transmit = record  # type: ignore[method-assign]
    return frames


def _mutate(rng: random.Random, frame: bytes) -> bytes:
    data = bytearray(frame)
    choice = rng.randrange(4)
    if choice == 0 and len(data) > 14:
        for _ in range(rng.randrange(1, 8)):
            data[rng.randrange(14, len(data))] = rng.randrange(256)
    elif choice == 1:
        del data[rng.randrange(len(data)) :]
    elif choice == 2:
        data += rng.randbytes(rng.randrange(1, 64))
    else:
        data[14:] = rng.randbytes(len(data) - 14)
    return bytes(data)


def _fix_checksums(frame: bytes) -> bytes:
    """Recompute IPv4 and TCP checksums, so mutations reach the TCP state machine."""
    if len(frame) < 34 or frame[12:14] != b"\x08\x00":
        return frame
    try:
        pkt = ipv4.parse(memoryview(frame)[14:])
    except Exception:
        return frame
    if pkt.proto != ipv4.PROTO_TCP or len(pkt.payload) < 20 or pkt.more or pkt.offset:
        return frame
    seg = bytearray(pkt.payload)
    seg[16:18] = b"\x00\x00"
    total = tcp.IPV4.pseudo_sum(pkt.src, pkt.dst, len(seg)) + checksum.partial(seg)
    seg[16:18] = checksum.finish(total).to_bytes(2, "big")
    return frame[:14] + bytes(pkt.header) + bytes(seg)


def test_mutated_frames_are_dropped_or_handled_without_errors() -> None:
    net = Net()
    frames = _capture(net)
    client, server = net.pair()
    data = random.Random(1).randbytes(100_000)
    assert transfer(net, client, server, data) == data
    assert len(frames) > 50
    rng = random.Random(2)
    victims: list[Stack] = [net.a, net.b]
    for i in range(4000):
        frame = _mutate(rng, rng.choice(frames))
        if i % 2:
            frame = _fix_checksums(frame)
        with net.sched:
            rng.choice(victims).frame_input(frame)
    for _ in range(300):
        with net.sched:
            net.b.frame_input(rng.randbytes(rng.randrange(0, 200)))
    assert net.a.counters["errors"] == net.b.counters["errors"] == 0
    assert net.sched.errors == 0
    assert net.a.counters["bad"] + net.b.counters["bad"] > 0
    # the stacks still work afterwards
    net.clock.run(net.sched, lambda: False, limit=200.0)  # let TIME-WAIT and the rest end
    fresh_client, fresh_server = net.pair(port=8080)
    assert transfer(net, fresh_client, fresh_server, b"still alive" * 1000) == (
        b"still alive" * 1000
    )
