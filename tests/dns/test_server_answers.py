"""The answering logic (dns.answer.Authority), sans IO: every rule of RFC 1034 §4.3.2 and
its successors, the message rules, and the prebuilt-response cache.

``DIFF_ZONE`` is also the zone of the NSD differential test (tests/interop).
"""

from __future__ import annotations

import dnslib
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dns import answer, wire
from dns.zone import parse_zone_text

LONG_TARGET = ".".join(["a" * 60, "b" * 60, "c" * 60, "d" * 50]) + ".example."
BIG_TXT = "\n".join(f'big     TXT     "{i:02d}{"x" * 90}"' for i in range(10))

DIFF_ZONE = f"""$ORIGIN diff.test.
$TTL 300
@       3600 IN SOA ns1 admin ( 2024010101 3600 900 604800 120 )
        NS      ns1
        NS      ns2.elsewhere.test.
        MX      10 mail
        MX      20 mail.elsewhere.test.
        TXT     "v=spf1 -all"
ns1     A       192.0.2.1
        AAAA    2001:db8::1
mail    A       192.0.2.2
www     A       192.0.2.3
        AAAA    2001:db8::3
        TXT     "hello" "world"
multi   TXT     "first"
multi   A       192.0.2.4
multi   MX      5 mail
alias   CNAME   www
chain1  CNAME   chain2
chain2  CNAME   chain3
chain3  CNAME   www
dangling CNAME  nothing
outside CNAME   www.example.org.
loop1   CNAME   loop2
loop2   CNAME   loop1
self    CNAME   self
a.b.c.ent A     192.0.2.5
*.wild  A       192.0.2.6
*.wild  TXT     "wild"
exists.wild A   192.0.2.7
a.deep.wild A   192.0.2.8
*.cwild CNAME   www
*.chwild CNAME  chain1
old     DNAME   new
host.new A      192.0.2.9
ext     DNAME   example.net.
long    DNAME   {LONG_TARGET}
deleg   NS      ns.deleg
deleg   NS      ns1
deleg   NS      ns.other.test.
ns.deleg A      192.0.2.10
ns.deleg AAAA   2001:db8::10
deleg   DS      12345 8 2 49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE5C3F1B7A8F0A2A2C4B3F5E9A
deleg2  NS      ns.elsewhere.test.
to-deleg CNAME  www.deleg
_sip._tcp SRV   0 5 5060 www
rev     PTR     www
hinfo   HINFO   "PDP-11" "UNIX"
caa     CAA     0 issue "ca.example"
unknown TYPE65280 \\# 4 0A000001
{BIG_TXT}
"""


@pytest.fixture(scope="module")
def auth() -> answer.Authority:
    return answer.Authority([parse_zone_text(DIFF_ZONE)])


def ask(
    auth: answer.Authority, name: str, qtype: str | int, *, tcp: bool = False, **kw: object
) -> dnslib.DNSRecord:
    rtype = qtype if isinstance(qtype, int) else wire.type_from_text(qtype)
    q = wire.build_query(wire.name_from_text(name), rtype, msg_id=4242, **kw)  # type: ignore[arg-type]
    data = auth.answer(q, tcp=tcp)
    assert data is not None
    # The cached path must give the same bytes as the full logic did.
    again = auth.answer(q, tcp=tcp)
    assert again == data
    reply = dnslib.DNSRecord.parse(data)
    assert reply.header.id == 4242 and reply.header.qr == 1
    return reply


def rrs(section: list[dnslib.RR]) -> set[tuple[str, str, int, str]]:
    return {
        (str(r.rname).lower(), dnslib.QTYPE.get(r.rtype), r.ttl, str(r.rdata).lower())
        for r in section
        if r.rtype != dnslib.QTYPE.OPT
    }


def rcode(reply: dnslib.DNSRecord) -> str:
    return str(dnslib.RCODE.get(reply.header.rcode))


def test_authoritative_answer(auth: answer.Authority) -> None:
    r = ask(auth, "www.diff.test.", "A")
    assert rcode(r) == "NOERROR" and r.header.aa == 1
    assert rrs(r.rr) == {("www.diff.test.", "A", 300, "192.0.2.3")}
    assert not r.auth and not r.ar


