"""Seq continuity per (device, meter): which reading seqs the ledger does not hold.

A device numbers each meter's readings 0, 1, 2... without gaps (docs/protocol.md 3.1). The
ledger keeps, per meter, the highest seq it holds and the runs below it it does not hold:
:func:`add_seq` is the one rule, pure, so that after any sequence of arrivals (in order, out of
order, repeated) the runs are exactly ``{0..max} - held`` (a property test checks it). A missing
run is recorded, never filled in: only the device's own signed readings can close it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["MeterSeqs", "add_seq", "add_seqs"]


@dataclass(frozen=True)
class MeterSeqs:
    """``max_seq``: the highest seq held (None before the first); ``missing``: the runs
    ``(first, last)`` (inclusive) below it not held, ascending and disjoint."""

    max_seq: int | None
    missing: tuple[tuple[int, int], ...] = ()

    def holds(self, seq: int) -> bool:
        return (self.max_seq is not None and seq <= self.max_seq
                and not any(first <= seq <= last for first, last in self.missing))


def add_seq(state: MeterSeqs, seq: int) -> MeterSeqs:
    """The state after a new reading ``seq`` (>= 0) was accepted; ``seq`` must not be held
    already (:meth:`MeterSeqs.holds`: the caller deduplicates first), else ``ValueError``."""
    if seq < 0:
        raise ValueError(f"seq must be >= 0, got {seq}")
    if state.max_seq is None:
        return MeterSeqs(seq, ((0, seq - 1),) if seq > 0 else ())
    if seq > state.max_seq:
        run = ((state.max_seq + 1, seq - 1),) if seq > state.max_seq + 1 else ()
        return MeterSeqs(seq, state.missing + run)
    missing: list[tuple[int, int]] = []
    found = False
    for first, last in state.missing:
        if first <= seq <= last:
            found = True
            missing += [(a, b) for a, b in ((first, seq - 1), (seq + 1, last)) if a <= b]
        else:
            missing.append((first, last))
    if not found:
        raise ValueError(f"seq {seq} is already held (max {state.max_seq})")
    return MeterSeqs(state.max_seq, tuple(missing))


def add_seqs(state: MeterSeqs, seqs: Iterable[int]) -> MeterSeqs:
    """:func:`add_seq` for each of ``seqs`` in order."""
    for seq in seqs:
        state = add_seq(state, seq)
    return state
