"""The report's figures for humans are exact: tonnes carry every gram, decimals every digit."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from accounting_rules.reports._humane import (
    decimal_text,
    duration,
    grouped,
    instant,
    larger_unit,
    tonnes,
)
from mrv_core.codec import UINT64_MAX, UINT256_MAX


def _value_of(text: str) -> Fraction:
    """The number a grouped decimal text stands for, read back without floats."""
    return Fraction(text.replace(",", ""))


@given(st.integers(0, UINT256_MAX))
@example(0)
@example(999_999)
@example(1_000_000)
@example(UINT256_MAX)
def test_tonnes_are_the_grams_moved_six_places_with_six_decimals(grams: int) -> None:
    shown = tonnes(grams)
    assert _value_of(shown) == Fraction(grams, 10**6)
    assert len(shown.rsplit(".", 1)[1]) == 6


@given(st.integers(-(10**40), 10**40), st.integers(0, 40), st.booleans())
@example(5366, 4, False)
@example(-5, 3, True)
@example(100, 0, False)
def test_decimal_text_reads_back_as_the_exact_quotient(value: int, decimals: int,
                                                        keep: bool) -> None:
    shown = decimal_text(value, decimals, keep_zeros=keep)
    assert _value_of(shown) == Fraction(value, 10**decimals)
    if not keep and "." in shown:
        assert not shown.endswith("0")


def test_decimal_text_examples_and_a_negative_scale_is_refused() -> None:
    assert decimal_text(5366, 4) == "0.5366"
    assert decimal_text(1_234_567_000, 3) == "1,234,567"
    assert decimal_text(-5, 3, keep_zeros=True) == "-0.005"
    assert grouped(1234567) == "1,234,567"
    with pytest.raises(ValueError, match="decimals must be >= 0"):
        decimal_text(1, -1)


@given(st.integers(0, UINT256_MAX), st.sampled_from(["Wh", "dm3", "g", "kJ"]))
def test_larger_unit_is_exact_in_the_unit_units_py_defines(amount: int, unit: str) -> None:
    shown = larger_unit(amount, unit)
    assert shown is not None
    number, larger = shown.split(" ")
    scale = {"MWh": 10**6, "m3": 10**3, "t": 10**6, "GJ": 10**6}[larger]
    assert {"Wh": "MWh", "dm3": "m3", "g": "t", "kJ": "GJ"}[unit] == larger
    assert _value_of(number) == Fraction(amount, scale)


def test_larger_unit_is_none_for_a_factor_unit() -> None:
    assert larger_unit(5, "J/dm3") is None
    assert larger_unit(123456789, "Wh") == "123.456789 MWh"


def test_instant_is_shown_in_the_zone_with_its_offset() -> None:
    assert instant(1790784000, "Asia/Shanghai") == "2026-10-01 00:00:00 +08:00"
    assert instant(1790784000, "UTC") == "2026-09-30 16:00:00 +00:00"
    # Berlin: summer time until 25 October 2026, then winter time
    assert instant(1790784000, "Europe/Berlin") == "2026-09-30 18:00:00 +02:00"
    assert instant(1793462400, "Europe/Berlin") == "2026-10-31 17:00:00 +01:00"


def test_instant_in_an_unknown_zone_is_utc_and_says_so_and_far_times_are_named() -> None:
    assert instant(0, "Mars/Olympus_Mons") == "1970-01-01 00:00:00 +00:00 (UTC)"
    assert instant(UINT64_MAX, "UTC") == f"Unix time {UINT64_MAX}"


@given(st.integers(0, 10**12))
def test_duration_keeps_the_exact_seconds_and_its_parts_add_up(seconds: int) -> None:
    shown = duration(seconds)
    head, _, parts = shown.partition(" (")
    assert _value_of(head.removesuffix(" s")) == seconds
    sizes = {"d": 86_400, "h": 3_600, "min": 60, "s": 1}
    words = parts.rstrip(")").split()
    assert sum(int(n) * sizes[u] for n, u in zip(words[::2], words[1::2], strict=True)) == \
        (seconds if seconds >= 60 else 0)


def test_duration_examples() -> None:
    assert duration(59) == "59 s"
    assert duration(1800) == "1,800 s (30 min)"
    assert duration(90061) == "90,061 s (1 d 1 h 1 min 1 s)"
