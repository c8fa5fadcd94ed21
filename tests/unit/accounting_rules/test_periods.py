"""Calendar hours and days of IANA zones: Beijing by default, daylight saving split correctly."""

from __future__ import annotations

from datetime import datetime
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accounting_rules.errors import InvalidPeriodSpec
from accounting_rules.periods import BEIJING_ZONE, calendar_periods, period_containing

ZONES = ["Asia/Shanghai", "UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata",
         "Asia/Kathmandu", "Australia/Lord_Howe", "America/Santiago", "Pacific/Apia"]


def local(zone: str, *fields: int) -> int:
    return int(datetime(*fields, tzinfo=ZoneInfo(zone)).timestamp())  # type: ignore[misc]


def test_beijing_is_the_default_and_hours_fall_on_its_hours() -> None:
    assert BEIJING_ZONE == "Asia/Shanghai"
    day = local("Asia/Shanghai", 2025, 1, 1)
    assert day == 1_735_660_800  # 2024-12-31T16:00:00Z
    hours = calendar_periods(day, day + 86_400)
    assert len(hours) == 24 and hours[0] == (day, day + 3_600)
    assert all(b - a == 3_600 and (a + 8 * 3_600) % 3_600 == 0 for a, b in hours)
    assert calendar_periods(day, day + 86_400, "day") == [(day, day + 86_400)]
    assert period_containing(day + 86_399, "day") == (day, day + 86_400)


def test_berlin_spring_forward_day_has_23_hours() -> None:
    day = local("Europe/Berlin", 2026, 3, 29)
    [(start, end)] = calendar_periods(day, day + 90_000, "day", "Europe/Berlin")
    assert (start, end - start) == (day, 82_800)
    hours = calendar_periods(start, end, "hour", "Europe/Berlin")
    assert len(hours) == 23 and all(b - a == 3_600 for a, b in hours)
    labels = [datetime.fromtimestamp(a, ZoneInfo("Europe/Berlin")).hour for a, _ in hours]
    assert 2 not in labels  # 02:00-03:00 did not exist


def test_berlin_fall_back_day_has_25_hours_with_one_hour_twice() -> None:
    day = local("Europe/Berlin", 2026, 10, 25)
    [(start, end)] = calendar_periods(day, day + 90_000, "day", "Europe/Berlin")
    assert end - start == 90_000
    hours = calendar_periods(start, end, "hour", "Europe/Berlin")
    labels = [datetime.fromtimestamp(a, ZoneInfo("Europe/Berlin")).hour for a, _ in hours]
    assert len(hours) == 25 and labels.count(2) == 2


def test_a_missing_midnight_starts_the_day_at_the_jump() -> None:
    # Santiago moved its clocks from 00:00 to 01:00 on 2024-09-08.
    start, end = period_containing(local("America/Santiago", 2024, 9, 8, 12), "day",
                                   "America/Santiago")
    first = datetime.fromtimestamp(start, ZoneInfo("America/Santiago"))
    assert (first.day, first.hour, end - start) == (8, 1, 82_800)


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("granularity", ["hour", "day"])
def test_periods_of_a_year_tile_it_with_local_starts(zone: str, granularity: str) -> None:
    lo, hi = local(zone, 2024, 1, 1), local(zone, 2025, 1, 1)
    periods = calendar_periods(lo, hi, granularity, zone)  # type: ignore[arg-type]
    assert periods[0][0] == lo and periods[-1][1] == hi
    assert all(b == c for (_, b), (c, _) in pairwise(periods))
    for a, _ in periods[:: 97 if granularity == "hour" else 1]:
        wall = datetime.fromtimestamp(a, ZoneInfo(zone))
        assert (wall.minute, wall.second) == (0, 0)
        if granularity == "day":
            before = datetime.fromtimestamp(a - 1, ZoneInfo(zone))
            assert before.date() < wall.date()
    assert sum(b - a for a, b in periods) == hi - lo
    if granularity == "day":
        assert len(periods) == 366  # 2024 is a leap year


@settings(max_examples=60, deadline=None)
@given(zone=st.sampled_from(ZONES), instant=st.integers(10**9, 2 * 10**9),
       granularity=st.sampled_from(["hour", "day", "month", "year"]))
def test_the_period_containing_an_instant_contains_it_and_the_next_one_follows(
        zone: str, instant: int, granularity: str) -> None:
    start, end = period_containing(instant, granularity, zone)  # type: ignore[arg-type]
    assert start <= instant < end
    assert period_containing(end, granularity, zone)[0] == end  # type: ignore[arg-type]
    assert calendar_periods(start, end, granularity, zone) == [(start, end)]  # type: ignore[arg-type]


@pytest.mark.parametrize(("args", "message"), [
    ((10**9, 10**9 + 3_600, "hour", "Mars/Olympus"), "unknown IANA time zone"),
    ((10**9, 10**9 + 3_600, "week", BEIJING_ZONE), "granularity"),
    ((10**9 + 3_600, 10**9, "hour", BEIJING_ZONE), "after end"),
    ((-5, 10**9, "hour", BEIJING_ZONE), "Unix seconds"),
])
def test_bad_requests_are_typed_errors(args: tuple[int, int, str, str], message: str) -> None:
    with pytest.raises(InvalidPeriodSpec, match=message):
        calendar_periods(*args)  # type: ignore[arg-type]


@pytest.mark.parametrize("zone", ZONES)
def test_months_and_years_are_whole_local_days_from_the_first_of_the_month(zone: str) -> None:
    lo, hi = local(zone, 2024, 1, 1), local(zone, 2026, 1, 1)
    months = calendar_periods(lo, hi, "month", zone)
    assert len(months) == 24 and months[0][0] == lo and months[-1][1] == hi
    assert all(b == c for (_, b), (c, _) in pairwise(months))
    days = calendar_periods(lo, hi, "day", zone)
    day_starts = {a for a, _ in days}
    for a, b in months:
        wall = datetime.fromtimestamp(a, ZoneInfo(zone))
        assert wall.day == 1 and a in day_starts and b in day_starts | {hi}
    assert calendar_periods(lo, hi, "year", zone) == [(lo, months[11][1]), (months[12][0], hi)]
    assert calendar_periods(lo + 1, hi, "year", zone) == [(months[12][0], hi)]


def test_a_beijing_month_is_its_days() -> None:
    assert period_containing(1_790_784_000 + 5, "month") == (1_790_784_000, 1_793_462_400)
    assert period_containing(1_790_784_000 - 1, "month")[1] == 1_790_784_000  # 2026-10-01
