"""Report bundles end to end on the embedded chain: a system deployed, cn.machinery v1 published,
a device registered whose readings (a 32-bit rollover, a meter change, a missed poll) are
signed, batched and anchored, the October report built with the report module's code, submitted
and attested; its bundle verifies offline and against the chain, and what only the chain can
catch is caught there, at the step named. ``mrv bundle verify`` reads the same bundle."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from doc_mutations import edit, setv
from fastapi.testclient import TestClient
from integration.accounting.support import shallow
from ledger_support import API_SECRET, StaticDevices, bearer, new_principal
from report_bundle_support import OnChain, forge, on_chain, on_deployed, stored_figures
from report_chain import ReportChain
from sqlalchemy.orm import Session

from accounting_rules.reports.bundle import ReportBundle
from accounting_rules.reports.document import decode_report
from accounting_rules.reports.onchain import submit_report
from accounting_rules.reports.struct import report_hash, report_of
from accounting_rules.reports.verify import verify_report_bundle
from accounting_rules.reports.verify_chain import CHAIN_STEPS, verify_report_on_chain
from ledger_api.access.principals import Role
from ledger_api.app import Services, create_app
from ledger_api.chain.watcher import ChainWatcher
from ledger_api.db.engine import make_engine, make_sessions
from ledger_api.db.migrate import upgrade
from ledger_api.ingest.service import ingest
from ledger_api.reports.store import store_report
from mrv_cli.main import main
from mrv_core.batch import SignedBatchHeader
from mrv_core.chain import connect, load_artifacts
from mrv_core.codec import format_address, format_hex, parse_address
from mrv_core.errors import VerificationError
from mrv_core.keys import DeviceKey
from mrv_core.uplink import UplinkRequest


@pytest.fixture(scope="module")
def scenario(report_chain: ReportChain) -> OnChain:
    """The scenario on the session's embedded report chain (tests/report_chain.py: deployed,
    cn.machinery v1 published, an enterprise and a regulator): a new device, its batches
    anchored, the report submitted and accepted (about 2 s)."""
    rc = report_chain
    return shallow(lambda: on_deployed(rc.system, rc.enterprise, rc.regulator,
                                       parse_address(rc.machinery.address),
                                       DeviceKey.generate()))


def test_the_report_bundle_verifies_offline_and_against_the_chain(scenario: OnChain) -> None:
    bundle = scenario.bundle
    assert verify_report_bundle(bundle).chain is None
    status = shallow(lambda: verify_report_on_chain(bundle, scenario.system)).chain
    assert status is not None and status.superseded_by is None
    (attestation,) = status.attestations
    assert (format_address(attestation.regulator), attestation.verdict.label,
            attestation.statement_hash) == (scenario.regulator.address, "Accepted",
                                            scenario.statement)


def test_the_registry_computes_the_same_report_hash(scenario: OnChain) -> None:
    functions = scenario.system.reports.functions
    report = report_of(scenario.bundle.report)
    assert bytes(functions.hashReport(report.as_abi()).call()) == scenario.bundle.report_hash


def _fails_on_chain(scenario: OnChain, forged_step: str, *mutations: object,
                    rehash: bool = True) -> VerificationError:
    forged = forge(scenario.bundle, *mutations, rehash=rehash)  # type: ignore[arg-type]
    with pytest.raises(VerificationError) as raised:  # the offline steps run first
        shallow(lambda: verify_report_on_chain(forged, scenario.system))
    assert raised.value.step == forged_step, raised.value
    assert forged_step in CHAIN_STEPS  # so every offline step passed: only the chain can tell
    return raised.value


def test_a_changed_evidence_hash_is_caught_by_the_registry(scenario: OnChain) -> None:
    manual = len(scenario.bundle.report.lines) - 1
    error = _fails_on_chain(scenario, "report",
                            setv(f"report.lines.{manual}.evidence", "0x" + "66" * 32))
    assert "holds no report" in error.detail


def test_another_methodology_version_is_caught_by_the_methodology_registry(
        scenario: OnChain) -> None:
    """cn.machinery v2 gives the same figures for October, so only the registry, which
    resolves v1 for the period, can tell."""
    error = _fails_on_chain(scenario, "methodology", setv("report.methodology.version", "2"))
    assert "resolves to v1" in error.detail



def test_a_report_claimed_for_another_enterprise_is_caught_at_device(scenario: OnChain) -> None:
    other = format_address(bytes.fromhex("70997970c51812dc3a010c7d01b50e0d17dc79c8"))
    _fails_on_chain(scenario, "device", setv("report.enterprise", other))


def test_another_deployment_named_by_the_report_is_caught_at_chain(scenario: OnChain) -> None:
    other = format_address(bytes.fromhex("70997970c51812dc3a010c7d01b50e0d17dc79c8"))
    _fails_on_chain(scenario, "chain", setv("report.chain.reportRegistry", other))


def test_a_wrong_anchoring_transaction_is_caught_at_anchor(scenario: OnChain) -> None:
    _fails_on_chain(scenario, "anchor",
                    setv("batches.0.anchor.transactionHash", "0x" + "77" * 32), rehash=False)


def test_a_superseded_report_is_reported_with_its_successor(scenario: OnChain) -> None:
    doc = json.loads(scenario.bundle.dumps())
    doc["report"]["supersedes"] = format_hex(scenario.bundle.report_hash)
    doc["report"]["createdAt"] = str(int(doc["report"]["createdAt"]) + 1)
    correction = decode_report(doc["report"])
    shallow(lambda: submit_report(scenario.system, scenario.enterprise, correction))
    status = shallow(lambda: verify_report_on_chain(scenario.bundle, scenario.system)).chain
    assert status is not None and status.superseded_by == report_hash(correction)
    doc["reportHash"] = format_hex(report_hash(correction))
    corrected = forge(scenario.bundle, lambda d: d.update(doc))
    assert shallow(lambda: verify_report_on_chain(corrected, scenario.system)).chain is not None


def test_mrv_bundle_verify_reads_report_bundles_offline(scenario: OnChain, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    good = tmp_path / "report.json"
    scenario.bundle.write(good)
    bad = tmp_path / "tampered.json"
    forge(scenario.bundle, edit("batches.0.readings.0.value", lambda v: str(int(v) + 1))
          ).write(bad)
    assert main(["bundle", "verify", str(good)]) == 0
    out = capsys.readouterr().out
    assert f"OK    {good}: report {format_hex(scenario.bundle.report_hash)}" in out
    assert ("note: 2 of 2 measured line(s) not cross-checked with the devices' signed "
            "summaries") in out  # this bundle carries none
    # Exit 0, but the last line says plainly that the chain was not read.
    assert out.splitlines()[-1] == ("1 of 1 file(s) VALID offline: chain not checked (give "
                                    "--rpc and --deployment)")
    assert main(["bundle", "verify", "--json", str(good), str(bad)]) == 1
    first, second = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert (first["ok"], first["kind"], first["chainChecked"], first["crossChecked"]) == (
        True, "report", False, 0)
    assert (second["ok"], second["step"]) == (False, "signature")


def test_the_ledger_serves_the_report_bundle_and_it_verifies_on_chain(scenario: OnChain,
                                                                       tmp_path: Path) -> None:
    """The ledger ingests the device's batches, its chain watcher reads the anchors from the
    chain, the report is kept; ``GET /v1/reports/{hash}/bundle`` answers a bundle that passes
    every step against the chain. The figures' source is RECOMPUTE's ``meter_figures`` in the
    served API (another branch); here :func:`stored_figures` names the same leaves."""
    engine = make_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
    upgrade(engine)
    system, key = scenario.system, scenario.key
    enterprise = parse_address(scenario.enterprise.address)
    devices = StaticDevices({key.address}, enterprises={key.address: enterprise})
    for batch in scenario.batches:
        assert batch.header_signature is not None
        items = [*batch.readings, *batch.records,
                 SignedBatchHeader(batch.header, batch.header_signature)]
        with Session(engine) as session, session.begin():
            ingest(session, UplinkRequest.of(key.address, system.domain, items), devices,
                   system.domain, now=datetime.now(UTC))
    ChainWatcher(system, engine, confirmations=0).poll()
    reader, reader_key = new_principal(engine, Role.ENTERPRISE_READER, enterprise)
    with make_sessions(engine).begin() as session:
        store_report(session, scenario.bundle.report, created_by=reader, now=datetime.now(UTC))
    figures = stored_figures(scenario.histories, scenario.batches, key.address)
    services = Services(engine, make_sessions(engine), system=system, api_secret=API_SECRET,
                        figures=lambda *_: figures)
    app = create_app(services)
    url = f"/v1/reports/{format_hex(scenario.bundle.report_hash)}/bundle"
    try:
        with TestClient(app) as client:
            served = client.get(url, headers=bearer(reader_key))
            assert served.status_code == 200, served.text
            assert client.get(url.replace("/0x", "/0x0", 1)[:-1],
                              headers=bearer(reader_key)).status_code == 404
    finally:
        services.close()
    bundle = ReportBundle.loads(served.content)
    assert bundle.report == scenario.bundle.report
    assert all(b.anchor is not None for b in bundle.batches)
    assert verify_report_on_chain(bundle, system).chain is not None


def test_mrv_bundle_verify_checks_a_report_bundle_against_anvil(
        anvil_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The same scenario on a real node (anvil at the contracts' hardfork): the command needs
    only the bundle, the RPC URL and the deployment file; a changed evidence hash (report hash
    recomputed) fails at ``report``."""
    anvil = on_chain(connect(anvil_url, evm_version=load_artifacts().evm_version()),
                     DeviceKey.generate())
    deployment = tmp_path / "deployment.json"
    anvil.system.deployment.write(deployment)
    good, bad = tmp_path / "report.json", tmp_path / "evidence-changed.json"
    anvil.bundle.write(good)
    manual = len(anvil.bundle.report.lines) - 1
    forge(anvil.bundle, setv(f"report.lines.{manual}.evidence", "0x" + "66" * 32),
          rehash=True).write(bad)
    chain = ["--rpc", anvil_url, "--deployment", str(deployment)]
    assert main(["bundle", "verify", str(good), *chain]) == 0
    out = capsys.readouterr().out
    assert f"OK    {good}: report {format_hex(anvil.bundle.report_hash)}" in out
    assert f"note: attested Accepted by {anvil.regulator.address}" in out
    assert out.splitlines()[-1] == "1 of 1 file(s) VALID offline and against the chain"
    assert main(["bundle", "verify", "--json", str(good), str(bad), *chain]) == 1
    first, second = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert (first["ok"], first["chainChecked"], first["attestations"][0]["verdict"]) == (
        True, True, "Accepted")
    assert (second["ok"], second["step"]) == (False, "report")
