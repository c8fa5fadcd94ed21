"""The pure rules of the chain watcher: a batch's anchoring state given the anchors on the
chain, and where the chain the ledger saw forks from the chain the node serves now.

No database and no node here: :mod:`ledger_api.chain.watcher` reads both and applies these
rules, and the property tests compare them with a direct model.

**A batch's state** (:func:`batch_state`), for the header the ledger holds of (device,
batchSeq) and the ``BatchAnchored`` events of that (device, batchSeq) still on the chain:

- no such event: ``unanchored``;
- the event's header is not the held header (another root, leaf count or time span):
  ``mismatch`` (evidence: the device, or whoever holds its key, signed two different batch
  headers under one batchSeq; neither is overwritten). A root alone would miss a header that
  claims the same leaves under another count or span;
- otherwise ``final`` once the event's block has ``confirmations`` blocks on top of it
  (``head - block_number >= confirmations``; 0 makes an anchor final in the block that holds it),
  and ``anchored`` until then.

The AnchorRegistry accepts one anchor per (device, batchSeq) (``AnchorRegistryBatchSeqMismatch``
refuses a second), so one chain holds at most one such event; after a reorganisation the
event may sit in another block, and the newest one read is the one that counts.

**The fork point** (:func:`fork_point`): a block whose hash is still the node's block at its
height has only canonical blocks below it (each block commits to its parent's hash). So the
newest block the ledger recorded whose hash the node still has is the last one both chains
share; everything recorded above it left the chain.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from mrv_core.batch import BatchHeader
from mrv_core.errors import ConfigError

__all__ = ["Anchor", "AnchorState", "BlockRef", "batch_state", "fork_point"]


class AnchorState(enum.StrEnum):
    """Where a batch the ledger holds stands on the chain (stored in ``batches.anchor_state``)."""

    UNANCHORED = "unanchored"
    ANCHORED = "anchored"
    FINAL = "final"
    MISMATCH = "mismatch"


@dataclass(frozen=True)
class BlockRef:
    """A block as the ledger recorded it: number and 32-byte hash."""

    number: int
    hash: bytes


@dataclass(frozen=True)
class Anchor:
    """One ``BatchAnchored`` event (contracts/interfaces/IAnchorRegistry.sol): the batch
    ``header`` it carries, and where it was mined (``tx_hash`` 32 bytes, the log's index in its
    block, the block, and the block's time in Unix seconds)."""

    header: BatchHeader
    tx_hash: bytes
    log_index: int
    block: BlockRef
    block_timestamp: int


def batch_state(held: BatchHeader, anchored: Iterable[tuple[BatchHeader, int]], head: int,
                confirmations: int) -> AnchorState:
    """The state of the batch whose header the ledger holds (``held``), given the (header,
    block number) of every ``BatchAnchored`` event of its (device, batchSeq) still on the chain,
    in chain order, and the chain's ``head`` block number (rules in the module docstring).

    Raises :class:`~mrv_core.errors.ConfigError` when ``confirmations`` is negative.
    """
    if confirmations < 0:
        raise ConfigError(f"confirmations must be 0 or more, got {confirmations}")
    newest: tuple[BatchHeader, int] | None = None
    for entry in anchored:
        newest = entry
    if newest is None:
        return AnchorState.UNANCHORED
    header, block_number = newest
    if header != held:
        return AnchorState.MISMATCH
    if head - block_number >= confirmations:
        return AnchorState.FINAL
    return AnchorState.ANCHORED


def fork_point(recorded: Iterable[BlockRef],
               canonical_hash: Callable[[int], bytes | None]) -> BlockRef | None:
    """The newest of the ``recorded`` blocks whose hash is still the node's at its height
    (``canonical_hash(number)``: the node's block hash there, ``None`` past its head), or
    ``None`` when none is. Asks the node once per distinct recorded height at most, newest
    first, and stops at the first match. Errors of ``canonical_hash`` propagate."""
    by_number: dict[int, set[bytes]] = {}
    for block in recorded:
        by_number.setdefault(block.number, set()).add(block.hash)
    for number in sorted(by_number, reverse=True):
        found = canonical_hash(number)
        if found is not None and found in by_number[number]:
            return BlockRef(number, found)
    return None
