"""Fixtures shared by the whole suite.

``backend`` is the one fixture every networked protocol test takes: it is parametrised over
every adapter importable here (asyncio, trio, and mirage once its adapter exists, over a
private in-memory switch), so a test written once runs on each. Async tests that take it are
run by anyio's pytest plugin on the backend's host loop.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import shutil
from collections.abc import AsyncIterator
from typing import Any

import pytest

import backends


def _backend_names() -> list[str]:
    names = ["asyncio", "trio"]
    if importlib.util.find_spec("backends.mirage") is not None:
        try:
            adapter = importlib.import_module("backends.mirage.adapter")
        except ImportError:
            return names
        # The mirage adapter joins every networked test once it passes the conformance suite.
        if getattr(adapter, "CONFORMANT", False):
            names.append("mirage")
    return names


BACKEND_NAMES = _backend_names()


@pytest.fixture(params=BACKEND_NAMES)
def backend_name(request: pytest.FixtureRequest) -> str:
    """The name of the adapter under test."""
    return str(request.param)


UVLOOP = "asyncio+uvloop"
"""A backend name for tests only: the asyncio adapter on a uvloop loop."""


@pytest.fixture
def anyio_backend(backend_name: str) -> Any:
    """The host loop anyio's plugin runs the test on (mirage is hosted on asyncio)."""
    if backend_name == UVLOOP:
        return ("asyncio", {"use_uvloop": True})
    return backends.host_loop(backend_name)


@pytest.fixture
async def backend(backend_name: str, anyio_backend: Any) -> AsyncIterator[backends.Backend]:
    """A fresh :class:`backends.Backend` of each kind, closed after the test."""
    async with backends.open_backend("asyncio" if backend_name == UVLOOP else backend_name) as net:
        yield net


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fn = getattr(item, "function", None)
        if (
            fn is not None
            and inspect.iscoroutinefunction(fn)
            and "backend" in getattr(item, "fixturenames", ())
        ):
            item.add_marker(pytest.mark.anyio)


def need_tool(*names: str) -> None:
    """Skip the calling test unless every named program is on PATH."""
    missing = [n for n in names if shutil.which(n) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} on PATH (Debian package); CI installs it")


def need_root() -> None:
    """Skip the calling test unless it runs as root (network namespaces, TAP devices)."""
    if os.geteuid() != 0:
        pytest.skip("needs root for network namespaces / TAP devices; CI runs as root")
