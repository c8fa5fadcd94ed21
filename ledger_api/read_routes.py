"""Read routes: readings, seq gaps and batches by what the caller may see; proof bundles built
from stored data; a posted bundle's verdict.

- ``GET /v1/readings`` (:func:`ledger_api.queries.readings`): by ``device``, ISA-95 ``path``
  prefix and ``from``/``to`` (Unix seconds, inclusive), ``limit`` at a time, resumed by
  ``cursor`` (the previous page's ``next``).
- ``GET /v1/seq-gaps``: the reading seqs each meter has not delivered.
- ``GET /v1/batches``: a device's batch headers with their anchoring state (the chain watcher's).
- ``GET /v1/quality``: the data-quality summary of an ISA-95 node over a time range
  (:mod:`ledger_api.quality`).
- ``GET /v1/proofs/{device}/{meter}/{seq}``: a reading's ``trustmrv-proof/2`` bundle, byte for
  byte what ``mrv_core`` writes for it (:mod:`ledger_api.proofs`), once its batch is anchored;
  ``POST /v1/proofs`` the multiproof bundle of several readings of one batch.
- ``POST /v1/bundles/verify``: the verdict of ``mrv bundle verify``'s verifier on the posted
  bundle, step by step (:mod:`ledger_api.verification`), against this API's chain.

Enterprise data (readings, gaps, batches, proofs) is served to the roles that see it, for the
enterprises they see (docs/api.md, "Access"); a device of another enterprise is answered 404,
as one the ledger does not hold, so its existence is not disclosed. Verdicts are served to any
principal: the caller sends the data.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar

import structlog
from fastapi import FastAPI, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from mrv_core.bundle import LIMITS as BUNDLE_LIMITS
from mrv_core.codec import UINT64_MAX, format_address, format_hex, parse_address, parse_hex
from mrv_core.errors import ChainError, DecodeError, DocumentTooLarge
from mrv_core.wire import encode_signed_reading

from .access import ACCESS_STATUSES, Data, Principal, VisibleEnterprises, require, roles_seeing
from .access.dependencies import CurrentPrincipal
from .bodies import model_request_body, read_body, read_model
from .db.models import BatchRow, DeviceStreamRow
from .errors import ProofUnavailable, RequestRefused
from .problems import problem_response, problem_responses
from .proofs import MAX_READINGS, TreeCache, anchor_of, proof_bundle
from .quality import quality
from .queries import MAX_LIMIT, readings, seq_gaps
from .verification import bundle_verdict

if TYPE_CHECKING:  # app.py adds these routes: imported for the annotations only
    from .app import Services

__all__ = ["add_read_routes"]

T = TypeVar("T")
_log: Any = structlog.get_logger("ledger_api")
_ADDRESS = r"^0x[0-9a-fA-F]{40}$"
_BYTES32 = r"^0x[0-9a-fA-F]{64}$"
_UINT = r"^(0|[1-9][0-9]{0,19})$"
_RETRY = {"Retry-After": "5"}
#: A principal of a role that sees enterprise data (docs/api.md, "Access").
EnterpriseReader = Annotated[Principal, require(*roles_seeing(Data.ENTERPRISE))]


class ReadingModel(BaseModel):
    """A stored reading: the signed reading's wire object (docs/protocol.md 5.2), its leaf
    position in its device's stream, and its batch (``null`` until its header arrived)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    reading: dict[str, str]
    position: int = Field(ge=0)
    batchSeq: int | None = Field(ge=0)


