"""Migration ``0004_retention`` on SQLite and a real PostgreSQL: it downgrades to
``0003_access`` (the audit table and ``purged_through`` gone) and upgrades again, a stream held
before it comes out with nothing purged, and the schema is exactly the models'."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, insert, inspect, select

from ledger_api.db.engine import make_sessions
from ledger_api.db.migrate import alembic_config, current_revision, head_revision
from ledger_api.db.models import Base, DeviceStreamRow


def test_the_retention_migration_goes_down_and_up_and_leaves_the_models_schema(
        ledger_engine: Engine) -> None:
    config = alembic_config(ledger_engine)
    command.downgrade(config, "0003_access")
    assert current_revision(ledger_engine) == "0003_access"
    assert "retention_purges" not in inspect(ledger_engine).get_table_names()
    columns = {c["name"] for c in inspect(ledger_engine).get_columns("device_streams")}
    assert "purged_through" not in columns and "enterprise" in columns
    with ledger_engine.begin() as connection:  # a stream held before retention existed
        at = datetime(2026, 11, 30, tzinfo=UTC)
        connection.execute(insert(DeviceStreamRow).values(
            device=b"\x01" * 20, next_position=3, batched_through=3, next_batch_seq=1,
            first_seen=at, last_seen=at, enterprise=b"\xaa" * 20))

    command.upgrade(config, "head")
    assert current_revision(ledger_engine) == head_revision()
    with make_sessions(ledger_engine)() as session:
        assert session.scalars(select(DeviceStreamRow.purged_through)).all() == [None]
    with ledger_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
