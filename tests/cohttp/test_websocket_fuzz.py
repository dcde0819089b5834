"""Whatever a peer sends, the WebSocket codec, the handshake and the content decoder raise
only their documented errors (design.md, "Bad input"), never a builtin."""

from __future__ import annotations

import gzip

from hypothesis import given, settings
from hypothesis import strategies as st

from cohttp.compression import AVAILABLE, Decoder, DecodingError, compress_bytes
from cohttp.ws import (
    Bytes,
    Close,
    Connection,
    DeflateParams,
    HandshakeError,
    Ping,
    Pong,
    ProtocolError,
    Role,
    Text,
    accept_key,
    server_handshake,
)
from cohttp.ws.handshake import client_handshake


def frames() -> st.SearchStrategy[bytes]:
    """Mostly well-formed frame headers with random bits, lengths and payloads."""
    header = st.tuples(st.integers(0, 255), st.integers(0, 255))
    return st.builds(
        lambda h, key, payload: bytes(h) + key + payload,
        header,
        st.binary(min_size=0, max_size=4),
        st.binary(max_size=200),
    )


@settings(max_examples=400, deadline=None)
@given(
    st.lists(frames() | st.binary(max_size=50), max_size=8),
    st.booleans(),
    st.booleans(),
    st.booleans(),
    st.lists(st.integers(1, 64), max_size=5),
)
def test_codec_raises_only_protocol_errors(
    pieces: list[bytes], client: bool, deflate: bool, fragments: bool, cuts: list[int]
) -> None:
    conn = Connection(
        Role.CLIENT if client else Role.SERVER,
        deflate=DeflateParams() if deflate else None,
        fragments=fragments,
        max_frame_size=1000,
        max_message_size=1000,
    )
    data = b"".join(pieces)
    try:
        pos = 0
        for cut in [*cuts, len(data)]:
            conn.receive_data(data[pos : pos + cut])
            pos += cut
            while (event := conn.next_event()) is not None:
                assert isinstance(event, Text | Bytes | Ping | Pong | Close)
    except ProtocolError as exc:
        assert exc.code in (1002, 1007, 1009)


header_names = st.sampled_from(
    [
        "Host",
        "Upgrade",
        "Connection",
        "Sec-WebSocket-Key",
        "Sec-WebSocket-Version",
        "Sec-WebSocket-Extensions",
        "Sec-WebSocket-Protocol",
        "Origin",
    ]
)
header_values = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=60)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(header_names, header_values), max_size=10), st.sampled_from(["GET", "POST"])
)
def test_handshake_raises_only_handshake_errors(fields: list[tuple[str, str]], method: str) -> None:
    base = dict(client_handshake("h").headers)
    for name, value in fields:
        base[name] = value
    try:
        accepted = server_handshake(method, list(base.items()), subprotocols=["chat"])
    except HandshakeError as exc:
        assert exc.status in (400, 403, 426)
    else:
        assert accepted.headers[2] == (
            "Sec-WebSocket-Accept",
            accept_key(base["Sec-WebSocket-Key"].strip(" \t")),
        )


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(AVAILABLE),
    st.binary(max_size=300),
    st.integers(0, 200),
    st.binary(max_size=20),
)
def test_decoder_raises_only_decoding_errors(
    coding: str, garbage: bytes, cut: int, suffix: bytes
) -> None:
    body = compress_bytes(coding, b"payload " * 40)
    for data in (garbage, body[:cut] + suffix, body + suffix, gzip.compress(garbage)):
        decoder = Decoder(coding, 1000)
        try:
            out = decoder.feed(data)
            decoder.finish()
        except DecodingError:
            continue
        assert len(out) <= 1000
