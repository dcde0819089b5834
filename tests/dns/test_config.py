"""The TOML configuration: what it holds, every problem reported as one line with file and
key path (``dns check --config``), and ``dns serve --config`` with two listeners, keys,
per-zone ACLs, and SIGHUP reloading the configuration with its zones."""

from __future__ import annotations

import base64
import signal
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dns import tsig, wire
from dns.__main__ import main as cli
from dns.config import ConfigError, load_config
from tests.dns.test_journal import SERIAL, version
from tests.peers import free_port, wait_until_answering

ROOT = str(Path(__file__).resolve().parents[2])
SECRET = base64.b64encode(b"config-secret-0123456789abcdef!!").decode()
KEY = tsig.parse_key(f"hmac-sha256:xfr.key:{SECRET}")
OTHER_ZONE = """$ORIGIN other.test.
$TTL 300
@ SOA ns admin 7 3600 900 604800 120
  NS ns
ns A 192.0.2.9
"""


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "diff.test.zone").write_text(version(SERIAL))
    (tmp_path / "other.test.zone").write_text(OTHER_ZONE)
    path = tmp_path / "server.toml"
    path.write_text(text)
    return path


GOOD = f"""
listen = ["127.0.0.1:{{port}}", "127.0.0.1:{{port2}}"]
allow-transfer = ["127.0.0.0/8"]

[[key]]
name = "xfr.key"
algorithm = "hmac-sha256"
secret = "{SECRET}"

[[zone]]
file = "diff.test.zone"
allow-transfer = ["key:xfr.key"]

[[zone]]
file = "other.test.zone"
origin = "other.test"
"""


def test_a_good_configuration(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, GOOD.format(port=5301, port2=5302))
    config = load_config(str(path))
    assert config.listen == [("127.0.0.1", 5301), ("127.0.0.1", 5302)]
    assert config.keys == [KEY]
    assert [Path(z.file).name for z in config.zones] == ["diff.test.zone", "other.test.zone"]
    assert config.zones[0].allow_transfer == ["key:xfr.key"]
    assert config.zones[1].allow_transfer is None  # the default applies
    assert cli(["check", "--config", str(path)]) == 0
    out = capsys.readouterr().out
    assert "zone diff.test. serial" in out and "zone other.test. serial 7" in out


