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
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any

import pytest
from fastapi.testclient import TestClient
from ledger_support import API_SECRET, bearer, new_principal
from report_chain import ReportChain
from report_factories import evidence_pdf
from retention_support import FOURTH_KEY, Fleet
from retention_support import A as ENTERPRISE_A
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from accounting_rules.counters import CounterReading, PeriodEnergy, RolloverRule, build_history
from accounting_rules.reports import (
    BatchRef,
    ReadingRef,
    ReportDocument,
    batches_root,
    document_hash,
    loads_report,
)
from accounting_rules.reports.onchain import attest_report, submit_report
from accounting_rules.reports.periods import report_period
from accounting_rules.reports.statement import (
    AttestationStatement,
    Verdict,
    statement_bytes,
    statement_hash,
)
from accounting_rules.reports.struct import report_hash
from factories import METER_PATHS, TEST_DOMAIN, TEST_KEY
from ledger_api.access import Role
from ledger_api.access.store import grant_enterprise
from ledger_api.app import Services, create_app
from ledger_api.db.engine import make_sessions
from ledger_api.errors import ReportRefused
from ledger_api.recompute import PlanPoint, meter_figures, replace_plan
from ledger_api.recompute.plan import check_plan
from ledger_api.reports.create import create_report
from mrv_core.batch import Batch, SignedBatchHeader
from mrv_core.codec import format_address, format_hex, parse_address, parse_hex
from mrv_core.hashing import keccak256
from mrv_core.reading import Reading, meter_id
from mrv_core.records import SCOPE_METER, EmissionSummary, SignedRecord
from mrv_core.uplink import Status

ENERGY = "energy.active.import:Wh"
NOW = datetime(2026, 11, 2, tzinfo=UTC)
PDF = evidence_pdf("natural gas invoice no. 123")
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
                                   ({"zone": "localtime"}, 422, "period"),
                                   ({"period": "9999-12-31", "zone": "Pacific/Kiritimati"},
                                    422, "period"),  # was a 500 (OverflowError)
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


@dataclass(frozen=True)
class Point:
    meter_path: str
    source: str = "electricity.grid"
    quantity: str = "energy.active.import:Wh"
    counter_modulus: int | None = None
    max_rate: Fraction | None = None


@dataclass(frozen=True)
class Figure:
    """Stands in for ``ledger_api.recompute.MeterFigure`` (RECOMPUTE's branch): the energy
    computed here with ``build_history`` from every reading the ledger holds for the meter."""

    point: Point
    device: bytes
    meter: bytes
    energy: PeriodEnergy
    leaves: tuple[tuple[bytes, int], ...]
    bridged_seconds: int = 0
    bridged_steps: int = 0


@dataclass(frozen=True)
class OneMeter:
    """October of one meter delivered through the real ingest, in two batches, and the report
    created from its figure (``document``), or the refusal (``refused``)."""

    times: list[int]
    batches: tuple[Batch, Batch]
    document: ReportDocument | None
    refused: ReportRefused | None