def test_refused_outside_zones_and_other_classes(auth: answer.Authority) -> None:
    r = ask(auth, "www.example.com.", "A")
    assert rcode(r) == "REFUSED" and r.header.aa == 0 and not r.rr
    r = ask(auth, "www.diff.test.", "A", qclass=wire.CLASS_CH)
    assert rcode(r) == "REFUSED" and len(r.questions) == 1


def test_nxdomain_and_nodata_carry_the_soa_with_negative_ttl(auth: answer.Authority) -> None:
    r = ask(auth, "nope.diff.test.", "A")
    assert rcode(r) == "NXDOMAIN" and r.header.aa == 1 and not r.rr
    [soa] = r.auth
    assert soa.rtype == dnslib.QTYPE.SOA and soa.ttl == 120  # min(3600, MINIMUM 120)
    r = ask(auth, "www.diff.test.", "MX")
    assert rcode(r) == "NOERROR" and not r.rr and r.auth[0].ttl == 120


def test_empty_non_terminals_exist(auth: answer.Authority) -> None:
    for name in ("ent.diff.test.", "c.ent.diff.test.", "b.c.ent.diff.test."):
        r = ask(auth, name, "A")
        assert rcode(r) == "NOERROR" and not r.rr and r.auth[0].rtype == dnslib.QTYPE.SOA
    assert rrs(ask(auth, "a.b.c.ent.diff.test.", "A").rr)


def test_cname_chains_within_the_zone(auth: answer.Authority) -> None:
    r = ask(auth, "chain1.diff.test.", "A")
    assert [str(x.rname) for x in r.rr] == [
        "chain1.diff.test.",
        "chain2.diff.test.",
        "chain3.diff.test.",
        "www.diff.test.",
    ]
    r = ask(auth, "outside.diff.test.", "A")
    assert len(r.rr) == 1 and rcode(r) == "NOERROR" and not r.auth
    r = ask(auth, "dangling.diff.test.", "A")
    assert rcode(r) == "NXDOMAIN" and len(r.rr) == 1 and r.auth[0].rtype == dnslib.QTYPE.SOA
    r = ask(auth, "alias.diff.test.", "MX")
    assert rcode(r) == "NOERROR" and len(r.rr) == 1 and r.auth[0].rtype == dnslib.QTYPE.SOA
    r = ask(auth, "alias.diff.test.", "CNAME")
    assert len(r.rr) == 1 and not r.auth


def test_cname_loops_are_bounded(auth: answer.Authority) -> None:
    r = ask(auth, "loop1.diff.test.", "A")
    assert [str(x.rname) for x in r.rr] == ["loop1.diff.test.", "loop2.diff.test."]
    assert rcode(r) == "NOERROR"
    assert len(ask(auth, "self.diff.test.", "A").rr) == 1


def test_referral_at_a_zone_cut(auth: answer.Authority) -> None:
    for name in ("deleg.diff.test.", "www.deleg.diff.test.", "ns.deleg.diff.test."):
        r = ask(auth, name, "A")
        assert rcode(r) == "NOERROR" and r.header.aa == 0 and not r.rr
        assert {x.rtype for x in r.auth} == {dnslib.QTYPE.NS} and len(r.auth) == 3
        assert rrs(r.ar) == {
            ("ns.deleg.diff.test.", "A", 300, "192.0.2.10"),
            ("ns.deleg.diff.test.", "AAAA", 300, "2001:db8::10"),
            ("ns1.diff.test.", "A", 300, "192.0.2.1"),
            ("ns1.diff.test.", "AAAA", 300, "2001:db8::1"),
        }
    r = ask(auth, "deleg2.diff.test.", "A")
    assert r.header.aa == 0 and len(r.auth) == 1 and not r.ar


def test_ds_is_answered_by_the_parent(auth: answer.Authority) -> None:
    r = ask(auth, "deleg.diff.test.", "DS")
    assert r.header.aa == 1 and [x.rtype for x in r.rr] == [dnslib.QTYPE.DS]
    r = ask(auth, "deleg2.diff.test.", "DS")
    assert r.header.aa == 1 and not r.rr and r.auth[0].rtype == dnslib.QTYPE.SOA
    r = ask(auth, "x.deleg.diff.test.", "DS")
    assert r.header.aa == 0 and r.auth[0].rtype == dnslib.QTYPE.NS


def test_cname_into_a_delegation(auth: answer.Authority) -> None:
    r = ask(auth, "to-deleg.diff.test.", "A")
    assert r.header.aa == 1 and len(r.rr) == 1 and len(r.auth) == 3 and len(r.ar) == 4


