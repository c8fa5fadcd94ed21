"""SIGKILL the whole running node (``mrv edge run``, a real process polling the real simulator
over Modbus TCP and anchoring on anvil at 127.0.0.1) at random moments, restart it, and check
after the last clean run (THREATS.md guarantees 1 and 3):

- ``PRAGMA integrity_check`` is ok;
- each meter's readings are seq 0..n-1, each once (nothing committed lost, nothing doubled);
- the device's ``BatchAnchored`` events carry each batchSeq once, gap-free from 0, each with
  the store's root, and the device account sent exactly one transaction per anchored batch
  (nothing sent twice, not even a reverted duplicate).

3 kills in ``make test``, 100 in ``make soak``; every third kill is at one of the pipeline's
named crash points (``MRV_TEST_CRASH_AT``: between signing and commit, inside a batch closing,
after an anchor is recorded and before it is sent, after it is sent and before its receipt),
the others wherever the node happens to be.
"""

from __future__ import annotations

import random
import signal
import time
from pathlib import Path

import pytest
from integration.edge_node.nodes import PASSWORD, check_store_and_chain, node_site

CRASH_POINTS = ("signed-before-commit", "batch-before-commit", "anchor-signed-before-send",
                "anchor-sent-before-receipt")


@pytest.mark.parametrize("kills", [3, pytest.param(100, marks=pytest.mark.soak)])
def test_a_node_killed_at_random_loses_nothing_and_anchors_nothing_twice(
        anvil_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kills: int) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MRV_KEY_PASSWORD", PASSWORD)
    rng = random.Random(9)
    with node_site(anvil_url, tmp_path) as site:
        for kill in range(kills):
            point = CRASH_POINTS[(kill // 3) % len(CRASH_POINTS)] if kill % 3 == 2 else None
            node = site.start_node(crash_at=point)
            if point is None:
                time.sleep(rng.uniform(4.0, 7.0))  # start-up takes a few seconds of it
                node.send_signal(signal.SIGKILL)
            assert node.wait(timeout=60) == -signal.SIGKILL
        node = site.start_node()
        try:
            before = site.final_batches()
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and site.final_batches() < before + 2:
                time.sleep(0.3)
        finally:
            node.send_signal(signal.SIGINT)
            assert node.wait(timeout=30) == 0
        check_store_and_chain(site)
