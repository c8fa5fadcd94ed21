"""``GET /v1/emissions``: a site's recomputed emissions per calendar period, meter, source and
scope, optionally with the discrepancies against the devices' signed summaries (docs/api.md,
"Monitoring plan and recompute").

``site`` (``enterprise/site``) names the plan: its first level belongs to one enterprise's plan
(``ledger_api.recompute.plan``), whose principals and granted regulators may ask (403
``scope`` otherwise; 404 ``plan`` when no plan has a point there). ``from``/``to`` (Unix
seconds) bound the calendar periods of ``granularity`` (hour, day, month, year) in ``zone``
(IANA, Beijing by default) lying wholly inside (400 ``period`` when none, or more than
:data:`MAX_FIGURES` figures asked). ``methodology`` computes every source with one id (an
enterprise methodology), else each source's by the mapping rule. The versions in force come
from the chain's MethodologyRegistry, read and audited once and cached
(:class:`VersionCache`); without a chain, or when it cannot be read, 503.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Annotated, Literal

from fastapi import FastAPI, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from accounting_rules.counters import CounterReading
from accounting_rules.errors import InvalidPeriodSpec
from accounting_rules.periods import BEIJING_ZONE, calendar_periods
from accounting_rules.registry import methodologies
from accounting_rules.versions import InForce, MethodologyVersions
from mrv_core.chain import System
from mrv_core.codec import UINT64_MAX, format_address, format_hex
from mrv_core.errors import ChainError, InvalidMeterPath
from mrv_core.reading import validate_site_path

from ..access import (
    ACCESS_STATUSES,
    Data,
    Principal,
    VisibleEnterprises,
    check_visible,
    require,
    roles_seeing,
)
from ..db.models import PlanPointRow
from ..errors import RecomputeRefused, RequestRefused
from ..problems import problem_response, problem_responses
from ..queries import under_path
from .discrepancies import Discrepancy, summary_discrepancies
from .emissions import MeterEmission, PeriodEmissions, period_emissions
from .figures import meter_figures, plan_counters
from .plan import load_plan

if TYPE_CHECKING:  # app.py adds these routes: imported for the annotations only
    from ..app import Services

__all__ = ["EMISSIONS_PATH", "MAX_FIGURES", "VersionCache", "add_emissions_routes"]

EMISSIONS_PATH = "/v1/emissions"
#: The most (period x counter) figures one request may ask: a month of days for 1,000 meters.
MAX_FIGURES = 31_000
#: Seconds a read of the registry is used for periods it already covers before reading again.
REFRESH_AFTER_S = 60.0


class VersionCache:
    """The MethodologyRegistry's versions of every shipped methodology id, read from
    ``system`` and audited once per version (``accounting_rules.versions``), read again when a
    period starts after the last read's block or after :data:`REFRESH_AFTER_S`."""

    def __init__(self, system: System) -> None:
        self.system = system
        self.versions = MethodologyVersions(sorted({i for i, _ in methodologies()}))
        self._read_at = -REFRESH_AFTER_S
        self._lock = threading.Lock()

    def for_periods(self, latest_start: int) -> MethodologyVersions:
        """The versions, final for every period starting at or before ``latest_start`` that
        the chain has reached. Raises ``ChainError`` when the chain cannot be read."""
        with self._lock:
            stale = time.monotonic() - self._read_at > REFRESH_AFTER_S
            if stale or self.versions.as_of < latest_start:
                self.versions.refresh(self.system)
                self._read_at = time.monotonic()
        return self.versions

    def in_force(self, methodology_id: str, timestamp: int) -> InForce | None:
        return self.versions.in_force(methodology_id, timestamp)


class ReadingModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    seq: str
    timestamp: str
    value: str


class MethodologyModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    id: str
    version: str
    address: str


