"""The measured figures of counters for one period, from the few readings that decide them
(spec11 sections 1 and 5; docs/api.md, "Monitoring plan and recompute").

A **counter** here is the readings of one plan point's cumulative quantity signed by one
device of the plan's enterprise (two devices reporting one path are two counters). For a period
``[start, end)`` its energy is ``E(end) - E(start)`` (``accounting_rules.counters``, rule 5),
and ``E`` telescopes over increasing steps, so only these **sparse readings** are read:

1. the last reading at or before ``start`` (else the counter's first reading: ``E(start)`` is 0
   before it) and the last at or before ``end`` (``ix_readings_path_time``);
2. both readings of every *notable* step between them: a step whose value falls (a counter
   mark, ``ledger_api.ingest.marks``), the step holding a signed meter change's ``nextSeq`` or
   a gap record's ``nextSeq`` (marks, records and missing runs fetched for all the counters
   at once; records by ``ix_records_path_time``, neighbours by ``ix_readings_counter``);
3. both readings of every step holding seqs the ledger does not hold (``seq_gaps``), for the
   bridged steps and seconds.

4. the readings that prove the list complete (:mod:`.successors`): the successor run of each
   boundary reading and the meter's readings inside each falling step, in ``leaves`` (and
   what is not held yet in ``unproven``).

Between two consecutive sparse readings every real step rises and holds no meter change, so
``build_history`` over the sparse readings gives the energy, rollovers, meter changes and
unexplained decreases of the whole history exactly. What the sparse list cannot give comes
from SQL: the readings counted between the boundary readings (:func:`held_counts`: the
counter's buckets of 100 seqs, ``counter_buckets``, and two short ranges of
``ix_readings_counter``; :mod:`.buckets` says why),
the gap records whose span meets the period, and the bridged steps (those holding a seq not
held or a gap record) with their seconds. ``ambiguous_steps`` counts the steps read whole
(notable and bridged) whose length lets the counter wrap unseen; a long step that is neither
is not counted (a device polls on a fixed interval and a missed poll is a gap record).

The boundary readings (1) and the counts are read for up to :data:`_CHUNK` counters per
statement (a table of the counters' keys, :mod:`.params`, each row's lookup a correlated
subquery on the index), not per counter: at 1,000 meters that is about 220 statements
instead of about 3,200 (the month recompute, ``benchmarks/bench_recompute.py``).

Errors: ``accounting_rules`` :class:`~accounting_rules.errors.CounterError` for a history the
arithmetic refuses (an invalid meter change).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, select
from sqlalchemy.orm import Session

from accounting_rules.counters import (
    BridgedStep,
    CounterChange,
    CounterGap,
    CounterReading,
    PeriodEnergy,
    build_history,
)
from mrv_core.reading import Reading, SignedReading
from mrv_core.records import Gap, MeterChange, SignedRecord
from mrv_core.wire import decode_signed_record

from ..db.models import (
    CounterBucketRow,
    CounterMarkRow,
    LeafRow,
    ReadingRow,
    RecordRow,
    SeqGapRow,
)
from .buckets import plan_count
from .params import bind, keyed
from .plan import PlanPoint
from .successors import ReadAhead, Sparse, read_ahead, run_starts, witnesses

__all__ = ["MeterFigure", "counter_figure", "counter_figures", "held_counts"]


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
    #: What the ledger does not hold yet to prove the evidence complete (``.successors``):
    #: empty when ``leaves`` include every successor and fall witness.
    unproven: tuple[str, ...] = ()


#: The columns of a reading (ReadingRow's), selected without the ORM's per-row work.
_COLUMNS = (ReadingRow.device, ReadingRow.position, ReadingRow.meter, ReadingRow.meter_path,
            ReadingRow.seq, ReadingRow.timestamp, ReadingRow.quantity, ReadingRow.value,
            ReadingRow.salt, ReadingRow.signature)
# Statements built once, run with parameters (a recompute runs thousands of them).
_COUNTER = (ReadingRow.device == bindparam("device"), ReadingRow.meter == bindparam("meter"),
            ReadingRow.quantity == bindparam("quantity"))
_FIRST = select(*_COLUMNS).where(*_COUNTER).order_by(ReadingRow.seq.asc()).limit(1)
_BEFORE = (select(*_COLUMNS).where(*_COUNTER, ReadingRow.seq < bindparam("seq"))
           .order_by(ReadingRow.seq.desc()).limit(1))
_AT_OR_AFTER = (select(*_COLUMNS).where(*_COUNTER, ReadingRow.seq >= bindparam("seq"))
                .order_by(ReadingRow.seq.asc()).limit(1))

#: Counters per statement of :func:`_lasts_at` and :func:`_count` (a few thousand parameters;
#: SQLite takes at most 500 terms in a compound select).
_CHUNK = 250
@lru_cache(maxsize=16)
def _latest_statement(rows: int, postgresql: bool) -> Any:
    """:func:`_lasts_at`'s statement for ``rows`` counters (parameters ``keys*`` and ``t``)."""
    keys = keyed("keys", rows, "path", "device", "quantity", postgresql=postgresql)
    probe = ReadingRow.__table__.alias("probe")
    latest = select(probe.c.timestamp).where(
        probe.c.meter_path == keys.c.path, probe.c.timestamp <= bindparam("t"),
        probe.c.device == keys.c.device, probe.c.quantity == keys.c.quantity,
    ).order_by(probe.c.timestamp.desc()).limit(1).correlate(keys).scalar_subquery()
    return select(keys.c.i, *_COLUMNS).select_from(keys).join(ReadingRow, and_(
        ReadingRow.meter_path == keys.c.path, ReadingRow.timestamp == latest))


