"""Methodology definitions: every invariant the contract's constructor checks (and the few stricter
ones) has a case that is refused, and a valid table is accepted."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from accounting_rules import Activity, DuplicateOverride, compute
from accounting_rules.codes import encode_code
from accounting_rules.errors import (
    DefinitionError,
    DuplicateKey,
    DuplicateSource,
    EmptyPeriod,
    InconsistentFactorUnits,
    InvalidFactor,
    InvalidMethodology,
    InvalidSourceSpec,
    OverlappingPeriods,
    UnknownFactor,
    UnknownParameter,
    UnknownSource,
    UnknownTarget,
)
from accounting_rules.model import (
    OPEN_ENDED,
    Citation,
    FactorRow,
    Methodology,
    SourceKind,
    SourceSpec,
)
from factories import EVIDENCE
from mrv_core.codec import UINT64_MAX, UINT256_MAX

E, D, OV = SourceKind.EMISSION, SourceKind.DEDUCTION, SourceKind.OVERRIDE
CITATION = Citation("Publisher", "Document", "Table 1", 2024, "test data, not a real factor")
GRID = SourceSpec("grid", "Wh", 2, E, None, ("EF",), 1, 1_000_000)
CERT = SourceSpec("grid.cert", "Wh", 2, D, "grid", (), 0, 0)
FUEL = SourceSpec("fuel", "g", 1, E, None, ("NCV", "CC"), 44, 12)
FUEL_NCV = SourceSpec("fuel#NCV", "J/g", 1, OV, "fuel", ("NCV",), 0, 0)
ROW_2022 = FactorRow("grid.2022", "grid", "EF", 100, 200, 536_600, 0, "gCO2/MWh", CITATION)
ROW_2023 = FactorRow("grid.2023", "grid", "EF", 200, OPEN_ENDED, 530_600, 0, "gCO2/MWh", CITATION)
ROW_NCV = FactorRow("fuel.NCV", "fuel", "NCV", 0, OPEN_ENDED, 42_652, 0, "J/g", CITATION)


def make(sources: tuple[SourceSpec, ...] = (GRID, CERT, FUEL, FUEL_NCV),
         factors: tuple[FactorRow, ...] = (ROW_2022, ROW_2023, ROW_NCV),
         **fields: Any) -> Methodology:
    values: dict[str, Any] = {"id": "test.methodology", "version": 1, "title": "Test",
                              "specification": "tests only", "spec_hash": bytes(32)}
    values.update(fields)
    return Methodology(sources=sources, factors=factors, **values)


def test_a_valid_methodology_and_its_lookups() -> None:
    m = make()
    assert m.source_codes == ("grid", "grid.cert", "fuel", "fuel#NCV")
    assert m.factor_keys == ("grid.2022", "grid.2023", "fuel.NCV")
    assert m.source("grid") is GRID
    assert m.factor("grid.2023") is ROW_2023
    assert m.rows("grid", "EF") == (ROW_2022, ROW_2023)
    assert m.rows("fuel", "CC") == ()
    assert ROW_2022.covers(100, 200) and not ROW_2022.covers(100, 201)
    with pytest.raises(UnknownSource) as caught:
        m.source("nope")
    assert caught.value.source == b"nope".ljust(32, b"\0")
    with pytest.raises(UnknownFactor):
        m.factor("nope")


def test_adjacent_periods_do_not_overlap() -> None:
    make(factors=(ROW_2023, ROW_2022))  # order in the table is free


def test_citation_text_is_the_on_chain_string() -> None:
    assert CITATION.text() == "Publisher | Document | Table 1 | 2024"


# -- source specs: each record checks its own fields -----------------------------------------------

@pytest.mark.parametrize("changes", [
    {"source": ""},
    {"source": "x" * 33},
    {"source": "with space"},
    {"source": "电力"},
    {"source": "nul\x00byte"},
    {"unit": "kWh"},
    {"unit": "J/g"},
    {"scope": 3},
    {"scope": 0},
    {"scope": True},
    {"kind": 0},
    {"target": "grid"},
    {"parameters": ["EF"]},
    {"parameters": ("EF", "EF")},
    {"parameters": ("bad code",)},
    {"numerator": 0},
    {"denominator": 0},
    {"denominator": UINT256_MAX + 1},
    {"numerator": -1},
    {"numerator": True},
])
def test_invalid_emission_specs(changes: dict[str, Any]) -> None:
    with pytest.raises(InvalidSourceSpec):
        replace(GRID, **changes)


@pytest.mark.parametrize(("base", "changes"), [
    (CERT, {"target": None}),
    (CERT, {"target": "bad target"}),
    (CERT, {"parameters": ("EF",)}),
    (CERT, {"numerator": 1}),
    (CERT, {"denominator": 1}),
    (CERT, {"unit": "gCO2/MWh"}),
    (FUEL_NCV, {"parameters": ()}),
    (FUEL_NCV, {"parameters": ("NCV", "CC")}),
    (FUEL_NCV, {"unit": "g"}),
    (FUEL_NCV, {"unit": "J/kg"}),
    (FUEL_NCV, {"numerator": 1, "denominator": 1}),
])
def test_invalid_deduction_and_override_specs(base: SourceSpec, changes: dict[str, Any]) -> None:
    with pytest.raises(InvalidSourceSpec):
        replace(base, **changes)


# -- the table as a whole, in the contract's order -------------------------------------------------

def test_duplicate_source() -> None:
    with pytest.raises(DuplicateSource):
        make(sources=(GRID, CERT, GRID))


@pytest.mark.parametrize("spec", [
    replace(CERT, target="nowhere"),
    replace(CERT, target="grid.cert"),  # a deduction, not an emission source
    replace(FUEL_NCV, target="grid.cert", unit="J/g"),
])
def test_unknown_target(spec: SourceSpec) -> None:
    with pytest.raises(UnknownTarget):
        make(sources=(GRID, CERT, FUEL, spec) if spec.source != CERT.source
             else (GRID, spec, FUEL, FUEL_NCV))


def test_override_of_a_parameter_its_target_lacks() -> None:
    with pytest.raises(UnknownTarget, match="has no parameter 'OF'"):
        make(sources=(GRID, FUEL, SourceSpec("fuel#OF", "1e-4", 1, OV, "fuel", ("OF",), 0, 0)),
             factors=())


def test_deduction_in_another_unit_or_scope_than_its_target() -> None:
    with pytest.raises(InvalidSourceSpec, match="target's unit"):
        make(sources=(GRID, FUEL, replace(CERT, target="fuel", scope=1)), factors=())
    with pytest.raises(InvalidSourceSpec, match="scope"):
        make(sources=(GRID, replace(CERT, scope=1)), factors=())


def test_two_override_sources_may_replace_one_parameter() -> None:
    """As in the contract: a computation may then use only one of them, since duplicates are
    counted per (target, parameter); the error names the second line's source."""
    twin = replace(FUEL_NCV, source="fuel#NCV2")
    m = make(sources=(GRID, CERT, FUEL, FUEL_NCV, twin))
    lines = [Activity("fuel#NCV", 1, EVIDENCE), Activity("fuel#NCV2", 2, EVIDENCE)]
    with pytest.raises(DuplicateOverride) as caught:
        compute(m, 0, 1, lines)
    assert caught.value.source == encode_code("fuel#NCV2")


