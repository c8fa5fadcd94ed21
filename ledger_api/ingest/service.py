"""Ingest: one uplink request (``trustmrv-uplink/1``, already decoded) into the ledger, in one
transaction, with one verdict per item (docs/protocol.md 10.3 and 10.4).

Nothing sent is trusted. Before the database is touched, every item is verified
(``mrv_core.verify``: the meter path hashes to its id, the signature is canonical and recovers
the device) and the device's standing is checked at the times the item covers (registered and
active then: :class:`Devices`, from the chain's DeviceRegistry). Then, holding the device's
stream row (one device's requests apply one after another):

- **readings** and **records** are looked up by identity key (``(meter, seq)`` for a reading,
  the record's key of 10.4): the same id again is a ``duplicate`` (nothing stored), another id a
  ``conflict`` (the offer kept as evidence in ``conflicts``; the held item never overwritten).
  Deduplication compares ids (the struct's hash), never signature bytes. A new item is
  ``accepted`` and gets the device's next leaf position; a reading also updates its meter's seq
  continuity (:mod:`ledger_api.ingest.seq_gaps`: missing seqs recorded, never invented)
  and its counter's marks (:mod:`ledger_api.ingest.marks`: the readings below their
  counter's previous one, for the recompute).
- the stream row also records the device's **enterprise** (the DeviceRegistry's), which the
  access rules scope every query by (``ledger_api.access``).
- **batch headers** must carry the device's next ``batchSeq``; their root must be rebuilt
  (``mrv_core.merkle``) from exactly the next ``leafCount`` leaves after the previous batch's,
  and their time span must be those leaves' span. Only then is the header ``accepted`` and its
  leaves marked with its ``batchSeq``.

Every refused item is ``rejected`` with ``"<check>: <detail>"`` and kept once in ``rejections``.
The whole request commits or nothing does: a failure midway (the database, a crash) leaves the
ledger as it was, and the sender's retry gets the same verdicts.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, cast

from sqlalchemy import Table, bindparam, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from mrv_core.batch import SignedBatchHeader
from mrv_core.codec import format_address, format_hex
from mrv_core.eip712 import Domain, batch_struct_hash
from mrv_core.errors import MerkleError, VerificationError
from mrv_core.hashing import keccak256
from mrv_core.merkle import MerkleTree
from mrv_core.reading import SignedReading
from mrv_core.records import RECORD_KINDS, SignedRecord
from mrv_core.uplink import Status as S
from mrv_core.uplink import UplinkItem, UplinkRequest, Verdict, item_id, item_key
from mrv_core.verify import verify_signed_header, verify_signed_reading, verify_signed_record
from mrv_core.wire import encode_batch_header, encode_signed_reading, encode_signed_record

from ..chain.devices import DeviceStanding, Reason
from ..db.bulk import LEAF_COLUMNS, READING_COLUMNS, RECORD_COLUMNS, insert_rows
from ..db.models import (
    BatchRow,
    ConflictRow,
    DeviceStreamRow,
    LeafRow,
    MeterStreamRow,
    ReadingRow,
    RecordRow,
    RejectionRow,
    SeqGapRow,
)
from ..errors import IngestRefused
from .marks import CounterMarks
from .seq_gaps import MeterSeqs, add_seq

__all__ = ["Devices", "IngestResult", "ingest"]

#: A lag beyond this many seconds either way (a century) is stored as this: a uint64 time span
#: minus the receipt time may not fit a BIGINT.
_LAG_LIMIT = 100 * 366 * 86_400
_REASON_MAX = 4096


class Devices(Protocol):
    """Who may deliver data: the chain's DeviceRegistry
    (:class:`ledger_api.chain.directory.DeviceDirectory`)."""

    def standing(self, device: bytes, timestamp: int) -> DeviceStanding:
        """The device's standing for an item of Unix time ``timestamp``."""
        ...


@dataclass(frozen=True)
class IngestResult:
    """The verdicts in request order, and counts by status."""

    verdicts: tuple[Verdict, ...]

    def count(self, status: S) -> int:
        return sum(1 for v in self.verdicts if v.status is status)


