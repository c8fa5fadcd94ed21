"""Emissions of recomputed figures and discrepancies (ledger_api.recompute.emissions,
discrepancies), through a real ledger database on SQLite and PostgreSQL: the emissions equal
the calculator over the full history's energy; a device's honest summaries (meter and site)
raise nothing; an altered summary is listed with both figures, the difference and the readings
behind it; a report line with another amount or boundary reading, a missing line and a line
the ledger cannot back are listed. The methodology versions are given as the registry would
hold them (their chain path has its own tests: accounting_rules.versions via the edge node's
integration tests)."""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, datetime

from ledger_support import StaticDevices
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from accounting_rules.calculator import Activity, compute
from accounting_rules.counters import CounterReading, build_history
from accounting_rules.publishing import Resolved
from accounting_rules.registry import load_methodology
from accounting_rules.summaries import summarize
from accounting_rules.versions import InForce, MethodologyVersions
from factories import TEST_DOMAIN, TEST_KEY
from ledger_api.db.models import RecordRow
from ledger_api.ingest.service import ingest
from ledger_api.recompute import PlanPoint, meter_figures, replace_plan
from ledger_api.recompute.discrepancies import compare_with_report, summary_discrepancies
from ledger_api.recompute.emissions import period_emissions
from mrv_core.codec import format_address
from mrv_core.reading import Reading, meter_id, site_id
from mrv_core.records import SCOPE_METER, SCOPE_SITE
from mrv_core.uplink import UplinkItem, UplinkRequest

ENTERPRISE = b"\xaa" * 20
SITE = "demo-co/wuxi-plant"
PATHS = (f"{SITE}/hall-1/line-1/main", f"{SITE}/hall-1/line-2/main")
QUANTITY = "energy.active.import:Wh"
LOCATION = "cn.electricity.location"
T0 = 1_790_784_000  # 2026-10-01 00:00 Beijing
HOUR = 3_600
NOW = datetime(2026, 12, 1, tzinfo=UTC)
VERSIONS = MethodologyVersions([LOCATION], {LOCATION: [InForce(
    Resolved(LOCATION, "0x" + "11" * 20, 1, T0 - 10**7, bytes(32)),
    load_methodology(LOCATION, 1))]}, as_of=T0 + 10**7)
DEVICES = StaticDevices({TEST_KEY.address}, enterprises={TEST_KEY.address: ENTERPRISE})


def counters() -> dict[str, list[CounterReading]]:
    rng = random.Random(3)
    out = {}
    for path in PATHS:
        value, readings = rng.randrange(10**6), []
        for seq in range(13):  # every 15 minutes for three hours
            readings.append(CounterReading(seq, T0 + 900 * seq, value))
            value += rng.randrange(50_000)
        out[path] = readings
    return out


def send(engine: Engine, items: list[UplinkItem]) -> None:
    with Session(engine) as session, session.begin():
        ingest(session, UplinkRequest.of(TEST_KEY.address, TEST_DOMAIN, items), DEVICES,
               TEST_DOMAIN, now=NOW)


