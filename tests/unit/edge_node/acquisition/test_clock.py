"""Tick arithmetic: aligned ticks, overruns counted as missed, never a catch-up burst; the
simulated clock a clock file gives."""

from __future__ import annotations

import asyncio
import time

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from edge_node.acquisition.clock import Clock, SimulatedClock, first_tick, next_tick
from mrv_core.simulated_time import SimulatedTime

# Powers of two: now / interval is exact, so the expected count below has no rounding.
intervals = st.sampled_from([0.125, 0.25, 0.5, 1.0, 2.0, 64.0, 1024.0])


def test_on_time_poll_goes_to_the_next_tick_without_a_miss() -> None:
    assert next_tick(now=10.3, interval=1.0, last=10) == (11, 0)


def test_overrun_into_the_next_interval_polls_it_late_and_counts_it() -> None:
    assert next_tick(now=11.2, interval=1.0, last=10) == (11, 1)


def test_overrun_across_intervals_skips_the_passed_ones() -> None:
    # ticks 11, 12 passed wholly, 13 is under way: 13 is polled late, three missed
    assert next_tick(now=13.5, interval=1.0, last=10) == (13, 3)


def test_ending_exactly_on_a_tick_is_not_a_miss() -> None:
    assert next_tick(now=11.0, interval=1.0, last=10) == (11, 0)


def test_first_tick_is_aligned_at_or_after_now() -> None:
    assert first_tick(10.0, 1.0) == 10
    assert first_tick(10.01, 1.0) == 11


@given(intervals, st.integers(0, 10**6), st.floats(0, 50, allow_nan=False))
@example(1.0, 10, 0.0)
@example(1.0, 10, 1.0)
def test_next_tick_invariants(interval: float, last: int, elapsed: float) -> None:
    """The next tick follows the last, its interval has not ended when polling starts, and the
    missed count is exactly the ticks due before ``now`` that will not be polled on time."""
    now = (last * interval) + elapsed * interval
    tick, missed = next_tick(now, interval, last)
    assert tick > last
    assert now < (tick + 1) * interval  # never poll a tick whose interval is over
    assert missed >= 0
    due = [k for k in range(last + 1, tick + 1) if k * interval < now]
    assert missed == len(due)
    if not due:
        assert tick == last + 1


def test_the_simulated_clock_reads_the_clock_file_and_sleeps_a_speedth_of_the_time() -> None:
    """The clock file's mapping (``mrv_core.simulated_time``) through the poller's protocol:
    ``time()`` is the simulated wall clock, ``monotonic()`` runs ``speed`` times faster than
    the real one, and ``sleep(s)`` lasts ``s / speed`` real seconds."""
    shared = SimulatedTime(simulated_start=1_790_784_000, real_start=int(time.time()),
                           speed=3600)
    clock: Clock = SimulatedClock(shared)

    async def measure() -> tuple[float, float, float, float]:
        real, simulated, wall = time.monotonic(), clock.monotonic(), clock.time()
        await clock.sleep(360.0)  # a tenth of a real second
        return (time.monotonic() - real, clock.monotonic() - simulated, clock.time() - wall,
                wall)

    real, simulated, wall_elapsed, wall = asyncio.run(measure())
    assert 0.1 <= real < 0.6
    assert simulated == pytest.approx(real * 3600, rel=0.01)
    assert wall_elapsed == pytest.approx(real * 3600, abs=20)
    assert 1_790_784_000 <= wall < 1_790_784_000 + 3600 * 10
