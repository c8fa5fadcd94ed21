"""Reading the store back: readings, records and batches as frozen values.

Used by the uplink (through :mod:`edge_node.store.uplink`), the anchorer, ``mrv edge status``
and the tests. Every function runs in one read transaction of the given store.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from mrv_core.reading import Reading, SignedReading

from .items import StoredBatch, StoredReading, StoredRecord, unpack_registers
from .models import BatchRow, Flag, LeafRow, MeterRow, OutboxRow, ReadingRow, RecordRow
from .store import Store, disk_usage

__all__ = ["StoreCounts", "batch_leaves", "batches", "batches_between", "counts", "readings",
           "readings_between", "records", "records_between"]


def _reading_query() -> Select[ReadingRow, LeafRow, MeterRow]:
    return (select(ReadingRow, LeafRow, MeterRow)
            .join(LeafRow, LeafRow.ordinal == ReadingRow.ordinal)
            .join(MeterRow, MeterRow.id == ReadingRow.meter_pk))


def _stored_reading(r: ReadingRow, leaf: LeafRow, meter: MeterRow) -> StoredReading:
    reading = Reading(device=r.device, meter=meter.meter_id, seq=r.seq, timestamp=r.timestamp,
                      quantity=r.quantity, value=r.value, salt=r.salt)
    return StoredReading(ordinal=r.ordinal,
                         signed=SignedReading(reading, r.signature, meter.path),
                         point=r.point, raw_registers=unpack_registers(r.raw_registers),
                         leaf=leaf.leaf, flags=Flag(leaf.flags), counter_event=r.counter_event,
                         batch_seq=leaf.batch_seq)


def readings(store: Store, meter_path: str | None = None) -> list[StoredReading]:
    """Every reading (of one meter), in commit order."""
    query = _reading_query().order_by(ReadingRow.ordinal)
    if meter_path is not None:
        query = query.where(MeterRow.path == meter_path)
    with store.read() as session:
        return [_stored_reading(r, leaf, meter) for r, leaf, meter in session.execute(query)]


def readings_between(session: Session, after: int, limit: int) -> list[StoredReading]:
    """Readings with ordinal > ``after``, at most ``limit``, in order (inside a transaction)."""
    query = _reading_query().where(ReadingRow.ordinal > after).order_by(ReadingRow.ordinal)
    return [_stored_reading(r, leaf, meter)
            for r, leaf, meter in session.execute(query.limit(limit))]


def records_between(session: Session, after: int, limit: int) -> list[StoredRecord]:
    query = (select(RecordRow, LeafRow, MeterRow.path)
             .join(LeafRow, LeafRow.ordinal == RecordRow.ordinal)
             .outerjoin(MeterRow, MeterRow.id == RecordRow.meter_pk)
             .where(RecordRow.ordinal > after).order_by(RecordRow.ordinal).limit(limit))
    return [StoredRecord(ordinal=r.ordinal, kind=r.kind, leaf=leaf.leaf, signature=r.signature,
                         wire=r.wire, meter_path=path, timestamp=r.timestamp,
                         flags=Flag(leaf.flags), batch_seq=leaf.batch_seq)
            for r, leaf, path in session.execute(query)]


def records(store: Store) -> list[StoredRecord]:
    """Every record, in commit order."""
    with store.read() as session:
        return records_between(session, 0, 2**62)


def batch_leaves(session: Session, device: bytes, batch_seq: int) -> list[bytes]:
    """The leaf hashes of one batch, in commit order."""
    return list(session.scalars(select(LeafRow.leaf)
                                .where(LeafRow.device == device, LeafRow.batch_seq == batch_seq)
                                .order_by(LeafRow.ordinal)))


def _stored_batch(session: Session, row: BatchRow) -> StoredBatch:
    return StoredBatch(header=row.header(), signature=row.signature,
                       leaves=tuple(batch_leaves(session, row.device, row.batch_seq)),
                       state=row.state)


def batches(store: Store, *, after: int = -1, limit: int = 2**62) -> list[StoredBatch]:
    """The device's batches with batch_seq > ``after``, in order."""
    with store.read() as session:
        return batches_between(session, store.device, after, limit)


def batches_between(session: Session, device: bytes, after: int,
                    limit: int) -> list[StoredBatch]:
    rows: Sequence[BatchRow] = session.scalars(
        select(BatchRow).where(BatchRow.device == device, BatchRow.batch_seq > after)
        .order_by(BatchRow.batch_seq).limit(limit)).all()
    return [_stored_batch(session, row) for row in rows]


@dataclass(frozen=True)
class StoreCounts:
    """Totals for ``mrv edge status``: leaves by kind, leaves not yet batched, outbox rows by
    state, the last batch anchored final (its batch_seq and block time), the open batch's
    oldest commit time (local Unix seconds), the file's size in bytes, and the newest leaf's
    ordinal (0 before any: the uplink's backlog is counted from it)."""

    leaves: dict[str, int]
    unbatched: int
    outbox: dict[str, int]
    last_final: tuple[int, int] | None
    oldest_unbatched_at: int | None
    file_bytes: int
    newest_leaf: int


def counts(store: Store) -> StoreCounts:
    with store.read() as session:
        leaves = {str(kind): int(n) for kind, n in session.execute(
            select(LeafRow.kind, func.count()).group_by(LeafRow.kind))}
        unbatched, oldest = session.execute(
            select(func.count(), func.min(LeafRow.committed_at))
            .where(LeafRow.batch_seq.is_(None))).one()
        outbox = {str(state): int(n) for state, n in session.execute(
            select(OutboxRow.state, func.count()).group_by(OutboxRow.state))}
        last = session.execute(
            select(OutboxRow.batch_seq, OutboxRow.block_timestamp)
            .where(OutboxRow.state == "final").order_by(OutboxRow.batch_seq.desc()).limit(1)
        ).one_or_none()
        newest = session.scalar(select(func.max(LeafRow.ordinal))) or 0
    size = disk_usage(store.path)
    return StoreCounts(leaves=leaves, unbatched=int(unbatched), outbox=outbox,
                       last_final=None if last is None else (int(last[0]), int(last[1] or 0)),
                       oldest_unbatched_at=None if oldest is None else int(oldest),
                       file_bytes=size, newest_leaf=int(newest))
