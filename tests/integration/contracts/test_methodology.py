"""MethodologyRegistry publication and resolution rules (ids assigned by the admin, only sealed
factory-made versions, code hashes pinned and checked); location-based electricity as a
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
    compile_test_contract,
    create_methodology,
    events,
    year_start,
)

ANOTHER_ID = bytes32("cn.electricity.location.alt")
ZERO_ADDRESS = "0x" + "0" * 40
PANIC_OVERFLOW = 0x11


def _deploy(system: System, version: int, *, methodology_id: bytes = METHODOLOGY_ID,
            table: list[Any] | None = None, sender: Any = None, keep_open: bool = False) -> Any:
    """A version created through the registry's factory (sealed unless ``keep_open``)."""
    return create_methodology(
        system.chain, system.core, methodology_id, version, SPEC_HASH, PLACEHOLDER_SOURCES,
        PLACEHOLDER_FACTORS if table is None else table, sender=sender or system.association,
        keep_open=keep_open)


def _assign(system: System, methodology_id: bytes, association: Any = None) -> Any:
    return system.chain.send(system.methodologies.functions.assignId(
        methodology_id, (association or system.association).address), system.admin)


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
    _assign(system, ANOTHER_ID)
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
    assert tuple(functions.versionAt(METHODOLOGY_ID, 1).call()) == (
        v2.address, 2, t2, keccak(system.w3.eth.get_code(v2.address)))
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
    # Only what the registry's factory created: not another contract, not an account, not even
    # the same FactorMethodology code deployed directly (its deployer could still load rows).
    direct, _ = system.chain.deploy("FactorMethodology", METHODOLOGY_ID, 2, SPEC_HASH,
                                    PLACEHOLDER_SOURCES, PLACEHOLDER_FACTORS, sender=association)
    for not_factory_made in (system.consortium.address, system.outsider.address,
                             system.engine.address, direct.address):
        decoded = revert(publish(METHODOLOGY_ID, not_factory_made, future), association)
        assert (decoded.error, decoded.args_by_name) == (
            "MethodologyRegistryNotFactoryMade", {"methodology": not_factory_made})

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


# -- a published version can never change --------------------------------------------------------

def test_a_proxy_is_refused(system: System) -> None:
    """A forwarding proxy in front of a real, sealed, factory-made version answers every
    methodology call like it (the registry before code pinning published it); the registry refuses
    it because its factory did not create it."""
    abi, bytecode = compile_test_contract("ForwardingProxy.sol", "ForwardingProxy")
    v2 = _deploy(system, 2)
    transactor = system.chain.transactor(system.association)
    sent = transactor.send(system.w3.eth.contract(abi=abi, bytecode=bytecode).constructor(
        v2.address), description="deploy ForwardingProxy")
    proxy = system.core.at("FactorMethodology", str(sent.contract_address))
    assert proxy.functions.version().call() == 2  # it does pass for the methodology
    assert proxy.functions.isSealed().call()
    future = system.chain.latest_timestamp() + 3600
    decoded = system.chain.revert_of(
        system.methodologies.functions.publish(METHODOLOGY_ID, proxy.address, future),
        system.association)
    assert (decoded.error, decoded.args_by_name) == (
        "MethodologyRegistryNotFactoryMade", {"methodology": proxy.address})


def test_an_unsealed_version_is_refused_until_its_creator_seals_it(system: System) -> None:
    methodologies, factory = system.methodologies.functions, system.factory.functions
    revert = system.chain.revert_of
    first, rest = PLACEHOLDER_FACTORS[:2], PLACEHOLDER_FACTORS[2:]
    v2 = _deploy(system, 2, table=first, keep_open=True)
    assert not v2.functions.isSealed().call()
    assert v2.functions.loader().call() == system.factory.address
    future = system.chain.latest_timestamp() + 3600
    decoded = revert(methodologies.publish(METHODOLOGY_ID, v2.address, future), system.association)
    assert (decoded.error, decoded.args_by_name) == (
        "MethodologyRegistryNotSealed", {"methodology": v2.address})
    # Only its creator loads and seals it, and only through the factory (the loader).
    for who in (system.association2, system.admin, system.outsider):
        for call in (factory.addFactors(v2.address, rest), factory.seal(v2.address)):
            decoded = revert(call, who)
            assert (decoded.error, decoded.args_by_name) == (
                "MethodologyFactoryNotCreator", {"methodology": v2.address, "caller": who.address,
                                                 "creator": system.association.address})
    for call in (v2.functions.addFactors(rest), v2.functions.seal()):
        decoded = revert(call, system.association)
        assert (decoded.error, decoded.args_by_name) == (
            "FactorMethodologyNotLoader", {"caller": system.association.address,
                                           "loader": system.factory.address})
    system.chain.send(factory.addFactors(v2.address, rest), system.association)
    sent = system.chain.send(factory.seal(v2.address), system.association)
    assert events(v2, "TableSealed", sent.receipt) == [{"factorCount": len(PLACEHOLDER_FACTORS)}]
    assert v2.functions.isSealed().call() and v2.functions.loader().call() == ZERO_ADDRESS
    for call in (factory.addFactors(v2.address, rest), factory.seal(v2.address)):
        assert revert(call, system.association).error == "FactorMethodologyAlreadySealed"
    # Loaded in two transactions, it holds and computes exactly what the one-transaction v1 does.
    assert v2.functions.factorKeys().call() == system.electricity.functions.factorKeys().call()
    assert _compute(system, JUNE_2022, [(GRID, 10**6)], v2).call() == \
        _compute(system, JUNE_2022, [(GRID, 10**6)]).call()
    _publish(system, v2, future)
    assert system.methodologies.functions.codeHashOf(v2.address).call() == \
        keccak(system.w3.eth.get_code(v2.address))


