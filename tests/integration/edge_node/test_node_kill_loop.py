"""SIGKILL the whole running node (``mrv edge run``, a real process polling the real simulator
over Modbus TCP and anchoring on anvil at 127.0.0.1) at random moments, restart it, and check
after the last clean run (THREATS.md guarantees 1 and 3):

- ``PRAGMA integrity_check`` is ok;
- each meter's readings are seq 0..n-1, each once (nothing committed lost, nothing doubled);
- the device's ``BatchAnchored`` events carry each batchSeq once, gap-free from 0, each with
  the store's root, and the device account sent exactly one transaction per anchored batch
  (nothing sent twice, not even a reverted duplicate).

``MRV_NODE_KILLS`` sets the number of kills (3 in ``make test``; ``make soak`` runs more). The
pipeline's named crash points (between signing and commit, between sending an anchor and its
receipt) are exercised by ``test_crash_loop.py``; this test kills the composed node wherever
it happens to be.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from integration.conftest import free_port

from mrv_cli.main import main
from mrv_core.chain import Deployment, System, connect
from mrv_core.codec import format_address

MRV = Path(sys.executable).with_name("mrv")
KILLS = int(os.environ.get("MRV_NODE_KILLS", "3"))
ENV = {**os.environ, "MRV_KEY_PASSWORD": "edge-test"}


def _start(config: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([str(MRV), "edge", "run", "--config", str(config)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)


def _final_batches(store: Path) -> int:
    connection = sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=5)
    try:
        return int(connection.execute(
            "SELECT count(*) FROM outbox WHERE state = 'final'").fetchone()[0])
    except sqlite3.OperationalError:
        return 0
    finally:
        connection.close()


def test_a_node_killed_at_random_loses_nothing_and_anchors_nothing_twice(
        anvil_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MRV_KEY_PASSWORD", "edge-test")
    assert main(["chain", "deploy", "--rpc", anvil_url, "--out", "deployment.json"]) == 0
    chain = connect(anvil_url)
    assert main(["chain", "grant", "enterprise", chain.unlocked_accounts()[0], "--rpc",
                 anvil_url, "--deployment", "deployment.json"]) == 0
    port = free_port()
    simulator = subprocess.Popen([str(MRV), "simulate", "meters", "--port", str(port),
                                  "--meter", "1:generic", "--meter", "2:abb.b2x",
                                  "--speed", "60"], stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, env=ENV)
    try:
        assert simulator.stdout is not None and simulator.stdout.readline()
        assert main(["edge", "init", "node", "--rpc", anvil_url, "--deployment",
                     "../deployment.json", "--modbus-port", str(port), "--light-kdf"]) == 0
        config = tmp_path / "node" / "edge.toml"
        text = config.read_text().replace("max_age_seconds = 3600", "max_age_seconds = 1")
        text = text.replace("interval = 60.0", "interval = 0.25")
        text = text.replace('listen = "127.0.0.1:9108"', 'listen = "127.0.0.1:0"')
        text += ('\n[[acquisition.connections.meters]]\n'
                 'path = "example-co/plant-1/utilities/boiler/M2"\n'
                 'unit_id = 2\nprofile = "abb.b2x"\ninterval = 0.25\n')
        config.write_text(text)
        assert main(["edge", "register", "--config", str(config), "--fund",
                     "1000000000000000000"]) == 0
        store = tmp_path / "node" / "edge.sqlite"
        rng = random.Random(9)
        for _ in range(KILLS):
            node = _start(config)
            time.sleep(rng.uniform(4.0, 7.0))  # start-up takes a few seconds of it
            node.send_signal(signal.SIGKILL)
            assert node.wait(timeout=10) == -signal.SIGKILL
        node = _start(config)
        try:
            deadline = time.monotonic() + 60
            before = _final_batches(store)
            while time.monotonic() < deadline and _final_batches(store) < before + 2:
                time.sleep(0.3)
        finally:
            node.send_signal(signal.SIGINT)
            assert node.wait(timeout=30) == 0
    finally:
        simulator.send_signal(signal.SIGINT)
        simulator.wait(timeout=20)
        if simulator.stdout is not None:
            simulator.stdout.close()

    connection = sqlite3.connect(store)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        for (meter,) in connection.execute("SELECT id FROM meters"):
            seqs = [s for (s,) in connection.execute(
                "SELECT seq FROM readings WHERE meter_pk = ? ORDER BY seq", (meter,))]
            assert seqs == list(range(len(seqs))) and len(seqs) > 10
        device = bytes.fromhex(connection.execute(
            "SELECT value FROM node WHERE key = 'device'").fetchone()[0].removeprefix("0x"))
        roots = dict(connection.execute(
            "SELECT batch_seq, root FROM batches b JOIN outbox o USING (device, batch_seq) "
            "WHERE o.state = 'final'"))
    finally:
        connection.close()
    system = System(chain, Deployment.read(tmp_path / "deployment.json"))
    events = system.anchors.events.BatchAnchored().get_logs(
        from_block=0, argument_filters={"device": format_address(device)})
    anchored = [int(e["args"]["batchSeq"]) for e in events]
    assert anchored == list(range(len(anchored))) and len(anchored) >= len(roots) >= 2
    for event in events:
        seq = int(event["args"]["batchSeq"])
        if seq in roots:
            assert bytes(event["args"]["root"]) == roots[seq]
    # One transaction per anchored batch: the device account sent nothing else, not even a
    # reverted duplicate.
    assert chain.w3.eth.get_transaction_count(format_address(device)) == len(anchored)
