"""Evidence files, manual activities, report documents and attestation statements in the ledger's
database (tables of revision ``0006_reports``). Functions of a session; the caller owns the
transaction. Refusals raise :class:`~ledger_api.errors.ReportRefused` with the HTTP status and
check the routes answer (docs/api.md, "Manual activity data" and "Reports").

Scoping: every read takes the set of enterprises the caller sees (``visible``); a row of
another enterprise is answered as one the ledger does not hold (404), so its existence is not
disclosed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from accounting_rules.errors import InvalidEvidenceFile, ReportError, UnknownSource
from accounting_rules.reports import ReportDocument, canonical_bytes, document_hash, loads_report
from accounting_rules.reports.build import ManualEntry
from accounting_rules.reports.fields import check_entered_text
from accounting_rules.reports.manual import check_evidence_file, media_type_of, source_unit
from accounting_rules.reports.statement import (
    AttestationStatement,
    Verdict,
    loads_statement,
    statement_bytes,
    statement_hash,
)
from accounting_rules.reports.struct import report_hash
from mrv_core.codec import INT256_MAX, UINT64_MAX, format_address, format_hex
from mrv_core.errors import FormatError
from mrv_core.hashing import keccak256
from mrv_core.reading import validate_site_path

from ..db.models import (
    AttestationStatementRow,
    EvidenceFileRow,
    ManualActivityRow,
    PlanPointRow,
    ReportRow,
)
from ..errors import ReportRefused
from ..queries import under_path

__all__ = [
    "ActivityInput",
    "activities",
    "add_activity",
    "evidence_file",
    "insert_once",
    "manual_entries",
    "report_document",
    "report_row",
    "reports",
    "statements_of",
    "store_evidence",
    "store_report",
    "store_statement",
    "withdraw_activity",
]

MAX_DESCRIPTION = 1_000
MAX_NAME = 255


R = TypeVar("R", EvidenceFileRow, ReportRow, AttestationStatementRow)


def insert_once(session: Session, row: R, key: object) -> tuple[R, bool]:
    """Insert ``row`` in a savepoint; when a concurrent request inserted the same key first,
    that row (content-addressed rows are equal by construction) and ``False``."""
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        held = session.get(type(row), key)
        if held is None:
            raise
        return held, False
    return row, True


# -- evidence files ------------------------------------------------------------------------------


def store_evidence(session: Session, *, enterprise: bytes, content: bytes, declared_type: str,
                   name: str, principal_id: int, now: datetime) -> tuple[EvidenceFileRow, bool]:
    """Keep ``content`` as an evidence file of ``enterprise``; the row and whether it is new
    (the same bytes stored again: the first row, unchanged). The media type is read from the
    bytes and must be the declared one (415 ``media_type``); 400 ``evidence`` for bytes that
    are no PDF, PNG or JPEG, 422 ``evidence`` for bytes that start as one but are not one
    (:func:`~accounting_rules.reports.manual.check_evidence_file`: an image Pillow cannot
    decode or past the pixel bound, a PDF without its trailer), 422 ``format`` for a name
    that is empty, too long or has control or format characters (bidi controls...:
    :func:`~accounting_rules.reports.fields.check_entered_text`). Files stored before these
    checks stay as they are."""
    try:
        media_type = media_type_of(content)
    except ReportError as exc:
        raise ReportRefused(400, "evidence", str(exc)) from None
    if declared_type != media_type:
        raise ReportRefused(415, "media_type", f"the body is {media_type}, the Content-Type "
                                               f"says {declared_type[:60]!r}")
    try:
        check_evidence_file(content)
    except InvalidEvidenceFile as exc:
        raise ReportRefused(422, "evidence", str(exc)) from None
    try:
        check_entered_text(name, "name", MAX_NAME)
    except FormatError as exc:
        raise ReportRefused(422, "format", str(exc), path="$.query.name") from None
    digest = keccak256(content)
    held = session.get(EvidenceFileRow, (enterprise, digest))
    if held is not None:
        return held, False
    return insert_once(session, EvidenceFileRow(
        enterprise=enterprise, hash=digest, media_type=media_type, size=len(content),
        name=name, content=content, stored_by=principal_id, stored_at=now),
        (enterprise, digest))


def evidence_file(session: Session, digest: bytes, visible: frozenset[bytes]) -> EvidenceFileRow:
    """The evidence file with hash ``digest`` of an enterprise in ``visible`` (404
    ``evidence`` otherwise)."""
    row = session.scalars(select(EvidenceFileRow).where(
        EvidenceFileRow.hash == digest, EvidenceFileRow.enterprise.in_(visible))
        .order_by(EvidenceFileRow.enterprise).limit(1)).first()
    if row is None:
        raise ReportRefused(404, "evidence", f"no evidence file {format_hex(digest)} here")
    return row


# -- manual activities ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ActivityInput:
    """A manual activity as entered: site, source, amount in the source's integer unit, period
    ``[start, end)`` (Unix s), evidence hash, description."""

    site_path: str
    source: str
    amount: int
    period_start: int
    period_end: int
    evidence: bytes
    description: str


def check_own_site(session: Session, enterprise: bytes, site_path: str, *,
                   path: str = "$.site") -> None:
    """422 ``site`` when ``site_path``'s first level is in another enterprise's monitoring plan,
    or is not the first level of ``enterprise``'s own plan (its enterprise level; with no plan
    naming the level, nothing to compare with): a first level belongs to one enterprise
    (``ledger_api.recompute.plan``)."""
    level = site_path.split("/")[0]
    owner = session.scalar(select(PlanPointRow.enterprise)
                           .where(under_path(PlanPointRow.meter_path, level)).limit(1))
    own = session.scalar(select(PlanPointRow.meter_path)
                         .where(PlanPointRow.enterprise == enterprise).limit(1))
    if (owner is not None and owner != enterprise) or (
            own is not None and own.split("/")[0] != level):
        raise ReportRefused(422, "site", f"{site_path} is not a site of your enterprise: its "
                                         f"level {level!r} is not your plan's enterprise level",
                            path=path)


def add_activity(session: Session, entered: ActivityInput, *, enterprise: bytes,
                 principal_id: int, now: datetime) -> ManualActivityRow:
    """Enter a manual activity of ``enterprise``. Refusals: 422 ``format`` (a site path, an
    amount beyond ``2^255 - 1`` or a description the rules refuse: control or format
    characters, bidi controls among them,
    :func:`~accounting_rules.reports.fields.check_entered_text`), 422 ``source`` (no shipped
    methodology has the source), 422 ``period`` (empty or reversed), 422 ``site``
    (:func:`check_own_site`), 404 ``evidence`` (no such evidence file of the enterprise)."""
    try:
        validate_site_path(entered.site_path)
        check_entered_text(entered.description, "description", MAX_DESCRIPTION, empty=True,
                           lines=True)
    except (FormatError, ValueError) as exc:
        raise ReportRefused(422, "format", str(exc)) from None
    check_own_site(session, enterprise, entered.site_path)
    try:
        unit = source_unit(entered.source)
    except UnknownSource:
        raise ReportRefused(422, "source", f"no methodology has the source "
                                           f"{entered.source[:40]!r}") from None
    if not 0 <= entered.amount <= INT256_MAX:
        raise ReportRefused(422, "format", f"amount {entered.amount} outside [0, 2^255 - 1]")
    if not 0 <= entered.period_start < entered.period_end <= UINT64_MAX:
        raise ReportRefused(422, "period", f"period [{entered.period_start}, "
                                           f"{entered.period_end}) is empty or reversed")
    if session.get(EvidenceFileRow, (enterprise, entered.evidence)) is None:
        raise ReportRefused(404, "evidence", f"no evidence file {format_hex(entered.evidence)} "
                                             f"of {format_address(enterprise)}: upload it first")
    row = ManualActivityRow(enterprise=enterprise, site_path=entered.site_path,
                            source=entered.source, unit=unit, amount=entered.amount,
                            period_start=entered.period_start, period_end=entered.period_end,
                            evidence=entered.evidence, description=entered.description,
                            entered_by=principal_id, entered_at=now)
    session.add(row)
    session.flush()
    return row


def activities(session: Session, visible: frozenset[bytes], *, site_path: str | None = None,
               limit: int = 1_000) -> list[ManualActivityRow]:
    """The manual activities of the ``visible`` enterprises (of one site), withdrawn ones
    included, by id."""
    query = select(ManualActivityRow).where(ManualActivityRow.enterprise.in_(visible))
    if site_path is not None:
        query = query.where(ManualActivityRow.site_path == site_path)
    return list(session.scalars(query.order_by(ManualActivityRow.id).limit(limit)))


def withdraw_activity(session: Session, activity_id: int, *, enterprise: bytes,
                      now: datetime) -> ManualActivityRow:
    """Mark an activity of ``enterprise`` withdrawn (404 ``activity``; 409 ``withdrawn`` when it
    already is). The row stays: reports that used it still name it."""
    row = session.get(ManualActivityRow, activity_id, with_for_update=True)
    if row is None or row.enterprise != enterprise:
        raise ReportRefused(404, "activity", f"no activity {activity_id} of "
                                             f"{format_address(enterprise)}")
    if row.withdrawn_at is not None:
        raise ReportRefused(409, "withdrawn", f"activity {activity_id} was withdrawn already")
    row.withdrawn_at = now
    session.flush()
    return row


def manual_entries(session: Session, enterprise: bytes, site_path: str | None, start: int,
                   end: int) -> list[ManualEntry]:
    """The activities a report of ``[start, end)`` takes: of the enterprise (of the site, or of
    every site for ``None``), not withdrawn, whose period lies within the report's."""
    query = (select(ManualActivityRow, EvidenceFileRow)
             .join(EvidenceFileRow, (EvidenceFileRow.enterprise == ManualActivityRow.enterprise)
                   & (EvidenceFileRow.hash == ManualActivityRow.evidence))
             .where(ManualActivityRow.enterprise == enterprise,
                    ManualActivityRow.withdrawn_at.is_(None)))
    if site_path is not None:
        query = query.where(ManualActivityRow.site_path == site_path)
    entries = []
    for activity, evidence in session.execute(query.order_by(ManualActivityRow.id)):
        if start <= activity.period_start and activity.period_end <= end:
            entries.append(ManualEntry(
                id=activity.id, source=activity.source, amount=activity.amount,
                evidence=activity.evidence, evidence_name=evidence.name,
                media_type=evidence.media_type, description=activity.description,
                entered_at=int(activity.entered_at.timestamp())))
    return entries


