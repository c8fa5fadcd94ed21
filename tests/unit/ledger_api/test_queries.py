"""Read queries (ledger_api.queries): cursor pages that neither skip nor repeat, ISA-95 path
prefixes that stop at a level boundary, time ranges, visibility, and typed refusals."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest
from ledger_support import StaticDevices
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from factories import OTHER_KEY, TEST_DOMAIN, TEST_KEY
from ledger_api.errors import RequestRefused
from ledger_api.ingest.service import ingest
from ledger_api.queries import readings, seq_gaps
from mrv_core.keys import DeviceKey
from mrv_core.reading import Reading, SignedReading, meter_id
from mrv_core.uplink import UplinkRequest

PATHS = ("demo-co/wuxi-plant/a/l1/m1", "demo-co/wuxi-plant/a/l2/m2",
         "demo-co/wuxi-plant2/a/l1/m1", "demo-co/wuxi/a/l1/m1")
T0 = 1_780_000_000


def store(engine: Engine, key: DeviceKey, seqs: range, paths: tuple[str, ...] = PATHS) -> None:
    items = [key.sign_reading(Reading(key.address, meter_id(p), seq, T0 + seq,
                                      "energy.active.import:Wh", seq, bytes([seq, m]) * 16),
                              TEST_DOMAIN, p)
             for seq in seqs for m, p in enumerate(paths)]
    with Session(engine) as session, session.begin():
        ingest(session, UplinkRequest.of(key.address, TEST_DOMAIN, items),
               StaticDevices({TEST_KEY.address, OTHER_KEY.address}), TEST_DOMAIN,
               now=datetime.now(UTC))


def ids(items: object) -> list[tuple[str, int, bytes]]:
    return [(i.signed.meter_path, i.signed.reading.seq, i.signed.reading.device)
            for i in items]  # type: ignore[attr-defined]


@pytest.mark.parametrize("limit", [1, 3, 7, 1000])
def test_pages_cover_every_reading_once_in_index_order(ledger_engine: Engine,
                                                       limit: int) -> None:
    store(ledger_engine, TEST_KEY, range(5))
    store(ledger_engine, OTHER_KEY, range(2))
    with Session(ledger_engine) as session:
        everything = readings(session, visible=None, limit=1000)
        assert everything.next is None and len(everything.items) == 28
        expected = sorted(ids(everything.items), key=lambda i: (i[0], i[1], i[2]))
        assert ids(everything.items) == expected
        collected, cursor = [], None
        while True:
            page = readings(session, visible=None, cursor=cursor, limit=limit)
            collected += ids(page.items)
            if page.next is None:
                break
            cursor = page.next
        assert collected == expected


def test_a_path_prefix_stops_at_a_level_boundary(ledger_engine: Engine) -> None:
    store(ledger_engine, TEST_KEY, range(2))
    with Session(ledger_engine) as session:
        paths = {i[0] for i in ids(readings(session, visible=None,
                                            path_prefix="demo-co/wuxi-plant").items)}
        assert paths == {PATHS[0], PATHS[1]}  # not wuxi-plant2, not wuxi
        whole = readings(session, visible=None, path_prefix=PATHS[2]).items
        assert {i[0] for i in ids(whole)} == {PATHS[2]}


def test_time_range_and_visibility(ledger_engine: Engine) -> None:
    store(ledger_engine, TEST_KEY, range(6))
    store(ledger_engine, OTHER_KEY, range(6))
    with Session(ledger_engine) as session:
        page = readings(session, visible={OTHER_KEY.address}, time_from=T0 + 2, time_to=T0 + 3)
        assert {(i[1], i[2]) for i in ids(page.items)} == {(2, OTHER_KEY.address),
                                                           (3, OTHER_KEY.address)}
        assert len(page.items) == 8
        assert readings(session, visible=set()).items == ()


def test_malformed_requests_are_refused_naming_the_check(ledger_engine: Engine) -> None:
    with Session(ledger_engine) as session:
        past_int64 = base64.urlsafe_b64encode(
            json.dumps(["a", 0, "00", 2**63]).encode()).decode().rstrip("=")
        for kwargs, check in (({"cursor": "not-a-cursor"}, "cursor"),
                              ({"cursor": past_int64}, "cursor"),
                              ({"path_prefix": "demo-co//x"}, "path"),
                              ({"path_prefix": "a/b/c/d/e/f"}, "path"),
                              ({"limit": 0}, "limit"), ({"limit": 1001}, "limit"),
                              ({"time_from": 5, "time_to": 4}, "time")):
            with pytest.raises(RequestRefused) as caught:
                readings(session, visible=None, **kwargs)  # type: ignore[arg-type]
            assert caught.value.status == 400 and caught.value.check == check


def test_seq_gaps_are_listed_per_meter(ledger_engine: Engine) -> None:
    store(ledger_engine, TEST_KEY, range(0, 1), PATHS[:1])
    store(ledger_engine, TEST_KEY, range(4, 5), PATHS[:1])
    with Session(ledger_engine) as session:
        gaps = seq_gaps(session, visible=None)
        assert [(g.meter, g.from_seq, g.to_seq) for g in gaps] == [(meter_id(PATHS[0]), 1, 3)]
        assert seq_gaps(session, visible={OTHER_KEY.address}) == []


def test_a_stored_reading_comes_back_as_it_was_signed(ledger_engine: Engine) -> None:
    store(ledger_engine, TEST_KEY, range(1), PATHS[:1])
    with Session(ledger_engine) as session:
        (item,) = readings(session, visible=None).items
    assert isinstance(item.signed, SignedReading) and item.position == 0 and item.batch_seq is None
    assert item.signed.reading.value == 0 and item.signed.meter_path == PATHS[0]
