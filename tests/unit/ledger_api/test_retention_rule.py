"""The purge rule as a property (hypothesis, on SQLite): for random batches (data ages, anchor
states, sizes) of devices of two enterprises and a random cutoff, a purge of one enterprise
deletes exactly the batches the rule names (that enterprise's, ``final``, data ended before the
cutoff) with all of their leaves and readings, and nothing of any other batch: never half a
batch.

The rows are written directly (positions, leaves, readings as ingest lays them out, with
arbitrary leaf bytes): the purge never re-verifies, and the path through the real ingest and
signatures is covered by test_retention.py on both databases.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from retention_support import NOW, A, B
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session

from ledger_api.db.engine import make_engine, make_sessions
from ledger_api.db.migrate import upgrade
from ledger_api.db.models import (
    AnchorRow,
    BatchRow,
    DeviceStreamRow,
    LeafRow,
    ReadingRow,
    RecordRow,
    RetentionPurgeRow,
)
from ledger_api.retention import latest_cutoff, purge

DEVICES = {b"\x01" * 20: A, b"\x02" * 20: A, b"\x03" * 20: B}
STATES = ("unanchored", "anchored", "final", "mismatch")
DAY = 86_400
#: A batch: (days before NOW its data ended, anchor state, leaf count).
BATCHES = st.lists(st.tuples(st.integers(0, 25 * 366), st.sampled_from(STATES),
                             st.integers(1, 3)), max_size=5)


def store(session: Session, device: bytes, batches: list[tuple[int, str, int]]) -> None:
    """The device's stream, and its batches one after another as ingest stores them."""
    now_s = int(NOW.timestamp())
    position = 0
    for seq, (age_days, state, count) in enumerate(batches):
        end = now_s - age_days * DAY
        for i in range(count):
            session.add(LeafRow(device=device, position=position + i, kind="reading",
                                leaf=bytes([seq, i]) * 16, time_from=end - count + i + 1,
                                time_to=end - count + i + 1, batch_seq=seq, received_at=NOW,
                                lag_s=0))
            session.add(ReadingRow(device=device, position=position + i, meter=b"\x05" * 32,
                                   meter_path="p/m", seq=position + i,
                                   timestamp=end - count + i + 1, quantity="q", value=i,
                                   salt=b"\x06" * 32, signature=b"\x07" * 65))
        session.add(BatchRow(device=device, batch_seq=seq, root=b"\x08" * 32, leaf_count=count,
                             from_timestamp=end - count + 1, to_timestamp=end,
                             signature=b"\x09" * 65, first_position=position, received_at=NOW,
                             anchor_state=state))
        position += count
    session.add(DeviceStreamRow(device=device, next_position=position, batched_through=position,
                                next_batch_seq=len(batches), first_seen=NOW, last_seen=NOW,
                                enterprise=DEVICES[device]))


@pytest.fixture(scope="module")
def rule_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """One migrated SQLite ledger for every example (each empties it first)."""
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('rule') / 'rule.sqlite'}")
    upgrade(engine)
    yield engine
    engine.dispose()


@settings(max_examples=40, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(fleet=st.tuples(*(BATCHES for _ in DEVICES)),
       extra_days=st.integers(0, 15 * 366), years=st.integers(5, 12))
def test_a_purge_deletes_exactly_the_batches_the_rule_names_and_never_half_a_batch(
        rule_engine: Engine, fleet: tuple[list[tuple[int, str, int]], ...], extra_days: int,
        years: int) -> None:
    engine = rule_engine
    sessions = make_sessions(engine)
    with sessions.begin() as session:
        for model in (ReadingRow, RecordRow, LeafRow, AnchorRow, BatchRow, DeviceStreamRow,
                      RetentionPurgeRow):
            session.execute(delete(model))
        for device, batches in zip(DEVICES, fleet, strict=True):
            store(session, device, batches)
    cutoff = latest_cutoff(NOW - timedelta(days=extra_days), years)
    with sessions.begin() as session:
        done = purge(session, enterprise=A, cutoff=cutoff, reason="property",
                     actor="test", principal_id=None, retention_years=years, now=NOW,
                     confirm=True)
    everything = {(device, seq): (age, state, count)
                  for device, batches in zip(DEVICES, fleet, strict=True)
                  for seq, (age, state, count) in enumerate(batches)}
    now_s = int(NOW.timestamp())
    predicted = {key for key, (age, state, _) in everything.items()
                 if DEVICES[key[0]] == A and state == "final"
                 and now_s - age * DAY < cutoff}
    with Session(engine) as session:
        left = {(d, s) for d, s in session.execute(select(BatchRow.device,
                                                          BatchRow.batch_seq))}
        leaves = [(d, s) for d, s in session.execute(select(LeafRow.device,
                                                            LeafRow.batch_seq))]
        readings = session.scalar(select(func.count()).select_from(ReadingRow))
    assert left == set(everything) - predicted
    # Every kept batch keeps all of its leaves and readings; no deleted one keeps any.
    assert sorted(leaves) == sorted(key for key in left for _ in range(everything[key][2]))
    assert readings == len(leaves)
    deleted_leaves = sum(everything[key][2] for key in predicted)
    assert done.counts == {"readings": deleted_leaves, "records": 0,
                           "leaves": deleted_leaves, "anchors": 0,
                           "batches": len(predicted)}
    assert sum(done.kept.values()) == sum(
        1 for key, (age, state, _) in everything.items()
        if DEVICES[key[0]] == A and state != "final" and now_s - age * DAY < cutoff)
