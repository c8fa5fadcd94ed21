"""Constructor arguments and activity tuples for the FactorMethodology contract, and the one-to-one
map between the contract's errors and the Python ones. Pure: eth-abi encodes, no chain runs here
(the integration tests deploy)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode

from accounting_rules import (
    OPEN_ENDED,
    AccountingError,
    AccountingOverflow,
    Activity,
    DuplicateOverride,
    Emission,
    InvalidPeriod,
    MissingEvidence,
    NoFactorForPeriod,
    Result,
    UnknownFactor,
    UnknownSource,
    compute,
    error_from_contract,
    load_methodology,
    methodologies,
)
from accounting_rules.codes import ZERO32, decode_code, encode_code
from accounting_rules.errors import CONSTRUCTOR_ERROR, CONTRACT_ERROR
from accounting_rules.model import SourceKind
from accounting_rules.onchain import (
    ACTIVITY_TYPE,
    CONSTRUCTOR_TYPES,
    RESULT_TYPE,
    activity_tuples,
    constructor_args,
    factor_row_tuple,
    result_from_abi,
    source_spec_tuple,
)
from factories import EVIDENCE, beijing
from mrv_core.chain.artifacts import PACKAGED_BUILD_DIR
from mrv_core.errors import ContractRevert

BUILD = PACKAGED_BUILD_DIR


def b32(text: str) -> bytes:
    return text.encode().ljust(32, b"\0")


@pytest.mark.parametrize(("mid", "version"), methodologies())
def test_constructor_args_encode_and_round_trip(mid: str, version: int) -> None:
    m = load_methodology(mid, version)
    args = constructor_args(m)
    decoded = abi_decode(list(CONSTRUCTOR_TYPES), abi_encode(list(CONSTRUCTOR_TYPES), args))
    methodology_id, number, spec_hash, sources, factors = decoded
    assert (methodology_id, number, spec_hash) == (b32(mid), version, m.spec_hash)
    assert [decode_code(s[0]) for s in sources] == list(m.source_codes)
    assert [decode_code(f[0]) for f in factors] == list(m.factor_keys)
    assert [(*s[:5], list(s[5]), *s[6:]) for s in sources] == args[3]
    assert [tuple(f) for f in factors] == args[4]


def test_a_source_spec_tuple() -> None:
    m = load_methodology("cn.combustion.stationary", 1)
    assert source_spec_tuple(m.source("fuel.natural_gas")) == (
        b32("fuel.natural_gas"), b32("dm3"), 1, 0, ZERO32, [b32("NCV"), b32("CC"), b32("OF")],
        44, 120_000_000_000_000)
    assert source_spec_tuple(m.source("fuel.natural_gas#CC")) == (
        b32("fuel.natural_gas#CC"), b32("gC/GJ"), 1, int(SourceKind.OVERRIDE),
        b32("fuel.natural_gas"), [b32("CC")], 0, 0)
    market = load_methodology("cn.electricity.market", 1)
    assert source_spec_tuple(market.source("electricity.gec"))[2:] == (
        2, 1, b32("electricity.grid"), [], 0, 0)


def test_a_factor_row_tuple() -> None:
    m = load_methodology("cn.electricity.location", 1)
    key, source, parameter, start, until, value, decimals, unit, citation = factor_row_tuple(
        m.factor("elec.grid.2023"))
    assert (key, source, parameter) == (b32("elec.grid.2023"), b32("electricity.grid"), b32("EF"))
    assert (start, until, value, decimals, unit) == (beijing(2023), OPEN_ENDED, 530_600, 0,
                                                     b32("gCO2/MWh"))
    publication, document, table, year = citation.split(" | ")
    assert publication.startswith("生态环境部、国家统计局")
    assert "公告2025年第47号" in document and "data year 2023" in table and year == "2025"


def test_activities_and_results() -> None:
    lines = [Activity("electricity.grid", 10**6), Activity("electricity.gec", 5, EVIDENCE),
             Activity(b"\xff" * 32, 1)]
    tuples = activity_tuples(lines)
    assert tuples == [(b32("electricity.grid"), 10**6, ZERO32),
                      (b32("electricity.gec"), 5, EVIDENCE), (b"\xff" * 32, 1, ZERO32)]
    encoded = abi_encode([ACTIVITY_TYPE + "[]"], [tuples])
    assert abi_decode([ACTIVITY_TYPE + "[]"], encoded) == (tuple(tuples),)
    result = compute(load_methodology("cn.electricity.market", 1),
                     beijing(2022, 3), beijing(2022, 4), lines[:2])
    raw = ([(e.scope, e.grams) for e in result.emissions], result.scope1, result.scope2,
           result.total)
    (decoded,) = abi_decode([RESULT_TYPE], abi_encode([RESULT_TYPE], [raw]))
    assert result_from_abi(decoded) == result == Result(
        (Emission(2, 585_597), Emission(2, 0)), 0, 585_597, 585_597)


# -- the errors ------------------------------------------------------------------------------------

ERRORS: list[AccountingError] = [
    InvalidPeriod(5, 4), UnknownSource("gas.xyz"), UnknownSource(b"\xff" * 32),
    NoFactorForPeriod("electricity.grid", 1, 2), UnknownFactor("elec.grid.1999"),
    MissingEvidence(3), DuplicateOverride("heat.purchased#EF"), AccountingOverflow("x"),
]


def test_every_contract_error_has_one_python_class() -> None:
    assert set(CONTRACT_ERROR) == {
        "MethodologyInvalidPeriod", "MethodologyUnknownSource", "MethodologyNoFactorForPeriod",
        "MethodologyUnknownFactor", "MethodologyMissingEvidence", "MethodologyDuplicateOverride",
        "Panic(0x11)"}
    assert {type(error) for error in ERRORS} == set(CONTRACT_ERROR.values())


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: type(e).__name__)
def test_errors_round_trip_through_a_decoded_revert(error: AccountingError) -> None:
    name = "Panic" if isinstance(error, AccountingOverflow) else error.contract_error
    revert = ContractRevert.of(name, error.contract_args())  # what mrv_core.chain decodes
    back = error_from_contract(revert.error, revert.args_by_name)
    assert type(back) is type(error)
    assert back is not None and back.contract_args() == error.contract_args()


@pytest.mark.parametrize(("name", "args"), [
    ("Panic", {"code": 0x01}), ("Panic", {}), ("Error", {"message": "x"}),
    ("MethodologyUnknownSource", {"source": b"short"}), ("MethodologyMissingEvidence", {}),
    ("MethodologyInvalidPeriod", {"periodStart": "1", "periodEnd": 2}),
    ("AnchorRegistryBatchSeqMismatch", {}),
])
def test_other_reverts_are_not_accounting_errors(name: str, args: dict[str, Any]) -> None:
    assert error_from_contract(name, args) is None


def _abi_errors(artifact: str) -> dict[str, list[tuple[str, str]]]:
    path = BUILD / f"{artifact}.json"
    if not path.exists():
        pytest.skip(f"{path} is not built")
    abi = json.loads(path.read_text(encoding="utf-8"))["abi"]
    return {item["name"]: [(i["name"], i["type"]) for i in item["inputs"]]
            for item in abi if item["type"] == "error"}


def test_python_errors_carry_the_contract_error_arguments() -> None:
    abi = _abi_errors("IMethodology")
    for error in ERRORS:
        if isinstance(error, AccountingOverflow):
            continue
        names = [name for name, _ in abi[error.contract_error]]
        assert list(error.contract_args()) == names


def test_constructor_errors_exist_in_the_contract() -> None:
    abi = _abi_errors("IFactorMethodology")
    assert set(CONSTRUCTOR_ERROR) <= set(abi)


def test_constructor_types_match_the_compiled_contract() -> None:
    path = BUILD / "FactorMethodology.json"
    if not path.exists():
        pytest.skip(f"{path} is not built")
    abi = json.loads(path.read_text(encoding="utf-8"))["abi"]
    (constructor,) = [item for item in abi if item["type"] == "constructor"]

    def canonical(item: dict[str, Any]) -> str:
        if item["type"].startswith("tuple"):
            inner = ",".join(canonical(c) for c in item["components"])
            return f"({inner}){item['type'][len('tuple'):]}"
        return str(item["type"])

    assert tuple(canonical(i) for i in constructor["inputs"]) == CONSTRUCTOR_TYPES
    (compute_abi,) = [item for item in abi if item.get("name") == "compute"]
    assert canonical(compute_abi["inputs"][2]) == ACTIVITY_TYPE + "[]"
    assert canonical(compute_abi["outputs"][0]) == RESULT_TYPE


def test_codes_encode_like_solidity_bytes32() -> None:
    assert encode_code("electricity.grid") == b"electricity.grid" + bytes(16)
    assert decode_code(encode_code("x" * 32)) == "x" * 32
    assert decode_code(bytes(32)) is None
    assert decode_code(b"a\x00b".ljust(32, b"\0")) is None
    with pytest.raises(ValueError):
        encode_code("x" * 33)
