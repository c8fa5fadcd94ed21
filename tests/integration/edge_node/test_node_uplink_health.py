"""The ``uplink`` health check of a running node (``EdgeNode.run`` in the test's process, the
meter simulator on 127.0.0.1, the recording receiver standing in for the ledger API, which its
issue builds): ``/healthz`` turns 503 and ``mrv_edge_uplink_stalled{reason="refused"}`` 1 while
the receiver answers 403; a reading tampered in the SQLite file is rejected by the receiver and
found by the node's own verification, named by device, meter and seq in ``/healthz`` and in
``mrv edge status``; the node never skips or deletes it: its cursor stays before it while
readings go on being taken."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import httpx
from integration.chain.support import Actors
from integration.conftest import free_port
from integration.edge_node.conftest import run_scenario
from integration.edge_node.inprocess import METER, node_config, running_node, until
from integration.edge_node.receiver import Receiver

from edge_node.node import EdgeNode
from edge_node.observability import ObservabilityServer
from edge_node.profiles import load_profile
from edge_node.simulator import MeterSimulator, MeterSpec
from edge_node.status import node_status, render_status
from mrv_core.codec import format_address


def uplink_check(node: EdgeNode) -> tuple[bool, str]:
    return dict(node.health_checks())["uplink"]()


def test_a_refusing_receiver_and_a_tampered_reading_fail_the_uplink_check_loudly(
        node_actors: Actors, receiver: Receiver, tmp_path: Path) -> None:
    receiver.faults.status, receiver.faults.fail_next = 403, 10**6
    listen = free_port()
    uplink = (f'[uplink]\nurl = "{receiver.url}"\nidle_poll_ms = 100\nrefusal_holdoff_ms = 200\n'
              "backoff_initial_ms = 50\nbackoff_max_ms = 200\n\n"
              f'[observability]\nlisten = "127.0.0.1:{listen}"\n')
    device = format_address(node_actors.device.address)
    expected = f"reading device {device} meter {METER} seq 0 (leaf 1)"

    async def scenario() -> None:
        async with MeterSimulator([MeterSpec(1, load_profile("generic"))]) as sim:
            _host, port = await sim.start_tcp()
            config = node_config(tmp_path, port, extra=uplink, actors=node_actors)
            async with running_node(config, node_actors) as node:
                server = ObservabilityServer("127.0.0.1", listen, node.metrics,
                                             node.health_checks())
                server.start()
                try:
                    await refused(node)
                    # Tamper with the first reading, still undelivered, in the file itself.
                    connection = sqlite3.connect(config.device.store, timeout=10)
                    with connection:
                        connection.execute("UPDATE readings SET value = '123456789' "
                                           "WHERE ordinal = 1")
                    connection.close()
                    # Requests go one at a time: the next may have been built before the
                    # update, the one after it was not. Only then does the ledger API take
                    # requests again, so the one it judges carries the tampered reading.
                    seen = receiver.recorded.requests
                    await until(lambda: receiver.recorded.requests >= seen + 2,
                                what="a request built after the update")
                    receiver.faults.fail_next = 0
                    await until(lambda: any(v.status == "rejected"
                                            for _, v in receiver.recorded.verdicts),
                                what="the receiver rejecting the tampered reading")
                    # The receiver records its verdict before the node reads the answer.
                    await until(lambda: expected in uplink_check(node)[1]
                                and "bad_signature" in uplink_check(node)[1],
                                what="the check naming the tampered reading and the refusal")
                    ok, detail = uplink_check(node)
                    assert not ok and f"invalid_item: {expected} fails its own verification" \
                        in detail and "bad_signature" in detail, detail
                    status = await asyncio.to_thread(node_status, config)
                    await asyncio.sleep(1.0)  # the uplink tries again, and stays before it
                finally:
                    server.stop()
        assert status["uplink_check"]["ok"] is False
        assert expected in status["uplink_check"]["detail"]
        assert status["health"]["status"] == "failing"
        assert status["health"]["checks"]["uplink"]["ok"] is False
        assert expected in status["health"]["checks"]["uplink"]["detail"]
        text = render_status(status)
        assert f"check    FAILING: invalid_item: {expected}" in text
        assert "uplink     FAILING: " in text

    async def refused(node: EdgeNode) -> None:
        await until(lambda: "HTTP 403" in uplink_check(node)[1], what="a 403 in the check")
        async with httpx.AsyncClient(trust_env=False) as client:
            health = await client.get(f"http://127.0.0.1:{listen}/healthz")
            assert health.status_code == 503
            check = health.json()["checks"]["uplink"]
            assert check["ok"] is False and check["detail"].startswith("refused for ")
            await until(lambda: 'mrv_edge_uplink_stalled{reason="refused"} 1.0' in
                        httpx.get(f"http://127.0.0.1:{listen}/metrics", trust_env=False).text,
                        what="the stalled metric")

    run_scenario(scenario)
    connection = sqlite3.connect(tmp_path / "edge.sqlite")
    try:
        acked = connection.execute(
            "SELECT through FROM uplink_acks WHERE stream = 'leaves'").fetchall()
        tampered = connection.execute("SELECT value FROM readings WHERE ordinal = 1").fetchone()
        readings = connection.execute("SELECT count(*) FROM readings").fetchone()[0]
    finally:
        connection.close()
    assert acked in ([], [(-1,)])  # nothing acknowledged past the tampered reading
    assert tampered == ("123456789",)  # never skipped, never deleted
    assert readings > 10  # polling went on throughout
