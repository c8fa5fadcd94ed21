"""The measured figure of one counter for one period, from the few readings that decide it
(spec11 sections 1 and 5; docs/api.md, "Monitoring plan and recompute").

A **counter** here is the readings of one plan point's cumulative quantity signed by one
device of the plan's enterprise (two devices reporting one path are two counters). For a period
``[start, end)`` its energy is ``E(end) - E(start)`` (``accounting_rules.counters``, rule 5),
and ``E`` telescopes over increasing steps, so only these **sparse readings** are read:

1. the last reading at or before ``start`` (else the counter's first reading: ``E(start)`` is 0
   before it) and the last at or before ``end`` (``ix_readings_path_time``);
2. both readings of every *notable* step between them: a step whose value falls (a counter
   mark, ``ledger_api.ingest.marks``), the step holding a signed meter change's ``nextSeq`` or
   a gap record's ``nextSeq`` (records by ``ix_records_path_time``, neighbours by
   ``uq_readings_key``);
3. both readings of every step holding seqs the ledger does not hold (``seq_gaps``), for the
   bridged steps and seconds.

Between two consecutive sparse readings every real step rises and holds no meter change, so
``build_history`` over the sparse readings gives the energy, rollovers, meter changes and
unexplained decreases of the whole history exactly. What the sparse list cannot give comes
from SQL: the readings counted between the boundary readings (``COUNT`` on the unique index),
the gap records whose span meets the period, and the bridged steps (those holding a seq not
held or a gap record) with their seconds. ``ambiguous_steps`` counts the steps read whole
(notable and bridged) whose length lets the counter wrap unseen; a long step that is neither
is not counted (a device polls on a fixed interval and a missed poll is a gap record).

Errors: ``accounting_rules`` :class:`~accounting_rules.errors.CounterError` for a history the
arithmetic refuses (an invalid meter change).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from accounting_rules.counters import (
    BridgedStep,
    CounterChange,
    CounterGap,
    CounterReading,
    PeriodEnergy,
    build_history,
)
from mrv_core.reading import SignedReading
from mrv_core.records import Gap, MeterChange, SignedRecord
from mrv_core.wire import decode_signed_record

from ..db.models import CounterMarkRow, LeafRow, ReadingRow, RecordRow, SeqGapRow
from .plan import PlanPoint

__all__ = ["MeterFigure", "counter_figure"]


@dataclass(frozen=True, slots=True)
class MeterFigure:
    """One counter (plan point x device) x one period (spec11 section 5): the period's
    ``energy`` (``energy.energy`` is the activity, in the quantity's unit), the sparse
    ``readings`` behind it in seq order, the meter changes and gap records it used, the
    ``(device, position)`` leaf of each of those, and the bridged steps and seconds."""

    point: PlanPoint
    device: bytes
    meter: bytes
    energy: PeriodEnergy
    readings: tuple[SignedReading, ...]
    records: tuple[SignedRecord, ...]
    leaves: tuple[tuple[bytes, int], ...]
    bridged_seconds: int
    bridged_steps: int


class _Counter:
    """The queries of one counter: device, meter, path and quantity."""

    def __init__(self, session: Session, point: PlanPoint, device: bytes, meter: bytes) -> None:
        self.session, self.point, self.device, self.meter = session, point, device, meter
        self.rows: dict[int, ReadingRow] = {}

    def _readings(self) -> Select[ReadingRow]:
        return select(ReadingRow).where(ReadingRow.device == self.device,
                                        ReadingRow.meter == self.meter,
                                        ReadingRow.quantity == self.point.quantity)

    def _keep(self, row: ReadingRow | None) -> ReadingRow | None:
        if row is not None:
            self.rows[row.seq] = row
        return row

    def last_at(self, t: int) -> ReadingRow | None:
        """The last reading at or before ``t`` (by the path-time index)."""
        query = select(ReadingRow).where(
            ReadingRow.meter_path == self.point.meter_path, ReadingRow.timestamp <= t,
            ReadingRow.device == self.device, ReadingRow.quantity == self.point.quantity)
        return self._keep(self.session.scalars(
            query.order_by(ReadingRow.timestamp.desc(), ReadingRow.seq.desc()).limit(1)).first())

    def first(self) -> ReadingRow | None:
        return self._keep(self.session.scalars(
            self._readings().order_by(ReadingRow.seq.asc()).limit(1)).first())

    def before(self, seq: int) -> ReadingRow | None:
        """The counter's reading with the greatest seq below ``seq``."""
        return self._keep(self.session.scalars(
            self._readings().where(ReadingRow.seq < seq)
            .order_by(ReadingRow.seq.desc()).limit(1)).first())

    def at_or_after(self, seq: int) -> ReadingRow | None:
        return self._keep(self.session.scalars(
            self._readings().where(ReadingRow.seq >= seq)
            .order_by(ReadingRow.seq.asc()).limit(1)).first())

    def marked(self, lo: int, hi: int) -> list[ReadingRow]:
        """The marked readings of the counter with seq in ``(lo, hi]``: the meter's marks
        (few) by their key, then those of the counter's quantity."""
        seqs = list(self.session.scalars(select(CounterMarkRow.seq).where(
            CounterMarkRow.device == self.device, CounterMarkRow.meter == self.meter,
            CounterMarkRow.seq > lo, CounterMarkRow.seq <= hi)))
        rows: list[ReadingRow] = []
        for i in range(0, len(seqs), 500):
            rows += self.session.scalars(self._readings().where(
                ReadingRow.seq.in_(seqs[i:i + 500]))).all()
        for row in rows:
            self._keep(row)
        return rows

    def count(self, lo: int, hi: int) -> int:
        return self.session.scalar(
            select(func.count()).select_from(ReadingRow).where(
                ReadingRow.device == self.device, ReadingRow.meter == self.meter,
                ReadingRow.quantity == self.point.quantity, ReadingRow.seq >= lo,
                ReadingRow.seq <= hi)) or 0

    def records(self, low: int, high: int) -> list[tuple[SignedRecord, int]]:
        """The counter's gap records and meter changes whose time span meets ``[low, high]``,
        with their leaf positions."""
        rows = self.session.execute(
            select(RecordRow.wire, RecordRow.position)
            .join(LeafRow, (LeafRow.device == RecordRow.device)
                  & (LeafRow.position == RecordRow.position))
            .where(RecordRow.path == self.point.meter_path, RecordRow.time_from <= high,
                   RecordRow.device == self.device,
                   RecordRow.kind.in_(("gap", "meter_change")), LeafRow.time_to >= low))
        found = []
        for wire, position in rows:
            signed = decode_signed_record(json.loads(wire), "$")
            record = signed.record
            assert isinstance(record, Gap | MeterChange)
            if record.quantity == self.point.quantity:
                found.append((signed, position))
        return found

    def missing_runs(self, lo: int, hi: int) -> list[tuple[int, int]]:
        return [(first, last) for first, last in self.session.execute(
            select(SeqGapRow.from_seq, SeqGapRow.to_seq).where(
                SeqGapRow.device == self.device, SeqGapRow.meter == self.meter,
                SeqGapRow.from_seq <= hi, SeqGapRow.to_seq >= lo))]


def _counter(row: ReadingRow) -> CounterReading:
    return CounterReading(row.seq, row.timestamp, row.value)


def counter_figure(session: Session, point: PlanPoint, device: bytes, meter: bytes,
                   start: int, end: int) -> MeterFigure:
    """The :class:`MeterFigure` of ``point``'s counter signed by ``device`` (``meter`` the id of
    its path) for ``[start, end)`` (module docstring)."""
    c = _Counter(session, point, device, meter)
    rule = point.rule()
    last = c.last_at(end)
    opening = c.last_at(start) or (c.first() if last is not None else None)
    if last is None or opening is None:
        energy = build_history([], rule).period(start, end)
        gaps = [s for s, _ in c.records(start, end) if isinstance(s.record, Gap)]
        energy = replace(energy, gap_count=_meeting(gaps, start, end))
        return MeterFigure(point, device, meter, energy, (), (), (), 0, 0)
    lo, hi = opening.seq, last.seq
    steps: set[tuple[int, int]] = set()  # (first seq, last seq) of the steps read whole
    for row in c.marked(lo, hi):
        previous = c.before(row.seq)
        assert previous is not None, "a marked reading has a previous one"
        steps.add((previous.seq, row.seq))
    stored = c.records(min(start, opening.timestamp), max(end, last.timestamp))
    used = [(s, position) for s, position in stored
            if lo < s.record.next_seq <= hi]  # type: ignore[union-attr]
    for signed, _ in used:
        after = c.at_or_after(signed.record.next_seq)  # type: ignore[union-attr]
        previous = c.before(signed.record.next_seq)  # type: ignore[union-attr]
        assert after is not None and previous is not None
        steps.add((previous.seq, after.seq))
    bridged_steps = {s for s in steps if any(
        isinstance(r.record, Gap) and s[0] < r.record.next_seq <= s[1] for r, _ in used)}
    for first, final in c.missing_runs(lo, hi):
        previous, after = c.before(first), c.at_or_after(final + 1)
        if previous is not None and after is not None and lo <= previous.seq \
                and after.seq <= hi:
            steps.add((previous.seq, after.seq))
            bridged_steps.add((previous.seq, after.seq))
    changes = [CounterChange.of(s.record) for s, _ in used if isinstance(s.record, MeterChange)]
    gap_records = [CounterGap.of(s.record) for s, _ in used if isinstance(s.record, Gap)]
    kept = [c.rows[seq] for seq in sorted(c.rows) if lo <= seq <= hi]
    energy = build_history([_counter(r) for r in kept], rule, meter_changes=changes,
                           gaps=gap_records).period(start, end)
    bridged = tuple(BridgedStep(a, b, c.rows[b].timestamp - c.rows[a].timestamp, b - a - 1,
                                sum(1 for g in gap_records if a < g.next_seq <= b))
                    for a, b in sorted(bridged_steps))
    ambiguous = sum(1 for a, b in steps if build_history(
        [_counter(c.rows[a]), _counter(c.rows[b])], rule,
        meter_changes=[x for x in changes if a < x.next_seq <= b]).steps[0].ambiguous)
    all_gaps = [s for s, _ in stored if isinstance(s.record, Gap)]
    energy = replace(energy, reading_count=c.count(lo, hi),
                     gap_count=_meeting(all_gaps, start, end), bridged=bridged,
                     ambiguous_steps=ambiguous)
    leaves = [(device, r.position) for r in kept] + [(device, p) for _, p in used]
    return MeterFigure(point, device, meter, energy, tuple(r.signed() for r in kept),
                       tuple(s for s, _ in used), tuple(leaves), energy.bridged_seconds,
                       len(bridged))


def _meeting(gaps: Sequence[SignedRecord], start: int, end: int) -> int:
    """How many gap records' spans meet ``[start, end)`` (``PeriodEnergy.gap_count``)."""
    count = 0
    for signed in gaps:
        record: Any = signed.record
        if record.from_timestamp < end and record.to_timestamp >= start:
            count += 1
    return count
