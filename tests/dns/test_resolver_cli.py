"""The dig-like CLI (dns.query_cli): argument parsing, output, exit status.

The server here is a plain UDP socket in a thread that answers one query (or stays silent),
since ``main`` runs its own event loop; zone transfers ask ``python -m dns serve`` in a
subprocess. Every exit status is dig's for the same mistake (checked against dig 9.18).
"""

from __future__ import annotations

import contextlib
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dns import wire
from dns.query_cli import InputError, UsageError, main, parse_args
from dns.zone import load_zone_file
from tests.peers import free_port, stop, wait_until_answering

ROOT = Path(__file__).resolve().parents[2]
ZONE = ROOT / "examples" / "zones" / "ocaml.test.zone"


def test_parse_args() -> None:
    o = parse_args(
        [
            "example.com",
            "mx",
            "@192.0.2.1",
            "-p",
            "5353",
            "+tcp",
            "+short",
            "+norec",
            "+noedns",
            "+time=0.5",
            "+tries=3",
            "--backend",
            "trio",
        ]
    )
    assert (o.name, o.rtype, o.server, o.port) == ("example.com", wire.TYPE_MX, "192.0.2.1", 5353)
    assert o.tcp and o.short and not o.recurse and not o.edns
    assert (o.timeout, o.tries, o.backend) == (0.5, 3, "trio")
    o = parse_args(["-x", "2001:db8::1"])
    assert o.rtype == wire.TYPE_PTR and o.name.endswith(".ip6.arpa.")
    o = parse_args(["example.com", "CH", "TXT"])
    assert (o.rclass, o.rtype) == (wire.CLASS_CH, wire.TYPE_TXT)
    o = parse_args(["-t", "TYPE65280", "example.com"])
    assert o.rtype == 65280


