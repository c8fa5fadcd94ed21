"""Routes of manual activity data (docs/api.md, "Manual activity data"):

- ``POST /v1/evidence?name=FILE``: an evidence file as the raw body, its ``Content-Type``
  ``application/pdf``, ``image/png`` or ``image/jpeg`` (checked against the magic bytes, then
  the bytes checked to be one: ``accounting_rules.reports.manual.check_evidence_file``), at
  most 16 MiB; 201 with its keccak256 (200 when the enterprise holds it already);
- ``GET /v1/evidence/{hash}``: the file, to principals that see its enterprise;
- ``POST /v1/activities``: an activity with its evidence hash (201); ``GET /v1/activities``;
  ``POST /v1/activities/{id}/withdraw`` (the row stays, marked withdrawn).

Writes are an ``enterprise_admin``'s, for its own enterprise; reads follow the enterprise-data
rule (``ledger_api.access``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, TypeVar

from fastapi import FastAPI, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from accounting_rules.reports.manual import MAX_EVIDENCE_BYTES
from mrv_core.codec import UINT64_MAX, format_address, format_hex, parse_hex
from mrv_core.errors import DocumentTooLarge

from ..access import (
    ACCESS_STATUSES,
    Data,
    Principal,
    Role,
    VisibleEnterprises,
    require,
    roles_seeing,
)
from ..bodies import model_request_body, read_body, read_model
from ..db.models import EvidenceFileRow, ManualActivityRow, as_utc
from ..errors import ReportRefused
from ..problems import problem_response, problem_responses
from .store import (
    MAX_DESCRIPTION,
    MAX_NAME,
    ActivityInput,
    activities,
    add_activity,
    evidence_file,
    store_evidence,
    withdraw_activity,
)

if TYPE_CHECKING:
    from ..app import Services

__all__ = ["add_activity_routes", "serve_db"]

T = TypeVar("T")
_BYTES32 = r"^0x[0-9a-f]{64}$"
_AMOUNT = r"^(0|[1-9][0-9]{0,76})$"
EnterpriseReader = Annotated[Principal, require(*roles_seeing(Data.ENTERPRISE))]
EnterpriseAdmin = Annotated[Principal, require(Role.ENTERPRISE_ADMIN)]


class EvidenceModel(BaseModel):
    """An evidence file held: its keccak256, whose, its media type, size and name."""

    model_config = ConfigDict(extra="forbid", strict=True)
    hash: str
    enterprise: str
    mediaType: str
    size: int = Field(ge=1)
    name: str
    storedAt: datetime


class ActivityBody(BaseModel):
    """A manual activity: site (``enterprise/site``), emission source, amount in the source's
    integer unit (a base-10 string), period ``[periodStart, periodEnd)`` in Unix seconds, the
    evidence file's hash and a description."""

    model_config = ConfigDict(extra="forbid", strict=True)
    site: str = Field(min_length=3, max_length=256)
    source: str = Field(min_length=1, max_length=32)
    amount: str = Field(pattern=_AMOUNT, description="in the source's integer unit")
    periodStart: int = Field(ge=0, le=UINT64_MAX)
    periodEnd: int = Field(ge=0, le=UINT64_MAX)
    evidence: str = Field(pattern=_BYTES32)
    description: str = Field(default="", max_length=MAX_DESCRIPTION)


