"""DNS over HTTPS in HTTP/2 (RFC 8484 §5.2) from ``python -m dns serve --https-port``:
kdig ``+https`` (Knot's client; libnghttp2, HTTP/2 only), POST and GET, gets the answers
our authoritative server gives over DoT; curl ``--http2`` and h2load against the same
endpoint. The server process is test_dns_tls.py's fixture."""

from __future__ import annotations

import re
import subprocess

import pytest

from dns import doh, wire
from tests.conftest import need_tool
from tests.interop.test_dns_tls import HOSTNAME, Served, served

pytestmark = pytest.mark.interop
__all__ = ["served"]  # the fixture, shared with test_dns_tls.py


def kdig(served: Served, *args: str) -> subprocess.CompletedProcess[str]:
    need_tool("kdig")
    return subprocess.run(
        [
            *("kdig", "@127.0.0.1", "-p", str(served.https_port), "+time=5", "+retry=0"),
            *(f"+tls-ca={served.ca}", f"+tls-hostname={HOSTNAME}", *args),
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )


def answers(text: str) -> list[str]:
    """The answer section's records as ``name type data``, TTLs left out."""
    section = text.split(";; ANSWER SECTION:", 1)[1].split("\n\n", 1)[0]
    return sorted(
        " ".join(line.split()[:1] + line.split()[3:]) for line in section.strip().splitlines()
    )


@pytest.mark.parametrize("mode", ["+https", "+https-get"])
def test_kdig_https_gets_our_answers(served: Served, mode: str) -> None:
    out = kdig(served, mode, "www.ocaml.test", "A")
    assert out.returncode == 0, out.stdout + out.stderr
    method = "GET" if mode.endswith("get") else "POST"
    assert f"HTTP session (HTTP/2-{method})-({HOSTNAME}/dns-query)-(status: 200)" in out.stdout
    assert "status: NOERROR" in out.stdout
    assert answers(out.stdout) == [
        "ocaml.test. A 127.0.0.1",
        "www.ocaml.test. CNAME ocaml.test.",
    ]
    assert "PADDING" in out.stdout and "Received 468 B" in out.stdout  # RFC 8467


def test_kdig_https_answers_match_dot(served: Served) -> None:
    """The same question over HTTP/2 and over DoT (RFC 7858): the same records."""
    over_https = kdig(served, "+https", "ocaml.test", "MX")
    assert over_https.returncode == 0, over_https.stdout + over_https.stderr
    over_tls = subprocess.run(
        [
            *("kdig", "@127.0.0.1", "-p", str(served.tls_port), "+tls", "+time=5", "+retry=0"),
            *(f"+tls-ca={served.ca}", f"+tls-hostname={HOSTNAME}", "ocaml.test", "MX"),
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert over_tls.returncode == 0, over_tls.stdout + over_tls.stderr
    assert answers(over_https.stdout) == answers(over_tls.stdout)
    assert answers(over_https.stdout) == [
        "ocaml.test. MX 10 mx.ocaml.test.",
        "ocaml.test. MX 20 mx2.ocamllabs.test.",
    ]


def test_kdig_https_nxdomain(served: Served) -> None:
    out = kdig(served, "+https", "nothing-here.ocaml.test", "A")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "status: NXDOMAIN" in out.stdout


def test_curl_http2_and_h2load(served: Served) -> None:
    need_tool("curl", "h2load")
    query = wire.build_query(wire.name_from_text("ocaml.test."), wire.TYPE_MX, edns_payload=1232)
    url = f"https://{HOSTNAME}:{served.https_port}/dns-query?dns={doh.encode_dns_param(query)}"
    out = subprocess.run(
        [
            *("curl", "-sS", "--http2", "--cacert", served.ca, "--max-time", "10"),
            *("--resolve", f"{HOSTNAME}:{served.https_port}:127.0.0.1"),
            *("-D", "-", "-o", "/dev/null", url),
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("HTTP/2 200")
    assert re.search(r"cache-control: max-age=3600", out.stdout)
    load = subprocess.run(
        ["h2load", "-n", "2000", "-c", "4", "-m", "10", url.replace(HOSTNAME, "127.0.0.1")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "2000 succeeded, 0 failed, 0 errored" in load.stdout, load.stdout + load.stderr
    assert "status codes: 2000 2xx" in load.stdout