#: The columns of :func:`_count_statement`'s rows (a :class:`CountPlan` each).
_COUNT_KEYS = ("device", "meter", "quantity", "first_bucket", "last_bucket", "low_first",
               "low_last", "high_first", "high_last")


@lru_cache(maxsize=16)
def _count_statement(rows: int, postgresql: bool) -> Any:
    """:func:`held_counts`' statement for ``rows`` counters (parameters ``plans*``): per counter
    the sum of its buckets in range and the readings in each of its two seq ranges."""
    plans = keyed("plans", rows, *_COUNT_KEYS, postgresql=postgresql)
    buckets = select(func.coalesce(func.sum(CounterBucketRow.held), 0)).where(
        CounterBucketRow.device == plans.c.device, CounterBucketRow.meter == plans.c.meter,
        CounterBucketRow.quantity == plans.c.quantity,
        CounterBucketRow.bucket >= plans.c.first_bucket,
        CounterBucketRow.bucket <= plans.c.last_bucket).correlate(plans).scalar_subquery()

    def held(first: Any, last: Any) -> Any:
        return select(func.count()).select_from(ReadingRow).where(
            ReadingRow.device == plans.c.device, ReadingRow.meter == plans.c.meter,
            ReadingRow.quantity == plans.c.quantity, ReadingRow.seq >= first,
            ReadingRow.seq <= last).correlate(plans).scalar_subquery()

    return select(plans.c.i, buckets, held(plans.c.low_first, plans.c.low_last),
                  held(plans.c.high_first, plans.c.high_last))


@dataclass(frozen=True, slots=True)
class _Held:
    """A stored reading as selected (:data:`_COLUMNS`)."""

    device: bytes
    position: int
    meter: bytes
    meter_path: str
    seq: int
    timestamp: int
    quantity: str
    value: int
    salt: bytes
    signature: bytes

    def signed(self) -> SignedReading:
        return SignedReading(Reading(self.device, self.meter, self.seq, self.timestamp,
                                     self.quantity, self.value, self.salt), self.signature,
                             self.meter_path)

    def counter(self) -> CounterReading:
        return CounterReading(self.seq, self.timestamp, self.value)


@dataclass
class _Counter:
    """One counter's figure on its way: its key, boundaries, and the readings read."""

    point: PlanPoint
    device: bytes
    meter: bytes
    opening: _Held | None = None
    last: _Held | None = None
    rows: dict[int, _Held] = field(default_factory=dict)
    records: list[tuple[SignedRecord, int]] = field(default_factory=list)
    marks: list[int] = field(default_factory=list)
    missing: list[tuple[int, int]] = field(default_factory=list)
    count: int = 0

    @property
    def params(self) -> dict[str, Any]:
        return {"device": self.device, "meter": self.meter, "quantity": self.point.quantity}


def _one(session: Connection, statement: Any, c: _Counter, **params: Any) -> _Held | None:
    row = session.execute(statement, {**c.params, **params}).first()
    if row is None:
        return None
    held = _Held(*row)
    c.rows[held.seq] = held
    return held


