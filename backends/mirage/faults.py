"""A seeded fault injector that wraps any netif: drop, duplicate, reorder, delay,
corrupt, and an MTU limit, on sent and/or received frames. Same seed, same faults."""

from __future__ import annotations

import random
from dataclasses import dataclass

from .netif import NO_OFFLOAD, Netif, Receiver
from .sched import Scheduler


@dataclass
class Faults:
    """Probabilities in [0, 1] per frame, delays in seconds."""

    drop: float = 0.0
    duplicate: float = 0.0
    reorder: float = 0.0
    """Hold a frame back and send it after the next one."""
    corrupt: float = 0.0
    """Flip one random bit (checksums must catch it)."""
    delay: float = 0.0
    """Fixed extra latency for every frame."""
    jitter: float = 0.0
    """Extra random latency in [0, jitter) (reorders frames too)."""
    mtu: int | None = None
    """Drop frames whose payload exceeds this."""
    seed: int = 0
    outgoing: bool = True
    incoming: bool = True

    def __post_init__(self) -> None:
        for name in ("drop", "duplicate", "reorder", "corrupt"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"fault probability {name}={value} is outside [0, 1]")
        if self.delay < 0 or self.jitter < 0:
            raise ValueError("fault delay and jitter must not be negative")


class _Direction:
    def __init__(self, faults: Faults, rng: random.Random, sched: Scheduler) -> None:
        self.f = faults
        self.rng = rng
        self.sched = sched
        self.held: bytes | None = None
        self.stats = {
            "frames": 0,
            "dropped": 0,
            "duplicated": 0,
            "reordered": 0,
            "corrupted": 0,
            "too_big": 0,
        }

    def apply(self, frame: bytes, out: Receiver) -> None:
        f = self.f
        rng = self.rng
        stats = self.stats
        stats["frames"] += 1
        if f.mtu is not None and len(frame) - 14 > f.mtu:
            stats["too_big"] += 1
            return
        if f.drop and rng.random() < f.drop:
            stats["dropped"] += 1
            return
        if f.corrupt and rng.random() < f.corrupt:
            stats["corrupted"] += 1
            data = bytearray(frame)
            bit = rng.randrange(14 * 8, len(data) * 8) if len(data) > 14 else 0
            data[bit >> 3] ^= 1 << (bit & 7)
            frame = bytes(data)
        copies = 1
        if f.duplicate and rng.random() < f.duplicate:
            stats["duplicated"] += 1
            copies = 2
        if f.reorder and self.held is None and rng.random() < f.reorder:
            stats["reordered"] += 1
            self.held = frame
            # release it even if nothing else is sent
            self.sched.call_later(0.001, lambda: self._release(out))
            return
        for _ in range(copies):
            self._emit(frame, out)
        if self.held is not None:
            self._release(out)

    def _release(self, out: Receiver) -> None:
        held, self.held = self.held, None
        if held is not None:
            self._emit(held, out)

    def _emit(self, frame: bytes, out: Receiver) -> None:
        f = self.f
        wait = f.delay + (self.rng.random() * f.jitter if f.jitter else 0.0)
        if wait > 0:
            self.sched.call_later(wait, lambda: out(frame))
        else:
            out(frame)


class FaultyNetif:
    """Wraps ``inner``; frames pass through :class:`Faults` on the way out and in."""

    def __init__(self, inner: Netif, faults: Faults, sched: Scheduler) -> None:
        self.inner = inner
        self.faults = faults
        self.mac = inner.mac
        self.mtu = inner.mtu
        self.offload = NO_OFFLOAD
        """None: faults act per frame, so frames must be single segments (and a device
        under this wrapper must be opened without offload: its checksums come whole)."""
        self._sched = sched
        rng = random.Random(faults.seed)
        self._out = _Direction(faults, random.Random(rng.random()), sched)
        self._in = _Direction(faults, random.Random(rng.random()), sched)

    @property
    def stats(self) -> dict[str, dict[str, int]]:
        """Counters per direction."""
        return {"out": dict(self._out.stats), "in": dict(self._in.stats)}

    def send(self, frame: bytes, gso_size: int = 0) -> None:
        """Transmit through the faults."""
        if self.faults.outgoing:
            self._out.apply(frame, self.inner.send)
        else:
            self.inner.send(frame)

    def attach(self, receiver: Receiver) -> None:
        """Receive through the faults."""
        if self.faults.incoming:
            sched = self._sched

            def receive(frame: bytes, csum_ok: bool = False, /) -> None:
                with sched:
                    self._in.apply(frame, receiver)

            self.inner.attach(receive)
        else:
            self.inner.attach(receiver)

    def close(self) -> None:
        """Close the wrapped device."""
        self.inner.close()
