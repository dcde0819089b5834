"""Listening on a Unix socket and on an inherited descriptor (``--uds``, ``--fd``): the
optional :class:`backends.interface.SocketListening` of the kernel-socket adapters."""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path

import pytest

import backends
from backends.interface import Flow, SocketListening


def _kernel(backend: backends.Backend) -> SocketListening:
    if not isinstance(backend, SocketListening):
        assert backend.name == "mirage"  # the only adapter without kernel sockets
        pytest.skip("mirage has no kernel sockets (no --uds/--fd)")
    return backend


async def _echo_once(flow: Flow) -> None:
    await flow.write(b"echo:" + await flow.read())


def _unix_exchange(path: str, data: bytes) -> bytes:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(5)
        s.connect(path)
        s.sendall(data)
        return s.recv(100)


def _connect(path: str) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(5)
        s.connect(path)


async def test_listen_unix(backend: backends.Backend, tmp_path: Path) -> None:
    """A Unix listener has the asked mode, accepts connections (flows with a peer of
    ``("", 0)``), and removes its socket file when closed."""
    net = _kernel(backend)
    path = str(tmp_path / "s.sock")
    listener = await net.listen_unix(path, mode=0o600)
    assert listener.address == (path, 0)
    assert stat.S_ISSOCK(os.stat(path).st_mode) and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    remotes = []
    async with backend.task_group() as tg:

        async def serve_one() -> None:
            flow = await listener.accept()
            remotes.append((flow.remote, flow.local))
            await _echo_once(flow)
            await flow.close()

        tg.start_soon(serve_one)
        assert await backend.run_in_thread(_unix_exchange, path, b"hi") == b"echo:hi"
    assert remotes == [(("", 0), (path, 0))]
    await listener.close()
    assert not os.path.exists(path)


async def test_listen_unix_replaces_only_a_stale_socket(
    backend: backends.Backend, tmp_path: Path
) -> None:
    net = _kernel(backend)
    stale = str(tmp_path / "stale.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.bind(stale)  # a file left behind: nobody accepts on it
    listener = await net.listen_unix(stale)
    try:
        await backend.run_in_thread(_connect, stale)  # it is ours now
        with pytest.raises(backends.AddressInUse, match="in use"):
            await net.listen_unix(stale)  # a live one is left alone
    finally:
        await listener.close()
    regular = tmp_path / "file"
    regular.write_text("keep me")
    with pytest.raises(backends.AddressInUse, match="not a socket"):
        await net.listen_unix(str(regular))
    assert regular.read_text() == "keep me"
    with pytest.raises(backends.NetworkError):
        await net.listen_unix(str(tmp_path / "no" / "such" / "dir.sock"))


async def test_close_leaves_a_socket_file_that_replaced_ours(
    backend: backends.Backend, tmp_path: Path
) -> None:
    net = _kernel(backend)
    path = str(tmp_path / "s.sock")
    listener = await net.listen_unix(path)
    os.unlink(path)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as other:
        other.bind(path)  # another server's now
        await listener.close()
        assert os.path.exists(path)


async def test_listen_fd(backend: backends.Backend) -> None:
    """An inherited listening socket, TCP here, is served as it is."""
    net = _kernel(backend)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    address = sock.getsockname()
    listener = await net.listen_fd(sock.detach())
    assert listener.address == address
    async with backend.task_group() as tg:

        async def serve_one() -> None:
            flow = await listener.accept()
            await _echo_once(flow)
            await flow.close()

        tg.start_soon(serve_one)
        client = await backend.tcp_connect(*address)
        await client.write(b"tcp")
        assert await client.read() == b"echo:tcp"
        await client.close()
    await listener.close()


async def test_listen_fd_refuses_what_is_not_a_listening_socket(
    backend: backends.Backend, tmp_path: Path
) -> None:
    net = _kernel(backend)
    with open(tmp_path / "f", "wb") as f, pytest.raises(backends.NetworkError):
        await net.listen_fd(f.fileno())
    with socket.socket() as unbound, pytest.raises(backends.NetworkError, match="listening"):
        await net.listen_fd(unbound.fileno())
    with socket.socket(type=socket.SOCK_DGRAM) as udp, pytest.raises(backends.NetworkError):
        await net.listen_fd(udp.fileno())