def test_duplicate_key() -> None:
    with pytest.raises(DuplicateKey):
        make(factors=(ROW_2022, replace(ROW_2023, key="grid.2022")))


@pytest.mark.parametrize("row", [
    replace(ROW_2022, source="nowhere"),
    replace(ROW_2022, source="grid.cert"),  # a deduction has no parameters
    replace(ROW_2022, parameter="CC"),
    replace(ROW_NCV, source="fuel#NCV"),  # an override has no rows
])
def test_factor_for_unknown_source_or_parameter(row: FactorRow) -> None:
    with pytest.raises(UnknownParameter):
        make(factors=(row,))


@pytest.mark.parametrize("second", [
    replace(ROW_2023, valid_from=199),
    replace(ROW_2023, valid_from=0, valid_until=101),
    replace(ROW_2023, valid_from=150, valid_until=160),
    replace(ROW_2023, valid_from=0),
])
def test_overlapping_periods(second: FactorRow) -> None:
    with pytest.raises(OverlappingPeriods) as caught:
        make(factors=(ROW_2022, second))
    assert (caught.value.key, caught.value.other) == ("grid.2023", "grid.2022")


def test_rows_of_one_parameter_share_unit_and_decimals() -> None:
    with pytest.raises(InconsistentFactorUnits):
        make(factors=(ROW_2022, replace(ROW_2023, decimals=2)))
    with pytest.raises(InconsistentFactorUnits):
        make(factors=(ROW_2022, replace(ROW_2023, unit="gCO2/GJ")))


def test_an_override_is_in_the_unit_of_the_rows_it_replaces() -> None:
    with pytest.raises(InconsistentFactorUnits):
        make(factors=(replace(ROW_NCV, unit="J/dm3"),))


# -- factor rows and citations ---------------------------------------------------------------------

@pytest.mark.parametrize(("changes", "error"), [
    ({"valid_from": 200}, EmptyPeriod),
    ({"valid_from": 300}, EmptyPeriod),
    ({"key": ""}, InvalidFactor),
    ({"key": "k" * 33}, InvalidFactor),
    ({"source": "bad source"}, InvalidFactor),
    ({"valid_from": -1}, InvalidFactor),
    ({"valid_until": UINT64_MAX + 1}, InvalidFactor),
    ({"value": -1}, InvalidFactor),
    ({"value": UINT256_MAX + 1}, InvalidFactor),
    ({"value": 1.5}, InvalidFactor),
    ({"decimals": 256}, InvalidFactor),
    ({"unit": "kgCO2/kWh"}, InvalidFactor),
    ({"citation": "MEE 2024"}, InvalidFactor),
])
def test_invalid_factor_rows(changes: dict[str, Any], error: type[DefinitionError]) -> None:
    with pytest.raises(error):
        replace(ROW_2022, **changes)


@pytest.mark.parametrize("changes", [
    {"publication": ""},
    {"document": " padded"},
    {"table": "a | b"},
    {"verification": ""},
    {"year": 1800},
    {"year": "2024"},
    {"url": "http://example.org"},
])
def test_invalid_citations(changes: dict[str, Any]) -> None:
    with pytest.raises(InvalidFactor):
        replace(CITATION, **changes)


# -- the methodology's own fields ------------------------------------------------------------------

@pytest.mark.parametrize("changes", [
    {"id": "x" * 33},
    {"id": ""},
    {"version": 0},
    {"version": 2**32},
    {"version": True},
    {"title": ""},
    {"spec_hash": bytes(31)},
    {"sources": ()},
    {"sources": [GRID]},
    {"factors": [ROW_2022]},
    {"sources": (GRID, "grid")},
])
def test_invalid_methodology_fields(changes: dict[str, Any]) -> None:
    with pytest.raises(InvalidMethodology):
        replace(make(), **changes)


def test_errors_are_value_errors_under_the_methodology_root() -> None:
    from mrv_core.errors import MethodologyError

    with pytest.raises(DuplicateSource) as caught:
        make(sources=(GRID, GRID))
    assert isinstance(caught.value, MethodologyError) and isinstance(caught.value, ValueError)
