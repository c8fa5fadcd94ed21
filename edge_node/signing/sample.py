"""The signer's input: one decoded value of one meter point at one time.

Acquisition turns a successful poll into :class:`Sample` values (``edge_node.acquisition``'s own
sample type converts into this one); the signer gives each a seq, a salt and the device's
signature. A sample is checked when made, so signing never fails on a malformed one.
"""

from __future__ import annotations

from dataclasses import dataclass

from accounting_rules.counters import RolloverRule
from mrv_core.codec import INT256_MAX, INT256_MIN
from mrv_core.errors import InvalidReading
from mrv_core.quantities import QuantityKind, quantity_by_code
from mrv_core.reading import validate_meter_path

__all__ = ["TIMESTAMP_LIMIT", "Sample"]

#: Timestamps are uint64 in the protocol; the store keeps them in SQLite's signed INTEGER, so
#: the edge node takes Unix seconds below 2**63 (year 292,277,026,596).
TIMESTAMP_LIMIT = 2**63
_INT = frozenset({int})


@dataclass(frozen=True, slots=True)
class Sample:
    """A value read from a meter point.

    - ``meter_path``: the meter's ISA-95 path (``enterprise/site/area/line/meter``).
    - ``point``: the profile point's name (``import_energy``), kept beside the reading.
    - ``quantity``: a registered quantity code (``energy.active.import:Wh``).
    - ``timestamp``: Unix seconds (UTC) of the measurement.
    - ``value``: the decoded integer in the quantity's unit (``int256``; >= 0 when unsigned).
    - ``raw_registers``: the 16-bit registers as read, in wire order (for audit).
    - ``rollover``: for a cumulative point, when a decrease counts as a rollover
      (:class:`accounting_rules.counters.RolloverRule`: the value at which the counter wraps,
      ``2**width x scale x ratio``, and the meter's maximum rate); ``None`` when the register
      does not wrap or its width is unknown (every decrease then awaits a meter change).

    Raises :class:`InvalidReading` (or its :class:`UnknownQuantity`,
    :class:`InvalidMeterPath`) for a field out of range.
    """

    meter_path: str
    point: str
    quantity: str
    timestamp: int
    value: int
    raw_registers: tuple[int, ...]
    rollover: RolloverRule | None = None

    def __post_init__(self) -> None:
        validate_meter_path(self.meter_path)
        quantity = quantity_by_code(self.quantity)
        if not isinstance(self.point, str) or not 0 < len(self.point) <= 64:
            raise InvalidReading(f"point name must be 1..64 characters, got {self.point!r:.80}")
        if type(self.timestamp) is not int or not 0 <= self.timestamp < TIMESTAMP_LIMIT:
            raise InvalidReading(f"timestamp = {self.timestamp!r} outside [0, 2**63)")
        if type(self.value) is not int or not INT256_MIN <= self.value <= INT256_MAX:
            raise InvalidReading(f"value = {self.value!r:.80} is not an int256")
        if self.value < 0 and not quantity.signed:
            raise InvalidReading(f"value {self.value} is negative for unsigned {self.quantity}")
        if self.rollover is not None and (not isinstance(self.rollover, RolloverRule)
                                          or quantity.kind is not QuantityKind.CUMULATIVE):
            raise InvalidReading(f"a rollover rule needs a cumulative quantity ({self.quantity} "
                                 f"is {quantity.kind.value})")
        registers = self.raw_registers
        # Whole-tuple checks in C (map, min, max): a node checks thousands of samples a second.
        if registers and (not set(map(type, registers)) <= _INT
                          or min(registers) < 0 or max(registers) > 0xFFFF):
            raise InvalidReading("raw registers must be ints in [0, 65535]")
