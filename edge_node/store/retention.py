"""Retention: the only way anything leaves the edge store.

A leaf (a signed reading or record, with its salt and signature) is pruned only when **all**
of these hold (docs/edge.md, "Clock, rollover and disk budget"):

1. its batch is anchored **final** (outbox state ``final``);
2. the ledger API **acknowledged** it (its ordinal is at or below the ``leaves`` stream's
   acknowledged position) **and** its batch header (the batch's seq is at or below the
   ``batches`` stream's);
3. it was committed before ``cutoff`` (local Unix seconds: now minus ``keep_days``);
4. it is not the newest leaf: leaf ordinals continue from the highest one stored, and the
   uplink's cursor counts on them never being reused.

Without an uplink nothing is ever acknowledged, so nothing is ever pruned. Batch headers and
outbox rows (a few hundred bytes per batch) are kept: the history of what was anchored stays
with the device. Pruning is one transaction and logged (how many leaves, their ordinal range,
the cutoff). SQLite reuses the freed pages for new rows; the file shrinks only with ``VACUUM``.
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from sqlalchemy import and_, delete, func, select

from .models import LeafRow, OutboxRow, ReadingRow, RecordRow, UplinkAckRow
from .store import Store

__all__ = ["Pruned", "prune"]

_log = structlog.get_logger("edge_node.store.retention")


@dataclass(frozen=True, slots=True)
class Pruned:
    """What one prune removed: ``leaves`` count and their ordinal range (``None`` if none)."""

    leaves: int
    first: int | None
    last: int | None


def prune(store: Store, *, cutoff: int) -> Pruned:
    """Delete the leaves that satisfy every rule of the module docstring; return what went."""
    with store.write() as session:
        acked = dict(session.execute(select(UplinkAckRow.stream, UplinkAckRow.through)).all())
        leaves_acked, batches_acked = acked.get("leaves", -1), acked.get("batches", -1)
        newest = session.scalar(select(func.max(LeafRow.ordinal)))
        if newest is None or leaves_acked < 1 or batches_acked < 0:
            return Pruned(0, None, None)
        eligible = (
            select(LeafRow.ordinal)
            .join(OutboxRow, and_(OutboxRow.device == LeafRow.device,
                                  OutboxRow.batch_seq == LeafRow.batch_seq))
            .where(OutboxRow.state == "final",
                   LeafRow.ordinal <= leaves_acked,
                   LeafRow.batch_seq <= batches_acked,
                   LeafRow.committed_at < cutoff,
                   LeafRow.ordinal < newest))
        ordinals = list(session.scalars(eligible))
        if not ordinals:
            return Pruned(0, None, None)
        for start in range(0, len(ordinals), 500):
            chunk = ordinals[start:start + 500]
            session.execute(delete(ReadingRow).where(ReadingRow.ordinal.in_(chunk)))
            session.execute(delete(RecordRow).where(RecordRow.ordinal.in_(chunk)))
            session.execute(delete(LeafRow).where(LeafRow.ordinal.in_(chunk)))
    pruned = Pruned(len(ordinals), min(ordinals), max(ordinals))
    _log.warning("store_pruned", leaves=pruned.leaves, first=pruned.first, last=pruned.last,
                 cutoff=cutoff)
    return pruned
