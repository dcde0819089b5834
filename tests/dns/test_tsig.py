"""TSIG (RFC 8945): signing and verifying, the errors a server answers, and our server with
``dig -y`` and ``kdig -y`` as clients (queries and AXFR, keys in ACLs)."""

from __future__ import annotations

import base64
import struct
import subprocess
import time

import pytest

import backends
from dns import tsig, wire
from dns.server import AuthServer
from dns.zone import parse_zone_text
from tests.conftest import need_tool
from tests.dns.test_server_answers import DIFF_ZONE
from tests.dns.test_server_net import LOCAL, Reader, framed, query, udp_ask
from tests.peers import KernelLink

SECRET = base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
KEY = tsig.parse_key(f"hmac-sha256:xfr.key:{SECRET}")
OTHER = tsig.parse_key(f"hmac-sha512:other.key:{SECRET}")
NOW = 1_700_000_000.0


def soa_query(msg_id: int = 7) -> bytes:
    return query("diff.test.", wire.TYPE_SOA, msg_id=msg_id)


# ---------------------------------------------------------------------------- keys


def test_key_forms() -> None:
    assert tsig.parse_key(f"xfr.key:{SECRET}") == KEY  # hmac-sha256 by default, as dig
    assert tsig.parse_key(f"xfr.key:HMAC-SHA256:{SECRET}") == KEY  # NAME:ALG:SECRET
    assert tsig.parse_key(f"hmac-sha1:k:{SECRET}").algorithm == "hmac-sha1"
    for bad, why in [
        (f"hmac-md4:k:{SECRET}", "unknown TSIG algorithm"),
        ("k:not base64!", "not base64"),
        ("k:", "empty"),
        ("just-a-name", "expected"),
    ]:
        with pytest.raises(ValueError, match=why):
            tsig.parse_key(bad)


# ---------------------------------------------------------------------------- sans-IO


def test_request_and_response_round_trip() -> None:
    keyring = tsig.Keyring([KEY, OTHER])
    signed, mac = tsig.sign_request(soa_query(), KEY, now=NOW)
    assert tsig.find(signed) is not None and len(mac) == 32
    verified = tsig.verify_request(signed, keyring, now=NOW + 10)
    assert verified is not None and verified.key == KEY
    assert verified.message == soa_query()  # the TSIG stripped, ARCOUNT restored
    response = b"\x00\x07\x84\x00" + soa_query()[4:]
    reply = verified.sign_response(response, now=NOW + 11)
    assert tsig.ResponseVerifier(KEY, mac).verify(reply, now=NOW + 12) == response
    # The response's MAC covers the request's: another request's MAC does not verify it.
    with pytest.raises(tsig.TsigError) as info:
        tsig.ResponseVerifier(KEY, b"x" * 32).verify(reply, now=NOW)
    assert info.value.error == tsig.BADSIG
    # Unsigned: nothing to verify.
    assert tsig.verify_request(soa_query(), keyring, now=NOW) is None


def test_every_algorithm_verifies() -> None:
    for alg in ("hmac-sha1", "hmac-sha224", "hmac-sha256", "hmac-sha384", "hmac-sha512"):
        key = tsig.parse_key(f"{alg}:k.:{SECRET}")
        signed, _ = tsig.sign_request(soa_query(), key, now=NOW)
        assert tsig.verify_request(signed, tsig.Keyring([key]), now=NOW) is not None


def _resign_truncated(data: bytes, size: int) -> bytes:
    """The signed request with its MAC cut to ``size`` bytes (the MAC size field too)."""
    record = tsig.find(data)
    assert record is not None
    head = data[: record.start]
    rr = data[record.start :]
    name_len = len(wire.encode_name(record.key_name))
    alg_len = len(wire.encode_name(record.algorithm))
    fixed = name_len + 10 + alg_len + 8  # up to the MAC size field
    full = len(record.mac)
    rdlen = struct.unpack_from("!H", rr, name_len + 8)[0] - (full - size)
    return (
        head
        + rr[: name_len + 8]
        + struct.pack("!H", rdlen)
        + rr[name_len + 10 : fixed]
        + struct.pack("!H", size)
        + record.mac[:size]
        + rr[fixed + 2 + full :]
    )


def test_truncated_macs() -> None:
    """RFC 8945 §5.2.2.1: a MAC may be cut to the larger of 10 octets and half the hash;
    shorter (or longer than the hash) is FORMERR."""
    keyring = tsig.Keyring([KEY])
    signed, _ = tsig.sign_request(soa_query(), KEY, now=NOW)
    assert tsig.verify_request(_resign_truncated(signed, 16), keyring, now=NOW) is not None
    with pytest.raises(tsig.TsigError) as info:
        tsig.verify_request(_resign_truncated(signed, 15), keyring, now=NOW)
    assert info.value.rcode == wire.RCODE_FORMERR
    assert info.value.response is not None
    assert wire.Message.parse(info.value.response).rcode == wire.RCODE_FORMERR


