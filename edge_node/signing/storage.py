"""Polling stopped at the disk hard limit becomes signed gap records of class ``storage``.

Above ``disk_hard_limit_mib`` the node stops polling, loudly (docs/edge.md, "Clock, rollover and
disk budget"): no reading is taken, so none is signed, and a hole in the readings' timestamps
alone would not say why. :class:`PollingStop` remembers when polling stopped; when it resumes
(space was freed) or the node stops while stopped, :meth:`PollingStop.close` gives one run per
(meter, point) the poller reads, which the node signs as ``Gap`` records
(``mrv_core.records``, ``errorClass = "storage"``) before the first new poll, like the runs of
failed polls (:mod:`.gaps`). A report can then prove the readings were not taken, and why.

Each run covers ``[stopped_at, resumed_at]`` (Unix seconds of the node's clock); its
``failed_polls`` is the number of polls the meter's interval would have made in it,
``max(1, floor((resumed_at - stopped_at) / interval))``, computed exactly with the interval as
written (its shortest decimal form: 0.2 is 1/5, not the binary float just above it), at most
2^32 - 1 (the field is a uint32).

Pure: no clock, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction

from .gaps import OpenGap

__all__ = ["STORAGE", "MeterPoints", "PollingStop"]

#: The error class of a poll not made because the store was above its hard limit.
STORAGE = "storage"
_UINT32_MAX = 2**32 - 1


@dataclass(frozen=True, slots=True)
class MeterPoints:
    """What one meter polls: its path, interval (seconds) and ``(point, quantity)`` pairs."""

    path: str
    interval: float
    points: Sequence[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class PollingStop:
    """Polling stopped at ``stopped_at`` (Unix seconds)."""

    stopped_at: int

    def close(self, resumed_at: int, meters: Iterable[MeterPoints]) -> list[OpenGap]:
        """The ``storage`` runs of every point of ``meters`` from the stop to ``resumed_at``
        (a clock that went back is taken as no time: the run is one instant)."""
        end = max(resumed_at, self.stopped_at)
        runs = []
        for meter in meters:
            polls = max(1, min(_UINT32_MAX, int(Fraction(end - self.stopped_at)
                                                / Fraction(str(meter.interval)))))
            runs += [OpenGap(meter.path, point, quantity, self.stopped_at, end, polls, STORAGE)
                     for point, quantity in meter.points]
        return runs
