"""The Runtime half of a backend, shared by every adapter.

anyio gives the same level-triggered cancellation semantics on an asyncio and a trio host
loop, so the asyncio, trio and mirage adapters all inherit this one implementation and
cannot drift apart.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

import anyio
import anyio.to_thread

from .errors import Timeout
from .interface import CancelScope, Event, TaskGroup

T = TypeVar("T")

log = logging.getLogger("backends")


class _FailAfter:
    """A cancel scope that turns its own deadline into :class:`Timeout`."""

    __slots__ = ("_scope", "_seconds")

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds
        self._scope = anyio.CancelScope(deadline=anyio.current_time() + seconds)

    def cancel(self) -> None:
        self._scope.cancel()

    @property
    def cancelled_caught(self) -> bool:
        return self._scope.cancelled_caught

    @property
    def deadline(self) -> float:
        return self._scope.deadline

    @deadline.setter
    def deadline(self, value: float) -> None:
        self._scope.deadline = value

    def __enter__(self) -> CancelScope:
        self._scope.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        suppressed = bool(self._scope.__exit__(exc_type, exc, tb))
        if self._scope.cancelled_caught and anyio.current_time() >= self._scope.deadline:
            raise Timeout(f"deadline of {self._seconds:g}s passed") from exc
        return suppressed


class AnyioRuntime:
    """Tasks, time and cancellation through anyio (see :class:`backends.interface.Runtime`)."""

    def task_group(self) -> TaskGroup:
        return anyio.create_task_group()  # type: ignore[return-value]

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(seconds)

    def move_on_after(self, seconds: float) -> CancelScope:
        return anyio.move_on_after(seconds)

    def fail_after(self, seconds: float) -> CancelScope:
        return _FailAfter(seconds)

    def now(self) -> float:
        return anyio.current_time()

    def event(self) -> Event:
        return anyio.Event()

    async def run_in_thread(self, func: Callable[..., T], *args: Any) -> T:
        return await anyio.to_thread.run_sync(func, *args)
