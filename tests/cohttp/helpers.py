"""Shared helpers for the cohttp tests: run a server in a task group, talk raw bytes."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import backends
from cohttp import Server
from cohttp.codec import (
    NEED_DATA,
    PEER_CLOSED,
    Data,
    EndOfMessage,
    ResponseHead,
    ResponseParser,
)


@contextlib.asynccontextmanager
async def running(
    net: backends.Backend, server: Server, host: str = "127.0.0.1"
) -> AsyncIterator[tuple[str, int]]:
    """Serve ``server`` on a free port of ``host`` (loopback) for the block; shut it down
    after."""
    address = await server.listen(net, host, 0)
    async with net.task_group() as tg:
        tg.start_soon(server.serve_forever)
        try:
            yield address
        finally:
            with net.move_on_after(5):
                await server.shutdown(grace=1.0)
            tg.cancel_scope.cancel()


class RawClient:
    """A byte-level client: write exactly what a test wants, parse answers with our codec."""

    def __init__(self, flow: backends.Flow) -> None:
        self.flow = flow
        self.parser = ResponseParser()

    @classmethod
    async def connect(cls, net: backends.Backend, address: tuple[str, int]) -> RawClient:
        return cls(await net.tcp_connect(*address))

    async def send(self, data: bytes, *methods: str) -> None:
        for m in methods or ("GET",):
            self.parser.expect(m)
        await self.flow.write(data)

    async def response(self) -> tuple[ResponseHead, bytes]:
        """The next final response (1xx skipped) and its whole body."""
        head: ResponseHead | None = None
        body = b""
        while True:
            ev = self.parser.next_event()
            if ev is NEED_DATA:
                data = await self.flow.read()
                if data:
                    self.parser.feed(data)
                else:
                    self.parser.feed_eof()
                continue
            if ev is PEER_CLOSED:
                raise EOFError("server closed the connection before responding")
            if isinstance(ev, ResponseHead):
                head = ev
            elif isinstance(ev, Data):
                body += ev.data
            elif isinstance(ev, EndOfMessage):
                assert head is not None
                if head.status >= 200:
                    return head, body

    async def interim(self) -> ResponseHead:
        """The next response head, which must be a 1xx."""
        while True:
            ev = self.parser.next_event()
            if ev is NEED_DATA:
                self.parser.feed(await self.flow.read())
                continue
            assert isinstance(ev, ResponseHead) and ev.status < 200, ev
            assert isinstance(self.parser.next_event(), EndOfMessage)
            return ev

    async def at_eof(self) -> bool:
        """True if the server closed (EOF or reset) with nothing more to read."""
        try:
            return await self.flow.read() == b""
        except backends.ConnectionReset:
            return True

    async def close(self) -> None:
        await self.flow.close()
