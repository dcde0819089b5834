"""IRIs (RFC 3987) to URIs and back, and the names urllib users look for."""

from __future__ import annotations

import re
import urllib.parse

import pytest
from hypothesis import given
from hypothesis import strategies as st

from uri import Query, Uri, UriError

from .strategies_uri import UNRESERVED, uri_text


def test_from_iri_maps_the_host_by_idna_and_the_rest_by_utf8_escapes():
    assert str(Uri.from_iri("http://例え.jp/")) == "http://xn--r8jz45g.jp/"
    u = Uri.from_iri("https://用户:密@Bücher.example:8080/引き/ç?q=é&r=\ue000#ü")
    assert str(u) == (
        "https://%E7%94%A8%E6%88%B7:%E5%AF%86@xn--bcher-kva.example:8080"
        "/%E5%BC%95%E3%81%8D/%C3%A7?q=%C3%A9&r=%EE%80%80#%C3%BC"
    )
    assert u.path == "/引き/ç" and u.query.get("q") == "é" and u.user == "用户"
    assert u.to_iri() == "https://用户:密@bücher.example:8080/引き/ç?q=é&r=\ue000#ü"
    # an ASCII IRI is its own URI, taken as it is (no case folding, no IDNA)
    assert (
        str(Uri.from_iri("HTTP://XN--BCHER-KVA.Example/%7e")) == "HTTP://XN--BCHER-KVA.Example/%7e"
    )
    # IP-literals, relative references, URNs
    assert str(Uri.from_iri("//[::1]:80/é")) == "//[::1]:80/%C3%A9"
    assert str(Uri.from_iri("ü/x")) == "%C3%BC/x"
    assert str(Uri.from_iri("urn:ex:ü")) == "urn:ex:%C3%BC"


@pytest.mark.parametrize(
    ("iri", "component"),
    [
        ("http://a/\u200e", "iri"),  # LEFT-TO-RIGHT MARK: RFC 3987 §4.1
        ("http://a/\u202e", "iri"),
        ("http://a/\ue000", "iri"),  # private use: only in the query
        ("http://a/\ufffe", "iri"),  # a noncharacter, not ucschar
        ("http://a/\ud800", "iri"),  # a lone surrogate
        ("http://a\ufdd0.com/", "iri"),
        ("http://a b/é", "host"),  # the strict parser has the last word
        ("http://ü<.com/", "host"),  # IDNA (as WHATWG) lets '<' through: RFC 3986 does not
        ("http://\u05d0.1/", "host"),  # the Bidi rule
        ("http://" + "ü" * 2000 + "/", "host"),  # too long to encode (no DNS length rule here)
    ],
)
def test_from_iri_refuses(iri, component):
    with pytest.raises(UriError) as e:
        Uri.from_iri(iri)
    assert e.value.component == component


def test_to_iri_keeps_what_would_not_come_back_the_same():
    # escapes of ASCII, of invalid UTF-8, of bidi formatting characters stay escapes
    u = Uri("http://h/%20%C3%A9%C3%28%E2%80%8E%F0%9F%98%80?%EE%80%80#%EE%80%80")
    assert u.to_iri() == "http://h/%20é%C3%28%E2%80%8E😀?\ue000#%EE%80%80"
    # a host whose A-labels are not in their normal form is kept as written
    assert Uri("http://XN--BCHER-KVA.example/").to_iri() == "http://XN--BCHER-KVA.example/"
    assert Uri("http://xn--ascii-.example/").to_iri() == "http://xn--ascii-.example/"
    assert Uri("http://b%C3%BCcher.example/").to_iri() == "http://b%C3%BCcher.example/"


def _upper_escapes(s: str) -> str:
    return re.sub(r"%[0-9a-fA-F]{2}", lambda m: m.group().upper(), s)


@given(uri_text)
def test_iri_round_trip_of_any_uri(text):
    # from_iri(u.to_iri()) == u for a URI that writes its escapes in uppercase hex
    u = Uri(_upper_escapes(text))
    assert Uri.from_iri(u.to_iri()) == u


IRI_CHARS = UNRESERVED + "é例え😀\u00a0\U000e1000"
iri_part = st.lists(
    st.sampled_from(IRI_CHARS) | st.sampled_from(["%C3%A9", "%20", "%E2%80%8E", "%C3"]),
    max_size=8,
).map("".join)
iri_host = st.sampled_from(
    ["example.com", "bücher.example", "例え.jp", "ουτοπία.δπθ.gr", "xn--bcher-kva.example", "[::1]"]
)


@given(
    st.sampled_from(["http", "https", "ftp"]),
    st.none() | iri_part,
    iri_host,
    st.lists(iri_part, max_size=3),
    st.none() | iri_part,
    st.none() | iri_part,
)
def test_iri_round_trip_of_iris(scheme, userinfo, host, segments, query, fragment):
    iri = scheme + "://" + (userinfo + "@" if userinfo is not None else "") + host
    iri += "".join("/" + s for s in segments)
    iri += ("?" + query if query is not None else "") + (
        "#" + fragment if fragment is not None else ""
    )
    u = Uri.from_iri(iri)
    assert str(u).isascii()
    assert Uri.from_iri(u.to_iri()) == u
    # the IRI comes back as given, but for the escapes of IRI characters, now decoded,
    # and the host's A-labels, now in Unicode
    shown = u.to_iri()
    assert shown.replace("%C3%A9", "é") == iri.replace("%C3%A9", "é").replace(
        "xn--bcher-kva", "bücher"
    )


@pytest.mark.parametrize(
    ("text", "hostname"),
    [
        ("http://User@Example.COM:8080/p", "example.com"),
        ("http://[FE80::1%25Eth0]:80/", "fe80::1%Eth0"),
        ("http://[::FFFF:1.2.3.4]/", "::ffff:1.2.3.4"),
        ("http://B%c3%bcCHER.example/", "b%C3%BCcher.example"),
        ("http://10.0.0.1/", "10.0.0.1"),
        ("mailto:a@b", None),
        ("http:///p", ""),
    ],
)
def test_hostname_as_urllib(text, hostname):
    u = Uri(text)
    assert u.hostname == hostname
    if "%" not in text:  # urllib lowercases the hex digits of escapes and zones too
        assert u.hostname == (
            urllib.parse.urlsplit(text).hostname or (None if u.host is None else "")
        )


@pytest.mark.parametrize(
    "text",
    ["http://u:p@h:80/p?q#f", "http://h", "mailto:a@b", "//h:/", "http://@h/", "file:///etc", "/p"],
)
def test_netloc_as_urllib(text):
    assert Uri(text).netloc == urllib.parse.urlsplit(text).netloc


def test_query_is_a_multimap():
    q = Uri("http://h/?a=1&b=2&a=3&c").query
    assert q.getall("a") == ["1", "3"] and q.getall("z") == []
    assert q["a"] == "1" and q.get("c") == "" and "b" in q
    # dict() keeps the first value of each key; to_dict() keeps them all, like parse_qs
    assert dict(q) == {"a": "1", "b": "2", "c": ""}
    assert q.to_dict() == {"a": ["1", "3"], "b": ["2"], "c": [""]}
    assert list(q) == urllib.parse.parse_qsl("a=1&b=2&a=3&c", keep_blank_values=True)
    assert q == Query([("a", "1"), ("b", "2"), ("a", "3"), ("c", "")])


def test_the_strict_parser_points_to_from_iri():
    with pytest.raises(UriError, match=r"non-ASCII character '例' \(U\+4F8B\).*Uri.from_iri") as e:
        Uri("http://例え.jp/")
    assert (e.value.component, e.value.position) == ("host", 7)
