"""The poller against real pymodbus servers on 127.0.0.1: every shipped profile read and
decoded, failures per point with their class, the retry policy as a device sees it (requests
counted by the server), report by exception, the scheduler keeping 50 meters on 5
connections on time (0.5 s interval), and the ticks a slow meter's polls skip sent as
``overrun`` failures of its cumulative points."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from dataclasses import dataclass
from fractions import Fraction
from itertools import pairwise

from edge_node.acquisition import (
    AcquisitionSettings,
    ErrorClass,
    Event,
    MeterSettings,
    Poller,
    PollFailure,
    PollStats,
    ReportByException,
    RetrySettings,
    Sample,
    SimulatedClock,
    TcpConnection,
)
from edge_node.acquisition.clock import phase
from edge_node.decoding import ReadBlock, decode_point, encode_point
from edge_node.profiles.model import Point, Profile
from mrv_core.simulated_time import SimulatedTime

from .conftest import PROFILES, Faults, drain, profile_device, run_scenario, tcp_server

CT, PT = (200, 5), (1, 1)
#: A value for each quantity, in its integer unit.
TARGETS = {"energy.active.import:Wh": 12_345_678, "energy.active.export:Wh": 2_345_678,
           "power.active:W": -1_234, "voltage:mV": 230_400, "current:mA": 5_250,
           "frequency:mHz": 50_010}


def path(index: int, site: str = "p1") -> str:
    return f"acme/{site}/hall/line1/m{index}"


def target(point: Point) -> int:
    """The value a test meter holds for ``point`` (power positive where the type is unsigned)."""
    value = TARGETS[point.quantity]
    return value if point.data_type.signed else abs(value)


def served(profile: Profile, meter: MeterSettings) -> dict[str, tuple[int, ...]]:
    """Registers a meter of ``profile`` holds for the target values (nearest raw value)."""
    return {point.name: encode_point(point, target(point), ratio=_ratio(point, meter),
                                     exact=False) for point in profile.points}


def _ratio(point: Point, meter: MeterSettings) -> Fraction:
    return point.ratio.of(meter.ct_ratio, meter.pt_ratio)


def settings(port: int, meters: list[MeterSettings], name: str = "gw",
             timeout: float = 0.3) -> TcpConnection:
    return TcpConnection(name=name, host="127.0.0.1", port=port, timeout=timeout,
                         meters=tuple(meters))


def test_every_shipped_profile_is_read_and_decoded_with_its_ratios() -> None:
    meters = [MeterSettings(path=path(i), unit_id=i + 1, profile=pid, ct=CT, pt=PT)
              for i, pid in enumerate(PROFILES)]

    async def scenario() -> list[Event]:
        faults = Faults()
        devices = [profile_device(m.unit_id, PROFILES[m.profile], faults,
                                  served(PROFILES[m.profile], m)) for m in meters]
        async with tcp_server(devices) as port:
            queue: asyncio.Queue[Event] = asyncio.Queue()
            poller = Poller(AcquisitionSettings(connections=(settings(port, meters),)),
                            PROFILES, queue)
            try:
                for meter in meters:
                    await poller.poll(meter.path)
            finally:
                poller.close()
            assert poller.stats.requests == sum(len(poller.plan(m.path)) for m in meters)
            return drain(queue)

    events = run_scenario(scenario)
    assert all(isinstance(e, Sample) for e in events), [e for e in events
                                                        if isinstance(e, PollFailure)]
    got = {(e.meter, e.point): e for e in events if isinstance(e, Sample)}
    for meter in meters:
        profile = PROFILES[meter.profile]
        registers = served(profile, meter)
        for point in profile.points:
            sample = got.pop((meter.path, point.name))
            assert sample.quantity == point.quantity
            assert sample.registers == registers[point.name]
            assert sample.value == decode_point(point, registers[point.name],
                                                ratio=_ratio(point, meter))
            # the nearest raw value: within half a step of the target (a float: within 1 ppm)
            step = point.scale * _ratio(point, meter)
            slack = abs(target(point)) / 10**6 + 1 if point.data_type.is_float else step / 2
            assert abs(sample.value - target(point)) <= slack
    assert not got


def split_reads(blocks: tuple[ReadBlock, ...]) -> int:
    """Requests of a poll in which every read is refused with a configuration error: each
    block once, then each point of a block of several alone."""
    return len(blocks) + sum(len(b.points) for b in blocks if len(b.points) > 1)


@dataclass
class Polled:
    """What ``polls`` of one meter gave: events and the requests counted after each poll, the
    plan before the first, the counters, and the reads the server's action saw."""

    events: list[list[Event]]
    requests: list[int]
    plan: tuple[ReadBlock, ...]
    stats: PollStats
    reads: int


