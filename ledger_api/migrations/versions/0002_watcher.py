"""The chain watcher: anchors (BatchAnchored events), chain_events (the other registries'
events), watcher_cursor (the last block processed), device_events (the device directory's
DeviceRegistry events) and batches.anchor_state.

Revision ID: 0002_watcher
Revises: 0001
Create Date: 2026-11-30 23:02:23.078072
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import ledger_api.db.types

revision = "0002_watcher"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "anchors",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("device", sa.LargeBinary(length=20), nullable=False),
        sa.Column("batch_seq", ledger_api.db.types.Uint64(), nullable=False),
        sa.Column("root", sa.LargeBinary(length=32), nullable=False),
        sa.Column("leaf_count", sa.BigInteger(), nullable=False),
        sa.Column("from_timestamp", ledger_api.db.types.Uint64(), nullable=False),
        sa.Column("to_timestamp", ledger_api.db.types.Uint64(), nullable=False),
        sa.Column("tx_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("log_index", sa.BigInteger(), nullable=False),
        sa.Column("block_number", ledger_api.db.types.Uint64(), nullable=False),
        sa.Column("block_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("block_timestamp", ledger_api.db.types.Uint64(), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("orphaned_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("block_hash", "log_index", name="uq_anchors_log"),
    )
    with op.batch_alter_table("anchors", schema=None) as batch_op:
        batch_op.create_index("ix_anchors_batch", ["device", "batch_seq"], unique=False)
        batch_op.create_index("ix_anchors_block", ["block_number"], unique=False)

    op.create_table(
        "chain_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("contract", sa.String(length=32), nullable=False),
        sa.Column("address", sa.LargeBinary(length=20), nullable=False),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column("args", sa.Text(), nullable=False),
        sa.Column("tx_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("log_index", sa.BigInteger(), nullable=False),
        sa.Column("block_number", ledger_api.db.types.Uint64(), nullable=False),
        sa.Column("block_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("block_timestamp", ledger_api.db.types.Uint64(), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("orphaned_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("block_hash", "log_index", name="uq_chain_events_log"),
    )
    with op.batch_alter_table("chain_events", schema=None) as batch_op:
        batch_op.create_index("ix_chain_events_block", ["block_number"], unique=False)
        batch_op.create_index(
            "ix_chain_events_event", ["contract", "event", "block_number"], unique=False
        )

    op.create_table(
        "watcher_cursor",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("anchor_registry", sa.LargeBinary(length=20), nullable=False),
        sa.Column("block_number", ledger_api.db.types.Uint64(), nullable=False),
        sa.Column("block_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("block_timestamp", ledger_api.db.types.Uint64(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "device_events",
        sa.Column("position", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("block_number", ledger_api.db.types.Uint64(), nullable=False),
        sa.Column("block_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("block_timestamp", ledger_api.db.types.Uint64(), nullable=False),
        sa.Column("log_index", sa.BigInteger(), nullable=False),
        sa.Column("fields", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("position"),
    )
    with op.batch_alter_table("batches", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "anchor_state", sa.String(length=16), server_default="unanchored", nullable=False
            )
        )
        batch_op.create_index(
            "ix_batches_anchor_state", ["anchor_state", "received_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("batches", schema=None) as batch_op:
        batch_op.drop_index("ix_batches_anchor_state")
        batch_op.drop_column("anchor_state")

    op.drop_table("device_events")
    op.drop_table("watcher_cursor")
    with op.batch_alter_table("chain_events", schema=None) as batch_op:
        batch_op.drop_index("ix_chain_events_event")
        batch_op.drop_index("ix_chain_events_block")

    op.drop_table("chain_events")
    with op.batch_alter_table("anchors", schema=None) as batch_op:
        batch_op.drop_index("ix_anchors_block")
        batch_op.drop_index("ix_anchors_batch")

    op.drop_table("anchors")
