"""Which shipped methodology covers an emission source, and the source's activity unit.

**The mapping rule** (docs/edge.md, "Local emission summaries"; the edge node's summaries and
the ledger's monitoring plan both follow it): the methodology of an emission source code is the
one shipped methodology id (``accounting_rules/data``) that

- is not a composite (its data files have no ``composedOf``: an enterprise methodology such as
  ``cn.machinery`` repeats its components' sources and is for reports, not for one meter), and
- declares the source as an **emission** source that no **deduction** source of the same
  methodology targets (a deduction, such as market-based accounting's green certificates, needs
  evidence a meter does not have),

in any of its shipped versions. ``electricity.grid`` and every ``electricity.grid.<region>`` /
``electricity.grid.<province>`` map to ``cn.electricity.location``, ``heat.purchased`` to
``cn.heat.purchased``, ``fuel.*`` to ``cn.combustion.stationary``, ``gas.*`` to
``ipcc.fugitive``. A source no id or several ids satisfy raises
:class:`~accounting_rules.errors.SourceNotCovered`.

**The activity quantity** (:func:`activity_quantity`): the one registered cumulative quantity
(``mrv_core.quantities``) that measures what the source's methodology takes as its activity, in
the source's unit. Each methodology's data file says what that is in its ``specification``
("Activity: ..." line); :data:`ACTIVITY_QUANTITIES` transcribes it, since the published data
files (their hashes are on chain) cannot gain a field. Purchased electricity is electricity
taken from the grid (``energy.active.import:Wh``, never the export register), purchased heat is
heat received (``heat:kJ``), a fuel is fuel burnt (``volume.gas:dm3`` or ``mass.fuel:g``); the
fugitive gases' activity, a mass released to the atmosphere, is no meter register's.

Pure: reads only the shipped data files (cached).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from types import MappingProxyType

from mrv_core.quantities import QUANTITIES, QuantityKind

from .errors import SourceNotCovered, WrongActivityQuantity
from .model import Methodology, SourceKind
from .registry import load_methodology, methodologies

__all__ = ["ACTIVITY_QUANTITIES", "activity_quantity", "check_activity_quantity",
           "methodology_for_source", "source_unit"]

#: Methodology id -> the cumulative quantities that measure its activity, as its data files'
#: "Activity:" specification line states it (module docstring); one per activity unit.
ACTIVITY_QUANTITIES: Mapping[str, tuple[str, ...]] = MappingProxyType({
    # v1, v2: "Activity: electricity taken from the grid, integer Wh."
    "cn.electricity.location": ("energy.active.import:Wh",),
    # v1: "Activity: heat.purchased, heat received, integer kJ."
    "cn.heat.purchased": ("heat:kJ",),
    # v1, v2: "Activity per fuel source: fuel burnt, integer dm3 at normal conditions
    # (fuel.natural_gas, fuel.coke_oven_gas) or integer g (every other fuel)."
    "cn.combustion.stationary": ("volume.gas:dm3", "mass.fuel:g"),
    # v1..v3: "Activity per gas source: mass of the gas released to the atmosphere": no meter.
    "ipcc.fugitive": (),
})
assert all(QUANTITIES[code].kind is QuantityKind.CUMULATIVE
           for codes in ACTIVITY_QUANTITIES.values() for code in codes)


def _covers(methodology: Methodology, source: str) -> bool:
    specs = {spec.source: spec for spec in methodology.sources}
    spec = specs.get(source)
    if spec is None or spec.kind is not SourceKind.EMISSION:
        return False
    return not any(s.kind is SourceKind.DEDUCTION and s.target == source
                   for s in methodology.sources)


@cache
def _coverage() -> Mapping[str, tuple[str, ...]]:
    """Every source code and the shipped, non-composite ids that cover it (module docstring)."""
    found: dict[str, set[str]] = {}
    for methodology_id, version in methodologies():
        methodology = load_methodology(methodology_id, version)
        if methodology.composed_of:
            continue
        for spec in methodology.sources:
            if _covers(methodology, spec.source):
                found.setdefault(spec.source, set()).add(methodology_id)
    return {source: tuple(sorted(ids)) for source, ids in found.items()}


def methodology_for_source(source: str) -> str:
    """The methodology id of emission source ``source`` (module docstring, the mapping rule).

    Raises :class:`SourceNotCovered` when no shipped id or several cover it."""
    ids = _coverage().get(source, ())
    if len(ids) != 1:
        raise SourceNotCovered(source, ids)
    return ids[0]


def source_unit(source: str) -> str:
    """The activity unit of ``source`` in the latest shipped version of its methodology that
    declares it (``Wh`` for ``electricity.grid``). Raises :class:`SourceNotCovered` as
    :func:`methodology_for_source` does."""
    methodology_id = methodology_for_source(source)
    versions = sorted((v for i, v in methodologies() if i == methodology_id), reverse=True)
    for version in versions:
        for spec in load_methodology(methodology_id, version).sources:
            if spec.source == source:
                return spec.unit
    raise AssertionError("unreachable: the coverage lists only declared sources")


def activity_quantity(source: str) -> str | None:
    """The cumulative quantity code a meter feeding ``source`` is read from (module docstring,
    the activity quantity): ``energy.active.import:Wh`` for ``electricity.grid``; ``None``
    when no meter register measures the source's activity (the fugitive gases). Raises
    :class:`SourceNotCovered` as :func:`methodology_for_source` does."""
    unit = source_unit(source)
    found = [code for code in ACTIVITY_QUANTITIES.get(methodology_for_source(source), ())
             if QUANTITIES[code].unit == unit]
    return found[0] if len(found) == 1 else None


def check_activity_quantity(source: str, quantity: str) -> str:
    """``quantity`` when it is :func:`activity_quantity` of ``source``; otherwise
    :class:`WrongActivityQuantity` naming the expected and the given code (or
    :class:`SourceNotCovered`)."""
    expected = activity_quantity(source)
    if quantity != expected:
        raise WrongActivityQuantity(source, methodology_for_source(source), expected or "",
                                    quantity)
    return quantity
