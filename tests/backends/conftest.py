"""The conformance suite also runs the asyncio adapter on uvloop, when uvloop is installed."""

from __future__ import annotations

import importlib.util

import pytest

from tests.conftest import BACKEND_NAMES, UVLOOP

NAMES = BACKEND_NAMES + ([UVLOOP] if importlib.util.find_spec("uvloop") else [])


@pytest.fixture(params=NAMES)
def backend_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)
