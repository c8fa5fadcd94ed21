"""Poll ticks a slow meter makes the node skip are signed gaps, end to end: the node runs in
the test's process against the meter simulator on 127.0.0.1, whose ``delay`` fault makes each
answer take two and a half poll intervals (within the meter's timeout, so every poll made is
answered). Each skipped tick becomes, for each cumulative point of the meter and no other, a
signed ``Gap`` of class ``overrun``, verified by the record verifier; every skipped tick is in
exactly one record; no two records of a point start in the same second (the uplink's identity
of a gap); each record's ``nextSeq`` puts it in the step of its counter it explains (after the
point's last reading before it, at the point's first reading after it), and its times lie
between the start of the poll before it and the reading after it. Before the fix a skipped
tick left no record: only the step, two intervals long, showed it."""

from __future__ import annotations

import time
from pathlib import Path

from integration.chain.support import Actors
from integration.edge_node.conftest import run_scenario
from integration.edge_node.inprocess import METER, node_config, running_node, until

from edge_node.acquisition import ErrorClass, PollFailure, PollStats, Sample
from edge_node.config import load_config
from edge_node.node import EdgeNode
from edge_node.profiles import load_profile
from edge_node.signing.records import read_record
from edge_node.simulator import MeterSimulator, MeterSpec
from edge_node.simulator.faults import parse_fault
from edge_node.store import Store
from edge_node.store.queries import readings, records
from mrv_core.quantities import QuantityKind, quantity_by_code
from mrv_core.records import Gap
from mrv_core.verify import verify_signed_record

#: A whole second: the records of one point then start in distinct seconds, as the uplink
#: (which tells gaps apart by point and start second) needs.
INTERVAL = 1.0
#: Each answer takes 2.5 intervals: after each poll one tick is skipped, the next polled late.
DELAY = 2.5 * INTERVAL


def test_ticks_skipped_behind_a_slow_meter_are_signed_overrun_gaps_of_its_counters(
        node_actors: Actors, tmp_path: Path) -> None:
    profile = load_profile("generic")
    counters = {p.quantity for p in profile.points
                if quantity_by_code(p.quantity).kind is QuantityKind.CUMULATIVE}
    stats: list[PollStats] = []

    async def scenario() -> None:
        async with MeterSimulator([MeterSpec(1, profile)]) as sim:
            _host, port = await sim.start_tcp()
            node_config(tmp_path, port, interval=INTERVAL)
            with (tmp_path / "edge.toml").open("a", encoding="utf-8") as out:
                out.write("timeout = 6.0\n")  # the meter's: a slow answer is no timeout
            config = load_config(tmp_path / "edge.toml")
            async with running_node(config, node_actors) as node:
                polls = node.poller.stats
                await until(lambda: polls.samples >= len(profile.points), what="a first poll")
                sim.apply(parse_fault("1:delay:" + str(DELAY)))
                await until(lambda: polls.failures[(METER, ErrorClass.OVERRUN)]
                            >= 2 * len(counters), what="two skipped ticks")
                sim.apply(parse_fault("1:clear"))
                answered = polls.samples
                await until(lambda: polls.samples >= answered + 2 * len(profile.points),
                            what="polls on time again")
                stats.append(polls)

    run_scenario(scenario)
    [polls] = stats
    assert not polls.failures[(METER, ErrorClass.TIMEOUT)]
    domain = node_actors.system.domain
    with Store(tmp_path / "edge.sqlite", node_actors.device.address, domain) as store:
        stored = [r.signed.reading for r in readings(store, METER)]
        signed = [read_record(r) for r in records(store) if r.kind == "gap"]
    overrun = [s for s in signed if isinstance(s.record, Gap)
               and s.record.error_class == "overrun"]
    assert overrun
    assert {s.record.quantity for s in overrun} == counters
    keys = [(s.record.quantity, s.record.from_timestamp) for s in signed
            if isinstance(s.record, Gap)]
    assert len(set(keys)) == len(keys)  # the uplink's identity of a gap, besides the meter
    # Every tick skipped, for each counter, is in exactly one signed record.
    assert sum(s.record.failed_polls for s in overrun) \
        == polls.failures[(METER, ErrorClass.OVERRUN)]
    for item in overrun:
        verify_signed_record(item, domain)
        gap = item.record
        assert isinstance(gap, Gap) and item.path == METER
        counter = [r for r in stored if r.quantity == gap.quantity]
        before = [r for r in counter if r.seq < gap.next_seq]
        after = [r for r in counter if r.seq >= gap.next_seq]
        assert before and after, gap  # the delay came after the first poll; polls resumed
        # The gap is the first thing between the two readings: the reading after it has the
        # seq the gap names. Its skipped ticks fell due while the poll of the reading after it
        # still ran, so between the two readings' times (hostile review: the gap came after
        # that poll's reading, though due before its answer, and named the seq after it).
        assert after[0].seq == gap.next_seq
        assert before[-1].timestamp <= gap.from_timestamp <= gap.to_timestamp \
            <= after[0].timestamp


