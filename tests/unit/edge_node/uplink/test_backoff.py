"""The uplink's backoff: full jitter under an exponential ceiling capped at backoff_max_ms, at
least the server's Retry-After (itself capped)."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from edge_node.uplink import UplinkSettings
from edge_node.uplink.client import backoff_seconds

SETTINGS = UplinkSettings(url="http://127.0.0.1", backoff_initial_ms=500, backoff_max_ms=60_000)


@given(attempt=st.integers(1, 10_000), retry_after=st.none() | st.integers(0, 10**9),
       fraction=st.floats(0, 1))
@example(attempt=1, retry_after=None, fraction=1.0)
@example(attempt=10_000, retry_after=10**9, fraction=0.0)
def test_the_pause_lies_under_the_exponential_ceiling_and_honours_retry_after(
        attempt: int, retry_after: int | None, fraction: float) -> None:
    wait = backoff_seconds(attempt, SETTINGS, retry_after,
                           uniform=lambda low, high: low + fraction * (high - low))
    ceiling = min(60.0, 0.5 * 2 ** min(attempt - 1, 32))
    floor = 0.0 if retry_after is None else min(retry_after, 60)
    assert floor <= wait <= max(ceiling, floor)
    assert abs(wait - max(fraction * ceiling, floor)) < 1e-9


def test_the_ceiling_doubles_from_the_initial_pause_up_to_the_maximum() -> None:
    top = [backoff_seconds(n, SETTINGS, uniform=lambda low, high: high) for n in range(1, 10)]
    assert top == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0]