def summary(readings: dict[str, list[CounterReading]], scope: int, path: str, start: int,
            extra: int = 0) -> UplinkItem:
    chosen = PATHS if scope == SCOPE_SITE else (path,)
    energies = [build_history(readings[p], PlanPoint(p, "electricity.grid", QUANTITY, None,
                                                     None).rule()).period(start, start + HOUR)
                for p in chosen]
    record = summarize(energies, device=TEST_KEY.address, scope_kind=scope,
                       scope_id=site_id(path) if scope == SCOPE_SITE else meter_id(path),
                       source="electricity.grid", quantity=QUANTITY,
                       methodology=load_methodology(LOCATION, 1), salt=b"\x05" * 32)
    if extra:
        record = dataclasses.replace(record, activity=record.activity + extra,
                                     emissions=record.emissions + extra // 100)
    return TEST_KEY.sign_record(record, TEST_DOMAIN, path)


def test_emissions_equal_the_calculator_and_only_altered_summaries_are_discrepancies(
        ledger_engine: Engine) -> None:
    readings = counters()
    with Session(ledger_engine) as session, session.begin():
        replace_plan(session, ENTERPRISE, [PlanPoint(p, "electricity.grid", QUANTITY, None,
                                                     None) for p in PATHS],
                     actor="test", now=NOW)
    send(ledger_engine, [TEST_KEY.sign_reading(Reading(
        TEST_KEY.address, meter_id(p), r.seq, r.timestamp, QUANTITY, r.value, b"\x01" * 32),
        TEST_DOMAIN, p) for p in PATHS for r in readings[p]])
    send(ledger_engine, [summary(readings, SCOPE_METER, PATHS[0], T0),  # honest
                         summary(readings, SCOPE_SITE, SITE, T0),  # honest
                         summary(readings, SCOPE_METER, PATHS[1], T0 + HOUR, extra=1_000),
                         summary(readings, SCOPE_SITE, SITE, T0 + HOUR, extra=7)])
    with Session(ledger_engine) as session:
        assert session.scalar(select(RecordRow.kind)) == "emission_summary"
        first = period_emissions(meter_figures(session, ENTERPRISE, SITE, T0, T0 + HOUR), T0,
                                 T0 + HOUR, VERSIONS)
        second = period_emissions(meter_figures(session, ENTERPRISE, SITE, T0 + HOUR,
                                                T0 + 2 * HOUR), T0 + HOUR, T0 + 2 * HOUR,
                                  VERSIONS)
        methodology = load_methodology(LOCATION, 1)
        for m in first.meters:
            energy = build_history(readings[m.figure.point.meter_path],
                                   m.figure.point.rule()).period(T0, T0 + HOUR).energy
            assert m.figure.energy.energy == energy
            assert m.grams == compute(methodology, T0, T0 + HOUR,
                                      [Activity("electricity.grid", energy)]).total
        assert first.total == sum(m.grams for m in first.meters) and first.scope1 == 0
        [site] = first.sites
        assert site.activity == sum(m.figure.energy.energy for m in first.meters)
        assert summary_discrepancies(session, first, VERSIONS) == []
        found = summary_discrepancies(session, second, VERSIONS)
    assert [(d.scope, d.path, d.activity_difference) for d in found] == [
        ("site", SITE, 7), ("meter", PATHS[1], 1_000)]
    meter = found[1]
    assert meter.grams_difference == 10
    assert meter.ledger_activity == second.meters[1].figure.energy.energy
    assert [r.reading.seq for r in meter.readings] == [4, 8]  # the boundary readings
    assert found[0].grams_difference == 0  # the activity alone was altered

    lines: list[dict[str, object]] = [{
        "kind": "measured", "meterPath": m.figure.point.meter_path,
        "device": format_address(m.figure.device), "source": "electricity.grid",
        "amount": str(m.figure.energy.energy),
        "startReading": {"seq": "0", "timestamp": str(T0), "value": str(
            readings[m.figure.point.meter_path][0].value)},
        "endReading": {"seq": "4", "timestamp": str(T0 + HOUR), "value": str(
            readings[m.figure.point.meter_path][4].value)}} for m in first.meters]
    figures = [m.figure for m in first.meters]
    assert compare_with_report(figures, lines) == []
    lines[0] = {**lines[0], "amount": str(int(str(lines[0]["amount"])) + 1)}
    other = {**lines[1], "meterPath": f"{SITE}/hall-9/line-1/main"}
    found = compare_with_report(figures, [lines[0], other, {"kind": "manual", "id": "1"}])
    assert [(d.path, d.activity_difference, d.ledger_activity is None) for d in found] == [
        (PATHS[0], 1, False), (other["meterPath"], None, True), (PATHS[1], None, False)]
