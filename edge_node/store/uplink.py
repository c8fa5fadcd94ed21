"""What the uplink reads from the store: unacknowledged items in order, and the acknowledgements.

Two ordered streams: ``leaves`` (readings and records, by leaf ordinal, i.e. commit order) and
``batches`` (signed batch headers with their leaf hashes, by batch_seq). The ledger API
acknowledges a prefix of each stream; the store keeps, per stream, the last position
acknowledged (``uplink_acks``). The uplink may send ahead of the acknowledgements
(``items_after`` any cursor it likes), and delivery is at-least-once: on restart it starts again
after :meth:`UplinkSource.acknowledged_through`.
"""

from __future__ import annotations

import time
from typing import Literal, Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..errors import StoreError
from .items import StoredBatch, StoredReading, StoredRecord
from .models import BatchRow, LeafRow, UplinkAckRow
from .queries import batches_between, readings_between, records_between
from .store import Store

__all__ = ["STREAMS", "StoreUplink", "Stream", "UplinkItem", "UplinkSource", "position"]

Stream = Literal["leaves", "batches"]
STREAMS: tuple[Stream, ...] = ("leaves", "batches")
UplinkItem = StoredReading | StoredRecord | StoredBatch


def position(item: UplinkItem) -> int:
    """An item's place in its stream: a leaf's ordinal, a batch's batch_seq."""
    return item.header.batch_seq if isinstance(item, StoredBatch) else item.ordinal


class UplinkSource(Protocol):
    """The store as the uplink sees it."""

    def acknowledged_through(self, stream: Stream) -> int:
        """The last position the ledger API acknowledged (-1 before any; leaves start at 1)."""
        ...

    def items_after(self, stream: Stream, cursor: int, limit: int) -> list[UplinkItem]:
        """Up to ``limit`` items with position > ``cursor``, in stream order."""
        ...

    def acknowledge(self, stream: Stream, through: int) -> None:
        """Record that everything up to ``through`` was acknowledged."""
        ...


class StoreUplink:
    """:class:`UplinkSource` over a :class:`Store`."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def acknowledged_through(self, stream: Stream) -> int:
        _check_stream(stream)
        with self._store.read() as session:
            row = session.get(UplinkAckRow, stream)
            return -1 if row is None else row.through

    def items_after(self, stream: Stream, cursor: int, limit: int) -> list[UplinkItem]:
        _check_stream(stream)
        if limit < 1:
            raise StoreError(f"limit must be >= 1, got {limit}")
        with self._store.read() as session:
            if stream == "batches":
                return list(batches_between(session, self._store.device, cursor, limit))
            merged: list[UplinkItem] = [*readings_between(session, cursor, limit),
                                        *records_between(session, cursor, limit)]
        merged.sort(key=position)
        return merged[:limit]

    def head(self, stream: Stream) -> tuple[UplinkItem, int] | None:
        """The first item not yet acknowledged and when it entered the store (a leaf's commit
        time, a batch's closing time: local Unix seconds), or ``None`` when nothing waits.
        Used by the uplink's health check (``edge_node.uplink.health``)."""
        items = self.items_after(stream, self.acknowledged_through(stream), 1)
        if not items:
            return None
        item = items[0]
        with self._store.read() as session:
            at = session.scalar(select(BatchRow.closed_at).where(
                BatchRow.device == self._store.device,
                BatchRow.batch_seq == position(item))) if stream == "batches" else \
                session.scalar(select(LeafRow.committed_at).where(
                    LeafRow.ordinal == position(item)))
        return item, int(at or 0)

    def last_position(self, stream: Stream) -> int:
        """The last position of the stream (-1 when it is empty)."""
        _check_stream(stream)
        with self._store.read() as session:
            return _last(session, stream)

    def acknowledge(self, stream: Stream, through: int) -> None:
        """Raises :class:`StoreError` when ``through`` moves back or past the last item."""
        _check_stream(stream)
        with self._store.write() as session:
            last = _last(session, stream)
            row = session.get(UplinkAckRow, stream)
            current = -1 if row is None else row.through
            if not current <= through <= last:
                raise StoreError(f"acknowledge {stream} through {through}: expected a position "
                                 f"in [{current}, {last}] (acknowledged so far, last stored)")
            if row is None:
                session.add(UplinkAckRow(stream=stream, through=through,
                                         acknowledged_at=int(time.time())))
            else:
                row.through, row.acknowledged_at = through, int(time.time())


def _last(session: Session, stream: Stream) -> int:
    column = BatchRow.batch_seq if stream == "batches" else LeafRow.ordinal
    last = session.scalar(select(func.max(column)))
    return -1 if last is None else int(last)


def _check_stream(stream: str) -> None:
    if stream not in STREAMS:
        raise StoreError(f"unknown uplink stream {stream!r}: expected one of {', '.join(STREAMS)}")
