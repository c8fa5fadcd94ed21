"""The store's migrations: a version 1 file (as the first edge node wrote it, filled by the real
signer) migrates to the current version keeping every row, ends with exactly the schema of a new
file, and the models describe that schema."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.exc import IntegrityError
from unit.edge_node.support import METER, energy, power

from edge_node.signing import ReadingSigner
from edge_node.signing.records import new_record
from edge_node.store import SCHEMA_VERSION, Store, schema
from edge_node.store.models import Base
from edge_node.store.queries import readings, records
from edge_node.store.summaries import SummaryMark, add_marks, marks
from factories import TEST_DOMAIN, TEST_KEY, signed_records


def layout(path: Path) -> set[tuple[str, str, str]]:
    """Every table and index of the file: (type, name, its SQL with white space collapsed)."""
    with sqlite3.connect(path) as raw:
        rows = raw.execute("SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL")
        return {(kind, name, re.sub(r"\s+", " ", sql).replace("( ", "(").replace(" )", ")"))
                for kind, name, sql in rows}


def version_of(path: Path) -> int:
    with sqlite3.connect(path) as raw:
        return int(raw.execute("PRAGMA user_version").fetchone()[0])


def version_1_store(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A store made and filled by this code with only migration step 1 known, i.e. a version 1
    file as the first edge node left it."""
    with monkeypatch.context() as patch:
        patch.setattr(schema, "MIGRATIONS", {1: schema.MIGRATIONS[1]})
        with Store(path, TEST_KEY.address, TEST_DOMAIN) as store:
            ReadingSigner(store, TEST_KEY).sign_cycle(
                [energy(1000 + i, 50 * i) for i in range(5)] + [power(1010, -7)], now=1010)
            with store.write() as session:
                store.add_records(session, [new_record(r) for r in signed_records(3)])
    assert version_of(path) == 1


def test_a_version_1_store_migrates_to_the_current_version_keeping_every_row(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    old = tmp_path / "old.sqlite"
    version_1_store(old, monkeypatch)
    assert "summaries" not in {name for _, name, _ in layout(old)}
    with Store(old, TEST_KEY.address, TEST_DOMAIN) as store:
        assert version_of(old) == SCHEMA_VERSION == 2
        assert [r.signed.reading.value for r in readings(store)] == [0, 50, 100, 150, 200, -7]
        assert [r.signed.reading.seq for r in readings(store, METER)] == list(range(6))
        assert len(records(store)) == 3
        assert store.integrity_check() == ["ok"]
        mark = SummaryMark(1, METER, "electricity.grid", "hour", 3600, 7200, "no_factor")
        with store.write() as session:
            add_marks(session, [mark], now=1)
        with store.read() as session:
            assert marks(session) == [mark]
    new = tmp_path / "new.sqlite"
    Store(new, TEST_KEY.address, TEST_DOMAIN).close()
    assert layout(old) == layout(new)  # migrated and new files are alike, statement by statement


def test_the_models_describe_the_last_migration(tmp_path: Path) -> None:
    migrated = tmp_path / "edge.sqlite"
    Store(migrated, TEST_KEY.address, TEST_DOMAIN).close()
    from_models = tmp_path / "models.sqlite"
    engine = create_engine(f"sqlite:///{from_models}")
    Base.metadata.create_all(engine)
    engine.dispose()
    assert layout(migrated) == layout(from_models)


def test_a_mark_is_settled_once(tmp_path: Path) -> None:
    with Store(tmp_path / "edge.sqlite", TEST_KEY.address, TEST_DOMAIN) as store:
        mark = SummaryMark(2, "demo-co/wuxi-plant", "electricity.grid", "day", 0, 86_400,
                           "signed", 7, "cn.electricity.location", 1)
        with store.write() as session:
            add_marks(session, [mark], now=1)
        with pytest.raises(IntegrityError), store.write() as session:
            add_marks(session, [mark], now=2)
        with store.read() as session:
            assert marks(session) == [mark]
