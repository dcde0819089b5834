"""Every ABNF rule of RFC 3986 Appendix A, with accepting and rejecting cases.

Each rule is exercised through a full URI-reference that puts it in its place, so the
case tests the rule *and* its context."""

import pytest

from uri import Uri, UriError


def ipv6(addr: str) -> str:
    return f"http://[{addr}]/"


def host(h: str) -> str:
    return f"http://{h}/"


RULES: dict[str, tuple[list[str], list[str]]] = {
    # rule: (accepted, rejected)
    "URI": (
        ["http://a/b?c#d", "urn:isbn:0451450523", "mailto:a@b.c", "a:", "tel:+1-816-555-1212"],
        ["http://a/b?c#d#e", "http://a/b c", "1http://a/"],
    ),
    "hier-part": (
        ["s://auth/p", "s:/abs", "s:rootless/x", "s:"],
        ["s://a b/", "s:[x]"],
    ),
    "URI-reference": (
        ["http://a", "//a", "/a", "a", "", "?q", "#f"],
        [" ", "a b", "#a#b"],
    ),
    "absolute-URI": (  # checked below: a scheme and no fragment
        ["http://a/b?c", "s:p"],
        ["http://a/b?c#d", "//a/b"],
    ),
    "relative-ref": (
        ["//a/b?c#d", "/b", "b/c", "?q", "#f", ""],
        ["//a b", "/b c", "b:c/d/../x:"],  # the last one is a URI, not a relative-ref
    ),
    "relative-part": (
        ["//auth/p", "/abs", "noscheme/x", "."],
        ["1a:b", "//[/"],
    ),
    "scheme": (
        ["a:", "z9+-.:", "HTTP://a", "A.b-c+d:x"],
        ["9a:b", "+a:b", "-a:b", ".a:b", "a_b:c", "ä:b", ":b"],
    ),
    "authority": (
        ["http://u@h:1/", "http://h/", "http://h:/", "http://@h/", "http:///p", "http://"],
        ["http://u@h@i/", "http://h:1:2/", "http://h:p/", "http://[::1]:x/"],
    ),
    "userinfo": (
        ["http://u:p@h/", "http://a!$&'()*+,;=:%41~-._@h/", "http://:@h/", "http://::@h/"],
        ["http://u[@h/", 'http://u"p@h/', "http://u%4@h/", "http://u p@h/", "http://u^@h/"],
    ),
    "host": (
        [host("example.com"), host("1.2.3.4"), ipv6("::1"), host("[v7.x]"), host("")],
        [host("exa mple"), host("a[b]"), host("[::1"), host("::1]")],
    ),
    "port": (
        ["http://h:0/", "http://h:65535/", "http://h:080/", "http://h:/"],
        [
            "http://h:65536/",
            "http://h:-1/",
            "http://h:+1/",
            "http://h:1a/",
            "http://h:99999999999999999999/",
        ],
    ),
    "IP-literal": (
        [ipv6("::"), ipv6("fe80::1%25eth0"), ipv6("fe80::a%25%65th0"), host("[v1.a]")],
        [
            host("[]"),
            host("[fe80::1%eth0]"),
            host("[fe80::1%25]"),
            host("[127.0.0.1]"),
            host("[::1]x"),
        ],
    ),
    "IPvFuture": (
        [host("[v1.x]"), host("[VF.a:b!]"), host("[v12ab.~-_]")],
        [host("[v.x]"), host("[v1.]"), host("[v1x]"), host("[vg.x]"), host("[v1.x/]")],
    ),
    "IPv6address": (
        [
            ipv6("1:2:3:4:5:6:7:8"),
            ipv6("::2:3:4:5:6:7:8"),
            ipv6("1::3:4:5:6:7:8"),
            ipv6("1:2::4:5:6:7:8"),
            ipv6("1:2:3::5:6:7:8"),
            ipv6("1:2:3:4::6:7:8"),
            ipv6("1:2:3:4:5::7:8"),
            ipv6("1:2:3:4:5:6::8"),
            ipv6("1:2:3:4:5:6:7::"),
            ipv6("::"),
            ipv6("::ffff:1.2.3.4"),
            ipv6("1:2:3:4:5:6:1.2.3.4"),
            ipv6("ABCD:ef01::"),
        ],
        [
            ipv6("1:2:3:4:5:6:7:8:9"),
            ipv6("1:2:3:4:5:6:7"),
            ipv6("1::2::3"),
            ipv6(":1:2:3:4:5:6:7"),
            ipv6("1:2:3:4:5:6:7:"),
            ipv6("12345::"),
            ipv6("g::"),
            ipv6("1:2:3:4:5:6:7:1.2.3.4"),
            ipv6("::1.2.3"),
        ],
    ),
    "h16": (
        [ipv6("0::"), ipv6("ffff::"), ipv6("0fF::")],
        [ipv6("fffff::"), ipv6("x::")],
    ),
    "ls32": (
        [ipv6("1:2:3:4:5:6:7:8"), ipv6("1:2:3:4:5:6:1.2.3.4"), ipv6("::1:2")],
        [ipv6("1:2:3:4:5:6:7"), ipv6("1:2:3:4:5:6:1.2.3")],
    ),
    "IPv4address": (  # in a bare host it is also a reg-name; in ls32 it must be exact
        [ipv6("::1.2.3.4"), ipv6("::255.255.255.255"), host("1.2.3.4")],
        [ipv6("::1.2.3.4.5"), ipv6("::1.2.3.256"), ipv6("::1.2.3.")],
    ),
    "dec-octet": (
        [ipv6("::0.9.10.99"), ipv6("::100.199.200.249"), ipv6("::250.255.0.0")],
        [ipv6("::01.0.0.0"), ipv6("::256.0.0.0"), ipv6("::300.0.0.0"), ipv6("::1000.0.0.0")],
    ),
    "reg-name": (
        [host("a-b.c_d~e"), host("%41%62"), host("a!$&'()*+,;=b"), host("xn--bcher-kva.example")],
        [host("a%4"), host("a%GG"), host("a<b"), host("bücher.example"), host("a]")],
    ),
    "path": (
        ["http://h/a/b", "/a", "a/b", "s:a", ""],
        ["/a b", "/a#b#c", "/a\\b"],
    ),
    "path-abempty": (
        ["http://h", "http://h/", "http://h//", "http://h/a/b/"],
        ["http://h/a b", "http://h/%"],
    ),
    "path-absolute": (
        ["/", "/a", "/a/", "/a//b", "s:/a"],
        ["/a\x00", "/a%"],
    ),
    "path-noscheme": (
        ["a", "a/b:c", "a@b/c", "./a:b"],
        ["a:b/c/:", "1a:b"],  # first one parses as scheme "a": tested as a relative-ref below
    ),
    "path-rootless": (
        ["s:a", "s:a:b/c", "s:@/"],
        ["s:a b", "s:a%"],
    ),
    "path-empty": (
        ["s:", "", "?q", "#f", "s:?q"],
        ["s: ", "s:\x00"],  # only "?", "#" or the end may follow an empty path
    ),
    "segment": (
        ["/a//b/", "/%41/"],
        ["/a/b c/", "/a/%4/"],
    ),
    "segment-nz": (
        ["s:x", "s:x/"],
        ["s:x y"],
    ),
    "segment-nz-nc": (
        ["x", "x@y", "x/y:z"],
        [":y", "x%3", "a b:c"],
    ),
    "pchar": (
        ["/azAZ09-._~!$&'()*+,;=:@%20"],
        ['/"', "/<", "/>", "/\\", "/^", "/`", "/{", "/|", "/}", "/ ", "/é", "/\x7f", "/[", "/]"],
    ),
    "query": (
        ["?", "?a=b&c=d", "?/?:@", "?a?b", "s:x?q", "?%20"],
        ["?a b", "?a#b#c", "?[", "?%x"],
    ),
    "fragment": (
        ["#", "#a/b?c", "#%23", "s:x#f"],
        ["#a#b", "#a b", "#[", "#%"],
    ),
    "pct-encoded": (
        ["/%00", "/%ff%FF", "?%aF", "#%7e"],
        ["/%", "/%0", "/%0g", "/%%41", "?%G0"],
    ),
    "unreserved": (
        ["/-._~aZ9", "http://-._~/"],
        ["http://a^b/", "/é", "http://a\\b/"],
    ),
    "reserved": (  # gen-delims and sub-delims, each in a place that allows it
        ["/:@!$&'()*+,;=", "?/?", "http://[::1]/"],
        ["/[", "/]"],
    ),
    "gen-delims": (
        ["s://u@h:1/p?q#f"],
        ["s://u@h:1/p?q#f#", "s://h/[", "s://u@h@g/"],
    ),
    "sub-delims": (
        ["http://!$&'()*+,;=@!$&'()*+,;=/!$&'()*+,;=?!$&'()*+,;=#!$&'()*+,;="],
        ['http://a"b/', "http://a{b/", "http://a|b/"],
    ),
}

