"""The poller: every meter read at its interval, every point decoded into a sample or a failure.

:class:`Poller` owns one :class:`~.connection.ModbusConnection` per configured connection and
runs one task per meter (:meth:`Poller.run`):

1. Ticks fall once per interval on the monotonic clock, at the meter's own phase within the
   interval (``clock.phase``: meters spread over it instead of all asking at once); a
   tick that falls due while the previous poll of the meter still runs is *missed*: counted in
   ``PollStats.missed_cycles``, polled late when still inside its interval, else skipped. A
   stretch of skipped ticks is no silent hole: each cumulative point of the meter gets one
   :class:`~.events.PollFailure` of class ``overrun`` for it (``polls``: the ticks skipped,
   ``timestamp`` .. ``last_timestamp``: the wall clock when the first and the last fell due),
   which the node signs as a gap record like any failed poll (a device polls on a fixed
   interval and a missed poll is a gap record: ``accounting_rules.counters``). Instantaneous
   points get none: a value of theirs is a sample at an instant, not a share of a total.
2. At each tick the meter's register blocks (``edge_node.decoding.plan_reads``: contiguous
   points per function, within the profile's maximum registers per read) are read one after
   the other under the retry policy (``policy.RetryPolicy``); the connection serializes them
   with the other meters' requests on the same bus or gateway, while meters on different
   connections are polled concurrently. A block of several points answered with a
   configuration error (01-03) is split: its points are read one by one from then on, so that
   only the refused point is held off.
3. Each point of a block that answered is decoded with ``decode_point`` (its CT/PT ratio
   applied) and sent as a :class:`~.events.Sample` stamped with the wall clock of the answer
   (instantaneous points through report by exception, ``report.ReportFilter``); each point of
   a block that failed, or whose value is not available, is sent as a
   :class:`~.events.PollFailure` with its error class. Nothing is ever invented for a point.

Events go to the sink in point order within a block and block order within a poll; a poll's
events are sent when it has ended, after the ``overrun`` failures of the ticks that fell due
while it ran (they lie before its answers in time, so their gap records come first); a poll
cancelled before its end (the node stopping) sends none of its events.
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from fractions import Fraction

import structlog

from edge_node.decoding import ReadBlock, decode_point, plan_reads
from edge_node.errors import ProfileError, ValueUnavailable
from edge_node.profiles import is_profile_file, load_profile_reference
from edge_node.profiles.model import Point, Profile
from mrv_core.errors import ConfigError, DecodeError
from mrv_core.quantities import QuantityKind, quantity_by_code

from .classify import CONFIGURATION_ERRORS, ErrorClass, ReadError
from .clock import Clock, SystemClock, first_tick, next_tick, phase
from .connection import ModbusConnection
from .events import EventSink, PollFailure, PollStats, Sample
from .policy import RetryPolicy
from .report import ReportFilter
from .settings import AcquisitionSettings, MeterSettings, ReportByException

__all__ = ["Poller", "meter_profiles"]

_log = structlog.get_logger("edge_node.acquisition")


@dataclass(frozen=True, slots=True)
class _Meter:
    settings: MeterSettings
    connection: ModbusConnection
    blocks: list[ReadBlock]  # split where a configuration error hit a block of several points
    ratios: dict[str, Fraction]  # the decoder's ratio by point name (CT, PT, both or 1)
    cumulative: tuple[Point, ...]  # the points whose skipped ticks are signed as gaps


class Poller:
    """Polls every meter of ``settings`` into ``sink``.

    ``profiles`` maps each meter's profile reference to its :class:`Profile`
    (:func:`meter_profiles` gives them). Raises :class:`ConfigError` when a meter names an
    unknown profile or point, or sets report by exception on a cumulative point. ``stats`` is
    updated in place.
    """

    def __init__(self, settings: AcquisitionSettings, profiles: Mapping[str, Profile],
                 sink: EventSink, *, clock: Clock | None = None,
                 stats: PollStats | None = None) -> None:
        self.settings = settings
        self.clock: Clock = clock or SystemClock()
        self.stats = stats if stats is not None else PollStats()
        self.policy = RetryPolicy(settings.retry, self.clock)
        self._sink = sink
        self.connections = tuple(ModbusConnection(c, settings.retry, self.clock)
                                 for c in settings.connections)
        rules: dict[Hashable, ReportByException] = {}
        meters: dict[str, _Meter] = {}
        for connection in self.connections:
            for meter in connection.settings.meters:
                points = _points(meter, profiles)
                for name, rule in meter.report_by_exception.items():
                    rules[(meter.path, name)] = rule
                meters[meter.path] = _Meter(meter, connection, list(plan_reads(
                    points, profiles[meter.profile].max_registers_per_read,
                    max_gap=meter.max_gap)), {p.name: p.ratio.of(meter.ct_ratio, meter.pt_ratio)
                                             for p in points},
                    tuple(p for p in points if quantity_by_code(p.quantity).kind
                          is QuantityKind.CUMULATIVE))
        self._meters = meters
        self.report = ReportFilter(rules)
        #: meter path -> the events of its poll running in :meth:`_loop`, sent once the poll
        #: has ended, after the ``overrun`` failures of the ticks skipped while it ran.
        self._held: dict[str, list[Sample | PollFailure]] = {}

    @property
    def meters(self) -> tuple[str, ...]:
        """The meter paths, in configuration order."""
        return tuple(self._meters)

    def plan(self, path: str) -> tuple[ReadBlock, ...]:
        """The register blocks read for meter ``path``, one request each per poll."""
        return tuple(self._meters[path].blocks)

    async def run(self) -> None:
        """Poll every meter at its interval until cancelled; then close every connection."""
        try:
            async with asyncio.TaskGroup() as group:
                for path in self._meters:
                    group.create_task(self._loop(path), name=f"poll {path}")
        finally:
            self.close()

    def close(self) -> None:
        """Close every connection (idempotent)."""
        for connection in self.connections:
            connection.close()

    async def poll(self, path: str, deadline: float | None = None) -> None:
        """Poll meter ``path`` once now, sending its events; busy retries stop at monotonic
        ``deadline`` (one interval from now when None)."""
        meter = self._meters[path]
        start = self.clock.monotonic()
        if deadline is None:
            deadline = start + meter.settings.interval
        self.stats.polls[path] += 1
        for block in tuple(meter.blocks):
            await self._read_block(meter, block, deadline)
        self.stats.observe_latency(self.clock.monotonic() - start)

    # --- internals ----------------------------------------------------------------------------

    async def _loop(self, path: str) -> None:
        interval = self._meters[path].settings.interval
        offset = phase(path) * interval  # this meter's fixed place within every interval
        tick = first_tick(self.clock.monotonic() - offset, interval)
        task = asyncio.current_task()
        while True:
            await self.clock.sleep(tick * interval + offset - self.clock.monotonic())
            held: list[Sample | PollFailure] = []
            self._held[path] = held
            try:
                await self.poll(path, deadline=(tick + 1) * interval + offset)
            finally:
                del self._held[path]
            if task is not None and task.cancelling():
                # Python 3.11's asyncio.wait_for (inside pymodbus) can swallow a cancellation
                # whose answer arrived at the same moment: honour it here, or a stopping node
                # would poll on.
                raise asyncio.CancelledError
            upcoming, missed = next_tick(self.clock.monotonic() - offset, interval, tick)
            if missed:
                self.stats.missed_cycles[path] += missed
            if upcoming > tick + 1:  # the ticks between were skipped, not polled late
                # They fell due while this poll ran, before its answers were stamped: their
                # gap goes first, so its nextSeq is the seq of this poll's reading.
                await self._skipped(path, upcoming - tick - 1, (tick + 1) * interval + offset)
            for event in held:
                await self._deliver(event)
            tick = upcoming

    async def _skipped(self, path: str, polls: int, first_due: float) -> None:
        """``polls`` ticks of meter ``path``, the first due at monotonic ``first_due``, were
        skipped: an ``overrun`` failure per cumulative point, stamped with the wall clock when
        the first and the last fell due."""
        meter = self._meters[path]
        last_due = first_due + (polls - 1) * meter.settings.interval
        lag = self.clock.time() - self.clock.monotonic()  # wall minus monotonic, now
        first, last = int(lag + first_due), int(lag + last_due)
        detail = (f"{polls} tick(s) skipped: the previous poll still ran when they fell due "
                  f"(interval {meter.settings.interval} s)")
        for point in meter.cumulative:
            await self._fail(path, point, first, ErrorClass.OVERRUN, detail, 0, polls=polls,
                             span_s=last - first)

    async def _read_block(self, meter: _Meter, block: ReadBlock, deadline: float) -> None:
        m = meter.settings
        timeout = m.timeout
        outcome, sent = await self.policy.attempt(
            (m.path, int(block.function), block.address, block.count),
            lambda: meter.connection.read(block.function, block.address, block.count,
                                          m.unit_id, timeout),
            deadline,
            context=f"{m.path} unit {m.unit_id} fc{int(block.function):02d} "
                    f"@{block.address} x{block.count}")
        self.stats.requests += sent
        self.stats.connects[meter.connection.name] = meter.connection.builds
        timestamp = int(self.clock.time())
        if (isinstance(outcome, ReadError) and outcome.error in CONFIGURATION_ERRORS
                and sent and len(block.points) > 1):
            await self._split(meter, block, outcome, deadline)
            return
        if isinstance(outcome, ReadError):
            for point in block.points:
                await self._fail(m.path, point, timestamp, outcome.error, outcome.detail, sent)
            return
        for point in block.points:
            registers = block.registers_of(point, outcome)
            try:
                value = decode_point(point, registers, ratio=meter.ratios[point.name])
            except ValueUnavailable as exc:
                await self._fail(m.path, point, timestamp, ErrorClass.NOT_AVAILABLE, str(exc),
                                 sent)
                continue
            except DecodeError as exc:
                await self._fail(m.path, point, timestamp, ErrorClass.OTHER, str(exc), sent)
                continue
            if self.report.should_send((m.path, point.name), value, self.clock.monotonic()):
                await self._send(Sample(m.path, point.name, point.quantity, timestamp, value,
                                        registers))
            else:
                self.stats.suppressed += 1

    async def _split(self, meter: _Meter, block: ReadBlock, error: ReadError,
                     deadline: float) -> None:
        """A block of several points met a configuration error: from now on each of its
        points is read alone, starting now, so that one point the device refuses (a register
        the profile has wrong, or a hole it will not span) does not cost its neighbours their
        readings; the refused point is then held off on its own."""
        singles = [ReadBlock(p.function, p.address, p.words, (p,)) for p in block.points]
        if block in meter.blocks:  # not yet split by a poll of the same meter running beside
            index = meter.blocks.index(block)
            meter.blocks[index:index + 1] = singles
        _log.warning("block split into single points after a configuration error",
                     meter=meter.settings.path, block=f"fc{int(block.function):02d} "
                     f"@{block.address} x{block.count}", error=str(error.error),
                     detail=error.detail)
        for single in singles:
            await self._read_block(meter, single, deadline)

    async def _fail(self, path: str, point: Point, timestamp: int, error: ErrorClass,
                    detail: str, attempts: int, *, polls: int = 1, span_s: int = 0) -> None:
        self.stats.failures[(path, error)] += polls
        self.report.forget((path, point.name))
        await self._send(PollFailure(path, point.name, point.quantity, timestamp, error,
                                     detail, attempts, polls, span_s))

    async def _send(self, event: Sample | PollFailure) -> None:
        """Hold ``event`` while its meter's poll runs in :meth:`_loop` (a poll cancelled before
        its end, as the node stops, sends none of its events), else send it."""
        held = self._held.get(event.meter)
        if held is None:
            await self._deliver(event)
        else:
            held.append(event)

    async def _deliver(self, event: Sample | PollFailure) -> None:
        """Put ``event`` in the sink, counting the samples sent."""
        if isinstance(event, Sample):
            self.stats.samples += 1
        await self._sink.put(event)


def meter_profiles(settings: AcquisitionSettings) -> dict[str, Profile]:
    """The profiles the meters of ``settings`` name, by their reference (a shipped id, or a
    profile file's path: ``edge_node.profiles.load_profile_reference``; the node's
    configuration has made relative paths absolute), for :class:`Poller`.

    Raises :class:`~edge_node.errors.ProfileError` (a ConfigError) naming the meter and the
    profile's problem (an unknown id with the known ones; a file with its key and problem)."""
    profiles: dict[str, Profile] = {}
    for meter in (m for c in settings.connections for m in c.meters):
        if meter.profile not in profiles:
            try:
                profiles[meter.profile] = load_profile_reference(meter.profile)
            except ProfileError as exc:
                problem = str(exc) if is_profile_file(meter.profile) else \
                    f"{meter.profile!r}: {exc.problem}"
                raise ProfileError(f"meter {meter.path}", "profile", problem) from None
    return profiles


def _points(meter: MeterSettings, profiles: Mapping[str, Profile]) -> tuple[Point, ...]:
    """The points ``meter`` reads, checked against its profile."""
    profile = profiles.get(meter.profile)
    if profile is None:
        raise ConfigError(f"meter {meter.path}: unknown profile {meter.profile!r}; "
                          f"known: {', '.join(sorted(profiles))}")
    names = meter.points if meter.points is not None else tuple(p.name for p in profile.points)
    known = {p.name: p for p in profile.points}
    for name in (*names, *meter.report_by_exception):
        if name not in known:
            raise ConfigError(f"meter {meter.path}: profile {profile.id} has no point {name!r}; "
                              f"known: {', '.join(known)}")
    for name in meter.report_by_exception:
        if name not in names:
            raise ConfigError(f"meter {meter.path}: report_by_exception names point {name!r}, "
                              "which the meter does not read")
        if quantity_by_code(known[name].quantity).kind is QuantityKind.CUMULATIVE:
            raise ConfigError(f"meter {meter.path}: point {name!r} is cumulative "
                              f"({known[name].quantity}): it is read every interval, "
                              "report by exception applies to instantaneous points only")
    return tuple(known[name] for name in names)
