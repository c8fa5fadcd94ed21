"""The running edge node: acquisition → signing → store → batching → anchoring, composed.

:class:`EdgeNode` wires the layers of ``edge_node`` for one device and runs them until told to
stop:

1. The :class:`~edge_node.acquisition.Poller` polls every meter at its interval into a queue.
2. The pipeline task drains the queue in cycles. Samples go to the
   :class:`~edge_node.signing.ReadingSigner` (one store transaction per cycle: a reading counts
   as taken once committed); failed polls, samples the signer refused for a clock going
   backwards, and samples that fail the signing sample's checks (a value past int256, say,
   from a scale times a CT/PT ratio no profile check could foresee: a failed poll of class
   ``other``, logged once per point, so one point never stops the others' readings), go to the
   :class:`~edge_node.signing.gaps.GapTracker`, whose closed runs are signed
   as ``Gap`` records (``mrv_core.records``) and committed as leaves of the next batch, all
   the runs closed since the last batch step together, just before it: the uplink cuts a
   request at every reading that follows a record (docs/protocol.md 10.5), so records
   committed every cycle between the readings (as a slow meter's skipped ticks make them)
   cut it into requests of a few items each.
3. The :class:`~edge_node.batching.Batcher` closes batches by size or age.
4. The :class:`~edge_node.anchoring.Anchorer` walks the outbox, in a thread of its own with its
   own store connection (web3 calls block), every ``anchor_every_s`` seconds.
   The :class:`~edge_node.uplink.UplinkClient` (when ``[uplink]`` is configured) pushes the
   store's leaves and batch headers to the ledger API, at least once and in order, through a
   store connection of its own.
5. The disk watch compares the store's size with the budget: above it an alarm (metric, log),
   above the hard limit polling stops, loudly, until space is freed; the stopped stretch is
   then signed as ``Gap`` records of class ``storage`` (``edge_node.signing.storage``). The
   moment polling stopped is kept in the store until those gaps are committed: a node killed
   while stopped starts stopped, and signs the stretch from that moment, once, when the disk
   check finds the store below the hard limit. Every
   hour, retention (``edge_node.store.retention``) prunes leaves anchored final, acknowledged
   by the ledger API and older than ``keep_days``; nothing unacknowledged is ever deleted.

Store work runs in one dedicated thread (the store object is not shared between threads), so
the event loop that polls meters never waits for an fsync. On stop, open gap runs are signed
and committed and the connections closed; closed batches stay in the outbox for the next run.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import fcntl
import functools
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Any, TextIO, TypeVar

import httpx
import structlog

from accounting_rules.counters import RolloverRule
from mrv_core.chain import ChainClock, Deployment, KeySigner, System, Transactor
from mrv_core.codec import parse_address
from mrv_core.eip712 import Domain
from mrv_core.errors import ChainError, ChainUnavailable, ConfigError, MrvError, WrongChain
from mrv_core.keys import DeviceKey
from mrv_core.quantities import QUANTITIES, QuantityKind
from mrv_core.reading import meter_id, new_salt
from mrv_core.records import Gap

from ._internal.crashpoints import from_environment
from .acquisition import Clock, Poller, PollFailure, Sample, SimulatedClock, SystemClock
from .acquisition.poller import meter_profiles
from .anchoring import Anchorer, AnchorSettings, ChainView, Outbox, OwnAccount, ViaRelay
from .anchoring.paths import AnchorPath
from .batching import Batcher, BatchingSettings
from .config import NodeConfig
from .decoding import counter_modulus
from .errors import AnchorConflict
from .observability import HealthCheck, NodeMetrics, PollLatencyCollector
from .profiles.model import Point, Profile
from .signing import ReadingSigner, SigningSettings
from .signing import Sample as SignedSample
from .signing.gaps import GapTracker, OpenGap
from .signing.records import new_record
from .signing.storage import MeterPoints, PollingStop
from .store import Store, StoreUplink, disk_usage
from .store.queries import StoreCounts, counts
from .store.retention import prune
from .summaries import node_summaries
from .uplink import UplinkClient, UplinkSettings, UplinkWatch
from .uplink.metrics import UplinkMetrics

__all__ = ["EdgeNode", "NodeTimings", "deployment_domain", "lock_store", "rollover_rule"]

T = TypeVar("T")
_log = structlog.get_logger("edge_node.node")
#: The error class (``mrv_core.records.ERROR_CLASSES``) of a sample the signing Sample refused:
#: the meter answered, the node could not make a reading of it (no Modbus class fits).
UNSIGNABLE = "other"


@dataclass(frozen=True)
class NodeTimings:
    """How often the node's background steps run, in seconds (tests shorten them)."""

    cycle_s: float = 0.2  # the pipeline drains the queue at least this often
    batch_every_s: float = 1.0
    anchor_every_s: float = 2.0
    disk_every_s: float = 10.0
    metrics_every_s: float = 5.0
    prune_every_s: float = 3600.0
    gap_flush_s: int = 300
    summary_every_s: float = 60.0
    methodology_refresh_s: float = 600.0


