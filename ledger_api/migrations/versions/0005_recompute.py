"""Recompute: the monitoring plan (``plan_points``), counter marks (``counter_marks``: the
readings whose value is below the previous held reading's of their meter) and, per meter
stream, the value at its highest seq (``meter_streams.max_value``). Marks and values are
backfilled from the readings already held (window function ``LAG``, on SQLite and
PostgreSQL alike: the stored forms of ``Int256`` and ``Uint64`` order as the numbers do).

Revision ID: 0005_recompute
Revises: 0004_retention
Create Date: 2026-12-01 05:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import ledger_api.db.types

revision = "0005_recompute"
down_revision = "0004_retention"
branch_labels = None
depends_on = None

#: ISA-95 paths compare byte-wise on both databases (models.py, ``_Path``).
_PATH = sa.String(length=256).with_variant(sa.String(length=256, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "plan_points",
        sa.Column("enterprise", sa.LargeBinary(length=20), nullable=False),
        sa.Column("meter_path", _PATH, nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("quantity", sa.String(length=32), nullable=False),
        sa.Column("counter_modulus", ledger_api.db.types.Int256(), nullable=True),
        sa.Column("max_rate", sa.String(length=160), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("enterprise", "meter_path"),
    )
    op.create_table(
        "counter_marks",
        sa.Column("device", sa.LargeBinary(length=20), nullable=False),
        sa.Column("meter", sa.LargeBinary(length=32), nullable=False),
        sa.Column("seq", ledger_api.db.types.Uint64(), nullable=False),
        sa.PrimaryKeyConstraint("device", "meter", "seq"),
    )
    with op.batch_alter_table("meter_streams", schema=None) as batch_op:
        batch_op.add_column(sa.Column("max_value", ledger_api.db.types.Int256(),
                                      nullable=True))
    # Backfill: copies of stored values and comparisons of them, no arithmetic (docs/api.md,
    # "Exact integers": what works in SQL on both databases).
    op.execute("UPDATE meter_streams SET max_value = (SELECT r.value FROM readings r "
               "WHERE r.device = meter_streams.device AND r.meter = meter_streams.meter "
               "AND r.seq = meter_streams.max_seq)")
    op.execute("INSERT INTO counter_marks (device, meter, seq) SELECT device, meter, seq FROM "
               "(SELECT device, meter, seq, value, LAG(value) OVER (PARTITION BY device, meter "
               "ORDER BY seq) AS previous FROM readings) AS steps "
               "WHERE previous IS NOT NULL AND value < previous")


def downgrade() -> None:
    with op.batch_alter_table("meter_streams", schema=None) as batch_op:
        batch_op.drop_column("max_value")
    op.drop_table("counter_marks")
    op.drop_table("plan_points")