def test_the_code_hash_is_pinned_at_publication(system: System) -> None:
    functions = system.methodologies.functions
    electricity = system.electricity.address
    pinned = keccak(system.w3.eth.get_code(electricity))
    assert functions.codeHashOf(electricity).call() == pinned
    assert functions.versionAt(METHODOLOGY_ID, 0).call()[3] == pinned
    assert functions.isPublished(electricity).call()
    assert functions.codeHashOf(system.engine.address).call() == bytes(32)
    # Every version's runtime code differs (immutables), so a pin is per address.
    assert keccak(system.w3.eth.get_code(_deploy(system, 2).address)) != pinned


def test_code_changed_under_the_registry_fails_closed(system: System) -> None:
    """anvil_setCode puts other code at a published address (as a self-destruct and redeploy at
    the same address could on paris): resolution and on-chain compute refuse it."""
    if system.chain.name != "anvil":
        pytest.skip("only anvil can replace the code at an address (anvil_setCode)")
    electricity = system.electricity.address
    period = JUNE_2022
    lines = [(GRID, 10**6, keccak(text="evidence-0"))]
    registry = system.methodologies.functions
    assert tuple(registry.compute(electricity, *period, lines).call()) == \
        tuple(_compute(system, period, [(GRID, 10**6)]).call())
    pinned = keccak(system.w3.eth.get_code(electricity))
    other = system.w3.eth.get_code(system.engine.address)  # a methodology that answers otherwise
    response = system.w3.provider.make_request("anvil_setCode",  # type: ignore[arg-type]
                                               [electricity, "0x" + bytes(other).hex()])
    assert "error" not in response, response
    changed = {"methodology": electricity, "pinned": pinned, "actual": keccak(other)}
    revert = system.chain.revert_of
    for call in (_resolve(system, V1_EFFECTIVE_FROM),
                 registry.compute(electricity, *period, lines)):
        decoded = revert(call, system.outsider)
        assert (decoded.error, decoded.args_by_name) == ("MethodologyRegistryCodeChanged", changed)


def test_compute_through_the_registry_needs_a_published_version(system: System) -> None:
    decoded = system.chain.revert_of(
        system.methodologies.functions.compute(system.engine.address, *JUNE_2022, []),
        system.outsider)
    assert (decoded.error, decoded.args_by_name) == (
        "MethodologyRegistryNotPublished", {"methodology": system.engine.address})


# -- ids are assigned by the admin, never taken -------------------------------------------------

ADMIN_ROLE = bytes(32)
ASSOCIATION_ROLE = keccak(text="ASSOCIATION_ROLE")


def test_the_admin_assigns_an_id_and_may_reassign_it_until_its_first_version(
        system: System) -> None:
    functions = system.methodologies.functions
    assert functions.publisherOf(ANOTHER_ID).call() == ZERO_ADDRESS
    sent = _assign(system, ANOTHER_ID, system.association2)
    assert events(system.methodologies, "MethodologyIdAssigned", sent.receipt) == [{
        "id": ANOTHER_ID, "association": system.association2.address, "previous": ZERO_ADDRESS,
        "admin": system.admin.address}]
    sent = _assign(system, ANOTHER_ID, system.association)
    assert events(system.methodologies, "MethodologyIdAssigned", sent.receipt) == [{
        "id": ANOTHER_ID, "association": system.association.address,
        "previous": system.association2.address, "admin": system.admin.address}]
    assert functions.publisherOf(ANOTHER_ID).call() == system.association.address
    _publish(system, _deploy(system, 1, methodology_id=ANOTHER_ID), 0, ANOTHER_ID)
    for association in (system.association2, system.association):
        decoded = system.chain.revert_of(functions.assignId(ANOTHER_ID, association.address),
                                         system.admin)
        assert (decoded.error, decoded.args_by_name) == (
            "MethodologyRegistryIdInUse", {"id": ANOTHER_ID})


