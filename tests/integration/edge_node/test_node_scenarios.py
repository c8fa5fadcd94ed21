"""Counter and clock scenarios end to end, the node a real process (``mrv edge run``) against
the simulator and anvil on 127.0.0.1:

1. The simulator sets the ABB meter's counter 10 steps (of 0.01 kWh) below its wrap: the node
   signs the wrapped value and classifies the decrease as a rollover; the meter stays ``ok``.
   (The generic meter's 1 Wh steps can cross the wrap between two polls: the counter then
   seems to fall from where it was before the jump, which is rightly no rollover.)
2. The simulator resets the counter to 0: an unexplained decrease, the meter waits for an
   operator (``awaiting_meter_change``) while its readings go on being signed; ``mrv edge
   meter-change`` (run while the node runs) signs the MeterChange record and clears it.
3. The chain's clock jumps a day ahead of the device's (``evm_increaseTime``): readings signed
   after the next anchor are earlier than that anchor's block time minus the registry's
   ``maxClockSkew`` and are flagged ``CLOCK_BEHIND``; nothing is refused or lost.
"""

from __future__ import annotations

import signal
import sqlite3
import time
from pathlib import Path

import pytest
from integration.edge_node.nodes import PASSWORD, Site, check_store_and_chain, node_site

from edge_node.simulator.control import request
from edge_node.store import Flag
from mrv_cli.main import main

M1 = "example-co/plant-1/utilities/incomer/M1"
M2 = "example-co/plant-1/utilities/boiler/M2"
ENERGY = "energy.active.import:Wh"


def _query(site: Site, sql: str, *args: object) -> list[tuple[object, ...]]:
    connection = sqlite3.connect(f"file:{site.store}?mode=ro", uri=True, timeout=5)
    try:
        return connection.execute(sql, args).fetchall()
    finally:
        connection.close()


def _wait(condition: object, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.3)
    raise AssertionError("condition not reached in time")


def _events(site: Site, event: str, meter: str = M1) -> int:
    rows = _query(site, "SELECT count(*) FROM readings r JOIN meters m ON r.meter_pk = m.id "
                        "WHERE m.path = ? AND r.quantity = ? AND r.counter_event = ?",
                  meter, ENERGY, event)
    return int(rows[0][0])  # type: ignore[call-overload]


def _state(site: Site, meter: str = M1) -> str:
    return str(_query(site, "SELECT state FROM meters WHERE path = ?", meter)[0][0])


def test_rollover_reset_meter_change_and_a_clock_behind_the_chain_end_to_end(
        anvil_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MRV_KEY_PASSWORD", PASSWORD)
    with node_site(anvil_url, tmp_path) as site:
        node = site.start_node()
        try:
            _wait(lambda: site.final_batches() >= 1)
            assert request(site.control, {"op": "fault", "fault": "2:rollover"})["ok"]
            _wait(lambda: _events(site, "rollover", M2) >= 1)
            assert _state(site, M2) == "ok" and _events(site, "unexplained_decrease", M2) == 0

            assert request(site.control, {"op": "fault", "fault": "1:reset"})["ok"]
            _wait(lambda: _state(site) == "awaiting_meter_change")
            taken = int(_query(site, "SELECT count(*) FROM readings")[0][0])  # type: ignore[call-overload]
            _wait(lambda: int(_query(site, "SELECT count(*) FROM readings")[0][0]) > taken + 4)  # type: ignore[call-overload]
            assert main(["edge", "meter-change", "--config", str(site.config), "--meter", M1,
                         "--new-initial", "0", "--note",
                         "counter reset during commissioning"]) == 0
            assert _state(site) == "ok"
            assert _query(site, "SELECT count(*) FROM records WHERE kind = 'meter_change'") \
                == [(1,)]

            anchors = site.final_batches()
            site.chain.w3.provider.make_request("evm_increaseTime", [86_400])  # type: ignore[arg-type]
            site.chain.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
            _wait(lambda: site.final_batches() >= anchors + 3)
            behind = _query(site, "SELECT count(*) FROM leaves WHERE flags & ? != 0",
                            int(Flag.CLOCK_BEHIND))
            assert behind[0][0] > 0  # type: ignore[operator]
        finally:
            node.send_signal(signal.SIGINT)
            assert node.wait(timeout=30) == 0
        check_store_and_chain(site)