@dataclass
class _Item:
    """One item on its way through: its id, its kind, and its verdict once decided."""

    item: UplinkItem
    id: bytes
    kind: str
    verdict: Verdict | None = None

    def reject(self, check: str, detail: str) -> None:
        self.verdict = Verdict(self.id, S.REJECTED, f"{check}: {detail}"[:_REASON_MAX])

    def conflict(self, detail: str) -> None:
        self.verdict = Verdict(self.id, S.CONFLICT, detail[:_REASON_MAX])


def ingest(session: Session, request: UplinkRequest, devices: Devices, domain: Domain, *,
           now: datetime) -> IngestResult:
    """Verify and store ``request`` in ``session`` (the caller commits, or rolls back on any
    exception); ``domain`` is the deployment this ledger serves, ``now`` the receive time (UTC).

    Raises :class:`IngestRefused` (nothing stored) when the request was signed under another
    domain (400, check ``domain``) or its device was never registered (403, ``device``)."""
    device = request.device
    if request.domain != domain:
        raise IngestRefused(400, "domain", f"the items are signed for chainId "
                                           f"{request.domain.chain_id} and AnchorRegistry "
                                           f"{format_address(request.domain.verifying_contract)}"
                                           f"; this ledger serves chainId {domain.chain_id} and "
                                           f"{format_address(domain.verifying_contract)}")
    registration = devices.standing(device, 0)
    if registration.reason is Reason.UNKNOWN:
        raise IngestRefused(403, "device", f"{format_address(device)} is not registered in the "
                                           "DeviceRegistry")
    items = [_verified(item, domain, devices, device) for item in request.items]
    stream = _lock_stream(session, device, now)
    if registration.enterprise is not None and stream.enterprise != registration.enterprise:
        stream.enterprise = registration.enterprise  # access scoping joins on it
    _Leaves(session, stream, now).store([e for e in items if e.kind != "batch"])
    _Batches(session, stream, now).store([e for e in items if e.kind == "batch"])
    stream.last_seen = now
    _keep_rejections(session, device, items, now)
    verdicts = tuple(e.verdict for e in items if e.verdict is not None)
    assert len(verdicts) == len(items), "every item gets a verdict"
    return IngestResult(verdicts)


def _kind(item: UplinkItem) -> str:
    if isinstance(item, SignedReading):
        return "reading"
    if isinstance(item, SignedRecord):
        return RECORD_KINDS[type(item.record)]
    return "batch"


def _time_span(item: SignedReading | SignedRecord) -> tuple[int, int]:
    if isinstance(item, SignedReading):
        return item.reading.timestamp, item.reading.timestamp
    return item.record.timespan()


def _verified(item: UplinkItem, domain: Domain, devices: Devices, device: bytes) -> _Item:
    """The item with its id, rejected if a check that needs no database fails: path and
    signature, then the device's standing at the item's times."""
    try:
        if isinstance(item, SignedReading):
            entry = _Item(item, verify_signed_reading(item, domain), "reading")
        elif isinstance(item, SignedRecord):
            entry = _Item(item, verify_signed_record(item, domain), _kind(item))
        else:
            verify_signed_header(item, domain)
            entry = _Item(item, item_id(item), "batch")
    except VerificationError as exc:
        entry = _Item(item, item_id(item), _kind(item))
        entry.reject(exc.step, exc.detail)
        return entry
    if isinstance(item, SignedBatchHeader):
        times = (item.header.from_timestamp, item.header.to_timestamp)
    else:
        times = _time_span(item)
    for timestamp in times if times[0] != times[1] else times[:1]:
        standing = devices.standing(device, timestamp)
        if not standing.active:
            reason = standing.reason.value if standing.reason is not None else "inactive"
            entry.reject("device", f"{format_address(device)} is {reason} at {timestamp} "
                                   "(DeviceRegistry)")
            break
    return entry


