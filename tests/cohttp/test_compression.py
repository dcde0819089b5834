"""cohttp.compression: Accept-Encoding (RFC 9110 12.5.3), the policy, round trips, bombs."""

from __future__ import annotations

import gzip
import struct
import tracemalloc
import zlib

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cohttp.compression import (
    AVAILABLE,
    DecodedTooLarge,
    Decoder,
    DecodingError,
    Policy,
    choose_encoding,
    compress_aiter,
    compress_bytes,
    compress_iter,
    decode_bytes,
    encoder,
    parse_accept_encoding,
    parse_qvalue,
)
from cohttp.headers import Headers

MiB = 1 << 20


# -- q-values and Accept-Encoding ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1", 1000),
        ("1.", 1000),
        ("1.000", 1000),
        ("0", 0),
        ("0.5", 500),
        ("0.001", 1),
        ("0.25", 250),
    ],
)
def test_qvalues(text: str, value: int) -> None:
    assert parse_qvalue(text) == value


@pytest.mark.parametrize(
    "text", ["1.001", "2", "0.0000", ".5", "", "-0", "0,5", "1e0", "\uff10.5", "0.\u0665", "0.²"]
)
def test_not_qvalues(text: str) -> None:
    assert parse_qvalue(text) is None


def test_parse_accept_encoding() -> None:
    assert parse_accept_encoding("gzip, deflate;q=0.5, BR;Q=0, *;q=0.1") == {
        "gzip": 1000,
        "deflate": 500,
        "br": 0,
        "*": 100,
    }
    assert parse_accept_encoding(["x-gzip", "identity ; q=0"]) == {"gzip": 1000, "identity": 0}
    # malformed elements never make a coding acceptable; the first weight of a repeat wins
    assert parse_accept_encoding("gzip;q=2, br;level=1, zstd;q=0.5, zstd, ,é") == {"zstd": 500}


@pytest.mark.parametrize(
    ("accept", "available", "chosen"),
    [
        (None, ("gzip",), None),  # no field: no coding
        ("", ("gzip",), None),  # empty field: none wanted (12.5.3)
        ("gzip", ("br", "gzip"), "gzip"),
        ("gzip;q=0.5, br", ("gzip", "br"), "br"),
        ("deflate, gzip", ("gzip", "deflate"), "gzip"),  # a tie: the server's order
        ("*", ("br", "gzip"), "br"),
        ("*;q=0", ("gzip",), None),
        ("gzip;q=0, *", ("gzip", "deflate"), "deflate"),
        ("identity;q=0", ("gzip",), None),  # nothing acceptable: unencoded, the caller may 406
        ("identity, gzip;q=0.5", ("gzip",), None),  # identity explicitly preferred
        ("identity;q=0.5, gzip", ("gzip",), "gzip"),
        ("gzip;q=0.001", ("gzip",), "gzip"),  # an implicit identity never beats a listed coding
        ("x-gzip", ("gzip",), "gzip"),
        ("compress, snappy", ("gzip",), None),
    ],
)
def test_choose_encoding(
    accept: str | None, available: tuple[str, ...], chosen: str | None
) -> None:
    assert choose_encoding(accept, available) == chosen


# -- policy ----------------------------------------------------------------------------


def decide(
    status: int = 200, size: int | None = 1000, accept: str | None = "gzip", **fields: str
) -> tuple[str | None, bool, Headers]:
    request = Headers([("Accept-Encoding", accept)] if accept is not None else [])
    response = Headers([("Content-Type", "text/html; charset=utf-8")])
    for name, value in fields.items():
        response.set(name.replace("_", "-"), value)
    decision = Policy(codings=("gzip",)).decide(request, status, response, size)
    decision.apply(response)
    return decision.coding, decision.vary, response


def test_policy_compresses_text() -> None:
    coding, vary, headers = decide(ETag='"abc"')
    assert coding == "gzip" and vary
    assert headers["Content-Encoding"] == "gzip"
    assert headers["Vary"] == "Accept-Encoding"
    assert headers["ETag"] == 'W/"abc"'  # another representation (RFC 9110 8.8.3)


def test_policy_vary_even_when_the_client_did_not_ask() -> None:
    coding, vary, headers = decide(accept=None)
    assert coding is None and vary and headers["Vary"] == "Accept-Encoding"
    assert "Content-Encoding" not in headers


@pytest.mark.parametrize(
    "case",
    [
        {"status": 206},
        {"Content_Range": "bytes 0-9/100"},
        {"status": 304},
        {"status": 204},
        {"Content_Encoding": "br"},  # never twice
        {"Cache_Control": "public, no-transform"},
        {"Content_Type": "image/png"},
        {"size": 100},
    ],
)
def test_policy_refusals(case: dict[str, object]) -> None:
    coding, vary, headers = decide(**case)  # type: ignore[arg-type]
    assert coding is None and not vary and "Vary" not in headers


def test_policy_media_type_patterns() -> None:
    for media in ("application/vnd.api+json", "text/css", "image/svg+xml", "APPLICATION/JSON"):
        assert decide(Content_Type=media)[0] == "gzip"
    assert decide(Content_Type="application/octet-stream")[0] is None


