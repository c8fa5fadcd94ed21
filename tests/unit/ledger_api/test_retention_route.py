"""``POST /v1/retention/purge`` over HTTP: an enterprise's admin previews and then deletes its
data past retention, logged under its principal; another enterprise, a too-young cutoff, a bad
date, a missing reason and an enterprise without devices are refused as problem documents. The
route admits only ``enterprise_admin`` (every other role's refusal is checked by the
route-generated table of test_access_routes.py). On SQLite and on a real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from ledger_support import API_SECRET, bearer, new_principal
from retention_support import DEVICES, EXPECTED_COUNTS, PURGED_RANGES, A, B, Fleet
from sqlalchemy import Engine, create_engine, func, select
from sqlalchemy.orm import Session

from factories import TEST_DOMAIN
from ledger_api.access import Role, Rule
from ledger_api.access.dependencies import route_rules
from ledger_api.app import Services, create_app
from ledger_api.db.engine import make_sessions
from ledger_api.db.models import BatchRow
from ledger_api.retention import purge_log
from ledger_api.retention_route import PURGE_PATH
from mrv_core.codec import format_address

PROBLEM = "application/problem+json"
BODY = {"enterprise": format_address(A), "before": "2016-01-01",
        "reason": "end of retention for 2012-2015"}


@pytest.fixture
def client(fleet: Fleet) -> Iterator[TestClient]:
    app = create_app(Services(fleet.engine, make_sessions(fleet.engine), devices=DEVICES,
                              domain=TEST_DOMAIN, api_secret=API_SECRET))
    with TestClient(app) as client:
        yield client


def batches(engine: Engine) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(BatchRow)) or 0


def test_the_purge_route_admits_enterprise_admins_only() -> None:
    engine = create_engine("sqlite://")  # the routes are only read
    try:
        app = create_app(Services(engine, make_sessions(engine)))
        assert route_rules(app)[("POST", PURGE_PATH)] == Rule.of_roles(Role.ENTERPRISE_ADMIN)
    finally:
        engine.dispose()


def test_an_admin_previews_then_purges_its_enterprise_logged_under_its_principal(
        client: TestClient, fleet: Fleet) -> None:
    admin, key = new_principal(fleet.engine, Role.ENTERPRISE_ADMIN, A)
    held = batches(fleet.engine)
    preview = client.post(PURGE_PATH, json=BODY, headers=bearer(key))
    assert preview.status_code == 200, preview.text
    body = preview.json()
    assert body["dry_run"] is True and body["audit_id"] is None
    assert body["deleted"] == EXPECTED_COUNTS and body["kept"] == {"mismatch": 1,
                                                                    "unanchored": 1}
    assert body["cutoff"].startswith("2016-01-01T00:00:00") and body["retention_years"] == 10
    assert batches(fleet.engine) == held
    done = client.post(PURGE_PATH, json={**BODY, "confirm": True}, headers=bearer(key))
    assert done.status_code == 200, done.text
    assert done.json()["dry_run"] is False and done.json()["deleted"] == EXPECTED_COUNTS
    assert {(r["device"], r["first_batch_seq"], r["last_batch_seq"])
            for r in done.json()["ranges"]} == {(format_address(device), first, last)
                                                for device, first, last in PURGED_RANGES}
    assert batches(fleet.engine) == held - EXPECTED_COUNTS["batches"]
    with Session(fleet.engine) as session:
        [row] = purge_log(session)
    assert row.id == done.json()["audit_id"]
    assert (row.actor, row.principal_id) == (f"principal {admin}", admin)


def test_refusals_are_problem_documents_and_delete_nothing(client: TestClient,
                                                           fleet: Fleet) -> None:
    _, key = new_principal(fleet.engine, Role.ENTERPRISE_ADMIN, A)
    _, lonely = new_principal(fleet.engine, Role.ENTERPRISE_ADMIN, b"\xcc" * 20)
    held = batches(fleet.engine)
    cases = [
        (key, {"enterprise": format_address(B)}, 403, "scope"),
        (key, {"before": "2016-12-02"}, 400, "retention"),
        (key, {"before": "2016-02-30"}, 422, "date"),
        (key, {"before": "2016-1-1"}, 422, "format"),
        (key, {"reason": " "}, 400, "reason"),
        (key, {"reason": ""}, 422, "format"),
        (key, {"enterprise": "0x" + "aB" * 20}, 422, "format"),  # a bad EIP-55 checksum
        (lonely, {"enterprise": format_address(b"\xcc" * 20)}, 404, "enterprise"),
    ]
    for caller, change, status, check in cases:
        response = client.post(PURGE_PATH, json={**BODY, **change, "confirm": True},
                               headers=bearer(caller))
        assert response.status_code == status, (change, response.text)
        assert response.headers["content-type"] == PROBLEM
        assert response.json()["check"] == check, change
    assert batches(fleet.engine) == held
    with Session(fleet.engine) as session:
        assert purge_log(session) == []
