"""dns.zone: the master-file reader, load-time validation, serial arithmetic, and the
``python -m dns check`` command."""

from __future__ import annotations

import os
from pathlib import Path

import dnslib
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dns import wire
from dns.__main__ import main as cli
from dns.answer import lookup
from dns.records import SVCBRecord
from dns.zone import (
    ZoneError,
    load_zone_file,
    parse_ttl,
    parse_zone_text,
    serial_gt,
    serial_lt,
)

HEAD = """$ORIGIN example.test.
$TTL 1h
@ IN SOA ns1 hostmaster ( 42 ; serial
      2h 30m 2w 5m )
  NS ns1
ns1 A 192.0.2.1
"""


def records(zone_text: str, origin: str | None = None) -> dict[tuple[str, str], list[str]]:
    zone = parse_zone_text(zone_text, origin)
    out: dict[tuple[str, str], list[str]] = {}
    for rs in zone.rrsets():
        for rd in rs.rdatas:
            if not rd:
                continue  # dnslib cannot read empty rdata back
            rr = dnslib.RR(wire.name_to_text(rs.name), rs.rtype, ttl=rs.ttl, rdata=dnslib.RD(rd))
            packed = dnslib.DNSRecord(rr=[rr]).pack()
            text = str(dnslib.DNSRecord.parse(packed).rr[0].rdata)
            out.setdefault((wire.name_to_text(rs.name), wire.type_to_text(rs.rtype)), []).append(
                f"{rs.ttl} {text}"
            )
    return out


def test_directives_and_syntax() -> None:
    text = (
        HEAD
        + """
www          300 IN A 192.0.2.10   ; TTL then class
             IN 600 AAAA 2001:db8::10 ; blank owner: www again, class then TTL
txt          TXT "a; not a comment" "quote \\" inside" unquoted\\ word
multi        ( MX
               10 mail )
mail.example.test. A 192.0.2.25
@            MX 20 mail
esc\\.dot     A 192.0.2.77
dec\\065      A 192.0.2.78
$ORIGIN sub.example.test.
host         A 192.0.2.5
$TTL 1d2h
other        A 192.0.2.6
"""
    )
    r = records(text)
    assert r[("example.test.", "SOA")] == [
        "3600 ns1.example.test. hostmaster.example.test. 42 7200 1800 1209600 300"
    ]
    assert r[("www.example.test.", "A")] == ["300 192.0.2.10"]
    assert r[("www.example.test.", "AAAA")] == ["600 2001:db8::10"]
    txt = parse_zone_text(text).node(wire.name_from_text("txt.example.test."))
    assert txt is not None
    assert txt.rrsets[wire.TYPE_TXT].rdatas == [
        b'\x10a; not a comment\x0equote " inside\x0dunquoted word'
    ]
    assert r[("multi.example.test.", "MX")] == ["3600 10 mail.example.test."]
    assert r[("example.test.", "MX")] == ["3600 20 mail.example.test."]
    assert ("esc\\.dot.example.test.", "A") in r
    assert ("decA.example.test.", "A") in r
    assert r[("host.sub.example.test.", "A")] == ["3600 192.0.2.5"]
    assert r[("other.sub.example.test.", "A")] == [f"{86400 + 7200} 192.0.2.6"]


def test_rfc3597_and_dname_and_more_types() -> None:
    text = (
        HEAD
        + """
unk    TYPE65280 \\# 3 abcdef
empty  TYPE65281 \\# 0
a3597  A \\# 4 C0000201
old    DNAME new.example.net.
srv    SRV 1 2 3 www
caa    CAA 0 issue "ca.example"
sshfp  SSHFP 1 1 dd465c09cfa51fb45020cc83316fff21b9ec74ac
ds     DS 12345 8 2 ( 49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE
                      51DE5C3F1B7A8F0A2A2C4B3F5E9A )
hinfo  HINFO "PDP-11" UNIX
naptr  NAPTR 100 10 "u" "E2U+sip" "!^.*$!sip:info@example.test!" .
rp     RP hostmaster.example.test. txt
svc    HTTPS 1 . alpn="h2,h3" port=8443
loc    LOC 52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000m 10m
"""
    )
    zone = parse_zone_text(text)
    node = zone.node(wire.name_from_text("unk.example.test."))
    assert node is not None and node.rrsets[65280].rdatas == [b"\xab\xcd\xef"]
    assert zone.nodes[(b"empty", b"example", b"test")].rrsets[65281].rdatas == [b""]
    assert zone.nodes[(b"a3597", b"example", b"test")].rrsets[1].rdatas == [b"\xc0\x00\x02\x01"]
    dname = zone.nodes[(b"old", b"example", b"test")].rrsets[wire.TYPE_DNAME].rdatas[0]
    assert wire.wire_to_name(dname) == (b"new", b"example", b"net")
    r = records(text)
    assert r[("srv.example.test.", "SRV")] == ["3600 1 2 3 www.example.test."]
    assert r[("caa.example.test.", "CAA")] == ['3600 0 issue "ca.example"']
    assert r[("ds.example.test.", "DS")][0].startswith("3600 12345 8 2 49FD46E6")
    assert r[("hinfo.example.test.", "HINFO")] == ["3600 \\# 12 065044502D313104554E4958"]
    assert len(r[("naptr.example.test.", "NAPTR")]) == 1
    assert r[("rp.example.test.", "RP")] == ["3600 hostmaster.example.test. txt.example.test."]
    assert ("svc.example.test.", "HTTPS") in r and ("loc.example.test.", "LOC") in r


