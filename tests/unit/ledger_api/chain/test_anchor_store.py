"""The chain watcher's tables (``ledger_api.chain.anchor_store``) on SQLite and a real
PostgreSQL, without a chain: random histories of anchors mined and reorganised away are stored,
orphaned and reconciled, and every batch's stored state is compared with the pure rule applied
to the anchors still on the chain; the cursor, the JSON of event arguments and the "never"
queries."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from ledger_api.chain.anchor_store import (
    anchor_mismatches,
    anchors_without_data,
    batches_without_anchor,
    event_args_json,
    load_cursor,
    orphan_after,
    reconcile_batches,
    save_cursor,
    store_anchors,
)
from ledger_api.chain.anchors import Anchor, BlockRef, batch_state
from ledger_api.db.models import AnchorRow, BatchRow, ChainEventRow, WatcherCursorRow
from ledger_api.errors import ApiConfigError
from mrv_core.batch import BatchHeader

DEVICE = b"\xd1" * 20
REGISTRY = b"\xa7" * 20
T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
SEQS = 4


def root_of(seq: int, good: bool) -> bytes:
    return bytes([seq + 1 if good else 0xF0 + seq]) * 32


def batch_row(seq: int, received_at: datetime = T0) -> BatchRow:
    return BatchRow(device=DEVICE, batch_seq=seq, root=root_of(seq, True), leaf_count=1,
                    from_timestamp=1, to_timestamp=2, signature=b"\x00" * 65,
                    first_position=seq, received_at=received_at)


def block_hash(number: int, branch: int) -> bytes:
    return bytes([branch]) + number.to_bytes(31, "big")


def header_of(seq: int, good: bool) -> BatchHeader:
    """The header held for ``seq`` (``good``), or one signed under the same batchSeq with
    another root (even seqs) or the same root and another leaf count (odd seqs)."""
    if good or seq % 2 == 0:
        return BatchHeader(device=DEVICE, batch_seq=seq, root=root_of(seq, good), leaf_count=1,
                           from_timestamp=1, to_timestamp=2)
    return BatchHeader(device=DEVICE, batch_seq=seq, root=root_of(seq, True), leaf_count=2,
                       from_timestamp=1, to_timestamp=2)


def anchor(seq: int, good: bool, number: int, branch: int, timestamp: int = 1000) -> Anchor:
    return Anchor(header_of(seq, good), b"\x7e" * 32, 0,
                  BlockRef(number, block_hash(number, branch)), timestamp)


@dataclass
class Model:
    """The chain as the test drives it: anchors on it, the head, the branch being mined."""

    head: int = 10
    branch: int = 1
    on_chain: dict[int, list[tuple[BatchHeader, int]]] = field(default_factory=dict)
    #: The hash of each block the test mined an anchor in, on the current chain.
    hashes: dict[int, bytes] = field(default_factory=dict)


steps = st.lists(st.one_of(
    st.tuples(st.just("anchor"), st.integers(0, SEQS - 1), st.booleans()),
    st.tuples(st.just("mine"), st.integers(1, 3), st.just(False)),
    st.tuples(st.just("reorg"), st.integers(0, 6), st.just(False))), max_size=14)


def reset(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        for model in (AnchorRow, ChainEventRow, BatchRow, WatcherCursorRow):
            session.execute(delete(model))


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=steps, confirmations=st.integers(0, 3))
def test_stored_batch_states_equal_the_rule_over_the_anchors_still_on_the_chain(
        ledger_engine: Engine, history: list[tuple[str, int, bool]], confirmations: int) -> None:
    reset(ledger_engine)
    model = Model()
    with Session(ledger_engine) as session, session.begin():
        session.add_all(batch_row(seq) for seq in range(SEQS))
    for kind, value, good in history:
        with Session(ledger_engine) as session, session.begin():
            if kind == "anchor":
                if model.on_chain.get(value):
                    continue  # the AnchorRegistry takes one anchor per (device, batchSeq)
                model.head += 1
                mined = anchor(value, good, model.head, model.branch)
                store_anchors(session, [mined], T0)
                model.on_chain[value] = [(header_of(value, good), model.head)]
                model.hashes[model.head] = mined.block.hash
            elif kind == "mine":
                model.head += value
            else:  # a reorganisation: blocks above the fork leave, the chain regrows longer
                fork = max(10, model.head - value)
                orphan_after(session, BlockRef(fork, model.hashes.get(fork, b"\x00" * 32)), T0)
                model.hashes = {n: h for n, h in model.hashes.items() if n <= fork}
                model.on_chain = {s: [a for a in found if a[1] <= fork]
                                  for s, found in model.on_chain.items()}
                model.branch += 1
                model.head += 1
            reconcile_batches(session, model.head, confirmations)
        with Session(ledger_engine) as session:
            stored = {seq: state for seq, state in session.execute(
                select(BatchRow.batch_seq, BatchRow.anchor_state))}
        assert stored == {
            seq: batch_state(header_of(seq, True), model.on_chain.get(seq, []), model.head,
                             confirmations).value
            for seq in range(SEQS)}


def test_an_anchor_back_in_its_very_block_is_unorphaned_not_stored_twice(
        ledger_engine: Engine) -> None:
    with Session(ledger_engine) as session, session.begin():
        session.add(batch_row(0))
        assert store_anchors(session, [anchor(0, True, 12, 1)], T0) == 1
        assert store_anchors(session, [anchor(0, True, 12, 1)], T0) == 0
        orphan_after(session, BlockRef(11, block_hash(11, 1)), T0)
        reconcile_batches(session, 20, 1)
        assert session.scalar(select(BatchRow.anchor_state)) == "unanchored"
        assert store_anchors(session, [anchor(0, True, 12, 1)], T0) == 1
        reconcile_batches(session, 20, 1)
        assert session.scalar(select(BatchRow.anchor_state)) == "final"
        [row] = session.scalars(select(AnchorRow))
        assert row.orphaned_at is None


def test_the_cursor_round_trips_and_refuses_another_anchor_registry(
        ledger_engine: Engine) -> None:
    big = BlockRef(2**64 - 1, b"\x55" * 32)  # block numbers are uint64 columns
    with Session(ledger_engine) as session, session.begin():
        assert load_cursor(session, REGISTRY) is None
        save_cursor(session, REGISTRY, BlockRef(5, b"\x05" * 32), T0)
        save_cursor(session, REGISTRY, big, T0)
    with Session(ledger_engine) as session, session.begin():
        assert load_cursor(session, REGISTRY, for_update=True) == big
        with pytest.raises(ApiConfigError, match="follows AnchorRegistry 0xa7a7"):
            load_cursor(session, b"\x01" * 20)
        save_cursor(session, REGISTRY, None, T0)
        assert load_cursor(session, REGISTRY) is None


def test_the_never_flags_wait_for_their_deadline(ledger_engine: Engine) -> None:
    mined = int(T0.timestamp())
    with Session(ledger_engine) as session, session.begin():
        session.add_all([batch_row(0, T0), batch_row(1, T0 + timedelta(seconds=30))])
        store_anchors(session, [anchor(0, False, 11, 1, mined), anchor(2, True, 12, 1, mined)],
                      T0)
        reconcile_batches(session, 12, 1)
    with Session(ledger_engine) as session:
        assert [(b.batch_seq, a.batch_seq) for b, a in anchor_mismatches(session)] == [(0, 0)]
        at = T0 + timedelta(seconds=100)
        assert anchors_without_data(session, now=at, deadline_s=100) == []
        assert [a.batch_seq for a in anchors_without_data(session, now=at, deadline_s=99)] == [2]
        # batch 0 has an anchor (of another root): only batch 1 never got one
        assert batches_without_anchor(session, now=at, deadline_s=70) == []
        assert [b.batch_seq for b in batches_without_anchor(session, now=at,
                                                            deadline_s=69)] == [1]
        assert [b.batch_seq for b in batches_without_anchor(
            session, now=at.astimezone(timezone(timedelta(hours=2))), deadline_s=69)] == [1]


@settings(max_examples=50)
@given(st.dictionaries(st.text(max_size=8), st.recursive(
    st.none() | st.booleans() | st.integers(-(2**256), 2**256) | st.binary(max_size=40)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.tuples(inner, inner), max_leaves=8),
    max_size=5))
def test_event_arguments_become_canonical_json_with_bytes_as_hex_and_exact_integers(
        args: dict[str, object]) -> None:
    text = event_args_json(args)
    assert text == json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"))

    def expected(value: object) -> object:
        if isinstance(value, bytes):
            return "0x" + value.hex()
        if isinstance(value, list | tuple):
            return [expected(v) for v in value]
        return value

    assert json.loads(text) == {k: expected(v) for k, v in args.items()}


@pytest.mark.parametrize("change", [{"root": b"\xee" * 32}, {"leaf_count": 2},
                                    {"from_timestamp": 0}, {"to_timestamp": 3}],
                         ids=["root", "leaf-count", "from", "to"])
def test_an_anchor_of_another_header_under_the_batch_seq_is_a_mismatch(
        ledger_engine: Engine, change: dict[str, object]) -> None:
    held = batch_row(0)
    other = dataclasses.replace(held.header(), **change)  # type: ignore[arg-type]
    with Session(ledger_engine) as session, session.begin():
        session.add(held)
        store_anchors(session, [Anchor(other, b"\x7e" * 32, 0, BlockRef(11, block_hash(11, 1)),
                                       1000)], T0)
        reconcile_batches(session, 12, 0)
    with Session(ledger_engine) as session:
        assert session.scalar(select(BatchRow.anchor_state)) == "mismatch"
        [(batch, found)] = anchor_mismatches(session)
        assert batch.header() != found.header() == other
