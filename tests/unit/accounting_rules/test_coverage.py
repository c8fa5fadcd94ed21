"""The activity quantity of each emission source (accounting_rules.coverage): the cumulative
register that measures what the source's methodology takes as its activity, transcribed from
each data file's "Activity:" line; purchased electricity is the import register, never the
export one."""

from __future__ import annotations

import pytest

from accounting_rules.coverage import (
    ACTIVITY_QUANTITIES,
    activity_quantity,
    check_activity_quantity,
    methodology_for_source,
    source_unit,
)
from accounting_rules.errors import SourceNotCovered, WrongActivityQuantity
from accounting_rules.registry import load_methodology, methodologies
from mrv_core.quantities import QUANTITIES


def _covered() -> dict[str, str]:
    """Every emission source some shipped methodology covers, and that methodology's id."""
    found = {}
    for methodology_id, version in methodologies():
        for spec in load_methodology(methodology_id, version).sources:
            try:
                found[spec.source] = methodology_for_source(spec.source)
            except SourceNotCovered:
                continue
    return found


def test_every_covering_methodology_has_its_activity_quantities_in_its_units() -> None:
    covered = _covered()
    assert set(covered.values()) == set(ACTIVITY_QUANTITIES)
    for source in covered:
        quantity = activity_quantity(source)
        if quantity is not None:
            assert QUANTITIES[quantity].unit == source_unit(source), source


def test_the_table_cites_what_each_data_file_says_the_activity_is() -> None:
    said = {"cn.electricity.location": "electricity taken from the grid",
            "cn.heat.purchased": "heat received", "cn.combustion.stationary": "fuel burnt",
            "ipcc.fugitive": "mass of the gas released to the atmosphere"}
    for methodology_id, version in methodologies():
        if methodology_id in ACTIVITY_QUANTITIES:
            text = load_methodology(methodology_id, version).specification
            assert said[methodology_id] in text, (methodology_id, version)


@pytest.mark.parametrize(("source", "quantity"), [
    ("electricity.grid", "energy.active.import:Wh"),
    ("electricity.grid.guangdong", "energy.active.import:Wh"),
    ("heat.purchased", "heat:kJ"),
    ("fuel.natural_gas", "volume.gas:dm3"),
    ("fuel.diesel", "mass.fuel:g"),
    ("gas.sf6", None),
])
def test_known_activity_quantities(source: str, quantity: str | None) -> None:
    assert activity_quantity(source) == quantity


def test_the_export_register_never_feeds_purchased_electricity() -> None:
    assert check_activity_quantity("electricity.grid", "energy.active.import:Wh")
    with pytest.raises(WrongActivityQuantity) as caught:
        check_activity_quantity("electricity.grid", "energy.active.export:Wh")
    assert (caught.value.expected, caught.value.actual) == ("energy.active.import:Wh",
                                                            "energy.active.export:Wh")
    assert "expected energy.active.import:Wh, got 'energy.active.export:Wh'" in str(caught.value)
    with pytest.raises(SourceNotCovered):
        check_activity_quantity("electricity.gec", "energy.active.import:Wh")