class ReadingPage(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    readings: list[ReadingModel]
    next: str | None


class SeqGapModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    device: str
    meter: str
    fromSeq: int = Field(ge=0)
    toSeq: int = Field(ge=0)


class SeqGapList(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    gaps: list[SeqGapModel]


class BatchModel(BaseModel):
    """A batch header the device signed and the ledger accepted, with its anchoring state."""

    model_config = ConfigDict(extra="forbid", strict=True)
    device: str
    batchSeq: int = Field(ge=0)
    root: str
    leafCount: int = Field(ge=1)
    fromTimestamp: int = Field(ge=0)
    toTimestamp: int = Field(ge=0)
    anchorState: Literal["unanchored", "anchored", "final", "mismatch"]


class BatchList(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    batches: list[BatchModel]


class MeterQualityModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    device: str = Field(description="the device that signed this stream (EIP-55)")
    meterPath: str
    received: int = Field(ge=0)
    expected: int = Field(ge=0)
    missing: int = Field(ge=0)
    unbatched: int = Field(ge=0)
    unanchored: int = Field(ge=0)
    mismatched: int = Field(ge=0)
    late: int = Field(ge=0)


class QualityModel(BaseModel):
    """The data-quality summary of an ISA-95 node over a time range (docs/api.md)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    path: str
    fromTimestamp: int
    toTimestamp: int
    meters: list[MeterQualityModel]
    gapRecords: dict[str, int]
    failedPolls: dict[str, int]
    conflicts: int = Field(ge=0)


class ReadingKey(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    meter: str = Field(pattern=_BYTES32)
    seq: str = Field(pattern=_UINT, description="decimal, as in the protocol")


class ProofRequest(BaseModel):
    """The readings of one batch a multiproof bundle should prove."""

    model_config = ConfigDict(extra="forbid", strict=True)
    device: str = Field(pattern=_ADDRESS)
    readings: list[ReadingKey] = Field(min_length=1, max_length=MAX_READINGS)


class StepModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    step: str
    description: str
    status: Literal["passed", "failed", "not_run"]
    detail: str | None


class VerdictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    valid: bool
    steps: list[StepModel]


_BUNDLE_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"description": "a trustmrv-proof/2 bundle (docs/protocol.md 5.4)",
          "content": {"application/json": {"schema": {"type": "object"}}}}}


def add_read_routes(app: FastAPI, services: Services) -> None:
    """Add the read routes of the module docstring to ``app``, serving ``services``."""
    trees = TreeCache()

    @app.get("/v1/readings", response_model=ReadingPage, tags=["queries"],
             responses=problem_responses(*ACCESS_STATUSES, 400, 422))
    async def list_readings(
        _principal: EnterpriseReader, visible: VisibleEnterprises,
        device: Annotated[str | None, Query(pattern=_ADDRESS)] = None,
        path: Annotated[str | None, Query(max_length=256, description="an ISA-95 node: "
                                          "this path and everything below it")] = None,
        from_: Annotated[int | None, Query(alias="from", ge=0, le=UINT64_MAX)] = None,
        to: Annotated[int | None, Query(ge=0, le=UINT64_MAX)] = None,
        cursor: Annotated[str | None, Query(max_length=2048)] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
    ) -> ReadingPage | JSONResponse:
        """Signed readings by device, path prefix and time, in (path, time) order."""
        def run(session: Session, devices: frozenset[bytes]) -> ReadingPage:
            page = readings(session, visible=devices,
                            device=_address(device, "device") if device else None,
                            path_prefix=path, time_from=from_, time_to=to, cursor=cursor,
                            limit=limit)
            return ReadingPage(readings=[ReadingModel(
                reading=encode_signed_reading(item.signed), position=item.position,
                batchSeq=item.batch_seq) for item in page.items], next=page.next)

        return await _serve(services, visible, run)

    @app.get("/v1/seq-gaps", response_model=SeqGapList, tags=["queries"],
             responses=problem_responses(*ACCESS_STATUSES, 422))
    async def list_seq_gaps(
        _principal: EnterpriseReader, visible: VisibleEnterprises,
        device: Annotated[str | None, Query(pattern=_ADDRESS)] = None,
    ) -> SeqGapList | JSONResponse:
        """The reading seqs each meter has not delivered (``fromSeq``..``toSeq``)."""
        def run(session: Session, devices: frozenset[bytes]) -> SeqGapList:
            rows = seq_gaps(session, visible=devices,
                            device=_address(device, "device") if device else None)
            return SeqGapList(gaps=[SeqGapModel(
                device=format_address(g.device), meter=format_hex(g.meter), fromSeq=g.from_seq,
                toSeq=g.to_seq) for g in rows])

        return await _serve(services, visible, run)

    @app.get("/v1/quality", response_model=QualityModel, tags=["queries"],
             responses=problem_responses(*ACCESS_STATUSES, 400, 422))
    async def data_quality(
        _principal: EnterpriseReader, visible: VisibleEnterprises,
        path: Annotated[str, Query(max_length=256, description="an ISA-95 node: a site "
                                   "(enterprise/site), a line, a meter")],
        from_: Annotated[int, Query(alias="from", ge=0, le=UINT64_MAX)],
        to: Annotated[int, Query(ge=0, le=UINT64_MAX)],
        late_after: Annotated[int, Query(ge=0, le=10 * 366 * 86_400, description="seconds "
                                         "after its timestamp a reading counts as late")] = 3600,
    ) -> QualityModel | JSONResponse:
        """Received, missing, unbatched, unanchored and late readings per meter, signed gap
        records by error class and conflicts, for the node and range."""
        def run(session: Session, devices: frozenset[bytes]) -> QualityModel:
            summary = quality(session, visible=devices, path=path, time_from=from_,
                              time_to=to, late_after_s=late_after)
            return QualityModel(
                path=summary.path, fromTimestamp=summary.time_from,
                toTimestamp=summary.time_to, gapRecords=summary.gap_records,
                failedPolls=summary.failed_polls, conflicts=summary.conflicts,
                meters=[MeterQualityModel(
                    device=format_address(m.device), meterPath=m.meter_path,
                    received=m.received, expected=m.expected,
                    missing=m.missing, unbatched=m.unbatched, unanchored=m.unanchored,
                    mismatched=m.mismatched, late=m.late) for m in summary.meters])

        return await _serve(services, visible, run)

    @app.get("/v1/batches", response_model=BatchList, tags=["queries"],
             responses=problem_responses(*ACCESS_STATUSES, 404, 422))
    async def list_batches(
        _principal: EnterpriseReader, visible: VisibleEnterprises,
        device: Annotated[str, Query(pattern=_ADDRESS)],
        after: Annotated[int | None, Query(ge=0, le=UINT64_MAX)] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
    ) -> BatchList | JSONResponse:
        """A device's accepted batch headers from ``after`` + 1 on, with their anchoring
        state."""
        def run(session: Session, devices: frozenset[bytes]) -> BatchList:
            address = _visible_device(device, devices)
            query = select(BatchRow).where(BatchRow.device == address)
            if after is not None:
                query = query.where(BatchRow.batch_seq > after)
            rows = session.scalars(query.order_by(BatchRow.batch_seq).limit(limit))
            return BatchList(batches=[BatchModel(
                device=format_address(b.device), batchSeq=b.batch_seq, root=format_hex(b.root),
                leafCount=b.leaf_count, fromTimestamp=b.from_timestamp,
                toTimestamp=b.to_timestamp,
                anchorState=b.anchor_state)  # type: ignore[arg-type]  # the column's values
                for b in rows])

        return await _serve(services, visible, run)

    @app.get("/v1/proofs/{device}/{meter}/{seq}", tags=["proofs"],
             responses={**_BUNDLE_RESPONSE,
                        **problem_responses(*ACCESS_STATUSES, 404, 409, 422)})
    async def reading_proof(
        _principal: EnterpriseReader, visible: VisibleEnterprises,
        device: Annotated[str, Path(pattern=_ADDRESS)],
        meter: Annotated[str, Path(pattern=_BYTES32)],
        seq: Annotated[str, Path(pattern=_UINT)],
    ) -> Response:
        """One reading's proof bundle, once its batch is anchored."""
        keys = [(parse_hex(meter, 32), _uint(seq))]
        return await _bundle(services, trees, visible, device, keys)

    @app.post("/v1/proofs", tags=["proofs"],
              responses={**_BUNDLE_RESPONSE,
                         **problem_responses(*ACCESS_STATUSES, 400, 404, 409, 413, 422)},
              openapi_extra=model_request_body(ProofRequest))
    async def readings_proof(
        _principal: EnterpriseReader, visible: VisibleEnterprises, request: Request,
    ) -> Response:
        """The multiproof bundle of several readings of one batch."""
        body = await read_model(request, ProofRequest)  # after the key check, strictly
        keys = [(parse_hex(k.meter, 32), _uint(k.seq)) for k in body.readings]
        return await _bundle(services, trees, visible, body.device, keys)

    @app.post("/v1/bundles/verify", response_model=VerdictModel, tags=["proofs"],
              responses=problem_responses(*ACCESS_STATUSES, 413, 503),
              openapi_extra={"requestBody": {"required": True, "content": {
                  "application/json": {"schema": {
                      "type": "object", "description": "a trustmrv-proof document"}}}}})
    async def verify_posted_bundle(_principal: CurrentPrincipal,
                                   request: Request) -> VerdictModel | JSONResponse:
        """The verdict on a posted proof bundle, each step named (the verifier of ``mrv bundle
        verify``, with this API's chain)."""
        try:
            document = await read_body(request, BUNDLE_LIMITS.bundle_bytes)
        except DocumentTooLarge as exc:
            return problem_response(413, "too_large", exc.problem)
        try:
            verdict = await run_in_threadpool(bundle_verdict, document, services.system)
        except ChainError as exc:
            _log.warning("verify_unavailable", error=str(exc)[:300])
            return problem_response(503, "unavailable", "the chain cannot be read now: no "
                                                        "verdict; try again later",
                                    headers=_RETRY)
        return VerdictModel(valid=verdict.valid, steps=[StepModel(
            step=s.step, description=s.description, status=s.status,  # type: ignore[arg-type]
            detail=s.detail) for s in verdict.steps])


async def _serve(services: Services, visible: frozenset[bytes],
                 run: Callable[[Session, frozenset[bytes]], T]) -> T | JSONResponse:
    """``run`` in a worker thread with a read session and the devices of the enterprises the
    caller sees; RequestRefused and a database that cannot answer become problems."""
    def call() -> T:
        with services.readers() as session:
            devices = frozenset(session.scalars(
                select(DeviceStreamRow.device)
                .where(DeviceStreamRow.enterprise.in_(sorted(visible))))) if visible else \
                frozenset()
            return run(session, devices)

    try:
        return await run_in_threadpool(call)
    except RequestRefused as exc:
        return problem_response(exc.status, exc.check, exc.detail)
    except OperationalError:
        return problem_response(503, "unavailable", "the database is busy or unreachable; "
                                                    "try again later", headers=_RETRY)


async def _bundle(services: Services, trees: TreeCache, visible: frozenset[bytes], device: str,
                  keys: list[tuple[bytes, int]]) -> Response:
    if services.domain is None or services.system is None:
        return problem_response(503, "unavailable", "this ledger runs without a chain: no "
                                                    "anchor to prove against", headers=_RETRY)
    system, domain = services.system, services.domain

    def run(session: Session, devices: frozenset[bytes]) -> bytes:
        address = _visible_device(device, devices)
        bundle = proof_bundle(session, address, keys, domain, None, trees)
        anchor = anchor_of(session, bundle.batch, system)
        if anchor is None:
            raise ProofUnavailable(409, "anchor", f"batch {bundle.batch.batch_seq} is not "
                                                  "anchored yet (as far as the chain watcher "
                                                  "has seen): try again later")
        return dataclasses.replace(bundle, anchor=anchor).dumps()

    result: Any = await _serve(services, visible, run)
    if isinstance(result, Response):
        return result
    return Response(result, media_type="application/json")


def _address(text: str, name: str) -> bytes:
    try:
        return parse_address(text, field=name)
    except DecodeError as exc:
        raise RequestRefused(422, "format", str(exc)) from None


def _visible_device(text: str, devices: frozenset[bytes]) -> bytes:
    """The device's address if the caller sees it; 404 otherwise (as one the ledger does not
    hold: another enterprise's devices are not disclosed)."""
    address = _address(text, "device")
    if address not in devices:
        raise RequestRefused(404, "device", f"no device {format_address(address)} among the "
                                            "devices you may see")
    return address


def _uint(text: str) -> int:
    value = int(text)
    if value > UINT64_MAX:
        raise RequestRefused(422, "format", f"seq: expected a uint64, got {text}")
    return value
