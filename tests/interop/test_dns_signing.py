"""Online signing checked by BIND's and ldns's tools (issue 17, DNSSEC).

``python -m dns serve ZONE --sign-key ...`` signs the zone of the pre-signed differential
(a signed and an unsigned delegation, glue, a wildcard, CNAMEs, empty non-terminals, RRsets
of different TTLs) with keys made by ``dnssec-keygen`` (a KSK and a ZSK) or by our own
``dns keygen`` (an Ed25519 CSK; an ECDSA KSK and ZSK), with NSEC, NSEC3 (salted) and NSEC3
opt-out. Then:

- the zone AXFRed from it (by ``dig``) passes ``dnssec-verify`` and ``ldns-verify-zone``;
- ``delv`` with the KSK as its trust anchor validates answers from it: positive, CNAME,
  wildcard, DS, NXDOMAIN, NODATA (plain, at an empty non-terminal, under the wildcard, the
  DS of an insecure delegation); under opt-out a wildcard answer is insecure (RFC 5155
  §9.2), as it is from NSD serving the same zone signed by ``dnssec-signzone -A``;
- with BIND's keys, the same zone signed by ``dnssec-signzone`` and served by NSD gives
  ``delv`` the same validated answers (signatures differ, so the comparison is of what
  validates, not of bytes).

Skipped, naming the package, without bind9-utils, bind9-dnsutils, ldnsutils or nsd.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import need_tool
from tests.interop.test_dns_dnssec_nsd import ORIGIN, ZONE
from tests.peers import free_port, run_knot, run_nsd, stop, wait_until_answering

pytestmark = pytest.mark.interop

CASES = [
    ("bind-keys", "nsec"),
    ("bind-keys", "nsec3"),
    ("bind-keys", "nsec3-optout"),
    ("our-ed25519-csk", "nsec3-optout"),
    ("our-ecdsa-ksk-zsk", "nsec"),
]

DELV_QUERIES = [
    ("www.signed.test.", "A", "positive"),
    ("www.signed.test.", "TXT", "positive"),
    ("signed.test.", "MX", "positive"),
    ("alias.signed.test.", "CNAME", "positive"),
    ("x.wild.signed.test.", "A", "positive"),  # wildcard expansion
    ("sub.signed.test.", "DS", "positive"),
    ("nope.signed.test.", "A", "negative"),  # NXDOMAIN
    ("deep.nope.signed.test.", "TXT", "negative"),
    ("www.signed.test.", "AAAA", "negative"),  # NODATA
    ("b.c.signed.test.", "A", "negative"),  # an empty non-terminal
    ("x.wild.signed.test.", "MX", "negative"),  # wildcard NODATA
    ("insecure.signed.test.", "DS", "negative"),  # no DS: an insecure delegation
]


def run(argv: list[str], cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def ok(argv: list[str], cwd: Path) -> str:
    done = run(argv, cwd)
    assert done.returncode == 0, f"{argv[:3]} failed: {done.stdout[-600:]} {done.stderr[-600:]}"
    return done.stdout


def make_keys(tmp: Path, kind: str) -> list[str]:
    """Key basenames in ``tmp`` (the KSK or CSK first)."""
    if kind == "bind-keys":
        need_tool("dnssec-keygen")
        ksk = ok(["dnssec-keygen", "-q", "-a", "ECDSAP256SHA256", "-f", "KSK", ORIGIN], tmp)
        zsk = ok(["dnssec-keygen", "-q", "-a", "ECDSAP256SHA256", ORIGIN], tmp)
        return [ksk.strip(), zsk.strip()]
    ours = [sys.executable, "-m", "dns", "keygen", "-K", str(tmp)]
    if kind == "our-ed25519-csk":
        return [ok([*ours, "-a", "ED25519", "-f", "KSK", ORIGIN], tmp).strip()]
    ksk = ok([*ours, "-f", "KSK", ORIGIN], tmp).strip()
    return [ksk, ok([*ours, ORIGIN], tmp).strip()]


def denial_flags(denial: str) -> list[str]:
    if denial == "nsec":
        return []
    flags = ["--nsec3", "--nsec3-salt", "aabbccdd"]
    return flags + (["--nsec3-opt-out"] if denial == "nsec3-optout" else [])


@contextlib.contextmanager
def serve_signed(tmp: Path, keys: list[str], denial: str) -> Iterator[int]:
    zone = tmp / "signed.test.zone"
    zone.write_text(ZONE)
    port = free_port()
    log = tmp / "serve.log"
    argv = [sys.executable, "-m", "dns", "serve", str(zone), "--port", str(port)]
    argv += ["--allow-axfr", "127.0.0.0/8", "--journal", str(tmp / "signed.test.jnl")]
    for key in keys:
        argv += ["--sign-key", str(tmp / key)]
    argv += denial_flags(denial)
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until_answering(port, proc, zone=ORIGIN, what="dns serve", log=log.read_text)
        yield port
    finally:
        stop(proc)


@pytest.fixture(scope="module", params=CASES, ids=["-".join(c) for c in CASES])
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Path, list[str], str, int]]:
    pytest.importorskip("cryptography", reason="signing needs the dnssec extra (cryptography)")
    need_tool("dig", "delv")
    kind, denial = request.param
    tmp = tmp_path_factory.mktemp(f"online-{kind}-{denial}")
    keys = make_keys(tmp, kind)
    with serve_signed(tmp, keys, denial) as port:
        yield tmp, keys, denial, port


def axfr(port: int, tmp: Path) -> Path:
    text = ok(["dig", "@127.0.0.1", "-p", str(port), ORIGIN, "AXFR", "+onesoa", "+nocmd"], tmp)
    assert "Transfer failed" not in text and "RRSIG" in text, text[-400:]
    out = tmp / "axfr.zone"
    out.write_text(text)
    return out


def test_transferred_zone_passes_dnssec_verify(served: tuple[Path, list[str], str, int]) -> None:
    need_tool("dnssec-verify")
    tmp, keys, _denial, port = served
    zone = axfr(port, tmp)
    # -z for a CSK: dnssec-verify otherwise wants a key without the SEP flag as well.
    csk = ["-z"] if len(keys) == 1 else []
    done = run(["dnssec-verify", *csk, "-o", ORIGIN, str(zone)], tmp)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Zone fully signed" in done.stdout + done.stderr


def test_transferred_zone_passes_ldns_verify_zone(served: tuple[Path, list[str], str, int]) -> None:
    need_tool("ldns-verify-zone")
    tmp, _keys, _denial, port = served
    zone = axfr(port, tmp)
    done = run(["ldns-verify-zone", str(zone)], tmp)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Zone is verified and complete" in done.stdout + done.stderr


def anchors(tmp: Path, ksk: str) -> Path:
    """A delv trust anchor file holding the KSK (BIND's ``trust-anchors`` statement)."""
    for line in (tmp / f"{ksk}.key").read_text().splitlines():
        words = line.split(";", 1)[0].split()
        if "DNSKEY" in words:
            flags, protocol, algorithm, *key = words[words.index("DNSKEY") + 1 :]
            path = tmp / "anchors.conf"
            path.write_text(
                f'trust-anchors {{ "{ORIGIN}" static-key {flags} {protocol} {algorithm} '
                f'"{"".join(key)}"; }};\n'
            )
            return path
    raise AssertionError(f"no DNSKEY in {ksk}.key")


def delv(port: int, tmp: Path, anchor: Path, qname: str, qtype: str) -> tuple[str, list[str]]:
    """delv's verdict (``positive``, ``negative`` or its first line) and the validated
    records it printed, RRSIGs and the SOA of a negative answer left out (the serials
    and signatures of two servers differ)."""
    done = run(
        ["delv", "@127.0.0.1", "-p", str(port), "-a", str(anchor), f"+root={ORIGIN}", qname, qtype],
        tmp,
    )
    text = done.stdout + done.stderr
    if "; negative response, fully validated" in text:
        verdict = "negative"
    elif "; fully validated" in text:
        verdict = "positive"
    elif "; unsigned answer" in text:
        verdict = "insecure"
    else:
        verdict = text.strip()[:300]
    records = sorted(
        " ".join(line.split())
        for line in text.splitlines()
        if line and not line.startswith(";") and "\tRRSIG\t" not in line
    )
    return verdict, records


def test_delv_validates_answers(served: tuple[Path, list[str], str, int]) -> None:
    tmp, keys, denial, port = served
    anchor = anchors(tmp, keys[0])
    wrong = []
    for qname, qtype, expected in DELV_QUERIES:
        if denial == "nsec3-optout" and qname.startswith("x.wild") and expected == "positive":
            # RFC 5155 §9.2: the NSEC3 that shows no closer name than the wildcard has the
            # opt-out bit, so an unsigned delegation could hide there: insecure, not bogus.
            expected = "insecure"
        verdict, records = delv(port, tmp, anchor, qname, qtype)
        if verdict != expected or (expected == "positive" and not records):
            wrong.append(f"{qname} {qtype}: expected {expected}, delv said {verdict}")
    assert not wrong, "\n".join(wrong)


def test_delv_sees_the_same_as_from_nsd_serving_dnssec_signzone(
    served: tuple[Path, list[str], str, int],
) -> None:
    """The differential: the same zone and keys, signed by dnssec-signzone, served by NSD."""
    tmp, keys, denial, port = served
    if "bind-keys" not in tmp.name:
        pytest.skip("the differential runs with dnssec-keygen's keys")
    need_tool("dnssec-signzone", "nsd")
    (tmp / "unsigned.zone").write_text(ZONE)
    argv = ["dnssec-signzone", "-q", "-K", str(tmp), "-S", "-o", ORIGIN, "-f", "bind.zone"]
    if denial != "nsec":
        argv += ["-3", "aabbccdd", "-H", "0"] + (["-A"] if denial == "nsec3-optout" else [])
    ok([*argv, str(tmp / "unsigned.zone")], tmp)
    anchor = anchors(tmp, keys[0])
    with run_nsd({ORIGIN: (tmp / "bind.zone").read_text()}) as nsd:
        differ = []
        for qname, qtype, _ in DELV_QUERIES:
            theirs = delv(nsd.port, tmp, anchor, qname, qtype)
            ours = delv(port, tmp, anchor, qname, qtype)
            if ours != theirs:
                differ.append(f"{qname} {qtype}:\n  nsd:  {theirs}\n  ours: {ours}")
    assert not differ, "\n".join(differ)


def sections(text: str) -> dict[str, list[str]]:
    """Record lines of dig-style output by section, fields separated by one space."""
    out: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        if line.startswith(";; ") and line.endswith(" SECTION:"):
            current = line[3:-9]
        elif line.strip() and not line.startswith(";") and current is not None:
            out.setdefault(current, []).append(" ".join(line.split()))
    return {name: sorted(lines) for name, lines in out.items()}


def test_query_cli_dnssec_prints_what_dig_prints(
    served: tuple[Path, list[str], str, int], capsys: pytest.CaptureFixture[str]
) -> None:
    """``dns query +dnssec`` against the signed zone: the RRSIGs and the NSEC/NSEC3 proofs
    print as dig prints them, section by section."""
    from dns.query_cli import main

    _tmp, _keys, denial, port = served
    if denial == "nsec3-optout":
        pytest.skip("NSEC and NSEC3 are enough for the presentation")
    common = ["+dnssec", "+norec", "@127.0.0.1", "-p", str(port)]
    extra = [("signed.test.", "DNSKEY", ""), ("sub.signed.test.", "A", "")]
    for qname, qtype, _ in [*DELV_QUERIES, *extra]:
        assert main([qname, qtype, *common]) == 0
        text = capsys.readouterr().out
        assert "flags: do;" in text
        ours = sections(text)
        theirs = sections(ok(["dig", qname, qtype, *common], Path(".")))
        assert ours == theirs, (qname, qtype)
        assert any("RRSIG" in line for lines in theirs.values() for line in lines), (qname, qtype)


UPD_SECRET = "c2lnbmVkLXpvbmUtdXBkYXRlLXNlY3JldC0wMTIzNDU2Nzg5"


def soa_serial(port: int) -> int | None:
    done = run(["dig", "+short", "+norec", "+time=1", "+tries=1", "@127.0.0.1", "-p", str(port),
                ORIGIN, "SOA"], Path("."))  # fmt: skip
    fields = done.stdout.split()
    return int(fields[2]) if len(fields) == 7 and fields[2].isdigit() else None


def test_update_is_signed_and_reaches_knot_over_ixfr(tmp_path: Path) -> None:
    """``nsupdate -y`` adds a name to the online-signed zone; Knot, our secondary, follows
    over IXFR (the new signatures and NSEC3 links come in the difference); then delv
    validates the new name from Knot, and Knot's copy passes dnssec-verify."""
    pytest.importorskip("cryptography", reason="signing needs the dnssec extra (cryptography)")
    need_tool("dig", "delv", "nsupdate", "knotd", "dnssec-verify")
    keys = make_keys(tmp_path, "bind-keys")
    zone = tmp_path / "signed.test.zone"
    zone.write_text(ZONE)
    knot_port, port = free_port(), free_port()
    argv = [sys.executable, "-m", "dns", "serve", str(zone), "--port", str(port)]
    argv += ["--key", f"hmac-sha256:upd.key:{UPD_SECRET}", "--allow-update", "key:upd.key"]
    argv += ["--allow-axfr", "127.0.0.0/8", "--notify", f"127.0.0.1:{knot_port}"]
    argv += [arg for key in keys for arg in ("--sign-key", str(tmp_path / key))]
    argv += ["--nsec3", "--nsec3-salt", "aabbccdd"]
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
    knot_sections = (
        f"remote:\n  - id: primary\n    address: 127.0.0.1@{port}\n"
        "acl:\n  - id: notify_from_primary\n    address: 127.0.0.1\n    action: notify\n"
        "  - id: transfer_out\n    address: 127.0.0.1\n    action: transfer\n"
    )
    knot_zone = (
        f"  - domain: {ORIGIN}\n    master: primary\n    acl: [notify_from_primary, transfer_out]\n"
    )
    try:
        wait_until_answering(port, proc, zone=ORIGIN, what="dns serve", log=log.read_text)
        first = soa_serial(port)
        assert first == 2024010102  # the file's serial + 1: the signed version
        with run_knot(sections=knot_sections, zone_entries=knot_zone, port=knot_port) as knot:

            def knot_reaches(serial: int) -> None:
                deadline = time.monotonic() + 30
                while soa_serial(knot_port) != serial:
                    assert time.monotonic() < deadline, f"Knot: {knot.log()[-1500:]}"
                    time.sleep(0.1)

            knot_reaches(first)
            script = (
                f"server 127.0.0.1 {port}\nzone {ORIGIN}\n"
                "update add new.signed.test. 300 A 192.0.2.77\nsend\n"
            )
            done = subprocess.run(
                ["nsupdate", "-t", "5", "-y", f"hmac-sha256:upd.key:{UPD_SECRET}"],
                input=script, capture_output=True, text=True, timeout=30,
            )  # fmt: skip
            assert done.returncode == 0, done.stdout + done.stderr
            knot_reaches(first + 1)
            assert "IXFR" in knot.log(), knot.log()[-1500:]
            anchor = anchors(tmp_path, keys[0])
            for qname, qtype, expected in [
                ("new.signed.test.", "A", "positive"),
                ("www.signed.test.", "A", "positive"),
                ("newer.signed.test.", "A", "negative"),
            ]:
                verdict, _records = delv(knot_port, tmp_path, anchor, qname, qtype)
                assert verdict == expected, (qname, verdict)
            copy = tmp_path / "knot-copy.zone"
            copy.write_text(
                ok(["dig", "@127.0.0.1", "-p", str(knot_port), ORIGIN, "AXFR", "+onesoa"], tmp_path)
            )
            verified = run(["dnssec-verify", "-o", ORIGIN, str(copy)], tmp_path)
            assert verified.returncode == 0, verified.stdout + verified.stderr
    finally:
        stop(proc)


CORPUS = sorted((Path(__file__).parent.parent / "dns" / "zones").glob("*.zone"))
LDNS_DIFFERS = {
    # ZONEMD (RFC 8976) is not recomputed after signing: the digest no longer matches.
    "presentation.test.zone": "ZONEMD",
    # ldns reads SvcParam alpn values with escaped commas other than BIND and we do
    # (dnssec-verify, reading the same text, finds the signatures good).
    "svcb.test.zone": "alpn escapes",
}


@pytest.mark.parametrize("denial", ["nsec", "nsec3", "nsec3-optout"])
@pytest.mark.parametrize("path", CORPUS, ids=[p.name for p in CORPUS])
def test_corpus_zones_sign_and_verify(path: Path, denial: str, tmp_path: Path) -> None:
    """Every zone of the corpus (every type, DNAME and occluded data, $GENERATE, wildcards
    in the middle, text forms) signed by dns.sign, checked by dnssec-verify and ldns."""
    pytest.importorskip("cryptography", reason="signing needs the dnssec extra (cryptography)")
    need_tool("dnssec-verify", "ldns-verify-zone")
    from dns import keys, rdtypes, wire
    from dns.journal import zone_records
    from dns.sign import Policy, Signer
    from dns.zone import load_zone_file

    zone = load_zone_file(str(path))
    signing = [keys.generate_key(zone.origin, 13, ksk=True), keys.generate_key(zone.origin, 13)]
    policy = Policy(nsec3=denial != "nsec", salt=b"\xab", opt_out=denial == "nsec3-optout")
    signed = Signer(signing, policy).sign(zone)
    out = tmp_path / "signed.zone"
    out.write_text(
        "".join(
            f"{wire.name_to_text(n)} {ttl} IN {wire.type_to_text(t)} {rdtypes.to_text(t, rd)}\n"
            for n, t, ttl, rd in zone_records(signed)
        )
    )
    origin = wire.name_to_text(zone.origin)
    done = run(["dnssec-verify", "-o", origin, str(out)], tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    if path.name not in LDNS_DIFFERS:
        done = run(["ldns-verify-zone", str(out)], tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr
