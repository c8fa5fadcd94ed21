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

Pure: reads only the shipped data files (cached).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache

from .errors import SourceNotCovered
from .model import Methodology, SourceKind
from .registry import load_methodology, methodologies

__all__ = ["methodology_for_source", "source_unit"]


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
