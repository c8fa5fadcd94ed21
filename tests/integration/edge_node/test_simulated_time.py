"""Simulated time end to end (docs/edge.md, "Simulated time"): a clock file at 1,800 simulated
seconds per real second drives the meter simulator (Modbus TCP on 127.0.0.1), the edge node
(``EdgeNode`` with a ``SimulatedClock``) and anvil's clock (``ChainClock``, an anvil of the
test's own whose genesis is a day before the simulated start). After a few real seconds the
readings span simulated hours consistent with the speed, every anchor's block time is at or
after the newest timestamp of its batch and within the allowed skew of it, no reading is
flagged by the node's clock check, and the hour that closed has its signed summary. The same
through the commands an operator types, processes and all; and the relayer's transactor
driving the chain for ``anchorBySig``."""

from __future__ import annotations

import asyncio
import dataclasses
import re
import signal
import sqlite3
import time
from pathlib import Path

import pytest
from integration.chain.support import deploy_actors
from integration.conftest import SIMULATED_START
from integration.edge_node.conftest import run_scenario
from integration.edge_node.nodes import PASSWORD, check_store_and_chain, node_site
from integration.edge_node.support import NODE_CONFIG
from unit.edge_node.summaries.support import LOCATION, MAIN

from accounting_rules import load_methodology
from accounting_rules.publishing import assign_id, publish
from edge_node.acquisition import SimulatedClock
from edge_node.config import load_config
from edge_node.errors import RelayRefused
from edge_node.node import EdgeNode, NodeTimings
from edge_node.profiles import load_profile
from edge_node.relay import Relayer, RelayJobs
from edge_node.signing.records import read_record
from edge_node.simulator import MeterSimulator, MeterSpec, SimClock
from edge_node.store import Store
from edge_node.store.queries import batches, counts, readings, records
from factories import TEST_KEY, beijing, signed_readings
from mrv_cli.main import main
from mrv_core.chain import Chain, ChainClock, NodeSigner, System, Transactor, connect
from mrv_core.codec import format_address, parse_address
from mrv_core.reading import meter_id
from mrv_core.records import EmissionSummary
from mrv_core.simulated_time import SimulatedTime

SPEED = 1_800
SKEW = 3_600  # the AnchorRegistry's maxClockSkew here: two real seconds at this speed
#: 00:50 Beijing time: the first whole hour the node sees closes about 2 real seconds after
#: its first reading.
START = SIMULATED_START + 3_000

#: Batches close after 30 simulated minutes (a real second): an anchor walk (a dozen requests
#: to anvil) keeps up, so no backlog delays an anchor past its batch by more than the skew.
BATCHING = "\n[batching]\nmax_age_seconds = 1800.0\n"


def chain_system(rpc: str) -> System:
    """The contracts on the test's anvil, TEST_KEY registered and funded, maxClockSkew set to
    :data:`SKEW`, and cn.electricity.location v1 published in force from 2021."""
    chain = connect(rpc)
    actors = deploy_actors(chain, TEST_KEY)
    system, admin = actors.system, actors.admin
    admin.send(system.anchors.functions.setMaxClockSkew(SKEW), description="set the skew")
    association = Transactor(chain, NodeSigner(chain.unlocked_accounts()[2]))
    system.grant_role(admin, "ASSOCIATION_ROLE", association.address)
    assign_id(system, admin, LOCATION, association.address)
    publish(system, association, load_methodology(LOCATION, 1), beijing(2021))
    return system


def hour_summary(store: Store) -> EmissionSummary | None:
    """The meter's first signed hourly summary, if any."""
    for stored in records(store):
        if stored.kind == "emission_summary":
            record = read_record(stored).record
            assert isinstance(record, EmissionSummary)
            if record.period_end - record.period_start == 3600 and \
                    record.scope_id == meter_id(MAIN):
                return record
    return None


