"""Methodologies as values: source specs, factor rows with their citations, and the methodology.

The types mirror the ``FactorMethodology`` contract's constructor arguments (``SourceSpec``,
``FactorRow``) and check the same invariants when constructed, so a methodology that exists in
Python is one the contract accepts. Each record checks its own fields; :class:`Methodology`
checks what needs the whole table, in the contract's order: sources (duplicates, then targets),
then factor rows in table order (key, source and parameter, period overlap). A few checks are
stricter than the contract (known unit names, printable codes, the same scale across the rows of
one parameter, a deduction in its target's unit and scope); their errors say so.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from mrv_core.codec import UINT64_MAX, UINT256_MAX

from .codes import is_code
from .errors import (
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
from .units import ACTIVITY_UNITS, FACTOR_UNITS

__all__ = [
    "OPEN_ENDED",
    "Citation",
    "FactorRow",
    "Methodology",
    "SourceKind",
    "SourceSpec",
]

#: ``validUntil`` of an open-ended row: the latest figure stands until a new version says otherwise.
OPEN_ENDED = UINT64_MAX
UINT8_MAX = 2**8 - 1
UINT32_MAX = 2**32 - 1


class SourceKind(enum.IntEnum):
    """What an activity line of a source does (the contract's ``uint8 kind``)."""

    EMISSION = 0  #: emits: amount x parameters x numerator / denominator
    DEDUCTION = 1  #: reduces its target's activity (certificates, contracts)
    OVERRIDE = 2  #: replaces one default parameter of its target with a measured value

    @property
    def label(self) -> str:
        """The name used in data files: ``emission``, ``deduction``, ``override``."""
        return self.name.lower()


def _is_uint(value: object, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= high


def _is_text(value: object) -> bool:
    return isinstance(value, str) and value.strip() == value and value != ""


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """One activity source: its unit, scope, kind, target, parameters and closing ratio.

    ``unit`` is an activity unit (``Wh``, ``dm3``, ``g``, ``kJ``) for emission and deduction
    sources; an override's amount is a factor value, so its unit is the stored unit of the
    parameter it replaces (``J/dm3``, ``gC/GJ``...). ``numerator`` and ``denominator`` are positive
    for emission sources and 0 otherwise; ``target`` is ``None`` exactly for emission sources.
    """

    source: str
    unit: str
    scope: int
    kind: SourceKind
    target: str | None
    parameters: tuple[str, ...]
    numerator: int
    denominator: int
    description: str = ""

    def __post_init__(self) -> None:
        problem = self._problem()
        if problem is not None:
            raise InvalidSourceSpec(self.source, problem)

    def _problem(self) -> str | None:
        if not is_code(self.source):
            return "the code must be 1-32 printable ASCII characters without spaces"
        if self.scope not in (1, 2) or isinstance(self.scope, bool):
            return f"scope must be 1 or 2, not {self.scope!r}"
        if not isinstance(self.kind, SourceKind):
            return f"kind must be a SourceKind, not {self.kind!r}"
        if not isinstance(self.parameters, tuple) or not all(map(is_code, self.parameters)):
            return "parameters must be a tuple of codes"
        if len(set(self.parameters)) != len(self.parameters):
            return f"parameters repeat: {self.parameters}"
        if not isinstance(self.description, str):
            return "description must be a string"
        units = FACTOR_UNITS if self.kind is SourceKind.OVERRIDE else ACTIVITY_UNITS
        if self.unit not in units:
            return f"unit {self.unit!r} is not one of {', '.join(units)}"
        if self.kind is SourceKind.EMISSION:
            if self.target is not None:
                return "an emission source has no target"
            if not (_is_uint(self.numerator, UINT256_MAX) and self.numerator > 0
                    and _is_uint(self.denominator, UINT256_MAX) and self.denominator > 0):
                return "numerator and denominator must be in [1, 2^256 - 1]"
            return None
        if not is_code(self.target):
            return f"a {self.kind.label} source needs a target code"
        if not (_is_uint(self.numerator, 0) and _is_uint(self.denominator, 0)):
            return f"a {self.kind.label} source has numerator and denominator 0"
        if self.kind is SourceKind.DEDUCTION and self.parameters:
            return "a deduction source has no parameters"
        if self.kind is SourceKind.OVERRIDE and len(self.parameters) != 1:
            return "an override source replaces exactly one parameter"
        return None


@dataclass(frozen=True, slots=True)
class Citation:
    """Where a factor comes from. On chain: ``publication | document | table | year``.

    ``year`` is the year of the publication (a factor's data period is its ``validFrom`` /
    ``validUntil``). ``verification`` says how the figure was checked and against what, so a reader
    knows how far to trust it; ``url`` is where the original can be read, if anywhere. Neither
    travels on chain; the spec hash covers both.
    """

    publication: str
    document: str
    table: str
    year: int
    verification: str
    url: str | None = None

    def __post_init__(self) -> None:
        for name in ("publication", "document", "table", "verification"):
            value = getattr(self, name)
            if not _is_text(value) or "|" in value:
                raise InvalidFactor(None, f"citation {name} must be non-empty text without '|' "
                                          f"or outer spaces: {value!r:.60}")
        if not _is_uint(self.year, 9999) or self.year < 1900:
            raise InvalidFactor(None, f"citation year must be in [1900, 9999]: {self.year!r}")
        if self.url is not None and not (isinstance(self.url, str)
                                         and self.url.startswith("https://")):
            raise InvalidFactor(None, f"citation url must be https: {self.url!r:.60}")

    def text(self) -> str:
        """The on-chain citation string."""
        return f"{self.publication} | {self.document} | {self.table} | {self.year}"


@dataclass(frozen=True, slots=True)
class FactorRow:
    """One parameter of one emission source for one data period ``[valid_from, valid_until)``.

    ``value / 10**decimals`` in ``unit`` is the figure; ``published`` is the figure as published
    (``"0.5366 tCO2/MWh"``), kept for humans and checked against ``value`` by the data loader.
    """

    key: str
    source: str
    parameter: str
    valid_from: int
    valid_until: int
    value: int
    decimals: int
    unit: str
    citation: Citation
    published: str = ""

    def __post_init__(self) -> None:
        if not is_code(self.key):
            raise InvalidFactor(self.key, "the key must be 1-32 printable ASCII characters")
        if not (is_code(self.source) and is_code(self.parameter)):
            raise InvalidFactor(self.key, "source and parameter must be codes")
        if not (_is_uint(self.valid_from, UINT64_MAX) and _is_uint(self.valid_until, UINT64_MAX)):
            raise InvalidFactor(self.key, "validFrom and validUntil must be uint64")
        if self.valid_from >= self.valid_until:
            raise EmptyPeriod(self.key, self.valid_from, self.valid_until)
        if not _is_uint(self.value, UINT256_MAX):
            raise InvalidFactor(self.key, f"value must be in [0, 2^256 - 1]: {self.value!r:.90}")
        if not _is_uint(self.decimals, UINT8_MAX):
            raise InvalidFactor(self.key, f"decimals must be a uint8: {self.decimals!r}")
        if self.unit not in FACTOR_UNITS:
            raise InvalidFactor(self.key, f"unit {self.unit!r} is not one of "
                                          f"{', '.join(FACTOR_UNITS)}")
        if not isinstance(self.citation, Citation):
            raise InvalidFactor(self.key, "citation must be a Citation")
        if not isinstance(self.published, str):
            raise InvalidFactor(self.key, "published must be text")

    def covers(self, period_start: int, period_end: int) -> bool:
        """Whether this row's period contains the whole ``[period_start, period_end)``."""
        return self.valid_from <= period_start and period_end <= self.valid_until


@dataclass(frozen=True)
class Methodology:
    """One immutable methodology version: identity, specification, sources and factor table.

    ``spec_hash`` is keccak256 of the canonical JSON of the (materialised) data file
    (:func:`accounting_rules.datafile.spec_hash`); ``composed_of`` lists the (id, version) of the
    methodologies a composite was built from, empty for a plain one.
    """

    id: str
    version: int
    title: str
    specification: str
    sources: tuple[SourceSpec, ...]
    factors: tuple[FactorRow, ...]
    spec_hash: bytes
    composed_of: tuple[tuple[str, int], ...] = ()
    _by_source: Mapping[str, SourceSpec] = field(init=False, repr=False, compare=False)
    _by_key: Mapping[str, FactorRow] = field(init=False, repr=False, compare=False)
    _rows: Mapping[tuple[str, str], tuple[FactorRow, ...]] = field(
        init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not is_code(self.id):
            raise InvalidMethodology(f"id must be 1-32 printable ASCII characters: {self.id!r:.60}")
        if not _is_uint(self.version, UINT32_MAX) or self.version == 0:
            raise InvalidMethodology(f"version must be in [1, 2^32 - 1]: {self.version!r}")
        if not _is_text(self.title) or not isinstance(self.specification, str):
            raise InvalidMethodology("title must be non-empty text, specification text")
        if not isinstance(self.spec_hash, bytes) or len(self.spec_hash) != 32:
            raise InvalidMethodology("spec_hash must be 32 bytes")
        if not isinstance(self.sources, tuple) or not self.sources:
            raise InvalidMethodology("sources must be a non-empty tuple")
        if not isinstance(self.factors, tuple):
            raise InvalidMethodology("factors must be a tuple")
        by_source = _check_sources(self.sources)
        by_key, rows = _check_factors(self.factors, by_source)
        _check_override_units(self.sources, rows)
        object.__setattr__(self, "_by_source", MappingProxyType(by_source))
        object.__setattr__(self, "_by_key", MappingProxyType(by_key))
        object.__setattr__(self, "_rows", MappingProxyType(rows))

    # -- lookups ----------------------------------------------------------------------------------

    def source(self, code: str) -> SourceSpec:
        """The spec of ``code`` (:class:`UnknownSource` when there is none)."""
        spec = self._by_source.get(code)
        if spec is None:
            raise UnknownSource(code)
        return spec

    def find_source(self, code: str) -> SourceSpec | None:
        """The spec of ``code``, or ``None``."""
        return self._by_source.get(code)

    def factor(self, key: str) -> FactorRow:
        """The row stored under ``key`` (:class:`UnknownFactor` when there is none), like the
        contract's ``factor(key)`` view."""
        row = self._by_key.get(key)
        if row is None:
            raise UnknownFactor(key)
        return row

    def rows(self, source: str, parameter: str) -> tuple[FactorRow, ...]:
        """The rows of one (source, parameter), in table order."""
        return self._rows.get((source, parameter), ())

    @property
    def source_codes(self) -> tuple[str, ...]:
        """The source codes in spec order (the contract's ``sources()``)."""
        return tuple(spec.source for spec in self.sources)

    @property
    def factor_keys(self) -> tuple[str, ...]:
        """The factor keys in table order (the contract's ``factorKeys()``)."""
        return tuple(row.key for row in self.factors)


def _check_sources(sources: tuple[SourceSpec, ...]) -> dict[str, SourceSpec]:
    by_source: dict[str, SourceSpec] = {}
    for spec in sources:
        if not isinstance(spec, SourceSpec):
            raise InvalidMethodology(f"sources must be SourceSpecs, got {type(spec).__name__}")
        if spec.source in by_source:
            raise DuplicateSource(spec.source)
        by_source[spec.source] = spec
    for spec in sources:
        if spec.target is None:
            continue
        target = by_source.get(spec.target)
        if target is None or target.kind is not SourceKind.EMISSION:
            raise UnknownTarget(spec.source, spec.target)
        if spec.kind is SourceKind.OVERRIDE and spec.parameters[0] not in target.parameters:
            raise UnknownTarget(spec.source, spec.target,
                                f"has no parameter {spec.parameters[0]!r}")
        # stricter than the contract: a deduction or override shares its target's scope, and a
        # deduction its unit (it is subtracted from the target's amount)
        if spec.scope != target.scope:
            raise InvalidSourceSpec(spec.source, f"scope {spec.scope} differs from its target's "
                                                 f"({target.scope})")
        if spec.kind is SourceKind.DEDUCTION and spec.unit != target.unit:
            raise InvalidSourceSpec(spec.source, f"a deduction is in its target's unit "
                                                 f"{target.unit!r}, not {spec.unit!r}")
    return by_source


def _check_factors(
    factors: tuple[FactorRow, ...], by_source: Mapping[str, SourceSpec]
) -> tuple[dict[str, FactorRow], dict[tuple[str, str], tuple[FactorRow, ...]]]:
    by_key: dict[str, FactorRow] = {}
    rows: dict[tuple[str, str], tuple[FactorRow, ...]] = {}
    for row in factors:
        if not isinstance(row, FactorRow):
            raise InvalidMethodology(f"factors must be FactorRows, got {type(row).__name__}")
        if row.key in by_key:
            raise DuplicateKey(row.key)
        spec = by_source.get(row.source)
        if (spec is None or spec.kind is not SourceKind.EMISSION
                or row.parameter not in spec.parameters):
            raise UnknownParameter(row.key, row.source, row.parameter)
        earlier = rows.get((row.source, row.parameter), ())
        for other in earlier:
            if row.valid_from < other.valid_until and other.valid_from < row.valid_until:
                raise OverlappingPeriods(row.key, other.key)
        if earlier and (earlier[0].unit, earlier[0].decimals) != (row.unit, row.decimals):
            first = earlier[0].key
            raise InconsistentFactorUnits(
                row.key, f"unit/decimals differ from {first!r}; stricter than the contract")
        by_key[row.key] = row
        rows[(row.source, row.parameter)] = (*earlier, row)
    return by_key, rows


def _check_override_units(
    sources: tuple[SourceSpec, ...], rows: Mapping[tuple[str, str], tuple[FactorRow, ...]]
) -> None:
    for spec in sources:
        if spec.kind is not SourceKind.OVERRIDE or spec.target is None:
            continue
        defaults = rows.get((spec.target, spec.parameters[0]), ())
        if defaults and (defaults[0].unit, defaults[0].decimals) != (spec.unit, 0):
            raise InconsistentFactorUnits(spec.source, f"an override is in the unit of the rows it "
                                                       f"replaces ({defaults[0].unit!r}, decimals "
                                                       f"{defaults[0].decimals})")
