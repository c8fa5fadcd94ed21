"""Counter marks at ingest (ledger_api.ingest.marks): after any arrival order (in order, gap
fills, duplicates, conflicting offers, several meters in one request), on SQLite and a real
PostgreSQL, the stored marks are exactly the held readings whose value is below the previous
held reading's, found naively over all held readings; ``max_value`` is the value at
``max_seq``."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import pairwise

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from ledger_support import StaticDevices
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from factories import METER_PATHS, TEST_DOMAIN, TEST_KEY
from ledger_api.db.models import Base, CounterMarkRow, MeterStreamRow, ReadingRow
from ledger_api.ingest.marks import fresh_marks
from ledger_api.ingest.service import ingest
from mrv_core.reading import Reading, SignedReading, meter_id
from mrv_core.uplink import UplinkRequest

NOW = datetime(2026, 11, 30, tzinfo=UTC)
T0 = 1_780_000_000
SEQS = 12


def signed(meter: int, seq: int, value: int, variant: int) -> SignedReading:
    path = METER_PATHS[meter]
    reading = Reading(device=TEST_KEY.address, meter=meter_id(path), seq=seq,
                      timestamp=T0 + 60 * seq, quantity="energy.active.import:Wh", value=value,
                      salt=bytes([variant + 1]) * 32)
    return TEST_KEY.sign_reading(reading, TEST_DOMAIN, path)


def naive_marks(held: dict[tuple[int, int], int]) -> set[tuple[int, int]]:
    """(meter, seq) of every held reading below the previous held reading of its meter."""
    marks = set()
    for meter in {m for m, _ in held}:
        seqs = sorted(s for m, s in held if m == meter)
        for a, b in pairwise(seqs):
            if held[(meter, b)] < held[(meter, a)]:
                marks.add((meter, b))
    return marks


def test_fresh_marks_chain_from_the_previous_value_and_decide_the_following_again() -> None:
    assert fresh_marks(None, [(3, 5), (4, 2), (6, 2), (7, 1)]) == ([4, 7], None)
    assert fresh_marks(9, [(3, 5)], (5, 4)) == ([3], True)
    assert fresh_marks(1, [(3, 5)], (5, 6)) == ([], False)
    assert fresh_marks(None, [], (5, 6)) == ([], False)


_ITEM = st.tuples(st.integers(0, 1), st.integers(0, SEQS - 1), st.integers(0, 1))


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(st.lists(st.integers(0, 4), min_size=SEQS, max_size=SEQS), min_size=2,
                       max_size=2),
       requests=st.lists(st.lists(_ITEM, min_size=1, max_size=10), min_size=1, max_size=6))
@example(values=[[4, 3, 2, 1] * 3, [0, 1, 2, 3] * 3],
         requests=[[(0, 0, 0), (0, 11, 0)], [(0, 5, 0), (0, 6, 0)], [(0, 1, 0), (0, 3, 0)],
                   [(0, 2, 0), (0, 4, 0), (1, 3, 0), (1, 4, 1)], [(1, 2, 0), (0, 6, 1)]])
def test_marks_equal_the_naive_decreases_over_the_held_readings_in_any_arrival_order(
        ledger_engine: Engine, values: list[list[int]],
        requests: list[list[tuple[int, int, int]]]) -> None:
    with Session(ledger_engine) as session, session.begin():  # each example from empty
        for table in reversed(Base.metadata.sorted_tables):
            session.execute(delete(table))
    devices = StaticDevices({TEST_KEY.address})
    held: dict[tuple[int, int], int] = {}
    meters = {meter_id(METER_PATHS[m]): m for m in (0, 1)}
    for request in requests:
        items = []
        for m, seq, variant in request:
            value = values[m][seq] + 7 * variant  # another variant: another value, a conflict
            items.append(signed(m, seq, value, variant))
            held.setdefault((m, seq), value)  # the first offer under a key is the one held
        with Session(ledger_engine) as session, session.begin():
            ingest(session, UplinkRequest.of(TEST_KEY.address, TEST_DOMAIN, items), devices,
                   TEST_DOMAIN, now=NOW)
        with Session(ledger_engine) as session:
            stored = {(meters[meter], seq) for meter, seq in session.execute(
                select(CounterMarkRow.meter, CounterMarkRow.seq))}
            rows = {(meters[meter], seq): value for meter, seq, value in session.execute(
                select(ReadingRow.meter, ReadingRow.seq, ReadingRow.value))}
            tops = {meters[meter]: (max_seq, max_value) for meter, max_seq, max_value in
                    session.execute(select(MeterStreamRow.meter, MeterStreamRow.max_seq,
                                           MeterStreamRow.max_value))}
        assert rows == held
        assert stored == naive_marks(held)
        for m, (max_seq, max_value) in tops.items():
            assert max_seq == max(s for n, s in held if n == m)
            assert max_value == held[(m, max_seq)]
