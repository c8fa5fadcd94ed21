"""Routes of reports (docs/api.md, "Reports"):

- ``POST /v1/reports``: create the report of a site (or the enterprise) and calendar period
  under a methodology, from the measured figures and the manual activities; an
  ``enterprise_admin``'s. Added only when the application is given the figures' source
  (``figures``: ``ledger_api.recompute.meter_figures``);
- ``GET /v1/reports``, ``GET /v1/reports/{hash}`` (with its on-chain status by ``eth_call``:
  submitted in which block, superseded by which report, attestations with their statements),
  ``GET /v1/reports/{hash}/document`` (the canonical document bytes);
- ``GET /v1/reports/{hash}/bundle`` (:mod:`.bundle_route`): its report bundle, also only with
  ``figures``;
- ``POST /v1/reports/{hash}/attestations``: a regulator posts its ``trustmrv-attestation/1``
  statement; kept only when the chain holds an attestation of the report by the statement's
  regulator with the statement's hash, and when its comments have no control or format
  character (bidi controls...: ``accounting_rules.reports.fields.check_entered_text``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal, cast

from fastapi import FastAPI, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from accounting_rules.codes import ZERO32
from accounting_rules.errors import InvalidPeriodSpec
from accounting_rules.reports import encode_report
from accounting_rules.reports.build import MeterFigureLike
from accounting_rules.reports.fields import check_entered_text
from accounting_rules.reports.onchain import ReportStatus, read_report
from accounting_rules.reports.periods import report_period
from accounting_rules.reports.statement import (
    AVR,
    MAX_COMMENTS,
    MAX_STATEMENT_BYTES,
    encode_statement,
    loads_statement,
)
from accounting_rules.reports.struct import report_hash
from mrv_core.codec import format_address, format_hex, parse_hex
from mrv_core.errors import ChainError, DocumentTooLarge, FormatError, MethodologyError
from mrv_core.reading import validate_site_path

from ..access import ACCESS_STATUSES, Principal, Role, VisibleEnterprises, require
from ..bodies import model_request_body, read_body, read_model
from ..db.models import ReportRow, as_utc
from ..errors import ReportRefused
from ..problems import problem_response, problem_responses
from .activity_routes import EnterpriseAdmin, EnterpriseReader, serve_db
from .create import create_report
from .store import report_row, reports, statements_of, store_statement

if TYPE_CHECKING:
    from ..app import Services

__all__ = ["Figures", "add_report_routes"]

_BYTES32 = r"^0x[0-9a-f]{64}$"
#: ``(session, enterprise, site path or None, start, end)`` -> the measured figures of the
#: plan's meters (``ledger_api.recompute.meter_figures``; each with its ``leaves``).
Figures = Callable[[Session, bytes, str | None, int, int], Sequence[Any]]
Regulator = Annotated[Principal, require(Role.REGULATOR)]


class ReportBody(BaseModel):
    """What to report: a site (``null``: the whole enterprise), a calendar period (``2026``,
    ``2026-10``, ``2026-10-15``, ``2026-10-15T08``) of a zone, a methodology id, and the report
    hash this one corrects (``null``: none)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    site: str | None = Field(max_length=256)
    period: str = Field(max_length=16)
    zone: str = Field(default="Asia/Shanghai", max_length=64)
    methodology: str = Field(min_length=1, max_length=32)
    supersedes: str | None = Field(default=None, pattern=_BYTES32)


