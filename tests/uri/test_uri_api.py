"""The Uri API: accessors, builders, query, percent-encoding, IDNA, normalisation, CLI."""

import copy
import json
import pickle
import subprocess
import sys

import pytest

import uri
from uri import (
    Query,
    Uri,
    UriError,
    normalize,
    pct_decode,
    pct_encode,
    relative_to,
    resolve,
)
from uri.__main__ import main

FULL = "HTTP://us%20er:p%3Aw@Example.COM:8080/a%2Fb/c%20d/%7Ee?x=1&y=%26&y=2+3#fr%20ag"


def test_accessors_raw_and_decoded():
    u = Uri.parse(FULL)
    assert str(u) == FULL and repr(u) == f"Uri({FULL!r})"
    assert (u.scheme, u.raw_scheme) == ("http", "HTTP")
    assert (u.userinfo, u.raw_userinfo) == ("us er:p%3Aw", "us%20er:p%3Aw")
    assert (u.user, u.password) == ("us er", "p:w")
    assert (u.host, u.raw_host, u.host_kind) == ("Example.COM", "Example.COM", "reg-name")
    assert (u.port, u.raw_port, u.port_or_default) == (8080, "8080", 8080)
    assert u.raw_authority == "us%20er:p%3Aw@Example.COM:8080"
    assert u.raw_path == "/a%2Fb/c%20d/%7Ee"
    assert u.path == "/a%2Fb/c d/~e"  # %2F stays: every "/" of .path is a separator
    assert u.path_segments == ("", "a/b", "c d", "~e")
    assert u.raw_query == "x=1&y=%26&y=2+3"
    assert u.query.pairs() == [("x", "1"), ("y", "&"), ("y", "2+3")]
    assert u.query.getall("y") == ["&", "2+3"] and u.query.get("y") == "&"
    assert u.query_params(form=True).getall("y") == ["&", "2 3"]
    assert u.query_string == "x=1&y=%26&y=2+3"
    assert (u.fragment, u.raw_fragment) == ("fr ag", "fr%20ag")
    assert u.request_target == "/a%2Fb/c%20d/%7Ee?x=1&y=%26&y=2+3"
    assert u.is_absolute and not u.is_relative


def test_absent_versus_empty():
    u = Uri("http://@h:/?#")
    assert (u.raw_userinfo, u.raw_port, u.raw_query, u.raw_fragment) == ("", "", "", "")
    assert u.port is None and u.port_or_default == 80
    v = Uri("http://h")
    assert (v.raw_userinfo, v.raw_port, v.raw_query, v.raw_fragment) == (None,) * 4
    assert v.query == Query() and v.request_target == "/"
    assert Uri("").raw_path == "" and Uri("").path_segments == ()


def test_hosts():
    assert Uri("http://[::1]:80/").host == "::1"
    z = Uri("http://[fe80::1%25en%30]/")
    assert z.host == "fe80::1%en0" and z.zone_id == "en0" and z.host_kind == "ipv6"
    assert Uri("http://1.2.3.4/").host_kind == "ipv4"
    assert Uri("http://1.2.3.256/").host_kind == "reg-name"  # RFC 3986 §3.2.2
    assert Uri("http://[v9.x]/").host == "[v9.x]"
    assert Uri("/p").host is None and Uri("/p").host_kind is None


def test_immutable_and_value_semantics():
    u = Uri("http://h/p")
    with pytest.raises(AttributeError):
        u.host = "x"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        u.extra = 1  # type: ignore[attr-defined]
    assert pickle.loads(pickle.dumps(u)) == u
    assert copy.copy(u) is u and copy.deepcopy(u) is u
    assert {Uri("http://h/p"): 1}[u] == 1
    assert u != "http://h/p"
    assert Uri("http://h/p") != Uri("HTTP://h/p")  # equality is textual; see normalize()


def test_builders_encode_what_they_are_given():
    u = Uri("http://h/")
    assert str(u.with_scheme("https")) == "https://h/"
    assert str(u.with_path("/a b/ç")) == "http://h/a%20b/%C3%A7"
    assert str(u.with_path("/100%")) == "http://h/100%25"
    assert str(u.with_path("/a%2Fb")) == "http://h/a%2Fb"  # a valid escape is kept
    assert str(u.with_path("/a?b#c")) == "http://h/a%3Fb%23c"
    assert str(u.with_path("x")) == "http://h/x"  # an authority needs an absolute path
    assert str(u.with_path_segments(["", "a/b", "50%"])) == "http://h/a%2Fb/50%25"
    assert str(u.with_query("a b&c")) == "http://h/?a%20b&c"
    assert str(u.with_query({"q": "a&b=c", "n": 1})) == "http://h/?q=a%26b%3Dc&n=1"
    assert str(u.with_query([("q", "a b+c"), ("flag", None)])) == "http://h/?q=a%20b%2Bc&flag"
    assert str(u.with_query([("q", "a b")], form=True)) == "http://h/?q=a+b"
    assert str(u.with_query(None)) == "http://h/"
    assert str(u.with_fragment("a b#")) == "http://h/#a%20b%23"
    assert str(u.with_userinfo("us er:pw")) == "http://us%20er:pw@h/"
    assert str(u.with_user("a:b", "c:d@")) == "http://a%3Ab:c:d%40@h/"
    assert str(u.with_port(8080)) == "http://h:8080/"
    assert str(u.with_port(8080).with_port(None)) == "http://h/"
    assert str(u.with_host("::1")) == "http://[::1]/"
    assert str(u.with_host("fe80::1%eth 0")) == "http://[fe80::1%25eth%200]/"
    assert str(u.with_host("bücher.example")) == "http://b%C3%BCcher.example/"
    assert str(u.with_host("Bücher.example", idna=True)) == "http://xn--bcher-kva.example/"
    assert str(u.with_host(None)) == "http:/"
    assert str(u.add_query("a", "1").add_query("b", "x y")) == "http://h/?a=1&b=x%20y"


