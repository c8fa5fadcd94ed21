"""The simulated meter's physics: deterministic given the seed, counters that integrate the
instantaneous power exactly whatever the polling pattern, a daily load curve, and counter
faults that move the counters as documented."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from edge_node.profiles import load_profile
from edge_node.simulator import MeterModel, MeterSpec, day_curve
from edge_node.simulator.meter import SLOT_SECONDS

START = 1_760_000_000 - 1_760_000_000 % SLOT_SECONDS  # a slot boundary
IMPORT = "energy.active.import:Wh"
EXPORT = "energy.active.export:Wh"


def _model(seed: int = 7, **spec: int) -> MeterModel:
    model = MeterModel(MeterSpec(1, load_profile("generic"), **spec), seed)  # type: ignore[arg-type]
    model.energy_joules(START)
    return model


@given(st.lists(st.integers(0, 86_400 * 3), min_size=1, max_size=20))
@settings(max_examples=30)
def test_counters_do_not_depend_on_when_the_meter_was_polled(offsets: list[int]) -> None:
    polled, direct = _model(), _model()
    for offset in sorted(offsets):
        polled.counter(IMPORT, START + offset)
    last = START + max(offsets)
    assert polled.counter(IMPORT, last) == direct.counter(IMPORT, last)


def test_the_counter_grows_by_the_integral_of_the_power_it_reports() -> None:
    model = _model(solar_w=15_000)
    at_start = model.counter(IMPORT, START)
    joules_in = joules_out = 0
    for slot in range(START // SLOT_SECONDS, START // SLOT_SECONDS + 1440):
        power = model.power(slot)
        joules_in += max(power, 0) * SLOT_SECONDS
        joules_out += max(-power, 0) * SLOT_SECONDS
    day_later = START + 86_400
    assert model.energy_joules(day_later) == (joules_in, joules_out)
    assert joules_out > 0  # solar above the load at midday: the site exported
    assert model.counter(IMPORT, day_later) - at_start == joules_in // 3600


def test_the_same_seed_gives_the_same_values_and_another_seed_others() -> None:
    quantities = (IMPORT, "power.active:W", "voltage:mV", "current:mA", "frequency:mHz")
    at = START + 12_345
    first = [_model(seed=1).value(q, at) for q in quantities]
    assert first == [_model(seed=1).value(q, at) for q in quantities]
    assert first != [_model(seed=2).value(q, at) for q in quantities]


def test_instantaneous_values_are_plausible_and_consistent_with_power() -> None:
    model = _model(peak_w=23_000)
    for offset in range(0, 86_400, 3_600):
        at = START + offset
        power = model.value("power.active:W", at)
        volts = model.value("voltage:mV", at)
        assert 0 < power < 23_000 * 1.1
        assert 226_000 <= volts <= 234_000
        assert 49_950 <= model.value("frequency:mHz", at) <= 50_050
        expected = Fraction(power * 1_000_000) / (3 * volts * Fraction(95, 100))
        assert abs(model.value("current:mA", at) - expected) <= Fraction(1, 2)


def test_the_load_follows_a_day_curve() -> None:
    assert day_curve(3) == day_curve(22) == 0.35
    assert day_curve(13) == 1.0
    assert day_curve(8) < day_curve(11) < day_curve(13)


def test_set_counter_moves_only_the_named_counter_and_it_keeps_growing() -> None:
    model = _model()
    exported = model.counter(EXPORT, START + 60)
    model.set_counter(IMPORT, 0, START + 60)
    assert model.counter(IMPORT, START + 60) == 0
    assert model.counter(EXPORT, START + 60) == exported
    assert model.counter(IMPORT, START + 3_600) > 0
