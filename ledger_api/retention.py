"""Retention: how long the ledger keeps what devices signed, and the one operation that deletes
it (docs/api.md, "Retention").

**Policy.** Readings (with their salts and signatures), records, batch headers and the chain
events the watcher read are kept at least ``MRV_RETENTION_YEARS`` years (default
:data:`DEFAULT_RETENTION_YEARS` = 10, the EU MRR's period: Commission Implementing Regulation
(EU) 2018/2066, Article 67(1), "at least 10 years"; never less than :data:`MIN_RETENTION_YEARS`
= 5, China's: the Measures for the Administration of Carbon Emissions Trading (Trial), Ministry
of Ecology and Environment Order No. 19 (2020), keep the original records and ledgers behind an
emission report at least five years). Nothing in the ledger deletes as a side effect: ingest,
the chain watcher and the read routes only add or update. Deletion is :func:`purge`, run on
purpose by an operator (``mrv api retention purge``) or an enterprise's admin
(``POST /v1/retention/purge``).

**What a purge deletes.** Whole batches of the devices of ONE enterprise, never single
readings (a batch's proofs need all of its leaves; half a batch would make bundles lie), and
only batches that are both

- past retention: their data ended (``to_timestamp``) before the cutoff, and the cutoff lies at
  least the minimum retention before now (:func:`latest_cutoff`); and
- ``final``: the chain watcher saw their anchor with enough confirmations. Batches
  ``unanchored``, ``anchored`` or ``mismatch`` are kept, and counted in the report
  (``kept``), whatever their age: a mismatch is evidence, an unanchored batch is not proven.

For each such batch, in one transaction: its ``readings`` and ``records`` rows, its ``leaves``,
its ``anchors`` rows (the ``BatchAnchored`` events read for it: they stay on the chain) and its
``batches`` row. ``device_streams.purged_through`` then records the latest data time deleted per
device, and ingest refuses a new item ending at or before it (deleted data cannot come back as
new leaves, which would also break the device's next batch). Kept: ``device_streams`` (the
numbering continues), ``meter_streams`` and ``seq_gaps`` (seq continuity: a deleted seq stays
"held", not missing), ``conflicts`` and ``rejections`` (evidence about the device, outside any
batch), ``chain_events``, ``device_events``, ``watcher_cursor``, and the access tables.

**Logged.** A purge that deletes writes one ``retention_purges`` row (who, when, enterprise,
cutoff, reason, rows deleted per table, the batchSeq ranges per device) and a structlog event
``retention_purge``; nothing deletes those rows. A dry run (the default) reports the same
figures and changes nothing.

Errors: :class:`~ledger_api.errors.RetentionRefused` (nothing deleted), :class:`~ledger_api.
errors.ApiConfigError` (a minimum retention below the floor), :class:`~ledger_api.errors.
StorageError` (a delete removed other rows than counted: the transaction must roll back).
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import structlog
from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.orm import Session

from mrv_core.codec import format_address

from .chain.anchors import AnchorState
from .db.models import (
    AnchorRow,
    BatchRow,
    DeviceStreamRow,
    LeafRow,
    ReadingRow,
    RecordRow,
    RetentionPurgeRow,
)
from .errors import ApiConfigError, RetentionRefused, StorageError

__all__ = ["DEFAULT_RETENTION_YEARS", "MIN_RETENTION_YEARS", "RETENTION_SOURCES", "TABLES",
           "BatchRange", "Purge", "check_retention_years", "latest_cutoff", "parse_cutoff",
           "purge", "purge_log", "utc_text"]

#: EU MRR (Regulation (EU) 2018/2066, Art. 67(1)): records kept at least 10 years.
DEFAULT_RETENTION_YEARS = 10
#: China (MEE Order No. 19, 2020, carbon emissions trading measures): the original records of
#: an emission report kept at least 5 years; the floor.
MIN_RETENTION_YEARS = 5
#: Where the two figures come from, for messages.
RETENTION_SOURCES = ("China keeps emission records 5 years, MEE Order No. 19 (2020); the EU "
                     "MRR 10, Regulation (EU) 2018/2066 Art. 67")
#: The tables a purge deletes from, in the order it deletes (children first).
TABLES = ("readings", "records", "leaves", "anchors", "batches")
#: Longest reason kept (characters).
MAX_REASON = 2000
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
_log: Any = structlog.get_logger("ledger_api.retention")


def check_retention_years(years: int) -> int:
    """``years`` if it is at least :data:`MIN_RETENTION_YEARS`, else :class:`ApiConfigError`."""
    if years < MIN_RETENTION_YEARS:
        raise ApiConfigError(f"MRV_RETENTION_YEARS: expected at least {MIN_RETENTION_YEARS} "
                             f"years ({RETENTION_SOURCES}), got {years}")
    return years


def latest_cutoff(now: datetime, years: int) -> int:
    """The latest cutoff (Unix s) a purge may use: ``now`` minus ``years`` calendar years
    (29 February goes to the 28th), so everything deleted is older than the retention."""
    then = now.astimezone(UTC)
    try:
        earlier = then.replace(year=then.year - years)
    except ValueError:  # 29 February into a common year
        earlier = then.replace(year=then.year - years, day=28)
    return int(earlier.timestamp())


def parse_cutoff(text: str) -> int:
    """A cutoff ``YYYY-MM-DD`` as Unix seconds at 00:00 UTC of that day; raises
    :class:`RetentionRefused` (422 ``date``) for anything else or a day before 1970."""
    try:
        if not _DATE.match(text):
            raise ValueError
        day = date.fromisoformat(text)
    except ValueError:
        raise RetentionRefused(422, "date", f"expected a date YYYY-MM-DD (UTC), got "
                                            f"{text!r:.40}") from None
    moment = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())
    if moment < 0:
        raise RetentionRefused(422, "date", f"expected a date from 1970-01-01, got {text}")
    return moment


@dataclass(frozen=True)
class BatchRange:
    """Batches ``first`` .. ``last`` (batchSeq, inclusive) of ``device``, all deleted."""

    device: bytes
    first: int
    last: int

    def as_json(self) -> dict[str, object]:
        return {"device": format_address(self.device), "first": self.first, "last": self.last}


@dataclass(frozen=True)
class Purge:
    """What a purge removed (``dry_run``: would remove): rows per table of :data:`TABLES`, the
    batch ranges, the batches past the cutoff kept by anchor state, and the audit row's id
    (``None`` on a dry run or when nothing was eligible)."""

    enterprise: bytes
    cutoff: int
    retention_years: int
    dry_run: bool
    counts: dict[str, int]
    ranges: tuple[BatchRange, ...]
    kept: dict[str, int] = field(default_factory=dict)
    audit_id: int | None = None


@dataclass
class _Run:
    """Consecutive batches of one device: batchSeqs and leaf positions (end exclusive)."""

    device: bytes
    first_seq: int
    last_seq: int
    first_position: int
    end_position: int
    to_timestamp: int


def purge(session: Session, *, enterprise: bytes, cutoff: int, reason: str, actor: str,
          principal_id: int | None, retention_years: int, now: datetime,
          confirm: bool) -> Purge:
    """Delete (``confirm``) or report (dry run) the final batches of ``enterprise``'s devices
    whose data ended before ``cutoff`` (Unix s), with everything of theirs listed in the
    module's doc, in ``session``'s transaction (the caller commits). ``actor`` names who asks
    (``principal 7``, ``cli operator ...``). Raises :class:`RetentionRefused` before anything
    changes: 400 ``reason`` (empty), 400 ``retention`` (``cutoff`` later than
    :func:`latest_cutoff`), 404 ``enterprise`` (no device of it here)."""
    check_retention_years(retention_years)
    reason = reason.strip()
    if not reason:
        raise RetentionRefused(400, "reason", "expected a reason for the purge (it is kept in "
                                              "the audit log), got none")
    if len(reason) > MAX_REASON:
        raise RetentionRefused(400, "reason", f"expected a reason of at most {MAX_REASON} "
                                              f"characters, got {len(reason)}")
    latest = latest_cutoff(now, retention_years)
    if cutoff > latest:
        raise RetentionRefused(400, "retention", (
            f"the cutoff {utc_text(cutoff)} is younger than the minimum retention of "
            f"{retention_years} years: expected {utc_text(latest)} or earlier"))
    # Lock the enterprise's streams: ingest locks a device's stream row too, so no batch of
    # theirs is accepted while this runs.
    streams = {row.device: row for row in session.scalars(
        select(DeviceStreamRow).where(DeviceStreamRow.enterprise == enterprise)
        .order_by(DeviceStreamRow.device).with_for_update())}
    if not streams:
        raise RetentionRefused(404, "enterprise", f"no device of enterprise "
                                                  f"{format_address(enterprise)} in this ledger")
    runs, kept = _eligible(session, sorted(streams), cutoff)
    counts = _count(session, runs)
    report = Purge(enterprise=enterprise, cutoff=cutoff, retention_years=retention_years,
                   dry_run=not confirm, counts=counts,
                   ranges=tuple(BatchRange(r.device, r.first_seq, r.last_seq) for r in runs),
                   kept=kept)
    if not confirm or not runs:
        return report
    _delete(session, runs, counts)
    for run in runs:
        stream = streams[run.device]
        stream.purged_through = max(stream.purged_through or 0, run.to_timestamp)
    audit = RetentionPurgeRow(purged_at=now, actor=actor[:200], principal_id=principal_id,
                              enterprise=enterprise, cutoff=cutoff,
                              retention_years=retention_years, reason=reason,
                              kept_batches=sum(kept.values()),
                              ranges=json.dumps([r.as_json() for r in report.ranges]), **counts)
    session.add(audit)
    session.flush()
    _log.warning("retention_purge", audit_id=audit.id, actor=audit.actor,
                 enterprise=format_address(enterprise), cutoff=utc_text(cutoff), reason=reason,
                 kept_batches=audit.kept_batches, **counts)
    return dataclasses.replace(report, audit_id=audit.id)


def purge_log(session: Session, enterprise: bytes | None = None) -> list[RetentionPurgeRow]:
    """The audit rows, oldest first (only ``enterprise``'s when given)."""
    query = select(RetentionPurgeRow).order_by(RetentionPurgeRow.id)
    if enterprise is not None:
        query = query.where(RetentionPurgeRow.enterprise == enterprise)
    return list(session.scalars(query))


def utc_text(moment: int) -> str:
    """Unix seconds as ISO 8601 UTC text, ``2016-12-01T00:00:00Z``."""
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _eligible(session: Session, devices: Sequence[bytes],
              cutoff: int) -> tuple[list[_Run], dict[str, int]]:
    """The runs of final batches of ``devices`` ending before ``cutoff``, and how many others
    ending before it were kept, by anchor state."""
    runs: list[_Run] = []
    kept: dict[str, int] = {}
    for i in range(0, len(devices), 500):
        rows = session.execute(
            select(BatchRow.device, BatchRow.batch_seq, BatchRow.first_position,
                   BatchRow.leaf_count, BatchRow.to_timestamp, BatchRow.anchor_state)
            .where(BatchRow.device.in_(devices[i:i + 500]), BatchRow.to_timestamp < cutoff)
            .order_by(BatchRow.device, BatchRow.batch_seq)
            # Locked: the chain watcher cannot move one of them out of final meanwhile.
            .with_for_update())
        for device, seq, first, count, to_timestamp, state in rows:
            if state != AnchorState.FINAL.value:
                kept[state] = kept.get(state, 0) + 1
                continue
            last = runs[-1] if runs else None
            if last is not None and last.device == device and last.last_seq + 1 == seq \
                    and last.end_position == first:
                last.last_seq, last.end_position = seq, first + count
                last.to_timestamp = max(last.to_timestamp, to_timestamp)
            else:
                runs.append(_Run(device, seq, seq, first, first + count, to_timestamp))
    return runs, kept


_BY_POSITION: dict[str, type[ReadingRow] | type[RecordRow] | type[LeafRow]] = {
    "readings": ReadingRow, "records": RecordRow, "leaves": LeafRow}


def _where(table: str, run: _Run) -> tuple[Any, list[ColumnElement[bool]]]:
    """The model of ``table`` and the conditions selecting ``run``'s rows in it: by leaf
    position (readings, records, leaves) or by batchSeq (anchors, batches)."""
    if table in ("anchors", "batches"):
        by_seq = AnchorRow if table == "anchors" else BatchRow
        return by_seq, [by_seq.device == run.device, by_seq.batch_seq >= run.first_seq,
                        by_seq.batch_seq <= run.last_seq]
    by_position = _BY_POSITION[table]
    return by_position, [by_position.device == run.device,
                         by_position.position >= run.first_position,
                         by_position.position < run.end_position]


def _count(session: Session, runs: Iterable[_Run]) -> dict[str, int]:
    counts = dict.fromkeys(TABLES, 0)
    for run in runs:
        for table in TABLES:
            model, where = _where(table, run)
            counts[table] += session.scalar(select(func.count()).select_from(model)
                                            .where(*where)) or 0
    return counts


def _delete(session: Session, runs: Sequence[_Run], counts: dict[str, int]) -> None:
    """Delete the runs' rows table by table (children first), checking each table's total
    against what was counted under the same locks."""
    session.flush()
    for table in TABLES:
        deleted = 0
        for run in runs:
            model, where = _where(table, run)
            result: Any = session.execute(delete(model).where(*where)
                                          .execution_options(synchronize_session=False))
            deleted += result.rowcount
        if deleted != counts[table]:
            raise StorageError(f"retention purge: {table}: counted {counts[table]} rows to "
                               f"delete, deleted {deleted}; rolled back")
