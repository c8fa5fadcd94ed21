"""Which methodology covers an emission source (the mapping rule of docs/edge.md), and the
version in force at a time as the registry resolves it (the last published version whose
effective time is at or before it)."""

from __future__ import annotations

import pytest
from unit.edge_node.summaries.support import LOCATION, in_force

from accounting_rules.model import SourceKind
from accounting_rules.registry import load_methodology, methodologies
from edge_node.errors import SummaryConfigError
from edge_node.summaries import MethodologyVersions, methodology_for_source, source_unit
from mrv_core.errors import ConfigError


@pytest.mark.parametrize(("source", "methodology_id"), [
    ("electricity.grid", LOCATION),  # also in cn.electricity.market (deducted) and cn.machinery
    ("electricity.grid.east", LOCATION),
    ("electricity.grid.beijing", LOCATION),  # only in version 2
    ("heat.purchased", "cn.heat.purchased"),
    ("fuel.natural_gas", "cn.combustion.stationary"),
    ("gas.ch4", "ipcc.fugitive"),
])
def test_a_source_maps_to_the_one_plain_methodology_emitting_it_without_deductions(
        source: str, methodology_id: str) -> None:
    assert methodology_for_source(source) == methodology_id


@pytest.mark.parametrize("source", ["electricity.gec", "fuel.natural_gas#NCV", "no.such.source"])
def test_a_source_no_methodology_emits_is_a_configuration_error(source: str) -> None:
    with pytest.raises(SummaryConfigError, match=r"exactly one .* found none") as caught:
        methodology_for_source(source)
    assert isinstance(caught.value, ConfigError)


def test_every_emission_source_of_a_plain_shipped_methodology_is_covered() -> None:
    for methodology_id, version in methodologies():
        m = load_methodology(methodology_id, version)
        if m.composed_of or any(s.kind is SourceKind.DEDUCTION for s in m.sources):
            continue
        for spec in m.sources:
            if spec.kind is SourceKind.EMISSION:
                assert methodology_for_source(spec.source) == methodology_id
                assert source_unit(spec.source) == spec.unit


def test_the_version_in_force_is_the_last_effective_at_or_before_the_time() -> None:
    first, second = in_force(1, effective=1000), in_force(2, effective=2000)
    known = MethodologyVersions([LOCATION], {LOCATION: [first, second]}, as_of=5000)
    assert known.published(LOCATION) and not known.published("ipcc.fugitive")
    assert known.in_force(LOCATION, 999) is None
    assert known.in_force(LOCATION, 1000) == known.in_force(LOCATION, 1999) == first
    assert known.in_force(LOCATION, 2000) == known.in_force(LOCATION, 10**10) == second
    assert known.as_of == 5000
    assert MethodologyVersions([LOCATION]).as_of == -1  # never read
