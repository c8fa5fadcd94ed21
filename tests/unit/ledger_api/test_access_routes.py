"""Role isolation over HTTP, generated from the application's routes: every route declares an
access rule, every protected route refuses a missing, malformed or revoked key (401) and every
role it does not admit (403), each a problem+json document; and ``GET /v1/devices`` shows each
principal exactly the enterprises it may see. On SQLite and on a real PostgreSQL.

The data is delivered through the real uplink (``POST /v1/uplink``, signed by real keys); only
the device directory is fixed by the test (``StaticDevices``: the chain-backed one has its own
tests, and the edge-to-API integration tests run both on a real chain).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from ledger_support import API_SECRET, StaticDevices, bearer, new_principal
from sqlalchemy import Engine, create_engine
from structlog.testing import capture_logs

from factories import OTHER_KEY, TEST_DOMAIN, TEST_KEY, signed_readings
from ledger_api.access import (
    ACCESS_STATUSES,
    DEVICE_SIGNATURE,
    PUBLIC,
    Data,
    Role,
    Rule,
    declare,
    require,
    roles_seeing,
)
from ledger_api.access.dependencies import check_route_rules, route_rules
from ledger_api.access.store import grant_enterprise, revoke_grant, revoke_principal
from ledger_api.app import Services, create_app
from ledger_api.db.engine import make_sessions
from ledger_api.db.models import DeviceStreamRow
from ledger_api.errors import ApiConfigError
from mrv_core.batch import SignedBatchHeader
from mrv_core.codec import format_address
from mrv_core.keys import DeviceKey
from mrv_core.uplink import UPLINK_PATH, UplinkRequest, encode_request

A, B, C = b"\xaa" * 20, b"\xbb" * 20, b"\xcc" * 20
THIRD_KEY = DeviceKey.from_private_bytes((3).to_bytes(32, "big"))
FOURTH_KEY = DeviceKey.from_private_bytes((4).to_bytes(32, "big"))
#: device key -> its enterprise, and how many readings it delivers.
FLEET = {TEST_KEY: (A, 3), FOURTH_KEY: (A, 1), OTHER_KEY: (B, 2), THIRD_KEY: (C, 1)}
#: The enterprise each role's principal acts for in these tests.
ROLE_ENTERPRISE = {Role.ENTERPRISE_ADMIN: A, Role.ENTERPRISE_READER: A, Role.DEVICE: A,
                   Role.REGULATOR: None, Role.ASSOCIATION: None}
GZIP_JSON = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
PROBLEM = "application/problem+json"


@dataclass
class World:
    client: TestClient
    app: FastAPI
    engine: Engine
    #: role -> (principal id, key)
    principals: dict[Role, tuple[int, str]]
    revoked_key: str
    revoked_principal_key: str


def deliver(client: TestClient) -> None:
    """Each device of FLEET delivers its readings; TEST_KEY also closes a batch of them."""
    for key, (_, count) in FLEET.items():
        items: list[object] = list(signed_readings(count, key=key, seed=count))
        if key is TEST_KEY:
            batch = key.close_batch(0, items, TEST_DOMAIN)  # type: ignore[arg-type]
            assert batch.header_signature is not None
            items.append(SignedBatchHeader(batch.header, batch.header_signature))
        request = UplinkRequest.of(key.address, TEST_DOMAIN, items)  # type: ignore[arg-type]
        response = client.post(UPLINK_PATH, content=encode_request(request), headers=GZIP_JSON)
        assert response.status_code == 200, response.text


def make_app(engine: Engine, *, public_metrics: bool = False) -> FastAPI:
    devices = StaticDevices({k.address for k in FLEET},
                            enterprises={k.address: e for k, (e, _) in FLEET.items()})
    return create_app(Services(engine, make_sessions(engine), devices=devices,
                               domain=TEST_DOMAIN, api_secret=API_SECRET,
                               public_metrics=public_metrics))


@pytest.fixture
def world(ledger_engine: Engine) -> Iterator[World]:
    app = make_app(ledger_engine)
    principals = {role: new_principal(ledger_engine, role, enterprise)
                  for role, enterprise in ROLE_ENTERPRISE.items()}
    sessions = make_sessions(ledger_engine)
    revoked_admin, revoked_key = new_principal(ledger_engine, Role.ENTERPRISE_ADMIN, A)
    gone, revoked_principal_key = new_principal(ledger_engine, Role.REGULATOR)
    with sessions.begin() as session:
        grant_enterprise(session, gone, A, by="test", now=_now())
        revoke_principal(session, gone, now=_now())
        revoke_principal(session, revoked_admin, now=_now())
    with TestClient(app) as client:
        deliver(client)
        yield World(client, app, ledger_engine, principals, revoked_key, revoked_principal_key)


def _now() -> datetime:
    return datetime.now(UTC)


def call(client: TestClient, method: str, path: str,
         headers: dict[str, str] | None = None) -> httpx.Response:
    """``method path`` with every path parameter filled in and, where a body may go, ``{}``:
    the access rule must refuse before any parameter is looked at."""
    concrete = re.sub(r"\{[^}]+\}", "0", path)
    body = {"json": {}} if method in {"POST", "PUT", "PATCH"} else {}
    return client.request(method, concrete, headers=headers or {}, **body)


def assert_problem(response: httpx.Response, status: int, check: str) -> None:
    assert response.status_code == status, (response.request.url, response.text)
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status and body["check"] == check and body["detail"]
    if status == 401:
        assert response.headers["www-authenticate"].startswith("Bearer")


def protected(app: FastAPI) -> list[tuple[str, str, Rule]]:
    rules = route_rules(app)
    return [(m, p, r) for (m, p), r in sorted(rules.items())
            if r is not None and r.kind == "principal"]


# -- every route has a rule -----------------------------------------------------------------------


@pytest.fixture
def unused_engine() -> Iterator[Engine]:
    """An engine for building applications whose routes are only read, never called."""
    engine = create_engine("sqlite://")
    yield engine
    engine.dispose()


@pytest.mark.parametrize("public_metrics", [False, True])
def test_every_route_declares_an_access_rule(unused_engine: Engine,
                                             public_metrics: bool) -> None:
    rules = route_rules(make_app(unused_engine, public_metrics=public_metrics))
    assert [route for route, rule in rules.items() if rule is None] == []
    assert rules[("GET", "/healthz")] == rules[("GET", "/readyz")] == PUBLIC
    assert rules[("GET", "/openapi.json")] == PUBLIC
    assert rules[("POST", UPLINK_PATH)] == DEVICE_SIGNATURE
    assert rules[("GET", "/v1/devices")] == Rule.of_roles(*roles_seeing(Data.ENTERPRISE))
    assert rules[("GET", "/metrics")] == (PUBLIC if public_metrics else
                                          Rule.of_roles(*set(Role) - {Role.DEVICE}))


@pytest.mark.parametrize("public_metrics", [False, True])
def test_the_openapi_document_asks_for_a_key_exactly_where_a_rule_does(
        unused_engine: Engine, public_metrics: bool) -> None:
    app = make_app(unused_engine, public_metrics=public_metrics)
    document = app.openapi()
    assert document["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"
    operations = {(method.upper(), path): operation
                  for path, item in document["paths"].items()
                  for method, operation in item.items()}
    for (method, path), rule in route_rules(app).items():
        if path == app.openapi_url or path.startswith(("/docs", "/redoc")):
            continue
        operation = operations[(method, path)]
        needs_key = rule is not None and rule.kind == "principal"
        assert ("security" in operation) == needs_key, (method, path)
        declared = {str(status) for status in ACCESS_STATUSES}
        assert needs_key <= declared.issubset(operation["responses"]), (method, path)


def test_a_database_that_cannot_be_asked_is_a_503_not_a_refusal(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path}/no/such/dir/ledger.sqlite")
    try:
        app = create_app(Services(engine, make_sessions(engine), api_secret=API_SECRET))
        with TestClient(app) as client:
            response = client.get("/v1/devices",
                                  headers=bearer("mrv_0123456789abcdef_" + "A" * 43))
        assert_problem(response, 503, "unavailable")
        assert response.headers["retry-after"] == "5"
    finally:
        engine.dispose()


def test_a_route_without_a_rule_or_with_contradicting_rules_is_refused(
        unused_engine: Engine) -> None:
    app = make_app(unused_engine)
    app.add_api_route("/v1/forgotten", lambda: {}, methods=["GET"])
    with pytest.raises(ApiConfigError, match="GET /v1/forgotten"):
        check_route_rules(app)
    app = make_app(unused_engine)
    app.add_api_route("/v1/both", lambda: {}, methods=["GET"],
                      dependencies=[declare(PUBLIC), require(Role.REGULATOR)])
    with pytest.raises(ApiConfigError, match="contradicting"):
        check_route_rules(app)


# -- every protected route refuses every wrong caller ---------------------------------------------


def test_every_protected_route_refuses_a_missing_malformed_unknown_or_revoked_key_unlogged(
        world: World) -> None:
    routes = protected(world.app)
    assert routes, "the application has protected routes"
    valid = world.principals[Role.ENTERPRISE_ADMIN][1]
    unknown = "mrv_0123456789abcdef_" + valid[21:]
    with capture_logs() as logs:
        for method, path, _ in routes:
            refuse_every_bad_key(world, method, path, valid, unknown)
    refusals = [entry for entry in logs if entry["event"] != "http_request"]  # access log
    assert refusals and all(entry["event"] == "access_refused" for entry in refusals)
    assert not any(valid[21:] in str(entry) or valid[:20] in str(entry) for entry in logs)


def refuse_every_bad_key(world: World, method: str, path: str, valid: str,
                         unknown: str) -> None:
    assert_problem(call(world.client, method, path), 401, "credentials")
    for header in ("Bearer", "Bearer ", "Basic " + valid, "bearer garbage", valid,
                   "Bearer " + valid + "x", "Bearer " + unknown,
                   "Bearer " + world.revoked_key, "Bearer " + world.revoked_principal_key):
        response = call(world.client, method, path, {"Authorization": header})
        assert_problem(response, 401, "credentials")
        assert valid[21:] not in response.text and valid[:20] not in response.text


def test_every_protected_route_refuses_each_role_it_does_not_admit(world: World) -> None:
    refused = 0
    for method, path, rule in protected(world.app):
        for role, (_, key) in world.principals.items():
            response = call(world.client, method, path, bearer(key))
            if role in rule.roles:
                assert response.status_code not in (401, 403), (method, path, role)
            else:
                assert_problem(response, 403, "role")
                refused += 1
    assert refused >= 3  # the device on /metrics; device and association on /v1/devices


def test_public_and_device_signature_routes_need_no_key(world: World) -> None:
    assert world.client.get("/healthz").status_code == 200
    assert world.client.get("/readyz").status_code == 200
    request = UplinkRequest.of(TEST_KEY.address, TEST_DOMAIN, signed_readings(1))
    response = world.client.post(UPLINK_PATH, content=encode_request(request),
                                 headers=GZIP_JSON)
    assert response.status_code == 200  # a duplicate, judged by its signature alone


def test_metrics_need_a_key_unless_public(world: World) -> None:
    assert_problem(world.client.get("/metrics"), 401, "credentials")
    assert_problem(world.client.get("/metrics", headers=bearer(
        world.principals[Role.DEVICE][1])), 403, "role")
    ok = world.client.get("/metrics", headers=bearer(world.principals[Role.ASSOCIATION][1]))
    assert "mrv_api_uplink_requests_total" in ok.text
    with TestClient(make_app(world.engine, public_metrics=True)) as client:
        assert client.get("/metrics").status_code == 200


# -- what each principal sees ---------------------------------------------------------------------


def listed(world: World, key: str, **params: object) -> dict[str, object]:
    response = world.client.get("/v1/devices", headers=bearer(key), params=params)
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def enterprises_of(body: dict[str, object]) -> set[str]:
    return {d["enterprise"] for d in body["devices"]}  # type: ignore[attr-defined,index]


def test_an_enterprise_principal_sees_its_own_devices_only(world: World) -> None:
    for role in (Role.ENTERPRISE_ADMIN, Role.ENTERPRISE_READER):
        key = world.principals[role][1]
        body = listed(world, key)
        assert body["next"] is None
        devices = {d["device"]: d for d in body["devices"]}  # type: ignore[attr-defined]
        assert set(devices) == {format_address(TEST_KEY.address),
                                format_address(FOURTH_KEY.address)}
        assert enterprises_of(body) == {format_address(A)}
        first = devices[format_address(TEST_KEY.address)]
        assert (first["leaves"], first["batches"]) == (3, 1)
        assert first["last_seen"] >= first["first_seen"]
        assert listed(world, key, enterprise=format_address(A))["devices"] == body["devices"]
        response = world.client.get("/v1/devices", headers=bearer(key),
                                    params={"enterprise": format_address(B)})
        assert_problem(response, 403, "scope")


def test_a_regulator_sees_exactly_the_enterprises_granted(world: World) -> None:
    regulator, key = world.principals[Role.REGULATOR]
    assert listed(world, key)["devices"] == []
    sessions = make_sessions(world.engine)
    with sessions.begin() as session:
        grant_enterprise(session, regulator, A, by="test", now=_now())
        grant_enterprise(session, regulator, C, by="test", now=_now())
    assert enterprises_of(listed(world, key)) == {format_address(A), format_address(C)}
    assert_problem(world.client.get("/v1/devices", headers=bearer(key),
                                    params={"enterprise": format_address(B)}), 403, "scope")
    with sessions.begin() as session:
        revoke_grant(session, regulator, A, now=_now())
    body = listed(world, key)
    assert enterprises_of(body) == {format_address(C)}
    assert [d["device"] for d in body["devices"]] == [  # type: ignore[attr-defined]
        format_address(THIRD_KEY.address)]


def test_a_device_without_a_known_enterprise_is_listed_to_nobody_until_it_delivers(
        world: World) -> None:
    regulator, key = world.principals[Role.REGULATOR]
    with make_sessions(world.engine).begin() as session:
        row = session.get(DeviceStreamRow, OTHER_KEY.address)
        assert row is not None and row.enterprise == B  # set by ingest
        row.enterprise = None  # as a row from before 0003_access
        grant_enterprise(session, regulator, B, by="test", now=_now())
    assert listed(world, key)["devices"] == []
    # The device's next delivery records its enterprise again (ingest sets it on every request).
    request = UplinkRequest.of(OTHER_KEY.address, TEST_DOMAIN,
                               signed_readings(1, key=OTHER_KEY, seed=9))
    world.client.post(UPLINK_PATH, content=encode_request(request), headers=GZIP_JSON)
    assert enterprises_of(listed(world, key)) == {format_address(B)}


def test_devices_are_paged_by_address(world: World) -> None:
    key = world.principals[Role.ENTERPRISE_READER][1]
    first = listed(world, key, limit=1)
    assert len(first["devices"]) == 1 and first["next"]  # type: ignore[arg-type]
    second = listed(world, key, limit=1, after=first["next"])
    assert second["next"] is None
    pages = first["devices"] + second["devices"]  # type: ignore[operator]
    assert pages == listed(world, key)["devices"]
    response = world.client.get("/v1/devices", headers=bearer(key),
                                params={"after": "0x" + "aB" * 20})  # a bad EIP-55 checksum
    assert_problem(response, 422, "format")
