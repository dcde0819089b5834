"""Properties over URIs generated from the grammar (hypothesis)."""

from __future__ import annotations

import urllib.parse

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import uri._uri as impl
from tests.uri.strategies_uri import absolute_uri_text, uri_reference, uri_text
from uri import Query, Uri, UriError, normalize, pct_decode, pct_encode, relative_to, resolve
from uri import _grammar as G

SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(uri_reference())
def test_round_trip_and_components(case):
    text, parts = case
    u = Uri.parse(text)
    assert str(u) == text
    assert u.raw_scheme == parts["scheme"]
    assert u.raw_userinfo == parts["userinfo"]
    assert u.raw_host == parts["host"]
    assert u.raw_port == parts["port"]
    assert u.raw_path == parts["path"]
    assert u.raw_query == parts["query"]
    assert u.raw_fragment == parts["fragment"]
    assert Uri(text) == u and hash(Uri(text)) == hash(u)


@SETTINGS
@given(uri_text)
def test_decoded_views_do_not_crash_and_rebuild(text):
    u = Uri.parse(text)
    u.as_dict()
    n = normalize(u)
    # the decoded views are inverses of the builders, up to normalisation
    assert normalize(u.with_path(u.path)) == n
    assert normalize(u.with_fragment(u.fragment)) == n
    assert u.with_path_segments(u.path_segments).path_segments == u.path_segments
    if u.raw_query is not None:
        assert normalize(u.with_query(u.query_string)) == n
    if u.raw_userinfo is not None:
        assert normalize(u.with_userinfo(u.userinfo)) == n
    if u.host_kind == "reg-name":
        assert normalize(u.with_host(u.host)) == n
    if u.host_kind in ("ipv4", "ipv6", "ipvfuture"):
        assert normalize(u.with_host(u.host)) == n


@SETTINGS
@given(uri_text)
def test_normalize_is_idempotent(text):
    once = normalize(text)
    assert normalize(once) == once
    assert Uri(str(once)) == once


@settings(max_examples=300, deadline=None)
@given(absolute_uri_text, uri_text, absolute_uri_text)
def test_relative_to_inverts_resolve(base, ref, other):
    b = Uri(base)
    for target in (resolve(b, ref), resolve(other, ref), resolve(other, other)):
        if resolve(target, target) != target:
            continue  # dot segments left by an empty ref: no reference resolves to that
        r = relative_to(b, target)
        assert resolve(b, r) == target, (base, str(target), str(r))
        assert len(str(r)) <= len(str(target))


@SETTINGS
@given(absolute_uri_text, uri_text)
def test_resolve_gives_valid_uri(base, ref):
    t = resolve(base, ref)
    assert Uri(str(t)) == t
    assert t.raw_scheme is not None
    if Uri(ref).raw_path or Uri(ref).raw_scheme or Uri(ref).raw_host is not None:
        # a non-empty ref's path is always resolved: no dot segment is left
        p = t.raw_path
        assert impl.remove_dot_segments(p) == p or p.startswith("/.//")


def rfc_remove_dot_segments(path: str) -> str:
    """RFC 3986 §5.2.4 written out literally (the oracle)."""
    inp, out = path, ""
    while inp:
        if inp.startswith("../"):
            inp = inp[3:]
        elif inp.startswith("./") or inp.startswith("/./"):
            inp = inp[2:]
        elif inp == "/.":
            inp = "/"
        elif inp.startswith("/../"):
            inp = inp[3:]
            out = out[: out.rfind("/")] if "/" in out else ""
        elif inp == "/..":
            inp = "/"
            out = out[: out.rfind("/")] if "/" in out else ""
        elif inp in (".", ".."):
            inp = ""
        else:
            j = inp.find("/", 1)
            j = len(inp) if j < 0 else j
            out += inp[:j]
            inp = inp[j:]
    return out


@settings(max_examples=2000, deadline=None)
@given(
    st.lists(st.sampled_from(["", ".", "..", "a", "b", ".%2E", "..."]), max_size=8), st.booleans()
)
def test_remove_dot_segments_matches_rfc_text(segs, absolute):
    path = ("/" if absolute else "") + "/".join(segs)
    assert impl.remove_dot_segments(path) == rfc_remove_dot_segments(path)


