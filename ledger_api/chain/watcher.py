"""The chain watcher: follows the deployment's registries from its deployment block and keeps
the ledger's view of the chain in the database.

Each :meth:`ChainWatcher.poll`:

1. checks that the cursor's block (the last one processed, persisted in ``watcher_cursor``) is
   still the chain's block at that height. If not, a reorganisation happened: the fork point is
   the newest block holding recorded events, or among the last 128 cursors this process saved,
   whose hash the chain still has (:func:`~ledger_api.chain.anchors.fork_point`); events above
   it are marked orphaned, the batches they anchored go back to ``unanchored``, and reading
   resumes after the fork point (so an anchor mined again is found again);
2. reads the AnchorRegistry's ``BatchAnchored`` events and every event of the Consortium,
   MethodologyRegistry and ReportRegistry from the block after the cursor up to the chain's
   head (at most ``max_blocks_per_poll`` blocks, ``max_block_range`` per ``eth_getLogs``),
   between two readings of the last block's hash (a change between them reads again, three
   times at most), with their blocks' timestamps;
3. in one database transaction, provided no other watcher moved the cursor meanwhile (several
   API workers each run one: the first to write wins, the others find nothing left to do):
   orphans, stores the new events (``anchors``, ``chain_events``), moves the cursor and brings
   ``batches.anchor_state`` up to date (:func:`~ledger_api.chain.anchor_store.reconcile_batches`:
   ``anchored`` when an anchor of the same (device, batchSeq) and root is on the chain, ``final``
   once ``confirmations`` blocks are on top of it, ``mismatch`` when its root is another);
4. then refreshes the device directory (:meth:`DeviceDirectory.refresh`), when one is given,
   so a DeviceRegistry problem cannot hold the anchors back, and saves its events and cursor
   (:func:`~ledger_api.chain.device_store.save_directory`) for the next start.

:meth:`ChainWatcher.start` runs polls every ``poll_interval_s`` in a background thread (at once
again while catching up). A poll failing with a :class:`~mrv_core.errors.ChainError` (the node
unreachable, a bad answer) or a database ``OperationalError`` (busy, unreachable) is retried
with exponential backoff (tenacity) from ``retry_backoff_s`` up to ``retry_backoff_max_s``;
each failure is logged (``watcher_poll_failed``) and counted
(``mrv_api_watcher_poll_errors_total``), and the loop goes on. Any other error stops the
watcher (logged, and reported by :meth:`ChainWatcher.status`).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import structlog
from hexbytes import HexBytes
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_when_event_set,
    wait_exponential,
)
from web3.contract import Contract
from web3.exceptions import BlockNotFound

from mrv_core.batch import BatchHeader
from mrv_core.chain import System
from mrv_core.codec import parse_address
from mrv_core.errors import ChainError, ConfigError, MrvError

from ..db.engine import make_readers, make_sessions
from ..errors import ChainReadFailed
from .anchor_store import (
    NOTHING_RECONCILED,
    ChainEvent,
    Reconciled,
    event_args_json,
    load_cursor,
    orphan_after,
    reconcile_batches,
    recorded_blocks,
    save_cursor,
    store_anchors,
    store_events,
)
from .anchors import Anchor, BlockRef, fork_point
from .device_store import save_directory
from .directory import DeviceDirectory
from .logs import DEFAULT_MAX_BLOCK_RANGE, EventLog, read, read_events

if TYPE_CHECKING:
    from ..app import ApiMetrics

__all__ = ["EVENT_CONTRACTS", "ChainWatcher", "Polled", "WatcherStatus"]

#: The registries whose every event is kept in ``chain_events``.
EVENT_CONTRACTS = ("Consortium", "MethodologyRegistry", "ReportRegistry")
_READ_ATTEMPTS = 3
_RECENT_CURSORS = 128
#: The longest wait between two failed polls, unless the poll interval is longer (seconds).
_BACKOFF_MAX_S = 30.0
_log: Any = structlog.get_logger("ledger_api.watcher")


@dataclass(frozen=True)
class Polled:
    """What one poll did: the cursor after it, the chain's head, rows added (``anchors``,
    ``events``), rows orphaned by a reorganisation, batch states changed; ``raced`` when
    another watcher moved the cursor first (nothing written)."""

    cursor: BlockRef | None
    head: int
    anchors: int = 0
    events: int = 0
    orphaned: int = 0
    reconciled: Reconciled = NOTHING_RECONCILED
    raced: bool = False

    @property
    def behind(self) -> int:
        """Blocks between the cursor and the head (0: caught up)."""
        return 0 if self.cursor is None else max(0, self.head - self.cursor.number)


@dataclass(frozen=True)
class WatcherStatus:
    """For ``/readyz``: whether the loop runs, seconds since the last successful poll
    (``None``: none yet), the last poll error (``None`` after a success), and the error that
    stopped the loop, if one did."""

    running: bool
    last_success_age_s: float | None
    last_error: str | None
    stopped_by: str | None


class ChainWatcher:
    """Follows ``system``'s deployment into the ledger database on ``engine`` (module
    docstring). ``confirmations``: blocks on top of an anchor's block before its batch is
    ``final`` (0 or more). ``poll_interval_s``: seconds between polls once caught up; a failed
    poll is retried after ``retry_backoff_s`` (default: the poll interval), doubling up to
    ``retry_backoff_max_s`` (default: 30 s, or the poll interval if longer). ``metrics``: the
    API's, updated after each poll. Raises :class:`~mrv_core.errors.ConfigError` for unusable
    settings."""

    def __init__(self, system: System, engine: Engine, *,
                 directory: DeviceDirectory | None = None, confirmations: int = 1,
                 poll_interval_s: float = 2.0, max_block_range: int = DEFAULT_MAX_BLOCK_RANGE,
                 max_blocks_per_poll: int = 10 * DEFAULT_MAX_BLOCK_RANGE,
                 retry_backoff_s: float | None = None, retry_backoff_max_s: float | None = None,
                 metrics: ApiMetrics | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        for name, value, low in (("confirmations", confirmations, 0),
                                 ("max_block_range", max_block_range, 1),
                                 ("max_blocks_per_poll", max_blocks_per_poll, 1)):
            if value < low:
                raise ConfigError(f"{name} must be at least {low}, got {value}")
        backoff = poll_interval_s if retry_backoff_s is None else retry_backoff_s
        most = max(_BACKOFF_MAX_S, backoff) if retry_backoff_max_s is None else retry_backoff_max_s
        if poll_interval_s <= 0 or backoff <= 0 or most < backoff:
            raise ConfigError(f"expected 0 < poll_interval_s, 0 < retry_backoff_s <= "
                              f"retry_backoff_max_s, got {poll_interval_s}, {backoff}, {most}")
        self.system = system
        self.directory = directory
        self.confirmations = confirmations
        self.poll_interval_s = poll_interval_s
        self.max_block_range = max_block_range
        self.max_blocks_per_poll = max_blocks_per_poll
        self.metrics = metrics
        self._backoff = (backoff, most)
        self._clock = clock
        self._registry = system.deployment.contracts["AnchorRegistry"]
        self._reader = make_readers(engine)
        self._writer = make_sessions(engine)
        self._contracts: list[tuple[str, Contract, tuple[str, ...]]] = [
            (name, system.at(name, system.deployment.contracts[name]),
             tuple(sorted({e["name"] for e in system.artifacts.abi(name)
                           if e["type"] == "event"})))
            for name in EVENT_CONTRACTS]
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_success: float | None = None
        self._last_error: str | None = None
        self._stopped_by: str | None = None
        #: Cursors this process saved, newest last: fork point candidates besides the blocks
        #: of recorded events, so a shallow reorganisation is undone near the head even when no
        #: event was recorded for a long time.
        self._recent: deque[BlockRef] = deque(maxlen=_RECENT_CURSORS)
        if metrics is not None:
            metrics.watcher_last_poll_age.set_function(self._age_for_metrics)

    def _age_for_metrics(self) -> float:
        age = self.status().last_success_age_s
        return -1.0 if age is None else age

    def check_database(self) -> None:
        """Raise :class:`~ledger_api.errors.ApiConfigError` when the database's cursor follows
        another deployment's AnchorRegistry (run before :meth:`start`, so a service fails at
        once rather than with a stopped watcher)."""
        with self._reader() as session:
            load_cursor(session, self._registry)

    # -- one poll ---------------------------------------------------------------------------------

    def poll(self) -> Polled:
        """One pass (module docstring). Raises :class:`~mrv_core.errors.ChainError` (a chain
        read failed: nothing written), SQLAlchemy's ``OperationalError`` (the database), and
        :class:`~ledger_api.errors.ApiConfigError` when the database follows another
        deployment."""
        polled = self._poll_chain()
        if self.directory is not None:
            self.directory.refresh()
            self._save_directory(self.directory)
        return polled

    def _save_directory(self, directory: DeviceDirectory) -> None:
        events, cursor = directory.snapshot()
        try:
            with self._writer.begin() as session:
                save_directory(session, self._registry, events, cursor, datetime.now(UTC))
        except IntegrityError:  # another worker saved its directory at the same moment
            _log.info("watcher_directory_save_raced")

    def _poll_chain(self) -> Polled:
        with self._reader() as session:
            cursor = load_cursor(session, self._registry)
        fork, reorganised = cursor, False
        if cursor is not None and self._hash_at(cursor.number) != cursor.hash:
            with self._reader() as session:
                recorded = recorded_blocks(session, cursor.number)
            fork, reorganised = fork_point([*recorded, *self._recent], self._hash_at), True
        head = int(read(self.system, "eth_blockNumber", self.system.chain.w3.eth.get_block_number))
        start = self.system.deployment.deploy_block if fork is None else fork.number + 1
        target = min(head, start + self.max_blocks_per_poll - 1)
        anchors: list[Anchor] = []
        events: list[ChainEvent] = []
        moved = fork
        if target >= start:
            moved, anchors, events = self._read_consistently(start, target)
        now = datetime.now(UTC)
        try:
            with self._writer.begin() as session:
                if load_cursor(session, self._registry, for_update=True) != cursor:
                    return self._raced(cursor, head)
                orphaned = 0
                if reorganised:
                    orphaned = orphan_after(session, fork, now)
                    self._recent = deque((b for b in self._recent
                                          if fork is not None and b.number <= fork.number),
                                         maxlen=_RECENT_CURSORS)
                added = store_anchors(session, anchors, now)
                kept = store_events(session, events, now)
                if moved != cursor:
                    save_cursor(session, self._registry, moved, now)
                    if moved is not None:
                        self._recent.append(moved)
                reconciled = reconcile_batches(session, head, self.confirmations)
        except IntegrityError:  # another worker's watcher wrote the same rows first
            return self._raced(cursor, head)
        polled = Polled(moved, head, added, kept, orphaned, reconciled)
        self._observe(polled, reorganised, fork, cursor)
        return polled

    def _raced(self, cursor: BlockRef | None, head: int) -> Polled:
        """Another watcher (another API worker) moved the cursor first: the chain was read,
        so this counts as a successful poll; the next one starts from the new cursor."""
        self._last_success, self._last_error = self._clock(), None
        return Polled(cursor, head, raced=True)

    def _observe(self, polled: Polled, reorganised: bool, fork: BlockRef | None,
                 before: BlockRef | None) -> None:
        self._last_success, self._last_error = self._clock(), None
        if reorganised:
            _log.warning("watcher_reorganisation", cursor=before and before.number,
                         fork=fork and fork.number, orphaned=polled.orphaned)
        for key in polled.reconciled.mismatch:
            _log.warning("watcher_anchor_mismatch", device="0x" + key[0].hex(), batch_seq=key[1])
        if polled.anchors or polled.events:
            _log.info("watcher_events", anchors=polled.anchors, events=polled.events,
                      cursor=polled.cursor and polled.cursor.number)
        m = self.metrics
        if m is None:
            return
        m.watcher_polls.inc()
        m.watcher_anchors.inc(polled.anchors)
        m.watcher_orphaned.inc(polled.orphaned)
        m.watcher_mismatches.inc(len(polled.reconciled.mismatch))
        if polled.cursor is not None:
            m.watcher_cursor_block.set(polled.cursor.number)
        m.watcher_lag_blocks.set(polled.behind)

    # -- reading the chain ------------------------------------------------------------------------

    def _block(self, number: int) -> tuple[BlockRef, int] | None:
        """The chain's block ``number`` now and its time (``None``: no block at that height)."""
        w3 = self.system.chain.w3

        def get() -> tuple[BlockRef, int] | None:
            try:
                block = w3.eth.get_block(number)
            except BlockNotFound:
                return None
            return BlockRef(number, bytes(block["hash"])), int(block["timestamp"])

        return read(self.system, f"eth_getBlockByNumber {number}", get)

    def _hash_at(self, number: int) -> bytes | None:
        found = self._block(number)
        return None if found is None else found[0].hash

    def _read_consistently(self, start: int, target: int
                           ) -> tuple[BlockRef, list[Anchor], list[ChainEvent]]:
        for _attempt in range(_READ_ATTEMPTS):
            before = self._block(target)
            if before is None:
                break
            anchor_logs = read_events(self.system, self.system.anchors, "AnchorRegistry",
                                      ("BatchAnchored",), start, target,
                                      max_block_range=self.max_block_range)
            other = [(name, contract, read_events(self.system, contract, name, names, start,
                                                  target, max_block_range=self.max_block_range))
                     for name, contract, names in self._contracts]
            if self._block(target) == before:
                times: dict[bytes, int] = {before[0].hash: before[1]}
                anchors = [self._anchor(log, self._timestamp(log.block_hash, times))
                           for log in anchor_logs]
                events = [ChainEvent(name, bytes(HexBytes(contract.address)), log.event,
                                     event_args_json(log.args), log.transaction_hash,
                                     log.log_index, BlockRef(log.block_number, log.block_hash),
                                     self._timestamp(log.block_hash, times))
                          for name, contract, logs in other for log in logs]
                return before[0], anchors, events
        raise ChainReadFailed(f"events of blocks {start}-{target}",
                              f"block {target} changed or vanished during each of "
                              f"{_READ_ATTEMPTS} reads (the chain keeps reorganising)")

    def _timestamp(self, block_hash: bytes, cache: dict[bytes, int]) -> int:
        if block_hash not in cache:
            w3 = self.system.chain.w3
            cache[block_hash] = int(read(
                self.system, f"eth_getBlockByHash 0x{block_hash.hex()}",
                lambda: w3.eth.get_block(HexBytes(block_hash))["timestamp"]))
        return cache[block_hash]

    @staticmethod
    def _anchor(log: EventLog, block_timestamp: int) -> Anchor:
        a = log.args
        try:
            header = BatchHeader(device=parse_address(a["device"]), batch_seq=int(a["batchSeq"]),
                                 root=bytes(a["root"]), leaf_count=int(a["leafCount"]),
                                 from_timestamp=int(a["fromTimestamp"]),
                                 to_timestamp=int(a["toTimestamp"]))
        except MrvError as exc:
            raise ChainReadFailed(f"BatchAnchored at block {log.block_number} index "
                                  f"{log.log_index}", str(exc)) from exc
        return Anchor(header, log.transaction_hash, log.log_index,
                      BlockRef(log.block_number, log.block_hash), block_timestamp)

    # -- the background loop ----------------------------------------------------------------------

    def start(self) -> None:
        """Run :meth:`poll` in a daemon thread until :meth:`stop`."""
        if self._thread is not None:
            raise ConfigError("the chain watcher is already running")
        self._stop.clear()
        self._stopped_by = None
        self._thread = threading.Thread(target=self._run, name="mrv-chain-watcher", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the loop and wait for its thread (at most ``timeout_s``, a poll in flight
        finishing first)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def status(self) -> WatcherStatus:
        last = self._last_success
        return WatcherStatus(
            running=self._thread is not None and self._thread.is_alive(),
            last_success_age_s=None if last is None else max(0.0, self._clock() - last),
            last_error=self._last_error, stopped_by=self._stopped_by)

    def _run(self) -> None:
        initial, most = self._backoff
        retrying = Retrying(retry=retry_if_exception_type((ChainError, OperationalError)),
                            wait=wait_exponential(multiplier=initial, min=initial, max=most),
                            stop=stop_when_event_set(self._stop), sleep=self._sleep,
                            before_sleep=self._failed, reraise=True)
        while not self._stop.is_set():
            try:
                polled = retrying(self._poll_unless_stopped)
            except (ChainError, OperationalError) as exc:  # the stop came during a backoff
                self._failed_with(exc)
                return
            except Exception as exc:
                self._stopped_by = f"{type(exc).__name__}: {exc}"[:500]
                _log.error("watcher_stopped", error=self._stopped_by)
                return
            if polled is not None and polled.behind == 0:
                self._stop.wait(self.poll_interval_s)

    def _poll_unless_stopped(self) -> Polled | None:
        return None if self._stop.is_set() else self.poll()

    def _sleep(self, seconds: float) -> None:
        self._stop.wait(seconds)

    def _failed(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome is not None else None
        if exc is not None:
            self._failed_with(exc)

    def _failed_with(self, exc: BaseException) -> None:
        self._last_error = f"{type(exc).__name__}: {exc}"[:500]
        _log.warning("watcher_poll_failed", error=self._last_error)
        if self.metrics is not None:
            self.metrics.watcher_poll_errors.labels(error=type(exc).__name__).inc()

