"""MethodologyRegistry publication and resolution rules; location-based electricity as a
FactorMethodology (the engine itself: test_factor_methodology.py)."""

from __future__ import annotations

from typing import Any

import pytest
from eth_utils import keccak
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from integration.contracts.support import (
    GRID,
    GRID_EAST,
    METHODOLOGY_ID,
    OPEN_ENDED,
    PLACEHOLDER_FACTORS,
    PLACEHOLDER_SOURCES,
    SPEC_HASH,
    V1_EFFECTIVE_FROM,
    System,
    bytes32,
    cited,
    events,
    year_start,
)

ANOTHER_ID = bytes32("cn.electricity.location.alt")
PANIC_OVERFLOW = 0x11


def _deploy(system: System, version: int, *, methodology_id: bytes = METHODOLOGY_ID,
            table: list[Any] | None = None, sender: Any = None) -> Any:
    contract, _ = system.chain.deploy(
        "FactorMethodology", methodology_id, version, SPEC_HASH, PLACEHOLDER_SOURCES,
        PLACEHOLDER_FACTORS if table is None else table, sender=sender or system.association)
    return contract


def _publish(system: System, methodology: Any, effective_from: int,
             methodology_id: bytes = METHODOLOGY_ID) -> Any:
    return system.chain.send(system.methodologies.functions.publish(
        methodology_id, methodology.address, effective_from), system.association)


def _resolve(system: System, timestamp: int, methodology_id: bytes = METHODOLOGY_ID) -> Any:
    return system.methodologies.functions.resolve(methodology_id, timestamp)


# -- registry -------------------------------------------------------------------------------------

def test_later_version_with_past_effective_time_reverts(system: System) -> None:
    v2 = _deploy(system, 2)
    past = system.chain.latest_timestamp() - 1
    decoded = system.chain.revert_of(
        system.methodologies.functions.publish(METHODOLOGY_ID, v2.address, past),
        system.association)
    assert decoded.error == "MethodologyRegistryEffectiveTimeInPast"
    assert decoded.args_by_name["effectiveFrom"] == past


def test_first_version_may_take_effect_any_time(system: System) -> None:
    alt = _deploy(system, 1, methodology_id=ANOTHER_ID)
    sent = _publish(system, alt, 0, ANOTHER_ID)
    assert events(system.methodologies, "MethodologyPublished", sent.receipt) == [{
        "id": ANOTHER_ID, "version": 1, "methodology": alt.address, "effectiveFrom": 0,
        "specHash": SPEC_HASH, "publisher": system.association.address}]
    assert _resolve(system, 0, ANOTHER_ID).call() == [alt.address, 1, 0]
    assert system.methodologies.functions.methodologyIds().call() == [METHODOLOGY_ID, ANOTHER_ID]
    assert system.methodologies.functions.publisherOf(ANOTHER_ID).call() == \
        system.association.address


def test_resolution_by_time_around_effective_times(system: System) -> None:
    v1 = system.electricity
    v2 = _deploy(system, 2)
    v3 = _deploy(system, 5)
    t2 = system.chain.latest_timestamp() + 3600
    t3 = t2 + 86_400
    _publish(system, v2, t2)
    _publish(system, v3, t3)
    expectations = [
        (V1_EFFECTIVE_FROM, (v1.address, 1, V1_EFFECTIVE_FROM)),
        (year_start(2022), (v1.address, 1, V1_EFFECTIVE_FROM)),
        (t2 - 1, (v1.address, 1, V1_EFFECTIVE_FROM)),
        (t2, (v2.address, 2, t2)),
        (t3 - 1, (v2.address, 2, t2)),
        (t3, (v3.address, 5, t3)),
        (2**64 - 1, (v3.address, 5, t3)),
    ]
    for timestamp, expected in expectations:
        assert tuple(_resolve(system, timestamp).call()) == expected, timestamp
    for timestamp, methodology_id in ((V1_EFFECTIVE_FROM - 1, METHODOLOGY_ID), (0, METHODOLOGY_ID),
                                      (t3, keccak(text="unknown"))):
        decoded = system.chain.revert_of(_resolve(system, timestamp, methodology_id),
                                         system.outsider)
        assert (decoded.error, decoded.args_by_name) == (
            "MethodologyRegistryNoVersionInForce", {"id": methodology_id, "timestamp": timestamp})
    functions = system.methodologies.functions
    assert functions.versionCount(METHODOLOGY_ID).call() == 3
    assert tuple(functions.versionAt(METHODOLOGY_ID, 1).call()) == (v2.address, 2, t2)
    assert system.chain.revert_of(functions.versionAt(METHODOLOGY_ID, 3), system.outsider).error \
        == "MethodologyRegistryVersionIndexOutOfRange"


