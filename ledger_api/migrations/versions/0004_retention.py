"""Retention: the append-only audit of purges (``retention_purges``) and, per device stream,
the latest data time purged (``device_streams.purged_through``; NULL: nothing purged).

Revision ID: 0004_retention
Revises: 0003_access
Create Date: 2026-12-01 02:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import ledger_api.db.types

revision = "0004_retention"
down_revision = "0003_access"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "retention_purges",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("purged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("principal_id", sa.BigInteger(), nullable=True),
        sa.Column("enterprise", sa.LargeBinary(length=20), nullable=False),
        sa.Column("cutoff", ledger_api.db.types.Uint64(), nullable=False),
        sa.Column("retention_years", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("batches", sa.BigInteger(), nullable=False),
        sa.Column("leaves", sa.BigInteger(), nullable=False),
        sa.Column("readings", sa.BigInteger(), nullable=False),
        sa.Column("records", sa.BigInteger(), nullable=False),
        sa.Column("anchors", sa.BigInteger(), nullable=False),
        sa.Column("kept_batches", sa.BigInteger(), nullable=False),
        sa.Column("ranges", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("retention_purges", schema=None) as batch_op:
        batch_op.create_index("ix_retention_purges_enterprise", ["enterprise", "purged_at"],
                              unique=False)
    with op.batch_alter_table("device_streams", schema=None) as batch_op:
        batch_op.add_column(sa.Column("purged_through", ledger_api.db.types.Uint64(),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("device_streams", schema=None) as batch_op:
        batch_op.drop_column("purged_through")
    with op.batch_alter_table("retention_purges", schema=None) as batch_op:
        batch_op.drop_index("ix_retention_purges_enterprise")
    op.drop_table("retention_purges")
