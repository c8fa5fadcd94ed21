"""Retention (ledger_api.retention): a purge deletes exactly the final batches of one enterprise
whose data ended before the cutoff, with their readings, records, leaves and anchors, in one
transaction, logged once; a dry run changes nothing; a cutoff younger than the minimum
retention, a missing reason and an unknown enterprise are refused; a deleted reading has no
proof (404) and cannot come back. On SQLite and on a real PostgreSQL.

The data arrives through the real ingest (signed readings, records and headers), from the
fleet of ``retention_support`` (whose docstring says what it sets by hand and why).
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
from retention_support import (
    EXPECTED_COUNTS,
    FOURTH_KEY,
    NOW,
    PURGED,
    PURGED_RANGES,
    A,
    B,
    Fleet,
    year,
)
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from structlog.testing import capture_logs

from factories import OTHER_KEY, TEST_DOMAIN, TEST_KEY
from ledger_api.db.engine import make_sessions
from ledger_api.db.models import (
    AnchorRow,
    BatchRow,
    DeviceStreamRow,
    LeafRow,
    ReadingRow,
    RecordRow,
    RejectionRow,
    RetentionPurgeRow,
)
from ledger_api.errors import ApiConfigError, ProofUnavailable, RetentionRefused
from ledger_api.proofs import TreeCache, proof_bundle
from ledger_api.retention import Purge, latest_cutoff, parse_cutoff, purge, purge_log
from ledger_api.settings import get_settings
from mrv_core.codec import format_address
from mrv_core.reading import SignedReading
from mrv_core.uplink import Status

TABLES = (ReadingRow, RecordRow, LeafRow, AnchorRow, BatchRow)
TABLE_NAMES = [model.__tablename__ for model in TABLES]


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


def test_a_dry_run_reports_what_would_go_and_changes_nothing(fleet: Fleet) -> None:
    before = snapshot(fleet.engine)
    report = run_purge(fleet.engine, confirm=False)
    assert report.dry_run and report.audit_id is None
    assert report.counts == EXPECTED_COUNTS
    assert report.kept == {"mismatch": 1, "unanchored": 1}
    assert snapshot(fleet.engine) == before


def test_a_purge_deletes_exactly_the_final_batches_past_the_cutoff_of_one_enterprise_once(
        fleet: Fleet) -> None:
    before = snapshot(fleet.engine)
    with capture_logs() as logs:
        report = run_purge(fleet.engine)
    after = snapshot(fleet.engine)
    assert [(e["event"], e["audit_id"], e["readings"], e["enterprise"]) for e in logs] == [
        ("retention_purge", report.audit_id, 12, format_address(A))]
    assert before["batch_keys"] - after["batch_keys"] == PURGED  # type: ignore[operator]
    assert (OTHER_KEY.address, 0) in after["batch_keys"]  # type: ignore[operator]
    assert report.counts == EXPECTED_COUNTS
    assert {(r.device, r.first, r.last) for r in report.ranges} == PURGED_RANGES
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
    # Run again: nothing left to delete, no second audit row, the first one untouched.
    again = run_purge(fleet.engine)
    assert again.counts == dict.fromkeys(TABLE_NAMES, 0) and again.audit_id is None
    with Session(fleet.engine) as session:
        assert [r.id for r in purge_log(session, A)] == [row.id] and purge_log(session, B) == []


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
    deleted = fleet.sent[(TEST_KEY.address, 0)]  # three readings and a gap record
    keys = [(r.reading.meter, r.reading.seq) for r in deleted if isinstance(r, SignedReading)]
    with Session(fleet.engine) as session:  # served once before: its tree is in the cache
        assert proof_bundle(session, TEST_KEY.address, keys[:1], TEST_DOMAIN, None, trees)
    run_purge(fleet.engine)
    with Session(fleet.engine) as session, pytest.raises(ProofUnavailable) as missing:
        proof_bundle(session, TEST_KEY.address, keys[:1], TEST_DOMAIN, None, trees)
    assert missing.value.status == 404
    # Sent again, the deleted readings are refused (not new leaves that would break the
    # device's next batch); a reading of a kept batch is still a duplicate.
    kept = fleet.sent[(TEST_KEY.address, 2)][0]
    statuses = fleet.deliver([*deleted, kept], TEST_KEY)  # the request puts readings first
    assert statuses == [Status.REJECTED] * 3 + [Status.DUPLICATE, Status.REJECTED]
    with Session(fleet.engine) as session:
        checks = session.scalars(select(RejectionRow.check)).all()
    assert checks == ["retention"] * 4  # kept as evidence, naming the check
    # The device's stream goes on: its next batch is accepted.
    assert fleet.batch(TEST_KEY, year(2026), "unanchored") == 5


def test_a_deleted_seq_signed_again_with_a_later_time_is_rejected_not_a_500(fleet: Fleet) -> None:
    deleted = [r for r in fleet.sent[(TEST_KEY.address, 0)] if isinstance(r, SignedReading)]
    run_purge(fleet.engine)
    old = deleted[0]
    # The device's key signs the deleted (meter, seq) again, with a time after the purged data.
    again = TEST_KEY.sign_reading(dataclasses.replace(old.reading, timestamp=year(2026),
                                                      value=7), TEST_DOMAIN, old.meter_path)
    assert fleet.deliver([again], TEST_KEY) == [Status.REJECTED]
    with Session(fleet.engine) as session:
        assert session.scalars(select(RejectionRow.check)).all() == ["retention"]