def _lock_stream(session: Session, device: bytes, now: datetime) -> DeviceStreamRow:
    """The device's stream row, created on its first request, locked for this transaction
    (``FOR UPDATE`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` already serialises writers)."""
    locked = select(DeviceStreamRow).where(DeviceStreamRow.device == device).with_for_update()
    stream = session.scalars(locked).one_or_none()
    if stream is None:
        # Two first requests of one device on two workers: one inserts, the other waits on
        # the row and then finds it (ON CONFLICT DO NOTHING on both dialects).
        new = (postgresql.insert if session.get_bind().dialect.name == "postgresql"
               else sqlite.insert)(DeviceStreamRow)
        session.execute(new.values(device=device, next_position=0, batched_through=0,
                                   next_batch_seq=0, first_seen=now, last_seen=now)
                        .on_conflict_do_nothing())
        stream = session.scalars(locked).one()
    return stream


def _key_text(item: UplinkItem) -> str:
    """The identity key (docs/protocol.md 10.4) as canonical text: hex for bytes."""
    return "|".join(format_hex(part) if isinstance(part, bytes) else str(part)
                    for part in item_key(item))


def _wire(item: UplinkItem) -> str:
    if isinstance(item, SignedReading):
        doc = encode_signed_reading(item)
    elif isinstance(item, SignedRecord):
        doc = encode_signed_record(item)
    else:
        doc = encode_batch_header(item.header, item.signature)
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)


def _evidence(session: Session, entry: _Item, device: bytes, identity: str, held_id: bytes,
              now: datetime) -> None:
    """Keep the conflicting offer once (a sender retries it until an operator steps in)."""
    kept = session.scalar(select(ConflictRow.id).where(ConflictRow.device == device,
                                                       ConflictRow.offered_id == entry.id)
                          .limit(1))
    if kept is None:
        session.add(ConflictRow(device=device, kind=entry.kind, identity=identity,
                                held_id=held_id, offered_id=entry.id, offered=_wire(entry.item),
                                received_at=now))
    entry.conflict(f"the ledger holds {format_hex(held_id)} under {identity}; this item is "
                   f"{format_hex(entry.id)}")


class _Step:
    """One step of a request's ingest, on the locked stream of its device."""

    def __init__(self, session: Session, stream: DeviceStreamRow, now: datetime) -> None:
        self.session = session
        self.stream = stream
        self.device = stream.device
        self.now = now


