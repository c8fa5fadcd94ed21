"""Test support for retention (ledger_api.retention): a fleet of three devices of two
enterprises delivering batches through the real ingest, at chosen data times and anchor states.

The batches' anchor states are set here: the chain watcher that sets them has its own tests
(ledger_api/chain) and a purge only reads the state; the anchor rows are written as the watcher
stores them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ledger_support import StaticDevices
from sqlalchemy import Engine, update

from factories import METER_PATHS, OTHER_KEY, TEST_DOMAIN, TEST_KEY
from ledger_api.db.engine import make_sessions
from ledger_api.db.models import AnchorRow, BatchRow
from ledger_api.ingest.service import ingest
from mrv_core.batch import SignedBatchHeader
from mrv_core.keys import DeviceKey
from mrv_core.reading import Reading, SignedReading, meter_id
from mrv_core.records import ERROR_CLASSES, Gap, SignedRecord
from mrv_core.uplink import Status, UplinkItem, UplinkRequest

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
A, B = b"\xaa" * 20, b"\xbb" * 20
FOURTH_KEY = DeviceKey.from_private_bytes((4).to_bytes(32, "big"))
ENTERPRISES = {TEST_KEY.address: A, FOURTH_KEY.address: A, OTHER_KEY.address: B}
DEVICES = StaticDevices(set(ENTERPRISES), enterprises=ENTERPRISES)
QUANTITY = "energy.active.import:Wh"
#: Readings per batch.
READINGS = 3


def year(y: int) -> int:
    return int(datetime(y, 1, 1, tzinfo=UTC).timestamp())


@dataclass
class Fleet:
    """Delivers batches per device, numbering seqs and batchSeqs as a device does."""

    engine: Engine
    seqs: dict[bytes, int] = field(default_factory=dict)
    batches: dict[bytes, int] = field(default_factory=dict)
    #: (device, batchSeq) -> the readings and records of the batch, as sent.
    sent: dict[tuple[bytes, int], list[SignedReading | SignedRecord]] = field(
        default_factory=dict)

    def deliver(self, items: Sequence[UplinkItem], key: DeviceKey) -> list[Status]:
        with make_sessions(self.engine).begin() as session:
            result = ingest(session, UplinkRequest.of(key.address, TEST_DOMAIN, items),
                            DEVICES, TEST_DOMAIN, now=NOW)
        return [v.status for v in result.verdicts]

    def batch(self, key: DeviceKey, start: int, state: str, *, gap: bool = False) -> int:
        """One batch (:meth:`batches_of`); returns its batchSeq."""
        return self.batches_of(key, [(start, state, gap)])[0]

    def batches_of(self, key: DeviceKey, specs: Sequence[tuple[int, str, bool]]) -> list[int]:
        """Batches of ``key`` in one request, each of three readings from ``start`` (Unix s),
        one a minute, and with ``gap`` a gap record after them (only the last: a request puts
        records after all readings); then each batch's anchor state set (with an anchor row
        unless unanchored). Returns their batchSeqs."""
        assert not any(gap for _, _, gap in specs[:-1]), "a gap record only in the last batch"
        device, path = key.address, METER_PATHS[0]
        items: list[UplinkItem] = []
        headers: list[tuple[SignedBatchHeader, str]] = []
        for start, state, gap in specs:
            first = self.seqs.get(device, 0)
            signed = [key.sign_reading(Reading(
                device=device, meter=meter_id(path), seq=first + i, timestamp=start + 60 * i,
                quantity=QUANTITY, value=1000 + i, salt=bytes([i + 1]) * 32), TEST_DOMAIN, path)
                for i in range(READINGS)]
            self.seqs[device] = first + READINGS
            records: list[SignedRecord] = []
            if gap:
                end = start + 60 * READINGS
                records.append(key.sign_record(Gap(
                    device=device, meter=meter_id(path), quantity=QUANTITY,
                    next_seq=first + READINGS, from_timestamp=end, to_timestamp=end + 30,
                    failed_polls=2, error_class=ERROR_CLASSES[0], salt=b"\x07" * 32),
                    TEST_DOMAIN, path, None))
            batch_seq = self.batches.get(device, 0)
            closed = key.close_batch(batch_seq, signed, TEST_DOMAIN, records)
            assert closed.header_signature is not None
            headers.append((SignedBatchHeader(closed.header, closed.header_signature), state))
            items += [*signed, *records]
            self.batches[device] = batch_seq + 1
            self.sent[(device, batch_seq)] = [*signed, *records]
        statuses = self.deliver([*items, *(header for header, _ in headers)], key)
        assert statuses == [Status.ACCEPTED] * len(statuses)
        with make_sessions(self.engine).begin() as session:
            for signed_header, state in headers:
                h = signed_header.header
                session.execute(update(BatchRow).where(BatchRow.device == device,
                                                       BatchRow.batch_seq == h.batch_seq)
                                .values(anchor_state=state))
                if state != "unanchored":
                    session.add(AnchorRow(
                        device=device, batch_seq=h.batch_seq, root=h.root,
                        leaf_count=h.leaf_count, from_timestamp=h.from_timestamp,
                        to_timestamp=h.to_timestamp, block_number=h.batch_seq + 1,
                        block_hash=device + bytes(12), block_timestamp=h.to_timestamp + 60,
                        log_index=h.batch_seq, tx_hash=bytes([h.batch_seq]) * 32, seen_at=NOW,
                        orphaned_at=None))
        return [header.header.batch_seq for header, _ in headers]


def standard_fleet(engine: Engine) -> Fleet:
    """Enterprise A: TEST_KEY's batches 0, 1 (final, 2012, 2013; batch 0 with a gap record),
    2 (mismatch, 2014), 3 (final, 2015), 4 (final, 2020); FOURTH_KEY's 0 (unanchored, 2013)
    and 1 (final, 2014). Enterprise B: OTHER_KEY's 0 (final, 2012)."""
    fleet = Fleet(engine)
    fleet.batch(TEST_KEY, year(2012), "final", gap=True)
    fleet.batches_of(TEST_KEY, [(year(2013), "final", False), (year(2014), "mismatch", False),
                                (year(2015), "final", False), (year(2020), "final", False)])
    fleet.batches_of(FOURTH_KEY, [(year(2013), "unanchored", False),
                                  (year(2014), "final", False)])
    fleet.batch(OTHER_KEY, year(2012), "final")
    return fleet


#: Their rows: 3 readings each, TEST_KEY's batch 0 also a gap record, each an anchor row.
EXPECTED_COUNTS = {"readings": 12, "records": 1, "leaves": 13, "anchors": 4, "batches": 4}
#: TEST_KEY 0..1 and 3, FOURTH_KEY 1: the final batches of A that ended before 2016.
PURGED = {(TEST_KEY.address, 0), (TEST_KEY.address, 1), (TEST_KEY.address, 3),
          (FOURTH_KEY.address, 1)}
#: The ranges (device, first, last batchSeq) a purge of A before 2016 removes.
PURGED_RANGES = {(TEST_KEY.address, 0, 1), (TEST_KEY.address, 3, 3), (FOURTH_KEY.address, 1, 1)}