def poll_meter(meter: MeterSettings, *, polls: int = 1, faults: Faults | None = None,
               registers: dict[str, tuple[int, ...]] | None = None,
               retry: RetrySettings | None = None) -> Polled:
    """Serve ``meter``'s profile (``registers``, else the target values) from a pymodbus server
    with ``faults``, and poll the meter ``polls`` times in a row."""
    profile = PROFILES[meter.profile]
    faults = faults or Faults()
    served_now = served(profile, meter) if registers is None else registers

    async def scenario() -> Polled:
        async with tcp_server([profile_device(meter.unit_id, profile, faults, served_now)]) \
                as port:
            queue: asyncio.Queue[Event] = asyncio.Queue()
            poller = Poller(AcquisitionSettings(connections=(settings(port, [meter]),),
                                                retry=retry or RetrySettings()), PROFILES, queue)
            result = Polled([], [], poller.plan(meter.path), poller.stats, 0)
            try:
                for _ in range(polls):
                    await poller.poll(meter.path)
                    result.events.append(drain(queue))
                    result.requests.append(poller.stats.requests)
            finally:
                poller.close()
            result.reads = faults.reads
            return result

    return run_scenario(scenario)


def test_exception_02_fails_every_point_then_holds_each_off() -> None:
    profile = PROFILES["abb.b2x"]
    meter = MeterSettings(path=path(1), unit_id=1, profile=profile.id)
    got = poll_meter(meter, polls=4, faults=Faults(exception=0x02),
                     retry=RetrySettings(config_hold_off=3600.0))
    expected = split_reads(got.plan)
    assert got.requests == [expected] * 4  # no retry, split once, then nothing: held off
    first, *again = got.events
    assert {(e.point, e.error, e.attempts) for e in first if isinstance(e, PollFailure)} == {
        (p.name, ErrorClass.ILLEGAL_ADDRESS, 1) for p in profile.points}
    for events in again:
        assert len(events) == len(profile.points)
        assert all(isinstance(e, PollFailure) and e.attempts == 0
                   and e.error is ErrorClass.ILLEGAL_ADDRESS for e in events)


def test_one_refused_point_costs_its_block_neighbours_nothing() -> None:
    """energy_export shares a block with energy_import (and frequency); the device does not
    define it (02): the block is split, the others are read alone at once, export is held off
    alone."""
    profile = PROFILES["eastron.sdm630"]
    meter = MeterSettings(path=path(1), unit_id=1, profile=profile.id)
    registers = served(profile, meter)
    del registers["energy_export"]
    got = poll_meter(meter, polls=2, registers=registers)
    block = next(b for b in got.plan if len(b.points) > 1)
    assert {"energy_import", "energy_export"} <= {p.name for p in block.points}
    events = [e for poll in got.events for e in poll]
    export = [e for e in events if e.point == "energy_export"]
    assert [(e.error, e.attempts) for e in export if isinstance(e, PollFailure)] == [
        (ErrorClass.ILLEGAL_ADDRESS, 1), (ErrorClass.ILLEGAL_ADDRESS, 0)]
    others = [e for e in events if e.point != "energy_export"]
    assert len(others) == 2 * (len(profile.points) - 1)
    assert all(isinstance(e, Sample) for e in others), others


def test_busy_device_is_retried_within_the_interval_and_read() -> None:
    profile = PROFILES["generic"]
    meter = MeterSettings(path=path(1), unit_id=1, profile=profile.id, interval=2.0)
    got = poll_meter(meter, faults=Faults(exception=0x06, exception_reads=2),
                     retry=RetrySettings(busy_attempts=3, busy_backoff=0.01))
    [events] = got.events
    assert all(isinstance(e, Sample) for e in events)
    assert len(events) == len(profile.points)
    assert got.reads == got.requests[0] == len(got.plan) + 2


def test_not_available_pattern_is_a_failure_never_a_value() -> None:
    profile = PROFILES["abb.b2x"]
    meter = MeterSettings(path=path(1), unit_id=1, profile=profile.id)
    point = next(p for p in profile.points if p.not_available)
    got = poll_meter(meter, registers=served(profile, meter) | {
        point.name: point.not_available[0]})
    [events] = got.events
    failed = [e for e in events if isinstance(e, PollFailure)]
    assert [(e.point, e.error) for e in failed] == [(point.name, ErrorClass.NOT_AVAILABLE)]
    assert len(events) == len(profile.points)


def test_report_by_exception_sends_moves_and_cumulative_points_always() -> None:
    profile = PROFILES["generic"]
    power = next(p for p in profile.points if p.quantity == "power.active:W")
    meter = MeterSettings(path=path(1), unit_id=1, profile=profile.id,
                          report_by_exception={power.name: ReportByException(deadband=100)})
    got = poll_meter(meter, polls=3)
    assert got.stats.suppressed == 2
    per_point = Counter(e.point for poll in got.events for e in poll)
    assert per_point[power.name] == 1
    assert all(per_point[p.name] == 3 for p in profile.points if p is not power
               and p.quantity.startswith("energy"))


