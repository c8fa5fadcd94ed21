"""Ingest (ledger_api.ingest.service): verdicts, idempotency, conflicts, batches, atomicity."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ledger_support import StaticDevices
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session

from factories import METER_PATHS, OTHER_KEY, TEST_DOMAIN, TEST_KEY, signed_records
from ledger_api.db.models import (
    Base,
    BatchRow,
    ConflictRow,
    LeafRow,
    MeterStreamRow,
    ReadingRow,
    RecordRow,
    RejectionRow,
    SeqGapRow,
)
from ledger_api.errors import IngestRefused
from ledger_api.ingest import service
from ledger_api.ingest.service import IngestResult, ingest
from mrv_core.batch import SignedBatchHeader
from mrv_core.eip712 import Domain, reading_digest
from mrv_core.keys import DeviceKey
from mrv_core.reading import Reading, SignedReading, meter_id
from mrv_core.uplink import Status, UplinkItem, UplinkRequest

NOW = datetime(2026, 11, 30, tzinfo=UTC)
T0 = 1_780_000_000
QUANTITY = "energy.active.import:Wh"


def readings(per_meter: int, *, meters: int = 2, first_seq: int = 0, key: DeviceKey = TEST_KEY,
             value: int = 1_000, salt: bytes = b"\x11" * 32) -> list[SignedReading]:
    """Signed readings with contiguous seqs per meter, one a second."""
    out = []
    for seq in range(first_seq, first_seq + per_meter):
        for m in range(meters):
            path = METER_PATHS[m]  # three paths
            reading = Reading(device=key.address, meter=meter_id(path), seq=seq,
                              timestamp=T0 + seq, quantity=QUANTITY, value=value + seq,
                              salt=salt)
            out.append(key.sign_reading(reading, TEST_DOMAIN, path))
    return out


def header(batch_seq: int, leaves: Sequence[SignedReading], records: Sequence[object] = (),
           key: DeviceKey = TEST_KEY) -> SignedBatchHeader:
    batch = key.close_batch(batch_seq, leaves, TEST_DOMAIN, records)  # type: ignore[arg-type]
    assert batch.header_signature is not None
    return SignedBatchHeader(batch.header, batch.header_signature)


def run(engine: Engine, items: Sequence[UplinkItem], devices: StaticDevices | None = None,
        domain: Domain = TEST_DOMAIN) -> list[Status]:
    devices = devices or StaticDevices({TEST_KEY.address})
    with Session(engine) as session, session.begin():
        result: IngestResult = ingest(session, UplinkRequest.of(TEST_KEY.address, domain, items),
                                      devices, TEST_DOMAIN, now=NOW)
    return [v.status for v in result.verdicts]


def reasons(engine: Engine, items: Sequence[UplinkItem]) -> list[str | None]:
    with Session(engine) as session, session.begin():
        result = ingest(session, UplinkRequest.of(TEST_KEY.address, TEST_DOMAIN, items),
                        StaticDevices({TEST_KEY.address}), TEST_DOMAIN, now=NOW)
    return [v.reason for v in result.verdicts]


def count(engine: Engine, table: type[object]) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(table)) or 0


def test_readings_records_and_their_header_are_accepted_and_the_leaves_batched(
        ledger_engine: Engine) -> None:
    sent = readings(5)
    records = signed_records(4, domain=TEST_DOMAIN)
    statuses = run(ledger_engine, [*sent, *records, header(0, sent, records)])
    assert statuses == [Status.ACCEPTED] * 15
    with Session(ledger_engine) as session:
        assert session.scalars(select(LeafRow.batch_seq)).all() == [0] * 14
        batch = session.get(BatchRow, (TEST_KEY.address, 0))
        assert batch is not None and batch.leaf_count == 14
        assert session.scalar(select(func.count()).select_from(SeqGapRow)) == 0


def test_a_replayed_request_is_all_duplicate_and_stores_nothing_new(ledger_engine: Engine) -> None:
    sent = readings(3)
    records = signed_records(2, domain=TEST_DOMAIN)
    items = [*sent, *records, header(0, sent, records)]
    run(ledger_engine, items)
    before = [count(ledger_engine, t) for t in (LeafRow, ReadingRow, RecordRow, BatchRow)]
    assert run(ledger_engine, items) == [Status.DUPLICATE] * len(items)
    assert [count(ledger_engine, t) for t in (LeafRow, ReadingRow, RecordRow, BatchRow)] == before


def test_another_reading_under_a_held_key_is_a_conflict_kept_as_evidence(
        ledger_engine: Engine) -> None:
    run(ledger_engine, readings(2, meters=1))
    other = readings(1, meters=1, first_seq=1, value=999_999)
    assert run(ledger_engine, other) == [Status.CONFLICT]
    assert run(ledger_engine, other) == [Status.CONFLICT]  # the sender retries: kept once
    with Session(ledger_engine) as session:
        conflict = session.scalars(select(ConflictRow)).one()
        assert conflict.kind == "reading" and "seq 1" in conflict.identity
        held = session.scalars(select(ReadingRow.value).where(ReadingRow.seq == 1)).one()
    assert held == 1_001  # the held reading is never overwritten


def test_a_reading_signed_by_another_key_is_rejected_once_as_evidence(
        ledger_engine: Engine) -> None:
    good = readings(1, meters=1)[0]
    forged = dataclasses.replace(good, signature=OTHER_KEY.sign_digest(
        reading_digest(good.reading, TEST_DOMAIN)))
    assert reasons(ledger_engine, [forged])[0].startswith("signature: seq 0: signed by 0x2B5A")
    run(ledger_engine, [forged])
    assert count(ledger_engine, RejectionRow) == 1
    assert count(ledger_engine, ReadingRow) == 0


def test_a_reading_outside_the_device_s_active_time_is_rejected(ledger_engine: Engine) -> None:
    devices = StaticDevices({TEST_KEY.address}, {TEST_KEY.address: (T0, T0 + 1)})
    statuses = run(ledger_engine, readings(3, meters=1), devices)
    assert statuses == [Status.ACCEPTED, Status.ACCEPTED, Status.REJECTED]


def test_a_device_never_registered_is_refused_as_a_whole_with_403(ledger_engine: Engine) -> None:
    with pytest.raises(IngestRefused) as caught:
        run(ledger_engine, readings(1), StaticDevices(set()))
    assert caught.value.status == 403 and caught.value.check == "device"
    assert count(ledger_engine, LeafRow) == 0


def test_items_signed_for_another_deployment_are_refused_with_400(ledger_engine: Engine) -> None:
    other = Domain(chain_id=1, verifying_contract=TEST_DOMAIN.verifying_contract)
    with pytest.raises(IngestRefused) as caught:
        run(ledger_engine, readings(1), domain=other)
    assert caught.value.status == 400 and caught.value.check == "domain"


def test_a_header_whose_root_its_leaves_do_not_rebuild_is_rejected(ledger_engine: Engine) -> None:
    sent = readings(2)
    run(ledger_engine, sent)
    elsewhere = readings(2, salt=b"\x22" * 32)  # same keys, other leaves: another root
    reason = reasons(ledger_engine, [header(0, elsewhere)])[0]
    assert reason is not None and reason.startswith("root: the header's root 0x")
    assert count(ledger_engine, BatchRow) == 0
    assert run(ledger_engine, [header(0, sent)]) == [Status.ACCEPTED]


@pytest.mark.parametrize("shift", [(-1, 0), (0, 1)], ids=["starts-early", "ends-late"])
def test_a_header_whose_time_span_is_not_its_leaves_is_rejected(
        ledger_engine: Engine, shift: tuple[int, int]) -> None:
    sent = readings(3)  # timestamps T0 .. T0 + 2
    run(ledger_engine, sent)
    honest = header(0, sent).header
    wrong = dataclasses.replace(honest, from_timestamp=honest.from_timestamp + shift[0],
                                to_timestamp=honest.to_timestamp + shift[1])
    signed = SignedBatchHeader(wrong, TEST_KEY.sign_batch(wrong, TEST_DOMAIN))
    assert reasons(ledger_engine, [signed]) == [
        f"timespan: the header spans [{wrong.from_timestamp}, {wrong.to_timestamp}], its "
        f"leaves [{T0}, {T0 + 2}]"]
    assert count(ledger_engine, BatchRow) == 0
    assert run(ledger_engine, [header(0, sent)]) == [Status.ACCEPTED]


def test_a_header_needs_its_leaves_and_the_next_batch_seq(ledger_engine: Engine) -> None:
    first, second = readings(2), readings(2, first_seq=2)
    assert reasons(ledger_engine, [header(0, first)]) == [
        "leaves: the header counts 4 leaves; the ledger holds 0"]
    run(ledger_engine, first)
    assert reasons(ledger_engine, [header(1, first)]) == [
        "batch_seq: expected batchSeq 0 (the next after the ledger's last), got 1"]
    assert run(ledger_engine, [header(0, first), *second, header(1, second)]) == (
        [Status.ACCEPTED] * 6)


def test_seqs_skipped_are_recorded_and_narrowed_when_they_arrive(ledger_engine: Engine) -> None:
    sent = readings(6, meters=1)
    run(ledger_engine, [sent[0], sent[4]])

    def gaps() -> list[tuple[int, int]]:
        with Session(ledger_engine) as session:
            return [(g.from_seq, g.to_seq) for g in
                    session.scalars(select(SeqGapRow).order_by(SeqGapRow.from_seq))]

    assert gaps() == [(1, 3)]
    run(ledger_engine, [sent[2]])
    assert gaps() == [(1, 1), (3, 3)]
    run(ledger_engine, [sent[1], sent[3], sent[5]])
    assert gaps() == []


def test_a_reading_twice_in_one_request_is_a_duplicate_and_another_under_its_key_a_conflict(
        ledger_engine: Engine) -> None:
    first, second = readings(2, meters=1)
    other = readings(1, meters=1, value=7)[0]  # seq 0 again, another value
    assert run(ledger_engine, [first, second, first, other]) == \
        [Status.ACCEPTED, Status.ACCEPTED, Status.DUPLICATE, Status.CONFLICT]
    assert count(ledger_engine, ReadingRow) == 2 and count(ledger_engine, ConflictRow) == 1


def test_a_failure_midway_leaves_nothing_half_written(ledger_engine: Engine,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    sent = readings(3)

    def fail(self: object, entries: object) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(service._Batches, "store", fail)
    with pytest.raises(RuntimeError):
        run(ledger_engine, [*sent, header(0, sent)])
    assert [count(ledger_engine, t) for t in (LeafRow, ReadingRow, BatchRow)] == [0, 0, 0]
    monkeypatch.undo()
    assert run(ledger_engine, [*sent, header(0, sent)]) == [Status.ACCEPTED] * 7


def test_concurrent_requests_of_one_device_apply_one_after_the_other(
        ledger_engine: Engine) -> None:
    """Two workers ingesting the same device at once (threads, each its own connection): the
    stream row lock serialises them, so every reading is stored once with its own position and
    the replay in the loser's request is a duplicate, on both databases."""
    import threading

    sent = readings(60, meters=3)
    halves = [sent[:120], sent[80:]]  # 40 readings in both
    results: list[list[Status]] = []
    errors: list[BaseException] = []

    def worker(items: list[SignedReading]) -> None:
        try:
            results.append(run(ledger_engine, items))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(half,)) for half in halves]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    statuses = [s for result in results for s in result]
    assert statuses.count(Status.ACCEPTED) == 180 and statuses.count(Status.DUPLICATE) == 40
    with Session(ledger_engine) as session:
        positions = session.scalars(select(LeafRow.position).order_by(LeafRow.position)).all()
    assert positions == list(range(180))


