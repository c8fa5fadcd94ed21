"""The offline steps of the report bundle verifier: an honest bundle passes; each kind of tamper
(readings, records, headers, proofs, factor references, manual lines, report fields) is caught at
the step named, before or after the tamperer recomputed the report hash and the figures.

What only the chain can catch (a changed evidence hash or methodology version whose figures are
unchanged, a report never submitted) is in tests/integration/accounting/test_report_bundles.py.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from doc_mutations import Doc, delete, edit, setv, swap
from report_bundle_support import (
    CHANGED_METER,
    MeterHistory,
    Mutation,
    add_override,
    forge,
    offline_scenario,
    refigure,
    reroot,
)

from accounting_rules.reports.bundle import ReportBundle
from accounting_rules.reports.verify import STEPS, verify_report_bundle, verify_report_bytes
from factories import TEST_KEY
from mrv_core.errors import VerificationError
from mrv_core.hashing import keccak256
from mrv_core.reading import site_id


@pytest.fixture(scope="module")
def scenario() -> tuple[ReportBundle, list[MeterHistory]]:
    bundle, histories, _ = offline_scenario(TEST_KEY)
    return bundle, histories


@pytest.fixture(scope="module")
def bundle(scenario: tuple[ReportBundle, list[MeterHistory]]) -> ReportBundle:
    return scenario[0]


def test_an_honest_bundle_passes_every_offline_step(bundle: ReportBundle) -> None:
    verified = verify_report_bundle(bundle)
    assert verified.chain is None
    assert [len(leaves) for leaves in verified.leaves] == [
        len(b.readings) + len(b.records) for b in bundle.batches]


def _plus(n: int) -> Callable[[str], str]:
    return lambda value: str(int(value) + n)


def _first(bundle: ReportBundle, kind: str) -> tuple[int, int]:
    """(batch index, record index) of the first record of ``kind``."""
    return next((b, r) for b, batch in enumerate(bundle.batches)
                for r, item in enumerate(batch.records) if type(item.record).__name__ == kind)


def _multi(bundle: ReportBundle, what: str) -> int:
    return next(i for i, b in enumerate(bundle.batches) if len(getattr(b, what)) >= 2)


def _line(bundle: ReportBundle, path: str) -> int:
    return next(i for i, line in enumerate(bundle.report.lines)
                if getattr(line, "meter_path", None) == path)


def _site(path: str) -> Mutation:
    def mutate(doc: Doc) -> None:
        doc["report"]["site"] = {"path": path, "id": "0x" + site_id(path).hex()}
    return mutate


def _inside_span(batch: int) -> Mutation:
    """Move the batch's first listed reading to one second after the batch's start: still
    inside its span, so only the signature can tell."""
    def mutate(doc: Doc) -> None:
        entry = doc["batches"][batch]
        moved = str(int(entry["batch"]["fromTimestamp"]) + 1)
        assert entry["readings"][0]["timestamp"] != moved
        entry["readings"][0]["timestamp"] = moved
    return mutate


def _cases(bundle: ReportBundle) -> list[tuple[str, list[Mutation], bool, str]]:
    gap_b, gap_r = _first(bundle, "Gap")
    change_b, change_r = _first(bundle, "MeterChange")
    two = _multi(bundle, "readings")
    changed = _line(bundle, CHANGED_METER)
    manual = len(bundle.report.lines) - 1
    lines = "report.lines"
    return [
        ("reading value", [edit("batches.0.readings.0.value", _plus(1))], False, "signature"),
        ("reading seq", [edit("batches.0.readings.0.seq", _plus(1))], False, "signature"),
        ("reading timestamp", [_inside_span(two)], False, "signature"),
        ("reading salt", [setv("batches.0.readings.0.salt", "0x" + "11" * 32)], False,
         "signature"),
        ("reading meter path", [setv("batches.0.readings.0.meterPath", CHANGED_METER + "-x")],
         False, "meter"),
        ("header leafCount", [edit("batches.0.batch.leafCount", _plus(1))], False, "header"),
        ("header root", [setv("batches.0.batch.root", "0x" + "22" * 32)], False, "header"),
        ("gap failedPolls", [edit(f"batches.{gap_b}.records.{gap_r}.failedPolls", _plus(1))],
         False, "signature"),
        ("meter change newInitial",
         [edit(f"batches.{change_b}.records.{change_r}.newInitial", _plus(1))], False,
         "signature"),
        ("meter change note", [setv(f"batches.{change_b}.records.{change_r}.noteText", "x")],
         False, "meter"),
        ("proof node", [setv("batches.0.proof.proof.0", "0x" + "33" * 32)], False, "root"),
        ("a reading dropped", [delete(f"batches.{two}.readings.0")], False, "proof"),
        ("readings reordered", [swap(f"batches.{two}.readings", 0, 1)], False, "proof"),
        ("a batch dropped", [delete("batches.0")], False, "evidence"),
        ("report hash", [setv("reportHash", "0x" + "44" * 32)], False, "document"),
        ("methodology address", [setv("report.methodology.address",
                                      "0x0000000000000000000000000000000000000001")], False,
         "document"),
        ("methodology id", [setv("report.methodology.id", "cn.electricity.location")], True,
         "compute"),
        ("manual amount", [edit(f"{lines}.{manual}.amount", _plus(1))], False, "document"),
        ("manual amount, rehashed", [edit(f"{lines}.{manual}.amount", _plus(1000))], True,
         "compute"),
        ("manual grams, rehashed", [edit(f"{lines}.{manual}.grams", _plus(1))], True,
         "document"),
        ("totals", [edit("report.totals.total", _plus(1))], True, "document"),
        ("totals and grams", [edit(f"{lines}.{manual}.grams", _plus(1)),
                              edit("report.totals.scope1", _plus(1)),
                              edit("report.totals.total", _plus(1))], True, "compute"),
        ("measured amount", [edit(f"{lines}.{changed}.amount", _plus(1)), refigure], True,
         "activity"),
        ("measured rollovers", [edit(f"{lines}.0.rollovers", _plus(1))], True, "activity"),
        ("measured gap records hidden", [edit(f"{lines}.{changed}.gapRecords", _plus(-1))],
         True, "activity"),
        ("measured start reading", [edit(f"{lines}.{changed}.startReading.value", _plus(1))],
         True, "evidence"),
        ("period start", [edit("report.period.start", _plus(-86_400))], True, "document"),
        ("period end", [edit("report.period.end", _plus(-86_400))], True, "document"),
        ("period label", [setv("report.period.label", "2026-11")], True, "document"),
        ("period zone", [setv("report.period.zone", "Europe/Berlin")], True, "document"),
        ("measured line relabelled to a source of another unit",
         [setv(f"{lines}.0.source", "heat.purchased"), setv(f"{lines}.0.unit", "kJ"),
          setv("report.plan.0.source", "heat.purchased"), refigure], True, "compute"),
        ("plan modulus", [setv("report.plan.0.counterModulus", None)], True, "activity"),
        ("plan source", [setv("report.plan.0.source", "electricity.grid.east")], True,
         "evidence"),
        ("site", [_site("demo-co/other-plant")], True, "document"),
        ("batch item dropped", [delete("report.batches.items.0"), reroot], True, "evidence"),
        ("batch item root", [setv("report.batches.items.0.root", "0x" + "55" * 32)], True,
         "document"),
        ("domain chain", [setv("domain.chainId", "1")], False, "domain"),
    ]


def _ids() -> list[str]:
    return [case[0] for case in _cases(offline_scenario(TEST_KEY)[0])]


@pytest.mark.parametrize("index", range(len(_ids())), ids=_ids())
def test_a_tampered_bundle_fails_at_the_step_named(bundle: ReportBundle, index: int) -> None:
    name, mutations, rehash, step = _cases(bundle)[index]
    assert step in STEPS
    forged = forge(bundle, *mutations, rehash=rehash)
    with pytest.raises(VerificationError) as raised:
        verify_report_bundle(forged)
    assert raised.value.step == step, f"{name}: {raised.value}"


def test_an_evidence_hash_changed_and_rehashed_passes_offline(bundle: ReportBundle) -> None:
    """Offline, nothing but the registry knows which evidence hash was submitted: the chain step
    ``report`` catches this (integration test)."""
    manual = len(bundle.report.lines) - 1
    forged = forge(bundle, setv(f"report.lines.{manual}.evidence", "0x" + "66" * 32),
                   rehash=True)
    verify_report_bundle(forged)
    assert forged.report_hash != bundle.report_hash


def test_a_period_end_moved_with_its_label_kept_fails_at_document(bundle: ReportBundle) -> None:
    """The period's label in its zone names exactly one span: a later end under the same label
    (the report hash recomputed) is refused offline."""
    forged = forge(bundle, edit("report.period.end", _plus(86_400)), rehash=True)
    with pytest.raises(VerificationError) as raised:
        verify_report_bundle(forged)
    assert raised.value.step == "document"
    assert "period label" in str(raised.value)


def test_unparseable_bytes_fail_at_format() -> None:
    with pytest.raises(VerificationError) as raised:
        verify_report_bytes(b'{"format": "trustmrv-report-bundle/1"}')
    assert raised.value.step == "format"


def test_an_override_line_passes_and_is_returned_beside_the_default_it_replaces(
        bundle: ReportBundle) -> None:
    """``fuel.natural_gas#OF`` = 0 with any evidence: the methodology computes 0 g for the
    invoice and every step passes (nothing offline or on chain can judge the evidence); the
    verifier returns the line with cn.machinery v1's default, 9900 (1e-4)."""
    forged = forge(bundle, add_override("fuel.natural_gas#OF", 0, keccak256(b"any pdf")),
                   rehash=True)
    assert forged.report.totals.scope1 == 0 < bundle.report.totals.scope1
    (override,) = verify_report_bundle(forged).overrides
    assert (override.number, override.line.source, override.target, override.parameter,
            override.line.amount, override.line.evidence) == (
        len(forged.report.lines), "fuel.natural_gas#OF", "fuel.natural_gas", "OF", 0,
        keccak256(b"any pdf"))
    assert override.default is not None and (override.default.key, override.default.value) == (
        "comb.natural_gas.OF", 9900)
    assert verify_report_bundle(bundle).overrides == ()
