"""The demo: the seed's ocaml.org host in one process, on loopback.

Serves an echo service over TCP and UDP on the chosen backend (the same code on asyncio,
trio or mirage), prints how to reach it, and runs until interrupted. ``--check`` talks to
its own services once and exits (used by the test suite).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import backends  # noqa: E402
from backends import Backend, Flow  # noqa: E402


async def echo(flow: Flow) -> None:
    """Send back every byte until the peer half-closes."""
    while data := await flow.read():
        await flow.write(data)


async def udp_echo(endpoint: backends.DatagramEndpoint) -> None:
    """Answer every datagram with itself."""
    while True:
        data, peer = await endpoint.recv()
        await endpoint.send(data, peer)


async def self_check(net: Backend, host: str, port: int) -> None:
    """Round-trip one message over TCP and one over UDP, or raise."""
    with net.fail_after(5):
        async with await net.tcp_connect(host, port) as flow:
            await flow.write(b"hello over tcp")
            await flow.shutdown_write()
            reply = b""
            while chunk := await flow.read():
                reply += chunk
        assert reply == b"hello over tcp", reply
        async with await net.udp_bind(host, 0) as client:
            await client.send(b"hello over udp", (host, port))
            data, _ = await client.recv()
        assert data == b"hello over udp", data
    print("self-check passed: TCP and UDP echo answered")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="asyncio", choices=sorted(backends.ADAPTERS))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8007, help="TCP and UDP echo port (0: any)")
    parser.add_argument("--check", action="store_true", help="answer once, check, and exit")
    args = parser.parse_args(argv)

    async def run(net: Backend) -> None:
        try:
            listener = await net.tcp_listen(args.host, args.port)
        except backends.AddressInUse:
            listener = await net.tcp_listen(args.host, 0)
            print(f"port {args.port} is taken; using {listener.address[1]} instead")
        host, port = listener.address
        udp = await net.udp_bind(host, port)
        async with listener, udp, net.task_group() as tg:
            tg.start_soon(listener.serve, echo)
            tg.start_soon(udp_echo, udp)
            print(f"mirage-py demo on the {net.name} backend")
            print(f"  TCP echo  {host}:{port}   try: printf 'hi\\n' | nc -q1 {host} {port}")
            print(f"  UDP echo  {host}:{port}   try: printf 'hi\\n' | nc -u -w1 {host} {port}")
            sys.stdout.flush()
            if args.check:
                await self_check(net, host, port)
                tg.cancel_scope.cancel()
            else:
                print("Ctrl-C to stop.")

    try:
        backends.run(run, backend=args.backend)
    except KeyboardInterrupt:
        print("\nstopped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