def test_builders_keep_the_text_unambiguous():
    assert str(Uri("a:b").with_path("//x")) == "a:/.//x"
    assert str(Uri("").with_path("a:b")) == "./a:b"
    assert str(Uri("mailto:x").with_scheme(None)) == "x"
    assert Uri("mailto:a:b").with_scheme(None).raw_path == "./a:b"


@pytest.mark.parametrize(
    ("call", "component"),
    [
        (lambda: Uri("http://h/").with_scheme("1x"), "scheme"),
        (lambda: Uri("http://h/").with_port(65536), "port"),
        (lambda: Uri("http://h/").with_port(-1), "port"),
        (lambda: Uri("/p").with_port(80), "port"),
        (lambda: Uri("/p").with_userinfo("u"), "userinfo"),
        (lambda: Uri("http://h/").with_host("1::2::3"), "host"),
        (lambda: Uri("http://h/").with_host("[127.0.0.1]"), "host"),
        (lambda: Uri("http://h/").with_host("a b", encoded=True), "host"),
        (lambda: Uri("http://h/").with_path("/a b", encoded=True), "path"),
        (lambda: Uri("http://h/").with_query("a#b", encoded=True), "query"),
        (lambda: Uri("http://h/").with_fragment("%", encoded=True), "fragment"),
        (lambda: Uri("http://h/").with_userinfo("a@b", encoded=True), "userinfo"),
    ],
)
def test_builders_reject(call, component):
    with pytest.raises(UriError) as ei:
        call()
    assert ei.value.component == component


def test_from_parts():
    u = Uri.from_parts(
        scheme="https",
        userinfo="me",
        host="example.com",
        port=8443,
        path="/a b",
        query={"q": "x y"},
        fragment="top",
    )
    assert str(u) == "https://me@example.com:8443/a%20b?q=x%20y#top"
    assert str(Uri.from_parts(path="/a%20b", query="x=%41", encoded=True)) == "/a%20b?x=%41"
    assert str(Uri.from_parts(scheme="urn", path="isbn:123")) == "urn:isbn:123"
    with pytest.raises(UriError):
        Uri.from_parts(port=80)


def test_origin_form():
    u = Uri.parse_origin_form("/a/b?c=d")
    assert (u.raw_path, u.raw_query, u.host) == ("/a/b", "c=d", None)
    assert u == Uri("/a/b?c=d")
    w = Uri.parse_origin_form("//h/p")  # RFC 9112 absolute-path: a path, not an authority
    assert (w.raw_host, w.raw_path) == (None, "//h/p")
    for bad in ("a/b", "/a#f", "/a b", "http://h/", "*", ""):
        with pytest.raises(UriError):
            Uri.parse_origin_form(bad)


def test_query_object():
    q = Query.parse("a=1&b=2&a=3&&c&=x")
    assert q.pairs() == [("a", "1"), ("b", "2"), ("a", "3"), ("c", ""), ("", "x")]
    assert q["a"] == "1" and "c" in q and "z" not in q and len(q) == 5
    assert q.keys() == ["a", "b", "c", ""] and q.to_dict()["a"] == ["1", "3"]
    assert q.get("z") is None and q.get("z", "d") == "d"
    with pytest.raises(KeyError):
        q["z"]
    assert q.set("a", "9").pairs()[:2] == [("a", "9"), ("b", "2")]
    assert q.remove("a").getall("a") == [] and q.add("z", 1).get("z") == "1"
    assert Query({"k": "v w"}).encode() == "k=v%20w"
    assert Query({"k": "v w"}).encode(form=True) == "k=v+w"
    assert Query.parse("a=%ZZ").get("a") == "%ZZ"  # lenient here (form bodies)
    assert Query.parse("x=%FF").get("x") == "\ufffd"


