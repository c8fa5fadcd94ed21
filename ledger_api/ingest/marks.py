"""Counter marks: the held readings of a counter whose value is below the value of the
counter's previous held reading.

A **counter** is one cumulative quantity of one meter of one device, (device, meter,
quantity): a meter's points share its seqs (docs/protocol.md 3.1: seq is per (device, meter)),
so a counter's readings are the meter's readings of that quantity, and its previous held
reading is the one of the same quantity with the greatest seq below. Only cumulative
quantities (``mrv_core.quantities``) have counters; a power or voltage reading is never
marked.

A period's recompute reads only the boundary readings of a counter and the two readings of
each *notable* step between them (docs/api.md, "Monitoring plan and recompute"); a decreasing
step (a rollover, a meter change, an unexplained decrease) is notable, and ``counter_marks``
finds it through an index instead of a scan. Ingest keeps the marks exact in every arrival
order:

- **in order** (a seq above the meter's ``max_seq``: the usual case) the counter's previous
  held reading is its top (``counter_tops``: seq and value of its highest held reading), so no
  reading is read back; the readings of one request chain from it in seq order;
- **a gap fill** (a seq below ``max_seq``: inside a run of seqs the ledger did not hold) looks
  up the counter's held neighbours of that run (one indexed query each way per run, not per
  reading). The new readings, those neighbours and the top, in seq order, are a window of the
  counter's held readings in which every new reading's predecessor and every held successor
  of a new reading appear with their true predecessor (:func:`window_marks`): the new readings
  are marked against theirs, and a held successor's mark is decided again (removed, and added
  when it still holds).

A property test (``tests/unit/ledger_api/ingest/test_marks.py``) checks, after random arrival
orders with duplicates, conflicts and gap fills on meters of several quantities, that the
marks equal the decreases found naively over all held readings, and the tops their highest.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, select, tuple_, update
from sqlalchemy.orm import Session

from mrv_core.quantities import QUANTITIES, QuantityKind

from ..db.bulk import insert_rows
from ..db.models import CounterMarkRow, CounterTopRow, ReadingRow
from .seq_gaps import MeterSeqs

__all__ = ["CounterMarks", "is_counter", "window_marks"]

#: (meter, quantity): one counter of the request's device.
Counter = tuple[bytes, str]
_MARK_COLUMNS = ("device", "meter", "seq")
_TOP_COLUMNS = ("device", "meter", "quantity", "seq", "value")


#: The registered cumulative quantity codes: readings of these are a counter's.
_COUNTERS = frozenset(code for code, q in QUANTITIES.items()
                      if q.kind is QuantityKind.CUMULATIVE)


def is_counter(quantity: str) -> bool:
    """Whether readings of ``quantity`` are a counter's (a registered cumulative quantity)."""
    return quantity in _COUNTERS


def window_marks(window: Sequence[tuple[int, int, bool]]) -> tuple[list[int], list[int]]:
    """Given a window of a counter's held readings ``(seq, value, new)`` in seq order (module
    docstring), the seqs to mark (new readings below their predecessor, held successors of a
    new reading below it) and the held successors whose mark is decided again (to remove
    first)."""
    marked: list[int] = []
    again: list[int] = []
    for (_, before, before_new), (seq, value, new) in pairwise(window):
        if not new and not before_new:
            continue  # a held reading after a held one: its mark stands
        if not new:
            again.append(seq)
        if value < before:
            marked.append(seq)
    return marked, again