class ActivityModel(BaseModel):
    """A manual activity as held (``withdrawnAt`` ``null`` while in force)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    id: int
    enterprise: str
    site: str
    source: str
    unit: str
    amount: str
    periodStart: int
    periodEnd: int
    evidence: str
    description: str
    enteredBy: int
    enteredAt: datetime
    withdrawnAt: datetime | None


class ActivityList(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    activities: list[ActivityModel]


def evidence_model(row: EvidenceFileRow) -> EvidenceModel:
    return EvidenceModel(hash=format_hex(row.hash), enterprise=format_address(row.enterprise),
                         mediaType=row.media_type, size=row.size, name=row.name,
                         storedAt=as_utc(row.stored_at))


def activity_model(row: ManualActivityRow) -> ActivityModel:
    return ActivityModel(
        id=row.id, enterprise=format_address(row.enterprise), site=row.site_path,
        source=row.source, unit=row.unit, amount=str(row.amount), periodStart=row.period_start,
        periodEnd=row.period_end, evidence=format_hex(row.evidence),
        description=row.description, enteredBy=row.entered_by,
        enteredAt=as_utc(row.entered_at),
        withdrawnAt=None if row.withdrawn_at is None else as_utc(row.withdrawn_at))


async def serve_db(services: Services, run: Callable[[Session], T], *,
                   write: bool = False) -> T | JSONResponse:
    """``run`` in a transaction (``write``) or a reader session, on a worker thread; 503 when
    the database is busy or unreachable."""
    def call() -> T:
        if write:
            with services.sessions.begin() as session:
                return run(session)
        with services.readers() as session:
            return run(session)

    try:
        return await run_in_threadpool(call)
    except OperationalError:
        return problem_response(503, "unavailable", "the database is busy or unreachable; try "
                                                    "again later", headers={"Retry-After": "5"})


def _own(principal: Principal) -> bytes:
    assert principal.enterprise is not None  # an enterprise_admin acts for one enterprise
    return principal.enterprise


def add_activity_routes(app: FastAPI, services: Services) -> None:
    """Add the evidence and activity routes to ``app``."""

    @app.post("/v1/evidence", response_model=EvidenceModel, status_code=201, tags=["reports"],
              responses=problem_responses(*ACCESS_STATUSES, 400, 413, 415, 422),
              openapi_extra={"requestBody": {"required": True, "content": {
                  media: {"schema": {"type": "string", "format": "binary"}}
                  for media in ("application/pdf", "image/png", "image/jpeg")}}})
    async def upload_evidence(
            principal: EnterpriseAdmin, request: Request,
            name: Annotated[str, Query(min_length=1, max_length=MAX_NAME,
                                       description="the file's name")]) -> Response:
        """Store an evidence file of your enterprise (PDF, PNG or JPEG by its magic bytes, and
        checked to be one: an image decoded within 40 MP, a PDF's header and trailer)."""
        try:
            content = await read_body(request, MAX_EVIDENCE_BYTES)
        except DocumentTooLarge as exc:
            raise ReportRefused(413, "too_large", exc.problem) from None
        declared = request.headers.get("content-type", "").split(";")[0].strip().lower()
        now = datetime.now(UTC)

        def run(session: Session) -> tuple[EvidenceModel, bool]:
            row, created = store_evidence(session, enterprise=_own(principal), content=content,
                                          declared_type=declared, name=name,
                                          principal_id=principal.id, now=now)
            return evidence_model(row), created

        done = await serve_db(services, run, write=True)
        if isinstance(done, JSONResponse):
            return done
        model, created = done
        return JSONResponse(model.model_dump(mode="json"), status_code=201 if created else 200)

    @app.get("/v1/evidence/{digest}", tags=["reports"], response_class=Response,
             responses={200: {"content": {m: {} for m in ("application/pdf", "image/png",
                                                          "image/jpeg")}},
                        **problem_responses(*ACCESS_STATUSES, 404, 422)})
    async def download_evidence(
            _principal: EnterpriseReader, visible: VisibleEnterprises,
            digest: Annotated[str, Path(pattern=_BYTES32)]) -> Response:
        """An evidence file of an enterprise you see, as stored."""
        key = parse_hex(digest, 32, field="hash")
        done = await serve_db(services, lambda s: _file(evidence_file(s, key, visible)))
        if isinstance(done, JSONResponse):
            return done
        content, media_type = done
        return Response(content, media_type=media_type, headers={
            "Content-Disposition": "attachment", "X-Content-Type-Options": "nosniff"})

    @app.post("/v1/activities", response_model=ActivityModel, status_code=201,
              tags=["reports"], responses=problem_responses(*ACCESS_STATUSES, 404, 413, 422),
              openapi_extra=model_request_body(ActivityBody))
    async def enter_activity(principal: EnterpriseAdmin,
                             request: Request) -> ActivityModel | JSONResponse:
        """Enter activity data of your enterprise with the hash of its evidence file."""
        body = await read_model(request, ActivityBody)
        entered = ActivityInput(body.site, body.source, int(body.amount), body.periodStart,
                                body.periodEnd, parse_hex(body.evidence, 32), body.description)
        now = datetime.now(UTC)
        return await serve_db(services, lambda s: activity_model(add_activity(
            s, entered, enterprise=_own(principal), principal_id=principal.id, now=now)),
            write=True)

    @app.get("/v1/activities", response_model=ActivityList, tags=["reports"],
             responses=problem_responses(*ACCESS_STATUSES, 422))
    async def list_activities(
            _principal: EnterpriseReader, visible: VisibleEnterprises,
            site: Annotated[str | None, Query(max_length=256)] = None,
    ) -> ActivityList | JSONResponse:
        """The manual activities of the enterprises you see (of one site), withdrawn ones
        included, by id."""
        return await serve_db(services, lambda s: ActivityList(activities=[
            activity_model(row) for row in activities(s, visible, site_path=site)]))

    @app.post("/v1/activities/{activity_id}/withdraw", response_model=ActivityModel,
              tags=["reports"], responses=problem_responses(*ACCESS_STATUSES, 404, 409, 422))
    async def withdraw(principal: EnterpriseAdmin,
                       activity_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
                       ) -> ActivityModel | JSONResponse:
        """Withdraw an activity of your enterprise; it stays on record."""
        now = datetime.now(UTC)
        return await serve_db(services, lambda s: activity_model(withdraw_activity(
            s, activity_id, enterprise=_own(principal), now=now)), write=True)


def _file(row: EvidenceFileRow) -> tuple[bytes, str]:
    return bytes(row.content), row.media_type
