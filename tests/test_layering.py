"""design.md: protocol code never imports an event loop or sockets directly."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROTOCOL_PACKAGES = ["cohttp", "dns", "uri", "re_engine"]
FORBIDDEN = {"asyncio", "trio", "socket", "selectors"}
PURE_PACKAGES = {"uri", "re_engine"}
"""Pure packages may not even use the IO interface."""


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


@pytest.mark.parametrize("package", PROTOCOL_PACKAGES)
def test_protocol_packages_do_not_import_io(package: str) -> None:
    offenders = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for line, module in _imports(path):
            top = module.split(".")[0]
            if top in FORBIDDEN or (package in PURE_PACKAGES and top in {"backends", "anyio"}):
                offenders.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert not offenders, "protocol code must go through backends.interface:\n" + "\n".join(
        offenders
    )


def test_the_check_sees_an_offender(tmp_path: Path) -> None:
    sample = tmp_path / "bad.py"
    sample.write_text("import os\nfrom asyncio import sleep\nimport trio.lowlevel\n")
    assert [m for _, m in _imports(sample)] == ["os", "asyncio", "trio.lowlevel"]