def test_wildcards_rfc4592(auth: answer.Authority) -> None:
    r = ask(auth, "anything.wild.diff.test.", "A")
    assert rrs(r.rr) == {("anything.wild.diff.test.", "A", 300, "192.0.2.6")}
    r = ask(auth, "a.b.wild.diff.test.", "TXT")
    assert rrs(r.rr) == {("a.b.wild.diff.test.", "TXT", 300, '"wild"')}
    # The source of synthesis has no MX: NODATA, not NXDOMAIN.
    r = ask(auth, "x.wild.diff.test.", "MX")
    assert rcode(r) == "NOERROR" and not r.rr
    # An existing name is not synthesised, and neither is anything under an ENT that
    # is the closest encloser (deep.wild has no wildcard child).
    assert rrs(ask(auth, "exists.wild.diff.test.", "A").rr) == {
        ("exists.wild.diff.test.", "A", 300, "192.0.2.7")
    }
    r = ask(auth, "x.deep.wild.diff.test.", "A")
    assert rcode(r) == "NXDOMAIN"
    r = ask(auth, "deep.wild.diff.test.", "A")
    assert rcode(r) == "NOERROR" and not r.rr
    # '*' in a query is a literal label.
    r = ask(auth, "*.wild.diff.test.", "A")
    assert rrs(r.rr) == {("*.wild.diff.test.", "A", 300, "192.0.2.6")}


def test_wildcard_cname_is_synthesised_and_chased(auth: answer.Authority) -> None:
    r = ask(auth, "z.chwild.diff.test.", "A")
    assert [str(x.rname) for x in r.rr][:2] == ["z.chwild.diff.test.", "chain1.diff.test."]
    assert len(r.rr) == 5
    r = ask(auth, "x.cwild.diff.test.", "MX")
    assert len(r.rr) == 1 and r.auth[0].rtype == dnslib.QTYPE.SOA


def test_dname_rfc6672(auth: answer.Authority) -> None:
    r = ask(auth, "host.old.diff.test.", "A")
    assert [(str(x.rname), dnslib.QTYPE.get(x.rtype)) for x in r.rr] == [
        ("old.diff.test.", "DNAME"),
        ("host.old.diff.test.", "CNAME"),
        ("host.new.diff.test.", "A"),
    ]
    assert str(r.rr[1].rdata) == "host.new.diff.test." and r.rr[1].ttl == 300
    r = ask(auth, "x.ext.diff.test.", "A")
    assert len(r.rr) == 2 and str(r.rr[1].rdata) == "x.example.net."
    r = ask(auth, "nothing.old.diff.test.", "A")
    assert rcode(r) == "NXDOMAIN" and len(r.rr) == 2
    # The owner itself is ordinary data.
    assert len(ask(auth, "old.diff.test.", "DNAME").rr) == 1
    assert not ask(auth, "old.diff.test.", "A").rr
    # Overflow: the synthesised name would exceed 255 octets.
    r = ask(auth, "x1234567890abcdef.long.diff.test.", "A")
    assert rcode(r) == "YXDOMAIN" and [x.rtype for x in r.rr] == [dnslib.QTYPE.DNAME]


def test_any_is_answered_minimally(auth: answer.Authority) -> None:
    r = ask(auth, "diff.test.", "ANY")
    assert [x.rtype for x in r.rr] == [dnslib.QTYPE.SOA]
    r = ask(auth, "multi.diff.test.", "ANY")
    assert [x.rtype for x in r.rr] == [dnslib.QTYPE.A]
    r = ask(auth, "ent.diff.test.", "ANY")
    assert not r.rr and r.auth
    r = ask(auth, "anything.wild.diff.test.", "ANY")
    assert len(r.rr) == 1


def test_apex_ns_gets_addresses_mx_does_not(auth: answer.Authority) -> None:
    r = ask(auth, "diff.test.", "NS")
    assert len(r.rr) == 2 and rrs(r.ar) == {
        ("ns1.diff.test.", "A", 300, "192.0.2.1"),
        ("ns1.diff.test.", "AAAA", 300, "2001:db8::1"),
    }
    assert not ask(auth, "diff.test.", "MX").ar


