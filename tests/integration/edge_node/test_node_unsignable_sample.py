"""One sample the signing Sample refuses (a value past int256: a profile's scale times a meter's
CT/PT ratio no load-time check can foresee) must not stop the node's other readings: the node's
cycle (``EdgeNode._commit``, run in its store thread against its real SQLite store, under the
session's embedded chain's domain) signs and commits every other sample of the cycle, and the
refused point's polls become a signed ``Gap`` of class ``other`` (committed at the node's next
batch step), logged once per point and counted in ``mrv_edge_poll_errors_total``. Before the
fix the whole cycle raised and was retried forever, so no meter behind the node got a reading.

The acquisition samples are made here, not polled: no meter the simulator serves can produce a
value past int256 (the loader now refuses such a scale, and the simulator encodes a physical
value through the same scale), so the poller's output is written as the poller would."""

from __future__ import annotations

import time
from pathlib import Path

from integration.chain.support import Actors
from integration.edge_node.inprocess import METER, node_config
from structlog.testing import capture_logs

from edge_node.acquisition import Sample
from edge_node.config import load_config
from edge_node.node import EdgeNode
from edge_node.profiles import load_profile
from edge_node.signing.records import read_record
from edge_node.store import Store
from edge_node.store.queries import readings, records
from mrv_core.records import Gap
from mrv_core.verify import verify_signed_record

HEALTHY = METER.replace("meter-1", "meter-2")
BAD_POINT = "energy_import"


def two_meters(directory: Path) -> Path:
    node_config(directory, 5020)
    config = directory / "edge.toml"
    with config.open("a", encoding="utf-8") as out:
        out.write(f'\n[[acquisition.connections.meters]]\npath = "{HEALTHY}"\nunit_id = 2\n'
                  f'profile = "generic"\ninterval = 0.2\n')
    return config


def cycle(meter: str, timestamp: int, *, overflow: bool = False) -> list[Sample]:
    return [Sample(meter=meter, point=p.name, quantity=p.quantity, timestamp=timestamp,
                   value=2**256 if overflow and p.name == BAD_POINT else 1000 + timestamp % 7,
                   registers=(0,) * p.data_type.words)
            for p in load_profile("generic").points]


def test_an_unsignable_sample_becomes_a_gap_of_its_point_and_the_rest_of_the_cycle_is_signed(
        node_actors: Actors, tmp_path: Path) -> None:
    config = load_config(two_meters(tmp_path))
    assert [m.path for m in config.meters] == [METER, HEALTHY]
    node = EdgeNode(config, node_actors.device, node_actors.system)
    now = int(time.time())
    try:
        with capture_logs() as logs:
            for step in range(2):  # two cycles with the overflowing value
                node._in_store_thread_sync(lambda t=now + step: node._commit(
                    cycle(METER, t, overflow=True) + cycle(HEALTHY, t)))
            node._in_store_thread_sync(lambda: node._commit(  # the point answers in range
                cycle(METER, now + 2) + cycle(HEALTHY, now + 2)))
            # The closed run waits for the batch step, so records go to the store in groups.
            unbatched = node._in_store_thread_sync(lambda: records(node.store))
            node._in_store_thread_sync(node._commit_closed_gaps)
        poll_errors = node.metrics.registry.get_sample_value(
            "mrv_edge_poll_errors_total", {"error_class": "other"})
    finally:
        node._release()
    assert [e["point"] for e in logs if e["event"] == "sample_unsignable"] == [BAD_POINT]
    assert poll_errors == 2
    points = len(load_profile("generic").points)
    with Store(config.device.store, node_actors.device.address,
               node_actors.system.domain) as store:
        healthy = readings(store, HEALTHY)
        bad = readings(store, METER)
        gaps = [read_record(r) for r in records(store) if r.kind == "gap"]
    assert len(healthy) == 3 * points
    [answered] = [r.signed.reading for r in bad if r.point == BAD_POINT]
    assert answered.timestamp == now + 2
    assert len(bad) == 3 * points - 2
    assert unbatched == []
    (gap,) = gaps
    assert isinstance(gap.record, Gap)
    verify_signed_record(gap, node_actors.system.domain)
    assert (gap.path, gap.record.error_class, gap.record.failed_polls) == (METER, "other", 2)
    assert (gap.record.from_timestamp, gap.record.to_timestamp) == (now, now + 1)
    assert gap.record.quantity == load_profile("generic").point(BAD_POINT).quantity
    # The gap lies before the reading that ended it, though its cycle signed more after that.
    assert gap.record.next_seq == answered.seq < 3 * points - 2
