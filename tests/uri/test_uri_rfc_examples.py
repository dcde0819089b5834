"""RFC 3986 §5.4: the 42 reference-resolution examples, and §5.2.4 remove_dot_segments."""

import pytest

from uri import Uri, remove_dot_segments, resolve

BASE = "http://a/b/c/d;p?q"

NORMAL = [
    ("g:h", "g:h"),
    ("g", "http://a/b/c/g"),
    ("./g", "http://a/b/c/g"),
    ("g/", "http://a/b/c/g/"),
    ("/g", "http://a/g"),
    ("//g", "http://g"),
    ("?y", "http://a/b/c/d;p?y"),
    ("g?y", "http://a/b/c/g?y"),
    ("#s", "http://a/b/c/d;p?q#s"),
    ("g#s", "http://a/b/c/g#s"),
    ("g?y#s", "http://a/b/c/g?y#s"),
    (";x", "http://a/b/c/;x"),
    ("g;x", "http://a/b/c/g;x"),
    ("g;x?y#s", "http://a/b/c/g;x?y#s"),
    ("", "http://a/b/c/d;p?q"),
    (".", "http://a/b/c/"),
    ("./", "http://a/b/c/"),
    ("..", "http://a/b/"),
    ("../", "http://a/b/"),
    ("../g", "http://a/b/g"),
    ("../..", "http://a/"),
    ("../../", "http://a/"),
    ("../../g", "http://a/g"),
]

ABNORMAL = [
    ("../../../g", "http://a/g"),
    ("../../../../g", "http://a/g"),
    ("/./g", "http://a/g"),
    ("/../g", "http://a/g"),
    ("g.", "http://a/b/c/g."),
    (".g", "http://a/b/c/.g"),
    ("g..", "http://a/b/c/g.."),
    ("..g", "http://a/b/c/..g"),
    ("./../g", "http://a/b/g"),
    ("./g/.", "http://a/b/c/g/"),
    ("g/./h", "http://a/b/c/g/h"),
    ("g/../h", "http://a/b/c/h"),
    ("g;x=1/./y", "http://a/b/c/g;x=1/y"),
    ("g;x=1/../y", "http://a/b/c/y"),
    ("g?y/./x", "http://a/b/c/g?y/./x"),
    ("g?y/../x", "http://a/b/c/g?y/../x"),
    ("g#s/./x", "http://a/b/c/g#s/./x"),
    ("g#s/../x", "http://a/b/c/g#s/../x"),
    ("http:g", "http:g"),  # strict parsers
]


def test_there_are_42():
    assert len(NORMAL) == 23 and len(ABNORMAL) == 19


@pytest.mark.parametrize(("ref", "expected"), NORMAL + ABNORMAL)
def test_resolve(ref, expected):
    base = Uri(BASE)
    got = resolve(base, ref)
    assert str(got) == expected
    assert got == Uri(expected)
    assert str(base.resolve(Uri(ref))) == expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/a/b/c/./../../g", "/a/g"),  # §5.2.4's own examples
        ("mid/content=5/../6", "mid/6"),
        ("", ""),
        ("/", "/"),
        (".", ""),
        ("..", ""),
        ("/.", "/"),
        ("/..", "/"),
        ("/a/..", "/"),
        ("a/..", "/"),
        ("../a", "a"),
        ("/a/.%2E/b", "/a/.%2E/b"),  # an escaped dot is not a dot segment
        ("/a/%2E/b", "/a/%2E/b"),
        ("/a//../b", "/a/b"),
        ("//..", "/"),
    ],
)
def test_remove_dot_segments(path, expected):
    assert remove_dot_segments(path) == expected


def test_escaped_dots_do_not_resolve():
    assert str(resolve("http://a/b/c/d", ".%2E/g")) == "http://a/b/c/.%2E/g"
    assert str(resolve("http://a/b/c/d", "%2e%2e/g")) == "http://a/b/c/%2e%2e/g"


def test_resolution_keeps_the_result_unambiguous():
    # remove_dot_segments can leave "//" at the start of a path without authority
    u = resolve("a:/b", "/..//c")
    assert Uri(str(u)) == u
    assert u.raw_host is None
    assert str(u) == "a:/.//c"
