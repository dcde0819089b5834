"""cohttp.ws.protocol: one test per rule of RFC 6455 section 5/7 and RFC 7692 section 6/7.

Frames are built here by hand (:func:`frame`, masking byte by byte) so the decoder is not
checked against its own encoder; the RFC's own examples are used where it gives them.
"""

from __future__ import annotations

import tracemalloc
import zlib
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cohttp.ws import (
    Bytes,
    Close,
    Connection,
    LocalProtocolError,
    Ping,
    Pong,
    ProtocolError,
    Role,
    State,
    Text,
    close_code_on_wire,
    mask,
    protocol,
)
from cohttp.ws.deflate import Compressor, Decompressor, DeflateParams, MessageTooBig

KEY = b"\x37\xfa\x21\x3d"


def frame(
    opcode: int,
    payload: bytes = b"",
    *,
    fin: bool = True,
    rsv: int = 0,
    key: bytes | None = KEY,
    length: bytes | None = None,
) -> bytes:
    """A frame as section 5.2 draws it; ``length`` overrides the length encoding."""
    b0 = (0x80 if fin else 0) | rsv << 4 | opcode
    n = len(payload)
    if length is None:
        length = (
            bytes([n])
            if n < 126
            else (b"\x7e" + n.to_bytes(2, "big") if n < 65536 else b"\x7f" + n.to_bytes(8, "big"))
        )
    if key is None:
        return bytes([b0]) + length + payload
    head = bytes([b0, length[0] | 0x80]) + length[1:]
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def events(conn: Connection, data: bytes) -> list[object]:
    conn.receive_data(data)
    out = []
    while (event := conn.next_event()) is not None:
        out.append(event)
    return out


def fails(conn: Connection, data: bytes, code: int) -> str:
    with pytest.raises(ProtocolError) as info:
        events(conn, data)
    assert info.value.code == code
    return info.value.reason


def server(**kw: object) -> Connection:
    return Connection(Role.SERVER, **kw)  # type: ignore[arg-type]


def client(**kw: object) -> Connection:
    return Connection(Role.CLIENT, **kw)  # type: ignore[arg-type]


# -- RFC 6455 section 5.7: the examples ------------------------------------------------


def test_rfc6455_examples() -> None:
    assert events(client(), bytes.fromhex("810548656c6c6f")) == [Text("Hello")]
    masked = bytes.fromhex("818537fa213d7f9f4d5158")
    assert events(server(), masked) == [Text("Hello")]
    assert events(client(), bytes.fromhex("010348656c") + bytes.fromhex("80026c6f")) == [
        Text("Hello")
    ]
    assert events(client(), bytes.fromhex("890548656c6c6f")) == [Ping(b"Hello")]
    assert events(server(), bytes.fromhex("8a8537fa213d7f9f4d5158")) == [Pong(b"Hello")]
    assert events(client(), b"\x82\x7e\x01\x00" + bytes(256)) == [Bytes(bytes(256))]
    big = client(max_frame_size=1 << 17, max_message_size=1 << 17)
    assert events(big, b"\x82\x7f" + (65536).to_bytes(8, "big") + bytes(65536)) == [
        Bytes(bytes(65536))
    ]


def test_our_encoder_matches_the_examples() -> None:
    assert server().send(Text("Hello")) == bytes.fromhex("810548656c6c6f")
    assert server().send(Ping(b"Hello")) == bytes.fromhex("890548656c6c6f")
    assert server().send(Bytes(bytes(256)))[:4] == b"\x82\x7e\x01\x00"
    assert server().send(Bytes(bytes(65536)))[:10] == b"\x82\x7f" + (65536).to_bytes(8, "big")
    wire = client().send(Text("Hello"))
    assert wire[:2] == b"\x81\x85" and mask(wire[2:6], wire[6:]) == b"Hello"


# -- section 5.1, 5.3: masking ----------------------------------------------------------


def test_client_frames_must_be_masked() -> None:
    assert "not masked" in fails(server(), frame(1, b"hi", key=None), 1002)


def test_server_frames_must_not_be_masked() -> None:
    assert "masked" in fails(client(), frame(1, b"hi"), 1002)


def test_client_masks_with_a_fresh_key_each_frame() -> None:
    c = client()
    keys = {c.send(Bytes(b"x" * 10))[2:6] for _ in range(20)}
    assert len(keys) > 1


