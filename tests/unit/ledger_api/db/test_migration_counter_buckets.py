"""Migration ``0007_counter_buckets`` on SQLite and a real PostgreSQL: readings held before it
(two meters, two quantities, seqs up to the top of uint64) get their buckets by the backfill,
its triggers keep them from then on; it downgrades to ``0006_reports`` (table, triggers and
function gone: readings insert as before) and upgrades again, and the schema is exactly the
models'."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from ledger_support import stored_and_counted_buckets
from sqlalchemy import Engine, insert, inspect

from ledger_api.db.migrate import alembic_config, current_revision, head_revision
from ledger_api.db.models import Base, DeviceStreamRow, LeafRow, ReadingRow
from mrv_core.codec import UINT64_MAX

AT = datetime(2026, 11, 30, tzinfo=UTC)
DEVICE = b"\x01" * 20
WH, W = "energy.active.import:Wh", "power.active:W"
#: (meter, seq, quantity)
HELD = [(b"\x02", 0, WH), (b"\x02", 1, W), (b"\x02", 99, WH), (b"\x02", 100, WH),
        (b"\x02", 2**63, WH), (b"\x02", UINT64_MAX, WH), (b"\x03", 5, WH), (b"\x03", 6, WH)]


def _hold(engine: Engine, held: list[tuple[bytes, int, str]], first: int) -> None:
    with engine.begin() as connection:
        if first == 0:
            connection.execute(insert(DeviceStreamRow).values(
                device=DEVICE, next_position=0, batched_through=0, next_batch_seq=0,
                first_seen=AT, last_seen=AT))
        for position, (meter, seq, quantity) in enumerate(held, start=first):
            connection.execute(insert(LeafRow).values(
                device=DEVICE, position=position, kind="reading", leaf=bytes(32),
                time_from=0, time_to=0, received_at=AT, lag_s=0))
            connection.execute(insert(ReadingRow).values(
                device=DEVICE, position=position, meter=meter * 32,
                meter_path=f"co/site/area/line/m{meter.hex()}", seq=seq, timestamp=0,
                quantity=quantity, value=position, salt=bytes(32), signature=bytes(65)))


def test_the_counter_buckets_migration_backfills_keeps_and_goes_down_and_up(
        ledger_engine: Engine) -> None:
    config = alembic_config(ledger_engine)
    command.downgrade(config, "0006_reports")
    assert "counter_buckets" not in inspect(ledger_engine).get_table_names()
    _hold(ledger_engine, HELD, 0)

    command.upgrade(config, "head")
    assert current_revision(ledger_engine) == head_revision()
    stored, grouped = stored_and_counted_buckets(ledger_engine)
    assert stored == grouped and stored[(DEVICE, b"\x02" * 32, WH, 0)] == 2
    assert len(stored) == 6
    _hold(ledger_engine, [(b"\x03", 7, WH), (b"\x03", 150, W)], len(HELD))  # by the triggers
    stored, grouped = stored_and_counted_buckets(ledger_engine)
    assert stored == grouped and stored[(DEVICE, b"\x03" * 32, WH, 0)] == 3
    with ledger_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []

    command.downgrade(config, "0006_reports")
    assert "counter_buckets" not in inspect(ledger_engine).get_table_names()
    _hold(ledger_engine, [(b"\x03", 8, WH)], len(HELD) + 2)  # no trigger left behind
    command.upgrade(config, "head")
    stored, grouped = stored_and_counted_buckets(ledger_engine)
    assert stored == grouped and stored[(DEVICE, b"\x03" * 32, WH, 0)] == 4
