"""Who may deliver data: each device's standing over time, folded from the DeviceRegistry's events.

Pure: no chain, no clock. :mod:`ledger_api.chain.directory` reads the events from the chain and
keeps the folded :class:`DeviceBook` up to date; the ingest asks it, for a reading's signer and
timestamp, whether the device was registered and active then.

Events (``contracts/interfaces/IDeviceRegistry.sol``) are frozen dataclasses carrying where they
happened (block number, block hash, block timestamp in Unix seconds, log index) and their fields
(addresses as 20 bytes, sites and hashes as 32). :func:`fold` turns them, in chain order, into a
:class:`DeviceBook`: per device its registration time, revocation time and suspensions, per
enterprise the intervals in which it was stopped. :meth:`DeviceBook.standing` answers for one
timestamp in two bisections at most.

Boundary rules (``docs/api.md``, "Devices: who may deliver data"), for a reading at ``t`` of a
device registered in a block of time ``R``, with tolerance ``skew`` (the AnchorRegistry's
``maxClockSkew``, 300 s by default):

1. ``t < R - skew``: ``not_yet_registered``. ``R - skew <= t < R`` is judged as at ``R``: a
   device clock behind the chain's by at most the skew the AnchorRegistry already accepts the
   other way (``toTimestamp <= block time + maxClockSkew``).
2. Revoked in a block of time ``V`` (also the old key of a rotation): ``t > V`` is ``revoked``;
   ``t == V`` is still judged on the other rules, as ``isRegisteredAt`` is inclusive of
   ``revokedAt``. No tolerance after ``V``: a revoked key may have leaked, and anything it signs
   later can carry any timestamp.
3. The state at ``t`` is the state after every event of a block whose time is ``<= t`` (blocks
   can share a timestamp; anvil mines them so), except rule 2's inclusive revocation. So a
   suspension from a block of time ``S`` to a reinstatement at ``E`` covers ``[S, E)``, and an
   enterprise stopped at ``P`` and reactivated at ``Q`` covers ``[P, Q)``.
4. Suspended at ``t``: ``suspended``. The regulator stopped trusting the device from ``S``; the
   AnchorRegistry refuses its anchors while suspended. (It checks the status when anchoring,
   not the readings' timestamps, so a batch of readings taken during a suspension can still be
   anchored after the reinstatement; the directory nonetheless reports them ``suspended``, and
   the ingest decides what to do with them.)
5. Its enterprise stopped at ``t``: ``enterprise_stopped``.
6. Precedence: ``unknown``, ``not_yet_registered``, ``revoked``, ``suspended``,
   ``enterprise_stopped``; otherwise active.

The fold is strict: an event that the contract could not have emitted after the ones before it
raises :class:`~ledger_api.errors.DeviceEventsInconsistent` (the stream is from the wrong contract,
starts mid-history or is corrupt), and the book it was folded into is left unchanged.
"""

from __future__ import annotations

import enum
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import NoReturn

from mrv_core.codec import format_address

from ..errors import DeviceEventsInconsistent

__all__ = [
    "EMPTY_BOOK",
    "DeviceBook",
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
    "Interval",
    "Reason",
    "fold",
]

_ZERO_ADDRESS = bytes(20)


# -- events ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventAt:
    """Where an event happened: its block (number, hash, timestamp in Unix seconds) and its index
    among the block's logs."""

    block_number: int
    block_hash: bytes
    block_timestamp: int
    log_index: int

    @property
    def position(self) -> tuple[int, int]:
        """``(block_number, log_index)``: chain order."""
        return self.block_number, self.log_index


@dataclass(frozen=True)
class DeviceRegistered(EventAt):
    """``device`` registered for ``enterprise`` at ``site``; ``predecessor``: the key it
    replaces by rotation, else 20 zero bytes."""

    device: bytes
    enterprise: bytes
    site: bytes
    metadata_hash: bytes
    predecessor: bytes


@dataclass(frozen=True)
class DeviceRotated(EventAt):
    """``device`` replaced by ``new_device`` (after its ``DeviceRevoked`` and the new key's
    ``DeviceRegistered`` in the same transaction)."""

    device: bytes
    new_device: bytes
    enterprise: bytes


