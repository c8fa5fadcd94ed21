"""Counter marks at ingest (ledger_api.ingest.marks): after any arrival order (in order, gap
fills, duplicates, conflicting offers, several meters in one request, meters whose seqs
interleave a counter with a power point), on SQLite and a real PostgreSQL, the stored marks
are exactly the held readings of a cumulative quantity below their counter's previous held
reading, found naively over all held readings; each counter's top is its highest held
reading."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import pairwise

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from ledger_support import StaticDevices
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from factories import METER_PATHS, TEST_DOMAIN, TEST_KEY
from ledger_api.db.models import Base, CounterMarkRow, CounterTopRow, ReadingRow
from ledger_api.ingest.marks import window_marks
from ledger_api.ingest.service import ingest
from mrv_core.reading import Reading, SignedReading, meter_id
from mrv_core.uplink import UplinkRequest

NOW = datetime(2026, 11, 30, tzinfo=UTC)
T0 = 1_780_000_000
SEQS = 12
ENERGY, POWER = "energy.active.import:Wh", "power.active:W"


def signed(meter: int, seq: int, value: int, variant: int, quantity: str) -> SignedReading:
    path = METER_PATHS[meter]
    reading = Reading(device=TEST_KEY.address, meter=meter_id(path), seq=seq,
                      timestamp=T0 + 60 * seq, quantity=quantity, value=value,
                      salt=bytes([variant + 1]) * 32)
    return TEST_KEY.sign_reading(reading, TEST_DOMAIN, path)


def counters(held: dict[tuple[int, int], tuple[str, int]]
             ) -> dict[tuple[int, str], list[tuple[int, int]]]:
    """The held readings of each counter (meter, cumulative quantity), (seq, value) by seq."""
    found: dict[tuple[int, str], list[tuple[int, int]]] = {}
    for (meter, seq), (quantity, value) in sorted(held.items()):
        if quantity == ENERGY:
            found.setdefault((meter, quantity), []).append((seq, value))
    return found


def naive_marks(held: dict[tuple[int, int], tuple[str, int]]) -> set[tuple[int, int]]:
    """(meter, seq) of every counter reading below its counter's previous held reading."""
    return {(meter, b[0]) for (meter, _), readings in counters(held).items()
            for a, b in pairwise(readings) if b[1] < a[1]}


def test_window_marks_mark_new_readings_and_decide_held_successors_again() -> None:
    assert window_marks([(3, 5, True), (4, 2, True), (6, 2, True), (7, 1, True)]) == ([4, 7],
                                                                                        [])
    assert window_marks([(2, 9, False), (3, 5, True), (5, 4, False)]) == ([3, 5], [5])
    assert window_marks([(2, 1, False), (3, 5, True), (5, 6, False)]) == ([], [5])
    assert window_marks([(2, 9, False), (5, 4, False)]) == ([], [])  # held after held


_ITEM = st.tuples(st.integers(0, 1), st.integers(0, SEQS - 1), st.integers(0, 1))
_KINDS = st.lists(st.sampled_from([ENERGY, ENERGY, POWER]), min_size=SEQS, max_size=SEQS)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(st.lists(st.integers(0, 4), min_size=SEQS, max_size=SEQS), min_size=2,
                       max_size=2),
       requests=st.lists(st.lists(_ITEM, min_size=1, max_size=10), min_size=1, max_size=6),
       kinds=_KINDS)
@example(values=[[4, 3, 2, 1] * 3, [0, 1, 2, 3] * 3], kinds=[ENERGY] * SEQS,
         requests=[[(0, 0, 0), (0, 11, 0)], [(0, 5, 0), (0, 6, 0)], [(0, 1, 0), (0, 3, 0)],
                   [(0, 2, 0), (0, 4, 0), (1, 3, 0), (1, 4, 1)], [(1, 2, 0), (0, 6, 1)]])
@example(values=[[5, 9, 4, 1, 3, 0, 0, 0, 0, 0, 0, 0]] * 2,
         kinds=[ENERGY, POWER, ENERGY, POWER, ENERGY] + [POWER] * 7,
         requests=[[(0, 0, 0), (0, 1, 0)], [(0, 4, 0)], [(0, 2, 0)], [(0, 3, 0)]])
def test_marks_equal_the_naive_decreases_over_the_held_readings_in_any_arrival_order(
        ledger_engine: Engine, values: list[list[int]],
        requests: list[list[tuple[int, int, int]]], kinds: list[str]) -> None:
    with Session(ledger_engine) as session, session.begin():  # each example from empty
        for table in reversed(Base.metadata.sorted_tables):
            session.execute(delete(table))
    devices = StaticDevices({TEST_KEY.address})
    held: dict[tuple[int, int], tuple[str, int]] = {}
    meters = {meter_id(METER_PATHS[m]): m for m in (0, 1)}
    for request in requests:
        items = []
        for m, seq, variant in request:
            value = values[m][seq] + 7 * variant  # another variant: another value, a conflict
            items.append(signed(m, seq, value, variant, kinds[seq]))
            held.setdefault((m, seq), (kinds[seq], value))  # the first offer is the one held
        with Session(ledger_engine) as session, session.begin():
            ingest(session, UplinkRequest.of(TEST_KEY.address, TEST_DOMAIN, items), devices,
                   TEST_DOMAIN, now=NOW)
        with Session(ledger_engine) as session:
            stored = {(meters[meter], seq) for meter, seq in session.execute(
                select(CounterMarkRow.meter, CounterMarkRow.seq))}
            rows = {(meters[meter], seq): (quantity, value)
                    for meter, seq, quantity, value in session.execute(
                        select(ReadingRow.meter, ReadingRow.seq, ReadingRow.quantity,
                               ReadingRow.value))}
            tops = {(meters[meter], quantity): (seq, value)
                    for meter, quantity, seq, value in session.execute(
                        select(CounterTopRow.meter, CounterTopRow.quantity, CounterTopRow.seq,
                               CounterTopRow.value))}
        assert rows == held
        assert stored == naive_marks(held)
        assert tops == {key: readings[-1] for key, readings in counters(held).items()}
