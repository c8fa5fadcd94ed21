"""Under-reporting with genuine data fails at ``evidence`` (docs/protocol.md 11.4).

Each forged bundle here is built as the enterprise could build it: from the device's own signed
readings and records and its real batches, choosing which to prove; the measured lines figured
from exactly the chosen readings (``build_history``), grams and totals by the calculator, the
batches list, its root and the report hash recomputed (``offline_scenario(select=...)``). Every
signature, multiproof and figure is genuine, so only the completeness rules
(``accounting_rules.reports.completeness``) can refuse it. Each case first asserts that the
forgery under-reports (or hides a fall), so the test cannot pass on a harmless change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest
from report_bundle_support import (
    CHANGED_METER,
    PERIOD_END,
    PERIOD_START,
    ROLLOVER_METER,
    MeterHistory,
    Select,
    offline_scenario,
    signed_summary,
    with_summaries,
)

from accounting_rules.reports.bundle import ReportBundle
from accounting_rules.reports.document import MeasuredLine
from accounting_rules.reports.summaries_check import check_summaries
from accounting_rules.reports.verify import verify_report_bundle
from factories import TEST_KEY
from mrv_core.batch import Batch
from mrv_core.eip712 import Domain
from mrv_core.errors import VerificationError
from mrv_core.reading import SignedReading
from mrv_core.records import MeterChange, SignedRecord

Evidence = tuple[list[SignedReading], list[SignedRecord]]


def _last_at(history: MeterHistory, t: int) -> int:
    return max(i for i, r in enumerate(history.readings) if r.reading.timestamp <= t)


def _only(path: str, change: Callable[[MeterHistory, Evidence], Evidence]) -> Select:
    """The honest sparse evidence of every meter, ``change``d for the meter ``path``."""
    def select(history: MeterHistory) -> Evidence:
        honest = history.sparse()
        return change(history, honest) if history.plan.meter_path == path else honest
    return select


def _without(history: MeterHistory, readings: list[SignedReading], *indexes: int
             ) -> list[SignedReading]:
    dropped = {history.readings[i].reading.seq for i in indexes}
    return [r for r in readings if r.reading.seq not in dropped]


def _with(history: MeterHistory, readings: list[SignedReading], *indexes: int
          ) -> list[SignedReading]:
    return sorted({*readings, *(history.readings[i] for i in indexes)},
                  key=lambda r: r.reading.seq)


def _truncated(with_successor: bool) -> Select:
    """The end reading moved three readings (18 hours) earlier, with or without the earlier
    reading's own successor."""
    def change(history: MeterHistory, honest: Evidence) -> Evidence:
        last = _last_at(history, PERIOD_END)
        readings = _without(history, honest[0], last, last + 1)
        extra = (last - 3, last - 2) if with_successor else (last - 3,)
        return _with(history, readings, *extra), honest[1]
    return _only(ROLLOVER_METER, change)


def _no_start(history: MeterHistory, honest: Evidence) -> Evidence:
    """``startReading: null``: the start reading left out, so the period seems to begin at its
    successor, the counter's first proven reading."""
    return _without(history, honest[0], _last_at(history, PERIOD_START)), honest[1]


def _fall_index(history: MeterHistory) -> int:
    """The index of the reading right after the counter's fall in the period."""
    return next(i for i in range(_last_at(history, PERIOD_START) + 1,
                                 _last_at(history, PERIOD_END) + 1)
                if history.readings[i].reading.value < history.readings[i - 1].reading.value)


def _rollover_hidden(history: MeterHistory, honest: Evidence) -> Evidence:
    """Both readings around the wrap left out: the fall now spans a month of readings."""
    i = _fall_index(history)
    return _without(history, honest[0], i - 1, i), honest[1]


def _change_hidden(history: MeterHistory, honest: Evidence) -> Evidence:
    """The meter change record and the old meter's last reading left out: the fall from the old
    meter to the new one is a span no rule explains (0 Wh counted for it)."""
    i = _fall_index(history)
    return (_without(history, honest[0], i - 1),
            [r for r in honest[1] if not isinstance(r.record, MeterChange)])


def _line(bundle: ReportBundle, path: str) -> MeasuredLine:
    return next(line for line in bundle.report.measured if line.meter_path == path)


@pytest.fixture(scope="module")
def honest() -> ReportBundle:
    return offline_scenario(TEST_KEY)[0]


