"""ReportRegistry: EIP-712 report hashes, no overwrites, supersede rules, methodology check,
attestations."""

from __future__ import annotations

from typing import Any

from eth_account.messages import _hash_eip191_message, encode_typed_data
from eth_utils import keccak
from integration.contracts.support import (
    METHODOLOGY_ID,
    PLACEHOLDER_FACTORS,
    PLACEHOLDER_SOURCES,
    REPORT_FIELDS,
    System,
    create_methodology,
    events,
    make_report,
    year_start,
)

from mrv_core.chain import Sent

REPORT_TYPE = ("Report(address enterprise,bytes32 site,uint64 periodStart,uint64 periodEnd,"
               "bytes32 methodologyId,address methodology,uint256 scope1,uint256 scope2,"
               "uint256 total,bytes32 batches,bytes32 document,bytes32 supersedes)")
REPORT_TYPES = ["address", "bytes32", "uint64", "uint64", "bytes32", "address", "uint256",
                "uint256", "uint256", "bytes32", "bytes32", "bytes32"]
ACCEPTED, REJECTED, QUALIFIED = 1, 2, 3
STATEMENT = keccak(text="verification statement")


def _typed_data(system: System, report: tuple[Any, ...]) -> dict[str, Any]:
    return {
        "types": {
            "EIP712Domain": [{"name": "name", "type": "string"},
                             {"name": "version", "type": "string"},
                             {"name": "chainId", "type": "uint256"},
                             {"name": "verifyingContract", "type": "address"}],
            "Report": [{"name": n, "type": t}
                       for n, t in zip(REPORT_FIELDS, REPORT_TYPES, strict=True)],
        },
        "primaryType": "Report",
        "domain": {"name": "TrustMRV", "version": "1", "chainId": system.w3.eth.chain_id,
                   "verifyingContract": system.reports.address},
        "message": dict(zip(REPORT_FIELDS, report, strict=True)),
    }


def _submit(system: System, report: tuple[Any, ...],
            sender: Any = None) -> tuple[bytes, Sent]:
    functions = system.reports.functions
    report_hash = functions.hashReport(report).call()
    sent = system.chain.send(functions.submitReport(report), sender or system.enterprise)
    return report_hash, sent


def test_report_hash_and_digest_are_eip712(system: System) -> None:
    report = make_report(system)
    functions = system.reports.functions
    assert functions.REPORT_TYPEHASH().call() == keccak(text=REPORT_TYPE)
    signable = encode_typed_data(full_message=_typed_data(system, report))
    report_hash = functions.hashReport(report).call()
    assert report_hash == signable.body
    assert functions.reportDigest(report_hash).call() == _hash_eip191_message(signable)
    assert functions.eip712Domain().call()[1:5] == [
        "TrustMRV", "1", system.w3.eth.chain_id, system.reports.address]


def test_submit_stores_and_emits(system: System) -> None:
    report = make_report(system)
    report_hash, sent = _submit(system, report)
    (event,) = events(system.reports, "ReportSubmitted", sent.receipt)
    event["report"] = tuple(event["report"].values())
    assert event == {"reportHash": report_hash, "enterprise": system.enterprise.address,
                     "supersedes": bytes(32), "report": report}
    record = system.reports.functions.reportRecord(report_hash).call()
    block = system.w3.eth.get_block(sent.block_number)
    assert tuple(record[0]) == report
    assert tuple(record[1:]) == (sent.block_number, block["timestamp"], bytes(32))
    assert system.reports.functions.reportExists(report_hash).call()


def test_reports_are_never_overwritten(system: System) -> None:
    report = make_report(system)
    report_hash, _ = _submit(system, report)
    decoded = system.chain.revert_of(system.reports.functions.submitReport(report),
                                     system.enterprise)
    assert (decoded.error, decoded.args_by_name) == (
        "ReportRegistryReportExists", {"reportHash": report_hash})


def test_submission_checks(system: System) -> None:
    submit = system.reports.functions.submitReport
    revert = system.chain.revert_of
    enterprise = system.enterprise
    decoded = revert(submit(make_report(system, periodStart=5, periodEnd=5)), enterprise)
    assert (decoded.error, decoded.args_by_name) == (
        "ReportRegistryInvalidPeriod", {"periodStart": 5, "periodEnd": 5})
    future = system.chain.latest_timestamp() + 86_400
    decoded = revert(submit(make_report(system, periodStart=future - 10, periodEnd=future)),
                     enterprise)
    assert decoded.error == "ReportRegistryPeriodNotEnded"
    assert decoded.args_by_name["periodEnd"] == future
    decoded = revert(submit(make_report(system, methodology=system.consortium.address)),
                     enterprise)
    start = make_report(system)[2]
    assert (decoded.error, decoded.args_by_name) == ("ReportRegistryMethodologyMismatch", {
        "id": METHODOLOGY_ID, "periodStart": start, "expected": system.electricity.address,
        "actual": system.consortium.address})
    decoded = revert(submit(make_report(system, periodStart=year_start(2019),
                                        periodEnd=year_start(2019) + 10)), enterprise)
    assert decoded.error == "MethodologyRegistryNoVersionInForce"
    decoded = revert(submit(make_report(system, enterprise=system.enterprise2.address)),
                     enterprise)
    assert (decoded.error, decoded.args_by_name) == (
        "ReportRegistryEnterpriseMismatch", {"caller": enterprise.address,
                                             "enterprise": system.enterprise2.address})


