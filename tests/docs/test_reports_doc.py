"""docs/contracts.md, section "Reports": its verdict table is the code's (the registry's enum
values and the fixed EU AVR mapping), its reason codes are exactly the closed list, and the
commands it shows exist; docs/api.md lists every report route the application serves;
docs/protocol.md 11.4 names every step of the report bundle verifier."""

from __future__ import annotations

import re
from pathlib import Path

from accounting_rules.reports.statement import AVR, REASON_CODES, Verdict
from accounting_rules.reports.verify import STEPS
from accounting_rules.reports.verify_chain import CHAIN_STEPS
from ledger_api.db.models import Base
from ledger_api.reports.report_routes import ReportBody
from mrv_cli.main import build_parser

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _section(name: str, title: str) -> str:
    text = (DOCS / name).read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:] if end < 0 else text[start:end]


def _table(section: str, header: str) -> list[list[str]]:
    lines = section.split(f"\n{header}\n", 1)[1].splitlines()[1:]
    rows = []
    for line in lines:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip().strip("|").split("|")])
    return rows


def test_the_verdict_table_is_the_registrys_and_the_avr_mapping() -> None:
    rows = _table(_section("contracts.md", "Reports"), "| verdict | on chain | AVR opinion |")
    assert {(v.label, int(v), AVR[v]) for v in Verdict} == {
        (verdict.strip("`"), int(value), avr) for verdict, value, avr in rows}


def test_the_reason_codes_are_the_closed_list() -> None:
    rows = _table(_section("contracts.md", "Reports"), "| code | meaning |")
    assert {code.strip("`"): meaning for code, meaning in rows} == dict(REASON_CODES)


def test_the_report_commands_shown_exist() -> None:
    report = build_parser()._subparsers._group_actions[0].choices["report"]  # type: ignore[union-attr]
    actions = set(report._subparsers._group_actions[0].choices)
    shown = set(re.findall(r"^mrv report ([a-z]+)", _section("contracts.md", "Reports"),
                           re.MULTILINE))
    assert shown <= actions and {"submit", "attest", "show"} <= shown


def test_api_md_lists_every_report_route_and_column() -> None:
    text = "\n".join(_section("api.md", title) for title in ("Manual activity data", "Reports"))
    for route in ("POST /v1/evidence", "GET /v1/evidence/{hash}", "POST /v1/activities",
                  "GET /v1/activities", "POST /v1/activities/{id}/withdraw", "POST /v1/reports",
                  "GET /v1/reports", "GET /v1/reports/{hash}", "GET /v1/reports/{hash}/document",
                  "POST /v1/reports/{hash}/attestations"):
        assert f"`{route}" in text, route
    for table in ("evidence_files", "manual_activities", "reports", "attestation_statements"):
        named = set(re.findall(r"`([a-z_]+)`", text.split(f"`{table}` (", 1)[1].split(")")[0]))
        assert set(Base.metadata.tables[table].columns.keys()) <= named, table
    assert all(field in text for field in ReportBody.model_fields)


def test_protocol_11_4_names_every_step_of_the_report_verifier() -> None:
    text = (DOCS / "protocol.md").read_text(encoding="utf-8")
    table = text[text.index("\n### 11.4 Verification steps\n"):text.index("\n### 11.5 ")]
    rows = [line for line in table.splitlines() if re.match(r"\| \d+[a-z]? \|", line)]
    named = {name for row in rows for name in re.findall(r"`([a-z-]+)`", row.split("|")[2])}
    steps = set(STEPS) | set(CHAIN_STEPS)
    assert steps <= named, steps - named
