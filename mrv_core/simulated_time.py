"""Simulated time that several processes agree on: the clock file.

Demos and commissioning runs compress weeks into minutes: edge nodes, the meter simulator, the
relayer and the chain must all read the *same* accelerated clock, though none of them imports
another. They share one small JSON file (docs/edge.md, "Simulated time")::

    {"format": "trustmrv-clock/1", "simulatedStart": "1790784000",
     "realStart": "1796000000", "speed": "720"}

Integers travel as strings, as in every TrustMRV document. The mapping is linear:

    simulated_now = simulatedStart + (real_now - realStart) x speed

with ``simulatedStart`` and ``realStart`` in Unix seconds (UTC) and ``speed`` an integer factor
in ``1..100000`` (simulated seconds per real second). :meth:`SimulatedTime.at_ns` computes it in
integer nanoseconds, so every process that reads the same file and the same real clock gets the
same simulated instant, exactly; :meth:`SimulatedTime.now` is the float view of it and
:meth:`SimulatedTime.now_s` the whole second (floor). Real time before ``realStart`` maps to
simulated time before ``simulatedStart`` (the line extends both ways).

Reading is strict (:func:`read_clock_file`): a regular file of at most
:data:`MAX_CLOCK_FILE_BYTES`, strict JSON (no floats, no duplicate keys), exactly the four
fields, each bounded; a :class:`~mrv_core.errors.ConfigError` names the file and the field,
with what was expected and what was found.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .codec import parse_int
from .errors import ConfigError, DecodeError, FormatError
from .files import UnreadableFile, read_regular_file, write_new_file
from .strict_json import expect_object, loads_strict

__all__ = ["CLOCK_FORMAT", "MAX_CLOCK_FILE_BYTES", "MAX_SPEED", "MAX_UNIX_S", "SimulatedTime",
           "read_clock_file"]

CLOCK_FORMAT = "trustmrv-clock/1"
#: A clock file holds one small object; anything larger is not one.
MAX_CLOCK_FILE_BYTES = 4096
#: The fastest clock: a simulated year in about five real minutes.
MAX_SPEED = 100_000
#: Instants are Unix seconds below 2**40 (year 36812): far past any chain time in use, and small
#: enough that ``speed x`` nanoseconds stays an exact integer everywhere.
MAX_UNIX_S = 2**40 - 1
_NS = 1_000_000_000


@dataclass(frozen=True)
class SimulatedTime:
    """The clock file's contents: ``simulated_start`` and ``real_start`` (Unix s, UTC) and
    ``speed`` (simulated seconds per real second, an int in ``1..MAX_SPEED``).

    Raises :class:`ConfigError` naming the field, the bounds and the value given."""

    simulated_start: int
    real_start: int
    speed: int

    def __post_init__(self) -> None:
        for name, value, low, high in (("simulated_start", self.simulated_start, 0, MAX_UNIX_S),
                                       ("real_start", self.real_start, 0, MAX_UNIX_S),
                                       ("speed", self.speed, 1, MAX_SPEED)):
            if type(value) is not int or not low <= value <= high:
                raise ConfigError(f"simulated time: {name} must be an int in {low}..{high}, "
                                  f"got {value!r}")

    # -- the mapping ------------------------------------------------------------------------------

    def at_ns(self, real_ns: int) -> int:
        """The simulated instant, in integer Unix nanoseconds, at real Unix time ``real_ns``
        (nanoseconds): ``simulated_start + (real - real_start) x speed``, exactly."""
        return self.simulated_start * _NS + (real_ns - self.real_start * _NS) * self.speed

    def real_ns_at(self, simulated_ns: int) -> int:
        """The earliest real Unix nanosecond at which the simulated clock has reached
        ``simulated_ns`` (the inverse of :meth:`at_ns`, rounded up)."""
        return self.real_start * _NS - (-(simulated_ns - self.simulated_start * _NS)
                                        // self.speed)

    def now_ns(self) -> int:
        """The simulated instant now, integer Unix nanoseconds."""
        return self.at_ns(time.time_ns())

    def now(self) -> float:
        """The simulated instant now, Unix seconds (float: for clocks and sleeps)."""
        return self.now_ns() / _NS

    def now_s(self) -> int:
        """The simulated instant now, whole Unix seconds (floor): what timestamps and blocks
        carry."""
        return self.now_ns() // _NS

    def real_seconds(self, simulated_seconds: float) -> float:
        """How many real seconds ``simulated_seconds`` last at this speed."""
        return simulated_seconds / self.speed

    # -- the file ---------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {"format": CLOCK_FORMAT, "simulatedStart": str(self.simulated_start),
                "realStart": str(self.real_start), "speed": str(self.speed)}

    @classmethod
    def from_json(cls, document: object) -> SimulatedTime:
        """Decode a clock file's JSON object. Raises :class:`FormatError` at the field."""
        o = expect_object(document, "$", ("format", "simulatedStart", "realStart", "speed"))
        if o["format"] != CLOCK_FORMAT:
            raise FormatError("$.format", f"expected {CLOCK_FORMAT!r}, got {o['format']!r}")
        return cls(simulated_start=parse_int(o["simulatedStart"], 0, MAX_UNIX_S,
                                             field="$.simulatedStart"),
                   real_start=parse_int(o["realStart"], 0, MAX_UNIX_S, field="$.realStart"),
                   speed=parse_int(o["speed"], 1, MAX_SPEED, field="$.speed"))

    def write(self, path: Path) -> None:
        """Create the clock file at ``path`` (never overwrites: :class:`FileExistsError`)."""
        write_new_file(path, (json.dumps(self.to_json(), indent=2) + "\n").encode("utf-8"),
                       mode=0o644)


def read_clock_file(path: Path) -> SimulatedTime:
    """Read and check a clock file. Raises :class:`ConfigError` naming the file and what is
    wrong in it (not a regular file, too large, not strict JSON, a field missing, unknown or
    out of range)."""
    try:
        data = read_regular_file(path, MAX_CLOCK_FILE_BYTES)
    except UnreadableFile as exc:
        raise ConfigError(f"clock file {path}: {exc.reason}") from None
    try:
        return SimulatedTime.from_json(loads_strict(data, max_bytes=MAX_CLOCK_FILE_BYTES))
    except DecodeError as exc:
        raise ConfigError(f"{path} is not a clock file ({CLOCK_FORMAT}): {exc}") from None
