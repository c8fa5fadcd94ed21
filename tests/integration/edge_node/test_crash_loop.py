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
200 behind the ``soak`` marker (``MRV_SOAK_ITERATIONS``, at least 100; ``make soak
SOAK_ITERATIONS=N`` sets it), and 100 more there with the device anchoring through a relayer
child process that is killed too (at random times and between sending ``anchorBySig`` and
recording it), where the relayer's account must have paid exactly once per anchored batch.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import socket
import time
from collections import Counter
from dataclasses import dataclass, replace
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

import pytest
from integration.chain.support import deploy_actors
from integration.conftest import free_port
from integration.edge_node.pipeline import (
    METERS,
    PipelineConfig,
    RelayConfig,
    expected,
    run,
    serve_relay,
)

from edge_node._internal.crashpoints import ENV
from edge_node.anchoring import FINAL, ChainView, Outbox
from edge_node.store import Store
from edge_node.store.queries import batches, readings
from mrv_core.chain import System, connect
from mrv_core.codec import format_address, parse_address
from mrv_core.keys import DeviceKey

RELAY_POINT = "relay-sent-before-record"
CRASH_POINTS = ("signed-before-commit", "batch-before-commit", "anchor-signed-before-send",
                "anchor-sent-before-receipt")
_FORK = multiprocessing.get_context("fork")


def _child(config: PipelineConfig | RelayConfig, crash_at: str | None) -> None:
    if crash_at is not None:
        os.environ[ENV] = crash_at
    else:
        os.environ.pop(ENV, None)
    if isinstance(config, RelayConfig):
        serve_relay(config)
    else:
        run(config)


def _check(config: PipelineConfig, system: System, payer: Payer | None) -> tuple[int, int]:
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
    sent = _sent(system, format_address(key_address))
    if payer is not None:
        sent += _sent(system, payer.address) - payer.before
    assert sent == len(events), f"{sent} transactions for {len(events)} anchors"
    return len(stored), len(events)


@dataclass(frozen=True)
class Payer:
    """The relayer's paying account and its transaction count before the loop."""

    address: str
    before: int


def _sent(system: System, address: str) -> int:
    return int(system.chain.w3.eth.get_transaction_count(address))  # type: ignore[arg-type]


def _address(config: PipelineConfig) -> bytes:
    return DeviceKey.from_private_bytes(config.key_secret).address


def _kill(process: BaseProcess) -> None:
    if process.is_alive():
        os.kill(process.pid, signal.SIGKILL)  # type: ignore[arg-type]
    process.join(timeout=10)


def _start(started: list[BaseProcess], target: Any, *args: Any) -> BaseProcess:
    process = _FORK.Process(target=target, args=args, daemon=True)
    process.start()
    started.append(process)
    return process


