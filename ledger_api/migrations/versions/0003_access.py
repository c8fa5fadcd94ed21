"""Access: principals, their API keys (HMACs only), regulators' grants; the enterprise of each
device stream (set by ingest from the DeviceRegistry; NULL on older rows until the device
delivers again).

Revision ID: 0003_access
Revises: 0002_watcher
Create Date: 2026-11-30 23:03:14.182222
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_access"
down_revision = "0002_watcher"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "principals",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=24), nullable=False),
        sa.Column("enterprise", sa.LargeBinary(length=20), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(enterprise IS NULL) = (role IN ('regulator', 'association'))",
            name="ck_principals_enterprise",
        ),
        sa.CheckConstraint(
            "role IN ('enterprise_admin', 'enterprise_reader', 'regulator', "
            "'association', 'device')",
            name="ck_principals_role",
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "api_keys",
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column(
            "principal_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("mac", sa.LargeBinary(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["principal_id"],
            ["principals.id"],
        ),
        sa.PrimaryKeyConstraint("key_id"),
    )
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_api_keys_principal_id"), ["principal_id"], unique=False
        )

    op.create_table(
        "regulator_grants",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "regulator_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("enterprise", sa.LargeBinary(length=20), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("granted_by", sa.String(length=200), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["regulator_id"],
            ["principals.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("regulator_grants", schema=None) as batch_op:
        batch_op.create_index(
            "uq_regulator_grants_in_force",
            ["regulator_id", "enterprise"],
            unique=True,
            sqlite_where=sa.text("revoked_at IS NULL"),
            postgresql_where=sa.text("revoked_at IS NULL"),
        )

    with op.batch_alter_table("device_streams", schema=None) as batch_op:
        batch_op.add_column(sa.Column("enterprise", sa.LargeBinary(length=20), nullable=True))
        batch_op.create_index(
            "ix_device_streams_enterprise", ["enterprise", "device"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("device_streams", schema=None) as batch_op:
        batch_op.drop_index("ix_device_streams_enterprise")
        batch_op.drop_column("enterprise")

    with op.batch_alter_table("regulator_grants", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_regulator_grants_in_force",
            sqlite_where=sa.text("revoked_at IS NULL"),
            postgresql_where=sa.text("revoked_at IS NULL"),
        )

    op.drop_table("regulator_grants")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_keys_principal_id"))

    op.drop_table("api_keys")
    op.drop_table("principals")
