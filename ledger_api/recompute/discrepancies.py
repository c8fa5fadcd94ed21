"""Discrepancies: the ledger's recomputed figures against what others stated for the same
meters and period (issue 11; docs/api.md, "Monitoring plan and recompute").

- :func:`summary_discrepancies`: the devices' signed ``EmissionSummary`` records the ledger
  holds (records of kind ``emission_summary``) of the period, scope meter (path = the meter
  path, matched to the figure of the same device and source) or site (path = the site, matched
  to the sum of that device's figures of the source at the site, computed as one line as the
  device does); a summary whose activity or emissions differ is listed, and one with nothing
  to match too (the ledger measured nothing where the device reported).
- :func:`compare_with_report`: pure, for a submitted report document's lines (spec11 section
  2, ``trustmrv-report/1`` as JSON): each measured line against the figure of its (meterPath,
  device): amount and boundary readings; a figure no line reports and a line no figure
  backs are listed too.

Each :class:`Discrepancy` carries both figures, their difference, and the sparse readings and
leaves behind the ledger's figure, so a verifier can ask for their proofs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from accounting_rules.calculator import Activity, compute
from mrv_core.codec import format_address, parse_address
from mrv_core.reading import SignedReading
from mrv_core.records import SCOPE_METER, EmissionSummary
from mrv_core.wire import decode_signed_record

from ..db.models import RecordRow
from .emissions import MeterEmission, PeriodEmissions, Versions, site_of, version_in_force
from .evidence import MeterFigure

__all__ = ["Discrepancy", "compare_with_report", "summary_discrepancies"]


@dataclass(frozen=True)
class Discrepancy:
    """One figure stated elsewhere that is not the ledger's. ``scope``: ``meter`` or ``site``
    (a device's summary) or ``report`` (a report line); ``ledger_*`` the recomputed figures,
    ``stated_*`` the others (``None``: not stated / nothing recomputed); ``readings`` and
    ``leaves`` the evidence behind the ledger's figure."""

    scope: Literal["meter", "site", "report"]
    path: str
    device: bytes
    source: str
    start: int
    end: int
    ledger_activity: int | None
    ledger_grams: int | None
    stated_activity: int | None
    stated_grams: int | None
    detail: str
    readings: tuple[SignedReading, ...] = ()
    leaves: tuple[tuple[bytes, int], ...] = ()

    @property
    def activity_difference(self) -> int | None:
        """``stated - ledger`` activity, when both exist."""
        if self.stated_activity is None or self.ledger_activity is None:
            return None
        return self.stated_activity - self.ledger_activity

    @property
    def grams_difference(self) -> int | None:
        if self.stated_grams is None or self.ledger_grams is None:
            return None
        return self.stated_grams - self.ledger_grams


def _evidence(figures: Sequence[MeterFigure]
              ) -> tuple[tuple[SignedReading, ...], tuple[tuple[bytes, int], ...]]:
    return (tuple(r for f in figures for r in f.readings),
            tuple(leaf for f in figures for leaf in f.leaves))


def _summaries(session: Session, paths: Sequence[str], start: int
               ) -> list[EmissionSummary]:
    found = []
    for i in range(0, len(paths), 500):
        rows = session.scalars(select(RecordRow.wire).where(
            RecordRow.path.in_(paths[i:i + 500]), RecordRow.time_from == start,
            RecordRow.kind == "emission_summary"))
        for wire in rows:
            record = decode_signed_record(json.loads(wire), "$").record
            assert isinstance(record, EmissionSummary)
            found.append(record)
    return found


def summary_discrepancies(session: Session, period: PeriodEmissions,
                          versions: Versions) -> list[Discrepancy]:
    """The devices' summaries of ``period`` that differ from its recomputed figures (module
    docstring), in (path, device, source) order."""
    meters = {(m.figure.point.meter_path, m.figure.device, m.figure.point.source): m
              for m in period.meters}
    paths = sorted({p for p, _, _ in meters} | {site_of(p) for p, _, _ in meters})
    out: list[Discrepancy] = []
    for summary in _summaries(session, paths, period.start):
        if summary.period_end != period.end:
            continue
        if summary.scope_kind == SCOPE_METER:
            path = next((p for p, d, s in meters if d == summary.device
                         and s == summary.source and _meter_id(meters[(p, d, s)]) ==
                         summary.scope_id), None)
            group = [meters[(path, summary.device, summary.source)]] if path else []
            grams = group[0].grams if group else None
        else:
            path = next((site_of(p) for p, d, s in meters if d == summary.device
                         and s == summary.source), None)
            group = [m for (p, d, s), m in meters.items() if d == summary.device
                     and s == summary.source and site_of(p) == path]
            grams = None
            if group:
                methodology, _ = version_in_force(versions, group[0].methodology.methodology_id,
                                          period.start)
                total = sum(m.figure.energy.energy for m in group)
                grams = compute(methodology, period.start, period.end,
                                [Activity(summary.source, total)]).total
        activity = sum(m.figure.energy.energy for m in group) if group else None
        if (activity, grams) == (summary.activity, summary.emissions):
            continue
        readings, leaves = _evidence([m.figure for m in group])
        scope: Literal["meter", "site"] = "meter" if summary.scope_kind == SCOPE_METER \
            else "site"
        detail = (f"the device's {scope} summary ({summary.methodology} "
                  f"v{summary.methodology_version}) states activity {summary.activity} and "
                  f"{summary.emissions} g; the ledger recomputes "
                  + ("nothing: no figure of that device and source" if not group else
                     f"{activity} and {grams} g ({group[0].methodology.methodology_id} "
                     f"v{group[0].methodology.version})"))
        out.append(Discrepancy(scope, path or f"0x{summary.scope_id.hex()}", summary.device,
                               summary.source, period.start, period.end, activity, grams,
                               summary.activity, summary.emissions, detail, readings, leaves))
    return sorted(out, key=lambda d: (d.path, d.device, d.source))


def _meter_id(emission: MeterEmission) -> bytes:
    return emission.figure.meter


def _reading_text(reading: object) -> tuple[str, str, str] | None:
    if not isinstance(reading, Mapping):
        return None
    return str(reading.get("seq")), str(reading.get("timestamp")), str(reading.get("value"))


def compare_with_report(figures: Sequence[MeterFigure],
                        report_lines: Sequence[Mapping[str, object]]) -> list[Discrepancy]:
    """The measured lines of a report document (``lines`` of ``trustmrv-report/1``, as JSON:
    integers as decimal strings, devices EIP-55) that differ from ``figures`` of the same
    period (amount, boundary readings), the lines no figure backs and the figures no line
    reports. Manual lines are not the ledger's to recompute and are skipped. Raises
    ``DecodeError`` for a line whose device is not an address."""
    start = figures[0].energy.start if figures else 0
    end = figures[0].energy.end if figures else 0
    by_key = {(f.point.meter_path, f.device): f for f in figures}
    seen: set[tuple[str, bytes]] = set()
    out: list[Discrepancy] = []
    for line in report_lines:
        if line.get("kind") != "measured":
            continue
        path, source = str(line.get("meterPath")), str(line.get("source"))
        device = parse_address(line.get("device"), field="device")
        amount = int(str(line.get("amount")))
        figure = by_key.get((path, device))
        seen.add((path, device))
        if figure is None or figure.point.source != source:
            out.append(Discrepancy("report", path, device, source, start, end, None, None,
                                   amount, None, "the report states a measured line the ledger "
                                                 "has no figure for (plan, device, source)"))
            continue
        problems = []
        if amount != figure.energy.energy:
            problems.append(f"amount {amount}, recomputed {figure.energy.energy}")
        for name, held in (("startReading", figure.energy.start_reading),
                           ("endReading", figure.energy.end_reading)):
            stated = _reading_text(line.get(name))
            mine = None if held is None else (str(held.seq), str(held.timestamp),
                                              str(held.value))
            if stated != mine:
                problems.append(f"{name} {stated}, recomputed {mine}")
        if problems:
            out.append(Discrepancy("report", path, device, source, start, end,
                                   figure.energy.energy, None, amount, None,
                                   "; ".join(problems), figure.readings, figure.leaves))
    for (path, device), figure in sorted(by_key.items()):
        if (path, device) not in seen:
            out.append(Discrepancy("report", path, device, figure.point.source, start, end,
                                   figure.energy.energy, None, None, None,
                                   f"the report has no line for {path} of "
                                   f"{format_address(device)}", figure.readings,
                                   figure.leaves))
    return out
