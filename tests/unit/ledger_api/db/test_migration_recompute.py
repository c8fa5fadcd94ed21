"""Migration ``0005_recompute`` on SQLite and a real PostgreSQL: readings held before it get
their counter marks (the readings below their meter's previous held reading) and their
stream's ``max_value`` by the backfill; it downgrades to ``0004_retention`` and upgrades
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
    DeviceStreamRow,
    LeafRow,
    MeterStreamRow,
    ReadingRow,
)

AT = datetime(2026, 11, 30, tzinfo=UTC)
DEVICE = b"\x01" * 20
#: (meter, seq, value): meter 0x02 falls at seq 3 and seq 9 (across a missing seq 8), and to a
#: negative value at seq 10; meter 0x03 never falls (a tie is no fall).
HELD = [(b"\x02", 0, 10), (b"\x02", 1, 20), (b"\x02", 3, 5), (b"\x02", 7, 2**200),
        (b"\x02", 9, 7), (b"\x02", 10, -1), (b"\x03", 0, 4), (b"\x03", 1, 4), (b"\x03", 5, 9)]


def _hold(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(insert(DeviceStreamRow).values(
            device=DEVICE, next_position=len(HELD), batched_through=0, next_batch_seq=0,
            first_seen=AT, last_seen=AT))
        for position, (meter, seq, value) in enumerate(HELD):
            connection.execute(insert(LeafRow).values(
                device=DEVICE, position=position, kind="reading", leaf=bytes([position]) * 32,
                time_from=seq, time_to=seq, received_at=AT, lag_s=0))
            connection.execute(insert(ReadingRow).values(
                device=DEVICE, position=position, meter=meter * 32,
                meter_path=f"co/site/area/line/m{meter.hex()}", seq=seq, timestamp=seq,
                quantity="energy.active.import:Wh", value=value, salt=b"\x00" * 32,
                signature=b"\x00" * 65))
        for meter in (b"\x02", b"\x03"):
            top = max(seq for m, seq, _ in HELD if m == meter)
            connection.execute(insert(MeterStreamRow.__table__).values(  # type: ignore[arg-type]
                device=DEVICE, meter=meter * 32, meter_path=f"co/site/area/line/m{meter.hex()}",
                max_seq=top))


def test_the_recompute_migration_backfills_marks_and_max_values_and_goes_down_and_up(
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
        tops = {m: v for m, v in connection.execute(select(MeterStreamRow.meter,
                                                             MeterStreamRow.max_value))}
    assert marks == {(b"\x02" * 32, 3), (b"\x02" * 32, 9), (b"\x02" * 32, 10)}
    assert tops == {b"\x02" * 32: -1, b"\x03" * 32: 9}
    with ledger_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []

    command.downgrade(config, "0004_retention")
    assert "counter_marks" not in inspect(ledger_engine).get_table_names()
    command.upgrade(config, "head")
