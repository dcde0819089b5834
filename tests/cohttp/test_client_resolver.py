"""The client resolves host names through our stub resolver where it has to (mirage has no
system resolver) or where it is told to, on every backend."""

from __future__ import annotations

import pytest

import backends
import cohttp
from cohttp.client import Client
from dns.resolver import NXDomain, Resolver
from dns.server import AuthServer
from dns.zone import parse_zone_text

ZONE = """$ORIGIN site.test.
$TTL 300
@    SOA ns hostmaster 1 3600 600 86400 60
@    NS  ns
ns   A   127.0.0.1
www  A   127.0.0.1
www  A   127.0.0.2
alias CNAME www
"""


async def _hello(request: cohttp.Request) -> cohttp.Response:
    return cohttp.Response.text(f"hello {request.host}\n")


async def test_names_resolve_through_our_resolver(backend: backends.Backend) -> None:
    dns_server = AuthServer([parse_zone_text(ZONE)])
    http = cohttp.Server(_hello)
    _, http_port = await http.listen(backend, "127.0.0.1", 0)
    async with dns_server.running(backend, "127.0.0.1", 0) as (udp, _), backend.task_group() as tg:
        tg.start_soon(http.serve_forever)
        resolver = Resolver(backend, ["127.0.0.1"], port=udp[1], hosts=False, timeout=2)
        async with Client(backend, timeout=10, resolver=resolver) as client:
            for name in ("www.site.test", "alias.site.test"):
                response = await client.get(f"http://{name}:{http_port}/")
                assert response.status == 200
                assert await response.read() == f"hello {name}:{http_port}\n".encode()
            with pytest.raises(NXDomain):
                await client.get(f"http://nope.site.test:{http_port}/")
        await http.shutdown()


def test_which_backends_resolve_names_themselves() -> None:
    async def main(net: backends.Backend) -> bool:
        return net.resolves_names

    assert backends.run(main, backend="asyncio") is True
    assert backends.run(main, backend="trio") is True
    assert backends.run(main, backend="mirage") is False


class _Recorder:
    """An address resolver that only notes what it was asked (and knows nothing)."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def lookup_address(self, host: str, port: int = 0) -> list[tuple[str, int]]:
        self.asked.append(host)
        raise backends.ResolutionError(f"{host!r}: not in this test's table")


@pytest.mark.parametrize("host", ["nothing.invalid", "a.b.INVALID.", "invalid"])
async def test_invalid_names_fail_without_asking_anyone(
    backend: backends.Backend, host: str
) -> None:
    """RFC 6761 6.4: names under .invalid get a negative answer at once, from the client
    itself: no resolver (ours, or the system's through the backend) hears of them."""
    recorder = _Recorder()
    async with Client(backend, resolver=recorder) as client:
        with pytest.raises(backends.ResolutionError, match="invalid"):
            await client.get(f"http://{host}/")
        with pytest.raises(backends.ResolutionError, match="not in this test"):
            await client.get("http://valid.test/")
    assert recorder.asked == ["valid.test"]
