"""Figures for human readers of a report (private to ``accounting_rules.reports``).

A report document holds integers only; this module turns them into text, exactly: grams become
tonnes by moving the decimal point (1 t = 10^6 g), never through a float, so the tonnes shown
always carry every gram of the integer beside them. Activity amounts are shown in their integer
unit and in the larger unit ``accounting_rules.units.ACTIVITY_UNITS`` defines for it (``Wh`` as
``MWh``, ``dm3`` as ``m3``, ``g`` as ``t``, ``kJ`` as ``GJ``); factor values as
``value / 10^decimals`` in their stored unit. Instants are shown in the report period's IANA
zone with the offset that applied then.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..units import ACTIVITY_UNITS

__all__ = [
    "GRAMS_PER_TONNE",
    "decimal_text",
    "duration",
    "grouped",
    "instant",
    "larger_unit",
    "tonnes",
]

#: 1 t = 10^6 g (SI): tCO2e figures are grams with the point moved six places.
GRAMS_PER_TONNE = 10**6
_TONNE_DIGITS = 6

#: The unit each integer activity unit is also shown in (its name in ACTIVITY_UNITS).
_LARGER = {"Wh": "MWh", "dm3": "m3", "g": "t", "kJ": "GJ"}


def grouped(value: int) -> str:
    """An integer with thousands separators: ``1234567`` -> ``1,234,567`` (signs kept)."""
    return f"{value:,}"


def decimal_text(value: int, decimals: int, *, keep_zeros: bool = False) -> str:
    """``value / 10**decimals`` written exactly in base 10, thousands grouped: ``(5366, 4)`` ->
    ``0.5366``. Trailing zeros of the fraction are dropped unless ``keep_zeros`` (then exactly
    ``decimals`` digits follow the point). ``decimals`` >= 0; a negative ``value`` keeps its
    sign."""
    if decimals < 0:
        raise ValueError(f"decimals must be >= 0, got {decimals}")
    sign = "-" if value < 0 else ""
    whole, fraction = divmod(abs(value), 10**decimals)
    digits = f"{fraction:0{decimals}d}" if decimals else ""
    if not keep_zeros:
        digits = digits.rstrip("0")
    return f"{sign}{whole:,}" + (f".{digits}" if digits else "")


def tonnes(grams: int) -> str:
    """Grams CO2e as tonnes with all six decimals: ``66245000`` -> ``66.245000``."""
    return decimal_text(grams, _TONNE_DIGITS, keep_zeros=True)


def larger_unit(amount: int, unit: str) -> str | None:
    """``amount`` of the integer activity ``unit`` in its larger unit (``123456789`` Wh ->
    ``123.456789 MWh``), or ``None`` for a unit without one (an override's factor unit)."""
    larger = _LARGER.get(unit)
    if larger is None or unit not in ACTIVITY_UNITS:
        return None
    scale = ACTIVITY_UNITS[unit][larger]
    digits = len(str(scale.numerator)) - 1  # scales are powers of ten
    if scale.denominator != 1 or 10**digits != scale.numerator:
        return None
    return f"{decimal_text(amount, digits)} {larger}"


def instant(timestamp: int, zone: str) -> str:
    """Unix seconds as ``2026-10-01 00:00:00 +08:00`` in the IANA ``zone`` (UTC when the zone is
    not known here); past year 9999 as ``Unix time N``."""
    try:
        where: ZoneInfo | None = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        where = None
    try:
        moment = datetime.fromtimestamp(timestamp, where or ZoneInfo("UTC"))
    except (ValueError, OverflowError, OSError):
        return f"Unix time {timestamp}"
    offset = moment.strftime("%z")
    shown = f"{offset[:3]}:{offset[3:]}" if offset else "UTC"
    return f"{moment:%Y-%m-%d %H:%M:%S} {shown}" + ("" if where else " (UTC)")


def duration(seconds: int) -> str:
    """Seconds as ``900 s`` and, from a minute on, also in days, hours and minutes:
    ``90061`` -> ``90,061 s (1 d 1 h 1 min)`` (whole units, the rest in seconds)."""
    if seconds < 60:
        return f"{seconds} s"
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, rest = divmod(rest, 60)
    parts = [f"{n} {unit}" for n, unit in ((days, "d"), (hours, "h"), (minutes, "min"),
                                            (rest, "s")) if n]
    return f"{grouped(seconds)} s ({' '.join(parts)})"
