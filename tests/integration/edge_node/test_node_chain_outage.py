"""The chain goes away while the node runs (THREATS.md guarantee 2, store-and-forward): anvil
on 127.0.0.1 is stopped mid-run (its state dumped with ``--state``) and restarted on the same
port a few seconds later. Meanwhile the node keeps polling, signing and storing; afterwards
every batch is anchored once, gap-free, with the store's roots, and no reading is lost. A node
stopped and started again while the chain is still down starts anyway (signing domain and
clock skew from the deployment file) and anchors once the chain is back."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from integration.edge_node.nodes import PASSWORD, check_store_and_chain, node_site

from local_servers import free_port
from local_servers.anvil import ANVIL, stop_anvil, wait_until_up
from mrv_core.chain import connect


def _readings(store: Path) -> int:
    connection = sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=5)
    try:
        return int(connection.execute("SELECT count(*) FROM readings").fetchone()[0])
    finally:
        connection.close()


class Anvil:
    """An anvil on a fixed port that can be stopped and started again with its state."""

    def __init__(self, state: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.state = state
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [str(ANVIL), "--host", "127.0.0.1", "--port", str(self.port), "--silent",
             "--hardfork", "paris", "--balance", "1000000", "--state", str(self.state)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        assert wait_until_up(self.url, self.proc, timeout=30), "anvil did not start"

    def stop(self) -> None:
        if self.proc is not None:
            stop_anvil(self.proc)  # SIGTERM: anvil dumps its state to --state on the way out
            self.proc = None


@pytest.fixture
def anvil(tmp_path: Path) -> Iterator[Anvil]:
    node = Anvil(tmp_path / "anvil-state.json")
    node.start()
    try:
        yield node
    finally:
        node.stop()


def test_the_node_stores_through_a_chain_outage_and_anchors_everything_once_after(
        anvil: Anvil, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MRV_KEY_PASSWORD", PASSWORD)
    with node_site(anvil.url, tmp_path) as site:
        node = site.start_node(watch=True)
        try:
            assert node.stdout is not None
            health = node.stdout.readline().decode().split()[-1] + "/healthz"
            _wait(lambda: site.final_batches() >= 1)
            assert httpx.get(health, timeout=10).json()["checks"]["chain"]["ok"] is True
            anvil.stop()
            during = _readings(site.store)
            _wait(lambda: httpx.get(health, timeout=10).status_code == 503)
            verdict = httpx.get(health, timeout=10).json()
            assert verdict["checks"]["chain"]["ok"] is False  # the operator sees the outage
            assert verdict["checks"]["polling"]["ok"] is True
            assert _readings(site.store) > during  # readings keep being taken and stored
            assert node.poll() is None  # the outage did not stop the node
            node.send_signal(signal.SIGINT)  # stopping works without the chain, too
            assert node.wait(timeout=30) == 0
            node.stdout.close()
            # A node (re)started while the chain is down takes and stores readings anyway.
            stopped = _readings(site.store)
            node = site.start_node()
            _wait(lambda: _readings(site.store) > stopped + 10)
            assert node.poll() is None
            stalled = site.final_batches()
            anvil.start()
            _wait(lambda: site.final_batches() >= stalled + 3)
        finally:
            node.send_signal(signal.SIGINT)
            assert node.wait(timeout=30) == 0
        check_store_and_chain(site, chain=connect(anvil.url))


def _wait(condition: Callable[[], bool], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "not reached in time"
        time.sleep(0.3)
