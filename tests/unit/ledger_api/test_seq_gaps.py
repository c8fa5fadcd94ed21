"""Seq continuity (ledger_api.ingest.seq_gaps) against the set it stands for."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from ledger_api.ingest.seq_gaps import MeterSeqs, add_seq, add_seqs


@given(st.lists(st.integers(0, 60), unique=True, max_size=40))
@example([5, 0, 3, 4, 1, 2])
@example([0, 1, 2])
def test_missing_runs_are_exactly_the_seqs_below_the_max_not_held(seqs: list[int]) -> None:
    state = add_seqs(MeterSeqs(None), seqs)
    if not seqs:
        assert state == MeterSeqs(None)
        return
    assert state.max_seq == max(seqs)
    missing = {s for first, last in state.missing for s in range(first, last + 1)}
    assert missing == set(range(max(seqs) + 1)) - set(seqs)
    runs = list(state.missing)
    assert runs == sorted(runs)
    assert all(a_last + 1 < b_first for (_, a_last), (b_first, _) in itertools.pairwise(runs))
    assert all(state.holds(s) for s in seqs)
    assert not any(state.holds(s) for s in missing | {max(seqs) + 1})


def test_a_seq_already_held_is_refused() -> None:
    state = add_seqs(MeterSeqs(None), [0, 1, 3])
    with pytest.raises(ValueError, match="already held"):
        add_seq(state, 1)
    with pytest.raises(ValueError, match=">= 0"):
        add_seq(state, -1)


def test_first_seq_above_zero_records_the_run_before_it() -> None:
    assert add_seq(MeterSeqs(None), 4) == MeterSeqs(4, ((0, 3),))
