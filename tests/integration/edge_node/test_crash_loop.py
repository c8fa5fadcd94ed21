"""SIGKILL the trusted pipeline (store, signer, batcher, anchorer) at random moments and at the
named crash points, against anvil on 127.0.0.1, and check after every kill (THREATS.md
guarantees 1 and 3):

- ``PRAGMA integrity_check`` is ok;
- every reading the child logged as committed is in the store, and the store holds for each
  meter exactly the readings 0..n-1 the deterministic feeder makes (no duplicate, no gap, no
  invented value);
- on chain, the device's ``BatchAnchored`` events have each batchSeq once, gap-free from 0,
  each with the root of the store's batch, and the device's account sent exactly one
  transaction per anchored batch (nothing sent twice, not even a reverted duplicate).

The child is a forked copy of this test process (``multiprocessing``'s fork start method, so it
starts in milliseconds; the key is in its memory, no keystore to unlock). Kills: odd
iterations at a random time after the child is running; even ones at a crash point chosen in
turn (``MRV_TEST_CRASH_AT``, edge_node/_internal/crashpoints.py: between signing and commit,
inside a batch closing, after the anchor transaction is recorded but before it is sent, after
it is sent but before its receipt is recorded), the child killing itself with SIGKILL there.
At the end a child drains everything: every closed batch is final on chain.

The feeder (integration/edge_node/pipeline.py) stands in for acquisition. 20 iterations here;
behind the ``soak`` marker ``MRV_SOAK_ITERATIONS`` (200 unless set; `make soak
SOAK_ITERATIONS=N` sets it), at least 100. Each loop reports its figures (iterations, kills by
kind, readings checked, batches anchored) in the run's summary (tests/conftest.py).
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from integration.chain.support import deploy_actors
from integration.edge_node.pipeline import METERS, PipelineConfig, expected, run

from edge_node._internal.crashpoints import ENV
from edge_node.anchoring import FINAL, ChainView, Outbox
from edge_node.store import Store
from edge_node.store.queries import batches, readings
from mrv_core.chain import System, connect
from mrv_core.codec import format_address
from mrv_core.keys import DeviceKey

CRASH_POINTS = ("signed-before-commit", "batch-before-commit", "anchor-signed-before-send",
                "anchor-sent-before-receipt")
_FORK = multiprocessing.get_context("fork")
#: Environment variable: kills in the soak loop (`make soak SOAK_ITERATIONS=N` sets it).
SOAK_ITERATIONS = "MRV_SOAK_ITERATIONS"


def _child(config: PipelineConfig, crash_at: str | None) -> None:
    if crash_at is not None:
        os.environ[ENV] = crash_at
    else:
        os.environ.pop(ENV, None)
    run(config)


def _check(config: PipelineConfig, system: System) -> tuple[int, int]:
    """The checks of the module docstring; returns (readings, anchored batches)."""
    key_address = _address(config)
    with Store(config.store, key_address, system.domain) as store:
        assert store.integrity_check() == ["ok"]
        stored = readings(store)
        by_meter: dict[str, list[tuple[int, int, int]]] = {}
        for item in stored:
            r = item.signed.reading
            by_meter.setdefault(item.signed.meter_path, []).append((r.seq, r.timestamp, r.value))
        for index, path in enumerate(METERS):
            got = by_meter.get(path, [])
            assert got == [(seq, *expected(index, seq, config.start)) for seq in range(len(got))]
        present = {(item.signed.meter_path, item.signed.reading.seq) for item in stored}
        logged = [tuple(line.rsplit(" ", 1)) for line in
                  config.log.read_text(encoding="utf-8").splitlines() if line.count(" ") == 1]
        assert {(path, int(seq)) for path, seq in logged} <= present
        roots = {b.header.batch_seq: b.header.root for b in batches(store)}
    events = ChainView(system, key_address).anchor_events()
    seqs = [e.batch_seq for e in events]
    assert not [s for s, n in Counter(seqs).items() if n > 1], f"anchored twice: {seqs}"
    assert sorted(seqs) == list(range(len(seqs))), f"batchSeq gap: {seqs}"
    assert all(roots[e.batch_seq] == e.root for e in events)
    sent = system.chain.w3.eth.get_transaction_count(format_address(key_address))  # type: ignore[arg-type]
    assert sent == len(events), f"{sent} transactions for {len(events)} anchors"
    return len(stored), len(events)


def _address(config: PipelineConfig) -> bytes:
    return DeviceKey.from_private_bytes(config.key_secret).address


def _crash_loop(anvil_url: str, tmp_path: Path, iterations: int, seed: int) -> str:
    """The loop of the module docstring; returns its figures as one line."""
    rng = random.Random(seed)
    chain = connect(anvil_url)
    secret = rng.randbytes(31) + b"\x01"  # a valid secp256k1 secret (far below the order)
    actors = deploy_actors(chain, DeviceKey.from_private_bytes(secret))
    system = actors.system
    config = PipelineConfig(store=tmp_path / "edge.sqlite", log=tmp_path / "committed.log",
                            rpc=anvil_url, deployment=system.deployment,
                            key_secret=secret,
                            start=chain.latest_timestamp() - 50_000)
    config.log.touch()
    kills = Counter[str]()
    for iteration in range(iterations):
        crash_at = (None if iteration % 2 else
                    f"{CRASH_POINTS[(iteration // 2) % len(CRASH_POINTS)]}:{rng.randint(1, 3)}")
        child = _FORK.Process(target=_child, args=(config, crash_at), daemon=True)
        child.start()
        if crash_at is None:
            time.sleep(rng.uniform(0.05, 0.8))
            os.kill(child.pid, signal.SIGKILL)  # type: ignore[arg-type]
        child.join(timeout=30)
        if child.is_alive():
            os.kill(child.pid, signal.SIGKILL)  # type: ignore[arg-type]
            child.join(timeout=10)
            pytest.fail(f"the child never reached crash point {crash_at}")
        assert child.exitcode == -signal.SIGKILL, (crash_at, child.exitcode)
        kills[crash_at.split(":")[0] if crash_at else "random time"] += 1
        _check(config, system)
    drain = _FORK.Process(target=run, args=(PipelineConfig(**{**config.__dict__,
                                                               "drain": True}),), daemon=True)
    drain.start()
    drain.join(timeout=60)
    assert drain.exitcode == 0
    count, anchored = _check(config, system)
    with Store(config.store, _address(config), system.domain) as store:
        closed = [b.header.batch_seq for b in batches(store)]
        assert [e.batch_seq for e in Outbox(store).entries() if e.state == FINAL] == closed
        assert all(r.batch_seq is not None for r in readings(store))
    assert anchored == len(closed) and count > 0
    return (f"{iterations} kills ({', '.join(f'{k} {n}' for k, n in sorted(kills.items()))}); "
            f"{count} readings stored, all checked after every kill; {anchored} batches "
            "anchored once each")


def test_sigkill_loses_no_committed_reading_and_never_anchors_twice(
        anvil_url: str, tmp_path: Path, record_property: Callable[[str, object], None]) -> None:
    figures = _crash_loop(anvil_url, tmp_path, iterations=20, seed=20261130)
    record_property("figure", ("crash loop (SIGKILL)", "make test", figures))


@pytest.mark.soak
def test_sigkill_soak_loses_no_committed_reading_and_never_anchors_twice(
        anvil_url: str, tmp_path: Path, record_property: Callable[[str, object], None]) -> None:
    iterations = int(os.environ.get(SOAK_ITERATIONS, "200"))
    assert iterations >= 100, f"{SOAK_ITERATIONS}={iterations}: the soak kills at least 100 times"
    seed = int(time.time())
    figures = _crash_loop(anvil_url, tmp_path, iterations=iterations, seed=seed)
    record_property("figure", ("crash loop (SIGKILL)", "make soak", f"{figures} (seed {seed})"))
