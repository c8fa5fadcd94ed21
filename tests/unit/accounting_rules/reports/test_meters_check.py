"""Step ``completeness``: a meter the device's signed summaries name for the period must be in the
report's plan, with a measured line of that device; what the bundle's summaries cannot show is
a warning (docs/protocol.md 11.4).

The forged reports here are built as an enterprise could build them: from the device's genuine
readings, batches and summaries, with one meter left out of the plan and the lines (figures,
batches list and report hash recomputed by the report module's own builder), so every step
before ``completeness`` passes.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from doc_mutations import Doc
from report_bundle_support import (
    CHANGED_METER,
    PERIOD_END,
    PERIOD_START,
    ROLLOVER_METER,
    SITE,
    MeterHistory,
    Reference,
    close_batches,
    forge,
    meter_histories,
    offline_scenario,
    report_bundle,
    report_document,
    signed_summary,
    with_summaries,
)

from accounting_rules.reports.bundle import ReportBundle
from accounting_rules.reports.document import ChainRef
from accounting_rules.reports.meters_check import check_meters
from accounting_rules.reports.verify import STEPS, verify_report_bundle
from factories import TEST_KEY
from mrv_core.codec import format_address
from mrv_core.eip712 import Domain
from mrv_core.errors import VerificationError
from mrv_core.hashing import keccak256
from mrv_core.records import SCOPE_SITE, SignedRecord

DEVICE = format_address(TEST_KEY.address)


def _site_of(histories: list[MeterHistory], domain: Domain) -> tuple[
        ReportBundle, list[SignedRecord]]:
    """The October report of the meters ``histories`` (the sparse evidence of each), and the
    device's signed monthly summary of each of its two meters, as it measured them."""
    everything = meter_histories(TEST_KEY, domain)
    batches = close_batches(TEST_KEY, domain, everything)
    ref = Reference(keccak256(b"enterprise")[:20],
                    ChainRef(31337, *(keccak256(n)[:20] for n in (b"r", b"a", b"m"))),
                    keccak256(b"methodology")[:20])
    doc = report_document(ref, TEST_KEY.address, histories, batches)
    bundle = report_bundle(doc, domain, histories, batches, [None] * len(batches))
    summaries = [signed_summary(TEST_KEY, domain, h.plan.meter_path, PERIOD_START, PERIOD_END,
                                h.energy(h.readings, h.records).energy) for h in everything]
    site = signed_summary(TEST_KEY, domain, SITE, PERIOD_START, PERIOD_END,
                          sum(s.record.activity for s in summaries),  # type: ignore[union-attr]
                          scope_kind=SCOPE_SITE, readings=len(summaries))
    return with_summaries(bundle, TEST_KEY, batches, [*summaries, site]), summaries


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain(31337, keccak256(b"a")[:20])


@pytest.fixture(scope="module")
def honest(domain: Domain) -> ReportBundle:
    return _site_of(meter_histories(TEST_KEY, domain), domain)[0]


def test_an_honest_bundle_names_every_summarized_meter_and_warns_of_nothing(
        honest: ReportBundle) -> None:
    verified = verify_report_bundle(honest)
    assert verified.meters.named == (ROLLOVER_METER, CHANGED_METER)  # sorted by path
    assert verified.meters.summaries == 3 and verified.meters.unchecked == ()
    assert verified.meters.warnings() == ()
    assert sorted(verified.cross_checked) == sorted((ROLLOVER_METER, CHANGED_METER))


def test_a_report_that_drops_a_meter_the_summaries_name_fails_at_completeness(
        domain: Domain, honest: ReportBundle) -> None:
    kept = [h for h in meter_histories(TEST_KEY, domain) if h.plan.meter_path != CHANGED_METER]
    forged, _ = _site_of(kept, domain)
    assert [p.meter_path for p in forged.report.plan] == [ROLLOVER_METER]
    assert forged.report.totals.total < honest.report.totals.total  # it under-reports
    assert "completeness" in STEPS
    with pytest.raises(VerificationError) as raised:
        verify_report_bundle(forged)
    assert raised.value.step == "completeness"
    assert (f"{CHANGED_METER}: device {DEVICE} signed summaries of it over [{PERIOD_START}, "
            f"{PERIOD_END}), in the report's period [{PERIOD_START}, {PERIOD_END}), but the "
            "report's plan of 1 meter(s) does not list it") in str(raised.value)


def test_a_meter_kept_in_the_plan_without_its_line_fails_at_completeness(
        domain: Domain, honest: ReportBundle) -> None:
    """The meter's line and evidence left out, its plan line kept (report hash recomputed):
    the plan no longer hides it, the lines do."""
    (plan_line,) = [p for p in json.loads(honest.dumps())["report"]["plan"]
                    if p["meterPath"] == CHANGED_METER]
    kept = [h for h in meter_histories(TEST_KEY, domain) if h.plan.meter_path != CHANGED_METER]

    def keep_plan_line(doc: Doc) -> None:
        doc["report"]["plan"] = sorted([*doc["report"]["plan"], plan_line],
                                       key=lambda p: p["meterPath"])

    forged = forge(_site_of(kept, domain)[0], keep_plan_line, rehash=True)
    assert len(forged.report.plan) == 2 and len(forged.report.measured) == 1
    with pytest.raises(VerificationError) as raised:
        verify_report_bundle(forged)
    assert raised.value.step == "completeness"
    assert (f"{CHANGED_METER}: device {DEVICE} signed summaries of it over" in str(raised.value)
            and str(raised.value).endswith("but the report has no measured line of it from "
                                           "that device"))