class _Leaves(_Step):
    """Readings and records: deduplication, positions, seq continuity, bulk inserts."""

    def __init__(self, session: Session, stream: DeviceStreamRow, now: datetime) -> None:
        super().__init__(session, stream, now)
        self.now_s = int(now.timestamp())
        self._stored_seqs: dict[bytes, MeterSeqs] = {}

    def store(self, entries: list[_Item]) -> None:
        pending = [e for e in entries if e.verdict is None]
        readings = [e for e in pending if e.kind == "reading"]
        records = [e for e in pending if e.kind != "reading"]
        held_readings = self._held_readings(readings)
        held_records = self._held_records(records)
        seqs = self._meter_seqs(readings)
        marks = CounterMarks(self.session, self.device)
        # Rows as tuples in the column order of db/bulk.py's layouts, inserted on the driver.
        leaves: list[tuple[Any, ...]] = []
        reading_rows: list[tuple[Any, ...]] = []
        record_rows: list[tuple[Any, ...]] = []
        for entry in pending:
            item = entry.item
            if isinstance(item, SignedReading):
                r = item.reading
                held = held_readings.get((r.meter, r.seq))
                if held is not None:
                    self._seen(entry, held, f"meter {format_hex(r.meter)} seq {r.seq}")
                    continue
                if self._purged(entry, r.timestamp):
                    continue
                state = seqs.get(r.meter, (MeterSeqs(None), ""))[0]
                if state.holds(r.seq):  # counted as held, yet no row: deleted under retention
                    entry.reject("retention", f"meter {format_hex(r.meter)} seq {r.seq} was "
                                              "held and deleted under retention; a reading "
                                              "under its key cannot be stored again")
                    continue
                seqs[r.meter] = (add_seq(state, r.seq), item.meter_path)
                marks.add(r.meter, r.quantity, r.seq, r.value)
                held_readings[(r.meter, r.seq)] = entry.id  # a repeat later in this request
                position = self._leaf(entry, leaves)
                reading_rows.append((self.device, position, r.meter, item.meter_path, r.seq,
                                     r.timestamp, r.quantity, r.value, r.salt, item.signature))
            else:
                assert isinstance(item, SignedRecord)
                key_hash = keccak256(_key_text(item).encode("utf-8"))
                held = held_records.get((entry.kind, key_hash))
                if held is not None:
                    self._seen(entry, held, f"{entry.kind} {_key_text(item)}")
                    continue
                if self._purged(entry, item.record.timespan()[1]):
                    continue
                held_records[(entry.kind, key_hash)] = entry.id
                position = self._leaf(entry, leaves)
                record_rows.append((self.device, position, entry.kind, key_hash, item.path,
                                    item.record.timespan()[0], _wire(item)))
        marks.save(self._stored_seqs)  # against the rows held before this request
        connection = self.session.connection()
        insert_rows(connection, LeafRow.__table__, LEAF_COLUMNS, leaves)  # type: ignore[arg-type]
        insert_rows(connection, ReadingRow.__table__, READING_COLUMNS,  # type: ignore[arg-type]
                    reading_rows)
        insert_rows(connection, RecordRow.__table__, RECORD_COLUMNS,  # type: ignore[arg-type]
                    record_rows)
        self._save_seqs(seqs)

    def _purged(self, entry: _Item, end: int) -> bool:
        """Reject a new item ending at or before data of its device deleted under retention
        (``device_streams.purged_through``, ``ledger_api.retention``): it may be a deleted
        item sent again, which must not come back as a new leaf."""
        through = self.stream.purged_through
        if through is None or end > through:
            return False
        entry.reject("retention", f"the item ends at {end}, at or before {through}, the "
                                  "latest data time this ledger deleted under retention for "
                                  "the device")
        return True

    def _seen(self, entry: _Item, held: bytes, identity: str) -> None:
        if held == entry.id:
            entry.verdict = Verdict(entry.id, S.DUPLICATE)
        else:
            _evidence(self.session, entry, self.device, identity, held, self.now)

    def _leaf(self, entry: _Item, leaves: list[tuple[Any, ...]]) -> int:
        item = entry.item
        assert isinstance(item, SignedReading | SignedRecord)
        start, end = _time_span(item)
        position = self.stream.next_position
        self.stream.next_position = position + 1
        leaves.append((self.device, position, entry.kind, entry.id, start, end, None, self.now,
                       max(-_LAG_LIMIT, min(_LAG_LIMIT, self.now_s - end))))
        entry.verdict = Verdict(entry.id, S.ACCEPTED)
        return position

    def _held_readings(self, entries: list[_Item]) -> dict[tuple[bytes, int], bytes]:
        """(meter, seq) -> leaf of the readings already held under the entries' keys: one
        indexed range query per chunk of meters (a request holds a few hundred meters)."""
        wanted: set[tuple[bytes, int]] = set()
        for entry in entries:
            assert isinstance(entry.item, SignedReading)
            wanted.add((entry.item.reading.meter, entry.item.reading.seq))
        if not wanted:
            return {}
        meters = sorted({meter for meter, _ in wanted})
        seqs = [seq for _, seq in wanted]
        held: dict[tuple[bytes, int], bytes] = {}
        for i in range(0, len(meters), 500):
            rows = self.session.execute(
                select(ReadingRow.meter, ReadingRow.seq, LeafRow.leaf)
                .join(LeafRow, (LeafRow.device == ReadingRow.device)
                      & (LeafRow.position == ReadingRow.position))
                .where(ReadingRow.device == self.device, ReadingRow.meter.in_(meters[i:i + 500]),
                       ReadingRow.seq >= min(seqs), ReadingRow.seq <= max(seqs)))
            held.update({(meter, seq): leaf for meter, seq, leaf in rows
                         if (meter, seq) in wanted})
        return held

    def _held_records(self, entries: list[_Item]) -> dict[tuple[str, bytes], bytes]:
        """(kind, key hash) -> leaf of the records already held under the entries' keys."""
        keys = [keccak256(_key_text(e.item).encode("utf-8")) for e in entries]
        held: dict[tuple[str, bytes], bytes] = {}
        for i in range(0, len(keys), 500):
            rows = self.session.execute(
                select(RecordRow.kind, RecordRow.key_hash, LeafRow.leaf)
                .join(LeafRow, (LeafRow.device == RecordRow.device)
                      & (LeafRow.position == RecordRow.position))
                .where(RecordRow.device == self.device,
                       RecordRow.key_hash.in_(keys[i:i + 500])))
            held.update({(kind, key): leaf for kind, key, leaf in rows})
        return held

    def _meter_seqs(self, entries: list[_Item]) -> dict[bytes, tuple[MeterSeqs, str]]:
        """The seq continuity state of the entries' meters, as stored."""
        meters = sorted({e.item.reading.meter for e in entries
                         if isinstance(e.item, SignedReading)})
        state: dict[bytes, tuple[MeterSeqs, str]] = {}
        if not meters:
            return state
        streams = self.session.execute(
            select(MeterStreamRow.meter, MeterStreamRow.max_seq, MeterStreamRow.meter_path)
            .where(MeterStreamRow.device == self.device, MeterStreamRow.meter.in_(meters)))
        missing: dict[bytes, list[tuple[int, int]]] = {}
        for meter, first, last in self.session.execute(
                select(SeqGapRow.meter, SeqGapRow.from_seq, SeqGapRow.to_seq)
                .where(SeqGapRow.device == self.device, SeqGapRow.meter.in_(meters))
                .order_by(SeqGapRow.meter, SeqGapRow.from_seq)):
            missing.setdefault(meter, []).append((first, last))
        for meter, max_seq, path in streams:
            state[meter] = (MeterSeqs(max_seq, tuple(missing.get(meter, ()))), path)
            self._stored_seqs[meter] = state[meter][0]
        return state

    def _save_seqs(self, state: dict[bytes, tuple[MeterSeqs, str]]) -> None:
        """Write the meters' changed continuity state: new streams, moved ``max_seq``, missing
        runs closed or narrowed (deleted) and new ones (inserted, after the deletions: a
        narrowed run may keep its ``from_seq``). One statement per kind of change, each
        executed for all its meters at once."""
        streams, moved, closed, opened = [], [], [], []
        for meter, (seqs, path) in state.items():
            old = self._stored_seqs.get(meter)
            if old == seqs:
                continue
            assert seqs.max_seq is not None
            if old is None:
                streams.append({"device": self.device, "meter": meter, "meter_path": path,
                                "max_seq": seqs.max_seq})
            elif old.max_seq != seqs.max_seq:
                moved.append({"b_meter": meter, "b_max_seq": seqs.max_seq})
            old_runs = set(old.missing) if old is not None else set()
            closed += [{"b_meter": meter, "b_from": first}
                       for first, _last in old_runs - set(seqs.missing)]
            opened += [{"device": self.device, "meter": meter, "from_seq": first,
                        "to_seq": last, "detected_at": self.now}
                       for first, last in sorted(set(seqs.missing) - old_runs)]
        streams_table = cast(Table, MeterStreamRow.__table__)
        gaps_table = cast(Table, SeqGapRow.__table__)
        if streams:
            self.session.execute(insert(streams_table), streams)
        if moved:
            self.session.execute(update(streams_table).where(
                streams_table.c.device == self.device,
                streams_table.c.meter == bindparam("b_meter"))
                .values(max_seq=bindparam("b_max_seq")), moved)
        if closed:
            self.session.execute(delete(gaps_table).where(
                gaps_table.c.device == self.device, gaps_table.c.meter == bindparam("b_meter"),
                gaps_table.c.from_seq == bindparam("b_from")), closed)
        if opened:
            self.session.execute(insert(gaps_table), opened)