# The last reading at or before t: its time by the path-time index (backwards from t, first
# match), then the readings of the path at that time (few: a meter's points read at once),
# the counter's of greatest seq picked in Python (one statement for up to 500 counters,
# the time probe correlated to a VALUES row). Ordering by (timestamp, seq), or filtering
# the outer rows by counter, lets a planner walk the counter index instead (measured).
# The meter is not named there: its path is (the meter id is the path's hash), and naming it
# let PostgreSQL combine the (device, meter) index with the path's and sort a month of
# readings (measured at 2.9 M rows).
def _lasts_at(session: Connection, counters: Sequence[_Counter], t: int
              ) -> list[_Held | None]:
    """Each counter's last reading at or before ``t`` (``None``: none), in ``counters``'
    order."""
    found: list[_Held | None] = [None] * len(counters)
    postgresql = session.dialect.name == "postgresql"
    for k in range(0, len(counters), _CHUNK):
        chunk = [(k + j, c.point.meter_path, c.device, c.point.quantity)
                 for j, c in enumerate(counters[k:k + _CHUNK])]
        for i, *row in session.execute(_latest_statement(len(chunk), postgresql), {
                **bind("keys", chunk, "path", "device", "quantity", postgresql=postgresql),
                "t": t}):
            held, c = _Held(*row), counters[i]
            if (held.device, held.meter, held.quantity) == (c.device, c.meter,
                                                            c.point.quantity):
                best = found[i]
                if best is None or held.seq > best.seq:
                    found[i] = held
    for c, last in zip(counters, found, strict=True):
        if last is not None:
            c.rows[last.seq] = last
    return found


def _bounds(session: Connection, counters: Sequence[_Counter], start: int, end: int) -> None:
    for c, last in zip(counters, _lasts_at(session, counters, end), strict=True):
        c.last = last
    live = [c for c in counters if c.last is not None]
    for c, opening in zip(live, _lasts_at(session, live, start), strict=True):
        c.opening = opening or _one(session, _FIRST, c)


def _prefetch(session: Connection, counters: Sequence[_Counter], start: int,
              end: int) -> None:
    """The marks, records and missing seq runs of every counter, a few queries for all (each
    counter keeps those of its own range)."""
    live = [c for c in counters if c.opening is not None and c.last is not None]
    if not live:
        return
    lo = min(c.opening.seq for c in live if c.opening is not None)
    hi = max(c.last.seq for c in live if c.last is not None)
    low = min([start] + [c.opening.timestamp for c in live if c.opening is not None])
    high = max([end] + [c.last.timestamp for c in live if c.last is not None])
    by_meter = {(c.device, c.meter): c for c in live}
    by_path: dict[tuple[bytes, str], list[_Counter]] = {}
    for c in live:
        by_path.setdefault((c.device, c.point.meter_path), []).append(c)
    devices = sorted({c.device for c in live})
    meters = sorted({c.meter for c in live})
    for i in range(0, len(meters), 500):
        chunk = meters[i:i + 500]  # (device, meter) lead both primary keys
        for device, meter, seq in session.execute(
                select(CounterMarkRow.device, CounterMarkRow.meter, CounterMarkRow.seq).where(
                    CounterMarkRow.device.in_(devices), CounterMarkRow.meter.in_(chunk),
                    CounterMarkRow.seq > lo, CounterMarkRow.seq <= hi)):
            if (device, meter) in by_meter:
                by_meter[(device, meter)].marks.append(seq)
        for device, meter, first, last in session.execute(
                select(SeqGapRow.device, SeqGapRow.meter, SeqGapRow.from_seq, SeqGapRow.to_seq)
                .where(SeqGapRow.device.in_(devices), SeqGapRow.meter.in_(chunk),
                       SeqGapRow.from_seq <= hi,
                       SeqGapRow.to_seq >= lo)):
            if (device, meter) in by_meter:
                by_meter[(device, meter)].missing.append((first, last))
    paths = sorted({c.point.meter_path for c in live})
    for i in range(0, len(paths), 500):
        for device, path, wire, position in session.execute(
                select(RecordRow.device, RecordRow.path, RecordRow.wire, RecordRow.position)
                .join(LeafRow, (LeafRow.device == RecordRow.device)
                      & (LeafRow.position == RecordRow.position))
                .where(RecordRow.path.in_(paths[i:i + 500]), RecordRow.time_from <= high,
                       RecordRow.kind.in_(("gap", "meter_change")), LeafRow.time_to >= low)):
            signed = decode_signed_record(json.loads(wire), "$")
            for c in by_path.get((device, path), ()):
                if getattr(signed.record, "quantity", None) == c.point.quantity:
                    c.records.append((signed, position))


