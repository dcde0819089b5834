"""cohttp.ws.handshake and the permessage-deflate negotiation (RFC 6455 4, RFC 7692 7.1)."""

from __future__ import annotations

import base64

import pytest

from cohttp.ws import (
    DeflateOptions,
    DeflateParams,
    HandshakeError,
    NegotiationError,
    accept_key,
    client_handshake,
    parse_extensions,
    server_handshake,
)

KEY = "dGhlIHNhbXBsZSBub25jZQ=="


def request(**override: str | None) -> list[tuple[str, str]]:
    fields = {
        "Host": "server.example.com",
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": KEY,
        "Sec-WebSocket-Version": "13",
    }
    for name, value in override.items():
        name = name.replace("_", "-")
        if value is None:
            fields.pop(name, None)
        else:
            fields[name] = value
    return list(fields.items())


def refused(status: int, method: str = "GET", **kw: object) -> HandshakeError:
    fields = kw.pop("fields", request())
    with pytest.raises(HandshakeError) as info:
        server_handshake(method, fields, **kw)  # type: ignore[arg-type]
    assert info.value.status == status
    return info.value


def test_rfc6455_section_1_3_example() -> None:
    assert accept_key(KEY) == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def test_server_accepts() -> None:
    accepted = server_handshake("GET", request(), deflate=None)
    assert accepted.headers == [
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
    ]
    assert accepted.subprotocol is None and accepted.deflate is None


def test_tokens_are_case_insensitive_and_lists() -> None:
    fields = request(Upgrade="WebSocket", Connection="keep-alive, UPGRADE")
    assert server_handshake("GET", fields).headers[2][1] == accept_key(KEY)


def test_bytes_fields_as_asgi_has_them() -> None:
    fields = [(n.lower().encode(), v.encode()) for n, v in request()]
    assert server_handshake("GET", fields).headers[2][1] == accept_key(KEY)


def test_no_upgrade_is_426_with_upgrade_field() -> None:
    err = refused(426, fields=request(Upgrade=None))
    assert ("Upgrade", "websocket") in err.headers
    refused(426, fields=request(Upgrade="h2c"))


def test_other_version_is_426_naming_13() -> None:
    err = refused(426, fields=request(Sec_WebSocket_Version="8"))
    assert ("Sec-WebSocket-Version", "13") in err.headers
    refused(426, fields=request(Sec_WebSocket_Version=None))
    refused(426, fields=request(Sec_WebSocket_Version="13, 8"))


def test_method_must_be_get() -> None:
    assert "GET" in refused(400, "POST").message


def test_http_1_0_refused() -> None:
    refused(400, http_version="HTTP/1.0")


def test_host_required_once() -> None:
    refused(400, fields=request(Host=None))
    refused(400, fields=[*request(), ("Host", "other")])


def test_connection_upgrade_required() -> None:
    refused(400, fields=request(Connection="keep-alive"))


@pytest.mark.parametrize(
    "key",
    [
        base64.b64encode(bytes(15)).decode(),
        base64.b64encode(bytes(17)).decode(),
        "not base64 at all!!!!!!=",
        "dGhlIHNhbXBsZSBub25jZQ",  # padding missing
        "",
        "dGhlIHNhbXBsZSBub25jZQ==\u00e9",
    ],
)
def test_key_must_be_16_bytes_base64(key: str) -> None:
    refused(400, fields=request(Sec_WebSocket_Key=key))


def test_two_keys_refused() -> None:
    refused(400, fields=[*request(), ("Sec-WebSocket-Key", KEY)])


def test_origin_allow_list() -> None:
    ok = request(Origin="https://good.example")
    server_handshake("GET", ok, origins={"https://good.example"})
    refused(403, fields=request(Origin="https://evil.example"), origins={"https://good.example"})
    refused(403, fields=request(), origins={"https://good.example"})


def test_subprotocol_by_server_preference() -> None:
    fields = request(Sec_WebSocket_Protocol="chat, superchat")
    accepted = server_handshake("GET", fields, subprotocols=["superchat", "chat"])
    assert accepted.subprotocol == "superchat"
    assert ("Sec-WebSocket-Protocol", "superchat") in accepted.headers
    assert server_handshake("GET", fields, subprotocols=["mqtt"]).subprotocol is None


def test_parse_extensions() -> None:
    assert parse_extensions(
        ['permessage-deflate; client_max_window_bits; server_max_window_bits="10", foo', "x-y"]
    ) == [
        (
            "permessage-deflate",
            [("client_max_window_bits", None), ("server_max_window_bits", "10")],
        ),
        ("foo", []),
        ("x-y", []),
    ]
    assert parse_extensions([" , a ;b=c ,"]) == [("a", [("b", "c")])]
    for bad in ["a;", "a b", 'a; b="c d"', "a; =1", 'a; b="unterminated', ";"]:
        with pytest.raises(ValueError):
            parse_extensions([bad])


def test_malformed_extensions_are_400() -> None:
    refused(400, fields=request(Sec_WebSocket_Extensions="permessage-deflate; ="))


# -- permessage-deflate negotiation ----------------------------------------------------


def accept(offer: str, options: DeflateOptions | None = None) -> tuple[DeflateParams, str]:
    fields = request(Sec_WebSocket_Extensions=offer)
    accepted = server_handshake("GET", fields, deflate=options or DeflateOptions())
    assert accepted.deflate is not None
    return accepted.deflate, accepted.headers[-1][1]


