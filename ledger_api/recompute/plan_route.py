"""``PUT /v1/plan`` and ``GET /v1/plan``: an enterprise's monitoring plan
(:mod:`ledger_api.recompute.plan`, docs/api.md "Monitoring plan and recompute").

- ``PUT /v1/plan?enterprise=0x..`` (``enterprise_admin`` of that enterprise only: 403 ``role``
  for every other role, 403 ``scope`` for another enterprise): the body
  ``{"points": [{"meterPath", "source", "quantity", "counterModulus", "maxRate"}]}`` replaces
  the enterprise's plan whole (``[]`` clears it). The body is read after the key check, bounded
  and strict (``ledger_api.bodies``: 413, 400, 422 ``format``); a line the plan rules refuse is
  422 ``plan`` and a first level another enterprise's plan holds 409 ``plan``, with the JSON
  path. The answer is the stored plan.
- ``GET /v1/plan?enterprise=0x..&site=`` (the enterprise's principals and the regulators it
  granted: 403 ``scope`` otherwise): the plan (under the site ``enterprise/site`` when given),
  with when and by whom it was set.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, TypeVar

from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from mrv_core.codec import format_address, parse_address
from mrv_core.errors import DecodeError, InvalidMeterPath

from ..access import (
    ACCESS_STATUSES,
    Data,
    Principal,
    Role,
    VisibleEnterprises,
    check_visible,
    require,
    roles_seeing,
)
from ..bodies import model_request_body, read_model
from ..errors import RequestRefused
from ..problems import problem_response, problem_responses
from .plan import MAX_PLAN_POINTS, StoredPlan, check_plan, encode_point, replace_plan, stored_plan

__all__ = ["PLAN_PATH", "PlanBody", "PlanModel", "add_plan_routes", "plan_model"]

PLAN_PATH = "/v1/plan"
_ADDRESS = r"^0x[0-9a-fA-F]{40}$"
T = TypeVar("T")


class PlanPointModel(BaseModel):
    """One plan line; integers are decimal strings (docs/protocol.md 1.3)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    meterPath: str = Field(max_length=256, description="ISA-95 meter path, five levels")
    source: str = Field(max_length=32, description="emission source code (electricity.grid)")
    quantity: str = Field(max_length=32, description="cumulative quantity code in the "
                                                     "source's unit (energy.active.import:Wh)")
    counterModulus: str | None = Field(max_length=78, description="where the counter wraps "
                                       "(decimal, in the quantity's unit); null: never")
    maxRate: str | None = Field(max_length=160, description="\"num/den\" quantity units per "
                                "second a wrapped increase may reach; null: 0")


class PlanBody(BaseModel):
    """A whole monitoring plan (it replaces the enterprise's)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    points: list[PlanPointModel] = Field(max_length=MAX_PLAN_POINTS)


class PlanModel(BaseModel):
    """An enterprise's stored plan, with when and by whom it was last set (null: no plan)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    enterprise: str
    points: list[PlanPointModel]
    updatedAt: datetime | None
    updatedBy: str | None


def plan_model(enterprise: bytes, plan: StoredPlan) -> PlanModel:
    """The API's view of a stored plan (also ``mrv api plan show --json``)."""
    return PlanModel(enterprise=format_address(enterprise),
                     points=[PlanPointModel.model_validate(encode_point(p))
                             for p in plan.points],
                     updatedAt=plan.updated_at, updatedBy=plan.updated_by)


def _enterprise(text: str) -> bytes:
    try:
        return parse_address(text, field="enterprise")
    except DecodeError as exc:  # mixed case with a wrong EIP-55 checksum
        raise RequestRefused(422, "format", str(exc), path="$.query.enterprise") from None


async def _in_thread(run: Callable[[], T]) -> T | JSONResponse:
    try:
        return await run_in_threadpool(run)
    except RequestRefused as exc:
        return problem_response(exc.status, exc.check, exc.detail, path=exc.path)
    except OperationalError:
        return problem_response(503, "unavailable", "the database is busy or unreachable; "
                                                    "try again later",
                                headers={"Retry-After": "5"})


def add_plan_routes(app: FastAPI, sessions: sessionmaker[Session],
                    readers: sessionmaker[Session]) -> None:
    """Add ``PUT`` and ``GET /v1/plan`` to ``app``: writes in ``sessions``' transactions,
    reads in ``readers``'."""

    @app.put(PLAN_PATH, response_model=PlanModel, tags=["recompute"],
             responses=problem_responses(*ACCESS_STATUSES, 400, 409, 413, 422),
             openapi_extra=model_request_body(PlanBody))
    async def put_plan(principal: Annotated[Principal, require(Role.ENTERPRISE_ADMIN)],
                       request: Request,
                       enterprise: Annotated[str, Query(pattern=_ADDRESS)]
                       ) -> PlanModel | JSONResponse:
        """Replace your enterprise's monitoring plan."""
        address = _enterprise(enterprise)
        assert principal.enterprise is not None  # an enterprise_admin acts for one
        check_visible(frozenset({principal.enterprise}), address)
        body = await read_model(request, PlanBody)  # after the key check, strictly
        lines = [line.model_dump() for line in body.points]

        def run() -> PlanModel:
            points = check_plan(lines)
            with sessions.begin() as session:
                replace_plan(session, address, points, actor=f"principal {principal.id}",
                             now=datetime.now(UTC))
                return plan_model(address, stored_plan(session, address))

        return await _in_thread(run)

    @app.get(PLAN_PATH, response_model=PlanModel, tags=["recompute"],
             responses=problem_responses(*ACCESS_STATUSES, 400, 422))
    async def get_plan(_principal: Annotated[Principal, require(*roles_seeing(Data.ENTERPRISE))],
                       visible: VisibleEnterprises,
                       enterprise: Annotated[str, Query(pattern=_ADDRESS)],
                       site: Annotated[str | None, Query(max_length=256, description=
                                                         "enterprise/site")] = None
                       ) -> PlanModel | JSONResponse:
        """An enterprise's monitoring plan (under a site, when given)."""
        address = _enterprise(enterprise)
        check_visible(visible, address)

        def run() -> PlanModel:
            with readers() as session:
                try:
                    plan = stored_plan(session, address, site)
                except InvalidMeterPath as exc:
                    raise RequestRefused(400, "site", str(exc), path="$.query.site") from None
                return plan_model(address, plan)

        return await _in_thread(run)
