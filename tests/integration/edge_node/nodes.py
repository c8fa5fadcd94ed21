"""A node site for the tests that run ``mrv edge run`` as a real process: contracts deployed on
a JSON-RPC chain on 127.0.0.1, the enterprise role granted, the meter simulator serving the
generic profile (unit 1) and ABB B2x (unit 2) over Modbus TCP, and a node made by ``mrv edge
init`` (fast polls and batches by its flags; the second meter appended) and ``mrv edge
register`` (in-process)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from integration.conftest import free_port

from edge_node._internal.crashpoints import ENV as CRASH_ENV
from mrv_cli.main import main
from mrv_core.chain import Chain, Deployment, System, connect

MRV = Path(sys.executable).with_name("mrv")
PASSWORD = "edge-test"
ENV = {**os.environ, "MRV_KEY_PASSWORD": PASSWORD}


@dataclass(frozen=True)
class Site:
    config: Path
    store: Path
    chain: Chain
    deployment: Path
    control: tuple[str, int]  # the simulator's control channel

    def system(self) -> System:
        return System(self.chain, Deployment.read(self.deployment))

    def start_node(self, *, crash_at: str | None = None, watch: bool = False,
                   options: Sequence[str] = ()) -> subprocess.Popen[bytes]:
        """``mrv edge run`` (with ``options``); with ``crash_at`` it SIGKILLs itself at that
        test-only crash point (``MRV_TEST_CRASH_AT``, edge_node/_internal/crashpoints.py); with
        ``watch`` its standard output is a pipe (its first line names the metrics and health
        address)."""
        env = ENV if crash_at is None else {**ENV, CRASH_ENV: crash_at}
        return subprocess.Popen([str(MRV), "edge", "run", "--config", str(self.config),
                                 *options],
                                stdout=subprocess.PIPE if watch else subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, env=env)

    def final_batches(self) -> int:
        """Batches the store records as anchored final (0 before the node made its tables)."""
        if not self.store.exists():
            return 0
        connection = sqlite3.connect(f"file:{self.store}?mode=ro", uri=True, timeout=5)
        try:
            return int(connection.execute(
                "SELECT count(*) FROM outbox WHERE state = 'final'").fetchone()[0])
        except sqlite3.OperationalError:
            return 0
        finally:
            connection.close()


@contextmanager
def node_site(rpc: str, directory: Path, *, clock: Sequence[str] = ("--speed", "60"),
              interval: str = "0.25", max_age: str = "1") -> Iterator[Site]:
    """Deploy, grant, serve the simulator and make a registered node in ``directory`` (the
    current directory must be ``directory``, and ``MRV_KEY_PASSWORD`` set to
    :data:`PASSWORD`); stop the simulator afterwards. ``clock``: the simulator's clock options;
    ``interval`` and ``max_age``: the meters' poll interval and the batches' age, seconds."""
    assert main(["chain", "deploy", "--rpc", rpc, "--out", "deployment.json"]) == 0
    chain = connect(rpc)
    assert main(["chain", "grant", "enterprise", chain.unlocked_accounts()[0], "--rpc", rpc,
                 "--deployment", "deployment.json"]) == 0
    port = free_port()
    simulator = subprocess.Popen([str(MRV), "simulate", "meters", "--port", str(port),
                                  "--meter", "1:generic", "--meter", "2:abb.b2x",
                                  *clock], stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, env=ENV)
    try:
        assert simulator.stdout is not None and simulator.stdout.readline()
        host, control_port = simulator.stdout.readline().decode().split()[1].split(":")
        assert main(["edge", "init", "node", "--rpc", rpc, "--deployment",
                     "deployment.json", "--modbus-port", str(port), "--interval", interval,
                     "--batch-max-age", max_age, "--listen", "127.0.0.1:0", "--light-kdf"]) == 0
        config = directory / "node" / "edge.toml"
        text = config.read_text() + ('\n[[acquisition.connections.meters]]\n'
                 'path = "example-co/plant-1/utilities/boiler/M2"\n'
                 f'unit_id = 2\nprofile = "abb.b2x"\ninterval = {interval}\n')
        config.write_text(text)
        assert main(["edge", "register", "--config", str(config), "--fund",
                     "1000000000000000000"]) == 0
        yield Site(config, directory / "node" / "edge.sqlite", chain,
                   directory / "deployment.json", (host, int(control_port)))
    finally:
        simulator.send_signal(signal.SIGINT)
        simulator.wait(timeout=20)
        if simulator.stdout is not None:
            simulator.stdout.close()


def check_store_and_chain(site: Site, *, chain: Chain | None = None) -> int:
    """The guarantees after any run (THREATS.md 1 and 3): integrity, each meter's readings
    seq 0..n-1 once, ``BatchAnchored`` gap-free from 0 with the store's roots, one device
    transaction per anchor. Returns the number of batches anchored."""
    connection = sqlite3.connect(site.store)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        for (meter,) in connection.execute("SELECT id FROM meters"):
            seqs = [s for (s,) in connection.execute(
                "SELECT seq FROM readings WHERE meter_pk = ? ORDER BY seq", (meter,))]
            assert seqs == list(range(len(seqs))) and len(seqs) > 10
        device = connection.execute("SELECT value FROM node WHERE key = 'device'").fetchone()[0]
        roots = dict(connection.execute(
            "SELECT batch_seq, root FROM batches b JOIN outbox o USING (device, batch_seq) "
            "WHERE o.state = 'final'"))
    finally:
        connection.close()
    system = System(chain or site.chain, Deployment.read(site.deployment))
    events = system.anchors.events.BatchAnchored().get_logs(
        from_block=0, argument_filters={"device": device})
    anchored = [int(e["args"]["batchSeq"]) for e in events]
    assert anchored == list(range(len(anchored))) and len(anchored) >= len(roots) >= 2
    for event in events:
        seq = int(event["args"]["batchSeq"])
        if seq in roots:
            assert bytes(event["args"]["root"]) == roots[seq]
    assert system.chain.w3.eth.get_transaction_count(device) == len(anchored)
    return len(anchored)