def _october_of_one_meter(report_chain: ReportChain, engine: Engine,
                          records: Sequence[SignedRecord] = ()) -> OneMeter:
    """The readings of ``METER_PATHS[0]`` around October, ``records`` in the second batch."""
    path = METER_PATHS[0]
    fleet = Fleet(engine)
    october = report_period("2026-10")
    times = [october.start - 600, october.start + 86_400, october.end - 7200,  # batch 0
             october.end - 300, october.end + 600]  # batch 1
    values = [5_000, 900_000, 119_000_000, 123_456_789, 123_500_000]
    signed = [TEST_KEY.sign_reading(Reading(
        device=TEST_KEY.address, meter=meter_id(path), seq=seq, timestamp=t,
        quantity="energy.active.import:Wh", value=v, salt=bytes([seq + 1]) * 32),
        TEST_DOMAIN, path) for seq, (t, v) in enumerate(zip(times, values, strict=True))]
    first, second = (TEST_KEY.close_batch(0, signed[:3], TEST_DOMAIN),
                     TEST_KEY.close_batch(1, signed[3:], TEST_DOMAIN, records))
    headers = [SignedBatchHeader(b.header, b.header_signature) for b in (first, second)
               if b.header_signature is not None]
    assert set(fleet.deliver([*signed, *records, *headers], TEST_KEY)) == {Status.ACCEPTED}

    counter = [CounterReading(r.reading.seq, r.reading.timestamp, r.reading.value)
               for r in signed]
    energy = build_history(counter, RolloverRule(None)).period(october.start, october.end)
    # The boundary readings: seq 0 (at or before the start) and seq 3 (at or before the end),
    # leaves at positions 0 and 3 of the device's stream.
    figure = Figure(Point(path), TEST_KEY.address, meter_id(path), energy,
                    leaves=((TEST_KEY.address, 0), (TEST_KEY.address, 3)))
    try:
        with make_sessions(engine).begin() as session:
            doc = create_report(session, report_chain.system, enterprise=ENTERPRISE_A,
                                site_path="demo-co/wuxi-plant", period=october,
                                methodology_id="cn.machinery", figures=[figure],
                                leaves=figure.leaves, supersedes=b"\0" * 32, created_by=1,
                                now=datetime(2026, 11, 2, tzinfo=UTC))
    except ReportRefused as exc:
        return OneMeter(times, (first, second), None, exc)
    return OneMeter(times, (first, second), doc, None)


def test_a_report_of_ingested_readings_commits_to_their_batches(
        report_chain: ReportChain, sqlite_ledger_engine: Engine) -> None:
    """Two batches of a meter's readings across October, delivered through the real ingest:
    the measured line's amount is the counter's increase over the month, and the report commits
    to exactly the batches holding the boundary readings, with the roots the device signed."""
    one = _october_of_one_meter(report_chain, sqlite_ledger_engine)
    doc, times, (first, second), path = one.document, one.times, one.batches, METER_PATHS[0]
    assert doc is not None, one.refused
    (line,) = doc.measured
    assert line.amount == 123_456_789 - 5_000
    assert (line.start_reading, line.end_reading) == (ReadingRef(0, times[0], 5_000),
                                                      ReadingRef(3, times[3], 123_456_789))
    assert line.grams == doc.totals.scope2 == doc.totals.total > 0
    assert doc.batches.items == (BatchRef(TEST_KEY.address, 0, first.header.root),
                                 BatchRef(TEST_KEY.address, 1, second.header.root))
    assert doc.batches.root == batches_root(doc.batches.items)
    assert [p.meter_path for p in doc.plan] == [path]


def test_a_report_leaving_out_a_meter_the_device_summarises_is_refused(
        report_chain: ReportChain, sqlite_ledger_engine: Engine) -> None:
    """The device's signed monthly summaries of its two meters are held: the incomer (in the
    plan, with its line) passes, the gas meter (left out of the plan) refuses the report, 422
    ``plan`` naming it, as the verifier's step ``completeness`` would refuse its bundle."""
    october = report_period("2026-10")
    summaries = [TEST_KEY.sign_record(EmissionSummary(
        device=TEST_KEY.address, scope_kind=SCOPE_METER, scope_id=meter_id(path),
        source=source, quantity=quantity, methodology="cn.machinery", methodology_version=1,
        period_start=october.start, period_end=october.end, activity=activity, emissions=1,
        reading_count=3, gap_count=0, bridged_gap_count=0, bridged_seconds=0,
        unexplained_decreases=0, salt=keccak256(path.encode())), TEST_DOMAIN, path)
        for path, source, quantity, activity in (
            (METER_PATHS[0], "electricity.grid", ENERGY, 123_451_789),
            (METER_PATHS[1], "fuel.natural_gas", "volume.gas:dm3", 250_000))]
    one = _october_of_one_meter(report_chain, sqlite_ledger_engine, summaries)
    assert one.document is None and one.refused is not None
    assert (one.refused.status, one.refused.check) == (422, "plan")
    detail = str(one.refused)
    assert (f"name a meter this report would leave out: {METER_PATHS[1]}: device "
            f"{format_address(TEST_KEY.address)} signed summaries of it over "
            f"[{october.start}, {october.end})") in detail, detail
    assert "does not list it" in detail and METER_PATHS[0] + ":" not in detail


