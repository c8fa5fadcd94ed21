"""Reports on the embedded chain: submit, read back, refuse a duplicate, a period not ended, a
methodology not in force, a sender without the role or not the report's enterprise; a correction
supersedes and both stay visible; regulators attest with a statement hash, once each."""

from __future__ import annotations

from dataclasses import replace

import pytest
from report_chain import ReportChain, chain_report

from accounting_rules.errors import SupersessionMismatch
from accounting_rules.reports.onchain import attest_report, read_report, submit_report
from accounting_rules.reports.statement import AttestationStatement, Verdict, statement_hash
from accounting_rules.reports.struct import report_hash, report_of
from mrv_core.codec import parse_address
from mrv_core.errors import ConfigError, ContractRevert


def statement(rc: ReportChain, hash_: bytes, verdict: Verdict = Verdict.QUALIFIED,
              reasons: tuple[str, ...] = ("DATA_GAP",)) -> AttestationStatement:
    return AttestationStatement(hash_, parse_address(rc.regulator.address), verdict, reasons,
                                "gaps bridged", 1794000000)


def test_submitted_report_reads_back_with_its_block(report_chain: ReportChain) -> None:
    rc = report_chain
    doc = chain_report(rc, created_at=1)
    submitted = submit_report(rc.system, rc.enterprise, doc)
    assert submitted.report_hash == report_hash(doc)
    status = read_report(rc.system, submitted.report_hash)
    assert status is not None
    assert status.report == report_of(doc)
    assert status.submitted_block == submitted.block_number
    assert (status.superseded_by, status.attestations) == (None, ())
    with pytest.raises(ContractRevert.named("ReportRegistryReportExists")):
        submit_report(rc.system, rc.enterprise, doc)
    assert read_report(rc.system, b"\x01" * 32) is None


def test_correction_supersedes_and_both_stay_visible(report_chain: ReportChain) -> None:
    rc = report_chain
    first = submit_report(rc.system, rc.enterprise, chain_report(rc, created_at=2)).report_hash
    second = submit_report(rc.system, rc.enterprise,
                           chain_report(rc, created_at=3, supersedes=first)).report_hash
    old, new = read_report(rc.system, first), read_report(rc.system, second)
    assert old is not None and new is not None
    assert (old.superseded_by, new.superseded_by, new.report.supersedes) == (second, None, first)
    with pytest.raises(ContractRevert.named("ReportRegistryAlreadySuperseded")):
        submit_report(rc.system, rc.enterprise, chain_report(rc, created_at=4, supersedes=first))


def test_registry_refusals_come_back_before_sending(report_chain: ReportChain) -> None:
    rc = report_chain
    now = rc.chain.latest_timestamp()
    with pytest.raises(ContractRevert.named("ReportRegistryPeriodNotEnded")):
        submit_report(rc.system, rc.enterprise, chain_report(rc, start=now - 10, end=now + 3600))
    with pytest.raises(ContractRevert.named("MethodologyRegistryNoVersionInForce")):
        submit_report(rc.system, rc.enterprise, chain_report(rc, start=1000, end=2000))
    with pytest.raises(ContractRevert.named("ReportRegistryMissingRole")):
        submit_report(rc.system, rc.regulator, chain_report(rc, enterprise=rc.regulator))
    with pytest.raises(ConfigError, match="an enterprise submits only its own reports"):
        submit_report(rc.system, rc.other_enterprise, chain_report(rc, created_at=5))


def test_regulator_attests_once_with_the_statement_hash(report_chain: ReportChain) -> None:
    rc = report_chain
    hash_ = submit_report(rc.system, rc.enterprise, chain_report(rc, created_at=6)).report_hash
    given = statement(rc, hash_)
    attest_report(rc.system, rc.regulator, given)
    status = read_report(rc.system, hash_)
    assert status is not None
    (attestation,) = status.attestations
    assert (attestation.regulator, attestation.verdict, attestation.statement_hash) == (
        given.regulator, Verdict.QUALIFIED, statement_hash(given))
    with pytest.raises(ContractRevert.named("ReportRegistryAlreadyAttested")):
        attest_report(rc.system, rc.regulator, statement(rc, hash_, Verdict.ACCEPTED, ()))
    with pytest.raises(ContractRevert.named("ReportRegistryUnknownReport")):
        attest_report(rc.system, rc.regulator, statement(rc, b"\x07" * 32))
    with pytest.raises(ConfigError, match="the statement is"):
        attest_report(rc.system, rc.enterprise, given)


def test_a_correction_of_another_site_or_period_is_refused_before_sending(
        report_chain: ReportChain) -> None:
    """The registry checks only that the superseded report is the same enterprise's (review
    finding 5: a one-hour report of another site 'corrected' a month): ``submit_report`` reads
    the superseded report from the chain and refuses another site, period or methodology id
    before any transaction."""
    rc = report_chain
    first = submit_report(rc.system, rc.enterprise, chain_report(rc, created_at=7)).report_hash
    month = chain_report(rc, created_at=8, supersedes=first)
    block = rc.chain.w3.eth.block_number
    for changed, field in (
            (replace(month, period=replace(month.period, end=month.period.start + 3600)),
             "period_end"),
            (replace(month, site=None), "site")):
        with pytest.raises(SupersessionMismatch, match=f"has {field} ") as caught:
            submit_report(rc.system, rc.enterprise, changed)
        assert caught.value.field == field
    assert rc.chain.w3.eth.block_number == block  # nothing sent
    status = read_report(rc.system, first)
    assert status is not None and status.superseded_by is None
    assert submit_report(rc.system, rc.enterprise, month).report_hash == report_hash(month)
