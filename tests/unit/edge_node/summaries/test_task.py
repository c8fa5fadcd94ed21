"""The summary task over a real store filled by the real signer: which periods it settles and
when, the figures it signs, and that nothing is signed twice (runs, restarts)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from structlog.testing import capture_logs
from unit.edge_node.summaries.support import (
    DAY,
    HOUR,
    LOCATION,
    MAIN,
    SITE,
    SOURCE,
    SUB,
    grams,
    in_force,
    sign_series,
    task,
    versions,
)
from unit.edge_node.support import ENERGY

from accounting_rules.periods import calendar_periods
from edge_node.anchoring import Outbox
from edge_node.batching import Batcher, BatchingSettings
from edge_node.signing.records import new_record, read_record
from edge_node.store import Store, StoreUplink
from edge_node.store.queries import batches, readings, records
from edge_node.store.retention import prune
from edge_node.store.summaries import marks
from edge_node.summaries import MethodologyVersions
from factories import TEST_DOMAIN, TEST_KEY, beijing
from mrv_core.reading import meter_id, new_salt, site_id
from mrv_core.records import SCOPE_METER, SCOPE_SITE, EmissionSummary, Gap, record_digest
from mrv_core.signing import recover_address

#: Readings every 10 minutes from 5 minutes before DAY to 5 minutes after the day after.
TIMES = [DAY - 300 + 600 * i for i in range(147)]


def values(times: list[int], start: int = 5_000_000, salt: int = 37) -> list[int]:
    """An increasing counter with uneven steps."""
    out, value = [], start
    for i, _ in enumerate(times):
        value += 1000 + (i * salt) % 500
        out.append(value)
    return out


def at(times: list[int], counter: list[int], t: int) -> int:
    """The counter at the last reading at or before ``t``."""
    return [v for s, v in zip(times, counter, strict=True) if s <= t][-1]


def summaries_of(store: Store) -> list[EmissionSummary]:
    out = []
    for stored in records(store):
        if stored.kind == "emission_summary":
            record = read_record(stored).record
            assert isinstance(record, EmissionSummary)
            out.append(record)
    return out


def test_a_days_hourly_and_daily_summaries_carry_the_calculators_figures(store: Store) -> None:
    main, sub = values(TIMES), values(TIMES, 9_000_000, 11)
    sign_series(store, MAIN, TIMES, main)
    sign_series(store, SUB, TIMES, sub)
    signed = task(store, (MAIN, SUB)).run_once(DAY + 86_400 + 2 * HOUR)
    assert len(signed) == 3 * (24 + 1)  # two meters and the site, 24 hours and one day each
    day = {(s.record.scope_id, s.record.period_end - s.record.period_start): s for s in signed
           if s.record.period_end - s.record.period_start == 86_400}
    for path, counter in ((MAIN, main), (SUB, sub)):
        summary = day[meter_id(path), 86_400].record
        assert isinstance(summary, EmissionSummary)
        activity = at(TIMES, counter, DAY + 86_400) - at(TIMES, counter, DAY)
        assert (summary.period_start, summary.period_end) == (DAY, DAY + 86_400)
        assert summary.activity == activity
        assert summary.emissions == grams(activity)
        assert (summary.scope_kind, summary.source, summary.quantity) == (SCOPE_METER, SOURCE,
                                                                          ENERGY)
        assert (summary.methodology, summary.methodology_version) == (LOCATION, 1)
        assert summary.reading_count == 145  # from the reading at DAY - 300 to DAY + 86,100
        assert (summary.gap_count, summary.bridged_gap_count, summary.unexplained_decreases) \
            == (0, 0, 0)
        hours = [s.record for s in signed if s.record.scope_id == meter_id(path)
                 and s.record.period_end - s.record.period_start == HOUR]
        assert [(h.period_start, h.period_end) for h in hours] \
            == calendar_periods(DAY, DAY + 86_400, "hour")
        assert sum(h.activity for h in hours) == activity  # hours add up to the day
    site = day[site_id(SITE), 86_400]
    both = (at(TIMES, main, DAY + 86_400) - at(TIMES, main, DAY)
            + at(TIMES, sub, DAY + 86_400) - at(TIMES, sub, DAY))
    assert (site.record.scope_kind, site.path) == (SCOPE_SITE, SITE)
    assert isinstance(site.record, EmissionSummary)
    assert site.record.activity == both
    assert site.record.emissions == grams(both)  # rounded once, over the site's activity
    for s in signed:
        assert recover_address(record_digest(s.record, TEST_DOMAIN), s.signature) \
            == TEST_KEY.address
    stored = [read_record(r) for r in records(store) if r.kind == "emission_summary"]
    assert stored == signed  # committed as record leaves, as signed, in order


def test_nothing_is_signed_twice_across_runs_and_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "edge.sqlite"
    with Store(path, TEST_KEY.address, TEST_DOMAIN) as store:
        sign_series(store, MAIN, TIMES[:80], values(TIMES)[:80])
        first = task(store).run_once(DAY + 86_400)
        assert len(first) == 2 * 13  # hours 00-13 of the meter and the site (last reading 13:05)
        assert task(store).run_once(DAY + 86_400) == []
    with Store(path, TEST_KEY.address, TEST_DOMAIN) as store:  # a restart
        again = task(store)
        assert again.run_once(DAY + 86_400) == []
        sign_series(store, MAIN, TIMES[80:], values(TIMES)[80:])
        later = again.run_once(DAY + 86_400 + HOUR)
        assert sorted({s.record.period_start for s in later if s.record.period_end
                       - s.record.period_start == HOUR}) \
            == [start for start, _ in calendar_periods(DAY + 13 * HOUR, DAY + 86_400, "hour")]
        assert len(later) == 2 * (11 + 1)  # the rest of the hours, then the day
        found = summaries_of(store)
        keys = [(s.scope_kind, s.scope_id, s.period_start, s.period_end) for s in found]
        assert len(keys) == len(set(keys)) == 2 * (24 + 1)
        assert len(marks_of(store)) == len(keys)


def marks_of(store: Store) -> list[tuple[int, str, int, int, str]]:
    with store.read() as session:
        return [(m.scope_kind, m.scope_path, m.period_start, m.period_end, m.outcome)
                for m in marks(session)]


def test_a_period_waits_for_a_reading_after_its_end_and_is_made_late(store: Store) -> None:
    times = [DAY + 600 * i for i in range(7)]  # 00:00 ... 01:00 exactly
    counter = values(times)
    sign_series(store, MAIN, times, counter)
    summaries = task(store, granularities=("hour",))
    assert summaries.run_once(DAY + 30 * HOUR) == []  # a reading at 01:00 could still follow
    sign_series(store, MAIN, [DAY + HOUR + 60], [counter[-1] + 5])
    late = summaries.run_once(DAY + 30 * HOUR)
    assert [(s.record.period_start, s.record.period_end) for s in late] \
        == [(DAY, DAY + HOUR)] * 2
    assert isinstance(late[0].record, EmissionSummary)
    assert late[0].record.activity == counter[-1] - counter[0]  # includes the reading at 01:00


def test_a_period_that_has_not_ended_is_never_summarized(store: Store) -> None:
    sign_series(store, MAIN, TIMES, values(TIMES))
    assert task(store, granularities=("hour",)).run_once(DAY + HOUR - 1) == []
    assert len(task(store, granularities=("hour",)).run_once(DAY + HOUR)) == 2


def test_the_site_waits_for_its_slowest_meter(store: Store) -> None:
    sign_series(store, MAIN, TIMES, values(TIMES))
    sign_series(store, SUB, TIMES[:40], values(TIMES)[:40])  # SUB's last reading: 06:25
    signed = task(store, (MAIN, SUB)).run_once(DAY + 86_400 + HOUR)
    site = sorted(s.record.period_end for s in signed if s.record.scope_kind == SCOPE_SITE)
    assert site == [DAY + HOUR * h for h in range(1, 7)]  # hours up to 06:00, no day
    main = [s for s in signed if s.record.scope_id == meter_id(MAIN)]
    assert len(main) == 24 + 1


def test_a_source_without_a_published_version_is_skipped_with_one_log_line(
        store: Store) -> None:
    sign_series(store, MAIN, TIMES, values(TIMES))
    summaries = task(store, known=MethodologyVersions([LOCATION], as_of=2**40))
    with capture_logs() as logs:
        assert summaries.run_once(DAY + 86_400 + HOUR) == []
        assert summaries.run_once(DAY + 86_400 + 2 * HOUR) == []
    skipped = [e for e in logs if e["event"] == "summaries_skipped"]
    assert len(skipped) == 1 and skipped[0]["source"] == SOURCE
    assert skipped[0]["methodology"] == LOCATION
    assert summaries_of(store) == [] and marks_of(store) == []
    summaries.versions = versions()  # a first version is published, in force from the past
    assert len(summaries.run_once(DAY + 86_400 + 2 * HOUR)) == 2 * (24 + 1)


def test_periods_before_the_first_version_are_settled_without_a_summary(store: Store) -> None:
    sign_series(store, MAIN, TIMES, values(TIMES))
    summaries = task(store, known=versions(in_force(effective=DAY + 6 * HOUR)),
                     granularities=("hour",))
    signed = summaries.run_once(DAY + 86_400 + HOUR)
    assert sorted({s.record.period_start for s in signed}) \
        == [DAY + HOUR * h for h in range(6, 24)]
    settled = marks_of(store)
    assert [m[4] for m in settled if m[2] < DAY + 6 * HOUR] == ["no_version"] * 12
    assert summaries.run_once(DAY + 86_400 + HOUR) == []  # settled for good


def test_periods_without_a_factor_row_are_settled_without_a_summary(store: Store) -> None:
    day = beijing(2020, 12, 31)  # data year 2020: cn.electricity.location has no factor
    times = [day - 300 + 600 * i for i in range(147)]
    sign_series(store, MAIN, times, values(times))
    signed = task(store, known=versions(in_force(effective=beijing(2000))),
                  granularities=("day",)).run_once(day + 2 * 86_400)
    assert signed == []
    assert [m[2:] for m in marks_of(store)] == [(day, day + 86_400, "no_factor")] * 2


def test_a_version_the_node_cannot_use_makes_its_periods_wait(store: Store) -> None:
    sign_series(store, MAIN, TIMES, values(TIMES))
    unusable = in_force()
    unusable = type(unusable)(unusable.resolved, None, "spec hash differs")
    summaries = task(store, known=versions(unusable))
    with capture_logs() as logs:
        assert summaries.run_once(DAY + 86_400 + HOUR) == []
        assert summaries.run_once(DAY + 86_400 + HOUR) == []
    waiting = [e for e in logs if e["event"] == "summaries_waiting"]
    assert len(waiting) == 1 and waiting[0]["error"] == "spec hash differs"
    assert marks_of(store) == []


def test_periods_after_the_registry_was_read_wait(store: Store) -> None:
    sign_series(store, MAIN, TIMES, values(TIMES))
    summaries = task(store, known=versions(as_of=DAY + 3 * HOUR), granularities=("hour",))
    signed = summaries.run_once(DAY + 86_400 + HOUR)
    assert sorted({s.record.period_start for s in signed}) == [DAY, DAY + HOUR, DAY + 2 * HOUR,
                                                               DAY + 3 * HOUR]


def test_periods_whose_readings_retention_pruned_are_settled_without_a_summary(
        store: Store) -> None:
    counter = values(TIMES)
    sign_series(store, MAIN, TIMES[:20], counter[:20])  # to 03:05
    summaries = task(store, granularities=("hour",))
    assert len(summaries.run_once(DAY + 2 * 86_400)) == 2 * 3  # hours 00-03
    sign_series(store, MAIN, TIMES[20:], counter[20:])  # summaries stall meanwhile...
    Batcher(store, TEST_KEY, settings=BatchingSettings(max_leaves=10)).close_due(
        now=DAY + 2 * 86_400, force=True)
    outbox = Outbox(store)
    closed = batches(store)
    for batch in closed:
        outbox.final(batch.header.batch_seq, bytes(32), 10, DAY, DAY)
    (gone,) = [r for r in readings(store) if r.signed.reading.timestamp == TIMES[61]]  # 10:05
    StoreUplink(store).acknowledge("leaves", gone.ordinal)
    StoreUplink(store).acknowledge("batches", closed[-1].header.batch_seq)
    prune(store, cutoff=DAY + 3 * 86_400)  # ...while retention removes readings up to 10:05
    assert min(r.signed.reading.timestamp for r in readings(store)) == TIMES[62]  # 10:15
    with capture_logs() as logs:
        for _ in range(3):  # marks the pruned hours, signs the others, finds nothing more
            summaries.run_once(DAY + 2 * 86_400)
    assert [e["event"] for e in logs if e["log_level"] == "warning"] == ["summaries_pruned"] * 2
    settled = {(m[0], m[2]): m[4] for m in marks_of(store)}
    for kind in (SCOPE_METER, SCOPE_SITE):
        assert [settled[kind, DAY + HOUR * h] for h in range(24)] \
            == ["signed"] * 3 + ["pruned"] * 8 + ["signed"] * 13
    hours = sorted((s.period_start, s.activity) for s in summaries_of(store)
                   if s.scope_kind == SCOPE_METER)
    # hours 00-03 were signed, acknowledged and pruned with the readings; 11-23 are new
    assert [start for start, _ in hours] == [DAY + HOUR * h for h in range(11, 24)]
    for start, activity in hours:  # each figure from whole data, as before the pruning
        assert activity == at(TIMES, counter, start + HOUR) - at(TIMES, counter, start)


def test_a_gap_and_a_rollover_enter_the_hours_figures(store: Store) -> None:
    times = [DAY - 60, DAY + 600, DAY + 1200, DAY + 3000, DAY + HOUR + 60]
    counter = [2**32 - 5000, 2**32 - 1000, 3000, 9000, 12_000]  # wraps between 00:10 and 00:20
    sign_series(store, MAIN, times, counter)
    gap = Gap(device=TEST_KEY.address, meter=meter_id(MAIN), quantity=ENERGY, next_seq=3,
              from_timestamp=DAY + 1800, to_timestamp=DAY + 2400, failed_polls=2,
              error_class="timeout", salt=new_salt())
    with store.write() as session:
        store.add_records(session, [new_record(TEST_KEY.sign_record(gap, TEST_DOMAIN, MAIN))])
    (hour, _site) = task(store, granularities=("hour",)).run_once(DAY + 2 * HOUR)
    summary = hour.record
    assert isinstance(summary, EmissionSummary)
    assert summary.activity == 9000 + 2**32 - (2**32 - 5000)  # across the wrap, nothing lost
    assert summary.emissions == grams(summary.activity)
    assert (summary.gap_count, summary.bridged_gap_count, summary.bridged_seconds) \
        == (1, 1, 1800)
    assert summary.reading_count == 4


def test_periods_follow_the_configured_zone(store: Store) -> None:
    midnight_utc = DAY + 8 * HOUR  # 00:00 UTC on 1 June 2023 is 08:00 in Beijing
    times = [midnight_utc - 300 + 600 * i for i in range(147)]
    counter = values(times)
    sign_series(store, MAIN, times, counter)
    (day, _site) = task(store, granularities=("day",), zone="UTC").run_once(DAY + 3 * 86_400)
    assert (day.record.period_start, day.record.period_end) \
        == (midnight_utc, midnight_utc + 86_400)
    assert isinstance(day.record, EmissionSummary)
    assert day.record.activity == (at(times, counter, midnight_utc + 86_400)
                                   - at(times, counter, midnight_utc))


def test_a_backlog_is_worked_off_a_bounded_number_of_periods_per_run(store: Store) -> None:
    sign_series(store, MAIN, TIMES, values(TIMES))
    summaries = task(store, granularities=("hour",), max_periods=5)
    runs = [summaries.run_once(DAY + 86_400 + HOUR) for _ in range(6)]
    assert [len(r) for r in runs] == [10, 10, 10, 10, 8, 0]
    starts = [s.record.period_start for r in runs for s in r if s.record.scope_kind == 1]
    assert starts == [start for start, _ in calendar_periods(DAY, DAY + 86_400, "hour")]


@settings(max_examples=12, deadline=None)
@given(steps=st.lists(st.tuples(st.integers(1, 1800), st.integers(0, 50_000)), min_size=2,
                      max_size=80),
       offset=st.integers(0, 3 * HOUR))
def test_hours_add_up_to_the_counter_difference_whatever_the_readings(
        tmp_path_factory: pytest.TempPathFactory, steps: list[tuple[int, int]],
        offset: int) -> None:
    """Property: the hourly activities of every settled hour add up to the counter's
    difference between the first hour's start and the last hour's end (naively: the values at
    the last readings at or before them)."""
    times, counter, t, value = [], [], DAY - offset, 10_000
    for seconds, energy in steps:
        times.append(t)
        counter.append(value)
        t, value = t + seconds, value + energy
    path = tmp_path_factory.mktemp("prop") / "edge.sqlite"
    with Store(path, TEST_KEY.address, TEST_DOMAIN) as store:
        sign_series(store, MAIN, times, counter)
        signed = task(store, granularities=("hour",)).run_once(times[-1] + 86_400)
    hours = sorted((s.record.period_start, s.record.period_end, s.record.activity)
                   for s in signed if s.record.scope_kind == SCOPE_METER
                   and isinstance(s.record, EmissionSummary))
    if not hours:
        assert times[-1] - times[0] < 2 * HOUR  # no whole hour between the first and last
        return
    assert all(end <= times[-1] - 1 and start >= times[0] for start, end, _ in hours)
    assert [h[0] for h in hours[1:]] == [h[1] for h in hours[:-1]]  # contiguous, in order
    assert sum(h[2] for h in hours) \
        == at(times, counter, hours[-1][1]) - at(times, counter, hours[0][0])


@settings(max_examples=10, deadline=None)
@given(actions=st.lists(st.one_of(
    st.tuples(st.just("read"), st.lists(st.tuples(st.integers(60, 5400),
                                                   st.integers(0, 90_000)),
                                         min_size=1, max_size=30)),
    st.tuples(st.just("run"), st.integers(0, 4 * HOUR)),
    st.tuples(st.just("restart"), st.just(0))), min_size=1, max_size=12))
def test_any_schedule_of_readings_runs_and_restarts_signs_each_period_once(
        tmp_path_factory: pytest.TempPathFactory, actions: list[tuple[str, object]]) -> None:
    """Property (a state machine of the task): readings arrive in bursts, runs come at any
    time, the node restarts between them; at the end, after a last run, every (scope, period)
    was signed once, the hours of each scope tile time from the first hour after the first
    reading to the last hour that ended before the last reading, and their activities add up
    to the counter's difference."""
    path = tmp_path_factory.mktemp("machine") / "edge.sqlite"
    times, counter = [DAY - 100], [1_000]
    store = Store(path, TEST_KEY.address, TEST_DOMAIN)
    sign_series(store, MAIN, times, counter)
    summaries, now = task(store, granularities=("hour",), max_periods=3), DAY
    try:
        for action, argument in actions:
            if action == "read":
                assert isinstance(argument, list)
                new_times, new_values = [], []
                for seconds, energy in argument:
                    new_times.append((new_times or times)[-1] + seconds)
                    new_values.append((new_values or counter)[-1] + energy)
                sign_series(store, MAIN, new_times, new_values)
                times, counter = times + new_times, counter + new_values
            elif action == "run":
                assert isinstance(argument, int)
                now += argument
                summaries.run_once(now)
            else:
                store.close()
                store = Store(path, TEST_KEY.address, TEST_DOMAIN)
                summaries = task(store, granularities=("hour",), max_periods=3)
        while summaries.run_once(times[-1] + HOUR):
            pass
        found = summaries_of(store)
    finally:
        store.close()
    for kind in (SCOPE_METER, SCOPE_SITE):
        hours = sorted((s.period_start, s.period_end, s.activity) for s in found
                       if s.scope_kind == kind)
        assert len(hours) == len({h[:2] for h in hours})  # each period signed once
        expected = calendar_periods(DAY, times[-1] - 1, "hour") if times[-1] > DAY else []
        assert [h[:2] for h in hours] == expected
        if hours:
            assert sum(h[2] for h in hours) \
                == at(times, counter, hours[-1][1]) - at(times, counter, hours[0][0])