#: A batch the anchorer has waited on this long (seconds of the node's clock, simulated ones
#: under simulated time) fails the health check.
ANCHOR_STUCK_S = 900


def rollover_rule(point: Point, ratio: Fraction, interval_s: float) -> RolloverRule | None:
    """When a decrease of ``point``'s counter is a rollover (``None`` for instantaneous points).

    The counter wraps at ``2**counter_width x scale x ratio`` in the quantity's unit (no width:
    floats never wrap, every decrease needs a meter change; a product that is not a whole number
    of units is treated the same way). A decrease is a rollover when the wrapped increase is at
    most half the counter's range per poll interval (``max_rate = modulus / (2 x interval)``
    units per second) and, however long the step, at most half the range
    (``RolloverRule.is_rollover``): a reset to near zero, even after an outage, is never taken
    for a wrap and waits for the operator's signed meter change."""
    if QUANTITIES[point.quantity].kind is not QuantityKind.CUMULATIVE:
        return None
    if point.counter_width is None:
        return RolloverRule(modulus=None)
    modulus = counter_modulus(point, ratio=ratio)
    if modulus.denominator != 1:
        return RolloverRule(modulus=None)
    return RolloverRule(modulus=int(modulus),
                        max_rate=Fraction(int(modulus), 2 * max(1, round(interval_s))))


def deployment_domain(deployment: Deployment) -> Domain:
    """The EIP-712 domain of a deployment file (chain id and AnchorRegistry), read without the
    chain: what a node's store is bound to."""
    return Domain(chain_id=deployment.chain_id,
                  verifying_contract=parse_address(deployment.address("AnchorRegistry"),
                                                   field="AnchorRegistry"))


def lock_store(store: Path) -> TextIO:
    """Hold ``<store>.lock`` exclusively for the node's life: a second node on one store would
    poll the same meters and sign every value twice, and race the first one's anchors.
    Raises :class:`ConfigError` naming the store when another process holds it."""
    path = store.with_name(store.name + ".lock")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle: TextIO = path.open("a+", encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot open the store's lock file {path}: {exc.strerror}") from None
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise ConfigError(f"another edge node ({holder}) is running on the store {store}; "
                          f"one node per store") from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()}\n")
    handle.flush()
    return handle