def test_question_echoed_byte_exact_0x20(auth: answer.Authority) -> None:
    for name in ("WwW.DiFf.TeSt.", "www.diff.test.", "WWW.DIFF.TEST."):
        q = wire.build_query(wire.name_from_text(name), wire.TYPE_A, msg_id=7)
        for _ in range(2):
            r = auth.answer(q)
            assert r is not None and r[12 : len(q)] == q[12:]
            assert wire.Message.parse(r).answer[0].rdata == bytes([192, 0, 2, 3])


def test_flags_rd_cd_copied_ad_ra_clear(auth: answer.Authority) -> None:
    for rd in (False, True):
        for cd in (False, True):
            q = wire.build_query(
                wire.name_from_text("www.diff.test."), wire.TYPE_A, msg_id=1, rd=rd, cd=cd, ad=True
            )
            for _ in range(2):
                r = wire.Message.parse(auth.answer(q) or b"")
                assert (r.rd, r.cd, r.ad, r.ra, r.aa, r.qr) == (rd, cd, False, False, True, True)


def test_edns(auth: answer.Authority) -> None:
    name = wire.name_from_text("www.diff.test.")
    r = wire.Message.parse(auth.answer(wire.build_query(name, 1)) or b"")
    assert r.edns is None
    r = wire.Message.parse(
        auth.answer(wire.build_query(name, 1, edns_payload=4096, do=True, options=[(65001, b"?")]))
        or b""
    )
    assert r.edns is not None and r.edns.payload == answer.EDNS_PAYLOAD and r.edns.do
    assert r.edns.options == ()
    b = wire.MessageBuilder(9, wire.RD)
    b.add_question(name, 1)
    b.set_edns(1232, version=1)
    r = wire.Message.parse(auth.answer(b.finish()) or b"")
    assert r.rcode == wire.RCODE_BADVERS and not r.answer and r.edns is not None
    assert r.edns.version == 0


def test_truncation_keeps_header_and_question(auth: answer.Authority) -> None:
    name = wire.name_from_text("big.diff.test.")
    r = wire.Message.parse(auth.answer(wire.build_query(name, wire.TYPE_TXT)) or b"")
    assert r.tc and r.aa and len(r.question) == 1 and not r.answer and r.edns is None
    r = wire.Message.parse(
        auth.answer(wire.build_query(name, wire.TYPE_TXT, edns_payload=100)) or b""
    )
    assert r.tc and r.edns is not None  # 100 is raised to the 512 floor: still too small
    data = auth.answer(wire.build_query(name, wire.TYPE_TXT, edns_payload=4096)) or b""
    r = wire.Message.parse(data)
    assert not r.tc and len(r.answer) == 10 and len(data) <= answer.EDNS_PAYLOAD
    r = wire.Message.parse(auth.answer(wire.build_query(name, wire.TYPE_TXT), tcp=True) or b"")
    assert not r.tc and len(r.answer) == 10


def header(data: bytes | None) -> tuple[int, int, int, int, int, int]:
    assert data is not None and len(data) == 12
    return wire.parse_header(data)


def test_malformed_queries(auth: answer.Authority) -> None:
    q = wire.build_query(wire.name_from_text("www.diff.test."), wire.TYPE_A, msg_id=77)
    qbody = q[12:]
    formerr = wire.QR | wire.RD | wire.RCODE_FORMERR
    assert header(auth.answer(wire.pack_header(77, wire.RD, 0))) == (77, formerr, 0, 0, 0, 0)
    assert header(auth.answer(wire.pack_header(77, wire.RD, 2) + qbody + qbody))[1] == formerr
    b = wire.MessageBuilder(77, wire.RD)
    b.add_question(wire.name_from_text("www.diff.test."), 1)
    b.add_rr(wire.SECTION_ANSWER, (b"x",), 1, 1, 0, b"1234")
    assert header(auth.answer(b.finish()))[1] == formerr
    for bad in (
        b"\xc0\x0e\x00\x00\x01\x00\x01",
        b"\x41abc\x00\x00\x01\x00\x01",
        b"\x03ww",
        b"\x3f" + b"a" * 10,
    ):
        assert header(auth.answer(wire.pack_header(77, wire.RD, 1) + bad))[1] == formerr
    m = wire.Message.parse(wire.build_query((b"www", b"diff", b"test"), 1, edns_payload=1232))
    opt = m.data[m.opt_offset :]
    two = bytearray(m.data)
    two[11] = 2
    assert header(auth.answer(bytes(two) + opt))[1] == formerr
    # QR=1 and runts are dropped.
    assert auth.answer(wire.pack_header(77, wire.QR, 1) + qbody) is None
    assert auth.answer(q[:11]) is None
    # Unknown opcodes: NOTIMP; NOTIFY to a primary: REFUSED.
    for opcode in (1, 2, 3, 5, 15):
        h = header(auth.answer(wire.pack_header(77, opcode << 11, 1) + qbody))
        assert h[1] == wire.QR | opcode << 11 | wire.RCODE_NOTIMP
    h = header(auth.answer(wire.pack_header(77, 4 << 11, 1) + qbody))
    assert h[1] & 0xF == wire.RCODE_REFUSED


