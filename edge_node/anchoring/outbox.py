"""The anchoring outbox in the store: one row per closed batch, pending -> sent -> final.

Every transition is its own committed transaction, written *before* the step it announces can
have an effect on chain: the transaction's nonce and hash are recorded as ``sent`` once signed
and before its bytes reach the node, so after any crash the anchorer knows what it may already
have sent. The rows are only a record; the anchorer decides from the chain (see
:mod:`edge_node.anchoring.anchorer`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update

from mrv_core.batch import BatchHeader

from ..store import Flag, Store
from ..store.models import BatchRow, LeafRow, OutboxRow

__all__ = ["FINAL", "PENDING", "SENT", "Outbox", "OutboxEntry"]

PENDING, SENT, FINAL = "pending", "sent", "final"
_ERROR_MAX = 500


@dataclass(frozen=True)
class OutboxEntry:
    """One outbox row as the anchorer reads it."""

    batch_seq: int
    state: str
    nonce: int | None
    tx_hash: bytes | None
    block_number: int | None
    attempts: int
    last_error: str | None


def _entry(row: OutboxRow) -> OutboxEntry:
    return OutboxEntry(batch_seq=row.batch_seq, state=row.state, nonce=row.nonce,
                       tx_hash=row.tx_hash, block_number=row.block_number,
                       attempts=row.attempts, last_error=row.last_error)


class Outbox:
    """The outbox rows of the store's device."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.device = store.device

    def entries(self, *, unfinished: bool = False, from_seq: int = 0) -> list[OutboxEntry]:
        """The rows from batch ``from_seq`` on (only those not final, if ``unfinished``), in
        batch_seq order."""
        query = select(OutboxRow).where(OutboxRow.device == self.device,
                                        OutboxRow.batch_seq >= from_seq)
        if unfinished:
            query = query.where(OutboxRow.state != FINAL)
        with self.store.read() as session:
            return [_entry(r) for r in session.scalars(query.order_by(OutboxRow.batch_seq))]

    def batch(self, batch_seq: int) -> tuple[BatchHeader, bytes]:
        """The header and the device's signature of batch ``batch_seq``."""
        with self.store.read() as session:
            row = session.get(BatchRow, (self.device, batch_seq))
            if row is None:
                raise LookupError(f"no batch {batch_seq} in the store")
            return row.header(), row.signature

    def _update(self, batch_seq: int, now: int, **values: object) -> None:
        with self.store.write() as session:
            row = session.get(OutboxRow, (self.device, batch_seq))
            if row is None:
                raise LookupError(f"no outbox row for batch {batch_seq}")
            for key, value in values.items():
                setattr(row, key, value)
            row.updated_at = now
            if values.get("state") == FINAL:
                session.execute(update(BatchRow).where(BatchRow.device == self.device,
                                                       BatchRow.batch_seq == batch_seq)
                                .values(state="anchored"))

    def attempt(self, batch_seq: int, attempts: int, now: int) -> None:
        """Count a send attempt (committed before the attempt)."""
        self._update(batch_seq, now, attempts=attempts)

    def signed(self, batch_seq: int, nonce: int | None, tx_hash: bytes, now: int) -> None:
        """The transaction is signed (or accepted by a relayer): ``sent`` with its nonce and
        hash, before it can be mined."""
        self._update(batch_seq, now, state=SENT, nonce=nonce, tx_hash=tx_hash,
                     block_number=None, last_error=None)

    def included(self, batch_seq: int, tx_hash: bytes, block_number: int, now: int) -> None:
        """The chain holds the batch, from ``tx_hash`` in ``block_number`` (not yet final)."""
        self._update(batch_seq, now, state=SENT, tx_hash=tx_hash, block_number=block_number,
                     last_error=None)

    def final(self, batch_seq: int, tx_hash: bytes, block_number: int, block_timestamp: int,
              now: int) -> None:
        self._update(batch_seq, now, state=FINAL, tx_hash=tx_hash, block_number=block_number,
                     block_timestamp=block_timestamp, last_error=None)

    def failed(self, batch_seq: int, error: str, now: int) -> None:
        self._update(batch_seq, now, last_error=error[:_ERROR_MAX])

    def reopen(self, batch_seq: int, reason: str, now: int) -> None:
        """The chain no longer holds a batch recorded as sent or final (a reorganisation):
        back to ``pending``; its old transaction is kept for the next check."""
        self._update(batch_seq, now, state=PENDING, block_number=None, block_timestamp=None,
                     last_error=reason[:_ERROR_MAX])

    def flag_leaves(self, batch_seq: int, flag: Flag) -> None:
        with self.store.write() as session:
            session.execute(update(LeafRow).where(LeafRow.device == self.device,
                                                  LeafRow.batch_seq == batch_seq)
                            .values(flags=LeafRow.flags.op("|")(int(flag))))