class _Batches(_Step):
    """Batch headers: sequence, root rebuilt from the held leaves, time span."""

    def store(self, entries: list[_Item]) -> None:
        if not entries:
            return
        self.session.flush()
        for entry in entries:
            if entry.verdict is not None:
                continue
            assert isinstance(entry.item, SignedBatchHeader)
            header = entry.item.header
            held = self.session.get(BatchRow, (self.device, header.batch_seq))
            if held is not None:
                held_id = keccak256(batch_struct_hash(held.header()))
                if held_id == entry.id:
                    entry.verdict = Verdict(entry.id, S.DUPLICATE)
                else:
                    _evidence(self.session, entry, self.device, f"batchSeq {header.batch_seq}",
                              held_id, self.now)
                continue
            expected = self.stream.next_batch_seq
            if header.batch_seq != expected:
                entry.reject("batch_seq", f"expected batchSeq {expected} (the next after the "
                                          f"ledger's last), got {header.batch_seq}")
                continue
            self._check_and_store(entry, entry.item)

    def _check_and_store(self, entry: _Item, signed: SignedBatchHeader) -> None:
        header = signed.header
        first = self.stream.batched_through
        # Positions are contiguous per device (DeviceStreamRow.next_position): the batch's
        # leaves are [first, first + leaf_count). Their span is asked of the database (the
        # stored forms of Uint64 sort as the numbers do), so 10,000 leaves are fetched as
        # bare bytes, not decoded row by row.
        in_batch = (LeafRow.device == self.device, LeafRow.position >= first,
                    LeafRow.position < first + header.leaf_count)
        rows = self.session.scalars(select(LeafRow.leaf).where(*in_batch)
                                    .order_by(LeafRow.position)).all()
        if len(rows) < header.leaf_count:
            entry.reject("leaves", f"the header counts {header.leaf_count} leaves; the ledger "
                                   f"holds {len(rows)} after batch {header.batch_seq - 1}"
                         if header.batch_seq else
                         f"the header counts {header.leaf_count} leaves; the ledger holds "
                         f"{len(rows)}")
            return
        try:
            root = MerkleTree(rows).root
        except MerkleError as exc:
            entry.reject("root", str(exc))
            return
        if root != header.root:
            entry.reject("root", f"the header's root {format_hex(header.root)} is not the root "
                                 f"of the {len(rows)} leaves the ledger holds for it "
                                 f"({format_hex(root)})")
            return
        span = tuple(self.session.execute(select(func.min(LeafRow.time_from),
                                                 func.max(LeafRow.time_to))
                                          .where(*in_batch)).one())
        if span != (header.from_timestamp, header.to_timestamp):
            entry.reject("timespan", f"the header spans [{header.from_timestamp}, "
                                     f"{header.to_timestamp}], its leaves [{span[0]}, "
                                     f"{span[1]}]")
            return
        self.session.add(BatchRow(
            device=self.device, batch_seq=header.batch_seq, root=header.root,
            leaf_count=header.leaf_count, from_timestamp=header.from_timestamp,
            to_timestamp=header.to_timestamp, signature=signed.signature, first_position=first,
            received_at=self.now))
        self.session.execute(update(LeafRow).where(*in_batch)
                             .values(batch_seq=header.batch_seq))
        self.stream.batched_through = first + header.leaf_count
        self.stream.next_batch_seq = header.batch_seq + 1
        entry.verdict = Verdict(entry.id, S.ACCEPTED)


def _keep_rejections(session: Session, device: bytes, items: Sequence[_Item],
                     now: datetime) -> None:
    """Each rejected item once per (device, id): a sender retrying does not grow the table."""
    rejected = [e for e in items if e.verdict is not None and e.verdict.status is S.REJECTED]
    if not rejected:
        return
    ids = [e.id for e in rejected]
    known = set(session.scalars(select(RejectionRow.item_id)
                                .where(RejectionRow.device == device,
                                       RejectionRow.item_id.in_(ids))))
    for entry in rejected:
        if entry.id in known:
            continue
        known.add(entry.id)
        assert entry.verdict is not None and entry.verdict.reason is not None
        check = entry.verdict.reason.split(":", 1)[0]
        session.add(RejectionRow(device=device, kind=entry.kind, item_id=entry.id, check=check,
                                 reason=entry.verdict.reason, offered=_wire(entry.item),
                                 received_at=now))
