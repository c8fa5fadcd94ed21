"""Retention (ledger_api.retention): a purge deletes exactly the final batches of one enterprise
whose data ended before the cutoff, with their readings, records, leaves and anchors, in one
transaction, logged once; a dry run changes nothing; a cutoff younger than the minimum
retention, a missing reason and an unknown enterprise are refused; a deleted reading has no
proof (404) and cannot come back. On SQLite and on a real PostgreSQL.

The data arrives through the real ingest (signed readings, records and headers). The batches'
anchor states are set by the test: the chain watcher that sets them has its own tests
(ledger_api/chain) and the purge only reads the state; the anchor rows are likewise written
here as the watcher would store them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from ledger_support import StaticDevices
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from factories import METER_PATHS, OTHER_KEY, TEST_DOMAIN, TEST_KEY
from ledger_api.db.engine import make_sessions
from ledger_api.db.models import (
    AnchorRow,
    BatchRow,
    DeviceStreamRow,
    LeafRow,
    ReadingRow,
    RecordRow,
    RetentionPurgeRow,
)
from ledger_api.errors import ApiConfigError, ProofUnavailable, RetentionRefused
from ledger_api.ingest.service import ingest
from ledger_api.proofs import TreeCache, proof_bundle
from ledger_api.retention import Purge, latest_cutoff, parse_cutoff, purge, purge_log
from ledger_api.settings import get_settings
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
TABLES = (ReadingRow, RecordRow, LeafRow, AnchorRow, BatchRow)


def year(y: int) -> int:
    return int(datetime(y, 1, 1, tzinfo=UTC).timestamp())


@dataclass
class Fleet:
    """Delivers batches per device, numbering seqs and batchSeqs as a device does."""

    engine: Engine
    seqs: dict[bytes, int] = field(default_factory=dict)
    batches: dict[bytes, int] = field(default_factory=dict)
    sent: dict[tuple[bytes, int], list[SignedReading]] = field(default_factory=dict)

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
        self.sent[(device, batch_seq)] = signed
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


@pytest.fixture
def fleet(ledger_engine: Engine) -> Fleet:
    """Enterprise A: TEST_KEY's batches 0, 1 (final, 2012, 2013; batch 0 with a gap record),
    2 (mismatch, 2014), 3 (final, 2015), 4 (final, 2020); FOURTH_KEY's 0 (unanchored, 2013)
    and 1 (final, 2014). Enterprise B: OTHER_KEY's 0 (final, 2012)."""
    fleet = Fleet(ledger_engine)
    for start, state, gap in ((year(2012), "final", True), (year(2013), "final", False),
                              (year(2014), "mismatch", False), (year(2015), "final", False),
                              (year(2020), "final", False)):
        fleet.batch(TEST_KEY, start, state, gap=gap)
    fleet.batch(FOURTH_KEY, year(2013), "unanchored")
    fleet.batch(FOURTH_KEY, year(2014), "final")
    fleet.batch(OTHER_KEY, year(2012), "final")
    return fleet


def snapshot(engine: Engine) -> dict[str, object]:
    """Row counts of every table a purge may touch, the batches' keys, the audit rows' count
    and each stream's ``purged_through``."""
    with Session(engine) as session:
        out: dict[str, object] = {
            model.__tablename__: session.scalar(select(func.count()).select_from(model))
            for model in (*TABLES, RetentionPurgeRow)}
        out["batch_keys"] = {(device, seq) for device, seq in session.execute(
            select(BatchRow.device, BatchRow.batch_seq))}
        out["purged_through"] = {device: through for device, through in session.execute(
            select(DeviceStreamRow.device, DeviceStreamRow.purged_through))}
    return out


def run_purge(engine: Engine, *, enterprise: bytes = A, before: str = "2016-01-01",
              reason: str = "end of retention for 2012-2015", confirm: bool = True,
              years: int = 10) -> Purge:
    with make_sessions(engine).begin() as session:
        return purge(session, enterprise=enterprise, cutoff=parse_cutoff(before),
                     reason=reason, actor="cli operator test", principal_id=None,
                     retention_years=years, now=NOW, confirm=confirm)


#: Their rows: 3 readings each, TEST_KEY's batch 0 also a gap record, each an anchor row.
EXPECTED_COUNTS = {"readings": 12, "records": 1, "leaves": 13, "anchors": 4, "batches": 4}
#: TEST_KEY 0..1 and 3, FOURTH_KEY 1: the final batches of A that ended before 2016.
PURGED = {(TEST_KEY.address, 0), (TEST_KEY.address, 1), (TEST_KEY.address, 3),
          (FOURTH_KEY.address, 1)}


def test_a_dry_run_reports_what_would_go_and_changes_nothing(fleet: Fleet) -> None:
    before = snapshot(fleet.engine)
    report = run_purge(fleet.engine, confirm=False)
    assert report.dry_run and report.audit_id is None
    assert report.counts == EXPECTED_COUNTS
    assert report.kept == {"mismatch": 1, "unanchored": 1}
    assert snapshot(fleet.engine) == before