class MeterModel(BaseModel):
    """One counter's figure and emissions; integers as decimal strings."""

    model_config = ConfigDict(extra="forbid", strict=True)
    meterPath: str
    device: str
    meter: str
    source: str
    quantity: str
    scope: str
    activity: str
    grams: str
    methodology: MethodologyModel
    startReading: ReadingModel | None
    endReading: ReadingModel | None
    readings: str
    gapRecords: str
    bridgedSteps: str
    bridgedSeconds: str
    rollovers: str
    meterChanges: str
    unexplainedDecreases: str


class SourceModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    site: str
    source: str
    quantity: str
    scope: str
    activity: str
    grams: str
    methodology: MethodologyModel


class DiscrepancyModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    scope: Literal["meter", "site", "report"]
    path: str
    device: str
    source: str
    ledger: dict[str, str | None]
    stated: dict[str, str | None]
    difference: dict[str, str | None]
    detail: str
    readings: list[dict[str, str]]
    leaves: list[dict[str, str]]


class PeriodModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    start: str
    end: str
    scope1: str
    scope2: str
    total: str
    sources: list[SourceModel]
    meters: list[MeterModel]
    discrepancies: list[DiscrepancyModel] | None


class EmissionsModel(BaseModel):
    """A site's recomputed emissions by period (docs/api.md)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    enterprise: str
    site: str
    zone: str
    granularity: str
    periods: list[PeriodModel]


def _reading(reading: CounterReading | None) -> ReadingModel | None:
    if reading is None:
        return None
    return ReadingModel(seq=str(reading.seq), timestamp=str(reading.timestamp),
                        value=str(reading.value))


def _methodology(m: MeterEmission) -> MethodologyModel:
    used = m.methodology
    return MethodologyModel(id=used.methodology_id, version=str(used.version),
                            address=used.address)


def _text(value: int | None) -> str | None:
    return None if value is None else str(value)


def discrepancy_model(d: Discrepancy) -> DiscrepancyModel:
    """The API's view of a :class:`Discrepancy`."""
    return DiscrepancyModel(
        scope=d.scope, path=d.path, device=format_address(d.device), source=d.source,
        ledger={"activity": _text(d.ledger_activity), "grams": _text(d.ledger_grams)},
        stated={"activity": _text(d.stated_activity), "grams": _text(d.stated_grams)},
        difference={"activity": _text(d.activity_difference),
                    "grams": _text(d.grams_difference)},
        detail=d.detail,
        readings=[{"device": format_address(r.reading.device), "meter": format_hex(
            r.reading.meter), "seq": str(r.reading.seq), "timestamp": str(r.reading.timestamp),
            "value": str(r.reading.value)} for r in d.readings],
        leaves=[{"device": format_address(device), "position": str(position)}
                for device, position in d.leaves])


def period_model(period: PeriodEmissions, found: list[Discrepancy] | None) -> PeriodModel:
    """The API's view of one period's emissions."""
    return PeriodModel(
        start=str(period.start), end=str(period.end), scope1=str(period.scope1),
        scope2=str(period.scope2), total=str(period.total),
        sources=[SourceModel(site=s.site, source=s.source, quantity=s.quantity,
                             scope=str(s.scope), activity=str(s.activity), grams=str(s.grams),
                             methodology=MethodologyModel(
                                 id=s.methodology.methodology_id,
                                 version=str(s.methodology.version),
                                 address=s.methodology.address)) for s in period.sites],
        meters=[MeterModel(
            meterPath=m.figure.point.meter_path, device=format_address(m.figure.device),
            meter=format_hex(m.figure.meter), source=m.figure.point.source,
            quantity=m.figure.point.quantity, scope=str(m.scope),
            activity=str(m.figure.energy.energy), grams=str(m.grams),
            methodology=_methodology(m), startReading=_reading(m.figure.energy.start_reading),
            endReading=_reading(m.figure.energy.end_reading),
            readings=str(m.figure.energy.reading_count),
            gapRecords=str(m.figure.energy.gap_count),
            bridgedSteps=str(m.figure.bridged_steps),
            bridgedSeconds=str(m.figure.bridged_seconds),
            rollovers=str(m.figure.energy.rollovers),
            meterChanges=str(m.figure.energy.meter_changes),
            unexplainedDecreases=str(m.figure.energy.unexplained_decreases))
            for m in period.meters],
        discrepancies=None if found is None else [discrepancy_model(d) for d in found])