# -- reports and statements ----------------------------------------------------------------------


def store_report(session: Session, doc: ReportDocument, *, created_by: int,
                 now: datetime) -> ReportRow:
    """Keep ``doc`` under its report hash (the same document again: the row held)."""
    key = report_hash(doc)
    held = session.get(ReportRow, key)
    if held is not None:
        return held
    return insert_once(session, ReportRow(
        report_hash=key, document_hash=document_hash(doc),
        document=canonical_bytes(doc).decode("utf-8"), enterprise=doc.enterprise,
        site_path=None if doc.site is None else doc.site.path, period_start=doc.period.start,
        period_end=doc.period.end, methodology=doc.methodology.id,
        methodology_version=doc.methodology.version, created_by=created_by, created_at=now,
        supersedes=None if not any(doc.supersedes) else doc.supersedes), key)[0]


def reports(session: Session, visible: frozenset[bytes], *, site_path: str | None = None,
            limit: int = 1_000) -> list[ReportRow]:
    """The reports of the ``visible`` enterprises (of one site), newest period first."""
    query = select(ReportRow).where(ReportRow.enterprise.in_(visible))
    if site_path is not None:
        query = query.where(ReportRow.site_path == site_path)
    return list(session.scalars(query.order_by(ReportRow.period_start.desc(),
                                               ReportRow.created_at.desc()).limit(limit)))