def _tsig_of(reply: bytes) -> tsig.Record:
    record = tsig.find(reply)
    assert record is not None
    return record


def test_errors_are_answered_as_nsd_answers_them() -> None:
    keyring = tsig.Keyring([KEY])
    # Unknown key: NOTAUTH, TSIG error BADKEY, no MAC.
    signed, _ = tsig.sign_request(soa_query(), OTHER, now=NOW)
    with pytest.raises(tsig.TsigError) as info:
        tsig.verify_request(signed, keyring, now=NOW)
    reply = info.value.response
    assert reply is not None and wire.Message.parse(reply).rcode == wire.RCODE_NOTAUTH
    assert _tsig_of(reply).error == tsig.BADKEY and _tsig_of(reply).mac == b""
    # Right name, wrong secret: BADSIG.
    wrong = tsig.Key(KEY.name, KEY.algorithm, b"another secret")
    signed, _ = tsig.sign_request(soa_query(), wrong, now=NOW)
    with pytest.raises(tsig.TsigError) as info:
        tsig.verify_request(signed, keyring, now=NOW)
    assert info.value.response is not None
    assert _tsig_of(info.value.response).error == tsig.BADSIG
    # A byte of the message changed after signing: BADSIG.
    signed, _ = tsig.sign_request(soa_query(), KEY, now=NOW)
    tampered = signed[:3] + bytes([signed[3] ^ 0x10]) + signed[4:]
    with pytest.raises(tsig.TsigError) as info:
        tsig.verify_request(tampered, keyring, now=NOW)
    assert info.value.error == tsig.BADSIG
    # Outside the fudge: BADTIME, signed, carrying our time.
    signed, mac = tsig.sign_request(soa_query(), KEY, now=NOW)
    with pytest.raises(tsig.TsigError) as info:
        tsig.verify_request(signed, keyring, now=NOW + 301)
    reply = info.value.response
    assert reply is not None
    record = _tsig_of(reply)
    assert record.error == tsig.BADTIME and record.time_signed == int(NOW)
    high, low = struct.unpack("!HI", record.other)
    assert (high << 32) | low == int(NOW) + 301
    with pytest.raises(tsig.TsigError) as info:  # signed with our key: the client sees BADTIME
        tsig.ResponseVerifier(KEY, mac).verify(reply, now=NOW)
    assert info.value.error == tsig.BADTIME


def test_multi_message_signing_covers_the_previous_mac() -> None:
    """RFC 8945 §5.3.1: each later message is covered by the MAC before it and the timers;
    unsigned messages between signed ones are covered by the next signed one."""
    signed, mac = tsig.sign_request(soa_query(), KEY, now=NOW)
    verified = tsig.verify_request(signed, tsig.Keyring([KEY]), now=NOW)
    assert verified is not None
    bodies = [b"\x00\x07\x84\x00" + soa_query()[4:] for _ in range(3)]
    signer = verified.stream()
    stream = [signer.sign(body, now=NOW) for body in bodies]
    check = tsig.ResponseVerifier(KEY, mac)
    assert [check.verify(m, now=NOW) for m in stream] == bodies
    check.finish()
    # Swapping two messages breaks the chain.
    check = tsig.ResponseVerifier(KEY, mac)
    check.verify(stream[0], now=NOW)
    with pytest.raises(tsig.TsigError):
        check.verify(stream[2], now=NOW)
    # An unsigned last message is refused.
    check = tsig.ResponseVerifier(KEY, mac)
    check.verify(stream[0], now=NOW)
    check.verify(bodies[1], now=NOW)
    with pytest.raises(tsig.TsigError, match="last message"):
        check.finish()


def test_malformed_tsig_records() -> None:
    signed, _ = tsig.sign_request(soa_query(), KEY, now=NOW)
    for cut in range(1, 40):
        data = signed[:-cut]
        try:
            tsig.verify_request(data, tsig.Keyring([KEY]), now=NOW)
        except tsig.TsigError as exc:
            assert exc.response is not None
            assert wire.Message.parse(exc.response).rcode in (
                wire.RCODE_FORMERR,
                wire.RCODE_NOTAUTH,
            )
        except wire.WireError:
            pass
        else:
            raise AssertionError(f"a TSIG cut by {cut} bytes verified")


# ---------------------------------------------------------------------------- our server


def server(**kw: object) -> AuthServer:
    return AuthServer([parse_zone_text(DIFF_ZONE)], keys=[KEY], **kw)  # type: ignore[arg-type]