@dataclass
class CounterMarks:
    """The counter marks and tops of one request of one device: :meth:`add` each reading the
    request accepts, then :meth:`save` once, before its readings are inserted (the neighbours
    looked up are those held before the request)."""

    session: Session
    device: bytes
    _fresh: dict[Counter, list[tuple[int, int]]] = field(default_factory=dict)

    def add(self, meter: bytes, quantity: str, seq: int, value: int) -> None:
        """A reading accepted by this request (not yet inserted)."""
        if quantity in _COUNTERS:
            self._fresh.setdefault((meter, quantity), []).append((seq, value))

    def save(self, seqs: dict[bytes, MeterSeqs]) -> None:
        """Write the marks and tops the accepted readings change, given each meter's stored seq
        state (``seqs``; absent: a meter new to the ledger)."""
        if not self._fresh:
            return
        tops = self._tops()
        add: list[tuple[bytes, int]] = []
        again: list[tuple[bytes, int]] = []
        for (meter, quantity), fresh in self._fresh.items():
            window = self._window(meter, quantity, sorted(fresh), seqs.get(meter),
                                  tops.get((meter, quantity)))
            marked, decided = window_marks(window)
            add += [(meter, seq) for seq in marked]
            again += [(meter, seq) for seq in decided]
        marks = cast(Table, CounterMarkRow.__table__)
        if again:
            self.session.execute(delete(marks).where(
                marks.c.device == self.device, marks.c.meter == bindparam("b_meter"),
                marks.c.seq == bindparam("b_seq")),
                [{"b_meter": meter, "b_seq": seq} for meter, seq in again])
        insert_rows(self.session.connection(), marks, _MARK_COLUMNS,
                    [(self.device, meter, seq) for meter, seq in add])
        self._save_tops(tops)

    def _tops(self) -> dict[Counter, tuple[int, int]]:
        """The stored top (seq, value) of each counter of the request."""
        found: dict[Counter, tuple[int, int]] = {}
        keys = sorted(self._fresh)
        for i in range(0, len(keys), 500):
            rows = self.session.execute(
                select(CounterTopRow.meter, CounterTopRow.quantity, CounterTopRow.seq,
                       CounterTopRow.value)
                .where(CounterTopRow.device == self.device,
                       tuple_(CounterTopRow.meter, CounterTopRow.quantity).in_(keys[i:i + 500])))
            found.update({(meter, quantity): (seq, value) for meter, quantity, seq, value in rows})
        return found

    def _neighbour(self, meter: bytes, quantity: str, seq: int,
                   below: bool) -> tuple[int, int] | None:
        """The counter's held reading nearest to ``seq`` below (or above) it, (seq, value),
        through the unique index (device, meter, seq)."""
        query = select(ReadingRow.seq, ReadingRow.value).where(
            ReadingRow.device == self.device, ReadingRow.meter == meter,
            ReadingRow.quantity == quantity,
            ReadingRow.seq < seq if below else ReadingRow.seq > seq)
        order = ReadingRow.seq.desc() if below else ReadingRow.seq.asc()
        row = self.session.execute(query.order_by(order).limit(1)).one_or_none()
        return (row[0], row[1]) if row is not None else None

    def _window(self, meter: bytes, quantity: str, fresh: list[tuple[int, int]],
                old: MeterSeqs | None, top: tuple[int, int] | None
                ) -> list[tuple[int, int, bool]]:
        """The window of the module docstring: the new readings, the top, and the held
        neighbours of each missing run the new readings fill."""
        held: dict[int, int] = {}
        if top is not None:
            held[top[0]] = top[1]
        below = [r for r in fresh if old is not None and old.max_seq is not None
                 and r[0] < old.max_seq]
        if below:
            assert old is not None
            firsts = [first for first, _ in old.missing]
            runs: dict[int, list[int]] = {}
            for seq, _ in below:
                index = bisect.bisect_right(firsts, seq) - 1
                assert index >= 0 and seq <= old.missing[index][1], "a fill is in a missing run"
                runs.setdefault(index, []).append(seq)
            for run in runs.values():
                for found in (self._neighbour(meter, quantity, run[0], below=True),
                              self._neighbour(meter, quantity, run[-1], below=False)):
                    if found is not None:
                        held[found[0]] = found[1]
        points = {seq: (seq, value, False) for seq, value in held.items()}
        points.update({seq: (seq, value, True) for seq, value in fresh})
        return [points[seq] for seq in sorted(points)]

    def _save_tops(self, tops: dict[Counter, tuple[int, int]]) -> None:
        moved: list[dict[str, Any]] = []
        created: list[tuple[Any, ...]] = []
        for (meter, quantity), fresh in self._fresh.items():
            seq, value = max(fresh)
            stored = tops.get((meter, quantity))
            if stored is None:
                created.append((self.device, meter, quantity, seq, value))
            elif seq > stored[0]:
                moved.append({"b_meter": meter, "b_quantity": quantity, "b_seq": seq,
                              "b_value": value})
        table = cast(Table, CounterTopRow.__table__)
        if moved:
            self.session.execute(update(table).where(
                table.c.device == self.device, table.c.meter == bindparam("b_meter"),
                table.c.quantity == bindparam("b_quantity"))
                .values(seq=bindparam("b_seq"), value=bindparam("b_value")), moved)
        insert_rows(self.session.connection(), table, _TOP_COLUMNS, created)
