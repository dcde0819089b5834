"""Fixtures shared by the whole suite.

``backend`` is the one fixture every networked protocol test takes: it is parametrised over
every adapter importable here (asyncio, trio, and mirage once its adapter exists, over a
private in-memory switch), so a test written once runs on each. Async tests that take it are
run by anyio's pytest plugin on the backend's host loop.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import inspect
import os
import shutil
from collections.abc import AsyncIterator, Iterator
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


@pytest.fixture(scope="session")
def mirage_tap_link() -> Iterator[Any]:
    """One namespace with a TAP device for the whole session (made on first use), where
    mirage stacks meet the kernel's peers; deleted at the end, also on failure or Ctrl-C."""
    from tests.peers import mirage_link

    need_root()
    need_tool("ip")
    with mirage_link() as link:
        yield link


@pytest.fixture
def kernel(backend_name: str, request: pytest.FixtureRequest) -> Any:
    """The :class:`tests.peers.KernelLink` where this test's kernel peers (curl, NSD,
    openssl, kernel sockets) meet the backend: loopback on asyncio and trio; on mirage, a
    TAP device in a namespace (needs root; the ``backend`` of a test that takes this
    fixture is then a mirage stack on that device)."""
    from tests.peers import LOOPBACK_LINK

    if backend_name != "mirage":
        return LOOPBACK_LINK
    if os.geteuid() != 0:
        pytest.skip(
            "mirage meets kernel peers over a TAP device in a network namespace: needs root "
            "(CI runs as root)"
        )
    return request.getfixturevalue("mirage_tap_link")


@pytest.fixture
async def backend(
    backend_name: str, anyio_backend: Any, request: pytest.FixtureRequest
) -> AsyncIterator[backends.Backend]:
    """A fresh :class:`backends.Backend` of each kind, closed after the test. On mirage, a
    test that also takes ``kernel`` gets a stack on that link's TAP device."""
    name = "asyncio" if backend_name == UVLOOP else backend_name
    if name == "mirage" and "kernel" in request.fixturenames:
        from tests.peers import inside_netns

        link = request.getfixturevalue("kernel")
        async with contextlib.AsyncExitStack() as stack:
            with inside_netns(link.namespace):  # the TAP fd is opened in the namespace
                net = await stack.enter_async_context(
                    backends.open_backend(name, **link.mirage_options())
                )
            yield net
        return
    async with backends.open_backend(name) as net:
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
