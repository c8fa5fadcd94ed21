"""The readings that prove a counter's sparse evidence complete (docs/protocol.md 11.4, step
``evidence``): what a report bundle must carry besides the sparse readings so that a verifier
knows the boundary readings are the *last* ones at or before each bound and that no fall of the
counter hides between two sparse readings.

Seqs are per (device, meter), 0, 1, 2... with no gaps (protocol 3.1), shared by every quantity
the meter reads (the edge node numbers each sample of a poll in turn,
``edge_node.signing.signer``), and a meter's timestamps never go back (the signer refuses an
earlier sample). So, for a counter (device, meter, quantity):

- **successor run** of a bound ``t`` (the period's start or end): the meter's readings from the
  seq after the boundary reading (from seq 0 when there is none) up to and including the first
  one timestamped after ``t``. None before that last one is of the counter's quantity (else the
  boundary reading would not be the last at or before ``t``); once a reading lies after ``t`` all
  later ones do. With one point per meter the run is the single reading ``seq + 1``.
- **fall witnesses**: for two consecutive sparse readings of the counter whose value falls with
  no signed meter change in between, every reading of the meter between them (other
  quantities), so the fall is shown to be one step of the counter, never a span that could hide
  a rollover or a meter change.

:func:`witnesses` reads them (``uq_readings_key``, a few rows per counter; :func:`read_ahead`
the first seqs of every run at once) and names what is not
held yet; ``ledger_api.reports`` refuses to create a report while anything is missing (409
``evidence``: a report that could not verify is never made). Errors: none raised here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from sqlalchemy import Connection, and_, bindparam, or_, select

from mrv_core.codec import format_address

from ..db.models import ReadingRow
from .params import bind, keyed

__all__ = ["ReadAhead", "Sparse", "Witnesses", "read_ahead", "run_starts", "witnesses"]

#: Readings fetched per query while walking a successor run (a meter reads a few points).
_RUN_CHUNK = 16
#: Seqs of each successor run read ahead for all counters at once (:func:`read_ahead`).
_AHEAD = 4
_METER = (ReadingRow.device == bindparam("device"), ReadingRow.meter == bindparam("meter"))
_FROM = (select(ReadingRow.seq, ReadingRow.timestamp, ReadingRow.quantity, ReadingRow.position)
         .where(*_METER, ReadingRow.seq >= bindparam("first"))
         .order_by(ReadingRow.seq.asc()).limit(_RUN_CHUNK))
_BETWEEN = (select(ReadingRow.seq, ReadingRow.position)
            .where(*_METER, ReadingRow.seq > bindparam("lo"), ReadingRow.seq < bindparam("hi"))
            .order_by(ReadingRow.seq.asc()))
_AHEAD_COLUMNS = (ReadingRow.device, ReadingRow.meter, ReadingRow.seq, ReadingRow.timestamp,
                  ReadingRow.quantity, ReadingRow.position)
#: :func:`read_ahead`'s runs: (device, meter) and their seqs ``[first, end)``.
_RUN_KEYS = ("device", "meter", "first", "end")
_RUNS = keyed("runs", 0, *_RUN_KEYS, postgresql=True)
_AHEAD_STATEMENT = select(*_AHEAD_COLUMNS).select_from(_RUNS).join(ReadingRow, and_(
    ReadingRow.device == _RUNS.c.device, ReadingRow.meter == _RUNS.c.meter,
    ReadingRow.seq >= _RUNS.c.first, ReadingRow.seq < _RUNS.c.end))


@dataclass(frozen=True, slots=True)
class Witnesses:
    """The ledger positions of the readings that complete one counter's evidence, and a
    sentence per thing not held yet (empty: the evidence is complete)."""

    positions: tuple[int, ...]
    missing: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Sparse:
    """A sparse reading as :func:`witnesses` needs it."""

    seq: int
    timestamp: int
    value: int


Row = tuple[int, int, str, int]  # (seq, timestamp, quantity, position) of a held reading


@dataclass(frozen=True, slots=True)
class ReadAhead:
    """Readings of meters read ahead in a few queries for many counters: by (device, meter) the
    rows held among the seqs asked for, and the seqs asked for (absent from ``rows``: not
    held). :func:`witnesses` reads further by itself where this does not reach."""

    rows: dict[tuple[bytes, bytes], dict[int, Row]]
    asked: dict[tuple[bytes, bytes], set[int]]

    @classmethod
    def empty(cls) -> ReadAhead:
        return cls({}, {})

    def get(self, connection: Connection, device: bytes, meter: bytes, seq: int) -> Row | None:
        """The held reading ``seq`` of (device, meter), or ``None`` when not held."""
        key = (device, meter)
        asked = self.asked.setdefault(key, set())
        rows = self.rows.setdefault(key, {})
        if seq not in asked:
            found = connection.execute(_FROM, {"device": device, "meter": meter,
                                               "first": seq}).all()
            rows.update((row[0], (row[0], row[1], row[2], row[3])) for row in found)
            reach = found[-1][0] if len(found) == _RUN_CHUNK else seq + _RUN_CHUNK - 1
            asked.update(range(seq, reach + 1))
        return rows.get(seq)


def read_ahead(connection: Connection, starts: Sequence[tuple[bytes, bytes, int]]
               ) -> ReadAhead:
    """The readings ``(device, meter, seq)`` for ``seq`` in ``[first, first + 4)`` of each
    ``(device, meter, first)``: the successor runs of most counters (a meter of up to four
    points). On PostgreSQL one statement per 1,000 runs, the runs an ``unnest`` of arrays
    (:mod:`.params`) joined to ``uq_readings_key``: under 1 ms to plan and 13 to 18 ms to run
    per 1,000 runs, where the OR below took 7 to 13 ms to plan per 100 runs, besides building
    and compiling a statement of 400 parameters each time (this function at 1,000 meters,
    shared machine: 0.8 to 1.4 s before, 0.3 to 0.7 s after). On SQLite one query per 100
    runs, an OR of index ranges (searched once per range; a row-value ``IN`` list made SQLite
    scan the table)."""
    runs = sorted(set(starts))
    ahead = ReadAhead.empty()
    for d, m, first in runs:
        ahead.asked.setdefault((d, m), set()).update(range(first, first + _AHEAD))
    postgresql = connection.dialect.name == "postgresql"
    size = 1000 if postgresql else 100
    for i in range(0, len(runs), size):
        chunk = runs[i:i + size]
        if postgresql:
            found = connection.execute(_AHEAD_STATEMENT, bind(
                "runs", [(k, d, m, first, first + _AHEAD) for k, (d, m, first)
                         in enumerate(chunk)], *_RUN_KEYS, postgresql=True))
        else:
            found = connection.execute(select(*_AHEAD_COLUMNS).where(or_(*(
                and_(ReadingRow.device == d, ReadingRow.meter == m, ReadingRow.seq >= first,
                     ReadingRow.seq < first + _AHEAD) for d, m, first in chunk))))
        for d, m, seq, timestamp, quantity, position in found:
            ahead.rows.setdefault((d, m), {})[seq] = (seq, timestamp, quantity, position)
    return ahead


def run_starts(device: bytes, meter: bytes, readings: Sequence[Sparse], start: int
               ) -> list[tuple[bytes, bytes, int]]:
    """Where the two successor runs of a counter begin (for :func:`read_ahead`)."""
    opening = readings[0] if readings and readings[0].timestamp <= start else None
    return [(device, meter, 0 if ref is None else ref.seq + 1)
            for ref in (opening, readings[-1] if readings else None)]


def witnesses(connection: Connection, *, device: bytes, meter: bytes, path: str,
              quantity: str, readings: Sequence[Sparse], change_seqs: Sequence[int],
              start: int, end: int, ahead: ReadAhead | None = None) -> Witnesses:
    """The witnesses (module docstring) of the counter ``(device, meter, quantity)`` of meter
    path ``path`` whose sparse readings for ``[start, end)`` are ``readings`` (seq order, from
    the start reading or the counter's first, to the end reading; empty when none lies at or
    before ``end``) and whose signed meter changes have the ``nextSeq`` values
    ``change_seqs``; ``ahead`` the readings already read (:func:`read_ahead`)."""
    name = f"{path} ({format_address(device)})"
    params = {"device": device, "meter": meter}
    held = ahead or ReadAhead.empty()
    positions: list[int] = []
    missing: list[str] = []
    opening = readings[0] if readings and readings[0].timestamp <= start else None
    closing = readings[-1] if readings else None
    for bound, ref, what in ((start, opening, "start"), (end, closing, "end")):
        seq = 0 if ref is None else ref.seq + 1
        while (row := held.get(connection, device, meter, seq)) is not None:
            _, timestamp, row_quantity, position = row
            positions.append(position)
            if timestamp > bound:
                break
            if row_quantity == quantity:
                missing.append(f"{name}: reading seq {seq} at {timestamp} lies at or before "
                               f"the period {what} {bound}, after the boundary reading")
                break
            seq += 1
        else:
            missing.append(
                f"{name}: no reading after the period {what} delivered yet (reading seq {seq} "
                "of the meter, which shows that "
                + ("no reading lies at or before" if ref is None
                   else f"seq {ref.seq} is the last reading at or before")
                + f" {bound}, is not held)")
    changes = sorted(change_seqs)
    for a, b in pairwise(readings):
        if b.value >= a.value or any(a.seq < s <= b.seq for s in changes):
            continue
        between = connection.execute(_BETWEEN, {**params, "lo": a.seq, "hi": b.seq}).all()
        positions += [position for _, position in between]
        if len(between) != b.seq - a.seq - 1:
            missing.append(f"{name}: the counter falls from seq {a.seq} to seq {b.seq} and "
                           f"{b.seq - a.seq - 1 - len(between)} reading(s) of the meter between "
                           "them are not held yet: the fall cannot be shown to be one step")
    return Witnesses(tuple(dict.fromkeys(positions)), tuple(missing))
