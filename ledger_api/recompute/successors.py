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

:func:`witnesses` reads them (``uq_readings_key``, a few rows per counter) and names what is not
held yet; ``ledger_api.reports`` refuses to create a report while anything is missing (409
``evidence``: a report that could not verify is never made). Errors: none raised here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from sqlalchemy import Connection, bindparam, select

from mrv_core.codec import format_address

from ..db.models import ReadingRow

__all__ = ["Sparse", "Witnesses", "witnesses"]

#: Readings fetched per query while walking a successor run (a meter reads a few points).
_RUN_CHUNK = 16
_METER = (ReadingRow.device == bindparam("device"), ReadingRow.meter == bindparam("meter"))
_FROM = (select(ReadingRow.seq, ReadingRow.timestamp, ReadingRow.quantity, ReadingRow.position)
         .where(*_METER, ReadingRow.seq >= bindparam("first"))
          .order_by(ReadingRow.seq.asc()).limit(_RUN_CHUNK))
_BETWEEN = (select(ReadingRow.seq, ReadingRow.position)
            .where(*_METER, ReadingRow.seq > bindparam("lo"), ReadingRow.seq < bindparam("hi"))
            .order_by(ReadingRow.seq.asc()))


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


def witnesses(connection: Connection, *, device: bytes, meter: bytes, path: str,
              quantity: str, readings: Sequence[Sparse], change_seqs: Sequence[int],
              start: int, end: int) -> Witnesses:
    """The witnesses (module docstring) of the counter ``(device, meter, quantity)`` of meter
    path ``path`` whose sparse readings for ``[start, end)`` are ``readings`` (seq order, from
    the start reading or the counter's first, to the end reading; empty when none lies at or
    before ``end``) and whose signed meter changes have the ``nextSeq`` values
    ``change_seqs``."""
    name = f"{path} ({format_address(device)})"
    params = {"device": device, "meter": meter}
    positions: list[int] = []
    missing: list[str] = []
    opening = readings[0] if readings and readings[0].timestamp <= start else None
    closing = readings[-1] if readings else None
    for bound, ref, what in ((start, opening, "start"), (end, closing, "end")):
        after = -1 if ref is None else ref.seq
        seq, done = after + 1, False
        while not done:
            rows = connection.execute(_FROM, {**params, "first": seq}).all()
            for row_seq, timestamp, row_quantity, position in rows:
                if row_seq != seq:
                    break  # seq is not held
                positions.append(position)
                if timestamp > bound:
                    done = True
                elif row_quantity == quantity:
                    missing.append(f"{name}: reading seq {row_seq} at {timestamp} lies at or "
                                   f"before the period {what} {bound}, after the boundary "
                                   "reading")
                    done = True
                if done:
                    break
                seq += 1
            else:
                if len(rows) == _RUN_CHUNK:
                    continue
            if not done:
                missing.append(
                    f"{name}: no reading after the period {what} delivered yet (reading seq "
                    f"{seq} of the meter, which shows that "
                    + ("no reading lies at or before" if ref is None
                       else f"seq {ref.seq} is the last reading at or before")
                    + f" {bound}, is not held)")
                done = True
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