ACCEPT = [(rule, s) for rule, (yes, _no) in RULES.items() for s in yes]
REJECT = [(rule, s) for rule, (_yes, no) in RULES.items() for s in no]

# rules where a "rejected" text is still a valid URI-reference, only not of this rule
SHAPE_ONLY = {
    ("absolute-URI", "http://a/b?c#d"),
    ("absolute-URI", "//a/b"),
    ("relative-ref", "b:c/d/../x:"),
    ("path-noscheme", "a:b/c/:"),
}


def test_every_rule_has_cases():
    rules = [
        "URI",
        "hier-part",
        "URI-reference",
        "absolute-URI",
        "relative-ref",
        "relative-part",
        "scheme",
        "authority",
        "userinfo",
        "host",
        "port",
        "IP-literal",
        "IPvFuture",
        "IPv6address",
        "h16",
        "ls32",
        "IPv4address",
        "dec-octet",
        "reg-name",
        "path",
        "path-abempty",
        "path-absolute",
        "path-noscheme",
        "path-rootless",
        "path-empty",
        "segment",
        "segment-nz",
        "segment-nz-nc",
        "pchar",
        "query",
        "fragment",
        "pct-encoded",
        "unreserved",
        "reserved",
        "gen-delims",
        "sub-delims",
    ]
    assert sorted(rules) == sorted(RULES)
    for rule in rules:
        yes, no = RULES[rule]
        assert yes and no, rule


