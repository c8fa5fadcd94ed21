"""The monitoring plan (ledger_api.recompute.plan) and its routes ``PUT``/``GET /v1/plan``: the
line rules (path, source covered, the cumulative quantity the source's methodology takes as its
activity: never the export register for purchased electricity; counter rule), one
enterprise level per plan and per enterprise, a whole replacement, and who may read and write
it. Routes on SQLite and a real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from fractions import Fraction

import pytest
from fastapi.testclient import TestClient
from ledger_support import API_SECRET, bearer, new_principal
from sqlalchemy import Engine, create_engine

from accounting_rules.counters import RolloverRule
from ledger_api.access import Data, Role, Rule, roles_seeing
from ledger_api.access.dependencies import route_rules
from ledger_api.access.store import grant_enterprise
from ledger_api.app import Services, create_app
from ledger_api.db.engine import make_sessions
from ledger_api.errors import PlanRefused
from ledger_api.recompute import PlanPoint, check_plan
from ledger_api.recompute.plan_route import PLAN_PATH
from mrv_core.codec import format_address

A, B = b"\xaa" * 20, b"\xbb" * 20
MAIN = "demo-co/wuxi-plant/hall-1/line-1/main"
PROBLEM = "application/problem+json"


def line(**changes: str | None) -> dict[str, str | None]:
    base: dict[str, str | None] = {"meterPath": MAIN, "source": "electricity.grid",
                                   "quantity": "energy.active.import:Wh",
                                   "counterModulus": "4294967296", "maxRate": "2386092/2"}
    return {**base, **changes}


def test_a_checked_line_gives_the_counter_rule_in_lowest_terms() -> None:
    [point] = check_plan([line()])
    assert point == PlanPoint(MAIN, "electricity.grid", "energy.active.import:Wh", 2**32,
                              Fraction(1193046))
    assert point.rule() == RolloverRule(2**32, Fraction(1193046))
    [never] = check_plan([line(counterModulus=None, maxRate=None)])
    assert never.rule() == RolloverRule(None, 0)


@pytest.mark.parametrize(("changes", "field", "words"), [
    ({"meterPath": "demo-co/wuxi-plant/main"}, "meterPath", "5 levels"),
    ({"meterPath": "demo-co/../etc/passwd/x"}, "meterPath",
     "has a level '..', which reads like a file path"),
    ({"meterPath": "demo-co/wuxi-plant/./line-1/main"}, "meterPath",
     "has a level '.', which reads like a file path"),
    ({"source": "electricity.gec"}, "source", "found none"),
    ({"source": "no.such.source"}, "source", "found none"),
    ({"quantity": "power.active:W"}, "quantity", "cumulative"),
    ({"quantity": "energy.active.import:kWh"}, "quantity", "cumulative"),
    ({"source": "heat.purchased"}, "quantity",
     "cn.heat.purchased takes as its activity: expected heat:kJ, got 'energy.active.import:Wh'"),
    ({"quantity": "energy.active.export:Wh"}, "quantity",
     "source electricity.grid is fed by the quantity cn.electricity.location takes as its "
     "activity: expected energy.active.import:Wh, got 'energy.active.export:Wh'"),
    ({"source": "electricity.grid.jiangsu", "quantity": "energy.active.export:Wh"}, "quantity",
     "expected energy.active.import:Wh"),
    ({"source": "fuel.natural_gas", "quantity": "volume.water:dm3"}, "quantity",
     "expected volume.gas:dm3, got 'volume.water:dm3'"),
    ({"source": "gas.sf6", "quantity": "mass.fuel:g"}, "quantity",
     "expected none: no meter register measures its activity"),
    ({"counterModulus": "1"}, "counterModulus", "[2, 2**255 - 1]"),
    ({"counterModulus": "04294967296"}, "counterModulus", "decimal integer"),
    ({"counterModulus": str(2**255)}, "counterModulus", "[2, 2**255 - 1]"),
    ({"maxRate": "5/0"}, "maxRate", "den >= 1"),
    ({"maxRate": "-5/1"}, "maxRate", "num/den"),
    ({"maxRate": "1.5"}, "maxRate", "num/den"),
])
def test_a_line_the_rules_refuse_names_its_field(changes: dict[str, str], field: str,
                                                 words: str) -> None:
    with pytest.raises(PlanRefused) as caught:
        check_plan([line(), line(**{"meterPath": MAIN + "2", **changes})])
    assert caught.value.status == 422 and caught.value.path == f"$.points[1].{field}"
    assert words in caught.value.detail


def test_a_plan_names_each_meter_once_under_one_enterprise_level() -> None:
    with pytest.raises(PlanRefused, match=r"points\[1\].meterPath: .* already points\[0\]"):
        check_plan([line(), line()])
    with pytest.raises(PlanRefused, match="one enterprise level"):
        check_plan([line(), line(meterPath="other-co/wuxi-plant/hall-1/line-1/main")])


def test_the_plan_routes_admit_admins_to_write_and_enterprise_readers_to_read() -> None:
    engine = create_engine("sqlite://")  # the routes are only read
    try:
        rules = route_rules(create_app(Services(engine, make_sessions(engine))))
    finally:
        engine.dispose()
    assert rules[("PUT", PLAN_PATH)] == Rule.of_roles(Role.ENTERPRISE_ADMIN)
    assert rules[("GET", PLAN_PATH)] == Rule.of_roles(*roles_seeing(Data.ENTERPRISE))


@pytest.fixture
def client(ledger_engine: Engine) -> Iterator[TestClient]:
    app = create_app(Services(ledger_engine, make_sessions(ledger_engine),
                              api_secret=API_SECRET))
    with TestClient(app) as client:
        yield client


def test_an_admin_replaces_its_plan_and_readers_and_granted_regulators_read_it(
        ledger_engine: Engine, client: TestClient) -> None:
    admin_id, admin = new_principal(ledger_engine, Role.ENTERPRISE_ADMIN, A)
    _, reader = new_principal(ledger_engine, Role.ENTERPRISE_READER, A)
    regulator_id, regulator = new_principal(ledger_engine, Role.REGULATOR)
    at = {"enterprise": format_address(A)}
    second = line(meterPath="demo-co/nanjing/hall-1/line-1/main", counterModulus=None,
                  maxRate=None)
    put = client.put(PLAN_PATH, params=at, headers=bearer(admin),
                     json={"points": [second, line()]})
    assert put.status_code == 200, put.text
    shown = client.get(PLAN_PATH, params=at, headers=bearer(reader)).json()
    assert shown["points"] == [second, line(maxRate="1193046/1")]  # by path, lowest terms
    assert shown["updatedBy"] == f"principal {admin_id}" and shown == put.json()
    site = client.get(PLAN_PATH, params={**at, "site": "demo-co/wuxi-plant"},
                      headers=bearer(reader)).json()
    assert [p["meterPath"] for p in site["points"]] == [MAIN]

    refused = client.get(PLAN_PATH, params=at, headers=bearer(regulator))
    assert refused.status_code == 403 and refused.json()["check"] == "scope"
    with make_sessions(ledger_engine).begin() as session:
        grant_enterprise(session, regulator_id, A, by="test", now=datetime.now(UTC))
    assert client.get(PLAN_PATH, params=at, headers=bearer(regulator)).json() == shown

    cleared = client.put(PLAN_PATH, params=at, headers=bearer(admin), json={"points": []})
    assert cleared.json()["points"] == [] and cleared.json()["updatedAt"] is None


def test_refused_plans_are_problems_and_change_nothing(ledger_engine: Engine,
                                                      client: TestClient) -> None:
    _, admin_a = new_principal(ledger_engine, Role.ENTERPRISE_ADMIN, A)
    _, admin_b = new_principal(ledger_engine, Role.ENTERPRISE_ADMIN, B)
    at_a, at_b = {"enterprise": format_address(A)}, {"enterprise": format_address(B)}
    assert client.put(PLAN_PATH, params=at_a, headers=bearer(admin_a),
                      json={"points": [line()]}).status_code == 200
    cases = [
        (at_b, {"points": [line()]}, 409, "plan", "$.points[0].meterPath"),  # A's level
        (at_a, {"points": [line(source="x.y")]}, 422, "plan", "$.points[0].source"),
        (at_a, {"points": [{**line(), "extra": "1"}]}, 422, "format", None),
        (at_a, {"points": [line(counterModulus=5)]}, 422, "format", None),  # type: ignore[arg-type]
    ]
    for params, body, status, check, path in cases:
        key = admin_b if params is at_b else admin_a
        response = client.put(PLAN_PATH, params=params, headers=bearer(key), json=body)
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == PROBLEM
        assert response.json()["check"] == check
        if path is not None:
            assert response.json()["path"] == path
    duplicate = client.put(PLAN_PATH, params=at_a, headers={**bearer(admin_a), "Content-Type":
                                                            "application/json"},
                           content=b'{"points": [], "points": []}')
    assert duplicate.status_code == 400
    other = client.put(PLAN_PATH, params=at_b, headers=bearer(admin_a), json={"points": []})
    assert other.status_code == 403 and other.json()["check"] == "scope"
    shown = client.get(PLAN_PATH, params=at_a, headers=bearer(admin_a)).json()
    assert [p["meterPath"] for p in shown["points"]] == [MAIN]
