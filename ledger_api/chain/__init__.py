"""ledger_api.chain: what the ledger API reads from the chain.

- :mod:`.devices`: the DeviceRegistry's events as values, and the pure fold that turns them into
  each device's standing over time (:class:`DeviceBook`, :class:`DeviceStanding`).
- :mod:`.directory`: :class:`DeviceDirectory`, which reads those events from the chain, keeps
  them current with :meth:`DeviceDirectory.refresh` and answers the ingest's per-reading question
  "was this signer registered and active at this time?".
- :mod:`.logs`: typed chain reads and a contract's events over a block range.
"""

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

__all__ = [
    "DEFAULT_MAX_BLOCK_RANGE",
    "EMPTY_BOOK",
    "EVENT_NAMES",
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
    "Reason",
    "Refreshed",
    "fold",
    "read",
    "read_events",
]