def test_node_meters_and_anvil_follow_one_simulated_clock(anvil_simulated_url: str,
                                                          tmp_path: Path) -> None:
    system = chain_system(anvil_simulated_url)
    # The simulated clock reads START one real second from now, as the node starts.
    shared = SimulatedTime(simulated_start=START, real_start=int(time.time()) + 1, speed=SPEED)
    real: dict[str, float] = {}

    async def scenario() -> EmissionSummary | None:
        async with MeterSimulator([MeterSpec(1, load_profile("abb.b2x"), peak_w=40_000)],
                                  clock=SimClock.following(shared)) as sim:
            _host, port = await sim.start_tcp()
            (tmp_path / "edge.toml").write_text(NODE_CONFIG.format(
                rpc=anvil_simulated_url, meter=MAIN, port=port, interval="60.0") + BATCHING,
                encoding="utf-8")
            config = load_config(tmp_path / "edge.toml")
            node = EdgeNode(config, TEST_KEY, system, clock=SimulatedClock(shared),
                            timings=NodeTimings(cycle_s=0.05, batch_every_s=0.1,
                                                anchor_every_s=0.2, summary_every_s=0.2))
            stop = asyncio.Event()
            real["start"] = time.monotonic()
            running = asyncio.create_task(node.run(stop))
            summary, final = None, 0
            with Store(config.device.store, TEST_KEY.address, system.domain) as store:
                while (summary is None or final < 2) and time.monotonic() - real["start"] < 15:
                    await asyncio.sleep(0.2)
                    summary = hour_summary(store)
                    final = counts(store).outbox.get("final", 0)
            stop.set()
            await running
            real["end"] = time.monotonic()
            real["flags"] = node.metrics.clock_flags._value.get()
            return summary

    summary = run_scenario(scenario)
    # An hour that closed was summarized and signed by the node.
    assert summary is not None, "no signed hourly summary"
    assert summary.device == TEST_KEY.address and summary.activity > 0
    assert summary.period_start % 3600 == 0 and summary.period_start >= START

    with Store(tmp_path / "edge.sqlite", TEST_KEY.address, system.domain) as store:
        stored = readings(store, MAIN)
        headers = [b.header for b in batches(store)]
    times = [r.signed.reading.timestamp for r in stored]
    # 1. Readings carry simulated time: a span of simulated hours, as the speed says.
    elapsed = real["end"] - real["start"]
    assert times == sorted(times) and times[0] >= START - SPEED
    assert times[0] < summary.period_start and summary.period_end < times[-1]
    assert SPEED * (elapsed - 2.5) <= times[-1] - times[0] <= SPEED * elapsed + 1
    # 2. Every anchor's block time is at or after its batch's newest timestamp, within skew.
    events = system.anchors.events.BatchAnchored().get_logs(
        from_block=0, argument_filters={"device": format_address(TEST_KEY.address)})
    assert len(events) >= 2 and [int(e["args"]["batchSeq"]) for e in events] == \
        list(range(len(events)))
    for event in events:
        header = headers[int(event["args"]["batchSeq"])]
        assert int(event["args"]["toTimestamp"]) == header.to_timestamp
        mined = int(system.chain.w3.eth.get_block(event["blockNumber"])["timestamp"])
        assert header.to_timestamp <= mined <= header.to_timestamp + SKEW, (
            header.batch_seq, header.to_timestamp, mined)
    # 3. Nothing flagged by the clock check: no leaf flag, no refusal, no gap of class clock.
    connection = sqlite3.connect(tmp_path / "edge.sqlite")
    try:
        assert connection.execute("SELECT count(*) FROM leaves WHERE flags != 0").fetchone() \
            == (0,)
        assert connection.execute("SELECT count(*) FROM outbox WHERE state = 'final'") \
            .fetchone()[0] >= 2
    finally:
        connection.close()
    assert real["flags"] == 0


