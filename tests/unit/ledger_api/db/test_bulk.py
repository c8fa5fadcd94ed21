"""Driver-level bulk inserts (ledger_api.db.bulk): exact integers at their limits and times
come back as inserted on both databases (a processor taken from the generic type instead of the
dialect's once sent int256 values to PostgreSQL as floats)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ledger_api.db.bulk import insert_rows
from ledger_api.db.models import LeafRow, ReadingRow
from mrv_core.codec import INT256_MAX, INT256_MIN, UINT64_MAX

LEAF = ("device", "position", "kind", "leaf", "time_from", "time_to", "batch_seq", "received_at",
        "lag_s")
READING = ("device", "position", "meter", "meter_path", "seq", "timestamp", "quantity", "value",
           "salt", "signature")


def test_extreme_values_come_back_exactly(ledger_engine: Engine) -> None:
    device, now = b"\x01" * 20, datetime(2026, 11, 30, 12, 0, 1, 123456, tzinfo=UTC)
    values = [INT256_MIN, -1, 0, 1, 2**63, INT256_MAX]
    seqs = [0, 1, 2**63 - 1, 2**63, UINT64_MAX - 1, UINT64_MAX]
    with Session(ledger_engine) as session, session.begin():
        connection = session.connection()
        insert_rows(connection, LeafRow.__table__, LEAF,  # type: ignore[arg-type]
                    [(device, i, "reading", bytes([i]) * 32, seqs[i], seqs[i], None, now, 0)
                     for i in range(6)])
        insert_rows(connection, ReadingRow.__table__, READING,  # type: ignore[arg-type]
                    [(device, i, b"\x02" * 32, "a/b/c/d/e", seqs[i], seqs[i],
                      "energy.active.import:Wh", values[i], b"\x03" * 32, b"\x04" * 65)
                     for i in range(6)])
    with Session(ledger_engine) as session:
        rows = session.execute(select(ReadingRow.seq, ReadingRow.value)
                               .order_by(ReadingRow.position)).all()
        times = session.scalars(select(LeafRow.received_at)).all()
    assert [tuple(r) for r in rows] == list(zip(seqs, values, strict=True))
    assert all(t.replace(tzinfo=UTC) == now for t in times)


def test_an_unknown_column_is_a_key_error(ledger_engine: Engine) -> None:
    with Session(ledger_engine) as session, session.begin(), pytest.raises(KeyError):
        insert_rows(session.connection(), LeafRow.__table__, ("nope",),  # type: ignore[arg-type]
                    [(1,)])
