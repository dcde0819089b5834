"""The scheduler every layer runs on: an injected clock, a timer heap and a work queue.

Sans-IO layers never sleep and never call each other re-entrantly. They read the time
from :meth:`Scheduler.now`, arm :class:`Timer` objects, and hand frames to other stacks
through :meth:`Scheduler.post`. Work posted while a batch is open (``with scheduler:``)
runs when the outermost batch closes, so a stack that sends a frame over the in-memory
switch never finds the reply delivered into the middle of its own code. At the end of each
drained batch the *flushers* run: that is where TCP sends the ACKs it coalesced
(RFC 5681 section 4.2, delayed ACK).

The host side (the adapter, or a test) drives it: call :meth:`Scheduler.run_due` when
the clock reaches :meth:`Scheduler.next_deadline`. :class:`VirtualClock` makes time
jump straight to the next deadline, so tests of retransmission run in microseconds.
"""

from __future__ import annotations

import heapq
import itertools
import logging
from collections import deque
from collections.abc import Callable
from types import TracebackType
from typing import Any

log = logging.getLogger("backends.mirage")


class Timer:
    """A restartable one-shot timer: ``start(when)``, ``stop()``; fires ``callback()``.

    Restarting to a later deadline does not touch the heap (the entry already there
    re-arms itself when it pops early), so per-ACK restarts of a retransmission timer
    cost one attribute write.
    """

    __slots__ = ("_armed", "_callback", "_sched", "deadline")

    def __init__(self, sched: Scheduler, callback: Callable[[], None]) -> None:
        self._sched = sched
        self._callback = callback
        self.deadline: float | None = None
        self._armed: float | None = None

    def start(self, when: float) -> None:
        """(Re)arm the timer to fire at ``when`` (scheduler clock)."""
        self.deadline = when
        armed = self._armed
        if armed is None or when < armed:
            self._armed = when
            self._sched._push(when, self)

    def start_in(self, delay: float) -> None:
        """(Re)arm the timer to fire ``delay`` seconds from now."""
        self.start(self._sched.now() + delay)

    def stop(self) -> None:
        """Disarm; a pending heap entry is ignored when it pops."""
        self.deadline = None

    @property
    def running(self) -> bool:
        """Whether the timer is armed."""
        return self.deadline is not None

    def _pop(self, when: float, now: float) -> None:
        if when != self._armed:
            return  # superseded by an earlier entry
        self._armed = None
        deadline = self.deadline
        if deadline is None:
            return
        if deadline > now:
            self._armed = deadline
            self._sched._push(deadline, self)
            return
        self.deadline = None
        self._callback()


class Scheduler:
    """Clock, timers and the deferred work queue shared by the stacks of one switch."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.now: Callable[[], float] = clock
        """The current time in seconds (injected: the host loop's clock or a virtual one)."""
        self._heap: list[tuple[float, int, Timer]] = []
        self._counter = itertools.count()
        self._queue: deque[tuple[Callable[[Any], None], Any]] = deque()
        self._depth = 0
        self._flushers: list[Callable[[], None]] = []
        self._wakers: list[Callable[[], None]] = []
        self.errors = 0
        """Exceptions raised by posted work or timers (logged, then counted, never raised)."""

    # -- timers ---------------------------------------------------------------------------

    def timer(self, callback: Callable[[], None]) -> Timer:
        """A new, disarmed :class:`Timer` calling ``callback``."""
        return Timer(self, callback)

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer:
        """Run ``callback`` once, ``delay`` seconds from now; returns the timer."""
        timer = Timer(self, callback)
        timer.start(self.now() + delay)
        return timer

    def _push(self, when: float, timer: Timer) -> None:
        heap = self._heap
        earliest = heap[0][0] if heap else None
        heapq.heappush(heap, (when, next(self._counter), timer))
        if earliest is None or when < earliest:
            for wake in self._wakers:
                wake()

    def add_waker(self, func: Callable[[], None]) -> None:
        """Call ``func()`` whenever a timer is armed earlier than every other one (the
        host's driver then recomputes how long to sleep)."""
        self._wakers.append(func)

    def remove_waker(self, func: Callable[[], None]) -> None:
        """Undo :meth:`add_waker`."""
        if func in self._wakers:
            self._wakers.remove(func)

    def next_deadline(self) -> float | None:
        """When :meth:`run_due` next has work, or None when no timer is armed."""
        heap = self._heap
        while heap and heap[0][2]._armed != heap[0][0]:
            heapq.heappop(heap)  # stale entries: drop them so the host does not wake early
        return heap[0][0] if heap else None

    def run_due(self) -> None:
        """Fire every timer whose deadline has passed, then drain posted work."""
        heap = self._heap
        with self:
            now = self.now()
            while heap and heap[0][0] <= now:
                when, _, timer = heapq.heappop(heap)
                try:
                    timer._pop(when, now)
                except Exception:
                    self.errors += 1
                    log.exception("mirage timer callback failed")

    # -- work queue and batches ---------------------------------------------------------

    def post(self, func: Callable[[Any], None], arg: Any) -> None:
        """Run ``func(arg)`` once the current batch ends (now, if none is open)."""
        self._queue.append((func, arg))
        if self._depth == 0:
            self._drain()

    def add_flusher(self, func: Callable[[], None]) -> None:
        """Run ``func()`` after each drained batch (TCP sends coalesced ACKs there)."""
        self._flushers.append(func)

    def remove_flusher(self, func: Callable[[], None]) -> None:
        """Undo :meth:`add_flusher`."""
        if func in self._flushers:
            self._flushers.remove(func)

    def __enter__(self) -> Scheduler:
        self._depth += 1
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._depth -= 1
        if self._depth == 0:
            self._drain()

    def _drain(self) -> None:
        queue = self._queue
        self._depth += 1
        try:
            while True:
                while queue:
                    func, arg = queue.popleft()
                    try:
                        func(arg)
                    except Exception:
                        self.errors += 1
                        log.exception("mirage: processing posted work failed")
                for flush in self._flushers:
                    try:
                        flush()
                    except Exception:
                        self.errors += 1
                        log.exception("mirage: flush failed")
                if not queue:
                    break
        finally:
            self._depth -= 1

    @property
    def batching(self) -> bool:
        """Whether a batch is open: work deferred to its end (posted, or left for the
        flushers) runs before the host regains control."""
        return self._depth > 0

    @property
    def idle(self) -> bool:
        """True when no posted work is waiting."""
        return not self._queue


class VirtualClock:
    """A clock that only moves when told to: for deterministic, instant tests.

    ``Scheduler(clock)`` accepts it as the clock (it is callable); :meth:`run` then
    advances straight to each next timer deadline.
    """

    def __init__(self, start: float = 1000.0) -> None:
        self.time = start

    def __call__(self) -> float:
        return self.time

    def run(
        self,
        sched: Scheduler,
        until: Callable[[], bool],
        *,
        limit: float = 3600.0,
    ) -> bool:
        """Advance time deadline by deadline until ``until()`` holds; False at the limit.

        ``limit`` is in virtual seconds from now: a stalled protocol makes this return
        False rather than loop.
        """
        end = self.time + limit
        sched.run_due()
        while not until():
            deadline = sched.next_deadline()
            if deadline is None or deadline > end:
                return False
            self.time = max(self.time, deadline)
            sched.run_due()
        return True
