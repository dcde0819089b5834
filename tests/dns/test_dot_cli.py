"""The TLS options of ``dns serve`` and ``dns query``: each mistake is one line and dig's
(or argparse's) exit status, never a traceback; the options parse as kdig spells them."""

from __future__ import annotations

from pathlib import Path

import pytest

from dns.query_cli import UsageError, parse_args
from tests.dns.test_serve_cli_errors import run, zone  # noqa: F401 (a fixture)


def test_tls_port_without_a_certificate(zone: Path, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    status, err = run(["serve", str(zone), "--port", "0", "--tls-port", "0"], capsys)
    assert status == 2
    assert err.strip() == "error: --tls-port and --https-port need --ssl-certfile"


def test_a_certificate_that_cannot_be_loaded(
    zone: Path,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bad = tmp_path / "not-a-cert.pem"
    bad.write_text("hello\n")
    for path in (bad, tmp_path / "missing.pem"):
        argv = ["serve", str(zone), "--port", "0", "--https-port", "0", "--ssl-certfile", str(path)]
        status, err = run(argv, capsys)
        assert status == 1
        assert err.count("\n") == 1 and f"cannot load the certificate {path}" in err


def test_query_tls_options_parse_as_kdig_spells_them() -> None:
    opts = parse_args(["www.ocaml.test", "+tls-ca=/ca.pem", "+tls-hostname=dns.test"])
    assert (opts.tls, opts.tls_ca, opts.tls_hostname, opts.https) == (
        True,
        "/ca.pem",
        "dns.test",
        None,
    )
    assert parse_args(["x.test", "+tls"]).tls and parse_args(["x.test", "+tls-ca"]).tls_ca is None
    assert parse_args(["x.test", "+https"]).https == "/dns-query"
    assert parse_args(["x.test", "+https=/q"]).https == "/q"
    assert not parse_args(["x.test", "+tls", "+notls"]).tls
    for bad in ("+https=q", "+tls-hostname=", "+tls=1"):
        with pytest.raises(UsageError):
            parse_args(["x.test", bad])
