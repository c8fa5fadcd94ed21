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

    def batch(self, key: DeviceKey, start: int, state: str, *, readings: int = 3,
              gap: bool = False) -> int:
        """A batch of ``readings`` readings from ``start`` (Unix s), one a minute, and a gap
        record after them; its anchor state set to ``state`` (and an anchor row unless
        unanchored). Returns its batchSeq."""
        device = key.address
        first = self.seqs.get(device, 0)
        path = METER_PATHS[0]
        signed = [key.sign_reading(Reading(device=device, meter=meter_id(path), seq=first + i,
                                           timestamp=start + 60 * i, quantity=QUANTITY,
                                           value=1000 + i, salt=bytes([i + 1]) * 32),
                                   TEST_DOMAIN, path) for i in range(readings)]
        self.seqs[device] = first + readings
        records: list[SignedRecord] = []
        if gap:
            end = start + 60 * readings
            records.append(key.sign_record(Gap(
                device=device, meter=meter_id(path), quantity=QUANTITY,
                next_seq=first + readings, from_timestamp=end, to_timestamp=end + 30,
                failed_polls=2, error_class=ERROR_CLASSES[0], salt=b"\x07" * 32),
                TEST_DOMAIN, path, None))
        batch_seq = self.batches.get(device, 0)
        closed = key.close_batch(batch_seq, signed, TEST_DOMAIN, records)
        assert closed.header_signature is not None
        header = SignedBatchHeader(closed.header, closed.header_signature)
        statuses = self.deliver([*signed, *records, header], key)
        assert statuses == [Status.ACCEPTED] * len(statuses)
        self.batches[device] = batch_seq + 1
        self.sent[(device, batch_seq)] = [*signed, *records]
        with make_sessions(self.engine).begin() as session:
            session.execute(update(BatchRow).where(BatchRow.device == device,
                                                   BatchRow.batch_seq == batch_seq)
                            .values(anchor_state=state))
            if state != "unanchored":
                h = closed.header
                session.add(AnchorRow(device=device, batch_seq=batch_seq, root=h.root,
                                      leaf_count=h.leaf_count, from_timestamp=h.from_timestamp,
                                      to_timestamp=h.to_timestamp, block_number=batch_seq + 1,
                                      block_hash=device + bytes(12),
                                      block_timestamp=h.to_timestamp + 60, log_index=batch_seq,
                                      tx_hash=bytes([batch_seq]) * 32, seen_at=NOW,
                                      orphaned_at=None))
        return batch_seq


def standard_fleet(engine: Engine) -> Fleet:
    """Enterprise A: TEST_KEY's batches 0, 1 (final, 2012, 2013; batch 0 with a gap record),
    2 (mismatch, 2014), 3 (final, 2015), 4 (final, 2020); FOURTH_KEY's 0 (unanchored, 2013)
    and 1 (final, 2014). Enterprise B: OTHER_KEY's 0 (final, 2012)."""
    fleet = Fleet(engine)
    for start, state, gap in ((year(2012), "final", True), (year(2013), "final", False),
                              (year(2014), "mismatch", False), (year(2015), "final", False),
                              (year(2020), "final", False)):
        fleet.batch(TEST_KEY, start, state, gap=gap)
    fleet.batch(FOURTH_KEY, year(2013), "unanchored")
    fleet.batch(FOURTH_KEY, year(2014), "final")
    fleet.batch(OTHER_KEY, year(2012), "final")
    return fleet


#: Their rows: 3 readings each, TEST_KEY's batch 0 also a gap record, each an anchor row.
EXPECTED_COUNTS = {"readings": 12, "records": 1, "leaves": 13, "anchors": 4, "batches": 4}
#: TEST_KEY 0..1 and 3, FOURTH_KEY 1: the final batches of A that ended before 2016.
PURGED = {(TEST_KEY.address, 0), (TEST_KEY.address, 1), (TEST_KEY.address, 3),
          (FOURTH_KEY.address, 1)}
#: The ranges (device, first, last batchSeq) a purge of A before 2016 removes.
PURGED_RANGES = {(TEST_KEY.address, 0, 1), (TEST_KEY.address, 3, 3), (FOURTH_KEY.address, 1, 1)}
