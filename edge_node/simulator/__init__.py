"""The meter simulator: simulated meters of any shipped profile behind a Modbus server on
loopback (TCP) or a serial device (RTU), with a daily load curve and fault injection.
``mrv simulate meters`` runs it; tests drive it through :class:`MeterSimulator`."""

from .faults import EXCEPTION_CODES, Fault, parse_fault
from .meter import MeterModel, MeterSpec, day_curve
from .server import MeterSimulator, SimClock

__all__ = ["EXCEPTION_CODES", "Fault", "MeterModel", "MeterSimulator", "MeterSpec", "SimClock",
           "day_curve", "parse_fault"]
