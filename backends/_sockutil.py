"""Helpers the two kernel-socket adapters (asyncio, trio) share."""

from __future__ import annotations

import errno
import functools
import ipaddress
import os
import socket
import stat
import struct
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from .errors import (
    AddressInUse,
    AddressUnavailable,
    ConnectionRefused,
    ConnectionReset,
    MessageTooLarge,
    NetworkError,
    ResolutionError,
)
from .interface import Address

UDP_MAX_PAYLOAD_V4 = 65507
UDP_MAX_PAYLOAD_V6 = 65527

_LINGER_RST = struct.pack("ii", 1, 0)

RECEIVE_BUFFER_SIZE = 256 * 1024
"""The most one TCP read returns; also room for any UDP datagram."""

_per_thread = threading.local()


def receive_buffer() -> memoryview:
    """This thread's buffer for ``recv_into``: the kernel copies into it, the caller copies
    out just the bytes that arrived (``bytes(buffer[:n])``) before anything else runs.

    Why not ``sock.recv(size)``: that allocates ``size`` bytes on every call and shrinks
    them to what arrived. At 256 KiB, that is above glibc's mmap threshold, so each read
    can be an ``mmap``, two page faults and a ``munmap``: measured at up to 3x the kernel
    time per HTTP request. One buffer per thread (one event loop per thread) is safe: a
    read and its copy never yield in between.
    """
    try:
        buffer: memoryview = _per_thread.receive_buffer
    except AttributeError:
        buffer = _per_thread.receive_buffer = memoryview(bytearray(RECEIVE_BUFFER_SIZE))
    return buffer


def address_of(sockaddr: Any) -> Address:
    """``(host, port)`` from a socket address of any family (drops IPv6 flow/scope); a
    Unix socket's is ``(path, 0)``, its unnamed peer's ``("", 0)``."""
    if sockaddr.__class__ is str or sockaddr.__class__ is bytes:
        return (os.fsdecode(sockaddr), 0)
    return (str(sockaddr[0]), int(sockaddr[1]))


@functools.lru_cache(maxsize=1024)
def ip_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address if ``host`` is an IP literal (no resolution needed), else None.

    Cached: a resolver binds ``0.0.0.0`` for every query, and parsing costs microseconds.
    """
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def set_linger_rst(sock: Any) -> None:
    """Make ``close()`` send RST instead of FIN (SO_LINGER with a zero timeout)."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RST)
    except OSError:
        pass


def translate(exc: OSError, what: str) -> NetworkError:
    """Map an OS error to the backend hierarchy, keeping the message and errno."""
    if isinstance(exc, NetworkError):
        return exc
    if isinstance(exc, socket.gaierror):
        return ResolutionError(f"{what}: {exc.strerror or exc}")
    code = exc.errno
    cause = exc.__cause__ or exc.__context__
    if code is None and isinstance(cause, OSError) and cause.errno is not None:
        # uvloop wraps the failing call's OSError in one without an errno.
        code = cause.errno
    message = f"{what}: {exc.strerror or exc}"
    if isinstance(exc, ConnectionRefusedError) or code == errno.ECONNREFUSED:
        return ConnectionRefused(code or errno.ECONNREFUSED, message)
    if isinstance(exc, ConnectionResetError | BrokenPipeError | ConnectionAbortedError) or code in (
        errno.ECONNRESET,
        errno.EPIPE,
        errno.ECONNABORTED,
    ):
        return ConnectionReset(code or errno.ECONNRESET, message)
    if code == errno.EADDRINUSE:
        return AddressInUse(code, message)
    if code in (errno.EADDRNOTAVAIL, errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EAFNOSUPPORT):
        return AddressUnavailable(code, message)
    if code == errno.EMSGSIZE:
        return MessageTooLarge(code, message)
    return NetworkError(code, message) if code is not None else NetworkError(message)


_SOCK_NONBLOCK: int = getattr(socket, "SOCK_NONBLOCK", 0)


def nonblocking_socket(family: int, socktype: int) -> socket.socket:
    """A new non-blocking socket, created so where the OS allows (one system call fewer)."""
    sock = socket.socket(family, socktype | _SOCK_NONBLOCK)
    if not _SOCK_NONBLOCK:
        sock.setblocking(False)
    return sock


def connection_addresses(sock: socket.socket) -> tuple[Address, Address]:
    """``(local, remote)`` of a connected socket; remote is ``("", 0)`` if the peer left."""
    local = address_of(sock.getsockname())
    try:
        return local, address_of(sock.getpeername())
    except OSError:
        return local, ("", 0)


async def resolve(
    getaddrinfo: Callable[..., Awaitable[list[Any]]],
    host: str,
    port: int,
    socktype: int,
    *,
    passive: bool = False,
) -> list[Any]:
    """getaddrinfo results through the adapter's own ``getaddrinfo`` (errors translated);
    an IP literal is answered at once, without the resolver thread."""
    literal = ip_literal(host)
    if literal is not None:
        family = socket.AF_INET6 if literal.version == 6 else socket.AF_INET
        return [(family, socktype, 0, "", (host, port))]
    flags = socket.AI_PASSIVE if passive else 0
    try:
        infos = await getaddrinfo(host, port, type=socktype, flags=flags)
    except OSError as exc:
        raise translate(exc, f"resolve {host!r}") from exc
    if not infos:
        raise translate(socket.gaierror(f"no address for {host!r}"), f"resolve {host!r}")
    return infos


