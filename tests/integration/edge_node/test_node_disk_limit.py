"""The disk hard limit end to end, the node running in the test's process against the meter
simulator on 127.0.0.1: the store is filled past ``disk_hard_limit_mib`` (a filler table
written through a second SQLite connection, as any growth would be), polling stops (the
``polling`` health check fails, ``mrv_edge_polling_stopped`` is 1, no reading is taken);
space is freed (the filler dropped, ``VACUUM``, a truncating WAL checkpoint) and polling
resumes, after the stopped stretch was signed: one ``Gap`` of class ``storage`` per point of the
meter, covering the stop, verified by the record verifier, ordered before the first new
reading (its ``nextSeq`` is that reading's seq). The moment polling stopped is kept in the
store: a node killed while stopped (no shutdown path run) signs that stretch, once, after its
restart."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from integration.chain.support import Actors
from integration.edge_node.conftest import run_scenario
from integration.edge_node.inprocess import METER, node_config, running_node, until

from edge_node.config import NodeConfig
from edge_node.node import EdgeNode
from edge_node.profiles import load_profile
from edge_node.signing.records import read_record
from edge_node.simulator import MeterSimulator, MeterSpec
from edge_node.store import Store, disk_usage
from edge_node.store.queries import readings, records
from mrv_core.reading import meter_id
from mrv_core.records import Gap, SignedRecord
from mrv_core.verify import verify_signed_record

LIMITS = "[retention]\ndisk_budget_mib = 1\ndisk_hard_limit_mib = 2\n"


def sql(store: Path, *statements: str) -> None:
    connection = sqlite3.connect(store, timeout=20, isolation_level=None)
    try:
        for statement in statements:
            connection.execute(statement)
    finally:
        connection.close()


async def fill(store: Path) -> None:
    """Grow the store past :data:`LIMITS`' hard limit (a 3 MiB filler table)."""
    await asyncio.to_thread(sql, store, "CREATE TABLE filler (b BLOB)",
                            "INSERT INTO filler VALUES (zeroblob(3 * 1024 * 1024))")


async def free(store: Path) -> None:
    """Give the filler's space back (dropped, ``VACUUM``, a truncating WAL checkpoint)."""
    await asyncio.to_thread(sql, store, "DROP TABLE filler", "VACUUM",
                            "PRAGMA wal_checkpoint(TRUNCATE)")


@asynccontextmanager
async def limited_node_config(directory: Path) -> AsyncIterator[NodeConfig]:
    """The simulator serving the generic profile on 127.0.0.1, and a node's configuration
    for it with :data:`LIMITS`."""
    async with MeterSimulator([MeterSpec(1, load_profile("generic"))]) as sim:
        _host, port = await sim.start_tcp()
        yield node_config(directory, port, extra=LIMITS)


def polling_check(node: EdgeNode) -> tuple[bool, str]:
    return dict(node.health_checks())["polling"]()


def taken(node: EdgeNode) -> float:
    """Readings the node committed so far (``mrv_edge_readings_total``)."""
    return node.metrics.registry.get_sample_value("mrv_edge_readings_total") or 0.0


def storage_gaps(path: Path, actors: Actors) -> list[SignedRecord]:
    with Store(path, actors.device.address, actors.system.domain) as store:
        signed = [read_record(r) for r in records(store) if r.kind == "gap"]
    return [s for s in signed if isinstance(s.record, Gap) and s.record.error_class == "storage"]


def test_polling_stopped_at_the_hard_limit_is_signed_as_a_storage_gap_when_it_resumes(
        node_actors: Actors, tmp_path: Path) -> None:
    stretch: dict[str, float] = {}

    async def scenario() -> None:
        async with limited_node_config(tmp_path) as config:
            store = config.device.store
            async with running_node(config, node_actors) as node:
                await until(lambda: taken(node) >= 12,
                            what="readings before the fill")
                await fill(store)
                assert disk_usage(store) > 2 * 1024 * 1024
                await until(lambda: node.stopped_for_disk, what="polling stopped")
                stretch["stopped"] = time.time()
                assert polling_check(node) == (
                    False, "stopped: the store is above disk_hard_limit_mib")
                assert node.metrics.registry.get_sample_value("mrv_edge_polling_stopped") == 1
                before = taken(node)
                await asyncio.sleep(1.2)  # five polls of 0.2 s are not made
                assert taken(node) == before
                await free(store)
                await until(lambda: not node.stopped_for_disk, what="polling resumed")
                stretch["resumed"] = time.time()
                assert polling_check(node)[0]
                await until(lambda: taken(node) >= before + 12,
                            what="readings after the resume")

    run_scenario(scenario)
    domain = node_actors.system.domain
    with Store(tmp_path / "edge.sqlite", node_actors.device.address, domain) as store:
        stored = readings(store, METER)
    storage = storage_gaps(tmp_path / "edge.sqlite", node_actors)
    points = load_profile("generic").points
    assert sorted(s.record.quantity for s in storage) == sorted(p.quantity for p in points)
    (start,) = {s.record.from_timestamp for s in storage}
    (end,) = {s.record.to_timestamp for s in storage}
    (next_seq,) = {s.record.next_seq for s in storage}
    (polls,) = {s.record.failed_polls for s in storage}
    assert stretch["stopped"] - 1.5 <= start <= stretch["stopped"] + 1
    assert stretch["resumed"] - 1.5 <= end <= stretch["resumed"] + 1
    assert end - start >= 1 and polls == (end - start) * 5  # polls of 0.2 s
    for record in storage:
        verify_signed_record(record, domain)
        assert record.path == METER and record.record.meter == meter_id(METER)
        assert record.record.device == node_actors.device.address
    # No reading inside the stretch; the gap sits exactly between the readings around it.
    times = [r.signed.reading.timestamp for r in stored]
    assert not [t for t in times if start < t < end]
    after = [r for r in stored if r.signed.reading.timestamp >= end]
    assert after and min(r.signed.reading.seq for r in after) == next_seq
    assert max(r.signed.reading.seq for r in stored if r.signed.reading.timestamp <= start) \
        == next_seq - 1


