"""Faults the meter simulator injects on request, per unit id.

Written ``UNIT:KIND[:ARG]`` on the command line (``--fault 3:04``, ``--fault 2:delay:5``) and
in the control channel. Kinds:

=================================  =========================================================
``01`` ... ``0B`` or the error      answer every read with that Modbus exception (01 illegal
class (``illegal_function``,        function, 02 illegal address, 03 illegal value, 04 device
``illegal_address``,                failure, 05 acknowledge, 06 busy, 0A gateway path, 0B
``illegal_value``,                  gateway target); ARG = for how many requests (default:
``device_failure``, ``acknowledge``,  until cleared)
``busy``, ``gateway_path``,
``gateway_target``)
``delay:SECONDS``                   answer late (past a poller's timeout), until cleared
``timeout[:N]``                     never answer (N requests, default until cleared)
``drop[:N]``                        close the TCP connection on a request (RTU: no answer)
``garble[:N]``                      answer with a broken frame: RTU a wrong CRC, TCP a byte
                                    count two short of the registers sent
``not_available[:N]``               answer with the points' "no value" patterns (NaN for
                                    floats; points without a pattern keep their value)
``reset[:WHAT]``                    set the counters (or the one quantity code or point
                                    named) to 0 now: a meter replaced or reset
``rollover[:POINT]``                set an integer counter (the point named, else the
                                    profile's first) 10 register steps before it wraps
``clear``                           remove the unit's fault
=================================  =========================================================

Only one answer fault (exception, delay, timeout, drop, garble, not_available) is active per
unit; a
new one replaces it. ``reset`` and ``rollover`` act once, at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..acquisition.classify import EXCEPTION_CODES as _CLASSES_BY_CODE
from ..errors import SimulatorError

__all__ = ["EXCEPTION_CODES", "KINDS", "ONE_SHOT", "Fault", "parse_fault"]

#: The error classes (gap records, metrics) by Modbus exception code, as acquisition names them.
EXCEPTION_CODES = {code: error.value for code, error in _CLASSES_BY_CODE.items()}
_BY_NAME = {name: code for code, name in EXCEPTION_CODES.items()}
_BY_TEXT = {f"{code:02X}": code for code in EXCEPTION_CODES} | {
    f"{code:02x}": code for code in EXCEPTION_CODES}
#: Kinds that act once on the meter's counters instead of on its answers.
ONE_SHOT = frozenset({"reset", "rollover"})
#: Every fault kind (``exception`` is written as its code or error class).
KINDS = frozenset({"exception", "delay", "timeout", "drop", "garble", "not_available",
                   "clear"}) | ONE_SHOT


@dataclass(frozen=True, slots=True)
class Fault:
    """One fault for ``unit``: ``kind`` is ``exception`` (with ``code``), ``delay`` (with
    ``seconds``), ``timeout``, ``drop``, ``garble``, ``not_available``, ``reset``, ``rollover`` or
    ``clear``; ``count`` limits an answer fault to that many requests (None: until cleared);
    ``target`` names the point or quantity of ``reset``/``rollover``."""

    unit: int
    kind: str
    code: int | None = None
    seconds: float | None = None
    count: int | None = None
    target: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise SimulatorError(f"unknown fault kind {self.kind!r}")
        if not 0 <= self.unit <= 247:
            raise SimulatorError(f"unit id must be 0..247, got {self.unit}")
        if (self.kind == "exception") != (self.code in EXCEPTION_CODES):
            raise SimulatorError(f"fault {self.kind} with exception code {self.code}")

    def describe(self) -> str:
        """The fault as ``UNIT:KIND[:ARG]``."""
        kind = f"{self.code:02X}" if self.code is not None else self.kind
        arg = self.seconds if self.seconds is not None else self.count or self.target
        return f"{self.unit}:{kind}" + (f":{arg}" if arg is not None else "")


def _count(text: str, spec: str) -> int:
    if not text.isascii() or not text.isdigit() or int(text) < 1:
        raise SimulatorError(f"fault {spec!r}: expected a request count >= 1, got {text!r}")
    return int(text)


def parse_fault(spec: str) -> Fault:
    """``UNIT:KIND[:ARG]`` (module docstring) as a :class:`Fault`; raises SimulatorError
    naming what is wrong."""
    parts = spec.split(":", 2)  # the argument may hold a colon (a quantity code)
    if not 2 <= len(parts) <= 3 or not parts[0].isascii() or not parts[0].isdigit():
        raise SimulatorError(f"fault {spec!r}: expected UNIT:KIND[:ARG] with a numeric unit "
                             "id, e.g. 3:04 or 2:delay:5")
    unit, kind, arg = int(parts[0]), parts[1], parts[2] if len(parts) == 3 else None
    code = _BY_TEXT.get(kind, _BY_NAME.get(kind))
    if code is not None:
        return Fault(unit, "exception", code=code,
                     count=None if arg is None else _count(arg, spec))
    if kind not in KINDS or kind == "exception":
        known = ", ".join(sorted(_BY_TEXT)[:8] + sorted(KINDS - {"exception"}))
        raise SimulatorError(f"fault {spec!r}: unknown kind {kind!r}; known: {known}, or an "
                             "error class name")
    if kind == "delay":
        try:
            seconds = float(arg) if arg is not None and arg.isascii() else math.nan
        except ValueError:
            seconds = math.nan
        if not 0 < seconds <= 3600:
            raise SimulatorError(f"fault {spec!r}: delay needs SECONDS in (0, 3600], "
                                 f"got {arg!r}")
        return Fault(unit, kind, seconds=seconds)
    if kind in ONE_SHOT:
        return Fault(unit, kind, target=arg or None)
    if kind == "clear":
        if arg is not None:
            raise SimulatorError(f"fault {spec!r}: clear takes no argument")
        return Fault(unit, kind)
    return Fault(unit, kind, count=None if arg is None else _count(arg, spec))
