"""The uplink's health check (``edge_node.uplink.health``): a stored item changed after signing
is found and named (device, meter, seq), whatever field was changed; the verdict fails for a
refusal, an old backlog or an invalid item and only then; the client's refusal state holds
from the first refusal until a delivery (a state machine, property-tested)."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry
from structlog.testing import capture_logs

from edge_node.batching import Batcher, BatchingSettings
from edge_node.errors import UplinkItemInvalid
from edge_node.signing import ReadingSigner
from edge_node.signing import Sample as SignerSample
from edge_node.signing.records import new_record
from edge_node.store import Store, StoreUplink
from edge_node.store.items import StoredBatch, StoredReading, StoredRecord
from edge_node.uplink import UplinkHealth, UplinkMetrics, UplinkSettings, UplinkWatch
from edge_node.uplink.health import Backlog, inspect_backlog, uplink_verdict, verify_stored
from factories import METER_PATHS, OTHER_KEY, TEST_DOMAIN, TEST_KEY, signed_records
from mrv_core.codec import format_address

T0 = 1_767_225_600
DEVICE = format_address(TEST_KEY.address)


def fill(store: Store, cycles: int = 4) -> None:
    """``cycles`` poll cycles of three meters one minute apart (committed at their own time),
    two signed records, every leaf batched by ten."""
    signer = ReadingSigner(store, TEST_KEY)
    for cycle in range(cycles):
        t = T0 + 60 * cycle
        signer.sign_cycle([SignerSample(meter_path=path, point="import_energy",
                                        quantity="energy.active.import:Wh", timestamp=t,
                                        value=1000 * cycle + i, raw_registers=(0, cycle))
                           for i, path in enumerate(METER_PATHS)], now=t)
    with store.write() as session:
        store.add_records(session, [new_record(r) for r in signed_records(2)],
                          now=T0 + 60 * cycles)
    Batcher(store, TEST_KEY, settings=BatchingSettings(max_leaves=10)).close_due(
        now=T0 + 60 * cycles, force=True)


def heads(store: Store) -> tuple[StoredReading, StoredRecord, StoredBatch]:
    source = StoreUplink(store)
    leaves = source.items_after("leaves", -1, 1000)
    reading = next(i for i in leaves if isinstance(i, StoredReading))
    record = next(i for i in leaves if isinstance(i, StoredRecord))
    batch = source.items_after("batches", -1, 1)[0]
    assert isinstance(batch, StoredBatch)
    return reading, record, batch


def test_every_honest_item_verifies(store: Store) -> None:
    fill(store)
    source = StoreUplink(store)
    for stream in ("leaves", "batches"):
        for item in source.items_after(stream, -1, 1000):
            verify_stored(item, TEST_KEY.address, TEST_DOMAIN)


@pytest.mark.parametrize("field", ["value", "timestamp", "seq", "salt", "quantity"])
def test_a_reading_changed_after_signing_is_named_by_device_meter_and_seq(
        store: Store, field: str) -> None:
    fill(store)
    reading, _, _ = heads(store)
    honest = reading.signed.reading
    changed = {"value": honest.value + 1, "timestamp": honest.timestamp - 60,
               "seq": honest.seq + 7, "salt": bytes(32), "quantity": "energy.active.export:Wh"}
    forged = dataclasses.replace(reading, signed=dataclasses.replace(
        reading.signed, reading=dataclasses.replace(honest, **{field: changed[field]})))
    with pytest.raises(UplinkItemInvalid) as caught:
        verify_stored(forged, TEST_KEY.address, TEST_DOMAIN)
    seq = changed["seq"] if field == "seq" else honest.seq
    assert caught.value.item == (f"reading device {DEVICE} meter {reading.signed.meter_path} "
                                 f"seq {seq} (leaf {reading.ordinal})")
    assert "fails its own verification" in str(caught.value)


def test_a_changed_leaf_hash_record_or_header_is_named(store: Store) -> None:
    fill(store)
    reading, record, batch = heads(store)
    with pytest.raises(UplinkItemInvalid, match="its leaf hash is 0x"):
        verify_stored(dataclasses.replace(reading, leaf=bytes(32)), TEST_KEY.address,
                      TEST_DOMAIN)
    forged_wire = record.wire.replace('"failedPolls":"', '"failedPolls":"1') \
        if '"failedPolls":"' in record.wire else record.wire.replace('"salt":"0x', '"salt":"0x1')
    assert forged_wire != record.wire
    with pytest.raises(UplinkItemInvalid, match=rf"{record.kind} record device {DEVICE} meter "):
        verify_stored(dataclasses.replace(record, wire=forged_wire), TEST_KEY.address,
                      TEST_DOMAIN)
    header = dataclasses.replace(batch.header, leaf_count=batch.header.leaf_count + 1)
    with pytest.raises(UplinkItemInvalid, match=f"batch header device {DEVICE} batchSeq 0"):
        verify_stored(dataclasses.replace(batch, header=header), TEST_KEY.address, TEST_DOMAIN)
    with pytest.raises(UplinkItemInvalid, match="it names device"):
        verify_stored(reading, OTHER_KEY.address, TEST_DOMAIN)


def test_a_reading_tampered_in_the_sqlite_file_is_found_at_the_head_of_the_backlog(
        store: Store) -> None:
    fill(store)
    source = StoreUplink(store)
    source.acknowledge("leaves", 3)
    source.acknowledge("batches", 0)
    backlog = inspect_backlog(store, TEST_DOMAIN)
    assert backlog.invalid is None and backlog.oldest_at == T0 + 60  # leaf 4: the 2nd cycle
    connection = sqlite3.connect(store.path)
    with connection:
        connection.execute("UPDATE readings SET value = '999999' WHERE ordinal = 4")
    connection.close()
    head = source.head("leaves")
    assert head is not None and isinstance(head[0], StoredReading)
    invalid = inspect_backlog(store, TEST_DOMAIN).invalid
    assert invalid is not None and invalid.startswith(
        f"reading device {DEVICE} meter {head[0].signed.meter_path} "
        f"seq {head[0].signed.reading.seq} (leaf 4) fails its own verification: ")
    assert invalid.endswith("(the uplink is stalled before leaves position 4)")
    assert len(source.items_after("leaves", 3, 1000)) == 11  # nothing skipped, nothing deleted


def test_a_head_that_does_not_even_load_is_invalid(store: Store) -> None:
    fill(store)
    connection = sqlite3.connect(store.path)
    with connection:
        connection.execute("UPDATE readings SET salt = x'00' WHERE ordinal = 1")
    connection.close()
    invalid = inspect_backlog(store, TEST_DOMAIN).invalid
    assert invalid is not None and invalid.startswith(
        "the leaves item after position -1 does not load: ")


def test_the_verdict_fails_for_each_stall_and_only_then() -> None:
    fresh = Backlog(items=5, oldest_at=1000, invalid=None)
    health = UplinkHealth()
    assert uplink_verdict(health, fresh, max_age_s=900, now=1899) == (
        True, "5 items waiting, the oldest 899 s old")
    assert uplink_verdict(health, None, max_age_s=900, now=0) == (True, "not checked yet")
    health.on_unavailable("connection refused")
    ok, detail = uplink_verdict(health, fresh, max_age_s=900, now=1899)
    assert ok and "retrying: connection refused" in detail
    ok, detail = uplink_verdict(health, fresh, max_age_s=900, now=1901)
    assert not ok and detail == ("backlog_age: the oldest undelivered item was committed 901 s "
                                 "ago (threshold 900 s)")
    health.on_refused("HTTP 403: forbidden")
    ok, detail = uplink_verdict(health, fresh, max_age_s=900, now=1000)
    assert not ok and "HTTP 403: forbidden" in detail and detail.startswith("refused for ")
    ok, detail = uplink_verdict(None, dataclasses.replace(fresh, invalid="reading X"),
                                max_age_s=900, now=1000)
    assert (ok, detail) == (False, "invalid_item: reading X")
    health.on_delivered()
    assert uplink_verdict(health, Backlog(0, None, None), max_age_s=900, now=5000) == (
        True, "0 items waiting")


@given(st.lists(st.sampled_from(["refused", "unavailable", "delivered"]), max_size=30))
def test_a_refusal_holds_from_its_first_event_until_a_delivery(events: list[str]) -> None:
    health = UplinkHealth()
    first_refusal: float | None = None
    for event in events:
        if event == "delivered":
            health.on_delivered()
            first_refusal = None
            assert health.refused is None and health.unavailable is None
        else:
            getattr(health, f"on_{event}")(event)
        if event == "refused":
            assert health.refused is not None
            first_refusal = first_refusal or health.refused[0]
            assert health.refused == (first_refusal, "refused")
    assert (health.refused is None) == (first_refusal is None)


def test_the_watch_sets_the_stall_gauges(store: Store) -> None:
    fill(store)
    registry = CollectorRegistry()
    settings = UplinkSettings(url="http://127.0.0.1:1", max_backlog_age_ms=60_000)
    watch = UplinkWatch(settings, TEST_DOMAIN, UplinkMetrics(registry))
    watch.refresh(store, now=T0 + 30)
    assert watch.check()[0]
    assert registry.get_sample_value("mrv_edge_uplink_stalled", {"reason": "backlog_age"}) == 0
    watch.health.on_refused("HTTP 400")
    watch.refresh(store, now=T0 + 61)
    assert not watch.check()[0]
    assert registry.get_sample_value("mrv_edge_uplink_oldest_undelivered_age_seconds") == 61
    for reason, value in (("refused", 1), ("backlog_age", 1), ("invalid_item", 0)):
        assert registry.get_sample_value("mrv_edge_uplink_stalled", {"reason": reason}) == value
    assert UplinkWatch(None, TEST_DOMAIN).check() == (True, "not configured (no [uplink] table)")


def test_a_tampered_head_is_logged_once_at_critical_level(store: Store) -> None:
    fill(store)
    watch = UplinkWatch(UplinkSettings(url="http://127.0.0.1:1"), TEST_DOMAIN)
    connection = sqlite3.connect(store.path)
    with connection:
        connection.execute("UPDATE readings SET value = '7' WHERE ordinal = 1")
    connection.close()
    with capture_logs() as logs:
        for _ in range(3):
            watch.refresh(store, now=T0)
    assert [(e["event"], e["log_level"]) for e in logs] == [("uplink_item_invalid", "critical")]
    assert f"reading device {DEVICE} meter " in logs[0]["detail"]


def test_heads_and_last_positions_of_an_empty_store(tmp_path: Path) -> None:
    with Store(tmp_path / "empty.sqlite", TEST_KEY.address, TEST_DOMAIN) as empty:
        source = StoreUplink(empty)
        assert source.head("leaves") is None and source.head("batches") is None
        assert source.last_position("leaves") == source.last_position("batches") == -1
        assert inspect_backlog(empty, TEST_DOMAIN) == Backlog(0, None, None)


def test_an_unexpected_client_error_fails_the_check_and_sets_its_gauge_until_a_delivery(
        store: Store) -> None:
    fill(store)
    registry = CollectorRegistry()
    watch = UplinkWatch(UplinkSettings(url="http://127.0.0.1:1"), TEST_DOMAIN,
                        UplinkMetrics(registry))
    watch.health.on_error("InvalidURL: Invalid non-printable ASCII character in URL")
    watch.refresh(store, now=T0 + 1)
    ok, detail = watch.check()
    assert not ok and "error for " in detail and "InvalidURL: Invalid non-printable" in detail
    assert registry.get_sample_value("mrv_edge_uplink_stalled", {"reason": "error"}) == 1
    watch.health.on_delivered()
    watch.refresh(store, now=T0 + 2)
    assert watch.check()[0]
    assert registry.get_sample_value("mrv_edge_uplink_stalled", {"reason": "error"}) == 0
