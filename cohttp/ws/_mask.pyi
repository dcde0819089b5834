"""WebSocket masking (RFC 6455 section 5.3) in C: see cohttp/ws/_mask.c."""

def unmask(key: bytes, buf: bytes | bytearray | memoryview, start: int, end: int, /) -> bytes:
    """``buf[start:end]`` XORed with the 4-byte ``key`` repeated from ``start``."""