class EdgeNode:
    """One device's node (see the module docstring)."""

    def __init__(self, config: NodeConfig, key: DeviceKey,
                 system: System | Callable[[], System], *,
                 metrics: NodeMetrics | None = None, clock: Clock | None = None,
                 timings: NodeTimings | None = None) -> None:
        """``system`` is the connected deployment, or a function that connects to it: then the
        node starts without the chain (a plant restarting while its uplink is down), takes its
        signing domain and clock skew from the deployment file, and connects when it first
        anchors, retrying every walk until the chain answers."""
        self.config = config
        self.key = key
        self._system = system if isinstance(system, System) else None
        self._connect = system if not isinstance(system, System) else None
        self.metrics = metrics or NodeMetrics.create()
        self.clock: Clock = clock or SystemClock()
        self.timings = timings or NodeTimings()
        self.profiles: dict[str, Profile] = meter_profiles(config.acquisition)
        self._rules: dict[tuple[str, str], RolloverRule | None] = {}
        for meter in config.meters:
            for point in self.profiles[meter.profile].points:
                ratio = point.ratio.of(meter.ct_ratio, meter.pt_ratio)
                self._rules[(meter.path, point.name)] = rollover_rule(point, ratio,
                                                                      meter.interval)
        # Without a connected chain the deployment file gives the domain and the clock skew.
        deployment = Deployment.read(config.chain.deployment) if self._system is None else None
        self.domain = deployment_domain(deployment) if deployment is not None \
            else self.system.domain
        self._lock = lock_store(config.device.store)
        self.queue: asyncio.Queue[Sample | PollFailure] = asyncio.Queue(maxsize=100_000)
        self.poller = Poller(config.acquisition, self.profiles, self.queue, clock=self.clock)
        self.metrics.registry.register(PollLatencyCollector(self.poller.stats))
        self.gaps = GapTracker(flush_after_s=self.timings.gap_flush_s)
        self._store_thread = concurrent.futures.ThreadPoolExecutor(1, "mrv-edge-store")
        self._anchor_thread = concurrent.futures.ThreadPoolExecutor(1, "mrv-edge-anchor")
        try:
            self.store = self._in_store_thread_sync(lambda: Store(config.device.store, key.address,
                                                                  self.domain))
            skew = deployment.max_clock_skew if deployment is not None else int(
                self.system.call("maxClockSkew", self.system.anchors.functions.maxClockSkew().call))
            # Test-only crash points (MRV_TEST_CRASH_AT, edge_node/_internal/crashpoints.py): unset
            # in production, where they never fire.
            self._crash = from_environment()
            self.signer = ReadingSigner(self.store, key,
                                        settings=SigningSettings(max_clock_skew_s=skew),
                                        crash=self._crash)
            self.batcher = Batcher(self.store, key, settings=BatchingSettings(
                max_leaves=config.batching.max_leaves,
                max_age_s=int(config.batching.max_age_seconds)), crash=self._crash)
            self.uplink: UplinkClient | None = None
            self.uplink_watch = UplinkWatch(None, self.domain)  # the `uplink` health check
            if config.uplink is not None:
                settings = UplinkSettings(**config.uplink.model_dump())
                uplink_metrics = UplinkMetrics(self.metrics.registry)
                self.uplink_watch = UplinkWatch(settings, self.domain, uplink_metrics)
                self._uplink_store = Store(config.device.store, key.address, self.domain)
                self.uplink = UplinkClient(settings, StoreUplink(self._uplink_store), key.address,
                                           self.domain, metrics=uplink_metrics,
                                           health=self.uplink_watch.health)
            self._anchorer: Anchorer | None = None
            self.summaries = node_summaries(config, self.store, key, self.profiles, self._rules)
            stopped_at = self._in_store_thread_sync(self.store.polling_stopped_at)
        except BaseException:
            self._release()  # a configuration refused late leaves no thread or file open
            raise
        self._methodologies_due = 0
        self._polling: asyncio.Task[None] | None = None
        self.stopped_for_disk = False
        self._polling_stop: PollingStop | None = None  # since when, while stopped_for_disk
        if stopped_at is not None:  # killed while stopped: start stopped, sign it on resume
            _log.critical("polling_stopped_before_restart", stopped_at=stopped_at)
            self.stopped_for_disk = True
            self._polling_stop = PollingStop(stopped_at)
            self.metrics.polling_stopped.set(1)
        self._unsignable: set[tuple[str, str]] = set()  # points whose refusal was logged
        self._seen = {"polls": 0, "missed": 0, "acked": -1}  # -1: not read yet
        self.anchor_conflict: AnchorConflict | None = None
        self._unsaved_gaps: list[OpenGap] = []  # closed runs not committed yet, kept
        #: Since when (monotonic) the chain fails, and how; the same reason the anchorer has
        #: been waiting for (a batch ahead of the chain's clock, an earlier batch missing).
        self._chain_error: tuple[float, str] | None = None
        self._anchoring_stuck: tuple[float, str] | None = None

    def _release(self) -> None:
        for name in ("store", "_uplink_store"):
            store: Store | None = getattr(self, name, None)  # absent when refused before it
            if store is not None:
                self._store_thread.submit(store.close).result()
        self._store_thread.shutdown()
        self._anchor_thread.shutdown()
        self._lock.close()

    @property
    def system(self) -> System:
        """The deployment on chain, connected on first use when the node started without it
        (anchor thread only). Raises the connection's error while the chain is unreachable."""
        if self._system is None:
            assert self._connect is not None
            system = self._connect()
            if system.domain != self.domain:
                raise WrongChain(f"the chain answers for domain {system.domain}, the store "
                                 f"and the deployment file say {self.domain}")
            self._system = system
            _log.info("chain_connected", chain_id=system.domain.chain_id)
        return self._system

    def health_checks(self) -> list[HealthCheck]:
        """What ``/healthz`` reports: polling runs (not stopped at the disk hard limit), the
        chain answered the last anchor walk, no anchor conflict and no batch held back longer
        than :data:`ANCHOR_STUCK_S` (a batch ahead of the chain's clock holds every later one),
        the store below its disk budget, the ledger API taking what the uplink sends
        (:mod:`edge_node.uplink.health`)."""

        def polling() -> tuple[bool, str]:
            if self.stopped_for_disk:
                return False, "stopped: the store is above disk_hard_limit_mib"
            running = self._polling is not None and not self._polling.done()
            return running, "polling" if running else "the poller is not running"

        def chain() -> tuple[bool, str]:
            if self._chain_error is None:
                return True, "reachable at the last anchor walk"
            since, error = self._chain_error
            return False, f"failing for {self.clock.monotonic() - since:.0f} s: {error}"

        def anchoring() -> tuple[bool, str]:
            if self.anchor_conflict is not None:
                return False, str(self.anchor_conflict)
            stuck = self._anchoring_stuck
            if stuck is not None and self.clock.monotonic() - stuck[0] > ANCHOR_STUCK_S:
                return False, f"waiting {self.clock.monotonic() - stuck[0]:.0f} s: {stuck[1]}"
            return True, "no conflict with the chain, nothing held back"

        def disk() -> tuple[bool, str]:
            used = disk_usage(self.config.device.store)
            budget = self.config.retention.disk_budget_mib * 1024 * 1024
            return used <= budget, f"{used} bytes used, budget {budget}"

        return [("polling", polling), ("chain", chain), ("anchoring", anchoring), ("disk", disk),
                ("uplink", self.uplink_watch.check)]

    # -- threads ----------------------------------------------------------------------------------

    def _in_store_thread_sync(self, work: Callable[[], T]) -> T:
        return self._store_thread.submit(work).result()

    async def _in_store_thread(self, work: Callable[[], T]) -> T:
        return await asyncio.wrap_future(self._store_thread.submit(work))

    def _anchor_path(self, clock: ChainClock | None) -> AnchorPath:
        if self.config.chain.anchor == "relayer":
            assert self.config.chain.relayer_url is not None  # checked by the config
            return ViaRelay(self.config.chain.relayer_url, httpx.Client(timeout=120.0))
        transactor = Transactor(self.system.chain, KeySigner(self.key), clock=clock,
                                nonce_file=self.config.device.store.with_suffix(".nonce"))
        return OwnAccount(self.system, transactor)

    def _make_anchorer(self) -> Anchorer:
        # Simulated time (docs/edge.md): the chain's clock follows the node's.
        clock = ChainClock(self.system.chain, self.clock.simulated,
                           allowed_lead_s=self.system.deployment.max_clock_skew) \
            if isinstance(self.clock, SimulatedClock) else None
        store = Store(self.config.device.store, self.key.address, self.domain)
        return Anchorer(Outbox(store), ChainView(self.system, self.key.address, clock),
                        self._anchor_path(clock),
                        settings=AnchorSettings(confirmations=self.config.chain.confirmations),
                        crash=self._crash)

    # -- running ----------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Run every stage until ``stop`` is set, then shut down cleanly (see the module
        docstring). When the chain holds another root for one of this device's batches
        (:class:`AnchorConflict`), anchoring stops until an operator looks, readings go on
        being taken, and ``/healthz`` reports the conflict."""
        _log.info("node_started", device=self.key.address.hex(), meters=len(self.config.meters))
        if not self.stopped_for_disk:  # else the disk check resumes it (after signing the gaps)
            self._polling = asyncio.create_task(self.poller.run(), name="poller")
        tasks = [
            asyncio.create_task(self._pipeline(stop), name="pipeline"),
            *([asyncio.create_task(self.uplink.run(), name="uplink")] if self.uplink else []),
            asyncio.create_task(self._every(stop, self.timings.batch_every_s, self._batch),
                                name="batcher"),
            asyncio.create_task(self._every(stop, self.timings.anchor_every_s, self._anchor),
                                name="anchorer"),
            asyncio.create_task(self._every(stop, self.timings.disk_every_s, self._disk),
                                name="disk"),
            asyncio.create_task(self._every(stop, self.timings.metrics_every_s,
                                            self._refresh_metrics), name="metrics"),
            asyncio.create_task(self._every(stop, self.timings.prune_every_s, self._prune),
                                name="retention"),
            *([asyncio.create_task(self._every(stop, self.timings.summary_every_s,
                                               self._summarize), name="summaries")]
              if self.summaries is not None else []),
        ]
        try:
            await stop.wait()
        finally:
            if self.uplink is not None:
                self.uplink.stop()
            await self._stop_polling()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self._drain()
            resumed = self._polling_stop is not None
            await self._in_store_thread(lambda: self._commit_gaps(
                [*self._unsaved_gaps, *self.gaps.close_all(), *self._storage_gaps()],
                polling_resumed=resumed))
            self._store_thread.submit(self.store.close).result()
            if self.uplink is not None:
                await self.uplink.aclose()
                self._uplink_store.close()
            self._store_thread.shutdown()
            self._anchor_thread.shutdown()
            self._lock.close()
            _log.info("node_stopped")

    async def _stop_polling(self) -> None:
        if self._polling is not None and not self._polling.done():
            self._polling.cancel()
            done, _ = await asyncio.wait({self._polling}, timeout=10)
            if not done:  # a poll stuck past every timeout: stop without it, loudly
                _log.error("poller_did_not_stop", waited_s=10)
                self.poller.close()

    async def _every(self, stop: asyncio.Event, seconds: float,
                     step: Callable[[], Any]) -> None:
        """Run ``step`` every ``seconds`` until ``stop``. A step that fails is logged with its
        traceback and tried again next time: one failure (a locked store, a chain hiccup)
        never silently ends a stage while the rest of the node runs on."""
        while not stop.is_set():
            try:
                await step()
            except Exception:
                _log.exception("step_failed", step=getattr(step, "__name__", repr(step)))
            try:
                await asyncio.wait_for(stop.wait(), timeout=seconds)
            except TimeoutError:
                continue

    async def _pipeline(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            events = await self._take(self.timings.cycle_s)
            while events:
                try:
                    await self._in_store_thread(functools.partial(self._commit, events))
                    break
                except Exception:
                    # Nothing of the cycle was committed (one transaction): keep its events
                    # and try again, rather than drop samples a locked or full disk refused.
                    _log.exception("commit_failed", events=len(events))
                    if stop.is_set():
                        return
                    await asyncio.sleep(1.0)

    async def _take(self, wait_s: float) -> list[Sample | PollFailure]:
        try:
            first = await asyncio.wait_for(self.queue.get(), timeout=wait_s)
        except TimeoutError:
            return []
        events = [first]
        while len(events) < 10_000:
            try:
                events.append(self.queue.get_nowait())
            except asyncio.QueueEmpty:
                break
        return events

    async def _drain(self) -> None:
        events = []
        while not self.queue.empty():
            events.append(self.queue.get_nowait())
        if events:
            await self._in_store_thread(lambda: self._commit(events))

    # -- store-thread steps -----------------------------------------------------------------------

    def _commit(self, events: Sequence[Sample | PollFailure]) -> None:
        """One cycle: sign and commit the samples (one transaction; if it fails nothing was
        committed and the caller tries the same events again), and keep the gap runs they
        close for the next batch step (:meth:`_commit_closed_gaps`): no sample is ever signed
        twice and no run is lost or counted twice. A run closed by an event of the cycle
        carries the seq of its meter's first reading signed at or after that event (the events
        are in poll order), else the meter's next seq now: the records' ``nextSeq`` places each
        gap before the reading that followed it, not after the readings the rest of the cycle
        (or a later one, before the batch step) signed."""
        now = int(self.clock.time())
        samples, sampled = [], []
        unsignable: set[int] = set()  # id() of the samples the signing Sample refused
        for e in events:
            if isinstance(e, Sample):
                try:
                    samples.append(SignedSample(
                        meter_path=e.meter, point=e.point, quantity=e.quantity,
                        timestamp=e.timestamp, value=e.value, raw_registers=e.registers,
                        rollover=self._rules[(e.meter, e.point)]))
                    sampled.append(e)
                except MrvError as exc:
                    unsignable.add(id(e))
                    self._refused_sample(e, exc)
        result = self.signer.sign_cycle(samples, now=now) if samples else None
        seqs = {} if result is None else {id(e): seq for e, seq in zip(sampled, result.seqs,
                                                                      strict=True)}
        ahead = _next_seqs(events, seqs)
        closed: list[OpenGap] = []
        gaps = self.gaps
        for event, next_seq in zip(events, ahead, strict=True):
            if isinstance(event, Sample):
                if unsignable and id(event) in unsignable:
                    self.metrics.poll_errors.labels(error_class=UNSIGNABLE).inc()
                    runs = gaps.failed(event.meter, event.point, event.quantity,
                                       event.timestamp, UNSIGNABLE)
                elif id(event) in seqs and seqs[id(event)] is None:
                    self.metrics.clock_flags.inc()  # refused: its time went backwards
                    runs = gaps.failed(event.meter, event.point, event.quantity,
                                       event.timestamp, "clock")
                elif gaps.open_runs:  # an answer closes a run only while one is open
                    runs = gaps.answered(event.meter, event.point)
                else:
                    continue
            else:
                self.metrics.poll_errors.labels(error_class=event.error.value).inc(event.polls)
                runs = gaps.failed(event.meter, event.point, event.quantity, event.timestamp,
                                   event.error.value, polls=event.polls,
                                   last_timestamp=event.last_timestamp)
            closed += [replace(run, next_seq=next_seq) for run in runs]
        if result is not None:
            self.metrics.readings.inc(len(result.ordinals))
        closed += self.gaps.due(now)
        if any(run.next_seq is None for run in closed):  # no reading of its meter after it yet
            try:
                next_seqs = {m.path: m.next_seq for m in self.store.meters()}
            except Exception:  # the cycle is committed: raising would sign its samples again
                _log.exception("gap_next_seq_unread", runs=len(closed))
            else:  # (unread, the batch step's commit reads the meters' next seqs instead)
                closed = [run if run.next_seq is not None else
                          replace(run, next_seq=next_seqs.get(run.meter, 0)) for run in closed]
        self._unsaved_gaps += closed

    def _commit_closed_gaps(self) -> None:
        """Sign and commit the gap runs closed since the last call; a commit that fails keeps
        them for the next one."""
        closed, self._unsaved_gaps = self._unsaved_gaps, []
        try:
            self._commit_gaps(closed)
        except Exception:
            _log.exception("gap_commit_failed", runs=len(closed))
            self._unsaved_gaps = closed + self._unsaved_gaps

    def _refused_sample(self, sample: Sample, error: MrvError) -> None:
        """Log, once per point, a sample the signing Sample refused (it becomes a failed poll
        of class ``other``; the point's later refusals count in the poll-error metric only)."""
        key = (sample.meter, sample.point)
        if key not in self._unsignable:
            self._unsignable.add(key)
            _log.error("sample_unsignable", meter=sample.meter, point=sample.point,
                       error=str(error), hint="check the profile's scale and the meter's CT/PT "
                                              "ratio; the point's polls are signed as gaps")

    def _commit_gaps(self, gaps: Sequence[OpenGap], *, polling_resumed: bool = False) -> None:
        """Sign and commit ``gaps`` in one transaction; with ``polling_resumed`` (``gaps``
        then hold the stopped stretch's ``storage`` runs) the store's polling stop is cleared
        in the same one, so the stretch is signed exactly once, even across a crash."""
        if not gaps and not polling_resumed:
            return
        next_seqs = {m.path: m.next_seq for m in self.store.meters()}
        records = []
        for gap in gaps:
            next_seq = next_seqs.get(gap.meter, 0) if gap.next_seq is None else gap.next_seq
            record = Gap(device=self.key.address, meter=meter_id(gap.meter), quantity=gap.quantity,
                         next_seq=next_seq, from_timestamp=gap.from_timestamp,
                         to_timestamp=gap.to_timestamp, failed_polls=gap.failed_polls,
                         error_class=gap.error_class, salt=new_salt())
            signed = self.key.sign_record(record, self.domain, gap.meter)
            records.append(new_record(signed))
            self.metrics.gaps.labels(error_class=gap.error_class).inc()
        with self.store.write() as session:
            self.store.add_records(session, records, now=int(self.clock.time()))
            if polling_resumed:
                self.store.set_polling_stopped_at(session, None)

    async def _batch(self) -> None:
        now = int(self.clock.time())

        def step() -> None:
            self._commit_closed_gaps()
            self.batcher.close_due(now=now)

        await self._in_store_thread(step)

    async def _anchor(self) -> None:
        def walk() -> None:
            if self._anchorer is None:
                self._anchorer = self._make_anchorer()
            result = self._anchorer.run_once(now=int(self.clock.time()))
            self.metrics.anchors.inc(len(result.sent))
            if result.chain_error is not None:
                raise ChainUnavailable(result.chain_error)
            waiting = result.waiting
            if waiting is None or self._anchoring_stuck is None \
                    or self._anchoring_stuck[1] != waiting:
                self._anchoring_stuck = None if waiting is None else (self.clock.monotonic(),
                                                                      waiting)

        if self.anchor_conflict is not None:
            return  # nothing more is anchored until an operator has looked (/healthz says so)
        try:
            await asyncio.wrap_future(self._anchor_thread.submit(walk))
            self._chain_error = None
        except AnchorConflict as exc:
            _log.critical("anchor_conflict", error=str(exc))
            self.anchor_conflict = exc
        except ChainError as exc:
            _log.warning("anchor_walk_failed", error=str(exc))
            if self._chain_error is None:
                self._chain_error = (self.clock.monotonic(), str(exc))

    async def _refresh_metrics(self) -> None:
        """Carry the poller's counters and the store's outbox and uplink state into the
        Prometheus metrics (counters by their increase since the last refresh)."""
        stats = self.poller.stats
        polls = sum(stats.polls.values())
        missed = sum(stats.missed_cycles.values())
        self.metrics.polls.inc(polls - self._seen["polls"])
        self.metrics.missed_cycles.inc(missed - self._seen["missed"])
        self._seen.update(polls=polls, missed=missed)

        def store_state() -> tuple[StoreCounts, int]:
            self.uplink_watch.refresh(self.store, now=self.clock.time())
            return counts(self.store), StoreUplink(self.store).acknowledged_through("leaves")

        totals, acked = await self._in_store_thread(store_state)
        states = totals.outbox
        backlog = max(0, totals.newest_leaf - acked) if self.uplink is not None else 0
        if acked > self._seen["acked"] >= 0:
            self.metrics.uplink_sent.inc(acked - self._seen["acked"])
        self._seen["acked"] = max(acked, 0)
        for state in ("pending", "sent", "final"):
            self.metrics.outbox.labels(state=state).set(states.get(state, 0))
        self.metrics.batches_pending.set(states.get("pending", 0) + states.get("sent", 0))
        self.metrics.uplink_backlog.set(backlog)

    async def _prune(self) -> None:
        """Retention (``edge_node.store.retention``): leaves anchored final, acknowledged by
        the ledger API and older than ``keep_days`` leave the store."""
        cutoff = int(self.clock.time()) - self.config.retention.keep_days * 86_400
        await self._in_store_thread(lambda: prune(self.store, cutoff=cutoff))

    async def _summarize(self) -> None:
        """Read the methodology versions in force (in the anchor thread, every
        ``methodology_refresh_s``; a chain failure keeps the last table), then sign the
        summaries due (in the store thread): ``edge_node.summaries``."""
        task = self.summaries
        assert task is not None
        now = int(self.clock.time())
        if now >= self._methodologies_due:
            try:
                await asyncio.wrap_future(self._anchor_thread.submit(
                    lambda: task.versions.refresh(self.system)))
                self._methodologies_due = now + int(self.timings.methodology_refresh_s)
            except ChainError as exc:
                _log.warning("methodology_refresh_failed", error=str(exc))
        try:
            await self._in_store_thread(lambda: task.run_once(now))
        except MrvError as exc:
            _log.error("summaries_failed", error=str(exc))

    def _storage_gaps(self) -> list[OpenGap]:
        """The ``storage`` runs of the stretch polling has been stopped for the disk until now
        (none when it runs): ``edge_node.signing.storage``."""
        stop = self._polling_stop
        if stop is None:
            return []
        meters = [MeterPoints(m.path, m.interval, [(p.name, p.quantity) for block in
                                                    self.poller.plan(m.path) for p in block.points])
                  for m in self.config.meters]
        return stop.close(int(self.clock.time()), meters)

    async def _disk(self) -> None:
        used = disk_usage(self.config.device.store)
        self.metrics.disk_used.set(used)
        budget = self.config.retention.disk_budget_mib * 1024 * 1024
        hard = self.config.retention.disk_hard_limit_mib * 1024 * 1024
        self.metrics.disk_alarm.set(1 if used > budget else 0)
        if used > hard and not self.stopped_for_disk:
            _log.critical("polling_stopped_disk_full", used=used, hard_limit=hard)
            self.stopped_for_disk = True
            stop = self._polling_stop = PollingStop(int(self.clock.time()))
            self.metrics.polling_stopped.set(1)
            await self._stop_polling()
            try:  # kept in the store: a crash while stopped still signs the stretch
                await self._in_store_thread(lambda: self._persist_stop(stop.stopped_at))
            except Exception:
                _log.exception("polling_stop_not_persisted", stopped_at=stop.stopped_at)
        elif used > budget:
            _log.warning("disk_budget_exceeded", used=used, budget=budget)
        if self.stopped_for_disk and used <= hard:
            # The stopped stretch is signed (class `storage`) before the first new poll; a
            # commit that fails leaves polling stopped and the stretch open for the next try.
            gaps = self._storage_gaps()
            await self._in_store_thread(lambda: self._commit_gaps(gaps, polling_resumed=True))
            self._polling_stop = None
            _log.warning("polling_resumed", used=used, hard_limit=hard)
            self.stopped_for_disk = False
            self.metrics.polling_stopped.set(0)
            self._polling = asyncio.create_task(self.poller.run(), name="poller")

    def _persist_stop(self, stopped_at: int) -> None:
        with self.store.write() as session:
            self.store.set_polling_stopped_at(session, stopped_at)


def _next_seqs(events: Sequence[Sample | PollFailure],
               seqs: dict[int, int | None]) -> list[int | None]:
    """For each event of a cycle, the seq of the first reading of its meter signed at or after
    it in the cycle (``seqs``: the seq each signed sample got, by ``id()``; None for a refused
    one), or None when the cycle signed none there (the meter's next seq is then the store's)."""
    ahead: dict[str, int] = {}
    found: list[int | None] = [None] * len(events)
    for index in range(len(events) - 1, -1, -1):
        event = events[index]
        seq = seqs.get(id(event))
        if seq is not None:
            ahead[event.meter] = seq
        found[index] = ahead.get(event.meter)
    return found
