"""The conformance suite also runs the asyncio adapter on uvloop, when uvloop is installed."""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator
from typing import Any

import pytest

import backends
from tests.conftest import BACKEND_NAMES

UVLOOP = "asyncio+uvloop"
NAMES = BACKEND_NAMES + ([UVLOOP] if importlib.util.find_spec("uvloop") else [])


@pytest.fixture(params=NAMES)
def backend_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def anyio_backend(backend_name: str) -> Any:
    if backend_name == UVLOOP:
        return ("asyncio", {"use_uvloop": True})
    return backends.host_loop(backend_name)


@pytest.fixture
async def backend(backend_name: str, anyio_backend: Any) -> AsyncIterator[backends.Backend]:
    name = "asyncio" if backend_name == UVLOOP else backend_name
    async with backends.open_backend(name) as net:
        yield net
