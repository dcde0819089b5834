"""Online DNSSEC signing (dns.sign, dns.keys): what is signed and by which key, the NSEC
and NSEC3 chains, incremental re-signing and the serial, refresh before expiry, and the
server's hooks (load, UPDATE, timer, restart from the journal). Every signature is checked
here with the ``cryptography`` public key (RFC 4034 §3.1.8.1 data built in the test);
BIND's and ldns's verifiers and delv check the same output in
tests/interop/test_dns_signing.py."""

from __future__ import annotations

import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

import backends
from dns import keys, rdtypes, wire
from dns.config import ConfigError, load_config, server_settings
from dns.journal import Journal, zone_records
from dns.server import AuthServer
from dns.sign import Policy, Signer, SigningError, nsec3_hash, type_bitmap
from dns.zone import Zone, key_of, parse_zone_text
from tests.dns.test_server_net import LOCAL, query, udp_ask
from tests.dns.test_update import ANY, IN, a, message

pytest.importorskip("cryptography", reason="signing needs the dnssec extra (cryptography)")

ORIGIN = wire.name_from_text("sign.test.")
ZONE = """$ORIGIN sign.test.
$TTL 3600
@       SOA ns hostmaster 100 7200 3600 1209600 300
@       NS ns
@       MX 10 mail
ns      A 192.0.2.1
mail 600 A 192.0.2.2
www     A 192.0.2.3
www 120 TXT "short"
*.wild  A 192.0.2.4
a.b.c   A 192.0.2.5
sub     NS ns.sub
sub     DS 12345 13 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF
ns.sub  A 192.0.2.6
insecure NS ns.insecure
ns.insecure A 192.0.2.7
"""
NOW = 1_800_000_000


@pytest.fixture(scope="module")
def ecdsa_keys() -> list[keys.SigningKey]:
    return [keys.generate_key(ORIGIN, 13, ksk=True), keys.generate_key(ORIGIN, 13)]


@pytest.fixture(scope="module")
def ed25519_csk() -> list[keys.SigningKey]:
    return [keys.generate_key(ORIGIN, 15, ksk=True)]


def zone(text: str = ZONE) -> Zone:
    return parse_zone_text(text, "sign.test.")


