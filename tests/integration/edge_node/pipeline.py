"""The trusted pipeline as the crash tests run it in a child process: a deterministic feeder,
the signer, the batcher and the anchorer in a loop, against a real chain.

The feeder stands in for acquisition (the lead wires the node's run loop to the meter
simulator): every cycle it gives each meter one sample, at time ``start + 10 * k`` for the
meter's k-th reading and a value that is a fixed function of the meter and k, so the checker
knows exactly which readings may exist. It resumes from the store (the meter's next seq), as a
restarted node would.

After each commit the child appends the committed (meter, seq) pairs to a log file (written,
not fsynced: a killed process's writes are in the kernel and survive it); every logged reading
must be in the store afterwards.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from edge_node._internal.crashpoints import from_environment
from edge_node.anchoring import Anchorer, AnchorPath, ChainView, Outbox, OwnAccount, ViaRelay
from edge_node.batching import Batcher, BatchingSettings
from edge_node.relay import Relayer, RelayJobs, RelayServer
from edge_node.signing import ReadingSigner, Sample
from edge_node.store import Store
from mrv_core.chain import (
    ChainSettings,
    Deployment,
    KeySigner,
    NodeSigner,
    System,
    Transactor,
    connect,
)
from mrv_core.keys import DeviceKey

METERS = tuple(f"edge-co/crash-plant/hall/line-{i}/meter" for i in range(3))
ENERGY = "energy.active.import:Wh"
STEP_S = 10


@dataclass(frozen=True)
class PipelineConfig:
    store: Path
    log: Path
    rpc: str
    deployment: Deployment
    key_secret: bytes
    start: int
    max_leaves: int = 4
    drain: bool = False
    #: Anchor through this relayer (``mrv relay``'s service) instead of the device's account.
    relay_url: str | None = None


@dataclass(frozen=True)
class RelayConfig:
    """A relayer serving ``enterprise``'s devices on 127.0.0.1:``port``, paid by the node's
    unlocked account ``payer``, its outbox in ``db``."""

    rpc: str
    deployment: Deployment
    db: Path
    port: int
    payer: str
    enterprise: bytes


def serve_relay(config: RelayConfig) -> None:
    """Run a relayer until killed (what ``mrv relay`` runs, without the argument parsing)."""
    chain = connect(config.rpc, settings=ChainSettings(rpc_retries=2, receipt_timeout_s=20))
    system = System(chain, config.deployment)
    jobs = RelayJobs(config.db)
    relayer = Relayer(system, Transactor(chain, NodeSigner(config.payer)), config.enterprise,
                      jobs, crash=from_environment())
    relayer.resume()
    RelayServer(relayer, "127.0.0.1", config.port).serve_forever(0.05)


def expected(meter_index: int, seq: int, start: int) -> tuple[int, int]:
    """The (timestamp, value) of a meter's reading ``seq`` as the feeder makes it."""
    return start + STEP_S * seq, 1_000 * (meter_index + 1) + 7 * seq * (meter_index + 1)


def run(config: PipelineConfig) -> None:
    """The loop (until killed); with ``drain``, close and anchor everything, then return."""
    key = DeviceKey.from_private_bytes(config.key_secret)
    chain = connect(config.rpc, settings=ChainSettings(rpc_retries=2, receipt_timeout_s=20))
    system = System(chain, config.deployment)
    crash = from_environment()
    with Store(config.store, key.address, system.domain) as store:
        signer = ReadingSigner(store, key, crash=crash)
        batcher = Batcher(store, key, settings=BatchingSettings(max_leaves=config.max_leaves,
                                                                max_age_s=3600), crash=crash)
        path: AnchorPath = (OwnAccount(system, Transactor(chain, KeySigner(key)))
                            if config.relay_url is None else
                            ViaRelay(config.relay_url, httpx.Client(timeout=20)))
        anchorer = Anchorer(Outbox(store), ChainView(system, key.address), path, crash=crash)
        if config.drain:
            batcher.close_due(now=int(time.time()), force=True)
            for _ in range(10):
                if not anchorer.outbox.entries(unfinished=True):
                    return
                anchorer.run_once(now=int(time.time()))
            raise SystemExit("the drain left unfinished batches")
        with config.log.open("a", encoding="utf-8") as log:
            while True:
                next_seq = {m.path: m.next_seq for m in store.meters()}
                samples = []
                for index, path in enumerate(METERS):
                    seq = next_seq.get(path, 0)
                    timestamp, value = expected(index, seq, config.start)
                    samples.append(Sample(meter_path=path, point="import_energy",
                                          quantity=ENERGY, timestamp=timestamp, value=value,
                                          raw_registers=(value >> 16, value & 0xFFFF)))
                signer.sign_cycle(samples, now=int(time.time()))
                log.write("".join(f"{s.meter_path} {next_seq.get(s.meter_path, 0)}\n"
                                  for s in samples))
                log.flush()
                batcher.close_due(now=int(time.time()))
                anchorer.run_once(now=int(time.time()))
