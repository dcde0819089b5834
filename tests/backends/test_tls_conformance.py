"""The conformance kit's flow checks on TLS over each adapter (certificates from trustme)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from backends import Backend, testing, tls
from tests.backends.conftest import TLS_NAME as NAME

pytest.importorskip("trustme", reason="trustme (the test extra) makes the certificates")


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
