"""The conformance suite also runs the asyncio adapter on uvloop, when uvloop is installed;
TLS tests share one certificate pair (:func:`certs`)."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import BACKEND_NAMES, UVLOOP

NAMES = BACKEND_NAMES + ([UVLOOP] if importlib.util.find_spec("uvloop") else [])


@pytest.fixture(params=NAMES)
def backend_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


TLS_NAME = "server.test"
"""The name (with 127.0.0.1) that :func:`certs`' server certificate is issued for."""


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """(server chain and key, CA certificate), for TLS_NAME and 127.0.0.1, from trustme."""
    trustme = pytest.importorskip(
        "trustme", reason="trustme (the test extra) makes the certificates"
    )
    directory = tmp_path_factory.mktemp("tls")
    ca = trustme.CA()
    server = ca.issue_cert(TLS_NAME, "127.0.0.1")
    server.private_key_and_cert_chain_pem.write_to_path(str(directory / "server.pem"))
    ca.cert_pem.write_to_path(str(directory / "ca.pem"))
    yield directory / "server.pem", directory / "ca.pem"
