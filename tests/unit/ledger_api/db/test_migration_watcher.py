"""Migration ``0002_watcher`` on SQLite and a real PostgreSQL: it downgrades to ``0001`` and
upgrades again, a batch stored before it comes out ``unanchored``, and the migrated schema is
exactly the models' (Alembic's comparison finds nothing to change)."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from ledger_api.db.migrate import alembic_config, current_revision, head_revision
from ledger_api.db.models import Base


def test_the_watcher_migration_goes_down_and_up_and_leaves_the_models_schema(
        ledger_engine: Engine) -> None:
    config = alembic_config(ledger_engine)
    command.downgrade(config, "0001")
    assert current_revision(ledger_engine) == "0001"
    tables = set(inspect(ledger_engine).get_table_names())
    assert not tables & {"anchors", "chain_events", "watcher_cursor", "device_events"}
    seq = "00000000000000000000" if ledger_engine.dialect.name == "sqlite" else "0"
    with ledger_engine.begin() as connection:  # a batch held before the watcher existed
        connection.execute(text(
            "INSERT INTO batches (device, batch_seq, root, leaf_count, from_timestamp, "
            "to_timestamp, signature, first_position, received_at) VALUES "
            f"(:device, {seq!r}, :root, 1, {seq!r}, {seq!r}, :sig, 0, :at)"),
            {"device": b"\x01" * 20, "root": b"\x02" * 32, "sig": b"\x03" * 65,
             "at": datetime(2026, 11, 30, tzinfo=UTC)})

    command.upgrade(config, "head")
    assert current_revision(ledger_engine) == head_revision()
    with ledger_engine.connect() as connection:
        assert connection.execute(text("SELECT anchor_state FROM batches")).scalar() == \
            "unanchored"
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
