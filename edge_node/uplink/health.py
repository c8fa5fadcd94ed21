"""Is the ledger API taking what the node sends? The ``uplink`` health check.

The uplink is at-least-once and ordered (:mod:`.client`): it never skips an item, so anything
that stops one item stops everything behind it. Four things stall it, and each fails the
check (``/healthz``, HTTP 503), sets ``mrv_edge_uplink_stalled{reason}`` to 1 and shows in
``mrv edge status``:

1. ``refused``: the last request was refused: an HTTP 4xx, an item answered ``rejected`` or
   ``conflict``, TLS refusing (``.tls_probe``), an acknowledgement that does not decode or match
   the request (:class:`UplinkHealth`, set by the client on every attempt). It fails at once,
   and stays failing until a later request is acknowledged.
2. ``backlog_age``: the oldest item not yet acknowledged (the head of either stream) was
   committed (a leaf) or closed (a batch header) more than ``max_backlog_age_ms`` ago
   (default 15 minutes: the ledger API down, or refusing, for that long). A receiver that is
   merely unreachable fails the check only then, since transient outages are retried.
3. ``invalid_item``: the head of a stream fails its own verification (:func:`verify_stored`):
   its signature does not recover the store's device under the store's domain, its leaf hash
   is not the stored one, or it does not decode. That is an item changed in the store after
   it was signed; it is named (device, meter and seq of a reading) and never skipped or
   deleted: the node stays stalled, loudly, until an operator restores it from a backup.
4. ``error``: the client's loop met an exception it does not expect (a bug, or a fault outside
   the node's error types). It is logged with its traceback (``uplink_error``), counted
   (``mrv_edge_uplink_errors_total``), named here (type and message), and the loop goes on
   after its holdoff; the check fails until a later request is acknowledged.

The head items are read and verified by :meth:`UplinkWatch.refresh` in the node's store thread
(one signature recovery per stream per refresh); :meth:`UplinkWatch.check` only reads what
the last refresh found, so ``/healthz`` never touches the store.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import structlog

from mrv_core.batch import SignedBatchHeader
from mrv_core.codec import format_address
from mrv_core.eip712 import Domain
from mrv_core.errors import MrvError
from mrv_core.verify import verify_signed_header, verify_signed_reading, verify_signed_record

from ..errors import UplinkItemInvalid
from ..signing.records import read_record
from ..store import STREAMS, Store, StoreUplink, position
from ..store import UplinkItem as StoredItem
from ..store.items import StoredBatch, StoredReading, StoredRecord
from .metrics import UplinkMetrics
from .settings import UplinkSettings

__all__ = ["Backlog", "UplinkHealth", "UplinkWatch", "describe_item",
           "inspect_backlog", "uplink_verdict", "verify_stored"]

_log = structlog.get_logger("edge_node.uplink")

class UplinkHealth:
    """What the uplink client saw last, set from its event loop and read from any thread (each
    attribute is replaced whole: a reader sees the old tuple or the new one)."""

    def __init__(self) -> None:
        #: Since when (Unix seconds) and why requests are refused; ``None`` after a delivery.
        self.refused: tuple[float, str] | None = None
        #: Since when and why the ledger API cannot be reached (retried: not a failure).
        self.unavailable: tuple[float, str] | None = None
        #: Since when and which unexpected exception stopped the last push (``Type: message``).
        self.error: tuple[float, str] | None = None

    def on_error(self, detail: str) -> None:
        self.error = (self.error or (time.time(), ""))[0], detail

    def on_refused(self, detail: str) -> None:
        self.refused = (self.refused or (time.time(), ""))[0], detail

    def on_unavailable(self, detail: str) -> None:
        self.unavailable = (self.unavailable or (time.time(), ""))[0], detail

    def on_delivered(self) -> None:
        self.refused = self.unavailable = self.error = None


@dataclass(frozen=True)
class Backlog:
    """The heads of the two streams as the last refresh found them: how many items wait,
    when the oldest was committed (Unix seconds, ``None``: nothing waits), and the head's
    verification failure, if any."""

    items: int
    oldest_at: int | None
    invalid: str | None


def describe_item(item: StoredItem, device: bytes) -> str:
    """How an operator finds the item: ``reading device 0x.. meter PATH seq N`` (a reading),
    ``gap record device 0x.. meter PATH leaf N`` (a record), ``batch header device 0x..
    batchSeq N``."""
    who = f"device {format_address(device)}"
    if isinstance(item, StoredReading):
        return (f"reading {who} meter {item.signed.meter_path} seq {item.signed.reading.seq} "
                f"(leaf {item.ordinal})")
    if isinstance(item, StoredRecord):
        return f"{item.kind} record {who} meter {item.meter_path or '-'} leaf {item.ordinal}"
    return f"batch header {who} batchSeq {item.header.batch_seq}"


def verify_stored(item: StoredItem, device: bytes, domain: Domain) -> None:
    """Check a stored item as the ledger API will: it is ``device``'s, its signature recovers
    ``device`` under ``domain``, and (a leaf) its leaf hash is the stored one. Raises
    :class:`UplinkItemInvalid` naming the item (:func:`describe_item`) and the problem."""
    try:
        if isinstance(item, StoredBatch):
            owner = item.header.device
            verify_signed_header(SignedBatchHeader(item.header, item.signature), domain)
            leaf = None
        elif isinstance(item, StoredReading):
            owner = item.signed.reading.device
            leaf = verify_signed_reading(item.signed, domain)
        else:
            signed = read_record(item)
            owner = signed.record.device
            leaf = verify_signed_record(signed, domain)
    except MrvError as exc:
        raise UplinkItemInvalid(describe_item(item, device), str(exc)) from None
    if owner != device:
        raise UplinkItemInvalid(describe_item(item, device),
                                f"it names device {format_address(owner)}")
    if leaf is not None and not isinstance(item, StoredBatch) and leaf != item.leaf:
        raise UplinkItemInvalid(describe_item(item, device),
                                f"its leaf hash is 0x{leaf.hex()}, the store holds "
                                f"0x{item.leaf.hex()}")


def inspect_backlog(store: Store, domain: Domain) -> Backlog:
    """Read and verify the head of each uplink stream (store thread). A head that cannot even
    be read from the store counts as invalid, named by its stream and position."""
    source = StoreUplink(store)
    waiting = 0
    oldest: int | None = None
    invalid: str | None = None
    for stream in STREAMS:
        acked = source.acknowledged_through(stream)
        try:
            head = source.head(stream)
        except MrvError as exc:
            invalid = invalid or f"the {stream} item after position {acked} does not load: {exc}"
            continue
        if head is None:
            continue
        item, at = head
        waiting += max(0, source.last_position(stream) - acked)
        oldest = at if oldest is None else min(oldest, at)
        try:
            verify_stored(item, store.device, domain)
        except UplinkItemInvalid as exc:
            invalid = invalid or f"{exc} (the uplink is stalled before {stream} position " \
                                 f"{position(item)})"
    return Backlog(items=waiting, oldest_at=oldest, invalid=invalid)


def uplink_verdict(health: UplinkHealth | None, backlog: Backlog | None, *, max_age_s: float,
                   now: float, wall: float | None = None) -> tuple[bool, str]:
    """The check's ``(ok, detail)`` from what the client saw (``None``: not known here, as in
    ``mrv edge status``, which reads only the store) and the last backlog (``None``: not read
    yet); failing details name every reason that holds, ``;``-separated. ``now`` is the clock
    the store's commit times were taken with, ``wall`` the wall clock of the client's events
    (default ``now``): they differ under a simulated clock."""
    wall = now if wall is None else wall
    problems: list[str] = []
    if backlog is not None and backlog.invalid is not None:
        problems.append(f"invalid_item: {backlog.invalid}")
    if health is not None and health.refused is not None:
        since, detail = health.refused
        problems.append(f"refused for {max(0.0, wall - since):.0f} s: {detail}")
    if health is not None and health.error is not None:
        since, detail = health.error
        problems.append(f"error for {max(0.0, wall - since):.0f} s (the uplink client failed "
                        f"unexpectedly, retrying; see the log's uplink_error): {detail}")
    age = None if backlog is None or backlog.oldest_at is None else now - backlog.oldest_at
    if age is not None and age > max_age_s:
        problems.append(f"backlog_age: the oldest undelivered item was committed {age:.0f} s "
                        f"ago (threshold {max_age_s:.0f} s)")
    if problems:
        return False, "; ".join(problems)
    if backlog is None:
        return True, "not checked yet"
    state = f"{backlog.items} items waiting" + (f", the oldest {age:.0f} s old"
                                                if age is not None else "")
    if health is not None and health.unavailable is not None:
        since, detail = health.unavailable
        state += f"; unreachable for {max(0.0, wall - since):.0f} s, retrying: {detail}"
    return True, state


class UplinkWatch:
    """The node's ``uplink`` check: :attr:`health` for the client, :meth:`refresh` from the
    store thread, :meth:`check` for ``/healthz``. With no ``[uplink]`` (``settings`` is
    ``None``) the check passes and says so."""

    def __init__(self, settings: UplinkSettings | None, domain: Domain,
                 metrics: UplinkMetrics | None = None) -> None:
        self.settings = settings
        self.domain = domain
        self.health = UplinkHealth()
        self.backlog: Backlog | None = None
        self._metrics = metrics
        self._now = time.time

    @property
    def max_age_s(self) -> float:
        return 0.0 if self.settings is None else self.settings.max_backlog_age_ms / 1000

    def refresh(self, store: Store, now: float) -> None:
        """Read the stream heads (store thread) and update the metrics; ``now`` is the clock
        the store's commit times were taken with (Unix seconds). A head newly found invalid is
        logged once, at critical level (``uplink_item_invalid``)."""
        if self.settings is None:
            return
        previous, self.backlog = self.backlog, inspect_backlog(store, self.domain)
        if self.backlog.invalid is not None and (previous is None
                                                 or previous.invalid != self.backlog.invalid):
            _log.critical("uplink_item_invalid", detail=self.backlog.invalid)
        started = time.monotonic()
        self._now = lambda: now + (time.monotonic() - started)
        if self._metrics is not None:
            oldest = self.backlog.oldest_at
            self._metrics.oldest_age.set(0 if oldest is None else max(0.0, now - oldest))
            stalled = {"refused": self.health.refused is not None,
                       "error": self.health.error is not None,
                       "invalid_item": self.backlog.invalid is not None,
                       "backlog_age": oldest is not None and now - oldest > self.max_age_s}
            for reason, on in stalled.items():
                self._metrics.stalled.labels(reason).set(1 if on else 0)

    def check(self) -> tuple[bool, str]:
        if self.settings is None:
            return True, "not configured (no [uplink] table)"
        return uplink_verdict(self.health, self.backlog, max_age_s=self.max_age_s,
                              now=self._now(), wall=time.time())