@pytest.mark.parametrize(
    ("argv", "problem"),
    [
        ([], "no name"),
        (["a.example", "-p", "x"], "-p needs a port"),
        (["a.example", "-p", "70000"], "-p needs a port"),
        (["a.example", "-p", "\u00b2"], "-p needs a port"),  # isdigit() says yes to '²'
        (["a.example", "-p", "1" * 5000], "-p needs a port"),
        (["a.example", "-p", "0"], "-p needs a port"),
        (["a.example", "+bogus"], "unknown option"),
        (["a.example", "A", "extra"], "unexpected argument"),
        (["-x", "not-ip"], "not an IP"),
        (["a.example", "-z"], "unknown option"),
    ],
)
def test_usage_errors(argv: list[str], problem: str, capsys: pytest.CaptureFixture[str]) -> None:
    """dig exits 1 for what it cannot parse as a command line."""
    with pytest.raises(UsageError, match=problem):
        parse_args(argv)
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("dns query: ") and problem in err.splitlines()[0]
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("argv", "problem"),
    [
        (["a..b"], "'a..b' is not a legal name (empty label"),
        (["a" * 64 + ".test"], "is not a legal name"),
        (["x" + ".abcdefghi" * 26], "is not a legal name"),
        (["a.example", "+time=abc"], "invalid timeout 'abc'"),
        (["a.example", "+time=\u00b2"], "invalid timeout"),
        (["a.example", "+tries=abc"], "invalid tries 'abc'"),
        (["a.example", "+retry=-1"], "invalid retry '-1'"),
        (["ocaml.test", "IXFR=abc"], "invalid serial number 'abc'"),
        (["ocaml.test", "IXFR=99999999999"], "invalid serial number"),
    ],
)
def test_input_dig_cannot_use_exits_10(
    argv: list[str], problem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """dig exits 10 for a name that is not legal and for unparsable +time/+tries/serials,
    after one line naming the problem; nothing is sent."""
    with pytest.raises(InputError):
        parse_args(argv)
    assert main([*argv, "@127.0.0.1", "-p", "9"]) == 10
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and problem in captured.err, captured.err
    assert captured.out == ""


def test_unknown_type_after_t_is_ignored_with_a_warning(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``-t bogus``: dig warns, ignores it and asks for A."""
    o = parse_args(["-t", "bogus", "a.example"])
    assert o.rtype == wire.TYPE_A
    assert ";; Warning, ignoring invalid type bogus" in capsys.readouterr().err


def test_plus_time_zero_is_one_second() -> None:
    """dig takes ``+time=0`` as one second rather than refusing it."""
    assert parse_args(["a.example", "+time=0"]).timeout == 1.0


def test_a_server_name_that_does_not_resolve_exits_10(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``@NAME`` that cannot be looked up: dig's "couldn't get address", status 10. (A name
    that is not legal fails before anything is asked, so no resolver is contacted.)"""
    assert main(["a.example", "@bad..server"]) == 10
    err = capsys.readouterr().err
    assert err.startswith("dns query: couldn't get address for 'bad..server':")
    assert err.count("\n") == 1


def refused_port() -> int:
    """A loopback port where nothing listens, over UDP or TCP."""
    return free_port()


@pytest.mark.parametrize("transport", ["+tcp", "AXFR"])
def test_connection_refused_over_tcp_is_reported_at_once(
    transport: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Nothing on the port: dig's ``communications error to HOST#PORT: connection refused``
    for each try, then ``no servers could be reached``, status 9 — without waiting for
    +time (60 s here). AXFR goes over TCP by itself, so it is refused the same way."""
    port = refused_port()
    started = time.monotonic()
    status = main(["ocaml.test", transport, "@127.0.0.1", "-p", str(port), "+time=60"])
    assert time.monotonic() - started < 30  # far below one +time
    assert status == 9
    out = capsys.readouterr().out
    assert f";; communications error to 127.0.0.1#{port}: connection refused\n" in out
    assert out.endswith(";; no servers could be reached\n")


def test_connection_refused_over_udp_is_reported_at_once(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """dig learns "connection refused" over UDP from the ICMP port unreachable at once."""
    port = refused_port()
    started = time.monotonic()
    status = main(["ocaml.test", "@127.0.0.1", "-p", str(port), "+time=8", "+tries=1"])
    assert time.monotonic() - started < 4
    assert status == 9
    out = capsys.readouterr().out
    assert f";; communications error to 127.0.0.1#{port}: connection refused" in out


@contextlib.contextmanager
def serving(zone: Path) -> Iterator[int]:
    """``python -m dns serve ZONE`` on a free port, AXFR allowed from loopback."""
    port = free_port()
    serve = [sys.executable, "-m", "dns", "serve", str(zone), "--port", str(port)]
    proc = subprocess.Popen(
        [*serve, "--allow-axfr", "127.0.0.0/8"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        origin = wire.name_to_text(load_zone_file(str(zone)).origin)
        wait_until_answering(port, proc, zone=origin, deadline=30)
        yield port
    finally:
        stop(proc)


@pytest.fixture(scope="module")
def ocaml_server() -> Iterator[int]:
    """The example zone, served."""
    with serving(ZONE) as port:
        yield port


@pytest.mark.parametrize("backend_name", ["asyncio", "trio"])
def test_axfr_goes_over_tcp_and_prints_the_whole_zone(
    ocaml_server: int, backend_name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """AXFR without +tcp: over TCP by itself, every record of the zone between the two
    SOAs, dig's closing summary."""
    argv = ["ocaml.test", "AXFR", "@127.0.0.1", "-p", str(ocaml_server)]
    assert main([*argv, "--backend", backend_name]) == 0
    out = capsys.readouterr().out
    records = [line for line in out.splitlines() if line and not line.startswith(";")]
    zone = load_zone_file(str(ZONE))
    assert len(records) == zone.record_count() + 1  # the SOA opens and closes it
    assert records[0].split("\t")[3] == "SOA" and records[-1] == records[0]
    assert f";; SERVER: 127.0.0.1#{ocaml_server}(127.0.0.1) (TCP)" in out
    assert f";; XFR size: {len(records)} records (messages 1," in out


def test_ixfr_from_an_older_serial_and_from_the_current_one(
    ocaml_server: int, capsys: pytest.CaptureFixture[str]
) -> None:
    """IXFR=SERIAL over TCP: from an older serial the whole zone (AXFR-style, RFC 1995
    section 4, our server keeps no history), from the current one a single SOA."""
    zone = load_zone_file(str(ZONE))
    base = ["ocaml.test", "@127.0.0.1", "-p", str(ocaml_server), "+short"]
    assert main([*base, f"IXFR={zone.serial - 1}"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == zone.record_count() + 1
    assert main([*base, f"IXFR={zone.serial}"]) == 0
    (soa,) = capsys.readouterr().out.splitlines()
    assert soa.split()[2] == str(zone.serial)


def one_shot_server(answer: bool) -> Iterator[int]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5)

    def serve() -> None:
        try:
            data, client = sock.recvfrom(4096)
        except OSError:
            return
        if not answer:
            return
        q = wire.Message.parse(data)
        b = wire.MessageBuilder(q.id, wire.make_flags(qr=True, aa=True, rd=q.rd))
        b.add_question(q.question[0].name, q.question[0].qtype)
        b.add_rr(
            wire.SECTION_ANSWER,
            q.question[0].name,
            wire.TYPE_A,
            wire.CLASS_IN,
            42,
            bytes([192, 0, 2, 42]),
        )
        sock.sendto(b.finish(), client)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield int(sock.getsockname()[1])
    finally:
        sock.close()
        thread.join(5)


@pytest.mark.parametrize("backend_name", ["asyncio", "trio"])
def test_full_and_short_output(backend_name: str, capsys: pytest.CaptureFixture[str]) -> None:
    for port in one_shot_server(True):
        assert main(["host.example", "@127.0.0.1", "-p", str(port), "--backend", backend_name]) == 0
    out = capsys.readouterr().out
    assert ";; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: " in out
    assert ";; flags: qr aa rd; QUERY: 1, ANSWER: 1, AUTHORITY: 0, ADDITIONAL: 0" in out
    assert ";host.example.\t\tIN\tA" in out
    assert "host.example.\t42\tIN\tA\t192.0.2.42" in out
    assert ";; SERVER: 127.0.0.1#" in out and "(UDP)" in out
    for port in one_shot_server(True):
        assert main(["host.example", "@127.0.0.1", "-p", str(port), "+short"]) == 0
    assert capsys.readouterr().out == "192.0.2.42\n"


def test_no_answer_exits_9(capsys: pytest.CaptureFixture[str]) -> None:
    for port in one_shot_server(False):
        assert main(["host.example", "@127.0.0.1", "-p", str(port), "+time=0.1", "+tries=1"]) == 9
    assert "no servers could be reached" in capsys.readouterr().out


def test_unknown_backend_exits_10(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["host.example", "@127.0.0.1", "--backend", "nope"]) == 10
    assert "unknown backend" in capsys.readouterr().err


def test_backend_options(capsys: pytest.CaptureFixture[str]) -> None:
    o = parse_args(
        [
            "a.example",
            "--backend",
            "mirage",
            "--tap",
            "tap9",
            "--ip",
            "10.9.0.2/24",
            "--gateway",
            "10.9.0.1",
        ]
    )
    assert o.backend_options == {"tap": "tap9", "ip": "10.9.0.2/24", "gateway": "10.9.0.1"}
    # Options the chosen backend does not take are reported, not a traceback.
    assert main(["a.example", "@127.0.0.1", "--tap", "tap9"]) == 10
    assert "no options" in capsys.readouterr().err


def test_axfr_of_many_messages_ends_at_the_closing_soa(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A zone too big for one message: every message is read, each record printed once,
    and the transfer ends at the SOA that closes it (RFC 5936 section 2.2)."""
    zone = tmp_path / "big.test.zone"
    lines = ["$ORIGIN big.test.", "$TTL 300", "@ SOA ns1 admin 7 3600 900 604800 120", "@ NS ns1"]
    lines.append("ns1 A 192.0.2.1")
    lines.extend(f'host{i} TXT "{"x" * 60} {i}"' for i in range(1500))
    zone.write_text("\n".join(lines) + "\n")
    with serving(zone) as port:
        assert main(["big.test", "AXFR", "@127.0.0.1", "-p", str(port), "+short"]) == 0
        short = capsys.readouterr().out.splitlines()
        assert main(["big.test", "AXFR", "@127.0.0.1", "-p", str(port)]) == 0
        full = capsys.readouterr().out
    assert len(short) == 1500 + 4  # the SOA twice, NS, A and every TXT
    assert sorted(set(short)) == sorted(short[1:])  # only the closing SOA repeats
    assert short[0] == short[-1] == "ns1.big.test. admin.big.test. 7 3600 900 604800 120"
    summary = re.search(r"^;; XFR size: (\d+) records \(messages (\d+), bytes", full, re.M)
    assert summary is not None, full
    assert int(summary.group(1)) == 1504 and int(summary.group(2)) > 1