@dataclass(frozen=True)
class DeviceRevoked(EventAt):
    """``device`` revoked by ``enterprise``; ``revoked_at``: the block number the contract
    records (this event's block)."""

    device: bytes
    enterprise: bytes
    revoked_at: int


@dataclass(frozen=True)
class DeviceSuspended(EventAt):
    device: bytes
    regulator: bytes


@dataclass(frozen=True)
class DeviceReinstated(EventAt):
    device: bytes
    regulator: bytes


@dataclass(frozen=True)
class EnterpriseStopped(EventAt):
    """``enterprise`` (number ``index`` in the AnchorRegistry) lost its role, taken by ``by``."""

    enterprise: bytes
    index: int
    by: bytes


@dataclass(frozen=True)
class EnterpriseReactivated(EventAt):
    enterprise: bytes
    index: int
    admin: bytes


DeviceEvent = (DeviceRegistered | DeviceRotated | DeviceRevoked | DeviceSuspended
               | DeviceReinstated | EnterpriseStopped | EnterpriseReactivated)


# -- standing -------------------------------------------------------------------------------------


class Reason(enum.StrEnum):
    """Why a device may not deliver a reading of a given time."""

    UNKNOWN = "unknown"
    NOT_YET_REGISTERED = "not_yet_registered"
    REVOKED = "revoked"
    SUSPENDED = "suspended"
    ENTERPRISE_STOPPED = "enterprise_stopped"


@dataclass(frozen=True)
class DeviceStanding:
    """The answer for one (device, timestamp): ``active``, or the :class:`Reason` it is not.
    ``enterprise`` (20 bytes) and ``site`` (32 bytes) are the device's, ``None`` when the device
    is unknown."""

    enterprise: bytes | None
    site: bytes | None
    active: bool
    reason: Reason | None


UNKNOWN = DeviceStanding(None, None, False, Reason.UNKNOWN)


@dataclass(frozen=True)
class Interval:
    """``[start, end)`` in Unix seconds; ``end`` ``None`` while still open."""

    start: int
    end: int | None


def _covers(intervals: tuple[Interval, ...], starts: tuple[int, ...], t: int) -> bool:
    """Whether one of ``intervals`` (sorted, disjoint; ``starts`` their starts) contains ``t``."""
    i = bisect_right(starts, t) - 1
    if i < 0:
        return False
    end = intervals[i].end
    return end is None or t < end


def _close(intervals: tuple[Interval, ...], at: int) -> tuple[Interval, ...]:
    """The open last interval closed at ``at``; dropped when that leaves it empty."""
    last = intervals[-1]
    if last.start == at:
        return intervals[:-1]
    return (*intervals[:-1], Interval(last.start, at))


@dataclass(frozen=True)
class EnterpriseHistory:
    """The intervals in which ``enterprise`` was stopped."""

    enterprise: bytes
    stops: tuple[Interval, ...] = ()
    _starts: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_starts", tuple(i.start for i in self.stops))

    @property
    def stopped_now(self) -> bool:
        return bool(self.stops) and self.stops[-1].end is None

    def stopped_at(self, t: int) -> bool:
        return _covers(self.stops, self._starts, t)


