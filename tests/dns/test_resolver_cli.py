"""The dig-like CLI (dns.query_cli): argument parsing, output, exit status.

The server here is a plain UDP socket in a thread that answers one query (or stays silent),
since ``main`` runs its own event loop.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from dns import wire
from dns.query_cli import UsageError, main, parse_args


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
        (["a.example", "+bogus"], "unknown option"),
        (["a.example", "A", "extra"], "unexpected argument"),
        (["-x", "not-ip"], "not an IP"),
        (["a.example", "-z"], "unknown option"),
        (["a.example", "+time=0"], "positive"),
    ],
)
def test_usage_errors(argv: list[str], problem: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(UsageError, match=problem):
        parse_args(argv)
    assert main(argv) == 1
    assert problem in capsys.readouterr().err


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
