"""What a simulated meter measures: a site's load over the day, its counters and readings.

Deterministic given the seed: the same seed, unit id and simulated time give the same values,
however often (or seldom) the meter is polled.

- **Power** is constant within each minute of simulated time (a *slot*): the site's load
  ``peak_w x curve(hour)`` (:func:`day_curve`: a night base of 35 %, rising to the peak over
  the working day) times ``1 + noise`` (uniform in +-8 %, drawn from BLAKE2b of seed, unit and
  slot), minus the solar generation ``solar_w x sin`` between 06:00 and 18:00 (same noise).
  The hour is local time at ``utc_offset`` (Beijing, UTC+8, by default).
- **Energy** is the exact integral of that power: joules summed slot by slot (integers), so the
  import and export counters grow exactly as the instantaneous power says. A counter's value
  is ``initial + offset + floor(joules / 3600)`` Wh; ``offset`` is what the reset and rollover
  faults change.
- **Voltage** 230 V +-1.5 %, **frequency** 50 Hz +-0.05 Hz, **current** per phase
  ``|P| / (phases x V x 0.95)``, **reactive power** ``P x tan(acos 0.95)``.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from fractions import Fraction

from ..decoding import round_half_even
from ..errors import SimulatorError
from ..profiles.model import Point, Profile

__all__ = ["SLOT_SECONDS", "MeterModel", "MeterSpec", "day_curve"]

#: Power is constant over each slot of simulated time.
SLOT_SECONDS = 60
_TAN_PHI = Fraction(3287, 10000)  # tan(acos(0.95)) = 0.32868...


@dataclass(frozen=True, slots=True)
class MeterSpec:
    """One simulated meter: its unit id, profile, site size and transformer ratios.

    ``peak_w``: the load at the daily peak, W; ``solar_w``: peak solar generation, W (the site
    exports when it exceeds the load); ``ct``/``pt``: the ratios the meter applies to points
    with ``ratio`` (secondary registers show primary values divided by them)."""

    unit_id: int
    profile: Profile
    peak_w: int = 10_000
    solar_w: int = 0
    ct: Fraction = Fraction(1)
    pt: Fraction = Fraction(1)

    def ratio(self, point: Point) -> Fraction:
        """The decoder's ``ratio`` for ``point`` on this meter."""
        return point.ratio.of(self.ct, self.pt)


def day_curve(hour: float) -> float:
    """Share of the peak load at a local ``hour`` in [0, 24): 0.35 at night, a sine bump to 1.0
    between 06:00 and 20:00 (a day-shift plant)."""
    if 6 <= hour < 20:
        return 0.35 + 0.65 * math.sin(math.pi * (hour - 6) / 14)
    return 0.35


@dataclass(slots=True)
class MeterModel:
    """The evolving state of one simulated meter (mutable: counters advance, faults shift
    offsets). Times are simulated Unix seconds."""

    spec: MeterSpec
    seed: int
    utc_offset: int = 8 * 3600
    offsets: dict[str, int] = field(default_factory=dict)  # quantity code -> Wh
    _slot: int | None = None  # the slot up to whose start ``_joules`` is summed
    _joules: tuple[int, int] = (0, 0)  # import, export
    _power: tuple[int, int] | None = None  # the last slot asked for and its power

    def _noise(self, slot: int, what: str) -> float:
        digest = hashlib.blake2b(f"{self.seed}:{self.spec.unit_id}:{slot}:{what}".encode(),
                                 digest_size=8).digest()
        return int.from_bytes(digest, "big") / 2**64 * 2 - 1  # uniform in [-1, 1)

    def power(self, slot: int) -> int:
        """Net active power during ``slot``, W (positive: import)."""
        if self._power is not None and self._power[0] == slot:
            return self._power[1]
        power = self._net_power(slot)
        self._power = (slot, power)
        return power

    def _net_power(self, slot: int) -> int:
        hour = ((slot * SLOT_SECONDS + self.utc_offset) % 86400) / 3600
        load = self.spec.peak_w * day_curve(hour) * (1 + 0.08 * self._noise(slot, "load"))
        sun = math.sin(math.pi * (hour - 6) / 12) if 6 <= hour < 18 else 0.0
        solar = self.spec.solar_w * sun * (1 + 0.08 * self._noise(slot, "sun"))
        return round(load - solar)

    def _initial(self, quantity: str) -> int:
        if quantity.endswith("export:Wh") and not self.spec.solar_w:
            return 0
        return 1_000_000 + int(abs(self._noise(0, quantity)) * 50_000_000)

    def energy_joules(self, now: float) -> tuple[int, int]:
        """Imported and exported energy, J, from the start of the first slot asked for (the
        simulator asks at its start time) to ``now``. Raises SimulatorError if ``now`` lies
        in a slot before one already summed: simulated time never runs backwards."""
        slot = math.floor(now / SLOT_SECONDS)
        if self._slot is None:
            self._slot = slot
        elif slot < self._slot:
            raise SimulatorError(f"simulated time went backwards: slot {slot} after "
                                 f"{self._slot}")
        imported, exported = self._joules
        for past in range(self._slot, slot):
            power = self.power(past)
            imported += max(power, 0) * SLOT_SECONDS
            exported += max(-power, 0) * SLOT_SECONDS
        self._slot, self._joules = slot, (imported, exported)
        power = self.power(slot)
        elapsed = now - slot * SLOT_SECONDS
        return (imported + math.floor(max(power, 0) * elapsed),
                exported + math.floor(max(-power, 0) * elapsed))

    def counter(self, quantity: str, now: float) -> int:
        """A cumulative counter's value, Wh (before any wrap of its register)."""
        imported, exported = self.energy_joules(now)
        joules = exported if quantity.endswith("export:Wh") else imported
        return self._initial(quantity) + self.offsets.get(quantity, 0) + joules // 3600

    def set_counter(self, quantity: str, value: int, now: float) -> None:
        """Make the counter read ``value`` Wh now (it keeps growing from there)."""
        self.offsets[quantity] = self.offsets.get(quantity, 0) + value - self.counter(quantity,
                                                                                      now)

    def value(self, quantity: str, now: float) -> int:
        """The true value of ``quantity`` at ``now``, in its integer unit."""
        slot = math.floor(now / SLOT_SECONDS)
        if quantity.startswith("energy."):
            return self.counter(quantity, now)
        power = self.power(slot)
        volts_mv = 230_000 + round(3_450 * self._noise(slot, "volt"))
        if quantity == "power.active:W":
            return power
        if quantity == "power.reactive:var":
            return round(power * _TAN_PHI)
        if quantity == "voltage:mV":
            return volts_mv
        if quantity == "current:mA":
            # |P| W / (phases x V x 0.95), in mA
            return round_half_even(abs(power) * 100_000_000,
                                   self.spec.profile.phases * volts_mv * 95)
        if quantity == "frequency:mHz":
            return 50_000 + round(50 * self._noise(slot, "freq"))
        return 0  # a quantity the simulator does not model (heat, gas...): a steady zero