def held_counts(session: Connection, ranges: Sequence[tuple[bytes, bytes, str, int, int]]
                ) -> list[int]:
    """How many readings of each counter key ``(device, meter, quantity)`` the ledger holds
    with seqs in ``[lo, hi]`` (each of ``ranges`` is ``(device, meter, quantity, lo, hi)``), in
    ``ranges``' order: its buckets' sums and two short index ranges each (:mod:`.buckets`),
    one statement for up to :data:`_CHUNK` of them, each sum and count a correlated subquery
    on ``counter_buckets``' key or ``ix_readings_counter`` (index-only). A join grouped by
    counter instead sorted every counted row on SQLite (a temporary B-tree for ``GROUP BY``;
    measured 5 times slower at 2.9 M rows, when every reading was counted)."""
    rows: list[tuple[Any, ...]] = []
    signs: list[tuple[int, int]] = []
    for i, (device, meter, quantity, lo, hi) in enumerate(ranges):
        plan = plan_count(lo, hi)
        (low_sign, *low), (high_sign, *high) = plan.ranges
        signs.append((low_sign, high_sign))
        rows.append((i, device, meter, quantity, plan.first_bucket, plan.last_bucket, *low,
                     *high))
    counts = [0] * len(rows)
    postgresql = session.dialect.name == "postgresql"
    for k in range(0, len(rows), _CHUNK):
        chunk = rows[k:k + _CHUNK]
        for i, whole, low, high in session.execute(
                _count_statement(len(chunk), postgresql),
                bind("plans", chunk, *_COUNT_KEYS, postgresql=postgresql)):
            low_sign, high_sign = signs[i]
            counts[i] = int(whole) + low_sign * low + high_sign * high
    return counts


def _count(session: Connection, counters: Sequence[_Counter]) -> None:
    """Each counter's readings from its opening to its last reading, seqs inclusive."""
    live: list[_Counter] = []
    ranges: list[tuple[bytes, bytes, str, int, int]] = []
    for c in counters:
        if c.opening is not None and c.last is not None:
            live.append(c)
            ranges.append((c.device, c.meter, c.point.quantity, c.opening.seq, c.last.seq))
    for c, n in zip(live, held_counts(session, ranges), strict=True):
        c.count = n


def counter_figures(session: Session, keys: Sequence[tuple[PlanPoint, bytes, bytes]],
                    start: int, end: int) -> list[MeterFigure]:
    """The :class:`MeterFigure` of each (plan point, device, meter id) counter for
    ``[start, end)``, in the order given (module docstring)."""
    counters = [_Counter(point, device, meter) for point, device, meter in keys]
    connection = session.connection()  # Core statements: no ORM work per query
    _bounds(connection, counters, start, end)
    _prefetch(connection, counters, start, end)
    _count(connection, counters)
    ahead = read_ahead(connection, [first for c in counters for first in run_starts(
        c.device, c.meter, [Sparse(r.seq, r.timestamp, r.value) for r in (c.opening, c.last)
                            if r is not None], start)])
    return [_figure(connection, c, start, end, ahead) for c in counters]


def counter_figure(session: Session, point: PlanPoint, device: bytes, meter: bytes,
                   start: int, end: int) -> MeterFigure:
    """The :class:`MeterFigure` of ``point``'s counter signed by ``device`` (``meter`` the id of
    its path) for ``[start, end)`` (module docstring)."""
    return counter_figures(session, [(point, device, meter)], start, end)[0]


