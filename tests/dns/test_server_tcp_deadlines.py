"""The TCP session's one cancel scope (``AuthServer._tcp_session``): a busy connection
outlives many idle timeouts (the deadline moves with its queries), and once it falls
silent it is closed within the idle timeout and its slack (a quarter of the shorter
timeout)."""

from __future__ import annotations

import backends
from tests.dns.test_server_net import LOCAL, Reader, diff_server, framed, query


async def test_a_busy_connection_stays_and_a_silent_one_goes(backend: backends.Backend) -> None:
    server = diff_server(tcp_idle_timeout=0.2, tcp_message_timeout=0.2)
    async with server.running(backend, LOCAL, 0) as (_udp, tcp):
        flow = await backend.tcp_connect(LOCAL, tcp[1])
        async with flow:
            reader = Reader(flow)
            start = backend.now()
            msg_id = 0
            with backend.fail_after(10):
                while backend.now() - start < 0.8:  # four idle timeouts
                    msg_id += 1
                    await flow.write(framed(query("www.diff.test.", msg_id=msg_id)))
                    reply = await reader.message()
                    assert reply is not None and reply[:2] == msg_id.to_bytes(2, "big")
                    await backend.sleep(0.05)
                assert server.tcp_count == 1
                silent = backend.now()
                assert await reader.message() is None  # closed by the server
                waited = backend.now() - silent
            assert 0.15 < waited < 0.2 + 0.05 + 0.5, waited  # idle + slack (+ scheduling)
