"""The calendar period a report covers, from its label: a year (``2026``), a month (``2026-10``),
a day (``2026-10-15``) or an hour (``2026-10-15T08``) of an IANA zone, Beijing time by default
(DESIGN.md: accounting periods are calendar periods in UTC+8).

An hour label may carry the UTC offset of its start in ISO 8601 form (``2026-11-01T01-04:00``),
and must where the zone's clocks go back and the wall-clock hour occurs twice: New York's
``2026-11-01T01`` is ``T01-04:00`` (daylight time) or ``T01-05:00`` (standard time), and a
label without the offset is refused as naming neither. An hour whose ``HH:00:00`` the clocks
skip (New York's 02:00 on 2026-03-08, Lord Howe Island's 02:00 on 2026-10-04, where clocks go
from 02:00 to 02:30) starts no period, as in :mod:`accounting_rules.periods`.

A period is ``[start, end)`` in Unix seconds from the first instant of the label's local
calendar unit to the first instant of the next one; days and hours are those of
:mod:`accounting_rules.periods` (a day where clocks change lasts 23 or 25 hours).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

from ..errors import InvalidPeriodSpec
from ..periods import BEIJING_ZONE, hour_starts, iana_zone, period_containing
from .document import ReportPeriod

__all__ = ["report_period"]

_LABEL = re.compile(r"([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2})(?:T([0-9]{2})"
                    r"(?:([+-])([0-9]{2}):([0-9]{2}))?)?)?)?\Z", re.ASCII)


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
                                f"YYYY-MM-DDTHH (+HH:MM where the hour occurs twice), got "
                                f"{label!r:.40}")
    tz = iana_zone(zone)
    year, month, day, hour = (None if g is None else int(g) for g in match.groups()[:4])
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
            sign, hours, minutes = match.groups()[4:]
            offset = None if sign is None else \
                (1 if sign == "+" else -1) * (int(hours) * 3600 + int(minutes) * 60)
            local = _hour_start(label, zone, tz, (year, month, day, hour), offset)
            start, end = period_containing(local, "hour", zone)
    except InvalidPeriodSpec:
        raise
    except (ValueError, OverflowError) as exc:  # no such month, day or hour; beyond year 9999
        raise InvalidPeriodSpec(f"no such period {label!r} in {zone}: {exc}") from None
    return ReportPeriod(start, end, zone, label)


def _hour_start(label: str, zone: str, tz: ZoneInfo, wall: tuple[int, int, int, int],
                offset: int | None) -> int:
    """The instant the wall-clock hour ``wall`` (year, month, day, hour) starts in ``tz``: the
    one of UTC offset ``offset`` seconds when given; :class:`InvalidPeriodSpec` when the clocks
    skip ``HH:00:00``, when it occurs twice and no offset says which, or when none has the
    offset. ``ValueError`` for a date that does not exist."""
    year, month, day, hour = wall
    starts: dict[int, int] = {}  # UTC offset (s) -> instant
    for instant in hour_starts(date(year, month, day), hour, tz):
        utc_offset = datetime.fromtimestamp(instant, tz).utcoffset()
        assert utc_offset is not None
        starts[int(utc_offset.total_seconds())] = instant
    if not starts:
        raise InvalidPeriodSpec(f"no such period {label!r}: the clocks of {zone} skip the start "
                                "of that hour")
    named = " or ".join(label[:13] + _offset_text(o) for o in sorted(starts))
    if offset is None:
        if len(starts) > 1:
            raise InvalidPeriodSpec(f"{label!r} occurs twice in {zone} (the clocks go back): "
                                    f"name one by its UTC offset, {named}")
        return next(iter(starts.values()))
    if offset not in starts:
        raise InvalidPeriodSpec(f"{label!r}: that hour of {zone} starts at UTC offset "
                                f"{' or '.join(_offset_text(o) for o in sorted(starts))}, not "
                                f"{_offset_text(offset)}: name it {named}")
    return starts[offset]


def _offset_text(seconds: int) -> str:
    """``+08:00`` for 28,800 s (ISO 8601)."""
    sign = "-" if seconds < 0 else "+"
    hours, rest = divmod(abs(seconds), 3600)
    return f"{sign}{hours:02d}:{rest // 60:02d}"
