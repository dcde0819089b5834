"""`make demo` runs examples/demo.py; its --check mode serves, queries itself and exits."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("backend_name", ["asyncio", "trio"])
def test_demo_serves_and_answers_itself(backend_name: str) -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / "demo.py"),
            "--check",
            "--port",
            "0",
            "--backend",
            backend_name,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "self-check passed" in result.stdout