def verify(key: keys.SigningKey, rrsig: bytes, owner: wire.Name, rtype: int, ttl: int,
           rdatas: list[bytes]) -> None:  # fmt: skip
    """Raise unless ``rrsig`` is ``key``'s valid signature over the RRset (RFC 4034 §3.1.8.1,
    §6: the owner lowercased, rdata canonical and sorted)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, utils

    signer_end = 18 + len(wire.encode_name(ORIGIN))
    head, signature = rrsig[:signer_end], rrsig[signer_end:]
    labels = len(owner) - (owner[0] == b"*")
    assert struct.unpack_from("!HBB", head) == (rtype, key.algorithm, labels)
    assert struct.unpack_from("!I", head, 4)[0] == ttl
    owner_wire = wire.encode_name(wire.name_lower(owner))
    canon = sorted({rdtypes.canonical(rtype, rd) for rd in rdatas})
    data = head + b"".join(
        owner_wire + struct.pack("!HHIH", rtype, 1, ttl, len(c)) + c for c in canon
    )
    if key.algorithm == 15:
        ed25519.Ed25519PublicKey.from_public_bytes(key.public).verify(signature, data)
    else:
        x, y = int.from_bytes(key.public[:32], "big"), int.from_bytes(key.public[32:], "big")
        public = ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()
        der = utils.encode_dss_signature(
            int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
        )
        public.verify(der, data, ec.ECDSA(hashes.SHA256()))


def check_signed(z: Zone, signing: list[keys.SigningKey]) -> int:
    """Every RRset that must be signed is, by exactly the right keys, validly; nothing
    else is. Returns the number of signatures."""
    by_tag = {k.tag: k for k in signing}
    ksks = {k.tag for k in signing if k.ksk} or set(by_tag)
    zsks = {k.tag for k in signing if not k.ksk} or set(by_tag)
    cuts = {key_of(wire.name_from_text(n)) for n in ("sub.sign.test.", "insecure.sign.test.")}
    count = 0
    for k, node in z.nodes.items():
        below_cut = any(k[i:] in cuts for i in range(1, len(k)))
        for rtype, rrset in node.rrsets.items():
            if rtype == wire.TYPE_RRSIG:
                continue
            sigs = (node.sigs or {}).get(rtype)
            unsigned = below_cut or (k in cuts and rtype == wire.TYPE_NS)
            if unsigned:
                assert sigs is None, f"{rrset} is glue or a delegation: never signed"
                continue
            assert sigs is not None, f"{rrset} is not signed"
            assert sigs.ttl == rrset.ttl, "an RRSIG has its RRset's TTL (RFC 4034 §3)"
            tags = sorted(struct.unpack_from("!H", rd, 16)[0] for rd in sigs.rdatas)
            expected = ksks if rtype == wire.TYPE_DNSKEY else zsks
            assert tags == sorted(expected), (rrset, tags)
            for rd in sigs.rdatas:
                key = by_tag[struct.unpack_from("!H", rd, 16)[0]]
                verify(key, rd, rrset.name, rtype, rrset.ttl, rrset.rdatas)
                count += 1
    return count


@pytest.mark.parametrize("nsec3", [False, True])
@pytest.mark.parametrize("kind", ["ecdsa", "ed25519"])
def test_signed_zone_is_complete_and_every_signature_verifies(
    kind: str, nsec3: bool, ecdsa_keys: list[keys.SigningKey], ed25519_csk: list[keys.SigningKey]
) -> None:
    signing = ecdsa_keys if kind == "ecdsa" else ed25519_csk
    signed = Signer(signing, Policy(nsec3=nsec3, salt=b"\xab" if nsec3 else b"")).sign(
        zone(), now=NOW
    )
    assert signed.serial == 101  # the first signing is a new version
    apex = signed.nodes[signed.origin_key]
    assert sorted(apex.rrsets[wire.TYPE_DNSKEY].rdatas) == sorted(k.dnskey for k in signing)
    assert check_signed(signed, signing) > 10
    if not nsec3:
        # The chain: the eight authoritative names (not glue, not empty non-terminals), in
        # canonical order (RFC 4034 §6.1), closing at the apex.
        owners = [k for k, n in signed.nodes.items() if wire.TYPE_NSEC in n.rrsets]
        assert len(owners) == 8
        ordered = sorted(owners, key=lambda k: k[::-1])
        for i, k in enumerate(ordered):
            rd = signed.nodes[k].rrsets[wire.TYPE_NSEC].rdatas[0]
            nxt, _ = wire.decode_name(rd, 0, min_pointer_offset=0)
            assert key_of(nxt) == ordered[(i + 1) % len(ordered)]
        cut = signed.node(wire.name_from_text("insecure.sign.test."))
        assert cut is not None
        text = rdtypes.to_text(wire.TYPE_NSEC, cut.rrsets[wire.TYPE_NSEC].rdatas[0])
        assert text == "mail.sign.test. NS RRSIG NSEC"
    else:
        assert signed.nsec3_params() == (0, b"\xab")
        # The eight names and three empty non-terminals (c, b.c, wild): RFC 5155 §7.1.
        hashed = [k for k, n in signed.nodes.items() if wire.TYPE_NSEC3 in n.rrsets]
        assert len(hashed) == 11
        for name, types in (
            ("b.c.sign.test.", []),  # an empty non-terminal: no types
            ("insecure.sign.test.", [wire.TYPE_NS]),  # an insecure delegation: no RRSIG
            ("sub.sign.test.", [wire.TYPE_NS, wire.TYPE_DS, wire.TYPE_RRSIG]),
        ):
            node = signed.nsec3_matching(key_of(wire.name_from_text(name)))
            assert node is not None, name
            rd = node.rrsets[wire.TYPE_NSEC3].rdatas[0]
            bitmap_at = 6 + rd[4] + rd[5 + rd[4]]
            assert rd[bitmap_at:] == type_bitmap(types), name


def test_opt_out_leaves_insecure_delegations_out(ecdsa_keys: list[keys.SigningKey]) -> None:
    signed = Signer(ecdsa_keys, Policy(nsec3=True, opt_out=True)).sign(zone(), now=NOW)
    assert signed.nsec3_matching(key_of(wire.name_from_text("insecure.sign.test."))) is None
    assert signed.nsec3_matching(key_of(wire.name_from_text("sub.sign.test."))) is not None
    flags = {n.rrsets[wire.TYPE_NSEC3].rdatas[0][1] for n in signed.nodes.values()
             if wire.TYPE_NSEC3 in n.rrsets}  # fmt: skip
    assert flags == {1}
    assert nsec3_hash(signed.origin_key, b"", 0) == nsec3_hash(
        key_of(wire.name_from_text("SIGN.test.")), b"", 0
    )


def records(z: Zone) -> set[tuple[bytes, int, int, bytes]]:
    return {(wire.name_key(n), t, ttl, rd) for n, t, ttl, rd in zone_records(z)}


def rrsigs_covering(recs: set[tuple[bytes, int, int, bytes]]) -> set[tuple[bytes, int]]:
    return {(n, struct.unpack_from("!H", rd)[0]) for n, t, _, rd in recs if t == wire.TYPE_RRSIG}


def test_re_signing_is_incremental(ecdsa_keys: list[keys.SigningKey]) -> None:
    signer = Signer(ecdsa_keys)
    signed = signer.sign(zone(), now=NOW)
    assert signer.sign(signed, now=NOW + 3600) is signed  # nothing changed, nothing due
    # The file changes one record and its serial: only that RRset, the SOA and the NSEC
    # whose type map changed are signed anew; the rest keep their signatures.
    edited_text = ZONE.replace("192.0.2.3", "192.0.2.33")
    edited = zone(edited_text.replace("100 7200", "150 7200"))
    again = signer.sign(edited, signed, now=NOW + 7200)
    assert again.serial == 150
    before, after = records(signed), records(again)
    changed = rrsigs_covering(after - before)
    www = wire.name_key(wire.name_from_text("www.sign.test."))
    apex = wire.name_key(ORIGIN)
    assert changed == {(www, wire.TYPE_A), (apex, wire.TYPE_SOA)}
    check_signed(again, ecdsa_keys)
    # A new name: its own records, its NSEC and the NSEC before it.
    grown = zone(edited_text.replace("100 7200", "151 7200") + "webmail A 192.0.2.8\n")
    third = signer.sign(grown, again, now=NOW + 7200)
    changed = {
        (wire.name_to_text(wire.wire_to_name(n)), wire.type_to_text(t))
        for n, t in rrsigs_covering(records(third) - after)
    }
    assert changed == {
        ("sign.test.", "SOA"),
        ("webmail.sign.test.", "A"),
        ("webmail.sign.test.", "NSEC"),
        ("sub.sign.test.", "NSEC"),  # the name before it: its next name changed
    }
    check_signed(third, ecdsa_keys)


def test_serial_rules(ecdsa_keys: list[keys.SigningKey]) -> None:
    signer = Signer(ecdsa_keys)
    signed = signer.sign(zone(), now=NOW)
    assert signed.serial == 101
    # The file's serial not newer than the served one: the served one + 1.
    same_serial = zone(ZONE.replace("192.0.2.3", "192.0.2.99"))
    assert signer.sign(same_serial, signed, now=NOW).serial == 102
    # The journal's newest serial is passed too.
    assert signer.sign(same_serial, signed, now=NOW, serial_floor=500).serial == 501
    with pytest.raises(SigningError):
        Signer([keys.generate_key(wire.name_from_text("other.test."), 15)]).sign(zone())


def test_signatures_are_refreshed_before_they_expire(ecdsa_keys: list[keys.SigningKey]) -> None:
    policy = Policy(lifetime=10 * 86400, refresh=3 * 86400, jitter=86400)
    signer = Signer(ecdsa_keys, policy)
    signed = signer.sign(zone(), now=NOW)
    due = signer.next_due
    assert due is not None
    assert NOW + 10 * 86400 - 86400 - 3 * 86400 <= due <= NOW + 7 * 86400
    expirations = {
        struct.unpack_from("!I", rd, 8)[0]
        for _, t, _, rd in zone_records(signed)
        if t == wire.TYPE_RRSIG
    }
    assert len(expirations) > 10  # jittered, not one instant
    assert max(expirations) <= NOW + 10 * 86400
    assert min(expirations) >= NOW + 9 * 86400
    assert signer.sign(signed, now=int(due) - 60) is signed  # nothing due yet
    # Two days on, an edit: that RRset's signatures (and the SOA's) are newer than the rest.
    edited = zone(ZONE.replace("100 7200", "150 7200").replace("192.0.2.3", "192.0.2.33"))
    later = signer.sign(edited, signed, now=NOW + 2 * 86400)
    # Due: the earliest signature kept (the edited RRset's and the SOA's are new now).
    due = signer.next_due
    assert due is not None and NOW + 6 * 86400 <= due <= NOW + 7 * 86400
    refreshed = signer.sign(later, now=int(due))
    assert refreshed.serial == later.serial + 1
    old = {rd for _, t, _, rd in zone_records(later) if t == wire.TYPE_RRSIG}
    new = {rd for _, t, _, rd in zone_records(refreshed) if t == wire.TYPE_RRSIG}
    kept = {struct.unpack_from("!H", rd)[0] for rd in old & new}
    # Those falling due within the jitter window went together; the newer ones stayed.
    assert kept == {wire.TYPE_A}, kept
    assert all(struct.unpack_from("!I", rd, 8)[0] > due + 3 * 86400 for rd in new)
    assert signer.next_due is not None and signer.next_due > NOW + 8 * 86400
    check_signed(refreshed, ecdsa_keys)
    with pytest.raises(SigningError):
        Policy(lifetime=86400, refresh=86400)
    with pytest.raises(SigningError):
        Policy(iterations=500)


def served(server: AuthServer) -> Zone:
    return server.authority.zones[key_of(ORIGIN)]


def test_server_signs_on_load_update_timer_and_restart(
    tmp_path: Path, ecdsa_keys: list[keys.SigningKey]
) -> None:
    path = tmp_path / "sign.test.zone"
    path.write_text(ZONE)
    from dns.zone import load_zone_file

    def start() -> AuthServer:
        return AuthServer(
            [load_zone_file(str(path))],
            allow_update=["127.0.0.0/8"],
            signers={"sign.test.": Signer(ecdsa_keys)},
        )

    server = start()
    first = served(server)
    assert first.serial == 101
    check_signed(first, ecdsa_keys)
    journal = Journal.open(str(path) + ".jnl")
    assert [(d.old_serial, d.new_serial) for d in journal.diffs] == [(100, 101)]

    # UPDATE: re-signed, the signature changes journalled with it.
    reply = server._update(
        message(updates=[("new.sign.test.", wire.TYPE_A, IN, 300, a("192.0.2.50"))],
                zone="sign.test."), ("127.0.0.1", 1), None)  # fmt: skip
    assert reply[3] & 0xF == wire.RCODE_NOERROR
    second = served(server)
    assert second.serial == 102
    check_signed(second, ecdsa_keys)
    diff = Journal.open(str(path) + ".jnl").diffs[-1]
    added = {(wire.name_to_text(n), t) for n, t, _, _ in diff.added}
    assert ("new.sign.test.", wire.TYPE_RRSIG) in added and (
        "new.sign.test.",
        wire.TYPE_NSEC,
    ) in added
    # The signer's own types cannot be updated.
    reply = server._update(
        message(updates=[("www.sign.test.", wire.TYPE_RRSIG, ANY, 0, b"")], zone="sign.test."),
        ("127.0.0.1", 1),
        None,
    )
    assert reply[3] & 0xF == wire.RCODE_REFUSED

    # A restart replays the journal: the same zone, the same signatures, no new serial.
    restarted = start()
    assert served(restarted).serial == 102
    assert records(served(restarted)) == records(second)

    # The timer: nothing due now; at the due time, a new serial with fresh signatures,
    # journalled.
    assert server.resign_due(now=time.time()) == []
    due = server.next_resign()
    assert due is not None and due > time.time() + 86400
    [third] = server.resign_due(now=due + 1)
    assert third.serial == 103 and served(server) is third
    check_signed(third, ecdsa_keys)
    assert Journal.open(str(path) + ".jnl").diffs[-1].new_serial == 103


def test_keys_round_trip_and_errors(tmp_path: Path) -> None:
    key = keys.generate_key(ORIGIN, 15, ksk=True)
    base = keys.write_key(key, str(tmp_path), now=NOW)
    assert base.endswith(f"Ksign.test.+015+{key.tag:05d}")
    loaded = keys.load_key(base + ".private")
    assert loaded.dnskey == key.dnskey and loaded.ksk
    assert loaded.sign(b"x") == key.sign(b"x")  # Ed25519 is deterministic
    with pytest.raises(FileExistsError):
        keys.write_key(key, str(tmp_path))
    other = keys.generate_key(ORIGIN, 15)
    other_base = keys.write_key(other, str(tmp_path))
    Path(base + ".private").write_text(Path(other_base + ".private").read_text())
    with pytest.raises(keys.KeyFileError, match="does not match"):
        keys.load_key(base)
    with pytest.raises(keys.KeyFileError, match="No such file"):
        keys.load_key(str(tmp_path / "Knope"))
    Path(other_base + ".key").write_text("just text\n")
    with pytest.raises(keys.KeyFileError, match="not a DNSKEY record"):
        keys.load_key(other_base)
    # RFC 4034 Appendix B's key tag over a known DNSKEY (RFC 4034 §5.4's example key 60485).
    rd = struct.pack("!HBB", 256, 3, 5) + __import__("base64").b64decode(
        "AQOeiiR0GOMYkDshWoSKz9XzfwJr1AYtsmx3TGkJaNXVbfi/2pHm822aJ5iI9BMzNXxeYCmZDRD99WYwYqUSd"
        "jMmmAphXdvxegXd/M5+X7OrzKBaMbCVdFLUUh6DhweJBjEVv5f2wwjM9XzcnOf+EPbtG9DMBmADjFDc2w/r"
        "ljwvFw=="
    )
    assert keys.key_tag(rd) == 60485


@pytest.mark.skipif(
    subprocess.run(["which", "dnssec-keygen"], capture_output=True).returncode != 0,
    reason="needs dnssec-keygen (bind9-utils); CI installs it",
)
def test_bind_made_keys_load(tmp_path: Path) -> None:
    for algorithm, extra in (("ECDSAP256SHA256", ["-f", "KSK"]), ("ED25519", [])):
        base = subprocess.run(
            ["dnssec-keygen", "-q", "-K", str(tmp_path), "-a", algorithm, *extra, "sign.test."],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        key = keys.load_key(str(tmp_path / base))
        assert key.basename == base and key.ksk == bool(extra)


def test_config_dnssec_table(tmp_path: Path) -> None:
    key = keys.generate_key(ORIGIN, 13, ksk=True)
    base = keys.write_key(key, str(tmp_path))
    (tmp_path / "sign.test.zone").write_text(ZONE)
    conf = tmp_path / "server.toml"
    conf.write_text(
        '[[zone]]\nfile = "sign.test.zone"\n'
        f'dnssec = {{ keys = ["{Path(base).name}"], nsec3 = true, salt = "abcd", opt-out = true }}\n'
    )
    config = load_config(str(conf))
    assert config.zones[0].signing_policy == Policy(nsec3=True, salt=b"\xab\xcd", opt_out=True)
    settings = server_settings(config, [zone()])
    assert list(settings["signers"]) == ["sign.test."]
    conf.write_text(
        '[[zone]]\nfile = "sign.test.zone"\n'
        'dnssec = { keys = ["Knope"], iterations = 1000, salt = "xyz", colour = 1 }\n'
    )
    with pytest.raises(ConfigError) as info:
        load_config(str(conf))
    text = "\n".join(info.value.problems)
    for expected in ("zone[0].dnssec.keys[0]", "dnssec.salt", "dnssec.colour", "iterations"):
        assert expected in text, text


def test_cli_keygen_and_serve_errors(tmp_path: Path) -> None:
    def dns(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "dns", *argv], capture_output=True, text=True, timeout=30
        )

    made = dns("keygen", "-a", "ED25519", "-f", "KSK", "-K", str(tmp_path), "sign.test")
    assert made.returncode == 0, made.stderr
    base = made.stdout.strip()
    assert base.startswith("Ksign.test.+015+") and (tmp_path / f"{base}.private").exists()
    bad = dns("keygen", "-a", "RSASHA1", "sign.test")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr
    zone_file = tmp_path / "sign.test.zone"
    zone_file.write_text(ZONE)
    missing = dns("serve", str(zone_file), "--sign-key", str(tmp_path / "Knope"))
    assert missing.returncode == 1 and "Knope.key" in missing.stderr
    other = tmp_path / "other"
    other.mkdir()
    wrong = dns("keygen", "-K", str(other), "other.test")
    wrong_zone = dns("serve", str(zone_file), "--sign-key", str(other / wrong.stdout.strip()))
    assert wrong_zone.returncode == 1 and "other.test" in wrong_zone.stderr
    lone = dns("serve", str(zone_file), "--nsec3")
    assert lone.returncode == 2 and "--sign-key" in lone.stderr
    for result in (missing, wrong_zone, lone):
        assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1


def test_managed_types_are_replaced(ecdsa_keys: list[keys.SigningKey]) -> None:
    stale = ZONE + "@ DNSKEY 257 3 13 " + "A" * 88 + "\nwww NSEC zzz.sign.test. A\n"
    signed = Signer(ecdsa_keys).sign(zone(stale), now=NOW)
    apex = signed.nodes[signed.origin_key]
    assert len(apex.rrsets[wire.TYPE_DNSKEY].rdatas) == 2
    www = signed.node(wire.name_from_text("www.sign.test."))
    assert www is not None and b"zzz" not in www.rrsets[wire.TYPE_NSEC].rdatas[0]


def test_reload_re_signs_against_the_served_zone(
    tmp_path: Path, ecdsa_keys: list[keys.SigningKey], ed25519_csk: list[keys.SigningKey]
) -> None:
    from dns.zone import load_zone_file

    path = tmp_path / "sign.test.zone"
    path.write_text(ZONE)
    server = AuthServer([load_zone_file(str(path))], signers={"sign.test.": Signer(ecdsa_keys)})
    first = served(server)
    # The file unchanged: the zone in service stays as it is.
    assert server.replace_zones(server.load()) == []
    assert served(server) is first
    # The file edited, its serial raised: signed against the served zone.
    path.write_text(ZONE.replace("100 7200", "150 7200").replace("192.0.2.3", "192.0.2.33"))
    [second] = server.replace_zones(server.load())
    assert second.serial == 150
    check_signed(second, ecdsa_keys)
    kept = rrsigs_covering(records(first) & records(second))
    assert (wire.name_key(wire.name_from_text("mail.sign.test.")), wire.TYPE_A) in kept
    diff = Journal.open(str(path) + ".jnl").diffs[-1]
    assert (diff.old_serial, diff.new_serial) == (101, 150)
    assert any(t == wire.TYPE_RRSIG for _, t, _, _ in diff.added)
    # New keys (a configuration reload): the next reload signs with them, a new serial.
    server.configure(signers={"sign.test.": Signer(ed25519_csk)})
    [third] = server.replace_zones(server.load())
    assert third.serial == 151
    check_signed(third, ed25519_csk)
    dnskeys = third.nodes[third.origin_key].rrsets[wire.TYPE_DNSKEY].rdatas
    assert dnskeys == [ed25519_csk[0].dnskey]
    # The same keys again: nothing to do.
    server.configure(signers={"sign.test.": Signer(ed25519_csk)})
    assert server.replace_zones(server.load()) == []


async def test_the_timer_refreshes_signatures_while_serving(
    backend: backends.Backend, ed25519_csk: list[keys.SigningKey]
) -> None:
    """Signatures made to last four seconds and due two before they expire: the running
    server re-signs by itself, and answers carry the new serial and signatures."""
    policy = Policy(lifetime=4, refresh=2, jitter=0)
    server = AuthServer([zone()], signers={"sign.test.": Signer(ed25519_csk, policy)})
    first = served(server)
    async with server.running(backend, LOCAL, 0) as (udp, _tcp):
        with backend.fail_after(15):
            while served(server).serial == first.serial:
                await backend.sleep(0.1)
        reply = await udp_ask(
            backend, udp[1], query("sign.test.", wire.TYPE_SOA, do=True, edns_payload=1232)
        )
        serial = struct.unpack_from("!I", reply.answer[0].rdata, len(reply.answer[0].rdata) - 20)
        assert serial[0] > first.serial
        [sig] = [rr for rr in reply.answer if rr.rtype == wire.TYPE_RRSIG]
        check_signed(served(server), ed25519_csk)
        assert sig.rdata not in {rd for _, _, _, rd in zone_records(first)}


def test_reload_signed_in_a_worker_then_an_update_came_first(
    tmp_path: Path, ecdsa_keys: list[keys.SigningKey]
) -> None:
    """load() signs the new file against the zone served (in reload's worker thread); an
    UPDATE served before the swap makes replace_zones sign it again against that."""
    from dns.zone import load_zone_file

    path = tmp_path / "sign.test.zone"
    path.write_text(ZONE)
    server = AuthServer(
        [load_zone_file(str(path))],
        allow_update=["127.0.0.0/8"],
        signers={"sign.test.": Signer(ecdsa_keys)},
    )
    path.write_text(ZONE.replace("100 7200", "102 7200").replace("192.0.2.3", "192.0.2.33"))
    loaded = server.load()
    assert (
        loaded[0].serial == 102 and wire.TYPE_RRSIG in loaded[0].nodes[loaded[0].origin_key].rrsets
    )
    reply = server._update(
        message(
            updates=[("u.sign.test.", wire.TYPE_A, IN, 300, a("192.0.2.9"))], zone="sign.test."
        ),
        ("127.0.0.1", 1),
        None,
    )
    assert reply[3] & 0xF == wire.RCODE_NOERROR and served(server).serial == 102
    [now] = server.replace_zones(loaded)
    assert now.serial == 103  # past the update's 102: secondaries see the change
    check_signed(now, ecdsa_keys)
    diffs = Journal.open(str(path) + ".jnl").diffs
    assert [(d.old_serial, d.new_serial) for d in diffs] == [(100, 101), (101, 102), (102, 103)]
    # The file's serial is remembered as the file's (102), not the signed zone's.
    assert server.replace_zones(server.load()) == []
