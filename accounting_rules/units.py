"""Exact conversion of amounts and published figures into the engine's integer units.

docs/accounting.md section 2 fixes the integer units: activities in ``Wh``, ``dm3``, ``g`` or
``kJ``; factors in a stored unit per parameter (``gCO2/MWh``, ``J/dm3``, ``gC/GJ``, ``1e-4``...).
An amount is a plain decimal number, optionally followed by one space and a unit:
``"1234.5kWh"``, ``"10000 Nm3"``, ``"2.5t"``, ``"12 GJ"``, ``"500"`` (bare: already in the target
unit), ``"0.5366 tCO2/MWh"``. Arithmetic is exact (:class:`fractions.Fraction`); a result that is
not an integer in the target unit is refused, never rounded (``"0.5 Wh"`` fails, ``"0.0005 MWh"``
is 500 Wh).

Refused on purpose: signs (``-`` is :class:`NegativeAmount`, ``+`` is malformed), exponents
(``1e3``: a typo away from a factor of a thousand), ``NaN``/``inf``, thousands separators, non-ASCII
digits, leading or trailing spaces, floats (their binary value is rarely the decimal meant), more
than :data:`MAX_AMOUNT_CHARS` characters, and results beyond ``uint256``. Unit names are
case-sensitive: ``MWh`` and ``mWh`` differ by 10^9.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from fractions import Fraction
from types import MappingProxyType

from mrv_core.codec import UINT256_MAX

from .errors import InexactAmount, MalformedAmount, NegativeAmount, UnitMismatch, UnknownUnit

__all__ = [
    "ACTIVITY_UNITS",
    "FACTOR_UNITS",
    "MAX_AMOUNT_CHARS",
    "parse_quantity",
    "to_amount",
    "to_fraction",
]

#: Longest amount text accepted (2^256 has 78 digits).
MAX_AMOUNT_CHARS = 120


_Table = Mapping[str, Mapping[str, Fraction]]


def _table(rows: Mapping[str, Mapping[str, int | Fraction]]) -> _Table:
    return MappingProxyType({
        target: MappingProxyType({unit: Fraction(scale) for unit, scale in units.items()})
        for target, units in rows.items()
    })


#: Activity units (docs/accounting.md section 2): integer unit -> {accepted unit: its size in it}.
#: ``m3`` is read as normal cubic metres, like ``Nm3``.
ACTIVITY_UNITS = _table({
    "Wh": {"Wh": 1, "kWh": 10**3, "MWh": 10**6, "GWh": 10**9},
    "dm3": {"dm3": 1, "L": 1, "m3": 10**3, "Nm3": 10**3},
    "g": {"g": 1, "kg": 10**3, "t": 10**6},
    "kJ": {"kJ": 1, "MJ": 10**3, "GJ": 10**6},
})

#: Stored factor units (the ``unit`` of factor rows and of override sources) -> {unit a figure
#: may be published in: how many stored units one of it is}.
FACTOR_UNITS = _table({
    # 1 tCO2/MWh = 1 kgCO2/kWh = 10^6 gCO2/MWh
    "gCO2/MWh": {"gCO2/MWh": 1, "tCO2/MWh": 10**6, "kgCO2/kWh": 10**6},
    # 1 tCO2/GJ = 10^6 gCO2/GJ
    "gCO2/GJ": {"gCO2/GJ": 1, "kgCO2/GJ": 10**3, "tCO2/GJ": 10**6},
    # 1 GJ/10^4 Nm3 = 10^9 J / 10^7 dm3 = 100 J/dm3
    "J/dm3": {"J/dm3": 1, "kJ/Nm3": 1, "MJ/Nm3": 10**3, "GJ/10^4 Nm3": 100},
    # 1 GJ/t = 10^9 J / 10^6 g = 1000 J/g
    "J/g": {"J/g": 1, "kJ/kg": 1, "GJ/t": 10**3, "TJ/Gg": 10**3},
    # 1 tC/TJ = 10^6 gC / 10^3 GJ = 1000 gC/GJ
    "gC/GJ": {"gC/GJ": 1, "tC/TJ": 10**3, "kgC/GJ": 10**3},
    # oxidation factor in 1/10000: 1 % = 100
    "1e-4": {"1e-4": 1, "%": 100},
    # GWP in tenths: a GWP of 1 (1 t CO2e per t of gas) = 10
    "1e-1": {"1e-1": 1, "tCO2e/t": 10},
})

_ALL_UNITS: Mapping[str, str] = MappingProxyType({
    unit: target
    for table in (ACTIVITY_UNITS, FACTOR_UNITS)
    for target, units in table.items()
    for unit in units
})

_QUANTITY = re.compile(
    r"(?P<sign>[-+]?)(?P<int>[0-9]+)(?:\.(?P<frac>[0-9]+))?(?: ?(?P<unit>[A-Za-z%1][!-~ ]*))?\Z",
    re.ASCII,
)
_EXPONENT = re.compile(r"[eE][-+]?[0-9]", re.ASCII)


def parse_quantity(quantity: str, target: str) -> tuple[Fraction, str | None]:
    """Split ``quantity`` into its exact non-negative number and its unit text (``None`` when
    bare). ``target`` only names the unit in error messages."""
    if not isinstance(quantity, str):
        raise MalformedAmount(quantity, target,
                              f"expected a decimal string or an int, got {type(quantity).__name__}")
    if len(quantity) > MAX_AMOUNT_CHARS:
        raise MalformedAmount(quantity, target, f"longer than {MAX_AMOUNT_CHARS} characters")
    match = _QUANTITY.match(quantity)
    if match is None:
        raise MalformedAmount(quantity, target,
                              "expected a plain decimal number and an optional unit, "
                              "e.g. '1234.5 kWh'")
    if match["sign"] == "-":
        raise NegativeAmount(quantity, target, "amounts are never negative")
    if match["sign"] == "+":
        raise MalformedAmount(quantity, target, "no sign allowed")
    unit = match["unit"]
    if unit is not None and (_EXPONENT.match(unit) or unit.endswith(" ")):
        raise MalformedAmount(quantity, target, "exponents and trailing spaces are not accepted")
    digits = match["int"] + (match["frac"] or "")
    scale = len(match["frac"] or "")
    return Fraction(int(digits), 10**scale), unit


def to_fraction(quantity: str | int, target: str) -> Fraction:
    """``quantity`` in units of ``target`` (an activity or stored factor unit), exactly.

    An ``int`` (never a ``bool`` or ``float``) or a bare number is already in ``target``.
    """
    if isinstance(quantity, bool) or not isinstance(quantity, (int, str)):
        raise MalformedAmount(quantity, target,
                              f"expected a decimal string or an int, got {type(quantity).__name__}")
    if isinstance(quantity, int):
        if quantity < 0:
            raise NegativeAmount(quantity, target, "amounts are never negative")
        return Fraction(quantity)
    number, unit = parse_quantity(quantity, target)
    if unit is None:
        return number
    scales = ACTIVITY_UNITS.get(target) or FACTOR_UNITS.get(target)
    if scales is None:
        raise UnknownUnit(quantity, target, f"the target unit {target!r} is not one of the engine")
    if unit in scales:
        return number * scales[unit]
    if unit in _ALL_UNITS:
        raise UnitMismatch(quantity, target, f"{unit!r} converts to {_ALL_UNITS[unit]!r}, "
                                             f"not {target!r}")
    raise UnknownUnit(quantity, target, f"unknown unit {unit!r}; {target!r} accepts "
                                        f"{', '.join(scales)}")


def to_amount(quantity: str | int, target: str) -> int:
    """``quantity`` as an integer in ``target``: ``to_amount("10000 Nm3", "dm3") == 10_000_000``.

    Raises :class:`InexactAmount` when the value is not an integer in ``target`` or exceeds
    ``uint256``, and the other :class:`UnitError` subclasses as :func:`to_fraction` does.
    """
    value = to_fraction(quantity, target)
    if value.denominator != 1:
        raise InexactAmount(quantity, target, f"is {value} {target}, not an integer: "
                                              "amounts are converted exactly, never rounded")
    if value > UINT256_MAX:
        raise InexactAmount(quantity, target, "exceeds 2^256 - 1")
    return int(value)
