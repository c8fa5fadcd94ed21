"""Read queries over the ledger's stored data, with keyset (cursor) pagination.

:func:`readings` lists signed readings by device, by ISA-95 path prefix (``demo-co/wuxi-plant``
matches that node and everything below it) and by time range, in the order of the
``(meter_path, timestamp)`` index, ``limit`` at a time; a page's ``next`` cursor resumes after
its last row, however many rows arrive meanwhile (no offset is ever skipped or repeated).
:func:`seq_gaps` lists the seqs each meter has not delivered. Visibility is the caller's: every
query takes the set of devices the principal may see (``None``: all).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from mrv_core.codec import UINT64_MAX
from mrv_core.errors import FormatError
from mrv_core.reading import SignedReading, validate_path_prefix
from mrv_core.strict_json import loads_strict

from .db.models import LeafRow, ReadingRow, SeqGapRow
from .errors import RequestRefused

__all__ = ["MAX_LIMIT", "Page", "StoredReading", "readings", "seq_gaps", "under_path"]

#: The most rows one page holds.
MAX_LIMIT = 1000


@dataclass(frozen=True)
class StoredReading:
    """A reading as the ledger holds it: the signed reading, its leaf position and batch."""

    signed: SignedReading
    position: int
    batch_seq: int | None


@dataclass(frozen=True)
class Page:
    """``items`` in order, and the cursor of the next page (None: this was the last)."""

    items: tuple[StoredReading, ...]
    next: str | None


def _encode_cursor(row: ReadingRow) -> str:
    doc = [row.meter_path, row.timestamp, row.device.hex(), row.position]
    return base64.urlsafe_b64encode(json.dumps(doc).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[str, int, bytes, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        path, timestamp, device, position = loads_strict(raw, max_bytes=4096, max_depth=1)
        if not (isinstance(path, str) and type(timestamp) is int and isinstance(device, str)
                and type(position) is int and 0 <= timestamp <= UINT64_MAX
                and 0 <= position < 2**63):
            raise ValueError("cursor fields")
        return path, timestamp, bytes.fromhex(device), position
    except (ValueError, TypeError, FormatError):  # base64, JSON, fields: a forged cursor
        raise RequestRefused(400, "cursor", "not a cursor this API gave out: use the `next` "
                                            "of the previous page as it came") from None


def under_path(column: ColumnElement[str] | InstrumentedAttribute[str],
               prefix: str) -> ColumnElement[bool]:
    """``column`` holds ``prefix`` or a path below it: ``prefix`` itself, or a path in
    ``[prefix + "/", prefix + "0")`` (``0`` follows ``/`` in code-point order, the byte order
    both databases compare paths in), an index range that stops at a level boundary."""
    return or_(column == prefix, and_(column >= prefix + "/", column < prefix + "0"))


def readings(session: Session, *, visible: Collection[bytes] | None, device: bytes | None = None,
             path_prefix: str | None = None, time_from: int | None = None,
             time_to: int | None = None, cursor: str | None = None,
             limit: int = 100) -> Page:
    """A page of readings (see the module docstring). ``time_from``/``time_to`` are Unix
    seconds, inclusive. Raises :class:`RequestRefused` (400) for a malformed path prefix,
    cursor, range or limit."""
    if not 1 <= limit <= MAX_LIMIT:
        raise RequestRefused(400, "limit", f"expected 1..{MAX_LIMIT}, got {limit}")
    if time_from is not None and time_to is not None and time_from > time_to:
        raise RequestRefused(400, "time", f"from {time_from} is after to {time_to}")
    query = (
        select(ReadingRow, LeafRow.batch_seq)
        .join(LeafRow, (LeafRow.device == ReadingRow.device)
              & (LeafRow.position == ReadingRow.position)))
    if visible is not None:
        query = query.where(ReadingRow.device.in_(sorted(visible)))
    if device is not None:
        query = query.where(ReadingRow.device == device)
    if path_prefix is not None:
        try:
            validate_path_prefix(path_prefix)
        except ValueError as exc:
            raise RequestRefused(400, "path", str(exc)) from None
        query = query.where(under_path(ReadingRow.meter_path, path_prefix))
    if time_from is not None:
        query = query.where(ReadingRow.timestamp >= time_from)
    if time_to is not None:
        query = query.where(ReadingRow.timestamp <= time_to)
    if cursor is not None:
        path, timestamp, after_device, position = _decode_cursor(cursor)
        query = query.where(or_(
            ReadingRow.meter_path > path,
            and_(ReadingRow.meter_path == path, ReadingRow.timestamp > timestamp),
            and_(ReadingRow.meter_path == path, ReadingRow.timestamp == timestamp,
                 ReadingRow.device > after_device),
            and_(ReadingRow.meter_path == path, ReadingRow.timestamp == timestamp,
                 ReadingRow.device == after_device, ReadingRow.position > position)))
    rows = session.execute(query.order_by(ReadingRow.meter_path, ReadingRow.timestamp,
                                          ReadingRow.device, ReadingRow.position)
                           .limit(limit + 1)).all()
    items = tuple(StoredReading(row.signed(), row.position, batch_seq)
                  for row, batch_seq in rows[:limit])
    return Page(items, _encode_cursor(rows[limit - 1][0]) if len(rows) > limit else None)


def seq_gaps(session: Session, *, visible: Collection[bytes] | None,
             device: bytes | None = None) -> list[SeqGapRow]:
    """The seq runs each meter has not delivered (``from_seq``..``to_seq``), by device and
    meter."""
    query = select(SeqGapRow)
    if visible is not None:
        query = query.where(SeqGapRow.device.in_(sorted(visible)))
    if device is not None:
        query = query.where(SeqGapRow.device == device)
    return list(session.scalars(query.order_by(SeqGapRow.device, SeqGapRow.meter,
                                               SeqGapRow.from_seq)))

