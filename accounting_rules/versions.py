"""The published versions of methodology ids, read from the MethodologyRegistry and checked
against the shipped data files; resolved locally by data time, as the registry resolves.

:meth:`MethodologyVersions.refresh` reads every published version of each id
(:func:`accounting_rules.publishing.registered`) and checks each new one once: its data file
must be shipped (``load_methodology``), the code at its address must still hash to the code
hash the registry pinned, and the contract must hold exactly the data file
(:func:`accounting_rules.publishing.audit`: spec hash, sources, factor rows, citations; a
contract claiming the right spec hash over other factors is refused).
:meth:`MethodologyVersions.in_force` then resolves a time locally exactly as the registry's
``resolve`` does: the last version published with ``effectiveFrom <= t``. The Python calculator
computes with the checked data file, which gives the contract's figures bit for bit
(:mod:`accounting_rules.calculator`). The edge node's summaries and the ledger's recompute use
this one cache (docs/edge.md, docs/api.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from mrv_core.chain import System

from .errors import UnknownMethodology
from .model import Methodology
from .publishing import Resolved, audit, live_code_hash, registered
from .registry import load_methodology

__all__ = ["InForce", "MethodologyVersions", "check_version"]


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
