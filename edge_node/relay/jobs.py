"""The relayer's own small SQLite outbox: one row per (device, batchSeq) it was asked to anchor.

A retried request finds its row and never pays twice; a restarted relayer finds its unfinished
rows and finishes them (:meth:`edge_node.relay.relayer.Relayer.resume`). The transaction is
recorded (``sent`` with nonce and hash) once signed and before its bytes reach the node, exactly
as the edge node's own outbox does. Same connection settings as the edge store (WAL,
``synchronous=FULL``); its own schema version list.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, LargeBinary, String, Text, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from mrv_core.batch import BatchHeader

from ..store.models import SignedHeaderColumns
from ..store.schema import connect_engine, migrate

__all__ = ["ACCEPTED", "FINAL", "SENT", "RelayJob", "RelayJobs"]

ACCEPTED, SENT, FINAL = "accepted", "sent", "final"


class _Base(DeclarativeBase):
    pass


class _JobRow(SignedHeaderColumns, _Base):
    __tablename__ = "relay_jobs"
    #: ``accepted`` -> ``sent`` (nonce, tx hash) -> ``final`` (block).
    state: Mapped[str] = mapped_column(String(16))
    nonce: Mapped[int | None]
    tx_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    block_number: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[int]


def _create_v1(connection: Connection) -> None:
    _Base.metadata.create_all(connection)


_MIGRATIONS: dict[int, Callable[[Connection], None]] = {1: _create_v1}


@dataclass(frozen=True)
class RelayJob:
    header: BatchHeader
    signature: bytes
    state: str
    tx_hash: bytes | None
    block_number: int | None


def _job(row: _JobRow) -> RelayJob:
    return RelayJob(header=row.header(), signature=row.signature, state=row.state,
                    tx_hash=row.tx_hash, block_number=row.block_number)


class RelayJobs:
    """The relayer's jobs in the SQLite file ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._engine = connect_engine(path)
        try:
            migrate(self._engine, path, _MIGRATIONS)
        except BaseException:
            self._engine.dispose()
            raise

    def close(self) -> None:
        self._engine.dispose()

    @contextmanager
    def _write(self) -> Iterator[Session]:
        with Session(self._engine, expire_on_commit=False) as session, session.begin():
            yield session

    def get(self, device: bytes, batch_seq: int) -> RelayJob | None:
        with self._write() as session:
            row = session.get(_JobRow, (device, batch_seq))
            return None if row is None else _job(row)

    def unfinished(self) -> list[RelayJob]:
        with self._write() as session:
            rows = session.scalars(select(_JobRow).where(_JobRow.state != FINAL)
                                   .order_by(_JobRow.device, _JobRow.batch_seq))
            return [_job(row) for row in rows]

    def accept(self, header: BatchHeader, signature: bytes) -> RelayJob:
        """The stored job for the header's (device, batchSeq), created ``accepted`` if new."""
        with self._write() as session:
            row = session.get(_JobRow, (header.device, header.batch_seq))
            if row is None:
                row = _JobRow(device=header.device, batch_seq=header.batch_seq, root=header.root,
                              leaf_count=header.leaf_count,
                              from_timestamp=header.from_timestamp,
                              to_timestamp=header.to_timestamp, signature=signature,
                              state=ACCEPTED, updated_at=int(time.time()))
                session.add(row)
            return _job(row)

    def update(self, device: bytes, batch_seq: int, **values: object) -> None:
        with self._write() as session:
            row = session.get(_JobRow, (device, batch_seq))
            if row is None:
                raise LookupError(f"no relay job for batch {batch_seq}")
            for key, value in values.items():
                setattr(row, key, value)
            row.updated_at = int(time.time())
