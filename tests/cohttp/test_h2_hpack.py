"""cohttp.h2.hpack: RFC 7541 Appendix C's examples, and a differential against the hpack
package (its encoder into our decoder, our encoder into its decoder), plus the limits."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cohttp.h2 import hpack
from cohttp.h2.hpack import Decoder, Encoder, HeaderListTooLarge, HPACKError

oracle = pytest.importorskip("hpack")


def unhex(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


# -- RFC 7541 Appendix C ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "prefix", "wire"),
    [(10, 5, "0a"), (1337, 5, "1f9a0a"), (42, 8, "2a")],  # C.1.1, C.1.2, C.1.3
)
def test_integer_examples(value: int, prefix: int, wire: str) -> None:
    assert bytes(hpack.encode_integer(value, prefix)) == unhex(wire)
    assert hpack.decode_integer(unhex(wire), 0, prefix) == (value, len(unhex(wire)))


def test_literal_examples() -> None:  # C.2.1 .. C.2.4, each on a fresh decoder
    cases = [
        ("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572",
         [(b"custom-key", b"custom-header")], 55),
        ("040c 2f73 616d 706c 652f 7061 7468", [(b":path", b"/sample/path")], 0),
        ("1008 7061 7373 776f 7264 0673 6563 7265 74", [(b"password", b"secret")], 0),
        ("82", [(b":method", b"GET")], 0),
    ]  # fmt: skip
    for wire, headers, size in cases:
        decoder = Decoder()
        assert decoder.decode(unhex(wire)) == headers
        assert decoder.table_size == size


REQUESTS = [
    [(b":method", b"GET"), (b":scheme", b"http"), (b":path", b"/"),
     (b":authority", b"www.example.com")],
    [(b":method", b"GET"), (b":scheme", b"http"), (b":path", b"/"),
     (b":authority", b"www.example.com"), (b"cache-control", b"no-cache")],
    [(b":method", b"GET"), (b":scheme", b"https"), (b":path", b"/index.html"),
     (b":authority", b"www.example.com"), (b"custom-key", b"custom-value")],
]  # fmt: skip
C3 = [  # without Huffman coding
    "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
    "8286 84be 5808 6e6f 2d63 6163 6865",
    "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
]
C4 = [  # with Huffman coding
    "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
    "8286 84be 5886 a8eb 1064 9cbf",
    "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
]
SIZES = [57, 110, 164]


@pytest.mark.parametrize("blocks", [C3, C4], ids=["C.3", "C.4"])
def test_request_examples(blocks: list[str]) -> None:
    decoder = Decoder()
    for wire, headers, size in zip(blocks, REQUESTS, SIZES, strict=True):
        assert decoder.decode(unhex(wire)) == headers
        assert decoder.table_size == size


def test_our_encoder_writes_c4_exactly() -> None:
    """With Huffman coding and incremental indexing our encoder makes the RFC's choices."""
    encoder = Encoder()
    assert encoder.encode(REQUESTS[0]) == unhex(C4[0])
    assert encoder.encode(REQUESTS[1]) == unhex(C4[1])
    assert encoder.encode(REQUESTS[2]) == unhex(C4[2])


def test_response_examples_with_evictions() -> None:  # C.6: a 256-octet table, Huffman
    blocks = [
        "4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6"
        " 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3",
        "4883 640e ffc1 c0bf",
        "88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab"
        " 77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f"
        " 9587 3160 65c0 03ed 4ee5 b106 3d50 07",
    ]
    date1, date2 = b"Mon, 21 Oct 2013 20:13:21 GMT", b"Mon, 21 Oct 2013 20:13:22 GMT"
    common = [(b"cache-control", b"private"), (b"location", b"https://www.example.com")]
    expected = [
        [(b":status", b"302"), common[0], (b"date", date1), common[1]],
        [(b":status", b"307"), common[0], (b"date", date1), common[1]],
        [(b":status", b"200"), common[0], (b"date", date2), common[1],
         (b"content-encoding", b"gzip"),
         (b"set-cookie", b"foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1")],
    ]  # fmt: skip
    decoder = Decoder(max_table_size=256)
    decoder.decode(unhex("3fe101"))  # a table size update to 256 (RFC 7541 6.3)
    for wire, headers, size in zip(blocks, expected, [222, 222, 215], strict=True):
        assert decoder.decode(unhex(wire)) == headers
        assert decoder.table_size == size


def test_huffman_codes_are_appendix_b() -> None:
    from hpack.huffman_constants import REQUEST_CODES, REQUEST_CODES_LENGTH

    assert list(REQUEST_CODES) == hpack.HUFFMAN_CODES
    assert list(hpack._CODE_LENGTHS) == list(REQUEST_CODES_LENGTH)


# -- differential against the hpack package --------------------------------------------------

