"""What the emission-summary task (``edge_node.summaries``) reads from and writes to the store.

Reads: one counter's readings (a meter path and a cumulative quantity) in a time window, with
the last reading at or before the window's start (the boundary reading the period arithmetic
needs), the first and last times of a counter (without scanning its history: the task asks every
minute), and a meter's gap and meter-change records from a
time on. Writes: the task's marks (``summaries`` table, :class:`~.models.SummaryRow`): one per
(scope, source, period) settled, signed or skipped for good, committed in the same transaction as
the signed summaries themselves, so a summary is never signed into the store twice and a restart
goes on after the last mark. Every function runs inside the caller's transaction
(``Store.read`` / ``Store.write``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, func, insert, select
from sqlalchemy.orm import Session

from accounting_rules.counters import CounterReading

from .items import StoredRecord
from .models import Flag, LeafRow, MeterQuantityRow, MeterRow, ReadingRow, RecordRow, SummaryRow

__all__ = [
    "OUTCOMES",
    "SummaryMark",
    "add_marks",
    "counter_first",
    "counter_lasts",
    "counter_readings",
    "marks",
    "meter_records",
    "pruned_since",
    "summary_cursor",
]

#: How a (scope, source, period) was settled: a summary was signed, or none ever can be (the
#: period starts before the methodology's first version; the version in force has no factor row
#: for the period, or no such source; retention pruned the readings it needs).
OUTCOMES = ("signed", "no_version", "no_factor", "no_source", "pruned")


@dataclass(frozen=True, slots=True)
class SummaryMark:
    """One settled (scope, source, period): see :class:`~.models.SummaryRow`."""

    scope_kind: int
    scope_path: str
    source: str
    granularity: str
    period_start: int
    period_end: int
    outcome: str
    ordinal: int | None = None
    methodology: str | None = None
    methodology_version: int | None = None


def _counter(meter_path: str, quantity: str) -> ColumnElement[bool]:
    return and_(MeterRow.path == meter_path, ReadingRow.quantity == quantity)


def counter_lasts(session: Session) -> dict[tuple[str, str], int]:
    """The timestamp of every counter's last reading by (meter path, quantity), as the signer
    keeps it in ``meter_quantities`` (one row per meter and quantity: no scan of readings)."""
    rows = session.execute(
        select(MeterRow.path, MeterQuantityRow.quantity, MeterQuantityRow.last_timestamp)
        .join(MeterRow, MeterRow.id == MeterQuantityRow.meter_pk))
    return {(path, quantity): last for path, quantity, last in rows}


def _latest(session: Session, meter_path: str, quantity: str, *, before: int | None = None,
            oldest: bool = False) -> int | None:
    """The timestamp of the counter's first reading, or of its last at or before ``before``
    (walking the (meter, timestamp) index from one end: no scan of the meter's history)."""
    query = (select(ReadingRow.timestamp).join(MeterRow, MeterRow.id == ReadingRow.meter_pk)
             .where(_counter(meter_path, quantity)))
    if before is not None:
        query = query.where(ReadingRow.timestamp <= before)
    order = ReadingRow.timestamp.asc() if oldest else ReadingRow.timestamp.desc()
    return session.scalar(query.order_by(order).limit(1))


def counter_first(session: Session, meter_path: str, quantity: str) -> int | None:
    """The timestamp of the counter's first reading, ``None`` before any."""
    return _latest(session, meter_path, quantity, oldest=True)


def pruned_since(session: Session, meter_path: str, quantity: str) -> int | None:
    """When retention pruned the meter's earliest readings (its first retained reading has a seq
    above 0: seqs start at 0 and grow with time), the time of the counter's first retained
    reading, before which no period can be computed any more; else ``None``."""
    first = session.execute(
        select(ReadingRow.seq).join(MeterRow, MeterRow.id == ReadingRow.meter_pk)
        .where(MeterRow.path == meter_path)
        .order_by(ReadingRow.timestamp.asc(), ReadingRow.seq.asc()).limit(1)).scalar()
    if first is None or first == 0:
        return None
    return counter_first(session, meter_path, quantity)


def counter_readings(session: Session, meter_path: str, quantity: str, since: int,
                     until: int) -> list[CounterReading]:
    """The counter's readings from the last one at or before ``since`` (or from ``since`` when
    there is none) to ``until`` inclusive, in seq order."""
    boundary = _latest(session, meter_path, quantity, before=since)
    low = since if boundary is None else boundary
    rows = session.execute(
        select(ReadingRow.seq, ReadingRow.timestamp, ReadingRow.value)
        .join(MeterRow, MeterRow.id == ReadingRow.meter_pk)
        .where(_counter(meter_path, quantity), ReadingRow.timestamp >= low,
               ReadingRow.timestamp <= until)
        .order_by(ReadingRow.seq))
    return [CounterReading(seq, timestamp, value) for seq, timestamp, value in rows]


def meter_records(session: Session, meter_path: str, kinds: Sequence[str],
                  since: int) -> list[StoredRecord]:
    """The meter's records of ``kinds`` whose (last) timestamp is at or after ``since``."""
    query = (select(RecordRow, LeafRow)
             .join(LeafRow, LeafRow.ordinal == RecordRow.ordinal)
             .join(MeterRow, MeterRow.id == RecordRow.meter_pk)
             .where(MeterRow.path == meter_path, RecordRow.kind.in_(kinds),
                    RecordRow.timestamp >= since)
             .order_by(RecordRow.ordinal))
    return [StoredRecord(ordinal=r.ordinal, kind=r.kind, leaf=leaf.leaf, signature=r.signature,
                         wire=r.wire, meter_path=meter_path, timestamp=r.timestamp,
                         flags=Flag(leaf.flags), batch_seq=leaf.batch_seq)
            for r, leaf in session.execute(query)]


def summary_cursor(session: Session, scope_kind: int, scope_path: str, source: str,
                   granularity: str) -> int | None:
    """The end of the last settled period of (scope, source, granularity); ``None`` before
    any."""
    end = session.scalar(
        select(func.max(SummaryRow.period_end))
        .where(SummaryRow.scope_kind == scope_kind, SummaryRow.scope_path == scope_path,
               SummaryRow.source == source, SummaryRow.granularity == granularity))
    return None if end is None else int(end)


def add_marks(session: Session, settled: Sequence[SummaryMark], *, now: int) -> None:
    """Insert marks; a (scope, source, period) settled before raises ``IntegrityError`` (and
    the caller's transaction, with any summary signed for it, is rolled back)."""
    if settled:
        session.execute(insert(SummaryRow), [
            {"scope_kind": m.scope_kind, "scope_path": m.scope_path, "source": m.source,
             "period_start": m.period_start, "period_end": m.period_end,
             "granularity": m.granularity, "outcome": m.outcome, "ordinal": m.ordinal,
             "methodology": m.methodology, "methodology_version": m.methodology_version,
             "settled_at": now} for m in settled])


def marks(session: Session) -> list[SummaryMark]:
    """Every mark, by scope, source, granularity and period."""
    rows = session.scalars(select(SummaryRow).order_by(
        SummaryRow.scope_kind, SummaryRow.scope_path, SummaryRow.source,
        SummaryRow.granularity, SummaryRow.period_start))
    return [SummaryMark(r.scope_kind, r.scope_path, r.source, r.granularity, r.period_start,
                        r.period_end, r.outcome, r.ordinal, r.methodology,
                        r.methodology_version) for r in rows]