def report_row(session: Session, key: bytes, visible: frozenset[bytes]) -> ReportRow:
    """The report with hash ``key`` of a ``visible`` enterprise (404 ``report`` otherwise)."""
    row = session.get(ReportRow, key)
    if row is None or row.enterprise not in visible:
        raise ReportRefused(404, "report", f"no report {format_hex(key)} here")
    return row


def report_document(row: ReportRow) -> ReportDocument:
    """The document a row holds, parsed strictly."""
    return loads_report(row.document.encode("utf-8"))


def store_statement(session: Session, statement: AttestationStatement,
                    on_chain: Iterable[tuple[bytes, bytes, Verdict]], *,
                    now: datetime) -> tuple[AttestationStatementRow, bool]:
    """Keep ``statement`` when the chain holds an attestation of its report by its regulator
    with its hash and its verdict (``on_chain``: the report's attestations as ``(regulator,
    statementHash, verdict)``); 409 ``chain`` otherwise (a statement whose verdict is not the
    one on chain would be served beside it as if it explained it). The row and whether it is
    new."""
    digest = statement_hash(statement)
    verdicts = {(regulator, hash_): verdict for regulator, hash_, verdict in on_chain}
    on_record = verdicts.get((statement.regulator, digest))
    if on_record is None:
        raise ReportRefused(409, "chain", f"the chain holds no attestation of report "
                                          f"{format_hex(statement.report)} by "
                                          f"{format_address(statement.regulator)} with "
                                          f"statement hash {format_hex(digest)}")
    if on_record is not statement.verdict:
        raise ReportRefused(409, "chain", f"the chain's verdict on report "
                                          f"{format_hex(statement.report)} by "
                                          f"{format_address(statement.regulator)} is "
                                          f"{on_record.label}, the statement says "
                                          f"{statement.verdict.label}")
    held = session.get(AttestationStatementRow, digest)
    if held is not None:
        return held, False
    return insert_once(session, AttestationStatementRow(
        statement_hash=digest, report_hash=statement.report, regulator=statement.regulator,
        statement=statement_bytes(statement).decode("utf-8"), stored_at=now), digest)


def statements_of(session: Session, key: bytes) -> dict[bytes, AttestationStatement]:
    """The statements kept for report ``key``, by statement hash."""
    rows = session.scalars(select(AttestationStatementRow)
                           .where(AttestationStatementRow.report_hash == key))
    return {row.statement_hash: loads_statement(row.statement.encode("utf-8")) for row in rows}
