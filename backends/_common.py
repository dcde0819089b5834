"""Pieces every adapter's flows, listeners and endpoints share."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Self

import anyio

from .errors import ClosedFlow, NetworkError
from .interface import Address, DatagramHandler, Flow, Handler

log = logging.getLogger("backends")

YIELD_EVERY = 16
"""Operations an endpoint completes without waiting before it yields to its loop once, so
a socket whose data is always ready cannot starve other tasks (or hold up deadlines)."""

HOLD_LIMIT = 64 * 1024
"""Bytes of small writes a flow may hold, to send them in one ``send`` at the end of the
loop's pass (asyncio's ``_Flusher``) or of the scheduler's batch (trio's ``_Flusher``)."""

DATAGRAM_BATCH = 64
"""Datagrams a serving endpoint (``serve``) reads and answers in a row, without waiting,
before other tasks and callbacks get a turn."""


ACCEPT_BACKOFF = 0.05
"""Seconds a listener out of descriptors or memory waits before it accepts again."""

ACCEPT_WARN_EVERY = 10.0
"""A listener that keeps failing to accept says so at most once in this many seconds."""


class AcceptWarning:
    """The warning of a listener whose ``accept`` fails for want of resources (EMFILE,
    ENFILE, ENOBUFS, ENOMEM): retried every :data:`ACCEPT_BACKOFF` seconds until the
    descriptors come back, which would otherwise log twenty lines a second for as long
    as a flood of connections lasts. The first failure is logged, then at most one line
    per :data:`ACCEPT_WARN_EVERY` seconds, with the number of failures in between."""

    __slots__ = ("_next", "_quiet")

    def __init__(self) -> None:
        self._next = 0.0
        self._quiet = 0

    def failed(self, address: Address, exc: OSError) -> None:
        """Record one failed accept on ``address``; log it unless one was just logged."""
        now = time.monotonic()
        if now < self._next:
            self._quiet += 1
            return
        more = f" ({self._quiet} more failures since the last warning)" if self._quiet else ""
        log.warning("accept on %s: %s; retrying shortly%s", address, exc.strerror or exc, more)
        self._next = now + ACCEPT_WARN_EVERY
        self._quiet = 0


class Closing:
    """``async with`` for anything with an async ``close()``: closes on the way out."""

    __slots__ = ()

    async def close(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


class AcceptLoop(Closing):
    """Iteration and ``serve`` for a listener, given its ``accept()`` and ``close()``."""

    __slots__ = ()

    async def accept(self) -> Flow:
        raise NotImplementedError

    async def __aiter__(self) -> AsyncIterator[Flow]:
        while True:
            try:
                flow = await self.accept()
            except ClosedFlow:
                return
            yield flow

    async def serve(self, handler: Handler) -> None:
        """See :meth:`backends.interface.Listener.serve`."""
        async with anyio.create_task_group() as tg:
            async for flow in self:
                tg.start_soon(run_handler, handler, flow)
            tg.cancel_scope.cancel()


class DatagramServing(Closing):
    """``serve`` for a datagram endpoint, given its ``recv`` and ``send``: the general
    loop, which an adapter with a faster way (asyncio's readiness callback) overrides."""

    __slots__ = ()

    max_datagram_size: int

    async def recv(self, *, timeout: float | None = None) -> tuple[bytes, Address]:
        raise NotImplementedError

    async def send(self, data: bytes | bytearray | memoryview, address: Address) -> None:
        raise NotImplementedError

    async def serve(self, handler: DatagramHandler) -> None:
        """See :meth:`backends.interface.DatagramEndpoint.serve`."""
        recv = self.recv
        send = self.send
        while True:
            try:
                data, address = await recv()
            except ClosedFlow:
                return
            reply = handle_datagram(handler, data, address)
            if reply is None:
                continue
            try:
                await send(reply, address)
            except ClosedFlow:
                return
            except NetworkError as exc:  # MessageTooLarge included
                log.debug("UDP reply to %s:%d not sent: %s", address[0], address[1], exc)


def handle_datagram(
    handler: DatagramHandler, data: bytes, address: Address
) -> bytes | bytearray | memoryview | None:
    """``handler(data, address)``; what it raises is logged (it must not stop the serving
    of others) and counts as no reply."""
    try:
        return handler(data, address)
    except Exception:
        log.exception("datagram handler failed for %r from %s", data[:64], address)
        return None


async def run_handler(handler: Handler, flow: Flow) -> None:
    """Run one connection's handler: log what it raises, and always close its flow."""
    try:
        await handler(flow)
    except Exception:
        log.exception("connection handler failed for %s", flow.remote)
    finally:
        with anyio.CancelScope(shield=True):
            await flow.close()
