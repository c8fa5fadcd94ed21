"""Exact unit conversion (docs/accounting.md section 2): what converts, and what is refused."""

from fractions import Fraction

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from accounting_rules.errors import (
    InexactAmount,
    MalformedAmount,
    NegativeAmount,
    UnitError,
    UnitMismatch,
    UnknownUnit,
)
from accounting_rules.units import ACTIVITY_UNITS, MAX_AMOUNT_CHARS, to_amount, to_fraction
from mrv_core.codec import UINT256_MAX


@pytest.mark.parametrize(("quantity", "unit", "expected"), [
    ("1234.5kWh", "Wh", 1_234_500),
    ("1234.5 kWh", "Wh", 1_234_500),
    ("0.0005 MWh", "Wh", 500),
    ("1.000 kWh", "Wh", 1_000),
    ("2 GWh", "Wh", 2_000_000_000),
    ("7 Wh", "Wh", 7),
    ("10000 Nm3", "dm3", 10_000_000),
    ("2 m3", "dm3", 2_000),
    ("3 L", "dm3", 3),
    ("0.001 Nm3", "dm3", 1),
    ("2.5t", "g", 2_500_000),
    ("0.25 kg", "g", 250),
    ("12 GJ", "kJ", 12_000_000),
    ("1.5 MJ", "kJ", 1_500),
    ("500", "Wh", 500),
    ("0", "g", 0),
    ("007", "g", 7),
    (500, "Wh", 500),
    (0, "kJ", 0),
    (UINT256_MAX, "Wh", UINT256_MAX),
    (str(UINT256_MAX), "Wh", UINT256_MAX),
    # factor units, as published
    ("0.5366 tCO2/MWh", "gCO2/MWh", 536_600),
    ("0.5366 kgCO2/kWh", "gCO2/MWh", 536_600),
    ("0.11 tCO2/GJ", "gCO2/GJ", 110_000),
    ("389.31 GJ/10^4 Nm3", "J/dm3", 38_931),
    ("42.652 GJ/t", "J/g", 42_652),
    ("15.3 tC/TJ", "gC/GJ", 15_300),
    ("99 %", "1e-4", 9_900),
    ("27.9 tCO2e/t", "1e-1", 279),
    ("38931", "J/dm3", 38_931),
])
def test_exact_conversions(quantity: str | int, unit: str, expected: int) -> None:
    assert to_amount(quantity, unit) == expected


@pytest.mark.parametrize(("quantity", "unit", "error"), [
    # not an integer in the target unit: refused, never rounded
    ("0.5 Wh", "Wh", InexactAmount),
    ("0.5", "Wh", InexactAmount),
    ("0.0000005 MWh", "Wh", InexactAmount),
    ("1.0001 kWh", "Wh", InexactAmount),
    ("0.0001 Nm3", "dm3", InexactAmount),
    ("0.5366123 tCO2/MWh", "gCO2/MWh", InexactAmount),
    (str(UINT256_MAX + 1), "Wh", InexactAmount),
    (f"{UINT256_MAX} kWh", "Wh", InexactAmount),
    # negative
    ("-1 kWh", "Wh", NegativeAmount),
    ("-0", "Wh", NegativeAmount),
    (-1, "Wh", NegativeAmount),
    # unknown or mismatched units; case matters (mWh is a milliwatt-hour)
    ("1 kWh", "g", UnitMismatch),
    ("1 t", "Wh", UnitMismatch),
    ("1 GJ", "dm3", UnitMismatch),
    ("1 tCO2/MWh", "gCO2/GJ", UnitMismatch),
    ("1 kwh", "Wh", UnknownUnit),
    ("1 mWh", "Wh", UnknownUnit),
    ("1 KWH", "Wh", UnknownUnit),
    ("1 furlong", "g", UnknownUnit),
    ("1 Nm³", "dm3", MalformedAmount),
    ("1 kWh", "bogus", UnknownUnit),
    # malformed: exponents, NaN/inf, separators, signs, spaces, non-ASCII digits, floats
    ("1e3", "Wh", MalformedAmount),
    ("1e3 kWh", "Wh", MalformedAmount),
    ("1E3kWh", "Wh", MalformedAmount),
    ("1e-3 MWh", "Wh", MalformedAmount),
    ("1e+3", "Wh", MalformedAmount),
    ("NaN", "Wh", MalformedAmount),
    ("nan kWh", "Wh", MalformedAmount),
    ("inf", "Wh", MalformedAmount),
    ("Infinity", "Wh", MalformedAmount),
    ("1,000 kWh", "Wh", MalformedAmount),
    ("1_000", "Wh", MalformedAmount),
    ("+5", "Wh", MalformedAmount),
    (" 5", "Wh", MalformedAmount),
    ("5 ", "Wh", MalformedAmount),
    ("5  kWh", "Wh", MalformedAmount),
    ("5 kWh ", "Wh", MalformedAmount),
    ("5\tkWh", "Wh", MalformedAmount),
    ("5\nkWh", "Wh", MalformedAmount),
    (".5 kWh", "Wh", MalformedAmount),
    ("5. kWh", "Wh", MalformedAmount),
    ("1.5.3", "Wh", MalformedAmount),
    ("５", "Wh", MalformedAmount),  # noqa: RUF001 (a fullwidth digit, on purpose)
    ("١٢", "Wh", MalformedAmount),
    ("kWh", "Wh", MalformedAmount),
    ("", "Wh", MalformedAmount),
    ("0x10", "Wh", UnknownUnit),
    (1.5, "Wh", MalformedAmount),
    (1000.0, "Wh", MalformedAmount),
    (True, "Wh", MalformedAmount),
    (None, "Wh", MalformedAmount),
    (b"5", "Wh", MalformedAmount),
    ("1" * (MAX_AMOUNT_CHARS + 1), "Wh", MalformedAmount),
])
def test_refusals(quantity: object, unit: str, error: type[UnitError]) -> None:
    with pytest.raises(error) as caught:
        to_amount(quantity, unit)  # type: ignore[arg-type]
    assert isinstance(caught.value, ValueError)
    assert caught.value.unit == unit


def test_an_inexact_amount_says_what_it_would_have_been() -> None:
    with pytest.raises(InexactAmount, match=r"is 1/2 Wh, not an integer"):
        to_amount("0.5 Wh", "Wh")


def test_fractions_are_available_exactly() -> None:
    assert to_fraction("0.5 Wh", "Wh") == Fraction(1, 2)
    assert to_fraction("0.5366123 tCO2/MWh", "gCO2/MWh") == Fraction(5366123, 10)


@given(st.integers(min_value=0, max_value=10**30), st.sampled_from(sorted(ACTIVITY_UNITS)))
@example(0, "Wh")
def test_any_exact_decimal_converts_back(base: int, target: str) -> None:
    """An integer amount written in every larger unit as an exact decimal converts back to it."""
    for unit, scale in ACTIVITY_UNITS[target].items():
        digits = len(str(int(scale))) - 1
        whole, frac = divmod(base, int(scale))
        text = f"{whole}.{frac:0{digits}d}" if digits else str(whole)
        assert to_amount(f"{text} {unit}", target) == base
        assert to_amount(f"{text}{unit}", target) == base


@given(st.integers(min_value=0, max_value=10**12), st.integers(min_value=1, max_value=9))
def test_a_fraction_of_the_integer_unit_is_refused(whole: int, tenths: int) -> None:
    with pytest.raises(InexactAmount):
        to_amount(f"{whole}.{tenths} Wh", "Wh")