@given(
    st.binary(min_size=4, max_size=4),
    st.binary(max_size=300) | st.binary(min_size=4090, max_size=12300),  # 4 KiB slices
)
def test_mask_is_bytewise_xor(key: bytes, data: bytes) -> None:
    assert mask(key, data) == bytes(b ^ key[i % 4] for i, b in enumerate(data))
    assert mask(key, mask(key, data)) == data


try:
    from cohttp.ws._mask import unmask as _c_unmask
except ImportError:
    _c_unmask = None
_UNMASKS = [
    pytest.param(protocol._unmask_py, id="python"),
    pytest.param(
        _c_unmask,
        id="c",
        marks=pytest.mark.skipif(
            _c_unmask is None,
            reason="cohttp/ws/_mask.c was not built (no C compiler or Python headers)",
        ),
    ),
]


@pytest.mark.parametrize("unmask", _UNMASKS)
@given(
    key=st.binary(min_size=4, max_size=4),
    data=st.binary(max_size=300) | st.binary(min_size=4090, max_size=12300),
    cut=st.tuples(st.integers(0, 20), st.integers(0, 20)),
    kind=st.sampled_from([bytes, bytearray, memoryview]),
)
def test_both_unmasks_xor_a_span_from_its_start(
    unmask: Callable[[bytes, bytes, int, int], bytes],
    key: bytes,
    data: bytes,
    cut: tuple[int, int],
    kind: type,
) -> None:
    start, end = min(cut[0], len(data)), max(len(data) - cut[1], min(cut[0], len(data)))
    got = unmask(key, kind(data), start, end)
    assert type(got) is bytes
    assert got == bytes(b ^ key[i % 4] for i, b in enumerate(data[start:end]))


@pytest.mark.skipif(_c_unmask is None, reason="cohttp/ws/_mask.c was not built")
def test_the_c_unmask_refuses_what_is_not_a_key_or_a_span() -> None:
    assert _c_unmask is not None
    with pytest.raises(ValueError, match="4 bytes, not 3"):
        _c_unmask(b"abc", b"data", 0, 4)
    with pytest.raises(ValueError, match="not within a buffer of 4 bytes"):
        _c_unmask(KEY, b"data", 2, 5)
    with pytest.raises(ValueError, match="not within"):
        _c_unmask(KEY, b"data", 3, 2)
    with pytest.raises(TypeError, match="4 arguments"):
        _c_unmask(KEY, b"data")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        _c_unmask(KEY, "text", 0, 1)  # type: ignore[arg-type]


def test_mask_takes_any_buffer_by_its_bytes() -> None:
    data = bytes(range(256)) * 40
    expected = mask(KEY, data)
    assert mask(KEY, bytearray(data)) == expected
    assert mask(KEY, memoryview(data).cast("I")) == expected  # items of 4 bytes
    assert mask(KEY, memoryview(data * 2)[::2]) == mask(KEY, (data * 2)[::2])  # strided


