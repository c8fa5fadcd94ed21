"""The chain watcher's pure rules (``ledger_api.chain.anchors``): a batch's state from the
anchors on the chain, and the fork point of a reorganisation, against chains generated block by
block and reorganised at a random height."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from ledger_api.chain.anchors import AnchorState, BlockRef, batch_state, fork_point
from mrv_core.batch import BatchHeader
from mrv_core.errors import ConfigError

HELD = BatchHeader(device=b"\xd1" * 20, batch_seq=3, root=b"\x01" * 32, leaf_count=10,
                   from_timestamp=100, to_timestamp=200)
#: Headers a device's key could sign under the same batchSeq: the held one, another root, the
#: same root under another leaf count or time span.
SIGNED = [HELD, dataclasses.replace(HELD, root=b"\x02" * 32),
          dataclasses.replace(HELD, leaf_count=9), dataclasses.replace(HELD, from_timestamp=99),
          dataclasses.replace(HELD, to_timestamp=201)]

anchor_lists = st.lists(st.tuples(st.sampled_from(SIGNED), st.integers(0, 1000)),
                        max_size=4).map(lambda xs: sorted(xs, key=lambda x: x[1]))


@given(anchors=anchor_lists, head=st.integers(0, 1100), confirmations=st.integers(0, 20))
@example(anchors=[], head=0, confirmations=0)
@example(anchors=[(HELD, 10)], head=10, confirmations=0)
@example(anchors=[(HELD, 10)], head=11, confirmations=2)
@example(anchors=[(HELD, 10)], head=12, confirmations=2)
@example(anchors=[(SIGNED[2], 10)], head=12, confirmations=0)  # same root, another count
def test_a_batch_state_follows_the_newest_anchor_and_the_confirmations_on_top_of_it(
        anchors: list[tuple[BatchHeader, int]], head: int, confirmations: int) -> None:
    got = batch_state(HELD, anchors, head, confirmations)
    if not anchors:
        assert got is AnchorState.UNANCHORED
        return
    anchored, block = anchors[-1]
    if (anchored.root, anchored.leaf_count, anchored.from_timestamp, anchored.to_timestamp) != \
            (HELD.root, HELD.leaf_count, HELD.from_timestamp, HELD.to_timestamp):
        assert got is AnchorState.MISMATCH
    elif head >= block + confirmations:
        assert got is AnchorState.FINAL
    else:
        assert got is AnchorState.ANCHORED
    # more blocks on top never undo finality, and never turn a mismatch into anything else
    assert batch_state(HELD, anchors, head + 1, confirmations) in (
        (got,) if got is not AnchorState.ANCHORED else (AnchorState.ANCHORED, AnchorState.FINAL))


def test_negative_confirmations_are_refused_naming_the_value() -> None:
    with pytest.raises(ConfigError, match="got -1"):
        batch_state(HELD, [], 0, -1)


def chain_of(length: int, branch: int) -> list[bytes]:
    """Block hashes of a chain of ``length`` blocks on branch ``branch`` (heights 0...)."""
    return [bytes([branch]) + height.to_bytes(31, "big") for height in range(length)]


@st.composite
def reorganisations(draw: st.DrawFn) -> tuple[list[bytes], list[bytes], int, list[BlockRef]]:
    """An old chain, a new chain sharing its blocks up to height ``shared`` (-1: none, a
    different genesis), and blocks recorded from the old chain (some heights twice, with a hash
    of a third branch: an older orphan)."""
    old_length = draw(st.integers(1, 40))
    shared = draw(st.integers(-1, old_length - 1))
    new_length = draw(st.integers(max(shared + 1, 1), 50))
    old = chain_of(old_length, 1)
    new = old[:shared + 1] + chain_of(new_length, 2)[shared + 1:]
    heights = draw(st.lists(st.integers(0, old_length - 1), max_size=12))
    junk = draw(st.lists(st.integers(0, old_length - 1), max_size=3))
    recorded = [BlockRef(h, old[h]) for h in heights] + [BlockRef(h, chain_of(h + 1, 3)[h])
                                                         for h in junk]
    return old, new, shared, recorded


@given(reorganisations())
def test_the_fork_point_is_the_newest_recorded_block_both_chains_share(
        case: tuple[list[bytes], list[bytes], int, list[BlockRef]]) -> None:
    _old, new, shared, recorded = case
    asked: list[int] = []

    def canonical(number: int) -> bytes | None:
        asked.append(number)
        return new[number] if number < len(new) else None

    expected = max((b for b in recorded if b.number <= shared and b.hash == new[b.number]),
                   key=lambda b: b.number, default=None)
    assert fork_point(recorded, canonical) == expected
    # newest first, each height once, stopping at the first shared block
    assert asked == sorted(set(asked), reverse=True)
    above = {b.number for b in recorded if expected is None or b.number > expected.number}
    assert set(asked) == above | ({expected.number} if expected else set())


def test_a_fork_point_error_of_the_node_propagates() -> None:
    def failing(number: int) -> bytes | None:
        raise ConnectionError(f"block {number}")

    with pytest.raises(ConnectionError, match="block 7"):
        fork_point([BlockRef(7, b"\x00" * 32)], failing)
    assert fork_point([], failing) is None
