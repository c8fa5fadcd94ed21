"""The ledger API as a FastAPI application, built by :func:`create_app` from its
:class:`Services` (nothing is configured at import time).

Routes of this module: ``POST /v1/uplink`` (the edge node's uplink, docs/protocol.md 10),
``GET /healthz`` (the process answers), ``GET /readyz`` (the database is at the code's schema
and, when configured, the chain answers) and ``GET /metrics`` (Prometheus); ``GET /v1/devices``
comes from :mod:`ledger_api.devices_route`, ``POST /v1/retention/purge`` from
:mod:`ledger_api.retention_route`. Every error is an RFC 9457 problem document
(:mod:`ledger_api.problems`), declared in the OpenAPI document.

Every route declares its access rule (:mod:`ledger_api.access`): ``/healthz`` and ``/readyz``
are public, the uplink is authenticated by its items' device signatures, ``/metrics`` needs a
principal of a role that sees operations data unless ``public_metrics``, and
:func:`create_app` refuses (``ApiConfigError``) an application with a route that declares none.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import structlog
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from pydantic import BaseModel, ConfigDict
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from mrv_core.chain import System
from mrv_core.codec import format_address
from mrv_core.eip712 import Domain
from mrv_core.errors import (
    ChainError,
    DocumentTooLarge,
    FormatError,
    UnsupportedEncoding,
)
from mrv_core.uplink import LIMITS, UPLINK_PATH, Status, decode_request, encode_ack

from .access import DEVICE_SIGNATURE, PUBLIC, Authenticator, Data, Rule, declare, roles_seeing
from .access.dependencies import ACCESS_STATUSES, check_route_rules
from .access.device_tls import certified_device, check_certified
from .access_log import AccessLog, note_device
from .bodies import read_body
from .chain.watcher import ChainWatcher
from .db.engine import make_readers
from .db.migrate import check_current
from .devices_route import add_device_routes
from .errors import AccessRefused, ApiConfigError, IngestRefused, RequestRefused
from .ingest.service import Devices, ingest
from .problems import problem_response, problem_responses
from .read_routes import add_read_routes
from .recompute.emissions_route import add_emissions_routes
from .recompute.plan_route import add_plan_routes
from .reports.activity_routes import add_activity_routes
from .reports.report_routes import Figures, add_report_routes
from .retention import DEFAULT_RETENTION_YEARS
from .retention_route import add_retention_routes

__all__ = ["ApiMetrics", "Services", "create_app"]

_log: Any = structlog.get_logger("ledger_api")


class ApiMetrics:
    """The API's Prometheus metrics, in a registry of its own (one per application)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.items = Counter("mrv_api_uplink_items", "Uplink items by kind and verdict",
                             ["kind", "status"], registry=self.registry)
        self.requests = Counter("mrv_api_uplink_requests", "Uplink requests by HTTP status",
                                ["status"], registry=self.registry)
        self.ingest_seconds = Histogram("mrv_api_ingest_seconds",
                                        "Time to verify and store one uplink request",
                                        registry=self.registry)
        # The chain watcher (ledger_api.chain.watcher).
        self.watcher_cursor_block = Gauge("mrv_api_watcher_cursor_block",
                                          "The last block the chain watcher processed",
                                          registry=self.registry)
        self.watcher_lag_blocks = Gauge("mrv_api_watcher_lag_blocks",
                                        "Blocks between the chain's head and the watcher's "
                                        "cursor at its last poll", registry=self.registry)
        self.watcher_last_poll_age = Gauge("mrv_api_watcher_last_poll_age_seconds",
                                           "Seconds since the watcher's last successful poll "
                                           "(-1: none yet)", registry=self.registry)
        self.watcher_last_poll_age.set(-1)
        self.watcher_polls = Counter("mrv_api_watcher_polls", "Successful watcher polls",
                                     registry=self.registry)
        self.watcher_poll_errors = Counter("mrv_api_watcher_poll_errors",
                                           "Watcher polls that failed (retried with backoff)",
                                           ["error"], registry=self.registry)
        self.watcher_anchors = Counter("mrv_api_watcher_anchors",
                                       "BatchAnchored events the watcher stored",
                                       registry=self.registry)
        self.watcher_orphaned = Counter("mrv_api_watcher_orphaned",
                                        "Events whose block a reorganisation removed",
                                        registry=self.registry)
        self.watcher_mismatches = Counter("mrv_api_watcher_mismatches",
                                          "Batches whose anchor carries another header "
                                          "(root, leaf count or time span) than the one held",
                                          registry=self.registry)


