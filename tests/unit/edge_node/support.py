"""Helpers of the edge node's unit tests: samples of a deterministic meter."""

from __future__ import annotations

from accounting_rules.counters import RolloverRule
from edge_node.signing import Sample
from factories import METER_PATHS

ENERGY = "energy.active.import:Wh"
POWER = "power.active:W"
METER = METER_PATHS[0]


def energy(timestamp: int, value: int, *, meter: str = METER,
           rollover: RolloverRule | None = None) -> Sample:
    """An import-energy sample (one uint32 register pair)."""
    return Sample(meter_path=meter, point="import_energy", quantity=ENERGY, timestamp=timestamp,
                  value=value, raw_registers=((value >> 16) & 0xFFFF, value & 0xFFFF),
                  rollover=rollover)


def power(timestamp: int, value: int, *, meter: str = METER) -> Sample:
    return Sample(meter_path=meter, point="active_power", quantity=POWER, timestamp=timestamp,
                  value=value, raw_registers=(value & 0xFFFF,))
