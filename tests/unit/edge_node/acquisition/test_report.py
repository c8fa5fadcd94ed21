"""Report by exception against a naive model, and its edge cases."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from edge_node.acquisition.report import ReportFilter
from edge_node.acquisition.settings import ReportByException

KEY = ("p/l/a/n/t", "power")


def test_first_value_moves_and_silence_are_sent() -> None:
    f = ReportFilter({KEY: ReportByException(deadband=10, max_silence=60.0)})
    assert f.should_send(KEY, 1000, 0.0)  # first value
    assert not f.should_send(KEY, 1010, 1.0)  # within the deadband (inclusive)
    assert f.should_send(KEY, 1011, 2.0)  # moved more than the deadband
    assert not f.should_send(KEY, 1001, 3.0)  # compared with the last *sent* value (1011)
    assert f.should_send(KEY, 1011, 62.0)  # max silence reached
    f.forget(KEY)
    assert f.should_send(KEY, 1011, 62.5)  # after a failure the next value is sent


def test_points_without_settings_always_pass() -> None:
    f = ReportFilter({})
    assert all(f.should_send(KEY, 5, float(t)) for t in range(5))


steps = st.lists(st.tuples(st.integers(-10**6, 10**6), st.floats(0, 100), st.booleans()),
                 max_size=60)


@given(st.integers(0, 10**4), st.floats(0.5, 500), steps)
def test_filter_equals_the_naive_rule(deadband: int, silence: float,
                                      events: list[tuple[int, float, bool]]) -> None:
    """Sent iff there is no last sent value, or it moved more than the deadband, or the
    silence since the last sent value reached the maximum; failures reset the state."""
    f = ReportFilter({KEY: ReportByException(deadband=deadband, max_silence=silence)})
    last: tuple[int, float] | None = None
    now = 0.0
    for value, step, failed in events:
        now += step
        if failed:
            f.forget(KEY)
            last = None
            continue
        expected = (last is None or abs(value - last[0]) > deadband
                    or now - last[1] >= silence)
        assert f.should_send(KEY, value, now) == expected
        if expected:
            last = (value, now)
