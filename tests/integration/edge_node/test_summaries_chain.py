"""The summary task with the MethodologyRegistry of the embedded chain (py-evm), on which
``cn.electricity.location`` v1 is actually published through its factory: a day's signed summary
equals the Python calculator's and the contract's figures, nothing is signed twice across a
restart, a source with nothing published is skipped, and a forged version is refused. Last, the
whole node (``EdgeNode.run``) polls the meter simulator over loopback TCP through a simulated day
and signs that day's summaries itself."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest
from integration.accounting.support import shallow
from integration.edge_node.conftest import run_scenario
from integration.edge_node.support import NODE_CONFIG
from structlog.testing import capture_logs
from unit.edge_node.summaries.support import (
    DAY,
    HOUR,
    LOCATION,
    MAIN,
    SOURCE,
    SUB,
    grams,
    sign_series,
    task,
)

from accounting_rules import Activity, compute, load_methodology
from accounting_rules.counters import RolloverRule
from accounting_rules.publishing import assign_id, compute_on_chain, publish
from edge_node.acquisition.clock import phase
from edge_node.config import load_config
from edge_node.node import EdgeNode, NodeTimings
from edge_node.profiles import load_profile
from edge_node.signing import ReadingSigner, Sample
from edge_node.signing.records import read_record
from edge_node.simulator import MeterSimulator, MeterSpec, SimClock
from edge_node.store import Store
from edge_node.store.queries import readings, records
from edge_node.store.summaries import marks
from edge_node.summaries import MethodologyVersions, SummaryMeter, SummaryTask
from factories import TEST_KEY, beijing
from mrv_core.chain import NodeSigner, System, Transactor, connect, deploy_system, load_artifacts
from mrv_core.reading import meter_id
from mrv_core.records import EmissionSummary

HEAT = "cn.heat.purchased"
TIMES = [DAY - 300 + 600 * i for i in range(147)]


@pytest.fixture(scope="module")
def chain_system() -> tuple[System, Transactor]:
    """A fresh system on the embedded chain, cn.electricity.location v1 published in force from
    2021 (cn.heat.purchased assigned, nothing published), and the association (~6 s)."""
    def run() -> tuple[System, Transactor]:
        chain = connect(None, evm_version=load_artifacts().evm_version())
        accounts = chain.unlocked_accounts()
        admin = Transactor(chain, NodeSigner(accounts[0]))
        system = System(chain, deploy_system(admin))
        association = Transactor(chain, NodeSigner(accounts[1]))
        system.grant_role(admin, "ASSOCIATION_ROLE", association.address)
        for methodology_id in (LOCATION, HEAT):
            assign_id(system, admin, methodology_id, association.address)
        publish(system, association, load_methodology(LOCATION, 1), beijing(2021))
        return system, association

    return shallow(run)


def read_registry(system: System, *ids: str) -> MethodologyVersions:
    versions = MethodologyVersions(ids)
    shallow(lambda: versions.refresh(system))
    return versions


def counter(times: list[int], start: int, step: int) -> list[int]:
    return [start + step * i + (i * i) % 97 for i in range(len(times))]


def test_a_days_summary_is_the_calculators_and_the_contracts_and_a_restart_signs_nothing_again(
        chain_system: tuple[System, Transactor], tmp_path: Path) -> None:
    system, _association = chain_system
    versions = read_registry(system, LOCATION)
    version = versions.in_force(LOCATION, DAY)
    assert version is not None and version.methodology is not None, version
    assert (version.resolved.version, version.problem) == (1, None)
    assert versions.as_of >= DAY
    path = tmp_path / "edge.sqlite"
    main, sub = counter(TIMES, 7_000_000, 2500), counter(TIMES, 100, 900)
    with Store(path, TEST_KEY.address, system.domain) as store:
        sign_series(store, MAIN, TIMES, main)
        sign_series(store, SUB, TIMES, sub)
        signed = task(store, (MAIN, SUB), versions).run_once(DAY + 86_400 + HOUR)
        assert len(signed) == 3 * 25
        day = next(s.record for s in signed if s.record.scope_id == meter_id(MAIN)
                   and s.record.period_end - s.record.period_start == 86_400)
        assert isinstance(day, EmissionSummary)
        activity = main[144] - main[0]  # readings at DAY + 86,100 and DAY - 300
        assert day.activity == activity
        line = [Activity(SOURCE, activity)]
        python = compute(version.methodology, DAY, DAY + 86_400, line).total
        contract = shallow(lambda: compute_on_chain(system, version.resolved.address, DAY,
                                                    DAY + 86_400, line).total)
        assert day.emissions == python == contract == grams(activity)
        stored = len(records(store))
        with store.read() as session:
            settled = marks(session)
    with Store(path, TEST_KEY.address, system.domain) as store:  # the node restarts
        again = task(store, (MAIN, SUB), read_registry(system, LOCATION))
        assert again.run_once(DAY + 86_400 + HOUR) == []
        assert again.run_once(DAY + 2 * 86_400) == []
        assert len(records(store)) == stored
        with store.read() as session:
            assert marks(session) == settled
        summaries = [read_record(r) for r in records(store) if r.kind == "emission_summary"]
        assert summaries == signed


def test_nothing_published_is_skipped_and_a_forged_version_is_refused(
        chain_system: tuple[System, Transactor], tmp_path: Path) -> None:
    system, association = chain_system
    meter = SummaryMeter(MAIN, "heat.purchased", "heat:kJ", RolloverRule(modulus=None))
    with Store(tmp_path / "edge.sqlite", TEST_KEY.address, system.domain) as store:
        ReadingSigner(store, TEST_KEY).sign_cycle(
            [Sample(meter_path=MAIN, point="heat", quantity="heat:kJ", timestamp=t, value=v,
                    raw_registers=(v >> 16, v & 0xFFFF))
             for t, v in zip(TIMES, counter(TIMES, 1000, 300), strict=True)], now=TIMES[-1])
        summaries = SummaryTask(store, TEST_KEY, "demo-co/wuxi-plant", [meter],
                                read_registry(system, HEAT))
        with capture_logs() as logs:
            assert summaries.run_once(DAY + 86_400 + HOUR) == []
            assert summaries.run_once(DAY + 86_400 + HOUR) == []
        skipped = [e for e in logs if e["event"] == "summaries_skipped"]
        assert [(e["source"], e["methodology"]) for e in skipped] == [("heat.purchased", HEAT)]

        honest = load_methodology(HEAT, 1)
        (row,) = honest.factors  # the same spec hash claimed over another factor value
        forged = dataclasses.replace(honest, factors=(dataclasses.replace(row,
                                                                          value=row.value + 1),))
        shallow(lambda: publish(system, association, forged, beijing(2000)))
        summaries.versions = read_registry(system, HEAT)
        version = summaries.versions.in_force(HEAT, DAY)
        assert version is not None and version.methodology is None
        assert f"differs from its data file: factor {row.key}:" in str(version.problem)
        with capture_logs() as logs:
            assert summaries.run_once(DAY + 86_400 + HOUR) == []
        assert [e["event"] for e in logs] == ["summaries_waiting"]
        with store.read() as session:
            assert marks(session) == []


class JumpingClock:
    """Simulated time for the node's poller and the meter simulator together (as in
    ``test_simulator_polling.py``): ``sleep`` jumps both forward at once, until ``until``, where
    polling stops (the Modbus requests still go over a real socket)."""

    def __init__(self, sim: MeterSimulator, start: int, until: int) -> None:
        self.sim, self.start, self.until = sim, start, until
        self.now = 0.0
        self.reached = asyncio.Event()

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return self.start + self.now

    async def sleep(self, seconds: float) -> None:
        if self.time() + max(0.0, seconds) > self.until:
            self.reached.set()
            await asyncio.Event().wait()  # polling ends here; the node cancels it on stop
        self.now += max(0.0, seconds)
        self.sim.advance(max(0.0, seconds))
        await asyncio.sleep(0)


def test_the_running_node_signs_a_simulated_days_summaries(
        chain_system: tuple[System, Transactor], tmp_path: Path) -> None:
    system, _association = chain_system
    start = DAY - 600  # the meter's first poll (at its phase in the interval) precedes the day

    async def scenario() -> None:
        async with MeterSimulator([MeterSpec(1, load_profile("abb.b2x"), peak_w=40_000)],
                                  clock=SimClock(start=float(start), speed=0.0)) as sim:
            _host, port = await sim.start_tcp()
            (tmp_path / "edge.toml").write_text(NODE_CONFIG.format(
                meter=MAIN, port=port, rpc="http://127.0.0.1:8545", interval="600.0"),
                                                encoding="utf-8")
            config = load_config(tmp_path / "edge.toml")
            clock = JumpingClock(sim, start, DAY + 86_400 + 1200)
            node = EdgeNode(config, TEST_KEY, system, clock=clock, timings=NodeTimings(
                cycle_s=0.05, batch_every_s=0.2, anchor_every_s=3600, summary_every_s=0.2))
            stop = asyncio.Event()
            running = asyncio.create_task(node.run(stop))
            await asyncio.wait_for(clock.reached.wait(), timeout=30)
            with Store(config.device.store, TEST_KEY.address, system.domain) as store:
                for _ in range(150):  # the node's summary step runs every 0.2 s
                    if sum(r.kind == "emission_summary" for r in records(store)) >= 50:
                        break
                    await asyncio.sleep(0.2)
            stop.set()
            await running

    run_scenario(scenario)
    with Store(tmp_path / "edge.sqlite", TEST_KEY.address, system.domain) as store:
        stored = readings(store, MAIN)
        signed = [read_record(r) for r in records(store) if r.kind == "emission_summary"]
    times = [r.signed.reading.timestamp for r in stored]
    values = [r.signed.reading.value for r in stored]
    offset = int(phase(MAIN) * 600)  # the meter's own place in each interval
    assert times == [start + offset + 600 * k for k in range(len(times))]  # every tick signed
    assert len(signed) == 2 * (24 + 1)  # the meter and the site, 24 hours and the day
    day = next(s.record for s in signed if s.record.scope_id == meter_id(MAIN)
               and s.record.period_end - s.record.period_start == 86_400)
    assert isinstance(day, EmissionSummary) and day.period_start == DAY
    def counter_at(t: int) -> int:  # the last reading at or before t (docs/accounting.md 6)
        return values[max(i for i, x in enumerate(times) if x <= t)]

    activity = counter_at(DAY + 86_400) - counter_at(DAY)
    assert activity > 0 and day.activity == activity
    assert day.emissions == grams(activity)
