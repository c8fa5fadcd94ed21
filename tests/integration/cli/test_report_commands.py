"""``mrv report submit|attest|show`` against a real anvil node with keystore keys: a report goes
on chain once, a period not ended and a second submission are refused in one line with the
remedy, a regulator's verdict goes on chain with the hash of the statement it writes, and
``show`` prints both."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from integration.ledger_api.conftest import LedgerServer, free_port
from ledger_support import API_SECRET, bearer, new_principal
from report_factories import evidence_pdf, sample_report
from sqlalchemy.orm import Session
from web3 import HTTPProvider, Web3

from accounting_rules import load_methodology
from accounting_rules.publishing import assign_id, publish
from accounting_rules.reports import canonical_bytes, loads_report
from accounting_rules.reports.statement import loads_statement, statement_hash
from accounting_rules.reports.struct import report_hash
from factories import beijing
from ledger_api.access import Role
from ledger_api.access.store import grant_enterprise
from ledger_api.app import Services
from ledger_api.db.engine import make_engine, make_sessions
from ledger_api.db.migrate import upgrade
from mrv_cli.main import main
from mrv_core.chain import Deployment, NodeSigner, System, Transactor, connect, load_artifacts
from mrv_core.codec import format_address, format_hex, parse_address, parse_hex
from mrv_core.keys import PASSWORD_ENV

OK, FAILED, USAGE = 0, 1, 2


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def funded_key(anvil_url: str, path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    code, out = run(["keys", "new", "--light-kdf", "--out", str(path)], capsys)
    assert code == OK, out
    address = out.split()[1]
    w3 = Web3(HTTPProvider(anvil_url))
    w3.eth.wait_for_transaction_receipt(w3.eth.send_transaction(
        {"from": w3.eth.accounts[0], "to": address, "value": 10**21}))
    return address


@dataclass(frozen=True)
class OnAnvil:
    """A fresh deployment on the session's anvil with cn.machinery v1 published, and two
    funded keystore accounts (no role yet)."""

    chain_options: list[str]
    system: System
    machinery: str
    enterprise: str
    regulator: str
    keys: Path


@pytest.fixture
def on_anvil(anvil_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
             monkeypatch: pytest.MonkeyPatch) -> OnAnvil:
    monkeypatch.setenv(PASSWORD_ENV, "test-password")
    deployment = tmp_path / "deployment.json"
    assert run(["chain", "deploy", "--rpc", anvil_url, "--out", str(deployment)], capsys)[0] == OK
    chain = connect(anvil_url, evm_version=load_artifacts().evm_version())
    admin = Transactor(chain, NodeSigner(chain.unlocked_accounts()[0]))
    system = System(chain, Deployment.read(deployment))
    system.grant_role(admin, "ASSOCIATION_ROLE", admin.address)
    assign_id(system, admin, "cn.machinery", admin.address)
    machinery = publish(system, admin, load_methodology("cn.machinery", 1), beijing(2021))
    return OnAnvil(["--rpc", anvil_url, "--deployment", str(deployment)], system,
                   machinery.address, funded_key(anvil_url, tmp_path / "enterprise.json", capsys),
                   funded_key(anvil_url, tmp_path / "regulator.json", capsys), tmp_path)


def test_submit_attest_and_show_a_report(on_anvil: OnAnvil, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    chain_options, enterprise, regulator = (on_anvil.chain_options, on_anvil.enterprise,
                                            on_anvil.regulator)
    chain = on_anvil.system.chain
    machinery_address = on_anvil.machinery

    base = sample_report()
    doc = replace(base, enterprise=parse_address(enterprise),
                  methodology=replace(base.methodology, address=parse_address(machinery_address)))
    document = tmp_path / "report.json"
    document.write_bytes(canonical_bytes(doc))
    submit = ["report", "submit", "--document", str(document), "--key",
              str(tmp_path / "enterprise.json"), *chain_options]
    code, out = run(submit, capsys)
    assert code == USAGE and "ReportRegistryMissingRole" in out and "ENTERPRISE_ROLE" in out
    assert len(out.splitlines()) == 1
    assert run(["chain", "grant", "enterprise", enterprise, *chain_options], capsys)[0] == OK
    assert run(["chain", "grant", "regulator", regulator, *chain_options], capsys)[0] == OK
    code, out = run(submit, capsys)
    hash_ = format_hex(report_hash(doc))
    assert code == OK, out
    assert f"submitted  report {hash_}" in out
    code, out = run(submit, capsys)
    assert code == USAGE and "ReportRegistryReportExists" in out
    assert "a correction is a new report that supersedes it" in out

    future = tmp_path / "future.json"
    now = chain.latest_timestamp()
    future.write_bytes(canonical_bytes(replace(doc, period=replace(doc.period, start=now - 60,
                                                                   end=now + 86_400))))
    code, out = run([*submit[:3], str(future), *submit[4:]], capsys)
    assert code == USAGE and "ReportRegistryPeriodNotEnded" in out
    assert "reports cover closed periods" in out and len(out.splitlines()) == 1

    attest = ["report", "attest", hash_, "--key", str(tmp_path / "regulator.json"),
              *chain_options]
    code, out = run([*attest, "--verdict", "rejected"], capsys)
    assert code == USAGE and "a Rejected verdict gives at least one reason" in out
    statement_file = tmp_path / "statement.json"
    code, out = run([*attest, "--verdict", "qualified", "--reason", "DATA_GAP", "--comment",
                     "两处缺口按计数器差值补齐", "--statement-out", str(statement_file)], capsys)
    assert code == OK, out
    statement = loads_statement(statement_file.read_bytes())
    assert statement.report == report_hash(doc)
    assert statement.regulator == parse_address(regulator)
    assert f"statement  {format_hex(statement_hash(statement))}" in out
    assert json.loads(statement_file.read_bytes())["avr"] == "satisfactory with comments"

    code, out = run(["report", "show", hash_, "--rpc-url", *chain_options[1:]], capsys)
    assert code == OK, out
    assert f"enterprise   {enterprise}" in out
    assert f"total        {doc.totals.total:,} g CO2e" in out
    assert (f"attestation  {regulator}: Qualified (satisfactory with comments)" in out)
    assert format_hex(statement_hash(statement)) in out
    code, out = run(["report", "show", "0x" + "00" * 32, *chain_options], capsys)
    assert code == FAILED and "no report 0x" in out


def no_meters(session: Session, enterprise: bytes, site: str | None, start: int,
              end: int) -> Sequence[Any]:
    """The measured figures of a ledger whose plan has no metered point for the site (the
    figures' path is tests/unit/accounting_rules/reports/test_build.py's until RECOMPUTE's
    ``meter_figures`` is merged)."""
    return []


def test_the_enterprise_side_over_http_then_submit_and_attest_through_the_api(
        on_anvil: OnAnvil, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The ledger API served by uvicorn on 127.0.0.1 against the same anvil: an activity with
    its evidence entered by ``mrv report activity add``, the report created by the API,
    submitted by ``mrv report submit HASH --api`` with the enterprise's key, attested by
    ``mrv report attest --api`` with the regulator's (the statement posted and kept)."""
    enterprise, regulator = parse_address(on_anvil.enterprise), parse_address(on_anvil.regulator)
    for role, address in (("enterprise", on_anvil.enterprise), ("regulator", on_anvil.regulator)):
        assert run(["chain", "grant", role, address, *on_anvil.chain_options], capsys)[0] == OK
    engine = make_engine(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    upgrade(engine)
    _, admin = new_principal(engine, Role.ENTERPRISE_ADMIN, enterprise)
    regulator_id, regulator_key = new_principal(engine, Role.REGULATOR)
    with make_sessions(engine).begin() as session:
        grant_enterprise(session, regulator_id, enterprise, by="test", now=datetime.now(UTC))
    services = Services(engine, make_sessions(engine), system=on_anvil.system,
                        api_secret=API_SECRET, figures=no_meters)
    server = LedgerServer(services, free_port()).up()
    try:
        api = ["--api", server.url]
        invoice = tmp_path / "invoice-123.pdf"
        invoice.write_bytes(evidence_pdf("natural gas invoice no. 123"))
        code, out = run(["report", "activity", "add", *api, "--api-key", admin, "--site",
                         "demo-co/wuxi-plant", "--source", "fuel.natural_gas", "--amount",
                         "10000 Nm3", "--period", "2026-10", "--evidence", str(invoice),
                         "--description", "invoice no. 123"], capsys)
        assert code == OK, out
        assert "entered    activity 1: fuel.natural_gas 10000000 dm3" in out
        code, out = run(["report", "activity", "list", *api, "--api-key", admin], capsys)
        listed, _ = json.JSONDecoder().raw_decode(out[out.index("{\n"):])  # the server logs too
        assert code == OK and listed["activities"][0]["amount"] == "10000000"
        document = tmp_path / "report.json"
        code, out = run(["report", "create", *api, "--api-key", admin, "--site",
                         "demo-co/wuxi-plant", "--period", "2026-10", "--methodology",
                         "cn.machinery", "--out", str(document)], capsys)
        assert code == OK and "(0 measured, 1 manual line(s))" in out, out
        hash_ = format_hex(report_hash(loads_report(document.read_bytes())))
        assert f"created    report {hash_}" in out

        code, out = run(["report", "submit", hash_, *api, "--api-key", admin, "--key",
                         str(on_anvil.keys / "enterprise.json"), *on_anvil.chain_options],
                        capsys)
        assert code == OK and f"submitted  report {hash_}" in out, out
        code, out = run(["report", "attest", hash_, "--verdict", "accepted", *api,
                         "--api-key", regulator_key, "--key",
                         str(on_anvil.keys / "regulator.json"), *on_anvil.chain_options], capsys)
        assert code == OK and f"posted     the statement to {server.url}" in out, out
        detail = httpx.get(f"{server.url}/v1/reports/{hash_}", headers=bearer(admin)).json()
        (attestation,) = detail["chain"]["attestations"]
        assert attestation["regulator"] == format_address(regulator)
        assert attestation["statement"]["verdict"] == "Accepted"

        code, out = run(["report", "submit", "0x" + "11" * 32, *api, "--api-key", admin,
                         "--key", str(on_anvil.keys / "enterprise.json"),
                         *on_anvil.chain_options], capsys)
        errors = [line for line in out.splitlines() if line.startswith("mrv: error:")]
        assert code == USAGE and len(errors) == 1 and "HTTP 404" in errors[0], out
        code, out = run(["report", "activity", "withdraw", "1", *api, "--api-key", admin],
                        capsys)
        assert code == OK and "withdrawn  activity 1" in out
    finally:
        server.down()
        engine.dispose()


def submitted_report(on_anvil: OnAnvil, capsys: pytest.CaptureFixture[str]) -> str:
    """The sample report submitted by the enterprise, both roles granted: its hash."""
    base = sample_report()
    doc = replace(base, enterprise=parse_address(on_anvil.enterprise),
                  methodology=replace(base.methodology,
                                      address=parse_address(on_anvil.machinery)))
    document = on_anvil.keys / "report.json"
    document.write_bytes(canonical_bytes(doc))
    for role, who in (("enterprise", on_anvil.enterprise), ("regulator", on_anvil.regulator)):
        assert run(["chain", "grant", role, who, *on_anvil.chain_options], capsys)[0] == OK
    code, out = run(["report", "submit", "--document", str(document), "--key",
                     str(on_anvil.keys / "enterprise.json"), *on_anvil.chain_options], capsys)
    assert code == OK, out
    return format_hex(report_hash(doc))


def test_attest_refuses_an_existing_statement_file_before_sending_and_keeps_it_when_the_api_fails(
        on_anvil: OnAnvil, capsys: pytest.CaptureFixture[str]) -> None:
    """An existing ``--statement-out`` is refused in one line (exit 2) with nothing sent; when
    the API cannot take the statement after the transaction, the statement is in the file
    and the error says where and how to post it again (exit 1)."""
    hash_ = submitted_report(on_anvil, capsys)
    attest = ["report", "attest", hash_, "--verdict", "accepted", "--key",
              str(on_anvil.keys / "regulator.json"), *on_anvil.chain_options]
    existing = on_anvil.keys / "existing.json"
    existing.write_bytes(b"{}")
    code, out = run([*attest, "--statement-out", str(existing)], capsys)
    assert code == USAGE and len(out.splitlines()) == 1
    assert f"--statement-out {existing}: expected a new file, got an existing one" in out
    assert existing.read_bytes() == b"{}"
    code, out = run(["report", "show", hash_, *on_anvil.chain_options], capsys)
    assert code == OK and "attestations none" in out, out

    kept = on_anvil.keys / "statement.json"
    closed = f"http://127.0.0.1:{free_port()}"
    code, out = run([*attest, "--statement-out", str(kept), "--api", closed, "--api-key",
                     "k"], capsys)
    assert code == FAILED, out
    statement = loads_statement(kept.read_bytes())
    assert "the attestation is on chain but the API did not keep its statement" in out
    assert f"the statement is in {kept}" in out
    assert f"--data-binary @{kept} {closed}/v1/reports/{hash_}/attestations" in out
    code, out = run(["report", "show", hash_, *on_anvil.chain_options], capsys)
    assert code == OK and format_hex(statement_hash(statement)) in out, out


def test_submit_refuses_a_correction_of_another_period_in_one_line_before_sending(
        on_anvil: OnAnvil, capsys: pytest.CaptureFixture[str]) -> None:
    """``mrv report submit`` of a report whose ``supersedes`` is a report on chain of another
    period: exit 2, one line naming the field, and the old report is not superseded."""
    hash_ = submitted_report(on_anvil, capsys)
    base = sample_report(supersedes=parse_hex(hash_, 32))
    doc = replace(base, enterprise=parse_address(on_anvil.enterprise),
                  period=replace(base.period, end=base.period.start + 86_400),
                  methodology=replace(base.methodology,
                                      address=parse_address(on_anvil.machinery)))
    document = on_anvil.keys / "correction.json"
    document.write_bytes(canonical_bytes(doc))
    code, out = run(["report", "submit", "--document", str(document), "--key",
                     str(on_anvil.keys / "enterprise.json"), *on_anvil.chain_options], capsys)
    assert code == USAGE and len(out.splitlines()) == 1, out
    assert "a correction supersedes the report of the same enterprise, site, period" in out
    assert f"{hash_} has period_end " in out
    code, out = run(["report", "show", hash_, *on_anvil.chain_options], capsys)
    assert code == OK and "superseded   -" in out, out
