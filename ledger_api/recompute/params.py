"""Tables of parameters for the recompute's statements over many counters at once: one row
per counter (an index ``i``, then named columns), joined or correlated to the readings' indexes
(``evidence``: boundary readings and counts; ``successors``: read-ahead of successor runs).

- PostgreSQL: ``unnest`` of one typed array parameter per column (``{name}_{column}``), one
  statement for any number of rows. The ``UNION ALL`` below took PostgreSQL 70 to 200 ms to
  plan per statement of 250 rows (``EXPLAIN (SUMMARY)`` at 1,000 meters, issue 11: the
  boundary readings' and the counts'), longer than running it once the counts came from
  buckets, and eight to twelve such statements a month recompute; ``unnest`` plans in under a
  millisecond.
- SQLite (no arrays): a CTE of a ``UNION ALL`` of one-row selects (parameters
  ``{name}{row}_{column}``). Not ``VALUES``: SQLAlchemy caches no statement holding one, and
  compiling 500 rows of it took a second a recompute; this one is built once per row count
  (callers' ``lru_cache``) and compiled once. SQLite takes at most 500 terms in a compound
  select.

Columns are typed as the readings' columns of their name (:data:`_TYPE_OF`), so values bind as
the readings' do (``Uint64``'s encoding on SQLite, its range check on both).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import BigInteger, Integer, bindparam, cast, column, func, select, union_all
from sqlalchemy.dialects.postgresql import ARRAY

from ..db.models import ReadingRow

__all__ = ["bind", "keyed"]

#: The readings' column whose type a parameter column of that name takes (else its own name).
_TYPE_OF = {"path": "meter_path", "first": "seq", "end": "seq", "low_first": "seq",
            "low_last": "seq", "high_first": "seq", "high_last": "seq"}
#: Types of parameter columns that are no readings' column.
_TYPES: dict[str, Any] = {"i": Integer(), "first_bucket": BigInteger(),
                          "last_bucket": BigInteger()}


def keyed(name: str, rows: int, *names: str, postgresql: bool) -> Any:
    """A table ``name`` of ``rows`` rows: ``i``, then the columns ``names`` (module
    docstring); :func:`bind` gives its parameters."""
    columns = [(n, _TYPES.get(n) or ReadingRow.__table__.c[_TYPE_OF.get(n, n)].type)
               for n in ("i", *names)]
    if postgresql:
        arrays = [cast(bindparam(f"{name}_{n}", type_=ARRAY(t)), ARRAY(t)) for n, t in columns]
        return func.unnest(*arrays).table_valued(
            *(column(n, t) for n, t in columns)).render_derived(name=name)
    return union_all(*(select(*(bindparam(f"{name}{r}_{n}", type_=t).label(n)
                                for n, t in columns))
                       for r in range(rows))).cte(name)


def bind(name: str, rows: Sequence[tuple[Any, ...]], *names: str,
         postgresql: bool) -> dict[str, Any]:
    """The parameters of :func:`keyed` ``name`` for ``rows`` (each ``(i, *names)``)."""
    if postgresql:
        return {f"{name}_{n}": [row[k] for row in rows] for k, n in enumerate(("i", *names))}
    return {f"{name}{r}_{n}": v for r, row in enumerate(rows)
            for n, v in zip(("i", *names), row, strict=True)}
