"""docs/api.md, section "Storage: SQLite and PostgreSQL": the column types and encodings it
states are the code's, and the fixtures it lists exist with the scope it says."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from ledger_api.db import types
from mrv_core.codec import INT256_MAX, INT256_MIN

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "api.md"


def _section() -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index("\n## Storage: SQLite and PostgreSQL\n")
    end = text.find("\n## ", start + 1)
    return text[start:] if end < 0 else text[start:end]


def _rows(first_cell: str) -> dict[str, list[str]]:
    """Table rows whose first cell matches ``first_cell``, by that cell's code name."""
    rows = {}
    for line in _section().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        match = re.fullmatch(rf"`({first_cell})`", cells[0]) if line.startswith("|") else None
        if match:
            rows[match.group(1)] = cells[1:]
    return rows


@pytest.mark.parametrize("name", ["Uint64", "Int256"])
def test_the_column_types_are_the_ones_compiled(name: str) -> None:
    _range, on_postgresql, on_sqlite = _rows("Uint64|Int256")[name]
    column_type = getattr(types, name)()
    table = sa.Table("t", sa.MetaData(), sa.Column("x", column_type))
    for dialect, cell in ((postgresql.psycopg.dialect(), on_postgresql),
                          (sqlite.dialect(), on_sqlite)):
        compiled = str(sa.schema.CreateTable(table).compile(dialect=dialect))
        declared = re.search(r"\bx (.+?),?\n", compiled)
        assert declared is not None
        assert cell.startswith(f"`{declared.group(1)}`"), (cell, declared.group(1))


def test_the_encoding_examples_are_the_code_s() -> None:
    section = _section()
    assert "`00000000000000000042`" in section
    assert types.Uint64()._encode(42) == "00000000000000000042"
    int256 = types.Int256()
    assert "-2^255 is 32 zero\nbytes" in section and int256._encode(INT256_MIN) == bytes(32)
    assert "-1 is `7f ff … ff`" in section and int256._encode(-1) == b"\x7f" + b"\xff" * 31
    assert "0 is `80 00 … 00`" in section and int256._encode(0) == b"\x80" + bytes(31)
    assert "2^255 - 1 is 32 `ff` bytes" in section
    assert int256._encode(INT256_MAX) == b"\xff" * 32


def test_the_fixtures_listed_exist_with_their_scope() -> None:
    listed = _rows("[a-z_]+")
    assert set(listed) == {"postgres_server", "postgres_url", "database_url"}
    tree = ast.parse((ROOT / "tests" / "conftest.py").read_text(encoding="utf-8"))
    scopes = {}
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef):
            continue
        for decorator in node.decorator_list:
            if isinstance(decorator, ast.Call) and ast.unparse(decorator.func) == "pytest.fixture":
                keywords = {k.arg: ast.literal_eval(k.value) for k in decorator.keywords}
                scopes[node.name] = keywords.get("scope", "function")
    for name, (scope, _gives) in listed.items():
        assert scopes[name] == ("function" if scope.startswith("test") else scope), name
