"""The trio adapter: native ``trio.socket`` sockets, no stream wrappers in between.

Reads are one ``recv`` and writes a ``send`` loop, both of which trio already makes
cancellation points that wait for readiness, so backpressure is the kernel's own.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import socket as _stdsocket
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any

import trio

from ._runtime import AnyioRuntime
from ._sockutil import (
    UDP_MAX_PAYLOAD_V4,
    UDP_MAX_PAYLOAD_V6,
    address_of,
    check_datagram_size,
    set_linger_rst,
    translate,
)
from .errors import ClosedFlow, NetworkError, Timeout
from .interface import Address, Backend, Handler

log = logging.getLogger("backends")


async def _resolve(host: str, port: int, socktype: int, *, passive: bool = False) -> list[Any]:
    flags = _stdsocket.AI_PASSIVE if passive else 0
    try:
        infos = await trio.socket.getaddrinfo(host, port, type=socktype, flags=flags)
    except OSError as exc:
        raise translate(exc, f"resolve {host!r}") from exc
    if not infos:
        raise translate(_stdsocket.gaierror(f"no address for {host!r}"), f"resolve {host!r}")
    return infos


class TrioFlow:
    """One TCP connection; see :class:`backends.interface.Flow`."""

    def __init__(self, sock: trio.socket.SocketType) -> None:
        self._sock = sock
        self._closed = False
        self._write_shut = False
        self._eof = False
        self._local = address_of(sock.getsockname())
        try:
            self._remote = address_of(sock.getpeername())
        except OSError:
            self._remote = ("", 0)

    @property
    def local(self) -> Address:
        return self._local

    @property
    def remote(self) -> Address:
        return self._remote

    async def read(self, max_bytes: int = 65536) -> bytes:
        if max_bytes <= 0:
            raise ValueError("max_bytes must be positive")
        if self._closed:
            raise ClosedFlow("read on a closed flow")
        if self._eof:
            await trio.lowlevel.checkpoint()
            return b""
        try:
            data = await self._sock.recv(max_bytes)
        except trio.ClosedResourceError:
            raise ClosedFlow("flow closed while reading") from None
        except OSError as exc:
            if self._closed:
                raise ClosedFlow("flow closed while reading") from exc
            raise translate(exc, "read") from exc
        if not data:
            self._eof = True
        return data

    async def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._closed:
            raise ClosedFlow("write on a closed flow")
        if self._write_shut:
            raise ClosedFlow("write after shutdown_write")
        sock = self._sock
        try:
            with memoryview(data) as view:
                total = len(view)
                sent = await sock.send(view)
                while sent < total:
                    sent += await sock.send(view[sent:])
        except trio.ClosedResourceError:
            raise ClosedFlow("flow closed while writing") from None
        except OSError as exc:
            if self._closed:
                raise ClosedFlow("flow closed while writing") from exc
            raise translate(exc, "write") from exc

    async def shutdown_write(self) -> None:
        if self._closed:
            raise ClosedFlow("shutdown_write on a closed flow")
        await trio.lowlevel.checkpoint()
        if self._write_shut:
            return
        self._write_shut = True
        try:
            self._sock.shutdown(_stdsocket.SHUT_WR)
        except OSError as exc:
            if exc.errno != errno.ENOTCONN:
                raise translate(exc, "shutdown_write") from exc

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._sock.close()
        await trio.lowlevel.checkpoint_if_cancelled()

    def abort(self) -> None:
        if not self._closed:
            self._closed = True
            set_linger_rst(self._sock)
            self._sock.close()

    async def __aenter__(self) -> TrioFlow:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


class TrioListener:
    """A listening TCP socket; see :class:`backends.interface.Listener`."""

    def __init__(self, sock: trio.socket.SocketType) -> None:
        self._sock = sock
        self._address = address_of(sock.getsockname())
        self._closed = False

    @property
    def address(self) -> Address:
        return self._address

    async def accept(self) -> TrioFlow:
        while True:
            if self._closed:
                raise ClosedFlow("accept on a closed listener")
            try:
                conn, _ = await self._sock.accept()
            except trio.ClosedResourceError:
                raise ClosedFlow("listener closed while accepting") from None
            except OSError as exc:
                if self._closed:
                    raise ClosedFlow("listener closed while accepting") from exc
                if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    log.warning("accept on %s: %s; retrying shortly", self._address, exc)
                    await trio.sleep(0.05)
                    continue
                if exc.errno in (errno.ECONNABORTED, errno.EPROTO):
                    continue
                raise translate(exc, "accept") from exc
            conn.setsockopt(_stdsocket.IPPROTO_TCP, _stdsocket.TCP_NODELAY, 1)
            return TrioFlow(conn)

    async def __aiter__(self) -> AsyncIterator[TrioFlow]:
        while True:
            try:
                flow = await self.accept()
            except ClosedFlow:
                return
            yield flow

    async def serve(self, handler: Handler) -> None:
        async with trio.open_nursery() as nursery:
            while True:
                try:
                    flow = await self.accept()
                except ClosedFlow:
                    break
                nursery.start_soon(self._run_handler, handler, flow)
            nursery.cancel_scope.cancel()

    @staticmethod
    async def _run_handler(handler: Handler, flow: TrioFlow) -> None:
        try:
            await handler(flow)
        except Exception:
            log.exception("connection handler failed for %s", flow.remote)
        finally:
            with trio.CancelScope(shield=True):
                await flow.close()

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._sock.close()
        await trio.lowlevel.checkpoint_if_cancelled()

    async def __aenter__(self) -> TrioListener:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


class TrioDatagram:
    """A bound UDP socket; see :class:`backends.interface.DatagramEndpoint`."""

    def __init__(self, sock: trio.socket.SocketType) -> None:
        self._sock = sock
        self._address = address_of(sock.getsockname())
        self._closed = False
        self.max_datagram_size = (
            UDP_MAX_PAYLOAD_V6 if sock.family == _stdsocket.AF_INET6 else UDP_MAX_PAYLOAD_V4
        )

    @property
    def address(self) -> Address:
        return self._address

    async def recv(self) -> tuple[bytes, Address]:
        while True:
            if self._closed:
                raise ClosedFlow("recv on a closed datagram endpoint")
            try:
                data, addr = await self._sock.recvfrom(65536)
            except trio.ClosedResourceError:
                raise ClosedFlow("endpoint closed while receiving") from None
            except OSError as exc:
                if self._closed:
                    raise ClosedFlow("endpoint closed while receiving") from exc
                # ECONNREFUSED here reports an ICMP error for an earlier send: ignore it.
                if exc.errno in (errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH):
                    continue
                raise translate(exc, "recv") from exc
            return data, address_of(addr)

    async def send(self, data: bytes | bytearray | memoryview, address: Address) -> None:
        if self._closed:
            raise ClosedFlow("send on a closed datagram endpoint")
        check_datagram_size(len(data), self.max_datagram_size)
        try:
            await self._sock.sendto(data, address)
        except trio.ClosedResourceError:
            raise ClosedFlow("endpoint closed while sending") from None
        except OSError as exc:
            raise translate(exc, f"send to {address[0]}:{address[1]}") from exc

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._sock.close()
        await trio.lowlevel.checkpoint_if_cancelled()

    async def __aenter__(self) -> TrioDatagram:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


class TrioBackend(AnyioRuntime):
    """The trio :class:`backends.interface.Backend`."""

    name = "trio"

    async def tcp_listen(self, host: str, port: int, *, backlog: int = 1024) -> TrioListener:
        family, _, _, _, sockaddr = (
            await _resolve(host, port, _stdsocket.SOCK_STREAM, passive=True)
        )[0]
        sock = trio.socket.socket(family, _stdsocket.SOCK_STREAM)
        try:
            sock.setsockopt(_stdsocket.SOL_SOCKET, _stdsocket.SO_REUSEADDR, 1)
            if family == _stdsocket.AF_INET6:
                sock.setsockopt(_stdsocket.IPPROTO_IPV6, _stdsocket.IPV6_V6ONLY, 1)
            await sock.bind(sockaddr)
            sock.listen(backlog)
        except OSError as exc:
            sock.close()
            raise translate(exc, f"listen on {host}:{port}") from exc
        return TrioListener(sock)

    async def tcp_connect(self, host: str, port: int, *, timeout: float | None = None) -> TrioFlow:
        with trio.move_on_after(timeout if timeout is not None else float("inf")) as scope:
            last: NetworkError | None = None
            for family, socktype, proto, _, sockaddr in await _resolve(
                host, port, _stdsocket.SOCK_STREAM
            ):
                sock = trio.socket.socket(family, socktype, proto)
                try:
                    await sock.connect(sockaddr)
                except OSError as exc:
                    sock.close()
                    last = translate(exc, f"connect to {host}:{port}")
                    continue
                except BaseException:
                    sock.close()
                    raise
                sock.setsockopt(_stdsocket.IPPROTO_TCP, _stdsocket.TCP_NODELAY, 1)
                return TrioFlow(sock)
            assert last is not None
            raise last
        assert scope.cancelled_caught
        raise Timeout(f"connect to {host}:{port} timed out after {timeout:g}s")

    async def udp_bind(self, host: str, port: int) -> TrioDatagram:
        family, _, _, _, sockaddr = (
            await _resolve(host, port, _stdsocket.SOCK_DGRAM, passive=True)
        )[0]
        sock = trio.socket.socket(family, _stdsocket.SOCK_DGRAM)
        try:
            await sock.bind(sockaddr)
        except OSError as exc:
            sock.close()
            raise translate(exc, f"bind udp {host}:{port}") from exc
        return TrioDatagram(sock)

    async def aclose(self) -> None:
        return None


def host_loop(**options: Any) -> str:
    """This adapter runs on a trio loop."""
    if options:
        raise TypeError(f"the trio backend takes no options, got {sorted(options)}")
    return "trio"


@contextlib.asynccontextmanager
async def open_backend(**options: Any) -> AsyncIterator[Backend]:
    """The trio backend."""
    host_loop(**options)
    yield TrioBackend()
