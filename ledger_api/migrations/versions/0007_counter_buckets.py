"""Counter buckets (``counter_buckets``): per counter key (device, meter, quantity) and bucket
of 100 seqs (``seq // 100``), how many readings the ledger holds, so the recompute counts a
period's readings from about one row per 100 readings instead of an index entry per reading
(``ledger_api.recompute.buckets``). Backfilled from the readings already held, then kept by
triggers on ``readings``, in the database, so that every writer keeps them exact (ingest,
bulk loads, a retention purge's deletes):

- PostgreSQL: one PL/pgSQL function, statement-level ``AFTER INSERT``, ``AFTER DELETE`` and
  ``AFTER UPDATE`` triggers with transition tables (a ``COPY`` of 10,000 readings adds its
  buckets in one grouped upsert, a purge subtracts its rows in one grouped update), and
  ``AFTER TRUNCATE`` (empties the buckets);
- SQLite: row-level triggers (SQLite has no statement-level ones), one upsert per row; the
  update trigger fires only when a key column (device, meter, quantity, seq) is set.

A bucket whose count reaches 0 is deleted. The bucket of a seq in SQL: ``div(seq, 100)`` on
PostgreSQL (``NUMERIC``), the first 18 of the 20 zero-padded digits of ``Uint64``'s SQLite form
(``ledger_api.db.types``).

Revision ID: 0007_counter_buckets
Revises: 0006_reports
Create Date: 2026-12-01 10:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_counter_buckets"
down_revision = "0006_reports"
branch_labels = None
depends_on = None

#: The key of a bucket row, and of the readings grouped into one.
_KEY = ("device", "meter", "quantity")
#: ``seq // 100`` of a row ``{row}`` in SQL, per dialect (see the module docstring).
_BUCKET = {"postgresql": "div({row}.seq, 100)::bigint",
           "sqlite": "CAST(substr({row}.seq, 1, 18) AS INTEGER)"}

_PG_FUNCTION = """
CREATE FUNCTION counter_buckets_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        UPDATE counter_buckets AS b SET held = b.held - gone.n
        FROM (SELECT device, meter, quantity, div(seq, 100)::bigint AS bucket, count(*) AS n
              FROM removed GROUP BY 1, 2, 3, 4) AS gone
        WHERE b.device = gone.device AND b.meter = gone.meter AND b.quantity = gone.quantity
          AND b.bucket = gone.bucket;
        DELETE FROM counter_buckets AS b
        USING (SELECT DISTINCT device, meter, quantity, div(seq, 100)::bigint AS bucket
               FROM removed) AS gone
        WHERE b.device = gone.device AND b.meter = gone.meter AND b.quantity = gone.quantity
          AND b.bucket = gone.bucket AND b.held = 0;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO counter_buckets AS b (device, meter, quantity, bucket, held)
        SELECT device, meter, quantity, div(seq, 100)::bigint, count(*)
        FROM added GROUP BY 1, 2, 3, 4
        ON CONFLICT (device, meter, quantity, bucket)
        DO UPDATE SET held = b.held + EXCLUDED.held;
    END IF;
    IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM counter_buckets;
    END IF;
    RETURN NULL;
END
$$
"""
_PG_TRIGGERS = (
    "CREATE TRIGGER readings_count_insert AFTER INSERT ON readings REFERENCING NEW TABLE AS "
    "added FOR EACH STATEMENT EXECUTE FUNCTION counter_buckets_count()",
    "CREATE TRIGGER readings_count_delete AFTER DELETE ON readings REFERENCING OLD TABLE AS "
    "removed FOR EACH STATEMENT EXECUTE FUNCTION counter_buckets_count()",
    "CREATE TRIGGER readings_count_update AFTER UPDATE ON readings REFERENCING OLD TABLE AS "
    "removed NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION counter_buckets_count()",
    "CREATE TRIGGER readings_count_truncate AFTER TRUNCATE ON readings FOR EACH STATEMENT "
    "EXECUTE FUNCTION counter_buckets_count()",
)
_SQLITE_ADD = ("INSERT INTO counter_buckets (device, meter, quantity, bucket, held) "
               "VALUES (NEW.device, NEW.meter, NEW.quantity, "
               "CAST(substr(NEW.seq, 1, 18) AS INTEGER), 1) "
               "ON CONFLICT (device, meter, quantity, bucket) "
               "DO UPDATE SET held = held + 1;")
_SQLITE_OLD = ("device = OLD.device AND meter = OLD.meter AND quantity = OLD.quantity AND "
               "bucket = CAST(substr(OLD.seq, 1, 18) AS INTEGER)")
_SQLITE_SUBTRACT = (f"UPDATE counter_buckets SET held = held - 1 WHERE {_SQLITE_OLD}; "
                    f"DELETE FROM counter_buckets WHERE {_SQLITE_OLD} AND held = 0;")
_SQLITE_TRIGGERS = (
    f"CREATE TRIGGER readings_count_insert AFTER INSERT ON readings BEGIN {_SQLITE_ADD} END",
    f"CREATE TRIGGER readings_count_delete AFTER DELETE ON readings BEGIN {_SQLITE_SUBTRACT} "
    "END",
    "CREATE TRIGGER readings_count_update AFTER UPDATE OF device, meter, quantity, seq ON "
    f"readings BEGIN {_SQLITE_SUBTRACT} {_SQLITE_ADD} END",
)
_TRIGGERS = ("readings_count_insert", "readings_count_delete", "readings_count_update",
             "readings_count_truncate")


def upgrade() -> None:
    op.create_table(
        "counter_buckets",
        sa.Column("device", sa.LargeBinary(length=20), nullable=False),
        sa.Column("meter", sa.LargeBinary(length=32), nullable=False),
        sa.Column("quantity", sa.String(length=32), nullable=False),
        sa.Column("bucket", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("held", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("device", "meter", "quantity", "bucket"),
    )
    dialect = op.get_bind().dialect.name
    bucket = _BUCKET[dialect].format(row="readings")
    key = ", ".join(_KEY)
    op.execute(f"INSERT INTO counter_buckets ({key}, bucket, held) SELECT {key}, {bucket}, "
               f"count(*) FROM readings GROUP BY {key}, {bucket}")
    if dialect == "postgresql":
        op.execute(_PG_FUNCTION)
        for statement in _PG_TRIGGERS:
            op.execute(statement)
    else:
        for statement in _SQLITE_TRIGGERS:
            op.execute(statement)


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for name in _TRIGGERS if postgresql else _TRIGGERS[:3]:
        op.execute(f"DROP TRIGGER {name} ON readings" if postgresql else f"DROP TRIGGER {name}")
    if postgresql:
        op.execute("DROP FUNCTION counter_buckets_count()")
    op.drop_table("counter_buckets")