def test_agrees_with_dnslib_parser() -> None:
    """Where dnslib's own zone parser works, it reads the same records as ours."""
    text = (
        HEAD
        + """
www    300 IN A 192.0.2.10
www    IN AAAA 2001:db8::10
mail   MX 10 www
txt    TXT "hello world" "two"
alias  CNAME www
srv    SRV 0 5 5060 www.example.test.
ptr    PTR www.example.test.
"""
    )
    # (dnslib compresses the SOA's names against each other, and leaves SRV targets
    # relative: the SOA is left out and the SRV target written absolute.)
    ours = set()
    zone = parse_zone_text(text)
    for rs in zone.rrsets():
        if rs.rtype == wire.TYPE_SOA:
            continue
        for rd in rs.rdatas:
            ours.add((wire.name_to_text(rs.name).lower(), rs.rtype, rs.ttl, rd))
    theirs = set()
    for rr in dnslib.RR.fromZone(text):
        if rr.rtype == dnslib.QTYPE.SOA:
            continue
        buf = dnslib.DNSBuffer()
        rr.rdata.pack(buf)
        theirs.add((str(rr.rname).lower(), rr.rtype, rr.ttl, bytes(buf.data)))
    assert ours == theirs


def test_include_with_origin_and_relative_path(tmp_path: Path) -> None:
    (tmp_path / "inc").mkdir()
    (tmp_path / "inc" / "hosts.zone").write_text("h1 A 192.0.2.1\nh2 A 192.0.2.2\n")
    (tmp_path / "inc" / "more.zone").write_text("$INCLUDE hosts.zone\n")
    main = tmp_path / "example.zone"
    main.write_text(
        HEAD + "$INCLUDE inc/hosts.zone lab.example.test.\n"
        "after A 192.0.2.9\n$INCLUDE inc/more.zone\n"
    )
    zone = load_zone_file(str(main))
    names = {wire.name_to_text(rs.name) for rs in zone.rrsets()}
    # The include's origin does not leak: 'after' is relative to example.test. again.
    assert {
        "h1.lab.example.test.",
        "h2.lab.example.test.",
        "after.example.test.",
        "h1.example.test.",
    } <= names
    assert os.path.join(str(tmp_path), "inc", "hosts.zone") in zone.files


def test_include_errors_name_file_and_line(tmp_path: Path) -> None:
    main = tmp_path / "z.zone"
    main.write_text(HEAD + "\n$INCLUDE missing.zone\n")
    with pytest.raises(ZoneError, match=r"z\.zone:8: \$INCLUDE missing\.zone"):
        load_zone_file(str(main))
    (tmp_path / "loop.zone").write_text("$INCLUDE loop.zone\n")
    main.write_text(HEAD + "$INCLUDE loop.zone\n")
    with pytest.raises(ZoneError, match="loop"):
        load_zone_file(str(main))
    (tmp_path / "bad.zone").write_text("ok A 192.0.2.1\n\nbad A 300.1.2.3\n")
    main.write_text(HEAD + "$INCLUDE bad.zone\n")
    with pytest.raises(ZoneError, match=r"bad\.zone:3: .*300\.1\.2\.3"):
        load_zone_file(str(main))