def test_transfers_over_udp(auth: answer.Authority) -> None:
    apex = wire.name_from_text("diff.test.")
    r = wire.Message.parse(auth.answer(wire.build_query(apex, wire.TYPE_AXFR)) or b"")
    assert r.rcode == wire.RCODE_NOTIMP and len(r.question) == 1
    b = wire.MessageBuilder(5, 0)
    b.add_question(apex, wire.TYPE_IXFR)
    b.add_rr(
        wire.SECTION_AUTHORITY, apex, wire.TYPE_SOA, 1, 0, wire.encode_name(apex) * 2 + bytes(20)
    )
    r = wire.Message.parse(auth.answer(b.finish()) or b"")
    assert r.rcode == 0 and [a.rtype for a in r.answer] == [wire.TYPE_SOA]
    with pytest.raises(answer.TransferRequested):
        auth.answer(wire.build_query(apex, wire.TYPE_AXFR), tcp=True)


def test_unknown_and_other_types(auth: answer.Authority) -> None:
    r = ask(auth, "unknown.diff.test.", 65280)
    assert r.rr[0].rdata.data == b"\x0a\x00\x00\x01"
    assert len(ask(auth, "hinfo.diff.test.", "HINFO").rr) == 1
    assert len(ask(auth, "caa.diff.test.", "CAA").rr) == 1
    assert len(ask(auth, "rev.diff.test.", "PTR").rr) == 1
    r = ask(auth, "_sip._tcp.diff.test.", "SRV")
    assert str(r.rr[0].rdata) == "0 5 5060 www.diff.test."


def test_cache_is_bounded_and_reset_on_zone_swap() -> None:
    auth = answer.Authority([parse_zone_text(DIFF_ZONE)])
    for i in range(200):
        auth.answer(wire.build_query(wire.name_from_text(f"n{i}.diff.test."), 1))
    assert len(auth._cache) == 200
    auth.set_zones([parse_zone_text(DIFF_ZONE.replace("192.0.2.3", "192.0.2.33"))])
    assert not auth._cache
    r = wire.Message.parse(auth.answer(wire.build_query((b"www", b"diff", b"test"), 1)) or b"")
    assert r.answer[0].rdata == bytes([192, 0, 2, 33])


NAMES = st.sampled_from(
    [
        "www",
        "nope",
        "alias",
        "x.wild",
        "deleg",
        "a.deleg",
        "old",
        "x.old",
        "big",
        "ent",
        "chain1",
        "loop1",
        "*.wild",
        "WwW",
        "",
    ]
)


@settings(max_examples=300, deadline=None)
@given(
    name=NAMES,
    qtype=st.integers(0, 300),
    edns=st.none() | st.integers(0, 5000),
    do=st.booleans(),
    flags=st.integers(0, 0xFFFF),
    tcp=st.booleans(),
)
def test_any_query_gets_a_well_formed_answer(
    auth: answer.Authority, name: str, qtype: int, edns: int | None, do: bool, flags: int, tcp: bool
) -> None:
    qname = wire.name_from_text(f"{name}.diff.test." if name else "diff.test.")
    q = bytearray(wire.build_query(qname, qtype, msg_id=3, edns_payload=edns, do=do))
    q[2:4] = (flags & ~0x8000 & ~0x7800).to_bytes(2, "big")
    try:
        data = auth.answer(bytes(q), tcp=tcp)
    except answer.TransferRequested:
        assert tcp and qtype in (wire.TYPE_AXFR, wire.TYPE_IXFR)
        return
    assert data is not None
    r = wire.Message.parse(data)
    assert r.id == 3 and r.qr
    if qtype == wire.TYPE_IXFR:  # without the client's SOA: FORMERR, a header only
        assert r.rcode == wire.RCODE_FORMERR and len(data) == 12
        return
    assert (r.edns is not None) == (edns is not None)
    assert len(data) <= (65535 if tcp else max(512, min(edns or 512, answer.EDNS_PAYLOAD)))


