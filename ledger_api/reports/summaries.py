"""The devices' signed emission summaries the ledger holds for a report's period.

A report bundle carries them (``bundle_export``) and the verifier checks the report against them
(steps ``summaries`` and ``completeness``: docs/protocol.md 11.4); the ledger reads the same set
before it makes a report (``create``), so it never makes one whose bundle would fail there.
"""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from accounting_rules.reports.document import ReportDocument
from mrv_core.records import EmissionSummary, SignedRecord
from mrv_core.wire import decode_signed_record

from ..db.models import LeafRow, RecordRow

__all__ = ["stored_summaries"]


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
