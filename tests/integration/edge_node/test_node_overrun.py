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

from pathlib import Path

from integration.chain.support import Actors
from integration.edge_node.conftest import run_scenario
from integration.edge_node.inprocess import METER, node_config, running_node, until

from edge_node.acquisition import ErrorClass, PollStats
from edge_node.config import load_config
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
        # seq the gap names. Its skipped ticks fell due while the poll of the reading before it
        # still ran (so after that poll started, at most DELAY before its answer) and before
        # the reading after it.
        assert after[0].seq == gap.next_seq
        assert before[-1].timestamp - DELAY - 1 <= gap.from_timestamp <= gap.to_timestamp \
            <= after[0].timestamp
