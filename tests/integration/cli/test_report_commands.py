"""``mrv report submit|attest|show`` against a real anvil node with keystore keys: a report goes
on chain once, a period not ended and a second submission are refused in one line with the
remedy, a regulator's verdict goes on chain with the hash of the statement it writes, and
``show`` prints both."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from report_factories import sample_report
from web3 import HTTPProvider, Web3

from accounting_rules import load_methodology
from accounting_rules.publishing import assign_id, publish
from accounting_rules.reports import canonical_bytes
from accounting_rules.reports.statement import loads_statement, statement_hash
from accounting_rules.reports.struct import report_hash
from factories import beijing
from mrv_cli.main import main
from mrv_core.chain import Deployment, NodeSigner, System, Transactor, connect, load_artifacts
from mrv_core.codec import format_hex, parse_address
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


def test_submit_attest_and_show_a_report(anvil_url: str, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "test-password")
    deployment = tmp_path / "deployment.json"
    assert run(["chain", "deploy", "--rpc", anvil_url, "--out", str(deployment)], capsys)[0] == OK
    chain_options = ["--rpc", anvil_url, "--deployment", str(deployment)]
    chain = connect(anvil_url, evm_version=load_artifacts().evm_version())
    admin = Transactor(chain, NodeSigner(chain.unlocked_accounts()[0]))
    system = System(chain, Deployment.read(deployment))
    system.grant_role(admin, "ASSOCIATION_ROLE", admin.address)
    assign_id(system, admin, "cn.machinery", admin.address)
    machinery = publish(system, admin, load_methodology("cn.machinery", 1), beijing(2021))
    enterprise = funded_key(anvil_url, tmp_path / "enterprise.json", capsys)
    regulator = funded_key(anvil_url, tmp_path / "regulator.json", capsys)

    base = sample_report()
    doc = replace(base, enterprise=parse_address(enterprise),
                  methodology=replace(base.methodology, address=parse_address(machinery.address)))
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

    code, out = run(["report", "show", hash_, *chain_options], capsys)
    assert code == OK, out
    assert f"enterprise   {enterprise}" in out
    assert f"total        {doc.totals.total:,} g CO2e" in out
    assert (f"attestation  {regulator}: Qualified (satisfactory with comments)" in out)
    assert format_hex(statement_hash(statement)) in out
    code, out = run(["report", "show", "0x" + "00" * 32, *chain_options], capsys)
    assert code == FAILED and "no report 0x" in out
