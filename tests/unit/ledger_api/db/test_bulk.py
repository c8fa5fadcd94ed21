"""Driver-level bulk inserts (ledger_api.db.bulk): exact integers at their limits, times, and
text and bytes that COPY's text format must escape come back as inserted on both databases (a
processor taken from the generic type instead of the dialect's once sent int256 values to
PostgreSQL as floats); a duplicate key fails as SQLAlchemy's IntegrityError on both (PostgreSQL
inserts by COPY, SQLite by executemany)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
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


#: Text that COPY's text format escapes or could misread: separators, escapes, its NULL marker.
AWKWARD_TEXT = ["a\tb", "line\nbreak", "cr\rlf", "back\\slash", "\\N", "\\.", "N",
                "ünïcödé/计量/🙂", " lead and trail ", ""]


def test_awkward_text_and_every_byte_value_come_back_exactly(ledger_engine: Engine) -> None:
    device = b"\x05" * 20
    salts = [bytes(range(i, i + 32)) for i in range(0, 225, 32)] + [b"\\\t\n\r" * 8]
    rows = [(device, i, b"\x02" * 32, AWKWARD_TEXT[i % len(AWKWARD_TEXT)], i, i,
             "energy.active.import:Wh", i, salts[i % len(salts)], bytes([i]) * 65)
            for i in range(max(len(AWKWARD_TEXT), len(salts)))]
    with Session(ledger_engine) as session, session.begin():
        connection = session.connection()
        insert_rows(connection, LeafRow.__table__, LEAF,  # type: ignore[arg-type]
                    [(device, i, "reading", bytes([i]) * 32, i, i, None, datetime.now(UTC), 0)
                     for i in range(len(rows))])
        insert_rows(connection, ReadingRow.__table__, READING, rows)  # type: ignore[arg-type]
    with Session(ledger_engine) as session:
        stored = session.execute(select(ReadingRow.meter_path, ReadingRow.salt,
                                        ReadingRow.signature)
                                 .order_by(ReadingRow.position)).all()
    assert [tuple(r) for r in stored] == [(r[3], r[8], r[9]) for r in rows]


def test_a_duplicate_key_is_an_integrity_error_and_writes_nothing(
        ledger_engine: Engine) -> None:
    device, now = b"\x06" * 20, datetime.now(UTC)
    leaf = (device, 7, "reading", b"\x01" * 32, 1, 1, None, now, 0)
    with Session(ledger_engine) as session, session.begin():
        insert_rows(session.connection(), LeafRow.__table__, LEAF,  # type: ignore[arg-type]
                    [leaf])
    with Session(ledger_engine) as session, pytest.raises(IntegrityError), session.begin():
        insert_rows(session.connection(), LeafRow.__table__, LEAF,  # type: ignore[arg-type]
                    [(device, 8, *leaf[2:]), leaf])
    with Session(ledger_engine) as session:
        assert session.scalars(select(LeafRow.position)).all() == [7]