def test_a_report_leaving_out_a_whole_device_of_its_site_is_refused(
        report_chain: ReportChain, sqlite_ledger_engine: Engine) -> None:
    """A second device of the enterprise at the site, with no line in the report, signed a
    summary of the air compressor it reads: before, only the report's own devices' summaries
    were checked (and exported), so a device left out altogether passed unseen. Now its
    summaries count, and the report is refused naming the meter and the device."""
    october = report_period("2026-10")
    path = "demo-co/wuxi-plant/utilities/compressors/air-1"
    summary = FOURTH_KEY.sign_record(EmissionSummary(
        device=FOURTH_KEY.address, scope_kind=SCOPE_METER, scope_id=meter_id(path),
        source="electricity.grid", quantity=ENERGY, methodology="cn.machinery",
        methodology_version=1, period_start=october.start, period_end=october.end,
        activity=880_000, emissions=1, reading_count=3, gap_count=0, bridged_gap_count=0,
        bridged_seconds=0, unexplained_decreases=0, salt=keccak256(path.encode())),
        TEST_DOMAIN, path)
    batch = FOURTH_KEY.close_batch(0, [], TEST_DOMAIN, [summary])
    assert batch.header_signature is not None
    delivered = Fleet(sqlite_ledger_engine).deliver(
        [summary, SignedBatchHeader(batch.header, batch.header_signature)], FOURTH_KEY)
    assert set(delivered) == {Status.ACCEPTED}
    one = _october_of_one_meter(report_chain, sqlite_ledger_engine)
    assert one.document is None and one.refused is not None
    assert (one.refused.status, one.refused.check) == (422, "plan")
    assert (f"{path}: device {format_address(FOURTH_KEY.address)} signed summaries of it over "
            f"[{october.start}, {october.end})") in str(one.refused), one.refused


