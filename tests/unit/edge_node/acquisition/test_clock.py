"""Tick arithmetic: aligned ticks, overruns counted as missed, never a catch-up burst."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from edge_node.acquisition.clock import first_tick, next_tick

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
