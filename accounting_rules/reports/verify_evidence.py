"""Step ``evidence`` of the report bundle verifier (docs/protocol.md 11.4): the bundle's
proven readings and records by counter (:class:`Evidence`, built once for steps 5 and 6), and
:func:`check_evidence`: the batches are exactly the report's, every measured line has its plan
line and its boundary readings among the proven ones, every proven item belongs to a line or
to ``summaries``, and the readings are the right ones (:mod:`.completeness`).

Errors: :class:`~mrv_core.errors.VerificationError` at ``evidence``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from mrv_core.codec import format_address
from mrv_core.errors import VerificationError
from mrv_core.reading import Reading, SignedReading
from mrv_core.records import EmissionSummary, MeterChange, SignedRecord

from .bundle import ReportBundle
from .completeness import check_complete, check_meter
from .document import MeasuredLine, PlanLine

__all__ = ["Counter", "Evidence", "check_evidence"]


Counter = tuple[bytes, bytes, str]  # (device, meter, quantity)


@dataclass(frozen=True)
class Evidence:
    """The bundle's proven readings and meter change and gap records by counter, and the plan
    by meter path: built once, so steps 5 and 6 stay linear in the bundle's size."""

    readings: dict[Counter, list[SignedReading]]
    records: dict[Counter, list[SignedRecord]]
    plan: dict[str, PlanLine]
    meters: dict[tuple[bytes, bytes], list[Reading]]  # every quantity of a (device, meter)

    @classmethod
    def of(cls, bundle: ReportBundle) -> Evidence:
        readings: dict[Counter, list[SignedReading]] = defaultdict(list)
        records: dict[Counter, list[SignedRecord]] = defaultdict(list)
        meters: dict[tuple[bytes, bytes], list[Reading]] = defaultdict(list)
        for batch in bundle.batches:
            for signed in batch.readings:
                r = signed.reading
                readings[r.device, r.meter, r.quantity].append(signed)
                meters[r.device, r.meter].append(r)
            for item in batch.records:
                record = item.record
                if not isinstance(record, EmissionSummary):
                    records[record.device, record.meter, record.quantity].append(item)
        return cls(readings, records, {p.meter_path: p for p in bundle.report.plan}, meters)

    def plan_line(self, line: MeasuredLine) -> PlanLine:
        plan = self.plan.get(line.meter_path)
        if plan is None:
            raise VerificationError("evidence", f"{line.meter_path}: no plan line")
        if (plan.source, plan.quantity) != (line.source, line.quantity):
            raise VerificationError("evidence", f"{line.meter_path}: the line is "
                                                f"{line.source} / {line.quantity}, its plan "
                                                f"line {plan.source} / {plan.quantity}")
        return plan


def check_evidence(bundle: ReportBundle, evidence: Evidence) -> None:
    """Step 5 (module docstring of :mod:`.verify`)."""
    doc = bundle.report
    listed = {(b.device, b.batch_seq, b.root) for b in doc.batches.items}
    held = {(b.header.device, b.header.batch_seq, b.header.root) for b in bundle.batches}
    evidence_held = {(b.header.device, b.header.batch_seq, b.header.root)
                     for b in bundle.batches if b.readings or any(
                         not isinstance(i.record, EmissionSummary) for i in b.records)}
    missing, extra = listed - held, evidence_held - listed
    if missing or extra:  # a batch holding only summaries may stand beside the listed ones
        raise VerificationError("evidence", f"the report lists {len(listed)} batches, the bundle "
                                            f"proves {len(held)}; not proven: "
                                            f"{_batch_names(sorted(missing))}; not listed: "
                                            f"{_batch_names(sorted(extra))}")
    meters = {(line.device, line.meter): line for line in doc.measured}
    for line in doc.measured:
        evidence.plan_line(line)
        held_readings = {(r.reading.seq, r.reading.timestamp, r.reading.value)
                         for r in evidence.readings.get((line.device, line.meter,
                                                         line.quantity), [])}
        for side, ref in (("startReading", line.start_reading), ("endReading", line.end_reading)):
            if ref is not None and (ref.seq, ref.timestamp, ref.value) not in held_readings:
                raise VerificationError("evidence", f"{line.meter_path}: its {side} (seq "
                                                    f"{ref.seq}) is not among the bundle's "
                                                    "proven readings")
        name = f"{line.meter_path} ({format_address(line.device)})"
        meter = check_meter(name, evidence.meters.get((line.device, line.meter), []))
        changes = [item.record.next_seq for item in evidence.records.get(
            (line.device, line.meter, line.quantity), []) if isinstance(item.record, MeterChange)]
        check_complete(name, line.quantity, line.start_reading, line.end_reading, meter,
                       changes, doc.period.start, doc.period.end)
    summaries = set(bundle.summaries)
    for batch in bundle.batches:
        for signed in batch.readings:
            r = signed.reading
            if (r.device, r.meter) not in meters:
                raise VerificationError("evidence", f"{batch.name()}: reading {signed.meter_path}"
                                                    f" seq {r.seq} belongs to no measured line")
        for item in batch.records:
            record = item.record
            if isinstance(record, EmissionSummary):
                if item not in summaries:
                    raise VerificationError("evidence", f"{batch.name()}: a summary not listed "
                                                        "in summaries")
            elif (record.device, record.meter) not in meters:
                raise VerificationError("evidence", f"{batch.name()}: {type(record).__name__} "
                                                    f"of {item.path} belongs to no measured line")
    proven = {item for batch in bundle.batches for item in batch.records}
    for index, summary in enumerate(bundle.summaries):
        if summary not in proven:
            raise VerificationError("evidence", f"summaries[{index}] is proven in no batch of the "
                                                "bundle")


def _batch_names(keys: list[tuple[bytes, int, bytes]]) -> str:
    if not keys:
        return "none"
    return ", ".join(f"{format_address(d)} #{s}" for d, s, _ in keys[:5]) + (
        f" and {len(keys) - 5} more" if len(keys) > 5 else "")
