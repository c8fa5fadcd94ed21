"""``GET /v1/devices``: the devices that delivered data to this ledger, as far as the caller may
see them.

One row per device stream (``device_streams``): the device, its enterprise (from the
DeviceRegistry, set by ingest), how many leaves (signed readings and records) and batch headers
the ledger accepted from it, and when it first and last delivered. Only devices of the
enterprises the caller sees (:data:`~ledger_api.access.VisibleEnterprises`) are listed; a stream
whose enterprise is not known yet (a row from before migration ``0003_access`` whose device has
not delivered since) is listed to nobody. Ordered by device address, paged by ``after`` (the
``next`` of the previous page) and ``limit``.

Counts come from the stream row itself: leaves hold positions ``0 .. next_position - 1`` and
batches ``0 .. next_batch_seq - 1`` (ingest accepts both only in sequence), so no table is
counted.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import FastAPI, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from mrv_core.codec import format_address, parse_address
from mrv_core.errors import DecodeError

from .access import (
    ACCESS_STATUSES,
    Data,
    Principal,
    VisibleEnterprises,
    check_visible,
    require,
    roles_seeing,
)
from .db.models import DeviceStreamRow, as_utc
from .problems import problem_response, problem_responses

__all__ = ["DEVICES_PATH", "DeviceList", "DeviceModel", "add_device_routes"]

DEVICES_PATH = "/v1/devices"
#: Most devices one page lists.
MAX_PAGE = 1000
_ADDRESS = r"^0x[0-9a-fA-F]{40}$"


class DeviceModel(BaseModel):
    """One device's stream: addresses EIP-55, counts of accepted items, UTC times."""

    model_config = ConfigDict(extra="forbid", strict=True)

    device: str
    enterprise: str
    leaves: int = Field(ge=0, description="signed readings and records accepted")
    batches: int = Field(ge=0, description="batch headers accepted")
    first_seen: datetime
    last_seen: datetime


class DeviceList(BaseModel):
    """A page of devices; ``next`` is the ``after`` of the next page (``null`` on the last)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    devices: list[DeviceModel]
    next: str | None


def add_device_routes(app: FastAPI, sessions: sessionmaker[Session]) -> None:
    """Add ``GET /v1/devices`` to ``app``, reading through ``sessions``."""

    @app.get(DEVICES_PATH, response_model=DeviceList, tags=["queries"],
             responses=problem_responses(*ACCESS_STATUSES, 422))
    async def list_devices(
        principal: Annotated[Principal, require(*roles_seeing(Data.ENTERPRISE))],
        visible: VisibleEnterprises,
        enterprise: Annotated[str | None, Query(
            pattern=_ADDRESS, description="only this enterprise's devices (one you may see, "
                                          "else 403)")] = None,
        after: Annotated[str | None, Query(
            pattern=_ADDRESS, description="list devices after this address (the previous "
                                          "page's next)")] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    ) -> DeviceList | JSONResponse:
        """The devices of the enterprises the caller may see, by address (enterprise admins
        and readers: their own; regulators: those granted to them)."""
        parsed: dict[str, bytes] = {}
        for name, text in (("enterprise", enterprise), ("after", after)):
            if text is not None:
                try:
                    parsed[name] = parse_address(text, field=name)
                except DecodeError as exc:  # mixed case with a wrong EIP-55 checksum
                    return problem_response(422, "format", str(exc), path=f"$.query.{name}")
        wanted, start = parsed.get("enterprise"), parsed.get("after")
        scope = visible
        if wanted is not None:
            check_visible(visible, wanted)
            scope = frozenset({wanted})
        try:
            return await run_in_threadpool(_page, sessions, scope, start, limit)
        except OperationalError:
            return problem_response(503, "unavailable", "the database is busy or unreachable; "
                                                        "try again later",
                                    headers={"Retry-After": "5"})


def _page(sessions: sessionmaker[Session], scope: frozenset[bytes], after: bytes | None,
          limit: int) -> DeviceList:
    if not scope:
        return DeviceList(devices=[], next=None)
    query = select(DeviceStreamRow).where(DeviceStreamRow.enterprise.in_(sorted(scope)))
    if after is not None:
        query = query.where(DeviceStreamRow.device > after)
    with sessions() as session:
        rows = list(session.scalars(query.order_by(DeviceStreamRow.device).limit(limit + 1)))
    page = rows[:limit]
    devices = [DeviceModel(device=format_address(row.device),
                           enterprise=format_address(row.enterprise or b""),
                           leaves=row.next_position, batches=row.next_batch_seq,
                           first_seen=as_utc(row.first_seen), last_seen=as_utc(row.last_seen))
               for row in page]
    more = len(rows) > limit
    return DeviceList(devices=devices, next=devices[-1].device if more and devices else None)
