"""The conformance kit (:mod:`backends.testing`) on every adapter.

Every test takes the ``backend`` fixture, so it runs on asyncio, trio, mirage (and asyncio on
uvloop where it is installed). ``test_tls_conformance`` runs the flow checks once more with
TLS over each.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from backends import Backend, testing


def _ids(check: Callable[..., Any]) -> str:
    return check.__name__.removeprefix("check_")


@pytest.mark.parametrize("check", testing.FLOW_CHECKS, ids=_ids)
async def test_flow(
    backend: Backend, check: Callable[[testing.PairFactory, Backend], Awaitable[None]]
) -> None:
    await check(testing.tcp_pairs(backend), backend)


@pytest.mark.parametrize("check", testing.STACK_CHECKS, ids=_ids)
async def test_stack(backend: Backend, check: Callable[[Backend], Awaitable[None]]) -> None:
    await check(backend)
