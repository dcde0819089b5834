"""Fuzzing a running server: ``python -m dns serve`` (asyncio and trio) gets malformed
packets from hypothesis over UDP and TCP, and must keep answering valid queries."""

from __future__ import annotations

import contextlib
import socket
import struct
import subprocess
import time
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dns import wire
from tests.dns.test_server_answers import DIFF_ZONE
from tests.dns.test_server_cli import spawn_serve
from tests.peers import free_port

VALID = wire.build_query(wire.name_from_text("www.diff.test."), wire.TYPE_A, msg_id=0xBEEF)


def alive(port: int, timeout: float = 3.0) -> bool:
    """Whether the server answers a valid query over UDP (ignoring stale replies)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.2)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            s.sendto(VALID, ("127.0.0.1", port))
            try:
                while True:
                    data = s.recv(4096)
                    if data[:2] == VALID[:2] and wire.Message.parse(data).answer:
                        return True
            except OSError:
                continue
    return False


@pytest.fixture(scope="module", params=["asyncio", "trio"])
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[int]:
    zone = tmp_path_factory.mktemp("fuzz") / "diff.test.zone"
    zone.write_text(DIFF_ZONE)
    log = zone.with_name("server.log")
    port = free_port()
    proc = spawn_serve(zone, port, request.param, log, "--tcp-idle", "1")
    try:
        if not alive(port, timeout=15):
            raise RuntimeError(f"server did not start: {log.read_text()[-2000:]}")
        yield port
        assert proc.poll() is None, "the server died"
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    # Nothing a client sent may have raised inside the server (it logs such bugs).
    assert "Traceback" not in log.read_text(), log.read_text()[-3000:]


def mutate(data: bytes, edits: list[tuple[int, int]]) -> bytes:
    out = bytearray(data)
    for pos, value in edits:
        if out:
            out[pos % len(out)] = value
    return bytes(out)


PACKETS = st.one_of(
    st.binary(max_size=600),
    st.builds(lambda h, b: h + b, st.binary(min_size=12, max_size=12), st.binary(max_size=80)),
    st.builds(
        mutate,
        st.just(VALID),
        st.lists(st.tuples(st.integers(0, 200), st.integers(0, 255)), max_size=6),
    ),
    st.builds(
        lambda n, body: wire.pack_header(7, 0, *n) + body,
        st.tuples(*[st.integers(0, 0xFFFF)] * 4),
        st.lists(
            st.sampled_from(
                [
                    b"\xc0\x0c",
                    b"\x3fabc",
                    b"\x00",
                    b"\x00\x29",
                    b"\x01a",
                    b"\xff",
                    b"\x00\x01\x00\x01",
                ]
            ),
            max_size=20,
        ).map(b"".join),
    ),
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(packets=st.lists(PACKETS, min_size=1, max_size=8))
def test_udp_fuzz_keeps_server_answering(served: int, packets: list[bytes]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for p in packets:
            with contextlib.suppress(OSError):
                s.sendto(p, ("127.0.0.1", served))
    assert alive(served)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    stream=st.lists(
        st.one_of(PACKETS.map(lambda p: struct.pack("!H", len(p)) + p), st.binary(max_size=50)),
        min_size=1,
        max_size=5,
    )
)
def test_tcp_fuzz_keeps_server_answering(served: int, stream: list[bytes]) -> None:
    with (
        socket.create_connection(("127.0.0.1", served), timeout=2) as c,
        contextlib.suppress(OSError),
    ):
        c.sendall(b"".join(stream))
        c.shutdown(socket.SHUT_WR)
        while c.recv(65536):
            pass
    with socket.create_connection(("127.0.0.1", served), timeout=3) as c:
        c.sendall(struct.pack("!H", len(VALID)) + VALID)
        buf = b""
        while len(buf) < 2 or len(buf) < 2 + struct.unpack_from("!H", buf)[0]:
            chunk = c.recv(4096)
            assert chunk, "closed without an answer"
            buf += chunk
    assert wire.Message.parse(buf[2:]).answer
