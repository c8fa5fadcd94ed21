"""The device directory's state in the database: its DeviceRegistry events and its cursor, so a
restart resumes after the cursor instead of reading the registry from the deployment block.

:func:`save_directory` writes what :class:`~ledger_api.chain.directory.DeviceDirectory` holds
(its :attr:`events` and :attr:`cursor`) as one consistent snapshot: the events are rewritten
whole when they differ from the stored ones (compared by count and last event, which identify a
prefix of one chain's events), else only the cursor moves. Several API workers may save; the
last one wins, and whichever snapshot is stored is one directory's, events and cursor together.

:func:`load_directory` gives them back for ``DeviceDirectory(system, events=..., cursor=...)``,
whose first refresh checks that the cursor's block is still on the chain (a reorganisation
since is undone there).

Events are stored as their class name and their own fields in JSON (bytes as ``0x`` hex,
integers as numbers); :func:`encode_device_event` and :func:`decode_device_event` are exact
inverses (the property tests check it).
"""

from __future__ import annotations

import json
from dataclasses import fields
from datetime import datetime
from typing import Any, get_type_hints

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ..db.models import DeviceEventRow
from ..errors import CorruptColumnValue
from .anchor_store import cursor_row, write_cursor_row
from .devices import (
    DeviceEvent,
    DeviceRegistered,
    DeviceReinstated,
    DeviceRevoked,
    DeviceRotated,
    DeviceSuspended,
    EnterpriseReactivated,
    EnterpriseStopped,
    EventAt,
)
from .directory import Cursor

__all__ = ["DEVICES_CURSOR", "decode_device_event", "encode_device_event", "load_directory",
           "save_directory"]

#: The device directory's row in ``watcher_cursor``.
DEVICES_CURSOR = "devices"
_TYPES: dict[str, type[Any]] = {cls.__name__: cls for cls in (
    DeviceRegistered, DeviceRotated, DeviceRevoked, DeviceSuspended, DeviceReinstated,
    EnterpriseStopped, EnterpriseReactivated)}
_AT = {f.name for f in fields(EventAt)}


def encode_device_event(event: DeviceEvent, position: int) -> DeviceEventRow:
    """The row of ``event`` at ``position`` (0, 1, 2... in chain order)."""
    own = {f.name: getattr(event, f.name) for f in fields(event) if f.name not in _AT}
    return DeviceEventRow(
        position=position, event=type(event).__name__, block_number=event.block_number,
        block_hash=event.block_hash, block_timestamp=event.block_timestamp,
        log_index=event.log_index,
        fields=json.dumps({k: "0x" + v.hex() if isinstance(v, bytes) else v
                           for k, v in own.items()}, sort_keys=True, separators=(",", ":")))


def decode_device_event(row: DeviceEventRow) -> DeviceEvent:
    """The event of ``row``; raises :class:`~ledger_api.errors.CorruptColumnValue` naming the
    row when its class or fields are not an event's."""
    cls = _TYPES.get(row.event)
    try:
        if cls is None:
            raise ValueError(f"unknown event {row.event!r}")
        hints = get_type_hints(cls)
        stored = json.loads(row.fields)
        own = {name: bytes.fromhex(value.removeprefix("0x")) if hints[name] is bytes else value
               for name, value in stored.items()}
        if set(own) != {f.name for f in fields(cls)} - _AT:
            raise ValueError(f"fields {sorted(own)}")
        if any(not isinstance(own[n], int) for n in own if hints[n] is int):
            raise ValueError("an integer field is not an integer")
        event: DeviceEvent = cls(row.block_number, row.block_hash, row.block_timestamp,
                                 row.log_index, **own)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise CorruptColumnValue(f"device_events position {row.position}: expected a "
                                 f"DeviceRegistry event, got {row.event!r} {row.fields!r:.120}"
                                 f" ({exc})") from None
    return event


def load_directory(session: Session, anchor_registry: bytes
                   ) -> tuple[tuple[DeviceEvent, ...], Cursor | None]:
    """The stored events (chain order) and cursor, or ``((), None)`` when none is stored.
    Raises :class:`~ledger_api.errors.ApiConfigError` when the database follows another
    deployment, :class:`~ledger_api.errors.CorruptColumnValue` for an undecodable row."""
    row = cursor_row(session, anchor_registry, DEVICES_CURSOR)
    if row is None or row.block_timestamp is None:
        return (), None
    events = tuple(decode_device_event(r) for r in session.scalars(
        select(DeviceEventRow).order_by(DeviceEventRow.position)))
    return events, Cursor(row.block_number, row.block_hash, row.block_timestamp)


def save_directory(session: Session, anchor_registry: bytes,
                   events: tuple[DeviceEvent, ...], cursor: Cursor | None,
                   now: datetime) -> bool:
    """Store ``events`` and ``cursor`` (a directory's :attr:`events` and :attr:`cursor`) in the
    caller's transaction; returns whether the events were rewritten. Raises as
    :func:`load_directory`."""
    cursor_row(session, anchor_registry, DEVICES_CURSOR, for_update=True)
    count = session.scalar(select(func.count()).select_from(DeviceEventRow)) or 0
    last = session.scalar(select(DeviceEventRow).where(DeviceEventRow.position == count - 1))
    same = count == len(events) and (
        count == 0 or (last is not None and (last.block_hash, last.log_index)
                       == (events[-1].block_hash, events[-1].log_index)))
    if not same:
        session.execute(delete(DeviceEventRow))
        session.add_all(encode_device_event(e, i) for i, e in enumerate(events))
    write_cursor_row(session, anchor_registry, DEVICES_CURSOR,
                     None if cursor is None else (cursor.block_number, cursor.block_hash,
                                                  cursor.block_timestamp), now)
    session.flush()
    return not same
