"""Emission summaries: a period's counter energy through a methodology into an ``EmissionSummary``.

Pure: the caller resolves the methodology version in force for the period (from the
MethodologyRegistry, by the period's start: docs/accounting.md section 5), builds each meter
point's counter history (:mod:`accounting_rules.counters`), chooses the calendar periods
(:mod:`accounting_rules.periods`: hours and days in Beijing time by default, any IANA zone) and a
fresh salt; :func:`summarize` returns the unsigned record (``mrv_core.records.EmissionSummary``)
that the device then signs (``DeviceKey.sign_record``). docs/protocol.md section 9.4 gives the
fields, docs/accounting.md section 6 the rules.

For one period and one emission source:

- ``activity`` is the sum of the periods' counter energies (one per meter point: one for a meter
  summary, every point of the site mapped to the source for a site summary), in the quantity's
  unit, which must be the source's integer unit;
- ``emissions`` is :func:`accounting_rules.calculator.compute` for the single activity line
  ``(source, activity)`` over the period: whole grams CO2e, the contract's figure;
- the counts add up over the points (readings, gap records, bridged steps and their seconds,
  unexplained decreases).
"""

from __future__ import annotations

from collections.abc import Sequence

from mrv_core.codec import UINT32_MAX, UINT64_MAX
from mrv_core.quantities import QUANTITIES, QuantityKind
from mrv_core.records import SCOPE_METER, SCOPE_SITE, EmissionSummary

from .calculator import Activity, compute
from .counters import CounterHistory, PeriodEnergy
from .errors import InvalidSummary
from .model import Methodology

__all__ = ["period_energies", "summarize"]


def period_energies(histories: Sequence[CounterHistory], start: int, end: int
                    ) -> list[PeriodEnergy]:
    """The energy of ``[start, end)`` of each counter (``CounterHistory.period``)."""
    return [history.period(start, end) for history in histories]


def _count(name: str, value: int, high: int = UINT32_MAX) -> int:
    if value > high:
        raise InvalidSummary(f"{name} = {value} exceeds its field's type (at most {high})")
    return value


def summarize(energies: Sequence[PeriodEnergy], *, device: bytes, scope_kind: int,
              scope_id: bytes, source: str, quantity: str, methodology: Methodology,
              salt: bytes) -> EmissionSummary:
    """The unsigned ``EmissionSummary`` of one period for ``source``.

    ``energies``: the period's :class:`PeriodEnergy` of every meter point behind the summary (one
    for ``scope_kind`` ``SCOPE_METER``), all of the same ``[start, end)``; ``quantity`` their
    cumulative quantity code, whose unit must be the source's unit in ``methodology`` (the
    version in force for the period); ``salt`` 32 fresh random bytes.

    Raises :class:`InvalidSummary` (no or mismatched periods, a meter summary of several points,
    a unit or kind mismatch, a count too large), the calculator's
    :class:`~accounting_rules.errors.AccountingError` (``NoFactorForPeriod`` when the period
    leaves one factor's data period, e.g. a day in another zone that crosses a Beijing year
    boundary; ``UnknownSource``) and ``mrv_core``'s ``InvalidRecord`` for a bad field.
    """
    if not energies:
        raise InvalidSummary("a summary needs the period energy of at least one meter point")
    start, end = energies[0].start, energies[0].end
    if any((e.start, e.end) != (start, end) for e in energies):
        raise InvalidSummary(f"every point's period must be [{start}, {end})")
    if scope_kind == SCOPE_METER and len(energies) != 1:
        raise InvalidSummary(f"a meter summary covers one point, got {len(energies)}")
    if scope_kind not in (SCOPE_METER, SCOPE_SITE):
        raise InvalidSummary(f"scope kind is {SCOPE_METER} (meter) or {SCOPE_SITE} (site), got "
                             f"{scope_kind!r}")
    spec = methodology.source(source)  # UnknownSource when the methodology has none
    known = QUANTITIES.get(quantity)
    if known is None or known.kind is not QuantityKind.CUMULATIVE:
        raise InvalidSummary(f"{quantity!r} is not a cumulative quantity code")
    if known.unit != spec.unit:
        raise InvalidSummary(f"{quantity} is in {known.unit}, source {source} of "
                             f"{methodology.id} v{methodology.version} is in {spec.unit}")
    activity = sum(e.energy for e in energies)
    result = compute(methodology, start, end, [Activity(source, activity)])
    bridged_seconds = sum(e.bridged_seconds for e in energies)
    return EmissionSummary(
        device=device, scope_kind=scope_kind, scope_id=scope_id, source=source,
        quantity=quantity, methodology=methodology.id, methodology_version=methodology.version,
        period_start=start, period_end=end, activity=activity, emissions=result.total,
        reading_count=_count("readingCount", sum(e.reading_count for e in energies)),
        gap_count=_count("gapCount", sum(e.gap_count for e in energies)),
        bridged_gap_count=_count("bridgedGapCount", sum(len(e.bridged) for e in energies)),
        bridged_seconds=_count("bridgedSeconds", bridged_seconds, UINT64_MAX),
        unexplained_decreases=_count("unexplainedDecreases",
                                     sum(e.unexplained_decreases for e in energies)),
        salt=salt,
    )
