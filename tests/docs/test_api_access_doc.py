"""docs/api.md, section "Access: principals, roles and keys": its role table is the code's
(``SEES``, ``ENTERPRISE_ROLES``), its tables' columns are the models', its commands exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ledger_api.access.keys import MIN_DISTINCT_CHARACTERS, MIN_SECRET_BYTES, PLACEHOLDERS
from ledger_api.access.principals import ENTERPRISE_ROLES, SEES, Data, Role
from ledger_api.db.models import Base
from mrv_cli.main import build_parser

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def _section() -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index("\n## Access: principals, roles and keys\n")
    end = text.find("\n## ", start + 1)
    return text[start:] if end < 0 else text[start:end]


def _rows(header: str) -> dict[str, list[str]]:
    """The rows of the first table whose separator line is ``header`` (first cell's code name ->
    the other cells)."""
    lines = _section().split(f"\n{header}\n", 1)[1].splitlines()
    rows = {}
    for line in lines:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        match = re.fullmatch(r"`([a-z_]+)`", cells[0])
        if match:
            rows[match.group(1)] = cells[1:]
    return rows


def test_the_role_table_is_the_code_s() -> None:
    rows = _rows("|---|---|---|")  # the first three-column table: roles
    assert set(rows) == {r.value for r in Role}
    for role in Role:
        enterprise, sees = rows[role.value]
        assert (enterprise == "required") == (role in ENTERPRISE_ROLES)
        assert ("operations metrics" in sees) == (Data.OPERATIONS in SEES[role])
        assert (sees.startswith("nothing")) == (not SEES[role])
        enterprise_data = "data" in sees.split(";")[0] and "methodology" not in sees
        assert enterprise_data == (Data.ENTERPRISE in SEES[role]), role


@pytest.mark.parametrize("table", ["principals", "api_keys", "regulator_grants"])
def test_the_tables_list_every_column(table: str) -> None:
    cells = _rows("|---|---|")[table][0]
    named = set(re.findall(r"`([a-z_]+)`", cells))
    assert set(Base.metadata.tables[table].columns.keys()) <= named


def test_device_streams_enterprise_is_documented() -> None:
    assert "enterprise" in Base.metadata.tables["device_streams"].columns
    assert "`device_streams` | new column `enterprise`" in _section()


def test_the_secret_rules_are_the_code_s() -> None:
    section = _section()
    assert f"at least {MIN_SECRET_BYTES} bytes" in section
    assert f"fewer than {MIN_DISTINCT_CHARACTERS} distinct characters" in section
    for word in re.findall(r"`([a-z0-9]+)`, ", section.split("placeholder repeated", 1)[1][:80]):
        assert word in PLACEHOLDERS


def test_the_commands_shown_exist() -> None:
    principal = build_parser()._subparsers._group_actions[0].choices["api"]  # type: ignore[union-attr]
    commands = principal._subparsers._group_actions[0].choices["principal"]
    names = set(commands._subparsers._group_actions[0].choices)
    shown = set(re.findall(r"^mrv api principal ([a-z-]+)", _section(), re.MULTILINE))
    assert shown == names == {"add", "list", "revoke", "grant", "ungrant", "new-key",
                              "revoke-key"}
