"""Counter marks per (device, meter): the held readings whose value is below the value of the
previous held reading of their meter (the one with the greatest seq below theirs).

A period's recompute reads only the boundary readings of a meter and the two readings of each
*notable* step between them (docs/api.md, "Monitoring plan and recompute"); a decreasing step
(a rollover, a meter change, an unexplained decrease) is notable, and ``counter_marks`` finds
it through an index instead of a scan. Ingest keeps the marks exact in every arrival order:

- **in order** (a seq above the meter's ``max_seq``: the usual case) the previous held reading
  is the one at ``max_seq``, whose value ``meter_streams.max_value`` keeps, so no reading is
  read back; the readings of one request chain from it in seq order;
- **a gap fill** (a seq below ``max_seq``, inside a run the ledger did not hold): the held
  neighbours of that run are looked up (one indexed query each way per run filled, not per
  reading), the new readings are marked against their predecessor, and the mark of the run's
  held successor is decided again against its new predecessor (added or removed).

:func:`fresh_marks` is the rule, given the neighbours; :func:`meter_marks` looks them up. A
property test (``tests/unit/ledger_api/ingest/test_marks.py``) checks, after random arrival
orders with duplicates and gap fills, that the marks equal the decreases found naively over all
held readings.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, bindparam, delete, select
from sqlalchemy.orm import Session

from ..db.bulk import insert_rows
from ..db.models import CounterMarkRow, ReadingRow
from .seq_gaps import MeterSeqs

__all__ = ["MarkChanges", "fresh_marks", "meter_marks", "save_marks"]

_MARK_COLUMNS = ("device", "meter", "seq")


@dataclass
class MarkChanges:
    """Marks to add and marks to remove, as (meter, seq)."""

    add: list[tuple[bytes, int]]
    drop: list[tuple[bytes, int]]


def fresh_marks(previous: int | None, run: Sequence[tuple[int, int]],
                following: tuple[int, int] | None = None) -> tuple[list[int], bool | None]:
    """The marks of ``run`` (new readings ``(seq, value)`` in seq order, with no held reading
    between them), given the value of the held reading before the run (``previous``; ``None``:
    none) and the held reading after it (``following``, ``(seq, value)``): the seqs of the run
    to mark, and whether ``following`` is marked now (``None`` without one)."""
    marked = []
    last = previous
    for seq, value in run:
        if last is not None and value < last:
            marked.append(seq)
        last = value
    if following is None:
        return marked, None
    return marked, last is not None and following[1] < last


def _neighbour(session: Session, device: bytes, meter: bytes, seq: int,
               below: bool) -> tuple[int, int] | None:
    """The held reading of the meter nearest to ``seq`` below (or above) it, as (seq, value),
    through the unique index (device, meter, seq)."""
    query = select(ReadingRow.seq, ReadingRow.value).where(
        ReadingRow.device == device, ReadingRow.meter == meter,
        ReadingRow.seq < seq if below else ReadingRow.seq > seq)
    order = ReadingRow.seq.desc() if below else ReadingRow.seq.asc()
    row = session.execute(query.order_by(order).limit(1)).one_or_none()
    return (row[0], row[1]) if row is not None else None


def meter_marks(session: Session, device: bytes, meter: bytes, old: MeterSeqs | None,
                old_value: int | None, fresh: Sequence[tuple[int, int]],
                changes: MarkChanges) -> None:
    """Add to ``changes`` the mark changes of the meter's readings ``fresh`` ((seq, value),
    accepted by this request, not yet inserted) given its stored seq state ``old`` and the
    value at its ``max_seq`` (``old_value``; module docstring)."""
    ordered = sorted(fresh)
    top = old.max_seq if old is not None else None
    tail = [r for r in ordered if top is None or r[0] > top]
    marked, _ = fresh_marks(old_value, tail)
    changes.add += [(meter, seq) for seq in marked]
    fills = [r for r in ordered if top is not None and r[0] < top]
    if not fills:
        return
    assert old is not None
    firsts = [first for first, _ in old.missing]
    runs: dict[int, list[tuple[int, int]]] = {}
    for seq, value in fills:
        index = bisect.bisect_right(firsts, seq) - 1
        assert index >= 0 and old.missing[index][0] <= seq <= old.missing[index][1], \
            "a new seq below max_seq fills a missing run"
        runs.setdefault(index, []).append((seq, value))
    for run in runs.values():
        before = _neighbour(session, device, meter, run[0][0], below=True)
        after = _neighbour(session, device, meter, run[-1][0], below=False)
        marked, following = fresh_marks(before[1] if before else None, run, after)
        changes.add += [(meter, seq) for seq in marked]
        if after is not None:
            changes.drop.append((meter, after[0]))  # decided again: removed, then re-added
            if following:
                changes.add.append((meter, after[0]))


def save_marks(session: Session, device: bytes, changes: MarkChanges) -> None:
    """Write ``changes``: removals first (a successor's mark decided again is removed, then
    added when it still holds), then the new marks in bulk."""
    table = cast(Table, CounterMarkRow.__table__)
    if changes.drop:
        session.execute(delete(table).where(table.c.device == device,
                                            table.c.meter == bindparam("b_meter"),
                                            table.c.seq == bindparam("b_seq")),
                        [{"b_meter": meter, "b_seq": seq} for meter, seq in changes.drop])
    insert_rows(session.connection(), table, _MARK_COLUMNS,
                [(device, meter, seq) for meter, seq in changes.add])
