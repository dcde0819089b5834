"""Pieces every adapter's flows, listeners and endpoints share."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Self

import anyio

from .errors import ClosedFlow
from .interface import Flow, Handler

log = logging.getLogger("backends")

YIELD_EVERY = 16
"""Operations an endpoint completes without waiting before it yields to its loop once, so
a socket whose data is always ready cannot starve other tasks (or hold up deadlines)."""


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


async def run_handler(handler: Handler, flow: Flow) -> None:
    """Run one connection's handler: log what it raises, and always close its flow."""
    try:
        await handler(flow)
    except Exception:
        log.exception("connection handler failed for %s", flow.remote)
    finally:
        with anyio.CancelScope(shield=True):
            await flow.close()
