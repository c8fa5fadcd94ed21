"""The poller against the meter simulator (``edge_node.simulator``, a pymodbus server on
127.0.0.1 and over a socat pty pair): every shipped profile read as the simulator serves it,
every fault the simulator injects ending in its error class, and recovery after a drop."""

from __future__ import annotations

import asyncio
import contextlib
import time
from fractions import Fraction

import pytest

from edge_node.acquisition import (
    AcquisitionSettings,
    ErrorClass,
    Event,
    MeterSettings,
    Poller,
    PollFailure,
    RetrySettings,
    RtuConnection,
    Sample,
    TcpConnection,
)
from edge_node.acquisition.clock import phase
from edge_node.acquisition.settings import Connection
from edge_node.simulator import MeterSimulator, MeterSpec, SimClock, parse_fault

from .conftest import PROFILES, drain, run_scenario
from .test_poller import split_reads

CT, PT = (150, 5), (10_000, 100)
FROZEN = SimClock(start=1_750_000_000.0, speed=0.0)  # values stay put while the test reads


def spec(unit: int, profile_id: str) -> MeterSpec:
    return MeterSpec(unit, PROFILES[profile_id], peak_w=40_000, ct=Fraction(*CT),
                     pt=Fraction(*PT))


def meter(unit: int, profile_id: str, **extra: object) -> MeterSettings:
    return MeterSettings.model_validate({"path": f"acme/p1/hall/line1/u{unit}",
                                         "unit_id": unit, "profile": profile_id, "ct": CT,
                                         "pt": PT, **extra})


def poller(connection: Connection, queue: asyncio.Queue[Event],
           retry: RetrySettings | None = None) -> Poller:
    return Poller(AcquisitionSettings(connections=(connection,),
                                      retry=retry or RetrySettings()), PROFILES, queue)


def test_every_shipped_profile_reads_what_the_simulator_serves() -> None:
    units = {unit: pid for unit, pid in enumerate(PROFILES, start=1)}

    async def scenario() -> tuple[list[Event], dict[int, dict[str, int | None]],
                                  dict[int, dict[str, tuple[int, ...]]]]:
        async with MeterSimulator([spec(u, p) for u, p in units.items()],
                                  clock=FROZEN) as sim:
            _host, port = await sim.start_tcp()
            queue: asyncio.Queue[Event] = asyncio.Queue()
            meters = tuple(meter(u, p) for u, p in units.items())
            p = poller(TcpConnection(name="gw", host="127.0.0.1", port=port, timeout=0.5,
                                     meters=meters), queue)
            try:
                for m in meters:
                    await p.poll(m.path)
            finally:
                p.close()
            return (drain(queue), {u: sim.values(u) for u in units},
                    {u: sim.registers(u) for u in units})

    events, values, registers = run_scenario(scenario)
    by_key = {(e.meter, e.point): e for e in events}
    assert len(by_key) == len(events) == sum(len(PROFILES[p].points) for p in units.values())
    for unit, pid in units.items():
        for point in PROFILES[pid].points:
            event = by_key[(f"acme/p1/hall/line1/u{unit}", point.name)]
            expected = values[unit][point.name]
            if expected is None:  # the simulator serves "not available" where it must
                assert isinstance(event, PollFailure)
                assert event.error is ErrorClass.NOT_AVAILABLE
                continue
            assert isinstance(event, Sample), event
            assert (event.value, event.registers) == (expected, registers[unit][point.name])
            assert event.quantity == point.quantity
            assert abs(event.timestamp - time.time()) <= 5  # the wall clock, not the sim's


FAULTS = [(f"{code:02X}", ErrorClass(name)) for code, name in [
    (0x01, "illegal_function"), (0x02, "illegal_address"), (0x03, "illegal_value"),
    (0x04, "device_failure"), (0x05, "acknowledge"), (0x06, "busy"), (0x0A, "gateway_path"),
    (0x0B, "gateway_target")]] + [
    ("delay:0.6", ErrorClass.TIMEOUT), ("timeout", ErrorClass.TIMEOUT),
    ("drop", ErrorClass.CONNECTION)]


@pytest.mark.parametrize(("fault", "error"), FAULTS, ids=[f for f, _ in FAULTS])
def test_every_simulated_fault_is_its_error_class_then_the_meter_recovers(
        fault: str, error: ErrorClass) -> None:
    profile_id = "eastron.sdm630"

    async def scenario() -> None:
        async with MeterSimulator([spec(1, profile_id)], clock=FROZEN) as sim:
            _host, port = await sim.start_tcp()
            queue: asyncio.Queue[Event] = asyncio.Queue()
            m = meter(1, profile_id)
            p = poller(TcpConnection(name="gw", host="127.0.0.1", port=port, timeout=0.2,
                                     meters=(m,)), queue,
                       RetrySettings(busy_attempts=2, busy_backoff=0.01, config_hold_off=60.0,
                                     reconnect_delay=0.05))
            try:
                plan = p.plan(m.path)
                blocks = len(plan)
                sim.apply(parse_fault(f"1:{fault}"))
                before = sim.requests
                await p.poll(m.path)
                failed = drain(queue)
                assert {(e.point, e.error) for e in failed if isinstance(e, PollFailure)} \
                    == {(pt.name, error) for pt in PROFILES[profile_id].points}
                sent = sim.requests - before
                if error in (ErrorClass.BUSY, ErrorClass.ACKNOWLEDGE, ErrorClass.GATEWAY_PATH,
                             ErrorClass.GATEWAY_TARGET):
                    assert sent == 2 * blocks  # retried once, within the interval
                elif error in (ErrorClass.ILLEGAL_FUNCTION, ErrorClass.ILLEGAL_ADDRESS,
                               ErrorClass.ILLEGAL_VALUE):  # blocks of several points split
                    assert sent == split_reads(plan)
                else:
                    assert sent == blocks
                sim.apply(parse_fault("1:clear"))
                await asyncio.sleep(0.1)  # past the reconnect delay
                await p.poll(m.path)
                after = drain(queue)
                if error in (ErrorClass.ILLEGAL_FUNCTION, ErrorClass.ILLEGAL_ADDRESS,
                             ErrorClass.ILLEGAL_VALUE):  # held off: not asked again yet
                    assert all(isinstance(e, PollFailure) and e.attempts == 0 for e in after)
                else:
                    assert all(isinstance(e, Sample) for e in after), after
                    assert {e.point: e.value for e in after if isinstance(e, Sample)} == {
                        k: v for k, v in sim.values(1).items()}
                if error is ErrorClass.CONNECTION:  # each block's request dropped the link:
                    assert p.stats.connects["gw"] == blocks + 1  # rebuilt each time
            finally:
                p.close()

    run_scenario(scenario)


