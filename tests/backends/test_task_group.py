"""Task groups keep anyio's semantics on every backend, including the lean ``start_soon``
of the asyncio and trio backends (no anyio task handle per child): children live in the group's
cancel scope, shields hold inside them, a failing child cancels its siblings and the
group raises an ExceptionGroup, and leaving the block waits for every child."""

from __future__ import annotations

import pytest

import backends
from backends._runtime import _AsyncioTaskGroup
from backends.trio_backend import _TrioTaskGroup


async def test_the_group_waits_for_its_children(backend: backends.Backend) -> None:
    done: list[int] = []

    async def child(i: int) -> None:
        await backend.sleep(0.01 * i)
        done.append(i)

    async with backend.task_group() as tg:
        for i in range(5):
            tg.start_soon(child, i)
    assert sorted(done) == [0, 1, 2, 3, 4]
    if backend.name == "asyncio":  # these tests check the lean start_soon there
        assert isinstance(tg, _AsyncioTaskGroup)
    if backend.name == "trio":  # and the one straight into trio's nursery
        assert isinstance(tg, _TrioTaskGroup)


async def test_cancelling_the_group_cancels_children_but_not_their_shields(
    backend: backends.Backend,
) -> None:
    reached: list[str] = []
    started = backend.event()

    async def child() -> None:
        try:
            started.set()
            await backend.sleep(30)
            reached.append("not cancelled")
        finally:
            with backend.move_on_after(5) as scope:
                scope.shield = True  # type: ignore[attr-defined]
                await backend.sleep(0.05)  # a cleanup that must finish
                reached.append("shielded cleanup finished")

    with backend.fail_after(10):
        async with backend.task_group() as tg:
            tg.start_soon(child, name="child")
            await started.wait()
            tg.cancel_scope.cancel()
    assert reached == ["shielded cleanup finished"]


async def test_an_outer_deadline_reaches_the_children(backend: backends.Backend) -> None:
    finished: list[bool] = []

    async def child() -> None:
        await backend.sleep(30)
        finished.append(True)

    with backend.fail_after(10), backend.move_on_after(0.1) as outer:
        async with backend.task_group() as tg:
            tg.start_soon(child)
            tg.start_soon(child)
    assert outer.cancelled_caught
    assert finished == []


async def test_a_child_deadline_stays_in_the_child(backend: backends.Backend) -> None:
    results: list[str] = []

    async def impatient() -> None:
        with backend.move_on_after(0.02) as scope:
            await backend.sleep(30)
        results.append(f"impatient gave up: {scope.cancelled_caught}")

    async def patient() -> None:
        await backend.sleep(0.1)
        results.append("patient finished")

    with backend.fail_after(10):
        async with backend.task_group() as tg:
            tg.start_soon(impatient)
            tg.start_soon(patient)
    assert results == ["impatient gave up: True", "patient finished"]


async def test_a_failing_child_cancels_its_siblings(backend: backends.Backend) -> None:
    sibling_ended: list[str] = []

    async def failing() -> None:
        await backend.sleep(0.02)
        raise KeyError("boom")

    async def sibling() -> None:
        try:
            await backend.sleep(30)
        finally:
            sibling_ended.append("cancelled")

    with backend.fail_after(10), pytest.raises(BaseExceptionGroup) as caught:
        async with backend.task_group() as tg:
            tg.start_soon(sibling)
            tg.start_soon(failing)
    assert caught.value.subgroup(KeyError) is not None
    assert sibling_ended == ["cancelled"]


async def test_start_soon_after_the_group_ended_is_refused(backend: backends.Backend) -> None:
    async with backend.task_group() as tg:
        pass

    async def child() -> None:
        return None

    with pytest.raises(RuntimeError):
        tg.start_soon(child)
