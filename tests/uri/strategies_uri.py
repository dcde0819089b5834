"""Hypothesis strategies that build URI-references from the RFC 3986 ABNF (Appendix A),
independently of the parser's own regular expressions."""

from __future__ import annotations

import ipaddress

from hypothesis import strategies as st

ALPHA = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
DIGIT = "0123456789"
UNRESERVED = ALPHA + DIGIT + "-._~"
SUB_DELIMS = "!$&'()*+,;="
HEX = "0123456789abcdefABCDEF"

pct_encoded = st.builds(lambda a, b: "%" + a + b, st.sampled_from(HEX), st.sampled_from(HEX))


def chars(allowed: str, min_size: int = 0, max_size: int = 8) -> st.SearchStrategy[str]:
    one = st.one_of(st.sampled_from(allowed), pct_encoded)
    return st.lists(one, min_size=min_size, max_size=max_size).map("".join)


scheme = st.builds(
    lambda a, rest: a + rest,
    st.sampled_from(ALPHA),
    st.text(alphabet=ALPHA + DIGIT + "+-.", max_size=6),
) | st.sampled_from(["http", "https", "HTTP", "ftp", "ws", "urn", "mailto", "file"])

userinfo = chars(UNRESERVED + SUB_DELIMS + ":")
reg_name = chars(UNRESERVED + SUB_DELIMS) | st.sampled_from(
    ["example.com", "a", "", "localhost", "xn--bcher-kva.example", "EXAMPLE.org"]
)
dec_octet = st.integers(0, 255).map(str)
ipv4 = st.builds(lambda *o: ".".join(o), dec_octet, dec_octet, dec_octet, dec_octet)


def _v6_forms(a: ipaddress.IPv6Address) -> list[str]:
    full = a.exploded
    forms = [
        a.compressed,
        full,
        full.upper(),
        ":".join(h.lstrip("0") or "0" for h in full.split(":")),
    ]
    # with an IPv4 tail (ls32 = IPv4address)
    hi = ":".join(full.split(":")[:6])
    forms.append(hi + ":" + str(ipaddress.IPv4Address(int(a) & 0xFFFFFFFF)))
    return forms


ipv6 = st.builds(lambda a, i: _v6_forms(a)[i], st.ip_addresses(v=6), st.integers(0, 4))
zone_id = chars(UNRESERVED, min_size=1, max_size=5)
ip_literal = (
    ipv6.map(lambda a: f"[{a}]")
    | st.builds(lambda a, z: f"[{a}%25{z}]", ipv6, zone_id)
    | st.builds(
        lambda v, rest: f"[v{v}.{rest}]",
        st.text(alphabet=HEX, min_size=1, max_size=3),
        st.text(alphabet=UNRESERVED + SUB_DELIMS + ":", min_size=1, max_size=6),
    )
)
host = reg_name | ipv4 | ip_literal
port = st.integers(0, 65535).map(str) | st.just("") | st.sampled_from(["080", "00443", "0"])

segment = chars(UNRESERVED + SUB_DELIMS + ":@") | st.sampled_from([".", "..", "", ".%2E"])
segment_nz = chars(UNRESERVED + SUB_DELIMS + ":@", min_size=1)
segment_nz_nc = chars(UNRESERVED + SUB_DELIMS + "@", min_size=1) | st.sampled_from([".", ".."])
segments = st.lists(segment, max_size=4)

path_abempty = segments.map(lambda ss: "".join("/" + s for s in ss))
path_absolute = st.builds(
    lambda first, rest: "/" + first + "".join("/" + s for s in rest), segment_nz, segments
) | st.just("/")
path_noscheme = st.builds(
    lambda first, rest: first + "".join("/" + s for s in rest), segment_nz_nc, segments
)
path_rootless = st.builds(
    lambda first, rest: first + "".join("/" + s for s in rest), segment_nz, segments
)
path_empty = st.just("")

query = chars(UNRESERVED + SUB_DELIMS + ":@/?", max_size=10)
fragment = query


@st.composite
def uri_reference(
    draw: st.DrawFn, absolute: bool | None = None
) -> tuple[str, dict[str, str | None]]:
    """A URI-reference and the raw components it was built from."""
    has_scheme = draw(st.booleans()) if absolute is None else absolute
    sch = draw(scheme) if has_scheme else None
    has_auth = draw(st.booleans())
    parts: dict[str, str | None] = {"scheme": sch, "userinfo": None, "host": None, "port": None}
    if has_auth:
        parts["userinfo"] = draw(st.none() | userinfo)
        parts["host"] = draw(host)
        parts["port"] = draw(st.none() | port)
        path = draw(path_abempty)
    elif has_scheme:
        path = draw(path_absolute | path_rootless | path_empty)
    else:
        path = draw(path_absolute | path_noscheme | path_empty)
    parts["path"] = path
    parts["query"] = draw(st.none() | query)
    parts["fragment"] = draw(st.none() | fragment)
    text = ""
    if sch is not None:
        text += sch + ":"
    if has_auth:
        text += "//"
        if parts["userinfo"] is not None:
            text += parts["userinfo"] + "@"
        text += parts["host"] or ""
        if parts["port"] is not None:
            text += ":" + parts["port"]
    text += path
    if parts["query"] is not None:
        text += "?" + parts["query"]
    if parts["fragment"] is not None:
        text += "#" + parts["fragment"]
    return text, parts


uri_text = uri_reference().map(lambda t: t[0])
absolute_uri_text = uri_reference(absolute=True).map(lambda t: t[0])
