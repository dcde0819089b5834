"""Command-line plumbing shared by the commands that serve: which backend, on which device."""

from __future__ import annotations

import argparse
import signal
import socket
from typing import Any

import anyio

from . import ADAPTERS
from ._sockutil import file_identity, listen_tcp, listen_unix, translate, unlink_unix

DEVICE_OPTIONS = ("tap", "ip", "gateway")
"""The mirage adapter's device options, as command-line ``--tap/--ip/--gateway``."""


def add_backend_arguments(
    parser: argparse.ArgumentParser, *, uvloop: bool = False, device: bool = True
) -> None:
    """Add ``--backend``, ``--uvloop`` (when asked) and mirage's ``--tap/--ip/--gateway``
    (unless ``device=False``)."""
    parser.add_argument(
        "--backend",
        default="asyncio",
        choices=sorted(ADAPTERS),
        help="IO backend (default asyncio)",
    )
    if uvloop:
        parser.add_argument("--uvloop", action="store_true", help="asyncio backend on uvloop")
    if device:
        parser.add_argument("--tap", help="mirage: the TAP device")
        parser.add_argument(
            "--ip",
            action="append",
            help="mirage: our address, A.B.C.D/PREFIX, dhcp (RFC 2131), or an IPv6 one like "
            "2001:db8::2/64 (repeat for both families; IPv6 also gets link-local and SLAAC "
            "addresses)",
        )
        parser.add_argument(
            "--gateway", action="append", help="mirage: a default gateway (one per family)"
        )


def device_options(args: argparse.Namespace) -> dict[str, Any]:
    """The ``--tap/--ip/--gateway`` that were given, as adapter options."""
    return {name: value for name in DEVICE_OPTIONS if (value := getattr(args, name, None))}


def listen_host(args: argparse.Namespace) -> str:
    """``--host`` if given, else the address of ``--ip`` (mirage; every address with
    ``--ip dhcp``; ``::``, both families, when an IPv6 one is among several), else
    127.0.0.1."""
    host: str | None = getattr(args, "host", None)
    if host:
        return host
    ips: list[str] | str | None = getattr(args, "ip", None)
    if not ips:
        return "127.0.0.1"
    if isinstance(ips, str):
        ips = [ips]
    if len(ips) > 1 and any(":" in ip for ip in ips):
        return "::"
    if ips[0] == "dhcp":
        return "0.0.0.0"  # the address is not known until the lease
    return ips[0].split("/")[0]


async def stop_signal() -> int:
    """Wait for SIGINT or SIGTERM, on any backend's loop; return which came.

    Installed on entering and removed on leaving, so a signal before the wait starts or
    after it ends keeps its default effect (a server stopping gracefully says so and
    waits again only if it wants to)."""
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for signum in signals:
            return int(signum)
    raise RuntimeError("the signal receiver ended")  # pragma: no cover


class BoundSocket:
    """A listening socket made before any event loop runs (a supervisor's, for the worker
    processes it starts to inherit with ``--fd``): TCP on ``host:port`` or, with ``uds``,
    a Unix socket at that path (see :meth:`backends.interface.SocketListening.listen_unix`
    for the stale-file rule), which :meth:`close` removes."""

    def __init__(
        self, host: str, port: int, *, uds: str | None = None, mode: int | None = None
    ) -> None:
        self.uds = uds
        if uds is not None:
            self._sock = listen_unix(uds, mode, 2048)
            self._identity = file_identity(uds)
        else:
            try:
                infos = socket.getaddrinfo(
                    host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
                )
            except OSError as exc:
                raise translate(exc, f"listen on {host}:{port}") from exc
            family, _, _, _, sockaddr = infos[0]
            self._sock = listen_tcp(family, sockaddr, host, port, 2048)
        self._sock.set_inheritable(True)

    def fileno(self) -> int:
        """The file descriptor a worker inherits."""
        return self._sock.fileno()

    @property
    def address(self) -> tuple[str, int]:
        """``(host, port)``, or ``(path, 0)`` for a Unix socket."""
        name = self._sock.getsockname()
        return (name, 0) if isinstance(name, str) else (str(name[0]), int(name[1]))

    def close(self) -> None:
        """Close the socket (and remove a Unix socket's file)."""
        if self.uds is not None:
            unlink_unix(self.uds, self._identity)
        self._sock.close()