def test_fifty_meters_on_five_connections_keep_half_a_second_without_missed_cycles() -> None:
    profile = PROFILES["eastron.sdm630"]
    # 0.5 s: the servers share this process and its one event loop with the 50 pollers
    interval, ticks = 0.5, 3

    async def scenario() -> None:
        async with contextlib.AsyncExitStack() as stack:
            connections = []
            for c in range(5):
                meters = [MeterSettings(path=path(10 * c + u, f"s{c}"), unit_id=u + 1,
                                        profile=profile.id, interval=interval)
                          for u in range(10)]
                devices = [profile_device(m.unit_id, profile, Faults(), served(profile, m))
                           for m in meters]
                port = await stack.enter_async_context(tcp_server(devices))
                connections.append(settings(port, meters, name=f"gw{c}"))
            queue: asyncio.Queue[Event] = asyncio.Queue()
            poller = Poller(AcquisitionSettings(connections=tuple(connections)), PROFILES,
                            queue)
            task = asyncio.create_task(poller.run())
            await asyncio.sleep(interval * (ticks + 0.5))
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            stats = poller.stats
            events = drain(queue)
            assert not stats.missed_cycles, stats.missed_cycles
            assert not stats.failures, stats.failures
            assert set(stats.connects.values()) == {1}  # five links, each built once
            assert len(stats.polls) == 50
            assert all(ticks <= n <= ticks + 1 for n in stats.polls.values()), stats.polls
            # polls still under way when the run was cancelled sent only part of their points
            done = sum(stats.polls.values()) - 50
            assert len(events) == stats.samples >= done * len(profile.points)
            assert stats.latency_max < interval

    run_scenario(scenario)


def test_a_poll_overrunning_its_interval_counts_missed_cycles() -> None:
    profile = PROFILES["generic"]
    interval = 0.1
    meter = MeterSettings(path=path(1), unit_id=1, profile=profile.id, interval=interval,
                          timeout=1.0)

    async def scenario() -> None:
        faults = Faults(delay=0.25)  # each answer takes two and a half intervals
        async with tcp_server([profile_device(1, profile, faults, served(profile, meter))]) \
                as port:
            queue: asyncio.Queue[Event] = asyncio.Queue()
            poller = Poller(AcquisitionSettings(connections=(settings(port, [meter],
                                                                      timeout=1.0),)),
                            PROFILES, queue)
            task = asyncio.create_task(poller.run())
            await asyncio.sleep(0.9)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            blocks = len(poller.plan(meter.path))
            polls = poller.stats.polls[meter.path]
            assert 1 <= polls <= 4
            # each poll takes >= blocks * 0.25 s: at least two ticks pass during each
            assert poller.stats.missed_cycles[meter.path] >= 2 * (polls - 1) * blocks

    run_scenario(scenario)


def test_ticks_a_slow_poll_skips_are_overrun_failures_of_each_cumulative_point() -> None:
    """Each answer takes two and a half intervals: after each poll a tick is skipped (the next
    is polled late). Every skipped tick reaches the sink as a failure of class ``overrun`` of
    each cumulative point (none of the instantaneous ones), stamped with the wall clock when
    the tick fell due. A simulated clock at x100 makes ticks 10 s apart, so the whole-second
    timestamps can be matched to ticks."""
    profile = PROFILES["generic"]
    interval, speed = 10.0, 100  # 0.1 real s
    meter = MeterSettings(path=path(1), unit_id=1, profile=profile.id, interval=interval,
                          timeout=1.0)
    cumulative = {p.name for p in profile.points if p.quantity.startswith("energy.")}
    clock = SimulatedClock(SimulatedTime(simulated_start=1_800_000_000,
                                         real_start=int(time.time()), speed=speed))

    async def scenario() -> tuple[list[Event], PollStats, float]:
        faults = Faults(delay=2.5 * interval / speed)
        async with tcp_server([profile_device(1, profile, faults, served(profile, meter))]) \
                as port:
            queue: asyncio.Queue[Event] = asyncio.Queue()
            poller = Poller(AcquisitionSettings(connections=(settings(port, [meter],
                                                                      timeout=1.0),)),
                            PROFILES, queue, clock=clock)
            task = asyncio.create_task(poller.run())
            await asyncio.sleep(12 * interval / speed)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            faults.stop()
            return drain(queue), poller.stats, clock.time() - clock.monotonic()

    events, stats, lag = run_scenario(scenario)
    skipped = [e for e in events if isinstance(e, PollFailure)]
    assert skipped, (stats.polls, stats.missed_cycles)
    assert all(e.error is ErrorClass.OVERRUN and e.attempts == 0 and e.polls >= 1
               for e in skipped), skipped
    assert {e.point for e in skipped} == cumulative
    assert stats.failures[(meter.path, ErrorClass.OVERRUN)] == sum(e.polls for e in skipped)
    # skipped ticks are missed ones; the others missed were polled late
    assert 0 < sum(e.polls for e in skipped) // len(cumulative) <= stats.missed_cycles[meter.path]
    offset = phase(meter.path) * interval
    for point in cumulative:
        stretches = [e for e in skipped if e.point == point]
        for e in stretches:
            # the first and the last tick skipped, to the whole second of their due time
            tick = round((e.timestamp + 0.5 - lag - offset) / interval)
            assert abs(e.timestamp - (lag + tick * interval + offset)) <= 1
            assert abs(e.last_timestamp - e.timestamp - (e.polls - 1) * interval) <= 1
        # a stretch of skipped ticks is never skipped again, and polls lie between stretches
        assert all(b.timestamp > a.last_timestamp + interval
                   for a, b in pairwise(stretches))
