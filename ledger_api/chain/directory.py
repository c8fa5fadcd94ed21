"""The device directory the ingest asks: which devices may deliver data, read from the chain.

:class:`DeviceDirectory` reads the DeviceRegistry's events (``ledger_api.chain.devices``) from
the deployment's block on, with their blocks' timestamps, and folds them into a
:class:`~ledger_api.chain.devices.DeviceBook`. :meth:`DeviceDirectory.refresh` reads only the
blocks after its cursor (the last block read), up to ``latest - confirmations``; the chain
watcher calls it as blocks arrive and may persist :attr:`DeviceDirectory.events` and
:attr:`DeviceDirectory.cursor` to resume from them after a restart.

Lookups (:meth:`DeviceDirectory.check`, :meth:`DeviceDirectory.standing`) never touch the chain
for a device the directory knows: one dictionary lookup, then at most two bisections per
timestamp. A device it does not know (registered after the last refresh, or never) triggers
one refresh, at most once per ``unknown_refresh_interval_s`` whatever the number of unknown
devices asking, so a flood of made-up signers cannot make the API hammer the node.

Reorganisations: each refresh first checks that the cursor's block is still the chain's block
at that height. If not, the events of blocks no longer on the chain are dropped (walking back
to the newest event whose block is still canonical), reported in :attr:`Refreshed.dropped`, and
the blocks after it are read again. The logs of one refresh are read between two readings of
the target block's hash; a change between them (a reorganisation during the read) reads again,
three times at most, then raises :class:`~ledger_api.errors.ChainReadFailed`.

The registration tolerance is the AnchorRegistry's ``maxClockSkew``, read from the chain at
every refresh (the deployment file's value until the first one).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from hexbytes import HexBytes
from web3.exceptions import BlockNotFound

from mrv_core.chain import System
from mrv_core.codec import parse_address
from mrv_core.errors import ConfigError

from ..errors import ChainReadFailed
from .devices import (
    DeviceBook,
    DeviceEvent,
    DeviceRegistered,
    DeviceReinstated,
    DeviceRevoked,
    DeviceRotated,
    DeviceStanding,
    DeviceSuspended,
    EnterpriseReactivated,
    EnterpriseStopped,
    fold,
)
from .logs import DEFAULT_MAX_BLOCK_RANGE, EventLog, read, read_events

__all__ = ["EVENT_NAMES", "Cursor", "DeviceDirectory", "Refreshed"]

#: The DeviceRegistry events the directory follows.
EVENT_NAMES = ("DeviceRegistered", "DeviceRotated", "DeviceRevoked", "DeviceSuspended",
               "DeviceReinstated", "EnterpriseStopped", "EnterpriseReactivated")
_READ_ATTEMPTS = 3
_TIMESTAMP_CACHE = 4096


@dataclass(frozen=True)
class Cursor:
    """The last block whose events the directory holds: number, hash, timestamp (Unix s).
    Standings of later timestamps are judged on the events up to this block."""

    block_number: int
    block_hash: bytes
    block_timestamp: int


@dataclass(frozen=True)
class Refreshed:
    """What one :meth:`DeviceDirectory.refresh` changed: ``added`` events (chain order),
    ``dropped`` events of blocks a reorganisation removed, and the new ``cursor``."""

    added: tuple[DeviceEvent, ...]
    dropped: tuple[DeviceEvent, ...]
    cursor: Cursor | None


@dataclass(frozen=True)
class _State:
    book: DeviceBook
    events: tuple[DeviceEvent, ...]
    cursor: Cursor | None
    tolerance_s: int


class DeviceDirectory:
    """Device standings of ``system``'s deployment, cached from the chain (module docstring).

    ``confirmations``: blocks left unread at the head (0 reads up to the latest block).
    ``max_block_range``: blocks per ``eth_getLogs``. ``unknown_refresh_interval_s``: the least
    time between two refreshes caused by unknown devices (``clock`` measures it, seconds).
    ``events`` and ``cursor``: a state persisted from :attr:`events` and :attr:`cursor`, to
    resume from (both or neither). Nothing is read from the chain until :meth:`refresh`.
    Raises :class:`~mrv_core.errors.ConfigError` for unusable settings, and
    :class:`~ledger_api.errors.DeviceEventsInconsistent` when ``events`` do not fold.
    """

    def __init__(self, system: System, *, confirmations: int = 0,
                 max_block_range: int = DEFAULT_MAX_BLOCK_RANGE,
                 unknown_refresh_interval_s: float = 5.0,
                 events: Sequence[DeviceEvent] = (), cursor: Cursor | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if confirmations < 0:
            raise ConfigError(f"confirmations must be 0 or more, got {confirmations}")
        if max_block_range < 1:
            raise ConfigError(f"max_block_range must be at least 1, got {max_block_range}")
        if unknown_refresh_interval_s < 0:
            raise ConfigError("unknown_refresh_interval_s must be 0 or more, got "
                              f"{unknown_refresh_interval_s}")
        if events and (cursor is None or cursor.block_number < events[-1].block_number):
            raise ConfigError("persisted device events need a cursor at or after their last "
                              "block")
        self.system = system
        self.confirmations = confirmations
        self.max_block_range = max_block_range
        self.unknown_refresh_interval_s = unknown_refresh_interval_s
        self._clock = clock
        self._lock = threading.Lock()
        self._last_unknown_refresh: float | None = None
        self._last_unknown_failure: ChainReadFailed | None = None
        self._timestamps: dict[bytes, int] = {}
        self._state = _State(fold(events), tuple(events), cursor,
                             system.deployment.max_clock_skew)

    # -- what the directory holds -----------------------------------------------------------------

    @property
    def cursor(self) -> Cursor | None:
        """The last block read (``None`` before the first refresh)."""
        return self._state.cursor

    @property
    def events(self) -> tuple[DeviceEvent, ...]:
        """Every event folded, in chain order (persist them with :attr:`cursor`)."""
        return self._state.events

    def snapshot(self) -> tuple[tuple[DeviceEvent, ...], Cursor | None]:
        """:attr:`events` and :attr:`cursor` of one and the same state (a refresh in another
        thread cannot come between them): what to persist."""
        state = self._state
        return state.events, state.cursor

    @property
    def book(self) -> DeviceBook:
        return self._state.book

    @property
    def tolerance_s(self) -> int:
        """Seconds a reading may precede its device's registration (``maxClockSkew``)."""
        return self._state.tolerance_s

    # -- lookups (the ingest's hot path) ----------------------------------------------------------

    def standing(self, device: bytes, timestamp: int) -> DeviceStanding:
        """The standing of ``device`` (20 bytes) for a reading at ``timestamp`` (Unix s)."""
        return self.check(device, (timestamp,))[0]

    def check(self, device: bytes, timestamps: Sequence[int]) -> list[DeviceStanding]:
        """The standing of ``device`` (20 bytes) for readings at each of ``timestamps`` (Unix
        seconds), in order. No chain call for a known device; an unknown one causes a
        rate-limited :meth:`refresh` first, whose chain errors propagate
        (:class:`~ledger_api.errors.ChainReadFailed`)."""
        state = self._state
        if device not in state.book.devices:
            self._refresh_for_unknown()
            state = self._state
        return state.book.standings(device, timestamps, state.tolerance_s)

    def _refresh_for_unknown(self) -> None:
        """Refresh for a device not known, unless a refresh for one ended less than
        ``unknown_refresh_interval_s`` before this call arrived, or ended after it (the call
        waited behind it): then that refresh's outcome stands, its failure raised again. The
        interval runs from the end of an attempt, so against a node that takes longer than
        the interval to fail, calls waiting behind one attempt do not each make another."""
        arrived = self._clock()
        with self._lock:
            last = self._last_unknown_refresh
            if last is not None and arrived - last < self.unknown_refresh_interval_s:
                if self._last_unknown_failure is not None:
                    raise self._last_unknown_failure
                return
            try:
                self._refresh()
                self._last_unknown_failure = None
            except ChainReadFailed as exc:
                self._last_unknown_failure = exc
                raise
            finally:
                self._last_unknown_refresh = self._clock()

    # -- reading the chain ------------------------------------------------------------------------

    def refresh(self) -> Refreshed:
        """Read the blocks after the cursor up to ``latest - confirmations`` and fold their
        events (after undoing a reorganisation, see the module docstring).

        Raises :class:`~ledger_api.errors.ChainReadFailed` (or its
        :class:`~ledger_api.errors.ChainReadUnavailable`) naming the read that failed, and
        :class:`~ledger_api.errors.DeviceEventsInconsistent` when the events do not fold; in
        both cases the directory keeps its previous state.
        """
        with self._lock:
            return self._refresh()

    def _refresh(self) -> Refreshed:
        state = self._state
        events, book, cursor = state.events, state.book, state.cursor
        dropped: tuple[DeviceEvent, ...] = ()
        if cursor is not None and self._block(cursor.block_number) != cursor:
            events, dropped = self._canonical_prefix(events)
            book = fold(events)
            cursor = self._cursor_at(events[-1].block_number) if events else None
        target = read(self.system, "eth_blockNumber",
                      self.system.chain.w3.eth.get_block_number) - self.confirmations
        start = self.system.deployment.deploy_block if cursor is None else cursor.block_number + 1
        added: tuple[DeviceEvent, ...] = ()
        if target >= start:
            head, logs = self._read_consistently(start, target)
            added = tuple(self._event(log) for log in logs)
            book = fold(added, book)
            cursor = head
        skew = read(self.system, "eth_call AnchorRegistry.maxClockSkew",
                    self.system.anchors.functions.maxClockSkew().call)
        self._state = _State(book, events + added, cursor, int(skew))
        return Refreshed(added, dropped, cursor)

    def _read_consistently(self, start: int, target: int) -> tuple[Cursor, list[EventLog]]:
        for _attempt in range(_READ_ATTEMPTS):
            before = self._cursor_at(target)
            logs = read_events(self.system, self.system.devices, "DeviceRegistry", EVENT_NAMES,
                               start, target, max_block_range=self.max_block_range)
            if self._block(target) == before:
                return before, logs
        raise ChainReadFailed(f"DeviceRegistry events of blocks {start}-{target}",
                              f"block {target} changed during each of {_READ_ATTEMPTS} reads "
                              "(the chain keeps reorganising)")

    def _canonical_prefix(self, events: tuple[DeviceEvent, ...]
                          ) -> tuple[tuple[DeviceEvent, ...], tuple[DeviceEvent, ...]]:
        """``events`` split after the newest one whose block is still on the chain."""
        keep = len(events)
        checked: dict[int, bool] = {}
        while keep:
            event = events[keep - 1]
            if event.block_number not in checked:
                found = self._block(event.block_number)
                checked[event.block_number] = (found is not None
                                               and found.block_hash == event.block_hash)
            if checked[event.block_number]:
                break
            keep -= 1
        return events[:keep], events[keep:]

    def _block(self, number: int) -> Cursor | None:
        """The chain's block ``number`` now, ``None`` when it has none at that height."""
        w3 = self.system.chain.w3

        def get() -> Cursor | None:
            try:
                block = w3.eth.get_block(number)
            except BlockNotFound:
                return None
            return Cursor(number, bytes(block["hash"]), int(block["timestamp"]))

        return read(self.system, f"eth_getBlockByNumber {number}", get)

    def _cursor_at(self, number: int) -> Cursor:
        block = self._block(number)
        if block is None:
            raise ChainReadFailed(f"eth_getBlockByNumber {number}",
                                  "the node has no such block (the chain reorganised)")
        return block

    def _timestamp(self, block_hash: bytes) -> int:
        cached = self._timestamps.get(block_hash)
        if cached is None:
            w3 = self.system.chain.w3
            cached = int(read(self.system, f"eth_getBlockByHash 0x{block_hash.hex()}",
                              lambda: w3.eth.get_block(HexBytes(block_hash))["timestamp"]))
            if len(self._timestamps) >= _TIMESTAMP_CACHE:
                del self._timestamps[next(iter(self._timestamps))]
            self._timestamps[block_hash] = cached
        return cached

    def _event(self, log: EventLog) -> DeviceEvent:
        a = log.args
        at = (log.block_number, log.block_hash, self._timestamp(log.block_hash), log.log_index)
        match log.event:
            case "DeviceRegistered":
                return DeviceRegistered(*at, device=_addr(a["device"]),
                                        enterprise=_addr(a["enterprise"]), site=bytes(a["site"]),
                                        metadata_hash=bytes(a["metadataHash"]),
                                        predecessor=_addr(a["predecessor"]))
            case "DeviceRotated":
                return DeviceRotated(*at, device=_addr(a["device"]),
                                     new_device=_addr(a["newDevice"]),
                                     enterprise=_addr(a["enterprise"]))
            case "DeviceRevoked":
                return DeviceRevoked(*at, device=_addr(a["device"]),
                                     enterprise=_addr(a["enterprise"]),
                                     revoked_at=int(a["revokedAt"]))
            case "DeviceSuspended":
                return DeviceSuspended(*at, device=_addr(a["device"]),
                                       regulator=_addr(a["regulator"]))
            case "DeviceReinstated":
                return DeviceReinstated(*at, device=_addr(a["device"]),
                                        regulator=_addr(a["regulator"]))
            case "EnterpriseStopped":
                return EnterpriseStopped(*at, enterprise=_addr(a["enterprise"]),
                                         index=int(a["index"]), by=_addr(a["by"]))
            case "EnterpriseReactivated":
                return EnterpriseReactivated(*at, enterprise=_addr(a["enterprise"]),
                                             index=int(a["index"]), admin=_addr(a["admin"]))
        raise ChainReadFailed(f"DeviceRegistry log at block {log.block_number}",
                              f"unexpected event {log.event!r}")


def _addr(value: object) -> bytes:
    return parse_address(value)