def test_pct_functions():
    assert pct_encode("a b/c?d", "path") == "a%20b/c%3Fd"
    assert pct_encode("a b/c?d", "path_segment") == "a%20b%2Fc%3Fd"
    assert pct_encode("a b/c?d") == "a%20b%2Fc%3Fd"
    assert pct_encode("a b&c", "form") == "a+b%26c"
    assert pct_encode("100% %41", "path", keep_escapes=True) == "100%25%20%41"
    assert pct_encode("é") == "%C3%A9"
    assert pct_decode("%C3%A9%20+") == "é +"
    assert pct_decode("a+b", plus=True) == "a b"
    assert pct_decode("%FF") == "\ufffd"
    assert pct_encode(pct_decode("%FF", errors="surrogateescape")) == "%FF"
    assert uri.pct_decode_bytes("%FFa") == b"\xffa"
    with pytest.raises(UriError):
        pct_decode("%G1")
    assert pct_decode("%G1", strict=False) == "%G1"
    with pytest.raises(ValueError):
        pct_encode("x", "nope")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("HTTP://Example.COM:80/%7euser/./a/../b?%3a%7e#%41", "http://example.com/~user/b?%3A~#A"),
        ("https://h:443", "https://h/"),
        ("https://h:0443/x", "https://h/x"),
        ("http://h:8080", "http://h:8080/"),
        ("foo://H:/x/../y", "foo://h/y"),
        ("foo://h", "foo://h"),  # no scheme-based rule for foo
        ("http://[FE80::A%25EN0]/", "http://[fe80::a%25EN0]/"),
        ("http://%41%c3%bc.example/", "http://a%C3%BC.example/"),
        ("../a/./b", "../a/./b"),  # a relative-path reference keeps its dot segments
        ("/a/.%2E/b", "/b"),  # decoding an unreserved escape makes it a dot segment
        ("a:/..//b", "a:/.//b"),
    ],
)
def test_normalize(text, expected):
    n = normalize(text)
    assert str(n) == expected
    assert normalize(n) == n
    assert Uri(text).normalize() == n


@pytest.mark.parametrize(
    ("base", "target", "expected"),
    [
        ("http://a/b/c/d;p?q", "http://a/b/c/g", "g"),
        ("http://a/b/c/d;p?q", "http://a/b/c/d;p?q#s", "#s"),
        ("http://a/b/c/d;p?q", "http://a/b/c/d;p?y", "?y"),
        ("http://a/b/c/d;p?q", "http://a/b/c/d;p", "d;p"),
        ("http://a/b/c/d;p?q", "http://a/b/g", "../g"),
        ("http://a/b/c/d;p?q", "http://a/", "/"),
        ("http://a/b/c/d;p?q", "http://a/b/c/", "."),
        ("http://a/b/c/d;p?q", "http://g/x", "//g/x"),
        ("http://a/b/c/d;p?q", "https://a/b", "https://a/b"),
        ("http://a/b/c/d;p?q", "http://a/b/c/x:y", "./x:y"),
        ("http://a/b/c/d;p?q", "http://a/b/c/d;p?q", ""),
    ],
)
def test_relative_to(base, target, expected):
    r = relative_to(base, target)
    assert str(r) == expected
    assert resolve(base, r) == Uri(target)
    assert Uri(target).relative_to(base) == r


def test_cli(capsys):
    assert main(["parse", "http://u@h:1/p%20q?a=1+2#f"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["host"] == "h" and d["port"] == 1 and d["path"] == "/p q"
    assert d["query"] == [["a", "1+2"]] and d["raw"]["path"] == "/p%20q"
    assert main(["parse", "--form", "http://h/?a=1+2"]) == 0
    assert json.loads(capsys.readouterr().out)["query"] == [["a", "1 2"]]
    assert main(["resolve", "http://a/b/c/d;p?q", "../g"]) == 0
    assert capsys.readouterr().out == "http://a/b/g\n"
    assert main(["normalize", "HTTP://A:80"]) == 0
    assert capsys.readouterr().out == "http://a/\n"
    assert main(["relative", "http://a/b/c", "http://a/b/d"]) == 0
    assert capsys.readouterr().out == "d\n"
    assert main(["parse", "http://a b/"]) == 1
    assert "invalid host at 8" in capsys.readouterr().err


def test_cli_as_a_module():
    out = subprocess.run(
        [sys.executable, "-m", "uri", "resolve", "http://a/b/c/d;p?q", "g?y#s"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout == "http://a/b/c/g?y#s\n"


def test_non_str_input():
    with pytest.raises(TypeError):
        Uri.parse(b"http://h/")  # type: ignore[arg-type]


def test_long_hostile_input_is_linear():
    import time

    text = "http://" + "a" * 200_000 + " "
    t = time.perf_counter()
    with pytest.raises(UriError):
        Uri.parse(text)
    with pytest.raises(UriError):
        Uri.parse("http://h/" + "%4" * 100_000)
    assert time.perf_counter() - t < 1.0


def test_package_docstring_examples():
    import doctest

    assert doctest.testmod(uri).failed == 0


def test_path_segments_of_a_relative_reference():
    u = Uri("%3A/b").with_path_segments([":", "b"])
    assert str(u) == "%3A/b" and u.path_segments == (":", "b")
