"""Dates and periods on the command line.

Accounting data years follow the publishing authority's calendar, so a date without an offset is
read in Beijing time (UTC+08:00); an explicit offset (``2023-06-01T00:00:00Z``) wins.

Periods: ``2023`` (the year), ``2023-06`` (the month), ``2023-06-15`` (the day), or
``START/END`` with END exclusive (``2023-06-01/2023-07-01``, ``2023-06/2023-09``).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from mrv_core.errors import ConfigError

__all__ = ["BEIJING", "month_of", "parse_instant", "parse_month", "parse_period", "show_instant"]

BEIJING = timezone(timedelta(hours=8), "UTC+08:00")
_YEAR = re.compile(r"[0-9]{4}\Z")
_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})\Z")


def parse_instant(text: str) -> int:
    """Unix seconds of an ISO date or date-time (Beijing time unless it carries an offset).

    Raises :class:`ConfigError` for anything else, and for instants before the Unix epoch
    (chain times are unsigned)."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(f"not an ISO date or date-time: {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=BEIJING)
    return _unsigned(int(moment.timestamp()), text)


def show_instant(timestamp: int, *, date_only: bool = False) -> str:
    """Unix seconds as an ISO date-time (or date) in Beijing time; a chain time (any uint64) past
    the last one Python's calendar holds (9999-12-31) as ``Unix time N (after year 9999)``."""
    try:
        moment = datetime.fromtimestamp(timestamp, BEIJING)
    except (ValueError, OverflowError, OSError):
        return f"Unix time {timestamp} (after year 9999)"
    return moment.date().isoformat() if date_only else moment.isoformat()


def parse_month(text: str) -> tuple[int, int]:
    """``YYYY-MM`` as the calendar month in Beijing time, ``(start, end)`` Unix seconds.

    Raises :class:`ConfigError` naming what is wrong (shape, month number, year range)."""
    match = _MONTH.match(text)
    if match is None:
        raise ConfigError(f"a month is YYYY-MM, e.g. 2023-06; got {text!r}")
    return month_of(int(match[1]), int(match[2]))


def parse_period(text: str) -> tuple[int, int]:
    """``(start, end)`` in Unix seconds, end exclusive.

    ``START/END`` takes a year, a month, a date or a date-time on each side, each meaning the
    moment it starts (``2023-06/2023-09``: June to August). Raises :class:`ConfigError` for a
    malformed, empty or reversed period."""
    if "/" in text:
        start_text, end_text = text.split("/", 1)
        start, end = _start_of(start_text), _start_of(end_text)
        if start > end:
            raise ConfigError(f"period {text!r} is reversed: START {start_text} is after END "
                              f"{end_text} (END is exclusive); swap them")
    elif _YEAR.match(text):
        start, end = _year(int(text))
    elif _MONTH.match(text):
        start, end = parse_month(text)
    else:
        start = parse_instant(text)
        end = start + 86_400
    if start >= end:
        raise ConfigError(f"period {text!r} is empty: END is exclusive, so it must come after "
                          "START")
    return start, end


def month_of(year: int, month: int) -> tuple[int, int]:
    """The calendar month in Beijing time, as ``(start, end)`` Unix seconds.

    Raises :class:`ConfigError` for a month outside 1..12 or a year outside 1970..9998."""
    if not 1 <= month <= 12:
        raise ConfigError(f"there is no month {month:02d}: months are 01..12")
    _check_year(year)
    start = datetime(year, month, 1, tzinfo=BEIJING)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=BEIJING)
    return _unsigned(int(start.timestamp()), f"{year:04d}-{month:02d}"), int(end.timestamp())


def _year(year: int) -> tuple[int, int]:
    _check_year(year)
    start = int(datetime(year, 1, 1, tzinfo=BEIJING).timestamp())
    return _unsigned(start, f"{year:04d}"), int(datetime(year + 1, 1, 1,
                                                         tzinfo=BEIJING).timestamp())


def _start_of(text: str) -> int:
    if _YEAR.match(text):
        return _year(int(text))[0]
    if _MONTH.match(text):
        return parse_month(text)[0]
    return parse_instant(text)


def _check_year(year: int) -> None:
    if not 1970 <= year <= 9998:
        raise ConfigError(f"year {year:04d} is out of range: 1970..9998")


def _unsigned(timestamp: int, text: str) -> int:
    if timestamp < 0:
        raise ConfigError(f"{text} is before 1970-01-01T00:00:00Z (Unix time 0): chain times "
                          "are unsigned")
    return timestamp
