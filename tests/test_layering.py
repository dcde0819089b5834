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


LAYERS = {
    "backends": set(),
    "cohttp": {"backends", "uri"},
    "dns": {"backends", "cohttp", "uri"},
}
"""What each package may import of the others (design.md: layers point down; dns may use
cohttp for DNS over HTTPS; cohttp never imports dns, a client gets its resolver from
outside)."""
OURS = {"backends", "cohttp", "dns", "uri", "re_engine"}
KNOWN_UPWARD: set[tuple[str, str]] = set()
"""Imports against the layers still to be removed (none left: cohttp's client gets its
resolver from outside since issue 19); an entry that is gone must leave this list."""


@pytest.mark.parametrize("package", sorted(LAYERS))
def test_layers_point_one_way(package: str) -> None:
    offenders = []
    seen_known = set()
    for path in sorted((ROOT / package).rglob("*.py")):
        where = str(path.relative_to(ROOT))
        for line, module in _imports(path):
            top = module.split(".")[0]
            if top in OURS and top != package and top not in LAYERS[package]:
                if (where, module) in KNOWN_UPWARD:
                    seen_known.add((where, module))
                    continue
                offenders.append(f"{where}:{line} imports {module}")
    assert not offenders, f"{package} may import only {sorted(LAYERS[package])}:\n" + "\n".join(
        offenders
    )
    gone = {k for k in KNOWN_UPWARD if k[0].startswith(package + "/")} - seen_known
    assert not gone, f"no longer imported, take out of KNOWN_UPWARD: {sorted(gone)}"
