"""7. The edge node's trusted pipeline: samples signed, stored, batched and anchored, one core.

Polling is excluded: the samples are made beforehand, as the poller makes them
(``edge_node.acquisition.Sample``: the generic profile's six points of each meter, decoded
values with their raw registers). The timed run is the node's own code from there on, in
simulated node time where one cycle is one second:

- every cycle, one meter poll of every meter goes through ``EdgeNode._commit`` in the node's
  store thread (the node's conversion to the signer's samples, the gap tracker, the signer: a
  seq, a fresh salt, the EIP-712 signature and the leaf of every reading, and ONE store
  transaction per cycle with ``synchronous=FULL``);
- every cycle the batcher closes what is due (``Batcher.close_due``, the node's
  ``batch_every_s`` of 1 s; batches of the config's default ``max_leaves``), and every second
  cycle the real ``Anchorer`` walks the outbox (``anchor_every_s`` of 2 s) on the embedded
  chain (py-evm), the device paying its own gas;
- at the end the last partial batch is closed and everything anchored final.

The figure is readings durably stored end to end per second of that run. Target (issue 9): at
least 60 % of bare ``mrv_core.signing.sign_digest`` throughput (coincurve over precomputed
digests) measured in the same run, the two timed in alternation. Each repetition uses a fresh
store and a freshly registered device (a store is bound to its device and the chain's
``batchSeq`` continues per device). The run's readings, batches and anchors are checked
afterwards: every reading stored once, every batch final on chain with the store's root.

``python -m benchmarks.bench_edge`` prints where one full-size run spends its time (cProfile
of the store thread and of the main thread, where the anchorer runs).
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import structlog

from edge_node.acquisition import AcquisitionSettings, MeterSettings, Sample, TcpConnection
from edge_node.anchoring import FINAL, ChainView
from edge_node.config import BatchingConfig, ChainConfig, DeviceConfig, NodeConfig
from edge_node.decoding import encode_point
from edge_node.node import EdgeNode
from edge_node.profiles import load_profile
from edge_node.store import Store
from edge_node.store.queries import batches, readings
from mrv_cli.flows import prepare_sample_device
from mrv_core.chain import NodeSigner, System, Transactor, connect, deploy_system, load_artifacts
from mrv_core.keys import DeviceKey
from mrv_core.quantities import QUANTITIES, QuantityKind
from mrv_core.signing import sign_digest

from .core import Config, Row, Target, best_of, check
from .fixtures import PRIVATE

SECTION = "7. edge pipeline: signed -> stored -> batched -> anchored (one core)"
#: End-to-end readings per second over bare sign_digest, same run (issue 9).
PIPELINE_TARGET = Target(0.60)
PROFILE = "generic"
SITE = "bench-co/plant"


@dataclass(frozen=True)
class PipelineSize:
    """``meters`` meters of the generic profile (six points), ``cycles`` one-second cycles."""

    meters: int
    cycles: int

    @property
    def readings(self) -> int:
        return self.meters * len(load_profile(PROFILE).points) * self.cycles


def size_of(cfg: Config) -> PipelineSize:
    # 200 meters x 6 points = 1,200 readings per commit: what the node's pipeline drains every
    # 0.2 s (NodeTimings.cycle_s) from 1,000 such meters polled every second. 60 cycles make
    # one batch of the default max_leaves (65,536) and a last partial one.
    return PipelineSize(meters=4, cycles=6) if cfg.quick else PipelineSize(meters=200, cycles=60)


def meter_paths(count: int) -> list[str]:
    return [f"{SITE}/hall-{i // 100}/line-{i // 10 % 10}/meter-{i:04d}" for i in range(count)]


def embedded_system() -> tuple[System, Transactor]:
    """The contracts deployed on a new embedded chain, and its admin (also an enterprise)."""
    chain = connect(None, evm_version=load_artifacts().evm_version())
    admin = Transactor(chain, NodeSigner(chain.unlocked_accounts()[0]))
    return System(chain, deploy_system(admin)), admin


def node_config(directory: Path, connections: tuple[TcpConnection, ...]) -> NodeConfig:
    """The node's configuration for a benchmark in ``directory``: the config's defaults, the
    given Modbus connections, the store in ``directory``. The key is handed to the node in
    memory (no keystore file is read) and the chain is the caller's ``System``."""
    return NodeConfig(
        device=DeviceConfig(key_file=directory / "device-key.json", store=directory / "edge.sqlite",
                            site=SITE),
        chain=ChainConfig(rpc="embedded", deployment=directory / "deployment.json"),
        batching=BatchingConfig(),
        acquisition=AcquisitionSettings(connections=connections))


