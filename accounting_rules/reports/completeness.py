"""Step ``evidence`` of the report bundle verifier, second half: the proven readings of each
measured line are the RIGHT ones (docs/protocol.md 11.4).

Signed, anchored readings prove what a device measured; they do not prove by themselves that
no other reading lies between them. Two facts of the protocol do: a device numbers the readings
of each meter 0, 1, 2... with no gap, one sequence shared by every quantity the meter reads
(protocol 3.1; ``edge_node.signing.signer`` numbers each sample of a poll in turn), and a
meter's timestamps never go back (the signer refuses an earlier sample). So for a measured line
of counter (device, meter, quantity) over ``[start, end)``, :func:`check_complete` requires,
among the bundle's proven readings of that (device, meter):

1. timestamps that never go back in seq order (else the facts above do not hold);
2. for each bound ``t`` (``start``, ``end``) and its boundary reading (``startReading``,
   ``endReading``, timestamped at or before ``t``): the **successor run**, every seq after the
   boundary reading (after none: from seq 0, the meter's first) up to the first reading
   timestamped after ``t``, proven, and none of them but that last of the line's quantity.
   Then no reading of the counter lies after the boundary reading and at or before ``t``: the
   boundary reading is the last one, and ``null`` means the counter had none;
3. for every two consecutive proven readings of the counter from the start reading (or the
   first) to the end reading whose value falls, with no proven meter change whose ``nextSeq``
   lies in ``(a.seq, b.seq]``: every seq between them proven (so of other quantities). A fall
   is then one step of the counter, not a span whose hidden readings could turn it into a
   rollover, a meter change or an unexplained decrease.

Every proven reading of the counter counts (step ``activity`` builds the history from all of
them): a reading the ledger adds between two sparse ones splits their step, and a fall it
reveals must then meet rule 3 like any other.

Not proven (docs/protocol.md 11.4, "What the evidence proves"): a meter change record left out
of an adjacent falling step, a full extra wrap inside a rising step, a meter or device left out
of the plan.

Errors: :class:`~mrv_core.errors.VerificationError` at ``evidence``, naming the meter path,
device and seqs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import pairwise

from mrv_core.errors import VerificationError
from mrv_core.reading import Reading

from .document import ReadingRef

__all__ = ["check_complete", "check_meter"]


def check_meter(name: str, readings: Sequence[Reading]) -> dict[int, Reading]:
    """Rule 1 for the proven readings of one (device, meter), any order: by seq, each seq once
    (the same reading proven twice is one), timestamps never going back. ``name`` names the
    meter in the error."""
    by_seq: dict[int, Reading] = {}
    for reading in readings:
        known = by_seq.setdefault(reading.seq, reading)
        if known != reading:
            raise VerificationError("evidence", f"{name}: two different readings seq "
                                                f"{reading.seq} are proven")
    ordered = sorted(by_seq)
    for a, b in pairwise(ordered):
        if by_seq[b].timestamp < by_seq[a].timestamp:
            raise VerificationError("evidence", f"{name}: timestamps go back from seq {a} "
                                                f"({by_seq[a].timestamp}) to seq {b} "
                                                f"({by_seq[b].timestamp})")
    return {seq: by_seq[seq] for seq in ordered}


def check_complete(name: str, quantity: str, start_reading: ReadingRef | None,
                   end_reading: ReadingRef | None, meter: Mapping[int, Reading],
                   change_seqs: Sequence[int], start: int, end: int) -> None:
    """Rules 2 and 3 (module docstring) for the counter of ``quantity`` (``name`` names it in
    errors: meter path and device) over ``[start, end)`` with the boundary readings the
    document states: ``meter`` is :func:`check_meter` of the proven readings of its (device,
    meter), ``change_seqs`` the ``nextSeq`` of each proven meter change of the counter."""
    for side, ref, bound in (("startReading", start_reading, start),
                             ("endReading", end_reading, end)):
        _check_run(name, quantity, meter, side, ref, bound)
    lo = start_reading.seq if start_reading is not None else -1
    hi = end_reading.seq if end_reading is not None else -1
    counter = [r for seq, r in meter.items() if r.quantity == quantity and lo <= seq <= hi]
    for a, b in pairwise(counter):
        if b.value >= a.value or any(a.seq < s <= b.seq for s in change_seqs):
            continue
        absent = [seq for seq in range(a.seq + 1, b.seq) if seq not in meter]
        if absent:
            raise VerificationError(
                "evidence", f"{name}: the counter falls from {a.value} at seq {a.seq} to "
                            f"{b.value} at seq {b.seq} with no proven meter change and "
                            f"{len(absent)} reading(s) of the meter between them not proven "
                            f"(first seq {absent[0]}): a fall must be shown as one step")


def _check_run(name: str, quantity: str, meter: Mapping[int, Reading], side: str,
               ref: ReadingRef | None, bound: int) -> None:
    """Rule 2 for one bound."""
    if ref is not None and ref.timestamp > bound:
        raise VerificationError("evidence", f"{name}: its {side} (seq {ref.seq}) is timestamped "
                                            f"{ref.timestamp}, after the bound {bound}")
    what = "no reading lies at or before" if ref is None else \
        f"its {side} (seq {ref.seq}) is the last reading at or before"
    seq = 0 if ref is None else ref.seq + 1
    while True:
        reading = meter.get(seq)
        if reading is None:
            raise VerificationError("evidence", f"{name}: reading seq {seq} of the meter is not "
                                                f"proven, so nothing shows that {what} {bound}")
        if reading.timestamp > bound:
            return
        if reading.quantity == quantity:
            raise VerificationError("evidence", f"{name}: reading seq {seq} of the counter at "
                                                f"{reading.timestamp} is proven, so it is not "
                                                f"true that {what} {bound}")
        seq += 1
