"""Calendar periods (hours, days, months and years) of an IANA time zone, as Unix-second
intervals.

Emission summaries cover calendar hours and days in Beijing time by default (DESIGN.md:
accounting periods are calendar periods in UTC+8, ``Asia/Shanghai``), or of any IANA zone
(:mod:`zoneinfo`). A period is ``[start, end)`` in Unix seconds:

- a **day** starts at the first instant whose local date is that day (local midnight; where
  midnight does not exist because clocks jump forward at 00:00, the instant of the jump), so a
  day lasts 86,400 s, or 82,800 / 90,000 s on the days clocks change by an hour;
- a **month** and a **year** start at the start of their first day (the day rule above), so
  they are whole local days: a Beijing month of 31 days is 2,678,400 s;
- an **hour** starts at every instant whose local time is ``HH:00:00``; a wall-clock hour that
  does not exist (clocks jump forward) starts no period, one that occurs twice (clocks go back)
  starts two, so every hourly period lasts 3,600 s except across a change by a fraction of an
  hour (Lord Howe Island's 30 minutes).

Pure: no clock is read. Errors: :class:`~accounting_rules.errors.InvalidPeriodSpec`.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache
from itertools import pairwise
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from mrv_core.codec import UINT64_MAX

from .errors import InvalidPeriodSpec

__all__ = ["BEIJING_ZONE", "GRANULARITIES", "Granularity", "calendar_periods", "hour_starts",
           "iana_zone", "period_containing"]

#: The default zone of accounting periods: Beijing time (UTC+8, no daylight saving since 1991).
BEIJING_ZONE = "Asia/Shanghai"
Granularity = Literal["hour", "day", "month", "year"]
GRANULARITIES: tuple[Granularity, ...] = ("hour", "day", "month", "year")


#: Names a zone database may hold whose meaning is the server's, not IANA's: the host's own
#: zone (``localtime``), the default rules file (``posixrules``), and the ``posix/`` and
#: ``right/`` copies (the latter counts leap seconds).
_SERVER_ZONES = ("localtime", "posixrules", "posix/", "right/")


@lru_cache(maxsize=1)
def _iana_names() -> frozenset[str]:
    return frozenset(available_timezones())


@lru_cache(maxsize=64)
def iana_zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``; :class:`InvalidPeriodSpec` for a name the zone database does not
    list as an IANA zone, or one whose meaning depends on the server (:data:`_SERVER_ZONES`):
    a period must mean the same on every machine that recomputes it."""
    if not isinstance(name, str) or name.lower().startswith(_SERVER_ZONES):
        raise InvalidPeriodSpec(f"{name!r:.60} means what this server says (localtime, posix/, "
                                "right/), not an IANA zone: name "
                                "one (Asia/Shanghai, UTC)")
    if name not in _iana_names():
        raise InvalidPeriodSpec(f"unknown IANA time zone {name!r:.60}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidPeriodSpec(f"unknown IANA time zone {name!r:.60}") from None


def _bounds(low: int, high: int, granularity: Granularity, zone: str) -> list[int]:
    """:func:`_boundaries` in ``zone`` (:func:`iana_zone`); :class:`InvalidPeriodSpec` when a
    neighbouring period falls outside the years ``datetime`` represents (1..9999) there."""
    tz = iana_zone(zone)
    try:
        return _boundaries(low, high, granularity, tz)
    except (OverflowError, ValueError):
        raise InvalidPeriodSpec(f"[{low}, {high}] in {zone} reaches beyond the year 9999 or "
                                "before the year 1") from None


def hour_starts(day: date, hour: int, zone: ZoneInfo) -> list[int]:
    """The instants whose local time in ``zone`` is ``day`` at ``hour``:00:00, sorted: none
    where clocks skip that time, two where they go back over it, else one (module docstring:
    each starts an hourly period)."""
    starts = set()
    for fold in (0, 1):
        moment = datetime(day.year, day.month, day.day, hour, tzinfo=zone, fold=fold)
        instant = int(moment.timestamp())
        back = datetime.fromtimestamp(instant, zone)
        if (back.date(), back.hour, back.minute, back.second) == (day, hour, 0, 0):
            starts.add(instant)
    return sorted(starts)


def _starts_on(day: date, granularity: Granularity, zone: ZoneInfo) -> list[int]:
    """The period starts whose local date is ``day``."""
    if granularity == "day":
        return [int(datetime(day.year, day.month, day.day, tzinfo=zone).timestamp())]
    return sorted(instant for hour in range(24) for instant in hour_starts(day, hour, zone))


def _month_boundaries(low: int, high: int, granularity: Granularity,
                      zone: ZoneInfo) -> list[int]:
    """Every month (or year) start from the one before ``low``'s to the one after ``high``'s:
    the start of its first local day (the day rule)."""
    first = datetime.fromtimestamp(low, zone).date()
    last = datetime.fromtimestamp(high, zone).date()
    step = 12 if granularity == "year" else 1
    index = first.year * 12 + (0 if granularity == "year" else first.month - 1) - step
    end = last.year * 12 + (0 if granularity == "year" else last.month - 1) + step
    out: list[int] = []
    while index <= end:
        out += _starts_on(date(index // 12, index % 12 + 1, 1), "day", zone)
        index += step
    return out


def _boundaries(low: int, high: int, granularity: Granularity, zone: ZoneInfo) -> list[int]:
    """Every period start from the local day (month, year) before ``low`` to the one after
    ``high``."""
    if granularity in ("month", "year"):
        return _month_boundaries(low, high, granularity, zone)
    first = datetime.fromtimestamp(low, zone).date() - timedelta(days=1)
    last = datetime.fromtimestamp(high, zone).date() + timedelta(days=1)
    out: list[int] = []
    day = first
    while day <= last:
        out += _starts_on(day, granularity, zone)
        day += timedelta(days=1)
    return out


def _check(granularity: object, *instants: int) -> None:
    if granularity not in GRANULARITIES:
        raise InvalidPeriodSpec(f"granularity is one of {', '.join(GRANULARITIES)}, got "
                                f"{granularity!r:.40}")
    for t in instants:
        if type(t) is not int or not 86_400 * 2 <= t <= UINT64_MAX // 2:
            raise InvalidPeriodSpec(f"an instant is Unix seconds within the calendar, got {t!r}")


def calendar_periods(start: int, end: int, granularity: Granularity = "hour",
                     zone: str = BEIJING_ZONE) -> list[tuple[int, int]]:
    """The calendar periods of ``zone`` lying wholly inside ``[start, end)``, in order.

    Raises :class:`InvalidPeriodSpec` for an unknown zone (or the server's, :func:`iana_zone`)
    or granularity, ``start > end``, or periods passing the year 9999 in ``zone``.
    """
    _check(granularity, start, end)
    if start > end:
        raise InvalidPeriodSpec(f"start {start} is after end {end}")
    bounds = _bounds(start, end, granularity, zone)
    return [(a, b) for a, b in pairwise(bounds) if start <= a and b <= end]


def period_containing(instant: int, granularity: Granularity = "hour",
                      zone: str = BEIJING_ZONE) -> tuple[int, int]:
    """The calendar period of ``zone`` that contains ``instant`` (Unix seconds)."""
    _check(granularity, instant)
    bounds = _bounds(instant, instant, granularity, zone)
    for a, b in pairwise(bounds):
        if a <= instant < b:
            return a, b
    raise AssertionError("unreachable: the boundaries span the instant's neighbouring periods")
