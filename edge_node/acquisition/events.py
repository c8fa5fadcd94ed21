"""What the acquisition layer hands on: samples, poll failures, and its counters.

Each poll of a meter ends, per point it read, in exactly one event:

- :class:`Sample`: the point's value in its quantity's integer unit, as
  :func:`edge_node.decoding.decode_point` computed it, with the raw registers it came from (the
  store keeps them beside the reading so the conversion can be audited);
- :class:`PollFailure`: no value this interval, with the error class (``classify.ErrorClass``)
  and a detail for the log; the signer turns consecutive failures into a signed Gap record.
  Ticks the poller skipped because the meter's previous poll still ran are failures too
  (class ``overrun``, one event per cumulative point for the whole skipped stretch).

Report by exception may leave an instantaneous point's good value unsent (``report``); a
failure is always sent. Events go to an :class:`EventSink`: anything with ``async put(event)``,
so an ``asyncio.Queue[Event]`` is one. ``put`` may block to push back: the meter's next tick
then waits, and a tick that falls due meanwhile is counted as missed (``PollStats``).
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Protocol

from .classify import ErrorClass

__all__ = ["Event", "EventSink", "PollFailure", "PollStats", "Sample"]


@dataclass(frozen=True, slots=True)
class Sample:
    """One point's value from one poll.

    ``meter``: the meter's ISA-95 path; ``point``: the profile's point name; ``quantity``: the
    quantity code (``mrv_core.quantities``); ``timestamp``: Unix seconds (UTC) of the wall
    clock when the answer arrived; ``value``: integer in the quantity's unit; ``registers``: the
    raw 16-bit registers of this point, in wire order.
    """

    meter: str
    point: str
    quantity: str
    timestamp: int
    value: int
    registers: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class PollFailure:
    """No value for a point this interval.

    ``error``: the error class; ``detail``: a human-readable cause (for logs, not signed);
    ``attempts``: read attempts for it this interval (0 while a configuration error holds the
    point off or the tick was skipped, more than 1 after busy retries). ``timestamp`` as in
    :class:`Sample`. ``polls``: the polls this failure stands for, 1 but for a stretch of
    skipped ticks (``overrun``), the first due at ``timestamp`` and the last ``span_s`` seconds
    later (:attr:`last_timestamp`).
    """

    meter: str
    point: str
    quantity: str
    timestamp: int
    error: ErrorClass
    detail: str
    attempts: int
    polls: int = 1
    span_s: int = 0

    @property
    def last_timestamp(self) -> int:
        """Unix seconds of the last poll this failure stands for."""
        return self.timestamp + self.span_s


Event = Sample | PollFailure


class EventSink(Protocol):
    """Where the poller sends events (an ``asyncio.Queue[Event]`` qualifies)."""

    async def put(self, item: Event, /) -> None:
        """Take one event; may block to push back on the poller."""
        ...


#: Upper bounds (seconds) of the poll latency histogram, Prometheus style (cumulative ``le``).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass(slots=True)
class PollStats:
    """Counters of the acquisition layer, plain numbers for the metrics exporter.

    ``polls``: meter polls started, by meter path; ``requests``: read attempts (Modbus
    requests, and reads refused at once while a failed connect backs off); ``samples``: samples
    emitted; ``suppressed``: good values report by exception did not send; ``failures``:
    point failures by (meter, error class);
    ``missed_cycles``: ticks missed because the previous poll overran, by meter;
    ``connects``: clients built (first connect and every rebuild), by connection name;
    ``latency_*``: seconds from a poll's start to its last answer (a histogram with
    :data:`LATENCY_BUCKETS`, cumulative counts like Prometheus's ``le`` buckets), read whole
    from another thread with :meth:`latency_histogram`.
    """

    polls: Counter[str] = field(default_factory=Counter)
    requests: int = 0
    samples: int = 0
    suppressed: int = 0
    failures: Counter[tuple[str, ErrorClass]] = field(default_factory=Counter)
    missed_cycles: Counter[str] = field(default_factory=Counter)
    connects: Counter[str] = field(default_factory=Counter)
    latency_count: int = 0
    latency_sum: float = 0.0
    latency_max: float = 0.0
    latency_buckets: list[int] = field(default_factory=lambda: [0] * len(LATENCY_BUCKETS))
    _latency_lock: threading.Lock = field(default_factory=threading.Lock, repr=False,
                                          compare=False)

    def observe_latency(self, seconds: float) -> None:
        """Record one poll's latency."""
        with self._latency_lock:
            self.latency_count += 1
            self.latency_sum += seconds
            self.latency_max = max(self.latency_max, seconds)
            for index, bound in enumerate(LATENCY_BUCKETS):
                if seconds <= bound:
                    self.latency_buckets[index] += 1

    def latency_histogram(self) -> tuple[tuple[int, ...], int, float]:
        """``(latency_buckets, latency_count, latency_sum)`` of one moment: the metrics
        endpoint reads them in its own thread while the event loop records polls, and a
        histogram read half updated has a smaller count under a larger bound."""
        with self._latency_lock:
            return tuple(self.latency_buckets), self.latency_count, self.latency_sum

    def failures_by_class(self) -> Counter[ErrorClass]:
        """Point failures summed over meters, by error class."""
        total: Counter[ErrorClass] = Counter()
        for (_meter, error), count in self.failures.items():
            total[error] += count
        return total
