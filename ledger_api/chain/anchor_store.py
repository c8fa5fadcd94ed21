"""The chain watcher's tables: what it read from the chain, stored; and the queries the
data-quality summary asks of them.

Writes (:func:`orphan_after`, :func:`store_anchors`, :func:`store_events`,
:func:`reconcile_batches`, :func:`save_cursor`) take a :class:`~sqlalchemy.orm.Session` inside
the caller's transaction and never commit: :class:`ledger_api.chain.watcher.ChainWatcher` applies
one poll in one transaction. Rows are never deleted: an event whose block left the chain keeps
its row with ``orphaned_at`` set (evidence), and the batch it anchored goes back to
``unanchored``.

Queries (:func:`anchors_without_data`, :func:`batches_without_anchor`, :func:`anchor_mismatches`)
return ORM rows, oldest first.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, tuple_, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from mrv_core.batch import BatchHeader

from ..db.models import AnchorRow, BatchRow, ChainEventRow, WatcherCursorRow
from ..errors import ApiConfigError
from .anchors import Anchor, AnchorState, BlockRef, batch_state

__all__ = [
    "CURSOR_NAME",
    "NOTHING_RECONCILED",
    "ChainEvent",
    "Reconciled",
    "anchor_mismatches",
    "anchors_without_data",
    "batches_without_anchor",
    "event_args_json",
    "load_cursor",
    "orphan_after",
    "reconcile_batches",
    "recorded_blocks",
    "save_cursor",
    "store_anchors",
    "store_events",
]

#: The cursor row's name in ``watcher_cursor``.
CURSOR_NAME = "anchors"
_OPEN = (AnchorState.UNANCHORED.value, AnchorState.ANCHORED.value)
_EventModel = type[AnchorRow] | type[ChainEventRow]
_EVENT_MODELS: tuple[_EventModel, ...] = (AnchorRow, ChainEventRow)
#: (block hash, log index) pairs per lookup query: 2 parameters each, well under SQLite's and
#: PostgreSQL's limits on bound parameters.
_KEYS_PER_QUERY = 500


@dataclass(frozen=True)
class ChainEvent:
    """An event of one of the other registries, as :func:`store_events` keeps it: the
    deployment's contract name and address (20 bytes), the event's name and its arguments as
    JSON text (:func:`event_args_json`), and where it was mined."""

    contract: str
    address: bytes
    event: str
    args: str
    tx_hash: bytes
    log_index: int
    block: BlockRef
    block_timestamp: int


@dataclass(frozen=True)
class Reconciled:
    """What :func:`reconcile_batches` changed: batch keys (device, batchSeq) per new state."""

    anchored: tuple[tuple[bytes, int], ...]
    final: tuple[tuple[bytes, int], ...]
    mismatch: tuple[tuple[bytes, int], ...]


#: A reconciliation that changed nothing.
NOTHING_RECONCILED = Reconciled((), (), ())


def event_args_json(args: Mapping[str, Any]) -> str:
    """Decoded event arguments as canonical JSON (sorted keys, no spaces): bytes as ``0x``
    lowercase hex, addresses as web3 gives them (EIP-55), integers as JSON numbers (exact,
    whatever their size), tuples and lists as arrays."""
    def plain(value: Any) -> Any:
        if isinstance(value, bytes | bytearray):
            return "0x" + bytes(value).hex()
        if isinstance(value, Mapping):
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        return value

    return json.dumps(plain(args), sort_keys=True, separators=(",", ":"))


# -- the cursor ----------------------------------------------------------------------------------

def cursor_row(session: Session, anchor_registry: bytes, name: str = CURSOR_NAME, *,
               for_update: bool = False) -> WatcherCursorRow | None:
    """The ``watcher_cursor`` row ``name`` (``None``: none yet), locked with ``for_update``.
    Raises :class:`ApiConfigError` when it follows another AnchorRegistry than
    ``anchor_registry`` (20 bytes): one ledger database serves one deployment."""
    query = select(WatcherCursorRow).where(WatcherCursorRow.name == name)
    row = session.scalar(query.with_for_update() if for_update else query)
    if row is not None and row.anchor_registry != anchor_registry:
        raise ApiConfigError(f"this database follows AnchorRegistry 0x{row.anchor_registry.hex()}"
                             f", the deployment's is 0x{anchor_registry.hex()}: one ledger "
                             "database serves one deployment")
    return row


def write_cursor_row(session: Session, anchor_registry: bytes, name: str,
                     block: tuple[int, bytes, int | None] | None, now: datetime) -> None:
    """Set the ``watcher_cursor`` row ``name`` to ``block`` (number, hash, timestamp or
    ``None``); ``None`` removes it."""
    row = session.get(WatcherCursorRow, name)
    if block is None:
        if row is not None:
            session.delete(row)
        return
    number, block_hash, timestamp = block
    if row is None:
        session.add(WatcherCursorRow(name=name, anchor_registry=anchor_registry,
                                     block_number=number, block_hash=block_hash,
                                     block_timestamp=timestamp, updated_at=now))
        return
    row.block_number, row.block_hash, row.block_timestamp = number, block_hash, timestamp
    row.updated_at = now


def load_cursor(session: Session, anchor_registry: bytes, *,
                for_update: bool = False) -> BlockRef | None:
    """The last block the watcher processed (``None``: none yet); raises as
    :func:`cursor_row`."""
    row = cursor_row(session, anchor_registry, for_update=for_update)
    return None if row is None else BlockRef(row.block_number, row.block_hash)


def save_cursor(session: Session, anchor_registry: bytes, cursor: BlockRef | None,
                now: datetime) -> None:
    """Set the cursor (``None`` removes it: read again from the deployment block)."""
    write_cursor_row(session, anchor_registry, CURSOR_NAME,
                     None if cursor is None else (cursor.number, cursor.hash, None), now)


# -- reorganisations -----------------------------------------------------------------------------

def recorded_blocks(session: Session, through: int) -> list[BlockRef]:
    """The distinct blocks (number, hash) of the events on the chain as last seen, up to block
    ``through``: the watcher's candidates for :func:`~ledger_api.chain.anchors.fork_point`."""
    found: set[BlockRef] = set()
    for model in _EVENT_MODELS:
        rows = session.execute(select(model.block_number, model.block_hash).distinct()
                               .where(model.orphaned_at.is_(None),
                                      model.block_number <= through))
        found.update(BlockRef(int(n), bytes(h)) for n, h in rows)
    return sorted(found, key=lambda b: b.number)


