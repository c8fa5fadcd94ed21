"""Counter arithmetic: the energy of a period from the readings of one cumulative register.

Pure integers, no clock, no I/O; the edge node's summaries and the ledger API's recomputation
use the same code. ``docs/accounting.md`` section 6 states the rules; in short:

1. **Steps.** The readings of one counter (one meter, one cumulative quantity), sorted by seq,
   form steps between consecutive retained readings. A step's energy is the counter difference,
   so readings missing in between lose no energy: the step **bridges** them (reported, with its
   length in seconds and the gap records that explain it).
2. **Meter changes.** A signed meter change whose ``nextSeq`` lies in ``(a.seq, b.seq]`` splits
   the step into sub-steps ``a.value -> oldFinal``, ``newInitial -> ... -> b.value`` (several
   changes chain in ``nextSeq``, then time, order). Without one, a step is a single sub-step.
3. **Decreases.** A sub-step that goes up is consumption. One that goes down is a **rollover**
   only when the counter wraps (``modulus`` given: 2^width x scale x ratio in the quantity's
   unit) and the wrapped increase ``to + modulus - from`` is plausible: at most
   ``max_rate`` x ``max(1, seconds)`` (:class:`RolloverRule`). Any other decrease is
   **unexplained**: its energy is not counted (0), it is reported, and ``strict`` callers get
   :class:`~accounting_rules.errors.UnexplainedDecrease`. A decrease is never guessed into
   consumption. A counter is assumed to wrap at most once per sub-step: a step longer than
   ``modulus / max_rate`` seconds is reported as ``ambiguous`` (a full extra wrap could hide in
   it).
4. **Segments** are the runs of readings between rollovers, meter changes and unexplained
   decreases.
5. **Periods.** ``E(t)`` is the cumulative energy at the last reading at or before ``t`` (0 before
   the first reading); the energy of ``[start, end)`` is ``E(end) - E(start)``. Energy measured
   after the last reading at or before a bound counts in the next period, never interpolated, so
   consecutive periods add up to the whole history exactly.

Errors derive from :class:`~accounting_rules.errors.CounterError`.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from itertools import pairwise
from typing import Literal

from mrv_core.reading import Reading
from mrv_core.records import Gap, MeterChange

from .errors import InconsistentReadings, InvalidMeterChange, UnexplainedDecrease

__all__ = [
    "BridgedStep",
    "CounterChange",
    "CounterGap",
    "CounterHistory",
    "CounterReading",
    "PeriodEnergy",
    "RolloverRule",
    "Segment",
    "Step",
    "build_history",
]

StepKind = Literal["increase", "rollover", "meter_change", "unexplained_decrease"]


@dataclass(frozen=True, slots=True)
class CounterReading:
    """One reading of the counter: ``seq`` (per meter), ``timestamp`` (Unix seconds) and
    ``value`` (the register in the quantity's integer unit, >= 0)."""

    seq: int
    timestamp: int
    value: int

    @classmethod
    def of(cls, reading: Reading) -> CounterReading:
        """The counter reading of a signed reading's struct."""
        return cls(reading.seq, reading.timestamp, reading.value)


@dataclass(frozen=True, slots=True)
class CounterChange:
    """A signed meter change (``MeterChange`` record): at ``timestamp`` the old counter ended at
    ``old_final`` and the new one started at ``new_initial``; ``next_seq`` is the seq of the first
    reading of the new counter."""

    timestamp: int
    next_seq: int
    old_final: int
    new_initial: int

    @classmethod
    def of(cls, change: MeterChange) -> CounterChange:
        """The counter change of a signed ``MeterChange`` record."""
        return cls(change.timestamp, change.next_seq, change.old_final, change.new_initial)


@dataclass(frozen=True, slots=True)
class CounterGap:
    """A signed gap record of the counter: polls failed from ``from_timestamp`` to
    ``to_timestamp`` before the reading ``next_seq``."""

    next_seq: int
    from_timestamp: int
    to_timestamp: int
    failed_polls: int

    @classmethod
    def of(cls, gap: Gap) -> CounterGap:
        """The counter gap of a signed ``Gap`` record."""
        return cls(gap.next_seq, gap.from_timestamp, gap.to_timestamp, gap.failed_polls)


@dataclass(frozen=True, slots=True)
class RolloverRule:
    """When a decrease counts as a rollover: the counter wraps at ``modulus`` (``None``: it never
    wraps, every decrease needs a meter change) and the wrapped increase is at most
    ``max_rate`` (quantity units per second, e.g. a meter's maximum power in W for a Wh
    register is ``Fraction(max_W, 3600)``) times the sub-step's seconds (at least 1)."""

    modulus: int | None
    max_rate: Fraction | int = 0

    def __post_init__(self) -> None:
        if self.modulus is not None and (type(self.modulus) is not int or self.modulus < 2):
            raise InconsistentReadings(f"a counter modulus is an int >= 2, got {self.modulus!r}")
        if not isinstance(self.max_rate, Fraction | int) or self.max_rate < 0:
            raise InconsistentReadings(f"max_rate is a non-negative int or Fraction, got "
                                       f"{self.max_rate!r}")

    def is_rollover(self, from_value: int, to_value: int, seconds: int) -> bool:
        """Whether ``from_value -> to_value`` (a decrease) over ``seconds`` is a rollover: the
        wrapped increase is at most ``max_rate`` times the seconds **and** at most half the
        counter's range, however long the step (a larger "wrap" cannot be told from a reset
        or a replaced meter, which only a signed meter change explains)."""
        if self.modulus is None:
            return False
        wrapped = to_value + self.modulus - from_value
        return wrapped <= self.modulus // 2 and wrapped <= self.max_rate * max(1, seconds)


@dataclass(frozen=True, slots=True)
class Step:
    """From reading ``first`` to reading ``last`` (consecutive retained readings): ``energy``
    counted, ``kind`` (the most notable of its sub-steps: an unexplained decrease, else a meter
    change, else a rollover, else an increase), ``missing`` readings bridged (seq difference - 1),
    the gap records in it, the meter changes applied, and ``ambiguous`` when the counter could
    have wrapped more than once unseen."""

    first: CounterReading
    last: CounterReading
    energy: int
    kind: StepKind
    missing: int
    gaps: tuple[CounterGap, ...]
    changes: tuple[CounterChange, ...]
    unexplained: int
    rollovers: int
    ambiguous: bool

    @property
    def bridged(self) -> bool:
        """Readings are missing, or polls failed, between the two readings."""
        return self.missing > 0 or bool(self.gaps)

    @property
    def seconds(self) -> int:
        return self.last.timestamp - self.first.timestamp


@dataclass(frozen=True, slots=True)
class Segment:
    """A run of readings between rollovers, meter changes and unexplained decreases."""

    first: CounterReading
    last: CounterReading


@dataclass(frozen=True, slots=True)
class BridgedStep:
    """A step of a period that bridged missing readings: its two readings, ``seconds`` between
    them, the readings ``missing`` and the gap records it holds."""

    first_seq: int
    last_seq: int
    seconds: int
    missing: int
    gap_records: int


@dataclass(frozen=True, slots=True)
class PeriodEnergy:
    """The energy of ``[start, end)`` in the quantity's unit, with what lies behind it.

    ``start_reading``/``end_reading`` are the boundary readings (the last at or before each
    bound; ``None`` before the first reading); ``reading_count`` counts the readings from one to
    the other inclusive; ``gap_count`` the gap records whose span meets the period."""

    start: int
    end: int
    energy: int
    start_reading: CounterReading | None
    end_reading: CounterReading | None
    reading_count: int
    gap_count: int
    bridged: tuple[BridgedStep, ...]
    rollovers: int
    meter_changes: int
    unexplained_decreases: int
    ambiguous_steps: int

    @property
    def bridged_seconds(self) -> int:
        return sum(b.seconds for b in self.bridged)


def _sorted_readings(readings: Iterable[CounterReading], modulus: int | None
                     ) -> list[CounterReading]:
    by_seq: dict[int, CounterReading] = {}
    for reading in readings:
        if not isinstance(reading, CounterReading):
            raise InconsistentReadings(f"expected CounterReading, got {type(reading).__name__}")
        for name in ("seq", "timestamp", "value"):
            value = getattr(reading, name)
            if type(value) is not int or value < 0:
                raise InconsistentReadings(f"seq {reading.seq!r}: {name} must be an int >= 0, "
                                           f"got {value!r}")
        if modulus is not None and reading.value >= modulus:
            raise InconsistentReadings(f"seq {reading.seq}: value {reading.value} is not below "
                                       f"the counter modulus {modulus}")
        known = by_seq.setdefault(reading.seq, reading)
        if known != reading:
            raise InconsistentReadings(f"seq {reading.seq} appears twice: {known} and {reading}")
    ordered = [by_seq[seq] for seq in sorted(by_seq)]
    for a, b in pairwise(ordered):
        if b.timestamp < a.timestamp:
            raise InconsistentReadings(f"timestamps go backwards: seq {a.seq} at {a.timestamp}, "
                                       f"seq {b.seq} at {b.timestamp}")
    return ordered


class CounterHistory:
    """The classified history of one counter (:func:`build_history`): steps, segments, and the
    cumulative energy at each reading, from which any period's energy follows."""

    def __init__(self, readings: list[CounterReading], steps: list[Step],
                 gaps: Sequence[CounterGap]) -> None:
        self.readings = tuple(readings)
        self.steps = tuple(steps)
        self.gaps = tuple(gaps)
        self._times = [r.timestamp for r in readings]
        cumulative = [0]
        for step in steps:
            cumulative.append(cumulative[-1] + step.energy)
        self._cumulative = cumulative

    @property
    def total(self) -> int:
        """The energy from the first reading to the last."""
        return self._cumulative[-1]

    @property
    def segments(self) -> tuple[Segment, ...]:
        """The runs of readings between rollovers, meter changes and unexplained decreases."""
        if not self.readings:
            return ()
        segments, first = [], self.readings[0]
        for step in self.steps:
            if step.kind != "increase":
                segments.append(Segment(first, step.first))
                first = step.last
        segments.append(Segment(first, self.readings[-1]))
        return tuple(segments)

    def _index_at(self, t: int) -> int:
        """Index of the last reading at or before ``t``; -1 when none."""
        return bisect.bisect_right(self._times, t) - 1

    def energy_at(self, t: int) -> int:
        """``E(t)``: the cumulative energy at the last reading at or before ``t``."""
        index = self._index_at(t)
        return self._cumulative[index] if index >= 0 else 0

    def period(self, start: int, end: int, *, strict: bool = False) -> PeriodEnergy:
        """The energy of ``[start, end)``: ``E(end) - E(start)`` (module docstring, rule 5).

        Raises :class:`InconsistentReadings` for ``start >= end`` and, when ``strict``,
        :class:`UnexplainedDecrease` for the first unexplained decrease inside the period.
        """
        if type(start) is not int or type(end) is not int or not 0 <= start < end:
            raise InconsistentReadings(f"a period is [start, end) with 0 <= start < end, got "
                                       f"[{start!r}, {end!r})")
        i, j = self._index_at(start), self._index_at(end)
        steps = self.steps[max(i, 0):max(j, 0)]
        if strict:
            for step in steps:
                if step.unexplained:
                    raise UnexplainedDecrease(step.first.seq, step.last.seq, step.first.value,
                                              step.last.value)
        first = max(i, 0) if j >= 0 else 0
        return PeriodEnergy(
            start=start, end=end, energy=self.energy_at(end) - self.energy_at(start),
            start_reading=self.readings[i] if i >= 0 else None,
            end_reading=self.readings[j] if j >= 0 else None,
            reading_count=j - first + 1 if j >= 0 else 0,
            gap_count=sum(1 for g in self.gaps
                          if g.from_timestamp < end and g.to_timestamp >= start),
            bridged=tuple(BridgedStep(s.first.seq, s.last.seq, s.seconds, s.missing,
                                      len(s.gaps)) for s in steps if s.bridged),
            rollovers=sum(s.rollovers for s in steps),
            meter_changes=sum(len(s.changes) for s in steps),
            unexplained_decreases=sum(s.unexplained for s in steps),
            ambiguous_steps=sum(1 for s in steps if s.ambiguous),
        )


def _step(a: CounterReading, b: CounterReading, changes: list[CounterChange],
          gaps: tuple[CounterGap, ...], rule: RolloverRule) -> Step:
    # Sub-steps: (value, time) points a -> (oldFinal | newInitial at each change) -> b.
    points = [(a.value, a.timestamp)]
    for change in changes:
        if not a.timestamp <= change.timestamp <= b.timestamp:
            raise InvalidMeterChange(
                f"meter change at {change.timestamp} (nextSeq {change.next_seq}) lies outside "
                f"its step: seq {a.seq} at {a.timestamp} to seq {b.seq} at {b.timestamp}")
        points += [(change.old_final, change.timestamp), (change.new_initial, change.timestamp)]
    points.append((b.value, b.timestamp))
    energy = rollovers = unexplained = 0
    ambiguous = False
    for (v0, t0), (v1, t1) in zip(points[::2], points[1::2], strict=True):
        seconds = t1 - t0
        if rule.modulus is not None and rule.max_rate * max(1, seconds) >= rule.modulus:
            ambiguous = True
        if v1 >= v0:
            energy += v1 - v0
        elif rule.is_rollover(v0, v1, seconds):
            assert rule.modulus is not None
            energy += v1 + rule.modulus - v0
            rollovers += 1
        else:
            unexplained += 1
    kind: StepKind = ("unexplained_decrease" if unexplained else "meter_change" if changes
                      else "rollover" if rollovers else "increase")
    return Step(a, b, energy, kind, b.seq - a.seq - 1, gaps, tuple(changes), unexplained,
                rollovers, ambiguous)


def build_history(readings: Iterable[CounterReading], rule: RolloverRule, *,
                  meter_changes: Iterable[CounterChange] = (),
                  gaps: Iterable[CounterGap] = ()) -> CounterHistory:
    """Classify the readings of one counter (any order; duplicates of one reading collapse) into
    steps with their energy (module docstring, rules 1-4).

    Changes and gaps outside the readings' seq range are kept for reporting but change no
    energy. Raises :class:`InconsistentReadings` (conflicting duplicates, time going backwards,
    a value not below the modulus) and :class:`InvalidMeterChange` (a change whose time lies
    outside the step its ``nextSeq`` falls in).
    """
    ordered = _sorted_readings(readings, rule.modulus)
    change_list = sorted(set(meter_changes), key=lambda c: (c.next_seq, c.timestamp))
    for change in change_list:
        for name in ("timestamp", "next_seq", "old_final", "new_initial"):
            value = getattr(change, name)
            if type(value) is not int or value < 0:
                raise InvalidMeterChange(f"meter change {name} must be an int >= 0, got "
                                         f"{value!r}")
        for value in (change.old_final, change.new_initial):
            if rule.modulus is not None and value >= rule.modulus:
                raise InvalidMeterChange(f"meter change value {value} is not below the counter "
                                         f"modulus {rule.modulus}")
    gap_list = sorted(set(gaps), key=lambda g: (g.next_seq, g.from_timestamp))
    change_seqs = [c.next_seq for c in change_list]
    gap_seqs = [g.next_seq for g in gap_list]
    steps = []
    for a, b in pairwise(ordered):
        lo, hi = a.seq + 1, b.seq + 1  # nextSeq in (a.seq, b.seq]
        changes = change_list[bisect.bisect_left(change_seqs, lo):
                              bisect.bisect_left(change_seqs, hi)]
        held = tuple(gap_list[bisect.bisect_left(gap_seqs, lo):bisect.bisect_left(gap_seqs, hi)])
        steps.append(_step(a, b, changes, held, rule))
    return CounterHistory(ordered, steps, gap_list)
