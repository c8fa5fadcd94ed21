"""Recompute: the monitoring plan (``plan_points``), counter marks (``counter_marks``: the
readings of a cumulative quantity whose value is below their counter's previous held
reading's) and counter tops (``counter_tops``: each counter's highest held reading), per
``ledger_api.ingest.marks``, and the index of a counter's readings by seq
(``ix_readings_counter``: device, meter, quantity, seq) the recompute counts and steps by.
Marks and tops are backfilled from the readings already held
(window functions ``LAG`` and ``ROW_NUMBER``, on SQLite and PostgreSQL alike: the stored forms
of ``Int256`` and ``Uint64`` order as the numbers do).

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

#: The cumulative quantity codes when this revision was written (``mrv_core.quantities``): the
#: counters whose marks and tops are backfilled.
_COUNTERS = ("energy.active.export:Wh", "energy.active.import:Wh",
             "energy.reactive.export:varh", "energy.reactive.import:varh", "heat:kJ",
             "mass.fuel:g", "volume.gas:dm3", "volume.water:dm3")
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
    op.create_table(
        "counter_tops",
        sa.Column("device", sa.LargeBinary(length=20), nullable=False),
        sa.Column("meter", sa.LargeBinary(length=32), nullable=False),
        sa.Column("quantity", sa.String(length=32), nullable=False),
        sa.Column("seq", ledger_api.db.types.Uint64(), nullable=False),
        sa.Column("value", ledger_api.db.types.Int256(), nullable=False),
        sa.PrimaryKeyConstraint("device", "meter", "quantity"),
    )
    with op.batch_alter_table("readings", schema=None) as batch_op:
        batch_op.create_index("ix_readings_counter", ["device", "meter", "quantity", "seq"],
                              unique=False)
    # Backfill: copies of stored values and comparisons of them, no arithmetic (docs/api.md,
    # "Exact integers": what works in SQL on both databases).
    counters = ", ".join(f"'{code}'" for code in _COUNTERS)
    op.execute("INSERT INTO counter_marks (device, meter, seq) SELECT device, meter, seq FROM "
               "(SELECT device, meter, seq, value, LAG(value) OVER (PARTITION BY device, meter, "
               f"quantity ORDER BY seq) AS previous FROM readings WHERE quantity IN ({counters})"
               ") AS steps WHERE previous IS NOT NULL AND value < previous")
    op.execute("INSERT INTO counter_tops (device, meter, quantity, seq, value) SELECT device, "
               "meter, quantity, seq, value FROM (SELECT device, meter, quantity, seq, value, "
               "ROW_NUMBER() OVER (PARTITION BY device, meter, quantity ORDER BY seq DESC) AS "
               f"place FROM readings WHERE quantity IN ({counters})) AS ranked WHERE place = 1")


def downgrade() -> None:
    with op.batch_alter_table("readings", schema=None) as batch_op:
        batch_op.drop_index("ix_readings_counter")
    op.drop_table("counter_tops")
    op.drop_table("counter_marks")
    op.drop_table("plan_points")
