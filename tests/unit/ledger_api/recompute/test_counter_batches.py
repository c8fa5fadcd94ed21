"""Many counters recomputed at once (``ledger_api.recompute.evidence``: boundary readings and
counts read for a chunk of counters per statement) equal each counter's arithmetic over all
its held readings, on SQLite and a real PostgreSQL.

Several devices of the enterprise sign the same paths at the same instants (a path's readings
at one time belong to several counters), polls are skipped at random (each counter's count
differs; no seq is missing), one device starts after the period's start (its opening is its
first reading), one only after the period (an empty figure), and the chunk is made smaller
than the counters so the statements' indexes run across chunks. Readings are bulk-inserted
(``ledger_api.db.bulk``, as the benchmark loads them): the recompute reads no signature.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete
from sqlalchemy.orm import Session

from accounting_rules.counters import CounterReading, RolloverRule, build_history
from ledger_api.db.bulk import insert_rows
from ledger_api.db.models import Base, DeviceStreamRow, LeafRow, MeterStreamRow, ReadingRow
from ledger_api.recompute import PlanPoint, evidence, meter_figures, replace_plan
from mrv_core.reading import meter_id

ENTERPRISE = b"\xab" * 20
SITE = "batch-co/plant"
QUANTITY = "energy.active.import:Wh"
PATHS = [f"{SITE}/hall-1/line-1/meter-{m}" for m in range(3)]
T0, STEP_S, STEPS = 1_790_000_000, 60, 24
NOW = datetime(2026, 12, 1, tzinfo=UTC)
#: Per device: the first step it reads (device 2 starts late, device 3 after every period).
FIRST_STEP = [0, 0, 5, STEPS + 10]


def load(engine: Engine, seed: int) -> dict[tuple[bytes, str], list[CounterReading]]:
    """Every device reads every path from its first step, readings dropped at random; the
    held readings of each (device, path) counter."""
    rng = random.Random(seed)
    with Session(engine) as session, session.begin():
        for table in reversed(Base.metadata.sorted_tables):
            session.execute(delete(table))
        replace_plan(session, ENTERPRISE, [
            PlanPoint(p, "electricity.grid", QUANTITY, None, None) for p in PATHS],
            actor="test", now=NOW)
    held: dict[tuple[bytes, str], list[CounterReading]] = {}
    for d, first in enumerate(FIRST_STEP):
        device = bytes([0xC0 + d]) * 20
        leaves, readings, position = [], [], 0
        seqs = [0] * len(PATHS)
        for step in range(first, first + STEPS):
            t = T0 + STEP_S * step
            for m, path in enumerate(PATHS):
                if step > first and rng.random() < 0.2:
                    continue  # not polled: a longer step, no seq missing
                value = 1_000 * (d + 1) + 7 * m * step + step
                leaves.append((device, position, "reading", bytes(32), t, t, 0, NOW, 0))
                readings.append((device, position, meter_id(path), path, seqs[m], t,
                                 QUANTITY, value, bytes(32), bytes(65)))
                held.setdefault((device, path), []).append(CounterReading(seqs[m], t, value))
                seqs[m] += 1
                position += 1
        with Session(engine) as session, session.begin():
            session.add(DeviceStreamRow(device=device, next_position=position,
                                        batched_through=position, next_batch_seq=0,
                                        first_seen=NOW, last_seen=NOW, enterprise=ENTERPRISE))
            session.add_all(MeterStreamRow(device=device, meter=meter_id(p), meter_path=p,
                                           max_seq=seqs[m] - 1)
                            for m, p in enumerate(PATHS))
            session.flush()
            for table, rows in ((LeafRow.__table__, leaves), (ReadingRow.__table__, readings)):
                # every column, in the table's order
                insert_rows(session.connection(), table,  # type: ignore[arg-type]
                            [c.name for c in table.c], rows)
    return held


@settings(max_examples=3, deadline=None, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32), chunk=st.integers(1, 5),
       start=st.integers(-STEP_S, 12 * STEP_S), length=st.integers(1, 14 * STEP_S))
def test_counters_read_in_chunks_equal_each_counters_arithmetic_over_all_its_readings(
        ledger_engine: Engine, monkeypatch: pytest.MonkeyPatch, seed: int, chunk: int,
        start: int, length: int) -> None:
    held = load(ledger_engine, seed)
    monkeypatch.setattr(evidence, "_CHUNK", chunk)
    begin, end = T0 + start, T0 + start + length
    with Session(ledger_engine) as session:
        figures = meter_figures(session, ENTERPRISE, SITE, begin, end)
    assert [(f.point.meter_path, f.device) for f in figures] == sorted(
        (path, device) for device, path in held)
    for f in figures:
        expected = build_history(held[(f.device, f.point.meter_path)],
                                 RolloverRule(None, Fraction(0))).period(begin, end)
        assert f.energy == expected, (f.device.hex()[:2], f.point.meter_path)
        ends = {x.seq for x in (expected.start_reading, expected.end_reading) if x is not None}
        assert ends <= {r.reading.seq for r in f.readings}