def _owner(session: Session, site: str) -> bytes:
    """The enterprise whose plan has points under ``site``; 404 ``plan`` when none."""
    try:
        validate_site_path(site)
    except InvalidMeterPath as exc:
        raise RequestRefused(400, "site", str(exc), path="$.query.site") from None
    owner = session.scalar(select(PlanPointRow.enterprise)
                           .where(under_path(PlanPointRow.meter_path, site)).limit(1))
    if owner is None:
        raise RecomputeRefused(404, "plan", f"no monitoring plan has a point under {site}")
    return owner


def add_emissions_routes(app: FastAPI, services: Services) -> None:
    """Add ``GET /v1/emissions`` to ``app``, serving ``services``."""
    cache: list[VersionCache] = []

    @app.get(EMISSIONS_PATH, response_model=EmissionsModel, tags=["recompute"],
             responses=problem_responses(*ACCESS_STATUSES, 400, 404, 409, 422, 503))
    async def emissions(
        _principal: Annotated[Principal, require(*roles_seeing(Data.ENTERPRISE))],
        visible: VisibleEnterprises,
        site: Annotated[str, Query(max_length=256, description="enterprise/site")],
        from_: Annotated[int, Query(alias="from", ge=0, le=UINT64_MAX)],
        to: Annotated[int, Query(ge=0, le=UINT64_MAX)],
        granularity: Literal["hour", "day", "month", "year"] = "day",
        zone: Annotated[str, Query(max_length=64)] = BEIJING_ZONE,
        methodology: Annotated[str | None, Query(max_length=32, description="one methodology "
                                                 "id for every source")] = None,
        discrepancies: bool = False,
    ) -> EmissionsModel | JSONResponse:
        """A site's recomputed emissions per period, meter, source and scope."""
        system = services.system
        if system is None:
            return problem_response(503, "unavailable", "this ledger runs without a chain: no "
                                                        "methodology version can be resolved",
                                    headers={"Retry-After": "5"})
        if not cache:
            cache.append(VersionCache(system))

        def run() -> EmissionsModel:
            with services.readers() as session:
                enterprise = _owner(session, site)  # access first: no period work for others
                check_visible(visible, enterprise)
                try:
                    periods = calendar_periods(from_, to, granularity, zone)
                except InvalidPeriodSpec as exc:
                    raise RecomputeRefused(400, "period", str(exc)) from None
                if not periods:
                    raise RecomputeRefused(400, "period", f"no whole {granularity} of {zone} "
                                                          f"lies in [{from_}, {to})")
                counters = len(plan_counters(session, enterprise,
                                             load_plan(session, enterprise, site)))
                if counters * len(periods) > MAX_FIGURES:
                    raise RecomputeRefused(400, "period", f"{len(periods)} periods x "
                                                          f"{counters} counters is more than "
                                                          f"{MAX_FIGURES} figures: ask less")
                versions = cache[0].for_periods(periods[-1][0])
                out = []
                for start, end in periods:
                    figures = meter_figures(session, enterprise, site, start, end)
                    period = period_emissions(figures, start, end, versions, methodology)
                    found = summary_discrepancies(session, period, versions) \
                        if discrepancies else None
                    out.append(period_model(period, found))
            return EmissionsModel(enterprise=format_address(enterprise), site=site, zone=zone,
                                  granularity=granularity, periods=out)

        try:
            return await run_in_threadpool(run)
        except RequestRefused as exc:
            return problem_response(exc.status, exc.check, exc.detail, path=exc.path)
        except ChainError as exc:
            return problem_response(503, "unavailable", f"the chain cannot be read now: "
                                                        f"{str(exc)[:300]}",
                                    headers={"Retry-After": "5"})
