"""The asyncio adapter's ``serve`` when a reply finds the socket's send buffer full.

On loopback the kernel never reports a full UDP send buffer (a datagram leaves the
sender's accounting as it is queued at the receiver), so a socket whose ``sendto`` (and,
where batches are used, ``sendmmsg``) says EAGAIN a few times stands in for a busy link:
the replies kept meanwhile go out in order, reading pauses until they have, and every
datagram is answered. Both ways of serving: ``recvmmsg``/``sendmmsg`` batches, and the
``recvfrom``/``sendto`` loop of platforms without them.
"""

from __future__ import annotations

import asyncio
import ctypes
import errno
import socket
from typing import Any

import pytest

import backends
from backends import _mmsg
from backends._common import DATAGRAM_BATCH
from backends.asyncio_backend import AsyncioDatagram


class _FullForAWhile(socket.socket):
    """A UDP socket whose send buffer is "full" for the next ``full`` sends."""

    __slots__ = ("full", "refused")

    def sendto(self, data: Any, *args: Any) -> int:  # type: ignore[override]
        if self.full:
            self.full -= 1
            self.refused += 1
            raise BlockingIOError
        return super().sendto(data, *args)


def _full_batches(batch: _mmsg.DatagramBatch, sock: _FullForAWhile) -> None:
    """``sendmmsg`` on ``batch`` says EAGAIN while ``sock`` is "full", and otherwise sends
    at most two replies per call (a partial send, resumed where it stopped)."""
    real = batch._sendmmsg

    def sendmmsg(fd: int, vector: int, count: int, flags: int) -> int:
        if sock.full:
            sock.full -= 1
            sock.refused += 1
            ctypes.set_errno(errno.EAGAIN)
            return -1
        return int(real(fd, vector, min(count, 2), flags))

    batch._sendmmsg = sendmmsg


@pytest.mark.parametrize("batches", [True, False], ids=["mmsg", "sendto"])
def test_replies_that_find_no_room_wait_and_go_out_in_order(
    batches: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if batches and not _mmsg.AVAILABLE:
        pytest.skip("no recvmmsg/sendmmsg on this platform")
    monkeypatch.setattr(_mmsg, "AVAILABLE", batches)

    async def main(net: backends.Backend) -> None:
        sock = _FullForAWhile(socket.AF_INET, socket.SOCK_DGRAM)
        sock.full = sock.refused = 0
        sock.setblocking(False)
        sock.bind(("127.0.0.1", 0))
        server = AsyncioDatagram(asyncio.get_running_loop(), sock, socket.AF_INET)
        if batches:
            server._batch = _mmsg.DatagramBatch(sock, DATAGRAM_BATCH)
            _full_batches(server._batch, sock)
        async with (
            server,
            await net.udp_bind("127.0.0.1", 0) as client,
            net.task_group() as tg,
        ):
            tg.start_soon(server.serve, lambda data, source: data.upper())
            with net.fail_after(5):
                for burst in range(3):
                    sock.full = 3
                    for i in range(20):
                        await client.send(b"q%d.%d" % (burst, i), server.address)
                    for i in range(20):
                        reply = await client.recv()
                        assert reply == (b"Q%d.%d" % (burst, i), server.address)
                assert sock.refused == 9
                assert not server._backlog and server._reader_registered
                assert not server._writer_registered
            tg.cancel_scope.cancel()

    backends.run(main, backend="asyncio")
