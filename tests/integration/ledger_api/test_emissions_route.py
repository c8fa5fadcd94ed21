"""``GET /v1/emissions`` against a real embedded chain whose MethodologyRegistry holds
cn.electricity.location v1: the version is read from the chain and audited against the
shipped data file, the figures are the counter arithmetic's and the grams the calculator's, an
altered device summary comes back as a discrepancy, and the access rules hold (another
enterprise's principal is refused; a regulator sees it once granted). Readings go in through
the ledger's own ingest (device standing fixed by the test: the chain's device directory has
its own tests)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from integration.accounting.support import deploy_and_grant, shallow
from ledger_support import API_SECRET, StaticDevices, bearer, new_principal
from sqlalchemy.orm import Session

from accounting_rules.calculator import Activity, compute
from accounting_rules.counters import CounterReading, RolloverRule, build_history
from accounting_rules.publishing import publish
from accounting_rules.registry import load_methodology
from accounting_rules.summaries import summarize
from factories import TEST_KEY, beijing
from ledger_api.access import Role
from ledger_api.access.store import grant_enterprise
from ledger_api.app import Services, create_app
from ledger_api.db.engine import make_engine, make_sessions
from ledger_api.db.migrate import upgrade
from ledger_api.ingest.service import ingest
from ledger_api.recompute import PlanPoint, replace_plan
from ledger_api.recompute.emissions_route import EMISSIONS_PATH
from mrv_core.chain import System, connect, load_artifacts
from mrv_core.reading import Reading, meter_id
from mrv_core.records import SCOPE_METER
from mrv_core.uplink import UplinkRequest

LOCATION = "cn.electricity.location"
ENTERPRISE, OTHER = b"\xaa" * 20, b"\xbb" * 20
SITE = "demo-co/wuxi-plant"
PATH = f"{SITE}/hall-1/line-1/main"
QUANTITY = "energy.active.import:Wh"
T0 = 1_790_784_000  # 2026-10-01 00:00 Beijing
NOW = datetime(2026, 12, 1, tzinfo=UTC)
READINGS = [CounterReading(seq, T0 + 900 * seq, 5_000_000 + 12_345 * seq + seq * seq)
            for seq in range(2 * 96 + 1)]  # two days every 15 minutes


@pytest.fixture(scope="module")
def chain_system() -> System:
    """The system on a fresh embedded chain, cn.electricity.location v1 in force from 2021."""
    def run() -> System:
        system, _, association = deploy_and_grant(
            connect(None, evm_version=load_artifacts().evm_version()))
        publish(system, association, load_methodology(LOCATION, 1), beijing(2021))
        return system

    return shallow(run)


def test_emissions_are_recomputed_with_the_registrys_version_and_discrepancies_listed(
        chain_system: System, tmp_path: object) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/ledger.sqlite")
    upgrade(engine)
    point = PlanPoint(PATH, "electricity.grid", QUANTITY, None, None)
    methodology = load_methodology(LOCATION, 1)
    day1 = build_history(READINGS, RolloverRule(None)).period(T0, T0 + 86_400)
    honest = summarize([day1], device=TEST_KEY.address, scope_kind=SCOPE_METER,
                       scope_id=meter_id(PATH), source="electricity.grid", quantity=QUANTITY,
                       methodology=methodology, salt=b"\x02" * 32)
    day2 = build_history(READINGS, RolloverRule(None)).period(T0 + 86_400, T0 + 2 * 86_400)
    altered = dataclasses.replace(summarize(
        [day2], device=TEST_KEY.address, scope_kind=SCOPE_METER, scope_id=meter_id(PATH),
        source="electricity.grid", quantity=QUANTITY, methodology=methodology,
        salt=b"\x03" * 32), activity=day2.energy - 5_000)
    domain = chain_system.domain
    items = [TEST_KEY.sign_reading(Reading(TEST_KEY.address, meter_id(PATH), r.seq,
                                           r.timestamp, QUANTITY, r.value, b"\x01" * 32),
                                   domain, PATH) for r in READINGS]
    items += [TEST_KEY.sign_record(s, domain, PATH) for s in (honest, altered)]
    devices = StaticDevices({TEST_KEY.address}, enterprises={TEST_KEY.address: ENTERPRISE})
    sessions = make_sessions(engine)
    with sessions.begin() as session:
        replace_plan(session, ENTERPRISE, [point], actor="test", now=NOW)
    with Session(engine) as session, session.begin():
        ingest(session, UplinkRequest.of(TEST_KEY.address, domain, items), devices, domain,
               now=NOW)
    _, reader = new_principal(engine, Role.ENTERPRISE_READER, ENTERPRISE)
    _, stranger = new_principal(engine, Role.ENTERPRISE_READER, OTHER)
    regulator_id, regulator = new_principal(engine, Role.REGULATOR)
    app = create_app(Services(engine, sessions, domain=domain, system=chain_system,
                              api_secret=API_SECRET))
    query = {"site": SITE, "from": T0, "to": T0 + 2 * 86_400, "granularity": "day",
             "discrepancies": "true"}
    try:
        with TestClient(app) as client:
            response = shallow(lambda: client.get(EMISSIONS_PATH, params=query,
                                                  headers=bearer(reader)))
            assert response.status_code == 200, response.text
            body = response.json()
            refused = client.get(EMISSIONS_PATH, params=query, headers=bearer(stranger))
            assert refused.status_code == 403 and refused.json()["check"] == "scope"
            assert client.get(EMISSIONS_PATH, params=query,
                              headers=bearer(regulator)).status_code == 403
            with sessions.begin() as session:
                grant_enterprise(session, regulator_id, ENTERPRISE, by="test", now=NOW)
            granted = client.get(EMISSIONS_PATH, params=query, headers=bearer(regulator))
            assert granted.json() == body
            none = client.get(EMISSIONS_PATH, params={**query, "site": "demo-co/nanjing"},
                              headers=bearer(reader))
            assert none.status_code == 404 and none.json()["check"] == "plan"
    finally:
        engine.dispose()
    first, second = body["periods"]
    for period, energy in ((first, day1), (second, day2)):
        [meter] = period["meters"]
        grams = compute(methodology, int(period["start"]), int(period["end"]),
                        [Activity("electricity.grid", energy.energy)]).total
        assert (meter["activity"], meter["grams"]) == (str(energy.energy), str(grams))
        assert meter["readings"] == str(energy.reading_count) == "97"
        assert meter["methodology"]["id"] == LOCATION and meter["methodology"]["version"] == "1"
        assert period["total"] == period["scope2"] == str(grams) and period["scope1"] == "0"
        assert period["sources"][0]["activity"] == str(energy.energy)
    assert first["discrepancies"] == []
    [found] = second["discrepancies"]
    assert found["difference"]["activity"] == "-5000" and found["path"] == PATH
    assert [r["seq"] for r in found["readings"]] == ["96", "192"]


def test_periods_past_year_9999_and_server_zones_are_400_after_the_access_check(
        chain_system: System, tmp_path: object) -> None:
    """A range whose neighbouring periods pass the year 9999 in Pacific/Kiritimati (UTC+14) was
    an HTTP 500 (OverflowError), even to a principal without access; now another enterprise's
    principal gets its 403 first and the enterprise's reader a 400 ``period``, as for the
    server-dependent zone ``localtime``."""
    engine = make_engine(f"sqlite:///{tmp_path}/ledger.sqlite")
    upgrade(engine)
    sessions = make_sessions(engine)
    with sessions.begin() as session:
        replace_plan(session, ENTERPRISE, [PlanPoint(PATH, "electricity.grid", QUANTITY, None,
                                                     None)], actor="test", now=NOW)
    _, reader = new_principal(engine, Role.ENTERPRISE_READER, ENTERPRISE)
    _, stranger = new_principal(engine, Role.ENTERPRISE_READER, OTHER)
    app = create_app(Services(engine, sessions, domain=chain_system.domain,
                              system=chain_system, api_secret=API_SECRET))
    far = {"site": SITE, "from": 253402300000, "to": 253402400000,
           "zone": "Pacific/Kiritimati"}
    try:
        with TestClient(app) as client:
            refused = client.get(EMISSIONS_PATH, params=far, headers=bearer(stranger))
            assert refused.status_code == 403 and refused.json()["check"] == "scope"
            for query, words in ((far, "beyond the year 9999"),
                                 ({"site": SITE, "from": T0, "to": T0 + 86_400,
                                   "zone": "localtime"}, "not an IANA zone")):
                answer = client.get(EMISSIONS_PATH, params=query, headers=bearer(reader))
                assert answer.status_code == 400 and answer.json()["check"] == "period"
                assert words in answer.json()["detail"]
    finally:
        engine.dispose()
