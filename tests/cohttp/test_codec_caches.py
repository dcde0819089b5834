"""The codec's module-level caches give what computing afresh gives, whatever came before.

Each cache here once had a key that did not capture everything its value depends on; each
test feeds the input that poisoned it, then checks the plain input still gets its own bytes.
The parser's memo and request-line cache are checked against h11 in test_h11_differential.
"""

from __future__ import annotations

import enum
import types

import pytest

from cohttp import codec


class _Named(enum.IntEnum):
    """An int status whose str() is not its number (a program's own enum)."""

    NON_AUTHORITATIVE = 203

    def __str__(self) -> str:
        return self.name


def test_status_line_of_an_int_subclass_writes_the_number_and_leaves_the_cache_clean() -> None:
    assert codec.status_line(_Named.NON_AUTHORITATIVE) == (
        b"HTTP/1.1 203 Non-Authoritative Information\r\n"
    )
    # 203 and _Named.NON_AUTHORITATIVE are equal keys: the cached line must be the number's
    assert codec.status_line(203) == b"HTTP/1.1 203 Non-Authoritative Information\r\n"
    assert codec.status_line(_Named.NON_AUTHORITATIVE, codec.HTTP_1_0) == (
        b"HTTP/1.0 203 Non-Authoritative Information\r\n"
    )


@pytest.mark.parametrize("status", [202.0, True, "202", None])
def test_status_line_refuses_what_is_not_an_int(status: object) -> None:
    with pytest.raises(ValueError, match="must be an int"):
        codec.status_line(status)  # type: ignore[arg-type]
    assert codec.status_line(202) == b"HTTP/1.1 202 Accepted\r\n"


@pytest.mark.parametrize("version", ["HTTP/1.1\r\nX: y", "", "HTTP/11"])
def test_status_line_refuses_a_malformed_version(version: str) -> None:
    with pytest.raises(ValueError, match=r"is not HTTP/x\.y"):
        codec.status_line(200, version)


def test_date_line_follows_the_clock_back(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1_000_000_000.25]  # Sun, 09 Sep 2001 01:46:40 GMT
    monkeypatch.setattr(codec, "time", types.SimpleNamespace(time=lambda: now[0]))
    for name in ("_date_from", "_date_until", "_date_line"):  # restored after the test
        monkeypatch.setattr(codec, name, getattr(codec, name))
    assert codec.date_line() == b"date: Sun, 09 Sep 2001 01:46:40 GMT\r\n"
    now[0] += 0.7  # the same second: the cached line
    assert codec.date_line() == b"date: Sun, 09 Sep 2001 01:46:40 GMT\r\n"
    now[0] += 1.0
    assert codec.date_line() == b"date: Sun, 09 Sep 2001 01:46:41 GMT\r\n"
    now[0] -= 3600.0  # the clock is set back an hour: the line follows at once
    assert codec.date_line() == b"date: Sun, 09 Sep 2001 00:46:41 GMT\r\n"
