"""Report bundles (``trustmrv-report-bundle/1``) from the ledger's stored data.

:func:`export_report_bundle` takes a report document and the ``(device, position)`` leaves its
evidence uses (``ledger_api.recompute.MeterFigure.leaves``: the sparse readings of each meter,
its meter changes and gap records), groups them by the accepted batch holding each, and proves
each batch's leaves with **one multiproof** of the tree rebuilt from the batch's stored leaves
(:class:`ledger_api.proofs.TreeCache`, which refuses a batch whose stored leaves no longer give
its root). Each batch carries its signed header and the anchor the chain watcher saw for exactly
that header (``anchors`` table, not orphaned; ``None`` when not anchored yet). With
``summaries``, the devices' signed ``EmissionSummary`` records whose period lies inside the
report's are added, each proven in its batch like the rest, except those of a batch that holds
no other evidence and is not anchored yet (they are optional: such a batch would fail the
verifier's ``anchor`` step for a report whose evidence is anchored).

The devices' EIP-712 domain is the document's chain and AnchorRegistry; ``deployment`` names the
DeviceRegistry the anchors refer to. Refusals are :class:`ledger_api.errors.ProofUnavailable`:
404 ``reading`` for a leaf the ledger does not hold, 409 ``batch`` for one not yet in an accepted
batch, 400 ``readings`` for more than the bundle's limits allow (none: a report of manual
lines only has no batches).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import TypeVar

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from accounting_rules.reports.bundle import LIMITS, ProvenBatch, ReportBundle, prove_batch
from accounting_rules.reports.document import ReportDocument
from accounting_rules.reports.struct import report_hash
from mrv_core.chain import Deployment
from mrv_core.codec import format_address
from mrv_core.eip712 import Domain
from mrv_core.reading import SignedReading
from mrv_core.records import EmissionSummary, SignedRecord
from mrv_core.wire import decode_signed_record

from ..db.models import BatchRow, LeafRow, ReadingRow, RecordRow
from ..errors import ProofUnavailable
from ..proofs import TreeCache, anchor_in
from .report_routes import Figures
from .summaries import report_devices, stored_summaries

__all__ = ["bundle_of_report", "export_report_bundle"]

Item = SignedReading | SignedRecord
#: Keys read per query (a tuple IN list).
_CHUNK = 500


def bundle_of_report(session: Session, doc: ReportDocument, figures: Figures,
                     deployment: Deployment, trees: TreeCache) -> ReportBundle:
    """The report bundle of a kept report ``doc`` as the ledger's data gives it now: the
    leaves of the figures ``figures`` (``ledger_api.recompute.meter_figures``) reads for the
    document's enterprise, site and period, for the meters and devices its measured lines
    name, proven by
    :func:`export_report_bundle`. Not verified here: ``GET /v1/reports/{hash}/bundle``
    verifies it before answering. Raises :class:`ProofUnavailable`."""
    listed = {(line.meter_path, line.device) for line in doc.measured}
    found = figures(session, doc.enterprise, None if doc.site is None else doc.site.path,
                    doc.period.start, doc.period.end)
    leaves = [leaf for figure in found if (figure.point.meter_path, figure.device) in listed
              for leaf in figure.leaves]
    return export_report_bundle(session, doc, leaves, deployment, trees)


def export_report_bundle(session: Session, doc: ReportDocument,
                         leaves: Iterable[tuple[bytes, int]], deployment: Deployment,
                         trees: TreeCache, *, summaries: bool = True) -> ReportBundle:
    """The report bundle of ``doc`` proving ``leaves`` ((device, position) pairs, any order,
    repeats ignored) and, with ``summaries``, the devices' summaries of the period. Raises
    :class:`ProofUnavailable` (module docstring)."""
    wanted = sorted(set(leaves))
    if len(wanted) > LIMITS.readings + LIMITS.records:
        raise ProofUnavailable(400, "readings", f"expected at most "
                                                f"{LIMITS.readings + LIMITS.records} leaves, got "
                                                f"{len(wanted)}")
    devices = report_devices(session, doc) | {device for device, _ in wanted}
    summary_keys = ([key for key, _ in stored_summaries(session, doc, devices)]
                    if summaries else [])
    by_batch: dict[tuple[bytes, int], dict[int, Item]] = defaultdict(dict)
    keys = [*wanted, *summary_keys]
    rows = _rows_of(session, LeafRow, keys)
    for device, position in keys:
        leaf = rows.get((device, position))
        where = f"leaf {position} of device {format_address(device)}"
        if leaf is None:
            raise ProofUnavailable(404, "reading", f"no {where}")
        if leaf.batch_seq is None:
            raise ProofUnavailable(409, "batch", f"{where} is not yet in an accepted batch")
    items = _items(session, [rows[key] for key in keys])
    for device, position in keys:
        item = items[device, position]
        batch_seq = rows[device, position].batch_seq
        assert batch_seq is not None  # checked above
        by_batch[device, batch_seq][position] = item
    proven: list[ProvenBatch] = []
    evidence, left_out = set(wanted), set()
    for (device, batch_seq), held in sorted(by_batch.items()):
        batch = session.get(BatchRow, (device, batch_seq))
        assert batch is not None  # a leaf's batch_seq names an accepted batch
        header = batch.header()
        anchor = anchor_in(session, header, deployment)
        if anchor is None and not any((device, p) in evidence for p in held):
            # Summaries are optional: a batch holding only summaries goes in once it is
            # anchored, so that it never fails a bundle whose evidence is anchored.
            left_out.add((device, batch_seq))
            continue
        tree = trees.tree(session, batch)
        proven.append(prove_batch(header, batch.signature, anchor, tree,
                                  {position - batch.first_position: item
                                   for position, item in held.items()}))
    listed = [item for key in keys
              if isinstance(item := items[key], SignedRecord)
              and isinstance(item.record, EmissionSummary)
              and (key[0], rows[key].batch_seq) not in left_out]
    domain = Domain(doc.chain.chain_id, doc.chain.anchor_registry)
    return ReportBundle(report=doc, report_hash=report_hash(doc), domain=domain,
                        batches=tuple(proven), summaries=tuple(listed))


Row = TypeVar("Row", LeafRow, ReadingRow, RecordRow)


def _rows_of(session: Session, model: type[Row], keys: Sequence[tuple[bytes, int]]
             ) -> dict[tuple[bytes, int], Row]:
    """The rows of ``model`` under the ``(device, position)`` keys that exist, read
    :data:`_CHUNK` keys a query (one query per leaf made a month's bundle take seconds)."""
    found: dict[tuple[bytes, int], Row] = {}
    for i in range(0, len(keys), _CHUNK):
        chunk = keys[i:i + _CHUNK]
        for row in session.scalars(select(model).where(
                tuple_(model.device, model.position).in_(chunk))):
            found[row.device, row.position] = row
    return found


def _items(session: Session, leaves: Sequence[LeafRow]) -> dict[tuple[bytes, int], Item]:
    """The signed reading or record stored under each leaf, by ``(device, position)``."""
    readings = _rows_of(session, ReadingRow, [(leaf.device, leaf.position) for leaf in leaves
                                              if leaf.kind == "reading"])
    records = _rows_of(session, RecordRow, [(leaf.device, leaf.position) for leaf in leaves
                                            if leaf.kind != "reading"])
    # Every leaf has its reading or record row (foreign keys).
    found: dict[tuple[bytes, int], Item] = {k: r.signed() for k, r in readings.items()}
    found.update((k, decode_signed_record(json.loads(r.wire), "$")) for k, r in records.items())
    return found
