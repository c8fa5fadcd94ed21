"""Fixtures of the ledger API's unit tests: a migrated database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from ledger_api.db.engine import make_engine
from ledger_api.db.migrate import upgrade


@pytest.fixture
def ledger_engine(tmp_path: Path) -> Iterator[Engine]:
    """A SQLite ledger database migrated to the head revision."""
    engine = make_engine(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    upgrade(engine)
    yield engine
    engine.dispose()