def test_methodology_must_be_the_version_in_force_at_period_start(system: System) -> None:
    chain = system.chain
    v2 = create_methodology(chain, system.core, METHODOLOGY_ID, 2, keccak(text="v2"),
                            PLACEHOLDER_SOURCES, PLACEHOLDER_FACTORS, sender=system.association)
    effective = chain.latest_timestamp() + 100
    chain.send(system.methodologies.functions.publish(METHODOLOGY_ID, v2.address, effective),
               system.association)
    chain.set_next_timestamp(effective + 1000)
    chain.mine()
    late = make_report(system, periodStart=effective, periodEnd=effective + 500)
    decoded = chain.revert_of(system.reports.functions.submitReport(late), system.enterprise)
    assert decoded.error == "ReportRegistryMethodologyMismatch"
    assert (decoded.args_by_name["expected"], decoded.args_by_name["actual"]) == (
        v2.address, system.electricity.address)
    _submit(system, make_report(system, periodStart=effective, periodEnd=effective + 500,
                                methodology=v2.address))
    # A period that started before v2 still resolves to v1.
    _submit(system, make_report(system, periodStart=effective - 1, periodEnd=effective + 500))


def test_supersede_rules(system: System) -> None:
    submit = system.reports.functions.submitReport
    revert = system.chain.revert_of
    original, _ = _submit(system, make_report(system))
    missing = keccak(text="no such report")
    decoded = revert(submit(make_report(system, supersedes=missing)), system.enterprise)
    assert (decoded.error, decoded.args_by_name) == (
        "ReportRegistryUnknownReport", {"reportHash": missing})
    foreign = make_report(system, enterprise=system.enterprise2.address, supersedes=original)
    decoded = revert(submit(foreign), system.enterprise2)
    assert (decoded.error, decoded.args_by_name) == (
        "ReportRegistryForeignReport", {"reportHash": original,
                                        "enterprise": system.enterprise.address})

    correction = make_report(system, scope2=1_234_000_000, total=1_234_000_000,
                             supersedes=original)
    corrected, sent = _submit(system, correction)
    assert events(system.reports, "ReportSuperseded", sent.receipt) == [
        {"reportHash": original, "supersededBy": corrected}]
    assert system.reports.functions.reportRecord(original).call()[3] == corrected
    decoded = revert(submit(make_report(system, scope1=1, total=1_234_567_891,
                                        supersedes=original)), system.enterprise)
    assert (decoded.error, decoded.args_by_name) == (
        "ReportRegistryAlreadySuperseded", {"reportHash": original, "supersededBy": corrected})
    # A correction can itself be corrected.
    again, _ = _submit(system, make_report(system, scope2=7, total=7, supersedes=corrected))
    assert system.reports.functions.reportRecord(corrected).call()[3] == again


def test_attestations(system: System) -> None:
    attest = system.reports.functions.attestReport
    revert = system.chain.revert_of
    regulator = system.regulator
    report_hash, _ = _submit(system, make_report(system))
    missing = keccak(text="missing")
    decoded = revert(attest(missing, ACCEPTED, STATEMENT), regulator)
    assert (decoded.error, decoded.args_by_name) == (
        "ReportRegistryUnknownReport", {"reportHash": missing})
    assert revert(attest(report_hash, 0, STATEMENT), regulator).error == \
        "ReportRegistryInvalidVerdict"
    assert revert(attest(report_hash, ACCEPTED, bytes(32)), regulator).error == \
        "ReportRegistryZeroStatement"
    sent = system.chain.send(attest(report_hash, QUALIFIED, STATEMENT), regulator)
    assert events(system.reports, "ReportAttested", sent.receipt) == [{
        "reportHash": report_hash, "regulator": regulator.address, "verdict": QUALIFIED,
        "statementHash": STATEMENT}]
    block = system.w3.eth.get_block(sent.block_number)
    assert tuple(system.reports.functions.attestation(report_hash, regulator.address).call()) == (
        QUALIFIED, block["timestamp"], STATEMENT)
    decoded = revert(attest(report_hash, REJECTED, STATEMENT), regulator)
    assert (decoded.error, decoded.args_by_name) == (
        "ReportRegistryAlreadyAttested", {"reportHash": report_hash,
                                          "regulator": regulator.address})

    # A second verification body attests independently.
    second = system.outsider
    system.chain.send(system.consortium.functions.grantRole(
        system.role("REGULATOR_ROLE"), second.address), system.admin)
    system.chain.send(attest(report_hash, REJECTED, keccak(text="second")), second)
    assert system.reports.functions.attestersOf(report_hash).call() == [
        regulator.address, second.address]


def test_an_enterprise_never_attests_its_own_report(system: System) -> None:
    report_hash, _ = _submit(system, make_report(system))
    functions = system.consortium.functions
    system.chain.send(functions.revokeRole(system.role("ENTERPRISE_ROLE"),
                                           system.enterprise.address), system.admin)
    system.chain.send(functions.grantRole(system.role("REGULATOR_ROLE"),
                                          system.enterprise.address), system.admin)
    decoded = system.chain.revert_of(
        system.reports.functions.attestReport(report_hash, ACCEPTED, STATEMENT), system.enterprise)
    assert (decoded.error, decoded.args_by_name) == (
        "ReportRegistrySelfAttestation", {"reportHash": report_hash,
                                          "regulator": system.enterprise.address})
