"""The fixed-point reference calculator: docs/accounting.md section 1.4, bit for bit.

``compute`` gives the same integers and raises the same failures, in the same order, as the
``FactorMethodology`` contract's ``compute`` view for every input. Python integers never overflow,
so every intermediate value is compared with 2^256 - 1 where Solidity's checked arithmetic would
panic, in the same order. The steps, as numbered in the specification:

1. the period must be non-empty;
2. one pass over all lines, in input order: the source must be known; a deduction or override line
   needs non-zero evidence, then an override must not repeat; overrides are collected, and
   deduction amounts summed into one pool per target (each sum checked);
3. a second pass, in input order: an emission line takes its covered amount from its target's
   pool (``min(pool, amount)``, which cannot fail), resolves every parameter of its source
   (override, else the row covering the whole period, else ``NoFactorForPeriod``) before any
   multiplication, then computes its grams, each step checked:
   ``((amount - covered) x p1 x ... x pn x numerator + denominator / 2) / denominator``;
   deduction and override lines emit 0 g in their source's scope;
4. the scope sums and the total, checked.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from mrv_core.codec import UINT64_MAX, UINT256_MAX

from .codes import ZERO32, decode_code, encode_code, is_code
from .errors import (
    AccountingOverflow,
    DuplicateOverride,
    InvalidActivity,
    InvalidPeriod,
    MissingEvidence,
    NoFactorForPeriod,
    UnknownSource,
)
from .model import Methodology, SourceKind, SourceSpec
from .units import to_amount

__all__ = ["Activity", "Emission", "Result", "activity", "compute"]


@dataclass(frozen=True, slots=True)
class Activity:
    """One activity line: ``source`` (a code, or the raw ``bytes32`` the contract would receive),
    ``amount`` (an integer in the source's unit, ``uint256``) and ``evidence`` (32 bytes, zero when
    there is none)."""

    source: str | bytes
    amount: int
    evidence: bytes = ZERO32

    def __post_init__(self) -> None:
        if isinstance(self.source, bytes):
            if len(self.source) != 32:
                raise InvalidActivity(f"a raw source is 32 bytes, got {len(self.source)}")
        elif not is_code(self.source):
            raise InvalidActivity(f"source is not a code: {self.source!r:.60}")
        if (isinstance(self.amount, bool) or not isinstance(self.amount, int)
                or not 0 <= self.amount <= UINT256_MAX):
            raise InvalidActivity(f"amount must be an integer in [0, 2^256 - 1]: "
                                  f"{self.amount!r:.90}")
        if not isinstance(self.evidence, bytes) or len(self.evidence) != 32:
            raise InvalidActivity("evidence must be 32 bytes")

    @property
    def source_bytes(self) -> bytes:
        """The source as ``bytes32``."""
        return self.source if isinstance(self.source, bytes) else encode_code(self.source)

    @property
    def source_code(self) -> str | None:
        """The source as a code, ``None`` for raw bytes that hold none."""
        return decode_code(self.source) if isinstance(self.source, bytes) else self.source


def activity(methodology: Methodology, source: str, quantity: str | int,
             evidence: bytes = ZERO32) -> Activity:
    """An activity line with ``quantity`` converted exactly into ``source``'s unit:
    ``activity(m, "fuel.natural_gas", "10000 Nm3")``."""
    return Activity(source, to_amount(quantity, methodology.source(source).unit), evidence)


class Emission(NamedTuple):
    """The emissions of one line: its scope and whole grams CO2e."""

    scope: int
    grams: int


@dataclass(frozen=True, slots=True)
class Result:
    """The outcome of :func:`compute`: one emission per input line, and the checked sums."""

    emissions: tuple[Emission, ...]
    scope1: int
    scope2: int
    total: int


def _checked(value: int, step: str) -> int:
    if value > UINT256_MAX:
        raise AccountingOverflow(step)
    return value


def _spec(methodology: Methodology, line: Activity) -> SourceSpec:
    code = line.source_code
    spec = methodology.find_source(code) if code is not None else None
    if spec is None:
        raise UnknownSource(line.source_bytes)
    return spec


def compute(methodology: Methodology, period_start: int, period_end: int,
            activities: Iterable[Activity]) -> Result:
    """The emissions of ``activities`` during ``[period_start, period_end)`` (Unix seconds).

    Raises the :class:`~accounting_rules.errors.AccountingError` the contract reverts with.
    """
    lines: Sequence[Activity] = tuple(activities)
    for bound in (period_start, period_end):
        if isinstance(bound, bool) or not isinstance(bound, int) or not 0 <= bound <= UINT64_MAX:
            raise InvalidActivity(f"period bounds are uint64 Unix seconds: {bound!r:.40}")
    for line in lines:
        if not isinstance(line, Activity):
            raise InvalidActivity(f"expected Activity lines, got {type(line).__name__}")

    # 1. The period.
    if period_start >= period_end:
        raise InvalidPeriod(period_start, period_end)

    # 2. Sources, evidence, overrides and deduction pools, in input order.
    specs: list[SourceSpec] = []
    overrides: dict[tuple[str, str], int] = {}
    pools: dict[str, int] = {}
    for index, line in enumerate(lines):
        spec = _spec(methodology, line)
        specs.append(spec)
        if spec.kind is SourceKind.EMISSION or spec.target is None:
            continue
        if line.evidence == ZERO32:
            raise MissingEvidence(index)
        if spec.kind is SourceKind.OVERRIDE:
            replaced = (spec.target, spec.parameters[0])
            if replaced in overrides:
                raise DuplicateOverride(line.source_bytes)
            overrides[replaced] = line.amount
        else:
            pools[spec.target] = _checked(pools.get(spec.target, 0) + line.amount,
                                          f"deduction pool of {spec.target!r} (line {index})")

    # 3. Each emission line's grams, in input order.
    emissions: list[Emission] = []
    for index, (line, spec) in enumerate(zip(lines, specs, strict=True)):
        if spec.kind is not SourceKind.EMISSION:
            emissions.append(Emission(spec.scope, 0))
            continue
        pool = pools.get(spec.source, 0)
        covered = min(pool, line.amount)
        pools[spec.source] = pool - covered
        acc = line.amount - covered
        values = [_parameter(methodology, spec, parameter, overrides, period_start, period_end)
                  for parameter in spec.parameters]
        for parameter, value in zip(spec.parameters, values, strict=True):
            acc = _checked(acc * value, f"line {index} x {parameter}")
        acc = _checked(acc * spec.numerator, f"line {index} x numerator")
        acc = _checked(acc + spec.denominator // 2, f"line {index} + denominator / 2")
        emissions.append(Emission(spec.scope, acc // spec.denominator))

    # 4. The checked sums.
    scope1 = scope2 = 0
    for index, emission in enumerate(emissions):
        if emission.scope == 1:
            scope1 = _checked(scope1 + emission.grams, f"scope 1 sum (line {index})")
        else:
            scope2 = _checked(scope2 + emission.grams, f"scope 2 sum (line {index})")
    total = _checked(scope1 + scope2, "total")
    return Result(tuple(emissions), scope1, scope2, total)


def _parameter(methodology: Methodology, spec: SourceSpec, parameter: str,
               overrides: dict[tuple[str, str], int], period_start: int, period_end: int) -> int:
    """Step 5 of the specification: the override, else the row covering the whole period."""
    override = overrides.get((spec.source, parameter))
    if override is not None:
        return override
    for row in methodology.rows(spec.source, parameter):
        if row.covers(period_start, period_end):
            return row.value
    raise NoFactorForPeriod(spec.source, period_start, period_end)
