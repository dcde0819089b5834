"""Acceleration plans (filled in below)."""

from __future__ import annotations

from typing import Any


def plan(pattern: Any) -> Any:
    return None