def test_not_available_answers_fail_those_points_only() -> None:
    profile_id = "abb.b2x"

    async def scenario() -> list[Event]:
        async with MeterSimulator([spec(1, profile_id)], clock=FROZEN) as sim:
            _host, port = await sim.start_tcp()
            queue: asyncio.Queue[Event] = asyncio.Queue()
            m = meter(1, profile_id)
            p = poller(TcpConnection(name="gw", host="127.0.0.1", port=port, meters=(m,)),
                       queue)
            try:
                sim.apply(parse_fault("1:not_available"))
                await p.poll(m.path)
            finally:
                p.close()
            return drain(queue)

    events = run_scenario(scenario)
    points = PROFILES[profile_id].points
    patterned = {pt.name for pt in points if pt.not_available}
    assert patterned
    assert {e.point for e in events if isinstance(e, PollFailure)
            and e.error is ErrorClass.NOT_AVAILABLE} == patterned
    assert {e.point for e in events if isinstance(e, Sample)} == {
        pt.name for pt in points} - patterned


def test_rtu_meters_on_one_bus_over_a_socat_pty_pair(pty_pair: tuple[str, str]) -> None:
    server_end, client_end = pty_pair
    units = {1: "eastron.sdm120", 2: "acrel.adl400"}

    async def scenario() -> None:
        async with MeterSimulator([spec(u, p) for u, p in units.items()], clock=FROZEN) as sim:
            await sim.start_rtu(server_end, baudrate=38_400)  # a pty refuses parity bits
            queue: asyncio.Queue[Event] = asyncio.Queue()
            meters = tuple(meter(u, p) for u, p in units.items())
            p = poller(RtuConnection(name="bus", port=client_end, baudrate=38_400,
                                     timeout=0.5, meters=meters), queue)
            try:
                await asyncio.gather(*(p.poll(m.path) for m in meters))  # serialized on the bus
            finally:
                p.close()
            events = drain(queue)
            assert all(isinstance(e, Sample) for e in events), events
            for unit in units:
                got = {e.point: e.value for e in events
                       if isinstance(e, Sample) and e.meter.endswith(f"u{unit}")}
                assert got == sim.values(unit)

    run_scenario(scenario)


class VirtualClock:
    """Simulated time for the poller and the simulator together: ``sleep`` jumps both clocks
    forward at once (the Modbus requests themselves still go over a real socket). Good for
    one meter: with several, one meter's jump would land inside another's poll."""

    def __init__(self, sim: MeterSimulator, until: float) -> None:
        self.now = 0.0
        self.sim = sim
        self.until = until
        self.reached = asyncio.Event()

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return FROZEN.start + self.now

    async def sleep(self, seconds: float) -> None:
        step = max(0.0, seconds)
        self.now += step
        self.sim.advance(step)
        if self.now >= self.until:
            self.reached.set()
        await asyncio.sleep(0)


def test_an_hour_of_one_minute_ticks_in_simulated_time() -> None:
    """The poller's clock is injected: an hour of 60 s ticks runs in a moment, each reading
    stamped with the simulated wall clock on its tick, the energy counter growing between."""
    profile_id = "abb.b2x"

    async def scenario() -> list[Event]:
        async with MeterSimulator([spec(1, profile_id)],
                                  clock=SimClock(start=FROZEN.start, speed=0.0)) as sim:
            _host, port = await sim.start_tcp()
            clock = VirtualClock(sim, until=3600.0)
            queue: asyncio.Queue[Event] = asyncio.Queue()
            m = meter(1, profile_id, interval=60.0)
            p = Poller(AcquisitionSettings(connections=(TcpConnection(
                name="gw", host="127.0.0.1", port=port, meters=(m,)),)), PROFILES, queue,
                clock=clock)
            task = asyncio.create_task(p.run())
            await asyncio.wait_for(clock.reached.wait(), timeout=10)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            assert not p.stats.missed_cycles
            return drain(queue)

    events = run_scenario(scenario)
    energy = [e for e in events if isinstance(e, Sample) and e.point == "energy_import"]
    assert len(energy) >= 60
    stamps = [e.timestamp - int(FROZEN.start) for e in energy]
    offset = int(phase(energy[0].meter) * 60)  # the meter's own place in each minute
    assert stamps == [60 * k + offset for k in range(len(energy))]  # one per tick
    values = [e.value for e in energy]
    assert values == sorted(values) and values[-1] > values[0]