def _figure(session: Connection, c: _Counter, start: int, end: int,
            ahead: ReadAhead | None = None) -> MeterFigure:
    point, device, meter, rule = c.point, c.device, c.meter, c.point.rule()
    opening, last = c.opening, c.last
    if last is None or opening is None:
        energy = build_history([], rule).period(start, end)
        gaps = [s for s, _ in _records_meeting(session, c, start, end)
                if isinstance(s.record, Gap)]
        energy = replace(energy, gap_count=_meeting(gaps, start, end))
        proof = witnesses(session, device=device, meter=meter, path=point.meter_path,
                          quantity=point.quantity, readings=(), change_seqs=(), start=start,
                          end=end, ahead=ahead)
        return MeterFigure(point, device, meter, energy, (), (), tuple(
            (device, p) for p in proof.positions), 0, 0, proof.missing)
    lo, hi = opening.seq, last.seq
    steps: set[tuple[int, int]] = set()  # (first seq, last seq) of the steps read whole
    for seq in c.marks:
        marked = _one(session, _AT_OR_AFTER, c, seq=seq)
        if marked is None or marked.seq != seq:
            continue  # a mark of another point of the meter
        previous = _one(session, _BEFORE, c, seq=seq)
        assert previous is not None, "a marked reading has a previous one"
        steps.add((previous.seq, seq))
    used = [(s, position) for s, position in c.records
            if lo < s.record.next_seq <= hi]  # type: ignore[union-attr]
    for signed, _ in used:
        after = _one(session, _AT_OR_AFTER, c, seq=signed.record.next_seq)  # type: ignore[union-attr]
        previous = _one(session, _BEFORE, c, seq=signed.record.next_seq)  # type: ignore[union-attr]
        assert after is not None and previous is not None
        steps.add((previous.seq, after.seq))
    bridged_steps = {s for s in steps if any(
        isinstance(r.record, Gap) and s[0] < r.record.next_seq <= s[1] for r, _ in used)}
    for first, final in c.missing:
        previous = _one(session, _BEFORE, c, seq=first)
        after = _one(session, _AT_OR_AFTER, c, seq=final + 1)
        if previous is not None and after is not None and lo <= previous.seq \
                and after.seq <= hi:
            steps.add((previous.seq, after.seq))
            bridged_steps.add((previous.seq, after.seq))
    changes = [CounterChange.of(s.record) for s, _ in used if isinstance(s.record, MeterChange)]
    gap_records = [CounterGap.of(s.record) for s, _ in used if isinstance(s.record, Gap)]
    kept = [c.rows[seq] for seq in sorted(c.rows) if lo <= seq <= hi]
    energy = build_history([r.counter() for r in kept], rule, meter_changes=changes,
                           gaps=gap_records).period(start, end)
    bridged = tuple(BridgedStep(a, b, c.rows[b].timestamp - c.rows[a].timestamp, b - a - 1,
                                sum(1 for g in gap_records if a < g.next_seq <= b))
                    for a, b in sorted(bridged_steps))
    ambiguous = sum(1 for a, b in steps if build_history(
        [c.rows[a].counter(), c.rows[b].counter()], rule,
        meter_changes=[x for x in changes if a < x.next_seq <= b]).steps[0].ambiguous)
    all_gaps = [s for s, _ in c.records if isinstance(s.record, Gap)]
    energy = replace(energy, reading_count=c.count, gap_count=_meeting(all_gaps, start, end),
                     bridged=bridged, ambiguous_steps=ambiguous)
    leaves = [(device, r.position) for r in kept] + [(device, p) for _, p in used]
    proof = witnesses(session, device=device, meter=meter, path=point.meter_path,
                      quantity=point.quantity,
                      readings=[Sparse(r.seq, r.timestamp, r.value) for r in kept],
                      change_seqs=[x.next_seq for x in changes], start=start, end=end,
                      ahead=ahead)
    leaves += [(device, p) for p in proof.positions if (device, p) not in leaves]
    return MeterFigure(point, device, meter, energy, tuple(r.signed() for r in kept),
                       tuple(s for s, _ in used), tuple(leaves), energy.bridged_seconds,
                       len(bridged), proof.missing)


def _records_meeting(session: Connection, c: _Counter, start: int, end: int
                     ) -> list[tuple[SignedRecord, int]]:
    """A counter without readings in range: its records meeting ``[start, end]``."""
    probe = _Counter(c.point, c.device, c.meter, opening=c.opening, last=c.last)
    probe.opening = probe.last = _Held(c.device, 0, c.meter, c.point.meter_path, 0, start,
                                       c.point.quantity, 0, bytes(32), bytes(65))
    probe.last = replace(probe.opening, timestamp=end)
    _prefetch(session, [probe], start, end)
    return probe.records


def _meeting(gaps: Sequence[SignedRecord], start: int, end: int) -> int:
    """How many gap records' spans meet ``[start, end)`` (``PeriodEnergy.gap_count``)."""
    count = 0
    for signed in gaps:
        record: Any = signed.record
        if record.from_timestamp < end and record.to_timestamp >= start:
            count += 1
    return count
