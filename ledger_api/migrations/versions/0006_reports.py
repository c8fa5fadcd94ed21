"""Reports and manual activity data: evidence files, manual activities (withdrawn, never
deleted), report documents and regulators' attestation statements (``ledger_api.reports``).

Revision ID: 0006_reports
Revises: 0004_retention
Create Date: 2026-12-01 05:20:00.000000

The lead re-chains it onto ``0005_recompute`` when the branches merge.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import ledger_api.db.types

revision = "0006_reports"
down_revision = "0005_recompute"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_PATH = sa.String(length=256).with_variant(sa.String(length=256, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "evidence_files",
        sa.Column("enterprise", sa.LargeBinary(length=20), nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("media_type", sa.String(length=32), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("stored_by", sa.BigInteger(), nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("media_type IN ('application/pdf', 'image/png', 'image/jpeg')",
                           name="ck_evidence_files_media_type"),
        sa.CheckConstraint("size > 0 AND size <= 16777216", name="ck_evidence_files_size"),
        sa.PrimaryKeyConstraint("enterprise", "hash"),
    )
    op.create_table(
        "manual_activities",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("enterprise", sa.LargeBinary(length=20), nullable=False),
        sa.Column("site_path", _PATH, nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("unit", sa.String(length=32), nullable=False),
        sa.Column("amount", ledger_api.db.types.Int256(), nullable=False),
        sa.Column("period_start", ledger_api.db.types.Uint64(), nullable=False),
        sa.Column("period_end", ledger_api.db.types.Uint64(), nullable=False),
        sa.Column("evidence", sa.LargeBinary(length=32), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("entered_by", sa.BigInteger(), nullable=False),
        sa.Column("entered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["enterprise", "evidence"],
                                ["evidence_files.enterprise", "evidence_files.hash"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("manual_activities", schema=None) as batch_op:
        batch_op.create_index("ix_manual_activities_site",
                              ["enterprise", "site_path", "period_start"], unique=False)
    op.create_table(
        "reports",
        sa.Column("report_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("document_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("enterprise", sa.LargeBinary(length=20), nullable=False),
        sa.Column("site_path", _PATH, nullable=True),
        sa.Column("period_start", ledger_api.db.types.Uint64(), nullable=False),
        sa.Column("period_end", ledger_api.db.types.Uint64(), nullable=False),
        sa.Column("methodology", sa.String(length=32), nullable=False),
        sa.Column("methodology_version", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("supersedes", sa.LargeBinary(length=32), nullable=True),
        sa.PrimaryKeyConstraint("report_hash"),
        sa.UniqueConstraint("document_hash"),
    )
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.create_index("ix_reports_enterprise", ["enterprise", "period_start"],
                              unique=False)
    op.create_table(
        "attestation_statements",
        sa.Column("statement_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("report_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("regulator", sa.LargeBinary(length=20), nullable=False),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["report_hash"], ["reports.report_hash"]),
        sa.PrimaryKeyConstraint("statement_hash"),
    )
    with op.batch_alter_table("attestation_statements", schema=None) as batch_op:
        batch_op.create_index("ix_attestation_statements_report_hash", ["report_hash"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("attestation_statements", schema=None) as batch_op:
        batch_op.drop_index("ix_attestation_statements_report_hash")
    op.drop_table("attestation_statements")
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.drop_index("ix_reports_enterprise")
    op.drop_table("reports")
    with op.batch_alter_table("manual_activities", schema=None) as batch_op:
        batch_op.drop_index("ix_manual_activities_site")
    op.drop_table("manual_activities")
    op.drop_table("evidence_files")