@pytest.mark.parametrize(
    ("extra", "line", "message"),
    [
        ("www CNAME ns1\nwww A 192.0.2.1\n", 7, "CNAME at www.example.test. beside other"),
        ("www CNAME ns1\nwww CNAME mail\n", 7, "more than one CNAME"),
        ("@ SOA ns1 h 1 2 3 4 5\n", 3, "more than one SOA"),
        ("sub SOA ns1 h 1 2 3 4 5\n", 7, "SOA record at sub.example.test., not at the apex"),
        ("*.w NS ns1\n", 7, "NS at the wildcard"),
        ("www BOGUS x\n", 7, "unknown record type 'BOGUS'"),
        ("www A 192.0.2\n", 7, "192.0.2"),
        ("www A 1.2.3.4 5.6.7.8\n", 7, "A takes 1 field"),
        ("www MX 70000 mail\n", 7, "MX preference 70000 is over 65535"),
        ("www CH A 192.0.2.1\n", 7, "only IN is served"),
        ("www 1x A 192.0.2.1\n", 7, "unknown record type '1x'"),
        ("www ( A 192.0.2.1\n", 7, "unbalanced"),
        ("www A 192.0.2.1 )\n", 7, "')' without '('"),
        ('www TXT "open\n', 7, "unterminated quoted string"),
        (f'www TXT "{"x" * 256}"\n', 7, "256 bytes"),
        ("www TYPE99999 \\# 0\n", 7, "type number 99999 is over 65535"),
        ("www TYPE65280 \\# 3 abcd\n", 7, "says 3 bytes but has 2"),
        (f"{'a' * 64} A 192.0.2.1\n", 7, "label of 64 octets"),
        ("$FOO bar\n", 7, "unknown directive"),
        ("www AXFR x\n", 7, "not a type a zone can hold"),
    ],
)
def test_validation_errors(extra: str, line: int, message: str) -> None:
    with pytest.raises(ZoneError) as info:
        parse_zone_text(HEAD + extra, filename="test.zone")
    assert f"test.zone:{line}: " in str(info.value)
    assert message in str(info.value)
    assert info.value.line == line and info.value.filename == "test.zone"


def test_missing_soa_ns_ttl_origin() -> None:
    with pytest.raises(ZoneError, match="no SOA"):
        parse_zone_text("$ORIGIN x.test.\n$TTL 1\nwww A 192.0.2.1\n")
    with pytest.raises(ZoneError, match="no NS records at the apex"):
        parse_zone_text("$ORIGIN x.test.\n$TTL 1\n@ SOA a b 1 2 3 4 5\n")
    with pytest.raises(ZoneError, match="no TTL"):
        parse_zone_text("$ORIGIN x.test.\nwww A 192.0.2.1\n")
    with pytest.raises(ZoneError, match="relative name 'www' without an origin"):
        parse_zone_text("$TTL 5\nwww A 192.0.2.1\n")
    # The SOA's MINIMUM serves as TTL when nothing else does (the SOA's own line);
    # then the previous TTL carries over (RFC 1035).
    zone = parse_zone_text("$ORIGIN x.test.\n@ SOA a b 1 2 3 4 5\n@ NS a\na A 192.0.2.1\n")
    assert zone.soa.ttl == 5 and zone.negative_ttl == 5
    # Without an origin argument, the apex is the SOA's owner.
    assert parse_zone_text(
        "x.test. 5 SOA a.x.test. b.x.test. 1 2 3 4 5\nx.test. 5 NS a.x.test.\n"
    ).origin == (b"x", b"test")


def test_zone_model() -> None:
    zone = parse_zone_text(
        HEAD + "a.b.c A 192.0.2.1\nsub NS ns.sub\nns.sub A 192.0.2.2\n"
        "www A 192.0.2.3\nwww A 192.0.2.3\nwww 60 A 192.0.2.4\n"
    )
    assert zone.serial == 42 and zone.negative_ttl == 300
    assert zone.cuts == {(b"sub", b"example", b"test")}
    ent = zone.node(wire.name_from_text("B.C.example.test."))
    assert ent is not None and not ent.rrsets  # empty non-terminals exist
    www = zone.node(wire.name_from_text("www.example.test."))
    assert www is not None
    rs = www.rrsets[wire.TYPE_A]
    assert rs.ttl == 3600 and len(rs.rdatas) == 2  # duplicate dropped, first TTL kept
    assert zone.soa_fields()[2:] == (42, 7200, 1800, 1209600, 300)
    assert next(zone.rrsets()).rtype == wire.TYPE_SOA


def test_parse_ttl() -> None:
    assert parse_ttl("0") == 0 and parse_ttl("1w2d3h4m5s") == 604800 + 172800 + 10800 + 245
    assert parse_ttl("1H") == 3600
    assert parse_ttl("1h2") == 3602  # trailing digits are seconds
    for bad in ("", "h", "1x", "h1", "4294967296", "1hh"):
        with pytest.raises(ValueError):
            parse_ttl(bad)


def test_serial_arithmetic_rfc1982() -> None:
    assert serial_lt(1, 2) and not serial_lt(2, 1) and not serial_lt(5, 5)
    assert serial_lt(0xFFFFFFFF, 0) and serial_gt(0, 0xFFFFFFFF)
    assert serial_lt(0xFFFFFF00, 0x100)
    # Exactly half way round: undefined, neither is greater.
    assert not serial_lt(0, 0x80000000) and not serial_gt(0, 0x80000000)
    assert serial_lt(0, 0x7FFFFFFF)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 0xFFFFFFFF), st.integers(1, 0x7FFFFFFF))
