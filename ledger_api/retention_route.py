"""``POST /v1/retention/purge``: an enterprise's admin deletes (or, by default, previews) its
data past the minimum retention (:mod:`ledger_api.retention`, docs/api.md "Retention").

Only an ``enterprise_admin`` may call it, and only for its own enterprise (403 ``role`` for
every other role, 403 ``scope`` for another enterprise). The body names the enterprise, the
cutoff day (``before``, ``YYYY-MM-DD``, 00:00 UTC), the reason kept in the audit log and
``confirm`` (``false``, the default: a dry run that changes nothing). The answer reports the rows
deleted (or that would be) per table, the batch ranges, the batches kept because they are not
final, and the audit row's id. Refusals are problem documents: 400 ``retention`` (a cutoff
younger than the minimum retention) or ``reason``, 404 ``enterprise`` (no device of it here),
422 (a malformed body or date), 503 (the database is busy).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from mrv_core.codec import format_address, parse_address
from mrv_core.errors import DecodeError

from .access import ACCESS_STATUSES, Principal, Role, check_visible, require
from .bodies import model_request_body, read_model
from .problems import problem_response, problem_responses
from .retention import MAX_REASON, Purge, parse_cutoff, purge

__all__ = ["PURGE_PATH", "PurgeBody", "PurgeReport", "add_retention_routes"]

PURGE_PATH = "/v1/retention/purge"
_ADDRESS = r"^0x[0-9a-fA-F]{40}$"


class PurgeBody(BaseModel):
    """What to purge: whose data, before which day (UTC), why, and whether to do it."""

    model_config = ConfigDict(extra="forbid", strict=True)

    enterprise: str = Field(pattern=_ADDRESS, description="your enterprise's address")
    before: str = Field(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
                        description="batches whose data ended before this day (00:00 UTC); "
                                    "at least the minimum retention ago")
    reason: str = Field(min_length=1, max_length=MAX_REASON,
                        description="why, kept in the audit log")
    confirm: bool = Field(default=False, description="delete (true) or only report (false)")


class BatchRangeModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    device: str
    first_batch_seq: int = Field(ge=0)
    last_batch_seq: int = Field(ge=0)


class PurgeReport(BaseModel):
    """Rows deleted (``dry_run``: that would be) per table, the batch ranges, batches past the
    cutoff kept because not final (by anchor state), the audit row (``null``: none written)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    enterprise: str
    cutoff: datetime
    retention_years: int
    dry_run: bool
    deleted: dict[str, int]
    ranges: list[BatchRangeModel]
    kept: dict[str, int]
    audit_id: int | None


def add_retention_routes(app: FastAPI, sessions: sessionmaker[Session],
                         retention_years: int) -> None:
    """Add ``POST /v1/retention/purge`` to ``app``, in transactions of ``sessions``, keeping
    ``retention_years`` at least."""

    @app.post(PURGE_PATH, response_model=PurgeReport, tags=["retention"],
              responses=problem_responses(*ACCESS_STATUSES, 400, 404, 413, 422),
              openapi_extra=model_request_body(PurgeBody))
    async def retention_purge(
            principal: Annotated[Principal, require(Role.ENTERPRISE_ADMIN)],
            request: Request) -> PurgeReport | JSONResponse:
        """Delete (``confirm``) or preview your enterprise's final batches whose data ended
        before ``before``, with their readings, records, leaves and anchors; logged."""
        # Read after the key check and strictly: a duplicate "confirm" is refused, never
        # "the last one wins" (a dry run that deletes).
        body = await read_model(request, PurgeBody)
        try:
            enterprise = parse_address(body.enterprise, field="enterprise")
        except DecodeError as exc:  # mixed case with a wrong EIP-55 checksum
            return problem_response(422, "format", str(exc), path="$.body.enterprise")
        assert principal.enterprise is not None  # an enterprise_admin acts for one
        check_visible(frozenset({principal.enterprise}), enterprise)
        cutoff = parse_cutoff(body.before)

        def run() -> Purge:
            with sessions.begin() as session:
                return purge(session, enterprise=enterprise, cutoff=cutoff,
                             reason=body.reason, actor=f"principal {principal.id}",
                             principal_id=principal.id, retention_years=retention_years,
                             now=datetime.now(UTC), confirm=body.confirm)

        try:
            done = await run_in_threadpool(run)
        except OperationalError:
            return problem_response(503, "unavailable", "the database is busy or unreachable; "
                                                        "try again later",
                                    headers={"Retry-After": "5"})
        return report_model(done)


def report_model(done: Purge) -> PurgeReport:
    """The API's view of a :class:`~ledger_api.retention.Purge`."""
    return PurgeReport(
        enterprise=format_address(done.enterprise),
        cutoff=datetime.fromtimestamp(done.cutoff, UTC), retention_years=done.retention_years,
        dry_run=done.dry_run, deleted=dict(done.counts),
        ranges=[BatchRangeModel(device=format_address(r.device), first_batch_seq=r.first,
                                last_batch_seq=r.last) for r in done.ranges],
        kept=dict(done.kept), audit_id=done.audit_id)