def test_vary_merges() -> None:
    assert decide(Vary="Origin")[2].get_all("Vary") == ["Origin", "Accept-Encoding"]
    assert decide(Vary="accept-encoding")[2].get_all("Vary") == ["accept-encoding"]
    assert decide(Vary="*")[2].get_all("Vary") == ["*"]
    assert decide(ETag='W/"x"')[2]["ETag"] == 'W/"x"'


# -- round trips -----------------------------------------------------------------------


@pytest.mark.parametrize("coding", AVAILABLE)
@settings(max_examples=40, deadline=None)
@given(chunks=st.lists(st.binary(max_size=3000), max_size=6))
def test_round_trip(coding: str, chunks: list[bytes]) -> None:
    whole = b"".join(chunks)
    assert decode_bytes(coding, compress_bytes(coding, whole), len(whole)) == whole
    assert decode_bytes(coding, b"".join(compress_iter(coding, chunks)), len(whole)) == whole
    enc, decoder = encoder(coding), Decoder(coding, len(whole))
    out = b""
    for i, chunk in enumerate(chunks):
        out += decoder.feed(enc.compress(chunk) + enc.flush())
        assert out == b"".join(chunks[: i + 1])  # flushed: each chunk decodable on arrival
    out += decoder.feed(enc.finish())
    decoder.finish()
    assert out == whole


def test_stdlib_agrees() -> None:
    data = b"hello " * 1000
    assert gzip.decompress(compress_bytes("gzip", data)) == data
    assert zlib.decompress(compress_bytes("deflate", data)) == data  # the zlib format


def test_async_streaming() -> None:
    async def body():  # type: ignore[no-untyped-def]
        for i in range(5):
            yield b"chunk %d " % i * 100

    async def main() -> bytes:
        return b"".join([piece async for piece in compress_aiter("gzip", body())])

    assert gzip.decompress(anyio.run(main)) == b"".join(b"chunk %d " % i * 100 for i in range(5))


def test_stacked_codings() -> None:
    data = b"stacked " * 500
    twice = compress_bytes(AVAILABLE[0], compress_bytes("gzip", data))
    assert decode_bytes(f"gzip, {AVAILABLE[0]}", twice, len(data)) == data
    assert decode_bytes(["identity", "gzip"], compress_bytes("gzip", data), len(data)) == data


def test_gzip_members_in_sequence() -> None:
    body = gzip.compress(b"one ") + gzip.compress(b"two")
    assert decode_bytes("gzip", body, 100) == b"one two"


def test_raw_deflate_is_tolerated() -> None:
    z = zlib.compressobj(6, zlib.DEFLATED, -15)
    assert decode_bytes("deflate", z.compress(b"raw") + z.flush(), 10) == b"raw"


@pytest.mark.parametrize("coding", AVAILABLE)
def test_truncated_and_corrupt(coding: str) -> None:
    body = compress_bytes(coding, bytes(range(256)) * 40)
    with pytest.raises(DecodingError, match=r"truncated|corrupt"):
        decode_bytes(coding, body[: len(body) // 2], 1 << 20)
    with pytest.raises(DecodingError):
        decode_bytes(coding, b"\xff" * 64 + body, 1 << 20)


def test_unknown_coding() -> None:
    with pytest.raises(DecodingError, match="unsupported content coding 'compress'"):
        Decoder("compress", 10)


def test_exact_limit_is_allowed() -> None:
    assert decode_bytes("gzip", gzip.compress(bytes(1000)), 1000) == bytes(1000)
    with pytest.raises(DecodedTooLarge):
        decode_bytes("gzip", gzip.compress(bytes(1001)), 1000)


# -- bombs -----------------------------------------------------------------------------


def gzip_of_zeros(size: int) -> bytes:
    """A gzip member of ``size`` zero bytes, made fast: full-flushed deflate blocks start
    afresh, so one block repeated is a valid stream."""
    z = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = z.compress(bytes(MiB)) + z.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    return (
        b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
        + block * (size // MiB)
        + b"\x03\x00"
        + struct.pack("<II", crc, size & 0xFFFFFFFF)
    )


def bounded(content_encoding: str, body: bytes, limit: int) -> int:
    """Decode under tracemalloc; the error must come, and the peak memory it cost."""
    tracemalloc.start()
    try:
        decoder = Decoder(content_encoding, limit)
        with pytest.raises(DecodedTooLarge):
            for i in range(0, len(body), 16384):  # as a client reads it
                decoder.feed(body[i : i + 16384])
            decoder.finish()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak


def test_a_1kb_body_that_inflates_to_1gb() -> None:
    body = gzip.compress(gzip_of_zeros(1 << 30), 9)
    assert len(body) < 4096
    assert bounded("gzip, gzip", body, 10 * MiB) < 40 * MiB


@pytest.mark.parametrize("coding", [c for c in AVAILABLE if c in ("br", "zstd")])
def test_optional_coding_bombs(coding: str) -> None:
    chunks = (bytes(MiB) for _ in range(256))
    body = b"".join(compress_iter(coding, chunks, level=1, flush=False))
    assert len(body) < 64 * 1024
    assert bounded(coding, body, 4 * MiB) < 16 * MiB


def test_deflate_bomb() -> None:
    z = zlib.compressobj(9)
    body = z.compress(bytes(64 * MiB)) + z.flush()
    assert bounded("deflate", body, MiB) < 8 * MiB
