"""Clocks for the poller, and the arithmetic of interval ticks.

Polls are scheduled on a monotonic clock (immune to NTP steps and an operator setting the wall
clock); each read is stamped with the wall clock (Unix seconds, UTC) when its answer arrives.
:class:`Clock` is what the poller (and the whole node: batch ages, gaps, summaries, retention,
outbox times, health) needs; :class:`SystemClock` is the real one; :class:`SimulatedClock`
follows a clock file's simulated time (``mrv_core.simulated_time``, docs/edge.md "Simulated
time"): every interval and age the node counts is then in simulated seconds. Tests pass clocks
of their own.

Ticks of a meter polled every ``interval`` seconds fall at ``k * interval + phase * interval``
of the monotonic clock, where ``phase`` in [0, 1) is fixed per meter by its path
(:func:`phase`): a poll that runs long cannot make later polls drift, and a thousand meters
with the same interval are spread over it instead of all asking in the same instant (a burst
that would end after the next tick for some of them).
"""

from __future__ import annotations

import asyncio
import math
import time
from typing import Protocol

from mrv_core.hashing import keccak256
from mrv_core.simulated_time import SimulatedTime

__all__ = ["Clock", "SimulatedClock", "SystemClock", "first_tick", "next_tick", "phase"]


class Clock(Protocol):
    """A monotonic clock for scheduling, a wall clock for timestamps, and sleeping."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards (arbitrary origin)."""
        ...

    def time(self) -> float:
        """Unix time in seconds (UTC), for the timestamps of readings."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` of this clock's monotonic time."""
        ...


class SystemClock:
    """The real clocks: ``time.monotonic``, ``time.time`` and ``asyncio.sleep``."""

    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class SimulatedClock:
    """The clock file's simulated time: ``time()`` is the simulated wall clock,
    ``monotonic()`` the real monotonic clock times the speed (simulated seconds, arbitrary
    origin), and ``sleep(s)`` lasts ``s / speed`` real seconds. ``simulated`` is the clock
    file's contents (the chain is driven from it: ``mrv_core.chain.ChainClock``)."""

    def __init__(self, simulated: SimulatedTime) -> None:
        self.simulated = simulated

    def monotonic(self) -> float:
        return time.monotonic() * self.simulated.speed

    def time(self) -> float:
        return self.simulated.now()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, self.simulated.real_seconds(seconds)))


def phase(path: str) -> float:
    """The meter's fixed place within its interval, in [0, 1): the first four bytes of
    keccak256 of its path over 2**32. The same path always gets the same phase."""
    return int.from_bytes(keccak256(path.encode("utf-8"))[:4], "big") / 2**32


def first_tick(now: float, interval: float) -> int:
    """The index of the first tick at or after monotonic time ``now``: ``ceil(now / interval)``."""
    return math.ceil(now / interval)


def next_tick(now: float, interval: float, last: int) -> tuple[int, int]:
    """After tick ``last``'s poll ended at monotonic time ``now``: the tick to poll next, and how
    many ticks the overrun missed.

    Normally the next tick is ``last + 1``, still ahead. When the poll overran past its time:
    the tick whose interval contains ``now`` (``floor(now / interval)``) is polled at once,
    late; the ticks before it, whose whole interval passed, are skipped (no burst of catch-up
    polls). Every tick that was due before the previous poll ended, late or skipped, counts as
    *missed*. Returns ``(tick, missed)``, ``tick > last``, ``missed >= 0``.
    """
    upcoming = last + 1
    current = math.floor(now / interval)
    if current < upcoming:
        return upcoming, 0
    late = 1 if now > current * interval else 0
    return current, current - upcoming + late