def test_a_bundle_without_summaries_warns_that_completeness_was_not_checked() -> None:
    bundle = offline_scenario(TEST_KEY)[0]
    assert bundle.summaries == ()
    coverage = verify_report_bundle(bundle).meters
    assert (coverage.named, coverage.summaries) == ((), 0)
    (warning,) = coverage.warnings()
    assert warning.startswith("completeness against the devices' signed summaries not checked: "
                              "the bundle carries no EmissionSummary of the period")


def test_site_scope_summaries_name_no_meter_and_leave_the_device_unchecked(
        domain: Domain, honest: ReportBundle) -> None:
    """A device whose summaries in the bundle are of its site only: nothing names its meters,
    so a dropped meter passes, with a warning naming the device."""
    kept = [h for h in meter_histories(TEST_KEY, domain) if h.plan.meter_path != CHANGED_METER]
    forged, _ = _site_of(kept, domain)
    site = signed_summary(TEST_KEY, domain, SITE, PERIOD_START, PERIOD_END, 1,
                          scope_kind=SCOPE_SITE)
    batches = close_batches(TEST_KEY, domain, meter_histories(TEST_KEY, domain))
    only_site = with_summaries(replace(forged, batches=forged.batches[:-1], summaries=()),
                               TEST_KEY, batches, [site])
    coverage = verify_report_bundle(only_site).meters
    assert (coverage.named, coverage.summaries, coverage.unchecked) == (
        (), 1, (TEST_KEY.address,))
    assert coverage.warnings() == (
        f"completeness of device {DEVICE}'s meters not checked: no meter-scope summary of it "
        "in the bundle for the period (none, or site scope only: no meter named)",)


def test_summaries_outside_the_period_name_nothing(domain: Domain,
                                                   honest: ReportBundle) -> None:
    """A summary of the month before names a meter that need not be in this report."""
    kept = [h for h in meter_histories(TEST_KEY, domain) if h.plan.meter_path != CHANGED_METER]
    forged, _ = _site_of(kept, domain)
    before = signed_summary(TEST_KEY, domain, CHANGED_METER, PERIOD_START - 86_400,
                            PERIOD_START, 5)
    moved = replace(forged, summaries=(before,))
    assert check_meters(moved.report, moved.summaries).summaries == 0


def test_a_bundle_that_proves_the_site_summary_without_a_meter_s_fails_at_completeness(
        domain: Domain, honest: ReportBundle) -> None:
    """Hostile review: a multiproof may prove any subset of a batch's leaves, so the bundle
    left out the dropped meter's summary and kept the other's: nothing named the meter. The
    device's site summary adds up every meter it summarizes, so the kept ones fall short."""
    kept = [h for h in meter_histories(TEST_KEY, domain) if h.plan.meter_path != CHANGED_METER]
    forged, summaries = _site_of(kept, domain)
    (site,) = [s for s in forged.summaries if s.record.scope_kind == SCOPE_SITE]  # type: ignore[union-attr]
    (kept_summary,) = [s for s in summaries if s.path == ROLLOVER_METER]
    batches = close_batches(TEST_KEY, domain, meter_histories(TEST_KEY, domain))
    subset = with_summaries(replace(forged, batches=forged.batches[:-1], summaries=()),
                            TEST_KEY, batches, [kept_summary, site])
    with pytest.raises(VerificationError) as raised:
        verify_report_bundle(subset)
    assert raised.value.step == "completeness"
    assert (f"device {DEVICE}'s site summary of electricity.grid (energy.active.import:Wh) "
            f"over [{PERIOD_START}, {PERIOD_END})") in str(raised.value)
    assert str(raised.value).endswith("the 1 meter summaries of it in the bundle count "
                                      f"{kept_summary.record.activity} from 1: a meter's "  # type: ignore[union-attr]
                                      "summary is left out")


def test_meter_summaries_without_their_site_summary_are_a_warning(
        domain: Domain, honest: ReportBundle) -> None:
    _, summaries = _site_of(meter_histories(TEST_KEY, domain), domain)
    batches = close_batches(TEST_KEY, domain, meter_histories(TEST_KEY, domain))
    no_site = with_summaries(replace(honest, batches=honest.batches[:-1], summaries=()),
                             TEST_KEY, batches, summaries)
    coverage = verify_report_bundle(no_site).meters
    assert coverage.unsummed == (TEST_KEY.address,)
    assert coverage.warnings() == (
        f"completeness of device {DEVICE}'s meter summaries not checked: the bundle leaves out "
        "its site summary of some of their periods, so a meter summary left out beside it "
        "would not be seen",)
