"""Sequence-number arithmetic (RFC 9293 section 3.4, RFC 1982 serial numbers).

Sequence numbers are 32-bit and wrap. The TCP here *unwraps* each field on arrival to the
Python integer congruent to it that lies nearest a value it expects (SND.UNA for an ACK
field, RCV.NXT for a sequence field), so that every later comparison is a plain integer
comparison that stays right across 2**32. The modular comparisons are kept for values that
are not unwrapped (timestamps, RFC 7323 section 5.3).
"""

from __future__ import annotations

MASK = 0xFFFFFFFF
HALF = 0x80000000


def unwrap(value: int, near: int) -> int:
    """The integer congruent to 32-bit ``value`` (mod 2**32) that is nearest ``near``."""
    return near + ((value - near + HALF) & MASK) - HALF


def wrap(value: int) -> int:
    """The 32-bit field for an unwrapped sequence number."""
    return value & MASK


def lt(a: int, b: int) -> bool:
    """``a < b`` for 32-bit values, modulo 2**32 (RFC 9293 3.4: "<" means modular)."""
    return 0 < ((b - a) & MASK) < HALF


def le(a: int, b: int) -> bool:
    """``a <= b`` for 32-bit values, modulo 2**32."""
    return ((b - a) & MASK) < HALF
