"""The shared conformance suite (tests/backends), plain and under TLS, once more with the
mirage stack hosted on trio (``host="trio"``) instead of asyncio: the same stack, the other
host loop."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

import backends
from tests.backends.conftest import certs  # noqa: F401 - the TLS tests' fixture, from the conftest they share
from tests.backends.test_conformance import *  # noqa: F403 - re-collect every test here
from tests.backends.test_tls_conformance import *  # noqa: F403 - and TLS over it


@pytest.fixture
def backend_name() -> str:
    return "mirage"


@pytest.fixture
def anyio_backend() -> str:
    return backends.host_loop("mirage", host="trio")


@pytest.fixture
async def backend(anyio_backend: str) -> AsyncIterator[backends.Backend]:
    async with backends.open_backend("mirage", host="trio") as net:
        yield net


async def test_these_tests_really_run_on_trio(backend: backends.Backend) -> None:
    import sniffio

    assert sniffio.current_async_library() == "trio" and backend.name == "mirage"
