"""Migration ``0005_recompute`` on SQLite and a real PostgreSQL: readings held before it get
their counter marks (the readings of a cumulative quantity below their counter's previous held
reading) and counter tops by the backfill; it downgrades to ``0004_retention`` and upgrades
again, and the schema is exactly the models'."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, insert, inspect, select

from ledger_api.db.migrate import alembic_config, current_revision, head_revision
from ledger_api.db.models import (
    Base,
    CounterMarkRow,
    CounterTopRow,
    DeviceStreamRow,
    LeafRow,
    ReadingRow,
)

AT = datetime(2026, 11, 30, tzinfo=UTC)
DEVICE = b"\x01" * 20
WH, W = "energy.active.import:Wh", "power.active:W"
#: (meter, seq, quantity, value): meter 0x02's counter falls at seq 3 and seq 9 (across a
#: missing seq 8 and a power reading), never at its power readings; meter 0x03's counter never
#: falls (a tie is no fall) and its power reading (seq 6) falls, unmarked.
HELD = [(b"\x02", 0, WH, 10), (b"\x02", 1, WH, 20), (b"\x02", 2, W, 1), (b"\x02", 3, WH, 5),
        (b"\x02", 7, WH, 2**200), (b"\x02", 8, W, 0), (b"\x02", 9, WH, 7),
        (b"\x02", 10, W, -1), (b"\x03", 0, WH, 4), (b"\x03", 1, WH, 4), (b"\x03", 5, W, 9),
        (b"\x03", 6, W, 3)]


def _hold(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(insert(DeviceStreamRow).values(
            device=DEVICE, next_position=len(HELD), batched_through=0, next_batch_seq=0,
            first_seen=AT, last_seen=AT))
        for position, (meter, seq, quantity, value) in enumerate(HELD):
            connection.execute(insert(LeafRow).values(
                device=DEVICE, position=position, kind="reading", leaf=bytes([position]) * 32,
                time_from=seq, time_to=seq, received_at=AT, lag_s=0))
            connection.execute(insert(ReadingRow).values(
                device=DEVICE, position=position, meter=meter * 32,
                meter_path=f"co/site/area/line/m{meter.hex()}", seq=seq, timestamp=seq,
                quantity=quantity, value=value, salt=b"\x00" * 32,
                signature=b"\x00" * 65))


def test_the_recompute_migration_backfills_marks_and_tops_and_goes_down_and_up(
        ledger_engine: Engine) -> None:
    config = alembic_config(ledger_engine)
    command.downgrade(config, "0004_retention")
    assert current_revision(ledger_engine) == "0004_retention"
    names = inspect(ledger_engine).get_table_names()
    assert "counter_marks" not in names and "plan_points" not in names
    _hold(ledger_engine)

    command.upgrade(config, "head")
    assert current_revision(ledger_engine) == head_revision()
    with ledger_engine.connect() as connection:
        marks = set(connection.execute(select(CounterMarkRow.meter, CounterMarkRow.seq)))
        tops = set(connection.execute(select(CounterTopRow.meter, CounterTopRow.quantity,
                                             CounterTopRow.seq, CounterTopRow.value)))
    assert marks == {(b"\x02" * 32, 3), (b"\x02" * 32, 9)}
    assert tops == {(b"\x02" * 32, WH, 9, 7), (b"\x03" * 32, WH, 1, 4)}
    with ledger_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []

    command.downgrade(config, "0004_retention")
    assert "counter_marks" not in inspect(ledger_engine).get_table_names()
    command.upgrade(config, "head")
