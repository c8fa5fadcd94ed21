"""The device directory's saved state (``ledger_api.chain.device_store``): every DeviceRegistry
event round-trips exactly through its row, a damaged row is refused naming it, and saving and
loading on SQLite and a real PostgreSQL give back the directory's events and cursor, rewriting
the events only when they changed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from ledger_api.chain import (
    DeviceEvent,
    DeviceRegistered,
    DeviceReinstated,
    DeviceRevoked,
    DeviceRotated,
    DeviceSuspended,
    EnterpriseReactivated,
    EnterpriseStopped,
)
from ledger_api.chain.device_store import (
    decode_device_event,
    encode_device_event,
    load_directory,
    save_directory,
)
from ledger_api.chain.directory import Cursor
from ledger_api.db.models import DeviceEventRow
from ledger_api.errors import ApiConfigError, CorruptColumnValue

REGISTRY = b"\xa7" * 20
NOW = datetime(2026, 11, 30, tzinfo=UTC)
address = st.binary(min_size=20, max_size=20)
word = st.binary(min_size=32, max_size=32)
uint64 = st.integers(0, 2**64 - 1)
at = {"block_number": uint64, "block_hash": word, "block_timestamp": uint64,
      "log_index": st.integers(0, 2**31)}
events = st.one_of(
    st.builds(DeviceRegistered, **at, device=address, enterprise=address, site=word,
              metadata_hash=word, predecessor=address),
    st.builds(DeviceRotated, **at, device=address, new_device=address, enterprise=address),
    st.builds(DeviceRevoked, **at, device=address, enterprise=address, revoked_at=uint64),
    st.builds(DeviceSuspended, **at, device=address, regulator=address),
    st.builds(DeviceReinstated, **at, device=address, regulator=address),
    st.builds(EnterpriseStopped, **at, enterprise=address, index=st.integers(0, 2**32 - 1),
              by=address),
    st.builds(EnterpriseReactivated, **at, enterprise=address,
              index=st.integers(0, 2**32 - 1), admin=address))


@given(events, st.integers(0, 10**6))
def test_every_device_event_round_trips_exactly_through_its_row(event: DeviceEvent,
                                                               position: int) -> None:
    row = encode_device_event(event, position)
    assert row.position == position
    assert decode_device_event(row) == event


@pytest.mark.parametrize(("name", "fields"), [
    ("DeviceMelted", '{"device":"0x00"}'),
    ("DeviceSuspended", '{"device":"0x' + "11" * 20 + '"}'),
    ("DeviceSuspended", '{"device":"0xzz","regulator":"0x00"}'),
    ("DeviceRevoked", '{"device":"0x00","enterprise":"0x00","revoked_at":"7"}'),
    ("DeviceSuspended", "not json"),
])
def test_a_damaged_row_is_refused_naming_its_position(name: str, fields: str) -> None:
    row = DeviceEventRow(position=4, event=name, block_number=1, block_hash=b"\x00" * 32,
                         block_timestamp=1, log_index=0, fields=fields)
    with pytest.raises(CorruptColumnValue, match="device_events position 4"):
        decode_device_event(row)


def registered(block: int, device: int) -> DeviceRegistered:
    return DeviceRegistered(block, bytes([block]) * 32, 1000 + block, 0,
                            device=bytes([device]) * 20, enterprise=b"\xee" * 20,
                            site=b"\x51" * 32, metadata_hash=b"\x4d" * 32,
                            predecessor=bytes(20))


def test_the_saved_directory_comes_back_and_is_rewritten_only_when_its_events_change(
        ledger_engine: Engine) -> None:
    first = (registered(3, 1), registered(5, 2))
    cursor = Cursor(6, b"\x06" * 32, 1006)
    with Session(ledger_engine) as session, session.begin():
        assert load_directory(session, REGISTRY) == ((), None)
        assert save_directory(session, REGISTRY, first, cursor, NOW)
    with Session(ledger_engine) as session, session.begin():
        assert load_directory(session, REGISTRY) == (first, cursor)
        later = Cursor(9, b"\x09" * 32, 1009)
        assert not save_directory(session, REGISTRY, first, later, NOW)  # only the cursor
        assert load_directory(session, REGISTRY) == (first, later)
        reorganised = (registered(3, 1), registered(8, 3))  # same count, another last event
        assert save_directory(session, REGISTRY, reorganised, later, NOW)
        assert load_directory(session, REGISTRY) == (reorganised, later)
        assert save_directory(session, REGISTRY, (), None, NOW)
        assert load_directory(session, REGISTRY) == ((), None)
        save_directory(session, REGISTRY, first, cursor, NOW)
        with pytest.raises(ApiConfigError, match="follows AnchorRegistry"):
            load_directory(session, b"\x01" * 20)
        session.execute(update(DeviceEventRow).values(fields="{}"))
        with pytest.raises(CorruptColumnValue):
            load_directory(session, REGISTRY)
        assert len(list(session.scalars(select(DeviceEventRow)))) == 2