def _crash_loop(anvil_url: str, tmp_path: Path, iterations: int, seed: int, *,
                relayed: bool = False) -> None:
    """Kill the pipeline ``iterations`` times (module docstring). With ``relayed`` the device
    anchors through a relayer child process, which is killed too: at random times, and at its
    crash point between sending ``anchorBySig`` and recording it."""
    rng = random.Random(seed)
    chain = connect(anvil_url)
    secret = rng.randbytes(31) + b"\x01"  # a valid secp256k1 secret (far below the order)
    actors = deploy_actors(chain, DeviceKey.from_private_bytes(secret))
    system = actors.system
    relay: RelayConfig | None = None
    payer: Payer | None = None
    if relayed:
        address = chain.unlocked_accounts()[2]
        payer = Payer(address, _sent(system, address))
        relay = RelayConfig(rpc=anvil_url, deployment=system.deployment,
                            db=tmp_path / "relay.sqlite", port=free_port(), payer=address,
                            enterprise=parse_address(actors.enterprise.address))
    config = PipelineConfig(store=tmp_path / "edge.sqlite", log=tmp_path / "committed.log",
                            rpc=anvil_url, deployment=system.deployment, key_secret=secret,
                            start=chain.latest_timestamp() - 50_000,
                            relay_url=None if relay is None else f"http://127.0.0.1:{relay.port}")
    config.log.touch()
    kills = Counter[str]()
    relayer: BaseProcess | None = None
    started: list[BaseProcess] = []
    try:
        for iteration in range(iterations):
            relay_crash = relay is not None and iteration % 4 == 2
            if relay_crash and relayer is not None:
                _kill(relayer)  # restarted below with its crash point set
            if relay is not None and (relayer is None or not relayer.is_alive()):
                relayer = _start(started, _child, relay, f"{RELAY_POINT}:{rng.randint(1, 2)}"
                                 if relay_crash else None)
                if not _listening(relay.port, relayer):
                    # It died at its crash point while finishing an earlier job (resume).
                    assert relay_crash and relayer.exitcode == -signal.SIGKILL
                    kills[f"{RELAY_POINT} while resuming"] += 1
                    _check(config, system, payer)
                    continue
            crash_at = (None if iteration % 2 or relay_crash else
                        f"{CRASH_POINTS[(iteration // 2) % len(CRASH_POINTS)]}:{rng.randint(1, 3)}")
            child = _start(started, _child, config, crash_at)
            if relay_crash:
                assert relayer is not None
                relayer.join(timeout=30)
                reached = relayer.exitcode == -signal.SIGKILL
                _kill(relayer)
                _kill(child)
                assert reached, "the relayer never reached its crash point"
                kills[RELAY_POINT] += 1
            elif crash_at is None:
                time.sleep(rng.uniform(0.05, 0.5))
                _kill(child)
                if relayer is not None and rng.random() < 0.5:
                    _kill(relayer)
                    kills["relayer at a random time"] += 1
                kills["random time"] += 1
            else:
                child.join(timeout=30)
                if child.is_alive():
                    _kill(child)
                    pytest.fail(f"the child never reached crash point {crash_at}")
                kills[crash_at.split(":")[0]] += 1
            assert child.exitcode == -signal.SIGKILL, (crash_at, child.exitcode)
            _check(config, system, payer)
        if relay is not None and (relayer is None or not relayer.is_alive()):
            relayer = _start(started, _child, relay, None)
            assert _listening(relay.port, relayer)
        drain = _start(started, run, replace(config, drain=True))
        drain.join(timeout=60)
        assert drain.exitcode == 0
    finally:
        for process in started:
            _kill(process)
    count, anchored = _check(config, system, payer)
    with Store(config.store, _address(config), system.domain) as store:
        closed = [b.header.batch_seq for b in batches(store)]
        assert [e.batch_seq for e in Outbox(store).entries() if e.state == FINAL] == closed
        assert all(r.batch_seq is not None for r in readings(store))
    assert anchored == len(closed) and count > 0
    print(f"crash loop{' (relayed)' if relayed else ''}: {iterations} kills {dict(kills)}, "
          f"{count} readings, {anchored} batches anchored once each")


def _listening(port: int, process: BaseProcess) -> bool:
    """Wait until ``process`` listens on 127.0.0.1:``port``; False if it died first."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and process.is_alive():
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.02)
    process.join(timeout=1)
    if process.is_alive():
        pytest.fail(f"the relayer did not listen on 127.0.0.1:{port}")
    return False


def test_sigkill_loses_no_committed_reading_and_never_anchors_twice(
        anvil_url: str, tmp_path: Path) -> None:
    _crash_loop(anvil_url, tmp_path, iterations=20, seed=20261130)


@pytest.mark.soak
def test_sigkill_soak_loses_no_committed_reading_and_never_anchors_twice(
        anvil_url: str, tmp_path: Path) -> None:
    iterations = int(os.environ.get("MRV_SOAK_ITERATIONS", "200"))  # `make soak` sets it
    assert iterations >= 100, "the soak loop kills the pipeline at least 100 times"
    _crash_loop(anvil_url, tmp_path, iterations=iterations, seed=int(time.time()))


@pytest.mark.soak
def test_sigkill_soak_of_node_and_relayer_never_pays_twice(anvil_url: str,
                                                           tmp_path: Path) -> None:
    _crash_loop(anvil_url, tmp_path, iterations=100, seed=int(time.time()), relayed=True)
