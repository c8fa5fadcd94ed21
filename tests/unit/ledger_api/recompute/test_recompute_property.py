"""Recompute through a real ledger database equals the counter arithmetic over every reading.

Random meter histories (seqs the device never delivered, rollovers at the counter's modulus,
signed meter changes, signed gap records, falls no rule explains) are ingested through the
ledger's own ingest (``ledger_api.ingest``) in a random arrival order, on SQLite and a real
PostgreSQL; then for random periods the figure the ledger recomputes from its sparse readings
(``ledger_api.recompute.meter_figures``) equals ``build_history`` over ALL the held readings
with every record, period by period: energy, boundary readings, counts, bridged steps,
rollovers, meter changes, unexplained decreases. Examples are few (each ingests into two
databases).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction
from itertools import pairwise

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from ledger_support import StaticDevices
from sqlalchemy import Engine, delete
from sqlalchemy.orm import Session

from accounting_rules.counters import (
    CounterChange,
    CounterGap,
    CounterReading,
    RolloverRule,
    build_history,
)
from factories import TEST_DOMAIN, TEST_KEY
from ledger_api.db.models import Base
from ledger_api.ingest.service import ingest
from ledger_api.recompute import PlanPoint, meter_figures, replace_plan
from mrv_core.reading import Reading, meter_id
from mrv_core.records import Gap, MeterChange, note_hash
from mrv_core.uplink import UplinkItem, UplinkRequest

ENTERPRISE = b"\xaa" * 20
PATH = "demo-co/wuxi-plant/hall-1/line-1/main"
QUANTITY = "energy.active.import:Wh"
T0 = 1_790_784_000
STEP_S = 60
MODULUS = 1_000
RATE = Fraction(5)  # Wh per second: 300 Wh per 60 s step, under half the modulus
POINT = PlanPoint(PATH, "electricity.grid", QUANTITY, MODULUS, RATE)
NOW = datetime(2026, 12, 1, tzinfo=UTC)


@dataclass
class History:
    readings: list[CounterReading]
    changes: list[MeterChange]
    gaps: list[Gap]


def history(seed: int, length: int, dropped: float) -> History:
    """A counter history from ``seed``: steps of 0-250 Wh that wrap at the modulus, a meter
    change, a reset no rule explains and gap records now and then, readings dropped."""
    rng = random.Random(seed)
    value = rng.randrange(MODULUS)
    readings, changes, gaps = [], [], []
    meter = meter_id(PATH)
    for seq in range(length):
        t = T0 + STEP_S * seq
        roll = rng.random()
        if seq and roll < 0.08:  # a signed meter change just before this reading
            old_final = min(MODULUS - 1, value + rng.randrange(50))
            value = rng.randrange(100)
            changes.append(MeterChange(device=TEST_KEY.address, meter=meter, quantity=QUANTITY,
                                       next_seq=seq, timestamp=t - 10, old_final=old_final,
                                       new_initial=value, note=note_hash(""),
                                       salt=rng.randbytes(32)))
        elif seq and roll < 0.12:  # a fall nothing explains
            value = rng.randrange(value + 1) if value < MODULUS // 2 else 0
        else:
            value = (value + rng.randrange(251)) % MODULUS
        if seq and rng.random() < 0.1:  # polls failed before this reading
            gaps.append(Gap(device=TEST_KEY.address, meter=meter, quantity=QUANTITY,
                            next_seq=seq, from_timestamp=t - 50, to_timestamp=t - 5,
                            failed_polls=2, error_class="timeout", salt=rng.randbytes(32)))
        if seq == 0 or rng.random() >= dropped:
            readings.append(CounterReading(seq, t, value))
    return History(readings, changes, gaps)


def items(h: History) -> list[UplinkItem]:
    signed: list[UplinkItem] = [TEST_KEY.sign_reading(Reading(
        TEST_KEY.address, meter_id(PATH), r.seq, r.timestamp, QUANTITY, r.value, b"\x01" * 32),
        TEST_DOMAIN, PATH) for r in h.readings]
    signed += [TEST_KEY.sign_record(c, TEST_DOMAIN, PATH, "") for c in h.changes]
    signed += [TEST_KEY.sign_record(g, TEST_DOMAIN, PATH) for g in h.gaps]
    return signed


def store(engine: Engine, h: History, order_seed: int, requests: int) -> None:
    with Session(engine) as session, session.begin():  # each example from empty
        for table in reversed(Base.metadata.sorted_tables):
            session.execute(delete(table))
        replace_plan(session, ENTERPRISE, [POINT], actor="test", now=NOW)
    sent = items(h)
    random.Random(order_seed).shuffle(sent)
    devices = StaticDevices({TEST_KEY.address}, enterprises={TEST_KEY.address: ENTERPRISE})
    for i in range(requests):
        with Session(engine) as session, session.begin():
            ingest(session, UplinkRequest.of(TEST_KEY.address, TEST_DOMAIN,
                                             sent[i::requests]), devices, TEST_DOMAIN, now=NOW)


@settings(max_examples=6, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32), length=st.integers(2, 40),
       dropped=st.sampled_from([0.0, 0.15, 0.4]), order_seed=st.integers(0, 2**32),
       requests=st.integers(1, 3),
       bounds=st.lists(st.integers(-2 * STEP_S, 42 * STEP_S), min_size=2, max_size=6,
                       unique=True))
@example(seed=7, length=30, dropped=0.15, order_seed=1, requests=3,
         bounds=[0, 10 * STEP_S, 10 * STEP_S + 30, 41 * STEP_S])
def test_recompute_from_sparse_readings_equals_the_arithmetic_over_every_reading(
        ledger_engine: Engine, seed: int, length: int, dropped: float, order_seed: int,
        requests: int, bounds: list[int]) -> None:
    h = history(seed, length, dropped)
    store(ledger_engine, h, order_seed, requests)
    full = build_history(h.readings, RolloverRule(MODULUS, RATE),
                         meter_changes=[CounterChange.of(c) for c in h.changes],
                         gaps=[CounterGap.of(g) for g in h.gaps])
    edges = sorted(T0 + b for b in bounds)
    with Session(ledger_engine) as session:
        for start, end in pairwise(edges):
            [figure] = meter_figures(session, ENTERPRISE, "demo-co/wuxi-plant", start, end)
            expected = full.period(start, end)
            assert figure.energy == expected, (start - T0, end - T0)
            assert figure.device == TEST_KEY.address and figure.meter == meter_id(PATH)
            assert figure.bridged_seconds == expected.bridged_seconds
            assert figure.bridged_steps == len(expected.bridged)
            seqs = [r.reading.seq for r in figure.readings]
            assert seqs == sorted(set(seqs))
            ends = [x for x in (expected.start_reading, expected.end_reading) if x is not None]
            assert {r.seq for r in ends} <= set(seqs)
            assert len(figure.leaves) == len(figure.readings) + len(figure.records)