@dataclass
class Services:
    """What the routes use: the database, and the chain's view (``None`` when the API runs
    without a chain: ingest then answers 503)."""

    engine: Engine
    sessions: sessionmaker[Session]
    devices: Devices | None = None
    domain: Domain | None = None
    metrics: ApiMetrics | None = None
    #: Called before each ingest to bring the device directory up to date, where no chain
    #: watcher does it at each poll (the served API has one); may raise ChainError.
    refresh: Callable[[], None] | None = None
    #: The deployment on its chain (``None``: no chain): anchors of proofs, bundle verdicts.
    system: System | None = None
    #: The chain watcher running in the background (``None``: no chain); stopped when the
    #: application shuts down.
    watcher: ChainWatcher | None = None
    #: ``/readyz`` answers 503 when the watcher's last successful poll is older (seconds).
    watcher_stale_after_s: float = 60.0

    def close(self) -> None:
        """Stop the watcher and close the database's connections."""
        if self.watcher is not None:
            self.watcher.stop()
        self.engine.dispose()

    #: The server secret API keys are checked under (``MRV_API_SECRET``); ``None``: every key
    #: is refused (``mrv api serve`` refuses to start without one).
    api_secret: bytes | None = None
    #: ``/metrics`` answers without a key.
    public_metrics: bool = False
    #: The uplink needs a verified TLS client certificate binding the request's device
    #: (``--client-ca``; ``ledger_api.access.device_tls``).
    require_client_certificate: bool = False
    #: The minimum retention purges keep (years, ``MRV_RETENTION_YEARS``;
    #: ``ledger_api.retention``).
    retention_years: int = DEFAULT_RETENTION_YEARS
    #: The measured figures of a site and period (``ledger_api.recompute.meter_figures``);
    #: ``POST /v1/reports`` exists only with it (``ledger_api.reports.report_routes``).
    figures: Figures | None = None
    #: Sessions of the read routes and key checks (``db.engine.make_readers``: on SQLite they
    #: never queue behind an ingest for the write lock).
    readers: sessionmaker[Session] = field(init=False)

    def __post_init__(self) -> None:
        self.readers = make_readers(self.engine)


