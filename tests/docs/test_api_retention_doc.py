"""docs/api.md, section "Retention": its figures are the code's (default and floor of the
minimum retention), its tables name every table of the models and the audit table's columns,
and its commands parse."""

from __future__ import annotations

import re
from pathlib import Path

from ledger_api.db.models import Base, RetentionPurgeRow
from ledger_api.retention import DEFAULT_RETENTION_YEARS, MIN_RETENTION_YEARS, TABLES
from mrv_cli.main import build_parser

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def _section() -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index("\n## Retention\n")
    end = text.find("\n## ", start + 1)
    return text[start:] if end < 0 else text[start:end]


def test_the_doc_states_the_code_s_minimum_retention() -> None:
    section = _section()
    assert f"{DEFAULT_RETENTION_YEARS} by default" in section
    assert f"never fewer than {MIN_RETENTION_YEARS}" in section
    assert "2018/2066" in section and "Article 67" in section


def test_the_doc_decides_for_every_table_and_lists_the_audit_columns() -> None:
    section = _section()
    decided = set(re.findall(r"^\| ((?:`[a-z_]+`(?:, )?)+) \|", section, flags=re.M))
    named = {name for cell in decided for name in re.findall(r"`([a-z_]+)`", cell)}
    assert named >= set(Base.metadata.tables)
    assert set(TABLES) <= named
    log = section.split("### The audit log", 1)[1]
    audit = log.split("| `retention_purges` |", 1)[1].split("\n", 1)[0]
    documented = set(re.findall(r"`([a-z_]+)`", audit))
    assert set(RetentionPurgeRow.__table__.columns.keys()) <= documented


def test_the_doc_s_commands_and_flags_exist() -> None:
    api = build_parser()._subparsers._group_actions[0].choices["api"]  # type: ignore[union-attr]
    retention = api._subparsers._group_actions[0].choices["retention"]
    commands = retention._subparsers._group_actions[0].choices
    shown = re.findall(r"^mrv api retention ([a-z]+)(.*)$", _section(), re.MULTILINE)
    assert {name for name, _ in shown} == set(commands) == {"purge", "log"}
    for name, rest in shown:
        flags = set(re.findall(r"--[a-z-]+", rest))
        assert flags <= set(commands[name]._option_string_actions), (name, flags)