CASES: dict[str, tuple[Select, str, str]] = {
    "end reading truncated": (_truncated(False), ROLLOVER_METER,
                              "reading seq 124 of the meter is not proven, so nothing shows "
                              "that its endReading (seq 123) is the last reading at or before"),
    # The earlier reading's successor lies before the end too, so it becomes the end reading
    # and needs a successor of its own: the chain only stops after the period.
    "end reading truncated, its successor proven": (
        _truncated(True), ROLLOVER_METER,
        "reading seq 125 of the meter is not proven, so nothing shows that its endReading "
        "(seq 124) is the last reading at or before"),
    "start reading claimed null": (_only(ROLLOVER_METER, _no_start), ROLLOVER_METER,
                                   "reading seq 0 of the meter is not proven, so nothing shows "
                                   "that no reading lies at or before"),
    "rollover pair hidden": (_only(ROLLOVER_METER, _rollover_hidden), ROLLOVER_METER,
                             "with no proven meter change and"),
    "meter change hidden in a fall": (_only(CHANGED_METER, _change_hidden), CHANGED_METER,
                                      "the counter falls from 8500000 at seq 3 to 251000 at seq "
                                      "43 with no proven meter change and 39 reading(s)"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_forged_evidence_selection_fails_at_evidence(honest: ReportBundle, name: str) -> None:
    select, path, message = CASES[name]
    forged = offline_scenario(TEST_KEY, select)[0]
    before, after = _line(honest, path), _line(forged, path)
    assert forged.report_hash != honest.report_hash
    if name != "rollover pair hidden":  # a hidden wrap is still counted as one: same energy
        assert after.amount < before.amount, "the forgery must under-report"
    assert forged.report.totals.total <= honest.report.totals.total
    with pytest.raises(VerificationError) as raised:
        verify_report_bundle(forged)
    assert raised.value.step == "evidence", str(raised.value)
    assert f"{path} (0x" in str(raised.value) and message in str(raised.value), \
        str(raised.value)


def test_every_reading_of_the_period_proven_also_verifies(honest: ReportBundle) -> None:
    """More evidence never hurts: a bundle proving every reading of each meter from the start
    reading to the end reading's successor passes, with the honest amounts."""
    def dense(history: MeterHistory) -> Evidence:
        first = _last_at(history, PERIOD_START)
        last = _last_at(history, PERIOD_END) + 1
        return history.readings[first:last + 1], history.sparse()[1]

    bundle = offline_scenario(TEST_KEY, dense)[0]
    verify_report_bundle(bundle)
    assert [line.amount for line in bundle.report.measured] == [
        line.amount for line in honest.report.measured]


def _change_hidden_in_a_rise(history: MeterHistory, honest: Evidence) -> Evidence:
    """Both readings around the meter change and its record left out: the new meter has grown
    past the old one's value at the start reading's successor, so the span rises and shows no
    fall; only the old meter's energy after that reading goes missing."""
    i = _fall_index(history)
    return (_without(history, honest[0], i - 1, i),
            [r for r in honest[1] if not isinstance(r.record, MeterChange)])


def _with_summary(bundle: ReportBundle, batches: list[Batch], path: str, activity: int
                  ) -> ReportBundle:
    """``bundle`` with the device's signed summary of the month for meter ``path`` (activity
    as the device computed it), proven in the device's next batch, as the ledger exports it."""
    return with_summaries(bundle, TEST_KEY, batches, [signed_summary(
        TEST_KEY, bundle.domain, path, PERIOD_START, PERIOD_END, activity)])


def test_a_meter_change_hidden_in_a_rise_is_caught_by_the_devices_summary(
        honest: ReportBundle) -> None:
    """The limit of sparse evidence (docs/protocol.md 11.4): a fall hidden inside a rising span
    passes every offline step without the devices' summaries; with the device's signed
    summary of the month in the bundle, ``summaries`` catches it. The honest bundle with the
    same summary passes, that line cross-checked."""
    forged, _, batches = offline_scenario(
        TEST_KEY, _only(CHANGED_METER, _change_hidden_in_a_rise))
    device_figure = _line(honest, CHANGED_METER).amount
    assert _line(forged, CHANGED_METER).amount < device_figure
    verify_report_bundle(forged)  # the known limit: nothing offline refuses it alone
    with pytest.raises(VerificationError) as raised:
        verify_report_bundle(_with_summary(forged, batches, CHANGED_METER, device_figure))
    assert raised.value.step == "summaries"
    assert (f"{CHANGED_METER} (0x" in str(raised.value) and f"add up to {device_figure} Wh, "
            f"the line says {_line(forged, CHANGED_METER).amount}" in str(raised.value))
    checked = _with_summary(honest, offline_scenario(TEST_KEY)[2], CHANGED_METER,
                            device_figure)
    verify_report_bundle(checked)
    assert [line.meter_path for line in check_summaries(checked)] == [CHANGED_METER]


def _summary(domain: Domain, line: MeasuredLine, start: int, end: int, activity: int
             ) -> SignedRecord:
    return signed_summary(TEST_KEY, domain, line.meter_path, start, end, activity)


def test_summaries_tile_the_period_in_any_granularity_or_are_not_checked(
        honest: ReportBundle) -> None:
    """Two halves adding up to the amount cross-check the line; halves that do not add up
    fail; a set with a hole checks nothing; two summaries of one period that disagree fail."""
    line = _line(honest, ROLLOVER_METER)
    mid = PERIOD_START + 86_400 * 10
    first, rest = 1_000, line.amount - 1_000
    halves = (_summary(honest.domain, line, PERIOD_START, mid, first),
              _summary(honest.domain, line, mid, PERIOD_END, rest))
    assert check_summaries(replace(honest, summaries=halves)) == (line,)
    wrong = (halves[0], _summary(honest.domain, line, mid, PERIOD_END, rest - 1))
    with pytest.raises(VerificationError, match=f"add up to {line.amount - 1} Wh"):
        check_summaries(replace(honest, summaries=wrong))
    assert check_summaries(replace(honest, summaries=halves[:1])) == ()
    twice = (*halves, _summary(honest.domain, line, PERIOD_START, mid, first + 1))
    with pytest.raises(VerificationError, match="two summaries of"):
        check_summaries(replace(honest, summaries=twice))