def orphan_after(session: Session, fork: BlockRef | None, now: datetime) -> int:
    """Mark orphaned every event above ``fork`` (or at its height in another block; every
    event when ``fork`` is ``None``), and put the batches their anchors marked back to
    ``unanchored``. Returns the number of event rows orphaned (anchors and others)."""
    orphaned = 0
    batch_keys: set[tuple[bytes, int]] = set()
    for model in _EVENT_MODELS:
        where: list[ColumnElement[bool]] = [model.orphaned_at.is_(None)]
        if fork is not None:
            where.append(or_(model.block_number > fork.number,
                             and_(model.block_number == fork.number,
                                  model.block_hash != fork.hash)))
        rows: list[Any] = list(session.scalars(select(model).where(*where)))
        for row in rows:
            row.orphaned_at = now
            if isinstance(row, AnchorRow):
                batch_keys.add((row.device, row.batch_seq))
        orphaned += len(rows)
    for device, batch_seq in batch_keys:
        session.execute(update(BatchRow)
                        .where(BatchRow.device == device, BatchRow.batch_seq == batch_seq)
                        .values(anchor_state=AnchorState.UNANCHORED.value))
    session.flush()
    return orphaned


# -- new events ----------------------------------------------------------------------------------

def _store(session: Session, model: _EventModel, rows: Sequence[Any]) -> int:
    """Add the new ``rows`` of ``model`` unless one is held under the same (block hash, log
    index); a held one orphaned by a reorganisation, now back in the very same block, is
    un-orphaned. Returns the number of rows added or brought back."""
    held: dict[tuple[bytes, int], Any] = {}
    keys = [(row.block_hash, row.log_index) for row in rows]
    for at in range(0, len(keys), _KEYS_PER_QUERY):
        found: Iterable[Any] = session.scalars(select(model).where(
            tuple_(model.block_hash, model.log_index).in_(keys[at:at + _KEYS_PER_QUERY])))
        for old in found:
            held[(old.block_hash, old.log_index)] = old
    changed = 0
    for row, key in zip(rows, keys, strict=True):
        old = held.get(key)
        if old is None:
            session.add(row)
            held[key] = row
            changed += 1
        elif old.orphaned_at is not None:
            old.orphaned_at = None
            changed += 1
    session.flush()
    return changed


def store_anchors(session: Session, anchors: Iterable[Anchor], now: datetime) -> int:
    """Store new ``BatchAnchored`` events (:func:`_store`: one held already is not stored
    twice, an orphaned one back in its very block is un-orphaned). Returns the number of rows
    added or brought back."""
    return _store(session, AnchorRow, [AnchorRow(
        device=a.header.device, batch_seq=a.header.batch_seq, root=a.header.root,
        leaf_count=a.header.leaf_count, from_timestamp=a.header.from_timestamp,
        to_timestamp=a.header.to_timestamp, tx_hash=a.tx_hash, log_index=a.log_index,
        block_number=a.block.number, block_hash=a.block.hash,
        block_timestamp=a.block_timestamp, seen_at=now) for a in anchors])