def listen_tcp(family: int, sockaddr: Any, host: str, port: int, backlog: int) -> socket.socket:
    """A non-blocking listening TCP socket on ``sockaddr`` (errors translated, named by
    ``host:port``). SO_REUSEADDR, so a restarted server can bind while old connections
    linger in TIME_WAIT; IPv6 sockets are IPv6-only, so ``::`` does not also claim IPv4."""
    sock = nonblocking_socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(sockaddr)
        sock.listen(backlog)
    except OSError as exc:
        sock.close()
        raise translate(exc, f"listen on {host}:{port}") from exc
    return sock


def listen_unix(path: str, mode: int | None, backlog: int) -> socket.socket:
    """A non-blocking listening Unix stream socket at ``path``, ``chmod``-ed to ``mode``.

    A socket file left there by a server that is gone (connecting to it is refused) is
    removed first, as uvicorn and asyncio do; a file that is not a socket, or a socket a
    server still listens on, is :class:`AddressInUse`."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise translate(exc, f"listen on {path}") from exc
    else:
        if not stat.S_ISSOCK(info.st_mode):
            raise AddressInUse(errno.EADDRINUSE, f"listen on {path}: not a socket, left alone")
        probe = nonblocking_socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(path)
        except ConnectionRefusedError:
            os.unlink(path)  # stale: nobody accepts there
        except BlockingIOError:  # a full backlog: somebody listens
            raise AddressInUse(errno.EADDRINUSE, f"listen on {path}: in use") from None
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise translate(exc, f"listen on {path}") from exc
        else:
            raise AddressInUse(errno.EADDRINUSE, f"listen on {path}: in use")
        finally:
            probe.close()
    sock = nonblocking_socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(path)
        if mode is not None:
            os.chmod(path, mode)
        sock.listen(backlog)
    except OSError as exc:
        sock.close()
        raise translate(exc, f"listen on {path}") from exc
    return sock


def unlink_unix(path: str, identity: tuple[int, int]) -> None:
    """Remove the socket file ``listen_unix`` made (``identity``: its device
    and inode then), unless another one has taken its place since."""
    try:
        info = os.lstat(path)
        if (info.st_dev, info.st_ino) == identity:
            os.unlink(path)
    except OSError:
        pass


def file_identity(path: str) -> tuple[int, int]:
    """``(device, inode)`` of ``path``."""
    info = os.lstat(path)
    return info.st_dev, info.st_ino


def listening_socket(fd: int) -> socket.socket:
    """The listening stream socket (TCP or Unix) on the inherited file descriptor ``fd``,
    made non-blocking; :class:`NetworkError` naming the problem if ``fd`` is not one."""
    try:
        sock = socket.socket(fileno=fd)
    except OSError as exc:
        raise translate(exc, f"file descriptor {fd}") from exc
    try:
        if sock.type != socket.SOCK_STREAM or not sock.getsockopt(
            socket.SOL_SOCKET, socket.SO_ACCEPTCONN
        ):
            raise NetworkError(f"file descriptor {fd} is not a listening stream socket")
        sock.setblocking(False)
    except OSError as exc:
        sock.detach()  # not ours to close
        raise translate(exc, f"file descriptor {fd}") from exc
    return sock


def bind_udp(family: int, sockaddr: Any, host: str, port: int) -> socket.socket:
    """A non-blocking UDP socket bound to ``sockaddr`` (errors translated, named by
    ``host:port``)."""
    sock = nonblocking_socket(family, socket.SOCK_DGRAM)
    try:
        sock.bind(sockaddr)
    except OSError as exc:
        sock.close()
        raise translate(exc, f"bind udp {host}:{port}") from exc
    return sock


ICMP_ERRORS = (errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH)
"""What an ICMP error for an earlier datagram surfaces as on a UDP socket: an unconnected
endpoint ignores them, a connected one (``udp_connect``) reports them."""


def udp_recv_context(peer: Any) -> str:
    """How a failed UDP receive is named: by the connected peer, when there is one."""
    return "recv" if peer is None else f"udp {peer[0]}:{peer[1]}: port unreachable"


def connect_udp(family: int, sockaddr: Any, host: str, port: int) -> socket.socket:
    """A non-blocking UDP socket connected to ``sockaddr`` (an implicit bind to a free
    local port; the kernel then filters datagrams by peer and reports ICMP errors)."""
    sock = nonblocking_socket(family, socket.SOCK_DGRAM)
    try:
        sock.connect(sockaddr)
    except OSError as exc:
        sock.close()
        raise translate(exc, f"connect udp {host}:{port}") from exc
    return sock


def check_datagram_size(data_len: int, limit: int) -> None:
    """Raise :class:`MessageTooLarge` for a payload UDP cannot carry."""
    if data_len > limit:
        raise MessageTooLarge(
            errno.EMSGSIZE, f"datagram of {data_len} bytes exceeds the {limit}-byte UDP limit"
        )
