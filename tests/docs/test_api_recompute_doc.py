"""docs/api.md, section "Monitoring plan and recompute": its plan example is a plan the code
accepts, its emissions example's grams are the calculator's, its tables name every field of a
plan point and every query parameter of ``GET /v1/emissions``, and its commands parse."""

from __future__ import annotations

import json
import re
from pathlib import Path

from sqlalchemy import create_engine

from accounting_rules import Activity, compute, load_methodology
from ledger_api.app import Services, create_app
from ledger_api.db.engine import make_sessions
from ledger_api.recompute import check_plan
from ledger_api.recompute.emissions_route import EMISSIONS_PATH, MAX_FIGURES
from ledger_api.recompute.plan_route import PlanPointModel
from mrv_cli.main import build_parser

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def _section() -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index("\n## Monitoring plan and recompute\n")
    end = text.find("\n## ", start + 1)
    return text[start:] if end < 0 else text[start:end]


def test_the_plan_example_is_accepted_and_its_table_names_every_field() -> None:
    section = _section()
    example = section.split("```json\n", 1)[1].split("```", 1)[0]
    points = check_plan(json.loads(example)["points"])
    assert points[0].rule().modulus == 2**32
    table = section.split("| `meterPath` |", 1)[1].split("\n\n", 1)[0]
    assert set(re.findall(r"^\| `([A-Za-z]+)` \|", "| `meterPath` |" + table, flags=re.M)) \
        == set(PlanPointModel.model_fields)


def test_the_emissions_example_grams_are_the_calculator_s() -> None:
    section = _section()
    activity = re.search(r'"activity": "([0-9]+)"', section)
    grams = re.search(r'"grams": "([0-9]+)"', section)
    assert activity and grams
    day = (1_790_784_000, 1_790_870_400)
    assert compute(load_methodology("cn.electricity.location", 1), *day,
                   [Activity("electricity.grid", int(activity[1]))]).total == int(grams[1])
    assert f"{MAX_FIGURES:,} figures" in section


def test_every_query_parameter_of_the_emissions_route_is_documented() -> None:
    engine = create_engine("sqlite://")
    try:
        document = create_app(Services(engine, make_sessions(engine))).openapi()
    finally:
        engine.dispose()
    names = {p["name"] for p in document["paths"][EMISSIONS_PATH]["get"]["parameters"]}
    table = _section().split("| parameter | |", 1)[1].split("\n\n", 1)[0]
    documented = {n for cell in re.findall(r"^\| ([^|]+) \|", table, flags=re.M)
                  for n in re.findall(r"`([a-z]+)`", cell)}
    assert names <= documented


def test_the_documented_commands_parse() -> None:
    parser = build_parser()
    parser.parse_args(["api", "plan", "set", "--enterprise", "0x" + "aa" * 20, "plan.json"])
    parser.parse_args(["api", "plan", "show", "--enterprise", "0x" + "aa" * 20, "--site",
                       "demo-co/wuxi-plant", "--json"])
