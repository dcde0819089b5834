"""The conformance kit's flow checks on TLS over each adapter (certificates from trustme)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from backends import Backend, testing, tls

trustme = pytest.importorskip("trustme", reason="trustme (the test extra) makes the certificates")

NAME = "server.test"


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """(server chain and key, CA certificate), for NAME and 127.0.0.1."""
    directory = tmp_path_factory.mktemp("tls")
    ca = trustme.CA()
    server = ca.issue_cert(NAME, "127.0.0.1")
    server.private_key_and_cert_chain_pem.write_to_path(str(directory / "server.pem"))
    ca.cert_pem.write_to_path(str(directory / "ca.pem"))
    yield directory / "server.pem", directory / "ca.pem"


@pytest.mark.parametrize("version", ["1.3", "1.2"])
@pytest.mark.parametrize("check", testing.FLOW_CHECKS, ids=lambda c: c.__name__[6:])
async def test_tls_flow(
    backend: Backend,
    certs: tuple[Path, Path],
    version: str,
    check: Callable[[testing.PairFactory, Backend], Awaitable[None]],
) -> None:
    chain, ca = certs
    server = tls.server_context(str(chain), maximum_version=version)
    client = tls.client_context(cafile=str(ca), maximum_version=version)
    pairs = testing.tls_pairs(testing.tcp_pairs(backend), backend, server, client, NAME)
    await check(pairs, backend)