class Health(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["ok"]


class Readiness(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["ready"]
    database: str
    chain: str
    #: ``not configured``, ``starting`` (no poll succeeded yet) or ``ok``.
    watcher: str
    #: Milliseconds since the chain watcher's last successful poll (``None``: none yet).
    watcher_last_poll_age_ms: int | None


class VerdictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    status: Literal["accepted", "duplicate", "conflict", "rejected"]
    reason: str | None


class AckModel(BaseModel):
    """``trustmrv-uplink-ack/1`` (docs/protocol.md 10.3), for the OpenAPI document."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    format: Literal["trustmrv-uplink-ack/1"]
    device: str
    readings: list[VerdictModel]
    gaps: list[VerdictModel]
    meterChanges: list[VerdictModel]
    summaries: list[VerdictModel]
    batches: list[VerdictModel]


def get_services(request: Request) -> Services:
    """The application's :class:`Services` (a FastAPI dependency)."""
    return request.app.state.services  # type: ignore[no-any-return]


ServicesDep = Annotated[Services, Depends(get_services)]


def create_app(services: Services) -> FastAPI:
    """The application serving ``services``."""
    metrics = services.metrics or ApiMetrics()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        if services.watcher is not None:
            await run_in_threadpool(services.watcher.stop)

    app = FastAPI(title="TrustMRV ledger API", version="1",
                  description="Stores and re-verifies what edge nodes signed; see "
                              "docs/api.md and docs/protocol.md.",
                  responses=problem_responses(404, 405), lifespan=lifespan)
    app.state.services = services
    app.add_middleware(AccessLog)
    app.state.authenticator = Authenticator(services.readers, services.api_secret)

    @app.exception_handler(AccessRefused)
    async def _access_problem(request: Request, exc: AccessRefused) -> JSONResponse:
        headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'
                   if request.headers.get("authorization") else "Bearer"} \
            if exc.status == 401 else _RETRY if exc.status == 503 else None
        return problem_response(exc.status, exc.check, exc.detail, headers=headers)

    @app.exception_handler(RequestRefused)
    async def _refused_problem(request: Request, exc: RequestRefused) -> JSONResponse:
        return problem_response(exc.status, exc.check, exc.detail, path=exc.path)

    @app.exception_handler(StarletteHTTPException)
    async def _http_problem(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        check = {404: "not_found", 405: "method"}.get(exc.status_code, "http")
        return problem_response(exc.status_code, check, str(exc.detail),
                                headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _validation_problem(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        where = "$." + ".".join(str(p) for p in first.get("loc", ()))
        return problem_response(422, "format", str(first.get("msg")), path=where)

    @app.get("/healthz", response_model=Health, tags=["operations"],
             dependencies=[declare(PUBLIC)])
    def healthz() -> Health:
        """The process answers (liveness)."""
        return Health(status="ok")

    @app.get("/readyz", response_model=Readiness, tags=["operations"],
             responses=problem_responses(503), dependencies=[declare(PUBLIC)])
    def readyz(services: ServicesDep) -> Readiness | JSONResponse:
        """The database answers at this code's schema, the chain answers if configured, and the
        chain watcher runs and polled successfully within ``watcher_stale_after_s``."""
        try:
            with services.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            check_current(services.engine)
        except ApiConfigError as exc:  # the schema: names revisions and the command only
            return problem_response(503, "unavailable", f"database: {exc}")
        except OperationalError as exc:  # may name hosts and users: the log, not the caller
            _log.warning("not_ready", part="database", error=str(exc)[:300])
            return problem_response(503, "unavailable", "database: not reachable (the error "
                                                        "is in the log)")
        # The chain is judged by the watcher's polls, never by a read per /readyz hit: a
        # public probe must not turn into load on the node (or hang while it is down).
        chain = "not configured" if services.system is None else "ok"
        watcher, age_ms = "not configured", None
        if services.watcher is not None:
            state = services.watcher.status()
            if state.stopped_by is not None or not state.running:
                return problem_response(503, "unavailable", "chain watcher stopped: "
                                        f"{state.stopped_by or 'not running'}")
            age = state.last_success_age_s
            if age is not None and age > services.watcher_stale_after_s:
                _log.warning("not_ready", part="chain watcher", error=str(state.last_error)[:300])
                why = "no poll has failed yet: one is waiting on the node" \
                    if state.last_error is None else \
                    f"last error {str(state.last_error).split(':', 1)[0]} (details in the log)"
                return problem_response(503, "unavailable", (
                    f"chain watcher: last successful poll {age:.0f} s ago, expected at most "
                    f"{services.watcher_stale_after_s:.0f} s; {why}"))
            watcher = "starting" if age is None else "ok"
            age_ms = None if age is None else int(age * 1000)
        return Readiness(status="ready", database=services.engine.dialect.name, chain=chain,
                         watcher=watcher, watcher_last_poll_age_ms=age_ms)

    metrics_rule = PUBLIC if services.public_metrics \
        else Rule.of_roles(*roles_seeing(Data.OPERATIONS))

    @app.get("/metrics", tags=["operations"], response_class=Response,
             dependencies=[declare(metrics_rule)],
             responses={200: {"content": {CONTENT_TYPE_LATEST: {}},
                              "description": "Prometheus text format"},
                        **({} if services.public_metrics
                           else problem_responses(*ACCESS_STATUSES))})
    def prometheus_metrics() -> Response:
        """Prometheus metrics of this worker."""
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.post(UPLINK_PATH, response_model=AckModel, tags=["ingest"],
              responses=problem_responses(400, 403, 413, 415, 422, 503),
              dependencies=[declare(DEVICE_SIGNATURE)],
              openapi_extra={"parameters": [
                  {"name": "Content-Encoding", "in": "header", "required": True,
                   "schema": {"type": "string", "enum": ["gzip"]}}],
                  "requestBody": {"required": True, "content": {
                  "application/json": {"schema": {
                      "type": "string", "format": "binary",
                      "description": "a gzip-compressed trustmrv-uplink/1 document "
                                     "(Content-Encoding: gzip)"}}}}})
    async def uplink(request: Request, services: ServicesDep) -> Response:
        """Verify and store one device's signed items; one verdict per item
        (docs/protocol.md 10)."""
        response = await _uplink(request, services, metrics)
        metrics.requests.labels(status=str(response.status_code)).inc()
        return response

    add_device_routes(app, services.readers)
    add_read_routes(app, services)
    add_retention_routes(app, services.sessions, services.retention_years)
    add_activity_routes(app, services)
    add_report_routes(app, services, services.figures)
    add_plan_routes(app, services.sessions, services.readers)
    add_emissions_routes(app, services)
    check_route_rules(app)
    return app


async def _uplink(request: Request, services: Services, metrics: ApiMetrics) -> Response:
    certified = certified_device(request.scope) if services.require_client_certificate else None
    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() != "application/json":
        return problem_response(415, "encoding", f"Content-Type must be application/json, got "
                                                 f"{content_type[:60]!r}")
    try:
        body = await read_body(request, LIMITS.compressed_bytes)
        decoded = decode_request(body, request.headers.get("content-encoding"))
    except DocumentTooLarge as exc:
        return problem_response(413, "too_large", exc.problem, path=exc.where)
    except UnsupportedEncoding as exc:
        return problem_response(415, "encoding", exc.problem, path=exc.where)
    except FormatError as exc:
        return problem_response(400, "format", exc.problem, path=exc.where)
    note_device(request, format_address(decoded.device))
    if certified is not None:
        check_certified(certified, decoded.device)  # AccessRefused: 403 certificate
    if services.devices is None or services.domain is None:
        return problem_response(503, "unavailable", "this ledger runs without a chain "
                                                    "(--rpc-url, --deployment): devices "
                                                    "cannot be checked", headers=_RETRY)
    started = time.perf_counter()
    try:
        result = await run_in_threadpool(_ingest_sync, services, decoded)
    except IngestRefused as exc:
        return problem_response(exc.status, exc.check, exc.detail)
    except ChainError as exc:
        _log.warning("ingest_unavailable", error=str(exc)[:300])
        return problem_response(503, "unavailable", "the chain cannot be read now; send again "
                                                    "later", headers=_RETRY)
    except OperationalError as exc:
        _log.warning("ingest_unavailable", error=str(exc)[:300])
        return problem_response(503, "unavailable", "the database is busy or unreachable; "
                                                    "send again later", headers=_RETRY)
    metrics.ingest_seconds.observe(time.perf_counter() - started)
    for item, verdict in zip(decoded.items, result, strict=True):
        metrics.items.labels(kind=type(item).__name__, status=verdict.status.value).inc()
    _log.info("uplink", device=format_address(decoded.device), items=len(result),
              accepted=sum(v.status is Status.ACCEPTED for v in result),
              refused=sum(not v.delivered for v in result))
    return Response(encode_ack(decoded, result), media_type="application/json")


_RETRY = {"Retry-After": "5"}


def _ingest_sync(services: Services, request: Any) -> tuple[Any, ...]:
    assert services.devices is not None and services.domain is not None
    if services.refresh is not None:
        services.refresh()
    with services.sessions.begin() as session:
        result = ingest(session, request, services.devices, services.domain,
                        now=datetime.now(UTC))
    return result.verdicts