def test_publication_rules(system: System) -> None:
    publish = system.methodologies.functions.publish
    revert = system.chain.revert_of
    future = system.chain.latest_timestamp() + 3600
    association = system.association

    assert revert(publish(METHODOLOGY_ID, system.electricity.address, future),
                  association).error == "MethodologyRegistryAlreadyPublished"
    same_version = _deploy(system, 1)
    decoded = revert(publish(METHODOLOGY_ID, same_version.address, future), association)
    assert (decoded.error, decoded.args_by_name) == (
        "MethodologyRegistryVersionNotIncreasing", {"id": METHODOLOGY_ID, "previous": 1,
                                                    "given": 1})
    wrong_id = _deploy(system, 2, methodology_id=ANOTHER_ID)
    decoded = revert(publish(METHODOLOGY_ID, wrong_id.address, future), association)
    assert (decoded.error, decoded.args_by_name) == (
        "MethodologyRegistryIdMismatch", {"expected": METHODOLOGY_ID, "actual": ANOTHER_ID})
    for not_a_methodology in (system.consortium.address, system.outsider.address):
        decoded = revert(publish(METHODOLOGY_ID, not_a_methodology, future), association)
        assert (decoded.error, decoded.args_by_name) == (
            "MethodologyRegistryNotAMethodology", {"methodology": not_a_methodology})

    v2, v3 = _deploy(system, 2), _deploy(system, 3)
    _publish(system, v2, future)
    for effective in (future, future - 1):
        decoded = revert(publish(METHODOLOGY_ID, v3.address, effective), association)
        assert (decoded.error, decoded.args_by_name) == (
            "MethodologyRegistryEffectiveTimeNotAfterPrevious", {"previous": future,
                                                                 "given": effective})
    _publish(system, v3, future + 1)


def test_later_version_may_take_effect_in_its_own_block(system: System) -> None:
    chain = system.chain
    v2 = _deploy(system, 2)
    t = chain.latest_timestamp() + 50
    chain.set_next_timestamp(t)
    sent = chain.send(system.methodologies.functions.publish(METHODOLOGY_ID, v2.address, t),
                      system.association, gas=300_000)
    assert chain.w3.eth.get_block(sent.block_number)["timestamp"] == t
    assert tuple(_resolve(system, t).call()) == (v2.address, 2, t)


# -- location-based electricity (FactorMethodology, EF only) -------------------------------------

JUNE_2022 = (year_start(2022) + 151 * 86_400, year_start(2022) + 181 * 86_400)


def _compute(system: System, period: tuple[int, int], activities: list[tuple[bytes, int]]) -> Any:
    rows = [(source, amount, keccak(text=f"evidence-{i}"))
            for i, (source, amount) in enumerate(activities)]
    return system.electricity.functions.compute(period[0], period[1], rows)


