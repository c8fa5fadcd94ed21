"""Emissions of the measured figures: per meter, per site and source, per scope, for one
calendar period, with the methodology version in force (docs/api.md, "Monitoring plan and
recompute").

For a period ``[start, end)`` and its figures (:func:`ledger_api.recompute.meter_figures`):

- **methodology**: each figure's source maps to a methodology id by the mapping rule
  (``accounting_rules.coverage``: ``electricity.grid`` to ``cn.electricity.location``...), or
  every source to the one id asked for (an enterprise methodology such as ``cn.machinery``).
  The version is the one in force at the period's start as the MethodologyRegistry resolves it
  (``accounting_rules.versions.MethodologyVersions``: read from the chain, checked against the
  shipped data file, cached), and the figures go through the Python calculator with that data
  file, which gives the contract's figures bit for bit;
- **meters**: one ``compute`` per methodology over the figures' activity lines in (meter path,
  device) order, as a report's measured lines (spec11 section 2): each line's grams and scope,
  and the scope totals;
- **sites**: per site and source, ``compute`` of the single line (source, summed activity), as
  the device's site summaries compute it (``accounting_rules.summaries``), so the two compare.

Errors: :class:`~ledger_api.errors.RecomputeRefused` 409 ``methodology`` when no checked
version is in force, its data file lacks the source or a factor for the period.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from accounting_rules.calculator import Activity, compute
from accounting_rules.coverage import methodology_for_source
from accounting_rules.errors import AccountingError, SourceNotCovered
from accounting_rules.model import Methodology
from accounting_rules.versions import InForce

from ..errors import RecomputeRefused
from .evidence import MeterFigure

__all__ = [
    "MeterEmission",
    "PeriodEmissions",
    "SiteEmission",
    "UsedMethodology",
    "Versions",
    "period_emissions",
    "site_of",
    "version_in_force",
]


class Versions(Protocol):
    """The methodology versions in force (``accounting_rules.versions.MethodologyVersions``)."""

    def in_force(self, methodology_id: str, timestamp: int) -> InForce | None: ...


@dataclass(frozen=True, slots=True)
class UsedMethodology:
    """A methodology version a period was computed with, as the registry holds it."""

    methodology_id: str
    version: int
    address: str


@dataclass(frozen=True, slots=True)
class MeterEmission:
    """One figure's emissions: ``grams`` CO2e in ``scope`` under ``methodology``."""

    figure: MeterFigure
    methodology: UsedMethodology
    scope: int
    grams: int


@dataclass(frozen=True, slots=True)
class SiteEmission:
    """One site's emissions of one source: the summed ``activity`` of its figures and the
    ``grams`` of that single line (module docstring)."""

    site: str
    source: str
    quantity: str
    scope: int
    activity: int
    grams: int
    methodology: UsedMethodology


@dataclass(frozen=True)
class PeriodEmissions:
    """The emissions of one period: per meter, per site and source, and per scope."""

    start: int
    end: int
    meters: tuple[MeterEmission, ...]
    sites: tuple[SiteEmission, ...]
    scope1: int
    scope2: int
    total: int


def site_of(meter_path: str) -> str:
    """The site of a meter path: its first two levels (``demo-co/wuxi-plant``)."""
    return "/".join(meter_path.split("/")[:2])


def version_in_force(versions: Versions, methodology_id: str, start: int
                     ) -> tuple[Methodology, UsedMethodology]:
    """The checked data file of ``methodology_id``'s version in force at ``start`` and its
    registry entry; raises :class:`RecomputeRefused` (409) when there is none to use."""
    found = versions.in_force(methodology_id, start)
    if found is None:
        raise RecomputeRefused(409, "methodology", f"no version of {methodology_id} is in force "
                                                   f"at {start} in the MethodologyRegistry")
    if found.methodology is None:
        raise RecomputeRefused(409, "methodology", f"the version in force at {start} cannot be "
                                                   f"used: {found.problem}")
    used = UsedMethodology(methodology_id, found.resolved.version, found.resolved.address)
    return found.methodology, used


def _compute(methodology: Methodology, start: int, end: int,
             lines: list[Activity]) -> tuple[list[tuple[int, int]], int, int]:
    try:
        result = compute(methodology, start, end, lines)
    except AccountingError as exc:
        raise RecomputeRefused(409, "methodology", f"{methodology.id} v{methodology.version}: "
                                                   f"{exc}") from None
    return [(e.scope, e.grams) for e in result.emissions], result.scope1, result.scope2


def period_emissions(figures: Sequence[MeterFigure], start: int, end: int, versions: Versions,
                     methodology_id: str | None = None) -> PeriodEmissions:
    """The emissions of ``figures`` (all of ``[start, end)``) under the versions in force at
    ``start`` (module docstring); ``methodology_id``: one id for every source (``None``: each
    source's by the mapping rule)."""
    groups: dict[str, list[MeterFigure]] = {}
    for figure in figures:
        try:
            mid = methodology_id or methodology_for_source(figure.point.source)
        except SourceNotCovered as exc:
            raise RecomputeRefused(409, "methodology", str(exc)) from None
        groups.setdefault(mid, []).append(figure)
    meters: list[MeterEmission] = []
    sites: list[SiteEmission] = []
    scope1 = scope2 = 0
    for mid, group in groups.items():
        methodology, used = version_in_force(versions, mid, start)
        lines = [Activity(f.point.source, f.energy.energy) for f in group]
        emitted, one, two = _compute(methodology, start, end, lines)
        scope1, scope2 = scope1 + one, scope2 + two
        meters += [MeterEmission(f, used, scope, grams)
                   for f, (scope, grams) in zip(group, emitted, strict=True)]
        summed: dict[tuple[str, str, str], int] = {}
        for f in group:
            key = (site_of(f.point.meter_path), f.point.source, f.point.quantity)
            summed[key] = summed.get(key, 0) + f.energy.energy
        for (site, source, quantity), activity in sorted(summed.items()):
            [(scope, grams)], _, _ = _compute(methodology, start, end,
                                              [Activity(source, activity)])
            sites.append(SiteEmission(site, source, quantity, scope, activity, grams, used))
    meters.sort(key=lambda m: (m.figure.point.meter_path, m.figure.device))
    sites.sort(key=lambda s: (s.site, s.source))
    return PeriodEmissions(start, end, tuple(meters), tuple(sites), scope1, scope2,
                           scope1 + scope2)
