"""The pure report builder: lines sorted as the format says, grams and totals the calculator's,
plan lines and batches taken over, order of the inputs irrelevant, and its refusals.

``Figure`` stands in for ``ledger_api.recompute.MeterFigure`` (built on another branch): the same
attributes the builder reads, its energy computed by ``build_history(...).period`` from real
counter readings."""

from __future__ import annotations

import random
from dataclasses import dataclass
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from report_factories import CHAIN, DEVICE_A, DEVICE_B, ENTERPRISE, METHODOLOGY, SAMPLE_PERIOD

from accounting_rules import UnknownSource, compute, load_methodology
from accounting_rules.counters import CounterReading, PeriodEnergy, RolloverRule, build_history
from accounting_rules.errors import ReportError
from accounting_rules.reports import (
    BatchRef,
    ManualLine,
    MeasuredLine,
    ReportDocument,
    activities,
    batches_root,
    decode_report,
    document_hash,
    encode_report,
    scope_sums,
)
from accounting_rules.reports.build import ManualEntry, build_report
from mrv_core import meter_id
from mrv_core.hashing import keccak256

MACHINERY = load_methodology("cn.machinery", 1)
SITE = "demo-co/wuxi-plant"
START, END = SAMPLE_PERIOD.start, SAMPLE_PERIOD.end


@dataclass(frozen=True)
class Point:
    meter_path: str
    source: str = "electricity.grid"
    quantity: str = "energy.active.import:Wh"
    counter_modulus: int | None = 2**32
    max_rate: Fraction | None = Fraction(1193046)


@dataclass(frozen=True)
class Figure:
    point: Point
    device: bytes
    meter: bytes
    energy: PeriodEnergy
    bridged_seconds: int = 0
    bridged_steps: int = 0


def figure(path: str, device: bytes, values: list[int], start: int = START,
           end: int = END, point: Point | None = None) -> Figure:
    """A figure from ``values`` read evenly from a minute before ``start`` to ``end``."""
    step = (end - start + 60) // max(1, len(values) - 1)
    readings = [CounterReading(i, start - 60 + i * step, v) for i, v in enumerate(values)]
    point = point or Point(path)
    energy = build_history(readings, RolloverRule(point.counter_modulus,
                                                  point.max_rate or 0)).period(start, end)
    return Figure(point, device, meter_id(path), energy)


def gas(entry_id: int, amount: int = 10_000_000) -> ManualEntry:
    return ManualEntry(entry_id, "fuel.natural_gas", amount, keccak256(b"invoice %d" % entry_id),
                       f"invoice-{entry_id}.pdf", "application/pdf", "natural gas invoice",
                       END + 100)


BATCHES = [BatchRef(DEVICE_B, 3, keccak256(b"b3")), BatchRef(DEVICE_A, 12, keccak256(b"a12")),
           BatchRef(DEVICE_A, 12, keccak256(b"a12"))]


def build(figures: list[Figure], manual: list[ManualEntry], site: str | None = SITE,
          batches: list[BatchRef] | None = None) -> ReportDocument:
    return build_report(enterprise=ENTERPRISE, site_path=site, period=SAMPLE_PERIOD,
                        methodology=MACHINERY, methodology_address=METHODOLOGY, chain=CHAIN,
                        measured=figures, manual=manual, batches=BATCHES if batches is None
                        else batches, created_at=END + 3600)


def sample_inputs() -> tuple[list[Figure], list[ManualEntry]]:
    return ([figure(f"{SITE}/hall-b/line-1/m1", DEVICE_A, [10, 500, 90_000, 4_000_000]),
             figure(f"{SITE}/hall-a/line-1/m1", DEVICE_B, [2**32 - 1000, 2**32 - 10, 5_000]),
             figure(f"{SITE}/hall-a/line-1/m1", DEVICE_A, [7, 8, 9, 1_000_007])],
            [gas(9), gas(2, 123_456)])


def test_built_document_has_the_calculators_figures_in_format_order() -> None:
    figures, manual = sample_inputs()
    doc = build(figures, manual)
    assert decode_report(encode_report(doc)) == doc
    measured = [line for line in doc.lines if isinstance(line, MeasuredLine)]
    assert [(m.meter_path, m.device) for m in measured] == [
        (f"{SITE}/hall-a/line-1/m1", DEVICE_A), (f"{SITE}/hall-a/line-1/m1", DEVICE_B),
        (f"{SITE}/hall-b/line-1/m1", DEVICE_A)]
    assert [m.amount for m in measured] == [1_000_000, 6000, 3_999_990]
    assert measured[1].rollovers == 1
    assert [line.id for line in doc.lines if isinstance(line, ManualLine)] == [2, 9]
    result = compute(MACHINERY, START, END, activities(doc))
    assert [line.grams for line in doc.lines] == [e.grams for e in result.emissions]
    assert doc.totals == scope_sums(doc.lines)
    assert (doc.totals.scope1 > 0, doc.totals.scope2 > 0) == (True, True)
    assert [p.meter_path for p in doc.plan] == [f"{SITE}/hall-a/line-1/m1",
                                                f"{SITE}/hall-b/line-1/m1"]
    assert [(b.device, b.batch_seq) for b in doc.batches.items] == [
        (DEVICE_A, 12), (DEVICE_B, 3)]
    assert doc.batches.root == batches_root(doc.batches.items)


def test_input_order_does_not_change_the_document() -> None:
    figures, manual = sample_inputs()
    expected = document_hash(build(figures, manual))
    rng = random.Random(3)
    for _ in range(3):
        rng.shuffle(figures)
        rng.shuffle(manual)
        shuffled = BATCHES[:]
        rng.shuffle(shuffled)
        assert document_hash(build(figures, manual, batches=shuffled)) == expected


def test_builder_refuses_figures_of_another_period_site_or_unit() -> None:
    figures, manual = sample_inputs()
    with pytest.raises(ReportError, match="the report's period"):
        build([figure(f"{SITE}/a/b/c", DEVICE_A, [1, 2, 3], end=END - 3600)], manual)
    with pytest.raises(ReportError, match="not a meter of site demo-co/wuxi-plant"):
        build([figure("demo-co/other/a/b/c", DEVICE_A, [1, 2, 3])], manual)
    gas_meter = Point(f"{SITE}/a/b/gas", "fuel.natural_gas", "energy.active.import:Wh")
    with pytest.raises(ReportError, match=r"is in Wh, source fuel\.natural_gas .* is in dm3"):
        build([figure(gas_meter.meter_path, DEVICE_A, [1, 2], point=gas_meter)], [])
    with pytest.raises(UnknownSource):
        build(figures, [ManualEntry(1, "fuel.unobtainium", 5, keccak256(b"x"), "x.pdf",
                                    "application/pdf", "", END)])
    assert build(figures, [], site=None) is not None


@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(0, 10**9), min_size=1, max_size=4),
       st.lists(st.integers(0, 10**12), max_size=3))
def test_totals_are_the_sums_of_the_lines_for_any_amounts(meters: list[int],
                                                          invoices: list[int]) -> None:
    figures = [figure(f"{SITE}/hall/line/m{i}", DEVICE_A, [0, amount])
               for i, amount in enumerate(meters)]
    doc = build(figures, [gas(i + 1, amount) for i, amount in enumerate(invoices)])
    assert [line.amount for line in doc.lines] == meters + invoices
    assert doc.totals == scope_sums(doc.lines)
    result = compute(MACHINERY, START, END, activities(doc))
    assert doc.totals.total == result.total
