"""Reports through the ledger API on the embedded chain: an enterprise admin enters a natural-gas
invoice with its evidence and creates the month's report (the methodology in force resolved on
chain, the invoice a manual line, the calculator's grams); the document served is the one whose
hash the Report commits to; once submitted, the report shows its block; a regulator granted the
enterprise posts its statement, kept only when the chain holds that attestation; a correction
supersedes and both stay listed.

The figures' source here is a ledger with no metered point for the site (``no_meters``: what
``ledger_api.recompute.meter_figures`` answers for an empty plan); the measured lines' path is
covered by tests/unit/accounting_rules/reports/test_build.py until the branches merge."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from ledger_support import API_SECRET, bearer, new_principal
from report_chain import ReportChain
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from accounting_rules.reports import document_hash, loads_report
from accounting_rules.reports.onchain import attest_report, submit_report
from accounting_rules.reports.statement import (
    AttestationStatement,
    Verdict,
    statement_bytes,
)
from accounting_rules.reports.struct import report_hash
from ledger_api.access import Role
from ledger_api.access.store import grant_enterprise
from ledger_api.app import Services, create_app
from ledger_api.db.engine import make_sessions
from mrv_core.codec import format_hex, parse_address, parse_hex
from mrv_core.hashing import keccak256

PDF = b"%PDF-1.7\n% natural gas invoice no. 123\n" + bytes(range(200))
SITE = "demo-co/wuxi-plant"


def no_meters(session: Session, enterprise: bytes, site: str | None, start: int,
              end: int) -> Sequence[Any]:
    """The measured figures of a ledger whose plan has no metered point for the site."""
    return []


@pytest.fixture
def api(report_chain: ReportChain, sqlite_ledger_engine: Engine) -> Iterator[TestClient]:
    engine = sqlite_ledger_engine
    services = Services(engine, make_sessions(engine), system=report_chain.system,
                        api_secret=API_SECRET, figures=no_meters)
    with TestClient(create_app(services)) as client:
        yield client


def test_a_report_is_created_submitted_attested_and_corrected(
        api: TestClient, report_chain: ReportChain, sqlite_ledger_engine: Engine) -> None:
    rc, engine = report_chain, sqlite_ledger_engine
    enterprise = parse_address(rc.enterprise.address)
    _, admin = new_principal(engine, Role.ENTERPRISE_ADMIN, enterprise)
    regulator_id, regulator_key = new_principal(engine, Role.REGULATOR)
    stored = api.post("/v1/evidence", content=PDF, params={"name": "invoice-123.pdf"},
                      headers={**bearer(admin), "Content-Type": "application/pdf"})
    assert stored.status_code == 201, stored.text
    entered = api.post("/v1/activities", headers=bearer(admin), json={
        "site": SITE, "source": "fuel.natural_gas", "amount": "10000000",
        "periodStart": 1790784000, "periodEnd": 1793462400, "evidence": stored.json()["hash"],
        "description": "natural gas invoice no. 123"})
    assert entered.status_code == 201, entered.text

    created = api.post("/v1/reports", headers=bearer(admin), json={
        "site": SITE, "period": "2026-10", "methodology": "cn.machinery"})
    assert created.status_code == 201, created.text
    body = created.json()
    doc = loads_report(api.get(f"/v1/reports/{body['reportHash']}/document",
                               headers=bearer(admin)).content)
    assert format_hex(report_hash(doc)) == body["reportHash"]
    assert format_hex(document_hash(doc)) == body["documentHash"]
    assert doc.methodology.address == parse_address(rc.machinery.address)
    assert (doc.period.start, doc.period.end, doc.period.label) == (1790784000, 1793462400,
                                                                    "2026-10")
    (line,) = doc.lines
    assert (line.source, line.amount, line.evidence) == ("fuel.natural_gas", 10_000_000,
                                                         keccak256(PDF))
    assert line.grams == doc.totals.scope1 == doc.totals.total == 21_621_888

    key = parse_hex(body["reportHash"], 32)
    detail = api.get(f"/v1/reports/{body['reportHash']}", headers=bearer(admin)).json()
    assert detail["chain"] == {"submitted": False, "block": None, "submittedAt": None,
                               "supersededBy": None, "attestations": []}
    submitted = submit_report(rc.system, rc.enterprise, doc)
    detail = api.get(f"/v1/reports/{body['reportHash']}", headers=bearer(admin)).json()
    assert (detail["chain"]["submitted"], detail["chain"]["block"]) == (
        True, submitted.block_number)

    statement = AttestationStatement(key, parse_address(rc.regulator.address),
                                     Verdict.ACCEPTED, (), "checked against the invoice",
                                     1796000000)
    path = f"/v1/reports/{body['reportHash']}/attestations"
    headers = {**bearer(regulator_key), "Content-Type": "application/json"}
    assert api.post(path, content=statement_bytes(statement),
                    headers=headers).status_code == 404  # no grant yet: not visible
    with make_sessions(engine).begin() as session:
        grant_enterprise(session, regulator_id, enterprise, by="test", now=datetime.now(UTC))
    early = api.post(path, content=statement_bytes(statement), headers=headers)
    assert early.status_code == 409 and early.json()["type"].endswith("chain")
    attest_report(rc.system, rc.regulator, statement)
    kept = api.post(path, content=statement_bytes(statement), headers=headers)
    assert kept.status_code == 201, kept.text
    other = replace(statement, comments="another text")  # not the hash on chain
    assert api.post(path, content=statement_bytes(other), headers=headers).status_code == 409
    (attestation,) = api.get(f"/v1/reports/{body['reportHash']}",
                             headers=bearer(regulator_key)).json()["chain"]["attestations"]
    assert (attestation["verdict"], attestation["avr"]) == ("Accepted", "satisfactory")
    assert attestation["statement"]["comments"] == "checked against the invoice"

    corrected = api.post("/v1/reports", headers=bearer(admin), json={
        "site": SITE, "period": "2026-10", "methodology": "cn.machinery",
        "supersedes": body["reportHash"]})
    assert corrected.status_code == 201, corrected.text
    correction = loads_report(api.get(f"/v1/reports/{corrected.json()['reportHash']}/document",
                                      headers=bearer(admin)).content)
    submit_report(rc.system, rc.enterprise, correction)
    listed = api.get("/v1/reports", headers=bearer(admin)).json()["reports"]
    assert {r["reportHash"] for r in listed} == {body["reportHash"],
                                                corrected.json()["reportHash"]}
    old = api.get(f"/v1/reports/{body['reportHash']}", headers=bearer(admin)).json()
    assert old["chain"]["supersededBy"] == corrected.json()["reportHash"]


def test_report_creation_refusals(api: TestClient, report_chain: ReportChain,
                                  sqlite_ledger_engine: Engine) -> None:
    enterprise = parse_address(report_chain.enterprise.address)
    _, admin = new_principal(sqlite_ledger_engine, Role.ENTERPRISE_ADMIN, enterprise)
    _, reader = new_principal(sqlite_ledger_engine, Role.ENTERPRISE_READER, enterprise)
    ask = {"site": SITE, "period": "2026-10", "methodology": "cn.machinery"}
    for changes, status, check in [({"period": "2026-13"}, 422, "period"),
                                   ({"zone": "Mars/Olympus"}, 422, "period"),
                                   ({"methodology": "cn.heat.purchased"}, 422, "methodology"),
                                   ({"period": "2019-06"}, 422, "methodology"),
                                   ({"site": "demo-co/wuxi-plant/hall"}, 422, "format"),
                                   ({"supersedes": "0x12"}, 422, "format")]:
        response = api.post("/v1/reports", headers=bearer(admin), json={**ask, **changes})
        assert response.status_code == status, (changes, response.text)
        assert response.json()["type"].endswith(check)
    assert api.post("/v1/reports", headers=bearer(reader), json=ask).status_code == 403
    missing = "0x" + "11" * 32
    assert api.get(f"/v1/reports/{missing}", headers=bearer(admin)).status_code == 404
    assert api.get(f"/v1/reports/{missing}/document", headers=bearer(admin)).status_code == 404