async def test_server_answers_signed_and_refuses_bad_signatures(
    backend: backends.Backend,
) -> None:
    async with server().running(backend, LOCAL, 0) as (udp, _tcp):
        signed, mac = tsig.sign_request(soa_query(), KEY, now=time.time())
        ep = await backend.udp_bind(LOCAL, 0)
        try:
            replies = []
            for message in (
                signed,
                tsig.sign_request(soa_query(), OTHER, now=time.time())[0],
                tsig.sign_request(soa_query(), KEY, now=time.time() - 1000)[0],
                soa_query(),  # unsigned: answered unsigned
            ):
                await ep.send(message, (LOCAL, udp[1]))
                with backend.fail_after(5):
                    replies.append((await ep.recv())[0])
        finally:
            await ep.close()
        good = tsig.ResponseVerifier(KEY, mac).verify(replies[0], now=time.time())
        msg = wire.Message.parse(good)
        assert msg.rcode == wire.RCODE_NOERROR and msg.answer[0].rtype == wire.TYPE_SOA
        assert _tsig_of(replies[1]).error == tsig.BADKEY
        assert wire.Message.parse(replies[1]).rcode == wire.RCODE_NOTAUTH
        assert _tsig_of(replies[2]).error == tsig.BADTIME
        assert tsig.find(replies[3]) is None
        assert (await udp_ask(backend, udp[1], soa_query())).answer


async def read_signed_transfer(
    net: backends.Backend, port: int, key: tsig.Key, data: bytes
) -> list[bytes]:
    signed, mac = tsig.sign_request(data, key, now=time.time())
    check = tsig.ResponseVerifier(key, mac)
    flow = await net.tcp_connect(LOCAL, port)
    out = []
    async with flow:
        await flow.write(framed(signed))
        reader = Reader(flow)
        with net.fail_after(10):
            while True:
                raw = await reader.message()
                assert raw is not None
                out.append(check.verify(raw, now=time.time()))
                msg = wire.Message.parse(out[-1])
                if msg.rcode or (
                    len(out) + len(msg.answer) > 1
                    and msg.answer[-1:]
                    and msg.answer[-1].rtype == wire.TYPE_SOA
                ):
                    break
    check.finish()
    return out


async def test_axfr_signed_with_an_allowed_key(backend: backends.Backend) -> None:
    text = DIFF_ZONE + "\n".join(f"h{i} A 10.0.{i // 256}.{i % 256}" for i in range(3000))
    zone = parse_zone_text(text)
    srv = AuthServer([zone], keys=[KEY, OTHER], allow_transfer=["key:xfr.key"])
    async with srv.running(backend, LOCAL, 0) as (_udp, tcp):
        messages = await read_signed_transfer(
            backend, tcp[1], KEY, query("diff.test.", wire.TYPE_AXFR)
        )
        assert len(messages) > 2  # every message signed, each over the one before
        count = sum(len(wire.Message.parse(m).answer) for m in messages)
        assert count == zone.record_count() + 1
        # Signed with a key the server knows but the ACL does not name: REFUSED (signed).
        [refused] = await read_signed_transfer(
            backend, tcp[1], OTHER, query("diff.test.", wire.TYPE_AXFR)
        )
        assert wire.Message.parse(refused).rcode == wire.RCODE_REFUSED


# ---------------------------------------------------------------------------- dig and kdig


def run(argv: list[str]) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    return done.stdout + done.stderr


@pytest.mark.parametrize("tool", ["dig", "kdig"])
async def test_dig_and_kdig_as_clients(
    backend: backends.Backend, kernel: KernelLink, tool: str
) -> None:
    """dig and kdig (on mirage: inside the namespace whose TAP device our stack owns)."""
    need_tool(tool)
    srv = server(allow_transfer=["key:xfr.key"])
    async with srv.running(backend, kernel.host, 0) as (_udp, tcp):
        port = str(tcp[1])
        tries = "+tries=1" if tool == "dig" else "+retry=0"
        base = kernel.argv(tool, f"@{kernel.host}", "-p", port, tries, "+time=5")
        good = f"hmac-sha256:xfr.key:{SECRET}"
        out = await backend.run_in_thread(run, [*base, "-y", good, "diff.test.", "SOA"])
        assert "status: NOERROR" in out and "diff.test." in out
        assert "TSIG" in out and "NOERROR" in out.split("TSIG", 1)[1]
        assert "verify" not in out.lower() or "failure" not in out.lower()
        wrong = "hmac-sha256:xfr.key:" + base64.b64encode(b"another secret!!").decode()
        out = await backend.run_in_thread(run, [*base, "-y", wrong, "diff.test.", "SOA"])
        # dig shows NOTAUTH and the TSIG error; kdig shows the TSIG error as the status.
        assert "BADSIG" in out and "status: NOERROR" not in out
        unknown = "hmac-sha256:nobody.key:" + SECRET
        out = await backend.run_in_thread(run, [*base, "-y", unknown, "diff.test.", "SOA"])
        assert "BADKEY" in out and "status: NOERROR" not in out
        axfr = await backend.run_in_thread(
            run, [*base, "-y", good, "diff.test.", "AXFR", "+noall", "+answer"]
        )
        zone = parse_zone_text(DIFF_ZONE)
        records = [
            line
            for line in axfr.splitlines()
            if line and not line.startswith(";") and "TSIG" not in line
        ]
        assert len(records) == zone.record_count() + 1
        refused = await backend.run_in_thread(run, [*base, "diff.test.", "AXFR"])
        assert "Transfer failed" in refused or "REFUSED" in refused