def test_a_node_stopped_while_polling_is_stopped_signs_the_stretch_up_to_its_stop(
        node_actors: Actors, tmp_path: Path) -> None:
    async def scenario() -> None:
        async with limited_node_config(tmp_path) as config, \
                running_node(config, node_actors) as node:
            await until(lambda: taken(node) >= 6, what="readings before the fill")
            await fill(config.device.store)
            await until(lambda: node.stopped_for_disk, what="polling stopped")
            await asyncio.sleep(1.0)
        # the node stopped here, still above the hard limit

    run_scenario(scenario)
    storage = storage_gaps(tmp_path / "edge.sqlite", node_actors)
    assert len(storage) == len(load_profile("generic").points)
    for record in storage:
        verify_signed_record(record, node_actors.system.domain)
        assert record.record.to_timestamp - record.record.from_timestamp >= 1
        assert record.record.failed_polls >= 5


@pytest.mark.parametrize("freed_before_restart", [False, True])
def test_a_crash_while_polling_is_stopped_signs_the_stretch_once_after_the_restart(
        node_actors: Actors, tmp_path: Path, freed_before_restart: bool) -> None:
    """The node stops polling at the hard limit (its own disk check), then dies without its
    shutdown path: in-process, the node object is abandoned after its OS resources are let go
    (store connections, threads, the lock file: what the kernel closes for a SIGKILLed
    process); nothing of ``EdgeNode.run``'s stop runs, so only the store remembers the stop.
    The next node starts stopped and, once the store is below the limit (at its first disk
    check when space was freed before the restart, else when it is freed), signs one
    ``storage`` gap per point from the first node's stop to the resume; a further clean stop
    and start signs none again."""
    stretch: dict[str, int] = {}

    async def scenario() -> None:
        async with limited_node_config(tmp_path) as config:
            store = config.device.store
            crashed = EdgeNode(config, node_actors.device, node_actors.system)
            await fill(store)
            await crashed._disk()  # the disk watch's own step: above the hard limit
            assert crashed.stopped_for_disk and crashed._polling_stop is not None
            stretch["stopped"] = crashed._polling_stop.stopped_at
            crashed._release()  # the crash: the process's resources go, nothing is signed
            assert storage_gaps(store, node_actors) == []
            await asyncio.sleep(1.0)
            if freed_before_restart:
                await free(store)
            async with running_node(config, node_actors) as node:
                assert node.stopped_for_disk
                if not freed_before_restart:
                    await asyncio.sleep(0.6)  # disk checks every 0.2 s: still above the limit
                    assert polling_check(node)[0] is False and taken(node) == 0
                    assert storage_gaps(store, node_actors) == []
                    await free(store)
                await until(lambda: not node.stopped_for_disk, what="polling resumed")
                stretch["resumed"] = int(time.time())
                await until(lambda: taken(node) >= 12, what="readings after the resume")
            async with running_node(config, node_actors) as node:  # a clean restart
                await until(lambda: taken(node) >= 6, what="readings after the restart")

    run_scenario(scenario)
    storage = storage_gaps(tmp_path / "edge.sqlite", node_actors)
    points = load_profile("generic").points
    assert sorted(s.record.quantity for s in storage) == sorted(p.quantity for p in points)
    for record in storage:
        verify_signed_record(record, node_actors.system.domain)
        assert record.record.from_timestamp == stretch["stopped"]
        assert stretch["resumed"] - 1 <= record.record.to_timestamp <= stretch["resumed"]
        polls = record.record.to_timestamp - record.record.from_timestamp
        assert polls >= 1 and record.record.failed_polls == polls * 5
    with Store(tmp_path / "edge.sqlite", node_actors.device.address,
               node_actors.system.domain) as store:
        assert store.polling_stopped_at() is None
