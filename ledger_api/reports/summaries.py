"""The devices' signed emission summaries the ledger holds for a report's period.

A report bundle carries them (``bundle_export``) and the verifier checks the report against them
(steps ``summaries`` and ``completeness``: docs/protocol.md 11.4); the ledger reads the same set
before it makes a report (``create``), so it never makes one whose bundle would fail there.

Whose summaries (:func:`report_devices`): the devices of the report's measured lines, and every
other device of its enterprise that signed a summary of the period at the report's site (for an
enterprise report, under its plan's enterprise level). So a device left out of the report
altogether still has its summaries checked: its summarised meters are in no plan line, and the
report is refused (422 ``plan``) as its bundle would fail step ``completeness``.
"""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from accounting_rules.reports.document import ReportDocument
from mrv_core.records import EmissionSummary, SignedRecord
from mrv_core.wire import decode_signed_record

from ..db.models import DeviceStreamRow, LeafRow, RecordRow
from ..queries import under_path

__all__ = ["report_devices", "stored_summaries"]


def report_devices(session: Session, doc: ReportDocument) -> set[bytes]:
    """The devices whose stored summaries a report of ``doc`` is checked against (module
    docstring): those of its measured lines, and the devices of ``doc.enterprise`` with an
    ``EmissionSummary`` starting in the period whose path is the report's site or lies under it
    (``ledger_api.queries.under_path``)."""
    devices = {line.device for line in doc.measured}
    if doc.site is not None:
        prefix = doc.site.path
    elif doc.plan:
        prefix = doc.plan[0].meter_path.split("/", 1)[0]
    else:
        return devices
    found = session.scalars(
        select(RecordRow.device).distinct()
        .join(DeviceStreamRow, DeviceStreamRow.device == RecordRow.device)
        .where(RecordRow.kind == "emission_summary", under_path(RecordRow.path, prefix),
               RecordRow.time_from >= doc.period.start, RecordRow.time_from < doc.period.end,
               DeviceStreamRow.enterprise == doc.enterprise)).all()
    return devices | set(found)


def stored_summaries(session: Session, doc: ReportDocument, devices: set[bytes]
                     ) -> list[tuple[tuple[bytes, int], SignedRecord]]:
    """((device, position), signed record) of each stored ``EmissionSummary`` of ``devices``
    whose period lies inside the report's, in an accepted batch, by device and position."""
    found = []
    for device in sorted(devices):
        rows = session.execute(
            select(RecordRow.position, RecordRow.wire)
            .join(LeafRow, (LeafRow.device == RecordRow.device)
                  & (LeafRow.position == RecordRow.position))
            .where(RecordRow.device == device, RecordRow.kind == "emission_summary",
                   RecordRow.time_from >= doc.period.start,
                   RecordRow.time_from < doc.period.end, LeafRow.batch_seq.is_not(None))
            .order_by(RecordRow.position)).all()
        for position, wire in rows:
            signed = decode_signed_record(json.loads(wire), "$")
            assert isinstance(signed.record, EmissionSummary)
            if signed.record.period_end <= doc.period.end:
                found.append(((device, position), signed))
    return found