def test_compute_known_answers_and_rounding(system: System) -> None:
    factor = 543_210  # placeholder 2022 national factor, g/MWh
    # Amounts whose product with the factor ends in exactly ...500000 (a half: rounds up) and in
    # ...499990 (just below a half: rounds down).
    half = next(a for a in range(1, 10**6) if (a * factor) % 1_000_000 == 500_000)
    below = next(a for a in range(1, 10**6) if (a * factor) % 1_000_000 == 499_990)
    activities = [(GRID, 1_000_000), (GRID, half), (GRID, below), (GRID, 0), (GRID_EAST, 1)]
    result = _compute(system, JUNE_2022, activities).call()
    emissions, scope1, scope2, total = result
    expected = [543_210, (half * factor) // 1_000_000 + 1, (below * factor) // 1_000_000, 0, 1]
    assert [tuple(e) for e in emissions] == [(2, g) for g in expected]
    assert (scope1, scope2, total) == (0, sum(expected), sum(expected))


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(amounts=st.lists(st.integers(min_value=0, max_value=10**30), min_size=0, max_size=6),
       year=st.sampled_from([2021, 2022, 2023]))
def test_compute_matches_reference_arithmetic(system: System, amounts: list[int],
                                              year: int) -> None:
    factors = {row[3]: row[5] for row in PLACEHOLDER_FACTORS if row[1] == GRID}
    factor = factors[year_start(year)]
    period = (year_start(year), year_start(year + 1))  # a whole data year is one period
    result = _compute(system, period, [(GRID, a) for a in amounts]).call()
    expected = [(a * factor + 500_000) // 1_000_000 for a in amounts]
    assert [g for _, g in result[0]] == expected
    assert result[2] == result[3] == sum(expected)


def test_compute_refusals(system: System) -> None:
    revert = system.chain.revert_of
    outsider = system.outsider
    decoded = revert(_compute(system, (10, 10), []), outsider)
    assert (decoded.error, decoded.args_by_name) == (
        "MethodologyInvalidPeriod", {"periodStart": 10, "periodEnd": 10})
    unknown = bytes32("cn.grid.nowhere")
    decoded = revert(_compute(system, JUNE_2022, [(unknown, 1)]), outsider)
    assert (decoded.error, decoded.args_by_name) == (
        "MethodologyUnknownSource", {"source": unknown})
    across_years = (year_start(2022) - 10, year_start(2022) + 10)
    decoded = revert(_compute(system, across_years, [(GRID, 1)]), outsider)
    assert (decoded.error, decoded.args_by_name) == (
        "MethodologyNoFactorForPeriod", {"source": GRID, "periodStart": across_years[0],
                                         "periodEnd": across_years[1]})
    decoded = revert(_compute(system, (year_start(2023), year_start(2023) + 1), [(GRID_EAST, 1)]),
                     outsider)
    assert decoded.error == "MethodologyNoFactorForPeriod"
    decoded = revert(_compute(system, JUNE_2022, [(GRID, 2**256 - 1)]), outsider)
    assert (decoded.error, decoded.args_by_name) == ("Panic", {"code": PANIC_OVERFLOW})
    decoded = revert(_compute(system, JUNE_2022, [(GRID, 2**255), (GRID, 2**255)]), outsider)
    assert (decoded.error, decoded.args_by_name) == ("Panic", {"code": PANIC_OVERFLOW})


def test_identity_and_factor_tables(system: System) -> None:
    functions = system.electricity.functions
    assert functions.methodologyId().call() == METHODOLOGY_ID
    assert functions.version().call() == 1
    assert functions.specHash().call() == SPEC_HASH
    assert functions.factorKeys().call() == [row[0] for row in PLACEHOLDER_FACTORS]
    assert functions.sources().call() == [GRID_EAST, GRID]
    assert functions.activityUnit(GRID).call() == bytes32("Wh")
    for key, grid, parameter, valid_from, valid_until, grams, decimals, unit, _citation in \
            PLACEHOLDER_FACTORS:
        assert (parameter, decimals, unit) == (bytes32("EF"), 0, bytes32("gCO2/MWh"))
        assert tuple(functions.factor(key).call()) == (
            grid, bytes32("EF"), valid_from, valid_until, grams, 0, bytes32("gCO2/MWh"))
    assert cited(system.electricity) == {row[0]: row[-1] for row in PLACEHOLDER_FACTORS}
    assert system.chain.revert_of(functions.factor(bytes32("nope")), system.outsider).error == \
        "MethodologyUnknownFactor"
    assert system.chain.revert_of(functions.activityUnit(bytes32("nope")),
                                  system.outsider).error == "MethodologyUnknownSource"
    interface_id = bytes.fromhex("01ffc9a7")  # ERC-165 itself
    assert functions.supportsInterface(interface_id).call()
    assert not functions.supportsInterface(bytes.fromhex("ffffffff")).call()


def _with_row(table: list[Any], index: int, **changes: Any) -> list[Any]:
    fields = ("key", "source", "parameter", "validFrom", "validUntil", "value", "decimals",
              "unit", "citation")
    row = dict(zip(fields, table[index], strict=True))
    row.update(changes)
    return [*table[:index], tuple(row.values()), *table[index + 1:]]


@pytest.mark.parametrize(("mutate", "error"), [
    (lambda t: _with_row(t, 0, validFrom=t[0][4]), "FactorMethodologyEmptyPeriod"),
    (lambda t: _with_row(t, 0, validFrom=t[0][4] + 1), "FactorMethodologyEmptyPeriod"),
    (lambda t: _with_row(t, 1, key=t[0][0]), "FactorMethodologyDuplicateKey"),
    (lambda t: _with_row(t, 2, validFrom=t[2][3] - 1), "FactorMethodologyOverlappingPeriods"),
    (lambda t: _with_row(t, 3, validFrom=t[1][3], validUntil=OPEN_ENDED),
     "FactorMethodologyOverlappingPeriods"),  # an open-ended row over earlier years
    (lambda t: _with_row(t, 0, parameter=bytes32("GWP")), "FactorMethodologyUnknownParameter"),
    (lambda t: _with_row(t, 0, source=bytes32("cn.grid.nowhere")),
     "FactorMethodologyUnknownParameter"),
])
def test_constructor_validates_the_table(system: System, mutate: Any, error: str) -> None:
    artifacts = system.chain.artifacts
    factory = system.w3.eth.contract(abi=artifacts.abi("FactorMethodology"),
                                     bytecode=artifacts.bytecode("FactorMethodology"))
    table = mutate(list(PLACEHOLDER_FACTORS))
    decoded = system.chain.revert_of(
        factory.constructor(METHODOLOGY_ID, 9, SPEC_HASH, PLACEHOLDER_SOURCES, table),
        system.association)
    assert decoded.error == error


def test_table_order_is_free_and_kept(system: System) -> None:
    """Rows need no sorting (only no overlaps): any order computes the same, factorKeys keeps it."""
    shuffled = [PLACEHOLDER_FACTORS[i] for i in (2, 0, 3, 1)]
    contract = _deploy(system, 9, table=shuffled)
    assert contract.functions.factorKeys().call() == [row[0] for row in shuffled]
    for year in (2021, 2022, 2023):
        period = (year_start(year), year_start(year + 1))
        rows = [(GRID, 10**6, bytes(32)), (GRID_EAST, 10**6, bytes(32))] if year == 2022 else \
            [(GRID, 10**6, bytes(32))]
        assert contract.functions.compute(*period, rows).call() == \
            system.electricity.functions.compute(*period, rows).call()