def test_serial_increment_is_greater(s: int, step: int) -> None:
    assert serial_gt((s + step) & 0xFFFFFFFF, s) and serial_lt(s, (s + step) & 0xFFFFFFFF)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=' \t\n();"\\$@.aAzZ019-*', max_size=80))
def test_garbage_text_raises_only_zone_errors(text: str) -> None:
    try:
        parse_zone_text(HEAD + text, filename="fuzz.zone")
    except ZoneError as exc:
        assert str(exc).startswith("fuzz.zone")


def test_demo_zone_loads() -> None:
    path = os.path.join(
        os.path.dirname(__file__), "..", "..", "examples", "zones", "ocaml.test.zone"
    )
    zone = load_zone_file(path)
    assert wire.name_to_text(zone.origin) == "ocaml.test."
    assert (b"infra", b"ocaml", b"test") in zone.cuts


def test_check_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.zone"
    good.write_text(HEAD + "www A 192.0.2.1\n")
    bad = tmp_path / "bad.zone"
    bad.write_text(HEAD + 'www CNAME ns1\nwww TXT "x"\n')
    assert cli(["check", str(good)]) == 0
    out = capsys.readouterr().out
    assert "zone example.test. serial 42" in out and "OK" in out
    assert cli(["check", str(good), str(bad)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}:7: CNAME at www.example.test. beside other data (TXT)" in err


def test_svcb_alpn_escapes_round_trip_as_bind_prints_them() -> None:
    # RFC 9460 Appendix A.1: a comma or backslash inside an alpn id is escaped at the list
    # level and again at the character-string level; BIND prints "f\\\\oo\\,bar,h2".
    zone = parse_zone_text(
        "$ORIGIN s.test.\n$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\n"
        'x SVCB 16 foo.example.org. alpn="f\\\\\\\\oo\\\\,bar,h2"\n'
    )
    rdata = zone.nodes[(b"x", b"s", b"test")].rrsets[wire.TYPE_SVCB].rdatas[0]
    text = SVCBRecord.parse(rdata, 0, len(rdata)).to_text()
    assert text == '16 foo.example.org. alpn="f\\\\\\\\oo\\\\,bar,h2"'
    again = parse_zone_text(
        f"$ORIGIN s.test.\n$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nx SVCB {text}\n"
    )
    assert again.nodes[(b"x", b"s", b"test")].rrsets[wire.TYPE_SVCB].rdatas == [rdata]
    assert b"\x08f\\oo,bar\x02h2" in rdata


def test_occluded_data_loads_but_is_never_answered_from(caplog: pytest.LogCaptureFixture) -> None:
    # BIND and NSD load data below a DNAME or at/below a zone cut; it is occluded.
    zone = parse_zone_text(
        HEAD + 'old DNAME new.example.\nx.old A 192.0.2.1\nsub NS ns.sub\nsub TXT "x"\n'
        "ns.sub A 192.0.2.53\nx.sub MX 1 a\n"
    )
    assert (
        "below the DNAME" in caplog.text
        and "TXT at sub.example.test. is at the zone cut" in caplog.text
    )
    assert "MX at x.sub.example.test. is below the zone cut" in caplog.text
    name = wire.name_from_text
    below_dname = lookup(zone, name("x.old.example.test."), wire.TYPE_A)
    assert [wire.type_to_text(rs.rtype) for _, rs, _ in below_dname.answer.items] == [
        "DNAME",
        "CNAME",
    ]
    for qname, qtype in (
        ("sub.example.test.", wire.TYPE_TXT),
        ("x.sub.example.test.", wire.TYPE_MX),
    ):
        referral = lookup(zone, name(qname), qtype)
        assert not referral.answer.items and not referral.aa
        assert [rs.rtype for _, rs, _ in referral.authority.items] == [wire.TYPE_NS]


def test_svcb_ohttp_is_a_flag_key() -> None:
    # RFC 9540 (ohttp, key 8) takes no value; BIND 9.18 does not know it yet.
    text = "$ORIGIN s.test.\n$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nx HTTPS 1 . alpn=h2 ohttp\n"
    rdata = parse_zone_text(text).nodes[(b"x", b"s", b"test")].rrsets[wire.TYPE_HTTPS].rdatas[0]
    assert rdata.endswith(b"\x00\x01\x00\x03\x02h2\x00\x08\x00\x00")
    with pytest.raises(ZoneError, match="ohttp takes no value"):
        parse_zone_text(text.replace("ohttp", "ohttp=1"))
