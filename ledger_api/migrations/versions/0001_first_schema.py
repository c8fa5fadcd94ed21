"""The ledger's first schema: device streams, leaves, readings, records, batches, seq gaps,
conflicts and rejections.

Revision ID: 0001
Revises:
Create Date: 2026-11-30 22:47:41.231206
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import ledger_api.db.types

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

#: ISA-95 paths compare byte-wise on both databases (models.py, ``_Path``).
_PATH = sa.String(length=256).with_variant(sa.String(length=256, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "batches",
        sa.Column("device", sa.LargeBinary(length=20), nullable=False),
        sa.Column("batch_seq", ledger_api.db.types.Uint64(), nullable=False),
        sa.Column("root", sa.LargeBinary(length=32), nullable=False),
        sa.Column("leaf_count", sa.BigInteger(), nullable=False),
        sa.Column("from_timestamp", ledger_api.db.types.Uint64(), nullable=False),
        sa.Column("to_timestamp", ledger_api.db.types.Uint64(), nullable=False),
        sa.Column("signature", sa.LargeBinary(length=65), nullable=False),
        sa.Column("first_position", sa.BigInteger(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("device", "batch_seq"),
    )
    op.create_table(
        "conflicts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("device", sa.LargeBinary(length=20), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("identity", sa.String(length=512), nullable=False),
        sa.Column("held_id", sa.LargeBinary(length=32), nullable=False),
        sa.Column("offered_id", sa.LargeBinary(length=32), nullable=False),
        sa.Column("offered", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("conflicts", schema=None) as batch_op:
        batch_op.create_index("ix_conflicts_device", ["device", "received_at"], unique=False)

    op.create_table(
        "device_streams",
        sa.Column("device", sa.LargeBinary(length=20), nullable=False),
        sa.Column("next_position", sa.BigInteger(), nullable=False),
        sa.Column("batched_through", sa.BigInteger(), nullable=False),
        sa.Column("next_batch_seq", ledger_api.db.types.Uint64(), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("device"),
    )
    op.create_table(
        "leaves",
        sa.Column("device", sa.LargeBinary(length=20), nullable=False),
        sa.Column("position", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("leaf", sa.LargeBinary(length=32), nullable=False),
        sa.Column("time_from", ledger_api.db.types.Uint64(), nullable=False),
        sa.Column("time_to", ledger_api.db.types.Uint64(), nullable=False),
        sa.Column("batch_seq", ledger_api.db.types.Uint64(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lag_s", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("device", "position"),
    )
    op.create_table(
        "meter_streams",
        sa.Column("device", sa.LargeBinary(length=20), nullable=False),
        sa.Column("meter", sa.LargeBinary(length=32), nullable=False),
        sa.Column("meter_path", _PATH, nullable=False),
        sa.Column("max_seq", ledger_api.db.types.Uint64(), nullable=False),
        sa.PrimaryKeyConstraint("device", "meter"),
    )
    op.create_table(
        "rejections",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("device", sa.LargeBinary(length=20), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("item_id", sa.LargeBinary(length=32), nullable=False),
        sa.Column("check", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("offered", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("device", "item_id", name="uq_rejections_item"),
    )
    op.create_table(
        "seq_gaps",
        sa.Column("device", sa.LargeBinary(length=20), nullable=False),
        sa.Column("meter", sa.LargeBinary(length=32), nullable=False),
        sa.Column("from_seq", ledger_api.db.types.Uint64(), nullable=False),
        sa.Column("to_seq", ledger_api.db.types.Uint64(), nullable=False),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("device", "meter", "from_seq"),
    )
    op.create_table(
        "readings",
        sa.Column("device", sa.LargeBinary(length=20), nullable=False),
        sa.Column("position", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("meter", sa.LargeBinary(length=32), nullable=False),
        sa.Column("meter_path", _PATH, nullable=False),
        sa.Column("seq", ledger_api.db.types.Uint64(), nullable=False),
        sa.Column("timestamp", ledger_api.db.types.Uint64(), nullable=False),
        sa.Column("quantity", sa.String(length=32), nullable=False),
        sa.Column("value", ledger_api.db.types.Int256(), nullable=False),
        sa.Column("salt", sa.LargeBinary(length=32), nullable=False),
        sa.Column("signature", sa.LargeBinary(length=65), nullable=False),
        sa.ForeignKeyConstraint(
            ["device", "position"],
            ["leaves.device", "leaves.position"],
        ),
        sa.PrimaryKeyConstraint("device", "position"),
        sa.UniqueConstraint("device", "meter", "seq", name="uq_readings_key"),
    )
    with op.batch_alter_table("readings", schema=None) as batch_op:
        batch_op.create_index("ix_readings_path_time", ["meter_path", "timestamp"], unique=False)

    op.create_table(
        "records",
        sa.Column("device", sa.LargeBinary(length=20), nullable=False),
        sa.Column("position", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("key_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("path", _PATH, nullable=False),
        sa.Column("time_from", ledger_api.db.types.Uint64(), nullable=False),
        sa.Column("wire", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["device", "position"],
            ["leaves.device", "leaves.position"],
        ),
        sa.PrimaryKeyConstraint("device", "position"),
        sa.UniqueConstraint("device", "kind", "key_hash", name="uq_records_key"),
    )
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.create_index("ix_records_path_time", ["path", "time_from"], unique=False)



def downgrade() -> None:
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.drop_index("ix_records_path_time")

    op.drop_table("records")
    with op.batch_alter_table("readings", schema=None) as batch_op:
        batch_op.drop_index("ix_readings_path_time")

    op.drop_table("readings")
    op.drop_table("seq_gaps")
    op.drop_table("rejections")
    op.drop_table("meter_streams")
    op.drop_table("leaves")
    op.drop_table("device_streams")
    with op.batch_alter_table("conflicts", schema=None) as batch_op:
        batch_op.drop_index("ix_conflicts_device")

    op.drop_table("conflicts")
    op.drop_table("batches")