@settings(max_examples=500, deadline=None)
@given(st.binary(min_size=0, max_size=120))
def test_garbage_never_raises(auth: answer.Authority, data: bytes) -> None:
    for tcp in (False, True):
        try:
            out = auth.answer(data, tcp=tcp)
        except answer.TransferRequested:
            continue
        if out is not None:
            assert len(out) >= 12 and out[:2] == data[:2] and out[2] & 0x80


CHILD_ZONE = """$ORIGIN deleg.diff.test.
$TTL 60
@        SOA ns.deleg.diff.test. admin 7 3600 900 604800 30
@        NS  ns
ns       A   192.0.2.10
www      A   192.0.2.11
"""

OTHER_ZONE = """$ORIGIN other.test.
$TTL 60
@        SOA ns1.diff.test. admin 1 3600 900 604800 30
@        NS  ns1.diff.test.
www      CNAME www.diff.test.
"""


def test_several_zones_parent_and_child() -> None:
    auth = answer.Authority(
        [parse_zone_text(DIFF_ZONE), parse_zone_text(CHILD_ZONE), parse_zone_text(OTHER_ZONE)]
    )
    # The child answers for its own names, authoritatively.
    r = ask(auth, "www.deleg.diff.test.", "A")
    assert r.header.aa == 1 and rrs(r.rr) == {("www.deleg.diff.test.", "A", 60, "192.0.2.11")}
    r = ask(auth, "nope.deleg.diff.test.", "A")
    assert rcode(r) == "NXDOMAIN" and str(r.auth[0].rname) == "deleg.diff.test."
    # DS at the child's apex comes from the parent; other types from the child.
    r = ask(auth, "deleg.diff.test.", "DS")
    assert r.header.aa == 1 and r.rr[0].rtype == dnslib.QTYPE.DS
    r = ask(auth, "deleg.diff.test.", "SOA")
    assert r.header.aa == 1 and str(r.rr[0].rname) == "deleg.diff.test." and r.rr[0].ttl == 60
    # A CNAME into another served zone is not chased across zones.
    r = ask(auth, "www.other.test.", "A")
    assert [x.rtype for x in r.rr] == [dnslib.QTYPE.CNAME]
    assert rcode(ask(auth, "test.", "SOA")) == "REFUSED"


def test_glue_that_does_not_fit_sets_tc_rfc9471() -> None:
    """All in-domain glue or TC (RFC 9471); NSD 4.6 drops the glue that does not fit
    silently, which RFC 9471 since forbids."""
    lines = [
        f"half NS ns{i}.half\nns{i}.half A 192.0.2.{i + 50}\nns{i}.half AAAA 2001:db8::{i + 50:x}"
        for i in range(8)
    ]
    auth = answer.Authority([parse_zone_text(DIFF_ZONE + "\n".join(lines) + "\n")])
    name = wire.name_from_text("x.half.diff.test.")
    r = wire.Message.parse(auth.answer(wire.build_query(name, wire.TYPE_A)) or b"")
    assert r.tc and not r.authority and not r.additional and len(r.question) == 1
    data = auth.answer(wire.build_query(name, wire.TYPE_A, edns_payload=1232)) or b""
    r = wire.Message.parse(data)
    assert not r.tc and len(r.authority) == 8 and len(r.additional) == 16
    # Addresses of out-of-bailiwick name servers are optional: no TC when they do not fit.
    extra = "".join(
        f"out NS ns{i}.half\nns{i}.half A 192.0.2.{i + 50}\nns{i}.half AAAA 2001:db8::{i + 50:x}\n"
        for i in range(8)
    )
    auth = answer.Authority([parse_zone_text(DIFF_ZONE + extra)])
    r = wire.Message.parse(
        auth.answer(wire.build_query(wire.name_from_text("x.out.diff.test."), wire.TYPE_A)) or b""
    )
    assert not r.tc and len(r.authority) == 8 and 0 < len(r.additional) < 16
