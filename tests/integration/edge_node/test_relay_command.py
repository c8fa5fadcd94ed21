"""``mrv relay`` as a real process against anvil on 127.0.0.1: the edge node's anchorer in
relayer mode anchors through it; killed (SIGKILL, test-only crash point) right after sending an
anchor and before recording it, the restarted relayer finishes that job from its outbox and
never pays twice; its log is JSON lines."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from integration.chain.support import deploy_actors
from integration.conftest import free_port

from edge_node._internal.crashpoints import ENV
from edge_node.anchoring import FINAL, Anchorer, ChainView, Outbox, ViaRelay
from edge_node.batching import Batcher
from edge_node.signing import ReadingSigner, Sample
from edge_node.store import Store
from mrv_core.chain import connect

METER = "edge-co/test-plant/hall/line-1/meter-1"
MRV = Path(sys.executable).with_name("mrv")


@contextmanager
def relay_process(argv: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    """Run ``mrv relay``; yield once it prints its URL; stop it (if alive) afterwards."""
    proc = subprocess.Popen([str(MRV), "relay", *argv], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("relaying"), line + proc.stdout.read()
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


def test_a_killed_relay_command_finishes_its_job_after_restart_without_paying_twice(
        anvil_url: str, tmp_path: Path) -> None:
    chain = connect(anvil_url)
    actors = deploy_actors(chain)
    deployment = tmp_path / "deployment.json"
    actors.system.deployment.write(deployment)
    store = Store(tmp_path / "edge.sqlite", actors.device.address, actors.system.domain)
    now = chain.latest_timestamp()
    signer, batcher = ReadingSigner(store, actors.device), Batcher(store, actors.device)
    for i in range(2):
        signer.sign_cycle([Sample(METER, "import_energy", "energy.active.import:Wh",
                                  now - 100 + i, i, (0, i))], now=0)
        batcher.close_due(now=0, force=True)
    port = free_port()
    argv = ["--rpc", anvil_url, "--deployment", str(deployment), "--db",
            str(tmp_path / "relay.sqlite"), "--port", str(port), "--enterprise",
            actors.enterprise.address, "--rpc-retries", "1"]
    payer = chain.unlocked_accounts()[0]
    paid_before = chain.w3.eth.get_transaction_count(payer)  # type: ignore[arg-type]
    view = ChainView(actors.system, actors.device.address)
    env = {k: v for k, v in os.environ.items() if k != ENV}
    with httpx.Client(timeout=30) as client:
        anchorer = Anchorer(Outbox(store), view,
                            ViaRelay(f"http://127.0.0.1:{port}", client))
        with relay_process(argv, {**env, ENV: "relay-sent-before-record"}) as proc:
            result = anchorer.run_once(now=0)
            assert proc.wait(timeout=10) == -signal.SIGKILL
        assert result.final == () and result.waiting is not None
        assert [e.batch_seq for e in view.anchor_events()] == [0]  # sent before the kill
        log = tmp_path / "logs" / "relay.log"
        log.parent.mkdir()  # a missing log directory is refused, never created
        with relay_process([*argv, "--log", str(log)], env):
            result = anchorer.run_once(now=0)
    assert result.final == (0, 1)
    assert [e.state for e in Outbox(store).entries()] == [FINAL, FINAL]
    assert [e.batch_seq for e in view.anchor_events()] == [0, 1]
    assert chain.w3.eth.get_transaction_count(payer) - paid_before == 2  # type: ignore[arg-type]
    store.close()
    # The relayer logs JSON lines as the edge node does: every line one object with its
    # timestamp (ISO UTC), level and event; the restarted relayer's anchor is among them.
    lines = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert lines and all({"timestamp", "level", "event"} <= set(line) for line in lines)
    assert all(line["timestamp"].endswith("Z") for line in lines)
    relayed = [line for line in lines if line["event"] == "relayed"]
    assert [line["batch_seq"] for line in relayed] == [1] and relayed[0]["level"] == "info"
