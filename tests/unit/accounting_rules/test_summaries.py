"""Emission summaries: counter energy through the calculator into the EmissionSummary fields,
hourly and daily, meter and site, Beijing and a zone with daylight saving."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from accounting_rules import NoFactorForPeriod, UnknownSource, compute, load_methodology
from accounting_rules.calculator import Activity
from accounting_rules.counters import (
    CounterGap,
    CounterReading,
    PeriodEnergy,
    RolloverRule,
    build_history,
)
from accounting_rules.errors import InvalidSummary
from accounting_rules.periods import calendar_periods
from accounting_rules.summaries import period_energies, summarize
from factories import SITE_PATH, TEST_DOMAIN, TEST_KEY
from mrv_core.reading import meter_id, site_id
from mrv_core.records import SCOPE_METER, SCOPE_SITE, EmissionSummary, record_leaf
from mrv_core.verify import verify_signed_record

ELECTRICITY = load_methodology("cn.electricity.location", 2)
METER = "demo-co/wuxi-plant/assembly/line-1/main-incomer"
OTHER = "demo-co/wuxi-plant/assembly/line-2/sub-meter"
#: 2022-06-01 00:00 Beijing time: data year 2022, national grid factor 0.5366 tCO2/MWh.
JUNE = int(datetime(2022, 6, 1, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp())
WH = "energy.active.import:Wh"
SALT = b"\x5a" * 32


def counter(start: int, values: list[int], every: int = 900) -> list[CounterReading]:
    return [CounterReading(i, start + i * every, v) for i, v in enumerate(values)]


def meter_summary(energies: list[PeriodEnergy], **changes: Any) -> EmissionSummary:
    fields: dict[str, Any] = {
        "device": TEST_KEY.address, "scope_kind": SCOPE_METER, "scope_id": meter_id(METER),
        "source": "electricity.grid", "quantity": WH, "methodology": ELECTRICITY, "salt": SALT,
    }
    fields.update(changes)
    return summarize(energies, **fields)


def test_one_megawatt_hour_in_an_hour_of_2022_is_536600_grams() -> None:
    readings = counter(JUNE, [5_000_000, 5_250_000, 5_500_000, 5_750_000, 6_000_000])
    history = build_history(readings, RolloverRule(None))
    [(start, end)] = calendar_periods(JUNE, JUNE + 3_600)
    summary = meter_summary(period_energies([history], start, end))
    assert summary.activity == 1_000_000
    assert summary.emissions == 536_600
    assert (summary.methodology, summary.methodology_version) == (
        "cn.electricity.location", 2)
    assert (summary.period_start, summary.period_end) == (start, end)
    assert (summary.reading_count, summary.gap_count, summary.bridged_gap_count) == (
        5, 0, 0)


def test_a_gap_is_bridged_counted_and_loses_no_energy() -> None:
    readings = [r for r in counter(JUNE, [0, 100_000, 200_000, 300_000, 400_000]) if r.seq != 2]
    gap = CounterGap(next_seq=2, from_timestamp=JUNE + 1_800, to_timestamp=JUNE + 1_800,
                     failed_polls=1)
    history = build_history(readings, RolloverRule(None), gaps=[gap])
    summary = meter_summary(period_energies([history], JUNE, JUNE + 3_600))
    assert summary.activity == 400_000
    assert (summary.gap_count, summary.bridged_gap_count, summary.bridged_seconds) == (
        1, 1, 1_800)


def test_a_site_summary_adds_its_meters_and_signs_and_verifies() -> None:
    one = build_history(counter(JUNE, [0, 300_000, 600_000]), RolloverRule(None))
    two = build_history(counter(JUNE, [10, 20, 400_010], every=1_800), RolloverRule(None))
    energies = period_energies([one, two], JUNE, JUNE + 3_600)
    site = summarize(energies, device=TEST_KEY.address, scope_kind=SCOPE_SITE,
                     scope_id=site_id(SITE_PATH), source="electricity.grid", quantity=WH,
                     methodology=ELECTRICITY, salt=SALT)
    assert site.activity == 600_000 + 400_000
    assert site.emissions == compute(ELECTRICITY, JUNE, JUNE + 3_600,
                                     [Activity("electricity.grid", 1_000_000)]).total
    assert site.reading_count == 6
    signed = TEST_KEY.sign_record(site, TEST_DOMAIN, SITE_PATH)
    assert verify_signed_record(signed, TEST_DOMAIN) == record_leaf(site)


def test_hourly_summaries_of_a_beijing_day_add_up_to_the_daily_one() -> None:
    values, value = [], 7_000
    for i in range(24 * 4 + 1):
        value += (i * 7_919) % 50_000  # an uneven load, readings every 15 minutes
        values.append(value)
    history = build_history(counter(JUNE, values), RolloverRule(None))
    [(day_start, day_end)] = calendar_periods(JUNE, JUNE + 86_400, "day")
    daily = meter_summary(period_energies([history], day_start, day_end))
    hourly = [meter_summary(period_energies([history], a, b))
              for a, b in calendar_periods(day_start, day_end)]
    assert len(hourly) == 24
    assert sum(h.activity for h in hourly) == daily.activity == values[-1] - values[0]


def test_a_daylight_saving_day_is_split_into_23_hours() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    day = int(datetime(2022, 3, 27, tzinfo=berlin).timestamp())
    history = build_history(counter(day, list(range(0, 24 * 60_000, 10_000)), every=600),
                            RolloverRule(None))
    [(start, end)] = calendar_periods(day, day + 86_400, "day", "Europe/Berlin")
    hours = calendar_periods(start, end, "hour", "Europe/Berlin")
    summaries = [meter_summary(period_energies([history], a, b)) for a, b in hours]
    assert len(summaries) == 23
    assert {s.period_end - s.period_start for s in summaries} == {3_600}
    daily = meter_summary(period_energies([history], start, end))
    assert sum(s.activity for s in summaries) == daily.activity


def test_a_utc_day_across_a_beijing_new_year_has_no_factor() -> None:
    new_year = int(datetime(2022, 12, 31, tzinfo=ZoneInfo("UTC")).timestamp())
    history = build_history(counter(new_year, [0, 10_000]), RolloverRule(None))
    [(start, end)] = calendar_periods(new_year, new_year + 86_400, "day", "UTC")
    with pytest.raises(NoFactorForPeriod):
        meter_summary(period_energies([history], start, end))


@pytest.mark.parametrize(("changes", "error", "message"), [
    ({"quantity": "volume.gas:dm3"}, InvalidSummary, "is in dm3"),
    ({"quantity": "power.active:W"}, InvalidSummary, "not a cumulative"),
    ({"source": "fuel.natural_gas"}, UnknownSource, "fuel.natural_gas"),
    ({"scope_kind": 3}, InvalidSummary, "scope kind"),
])
def test_inconsistent_requests_are_refused(changes: dict[str, object], error: type[Exception],
                                           message: str) -> None:
    history = build_history(counter(JUNE, [0, 1]), RolloverRule(None))
    with pytest.raises(error, match=message):
        meter_summary(period_energies([history], JUNE, JUNE + 3_600), **changes)


def test_a_meter_summary_needs_exactly_one_point_of_one_period() -> None:
    history = build_history(counter(JUNE, [0, 1]), RolloverRule(None))
    with pytest.raises(InvalidSummary, match="one point"):
        meter_summary(period_energies([history, history], JUNE, JUNE + 3_600))
    with pytest.raises(InvalidSummary, match="every point"):
        summarize([history.period(JUNE, JUNE + 3_600), history.period(JUNE, JUNE + 7_200)],
                  device=TEST_KEY.address, scope_kind=SCOPE_SITE, scope_id=site_id(SITE_PATH),
                  source="electricity.grid", quantity=WH, methodology=ELECTRICITY, salt=SALT)
    with pytest.raises(InvalidSummary, match="at least one"):
        meter_summary([])