@pytest.mark.parametrize("n", [5, 200, 70_000])
def test_a_key_of_zeros_leaves_the_payload(n: int) -> None:
    payload = bytes(range(256)) * (n // 256) + bytes(n % 256)
    assert mask(bytes(4), payload) == payload
    conn = server(max_frame_size=1 << 20, max_message_size=1 << 20)
    assert events(conn, frame(2, payload, key=bytes(4)) + frame(2, payload)) == [
        Bytes(payload),
        Bytes(payload),
    ]


# -- section 5.2: header fields --------------------------------------------------------


@pytest.mark.parametrize("rsv", [2, 1, 3])
def test_rsv2_and_rsv3_are_errors(rsv: int) -> None:
    fails(server(), frame(1, b"x", rsv=rsv), 1002)


def test_rsv1_without_deflate_is_an_error() -> None:
    assert "RSV1" in fails(server(), frame(1, b"x", rsv=4), 1002)


@pytest.mark.parametrize("opcode", [3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF])
def test_reserved_opcodes_are_errors(opcode: int) -> None:
    assert "reserved opcode" in fails(server(), frame(opcode), 1002)


def test_lengths_must_be_minimal() -> None:
    fails(server(), frame(2, b"abc", length=b"\x7e\x00\x03"), 1002)
    fails(server(), frame(2, b"abc", length=b"\x7f" + (3).to_bytes(8, "big")), 1002)
    fails(server(), frame(2, b"", length=b"\x7f" + (1 << 63).to_bytes(8, "big")), 1002)


def test_frames_split_anywhere_decode_the_same() -> None:
    data = frame(1, "héllo".encode(), fin=False) + frame(9, b"p") + frame(0, b" w")
    for cut in range(len(data) + 1):
        conn = server()
        got = events(conn, data[:cut]) + events(conn, data[cut:])
        assert got == [Ping(b"p"), Text("héllo w")]


@given(st.lists(st.integers(1, 70_000), max_size=8), st.randoms(use_true_random=False))
def test_frames_of_every_shape_in_reads_of_any_size(sizes: list[int], rnd: object) -> None:
    """Whole frames under 126 bytes (the parse fast path), 16-bit and 64-bit lengths, a
    Ping, one Close, all in one stream cut into reads of random sizes: the same events."""
    import random

    assert isinstance(rnd, random.Random)
    messages: list[object] = []
    wire = b""
    for i, n in enumerate(sizes):
        payload = bytes(rnd.getrandbits(8) for _ in range(min(n, 64))) * (n // 64 + 1)
        payload = payload[:n]
        if i % 2:
            messages.append(Bytes(payload))
            wire += frame(2, payload)
        else:
            text = payload.decode("latin-1")
            messages.append(Text(text))
            wire += frame(1, text.encode())
        messages.append(Ping(b"p"))
        wire += frame(9, b"p")
    messages.append(Close(1000, ""))
    wire += frame(8, b"\x03\xe8")
    conn = server(max_frame_size=1 << 20, max_message_size=1 << 20)
    got: list[object] = []
    at = 0
    while at < len(wire):
        step = rnd.choice((1, 2, 7, 125, 4096, 65536, 262144))
        got += events(conn, wire[at : at + step])
        at += step
    assert got == messages
    assert not conn.receiving


@given(
    st.lists(st.integers(0, 70_000), min_size=1, max_size=6),
    st.lists(st.integers(0, 80_000), max_size=12),
    st.lists(st.integers(1, 5), max_size=12),
)
def test_reads_queued_before_parsing_decode_the_same(
    sizes: list[int], cuts: list[int], groups: list[int]
) -> None:
    """Several reads taken in before the parser runs (the driver's reads of 256 KiB hold
    many frames and end inside one): a frame that spans reads is joined on its own, the
    frames after it are parsed where they arrived, and nothing is lost or reordered."""
    wire = b""
    expected: list[object] = []
    for i, n in enumerate(sizes):
        payload = bytes((i * 7 + j) & 0xFF for j in range(min(n, 251))) * (n // 251 + 1)
        wire += frame(2, payload[:n]) + frame(10, bytes([i]))
        expected += [Bytes(payload[:n]), Pong(bytes([i]))]
    points = sorted({c % (len(wire) + 1) for c in cuts} | {len(wire)})
    reads = [wire[a:b] for a, b in zip([0, *points], points, strict=False)]
    conn = server(max_frame_size=1 << 20, max_message_size=1 << 20)
    got: list[object] = []
    at = 0
    for k in [*groups, len(reads)]:
        for data in reads[at : at + k]:
            conn.receive_data(data)
        at += k
        while (event := conn.next_event()) is not None:
            got.append(event)
    assert got == expected
    assert not conn.receiving


def test_a_burst_of_small_frames_stops_at_the_first_bad_one() -> None:
    """Small frames that arrive together are parsed in one pass; the pass stops at a
    control frame (order kept) and leaves a text frame that is not UTF-8 in place: the
    messages before it come out, then 1007 is raised, where it stands in the stream."""
    burst = (
        frame(1, b"one")
        + frame(2, b"\x00two")
        + frame(9, b"p")
        + frame(1, b"three")
        + frame(2, b"")
        + frame(1, b"")
        + frame(1, b"bad \xff")
        + frame(1, b"never")
    )
    conn = server()
    conn.receive_data(burst)
    got = [conn.next_event() for _ in range(6)]
    assert got == [
        Text("one"),
        Bytes(b"\x00two"),
        Ping(b"p"),
        Text("three"),
        Bytes(b""),
        Text(""),
    ]
    with pytest.raises(ProtocolError) as info:
        conn.next_event()
    assert info.value.code == 1007


def test_small_frames_respect_small_limits() -> None:
    """The fast path for frames under 126 bytes checks the limits too (1009)."""
    assert events(server(max_frame_size=10), frame(2, bytes(10))) == [Bytes(bytes(10))]
    fails(server(max_frame_size=10), frame(2, bytes(11)), 1009)
    fails(server(max_message_size=10), frame(1, b"x" * 11), 1009)
    fails(client(max_frame_size=10), frame(2, bytes(11), key=None), 1009)
    conn = server()
    conn.max_message_size = 10  # a limit changed after the connection was made
    assert events(conn, frame(2, bytes(10))) == [Bytes(bytes(10))]
    fails(conn, frame(2, bytes(11)), 1009)
    conn = client()
    conn.max_frame_size = 0
    assert events(conn, frame(1, b"", key=None)) == [Text("")]
    fails(conn, frame(1, b"x", key=None), 1009)


@given(st.binary(min_size=4, max_size=4), st.binary(max_size=125), st.booleans())
def test_small_frames_unmask_as_section_5_3_says(key: bytes, data: bytes, text: bool) -> None:
    """The fast path unmasks key and payload as one integer: every length 0-125, every
    key, text and binary, alone and behind another frame in the same read."""
    payload = data.decode("latin-1").encode() if text else data
    wire = frame(1 if text else 2, payload, key=key)
    want: str | bytes = payload.decode() if text else payload
    conn = server()
    conn.receive_data(frame(9, b"p", key=key[::-1]) + wire + wire)
    assert conn.next_message() == Ping(b"p")
    assert conn.next_message() == want
    assert conn.next_event() == (Text(want) if text else Bytes(want))  # type: ignore[arg-type]
    assert conn.next_message() is None


@pytest.mark.parametrize("role", [Role.SERVER, Role.CLIENT])
@pytest.mark.parametrize("deflate", [None, DeflateParams()], ids=["plain", "deflate"])
def test_send_message_is_send_of_the_event(role: Role, deflate: DeflateParams | None) -> None:
    """``send_message(data)`` is ``send(Text(data))`` / ``send(Bytes(data))``, frame for
    frame (masking aside), with the same refusals."""
    sizes = (0, 1, 125, 126, 65535, 65536, 70_000)
    for n in sizes:
        for data in ("é" * (n // 2), bytes(n)):
            a = Connection(role, deflate=deflate)
            b = Connection(role, deflate=deflate)
            event = Text(data) if isinstance(data, str) else Bytes(data)
            wire_a, wire_b = a.send_message(data), b.send(event)
            if role is Role.SERVER:
                assert wire_a == wire_b
            peer = Connection(Role.CLIENT if role is Role.SERVER else Role.SERVER, deflate=deflate)
            assert events(peer, wire_a) == [event]
    conn = Connection(role)
    wire = conn.send(Text("a", final=False))
    with pytest.raises(LocalProtocolError):
        conn.send_message(b"b")  # a fragmented message must end first
    wire += conn.send_message("b")  # ends it
    peer = Connection(Role.CLIENT if role is Role.SERVER else Role.SERVER)
    assert events(peer, wire) == [Text("ab")]
    conn.send(Close(1000))
    with pytest.raises(LocalProtocolError):
        conn.send_message("after close")
    with pytest.raises(LocalProtocolError):
        Connection(role).send_message("\ud800")  # a lone surrogate is not UTF-8


# -- section 5.4, 5.5: fragmentation and control frames --------------------------------


def test_control_frames_between_fragments() -> None:
    data = frame(1, b"a", fin=False) + frame(9, b"1") + frame(0, b"b", fin=False)
    data += frame(10, b"2") + frame(0, b"c")
    assert events(server(), data) == [Ping(b"1"), Pong(b"2"), Text("abc")]


def test_fragments_mode_delivers_pieces() -> None:
    data = frame(2, b"a", fin=False) + frame(9) + frame(0, b"b", fin=False) + frame(0, b"c")
    assert events(server(fragments=True), data) == [
        Bytes(b"a", False),
        Ping(b""),
        Bytes(b"b", False),
        Bytes(b"c", True),
    ]


def test_continuation_without_a_message() -> None:
    fails(server(), frame(0, b"x"), 1002)


def test_new_message_inside_a_fragmented_one() -> None:
    fails(server(), frame(1, b"a", fin=False) + frame(2, b"b"), 1002)


def test_control_frames_may_not_be_fragmented() -> None:
    fails(server(), frame(9, b"x", fin=False), 1002)


def test_control_payload_at_most_125() -> None:
    assert events(server(), frame(9, bytes(125))) == [Ping(bytes(125))]
    fails(server(), frame(9, bytes(126)), 1002)


# -- section 5.5.1, 7.4: Close ---------------------------------------------------------


def test_close_without_body_reports_1005() -> None:
    conn = server()
    assert events(conn, frame(8)) == [Close(1005, "")]
    assert conn.state is State.REMOTE_CLOSING


def test_close_with_a_one_byte_body() -> None:
    fails(server(), frame(8, b"\x03"), 1002)


@pytest.mark.parametrize("code", [0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535])
def test_close_codes_never_on_the_wire(code: int) -> None:
    assert not close_code_on_wire(code)
    fails(server(), frame(8, code.to_bytes(2, "big")), 1002)
    if code == 1005:  # "no status": sent as a Close without a body, never as a code
        assert server().send(Close(code)) == b"\x88\x00"
        return
    with pytest.raises(LocalProtocolError):
        server().send(Close(code))


@pytest.mark.parametrize("code", [*range(1000, 1004), *range(1007, 1015), 3000, 4999])
def test_close_codes_allowed(code: int) -> None:
    conn = server()
    assert events(conn, frame(8, code.to_bytes(2, "big") + "ré".encode())) == [Close(code, "ré")]
    assert client().send(Close(code, "x"))[:2] == b"\x88\x83"


def test_close_reason_must_be_utf8() -> None:
    fails(server(), frame(8, b"\x03\xe8\xff"), 1007)


def test_nothing_after_our_close() -> None:
    conn = server()
    conn.send(Close(1000))
    assert conn.state is State.LOCAL_CLOSING
    for event in (Text("x"), Bytes(b"x"), Ping(), Close()):
        with pytest.raises(LocalProtocolError):
            conn.send(event)
    events(conn, frame(8, b"\x03\xe8"))
    assert conn.state is State.CLOSED


def test_sending_limits() -> None:
    conn = server()
    with pytest.raises(LocalProtocolError):
        conn.send(Ping(bytes(126)))
    with pytest.raises(LocalProtocolError):
        conn.send(Close(1000, "x" * 124))
    with pytest.raises(LocalProtocolError):
        conn.send(Close(1005, "reason without code"))
    assert conn.send(Close(1005)) == b"\x88\x00"


def test_fragmented_sends_stay_one_kind() -> None:
    conn = server()
    assert conn.send(Text("a", final=False)) == b"\x01\x01a"
    assert conn.send(Ping(b"")) == b"\x89\x00"
    with pytest.raises(LocalProtocolError):
        conn.send(Bytes(b"b"))
    assert conn.send(Text("b")) == b"\x80\x01b"


# -- section 8.1: UTF-8 ----------------------------------------------------------------


def test_text_must_be_utf8() -> None:
    fails(server(), frame(1, b"\xc3\x28"), 1007)


def test_a_character_split_across_fragments() -> None:
    euro = "€".encode()
    data = frame(1, euro[:1], fin=False) + frame(0, euro[1:2], fin=False) + frame(0, euro[2:])
    assert events(server(), data) == [Text("€")]


def test_invalid_utf8_fails_before_the_message_ends() -> None:
    fails(server(), frame(1, b"ok\xff", fin=False), 1007)


def test_truncated_utf8_at_the_end_fails() -> None:
    fails(server(), frame(1, "€".encode()[:2]), 1007)


# -- limits: 1009 ----------------------------------------------------------------------


def test_frame_limit_is_checked_on_the_header_alone() -> None:
    conn = server(max_frame_size=1000)
    head = frame(2, bytes(1001))[:8]  # header and mask key only: no payload yet
    fails(conn, head, 1009)


def test_message_limit_across_fragments() -> None:
    conn = server(max_message_size=10)
    data = frame(2, bytes(6), fin=False) + frame(0, bytes(5))
    fails(conn, data, 1009)


def test_message_limit_resets_between_messages() -> None:
    conn = server(max_message_size=10)
    assert events(conn, frame(2, bytes(10)) + frame(2, bytes(10))) == [Bytes(bytes(10))] * 2


# -- RFC 7692 --------------------------------------------------------------------------


def test_rfc7692_examples() -> None:
    # 7.2.3.1: "Hello" in one compressed frame; 7.2.3.2: the window shared with the next.
    conn = client(deflate=DeflateParams())
    hello = bytes.fromhex("c107f248cdc9c90700")
    assert events(conn, hello + bytes.fromhex("c105f200110000")) == [Text("Hello")] * 2
    # 7.2.3.1, fragmented: the compressed data split over two frames.
    conn = client(deflate=DeflateParams())
    assert events(conn, bytes.fromhex("4103f248cd") + bytes.fromhex("8004c9c90700")) == [
        Text("Hello")
    ]
    # 7.2.3.3: a stored block; 7.2.3.4: a block with BFINAL set.
    conn = client(deflate=DeflateParams())
    assert events(conn, bytes.fromhex("c10b0005 00faff48656c6c6f00".replace(" ", ""))) == [
        Text("Hello")
    ]
    conn = client(deflate=DeflateParams())
    assert events(conn, bytes.fromhex("c108f348cdc9c907000000")[:10]) == [Text("Hello")]


def test_rsv1_only_on_the_first_frame() -> None:
    conn = server(deflate=DeflateParams())
    fails(conn, frame(1, b"", fin=False, rsv=4) + frame(0, b"", rsv=4), 1002)
    fails(server(deflate=DeflateParams()), frame(9, b"", rsv=4), 1002)


def test_uncompressed_messages_still_allowed_with_deflate() -> None:
    assert events(server(deflate=DeflateParams()), frame(1, b"plain")) == [Text("plain")]


def test_invalid_compressed_data_is_1007() -> None:
    fails(server(deflate=DeflateParams()), frame(1, b"\xff\xff\xff", rsv=4), 1007)


def _bomb(size: int) -> bytes:
    z = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = bytes(1 << 20)
    out = [z.compress(chunk) for _ in range(size >> 20)]
    out.append(z.flush(zlib.Z_SYNC_FLUSH))
    return b"".join(out)[:-4]


def test_a_deflate_bomb_stops_at_the_limit_without_allocating() -> None:
    payload = _bomb(256 << 20)  # 256 MiB of zeros in about 256 KB
    assert len(payload) < 300_000
    conn = server(deflate=DeflateParams(), max_frame_size=1 << 20, max_message_size=1 << 20)
    tracemalloc.start()
    try:
        fails(conn, frame(2, payload, rsv=4), 1009)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20  # the limit (1 MiB) plus the frame, never the 256 MiB


def test_decompressor_output_never_exceeds_the_limit() -> None:
    with pytest.raises(MessageTooBig):
        Decompressor(False).inflate(_bomb(8 << 20), True, 1000)
    assert Decompressor(False).inflate(_bomb(1 << 20), True, 1 << 20) == bytes(1 << 20)


def test_context_takeover() -> None:
    text = "the same sentence, again and again " * 4
    taking = server(deflate=DeflateParams())
    first, second = taking.send(Text(text)), taking.send(Text(text))
    assert len(second) < len(first)
    resetting = server(deflate=DeflateParams(server_no_context_takeover=True))
    assert resetting.send(Text(text)) == resetting.send(Text(text))
    peer = client(deflate=DeflateParams(server_no_context_takeover=True))
    assert events(peer, first + first) == [Text(text)] * 2


def test_window_bits_8_is_honoured() -> None:
    data = ("abcdefgh" * 40 + "0123456789" * 100).encode()
    out = Compressor(8, False, 9, 8).compress(data, True)
    assert zlib.decompressobj(-8).decompress(out + b"\x00\x00\xff\xff") == data


def test_compressed_fragments_round_trip() -> None:
    params = DeflateParams()
    sender, receiver = client(deflate=params), server(deflate=params, fragments=True)
    wire = sender.send(Text("abc" * 50, final=False)) + sender.send(Ping(b"x"))
    wire += sender.send(Text("def" * 50))
    assert events(receiver, wire) == [Text("abc" * 50, False), Ping(b"x"), Text("def" * 50)]
    assert wire[0] & 0x40  # RSV1 on the first frame only
