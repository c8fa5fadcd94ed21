"""Build a report document from measured figures, manual activity lines and a methodology: pure,
no ledger, no chain (the callers read those and pass the values in).

A measured figure is the energy of one meter of the monitoring plan over the period
(``ledger_api.recompute.MeterFigure``: its plan point, device, meter id, ``PeriodEnergy`` and the
bridged steps and seconds counted in SQL); :class:`MeterFigureLike` names the attributes read, so
any object with them will do. A manual entry is a line entered with its evidence file
(:class:`ManualEntry`). The builder sorts the lines as the format requires, runs
:func:`accounting_rules.calculator.compute` over them (the contract's figures bit for bit) and
fills in each line's grams and scope and the totals; the batches the evidence rests on come in
as :class:`~.document.BatchRef` values (the ledger maps the figures' leaves to their batches) and
are committed to by their root.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from typing import Protocol

from mrv_core.codec import format_address
from mrv_core.quantities import QUANTITIES

from ..calculator import Activity, compute
from ..codes import ZERO32
from ..counters import CounterReading, PeriodEnergy
from ..errors import ReportError
from ..model import Methodology
from .document import (
    Batches,
    BatchRef,
    ChainRef,
    ManualLine,
    MeasuredLine,
    MethodologyRef,
    PlanLine,
    ReadingRef,
    ReportDocument,
    ReportPeriod,
    SiteRef,
    Totals,
)

__all__ = ["ManualEntry", "MeterFigureLike", "PlanPointLike", "build_report"]


class PlanPointLike(Protocol):
    """A monitoring-plan line (``ledger_api.recompute.PlanPoint``)."""

    @property
    def meter_path(self) -> str: ...
    @property
    def source(self) -> str: ...
    @property
    def quantity(self) -> str: ...
    @property
    def counter_modulus(self) -> int | None: ...
    @property
    def max_rate(self) -> Fraction | None: ...


class MeterFigureLike(Protocol):
    """One meter x one period (``ledger_api.recompute.MeterFigure``); ``energy.reading_count``
    counts the readings of the period (from SQL when the energy was computed from sparse
    readings)."""

    @property
    def point(self) -> PlanPointLike: ...
    @property
    def device(self) -> bytes: ...
    @property
    def meter(self) -> bytes: ...
    @property
    def energy(self) -> PeriodEnergy: ...
    @property
    def bridged_seconds(self) -> int: ...
    @property
    def bridged_steps(self) -> int: ...


@dataclass(frozen=True, slots=True)
class ManualEntry:
    """An activity entered by hand: ledger ``id``, emission ``source``, ``amount`` in the
    source's integer unit, ``evidence`` = keccak256 of the evidence file, its name and media
    type, a description and when it was entered (Unix seconds)."""

    id: int
    source: str
    amount: int
    evidence: bytes
    evidence_name: str
    media_type: str
    description: str
    entered_at: int


def _reading(reading: CounterReading | None) -> ReadingRef | None:
    return None if reading is None else ReadingRef(reading.seq, reading.timestamp, reading.value)


def _measured(figure: MeterFigureLike, methodology: Methodology, grams: int) -> MeasuredLine:
    point, energy = figure.point, figure.energy
    spec = methodology.source(point.source)  # UnknownSource when the methodology has none
    quantity = QUANTITIES.get(point.quantity)
    if quantity is None or quantity.unit != spec.unit:
        unit = "an unknown unit" if quantity is None else quantity.unit
        raise ReportError(f"{point.meter_path}: {point.quantity} is in {unit}, source "
                          f"{point.source} of {methodology.id} v{methodology.version} is in "
                          f"{spec.unit}")
    return MeasuredLine(
        source=point.source, scope=spec.scope, unit=spec.unit, amount=energy.energy,
        grams=grams, meter_path=point.meter_path, meter=figure.meter, device=figure.device,
        quantity=point.quantity, start_reading=_reading(energy.start_reading),
        end_reading=_reading(energy.end_reading), readings=energy.reading_count,
        gap_records=energy.gap_count, bridged_steps=figure.bridged_steps,
        bridged_seconds=figure.bridged_seconds, rollovers=energy.rollovers,
        meter_changes=energy.meter_changes, unexplained_decreases=energy.unexplained_decreases)


def _manual(entry: ManualEntry, methodology: Methodology, grams: int) -> ManualLine:
    spec = methodology.source(entry.source)
    return ManualLine(
        id=entry.id, source=entry.source, scope=spec.scope, unit=spec.unit, amount=entry.amount,
        grams=grams, evidence=entry.evidence, evidence_name=entry.evidence_name,
        media_type=entry.media_type, description=entry.description, entered_at=entry.entered_at)


def _plan(figures: list[MeterFigureLike]) -> tuple[PlanLine, ...]:
    """The plan lines of the figures, one per meter path (the same point for every device)."""
    lines: dict[str, PlanLine] = {}
    for figure in figures:
        p = figure.point
        line = PlanLine(p.meter_path, p.source, p.quantity, p.counter_modulus, p.max_rate)
        if lines.setdefault(p.meter_path, line) != line:
            raise ReportError(f"{p.meter_path}: two different plan lines for one meter path")
    return tuple(lines[path] for path in sorted(lines))


def build_report(*, enterprise: bytes, site_path: str | None, period: ReportPeriod,
                 methodology: Methodology, methodology_address: bytes, chain: ChainRef,
                 measured: Iterable[MeterFigureLike], manual: Iterable[ManualEntry],
                 batches: Iterable[BatchRef], supersedes: bytes = ZERO32,
                 created_at: int) -> ReportDocument:
    """The ``trustmrv-report/1`` document of these figures and lines.

    ``period`` is the report's ``[start, end)`` (every figure's energy must be of that period);
    ``site_path`` ``None`` reports the whole enterprise; ``methodology`` is the version in force
    at ``period.start`` (its contract at ``methodology_address``); ``supersedes`` the report hash
    this one corrects (zero for none); ``created_at`` Unix seconds.

    Raises :class:`ReportError` (a figure of another period or outside the site, a quantity not
    in its source's unit, two plan lines for one meter path), the calculator's
    :class:`~accounting_rules.errors.AccountingError` (``UnknownSource``, ``NoFactorForPeriod``,
    ``MissingEvidence``...) and :class:`mrv_core.errors.FormatError` for a field the document
    format refuses (a text too long, two lines of one meter and device, two manual ids).
    """
    figures = sorted(measured, key=lambda f: (f.point.meter_path, f.device))
    entries = sorted(manual, key=lambda e: e.id)
    site = None if site_path is None else SiteRef.of(site_path)
    for figure in figures:
        where = f"{figure.point.meter_path} ({format_address(figure.device)})"
        if (figure.energy.start, figure.energy.end) != (period.start, period.end):
            raise ReportError(f"{where}: energy of [{figure.energy.start}, {figure.energy.end}), "
                              f"the report's period is [{period.start}, {period.end})")
        if site_path is not None and not figure.point.meter_path.startswith(site_path + "/"):
            raise ReportError(f"{where}: not a meter of site {site_path}")
    lines = [Activity(f.point.source, f.energy.energy) for f in figures]
    lines += [Activity(e.source, e.amount, e.evidence) for e in entries]
    result = compute(methodology, period.start, period.end, lines)
    grams = [emission.grams for emission in result.emissions]
    report_lines = ([_measured(f, methodology, g) for f, g in zip(figures, grams, strict=False)]
                    + [_manual(e, methodology, g)
                       for e, g in zip(entries, grams[len(figures):], strict=True)])
    return ReportDocument(
        enterprise=enterprise, site=site, period=period,
        methodology=MethodologyRef(methodology.id, methodology.version, methodology_address),
        chain=chain, plan=_plan(figures), lines=tuple(report_lines),
        totals=Totals(result.scope1, result.scope2, result.total), batches=Batches.of(
            list(batches)), supersedes=supersedes, created_at=created_at)