@pytest.mark.parametrize(("rule", "text"), ACCEPT)
def test_accepts(rule, text):
    u = Uri.parse(text)
    assert str(u) == text
    if rule == "absolute-URI":
        assert u.raw_scheme is not None and u.raw_fragment is None
    if rule == "relative-ref":
        assert u.raw_scheme is None


@pytest.mark.parametrize(("rule", "text"), REJECT)
def test_rejects(rule, text):
    if (rule, text) in SHAPE_ONLY:
        u = Uri.parse(text)
        if rule == "absolute-URI":
            assert u.raw_scheme is None or u.raw_fragment is not None
        else:
            assert u.raw_scheme is not None  # it is a URI, so not a relative-ref
        return
    with pytest.raises(UriError) as ei:
        Uri.parse(text)
    e = ei.value
    assert e.component in {"scheme", "userinfo", "host", "port", "path", "query", "fragment"}
    assert 0 <= e.position < len(text)


@pytest.mark.parametrize(
    ("text", "component", "position"),
    [
        ("http://a@b@c/", "host", 10),
        ("http://a:65536/", "port", 9),
        ("http://a:8x/", "port", 10),
        ("http://x[::1]/", "host", 8),
        ("http://[::1/", "host", 7),
        ("http://[127.0.0.1]/", "host", 7),
        ("http://h/a b", "path", 10),
        ("http://h/a?b c", "query", 12),
        ("http://h/a#b#c", "fragment", 12),
        ("http://h/%4", "path", 9),
        (" http://h/", "scheme", 0),
        ("http://h/\n", "path", 9),
        ("http://u\tp@h/", "userinfo", 8),
        ("9ab:c", "scheme", 0),
        ("ht_tp://h/", "scheme", 2),
    ],
)
def test_error_names_component_and_position(text, component, position):
    with pytest.raises(UriError) as ei:
        Uri.parse(text)
    assert (ei.value.component, ei.value.position) == (component, position)
    assert component in str(ei.value)
