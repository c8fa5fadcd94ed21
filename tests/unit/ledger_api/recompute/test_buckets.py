"""Counts of a counter's readings from its buckets (``ledger_api.recompute.buckets``,
``evidence.held_counts``) equal a plain ``COUNT`` of the held readings, and the buckets the
triggers of revision 0007_counter_buckets keep equal the readings grouped by ``seq // 100``:
after random arrival orders through the real ingest (in order, gap fills, duplicates,
conflicting offers, two meters, power readings sharing a counter's seqs) and random deletions
of position ranges (what a retention purge deletes) between requests; after a real retention
purge; when a reading's key columns change; for seqs across the whole uint64 range. On SQLite
and a real PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from ledger_support import StaticDevices, stored_and_counted_buckets
from retention_support import A, Fleet
from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.orm import Session

from factories import METER_PATHS, TEST_DOMAIN, TEST_KEY
from ledger_api.db.bulk import LEAF_COLUMNS, READING_COLUMNS, insert_rows
from ledger_api.db.models import Base, LeafRow, ReadingRow
from ledger_api.ingest.service import ingest
from ledger_api.recompute.buckets import plan_count
from ledger_api.recompute.evidence import held_counts
from ledger_api.retention import parse_cutoff, purge
from mrv_core.codec import UINT64_MAX
from mrv_core.reading import Reading, SignedReading, meter_id
from mrv_core.uplink import UplinkRequest

NOW = datetime(2026, 11, 30, tzinfo=UTC)
T0 = 1_780_000_000
SEQS = 230  # three buckets of 100
ENERGY, POWER = "energy.active.import:Wh", "power.active:W"
DEVICE = TEST_KEY.address
METERS = [meter_id(METER_PATHS[m]) for m in (0, 1)]


def counted(held: set[int], first: int, last: int) -> int:
    return sum(1 for seq in held if first <= seq <= last)


@given(base=st.sampled_from([0, 10**6, UINT64_MAX - 700]), size=st.sampled_from([2, 3, 10, 100]),
       offsets=st.sets(st.integers(0, 700)), bounds=st.tuples(st.integers(0, 700),
                                                            st.integers(0, 700)))
@example(base=0, size=100, offsets={0, 99, 100, 199}, bounds=(0, 99))  # whole buckets only
@example(base=0, size=100, offsets={5, 55, 95}, bounds=(50, 50))
@example(base=UINT64_MAX - 700, size=100, offsets={699, 700}, bounds=(650, 700))  # last bucket
def test_a_count_plan_counts_exactly_the_seqs_in_range_reading_at_most_half_a_bucket_per_edge(
        base: int, size: int, offsets: set[int], bounds: tuple[int, int]) -> None:
    held = {base + o for o in offsets}
    lo, hi = base + min(bounds), base + max(bounds)
    plan = plan_count(lo, hi, size)
    in_buckets = sum(1 for seq in held if plan.first_bucket <= seq // size <= plan.last_bucket)
    assert in_buckets + sum(sign * counted(held, first, last)
                            for sign, first, last in plan.ranges) == counted(held, lo, hi)
    assert all(last - first + 1 <= size // 2 for _, first, last in plan.ranges if first <= last)


def test_a_count_plan_refuses_a_range_outside_uint64_or_backwards() -> None:
    for lo, hi in ((5, 4), (-1, 3), (0, UINT64_MAX + 1)):
        with pytest.raises(ValueError, match="expected seqs 0 <= lo <= hi"):
            plan_count(lo, hi)


def signed(meter: int, seq: int, variant: int, quantity: str) -> SignedReading:
    path = METER_PATHS[meter]
    reading = Reading(device=DEVICE, meter=meter_id(path), seq=seq, timestamp=T0 + 60 * seq,
                      quantity=quantity, value=1000 * meter + seq + 7 * variant,
                      salt=bytes([variant + 1]) * 32)
    return TEST_KEY.sign_reading(reading, TEST_DOMAIN, path)


def assert_counts_equal_count(engine: Engine, queries: list[tuple[int, int]]) -> None:
    stored, grouped = stored_and_counted_buckets(engine)
    assert stored == grouped
    ranges = [(DEVICE, meter, quantity, min(a, b), max(a, b)) for meter in METERS
              for quantity in (ENERGY, POWER) for a, b in queries]
    with Session(engine) as session:
        plain = [session.scalar(select(func.count()).select_from(ReadingRow).where(
            ReadingRow.device == device, ReadingRow.meter == meter,
            ReadingRow.quantity == quantity, ReadingRow.seq >= lo, ReadingRow.seq <= hi))
            for device, meter, quantity, lo, hi in ranges]
        assert held_counts(session.connection(), ranges) == plain


_RUN = st.tuples(st.integers(0, 1), st.integers(0, SEQS - 1), st.integers(1, 80),
                 st.integers(0, 1))  # (meter, first seq, length, variant)
_STEP = st.one_of(st.lists(_RUN, min_size=1, max_size=3),  # a request
                  st.tuples(st.integers(0, 500), st.integers(1, 120)))  # positions deleted


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=st.lists(_STEP, min_size=1, max_size=5), power=st.sets(st.integers(0, SEQS - 1)),
       queries=st.lists(st.tuples(st.integers(0, SEQS), st.integers(0, SEQS)), min_size=1,
                        max_size=6))
@example(steps=[[(0, 0, 80, 0), (1, 150, 80, 0)], [(0, 120, 80, 0)], [(0, 60, 80, 1)],
                (30, 100), [(0, 80, 50, 0), (1, 0, 80, 0)]],
         power={3, 99, 100, 101, 150}, queries=[(0, SEQS), (2, 198), (99, 100), (150, 150)])
def test_bucket_counts_equal_a_plain_count_in_any_arrival_order_and_after_deletions(
        ledger_engine: Engine, steps: list[list[tuple[int, int, int, int]] | tuple[int, int]],
        power: set[int], queries: list[tuple[int, int]]) -> None:
    with Session(ledger_engine) as session, session.begin():  # each example from empty
        for table in reversed(Base.metadata.sorted_tables):
            session.execute(delete(table))
    devices = StaticDevices({DEVICE})
    for step in steps:
        with Session(ledger_engine) as session, session.begin():
            if isinstance(step, tuple):  # as a purge deletes a batch's readings
                first, length = step
                session.execute(delete(ReadingRow).where(
                    ReadingRow.device == DEVICE, ReadingRow.position >= first,
                    ReadingRow.position < first + length))
                continue
            items = [signed(meter, seq, variant, POWER if seq in power else ENERGY)
                     for meter, first, length, variant in step
                     for seq in range(first, min(SEQS, first + length))]
            ingest(session, UplinkRequest.of(DEVICE, TEST_DOMAIN, items), devices,
                   TEST_DOMAIN, now=NOW)
        assert_counts_equal_count(ledger_engine, queries)


def test_a_retention_purge_subtracts_its_readings_from_their_buckets(
        fleet: Fleet, ledger_engine: Engine) -> None:
    before, _ = stored_and_counted_buckets(ledger_engine)
    with Session(ledger_engine) as session, session.begin():
        report = purge(session, enterprise=A, cutoff=parse_cutoff("2016-01-01"),
                       reason="end of retention", actor="cli operator test",
                       principal_id=None, retention_years=10, now=NOW, confirm=True)
    assert report.counts["readings"] > 0
    stored, grouped = stored_and_counted_buckets(ledger_engine)
    assert stored == grouped
    assert sum(before.values()) - sum(stored.values()) == report.counts["readings"]


def _bulk(engine: Engine, seqs: list[int], quantity: str = ENERGY) -> None:
    """Readings of meter 0 at ``seqs`` by the bulk insert (``COPY`` on PostgreSQL)."""
    with Session(engine) as session, session.begin():
        connection = session.connection()
        insert_rows(connection, LeafRow.__table__,  # type: ignore[arg-type]
                    LEAF_COLUMNS, [(DEVICE, p, "reading", bytes(32), 0, 0, 0, NOW, 0)
                                   for p in range(len(seqs))])
        insert_rows(connection, ReadingRow.__table__,  # type: ignore[arg-type]
                    READING_COLUMNS, [(DEVICE, p, METERS[0], METER_PATHS[0], seq, 0, quantity,
                                       p, bytes(32), bytes(65)) for p, seq in enumerate(seqs)])


def test_buckets_follow_seqs_across_the_whole_uint64_range(ledger_engine: Engine) -> None:
    top = UINT64_MAX
    seqs = [0, 99, 100, 2**63 - 1, 2**63, 2**63 + 99, top - 115, top - 16, top - 15, top]
    _bulk(ledger_engine, seqs)
    stored, grouped = stored_and_counted_buckets(ledger_engine)
    assert stored == grouped and len(stored) == 6
    queries = [(0, top), (1, 2**63), (2**63, top - 16), (top - 15, top), (top - 200, top - 1)]
    with Session(ledger_engine) as session:
        assert held_counts(session.connection(), [
            (DEVICE, METERS[0], ENERGY, lo, hi) for lo, hi in queries]) == [
            sum(1 for s in seqs if lo <= s <= hi) for lo, hi in queries]


def test_a_reading_whose_key_columns_change_moves_bucket_and_a_value_change_moves_none(
        ledger_engine: Engine) -> None:
    _bulk(ledger_engine, [5, 6, 7, 150])
    with Session(ledger_engine) as session, session.begin():
        session.execute(update(ReadingRow).where(ReadingRow.seq == 6).values(value=10**9))
    assert stored_and_counted_buckets(ledger_engine)[0] == {
        (DEVICE, METERS[0], ENERGY, 0): 3, (DEVICE, METERS[0], ENERGY, 1): 1}
    with Session(ledger_engine) as session, session.begin():
        session.execute(update(ReadingRow).where(ReadingRow.seq == 5).values(seq=250))
        session.execute(update(ReadingRow).where(ReadingRow.seq == 150).values(quantity=POWER))
    stored, grouped = stored_and_counted_buckets(ledger_engine)
    assert stored == grouped == {(DEVICE, METERS[0], ENERGY, 0): 2,
                                 (DEVICE, METERS[0], ENERGY, 2): 1,
                                 (DEVICE, METERS[0], POWER, 1): 1}