def test_an_id_is_assigned_only_to_an_association(system: System) -> None:
    for account in (system.enterprise, system.regulator, system.outsider, system.admin):
        decoded = system.chain.revert_of(
            system.methodologies.functions.assignId(ANOTHER_ID, account.address), system.admin)
        assert (decoded.error, decoded.args_by_name) == (
            "MethodologyRegistryNotAnAssociation", {"account": account.address})


@pytest.mark.parametrize("role", ["association", "association2", "enterprise", "regulator",
                                  "outsider"])
def test_only_the_admin_assigns_ids(system: System, role: str) -> None:
    caller = getattr(system, role)
    decoded = system.chain.revert_of(
        system.methodologies.functions.assignId(ANOTHER_ID, caller.address
                                                if "association" in role
                                                else system.association.address), caller)
    assert (decoded.error, decoded.args_by_name) == (
        "MethodologyRegistryMissingRole", {"account": caller.address, "role": ADMIN_ROLE})


def test_an_unassigned_id_cannot_be_published(system: System) -> None:
    """No squatting: an association cannot claim an id by publishing it first."""
    candidate = _deploy(system, 1, methodology_id=ANOTHER_ID)
    for association in (system.association, system.association2):
        decoded = system.chain.revert_of(
            system.methodologies.functions.publish(ANOTHER_ID, candidate.address, 0), association)
        assert (decoded.error, decoded.args_by_name) == (
            "MethodologyRegistryIdNotAssigned", {"id": ANOTHER_ID})
    assert system.methodologies.functions.publisherOf(ANOTHER_ID).call() == ZERO_ADDRESS


@pytest.mark.parametrize(("role", "error"), [
    ("admin", "MethodologyRegistryMissingRole"),
    ("association2", "MethodologyRegistryNotIdPublisher"),
    ("enterprise", "MethodologyRegistryMissingRole"),
    ("regulator", "MethodologyRegistryMissingRole"),
    ("outsider", "MethodologyRegistryMissingRole"),
])
def test_only_the_assigned_association_publishes_versions(system: System, role: str,
                                                          error: str) -> None:
    """Every wrong role, for a later version and for the first version of a freshly assigned id
    (which may take effect in the past, so only the caller's standing can refuse it)."""
    caller = getattr(system, role)
    _assign(system, ANOTHER_ID)
    future = system.chain.latest_timestamp() + 3600
    for methodology_id, version, effective in ((METHODOLOGY_ID, 2, future), (ANOTHER_ID, 1, 0)):
        candidate = _deploy(system, version, methodology_id=methodology_id, sender=caller
                            if role == "association2" else None)
        decoded = system.chain.revert_of(system.methodologies.functions.publish(
            methodology_id, candidate.address, effective), caller)
        expected = ({"account": caller.address, "role": ASSOCIATION_ROLE}
                    if error == "MethodologyRegistryMissingRole" else
                    {"id": methodology_id, "publisher": system.association.address,
                     "caller": caller.address})
        assert (decoded.error, decoded.args_by_name) == (error, expected)


@pytest.mark.parametrize("creator", ["association2", "admin", "enterprise", "regulator",
                                     "outsider"])
def test_the_assigned_association_publishes_only_a_version_it_created(system: System,
                                                                     creator: str) -> None:
    """Anyone may call the factory's ``create``: a version with the official id, version and spec
    hash but made by anyone else (its factors could be anything) is refused to the assigned
    association, for a later version and for the first version of a freshly assigned id."""
    maker = getattr(system, creator)
    _assign(system, ANOTHER_ID)
    future = system.chain.latest_timestamp() + 3600
    for methodology_id, version, effective in ((METHODOLOGY_ID, 2, future), (ANOTHER_ID, 1, 0)):
        foreign = _deploy(system, version, methodology_id=methodology_id, sender=maker)
        assert system.factory.functions.creatorOf(foreign.address).call() == maker.address
        decoded = system.chain.revert_of(system.methodologies.functions.publish(
            methodology_id, foreign.address, effective), system.association)
        assert (decoded.error, decoded.args_by_name) == (
            "MethodologyRegistryNotCreator", {"methodology": foreign.address,
                                              "creator": maker.address,
                                              "caller": system.association.address})
    assert system.methodologies.functions.versionCount(ANOTHER_ID).call() == 0


# -- location-based electricity (FactorMethodology, EF only) -------------------------------------

JUNE_2022 = (year_start(2022) + 151 * 86_400, year_start(2022) + 181 * 86_400)


def _compute(system: System, period: tuple[int, int], activities: list[tuple[bytes, int]],
             methodology: Any = None) -> Any:
    rows = [(source, amount, keccak(text=f"evidence-{i}"))
            for i, (source, amount) in enumerate(activities)]
    return (methodology or system.electricity).functions.compute(period[0], period[1], rows)


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
