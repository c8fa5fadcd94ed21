"""Migration ``0006_reports`` on SQLite and a real PostgreSQL: it downgrades to
``0004_retention`` (its four tables gone, the rest kept) and upgrades again to exactly the models'
schema; the database refuses an evidence file of another media type or past 16 MiB."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect
from sqlalchemy.exc import IntegrityError

from ledger_api.db.engine import make_sessions
from ledger_api.db.migrate import alembic_config, current_revision, head_revision
from ledger_api.db.models import Base, EvidenceFileRow

TABLES = {"evidence_files", "manual_activities", "reports", "attestation_statements"}


def test_the_reports_migration_goes_down_and_up_and_leaves_the_models_schema(
        ledger_engine: Engine) -> None:
    config = alembic_config(ledger_engine)
    command.downgrade(config, "0004_retention")
    assert current_revision(ledger_engine) == "0004_retention"
    names = set(inspect(ledger_engine).get_table_names())
    assert not names & TABLES and "retention_purges" in names
    command.upgrade(config, "head")
    assert current_revision(ledger_engine) == head_revision()
    assert TABLES <= set(inspect(ledger_engine).get_table_names())
    with ledger_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_the_database_refuses_other_media_types_and_sizes(ledger_engine: Engine) -> None:
    for media_type, size in [("image/gif", 10), ("application/pdf", 0),
                             ("image/png", 16 * 1024 * 1024 + 1)]:
        with pytest.raises(IntegrityError), make_sessions(ledger_engine).begin() as session:
            session.add(EvidenceFileRow(enterprise=b"\x01" * 20, hash=b"\x02" * 32,
                                        media_type=media_type, size=size, name="x",
                                        content=b"x", stored_by=1, stored_at=datetime.now(UTC)))
