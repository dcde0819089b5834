"""The Runtime half of a backend, shared by every adapter.

anyio gives the same level-triggered cancellation semantics on an asyncio and a trio host
loop, so the asyncio, trio and mirage adapters all inherit this one implementation and
cannot drift apart. Two hot spots take a shorter way to the very same objects, since a
server pays them per connection: the asyncio adapter's task groups start children without
anyio's per-child task handle (:class:`AsyncioRuntime`; the trio adapter's go straight to
the trio nursery), and its ``move_on_after`` makes anyio's asyncio scope directly.
tests/backends/test_task_group.py holds them to anyio's semantics.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from anyio._backends._asyncio import CancelScope as _AsyncioCancelScope
from anyio._backends._asyncio import TaskGroup as _AnyioAsyncioTaskGroup
from anyio._backends._asyncio import TaskState as _TaskState
from anyio._backends._asyncio import _task_states

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


class _AsyncioTaskGroup(_AnyioAsyncioTaskGroup):
    """anyio's asyncio task group with a leaner ``start_soon``.

    Since 4.14 anyio's ``start_soon`` wraps every child in a task handle: a wrapper
    coroutine, a cancel scope of its own and an event, for ``TaskHandle.cancel`` and
    awaiting the handle, which :class:`backends.interface.TaskGroup` does not offer.
    Measured here (a loaded 2-core VM): 33-44 µs of CPU per child, against 5-9 µs for
    this ``start_soon``, which registers the plain task the way anyio registers a child
    (in the group's cancel scope, which cancels it and whose shields it honours) and
    finishes it the way anyio does (an exception goes into the group's
    ``ExceptionGroup`` and cancels the siblings). A server spawns a child per connection.
    """

    def start_soon(  # type: ignore[override,misc]
        self, func: Callable[..., Any], *args: Any, name: object = None
    ) -> None:
        scope = self.cancel_scope
        if not self._entered or not scope._active:
            raise RuntimeError("This task group is not active; no new tasks can be started.")
        task = asyncio.get_running_loop().create_task(
            func(*args), name=None if name is None else str(name)
        )
        _task_states[task] = _TaskState(parent_id=id(scope._host_task), cancel_scope=scope)
        scope._tasks.add(task)
        self._tasks.add(task)
        task.add_done_callback(self._child_done)

    def _child_done(self, task: asyncio.Task[Any]) -> None:
        ended_in = _task_states.pop(task).cancel_scope  # the group's scope by now
        if ended_in is not None:
            ended_in._tasks.discard(task)
        self._tasks.discard(task)
        waiter = self._on_completed_fut
        if waiter is not None and not self._tasks and not waiter.done():
            waiter.set_result(None)
        if task.cancelled():
            failed = True
        else:
            error = task.exception()
            failed = error is not None
            if error is not None and not isinstance(error, asyncio.CancelledError):
                self._exceptions.append(error)
        if failed and not self.cancel_scope._effectively_cancelled:
            self.cancel_scope.cancel()


def _lean_start_soon_works() -> bool:
    """Whether this anyio keeps its asyncio task bookkeeping where
    :class:`_AsyncioTaskGroup` expects it (else anyio's own ``start_soon`` serves)."""
    group = _AnyioAsyncioTaskGroup()
    attributes = ("_tasks", "_exceptions", "_on_completed_fut", "_entered")
    return (
        all(hasattr(group, name) for name in attributes)
        and all(hasattr(group.cancel_scope, name) for name in ("_tasks", "_active", "_host_task"))
        and {"cancel_scope", "parent_id"} <= set(getattr(_TaskState, "__slots__", ()))
    )


_LEAN_START_SOON = _lean_start_soon_works()


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


class AsyncioRuntime(AnyioRuntime):
    """:class:`AnyioRuntime` on an asyncio loop: task groups with the lean ``start_soon``
    of :class:`_AsyncioTaskGroup` (anyio's own where its internals differ)."""

    def task_group(self) -> TaskGroup:
        group = _AsyncioTaskGroup() if _LEAN_START_SOON else anyio.create_task_group()
        return group  # type: ignore[return-value]

    def move_on_after(self, seconds: float) -> CancelScope:
        # The scope anyio.move_on_after makes on asyncio, without its two lookups of the
        # running backend (sniffio): measured here 6.1 -> 3.5 µs for an infinite deadline.
        return _AsyncioCancelScope(deadline=asyncio.get_running_loop().time() + seconds)