def test_a_purge_deletes_exactly_the_final_batches_past_the_cutoff_of_one_enterprise(
        fleet: Fleet) -> None:
    before = snapshot(fleet.engine)
    report = run_purge(fleet.engine)
    after = snapshot(fleet.engine)
    assert before["batch_keys"] - after["batch_keys"] == PURGED  # type: ignore[operator]
    assert (OTHER_KEY.address, 0) in after["batch_keys"]  # type: ignore[operator]
    assert report.counts == EXPECTED_COUNTS
    assert {(r.device, r.first, r.last) for r in report.ranges} == {
        (TEST_KEY.address, 0, 1), (TEST_KEY.address, 3, 3), (FOURTH_KEY.address, 1, 1)}
    for model in TABLES:
        name = model.__tablename__
        removed = before[name] - after[name]  # type: ignore[operator]
        assert removed == report.counts[name], name
    with Session(fleet.engine) as session:
        held = {(device, seq) for device, seq in session.execute(
            select(ReadingRow.device, LeafRow.batch_seq).join(
                LeafRow, (LeafRow.device == ReadingRow.device)
                & (LeafRow.position == ReadingRow.position)))}
        assert held.isdisjoint(PURGED) and len(held) == 4  # the kept batches keep all leaves
        audit = purge_log(session)
    assert len(audit) == 1 and audit[0].id == report.audit_id
    row = audit[0]
    assert (row.enterprise, row.cutoff, row.retention_years) == (A, year(2016), 10)
    assert (row.actor, row.principal_id, row.reason) == ("cli operator test", None,
                                                         "end of retention for 2012-2015")
    assert {t: getattr(row, t) for t in report.counts} == report.counts
    assert row.kept_batches == 2 and '"first": 3, "last": 3' in row.ranges
    assert after["purged_through"] == {  # the latest data time deleted, per device
        TEST_KEY.address: year(2015) + 120, FOURTH_KEY.address: year(2014) + 120,
        OTHER_KEY.address: None}


def test_a_second_purge_finds_nothing_new_and_leaves_the_audit_rows(fleet: Fleet) -> None:
    run_purge(fleet.engine)
    again = run_purge(fleet.engine)
    assert again.counts == dict.fromkeys(again.counts, 0) and again.audit_id is None
    with Session(fleet.engine) as session:
        assert len(purge_log(session, A)) == 1 and purge_log(session, B) == []


#: Purges refused before anything changes: (arguments, status, check).
REFUSALS: list[tuple[dict[str, object], int, str]] = [
    ({"before": "2016-12-02"}, 400, "retention"),  # one day younger than now - 10 years
    ({"before": "2021-12-02", "years": 5}, 400, "retention"),
    ({"reason": "  "}, 400, "reason"),
    ({"enterprise": b"\xcc" * 20}, 404, "enterprise"),
]


def test_a_purge_refused_as_asked_changes_nothing(fleet: Fleet) -> None:
    before = snapshot(fleet.engine)
    for arguments, status, check in REFUSALS:
        with pytest.raises(RetentionRefused) as refused:
            run_purge(fleet.engine, **arguments)  # type: ignore[arg-type]
        assert (refused.value.status, refused.value.check) == (status, check), arguments
        assert snapshot(fleet.engine) == before
    with pytest.raises(ApiConfigError, match="at least 5"):
        run_purge(fleet.engine, years=4)


def test_the_cutoff_may_be_exactly_the_retention_ago_and_bad_dates_are_refused() -> None:
    assert latest_cutoff(NOW, 10) == int(datetime(2016, 12, 1, 12, tzinfo=UTC).timestamp())
    leap = datetime(2024, 2, 29, tzinfo=UTC)
    assert latest_cutoff(leap, 5) == int(datetime(2019, 2, 28, tzinfo=UTC).timestamp())
    assert parse_cutoff("2016-12-01") == int(datetime(2016, 12, 1, tzinfo=UTC).timestamp())
    for bad in ("2016-02-30", "2016-1-01", "16-01-01", "2016-01-01T00:00", "", "1969-12-31",
                "\uff12\uff10\uff11\uff16-01-01"):
        with pytest.raises(RetentionRefused, match="date"):
            parse_cutoff(bad)


def test_the_minimum_retention_is_ten_years_by_default_and_never_below_five() -> None:
    assert get_settings().retention_years == 10
    assert get_settings(retention_years=5).retention_years == 5
    with pytest.raises(ApiConfigError, match="at least 5"):
        get_settings(retention_years=4)


def test_a_deleted_reading_has_no_proof_and_is_not_stored_again(fleet: Fleet) -> None:
    trees = TreeCache()
    deleted = fleet.sent[(TEST_KEY.address, 0)]
    keys = [(r.reading.meter, r.reading.seq) for r in deleted]
    with Session(fleet.engine) as session:  # served once before: its tree is in the cache
        assert proof_bundle(session, TEST_KEY.address, keys[:1], TEST_DOMAIN, None, trees)
    run_purge(fleet.engine)
    with Session(fleet.engine) as session, pytest.raises(ProofUnavailable) as missing:
        proof_bundle(session, TEST_KEY.address, keys[:1], TEST_DOMAIN, None, trees)
    assert missing.value.status == 404
    # Sent again, the deleted readings are refused (not new leaves that would break the
    # device's next batch); a reading of a kept batch is still a duplicate.
    kept = fleet.sent[(TEST_KEY.address, 2)][0]
    assert fleet.deliver([*deleted, kept], TEST_KEY) == [Status.REJECTED] * 3 + [
        Status.DUPLICATE]
    # The device's stream goes on: its next batch is accepted.
    assert fleet.batch(TEST_KEY, year(2026), "unanchored") == 5