@pytest.mark.slow  # about 9 s: four mrv processes, two of them serving
def test_an_operator_runs_simulated_time_with_mrv_commands_alone(
        anvil_simulated_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """``mrv simulate clock``, ``mrv simulate meters --clock`` and ``mrv edge run --clock`` as
    processes (deployment, init and register in-process, as nodes.py does): the node stamps
    simulated October and anchors on it; then a clock behind the chain is refused in one
    line."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MRV_KEY_PASSWORD", PASSWORD)
    clock = tmp_path / "clock.json"
    assert main(["simulate", "clock", "--start", "2026-10-01T00:00:00+08:00", "--speed", "600",
                 "--out", str(clock)]) == 0
    with node_site(anvil_simulated_url, tmp_path, clock=("--clock", str(clock)),
                   interval="60.0", max_age="300") as site:
        node = site.start_node(options=("--clock", str(clock)))
        try:
            deadline = time.monotonic() + 20
            while site.final_batches() < 2 and time.monotonic() < deadline:
                time.sleep(0.2)
        finally:
            node.send_signal(signal.SIGINT)
            node.wait(timeout=20)
        assert node.returncode == 0
        anchored = check_store_and_chain(site)
        connection = sqlite3.connect(site.store)
        try:
            first, last = connection.execute(
                "SELECT min(timestamp), max(timestamp) FROM readings").fetchone()
            flagged = connection.execute("SELECT count(*) FROM leaves WHERE flags != 0") \
                .fetchone()[0]
        finally:
            connection.close()
        assert SIMULATED_START <= first < last < SIMULATED_START + 86_400 and flagged == 0
        events = site.system().anchors.events.BatchAnchored().get_logs(from_block=0)
        assert len(events) == anchored
        for event in events:
            mined = int(site.chain.w3.eth.get_block(event["blockNumber"])["timestamp"])
            assert int(event["args"]["toTimestamp"]) <= mined and mined >= SIMULATED_START
        # Status on the same clock measures ages in simulated time: the last reading is
        # minutes old, not the weeks between simulated October and today.
        capsys.readouterr()
        assert main(["edge", "status", "--config", str(site.config), "--clock", str(clock)]) == 0
        ages = re.findall(r"Z, (\d+) (s|min|h|d) (?:ago|in)", capsys.readouterr().out)
        assert ages and all(unit in ("s", "min") for _, unit in ages), ages
        past = tmp_path / "past.json"
        assert main(["simulate", "clock", "--start", "2026-09-01", "--speed", "600",
                     "--out", str(past)]) == 0
        capsys.readouterr()
        assert main(["edge", "run", "--config", str(site.config), "--clock", str(past)]) == 2
        errors = [line for line in capsys.readouterr().err.splitlines() if "error" in line]
        assert len(errors) == 1 and "block time never goes back" in errors[0], errors


def test_the_relayer_on_simulated_time_anchors_a_batch_ahead_of_the_chains_real_clock(
        anvil_simulated_url: str, tmp_path: Path) -> None:
    """``mrv relay --clock``: the relayer's transactor brings the chain to the simulated now
    before ``anchorBySig``. A batch of simulated readings a day ahead of the chain's clock is
    refused without it (``AnchorRegistryTimestampInFuture``) and anchored with it."""
    actors = deploy_actors(connect(anvil_simulated_url))
    chain = actors.chain
    shared = SimulatedTime(simulated_start=SIMULATED_START, real_start=int(time.time()),
                           speed=600)
    now = shared.now_s()
    assert now - block_time_of(chain) > SKEW  # the chain is a day behind
    readings = [actors.device.sign_reading(dataclasses.replace(r.reading, timestamp=now - 60 + i),
                                           actors.system.domain, r.meter_path)
                for i, r in enumerate(signed_readings(4, key=actors.device))]
    batch = actors.device.close_batch(0, readings, actors.system.domain)
    signature = batch.header_signature
    assert signature is not None
    payer = chain.unlocked_accounts()[2]
    enterprise = parse_address(actors.enterprise.address)
    jobs = RelayJobs(tmp_path / "relay.sqlite")
    try:
        real_time = Relayer(actors.system, Transactor(chain, NodeSigner(payer)), enterprise,
                            jobs)
        with pytest.raises(RelayRefused, match="AnchorRegistryTimestampInFuture"):
            real_time.relay(batch.header, signature)
        simulated = Relayer(actors.system, Transactor(
            chain, NodeSigner(payer), clock=ChainClock(chain, shared)), enterprise, jobs)
        relayed = simulated.relay(batch.header, signature)
    finally:
        jobs.close()
    mined = block_time_of(chain, relayed.block_number)
    assert batch.header.to_timestamp <= mined <= shared.now_s() + 1
    assert actors.system.next_batch_seq(actors.device.address) == 1


def block_time_of(chain: Chain, number: int | str = "latest") -> int:
    return int(chain.w3.eth.get_block(number)["timestamp"])