def test_plain_offer() -> None:
    assert accept("permessage-deflate") == (DeflateParams(), "permessage-deflate")


def test_offered_parameters_are_honoured() -> None:
    params, response = accept(
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover;"
        " server_max_window_bits=10; client_max_window_bits"
    )
    assert params == DeflateParams(True, True, 10, 15)
    assert response == (
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover;"
        " server_max_window_bits=10"
    )


def test_server_limits_the_client_window_only_when_offered() -> None:
    options = DeflateOptions(client_max_window_bits=12)
    params, response = accept("permessage-deflate; client_max_window_bits", options)
    assert params.client_max_window_bits == 12 and response.endswith("client_max_window_bits=12")
    _, response = accept("permessage-deflate", options)
    assert "client_max_window_bits" not in response  # 7.1.2.2: MUST NOT


@pytest.mark.parametrize(
    "offer",
    [
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; server_max_window_bits=7",
        "permessage-deflate; server_max_window_bits=08",
        "permessage-deflate; server_max_window_bits=\u0661\u0662",  # Arabic-Indic digits
        "permessage-deflate; server_max_window_bits",
        "permessage-deflate; client_max_window_bits=1x",
        "permessage-deflate; server_no_context_takeover=1",
        "permessage-deflate; unknown",
        "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
    ],
)
def test_invalid_offers_are_declined(offer: str) -> None:
    try:
        accepted = server_handshake("GET", request(Sec_WebSocket_Extensions=offer))
    except HandshakeError:
        return  # not even a token: 400
    assert accepted.deflate is None and len(accepted.headers) == 3


def test_a_declined_offer_falls_back_to_the_next() -> None:
    offer = "permessage-deflate; unknown, permessage-deflate; server_no_context_takeover"
    params, _ = accept(offer)
    assert params.server_no_context_takeover


def test_deflate_refused_by_server_option() -> None:
    fields = request(Sec_WebSocket_Extensions="permessage-deflate")
    assert server_handshake("GET", fields, deflate=None).deflate is None


def test_client_confirm_rules() -> None:
    offered = DeflateOptions(server_no_context_takeover=True, server_max_window_bits=10)
    with pytest.raises(NegotiationError):
        offered.confirm([])  # snct offered: must be in the response (7.1.1.1)
    with pytest.raises(NegotiationError):
        offered.confirm([("server_no_context_takeover", None), ("server_max_window_bits", "12")])
    assert offered.confirm(
        [("server_no_context_takeover", None), ("server_max_window_bits", "9")]
    ) == DeflateParams(True, False, 9, 15)
    with pytest.raises(NegotiationError):
        DeflateOptions(client_max_window_bits=10).confirm([("client_max_window_bits", "11")])
    with pytest.raises(NegotiationError):
        DeflateOptions().confirm([("mystery", None)])


# -- client side -----------------------------------------------------------------------


def test_client_request_has_a_fresh_key() -> None:
    a, b = client_handshake("h:81"), client_handshake("h:81")
    assert a.key != b.key and len(base64.b64decode(a.key)) == 16
    fields = dict(a.headers)
    assert fields["Host"] == "h:81" and fields["Sec-WebSocket-Version"] == "13"
    assert fields["Sec-WebSocket-Extensions"] == "permessage-deflate; client_max_window_bits"


def test_client_and_server_agree() -> None:
    for options in (
        DeflateOptions(),
        DeflateOptions(server_no_context_takeover=True, client_max_window_bits=9),
        DeflateOptions(server_max_window_bits=8, client_no_context_takeover=True),
    ):
        hs = client_handshake("h", subprotocols=["b", "a"], deflate=options)
        server = server_handshake("GET", hs.headers, subprotocols=["a"], deflate=DeflateOptions())
        client = hs.verify(101, server.headers)
        assert client.deflate == server.deflate is not None
        assert client.subprotocol == server.subprotocol == "a"


def test_client_verify_errors() -> None:
    hs = client_handshake("h", subprotocols=["a"])
    good = server_handshake("GET", hs.headers, deflate=None).headers
    assert hs.verify(101, good).deflate is None
    with pytest.raises(HandshakeError) as info:
        hs.verify(403, good)
    assert info.value.status == 403
    bad_accept = [(n, "x" if n == "Sec-WebSocket-Accept" else v) for n, v in good]
    no_upgrade = [(n, v) for n, v in good if n != "Upgrade"]
    for fields in (
        bad_accept,
        no_upgrade,
        [*good, ("Sec-WebSocket-Protocol", "b")],
        [*good, ("Sec-WebSocket-Extensions", "x-other")],
        [*good, ("Sec-WebSocket-Extensions", "permessage-deflate; server_max_window_bits=99")],
        [*good, ("Sec-WebSocket-Extensions", "permessage-deflate, permessage-deflate")],
    ):
        with pytest.raises(HandshakeError):
            hs.verify(101, fields)
    plain = client_handshake("h", deflate=None)
    extended = [*server_handshake("GET", plain.headers).headers]
    extended.append(("Sec-WebSocket-Extensions", "permessage-deflate"))
    with pytest.raises(HandshakeError):
        plain.verify(101, extended)  # not offered
