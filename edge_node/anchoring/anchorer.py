"""The anchorer: closed batches reach the chain exactly once, in batchSeq order, and become final.

THREATS.md guarantee 3 (one anchor per batch) and 4 (anchored means final). The chain is the
truth; the outbox records what this node did. :meth:`Anchorer.run_once` walks the unfinished
outbox rows in batchSeq order and, for each, asks the chain first:

1. ``nextBatchSeq`` (``System.next_batch_seq``) is above the row's batchSeq: the chain holds that
   batch. Its root (``System.batch_root``) must equal the store's, else
   :class:`~edge_node.errors.AnchorConflict` stops everything. Its ``BatchAnchored`` event gives
   the transaction and block; the row is ``sent`` until the block has ``confirmations`` blocks
   (its own included), then the root and the block hash are checked again and the row is
   ``final``. Nothing is sent for it, whatever the row said before (a crash after sending,
   a lost receipt).
2. ``nextBatchSeq`` equals the row's batchSeq: the chain does not hold it. If the row is
   ``sent`` and the node still holds its transaction unmined, that transaction may yet be
   mined: wait, never send a second one (a mined one that failed, or one the node dropped, is
   sent anew). Else the header's ``toTimestamp`` is compared with what the
   contract takes (the latest block's time + its ``maxClockSkew``): a batch from a clock
   ahead of the chain's waits, its leaves flagged ``CLOCK_AHEAD``. Otherwise it is sent (own
   account or relayer), the transaction recorded ``sent`` before it can be mined.
3. ``nextBatchSeq`` is below the row's batchSeq: an earlier batch is missing on chain (a
   reorganisation dropped it after it was recorded): every row from ``nextBatchSeq`` on goes
   back to ``pending`` and the walk restarts there. No batchSeq is ever skipped: the contract
   takes only the next one, and this node sends only that one.

A chain error stops the walk (recorded on the row, tried again on the next run); the contract
refuses a wrong batchSeq whatever happens, so a race with another sender cannot store a batch
twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import structlog

from mrv_core.errors import ChainError, ConfigError

from .._internal.crashpoints import NEVER, CrashPoints
from ..errors import AnchorConflict
from ..store import Flag
from .chainview import AnchorEvent, ChainView
from .outbox import FINAL, PENDING, SENT, Outbox, OutboxEntry
from .paths import AnchorPath

__all__ = ["AnchorSettings", "Anchorer", "RunResult"]


@dataclass(frozen=True)
class AnchorSettings:
    """``confirmations``: blocks on top of an anchor, its own included, before it is final (1
    on QBFT or any chain with immediate finality; more where blocks can be reorganised)."""

    confirmations: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.confirmations <= 1000:
            raise ConfigError(f"confirmations must be in [1, 1000], got {self.confirmations}")


@dataclass(frozen=True)
class RunResult:
    """What one run did: batches sent, batches made final, why it stopped early (if), and the
    chain error that stopped it (if one did)."""

    sent: tuple[int, ...]
    final: tuple[int, ...]
    waiting: str | None
    chain_error: str | None = None


class Anchorer:
    """Anchors the store's closed batches (see the module docstring)."""

    def __init__(self, outbox: Outbox, chain: ChainView, path: AnchorPath, *,
                 settings: AnchorSettings | None = None, crash: CrashPoints = NEVER) -> None:
        self.outbox = outbox
        self.chain = chain
        self.path = path
        self.settings = settings or AnchorSettings()
        self._crash = crash
        self._log: Any = structlog.get_logger("edge_node.anchoring")

    def run_once(self, *, now: int) -> RunResult:
        """One walk over the unfinished batches (module docstring). Raises
        :class:`AnchorConflict`; chain errors are recorded and end the walk."""
        sent: list[int] = []
        final: list[int] = []
        waiting: str | None = None
        chain_error: str | None = None
        try:
            self._reopen_lost(now)
            for entry in self.outbox.entries(unfinished=True):
                waiting = self._advance(entry, now, sent, final)
                if waiting is not None:
                    break
        except AnchorConflict:
            raise
        except ChainError as exc:
            waiting = chain_error = f"chain error: {exc}"
            self._log.warning("anchor_walk_stopped", error=str(exc))
        return RunResult(sent=tuple(sent), final=tuple(final), waiting=waiting,
                         chain_error=chain_error)

    # -- steps ------------------------------------------------------------------------------------

    def _reopen_lost(self, now: int) -> None:
        """Rows recorded final or included whose batch the chain no longer holds."""
        chain_next = self.chain.next_batch_seq()
        for entry in self.outbox.entries(from_seq=chain_next):
            if entry.state != PENDING and (
                    entry.state == FINAL or entry.block_number is not None):
                self._log.error("anchor_lost", batch_seq=entry.batch_seq, chain_next=chain_next)
                self.outbox.reopen(entry.batch_seq, f"the chain's nextBatchSeq is {chain_next}: "
                                   "the anchor was reorganised away", now)

    def _advance(self, entry: OutboxEntry, now: int, sent: list[int],
                 final: list[int]) -> str | None:
        seq = entry.batch_seq
        header, signature = self.outbox.batch(seq)
        chain_next = self.chain.next_batch_seq()
        if seq < chain_next:
            root = self.chain.root(seq)
            if root != header.root:
                raise AnchorConflict(seq, header.root, root)
            return self._confirm(seq, now, final)
        if seq > chain_next:
            return f"batch {chain_next} is not on chain before batch {seq}"
        if entry.state == SENT and entry.tx_hash is not None \
                and self.chain.awaiting_mining(entry.tx_hash):
            return f"batch {seq}: transaction 0x{entry.tx_hash.hex()} not mined yet"
        allowed = self.chain.latest_allowed_timestamp()
        if header.to_timestamp > allowed:
            self.outbox.flag_leaves(seq, Flag.CLOCK_AHEAD)
            reason = (f"batch {seq}: toTimestamp {header.to_timestamp} is after the latest "
                      f"the chain takes now ({allowed}): the device clock is ahead")
            self.outbox.failed(seq, reason, now)
            self._log.warning("anchor_clock_ahead", batch_seq=seq, to=header.to_timestamp,
                              allowed=allowed)
            return reason
        self.outbox.attempt(seq, entry.attempts + 1, now)

        def on_signed(nonce: int | None, tx_hash: bytes) -> None:
            self.outbox.signed(seq, nonce, tx_hash, now)
            self._crash.reached("anchor-signed-before-send")

        try:
            tx_hash, block = self.path.submit(header, signature, on_signed)
        except ChainError as exc:
            self.outbox.failed(seq, str(exc), now)
            self._log.warning("anchor_failed", batch_seq=seq, error=str(exc))
            return f"batch {seq}: {exc}"
        self._crash.reached("anchor-sent-before-receipt")
        self.outbox.included(seq, tx_hash, block, now)
        sent.append(seq)
        self._log.info("anchor_sent", batch_seq=seq, tx=f"0x{tx_hash.hex()}", block=block)
        return self._confirm(seq, now, final)

    def _confirm(self, seq: int, now: int, final: list[int]) -> str | None:
        """The chain holds batch ``seq`` with our root: record where, final once deep enough."""
        event = self._event(seq)
        depth = self.chain.head() - event.block_number + 1
        if depth < self.settings.confirmations:
            self.outbox.included(seq, event.tx_hash, event.block_number, now)
            return None  # later batches may be sent meanwhile
        # Re-check after the wait: the block is still canonical and the root still ours.
        block_hash, block_time = self.chain.block(event.block_number)
        if block_hash != event.block_hash or self.chain.root(seq) != event.root:
            return f"batch {seq}: block {event.block_number} changed under its anchor"
        self.outbox.final(seq, event.tx_hash, event.block_number, block_time, now)
        final.append(seq)
        return None

    def _event(self, seq: int) -> AnchorEvent:
        events = self.chain.anchor_events(seq)
        if len(events) != 1:
            raise ChainError(f"batch {seq}: expected one BatchAnchored event of this device, "
                             f"found {len(events)}")
        return events[0]
