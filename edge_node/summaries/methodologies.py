"""Which methodology covers an emission source, and which of its versions is in force when.

**The mapping rule** (docs/edge.md, "Local emission summaries"): the methodology of an emission
source code is the one shipped methodology id (``accounting_rules/data``) that

- is not a composite (its data files have no ``composedOf``: an enterprise methodology such as
  ``cn.machinery`` repeats its components' sources and is for reports, not for one meter), and
- declares the source as an **emission** source that no **deduction** source of the same
  methodology targets (a deduction, such as market-based accounting's green certificates, needs
  evidence a meter does not have),

in any of its shipped versions. ``electricity.grid`` and every ``electricity.grid.<region>`` /
``electricity.grid.<province>`` map to ``cn.electricity.location``, ``heat.purchased`` to
``cn.heat.purchased``, ``fuel.*`` to ``cn.combustion.stationary``, ``gas.*`` to
``ipcc.fugitive``. A source no id or several ids satisfy is a configuration error
(:class:`~edge_node.errors.SummaryConfigError`).

**Versions in force** come from the MethodologyRegistry: :meth:`MethodologyVersions.refresh`
reads every published version of each id (``accounting_rules.publishing.registered``) and
checks each new one once: the node must ship its data file (``load_methodology``), the code at
its address must still hash to the code hash the registry pinned, and the contract must hold
exactly the data file (``accounting_rules.publishing.audit``: spec hash, sources, factor rows,
citations; a contract claiming the right spec hash over other factors is refused).
:meth:`MethodologyVersions.in_force` then resolves a time locally exactly as the registry's
``resolve`` does: the last version published with ``effectiveFrom <= t``. The Python calculator
computes with the checked data file, which gives the contract's figures bit for bit
(``accounting_rules.calculator``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache

from accounting_rules.errors import UnknownMethodology
from accounting_rules.model import Methodology, SourceKind
from accounting_rules.publishing import Resolved, audit, live_code_hash, registered
from accounting_rules.registry import load_methodology, methodologies
from mrv_core.chain import System

from ..errors import SummaryConfigError

__all__ = ["InForce", "MethodologyVersions", "methodology_for_source", "source_unit"]


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

    Raises :class:`SummaryConfigError` when no shipped id or several cover it."""
    ids = _coverage().get(source, ())
    if len(ids) != 1:
        found = "none" if not ids else ", ".join(ids)
        raise SummaryConfigError(
            f"emission source {source!r:.60}: expected exactly one shipped, non-composite "
            f"methodology declaring it as an emission source without deductions, found {found}")
    return ids[0]


def source_unit(source: str) -> str:
    """The activity unit of ``source`` in the latest shipped version of its methodology that
    declares it (``Wh`` for ``electricity.grid``)."""
    methodology_id = methodology_for_source(source)
    versions = sorted((v for i, v in methodologies() if i == methodology_id), reverse=True)
    for version in versions:
        for spec in load_methodology(methodology_id, version).sources:
            if spec.source == source:
                return spec.unit
    raise AssertionError("unreachable: the coverage lists only declared sources")


@dataclass(frozen=True)
class InForce:
    """The version of a methodology in force at some time: ``resolved`` as the registry holds it
    and, when this node can compute with it, the checked ``methodology``; else ``problem`` says
    why not (not shipped with this node, spec hash or code differs)."""

    resolved: Resolved
    methodology: Methodology | None
    problem: str | None = None


class MethodologyVersions:
    """The published versions of some methodology ids, as last read from the registry.

    Built empty (nothing published known) or from ``known`` versions read at a block of time
    ``as_of``; :meth:`refresh` replaces the table from the chain. ``as_of`` (Unix seconds) is the
    time of the latest block when the registry was read: a version published later takes effect
    at or after its own block's time, so :meth:`in_force` is final for any time up to
    ``as_of``. Reads (:attr:`as_of`, :meth:`published`, :meth:`in_force`) may run in another
    thread than :meth:`refresh`: the state is swapped in one assignment."""

    def __init__(self, ids: Iterable[str], known: Mapping[str, Iterable[InForce]] | None = None,
                 *, as_of: int = -1) -> None:
        self.ids = tuple(dict.fromkeys(ids))
        table = {i: tuple(known.get(i, ())) if known else () for i in self.ids}
        self._state: tuple[int, Mapping[str, tuple[InForce, ...]]] = (as_of, table)

    @property
    def as_of(self) -> int:
        """The time of the latest block when the registry was read (-1: never)."""
        return self._state[0]

    @property
    def _table(self) -> Mapping[str, tuple[InForce, ...]]:
        return self._state[1]

    def published(self, methodology_id: str) -> bool:
        """Whether the registry held at least one version of ``methodology_id``."""
        return bool(self._table.get(methodology_id))

    def in_force(self, methodology_id: str, timestamp: int) -> InForce | None:
        """The version in force at ``timestamp`` (the last with ``effective_from <=
        timestamp``, as the registry resolves), ``None`` before the first."""
        found = None
        for version in self._table.get(methodology_id, ()):
            if version.resolved.effective_from <= timestamp:
                found = version
        return found

    def refresh(self, system: System) -> None:
        """Read every published version of each id from ``system``'s MethodologyRegistry and
        check the new ones (module docstring). Raises ``ChainError`` when the chain cannot be
        read; the table is then unchanged."""
        as_of = system.chain.latest_timestamp()  # read first: every version then is seen
        checked = {(v.resolved.methodology_id, v.resolved.version, v.resolved.address): v
                   for versions in self._table.values() for v in versions}
        table: dict[str, tuple[InForce, ...]] = {}
        for methodology_id in self.ids:
            versions = []
            for resolved in registered(system, methodology_id):
                key = (methodology_id, resolved.version, resolved.address)
                versions.append(checked.get(key) or check_version(system, resolved))
            table[methodology_id] = tuple(versions)
        self._state = (as_of, table)


def check_version(system: System, resolved: Resolved) -> InForce:
    """``resolved`` with its shipped data file when the code at its address is the code pinned
    at publication and the contract holds exactly that file (``accounting_rules.publishing.audit``:
    identity, spec hash, every source spec, factor row and citation); else with the problem."""
    what = f"{resolved.methodology_id} v{resolved.version} at {resolved.address}"
    try:
        methodology = load_methodology(resolved.methodology_id, resolved.version)
    except UnknownMethodology:
        return InForce(resolved, None, f"{what} is published, but this node ships no data file "
                                       "of that version: upgrade the node")
    live = live_code_hash(system, resolved.address)
    if live != resolved.code_hash:
        return InForce(resolved, None, f"{what}: code hash 0x{live.hex()}, pinned "
                                       f"0x{resolved.code_hash.hex()}: the contract changed")
    problems = audit(system, resolved.address, methodology)
    if problems:
        return InForce(resolved, None, f"{what} differs from its data file: "
                                       + "; ".join(problems))
    return InForce(resolved, methodology)
