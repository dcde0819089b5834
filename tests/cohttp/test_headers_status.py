"""Headers (case-insensitive ordered multi-map) and the status registry."""

from __future__ import annotations

import pytest

from cohttp.headers import Headers, InvalidHeader
from cohttp.status import Status, reason_phrase


def test_case_insensitive_multimap_keeps_order() -> None:
    h = Headers([("Set-Cookie", "a=1"), ("Content-Type", "text/html")])
    h.add("set-cookie", "b=2")
    assert h["SET-COOKIE"] == "a=1" and h.get_all("Set-Cookie") == ["a=1", "b=2"]
    assert h.items() == [
        ("Set-Cookie", "a=1"),
        ("Content-Type", "text/html"),
        ("set-cookie", "b=2"),
    ]
    assert "content-type" in h and "x" not in h and h.get("x") is None
    h.set("SET-COOKIE", "c=3")
    assert h.items() == [("SET-COOKIE", "c=3"), ("Content-Type", "text/html")]
    h.remove("content-type")
    assert len(h) == 1
    with pytest.raises(KeyError):
        h["content-type"]
    assert Headers({"A": "1"}) == Headers([("a", "1")])


def test_get_list_splits_commas() -> None:
    h = Headers([("Connection", "keep-alive, Upgrade"), ("Connection", ",close,")])
    assert h.get_list("connection") == ["keep-alive", "Upgrade", "close"]


@pytest.mark.parametrize(
    ("name", "value", "match"),
    [
        ("X", "a\r\nInjected: 1", "CR or LF"),
        ("X", "a\x00", "NUL"),
        ("X", " padded", "whitespace"),
        ("X", "\u20ac", "Latin-1"),
        ("X", "a\x07", "control"),
        ("Bad Name", "v", "token"),
        ("", "v", "token"),
    ],
)
def test_validation_names_the_problem(name: str, value: str, match: str) -> None:
    with pytest.raises(InvalidHeader, match=match):
        Headers([(name, value)])
    with pytest.raises(InvalidHeader, match=match):
        Headers().add(name, value)


def test_encode() -> None:
    assert Headers([("A", "1"), ("b", "")]).encode() == b"A: 1\r\nb: \r\n"


def test_status_registry() -> None:
    assert Status.NOT_FOUND == 404 and Status(418).phrase == "(Unused)"
    assert Status.CONTENT_TOO_LARGE.phrase == "Content Too Large"
    assert Status.OK.is_success and Status.FOUND.is_redirect and Status(503).is_server_error
    assert reason_phrase(431) == "Request Header Fields Too Large"
    assert reason_phrase(599) == "Server Error"
    with pytest.raises(ValueError, match="outside"):
        reason_phrase(600)
    assert len(Status) >= 60