def _samples(size: PipelineSize, start: int) -> list[list[Sample]]:
    """Per cycle, one poll of every meter as the poller sends it: every point's value (energy
    counters growing, instantaneous values varying) with its registers in wire order."""
    points = load_profile(PROFILE).points
    cycles = []
    for cycle in range(size.cycles):
        events = []
        for m, path in enumerate(meter_paths(size.meters)):
            for p, point in enumerate(points):
                if QUANTITIES[point.quantity].kind is QuantityKind.CUMULATIVE:
                    value = 1_000_000 * (m + 1) + 2_500 * cycle + p
                else:
                    value = int(point.scale) * (1_000 + (7 * m + 13 * cycle + p) % 5_000)
                events.append(Sample(path, point.name, point.quantity, start + cycle, value,
                                     encode_point(point, value)))
        cycles.append(events)
    return cycles


class _Run:
    """One repetition's node: a fresh store and a freshly registered device."""

    def __init__(self, system: System, admin: Transactor, size: PipelineSize) -> None:
        self.directory = tempfile.TemporaryDirectory(prefix="mrv-bench-edge-")
        self.key = DeviceKey.generate()
        prepare_sample_device(system, admin, self.key)
        meters = tuple(MeterSettings(path=path, unit_id=1 + i % 247, profile=PROFILE,
                                     interval=1.0)
                       for i, path in enumerate(meter_paths(size.meters)))
        # Never connected: the benchmark feeds the pipeline; the poller only plans reads.
        links = tuple(TcpConnection(name=f"link-{i // 247}", host="127.0.0.1", port=5020,
                                    meters=meters[i:i + 247]) for i in range(0, len(meters), 247))
        self.node = EdgeNode(node_config(Path(self.directory.name), links), self.key, system)
        self.anchorer = self.node._make_anchorer()
        self.system = system

    def pipeline(self, cycles: list[list[Sample]]) -> int:
        """The timed part: every cycle committed, batches closed and anchored, as the node
        does; returns how many readings were committed. A cycle is the node's
        ``cycle_s``: the batcher runs every ``batch_every_s``, the anchorer every
        ``anchor_every_s`` of that simulated time."""
        node, committed = self.node, 0
        timings = node.timings
        batch_every = max(1, round(timings.batch_every_s / timings.cycle_s))
        anchor_every = max(1, round(timings.anchor_every_s / timings.cycle_s))
        for index, events in enumerate(cycles, start=1):
            node._in_store_thread_sync(lambda events=events: node._commit(events))  # type: ignore[misc]
            committed += len(events)
            if index % batch_every == 0:
                node._in_store_thread_sync(lambda: node.batcher.close_due(now=int(time.time())))
            if index % anchor_every == 0:
                self.anchorer.run_once(now=int(time.time()))
        node._in_store_thread_sync(lambda: node.batcher.close_due(now=int(time.time()),
                                                                  force=True))
        while self.anchorer.outbox.entries(unfinished=True):
            result = self.anchorer.run_once(now=int(time.time()))
            check(result.waiting is None, f"anchoring stopped: {result.waiting}")
        return committed

    def verify(self, expected: int) -> None:
        """Every reading stored once, every batch final on chain with the store's root."""
        store = Store(self.node.config.device.store, self.key.address, self.system.domain)
        try:
            check(store.integrity_check() == ["ok"], "integrity_check failed")
            stored = readings(store)
            check(len(stored) == expected and all(r.batch_seq is not None for r in stored),
                  f"{len(stored)} readings stored (expected {expected}, all batched)")
            closed = batches(store)
            check(all(b.state == "anchored" for b in closed), "a batch is not anchored")
            check(all(e.state == FINAL for e in self.anchorer.outbox.entries()), "outbox")
            roots = {b.header.batch_seq: b.header.root for b in closed}
            events = ChainView(self.system, self.key.address).anchor_events()
            check(sorted(e.batch_seq for e in events) == sorted(roots)
                  and all(roots[e.batch_seq] == e.root for e in events),
                  "the chain's anchors differ from the store's batches")
        finally:
            store.close()

    def close(self) -> None:
        self.node._store_thread.submit(self.node.store.close).result()
        self.node._store_thread.shutdown()
        self.node._anchor_thread.shutdown()
        self.anchorer.outbox.store.close()
        self.directory.cleanup()


