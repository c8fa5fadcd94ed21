"""JSON request bodies (ledger_api.bodies): read only after the key check, bounded, strict
(no duplicate keys, bounded depth), each refusal a problem naming where; for both routes that
take one (POST /v1/proofs and POST /v1/retention/purge)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from ledger_support import API_SECRET, bearer, new_principal
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from ledger_api.access import Role
from ledger_api.app import Services, create_app
from ledger_api.bodies import JSON_BODY_LIMIT
from ledger_api.db.engine import make_sessions
from ledger_api.db.models import RetentionPurgeRow

ENTERPRISE = b"\x0e" * 20
ROUTES = ["/v1/proofs", "/v1/retention/purge"]
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def client(sqlite_ledger_engine: Engine) -> Iterator[TestClient]:
    engine = sqlite_ledger_engine
    with TestClient(create_app(Services(engine, make_sessions(engine),
                                        api_secret=API_SECRET))) as client:
        yield client


@pytest.fixture
def admin_key(sqlite_ledger_engine: Engine) -> str:
    return new_principal(sqlite_ledger_engine, Role.ENTERPRISE_ADMIN, ENTERPRISE)[1]


def problem(response: object, status: int, check: str) -> dict[str, object]:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    body: dict[str, object] = response.json()  # type: ignore[attr-defined]
    assert body["check"] == check
    return body


@pytest.mark.parametrize("route", ROUTES)
def test_without_a_key_nothing_of_the_body_is_parsed(client: TestClient, route: str) -> None:
    # 100,000 open brackets overflowed the C stack (a segfault) when FastAPI parsed the body
    # before the key check, in a process whose recursion limit py-evm raised.
    problem(client.post(route, content=b"[" * 100_000, headers=JSON), 401, "credentials")
    problem(client.post(route, content=b"{}", headers=JSON), 401, "credentials")


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize(("body", "status", "where"), [
    (b"[" * 100_000, 400, "$"),
    (b"{" + b'"a": 1, ' * 3 + b"}", 400, "$"),
    (b'{"x": 1.5}', 400, "$"),
    (b"x" * (JSON_BODY_LIMIT + 1), 413, None),
], ids=["deep", "not-json", "float", "too-large"])
def test_a_body_that_is_not_strict_json_is_refused_naming_where(
        client: TestClient, admin_key: str, route: str, body: bytes, status: int,
        where: str | None) -> None:
    answer = problem(client.post(route, content=body, headers={**JSON, **bearer(admin_key)}),
                     status, "format" if status == 400 else "too_large")
    assert answer.get("path") == where


def test_a_duplicate_confirm_is_refused_not_taken_as_its_last_value(
        client: TestClient, admin_key: str, sqlite_ledger_engine: Engine) -> None:
    enterprise = "0x" + ENTERPRISE.hex()
    body = (f'{{"enterprise": "{enterprise}", "before": "2010-01-01", "reason": "r", '
            f'"confirm": false, "confirm": true}}').encode()
    answer = problem(client.post("/v1/retention/purge", content=body,
                                 headers={**JSON, **bearer(admin_key)}), 400, "format")
    assert "duplicate key 'confirm'" in str(answer["detail"])
    with Session(sqlite_ledger_engine) as session:
        assert session.scalar(select(func.count()).select_from(RetentionPurgeRow)) == 0


@pytest.mark.parametrize(("body", "where"), [
    ({"device": "0x" + "ab" * 20, "readings": [{"meter": "0x" + "00" * 32, "seq": 1}]},
     "$.readings[0].seq"),
    ({"device": "0x" + "ab" * 20, "readings": []}, "$.readings"),
    ({"device": "0x" + "ab" * 20, "readings": [{"meter": "0x" + "00" * 32, "seq": "1"}],
      "extra": True}, "$.extra"),
], ids=["number-not-string", "no-readings", "extra-field"])
def test_a_body_that_is_not_the_model_is_a_422_naming_the_field(
        client: TestClient, admin_key: str, body: object, where: str) -> None:
    answer = problem(client.post("/v1/proofs", content=json.dumps(body).encode(),
                                 headers={**JSON, **bearer(admin_key)}), 422, "format")
    assert answer["path"] == where


def test_the_openapi_document_declares_both_bodies_without_dangling_references(
        client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    for route in ROUTES:
        body = document["paths"][route]["post"]["requestBody"]
        assert body["required"] is True
        schema = body["content"]["application/json"]["schema"]
        assert schema["type"] == "object" and "$defs" not in json.dumps(schema)
