"""Registers to values and back, for one profile point: pure functions, exact arithmetic.

Decoding (:func:`decode_point`), step by step:

1. The registers must be exactly ``point.data_type.words`` integers in 0..65535, in wire
   order, else :class:`~edge_node.errors.RegisterError`. The input is never modified.
2. If they equal one of the point's ``not_available`` patterns (the vendor's "no value", e.g.
   ABB's all-0xFFFF), :class:`~edge_node.errors.ValueUnavailable`.
3. Words are put high word first (reversed when the point is ``low_first``); the bytes of each
   register are big-endian (Modbus application protocol v1.1b3, 4.2). The bytes are read as a
   two's-complement or unsigned integer, or as an IEEE 754 binary32/binary64 float; a NaN or
   an infinity is :class:`~edge_node.errors.ValueUnavailable`.
4. The exact value is ``raw x scale x ratio`` as a :class:`fractions.Fraction` (a float raw is
   taken at its exact binary value: float32 230.5 is exactly 461/2), where ``ratio`` is the
   meter's transformer ratio for a point with ``ct_pt`` (``point.ratio.of(ct, pt)``) and 1
   otherwise.
5. It is rounded to the nearest integer of the quantity's unit, **ties to even** (Python's
   ``round`` of a Fraction; IEEE 754 roundTiesToEven, the default rounding of the floats
   themselves): 2.5 -> 2, 3.5 -> 4, -2.5 -> -2. Only a float raw or a fractional scale can make
   a tie. A negative exact value of an unsigned quantity (energy, voltage, current, frequency)
   is :class:`~edge_node.errors.ValueUnavailable`: no such reading exists.

Encoding (:func:`encode_point`) is the inverse, for the meter simulator and tests: it gives
registers (wire order) that decode to the value, or :class:`~edge_node.errors.NotRepresentable`
when none do (``exact=False`` instead gives the nearest raw value the type holds, as a meter
does when its float can no longer hold every Wh).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from fractions import Fraction

from mrv_core.errors import ConfigError
from mrv_core.quantities import quantity_by_code

from ..errors import NotRepresentable, RegisterError, ValueUnavailable
from ..profiles.model import Point, WordOrder

__all__ = ["counter_modulus", "decode_point", "decode_raw", "encode_point", "encode_raw",
           "raw_of_value", "round_half_even"]

_FLOAT_FORMAT = {32: ">f", 64: ">d"}


def _check_ratio(ratio: Fraction) -> None:
    if not isinstance(ratio, Fraction | int) or isinstance(ratio, bool) or ratio <= 0:
        raise ConfigError(f"ratio must be a positive Fraction, got {ratio!r}")


def _to_wire(point: Point, high_first: tuple[int, ...]) -> tuple[int, ...]:
    return high_first[::-1] if point.word_order is WordOrder.LOW_FIRST else high_first


def decode_raw(point: Point, registers: Sequence[int]) -> int | float:
    """The raw number the registers hold (steps 1 to 3 above): an ``int`` for integer types,
    a finite ``float`` for float types. Raises RegisterError or ValueUnavailable."""
    words = tuple(registers)
    if len(words) != point.data_type.words:
        raise RegisterError(f"{point.name}: expected {point.data_type.words} registers for "
                            f"{point.data_type.value}, got {len(words)}")
    for word in words:
        if type(word) is not int or not 0 <= word <= 0xFFFF:
            raise RegisterError(f"{point.name}: expected register values 0..65535, "
                                f"got {word!r}")
    if words in point.not_available:
        shown = " ".join(f"{w:04X}" for w in words)
        raise ValueUnavailable(f"{point.name}: the meter's 'not available' pattern {shown}")
    data = b"".join(w.to_bytes(2, "big") for w in _to_wire(point, words))
    if not point.data_type.is_float:
        return int.from_bytes(data, "big", signed=point.data_type.signed)
    (number,) = struct.unpack(_FLOAT_FORMAT[point.data_type.bits], data)
    if not math.isfinite(number):
        raise ValueUnavailable(f"{point.name}: the meter sent {number} ({data.hex()})")
    return float(number)


def _value(point: Point, raw: int | float, ratio: Fraction) -> Fraction:
    return Fraction(raw) * point.scale * ratio


def decode_point(point: Point, registers: Sequence[int], *,
                 ratio: Fraction = Fraction(1)) -> int:
    """The value the registers hold, in the integer unit of ``point.quantity`` (Wh, W, mV,
    mA, mHz), rounded half to even as the module docstring states.

    Raises RegisterError (wrong count or word), ValueUnavailable (vendor pattern, NaN or
    infinity, negative value of an unsigned quantity), ConfigError (ratio not positive)."""
    _check_ratio(ratio)
    raw = decode_raw(point, registers)
    # The exact value as numerator / denominator (denominator > 0): integer arithmetic, the
    # same result as Fraction's and several times faster (a float's ratio is exact).
    numerator, denominator = raw.as_integer_ratio()
    numerator *= point.scale.numerator * ratio.numerator
    denominator *= point.scale.denominator * ratio.denominator
    if numerator < 0 and not quantity_by_code(point.quantity).signed:
        raise ValueUnavailable(f"{point.name}: negative value {numerator / denominator} of the "
                               f"unsigned quantity {point.quantity}")
    return round_half_even(numerator, denominator)


def round_half_even(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` (denominator > 0) to the nearest integer, ties to even."""
    quotient, remainder = divmod(numerator, denominator)  # floor; 0 <= remainder < denominator
    twice = 2 * remainder
    if twice > denominator or (twice == denominator and quotient % 2 == 1):
        quotient += 1
    return quotient


