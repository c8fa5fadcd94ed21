"""The data-quality summary (ledger_api.quality): received and missing readings per meter,
unbatched and unanchored ones, late ones, gap records by error class and conflicts, for an
ISA-95 node and a time range, on both databases."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
from ledger_support import StaticDevices
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from factories import OTHER_KEY, TEST_DOMAIN, TEST_KEY
from ledger_api.db.models import BatchRow
from ledger_api.errors import RequestRefused
from ledger_api.ingest.service import ingest
from ledger_api.quality import quality
from mrv_core.batch import SignedBatchHeader
from mrv_core.reading import Reading, meter_id
from mrv_core.records import Gap
from mrv_core.uplink import UplinkItem, UplinkRequest

SITE = "demo-co/wuxi-plant"
M1, M2, ELSEWHERE = f"{SITE}/a/l1/m1", f"{SITE}/a/l1/m2", "demo-co/wuxi-plant2/a/l1/m1"
T0 = 1_780_000_000


def reading(path: str, seq: int, value: int = 0) -> object:
    return TEST_KEY.sign_reading(Reading(TEST_KEY.address, meter_id(path), seq, T0 + 60 * seq,
                                         "energy.active.import:Wh", value,
                                         bytes([seq % 256]) * 32), TEST_DOMAIN, path)


def gap(path: str, at: int, polls: int, error: str) -> object:
    record = Gap(device=TEST_KEY.address, meter=meter_id(path),
                 quantity="energy.active.import:Wh", next_seq=0, from_timestamp=at,
                 to_timestamp=at + 30, failed_polls=polls, error_class=error,
                 salt=bytes([polls]) * 32)
    return TEST_KEY.sign_record(record, TEST_DOMAIN, path)


def send(engine: Engine, items: list[object], now: datetime) -> None:
    with Session(engine) as session, session.begin():
        ingest(session, UplinkRequest.of(TEST_KEY.address, TEST_DOMAIN,
                                         items),  # type: ignore[arg-type]
               StaticDevices({TEST_KEY.address}), TEST_DOMAIN, now=now)


def test_the_summary_counts_what_arrived_and_what_did_not(ledger_engine: Engine) -> None:
    prompt = datetime.fromtimestamp(T0 + 600, UTC)
    first = [reading(M1, s) for s in range(4)] + [reading(M2, s) for s in range(2)]
    batch = TEST_KEY.close_batch(0, first, TEST_DOMAIN)  # type: ignore[arg-type]
    assert batch.header_signature is not None
    items: list[UplinkItem] = [*first, SignedBatchHeader(batch.header,  # type: ignore[list-item]
                                                         batch.header_signature)]
    send(ledger_engine, items, prompt)
    # M1 seq 4 and 5 never arrive; 6 and 7 arrive a day late, unbatched; a reading elsewhere.
    send(ledger_engine, [reading(M1, 6), reading(M1, 7), reading(ELSEWHERE, 0),
                         gap(M1, T0 + 250, 2, "timeout"), gap(M1, T0 + 300, 3, "timeout"),
                         gap(M2, T0 + 100, 1, "illegal_address")],
         datetime.fromtimestamp(T0 + 86_400, UTC))
    other = dataclasses.replace(first[0], signature=first[1].signature)  # type: ignore[type-var]
    send(ledger_engine, [TEST_KEY.sign_reading(dataclasses.replace(
        other.reading, value=99), TEST_DOMAIN, M1)], prompt)  # a conflict on M1 seq 0
    with Session(ledger_engine) as session, session.begin():
        session.execute(update(BatchRow).values(anchor_state="final"))
    with Session(ledger_engine) as session:
        summary = quality(session, visible=None, path=SITE, time_from=T0,
                          time_to=T0 + 3600)
    by_path = {m.meter_path: m for m in summary.meters}
    assert set(by_path) == {M1, M2}  # not the sibling wuxi-plant2
    m1, m2 = by_path[M1], by_path[M2]
    assert (m1.received, m1.expected, m1.missing) == (6, 8, 2)
    assert (m1.unbatched, m1.unanchored, m1.late) == (2, 0, 2)
    assert (m2.received, m2.missing, m2.unbatched, m2.late) == (2, 0, 0, 0)
    assert summary.gap_records == {"timeout": 2, "illegal_address": 1}
    assert summary.failed_polls == {"timeout": 5, "illegal_address": 1}
    assert summary.conflicts == 1
    with Session(ledger_engine) as session:
        narrow = quality(session, visible=None, path=M1, time_from=T0, time_to=T0 + 120)
        assert [(m.received, m.expected) for m in narrow.meters] == [(3, 3)]
        assert quality(session, visible=set(), path=SITE, time_from=T0,
                       time_to=T0 + 3600).meters == ()


def test_a_bad_node_or_range_is_refused(ledger_engine: Engine) -> None:
    with Session(ledger_engine) as session:
        for kwargs, check in (({"path": "a//b"}, "path"),
                              ({"path": SITE, "time_from": 5, "time_to": 4}, "time")):
            args = {"path": SITE, "time_from": 0, "time_to": 1, **kwargs}
            with pytest.raises(RequestRefused) as caught:
                quality(session, visible=None, **args)  # type: ignore[arg-type]
            assert caught.value.check == check


def test_two_devices_reporting_one_meter_path_are_two_streams(ledger_engine: Engine) -> None:
    # A replaced or redundant gateway: each device numbers its own seqs from 0. Counted as one
    # meter, the seqs overlapped and "missing" went negative (a 500 on /v1/quality).
    now = datetime.fromtimestamp(T0 + 600, UTC)
    for key in (TEST_KEY, OTHER_KEY):
        items = [key.sign_reading(Reading(key.address, meter_id(M1), s, T0 + 60 * s,
                                          "energy.active.import:Wh", s, bytes([s + 1]) * 32),
                                  TEST_DOMAIN, M1) for s in range(5)]
        with Session(ledger_engine) as session, session.begin():
            ingest(session, UplinkRequest.of(key.address, TEST_DOMAIN, items),
                   StaticDevices({TEST_KEY.address, OTHER_KEY.address}), TEST_DOMAIN, now=now)
    with Session(ledger_engine) as session:
        summary = quality(session, visible=None, path=SITE, time_from=T0, time_to=T0 + 3600)
    assert sorted((m.device, m.meter_path, m.received, m.missing) for m in summary.meters) == \
        sorted((k.address, M1, 5, 0) for k in (TEST_KEY, OTHER_KEY))