@dataclass(frozen=True)
class DeviceHistory:
    """One device's record over time. Times are block timestamps (Unix seconds); ``revoked_*``
    are ``None`` while not revoked; ``suspensions`` are sorted and disjoint."""

    device: bytes
    enterprise: bytes
    site: bytes
    metadata_hash: bytes
    predecessor: bytes | None
    successor: bytes | None
    registered_block: int
    registered_at: int
    revoked_block: int | None = None
    revoked_at: int | None = None
    suspensions: tuple[Interval, ...] = ()
    _starts: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _answers: dict[Reason | None, DeviceStanding] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_starts", tuple(i.start for i in self.suspensions))
        # One shared answer per outcome: the hot path allocates nothing per reading.
        answers: dict[Reason | None, DeviceStanding] = {
            reason: DeviceStanding(self.enterprise, self.site, False, reason)
            for reason in Reason if reason is not Reason.UNKNOWN}
        answers[None] = DeviceStanding(self.enterprise, self.site, True, None)
        object.__setattr__(self, "_answers", answers)

    @property
    def status_now(self) -> str:
        """``active``, ``suspended`` or ``revoked``, after every event folded so far."""
        if self.revoked_at is not None:
            return "revoked"
        if self.suspensions and self.suspensions[-1].end is None:
            return "suspended"
        return "active"

    def standing_at(self, t: int, enterprise: EnterpriseHistory | None,
                    tolerance_s: int) -> DeviceStanding:
        """The standing at ``t`` under the module's boundary rules (``enterprise``: the history
        of this device's enterprise, ``None`` when it was never stopped)."""
        registered = self.registered_at
        if t < registered - tolerance_s:
            return self._answers[Reason.NOT_YET_REGISTERED]
        revoked = self.revoked_at
        if revoked is not None and t > revoked:
            return self._answers[Reason.REVOKED]
        t = max(t, registered)
        if self.suspensions and _covers(self.suspensions, self._starts, t):
            return self._answers[Reason.SUSPENDED]
        if enterprise is not None and enterprise.stopped_at(t):
            return self._answers[Reason.ENTERPRISE_STOPPED]
        return self._answers[None]


@dataclass(frozen=True)
class DeviceBook:
    """Every device and enterprise the folded events name, and where the fold stands: the
    position (block, log index) and block timestamp of the last event folded, ``None`` before
    any."""

    devices: Mapping[bytes, DeviceHistory]
    enterprises: Mapping[bytes, EnterpriseHistory]
    last_position: tuple[int, int] | None = None
    last_timestamp: int | None = None

    def standing(self, device: bytes, timestamp: int, tolerance_s: int) -> DeviceStanding:
        """The standing of ``device`` (20 bytes) for a reading at ``timestamp`` (Unix seconds),
        with ``tolerance_s`` seconds of clock skew before registration (module rules)."""
        history = self.devices.get(device)
        if history is None:
            return UNKNOWN
        return history.standing_at(timestamp, self.enterprises.get(history.enterprise),
                                   tolerance_s)

    def standings(self, device: bytes, timestamps: Sequence[int],
                  tolerance_s: int) -> list[DeviceStanding]:
        """:meth:`standing` for each of ``timestamps``, in order: one dictionary lookup for the
        device, then at most two bisections per timestamp."""
        history = self.devices.get(device)
        if history is None:
            return [UNKNOWN] * len(timestamps)
        enterprise = self.enterprises.get(history.enterprise)
        at = history.standing_at
        return [at(t, enterprise, tolerance_s) for t in timestamps]


EMPTY_BOOK = DeviceBook(devices={}, enterprises={})


# -- the fold -------------------------------------------------------------------------------------


def fold(events: Iterable[DeviceEvent], book: DeviceBook = EMPTY_BOOK) -> DeviceBook:
    """``book`` with ``events`` applied, in chain order (each after the book's last position).

    Raises :class:`~ledger_api.errors.DeviceEventsInconsistent` when an event is out of order,
    goes back in time, or contradicts the contract's rules given the events before it; ``book``
    itself is never modified.
    """
    folder = _Folder(book)
    for event in events:
        folder.apply(event)
    return folder.result()


