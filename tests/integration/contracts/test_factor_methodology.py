"""FactorMethodology, the methodology engine (docs/accounting.md section 1.4): constructor
invariants, views, known answers, overrides, deductions, period containment, overflow, the order
of the checks, and property tests against a reference written here from the document.

Every figure comes from the PLACEHOLDER engine table in ``support.py`` (``ENGINE_SOURCES``,
``ENGINE_FACTORS``): made-up values for tests, not official factors.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from math import gcd
from typing import Any

import pytest
from eth_utils import function_signature_to_4byte_selector, keccak
from eth_utils.abi import abi_to_signature
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from integration.contracts.support import (
    CO2_MEASURED,
    COMBUSTION_DENOMINATOR,
    CONTRACT_EF,
    CONTRACT_ELECTRICITY,
    DEDUCTION,
    ELECTRICITY,
    EMISSION,
    ENGINE_FACTORS,
    ENGINE_ID,
    ENGINE_SOURCES,
    ENGINE_SPEC_HASH,
    GREEN_CERTIFICATE,
    GREEN_PPA,
    HEAT,
    MEASURED_NCV,
    NATURAL_GAS,
    OPEN_ENDED,
    OVERRIDE,
    SF6,
    SUPPLIER_EF,
    System,
    bytes32,
    cited,
    events,
    factor_row,
    source_spec,
    year_start,
)

from mrv_core.chain.artifacts import revert_data
from mrv_core.errors import ContractRevert

MAX = 2**256 - 1
PANIC_OVERFLOW = ("Panic", {"code": 0x11})
EVIDENCE = keccak(text="certificate 42")
NONE = bytes(32)
JUNE_2022 = (year_start(2022) + 151 * 86_400, year_start(2022) + 181 * 86_400)
YEAR_2022 = (year_start(2022), year_start(2023))
YEAR_2023 = (year_start(2023), year_start(2024))
ACROSS_2023 = (year_start(2023) - 86_400, year_start(2023) + 86_400)
UNKNOWN = bytes32("fuel.unobtainium")

Line = tuple[bytes, int, bytes]
Outcome = tuple[Any, ...]


# -- helpers --------------------------------------------------------------------------------------

def _factory(system: System) -> Any:
    artifacts = system.chain.artifacts
    return system.w3.eth.contract(abi=artifacts.abi("FactorMethodology"),
                                  bytecode=artifacts.bytecode("FactorMethodology"))


def _deploy(system: System, sources: list[Any], factors: list[Any]) -> Any:
    contract, _ = system.chain.deploy("FactorMethodology", ENGINE_ID, 2, ENGINE_SPEC_HASH, sources,
                                      factors, sender=system.association)
    return contract


def _constructor_error(system: System, sources: list[Any], factors: list[Any]) -> Outcome:
    decoded = system.chain.revert_of(
        _factory(system).constructor(ENGINE_ID, 2, ENGINE_SPEC_HASH, sources, factors),
        system.association)
    return decoded.error, decoded.args_by_name


def _outcome(system: System, contract: Any, period: tuple[int, int], lines: list[Line]) -> Outcome:
    """``("ok", emissions, scope1, scope2, total)`` or ``(error, args)`` of one eth_call."""
    try:
        emissions, scope1, scope2, total = contract.functions.compute(*period, lines).call()
    except Exception as exc:  # web3 ContractLogicError or eth-tester TransactionFailed
        data = revert_data(exc)
        if data is None:
            raise
        decoded = system.chain.artifacts.decode_revert(data)
        assert isinstance(decoded, ContractRevert), decoded
        return decoded.error, decoded.args_by_name
    return "ok", [tuple(e) for e in emissions], scope1, scope2, total


def _compute(system: System, period: tuple[int, int], lines: list[Line]) -> Outcome:
    return _outcome(system, system.engine, period, lines)


def _grams(system: System, period: tuple[int, int], lines: list[Line]) -> list[int]:
    outcome = _compute(system, period, lines)
    assert outcome[0] == "ok", outcome
    return [grams for _, grams in outcome[1]]


def _replace(rows: list[Any], index: int, field: int, value: Any) -> list[Any]:
    row = list(rows[index])
    row[field] = value
    return [*rows[:index], tuple(row), *rows[index + 1:]]


def _no_factor(source: bytes, period: tuple[int, int]) -> Outcome:
    return "MethodologyNoFactorForPeriod", {"source": source, "periodStart": period[0],
                                            "periodEnd": period[1]}


# -- the reference: docs/accounting.md section 1.4, written independently of the contract --------

def reference(sources: list[Any], factors: list[Any], period: tuple[int, int],
              lines: list[Line]) -> Outcome:
    specs = {spec[0]: spec for spec in sources}
    start, end = period
    # 1. The period.
    if start >= end:
        return "MethodologyInvalidPeriod", {"periodStart": start, "periodEnd": end}
    # 2-4. Sources known; overrides and deduction pools, in input order.
    overrides: dict[tuple[bytes, bytes], int] = {}
    pools: dict[bytes, int] = {}
    for index, (source, amount, evidence) in enumerate(lines):
        if source not in specs:
            return "MethodologyUnknownSource", {"source": source}
        _, _, _, kind, target, parameters, _, _ = specs[source]
        if kind == EMISSION:
            continue
        if evidence == NONE:
            return "MethodologyMissingEvidence", {"index": index}
        if kind == OVERRIDE:
            if (target, parameters[0]) in overrides:
                return "MethodologyDuplicateOverride", {"source": source}
            overrides[target, parameters[0]] = amount
        else:
            pools[target] = pools.get(target, 0) + amount
            if pools[target] > MAX:
                return PANIC_OVERFLOW
    # 5-6. Every line, in input order: parameters resolved, then the arithmetic.
    emissions = []
    for source, amount, _ in lines:
        _, _, scope, kind, _, parameters, numerator, denominator = specs[source]
        if kind != EMISSION:
            emissions.append((scope, 0))
            continue
        covered = min(pools.get(source, 0), amount)
        pools[source] = pools.get(source, 0) - covered
        values = []
        for parameter in parameters:
            if (source, parameter) in overrides:
                values.append(overrides[source, parameter])
                continue
            rows = [row for row in factors if row[1] == source and row[2] == parameter
                    and row[3] <= start and end <= row[4]]
            if not rows:
                return _no_factor(source, period)
            values.append(rows[0][5])
        acc = amount - covered
        for factor in [*values, numerator]:
            acc *= factor
            if acc > MAX:
                return PANIC_OVERFLOW
        acc += denominator // 2
        if acc > MAX:
            return PANIC_OVERFLOW
        emissions.append((scope, acc // denominator))
    # 7. The checked sums.
    scope1 = sum(grams for scope, grams in emissions if scope == 1)
    scope2 = sum(grams for scope, grams in emissions if scope == 2)
    if max(scope1, scope2, scope1 + scope2) > MAX:
        return PANIC_OVERFLOW
    return "ok", emissions, scope1, scope2, scope1 + scope2


# -- views ----------------------------------------------------------------------------------------

def _interface_id(system: System, name: str) -> bytes:
    """ERC-165 id: XOR of the selectors of the functions `name` itself declares."""
    inherited = {"IMethodology": {"supportsInterface"},
                 "IFactorMethodology": {"supportsInterface"}}[name]
    if name == "IFactorMethodology":
        inherited |= {item["name"] for item in system.chain.artifacts.abi("IMethodology")
                      if item["type"] == "function"}
    value = 0
    for item in system.chain.artifacts.abi(name):
        if item["type"] == "function" and item["name"] not in inherited:
            value ^= int.from_bytes(function_signature_to_4byte_selector(abi_to_signature(item)))
    return value.to_bytes(4, "big")


def test_views(system: System) -> None:
    functions = system.engine.functions
    assert functions.methodologyId().call() == ENGINE_ID
    assert functions.version().call() == 1
    assert functions.specHash().call() == ENGINE_SPEC_HASH
    assert functions.sources().call() == [spec[0] for spec in ENGINE_SOURCES]
    assert functions.factorKeys().call() == [row[0] for row in ENGINE_FACTORS]
    for key, *factor, _citation in ENGINE_FACTORS:
        assert tuple(functions.factor(key).call()) == tuple(factor)
    assert cited(system.engine) == {row[0]: row[-1] for row in ENGINE_FACTORS}
    for spec in ENGINE_SOURCES:
        assert tuple(functions.sourceSpec(spec[0]).call()) == spec
        assert functions.activityUnit(spec[0]).call() == spec[1]
    revert = system.chain.revert_of
    for call in (functions.sourceSpec(UNKNOWN), functions.activityUnit(UNKNOWN)):
        decoded = revert(call, system.outsider)
        assert (decoded.error, decoded.args_by_name) == (
            "MethodologyUnknownSource", {"source": UNKNOWN})
    for key in (bytes32("nope"), NONE):
        decoded = revert(functions.factor(key), system.outsider)
        assert (decoded.error, decoded.args_by_name) == ("MethodologyUnknownFactor", {"key": key})

    methodology, engine = (_interface_id(system, n) for n in ("IMethodology", "IFactorMethodology"))
    own = ("sourceSpec(bytes32)", "isSealed()", "loader()", "seal()",
           "addFactors((bytes32,bytes32,bytes32,uint64,uint64,uint256,uint8,bytes32,string)[])")
    expected = 0
    for signature in own:
        expected ^= int.from_bytes(function_signature_to_4byte_selector(signature))
    assert engine == expected.to_bytes(4, "big")
    for interface_id in (methodology, engine, bytes.fromhex("01ffc9a7")):
        assert functions.supportsInterface(interface_id).call()
    assert not functions.supportsInterface(bytes.fromhex("ffffffff")).call()


def test_rows_loaded_in_chunks_are_checked_against_the_whole_table(system: System) -> None:
    """A table loaded by its deployer (the loader) in chunks ends up exactly as if given whole, and
    each chunk's rows are checked against every earlier chunk, errors counting rows from the start
    of the table."""
    first, second, third = ENGINE_FACTORS[:1], ENGINE_FACTORS[1:3], ENGINE_FACTORS[3:]
    contract = _deploy(system, ENGINE_SOURCES, first)
    functions, revert = contract.functions, system.chain.revert_of
    assert functions.loader().call() == system.association.address
    assert not functions.isSealed().call()
    system.chain.send(functions.addFactors(second), system.association)
    taken = len(first) + len(second)
    duplicate = (first[0][0], *third[0][1:])
    decoded = revert(functions.addFactors([third[0], duplicate]), system.association)
    assert (decoded.error, decoded.args_by_name) == ("FactorMethodologyDuplicateKey",
                                                     {"key": first[0][0]})
    overlapping = (bytes32("test.overlap"), *first[0][1:])  # same source, parameter and period
    decoded = revert(functions.addFactors([*third, overlapping]), system.association)
    assert (decoded.error, decoded.args_by_name) == (
        "FactorMethodologyOverlappingPeriods", {"index": taken + len(third)})
    decoded = revert(functions.addFactors(third), system.outsider)
    assert (decoded.error, decoded.args_by_name) == (
        "FactorMethodologyNotLoader", {"caller": system.outsider.address,
                                       "loader": system.association.address})
    sent = system.chain.send(functions.addFactors(third), system.association)
    assert len(events(contract, "FactorCited", sent.receipt)) == len(third)
    system.chain.send(functions.seal(), system.association)
    assert functions.isSealed().call()
    assert functions.factorKeys().call() == [row[0] for row in ENGINE_FACTORS]
    for key, *factor, _citation in ENGINE_FACTORS:
        assert tuple(functions.factor(key).call()) == tuple(factor)
    lines = [(NATURAL_GAS, 10_000_000, NONE), (ELECTRICITY, 1_000_000, NONE)]
    assert functions.compute(*JUNE_2022, lines).call() == \
        system.engine.functions.compute(*JUNE_2022, lines).call()
    assert revert(functions.addFactors([]), system.association).error == \
        "FactorMethodologyAlreadySealed"


def test_an_empty_methodology_is_valid(system: System) -> None:
    contract = _deploy(system, [], [])
    functions = contract.functions
    assert functions.sources().call() == functions.factorKeys().call() == []
    assert _outcome(system, contract, JUNE_2022, []) == ("ok", [], 0, 0, 0)
    assert _outcome(system, contract, JUNE_2022, [(ELECTRICITY, 1, NONE)]) == (
        "MethodologyUnknownSource", {"source": ELECTRICITY})


# -- known answers --------------------------------------------------------------------------------

def test_known_answers(system: System) -> None:
    lines = [
        # 10,000 Nm3 = 10,000,000 dm3 of natural gas in June 2022:
        #   10,000,000 dm3 x 38,931 J/dm3 (NCV 2022)   =       389,310,000,000
        #   x 15,300 gC/GJ (CC)                          = 5,956,443,000,000,000
        #   x 9,900 (OF 99 %, in 1e-4)                   = 58,968,785,700,000,000,000
        #   x 44 (CO2/C numerator)                       = 2,594,626,570,800,000,000,000
        #   + 12 x 10**13 / 2 = 60,000,000,000,000       = 2,594,626,630,800,000,000,000
        #   / (12 x 10**9 x 10**4 = 120,000,000,000,000) = 21,621,888 g (21,621,888.09 exactly)
        (NATURAL_GAS, 10_000_000, NONE),
        # 1 MWh = 1,000,000 Wh x 581,000 gCO2/MWh (2022) / 10**6 = 581,000 g
        (ELECTRICITY, 1_000_000, NONE),
        # 1 kg SF6 = 1,000 g x 235,000 (GWP 23,500 in tenths) / 10 = 23,500,000 g
        (SF6, 1_000, NONE),
        # 1 GJ = 1,000,000 kJ x 110,000 gCO2/GJ / 10**6 = 110,000 g
        (HEAT, 1_000_000, NONE),
        # a measured CO2 mass: no parameter, 1/1: 12,345 g
        (CO2_MEASURED, 12_345, NONE),
    ]
    expected = [(1, 21_621_888), (2, 581_000), (1, 23_500_000), (2, 110_000), (1, 12_345)]
    scope1 = 21_621_888 + 23_500_000 + 12_345
    scope2 = 581_000 + 110_000
    assert _compute(system, JUNE_2022, lines) == ("ok", expected, scope1, scope2, scope1 + scope2)
    # 2023 on (open-ended rows): 1 MWh x 536,600 gCO2/MWh = 536,600 g; the gas at NCV 38,000 and
    # OF 9,800: 10**7 x 38,000 x 15,300 x 9,800 x 44 = 2,506,996,800,000,000,000,000, which is
    # exactly 20,891,640 x 12 x 10**13: 20,891,640 g (the half added changes nothing).
    assert _grams(system, YEAR_2023, lines[:2]) == [20_891_640, 536_600]
    assert _grams(system, (year_start(2031), year_start(2032)), lines[:2]) == [20_891_640, 536_600]


def test_round_half_up_once_per_line(system: System) -> None:
    # Heat: kJ x 110,000 / 10**6. 50 kJ -> 5.5 g -> 6; 4 kJ -> 0.44 -> 0; 5 kJ -> 0.55 -> 1;
    # 45 kJ -> 4.95 -> 5. Each line is rounded on its own: two lines of 50 kJ give 12 g where one
    # line of 100 kJ gives 11 g, and the totals are the sums of the rounded lines.
    lines = [(HEAT, kj, NONE) for kj in (50, 4, 5, 45, 50, 100, 0)]
    assert _compute(system, JUNE_2022, lines) == (
        "ok", [(2, g) for g in (6, 0, 1, 5, 6, 11, 0)], 0, 29, 29)
    # Natural gas, 1 dm3 with a measured NCV (override) chosen so that the product lands on
    # exactly half a gram: NCV x 15,300 x 9,900 x 44 = 12 x 10**13 x (n + 1/2). It rounds up;
    # one J/dm3 less lands just below the half and rounds down.
    ratio = 15_300 * 9_900 * 44
    d = COMBUSTION_DENOMINATOR
    g = gcd(ratio, d)  # 120,000, which divides d / 2: a solution exists
    ncv = d // 2 // g * pow(ratio // g, -1, d // g) % (d // g)
    assert ncv * ratio % d == d // 2
    for value, grams in ((ncv, ncv * ratio // d + 1), (ncv - 1, (ncv - 1) * ratio // d)):
        assert _grams(system, JUNE_2022, [(NATURAL_GAS, 1, NONE),
                                          (MEASURED_NCV, value, EVIDENCE)]) == [grams, 0]


# -- overrides ------------------------------------------------------------------------------------

def test_override_replaces_the_default(system: System) -> None:
    baseline = _grams(system, JUNE_2022, [(ELECTRICITY, 2_000_000, NONE)])
    assert baseline == [1_162_000]  # 2 MWh x 581,000
    # A supplier factor of 400,000 gCO2/MWh with its evidence, before or after the lines it
    # applies to (overrides are collected first): 2 MWh -> 800,000 g; the override line emits 0.
    supplier = (SUPPLIER_EF, 400_000, EVIDENCE)
    for lines in ([supplier, (ELECTRICITY, 2_000_000, NONE), (HEAT, 1_000_000, NONE)],
                  [(ELECTRICITY, 2_000_000, NONE), (HEAT, 1_000_000, NONE), supplier]):
        outcome = _compute(system, JUNE_2022, lines)
        assert outcome[0] == "ok"
        by_source = {line[0]: e for line, e in zip(lines, outcome[1], strict=True)}
        assert by_source == {SUPPLIER_EF: (2, 0), ELECTRICITY: (2, 800_000), HEAT: (2, 110_000)}
        assert outcome[2:] == (0, 910_000, 910_000)
    # An override also stands where no default row covers the period (crossing 2023).
    assert _compute(system, ACROSS_2023, [(ELECTRICITY, 1, NONE)]) == \
        _no_factor(ELECTRICITY, ACROSS_2023)
    assert _grams(system, ACROSS_2023, [(ELECTRICITY, 1_000_000, NONE), supplier]) == [400_000, 0]


def test_override_where_no_default_row_exists(system: System) -> None:
    lines = [(CONTRACT_ELECTRICITY, 2_000_000, NONE)]
    assert _compute(system, JUNE_2022, lines) == _no_factor(CONTRACT_ELECTRICITY, JUNE_2022)
    # 2 MWh x 300,000 gCO2/MWh (the contract's own factor) = 600,000 g
    assert _grams(system, JUNE_2022, [*lines, (CONTRACT_EF, 300_000, EVIDENCE)]) == [600_000, 0]
    # The override of one target does not reach another.
    lines = [(CONTRACT_EF, 300_000, EVIDENCE), (ELECTRICITY, 10**6, NONE), *lines]
    assert _compute(system, JUNE_2022, lines) == (
        "ok", [(2, 0), (2, 581_000), (2, 600_000)], 0, 1_181_000, 1_181_000)


def test_override_of_one_parameter_among_three(system: System) -> None:
    # Measured NCV 39,000 J/dm3 instead of 38,931; CC and OF from the table:
    # 10**7 x 39,000 x 15,300 x 9,900 x 44 = 2,599,225,200,000,000,000,000
    #                                       = 21,660,210 x 12 x 10**13 exactly
    lines = [(NATURAL_GAS, 10_000_000, NONE), (MEASURED_NCV, 39_000, EVIDENCE)]
    assert _grams(system, JUNE_2022, lines) == [21_660_210, 0]
    # The other parameters still need rows: OF has none across the 2023 boundary.
    assert _compute(system, ACROSS_2023, lines) == _no_factor(NATURAL_GAS, ACROSS_2023)


def test_override_requires_evidence_and_is_unique(system: System) -> None:
    lines = [(ELECTRICITY, 1, NONE), (SUPPLIER_EF, 400_000, NONE)]
    assert _compute(system, JUNE_2022, lines) == ("MethodologyMissingEvidence", {"index": 1})
    twice = [(SUPPLIER_EF, 400_000, EVIDENCE), (ELECTRICITY, 1, NONE),
             (SUPPLIER_EF, 400_000, keccak(text="another"))]
    assert _compute(system, JUNE_2022, twice) == (
        "MethodologyDuplicateOverride", {"source": SUPPLIER_EF})
    # Overrides of different parameters or targets coexist.
    assert _compute(system, JUNE_2022, [(SUPPLIER_EF, 1, EVIDENCE), (CONTRACT_EF, 1, EVIDENCE),
                                        (MEASURED_NCV, 1, EVIDENCE)])[0] == "ok"


def test_two_override_sources_of_one_parameter(system: System) -> None:
    """Two override sources may replace the same (target, parameter); one computation may use
    only one of them (docs/accounting.md 1.4 step 3 keys duplicates by (target, parameter))."""
    second = bytes32("ef.electricity.residual")
    contract = _deploy(system, [*ENGINE_SOURCES, source_spec(
        second, "gCO2/MWh", 2, OVERRIDE, target=ELECTRICITY, parameters=("EF",))], ENGINE_FACTORS)
    line = (ELECTRICITY, 1_000_000, NONE)
    assert _outcome(system, contract, JUNE_2022, [line, (second, 700_000, EVIDENCE)])[1] == [
        (2, 700_000), (2, 0)]
    assert _outcome(system, contract, JUNE_2022, [(SUPPLIER_EF, 1, EVIDENCE), line,
                                                  (second, 2, EVIDENCE)]) == (
        "MethodologyDuplicateOverride", {"source": second})


# -- deductions -----------------------------------------------------------------------------------

def test_deductions_are_consumed_in_input_order(system: System) -> None:
    # One pool per target: certificate 1 MWh + PPA 0.5 MWh = 1.5 MWh against electricity.grid.
    # Lines of 1 MWh, 1 MWh, 1 MWh are covered 1, 0.5 and 0 MWh: 0, 290,500 and 581,000 g.
    # Heat (another target) is untouched; the deduction lines emit 0 and may come after.
    lines = [(ELECTRICITY, 1_000_000, NONE), (HEAT, 1_000_000, NONE),
             (ELECTRICITY, 1_000_000, NONE), (GREEN_CERTIFICATE, 1_000_000, EVIDENCE),
             (ELECTRICITY, 1_000_000, NONE), (GREEN_PPA, 500_000, keccak(text="ppa"))]
    assert _compute(system, JUNE_2022, lines) == (
        "ok", [(2, 0), (2, 110_000), (2, 290_500), (2, 0), (2, 581_000), (2, 0)],
        0, 981_500, 981_500)


def test_deductions_floor_at_zero(system: System) -> None:
    # A pool larger than the target's activity is left over: never negative emissions.
    lines = [(GREEN_CERTIFICATE, 5_000_000, EVIDENCE), (ELECTRICITY, 1_000_000, NONE),
             (ELECTRICITY, 2_000_000, NONE), (CONTRACT_ELECTRICITY, 1_000_000, NONE),
             (CONTRACT_EF, 100_000, EVIDENCE)]
    assert _compute(system, JUNE_2022, lines) == (
        "ok", [(2, 0), (2, 0), (2, 0), (2, 100_000), (2, 0)], 0, 100_000, 100_000)
    # Covered activity still needs its factor: the period must be resolvable.
    assert _compute(system, ACROSS_2023, lines[:2]) == _no_factor(ELECTRICITY, ACROSS_2023)


def test_deductions_require_evidence(system: System) -> None:
    lines = [(ELECTRICITY, 1, NONE), (GREEN_PPA, 1, EVIDENCE), (GREEN_CERTIFICATE, 1, NONE)]
    assert _compute(system, JUNE_2022, lines) == ("MethodologyMissingEvidence", {"index": 2})


def test_a_deduction_pool_overflow_reverts(system: System) -> None:
    lines = [(GREEN_CERTIFICATE, 2**255, EVIDENCE), (GREEN_PPA, 2**255, EVIDENCE)]
    assert _compute(system, JUNE_2022, lines) == PANIC_OVERFLOW
    assert _compute(system, JUNE_2022, [(GREEN_CERTIFICATE, MAX, EVIDENCE)])[0] == "ok"


# -- periods --------------------------------------------------------------------------------------

def test_the_whole_period_must_lie_in_one_row(system: System) -> None:
    electricity = [(ELECTRICITY, 1_000_000, NONE)]
    boundary = year_start(2023)
    assert _grams(system, YEAR_2022, electricity) == [581_000]  # [validFrom, validUntil) exactly
    assert _grams(system, (boundary, boundary + 1), electricity) == [536_600]
    assert _grams(system, (boundary - 1, boundary), electricity) == [581_000]
    for period in ((boundary - 1, boundary + 1), (year_start(2022) - 1, year_start(2022) + 1),
                   (year_start(2021), year_start(2022))):
        assert _compute(system, period, electricity) == _no_factor(ELECTRICITY, period)
    # A three-parameter source needs every parameter: CC is open-ended since 2020, OF and NCV
    # change in 2023.
    gas = [(NATURAL_GAS, 1, NONE)]
    assert _compute(system, ACROSS_2023, gas) == _no_factor(NATURAL_GAS, ACROSS_2023)
    before = (year_start(2019), year_start(2020))
    assert _compute(system, before, gas) == _no_factor(NATURAL_GAS, before)


def test_open_ended_rows(system: System) -> None:
    # validUntil = 2**64 - 1 stands for all later data, up to the last representable period.
    latest = (year_start(2023), OPEN_ENDED)
    assert _grams(system, latest, [(ELECTRICITY, 1_000_000, NONE)]) == [536_600]
    assert _grams(system, (OPEN_ENDED - 1, OPEN_ENDED), [(ELECTRICITY, 1_000_000, NONE)]) == \
        [536_600]
    # SF6's single row is open on both sides: every period, from 0 to 2**64 - 1.
    assert _grams(system, (0, OPEN_ENDED), [(SF6, 1_000, NONE)]) == [23_500_000]


def test_invalid_period(system: System) -> None:
    for period in ((10, 10), (11, 10), (OPEN_ENDED, 0)):
        assert _compute(system, period, [(UNKNOWN, 1, NONE)]) == (
            "MethodologyInvalidPeriod", {"periodStart": period[0], "periodEnd": period[1]})


# -- overflow -------------------------------------------------------------------------------------

def test_overflow_reverts_with_panic_0x11(system: System) -> None:
    for lines in ([(ELECTRICITY, MAX, NONE)],  # amount x EF
                  [(NATURAL_GAS, MAX // 38_931 + 1, NONE)],  # amount x NCV, the first product
                  [(NATURAL_GAS, MAX // (38_931 * 15_300 * 9_900 * 44) + 1, NONE)],  # x numerator
                  [(ELECTRICITY, (MAX - 500_000) // 581_000 + 1, NONE)],  # the half added
                  [(CO2_MEASURED, 2**255, NONE), (CO2_MEASURED, 2**255, NONE)],  # scope 1 sum
                  [(CO2_MEASURED, MAX, NONE), (ELECTRICITY, 10**6, NONE)],  # the total
                  [(CONTRACT_ELECTRICITY, 2, NONE),
                   (CONTRACT_EF, MAX // 2 + 1, EVIDENCE)]):  # with an override's value
        assert _compute(system, JUNE_2022, lines) == PANIC_OVERFLOW, lines
    # The largest electricity line that does not overflow, rounded.
    largest = (MAX - 500_000) // 581_000
    assert _grams(system, JUNE_2022, [(ELECTRICITY, largest, NONE)]) == [
        (largest * 581_000 + 500_000) // 10**6]
    assert _grams(system, JUNE_2022, [(CO2_MEASURED, MAX, NONE)]) == [MAX]
    # A deduction is subtracted before any multiplication.
    assert _grams(system, JUNE_2022, [(ELECTRICITY, MAX, NONE),
                                      (GREEN_CERTIFICATE, MAX - 10**6, EVIDENCE)]) == [581_000, 0]


def test_overflow_of_the_half_added(system: System) -> None:
    # acc + denominator / 2 is checked too: 1 x 1 + 2**255 / 2 fits; MAX - 2**254 + 1 + 2**254
    # does not.
    source = bytes32("test.half")
    contract = _deploy(system, [source_spec(source, "g", 1, numerator=1, denominator=2**255)], [])
    assert _outcome(system, contract, JUNE_2022, [(source, 2**255, NONE)])[1] == [(1, 1)]
    assert _outcome(system, contract, JUNE_2022, [(source, MAX - 2**254, NONE)])[1] == [(1, 1)]
    assert _outcome(system, contract, JUNE_2022, [(source, MAX - 2**254 + 1, NONE)]) == \
        PANIC_OVERFLOW


# -- the order of the checks ----------------------------------------------------------------------

def test_the_order_of_the_checks(system: System) -> None:
    cases: list[tuple[tuple[int, int], list[Line], Outcome]] = [
        # the period before anything
        ((5, 5), [(UNKNOWN, 1, NONE)], ("MethodologyInvalidPeriod", {"periodStart": 5,
                                                                     "periodEnd": 5})),
        # step 2 is one pass: the first failing line decides
        (JUNE_2022, [(SUPPLIER_EF, 1, NONE), (UNKNOWN, 1, NONE)],
         ("MethodologyMissingEvidence", {"index": 0})),
        (JUNE_2022, [(UNKNOWN, 1, NONE), (SUPPLIER_EF, 1, NONE)],
         ("MethodologyUnknownSource", {"source": UNKNOWN})),
        (JUNE_2022, [(SUPPLIER_EF, 1, EVIDENCE), (SUPPLIER_EF, 1, EVIDENCE), (UNKNOWN, 1, NONE)],
         ("MethodologyDuplicateOverride", {"source": SUPPLIER_EF})),
        (JUNE_2022, [(GREEN_PPA, MAX, EVIDENCE), (GREEN_PPA, 1, EVIDENCE), (UNKNOWN, 1, NONE)],
         PANIC_OVERFLOW),
        # every line is checked in step 2 before any line is computed in step 3
        (JUNE_2022, [(ELECTRICITY, MAX, NONE), (UNKNOWN, 1, NONE)],
         ("MethodologyUnknownSource", {"source": UNKNOWN})),
        (ACROSS_2023, [(ELECTRICITY, 1, NONE), (GREEN_PPA, 1, NONE)],
         ("MethodologyMissingEvidence", {"index": 1})),
        # step 3 goes line by line: a line's overflow before a later line's missing factor ...
        (ACROSS_2023, [(SF6, MAX, NONE), (ELECTRICITY, 1, NONE)], PANIC_OVERFLOW),
        (ACROSS_2023, [(ELECTRICITY, 1, NONE), (SF6, MAX, NONE)],
         _no_factor(ELECTRICITY, ACROSS_2023)),
        # ... and a line's parameters are resolved before its arithmetic
        (ACROSS_2023, [(ELECTRICITY, MAX, NONE)], _no_factor(ELECTRICITY, ACROSS_2023)),
        # the sums come last: their overflow after every line's missing factor
        (ACROSS_2023, [(CO2_MEASURED, MAX, NONE), (CO2_MEASURED, 1, NONE), (ELECTRICITY, 1, NONE)],
         _no_factor(ELECTRICITY, ACROSS_2023)),
    ]
    for period, lines, expected in cases:
        assert reference(ENGINE_SOURCES, ENGINE_FACTORS, period, lines) == expected, lines
        assert _compute(system, period, lines) == expected, lines


# -- constructor invariants -----------------------------------------------------------------------

SPEC_FIELDS = {"source": 0, "unit": 1, "scope": 2, "kind": 3, "target": 4, "parameters": 5,
               "numerator": 6, "denominator": 7}
ROW_FIELDS = {"key": 0, "source": 1, "parameter": 2, "validFrom": 3, "validUntil": 4}
ENGINE_INDEX = {spec[0]: i for i, spec in enumerate(ENGINE_SOURCES)}
NG, ELEC, HEAT_INDEX, CERT, SUPPLIER = (
    ENGINE_INDEX[s] for s in (NATURAL_GAS, ELECTRICITY, HEAT, GREEN_CERTIFICATE, SUPPLIER_EF))


def _spec(index: int, **changes: Any) -> Callable[[], tuple[list[Any], list[Any]]]:
    def build() -> tuple[list[Any], list[Any]]:
        sources = ENGINE_SOURCES
        for field, value in changes.items():
            sources = _replace(sources, index, SPEC_FIELDS[field], value)
        return sources, ENGINE_FACTORS
    return build


def _row(index: int, **changes: Any) -> Callable[[], tuple[list[Any], list[Any]]]:
    def build() -> tuple[list[Any], list[Any]]:
        factors = ENGINE_FACTORS
        for field, value in changes.items():
            factors = _replace(factors, index, ROW_FIELDS[field], value)
        return ENGINE_SOURCES, factors
    return build


def _names(*names: str) -> list[bytes]:
    return [bytes32(n) for n in names]


INVALID_SPECS = {
    "zero code": _spec(HEAT_INDEX, source=NONE),
    "zero unit": _spec(HEAT_INDEX, unit=NONE),
    "scope 0": _spec(HEAT_INDEX, scope=0),
    "scope 3": _spec(HEAT_INDEX, scope=3),
    "kind 3": _spec(CERT, kind=3),
    "emission with a target": _spec(HEAT_INDEX, target=ELECTRICITY),
    "emission without numerator": _spec(HEAT_INDEX, numerator=0),
    "emission without denominator": _spec(HEAT_INDEX, denominator=0),
    "zero parameter name": _spec(NG, parameters=[*_names("NCV", "CC"), NONE]),
    "repeated parameter": _spec(NG, parameters=_names("NCV", "CC", "NCV")),
    "deduction without target": _spec(CERT, target=NONE),
    "deduction with a parameter": _spec(CERT, parameters=_names("EF")),
    "deduction with a numerator": _spec(CERT, numerator=1),
    "deduction with a denominator": _spec(CERT, denominator=1),
    "override without target": _spec(SUPPLIER, target=NONE),
    "override of no parameter": _spec(SUPPLIER, parameters=[]),
    "override of two parameters": _spec(SUPPLIER, parameters=_names("EF", "EF2")),
    "override of a zero parameter": _spec(SUPPLIER, parameters=[NONE]),
    "override with a ratio": _spec(SUPPLIER, numerator=1, denominator=1),
}


@pytest.mark.parametrize("case", sorted(INVALID_SPECS))
def test_constructor_refuses_an_invalid_source_spec(system: System, case: str) -> None:
    sources, factors = INVALID_SPECS[case]()
    index = next(i for i, (a, b) in enumerate(zip(sources, ENGINE_SOURCES, strict=True)) if a != b)
    assert _constructor_error(system, sources, factors) == (
        "FactorMethodologyInvalidSourceSpec", {"index": index})


def test_constructor_refuses_wrong_sources_and_targets(system: System) -> None:
    duplicate = [*ENGINE_SOURCES, ENGINE_SOURCES[ELEC]]
    assert _constructor_error(system, duplicate, []) == (
        "FactorMethodologyDuplicateSource", {"source": ELECTRICITY})
    for index, target in ((CERT, UNKNOWN), (CERT, GREEN_PPA), (CERT, GREEN_CERTIFICATE),
                          (SUPPLIER, MEASURED_NCV), (SUPPLIER, SF6)):
        # not a source; a deduction; itself; an override; an emission source without EF
        sources = _replace(ENGINE_SOURCES, index, SPEC_FIELDS["target"], target)
        assert _constructor_error(system, sources, ENGINE_FACTORS) == (
            "FactorMethodologyUnknownTarget", {"index": index, "target": target})
    # A target may come later in the spec list than the source that targets it.
    reordered = [ENGINE_SOURCES[i] for i in reversed(range(len(ENGINE_SOURCES)))]
    assert _deploy(system, reordered, ENGINE_FACTORS).functions.sources().call() == [
        spec[0] for spec in reordered]
    # An invalid spec is reported before a duplicate or an unknown target later on.
    bad = _replace(duplicate, 1, SPEC_FIELDS["scope"], 0)
    assert _constructor_error(system, bad, []) == (
        "FactorMethodologyInvalidSourceSpec", {"index": 1})


ROW_ERRORS = {
    "zero key": (_row(3, key=NONE), "FactorMethodologyZeroKey", {"index": 3}),
    "duplicate key": (_row(3, key=ENGINE_FACTORS[1][0]), "FactorMethodologyDuplicateKey",
                      {"key": ENGINE_FACTORS[1][0]}),
    "unknown source": (_row(3, source=UNKNOWN), "FactorMethodologyUnknownParameter", {"index": 3}),
    "a deduction's row": (_row(3, source=GREEN_CERTIFICATE), "FactorMethodologyUnknownParameter",
                          {"index": 3}),
    "an override's row": (_row(3, source=SUPPLIER_EF, parameter=bytes32("EF")),
                          "FactorMethodologyUnknownParameter", {"index": 3}),
    "unknown parameter": (_row(3, parameter=bytes32("EF")), "FactorMethodologyUnknownParameter",
                          {"index": 3}),
    "empty period": (_row(3, validUntil=ENGINE_FACTORS[3][3]), "FactorMethodologyEmptyPeriod",
                     {"index": 3}),
    "reversed period": (_row(3, validFrom=ENGINE_FACTORS[3][4]), "FactorMethodologyEmptyPeriod",
                        {"index": 3}),
    "overlap by one second": (_row(4, validFrom=ENGINE_FACTORS[3][4] - 1),
                              "FactorMethodologyOverlappingPeriods", {"index": 4}),
    "overlap of an open-ended row": (_row(0, validUntil=OPEN_ENDED),
                                     "FactorMethodologyOverlappingPeriods", {"index": 1}),
    "same period twice": (_row(7, validFrom=ENGINE_FACTORS[6][3], validUntil=ENGINE_FACTORS[6][4]),
                          "FactorMethodologyOverlappingPeriods", {"index": 7}),
    "zero key before the rest": (_row(3, key=NONE, validUntil=0), "FactorMethodologyZeroKey",
                                 {"index": 3}),
    "unknown parameter before the period": (_row(3, parameter=bytes32("X"), validUntil=0),
                                            "FactorMethodologyUnknownParameter", {"index": 3}),
}


@pytest.mark.parametrize("case", sorted(ROW_ERRORS))
def test_constructor_refuses_an_invalid_factor_row(system: System, case: str) -> None:
    build, error, args = ROW_ERRORS[case]
    sources, factors = build()
    assert _constructor_error(system, sources, factors) == (error, args)


def test_constructor_accepts_adjacent_and_unsorted_rows(system: System) -> None:
    # Rows of one (source, parameter) may touch ([a, b) then [b, c)) and come in any order; rows
    # of different parameters or sources may overlap; a zero value is a value.
    rows = [factor_row("c", ELECTRICITY, "EF", 200, 300, 3, "gCO2/MWh", "PLACEHOLDER"),
            factor_row("a", ELECTRICITY, "EF", 0, 100, 0, "gCO2/MWh", "PLACEHOLDER"),
            factor_row("h", HEAT, "EF", 0, 300, 7, "gCO2/GJ", "PLACEHOLDER"),
            factor_row("b", ELECTRICITY, "EF", 100, 200, 2, "gCO2/MWh", "PLACEHOLDER")]
    contract = _deploy(system, ENGINE_SOURCES, rows)
    assert contract.functions.factorKeys().call() == _names("c", "a", "h", "b")
    for start, end, grams in ((0, 100, 0), (100, 200, 2), (150, 300, None), (200, 300, 3)):
        outcome = _outcome(system, contract, (start, end), [(ELECTRICITY, 10**6, NONE)])
        expected = ("ok", [(2, grams)], 0, grams, grams) if grams is not None else \
            _no_factor(ELECTRICITY, (start, end))
        assert outcome == expected


# -- properties -----------------------------------------------------------------------------------

PERIODS = [JUNE_2022, YEAR_2022, YEAR_2023, (year_start(2023), OPEN_ENDED)] * 3 + [
    (0, OPEN_ENDED), ACROSS_2023, (year_start(2019), year_start(2020)), (7, 7)]
# Mostly computable inputs; unknown sources, missing evidence and awkward periods now and then.
sources = st.sampled_from([spec[0] for spec in ENGINE_SOURCES if spec[3] == EMISSION] * 3
                          + [spec[0] for spec in ENGINE_SOURCES] * 2 + [UNKNOWN])
amounts = st.one_of(st.integers(0, 10**7), st.integers(0, 10**24), st.integers(0, MAX),
                    st.sampled_from([0, 1, MAX, 2**255, 2**128]))
lines_strategy = st.lists(
    st.tuples(sources, amounts, st.sampled_from([EVIDENCE] * 9 + [NONE])), max_size=8)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(period=st.sampled_from(PERIODS), lines=lines_strategy)
@example(period=JUNE_2022, lines=[(ELECTRICITY, 3 * 10**6, NONE), (GREEN_PPA, 10**6, EVIDENCE),
                                  (SUPPLIER_EF, 10**5, EVIDENCE), (GREEN_CERTIFICATE, 1, EVIDENCE),
                                  (ELECTRICITY, 10**6, NONE)])
@example(period=ACROSS_2023, lines=[(SF6, 1, NONE), (CO2_MEASURED, MAX, NONE),
                                    (CO2_MEASURED, 1, NONE)])
def test_compute_equals_the_reference(system: System, period: tuple[int, int],
                                      lines: list[Line]) -> None:
    """Results and failures, which failure included, are those of docs/accounting.md 1.4."""
    assert _compute(system, period, lines) == reference(ENGINE_SOURCES, ENGINE_FACTORS, period,
                                                        lines)


emission_lines = st.lists(
    st.tuples(st.sampled_from([NATURAL_GAS, SF6, ELECTRICITY, HEAT, CO2_MEASURED]),
              st.integers(0, 10**15)), max_size=8)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=emission_lines, year=st.sampled_from([2022, 2023]),
       deducted=st.integers(0, 3 * 10**15))
def test_each_line_is_the_exact_value_rounded_half_up(system: System,
                                                      lines: list[tuple[bytes, int]], year: int,
                                                      deducted: int) -> None:
    """Each line is its exact rational value rounded half up, with the deduction pool covering
    electricity lines first to last; scope sums and total add the lines."""
    period = (year_start(year), year_start(year + 1))
    specs = {spec[0]: spec for spec in ENGINE_SOURCES}
    calls = [(source, amount, NONE) for source, amount in lines]
    outcome = _compute(system, period, [*calls, (GREEN_CERTIFICATE, deducted, EVIDENCE)])
    assert outcome[0] == "ok"
    emissions = outcome[1][:-1]
    pool = deducted
    for (source, amount), (scope, grams) in zip(lines, emissions, strict=True):
        _, _, spec_scope, _, _, parameters, numerator, denominator = specs[source]
        if source == ELECTRICITY:
            covered = min(pool, amount)
            pool -= covered
            amount -= covered
        exact = Fraction(amount * numerator, denominator)
        for parameter in parameters:
            (value,) = [row[5] for row in ENGINE_FACTORS if row[1] == source
                        and row[2] == parameter and row[3] <= period[0] and period[1] <= row[4]]
            exact *= value
        assert scope == spec_scope
        assert grams - Fraction(1, 2) <= exact < grams + Fraction(1, 2)
    assert outcome[2] == sum(g for s, g in emissions if s == 1)
    assert outcome[3] == sum(g for s, g in emissions if s == 2)
    assert outcome[4] == outcome[2] + outcome[3]
    assert outcome[1][-1] == (2, 0)


def test_the_engine_table_is_a_placeholder() -> None:
    assert all(row[8].startswith("PLACEHOLDER") for row in ENGINE_FACTORS)
    assert {spec[3] for spec in ENGINE_SOURCES} == {EMISSION, DEDUCTION, OVERRIDE}
