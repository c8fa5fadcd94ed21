"""Evidence files and manual activities over HTTP: an enterprise admin uploads a PDF (its hash
is the file's keccak256), enters, lists and withdraws activities; evidence of another kind, a
Content-Type the bytes contradict, an unknown source, a missing evidence file, a withdrawal
twice are refused as problem documents; a file is served only to principals that see its
enterprise. The manual lines a report takes are the activities in force within its period."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from ledger_support import API_SECRET, bearer, new_principal
from report_factories import evidence_pdf
from sqlalchemy import Engine

from accounting_rules.reports.build import ManualEntry
from accounting_rules.reports.statement import AttestationStatement, Verdict, statement_bytes
from ledger_api.access import Role
from ledger_api.access.store import grant_enterprise
from ledger_api.app import Services, create_app
from ledger_api.db.engine import make_sessions
from ledger_api.db.models import EvidenceFileRow
from ledger_api.reports.store import (
    ActivityInput,
    add_activity,
    insert_once,
    manual_entries,
    store_evidence,
    withdraw_activity,
)
from mrv_core.codec import format_address, format_hex
from mrv_core.hashing import keccak256

A, B = b"\xaa" * 20, b"\xbb" * 20
PDF = evidence_pdf("invoice 123")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PROBLEM = "application/problem+json"
OCTOBER = (1790784000, 1793462400)


@dataclass
class World:
    client: TestClient
    engine: Engine
    admin: str
    reader_b: str
    regulator: str
    regulator_id: int


@pytest.fixture
def world(sqlite_ledger_engine: Engine) -> Iterator[World]:
    engine = sqlite_ledger_engine
    app = create_app(Services(engine, make_sessions(engine), api_secret=API_SECRET))
    _, admin = new_principal(engine, Role.ENTERPRISE_ADMIN, A)
    _, reader_b = new_principal(engine, Role.ENTERPRISE_READER, B)
    regulator_id, regulator = new_principal(engine, Role.REGULATOR)
    with TestClient(app) as client:
        yield World(client, engine, admin, reader_b, regulator, regulator_id)


def upload(world: World, content: bytes, media_type: str, key: str | None = None,
           name: str = "invoice-123.pdf") -> object:
    return world.client.post("/v1/evidence", content=content, params={"name": name},
                             headers={**bearer(key or world.admin), "Content-Type": media_type})


def activity(**changes: object) -> dict[str, object]:
    return {"site": "demo-co/wuxi-plant", "source": "fuel.natural_gas", "amount": "10000000",
            "periodStart": OCTOBER[0], "periodEnd": OCTOBER[1],
            "evidence": format_hex(keccak256(PDF)), "description": "invoice 123", **changes}


def test_an_admin_uploads_evidence_and_principals_that_see_it_read_it(world: World) -> None:
    first = upload(world, PDF, "application/pdf")
    assert first.status_code == 201, first.text  # type: ignore[attr-defined]
    body = first.json()  # type: ignore[attr-defined]
    assert body["hash"] == format_hex(keccak256(PDF))
    assert (body["mediaType"], body["size"], body["enterprise"]) == (
        "application/pdf", len(PDF), format_address(A))
    assert upload(world, PDF, "application/pdf").status_code == 200  # type: ignore[attr-defined]
    path = f"/v1/evidence/{body['hash']}"
    got = world.client.get(path, headers=bearer(world.admin))
    assert got.status_code == 200 and got.content == PDF
    assert got.headers["content-type"] == "application/pdf"
    assert got.headers["x-content-type-options"] == "nosniff"
    assert world.client.get(path, headers=bearer(world.reader_b)).status_code == 404
    assert world.client.get(path, headers=bearer(world.regulator)).status_code == 404
    with make_sessions(world.engine).begin() as session:
        grant_enterprise(session, world.regulator_id, A, by="test", now=datetime.now(UTC))
    assert world.client.get(path, headers=bearer(world.regulator)).content == PDF


def test_evidence_of_another_kind_is_refused(world: World) -> None:
    for content, media_type, status, check in [
            (b"GIF89a" + b"\x00" * 20, "image/gif", 400, "evidence"),
            (PDF, "image/png", 415, "media_type"),
            (PNG, "application/pdf", 415, "media_type"),
            (b"", "application/pdf", 400, "evidence")]:
        response = upload(world, content, media_type)
        assert response.status_code == status, (media_type, response.text)  # type: ignore[attr-defined]
        assert response.headers["content-type"] == PROBLEM  # type: ignore[attr-defined]
        assert response.json()["type"].endswith(check)  # type: ignore[attr-defined]
    assert world.client.get("/v1/activities", headers=bearer(world.admin)).json() == {
        "activities": []}


def test_evidence_that_only_starts_as_its_kind_is_refused_and_not_stored(world: World) -> None:
    for content, media_type, expected in [
            (b"\xff\xd8\xff", "image/jpeg", "an image Pillow decodes as JPEG"),
            (PNG, "image/png", "an image Pillow decodes as PNG"),
            (PDF[:-6], "application/pdf", "%%EOF in the last 1024 bytes")]:
        response = upload(world, content, media_type)
        assert response.status_code == 422, (media_type, response.text)  # type: ignore[attr-defined]
        problem = response.json()  # type: ignore[attr-defined]
        assert problem["type"].endswith("evidence"), problem
        assert f"expected {expected}, got " in problem["detail"], problem
    with make_sessions(world.engine)() as session:
        assert session.query(EvidenceFileRow).count() == 0


def test_evidence_past_16_mib_is_refused_and_only_admins_upload(world: World) -> None:
    big = upload(world, b"%PDF-" + b"\x00" * (16 * 1024 * 1024), "application/pdf")
    assert big.status_code == 413  # type: ignore[attr-defined]
    assert upload(world, PDF, "application/pdf", world.reader_b).status_code == 403  # type: ignore[attr-defined]


def test_activities_are_entered_listed_and_withdrawn_never_deleted(world: World) -> None:
    upload(world, PDF, "application/pdf")
    entered = world.client.post("/v1/activities", json=activity(), headers=bearer(world.admin))
    assert entered.status_code == 201, entered.text
    row = entered.json()
    assert (row["unit"], row["amount"], row["withdrawnAt"]) == ("dm3", "10000000", None)
    listed = world.client.get("/v1/activities", headers=bearer(world.admin)).json()
    assert [a["id"] for a in listed["activities"]] == [row["id"]]
    assert world.client.get("/v1/activities",
                            headers=bearer(world.reader_b)).json() == {"activities": []}
    path = f"/v1/activities/{row['id']}/withdraw"
    _, other_admin = new_principal(world.engine, Role.ENTERPRISE_ADMIN, B)
    assert world.client.post(path, headers=bearer(other_admin)).status_code == 404
    done = world.client.post(path, headers=bearer(world.admin))
    assert done.status_code == 200 and done.json()["withdrawnAt"] is not None
    again = world.client.post(path, headers=bearer(world.admin))
    assert again.status_code == 409 and again.json()["type"].endswith("withdrawn")
    listed = world.client.get("/v1/activities", headers=bearer(world.admin)).json()
    assert listed["activities"][0]["withdrawnAt"] is not None


def test_activities_the_rules_refuse_are_problem_documents(world: World) -> None:
    upload(world, PDF, "application/pdf")
    for changes, status, check in [({"source": "fuel.unobtainium"}, 422, "source"),
                                   ({"evidence": "0x" + "11" * 32}, 404, "evidence"),
                                   ({"periodEnd": OCTOBER[0]}, 422, "period"),
                                   ({"site": "demo-co/wuxi-plant/hall"}, 422, "format"),
                                   ({"amount": "-5"}, 422, "format"),
                                   ({"amount": 10}, 422, "format"),
                                   ({"unit": "dm3"}, 422, "format")]:
        response = world.client.post("/v1/activities", json=activity(**changes),
                                     headers=bearer(world.admin))
        assert response.status_code == status, (changes, response.text)
        assert response.json()["type"].endswith(check)
    assert world.client.get("/v1/activities", headers=bearer(world.admin)).json() == {
        "activities": []}


def test_a_report_takes_the_activities_in_force_within_its_period(ledger_engine: Engine) -> None:
    now = datetime(2026, 11, 2, tzinfo=UTC)
    with make_sessions(ledger_engine).begin() as session:
        store_evidence(session, enterprise=A, content=PDF, declared_type="application/pdf",
                       name="invoice.pdf", principal_id=1, now=now)
        site = "demo-co/wuxi-plant"
        ids = [add_activity(session, ActivityInput(s, "fuel.natural_gas", amount, start, end,
                                                   keccak256(PDF), "gas"),
                            enterprise=A, principal_id=1, now=now).id
               for s, amount, start, end in [
                   (site, 5, *OCTOBER), (site, 6, OCTOBER[0] - 1, OCTOBER[1]),
                   ("demo-co/other-site", 7, *OCTOBER), (site, 8, OCTOBER[0] + 86_400,
                                                         OCTOBER[0] + 2 * 86_400)]]
        withdraw_activity(session, ids[3], enterprise=A, now=now)
    with make_sessions(ledger_engine)() as session:
        taken = manual_entries(session, A, site, *OCTOBER)
        everywhere = manual_entries(session, A, None, *OCTOBER)
        assert manual_entries(session, B, None, *OCTOBER) == []
    assert taken == [ManualEntry(ids[0], "fuel.natural_gas", 5, keccak256(PDF), "invoice.pdf",
                                 "application/pdf", "gas", int(now.timestamp()))]
    assert [e.id for e in everywhere] == [ids[0], ids[2]]


def test_a_file_stored_meanwhile_by_a_concurrent_request_is_the_answer(
        ledger_engine: Engine) -> None:
    """The insert of a content-addressed row that another transaction committed after this one
    looked (the savepoint's IntegrityError) gives the committed row, not an error."""
    now = datetime(2026, 11, 2, tzinfo=UTC)

    def row(name: str) -> EvidenceFileRow:
        return EvidenceFileRow(enterprise=A, hash=keccak256(PDF), media_type="application/pdf",
                               size=len(PDF), name=name, content=PDF, stored_by=1, stored_at=now)

    with make_sessions(ledger_engine).begin() as session:
        session.add(row("first.pdf"))
    with make_sessions(ledger_engine).begin() as session:
        held, created = insert_once(session, row("second.pdf"), (A, keccak256(PDF)))
        assert (held.name, created) == ("first.pdf", False)


def test_free_text_with_a_bidi_control_is_refused_naming_field_and_code_point(
        world: World) -> None:
    spoofed = upload(world, PDF, "application/pdf", name="invoice\u202efdp.exe")
    assert spoofed.status_code == 422, spoofed.text  # type: ignore[attr-defined]
    assert "name: the format character U+202E RIGHT-TO-LEFT OVERRIDE" in (
        spoofed.json()["detail"])  # type: ignore[attr-defined]
    upload(world, PDF, "application/pdf")
    entered = world.client.post("/v1/activities",
                                json=activity(description="invoice \u2067123\u2069"),
                                headers=bearer(world.admin))
    assert entered.status_code == 422 and entered.json()["type"].endswith("format")
    assert "description: the format character U+2067" in entered.json()["detail"]
    statement = statement_bytes(AttestationStatement(
        b"\x11" * 32, B, Verdict.ACCEPTED, (), "checked \u200fagainst the invoice", 1))
    posted = world.client.post(f"/v1/reports/0x{'11' * 32}/attestations", content=statement,
                               headers={**bearer(world.regulator),
                                        "Content-Type": "application/json"})
    assert posted.status_code == 422, posted.text
    assert posted.json()["detail"].startswith(
        "$.comments: the format character U+200F RIGHT-TO-LEFT MARK"), posted.json()
    assert world.client.get("/v1/activities", headers=bearer(world.admin)).json() == {
        "activities": []}
