"""The calendar period a report covers, from its label: a year (``2026``), a month (``2026-10``),
a day (``2026-10-15``) or an hour (``2026-10-15T08``) of an IANA zone, Beijing time by default
(DESIGN.md: accounting periods are calendar periods in UTC+8).

A period is ``[start, end)`` in Unix seconds from the first instant of the label's local
calendar unit to the first instant of the next one; days and hours are those of
:mod:`accounting_rules.periods` (a day where clocks change lasts 23 or 25 hours).
"""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from ..errors import InvalidPeriodSpec
from ..periods import BEIJING_ZONE, iana_zone, period_containing
from .document import ReportPeriod

__all__ = ["report_period"]

_LABEL = re.compile(r"([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2})(?:T([0-9]{2}))?)?)?\Z", re.ASCII)


def _instant(zone: ZoneInfo, year: int, month: int = 1, day: int = 1) -> int:
    return int(datetime(year, month, day, tzinfo=zone).timestamp())


def report_period(label: str, zone: str = BEIJING_ZONE) -> ReportPeriod:
    """The :class:`~.document.ReportPeriod` of ``label`` in ``zone``; raises
    :class:`InvalidPeriodSpec` for another form, a date or local hour that does not exist (the
    hour clocks skip), an unknown zone or one whose meaning is the server's (``localtime``), a
    year before 1971, or a period whose neighbours pass the year 9999."""
    match = _LABEL.match(label) if isinstance(label, str) else None
    if match is None:
        raise InvalidPeriodSpec(f"a report period is YYYY, YYYY-MM, YYYY-MM-DD or "
                                f"YYYY-MM-DDTHH, got {label!r:.40}")
    tz = iana_zone(zone)
    year, month, day, hour = (None if g is None else int(g) for g in match.groups())
    assert year is not None
    if year < 1971:
        raise InvalidPeriodSpec(f"a report period starts in 1971 or later, got {label}")
    try:
        if month is None:
            start, end = _instant(tz, year), _instant(tz, year + 1)
        elif day is None:
            start = _instant(tz, year, month)
            end = _instant(tz, year + month // 12, month % 12 + 1)
        elif hour is None:
            start, end = period_containing(_instant(tz, year, month, day), "day", zone)
        else:
            local = int(datetime(year, month, day, hour, tzinfo=tz).timestamp())
            back = datetime.fromtimestamp(local, tz)
            if (back.year, back.month, back.day, back.hour) != (year, month, day, hour):
                raise InvalidPeriodSpec(f"no such period {label!r}: the clocks of {zone} skip "
                                        "that hour")
            start, end = period_containing(local, "hour", zone)
    except InvalidPeriodSpec:
        raise
    except (ValueError, OverflowError) as exc:  # no such month, day or hour; beyond year 9999
        raise InvalidPeriodSpec(f"no such period {label!r} in {zone}: {exc}") from None
    return ReportPeriod(start, end, zone, label)