def measure(cfg: Config, size: PipelineSize) -> tuple[float, float, int]:
    """(pipeline readings/s, bare sign_digest/s, batches per run), best of the repetitions,
    timed in alternation."""
    system, admin = embedded_system()
    start = system.chain.latest_timestamp() - 2 * size.cycles - 600
    cycles = _samples(size, start)
    n = size.readings
    digests = [bytes([i % 251]) * 31 + bytes([i % 241]) for i in range(n)]

    def bare() -> list[bytes]:
        return [sign_digest(PRIVATE, d) for d in digests]

    repeat = 1 if cfg.quick else 3
    best_pipeline = best_bare = float("inf")
    batch_count = 0
    best_of(bare, repeat=1)  # warm-up
    for _ in range(repeat):
        run = _Run(system, admin, size)
        try:
            seconds, committed = best_of(lambda run=run: run.pipeline(cycles),  # type: ignore[misc]
                                         repeat=1, warmup=0)
            check(committed == n, f"{committed} readings committed, expected {n}")
            run.verify(n)
            batch_count = len(run.anchorer.outbox.entries())
        finally:
            run.close()
        best_pipeline = min(best_pipeline, seconds)
        best_bare = min(best_bare, best_of(bare, repeat=1, warmup=0)[0])
    return n / best_pipeline, n / best_bare, batch_count


@contextlib.contextmanager
def quiet_logs() -> Iterator[None]:
    """The node's info lines (a batch closed, an anchor sent) off while timing."""
    previous = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    try:
        yield
    finally:
        structlog.configure(**previous)


def run(cfg: Config) -> list[Row]:
    size = size_of(cfg)
    with quiet_logs():
        pipeline, bare, batch_count = measure(cfg, size)
    per_cycle = size.readings // size.cycles
    return [
        Row(SECTION, "baseline: bare sign_digest (coincurve)", bare, "/s",
            note=f"n={size.readings:,} precomputed digests"),
        Row(SECTION, "pipeline: readings durably stored end to end", pipeline, "/s",
            note=f"{size.cycles} commits of {per_cycle:,} readings, {batch_count} batches "
                 f"anchored final, best of {1 if cfg.quick else 3}"),
        Row(SECTION, "  ratio: pipeline / bare sign_digest", pipeline / bare, "x",
            PIPELINE_TARGET, note="same run, timed alternately"),
    ]


def profile(cfg: Config, out: Callable[[str], None] = print) -> None:
    """Print where one pipeline run spends its time (cProfile), for finding what to speed up."""
    import cProfile
    import io
    import pstats

    size = size_of(cfg)
    system, admin = embedded_system()
    start = system.chain.latest_timestamp() - 2 * size.cycles - 600
    cycles = _samples(size, start)
    run_ = _Run(system, admin, size)
    main, store = cProfile.Profile(), cProfile.Profile()
    try:
        run_.node._in_store_thread_sync(store.enable)
        main.enable()
        run_.pipeline(cycles)
        main.disable()
        run_.node._in_store_thread_sync(store.disable)
    finally:
        run_.close()
    for name, profiler in (("store thread", store), ("main thread (anchorer)", main)):
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(35)
        out(f"--- {name}\n{text.getvalue()}")


if __name__ == "__main__":
    profile(Config.full())
