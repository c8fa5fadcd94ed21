"""Report periods from their labels (known answers in Beijing time and a zone with daylight
saving; any label's period holds its start and is followed by the next one), evidence kinds by
magic bytes, and manual amounts in the source's integer unit."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accounting_rules.errors import InvalidPeriodSpec, ReportError, UnitMismatch, UnknownSource
from accounting_rules.reports.manual import (
    MAX_EVIDENCE_BYTES,
    manual_amount,
    media_type_of,
    source_unit,
)
from accounting_rules.reports.periods import report_period


@pytest.mark.parametrize(("label", "zone", "start", "end"), [
    ("2026-10", "Asia/Shanghai", 1790784000, 1793462400),
    ("2026", "Asia/Shanghai", 1767196800, 1798732800),
    ("2026-12", "Asia/Shanghai", 1796054400, 1798732800),
    ("2026-10-15", "Asia/Shanghai", 1791993600, 1792080000),
    ("2026-10-15T08", "Asia/Shanghai", 1792022400, 1792026000),
    ("2026-03-29", "Europe/Berlin", 1774738800, 1774821600),  # 23 hours: clocks go forward
    ("2026-10", "UTC", 1790812800, 1793491200),
])
def test_report_period_known_answers(label: str, zone: str, start: int, end: int) -> None:
    period = report_period(label, zone)
    assert (period.start, period.end, period.zone, period.label) == (start, end, zone, label)


@pytest.mark.parametrize("label", ["2026-13", "2026-02-29", "2026-10-15T24", "26-10", "2026-1",
                                   "2026-10-15T08:00", "1970", " 2026", "\uff12\uff10\uff12\uff16"])
def test_report_period_refuses_what_is_no_calendar_period(label: str) -> None:
    with pytest.raises(InvalidPeriodSpec):
        report_period(label)
    with pytest.raises(InvalidPeriodSpec, match="unknown IANA time zone"):
        report_period("2026", "Mars/Olympus")


@pytest.mark.parametrize("zone", ["localtime", "posixrules", "posix/Asia/Shanghai", "right/UTC",
                                  "LOCALTIME"])
def test_report_period_refuses_a_zone_whose_meaning_is_the_servers(zone: str) -> None:
    with pytest.raises(InvalidPeriodSpec, match="not an IANA zone"):
        report_period("2026-10", zone)


def test_report_period_refuses_the_local_hour_clocks_skip() -> None:
    """2026-03-08 02:00 does not exist in New York (clocks go from 02:00 to 03:00): it was read
    as the 03:00 hour; the hours either side still exist."""
    with pytest.raises(InvalidPeriodSpec, match="skip the start of that hour"):
        report_period("2026-03-08T02", "America/New_York")
    assert report_period("2026-03-08T01", "America/New_York").end == report_period(
        "2026-03-08T03", "America/New_York").start


def test_a_half_hour_clock_change_skips_the_hour_whose_start_it_skips() -> None:
    """Lord Howe Island goes from 02:00 to 02:30 on 2026-10-04: no 02:00 exists, so "T02" names
    no period (it was read as the 02:30 instant) and "T01" lasts 90 minutes, as in
    accounting_rules.periods."""
    with pytest.raises(InvalidPeriodSpec, match="skip the start of that hour"):
        report_period("2026-10-04T02", "Australia/Lord_Howe")
    one = report_period("2026-10-04T01", "Australia/Lord_Howe")
    assert one.end - one.start == 5400
    assert one.end == report_period("2026-10-04T03", "Australia/Lord_Howe").start


def test_an_hour_the_clocks_repeat_is_named_by_its_utc_offset() -> None:
    """New York's 01:00 on 2026-11-01 occurs twice (EDT, then EST): the bare label is refused,
    naming both labels; each offset names its own consecutive hour; a wrong offset is refused."""
    with pytest.raises(InvalidPeriodSpec, match="occurs twice") as caught:
        report_period("2026-11-01T01", "America/New_York")
    assert "2026-11-01T01-05:00 or 2026-11-01T01-04:00" in str(caught.value)
    first = report_period("2026-11-01T01-04:00", "America/New_York")
    second = report_period("2026-11-01T01-05:00", "America/New_York")
    assert (first.end - first.start, second.end - second.start) == (3600, 3600)
    assert first.end == second.start == 1793512800
    assert second.end == report_period("2026-11-01T02", "America/New_York").start
    assert report_period("2026-10-15T08+08:00").start == report_period("2026-10-15T08").start
    with pytest.raises(InvalidPeriodSpec, match="not \\+05:00: name it 2026-11-01T01-05:00"):
        report_period("2026-11-01T01+05:00", "America/New_York")
    with pytest.raises(InvalidPeriodSpec):
        report_period("2026-11-01+08:00", "America/New_York")  # an offset only on an hour


@pytest.mark.parametrize("label", ["9999", "9999-12", "9999-12-31", "9999-12-31T23"])
def test_report_period_past_the_year_9999_is_refused_not_an_overflow(label: str) -> None:
    with pytest.raises(InvalidPeriodSpec):
        report_period(label, "Pacific/Kiritimati")


@settings(max_examples=40)
@given(st.integers(1971, 2200), st.integers(1, 12), st.sampled_from(
    ["Asia/Shanghai", "Europe/Berlin", "America/New_York", "UTC"]))
def test_a_month_starts_at_local_midnight_of_the_first_and_ends_where_the_next_starts(
        year: int, month: int, zone: str) -> None:
    period = report_period(f"{year}-{month:02d}", zone)
    local = datetime.fromtimestamp(period.start, ZoneInfo(zone))
    assert (local.year, local.month, local.day) == (year, month, 1)
    following = f"{year + month // 12}-{month % 12 + 1:02d}"
    assert report_period(following, zone).start == period.end
    assert 27 * 86_400 < period.end - period.start < 32 * 86_400


def test_evidence_kinds_are_read_from_magic_bytes() -> None:
    assert media_type_of(b"%PDF-1.4 ...") == "application/pdf"
    assert media_type_of(b"\x89PNG\r\n\x1a\n....") == "image/png"
    assert media_type_of(b"\xff\xd8\xff\xe0..JFIF") == "image/jpeg"
    for refused in (b"", b"GIF89a", b"PK\x03\x04 a zip", b"%PDF", b"<html>%PDF-1.4"):
        with pytest.raises(ReportError):
            media_type_of(refused)
    with pytest.raises(ReportError, match="limit 16777216"):
        media_type_of(b"%PDF-" + bytes(MAX_EVIDENCE_BYTES))


def test_manual_amounts_are_exact_in_the_sources_unit() -> None:
    assert (source_unit("fuel.natural_gas"), source_unit("heat.purchased")) == ("dm3", "kJ")
    assert manual_amount("fuel.natural_gas", "10000 Nm3") == 10_000_000
    assert manual_amount("fuel.diesel", "1.5 t") == 1_500_000
    assert manual_amount("electricity.grid", "120 MWh") == 120_000_000
    with pytest.raises(UnitMismatch):
        manual_amount("fuel.natural_gas", "5 kWh")
    with pytest.raises(UnknownSource):
        manual_amount("fuel.unobtainium", "5 t")