def test_a_gap_closed_between_batch_steps_names_the_first_reading_after_it(
        node_actors: Actors, tmp_path: Path) -> None:
    """Closed runs wait for the node's batch step; the ``nextSeq`` each record gets is still
    the seq of its meter's first reading after the run, not the meter's next seq when the
    step commits it. The cycles are given to ``EdgeNode._commit`` as the poller would send
    them: a timeout of the import counter, then a busy answer (closing the timeout run with
    no reading after it in that cycle), then the meter answering in full."""
    config = node_config(tmp_path, 5020, interval=INTERVAL)
    node = EdgeNode(config, node_actors.device, node_actors.system)
    points = load_profile("generic").points
    counter = points[0]
    now = int(time.time())

    def failed(at: int, error: ErrorClass) -> PollFailure:
        return PollFailure(METER, counter.name, counter.quantity, at, error, "test", 1)

    def answers(at: int, names: set[str]) -> list[Sample]:
        return [Sample(METER, p.name, p.quantity, at, 1000 + at % 7, (0,) * p.data_type.words)
                for p in points if p.name in names]

    others = {p.name for p in points} - {counter.name}
    cycles: list[list[Sample | PollFailure]] = [
        answers(now, {p.name for p in points}),
        [failed(now + 1, ErrorClass.TIMEOUT), *answers(now + 1, others)],
        [failed(now + 2, ErrorClass.BUSY)],
        answers(now + 3, {p.name for p in points}),
    ]
    try:
        for events in cycles:
            node._in_store_thread_sync(lambda e=events: node._commit(e))
        node._in_store_thread_sync(node._commit_closed_gaps)
        node._in_store_thread_sync(lambda: node._commit_gaps(node.gaps.close_all()))
    finally:
        node._release()
    with Store(tmp_path / "edge.sqlite", node_actors.device.address,
               node_actors.system.domain) as store:
        stored = [r.signed.reading for r in readings(store, METER)]
        signed = [read_record(r).record for r in records(store) if r.kind == "gap"]
    gaps = {g.error_class: g for g in signed if isinstance(g, Gap)}
    assert set(gaps) == {"timeout", "busy"}
    # readings: cycle 0 all points, cycle 1 all but the counter; cycle 3 all again
    assert len(stored) == 3 * len(points) - 1
    first_of_cycle_3 = min(r.seq for r in stored if r.timestamp == now + 3)
    assert gaps["timeout"].next_seq == first_of_cycle_3 == 2 * len(points) - 1
    [answer] = [r for r in stored if r.timestamp == now + 3 and r.quantity == counter.quantity]
    assert gaps["busy"].next_seq == answer.seq


def test_a_failed_read_after_a_cycles_commit_signs_nothing_twice_and_keeps_the_gap(
        node_actors: Actors, tmp_path: Path) -> None:
    """Hostile review: the meters' next seqs, read once a cycle is committed (for a run closed
    with no reading of its meter after it), were read outside the "nothing committed, try the
    same events again" rule, so a failed read made the pipeline sign the committed samples a
    second time and drop the closed run. Now the cycle stands, the run is kept and its
    ``nextSeq`` is read when the batch step commits it."""
    config = node_config(tmp_path, 5020, interval=INTERVAL)
    node = EdgeNode(config, node_actors.device, node_actors.system)
    points = load_profile("generic").points
    counter = points[0]
    others = {p.name for p in points} - {counter.name}
    now = int(time.time())

    def answers(at: int, names: set[str]) -> list[Sample]:
        return [Sample(METER, p.name, p.quantity, at, 1000 + at % 7, (0,) * p.data_type.words)
                for p in points if p.name in names]

    real_meters = node.store.meters
    calls: list[int] = []

    def meters_failing_once() -> list[object]:
        calls.append(1)
        if len(calls) == 1:
            raise OSError("disk I/O error (injected)")
        return list(real_meters())

    try:
        node._in_store_thread_sync(lambda: node._commit(answers(now, {p.name for p in points})))
        node._in_store_thread_sync(lambda: node._commit(
            [PollFailure(METER, counter.name, counter.quantity, now + 1, ErrorClass.TIMEOUT,
                         "test", 1), *answers(now + 1, others)]))
        node.store.meters = meters_failing_once  # type: ignore[method-assign]
        # a busy answer closes the timeout run, no reading of the meter after it this cycle
        node._in_store_thread_sync(lambda: node._commit(
            [PollFailure(METER, counter.name, counter.quantity, now + 2, ErrorClass.BUSY,
                         "test", 1)]))
        assert calls, "the closed run's nextSeq was read after the commit"
        node._in_store_thread_sync(node._commit_closed_gaps)
    finally:
        node.store.meters = real_meters  # type: ignore[method-assign]
        node._release()
    with Store(tmp_path / "edge.sqlite", node_actors.device.address,
               node_actors.system.domain) as store:
        stored = [r.signed.reading for r in readings(store, METER)]
        signed = [read_record(r).record for r in records(store) if r.kind == "gap"]
    assert len(stored) == 2 * len(points) - 1  # every sample signed once
    assert len({(r.quantity, r.timestamp) for r in stored}) == len(stored)
    [timeout] = [g for g in signed if isinstance(g, Gap) and g.error_class == "timeout"]
    assert timeout.next_seq == 2 * len(points) - 1  # read at the batch step: nothing after it