class ReportSummary(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    reportHash: str
    documentHash: str
    enterprise: str
    site: str | None
    periodStart: int
    periodEnd: int
    methodology: str
    methodologyVersion: int
    supersedes: str | None
    createdAt: datetime


class ReportList(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    reports: list[ReportSummary]


class AttestationModel(BaseModel):
    """An attestation on chain and, when posted, its statement."""

    model_config = ConfigDict(extra="forbid", strict=True)
    regulator: str
    verdict: Literal["Accepted", "Qualified", "Rejected"]
    avr: str
    attestedAt: int
    statementHash: str
    statement: dict[str, Any] | None


class ChainStatus(BaseModel):
    """What the ReportRegistry holds for the report (``submitted`` false: nothing yet)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    submitted: bool
    block: int | None
    submittedAt: int | None
    supersededBy: str | None
    attestations: list[AttestationModel]


class ReportDetail(ReportSummary):
    """A report and its on-chain status (``chain`` ``null`` when this ledger runs without a
    chain)."""

    chain: ChainStatus | None


def summary(row: ReportRow) -> dict[str, Any]:
    return dict(reportHash=format_hex(row.report_hash), documentHash=format_hex(row.document_hash),
                enterprise=format_address(row.enterprise), site=row.site_path,
                periodStart=row.period_start, periodEnd=row.period_end,
                methodology=row.methodology, methodologyVersion=row.methodology_version,
                supersedes=None if row.supersedes is None else format_hex(row.supersedes),
                createdAt=as_utc(row.created_at))


def chain_status(status: ReportStatus | None, statements: dict[bytes, Any]) -> ChainStatus:
    if status is None:
        return ChainStatus(submitted=False, block=None, submittedAt=None, supersededBy=None,
                           attestations=[])
    return ChainStatus(
        submitted=True, block=status.submitted_block, submittedAt=status.submitted_at,
        supersededBy=None if status.superseded_by is None else format_hex(status.superseded_by),
        attestations=[AttestationModel(
            regulator=format_address(a.regulator),
            verdict=cast(Literal["Accepted", "Qualified", "Rejected"], a.verdict.label),
            avr=AVR[a.verdict], attestedAt=a.attested_at,
            statementHash=format_hex(a.statement_hash),
            statement=None if a.statement_hash not in statements
            else encode_statement(statements[a.statement_hash])) for a in status.attestations])


def add_report_routes(app: FastAPI, services: Services, figures: Figures | None = None) -> None:
    """Add the report routes to ``app``; ``POST /v1/reports`` only with ``figures``."""

    if figures is not None:
        source = figures
        from .bundle_route import add_bundle_route  # it reads the evidence through figures too

        add_bundle_route(app, services, figures)

        @app.post("/v1/reports", status_code=201, tags=["reports"],
                  responses=problem_responses(*ACCESS_STATUSES, 409, 413, 422, 503),
                  openapi_extra=model_request_body(ReportBody))
        async def make_report(principal: EnterpriseAdmin, request: Request) -> Response:
            """Build and keep the report of your enterprise's site and period: its hash and
            document (submit it with ``mrv report submit``). 409 ``evidence`` while a reading
            that proves a meter's evidence complete (the one after the period end) is not
            delivered yet."""
            body = await read_model(request, ReportBody)
            system = services.system
            if system is None:
                return problem_response(503, "unavailable", "this ledger runs without a chain: "
                                        "the methodology in force cannot be resolved")
            try:
                period = report_period(body.period, body.zone)
            except InvalidPeriodSpec as exc:
                raise ReportRefused(422, "period", str(exc), path="$.period") from None
            try:
                latest = await run_in_threadpool(system.chain.latest_timestamp)
            except ChainError:
                return problem_response(503, "unavailable", "the chain cannot be read now",
                                        headers={"Retry-After": "5"})
            if period.end > latest:
                raise ReportRefused(422, "period", f"{body.period} ends at {period.end}, after "
                                    f"the chain's latest block ({latest}): reports cover "
                                    "closed periods", path="$.period")
            if body.site is not None:
                try:
                    validate_site_path(body.site)
                except ValueError as exc:
                    raise ReportRefused(422, "format", str(exc), path="$.site") from None
            enterprise = principal.enterprise
            assert enterprise is not None
            now = datetime.now(UTC)

            def run(session: Session) -> dict[str, Any]:
                try:
                    found = list(source(session, enterprise, body.site, period.start,
                                        period.end))
                except (MethodologyError, ValueError) as exc:  # a counter history refused
                    raise ReportRefused(422, "report", str(exc)) from None
                unproven = [m for figure in found for m in getattr(figure, "unproven", ())]
                if unproven:
                    raise ReportRefused(409, "evidence", unproven[0] + (
                        f" (and {len(unproven) - 1} more)" if len(unproven) > 1 else ""))
                measured: list[MeterFigureLike] = found
                doc = create_report(
                    session, system, enterprise=enterprise, site_path=body.site, period=period,
                    methodology_id=body.methodology, figures=measured,
                    leaves=[leaf for figure in found for leaf in figure.leaves],
                    supersedes=ZERO32 if body.supersedes is None
                    else parse_hex(body.supersedes, 32), created_by=principal.id, now=now)
                row = report_row(session, report_hash(doc), frozenset({enterprise}))
                return {**summary(row), "createdAt": as_utc(row.created_at).isoformat(),
                        "document": encode_report(doc)}

            done = await serve_db(services, run, write=True)
            return done if isinstance(done, JSONResponse) else JSONResponse(done, 201)

    @app.get("/v1/reports", response_model=ReportList, tags=["reports"],
             responses=problem_responses(*ACCESS_STATUSES, 422))
    async def list_reports(_principal: EnterpriseReader, visible: VisibleEnterprises,
                           site: Annotated[str | None, Query(max_length=256)] = None,
                           ) -> ReportList | JSONResponse:
        """The reports of the enterprises you see (of one site), newest period first."""
        return await serve_db(services, lambda s: ReportList(reports=[
            ReportSummary(**summary(row)) for row in reports(s, visible, site_path=site)]))

    @app.get("/v1/reports/{digest}", response_model=ReportDetail, tags=["reports"],
             responses=problem_responses(*ACCESS_STATUSES, 404, 422, 503))
    async def get_report(_principal: EnterpriseReader, visible: VisibleEnterprises,
                         digest: Annotated[str, Path(pattern=_BYTES32)],
                         ) -> ReportDetail | JSONResponse:
        """A report with its on-chain status and attestations (their statements when
        posted)."""
        key = parse_hex(digest, 32)
        done = await serve_db(services, lambda s: (summary(report_row(s, key, visible)),
                                                   statements_of(s, key)))
        if isinstance(done, JSONResponse):
            return done
        held, statements = done
        chain = None
        if services.system is not None:
            try:
                status = await run_in_threadpool(read_report, services.system, key)
            except ChainError:
                return problem_response(503, "unavailable", "the chain cannot be read now",
                                        headers={"Retry-After": "5"})
            chain = chain_status(status, statements)
        return ReportDetail(**held, chain=chain)

    @app.get("/v1/reports/{digest}/document", tags=["reports"], response_class=Response,
             responses={200: {"content": {"application/json": {}}},
                        **problem_responses(*ACCESS_STATUSES, 404, 422)})
    async def get_document(_principal: EnterpriseReader, visible: VisibleEnterprises,
                           digest: Annotated[str, Path(pattern=_BYTES32)]) -> Response:
        """The report's ``trustmrv-report/1`` document, its canonical bytes (keccak256 of them
        is the Report's ``document``)."""
        key = parse_hex(digest, 32)
        done = await serve_db(services, lambda s: report_row(s, key, visible).document)
        if isinstance(done, JSONResponse):
            return done
        return Response(done.encode("utf-8"), media_type="application/json")

    @app.post("/v1/reports/{digest}/attestations", tags=["reports"], status_code=201,
              responses=problem_responses(*ACCESS_STATUSES, 400, 404, 409, 413, 422, 503),
              openapi_extra={"requestBody": {"required": True, "content": {
                  "application/json": {"schema": {"type": "object", "description":
                                                  "a trustmrv-attestation/1 statement"}}}}})
    async def post_statement(_principal: Regulator, visible: VisibleEnterprises,
                             request: Request,
                             digest: Annotated[str, Path(pattern=_BYTES32)]) -> Response:
        """Keep your attestation statement of a report of an enterprise granted to you, once
        the chain holds your attestation with its hash."""
        key = parse_hex(digest, 32)
        try:
            statement = loads_statement(await read_body(request, MAX_STATEMENT_BYTES))
        except DocumentTooLarge as exc:
            raise ReportRefused(413, "too_large", exc.problem) from None
        except FormatError as exc:
            raise ReportRefused(422, "format", exc.problem, path=exc.where) from None
        try:
            check_entered_text(statement.comments, "$.comments", MAX_COMMENTS, empty=True,
                               lines=True)
        except FormatError as exc:
            raise ReportRefused(422, "format", str(exc), path=exc.where) from None
        if statement.report != key:
            raise ReportRefused(422, "format", f"the statement is about report "
                                f"{format_hex(statement.report)}, not {digest}",
                                path="$.report")
        held = await serve_db(services, lambda s: report_row(s, key, visible).report_hash)
        if isinstance(held, JSONResponse):
            return held
        system = services.system
        if system is None:
            return problem_response(503, "unavailable", "this ledger runs without a chain: "
                                    "the attestation cannot be checked")
        try:
            status = await run_in_threadpool(read_report, system, key)
        except ChainError:
            return problem_response(503, "unavailable", "the chain cannot be read now",
                                    headers={"Retry-After": "5"})
        on_chain = [] if status is None else [(a.regulator, a.statement_hash, a.verdict)
                                              for a in status.attestations]
        now = datetime.now(UTC)
        done = await serve_db(services, lambda s: store_statement(s, statement, on_chain,
                                                                  now=now)[1], write=True)
        if isinstance(done, JSONResponse):
            return done
        return JSONResponse(encode_statement(statement), status_code=201 if done else 200)
