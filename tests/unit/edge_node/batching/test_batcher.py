"""The batcher: batches close by size or age, in commit order, over readings and records, with
a signed header and a pending outbox row, all in one transaction."""

from __future__ import annotations

import pytest
from unit.edge_node.support import METER, energy

from edge_node._internal.crashpoints import CrashPoints
from edge_node.batching import Batcher, BatchingSettings
from edge_node.signing import ReadingSigner
from edge_node.store import NewRecord, Store
from edge_node.store.models import OutboxRow
from edge_node.store.queries import batches, counts, readings
from factories import TEST_DOMAIN, TEST_KEY
from mrv_core.eip712 import batch_digest
from mrv_core.errors import ConfigError
from mrv_core.merkle import MerkleTree
from mrv_core.signing import recover_address


class Crash(BaseException):
    pass


def _raise(name: str) -> None:
    raise Crash(name)


def _sign(store: Store, count: int, *, start: int = 1000, now: int = 0) -> None:
    ReadingSigner(store, TEST_KEY).sign_cycle(
        [energy(start + i, i) for i in range(count)], now=now)


def test_full_batches_close_by_size_in_commit_order_and_the_rest_waits(store: Store) -> None:
    _sign(store, 7)
    closed = Batcher(store, TEST_KEY, settings=BatchingSettings(max_leaves=3, max_age_s=600)
                     ).close_due(now=10)
    assert [(h.batch_seq, h.leaf_count, h.from_timestamp, h.to_timestamp) for h in closed] == [
        (0, 3, 1000, 1002), (1, 3, 1003, 1005)]
    assert [r.batch_seq for r in readings(store)] == [0, 0, 0, 1, 1, 1, None]


def test_a_partial_batch_closes_by_age_of_its_oldest_leaf(store: Store) -> None:
    _sign(store, 2, now=100)
    batcher = Batcher(store, TEST_KEY, settings=BatchingSettings(max_leaves=10, max_age_s=60))
    assert batcher.close_due(now=159) == []
    (header,) = batcher.close_due(now=160)
    assert header.leaf_count == 2


def test_a_batch_covers_records_too_and_its_header_is_signed_with_its_root(store: Store) -> None:
    _sign(store, 2)
    record = NewRecord(kind="gap", leaf=bytes([9]) * 32, signature=bytes(65), wire="{}",
                       time_from=900, time_to=1500, meter_path=METER)
    with store.write() as session:
        store.add_records(session, [record], now=0)
    (header,) = Batcher(store, TEST_KEY).close_due(now=0, force=True)
    (batch,) = batches(store)
    assert batch.header == header
    assert batch.leaves == (*[r.leaf for r in readings(store)], bytes([9]) * 32)
    assert header.root == MerkleTree(list(batch.leaves)).root
    assert (header.leaf_count, header.from_timestamp, header.to_timestamp) == (3, 900, 1500)
    assert recover_address(batch_digest(header, TEST_DOMAIN), batch.signature) == TEST_KEY.address
    with store.read() as session:
        outbox = session.get(OutboxRow, (TEST_KEY.address, 0))
        assert outbox is not None and outbox.state == "pending"


def test_a_crash_while_closing_leaves_no_batch_and_no_batched_leaf(store: Store) -> None:
    _sign(store, 3)
    with pytest.raises(Crash):
        Batcher(store, TEST_KEY, crash=CrashPoints("batch-before-commit", action=_raise)
                ).close_due(now=0, force=True)
    assert batches(store) == []
    assert [r.batch_seq for r in readings(store)] == [None] * 3
    (header,) = Batcher(store, TEST_KEY).close_due(now=0, force=True)
    assert header.batch_seq == 0


def test_batch_sizes_outside_the_uint32_leaf_count_are_refused() -> None:
    with pytest.raises(ConfigError, match="max_leaves"):
        BatchingSettings(max_leaves=0)
    with pytest.raises(ConfigError, match="max_leaves"):
        BatchingSettings(max_leaves=2**32)


def test_counts_give_status_totals_of_leaves_batches_and_the_outbox(store: Store) -> None:
    _sign(store, 5, now=100)
    with store.write() as session:
        store.add_records(session, [NewRecord(kind="gap", leaf=bytes([9]) * 32,
                                              signature=bytes(65), wire="{}", time_from=1,
                                              time_to=2)], now=120)
    Batcher(store, TEST_KEY, settings=BatchingSettings(max_leaves=4)).close_due(now=130)
    totals = counts(store)
    assert totals.leaves == {"reading": 5, "gap": 1}
    assert (totals.unbatched, totals.oldest_unbatched_at) == (2, 100)
    assert totals.outbox == {"pending": 1} and totals.last_final is None
    assert totals.file_bytes > 0
