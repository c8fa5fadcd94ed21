"""Gas: the anchor budget (<= 60,000 in steady state, whatever the batch size) and the
anchorBySig budget (<= 70,000) on both backends.

The scenario and its measurements are defined once, in ``scripts/gas_report.py``, whose output on
the embedded chain is the committed ``docs/gas.md`` (``tests/docs/test_gas_report.py`` keeps it
current). Here that scenario runs on each backend, in a snapshot of the session's chain: the
anchors must meet the budget, every state-changing function must have run, and every figure must
equal a fresh embedded chain's (gas is deterministic for a given EVM version and input). The
figures are printed in the terminal summary (section "TrustMRV contract gas").
"""

from __future__ import annotations

from typing import Any

import pytest
from integration.contracts.support import Backend

from factories import load_script
from mrv_core.chain import Artifacts, connect

gas_report = load_script("gas_report")
ANCHOR_BUDGET: int = gas_report.ANCHOR_BUDGET
ANCHOR_BY_SIG_BUDGET: int = gas_report.ANCHOR_BY_SIG_BUDGET
GAS_SECTION = "TrustMRV contract gas (paris, optimizer 200 runs)"


@pytest.fixture(scope="module")
def measured(chain: Backend, artifacts: Artifacts) -> Any:
    """The gas report's scenario on this backend, rolled back afterwards."""
    def mine_block_at(timestamp: int) -> None:
        chain.set_next_timestamp(timestamp)
        chain.mine()

    snapshot = chain.snapshot()
    try:
        report = gas_report.measure(chain.client, artifacts=artifacts,
                                    mine_block_at=mine_block_at)
    finally:
        chain.revert(snapshot)
    return report


@pytest.fixture(scope="module")
def fresh_embedded(artifacts: Artifacts) -> Any:
    """The same scenario on a new embedded chain of its own: what ``docs/gas.md`` shows."""
    return gas_report.measure(connect(None, evm_version=artifacts.evm_version()),
                              artifacts=artifacts)


def test_the_budgets_are_60000_and_70000() -> None:
    assert ANCHOR_BUDGET == 60_000
    assert ANCHOR_BY_SIG_BUDGET == 70_000


@pytest.mark.parametrize("leaf_count", gas_report.LEAF_COUNTS)
def test_steady_state_anchor_within_budget(measured: Any, leaf_count: int) -> None:
    first, second, third = measured.anchor_series(leaf_count)
    assert [a.batch_seq for a in (first, second, third)] == [0, 1, 2]
    assert measured.steady_state(leaf_count) == second
    assert second.gas <= ANCHOR_BUDGET, f"steady-state anchor costs {second.gas}"
    assert third.gas == second.gas
    assert first.gas <= ANCHOR_BUDGET
    # Batch size and sequence number change calldata only, never what the contract executes.
    reference = measured.steady_state(1).execution
    assert first.execution == second.execution == third.execution == reference


@pytest.mark.parametrize("leaf_count", gas_report.LEAF_COUNTS)
def test_steady_state_anchor_by_sig_within_its_budget(measured: Any, leaf_count: int) -> None:
    series = measured.anchor_series(leaf_count, relayed=True)
    assert [a.batch_seq for a in series] == [0, 1, 2]
    assert all(a.function == "anchorBySig" for a in series)
    assert max(a.gas for a in series) <= ANCHOR_BY_SIG_BUDGET, series
    # Signatures differ in their zero bytes, never in what the contract executes.
    assert len({a.execution for a in series}) == 1
    assert series[0].execution == measured.steady_state(1, relayed=True).execution


def test_first_anchor_after_a_stop_reads_one_more_slot_within_budget(measured: Any) -> None:
    after = measured.after_stop
    steady = measured.steady_state(1)
    assert after.leaf_count == 1 and after.batch_seq > 2
    assert after.gas <= ANCHOR_BUDGET
    # One more cold storage read (2,100) and the keccak of its mapping key, little else.
    assert 2_100 < after.execution - steady.execution < 2_800


def test_every_state_changing_function_ran(measured: Any, artifacts: Artifacts) -> None:
    expected = gas_report.state_changing_functions(artifacts)
    assert "AnchorRegistry.anchor" in expected and "Consortium.grantRole" in expected
    assert sorted(set(expected) - measured.covered) == []


def test_backends_agree_with_a_fresh_embedded_chain(measured: Any, fresh_embedded: Any,
                                                   chain: Backend, record_property: Any) -> None:
    for what, gas in measured.figures().items():
        record_property("figure", (GAS_SECTION, what, f"{chain.name} {gas:,}"))
    assert measured.figures() == fresh_embedded.figures()
    assert measured.anchors == fresh_embedded.anchors
    assert measured.relayed == fresh_embedded.relayed
