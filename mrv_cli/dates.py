"""Dates and periods on the command line.

Accounting data years follow the publishing authority's calendar, so a date without an offset is
read in Beijing time (UTC+08:00); an explicit offset (``2023-06-01T00:00:00Z``) wins.

Periods: ``2023`` (the year), ``2023-06`` (the month), ``2023-06-15`` (the day), or
``START/END`` with END exclusive (``2023-06-01/2023-07-01``).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from mrv_core.errors import ConfigError

__all__ = ["BEIJING", "month_of", "parse_instant", "parse_period"]

BEIJING = timezone(timedelta(hours=8), "UTC+08:00")
_YEAR = re.compile(r"\d{4}\Z")
_MONTH = re.compile(r"(\d{4})-(\d{2})\Z")


def parse_instant(text: str) -> int:
    """Unix seconds of an ISO date or date-time (Beijing time unless it carries an offset)."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(f"not an ISO date or date-time: {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=BEIJING)
    return int(moment.timestamp())


def parse_period(text: str) -> tuple[int, int]:
    """``(start, end)`` in Unix seconds, end exclusive."""
    if "/" in text:
        start_text, end_text = text.split("/", 1)
        start, end = parse_instant(start_text), parse_instant(end_text)
    elif _YEAR.match(text):
        year = int(text)
        start = int(datetime(year, 1, 1, tzinfo=BEIJING).timestamp())
        end = int(datetime(year + 1, 1, 1, tzinfo=BEIJING).timestamp())
    elif (match := _MONTH.match(text)) is not None:
        year, month = int(match[1]), int(match[2])
        if not 1 <= month <= 12:
            raise ConfigError(f"no month {month} in {text!r}")
        start, end = month_of(year, month)
    else:
        start = parse_instant(text)
        end = start + 86_400
    if start >= end:
        raise ConfigError(f"period {text!r} is empty or reversed")
    return start, end


def month_of(year: int, month: int) -> tuple[int, int]:
    """The calendar month in Beijing time, as ``(start, end)`` Unix seconds."""
    start = datetime(year, month, 1, tzinfo=BEIJING)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=BEIJING)
    return int(start.timestamp()), int(end.timestamp())
