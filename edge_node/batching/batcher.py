"""The batcher: committed, unbatched leaves of the device become signed, closed batches.

A batch closes when it reaches ``max_leaves`` leaves (size), or when its oldest leaf was
committed ``max_age_s`` seconds ago (age), whichever comes first. Leaves (readings and records
alike) join batches in commit order. Closing a batch is one store transaction: the leaves get
their ``batch_seq``, the batch row (header and the device's EIP-712 ``Batch`` signature) and a
``pending`` outbox row are inserted together, so a crash leaves either all of it or none.

``batch_seq`` continues the store's own sequence (0 for the first batch). The chain enforces the
same gap-free sequence; the anchorer checks the two agree before sending anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import func, select, update

from mrv_core.batch import LEAF_COUNT_MAX, BatchHeader
from mrv_core.errors import ConfigError
from mrv_core.keys import DeviceKey
from mrv_core.merkle import MerkleTree

from .._internal.crashpoints import NEVER, CrashPoints
from ..errors import StoreMismatch
from ..store import Store
from ..store.models import BatchRow, LeafRow, OutboxRow

__all__ = ["Batcher", "BatchingSettings"]


@dataclass(frozen=True)
class BatchingSettings:
    """When a batch closes: at ``max_leaves`` leaves (1 .. 2**32 - 1, the header's uint32
    leafCount), or ``max_age_s`` seconds after its oldest leaf was committed (>= 0)."""

    max_leaves: int = 1000
    max_age_s: int = 300

    def __post_init__(self) -> None:
        if not 1 <= self.max_leaves <= LEAF_COUNT_MAX:
            raise ConfigError(f"max_leaves must be in [1, {LEAF_COUNT_MAX}], got "
                              f"{self.max_leaves}")
        if self.max_age_s < 0:
            raise ConfigError(f"max_age_s must be >= 0, got {self.max_age_s}")


class Batcher:
    """Closes the device's batches (see the module docstring)."""

    def __init__(self, store: Store, key: DeviceKey, *,
                 settings: BatchingSettings | None = None, crash: CrashPoints = NEVER) -> None:
        if key.address != store.device:
            raise StoreMismatch(f"the key is {key!r}, the store belongs to another device")
        self._store = store
        self._key = key
        self._settings = settings or BatchingSettings()
        self._crash = crash
        self._log: Any = structlog.get_logger("edge_node.batching")

    def close_due(self, *, now: int, force: bool = False) -> list[BatchHeader]:
        """Close every batch that is due at local Unix time ``now`` (with ``force``, also a
        last partial one: shutdown, tests); return their headers in order."""
        closed = []
        while (header := self._close_one(now, force)) is not None:
            closed.append(header)
        return closed

    def _close_one(self, now: int, force: bool) -> BatchHeader | None:
        device = self._store.device
        with self._store.write() as session:
            unbatched = (select(LeafRow.ordinal, LeafRow.committed_at)
                         .where(LeafRow.device == device, LeafRow.batch_seq.is_(None))
                         .order_by(LeafRow.ordinal))
            # Whether a batch is due, from two index lookups (the oldest leaf, and the
            # max_leaves-th), before any leaf is read: the node asks every second.
            oldest = session.execute(unbatched.limit(1)).first()
            if oldest is None:
                return None
            full = session.execute(unbatched.offset(self._settings.max_leaves - 1)
                                   .limit(1)).first() is not None
            old = now - oldest.committed_at >= self._settings.max_age_s
            if not (full or old or force):
                return None
            # The leaf column from the driver's own cursor, as plain tuples: a batch is up to
            # max_leaves rows, and SQLAlchemy result rows (even from exec_driver_sql) cost
            # about half as much again as the tree built from them (make bench section 7).
            rows = session.connection().exec_driver_sql(
                "SELECT ordinal, leaf, time_from, time_to FROM leaves "
                "WHERE device = ? AND batch_seq IS NULL ORDER BY ordinal LIMIT ?",
                (device, self._settings.max_leaves)).cursor.fetchall()
            leaves = [row[1] for row in rows]
            last_seq = session.scalar(select(func.max(BatchRow.batch_seq))
                                      .where(BatchRow.device == device))
            batch_seq = 0 if last_seq is None else int(last_seq) + 1
            tree = MerkleTree(leaves)
            header = BatchHeader(device=device, batch_seq=batch_seq, root=tree.root,
                                 leaf_count=tree.leaf_count,
                                 from_timestamp=min(row[2] for row in rows),
                                 to_timestamp=max(row[3] for row in rows))
            signature = self._key.sign_batch(header, self._store.domain)
            session.add(BatchRow(device=device, batch_seq=batch_seq, root=header.root,
                                 leaf_count=header.leaf_count,
                                 from_timestamp=header.from_timestamp,
                                 to_timestamp=header.to_timestamp, signature=signature,
                                 closed_at=now, state="closed"))
            session.flush()
            session.add(OutboxRow(device=device, batch_seq=batch_seq, state="pending",
                                  attempts=0, updated_at=now))
            session.execute(update(LeafRow)
                            .where(LeafRow.device == device, LeafRow.batch_seq.is_(None),
                                   LeafRow.ordinal <= rows[-1][0])
                            .values(batch_seq=batch_seq))
            self._crash.reached("batch-before-commit")
        self._log.info("batch_closed", batch_seq=batch_seq, leaves=header.leaf_count,
                       reason="size" if full else "age" if old else "forced")
        return header
