"""Inputs behind urllib.parse's CVEs: each is rejected, or parsed one unambiguous way."""

import urllib.parse

import pytest

from uri import Uri, UriError


@pytest.mark.parametrize(
    ("text", "component"),
    [
        # CVE-2023-24329: leading C0 control or space made urlsplit skip scheme checks
        (" https://example.com/", "scheme"),
        ("\x00https://example.com/", "scheme"),
        ("\x1fjavascript:alert(1)", "scheme"),
        # trailing whitespace is not stripped either
        ("https://example.com/ ", "path"),
        # CVE-2022-0391 (bpo-43882): tab, CR, LF were silently removed
        ("https://www.python.org/\njavascript:alert(1)", "path"),
        ("https://www.python.org/\tx", "path"),
        ("ht\ttps://example.com/", "scheme"),
        ("https://exa\rmple.com/", "host"),
        ("https://example.com/?a=1\r\nSet-Cookie:x", "query"),
        # CVE-2024-11168: an IPv4 address, or any non-IPv6 text, in brackets
        ("http://[127.0.0.1]/", "host"),
        ("http://[localhost]/", "host"),
        ("http://[::1%eth0]/", "host"),  # a zone id needs %25 (RFC 6874)
        # CVE-2025-0938: brackets in a domain name / text before "["
        ("http://prefix[::1]/", "host"),
        ("http://[::1]suffix/", "host"),
        ("http://a[b]c/", "host"),
        ("http://[::1/", "host"),
        ("http://::1]/", "port"),
        # CVE-2019-9636, CVE-2019-10160: NFKC characters that normalise into delimiters
        ("https://example.com\uff03@bing.com/", "userinfo"),
        ("https://user\u2100@good.com/", "userinfo"),
        ("https://example.com\uff0f@evil/", "userinfo"),
        # several '@': urlsplit takes the last one as the userinfo end, others the first
        ("http://a@b@c/", "host"),
        ("http://user@evil.com@good.com/", "host"),
        # backslashes: browsers fold them to '/', urllib keeps them in the path
        ("http://evil.com\\@good.com/", "userinfo"),
        ("/\\evil.com", "path"),
        ("http:/\\/evil.com", "path"),
        # ports that urllib accepts or mis-reads
        ("http://a:65536/", "port"),
        ("http://a:-80/", "port"),
        ("http://a:+80/", "port"),
        ("http://a:८०/", "port"),  # non-ASCII digits (int() accepts them)
        ("http://a:80:80/", "port"),
        # bad escapes
        ("http://a/%", "path"),
        ("http://a/%zz", "path"),
        ("http://a/?%1", "query"),
    ],
)
def test_rejected(text, component):
    with pytest.raises(UriError) as ei:
        Uri.parse(text)
    assert ei.value.component == component


def test_semicolon_is_not_a_query_separator():
    # CVE-2021-23336: parse_qsl split on ';' as well as '&', so proxies and apps disagreed
    u = Uri("https://example.com/?a=1;b=2&c=3")
    assert u.query.pairs() == [("a", "1;b=2"), ("c", "3")]
    assert u.query.get("b") is None
    # and building a query never writes a bare ';' inside a value
    v = u.with_query([("a", "1;b=2")])
    assert v.raw_query == "a=1%3Bb%3D2"


def test_no_comma_splitting_and_plus_is_literal():
    u = Uri("http://h/?tags=a,b&q=1+1")
    assert u.query.getall("tags") == ["a,b"]
    assert u.query["q"] == "1+1"
    assert u.query_params(form=True)["q"] == "1 1"


def test_network_path_reference_is_unambiguous():
    # open-redirect checks go wrong when "//host" is taken for a path
    u = Uri("//evil.com/x")
    assert u.raw_scheme is None and u.host == "evil.com" and u.path == "/x"
    assert Uri("/x").host is None
    # an encoded slash stays data
    w = Uri("/%2F%2Fevil.com")
    assert w.host is None and w.path == "/%2F%2Fevil.com"
    assert w.path_segments == ("", "//evil.com")


def test_userinfo_and_host_split_at_the_only_at_sign():
    u = Uri("http://user:pa%40ss@good.com/")
    assert u.host == "good.com" and u.user == "user" and u.password == "pa@ss"


def test_urlsplit_disagrees_where_we_reject():
    # documents the difference: urllib accepts these silently
    for text in (" https://example.com/", "https://www.python.org/\njavascript:alert(1)"):
        urllib.parse.urlsplit(text)  # no error there
        with pytest.raises(UriError):
            Uri(text)


def test_ipv6_forms_that_are_accepted():
    assert Uri("http://[::1]:8080/").host == "::1"
    assert Uri("http://[fe80::1%25eth0]/").zone_id == "eth0"
    assert Uri("http://[v1.fe80::a+en1]/").host_kind == "ipvfuture"
