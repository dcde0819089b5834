"""``python -m dns serve --tls-port --https-port`` against real clients: kdig ``+tls``
(``+tls-ca`` ``+tls-hostname``), curl as a DoH client (RFC 8484 GET and POST), and our own
``dns query +tls`` / ``+https`` as processes.

kdig's ``+https`` speaks HTTP/2 only: it is tested in test_doh_h2.py, against the same
server (this module's fixture); here curl is the HTTP/1.1 DoH peer.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dns import doh, dot, wire
from tests.conftest import need_tool

pytestmark = pytest.mark.interop
trustme = pytest.importorskip("trustme")

ROOT = Path(__file__).resolve().parents[2]
ZONE = ROOT / "examples" / "zones" / "ocaml.test.zone"
HOSTNAME = "dns.test"


class Served:
    def __init__(self, ca: str, tls_port: int, https_port: int) -> None:
        self.ca, self.tls_port, self.https_port = ca, tls_port, https_port


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    where = tmp_path_factory.mktemp("dns-tls")
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(where / "ca.pem"))
    ca.issue_cert(HOSTNAME, "127.0.0.1").private_key_and_cert_chain_pem.write_to_path(
        str(where / "server.pem")
    )
    zone = where / "ocaml.test.zone"
    zone.write_text(ZONE.read_text())
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "dns", "serve", str(zone), "--port", "0"),
            *("--tls-port", "0", "--https-port", "0"),
            *("--ssl-certfile", str(where / "server.pem")),
        ],
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert proc.stderr is not None
        ports: dict[str, int] = {}
        deadline = time.monotonic() + 30
        while len(ports) < 2 and time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line:
                break
            m = re.search(r"DNS over (TLS) on \S+ port (\d+)|DNS over (HTTPS) on \S+:(\d+)/", line)
            if m:
                ports[m.group(1) or m.group(3)] = int(m.group(2) or m.group(4))
        assert len(ports) == 2, "dns serve did not announce its TLS and HTTPS ports"
        yield Served(str(where / "ca.pem"), ports["TLS"], ports["HTTPS"])
    finally:
        proc.terminate()
        proc.wait(10)


def kdig(served: Served, *args: str) -> subprocess.CompletedProcess[str]:
    need_tool("kdig")
    return subprocess.run(
        ["kdig", "@127.0.0.1", "-p", str(served.tls_port), "+tls", "+time=5", "+retry=0", *args],
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_kdig_over_tls_gets_padded_answers(served: Served) -> None:
    out = kdig(served, f"+tls-ca={served.ca}", f"+tls-hostname={HOSTNAME}", "www.ocaml.test", "A")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "status: NOERROR" in out.stdout
    assert re.search(r"ocaml\.test\.\s+\d+\s+IN\s+A\s+127\.0\.0\.1", out.stdout)
    assert "PADDING" in out.stdout and "Received 468 B" in out.stdout  # RFC 8467


def test_kdig_refuses_a_wrong_host_name(served: Served) -> None:
    out = kdig(served, f"+tls-ca={served.ca}", "+tls-hostname=wrong.test", "ocaml.test", "SOA")
    assert out.returncode != 0
    assert "status: NOERROR" not in out.stdout


def curl(
    served: Served, *args: str, body: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    need_tool("curl")
    return subprocess.run(
        [
            *("curl", "-s", "--http1.1", "--cacert", served.ca, "--max-time", "10"),
            *("--resolve", f"{HOSTNAME}:{served.https_port}:127.0.0.1", *args),
        ],
        input=body,
        capture_output=True,
        timeout=30,
    )


def test_curl_gets_and_posts_dns_messages(served: Served) -> None:
    query = wire.build_query(wire.name_from_text("ocaml.test."), wire.TYPE_MX, edns_payload=1232)
    url = f"https://{HOSTNAME}:{served.https_port}/dns-query"
    got = curl(served, f"{url}?dns={doh.encode_dns_param(query)}")
    posted = curl(
        served, "-H", f"content-type: {doh.CONTENT_TYPE}", "--data-binary", "@-", url, body=query
    )
    for out in (got, posted):
        assert out.returncode == 0, out.stderr
        message = wire.Message.parse(out.stdout)
        assert message.rcode == wire.RCODE_NOERROR and len(message.answer) == 2
        assert len(out.stdout) % dot.RESPONSE_BLOCK == 0


def dns_query(served: Served, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dns", "query", "@127.0.0.1", f"+tls-ca={served.ca}", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )


def test_our_dns_query_over_tls_and_https(served: Served) -> None:
    tls = dns_query(
        served, "-p", str(served.tls_port), "+tls", f"+tls-hostname={HOSTNAME}", "www.ocaml.test"
    )
    assert tls.returncode == 0, tls.stderr
    assert "(TLS)" in tls.stdout and "127.0.0.1" in tls.stdout
    https = dns_query(
        served,
        "-p",
        str(served.https_port),
        "+https",
        f"+tls-hostname={HOSTNAME}",
        "ocaml.test",
        "MX",
        "+short",
    )
    assert https.returncode == 0, https.stderr
    assert sorted(https.stdout.split("\n")) == ["", "10 mx.ocaml.test.", "20 mx2.ocamllabs.test."]


def test_our_dns_query_names_the_wrong_host(served: Served) -> None:
    out = dns_query(
        served, "-p", str(served.tls_port), "+tls-hostname=wrong.test", "+tries=1", "ocaml.test"
    )
    assert out.returncode == 9  # dig's "no servers could be reached"
    assert "wrong.test" in out.stdout and "another host name" in out.stdout
    assert "Traceback" not in out.stderr
