"""The completeness rules of step ``evidence`` on a meter that reads two points per poll (an
energy register and a power value), as the edge node numbers them: one seq sequence per meter,
each sample of a poll in turn (``edge_node.signing.signer``). The rules work on the proven
readings alone (unsigned here: signatures are steps 4's, tested in test_verify.py)."""

from __future__ import annotations

import pytest

from accounting_rules.reports.completeness import check_complete, check_meter
from accounting_rules.reports.document import ReadingRef
from mrv_core.errors import VerificationError
from mrv_core.reading import Reading, meter_id

PATH = "demo-co/wuxi-plant/hall-1/line-1/main"
ENERGY, POWER = "energy.active.import:Wh", "power.active:W"
POLL_S = 900
T0 = 1_790_784_000
START, END = T0 + 2 * POLL_S, T0 + 6 * POLL_S  # polls 2..5 at or before the end lie inside


def _poll(n: int, energy: int, *, energy_first: bool = True) -> list[Reading]:
    """Poll ``n``: seqs 2n and 2n + 1, energy then power (or power then energy)."""
    points = [(ENERGY, energy), (POWER, 1_500)]
    if not energy_first:
        points.reverse()
    return [Reading(b"\x01" * 20, meter_id(PATH), 2 * n + i, T0 + n * POLL_S, quantity, value,
                    bytes(32)) for i, (quantity, value) in enumerate(points)]


def _meter(*, energy_first: bool = True, fall_at: int | None = None) -> list[Reading]:
    """Polls 0..8, the energy rising 1,000 Wh a poll (reset to 10 Wh at ``fall_at``)."""
    readings, energy = [], 100_000
    for n in range(9):
        energy = 10 if n == fall_at else energy + 1_000
        readings += _poll(n, energy, energy_first=energy_first)
    return readings


def _ref(readings: list[Reading], seq: int) -> ReadingRef:
    r = next(r for r in readings if r.seq == seq)
    assert r.quantity == ENERGY
    return ReadingRef(r.seq, r.timestamp, r.value)


def _check(proven: list[Reading], start: ReadingRef | None, end: ReadingRef | None,
           changes: tuple[int, ...] = ()) -> None:
    check_complete(PATH, ENERGY, start, end, check_meter(PATH, proven), changes, START, END)


def _fails(proven: list[Reading], start: ReadingRef | None, end: ReadingRef | None,
           message: str, changes: tuple[int, ...] = ()) -> None:
    with pytest.raises(VerificationError) as raised:
        _check(proven, start, end, changes)
    assert raised.value.step == "evidence"
    assert PATH in str(raised.value) and message in str(raised.value), str(raised.value)


def test_the_successor_run_crosses_the_other_points_of_the_poll() -> None:
    """Energy first: the end reading is seq 12 (poll 6 at the end); its run is seq 13 (power,
    same poll, at the end) and seq 14 (poll 7, after it)."""
    meter = _meter()
    start, end = _ref(meter, 4), _ref(meter, 12)
    proven = [r for r in meter if r.seq in {4, 5, 6, 12, 13, 14}]
    _check(proven, start, end)
    _fails([r for r in proven if r.seq != 13], start, end,
           "reading seq 13 of the meter is not proven, so nothing shows that its endReading "
           "(seq 12) is the last reading at or before")


def test_an_end_reading_truncated_to_an_earlier_poll_fails() -> None:
    meter = _meter()
    start, early = _ref(meter, 4), _ref(meter, 10)
    proven = [r for r in meter if r.seq in {4, 5, 6, 10, 11, 12, 13, 14}]
    _fails(proven, start, early, "reading seq 12 of the counter at 1790789400 is proven, so it "
                                 "is not true that its endReading (seq 10) is the last reading")
    _fails([r for r in proven if r.seq not in {12, 13, 14}], start, early,
           "reading seq 12 of the meter is not proven")


def test_a_null_start_needs_the_meters_first_seqs_proven() -> None:
    """The counter's first reading is seq 1 (power polled first); a period that begins before
    the meter's first poll has no start reading, shown by seq 0 lying after the start."""
    meter = _meter(energy_first=False)
    late_start = [Reading(r.device, r.meter, r.seq, r.timestamp + 3 * POLL_S, r.quantity,
                          r.value, r.salt) for r in meter]
    end = _ref(late_start, 7)  # poll 3, at the end, energy second
    proven = [r for r in late_start if r.seq in range(9)]
    _check(proven, None, end)
    _fails([r for r in proven if r.seq != 0], None, end,
           "reading seq 0 of the meter is not proven, so nothing shows that no reading lies "
           "at or before")
    _fails(proven, None, _ref(late_start, 5), "reading seq 7 of the counter")


def test_a_fall_must_be_one_step_of_the_counter_across_the_other_points() -> None:
    """Energy falls at poll 4 (seq 8) from seq 6: proven with seq 7 (power) between, it is one
    step; without seq 7 it is a span; a proven meter change in it explains it either way."""
    meter = _meter(fall_at=4)
    start, end = _ref(meter, 4), _ref(meter, 12)
    proven = [r for r in meter if r.seq in {4, 5, 6, 7, 8, 12, 13, 14}]
    _check(proven, start, end)
    spanned = [r for r in proven if r.seq != 7]
    _fails(spanned, start, end, "the counter falls from 104000 at seq 6 to 10 at seq 8 with no "
                                "proven meter change and 1 reading(s) of the meter between them "
                                "not proven (first seq 7)")
    _check(spanned, start, end, changes=(8,))


def test_a_fall_revealed_by_an_extra_proven_reading_must_be_one_step_too() -> None:
    """Every proven reading of the counter counts: seq 8 proven beside the boundary readings
    (its neighbour seq 7 not) shows a fall from seq 6 that is not one step, and fails."""
    meter = _meter(fall_at=4)
    start, end = _ref(meter, 4), _ref(meter, 12)
    proven = [r for r in meter if r.seq in {4, 5, 6, 8, 12, 13, 14}]
    _fails(proven, start, end, "falls from 104000 at seq 6 to 10 at seq 8")


def test_timestamps_going_back_or_a_seq_proven_twice_fail() -> None:
    meter = _meter()
    back = Reading(meter[3].device, meter[3].meter, 3, T0 - 1, POWER, 1, bytes(32))
    with pytest.raises(VerificationError, match="timestamps go back from seq 2"):
        check_meter(PATH, [meter[0], meter[1], meter[2], back])
    twice = Reading(meter[3].device, meter[3].meter, 3, meter[3].timestamp, POWER, 2, bytes(32))
    with pytest.raises(VerificationError, match="two different readings seq 3"):
        check_meter(PATH, [meter[3], twice])
    assert list(check_meter(PATH, [meter[3], meter[3], meter[0]])) == [0, 3]
