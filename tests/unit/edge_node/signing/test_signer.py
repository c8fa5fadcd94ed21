"""The signer: seq per meter, signatures and leaves, the clock rules, counter decreases, the
meter-change step, and one transaction per cycle."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from unit.edge_node.support import ENERGY, METER, energy, power

from accounting_rules.counters import RolloverRule
from edge_node._internal.crashpoints import CrashPoints
from edge_node.errors import StoreError
from edge_node.signing import (
    ReadingSigner,
    SigningSettings,
    classify_decrease,
    commit_meter_change,
    read_record,
)
from edge_node.store import AWAITING_METER_CHANGE, METER_OK, Flag, Store
from edge_node.store.models import BatchRow, OutboxRow
from edge_node.store.queries import readings, records
from factories import METER_PATHS, TEST_DOMAIN, TEST_KEY
from mrv_core.eip712 import leaf_hash, reading_digest
from mrv_core.errors import ConfigError
from mrv_core.records import MeterChange, record_digest, record_leaf
from mrv_core.signing import recover_address

#: A uint32 Wh register of a meter that imports at most 3.6 MW (1,000 Wh per second).
WRAP = RolloverRule(2**32, 1_000)


class Crash(BaseException):
    """Stands for the process dying at a crash point."""


def _raise(name: str) -> None:
    raise Crash(name)


def test_seq_counts_every_reading_of_a_meter_whatever_its_quantity(store: Store) -> None:
    signer = ReadingSigner(store, TEST_KEY)
    signer.sign_cycle([energy(1000, 10), power(1000, -5),
                       energy(1000, 3, meter=METER_PATHS[1])], now=0)
    signer.sign_cycle([energy(1060, 12), power(1060, 8)], now=0)
    seqs = [(r.signed.meter_path, r.signed.reading.seq) for r in readings(store)]
    assert seqs == [(METER, 0), (METER, 1), (METER_PATHS[1], 0), (METER, 2), (METER, 3)]


def test_readings_are_signed_by_the_device_under_the_domain_with_their_leaf(store: Store) -> None:
    ReadingSigner(store, TEST_KEY).sign_cycle([energy(1000, 10), energy(1001, 11)], now=0)
    stored = readings(store)
    for item in stored:
        reading = item.signed.reading
        assert recover_address(reading_digest(reading, TEST_DOMAIN),
                               item.signed.signature) == TEST_KEY.address
        assert item.leaf == leaf_hash(reading)
        assert item.raw_registers == (0, reading.value)
        assert item.point == "import_energy"
    assert stored[0].signed.reading.salt != stored[1].signed.reading.salt


def test_a_timestamp_going_backwards_is_refused_counted_and_consumes_no_seq(store: Store) -> None:
    signer = ReadingSigner(store, TEST_KEY)
    signer.sign_cycle([energy(1000, 10)], now=0)
    result = signer.sign_cycle([energy(999, 11), power(1000, 3)], now=0)
    assert [(e.meter_path, e.previous, e.actual) for e in result.refused] == [(METER, 1000, 999)]
    assert "999 is before the last signed timestamp 1000" in str(result.refused[0])
    assert [r.signed.reading.seq for r in readings(store)] == [0, 1]  # equal time is fine
    (meter,) = store.meters()
    assert (meter.clock_refusals, meter.next_seq, meter.last_timestamp) == (1, 2, 1000)


def test_a_reading_before_the_previous_anchor_minus_skew_is_flagged(store: Store) -> None:
    signer = ReadingSigner(store, TEST_KEY, settings=SigningSettings(max_clock_skew_s=60))
    signer.sign_cycle([energy(1000, 1)], now=0)
    with store.write() as session:  # an anchored batch whose block time is 2000
        session.add(BatchRow(device=TEST_KEY.address, batch_seq=0, root=bytes(32), leaf_count=1,
                             from_timestamp=1000, to_timestamp=1000, signature=bytes(65),
                             closed_at=0, state="anchored"))
        session.flush()
        session.add(OutboxRow(device=TEST_KEY.address, batch_seq=0, state="final",
                              block_timestamp=2000, attempts=1, updated_at=0))
    signer.sign_cycle([energy(1939, 2)], now=0)
    signer.sign_cycle([energy(1940, 3)], now=0)
    assert [r.flags for r in readings(store)] == [Flag(0), Flag.CLOCK_BEHIND, Flag(0)]


def test_a_rollover_at_the_counter_width_is_not_a_meter_change(store: Store) -> None:
    signer = ReadingSigner(store, TEST_KEY)
    signer.sign_cycle([energy(1000, 2**32 - 10, rollover=WRAP)], now=0)
    result = signer.sign_cycle([energy(1060, 25, rollover=WRAP)], now=0)
    assert [(e.kind, e.previous, e.value) for e in result.counter_events] == [
        ("rollover", 2**32 - 10, 25)]
    assert store.meters()[0].state == METER_OK
    assert readings(store)[1].counter_event == "rollover"


def test_an_unexplained_decrease_awaits_a_meter_change_and_readings_go_on(store: Store) -> None:
    signer = ReadingSigner(store, TEST_KEY)
    signer.sign_cycle([energy(1000, 5_000, rollover=WRAP)], now=0)
    signer.sign_cycle([energy(1060, 40, rollover=WRAP)], now=0)   # a reset, not a wrap
    signer.sign_cycle([energy(1120, 50, rollover=WRAP)], now=0)   # still signed and stored
    assert [r.counter_event for r in readings(store)] == [None, "unexplained_decrease", None]
    assert store.meters()[0].state == AWAITING_METER_CHANGE
    signed = commit_meter_change(store, TEST_KEY, METER, ENERGY, timestamp=1130, new_initial=0,
                                 note="meter replaced, serial 4711", now=1200)
    assert store.meters()[0].state == METER_OK
    change = signed.record
    assert isinstance(change, MeterChange)
    assert (change.next_seq, change.old_final, change.new_initial) == (3, 50, 0)
    (stored,) = records(store)
    assert stored.kind == "meter_change" and stored.leaf == record_leaf(change)
    assert read_record(stored) == signed
    assert recover_address(record_digest(change, TEST_DOMAIN), stored.signature) == \
        TEST_KEY.address
    result = signer.sign_cycle([energy(1180, 3, rollover=WRAP)], now=0)  # no baseline now
    assert result.counter_events == ()


def test_a_meter_change_without_a_signed_value_needs_the_old_final(store: Store) -> None:
    with pytest.raises(StoreError, match="give the old meter's final value"):
        commit_meter_change(store, TEST_KEY, METER, ENERGY, timestamp=1, new_initial=0,
                            note="", now=0)
    commit_meter_change(store, TEST_KEY, METER, ENERGY, timestamp=1, new_initial=0, note="",
                        old_final=9, now=0)
    assert [r.kind for r in records(store)] == ["meter_change"]


@pytest.mark.parametrize(("timestamp", "now"), [(1119, 1200), (1501, 1200), (4102444800, 1200)])
def test_a_meter_change_outside_last_reading_to_now_is_refused(store: Store, timestamp: int,
                                                               now: int) -> None:
    # A change dated in the future closed a batch the registry could never take, holding every
    # later batch off chain (hostile review, issue 9); one before the last reading lies
    # outside the step its nextSeq puts it in.
    ReadingSigner(store, TEST_KEY).sign_cycle([energy(1120, 50)], now=0)
    with pytest.raises(StoreError, match="must lie between the meter's last signed reading"):
        commit_meter_change(store, TEST_KEY, METER, ENERGY, timestamp=timestamp, new_initial=0,
                            note="", now=now)
    assert records(store) == []


@settings(max_examples=200, deadline=None)
@given(st.integers(2, 2**64), st.integers(0, 10**6), st.integers(0, 3600), st.data())
def test_rollover_exactly_when_the_accounting_rule_finds_the_wrap_plausible(
        modulus: int, max_rate: int, seconds: int, data: st.DataObject) -> None:
    previous = data.draw(st.integers(1, modulus - 1))
    value = data.draw(st.integers(0, previous - 1))
    wrapped = value + modulus - previous
    expected = wrapped <= modulus // 2 and wrapped <= max_rate * max(1, seconds)
    rule = RolloverRule(modulus, max_rate)
    assert (classify_decrease(previous, value, seconds, rule) == "rollover") is expected
    assert classify_decrease(previous, value, seconds, None) == "unexplained_decrease"


def test_a_reset_after_a_long_gap_is_never_a_rollover() -> None:
    # A 32-bit Wh counter read every 3 s; after a 12 s outage it reads 0 again (a reset). The
    # old rule (half the range per interval, times the seconds) took any decrease after two
    # intervals for a wrap: 4.29e9 Wh of energy that was never used (hostile review, issue 9).
    rule = RolloverRule(2**32, Fraction(2**32, 2 * 3))
    assert classify_decrease(15_200_330, 0, 12, rule) == "unexplained_decrease"
    assert classify_decrease(2**32 - 10, 5, 12, rule) == "rollover"


def test_a_crash_before_commit_leaves_no_reading_and_no_seq_advance(store: Store) -> None:
    ReadingSigner(store, TEST_KEY).sign_cycle([energy(1000, 1)], now=0)
    crashing = ReadingSigner(store, TEST_KEY,
                             crash=CrashPoints("signed-before-commit", action=_raise))
    with pytest.raises(Crash):
        crashing.sign_cycle([energy(1060, 2), power(1060, 3)], now=0)
    assert [r.signed.reading.seq for r in readings(store)] == [0]
    assert store.meters()[0].next_seq == 1
    ReadingSigner(store, TEST_KEY).sign_cycle([energy(1060, 2)], now=0)
    assert [r.signed.reading.seq for r in readings(store)] == [0, 1]


def test_a_negative_clock_skew_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match="max_clock_skew_s"):
        SigningSettings(max_clock_skew_s=-1)