class _Folder:
    def __init__(self, book: DeviceBook) -> None:
        self.devices = dict(book.devices)
        self.enterprises = dict(book.enterprises)
        self.position = book.last_position
        self.timestamp = book.last_timestamp
        self.block_hash: bytes | None = None

    def result(self) -> DeviceBook:
        return DeviceBook(self.devices, self.enterprises, self.position, self.timestamp)

    def apply(self, event: DeviceEvent) -> None:
        self._check_order(event)
        match event:
            case DeviceRegistered():
                self._registered(event)
            case DeviceRevoked():
                history = self._device(event, event.device, "active or suspended")
                if event.enterprise != history.enterprise or event.revoked_at != event.block_number:
                    _refuse(event, f"a revocation by {_hex(history.enterprise)} at block "
                                   f"{event.block_number}")
                self.devices[event.device] = replace(
                    history, revoked_block=event.block_number, revoked_at=event.block_timestamp)
            case DeviceRotated():
                old = self._known(event, event.device)
                new = self.devices.get(event.new_device)
                if (old.revoked_block != event.block_number or new is None
                        or new.predecessor != event.device or old.enterprise != event.enterprise):
                    _refuse(event, "the old key revoked and the new one registered with it as "
                                   "predecessor, by the same enterprise, in this block")
                self.devices[event.device] = replace(old, successor=event.new_device)
            case DeviceSuspended():
                history = self._device(event, event.device, "active")
                if history.status_now != "active":
                    _refuse(event, f"an active device, it is {history.status_now}")
                self.devices[event.device] = replace(history, suspensions=(
                    *history.suspensions, Interval(event.block_timestamp, None)))
            case DeviceReinstated():
                history = self._device(event, event.device, "suspended")
                if history.status_now != "suspended":
                    _refuse(event, f"a suspended device, it is {history.status_now}")
                self.devices[event.device] = replace(history, suspensions=_close(
                    history.suspensions, event.block_timestamp))
            case EnterpriseStopped():
                record = self.enterprises.get(event.enterprise, EnterpriseHistory(event.enterprise))
                if record.stopped_now:
                    _refuse(event, "an enterprise in good standing, it is already stopped")
                self.enterprises[event.enterprise] = replace(record, stops=(
                    *record.stops, Interval(event.block_timestamp, None)))
            case EnterpriseReactivated():
                stopped = self.enterprises.get(event.enterprise)
                if stopped is None or not stopped.stopped_now:
                    _refuse(event, "a stopped enterprise, it is in good standing")
                self.enterprises[event.enterprise] = replace(stopped, stops=_close(
                    stopped.stops, event.block_timestamp))
        self.position, self.timestamp = event.position, event.block_timestamp
        self.block_hash = event.block_hash

    def _check_order(self, event: DeviceEvent) -> None:
        if self.position is not None and event.position <= self.position:
            _refuse(event, f"an event after block {self.position[0]} log {self.position[1]}")
        if self.timestamp is not None and self.position is not None:
            same_block = event.block_number == self.position[0]
            if same_block and (event.block_timestamp != self.timestamp or (
                    self.block_hash is not None and event.block_hash != self.block_hash)):
                _refuse(event, f"the timestamp {self.timestamp} and hash of the block's earlier "
                               "events")
            if event.block_timestamp < self.timestamp:
                _refuse(event, f"a block time at or after {self.timestamp} (block times never "
                               "go back)")

    def _registered(self, event: DeviceRegistered) -> None:
        if event.device in self.devices:
            _refuse(event, "a device never registered before (addresses are never reused)")
        if event.device == _ZERO_ADDRESS or event.enterprise == _ZERO_ADDRESS:
            _refuse(event, "non-zero device and enterprise addresses")
        record = self.enterprises.get(event.enterprise)
        if record is not None and record.stopped_now:
            _refuse(event, "an enterprise in good standing, it is stopped")
        predecessor = None if event.predecessor == _ZERO_ADDRESS else event.predecessor
        if predecessor is not None:
            old = self.devices.get(predecessor)
            if old is None or old.revoked_block != event.block_number:
                _refuse(event, "a predecessor revoked in this block")
        self.devices[event.device] = DeviceHistory(
            device=event.device, enterprise=event.enterprise, site=event.site,
            metadata_hash=event.metadata_hash, predecessor=predecessor, successor=None,
            registered_block=event.block_number, registered_at=event.block_timestamp)

    def _known(self, event: DeviceEvent, device: bytes) -> DeviceHistory:
        history = self.devices.get(device)
        if history is None:
            _refuse(event, f"a registered device, {_hex(device)} never was")
        return history

    def _device(self, event: DeviceEvent, device: bytes, expected: str) -> DeviceHistory:
        history = self._known(event, device)
        if history.revoked_at is not None:
            _refuse(event, f"a device {expected}, it was revoked at block "
                           f"{history.revoked_block}")
        return history


def _hex(address: bytes) -> str:
    return format_address(address) if len(address) == 20 else "0x" + address.hex()


def _refuse(event: DeviceEvent, expected: str) -> NoReturn:
    raise DeviceEventsInconsistent(
        f"{type(event).__name__} at block {event.block_number} log {event.log_index}",
        f"expected {expected}")
