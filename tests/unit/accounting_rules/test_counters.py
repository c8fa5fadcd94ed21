"""Counter arithmetic against a naive sum of the true consumption, and its rules one by one.

The property tests generate a true consumption series (bounded by a rate), derive the register
values a meter would show (wrapping at a modulus, restarting at signed meter changes), drop
readings at random and shuffle the rest; the computed energy must equal the naive sum of the
true increments between the retained boundary readings, for the whole history and for every
period of a random tiling.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from fractions import Fraction
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accounting_rules.counters import (
    CounterChange,
    CounterGap,
    CounterReading,
    RolloverRule,
    build_history,
)
from accounting_rules.errors import (
    CounterError,
    InconsistentReadings,
    InvalidMeterChange,
    UnexplainedDecrease,
)
from factories import make_reading, make_records
from mrv_core.errors import MethodologyError
from mrv_core.records import Gap, MeterChange

R = CounterReading
RATE = 5  # the most a counter grows per second in these series (units per second)


@dataclass
class Series:
    """What a meter showed, and the truth behind it."""

    readings: list[CounterReading]
    truth: list[int]  # cumulative true consumption at each reading, by seq
    changes: list[CounterChange]
    rule: RolloverRule


@st.composite
def series(draw: st.DrawFn) -> Series:
    n = draw(st.integers(1, 40))
    wraps = draw(st.booleans())
    dts = [draw(st.integers(0, 60)) for _ in range(n - 1)]
    # A modulus above twice the most the counter can grow in the whole series: no wrap can
    # hide, and every true wrap is one the rule takes for a rollover, which needs the wrapped
    # increase to be at most half the range (RolloverRule; a modulus just above the growth
    # let a series wrap by more than half the range, which the rule rightly calls a decrease).
    modulus = 2 * RATE * (sum(dts) + 2) + draw(st.integers(1, 500)) if wraps else None
    top = modulus if modulus is not None else 10**12  # no wrap: values stay far below 2^256
    value = draw(st.integers(0, top - 1))
    t = draw(st.integers(1, 2**40))  # after 0, so the period [0, ...) holds every step
    readings, truth, changes = [R(0, t, value)], [0], []

    def wrap(register: int) -> int:
        return register % modulus if modulus is not None else register

    for seq, dt in enumerate(dts, start=1):
        if dt and draw(st.integers(0, 9)) == 0:  # a meter change inside this interval
            tc = t + draw(st.integers(0, dt))
            x = draw(st.integers(0, RATE * (tc - t)))
            y = draw(st.integers(0, RATE * (t + dt - tc)))
            old_final = wrap(value + x)
            new_initial = draw(st.integers(0, top - 1))
            changes.append(CounterChange(tc, seq, old_final, new_initial))
            value, used = wrap(new_initial + y), x + y
        else:
            used = draw(st.integers(0, RATE * dt))
            value = wrap(value + used)
        t += dt
        readings.append(R(seq, t, value))
        truth.append(truth[-1] + used)
    return Series(readings, truth, changes, RolloverRule(modulus, RATE))


def _retained(data: st.DataObject, s: Series) -> list[CounterReading]:
    keep = data.draw(st.lists(st.booleans(), min_size=len(s.readings),
                              max_size=len(s.readings)))
    kept = [r for r, k in zip(s.readings, keep, strict=True) if k] or [s.readings[-1]]
    shuffled = kept + data.draw(st.lists(st.sampled_from(kept), max_size=3))  # duplicates too
    random.Random(data.draw(st.integers(0, 2**32))).shuffle(shuffled)
    return shuffled


@settings(max_examples=150, deadline=None)
@given(s=series(), data=st.data())
def test_total_equals_the_naive_sum_between_retained_readings(s: Series,
                                                              data: st.DataObject) -> None:
    given_readings = _retained(data, s)
    history = build_history(given_readings, s.rule, meter_changes=s.changes)
    seqs = sorted({r.seq for r in given_readings})
    assert [r.seq for r in history.readings] == seqs
    assert history.total == s.truth[seqs[-1]] - s.truth[seqs[0]]
    assert all(step.unexplained == 0 for step in history.steps)
    assert all(not step.ambiguous for step in history.steps)
    # bridged steps are exactly those whose seqs are not adjacent
    for step in history.steps:
        assert step.bridged == (step.last.seq - step.first.seq > 1)


@settings(max_examples=100, deadline=None)
@given(s=series(), data=st.data())
def test_periods_take_the_last_reading_at_or_before_each_bound_and_tile(
        s: Series, data: st.DataObject) -> None:
    history = build_history(_retained(data, s), s.rule, meter_changes=s.changes)
    first, last = s.readings[0].timestamp, s.readings[-1].timestamp
    cuts = sorted(set(data.draw(st.lists(st.integers(max(0, first - 100), last + 100),
                                         min_size=2, max_size=8))))
    if len(cuts) < 2:
        return
    total = 0
    for start, end in pairwise(cuts):
        period = history.period(start, end)
        expected = 0
        at_start = [r for r in history.readings if r.timestamp <= start]
        at_end = [r for r in history.readings if r.timestamp <= end]
        if at_end:
            base = s.truth[at_start[-1].seq] if at_start else s.truth[history.readings[0].seq]
            expected = s.truth[at_end[-1].seq] - base
        assert period.energy == expected
        assert period.end_reading == (at_end[-1] if at_end else None)
        total += period.energy
    assert total == history.energy_at(cuts[-1]) - history.energy_at(cuts[0])


@settings(max_examples=150, deadline=None)
@given(s=series(), data=st.data())
def test_a_decrease_without_a_meter_change_is_never_silently_consumption(
        s: Series, data: st.DataObject) -> None:
    """Unannounced resets: every decrease is either a rollover by the stated rule or flagged,
    and a flagged one adds no energy."""
    readings = list(s.readings)
    for i in data.draw(st.lists(st.integers(1, len(readings) - 1), max_size=3)
                       if len(readings) > 1 else st.just([])):
        r = readings[i]
        readings[i] = R(r.seq, r.timestamp, data.draw(st.integers(0, r.value)))
    history = build_history(readings, s.rule)  # no meter change is signed
    for step in history.steps:
        a, b = step.first, step.last
        if b.value >= a.value:
            assert (step.kind, step.energy) == ("increase", b.value - a.value)
        elif s.rule.is_rollover(a.value, b.value, b.timestamp - a.timestamp):
            assert s.rule.modulus is not None
            assert step.kind == "rollover"
            assert step.energy == b.value + s.rule.modulus - a.value <= \
                RATE * max(1, b.timestamp - a.timestamp)
        else:
            assert (step.kind, step.energy, step.unexplained) == ("unexplained_decrease", 0, 1)
    if any(step.unexplained for step in history.steps):
        with pytest.raises(UnexplainedDecrease):
            history.period(0, 2**63, strict=True)
        assert history.period(0, 2**63).unexplained_decreases >= 1


# -- the rules, case by case ----------------------------------------------------------------------

WRAP = RolloverRule(modulus=100_000, max_rate=Fraction(3_000, 3600))  # 3 kW max on a Wh register


def test_a_rollover_at_the_width_is_counted() -> None:
    history = build_history([R(0, 0, 99_990), R(1, 60, 20)], WRAP)
    assert (history.total, history.steps[0].kind) == (30, "rollover")
    assert len(history.segments) == 2


def test_an_implausible_wrap_is_an_unexplained_decrease() -> None:
    # 99,000 -> 100: a wrap would mean 1,100 Wh in 60 s (66 kW) on a 3 kW meter
    history = build_history([R(0, 0, 99_000), R(1, 60, 100)], WRAP)
    assert (history.total, history.steps[0].kind) == (0, "unexplained_decrease")
    with pytest.raises(UnexplainedDecrease, match="fell from 99000"):
        history.period(0, 61, strict=True)


def test_a_counter_without_width_never_wraps() -> None:
    history = build_history([R(0, 0, 10), R(1, 1, 9)], RolloverRule(None))
    assert history.steps[0].kind == "unexplained_decrease"


def test_a_signed_meter_change_explains_a_reset_and_loses_nothing() -> None:
    readings = [R(0, 0, 5_000), R(1, 900, 5_400), R(2, 1_800, 50)]
    change = CounterChange(timestamp=1_200, next_seq=2, old_final=5_500, new_initial=0)
    history = build_history(readings, RolloverRule(None), meter_changes=[change])
    assert history.total == 400 + 100 + 50
    assert history.steps[1].kind == "meter_change"
    assert history.period(0, 2_000).meter_changes == 1


def test_two_changes_in_one_step_chain() -> None:
    changes = [CounterChange(10, 1, 15, 0), CounterChange(20, 1, 7, 100)]
    history = build_history([R(0, 0, 10), R(1, 30, 103)], RolloverRule(None),
                            meter_changes=changes)
    assert history.total == 5 + 7 + 3


def test_a_meter_change_outside_its_step_is_refused() -> None:
    with pytest.raises(InvalidMeterChange, match="outside its step"):
        build_history([R(0, 0, 10), R(1, 30, 3)], RolloverRule(None),
                      meter_changes=[CounterChange(31, 1, 12, 0)])


def test_gaps_are_bridged_and_reported_with_their_length() -> None:
    readings = [R(0, 0, 100), R(1, 60, 160), R(2, 600, 700)]  # polls failed from 120 to 540
    gap = CounterGap(next_seq=2, from_timestamp=120, to_timestamp=540, failed_polls=8)
    period = build_history(readings, WRAP, gaps=[gap]).period(0, 600)
    assert period.energy == 600
    assert period.gap_count == 1
    assert [(b.first_seq, b.last_seq, b.seconds, b.gap_records) for b in period.bridged] == \
        [(1, 2, 540, 1)]
    assert period.bridged_seconds == 540


def test_a_boundary_without_a_reading_attributes_energy_to_the_next_period() -> None:
    history = build_history([R(0, 0, 0), R(1, 3_000, 300), R(2, 4_000, 400)], RolloverRule(None))
    first, second = history.period(0, 3_600), history.period(3_600, 7_200)
    assert (first.energy, second.energy) == (300, 100)
    assert first.end_reading == second.start_reading == R(1, 3_000, 300)


def test_a_long_step_is_flagged_as_ambiguous() -> None:
    rule = RolloverRule(modulus=1_000, max_rate=1)
    history = build_history([R(0, 0, 10), R(1, 2_000, 20)], rule)
    assert history.steps[0].ambiguous and history.period(0, 2_001).ambiguous_steps == 1


@pytest.mark.parametrize(("readings", "message"), [
    ([R(0, 0, 1), R(0, 1, 1)], "appears twice"),
    ([R(0, 10, 1), R(1, 5, 2)], "backwards"),
    ([R(0, 0, 100_000)], "not below the counter modulus"),
    ([R(0, 0, -1)], "must be an int >= 0"),
])
def test_inconsistent_readings_are_refused(readings: list[CounterReading], message: str) -> None:
    with pytest.raises(InconsistentReadings, match=message):
        build_history(readings, WRAP)


def test_errors_derive_from_the_accounting_root() -> None:
    assert issubclass(CounterError, MethodologyError) and issubclass(CounterError, ValueError)
    with pytest.raises(InconsistentReadings, match="start < end"):
        build_history([R(0, 0, 0)], WRAP).period(5, 5)


def test_signed_structs_convert_to_counter_inputs() -> None:
    reading, _ = make_reading(random.Random(3), seq=7)
    assert CounterReading.of(reading) == R(7, reading.timestamp, reading.value)
    gap, change = (r for r, _, _ in make_records(random.Random(4))[:2])
    assert isinstance(gap, Gap) and isinstance(change, MeterChange)
    assert CounterGap.of(gap) == CounterGap(gap.next_seq, gap.from_timestamp, gap.to_timestamp,
                                            gap.failed_polls)
    assert CounterChange.of(change) == CounterChange(change.timestamp, change.next_seq,
                                                     change.old_final, change.new_initial)
