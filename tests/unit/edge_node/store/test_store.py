"""The edge store: connection settings, schema versioning, binding to one device, exact int256
values, the (device, meter, seq) uniqueness, records, and the uplink's cursor protocol."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from unit.edge_node.support import METER, energy, power

from accounting_rules.counters import RolloverRule
from edge_node.errors import SchemaTooNew, StoreError, StoreMismatch
from edge_node.signing import ReadingSigner, Sample
from edge_node.store import (
    SCHEMA_VERSION,
    NewRecord,
    Store,
    StoreUplink,
    pack_registers,
    position,
    unpack_registers,
)
from edge_node.store.models import LeafRow, ReadingRow
from edge_node.store.queries import readings, records
from factories import OTHER_KEY, TEST_DOMAIN, TEST_KEY
from mrv_core.codec import INT256_MAX, INT256_MIN
from mrv_core.eip712 import Domain
from mrv_core.errors import InvalidReading


def _record(n: int, meter: str | None = METER) -> NewRecord:
    return NewRecord(kind="gap", leaf=bytes([n]) * 32, signature=bytes([n]) * 65,
                     wire=f'{{"kind":"gap","n":"{n}"}}', time_from=100 + n, time_to=110 + n,
                     meter_path=meter)


def test_connections_run_wal_full_sync_foreign_keys_and_a_busy_timeout(store: Store) -> None:
    with store.read() as session:
        conn = session.connection()
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar_one() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar_one() == 5000
        assert conn.exec_driver_sql("PRAGMA user_version").scalar_one() == SCHEMA_VERSION
    assert store.integrity_check() == ["ok"]


def test_a_store_of_a_newer_schema_is_refused_naming_both_versions(tmp_path: Path) -> None:
    path = tmp_path / "edge.sqlite"
    Store(path, TEST_KEY.address, TEST_DOMAIN).close()
    with sqlite3.connect(path) as raw:
        raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(SchemaTooNew, match=f"schema version {SCHEMA_VERSION + 1}.*up to "
                                           f"{SCHEMA_VERSION}"):
        Store(path, TEST_KEY.address, TEST_DOMAIN)


def test_a_store_opened_for_another_device_or_domain_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "edge.sqlite"
    Store(path, TEST_KEY.address, TEST_DOMAIN).close()
    with pytest.raises(StoreMismatch):
        Store(path, OTHER_KEY.address, TEST_DOMAIN)
    with pytest.raises(StoreMismatch) as caught:
        Store(path, TEST_KEY.address, Domain(1, TEST_DOMAIN.verifying_contract))
    # Names what differs in words, not as dictionaries, and what to do.
    assert (f"(chain id {TEST_DOMAIN.chain_id} in the store, 1 now)" in str(caught.value)
            and "mrv edge init in a new directory" in str(caught.value)
            and "{" not in str(caught.value))
    Store(path, TEST_KEY.address, TEST_DOMAIN).close()  # the right pair still opens


def test_the_polling_stop_survives_reopening_and_leaves_the_binding_alone(tmp_path: Path) -> None:
    path = tmp_path / "edge.sqlite"
    with Store(path, TEST_KEY.address, TEST_DOMAIN) as store:
        assert store.polling_stopped_at() is None
        with store.write() as session:
            store.set_polling_stopped_at(session, 1_700_000_000)
        with store.write() as session:
            store.set_polling_stopped_at(session, 1_700_000_005)  # a later stop replaces it
    with Store(path, TEST_KEY.address, TEST_DOMAIN) as store:  # still bound, stop kept
        assert store.polling_stopped_at() == 1_700_000_005
        with store.write() as session:
            store.set_polling_stopped_at(session, None)
    with pytest.raises(StoreMismatch):  # the binding is still checked beside the run state
        Store(path, OTHER_KEY.address, TEST_DOMAIN)
    with Store(path, TEST_KEY.address, TEST_DOMAIN) as store:
        assert store.polling_stopped_at() is None
        with store.write() as session:
            store.set_polling_stopped_at(session, None)  # clearing nothing is no error


@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(INT256_MIN, INT256_MAX), min_size=1, max_size=5)
       | st.just([INT256_MIN, INT256_MAX, -1, 0, 2**63, -(2**63) - 1]))
def test_int256_values_come_back_exactly(tmp_path_factory: pytest.TempPathFactory,
                                         values: list[int]) -> None:
    path = tmp_path_factory.mktemp("int256") / "edge.sqlite"
    with Store(path, TEST_KEY.address, TEST_DOMAIN) as store:
        signer = ReadingSigner(store, TEST_KEY)
        signer.sign_cycle([power(1000 + i, v) for i, v in enumerate(values)], now=0)
        assert [r.signed.reading.value for r in readings(store)] == values


def test_a_second_reading_with_the_same_device_meter_and_seq_is_refused(store: Store) -> None:
    ReadingSigner(store, TEST_KEY).sign_cycle([energy(1000, 5)], now=0)
    (stored,) = readings(store)
    with pytest.raises(IntegrityError), store.write() as session:
        session.execute(insert(LeafRow), [{"ordinal": 99, "device": TEST_KEY.address,
                                           "kind": "reading", "leaf": bytes(32),
                                           "time_from": 1, "time_to": 1, "committed_at": 0,
                                           "flags": 0}])
        session.execute(insert(ReadingRow), [{
            "ordinal": 99, "device": TEST_KEY.address, "meter_pk": 1,
            "seq": stored.signed.reading.seq, "timestamp": 1, "quantity": "power.active:W",
            "value": 1, "salt": bytes(32), "signature": bytes(65), "point": "p",
            "raw_registers": b"", "counter_event": None}])
    assert len(readings(store)) == 1


def test_records_are_stored_generically_and_come_back_as_they_went_in(store: Store) -> None:
    with store.write() as session:
        assert store.add_records(session, [_record(1), _record(2, meter=None)], now=5) == [1, 2]
    got = records(store)
    assert [(r.kind, r.leaf, r.signature, r.wire, r.meter_path, r.timestamp) for r in got] == [
        ("gap", bytes([1]) * 32, bytes([1]) * 65, '{"kind":"gap","n":"1"}', METER, 111),
        ("gap", bytes([2]) * 32, bytes([2]) * 65, '{"kind":"gap","n":"2"}', None, 112)]


def test_a_record_of_kind_reading_or_a_reversed_span_is_refused() -> None:
    with pytest.raises(ValueError, match="kind"):
        NewRecord(kind="reading", leaf=bytes(32), signature=bytes(65), wire="{}", time_from=1,
                  time_to=1)
    with pytest.raises(ValueError, match="reversed"):
        NewRecord(kind="gap", leaf=bytes(32), signature=bytes(65), wire="{}", time_from=2,
                  time_to=1)


def test_uplink_gives_readings_and_records_in_commit_order_after_any_cursor(store: Store) -> None:
    signer = ReadingSigner(store, TEST_KEY)
    signer.sign_cycle([energy(1000, 1), power(1000, 7)], now=0)        # ordinals 1, 2
    with store.write() as session:
        store.add_records(session, [_record(3)], now=0)                 # ordinal 3
    signer.sign_cycle([energy(1010, 2)], now=0)                         # ordinal 4
    uplink = StoreUplink(store)
    assert uplink.acknowledged_through("leaves") == -1
    assert [position(i) for i in uplink.items_after("leaves", 0, 10)] == [1, 2, 3, 4]
    assert [position(i) for i in uplink.items_after("leaves", 1, 2)] == [2, 3]
    uplink.acknowledge("leaves", 2)
    assert uplink.acknowledged_through("leaves") == 2
    after = uplink.items_after("leaves", uplink.acknowledged_through("leaves"), 10)
    assert [type(i).__name__ for i in after] == ["StoredRecord", "StoredReading"]


def test_acknowledgements_never_move_back_nor_past_the_last_item(store: Store) -> None:
    ReadingSigner(store, TEST_KEY).sign_cycle([energy(1000, 1), energy(1001, 2)], now=0)
    uplink = StoreUplink(store)
    uplink.acknowledge("leaves", 2)
    with pytest.raises(StoreError, match=r"\[2, 2\]"):
        uplink.acknowledge("leaves", 1)
    with pytest.raises(StoreError, match=r"\[2, 2\]"):
        uplink.acknowledge("leaves", 3)
    with pytest.raises(StoreError, match="unknown uplink stream"):
        uplink.acknowledge("readings", 1)  # type: ignore[arg-type]


def test_samples_out_of_range_are_refused_when_made() -> None:
    with pytest.raises(ValueError, match="negative"):
        energy(1000, -1)
    with pytest.raises(ValueError, match="2\\*\\*63"):
        Sample(meter_path=METER, point="p", quantity="power.active:W", timestamp=2**63, value=0,
               raw_registers=())
    with pytest.raises(ValueError, match="rollover rule needs a cumulative"):
        Sample(meter_path=METER, point="p", quantity="power.active:W", timestamp=1, value=0,
               raw_registers=(), rollover=RolloverRule(2**32, 1000))


def test_a_path_that_is_no_database_is_a_store_error(tmp_path: Path) -> None:
    (tmp_path / "garbage.sqlite").write_bytes(b"not a database, just text " * 100)
    with pytest.raises(StoreError, match=r"garbage\.sqlite"):
        Store(tmp_path / "garbage.sqlite", TEST_KEY.address, TEST_DOMAIN)
    with pytest.raises(StoreError):
        Store(tmp_path, TEST_KEY.address, TEST_DOMAIN)  # a directory


@given(st.lists(st.integers(0, 0xFFFF), max_size=8).map(tuple))
def test_registers_pack_to_two_big_endian_bytes_each_and_back(registers: tuple[int, ...]) -> None:
    packed = pack_registers(registers)
    assert len(packed) == 2 * len(registers) and unpack_registers(packed) == registers


@pytest.mark.parametrize("bad", [65536, -1, 1.0, "1"])
def test_a_register_outside_16_bits_or_not_an_int_is_refused_by_name(bad: object) -> None:
    with pytest.raises(InvalidReading, match=r"\[0, 65535\], got"):
        pack_registers((1, bad))  # type: ignore[arg-type]
