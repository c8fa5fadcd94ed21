"""How to count a counter's readings with seqs in ``[lo, hi]`` exactly from its buckets
(``counter_buckets``: per (device, meter, quantity) and bucket of
:data:`~ledger_api.db.models.COUNTER_BUCKET_SEQS` = 100 seqs, the readings held, kept by the
database's triggers on ``readings``; revision 0007_counter_buckets).

A period's ``reading_count`` is the readings between its boundary readings, about 2,900 per
counter for a month of 15-minute readings. Counting them one index entry each
(``ix_readings_counter``, index-only) was most of PostgreSQL's month recompute at 1,000 meters
(``benchmarks/bench_recompute.py``; ``EXPLAIN (ANALYZE, BUFFERS)`` on the benchmark's
database, 2026-12-01): 600 ms and 18,000 buffers read per statement of 250 counters, 2.9
million entries of a 566 MB index (about 200 bytes an entry: two byte strings, a quantity code
and a ``NUMERIC`` seq, in pages half filled by time-ordered inserts across meters) that does
not fit the server's 128 MB of ``shared_buffers``, so every recompute copied it from the OS
cache. Alternatives measured or weighed:

- vacuum: the benchmark vacuums after its bulk load, as autovacuum does a minute later; the
  count was then index-only with no heap fetch, and the cost the index entries themselves;
- a smaller index: the other indexes on the readings are 137 to 426 MB, and any index still
  reads one entry per reading, so at best a constant factor; a surrogate counter id would
  change the readings table and ingest;
- per-hour or per-day buckets: a time bucket is not a seq range (a clock set back puts seqs of
  one hour into another), so a bucket straddling a boundary reading cannot be split by the
  index on seq; buckets of seqs can.

So: a bucket of seqs is counted whole when it lies inside ``[lo, hi]``; of the two edge
buckets, the part inside is counted on the index, or the bucket is counted whole less the part
outside, whichever range is shorter (at most 50 seqs each, :func:`plan_count`). A month is then
about 30 bucket rows and at most 100 index entries per counter: 24 ms and 3,200 buffer hits per
statement of 250 counters on the same database (``counter_buckets``: 29,000 rows, 3.5 MB, and
a 3.3 MB key). The figure equals ``COUNT`` exactly in every arrival order, gap fill, duplicate
and purge, since the triggers keep each bucket equal to its readings in the same transaction
as the rows (property test: ``tests/unit/ledger_api/recompute/test_buckets.py``). What they
cost ingest, measured per 10,000 readings inserted: about 0.09 s on SQLite (row-level
triggers; an empty trigger alone costs 0.06 s), about 0.03 s on PostgreSQL (one grouped
upsert per statement), against 1.5 to 2 s for the whole 10,000-reading request.
"""

from __future__ import annotations

from dataclasses import dataclass

from mrv_core.codec import UINT64_MAX

from ..db.models import COUNTER_BUCKET_SEQS

__all__ = ["EMPTY", "CountPlan", "plan_count"]

#: An empty seq range (first > last): counts nothing.
EMPTY = (0, 1, 0)


@dataclass(frozen=True, slots=True)
class CountPlan:
    """The readings with seqs in ``[lo, hi]`` are the sum of buckets ``first_bucket`` ..
    ``last_bucket`` (none when ``first_bucket > last_bucket``) plus ``sign`` times the readings
    in each seq range ``(sign, first_seq, last_seq)`` of ``ranges`` (two, :data:`EMPTY` when
    not needed)."""

    first_bucket: int
    last_bucket: int
    ranges: tuple[tuple[int, int, int], tuple[int, int, int]]


def plan_count(lo: int, hi: int, size: int = COUNTER_BUCKET_SEQS) -> CountPlan:
    """The :class:`CountPlan` for seqs ``lo`` .. ``hi`` (``0 <= lo <= hi <= UINT64_MAX``) over
    buckets of ``size`` seqs, each of its ranges at most ``size // 2`` seqs long."""
    if not 0 <= lo <= hi <= UINT64_MAX:
        raise ValueError(f"expected seqs 0 <= lo <= hi <= {UINT64_MAX}, got {lo} and {hi}")
    first, last = lo // size, hi // size
    floor, top = first * size, min(last * size + size - 1, UINT64_MAX)
    if first == last:  # one bucket: the range itself, or the bucket less both sides
        inside = hi - lo + 1
        if inside <= (top - floor + 1) - inside:
            return CountPlan(1, 0, ((1, lo, hi), EMPTY))
        return CountPlan(first, first, (_less(floor, lo - 1), _less(hi + 1, top)))
    low, high = EMPTY, EMPTY
    if lo > floor:  # the first bucket holds seqs below lo
        if lo - floor <= size // 2:
            low = (-1, floor, lo - 1)
        else:
            first, low = first + 1, (1, lo, floor + size - 1)
    if hi < top:  # the last bucket holds seqs above hi
        if top - hi <= size // 2:
            high = (-1, hi + 1, top)
        else:
            last, high = last - 1, (1, last * size, hi)
    return CountPlan(first, last, (low, high))


def _less(first: int, last: int) -> tuple[int, int, int]:
    """The seqs ``first`` .. ``last`` subtracted (:data:`EMPTY` when none)."""
    return (-1, first, last) if first <= last else EMPTY