names = st.one_of(
    st.sampled_from([n for n, _ in hpack.STATIC_TABLE]),
    st.binary(min_size=1, max_size=20).map(lambda b: bytes(c | 0x20 for c in b)),
)
values = st.one_of(st.sampled_from([b"", b"GET", b"/", b"gzip, deflate"]), st.binary(max_size=80))
header_lists = st.lists(st.tuples(names, values), max_size=12)


@settings(max_examples=150, deadline=None)
@given(st.lists(header_lists, min_size=1, max_size=6), st.sampled_from([0, 64, 256, 4096]))
def test_their_encoder_our_decoder(blocks: list[list[tuple[bytes, bytes]]], size: int) -> None:
    theirs = oracle.Encoder()
    theirs.header_table_size = size
    ours = Decoder()
    for headers in blocks:
        assert ours.decode(theirs.encode(headers)) == headers
    assert ours.table_size == theirs.header_table._current_size


@settings(max_examples=150, deadline=None)
@given(st.lists(header_lists, min_size=1, max_size=6), st.sampled_from([0, 64, 256, 4096]))
def test_our_encoder_their_decoder(blocks: list[list[tuple[bytes, bytes]]], size: int) -> None:
    ours = Encoder()
    ours.set_max_table_size(size)
    theirs = oracle.Decoder()
    for headers in blocks:
        assert theirs.decode(ours.encode(headers), raw=True) == headers
    assert ours._table.size == theirs.header_table._current_size


@given(st.binary(max_size=200))
def test_huffman_round_trip_and_matches_oracle(data: bytes) -> None:
    from hpack.huffman import HuffmanEncoder
    from hpack.huffman_constants import REQUEST_CODES, REQUEST_CODES_LENGTH

    coded = hpack.huffman_encode(data)
    assert coded == HuffmanEncoder(REQUEST_CODES, REQUEST_CODES_LENGTH).encode(data)
    assert hpack.huffman_decode(coded) == data
    assert len(coded) == hpack.huffman_length(data)


@settings(max_examples=500)
@given(st.binary(max_size=64))
def test_any_block_decodes_or_raises_hpack_error(block: bytes) -> None:
    try:
        Decoder(max_header_list_size=1024).decode(block)
    except HPACKError:
        pass


# -- bad input and limits --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wire", "message"),
    [
        ("80", "index 0"),
        ("be", "not in the header tables"),  # index 62 with an empty dynamic table
        ("1f", "ends inside an integer"),
        ("1fffffffffffff7f", "continuation octets"),
        ("00 05 6162", "past the end"),
        ("82 3fe11f", "table size update after a header field"),
        ("3fe21f", "over the limit"),  # 4097 > 4096
        ("00 84 ffffffff 00", "EOS"),  # a name that is EOS's 30 one-bits and more
        ("00 81 00 00", "padding"),  # a code cut short, padded with zeros
    ],
)
def test_malformed_blocks_are_refused(wire: str, message: str) -> None:
    with pytest.raises(HPACKError, match=message):
        Decoder().decode(unhex(wire))


def test_huffman_padding_longer_than_7_bits_is_refused() -> None:
    # "a" is 00011 (5 bits); then 11 more one-bits: padding of 11 bits.
    with pytest.raises(HPACKError, match="padding"):
        hpack.huffman_decode(bytes([0b00011111, 0xFF]))


def test_hpack_bomb_is_bounded_and_the_table_stays_in_step() -> None:
    """One 4 KB entry referenced 16000 times would expand to 64 MB: refused once the list
    passes its limit, and the next block still decodes against the same table."""
    encoder = oracle.Encoder()
    big = [(b"x-bomb", b"A" * 4000)]
    first = encoder.encode(big)
    decoder = Decoder(max_header_list_size=65536)
    assert decoder.decode(first) == big
    index = bytes(hpack.encode_integer(62, 7, 0x80))  # the newest dynamic entry
    with pytest.raises(HeaderListTooLarge):
        decoder.decode(index * 16000)
    assert decoder.decode(index) == big
    assert decoder.decode(encoder.encode([(b"after", b"ok")])) == [(b"after", b"ok")]


def test_string_length_limit() -> None:
    with pytest.raises(HPACKError, match="over 16"):
        Decoder(max_string=16).decode(b"\x00" + bytes(hpack.encode_integer(17, 7)) + b"a" * 17)


def test_table_size_update_is_signalled_by_our_encoder() -> None:
    encoder = Encoder()
    encoder.encode([(b"custom", b"one")])
    encoder.set_max_table_size(0)
    encoder.set_max_table_size(100)
    block = encoder.encode([(b"custom", b"one")])
    assert block.startswith(b"\x20" + bytes(hpack.encode_integer(100, 5, 0x20)))
    theirs = oracle.Decoder()
    theirs.decode(Encoder().encode([(b"custom", b"one")]), raw=True)
    assert theirs.decode(block, raw=True) == [(b"custom", b"one")]