ALPHABET = "aZ09:/?#[]@!$&'()*+,;=-._~% \t\n\\\"<>^`{|}é\x00\x7f"


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=20))
def test_any_text_parses_or_names_the_problem(text):
    try:
        u = Uri.parse(text)
    except UriError as e:
        assert e.component != "uri", e  # the diagnosis found the fault
        assert 0 <= e.position < len(text) or e.component == "port"
        return
    assert str(u) == text


@settings(max_examples=500, deadline=None)
@given(uri_reference(), st.sampled_from(' \t\n\x00\x7f"<>\\^`{|}é'), st.data())
def test_a_bad_character_anywhere_is_rejected(case, bad, data):
    text, _parts = case
    i = data.draw(st.integers(0, len(text)))
    with pytest.raises(UriError) as ei:
        Uri.parse(text[:i] + bad + text[i:])
    pos = ei.value.position
    # inserted inside an escape, the escape itself is reported
    assert pos == i or (text[pos] == "%" and i - 2 <= pos < i)


@settings(max_examples=500, deadline=None)
@given(uri_text)
def test_agrees_with_rfc3986_split(text):
    rfc3986 = pytest.importorskip(
        "rfc3986", reason="rfc3986 is a benchmark peer (bench extra); `make bench` installs it"
    )
    ours = Uri(text)
    theirs = rfc3986.uri_reference(text)
    # rfc3986 does not tell an empty component from an absent one
    assert ours.raw_scheme == theirs.scheme
    assert (ours.raw_authority or None) == (theirs.authority or None)
    assert ours.raw_path == (theirs.path or "")
    assert (ours.raw_query or None) == (theirs.query or None)
    assert (ours.raw_fragment or None) == (theirs.fragment or None)


@SETTINGS
@given(uri_text)
def test_agrees_with_urlsplit_on_valid_input(text):
    ours = Uri(text)
    assume(ours.raw_scheme is None or ours.raw_scheme[0].isalpha())
    try:
        sp = urllib.parse.urlsplit(text)
    except ValueError:
        return  # urllib rejects some valid IPvFuture / zone forms
    assert (ours.raw_authority or "") == sp.netloc
    assert ours.raw_path == sp.path
    assert (ours.raw_query or "") == sp.query
    assert (ours.raw_fragment or "") == sp.fragment


COMPONENTS = ["generic", "userinfo", "user", "password", "host", "path", "path_segment",
              "query", "query_key", "query_value", "fragment", "form"]  # fmt: skip
VALIDATORS = {
    "userinfo": G.USERINFO_RE,
    "user": G.USERINFO_RE,
    "password": G.USERINFO_RE,
    "host": G.REG_NAME_RE,
    "path": G.PATH_RE,
    "path_segment": G.SEGMENT_RE,
    "query": G.QUERY_RE,
    "query_key": G.QUERY_RE,
    "query_value": G.QUERY_RE,
    "fragment": G.FRAGMENT_RE,
    "generic": G.SEGMENT_RE,
    "form": G.QUERY_RE,
}


@settings(max_examples=300, deadline=None)
@given(st.text(), st.sampled_from(COMPONENTS))
def test_pct_encode_round_trips_and_fits_the_component(text, component):
    enc = pct_encode(text, component)
    assert VALIDATORS[component].match(enc)
    assert pct_decode(enc, plus=component == "form") == text
    if component == "user":
        assert ":" not in enc
    if component in ("query_key", "query_value"):
        assert not set("&=+#;") & set(enc)
    if component == "form":  # "+" is the encoded space there
        assert not set("&=#;") & set(enc) and enc.count("+") == text.count(" ")


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.text(max_size=6), st.text(max_size=6)), max_size=5),
    st.booleans(),
)
def test_query_pairs_round_trip(pairs, form):
    pairs = [(k, v) for k, v in pairs if k or v]  # a pair "=" of two empty strings
    u = Uri("http://h/p").with_query(pairs, form=form)
    assert Uri(str(u)) == u
    assert u.query_params(form=form) == Query([p for p in pairs if p != ("", "")])
