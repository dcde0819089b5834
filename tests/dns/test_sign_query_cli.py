"""``dns query`` with DNSSEC and TSIG, as dig spells them: ``+dnssec`` (the DO bit; the
signed zone's records printed), ``-k FILE`` (a TSIG key file as ``tsig-keygen`` writes it),
against our server started with the key; dig reading the same file agrees when present."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from dns.query_cli import UsageError, main, read_key_file
from tests.peers import free_port, stop, wait_until_answering

SECRET = "cXVlcnktY2xpLWtleS1maWxlLXNlY3JldC0wMTIzNDU2Nw=="
KEY_FILE = f"""# made for the test, in tsig-keygen's layout
key "cli.key" {{
\talgorithm hmac-sha256;
\tsecret "{SECRET}";
}};
"""
ZONE = """$ORIGIN cli.test.
$TTL 300
@ SOA ns admin 7 3600 600 86400 60
@ NS ns
ns A 192.0.2.1
www A 192.0.2.80
"""


def test_key_file_is_read_as_tsig_keygen_writes_it(tmp_path: Path) -> None:
    path = tmp_path / "cli.key"
    path.write_text(KEY_FILE)
    key = read_key_file(str(path))
    assert key.text_name.rstrip(".") == "cli.key" and key.algorithm == "hmac-sha256"
    for text, problem in [
        ("", "expected key"),
        ('key "k" { algorithm hmac-sha256; };', "algorithm and a secret"),
        ('key "k" { algorithm hmac-md4; secret "YWJj"; };', "unknown TSIG algorithm"),
        ('key "k" { algorithm hmac-sha256 secret "YWJj"; };', "expected ';'"),
        ('key "k" { algorithm hmac-sha256; secret "%%%"; };', "not base64"),
    ]:
        path.write_text(text)
        with pytest.raises(UsageError, match=problem):
            read_key_file(str(path))
    with pytest.raises(UsageError, match="No such file"):
        read_key_file(str(tmp_path / "absent.key"))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    tmp = tmp_path_factory.mktemp("query-cli")
    zone = tmp / "cli.test.zone"
    zone.write_text(ZONE)
    port = free_port()
    argv = [sys.executable, "-m", "dns", "serve", str(zone), "--port", str(port)]
    argv += ["--key", f"hmac-sha256:cli.key:{SECRET}", "--journal", str(tmp / "j")]
    proc = subprocess.Popen(
        argv,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_answering(port, proc, zone="cli.test.")
        yield port
    finally:
        stop(proc)


def test_k_signs_and_verifies_like_dig(
    server: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "cli.key"
    path.write_text(KEY_FILE)
    args = ["www.cli.test.", "A", "@127.0.0.1", "-p", str(server), "+norec"]
    assert main([*args, "-k", str(path)]) == 0
    out = capsys.readouterr().out
    assert "192.0.2.80" in out and "status: NOERROR" in out
    assert "Couldn't verify" not in out
    # A wrong secret: the server answers NOTAUTH with BADSIG, unsigned (RFC 8945 §5.2.2).
    path.write_text(KEY_FILE.replace(SECRET, "d3Jvbmctc2VjcmV0"))
    assert main([*args, "-k", str(path)]) == 0
    bad = capsys.readouterr().out
    assert "status: NOTAUTH" in bad
    if shutil.which("dig"):
        theirs = subprocess.run(
            ["dig", *args, "-k", str(path)], capture_output=True, text=True, timeout=30
        ).stdout
        assert "status: NOTAUTH" in theirs


def test_dnssec_sets_the_do_bit(server: int, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["www.cli.test.", "A", "@127.0.0.1", "-p", str(server)]
    assert main([*args, "+dnssec"]) == 0
    assert "flags: do;" in capsys.readouterr().out
    assert main(args) == 0
    assert "flags: do;" not in capsys.readouterr().out
