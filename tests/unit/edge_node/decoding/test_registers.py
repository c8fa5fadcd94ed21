"""Properties of the register decoder over every point of every shipped profile: encoding then
decoding gives the value back, decoding never mutates its input, the two word orders are
mirror images, and malformed input is refused with a typed error."""

from __future__ import annotations

import dataclasses
from fractions import Fraction

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from edge_node.decoding import (
    counter_modulus,
    decode_point,
    decode_raw,
    encode_point,
    raw_of_value,
)
from edge_node.errors import NotRepresentable, RegisterError, ValueUnavailable
from edge_node.profiles import Point, WordOrder, list_profiles, load_profile
from mrv_core.errors import ConfigError
from mrv_core.quantities import quantity_by_code

POINTS: list[Point] = [p for pid in list_profiles() for p in load_profile(pid).points]
RATIOS = st.sampled_from([Fraction(1), Fraction(20), Fraction(1, 3), Fraction(400)])


@st.composite
def point_registers_ratio(draw: st.DrawFn) -> tuple[Point, list[int], Fraction]:
    point = draw(st.sampled_from(POINTS))
    registers = draw(st.lists(st.integers(0, 0xFFFF), min_size=point.words,
                              max_size=point.words))
    return point, registers, draw(RATIOS) if point.ct_pt else Fraction(1)


def _decode(point: Point, registers: list[int], ratio: Fraction) -> int | None:
    try:
        return decode_point(point, registers, ratio=ratio)
    except ValueUnavailable:
        return None


@given(point_registers_ratio())
@example((load_profile("generic").point("energy_import"), [0xFFFF, 0xFFFF], Fraction(1)))
@example((load_profile("eastron.sdm630").point("energy_import"), [0x4B18, 0x9681],
          Fraction(1)))
def test_every_decodable_value_encodes_to_registers_that_decode_to_it(
        case: tuple[Point, list[int], Fraction]) -> None:
    point, registers, ratio = case
    value = _decode(point, registers, ratio)
    if value is not None:
        assert decode_point(point, encode_point(point, value, ratio=ratio), ratio=ratio) == value


@given(point_registers_ratio())
def test_decoding_equals_pythons_half_even_rounding_of_the_exact_fraction(
        case: tuple[Point, list[int], Fraction]) -> None:
    point, registers, ratio = case
    value = _decode(point, registers, ratio)
    if value is not None:
        exact = Fraction(decode_raw(point, registers)) * point.scale * ratio
        assert value == round(exact)  # round() of a Fraction: ties to even


@given(point_registers_ratio())
def test_decoding_never_mutates_its_input(case: tuple[Point, list[int], Fraction]) -> None:
    point, registers, ratio = case
    before = list(registers)
    _decode(point, registers, ratio)
    assert registers == before


@given(point_registers_ratio())
def test_swapping_the_word_order_mirrors_the_registers(
        case: tuple[Point, list[int], Fraction]) -> None:
    point, registers, ratio = case
    other = WordOrder.LOW_FIRST if point.word_order is WordOrder.HIGH_FIRST else \
        WordOrder.HIGH_FIRST
    swapped = dataclasses.replace(point, word_order=other, not_available=tuple(
        pattern[::-1] for pattern in point.not_available))
    assert _decode(point, registers, ratio) == _decode(swapped, registers[::-1], ratio)


@given(st.sampled_from([p for p in POINTS if not p.data_type.is_float]), st.data())
def test_an_integer_raw_value_encodes_to_exactly_its_registers(point: Point,
                                                              data: st.DataObject) -> None:
    bits = point.counter_width or point.data_type.bits
    low = -(1 << (bits - 1)) if point.data_type.signed and point.counter_width is None else 0
    high = (1 << (bits - 1 if low else bits)) - 1
    raw = data.draw(st.integers(low, high))
    value = raw * point.scale
    if value.denominator != 1 or (value < 0 and not quantity_by_code(point.quantity).signed):
        return
    try:
        registers = encode_point(point, int(value))
    except NotRepresentable:
        assert tuple(r for r in _words(point, raw)) in point.not_available
        return
    assert decode_raw(point, registers) == raw


def _words(point: Point, raw: int) -> tuple[int, ...]:
    data = raw.to_bytes(point.data_type.bits // 8, "big", signed=point.data_type.signed)
    words = tuple(int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2))
    return words[::-1] if point.word_order is WordOrder.LOW_FIRST else words


def test_rounding_is_half_to_even_of_the_exact_rational() -> None:
    power = load_profile("abb.b2x").point("power_active")  # int32 in 0.01 W
    assert [decode_point(power, _words(power, raw)) for raw in (50, 150, 250, -50, -150, 249,
                                                                251)] == [0, 2, 2, 0, -2, 2, 3]


def test_malformed_registers_are_refused_with_register_errors() -> None:
    point = load_profile("generic").point("energy_import")
    for registers in ([1], [1, 2, 3], [0x10000, 0], [-1, 0], [True, 0], [1.0, 0]):
        with pytest.raises(RegisterError):
            decode_point(point, registers)  # type: ignore[arg-type]
    for ratio in (Fraction(0), Fraction(-1)):
        with pytest.raises(ConfigError, match="ratio must be a positive"):
            decode_point(point, [0, 1], ratio=ratio)


def test_values_without_an_encoding_are_refused() -> None:
    generic = load_profile("generic")
    with pytest.raises(NotRepresentable, match="32-bit counter"):
        encode_point(generic.point("energy_import"), 1 << 32)
    with pytest.raises(NotRepresentable, match="never negative"):
        encode_point(generic.point("energy_import"), -1)
    with pytest.raises(NotRepresentable, match="not available"):
        encode_point(generic.point("voltage_l1"), 0xFFFF * 100)
    with pytest.raises(NotRepresentable, match="decodes to"):
        encode_point(load_profile("acrel.adl400").point("energy_import"), 15)  # 10 Wh steps
    with pytest.raises(NotRepresentable, match="no float32 decodes to"):
        encode_point(load_profile("eastron.sdm630").point("power_active"), 10**40)
    assert raw_of_value(load_profile("acrel.adl400").point("energy_import"), 15,
                        exact=False) == 2  # 1.5 steps: half to even


def test_counter_modulus_is_where_the_counter_wraps_in_its_unit() -> None:
    assert counter_modulus(load_profile("generic").point("energy_import")) == 1 << 32
    acrel = load_profile("acrel.adl400").point("energy_import")
    assert counter_modulus(acrel, ratio=Fraction(20)) == (1 << 32) * 10 * 20
    assert counter_modulus(load_profile("carlo-gavazzi.em24").point("energy_export")) == \
        (1 << 31) * 100
    with pytest.raises(ConfigError, match="does not wrap"):
        counter_modulus(load_profile("eastron.sdm630").point("energy_import"))
