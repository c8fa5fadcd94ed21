"""Failed polls become signed gap records: consecutive failures of one point merge into one.

Acquisition reports each failed poll of a point (``PollFailure``); nothing is invented for it, and
it consumes no ``seq``. :class:`GapTracker` keeps, per (meter, point), the open run of failures of
one error class and closes it into a :class:`OpenGap` (which the node signs as a ``Gap`` record,
``mrv_core.records``) when:

- the point answers again (a sample arrives for it),
- the error class changes (a timeout run followed by a busy run are two gaps), except for
  ``overrun`` (:data:`OVERRUN`: ticks skipped while the meter's previous poll still ran): a
  stretch of them joins a run of another class open for the point, and a run of them alone
  takes the class of the failure that follows it. Skipped ticks beside failing polls are those
  polls' doing (a poll that times out outlasts the interval), and a record that alternated
  with them would split one outage into a record per poll, two of them starting in the same
  second whenever the skipped ticks fell due before the failed poll ended (the uplink tells
  gaps apart by point and start second);
- the run has been open ``flush_after_s`` seconds (a long outage is committed in slices, so a
  crash loses at most that much of the gap evidence: the readings' own timestamps still show the
  hole, and the counter difference across it still carries the energy),
- the node stops (:meth:`GapTracker.close_all`).

Pure: no clock of its own, no I/O; times are the events' Unix seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["OVERRUN", "GapTracker", "OpenGap"]

#: The error class of ticks skipped because the meter's previous poll still ran
#: (``edge_node.acquisition.ErrorClass.OVERRUN``).
OVERRUN = "overrun"


@dataclass(frozen=True, slots=True)
class OpenGap:
    """A run of failed polls of one point, ready to be signed.

    ``from_timestamp``/``to_timestamp``: the first and the last failed poll (Unix seconds);
    ``failed_polls`` >= 1; ``error_class``: the class every failure of the run had (ticks
    skipped beside failures of another class count in their run);
    ``next_seq``: the seq of the meter's first reading after the run, once the node knows it
    (None: the meter's next seq when the record is signed; the tracker never sets it)."""

    meter: str
    point: str
    quantity: str
    from_timestamp: int
    to_timestamp: int
    failed_polls: int
    error_class: str
    next_seq: int | None = None


class GapTracker:
    """Merges failed polls per (meter, point) into runs (see the module docstring)."""

    def __init__(self, *, flush_after_s: int = 300) -> None:
        if flush_after_s < 1:
            raise ValueError(f"flush_after_s must be >= 1, got {flush_after_s}")
        self._flush_after_s = flush_after_s
        self._open: dict[tuple[str, str], OpenGap] = {}

    def failed(self, meter: str, point: str, quantity: str, timestamp: int,
               error_class: str, *, polls: int = 1, last_timestamp: int | None = None
               ) -> list[OpenGap]:
        """One failed poll (``polls`` of them, from ``timestamp`` to ``last_timestamp``: a
        stretch of skipped ticks); returns the runs this closes (a run of another class, but
        ``overrun`` never closes one nor is closed by one: module docstring)."""
        if polls < 1:
            raise ValueError(f"polls must be >= 1, got {polls}")
        last = timestamp if last_timestamp is None else max(timestamp, last_timestamp)
        key = (meter, point)
        closed: list[OpenGap] = []
        current = self._open.get(key)
        if current is not None and current.error_class != error_class:
            if error_class == OVERRUN:
                error_class = current.error_class  # skipped beside failing polls: theirs
            elif current.error_class != OVERRUN:
                closed.append(self._open.pop(key))
                current = None
        if current is None:
            self._open[key] = OpenGap(meter, point, quantity, timestamp, last, polls,
                                      error_class)
        else:
            self._open[key] = OpenGap(meter, point, quantity,
                                      min(timestamp, current.from_timestamp),
                                      max(last, current.to_timestamp),
                                      current.failed_polls + polls, error_class)
        return closed

    def answered(self, meter: str, point: str) -> list[OpenGap]:
        """The point answered again: returns its open run, if any, now closed."""
        gap = self._open.pop((meter, point), None)
        return [] if gap is None else [gap]

    def due(self, now: int) -> list[OpenGap]:
        """Runs open for at least ``flush_after_s`` seconds at ``now``, closed (a later failure
        of the same point opens a new run)."""
        keys = [key for key, gap in self._open.items()
                if now - gap.from_timestamp >= self._flush_after_s]
        return [self._open.pop(key) for key in keys]

    def close_all(self) -> list[OpenGap]:
        """Every open run, closed (the node is stopping)."""
        gaps = list(self._open.values())
        self._open.clear()
        return gaps

    @property
    def open_runs(self) -> int:
        return len(self._open)
