"""DNSSEC answers from a pre-signed zone (issue 17 item 3), on a small hand-made zone (the
signatures are placeholders: a server serves them, it does not check them). Against NSD on
really signed zones: tests/interop/test_dns_dnssec_nsd.py."""

from __future__ import annotations

from dns import wire
from dns.answer import Result, lookup
from dns.zone import RRset, parse_zone_text

SIG = "20300101000000 20240101000000 1 s.test. AAAA"
ZONE = f"""$ORIGIN s.test.
$TTL 3600
@ SOA ns h 1 2 3 4 300
@ RRSIG SOA 13 2 3600 {SIG}
@ NS ns
@ RRSIG NS 13 2 3600 {SIG}
@ 300 NSEC ns.s.test. SOA NS RRSIG NSEC
@ 300 RRSIG NSEC 13 2 300 {SIG}
ns A 192.0.2.1
ns RRSIG A 13 3 3600 {SIG}
ns 120 TXT "short"
ns 120 RRSIG TXT 13 3 120 {SIG}
ns 300 NSEC s.test. A TXT RRSIG NSEC
ns 300 RRSIG NSEC 13 3 300 {SIG}
"""


def records(section: list[tuple[wire.Name, RRset, int]]) -> list[tuple[str, str, int]]:
    out = []
    for owner, rrset, ttl in section:
        rtype = rrset.rtype
        for rdata in rrset.rdatas:
            covered = f"/{wire.type_to_text(int.from_bytes(rdata[:2], 'big'))}"
            name = wire.type_to_text(rtype) + (covered if rtype == wire.TYPE_RRSIG else "")
            out.append((wire.name_to_text(owner), name, ttl))
    return out


def ask(qname: str, qtype: int, dnssec: bool, text: str = ZONE) -> Result:
    return lookup(parse_zone_text(text), wire.name_from_text(qname), qtype, dnssec)


def test_each_signature_keeps_the_ttl_of_the_rrset_it_covers() -> None:
    r = ask("ns.s.test.", wire.TYPE_TXT, True)
    assert records(r.answer.items) == [("ns.s.test.", "TXT", 120), ("ns.s.test.", "RRSIG/TXT", 120)]
    r = ask("ns.s.test.", wire.TYPE_A, True)
    assert records(r.answer.items) == [("ns.s.test.", "A", 3600), ("ns.s.test.", "RRSIG/A", 3600)]
    # A transfer sends them the same way: one RRSIG set per covered type, its own TTL.
    zone = parse_zone_text(ZONE)
    sigs = {
        (wire.name_to_text(rs.name), int.from_bytes(rs.rdatas[0][:2], "big"), rs.ttl)
        for rs in zone.rrsets()
        if rs.rtype == wire.TYPE_RRSIG
    }
    assert ("ns.s.test.", wire.TYPE_TXT, 120) in sigs and ("ns.s.test.", wire.TYPE_A, 3600) in sigs


def test_without_do_no_dnssec_records() -> None:
    r = ask("ns.s.test.", wire.TYPE_TXT, False)
    assert records(r.answer.items) == [("ns.s.test.", "TXT", 120)]
    r = ask("nope.s.test.", wire.TYPE_A, False)
    assert records(r.authority.items) == [("s.test.", "SOA", 300)]


def test_nxdomain_carries_the_nsec_that_covers_the_name_and_the_wildcard_once() -> None:
    r = ask("a.s.test.", wire.TYPE_A, True)
    assert r.rcode == wire.RCODE_NXDOMAIN
    # "a" and "*" both fall between the apex and "ns": one NSEC proves both.
    assert records(r.authority.items) == [
        ("s.test.", "SOA", 300),
        ("s.test.", "RRSIG/SOA", 300),
        ("s.test.", "NSEC", 300),
        ("s.test.", "RRSIG/NSEC", 300),
    ]


def test_nodata_carries_the_nsec_of_the_name() -> None:
    r = ask("ns.s.test.", wire.TYPE_MX, True)
    assert r.rcode == wire.RCODE_NOERROR and not r.answer.items
    assert [name for _, name, _ in records(r.authority.items)] == [
        "SOA",
        "RRSIG/SOA",
        "NSEC",
        "RRSIG/NSEC",
    ]
    assert records(r.authority.items)[2][0] == "ns.s.test."


def test_an_unsigned_zone_gets_nothing_more_with_do() -> None:
    unsigned = "\n".join(line for line in ZONE.splitlines() if "RRSIG" not in line) + "\n"
    for qname, qtype in (("ns.s.test.", wire.TYPE_MX), ("a.s.test.", wire.TYPE_A)):
        r = ask(qname, qtype, True, unsigned)
        assert records(r.authority.items) == [("s.test.", "SOA", 300)]
