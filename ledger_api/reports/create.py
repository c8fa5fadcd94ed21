"""Create a report from the ledger: the methodology version in force at the period's start (the
MethodologyRegistry, by ``eth_call``), the measured figures (``ledger_api.recompute``), the
manual activities of the site and period, and the batches holding every leaf the figures use,
built into a ``trustmrv-report/1`` document (:func:`accounting_rules.reports.build.build_report`)
and kept under its report hash.

The measured figures are an argument: :func:`create_report` takes them from its caller, who
reads them with ``ledger_api.recompute.meter_figures`` (its ``leaves`` name the ``(device,
position)`` of every reading and record a figure rests on).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from accounting_rules.codes import ZERO32
from accounting_rules.errors import AccountingError, ReportError
from accounting_rules.publishing import resolve
from accounting_rules.registry import load_methodology
from accounting_rules.reports import BatchRef, ChainRef, ReportDocument, ReportPeriod
from accounting_rules.reports.build import MeterFigureLike, build_report
from accounting_rules.reports.meters_check import check_meters
from mrv_core.chain import System
from mrv_core.codec import format_address, format_hex, parse_address
from mrv_core.errors import ContractRevert, VerificationError

from ..db.models import BatchRow, LeafRow, ReportRow
from ..errors import ReportRefused
from .store import check_own_site, manual_entries, store_report
from .summaries import report_devices, stored_summaries

__all__ = ["batches_of_leaves", "chain_ref", "check_report_request", "create_report"]

#: Leaves looked up per query (a tuple IN list).
_CHUNK = 500


def chain_ref(system: System) -> ChainRef:
    """The chain and registries of ``system``'s deployment, as a document names them."""
    contracts = system.deployment.contracts
    return ChainRef(system.chain.chain_id, contracts["ReportRegistry"],
                    contracts["AnchorRegistry"], contracts["MethodologyRegistry"])


def batches_of_leaves(session: Session, leaves: Iterable[tuple[bytes, int]]) -> list[BatchRef]:
    """The batches holding the leaves ``(device, position)``, unique; 409 ``batch`` when a leaf
    is in no accepted batch yet (a report rests on batched, anchorable data only)."""
    wanted = sorted(set(leaves))
    found: dict[tuple[bytes, int], BatchRef] = {}
    seen: set[tuple[bytes, int]] = set()
    for i in range(0, len(wanted), _CHUNK):
        chunk = wanted[i:i + _CHUNK]
        rows = session.execute(
            select(LeafRow.device, LeafRow.position, BatchRow.batch_seq, BatchRow.root)
            .join(BatchRow, (BatchRow.device == LeafRow.device)
                  & (BatchRow.batch_seq == LeafRow.batch_seq))
            .where(tuple_(LeafRow.device, LeafRow.position).in_(chunk)))
        for device, position, batch_seq, root in rows:
            seen.add((device, position))
            found[device, batch_seq] = BatchRef(device, batch_seq, root)
    missing = [leaf for leaf in wanted if leaf not in seen]
    if missing:
        device, position = missing[0]
        raise ReportRefused(409, "batch", f"{len(missing)} leaf(s) the figures use are in no "
                                          f"batch yet, first {format_address(device)} position "
                                          f"{position}: report once they are batched")
    return list(found.values())


def check_report_request(session: Session, *, enterprise: bytes, site_path: str | None,
                         period: ReportPeriod, supersedes: bytes) -> None:
    """Refuse what the registry would refuse or what no honest correction asks (docs/api.md
    "Reports"): 422 ``site`` (:func:`.store.check_own_site`); 422
    ``supersedes`` when ``supersedes`` (zero: none) is not a report this ledger keeps for the
    same enterprise, site and period."""
    if site_path is not None:
        check_own_site(session, enterprise, site_path)
    if supersedes == ZERO32:
        return
    held = session.get(ReportRow, supersedes)
    if (held is None or held.enterprise != enterprise or held.site_path != site_path
            or (held.period_start, held.period_end) != (period.start, period.end)):
        raise ReportRefused(422, "supersedes", f"{format_hex(supersedes)} is not a report this "
                                               "ledger keeps for your enterprise, this site "
                                               "and this period: a correction supersedes the "
                                               "report of the same site and period",
                            path="$.supersedes")


def create_report(session: Session, system: System, *, enterprise: bytes, site_path: str | None,
                  period: ReportPeriod, methodology_id: str, figures: Sequence[MeterFigureLike],
                  leaves: Iterable[tuple[bytes, int]], supersedes: bytes, created_by: int,
                  now: datetime) -> ReportDocument:
    """Build and keep the report of ``figures`` (the measured figures of the site and period)
    and the manual activities of the site and period under the version of ``methodology_id``
    in force at ``period.start``. Refusals: 422 ``methodology`` (no version in force, or one
    this code does not ship), 422 ``report`` (the figures or lines do not make a report: a
    source the methodology lacks, no factor for the period...), 422 ``plan`` (a meter the
    devices' stored summaries of the period name is not in the report: step ``completeness``
    of the verifier), 409 ``batch``, and those of :func:`check_report_request`."""
    check_report_request(session, enterprise=enterprise, site_path=site_path, period=period,
                         supersedes=supersedes)
    try:
        resolved = resolve(system, methodology_id, period.start)
    except ContractRevert as exc:
        raise ReportRefused(422, "methodology", f"{methodology_id} at {period.start}: "
                                                f"{exc.error}") from None
    try:
        methodology = load_methodology(methodology_id, resolved.version)
    except LookupError:
        raise ReportRefused(422, "methodology", f"{methodology_id} v{resolved.version} is in "
                                                "force on chain but not shipped with this "
                                                "ledger") from None
    batches = batches_of_leaves(session, leaves)
    entries = manual_entries(session, enterprise, site_path, period.start, period.end)
    try:
        doc = build_report(enterprise=enterprise, site_path=site_path, period=period,
                           methodology=methodology,
                           methodology_address=parse_address(resolved.address),
                           chain=chain_ref(system), measured=figures, manual=entries,
                           batches=batches, supersedes=supersedes,
                           created_at=int(now.timestamp()))
    except (ReportError, AccountingError, ValueError) as exc:
        raise ReportRefused(422, "report", str(exc)) from None
    _check_summarized_meters(session, doc)
    store_report(session, doc, created_by=created_by, now=now)
    return doc


def _check_summarized_meters(session: Session, doc: ReportDocument) -> None:
    """422 ``plan`` when a meter the devices' stored summaries of the period name is not in the
    report's plan and lines: its bundle would fail the verifier's step ``completeness``."""
    held = stored_summaries(session, doc, report_devices(session, doc))
    try:
        check_meters(doc, (signed for _, signed in held))
    except VerificationError as exc:
        raise ReportRefused(422, "plan", f"the devices' signed summaries of the period name a "
                                         f"meter this report would leave out: {exc.detail}; "
                                         "the monitoring plan (PUT /v1/plan) must list every "
                                         "meter the edge nodes summarise") from None