def encode_raw(point: Point, raw: int | float) -> tuple[int, ...]:
    """Registers, in wire order, holding ``raw`` in the point's type (an ``int`` for integer
    types, any real for floats). Raises NotRepresentable when it does not fit."""
    size = point.data_type.bits // 8
    if point.data_type.is_float:
        try:
            data = struct.pack(_FLOAT_FORMAT[point.data_type.bits], raw)
        except (OverflowError, struct.error):
            raise NotRepresentable(f"{point.name}: {raw} overflows "
                                   f"{point.data_type.value}") from None
    else:
        if type(raw) is not int:
            raise NotRepresentable(f"{point.name}: {point.data_type.value} holds integers, "
                                   f"got {raw!r}")
        try:
            data = raw.to_bytes(size, "big", signed=point.data_type.signed)
        except OverflowError:
            raise NotRepresentable(f"{point.name}: {raw} is outside "
                                   f"{point.data_type.value}") from None
    words = tuple(int.from_bytes(data[i:i + 2], "big") for i in range(0, size, 2))
    return _to_wire(point, words)


def _float_candidates(point: Point, target: Fraction) -> list[float]:
    """The finite floats of the point's type nearest ``target``: its rounding and the two
    neighbours (bit patterns one apart), nearest first (ties: even bit pattern first)."""
    bits = point.data_type.bits
    fmt, int_fmt = _FLOAT_FORMAT[bits], {32: ">I", 64: ">Q"}[bits]
    try:
        (first,) = struct.unpack(int_fmt, struct.pack(fmt, float(target)))
    except (OverflowError, struct.error):
        return []
    found: list[tuple[Fraction, int, float]] = []
    for pattern in (first - 1, first, first + 1):
        if 0 <= pattern < 1 << bits:
            (number,) = struct.unpack(fmt, struct.pack(int_fmt, pattern))
            if math.isfinite(number):
                found.append((abs(Fraction(number) - target), pattern & 1, number))
    return [number for _, _, number in sorted(found)]


def raw_of_value(point: Point, value: int, *, ratio: Fraction = Fraction(1),
                 exact: bool = True) -> int | float:
    """The raw number nearest ``value / (scale x ratio)`` whose decoding is ``value``; when
    there is none, NotRepresentable (``exact``) or the nearest raw (``exact=False``, integers
    rounded half to even). Raises NotRepresentable for a negative value of an unsigned
    quantity and a raw outside the counter's width."""
    _check_ratio(ratio)
    if type(value) is not int:
        raise NotRepresentable(f"{point.name}: values are integers, got {value!r}")
    if value < 0 and not quantity_by_code(point.quantity).signed:
        raise NotRepresentable(f"{point.name}: {point.quantity} is never negative, got {value}")
    target = Fraction(value) / (point.scale * ratio)
    if point.data_type.is_float:
        for number in _float_candidates(point, target):
            if not exact or round(_value(point, number, ratio)) == value:
                return number
        raise NotRepresentable(f"{point.name}: no {point.data_type.value} decodes to {value}")
    nearest = round(target)
    candidates = [nearest] + [n for n in (math.floor(target), math.ceil(target)) if n != nearest]
    raw = next((n for n in candidates if round(_value(point, n, ratio)) == value), None)
    if raw is None:
        if exact:
            raise NotRepresentable(f"{point.name}: no raw value of step "
                                   f"{point.scale * ratio} decodes to {value}")
        raw = nearest
    if point.counter_width is not None and not 0 <= raw < 1 << point.counter_width:
        raise NotRepresentable(f"{point.name}: raw {raw} is outside the "
                               f"{point.counter_width}-bit counter")
    return raw


def encode_point(point: Point, value: int, *, ratio: Fraction = Fraction(1),
                 exact: bool = True) -> tuple[int, ...]:
    """Registers, in wire order, that :func:`decode_point` turns back into ``value``.

    With ``exact=False`` the nearest raw value is encoded instead (the simulator's float
    energies). Raises NotRepresentable: out of range, between two representable values
    (``exact``), negative for an unsigned quantity, or encoding to a "not available" pattern.
    """
    registers = encode_raw(point, raw_of_value(point, value, ratio=ratio, exact=exact))
    if registers in point.not_available:
        raise NotRepresentable(f"{point.name}: {value} encodes to the 'not available' "
                               f"pattern {registers}")
    return registers


def counter_modulus(point: Point, *, ratio: Fraction = Fraction(1)) -> Fraction:
    """Where an integer counter wraps, in its quantity's unit: ``2**counter_width x scale x
    ratio`` (a raw ``2**width - 1`` is followed by 0). Raises ConfigError for points that do
    not wrap (instantaneous quantities and float counters)."""
    _check_ratio(ratio)
    if point.counter_width is None:
        raise ConfigError(f"{point.name}: {point.data_type.value} {point.quantity} does not "
                          "wrap (no counter_width)")
    return (1 << point.counter_width) * point.scale * ratio
