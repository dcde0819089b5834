"""The IO interface and its adapters: asyncio, trio and mirage (a user-space TCP/IP stack).

Protocol code receives a :class:`~backends.interface.Backend` and uses only what
:mod:`backends.interface` declares, so the same HTTP or DNS server runs on any of them::

    import backends

    async def main(net: backends.Backend) -> None:
        async with await net.tcp_listen("127.0.0.1", 8080) as listener:
            await listener.serve(echo)

    async def echo(flow: backends.Flow) -> None:
        while data := await flow.read():
            await flow.write(data)

    backends.run(main, backend="trio")
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import anyio

from .errors import (
    AddressInUse,
    AddressUnavailable,
    BusyFlow,
    CertificateError,
    ClosedFlow,
    ConnectionRefused,
    ConnectionReset,
    MessageTooLarge,
    NetworkError,
    ResolutionError,
    Timeout,
    TLSError,
    TLSTruncated,
)
from .interface import Address, Backend, DatagramEndpoint, DatagramHandler, Flow, Listener

T = TypeVar("T")

ADAPTERS: dict[str, str] = {
    "asyncio": "backends.asyncio_backend",
    "trio": "backends.trio_backend",
    "mirage": "backends.mirage.adapter",
}
"""Backend name -> module providing ``open_backend(**options)`` and ``host_loop(**options)``."""


def _adapter(name: str) -> Any:
    if name not in ADAPTERS:
        raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(ADAPTERS)}")
    try:
        return importlib.import_module(ADAPTERS[name])
    except ImportError as exc:
        raise ValueError(f"backend {name!r} is not available here: {exc}") from exc


@contextlib.asynccontextmanager
async def open_backend(name: str = "asyncio", **options: Any) -> AsyncIterator[Backend]:
    """Create backend ``name`` inside the running event loop, and close it on exit.

    Options are the adapter's: ``asyncio`` takes none (uvloop is chosen by :func:`run`);
    ``mirage`` takes the device and addresses (see :mod:`backends.mirage.adapter`).
    """
    adapter = _adapter(name)
    async with adapter.open_backend(**options) as backend:
        yield backend


def host_loop(name: str, **options: Any) -> str:
    """The anyio loop (``"asyncio"`` or ``"trio"``) that backend ``name`` runs on."""
    adapter = _adapter(name)
    host: str = adapter.host_loop(**options)
    return host


def run(
    main: Callable[[Backend], Awaitable[T]],
    backend: str = "asyncio",
    *,
    uvloop: bool = False,
    **options: Any,
) -> T:
    """Start an event loop for ``backend`` and return ``await main(the_backend)``.

    ``uvloop=True`` runs the asyncio loop on uvloop (the ``uvloop`` extra); other options
    go to the adapter (see :func:`open_backend`).
    """
    loop = host_loop(backend, **options)
    if uvloop and loop != "asyncio":
        raise ValueError(f"uvloop only applies to an asyncio loop, not {loop!r}")

    async def _main() -> T:
        async with open_backend(backend, **options) as net:
            return await main(net)

    backend_options = {"use_uvloop": True} if uvloop else {}
    return anyio.run(_main, backend=loop, backend_options=backend_options)


__all__ = [
    "ADAPTERS",
    "Address",
    "AddressInUse",
    "AddressUnavailable",
    "Backend",
    "BusyFlow",
    "CertificateError",
    "ClosedFlow",
    "ConnectionRefused",
    "ConnectionReset",
    "DatagramEndpoint",
    "DatagramHandler",
    "Flow",
    "Listener",
    "MessageTooLarge",
    "NetworkError",
    "ResolutionError",
    "TLSError",
    "TLSTruncated",
    "Timeout",
    "host_loop",
    "open_backend",
    "run",
]