_POOL = {m: readings(16, meters=2)[m::2] for m in range(2)}  # meter -> readings by seq


def _expected_runs(held: set[int]) -> list[tuple[int, int]]:
    """The maximal runs of seqs below the highest held that are not held."""
    runs: list[tuple[int, int]] = []
    for seq in sorted(set(range(max(held, default=-1) + 1)) - held):
        if runs and runs[-1][1] + 1 == seq:
            runs[-1] = (runs[-1][0], seq)
        else:
            runs.append((seq, seq))
    return runs


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(st.tuples(st.integers(0, 1), st.integers(0, 15)), min_size=1,
                         max_size=8), min_size=1, max_size=5))
def test_stored_seq_gaps_and_max_seqs_follow_every_request_whatever_the_order(
        ledger_engine: Engine, requests: list[list[tuple[int, int]]]) -> None:
    with Session(ledger_engine) as session, session.begin():  # each example from empty
        for table in reversed(Base.metadata.sorted_tables):
            session.execute(delete(table))
    held: dict[int, set[int]] = {0: set(), 1: set()}
    for request in requests:
        run(ledger_engine, [_POOL[m][seq] for m, seq in request])
        for m, seq in request:
            held[m].add(seq)
        with Session(ledger_engine) as session:
            gaps = session.execute(select(SeqGapRow.meter, SeqGapRow.from_seq, SeqGapRow.to_seq)
                                   .order_by(SeqGapRow.meter, SeqGapRow.from_seq)).all()
            streams = {meter: max_seq for meter, max_seq in session.execute(
                select(MeterStreamRow.meter, MeterStreamRow.max_seq))}
        for m in (0, 1):
            meter = _POOL[m][0].reading.meter
            assert [(f, t) for g, f, t in gaps if g == meter] == _expected_runs(held[m])
            assert streams.get(meter) == max(held[m], default=None)
