from __future__ import annotations

import backends


async def test_echo_round_trip(backend: backends.Backend) -> None:
    async def echo(flow: backends.Flow) -> None:
        while data := await flow.read():
            await flow.write(data)

    async with await backend.tcp_listen("127.0.0.1", 0) as listener, backend.task_group() as tg:
        tg.start_soon(listener.serve, echo)
        flow = await backend.tcp_connect(*listener.address)
        await flow.write(b"hello")
        assert await flow.read() == b"hello"
        await flow.close()
        tg.cancel_scope.cancel()
