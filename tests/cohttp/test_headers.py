"""cohttp.headers: the cache of validated fields stays bounded."""

from __future__ import annotations

from cohttp import headers as module
from cohttp.headers import Headers


def test_the_validation_cache_keeps_only_short_fields() -> None:
    """Long values are validated every time rather than remembered: the cache of validated
    pairs stays small whatever fields a program builds from what peers send."""
    module._VALID.clear()
    Headers([("x-long", "v" * 10_000), ("x-short", "v")])
    assert ("x-short", "v") in module._VALID
    assert ("x-long", "v" * 10_000) not in module._VALID
    assert all(len(n) + len(v) <= module._VALID_LONGEST for n, v in module._VALID)
