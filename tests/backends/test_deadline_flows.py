"""``read_before`` / ``write_before`` (:class:`backends.interface.DeadlineFlow`): the
asyncio adapter's flows and TLS flows over every adapter (over asyncio the deadline goes
down to the TCP flow's own timer; over the others TLS puts a cancel scope around the
read). Plain trio and mirage flows do not have the capability: their tests skip."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from backends import Backend, Flow, testing, tls
from backends.errors import Timeout
from backends.interface import DeadlineFlow
from tests.backends.conftest import TLS_NAME as NAME

pytest.importorskip("trustme", reason="trustme (the test extra) makes the certificates")

SLACK = 2.0
"""Seconds a timeout may fire late on a loaded machine (it must never fire early)."""


@pytest.fixture(params=["plain", "tls"])
def secure(request: pytest.FixtureRequest) -> bool:
    return request.param == "tls"


@asynccontextmanager
async def _flows(
    backend: Backend, secure: bool, certs: tuple[Path, Path]
) -> AsyncIterator[tuple[Flow, Flow]]:
    """A connected pair ``(a, b)`` with the capability; skips where a plain flow lacks it."""
    pairs = testing.tcp_pairs(backend)
    if secure:
        chain, ca = certs
        pairs = testing.tls_pairs(
            pairs,
            backend,
            tls.server_context(str(chain)),
            tls.client_context(cafile=str(ca)),
            NAME,
        )
    a, b = await pairs()
    try:
        if not (isinstance(a, DeadlineFlow) and isinstance(b, DeadlineFlow)):
            pytest.skip(f"a plain {type(a).__name__} has no read_before (an optional capability)")
        yield a, b
    finally:
        a.abort()
        b.abort()


async def test_read_before_returns_what_comes_in_time_and_eof(
    backend: Backend, secure: bool, certs: tuple[Path, Path]
) -> None:
    async with _flows(backend, secure, certs) as (a, b):
        assert isinstance(b, DeadlineFlow)
        await a.write(b"hello")
        assert await b.read_before(backend.now() + 30, 100) == b"hello"

        async def later() -> None:
            await backend.sleep(0.05)
            await a.write(b"world")
            await a.shutdown_write()

        async with backend.task_group() as tg:
            tg.start_soon(later)
            assert await b.read_before(backend.now() + 30, 3) == b"wor"
            assert await b.read_before(backend.now() + 30) == b"ld"
            assert await b.read_before(backend.now() + 30) == b""


async def test_read_before_times_out_and_loses_nothing(
    backend: Backend, secure: bool, certs: tuple[Path, Path]
) -> None:
    async with _flows(backend, secure, certs) as (a, b):
        assert isinstance(b, DeadlineFlow)
        start = backend.now()
        deadline = start + 0.1
        with pytest.raises(Timeout):
            await b.read_before(deadline)
        assert deadline <= backend.now() < deadline + SLACK
        # A deadline already passed: at once, with nothing buffered...
        with pytest.raises(Timeout):
            await b.read_before(start)
        # The flow is whole after the timeouts.
        await a.write(b"after")
        assert await testing._read_exactly(b, 5) == b"after"


async def test_a_trickling_peer_cannot_extend_the_deadline(
    backend: Backend, secure: bool, certs: tuple[Path, Path]
) -> None:
    async with _flows(backend, secure, certs) as (a, b):
        assert isinstance(b, DeadlineFlow)

        async def trickle() -> None:
            for _ in range(100):  # bounded: 100 bytes, one every 20 ms
                await a.write(b".")
                await backend.sleep(0.02)

        got = b""
        deadline = backend.now() + 0.3
        async with backend.task_group() as tg:
            tg.start_soon(trickle)
            with pytest.raises(Timeout):
                while True:  # one message, one deadline: every read gets the same
                    got += await b.read_before(deadline)
            tg.cancel_scope.cancel()
        assert deadline <= backend.now() < deadline + SLACK
        assert 0 < len(got) < 100


async def test_an_old_deadline_does_not_wake_a_later_read(
    backend: Backend, secure: bool, certs: tuple[Path, Path]
) -> None:
    async with _flows(backend, secure, certs) as (a, b):
        assert isinstance(b, DeadlineFlow)
        for _ in range(20):  # each read's timer is cancelled by its bytes
            await a.write(b"x")
            assert await b.read_before(backend.now() + 0.05) == b"x"
        await backend.sleep(0.1)  # past every one of those deadlines

        async def later() -> None:
            await backend.sleep(0.2)
            await a.write(b"late")

        async with backend.task_group() as tg:
            tg.start_soon(later)
            assert await b.read_before(backend.now() + 30) == b"late"


async def test_write_before_times_out_and_the_stream_stays_whole(
    backend: Backend, secure: bool, certs: tuple[Path, Path]
) -> None:
    async with _flows(backend, secure, certs) as (a, b):
        assert isinstance(a, DeadlineFlow)
        block = bytes(range(256)) * 256  # 64 KiB
        sent = 0
        deadline = backend.now() + 0.2
        with pytest.raises(Timeout):
            for _ in range(1000):  # bounded: 64 MB, far more than the buffers between
                await a.write_before(deadline, block)
                sent += len(block)
        assert deadline <= backend.now() < deadline + SLACK
        # As after a cancelled write: a prefix of the timed-out write went (or is queued
        # to go), and the next write's bytes follow it directly.
        received = b""

        async def read_all() -> None:
            nonlocal received
            received = await testing._read_all(b)

        async with backend.task_group() as tg:
            tg.start_soon(read_all)
            await a.write(b"END")  # waits for the reader to take the queued rest
            await a.shutdown_write()
        assert received.endswith(b"END")
        body = received[:-3]
        assert sent <= len(body) <= sent + len(block)
        expected = block * (len(body) // len(block) + 1)
        assert body == expected[: len(body)]


async def test_a_nearer_deadline_after_a_farther_one_still_fires_in_time(
    backend: Backend, secure: bool, certs: tuple[Path, Path]
) -> None:
    async with _flows(backend, secure, certs) as (a, b):
        assert isinstance(b, DeadlineFlow)

        async def later() -> None:
            await backend.sleep(0.05)
            await a.write(b"x")

        async with backend.task_group() as tg:
            tg.start_soon(later)
            assert await b.read_before(backend.now() + 60) == b"x"  # its timer stays armed
        deadline = backend.now() + 0.1
        with pytest.raises(Timeout):
            await b.read_before(deadline)
        assert deadline <= backend.now() < deadline + SLACK


async def test_a_read_and_a_write_each_keep_their_own_deadline(
    backend: Backend, secure: bool, certs: tuple[Path, Path]
) -> None:
    """The write's nearer deadline fires first; the read waiting beside it still times out
    at its own, later one (on asyncio both share the flow's one timer)."""
    async with _flows(backend, secure, certs) as (a, _b):
        assert isinstance(a, DeadlineFlow)
        block = b"w" * 65536
        start = backend.now()
        read_deadline, write_deadline = start + 0.4, start + 0.1
        ended: dict[str, float] = {}

        async def reader() -> None:
            with pytest.raises(Timeout):
                await a.read_before(read_deadline)
            ended["read"] = backend.now()

        async with backend.task_group() as tg:
            tg.start_soon(reader)
            with pytest.raises(Timeout):
                for _ in range(1000):  # bounded: b never reads
                    await a.write_before(write_deadline, block)
            ended["write"] = backend.now()
        assert write_deadline <= ended["write"] < read_deadline
        assert read_deadline <= ended["read"] < read_deadline + SLACK