def test_every_problem_is_one_line_with_its_key_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(
        tmp_path,
        f"""
listen = ["127.0.0.1:99999"]
notify = ["127.0.0.1:0"]
colour = "blue"

[[key]]
name = "xfr.key"
algorithm = "hmac-md5"
secret = "{SECRET}"

[[key]]
name = "bad.key"
secret = "not base64!"

[[zone]]
file = "diff.test.zone"
allow-update = ["key:nobody", "10.0.0.0/33"]

[[zone]]
origin = "x..y"
""",
    )
    with pytest.raises(ConfigError) as info:
        load_config(str(path))
    expected = [
        "listen[0]",
        "notify[0]",
        "colour: unknown setting",
        "key[0].algorithm",
        "key[1].secret",
        "zone[0].allow-update[0]: 'key:nobody' names a key that is not defined",
        "zone[0].allow-update[1]",
        "zone[1].origin",
        "zone[1].file",
    ]
    problems = info.value.problems
    for where in expected:
        assert any(p.startswith(f"{path}: ") and where in p for p in problems), where
    assert cli(["check", "--config", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == len(problems) and "Traceback" not in err
    # Not TOML at all: one line.
    path.write_text("listen = [\n")
    assert cli(["check", "--config", str(path)]) == 1
    assert capsys.readouterr().err.count("\n") == 1
    # A zone file that does not load: file and line, exit 1.
    path.write_text('[[zone]]\nfile = "diff.test.zone"\n')
    (tmp_path / "diff.test.zone").write_text(version(SERIAL) + "bad A 1.2.3\n")
    assert cli(["check", "--config", str(path)]) == 1
    assert "diff.test.zone:" in capsys.readouterr().err
    # Zone files and --config together: a usage error.
    assert cli(["check", "--config", str(path), "x.zone"]) == 2


def soa_serial(port: int, zone: str) -> int | None:
    q = wire.build_query(wire.name_from_text(zone), wire.TYPE_SOA, msg_id=5)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.5)
        s.sendto(q, ("127.0.0.1", port))
        try:
            msg = wire.Message.parse(s.recv(4096))
        except OSError:
            return None
    if not msg.answer or not msg.aa:
        return None
    rd = msg.answer[0].rdata
    return int(struct.unpack_from("!I", rd, len(rd) - 20)[0])


def axfr_rcode(port: int, zone: str, key: tsig.Key | None) -> int:
    q = wire.build_query(wire.name_from_text(zone), wire.TYPE_AXFR, msg_id=6)
    if key is not None:
        q, _ = tsig.sign_request(q, key, now=time.time())
    with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
        c.sendall(struct.pack("!H", len(q)) + q)
        head = c.recv(2)
        n = struct.unpack("!H", head)[0]
        data = b""
        while len(data) < n:
            data += c.recv(n - len(data))
    return wire.parse_header(data).flags & 0xF


def test_serve_config_listeners_acls_and_sighup(tmp_path: Path) -> None:
    port, port2 = free_port(), free_port()
    path = write(tmp_path, GOOD.format(port=port, port2=port2))
    log = tmp_path / "serve.log"
    with open(log, "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "dns", "serve", "--config", str(path)],
            stdout=subprocess.DEVNULL,
            stderr=err,
            cwd=ROOT,
        )
    try:
        wait_until_answering(port, proc, zone="diff.test.", what="dns serve", deadline=30)
        assert soa_serial(port2, "other.test.") == 7  # the second listener
        # diff.test: transfer only with the key; other.test: the default network ACL.
        assert axfr_rcode(port, "diff.test.", None) == wire.RCODE_REFUSED
        assert axfr_rcode(port, "diff.test.", KEY) == wire.RCODE_NOERROR
        assert axfr_rcode(port, "other.test.", None) == wire.RCODE_NOERROR
        # SIGHUP: the configuration (now without other.test, and the key gone from the ACL)
        # and the zones (a new serial) are read again.
        (tmp_path / "diff.test.zone").write_text(version(SERIAL + 1))
        path.write_text(
            GOOD.format(port=port, port2=port2)
            .split('[[zone]]\nfile = "other')[0]
            .replace('allow-transfer = ["key:xfr.key"]', 'allow-transfer = ["10.0.0.0/8"]')
        )
        proc.send_signal(signal.SIGHUP)
        end = time.monotonic() + 15
        while soa_serial(port, "diff.test.") != SERIAL + 1 and time.monotonic() < end:
            time.sleep(0.1)
        assert soa_serial(port, "diff.test.") == SERIAL + 1
        assert soa_serial(port, "other.test.") is None  # no longer served
        assert axfr_rcode(port, "diff.test.", KEY) == wire.RCODE_REFUSED
        # A broken configuration on SIGHUP: the old one stays, the log says why.
        path.write_text("listen = [")
        proc.send_signal(signal.SIGHUP)
        while "reload failed" not in log.read_text() and time.monotonic() < end + 10:
            time.sleep(0.05)
        assert "reload failed" in log.read_text() and proc.poll() is None
        assert soa_serial(port, "diff.test.") == SERIAL + 1
    finally:
        proc.terminate()
        proc.wait(5)


def test_catalog_zone_rfc_9432() -> None:
    """Version 2, one PTR per member under zones., labels stable, the serial moving only
    when the members change (and always forward, RFC 1982)."""
    from dns.catalog import catalog_zone, member_label, members

    name = wire.name_from_text("catalog.invalid.")
    a, b = wire.name_from_text("a.test."), wire.name_from_text("B.test.")
    first = catalog_zone(name, [a, b], clock=lambda: 1000.0)
    version_node = first.node(wire.name_from_text("version.catalog.invalid."))
    assert version_node is not None and version_node.rrsets[wire.TYPE_TXT].rdatas == [b"\x012"]
    assert members(first) == {(b"a", b"test"), (b"b", b"test")}
    label = member_label(a)
    node = first.node((label, b"zones", *name))
    assert node is not None and node.rrsets[wire.TYPE_PTR].rdatas == [wire.encode_name(a)]
    assert member_label(wire.name_from_text("A.TEST.")) == label  # case does not matter
    assert first.serial == 1000
    assert catalog_zone(name, [b, a], first, clock=lambda: 5000.0) is first  # same members
    second = catalog_zone(name, [a], first, clock=lambda: 900.0)  # clock went back
    assert second.serial == 1001 and members(second) == {(b"a", b"test")}
    # The catalog is not its own member.
    assert members(catalog_zone(name, [a, name])) == {(b"a", b"test")}


def test_serve_command_line_errors_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The one-zone command line: --key, --allow-axfr/--allow-update key:NAME, --journal;
    each mistake one line, exit status 2, before anything is served."""
    zone = tmp_path / "diff.test.zone"
    zone.write_text(version(SERIAL))
    other = tmp_path / "other.test.zone"
    other.write_text(OTHER_ZONE)
    good_key = f"xfr.key:{SECRET}"
    for argv, says in [
        (["--allow-update", "key:nobody", "--key", good_key], "names key nobody"),
        (["--allow-axfr", "key:nobody"], "names key nobody"),
        (["--key", "xfr.key:not base64!"], "not base64"),
        (["--key", f"hmac-md5:xfr.key:{SECRET}"], "unknown TSIG algorithm"),
        (["--allow-update", "key:a..b"], "not a domain name"),
        (["--notify", "127.0.0.1:53 key:nobody", "--key", good_key], "names key nobody"),
        (["--journal", str(tmp_path / "j"), str(other)], "exactly one zone file"),
    ]:
        files = [a for a in argv if a.endswith(".zone")]
        options = [a for a in argv if a not in files]
        try:
            status = cli(["serve", str(zone), *files, "--port", "0", *options])
        except SystemExit as exc:  # argparse's own exit, for a bad option value
            status = int(exc.code or 0)
        err = capsys.readouterr().err
        assert status == 2, (argv, err)
        assert says in err and err.count("\n") == 1 and "Traceback" not in err, (argv, err)


def test_journal_path_given(tmp_path: Path) -> None:
    """--journal FILE (journal_paths) puts the journal there instead of beside the zone."""
    from dns.server import AuthServer
    from dns.zone import load_zone_file

    zone = tmp_path / "diff.test.zone"
    zone.write_text(version(SERIAL))
    elsewhere = tmp_path / "journals" / "diff.jnl"
    elsewhere.parent.mkdir()
    server = AuthServer([load_zone_file(str(zone))], journal_paths={"diff.test": str(elsewhere)})
    zone.write_text(version(SERIAL + 1, "x A 10.0.0.1\n"))
    server.replace_zones(server.load())
    assert elsewhere.exists() and not (tmp_path / "diff.test.zone.jnl").exists()
    again = AuthServer([load_zone_file(str(zone))], journal_paths={"diff.test.": str(elsewhere)})
    assert again.journals[again.zones[0].origin_key].chain(SERIAL, SERIAL + 1) is not None