def store_events(session: Session, events: Iterable[ChainEvent], now: datetime) -> int:
    """Store the other registries' events as :func:`store_anchors` stores anchors."""
    return _store(session, ChainEventRow, [ChainEventRow(
        contract=e.contract, address=e.address, event=e.event, args=e.args,
        tx_hash=e.tx_hash, log_index=e.log_index, block_number=e.block.number,
        block_hash=e.block.hash, block_timestamp=e.block_timestamp, seen_at=now)
        for e in events])


def reconcile_batches(session: Session, head: int, confirmations: int) -> Reconciled:
    """Bring ``batches.anchor_state`` up to date for every batch still ``unanchored`` or
    ``anchored`` that has an anchor on the chain, with the chain's ``head`` block number
    (:func:`~ledger_api.chain.anchors.batch_state`). ``final`` and ``mismatch`` change only
    when a reorganisation orphans their anchor (:func:`orphan_after`)."""
    rows = session.execute(
        select(BatchRow, AnchorRow)
        .join(AnchorRow, and_(AnchorRow.device == BatchRow.device,
                              AnchorRow.batch_seq == BatchRow.batch_seq))
        .where(AnchorRow.orphaned_at.is_(None), BatchRow.anchor_state.in_(_OPEN))
        .order_by(BatchRow.device, BatchRow.batch_seq, AnchorRow.block_number,
                  AnchorRow.log_index)).all()
    anchors: dict[tuple[bytes, int], tuple[BatchRow, list[tuple[BatchHeader, int]]]] = {}
    for batch, anchor in rows:
        anchors.setdefault((batch.device, batch.batch_seq), (batch, []))[1].append(
            (anchor.header(), anchor.block_number))
    changed: dict[AnchorState, list[tuple[bytes, int]]] = {s: [] for s in AnchorState}
    for key, (batch, found) in anchors.items():
        state = batch_state(batch.header(), found, head, confirmations)
        if state.value != batch.anchor_state:
            batch.anchor_state = state.value
            changed[state].append(key)
    session.flush()
    return Reconciled(tuple(changed[AnchorState.ANCHORED]), tuple(changed[AnchorState.FINAL]),
                      tuple(changed[AnchorState.MISMATCH]))


# -- the data-quality queries --------------------------------------------------------------------

def anchors_without_data(session: Session, *, now: datetime,
                         deadline_s: int) -> list[AnchorRow]:
    """Anchors on the chain of a (device, batchSeq) the ledger holds no header for, mined more
    than ``deadline_s`` seconds before ``now`` (block time): data anchored that never arrived.
    Oldest first."""
    cutoff = max(0, int(now.timestamp()) - deadline_s)
    held = select(BatchRow.device).where(BatchRow.device == AnchorRow.device,
                                         BatchRow.batch_seq == AnchorRow.batch_seq)
    return list(session.scalars(
        select(AnchorRow).where(AnchorRow.orphaned_at.is_(None),
                                AnchorRow.block_timestamp < cutoff, ~held.exists())
        .order_by(AnchorRow.block_number, AnchorRow.log_index)))


def batches_without_anchor(session: Session, *, now: datetime,
                           deadline_s: int) -> list[BatchRow]:
    """Batch headers still ``unanchored``, received more than ``deadline_s`` seconds before
    ``now``: data whose anchor never appeared (a leaked key can sign readings, but the
    AnchorRegistry refuses its anchors once revoked). Oldest first."""
    cutoff = (now - timedelta(seconds=deadline_s)).astimezone(UTC)
    return list(session.scalars(
        select(BatchRow).where(BatchRow.anchor_state == AnchorState.UNANCHORED.value,
                               BatchRow.received_at < cutoff)
        .order_by(BatchRow.received_at, BatchRow.device, BatchRow.batch_seq)))


def anchor_mismatches(session: Session) -> list[tuple[BatchRow, AnchorRow]]:
    """Batches whose anchor on the chain carries another header than the one the ledger holds
    (root, leaf count or time span), with that anchor: evidence of two batch headers signed
    under one batchSeq."""
    rows = session.execute(
        select(BatchRow, AnchorRow)
        .join(AnchorRow, and_(AnchorRow.device == BatchRow.device,
                              AnchorRow.batch_seq == BatchRow.batch_seq))
        .where(AnchorRow.orphaned_at.is_(None),
               or_(AnchorRow.root != BatchRow.root, AnchorRow.leaf_count != BatchRow.leaf_count,
                   AnchorRow.from_timestamp != BatchRow.from_timestamp,
                   AnchorRow.to_timestamp != BatchRow.to_timestamp))
        .order_by(AnchorRow.block_number, AnchorRow.log_index)).all()
    return [(batch, anchor) for batch, anchor in rows]
