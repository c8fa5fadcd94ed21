"""Failed polls merged into gap runs: every failure counted in exactly one run, a run holds one
error class and one point, an answer or a class change closes it, long runs are sliced; a
failure standing for a stretch of skipped polls counts each of them."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from edge_node.signing.gaps import OVERRUN, GapTracker, OpenGap

POINTS = (("a/b/c/d/m1", "import_energy"), ("a/b/c/d/m1", "power"), ("a/b/c/d/m2", "import"))
CLASSES = ("timeout", "busy", "connection", OVERRUN)

events = st.lists(st.tuples(st.sampled_from(("fail", "answer", "tick")),
                            st.integers(0, len(POINTS) - 1), st.sampled_from(CLASSES),
                            st.integers(0, 400), st.integers(1, 4)), max_size=80)


@given(events, st.integers(1, 600))
def test_every_failure_is_in_exactly_one_run_of_one_point_and_class(
        script: list[tuple[str, int, str, int, int]], flush_after: int) -> None:
    tracker = GapTracker(flush_after_s=flush_after)
    closed: list[OpenGap] = []
    failures: dict[tuple[str, str], int] = {}
    now = 1_700_000_000
    last_class: dict[tuple[str, str], str] = {}
    for action, index, error, step, polls in script:
        now += step
        meter, point = POINTS[index]
        if action == "fail":
            before = tracker.open_runs
            new = tracker.failed(meter, point, "energy.active.import:Wh", now, error,
                                 polls=polls, last_timestamp=now + 7 * (polls - 1))
            now += 7 * (polls - 1)
            # Only a change of class closes a run on failure, and only that point's; skipped
            # ticks (overrun) join the run beside them, which keeps or takes the other class.
            prev = last_class.get((meter, point))
            closes = prev not in (None, error) and OVERRUN not in (prev, error)
            assert all((g.meter, g.point) == (meter, point) for g in new)
            assert bool(new) == closes
            assert tracker.open_runs == before + (0 if prev is not None else 1)
            closed += new
            failures[(meter, point)] = failures.get((meter, point), 0) + polls
            last_class[(meter, point)] = prev if error == OVERRUN and prev else error
        elif action == "answer":
            new = tracker.answered(meter, point)
            assert len(new) == (1 if (meter, point) in last_class else 0)
            closed += new
            last_class.pop((meter, point), None)
        else:
            due = tracker.due(now)
            assert all(now - g.from_timestamp >= flush_after for g in due)
            for gap in due:
                last_class.pop((gap.meter, gap.point), None)
            closed += due
    closed += tracker.close_all()
    assert tracker.open_runs == 0
    for key, count in failures.items():
        runs = [g for g in closed if (g.meter, g.point) == key]
        assert sum(g.failed_polls for g in runs) == count
        assert all(g.failed_polls >= 1 and g.from_timestamp <= g.to_timestamp for g in runs)
        spans = sorted((g.from_timestamp, g.to_timestamp) for g in runs)
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))
    assert sum(g.failed_polls for g in closed) == sum(failures.values())


def test_a_run_keeps_first_and_last_failure_times_and_its_class() -> None:
    tracker = GapTracker(flush_after_s=300)
    assert tracker.failed("m", "p", "energy.active.import:Wh", 100, "timeout") == []
    assert tracker.failed("m", "p", "energy.active.import:Wh", 160, "timeout") == []
    (run,) = tracker.failed("m", "p", "energy.active.import:Wh", 220, "busy")
    assert (run.from_timestamp, run.to_timestamp, run.failed_polls, run.error_class) == \
        (100, 160, 2, "timeout")
    assert tracker.due(219 + 300) == []
    (sliced,) = tracker.due(220 + 300)
    assert (sliced.from_timestamp, sliced.error_class, sliced.failed_polls) == (220, "busy", 1)


def test_a_stretch_of_skipped_polls_is_one_failure_counting_each_poll_over_its_span() -> None:
    tracker = GapTracker(flush_after_s=300)
    assert tracker.failed("m", "p", "energy.active.import:Wh", 100, "overrun", polls=3,
                          last_timestamp=120) == []
    assert tracker.failed("m", "p", "energy.active.import:Wh", 140, "overrun") == []
    (run,) = tracker.answered("m", "p")
    assert (run.from_timestamp, run.to_timestamp, run.failed_polls, run.error_class) == \
        (100, 140, 4, "overrun")


def test_skipped_ticks_beside_failing_polls_count_in_their_run_whatever_comes_first() -> None:
    tracker = GapTracker(flush_after_s=300)
    # a timeout that outlasted the interval; the tick skipped meanwhile fell due before it ended
    assert tracker.failed("m", "p", "energy.active.import:Wh", 101, "timeout") == []
    assert tracker.failed("m", "p", "energy.active.import:Wh", 100, OVERRUN) == []
    assert tracker.failed("m", "p", "energy.active.import:Wh", 103, "timeout") == []
    (run,) = tracker.answered("m", "p")
    assert (run.from_timestamp, run.to_timestamp, run.failed_polls, run.error_class) == \
        (100, 103, 3, "timeout")
    # skipped ticks of a slow meter, then its poll fails: one run, of the failure's class
    assert tracker.failed("m", "p", "energy.active.import:Wh", 200, OVERRUN, polls=2,
                          last_timestamp=201) == []
    assert tracker.failed("m", "p", "energy.active.import:Wh", 202, "busy") == []
    (run,) = tracker.close_all()
    assert (run.from_timestamp, run.to_timestamp, run.failed_polls, run.error_class) == \
        (200, 202, 3, "busy")
