"""Retention: a leaf leaves the store only when anchored final, acknowledged by the ledger API
(its batch header too), older than the cutoff, and not the newest; the ordinals never restart."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from unit.edge_node.support import energy

from edge_node.anchoring import Outbox
from edge_node.batching import Batcher, BatchingSettings
from edge_node.signing import ReadingSigner
from edge_node.store import Store, StoreUplink
from edge_node.store.models import LeafRow, ReadingRow
from edge_node.store.retention import prune
from factories import TEST_DOMAIN, TEST_KEY

T0 = 1_767_225_600


def _fill(store: Store, cycles: int, batch_size: int = 4) -> None:
    """``cycles`` readings committed one a minute from T0, batches of ``batch_size``."""
    signer = ReadingSigner(store, TEST_KEY)
    for k in range(cycles):
        signer.sign_cycle([energy(T0 + 60 * k, 1000 + k)], now=T0 + 60 * k)
    Batcher(store, TEST_KEY, settings=BatchingSettings(max_leaves=batch_size)).close_due(
        now=T0 + 60 * cycles, force=True)


def _final(store: Store, *batch_seqs: int) -> None:
    outbox = Outbox(store)
    for seq in batch_seqs:
        outbox.final(seq, bytes(32), 10 + seq, T0, T0)


def _leaves(store: Store) -> list[int]:
    with store.read() as session:
        return list(session.scalars(select(LeafRow.ordinal).order_by(LeafRow.ordinal)))


def test_nothing_unacknowledged_is_pruned_even_when_final_and_old(store: Store) -> None:
    _fill(store, 12)
    _final(store, 0, 1, 2)
    assert prune(store, cutoff=T0 + 10**6).leaves == 0
    assert _leaves(store) == list(range(1, 13))


def test_a_leaf_goes_only_when_final_acknowledged_with_its_header_and_old(store: Store) -> None:
    _fill(store, 12)  # batches 0..2 of leaves 1-4, 5-8, 9-12
    _final(store, 0, 1)
    uplink = StoreUplink(store)
    uplink.acknowledge("leaves", 10)
    uplink.acknowledge("batches", 0)  # the header of batch 1 is not acknowledged yet
    assert prune(store, cutoff=T0 + 10**6).leaves == 4
    assert _leaves(store) == list(range(5, 13))
    uplink.acknowledge("batches", 2)
    # Batch 1 is now due; batch 2 is not final; the cutoff keeps leaves committed from T0+420.
    pruned = prune(store, cutoff=T0 + 420)
    assert (pruned.leaves, pruned.first, pruned.last) == (3, 5, 7)
    assert _leaves(store) == [8, 9, 10, 11, 12]
    with store.read() as session:
        assert session.scalar(select(func.count()).select_from(ReadingRow)) == 5


def test_the_newest_leaf_stays_so_ordinals_never_restart(store: Store) -> None:
    _fill(store, 4)
    _final(store, 0)
    StoreUplink(store).acknowledge("leaves", 4)
    StoreUplink(store).acknowledge("batches", 0)
    assert prune(store, cutoff=T0 + 10**6).leaves == 3
    assert _leaves(store) == [4]
    ReadingSigner(store, TEST_KEY).sign_cycle([energy(T0 + 600, 2000)], now=T0 + 600)
    assert _leaves(store) == [4, 5]


@settings(max_examples=25, deadline=None)
@given(cycles=st.integers(1, 14), final=st.integers(-1, 3), acked_leaves=st.integers(-1, 14),
       acked_batches=st.integers(-1, 3), cutoff_minutes=st.integers(0, 16))
def test_pruned_leaves_are_exactly_those_every_rule_allows(
        tmp_path_factory: object, cycles: int, final: int, acked_leaves: int,
        acked_batches: int, cutoff_minutes: int) -> None:


    with tempfile.TemporaryDirectory() as directory, \
            Store(Path(directory) / "edge.sqlite", TEST_KEY.address, TEST_DOMAIN) as store:
        _fill(store, cycles)
        batches = (cycles + 3) // 4
        _final(store, *range(min(final, batches - 1) + 1))
        uplink = StoreUplink(store)
        if acked_leaves >= 1:
            uplink.acknowledge("leaves", min(acked_leaves, cycles))
        if acked_batches >= 0:
            uplink.acknowledge("batches", min(acked_batches, batches - 1))
        cutoff = T0 + 60 * cutoff_minutes
        with store.read() as session:
            rows = session.execute(select(LeafRow.ordinal, LeafRow.batch_seq,
                                          LeafRow.committed_at)).all()
        leaves_acked = uplink.acknowledged_through("leaves")
        batches_acked = uplink.acknowledged_through("batches")
        allowed = {o for o, b, c in rows
                   if b is not None and b <= min(final, batches - 1) and o <= leaves_acked
                   and b <= batches_acked and c < cutoff and o < cycles and leaves_acked >= 1}
        prune(store, cutoff=cutoff)
        assert set(_leaves(store)) == {o for o, _b, _c in rows} - allowed
