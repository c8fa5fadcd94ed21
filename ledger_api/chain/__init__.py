"""ledger_api.chain: what the ledger API reads from the chain.

- :mod:`.devices`: the DeviceRegistry's events as values, and the pure fold that turns them into
  each device's standing over time (:class:`DeviceBook`, :class:`DeviceStanding`).
- :mod:`.directory`: :class:`DeviceDirectory`, which reads those events from the chain, keeps
  them current with :meth:`DeviceDirectory.refresh` and answers the ingest's per-reading question
  "was this signer registered and active at this time?".
- :mod:`.logs`: typed chain reads and a contract's events over a block range.
- :mod:`.anchors`: the chain watcher's pure rules (a batch's :class:`AnchorState` from the
  anchors on the chain, the :func:`fork_point` of a reorganisation).
- :mod:`.anchor_store`: the watcher's tables, and the data-quality queries
  (:func:`anchors_without_data`, :func:`batches_without_anchor`, :func:`anchor_mismatches`).
- :mod:`.watcher`: :class:`ChainWatcher`, which follows the registries' events into the
  database in a background thread.
"""

from .anchor_store import anchor_mismatches, anchors_without_data, batches_without_anchor
from .anchors import Anchor, AnchorState, BlockRef, batch_state, fork_point
from .devices import (
    EMPTY_BOOK,
    DeviceBook,
    DeviceEvent,
    DeviceHistory,
    DeviceRegistered,
    DeviceReinstated,
    DeviceRevoked,
    DeviceRotated,
    DeviceStanding,
    DeviceSuspended,
    EnterpriseHistory,
    EnterpriseReactivated,
    EnterpriseStopped,
    EventAt,
    Interval,
    Reason,
    fold,
)
from .directory import EVENT_NAMES, Cursor, DeviceDirectory, Refreshed
from .logs import DEFAULT_MAX_BLOCK_RANGE, EventLog, read, read_events
from .watcher import EVENT_CONTRACTS, ChainWatcher, Polled, WatcherStatus

__all__ = [
    "DEFAULT_MAX_BLOCK_RANGE",
    "EMPTY_BOOK",
    "EVENT_CONTRACTS",
    "EVENT_NAMES",
    "Anchor",
    "AnchorState",
    "BlockRef",
    "ChainWatcher",
    "Cursor",
    "DeviceBook",
    "DeviceDirectory",
    "DeviceEvent",
    "DeviceHistory",
    "DeviceRegistered",
    "DeviceReinstated",
    "DeviceRevoked",
    "DeviceRotated",
    "DeviceStanding",
    "DeviceSuspended",
    "EnterpriseHistory",
    "EnterpriseReactivated",
    "EnterpriseStopped",
    "EventAt",
    "EventLog",
    "Interval",
    "Polled",
    "Reason",
    "Refreshed",
    "WatcherStatus",
    "anchor_mismatches",
    "anchors_without_data",
    "batch_state",
    "batches_without_anchor",
    "fold",
    "fork_point",
    "read",
    "read_events",
]