def test_a_report_waits_for_the_reading_after_the_period_end(
        report_chain: ReportChain, sqlite_ledger_engine: Engine) -> None:
    """The served figures (``meter_figures``) of a meter polled for energy and power, one seq
    per sample: until a reading after the period end is held, ``POST /v1/reports`` answers 409
    ``evidence`` naming the meter; once delivered, the report commits to the batch holding the
    successor run too (power at the end, then energy after it)."""
    engine, path = sqlite_ledger_engine, METER_PATHS[0]
    fleet = Fleet(engine)
    with make_sessions(engine).begin() as session:
        replace_plan(session, ENTERPRISE_A, [PlanPoint(path, "electricity.grid", ENERGY, None,
                                                       None)], actor="test", now=NOW)
    october = report_period("2026-10")
    polls = [(october.start - 600, 5_000), (october.start + 86_400, 900_000),
             (october.end - 300, 123_456_789), (october.end + 600, 123_500_000)]
    signed = [TEST_KEY.sign_reading(Reading(
        device=TEST_KEY.address, meter=meter_id(path), seq=2 * n + i, timestamp=t,
        quantity=quantity, value=value, salt=bytes([2 * n + i + 1]) * 32), TEST_DOMAIN, path)
        for n, (t, energy) in enumerate(polls)
        for i, (quantity, value) in enumerate(((ENERGY, energy), ("power.active:W", 1_500)))]
    first, second = (TEST_KEY.close_batch(0, signed[:6], TEST_DOMAIN),
                     TEST_KEY.close_batch(1, signed[6:], TEST_DOMAIN))
    _, admin = new_principal(engine, Role.ENTERPRISE_ADMIN, ENTERPRISE_A)
    services = Services(engine, make_sessions(engine), system=report_chain.system,
                        api_secret=API_SECRET, figures=meter_figures)
    ask = {"site": SITE, "period": "2026-10", "methodology": "cn.machinery"}
    with TestClient(create_app(services)) as api:
        assert first.header_signature is not None and second.header_signature is not None
        assert set(fleet.deliver([*signed[:6], SignedBatchHeader(
            first.header, first.header_signature)], TEST_KEY)) == {Status.ACCEPTED}
        early = api.post("/v1/reports", headers=bearer(admin), json=ask)
        assert early.status_code == 409 and early.json()["type"].endswith("evidence")
        named = f"{path} ({format_address(TEST_KEY.address)}): no reading after the period end"
        assert f"{named} delivered yet (reading seq 6 of the meter" in early.json()["detail"], \
            early.text
        assert set(fleet.deliver([*signed[6:], SignedBatchHeader(
            second.header, second.header_signature)], TEST_KEY)) == {Status.ACCEPTED}
        created = api.post("/v1/reports", headers=bearer(admin), json=ask)
        assert created.status_code == 201, created.text
    body = created.json()["document"]
    (line,) = body["lines"]
    assert (line["startReading"]["seq"], line["endReading"]["seq"]) == ("0", "4")
    assert line["amount"] == str(123_456_789 - 5_000)
    assert [(i["batchSeq"], i["root"]) for i in body["batches"]["items"]] == [
        ("0", format_hex(first.header.root)), ("1", format_hex(second.header.root))]
    with make_sessions(engine)() as session:
        (figure,) = meter_figures(session, ENTERPRISE_A, SITE, october.start, october.end)
    # Sparse seqs 0 and 4; the start's run seq 1 (power at the start) and 2 (energy after it);
    # the end's run seq 5 (power at the end) and 6 (energy after it): positions = seqs here.
    assert sorted(p for _, p in figure.leaves) == [0, 1, 2, 4, 5, 6]
    assert figure.unproven == ()


def test_a_statement_whose_verdict_is_not_the_chains_is_refused(
        api: TestClient, report_chain: ReportChain, sqlite_ledger_engine: Engine) -> None:
    """The chain holds Accepted with the hash of a statement that says Rejected: the API
    refuses to keep that statement (409 ``chain``) and serves none beside the verdict."""
    rc, engine = report_chain, sqlite_ledger_engine
    enterprise = parse_address(rc.enterprise.address)
    _, admin = new_principal(engine, Role.ENTERPRISE_ADMIN, enterprise)
    regulator_id, regulator_key = new_principal(engine, Role.REGULATOR)
    with make_sessions(engine).begin() as session:
        grant_enterprise(session, regulator_id, enterprise, by="test", now=datetime.now(UTC))
    created = api.post("/v1/reports", headers=bearer(admin), json={
        "site": SITE, "period": "2026-10", "methodology": "cn.machinery"})
    assert created.status_code == 201, created.text
    digest = created.json()["reportHash"]
    doc = loads_report(api.get(f"/v1/reports/{digest}/document", headers=bearer(admin)).content)
    submit_report(rc.system, rc.enterprise, doc)
    key = parse_hex(digest, 32)
    rejected = AttestationStatement(key, parse_address(rc.regulator.address), Verdict.REJECTED,
                                    ("MATERIAL_MISSTATEMENT",), "not satisfactory", 1796000000)
    rc.regulator.send(rc.system.reports.functions.attestReport(
        key, int(Verdict.ACCEPTED), statement_hash(rejected)), description="attest")
    refused = api.post(f"/v1/reports/{digest}/attestations", content=statement_bytes(rejected),
                       headers={**bearer(regulator_key), "Content-Type": "application/json"})
    assert refused.status_code == 409 and refused.json()["type"].endswith("chain")
    assert "is Accepted, the statement says Rejected" in refused.json()["detail"]
    (attestation,) = api.get(f"/v1/reports/{digest}",
                             headers=bearer(regulator_key)).json()["chain"]["attestations"]
    assert attestation["verdict"] == "Accepted" and attestation["statement"] is None


