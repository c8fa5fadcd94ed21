"""Which methodology covers an emission source, and which of its versions is in force when:
the edge node's names for :mod:`accounting_rules.coverage` (the mapping rule, docs/edge.md
"Local emission summaries") and :mod:`accounting_rules.versions` (the versions published in the
MethodologyRegistry, checked against the shipped data files), which the ledger API's recompute
shares. A source no methodology or several cover is a configuration error of the node
(:class:`~edge_node.errors.SummaryConfigError`).
"""

from __future__ import annotations

from accounting_rules import coverage
from accounting_rules.errors import SourceNotCovered
from accounting_rules.versions import InForce, MethodologyVersions, check_version

from ..errors import SummaryConfigError

__all__ = ["InForce", "MethodologyVersions", "check_version", "methodology_for_source",
           "source_unit"]


def methodology_for_source(source: str) -> str:
    """:func:`accounting_rules.coverage.methodology_for_source`; raises
    :class:`SummaryConfigError` when no shipped id or several cover ``source``."""
    try:
        return coverage.methodology_for_source(source)
    except SourceNotCovered as exc:
        raise SummaryConfigError(str(exc)) from None


def source_unit(source: str) -> str:
    """:func:`accounting_rules.coverage.source_unit` (``Wh`` for ``electricity.grid``); raises
    :class:`SummaryConfigError` as :func:`methodology_for_source` does."""
    try:
        return coverage.source_unit(source)
    except SourceNotCovered as exc:
        raise SummaryConfigError(str(exc)) from None
