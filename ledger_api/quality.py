"""The data-quality summary of an ISA-95 node (a site, a line, a meter) over a time range.

Per meter below the node (readings with timestamps in ``[time_from, time_to]``):

- ``received``: readings held; ``expected``: the seqs from the first to the last held in the
  range (a device numbers each meter's readings without gaps, docs/protocol.md 3.1), so
  ``missing = expected - received`` readings were signed but never delivered (or not yet);
- ``unbatched``: held readings whose batch header has not arrived; ``unanchored``: held
  readings in batches the chain watcher has not seen anchored (``mismatch`` counts batches
  whose anchor carries another header: root, leaf count or span);
- ``late``: readings received more than ``late_after_s`` seconds after their timestamp.

Over the node: the signed gap records (failed polls, ``mrv_core.records.Gap``) starting in the
range, summed by error class (records and polls), and the conflicts kept as evidence for the
node's devices. Counts come from grouped queries over the ``(meter_path, timestamp)`` index, not
from reading every row into Python.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from mrv_core.reading import validate_path_prefix

from .db.models import BatchRow, ConflictRow, LeafRow, ReadingRow, RecordRow
from .errors import RequestRefused
from .queries import under_path

__all__ = ["MeterQuality", "Quality", "quality"]


@dataclass(frozen=True)
class MeterQuality:
    """One meter stream's counts over the range (see the module docstring): the readings one
    device signed for one meter path. Two devices reporting one path (a replaced gateway, a
    redundant one) are two streams, each numbering its own seqs."""

    device: bytes
    meter_path: str
    received: int
    expected: int
    unbatched: int
    unanchored: int
    mismatched: int
    late: int

    @property
    def missing(self) -> int:
        return self.expected - self.received


@dataclass(frozen=True)
class Quality:
    """The node's summary: per meter, gap records by error class, conflicts."""

    path: str
    time_from: int
    time_to: int
    meters: tuple[MeterQuality, ...]
    gap_records: dict[str, int] = field(default_factory=dict)
    failed_polls: dict[str, int] = field(default_factory=dict)
    conflicts: int = 0


def quality(session: Session, *, visible: Collection[bytes] | None, path: str, time_from: int,
            time_to: int, late_after_s: int = 3600) -> Quality:
    """The summary of ``path`` over ``[time_from, time_to]`` (Unix seconds) for the devices in
    ``visible`` (None: all). Raises :class:`RequestRefused` (400) for a malformed path or
    range."""
    try:
        validate_path_prefix(path)
    except ValueError as exc:
        raise RequestRefused(400, "path", str(exc)) from None
    if time_from > time_to:
        raise RequestRefused(400, "time", f"from {time_from} is after to {time_to}")
    devices = sorted(visible) if visible is not None else None
    in_range = and_(under_path(ReadingRow.meter_path, path), ReadingRow.timestamp >= time_from,
                    ReadingRow.timestamp <= time_to)
    if devices is not None:
        in_range = and_(in_range, ReadingRow.device.in_(devices))
    meters = session.execute(
        select(ReadingRow.device, ReadingRow.meter_path, func.count(), func.min(ReadingRow.seq),
               func.max(ReadingRow.seq))
        .where(in_range).group_by(ReadingRow.device, ReadingRow.meter_path)
        .order_by(ReadingRow.meter_path, ReadingRow.device)).all()
    state = case((LeafRow.batch_seq.is_(None), "unbatched"), else_=BatchRow.anchor_state)
    states = {
        (device, meter_path, kind): count
        for device, meter_path, kind, count in session.execute(
            select(ReadingRow.device, ReadingRow.meter_path, state, func.count())
            .join(LeafRow, and_(LeafRow.device == ReadingRow.device,
                                LeafRow.position == ReadingRow.position))
            .outerjoin(BatchRow, and_(BatchRow.device == LeafRow.device,
                                      BatchRow.batch_seq == LeafRow.batch_seq))
            .where(in_range).group_by(ReadingRow.device, ReadingRow.meter_path, state))}
    late = {(device, meter_path): count for device, meter_path, count in session.execute(
        select(ReadingRow.device, ReadingRow.meter_path, func.count())
        .join(LeafRow, and_(LeafRow.device == ReadingRow.device,
                            LeafRow.position == ReadingRow.position))
        .where(in_range, LeafRow.lag_s > late_after_s)
        .group_by(ReadingRow.device, ReadingRow.meter_path))}
    summary = tuple(MeterQuality(
        device=device, meter_path=meter_path, received=count,
        expected=int(high) - int(low) + 1,
        unbatched=states.get((device, meter_path, "unbatched"), 0),
        unanchored=states.get((device, meter_path, "unanchored"), 0),
        mismatched=states.get((device, meter_path, "mismatch"), 0),
        late=late.get((device, meter_path), 0))
        for device, meter_path, count, low, high in meters)
    gap_records: Counter[str] = Counter()
    failed_polls: Counter[str] = Counter()
    gaps = select(RecordRow.wire).where(RecordRow.kind == "gap", under_path(RecordRow.path, path),
                                        RecordRow.time_from >= time_from,
                                        RecordRow.time_from <= time_to)
    if devices is not None:
        gaps = gaps.where(RecordRow.device.in_(devices))
    for wire in session.scalars(gaps):
        record = json.loads(wire)
        gap_records[record["errorClass"]] += 1
        failed_polls[record["errorClass"]] += int(record["failedPolls"])
    device_set = session.scalars(select(ReadingRow.device).where(in_range).distinct()).all()
    conflicts = session.scalar(select(func.count()).select_from(ConflictRow)
                               .where(ConflictRow.device.in_(device_set))) or 0
    return Quality(path=path, time_from=time_from, time_to=time_to, meters=summary,
                   gap_records=dict(gap_records), failed_polls=dict(failed_polls),
                   conflicts=conflicts)