def test_reports_and_activities_refuse_open_periods_foreign_sites_and_unrelated_supersessions(
        api: TestClient, report_chain: ReportChain, sqlite_ledger_engine: Engine) -> None:
    """A period the chain's latest block has not passed, a ``supersedes`` that is not this
    ledger's report of the same enterprise, site and period, and a site under another
    enterprise's level (or not under the enterprise's own plan level) are refused, nothing
    kept; so is a manual activity of another enterprise's site."""
    rc, engine = report_chain, sqlite_ledger_engine
    enterprise = parse_address(rc.enterprise.address)
    _, admin = new_principal(engine, Role.ENTERPRISE_ADMIN, enterprise)
    _, other_admin = new_principal(engine, Role.ENTERPRISE_ADMIN,
                                   parse_address(rc.other_enterprise.address))
    ask = {"site": SITE, "period": "2026-10", "methodology": "cn.machinery"}
    first = api.post("/v1/reports", headers=bearer(admin), json=ask)
    assert first.status_code == 201, first.text
    theirs = api.post("/v1/reports", headers=bearer(other_admin),
                      json={**ask, "site": "other-co/plant"})
    assert theirs.status_code == 201, theirs.text
    now = datetime.now(UTC)
    with make_sessions(engine).begin() as session:
        replace_plan(session, parse_address(rc.other_enterprise.address), check_plan([{
            "meterPath": "other-co/plant/hall-1/line-1/main", "source": "electricity.grid",
            "quantity": "energy.active.import:Wh"}]), actor="test", now=now)
    for changes, check, words in [
            ({"period": "2030"}, "period", "reports cover closed periods"),
            ({"supersedes": "0x" + "11" * 32}, "supersedes", "is not a report this ledger"),
            ({"supersedes": theirs.json()["reportHash"], "site": "other-co/plant"}, "site",
             "not a site of your enterprise"),
            ({"supersedes": theirs.json()["reportHash"]}, "supersedes", "same site and period"),
            ({"supersedes": first.json()["reportHash"], "period": "2026-09"}, "supersedes",
             "same site and period"),
            ({"supersedes": first.json()["reportHash"], "site": "demo-co/another-site"},
             "supersedes", "same site and period")]:
        response = api.post("/v1/reports", headers=bearer(admin), json={**ask, **changes})
        assert response.status_code == 422, (changes, response.text)
        assert response.json()["type"].endswith(check) and words in response.json()["detail"]
    stored = api.post("/v1/evidence", content=PDF, params={"name": "invoice-123.pdf"},
                      headers={**bearer(admin), "Content-Type": "application/pdf"})
    assert stored.status_code == 201, stored.text
    foreign = api.post("/v1/activities", headers=bearer(admin), json={
        "site": "other-co/plant", "source": "fuel.natural_gas", "amount": "10000000",
        "periodStart": 1790784000, "periodEnd": 1793462400, "evidence": stored.json()["hash"],
        "description": "another enterprise's site"})
    assert foreign.status_code == 422 and foreign.json()["type"].endswith("site"), foreign.text
    with make_sessions(engine).begin() as session:
        replace_plan(session, enterprise, check_plan([{
            "meterPath": "demo-co/wuxi-plant/hall-1/line-1/main", "source": "electricity.grid",
            "quantity": "energy.active.import:Wh"}]), actor="test", now=now)
    elsewhere = api.post("/v1/reports", headers=bearer(admin),
                         json={**ask, "site": "elsewhere/plant"})
    assert elsewhere.status_code == 422 and elsewhere.json()["type"].endswith("site")
    listed = api.get("/v1/reports", headers=bearer(admin)).json()["reports"]
    assert [r["reportHash"] for r in listed] == [first.json()["reportHash"]]
    corrected = api.post("/v1/reports", headers=bearer(admin),
                         json={**ask, "supersedes": first.json()["reportHash"]})
    assert corrected.status_code == 201, corrected.text
